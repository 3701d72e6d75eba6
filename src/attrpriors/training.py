"""The one fit loop: task loss plus an optional attribution prior, early stopping, seeds, devices.

Schedules for the prior ``Ω`` (an :class:`attrpriors.priors.AttributionPrior`, weight ``λ``):

* ``joint`` — one backward pass of ``task + λ·Ω`` per batch; the model's optimiser and, when the prior has
  parameters of its own (DAPr), a second optimiser for them both step (as the public DAPr code does);
* ``alternating`` — per batch a task step, then a separate prior step on ``λ·Ω`` with its own optimiser
  (Erion et al.'s fine-tuning, and the DAPr paper's text).

Early stopping watches the validation task loss and restores the best weights (model and prior).
"""

from __future__ import annotations

import copy
import logging
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Callable, Mapping

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .io import save_torch

__all__ = ["FitConfig", "FitResult", "derive_seed", "fit", "predict", "seed_everything", "select_device", "task_loss"]

log = logging.getLogger(__name__)


def derive_seed(base: int, *names: object) -> int:
    """A stable 31-bit seed for one job from the config seed and names (dataset, method, trial, …)."""
    import hashlib

    digest = hashlib.sha256(repr((int(base),) + tuple(str(n) for n in names)).encode()).hexdigest()
    return int(digest[:8], 16) & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch; ask torch for deterministic kernels (warn only where none exist)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def select_device(device: str = "auto") -> torch.device:
    """``auto`` → CUDA when present, else CPU; ``cpu``/``cuda``/``cuda:N`` as asked (error if unavailable)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} was requested but CUDA is not available; use device: auto or cpu")
    return dev


@dataclass
class FitConfig:
    """Settings of :func:`fit` (the ``training:`` blocks of config.yaml map onto these fields)."""

    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 20
    min_delta: float = 0.0
    prior_weight: float = 0.0
    schedule: str = "joint"
    prior_lr: float | None = None
    seed: int = 0
    device: str = "auto"
    progress: bool = True

    @classmethod
    def from_mapping(cls, mapping: Mapping | None, **overrides) -> "FitConfig":
        """Build from a config mapping; unknown keys raise an error that names them."""
        merged = {**(mapping or {}), **overrides}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(merged) - known)
        if unknown:
            raise KeyError(f"unknown training setting(s) {unknown}; known: {sorted(known)}")
        cfg = cls(**merged)
        if cfg.schedule not in ("joint", "alternating"):
            raise ValueError(f"training.schedule must be 'joint' or 'alternating', got {cfg.schedule!r}")
        return cfg


@dataclass
class FitResult:
    model: nn.Module
    history: pd.DataFrame
    best_epoch: int
    best_val_loss: float
    device: str
    prior: nn.Module | None = None
    config: dict = field(default_factory=dict)
    #: the model optimiser's state at the best epoch (``torch.optim.Adam.state_dict()``), to continue from
    optimizer_state: dict | None = None


def task_loss(out: Tensor, y: Tensor, task: str) -> Tensor:
    """MSE for ``regression``; cross-entropy on logits for ``classification``."""
    if task == "regression":
        return nn.functional.mse_loss(out.reshape(y.shape), y)
    if task == "classification":
        return nn.functional.cross_entropy(out, y.long())
    raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")


@torch.no_grad()
def predict(model: nn.Module, x: Tensor | np.ndarray, batch_size: int = 4096, device: str | None = None) -> np.ndarray:
    """Model outputs as a NumPy array, evaluated in eval mode and in batches."""
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device if device is None else torch.device(device)
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x, dtype=torch.float32)
    outs = [model(x[i : i + batch_size].to(dev)).cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(outs).numpy()


def _as_tensor(a, task: str | None = None) -> Tensor:
    t = torch.as_tensor(np.asarray(a) if not isinstance(a, Tensor) else a)
    if task == "classification":
        return t.long()
    return t.float()


@torch.no_grad()
def _evaluate(model, X, y, task, batch_size) -> float:
    model.eval()
    total, n = 0.0, 0
    for i in range(0, len(X), batch_size):
        xb, yb = X[i : i + batch_size], y[i : i + batch_size]
        total += float(task_loss(model(xb), yb, task)) * len(xb)
        n += len(xb)
    model.train()
    return total / max(n, 1)


def fit(
    model: nn.Module,
    X_train,
    y_train,
    X_val=None,
    y_val=None,
    *,
    task: str = "regression",
    config: FitConfig | None = None,
    prior: nn.Module | None = None,
    weight_penalty: Callable[[nn.Module], Tensor] | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_extra: Mapping | None = None,
    description: str = "fit",
    batch_transform: Callable[[Tensor, Tensor, torch.Generator], tuple[Tensor, Tensor]] | None = None,
    optimizer_state: Mapping | None = None,
    initial_candidate: bool = False,
) -> FitResult:
    """Train ``model`` on ``(X_train, y_train)``; return the best model by validation task loss.

    Parameters
    ----------
    task : ``regression`` (MSE) or ``classification`` (cross-entropy on logits, integer labels).
    config : :class:`FitConfig`.
    prior : a callable module ``prior(model, x, y, task) -> Ω`` (see :mod:`attrpriors.priors`); applied with
        weight ``config.prior_weight`` on ``config.schedule``. Its own parameters, if any, get a second Adam.
    weight_penalty : ``penalty(model) -> scalar`` added to the task loss every step (e.g. L1 on weights).
    checkpoint : where to save ``{"state_dict", "prior_state_dict", "history", "config"}`` of the best epoch,
        plus ``checkpoint_extra`` (e.g. the model spec that :func:`attrpriors.models.load_model` rebuilds from).
    batch_transform : ``f(xb, yb, generator) -> (xb, yb)`` applied to every training batch right after it is
        drawn (data augmentation: input noise, mixup); ``generator`` is a CPU ``torch.Generator`` seeded from
        ``config.seed``, separate from the one of the data order. Validation batches are never transformed.
    optimizer_state : the ``state_dict`` of a previous fit's model optimiser (:attr:`FitResult.optimizer_state`):
        training continues that Adam (moment estimates, step count and learning rate) instead of a fresh one, as
        when fine-tuning a converged model. The model must have the same parameters in the same order.
    initial_candidate : the model as given competes for "best" with its validation loss before any step
        (reported as ``best_epoch == -1``, i.e. zero epochs, when nothing beats it).

    Without validation data the last epoch is kept. The data loader order is drawn from a generator seeded
    by ``config.seed``; call :func:`seed_everything` before building the model to seed its initialisation.
    """
    config = config or FitConfig()
    device = select_device(config.device)
    model = model.to(device)
    if prior is not None:
        prior = prior.to(device)
    Xtr, ytr = _as_tensor(X_train).float().to(device), _as_tensor(y_train, task).to(device)
    has_val = X_val is not None and y_val is not None and len(X_val) > 0
    if has_val:
        Xva, yva = _as_tensor(X_val).float().to(device), _as_tensor(y_val, task).to(device)
    if len(Xtr) != len(ytr):
        raise ValueError(f"X_train has {len(Xtr)} rows but y_train has {len(ytr)}")

    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if optimizer_state is not None:
        opt.load_state_dict(copy.deepcopy(dict(optimizer_state)))
    use_prior = prior is not None and config.prior_weight > 0
    prior_params = list(prior.extra_parameters()) if use_prior and hasattr(prior, "extra_parameters") else []
    prior_opt = torch.optim.Adam(prior_params, lr=config.prior_lr or config.lr) if prior_params else None
    step_opt = (
        torch.optim.Adam(model.parameters(), lr=config.prior_lr or config.lr)
        if use_prior and config.schedule == "alternating"
        else None
    )
    gen = torch.Generator().manual_seed(config.seed)
    aug_gen = None if batch_transform is None else torch.Generator().manual_seed(
        derive_seed(config.seed, "batch_transform"))

    history = []
    best = {"loss": float("inf"), "epoch": -1, "state": None, "prior_state": None, "opt_state": None}
    if initial_candidate and has_val:
        best.update(loss=_evaluate(model, Xva, yva, task, 4096), state=copy.deepcopy(model.state_dict()),
                    opt_state=copy.deepcopy(opt.state_dict()))
        if prior is not None:
            best["prior_state"] = copy.deepcopy(prior.state_dict())
    bad_epochs = 0
    bar = tqdm(
        range(config.epochs),
        desc=description,
        disable=not config.progress,
        file=sys.stderr,
        mininterval=0.5 if sys.stderr.isatty() else 10.0,
        leave=False,
    )
    model.train()
    for epoch in bar:
        t0 = time.perf_counter()
        perm = torch.randperm(len(Xtr), generator=gen).to(device)
        sums = {"task": 0.0, "prior": 0.0}
        for i in range(0, len(Xtr), config.batch_size):
            idx = perm[i : i + config.batch_size]
            xb, yb = Xtr[idx], ytr[idx]
            if batch_transform is not None:
                xb, yb = batch_transform(xb, yb, aug_gen)
            loss = task_loss(model(xb), yb, task)
            if weight_penalty is not None:
                loss = loss + weight_penalty(model)
            if use_prior and config.schedule == "joint":
                omega = prior(model, xb, yb, task)
                opt.zero_grad(set_to_none=True)
                if prior_opt:
                    prior_opt.zero_grad(set_to_none=True)
                (loss + config.prior_weight * omega).backward()
                opt.step()
                if prior_opt:
                    prior_opt.step()
            else:
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if use_prior:  # alternating: a separate step on the prior alone
                    omega = prior(model, xb, yb, task)
                    step_opt.zero_grad(set_to_none=True)
                    if prior_opt:
                        prior_opt.zero_grad(set_to_none=True)
                    (config.prior_weight * omega).backward()
                    step_opt.step()
                    if prior_opt:
                        prior_opt.step()
            sums["task"] += loss.item() * len(idx)
            if use_prior:
                sums["prior"] += omega.item() * len(idx)
        train_loss = sums["task"] / len(Xtr)
        if not np.isfinite(train_loss):
            raise FloatingPointError(f"{description}: training loss became {train_loss} at epoch {epoch}")
        val_loss = _evaluate(model, Xva, yva, task, 4096) if has_val else train_loss
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_prior": sums["prior"] / len(Xtr) if use_prior else np.nan,
                "val_loss": val_loss if has_val else np.nan,
                "seconds": time.perf_counter() - t0,
            }
        )
        bar.set_postfix(train=f"{train_loss:.4g}", val=f"{val_loss:.4g}", refresh=False)
        if val_loss < best["loss"] - config.min_delta or not has_val:
            best.update(loss=val_loss, epoch=epoch, state=copy.deepcopy(model.state_dict()),
                        opt_state=copy.deepcopy(opt.state_dict()))
            if prior is not None:
                best["prior_state"] = copy.deepcopy(prior.state_dict())
            bad_epochs = 0
        else:
            bad_epochs += 1
            if bad_epochs >= config.patience:
                log.info("%s: early stop at epoch %d (best %d)", description, epoch, best["epoch"])
                break
    bar.close()
    if best["state"] is not None:
        model.load_state_dict(best["state"])
        if prior is not None and best["prior_state"] is not None:
            prior.load_state_dict(best["prior_state"])
    model.eval()
    hist = pd.DataFrame(history)
    if checkpoint is not None:
        save_torch(
            {
                "state_dict": model.state_dict(),
                "prior_state_dict": prior.state_dict() if prior is not None else None,
                "history": hist.to_dict("list"),
                "config": asdict(config),
                "best_epoch": best["epoch"],
                **(checkpoint_extra or {}),
            },
            checkpoint,
        )
    return FitResult(model, hist, best["epoch"], best["loss"], str(device), prior, asdict(config), best["opt_state"])
