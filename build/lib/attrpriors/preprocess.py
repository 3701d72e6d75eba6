"""RNA-seq preprocessing (Erion et al. supplement 7.1) and patient-level splits.

Pipeline, each step a small function that :func:`preprocess_counts` chains:

1. :func:`counts_to_fpkm`: FPKM = X·10⁹ / (N·l), N the sample's total count over all genes, l the gene's
   effective (exon) length;
2. :func:`filter_protein_coding`: keep protein-coding genes;
3. :func:`filter_zero_fraction`: drop genes with more than 70 % zeros across samples;
4. :func:`log2_transform`: log2(x + 1);
5. :func:`standardize`: each gene to mean 0 / variance 1 across samples (constant genes dropped first);
6. :func:`combat`: ComBat batch correction with ``inmoose.pycombat.pycombat_norm``, after
   :func:`drop_zero_residual_variance` (one gene with zero residual variance turns pycombat's whole output
   into NaN).

Inputs are validated at the boundary: negative or non-integer counts, NaNs, duplicate gene or sample ids,
genes without lengths, batches with a single sample and sample sheets that do not match the matrix each
raise a ``ValueError`` naming the problem and the file (pass the file names as ``*_source`` arguments).

Also here: :func:`split_by_group` (no patient in two splits) and :func:`pca_batch_silhouette` (PCA and batch
silhouette before / after ComBat, as a tidy table for :func:`attrpriors.plots.plot_pca_combat`). The
bundled pasilla data set is loaded by :func:`attrpriors.data.bundled_rnaseq.pasilla_dataset`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .stats import zscore

__all__ = [
    "PreprocessResult",
    "validate_counts",
    "align_gene_annotation",
    "align_batch",
    "check_sample_sheet",
    "counts_to_fpkm",
    "filter_protein_coding",
    "filter_zero_fraction",
    "log2_transform",
    "drop_constant_genes",
    "standardize",
    "drop_zero_residual_variance",
    "combat",
    "preprocess_counts",
    "split_by_group",
    "batch_silhouette",
    "pca_batch_silhouette",
]


def _examples(items: Iterable, k: int = 5) -> list:
    out = []
    for x in items:
        out.append(x.item() if hasattr(x, "item") else x)
        if len(out) == k:
            break
    return out


# --------------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------------
def validate_counts(counts: pd.DataFrame, source: str = "counts") -> pd.DataFrame:
    """Check a samples × genes count matrix and return it as float64.

    Parameters
    ----------
    counts : pandas.DataFrame
        Raw read counts, samples in rows, genes in columns.
    source : str
        Name of the file the matrix came from, used in error messages.

    Returns
    -------
    pandas.DataFrame
        The same matrix as float64.

    Raises
    ------
    ValueError
        On an empty matrix, duplicate gene or sample ids, NaNs, negative or non-integer counts.
    TypeError
        If ``counts`` is not a DataFrame.
    """
    if not isinstance(counts, pd.DataFrame):
        raise TypeError(f"{source}: counts must be a samples × genes pandas DataFrame, got {type(counts).__name__}")
    if counts.shape[0] == 0 or counts.shape[1] == 0:
        raise ValueError(f"{source}: empty count matrix ({counts.shape[0]} samples × {counts.shape[1]} genes)")
    if counts.columns.has_duplicates:
        dup = counts.columns[counts.columns.duplicated()].unique()
        raise ValueError(f"{source}: {len(dup)} duplicate gene id(s), e.g. {_examples(dup)}")
    if counts.index.has_duplicates:
        dup = counts.index[counts.index.duplicated()].unique()
        raise ValueError(f"{source}: {len(dup)} duplicate sample id(s), e.g. {_examples(dup)}")
    try:
        x = counts.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: counts are not numeric ({err})") from err
    nan = np.isnan(x)
    if nan.any():
        r, c = np.argwhere(nan)[0]
        raise ValueError(
            f"{source}: {int(nan.sum())} NaN count(s), first at sample {counts.index[r]!r}, gene {counts.columns[c]!r}"
        )
    if (x < 0).any():
        r, c = np.argwhere(x < 0)[0]
        raise ValueError(
            f"{source}: {int((x < 0).sum())} negative count(s), first {x[r, c]} at sample {counts.index[r]!r}, "
            f"gene {counts.columns[c]!r}"
        )
    frac = x != np.round(x)
    if frac.any():
        r, c = np.argwhere(frac)[0]
        raise ValueError(
            f"{source}: {int(frac.sum())} non-integer count(s), first {x[r, c]} at sample {counts.index[r]!r}, "
            f"gene {counts.columns[c]!r}; raw read counts are expected (not FPKM/TPM/normalised values)"
        )
    return pd.DataFrame(x, index=counts.index, columns=counts.columns)


def align_gene_annotation(
    values: pd.Series | Sequence | np.ndarray,
    genes: pd.Index,
    name: str,
    source: str = "gene annotation",
) -> pd.Series:
    """Align a per-gene annotation (lengths, coding flags) with the genes of a matrix.

    A Series is matched by gene id; an array must have one entry per gene, in order.

    Raises
    ------
    ValueError
        If genes have no value (``"genes without <name>"``), the annotation has duplicate ids or NaNs.
    """
    if isinstance(values, pd.Series):
        if values.index.has_duplicates:
            dup = values.index[values.index.duplicated()].unique()
            raise ValueError(f"{source}: duplicate gene id(s) in {name}, e.g. {_examples(dup)}")
        missing = genes.difference(values.index)
        if len(missing):
            raise ValueError(
                f"{source}: {len(missing)} gene(s) without {name}, e.g. {_examples(missing)}; every gene in the count "
                f"matrix needs a {name} value"
            )
        out = values.reindex(genes)
    else:
        arr = np.asarray(values)
        if arr.shape != (len(genes),):
            raise ValueError(f"{source}: {name} has shape {arr.shape}, expected one value per gene ({len(genes)})")
        out = pd.Series(arr, index=genes)
    if out.isna().any():
        raise ValueError(
            f"{source}: {int(out.isna().sum())} gene(s) without {name} (NaN), e.g. "
            f"{_examples(out.index[out.isna()])}"
        )
    return out.rename(name)


def align_batch(batch: pd.Series | Sequence | np.ndarray, samples: pd.Index, source: str = "sample sheet") -> pd.Series:
    """Align batch labels with the samples of a matrix and check each batch has at least two samples.

    Raises
    ------
    ValueError
        If samples lack a batch, a label is missing, or a batch has a single sample (ComBat cannot estimate its
        variance).
    """
    if isinstance(batch, pd.Series):
        missing = samples.difference(batch.index)
        if len(missing):
            raise ValueError(f"{source}: {len(missing)} sample(s) without a batch, e.g. {_examples(missing)}")
        b = batch.reindex(samples)
    else:
        arr = np.asarray(batch)
        if arr.shape != (len(samples),):
            raise ValueError(f"{source}: batch has {arr.shape} entries, expected one per sample ({len(samples)})")
        b = pd.Series(arr, index=samples)
    if b.isna().any():
        raise ValueError(f"{source}: missing batch label for sample(s) {_examples(b.index[b.isna()])}")
    b = b.astype(str).rename("batch")
    sizes = b.value_counts()
    single = sizes.index[sizes < 2]
    if len(single):
        raise ValueError(
            f"{source}: batch(es) {sorted(single.tolist())} have a single sample "
            f"({[b.index[b == s][0] for s in sorted(single)]}); ComBat needs at least two samples per batch — merge "
            "or drop those samples"
        )
    return b


def check_sample_sheet(
    counts: pd.DataFrame,
    sample_sheet: pd.DataFrame,
    sample_col: str = "sample",
    counts_source: str = "counts",
    sheet_source: str = "sample sheet",
) -> pd.DataFrame:
    """Check that a sample sheet describes exactly the samples of a count matrix; return it in matrix order.

    Parameters
    ----------
    counts : pandas.DataFrame
        Samples × genes matrix.
    sample_sheet : pandas.DataFrame
        One row per sample, with the sample id in ``sample_col``.
    sample_col : str
        Column holding the sample ids.
    counts_source, sheet_source : str
        File names used in error messages.

    Returns
    -------
    pandas.DataFrame
        The sample sheet indexed by sample id, rows in the order of ``counts``.

    Raises
    ------
    ValueError
        If the column is missing, ids repeat, or the two files list different samples.
    """
    if sample_col not in sample_sheet.columns:
        raise ValueError(f"{sheet_source}: no column {sample_col!r}; columns are {list(sample_sheet.columns)}")
    ids = sample_sheet[sample_col].astype(str)
    if ids.duplicated().any():
        raise ValueError(f"{sheet_source}: duplicate sample id(s) {_examples(ids[ids.duplicated()].unique())}")
    cnt_ids = pd.Index(counts.index.astype(str))
    only_counts = cnt_ids.difference(ids)
    only_sheet = pd.Index(ids).difference(cnt_ids)
    if len(only_counts) or len(only_sheet):
        raise ValueError(
            f"sample sheet {sheet_source} does not match count matrix {counts_source}: {len(only_counts)} sample(s) "
            f"only in the matrix (e.g. {_examples(only_counts)}), {len(only_sheet)} only in the sheet "
            f"(e.g. {_examples(only_sheet)})"
        )
    return sample_sheet.assign(**{sample_col: ids}).set_index(sample_col).loc[cnt_ids]


# --------------------------------------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------------------------------------
def counts_to_fpkm(counts: pd.DataFrame, gene_lengths: pd.Series | np.ndarray, source: str = "counts") -> pd.DataFrame:
    """Fragments per kilobase of exon per million mapped reads: FPKM = X·10⁹ / (N·l).

    Parameters
    ----------
    counts : pandas.DataFrame
        Samples × genes raw counts.
    gene_lengths : pandas.Series or array
        Effective (exon) length of each gene in bases, by gene id or in column order.
    source : str
        Name used in error messages.

    Returns
    -------
    pandas.DataFrame
        FPKM, same shape as ``counts``. N is each sample's total count over *all* genes of the matrix.

    Raises
    ------
    ValueError
        For non-positive lengths or samples without reads.
    """
    lengths = align_gene_annotation(gene_lengths, counts.columns, "length", source).astype(float)
    if (lengths <= 0).any():
        raise ValueError(f"{source}: non-positive gene length(s) for {_examples(lengths.index[lengths <= 0])}")
    x = counts.to_numpy(dtype=np.float64)
    total = x.sum(axis=1)
    if (total <= 0).any():
        raise ValueError(f"{source}: sample(s) with no reads: {_examples(counts.index[total <= 0])}")
    fpkm = x * 1e9 / (total[:, None] * lengths.to_numpy()[None, :])
    return pd.DataFrame(fpkm, index=counts.index, columns=counts.columns)


def filter_protein_coding(
    df: pd.DataFrame, coding_mask: pd.Series | np.ndarray, source: str = "gene annotation"
) -> pd.DataFrame:
    """Keep the protein-coding genes (``coding_mask`` True), by gene id or in column order."""
    mask = align_gene_annotation(coding_mask, df.columns, "coding flag", source).astype(bool)
    return df.loc[:, mask.to_numpy()]


def filter_zero_fraction(df: pd.DataFrame, max_zero_frac: float = 0.7) -> pd.DataFrame:
    """Drop genes where more than ``max_zero_frac`` of the samples are exactly zero."""
    zero_frac = (df.to_numpy() == 0).mean(axis=0)
    return df.loc[:, zero_frac <= max_zero_frac]


def log2_transform(df: pd.DataFrame, pseudocount: float = 1.0) -> pd.DataFrame:
    """log2(x + ``pseudocount``)."""
    return pd.DataFrame(np.log2(df.to_numpy() + pseudocount), index=df.index, columns=df.columns)


def drop_constant_genes(df: pd.DataFrame, tol: float = 1e-12) -> pd.DataFrame:
    """Drop genes whose standard deviation across samples is at most ``tol`` (they cannot be standardized)."""
    return df.loc[:, df.to_numpy().std(axis=0) > tol]


def standardize(df: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Standardize each gene: (x − μ) / σ, with μ, σ (ddof 0) from ``reference`` (e.g. the training samples).

    Parameters
    ----------
    df : pandas.DataFrame
        Samples × genes.
    reference : pandas.DataFrame, optional
        Samples whose statistics are used; defaults to ``df`` itself. Must have the same genes.

    Returns
    -------
    pandas.DataFrame
        Standardized values; a gene constant in ``reference`` gets σ = 1 (drop such genes first with
        :func:`drop_constant_genes`).
    """
    ref = df if reference is None else reference
    if reference is not None and not ref.columns.equals(df.columns):
        raise ValueError("standardize: reference and data have different genes")
    z = zscore(df.to_numpy(dtype=np.float64), ref.to_numpy(dtype=np.float64))
    return pd.DataFrame(z, index=df.index, columns=df.columns)


