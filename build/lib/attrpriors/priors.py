"""Attribution priors: penalties Ω(φ) on expected-gradients attributions, and the object the fit loop uses.

An :class:`AttributionPrior` computes differentiable EG attributions of a batch (k references per sample,
the batch rolled by 1..k as references, as in the reference implementation) and scores them with a
penalty function ``Ω(φ) -> scalar``. The fit loop in :mod:`attrpriors.training` adds ``λ · Ω`` to the task
loss (joint schedule) or takes a separate optimiser step on it (alternating schedule).

Penalties here (Erion et al. 2019):

* :func:`graph_penalty` — ``φ̄ᵀ L φ̄`` with ``φ̄`` the mean |EG| over the batch and ``L = D − W``, from the
  graph's edge list (:func:`attrpriors.graph.quadratic_form`: O(edges), no genes × genes matrix);
* :func:`total_variation_penalty` — anisotropic total variation of standardised image attribution maps;
* :func:`gini_penalty` — ``−Gini(φ̄)`` written differentiably;
* :func:`l1_penalty`, :func:`l2_penalty` — on the mean |EG| vector.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import Tensor, nn

from .attributions import TargetRequired, expected_gradients

__all__ = [
    "AttributionPrior",
    "graph_penalty",
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


def graph_penalty(phi: Tensor, edges: Tensor, weights: Tensor) -> Tensor:
    """``φ̄ᵀ L φ̄ = Σ_edges w (φ̄_a − φ̄_b)²`` with ``φ̄`` the mean |φ| over the batch (edges: (E, 2) long tensor)."""
    from .graph import quadratic_form

    return quadratic_form(mean_abs(phi), edges, weights)


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

    def attributions(self, model: nn.Module, x: Tensor, y: Tensor | None = None, task: str = "regression") -> Tensor:
        if task not in ("regression", "classification"):
            raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
        if task == "classification" and y is None:
            raise ValueError("a classifier's prior explains the logit of each sample's class: pass its labels, "
                             "prior(model, x, y, task='classification')")
        target = y.long() if task == "classification" else None
        try:
            phi = expected_gradients(
                model,
                x,
                target,
                self.background,
                n_samples=self.n_references,
                create_graph=True,
                generator=self.generator(x.device),
            )
        except TargetRequired as e:
            raise ValueError(f"{e.args[0].split(':')[0]}: for a classifier call prior(model, x, y, "
                             "task='classification') so that each sample's own class is explained") from None
        if self.input_slice is not None:
            phi = phi[:, self.input_slice]
        return phi

    def forward(self, model: nn.Module, x: Tensor, y: Tensor | None = None, task: str = "regression") -> Tensor:
        """``Ω(EG(model, x))``; ``y`` (the labels) and ``task='classification'`` for a classifier, nothing more for a
        single-output regression model."""
        return self.penalty(self.attributions(model, x, y, task))

    def extra_parameters(self) -> Iterable[nn.Parameter]:
        """Parameters of a learned prior (none here); trained by their own optimiser."""
        return [p for p in self.parameters() if p.requires_grad]


class GraphPrior(AttributionPrior):
    """The graph attribution prior ``φ̄ᵀ L φ̄`` on a gene–gene graph over the attributed columns.

    ``edges`` (E × 2 node indices, each undirected edge once) and ``weights`` (E,; default 1) are the graph; the
    penalty is ``Σ_edges w (φ̄_a − φ̄_b)²`` (= ``φ̄ᵀ(D − W)φ̄``), O(E) per batch: no dense genes × genes Laplacian
    is built. :meth:`from_adjacency` takes a scipy / torch sparse (or small dense) symmetric adjacency instead.
    """

    def __init__(self, edges, weights=None, n_nodes: int | None = None, **kwargs) -> None:
        from .graph import edge_list

        super().__init__(penalty=self._graph, **kwargs)
        e, w = edge_list(edges, weights, n_nodes)
        self.n_nodes = n_nodes
        self.register_buffer("edges", torch.as_tensor(e, dtype=torch.long))
        self.register_buffer("weights", torch.as_tensor(w, dtype=torch.float32))

    @classmethod
    def from_adjacency(cls, adjacency, **kwargs) -> "GraphPrior":
        from .graph import edges_from_adjacency

        e, w, n = edges_from_adjacency(adjacency)
        return cls(e, w, n_nodes=n, **kwargs)

    def _graph(self, phi: Tensor) -> Tensor:
        phibar = mean_abs(phi)
        if self.n_nodes is not None and phibar.numel() != self.n_nodes:
            raise ValueError(f"the graph has {self.n_nodes} nodes but the attributions {phibar.numel()} features "
                             "(set input_slice to the graph's columns)")
        from .graph import quadratic_form

        return quadratic_form(phibar, self.edges.to(phi.device), self.weights.to(phi.device, phi.dtype))


# ---------------------------------------------------------------------------------------------------------
# Deep attribution priors (Weinberger et al. 2020) and meta-feature priors on weights (MERGE, Lee et al. 2018)
# ---------------------------------------------------------------------------------------------------------
def build_prior_model(spec: dict | None, n_meta: int) -> nn.Module:
    """The prior model g: ``R^k → R`` (one predicted importance per feature) from a config mapping.

    ``{"type": "linear"}`` is ``g(m) = βᵀm + β₀``; ``{"type": "mlp", "hidden": [5, 3], "activation": "relu"}``
    an MLP (the paper's AML prior has hidden layers of 5 and 3 units, its AD prior one of 4).
    Returns a module mapping ``(p, k) → (p,)``.
    """
    from .models import MLP

    spec = dict(spec or {"type": "linear"})
    kind = spec.pop("type", "linear")
    if n_meta < 1:
        raise ValueError(f"the prior model needs at least one meta-feature, got {n_meta}")
    if kind == "linear":
        if spec:
            raise ValueError(f"a linear prior model takes no options, got {sorted(spec)}")
        return MLP(n_meta, hidden=(), n_outputs=1)
    if kind == "mlp":
        unknown = sorted(set(spec) - {"hidden", "activation", "dropout"})
        if unknown:
            raise ValueError(f"unknown prior model option(s) {unknown}; known: activation, dropout, hidden")
        return MLP(n_meta, n_outputs=1, **spec)
    raise ValueError(f"unknown prior model type {kind!r}; use 'linear' or 'mlp'")


def dapr_penalty(phi: Tensor, predicted: Tensor, absolute: bool = False) -> Tensor:
    """``mean_{x, i} |φ_i(x) − ĝ_i|``: the DAPr penalty of attributions ``φ`` (B × p) against ``ĝ = G(M)`` (p).

    ``absolute=True`` compares ``|φ|`` (the public AML / AD code); ``False`` the signed attributions (the public
    two-moons code). The mean over samples and features is the public code's normalisation of the paper's
    ``Σ_x ‖Φ(f, x) − G(M)‖₁``.
    """
    phi = phi.reshape(phi.shape[0], -1)
    if phi.shape[1] != predicted.numel():
        raise ValueError(f"attributions have {phi.shape[1]} features but the prior predicts {predicted.numel()}")
    if absolute:
        phi = phi.abs()
    return (phi - predicted.reshape(1, -1)).abs().mean()


class DAPrPrior(AttributionPrior):
    """Deep attribution prior: ``Ω = mean |EG(f, x) − G(M)|`` with a learned prior model g.

    ``M`` (p × k) holds k meta-features for each of the p attributed input features; ``G(M)`` applies g to
    every row, giving one predicted global importance per feature. EG uses ``n_references`` (default 1)
    batch-rolled references and ``create_graph=True``, so the penalty's gradient reaches both f (double
    back-propagation) and g. g's parameters are returned by :meth:`extra_parameters`, so
    :func:`attrpriors.training.fit` trains them with their own Adam (``FitConfig.prior_lr``): ``joint`` —
    one backward pass of ``task + λΩ`` and both optimisers step (the public code); ``alternating`` — a task
    step on f, then a step of both on ``λΩ`` (the paper's text). Early stopping restores g with f.

    Parameters
    ----------
    meta_features : ``(p, k)`` array of meta-features (rows in the order of the attributed input columns).
    prior_model : config mapping for :func:`build_prior_model` (default linear), or a ready ``nn.Module``
        mapping ``(p, k) → (p,)``.
    absolute : compare ``|EG|`` (True) or signed EG (False) with ``G(M)``.
    **kwargs : :class:`AttributionPrior` options (``n_references``, ``background``, ``input_slice``, ``seed``).
    """

    def __init__(self, meta_features, prior_model: dict | nn.Module | None = None, absolute: bool = False,
                 n_references: int = 1, **kwargs) -> None:
        super().__init__(penalty=self._dapr, n_references=n_references, **kwargs)
        meta = torch.as_tensor(meta_features, dtype=torch.float32)
        if meta.ndim != 2:
            raise ValueError(f"meta_features must be a (p, k) matrix, got shape {tuple(meta.shape)}")
        if not torch.isfinite(meta).all():
            raise ValueError("meta_features contain NaN or infinite values")
        self.register_buffer("meta", meta)
        self.g = prior_model if isinstance(prior_model, nn.Module) else build_prior_model(prior_model, meta.shape[1])
        self.absolute = bool(absolute)

    def predicted_importance(self, meta: Tensor | None = None) -> Tensor:
        """``G(M)``: the prior model's predicted importance of every feature, shape ``(p,)``."""
        m = self.meta if meta is None else torch.as_tensor(meta, dtype=self.meta.dtype, device=self.meta.device)
        return self.g(m).reshape(-1)

    def _dapr(self, phi: Tensor) -> Tensor:
        return dapr_penalty(phi, self.predicted_importance().to(phi.dtype), self.absolute)


def first_layer_weight(model: nn.Module) -> Tensor:
    """The first layer's weight as ``(outputs, inputs)`` (``model.first_layer()`` if it has one)."""
    layer = model.first_layer() if hasattr(model, "first_layer") else next(
        m for m in model.modules() if isinstance(m, nn.Linear))
    return layer.weight.reshape(layer.weight.shape[0], -1)


class MetaWeightPrior(nn.Module):
    """MERGE's prior on weights (Lee et al. 2018): ``Ω = mean_j (w_j − g(M_j))²`` with g linear in M.

    ``w_j`` is the first-layer weight of input j (a linear f has one output; for several first-layer units every
    unit's weight row is pulled toward the same ``G(M)``). g's parameters are learned jointly (returned by
    :meth:`extra_parameters`); MERGE alternates the two least-squares problems to convergence, which minimises
    the same objective. Called as ``prior(model, x, y, task)`` by the fit loop; ``x, y, task`` are unused.
    """

    def __init__(self, meta_features, prior_model: dict | nn.Module | None = None) -> None:
        super().__init__()
        meta = torch.as_tensor(meta_features, dtype=torch.float32)
        if meta.ndim != 2:
            raise ValueError(f"meta_features must be a (p, k) matrix, got shape {tuple(meta.shape)}")
        self.register_buffer("meta", meta)
        self.g = prior_model if isinstance(prior_model, nn.Module) else build_prior_model(prior_model, meta.shape[1])

    def predicted_importance(self) -> Tensor:
        return self.g(self.meta).reshape(-1)

    def forward(self, model: nn.Module, x: Tensor | None = None, y: Tensor | None = None,
                task: str = "regression") -> Tensor:
        w = first_layer_weight(model)
        if w.shape[1] != self.meta.shape[0]:
            raise ValueError(f"the first layer has {w.shape[1]} inputs but there are {self.meta.shape[0]} "
                             "meta-feature rows")
        return (w - self.predicted_importance()[None, :]).pow(2).mean()

    def extra_parameters(self) -> Iterable[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]


def weight_l1(model: nn.Module, biases: bool = False) -> Tensor:
    """Σ |w| over the weight matrices (not biases) of every linear / convolutional layer; ``biases=True``: over
    every trainable parameter, biases included (what the original graph-prior code regularises:
    ``l1_regularizer`` on all ``tf.trainable_variables()``)."""
    if biases:
        return sum(p.abs().sum() for p in model.parameters() if p.requires_grad)
    return sum(m.weight.abs().sum() for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)))


