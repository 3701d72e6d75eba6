"""Experiment D (arXiv 2303.11336) building blocks: split, preprocessing, completeness-checked IG, TCGA parsing,
and one small end-to-end explain-and-score run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from attrpriors.experiments import cross_paper as CP
from attrpriors.experiments import ig_limits as E
from attrpriors.io import load_npz, read_table
from attrpriors.models import MLP
from attrpriors.seeds import seed_everything


def test_stratified_split_keeps_class_proportions():
    y = np.repeat(np.arange(4), [10, 20, 30, 40])
    tr, te = E.stratified_split(y, 0.4, seed=0)
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == len(y)
    assert np.bincount(y[te]).tolist() == [4, 8, 12, 16]
    tr2, te2 = E.stratified_split(y, 0.4, seed=0)
    np.testing.assert_array_equal(te, te2)


def test_log_zscore_uses_train_statistics_only():
    rng = np.random.default_rng(0)
    X = rng.poisson(20, size=(50, 6)).astype(float)
    X[:, 5] = 3.0  # constant gene: s.d. 0 → 1, z = 0
    train = np.arange(30)
    Z, mean, sd = E.log_zscore(X, train)
    np.testing.assert_allclose(Z[train].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(Z[train, :5].std(0), 1, atol=1e-4)
    assert np.all(Z[:, 5] == 0)
    np.testing.assert_allclose(mean, np.log2(X[train] + 1).mean(0))
    assert not np.allclose(Z[30:].mean(0)[:5], 0, atol=1e-3)  # test rows are not re-centred


def test_ig_steps_doubled_until_complete():
    seed_everything(0)
    net = E.softmax_model(MLP(12, hidden=(32, 32), n_outputs=4, activation="tanh"))
    for p in net.parameters():
        p.data *= 3.0  # a curved model: 2 steps are not enough
    x = torch.randn(20, 12)
    t = torch.randint(0, 4, (20,))
    phi, steps = E.integrated_gradients_until_complete(net, x, t, start_steps=2, max_steps=512, tolerance=1e-3)
    assert steps["n_steps"].tolist()[0] == 2 and len(steps) > 1
    assert steps["n_steps"].is_monotonic_increasing
    assert bool(steps["converged"].iloc[-1]) and steps["max_gap"].iloc[-1] <= 1e-3
    with torch.no_grad():
        delta = (net(x) - net(torch.zeros_like(x))).gather(1, t[:, None])[:, 0].numpy()
    np.testing.assert_allclose(phi.sum(1), delta, atol=1e-3)
    # a too small budget stops at max_steps and says so
    _, capped = E.integrated_gradients_until_complete(net, x, t, start_steps=2, max_steps=4, tolerance=1e-9)
    assert capped["n_steps"].tolist() == [2, 4] and not bool(capped["converged"].iloc[-1])


def _write_tcga(tmp_path):
    genes = ["A1BG|1", "TP53|7157", "?|100130426", "NANGENE|9"]
    aliquots = ["TCGA-AA-0001-01A-11R-A1-07", "TCGA-AA-0002-01A-11R-A1-07", "TCGA-AA-0002-01B-11R-A1-07",
                "TCGA-BB-0003-11A-11R-A1-07", "TCGA-BB-0004-03A-11R-A1-07", "TCGA-CC-0005-01A-11R-A1-07"]
    rng = np.random.default_rng(0)
    vals = rng.gamma(2.0, 50.0, size=(len(genes), len(aliquots)))
    vals[2] = 0.0  # never expressed: dropped
    vals[0, 0] = -0.5  # batch-corrected negative value: clipped
    expr = pd.DataFrame(vals, columns=aliquots)
    expr.insert(0, "gene_id", genes)
    expr.loc[3, aliquots[1]] = np.nan  # missing value: gene dropped
    expr.to_csv(tmp_path / "expr", sep="\t", index=False)
    ann = pd.DataFrame({"aliquot_barcode": aliquots, "cancer type": ["BRCA", "BRCA", "BRCA", "LUAD", "LAML", "LUAD"],
                        "Do_not_use": [False, False, False, False, False, True]})
    ann.to_csv(tmp_path / "ann", sep="\t", index=False)
    return tmp_path / "expr", tmp_path / "ann"


def test_read_tcga_filters_samples_and_genes(tmp_path):
    expr, ann = _write_tcga(tmp_path)
    values, labels, genes, classes = E.read_tcga(str(expr), str(ann), {"sample_types": ["01", "03"]})
    # kept: patient 0001 (01), 0002 first aliquot (01A; 01B is the same patient), 0004 (03, LAML);
    # dropped: 0003 (11 = normal tissue), 0005 (Do_not_use)
    assert classes.tolist() == ["BRCA", "LAML"]
    assert labels.tolist() == [0, 0, 1]
    assert genes.tolist() == ["A1BG|1", "TP53|7157"]
    assert values.shape == (3, 2) and values.min() >= 0 and values[0, 0] == 0


def test_read_tcga_names_missing_columns(tmp_path):
    expr, ann = _write_tcga(tmp_path)
    with pytest.raises(KeyError, match="cancer_type"):
        E.read_tcga(str(expr), str(ann), {"type_column": "cancer_type"})
    with pytest.raises(FileNotFoundError, match="nowhere"):
        E.read_tcga(str(tmp_path / "nowhere"), str(ann), {})


def test_small_run_end_to_end(tmp_path):
    """Tiny SIMU1: train LR, explain and score; FA global ≥ local, PGI > PGU, outputs tidy."""
    params = dict(n_classes=4, n_samples_per_class=40, n_genes=200, genes_per_pathway=10, total_reads=200_000)
    data = tmp_path / "SIMU1.npz"
    E.make_simulated_data("SIMU1", params, {"test": 0.4}, 0, str(data))
    d = load_npz(data, E.DATA_KEYS)
    assert d["ground_truth"].shape == (4, 200) and d["X_train"].dtype == np.float32
    spec = {"type": "mlp", "hidden": []}
    training = {"epochs": 60, "batch_size": 32, "lr": 0.01, "weight_decay": 0.01, "patience": 10, "progress": False}
    E.train_classifier(str(data), spec, training, 0.2, 0, 0, "cpu", "SIMU1", "LR", str(tmp_path / "m.pt"),
                       str(tmp_path / "h.csv"))
    ev = dict(pg_step=20, pg_samples=30, pg_random_repeats=1, topk=[1, 10, 100, 200], topk_per_class=[1, 10],
              random_repeats=2)
    out = {k: str(tmp_path / f"{k}.csv") for k in ("metrics", "curves", "steps")}
    E.explain_and_score(str(data), str(tmp_path / "m.pt"), dict(start_steps=8, max_steps=256, tolerance=0.01), ev, 0, 0,
                        "cpu", "SIMU1", "LR", str(tmp_path / "a.npz"), out["metrics"], out["curves"], out["steps"])
    m = read_table(out["metrics"], ("experiment", "dataset", "model", "seed", "metric", "value")).set_index("metric")["value"]
    assert m["test_accuracy"] > 0.8
    assert m["fa_global"] >= m["fa_local"] > 0.3
    assert m["pgi"] > m["pgr"] > m["pgu"]
    assert m["ig_max_gap"] <= 0.01
    curves = read_table(out["curves"], ("curve", "k", "n_features", "accuracy"))
    assert set(curves["curve"]) == {"keep_top", "remove_top", "keep_top_per_class", "keep_random"}
    full = curves[(curves["curve"] == "keep_top") & (curves["k"] == 200)]["accuracy"].iloc[0]
    assert full == 1.0  # all genes kept: the correctly classified samples stay correct


def test_cross_paper_table_from_tidy_files(tmp_path):
    """Two sources in the documented formats: a graph-prior-like one (genes.tsv + drug_pathways.tsv) and a
    DAPr-like one (npz with genes and importance; its true pathways derived from the true genes)."""
    from attrpriors.enrichment import write_gmt
    from attrpriors.io import save_npz, save_table

    rng = np.random.default_rng(0)
    genes = [f"G{i:03d}" for i in range(240)]
    sets = {f"P{j:02d}": genes[12 * j : 12 * (j + 1)] for j in range(20)}
    write_gmt(sets, tmp_path / "kegg.gmt")
    true = sets["P02"] + sets["P07"]
    imp = np.array([1.0 if g in true else 0.0 for g in genes])
    save_table(pd.DataFrame({"gene": genes, "importance": imp}), tmp_path / "genes.tsv")
    save_table(pd.DataFrame({"drug": ["D1", "D1"], "pathway": ["P02", "P07"], "weight": [1.0, -0.5]}),
               tmp_path / "drug_pathways.tsv")
    save_npz(tmp_path / "dapr.npz", genes=np.array(genes), importance=imp)

    def tables(prefix, models):
        paths = []
        for model, signal in models.items():
            for s in range(3):
                p = tmp_path / f"{prefix}_{model}_{s}.csv"
                save_table(pd.DataFrame({"gene": genes, "model": model, "seed": s,
                                         "mean_abs_eg": np.abs(rng.standard_normal(240)) + signal * imp}), p)
                paths.append(str(p))
        return paths

    inputs = {"gp_attributions": tables("gp", {"mlp": 0.3, "mlp_graph": 3.0}), "gp_genes": str(tmp_path / "genes.tsv"),
              "gp_drug_pathways": str(tmp_path / "drug_pathways.tsv"),
              "dapr_attributions": tables("da", {"mlp": 0.3, "dapr_informative": 3.0}),
              "dapr_data": str(tmp_path / "dapr.npz"), "gene_sets": str(tmp_path / "kegg.gmt")}
    params = {"top_frac": 0.1, "gsea": {"permutations": 1000, "min_size": 5, "max_size": 500, "fdr": 0.05}}
    out = {k: str(tmp_path / f"out.{k}") for k in ("csv", "md", "png")}
    CP.cross_paper(inputs, params, 0, str(tmp_path / "metrics.csv"), str(tmp_path / "t.csv"), out["md"],
                  str(tmp_path / "f.png"))
    t = pd.read_csv(tmp_path / "t.csv").set_index(["source", "model"])
    assert len(t) == 4 and (t["n_seeds"] == 3).all()
    for src, prior in (("graph_prior", "mlp_graph"), ("dapr", "dapr_informative")):
        assert t.loc[(src, prior), "feature_agreement"] > t.loc[(src, "mlp"), "feature_agreement"]
        assert t.loc[(src, prior), "topk_jaccard"] > t.loc[(src, "mlp"), "topk_jaccard"]
        assert t.loc[(src, prior), "gsea_true_recovered"] == 1.0
    assert t["chance_feature_agreement"].round(3).eq(0.1).all()
    md = (tmp_path / "out.md").read_text()
    assert "MLP + graph prior" in md and "MLP + DAPr (informative meta-features)" in md
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_cross_paper_truth_takes_the_simulators_pathways_from_the_npz(tmp_path):
    """A DAPr npz that records driving_pathways gives exactly those; without them the truth has no pathways
    (they are then inferred from the true genes)."""
    from attrpriors.io import save_npz

    genes = np.array(["A", "B", "C", "D"])
    save_npz(tmp_path / "with.npz", genes=genes, importance=np.array([1.0, 0.5, 0.0, 0.0]),
             driving_pathways=np.array(["KEGG_2", "KEGG_1"]))
    save_npz(tmp_path / "without.npz", genes=genes, importance=np.array([1.0, 0.5, 0.0, 0.0]))
    assert CP._truth({"truth_npz": str(tmp_path / "with.npz")}) == ({"A", "B"}, ["KEGG_1", "KEGG_2"])
    assert CP._truth({"truth_npz": str(tmp_path / "without.npz")}) == ({"A", "B"}, None)
