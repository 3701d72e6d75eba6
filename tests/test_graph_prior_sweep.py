"""The 'when does a graph prior help' sweep: contrasts paired by retraining, the heatmap, one real cell."""

from __future__ import annotations

import itertools
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from attrpriors.config_check import load_yaml
from attrpriors.experiments import graph_prior_sweep as sw

REPO = Path(__file__).resolve().parents[1]


def _metrics():
    rows = []
    rng = np.random.default_rng(0)
    for scenario, noise, prec in itertools.product(("calibrated", "equal"), (0.5, 2.0), (0.2, 0.9)):
        for s in range(4):
            base = rng.normal(0.5, 0.05)
            gain = 0.05 if (noise == 2.0 and prec == 0.9) else 0.0
            for model, v in (("mlp", base), ("mlp_graph", base + gain + rng.normal(0, 0.01)),
                             ("mlp_random_graph", base + rng.normal(0, 0.01)), ("lasso", base - 0.1),
                             ("graph_lasso", base - 0.1 + 2 * gain)):
                for metric in ("test_r2", "feature_agreement"):
                    rows.append({"experiment": sw.EXPERIMENT, "loadings": scenario, "gene_noise": noise,
                                 "edge_precision": prec, "model": model, "seed": s, "metric": metric, "value": v})
    return pd.DataFrame(rows)


def test_contrasts_are_paired_by_retraining_with_t_intervals():
    m = _metrics()
    t = sw.contrasts(m)
    assert set(t["model"]) == {"mlp_graph", "mlp_random_graph", "graph_lasso"}  # no mlp_extra rows in the input
    assert len(t) == 2 * 4 * 2 * 3 and list(dict.fromkeys(t["loadings"])) == ["calibrated", "equal"]
    q = "loadings == 'equal' and gene_noise == 2.0 and edge_precision == 0.9 and metric == 'test_r2'"
    r = t.query(q + " and model == 'mlp_graph'")
    cell = m.query(q)
    w = cell.pivot_table(index="seed", columns="model", values="value")
    d = (w["mlp_graph"] - w["mlp"]).to_numpy()
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert r["mean_difference"].item() == pytest.approx(d.mean())
    assert (r["ci95_low"].item(), r["ci95_high"].item()) == pytest.approx((d.mean() - half, d.mean() + half))
    assert r["ci95_low"].item() > 0 and r["n_model_better"].item() == 4
    gl = t.query("gene_noise == 0.5 and edge_precision == 0.2 and metric == 'test_r2' and model == 'graph_lasso'")
    assert gl["mean_difference"].to_numpy() == pytest.approx([0.0, 0.0], abs=1e-12)


def test_loading_scenarios_override_the_simulation_and_unknown_ones_are_named():
    base = {"n_genes": 500, "loading_range": [0.2, 1.0], "negative_loading_frac": 0.2}
    scen = {"calibrated": {}, "equal": {"loading_range": [1.0, 1.0], "negative_loading_frac": 0.0}, "none": None}
    assert sw.cell_simulation(base, scen, "calibrated") == base
    assert sw.cell_simulation(base, scen, "none") == base
    assert sw.cell_simulation(base, scen, "equal") == {"n_genes": 500, "loading_range": [1.0, 1.0],
                                                       "negative_loading_frac": 0.0}
    with pytest.raises(KeyError, match="graph_prior.sweep.loadings has no scenario 'flat'"):
        sw.cell_simulation(base, scen, "flat")


