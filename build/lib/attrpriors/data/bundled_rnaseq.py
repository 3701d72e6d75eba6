"""Real RNA-seq counts shipped inside an installed package: inmoose's pasilla (Brooks et al. 2011) with exon
lengths from its bundled DEXSeq GFF. (The simulator's calibration reads airway and pasilla itself:
:mod:`attrpriors.data.rnaseq_calibration`.)"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .annotation import exon_lengths

__all__ = ["BundledRNASeq", "pasilla_dataset"]


@dataclass
class BundledRNASeq:
    """A real RNA-seq count dataset shipped inside an installed package.

    Attributes
    ----------
    counts : pandas.DataFrame
        Samples × genes raw counts (int64).
    gene_lengths : pandas.Series
        Exon length (bases) per gene, aligned with ``counts.columns``.
    samples : pandas.DataFrame
        Sample annotation indexed by sample id (pasilla: ``condition``, ``type``).
    batch_col, condition_col : str
        Columns of ``samples`` holding the batch and the biological condition.
    info : dict
        Provenance and how many genes were dropped while attaching lengths.
    """

    counts: pd.DataFrame
    gene_lengths: pd.Series
    samples: pd.DataFrame
    batch_col: str
    condition_col: str
    info: dict = field(default_factory=dict)


def pasilla_dataset(overlapping_loci: str = "drop") -> BundledRNASeq:
    """inmoose's bundled pasilla RNA-seq counts (Brooks et al. 2011) with exon lengths from its bundled GFF.

    7 samples (4 untreated, 3 treated with pasilla RNAi) × 14,599 genes; the library type (single-read vs
    paired-end) is a real technical batch, not confounded with the condition.

    Parameters
    ----------
    overlapping_loci : {"drop", "shared"}
        Genes that DEXSeq merged with an overlapping gene (GFF id ``A+B``, 743 genes) have no length of their
        own: ``"drop"`` removes them (default); ``"shared"`` gives each the merged locus's exon length.

    Returns
    -------
    BundledRNASeq
        ``batch_col="type"``, ``condition_col="condition"``; the GFF has no biotypes, so no coding annotation.
    """
    from inmoose.data.pasilla import pasilla

    if overlapping_loci not in ("drop", "shared"):
        raise ValueError(f"pasilla_dataset: overlapping_loci must be 'drop' or 'shared', got {overlapping_loci!r}")
    adata = pasilla()
    counts = pd.DataFrame(
        np.asarray(adata.X, dtype=np.int64), index=adata.obs_names.astype(str), columns=adata.var_names.astype(str)
    )
    samples = adata.obs[["condition", "type"]].astype(str).copy()
    samples.index = samples.index.astype(str)
    spec = importlib.util.find_spec("inmoose.data.pasilla")
    gff = Path(list(spec.submodule_search_locations)[0]) / "Dmel.BDGP5.25.62.DEXSeq.chr.gff"
    lengths = exon_lengths(gff, feature="exonic_part")
    direct = lengths[~lengths.index.str.contains("+", regex=False)]
    if overlapping_loci == "shared":
        shared = {}
        for k, v in lengths[lengths.index.str.contains("+", regex=False)].items():
            for g in k.split("+"):
                shared.setdefault(g, v)
        direct = pd.concat([direct, pd.Series(shared, dtype=np.int64).drop(direct.index, errors="ignore")])
    keep = counts.columns.isin(direct.index)
    info = {
        "source": "inmoose.data.pasilla",
        "gff": str(gff),
        "n_genes_total": int(counts.shape[1]),
        "n_genes_without_length_dropped": int((~keep).sum()),
        "overlapping_loci": overlapping_loci,
    }
    counts = counts.loc[:, keep]
    return BundledRNASeq(
        counts=counts,
        gene_lengths=direct.reindex(counts.columns).rename("length"),
        samples=samples,
        batch_col="type",
        condition_col="condition",
        info=info,
    )
