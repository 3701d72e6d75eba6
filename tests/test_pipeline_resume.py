"""Reliability of the whole workflow, each test on its own copy of the tiny run (the session fixture ``tiny_run``):

1. a damaged intermediate of every kind the workflow writes (.npz, .pt, .csv, .tsv, .json, .gmt; the text kinds
   cut exactly at a line end, where they still parse) stops the rule that reads it with an error naming the file
   and the remedy, and nothing downstream is written;
2. the README's command, killed with SIGKILL (the whole process group) while a training job runs and again while a
   figure job runs, then run once more unchanged, completes (the workflow profile profiles/default supplies
   --rerun-incomplete; common.smk removes the killed run's lock), and every table is byte-identical to the
   uninterrupted run;
3. determinism: one job of every rule that writes more than figures (the shortest one), rerun in a fresh process
   from the same inputs, writes the same outputs as in the tiny run, bit for bit (the seconds that training
   histories log aside). A job's outputs depend only on its inputs, params and code, so by induction over the rule
   graph two whole runs give byte-identical tables; the kill-and-resume test compares all tables of a second
   (partial) run as well. See docs/determinism.md.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from attrpriors.reproducibility import compare_outputs, one_job_per_rule, rerun_levels, snakemake_markers
from conftest import REPO, TINY

pytestmark = pytest.mark.pipeline

# A damaged file -> the outputs of one job that reads it and of the jobs after it up to a final output, deleted so
# that exactly these jobs rerun (the damaged file keeps its mtime, so nothing else is outdated; Snakemake does not
# rebuild a missing intermediate whose final outputs are present). "half": cut in the middle; "line": cut at a line
# end, so that the file still parses (caught by the checksum file attrpriors.io writes next to it).
CROSS_PAPER = ["results/cross_paper/metrics.csv", "results/tables/cross_paper_attribution_trust.csv",
               "results/tables/cross_paper_attribution_trust.md", "results/figures/cross_paper_attribution_trust.png",
               "results/figures/cross_paper_randomization.png"]
DAMAGED = {
    "results/benchmark/data/independent_linear60.npz": ("half", [
        "results/benchmark/metrics/independent_linear60/random.csv",
        *(f"results/tables/erion_table1_benchmark_independent_linear60.{e}" for e in ("csv", "md")),
    ]),
    "results/benchmark/models/correlated_groups60.pt": ("half", [
        "results/benchmark/attributions/correlated_groups60/gradients.npz",
        "results/benchmark/metrics/correlated_groups60/gradients.csv",
        *(f"results/tables/erion_table1_benchmark_correlated_groups60.{e}" for e in ("csv", "md")),
    ]),
    "results/dapr/two_moons/metrics/100_mlp.csv": ("line", ["results/figures/weinberger_fig2_two_moons_accuracy.png"]),
    "results/pixel_prior/selection.json": ("half", ["results/figures/erion_fig1_pixel_prior_tv_error.png"]),
    "results/rnaseq/gene_sets/KEGG.gmt": ("line", CROSS_PAPER),
}
# the only cheap reader of a .tsv that is not upstream of the .gmt's reader is that same job: a second run
DAMAGED_SECOND = {"results/rnaseq/data/genes.tsv": ("line", CROSS_PAPER)}
# deleted before the resumed runs, so that a training job reruns
RETRAIN = "results/dapr/two_moons/metrics/20_mlp.csv"


def _command(work: Path) -> list[str]:
    """The README's command (plus the test's Snakefile, folder and config): nothing about resuming in it."""
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
            "--configfile", str(TINY), "--cores", "2"]


def _copy(tiny_run: Path, work: Path) -> Path:
    shutil.copytree(tiny_run, work, symlinks=True, ignore=shutil.ignore_patterns("report.html"))  # keeps mtimes
    return work


def _tables(root: Path) -> dict[str, bytes]:
    """Every user-facing table (not the hidden checksum files next to the .csv ones)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "results" / "tables").glob("[!.]*"))}


def _run_until(work: Path, log: Path, wanted, timeout: float = 1800, inside: float = 2.5) -> str | None:
    """Start the command in its own process group; SIGKILL the whole group once a running job's output matches
    ``wanted`` and has been running for ``inside`` seconds. Returns that output (None if the run ended first)."""
    with open(log, "w") as fh:
        proc = subprocess.Popen(_command(work), stdout=fh, stderr=subprocess.STDOUT, cwd=work, start_new_session=True)
    t0 = time.time()
    hit, seen = None, {}
    while proc.poll() is None and time.time() - t0 < timeout:
        running = [f for f in snakemake_markers(work / ".snakemake" / "incomplete") if wanted(f)]
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


