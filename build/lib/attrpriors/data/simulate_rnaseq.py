"""Simulated RNA-seq read counts from a hierarchical latent Dirichlet allocation (LDA) model.

Two generators share the same hierarchy ("pathways" play the role of LDA topics):

1. For sample i, pathway proportions θᵢ ~ Dirichlet(αᵢ).
2. The sample's reads are split over pathways: rᵢ ~ Multinomial(Nᵢ, θᵢ).
3. Within pathway p, its rᵢₚ reads are split over the pathway's genes: Multinomial(rᵢₚ, βₚ), with
   βₚ ~ Dirichlet(5·1) drawn once per pathway on the pathway's gene support. A gene in several pathways
   collects reads from each.

:func:`simulate_lda` is the classification generator of arXiv 2303.11336 (the "SIMU" settings): a sample
of class c has αᵢ = 4·(1 for every pathway, 2 for the class's own pathways) and the class's ground truth is
the union of its pathways' genes. :func:`simu1` and :func:`simu2` give the paper's two settings with sizes
from arguments.

:func:`simulate_drug_response` is the embedded default for the graph-prior (Erion et al.) and DAPr
(Weinberger et al.) experiments. It runs the same hierarchy on real human gene symbols and real KEGG
pathway memberships (``KEGG_2021_Human`` bundled in ``pyenrichr``), adds gene lengths, a coding/non-coding
annotation, sequencing batches with gene-wise multiplicative effects, a drug response driven by a few
pathways, a gene–gene graph whose edges follow those pathways (plus noise edges), a random graph with the
same number of edges, and per-gene meta-features of which some predict a gene's importance. The ground truth
is kept beside the data. :func:`save_simulation` / :func:`load_simulation` pass either kind of simulation
between Snakemake rules as plain ``.npz`` / ``.tsv`` / ``.json`` files.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import sparse

from ..io import load_npz, read_json, read_table
from ..stats import zscore
from .rnaseq_calibration import dispersion_from_trend, load_calibration

__all__ = [
    "LDASimulation",
    "DrugResponseSimulation",
    "simulate_lda",
    "simu1",
    "simu2",
    "SIMU_SETTINGS",
    "simulate_setting",
    "per_million",
    "membership_matrix",
    "simulate_drug_response",
    "save_simulation",
    "load_simulation",
]

# Paper sizes (arXiv 2303.11336, section D of EXPERIMENTS.md). Every entry can be overridden.
SIMU_SETTINGS: dict[str, dict[str, Any]] = {
    "SIMU1": dict(
        n_classes=33,
        n_samples_per_class=300,
        n_genes=15_000,
        n_pathways=1_500,
        genes_per_pathway=10,
        overlapping=False,
        total_reads=1_500_000,
    ),
    "SIMU2": dict(
        n_classes=33,
        n_samples_per_class=300,
        n_genes=15_000,
        n_pathways=3_000,
        genes_per_pathway=10,
        overlapping=True,
        total_reads=1_500_000,
    ),
}

# Symbols of non-coding genes (lncRNA clone names, LINC, antisense, host genes) in the bundled ARCHS4 library.
_NONCODING_PATTERN = re.compile(
    r"^(RP[0-9]+-|CT[ABCD]-|AC[0-9]{6}\.|AP[0-9]{6}\.|AL[0-9]{6}\.|LINC[0-9]|SNHG[0-9]|MIR[0-9]+HG)|-AS[0-9]$"
)


# --------------------------------------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------------------------------------
def _dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """One Dirichlet draw per row of ``alpha`` (vectorised through normalised Gamma draws)."""
    g = rng.standard_gamma(alpha)
    s = g.sum(axis=1, keepdims=True)
    # a row of tiny alphas can underflow to all zeros: fall back to uniform for that row
    bad = s[:, 0] <= 0
    if bad.any():
        g[bad] = 1.0
        s[bad] = g[bad].sum(axis=1, keepdims=True)
    return g / s


def _safe_pvals(p: np.ndarray) -> np.ndarray:
    """Renormalise probabilities in float64 so that numpy's multinomial accepts them."""
    p = np.asarray(p, dtype=np.float64)
    return p / p.sum(axis=-1, keepdims=True)


def per_million(counts: np.ndarray) -> np.ndarray:
    """Rescale each sample (row) of a count matrix to one million reads (float32).

    Parameters
    ----------
    counts : numpy.ndarray
        Samples × genes read counts.

    Returns
    -------
    numpy.ndarray
        ``counts / counts.sum(axis=1) * 1e6``; rows without reads stay zero.
    """
    counts = np.asarray(counts)
    tot = counts.sum(axis=1, keepdims=True).astype(np.float64)
    tot[tot == 0] = 1.0
    return (counts * (1e6 / tot)).astype(np.float32)


def membership_matrix(pathway_genes: list[np.ndarray], n_genes: int) -> sparse.csr_matrix:
    """Pathways × genes boolean membership as a sparse CSR matrix."""
    indptr = np.concatenate([[0], np.cumsum([len(g) for g in pathway_genes])]).astype(np.int64)
    indices = np.concatenate(pathway_genes).astype(np.int64) if pathway_genes else np.zeros(0, np.int64)
    data = np.ones(len(indices), dtype=bool)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(pathway_genes), n_genes))


def _split_ragged(indptr: np.ndarray, indices: np.ndarray) -> list[np.ndarray]:
    return [indices[indptr[i] : indptr[i + 1]] for i in range(len(indptr) - 1)]


