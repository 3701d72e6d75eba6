import numpy as np
import pytest
import torch

from attrpriors.models import MLP, load_model, model_checkpoint_info
from attrpriors.priors import AttributionPrior
from attrpriors.seeds import seed_everything
from attrpriors.training import (
    SCHEDULES,
    EarlyStopping,
    FitConfig,
    Optimizers,
    fit,
    predict,
    select_device,
    train_epoch,
)


def _linear_data(n=300, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(np.float32)
    y = (X @ np.arange(1, p + 1) + 0.1 * rng.standard_normal(n)).astype(np.float32)
    return X, y


def _fit(seed=0, **cfg):
    X, y = _linear_data()
    seed_everything(seed)
    model = MLP(5, (16,), 1)
    config = FitConfig(epochs=cfg.pop("epochs", 40), batch_size=32, lr=1e-2, seed=seed, device="cpu",
                       progress=False, **cfg)
    return fit(model, X[:200], y[:200], X[200:], y[200:], config=config, **({} if "prior" not in cfg else {}))


def test_fit_learns_and_is_deterministic():
    a, b = _fit(), _fit()
    assert a.history["val_loss"].min() < 0.05 * a.history["val_loss"].iloc[0]
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    c = _fit(seed=1)
    assert not torch.equal(next(a.model.parameters()), next(c.model.parameters()))


def test_early_stopping_restores_best():
    res = _fit(epochs=500, patience=3)
    assert len(res.history) < 500
    assert res.best_val_loss == pytest.approx(res.history["val_loss"].min())


@pytest.mark.parametrize("schedule", ["joint", "alternating"])
def test_prior_schedules_lower_the_penalty(schedule):
    X, y = _linear_data()
    prior = AttributionPrior("l1", n_references=1, seed=0)
    pens = {}
    for weight in (0.0, 10.0):
        seed_everything(0)
        model = MLP(5, (16,), 1)
        cfg = FitConfig(epochs=30, batch_size=32, lr=1e-2, prior_weight=weight, schedule=schedule, seed=0,
                        device="cpu", progress=False, patience=100)
        res = fit(model, X[:200], y[:200], X[200:], y[200:], config=cfg, prior=prior)
        pens[weight] = prior(res.model, torch.as_tensor(X[200:]), None).item()
    assert pens[10.0] < 0.7 * pens[0.0]


def test_classification_and_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 1)
    seed_everything(0)
    spec = {"type": "mlp", "hidden": [8]}
    model = MLP(4, (8,), 3)
    ckpt = tmp_path / "m.pt"
    res = fit(model, X, y, X, y, task="classification",
              config=FitConfig(epochs=30, lr=1e-2, device="cpu", progress=False),
              checkpoint=ckpt, checkpoint_extra=model_checkpoint_info(spec, 4, 3))
    acc = (predict(res.model, X).argmax(1) == y).mean()
    assert acc > 0.85
    again = load_model(ckpt)
    np.testing.assert_allclose(predict(again, X), predict(res.model, X), rtol=1e-6)


