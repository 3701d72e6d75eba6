"""Sparsity attribution prior (Erion et al. Fig. 3): single-logit models, weight penalties, Gini / Lorenz, cohorts,
NaN retries, the small-data protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from attrpriors.data.clinical import (load_breast_cancer_table, load_flchain_table, load_nhanes,
                                      simulate_logistic_cohort, standardize)
from attrpriors.evaluation import lorenz_curve, lorenz_gini
from attrpriors.experiments import sparsity_prior as sp
from attrpriors.models import MLP
from attrpriors.priors import (
    WEIGHT_PENALTIES,
    gini,
    gini_penalty,
    l1_first_layer_penalty,
    make_weight_penalty,
    sgl_first_layer_penalty,
    sparse_group_lasso,
    weight_l1,
)


def _hand_made_mlp():
    """MLP 2 → 2 → 1 with known weights: W1 = [[3, 0], [−4, 0]], W2 = [[1, −2]]; biases 5 (never penalised)."""
    m = MLP(2, hidden=(2,), n_outputs=1)
    with torch.no_grad():
        m.net[0].weight.copy_(torch.tensor([[3.0, 0.0], [-4.0, 0.0]]))
        m.net[2].weight.copy_(torch.tensor([[1.0, -2.0]]))
        m.net[0].bias.fill_(5.0)
        m.net[2].bias.fill_(5.0)
    return m


def test_weight_penalties_on_hand_made_weights():
    m = _hand_made_mlp()
    assert float(l1_first_layer_penalty(m).detach()) == pytest.approx(7.0)
    assert float(weight_l1(m).detach()) == pytest.approx(7.0 + 3.0)
    # SGL: ‖W1‖₁ + √2 (‖(3, −4)‖₂ + ‖(0, 0)‖₂) — one group per input feature, √(group size) = √2
    assert float(sgl_first_layer_penalty(m).detach()) == pytest.approx(7.0 + np.sqrt(2) * 5.0)
    assert float(make_weight_penalty("sgl", 0.5)(m).detach()) == pytest.approx(0.5 * (7.0 + np.sqrt(2) * 5.0))
    assert set(WEIGHT_PENALTIES) == {"l1_first", "l1_all", "sgl"}
    with pytest.raises(ValueError, match="unknown weight penalty"):
        make_weight_penalty("l3", 1.0)


def test_sgl_zeroes_whole_features_first():
    """With equal L1 mass, a weight matrix that uses one feature has a lower group term than one that spreads."""
    concentrated = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    spread = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert float(sparse_group_lasso(concentrated).detach()) < float(sparse_group_lasso(spread).detach())
    w = torch.tensor([[1.0, -2.0, 0.0]]).requires_grad_(True)
    sparse_group_lasso(w).backward()
    assert torch.isfinite(w.grad[:, :2]).all()


@pytest.mark.parametrize("seed", range(5))
def test_lorenz_curve_and_gini_agree(seed):
    v = np.random.default_rng(seed).exponential(size=17) ** 3
    x, y = lorenz_curve(v)
    assert x[0] == 0 and y[0] == 0 and x[-1] == 1 and y[-1] == pytest.approx(1)
    assert np.all(np.diff(y) >= 0) and np.all(y <= x + 1e-12)  # below the diagonal, increasing
    assert lorenz_gini(v) == pytest.approx(float(gini(torch.as_tensor(v), eps=0.0)), abs=1e-10)


def test_gini_normalisation_extremes():
    p = 8
    assert lorenz_gini(np.ones(p)) == pytest.approx(0.0)
    assert float(gini(torch.ones(p))) == pytest.approx(0.0)
    one_hot = np.eye(p)[0]
    assert lorenz_gini(one_hot) == pytest.approx(1 - 1 / p)
    assert float(gini(torch.as_tensor(one_hot))) == pytest.approx(1 - 1 / p)
    assert lorenz_gini(np.zeros(p)) == pytest.approx(0.0)  # no attribution at all: the diagonal


def test_gini_penalty_gradient_concentrates_attribution():
    phi = torch.tensor([[1.0, 1.1, 0.9, 1.2]]).requires_grad_(True)
    opt = torch.optim.SGD([phi], lr=0.5)
    g0 = float(gini(phi.detach().abs().mean(0)))
    for _ in range(20):
        opt.zero_grad()
        gini_penalty(phi).backward()
        opt.step()
    assert float(gini(phi.detach().abs().mean(0))) > g0 + 0.1


def test_nhanes_labels_follow_the_horizon(tmp_path):
    X = pd.DataFrame({"age": [50, 60, 70, 40, np.nan], "sex_isFemale": [True, False, True, False, True]})
    # shap's convention: y > 0 death at y years; y < 0 censored (alive) at |y| years
    y = pd.DataFrame({"y": [5.0, -12.0, -3.0, 15.0, 10.0]})
    X.to_csv(tmp_path / "X.csv")
    y.to_csv(tmp_path / "y.csv")
    feats, label = load_nhanes(tmp_path / "X.csv", tmp_path / "y.csv", horizon_years=10)
    # died at 5 → 0; censored at 12 → alive 1; censored at 3 → unknown, dropped; died at 15 → 1; died at 10 → 1
    assert label.tolist() == [0, 1, 1, 1]
    assert len(feats) == 4 and feats["sex_isFemale"].tolist() == [1.0, 0.0, 0.0, 1.0]
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_nhanes(tmp_path / "nope.csv", tmp_path / "y.csv")


def test_standardize_imputes_with_training_statistics():
    tr = np.array([[1.0, 5.0], [3.0, np.nan], [np.nan, 5.0]])
    te = np.array([[np.nan, 1.0]])
    a, b = standardize(tr, te)
    assert np.isfinite(a).all() and np.isfinite(b).all()
    assert a[:, 0].mean() == pytest.approx(0.0, abs=1e-6)
    assert b[0, 0] == pytest.approx(0.0)  # imputed with the training mean → 0 after standardising
    assert a[:, 1].tolist() == [0.0, 0.0, 0.0]  # constant column: sd 1


def test_breast_cancer_table():
    X, y = load_breast_cancer_table()
    assert X.shape == (569, 30) and set(np.unique(y)) == {0, 1}


def test_flchain_labels_drop_the_leak_and_flag_missing_creatinine():
    X, y = load_flchain_table()
    assert len(X) == len(y) == 6836 and int(y.sum()) == 1764  # deaths within 10 years; early censored dropped
    assert "chapter" not in X.columns and not any("chapter" in c for c in X.columns)
    assert X["creatinine_missing"].sum() == X["creatinine"].isna().sum() > 0
    assert X.drop(columns="creatinine").notna().all().all()
    assert set(X["sex_male"].unique()) == {0.0, 1.0} and X["flc_group"].between(1, 10).all()


def test_simulated_cohort_has_the_asked_signal():
    X, y = simulate_logistic_cohort(4000, 10, 2, 2.0, seed=0)
    assert X.shape == (4000, 10) and set(np.unique(y)) == {0, 1}
    corr = np.abs([np.corrcoef(X[c], y)[0, 1] for c in X.columns])
    assert corr[:2].min() > 0.2 and corr[2:].max() < 0.06  # only the informative features carry the label
    with pytest.raises(ValueError, match="n_informative"):
        simulate_logistic_cohort(10, 3, 4, 1.0, 0)


def _small_problem(n=60, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(np.float32)
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(np.int64)
    return X, y


TRAIN = {"epochs": 5, "batch_size": 20, "lr": 0.01}


@pytest.mark.parametrize("penalty", sp.PENALTIES)
def test_every_penalty_trains_a_single_logit_model_and_scores(penalty):
    X, y = _small_problem()
    strength = 0.3 if penalty == "dropout" else (0.0 if penalty == "unregularized" else 0.01)
    stack, fit, attempts = sp.train_models(penalty, [strength], [0], X, y, X, y, {"type": "mlp", "hidden": [8]},
                                           TRAIN, 3, 0)
    mlp = stack.unstack(0)
    assert mlp(torch.as_tensor(X)).shape == (60,)  # one logit per sample
    assert fit.finite[0] and attempts[0] == 1 and 1 <= fit.best_epoch[0] <= 5
    phibar = sp.phibar_of(stack, 0, X, X, 10, 0)
    assert phibar.shape == (5,) and 0 <= sp.gini_of(phibar) < 1


def test_eg_explains_the_logit():
    """Completeness on the single logit: Σᵢ φᵢ(x) = f(x) − E_ref f(ref) (many references)."""
    from attrpriors.attributions import expected_gradients

    X, y = _small_problem(30)
    stack, _, _ = sp.train_models("unregularized", [0.0], [1], X, y, X, y, {"type": "mlp", "hidden": [8]}, TRAIN,
                                  3, 0)
    mlp = stack.unstack(0)
    x, ref = torch.as_tensor(X[:4]), torch.as_tensor(X)
    phi = expected_gradients(mlp, x, None, ref, n_samples=20000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        gap = mlp(x) - mlp(ref).mean()
    assert torch.allclose(phi.sum(1), gap, atol=0.03)


def test_strong_l1_on_first_layer_shrinks_weights():
    X, y = _small_problem(80, 6, seed=1)
    kw = dict(X_train=X, y_train=y, X_val=X, y_val=y, model_spec={"type": "mlp", "hidden": [8]},
              training={"epochs": 30, "batch_size": 40, "lr": 0.01}, n_references=2, retries=0)
    free, _, _ = sp.train_models("unregularized", [0.0], [0], **kw)
    l1, _, _ = sp.train_models("l1_first", [0.05], [0], **kw)
    assert float(l1.weights[0].detach().abs().sum()) < 0.5 * float(free.weights[0].detach().abs().sum())


def test_sweep_job_records_skipped_nan_runs(tmp_path):
    sp.make_data("breast_cancer", {"source": "bundled"}, {"test": 0.25, "val": 0.25}, 0, str(tmp_path / "d.npz"))
    sp.train_sweep(str(tmp_path / "d.npz"), "l1_all", [1e-3, 1e39], 2, {"type": "mlp", "hidden": [4]},
                   {"epochs": 2, "batch_size": 64, "lr": 0.01}, 2, 5, 1, 0, str(tmp_path / "m.csv"),
                   str(tmp_path / "p.npz"))
    df = pd.read_csv(tmp_path / "m.csv")
    bad = df[df["strength"] == 1e39]
    assert set(bad["status"]) == {"skipped"} and set(bad["attempts"]) == {2} and bad["value"].isna().all()
    good = df[df["strength"] == 1e-3]
    assert set(good["status"]) == {"ok"} and good["seed"].nunique() == 2
    phi = np.load(tmp_path / "p.npz")
    assert phi["test"].shape == (4, 30) and np.isnan(phi["test"][phi["strength"] == 1e39]).all()


def test_small_data_replicate_follows_the_protocol(tmp_path):
    sp.make_data("sparse", {"source": "simulated", "n_samples": 600, "n_features": 6, "n_informative": 2,
                            "signal": 2.0}, {"test": 0.3, "val": 0.3}, 0, str(tmp_path / "d.npz"))
    params = {"n_train": 50, "n_val": 40, "penalties": ["gini", "sgl", "unregularized"], "restarts": 4, "top": 2}
    grids = {"gini": [0.01, 0.1, 1.0], "sgl": [1e-4, 1e-2]}
    sp.small_data(str(tmp_path / "d.npz"), [0, 1], params, grids, {"type": "mlp", "hidden": [8]},
                  {"epochs": 4, "batch_size": 100, "lr": 0.01}, 2, 5, 0, 0, str(tmp_path / "s.csv"))
    df = pd.read_csv(tmp_path / "s.csv")
    w = df.pivot_table(index=["seed", "model"], columns="metric", values="value")
    assert set(df["seed"]) == {0, 1} and set(df["model"]) == {"gini", "sgl", "unregularized"}
    assert w.loc[(0, "gini"), "strength"] in grids["gini"] and w.loc[(0, "sgl"), "strength"] in grids["sgl"]
    assert (w["finite_restarts"] == 4).all() and w["test_auc"].between(0.5, 1).all()
    assert (w["val_auc"] >= w["grid_val_auc"].fillna(0) - 0.2).all()  # restarts at the chosen strength
    assert (w.xs("unregularized", level="model")["strength"] == 0).all()


def test_small_data_ttests_match_scipy(tmp_path):
    from scipy.stats import ttest_rel

    rng = np.random.default_rng(0)
    paths = []
    base = rng.uniform(0.7, 0.8, 6)
    for s in range(6):
        rows = [{"experiment": "sparsity_prior", "model": m, "seed": s, "metric": "test_auc", "value": v}
                for m, v in (("gini", base[s] + 0.02 + 0.005 * (s % 3)), ("unregularized", base[s]), ("sgl", base[s] + 0.01 * (s % 2)))]
        p = tmp_path / f"s{s}.csv"
        pd.DataFrame(rows).to_csv(p, index=False)
        paths.append(str(p))
    sp.small_data_summary(paths, "gini", str(tmp_path / "m.csv"), str(tmp_path / "t.csv"), str(tmp_path / "t.md"),
                          str(tmp_path / "f.png"))
    table = pd.read_csv(tmp_path / "t.csv").set_index("baseline")
    g = base + 0.02 + 0.005 * (np.arange(6) % 3)
    s = base + 0.01 * (np.arange(6) % 2)
    t, p = ttest_rel(g, s)
    assert table.loc["sgl", "t"] == pytest.approx(t) and table.loc["sgl", "p_two_sided"] == pytest.approx(p)
    assert table.loc["unregularized", "mean_difference"] == pytest.approx(np.mean(g - base))
    assert (tmp_path / "f.png").stat().st_size > 5000


def test_sweep_job_is_deterministic(tmp_path):
    sp.make_data("breast_cancer", {"source": "bundled"}, {"test": 0.25, "val": 0.25}, 0, str(tmp_path / "d.npz"))
    args = (str(tmp_path / "d.npz"), "gini", [0.5], 1, {"type": "mlp", "hidden": [8]},
            {"epochs": 2, "batch_size": 64, "lr": 0.01}, 3, 10, 1, 0)
    sp.train_sweep(*args, str(tmp_path / "a.csv"), str(tmp_path / "a.npz"))
    sp.train_sweep(*args, str(tmp_path / "b.csv"), str(tmp_path / "b.npz"))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))
    assert np.array_equal(np.load(tmp_path / "a.npz")["test"], np.load(tmp_path / "b.npz")["test"])
