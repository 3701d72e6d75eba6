"""Experiment D (arXiv 2303.11336) in the tiny end-to-end run: the tables and figures exist and are sane."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attrpriors.config_check import load_config
from conftest import TINY

pytestmark = pytest.mark.pipeline

PNG = b"\x89PNG\r\n\x1a\n"


def _cfg():
    return load_config(TINY)["ig_limits"]


def test_feature_agreement_table(tiny_run: Path):
    cfg = _cfg()
    fa = pd.read_csv(tiny_run / "results/tables/ig_limits_table_feature_agreement.csv")
    assert set(fa["dataset"]) == set(cfg["settings"]) and set(fa["model"]) == set(cfg["models"])
    assert (fa["n_seeds"] == cfg["seeds"]).all()
    assert fa[["fa_local", "fa_global"]].apply(lambda c: c.between(0, 100)).all().all()
    assert (fa["fa_global"] >= fa["fa_local"]).all()  # the paper's global > local
    assert fa["paper_fa_local"].notna().all()  # the paper's values beside ours
    md = (tiny_run / "results/tables/ig_limits_table_feature_agreement.md").read_text()
    assert "72.8 / 99.5" in md


def test_prediction_gaps_and_ig_steps(tiny_run: Path):
    pg = pd.read_csv(tiny_run / "results/tables/ig_limits_table_prediction_gaps.csv")
    assert (pg["pgi"] > pg["pgu"]).all()
    steps = pd.read_csv(tiny_run / "results/tables/ig_limits_table_ig_steps.csv")
    cfg = _cfg()
    assert len(steps) == len(cfg["settings"]) * len(cfg["models"]) * cfg["seeds"]
    assert (steps["n_steps"] >= cfg["ig"]["start_steps"]).all()
    assert (steps["max_gap"] <= cfg["ig"]["tolerance"]).all()


def test_topk_overlap_below_one(tiny_run: Path):
    ov = pd.read_csv(tiny_run / "results/tables/ig_limits_table_topk_overlap.csv")
    assert set(ov["scope"]) == {"global", "class"}
    assert ov["jaccard"].between(0, 1).all()
    p = ov["k"].max()
    small = ov[ov["k"] < p]
    assert (small["jaccard"] < 1).any()
    assert np.isfinite(ov["random_expectation"]).all()


def test_figures_and_logs(tiny_run: Path):
    for name in ("ig_limits_fig_feature_agreement", "ig_limits_fig_topk_accuracy", "ig_limits_fig_topk_overlap"):
        png = tiny_run / f"results/figures/{name}.png"
        assert png.read_bytes()[:8] == PNG and png.stat().st_size > 10_000
    cfg = _cfg()
    ds, model = cfg["settings"][0], next(iter(cfg["models"]))
    assert (tiny_run / f"results/logs/ig_limits_train/{ds}/{model}/seed0.log").stat().st_size > 0
    assert (tiny_run / f"results/timings/ig_limits_train/{ds}/{model}/seed0.tsv").exists()
    curves = pd.read_csv(tiny_run / f"results/ig_limits/metrics/{ds}/{model}/seed0_topk_accuracy.csv")
    assert {"experiment", "dataset", "model", "seed", "curve", "k", "accuracy"} <= set(curves.columns)


def test_cross_paper_table(tiny_run: Path):
    cfg = load_config(TINY)
    if cfg.get("rnaseq", {}).get("source") != "simulated" or "graph_prior" not in cfg["cross_paper"]["sources"]:
        pytest.skip("the tiny config has no simulated drug-response source for the cross-paper table")
    t = pd.read_csv(tiny_run / "results/tables/cross_paper_attribution_trust.csv")
    # every graph-prior model but the `paper` protocol's arms (cross_paper.graph_prior_retrainings)
    assert set(t.loc[t["source"] == "graph_prior", "model"]) == {m for m in cfg["graph_prior"]["models"]
                                                                 if not m.endswith("_paper")}
    assert t["feature_agreement"].between(0, 1).all() and t["chance_feature_agreement"].between(0, 1).all()
    assert t["topk_jaccard"].dropna().between(0, 1).all()
    md = (tiny_run / "results/tables/cross_paper_attribution_trust.md").read_text()
    assert "MLP + graph prior" in md
    if "dapr" in cfg["cross_paper"]["sources"]:
        assert set(t.loc[t["source"] == "dapr", "model"]) == set(cfg["dapr"]["table1"]["models"])
        assert (t.loc[t["source"] == "dapr", "n_seeds"] == cfg["dapr"]["table1"]["n_splits"]).all()
        assert "MLP + DAPr (informative meta-features)" in md
    assert (tiny_run / "results/figures/cross_paper_attribution_trust.png").read_bytes()[:8] == PNG
    # model-randomization sanity check of every family: a rho per family, flagged when the maps survive
    assert t["randomization_spearman"].between(-1, 1).all() and t["survives_randomization"].isin([True, False]).all()
    assert "Randomization" in md
    assert (tiny_run / "results/figures/cross_paper_randomization.png").read_bytes()[:8] == PNG
