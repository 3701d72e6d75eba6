"""The benchmark scripts run: the paper-scale projection on two cheap rules (timings are not asserted)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from conftest import REPO


def test_paper_scale_projection_runs_and_counts_the_dag_jobs(tmp_path):
    cmd = [sys.executable, str(REPO / "timings" / "paper_scale.py"), "--rules", "benchmark_train_mlp",
           "dapr_train_two_moons", "--steps", "2", "--repeats", "1", "--min-seconds", "0.02", "--device", "cpu",
           "--out-dir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    table = pd.read_csv(tmp_path / "paper_scale_cpu_partial.csv")
    rules = table[table["level"] == "variant"].groupby("rule")
    # job counts come from the paper overlay's dry run: 2 benchmark datasets; two-moons nuisance counts x 2 models
    assert rules["jobs"].sum()["benchmark_train_mlp"] == 2
    assert rules["jobs"].sum()["dapr_train_two_moons"] % 2 == 0
    assert (table.loc[table["level"] == "variant", "per_job_s"] > 0).all()
    assert "device-hours" in (tmp_path / "paper_scale_cpu_partial.md").read_text()


SMALL_SPARSITY_OVERLAY = """
sparsity_prior:
  datasets: [nhanes]
  model: {hidden: [8]}
  training: {epochs: 2, batch_size: 32}
  n_references: 2
  eval_references: 2
  sweep_penalties: [unregularized, gini, l1_all]
  penalties:
    unregularized: {seeds: 2}
    gini: {min: 1.0e-3, max: 1.0, num: 20}
    l1_all: {min: 1.0e-3, max: 1.0, num: 3}
  small_data:
    n_subsamples: 2
    subsamples_per_job: 1
    grid_points: 3
    restarts: 2
    top: 1
    eval_references: 2
    penalties: [gini, unregularized]
    training: {epochs: 2, batch_size: 100, lr: 0.01}
"""


def test_sparsity_projection_times_the_stacked_trainer(tmp_path):
    """The sparsity rules are timed as the jobs run them: one stack of single-logit models per sweep job (a stack
    above 16 models timed at 16 and scaled) and per small-data step, with a validation pass per epoch."""
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(SMALL_SPARSITY_OVERLAY)
    cmd = [sys.executable, str(REPO / "timings" / "paper_scale.py"), "--rules", "sparsity_prior_train_mlp",
           "sparsity_prior_small_data", "--steps", "1", "--repeats", "1", "--min-seconds", "0.01", "--device", "cpu",
           "--configfile", str(overlay), "--out-dir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "stack of 20 (timed at 16)" in proc.stderr  # the gini sweep: 20 strengths in one stack
    assert "stack of 3 (timed at 3)" in proc.stderr  # a small-data grid step
    table = pd.read_csv(tmp_path / "paper_scale_cpu_partial.csv")
    variants = table[table["level"] == "variant"]
    sweep = variants[variants["rule"] == "sparsity_prior_train_mlp"].set_index("variant")
    assert set(sweep.index) == {"unregularized", "gini", "l1_all"}
    assert (sweep["per_job_s"] > 0).all()
    assert sweep["measured"].str.contains("stack step").all() and sweep["workload"].str.contains("79-8-1").all()
    small = variants[variants["rule"] == "sparsity_prior_small_data"]
    assert len(small) == 1 and "3 strengths + 2 restarts" in small["workload"].item()
