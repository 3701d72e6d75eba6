"""The library as a package: its public API, typing marker, licence and citation metadata."""

import subprocess
import sys
import tomllib
from pathlib import Path

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
