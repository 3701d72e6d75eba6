"""The one fit loop: task loss plus an optional attribution prior, early stopping, seeds, devices.

Schedules for the prior ``Ω`` (an :class:`attrpriors.priors.AttributionPrior`, weight ``λ``):

* ``joint`` — one backward pass of ``task + λ·Ω`` per batch; the model's optimiser and, when the prior has
  parameters of its own (DAPr), a second optimiser for them both step (as the public DAPr code does);
* ``alternating`` — per batch a task step, then a separate prior step on ``λ·Ω`` with its own optimiser
  (Erion et al.'s fine-tuning, and the DAPr paper's text).

Early stopping watches a validation metric (``monitor``: the task loss, or the AUROC of a binary classifier) and
restores the weights of the best epoch (model and prior); optionally the learning rate decays when that metric
stalls (``lr_factor``/``lr_patience``, PyTorch's ``ReduceLROnPlateau``, as Keras' callback of the same name).
"""

from __future__ import annotations

import copy
import logging
import os
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
from .seeds import derive_seed

__all__ = [
    "EarlyStopping",
    "FitConfig",
    "FitResult",
    "Optimizers",
    "SCHEDULES",
    "alternating_step",
    "fit",
    "joint_step",
    "predict",
    "select_device",
    "task_loss",
    "task_step",
    "train_epoch",
]

log = logging.getLogger(__name__)


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
    #: the validation metric of early stopping and learning-rate decay: ``val_loss`` (lower is better) or
    #: ``val_auroc`` (higher is better; binary classification, score = logit of class 1 minus class 0)
    monitor: str = "val_loss"
    #: learning-rate decay on plateau: multiply every learning rate by ``lr_factor`` after ``lr_patience`` epochs
    #: without improvement of ``monitor`` (``None``: constant learning rate), never below ``min_lr``
    lr_factor: float | None = None
    lr_patience: int = 5
    min_lr: float = 0.0
    #: Adam's fused kernel (``torch.optim.Adam(fused=True)``, CPU and CUDA): the same update in one pass over each
    #: parameter, ≈ 7× faster per step on a 33 M-parameter layer on one CPU thread; results differ from the default
    #: implementation at float rounding (≈ 1e-8 per step), so it is off by default (bit-identical quick runs) and
    #: on in the paper-scale overlay for the graph-prior networks, whose first layers hold 8–33 M weights
    fused_adam: bool = False
    #: keep the weights (and optimiser state) of the best epoch by ``monitor`` (early stopping's restore); False:
    #: keep the last epoch's, as a fixed-length training without restoring does (the original graph-prior code
    #: trains for the number of epochs early stopping found and fine-tunes from there). Validation is still
    #: recorded every epoch; set ``patience`` ≥ ``epochs`` to run every epoch
    restore_best: bool = True

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
        if cfg.monitor not in MONITORS:
            raise ValueError(f"training.monitor must be one of {sorted(MONITORS)}, got {cfg.monitor!r}")
        if cfg.lr_factor is not None and not 0 < cfg.lr_factor < 1:
            raise ValueError(f"training.lr_factor must be in (0, 1) or null, got {cfg.lr_factor!r}")
        return cfg


#: monitored validation metrics and whether higher is better
MONITORS = {"val_loss": False, "val_auroc": True}


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
    #: the monitored metric at the best epoch, and whether early stopping ended the fit (False: ``epochs`` ran out)
    best_monitor: float = float("nan")
    stopped_early: bool = False


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


def _materialize(data, labels, name: str):
    """``(X, y)`` from arrays, or from a ``torch.utils.data.DataLoader`` / ``Dataset`` of ``(x, y)`` pairs (then
    ``labels`` must be None): its batches concatenated in the loader's order (the data must fit in memory)."""
    from torch.utils.data import DataLoader, Dataset

    if not isinstance(data, (DataLoader, Dataset)):
        return data, labels
    if labels is not None:
        raise TypeError(f"{name} is a {type(data).__name__} of (x, y) pairs: do not pass its labels separately")
    loader = data if isinstance(data, DataLoader) else DataLoader(data, batch_size=1024, shuffle=False)
    xs, ys = [], []
    for batch in loader:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"{name}: each batch must be an (x, y) pair, got {type(batch).__name__}"
                            + (f" of {len(batch)}" if isinstance(batch, (tuple, list)) else ""))
        xs.append(torch.as_tensor(batch[0]))
        ys.append(torch.as_tensor(batch[1]))
    if not xs:
        raise ValueError(f"{name} is empty")
    return torch.cat(xs), torch.cat(ys)


