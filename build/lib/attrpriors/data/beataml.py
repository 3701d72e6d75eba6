"""Beat AML (Tyner et al. 2018; BeatAML 2.0 release) and the HumanBase network, parsed into the RNA-seq data layout.

The paper-scale source of the graph-prior experiment (Erion et al. 2019, Fig. 2). The files come from
:mod:`attrpriors.data.download` (``REGISTRY`` names in brackets):

* counts [``beataml_counts``]: TSV, one row per gene — ``stable_id`` (Ensembl, maybe versioned),
  ``display_label`` (symbol), ``description``, ``biotype`` — then one column per RNA-seq sample (``BA…R``);
* drug response [``beataml_drug_response``]: TSV of probit curve fits, one row per (sample, inhibitor):
  ``dbgap_subject_id``, ``dbgap_rnaseq_sample``, ``inhibitor``, ``ic50`` (µM), ``auc``;
* clinical [``beataml_clinical``]: Excel workbook; ``dbgap_rnaseq_sample`` and the sequencing ``cohort``
  (Waves1+2 / Waves3+4), used as the ComBat batch (reading it needs the ``openpyxl`` package);
* network [``humanbase_hematopoietic``]: gzip TSV ``entrez_a, entrez_b, posterior`` (HumanBase "top edges",
  posterior > 0.1);
* exon lengths [``ensembl_grch38_gtf``]: Ensembl GTF; a gene's effective length is the length of the union of
  its exons;
* identifiers [``hgnc_complete_set``]: HGNC table mapping Entrez ids (the network) to Ensembl ids (the counts).

:func:`assemble_beataml` turns them into the tables the simulator's ``save_simulation`` writes (counts,
genes, samples, response, graph edges), so the preprocessing and model rules are the same for both sources.
Every reader checks its columns and names the file in errors.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .annotation import exon_lengths, strip_version

__all__ = [
    "read_beataml_counts",
    "read_drug_response",
    "read_clinical_batch",
    "read_hgnc",
    "read_humanbase",
    "random_graph_like",
    "BeatAML",
    "assemble_beataml",
]

log = logging.getLogger("attrpriors.beataml")

_COUNT_ANNOTATION = ("stable_id", "display_label", "description", "biotype")


def _need(df: pd.DataFrame, cols, source) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{source}: missing column(s) {missing}; found {list(df.columns)[:12]}")


def read_beataml_counts(path: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Beat AML raw counts as (samples × Ensembl genes int64 DataFrame, gene annotation table).

    The annotation has ``ensembl, symbol, biotype``; version suffixes are stripped from Ensembl ids and a
    repeated id keeps its first row.
    """
    df = pd.read_csv(path, sep="\t", low_memory=False)
    _need(df, ("stable_id", "display_label", "biotype"), path)
    df["ensembl"] = strip_version(df["stable_id"])
    dup = df["ensembl"].duplicated()
    if dup.any():
        log.info("%s: %d repeated Ensembl ids dropped", path, int(dup.sum()))
        df = df.loc[~dup]
    samples = [c for c in df.columns if c not in _COUNT_ANNOTATION + ("ensembl",)]
    if not samples:
        raise ValueError(f"{path}: no sample columns after {list(_COUNT_ANNOTATION)}")
    counts = df[samples].T
    counts.columns = pd.Index(df["ensembl"].to_numpy(), name="gene")
    counts.index = pd.Index(counts.index.astype(str), name="sample")
    genes = pd.DataFrame(
        {"ensembl": df["ensembl"].to_numpy(), "symbol": df["display_label"].astype(str).to_numpy(),
         "biotype": df["biotype"].astype(str).to_numpy()}
    )
    return counts, genes


def read_drug_response(path: str | os.PathLike, response: str = "log10_ic50") -> pd.DataFrame:
    """Long table ``subject, sample, drug, response`` from the probit curve fits.

    ``response``: ``log10_ic50`` (log10 of the IC50, the paper's target on a log scale), ``ic50`` or ``auc``.
    Rows without a finite positive value are dropped; repeated (sample, drug) fits are averaged. When the file
    has a ``type`` column, only ``single-agent`` rows are kept.
    """
    df = pd.read_csv(path, sep="\t", low_memory=False)
    value_col = {"log10_ic50": "ic50", "ic50": "ic50", "auc": "auc"}.get(response)
    if value_col is None:
        raise ValueError(f"unknown drug response {response!r}; use log10_ic50, ic50 or auc")
    _need(df, ("dbgap_subject_id", "dbgap_rnaseq_sample", "inhibitor", value_col), path)
    if "type" in df.columns:
        df = df[df["type"].astype(str) == "single-agent"]
    v = pd.to_numeric(df[value_col], errors="coerce")
    ok = np.isfinite(v) & ((v > 0) if value_col == "ic50" else True)
    out = pd.DataFrame(
        {
            "subject": df["dbgap_subject_id"].astype(str),
            "sample": df["dbgap_rnaseq_sample"].astype(str),
            "drug": df["inhibitor"].astype(str),
            "response": np.log10(v.where(ok)) if response == "log10_ic50" else v,
        }
    )[ok & df["dbgap_rnaseq_sample"].notna()]
    return out.groupby(["subject", "sample", "drug"], as_index=False)["response"].mean()