def _ragged(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.concatenate([[0], np.cumsum([len(a) for a in arrays])]).astype(np.int64)
    indices = np.concatenate(arrays).astype(np.int64) if arrays else np.zeros(0, np.int64)
    return indptr, indices


def _sample_topic_genes(
    rng: np.random.Generator,
    counts: np.ndarray,
    topic_reads: np.ndarray,
    topic_genes: list[np.ndarray],
    topic_probs: list[np.ndarray],
    rows: np.ndarray | None = None,
) -> None:
    """Add, in place, each topic's reads split over its genes: one multinomial per topic, vectorised over rows.

    ``topic_reads`` is rows × topics; ``topic_probs[t]`` the within-topic gene probabilities (for these rows).
    """
    for t, genes in enumerate(topic_genes):
        n = topic_reads[:, t]
        if not n.any():
            continue
        draw = rng.multinomial(n, _safe_pvals(topic_probs[t]))
        if rows is None:
            counts[:, genes] += draw.astype(counts.dtype, copy=False)
        else:
            counts[np.ix_(rows, genes)] += draw.astype(counts.dtype, copy=False)


# --------------------------------------------------------------------------------------------------------
# SIMU generator (classification)
# --------------------------------------------------------------------------------------------------------
@dataclass
class LDASimulation:
    """Output of :func:`simulate_lda`.

    Attributes
    ----------
    counts : numpy.ndarray
        Samples × genes raw read counts (int32); every sample has exactly ``total_reads`` reads.
    labels : numpy.ndarray
        Class of each sample (int64, 0..n_classes-1).
    pathway_genes : list of numpy.ndarray
        Gene indices of each pathway.
    class_pathways : numpy.ndarray
        n_classes × pathways_per_class pathway indices (each class's own pathways).
    ground_truth : numpy.ndarray
        n_classes × n_genes boolean: the genes of the class's pathways.
    gene_names : numpy.ndarray
        Gene identifiers (``G00000``...).
    params : dict
        The arguments the simulation was run with (JSON-serialisable).
    """

    counts: np.ndarray
    labels: np.ndarray
    pathway_genes: list[np.ndarray]
    class_pathways: np.ndarray
    ground_truth: np.ndarray
    gene_names: np.ndarray
    params: dict = field(default_factory=dict)

    kind = "lda"

    @property
    def n_genes(self) -> int:
        return self.counts.shape[1]

    def per_million(self) -> np.ndarray:
        """Counts rescaled to one million reads per sample (the generator's final step), float32."""
        return per_million(self.counts)

    def membership(self) -> sparse.csr_matrix:
        """Pathways × genes boolean membership (sparse)."""
        return membership_matrix(self.pathway_genes, self.n_genes)

    def ground_truth_sets(self) -> dict[int, np.ndarray]:
        """Class → sorted gene indices of its ground truth."""
        return {c: np.flatnonzero(row) for c, row in enumerate(self.ground_truth)}


def simulate_lda(
    n_classes: int,
    n_samples_per_class: int,
    n_pathways: int,
    genes_per_pathway: int,
    overlapping: bool,
    n_genes: int,
    pathways_per_class: int | None = None,
    total_reads: int = 1_500_000,
    seed: int = 0,
    alpha: float = 4.0,
    own_pathway_factor: float = 2.0,
    beta_concentration: float = 5.0,
) -> LDASimulation:
    """Simulate class-labelled RNA-seq counts from the hierarchical LDA model of arXiv 2303.11336.

    For a sample of class c: θ ~ Dirichlet(α_c) with α_c = ``alpha`` · (1 for every pathway,
    ``own_pathway_factor`` for the class's own pathways); reads ~ Multinomial(``total_reads``, θ) over
    pathways; within pathway p the reads go to its genes by Multinomial(n_p, β_p), β_p ~
    Dirichlet(``beta_concentration`` · 1) drawn once per pathway. Use :meth:`LDASimulation.per_million` for
    the per-million rescaling.

    Parameters
    ----------
    n_classes : int
        Number of classes.
    n_samples_per_class : int
        Samples per class (classes are balanced; sample order is shuffled).
    n_pathways : int
        Number of pathways (topics).
    genes_per_pathway : int
        Genes per pathway.
    overlapping : bool
        ``False`` (SIMU1): pathways are disjoint blocks of a random gene permutation, which needs
        ``n_pathways * genes_per_pathway <= n_genes``. ``True`` (SIMU2): each pathway is an independent random
        subset of the genes, so pathways overlap and some genes may belong to none (those stay at zero).
    n_genes : int
        Number of genes.
    pathways_per_class : int, optional
        Own pathways per class, disjoint between classes; default ``n_pathways // n_classes``.
    total_reads : int
        Reads per sample.
    seed : int
        Seed of the numpy Generator; the same arguments give the same simulation.
    alpha, own_pathway_factor, beta_concentration : float
        Dirichlet parameters (paper: 4, 2, 5).

    Returns
    -------
    LDASimulation

    Raises
    ------
    ValueError
        On inconsistent sizes (named in the message).
    """
    for name, val in dict(
        n_classes=n_classes,
        n_samples_per_class=n_samples_per_class,
        n_pathways=n_pathways,
        genes_per_pathway=genes_per_pathway,
        n_genes=n_genes,
        total_reads=total_reads,
    ).items():
        if int(val) < 1:
            raise ValueError(f"simulate_lda: {name} must be >= 1, got {val}")
    if pathways_per_class is None:
        pathways_per_class = n_pathways // n_classes
    if pathways_per_class < 1 or pathways_per_class * n_classes > n_pathways:
        raise ValueError(
            f"simulate_lda: pathways_per_class={pathways_per_class} × n_classes={n_classes} must be between 1 and "
            f"n_pathways={n_pathways} (each class owns distinct pathways)"
        )
    if genes_per_pathway > n_genes:
        raise ValueError(f"simulate_lda: genes_per_pathway={genes_per_pathway} > n_genes={n_genes}")
    if not overlapping and n_pathways * genes_per_pathway > n_genes:
        raise ValueError(
            f"simulate_lda: disjoint pathways need n_pathways*genes_per_pathway <= n_genes, got "
            f"{n_pathways}*{genes_per_pathway} > {n_genes}"
        )
    rng = np.random.default_rng(seed)

    # pathways
    if overlapping:
        pathway_genes = [np.sort(rng.choice(n_genes, genes_per_pathway, replace=False)) for _ in range(n_pathways)]
    else:
        perm = rng.permutation(n_genes)[: n_pathways * genes_per_pathway]
        pathway_genes = [np.sort(b) for b in perm.reshape(n_pathways, genes_per_pathway)]
    class_pathways = rng.permutation(n_pathways)[: n_classes * pathways_per_class].reshape(
        n_classes, pathways_per_class
    )
    class_pathways = np.sort(class_pathways, axis=1)
    member = membership_matrix(pathway_genes, n_genes)
    ground_truth = np.zeros((n_classes, n_genes), dtype=bool)
    for c in range(n_classes):
        ground_truth[c, member[class_pathways[c]].indices] = True

    # samples
    n_samples = n_classes * n_samples_per_class
    labels = rng.permutation(np.repeat(np.arange(n_classes), n_samples_per_class)).astype(np.int64)
    own = np.zeros((n_classes, n_pathways), dtype=bool)
    own[np.repeat(np.arange(n_classes), pathways_per_class), class_pathways.ravel()] = True
    alpha_mat = np.where(own[labels], alpha * own_pathway_factor, alpha)
    theta = _dirichlet_rows(rng, alpha_mat)
    del alpha_mat
    pathway_reads = rng.multinomial(int(total_reads), theta)  # samples × pathways
    del theta
    betas = [rng.dirichlet(np.full(len(g), beta_concentration)) for g in pathway_genes]
    counts = np.zeros((n_samples, n_genes), dtype=np.int32)
    _sample_topic_genes(rng, counts, pathway_reads, pathway_genes, betas)

    params = dict(
        n_classes=n_classes,
        n_samples_per_class=n_samples_per_class,
        n_pathways=n_pathways,
        genes_per_pathway=genes_per_pathway,
        overlapping=bool(overlapping),
        n_genes=n_genes,
        pathways_per_class=int(pathways_per_class),
        total_reads=int(total_reads),
        seed=int(seed),
        alpha=float(alpha),
        own_pathway_factor=float(own_pathway_factor),
        beta_concentration=float(beta_concentration),
    )
    return LDASimulation(
        counts=counts,
        labels=labels,
        pathway_genes=pathway_genes,
        class_pathways=class_pathways,
        ground_truth=ground_truth,
        gene_names=np.array([f"G{i:05d}" for i in range(n_genes)]),
        params=params,
    )


def simu1(
    n_classes: int = 33,
    n_samples_per_class: int = 300,
    n_genes: int = 15_000,
    genes_per_pathway: int = 10,
    n_pathways: int | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> LDASimulation:
    """SIMU1: disjoint pathways of ``genes_per_pathway`` genes tiling the genes.

    Paper sizes: 33 classes × 300 samples, 15,000 genes, 1,500 pathways of 10 genes. By default
    ``n_pathways = n_genes // genes_per_pathway``; other keyword arguments go to :func:`simulate_lda`.
    """
    if n_pathways is None:
        n_pathways = n_genes // genes_per_pathway
    return simulate_lda(
        n_classes=n_classes,
        n_samples_per_class=n_samples_per_class,
        n_pathways=n_pathways,
        genes_per_pathway=genes_per_pathway,
        overlapping=False,
        n_genes=n_genes,
        seed=seed,
        **kwargs,
    )


def simu2(
    n_classes: int = 33,
    n_samples_per_class: int = 300,
    n_genes: int = 15_000,
    genes_per_pathway: int = 10,
    n_pathways: int | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> LDASimulation:
    """SIMU2: overlapping random pathways.

    Paper sizes: 33 classes × 300 samples, 15,000 genes, 3,000 random pathways. By default
    ``n_pathways = n_genes // 5`` (the paper's ratio); other keyword arguments go to :func:`simulate_lda`.
    """
    if n_pathways is None:
        n_pathways = max(1, n_genes // 5)
    return simulate_lda(
        n_classes=n_classes,
        n_samples_per_class=n_samples_per_class,
        n_pathways=n_pathways,
        genes_per_pathway=genes_per_pathway,
        overlapping=True,
        n_genes=n_genes,
        seed=seed,
        **kwargs,
    )


def simulate_setting(name: str, **overrides: Any) -> LDASimulation:
    """Run a named setting of :data:`SIMU_SETTINGS` (``"SIMU1"`` or ``"SIMU2"``) with some sizes overridden.

    Raises
    ------
    KeyError
        If ``name`` is not a known setting.
    """
    key = name.upper()
    if key not in SIMU_SETTINGS:
        raise KeyError(f"unknown simulation setting {name!r}; known: {sorted(SIMU_SETTINGS)}")
    args = dict(SIMU_SETTINGS[key])
    args.update(overrides)
    return simulate_lda(**args)


# --------------------------------------------------------------------------------------------------------
# drug-response generator (real genes and pathways)
# --------------------------------------------------------------------------------------------------------
@dataclass
class DrugResponseSimulation:
    """Output of :func:`simulate_drug_response`.

    Attributes
    ----------
    counts : numpy.ndarray
        Patients × genes raw read counts (int32), with length bias, sequencing depth and batch effects.
    genes : numpy.ndarray
        Gene symbols (real HGNC symbols; synthetic ``SIMGENE``/``SIMLNC`` names only if the bundled
        libraries run out).
    gene_lengths : numpy.ndarray
        Effective (exon) length of each gene in bases (int64).
    is_coding : numpy.ndarray
        True for protein-coding genes.
    patients : numpy.ndarray
        Patient identifiers (rows of ``counts``).
    batch : numpy.ndarray
        Sequencing batch of each patient.
    drugs : numpy.ndarray
        Drug names.
    response : pandas.DataFrame
        Long table ``patient, drug, response`` (patients × drugs rows, e.g. log IC50).
    pathways : dict of str to list of str
        The KEGG pathways used by the generator, restricted to ``genes``.
    drug_pathways : pandas.DataFrame
        ``drug, pathway, weight``: the pathways driving each drug's response and their weights.
    graph_edges : numpy.ndarray
        n_edges × 2 gene indices (i < j) of the gene–gene graph (driving-pathway edges + noise edges).
    random_graph_edges : numpy.ndarray
        A uniformly random graph on the same genes with the same number of edges.
    meta_features : pandas.DataFrame
        Genes × meta-features (index = gene symbol).
    informative_meta : list of str
        Meta-features that truly predict a gene's importance; the rest are pure noise.
    gene_importance : numpy.ndarray
        Ground-truth importance of each gene for the response (0 outside the driving pathways).
    pathway_expression : pandas.DataFrame
        Patients × driving pathways: the standardised latent pathway activity the response was computed from.
    params : dict
        Arguments of the simulation.
    gene_base_mean, gene_dispersion : numpy.ndarray, optional
        Each gene's mean count at the reference depth and the NB dispersion its counts were drawn with
        (saved as ``genes.tsv`` columns ``base_mean`` and ``dispersion``).
    pathway_loadings : dict of str to numpy.ndarray, optional
        Gene-specific loading of each pathway's genes (in the order of ``pathways``; ``pathways.tsv`` column
        ``loading``).
    """

    counts: np.ndarray
    genes: np.ndarray
    gene_lengths: np.ndarray
    is_coding: np.ndarray
    patients: np.ndarray
    batch: np.ndarray
    drugs: np.ndarray
    response: pd.DataFrame
    pathways: dict
    drug_pathways: pd.DataFrame
    graph_edges: np.ndarray
    random_graph_edges: np.ndarray
    meta_features: pd.DataFrame
    informative_meta: list
    gene_importance: np.ndarray
    pathway_expression: pd.DataFrame
    params: dict = field(default_factory=dict)
    gene_base_mean: np.ndarray | None = None
    gene_dispersion: np.ndarray | None = None
    pathway_loadings: dict | None = None

    kind = "drug_response"

    @property
    def driving_pathways(self) -> list[str]:
        """Names of the pathways that drive at least one drug's response."""
        return sorted(self.drug_pathways["pathway"].unique())

    @property
    def noise_meta(self) -> list[str]:
        """Meta-features that are pure noise."""
        return [c for c in self.meta_features.columns if c not in self.informative_meta]

    def counts_frame(self) -> pd.DataFrame:
        """Counts as a patients × genes DataFrame."""
        return pd.DataFrame(
            self.counts, index=pd.Index(self.patients, name="patient"), columns=pd.Index(self.genes, name="gene")
        )

    def sample_sheet(self) -> pd.DataFrame:
        """``patient, batch`` table in the row order of ``counts``."""
        return pd.DataFrame({"patient": self.patients, "batch": self.batch})

    def gene_table(self) -> pd.DataFrame:
        """``gene, length, is_coding, importance, degree`` (+ ``base_mean, dispersion``) in the order of ``counts``."""
        deg = (
            np.bincount(self.graph_edges.ravel(), minlength=len(self.genes))
            if len(self.graph_edges)
            else np.zeros(len(self.genes), dtype=np.int64)
        )
        return pd.DataFrame(
            {
                "gene": self.genes,
                "length": self.gene_lengths,
                "is_coding": self.is_coding,
                "importance": self.gene_importance,
                "degree": deg,
                **({} if self.gene_base_mean is None else {"base_mean": self.gene_base_mean}),
                **({} if self.gene_dispersion is None else {"dispersion": self.gene_dispersion}),
            }
        )

    def pathway_table(self) -> pd.DataFrame:
        """``pathway, gene`` (+ ``loading`` when known): one row per pathway member."""
        rows = pd.DataFrame([(t, g) for t, gs in self.pathways.items() for g in gs], columns=["pathway", "gene"])
        if self.pathway_loadings is not None:
            rows["loading"] = np.concatenate([np.asarray(self.pathway_loadings[t], float) for t in self.pathways])
        return rows

    def graph_laplacian(self, random: bool = False) -> sparse.csr_matrix:
        """Sparse graph Laplacian L = D − W (unit weights) of the gene graph or of the random graph."""
        from ..graph import laplacian

        e = self.random_graph_edges if random else self.graph_edges
        return laplacian(e, np.ones(len(e)), len(self.genes))


@functools.lru_cache(maxsize=8)
def _library_genes(name: str) -> tuple[str, ...]:
    """Sorted gene symbols of a bundled library (cached: the files never change within a process)."""
    from ..enrichment import load_gene_sets

    sets = load_gene_sets(name, source="bundled")
    return tuple(sorted({g for v in sets.values() for g in v}))


def _random_pairs(rng: np.random.Generator, n_nodes: int, n_pairs: int, exclude: set[tuple[int, int]]) -> np.ndarray:
    """``n_pairs`` distinct unordered pairs (i < j) of nodes, uniformly at random, none in ``exclude``."""
    max_pairs = n_nodes * (n_nodes - 1) // 2 - len(exclude)
    if n_pairs > max_pairs:
        raise ValueError(f"cannot draw {n_pairs} new edges among {n_nodes} genes ({max_pairs} free pairs)")
    got: set[tuple[int, int]] = set()
    out: list[tuple[int, int]] = []
    while len(out) < n_pairs:
        need = n_pairs - len(out)
        a = rng.integers(0, n_nodes, size=2 * need + 16)
        b = rng.integers(0, n_nodes, size=2 * need + 16)
        for i, j in zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist()):
            if i == j or (i, j) in got or (i, j) in exclude:
                continue
            got.add((i, j))
            out.append((i, j))
            if len(out) == n_pairs:
                break
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def _within_edges(rng: np.random.Generator, members: np.ndarray, degree: int) -> set[tuple[int, int]]:
    """Each member connected to ``degree`` random other members of the same set (undirected, deduplicated)."""
    k = len(members)
    if k < 2 or degree <= 0:
        return set()
    d = min(degree, k - 1)
    r = rng.integers(0, k - 1, size=(k, d))
    r = r + (r >= np.arange(k)[:, None])  # skip self
    a = np.repeat(members, d)
    b = members[r.ravel()]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return set(zip(lo.tolist(), hi.tolist()))


INFORMATIVE_META = ("hubness", "mutation_freq", "cnv", "regulator", "methylation")


def informative_meta_names(n_informative_meta: int) -> list[str]:
    """Names of the simulator's informative meta-features, in order: :data:`INFORMATIVE_META`, then
    ``informative_6``, ... (hubness is the graph degree; the others are noisy copies of the drivers' importance)."""
    return [INFORMATIVE_META[j] if j < len(INFORMATIVE_META) else f"informative_{j + 1}"
            for j in range(int(n_informative_meta))]


def simulate_drug_response(
    n_patients: int = 200,
    n_drugs: int = 10,
    n_genes: int = 2_000,
    n_pathways: int = 20,
    n_batches: int = 3,
    n_driving_pathways: int = 4,
    pathways_per_drug: int = 2,
    noncoding_frac: float = 0.1,
    depth: float = 1.0,
    depth_sd: float = 0.3,
    batch_effect_sd: float = 0.5,
    gene_noise: float = 1.0,
    pathway_sd: float = 0.4,
    loading_range: tuple[float, float] | list[float] = (0.2, 1.0),
    negative_loading_frac: float = 0.2,
    patient_heterogeneity: float | None = None,
    response: str = "linear",
    noise_sd: float = 0.5,
    drug_effect_sd: float = 1.0,
    background_module_size: int = 25,
    within_pathway_degree: int = 4,
    nondriving_pathway_degree: int = 0,
    noise_edge_frac: float = 0.2,
    n_informative_meta: int = 3,
    n_noise_meta: int = 3,
    min_pathway_size: int = 10,
    max_pathway_size: int = 100,
    max_pathway_gene_frac: float = 0.7,
    library: str = "KEGG_2021_Human",
    gene_set_source: str | os.PathLike = "bundled",
    calibration: str | os.PathLike | Mapping | None = None,
    seed: int = 0,
) -> DrugResponseSimulation:
    """Simulate patients' RNA-seq counts and their response to drugs, on real genes and KEGG pathways.

    Genes and pathways
        ``n_pathways`` KEGG pathways (sizes in [``min_pathway_size``, ``max_pathway_size``]) are drawn at
        random and kept whole while their gene union fits in ``max_pathway_gene_frac`` of the coding genes.
        The other coding genes are real symbols from the rest of KEGG and then from the bundled GO
        Biological Process, WikiPathways and ChEA libraries (about 19,000 symbols in all); a fraction
        ``noncoding_frac`` of all genes are non-coding (real lncRNA / antisense symbols from the bundled
        ARCHS4 library). Genes outside the chosen pathways are grouped at random into unannotated
        co-expression modules of ``background_module_size`` genes. Exon lengths are log-normal (median 2 kb
        coding, 1 kb non-coding, clipped to [200, 50,000]).

    Counts: negative binomial calibrated on real data (``calibration``, see
    :mod:`attrpriors.data.rnaseq_calibration`)
        * Gene g's mean count at the reference depth, m_g, is drawn from the distribution of mean normalised
          counts of the expressed genes (>= 10 reads) of the reference data set (airway).
        * Every pathway and module t has a latent activity a_it ~ N(0, 1) per patient i. Gene g loads on each
          topic it belongs to with a gene-specific weight ℓ_gt = ±U(``loading_range``) (negative with probability
          ``negative_loading_frac``); its pathway signal is s_ig = Σ_t ℓ_gt a_it / √(number of its topics).
        * Mean: μ_ig = depth·e^{N(0, depth_sd)} · m_g · l_g/l̄_g-free · f_bg · exp(``pathway_sd``·s_ig − ½
          ``pathway_sd``²·E[s²]) with gene-wise batch factors f_bg = exp(N(0, ``batch_effect_sd``)). (The mean
          does not depend on the exon length: m_g already is a count, so the abundance FPKM estimates is
          m_g / l_g.)
        * Independent biological noise: counts ~ NB(μ_ig, φ_g) (Gamma–Poisson) with
          φ_g = ``gene_noise`` · (``patient_heterogeneity`` · a0 + a1 / m_g), where a0 + a1/m is pydeseq2's
          parametric dispersion trend fitted on the reference data set. ``patient_heterogeneity`` (default:
          the calibration's, 16 = (BCV 0.4 / 0.1)², an assumption stated in
          :data:`attrpriors.data.rnaseq_calibration.PATIENT_HETEROGENEITY`) scales the cell lines' biological
          dispersion (the asymptote a0, BCV² at high counts) to a patient cohort; the a1/m part (extra-Poisson
          noise of low counts) is kept as measured. ``gene_noise`` = 1 is the calibrated level, 0 leaves only
          Poisson noise, larger values make single genes poorer proxies of their pathway.

    Response (``response``)
        ``n_driving_pathways`` of the chosen pathways drive the response; each drug uses
        ``pathways_per_drug`` of them with weights ±U(0.5, 1.5). With z_iq the driving pathways' latent
        activities standardised over patients:

        * ``linear``: response_id = μ_d + Σ_q w_dq z_iq + ``noise_sd``·ε;
        * ``nonlinear``: a threshold and an interaction, h_id = Σ_q w_dq·max(z_iq, 0) + w_d1·z_iq₁·z_iq₂
          (q₁, q₂ the drug's first two pathways; the interaction is left out when the drug has one), rescaled
          to the variance of the linear signal Σ_q w_dq z_iq, plus μ_d + ``noise_sd``·ε;

        μ_d ~ N(0, ``drug_effect_sd``).

    Ground truth
        gene_importance_g = mean over drugs of Σ_{q driving d, g ∈ q} |w_dq|·|ℓ_gq| / Σ_{h ∈ q} |ℓ_hq| (a gene's
        share of its pathway's loading), 0 elsewhere.

    Graphs
        Each driving pathway's genes are linked to ``within_pathway_degree`` random partners in the same
        pathway (``nondriving_pathway_degree`` for the other chosen pathways, default 0), plus uniformly
        random noise edges making up ``noise_edge_frac`` of all edges. The random graph has the same number
        of edges, drawn uniformly.

    Meta-features
        Informative ones: ``hubness`` (standardised log(1 + degree) in the graph) and then
        ``mutation_freq``, ``cnv``, ``regulator``, ``methylation`` (then ``informative_k``) equal to
        s·u_g + N(0, 1), with u_g = 0 for non-driver genes and 0.5 + 0.5·(importance percentile among drivers)
        for drivers, and strengths s from 3 down to 1. Noise ones (``noise_k``) are N(0, 1).

    Parameters
    ----------
    n_patients, n_drugs, n_genes, n_pathways, n_batches : int
        Sizes. ``n_genes`` counts coding plus non-coding genes.
    n_driving_pathways, pathways_per_drug : int
        Pathways driving the response (pool) and per drug (drawn from the pool).
    noncoding_frac : float
        Fraction of all genes that are non-coding.
    depth, depth_sd : float
        Median sequencing depth relative to the reference data set, and its log-scale spread over patients.
    batch_effect_sd : float
        Log-scale spread of the gene-wise batch factors.
    gene_noise : float
        Multiplier of the calibrated NB dispersion (independent biological noise per gene); >= 0.
    pathway_sd : float
        Log-scale s.d. of a pathway's activity effect on a gene with loading 1.
    loading_range : (float, float)
        Range of the absolute gene-specific loadings.
    negative_loading_frac : float
        Probability that a gene's loading is negative.
    patient_heterogeneity : float, optional
        Dispersion factor from cell lines to patients; default the calibration's.
    response : {"linear", "nonlinear"}
        Response model.
    noise_sd, drug_effect_sd : float
        Response noise and drug-offset spread.
    background_module_size : int
        Genes per unannotated module.
    within_pathway_degree, nondriving_pathway_degree : int
        Partners per gene inside driving / other pathways in the gene graph.
    noise_edge_frac : float
        Fraction of graph edges that are random (in [0, 1)).
    n_informative_meta, n_noise_meta : int
        Numbers of informative and noise meta-features.
    min_pathway_size, max_pathway_size : int
        Allowed KEGG pathway sizes.
    max_pathway_gene_frac : float
        Largest fraction of coding genes the chosen pathways may cover.
    library : str
        Gene set library (default KEGG_2021_Human).
    gene_set_source : {"bundled"} or path-like
        Where the library comes from (see :func:`attrpriors.enrichment.load_gene_sets`).
    calibration : path-like or mapping, optional
        Output of :func:`attrpriors.data.rnaseq_calibration.calibrate` (the workflow's
        ``results/rnaseq/calibration.json``); default the bundled copy.
    seed : int
        Seed; the same arguments give the same simulation.

    Returns
    -------
    DrugResponseSimulation
        ``latent_activity`` holds every topic's a_it, ``gene_dispersion`` the φ_g the counts were drawn with.

    Raises
    ------
    ValueError
        On inconsistent sizes, e.g. when ``n_pathways`` pathways cannot fit in the gene budget, or bad knobs.
    """
    from ..enrichment import load_gene_sets

    if n_patients < 2 or n_genes < 10 or n_drugs < 1 or n_batches < 1:
        raise ValueError(
            f"simulate_drug_response: need n_patients >= 2, n_genes >= 10, n_drugs >= 1, n_batches >= 1; got "
            f"{n_patients}, {n_genes}, {n_drugs}, {n_batches}"
        )
    if not 0 <= noise_edge_frac < 1:
        raise ValueError(f"simulate_drug_response: noise_edge_frac must be in [0, 1), got {noise_edge_frac}")
    if not 0 <= noncoding_frac < 1:
        raise ValueError(f"simulate_drug_response: noncoding_frac must be in [0, 1), got {noncoding_frac}")
    if gene_noise < 0 or pathway_sd < 0 or depth <= 0:
        raise ValueError(
            f"simulate_drug_response: need gene_noise >= 0, pathway_sd >= 0, depth > 0; got {gene_noise}, "
            f"{pathway_sd}, {depth}"
        )
    if len(loading_range) != 2 or not 0 <= loading_range[0] <= loading_range[1]:
        raise ValueError(f"simulate_drug_response: loading_range must be (low, high) with 0 <= low <= high, got "
                         f"{loading_range}")
    if response not in ("linear", "nonlinear"):
        raise ValueError(f"simulate_drug_response: response must be 'linear' or 'nonlinear', got {response!r}")
    cal = load_calibration(calibration)
    ref = cal["datasets"][cal.get("reference", "airway")]
    if n_driving_pathways > n_pathways or pathways_per_drug > n_driving_pathways or pathways_per_drug < 1:
        raise ValueError(
            f"simulate_drug_response: need 1 <= pathways_per_drug ({pathways_per_drug}) <= n_driving_pathways "
            f"({n_driving_pathways}) <= n_pathways ({n_pathways})"
        )
    rng = np.random.default_rng(seed)
    library_sets = load_gene_sets(library, source=gene_set_source)

    # ---- gene universe ---------------------------------------------------------------------------------
    n_noncoding = int(round(noncoding_frac * n_genes))
    n_coding = n_genes - n_noncoding
    budget = int(max_pathway_gene_frac * n_coding)
    eligible = sorted(t for t, g in library_sets.items() if min_pathway_size <= len(g) <= max_pathway_size)
    chosen: list[str] = []
    union: set[str] = set()
    for idx in rng.permutation(len(eligible)):
        term = eligible[idx]
        new = union.union(library_sets[term])
        if len(new) <= budget:
            chosen.append(term)
            union = new
            if len(chosen) == n_pathways:
                break
    if len(chosen) < n_pathways:
        raise ValueError(
            f"simulate_drug_response: only {len(chosen)} of n_pathways={n_pathways} {library} pathways (sizes "
            f"{min_pathway_size}-{max_pathway_size}) fit in {budget} coding genes (max_pathway_gene_frac="
            f"{max_pathway_gene_frac} of {n_coding}); increase n_genes or reduce n_pathways / max_pathway_size"
        )
    pathway_symbols = sorted(union)
    coding_pool = [g for g in sorted({g for v in library_sets.values() for g in v}) if g not in union]
    coding_pool = [coding_pool[i] for i in rng.permutation(len(coding_pool))]
    extra_needed = n_coding - len(pathway_symbols)
    if len(coding_pool) < extra_needed:
        taken = set(coding_pool) | union
        extra_libs = ("GO_Biological_Process_2023", "WikiPathway_2023_Human", "ChEA_2022")
        more = {g for lib in extra_libs for g in _library_genes(lib)}
        more = sorted(g for g in more if g not in taken and not _NONCODING_PATTERN.search(g))
        coding_pool += [more[i] for i in rng.permutation(len(more))]
    if len(coding_pool) < extra_needed:
        coding_pool += [f"SIMGENE{i:05d}" for i in range(extra_needed - len(coding_pool))]
    coding = pathway_symbols + coding_pool[:extra_needed]
    noncoding: list[str] = []
    if n_noncoding:
        taken = set(coding)
        nc_pool = sorted(
            g for g in _library_genes("ARCHS4_TFs_Coexp") if _NONCODING_PATTERN.search(g) and g not in taken
        )
        nc_pool = [nc_pool[i] for i in rng.permutation(len(nc_pool))]
        if len(nc_pool) < n_noncoding:
            nc_pool += [f"SIMLNC{i:05d}" for i in range(n_noncoding - len(nc_pool))]
        noncoding = nc_pool[:n_noncoding]
    all_genes = np.array(coding + noncoding, dtype=object)
    coding_flag = np.r_[np.ones(len(coding), bool), np.zeros(len(noncoding), bool)]
    order = rng.permutation(n_genes)  # no information in gene position
    genes = all_genes[order].astype(str)
    is_coding = coding_flag[order]
    gidx = {g: i for i, g in enumerate(genes)}

    lengths = np.where(
        is_coding, rng.lognormal(np.log(2000.0), 0.6, n_genes), rng.lognormal(np.log(1000.0), 0.6, n_genes)
    )
    gene_lengths = np.clip(np.round(lengths), 200, 50_000).astype(np.int64)

    # ---- topics: pathways + unannotated modules ------------------------------------------------------------
    pathway_idx = [np.sort(np.array([gidx[g] for g in library_sets[t]], dtype=np.int64)) for t in chosen]
    in_pathway = np.zeros(n_genes, bool)
    for p in pathway_idx:
        in_pathway[p] = True
    background = rng.permutation(np.flatnonzero(~in_pathway))
    bg_modules: list[np.ndarray] = []
    if len(background):
        k = max(1, int(np.ceil(len(background) / background_module_size)))
        bg_modules = [np.sort(c) for c in np.array_split(background, k)]
    topic_genes = pathway_idx + bg_modules
    topic_names = list(chosen) + [f"module{m + 1:03d}" for m in range(len(bg_modules))]
    n_topics = len(topic_genes)
    lo, hi = float(loading_range[0]), float(loading_range[1])
    loadings = [
        rng.uniform(lo, hi, len(g)) * np.where(rng.random(len(g)) < negative_loading_frac, -1.0, 1.0)
        for g in topic_genes
    ]
    indptr = _ragged(topic_genes)[0]
    lmat = sparse.csr_matrix((np.concatenate(loadings), np.concatenate(topic_genes), indptr), shape=(n_topics, n_genes))
    n_topics_of_gene = np.maximum(np.asarray((lmat != 0).sum(axis=0)).ravel(), 1)
    lmat = lmat @ sparse.diags(1.0 / np.sqrt(n_topics_of_gene))  # s_ig = Σ_t ℓ_gt a_it / √k_g
    signal_var = np.asarray(lmat.multiply(lmat).sum(axis=0)).ravel()  # E[s_ig²] over patients

    # ---- patients, batches, depth -----------------------------------------------------------------------
    patients = np.array([f"P{i:04d}" for i in range(n_patients)])
    batch_id = rng.permutation(np.arange(n_patients) % n_batches)
    batch = np.array([f"batch{b + 1}" for b in batch_id])
    activity = rng.standard_normal((n_patients, n_topics))
    depth_i = depth * rng.lognormal(0.0, depth_sd, n_patients)
    batch_factor = rng.lognormal(0.0, batch_effect_sd, size=(n_batches, n_genes))

    # ---- counts: NB(μ, φ) with the calibrated mean distribution and dispersion trend ------------------------
    q = np.asarray(ref["log10_mean_quantiles"], dtype=float)
    base_mean = 10 ** np.interp(rng.random(n_genes), np.linspace(0.0, 1.0, len(q)), q)
    heterogeneity = float(cal.get("patient_heterogeneity", 16.0) if patient_heterogeneity is None
                          else patient_heterogeneity)
    dispersion = gene_noise * dispersion_from_trend(base_mean, heterogeneity * ref["a0"], ref["a1"])
    log_mu = (
        np.log(depth_i)[:, None]
        + np.log(base_mean)[None, :]
        + np.log(batch_factor[batch_id])
        + pathway_sd * np.asarray(activity @ lmat.toarray() if n_genes * n_topics < 5e7 else (lmat.T @ activity.T).T)
        - 0.5 * pathway_sd**2 * signal_var[None, :]
    )
    mu = np.exp(log_mu)
    if gene_noise > 0:
        shape = 1.0 / dispersion
        lam = mu * rng.gamma(shape[None, :], 1.0 / shape[None, :], size=mu.shape)
    else:
        lam = mu
    counts = rng.poisson(lam).astype(np.int32)

    # ---- response ---------------------------------------------------------------------------------------
    driving_local = np.sort(rng.choice(len(chosen), n_driving_pathways, replace=False))
    driving_names = [chosen[i] for i in driving_local]
    z = zscore(activity[:, driving_local])
    drugs = np.array([f"DRUG{d + 1:02d}" for d in range(n_drugs)])
    drug_rows = []
    weights = np.zeros((n_drugs, n_driving_pathways))
    signal = np.zeros((n_patients, n_drugs))
    for d in range(n_drugs):
        use = np.sort(rng.choice(n_driving_pathways, pathways_per_drug, replace=False))
        w = rng.uniform(0.5, 1.5, size=pathways_per_drug) * rng.choice([-1.0, 1.0], size=pathways_per_drug)
        weights[d, use] = w
        drug_rows += [(drugs[d], driving_names[qq], float(wq)) for qq, wq in zip(use, w)]
        linear = z[:, use] @ w
        if response == "linear":
            signal[:, d] = linear
        else:
            h = np.maximum(z[:, use], 0.0) @ w
            if len(use) >= 2:
                h = h + w[0] * z[:, use[0]] * z[:, use[1]]
            signal[:, d] = (h - h.mean()) / max(h.std(), 1e-12) * linear.std()
    offsets = rng.normal(0.0, drug_effect_sd, size=n_drugs)
    resp = offsets[None, :] + signal + noise_sd * rng.standard_normal((n_patients, n_drugs))
    response_table = pd.DataFrame(
        {
            "patient": np.repeat(patients, n_drugs),
            "drug": np.tile(drugs, n_patients),
            "response": resp.ravel(),
        }
    )
    drug_pathways = pd.DataFrame(drug_rows, columns=["drug", "pathway", "weight"])
    share = np.zeros((n_genes, n_driving_pathways))
    for j, i in enumerate(driving_local):
        a = np.abs(loadings[i])
        share[pathway_idx[i], j] = a / a.sum()
    importance = share @ np.abs(weights).mean(axis=0)

    # ---- graphs -----------------------------------------------------------------------------------------
    edges: set[tuple[int, int]] = set()
    driving_set = set(driving_local.tolist())
    for i in range(len(chosen)):
        deg = within_pathway_degree if i in driving_set else nondriving_pathway_degree
        edges |= _within_edges(rng, pathway_idx[i], deg)
    n_within = len(edges)
    n_noise = int(round(noise_edge_frac / (1.0 - noise_edge_frac) * n_within))
    noise_edges = _random_pairs(rng, n_genes, n_noise, edges)
    graph_edges = np.array(sorted(edges), dtype=np.int64).reshape(-1, 2)
    graph_edges = np.concatenate([graph_edges, noise_edges])
    graph_edges = graph_edges[np.lexsort((graph_edges[:, 1], graph_edges[:, 0]))]
    random_edges = _random_pairs(rng, n_genes, len(graph_edges), set())
    random_edges = random_edges[np.lexsort((random_edges[:, 1], random_edges[:, 0]))]

    # ---- meta-features ----------------------------------------------------------------------------------
    driver = importance > 0
    u = np.zeros(n_genes)
    if driver.any():
        ranks = pd.Series(importance[driver]).rank(pct=True).to_numpy()
        u[driver] = 0.5 + 0.5 * ranks
    meta: dict[str, np.ndarray] = {}
    informative: list[str] = []
    strengths = np.linspace(3.0, 1.0, max(n_informative_meta - 1, 1))
    for j, name in enumerate(informative_meta_names(n_informative_meta)):
        if j == 0:
            degree = np.bincount(graph_edges.ravel(), minlength=n_genes) if len(graph_edges) else np.zeros(n_genes)
            meta[name] = zscore(np.log1p(degree.astype(float))[:, None])[:, 0]
        else:
            meta[name] = strengths[j - 1] * u + rng.standard_normal(n_genes)
        informative.append(name)
    for j in range(n_noise_meta):
        meta[f"noise_{j + 1}"] = rng.standard_normal(n_genes)
    meta_features = pd.DataFrame(meta, index=pd.Index(genes, name="gene"))

    pathways = {t: [str(genes[i]) for i in p] for t, p in zip(chosen, pathway_idx)}
    params = dict(
        n_patients=n_patients,
        n_drugs=n_drugs,
        n_genes=n_genes,
        n_pathways=n_pathways,
        n_batches=n_batches,
        n_driving_pathways=n_driving_pathways,
        pathways_per_drug=pathways_per_drug,
        noncoding_frac=noncoding_frac,
        depth=depth,
        depth_sd=depth_sd,
        batch_effect_sd=batch_effect_sd,
        gene_noise=gene_noise,
        pathway_sd=pathway_sd,
        loading_range=[float(loading_range[0]), float(loading_range[1])],
        negative_loading_frac=negative_loading_frac,
        patient_heterogeneity=heterogeneity,
        dispersion_trend={"reference": cal.get("reference", "airway"), "a0": ref["a0"], "a1": ref["a1"]},
        response=response,
        noise_sd=noise_sd,
        drug_effect_sd=drug_effect_sd,
        background_module_size=background_module_size,
        within_pathway_degree=within_pathway_degree,
        nondriving_pathway_degree=nondriving_pathway_degree,
        noise_edge_frac=noise_edge_frac,
        n_informative_meta=n_informative_meta,
        n_noise_meta=n_noise_meta,
        min_pathway_size=min_pathway_size,
        max_pathway_size=max_pathway_size,
        max_pathway_gene_frac=max_pathway_gene_frac,
        library=library,
        gene_set_source=str(gene_set_source),
        seed=int(seed),
    )
    return DrugResponseSimulation(
        counts=counts,
        genes=genes,
        gene_lengths=gene_lengths,
        is_coding=is_coding,
        patients=patients,
        batch=batch,
        drugs=drugs,
        response=response_table,
        pathways=pathways,
        drug_pathways=drug_pathways,
        graph_edges=graph_edges,
        random_graph_edges=random_edges,
        meta_features=meta_features,
        informative_meta=informative,
        gene_importance=importance,
        pathway_expression=pd.DataFrame(z, index=pd.Index(patients, name="patient"), columns=driving_names),
        params=params,
        gene_base_mean=base_mean,
        gene_dispersion=dispersion,
        pathway_loadings={t: loadings[i] for i, t in enumerate(chosen)},
    )


# --------------------------------------------------------------------------------------------------------
# save / load
# --------------------------------------------------------------------------------------------------------
def _write_dir_atomically(outdir: Path, write: Any) -> None:
    """Write a directory's files into a temporary sibling, then swap it into place."""
    outdir = Path(outdir)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".tmp", dir=outdir.parent))
    try:
        write(tmp)
        if outdir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".old", dir=outdir.parent))
            os.replace(outdir, old / "d")
            os.replace(tmp, outdir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _edges_frame(edges: np.ndarray, genes: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"gene_a": genes[edges[:, 0]], "gene_b": genes[edges[:, 1]], "weight": 1.0})