def test_config_errors_name_the_key():
    with pytest.raises(KeyError, match="learning_rate"):
        FitConfig.from_mapping({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="schedule"):
        FitConfig.from_mapping({"schedule": "sometimes"})
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        load_model("nowhere.pt")


def test_device():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            select_device("cuda")


def test_optimizer_state_continues_adam():
    """``optimizer_state`` continues the given Adam: a full-batch epoch equals the next step of the same Adam by
    hand, and differs from a fresh Adam's first step (whose update is ±lr on every weight)."""
    X, y = _linear_data(n=64)
    seed_everything(0)
    model = MLP(5, (8,), 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(xt).reshape(-1), yt).backward()
        opt.step()
    import copy

    cont, fresh = copy.deepcopy(model), copy.deepcopy(model)
    state = copy.deepcopy(opt.state_dict())
    opt.zero_grad()
    torch.nn.functional.mse_loss(model(xt).reshape(-1), yt).backward()
    opt.step()  # the 4th step by hand
    cfg = FitConfig(epochs=1, batch_size=64, lr=1e-2, seed=0, device="cpu", progress=False)
    res = fit(cont, X, y, config=cfg, optimizer_state=state)
    for a, b in zip(res.model.parameters(), model.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert res.optimizer_state["state"][0]["step"] == 4
    res_fresh = fit(fresh, X, y, config=cfg)
    assert res_fresh.optimizer_state["state"][0]["step"] == 1
    assert not torch.allclose(next(res_fresh.model.parameters()), next(model.parameters()), atol=1e-6)


def test_initial_candidate_can_win():
    """With ``initial_candidate`` a model that training only makes worse is returned unchanged (best epoch −1);
    without it the best trained epoch is returned."""
    X, y = _linear_data()
    seed_everything(0)
    model = MLP(5, (), 1)
    coef, *_ = np.linalg.lstsq(np.c_[X[:200], np.ones(200)], y[:200], rcond=None)
    with torch.no_grad():
        model.first_layer().weight.copy_(torch.as_tensor(coef[:5], dtype=torch.float32)[None])
        model.first_layer().bias.fill_(float(coef[5]))
    before = [p.detach().clone() for p in model.parameters()]
    cfg = FitConfig(epochs=3, batch_size=8, lr=0.5, seed=0, device="cpu", progress=False)  # far too large a step
    res = fit(model, X[:200], y[:200], X[200:], y[200:], config=cfg, initial_candidate=True)
    assert res.best_epoch == -1
    assert all(torch.equal(a, b) for a, b in zip(res.model.parameters(), before))
    assert res.best_val_loss < res.history["val_loss"].min()
    seed_everything(0)
    other = MLP(5, (), 1)
    with torch.no_grad():
        for p, b in zip(other.parameters(), before):
            p.copy_(b)
    res2 = fit(other, X[:200], y[:200], X[200:], y[200:], config=cfg)
    assert res2.best_epoch >= 0


def test_early_stopping_counts_patience_and_restores_the_best_weights():
    model = torch.nn.Linear(2, 1)
    stop = EarlyStopping(patience=2, min_delta=0.1)
    decisions = []
    for epoch, loss in enumerate([3.0, 2.0, 1.95, 2.5, 1.5, 1.45, 1.6]):
        with torch.no_grad():
            model.weight.fill_(epoch)
        decisions.append(stop.update(epoch, loss, model))
    # 1.95 and 2.5 do not beat 2.0 by more than min_delta -> stop after epoch 3 (fit would break there);
    # fed on, 1.5 is an improvement that resets the count, 1.45 is within min_delta of it
    assert decisions == [False, False, False, True, False, False, True]
    assert (stop.best_epoch, stop.best_loss) == (4, 1.5)
    stop.restore(model)
    assert torch.all(model.weight == 4)
    last = EarlyStopping(patience=1, monitor=False)  # no validation data: every epoch is the best, never stop
    assert not any(last.update(e, loss, model) for e, loss in enumerate([1.0, 2.0, 3.0]))
    assert last.best_epoch == 2


class _SquaredWeights(torch.nn.Module):
    """A prior with a closed-form gradient: Ω = Σ w² over the model's weight."""

    def forward(self, model, x, y, task="regression"):
        return (model.weight ** 2).sum()


@pytest.mark.parametrize("schedule", ["joint", "alternating"])
def test_schedule_steps_follow_their_definition(schedule):
    torch.manual_seed(0)
    X, y = torch.randn(16, 3), torch.randn(16)
    model = torch.nn.Linear(3, 1)
    w0, b0 = model.weight.detach().clone(), model.bias.detach().clone()
    lr, lam = 0.1, 0.7

    def task_grad(w, b):
        w, b = w.clone().requires_grad_(), b.clone().requires_grad_()
        torch.nn.functional.mse_loss((X @ w.T + b).reshape(-1), y).backward()
        return w.grad, b.grad

    sgd = lambda: torch.optim.SGD(model.parameters(), lr=lr)  # noqa: E731
    opts = Optimizers(model=sgd(), prior_step=sgd())
    SCHEDULES[schedule](model, _SquaredWeights(), lam, X, y, "regression", opts)
    gw, gb = task_grad(w0, b0)
    if schedule == "joint":  # one step on task + λΩ
        w, b = w0 - lr * (gw + 2 * lam * w0), b0 - lr * gb
    else:  # a task step, then a step on λΩ alone
        w, b = w0 - lr * gw, b0 - lr * gb
        w = w - lr * 2 * lam * w
    torch.testing.assert_close(model.weight.detach(), w)
    torch.testing.assert_close(model.bias.detach(), b)


def test_train_epoch_without_prior_is_plain_task_steps():
    X, y = (torch.as_tensor(a) for a in _linear_data(n=64))
    a, b = MLP(5, (4,), 1), MLP(5, (4,), 1)
    b.load_state_dict(a.state_dict())
    opts = Optimizers(model=torch.optim.Adam(a.parameters(), lr=1e-2))
    loss, omega = train_epoch(a, X, y, task="regression", opts=opts, batch_size=16,
                              generator=torch.Generator().manual_seed(0))
    assert np.isnan(omega)
    perm = torch.randperm(64, generator=torch.Generator().manual_seed(0))
    opt, total = torch.optim.Adam(b.parameters(), lr=1e-2), 0.0
    for i in range(0, 64, 16):
        idx = perm[i : i + 16]
        step_loss = torch.nn.functional.mse_loss(b(X[idx]).reshape(-1), y[idx])
        opt.zero_grad()
        step_loss.backward()
        opt.step()
        total += step_loss.item() * 16
    assert loss == pytest.approx(total / 64)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def _binary_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] + 0.8 * rng.standard_normal(n) > 0).astype(np.int64)
    return X, y


