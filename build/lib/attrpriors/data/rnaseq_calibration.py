"""Calibration of the RNA-seq count simulator on real counts (inmoose's airway and pasilla) with pydeseq2.

:func:`fit_dispersion_trend` runs pydeseq2's size factors, gene-wise dispersions and parametric trend
(dispersion = a0 + a1 / mean of normalised counts, DESeq2's ``fitType="parametric"``) on one count matrix.
:func:`calibrate` fits it on both bundled real data sets and returns a small JSON-able dict: each data set's trend
coefficients, the distribution of its genes' mean normalised counts (quantiles, the simulator draws its gene
means from them), library sizes, zero fractions and a binned mean–dispersion summary for the simulator-vs-real
figure. The workflow writes it once (rule ``rnaseq_calibration``, ~35 s per data set) and every simulation job
reads the file; :data:`BUNDLED_CALIBRATION` is a copy of that file from a run, used when no file is passed.

The simulator's independent biological noise is the airway trend with its asymptote (the biological dispersion)
times :data:`PATIENT_HETEROGENEITY` (an assumption, see its comment).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "PATIENT_HETEROGENEITY",
    "REFERENCE_DATASET",
    "BUNDLED_CALIBRATION",
    "real_count_data",
    "fit_dispersion_trend",
    "calibrate",
    "load_calibration",
    "dispersion_from_trend",
]

#: Patient-heterogeneity factor multiplying the cell-line dispersion trend. ASSUMPTION: airway (4 airway smooth
#: muscle cell lines) and pasilla (Drosophila S2 cells) are near-isogenic: their fitted asymptotic dispersion is
#: about 0.01 (biological coefficient of variation, BCV = sqrt(dispersion), about 0.1). The edgeR User's Guide
#: (Chen, McCarthy, Robinson & Smyth; section "No biological replicates") gives typical BCVs of 0.4 for human data
#: from unrelated individuals, 0.1 for genetically identical model organisms and 0.01 for technical replicates.
#: Patient cohorts are of the first kind: (0.4 / 0.1)^2 = 16. It multiplies the trend's asymptote a0 (the BCV^2
#: of well-expressed genes); the a1 / mean part, extra-Poisson noise of low counts, is kept as fitted.
PATIENT_HETEROGENEITY = 16.0

#: The real data set whose trend drives the simulator (human, like the KEGG genes it simulates).
REFERENCE_DATASET = "airway"

#: A copy of results/rnaseq/calibration.json (rule rnaseq_calibration on config.yaml), for callers without a file.
BUNDLED_CALIBRATION = Path(__file__).with_name("rnaseq_calibration.json")

#: Quantile levels stored for the distribution of log10 mean normalised counts.
_QUANTILES = np.linspace(0.0, 1.0, 201)


def real_count_data(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """One bundled real data set: (samples × genes int counts, sample metadata, pydeseq2 design).

    ``airway``: 8 samples (4 cell lines × dexamethasone), design ``~cell + dex``. ``pasilla``: 7 samples,
    design ``~type + condition`` (library type, knock-down).

    Raises
    ------
    KeyError
        If ``name`` is neither.
    """
    if name == "airway":
        from inmoose.data.airway import airway

        ad = airway()
        meta = ad.obs[["cell", "dex"]].astype(str).copy()
        design = "~cell + dex"
    elif name == "pasilla":
        from inmoose.data.pasilla import pasilla

        ad = pasilla()
        meta = ad.obs[["type", "condition"]].astype(str).copy()
        meta["type"] = meta["type"].str.replace("-", "_")
        design = "~type + condition"
    else:
        raise KeyError(f"unknown real count data set {name!r}; known: airway, pasilla")
    x = ad.X.toarray() if hasattr(ad.X, "toarray") else np.asarray(ad.X)
    counts = pd.DataFrame(np.rint(x).astype(np.int64), index=ad.obs_names.astype(str), columns=ad.var_names.astype(str))
    meta.index = counts.index
    return counts, meta, design


def fit_dispersion_trend(
    counts: pd.DataFrame,
    metadata: pd.DataFrame | None = None,
    design: str = "~1",
    min_total: int = 10,
    n_cpus: int = 1,
) -> dict[str, Any]:
    """pydeseq2's gene-wise dispersions and parametric trend on samples × genes counts.

    Genes with fewer than ``min_total`` reads over all samples are dropped first (as pydeseq2's tutorials do).

    Returns
    -------
    dict
        ``a0``, ``a1`` (trend a0 + a1 / mean), ``mean`` (mean normalised count per kept gene),
        ``genewise`` (gene-wise dispersion estimates), ``fitted`` (trend at each gene's mean),
        ``size_factors``, ``genes`` (kept gene ids).
    """
    import logging

    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference

    logging.getLogger("pydeseq2").setLevel(logging.WARNING)
    counts = counts.loc[:, counts.sum(axis=0) >= min_total]
    if counts.shape[1] < 10:
        raise ValueError(f"fit_dispersion_trend: only {counts.shape[1]} genes have >= {min_total} reads")
    if metadata is None:
        metadata = pd.DataFrame(index=counts.index)
    meta = metadata.copy()
    if design.replace(" ", "") == "~1":
        meta = meta.assign(_all="a")
    dds = DeseqDataSet(
        counts=counts, metadata=meta, design=design, quiet=True, inference=DefaultInference(n_cpus=n_cpus)
    )
    dds.fit_size_factors()
    dds.fit_genewise_dispersions()
    dds.fit_dispersion_trend()
    coeffs = dds.uns["trend_coeffs"]
    return {
        "a0": float(coeffs["a0"]),
        "a1": float(coeffs["a1"]),
        "mean": np.asarray(dds.var["_normed_means"], dtype=float),
        "genewise": np.asarray(dds.var["genewise_dispersions"], dtype=float),
        "fitted": np.asarray(dds.var["fitted_dispersions"], dtype=float),
        "size_factors": np.asarray(dds.obs["size_factors"], dtype=float),
        "genes": np.asarray(counts.columns, dtype=str),
    }


def dispersion_from_trend(mean: np.ndarray, a0: float, a1: float) -> np.ndarray:
    """DESeq2's parametric trend a0 + a1 / mean (mean of normalised counts; means below 0.5 count as 0.5)."""
    return a0 + a1 / np.maximum(np.asarray(mean, dtype=float), 0.5)


def _binned_trend(mean: np.ndarray, disp: np.ndarray, n_bins: int = 30) -> dict[str, list[float]]:
    """Median gene-wise dispersion in log-spaced bins of the mean (for the simulator-vs-real figure)."""
    ok = (mean > 0) & np.isfinite(disp) & (disp > 1e-7)
    lm = np.log10(mean[ok])
    edges = np.linspace(lm.min(), lm.max(), n_bins + 1)
    idx = np.clip(np.digitize(lm, edges) - 1, 0, n_bins - 1)
    centers, med, n = [], [], []
    for b in range(n_bins):
        sel = idx == b
        if sel.sum() >= 5:
            centers.append(float(10 ** ((edges[b] + edges[b + 1]) / 2)))
            med.append(float(np.median(disp[ok][sel])))
            n.append(int(sel.sum()))
    return {"mean": centers, "median_dispersion": med, "n_genes": n}


def count_summary(counts: np.ndarray, min_total: int = 10) -> dict[str, Any]:
    """Library sizes and zero fraction of a samples × genes count matrix (genes with >= ``min_total`` reads)."""
    counts = np.asarray(counts)
    keep = counts.sum(axis=0) >= min_total
    lib = counts.sum(axis=1).astype(float)
    return {
        "n_samples": int(counts.shape[0]),
        "n_genes": int(counts.shape[1]),
        "n_genes_expressed": int(keep.sum()),
        "library_sizes": lib.tolist(),
        "reads_per_expressed_gene": float(np.median(lib) / max(int(keep.sum()), 1)),
        "zero_fraction": float((counts[:, keep] == 0).mean()),
    }


def calibrate(datasets: tuple[str, ...] = ("airway", "pasilla"), n_cpus: int = 1, max_genes: int | None = None,
              seed: int = 0) -> dict[str, Any]:
    """Fit the dispersion trend on each real data set; the simulator's calibration as a JSON-able dict.

    Per data set: ``design``, ``a0``, ``a1``, ``n_genes_fitted`` (genes with >= 10 reads the trend was fitted
    on), ``log10_mean_quantiles`` (201 quantiles of the log10 mean normalised count of all genes with >= 10
    reads: the simulator's gene means), ``log10_mean_quantiles_detected`` (the same over the genes with at least
    one read), ``size_factors``, the count summary of
    :func:`count_summary` and a binned mean–dispersion curve. Top level: ``reference`` (the first data set: the
    one the simulator uses) and ``patient_heterogeneity`` with its source. ``max_genes`` fits on a random subset
    of that many genes with >= 10 reads (the test configuration; None = all).
    """
    out: dict[str, Any] = {
        "reference": datasets[0],
        "patient_heterogeneity": PATIENT_HETEROGENEITY,
        "patient_heterogeneity_source": (
            "assumption: edgeR User's Guide typical BCV 0.4 for human data from unrelated individuals vs 0.1 for "
            "genetically identical model organisms / cell lines; the trend's asymptote a0 times (0.4/0.1)^2 = 16"
        ),
        "method": "pydeseq2 0.5.4: fit_size_factors (ratio), fit_genewise_dispersions, fit_dispersion_trend "
        "(parametric a0 + a1/mean); genes with >= 10 reads"
        + ("" if max_genes is None else f" (random subset of {int(max_genes)})"),
        "datasets": {},
    }
    for name in datasets:
        counts, meta, design = real_count_data(name)
        fitted = counts
        if max_genes is not None:
            expressed = np.flatnonzero(counts.sum(axis=0).to_numpy() >= 10)
            if len(expressed) > max_genes:
                keep = np.sort(np.random.default_rng(seed).choice(expressed, int(max_genes), replace=False))
                fitted = counts.iloc[:, keep]
        fit = fit_dispersion_trend(fitted, meta, design, n_cpus=n_cpus)
        summary = count_summary(counts.to_numpy())
        # gene means over all genes, normalised with the fit's size factors (median of ratios)
        total = counts.sum(axis=0).to_numpy()
        normed = counts.to_numpy(dtype=float) / fit["size_factors"][:, None]
        expressed_mean = normed[:, total >= 10].mean(axis=0)
        detected_mean = normed[:, total >= 1].mean(axis=0)
        out["datasets"][name] = {
            "design": design,
            "a0": fit["a0"],
            "a1": fit["a1"],
            "n_genes_fitted": int(len(fit["mean"])),
            "n_genes_expressed": int(len(expressed_mean)),
            "log10_mean_quantiles": np.quantile(np.log10(expressed_mean), _QUANTILES).tolist(),
            "n_genes_detected": int(len(detected_mean)),
            "log10_mean_quantiles_detected": np.quantile(np.log10(detected_mean), _QUANTILES).tolist(),
            "size_factors": fit["size_factors"].tolist(),
            "binned_trend": _binned_trend(fit["mean"], fit["genewise"]),
            **summary,
        }
    return out


def load_calibration(calibration: str | os.PathLike | Mapping | None = None) -> dict[str, Any]:
    """A calibration dict from a mapping, a JSON path, or (None) the bundled copy.

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    KeyError
        If the reference data set's trend is missing (the message names the file and key).
    """
    if calibration is None:
        calibration = BUNDLED_CALIBRATION
    if isinstance(calibration, Mapping):
        cal, where = dict(calibration), "calibration mapping"
    else:
        path = Path(calibration)
        if not path.exists():
            raise FileNotFoundError(f"RNA-seq calibration file {path} does not exist (rule rnaseq_calibration)")
        from ..io import read_json

        cal, where = read_json(path), str(path)  # names a truncated or corrupt file
    ref = cal.get("reference", REFERENCE_DATASET)
    for key in ("a0", "a1", "log10_mean_quantiles"):
        if key not in cal.get("datasets", {}).get(ref, {}):
            raise KeyError(f"{where}: datasets.{ref}.{key} missing")
    return cal


# ------------------------------------------------------------------------------------------------------------
# simulated vs real: the statistics of the rnaseq_simulator_vs_real table and figure
# ------------------------------------------------------------------------------------------------------------
def log_cpm(counts: np.ndarray, min_total: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """log2(1 + counts per million) of the genes with >= ``min_total`` reads; (matrix, kept-gene mask)."""
    counts = np.asarray(counts, dtype=float)
    keep = counts.sum(axis=0) >= min_total
    lib = counts.sum(axis=1, keepdims=True)
    return np.log2(1.0 + counts[:, keep] / np.maximum(lib, 1.0) * 1e6), keep


def _corr_pairs(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    xs = x - x.mean(axis=0)
    sd = np.sqrt((xs**2).sum(axis=0))
    ok = (sd[a] > 0) & (sd[b] > 0)
    a, b = a[ok], b[ok]
    return (xs[:, a] * xs[:, b]).sum(axis=0) / (sd[a] * sd[b])


def within_set_correlations(x: np.ndarray, sets: list[np.ndarray], max_pairs: int = 2000,
                            seed: int = 0) -> np.ndarray:
    """Pearson r of gene pairs inside each set (column indices of ``x``), at most ``max_pairs`` pairs per set."""
    rng = np.random.default_rng(seed)
    out = []
    for s in sets:
        s = np.asarray(s)
        if len(s) < 2:
            continue
        i, j = np.triu_indices(len(s), 1)
        if len(i) > max_pairs:
            pick = rng.choice(len(i), max_pairs, replace=False)
            i, j = i[pick], j[pick]
        out.append(_corr_pairs(x, s[i], s[j]))
    return np.concatenate(out) if out else np.zeros(0)


def random_pair_correlations(x: np.ndarray, n_pairs: int = 20000, seed: int = 0) -> np.ndarray:
    """Pearson r of ``n_pairs`` random distinct gene pairs (columns of ``x``)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, x.shape[1], n_pairs)
    b = rng.integers(0, x.shape[1], n_pairs)
    ok = a != b
    return _corr_pairs(x, a[ok], b[ok])
