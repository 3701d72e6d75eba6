"""Sparse graph operations (attrpriors.graph) equal the dense genes × genes code they replace, on small graphs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import sparse

from attrpriors.experiments import graph_prior as gp
from attrpriors.graph import edge_list, edges_from_adjacency, laplacian, normalized_adjacency, quadratic_form
from attrpriors.models import GCN, MLP
from attrpriors.priors import GraphPrior


def _random_graph(n: int = 12, p: float = 0.3, seed: int = 0):
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((n, n)) < p, k=1)
    edges = np.argwhere(upper)
    weights = rng.uniform(0.1, 2.0, len(edges))
    dense = np.zeros((n, n))
    dense[edges[:, 0], edges[:, 1]] = weights
    dense[edges[:, 1], edges[:, 0]] = weights
    return edges, weights, dense


def _dense_laplacian(dense: np.ndarray) -> np.ndarray:
    return np.diag(dense.sum(1)) - dense  # the dense code: torch.diag(W.sum(1)) - W


def test_laplacian_and_quadratic_form_equal_dense():
    edges, weights, dense = _random_graph()
    lap = laplacian(edges, weights, len(dense))
    assert sparse.issparse(lap)
    np.testing.assert_allclose(lap.toarray(), _dense_laplacian(dense))
    x = np.random.default_rng(1).standard_normal((3, len(dense)))
    expected = np.einsum("bi,ij,bj->b", x, _dense_laplacian(dense), x)
    np.testing.assert_allclose(quadratic_form(x, edges, weights), expected, rtol=1e-12)
    xt = torch.as_tensor(x, dtype=torch.float64, device="cpu").requires_grad_(True)
    q = quadratic_form(xt, torch.as_tensor(edges), torch.as_tensor(weights))
    np.testing.assert_allclose(q.detach().numpy(), expected, rtol=1e-12)
    (g,) = torch.autograd.grad(q.sum(), xt)
    np.testing.assert_allclose(g.numpy(), 2 * x @ _dense_laplacian(dense), rtol=1e-10)  # ∇ xᵀLx = 2Lx


def test_edges_from_any_adjacency_and_validation():
    edges, weights, dense = _random_graph(seed=2)
    for adj in (dense, torch.as_tensor(dense), sparse.csr_matrix(dense), torch.as_tensor(dense).to_sparse()):
        e, w, n = edges_from_adjacency(adj)
        assert n == len(dense)
        np.testing.assert_array_equal(e, edges)
        np.testing.assert_allclose(w, weights)
    with pytest.raises(ValueError, match="symmetric"):
        edges_from_adjacency(np.triu(dense))
    with pytest.raises(ValueError, match="more than once"):
        edge_list([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        edge_list([[0, 3]], n_nodes=3)


def _old_dense_graph_prior_penalty(phi: torch.Tensor, dense: np.ndarray) -> torch.Tensor:
    """The penalty as the dense code computed it: φ̄ᵀ (diag(W1) − W) φ̄ with a genes × genes matrix."""
    w = torch.as_tensor(dense, dtype=phi.dtype)
    lap = torch.diag(w.sum(dim=1)) - w
    phibar = phi.abs().mean(dim=0).reshape(-1)
    return phibar @ (lap @ phibar)


def test_graph_prior_equals_dense_code_value_and_gradient():
    edges, weights, dense = _random_graph(n=10, seed=3)
    torch.manual_seed(0)
    model = MLP(12, hidden=(8,))
    x = torch.randn(32, 12)
    kw = dict(n_references=4, input_slice=slice(0, 10), seed=7)
    sparse_prior = GraphPrior(edges, weights, n_nodes=10, **kw)
    omega = sparse_prior(model, x, None)
    (g_sparse,) = torch.autograd.grad(omega, model.first_layer().weight)
    dense_prior = GraphPrior(edges, weights, n_nodes=10, **kw)  # same α draws; penalty swapped for the dense one
    dense_prior.penalty = lambda phi: _old_dense_graph_prior_penalty(phi, dense)
    omega_dense = dense_prior(model, x, None)
    (g_dense,) = torch.autograd.grad(omega_dense, model.first_layer().weight)
    torch.testing.assert_close(omega, omega_dense, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(g_sparse, g_dense, rtol=1e-4, atol=1e-7)
    # the same graph handed over as a sparse adjacency
    torch.testing.assert_close(GraphPrior.from_adjacency(sparse.csr_matrix(dense), **kw)(model, x, None), omega)


def test_graph_prior_memory_is_linear_in_edges():
    """200,000 genes with 10 edges: a dense Laplacian would be 160 GB; the prior holds 3 numbers per edge."""
    n = 200_000
    edges = np.stack([np.arange(10), np.arange(10) + 1], axis=1)
    prior = GraphPrior(edges, n_nodes=n, n_references=1)
    assert sum(b.numel() for b in prior.buffers()) == 3 * len(edges)
    phi = torch.zeros(2, n)
    phi[:, 0] = 1.0
    assert prior._graph(phi).item() == 1.0  # (φ̄₀ − φ̄₁)² with φ̄₀ = 1
    with pytest.raises(ValueError, match="200000 nodes"):
        prior._graph(torch.zeros(2, 5))


def test_graph_lasso_penalty_equals_dense_quadratic_form():
    edges, weights, dense = _random_graph(n=8, seed=4)
    torch.manual_seed(1)
    net = MLP(8, hidden=(), n_outputs=1)
    w = net.first_layer().weight.detach().numpy()[0].astype(np.float64)
    pen = gp.GraphLassoPenalty(0.0, 1.0, edges, weights)(net)
    assert float(pen.detach()) == pytest.approx(w @ _dense_laplacian(dense) @ w, rel=1e-5)


def test_gcn_forward_equals_dense_graph_convolution():
    edges, weights, dense = _random_graph(n=9, seed=5)
    torch.manual_seed(2)
    m = GCN(11, n_genes=9, n_edges=len(edges), channels=3, hidden=(4,)).set_graph(edges, weights).eval()
    a = dense + np.eye(9)
    dinv = np.diag(a.sum(1) ** -0.5)
    a_hat = torch.as_tensor(dinv @ a @ dinv, dtype=torch.float32)
    x = torch.randn(5, 11)
    z = x[:, :9] @ a_hat.T  # dense Â x per sample
    h = torch.relu(z[:, :, None] * m.graph_weight + m.graph_bias).reshape(5, -1)
    expected = m.head(torch.cat([h, x[:, 9:]], dim=1))
    torch.testing.assert_close(m(x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(normalized_adjacency(m.edge_index, m.edge_weight, 9).to_dense().numpy(),
                               a_hat.numpy(), rtol=1e-6)
    # the cached adjacency follows a new graph
    assert m.normalized_adjacency() is m.normalized_adjacency()
    m.set_graph(edges, 2 * weights)
    a2 = 2 * dense + np.eye(9)
    d2 = np.diag(a2.sum(1) ** -0.5)
    np.testing.assert_allclose(m.normalized_adjacency().to_dense().numpy(), d2 @ a2 @ d2, rtol=1e-6)


def test_gcn_graph_convolution_gradients_equal_dense_to_second_order():
    """The symmetric sparse product's custom backward: input gradients (EG) and double backprop (priors)."""
    edges, weights, dense = _random_graph(n=7, seed=6)
    torch.manual_seed(3)
    m = GCN(7, n_genes=7, n_edges=len(edges), channels=2, hidden=(5,), activation="softplus")
    m = m.set_graph(edges, weights).double()
    a = dense + np.eye(7)
    dinv = np.diag(a.sum(1) ** -0.5)
    a_hat = torch.as_tensor(dinv @ a @ dinv)

    def dense_forward(x):
        h = torch.nn.functional.softplus((x @ a_hat.T)[:, :, None] * m.graph_weight + m.graph_bias)
        return m.head(h.reshape(len(x), -1))

    x = torch.randn(4, 7, dtype=torch.float64, requires_grad=True)
    (g_sparse,) = torch.autograd.grad(m(x).sum(), x, create_graph=True)
    (g_dense,) = torch.autograd.grad(dense_forward(x).sum(), x, create_graph=True)
    torch.testing.assert_close(g_sparse, g_dense)
    (gg_sparse,) = torch.autograd.grad(g_sparse.pow(2).sum(), m.graph_weight)
    (gg_dense,) = torch.autograd.grad(g_dense.pow(2).sum(), m.graph_weight)
    torch.testing.assert_close(gg_sparse, gg_dense)


def test_gcn_with_a_built_adjacency_cache_deep_copies_and_pickles():
    """The randomization sanity check deep-copies models: a used GCN (cached CSR adjacency) must copy, and the
    copy must compute the same function from its own buffers."""
    import copy
    import io

    edges, weights, _ = _random_graph(n=9, seed=5)
    torch.manual_seed(2)
    m = GCN(11, n_genes=9, n_edges=len(edges), channels=3, hidden=(4,)).set_graph(edges, weights).eval()
    x = torch.randn(5, 11)
    y = m(x)  # builds the cache
    c = copy.deepcopy(m)
    assert "_adjacency_cache" not in c.__dict__
    torch.testing.assert_close(c(x), y)
    buf = io.BytesIO()
    torch.save(m, buf)
    buf.seek(0)
    torch.testing.assert_close(torch.load(buf, weights_only=False)(x), y)
    assert "_adjacency_cache" in m.__dict__  # the original keeps its cache
