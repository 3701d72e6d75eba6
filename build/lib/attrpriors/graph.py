"""Graph operations on edge lists: the one graph Laplacian, its quadratic form, the GCN's normalised adjacency.

A gene graph is an edge list: ``edges`` (E × 2 node indices, each undirected edge once) and ``weights`` (E,).
Everything here costs O(E) memory and time, never O(n²): at paper scale (about 16,000 genes, a million edges)
a dense genes × genes matrix would be 1 GB in float32 and every ``L @ φ̄`` 256 M multiply-adds, most of them by 0.

* :func:`laplacian` — ``L = D − W`` as a scipy CSR matrix (the only Laplacian of the project);
* :func:`quadratic_form` — ``xᵀ L x = Σ_edges w (x_a − x_b)²`` for numpy arrays and (differentiably) torch tensors,
  the penalty of the graph attribution prior and of the graph LASSO;
* :func:`normalized_adjacency` — the GCN's ``D̃^{-1/2}(A + I)D̃^{-1/2}`` as a sparse torch tensor;
* :func:`edges_from_adjacency` — an edge list from a (scipy / torch sparse, or small dense) symmetric adjacency.

Torch is imported only by the functions that build torch objects, so importing this module is cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["edge_list", "edges_from_adjacency", "laplacian", "quadratic_form", "normalized_adjacency"]


def edge_list(edges: Any, weights: Any = None, n_nodes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(edges, weights)`` as ``int64 (E, 2)`` and ``float64 (E,)``; weights default to 1.

    Checks the shape, that indices lie in ``[0, n_nodes)`` (when given), that weights are non-negative and that
    no undirected edge is listed twice (``(a, b)`` and ``(b, a)`` count as the same edge): a repeated edge would
    count twice in :func:`quadratic_form` but once in a dense adjacency.
    """
    e = np.asarray(edges.cpu() if hasattr(edges, "cpu") else edges, dtype=np.int64)
    if e.size == 0:
        e = e.reshape(0, 2)
    if e.ndim != 2 or e.shape[1] != 2:
        raise ValueError(f"edges must be an (E, 2) array of node indices, got shape {e.shape}")
    w = np.ones(len(e)) if weights is None else np.asarray(
        weights.cpu() if hasattr(weights, "cpu") else weights, dtype=np.float64).reshape(-1)
    if len(w) != len(e):
        raise ValueError(f"{len(e)} edges but {len(w)} weights")
    if len(e):
        if e.min() < 0 or (n_nodes is not None and e.max() >= n_nodes):
            raise ValueError(f"edge indices must lie in [0, {n_nodes}), got [{e.min()}, {e.max()}]")
        if (w < 0).any():
            raise ValueError("edge weights must be non-negative")
        key = np.minimum(e[:, 0], e[:, 1]) * (int(e.max()) + 1) + np.maximum(e[:, 0], e[:, 1])
        if len(np.unique(key)) != len(key):
            raise ValueError("an undirected edge is listed more than once (list each pair once)")
    return e, w