def save_simulation(sim: LDASimulation | DrugResponseSimulation, outdir: str | os.PathLike) -> None:
    """Save a simulation as a directory of plain files, atomically (complete directory or none).

    Files, drug-response simulation:
        ``counts.npz`` (counts, gene_lengths, is_coding), ``genes.tsv`` (gene, length, is_coding, importance,
        degree), ``samples.tsv`` (patient, batch), ``response.tsv`` (patient, drug, response),
        ``drug_pathways.tsv`` (drug, pathway, weight), ``pathways.tsv`` (pathway, gene),
        ``graph_edges.tsv`` / ``random_graph_edges.tsv`` (gene_a, gene_b, weight), ``meta_features.tsv``
        (gene + one column per meta-feature), ``pathway_expression.tsv``, ``truth.json``.
    Files, LDA simulation:
        ``counts.npz`` (counts, labels, class_pathways, ground_truth, pathway_indptr, pathway_indices,
        gene_names), ``truth.json``.

    Parameters
    ----------
    sim : LDASimulation or DrugResponseSimulation
    outdir : path-like
        Output directory; replaced if it exists.
    """
    from ..io import save_json, save_npz, save_table

    if isinstance(sim, LDASimulation):

        def write(d: Path) -> None:
            indptr, indices = _ragged(sim.pathway_genes)
            save_npz(
                d / "counts.npz",
                counts=sim.counts,
                labels=sim.labels,
                class_pathways=sim.class_pathways,
                ground_truth=sim.ground_truth,
                pathway_indptr=indptr,
                pathway_indices=indices,
                gene_names=sim.gene_names.astype(str),
            )
            save_json({"kind": sim.kind, "params": sim.params}, d / "truth.json")

    elif isinstance(sim, DrugResponseSimulation):

        def write(d: Path) -> None:
            save_npz(d / "counts.npz", counts=sim.counts, gene_lengths=sim.gene_lengths, is_coding=sim.is_coding)
            save_table(sim.gene_table(), d / "genes.tsv")
            save_table(sim.sample_sheet(), d / "samples.tsv")
            save_table(sim.response, d / "response.tsv")
            save_table(sim.drug_pathways, d / "drug_pathways.tsv")
            save_table(sim.pathway_table(), d / "pathways.tsv")
            save_table(_edges_frame(sim.graph_edges, sim.genes), d / "graph_edges.tsv")
            save_table(_edges_frame(sim.random_graph_edges, sim.genes), d / "random_graph_edges.tsv")
            save_table(sim.meta_features.reset_index(), d / "meta_features.tsv")
            save_table(sim.pathway_expression.reset_index(), d / "pathway_expression.tsv")
            save_json(
                {
                    "kind": sim.kind,
                    "params": sim.params,
                    "informative_meta": list(sim.informative_meta),
                    "noise_meta": sim.noise_meta,
                    "driving_pathways": sim.driving_pathways,
                    "drugs": sim.drugs.tolist(),
                    "pathways": list(sim.pathways),
                },
                d / "truth.json",
            )

    else:
        raise TypeError(f"save_simulation: expected LDASimulation or DrugResponseSimulation, got {type(sim).__name__}")
    _write_dir_atomically(Path(outdir), write)


