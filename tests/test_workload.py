"""Experiments describe their own paper-scale workload (what timings/paper_scale.py times), from the config."""

from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from attrpriors.config_check import load_config
from attrpriors.experiments import benchmark as bm
from attrpriors.experiments import dapr
from attrpriors.experiments import dna_consistency as dna
from attrpriors.experiments import graph_prior as gp
from attrpriors.experiments import ig_limits as igl
from attrpriors.experiments import pixel_prior as pp
from attrpriors.experiments import sparsity_prior as sp
from conftest import REPO, TINY, snakemake


def _config(overlay=REPO / "config" / "paper.yaml") -> dict:
    """config.yaml with ``overlay`` merged over it (what Snakemake's --configfile does)."""
    return load_config(overlay)


def _paper_config() -> dict:
    return _config()


def _changed(config: dict, path: str, value) -> dict:
    """A deep copy of ``config`` with the dotted key ``path`` set to ``value``."""
    out = copy.deepcopy(config)
    *parents, leaf = path.split(".")
    node = out
    for key in parents:
        node = node[key]
    node[leaf] = value
    return out


@pytest.fixture(scope="module")
def tiny_job_counts(tmp_path_factory) -> dict[str, int]:
    """Jobs per rule that Snakemake plans for the whole tiny config (a dry run; parsed as paper_scale.py does)."""
    spec = importlib.util.spec_from_file_location("paper_scale", REPO / "timings" / "paper_scale.py")
    paper_scale = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("paper_scale", paper_scale)  # its dataclasses look their module up
    spec.loader.exec_module(paper_scale)
    work = tmp_path_factory.mktemp("dryrun")  # the tiny overlay is merged over the Snakefile's config.yaml
    proc = snakemake(work, "-n", "--forceall", "--quiet", "rules")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return paper_scale.job_stats(proc.stdout + proc.stderr)


def test_graph_prior_workload_follows_the_config():
    config = _paper_config()
    w = gp.workload(config, n_genes=1000, n_drugs=10, n_rows=5000, n_edges=20000)
    g = config["graph_prior"]
    assert w["n_inputs"] == 1010 and sum(w["rows"].values()) == 5000
    assert w["rows"]["test"] == round(5000 * config["rnaseq"]["splits"]["test"])
    # Graph LASSO is solved exactly by scikit-learn (like the LASSO): no fit-loop workload
    assert set(w["train"]) == {m for m in g["models"] if m in ("mlp", "gcn")}
    for name, job in w["train"].items():
        assert job["jobs"] == g["retrainings"]
        assert job["training"]["epochs"] == g[name]["training"]["epochs"]
    assert w["train"]["gcn"]["model"]["n_genes"] == 1000 and w["train"]["gcn"]["model"]["n_edges"] == 20000
    assert set(w["finetune"]) == {m for m in g["models"] if m in gp.FINETUNED}
    assert w["finetune"]["mlp_graph"]["prior"] and not w["finetune"]["mlp_extra"]["prior"]
    assert w["explain"]["n_references"] == g["explain"]["n_references"]
    assert sum(w["explain"]["jobs"].values()) == g["retrainings"] * len(g["models"])


def test_benchmark_workload_follows_the_config():
    config = _paper_config()
    w = bm.workload(config)
    b = config["benchmark"]
    n = b["data"]["n_samples"]
    assert sum(w["rows"].values()) == n and w["rows"]["test"] == round(n * b["data"]["split"]["test"])
    assert w["train_mlp"]["jobs"] == len(b["datasets"]) and w["train_mlp"]["training"] == b["training"]
    assert list(w["attributions"]) == b["methods"]
    assert w["attributions"]["expected_gradients"]["options"] == b["method_options"]["expected_gradients"]
    conv = b["convergence"]
    assert w["eg_convergence"]["references_per_row"] == conv["truth"] + conv["repeats"] * sum(conv["n_references"])
    more = bm.workload(_changed(config, "benchmark.data.n_samples", 4 * n))
    assert more["rows"]["train"] > 3 * w["rows"]["train"]
    one = bm.workload(_changed(config, "benchmark.datasets", b["datasets"][:1]))
    assert one["train_mlp"]["jobs"] == 1 and all(a["jobs"] == 1 for a in one["attributions"].values())
    few = bm.workload(_changed(config, "benchmark.n_explain", 3))
    assert all(a["rows"] == 3 for a in few["attributions"].values())
    # the sizes are those of the experiment's own split
    tr, va, te = bm.split_indices(n, b["data"]["split"]["test"], b["data"]["split"]["val"], 0)
    assert (len(tr), len(va), len(te)) == (w["rows"]["train"], w["rows"]["val"], w["rows"]["test"])