def _as_tensor(a, task: str | None = None) -> Tensor:
    t = torch.as_tensor(np.asarray(a) if not isinstance(a, Tensor) else a)
    if task == "classification":
        return t.long()
    return t.float()


def binary_scores(out: Tensor) -> Tensor:
    """Scores of class 1 of a binary classifier's logits ``(B, 2)`` (their difference: monotone in P(class 1))."""
    if out.ndim != 2 or out.shape[1] != 2:
        raise ValueError(f"monitor val_auroc needs a binary classifier with 2 logits, got outputs of shape "
                         f"{tuple(out.shape)}")
    return out[:, 1] - out[:, 0]


@torch.no_grad()
def _evaluate(model, X, y, task, batch_size, auroc: bool = False) -> dict[str, float]:
    """Validation task loss ``val_loss`` (and ``val_auroc`` when asked) in eval mode."""
    model.eval()
    total, n, scores = 0.0, 0, []
    for i in range(0, len(X), batch_size):
        xb, yb = X[i : i + batch_size], y[i : i + batch_size]
        out = model(xb)
        total += float(task_loss(out, yb, task)) * len(xb)
        n += len(xb)
        if auroc:
            scores.append(binary_scores(out).cpu())
    model.train()
    res = {"val_loss": total / max(n, 1)}
    if auroc:
        from .stats import auroc as auroc_score

        labels = y.cpu().numpy()
        if task != "classification" or len(np.unique(labels)) != 2:
            raise ValueError("monitor val_auroc needs a classification task with both classes in the validation set")
        res["val_auroc"] = auroc_score(labels, torch.cat(scores).numpy())
    return res


class EarlyStopping:
    """Keep the best weights by a validation metric (the loss by default) and say when to stop.

    An epoch improves when its value is below the best so far by more than ``min_delta`` (above it with
    ``maximize=True``, e.g. for an AUROC); after ``patience`` epochs in a row without improvement :meth:`update`
    returns ``True``, and :attr:`stopped` is set. Without validation data
    (``monitor=False``) every epoch counts as the best, so the last epoch is kept and training never stops early.
    :meth:`restore` loads the best weights back into the model (and the prior, whose parameters DAPr trains);
    the model optimiser's state at the best epoch is kept in :attr:`optimizer_state` (to continue training).
    :meth:`start_from` makes the untrained model a candidate (epoch −1) before the first epoch.
    """

    def __init__(self, patience: int, min_delta: float = 0.0, monitor: bool = True, maximize: bool = False):
        self.patience, self.min_delta, self.monitor, self.maximize = patience, min_delta, monitor, maximize
        self.best_loss, self.best_epoch, self.bad_epochs = float("inf"), -1, 0
        self.best_value, self.stopped = -float("inf") if maximize else float("inf"), False
        self.state: dict | None = None
        self.prior_state: dict | None = None
        self.optimizer_state: dict | None = None

    def _keep(self, epoch, loss, model, prior, optimizer, value=None) -> None:
        self.best_loss, self.best_epoch = loss, epoch
        self.best_value = loss if value is None else value
        self.state = copy.deepcopy(model.state_dict())
        if optimizer is not None:
            self.optimizer_state = copy.deepcopy(optimizer.state_dict())
        if prior is not None:
            self.prior_state = copy.deepcopy(prior.state_dict())

    def start_from(self, loss: float, model: nn.Module, prior: nn.Module | None = None,
                   optimizer: torch.optim.Optimizer | None = None, value: float | None = None) -> None:
        """Let the model as given (before any step, validation loss ``loss``; monitored ``value``, default the
        loss) compete as epoch −1."""
        self._keep(-1, loss, model, prior, optimizer, value)

    def update(self, epoch: int, loss: float, model: nn.Module, prior: nn.Module | None = None,
               optimizer: torch.optim.Optimizer | None = None, value: float | None = None) -> bool:
        """Record one epoch's validation loss and monitored ``value`` (default: the loss); copy the weights (and
        optimiser state) when it is the best; return whether to stop."""
        value = loss if value is None else value
        gain = value - self.best_value if self.maximize else self.best_value - value
        if gain > self.min_delta or not self.monitor:
            self._keep(epoch, loss, model, prior, optimizer, value)
            self.bad_epochs = 0
            return False
        self.bad_epochs += 1
        self.stopped = self.bad_epochs >= self.patience
        return self.stopped

    def restore(self, model: nn.Module, prior: nn.Module | None = None) -> None:
        """Load the best weights seen into ``model`` (and ``prior``); a no-op before the first update."""
        if self.state is None:
            return
        model.load_state_dict(self.state)
        if prior is not None and self.prior_state is not None:
            prior.load_state_dict(self.prior_state)


