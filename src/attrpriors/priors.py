"""Attribution priors: penalties Ω(φ) on expected-gradients attributions, and the object the fit loop uses.

An :class:`AttributionPrior` computes differentiable EG attributions of a batch (k references per sample,
the batch rolled by 1..k as references, as in the reference implementation) and scores them with a
penalty function ``Ω(φ) -> scalar``. The fit loop in :mod:`attrpriors.training` adds ``λ · Ω`` to the task
loss (joint schedule) or takes a separate optimiser step on it (alternating schedule).

Penalties here (Erion et al. 2019):

* :func:`graph_penalty` — ``φ̄ᵀ L φ̄`` with ``φ̄`` the mean |EG| over the batch and ``L = D − W``;
* :func:`total_variation_penalty` — anisotropic total variation of standardised image attribution maps;
* :func:`gini_penalty` — ``−Gini(φ̄)`` written differentiably;
* :func:`l1_penalty`, :func:`l2_penalty` — on the mean |EG| vector.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import Tensor, nn

from .attributions import expected_gradients

__all__ = [
    "AttributionPrior",
    "graph_penalty",
    "laplacian",
    "total_variation_penalty",
    "gini",
    "gini_penalty",
    "l1_penalty",
    "l2_penalty",
    "PENALTIES",
]


def mean_abs(phi: Tensor) -> Tensor:
    """φ̄: the mean over samples of |φ|, flattened to one value per feature."""
    return phi.abs().mean(dim=0).reshape(-1)


def laplacian(adjacency: Tensor) -> Tensor:
    """Graph Laplacian ``L = D − W`` of a symmetric, non-negative adjacency matrix."""
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(f"adjacency must be square, got shape {tuple(adjacency.shape)}")
    return torch.diag(adjacency.sum(dim=1)) - adjacency


def graph_penalty(phi: Tensor, lap: Tensor, feature_index: Tensor | None = None) -> Tensor:
    """``φ̄ᵀ L φ̄`` over the graph's features (``feature_index`` selects them from the input columns)."""
    phibar = mean_abs(phi)
    if feature_index is not None:
        phibar = phibar[feature_index]
    return phibar @ (lap @ phibar)


def total_variation_penalty(phi: Tensor, eps: float = 1e-8) -> Tensor:
    """Σ over images and channels of the anisotropic TV of φ / std(φ) (per image), averaged over the batch.

    Dividing by each map's standard deviation first stops the prior from being met by shrinking φ.
    ``phi``: ``(B, C, H, W)`` or ``(B, H, W)``.
    """
    if phi.ndim == 3:
        phi = phi[:, None]
    if phi.ndim != 4:
        raise ValueError(f"total variation needs (B, C, H, W) maps, got shape {tuple(phi.shape)}")
    std = phi.flatten(1).std(dim=1).clamp_min(eps).reshape(-1, 1, 1, 1)
    z = phi / std
    tv = (z[:, :, 1:, :] - z[:, :, :-1, :]).abs().sum(dim=(1, 2, 3)) + (z[:, :, :, 1:] - z[:, :, :, :-1]).abs().sum(
        dim=(1, 2, 3)
    )
    return tv.mean()


def gini(values: Tensor, eps: float = 1e-12) -> Tensor:
    """Gini coefficient of non-negative ``values``: Σᵢ Σⱼ |vᵢ − vⱼ| / (2 p Σᵢ vᵢ), in [0, 1 − 1/p].

    This is the paper's formula (mean absolute difference over twice the mean); 0 is perfectly even,
    1 − 1/p all mass on one feature.
    """
    v = values.reshape(-1)
    p = v.numel()
    return (v[:, None] - v[None, :]).abs().sum() / (2 * p * v.sum() + eps)


def gini_penalty(phi: Tensor) -> Tensor:
    """``−Gini(φ̄)``: lower when fewer features carry the attribution mass."""
    return -gini(mean_abs(phi))


def l1_penalty(phi: Tensor) -> Tensor:
    """‖φ̄‖₁."""
    return mean_abs(phi).sum()


def l2_penalty(phi: Tensor) -> Tensor:
    """‖φ̄‖₂²."""
    return mean_abs(phi).pow(2).sum()


PENALTIES: dict[str, Callable[[Tensor], Tensor]] = {
    "total_variation": total_variation_penalty,
    "gini": gini_penalty,
    "l1": l1_penalty,
    "l2": l2_penalty,
}


class AttributionPrior(nn.Module):
    """``Ω(EG(f, batch))`` with k batch-rolled references, differentiable through the model (double backprop).

    Parameters
    ----------
    penalty : a function ``Ω(φ) -> scalar`` (see :data:`PENALTIES`) or a name in it.
    n_references : k, the number of (reference, α) draws per sample.
    background : optional ``(N, ...)`` reference set; ``None`` rolls the batch (no extra data loading).
    input_slice : attribute only these input columns (e.g. genes, not the one-hot drug); the rest are
        still model inputs.
    seed : seeds the α draws (and reference draws from ``background``).

    The module may own parameters (a learned prior such as DAPr does); the fit loop gives them their own
    optimiser.
    """

    def __init__(
        self,
        penalty: Callable[[Tensor], Tensor] | str,
        n_references: int = 1,
        background: Tensor | None = None,
        input_slice: slice | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if isinstance(penalty, str):
            try:
                penalty = PENALTIES[penalty]
            except KeyError:
                raise ValueError(f"unknown prior penalty {penalty!r}; known: {sorted(PENALTIES)}") from None
        self.penalty = penalty
        self.n_references = n_references
        self.background = background
        self.input_slice = input_slice
        self.seed = seed
        self._generator: torch.Generator | None = None

    def generator(self, device: torch.device) -> torch.Generator:
        if self._generator is None:
            self._generator = torch.Generator(device="cpu").manual_seed(self.seed)
        return self._generator

    def attributions(self, model: nn.Module, x: Tensor, y: Tensor | None, task: str) -> Tensor:
        target = y.long() if task == "classification" else None
        phi = expected_gradients(
            model,
            x,
            target,
            self.background,
            n_samples=self.n_references,
            create_graph=True,
            generator=self.generator(x.device),
        )
        if self.input_slice is not None:
            phi = phi[:, self.input_slice]
        return phi

    def forward(self, model: nn.Module, x: Tensor, y: Tensor | None, task: str = "regression") -> Tensor:
        return self.penalty(self.attributions(model, x, y, task))

    def extra_parameters(self) -> Iterable[nn.Parameter]:
        """Parameters of a learned prior (none here); trained by their own optimiser."""
        return [p for p in self.parameters() if p.requires_grad]


class GraphPrior(AttributionPrior):
    """The graph attribution prior ``φ̄ᵀ L φ̄`` on a gene–gene graph (adjacency over the attributed columns)."""

    def __init__(self, adjacency: Tensor, **kwargs) -> None:
        super().__init__(penalty=self._graph, **kwargs)
        self.register_buffer("lap", laplacian(torch.as_tensor(adjacency, dtype=torch.float32)))

    def _graph(self, phi: Tensor) -> Tensor:
        return graph_penalty(phi, self.lap.to(phi.device, phi.dtype))
