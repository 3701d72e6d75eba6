"""One figure style. Every figure function takes tidy DataFrames and an output path, and writes atomically.

A PNG is written at 150 dpi; when the path ends in ``.pdf`` a vector PDF instead.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .display import METHOD_LABELS  # noqa: E402
from .io import atomic_path  # noqa: E402

__all__ = ["STYLE", "figure", "eg_convergence_figure", "benchmark_heatmap_figure", "randomization_figure",
           "plot_pca_combat"]

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "savefig.bbox": "tight",
}



@contextmanager
def figure(path: str | os.PathLike, *args, **kwargs) -> Iterator[tuple[plt.Figure, object]]:
    """``with figure(path, nrows, ncols, figsize=...) as (fig, axes):`` — style, save atomically, close."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(*args, **kwargs)
        try:
            yield fig, axes
            with atomic_path(path) as tmp:
                fig.savefig(tmp)
        finally:
            plt.close(fig)


def eg_convergence_figure(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Mean |Δφ| vs number of references (Erion et al. supplement Fig. 1), one line per dataset.

    ``df``: columns ``dataset``, ``n_references``, ``mean_abs_diff`` (repeats are averaged, ± s.d. shaded).
    """
    with figure(path, 1, 1, figsize=(4.5, 3.2)) as (fig, ax):
        for dataset, sub in df.groupby("dataset", sort=True):
            g = sub.groupby("n_references")["mean_abs_diff"].agg(["mean", "std"]).reset_index()
            ax.plot(g["n_references"], g["mean"], marker="o", ms=3, label=dataset)
            ax.fill_between(g["n_references"], g["mean"] - g["std"].fillna(0), g["mean"] + g["std"].fillna(0), alpha=0.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of references (k)")
        ax.set_ylabel("mean |EG$_k$ − EG$_{ref}$|")
        ax.set_title("Expected gradients convergence")
        ax.legend()


def randomization_figure(df: pd.DataFrame, panel: str, path: str | os.PathLike, *, threshold: float = 0.5,
                         title: str = "", series: str = "method") -> None:
    """Cascading model randomization (Adebayo et al. 2018): Spearman ρ of |attributions| between the trained
    model and its copies with the top 0, 1, …, L layers randomized; one panel per value of ``panel``, one line
    per ``series`` (± s.d. over samples shaded when ``spearman_sd`` is given). The dashed line is the
    threshold above which maps "survive" randomization (flagged).

    ``df``: columns ``panel``, ``series``, ``stage``, ``layer``, ``spearman`` (and optionally ``spearman_sd``).
    """
    panels = list(dict.fromkeys(df[panel]))
    with figure(path, 1, len(panels), figsize=(4.4 * len(panels), 3.4), squeeze=False, sharey=True) as (fig, axes):
        for ax, key in zip(axes[0], panels):
            sub = df[df[panel] == key]
            for name, g in sub.groupby(series, sort=False):
                g = g.sort_values("stage")
                label = METHOD_LABELS.get(name, name)
                ax.plot(g["stage"], g["spearman"], marker="o", ms=3, label=label)
                if "spearman_sd" in g and g["spearman_sd"].notna().any():
                    sd = g["spearman_sd"].fillna(0)
                    ax.fill_between(g["stage"], g["spearman"] - sd, g["spearman"] + sd, alpha=0.12)
            stages = sorted(sub["stage"].unique())
            names = sub.groupby("stage")["layer"].agg(lambda v: v.iloc[0] if v.nunique() == 1 else None)
            ticks = ["trained"] + [f"+{names[k]}" if names[k] is not None else f"top {k}" for k in stages[1:]]
            ax.set_xticks(stages, ticks, rotation=30, ha="right", fontsize=7)
            ax.axhline(threshold, color="0.4", ls="--", lw=0.8)
            ax.axhline(0, color="0.7", lw=0.6)
            ax.set_ylim(-0.3, 1.05)
            ax.set_title(str(key))
            ax.set_xlabel("layers randomized (top layer first, cumulative)")
        axes[0][0].set_ylabel("Spearman ρ of |attributions|\n(trained vs randomized model)")
        # one legend when every panel shows the same series, else one per panel (their colours differ)
        same = len({tuple(dict.fromkeys(df.loc[df[panel] == k, series])) for k in panels}) == 1
        for ax in (axes[0][-1:] if same else axes[0]):
            ax.legend(fontsize=7, loc="upper right")
        if title:
            fig.suptitle(title)


def benchmark_heatmap_figure(df: pd.DataFrame, path: str | os.PathLike, title: str = "") -> None:
    """Table 1 as a heatmap: metrics × methods, colour = value standardised per metric, text = value.

    ``df``: long format with columns ``method``, ``metric``, ``value``.
    """
    wide = df.pivot_table(index="metric", columns="method", values="value")
    from .evaluation import BENCHMARK_METRICS

    wide = wide.reindex([m for m in BENCHMARK_METRICS if m in wide.index])
    order = [m for m in METHOD_LABELS if m in wide.columns]
    wide = wide[order]
    z = wide.sub(wide.mean(1), axis=0).div(wide.std(1).replace(0, 1), axis=0)
    with figure(path, 1, 1, figsize=(1.3 * len(order) + 2.5, 0.32 * len(wide) + 1.2)) as (fig, ax):
        ax.grid(False)
        im = ax.imshow(z.values, cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
        ax.set_xticks(range(len(order)), [METHOD_LABELS[m] for m in order], rotation=30, ha="right")
        ax.set_yticks(range(len(wide)), [m.replace("_", " ") for m in wide.index])
        best = wide.values.argmax(1)
        for i in range(wide.shape[0]):
            for j in range(wide.shape[1]):
                ax.text(j, i, f"{wide.values[i, j]:.3g}", ha="center", va="center", fontsize=7,
                        fontweight="bold" if j == best[i] else "normal")
        fig.colorbar(im, ax=ax, label="z-score within metric (bold: best)")
        ax.set_title(title)


def simulator_vs_real_figure(data: dict, path: str | os.PathLike) -> None:
    """``rnaseq_simulator_vs_real``: mean–dispersion, zero fraction, library sizes, within-KEGG correlations and
    driver genes vs their pathway's latent activity, simulated next to real (from
    :func:`attrpriors.experiments.rnaseq_data.simulator_vs_real_stats`)."""
    colors = {"airway": "tab:blue", "pasilla": "tab:green", "simulated": "tab:red"}
    ds = data["datasets"]
    with figure(path, 2, 3, figsize=(13, 7.5)) as (fig, axes):
        ax = axes[0, 0]
        grid = np.logspace(-0.5, 5, 100)
        for name, d in ds.items():
            if "binned_trend" in d:
                bt = d["binned_trend"]
                ax.plot(bt["mean"], bt["median_dispersion"], "o", ms=3, color=colors.get(name), alpha=0.8,
                        label=f"{name}: gene-wise (binned median)")
                ax.plot(grid, d["a0"] + d["a1"] / grid, color=colors.get(name), lw=1, alpha=0.8,
                        label=f"{name}: fitted trend (BCV {np.sqrt(d['a0']):.2f})")
        fit = data["sim_fit"]
        ok = np.isfinite(fit["genewise"]) & (fit["genewise"] > 1e-7) & (fit["mean"] > 0)
        ax.scatter(fit["mean"][ok], fit["genewise"][ok], s=2, color=colors["simulated"], alpha=0.15, lw=0,
                   label="simulated: gene-wise")
        ax.plot(grid, fit["a0"] + fit["a1"] / grid, color=colors["simulated"], lw=1.5, label="simulated: fitted trend")
        a = data["assumed"]
        ax.plot(grid, a["a0"] + a["a1"] / np.maximum(grid, 0.5), "k--", lw=1,
                label=f"simulated NB noise (airway a0 × {a['factor']:g} + a1/mean)")
        ax.set(xscale="log", yscale="log", xlabel="mean of normalised counts", ylabel="dispersion",
               title="mean–dispersion (pydeseq2)", ylim=(1e-3, 50))
        ax.legend(fontsize=6.5, loc="lower left")

        ax = axes[0, 1]
        bins = np.linspace(0, 1, 21)
        for name, d in ds.items():
            ax.hist(d["zero_per_gene"], bins=bins, histtype="step", density=True, lw=1.5, color=colors.get(name),
                    label=f"{name} (overall {np.mean(d['zero_per_gene']):.3f})")
        ax.set(yscale="log", xlabel="fraction of samples with 0 reads (genes with ≥ 10 reads)",
               ylabel="density", title="zero fraction per gene")
        ax.legend(fontsize=7)

        ax = axes[0, 2]
        names = list(ds)
        for k, name in enumerate(names):
            lib = ds[name]["library"]
            ax.scatter(np.full(len(lib), k) + np.linspace(-0.15, 0.15, len(lib)), lib, s=8, color=colors.get(name))
            ax.hlines(np.median(lib), k - 0.25, k + 0.25, color="k", lw=1)
        ax.set_xticks(range(len(names)), names)
        ax.set(yscale="log", ylabel="library size (million reads)",
               title="library sizes (simulated: its genes only)")

        ax = axes[1, 0]
        for name, d in ds.items():
            ax.plot(np.sort(d["log10_mean"]), np.linspace(0, 1, len(d["log10_mean"])), color=colors.get(name),
                    label=name)
        ax.set(xlabel="log10 mean count (genes with ≥ 10 reads)", ylabel="cumulative fraction of genes",
               title="gene expression levels")
        ax.legend(fontsize=7)

        ax = axes[1, 1]
        bins = np.linspace(-1, 1, 41)
        curves = [("simulated, within KEGG pathway", data["r_kegg"], colors["simulated"], "-"),
                  ("simulated, within KEGG, preprocessed", data.get("r_kegg_pre"), "darkred", ":"),
                  ("simulated, within KEGG, 8 patients", data["r_kegg_small"], "salmon", "--"),
                  ("simulated, random pairs", ds["simulated"]["r_random"], "grey", "-")]
        curves += [(f"{n}, random pairs", d["r_random"], colors.get(n), "-") for n, d in ds.items() if n != "simulated"]
        for label, r, c, ls in curves:
            if r is None or len(r) == 0:
                continue
            ax.hist(r, bins=bins, histtype="step", density=True, color=c, ls=ls, lw=1.3,
                    label=f"{label} (median {np.nanmedian(r):.2f})")
        ax.set(xlabel="Pearson r between two genes (log2 CPM)", ylabel="density",
               title="gene–gene correlation (real KEGG: no offline symbols)")
        ax.legend(fontsize=6)

        ax = axes[1, 2]
        ax.hist(data["r_latent"], bins=np.linspace(-1, 1, 41), histtype="step", lw=1.5, color=colors["simulated"],
                label=f"with its pathway's latent activity (median {np.nanmedian(data['r_latent']):.2f})")
        if data.get("r_latent_pre") is not None and len(data["r_latent_pre"]):
            ax.hist(data["r_latent_pre"], bins=np.linspace(-1, 1, 41), histtype="step", lw=1.2, color="darkred",
                    ls=":", label=f"the same, preprocessed matrix (median {np.nanmedian(data['r_latent_pre']):.2f})")
        ax.hist(data["r_loo"], bins=np.linspace(-1, 1, 41), histtype="step", lw=1.2, color="k", ls="--",
                label=f"with its pathway's other genes (median {np.nanmedian(data['r_loo']):.2f})")
        ax.set(xlabel="Pearson r (sign of the gene's loading)", ylabel="driver genes",
               title="driver genes as pathway proxies (simulated)")
        ax.legend(fontsize=7, loc="upper left")
        fig.suptitle("RNA-seq count simulator vs the real counts it is calibrated on", y=1.0)
        fig.tight_layout()


# --------------------------------------------------------------------------------------------------------
# RNA-seq data layer
# --------------------------------------------------------------------------------------------------------
_STAGES = ("before ComBat", "after ComBat")


def plot_pca_combat(df: pd.DataFrame, path: str | os.PathLike, title: str | None = None) -> None:
    """PCA of samples before and after ComBat, coloured by batch and by condition.

    Parameters
    ----------
    df : pandas.DataFrame
        The table of :func:`attrpriors.preprocess.pca_batch_silhouette`: columns ``stage, sample, PC1, PC2,
        batch, condition, silhouette`` (optionally ``var_PC1, var_PC2``).
    path : path-like
        Output image (format from the suffix, e.g. ``.png`` or ``.pdf``).
    title : str, optional
        Figure title (e.g. the dataset name).

    Raises
    ------
    KeyError
        If a required column is missing (named in the message).
    """
    required = ["stage", "PC1", "PC2", "batch", "condition", "silhouette"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise KeyError(f"plot_pca_combat: missing column(s) {missing}; found {list(df.columns)}")
    stages = [s for s in _STAGES if s in set(df["stage"])] or list(pd.unique(df["stage"]))
    has_condition = df["condition"].astype(str).str.len().gt(0).any()
    colour_by = ["batch", "condition"] if has_condition else ["batch"]
    with figure(path, len(stages), len(colour_by), figsize=(4.6 * len(colour_by), 3.9 * len(stages)),
                squeeze=False) as (fig, axes):
        _pca_panels(fig, axes, df, stages, colour_by, title)


def _pca_panels(fig, axes, df: pd.DataFrame, stages: list, colour_by: list, title: str | None) -> None:
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    for i, stage in enumerate(stages):
        sub = df[df["stage"] == stage]
        sil = float(sub["silhouette"].iloc[0])
        for j, col in enumerate(colour_by):
            ax = axes[i, j]
            levels = sorted(sub[col].astype(str).unique())
            cmap = plt.get_cmap("tab10")
            for k, level in enumerate(levels):
                pts = sub[sub[col].astype(str) == level]
                ax.scatter(
                    pts["PC1"],
                    pts["PC2"],
                    s=28 if len(sub) > 50 else 60,
                    alpha=0.8,
                    color=cmap(k % 10),
                    marker=markers[k % len(markers)],
                    label=level,
                    edgecolors="none",
                )
            sil_txt = "n/a" if np.isnan(sil) else f"{sil:.2f}"
            ax.set_title(f"{stage} — by {col}\nbatch silhouette = {sil_txt}", fontsize=10)
            xl, yl = "PC1", "PC2"
            if "var_PC1" in sub.columns:
                xl += f" ({100 * float(sub['var_PC1'].iloc[0]):.0f}%)"
                yl += f" ({100 * float(sub['var_PC2'].iloc[0]):.0f}%)"
            ax.set_xlabel(xl)
            ax.set_ylabel(yl)
            ax.legend(fontsize=8, title=col, title_fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
