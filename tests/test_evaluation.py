import numpy as np

from attrpriors.data.synthetic_benchmark import make_benchmark_dataset
from attrpriors.evaluation import (
    BENCHMARK_METRICS,
    _ConditionalGaussian,
    attribution_convergence,
    benchmark_metrics,
    intlogspace,
)


def test_intlogspace():
    f = intlogspace(60, 11)
    assert f[0] == 0 and f[-1] == 60 and np.all(np.diff(f) > 0)


def test_true_coefficients_beat_random_on_all_18_metrics():
    d = make_benchmark_dataset("independent_linear60", n_samples=600, seed=0)
    X, y, beta = d["X"], d["y"], d["beta"]
    Xtr, Xte, yte = X[:500], X[500:560], y[500:560]
    predict = lambda Z: Z @ beta  # noqa: E731  the true linear model
    true_phi = (Xte - Xtr.mean(0)) * beta  # exact Shapley values of a linear model
    rand_phi = np.random.default_rng(1).standard_normal(Xte.shape)
    kw = dict(n_points=7, n_resample=20, seed=0)
    good, _ = benchmark_metrics(predict, Xtr, Xte, yte, true_phi, **kw)
    bad, curves = benchmark_metrics(predict, Xtr, Xte, yte, rand_phi, **kw)
    assert sorted(good["metric"]) == sorted(BENCHMARK_METRICS)
    diff = good.set_index("metric")["value"] - bad.set_index("metric")["value"]
    assert (diff > 0).all(), diff[diff <= 0]
    assert diff[[m for m in BENCHMARK_METRICS if "absolute" not in m]].min() > 1.0
    assert set(curves["metric"]) == set(BENCHMARK_METRICS)


def test_conditional_imputation_uses_correlation():
    d = make_benchmark_dataset("correlated_groups60", n_samples=2000, seed=0)
    imp = _ConditionalGaussian(d["X"].astype(float))
    x = d["X"][:5].astype(float)
    visible = np.zeros_like(x, dtype=bool)
    visible[:, 0] = True  # only feature 0 visible; 1 and 2 are its 0.99-correlated partners
    out = imp.impute(x, visible)
    np.testing.assert_allclose(out[:, 1], 0.99 * x[:, 0], atol=0.1)
    assert np.abs(out[:, 10]).max() < 0.1  # an independent feature falls back to its mean


def test_convergence_decreases():
    rng = np.random.default_rng(0)
    truth = rng.standard_normal((4, 3))
    explain = lambda k, s: truth + np.random.default_rng(s).standard_normal(truth.shape) / np.sqrt(k)  # noqa: E731
    df = attribution_convergence(explain, [1, 100], 10_000, repeats=2)
    m = df.groupby("n_references")["mean_abs_diff"].mean()
    assert m[100] < 0.2 * m[1]


def test_mean_abs_expected_gradients_is_exact_on_a_linear_model():
    """f(x) = w·x has EG_i = w_i (x_i − r_i) for any α; with one background row b the mean |EG| per column is
    |w_i| · mean_rows |x_i − b_i| exactly."""
    import torch

    from attrpriors.evaluation import mean_abs_expected_gradients

    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5)).astype(np.float32)
    b = rng.standard_normal((1, 5)).astype(np.float32)
    lin = torch.nn.Linear(5, 1)
    w = lin.weight.detach().numpy()[0]
    got = mean_abs_expected_gradients(lin, X, b, n_references=7, seed=3)
    np.testing.assert_allclose(got, np.abs(w) * np.abs(X - b).mean(axis=0), rtol=1e-5, atol=1e-6)
    bg = rng.standard_normal((50, 5)).astype(np.float32)  # references drawn from many rows: the seed fixes them
    one = mean_abs_expected_gradients(lin, X, bg, n_references=2, seed=3)
    np.testing.assert_array_equal(one, mean_abs_expected_gradients(lin, X, bg, n_references=2, seed=3))
    assert not np.array_equal(one, mean_abs_expected_gradients(lin, X, bg, n_references=2, seed=4))
