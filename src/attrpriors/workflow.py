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
    (``snakemake.log[0]`` if the rule has one)."""
    set_threads(getattr(snakemake, "threads", 1) or 1)
    log_path = snakemake.log[0] if len(snakemake.log) else None
    with logged(log_path):
        return fn(**kwargs)


_RUN_LOCKS: dict[Path, Any] = {}  # open files whose flock marks this process as the active run (freed at exit/kill)


def release_stale_locks(workdir: str | Path = ".") -> list[Path]:
    """Remove Snakemake's locks in ``workdir`` when they are left over from a killed run; return what was removed.

    A run killed with SIGKILL (or a power loss) leaves ``.snakemake/locks/`` behind, and the next run stops with
    "Directory cannot be locked". Snakemake's locks do not say whether their owner is alive, so every run of this
    workflow (called from common.smk in the main process) holds an exclusive ``flock`` on
    ``.snakemake/attrpriors.run.lock`` for its lifetime; the kernel releases it when the process ends, however it
    ends. If this process gets the flock, no other run of this workflow is active in ``workdir`` and any
    Snakemake lock there is stale: it is removed with a warning. If another run holds the flock, nothing is
    touched and Snakemake's own lock check reports the conflict (``snakemake --unlock`` clears a lock by hand).
    The caller reports what was removed.
    """
    import fcntl
    import os

    state = (Path(workdir) / ".snakemake").resolve()
    state.mkdir(parents=True, exist_ok=True)
    if state not in _RUN_LOCKS:
        fh = open(state / "attrpriors.run.lock", "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return []  # another run of this workflow is active here: its locks are not stale
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        _RUN_LOCKS[state] = fh
    locks = sorted((state / "locks").glob("*.lock"))
    for lock in locks:
        lock.unlink(missing_ok=True)
    return locks
