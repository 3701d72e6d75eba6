"""Deep attribution priors (Weinberger et al. 2020): the penalty, the prior model, MERGE's weight prior, data."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from attrpriors.data.two_moons import make_two_moons_nuisance, mean_std_meta_features, split_fractions
from attrpriors.models import MLP
from attrpriors.priors import (
    DAPrPrior,
    MetaWeightPrior,
    build_prior_model,
    dapr_penalty,
    weight_l1,
    weight_l2,
)
from attrpriors.seeds import seed_everything
from attrpriors.training import FitConfig, fit


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is fastest and immune to other processes competing for the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_dapr_penalty_is_mean_absolute_difference():
    phi = torch.tensor([[1.0, -2.0, 0.0], [3.0, 2.0, -1.0]])
    g = torch.tensor([1.0, 0.0, 1.0])
    assert dapr_penalty(phi, g).item() == pytest.approx(np.mean(np.abs(phi.numpy() - g.numpy())))
    assert dapr_penalty(phi, g, absolute=True).item() == pytest.approx(np.mean(np.abs(np.abs(phi.numpy()) - g.numpy())))
    with pytest.raises(ValueError, match="features"):
        dapr_penalty(phi, torch.zeros(4))


def test_prior_model_specs():
    assert sum(p.numel() for p in build_prior_model({"type": "linear"}, 2).parameters()) == 3
    g = build_prior_model({"type": "mlp", "hidden": [5, 3], "activation": "elu"}, 4)
    assert g(torch.randn(7, 4)).shape == (7,)
    with pytest.raises(ValueError, match="unknown prior model type"):
        build_prior_model({"type": "forest"}, 2)
    with pytest.raises(ValueError, match="no options"):
        build_prior_model({"type": "linear", "hidden": [3]}, 2)


def test_dapr_gradient_reaches_model_and_prior():
    torch.manual_seed(0)
    meta = torch.randn(6, 2)
    prior = DAPrPrior(meta, {"type": "mlp", "hidden": [4]}, seed=0)
    model = MLP(6, (8,), 1, activation="softplus")
    x = torch.randn(16, 6)
    omega = prior(model, x, None)
    omega.backward()
    # every weight matrix of f gets a gradient (the output bias cannot change gradients, so it gets none)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters() if p.ndim == 2)
    extra = list(prior.extra_parameters())
    assert len(extra) == 4 and all(p.grad is not None and p.grad.abs().sum() > 0 for p in extra)
    # the meta-feature matrix is a buffer, not a parameter, and travels with state_dict
    assert "meta" in prior.state_dict() and all(p is not prior.meta for p in extra)


def test_dapr_classification_uses_the_label():
    torch.manual_seed(0)
    prior = DAPrPrior(torch.randn(5, 2), seed=0)
    model = MLP(5, (8,), 3, activation="tanh")
    x, y = torch.randn(10, 5), torch.randint(0, 3, (10,))
    assert torch.isfinite(prior(model, x, y, "classification"))


def _toy(n=400, p=12, seed=0):
    """y depends on the first 3 features; meta-feature 0 says which, meta-feature 1 is noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(np.float32)
    y = (X[:, :3] @ np.array([1.0, -1.0, 1.0]) + 0.1 * rng.standard_normal(n)).astype(np.float32)
    meta = np.stack([np.r_[np.ones(3), np.zeros(p - 3)], rng.standard_normal(p)], axis=1).astype(np.float32)
    return X, y, meta


def test_prior_learns_which_features_matter():
    """Joint schedule (the public code's): g ranks the three features that drive y above all others, through the
    informative meta-feature."""
    X, y, meta = _toy()
    seed_everything(0)
    model = MLP(X.shape[1], (16,), 1)
    prior = DAPrPrior(meta, {"type": "linear"}, absolute=True, seed=0)
    cfg = FitConfig(epochs=20, batch_size=50, lr=1e-2, prior_weight=1.0, prior_lr=3e-2, schedule="joint", seed=0,
                    device="cpu", progress=False, patience=1000)
    res = fit(model, X[:200], y[:200], X[200:], y[200:], config=cfg, prior=prior)
    g = res.prior.predicted_importance().detach().numpy()
    assert g[:3].min() > g[3:].max() + 0.5
    w = dict(prior.g.named_parameters())["net.0.weight"].detach().numpy()[0]
    assert abs(w[0]) > 20 * abs(w[1])


