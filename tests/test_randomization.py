"""Model-randomization sanity check (Adebayo et al. 2018): cascading randomization, its controls."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from attrpriors.attributions import attribute
from attrpriors.evaluation import (
    _rowwise_spearman,
    cascading_randomization,
    randomizable_layers,
    randomization_flag,
    randomization_sanity,
)
from attrpriors.models import GCN, MLP
from attrpriors.seeds import seed_everything
from attrpriors.training import FitConfig, fit


def _trained_mlp():
    """An MLP that learned y = x0 - 2 x1 + 3 x2 of 10 features (the rest are noise)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 10)).astype(np.float32)
    y = (X[:, 0] - 2 * X[:, 1] + 3 * X[:, 2]).astype(np.float32)
    seed_everything(0)
    net = MLP(10, (32, 16), 1)
    fit(net, X[:300], y[:300], X[300:], y[300:],
        config=FitConfig(epochs=25, batch_size=50, lr=1e-2, patience=25, device="cpu", progress=False))
    return net.eval(), torch.as_tensor(X[300:])


def _explainer(method, x, seed=0, **options):
    def explain(model):
        opts = dict(options)
        if method in ("random", "expected_gradients"):
            opts["generator"] = torch.Generator().manual_seed(seed)  # the same draws for every model
        base = x if method == "expected_gradients" else None
        return attribute(method, model, x, None, base, **opts).detach().numpy()
    return explain


def test_rowwise_spearman_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 30)), rng.normal(size=(5, 30))
    b[0] = a[0] ** 3  # monotone: rho = 1
    a[1, :10] = 0.0   # ties
    ref = [spearmanr(a[i], b[i]).statistic for i in range(5)]
    np.testing.assert_allclose(_rowwise_spearman(a, b), ref, atol=1e-12)
    assert np.isnan(_rowwise_spearman(np.ones((1, 4)), b[:1, :4]))[0]


def test_cascade_randomizes_from_the_top_layer_down_and_leaves_the_model_alone():
    net = MLP(6, (5, 4), 1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    layers = randomizable_layers(net)
    assert len(layers) == 3
    stages = list(cascading_randomization(net, seed=3))
    assert [k for _, k, _ in stages] == [1, 2, 3]
    assert [name for name, _, _ in stages] == layers[::-1]  # output layer first
    for name, k, copy in stages:
        state = copy.state_dict()
        changed = {key.rsplit(".", 1)[0] for key in state if not torch.equal(state[key], before[key])}
        assert changed == set(layers[::-1][:k])  # exactly the top k layers are new
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key])
    again = list(cascading_randomization(net, seed=3))
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for (_, _, a), (_, _, b) in zip(stages, again)
               for k in before)
    # the GCN's own graph layer is the input-most layer
    gcn = GCN(8, 1, n_genes=6, n_edges=0, channels=2, hidden=(4,))
    assert randomizable_layers(gcn)[0] == "" and len(randomizable_layers(gcn)) == 3
    assert [name for name, _, _ in cascading_randomization(gcn)][-1] == "(root)"


def test_positive_control_gradients_of_an_mlp_change_and_random_maps_survive():
    net, x = _trained_mlp()
    grads = randomization_sanity(_explainer("gradients", x), net, seed=0)
    assert list(grads["stage"]) == [0, 1, 2, 3] and grads["spearman"].iloc[0] == 1.0
    rho, survives = randomization_flag(grads, threshold=0.5)
    assert rho < 0.3 and not survives  # positive control: the maps follow the model
    eg = randomization_sanity(_explainer("expected_gradients", x[:40], n_samples=10), net, seed=0)
    assert randomization_flag(eg)[0] < 0.5
    # negative reference: maps that ignore the model survive every stage and are flagged
    rnd = randomization_sanity(_explainer("random", x), net, seed=0)
    np.testing.assert_allclose(rnd["spearman"], 1.0)
    assert randomization_flag(rnd) == (1.0, True)
    # the global ranking of features also falls apart under randomization for gradients
    assert grads["spearman_global"].iloc[-1] < 0.8


def test_randomization_sanity_checks_its_input():
    net = MLP(3, (2,), 1)
    with pytest.raises(ValueError, match="one attribution row per sample"):
        randomization_sanity(lambda m: np.zeros(3), net)
    with pytest.raises(ValueError, match="no layer"):
        randomizable_layers(torch.nn.ReLU())
    table = pd.DataFrame({"stage": [0, 1], "spearman": [1.0, np.nan]})
    assert randomization_flag(table)[1] is False


