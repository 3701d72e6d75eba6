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

from .stats import auroc, r2

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
        score = r2(y, pred) if task == "regression" else auroc(y, pred)
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


def lorenz_curve(values) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve of non-negative ``values`` (e.g. global attributions φ̄): features sorted increasingly,
    ``x = q / p`` and ``y`` = cumulative share of the total held by the lowest ``q`` features, ``q = 0..p``.

    Its trapezoid area ``A`` gives the Gini coefficient ``1 − 2A`` (= :func:`attrpriors.priors.gini`,
    ``Σᵢ Σⱼ |vᵢ − vⱼ| / (2 p Σᵢ vᵢ)``); an all-zero vector gives the diagonal.
    """
    v = np.sort(np.abs(np.asarray(values, dtype=np.float64).reshape(-1)))
    if v.size == 0:
        raise ValueError("lorenz_curve needs at least one value")
    total = v.sum()
    cum = np.concatenate([[0.0], np.cumsum(v) / total]) if total > 0 else np.linspace(0.0, 1.0, v.size + 1)
    return np.linspace(0.0, 1.0, v.size + 1), cum


def lorenz_gini(values) -> float:
    """``1 − 2 ×`` the trapezoid area under :func:`lorenz_curve` (the same number as ``priors.gini``)."""
    x, y = lorenz_curve(values)
    return float(1.0 - 2.0 * np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


# ---------------------------------------------------------------------------------------------------------
# Limits of integrated gradients for gene expression (arXiv 2303.11336) and attribution trust across models:
# feature agreement with a ground truth, prediction gaps, top-K accuracy curves, top-K overlap across
# retrainings, and pathway-level consistency. All take plain arrays / tidy tables and are deterministic.
# ---------------------------------------------------------------------------------------------------------
def l2_normalize(attributions) -> np.ndarray:
    """Divide each row (one sample's attributions) by its L2 norm; all-zero rows stay zero."""
    a = np.asarray(attributions, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"attributions must be samples × features, got shape {a.shape}")
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    return np.divide(a, norm, out=np.zeros_like(a), where=norm > 0)


def rank_features(scores) -> np.ndarray:
    """Feature indices by decreasing score along the last axis; ties keep the lower index first (stable)."""
    s = np.asarray(scores, dtype=np.float64)
    return np.argsort(-s, axis=-1, kind="stable")


def feature_agreement(attributions, labels, ground_truth, *, absolute: bool = False) -> pd.DataFrame:
    """Local and global feature agreement (FA) of attributions with a per-class ground truth (arXiv 2303.11336).

    For class c with ground-truth genes G_c (K_c = |G_c|) and its samples' attribution rows:

    * **local FA** — the fraction of each sample's top-K_c features that lie in G_c, averaged over the samples;
    * **global FA** — the K_c features that occur most often in the per-sample top-K_c lists (ties broken by
      the summed score), and the fraction of them in G_c.

    Ties at the K_c-th place (in a sample's list, and in the global count) are counted fractionally
    (:func:`topk_membership`): the expectation over a random order of the tied features, deterministically.

    Features are ranked by the signed attribution (evidence *for* the explained class, as the paper's public
    code does) or, with ``absolute=True``, by its magnitude. Pass attributions of correctly classified
    samples only, L2-normalised (:func:`l2_normalize`) as in the paper. Local FA is invariant to a per-sample
    scaling; global FA is not (its ties are broken by the summed score, which a sample with a larger scale
    dominates), hence the normalisation.

    Parameters
    ----------
    attributions : array_like, samples × features.
    labels : array_like, class of each sample (the explained class).
    ground_truth : array_like, classes × features boolean.
    absolute : rank by |attribution| instead of the signed value.

    Returns
    -------
    pandas.DataFrame
        One row per class with at least one sample: ``class, n_samples, k, local, global``. A perfect
        attribution (the largest scores exactly on G_c) gives 1 for both; random scores give about K_c / p.
    """
    a = np.asarray(attributions, dtype=np.float64)
    y = np.asarray(labels).reshape(-1)
    gt = np.asarray(ground_truth).astype(bool)
    if a.ndim != 2 or len(a) != len(y):
        raise ValueError(f"attributions {a.shape} must be samples × features with one label per sample ({len(y)})")
    if gt.ndim != 2 or gt.shape[1] != a.shape[1]:
        raise ValueError(f"ground_truth must be classes × {a.shape[1]} features, got shape {gt.shape}")
    if len(y) and (y.min() < 0 or y.max() >= len(gt)):
        raise ValueError(f"labels must lie in 0..{len(gt) - 1} (rows of ground_truth)")
    s = np.abs(a) if absolute else a
    rows = []
    for c in np.unique(y):
        k = int(gt[c].sum())
        if k == 0:
            continue
        sc = s[y == c]
        member = np.stack([topk_membership(row, k) for row in sc])  # samples × features, rows sum to k
        local = float((member[:, gt[c]].sum(axis=1) / k).mean())
        counts = np.round(member.sum(axis=0), 9)  # float sums of fractions: equal counts compare equal
        glob = topk_true_fraction((counts, sc.sum(axis=0)), gt[c], k)
        rows.append({"class": int(c), "n_samples": int(len(sc)), "k": k, "local": local, "global": glob})
    return pd.DataFrame(rows, columns=["class", "n_samples", "k", "local", "global"])


def _target_output(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, target: np.ndarray) -> np.ndarray:
    out = np.asarray(predict(X), dtype=np.float64)
    if out.ndim == 1:
        return out
    return out[np.arange(len(X)), target]


def prediction_gaps(
    predict: Callable[[np.ndarray], np.ndarray],
    X,
    target,
    attributions,
    *,
    order: str = "important",
    step: int = 10,
    baseline: float | np.ndarray = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Prediction gap of each sample when its features are replaced by the baseline ``step`` at a time.

    Features are removed cumulatively in the given ``order`` — ``important`` (decreasing attribution: PGI),
    ``unimportant`` (increasing attribution: PGU) or ``random`` (a random permutation per sample: PGR). After
    each removal of ``step`` features the drop ``f(x) − f(x_removed)`` of the explained output is recorded;
    the gap is the sum of the positive drops × step / p, as the paper's public code computes it
    (``get_prediction_gaps.py``; the mean over the ⌈p / step⌉ removals when step divides p).
    For faithful attributions PGI is large and PGU small, with PGR in between.

    Parameters
    ----------
    predict : ``f(X) -> (n, C)`` outputs (e.g. class probabilities) or ``(n,)`` for one output.
    X : samples × features inputs.
    target : class explained for each sample (ignored for a single-output ``predict``).
    attributions : samples × features, signed (the ranking uses the signed value, as the paper).
    order : ``important``, ``unimportant`` or ``random``.
    step : features removed at a time (10 in the paper).
    baseline : value(s) that replace a removed feature (scalar or one per feature; 0 = the IG baseline).
    seed : seed of the random orders.

    Returns
    -------
    numpy.ndarray of shape (n,): the gap of every sample.
    """
    X = np.asarray(X, dtype=np.float32)
    a = np.asarray(attributions, dtype=np.float64)
    if a.shape != X.shape:
        raise ValueError(f"attributions have shape {a.shape}, X {X.shape}")
    if int(step) < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    n, p = X.shape
    target = np.asarray(target).reshape(-1) if target is not None else np.zeros(n, dtype=np.int64)
    if order == "important":
        idx = rank_features(a)
    elif order == "unimportant":
        idx = rank_features(-a)
    elif order == "random":
        rng = np.random.default_rng(seed)
        idx = np.argsort(rng.random((n, p)), axis=1)
    else:
        raise ValueError(f"order must be 'important', 'unimportant' or 'random', got {order!r}")
    base = np.broadcast_to(np.asarray(baseline, dtype=np.float32), (p,))
    full = _target_output(predict, X, target)
    cur = X.copy()
    rows = np.arange(n)[:, None]
    drops = []
    for start in range(0, p, int(step)):
        cols = idx[:, start : start + int(step)]
        cur[rows, cols] = base[cols]
        drops.append(np.maximum(full - _target_output(predict, cur, target), 0.0))
    return np.sum(drops, axis=0) * int(step) / p  # the original code's Σ drops × step / p


def topk_accuracy_curve(
    predict: Callable[[np.ndarray], np.ndarray],
    X,
    y,
    ranking,
    ks,
    *,
    mode: str = "keep",
    baseline: float | np.ndarray = 0.0,
) -> pd.DataFrame:
    """Accuracy when only the top-k ranked features are kept (the others set to the baseline), or removed.

    Parameters
    ----------
    predict : ``f(X) -> (n, C)`` class scores.
    X, y : samples × features inputs and their classes.
    ranking : feature indices, most important first: one global ranking ``(p,)`` (e.g. :func:`rank_features`
        of the mean |attribution|), or one ranking per class ``(C, p)``, in which case the union of every
        class's top k is used (the paper's per-class curves).
    ks : numbers of features (per class for a per-class ranking).
    mode : ``keep`` (keep the top k) or ``remove`` (replace the top k by the baseline).

    Returns
    -------
    pandas.DataFrame with columns ``k, n_features, accuracy`` (``n_features``: how many features the top-k
    selection holds, k for a global ranking, the size of the union for per-class rankings).
    """
    if mode not in ("keep", "remove"):
        raise ValueError(f"mode must be 'keep' or 'remove', got {mode!r}")
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y).reshape(-1)
    ranking = np.atleast_2d(np.asarray(ranking))
    p = X.shape[1]
    if ranking.shape[1] != p:
        raise ValueError(f"ranking has {ranking.shape[1]} entries per row for {p} features")
    base = np.broadcast_to(np.asarray(baseline, dtype=np.float32), (p,))
    rows = []
    for k in ks:
        k = int(min(max(k, 0), p))
        top = np.zeros(p, dtype=bool)
        top[ranking[:, :k].ravel()] = True
        visible = top if mode == "keep" else ~top
        Z = np.where(visible[None, :], X, base[None, :])
        acc = float(np.mean(np.asarray(predict(Z)).argmax(axis=1) == y))
        rows.append({"k": k, "n_features": int(top.sum()), "accuracy": acc})
    return pd.DataFrame(rows, columns=["k", "n_features", "accuracy"])


def expected_random_jaccard(k: int, p: int) -> float:
    """E[|A∩B| / |A∪B|] for two independent uniformly random k-subsets of p items (exact, hypergeometric)."""
    from scipy.stats import hypergeom

    k, p = int(k), int(p)
    if not 0 < k <= p:
        raise ValueError(f"need 0 < k <= p, got k={k}, p={p}")
    i = np.arange(max(0, 2 * k - p), k + 1)
    return float(np.sum(hypergeom.pmf(i, p, k, k) * i / (2 * k - i)))


def topk_jaccard(rankings, ks) -> pd.DataFrame:
    """Jaccard overlap of the top-k items of every pair of rankings (e.g. one per retraining seed).

    Parameters
    ----------
    rankings : mapping name → sequence of items (gene indices or names), most important first.
    ks : list sizes.

    Returns
    -------
    pandas.DataFrame with columns ``a, b, k, jaccard`` (one row per unordered pair and k). Identical rankings
    give 1; independent random rankings give :func:`expected_random_jaccard` on average.
    """
    names = list(rankings)
    if len(names) < 2:
        raise ValueError(f"topk_jaccard needs at least two rankings, got {len(names)}")
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ra, rb = list(rankings[a]), list(rankings[b])
            for k in ks:
                k = int(k)
                sa, sb = set(ra[:k]), set(rb[:k])
                union = len(sa | sb)
                rows.append({"a": a, "b": b, "k": k, "jaccard": len(sa & sb) / union if union else np.nan})
    return pd.DataFrame(rows, columns=["a", "b", "k", "jaccard"])


def topk_membership(keys, k: int) -> np.ndarray:
    """How much each item belongs to the top ``k`` (largest ``keys``), with ties counted fractionally.

    This is the one tie rule of every feature-agreement number in the project. Items are ordered by ``keys``
    (one array, or a tuple of arrays compared lexicographically, the first most significant; larger is
    better). Items strictly better than the ``k``-th one get 1; the ``g`` items tied with the ``k``-th one
    share the ``r`` remaining places and get ``r / g`` each; the rest get 0. The memberships sum to ``k``.

    ``r / g`` is each tied item's probability of making the list under a uniformly random order of the tied
    items, so every count built on it is that expectation, computed without drawing an order: it needs no
    seed, does not change between retrainings for an arbitrary reason, and does not reward an index order
    that happens to put true items first (a LASSO's many exact zeros made a stable or seeded tie-break
    decide its feature agreement).
    """
    keys = tuple(np.asarray(a, dtype=np.float64).reshape(-1) for a in (keys if isinstance(keys, tuple) else (keys,)))
    p = len(keys[0])
    if any(len(a) != p for a in keys):
        raise ValueError(f"all keys need one entry per item ({p})")
    if any(np.isnan(a).any() for a in keys):
        raise ValueError("feature-agreement scores contain NaN")
    k = int(k)
    if not 0 < k <= p:
        raise ValueError(f"need 0 < k <= number of items, got k={k}, p={p}")
    order = np.lexsort(tuple(-a for a in reversed(keys)))  # best first
    better = np.zeros(p, dtype=bool)
    tied = np.ones(p, dtype=bool)
    for a in keys:
        v = a[order[k - 1]]
        better |= tied & (a > v)
        tied &= a == v
    out = better.astype(np.float64)
    out[tied] = (k - int(better.sum())) / float(tied.sum())
    return out


def topk_true_fraction(keys, is_true, k: int) -> float:
    """Fraction of the top-``k`` items (largest ``keys``) that are true, ties counted fractionally
    (:func:`topk_membership`): the expected fraction under a random order of the items tied at the k-th place."""
    true = np.asarray(is_true, dtype=bool).reshape(-1)
    m = topk_membership(keys, k)
    if len(true) != len(m):
        raise ValueError(f"is_true has {len(true)} entries for {len(m)} items")
    return float(m[true].sum()) / int(k)


def ranking_feature_agreement(scores, truth, k: int | None = None) -> float:
    """Fraction of the top-k items of a global ranking that are true (k = number of true items by default).

    Ties at the k-th place are counted fractionally (:func:`topk_true_fraction`): the expectation over a
    random order of the tied items, so a model with many exactly-zero scores (LASSO) gets the score a random
    tie-break would give on average, deterministically.

    Parameters
    ----------
    scores : pandas.Series item → importance (e.g. gene → mean |EG|); larger = more important.
    truth : iterable of the true items (e.g. the genes that drive the response).
    k : list size; default ``len(truth ∩ scores.index)``, which makes this the global FA of a single ranking.
    """
    if not isinstance(scores, pd.Series):
        raise TypeError(f"scores must be a pandas Series indexed by item, got {type(scores).__name__}")
    true = set(truth) & set(scores.index)
    if not true:
        raise ValueError("none of the true items is among the scored items")
    k = len(true) if k is None else int(k)
    return topk_true_fraction(scores.to_numpy(dtype=np.float64), scores.index.isin(list(true)), k)


def pathway_attribution_kld(scores, pathways, *, top_frac: float = 0.1, pseudocount: float = 1e-9) -> float:
    """Consistency of a gene ranking at the pathway level: KL divergence of its attribution mass over pathways
    from what a uniform attribution would give (the idea of Majdandzic et al.'s k-mer metric, on gene sets).

    The top ``top_frac`` of genes by score are kept (metric 1 keeps the top 10% positions); pathway P gets the
    mass ``Σ_{g ∈ P, g kept} score_g`` and ``p`` is that mass normalised over pathways. The prior ``q`` is the
    same mass for a uniform attribution over all scored genes (``q_P ∝ |P ∩ genes|``). The score is
    ``KL(p || q)`` in nats: large when the important genes concentrate in few pathways, 0 when they are spread
    like the pathway sizes. ``pseudocount`` is added to ``q`` (then renormalised) to keep it finite.

    Parameters
    ----------
    scores : pandas.Series gene → non-negative importance (e.g. mean |EG|).
    pathways : mapping pathway → genes.

    Returns
    -------
    float (NaN when no kept gene is in any pathway).
    """
    if not isinstance(scores, pd.Series):
        raise TypeError(f"scores must be a pandas Series indexed by gene, got {type(scores).__name__}")
    if not 0 < top_frac <= 1:
        raise ValueError(f"top_frac must be in (0, 1], got {top_frac}")
    s = scores.astype(float).abs()
    n_keep = max(1, int(round(top_frac * len(s))))
    kept = s.iloc[rank_features(s.to_numpy())[:n_keep]]
    genes = set(s.index)
    mass, size = [], []
    for members in pathways.values():
        m = [g for g in dict.fromkeys(members) if g in genes]
        size.append(len(m))
        mass.append(float(kept.reindex(m).fillna(0.0).sum()))
    p, q = np.asarray(mass), np.asarray(size, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    p, q = p / p.sum(), q / q.sum() + pseudocount
    q = q / q.sum()
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


__all__ += [
    "l2_normalize",
    "rank_features",
    "feature_agreement",
    "prediction_gaps",
    "topk_accuracy_curve",
    "expected_random_jaccard",
    "topk_jaccard",
    "ranking_feature_agreement",
    "topk_membership",
    "topk_true_fraction",
    "pathway_attribution_kld",
]


# ---------------------------------------------------------------------------------------------------------
# Attribution trust across model families (the cross-paper table): tidy (gene, model, seed, mean_abs_eg)
# tables scored against a ground truth of driving genes and pathways.
# ---------------------------------------------------------------------------------------------------------
ATTRIBUTION_TABLE_COLUMNS = ("gene", "model", "seed", "mean_abs_eg")


def mean_abs_expected_gradients(model, X: np.ndarray, background: np.ndarray, n_references: int, seed: int,
                                device: str = "cpu") -> np.ndarray:
    """Mean |expected gradients| per input column over the rows ``X`` (``n_references`` references per row drawn
    from ``background`` by a generator seeded with ``seed``): the ``mean_abs_eg`` of every gene-expression
    experiment's attribution table."""
    import torch

    from .attributions import attribute
    from .training import select_device

    dev = select_device(device)
    model = model.to(dev)
    gen = torch.Generator().manual_seed(int(seed))
    phi = attribute("expected_gradients", model, torch.as_tensor(X, dtype=torch.float32).to(dev), None,
                    torch.as_tensor(background, dtype=torch.float32).to(dev), n_samples=int(n_references),
                    generator=gen)
    return np.abs(phi.detach().cpu().numpy()).mean(axis=0)


def check_attribution_table(df: pd.DataFrame, source: str = "attributions") -> pd.DataFrame:
    """Validate a tidy ``gene, model, seed, mean_abs_eg`` table (one row per gene of each model and seed)."""
    missing = [c for c in ATTRIBUTION_TABLE_COLUMNS if c not in df.columns]
    if missing:
        raise KeyError(f"{source}: missing column(s) {missing}; expected {list(ATTRIBUTION_TABLE_COLUMNS)}")
    df = df.assign(gene=df["gene"].astype(str), model=df["model"].astype(str))
    if df["mean_abs_eg"].isna().any() or (df["mean_abs_eg"] < 0).any():
        raise ValueError(f"{source}: mean_abs_eg must be non-negative numbers without NaN")
    dup = df.duplicated(["gene", "model", "seed"])
    if dup.any():
        raise ValueError(f"{source}: duplicate (gene, model, seed) rows, e.g. {df.loc[dup, ['gene', 'model', 'seed']].iloc[0].tolist()}")
    return df


def ranked_genes(scores: pd.Series, seed: int | tuple = 0) -> np.ndarray:
    """Genes by decreasing score; exact ties (e.g. the zero weights of a LASSO) in a seeded random order.

    Give every retraining its own ``seed`` (e.g. ``(base, retraining)``): the same tie order in all retrainings
    would make the arbitrary part of their lists overlap perfectly."""
    perm = np.random.default_rng(seed).permutation(len(scores))
    order = rank_features(scores.to_numpy(dtype=np.float64)[perm])
    return scores.index.to_numpy()[perm][order]


def true_pathways_from_genes(gene_sets: dict, true_genes, genes) -> list[str]:
    """Gene sets whose members (among ``genes``) are all true genes: the driving pathways when only the true
    genes are known (in the drug-response simulator a pathway drives the response as a whole)."""
    true, universe = set(true_genes), set(genes)
    out = []
    for term, members in gene_sets.items():
        m = [g for g in members if g in universe]
        if m and all(g in true for g in m):
            out.append(term)
    return out


def attribution_trust_per_run(
    attributions: pd.DataFrame,
    true_genes,
    gene_sets: dict,
    true_pathways,
    *,
    top_frac: float = 0.1,
    gsea_permutations: int = 1000,
    gsea_min_size: int = 15,
    gsea_max_size: int = 500,
    fdr: float = 0.05,
    seed: int = 0,
    workers: int = 1,
) -> pd.DataFrame:
    """Score every (model, seed) gene ranking of a tidy attribution table against the ground truth.

    Metrics (tidy rows ``model, seed, metric, value``):

    * ``feature_agreement`` — fraction of the top-K genes that are true driving genes, K = number of true genes
      among the scored genes (:func:`ranking_feature_agreement`; chance level K / p is ``chance_feature_agreement``);
    * ``pathway_kld`` — :func:`pathway_attribution_kld` of the scores over ``gene_sets`` (top ``top_frac`` genes);
    * ``gsea_true_recovered`` — fraction of the true pathways (those GSEA could test) significantly enriched at
      the top of the ranking (GSEA prerank on mean |EG|, BH-FDR < ``fdr``, NES > 0), and ``gsea_significant``,
      the number of significant sets of any kind.

    Feature agreement counts ties at the K-th place fractionally (:func:`topk_true_fraction`); GSEA needs one
    strict order and gets a seeded random order of tied genes (:func:`ranked_genes`, a 1e-12 jitter).
    ``workers`` > 1 scores the runs in that many forked processes (GSEA prerank, ~5 s per run with 1,000
    permutations, is most of the time); every run keeps its own seeds, so the table is the same for any ``workers``.
    """
    df = check_attribution_table(attributions)
    true = set(map(str, true_genes))
    settings = {"top_frac": top_frac, "gsea_permutations": gsea_permutations, "gsea_min_size": gsea_min_size,
                "gsea_max_size": gsea_max_size, "fdr": fdr, "seed": seed}
    tasks = [(model, s, g.set_index("gene")["mean_abs_eg"].astype(float), true, gene_sets, list(true_pathways),
              settings) for (model, s), g in df.groupby(["model", "seed"], sort=True)]
    if int(workers) > 1 and len(tasks) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # fork: a Snakemake script is its own __main__, which a spawned worker would run again
        with ProcessPoolExecutor(min(int(workers), len(tasks)), mp_context=multiprocessing.get_context("fork")) as ex:
            parts = list(ex.map(_trust_one_run, tasks))
    else:
        parts = [_trust_one_run(t) for t in tasks]
    rows = [r for part in parts for r in part]
    return pd.DataFrame(rows, columns=["model", "seed", "metric", "value"])


def _trust_one_run(task) -> list[dict]:
    """The metrics of :func:`attribution_trust_per_run` for one (model, seed) ranking (a picklable task)."""
    from .enrichment import filter_gene_sets, gsea_prerank

    model, s, scores, true, gene_sets, true_pathways, o = task
    t = true & set(scores.index)
    if not t:
        raise ValueError(f"{model}, seed {s}: none of the true genes is among the {len(scores)} scored genes")
    ranked = ranked_genes(scores, (o["seed"], int(s)))
    values = {
        "feature_agreement": ranking_feature_agreement(scores, t),
        "chance_feature_agreement": len(t) / len(scores),
        "pathway_kld": pathway_attribution_kld(scores, gene_sets, top_frac=o["top_frac"]),
    }
    tested = filter_gene_sets(gene_sets, scores.index, min_size=o["gsea_min_size"], max_size=o["gsea_max_size"])
    targets = [p for p in true_pathways if p in tested]
    jitter = pd.Series(np.linspace(1e-12, 0.0, len(ranked)), index=ranked).reindex(scores.index)
    res = gsea_prerank(scores + jitter, tested, permutations=o["gsea_permutations"], seed=o["seed"],
                       min_size=o["gsea_min_size"], max_size=o["gsea_max_size"])
    sig = res[(res["fdr_bh"] < o["fdr"]) & (res["nes"] > 0)]
    values["gsea_significant"] = float(len(sig))
    values["gsea_true_recovered"] = (float(np.mean([p in set(sig["term"]) for p in targets]))
                                     if targets else float("nan"))
    return [{"model": model, "seed": s, "metric": m, "value": v} for m, v in values.items()]


def ranking_stability(attributions: pd.DataFrame, k: int, seed: int = 0) -> pd.DataFrame:
    """Mean and s.d. over pairs of seeds of the Jaccard overlap of each model's top-k genes.

    Returns one row per model: ``model, k, n_seeds, jaccard, jaccard_sd, random_expectation``.
    """
    df = check_attribution_table(attributions)
    rows = []
    for model, g in df.groupby("model", sort=True):
        ranks = {s: ranked_genes(h.set_index("gene")["mean_abs_eg"].astype(float), (seed, int(s)))
                 for s, h in g.groupby("seed", sort=True)}
        p = g.groupby("seed")["gene"].size().min()
        kk = int(min(k, p))
        if len(ranks) < 2:
            rows.append({"model": model, "k": kk, "n_seeds": len(ranks), "jaccard": np.nan, "jaccard_sd": np.nan,
                         "random_expectation": expected_random_jaccard(kk, p)})
            continue
        j = topk_jaccard(ranks, [kk])["jaccard"]
        rows.append({"model": model, "k": kk, "n_seeds": len(ranks), "jaccard": float(j.mean()),
                     "jaccard_sd": float(j.std(ddof=1)) if len(j) > 1 else np.nan,
                     "random_expectation": expected_random_jaccard(kk, p)})
    return pd.DataFrame(rows, columns=["model", "k", "n_seeds", "jaccard", "jaccard_sd", "random_expectation"])


__all__ += [
    "check_attribution_table",
    "ranked_genes",
    "true_pathways_from_genes",
    "attribution_trust_per_run",
    "ranking_stability",
]


# ---------------------------------------------------------------------------------------------------------
# Model-randomization sanity check (Adebayo et al. 2018, "Sanity checks for saliency maps"): cascading
# randomization of the weights from the top layer down; an attribution method that explains the model must
# give maps that change as the model is destroyed.
# ---------------------------------------------------------------------------------------------------------
RANDOMIZATION_COLUMNS = ("stage", "layer", "n_randomized", "spearman", "spearman_sd", "spearman_global")


def randomizable_layers(model) -> list[str]:
    """Names of the layers that cascading randomization re-initialises, from the input to the output: every
    module that holds a weight matrix or kernel of its own (``Linear``, ``Conv*``, the GCN's graph layer …);
    normalisation layers and buffers are left alone."""
    names = []
    for name, module in model.named_modules():
        if getattr(module, "parametrizations", None):
            raise TypeError(f"layer {name or type(model).__name__!r} has parametrized weights "
                                      "(e.g. spectral norm); cascading randomization does not handle them")
        weights = [p for k, p in module.named_parameters(recurse=False) if "weight" in k]
        if weights and not isinstance(module, _NORM_TYPES()):
            names.append(name)
    if not names:
        raise ValueError(f"{type(model).__name__} has no layer with weights to randomize")
    return names


def _NORM_TYPES():
    import torch

    return (torch.nn.modules.batchnorm._NormBase, torch.nn.LayerNorm, torch.nn.GroupNorm)


def _reinitialize(module, seed: int) -> None:
    """Re-draw a layer's own parameters under a fixed seed: PyTorch's default initialisation
    (``reset_parameters``) for a leaf layer (``Linear``, ``Conv*``); for a module with sub-layers (whose
    ``reset_parameters`` could reach them), its own weights from N(0, 1/fan-in) and its own biases at 0."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        if hasattr(module, "reset_parameters") and not any(True for _ in module.children()):
            module.reset_parameters()
            return
        with torch.no_grad():
            for k, p in module.named_parameters(recurse=False):
                if "weight" in k:
                    fan_in = p.shape[1] if p.ndim >= 2 else max(p.numel(), 1)
                    p.normal_(0.0, float(fan_in) ** -0.5)
                else:
                    p.zero_()


def cascading_randomization(model, seed: int = 0):
    """Yield ``(layer, n_randomized, model_copy)``: deep copies of ``model`` whose top ``1, 2, …, L`` layers
    (:func:`randomizable_layers`, output layer first; module registration order stands for depth) are
    re-initialised. ``model`` itself is not changed. ``layer`` is the module name (``"(root)"`` for the
    model's own weights, e.g. the GCN's graph layer)."""
    import copy

    layers = randomizable_layers(model)
    current = copy.deepcopy(model)
    modules = dict(current.named_modules())
    for i, name in enumerate(reversed(layers), start=1):
        _reinitialize(modules[name], _layer_seed(seed, name))
        yield name or "(root)", i, copy.deepcopy(current)


def _layer_seed(seed: int, name: str) -> int:
    import hashlib

    return int(hashlib.sha256(f"{int(seed)}:{name}".encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def _rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's ρ between matching rows of ``a`` and ``b`` (average ranks for ties; NaN for a constant row)."""
    from scipy.stats import rankdata

    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra, rb = ra - ra.mean(1, keepdims=True), rb - rb.mean(1, keepdims=True)
    den = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (ra * rb).sum(1) / np.where(den > 0, den, 1.0), np.nan)


def randomization_sanity(explain: Callable, model, *, seed: int = 0) -> pd.DataFrame:
    """Model-randomization sanity check (Adebayo et al. 2018) of one attribution method on one model.

    ``explain(model) -> attributions`` (array-like, one row per explained sample, any trailing shape) must
    explain the same samples with the same randomness every call (e.g. a generator re-seeded inside), so
    that only the model differs. The maps of the trained model are compared with those of its cascading
    randomized copies (:func:`cascading_randomization`, top layer first) by Spearman's ρ of |attributions|:

    * ``spearman`` — mean over samples of the per-sample ρ (Adebayo et al.'s measure), ``spearman_sd`` its s.d.;
    * ``spearman_global`` — ρ of the mean |attribution| per feature (the ranking a biomarker list is read from).

    Returns one row per stage (``stage`` 0 = the trained model itself, ρ = 1; stage ``k`` = top ``k`` layers
    randomized; the last stage = every layer), with ``layer`` the deepest randomized layer. A method that
    explains the model gives ρ near 0 once the model is fully randomized; maps that keep a high ρ
    (:func:`randomization_flag`) depend on the input rather than on what the model learned.
    """
    base = np.abs(np.asarray(explain(model), dtype=np.float64))
    if base.ndim < 2:
        raise ValueError(f"explain(model) must return one attribution row per sample, got shape {base.shape}")
    base = base.reshape(len(base), -1)
    rows = [{"stage": 0, "layer": "", "n_randomized": 0, "spearman": 1.0, "spearman_sd": 0.0,
             "spearman_global": 1.0}]
    for layer, k, randomized in cascading_randomization(model, seed):
        other = np.abs(np.asarray(explain(randomized), dtype=np.float64)).reshape(base.shape)
        rho = _rowwise_spearman(base, other)
        glob = _rowwise_spearman(base.mean(0, keepdims=True), other.mean(0, keepdims=True))[0]
        rows.append({"stage": k, "layer": layer, "n_randomized": k, "spearman": float(np.nanmean(rho)),
                     "spearman_sd": float(np.nanstd(rho, ddof=1)) if np.isfinite(rho).sum() > 1 else np.nan,
                     "spearman_global": float(glob)})
    return pd.DataFrame(rows, columns=list(RANDOMIZATION_COLUMNS))


def expected_gradients_explainer(X: np.ndarray, background: np.ndarray, n_references: int, seed: int,
                                 n_columns: int | None = None, device: str = "cpu") -> Callable:
    """``f(model) -> |EG|``-ready per-sample expected gradients of the rows ``X`` (``n_references`` references
    from ``background``, the same draws on every call: a generator re-seeded with ``seed``), first ``n_columns``
    input columns only (e.g. the genes, not the drug indicators): the ``explain`` of :func:`randomization_sanity`
    for the gene-expression models."""
    import torch

    from .attributions import attribute
    from .training import select_device

    dev = select_device(device)
    x = torch.as_tensor(X, dtype=torch.float32).to(dev)
    bg = torch.as_tensor(background, dtype=torch.float32).to(dev)

    def explain(model) -> np.ndarray:
        gen = torch.Generator().manual_seed(int(seed))
        phi = attribute("expected_gradients", model.to(dev).eval(), x, None, bg, n_samples=int(n_references),
                        generator=gen).detach().cpu().numpy()
        return phi[:, :n_columns] if n_columns is not None else phi

    return explain


def randomization_flag(table: pd.DataFrame, threshold: float = 0.5) -> tuple[float, bool]:
    """``(ρ of the fully randomized model, survives)``: the maps *survive* randomization (the method fails the
    sanity check) when the mean per-sample ρ with every layer randomized is still ≥ ``threshold``."""
    full = table.loc[table["stage"].idxmax()]
    rho = float(full["spearman"])
    return rho, bool(np.isfinite(rho) and rho >= threshold)


__all__ += ["randomizable_layers", "cascading_randomization", "randomization_sanity", "randomization_flag",
            "expected_gradients_explainer"]