def test_alternating_schedule_steps_the_prior_model():
    """Alternating schedule (fit's: a task step on f, then a step of f and g on λΩ): g gets its own optimiser
    steps and f still learns the task."""
    X, y, meta = _toy()
    seed_everything(0)
    prior = DAPrPrior(meta, {"type": "linear"}, absolute=True, seed=0)
    before = [p.detach().clone() for p in prior.extra_parameters()]
    cfg = FitConfig(epochs=5, batch_size=50, lr=1e-2, prior_weight=1.0, prior_lr=1e-3, schedule="alternating",
                    seed=0, device="cpu", progress=False, patience=1000)
    res = fit(MLP(X.shape[1], (16,), 1), X[:200], y[:200], config=cfg, prior=prior)
    assert all(not torch.equal(a, b) for a, b in zip(before, prior.extra_parameters()))
    assert res.history["train_loss"].iloc[-1] < 0.5 * res.history["train_loss"].iloc[0]
    assert res.history["train_prior"].notna().all()


def test_early_stopping_restores_prior_with_model():
    X, y, meta = _toy(n=200)
    seed_everything(0)
    prior = DAPrPrior(meta, {"type": "linear"}, absolute=True, seed=0)
    cfg = FitConfig(epochs=30, batch_size=32, lr=1e-2, prior_weight=1.0, prior_lr=5e-2, seed=0, device="cpu",
                    progress=False, patience=3)
    res = fit(MLP(12, (16,), 1), X[:150], y[:150], X[150:], y[150:], config=cfg, prior=prior)
    assert res.best_epoch < len(res.history) - 1
    # refitting to the best epoch exactly reproduces the restored prior
    seed_everything(0)
    prior2 = DAPrPrior(meta, {"type": "linear"}, absolute=True, seed=0)
    cfg2 = FitConfig(**{**cfg.__dict__, "epochs": res.best_epoch + 1, "patience": 1000})
    fit(MLP(12, (16,), 1), X[:150], y[:150], X[150:], y[150:], config=cfg2, prior=prior2)
    for a, b in zip(prior.parameters(), prior2.parameters()):
        torch.testing.assert_close(a, b)


def test_merge_prior_pulls_weights_toward_linear_function_of_meta():
    torch.manual_seed(0)
    meta = torch.randn(10, 2)
    model = MLP(10, (), 1)
    prior = MetaWeightPrior(meta)
    opt = torch.optim.Adam(list(model.parameters()) + list(prior.extra_parameters()), lr=5e-2)
    for _ in range(300):
        opt.zero_grad()
        prior(model).backward()
        opt.step()
    w = model.first_layer().weight.detach()[0]
    torch.testing.assert_close(w, prior.predicted_importance().detach(), atol=1e-3, rtol=0)
    with pytest.raises(ValueError, match="inputs"):
        MetaWeightPrior(torch.randn(4, 2))(model)


def test_weight_penalties():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight[:] = torch.tensor([[1.0, -2.0], [0.0, 3.0]])
        model[2].weight[:] = torch.tensor([[-1.0, 1.0]])
    assert weight_l1(model).item() == 8.0
    assert weight_l2(model).item() == 16.0


def test_two_moons_data():
    X, y = make_two_moons_nuisance(200, 7, 0.1, seed=3)
    assert X.shape == (200, 9) and X.dtype == np.float32 and set(y) == {0, 1}
    X2, y2 = make_two_moons_nuisance(200, 7, 0.1, seed=3)
    np.testing.assert_array_equal(X, X2)
    assert abs(X[:, 2:].mean()) < 0.1 and abs(X[:, 2:].std() - 1) < 0.1
    s = split_fractions(200, 0.2, 0.4, 0)
    assert [len(s[k]) for k in ("train", "val", "test")] == [40, 80, 80]
    assert len(np.unique(np.concatenate(list(s.values())))) == 200
    M = mean_std_meta_features(X)
    assert M.shape == (9, 2)
    np.testing.assert_allclose(M[:, 1], X.std(0), rtol=1e-5)


