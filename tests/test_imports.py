"""Imports live where they are used: the plotting module, and the library module behind every figure, table and
data rule's script, import neither torch nor gseapy (each checked in a fresh interpreter's sys.modules)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from attrpriors.workflow import rule_kind
from conftest import REPO

HEAVY = ("torch", "gseapy")


def _heavy_after(statements: list[str]) -> dict[str, list[str]]:
    """For each import statement, run alone in a fresh interpreter: the HEAVY modules it left in sys.modules."""
    code = (
        "import json, subprocess, sys\n"
        f"stmts = {statements!r}\n"
        f"HEAVY = {HEAVY!r}\n"
        "out = {}\n"
        "for s in stmts:\n"
        "    probe = f'import sys; {s}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))'\n"
        "    p = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True)\n"
        "    out[s] = p.stdout.strip().splitlines()[-1] if p.returncode == 0 else 'FAILED ' + p.stderr[-500:]\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _script_imports(kinds: tuple[str, ...]) -> dict[str, str]:
    """``import <module>`` of the library module behind each rule of ``kinds`` -> a rule that uses it."""
    out = {}
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for rule, body in re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", smk.read_text(), flags=re.M | re.S):
            m = re.search(r'script:\s*\n\s*"\.\./scripts/([\w.]+)"', body)
            if not m or rule_kind(rule) not in kinds:
                continue
            script = (REPO / "workflow" / "scripts" / m.group(1)).read_text()
            for module in re.findall(r"^from (attrpriors\.(?!workflow)[\w.]+) import .+$", script, flags=re.M):
                out.setdefault(f"import {module}", rule)  # the module's import is the cost; once per module
    return out


def test_plots_and_figure_table_data_rules_import_neither_torch_nor_gseapy():
    statements = _script_imports(("figure/table", "data"))
    assert len(statements) >= 8, statements
    results = _heavy_after(["import attrpriors.plots", *statements])
    bad = {f"{statements.get(s, 'plots')}: {s}": r for s, r in results.items() if r != "[]"}
    assert not bad, f"these imports pull {HEAVY}: {bad}"


def test_the_check_sees_torch():
    """Negative control: a training rule's module does import torch (the probe is not blind)."""
    results = _heavy_after(["import attrpriors.models"])
    assert results["import attrpriors.models"] == "['torch']"
