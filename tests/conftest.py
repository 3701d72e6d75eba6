import subprocess
import sys
from pathlib import Path

import pytest
import torch

from attrpriors.models import MLP
from attrpriors.seeds import seed_everything


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


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The whole rule graph on the tiny config, run once per test session; yields the work folder."""
    work = tmp_path_factory.mktemp("pipeline")
    proc = snakemake(work)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return work