def test_pixel_prior_workload_follows_the_config():
    config = _paper_config()
    w = pp.workload(config, n_pool=60_000, n_test=10_000, image_size=28, n_channels=1, n_classes=10)
    p = config["pixel_prior"]
    assert w["rows"]["val"] + w["rows"]["train"] <= 60_000 and w["rows"]["test"] == 10_000
    assert w["train_cnn"]["baseline"]["jobs"] == p["seeds"]
    assert w["train_cnn"]["prior"]["jobs"] == p["lambdas"]["num"] * p["seeds"]
    assert w["evaluate_cnn"]["jobs"] == (p["lambdas"]["num"] + 1) * p["seeds"]
    assert w["train_cnn"]["prior"]["model"]["image_size"] == 28
    assert w["train_cnn"]["prior"]["training"]["epochs"] == p["training"]["epochs"]
    assert w["evaluate_cnn"]["map_rows"] == len(p["evaluation"]["example_classes"]) * 10
    capped = pp.workload(_changed(config, "pixel_prior.data.split", {**p["data"]["split"], "n_train": 1000}),
                         60_000, 10_000, 28, 1, 10)
    assert capped["rows"]["train"] == 1000
    more = pp.workload(_changed(config, "pixel_prior.seeds", p["seeds"] + 2), 60_000, 10_000, 28, 1, 10)
    assert more["evaluate_cnn"]["jobs"] == (p["lambdas"]["num"] + 1) * (p["seeds"] + 2)


def test_workload_jobs_are_the_jobs_snakemake_plans(tiny_job_counts):
    """The experiments' own job counts equal those of a dry run of the tiny config."""
    config = _config(TINY)
    b = bm.workload(config)
    assert tiny_job_counts["benchmark_train_mlp"] == b["train_mlp"]["jobs"]
    assert tiny_job_counts["benchmark_attributions"] == sum(a["jobs"] for a in b["attributions"].values())
    assert tiny_job_counts["benchmark_eg_convergence"] == b["eg_convergence"]["jobs"]
    p = pp.workload(config, n_pool=1438, n_test=359, image_size=8, n_channels=1, n_classes=10)  # 8×8 digits
    assert tiny_job_counts["pixel_prior_train_cnn"] == sum(j["jobs"] for j in p["train_cnn"].values())
    assert tiny_job_counts["pixel_prior_evaluate_cnn"] == p["evaluate_cnn"]["jobs"]
    i = igl.workload(config)
    assert tiny_job_counts["ig_limits_train"] == sum(j["jobs"] for m in i["train"].values() for j in m.values())
    assert tiny_job_counts["ig_limits_explain"] == sum(j["jobs"] for m in i["explain"].values() for j in m.values())
    sizes = {"n_samples": 60, "n_genes": 600, "n_meta": 3}
    dw = dapr.workload(config, {ds: sizes for ds in config["dapr"]["table1"]["datasets"]})
    assert tiny_job_counts["dapr_train_two_moons"] == sum(j["jobs"] for j in dw["two_moons"]["train"].values())
    table1 = dw["table1"]["models"]
    assert tiny_job_counts["dapr_train_table1_prior"] == sum(j["jobs"] for m, j in table1.items()
                                                             if m.startswith("dapr_"))
    assert tiny_job_counts["dapr_train_table1"] == sum(j["jobs"] for m, j in table1.items()
                                                       if not m.startswith("dapr_"))
    sw = sp.workload(config, {"breast_cancer": {"n_samples": 569, "n_features": 30}})
    assert not sw["unsized"]
    assert tiny_job_counts["sparsity_prior_train_mlp"] == sum(j["jobs"] for c in sw["train_mlp"].values()
                                                              for j in c.values())
    assert tiny_job_counts["sparsity_prior_small_data"] == sum(c["jobs"] for c in sw["small_data"].values())
    d = dna.workload(config)
    assert tiny_job_counts["dna_consistency_train_cnn"] == d["train_cnn"]["jobs"]
    assert tiny_job_counts["dna_consistency_attributions"] == sum(a["jobs"] for a in d["attributions"].values())