def read_clinical_batch(path: str | os.PathLike, column: str = "cohort", sheet: str | int = 0) -> pd.Series:
    """Sequencing batch per RNA-seq sample from the clinical workbook (``dbgap_rnaseq_sample`` → ``column``)."""
    try:
        df = pd.read_excel(path, sheet_name=sheet)
    except ImportError as err:
        raise ImportError(
            f"reading {path} (an .xlsx workbook) needs the 'openpyxl' package: pip install openpyxl"
        ) from err
    _need(df, ("dbgap_rnaseq_sample", column), path)
    df = df.dropna(subset=["dbgap_rnaseq_sample", column])
    s = df.drop_duplicates("dbgap_rnaseq_sample").set_index("dbgap_rnaseq_sample")[column].astype(str)
    s.index = s.index.astype(str)
    return s.rename("batch")


def read_hgnc(path: str | os.PathLike) -> pd.DataFrame:
    """HGNC complete set: ``symbol, entrez_id (str), ensembl_gene_id, locus_group``."""
    df = pd.read_csv(path, sep="\t", low_memory=False, dtype=str)
    _need(df, ("symbol", "entrez_id", "ensembl_gene_id"), path)
    df = df.dropna(subset=["entrez_id", "ensembl_gene_id"])
    df["entrez_id"] = df["entrez_id"].str.split(".").str[0]
    return df[["symbol", "entrez_id", "ensembl_gene_id"] + (["locus_group"] if "locus_group" in df else [])]


def read_humanbase(path: str | os.PathLike, min_posterior: float = 0.1) -> pd.DataFrame:
    """HumanBase network as ``entrez_a, entrez_b, weight`` (undirected, i<j once, posterior ≥ ``min_posterior``)."""
    df = pd.read_csv(path, sep="\t", header=None, comment="#", dtype={0: str, 1: str})
    if df.shape[1] < 3:
        raise ValueError(f"{path}: expected 3 columns (entrez_a, entrez_b, posterior), got {df.shape[1]}")
    df = df.iloc[:, :3]
    df.columns = ["a", "b", "weight"]
    df["weight"] = pd.to_numeric(df["weight"], errors="coerce")
    df = df[(df["weight"] >= min_posterior) & (df["a"] != df["b"])]
    lo, hi = np.minimum(df["a"], df["b"]), np.maximum(df["a"], df["b"])
    out = pd.DataFrame({"entrez_a": lo, "entrez_b": hi, "weight": df["weight"].to_numpy()})
    return out.groupby(["entrez_a", "entrez_b"], as_index=False)["weight"].max()


def random_graph_like(edges: pd.DataFrame, genes, seed: int) -> pd.DataFrame:
    """A graph with the same number of edges as ``edges`` placed uniformly at random among ``genes``.

    The edge weights are the original weights in a random order (Erion et al.: "identical number of non-zero
    entries to the real graph, but entries placed in random positions").
    """
    genes = np.asarray(list(genes), dtype=str)
    n, m = len(genes), len(edges)
    if m > n * (n - 1) // 2:
        raise ValueError(f"cannot place {m} edges among {n} genes")
    rng = np.random.default_rng(seed)
    seen: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int]] = []
    while len(pairs) < m:
        a = rng.integers(0, n, size=2 * (m - len(pairs)) + 16)
        b = rng.integers(0, n, size=len(a))
        for i, j in zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist()):
            if i != j and (i, j) not in seen:
                seen.add((i, j))
                pairs.append((i, j))
                if len(pairs) == m:
                    break
    p = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    w = rng.permutation(edges["weight"].to_numpy(dtype=float)) if m else np.zeros(0)
    return pd.DataFrame({"gene_a": genes[p[:, 0]], "gene_b": genes[p[:, 1]], "weight": w})


@dataclass
class BeatAML:
    """Beat AML in the data layout of :func:`attrpriors.data.simulate_rnaseq.save_simulation`."""

    counts: pd.DataFrame  # patients × gene symbols, int64
    genes: pd.DataFrame  # gene, length, is_coding, ensembl
    samples: pd.DataFrame  # patient, batch, rnaseq_sample
    response: pd.DataFrame  # patient, drug, response
    graph_edges: pd.DataFrame  # gene_a, gene_b, weight (symbols)
    info: dict


