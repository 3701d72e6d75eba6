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

from .io import atomic_path  # noqa: E402

__all__ = ["STYLE", "figure", "eg_convergence_figure", "benchmark_heatmap_figure", "METHOD_LABELS"]

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

METHOD_LABELS = {
    "expected_gradients": "Expected gradients",
    "integrated_gradients": "Integrated gradients",
    "input_x_gradient": "Inputs × gradients",
    "gradients": "Gradients",
    "random": "Random",
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