@dataclass
class Optimizers:
    """The optimisers of one fit.

    ``model`` takes the task step (and the joint step); ``prior_step`` is the model's second optimiser for the
    separate prior step of the alternating schedule; ``prior_params`` trains a prior's own parameters (DAPr).
    """

    model: torch.optim.Optimizer
    prior_step: torch.optim.Optimizer | None = None
    prior_params: torch.optim.Optimizer | None = None

    @classmethod
    def for_fit(cls, model: nn.Module, prior: nn.Module | None, config: FitConfig) -> "Optimizers":
        """Adam on the model (``lr``, ``weight_decay``); with an active prior, Adam at ``prior_lr`` (default
        ``lr``) on the prior's ``extra_parameters()`` if it has any, and on the model for the alternating step."""
        use_prior = prior is not None and config.prior_weight > 0
        prior_lr = config.prior_lr or config.lr
        own = list(prior.extra_parameters()) if use_prior and hasattr(prior, "extra_parameters") else []
        kernel = {"fused": True} if config.fused_adam else {}
        return cls(
            model=torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, **kernel),
            prior_step=torch.optim.Adam(model.parameters(), lr=prior_lr, **kernel)
            if use_prior and config.schedule == "alternating"
            else None,
            prior_params=torch.optim.Adam(own, lr=prior_lr, **kernel) if own else None,
        )


def _zero_grad(*optimizers: torch.optim.Optimizer | None) -> None:
    for opt in optimizers:
        if opt is not None:
            opt.zero_grad(set_to_none=True)


def _step(*optimizers: torch.optim.Optimizer | None) -> None:
    for opt in optimizers:
        if opt is not None:
            opt.step()


def _batch_task_loss(model, xb, yb, task, weight_penalty) -> Tensor:
    loss = task_loss(model(xb), yb, task)
    return loss if weight_penalty is None else loss + weight_penalty(model)


def task_step(model, xb, yb, task, opts: Optimizers, weight_penalty=None) -> Tensor:
    """One optimiser step on the task loss (plus ``weight_penalty(model)``); returns that loss."""
    loss = _batch_task_loss(model, xb, yb, task, weight_penalty)
    _zero_grad(opts.model)
    loss.backward()
    _step(opts.model)
    return loss


def joint_step(model, prior, weight: float, xb, yb, task, opts: Optimizers,
               weight_penalty=None) -> tuple[Tensor, Tensor]:
    """The joint schedule: one backward pass of ``task + weight·Ω``; the model's optimiser and the prior's own
    (if any) both step. Returns ``(task loss, Ω)``."""
    loss = _batch_task_loss(model, xb, yb, task, weight_penalty)
    omega = prior(model, xb, yb, task)
    _zero_grad(opts.model, opts.prior_params)
    (loss + weight * omega).backward()
    _step(opts.model, opts.prior_params)
    return loss, omega