def assemble_beataml(
    counts_path, response_path, batch: pd.Series, network_path, gtf_path, hgnc_path,
    response: str = "log10_ic50", min_patients_per_drug: int = 100, min_posterior: float = 0.1,
) -> BeatAML:
    """Join the Beat AML files into one patient per row, gene symbols as columns, with lengths and a graph.

    One RNA-seq sample per patient (the one with the most drug fits; ties by id); drugs measured in at least
    ``min_patients_per_drug`` patients; genes with an exon length (GTF) and a unique symbol (a repeated symbol
    keeps its gene with the most reads); network edges mapped Entrez → Ensembl (HGNC) → symbol and kept when
    both genes are measured. ``batch``: sequencing batch per RNA-seq sample id (:func:`read_clinical_batch`).
    """
    counts, ann = read_beataml_counts(counts_path)
    resp = read_drug_response(response_path, response)
    lengths = exon_lengths(gtf_path, feature="exon", strip_versions=True)
    info: dict = {"n_samples_in_counts": int(counts.shape[0]), "n_genes_in_counts": int(counts.shape[1])}

    # samples: with expression, response and batch; one per patient
    resp = resp[resp["sample"].isin(counts.index) & resp["sample"].isin(batch.index)]
    per_sample = resp.groupby(["subject", "sample"]).size().rename("n").reset_index()
    per_sample = per_sample.sort_values(["subject", "n", "sample"], ascending=[True, False, True])
    chosen = per_sample.drop_duplicates("subject")
    resp = resp.merge(chosen[["subject", "sample"]], on=["subject", "sample"])
    drug_n = resp.groupby("drug")["subject"].nunique()
    keep_drugs = drug_n.index[drug_n >= min_patients_per_drug]
    resp = resp[resp["drug"].isin(keep_drugs)]
    chosen = chosen[chosen["subject"].isin(resp["subject"])]
    if chosen.empty:
        raise ValueError(
            f"no Beat AML patient has expression ({counts_path}), a batch and a drug measured in "
            f">= {min_patients_per_drug} patients ({response_path})"
        )
    info.update(n_patients=int(len(chosen)), n_drugs=int(len(keep_drugs)), n_pairs=int(len(resp)))

    # genes: with a length, unique symbols
    ann = ann[ann["ensembl"].isin(lengths.index)].copy()
    totals = counts[ann["ensembl"]].sum(axis=0)
    ann["total"] = totals.reindex(ann["ensembl"]).to_numpy()
    ann = ann.sort_values(["symbol", "total"], ascending=[True, False]).drop_duplicates("symbol")
    info["n_genes_with_length"] = int(len(ann))
    x = counts.loc[chosen["sample"].to_numpy(), ann["ensembl"].to_numpy()]
    x.index = pd.Index(chosen["subject"].to_numpy(), name="patient")
    x.columns = pd.Index(ann["symbol"].to_numpy(), name="gene")
    genes = pd.DataFrame(
        {"gene": ann["symbol"].to_numpy(), "length": lengths.reindex(ann["ensembl"]).to_numpy(),
         "is_coding": (ann["biotype"] == "protein_coding").to_numpy(), "ensembl": ann["ensembl"].to_numpy()}
    )

    # graph: Entrez → Ensembl → symbol of the measured genes
    hg = read_hgnc(hgnc_path)
    ens2sym = dict(zip(ann["ensembl"], ann["symbol"]))
    ent2sym = {e: ens2sym[g] for e, g in zip(hg["entrez_id"], hg["ensembl_gene_id"]) if g in ens2sym}
    net = read_humanbase(network_path, min_posterior)
    a, b = net["entrez_a"].map(ent2sym), net["entrez_b"].map(ent2sym)
    ok = a.notna() & b.notna() & (a != b)
    edges = pd.DataFrame({"a": a[ok], "b": b[ok], "weight": net.loc[ok, "weight"]})
    lo, hi = np.minimum(edges["a"], edges["b"]), np.maximum(edges["a"], edges["b"])
    edges = (
        pd.DataFrame({"gene_a": lo, "gene_b": hi, "weight": edges["weight"]})
        .groupby(["gene_a", "gene_b"], as_index=False)["weight"].max()
    )
    info.update(n_network_edges=int(len(net)), n_graph_edges=int(len(edges)))
    samples = pd.DataFrame(
        {"patient": chosen["subject"].to_numpy(), "batch": batch.reindex(chosen["sample"]).to_numpy(),
         "rnaseq_sample": chosen["sample"].to_numpy()}
    )
    response_t = resp.rename(columns={"subject": "patient"})[["patient", "drug", "response"]]
    log.info("Beat AML: %s", info)
    return BeatAML(x.astype(np.int64), genes, samples, response_t.reset_index(drop=True), edges, info)
