"""The library as a package: its public API, typing marker, licence and citation metadata."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def test_public_api_resolves_lazily_without_importing_torch():
    """``import attrpriors`` imports neither torch nor gseapy (figure jobs stay light); every name of
    ``attrpriors.__all__`` resolves to the object of the submodule that defines it."""
    code = ("import sys; sys.path.insert(0, 'src'); import attrpriors; "
            "assert 'torch' not in sys.modules and 'gseapy' not in sys.modules, 'eager import'; "
            "from attrpriors import expected_gradients, AttributionPrior, fit; "
            "from attrpriors.attributions import expected_gradients as eg; assert eg is expected_gradients; "
            "[getattr(attrpriors, n) for n in attrpriors.__all__]; print(len(attrpriors.__all__))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 30
    import attrpriors

    try:
        attrpriors.no_such_name  # noqa: B018
    except AttributeError as e:
        assert "no_such_name" in str(e)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


def test_version_license_typing_marker_and_citation_agree_with_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    import attrpriors

    assert attrpriors.__version__ == project["version"]
    assert (REPO / "src/attrpriors/py.typed").exists()  # declared as package data
    assert project["license"]["text"] == "MIT" and (REPO / "LICENSE").read_text().startswith("MIT License")
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["version"] == project["version"] and cff["license"] == "MIT"
    assert {"message", "title", "authors"} <= set(cff)
    titles = [r["title"] for r in cff["references"]]
    assert len(titles) == 4  # the four papers whose experiments the pipeline reproduces
    for ref in cff["references"]:
        assert {"type", "title", "authors", "year"} <= set(ref) and ref["authors"], ref["title"]
    papers = " ".join(p.read_text()[:3000].lower() for p in (REPO.parent / "shared" / "papers").glob("*.md")) \
        if (REPO.parent / "shared" / "papers").exists() else ""
    for t in titles if papers else []:
        assert t.lower().split(" for genomics")[0] in papers, t


def _requirements() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + sum(project["optional-dependencies"].values(), [])


def test_pyproject_declares_ranges_that_the_pinned_set_satisfies():
    """The library declares compatible ranges, not pins; the exact versions `make` installs
    (requirements/constraints.txt) lie inside every range."""
    from packaging.requirements import Requirement

    pins = {}
    for line in (REPO / "requirements" / "constraints.txt").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    for text in _requirements():
        req = Requirement(text)
        name = req.name.lower().replace("_", "-")
        assert "==" not in text, f"pyproject pins {text}: declare a range (the pin belongs in the constraints)"
        assert req.specifier, f"{text}: no lower bound"
        assert name in pins, f"{name} is not pinned in requirements/constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {text}"


def _wheel_and_venv(tmp_path: Path, borrow_site_packages: bool) -> tuple[Path, Path]:
    """The library built as a wheel, and a fresh virtual environment (optionally reading the test environment's
    site-packages after its own, through a .pth file, so that nothing big needs installing)."""
    import shutil

    # built from a copy: setuptools writes build/ and *.egg-info next to the sources it builds
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    if borrow_site_packages:
        import site

        own = next((venv / "lib").glob("python*/site-packages"))
        (own / "test-environment.pth").write_text(site.getsitepackages()[0] + "\n")
    return next(wheels.glob("attrpriors-*.whl")), venv / "bin" / "python"


def _pip(py: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(py), "-m", "pip", "--disable-pip-version-check", *args], capture_output=True, text=True,
                          timeout=1800)


def _run_quickstart(py: Path, tmp_path: Path, torch_version: str) -> None:
    """Every python block of docs/library.md, in order, in ``py``, from a folder outside the clone; the library must
    come from the environment (the wheel), torch at ``torch_version``."""
    import re

    blocks = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "library.md").read_text(), flags=re.S)
    script = tmp_path / "quickstart.py"
    script.write_text("import torch, attrpriors\n"
                      f"assert torch.__version__.startswith({torch_version!r}), torch.__version__\n"
                      f"assert attrpriors.__file__.startswith({str(py.parents[1])!r}), attrpriors.__file__\n"
                      + "\n".join(blocks) + "\nprint('quickstart ok')\n")
    run = subprocess.run([str(py), str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert run.returncode == 0 and "quickstart ok" in run.stdout, run.stdout[-2000:] + run.stderr[-3000:]


def test_the_wheel_resolves_beside_another_torch_and_runs_the_quickstart_from_its_install(tmp_path):
    """pip resolves the wheel with torch 2.14.1 (the pipeline pins 2.13.0; with == pins this was
    ResolutionImpossible), and the installed wheel (not the clone) runs every quickstart block."""
    wheel, py = _wheel_and_venv(tmp_path, borrow_site_packages=True)
    resolve = _pip(py, "install", "--quiet", "--dry-run", "torch==2.14.1", str(wheel))
    assert resolve.returncode == 0, resolve.stdout[-2000:] + resolve.stderr[-3000:]
    # the test environment's torch is borrowed (PyPI's other torch releases here are CUDA builds of several GB);
    # the full install beside torch 2.14.1 is the opt-in test below
    assert _pip(py, "install", "--quiet", "--no-deps", str(wheel)).returncode == 0
    import torch

    _run_quickstart(py, tmp_path, torch.__version__.split("+")[0])


@pytest.mark.skipif(os.environ.get("ATTRPRIORS_WHEEL_TEST") != "1",
                    reason="installs torch 2.14.1 with its CUDA libraries (GBs, minutes): opt in with ATTRPRIORS_WHEEL_TEST=1")
def test_the_wheel_installs_beside_torch_2_14_and_runs_the_quickstart(tmp_path):
    wheel, py = _wheel_and_venv(tmp_path, borrow_site_packages=False)
    install = _pip(py, "install", "--quiet", "torch==2.14.1", str(wheel))
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-3000:]
    _run_quickstart(py, tmp_path, "2.14.1")
