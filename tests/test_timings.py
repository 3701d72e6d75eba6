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