def test_dna_consistency_workload_follows_the_config():
    config = _paper_config()
    w = dna.workload(config)
    dc = config["dna_consistency"]
    n = dc["data"]["simulated"]["n_sequences"]
    assert w["rows"]["train"] + w["rows"]["val"] + w["rows"]["test"] == n
    assert w["rows"]["test_positive"] == w["rows"]["test"] // 2
    names = dna.population(dc["population"])
    assert list(w["train_cnn"]["variants"]) == names
    assert w["train_cnn"]["jobs"] == len(names) * dc["population"]["trials"]
    spectral = [v for v in w["train_cnn"]["variants"].values() if v["regularizer"] == "spectral_norm"]
    assert spectral and all(v["model"]["spectral_norm"] for v in spectral)
    assert set(w["attributions"]) == set(dc["attribution"]["methods"])
    fewer = dna.workload(_changed(config, "dna_consistency.population.regularizers", ["standard"]))
    assert fewer["train_cnn"]["jobs"] == w["train_cnn"]["jobs"] // len(dc["population"]["regularizers"])
    small = dna.workload(_changed(config, "dna_consistency.data.simulated.n_sequences", 1000))
    assert small["rows"] == {"train": 700, "val": 100, "test": 200, "test_positive": 100}
    assert all(a["rows"] == 100 for a in small["attributions"].values())  # capped by the positive test sequences
    with pytest.raises(ValueError, match="simulated"):
        dna.workload(_changed(config, "dna_consistency.data.source", "download"))
    atac = dna.workload(_changed(config, "dna_consistency.data.source", "download"),
                        rows={"train": 10, "valid": 2, "test": 4, "test_positive": 2}, seq_length=1000)
    assert atac["seq_length"] == 1000 and atac["rows"]["val"] == 2


TCGA = {"n_samples": 10_000, "n_genes": 20_531, "n_classes": 33}