def test_heatmap_figure_draws_every_panel(tmp_path):
    path = tmp_path / "when.png"
    sw.heatmap_figure(sw.contrasts(_metrics()), str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000


SMALL = {"n_patients": 60, "n_drugs": 1, "n_genes": 200, "n_pathways": 4, "n_driving_pathways": 2,
         "pathways_per_drug": 2, "min_pathway_size": 10, "max_pathway_size": 30}


def test_edge_precision_sets_the_fraction_of_within_pathway_edges():
    """The knob does what the figure says: at precision 1 every edge joins two genes of one pathway (here, among
    the true genes: both ends true or both not, up to genes in two pathways), at 0.2 most edges are random."""
    out = {}
    for prec in (1.0, 0.2):
        X, genes, patients, response, edges, true, drivers = sw.simulate_cell(SMALL, 1.0, prec, 0,
                                                                             {"max_zero_frac": 0.7})
        assert len(drivers) == 2 and all(set(np.asarray(genes)[i]) <= set(true) for i, _ in drivers.values())
        assert X.shape == (60, len(genes)) and len(response) == 60 and len(true) > 0
        is_true = np.isin(genes, true)
        out[prec] = float(np.mean(is_true[edges[:, 0]] == is_true[edges[:, 1]]))
    assert out[1.0] > 0.9 > out[0.2]  # (a gene in a driving and another pathway can join the two)


def test_one_cell_writes_every_model_and_metric(tmp_path):
    params = {"retrainings": 2, "split": {"test": 0.2, "val": 0.2},
              "models": ["lasso", "graph_lasso", "pathway_mean", "mlp", "mlp_extra", "mlp_graph", "mlp_random_graph",
                         "mlp_graph_joint"],
              "lasso": {"alphas": [0.01, 0.1]}, "graph_lasso": {"nus": [0.1]},
              "mlp": {"model": {"type": "mlp"}, "grid": {"lr": [0.003], "l1": [1e-5], "hidden": [[8]]},
                      "training": {"epochs": 3, "batch_size": 16, "patience": 3}},
              "finetune": {"n_references": 2, "balance_batches": 2, "nu_scales": [1.0],
                           "training": {"epochs": 1, "batch_size": 16, "patience": 1}},
              "n_references": 5}
    out = tmp_path / "cell.csv"
    sw.run_cell(2.0, 0.9, params, SMALL, {"max_zero_frac": 0.7}, 0, "cpu", str(out))
    m = pd.read_csv(out)
    r2 = m[m["metric"] == "test_r2"]
    assert r2.groupby("model").size().to_dict() == {k: 2 for k in params["models"]}
    fa = m[m["metric"] == "feature_agreement"]["value"]
    assert len(fa) == 14 and fa.between(0, 1).all()
    assert set(m.loc[m["metric"] == "extra_epochs", "model"]) == {"mlp_extra", "mlp_graph", "mlp_random_graph"}
    assert (m.loc[m["model"] == "mlp_graph_joint", "metric"].unique().tolist()
            == ["test_r2", "feature_agreement", "best_epoch", "prior_weight", "nu_scale"])
    assert set(m["loadings"]) == {"calibrated"}
    assert m.loc[m["model"] == "pathway_mean", "metric"].unique().tolist() == ["test_r2"]


def test_mlp_settings_are_chosen_on_validation_of_retraining_0_and_kept(tmp_path, caplog):
    """The cell's MLP grid is searched once, on the tuning split (retraining 0): the setting with the lowest
    validation MSE wins and every retraining uses it."""
    import logging

    params = {"retrainings": 2, "split": {"test": 0.2, "val": 0.2}, "models": ["mlp"],
              "lasso": {"alphas": [0.1]}, "graph_lasso": {"nus": [0.1]},
              "mlp": {"model": {"type": "mlp"}, "grid": {"lr": [0.003], "l1": [10.0, 1e-5], "hidden": [[8]]},
                      "training": {"epochs": 4, "batch_size": 16, "patience": 4}},
              "finetune": {"n_references": 2, "balance_batches": 2, "nu_scales": [1.0],
                           "training": {"epochs": 1, "batch_size": 16, "patience": 1}},
              "n_references": 5}
    out = tmp_path / "cell.csv"
    with caplog.at_level(logging.INFO, logger="attrpriors.graph_prior_sweep"):
        sw.run_cell(2.0, 0.9, params, SMALL, {"max_zero_frac": 0.7}, 0, "cpu", str(out))
    m = pd.read_csv(out).query("model == 'mlp'").pivot_table(index="seed", columns="metric", values="value")
    tuned = [r.getMessage() for r in caplog.records if "cell MLP settings" in r.getMessage()]
    assert len(tuned) == 1  # searched once per cell, not per retraining
    val = [float(v) for v in tuned[0].split("grid [")[1].rstrip("])").split(",")]  # validation MSE per setting
    assert len(val) == 2 and val[0] != val[1]
    assert m["l1"].tolist() == [[10.0, 1e-5][int(np.argmin(val))]] * 2 and m["lr"].tolist() == [0.003, 0.003]


def test_the_from_the_start_arm_is_the_mlp_when_its_prior_vanishes(tmp_path):
    """Paired by construction: the joint arm starts from the MLP's weights with its settings and batch order, so a
    vanishing ν gives the MLP back (and a real ν moves it)."""
    params = {"retrainings": 1, "split": {"test": 0.2, "val": 0.2}, "models": ["mlp", "mlp_graph_joint"],
              "lasso": {"alphas": [0.1]}, "graph_lasso": {"nus": [0.1]},
              "mlp": {"model": {"type": "mlp"}, "grid": {"lr": [0.003], "l1": [1e-5], "hidden": [[8]]},
                      "training": {"epochs": 4, "batch_size": 16, "patience": 4}},
              "finetune": {"n_references": 2, "balance_batches": 2, "nu_scales": [1e-12],
                           "training": {"epochs": 1, "batch_size": 16, "patience": 1}},
              "n_references": 5}
    r2 = {}
    for scale in (1e-12, 10.0):
        out = tmp_path / f"cell{scale}.csv"
        sw.run_cell(2.0, 0.9, {**params, "finetune": {**params["finetune"], "nu_scales": [scale]}}, SMALL,
                    {"max_zero_frac": 0.7}, 0, "cpu", str(out))
        m = pd.read_csv(out).query("metric == 'test_r2'").set_index("model")["value"]
        r2[scale] = (m["mlp"], m["mlp_graph_joint"])
    assert r2[1e-12][1] == pytest.approx(r2[1e-12][0], abs=1e-5)
    assert r2[10.0][0] == r2[1e-12][0] and abs(r2[10.0][1] - r2[10.0][0]) > 1e-4


def test_positive_control_graph_lasso_beats_lasso_on_equal_loadings(tmp_path):
    """The known statistical result the sweep rests on, on the default sweep's data: where every gene of a pathway
    is an equally good, noisy proxy (equal loadings, gene noise 4) and the graph is precise, Graph LASSO (ν' on
    validation) beats LASSO on test R² in most paired retrainings."""
    cfg = load_yaml(REPO / "config.yaml")
    swc = cfg["graph_prior"]["sweep"]
    params = {**swc, "models": ["lasso", "graph_lasso"], "retrainings": 5, "graph_lasso": {"nus": [0.01, 0.1]}}
    sim = {**cfg["rnaseq"]["simulation"], **swc["simulation"]}
    out = tmp_path / "cell.csv"
    sw.run_cell(4.0, 0.9, params, sim, cfg["rnaseq"]["preprocess"], cfg["seed"], "cpu", str(out), loadings="equal")
    t = sw.contrasts(pd.read_csv(out)).query("metric == 'test_r2' and model == 'graph_lasso'").iloc[0]
    assert t["mean_difference"] > 0.02 and t["n_model_better"] >= 4


def test_paper_protocol_arms_run_on_their_loadings_only_with_one_number_of_extra_epochs(tmp_path):
    """The sweep's `paper` arms use the main experiment's code (graph_prior.paper_finetune_arms): on the listed
    loading scenarios only, every arm and retraining after the one number of extra epochs of the cell."""
    paper = {"loadings": ["equal"],
             "mlp": {"model": {"type": "mlp"}, "grid": {"lr": [1e-3], "l1": [1e-3], "hidden": [[8]]},
                     "l1_biases": True, "training": {"epochs": 8, "batch_size": 16, "patience": 3}},
             "finetune": {"n_references": 2, "balance_batches": 2, "training": {"epochs": 3, "batch_size": 16}}}
    params = {"retrainings": 2, "split": {"test": 0.2, "val": 0.2},
              "models": ["lasso", "graph_lasso", "mlp", "mlp_paper", "mlp_extra_paper", "mlp_graph_paper",
                         "mlp_random_graph_paper"],
              "lasso": {"alphas": [0.01, 0.1]}, "graph_lasso": {"nus": [0.1]},
              "mlp": {"model": {"type": "mlp"}, "grid": {"lr": [0.003], "l1": [1e-5], "hidden": [[8]]},
                      "training": {"epochs": 3, "batch_size": 16, "patience": 3}},
              "finetune": {"n_references": 2, "balance_batches": 2, "nu_scales": [1.0],
                           "training": {"epochs": 1, "batch_size": 16, "patience": 1}},
              "n_references": 5, "paper": paper, "loadings": {"calibrated": {}, "equal": {"loading_range": [1, 1]}}}
    for scenario, has_paper in (("calibrated", False), ("equal", True)):
        out = tmp_path / f"{scenario}.csv"
        sw.run_cell(2.0, 0.9, params, SMALL, {"max_zero_frac": 0.7}, 0, "cpu", str(out), loadings=scenario)
        m = pd.read_csv(out)
        models = set(m.loc[m["metric"] == "test_r2", "model"])
        assert ({"mlp_paper", "mlp_extra_paper", "mlp_graph_paper", "mlp_random_graph_paper"} <= models) == has_paper
        if has_paper:
            extra = m[m["metric"] == "extra_epochs"]
            paper_extra = extra[extra["model"].str.endswith("_paper")]
            assert len(paper_extra) == 3 * 2 and paper_extra["value"].nunique() == 1
            assert 1 <= paper_extra["value"].iloc[0] <= 3
            t = sw.contrasts(m)
            assert ("mlp_graph_paper", "mlp_random_graph_paper") in set(zip(t["model"], t["baseline"]))
