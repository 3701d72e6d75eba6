"""Glue between Snakemake's ``script:`` directive and the library: threads, and logging to the rule's log file.

Every workflow script calls :func:`run` (``run(snakemake, library_function, **arguments)``): it is the one place
where a job's thread count and log are set up.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable


@contextlib.contextmanager
def logged(log_path: str | None):
    """Send logging, stdout and stderr (tqdm bars) to ``log_path`` for the duration of a rule."""
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", buffering=1) as fh:
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        old_level = root.level
        root.setLevel(logging.INFO)
        with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
            t0 = time.perf_counter()
            try:
                yield
                logging.getLogger("attrpriors").info("done in %.1f s", time.perf_counter() - t0)
            except BaseException:
                logging.getLogger("attrpriors").exception("failed after %.1f s", time.perf_counter() - t0)
                raise
            finally:
                root.removeHandler(handler)
                root.setLevel(old_level)


#: Kind of a rule by its name (first match wins; anything else is "other"): timings/job_overhead.py reports
#: fixed costs per kind, and tests/test_imports.py checks that figure, table and data rules import neither torch
#: nor gseapy.
RULE_KINDS = (
    ("figure/table", r"^figures?_|^table_|_summary$|cross_?paper|_figure_|_prior_pathways$|^dapr_table1(_paper)?$|"
                     r"_topk_overlap$|_selection$"),
    ("training", r"train|finetune|small_data$"),
    ("attribution", r"attribution|explain|eg_convergence|^evaluate_|_metrics$"),
    ("data", r"data$|download|preprocess|split_|gene_set|simulate$|tcga$|merge_features$|combat$"),
)


def rule_kind(rule: str) -> str:
    """``figure/table``, ``training``, ``attribution``, ``data`` or ``other`` (see :data:`RULE_KINDS`)."""
    import re

    return next((kind for kind, pattern in RULE_KINDS if re.search(pattern, rule)), "other")


#: Thread-count variables of the linear-algebra / OpenMP runtimes (torch reads OMP_NUM_THREADS when it starts).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def set_threads(threads: int) -> int:
    """Limit torch (and the BLAS / OpenMP runtimes) to ``threads`` threads; returns the count set.

    Sets the environment variables that a later ``import torch`` reads, and ``torch.set_num_threads`` when torch
    is already imported, so that a job that imports torch only inside the library function (most figure and table
    jobs never do) still gets exactly the rule's ``threads:``.
    """
    n = max(1, int(threads))
    for var in THREAD_VARIABLES:
        os.environ[var] = str(n)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(n)
    else:  # torch caps OMP_NUM_THREADS at the core count: set it exactly once torch is imported
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _SetThreadsOnTorchImport)]
        sys.meta_path.insert(0, _SetThreadsOnTorchImport(n))
    return n


class _SetThreadsOnTorchImport(importlib.abc.MetaPathFinder):
    """Calls ``torch.set_num_threads(n)`` right after torch's first import (then removes itself)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def find_spec(self, name, path=None, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module, n = spec.loader.exec_module, self.n

        def exec_and_set(module):
            exec_module(module)
            module.set_num_threads(n)

        spec.loader.exec_module = exec_and_set
        return spec


def run(snakemake: Any, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call ``fn(**kwargs)`` with the rule's ``threads:`` (torch's thread count) and the rule's log attached
    (``snakemake.log[0]`` if the rule has one), this process marked as a live job (:func:`hold_job_lock`)."""
    set_threads(getattr(snakemake, "threads", 1) or 1)
    wildcards = getattr(snakemake, "wildcards", None)
    hold_job_lock(getattr(snakemake, "rule", "?"),
                  ",".join(f"{k}={v}" for k, v in (wildcards.items() if hasattr(wildcards, "items") else [])))
    log_path = snakemake.log[0] if len(snakemake.log) else None
    with logged(log_path):
        verify_downloads(list(getattr(snakemake, "input", []) or []))
        try:
            return fn(**kwargs)
        except BaseException:  # Snakemake deletes a failed job's outputs: their checksum files go with them
            from .io import checksum_path

            for out in list(getattr(snakemake, "output", []) or []):
                checksum_path(out).unlink(missing_ok=True)
            raise


def verify_downloads(inputs: list[str]) -> None:
    """Every input under ``resources/`` checked against the sha256 recorded when it was downloaded
    (:func:`attrpriors.data.download.verify_recorded`) before the job reads it; a file without a record (put there
    by hand) is used as it is, with a warning in the job's log."""
    from .data.download import verify_recorded

    for path in inputs:
        p = Path(path)
        if p.parts[:1] == ("resources",) and p.is_file() and not verify_recorded(p):
            logging.getLogger("attrpriors.workflow").warning(
                "%s has no download record (%s.sha256): used unverified", p, p.name)


