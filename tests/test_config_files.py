"""config.yaml holds every setting; each overlay holds only what differs from it; the workflow resolves an overlay
the way attrpriors.config_check.load_config does (Snakemake's merge, config.yaml's key order)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from attrpriors.config_check import load_config, load_yaml, merge_overlay, order_like, restated_defaults
from conftest import REPO, TINY

OVERLAYS = sorted({*REPO.glob("config/*.yaml"), *REPO.glob("tests/configs/*.yaml")})
DEFAULTS = load_yaml(REPO / "config.yaml")


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: str(p.relative_to(REPO)))
def test_overlays_hold_only_what_differs(overlay: Path):
    restated = restated_defaults(load_yaml(overlay), DEFAULTS)
    assert not restated, (f"{overlay.relative_to(REPO)} restates config.yaml (delete these lines):\n  "
                          + "\n  ".join(restated))


def test_restated_defaults_names_each_key():
    over = {"seed": 0, "benchmark": {"n_explain": 100, "data": {"n_samples": 300, "split": {}},
                                     "methods": ["gradients"], "convergence": {"truth": 5000.0}},
            "graph_prior": {"lasso": {"max_iter": 10}}}
    assert restated_defaults(over, DEFAULTS) == [
        "seed = 0: the default of config.yaml",
        "benchmark.n_explain = 100: the default of config.yaml",
        "benchmark.data.split: an empty mapping changes nothing",
    ]  # 5000.0 is not the integer 5000; a shorter list and a key config.yaml lacks are differences


def _snakemake_merge(base: dict, overlay: dict) -> dict:
    """What Snakemake does with `configfile:` and --configfile (snakemake.workflow.Workflow.configfile)."""
    from snakemake.utils import update_config

    config = copy.deepcopy(overlay)
    update_config(config, copy.deepcopy(base))
    update_config(config, copy.deepcopy(overlay))
    return config


@pytest.mark.parametrize("overlay", [*OVERLAYS, {"a": {"b": None}, "c": {"d": 1}, "e": {}, "f": [1]}],
                         ids=lambda o: str(o.relative_to(REPO)) if isinstance(o, Path) else "edge cases")
def test_merge_is_snakemakes_with_config_yaml_key_order(overlay):
    base = DEFAULTS if isinstance(overlay, Path) else {"a": {"b": {"x": 1}}, "c": [1, 2], "e": [3], "f": {"g": 1}}
    over = load_yaml(overlay) if isinstance(overlay, Path) else overlay
    ours, theirs = merge_overlay(base, over), _snakemake_merge(base, over)
    assert ours == theirs
    assert json.dumps(ours) == json.dumps(order_like(theirs, base))  # the same keys in config.yaml's order
    if isinstance(overlay, Path):
        assert json.dumps(load_config(overlay)) == json.dumps(ours)


def test_order_like_restores_the_reference_order_in_place():
    cfg = {"z": 1, "b": {"y": 2, "x": 1}, "a": 0}
    inner = cfg["b"]
    assert order_like(cfg, {"a": 0, "b": {"x": 0, "y": 0}}) is cfg and cfg["b"] is inner
    assert list(cfg) == ["a", "b", "z"] and list(cfg["b"]) == ["x", "y"]


def test_the_workflow_merges_an_overlay_over_its_own_config_yaml(tmp_path: Path):
    """A run folder without config.yaml: the Snakefile's own config.yaml is the base and tiny.yaml, which alone
    lacks most required keys, is merged over it."""
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
                           str(tmp_path), "--configfile", str(TINY), "--cores", "1", "-n"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    out = proc.stdout + proc.stderr
    assert "Config file" in out and "config.yaml is extended by additional config" in out
    assert "breast_cancer/sweep/sgl.csv" in out and "sweep/l1_eg.csv" not in out  # tiny's sweep_penalties

