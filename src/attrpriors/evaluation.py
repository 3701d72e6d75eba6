"""Evaluation: the keep/remove attribution benchmark (Lundberg et al.; Erion et al. Table 1) and
attribution convergence.

Benchmark protocol, per attribution method and test sample:

1. Score features by the sign-adjusted attribution ``A``: ``φ`` (positive), ``−φ`` (negative) or ``|φ|``
   (absolute); rank them by ``A`` (a fixed 1e-6 tie-breaking noise, as shap's benchmark does).
2. For each of the feature counts ``n`` (integers log-spaced from 0 to M), **keep** the top ``n`` features
   and hide the rest, or **remove** the top ``n`` and keep the rest. For the signed metrics ``n`` is capped
   at the number of features with ``A ≥ 0``.
3. Hidden features are replaced by the training **mask** (mean), by **resample** (values of 100 training
   rows, outputs averaged), or by **impute** (the conditional Gaussian mean given the visible features from
   the training covariance + 1e-6·I).
4. Summaries: the signed metrics use the mean model output, sign-flipped so that larger is better (keep
   positive: +, keep negative: −, remove positive: −, remove negative: +); absolute metrics use R²
   (regression) or ROC AUC (classification), as ``1 − score`` for remove.
5. Each curve is reduced to its area over ``n / M`` ∈ [0, 1] (trapezoid). Larger is better for all 18.
"""

from __future__ import annotations

from itertools import product
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score

__all__ = [
    "BENCHMARK_METRICS",
    "intlogspace",
    "hide_features",
    "benchmark_metrics",
    "attribution_convergence",
]

KEEP_REMOVE = ("keep", "remove")
SIGNS = ("positive", "negative", "absolute")
HIDING = ("mask", "resample", "impute")
#: The 18 metric names, ``{keep,remove}_{positive,negative,absolute}_{mask,resample,impute}``.
BENCHMARK_METRICS = tuple(f"{a}_{b}_{c}" for a, b, c in product(KEEP_REMOVE, SIGNS, HIDING))


def intlogspace(end: int, n_points: int = 11) -> np.ndarray:
    """Unique integers log-spaced from 0 to ``end`` inclusive (shap's benchmark feature counts)."""
    return np.unique(np.round(np.logspace(0, np.log10(end + 1), n_points) - 1).astype(int))


class _ConditionalGaussian:
    """E[x_hidden | x_visible] under N(μ, Σ + 1e-6·I) estimated on the training data."""

    def __init__(self, X_train: np.ndarray, ridge: float = 1e-6) -> None:
        self.mu = X_train.mean(0)
        self.cov = np.cov(X_train, rowvar=False) + ridge * np.eye(X_train.shape[1])

    def impute(self, X: np.ndarray, visible: np.ndarray) -> np.ndarray:
        out = X.copy()
        mu, cov = self.mu, self.cov
        for i in range(len(X)):
            v = visible[i]
            h = ~v
            if not h.any():
                continue
            if not v.any():
                out[i, h] = mu[h]
                continue
            coef = np.linalg.solve(cov[np.ix_(v, v)], X[i, v] - mu[v])
            out[i, h] = mu[h] + cov[np.ix_(h, v)] @ coef
        return out


def hide_features(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    visible: np.ndarray,
    how: str,
    X_train: np.ndarray,
    resample_rows: np.ndarray | None = None,
    imputer: _ConditionalGaussian | None = None,
) -> np.ndarray:
    """Model outputs on ``X`` with the features where ``visible`` is False hidden by ``how``."""
    if how == "mask":
        return predict(np.where(visible, X, X_train.mean(0)))
    if how == "resample":
        if resample_rows is None:
            raise ValueError("resample needs resample_rows")
        R = len(resample_rows)
        stacked = np.where(visible[:, None, :], X[:, None, :], resample_rows[None, :, :])  # (n, R, p)
        return predict(stacked.reshape(-1, X.shape[1])).reshape(len(X), R, *(-1,)).mean(1).squeeze(-1)
    if how == "impute":
        imputer = imputer or _ConditionalGaussian(X_train)
        return predict(imputer.impute(X, visible))
    raise ValueError(f"unknown hiding strategy {how!r}; known: {list(HIDING)}")