_RUN_LOCKS: dict[Path, Any] = {}  # open files whose flock marks this process as the active run (freed at exit/kill)
RUN_LOCK = "attrpriors.run.lock"  # in .snakemake/: flock held by the main process of a run for its lifetime
JOB_LOCKS = "attrpriors.jobs"  # in .snakemake/: one file per running job process, flock held for its lifetime


class ActiveRunError(RuntimeError):
    """Another run of this workflow (or a job process of a killed one) is alive in this folder."""


def _write_record(fh, **extra: Any) -> None:
    """Record this process (pid, host, start, command, ``extra``) in the lock file ``fh`` it holds."""
    import json
    import socket

    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime(
        "%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv), **extra}) + "\n")
    fh.flush()


def _read_record(path: Path) -> dict:
    """What a lock file says about its holder ({} if unreadable)."""
    import json

    try:
        return json.loads(path.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return {}


def _describe(path: Path) -> str:
    """A lock's holder in words: pid, host, rule, start and command (as recorded when taken)."""
    rec = _read_record(path)
    if not rec:
        return f"a process (its record {path} is unreadable)"
    what = f"process {rec.get('pid')} on {rec.get('host')}"
    if rec.get("rule"):
        what += f" (job of rule {rec['rule']}{' ' + rec['wildcards'] if rec.get('wildcards') else ''})"
    return what + f", started {rec.get('started')}: {rec.get('command', '')[:160]}"


def _try_flock(path: Path):
    """An open file holding an exclusive flock on ``path``, or None if another process holds one."""
    import fcntl

    fh = open(path, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        return None
    return fh


def hold_job_lock(rule: str, wildcards: str = "", workdir: str | Path = ".") -> Path | None:
    """Mark this process as a running job of ``rule`` in ``workdir`` until it exits (a flock on
    ``.snakemake/attrpriors.jobs/<host>.<pid>.lock``, which the kernel releases however the process ends), so that a
    later run does not call a lock stale while a job of a killed run still writes its outputs. None if the folder
    has no ``.snakemake`` (not run by Snakemake)."""
    import atexit
    import socket

    state = Path(workdir) / ".snakemake"
    if not state.is_dir():
        return None
    folder = state / JOB_LOCKS
    folder.mkdir(exist_ok=True)
    path = folder / f"{socket.gethostname()}.{os.getpid()}.lock"
    fh = _try_flock(path)
    if fh is None:
        return None
    _write_record(fh, rule=rule, wildcards=wildcards)
    _RUN_LOCKS[path] = fh
    atexit.register(lambda: path.unlink(missing_ok=True))
    return path


def live_jobs(workdir: str | Path = ".") -> list[str]:
    """The job processes (:func:`hold_job_lock`) still alive in ``workdir``, described; the records of dead ones are
    removed."""
    folder = Path(workdir) / ".snakemake" / JOB_LOCKS
    out = []
    for path in sorted(folder.glob("*.lock")) if folder.is_dir() else []:
        if path in _RUN_LOCKS:
            continue  # this process's own
        fh = _try_flock(path)
        if fh is None:
            out.append(_describe(path))
        else:
            path.unlink(missing_ok=True)
            fh.close()
    return out


def release_stale_locks(workdir: str | Path = ".") -> list[Path]:
    """Remove Snakemake's locks in ``workdir`` when they are left over from a killed run; return what was removed.

    A run killed with SIGKILL (or a power loss) leaves ``.snakemake/locks/`` behind, and the next run stops with
    "Directory cannot be locked". Snakemake's locks do not say whether their owner is alive, so every run of this
    workflow (called from common.smk in the main process) holds an exclusive ``flock`` on
    ``.snakemake/attrpriors.run.lock`` for its lifetime, and every job process one on its own file in
    ``.snakemake/attrpriors.jobs/`` (:func:`hold_job_lock`, from :func:`run`); the kernel releases a flock when its
    process ends, however it ends. A lock is stale only when this process gets the run flock **and** no job process
    of an earlier run is alive (a killed run's jobs can outlive it): then every Snakemake lock there is removed, and
    the caller reports it. Otherwise :class:`ActiveRunError` names the live processes and how to wait for or stop
    them, and nothing is touched (``snakemake --unlock`` clears a lock by hand).
    """
    state = (Path(workdir) / ".snakemake").resolve()
    state.mkdir(parents=True, exist_ok=True)
    if state not in _RUN_LOCKS:
        fh = _try_flock(state / RUN_LOCK)
        if fh is None:
            raise ActiveRunError(
                f"Another run of this workflow is active in {state.parent}: {_describe(state / RUN_LOCK)}. Wait for "
                f"it to finish or stop it (kill {_read_record(state / RUN_LOCK).get('pid', '<pid>')}), then run this "
                f"command again.")
        _write_record(fh)
        _RUN_LOCKS[state] = fh
    alive = live_jobs(state.parent)
    if alive:
        pids = " ".join(a.split()[1] for a in alive)
        raise ActiveRunError(
            f"{len(alive)} job process(es) of an earlier run are still running in {state.parent}, although that run "
            f"ended: " + "; ".join(alive[:3]) + ("; ..." if len(alive) > 3 else "")
            + f". Wait for them (tail --pid=<pid> -f /dev/null) or stop them (kill {pids}), then run this command "
              f"again; its locks are not stale while they write outputs.")
    locks = sorted((state / "locks").glob("*.lock"))
    for lock in locks:
        lock.unlink(missing_ok=True)
    return locks


#: command-line flags of Snakemake modes that do not execute or plan jobs (a live run does not block them)
NON_EXECUTING_FLAGS = (
    "--list-rules", "-l", "--list-target-rules", "--lt", "--lint", "--dag", "--rulegraph", "--filegraph", "--d3dag",
    "--summary", "-S", "--detailed-summary", "-D", "--report", "--unlock", "--cleanup-metadata", "--cm",
    "--list-changes", "--lc", "--list-untracked", "--lu", "--containerize", "--export-cwl", "--print-compilation",
    "--archive", "--conda-create-envs-only", "--version", "-v", "--help", "-h", "--delete-all-output",
    "--delete-temp-output", "--cleanup-shadow", "--generate-unit-tests", "--nolock", "--touch", "-t",
)


def command_mode(argv: list[str]) -> str:
    """``"dryrun"``, ``"run"`` or ``"other"`` (listing, linting, reports, ``--unlock``, ``--nolock``: see
    :data:`NON_EXECUTING_FLAGS`) for a Snakemake command line."""
    import re

    flags = [a.partition("=")[0] for a in argv]
    if any(f in NON_EXECUTING_FLAGS for f in flags):
        return "other"
    if any(f in ("-n", "--dry-run", "--dryrun", "--just-print") or re.fullmatch(r"-[a-zA-Z]*n[a-zA-Z]*", f)
           for f in flags):
        return "dryrun"
    return "run"


def claim_workdir(argv: list[str], workdir: str | Path = ".",
                  outputs: tuple[str, ...] = ("results", "resources")) -> tuple[list[Path], list[Path], str | None]:
    """What common.smk does in the main process: :func:`release_stale_locks`, then (the folder is this run's alone)
    :func:`attrpriors.io.remove_orphans` under ``outputs``; if a live run or job process holds the folder, nothing is
    touched and, for a command that runs or plans jobs, a message (a dry run too: Snakemake only warns there, and
    would exit 0 with a plan that counts the running jobs as to do). Returns (removed locks, removed orphans,
    message or None)."""
    from .io import remove_orphans

    try:
        locks = release_stale_locks(workdir)
    except ActiveRunError as err:
        return [], [], (str(err) if command_mode(argv) != "other" else None)
    return locks, remove_orphans(*(Path(workdir) / o for o in outputs)), None