def _fake_beat_aml(tmp_path, n_samples=30, genes=("G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G9", "G10", "G11")):
    rng = np.random.default_rng(0)
    samples = [f"BA{i:04d}R" for i in range(n_samples)]
    expr = pd.DataFrame(rng.standard_normal((len(genes), n_samples)), columns=samples)
    expr.insert(0, "biotype", ["protein_coding"] * (len(genes) - 1) + ["lncRNA"])
    expr.insert(0, "description", "")
    expr.insert(0, "display_label", list(genes))
    expr.insert(0, "stable_id", [f"ENSG{i:011d}" for i in range(len(genes))])
    expr.to_csv(tmp_path / "expr.txt", sep="\t", index=False)
    resp = pd.DataFrame({"dbgap_subject_id": [i // 2 for i in range(n_samples)], "dbgap_rnaseq_sample": samples,
                         "inhibitor": "Dasatinib", "ic50": rng.uniform(0.01, 10, n_samples), "auc": 100.0})
    resp = pd.concat([resp, resp.assign(inhibitor="Other")])
    resp.to_csv(tmp_path / "resp.txt", sep="\t", index=False)
    merge = pd.DataFrame({"GENE": list(genes[:-1]) + ["NOT_MEASURED"], "SCORE": 1.0,
                          "Mutation": rng.uniform(size=len(genes)), "Expression hub": rng.integers(0, 100, len(genes))})
    merge.to_csv(tmp_path / "merge.csv", index=False)


def test_beat_aml_loader(tmp_path):
    from attrpriors.data.drug_response import beat_aml_drug_response

    _fake_beat_aml(tmp_path)
    params = {"drug": "Dasatinib", "response": "log10_ic50", "meta_features": ["Mutation", "Expression hub"]}
    d = beat_aml_drug_response(str(tmp_path / "expr.txt"), str(tmp_path / "resp.txt"), str(tmp_path / "merge.csv"),
                               params, seed=0)
    assert d["X"].shape == (30, 10)  # protein-coding genes with MERGE features
    assert d["meta_informative"].shape == d["meta_noise"].shape == (10, 2)
    assert len(set(d["groups"])) == 15 and np.isnan(d["importance"]).all()
    with pytest.raises(KeyError, match="Regulator"):
        beat_aml_drug_response(str(tmp_path / "expr.txt"), str(tmp_path / "resp.txt"), str(tmp_path / "merge.csv"),
                               {**params, "meta_features": ["Regulator"]}, seed=0)
    with pytest.raises(ValueError, match="Imatinib"):
        beat_aml_drug_response(str(tmp_path / "expr.txt"), str(tmp_path / "resp.txt"), str(tmp_path / "merge.csv"),
                               {**params, "drug": "Imatinib"}, seed=0)


def test_amp_ad_needs_a_path_and_reads_the_folder(tmp_path):
    from attrpriors.data.drug_response import local_drug_response as amp_ad

    with pytest.raises(FileNotFoundError, match="dapr.table1.amp_ad.local.path"):
        amp_ad(None, {}, seed=0)
    rng = np.random.default_rng(1)
    genes = [f"G{i}" for i in range(12)]
    samples = [f"S{i}" for i in range(20)]
    pd.DataFrame(rng.standard_normal((20, 12)), columns=genes).assign(sample=samples).to_csv(
        tmp_path / "expression.tsv", sep="\t", index=False)
    pd.DataFrame({"sample": samples, "value": rng.standard_normal(20), "donor": [s[:2] for s in samples]}).to_csv(
        tmp_path / "phenotype.tsv", sep="\t", index=False)
    pd.DataFrame({"gene": genes, "cnv": rng.integers(0, 2, 12), "hub": rng.standard_normal(12)}).to_csv(
        tmp_path / "meta_features.tsv", sep="\t", index=False)
    d = amp_ad(str(tmp_path), {}, seed=0)
    assert d["X"].shape == (20, 12) and d["informative_names"] == ["cnv", "hub"]


def test_splits_keep_groups_together():
    from attrpriors.experiments.dapr import _split_matrix

    groups = np.repeat(np.arange(50), 2).astype(str)
    m = _split_matrix(groups, 3, val=0.1, test=0.1, seed=0, dataset="x")
    assert m.shape == (3, 100)
    for row in m:
        assert set(row) == {0, 1, 2}
        for g in np.unique(groups):
            assert len(set(row[groups == g])) == 1
        assert abs((row == 2).mean() - 0.1) < 0.03


def test_every_table1_row_trains_on_a_small_dataset():
    """All eight Table 1 rows through table1_run (the pipeline test runs a subset of rows to stay fast)."""
    from attrpriors.experiments.dapr import TABLE1_MODELS, _split_matrix, table1_run

    rng = np.random.default_rng(0)
    n, p = 60, 15
    X = rng.standard_normal((n, p)).astype(np.float32)
    y = (X[:, :3].sum(1) + 0.3 * rng.standard_normal(n)).astype(np.float32)
    importance = np.r_[np.ones(3), np.zeros(p - 3)]
    d = {"X": X, "y": y, "meta_informative": np.stack([importance, rng.standard_normal(p)], 1).astype(np.float32),
         "meta_noise": rng.standard_normal((p, 2)).astype(np.float32), "importance": importance,
         "split": _split_matrix(np.arange(n).astype(str), 1, 0.2, 0.2, 0, "toy"),
         "informative_names": np.array(["driver", "other"]), "noise_names": np.array(["noise_1", "noise_2"])}
    params = {"mlp": {"hidden": [8]}, "training": {"epochs": 5, "batch_size": 16, "lr": 0.01, "progress": False},
              "lasso": {"alphas": [0.01, 0.1]}, "l1_weight": 1e-4, "l2_weight": 1e-3,
              "merge": {"weight": 1.0, "prior_lr": 0.01},
              "prior": {"model": {"type": "mlp", "hidden": [3]}, "weight": 1.0, "lr": 0.01}}
    for model in TABLE1_MODELS:
        df, saved, phibar = table1_run(d, "toy", model, 0, params, seed=0, device="cpu")
        mse = df.set_index("metric")["value"]["test_mse"]
        assert np.isfinite(mse) and mse > 0, model
        assert (saved is not None) == model.startswith("dapr_")
        if saved is not None:
            assert saved["predicted_importance"].shape == (p,)
        # one mean |EG| per gene (also for the model whose inputs are gene x meta-feature columns)
        assert phibar.shape == (p,) and np.isfinite(phibar).all() and (phibar >= 0).all(), model
        if model == "lasso":  # the linear model of y = x1 + x2 + x3 ranks the three true genes first
            assert set(np.argsort(-phibar)[:3]) == {0, 1, 2}, (model, phibar)
    with pytest.raises(ValueError, match="unknown Table 1 model"):
        table1_run(d, "toy", "forest", 0, params, seed=0, device="cpu")


def test_meta_input_model_is_explained_per_gene():
    """The 'meta-features as inputs' network sees [x, x·M_1, …]; its wrapper is the same function of x, and EG on
    it keeps completeness (sum of attributions = f(x) - E f(ref)) with one attribution per gene."""
    from attrpriors.attributions import attribute
    from attrpriors.models import GeneInteractionInputs
    from attrpriors.models import MLP

    torch.manual_seed(0)
    p, k = 6, 2
    meta = np.random.default_rng(1).standard_normal((p, k)).astype(np.float32)
    net = MLP(p * (1 + k), [8], 1)
    wrapped = GeneInteractionInputs(net, meta)
    x = torch.randn(4, p)
    expanded = torch.cat([x] + [x * torch.as_tensor(meta[:, j]) for j in range(k)], dim=1)
    assert torch.allclose(wrapped(x), net(expanded))
    ref = torch.zeros(4, p)
    phi = attribute("integrated_gradients", wrapped, x, None, ref, n_steps=256)
    assert phi.shape == (4, p)
    gap = phi.sum(1) - (wrapped(x) - wrapped(ref)).reshape(-1)
    assert gap.abs().max() < 1e-3


def test_penalty_strength_is_chosen_on_validation():
    """A penalised row trains every strength of its grid and keeps the one with the lowest validation MSE: a
    huge L1 λ (which zeroes the network) must lose to a small one on a learnable response, and a grid of one
    reproduces that single strength's run exactly."""
    from attrpriors.experiments.dapr import _split_matrix, strength_grid, table1_run

    rng = np.random.default_rng(1)
    n, p = 120, 10
    X = rng.standard_normal((n, p)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] + 0.1 * rng.standard_normal(n)).astype(np.float32)
    d = {"X": X, "y": y, "meta_informative": rng.standard_normal((p, 2)).astype(np.float32),
         "meta_noise": rng.standard_normal((p, 2)).astype(np.float32), "importance": np.r_[1.0, 1.0, np.zeros(p - 2)],
         "split": _split_matrix(np.arange(n).astype(str), 1, 0.25, 0.25, 0, "toy"),
         "informative_names": np.array(["a", "b"]), "noise_names": np.array(["n1", "n2"])}
    base = {"mlp": {"hidden": [8]}, "training": {"epochs": 60, "batch_size": 16, "lr": 0.01, "progress": False},
            "attributions": {"n_references": 5}}
    assert strength_grid({**base, "l1_weight": 0.1}, "mlp_l1") == [0.1]
    assert strength_grid({**base, "prior": {"weight": [1, 10]}}, "dapr_noise") == [1.0, 10.0]
    assert strength_grid(base, "mlp") == [None]
    metrics = {}
    for grid in ([1e-5], [10.0], [10.0, 1e-5]):
        df, _, _ = table1_run(d, "toy", "mlp_l1", 0, {**base, "l1_weight": grid}, seed=0, device="cpu")
        metrics[tuple(grid)] = df.set_index("metric")["value"]
    assert metrics[(1e-5,)]["val_mse"] < metrics[(10.0,)]["val_mse"]
    both = metrics[(10.0, 1e-5)]
    assert both["strength"] == 1e-5 and both["n_candidates"] == 2
    assert both["test_mse"] == metrics[(1e-5,)]["test_mse"]


