"""A3 graph prior: the GCN layer, the graph LASSO penalty, ν balancing, the prior's effect, design and tests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from attrpriors.attributions import expected_gradients
from attrpriors.experiments import graph_prior as gp
from attrpriors.graph import laplacian
from attrpriors.models import GCN, MLP, build_model, load_model, model_checkpoint_info
from attrpriors.priors import GraphPrior
from attrpriors.training import FitConfig, fit


# ------------------------------------------------------------------------------------------------------ GCN
from attrpriors.seeds import seed_everything
def test_gcn_normalized_adjacency_matches_kipf_welling():
    edges = np.array([[0, 1], [1, 2]])
    w = np.array([1.0, 2.0])
    m = GCN(5, n_genes=4, n_edges=2, channels=2, hidden=(3,)).set_graph(edges, w)
    a = np.zeros((4, 4))
    a[0, 1] = a[1, 0] = 1.0
    a[1, 2] = a[2, 1] = 2.0
    a += np.eye(4)
    dinv = np.diag(a.sum(1) ** -0.5)
    np.testing.assert_allclose(m.normalized_adjacency().to_dense().numpy(), dinv @ a @ dinv, rtol=1e-6)


def test_gcn_mixes_neighbours_only_and_round_trips_through_a_checkpoint(tmp_path):
    seed_everything(0)
    spec = {"type": "gcn", "n_genes": 4, "n_edges": 1, "channels": 3, "hidden": [8]}
    m = build_model(spec, 6, 1).set_graph(np.array([[0, 1]]))
    x = torch.zeros(1, 6, requires_grad=True)
    z = torch.sparse.mm(m.normalized_adjacency(), x[:, :4].T).T  # the graph layer's input mixing
    (g,) = torch.autograd.grad(z[0, 0], x)
    assert g[0, 1] != 0 and g[0, 2] == 0 and g[0, 3] == 0  # gene 0 hears gene 1, not 2 or 3
    torch.save({"state_dict": m.state_dict(), **model_checkpoint_info(spec, 6, 1)}, tmp_path / "gcn.pt")
    back = load_model(tmp_path / "gcn.pt")
    xs = torch.randn(5, 6)
    torch.testing.assert_close(back(xs), m.eval()(xs))
    with pytest.raises(ValueError, match="built for 1 edges"):
        m.set_graph(np.array([[0, 1], [1, 2]]))


# --------------------------------------------------------------------------------------------- penalties
def test_graph_lasso_penalty_is_l1_plus_laplacian_quadratic_form():
    seed_everything(1)
    net = MLP(6, hidden=(), n_outputs=1)
    edges, w = np.array([[0, 1], [1, 3], [2, 4]]), np.array([1.0, 0.5, 2.0])
    pen = gp.GraphLassoPenalty(0.1, 3.0, edges, w)(net)
    weight = net.first_layer().weight.detach().numpy()[0]
    lap = laplacian(edges, w, 6).toarray()
    expected = 0.1 * np.abs(weight).sum() + 3.0 * weight @ lap @ weight
    assert float(pen.detach()) == pytest.approx(expected, rel=1e-5)


def test_graph_edges_restrict_to_measured_genes_and_dedup(tmp_path):
    path = tmp_path / "edges.tsv"
    pd.DataFrame({"gene_a": ["A", "B", "C", "A", "D"], "gene_b": ["B", "A", "C", "X", "C"],
                  "weight": [1.0, 2.0, 1.0, 1.0, 0.5]}).to_csv(path, sep="\t", index=False)
    e, w = gp.graph_edges(str(path), ["A", "B", "C", "D"])
    assert e.tolist() == [[0, 1], [2, 3]] and w.tolist() == [2.0, 0.5]  # A-B once (max weight), no C-C, no X


# ------------------------------------------------------------------------------------------ the prior works
@pytest.fixture(scope="module")
def grouped_problem():
    """y = mean of a graph-connected group of 6 features (plus noise); 14 unrelated features."""
    rng = np.random.default_rng(0)
    n, p = 300, 20
    latent = rng.standard_normal(n)
    X = rng.standard_normal((n, p)).astype(np.float32)
    X[:, :6] = latent[:, None] + 0.7 * rng.standard_normal((n, 6))
    y = (latent + 0.1 * rng.standard_normal(n)).astype(np.float32)
    edges = np.array([[i, j] for i in range(6) for j in range(i + 1, 6)])
    return X, y, edges


def _penalty(model, X, lap):
    phi = expected_gradients(model, torch.as_tensor(X[:100]), None, torch.as_tensor(X), n_samples=50,
                             generator=torch.Generator().manual_seed(0))
    phibar = phi.abs().mean(0).detach().numpy()
    return gp.quadratic_form(phibar, lap)


def test_balanced_prior_weight_equals_task_over_prior(grouped_problem):
    X, y, edges = grouped_problem
    seed_everything(0)
    net = MLP(20, hidden=(16,))
    prior = GraphPrior(edges, n_nodes=20, n_references=3, seed=0)
    b = gp.balance_prior_weight(net, prior, X, y, 32, 4, None, seed=5)
    assert b["n_batches"] == 4
    assert b["prior_weight"] * b["prior_value"] == pytest.approx(b["task_loss"])


def test_graph_prior_fine_tuning_smooths_attributions_over_the_graph(grouped_problem):
    """The paper's supplement Fig. 12 in miniature: alternating prior steps lower φ̄ᵀLφ̄ well below the same
    extra epochs without the prior."""
    X, y, edges = grouped_problem
    lap = laplacian(edges, np.ones(len(edges)), 20)
    seed_everything(0)
    base = fit(MLP(20, hidden=(16,)), X[:200], y[:200], X[200:], y[200:],
               config=FitConfig(epochs=40, batch_size=32, lr=0.01, patience=40, progress=False)).model
    state = {k: v.clone() for k, v in base.state_dict().items()}
    cfg = dict(epochs=8, batch_size=32, lr=1e-3, patience=8, progress=False, seed=3)
    plain = MLP(20, hidden=(16,))
    plain.load_state_dict(state)
    plain = fit(plain, X[:200], y[:200], X[200:], y[200:], config=FitConfig(**cfg)).model
    tuned = MLP(20, hidden=(16,))
    tuned.load_state_dict(state)
    prior = GraphPrior(edges, n_nodes=20, n_references=5, seed=1)
    nu = gp.balance_prior_weight(tuned, prior, X[:200], y[:200], 32, 3, None, seed=3)["prior_weight"]
    tuned = fit(tuned, X[:200], y[:200], X[200:], y[200:], prior=prior,
                config=FitConfig(**cfg, schedule="alternating", prior_weight=10 * nu)).model
    assert _penalty(tuned, X, lap) < 0.5 * _penalty(plain, X, lap)


# ---------------------------------------------------------------------------------------------- design
def test_design_rows_are_patient_drug_pairs_split_by_patient(tmp_path):
    patients = np.array([f"P{i}" for i in range(10)])
    X = np.arange(30, dtype=np.float32).reshape(10, 3)
    np.savez(tmp_path / "expr.npz", X=X, genes=np.array(["g1", "g2", "g3"]), patients=patients)
    rows = [(p, d, i + 10 * j) for i, p in enumerate(patients) for j, d in enumerate(["B", "A"])]
    pd.DataFrame(rows, columns=["patient", "drug", "response"]).to_csv(tmp_path / "resp.tsv", sep="\t", index=False)
    split = {"train": [f"P{i}" for i in range(6)], "val": ["P6", "P7"], "test": ["P8", "P9"]}
    (tmp_path / "split.json").write_text(json.dumps(split))
    d = gp.load_design(str(tmp_path / "expr.npz"), str(tmp_path / "resp.tsv"), str(tmp_path / "split.json"))
    assert d.drugs == ["A", "B"] and d.n_genes == 3 and d.n_inputs == 5
    assert len(d.y["train"]) == 12 and len(d.y["test"]) == 4
    assert set(d.rows["test"]["patient"]) == {"P8", "P9"}
    first = d.rows["test"].iloc[0]
    np.testing.assert_array_equal(d.X["test"][0], [24, 25, 26, first["drug"] == "A", first["drug"] == "B"])
    assert abs(d.y["train"].mean()) < 1e-6 and d.y["train"].std() == pytest.approx(1.0, rel=1e-5)


def test_welch_tests_match_scipy_and_skip_missing_models():
    rows = [("mlp", s, v) for s, v in enumerate([0.50, 0.52, 0.49])] + \
           [("mlp_graph", s, v) for s, v in enumerate([0.56, 0.55, 0.58, 0.57])]
    m = pd.DataFrame([{"experiment": "graph_prior", "model": a, "seed": s, "metric": "test_r2", "value": v}
                      for a, s, v in rows])
    t = gp.welch_tests(m)
    assert list(zip(t["model"], t["baseline"])) == [("mlp_graph", "mlp")]
    ref = stats.ttest_ind([0.56, 0.55, 0.58, 0.57], [0.50, 0.52, 0.49], equal_var=False)
    assert t["p_welch"].item() == pytest.approx(ref.pvalue) and t["t"].item() == pytest.approx(ref.statistic)
