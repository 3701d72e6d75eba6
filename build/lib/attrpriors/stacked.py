"""Many tiny MLPs trained at once: weights stacked along a leading model axis, batched matmuls.

The sparsity prior's small-data protocol (Erion et al. 2019, Fig. 3) trains hundreds of binary classifiers on
100 patients each (a strength grid per penalty, then many restarts with the chosen strength). One such model
is far too small to keep a CPU busy, so :class:`StackedMLP` holds ``M`` independent networks of one
architecture and evaluates them together with ``torch.baddbmm``; :func:`stacked_expected_gradients` computes
expected gradients for all of them in one (differentiable) pass and :func:`train_stacked` trains them with
one Adam over the stacked parameters.

The models stay independent: the loss is the sum of the per-model losses, so each model's gradient is its
own; Adam is element-wise; every random draw of model ``m`` (initialisation, data order, EG references and
α, dropout masks) comes from its own seed. Training ``M`` models in a stack therefore gives, to float
tolerance, the same models as training each one alone with its seed (tested).

Every model has ONE output logit (a binary classifier trained with a binary cross-entropy, the head of the
original sparsity code); expected gradients explain that logit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["StackedMLP", "StackedPenalties", "stacked_expected_gradients", "stacked_roc_auc", "train_stacked",
           "StackedFit"]

_ACT = {"relu": torch.relu, "tanh": torch.tanh, "elu": nn.functional.elu, "softplus": nn.functional.softplus}


class StackedMLP(nn.Module):
    """``M`` MLPs ``p → hidden… → 1`` with stacked weights ``W_l: (M, in, out)``, ``b_l: (M, out)``.

    ``forward(x)`` takes ``x`` of shape ``(n, p)`` (the same rows for every model) or ``(M, n, p)`` and returns
    the logits ``(M, n)``. ``dropout`` is one rate per model (after every hidden activation, training only;
    masks drawn from the per-model ``generators`` given to :meth:`forward`).
    """

    def __init__(self, n_inputs: int, hidden: Sequence[int], n_models: int, activation: str = "relu",
                 dropout: Sequence[float] | None = None) -> None:
        super().__init__()
        if activation not in _ACT:
            raise ValueError(f"unknown activation {activation!r}; known: {sorted(_ACT)}")
        sizes = [int(n_inputs), *[int(h) for h in hidden], 1]
        self.weights = nn.ParameterList([nn.Parameter(torch.zeros(n_models, a, b)) for a, b in zip(sizes, sizes[1:])])
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(n_models, b)) for b in sizes[1:]])
        self.activation = activation
        self.hidden = [int(h) for h in hidden]
        rates = torch.zeros(n_models) if dropout is None else torch.as_tensor(list(dropout), dtype=torch.float32)
        if rates.shape != (n_models,) or (rates < 0).any() or (rates >= 1).any():
            raise ValueError(f"dropout needs one rate in [0, 1) per model ({n_models}), got {list(rates.tolist())}")
        self.register_buffer("dropout", rates)

    @property
    def n_models(self) -> int:
        return self.weights[0].shape[0]

    @classmethod
    def from_models(cls, models: Sequence[nn.Module], dropout: Sequence[float] | None = None) -> "StackedMLP":
        """Stack :class:`attrpriors.models.MLP` instances with one output (their weights are copied)."""
        linears = [[m for m in model.modules() if isinstance(m, nn.Linear)] for model in models]
        first = linears[0]
        if first[-1].out_features != 1:
            raise ValueError("StackedMLP stacks single-logit models (n_outputs=1)")
        acts = {type(m).__name__.lower() for m in models[0].modules() if type(m) in (nn.ReLU, nn.Tanh, nn.ELU,
                                                                                     nn.Softplus)}
        activation = acts.pop() if acts else "relu"
        out = cls(first[0].in_features, [lin.out_features for lin in first[:-1]], len(models), activation, dropout)
        with torch.no_grad():
            for layer, (W, b) in enumerate(zip(out.weights, out.biases)):
                shapes = {tuple(lins[layer].weight.shape) for lins in linears}
                if len(shapes) != 1:
                    raise ValueError(f"models differ in layer {layer}: {sorted(shapes)}")
                W.copy_(torch.stack([lins[layer].weight.detach().T for lins in linears]))
                b.copy_(torch.stack([lins[layer].bias.detach() for lins in linears]))
        return out

    @classmethod
    def initialized(cls, n_inputs: int, hidden: Sequence[int], seeds: Sequence[int], activation: str = "relu",
                    dropout: Sequence[float] | None = None) -> "StackedMLP":
        """``len(seeds)`` models, model ``m`` initialised exactly as ``MLP(n_inputs, hidden, 1)`` after
        ``torch.manual_seed(seeds[m])`` (PyTorch's default ``nn.Linear`` initialisation)."""
        from .models import MLP

        models = []
        for s in seeds:
            torch.manual_seed(int(s))
            models.append(MLP(n_inputs, hidden, n_outputs=1, activation=activation))
        return cls.from_models(models, dropout)

    def unstack(self, m: int) -> nn.Module:
        """Model ``m`` as a plain :class:`attrpriors.models.MLP` (eval mode, no dropout) with copied weights."""
        from .models import MLP

        mlp = MLP(self.weights[0].shape[1], self.hidden, n_outputs=1, activation=self.activation)
        lins = [mod for mod in mlp.modules() if isinstance(mod, nn.Linear)]
        with torch.no_grad():
            for lin, W, b in zip(lins, self.weights, self.biases):
                lin.weight.copy_(W[m].T)
                lin.bias.copy_(b[m])
        return mlp.eval()

    def forward(self, x: Tensor, generators: Sequence[torch.Generator] | None = None) -> Tensor:
        M = self.n_models
        h = x.expand(M, *x.shape) if x.ndim == 2 else x
        if h.shape[0] != M:
            raise ValueError(f"input has {h.shape[0]} model slices for {M} models")
        act = _ACT[self.activation]
        drop = self.training and bool((self.dropout > 0).any())
        if drop and (generators is None or len(generators) != M):
            raise ValueError("dropout in training mode needs one generator per model")
        last = len(self.weights) - 1
        for layer, (W, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b[:, None, :], h, W)
            if layer < last:
                h = act(h)
                if drop:  # only models with a rate draw masks: the others' random streams stay untouched
                    keep = torch.stack([torch.rand(h.shape[1:], generator=g) if r > 0 else torch.ones(h.shape[1:])
                                        for g, r in zip(generators, self.dropout.tolist())]).to(h.device)
                    rate = self.dropout[:, None, None].to(h.dtype)
                    h = h * (keep >= rate).to(h.dtype) / (1 - rate)
        return h[..., 0]


def stacked_expected_gradients(model: StackedMLP, x: Tensor, baselines: Tensor | None, n_samples: int,
                               generators: Sequence[torch.Generator], create_graph: bool = False) -> Tensor:
    """Expected gradients of every model's logit: ``(M, n, p)``.

    ``x`` is ``(n, p)`` (shared) or ``(M, n, p)``. ``baselines=None`` uses each model's batch rolled by
    1..k (the training trick of :func:`attrpriors.attributions.expected_gradients`); otherwise references are
    drawn uniformly from ``baselines (N, p)``. Model ``m`` draws its reference indices, then its α, from
    ``generators[m]`` in the same order as :func:`attrpriors.attributions.expected_gradients`, so with equally
    seeded generators both give the same attributions. ``create_graph=True`` keeps the graph so a penalty
    on the attributions back-propagates to the stacked weights.
    """
    M = model.n_models
    xs = (x.expand(M, *x.shape) if x.ndim == 2 else x).detach()
    _, n, p = xs.shape
    k = int(n_samples)
    if len(generators) != M:
        raise ValueError(f"need one generator per model ({M}), got {len(generators)}")
    if baselines is None:
        if n < 2:
            raise ValueError("batch-rolled references need a batch of at least 2 samples; pass baselines=")
        shifts = (torch.arange(k) % (n - 1)) + 1
        idx = (torch.arange(n)[:, None] - shifts[None, :]) % n  # (n, k), the same for every model
        refs = xs[:, idx.reshape(-1)]  # (M, n*k, p)
        alpha = torch.stack([torch.rand((n, k), generator=g) for g in generators])
    else:
        base = baselines.detach().to(xs.dtype)
        draws = []
        for g in generators:
            i = torch.randint(0, base.shape[0], (n, k), generator=g)
            draws.append((i, torch.rand((n, k), generator=g)))
        refs = torch.stack([base[i.reshape(-1)] for i, _ in draws]).to(xs.device)
        alpha = torch.stack([a for _, a in draws])
    alpha = alpha.to(xs.device, xs.dtype).reshape(M, n * k, 1)
    xrep = xs.repeat_interleave(k, dim=1)
    points = (refs + alpha * (xrep - refs)).detach().requires_grad_(True)
    was = model.training
    model.eval()  # attributions without dropout (as the pixel prior: "dropout is turned off")
    try:
        out = model(points)
    finally:
        model.train(was)
    (grad,) = torch.autograd.grad(out.sum(), points, create_graph=create_graph)
    return ((xrep - refs) * grad).reshape(M, n, k, p).mean(dim=2)


def stacked_gini(phibar: Tensor, eps: float = 1e-12) -> Tensor:
    """Gini of each row of ``phibar (M, p)``, :func:`attrpriors.priors.gini`'s formula, differentiable: ``(M,)``."""
    p = phibar.shape[1]
    return (phibar[:, :, None] - phibar[:, None, :]).abs().sum(dim=(1, 2)) / (2 * p * phibar.sum(dim=1) + eps)


def stacked_roc_auc(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC-AUC of each row of ``scores (M, n)`` against one label vector (NaN for a row with a NaN score)."""
    from .stats import auroc

    scores = np.asarray(scores, dtype=np.float64)
    return np.array([auroc(y, s) if np.all(np.isfinite(s)) else np.nan for s in scores])


@dataclass
class StackedPenalties:
    """Per-model strengths (each ``(M,)``; 0 = off) of the sparsity experiment's regularisers.

    ``gini``/``l1_eg``/``l2_eg``: −Gini(φ̄), ‖φ̄‖₁, ‖φ̄‖₂² of φ̄ = mean |EG| of the logit over the batch;
    ``l1_first``: ‖W₁‖₁; ``l1_all``: Σ ‖W_l‖₁ over every layer's weights (not biases); ``sgl``: the sparse
    group lasso of W₁ with one group per input feature (:func:`attrpriors.priors.sparse_group_lasso`).
    """

    gini: np.ndarray
    l1_eg: np.ndarray
    l2_eg: np.ndarray
    l1_first: np.ndarray
    l1_all: np.ndarray
    sgl: np.ndarray

    KINDS = ("gini", "l1_eg", "l2_eg", "l1_first", "l1_all", "sgl")

    @classmethod
    def for_models(cls, penalties: Sequence[str], strengths: Sequence[float]) -> "StackedPenalties":
        """One (penalty, strength) per model; ``unregularized`` and ``dropout`` add no loss term here."""
        if len(penalties) != len(strengths):
            raise ValueError("one strength per penalty")
        cols = {k: np.zeros(len(penalties)) for k in cls.KINDS}
        for m, (pen, s) in enumerate(zip(penalties, strengths)):
            if pen in cols:
                cols[pen][m] = float(s)
            elif pen not in ("unregularized", "dropout"):
                raise ValueError(f"unknown sparsity penalty {pen!r}; known: {[*cls.KINDS, 'unregularized', 'dropout']}")
        return cls(**cols)

    @property
    def uses_attributions(self) -> bool:
        return bool(np.any(self.gini) or np.any(self.l1_eg) or np.any(self.l2_eg))

    def weight_terms(self, model: StackedMLP) -> Tensor:
        """``(M,)`` weight-penalty terms (strength included)."""
        dev, dt = model.weights[0].device, model.weights[0].dtype
        total = torch.zeros(model.n_models, device=dev, dtype=dt)
        W1 = model.weights[0]  # (M, inputs, outputs): row j = the weights leaving input feature j
        if np.any(self.l1_first):
            total = total + torch.as_tensor(self.l1_first, dtype=dt, device=dev) * W1.abs().sum(dim=(1, 2))
        if np.any(self.l1_all):
            l1 = sum(W.abs().sum(dim=(1, 2)) for W in model.weights)
            total = total + torch.as_tensor(self.l1_all, dtype=dt, device=dev) * l1
        if np.any(self.sgl):
            sgl = W1.abs().sum(dim=(1, 2)) + math.sqrt(W1.shape[2]) * W1.norm(dim=2).sum(dim=1)
            total = total + torch.as_tensor(self.sgl, dtype=dt, device=dev) * sgl
        return total

    def attribution_terms(self, phibar: Tensor) -> Tensor:
        """``(M,)`` attribution-prior terms of ``phibar (M, p)`` (strength included)."""
        dt, dev = phibar.dtype, phibar.device
        t = lambda a: torch.as_tensor(a, dtype=dt, device=dev)  # noqa: E731
        return t(self.gini) * -stacked_gini(phibar) + t(self.l1_eg) * phibar.sum(1) + t(self.l2_eg) * phibar.pow(
            2).sum(1)


@dataclass
class StackedFit:
    """Result of :func:`train_stacked`: the best-epoch models and what was measured on the way."""

    model: StackedMLP  # every model at its best epoch (by validation ROC-AUC)
    best_epoch: np.ndarray  # (M,), 1-based
    val_auc: np.ndarray  # (M,) at the best epoch
    val_loss: np.ndarray  # (M,) at the best epoch
    finite: np.ndarray  # (M,) False when the loss or outputs became NaN/inf at any epoch
    history: np.ndarray  # (epochs, M) validation ROC-AUC per epoch


def _bce_per_model(logits: Tensor, y: Tensor) -> Tensor:
    return nn.functional.binary_cross_entropy_with_logits(logits, y.expand_as(logits), reduction="none").mean(dim=1)


def train_stacked(model: StackedMLP, X_train, y_train, X_val, y_val, *, seeds: Sequence[int],
                  penalties: StackedPenalties, epochs: int, batch_size: int, lr: float, n_references: int,
                  weight_decay: float = 0.0) -> StackedFit:
    """Train every model of the stack with Adam on BCE + its penalties; keep each one's best epoch.

    Model ``m`` draws its data order (a permutation per epoch), its EG α and its dropout masks from a
    generator seeded with ``seeds[m]``. The objective is Σₘ [BCEₘ + λₘ·Ωₘ]: the models do not interact.
    Each epoch ends with every model's validation ROC-AUC; a model's weights at its best epoch (the first
    one with the highest validation ROC-AUC) are kept. A model whose training loss or validation logits
    become NaN/inf is marked not ``finite`` (its weights are then meaningless).
    """
    M = model.n_models
    if len(seeds) != M:
        raise ValueError(f"need one seed per model ({M}), got {len(seeds)}")
    dt = model.weights[0].dtype
    Xtr = torch.as_tensor(np.asarray(X_train), dtype=dt)
    ytr = torch.as_tensor(np.asarray(y_train), dtype=dt)
    Xva = torch.as_tensor(np.asarray(X_val), dtype=dt)
    yva_np = np.asarray(y_val)
    yva = torch.as_tensor(yva_np, dtype=dt)
    n = len(Xtr)
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best = [p.detach().clone() for p in model.parameters()]
    best_auc = np.full(M, -np.inf)
    best_epoch = np.zeros(M, dtype=int)
    best_loss = np.full(M, np.nan)
    finite = np.ones(M, dtype=bool)
    history = np.full((epochs, M), np.nan)
    bs = min(int(batch_size), n)
    use_eg = penalties.uses_attributions
    # EG draws only from the generators of models with an attribution penalty; a model without one draws
    # nothing from its stream, exactly as when it is trained alone
    attr_on = (penalties.gini != 0) | (penalties.l1_eg != 0) | (penalties.l2_eg != 0)
    eg_gens = [g if on else torch.Generator().manual_seed(0) for g, on in zip(gens, attr_on)]
    for epoch in range(epochs):
        model.train()
        perms = torch.stack([torch.randperm(n, generator=g) for g in gens])  # (M, n)
        for start in range(0, n, bs):
            idx = perms[:, start : start + bs]
            xb, yb = Xtr[idx], ytr[idx]  # (M, b, p), (M, b)
            logits = model(xb, gens)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, yb, reduction="none").mean(dim=1)
            loss = loss + penalties.weight_terms(model)
            if use_eg and len(xb[0]) > 1:
                phi = stacked_expected_gradients(model, xb, None, n_references, eg_gens, create_graph=True)
                loss = loss + penalties.attribution_terms(phi.abs().mean(dim=1))
            bad = ~torch.isfinite(loss.detach())
            if bad.any():
                finite &= ~bad.cpu().numpy()
                loss = torch.where(bad, torch.zeros_like(loss), loss)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            for p in model.parameters():  # a diverged model must not poison the optimiser's arithmetic
                if p.grad is not None:
                    p.grad.nan_to_num_(0.0, 0.0, 0.0)
            opt.step()
        model.eval()
        with torch.no_grad():
            val_logits = model(Xva)
            val_loss = _bce_per_model(val_logits, yva).cpu().numpy()
        finite &= np.isfinite(val_loss)
        auc = stacked_roc_auc(yva_np, val_logits.cpu().numpy())
        history[epoch] = auc
        improved = finite & np.isfinite(auc) & (auc > best_auc)
        if improved.any():
            mask = torch.as_tensor(improved)
            with torch.no_grad():
                for b, p in zip(best, model.parameters()):
                    b.copy_(torch.where(mask.reshape(-1, *([1] * (p.ndim - 1))), p.detach(), b))
            best_auc[improved] = auc[improved]
            best_epoch[improved] = epoch + 1
            best_loss[improved] = val_loss[improved]
    with torch.no_grad():
        for b, p in zip(best, model.parameters()):
            p.copy_(b)
    model.eval()
    best_auc[~finite] = np.nan
    return StackedFit(model=model, best_epoch=best_epoch, val_auc=best_auc, val_loss=best_loss, finite=finite,
                      history=history)


def stacked_logits(model: StackedMLP, X) -> np.ndarray:
    """Eval-mode logits ``(M, n)`` of every model on ``X (n, p)``."""
    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(X), dtype=model.weights[0].dtype)).cpu().numpy()


__all__ += ["stacked_gini", "stacked_logits"]