def test_cross_paper_table_gets_the_randomization_column_and_flags(tmp_path):
    from attrpriors.experiments.cross_paper import cross_paper_table

    rows = []
    for model in ("mlp", "lasso"):
        for seed in (0, 1):
            for metric, value in (("feature_agreement", 0.5), ("chance_feature_agreement", 0.1),
                                  ("pathway_kld", 0.3), ("gsea_true_recovered", 1.0), ("gsea_significant", 4.0)):
                rows.append({"source": "graph_prior", "model": model, "seed": seed, "metric": metric, "value": value})
        for metric, value in (("topk_jaccard", 0.3), ("topk_jaccard_random", 0.05), ("k", 10), ("n_seeds", 2)):
            rows.append({"source": "graph_prior", "model": model, "seed": "all", "metric": metric, "value": value})
    metrics = tmp_path / "metrics.csv"
    pd.DataFrame(rows).assign(experiment="crosspaper").to_csv(metrics, index=False)
    rnd = pd.DataFrame([
        {"source": "graph_prior", "model": "mlp", "seed": 0, "stage": s, "layer": f"l{s}", "spearman": r,
         "spearman_sd": 0.1, "spearman_global": r} for s, r in ((0, 1.0), (1, 0.4), (2, 0.05))] + [
        {"source": "graph_prior", "model": "lasso", "seed": 0, "stage": s, "layer": "", "spearman": r,
         "spearman_sd": 0.1, "spearman_global": r} for s, r in ((0, 1.0), (1, 0.7))])
    out = {k: tmp_path / k for k in ("t.csv", "t.md", "t.png")}
    cross_paper_table(str(metrics), str(out["t.csv"]), str(out["t.md"]), str(out["t.png"]), randomization=rnd,
                      threshold=0.5)
    t = pd.read_csv(out["t.csv"]).set_index("model")
    assert t.loc["mlp", "randomization_spearman"] == pytest.approx(0.05)
    assert not t.loc["mlp", "survives_randomization"] and t.loc["lasso", "survives_randomization"]
    md = out["t.md"].read_text()
    assert "0.70 **FLAGGED**" in md and "0.05" in md
    with pytest.raises(ValueError, match="no randomization"):
        cross_paper_table(str(metrics), str(out["t.csv"]), str(out["t.md"]), str(out["t.png"]),
                          randomization=rnd[rnd["model"] == "mlp"])


def test_dapr_table1_job_writes_the_randomization_check_of_its_first_split(tmp_path):
    from attrpriors.experiments.dapr import TABLE1_KEYS, _split_matrix, train_table1_model
    from attrpriors.io import save_npz

    rng = np.random.default_rng(0)
    n, p = 60, 15
    X = rng.standard_normal((n, p)).astype(np.float32)
    importance = np.r_[np.ones(3), np.zeros(p - 3)]
    d = {"X": X, "y": (X[:, :3].sum(1) + 0.3 * rng.standard_normal(n)).astype(np.float32),
         "meta_informative": np.stack([importance, rng.standard_normal(p)], 1).astype(np.float32),
         "meta_noise": rng.standard_normal((p, 2)).astype(np.float32), "importance": importance,
         "split": _split_matrix(np.arange(n).astype(str), 2, 0.2, 0.2, 0, "toy"),
         "informative_names": np.array(["driver", "other"]), "noise_names": np.array(["noise_1", "noise_2"]),
         "genes": np.array([f"g{i}" for i in range(p)]), "groups": np.arange(n).astype(str)}
    data = tmp_path / "toy.npz"
    save_npz(data, **{k: d[k] for k in TABLE1_KEYS if k in d})
    params = {"mlp": {"hidden": [8]}, "training": {"epochs": 5, "batch_size": 16, "lr": 0.01, "progress": False},
              "lasso": {"alphas": [0.01, 0.1]}}
    for model, n_layers in (("mlp", 2), ("lasso", 1)):
        out = tmp_path / f"{model}_rnd.csv"
        train_table1_model(str(data), "toy", model, params, 0, "cpu", str(tmp_path / f"{model}.csv"),
                           out_randomization=str(out), randomization={"n_explain": 8, "threshold": 0.5})
        t = pd.read_csv(out)
        assert list(t["stage"]) == list(range(n_layers + 1)) and (t["model"] == model).all()
        assert t["spearman"].iloc[0] == 1.0 and t["spearman"].iloc[-1] < 0.9
