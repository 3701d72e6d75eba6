"""The RNA-seq data layer and the A3 graph-prior rules on the tiny config: every output exists and is sane."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrpriors.config_check import load_config
from conftest import TINY, snakemake

pytestmark = pytest.mark.pipeline

CFG = load_config(TINY)
MODELS = CFG["graph_prior"]["models"]
N = CFG["graph_prior"]["retrainings"]


def _png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_rnaseq_data_layer_outputs(tiny_run: Path):
    e = np.load(tiny_run / "results/rnaseq/preprocessed/expression.npz")
    assert e["X"].shape == (CFG["rnaseq"]["simulation"]["n_patients"], len(e["genes"]))
    steps = pd.read_csv(tiny_run / "results/tables/rnaseq_preprocessing_steps.csv")
    assert {"step", "n_genes_in", "n_genes_out", "n_dropped", "note"} <= set(steps.columns)
    assert "batch silhouette" in steps.set_index("step").loc["combat", "note"]
    patients = set(e["patients"].astype(str))
    for i in range(CFG["rnaseq"]["splits"]["n"]):
        s = json.loads((tiny_run / f"results/rnaseq/splits/split{i}.json").read_text())
        parts = [set(s[k]) for k in ("train", "val", "test")]
        assert set.union(*parts) == patients and sum(map(len, parts)) == len(patients)
    assert (tiny_run / "results/rnaseq/gene_sets/KEGG.gmt").stat().st_size > 10_000
    assert _png(tiny_run / "results/figures/rnaseq_pasilla_combat_pca.png")
    # the count simulator next to the real counts it is calibrated on (issue 13 item 1)
    assert _png(tiny_run / "results/figures/rnaseq_simulator_vs_real.png")
    cal = json.loads((tiny_run / "results/rnaseq/calibration.json").read_text())
    assert cal["reference"] == "airway" and 0 < cal["datasets"]["airway"]["a0"] < 0.1
    svr = pd.read_csv(tiny_run / "results/tables/rnaseq_simulator_vs_real.csv")
    assert {"airway", "simulated"} <= set(svr["dataset"])
    stats = set(svr["statistic"])
    assert {"zero fraction (genes with >= 10 reads)", "library size (M reads)", "dispersion trend a0 (asymptote)",
            "r, gene pairs within a KEGG pathway (log2 CPM)",
            "driver gene r with its pathway's latent activity (signed)"} <= stats
    sil = pd.read_csv(tiny_run / "results/tables/rnaseq_pasilla_combat_pca.csv").groupby("stage")["silhouette"].first()
    assert sil["after ComBat"] < sil["before ComBat"]


def test_graph_prior_metrics_are_tidy_and_complete(tiny_run: Path):
    m = pd.read_csv(tiny_run / "results/tables/erion_fig2_graph_prior_metrics.csv")
    assert list(m.columns) == ["experiment", "model", "seed", "metric", "value"]
    r2 = m[m["metric"] == "test_r2"]
    assert set(r2["model"]) == set(MODELS) and r2.groupby("model").size().eq(N).all()
    assert np.isfinite(r2["value"]).all() and (r2["value"] < 1).all()
    nu = m.query("metric == 'nu0'")
    prior_arms = {"mlp_graph", "mlp_random_graph", "mlp_graph_paper", "mlp_random_graph_paper"}
    assert set(nu["model"]) == prior_arms & set(MODELS) and (nu["value"] > 0).all()
    extra = m.query("metric == 'extra_epochs'")
    ft = {"mlp_extra", "mlp_graph", "mlp_random_graph"} & set(MODELS)
    strict = extra[extra["model"].isin(ft)]
    assert strict["value"].between(0, CFG["graph_prior"]["finetune"]["training"]["epochs"]).all()
    # the paper protocol: one number of extra epochs (≥ 1) for every arm and retraining, the one chosen
    paper_ft = {"mlp_extra_paper", "mlp_graph_paper", "mlp_random_graph_paper"} & set(MODELS)
    assert set(extra["model"]) == ft | paper_ft
    chosen = json.loads((tiny_run / "results/graph_prior/tuning/paper_extra_epochs.json").read_text())
    p = extra[extra["model"].isin(paper_ft)]
    assert len(p) == len(paper_ft) * N and (p["value"] == chosen["extra_epochs"]).all()
    assert 1 <= chosen["extra_epochs"] <= CFG["graph_prior"]["paper"]["finetune"]["training"]["epochs"]
    reg = m[m["model"] == "mlp_paper"].set_index(["seed", "metric"])["value"]
    assert (reg.xs("l1_share_at_start", level="metric").between(0, 1)).all()
    assert (reg.xs("epochs_run", level="metric") == reg.xs("best_epoch", level="metric") + 1).all()
    table = pd.read_csv(tiny_run / "results/tables/erion_graph_prior_paper_protocol.csv")
    assert {"lr", "l1_share_at_start", "val_slope_at_end", "mlp_graph_paper.extra_epochs"} <= set(table.columns)
    assert _png(tiny_run / "results/figures/erion_graph_prior_paper_protocol.png")
    assert not list((tiny_run / "results/graph_prior/finetune_paper").glob("*_states.pt"))  # temporary
    pen = m.query("metric == 'graph_penalty'")
    assert set(pen["model"]) == set(MODELS) and (pen["value"] >= 0).all()
    truth = m.query("metric == 'n_driving_recovered'")
    k = CFG["rnaseq"]["simulation"]["n_driving_pathways"]
    assert truth["value"].between(0, k).all()


def test_graph_prior_tables_and_figures(tiny_run: Path):
    t = pd.read_csv(tiny_run / "results/tables/erion_fig2_graph_prior_ttests.csv")
    assert ("mlp_graph", "mlp") in set(zip(t["model"], t["baseline"]))
    assert ("mlp_graph_paper", "mlp_paper") in set(zip(t["model"], t["baseline"]))
    assert set(t.set_index(["model", "baseline"])["protocol"].loc[[("mlp_graph", "mlp"),
                                                                   ("mlp_graph_paper", "mlp_paper")]]) == {"strict",
                                                                                                         "paper"}
    # a pair of arms identical in every retraining (the strict fine-tuning kept 0 extra epochs: issue 25) has no
    # test: NaN p and CI, said in the note; every other row has an ordered CI
    tied = t["note"].fillna("").str.startswith("identical in all")
    assert t.loc[tied, ["p_paired", "ci95_low", "ci95_high"]].isna().all().all()
    assert t["p_paired"].dropna().between(0, 1).all() and (t.loc[~tied, "ci95_low"] <= t.loc[~tied, "ci95_high"]).all()
    grid = pd.read_csv(tiny_run / "results/tables/erion_graph_prior_mlp_tuning.csv")
    g = CFG["graph_prior"]["mlp"]["grid"]
    assert len(grid) == len(g["lr"]) * len(g["l1"]) * len(g["hidden"]) and grid["chosen"].sum() == 1
    assert "MLP + graph prior" in (tiny_run / "results/tables/erion_fig2_graph_prior_ttests.md").read_text()
    pen = pd.read_csv(tiny_run / "results/tables/erion_supfig12_graph_penalty.csv")
    assert {"model", "metric", "geometric_mean", "ratio_mlp_over_model"} <= set(pen.columns)
    for fig in ("erion_fig2_graph_prior_r2", "erion_supfig12_graph_penalty", "erion_graph_prior_truth_recovery"):
        assert _png(tiny_run / f"results/figures/{fig}.png"), fig
    assert (tiny_run / "results/tables/erion_supfig11_top_pathways.md").stat().st_size > 0
    truth = pd.read_csv(tiny_run / "results/tables/erion_graph_prior_truth_recovery.csv")
    assert len(truth) == len(MODELS) and truth["precision_top_genes"].between(0, 1).all()


def test_attribution_table_for_the_cross_paper_table(tiny_run: Path):
    a = pd.read_csv(tiny_run / "results/graph_prior/attributions/mean_abs_eg.csv")
    assert list(a.columns) == ["gene", "model", "seed", "mean_abs_eg"]
    n_genes = len(np.load(tiny_run / "results/rnaseq/preprocessed/expression.npz")["genes"])
    assert a.groupby(["model", "seed"]).size().eq(n_genes).all()
    assert len(a.groupby(["model", "seed"])) == len(MODELS) * N
    assert (a["mean_abs_eg"] >= 0).all()


def test_models_of_one_retraining_share_eg_references(tiny_run: Path):
    """Common random numbers: a fine-tuned arm that kept 0 extra epochs is the MLP itself, and is explained with the
    same EG references, so its attributions equal the MLP's exactly (a paired difference is the models' own)."""
    a = pd.read_csv(tiny_run / "results/graph_prior/attributions/mean_abs_eg.csv")
    m = pd.read_csv(tiny_run / "results/tables/erion_fig2_graph_prior_metrics.csv")
    kept = m[(m["metric"] == "extra_epochs") & (m["value"] == 0)][["model", "seed"]].drop_duplicates()
    if not len(kept):  # validation's choice of extra epochs moves with the CPU's float rounding (issue 24): on
        # some machines every arm keeps >= 1 epoch on the tiny config, and there is nothing to compare here
        pytest.skip("no fine-tuned arm kept 0 extra epochs on this machine's tiny run: nothing to compare")
    mlp = a[a["model"] == "mlp"].set_index(["seed", "gene"])["mean_abs_eg"]
    for r in kept.itertuples():
        arm = a[(a["model"] == r.model) & (a["seed"] == r.seed)].set_index(["seed", "gene"])["mean_abs_eg"]
        np.testing.assert_array_equal(arm.to_numpy(), mlp.loc[arm.index].to_numpy(), err_msg=f"{r.model} seed {r.seed}")


def test_paper_overlay_lists_the_download_jobs_offline(tmp_path: Path):
    """`source: download` plans the Beat AML / HumanBase downloads without touching the network."""
    repo = Path(__file__).resolve().parents[1]
    overlay = repo / "config" / "paper.yaml"  # merged over the repository's config.yaml
    proc = snakemake(tmp_path, "-n", "results/rnaseq/preprocessed/expression.npz", "results/rnaseq/gene_sets/KEGG.gmt",
                     configfile=overlay)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    for name in ("beataml_counts", "beataml_drug_response", "humanbase_hematopoietic", "enrichr_kegg_2019_human"):
        assert f"resources/rnaseq/{name}" in out
    assert "rule rnaseq_data:" in out and "resources/rnaseq/hgnc_complete_set" in out
