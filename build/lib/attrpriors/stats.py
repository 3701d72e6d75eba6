"""The one implementation of each small statistic the experiments share: AUROC, R² and z-scoring.

NumPy only (no torch, no scikit-learn), so training, table and figure jobs can all use them cheaply.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["auroc", "r2", "zscore", "zscore_stats"]


def auroc(y_true, score) -> float:
    """Area under the ROC curve of ``score`` for the positives ``y_true == 1`` (or ``True``).

    Computed as the Mann–Whitney statistic with average ranks for tied scores,

        AUROC = (Σ_{i positive} rank_i − n₊(n₊+1)/2) / (n₊ n₋),

    which equals scikit-learn's ``roc_auc_score`` (exactly the rational number, rounded once). NaN when only
    one class occurs (the AUROC is undefined there).
    """
    y = np.asarray(y_true).reshape(-1)
    s = np.asarray(score, dtype=np.float64).reshape(-1)
    if len(y) != len(s):
        raise ValueError(f"auroc: {len(y)} labels but {len(s)} scores")
    positive = y == 1
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    ranks = ((upper - counts + 1 + upper) / 2.0)[inverse]  # 1-based average ranks
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination ``1 − Σ(y − ŷ)² / Σ(y − ȳ)²``, in float64 (equals scikit-learn's
    ``r2_score`` for float64 inputs). Negative when the predictions are worse than the mean; NaN when ``y_true``
    is constant."""
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if len(y) != len(p):
        raise ValueError(f"r2: {len(y)} targets but {len(p)} predictions")
    ss_tot = np.sum((y - y.mean()) ** 2)
    if ss_tot == 0:
        return float("nan")
    return float(1.0 - np.sum((y - p) ** 2) / ss_tot)


def zscore_stats(reference, *, constant: str = "unit", names: Sequence[str] | None = None,
                 where: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (ddof 0, float64) of ``reference`` (rows are samples).

    ``constant`` says what a column with s.d. 0 gets: ``"unit"`` — s.d. 1, so the column becomes ``x − mean``
    (for data that may hold a constant gene in one split); ``"error"`` — a ``ValueError`` naming the constant
    columns (``names``, else their indices) and ``where`` they are (for features that must vary).
    """
    r = np.asarray(reference, dtype=np.float64)
    mean, sd = r.mean(axis=0), r.std(axis=0)
    if constant == "error":
        bad = np.flatnonzero(np.atleast_1d(sd) == 0)
        if len(bad):
            labels = [names[i] for i in bad] if names is not None else bad.tolist()
            raise ValueError(f"{where}: column(s) {labels} are constant and cannot be z-scored")
    elif constant == "unit":
        sd = np.where(sd == 0, 1.0, sd)
    else:
        raise ValueError(f"zscore: constant must be 'unit' or 'error', got {constant!r}")
    return mean, sd


def zscore(x, reference=None, *, stats: tuple[np.ndarray, np.ndarray] | None = None, constant: str = "unit",
           names: Sequence[str] | None = None, where: str = "data") -> np.ndarray:
    """``(x − mean) / sd`` per column, in float64.

    The mean and s.d. are ``stats`` when given (e.g. kept from the training split), else those of
    ``reference`` (e.g. the training rows), else of ``x`` itself; see :func:`zscore_stats` for ``constant``,
    ``names`` and ``where``.
    """
    x = np.asarray(x, dtype=np.float64)
    mean, sd = stats if stats is not None else zscore_stats(x if reference is None else reference,
                                                            constant=constant, names=names, where=where)
    return (x - mean) / sd