def _design(batch: pd.Series, covariates: pd.DataFrame | None) -> np.ndarray:
    parts = [pd.get_dummies(batch, dtype=float).to_numpy()]
    if covariates is not None:
        parts.append(pd.get_dummies(covariates.astype(str), drop_first=True, dtype=float).to_numpy())
    return np.concatenate(parts, axis=1)


def drop_zero_residual_variance(
    df: pd.DataFrame,
    batch: pd.Series,
    covariates: pd.DataFrame | None = None,
    tol: float = 1e-10,
) -> tuple[pd.DataFrame, list[str]]:
    """Drop the genes ComBat cannot handle: zero residual variance or zero variance within a batch.

    The residual variance is the mean squared residual of the least-squares fit of the gene on the design
    (batch indicators plus covariate dummies), which is ComBat's pooled variance; a zero value divides by zero
    and the empirical-Bayes priors, pooled over genes, then turn every gene into NaN. A gene constant within one
    batch has a zero batch-scale estimate, which breaks pycombat's convergence check for the whole batch.

    Parameters
    ----------
    df : pandas.DataFrame
        Samples × genes (after log2 / standardization).
    batch : pandas.Series
        Batch label per sample (index = samples of ``df``).
    covariates : pandas.DataFrame, optional
        Categorical covariates per sample to protect.
    tol : float
        Variances at or below ``tol`` times the gene's total variance (or 1e-300) count as zero.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The kept genes and the ids of the dropped genes.
    """
    x = df.to_numpy(dtype=np.float64)
    d = _design(batch, covariates)
    coef, *_ = np.linalg.lstsq(d, x, rcond=None)
    resid = x - d @ coef
    rvar = (resid**2).mean(axis=0)
    scale = np.maximum(x.var(axis=0), 1e-300)
    bad = rvar <= tol * scale
    b = batch.to_numpy()
    for level in pd.unique(b):
        sel = b == level
        bad |= x[sel].var(axis=0) <= tol * scale
    dropped = df.columns[bad].astype(str).tolist()
    return df.loc[:, ~bad], dropped


