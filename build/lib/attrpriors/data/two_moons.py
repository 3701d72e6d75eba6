"""Two moons with nuisance features (Yamada et al. 2018; Weinberger et al. 2020, Fig. 2).

The first two columns are scikit-learn's ``make_moons`` (two interleaved half circles plus N(0, noise²)
noise); the remaining ``n_nuisance`` columns are independent N(0, 1) draws that carry no information about
the label. The meta-features of the DAPr experiment are each column's mean and standard deviation over the
training split.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_two_moons_nuisance", "split_fractions", "split_sizes", "mean_std_meta_features"]


def make_two_moons_nuisance(n_samples: int = 1000, n_nuisance: int = 50, noise: float = 0.1,
                            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``X`` (n × (2 + n_nuisance), float32) and labels ``y`` (n, int64); columns 0 and 1 are the moons.

    Parameters
    ----------
    n_samples : number of points (balanced between the two moons by ``make_moons``).
    n_nuisance : number of N(0, 1) nuisance columns appended after the two informative ones.
    noise : standard deviation of the Gaussian noise added to the moon coordinates.
    seed : seeds both the moons and the nuisance draws.
    """
    from sklearn.datasets import make_moons

    if n_samples < 4:
        raise ValueError(f"n_samples must be >= 4, got {n_samples}")
    if n_nuisance < 0:
        raise ValueError(f"n_nuisance must be >= 0, got {n_nuisance}")
    rng = np.random.default_rng(seed)
    moons, y = make_moons(n_samples=n_samples, noise=noise, random_state=int(rng.integers(0, 2**31 - 1)))
    nuisance = rng.standard_normal((n_samples, n_nuisance))
    X = np.concatenate([moons, nuisance], axis=1).astype(np.float32)
    return X, y.astype(np.int64)


def split_sizes(n: int, train: float, val: float) -> dict[str, int]:
    """Rows of the ``train``/``val``/``test`` parts :func:`split_fractions` draws (test gets the rest)."""
    n_train, n_val = int(round(train * n)), int(round(val * n))
    return {"train": n_train, "val": n_val, "test": n - n_train - n_val}


def split_fractions(n: int, train: float, val: float, seed: int) -> dict[str, np.ndarray]:
    """Random ``train``/``val``/``test`` row indices with the given fractions of ``n`` (test gets the rest)."""
    if not (0 < train < 1 and 0 < val < 1 and train + val < 1):
        raise ValueError(f"split fractions must be in (0, 1) with train + val < 1, got train={train}, val={val}")
    perm = np.random.default_rng(seed).permutation(n)
    sizes = split_sizes(n, train, val)
    n_train, n_val = sizes["train"], sizes["val"]
    return {"train": np.sort(perm[:n_train]), "val": np.sort(perm[n_train:n_train + n_val]),
            "test": np.sort(perm[n_train + n_val:])}


def mean_std_meta_features(X: np.ndarray) -> np.ndarray:
    """The two-moons meta-feature matrix ``M`` (p × 2): each column's mean and standard deviation."""
    X = np.asarray(X, dtype=np.float64)
    return np.stack([X.mean(axis=0), X.std(axis=0)], axis=1).astype(np.float32)
