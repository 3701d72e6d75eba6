"""Experiment C (Majdandzic et al.) end to end on the tiny config: outputs exist, are complete and sane."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from attrpriors.config_check import load_config
from conftest import TINY, snakemake

pytestmark = pytest.mark.pipeline


def _cfg():
    return load_config(TINY)["dna_consistency"]


def _models(cfg):
    pop = cfg["population"]
    return [f"{a}_{'bn' if b else 'nobn'}_{r}" for a in pop["activations"] for b in pop["batch_norm"]
            for r in pop["regularizers"]]


def test_selection_table_has_every_model_and_sane_values(tiny_run: Path):
    cfg = _cfg()
    models = _models(cfg)
    n = len(models) * cfg["population"]["trials"] * len(cfg["attribution"]["methods"])
    table = pd.read_csv(tiny_run / "results/tables/majdandzic_model_selection.csv")
    assert len(table) == n and set(table["model"]) == set(models)
    for col in ("generalization_auroc", "interpretability_auroc", "interpretability_aupr"):
        assert table[col].between(0, 1).all(), col
    assert np.isfinite(table[["kmer_kld", "vector_kld", "snr"]].to_numpy()).all()
    for method, sub in table.groupby("method"):
        assert sub["selected_combined"].sum() == 1 and sub["selected_generalization"].sum() == 1, method
        assert sub["pareto_front"].any()
        assert sub.loc[sub["selected_generalization"], "generalization_auroc"].item() == sub["generalization_auroc"].max()
    md = (tiny_run / "results/tables/majdandzic_model_selection.md").read_text()
    assert all(m in md for m in models)
    # every model's stop epoch (early stopping on validation AUROC or the epoch cap) and best epoch
    assert "stop epoch" in md and (table["epochs_run"] <= cfg["training"]["epochs"]).all()
    assert (table["best_epoch"] < table["epochs_run"]).all()


def test_population_summary_and_tidy_metrics(tiny_run: Path):
    summary = pd.read_csv(tiny_run / "results/tables/majdandzic_population_summary.csv")
    assert {"experiment", "method", "quantity", "metric", "value"} <= set(summary.columns)
    metrics = set(summary["metric"])
    assert {"kmer_kld:r", "vector_kld:r", "generalization_auroc:cv", "interpretability_auroc:cv"} <= metrics
    r = summary.set_index("metric")["value"]
    assert -1 <= r["vector_kld:r"] <= 1 and -1 <= r["kmer_kld:r"] <= 1
    assert "Pearson r" in (tiny_run / "results/tables/majdandzic_population_summary.md").read_text()
    long = pd.read_csv(tiny_run / "results/dna_consistency/metrics/population.csv")
    assert {"experiment", "model", "seed", "method", "metric", "value"} <= set(long.columns)
    assert (long["experiment"] == "dna_consistency").all()


def test_attributions_cover_the_same_positive_test_sequences(tiny_run: Path):
    cfg = _cfg()
    data = np.load(tiny_run / "results/dna_consistency/data/dataset.npz")
    indices = []
    for model in _models(cfg):
        a = np.load(tiny_run / f"results/dna_consistency/attributions/gradients/{model}/trial0.npz")
        assert a["attributions"].shape == (len(a["index"]), 4, data["x"].shape[2])
        assert np.isfinite(a["attributions"]).all()
        indices.append(a["index"])
    assert all(np.array_equal(indices[0], i) for i in indices)
    assert (data["y"][indices[0]] == 1).all() and (data["split"][indices[0]] == 2).all()
    assert len(indices[0]) == min(cfg["attribution"]["n_explain"], int(((data["split"] == 2) & (data["y"] == 1)).sum()))


def test_training_jobs_are_separate_with_logs_and_timings(tiny_run: Path):
    for model in _models(_cfg()):
        assert (tiny_run / f"results/dna_consistency/models/{model}/trial0.pt").stat().st_size > 10_000
        assert (tiny_run / f"results/logs/dna_consistency_train_cnn/{model}/trial0.log").stat().st_size > 0
        assert (tiny_run / f"results/timings/dna_consistency_train_cnn/{model}/trial0.tsv").exists()


def test_figures_are_written(tiny_run: Path):
    for name in ("majdandzic_consistency_vs_snr", "majdandzic_generalization_vs_snr",
                 "majdandzic_logos_most_vs_least_consistent", "majdandzic_training_curves"):
        png = tiny_run / f"results/figures/{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000, name


def test_bad_selection_method_is_named(tmp_path: Path):
    cfg = load_config(TINY)
    cfg["dna_consistency"]["selection"]["method"] = "integrated_gradients"
    bad = tmp_path / "config.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    proc = snakemake(tmp_path, "-n", configfile=bad)
    assert proc.returncode != 0
    assert "dna_consistency.selection.method" in proc.stdout + proc.stderr


def test_download_source_plans_the_archive_download(tmp_path: Path):
    """source: download adds the download rule and feeds the archive to the data rule (dry run, no network)."""
    cfg = load_config(TINY)
    cfg["dna_consistency"]["data"]["source"] = "download"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = snakemake(tmp_path, "-n", "results/dna_consistency/data/dataset.npz", configfile=path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert "dna_consistency_download" in out and "resources/dna_consistency/majdandzic_atac.zip" in out