def alternating_step(model, prior, weight: float, xb, yb, task, opts: Optimizers,
                     weight_penalty=None) -> tuple[Tensor, Tensor]:
    """The alternating schedule: a task step, then a separate step on ``weight·Ω`` alone (the model's second
    optimiser and the prior's own). Returns ``(task loss, Ω)``."""
    loss = task_step(model, xb, yb, task, opts, weight_penalty)
    omega = prior(model, xb, yb, task)
    _zero_grad(opts.prior_step, opts.prior_params)
    (weight * omega).backward()
    _step(opts.prior_step, opts.prior_params)
    return loss, omega


#: One step function per prior schedule (see the module docstring).
SCHEDULES = {"joint": joint_step, "alternating": alternating_step}


def train_epoch(model, X: Tensor, y: Tensor, *, task: str, opts: Optimizers, batch_size: int,
                generator: torch.Generator, prior=None, prior_weight: float = 0.0, schedule: str = "joint",
                weight_penalty=None, batch_transform=None, transform_generator=None) -> tuple[float, float]:
    """One pass over ``(X, y)`` in an order drawn from ``generator``; returns the mean task loss and the mean
    prior value ``Ω`` (NaN without an active prior) over the samples."""
    use_prior = prior is not None and prior_weight > 0
    perm = torch.randperm(len(X), generator=generator).to(X.device)
    task_sum, prior_sum = 0.0, 0.0
    for i in range(0, len(X), batch_size):
        idx = perm[i : i + batch_size]
        xb, yb = X[idx], y[idx]
        if batch_transform is not None:
            xb, yb = batch_transform(xb, yb, transform_generator)
        if use_prior:
            loss, omega = SCHEDULES[schedule](model, prior, prior_weight, xb, yb, task, opts, weight_penalty)
            prior_sum += omega.item() * len(idx)
        else:
            loss = task_step(model, xb, yb, task, opts, weight_penalty)
        task_sum += loss.item() * len(idx)
    return task_sum / len(X), prior_sum / len(X) if use_prior else np.nan


