"""The 'when does a graph prior help' sweep: contrasts paired by retraining, the heatmap, one real cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from attrpriors.experiments import graph_prior_sweep as sw


def _metrics():
    rows = []
    rng = np.random.default_rng(0)
    for noise in (0.5, 2.0):
        for prec in (0.2, 0.9):
            for s in range(4):
                base = rng.normal(0.5, 0.05)
                gain = 0.05 if (noise == 2.0 and prec == 0.9) else 0.0
                for model, v in (("mlp", base), ("mlp_graph", base + gain + rng.normal(0, 0.01)),
                                 ("mlp_random_graph", base + rng.normal(0, 0.01)), ("lasso", base - 0.1),
                                 ("graph_lasso", base - 0.1 + 2 * gain)):
                    for metric in ("test_r2", "feature_agreement"):
                        rows.append({"experiment": sw.EXPERIMENT, "gene_noise": noise, "edge_precision": prec,
                                     "model": model, "seed": s, "metric": metric, "value": v})
    return pd.DataFrame(rows)


def test_contrasts_are_paired_by_retraining_with_t_intervals():
    m = _metrics()
    t = sw.contrasts(m)
    assert set(t["model"]) == {"mlp_graph", "mlp_random_graph", "graph_lasso"}  # no mlp_extra rows in the input
    assert len(t) == 4 * 2 * 3
    r = t.query("gene_noise == 2.0 and edge_precision == 0.9 and metric == 'test_r2' and model == 'mlp_graph'")
    cell = m.query("gene_noise == 2.0 and edge_precision == 0.9 and metric == 'test_r2'")
    w = cell.pivot_table(index="seed", columns="model", values="value")
    d = (w["mlp_graph"] - w["mlp"]).to_numpy()
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert r["mean_difference"].item() == pytest.approx(d.mean())
    assert (r["ci95_low"].item(), r["ci95_high"].item()) == pytest.approx((d.mean() - half, d.mean() + half))
    assert r["ci95_low"].item() > 0 and r["n_model_better"].item() == 4
    gl = t.query("gene_noise == 0.5 and edge_precision == 0.2 and metric == 'test_r2' and model == 'graph_lasso'")
    assert gl["mean_difference"].item() == pytest.approx(0.0, abs=1e-12)


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
        X, genes, patients, response, edges, true = sw.simulate_cell(SMALL, 1.0, prec, 0, {"max_zero_frac": 0.7})
        assert X.shape == (60, len(genes)) and len(response) == 60 and len(true) > 0
        is_true = np.isin(genes, true)
        out[prec] = float(np.mean(is_true[edges[:, 0]] == is_true[edges[:, 1]]))
    assert out[1.0] > 0.9 > out[0.2]  # (a gene in a driving and another pathway can join the two)


def test_one_cell_writes_every_model_and_metric(tmp_path):
    params = {"retrainings": 2, "split": {"test": 0.2, "val": 0.2},
              "models": ["lasso", "graph_lasso", "mlp", "mlp_extra", "mlp_graph", "mlp_random_graph"],
              "lasso": {"alphas": [0.01, 0.1]}, "graph_lasso": {"nus": [0.1]},
              "mlp": {"hidden": [8], "lr": 0.003, "l1": 1e-5, "training": {"epochs": 3, "batch_size": 16,
                                                                        "patience": 3}},
              "finetune": {"n_references": 2, "balance_batches": 2, "nu_scales": [1.0],
                           "training": {"epochs": 1, "batch_size": 16, "patience": 1}},
              "n_references": 5}
    out = tmp_path / "cell.csv"
    sw.run_cell(2.0, 0.9, params, SMALL, {"max_zero_frac": 0.7}, 0, "cpu", str(out))
    m = pd.read_csv(out)
    r2 = m[m["metric"] == "test_r2"]
    assert r2.groupby("model").size().to_dict() == {k: 2 for k in params["models"]}
    fa = m[m["metric"] == "feature_agreement"]["value"]
    assert len(fa) == 12 and fa.between(0, 1).all()
    assert set(m.loc[m["metric"] == "extra_epochs", "model"]) == {"mlp_extra", "mlp_graph", "mlp_random_graph"}
