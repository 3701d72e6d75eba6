"""Resuming after a kill: the workflow profile that makes Snakemake rerun interrupted jobs, and stale locks.

The end-to-end kill-and-resume test (SIGKILL of the whole run in a training job and in a figure job) is in
tests/test_pipeline_resume.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import yaml

from attrpriors.workflow import release_stale_locks

REPO = Path(__file__).resolve().parents[1]


def test_workflow_profile_resumes_interrupted_jobs():
    # Snakemake 9 reads profiles/default/ next to the Snakefile implicitly (cli.parse_args: workflow profile)
    profile = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert profile["rerun-incomplete"] is True
    assert "cores" not in profile  # `--cores` stays the user's (and `make reproduce`'s) choice


def _locks(work: Path) -> list[Path]:
    d = work / ".snakemake" / "locks"
    d.mkdir(parents=True, exist_ok=True)
    out = [d / "0.input.lock", d / "0.output.lock"]
    for p in out:
        p.write_text("results/x.csv\n")
    return out


def test_stale_lock_is_removed_only_when_no_run_is_active(tmp_path):
    locks = _locks(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(REPO / 'src')!r})
            from attrpriors.workflow import release_stale_locks
            release_stale_locks({str(tmp_path)!r})   # this "run" removes the old locks and holds the run lock
            print("holding", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert not any(p.exists() for p in locks)
        locks = _locks(tmp_path)  # the active run's own locks
        assert release_stale_locks(tmp_path) == []  # another run is active: its locks are left alone
        assert all(p.exists() for p in locks)
    finally:
        holder.kill()  # SIGKILL: the kernel releases the run lock
        holder.wait()
    time.sleep(0.1)
    assert sorted(release_stale_locks(tmp_path)) == sorted(locks)
    assert not any(p.exists() for p in locks)