def test_paired_tests_and_mlp_vs_lasso_note():
    """Paired differences by split with a t interval; the note says an MLP beats LASSO only when the paired test
    says so."""
    from scipy.stats import ttest_rel

    from attrpriors.experiments.dapr import mlp_vs_lasso_note, paired_tests

    rng = np.random.default_rng(0)
    lasso = 1.0 + 0.1 * rng.standard_normal(10)
    rows = []
    for s in range(10):
        rows += [("lin", "lasso", s, lasso[s]), ("lin", "mlp", s, lasso[s] + 0.2 + 0.01 * rng.standard_normal()),
                 ("non", "lasso", s, lasso[s]), ("non", "mlp", s, lasso[s] - 0.3 + 0.05 * rng.standard_normal())]
    mse = pd.DataFrame(rows, columns=["dataset", "model", "seed", "value"])
    t = paired_tests(mse)
    r = t[(t["dataset"] == "non") & (t["model"] == "mlp") & (t["baseline"] == "lasso")].iloc[0]
    a = mse[(mse["dataset"] == "non") & (mse["model"] == "mlp")]["value"].to_numpy()
    b = mse[(mse["dataset"] == "non") & (mse["model"] == "lasso")]["value"].to_numpy()
    assert r["mean_difference"] == pytest.approx((a - b).mean())
    assert r["p_two_sided"] == pytest.approx(ttest_rel(a, b).pvalue)
    assert r["ci_low"] < r["mean_difference"] < r["ci_high"] < 0 and r["wins"] == 10
    assert "the MLP beats LASSO" in mlp_vs_lasso_note(t, "non")
    assert "the MLP loses to LASSO" in mlp_vs_lasso_note(t, "lin")