def load_simulation(path: str | os.PathLike) -> LDASimulation | DrugResponseSimulation:
    """Load a simulation written by :func:`save_simulation`.

    Raises
    ------
    FileNotFoundError
        If the directory or one of its files is missing (the message names the file).
    ValueError
        If the files disagree (e.g. the sample sheet does not match the count matrix).
    """
    d = Path(path)
    truth_path = d / "truth.json"
    if not truth_path.exists():
        raise FileNotFoundError(f"simulation directory {d} has no truth.json (was it written by save_simulation?)")
    truth = read_json(truth_path)
    kind = truth.get("kind")
    if kind == LDASimulation.kind:
        arr = load_npz(
            d / "counts.npz",
            required=(
                "counts",
                "labels",
                "class_pathways",
                "ground_truth",
                "pathway_indptr",
                "pathway_indices",
                "gene_names",
            ),
        )
        return LDASimulation(
            counts=arr["counts"],
            labels=arr["labels"],
            pathway_genes=_split_ragged(arr["pathway_indptr"], arr["pathway_indices"]),
            class_pathways=arr["class_pathways"],
            ground_truth=arr["ground_truth"],
            gene_names=arr["gene_names"],
            params=truth.get("params", {}),
        )
    if kind != DrugResponseSimulation.kind:
        raise ValueError(f"{truth_path}: unknown simulation kind {kind!r}")
    arr = load_npz(d / "counts.npz", required=("counts", "gene_lengths", "is_coding"))
    genes_t = read_table(d / "genes.tsv", required=("gene", "length", "is_coding", "importance"))
    samples = read_table(d / "samples.tsv", required=("patient", "batch"))
    counts = arr["counts"]
    if counts.shape != (len(samples), len(genes_t)):
        raise ValueError(
            f"{d}: counts.npz is {counts.shape[0]} × {counts.shape[1]} but samples.tsv has {len(samples)} rows and "
            f"genes.tsv {len(genes_t)} rows"
        )
    genes = genes_t["gene"].astype(str).to_numpy()
    gidx = {g: i for i, g in enumerate(genes)}

    def edges(name: str) -> np.ndarray:
        e = read_table(d / name, required=("gene_a", "gene_b"))
        unknown = set(e["gene_a"].astype(str)).union(e["gene_b"].astype(str)) - set(gidx)
        if unknown:
            raise ValueError(f"{d / name}: genes not in genes.tsv, e.g. {sorted(unknown)[:5]}")
        return np.array(
            [[gidx[a], gidx[b]] for a, b in zip(e["gene_a"].astype(str), e["gene_b"].astype(str))], dtype=np.int64
        ).reshape(-1, 2)

    pw = read_table(d / "pathways.tsv", required=("pathway", "gene"))
    pathways = {t: g["gene"].astype(str).tolist() for t, g in pw.groupby("pathway", sort=False)}
    pathways = {t: pathways.get(t, []) for t in truth.get("pathways", list(pathways))}
    loadings = None
    if "loading" in pw.columns:
        lg = {t: g["loading"].to_numpy(float) for t, g in pw.groupby("pathway", sort=False)}
        loadings = {t: lg.get(t, np.zeros(0)) for t in pathways}
    meta = read_table(d / "meta_features.tsv", required=("gene",)).set_index("gene")
    pexpr = read_table(d / "pathway_expression.tsv", required=("patient",)).set_index("patient")
    return DrugResponseSimulation(
        counts=counts,
        genes=genes,
        gene_lengths=arr["gene_lengths"],
        is_coding=arr["is_coding"].astype(bool),
        patients=samples["patient"].astype(str).to_numpy(),
        batch=samples["batch"].astype(str).to_numpy(),
        drugs=np.array(truth.get("drugs", []), dtype=str),
        response=read_table(d / "response.tsv", required=("patient", "drug", "response")),
        pathways=pathways,
        drug_pathways=read_table(d / "drug_pathways.tsv", required=("drug", "pathway", "weight")),
        graph_edges=edges("graph_edges.tsv"),
        random_graph_edges=edges("random_graph_edges.tsv"),
        meta_features=meta,
        informative_meta=list(truth.get("informative_meta", [])),
        gene_importance=genes_t["importance"].to_numpy(dtype=float),
        pathway_expression=pexpr,
        params=truth.get("params", {}),
        gene_base_mean=genes_t["base_mean"].to_numpy(float) if "base_mean" in genes_t.columns else None,
        gene_dispersion=genes_t["dispersion"].to_numpy(float) if "dispersion" in genes_t.columns else None,
        pathway_loadings=loadings,
    )
