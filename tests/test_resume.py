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

import pytest
import yaml

from attrpriors.workflow import ActiveRunError, claim_workdir, command_mode, release_stale_locks

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


def _hold(code: str) -> subprocess.Popen:
    """A process that runs ``code`` (with the library importable), prints "holding" and sleeps."""
    return subprocess.Popen([sys.executable, "-c", f"import sys, time\nsys.path.insert(0, {str(REPO / 'src')!r})\n"
                             + textwrap.dedent(code) + "\nprint('holding', flush=True)\ntime.sleep(60)\n"],
                            stdout=subprocess.PIPE, text=True)


def test_stale_lock_is_removed_only_when_no_run_is_active(tmp_path):
    locks = _locks(tmp_path)
    holder = _hold(f"""
        from attrpriors.workflow import release_stale_locks
        release_stale_locks({str(tmp_path)!r})   # this "run" removes the old locks and holds the run lock""")
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert not any(p.exists() for p in locks)
        locks = _locks(tmp_path)  # the active run's own locks
        with pytest.raises(ActiveRunError, match=f"Another run .* process {holder.pid} on .*kill {holder.pid}"):
            release_stale_locks(tmp_path)  # another run is active: its locks are left alone
        assert all(p.exists() for p in locks)
    finally:
        holder.kill()  # SIGKILL: the kernel releases the run lock
        holder.wait()
    time.sleep(0.1)
    assert sorted(release_stale_locks(tmp_path)) == sorted(locks)
    assert not any(p.exists() for p in locks)


def test_a_lock_is_not_stale_while_a_job_of_the_killed_run_is_alive(tmp_path):
    """The main process of a run is gone, but one of its job processes still runs: the lock stays and the message
    names the job (pid, rule, wildcards) and how to stop it; once the job ends, the lock is stale and removed, and so
    is the dead job's record."""
    (tmp_path / ".snakemake").mkdir()
    locks = _locks(tmp_path)
    job = _hold(f"""
        import os
        os.chdir({str(tmp_path)!r})
        from attrpriors.workflow import hold_job_lock
        hold_job_lock("dapr_train_table1", "da_table=drug_response,da_model=mlp")""")
    try:
        assert job.stdout.readline().strip() == "holding"
        with pytest.raises(ActiveRunError, match=rf"1 job process.* process {job.pid} on .*rule dapr_train_table1 "
                                                 rf"da_table=drug_response.*kill {job.pid}"):
            release_stale_locks(tmp_path)
        assert all(p.exists() for p in locks)
        removed, orphans, message = claim_workdir(["-n", "--cores", "1"], tmp_path)  # a dry run is stopped too
        assert removed == orphans == [] and f"kill {job.pid}" in message
        assert claim_workdir(["--list-rules"], tmp_path) == ([], [], None)  # listing is not
    finally:
        job.kill()
        job.wait()
    time.sleep(0.1)
    assert sorted(release_stale_locks(tmp_path)) == sorted(locks)
    assert not list((tmp_path / ".snakemake" / "attrpriors.jobs").glob("*.lock"))


def test_command_modes():
    assert command_mode(["-n", "--cores", "1"]) == "dryrun" and command_mode(["-np"]) == "dryrun"
    assert command_mode(["--dry-run"]) == "dryrun" and command_mode(["--cores", "all"]) == "run"
    assert command_mode(["--unlock"]) == "other" and command_mode(["-n", "--nolock"]) == "other"
    assert command_mode(["--report=r.html"]) == "other" and command_mode(["--configfile", "n.yaml"]) == "run"


def test_a_dry_run_in_a_folder_another_run_holds_exits_non_zero(tmp_path):
    """Snakemake only warns in a dry run when the folder is locked, and exits 0; this workflow stops with the
    running process named."""
    holder = _hold(f"""
        from attrpriors.workflow import release_stale_locks
        release_stale_locks({str(tmp_path)!r})""")
    try:
        assert holder.stdout.readline().strip() == "holding"
        proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "1", "-n",
                               "--configfile", str(REPO / "tests/configs/tiny.yaml")], capture_output=True,
                              text=True, cwd=tmp_path, timeout=300)
    finally:
        holder.kill()
        holder.wait()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and f"Another run of this workflow is active" in out and f"kill {holder.pid}" in out
