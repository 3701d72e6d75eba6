"""Training-batch augmentations for :func:`attrpriors.training.fit` (its ``batch_transform=`` argument).

Each factory returns ``f(xb, yb, generator) -> (xb, yb)``; every random draw comes from ``generator`` (the fit
loop passes a CPU ``torch.Generator`` seeded from the job's seed), so a training run is deterministic on CPU.

* :func:`gaussian_noise` — add ``N(0, σ²)`` noise to every input entry (fresh noise for every batch);
* :func:`mixup` — mixup (Zhang et al. 2018): convex combinations ``λ x_i + (1 − λ) x_j`` of pairs of the batch
  with ``λ ~ Beta(α, α)`` drawn per batch. The fit loop's classification loss takes integer labels, so the label
  of each mixed sample is drawn as ``y_i`` with probability ``λ`` and ``y_j`` otherwise: the expected loss is
  exactly mixup's ``λ·CE(y_i) + (1 − λ)·CE(y_j)`` (an unbiased, slightly noisier estimate of it). Regression
  targets (float) are mixed like the inputs.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import torch
from torch import Tensor

__all__ = ["BatchTransform", "gaussian_noise", "mixup", "make_batch_transform", "AUGMENTATIONS"]

BatchTransform = Callable[[Tensor, Tensor, torch.Generator], tuple[Tensor, Tensor]]


def gaussian_noise(sigma: float = 0.1) -> BatchTransform:
    """Additive Gaussian input noise with standard deviation ``sigma`` (labels unchanged)."""
    sigma = float(sigma)
    if not sigma >= 0:
        raise ValueError(f"noise sigma must be >= 0, got {sigma!r}")

    def transform(xb: Tensor, yb: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        eps = torch.randn(xb.shape, generator=generator, device=generator.device).to(xb.device, xb.dtype)
        return xb + sigma * eps, yb

    return transform


def mixup(alpha: float = 0.2) -> BatchTransform:
    """Mixup with ``λ ~ Beta(alpha, alpha)`` per batch and pairs from a random permutation of the batch."""
    alpha = float(alpha)
    if not alpha > 0:
        raise ValueError(f"mixup alpha must be > 0, got {alpha!r}")

    def transform(xb: Tensor, yb: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        n = xb.shape[0]
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=generator.device))
        lam = float(np.random.default_rng(seed).beta(alpha, alpha))
        perm = torch.randperm(n, generator=generator, device=generator.device).to(xb.device)
        x_mix = lam * xb + (1.0 - lam) * xb[perm]
        if yb.dtype.is_floating_point:
            return x_mix, lam * yb + (1.0 - lam) * yb[perm]
        keep = (torch.rand(n, generator=generator, device=generator.device) < lam).to(yb.device)
        return x_mix, torch.where(keep, yb, yb[perm])

    return transform


#: augmentation name → factory; ``standard`` and ``spectral_norm`` (an architecture option) have none.
AUGMENTATIONS: dict[str, Callable[..., BatchTransform]] = {"noise": gaussian_noise, "mixup": mixup}


def make_batch_transform(name: str, params: Mapping | None = None) -> BatchTransform | None:
    """The batch transform of augmentation ``name`` with keyword ``params``; ``None`` for names without one.

    Raises ``ValueError`` naming the known augmentations when ``name`` is one of them but ``params`` do not fit.
    """
    if name not in AUGMENTATIONS:
        return None
    try:
        return AUGMENTATIONS[name](**dict(params or {}))
    except TypeError as err:
        raise ValueError(f"augmentation {name!r}: bad parameters {dict(params or {})} ({err})") from None
