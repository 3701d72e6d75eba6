import numpy as np
import pytest
import torch

from attrpriors.models import MLP, load_model, model_checkpoint_info
from attrpriors.priors import AttributionPrior
from attrpriors.training import FitConfig, derive_seed, fit, predict, seed_everything, select_device


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


def test_device_and_seeds():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            select_device("cuda")
    assert derive_seed(0, "a", 1) == derive_seed(0, "a", 1) != derive_seed(0, "a", 2)
