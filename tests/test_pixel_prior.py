"""Pixel attribution prior (Erion et al. Fig. 1): the image CNN, the TV prior, salt-and-pepper noise, data, selection."""

from __future__ import annotations

import gzip
import json
import struct

import numpy as np
import pandas as pd
import pytest
import torch

from attrpriors.attributions import expected_gradients
from attrpriors.data.images import load_digits_images, read_idx, salt_and_pepper
from attrpriors.models import MODEL_TYPES, ImageCNN, build_model
from attrpriors.priors import EvalModeAttributionPrior, total_variation_penalty
from attrpriors.seeds import seed_everything
from attrpriors.training import FitConfig, fit


def test_image_cnn_shapes_digits_and_mnist():
    assert MODEL_TYPES["image_cnn"] is ImageCNN
    small = build_model({"type": "image_cnn", "channels": [8, 16], "kernel_size": 3, "hidden": 32}, 1, 10)
    assert small(torch.zeros(5, 1, 8, 8)).shape == (5, 10)
    paper = build_model({"type": "image_cnn", "image_size": 28, "channels": [32, 64], "kernel_size": 5,
                         "hidden": 1024, "dropout": 0.5}, 1, 10)
    assert paper(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert paper.classifier[1].in_features == 64 * 7 * 7  # two 2×2 poolings of 28 × 28
    with pytest.raises(ValueError, match="too small"):
        ImageCNN(1, 10, image_size=2, channels=(4, 4))


def _digits(n=256):
    X, y = load_digits_images()
    return torch.as_tensor(X[:n]), torch.as_tensor(y[:n])


def _mean_tv(model, X, y, bg):
    gen = torch.Generator().manual_seed(0)
    phi = expected_gradients(model, X, y, bg, n_samples=30, generator=gen)
    return float(total_variation_penalty(phi))


def test_tv_prior_lowers_tv_of_eg_maps_in_a_few_steps():
    """Training steps on λ·Ω_pixel alone (k = 1) make the standardised EG maps smoother."""
    seed_everything(0)
    X, y = _digits(128)
    model = ImageCNN(1, 10, image_size=8, channels=(8, 16), hidden=32, dropout=0.0)
    fit(model, X[:96].numpy(), y[:96].numpy(), task="classification",
        config=FitConfig(epochs=3, batch_size=32, lr=3e-3, seed=0, device="cpu", progress=False))
    X_eval, y_eval, bg = X[96:], y[96:], X[:96]
    before = _mean_tv(model, X_eval, y_eval, bg)
    prior = EvalModeAttributionPrior(total_variation_penalty, n_references=1, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(20):
        idx = torch.arange(32) + (step % 3) * 32
        omega = prior(model, X[idx], y[idx], "classification")
        opt.zero_grad()
        omega.backward()
        opt.step()
    after = _mean_tv(model, X_eval, y_eval, bg)
    assert after < 0.9 * before, (before, after)


def test_eval_mode_prior_turns_dropout_off_and_restores_training_mode():
    seed_everything(0)
    X, y = _digits(16)
    model = ImageCNN(1, 10, image_size=8, channels=(4,), hidden=16, dropout=0.9).train()
    a = EvalModeAttributionPrior(total_variation_penalty, seed=3).attributions(model, X, y, "classification")
    b = EvalModeAttributionPrior(total_variation_penalty, seed=3).attributions(model, X, y, "classification")
    assert torch.allclose(a, b)  # same references and α, no dropout mask: identical
    assert model.training
    assert a.requires_grad  # still differentiable for the prior step


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.5, 1.0])
def test_salt_and_pepper_sets_exactly_the_fraction(fraction):
    X = np.full((30, 1, 8, 8), 0.5, dtype=np.float32)
    noisy = salt_and_pepper(X, fraction, np.random.default_rng(0))
    changed = (noisy != 0.5).reshape(30, -1).sum(1)
    assert (changed == round(fraction * 64)).all()
    assert set(np.unique(noisy[noisy != 0.5])) <= {0.0, 1.0}
    assert (X == 0.5).all()  # the input is not modified
    if fraction >= 0.5:  # both values occur, about equally often
        assert 0.4 < (noisy == 1.0).sum() / (noisy != 0.5).sum() < 0.6


def test_salt_and_pepper_is_seeded_and_channel_consistent():
    X = np.full((4, 3, 6, 6), 0.5, dtype=np.float32)
    a = salt_and_pepper(X, 0.3, np.random.default_rng(7))
    b = salt_and_pepper(X, 0.3, np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert (a[:, 0] == a[:, 1]).all() and (a[:, 1] == a[:, 2]).all()
    with pytest.raises(ValueError, match="fraction"):
        salt_and_pepper(X, 1.5, np.random.default_rng(0))


def test_digits_are_scaled_images():
    X, y = load_digits_images()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def _write_idx(path, array, dtype_code=0x08):
    header = bytes([0, 0, dtype_code, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(">u1" if dtype_code == 0x08 else ">i4").tobytes())


def test_read_idx_round_trip_and_bad_files(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "x-idx3-ubyte.gz", arr)
    assert np.array_equal(read_idx(tmp_path / "x-idx3-ubyte.gz"), arr)
    labels = np.array([3, 1, 4], dtype=np.int32)
    _write_idx(tmp_path / "y.gz", labels, dtype_code=0x0C)
    assert np.array_equal(read_idx(tmp_path / "y.gz"), labels)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"not an idx file"))
    with pytest.raises(ValueError, match="bad.gz"):
        read_idx(tmp_path / "bad.gz")
    with pytest.raises(FileNotFoundError, match="missing.gz"):
        read_idx(tmp_path / "missing.gz")


