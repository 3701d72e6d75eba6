"""The synthetic regression datasets of Lundberg et al.'s attribution benchmark (Erion et al. Table 1).

* ``independent_linear60`` — 60 independent N(0, 1) features; y = X β + ε;
* ``correlated_groups60`` — the same, with the features in groups of 3 whose members correlate at 0.99.

β is 1 on one feature of each of the first ``n_informative`` groups of three (features 0, 3, 6, …), as in
shap's benchmark datasets, optionally with alternating signs so that negative attributions exist.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DATASETS", "make_benchmark_dataset"]

DATASETS = ("independent_linear60", "correlated_groups60")


def make_benchmark_dataset(
    name: str,
    n_samples: int = 1000,
    n_features: int = 60,
    n_informative: int = 10,
    group_size: int = 3,
    correlation: float = 0.99,
    noise: float = 0.01,
    alternating_signs: bool = True,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Return ``{"X": (n, p), "y": (n,), "beta": (p,)}`` for ``name`` in :data:`DATASETS`."""
    if name not in DATASETS:
        raise ValueError(f"unknown benchmark dataset {name!r}; known: {list(DATASETS)}")
    if n_informative * group_size > n_features:
        raise ValueError(
            f"n_informative={n_informative} groups of {group_size} do not fit in n_features={n_features}"
        )
    rng = np.random.default_rng(seed)
    if name == "independent_linear60":
        X = rng.standard_normal((n_samples, n_features))
    else:
        cov = np.eye(n_features)
        for start in range(0, n_features - group_size + 1, group_size):
            block = slice(start, start + group_size)
            cov[block, block] = correlation
            np.fill_diagonal(cov[block, block], 1.0)
        X = rng.multivariate_normal(np.zeros(n_features), cov, size=n_samples, method="cholesky")
    beta = np.zeros(n_features)
    informative = np.arange(n_informative) * group_size
    beta[informative] = 1.0
    if alternating_signs:
        beta[informative[1::2]] = -1.0
    y = X @ beta + noise * rng.standard_normal(n_samples)
    return {"X": X.astype(np.float32), "y": y.astype(np.float32), "beta": beta.astype(np.float32)}
