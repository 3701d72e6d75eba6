"""Opt-in: a small part of the tiny graph through a real SLURM (profiles/slurm, snakemake-executor-plugin-slurm).

Run with ``ATTRPRIORS_SLURM=1 .venv/bin/python -m pytest -m slurm tests/test_slurm.py`` as root: the
fixture starts the single-node cluster with scripts/slurm/start_local_slurm.sh (idempotent; it
installs slurm-wlm, munge, slurmdbd and mariadb-server from Debian's packages when they are missing).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from attrpriors.config_check import load_config
from conftest import REPO, TINY

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(
        os.environ.get("ATTRPRIORS_SLURM") != "1",
        reason="needs a SLURM cluster: opt in with ATTRPRIORS_SLURM=1 (as root; starts one with "
        "scripts/slurm/start_local_slurm.sh)",
    ),
]

PROFILE = REPO / "profiles" / "slurm"
START = REPO / "scripts" / "slurm" / "start_local_slurm.sh"
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")
DATASET = load_config(TINY)["benchmark"]["datasets"][0]
DATA = f"results/benchmark/data/{DATASET}.npz"
MODEL = f"results/benchmark/models/{DATASET}.pt"
METRICS = f"results/benchmark/metrics/{DATASET}/gradients.csv"


def _slurm(workdir: Path, *args: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    """The workflow on the tiny config through the SLURM profile (status checks every few seconds)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(TINY), "--profile", str(PROFILE),
           "--slurm-init-seconds-before-status-checks", "5", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, timeout=timeout)


@pytest.fixture(scope="module")
def cluster() -> None:
    """A running cluster: the start script brings it up (or finds it up) and waits for an idle node."""
    if os.geteuid() != 0 and shutil.which("sinfo") is None:
        pytest.fail("ATTRPRIORS_SLURM=1 but no SLURM here and not root to start one")
    if os.geteuid() == 0:
        proc = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.split()
    assert {"idle", "mixed", "allocated"} & set(state), f"no usable SLURM node: {state}"


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory) -> tuple[Path, str]:
    """data -> train -> attributions -> metrics of one dataset: four jobs, each its own sbatch."""
    work = tmp_path_factory.mktemp("slurm")
    proc = _slurm(work, METRICS)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    return work, log


def test_jobs_went_through_sbatch_and_completed(slurm_run):
    work, log = slurm_run
    submitted = SUBMITTED.findall(log)
    rules = {Path(p).relative_to(work / ".snakemake" / "slurm_logs").parts[0] for _, _, p in submitted}
    assert rules == {"rule_benchmark_data", "rule_benchmark_train_mlp", "rule_benchmark_attributions",
                     "rule_benchmark_metrics"}, log[-4000:]
    slurm_ids = [sid for _, sid, _ in submitted]
    # SLURM's own accounting has every job, completed with exit code 0
    sacct = subprocess.run(["sacct", "-X", "-n", "-P", "-j", ",".join(slurm_ids), "-o", "JobID,State,ExitCode"],
                           capture_output=True, text=True, check=True).stdout
    states = {line.split("|")[0]: line.split("|")[1:] for line in sacct.splitlines() if line}
    assert set(states) == set(slurm_ids), sacct
    assert all(state == ["COMPLETED", "0:0"] for state in states.values()), sacct
    # the plugin's per-job logs are kept (slurm-keep-successful-logs) and show the job step ran
    for _, _, path in submitted:
        assert Path(path).stat().st_size > 0
    job_log = Path(submitted[-1][2]).read_text()
    assert "--executor slurm-jobstep" in job_log and "Finished jobid" in job_log, job_log[-3000:]


def test_outputs_exist_and_are_sane(slurm_run):
    work, _ = slurm_run
    scores = pd.read_csv(work / METRICS)
    assert len(scores) > 0 and scores.select_dtypes("number").notna().all().all()
    assert (work / f"results/logs/benchmark_train_mlp/{DATASET}.log").stat().st_size > 0
    assert (work / f"results/timings/benchmark_train_mlp/{DATASET}.tsv").exists()


def test_second_run_has_nothing_to_do(slurm_run):
    work, _ = slurm_run
    proc = _slurm(work, METRICS, "-n", timeout=300)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr


def test_use_gpu_asks_sbatch_for_a_gpu(slurm_run, tmp_path):
    """With use_gpu: true the training job is submitted with --gpus=1 (train_resources() -> plugin)."""
    work, log = slurm_run
    assert "--gpus" not in log  # use_gpu: false in the tiny config: no GPU request
    gpu_work = tmp_path / "gpu"
    (gpu_work / DATA).parent.mkdir(parents=True)
    shutil.copy2(work / DATA, gpu_work / DATA)
    proc = _slurm(gpu_work, MODEL, "--config", "use_gpu=True", "--verbose", timeout=600)
    out = proc.stdout + proc.stderr
    calls = [line for line in out.splitlines() if "sbatch call:" in line or line.strip().startswith("sbatch ")]
    train_calls = [c for c in calls if "benchmark_train_mlp" in c]
    assert train_calls and all("--gpus=1" in c for c in train_calls), out[-4000:]
    gres = subprocess.run(["sinfo", "-h", "-o", "%G"], capture_output=True, text=True).stdout
    if "gpu" in gres:  # a node with GPUs runs it
        assert proc.returncode == 0, out[-4000:]
    else:  # none here: SLURM itself refuses the GPU request
        assert proc.returncode != 0
        assert "SLURM sbatch failed" in out, out[-4000:]
        assert ("Invalid generic resource" in out  # the cluster has no GresTypes=gpu
                or "Requested node configuration is not available" in out), out[-4000:]
