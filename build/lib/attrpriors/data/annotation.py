"""Gene annotation: per-gene exon length from a GTF or GFF, the effective length of FPKM
(:func:`attrpriors.preprocess.counts_to_fpkm`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["exon_lengths", "strip_version"]


def strip_version(ids: pd.Series) -> pd.Series:
    """Ensembl ids without their version suffix (``ENSG00000141510.17`` → ``ENSG00000141510``)."""
    return ids.astype(str).str.split(".").str[0]


def exon_lengths(path: str | os.PathLike, feature: str = "exon", strip_versions: bool = False,
                 chunksize: int = 1_000_000) -> pd.Series:
    """Per-gene effective length: the total length of the union of the gene's ``feature`` intervals.

    ``feature="exon"`` reads a GTF (GENCODE/Ensembl; overlapping exons of a gene's transcripts count once);
    ``feature="exonic_part"`` a DEXSeq GFF, whose exonic parts are already disjoint (genes that DEXSeq merged keep
    ids such as ``FBgn1+FBgn2``). Genes are keyed by the ``gene_id`` attribute, without its version suffix if
    ``strip_versions``. Reads gzip or plain text, in chunks.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        If no ``feature`` row carries a ``gene_id``.
    """
    if not Path(path).exists():
        raise FileNotFoundError(f"annotation file not found: {path}")
    parts = []
    reader = pd.read_csv(
        path, sep="\t", header=None, comment="#", usecols=[2, 3, 4, 8], names=["type", "start", "end", "attr"],
        dtype={"type": str, "attr": str}, chunksize=chunksize,
    )
    for chunk in reader:
        rows = chunk[chunk["type"] == feature]
        gene = rows["attr"].str.extract(r'gene_id "([^"]+)"')[0]
        ok = gene.notna()
        if strip_versions:
            gene = strip_version(gene)
        parts.append(pd.DataFrame({"gene": gene, "start": rows["start"], "end": rows["end"]})[ok])
    if not parts or sum(len(p) for p in parts) == 0:
        raise ValueError(f"{path}: no {feature!r} rows with a gene_id attribute")
    ex = pd.concat(parts, ignore_index=True).sort_values(["gene", "start", "end"], kind="stable")
    # union of intervals per gene: a new block starts where start > the running max of the previous ends
    prev_end = ex.groupby("gene")["end"].transform(lambda e: e.cummax().shift(1))
    block = (prev_end.isna() | (ex["start"] > prev_end)).cumsum()
    spans = ex.groupby(block).agg(gene=("gene", "first"), start=("start", "min"), end=("end", "max"))
    return (spans["end"] - spans["start"] + 1).groupby(spans["gene"]).sum().astype(np.int64).rename("length")