def weight_l2(model: nn.Module) -> Tensor:
    """Σ w² over the weight matrices (not biases) of every linear / convolutional layer."""
    return sum(m.weight.pow(2).sum() for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)))


__all__ += ["build_prior_model", "dapr_penalty", "DAPrPrior", "MetaWeightPrior", "first_layer_weight",
            "weight_l1", "weight_l2"]


# ---------------------------------------------------------------------------------------------------------
# Pixel and sparsity priors (Erion et al. 2019, Figs. 1 and 3): eval-mode attributions, weight regularisers
# ---------------------------------------------------------------------------------------------------------
class EvalModeAttributionPrior(AttributionPrior):
    """An :class:`AttributionPrior` whose EG is computed with the model in eval mode (dropout off).

    Erion et al. (MNIST): "Dropout is turned off when calculating the gradients with respect to the
    attributions." The model's train/eval state is restored afterwards; the penalty stays differentiable.
    """

    def attributions(self, model: nn.Module, x: Tensor, y: Tensor | None = None, task: str = "regression") -> Tensor:
        was_training = model.training
        model.eval()
        try:
            return super().attributions(model, x, y, task)
        finally:
            model.train(was_training)


def l1_first_layer_penalty(model: nn.Module) -> Tensor:
    """‖W₁‖₁: the L1 norm of the first layer's weight (no biases)."""
    return first_layer_weight(model).abs().sum()