def test_ig_limits_workload_follows_the_config():
    config = _paper_config()
    w = igl.workload(config, TCGA)
    ic = config["ig_limits"]
    assert list(w["datasets"]) == igl.datasets(ic) == [*ic["settings"], "TCGA"]
    sim = ic["simulation"]
    simu = w["datasets"][ic["settings"][0]]
    assert simu["n_genes"] == sim["n_genes"] and sum(simu["rows"].values()) == sim["n_classes"] * sim[
        "n_samples_per_class"]
    # the sizes of the experiment's own stratified splits (test, then validation out of the training part)
    labels = np.repeat(np.arange(sim["n_classes"]), sim["n_samples_per_class"])
    tr, te = igl.stratified_split(labels, ic["split"]["test"], 0)
    tr2, va = igl.stratified_split(labels[tr], ic["split"]["val"], 1)
    assert simu["rows"] == {"train": len(tr2), "val": len(va), "test": len(te)}
    assert w["datasets"]["TCGA"]["n_genes"] == TCGA["n_genes"]
    for ds in w["train"]:
        assert set(w["train"][ds]) == set(ic["models"])
        assert all(j["jobs"] == ic["seeds"] for j in w["train"][ds].values())
        assert w["train"][ds]["MLP"]["training"]["epochs"] == ic["training"]["MLP"]["epochs"]
    ex = w["explain"]["TCGA"]["MLP"]
    assert ex["ig_steps"][0] == ic["ig"]["start_steps"] and ex["ig_steps"][-1] <= ic["ig"]["max_steps"]
    assert ex["ig_steps"] == igl.ig_step_schedule(ic["ig"]["start_steps"], ic["ig"]["max_steps"])
    assert len(igl.workload(_changed(config, "ig_limits.ig.max_steps", 4 * ic["ig"]["max_steps"]), TCGA)
               ["explain"]["TCGA"]["MLP"]["ig_steps"]) == len(ex["ig_steps"]) + 2
    simulated = igl.workload(_changed(config, "ig_limits.source", "simulated"))  # no TCGA sizes needed
    assert "TCGA" not in simulated["datasets"]
    with pytest.raises(ValueError, match="TCGA"):
        igl.workload(config)
    more = igl.workload(_changed(config, "ig_limits.evaluation.pg_random_repeats", 7), TCGA)
    assert more["explain"]["TCGA"]["MLP"]["prediction_gaps"]["orders"] == 9


BEAT_AML_DASATINIB = {"drug_response": {"n_samples": 450, "n_genes": 12_000}}


def test_dapr_workload_follows_the_config():
    from attrpriors.data.two_moons import make_two_moons_nuisance, split_fractions
    from attrpriors.preprocess import split_by_group

    config = _paper_config()
    w = dapr.workload(config, BEAT_AML_DASATINIB)
    tm, t1 = config["dapr"]["two_moons"], config["dapr"]["table1"]
    # two moons: one job per nuisance count and model, one fit per data set; inputs as the generator makes them
    assert list(w["two_moons"]["nuisance"]) == tm["n_nuisance"]
    assert all(j["jobs"] == len(tm["n_nuisance"]) and j["fits_per_job"] == tm["n_datasets"]
               for j in w["two_moons"]["train"].values())
    assert w["two_moons"]["train"]["mlp"]["prior"] is None and w["two_moons"]["train"]["dapr"]["prior"]
    X, _ = make_two_moons_nuisance(tm["n_samples"], 50, tm["noise"], seed=0)
    assert w["two_moons"]["nuisance"][50]["n_inputs"] == X.shape[1]
    split = split_fractions(tm["n_samples"], tm["split"]["train"], tm["split"]["val"], 0)
    assert w["two_moons"]["rows"] == {k: len(v) for k, v in split.items()}
    # Table 1: one fit per split and strength of the row's validation grid; LASSO is scikit-learn (no fits)
    models = w["table1"]["models"]
    assert list(models) == t1["models"]
    assert models["lasso"]["fits_per_job"] == 0
    assert models["mlp"]["fits_per_job"] == t1["n_splits"]
    grid_size = len(dapr.strength_grid(t1, "dapr_informative"))
    assert models["dapr_informative"]["fits_per_job"] == t1["n_splits"] * grid_size
    assert models["merge"]["hidden"] == [] and models["mlp_meta_inputs"]["meta_inputs"]
    ds = w["table1"]["datasets"]["drug_response"]
    assert ds["n_meta"] == len(t1["drug_response"]["download"]["meta_features"])
    s = split_by_group(np.arange(450), test_frac=t1["drug_response"]["split"]["test"],
                       val_frac=t1["drug_response"]["split"]["val"] / (1 - t1["drug_response"]["split"]["test"]))
    assert ds["rows"] == {k: len(v) for k, v in s.items()}
    grid = _changed(config, "dapr.table1.l1_weight", [1e-5, 1e-4, 1e-3])
    assert dapr.workload(grid, BEAT_AML_DASATINIB)["table1"]["models"]["mlp_l1"]["fits_per_job"] == 3 * t1["n_splits"]
    fewer = dapr.workload(_changed(config, "dapr.two_moons.n_nuisance", [50, 100]), BEAT_AML_DASATINIB)
    assert fewer["two_moons"]["train"]["dapr"]["jobs"] == 2
    with pytest.raises(ValueError, match="drug_response"):
        dapr.workload(config)


