"""The execution profiles: the SLURM profile sizes every training and attribution rule, names only real rules,
and a GPU is requested exactly when config says use_gpu (checked on the dry-run's job list, no cluster needed)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from conftest import REPO, snakemake

RULES = REPO / "workflow" / "rules"
SLURM = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())


def _rules() -> dict[str, str]:
    """Rule name -> its body text, from every rule file."""
    out = {}
    for smk in RULES.glob("*.smk"):
        parts = re.split(r"^rule (\w+):\n", smk.read_text(), flags=re.M)
        out.update(dict(zip(parts[1::2], parts[2::2])))
    return out


def test_slurm_profile_sizes_every_training_and_benchmarked_rule():
    rules = _rules()
    heavy = {name for name, body in rules.items() if "train_resources(" in body or "benchmark:" in body}
    assert len(heavy) >= 10, heavy
    sized = SLURM["set-resources"]
    missing = sorted(heavy - set(sized))
    assert not missing, f"profiles/slurm/config.yaml: set-resources has no entry for {missing}"
    for name, res in sized.items():
        assert name in rules, f"profiles/slurm/config.yaml: set-resources names {name!r}, which is not a rule"
        assert {"mem_mb", "runtime", "cpus_per_task"} <= set(res), (name, res)
        assert "gpu" not in res, f"{name}: the GPU request belongs to train_resources() (config use_gpu)"
        assert res["runtime"] > 0 and res["mem_mb"] > 0 and res["cpus_per_task"] >= 1


def _dry_run_resources(tmp_path: Path, use_gpu: bool) -> dict[str, list[str]]:
    tmp_path.mkdir(parents=True)
    proc = snakemake(tmp_path, "-n", "--config", f"use_gpu={use_gpu}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs: dict[str, list[str]] = {}
    rule = None
    for line in proc.stdout.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):", line)
        if m:
            rule = m.group(1)
        elif rule and line.strip().startswith("resources:"):
            jobs.setdefault(rule, []).append(line)
    return jobs


def test_gpu_is_requested_only_with_use_gpu(tmp_path):
    rules = _rules()
    training = {name for name, body in rules.items() if "train_resources(" in body}
    on = _dry_run_resources(tmp_path / "on", True)
    off = _dry_run_resources(tmp_path / "off", False)
    planned = set(on) & training
    assert planned, "the tiny dry-run plans no training job"
    for name in planned:
        assert all("gpu=1" in line for line in on[name]), (name, on[name][:2])
    for name, lines in on.items():  # only training rules take the GPU
        assert name in training or not any("gpu=" in line for line in lines), (name, lines[:2])
    for name, lines in off.items():  # use_gpu: false, no GPU anywhere
        assert not any("gpu=" in line for line in lines), (name, lines[:2])


def test_a_library_that_fails_to_import_is_named_by_the_profile(tmp_path):
    """The workflow profile imports the config pre-check; a library broken by an edit (any error, not only a
    missing package) is reported with its error instead of YTE's "Error processing template"."""
    import os
    import subprocess
    import sys

    fake = tmp_path / "attrpriors"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "config_check.py").write_text("x = undefined_name\n")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile",
                           str(REPO / "tests/configs/tiny.yaml")], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=300)
    out = proc.stdout + proc.stderr
    assert "the config pre-check failed to import (NameError: name 'undefined_name' is not defined)" in out
    assert "Error processing template" not in out
