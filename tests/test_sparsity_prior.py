"""Sparsity attribution prior (Erion et al. Fig. 3): weight penalties, Gini / Lorenz, NHANES labels, NaN retries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from attrpriors.data.clinical import load_breast_cancer_table, load_nhanes, standardize
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


def test_attempts_retry_with_new_seeds_then_skip():
    seen = []

    def flaky(seed):
        seen.append(seed)
        if len(seen) < 3:
            raise FloatingPointError("nan")
        return "ok"

    assert sp._attempts(flaky, retries=3, base_seed=11, what="t") == ("ok", 3)
    assert len(set(seen)) == 3  # every attempt had its own seed

    def always(seed):
        raise FloatingPointError("nan")

    assert sp._attempts(always, retries=2, base_seed=0, what="t") == (None, 3)


@pytest.mark.parametrize("penalty", sp.PENALTIES)
def test_every_penalty_trains_and_scores(penalty):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)).astype(np.float32)
    y = (X[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(np.int64)
    strength = 0.3 if penalty == "dropout" else (0.0 if penalty == "unregularized" else 0.01)
    model = sp.fit_penalized(penalty, strength, X, y, {"type": "mlp", "hidden": [8]},
                             {"epochs": 5, "batch_size": 20, "lr": 0.01, "progress": False}, 3, 0, "cpu")
    s = sp.score(model, X, y, X, 10, 0)
    assert np.isfinite(s["loss"]) and 0 <= s["auc"] <= 1 and 0 <= s["gini"] < 1
    assert s["phibar"].shape == (5,)


def test_strong_l1_on_first_layer_shrinks_weights():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    kw = dict(model_spec={"type": "mlp", "hidden": [8]}, training={"epochs": 30, "batch_size": 40, "lr": 0.01,
                                                                   "progress": False}, n_references=2, seed=0,
              device="cpu")
    free = sp.fit_penalized("unregularized", 0.0, X, y, **kw)
    l1 = sp.fit_penalized("l1_first", 0.05, X, y, **kw)
    assert float(l1_first_layer_penalty(l1).detach()) < 0.5 * float(l1_first_layer_penalty(free).detach())


def test_sweep_job_records_skipped_nan_runs(tmp_path, monkeypatch):
    sp.make_data("bundled", {"split": {"test": 0.25, "val": 0.25}}, 0, str(tmp_path / "d.npz"))

    def explode(*args, **kwargs):
        raise FloatingPointError("training loss became nan")

    monkeypatch.setattr(sp, "fit_penalized", explode)
    sp.train_sweep(str(tmp_path / "d.npz"), "gini", 10.0, 4, 2, {"type": "mlp", "hidden": [4]},
                   {"epochs": 1, "batch_size": 32, "lr": 0.01}, 2, 5, 1, 0, "cpu", str(tmp_path / "m.csv"),
                   str(tmp_path / "p.npz"))
    df = pd.read_csv(tmp_path / "m.csv")
    assert set(df["status"]) == {"skipped"} and set(df["attempts"]) == {2} and df["value"].isna().all()
    assert df["seed"].nunique() == 2


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
    sp.make_data("bundled", {"split": {"test": 0.25, "val": 0.25}}, 0, str(tmp_path / "d.npz"))
    args = (str(tmp_path / "d.npz"), "gini", 0.5, 1, 1, {"type": "mlp", "hidden": [8]},
            {"epochs": 2, "batch_size": 64, "lr": 0.01, "progress": False}, 3, 10, 1, 0, "cpu")
    sp.train_sweep(*args, str(tmp_path / "a.csv"), str(tmp_path / "a.npz"))
    sp.train_sweep(*args, str(tmp_path / "b.csv"), str(tmp_path / "b.npz"))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))
    assert np.array_equal(np.load(tmp_path / "a.npz")["test"], np.load(tmp_path / "b.npz")["test"])
