import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from attrpriors.models import MLP
from attrpriors.seeds import seed_everything


def _stub_unreachable_scontrol() -> None:
    """Outside the opt-in SLURM tests, put an ``scontrol`` that fails at once first on PATH.

    snakemake-executor-plugin-slurm (2.8.0) runs ``scontrol show config`` when it is imported, i.e. at the start of
    every Snakemake call, whatever the executor. Where a SLURM client is installed but no controller answers (this
    CI machine: ``.ci/run`` installs SLURM for ``tests/test_slurm.py`` and stops it afterwards) that call waits
    ~9 s before it fails, and the suite makes dozens of Snakemake calls. A failing ``scontrol`` is what the plugin
    already handles (it then keeps its default), so only the wait goes. Without a SLURM client nothing changes.
    """
    if os.environ.get("ATTRPRIORS_SLURM") == "1" or shutil.which("scontrol") is None:
        return
    stub_dir = Path(tempfile.mkdtemp(prefix="attrpriors-stub-"))
    atexit.register(shutil.rmtree, stub_dir, True)
    stub = stub_dir / "scontrol"
    stub.write_text("#!/bin/sh\necho 'scontrol stubbed by tests/conftest.py (no SLURM controller in tests)' >&2\n"
                    "exit 1\n")
    stub.chmod(0o755)
    os.environ["PATH"] = f"{stub_dir}{os.pathsep}{os.environ.get('PATH', '')}"


_stub_unreachable_scontrol()


@pytest.fixture
def small_mlp():
    seed_everything(0)
    return MLP(6, hidden=(16, 8), n_outputs=1, activation="softplus").double().eval()


@pytest.fixture
def small_classifier():
    seed_everything(1)
    return MLP(5, hidden=(16,), n_outputs=3, activation="tanh").double().eval()


@pytest.fixture
def data6():
    g = torch.Generator().manual_seed(0)
    return torch.randn(40, 6, generator=g, dtype=torch.float64)


REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "configs" / "tiny.yaml"


def snakemake(workdir: Path, *args: str, configfile: Path = TINY) -> subprocess.CompletedProcess:
    """Run the repository's workflow in ``workdir`` (a fresh folder) with ``configfile``."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(configfile), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, timeout=3600)


def _needs_tiny_run(item) -> bool:
    return "tiny_run" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(session, config, items):
    """The tests that use the tiny run go last: the run starts in the background when the session starts
    (``_tiny_run_in_background``), and the other tests run meanwhile on the cores its jobs leave idle."""
    items[:] = [it for it in items if not _needs_tiny_run(it)] + [it for it in items if _needs_tiny_run(it)]


@pytest.fixture(scope="session", autouse=True)
def _tiny_run_in_background(request, tmp_path_factory):
    """Start the whole rule graph on the tiny config as soon as the session starts, if a selected test needs it."""
    if not any(_needs_tiny_run(it) for it in request.session.items):
        yield None
        return
    work = tmp_path_factory.mktemp("pipeline")
    log = work.parent / f"{work.name}.log"
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
           "--configfile", str(TINY), "--cores", "2"]
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=work)
    try:
        yield work, proc, log
    finally:
        if proc.poll() is None:  # the session ended early (-x, Ctrl-C)
            proc.terminate()
            proc.wait()


@pytest.fixture(scope="session")
def tiny_run(_tiny_run_in_background) -> Path:
    """The whole rule graph on the tiny config, run once per test session; yields the work folder."""
    work, proc, log = _tiny_run_in_background
    returncode = proc.wait(timeout=3600)
    assert returncode == 0, log.read_text()[-8000:]
    return work