def sparse_group_lasso(weight: Tensor) -> Tensor:
    """Sparse group lasso of a first-layer weight ``(outputs, inputs)`` with one group per input feature:

        SGL(W) = ‖W‖₁ + Σⱼ √gⱼ ‖W[:, j]‖₂,   gⱼ = number of weights in group j (= outputs),

    the L1 and group terms with equal weight and the √(group size) factor of Scardapane et al. (2017). A group
    is every weight leaving input feature j, so a whole feature can be switched off (the paper's text; its
    public code groups the weights entering each hidden unit instead).
    """
    w = weight.reshape(weight.shape[0], -1)
    return w.abs().sum() + (w.shape[0] ** 0.5) * w.norm(dim=0).sum()


def sgl_first_layer_penalty(model: nn.Module) -> Tensor:
    """:func:`sparse_group_lasso` of the model's first layer."""
    return sparse_group_lasso(first_layer_weight(model))


#: Weight regularisers by name, ``penalty(model) -> scalar`` (multiply by λ for the fit loop's ``weight_penalty``).
WEIGHT_PENALTIES: dict[str, Callable[[nn.Module], Tensor]] = {
    "l1_first": l1_first_layer_penalty,
    "l1_all": weight_l1,
    "sgl": sgl_first_layer_penalty,
}


def make_weight_penalty(kind: str, strength: float) -> Callable[[nn.Module], Tensor]:
    """``model -> strength · WEIGHT_PENALTIES[kind](model)``, for :func:`attrpriors.training.fit`'s ``weight_penalty``."""
    try:
        fn = WEIGHT_PENALTIES[kind]
    except KeyError:
        raise ValueError(f"unknown weight penalty {kind!r}; known: {sorted(WEIGHT_PENALTIES)}") from None
    strength = float(strength)
    return lambda model: strength * fn(model)


__all__ += ["EvalModeAttributionPrior", "l1_first_layer_penalty", "sparse_group_lasso", "sgl_first_layer_penalty",
            "WEIGHT_PENALTIES", "make_weight_penalty"]