def _fit_binary(**cfg):
    X, y = _binary_data()
    seed_everything(0)
    config = FitConfig(**{"epochs": 60, "batch_size": 32, "lr": 1e-2, "seed": 0, "device": "cpu", "progress": False,
                          **cfg})
    return fit(MLP(4, (16,), 2), X[:250], y[:250], X[250:], y[250:], task="classification", config=config)


def test_early_stopping_on_validation_auroc_keeps_the_best_auroc_epoch():
    from sklearn.metrics import roc_auc_score

    res = _fit_binary(monitor="val_auroc", patience=5)
    h = res.history
    assert "val_auroc" in h and res.stopped_early and len(h) < 60
    assert res.best_monitor == pytest.approx(h["val_auroc"].max())
    assert res.best_epoch == int(h["val_auroc"].idxmax())
    assert len(h) == res.best_epoch + 1 + 5  # stopped after `patience` epochs without a higher AUROC
    X, y = _binary_data()
    z = predict(res.model, X[250:])
    assert roc_auc_score(y[250:], z[:, 1] - z[:, 0]) == pytest.approx(res.best_monitor)  # the best weights are back
    # the loss monitor picks by the validation loss instead (default), and runs to the end without patience
    loss = _fit_binary(patience=1000, epochs=20)
    assert not loss.stopped_early and len(loss.history) == 20 and "val_auroc" not in loss.history


def test_learning_rate_decays_on_plateau_and_never_below_min_lr():
    res = _fit_binary(monitor="val_auroc", patience=1000, epochs=30, lr_factor=0.5, lr_patience=2, min_lr=2e-3)
    lr = res.history["lr"].to_numpy()
    assert lr[0] == pytest.approx(1e-2) and lr.min() == pytest.approx(2e-3)
    assert np.all(np.diff(lr) <= 0)
    drop = np.diff(lr) < 0
    assert np.all(np.isclose(lr[1:][drop] / lr[:-1][drop], 0.5) | np.isclose(lr[1:][drop], 2e-3))
    # a decay only follows more than lr_patience epochs without improvement of the monitored AUROC
    auc = res.history["val_auroc"].to_numpy()
    first = int(np.flatnonzero(np.diff(lr) < 0)[0]) + 1
    assert auc[:first - 2].max() >= auc[first - 2:first].max()
    with pytest.raises(ValueError, match="monitor"):
        FitConfig.from_mapping({"monitor": "val_accuracy"})
    with pytest.raises(ValueError, match="lr_factor"):
        FitConfig.from_mapping({"lr_factor": 2.0})


def test_val_auroc_needs_a_binary_classifier():
    X, y = _linear_data()
    seed_everything(0)
    with pytest.raises(ValueError, match="val_auroc"):
        fit(MLP(5, (4,), 1), X[:200], y[:200], X[200:], y[200:],
            config=FitConfig(epochs=2, monitor="val_auroc", device="cpu", progress=False))


def test_early_stopping_maximizes_a_metric_and_keeps_the_loss_of_its_best_epoch():
    model = MLP(2, (2,), 1)
    stop = EarlyStopping(patience=2, maximize=True)
    for epoch, (loss, auc) in enumerate([(0.9, 0.6), (0.5, 0.7), (0.4, 0.69), (0.3, 0.65)]):
        done = stop.update(epoch, loss, model, value=auc)
    assert done and stop.stopped and stop.best_epoch == 1
    assert stop.best_value == 0.7 and stop.best_loss == 0.5  # the loss of the best-AUROC epoch, not the lowest


def test_fused_adam_equals_the_default_update_up_to_rounding_and_wins_over_a_loaded_state():
    """``fused_adam`` selects Adam's fused kernel: the fit ends where the default implementation ends (float
    rounding apart), the default stays the default (bit-identical quick runs), and a fit that continues a saved
    optimiser state uses its own setting, not the flag stored in the state."""
    a, b = _fit(), _fit(fused_adam=True)
    assert a.best_epoch == b.best_epoch
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.allclose(pa, pb, atol=1e-5)
    assert a.optimizer_state["param_groups"][0]["fused"] is None
    assert b.optimizer_state["param_groups"][0]["fused"] is True
    X, y = _linear_data(n=64)
    cfg = dict(epochs=1, batch_size=64, lr=1e-2, seed=0, device="cpu", progress=False)
    cont = fit(a.model, X, y, config=FitConfig(**cfg, fused_adam=True), optimizer_state=a.optimizer_state)
    assert cont.optimizer_state["param_groups"][0]["fused"] is True
    back = fit(b.model, X, y, config=FitConfig(**cfg), optimizer_state=b.optimizer_state)
    assert back.optimizer_state["param_groups"][0]["fused"] is None
