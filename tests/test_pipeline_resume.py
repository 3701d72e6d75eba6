"""Reliability of the whole workflow, on a copy of the tiny run (the session fixture ``tiny_run``):

1. a truncated intermediate (.npz, .pt, .csv) stops the rule that reads it with an error naming the file and the
   remedy, and nothing downstream is written;
2. the same command after restoring them, killed with SIGKILL (the whole process group) while a training job
   runs and again while a figure job runs, then run once more unchanged, completes (the workflow profile
   profiles/default supplies --rerun-incomplete; common.smk removes the killed run's lock);
3. every table of the resumed run is byte-identical to the uninterrupted tiny run (determinism on one machine).

Only the jobs downstream of the damaged files are rerun (about 10 small jobs and 5 Snakemake start-ups), so this
costs a fraction of a tiny run; see docs/determinism.md.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, TINY

pytestmark = pytest.mark.pipeline

# A damaged file -> the outputs of one job that reads it and of the jobs after it up to a final output, deleted so
# that exactly these jobs rerun (the damaged file keeps its mtime, so nothing else is outdated; Snakemake does not
# rebuild a missing intermediate whose final outputs are present). The other kinds (.tsv, .json, .gmt) are read
# only by jobs far down the RNA-seq / sparsity graphs, which would make this test cost a large part of a tiny
# run; their readers are tested per kind and damage in tests/test_io.py.
DAMAGED = {
    "results/benchmark/data/independent_linear60.npz": [
        "results/benchmark/metrics/independent_linear60/random.csv",
        *(f"results/tables/erion_table1_benchmark_independent_linear60.{e}" for e in ("csv", "md")),
    ],
    "results/benchmark/models/correlated_groups60.pt": [
        "results/benchmark/attributions/correlated_groups60/gradients.npz",
        "results/benchmark/metrics/correlated_groups60/gradients.csv",
        *(f"results/tables/erion_table1_benchmark_correlated_groups60.{e}" for e in ("csv", "md")),
    ],
    "results/dapr/two_moons/metrics/100_mlp.csv": ["results/figures/weinberger_fig2_two_moons_accuracy.png"],
}
# deleted before the resumed runs (the remedy the error message gives), so that a training job reruns
RETRAIN = "results/dapr/two_moons/metrics/20_mlp.csv"


def _command(work: Path) -> list[str]:
    """The README's command (plus the test's Snakefile, folder and config): nothing about resuming in it."""
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
            "--configfile", str(TINY), "--cores", "2"]


def _tables(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "results" / "tables").glob("*"))}


def _incomplete(work: Path) -> list[str]:
    """Outputs of the jobs running now: Snakemake marks them in .snakemake/incomplete/ (urlsafe base64 of the
    path, long names split into '@'-prefixed folders) until the job finishes."""
    d = work / ".snakemake" / "incomplete"
    out = []
    for p in d.rglob("*") if d.exists() else []:
        if p.is_file():
            b64 = "".join(part.lstrip("@") for part in p.relative_to(d).parts)
            try:
                out.append(base64.urlsafe_b64decode(b64).decode())
            except Exception:  # not a marker
                pass
    return out


def _run_until(work: Path, log: Path, wanted, timeout: float = 1800, inside: float = 2.5) -> str | None:
    """Start the command in its own process group; SIGKILL the whole group once a running job's output matches
    ``wanted`` and has been running for ``inside`` seconds. Returns that output (None if the run ended first)."""
    with open(log, "w") as fh:
        proc = subprocess.Popen(_command(work), stdout=fh, stderr=subprocess.STDOUT, cwd=work, start_new_session=True)
    t0 = time.time()
    hit, seen = None, {}
    while proc.poll() is None and time.time() - t0 < timeout:
        running = [f for f in _incomplete(work) if wanted(f)]
        now = time.time()
        seen = {f: seen.get(f, now) for f in running}
        ripe = [f for f, since in seen.items() if now - since > inside]  # inside the job, not at its start
        if ripe:
            hit = ripe[0]
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    return hit


def test_corrupt_intermediates_are_named_then_a_killed_run_resumes_to_identical_tables(tiny_run: Path, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(tiny_run, work, symlinks=True)  # copy2: keeps mtimes, so nothing is outdated
    for f in ["results/report.html"]:
        (work / f).unlink(missing_ok=True)
    reference = _tables(tiny_run)
    assert len(reference) >= 20

    # 1. damage one file of each kind (keeping its mtime) and make one job that reads it run again
    for damaged, consumer_outputs in DAMAGED.items():
        path = work / damaged
        st = path.stat()
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        for out in consumer_outputs:
            (work / out).unlink()
    before = {p: p.stat().st_mtime_ns for p in (work / "results").rglob("*") if p.is_file()}
    proc = subprocess.run(_command(work) + ["--keep-going"], capture_output=True, text=True, cwd=work, timeout=1800)
    assert proc.returncode != 0
    logs = "\n".join(p.read_text(errors="replace") for p in (work / "results" / "logs").rglob("*.log")
                     if before.get(p) != p.stat().st_mtime_ns)  # the logs of this run's jobs
    for damaged in DAMAGED:
        assert damaged in logs and "truncated or corrupt" in logs, f"{damaged} not named in the failing job's log"
    assert logs.count("delete it and rerun the same snakemake command") >= len(DAMAGED)
    # nothing downstream written: every output that exists was there before, unchanged (logs excepted)
    for p in (work / "results").rglob("*"):
        if p.is_file() and "logs" not in p.parts and "benchmarks" not in p.parts:
            assert p in before and p.stat().st_mtime_ns == before[p], f"{p} was written from a damaged input"

    # 2. restore the damaged files, delete one training job's output, then kill the run in that training job and
    #    again in a figure job, and rerun the same command
    for damaged in DAMAGED:
        shutil.copy2(tiny_run / damaged, work / damaged)
    (work / RETRAIN).unlink()
    hit = _run_until(work, tmp_path / "run1.log", lambda f: f == RETRAIN)
    assert hit, (tmp_path / "run1.log").read_text()[-3000:]
    # a figure job lasts about a second on a quiet machine (no torch import): kill it 0.3 s in
    hit = _run_until(work, tmp_path / "run2.log", lambda f: f.startswith("results/figures/"), inside=0.3)
    assert hit, (tmp_path / "run2.log").read_text()[-3000:]
    assert list((work / ".snakemake" / "locks").glob("*.lock")), "the kill left no lock: the test proves nothing"
    proc = subprocess.run(_command(work), capture_output=True, text=True, cwd=work, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "Removed the lock left by a killed run" in proc.stderr + proc.stdout

    # 3. every table byte-identical to the uninterrupted run
    resumed = _tables(work)
    assert resumed.keys() == reference.keys()
    differ = [name for name in reference if resumed[name] != reference[name]]
    assert not differ, f"tables differ from the uninterrupted run: {differ}"
    proc = subprocess.run(_command(work) + ["-n"], capture_output=True, text=True, cwd=work)
    assert "Nothing to be done" in proc.stdout + proc.stderr
