"""Pipeline checks of A4 (sparsity prior) on the tiny config: outputs exist and are sane; bad config is named."""

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
    return load_config(TINY)["sparsity_prior"]


def _sweep_datasets(cfg):
    return [d for d in cfg["datasets"] if cfg["cohorts"][d].get("sweep", True)]


def test_sparsity_sweep_outputs_are_sane(tiny_run: Path):
    cfg = _cfg()
    assert _sweep_datasets(cfg)
    for d in _sweep_datasets(cfg):
        df = pd.read_csv(tiny_run / f"results/sparsity_prior/{d}/metrics.csv")
        swept = cfg["sweep_penalties"]  # config.yaml has a grid for every penalty; the sweep runs these
        assert set(df["penalty"]) == set(swept)
        expected_runs = sum(cfg["penalties"][q].get("num", 1) * cfg["penalties"][q].get("seeds", 1) for q in swept)
        runs = df.groupby(["penalty", "strength", "seed"])
        assert runs.ngroups == expected_runs
        assert (runs.size() == 7).all()  # val/test × auc/loss/gini, best epoch
        ok = df[df["status"] == "ok"]
        auc = ok[ok["metric"].str.endswith("_auc")]["value"]
        gini = ok[ok["metric"].str.endswith("_gini")]["value"]
        p = np.load(tiny_run / f"results/sparsity_prior/{d}/data.npz")["X_train"].shape[1]
        assert auc.between(0, 1).all() and gini.between(0, 1 - 1 / p).all()
        epochs = ok.loc[ok["metric"] == "best_epoch", "value"]
        assert epochs.between(1, cfg["training"]["epochs"]).all()
        phi = np.load(tiny_run / f"results/sparsity_prior/{d}/attributions/gini.npz")
        assert phi["test"].shape == (cfg["penalties"]["gini"]["num"], p) and (phi["test"] >= 0).all()
        failed = pd.read_csv(tiny_run / f"results/tables/erion_sparsity_failed_runs_{d}.csv")
        assert set(failed.columns) >= {"penalty", "strength", "seed", "attempts", "outcome"}
        assert "NaN" in (tiny_run / f"results/tables/erion_sparsity_failed_runs_{d}.md").read_text()
        best = pd.read_csv(tiny_run / f"results/tables/erion_fig3_sparsity_best_models_{d}.csv")
        assert set(best.loc[best["selection"] == "lorenz", "penalty"]) == set(swept)
        sel = json.loads((tiny_run / f"results/sparsity_prior/{d}/selection.json").read_text())
        assert sel["auc_tolerance"] == cfg["auc_tolerance"] and "gini" in sel["lorenz"]
        for name in ("erion_fig3_supfig14_sparsity_gini_vs_auc", "erion_fig3_sparsity_lorenz",
                     "erion_supfig13_sparsity_sweep", "erion_fig3_sparsity_small_data"):
            png = tiny_run / f"results/figures/{name}_{d}.png"
            assert png.read_bytes()[:8] == PNG and png.stat().st_size > 10_000, name
        assert (tiny_run / f"results/timings/sparsity_prior_train_mlp/{d}/gini.tsv").exists()


def test_small_data_ttests(tiny_run: Path):
    cfg = _cfg()
    small = cfg["small_data"]
    for d in cfg["datasets"]:
        table = pd.read_csv(tiny_run / f"results/tables/erion_fig3_sparsity_small_data_ttests_{d}.csv")
        assert set(table["baseline"]) == set(small["penalties"][1:])
        assert (table["model"] == small["penalties"][0]).all()
        assert (table["n_subsamples"] == small["n_subsamples"]).all()
        assert table["p_two_sided"].between(0, 1).all()
        assert table["mean_auc_model"].between(0.5, 1).all()
        md = (tiny_run / f"results/tables/erion_fig3_sparsity_small_data_ttests_{d}.md").read_text()
        assert "sparse attribution prior" in md
        png = tiny_run / f"results/figures/erion_fig3_sparsity_small_data_{d}.png"
        assert png.read_bytes()[:8] == PNG


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


def test_unknown_penalty_is_named(tmp_path: Path):
    penalties = {**_cfg()["penalties"], "elastic_net": {"scale": "log", "min": 0.1, "max": 1, "num": 2}}
    proc = snakemake(tmp_path, "-n", configfile=_bad_config(tmp_path, **{"sparsity_prior.penalties": penalties}))
    assert proc.returncode != 0
    assert "elastic_net" in proc.stdout + proc.stderr


def test_sweep_penalties_choose_the_training_jobs(tmp_path: Path):
    """sparsity_prior.sweep_penalties, not the grids of sparsity_prior.penalties, decides the sweep's jobs."""
    proc = snakemake(tmp_path, "-n", configfile=_bad_config(tmp_path, **{"sparsity_prior.sweep_penalties":
                                                                         ["unregularized", "l1_all"]}))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "sweep/l1_all.csv" in out and "sweep/unregularized.csv" in out and "sweep/gini.csv" not in out


def test_log_grid_must_be_positive(tmp_path: Path):
    grid = {"scale": "log", "min": 0, "max": 1, "num": 3}
    proc = snakemake(tmp_path, "-n", configfile=_bad_config(tmp_path, **{"sparsity_prior.penalties.gini": grid}))
    assert proc.returncode != 0
    assert "gini" in proc.stdout + proc.stderr or "exclusiveMinimum" in proc.stdout + proc.stderr


def test_sparsity_download_switch_needs_the_nhanes_files(tmp_path: Path):
    """A cohort with source: download puts the NHANES download rule in the graph (dry-run only)."""
    cohorts = {**_cfg()["cohorts"], "nhanes": {"source": "download", "horizon_years": 10}}
    proc = snakemake(tmp_path, "-n", "results/sparsity_prior/nhanes/data.npz",
                     configfile=_bad_config(tmp_path, **{"sparsity_prior.cohorts": cohorts,
                                                         "sparsity_prior.datasets": ["nhanes"]}))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sparsity_prior_download_nhanes" in proc.stdout + proc.stderr


def test_dataset_without_cohort_is_named(tmp_path: Path):
    proc = snakemake(tmp_path, "-n", configfile=_bad_config(tmp_path, **{"sparsity_prior.datasets": ["mimic"]}))
    assert proc.returncode != 0
    assert "mimic" in proc.stdout + proc.stderr and "sparsity_prior.cohorts" in proc.stdout + proc.stderr
