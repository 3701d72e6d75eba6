"""attrpriors.reproducibility: which jobs a finished run had (from Snakemake's metadata) and how two runs' outputs
differ (the comparison the determinism test and scripts/rerun_jobs.py use)."""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pytest
import pandas as pd
import torch

from attrpriors.io import save_npz, save_table, save_torch
from attrpriors.reproducibility import compare_outputs, one_job_per_rule, rerun_levels, run_jobs, snakemake_markers


def _marker(root, output: str, **meta):
    b64 = base64.urlsafe_b64encode(output.encode()).decode()
    path = root / ".snakemake" / "metadata"
    if len(b64) > 40:  # Snakemake splits long names into '@'-prefixed folders
        path = path / ("@" + b64[:40])
        b64 = b64[40:]
    path.mkdir(parents=True, exist_ok=True)
    (path / b64).write_text(json.dumps(meta))


def test_jobs_and_the_shortest_job_of_each_rule_come_from_snakemakes_metadata(tmp_path):
    long = "results/experiment/" + "x" * 60 + ".csv"
    _marker(tmp_path, long, rule="train", job_hash=1, starttime=0, endtime=9)
    _marker(tmp_path, "results/experiment/b.csv", rule="train", job_hash=2, starttime=0, endtime=3)
    _marker(tmp_path, "results/experiment/b.npz", rule="train", job_hash=2, starttime=0, endtime=3)
    _marker(tmp_path, "results/timings/train/b.tsv", rule="train", job_hash=2, starttime=0, endtime=3)
    _marker(tmp_path, "results/figures/f.png", rule="figure", job_hash=3, starttime=0, endtime=1)
    assert long in snakemake_markers(tmp_path / ".snakemake" / "metadata")
    assert sorted(len(j["outputs"]) for j in run_jobs(tmp_path)) == [1, 1, 3]
    # the figure-only rule is left out, the timing file too
    assert one_job_per_rule(tmp_path) == {"train": ["results/experiment/b.csv", "results/experiment/b.npz"]}


def test_rerun_levels_never_put_a_chosen_job_upstream_of_another_in_one_group(tmp_path):
    """data -> (d1, d2) -> model (via an unchosen intermediate) -> table; data also -> table directly."""
    def job(out, rule, h, inputs):
        _marker(tmp_path, out, rule=rule, job_hash=h, starttime=0, endtime=1, input=inputs)
    job("r/data.npz", "data", 1, [])
    job("r/d1.npz", "split", 2, ["r/data.npz"])
    job("r/d2.npz", "split", 3, ["r/data.npz"])
    job("r/mid.npz", "prep", 4, ["r/d1.npz"])
    job("r/model.pt", "train", 5, ["r/mid.npz"])
    job("r/other.csv", "score", 6, ["r/data.npz"])
    job("r/table.csv", "table", 7, ["r/model.pt", "r/data.npz", "r/other.csv"])
    chosen = {"data": ["r/data.npz"], "split": ["r/d1.npz"], "train": ["r/model.pt"], "score": ["r/other.csv"],
              "table": ["r/table.csv"]}
    # prep (unchosen) sits between split and train: train must still come a level after split
    assert rerun_levels(tmp_path, chosen) == [["r/data.npz"], ["r/d1.npz", "r/other.csv"], ["r/model.pt"],
                                              ["r/table.csv"]]
    with pytest.raises(KeyError, match="no job of the run wrote"):
        rerun_levels(tmp_path, {"x": ["r/missing.csv"]})


def test_outputs_that_differ_only_in_logged_seconds_are_the_same(tmp_path):
    for run in ("a", "b"):
        d = tmp_path / run
        save_npz(d / "x.npz", w=np.arange(4.0), m=np.array([np.nan, 1.0]))
        save_torch({"state_dict": {"w": torch.ones(2)}, "history": {"loss": [1.0, 0.5], "seconds": [time.time()]}},
                   d / "m.pt")
        save_table(pd.DataFrame({"epoch": [0], "loss": [1.5], "seconds": [time.time()]}), d / "m_history.csv")
        time.sleep(0.01)  # other seconds logged
    for name in ("x.npz", "m.pt", "m_history.csv"):
        assert compare_outputs(tmp_path / "a" / name, tmp_path / "b" / name)["same"], name


def test_a_difference_is_found_and_measured(tmp_path):
    save_table(pd.DataFrame({"model": ["a", "b"], "r2": [0.5, 0.25]}), tmp_path / "t1.csv")
    save_table(pd.DataFrame({"model": ["a", "b"], "r2": [0.5, 0.25 + 1e-9]}), tmp_path / "t2.csv")
    diff = compare_outputs(tmp_path / "t1.csv", tmp_path / "t2.csv")
    assert not diff["same"] and 0 < diff["max_abs_diff"] < 2e-9
    save_table(pd.DataFrame({"model": ["a", "c"], "r2": [0.5, 0.25]}), tmp_path / "t3.csv")
    assert compare_outputs(tmp_path / "t1.csv", tmp_path / "t3.csv")["max_abs_diff"] == float("inf")
    save_torch({"w": torch.tensor([1.0, 2.0])}, tmp_path / "a.pt")
    save_torch({"w": torch.tensor([1.0, 2.5])}, tmp_path / "b.pt")
    diff = compare_outputs(tmp_path / "a.pt", tmp_path / "b.pt")
    assert not diff["same"] and diff["max_abs_diff"] == 0.5
    (tmp_path / "a.png").write_bytes(b"\x89PNG1")
    (tmp_path / "b.png").write_bytes(b"\x89PNG2")
    assert not compare_outputs(tmp_path / "a.png", tmp_path / "b.png")["same"]
