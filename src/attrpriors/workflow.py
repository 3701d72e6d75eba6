"""Glue between Snakemake's ``script:`` directive and the library: logging to the rule's log file."""

from __future__ import annotations

import contextlib
import logging
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


def run(snakemake: Any, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call ``fn(**kwargs)`` with the rule's log attached (``snakemake.log[0]`` if the rule has one)."""
    log_path = snakemake.log[0] if len(snakemake.log) else None
    with logged(log_path):
        return fn(**kwargs)