def edges_from_adjacency(adjacency: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """``(edges, weights, n)`` of a symmetric adjacency: scipy sparse, torch sparse or dense (numpy / torch).

    Each undirected edge is the upper-triangle entry ``(i < j)``; the diagonal (self-loops: 0 in ``xᵀLx``) is
    dropped. A dense input is for small graphs (tests); large graphs should arrive sparse.
    """
    from scipy import sparse

    if hasattr(adjacency, "is_sparse") and (adjacency.is_sparse or adjacency.layout != _torch_strided()):
        a = adjacency.coalesce() if adjacency.is_sparse else adjacency.to_sparse_coo().coalesce()
        idx, val = a.indices().cpu().numpy(), a.values().detach().cpu().numpy()
        m = sparse.coo_matrix((val, (idx[0], idx[1])), shape=tuple(a.shape))
    elif sparse.issparse(adjacency):
        m = adjacency.tocoo()
    else:
        dense = np.asarray(adjacency.detach().cpu() if hasattr(adjacency, "detach") else adjacency, dtype=np.float64)
        m = sparse.coo_matrix(dense)
    if m.shape[0] != m.shape[1]:
        raise ValueError(f"adjacency must be square, got shape {m.shape}")
    m = m.tocsr()
    if abs(m - m.T).max() > 1e-6 * max(1.0, abs(m).max()):
        raise ValueError("adjacency must be symmetric")
    upper = sparse.triu(m, k=1).tocoo()
    keep = upper.data != 0
    return (np.stack([upper.row[keep], upper.col[keep]], axis=1).astype(np.int64), upper.data[keep].astype(np.float64),
            int(m.shape[0]))


def _torch_strided():
    import torch

    return torch.strided


def laplacian(edges: Any, weights: Any, n_nodes: int):
    """Sparse ``L = D − W`` (scipy CSR, ``n_nodes × n_nodes``) of an undirected weighted graph."""
    from scipy import sparse

    e, w = np.asarray(edges, dtype=np.int64).reshape(-1, 2), np.asarray(weights, dtype=np.float64).reshape(-1)
    a = sparse.coo_matrix((w, (e[:, 0], e[:, 1])), shape=(n_nodes, n_nodes))
    a = (a + a.T).tocsr()
    return (sparse.diags(np.asarray(a.sum(axis=1)).ravel()) - a).tocsr()


def quadratic_form(x: Any, edges: Any, weights: Any) -> Any:
    """``xᵀ L x = Σ_edges w (x_a − x_b)²`` over the last axis of ``x`` (numpy or torch; differentiable in torch).

    ``edges``/``weights`` of the same kind as ``x`` (torch tensors on ``x``'s device for torch ``x``: see
    :class:`attrpriors.priors.GraphPrior`, which keeps them as buffers). O(E) time and memory.
    """
    a, b = edges[:, 0], edges[:, 1]
    return (weights * (x[..., a] - x[..., b]) ** 2).sum(-1)


def normalized_adjacency(edges: Any, weights: Any, n_nodes: int):
    """``Â = D̃^{-1/2}(A + I)D̃^{-1/2}`` (Kipf & Welling: self-loops added, weighted degrees) as a coalesced sparse
    COO torch tensor; ``edges`` a ``(2, E)`` long tensor, ``weights`` an ``(E,)`` tensor on the same device."""
    import torch

    dev = weights.device
    src, dst = edges[0], edges[1]
    loops = torch.arange(n_nodes, device=dev)
    rows = torch.cat([src, dst, loops])
    cols = torch.cat([dst, src, loops])
    vals = torch.cat([weights, weights, torch.ones(n_nodes, device=dev, dtype=weights.dtype)])
    deg = torch.zeros(n_nodes, device=dev, dtype=weights.dtype).index_add_(0, rows, vals)
    dinv = deg.pow(-0.5)
    return torch.sparse_coo_tensor(torch.stack([rows, cols]), dinv[rows] * vals * dinv[cols], (n_nodes, n_nodes),
                                   check_invariants=False).coalesce()


_SPMM = None


def symmetric_spmm(a, x):
    """``a @ x`` for a symmetric sparse (CSR) ``a`` and dense ``x``, differentiable in ``x`` to any order.

    The gradient of ``a @ x`` is ``aᵀ g = a @ g``: the backward pass is the same sparse product (torch's generic
    sparse backward is several times slower on CPU). Used by the GCN's graph convolution.
    """
    global _SPMM
    if _SPMM is None:
        import torch

        class SymmetricSpMM(torch.autograd.Function):
            @staticmethod
            def forward(ctx, a, x):
                ctx.a = a
                return a @ x

            @staticmethod
            def backward(ctx, grad):
                return None, SymmetricSpMM.apply(ctx.a, grad)

        _SPMM = SymmetricSpMM
    return _SPMM.apply(a, x)