def combat(
    df: pd.DataFrame,
    batch: pd.Series | Sequence,
    covariates: pd.DataFrame | pd.Series | None = None,
    source: str = "sample sheet",
) -> pd.DataFrame:
    """ComBat batch correction of a samples × genes matrix with ``inmoose.pycombat.pycombat_norm``.

    Drop genes with zero residual variance first (:func:`drop_zero_residual_variance`); this function
    checks the output for NaN and raises instead of returning it.

    Parameters
    ----------
    df : pandas.DataFrame
        Samples × genes, log-scale.
    batch : pandas.Series or sequence
        Batch per sample (each batch with at least two samples).
    covariates : pandas.DataFrame or Series, optional
        Categorical covariates whose signal is kept (e.g. the condition).
    source : str
        Name of the sample sheet, used in error messages.

    Returns
    -------
    pandas.DataFrame
        Batch-corrected matrix, same shape. With a single batch the input is returned unchanged (a warning is
        issued).

    Raises
    ------
    ValueError
        On single-sample batches, covariates confounded with batch, or a NaN result.
    """
    from inmoose.pycombat import pycombat_norm

    b = align_batch(batch, df.index, source)
    if b.nunique() < 2:
        warnings.warn(f"{source}: only one batch ({b.iloc[0]!r}); ComBat skipped", stacklevel=2)
        return df.copy()
    cov = None
    if covariates is not None:
        cov = covariates.to_frame() if isinstance(covariates, pd.Series) else covariates
        cov = cov.reindex(df.index) if set(df.index) <= set(cov.index) else cov
        if len(cov) != len(df):
            raise ValueError(f"{source}: covariates have {len(cov)} rows for {len(df)} samples")
        if cov.isna().any().any():
            raise ValueError(f"{source}: missing covariate values in columns {cov.columns[cov.isna().any()].tolist()}")
        d = _design(b, cov.astype(str))
        if np.linalg.matrix_rank(d) < d.shape[1]:
            raise ValueError(
                f"{source}: covariates {list(cov.columns)} are confounded with batch; ComBat cannot separate them"
            )
        cov = cov.astype(str).reset_index(drop=True)
    x = df.to_numpy(dtype=np.float64)
    genes = [str(g) for g in df.columns]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=PendingDeprecationWarning)
        out = pycombat_norm(pd.DataFrame(x.T, index=genes, columns=range(len(df))), b.tolist(), covar_mod=cov)
    y = np.asarray(out, dtype=np.float64).T
    if np.isnan(y).any():
        bad = np.isnan(y).any(axis=0)
        raise ValueError(
            f"ComBat returned NaN for {int(bad.sum())} of {len(genes)} genes (e.g. {_examples(np.array(genes)[bad])}); "
            "drop zero-residual-variance genes first (drop_zero_residual_variance)"
        )
    return pd.DataFrame(y, index=df.index, columns=df.columns)


