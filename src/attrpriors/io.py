"""File I/O with atomic writes: an output is either complete or absent; and readers that name a bad file.

Every writer in the library goes through :func:`atomic_path`, which yields a temporary path next to the
target and renames it into place only when the block finishes without an exception.

Every reader of a file kind the workflow writes (:func:`load_npz`, :func:`load_torch`, :func:`read_table`,
:func:`read_json`, and :func:`attrpriors.enrichment.read_gmt`) raises :class:`CorruptFileError` for a truncated or
corrupt file, naming it and saying how to regenerate it (delete it and rerun: Snakemake rebuilds it and everything
that depends on it). Zip-based kinds (``.npz``, ``.pt``) carry CRCs. A text kind (``.csv``, ``.tsv``, ``.json``,
``.gmt``: :data:`SEALED_SUFFIXES`) gets a hidden checksum file next to it when :func:`atomic_path` writes it,
``.<name>.sha256`` in ``sha256sum`` format (``sha256sum -c .t.csv.sha256`` checks it by hand); the readers compare
the file with it, so a file cut exactly at a line end, which would still parse, is caught too. The file itself is
not changed (the tables under results/tables/ stay plain). Without a checksum file (a file a user made or copied
alone) text files must end with a newline and a table's last line must have as many fields as its header.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd


REGENERATE = ("if it is an output of this workflow, delete it and rerun the same snakemake command "
              "(it and everything that depends on it are rebuilt)")


class CorruptFileError(ValueError):
    """An input file that cannot be read as its kind: truncated, corrupt or not what its name says."""


def corrupt_file(path: str | os.PathLike, kind: str, detail: str) -> CorruptFileError:
    """The error for an unreadable ``kind`` file at ``path``: names the file, the problem and the remedy."""
    return CorruptFileError(f"{path}: truncated or corrupt {kind} ({detail}); {REGENERATE}")


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input file not found: {path}")
    return path


SEALED_SUFFIXES = (".csv", ".tsv", ".json", ".gmt")  # text kinds read back by later rules: checksummed


def checksum_path(path: str | os.PathLike) -> Path:
    """The hidden checksum file that :func:`atomic_path` writes next to a text output: ``.<name>.sha256``."""
    path = Path(path)
    return path.with_name(f".{path.name}.sha256")


def verify_checksum(path: str | os.PathLike, data: bytes, kind: str) -> None:
    """:class:`CorruptFileError` if ``path`` has a checksum file and ``data`` (its bytes) do not match it."""
    side = checksum_path(path)
    try:
        recorded = side.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return  # not written by atomic_path (a user's file, or one copied alone): the other checks only
    if not recorded or hashlib.sha256(data).hexdigest() != recorded[0].lower():
        raise corrupt_file(path, kind, f"its {len(data):,} bytes do not match the SHA-256 recorded when it was "
                                       f"written, in {side.name}: cut off or changed since (to keep a deliberate "
                                       f"edit, delete {side.name})")


def check_text_complete(path: str | os.PathLike, kind: str) -> bytes:
    """The bytes of a text file that must match its checksum file (if any), be non-empty and end with a newline
    (else :class:`CorruptFileError`)."""
    data = _existing(path).read_bytes()
    verify_checksum(path, data, kind)
    if not data.strip():
        raise corrupt_file(path, kind, "the file is empty")
    if not data.endswith(b"\n"):
        raise corrupt_file(path, kind, "it does not end with a newline: cut off while being written or copied?")
    return data


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, checksum: bool = True) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success, delete it on failure.

    The temporary name keeps the target's suffix so that writers that infer the format from the
    suffix (matplotlib, numpy) behave as for the real path. A text kind the readers check
    (:data:`SEALED_SUFFIXES`) also gets its checksum file (:func:`checksum_path`), written just before the rename;
    ``checksum=False`` for files that record their own (downloads: ``<name>.sha256`` with the URL).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{''.join(path.suffixes)}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    side = checksum_path(path) if checksum and path.suffix in SEALED_SUFFIXES else None
    try:
        yield tmp_path
        # mkstemp creates the file 0600; give the output the permissions a plain open() would (0666 & ~umask),
        # so results on a shared lab or cluster file system stay readable by the group
        os.chmod(tmp_path, 0o666 & ~_umask())
        if side is not None:  # the checksum first: once the file exists, its checksum file matches it
            side_tmp = side.with_name(tmp_path.name + ".sha256")
            side_tmp.write_text(f"{hashlib.sha256(tmp_path.read_bytes()).hexdigest()}  {path.name}\n")
            os.chmod(side_tmp, 0o666 & ~_umask())
            os.replace(side_tmp, side)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        if side is not None:
            side.with_name(tmp_path.name + ".sha256").unlink(missing_ok=True)
        raise


_TEMP = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp(\.[^/]*)?$")  # atomic_path's temporary files (+ .sha256)


def remove_orphans(*folders: str | os.PathLike) -> list[Path]:
    """Remove what a killed or failed job leaves under ``folders``: :func:`atomic_path`'s temporary files and
    checksum files (``.NAME.sha256``) whose NAME no longer exists (Snakemake deletes a failed job's outputs, not
    their checksum files). Call it only when no job runs there (common.smk does, at the start of a run and on
    error). Returns the removed paths."""
    out = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            continue
        for p in folder.rglob(".*"):
            if not p.is_file():
                continue
            orphan = bool(_TEMP.match(p.name))
            if not orphan and p.name.endswith(".sha256") and p.name.startswith("."):
                orphan = not p.with_name(p.name[1:-len(".sha256")]).exists()
            if orphan:
                p.unlink(missing_ok=True)
                out.append(p)
    return sorted(out)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_npz(path: str | os.PathLike, **arrays: Any) -> None:
    """Save arrays to a compressed ``.npz`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def load_npz(path: str | os.PathLike, required: tuple[str, ...] = (),
             may_be_nonfinite: tuple[str, ...] = (),
             shapes: Mapping[str, tuple[int | None, ...]] | None = None) -> dict[str, np.ndarray]:
    """Load an ``.npz`` into a dict; raise an error naming the file and the missing key.

    Values are checked, not only the format: every floating-point array named in ``required`` must be finite (NaN or
    inf in an intermediate is a bug upstream or a damaged file; ``may_be_nonfinite`` names arrays where NaN means
    "unknown", e.g. the true importance of real data), and arrays ``X<part>``/``y<part>`` (``X_train`` and
    ``y_train``, ``X`` and ``y``) must have as many rows as each other; else :class:`CorruptFileError` naming the file,
    the array and how to regenerate it, before anything downstream is computed or written. ``shapes``: the shape
    the config implies for an array (None: any size on that axis), e.g. ``{"split": (n_splits, None)}``.
    """
    path = _existing(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except Exception as err:  # corrupt or truncated file: say which one
        raise corrupt_file(path, ".npz file", f"{type(err).__name__}: {err}") from err
    missing = [k for k in required if k not in out]
    if missing:
        raise KeyError(f"{path}: missing array(s) {missing}; found {sorted(out)}")
    for k in required:
        a = out[k]
        if a.dtype.kind in "fc" and k not in may_be_nonfinite and not np.isfinite(a).all():
            bad = ~np.isfinite(a)
            raise corrupt_file(path, ".npz file", f"array {k!r} {a.shape} holds {int(bad.sum()):,} non-finite "
                                                  f"value(s) ({int(np.isnan(a).sum()):,} NaN), first at index "
                                                  f"{tuple(int(i) for i in np.argwhere(bad)[0])}")
    for k, x in out.items():
        if k[:1] == "X" and "y" + k[1:] in out and x.ndim and out["y" + k[1:]].ndim \
                and len(x) != len(out["y" + k[1:]]):
            raise corrupt_file(path, ".npz file", f"{k} has {len(x)} rows but {'y' + k[1:]} {len(out['y' + k[1:]])}")
    for k, want in (shapes or {}).items():
        got = out[k].shape if k in out else None
        if got is None or len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got)):
            shown = tuple("any" if w is None else w for w in want)
            raise corrupt_file(path, ".npz file", f"array {k!r} has shape {got}, the config implies {shown}: "
                                                  "written under another config?")
    return out


def save_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a DataFrame as CSV (``.csv``), Parquet-free TSV (``.tsv``) or Markdown (``.md``), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        elif path.suffix == ".tsv":
            df.to_csv(tmp, index=False, sep="\t")
        elif path.suffix == ".md":
            tmp.write_text(df.to_markdown(index=False) + "\n")
        else:
            raise ValueError(f"{path}: unsupported table suffix {path.suffix!r} (use .csv, .tsv or .md)")


def read_table(path: str | os.PathLike, required: tuple[str, ...] = (), complete: bool = True) -> pd.DataFrame:
    """Read a CSV/TSV table; raise an error naming the file and any missing column.

    ``complete`` (for files this workflow wrote): the file must end with a newline and its last line must have
    as many fields as the header, else :class:`CorruptFileError`. Pass ``complete=False`` for files a user made.
    """
    import csv
    import io as _io

    path = _existing(path)
    sep = "\t" if path.suffix == ".tsv" else ","
    kind = f"{path.suffix or 'table'} table"
    if complete:
        data = check_text_complete(path, kind)
        lines = data.decode("utf-8", errors="replace").rstrip("\n").split("\n")
        header, last = (next(csv.reader(_io.StringIO(line), delimiter=sep)) for line in (lines[0], lines[-1]))
        if len(lines) > 1 and len(last) != len(header):
            raise corrupt_file(path, kind, f"its last line has {len(last)} fields, the header {len(header)}")
    try:
        df = pd.read_csv(path, sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise corrupt_file(path, kind, f"{type(err).__name__}: {err}") from err
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise KeyError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
    return df


def save_json(obj: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write a JSON document atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON document; :class:`CorruptFileError` naming the file if it is truncated or not JSON."""
    data = _existing(path).read_bytes()
    verify_checksum(path, data, ".json file")
    try:
        return json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise corrupt_file(path, ".json file", f"{type(err).__name__}: {err}") from err


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def save_torch(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` atomically."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path: str | os.PathLike, map_location: str = "cpu") -> Any:
    """``torch.load`` a checkpoint written by :func:`save_torch`; :class:`CorruptFileError` naming a bad file."""
    import torch

    path = _existing(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # truncated zip, bad pickle, ...: say which file
        raise corrupt_file(path, ".pt checkpoint", f"{type(err).__name__}: {err}") from err
