"""Snakemake hygiene: `snakemake --lint` is clean and `snakefmt --check` passes."""

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_snakemake_lint_is_clean():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Congratulations, your workflow is in a good condition!" in out, out


def test_snakefmt_check():
    exe = shutil.which("snakefmt", path=str(Path(sys.executable).parent)) or "snakefmt"
    proc = subprocess.run([exe, "--check", "Snakefile", "workflow/"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_report_captions_are_clean_rst():
    """Every caption renders without docutils warnings (a bare |x| is a substitution reference, for instance)."""
    import io

    import docutils.core

    for path in sorted((REPO / "workflow" / "report").glob("*.rst")):
        err = io.StringIO()
        docutils.core.publish_parts(path.read_text(), writer="html",
                                    settings_overrides={"warning_stream": err, "report_level": 2})
        assert not err.getvalue(), f"{path.name}: {err.getvalue()}"