def _paper_toy(n=120, p=10, seed=2):
    from attrpriors.experiments.dapr import _split_matrix

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.standard_normal(n)).astype(np.float32)
    importance = np.r_[1.0, 1.0, np.zeros(p - 2)]
    d = {"X": X, "y": y, "meta_informative": np.stack([importance, rng.standard_normal(p)], 1).astype(np.float32),
         "meta_noise": rng.standard_normal((p, 2)).astype(np.float32), "importance": importance,
         "split": _split_matrix(np.arange(n).astype(str), 2, 0.25, 0.25, 0, "toy"),
         "informative_names": np.array(["a", "b"]), "noise_names": np.array(["n1", "n2"])}
    params = {"mlp": {"hidden": [16]}, "training": {"epochs": 60, "batch_size": 16, "lr": 3e-3, "progress": False},
              "prior": {"model": {"type": "mlp", "hidden": [3]}, "weight": [10.0, 100.0], "lr": 0.01},
              "paper": {"training": {"epochs": 200, "batch_size": 16, "lr": 0.01, "patience": 15},
                        "prior": {"weight": 1.0, "lr": 5e-5}, "dropout": 0.5,
                        "arms": ["mlp", "mlp_dropout", "dapr_noise", "dapr_noise_dropout", "dapr_informative"]}}
    return d, params


