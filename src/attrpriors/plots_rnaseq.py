"""Figures of the RNA-seq data layer (to be merged into :mod:`attrpriors.plots`).

Every function takes a tidy DataFrame and an output path and writes the figure atomically.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .io import atomic_path  # noqa: E402

__all__ = ["plot_pca_combat"]

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
    fig, axes = plt.subplots(
        len(stages), len(colour_by), figsize=(4.6 * len(colour_by), 3.9 * len(stages)), squeeze=False
    )
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
            ax.legend(fontsize=8, frameon=False, title=col, title_fontsize=8)
            ax.grid(alpha=0.2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150)
    plt.close(fig)
