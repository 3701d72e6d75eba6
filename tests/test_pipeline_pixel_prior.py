"""Pipeline checks of A2 (pixel prior) on the tiny config: outputs exist and are sane; bad config is named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from attrpriors.config_check import load_config
from conftest import TINY, snakemake

pytestmark = pytest.mark.pipeline

PNG = b"\x89PNG\r\n\x1a\n"


def _cfg():
    return load_config(TINY)["pixel_prior"]


def test_pixel_prior_outputs_are_sane(tiny_run: Path):
    cfg = _cfg()
    n_lambdas = 1 + cfg["lambdas"]["num"]
    metrics = pd.read_csv(tiny_run / "results/pixel_prior/metrics.csv")
    assert sorted(metrics["lambda_index"].unique()) == list(range(n_lambdas))
    assert metrics["seed"].nunique() == cfg["seeds"]
    flat = metrics[metrics["metric"] != "noisy_accuracy"].pivot_table(
        index=["lambda_index", "seed"], columns="metric", values="value")
    assert flat["test_accuracy"].between(0, 1).all() and flat["val_accuracy"].between(0, 1).all()
    assert (flat["attribution_tv"] > 0).all() and np.isfinite(flat["attribution_tv"]).all()
    noisy = metrics[metrics["metric"] == "noisy_accuracy"]
    assert sorted(noisy["noise_fraction"].unique()) == sorted(cfg["evaluation"]["noise_fractions"])
    clean = noisy[noisy["noise_fraction"] == 0].set_index(["lambda_index", "seed"])["value"]
    assert np.allclose(clean.sort_index(), flat["test_accuracy"].sort_index())  # 0 % noise = the clean test set
    sel = json.loads((tiny_run / "results/pixel_prior/selection.json").read_text())
    assert 1 <= sel["shown_index"] < n_lambdas and sel["noise_indices"]
    maps = np.load(tiny_run / "results/pixel_prior/attributions/lambda0_seed0_maps.npz")
    assert maps["maps"].shape == (len(cfg["evaluation"]["example_classes"]), 10, 8, 8)
    assert maps["labels"].tolist() == cfg["evaluation"]["example_classes"]
    md = (tiny_run / "results/tables/erion_fig1_pixel_prior_summary.md").read_text()
    assert "attribution_tv" in md and "accuracy_noise_0.2" in md
    for name in ("erion_fig1_pixel_prior_tv_error", "erion_fig1_pixel_prior_attribution_maps",
                 "erion_supfig3_4_pixel_prior_all_classes", "erion_fig1_supfig5_pixel_prior_noise"):
        png = tiny_run / f"results/figures/{name}.png"
        assert png.read_bytes()[:8] == PNG and png.stat().st_size > 10_000, name
    assert (tiny_run / "results/timings/pixel_prior_train_cnn/lambda1_seed0.tsv").exists()
    assert (tiny_run / "results/logs/pixel_prior_train_cnn/lambda1_seed0.log").stat().st_size > 0


def _bad_config(tmp_path: Path, **changes) -> Path:
    cfg = load_config(TINY)
    for dotted, value in changes.items():
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_pixel_prior_bad_source_is_named(tmp_path: Path):
    proc = snakemake(tmp_path, "-n", configfile=_bad_config(tmp_path, **{"pixel_prior.data.source": "simulated"}))
    assert proc.returncode != 0
    assert "simulated" in proc.stdout + proc.stderr


def test_pixel_prior_download_switch_needs_the_mnist_files(tmp_path: Path):
    """source: download puts the MNIST download rule in the graph (dry-run only: nothing is fetched)."""
    proc = snakemake(tmp_path, "-n", "results/pixel_prior/data.npz",
                     configfile=_bad_config(tmp_path, **{"pixel_prior.data.source": "download"}))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pixel_prior_download_mnist" in proc.stdout + proc.stderr