def test_paper_protocol_arms_follow_the_original_code():
    """The `paper` arms (deep_attribution_priors@d42456e aml.py): dropout only where the original has it (DAPr
    network) or, in the *_dropout arms, everywhere; λ and g's learning rate fixed from the paper block (no grid);
    never restored, so the network scored is the one `patience` epochs after the validation optimum, while the
    restored score is the test MSE at that optimum."""
    from attrpriors.experiments.dapr import PAPER_ARMS, paper_params, paper_run

    d, params = _paper_toy()
    assert paper_params(params, "mlp")["mlp"]["dropout"] == 0.0
    assert paper_params(params, "dapr_noise")["mlp"]["dropout"] == 0.0
    assert paper_params(params, "mlp_dropout")["mlp"]["dropout"] == 0.5
    assert paper_params(params, "dapr_informative")["mlp"]["dropout"] == 0.5
    pp = paper_params(params, "dapr_informative")
    assert pp["prior"]["weight"] == 1.0 and pp["prior"]["lr"] == 5e-5 and pp["training"]["restore_best"] is False
    with pytest.raises(ValueError, match="unknown paper-protocol arm"):
        paper_params(params, "lasso")
    for arm in PAPER_ARMS:
        m = paper_run(d, "toy", arm, 0, params, seed=0, device="cpu").set_index("metric")["value"]
        assert m["dropout"] == (0.5 if PAPER_ARMS[arm][1] else 0.0)
        assert m["epochs"] < 200 and m["epochs_after_optimum"] == 15, arm   # early stopping ended it
        assert m["val_mse_best"] <= m["val_mse_last"]
        assert np.isfinite(m["test_mse_last"]) and np.isfinite(m["test_mse_restored"])
        assert ("strength" in m) == arm.startswith("dapr_")
    # the plain MLP arm without dropout, scored at the restored epoch, is the strict fit at that length
    from attrpriors.experiments.dapr import _fit_row, _standardise_split
    from attrpriors.seeds import derive_seed

    m = paper_run(d, "toy", "mlp", 0, params, seed=0, device="cpu").set_index("metric")["value"]
    strict = {**params, "training": {**params["paper"]["training"], "progress": False,
                                     "epochs": int(m["best_epoch"]) + 1, "patience": 1000}}
    s = _standardise_split(d, 0)
    pred, *_ = _fit_row(d, s, "toy", "mlp", 0, None, strict, derive_seed(0, "table1", "toy", 0, "init"), "cpu")
    te = s["test"]
    assert float(np.mean((pred[te].ravel() - s["y"][te]) ** 2)) == pytest.approx(m["test_mse_restored"], rel=1e-5)


def test_paper_sensitivity_cells():
    """The 2×2: each (dropout, scoring) cell compares the arms of its level on its metric; the original's cell is
    marked `paper`."""
    from attrpriors.experiments.dapr import paper_sensitivity

    rows = []
    for s in range(6):
        for arm, base in [("mlp", 1.0), ("mlp_dropout", 0.9), ("dapr_noise", 1.0), ("dapr_noise_dropout", 0.9),
                          ("dapr_informative", 0.8)]:
            rows += [("ds", arm, s, "test_mse_last", base + 0.01 * s + (0.1 if arm == "mlp" else 0.0)),
                     ("ds", arm, s, "test_mse_restored", base + 0.01 * s)]
    sens = paper_sensitivity(pd.DataFrame(rows, columns=["dataset", "model", "seed", "metric", "value"]))
    assert len(sens) == 12 and (sens["protocol"] == "paper").sum() == 3
    cell = sens.set_index(["dropout", "scoring", "model", "baseline"])["mean_difference"]
    assert cell[("dapr_only", "last", "dapr_informative", "mlp")] == pytest.approx(-0.3)
    assert cell[("dapr_only", "restored", "dapr_informative", "mlp")] == pytest.approx(-0.2)
    assert cell[("all", "last", "dapr_informative", "mlp")] == pytest.approx(-0.1)
    assert cell[("all", "restored", "dapr_noise", "mlp")] == pytest.approx(0.0)


