"""The shared statistics (attrpriors.stats) against scikit-learn and their defining properties."""

import numpy as np
import pytest
from sklearn.metrics import r2_score, roc_auc_score

from attrpriors.stats import auroc, r2, zscore, zscore_stats


@pytest.mark.parametrize("seed", range(5))
def test_auroc_matches_sklearn_with_and_without_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    s = rng.normal(size=300) + y
    assert auroc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-14)
    tied = np.round(s, 1)  # many ties: average ranks, as sklearn's trapezoid counts them
    assert auroc(y, tied) == pytest.approx(roc_auc_score(y, tied), abs=1e-14)
    assert auroc(y.astype(bool), s) == auroc(y, s)


def test_auroc_extremes_and_undefined():
    y = np.array([0, 0, 1, 1])
    assert auroc(y, [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auroc(y, [0.4, 0.3, 0.2, 0.1]) == 0.0
    assert auroc(y, [1, 1, 1, 1]) == 0.5
    assert auroc([1, 0, 1, 0], [3, 1, 2, 2]) == pytest.approx(0.875)  # 3.5 of 4 pairs ordered (one tie)
    assert np.isnan(auroc(np.ones(5), np.arange(5))) and np.isnan(auroc(np.zeros(5), np.arange(5)))
    with pytest.raises(ValueError, match="labels"):
        auroc([0, 1], [0.1, 0.2, 0.3])


def test_r2_matches_sklearn_and_its_definition():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    p = y + 0.5 * rng.normal(size=200)
    assert r2(y, p) == r2_score(y, p)  # float64: the same sums, bit for bit
    assert r2(y, p.astype(np.float32)) == pytest.approx(r2_score(y, p.astype(np.float32)), abs=1e-12)
    assert r2(y, y) == 1.0
    assert r2(y, np.full_like(y, y.mean())) == pytest.approx(0.0, abs=1e-15)
    assert r2(y, -y) < 0
    assert np.isnan(r2(np.ones(4), np.arange(4)))


def test_zscore_uses_the_reference_statistics():
    rng = np.random.default_rng(0)
    X = rng.lognormal(size=(60, 4))
    Z = zscore(X)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(0), 1, atol=1e-12)
    train = X[:40]
    Zt = zscore(X, train)
    np.testing.assert_allclose(Zt[:40].mean(0), 0, atol=1e-12)  # train rows centred; test rows are not
    np.testing.assert_allclose(Zt[40:], (X[40:] - train.mean(0)) / train.std(0))
    mean, sd = zscore_stats(train)
    np.testing.assert_array_equal(zscore(X, stats=(mean, sd)), Zt)
    assert Zt.dtype == np.float64


def test_zscore_constant_columns():
    X = np.c_[np.arange(5.0), np.full(5, 3.0)]
    np.testing.assert_array_equal(zscore(X)[:, 1], 0.0)  # "unit": s.d. 1, the column is only centred
    assert zscore_stats(X)[1][1] == 1.0
    with pytest.raises(ValueError, match=r"meta.*\['flat'\]"):
        zscore(X, constant="error", names=["slope", "flat"], where="meta-features")
    with pytest.raises(ValueError, match="constant must be"):
        zscore(X, constant="drop")