NHANES = {"nhanes": {"n_samples": 13_000, "n_features": 79}}


def test_sparsity_prior_workload_follows_the_config():
    config = _paper_config()
    w = sp.workload(config, NHANES)
    spc = config["sparsity_prior"]
    swept = [d for d in spc["datasets"] if spc["cohorts"][d].get("sweep", True)]
    sized = ["nhanes"] + [d for d in spc["datasets"] if spc["cohorts"][d]["source"] == "simulated"]
    assert set(w["cohorts"]) == set(sized) and set(w["unsized"]) == set(spc["datasets"]) - set(sized)
    assert set(w["train_mlp"]) == set(swept) & set(sized)
    rows = w["cohorts"]["nhanes"]["rows"]
    assert sum(rows.values()) == 13_000 and rows["test"] == round(13_000 * spc["split"]["test"])
    # one job per penalty trains its whole sweep (strengths × seeds) in one stack
    nh = w["train_mlp"]["nhanes"]
    assert set(nh) == set(spc["penalties"]) and all(j["jobs"] == 1 for j in nh.values())
    assert nh["unregularized"]["fits_per_job"] == spc["penalties"]["unregularized"]["seeds"]
    assert nh["gini"]["fits_per_job"] == spc["penalties"]["gini"]["num"] and nh["gini"]["kind"] == "attribution"
    assert nh["sgl"]["kind"] == "weight" and nh["dropout"]["kind"] == "dropout"
    assert nh["gini"]["scored_rows"] == rows["val"] + rows["test"]
    smaller = sp.workload(_changed(config, "sparsity_prior.penalties.gini", {**spc["penalties"]["gini"], "num": 7}),
                          NHANES)
    assert smaller["train_mlp"]["nhanes"]["gini"]["fits_per_job"] == 7
    # small data: blocks of subsamples; per subsample a grid (none for the unregularized model) and the restarts
    sd = spc["small_data"]
    small = w["small_data"]["nhanes"]
    assert small["jobs"] == -(-sd["n_subsamples"] // sd["subsamples_per_job"])
    assert small["penalties"]["unregularized"]["fits"] == sd["restarts"]
    assert small["penalties"]["gini"]["fits"] == sd["grid_points"] + sd["restarts"]
    blocks = sp.workload(_changed(config, "sparsity_prior.small_data.subsamples_per_job", 4), NHANES)
    assert blocks["small_data"]["nhanes"]["jobs"] == -(-sd["n_subsamples"] // 4)
    # a cohort's own training settings win
    own = sp.workload(_changed(config, "sparsity_prior.cohorts.nhanes.training", {"epochs": 3}), NHANES)
    assert own["train_mlp"]["nhanes"]["gini"]["training"]["epochs"] == 3


def test_workloads_are_torch_free_and_plain():
    """Every experiment's workload runs without importing torch and returns plain data (JSON-serialisable)."""
    code = f"""
import json, sys
from attrpriors.config_check import load_config
from attrpriors.experiments import benchmark, dapr, dna_consistency, graph_prior, ig_limits, pixel_prior, sparsity_prior
config = load_config({str(REPO / "config" / "paper.yaml")!r})
out = [benchmark.workload(config), pixel_prior.workload(config, 60000, 10000, 28, 1, 10),
       sparsity_prior.workload(config, {{"nhanes": {{"n_samples": 13000, "n_features": 79}}}}),
       graph_prior.workload(config, 1000, 10, 5000, 20000),
       dapr.workload(config, {{"drug_response": {{"n_samples": 450, "n_genes": 12000}}}}),
       dna_consistency.workload(config), ig_limits.workload(config, {TCGA!r})]
json.dumps(out)
print("torch" in sys.modules)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "False"