def _local_folder(root, n=20, g=12, seed=1):
    rng = np.random.default_rng(seed)
    genes, samples = [f"G{i}" for i in range(g)], [f"S{i}" for i in range(n)]
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rng.standard_normal((n, g)), columns=genes).assign(sample=samples)[["sample", *genes]].to_csv(
        root / "expression.tsv", sep="\t", index=False)
    pd.DataFrame({"sample": samples, "value": rng.standard_normal(n)}).to_csv(
        root / "phenotype.tsv", sep="\t", index=False)
    pd.DataFrame({"gene": genes, "cnv": rng.integers(0, 2, g), "hub": rng.standard_normal(g)}).to_csv(
        root / "meta_features.tsv", sep="\t", index=False)
    return root


def _edit(path, old, new, count=1):
    path.write_text(path.read_text().replace(old, new, count))


# (damage to a valid folder, the file the message must name, a fragment of the message)
LOCAL_DAMAGE = [
    ("missing phenotype", lambda r: (r / "phenotype.tsv").unlink(), "phenotype.tsv", "missing"),
    ("comma-separated", lambda r: (r / "phenotype.tsv").write_text(
        (r / "phenotype.tsv").read_text().replace("\t", ",")), "phenotype.tsv", "is it tab-separated?"),
    ("no value column", lambda r: _edit(r / "phenotype.tsv", "value", "amyloid"), "phenotype.tsv", "no column 'value'"),
    ("duplicated sample", lambda r: _edit(r / "expression.tsv", "\nS1\t", "\nS0\t"), "expression.tsv",
     "'S0' appear(s) more than once"),
    ("duplicated gene column", lambda r: _edit(r / "expression.tsv", "G1\t", "G0\t"), "expression.tsv",
     "'G0' appear more than once in the header"),
    ("text in expression", lambda r: (r / "expression.tsv").write_text(re.sub(
        r"\nS3\t[^\t]+", "\nS3\tlow", (r / "expression.tsv").read_text())), "expression.tsv",
     "not finite numbers"),
    ("empty phenotype value", lambda r: (r / "phenotype.tsv").write_text(
        "\n".join(line if not line.startswith("S4\t") else "S4\t" for line in
                  (r / "phenotype.tsv").read_text().splitlines()) + "\n"), "phenotype.tsv", "row 'S4'"),
    ("inf meta-feature", lambda r: (r / "meta_features.tsv").write_text(re.sub(
        r"\nG2\t[^\t]+", "\nG2\tinf", (r / "meta_features.tsv").read_text())), "meta_features.tsv",
     "not finite numbers"),
    ("sample ids disagree", lambda r: _edit(r / "phenotype.tsv", "\nS", "\nP", -1), "", "0 sample(s) are in both"),
    ("gene ids disagree", lambda r: _edit(r / "meta_features.tsv", "\nG", "\nENSG", -1), "",
     "0 gene(s) are both columns"),
    ("ragged row", lambda r: _edit(r / "expression.tsv", "\nS3\t", "\nS3\t1.0\t"), "expression.tsv",
     "Expected 13 fields"),
    ("not UTF-8", lambda r: (r / "meta_features.tsv").write_bytes(b"gene\tcnv\n\xff\xfe\t1\n"), "meta_features.tsv",
     "UTF-8"),
]


