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


# --- the metrics beside OpenXAI's and Quantus' definitions (docs/library.md, "Metric definitions") ----------
def _openxai_style_gap(predict, X, A, target, *, important, aligned):
    """Prediction gap as OpenXAI defines it (read at AI4LIFE-GROUP/OpenXAI a182886, openxai/metrics.py), written
    here from the definition: the top 25 % of features by |a| (PGU: the other 75 %) get N(0, 0.1²) noise, 100
    draws seeded by the sample index, |Δ| of softmax column 0, AUC over k = 1..k_max. ``aligned``: the same
    quantity with our choices instead (signed ranking, cumulative replacement by 0, step 10, positive drop of the
    explained class, Σ drops × step / p)."""
    n, p = X.shape
    out = np.zeros(n)
    for i in range(n):
        x, a = X[i], A[i]
        if aligned:
            order = np.argsort(-a if important else a, kind="stable")
            f0, total = predict(x[None])[0, target[i]], 0.0
            z = x.copy()
            for s in range(0, p, 10):
                z[order[s:s + 10]] = 0.0
                total += max(f0 - predict(z[None])[0, target[i]], 0.0)
            out[i] = total * 10 / p
            continue
        desc = np.argsort(-np.abs(a), kind="stable")
        kmax = int(np.ceil(0.25 * p))
        f0, vals = predict(x[None])[0, 0], []
        for k in range(1, kmax + 1):
            S = desc[:k] if important else desc[k:]
            Z = np.repeat(x[None], 100, 0)
            Z[:, S] += np.random.default_rng(i).normal(0.0, 0.1, size=(100, len(S))).astype(np.float32)
            vals.append(np.abs(predict(Z)[:, 0] - f0).mean())
        out[i] = np.trapezoid(vals, np.linspace(0, 1, kmax))
    return out


def test_prediction_gaps_agree_with_openxais_definition_once_aligned_and_not_before():
    import torch

    from attrpriors.evaluation import prediction_gaps

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 25)).astype(np.float32)
    y = (X @ rng.normal(size=(25, 3))).argmax(1)
    net = torch.nn.Sequential(torch.nn.Linear(25, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.as_tensor(X)), torch.as_tensor(y)).backward()
        opt.step()

    def predict(Z):
        with torch.no_grad():
            return torch.softmax(net(torch.as_tensor(np.asarray(Z, np.float32))), -1).numpy()

    target = predict(X).argmax(1)
    xt = torch.as_tensor(X).requires_grad_(True)
    (g,) = torch.autograd.grad(torch.softmax(net(xt), -1)[torch.arange(30), torch.as_tensor(target)].sum(), xt)
    A = (g * xt).detach().numpy().astype(np.float64)
    for important, order in ((True, "important"), (False, "unimportant")):
        ours = prediction_gaps(predict, X, target, A, order=order, step=10)
        np.testing.assert_allclose(_openxai_style_gap(predict, X, A, target, important=important, aligned=True),
                                   ours, atol=1e-6)
        theirs = _openxai_style_gap(predict, X, A, target, important=important, aligned=False)
        assert ours.mean() > 30 * theirs.mean()  # the same name, a different quantity: not comparable as numbers


def test_feature_agreement_does_not_depend_on_feature_order_where_argsort_does():
    """Tied attributions (a LASSO's zeros): ours counts ties fractionally; an argsort top-k (OpenXAI's FA,
    Quantus' RelevanceRankAccuracy / TopKIntersection) depends on which tied feature comes first."""
    from attrpriors.evaluation import feature_agreement

    p, k = 20, 5
    truth = np.zeros((1, p), bool)
    truth[0, :k] = True
    A = np.zeros((2, p))
    A[0, [0, 1, 10]] = [0.9, 0.8, 0.7]
    A[0, [2, 3, 4, 11, 12, 13, 14, 15, 16]] = 0.5
    A[1, [0, 12]] = [0.6, 0.3]
    labels = np.zeros(2, int)

    def argsort_fa(A, truth_row):
        top = np.argsort(-np.abs(A), axis=1)[:, :k]
        return np.array([np.isin(r, np.flatnonzero(truth_row)).mean() for r in top])

    rev = np.arange(p)[::-1]
    ours, ours_rev = (feature_agreement(a, labels, t) for a, t in ((A, truth), (A[:, rev], truth[:, rev])))
    np.testing.assert_allclose(ours[["local", "global"]].to_numpy(), ours_rev[["local", "global"]].to_numpy(),
                               atol=1e-12)
    assert not np.allclose(argsort_fa(A, truth[0]), argsort_fa(A[:, rev], truth[0, rev]))


def test_the_randomization_check_leaves_batch_norm_alone():
    """Quantus' MPRT resets BatchNorm layers (reset_parameters: weight 1, bias 0, running stats 0/1); ours
    re-initialises only layers with a weight matrix or kernel."""
    import torch

    from attrpriors.evaluation import cascading_randomization, randomizable_layers

    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    net[1].running_mean += 3.0
    assert randomizable_layers(net) == ["0", "3"]
    for _, _, copy in cascading_randomization(net, seed=0):
        assert torch.equal(copy[1].running_mean, net[1].running_mean)
        assert torch.equal(copy[1].weight, net[1].weight)
