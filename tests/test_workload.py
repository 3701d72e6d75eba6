"""Experiments describe their own paper-scale workload (what timings/paper_scale.py times), from the config."""

from __future__ import annotations

import yaml
from snakemake.utils import update_config

from attrpriors.experiments import graph_prior as gp
from conftest import REPO


def _paper_config() -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / "config" / "paper.yaml").read_text()))
    return config


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