@pytest.mark.parametrize("what,damage,file,fragment", LOCAL_DAMAGE, ids=[d[0] for d in LOCAL_DAMAGE])
def test_a_damaged_local_folder_is_named_with_its_file(tmp_path, what, damage, file, fragment):
    """Every damage of a local Table 1 folder is reported naming the file and the problem, by the reader the data
    rule uses and by the config check that runs before any job (so no job starts on it)."""
    from attrpriors.config_check import ConfigError, check_config, load_config
    from attrpriors.data.drug_response import local_drug_response, read_local_folder

    root = _local_folder(tmp_path / "amp")
    assert read_local_folder(str(root), "k")[1] == []  # the undamaged folder is fine (negative control)
    damage(root)
    _, problems = read_local_folder(str(root), "k")
    assert any(str(root / file) in p and fragment in p for p in problems), problems
    with pytest.raises(ValueError, match=re.escape(fragment)):
        local_drug_response(str(root), {}, seed=0)
    cfg = load_config(Path(__file__).parent / "configs" / "tiny.yaml")
    cfg["dapr"]["table1"].update(datasets=["drug_response", "amp_ad"])
    cfg["dapr"]["table1"]["amp_ad"]["local"]["path"] = str(root)
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        check_config(cfg, Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml")


def test_a_local_folder_is_checked_against_its_config(tmp_path):
    """Meta-feature names that are not columns, a folder given as a file, and a split that leaves too few training
    donors are named with the key; a valid folder passes the whole config check."""
    from attrpriors.config_check import ConfigError, check_config, load_config
    from attrpriors.data.drug_response import read_local_folder

    root = _local_folder(tmp_path / "amp", n=30)
    assert "not column(s)" in read_local_folder(str(root), "dapr.table1.amp_ad.local.path", ["cnv", "hubness"])[1][0]
    assert "is a file" in read_local_folder(str(root / "expression.tsv"), "k")[1][0]
    cfg = load_config(Path(__file__).parent / "configs" / "tiny.yaml")
    cfg["dapr"]["table1"].update(datasets=["amp_ad"])  # the PDP meta-feature must be one of every dataset
    cfg["dapr"]["table1"]["amp_ad"]["local"]["path"] = str(root)
    cfg["dapr"]["explain"]["pdp_feature"] = "hub"  # a column of the folder's meta_features.tsv
    schema = Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml"
    check_config(cfg, schema)
    cfg["dapr"]["table1"]["amp_ad"]["split"] = {"val": 0.4, "test": 0.4}
    with pytest.raises(ConfigError, match=r"dapr.table1.amp_ad.split: leaves \d training samples of the 30"):
        check_config(cfg, schema)


def test_a_local_folder_runs_and_its_files_are_inputs(tmp_path):
    """A user's folder (source: local) runs through the data rule, and editing phenotype.tsv afterwards makes the
    dry run rebuild the data set (the three files are the rule's inputs, not read behind Snakemake's back); a
    PDP meta-feature that is no column of the folder is named before any job."""
    import subprocess
    import sys

    import yaml

    from conftest import REPO, TINY

    root = _local_folder(tmp_path / "my data", n=40, g=15)
    work = tmp_path / "work"
    work.mkdir()
    overlay = work / "local.yaml"
    overlay.write_text(yaml.safe_dump({"dapr": {"table1": {"datasets": ["amp_ad"], "amp_ad": {
        "local": {"path": str(root)}}}, "explain": {"pdp_feature": "hub"}}}))
    target = "results/dapr/table1/data/amp_ad.npz"

    def snakemake(*args, configs=(TINY, overlay)):
        return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "1",
                               *args, "--configfile", *map(str, configs)], capture_output=True, text=True, cwd=work,
                              timeout=600)

    run = snakemake(target)
    assert run.returncode == 0, run.stderr[-3000:]
    with np.load(work / target) as d:
        assert d["X"].shape == (40, 15) and list(d["informative_names"]) == ["cnv", "hub"]
    assert "local folder" in (work / "results/logs/dapr_table1_data/amp_ad.log").read_text()
    (root / "phenotype.tsv").write_text(re.sub(r"\nS0\t[^\n]+", "\nS0\t9.5", (root / "phenotype.tsv").read_text()))
    dry = snakemake("-n", target)
    assert dry.returncode == 0 and "dapr_table1_data" in dry.stdout and "phenotype.tsv" in dry.stdout, dry.stdout
    bad = work / "bad.yaml"
    bad.write_text(yaml.safe_dump({"dapr": {"explain": {"pdp_feature": "hubness"}}}))
    stop = snakemake("-n", target, configs=(TINY, overlay, bad))
    assert stop.returncode != 0 and "pdp_feature = 'hubness': not a meta-feature of dapr.table1.amp_ad" in stop.stdout + stop.stderr