def fit(
    model: nn.Module,
    X_train,
    y_train=None,
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
    epoch_callback: Callable[[int, nn.Module], None] | None = None,
) -> FitResult:
    """Train ``model`` on ``(X_train, y_train)``; return the best model by the validation metric ``config.monitor``.

    Parameters
    ----------
    X_train, y_train, X_val, y_val : arrays or tensors; or ``X_train`` (and ``X_val``) a
        ``torch.utils.data.DataLoader`` / ``Dataset`` of ``(x, y)`` pairs with ``y_train`` (``y_val``) left out.
        A loader's batches are concatenated (the data must fit in memory) and ``fit`` draws its own batches of
        ``config.batch_size`` in its seeded order, so the loader's batch size and shuffling are not used.
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
    initial_candidate : the model as given competes for "best" with its validation metric before any step
        (reported as ``best_epoch == -1``, i.e. zero epochs, when nothing beats it).
    epoch_callback : ``f(epoch, model)`` after every epoch's validation (e.g. to keep a copy of each epoch's
        weights when the number of epochs is chosen later, over several fits).

    The steps: :class:`Optimizers` for the model (and the prior), :func:`train_epoch` per epoch with the
    schedule's step function (:func:`task_step`, :func:`joint_step` or :func:`alternating_step`), the
    validation metric (``config.monitor``; learning-rate decay on its plateaus with ``config.lr_factor``), and
    :class:`EarlyStopping`, which restores the best weights at the end. Without
    validation data the last epoch is kept. The data loader order is drawn from a generator seeded by
    ``config.seed``; call :func:`attrpriors.seeds.seed_everything` before building the model to seed its
    initialisation.
    """
    config = config or FitConfig()
    X_train, y_train = _materialize(X_train, y_train, "X_train")
    if X_val is not None:
        X_val, y_val = _materialize(X_val, y_val, "X_val")
    if y_train is None:
        raise TypeError("fit needs y_train (or X_train as a DataLoader / Dataset of (x, y) pairs)")
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

    opts = Optimizers.for_fit(model, prior, config)
    if optimizer_state is not None:
        opts.model.load_state_dict(copy.deepcopy(dict(optimizer_state)))
        for group in opts.model.param_groups:  # the saved groups carry their kernel flag: this fit's setting wins
            group["fused"] = True if config.fused_adam else None
    gen = torch.Generator().manual_seed(config.seed)
    aug_gen = None if batch_transform is None else torch.Generator().manual_seed(
        derive_seed(config.seed, "batch_transform"))
    auroc, maximize = config.monitor == "val_auroc", MONITORS[config.monitor]
    stopper = EarlyStopping(config.patience, config.min_delta, monitor=has_val, maximize=maximize)
    if initial_candidate and has_val:
        val = _evaluate(model, Xva, yva, task, 4096, auroc=auroc)
        stopper.start_from(val["val_loss"], model, prior, opts.model, value=val[config.monitor])
    schedulers = [
        torch.optim.lr_scheduler.ReduceLROnPlateau(o, mode="max" if maximize else "min", factor=config.lr_factor,
                                                   patience=config.lr_patience, min_lr=config.min_lr)
        for o in (opts.model, opts.prior_step, opts.prior_params) if o is not None
    ] if config.lr_factor is not None and has_val else []
    history = []
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
        train_loss, train_prior = train_epoch(
            model, Xtr, ytr, task=task, opts=opts, batch_size=config.batch_size, generator=gen, prior=prior,
            prior_weight=config.prior_weight, schedule=config.schedule, weight_penalty=weight_penalty,
            batch_transform=batch_transform, transform_generator=aug_gen)
        if not np.isfinite(train_loss):
            raise FloatingPointError(f"{description}: training loss became {train_loss} at epoch {epoch}")
        lr = opts.model.param_groups[0]["lr"]  # the learning rate this epoch trained with
        val = _evaluate(model, Xva, yva, task, 4096, auroc=auroc) if has_val else {"val_loss": train_loss}
        val_loss, current = val["val_loss"], val.get(config.monitor, val["val_loss"])
        row = {"epoch": epoch, "train_loss": train_loss, "train_prior": train_prior,
               "val_loss": val_loss if has_val else np.nan}
        if config.monitor != "val_loss":
            row[config.monitor] = current if has_val else np.nan
        if schedulers:
            row["lr"] = lr
        history.append({**row, "seconds": time.perf_counter() - t0})
        bar.set_postfix(train=f"{train_loss:.4g}", val=f"{current:.4g}", refresh=False)
        if epoch_callback is not None:
            epoch_callback(epoch, model)
        if stopper.update(epoch, val_loss, model, prior, opts.model, value=current):
            log.info("%s: early stop at epoch %d (best %d)", description, epoch, stopper.best_epoch)
            break
        for sched in schedulers:
            sched.step(current)
    bar.close()
    hist = pd.DataFrame(history)
    if config.restore_best:
        stopper.restore(model, prior)
        best_epoch, best_loss, best_value = stopper.best_epoch, stopper.best_loss, stopper.best_value
        opt_state = stopper.optimizer_state
    else:  # the last epoch, as it is
        best_epoch = int(hist["epoch"].iloc[-1]) if len(hist) else -1
        best_loss = float(hist["val_loss"].iloc[-1] if has_val else hist["train_loss"].iloc[-1]) if len(hist) \
            else float("nan")
        best_value = float(hist[config.monitor].iloc[-1]) if config.monitor in hist and len(hist) else best_loss
        opt_state = copy.deepcopy(opts.model.state_dict())
    model.eval()
    if checkpoint is not None:
        save_torch(
            {
                "state_dict": model.state_dict(),
                "prior_state_dict": prior.state_dict() if prior is not None else None,
                "history": hist.to_dict("list"),
                "config": asdict(config),
                "best_epoch": best_epoch,
                "stopped_early": stopper.stopped,
                **(checkpoint_extra or {}),
            },
            checkpoint,
        )
    return FitResult(model, hist, best_epoch, best_loss, str(device), prior, asdict(config), opt_state,
                     best_monitor=best_value, stopped_early=stopper.stopped)