# --------------------------------------------------------------------------------------------------------
# pipeline
# --------------------------------------------------------------------------------------------------------
@dataclass
class PreprocessResult:
    """Output of :func:`preprocess_counts`.

    Attributes
    ----------
    expression : pandas.DataFrame
        Samples × genes, preprocessed (batch-corrected if a batch was given).
    report : pandas.DataFrame
        One row per step: ``step, n_genes_in, n_genes_out, n_dropped, note``.
    before_combat : pandas.DataFrame or None
        The standardized matrix just before ComBat, restricted to the genes ComBat kept (for before/after
        comparisons); None without a batch.
    """

    expression: pd.DataFrame
    report: pd.DataFrame
    before_combat: pd.DataFrame | None = None
    dropped: dict = field(default_factory=dict)


def preprocess_counts(
    counts_df: pd.DataFrame,
    gene_lengths: pd.Series | np.ndarray,
    coding_mask: pd.Series | np.ndarray | None,
    batch: pd.Series | Sequence | None,
    covariates: pd.DataFrame | pd.Series | None = None,
    max_zero_frac: float = 0.7,
    pseudocount: float = 1.0,
    counts_source: str = "counts",
    genes_source: str = "gene annotation",
    samples_source: str = "sample sheet",
) -> PreprocessResult:
    """Counts → FPKM → protein-coding → zero filter → log2 → standardize → ComBat.

    Parameters
    ----------
    counts_df : pandas.DataFrame
        Samples × genes raw counts (validated: non-negative integers, no NaN, unique ids).
    gene_lengths : pandas.Series or array
        Exon length per gene (by id, or in column order); every gene needs one.
    coding_mask : pandas.Series or array or None
        True for protein-coding genes; None skips the filter (e.g. no biotype annotation).
    batch : pandas.Series or sequence or None
        Sequencing batch per sample; None skips ComBat.
    covariates : pandas.DataFrame or Series, optional
        Categorical covariates ComBat should preserve.
    max_zero_frac : float
        Genes with a larger fraction of zero samples are dropped (paper: 0.7).
    pseudocount : float
        log2(x + pseudocount).
    counts_source, genes_source, samples_source : str
        File names for error messages.

    Returns
    -------
    PreprocessResult
        ``.expression`` (the matrix), ``.report`` (genes dropped by each step), ``.before_combat``.
    """
    rows: list[tuple[str, int, int, str]] = []
    dropped: dict[str, list[str]] = {}

    def log(step: str, before: pd.DataFrame, after: pd.DataFrame, note: str = "") -> None:
        rows.append((step, before.shape[1], after.shape[1], note))
        if after.shape[1] != before.shape[1]:
            dropped[step] = before.columns.difference(after.columns).astype(str).tolist()

    x = validate_counts(counts_df, counts_source)
    b = align_batch(batch, x.index, samples_source) if batch is not None else None
    rows.append(("input", x.shape[1], x.shape[1], f"{x.shape[0]} samples"))
    fpkm = counts_to_fpkm(x, gene_lengths, genes_source)
    log("fpkm", x, fpkm, "X*1e9/(N*l)")
    if coding_mask is not None:
        coding = filter_protein_coding(fpkm, coding_mask, genes_source)
        log("protein_coding", fpkm, coding)
    else:
        coding = fpkm
        log("protein_coding", fpkm, coding, "skipped: no coding annotation")
    nz = filter_zero_fraction(coding, max_zero_frac)
    log("zero_fraction", coding, nz, f"dropped genes with > {max_zero_frac:.0%} zeros")
    lg = log2_transform(nz, pseudocount)
    log("log2", nz, lg, f"log2(x+{pseudocount:g})")
    nc = drop_constant_genes(lg)
    st = standardize(nc)
    log("standardize", lg, st, "constant genes dropped; mean 0, sd 1 per gene")
    before = None
    if b is not None and b.nunique() >= 2:
        kept, _ = drop_zero_residual_variance(st, b, _as_frame(covariates, st.index))
        log("combat_residual_variance", st, kept, "zero residual / within-batch variance")
        out = combat(kept, b, covariates, samples_source)
        log("combat", kept, out, f"{b.nunique()} batches")
        before = kept
    else:
        out = st
        rows.append(("combat", st.shape[1], st.shape[1], "skipped: no batch" if b is None else "skipped: one batch"))
    report = pd.DataFrame(rows, columns=["step", "n_genes_in", "n_genes_out", "note"])
    report.insert(3, "n_dropped", report["n_genes_in"] - report["n_genes_out"])
    return PreprocessResult(expression=out, report=report, before_combat=before, dropped=dropped)


