"""Feature attributions with one call signature.

Every method is called as::

    attribute(method, model, x, target=None, baselines=None, **options) -> Tensor shaped like x

and each function below takes ``(model, x, target=None, baselines=None, ...)`` in that order.

* ``target`` selects the output that is explained: ``None`` for a model with a single output (regression,
  shape ``(B,)`` or ``(B, 1)``); an int or a ``(B,)`` LongTensor of classes for a classifier (the class
  label during training, the true or predicted class when explaining).
* ``baselines`` are the references: a background set for expected gradients, one reference (broadcast to
  the batch) or one per sample for integrated gradients; ignored by the gradient-only methods.

Expected gradients (Erion et al. 2019) is

    EG_i(x) = E_{x'~D, α~U(0,1)} [ (x_i − x'_i) · ∂f(x' + α (x − x')) / ∂x_i ].

It is estimated with ``n_samples`` (reference, α) draws per sample, all evaluated in one vectorised
forward/backward pass per chunk. With ``create_graph=True`` the result is differentiable with respect to
the model's parameters (double back-propagation), which is what attribution priors train through.
The interpolated point is a fresh leaf tensor, so the gradient is taken *at* that point and never through
the interpolation weights (the bug discussed in suinleelab/attributionpriors issue #3).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "METHODS",
    "TargetRequired",
    "attribute",
    "expected_gradients",
    "integrated_gradients",
    "input_x_gradient",
    "gradients",
    "random_attribution",
    "select_output",
    "smoothgrad",
]

#: Upper bound on the number of interpolated inputs evaluated in one forward pass.
DEFAULT_MAX_BATCH = 16384


class TargetRequired(ValueError):
    """A model with several outputs was explained without ``target`` (which output to explain)."""


def select_output(out: Tensor, target: int | Tensor | None) -> Tensor:
    """Reduce a model output to one scalar per sample.

    Parameters
    ----------
    out : Tensor of shape ``(B,)``, ``(B, 1)`` or ``(B, C)``.
    target : None for single-output models; an int or a ``(B,)`` integer tensor of classes otherwise.
    """
    if out.ndim == 1:
        if target is not None:
            raise ValueError("target was given but the model has a single output; pass target=None")
        return out
    if out.ndim != 2:
        raise ValueError(f"model output must be (B,), (B, 1) or (B, C); got shape {tuple(out.shape)}")
    if out.shape[1] == 1 and target is None:
        return out[:, 0]
    if target is None:
        raise TargetRequired(
            f"the model has {out.shape[1]} outputs: pass target= (an int or one class per sample) "
            "to say which output to explain"
        )
    if isinstance(target, int):
        if not 0 <= target < out.shape[1]:
            raise ValueError(f"target={target} is out of range for a model with {out.shape[1]} outputs")
        return out[:, target]
    target = torch.as_tensor(target, device=out.device).long().reshape(-1)
    if target.numel() != out.shape[0]:
        raise ValueError(f"target has {target.numel()} entries for a batch of {out.shape[0]}")
    return out.gather(1, target[:, None])[:, 0]


def _resolve_inputs(x, inputs, target, method: str):
    """``x`` or its captum name ``inputs`` (exactly one), as a tensor; a ``target`` that is shaped like a batch of
    inputs is a background set passed where captum puts ``baselines``, not a target: say so."""
    if inputs is not None:
        if x is not None:
            raise TypeError(f"{method}: pass the inputs once, as x or as inputs=, not both")
        x = inputs
    if x is None:
        raise TypeError(f"{method}: missing the inputs to explain (x, or inputs= as in captum)")
    if not isinstance(x, Tensor):
        raise TypeError(f"{method}: inputs must be a torch.Tensor of shape (batch, features…), got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"{method}: inputs must have a batch axis, shape (batch, features…); got {tuple(x.shape)} "
                         "(use x[None] for a single sample)")
    if isinstance(target, Tensor) and target.is_floating_point() and target.ndim >= 2 \
            and tuple(target.shape[1:]) == tuple(x.shape[1:]):
        raise TypeError(f"{method}: target has the shape of a batch of inputs {tuple(target.shape)}: is it a "
                        "background set? Pass it as baselines= (the third positional argument is target, "
                        "the output to explain)")
    return x


def _repeat_target(target: int | Tensor | None, repeats: int) -> int | Tensor | None:
    if target is None or isinstance(target, int):
        return target
    return torch.as_tensor(target).reshape(-1).repeat_interleave(repeats)


def _grad_at(model: nn.Module, points: Tensor, target, create_graph: bool) -> Tensor:
    """∂ f_target / ∂ points, with ``points`` made a leaf so nothing upstream is differentiated."""
    points = points.detach().requires_grad_(True)
    out = select_output(model(points), target)
    (grad,) = torch.autograd.grad(out.sum(), points, create_graph=create_graph)
    return grad


def _chunks(n: int, per_sample: int, max_batch: int):
    step = max(1, max_batch // max(per_sample, 1))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def _slice_target(target, sl: slice):
    if target is None or isinstance(target, int):
        return target
    return torch.as_tensor(target).reshape(-1)[sl]


def expected_gradients(
    model: nn.Module,
    x: Tensor | None = None,
    target: int | Tensor | None = None,
    baselines: Tensor | None = None,
    *,
    inputs: Tensor | None = None,
    n_samples: int = 200,
    create_graph: bool = False,
    generator: torch.Generator | None = None,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> Tensor:
    """Expected gradients with ``n_samples`` references and one α per reference.

    Parameters
    ----------
    model : the network; called on tensors shaped like ``x``.
    x : ``(B, ...)`` inputs to explain (``inputs=``, captum's name, is accepted too).
    target : see the module docstring.
    baselines : ``(N, ...)`` background set to draw references from (uniformly, with replacement).
        ``None`` uses the batch itself rolled by 1..k along the batch axis (k = ``n_samples``), the
        training trick of the reference implementation: no extra data and no self-reference while
        ``k < B``.
    n_samples : number of (reference, α) draws per sample (k).
    create_graph : keep the graph so the attributions can be back-propagated to the parameters.
    generator : ``torch.Generator`` for the reference indices and α (on ``x``'s device); seeds results.
    max_batch : at most this many interpolated inputs per forward pass (bounds memory).

    Returns
    -------
    Tensor shaped like ``x``: the mean over draws of ``(x − x') · ∇f(x' + α(x − x'))``.
    """
    x = _resolve_inputs(x, inputs, target, "expected_gradients")
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    B = x.shape[0]
    k = n_samples
    if baselines is None:
        if B < 2:
            raise ValueError("batch-rolled references need a batch of at least 2 samples; pass baselines=")
        shifts = (torch.arange(k, device=x.device) % (B - 1)) + 1  # 1..k, wrapping below B
        ref_index = (torch.arange(B, device=x.device)[:, None] - shifts[None, :]) % B  # (B, k)
        ref_source = x.detach()
    else:
        if not isinstance(baselines, Tensor) or baselines.ndim != x.ndim or baselines.shape[1:] != x.shape[1:]:
            shape = tuple(baselines.shape) if isinstance(baselines, Tensor) else type(baselines).__name__
            raise ValueError(
                f"expected_gradients: baselines must be a background set of shape (N, {', '.join(map(str, x.shape[1:]))})"
                f" like the inputs {tuple(x.shape)}; got {shape}"
            )
        ref_source = baselines.detach().to(x.device, x.dtype)
        ref_index = torch.randint(
            0, ref_source.shape[0], (B, k), generator=generator, device=generator.device if generator else "cpu"
        ).to(x.device)
    alpha = torch.rand((B, k), generator=generator, device=generator.device if generator else "cpu").to(
        x.device, x.dtype
    )
    feature_dims = (1,) * (x.ndim - 1)
    pieces = []
    for sl in _chunks(B, k, max_batch):
        xb = x[sl].detach()
        nb = xb.shape[0]
        refs = ref_source[ref_index[sl].reshape(-1)]  # (nb*k, ...)
        xrep = xb.repeat_interleave(k, dim=0)
        a = alpha[sl].reshape(-1, *feature_dims)
        points = refs + a * (xrep - refs)
        grad = _grad_at(model, points, _repeat_target(_slice_target(target, sl), k), create_graph)
        phi = ((xrep - refs) * grad).reshape(nb, k, *x.shape[1:]).mean(dim=1)
        pieces.append(phi)
    return torch.cat(pieces, dim=0)


def _ig_nodes(n_steps: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return 0.5 * (nodes + 1.0), 0.5 * weights
    if method == "riemann_trapezoid":
        if n_steps < 2:
            raise ValueError("riemann_trapezoid needs n_steps >= 2")
        alphas = np.linspace(0.0, 1.0, n_steps)
        weights = np.full(n_steps, 1.0 / (n_steps - 1))
        weights[[0, -1]] *= 0.5
        return alphas, weights
    if method == "riemann_middle":
        return (np.arange(n_steps) + 0.5) / n_steps, np.full(n_steps, 1.0 / n_steps)
    raise ValueError(f"unknown integration method {method!r}; use gausslegendre, riemann_trapezoid or riemann_middle")


def integrated_gradients(
    model: nn.Module,
    x: Tensor | None = None,
    target: int | Tensor | None = None,
    baselines: Tensor | float | None = None,
    *,
    inputs: Tensor | None = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
    create_graph: bool = False,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> Tensor:
    """Integrated gradients ``(x − x') · ∫₀¹ ∇f(x' + α(x − x')) dα`` by a fixed quadrature.

    ``baselines``: ``None`` (zeros), a scalar, one reference shaped like a single input (broadcast), or one
    reference per sample ``(B, ...)``. ``method`` follows captum's names: ``gausslegendre`` (captum's
    default, identical to captum's result), ``riemann_trapezoid`` (the exact trapezoid rule, weights
    1/(n−1) summing to 1; captum's weights are 1/n, so its result is ours × (n−1)/n) or ``riemann_middle``.
    ``inputs=`` (captum's name) is accepted for ``x``.
    """
    x = _resolve_inputs(x, inputs, target, "integrated_gradients")
    B = x.shape[0]
    if baselines is None:
        ref = torch.zeros_like(x)
    elif isinstance(baselines, (int, float)):
        ref = torch.full_like(x, float(baselines))
    else:
        ref = baselines.to(x.device, x.dtype)
        if ref.shape == x.shape[1:]:
            ref = ref.expand_as(x)
        elif ref.shape != x.shape:
            raise ValueError(f"baselines of shape {tuple(ref.shape)} do not match inputs {tuple(x.shape)}")
    alphas_np, weights_np = _ig_nodes(n_steps, method)
    alphas = torch.as_tensor(alphas_np, dtype=x.dtype, device=x.device)
    weights = torch.as_tensor(weights_np, dtype=x.dtype, device=x.device)
    feature_dims = (1,) * (x.ndim - 1)
    pieces = []
    for sl in _chunks(B, n_steps, max_batch):
        xb, rb = x[sl].detach(), ref[sl].detach()
        nb = xb.shape[0]
        xrep, rrep = xb.repeat_interleave(n_steps, 0), rb.repeat_interleave(n_steps, 0)
        a = alphas.repeat(nb).reshape(-1, *feature_dims)
        grad = _grad_at(model, rrep + a * (xrep - rrep), _repeat_target(_slice_target(target, sl), n_steps),
                        create_graph)
        w = weights.reshape(1, n_steps, *feature_dims)
        avg_grad = (grad.reshape(nb, n_steps, *x.shape[1:]) * w).sum(dim=1)
        pieces.append((xb - rb) * avg_grad)
    return torch.cat(pieces, dim=0)


def gradients(
    model: nn.Module,
    x: Tensor,
    target: int | Tensor | None = None,
    baselines: Tensor | None = None,
    *,
    create_graph: bool = False,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> Tensor:
    """The plain input gradient ∂f/∂x (saliency without the absolute value). ``baselines`` is ignored."""
    return torch.cat(
        [_grad_at(model, x[sl], _slice_target(target, sl), create_graph) for sl in _chunks(x.shape[0], 1, max_batch)]
    )


def input_x_gradient(
    model: nn.Module,
    x: Tensor,
    target: int | Tensor | None = None,
    baselines: Tensor | None = None,
    *,
    create_graph: bool = False,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> Tensor:
    """Input × gradient, ``x · ∂f/∂x``. ``baselines`` is ignored."""
    return x.detach() * gradients(model, x, target, create_graph=create_graph, max_batch=max_batch)


def random_attribution(
    model: nn.Module,
    x: Tensor,
    target: int | Tensor | None = None,
    baselines: Tensor | None = None,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Standard normal noise shaped like ``x``: the floor every method must beat."""
    return torch.randn(x.shape, generator=generator, device=generator.device if generator else "cpu").to(
        x.device, x.dtype
    )


def smoothgrad(
    model: nn.Module,
    x: Tensor,
    target: int | Tensor | None = None,
    baselines: Tensor | None = None,
    *,
    n_samples: int = 50,
    noise_level: float = 0.15,
    generator: torch.Generator | None = None,
    create_graph: bool = False,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> Tensor:
    """SmoothGrad (Smilkov et al. 2017): the input gradient averaged over noisy copies of the input,

        SG(x) = (1/n) Σ_j ∂f(x + ε_j)/∂x,   ε_j ~ N(0, σ²),   σ = noise_level · (max(x) − min(x)),

    with the range taken per sample (for one-hot DNA it is 1, so σ = ``noise_level``). ``baselines`` is
    ignored. ``generator`` (on ``x``'s device, or CPU) seeds the noise.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    if noise_level < 0:
        raise ValueError(f"noise_level must be >= 0, got {noise_level}")
    B, k = x.shape[0], int(n_samples)
    flat = x.detach().reshape(B, -1)
    sigma = (noise_level * (flat.max(dim=1).values - flat.min(dim=1).values)).reshape(-1, *(1,) * (x.ndim - 1))
    pieces = []
    for sl in _chunks(B, k, max_batch):
        xb = x[sl].detach()
        nb = xb.shape[0]
        eps = torch.randn((nb * k, *x.shape[1:]), generator=generator,
                          device=generator.device if generator else "cpu").to(x.device, x.dtype)
        points = xb.repeat_interleave(k, 0) + sigma[sl].repeat_interleave(k, 0) * eps
        grad = _grad_at(model, points, _repeat_target(_slice_target(target, sl), k), create_graph)
        pieces.append(grad.reshape(nb, k, *x.shape[1:]).mean(dim=1))
    return torch.cat(pieces, dim=0)


#: The registry: name → function, for every method of :data:`attrpriors.display.METHOD_LABELS` (the one list of
#: methods; tests check that the registry, the config schema and the README follow it).
METHODS: dict[str, Callable[..., Tensor]] = {
    "expected_gradients": expected_gradients,
    "integrated_gradients": integrated_gradients,
    "input_x_gradient": input_x_gradient,
    "gradients": gradients,
    "random": random_attribution,
    "smoothgrad": smoothgrad,
}


def attribute(
    method: str,
    model: nn.Module,
    x: Tensor,
    target: int | Tensor | None = None,
    baselines: Tensor | float | None = None,
    **options,
) -> Tensor:
    """Dispatch to one of :data:`METHODS` by name; every method shares this signature.

    Raises ``ValueError`` naming the method and the known names when ``method`` is unknown.
    """
    try:
        fn = METHODS[method]
    except KeyError:
        raise ValueError(f"unknown attribution method {method!r}; known methods: {sorted(METHODS)}") from None
    return fn(model, x, target, baselines, **options)
