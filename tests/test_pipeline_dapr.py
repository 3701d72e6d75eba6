"""End to end: the DAPr part of the rule graph (Weinberger et al. Fig. 2, Table 1, Figs. 3–4) on the tiny config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from attrpriors.config_check import load_config
from conftest import TINY

pytestmark = pytest.mark.pipeline

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def cfg():
    return load_config(TINY)["dapr"]


def test_two_moons_figure_and_table(tiny_run: Path, cfg):
    tm = cfg["two_moons"]
    summary = pd.read_csv(tiny_run / "results/tables/weinberger_fig2_two_moons_accuracy.csv")
    assert set(summary["model"]) == {"mlp", "dapr"}
    assert sorted(summary["n_nuisance"].unique()) == sorted(tm["n_nuisance"])
    assert (summary["n_datasets"] == tm["n_datasets"]).all()
    assert summary["mean"].between(0, 1).all()
    for n in tm["n_nuisance"]:
        for model in ("mlp", "dapr"):
            m = pd.read_csv(tiny_run / f"results/dapr/two_moons/metrics/{n}_{model}.csv")
            acc = m[m["metric"] == "test_accuracy"]
            assert sorted(acc["seed"]) == list(range(tm["n_datasets"]))
            assert (m["n_features"] == n + 2).all()
        assert (tiny_run / f"results/timings/dapr_train_two_moons/{n}_dapr.tsv").exists()
    png = tiny_run / "results/figures/weinberger_fig2_two_moons_accuracy.png"
    assert png.read_bytes()[:8] == PNG and png.stat().st_size > 10_000


def test_table1_has_every_row(tiny_run: Path, cfg):
    t1 = cfg["table1"]
    summary = pd.read_csv(tiny_run / "results/tables/weinberger_table1_mse.csv")
    assert set(summary["dataset"]) == set(t1["datasets"])  # linear and nonlinear response
    for _, g in summary.groupby("dataset"):
        assert list(g["model"]) == t1["models"]  # the paper's row order
    assert (summary["n_splits"] == t1["n_splits"]).all()
    assert np.isfinite(summary["mse_mean"]).all() and (summary["mse_mean"] > 0).all()
    md = (tiny_run / "results/tables/weinberger_table1_mse.md").read_text()
    assert "MLP w/ DAPr (informative)*" in md and "MERGE*" in md and "**" in md and "±" in md
    assert "strengths chosen on validation" in md
    long = pd.read_csv(tiny_run / "results/dapr/table1/metrics.csv")
    assert {"experiment", "dataset", "model", "seed", "metric", "value"} <= set(long.columns)
    n_data = len(t1["datasets"])
    assert len(long[long["metric"] == "test_mse"]) == n_data * len(t1["models"]) * t1["n_splits"]
    # the prior's strength is chosen on validation from its grid, per split
    chosen = long[(long["metric"] == "strength") & (long["model"] == "dapr_informative")]["value"]
    assert len(chosen) == n_data * t1["n_splits"] and set(chosen) <= set(t1["prior"]["weight"])
    tests = pd.read_csv(tiny_run / "results/tables/weinberger_table1_paired_tests.csv")
    assert set(tests["dataset"]) == set(t1["datasets"]) and (tests["n_splits"] == t1["n_splits"]).all()
    assert (tests["ci_low"] <= tests["mean_difference"]).all()
    notes = (tiny_run / "results/tables/weinberger_table1_paired_tests.md").read_text()
    assert all(f"* {ds}:" in notes for ds in t1["datasets"]) and "LASSO" in notes


def test_table1_paper_protocol(tiny_run: Path, cfg):
    """Every `paper` arm on every dataset and split, scored both ways, and the 2×2 sensitivity with its figure."""
    t1 = cfg["table1"]
    long = pd.read_csv(tiny_run / "results/dapr/table1/paper_metrics.csv")
    last = long[long["metric"] == "test_mse_last"]
    assert set(last["model"]) == set(t1["paper"]["arms"]) and set(last["dataset"]) == set(t1["datasets"])
    assert len(last) == len(t1["paper"]["arms"]) * len(t1["datasets"]) * t1["n_splits"]
    assert np.isfinite(last["value"]).all()
    after = long[long["metric"] == "epochs_after_optimum"]["value"]
    assert (after <= t1["paper"]["training"]["patience"]).all()
    sens = pd.read_csv(tiny_run / "results/tables/weinberger_table1_paper_protocol.csv")
    assert len(sens) == 12 * len(t1["datasets"])
    assert set(sens.loc[sens["protocol"] == "paper", ["dropout", "scoring"]].itertuples(index=False)) == \
        {("dapr_only", "last")}
    assert (tiny_run / "results/figures/weinberger_table1_paper_protocol.png").stat().st_size > 10_000


def test_prior_checkpoint_rebuilds(tiny_run: Path, cfg):
    from attrpriors.experiments.dapr import load_prior_model, prior_splits

    path = tiny_run / "results/dapr/table1/priors/drug_response/dapr_informative.pt"
    assert prior_splits(str(path)) == list(range(cfg["table1"]["n_splits"]))
    g, info = load_prior_model(str(path), 1)
    data = np.load(tiny_run / "results/dapr/table1/data/drug_response.npz")
    with torch.no_grad():
        pred = g(torch.as_tensor(data["meta_informative"])).numpy()
    np.testing.assert_allclose(pred, info["predicted_importance"], rtol=1e-5, atol=1e-7)


def test_prior_explanation(tiny_run: Path, cfg):
    png = tiny_run / "results/figures/weinberger_fig3_prior_explanation_drug_response.png"
    assert png.read_bytes()[:8] == PNG and png.stat().st_size > 10_000
    contrib = pd.read_csv(tiny_run / "results/tables/weinberger_fig3_prior_contributions_drug_response.csv")
    assert len(contrib) == cfg["explain"]["top_genes"]
    assert {"gene", "predicted_importance", "true_importance", "hubness"} <= set(contrib.columns)
    metrics = pd.read_csv(tiny_run / "results/tables/weinberger_fig3_prior_importance_drug_response.csv")
    rho = metrics[metrics["metric"] == "spearman_true_importance"]
    assert set(rho["model"]) == {"dapr_informative", "dapr_noise"}
    assert len(rho) == 2 * cfg["table1"]["n_splits"]
    assert rho["value"].dropna().between(-1, 1).all()


def test_pathways(tiny_run: Path, cfg):
    png = tiny_run / "results/figures/weinberger_fig4_prior_pathways_drug_response.png"
    assert png.read_bytes()[:8] == PNG
    counts = pd.read_csv(tiny_run / "results/tables/weinberger_fig4_prior_pathway_counts_drug_response.csv")
    assert set(counts["model"]) == {"dapr_informative", "dapr_noise"}
    assert (counts["value"] >= 0).all()
    ora = pd.read_csv(tiny_run / "results/tables/weinberger_fig4_prior_pathways_drug_response.csv")
    assert ora["fdr_bh"].between(0, 1).all() and (ora["query_size"] <= cfg["pathways"]["top_genes"]).all()
    assert (tiny_run / "results/tables/weinberger_fig4_prior_pathways_drug_response.md").stat().st_size > 0