def test_make_data_bundled_split(tmp_path):
    from attrpriors.experiments.pixel_prior import DATA_KEYS, make_data
    from attrpriors.io import load_npz

    make_data("bundled", {"test": 0.2, "val": 0.25}, 0, str(tmp_path / "d.npz"))
    d = load_npz(tmp_path / "d.npz", DATA_KEYS)
    n_test = round(0.2 * 1797)
    assert len(d["y_test"]) == n_test
    assert len(d["y_val"]) == round(0.25 * (1797 - n_test))
    assert len(d["y_train"]) + len(d["y_val"]) + len(d["y_test"]) == 1797
    with pytest.raises(ValueError, match="source"):
        make_data("simulated", {"test": 0.2, "val": 0.2}, 0, str(tmp_path / "e.npz"))
    assert not (tmp_path / "e.npz").exists()


def _metrics(tmp_path, val_acc):
    paths = []
    for i, (lam, acc) in enumerate(val_acc):
        rows = [{"experiment": "pixel_prior", "model": f"lambda{i}", "seed": 0, "metric": m, "value": v,
                 "strength": lam, "noise_fraction": np.nan}
                for m, v in (("val_accuracy", acc), ("test_accuracy", acc), ("attribution_tv", 90 - 10 * i))]
        rows.append({"experiment": "pixel_prior", "model": f"lambda{i}", "seed": 0, "metric": "noisy_accuracy",
                     "value": acc - 0.1, "strength": lam, "noise_fraction": 0.1})
        p = tmp_path / f"lambda{i}_seed0.csv"
        pd.DataFrame(rows).to_csv(p, index=False)
        paths.append(str(p))
    return paths


def test_summary_selects_largest_lambda_within_tolerance(tmp_path):
    from attrpriors.experiments.pixel_prior import summarize

    paths = _metrics(tmp_path, [(0.0, 0.98), (0.001, 0.985), (0.01, 0.975), (0.1, 0.90)])
    out = {k: str(tmp_path / f"{k}.{ext}") for k, ext in
           (("metrics", "csv"), ("csv", "csv"), ("md", "md"), ("selection", "json"))}
    summarize(paths, 0.01, out["metrics"], out["csv"], out["md"], out["selection"])
    sel = json.loads(open(out["selection"]).read())
    assert sel["selected_index"] == 2 and sel["selected_lambda"] == pytest.approx(0.01)
    assert sel["noise_indices"] == [1, 2, 3]
    summarize(paths, 0.0, out["metrics"], out["csv"], out["md"], out["selection"])
    sel = json.loads(open(out["selection"]).read())
    assert sel["selected_index"] == 1
    paths = _metrics(tmp_path, [(0.0, 0.98), (0.01, 0.90), (0.1, 0.80)])
    summarize(paths, 0.01, out["metrics"], out["csv"], out["md"], out["selection"])
    sel = json.loads(open(out["selection"]).read())
    assert sel["selected_index"] is None and sel["shown_index"] == 1  # fallback: best validation accuracy


def test_training_and_evaluation_are_deterministic(tmp_path):
    from attrpriors.experiments.pixel_prior import evaluate, make_data, train

    make_data("bundled", {"test": 0.2, "val": 0.2, "n_train": 200}, 0, str(tmp_path / "d.npz"))
    spec = {"type": "image_cnn", "channels": [4], "kernel_size": 3, "hidden": 8, "dropout": 0.5}
    params = {"n_references": 5, "tv_images": 40, "noise_fractions": [0.0, 0.3], "noise_repeats": 1,
              "example_classes": [1], "max_val_accuracy_drop": 0.01}
    for run in ("a", "b"):
        train(str(tmp_path / "d.npz"), spec, {"epochs": 1, "batch_size": 50, "lr": 0.01, "progress": False}, 1,
              0.01, 1, 0, 0, "cpu", str(tmp_path / f"{run}.pt"), str(tmp_path / f"{run}_h.csv"))
        evaluate(str(tmp_path / "d.npz"), str(tmp_path / f"{run}.pt"), params, 0.01, 1, 0, 0, "cpu",
                 str(tmp_path / f"{run}.csv"), str(tmp_path / f"{run}_maps.npz"))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))
    a, b = np.load(tmp_path / "a_maps.npz"), np.load(tmp_path / "b_maps.npz")
    assert a["maps"].shape == (1, 10, 8, 8) and np.array_equal(a["maps"], b["maps"])