def _as_frame(cov: pd.DataFrame | pd.Series | None, index: pd.Index) -> pd.DataFrame | None:
    if cov is None:
        return None
    cov = cov.to_frame() if isinstance(cov, pd.Series) else cov
    if set(index) <= set(cov.index):
        return cov.reindex(index)
    return cov.set_axis(index)


# --------------------------------------------------------------------------------------------------------
# splits
# --------------------------------------------------------------------------------------------------------
def group_split_sizes(n: int, test_frac: float, val_frac: float) -> tuple[int, int]:
    """``(test, validation)`` groups of :func:`split_by_group` out of ``n`` (the rest are training groups)."""
    n_test = max(1, int(round(test_frac * n))) if test_frac > 0 else 0
    n_val = max(1, int(round(val_frac * (n - n_test)))) if val_frac > 0 else 0
    if n - n_test - n_val < 1:
        raise ValueError(
            f"split_by_group: {n} groups cannot give {n_test} test + {n_val} validation + >= 1 train group"
        )
    return n_test, n_val


def split_by_group(
    groups: Sequence | np.ndarray | pd.Series,
    test_frac: float = 0.2,
    val_frac: float = 0.2,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Split rows into train / validation / test so that no group (patient) is in two splits.

    ``test_frac`` of the groups go to test; ``val_frac`` of the *remaining* groups go to validation (Erion et
    al.: 20 % of patients test, 20 % of the rest validation). Group counts are rounded, with at least one group
    in a split whose fraction is positive.

    Parameters
    ----------
    groups : sequence
        Group (patient) of each row.
    test_frac, val_frac : float
        Fractions in [0, 1).
    seed : int
        Seed of the group permutation.

    Returns
    -------
    dict
        ``{"train", "val", "test"}`` → sorted row positions (int64 arrays).

    Raises
    ------
    ValueError
        On fractions outside [0, 1) or too few groups for the requested splits.
    """
    for name, f in (("test_frac", test_frac), ("val_frac", val_frac)):
        if not 0 <= f < 1:
            raise ValueError(f"split_by_group: {name} must be in [0, 1), got {f}")
    g = pd.Series(np.asarray(groups))
    if g.isna().any():
        raise ValueError("split_by_group: missing group label(s)")
    uniq = np.array(sorted(pd.unique(g).tolist(), key=str), dtype=object)
    n = len(uniq)
    n_test, n_val = group_split_sizes(n, test_frac, val_frac)
    perm = uniq[np.random.default_rng(seed).permutation(n)]
    test_g, val_g = set(perm[:n_test]), set(perm[n_test : n_test + n_val])
    split = np.where(g.isin(test_g), "test", np.where(g.isin(val_g), "val", "train"))
    return {k: np.flatnonzero(split == k).astype(np.int64) for k in ("train", "val", "test")}


# --------------------------------------------------------------------------------------------------------
# batch separation: PCA + silhouette
# --------------------------------------------------------------------------------------------------------
def batch_silhouette(x: np.ndarray | pd.DataFrame, batch: Sequence, n_components: int = 2) -> float:
    """Silhouette of the batch labels on the first ``n_components`` principal components.

    1 = batches perfectly separated, about 0 = mixed. NaN when undefined (one batch or too few samples).
    """
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score

    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(batch).astype(str)
    k = len(np.unique(labels))
    if k < 2 or k >= len(labels):
        return float("nan")
    nc = min(n_components, x.shape[0], x.shape[1])
    pcs = PCA(n_components=nc, svd_solver="auto", random_state=0).fit_transform(x - x.mean(axis=0))
    return float(silhouette_score(pcs, labels))


def pca_batch_silhouette(
    before: pd.DataFrame,
    after: pd.DataFrame,
    batch: pd.Series | Sequence,
    condition: pd.Series | Sequence | None = None,
    n_components: int = 2,
) -> pd.DataFrame:
    """PCA of the matrix before and after ComBat, with the batch silhouette of each, as a tidy table.

    Parameters
    ----------
    before, after : pandas.DataFrame
        Samples × genes matrices (same samples; genes may differ).
    batch : pandas.Series or sequence
        Batch label per sample (index = samples, or in row order).
    condition : pandas.Series or sequence, optional
        Biological condition per sample (for colouring).
    n_components : int
        Principal components computed; the silhouette uses all of them, PC1/PC2 are reported for plotting.

    Returns
    -------
    pandas.DataFrame
        One row per (stage, sample): ``stage`` ("before ComBat" / "after ComBat"), ``sample``, ``PC1``,
        ``PC2``, ``batch``, ``condition``, ``silhouette`` (batch silhouette of that stage), ``var_PC1``,
        ``var_PC2`` (explained variance ratios).
    """
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score

    def align(v: pd.Series | Sequence | None, idx: pd.Index, name: str) -> np.ndarray:
        if v is None:
            return np.array([""] * len(idx))
        if isinstance(v, pd.Series) and set(idx) <= set(v.index):
            return v.reindex(idx).astype(str).to_numpy()
        arr = np.asarray(v).astype(str)
        if len(arr) != len(idx):
            raise ValueError(f"pca_batch_silhouette: {name} has {len(arr)} labels for {len(idx)} samples")
        return arr

    if not before.index.equals(after.index):
        raise ValueError("pca_batch_silhouette: 'before' and 'after' must have the same samples in the same order")
    b = align(batch, before.index, "batch")
    c = align(condition, before.index, "condition")
    frames = []
    for stage, m in (("before ComBat", before), ("after ComBat", after)):
        x = m.to_numpy(dtype=np.float64)
        nc = max(2, min(n_components, x.shape[0], x.shape[1]))
        pca = PCA(n_components=nc, svd_solver="auto", random_state=0)
        pcs = pca.fit_transform(x - x.mean(axis=0))
        k = len(np.unique(b))
        sil = float(silhouette_score(pcs[:, :n_components], b)) if 2 <= k < len(b) else float("nan")
        frames.append(
            pd.DataFrame(
                {
                    "stage": stage,
                    "sample": m.index.astype(str),
                    "PC1": pcs[:, 0],
                    "PC2": pcs[:, 1],
                    "batch": b,
                    "condition": c,
                    "silhouette": sil,
                    "var_PC1": pca.explained_variance_ratio_[0],
                    "var_PC2": pca.explained_variance_ratio_[1],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