def _summary(pred: np.ndarray, y: np.ndarray, keep_remove: str, sign: str, task: str) -> float:
    if sign == "absolute":
        score = r2_score(y, pred) if task == "regression" else roc_auc_score(y, pred)
        return score if keep_remove == "keep" else 1.0 - score
    flip = {("keep", "positive"): 1, ("keep", "negative"): -1, ("remove", "positive"): -1, ("remove", "negative"): 1}
    return flip[(keep_remove, sign)] * float(np.mean(pred))


def benchmark_metrics(
    predict: Callable[[np.ndarray], np.ndarray],
    X_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    attributions: np.ndarray,
    *,
    task: str = "regression",
    n_points: int = 11,
    n_resample: int = 100,
    metrics: tuple[str, ...] = BENCHMARK_METRICS,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score attributions with the keep/remove benchmark.

    Parameters
    ----------
    predict : ``f(X) -> (n,)`` model output (regression value, or positive-class probability).
    X_train : training inputs (for the mean, the resampling rows and the covariance).
    X_test, y_test : the explained samples and their labels.
    attributions : ``(n, p)`` attributions of ``X_test``.

    Returns
    -------
    ``(scores, curves)``: ``scores`` has one row per metric (``metric``, ``value`` = area under the curve);
    ``curves`` has ``metric``, ``n_features``, ``fraction``, ``value``.
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    X_test = np.asarray(X_test, dtype=np.float64)
    attributions = np.asarray(attributions, dtype=np.float64)
    if attributions.shape != X_test.shape:
        raise ValueError(f"attributions have shape {attributions.shape}, X_test {X_test.shape}")
    unknown = sorted(set(metrics) - set(BENCHMARK_METRICS))
    if unknown:
        raise ValueError(f"unknown benchmark metric(s) {unknown}; known: {list(BENCHMARK_METRICS)}")
    rng = np.random.default_rng(seed)
    n, M = X_test.shape
    tie_noise = rng.random(M) * 1e-6
    resample_rows = X_train[rng.integers(0, len(X_train), size=min(n_resample, len(X_train)))]
    imputer = _ConditionalGaussian(X_train)
    fcounts = intlogspace(M, n_points)
    pred64 = lambda Z: np.asarray(predict(Z.astype(np.float32)), dtype=np.float64).reshape(len(Z))  # noqa: E731

    score_rows, curve_rows = [], []
    for sign in SIGNS:
        A = np.abs(attributions) if sign == "absolute" else (1 if sign == "positive" else -1) * attributions
        order = np.argsort(-A + tie_noise, axis=1)
        rank = np.empty_like(order)
        rank[np.arange(n)[:, None], order] = np.arange(M)[None, :]  # rank[i, j]: position of feature j
        cap = (A >= 0).sum(1) if sign != "absolute" else np.full(n, M)
        for keep_remove, how in product(KEEP_REMOVE, HIDING):
            name = f"{keep_remove}_{sign}_{how}"
            if name not in metrics:
                continue
            values = []
            for fc in fcounts:
                top = rank < np.minimum(fc, cap)[:, None]
                visible = top if keep_remove == "keep" else ~top
                pred = hide_features(pred64, X_test, visible, how, X_train, resample_rows, imputer)
                values.append(_summary(pred, y_test, keep_remove, sign, task))
            frac = fcounts / M
            area = float(np.trapezoid(values, frac))
            score_rows.append({"metric": name, "value": area})
            curve_rows += [
                {"metric": name, "n_features": int(f), "fraction": float(x), "value": float(v)}
                for f, x, v in zip(fcounts, frac, values)
            ]
    return pd.DataFrame(score_rows), pd.DataFrame(curve_rows)


def attribution_convergence(
    explain: Callable[[int, int], np.ndarray],
    n_references: list[int],
    n_reference_truth: int,
    repeats: int = 3,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean |φ_k − φ_truth| of an attribution estimated with k references against a k=``n_reference_truth`` run.

    ``explain(k, seed) -> (n, p)`` attributions. Each k is repeated ``repeats`` times with different seeds.
    Returns columns ``n_references``, ``repeat``, ``mean_abs_diff``, ``relative_diff`` (divided by the mean |φ_truth|).
    """
    truth = explain(n_reference_truth, seed + 10_000)
    scale = float(np.mean(np.abs(truth)))
    rows = []
    for k in n_references:
        for r in range(repeats):
            est = explain(k, seed + 1 + r)
            diff = float(np.mean(np.abs(est - truth)))
            rows.append({"n_references": k, "repeat": r, "mean_abs_diff": diff, "relative_diff": diff / scale})
    return pd.DataFrame(rows)
