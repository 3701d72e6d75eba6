"""Paper-scale data sources: one registry of URLs and checksums, one download helper.

The default configuration never downloads anything: every dataset has an embedded default
(``source: simulated`` or ``source: bundled`` in ``config.yaml``). The sources here are for paper-scale runs
(``source: download``).

:data:`REGISTRY` is the single place where URLs and checksums live. A ``sha256`` of ``None`` means the
checksum could not be established offline when the registry was written; :func:`download` then computes the
file's sha256, writes it next to the file (``<file>.sha256``) and warns loudly that the file is unverified —
copy the printed value into the registry to pin it. Checksums that are known are real: the Beat AML files'
sha256 are the Git LFS object ids of the pinned commits, the MNIST md5 sums are torchvision's.

Controlled-access data (AMP-AD) cannot be downloaded by the pipeline: :func:`local_path` resolves a
user-provided path and raises an error naming the config key when it is missing.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import http.client
import ipaddress
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path
from typing import Any

from ..io import atomic_path

__all__ = [
    "REGISTRY",
    "DownloadError",
    "ChecksumError",
    "UnverifiedChecksumWarning",
    "registry_table",
    "resolve",
    "download",
    "local_path",
    "sha256sum",
]

_BEAT = "https://media.githubusercontent.com/media/biodev/beataml2.0_data"
_HB = "https://s3-us-west-2.amazonaws.com/humanbase/networks"
_SHAP = "https://github.com/shap/shap/raw/master/data"
_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist"
_GDC = "https://api.gdc.cancer.gov/data"

#: name → {url, sha256 (None = unknown, computed and recorded on first download), optional md5, filename,
#: dataset (the config dataset it serves), description}
REGISTRY: dict[str, dict[str, Any]] = {
    # --- Beat AML (Tyner et al. 2018; BeatAML 2.0 release, waves 1-4, Bottomly et al. 2022) --------------
    "beataml_expression": {
        "url": f"{_BEAT}/8571854b35ee0fa941c785b94153837541568896/beataml_waves1to4_norm_exp_dbgap.txt",
        "sha256": "d5745b9dbf46dba866a3c7370bb0ba73b363ecdd21e01cc1d916b4e3021e6f87",
        "size": 281_337_180,
        "filename": "beataml_waves1to4_norm_exp_dbgap.txt",
        "dataset": "beat_aml",
        "description": "Beat AML normalized RNA-seq expression, waves 1-4; sha256 = Git LFS oid",
    },
    "beataml_counts": {
        "url": f"{_BEAT}/45a3f408e7692f96eaecae6e662a9c5e86fccf5a/beataml_waves1to4_counts_dbgap.txt",
        "sha256": "26302116e26138e980a7816303a0886a89a3c951f3ba673051a46c96a658680d",
        "size": 122_488_199,
        "filename": "beataml_waves1to4_counts_dbgap.txt",
        "dataset": "beat_aml",
        "description": (
            "Beat AML raw RNA-seq read counts, waves 1-4 (input of FPKM preprocessing); sha256 = Git LFS oid"
        ),
    },
    "beataml_drug_response": {
        "url": f"{_BEAT}/8571854b35ee0fa941c785b94153837541568896/beataml_probit_curve_fits_v4_dbgap.txt",
        "sha256": "d4bc5f0d91f66314107411e0f2511adc987e29df5b83d9b03df56d3d12928314",
        "size": 19_047_078,
        "filename": "beataml_probit_curve_fits_v4_dbgap.txt",
        "dataset": "beat_aml",
        "description": "Beat AML ex vivo drug response (probit curve fits: IC50, AUC); sha256 = Git LFS oid",
    },
    "beataml_clinical": {
        "url": f"{_BEAT}/8571854b35ee0fa941c785b94153837541568896/beataml_wv1to4_clinical.xlsx",
        "sha256": "bc692f647f93945e1cf883271af5501bf75c8af3e681676241093c198ed167ad",
        "size": 488_278,
        "filename": "beataml_wv1to4_clinical.xlsx",
        "dataset": "beat_aml",
        "description": (
            "Beat AML clinical / sample annotation (patient ids for patient-level splits); sha256 = Git LFS oid"
        ),
    },
    # --- HumanBase tissue network (Greene et al. 2015) ---------------------------------------------------
    "humanbase_hematopoietic": {
        "url": f"{_HB}/hematopoietic_stem_cell_top.gz",
        "sha256": None,
        "filename": "hematopoietic_stem_cell_top.gz",
        "dataset": "humanbase_network",
        "description": "HumanBase hematopoietic stem cell network, top edges (posterior > 0.1); Entrez ids, gzip TSV",
    },
    # --- MERGE driver features (Lee et al. 2018), as distributed with the public DAPr code ------------------
    "merge_features": {
        "url": (
            "https://raw.githubusercontent.com/suinleelab/deep_attribution_priors/"
            "dce936cff3819c795b5ab2226c17ee9dfe8ddf0c/merge_features.csv"
        ),
        "sha256": None,
        "filename": "merge_features.csv",
        "dataset": "beat_aml",
        "description": "MERGE driver features per gene (DAPr Table 1 AML meta-features), at a pinned commit",
    },
    # --- NHANES I (the CSVs distributed with shap) ---------------------------------------------------------
    "nhanes_i_X": {
        "url": f"{_SHAP}/NHANESI_X.csv",
        "sha256": None,
        "filename": "NHANESI_X.csv",
        "dataset": "nhanes",
        "description": "NHANES I features (shap.datasets.nhanesi)",
    },
    "nhanes_i_y": {
        "url": f"{_SHAP}/NHANESI_y.csv",
        "sha256": None,
        "filename": "NHANESI_y.csv",
        "dataset": "nhanes",
        "description": "NHANES I survival labels (shap.datasets.nhanesi)",
    },
    # --- MNIST (torchvision's mirror; md5 from torchvision) ----------------------------------------------
    "mnist_train_images": {
        "url": f"{_MNIST}/train-images-idx3-ubyte.gz",
        "sha256": None,
        "md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "filename": "train-images-idx3-ubyte.gz",
        "dataset": "mnist",
        "description": "MNIST training images",
    },
    "mnist_train_labels": {
        "url": f"{_MNIST}/train-labels-idx1-ubyte.gz",
        "sha256": None,
        "md5": "d53e105ee54ea40749a09fcbcd1e9432",
        "filename": "train-labels-idx1-ubyte.gz",
        "dataset": "mnist",
        "description": "MNIST training labels",
    },
    "mnist_test_images": {
        "url": f"{_MNIST}/t10k-images-idx3-ubyte.gz",
        "sha256": None,
        "md5": "9fb629c4189551a2d022fa330f9573f3",
        "filename": "t10k-images-idx3-ubyte.gz",
        "dataset": "mnist",
        "description": "MNIST test images",
    },
    "mnist_test_labels": {
        "url": f"{_MNIST}/t10k-labels-idx1-ubyte.gz",
        "sha256": None,
        "md5": "ec29112dd5afa0611ce80d1b7f02629c",
        "filename": "t10k-labels-idx1-ubyte.gz",
        "dataset": "mnist",
        "description": "MNIST test labels",
    },
    # --- Enrichr KEGG_2019_Human (the DAPr paper's library) ---------------------------------------------
    "enrichr_kegg_2019_human": {
        "url": "https://maayanlab.cloud/Enrichr/geneSetLibrary?mode=text&libraryName=KEGG_2019_Human",
        "sha256": None,
        "filename": "KEGG_2019_Human.gmt",
        "dataset": "gene_sets",
        "description": "Enrichr KEGG_2019_Human gene set library (GMT text)",
    },
    # --- TCGA PanCanAtlas (Hoadley et al. 2018) ------------------------------------------------------------
    "tcga_pancan_expression": {
        "url": f"{_GDC}/3586c0da-64d0-4b74-a449-5ff4d9136611",
        "sha256": None,
        "filename": "EBPlusPlusAdjustPANCAN_IlluminaHiSeq_RNASeqV2.geneExp.tsv",
        "dataset": "tcga",
        "description": "TCGA PanCanAtlas batch-corrected RNA-seq (RSEM, 33 cancer types), ~1.9 GB",
    },
    "tcga_pancan_sample_annotation": {
        "url": f"{_GDC}/1a7d7be8-675d-4e60-a105-19d4121bdebf",
        "sha256": None,
        "filename": "merged_sample_quality_annotations.tsv",
        "dataset": "tcga",
        "description": "TCGA PanCanAtlas sample annotation (aliquot barcode → cancer type, QC flags)",
    },
    # --- Majdandzic et al. 2022 (GM12878 ATAC-seq datasets) ---------------------------------------------
    "majdandzic_atac": {
        "url": "https://zenodo.org/records/7186054/files/datasets.zip?download=1",
        "sha256": None,
        "filename": "datasets.zip",
        "dataset": "atac",
        "description": "Majdandzic et al. datasets.zip (Zenodo 10.5281/zenodo.7186054), incl. GM12878 ATAC-seq",
    },
    # --- gene annotation for Beat AML (exon lengths for FPKM; Entrez ids of the HumanBase network) ---------
    "ensembl_grch38_gtf": {
        "url": "https://ftp.ensembl.org/pub/release-110/gtf/homo_sapiens/Homo_sapiens.GRCh38.110.gtf.gz",
        "sha256": None,
        "filename": "Homo_sapiens.GRCh38.110.gtf.gz",
        "dataset": "beat_aml",
        "description": "Ensembl 110 GRCh38 gene annotation (GTF): union exon length per gene for FPKM",
    },
    "hgnc_complete_set": {
        "url": "https://storage.googleapis.com/public-download-files/hgnc/tsv/tsv/hgnc_complete_set.txt",
        "sha256": None,
        "filename": "hgnc_complete_set.txt",
        "dataset": "humanbase_network",
        "description": "HGNC complete set: symbol / Entrez / Ensembl ids (maps the HumanBase network to genes)",
    },
}

_OFFLINE_HINT = (
    "If this machine is offline or the source is unavailable, run on the embedded default instead: set "
    "`source: simulated` (or `source: bundled`) for this dataset in config.yaml"
)


class DownloadError(RuntimeError):
    """A file could not be downloaded; the message names the URL and how to run without it."""


class ChecksumError(DownloadError):
    """A downloaded file did not match its expected checksum (nothing is left at the destination)."""


class UnverifiedChecksumWarning(UserWarning):
    """A file was downloaded without a known checksum; its sha256 was computed and recorded."""


def registry_table() -> Any:
    """The registry as a pandas DataFrame (name, dataset, url, sha256, md5, filename, description)."""
    import pandas as pd

    rows = [
        {
            "name": k,
            "dataset": v.get("dataset"),
            "url": v["url"],
            "sha256": v.get("sha256"),
            "md5": v.get("md5"),
            "filename": v.get("filename"),
            "description": v.get("description"),
        }
        for k, v in REGISTRY.items()
    ]
    return pd.DataFrame(rows)


def resolve(name_or_url: str) -> dict[str, Any]:
    """Registry entry for a name, or a minimal entry for a plain URL.

    Raises
    ------
    KeyError
        If the argument is neither a registry name nor an http(s)/file URL.
    """
    if name_or_url in REGISTRY:
        return dict(REGISTRY[name_or_url], name=name_or_url)
    scheme = urllib.parse.urlparse(name_or_url).scheme
    if scheme in ("http", "https", "file"):
        fname = Path(urllib.parse.urlparse(name_or_url).path).name or "download"
        return {"name": None, "url": name_or_url, "sha256": None, "filename": fname}
    raise KeyError(f"unknown data source {name_or_url!r}: not a URL and not in the registry {sorted(REGISTRY)}")


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _opener(url: str) -> urllib.request.OpenerDirector:
    host = urllib.parse.urlparse(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    # never send loopback requests through an HTTP proxy from the environment
    return urllib.request.build_opener(urllib.request.ProxyHandler({})) if loopback else urllib.request.build_opener()


def _fetch_once(url: str, tmp: Path, timeout: float, want_md5: bool) -> tuple[str, str | None, int]:
    req = urllib.request.Request(url, headers={"User-Agent": "attrpriors-downloader/0.1"})
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False) if want_md5 else None
    n = 0
    with _opener(url).open(req, timeout=timeout) as resp, open(tmp, "wb") as out:
        expected = resp.headers.get("Content-Length")
        while True:
            block = resp.read(1 << 20)
            if not block:
                break
            out.write(block)
            sha.update(block)
            if md5 is not None:
                md5.update(block)
            n += len(block)
    if expected is not None and expected.isdigit() and int(expected) != n:
        raise http.client.IncompleteRead(b"", int(expected) - n)
    return sha.hexdigest(), (md5.hexdigest() if md5 is not None else None), n


def _retryable(err: BaseException) -> bool:
    """Transient network failures are retried; HTTP 4xx (except 408/429) and file-system errors are not."""
    if isinstance(err, urllib.error.HTTPError):
        return err.code >= 500 or err.code in (408, 429)
    if isinstance(err, (PermissionError, FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        return False
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return False
    return isinstance(
        err, (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException, OSError)
    )


def download(
    name_or_url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    md5: str | None = None,
    backoff: float = 2.0,
) -> Path:
    """Download a registry entry or URL to ``dest`` with retries, checksum verification and an atomic rename.

    The body is streamed to a temporary file next to ``dest`` while its sha256 is computed; only a complete
    file with the right checksum is renamed to ``dest``, so a failure leaves nothing at ``dest``. The
    file's sha256 is always written to ``<dest>.sha256`` (``<sha256>  <filename>  <url>``).

    Parameters
    ----------
    name_or_url : str
        A key of :data:`REGISTRY` or an http(s)/file URL.
    dest : path-like
        Destination file, or an existing directory (the registry's file name is used).
    sha256 : str, optional
        Expected sha256; defaults to the registry's. If none is known, the computed value is recorded and an
        :class:`UnverifiedChecksumWarning` is issued (also printed to stderr).
    retries : int
        Attempts in total for transient failures (connection errors, timeouts, HTTP 5xx/408/429). HTTP 4xx
        errors and checksum mismatches are not retried.
    timeout : float
        Seconds to wait for the connection and for each read.
    md5 : str, optional
        Expected md5 (defaults to the registry's; used where the source publishes only md5).
    backoff : float
        Seconds before the second attempt, doubled after each further failure.

    Returns
    -------
    pathlib.Path
        The downloaded file. If ``dest`` already exists and matches the known sha256, it is returned as is.

    Raises
    ------
    DownloadError
        Naming the URL and telling how to run on the embedded default.
    ChecksumError
        On a checksum mismatch (nothing is written at ``dest``).
    """
    entry = resolve(name_or_url)
    url = entry["url"]
    want_sha = sha256 or entry.get("sha256") or None
    want_md5 = md5 or entry.get("md5") or None
    dest = Path(dest)
    if dest.is_dir():
        dest = dest / entry["filename"]
    if dest.exists() and want_sha and sha256sum(dest) == want_sha.lower():
        return dest
    retries = max(1, int(retries))
    last: BaseException | None = None
    for attempt in range(retries):
        try:
            with atomic_path(dest, checksum=False) as tmp:  # its checksum: <name>.sha256, with the URL
                got_sha, got_md5, nbytes = _fetch_once(url, tmp, timeout, want_md5 is not None)
                if want_sha and got_sha != want_sha.lower():
                    raise ChecksumError(
                        f"checksum mismatch for {url}: expected sha256 {want_sha.lower()}, got {got_sha} "
                        f"({nbytes} bytes); the file was not saved to {dest}. If the source changed on purpose, "
                        f"update its sha256 in attrpriors.data.download.REGISTRY"
                    )
                if want_md5 and got_md5 != want_md5.lower():
                    raise ChecksumError(
                        f"checksum mismatch for {url}: expected md5 {want_md5.lower()}, got {got_md5}; the file "
                        f"was not saved to {dest}"
                    )
            break
        except ChecksumError:
            raise
        except (OSError, http.client.HTTPException) as err:  # URLError, HTTPError, timeouts are OSErrors
            last = err
            if isinstance(err, urllib.error.HTTPError) and not _retryable(err):
                raise DownloadError(f"could not download {url}: HTTP {err.code} {err.reason}. {_OFFLINE_HINT}") from err
            if not _retryable(err):
                raise DownloadError(f"could not write {dest} while downloading {url}: {err}") from err
            if attempt + 1 < retries:
                time.sleep(backoff * (2**attempt))
    else:
        reason = getattr(last, "reason", None) or last
        raise DownloadError(
            f"could not download {url} after {retries} attempt(s): {type(last).__name__}: {reason}. {_OFFLINE_HINT}, "
            f"or put the file at {dest} yourself."
        ) from last
    with atomic_path(dest.with_name(dest.name + ".sha256")) as tmp:
        tmp.write_text(f"{got_sha}  {dest.name}  {url}\n")
    if not want_sha:
        msg = (
            f"checksum of {url} is UNVERIFIED (no sha256 known); computed sha256 {got_sha}, recorded in "
            f"{dest}.sha256 — pin it in attrpriors.data.download.REGISTRY" + (" (md5 verified)" if want_md5 else "")
        )
        print(f"WARNING: {msg}", file=sys.stderr)
        warnings.warn(msg, UnverifiedChecksumWarning, stacklevel=2)
    return dest


def verify_recorded(path: str | os.PathLike) -> bool:
    """Check a downloaded file against the sha256 recorded next to it at download time (``<file>.sha256``) before
    it is used; :class:`attrpriors.io.CorruptFileError` naming the file, both checksums and the remedy if they
    differ (a file cut off, changed or replaced since). False if there is no record (a file put there by hand:
    nothing to check against), True if it matches. Folders are not checked."""
    from ..io import corrupt_file

    path = Path(path)
    record = path.with_name(path.name + ".sha256")
    if not path.is_file() or not record.is_file():
        return False
    fields = record.read_text(encoding="utf-8").split()
    got = sha256sum(path)
    if not fields or fields[0].lower() != got:
        url = fields[2] if len(fields) > 2 else "its source"
        raise corrupt_file(path, "downloaded file", f"sha256 {got} differs from {fields[0] if fields else 'nothing'} "
                                                    f"recorded in {record.name} when it was downloaded from {url}; "
                                                    f"delete {path.name} and {record.name} to download it again")
    return True


def local_path(path: str | os.PathLike | None, config_key: str, description: str = "controlled-access data") -> Path:
    """Resolve a user-provided path to data the pipeline cannot download (e.g. AMP-AD).

    Parameters
    ----------
    path : path-like or None
        The value of ``config_key`` in the configuration (``~`` and environment variables are expanded).
    config_key : str
        Dotted config key the path comes from, e.g. ``"datasets.amp_ad.path"``; named in errors.
    description : str
        What the data is, for the error message.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        If the key is unset or the path does not exist; the message names the key.
    """
    hint = (
        f"{description} cannot be downloaded by the pipeline: request access, download it yourself and set "
        f"`{config_key}` in your config to its location, or use the embedded default (`source: simulated`)"
    )
    if path is None or str(path).strip() == "":
        raise FileNotFoundError(f"config key `{config_key}` is not set. {hint}")
    p = Path(os.path.expandvars(os.path.expanduser(str(path))))
    if not p.exists():
        raise FileNotFoundError(f"path {p} given by config key `{config_key}` does not exist. {hint}")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m attrpriors.data.download NAME_OR_URL DEST [--sha256 X]``.

    ``--list`` (or no argument) prints the registry.
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", nargs="?", help="registry name or URL")
    ap.add_argument("dest", nargs="?", help="destination file or directory")
    ap.add_argument("--sha256")
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--list", action="store_true", help="print the registry and exit")
    args = ap.parse_args(argv)
    if args.list or not args.source:
        print(registry_table().to_string(index=False))
        return 0
    if not args.dest:
        ap.error("dest is required")
    try:
        out = download(args.source, args.dest, sha256=args.sha256, retries=args.retries, timeout=args.timeout)
    except (DownloadError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