def _damage(work: Path, damaged: dict[str, tuple[str, list[str]]]) -> None:
    for name, (how, consumer_outputs) in damaged.items():
        path = work / name
        st = path.stat()
        data = path.read_bytes()
        if how == "half":
            data = data[: len(data) // 2]
        else:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[: len(lines) // 2])
            assert data.endswith(b"\n") and len(data) < path.stat().st_size
        path.write_bytes(data)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # as old as before: nothing else is outdated
        for out in consumer_outputs:
            (work / out).unlink(missing_ok=True)


def _fails_naming(work: Path, damaged: dict, targets: tuple[str, ...] = ()) -> None:
    """The README's command (--keep-going; or only ``targets``) fails; each damaged file is named in the log of the
    job that read it; nothing is written from a damaged input."""
    before = {p: p.stat().st_mtime_ns for p in (work / "results").rglob("*") if p.is_file()}
    proc = subprocess.run(_command(work) + ["--keep-going", *targets], capture_output=True, text=True, cwd=work,
                          timeout=1800)
    assert proc.returncode != 0, proc.stdout[-3000:]
    logs = {p: p.read_text(errors="replace") for p in (work / "results" / "logs").rglob("*.log")
            if before.get(p) != p.stat().st_mtime_ns}  # the logs of this run's jobs
    for name in damaged:
        naming = [log for log in logs.values() if name in log and "truncated or corrupt" in log]
        assert naming, f"{name} not named in the log of a failing job: {sorted(map(str, logs))}"
        assert all("delete it and rerun the same snakemake command" in log for log in naming)
    for p in (work / "results").rglob("*"):
        if p.is_file() and "logs" not in p.parts and "timings" not in p.parts:
            assert p in before and p.stat().st_mtime_ns == before[p], f"{p} was written from a damaged input"
    assert not [p for p in (work / "results").rglob(".*.tmp*")], "a failed job left a temporary file behind"


def test_a_damaged_intermediate_of_every_kind_is_named_and_nothing_downstream_is_written(tiny_run: Path, tmp_path):
    work = _copy(tiny_run, tmp_path / "work")
    kinds = {Path(name).suffix for name in {**DAMAGED, **DAMAGED_SECOND}}
    assert kinds == {".npz", ".pt", ".csv", ".tsv", ".json", ".gmt"}
    _damage(work, DAMAGED)
    _fails_naming(work, DAMAGED)
    for name in DAMAGED:
        shutil.copy2(tiny_run / name, work / name)
    _damage(work, DAMAGED_SECOND)
    # only the cross-paper table this time (the other readers' outputs, deleted above, would now be rebuilt)
    _fails_naming(work, DAMAGED_SECOND, targets=tuple(CROSS_PAPER))


def test_a_killed_run_resumes_with_the_same_command_to_identical_tables(tiny_run: Path, tmp_path):
    work = _copy(tiny_run, tmp_path / "work")
    reference = _tables(tiny_run)
    assert len(reference) >= 20
    # delete one training job's output and the figure after it, then kill the run in that training job and again
    # in the figure job, and rerun the same command
    (work / RETRAIN).unlink()
    (work / "results/figures/weinberger_fig2_two_moons_accuracy.png").unlink()
    hit = _run_until(work, tmp_path / "run1.log", lambda f: f == RETRAIN)
    assert hit, (tmp_path / "run1.log").read_text()[-3000:]
    # a figure job lasts about a second on a quiet machine (no torch import): kill it 0.3 s in
    hit = _run_until(work, tmp_path / "run2.log", lambda f: f.startswith("results/figures/"), inside=0.3)
    assert hit, (tmp_path / "run2.log").read_text()[-3000:]
    assert list((work / ".snakemake" / "locks").glob("*.lock")), "the kill left no lock: the test proves nothing"
    proc = subprocess.run(_command(work), capture_output=True, text=True, cwd=work, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "Removed the lock left by a killed run" in proc.stderr + proc.stdout
    from attrpriors.io import remove_orphans

    assert remove_orphans(work / "results") == []  # the kills' temporary and checksum files are gone

    resumed = _tables(work)
    assert resumed.keys() == reference.keys()
    differ = [name for name in reference if resumed[name] != reference[name]]
    assert not differ, f"tables differ from the uninterrupted run: {differ}"
    proc = subprocess.run(_command(work) + ["-n"], capture_output=True, text=True, cwd=work)
    assert "Nothing to be done" in proc.stdout + proc.stderr


# --- determinism: every rule's job, rerun, writes the same bytes -------------------------------------------------

def test_every_rule_reproduces_its_outputs_bit_for_bit(tiny_run: Path, tmp_path):
    work = _copy(tiny_run, tmp_path / "work")
    chosen = one_job_per_rule(tiny_run, skip_missing=True)
    assert len(chosen) >= 40, sorted(chosen)  # every rule of the tiny run but the figure-only ones
    targets = [o for outputs in chosen.values() for o in outputs]
    for out in targets:
        (work / out).unlink()
    # one call per level: no chosen job feeds another within a call (Snakemake would rerun every job between them)
    levels = rerun_levels(tiny_run, chosen)
    assert sorted(o for level in levels for o in level) == sorted(targets) and len(levels) < len(targets)
    ran: list[str] = []
    for level in levels:
        proc = subprocess.run(_command(work) + level + ["--rerun-triggers", "input", "params", "software-env", "code"],
                              capture_output=True, text=True, cwd=work, timeout=3600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
        ran += re.findall(r"^(?:local)?rule (\w+):$", proc.stdout + proc.stderr, re.M)
    missing = Counter(list(chosen)) - Counter(ran)
    assert not missing, f"chosen jobs that did not run: {missing}"
    # besides the chosen jobs, only those downstream of a rerun checkpoint run: a .pt holds the training history
    # with its wall-clock seconds, so its bytes (Snakemake's input checksum) change (4-15 jobs on the tiny run,
    # depending on which jobs are the shortest; one call for all targets ran about 100)
    assert len(ran) <= 1.5 * len(chosen), f"{len(ran)} jobs ran for {len(chosen)} chosen ones: {Counter(ran)}"
    differ = {}
    for rule, outputs in chosen.items():
        for out in outputs:
            diff = compare_outputs(tiny_run / out, work / out)
            if not diff["same"]:
                differ[out] = f"{rule}: {diff['what']} differ by up to {diff['max_abs_diff']}"
    assert not differ, f"a rerun of the same job wrote other outputs: {differ}"
