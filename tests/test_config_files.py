"""config.yaml holds every setting; each overlay holds only what differs from it; the workflow resolves an overlay
the way attrpriors.config_check.load_config does (Snakemake's merge, config.yaml's key order)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from attrpriors.config_check import load_config, load_yaml, merge_overlay, order_like, restated_defaults
from conftest import REPO, TINY

# config/config.yaml is the deployment template: it restates the keys users change first, at their defaults, on
# purpose (tests/test_module.py checks that it changes nothing)
OVERLAYS = sorted({*REPO.glob("config/*.yaml"), *REPO.glob("tests/configs/*.yaml")} - {REPO / "config/config.yaml"})
DEFAULTS = load_yaml(REPO / "config.yaml")


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: str(p.relative_to(REPO)))
def test_overlays_hold_only_what_differs(overlay: Path):
    restated = restated_defaults(load_yaml(overlay), DEFAULTS)
    assert not restated, (f"{overlay.relative_to(REPO)} restates config.yaml (delete these lines):\n  "
                          + "\n  ".join(restated))


def test_restated_defaults_names_each_key():
    base = {"seed": 0, "bm": {"n_explain": 100, "data": {"n": 1000, "split": {"test": 0.2}}, "methods": ["a", "b"],
                              "truth": 5000}}
    over = {"seed": 0, "bm": {"n_explain": 100, "data": {"n": 300, "split": {}}, "methods": ["a"], "truth": 5000.0,
                              "max_iter": 10}}
    assert restated_defaults(over, base) == [
        "seed = 0: the default of config.yaml",
        "bm.n_explain = 100: the default of config.yaml",
        "bm.data.split: an empty mapping changes nothing",
    ]  # 5000.0 is not the integer 5000; a shorter list and a key the base lacks are differences


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


def test_config_yaml_says_what_each_block_does():
    """Every top-level block of config.yaml has a comment block above it (what it reproduces, its main knobs)."""
    lines = (REPO / "config.yaml").read_text().splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith((" ", "#")) and isinstance(DEFAULTS.get(line.split(":")[0]), dict):
            above = []
            j = i - 1
            while j >= 0 and lines[j].startswith("#"):
                above.append(lines[j])
                j -= 1
            assert len(above) >= 2, f"config.yaml: the block {line.split(':')[0]!r} has no comment block above it"


def _schema_properties(node, where, definitions, seen=frozenset()):
    """(key path, property schema) of every property the schema defines, through $ref, allOf and maps of names."""
    if not isinstance(node, dict):
        return
    ref = node.get("$ref", "").rpartition("/")[2]
    if ref and ref not in seen:
        yield from _schema_properties(definitions[ref], where, definitions, seen | {ref})
    for sub in node.get("allOf", []) + node.get("anyOf", []) + node.get("oneOf", []):
        yield from _schema_properties(sub, where, definitions, seen)
    for key, sub in (node.get("properties") or {}).items():
        yield f"{where}.{key}" if where else key, sub
        yield from _schema_properties(sub, f"{where}.{key}" if where else key, definitions, seen)
    for key in ("additionalProperties", "items"):
        if isinstance(node.get(key), dict):
            yield from _schema_properties(node[key], f"{where}.<name>" if key == "additionalProperties" else where,
                                          definitions, seen)


def test_schema_describes_every_key():
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    missing = set()
    for path, sub in _schema_properties(schema, "", schema["definitions"]):
        ref = sub.get("$ref", "").rpartition("/")[2] if isinstance(sub, dict) else ""
        described = isinstance(sub, dict) and ("description" in sub or
                                               "description" in schema["definitions"].get(ref, {}))
        if not described and set(sub) - {"const", "exclusiveMaximum", "exclusiveMinimum", "minimum", "maximum"}:
            missing.add(path)  # a bare constraint inside allOf (e.g. {const: linear}) refines a described key
    assert not missing, f"{len(missing)} schema keys lack a description: {sorted(missing)[:20]}"


def _open_mappings(node, where="", partial=False):
    """Key paths of the schema's mappings that accept keys they do not name. ``partial``: a sub-schema of an
    allOf / anyOf / oneOf / if / then / else refines its closed parent and may leave its own keys open."""
    if isinstance(node, list):
        for i, sub in enumerate(node):
            yield from _open_mappings(sub, f"{where}[{i}]", partial)
        return
    if not isinstance(node, dict):
        return
    is_mapping = node.get("type") == "object" or "object" in (node.get("type") or []) or "properties" in node
    extra = node.get("additionalProperties", True)
    if is_mapping and not partial and "$ref" not in node and extra is not False and not isinstance(extra, dict):
        yield where or "<top>"
    for key, sub in node.items():
        if key in ("properties", "definitions"):
            for name, s in (sub or {}).items():
                yield from _open_mappings(s, f"{where}.{name}" if where else name)
        elif key in ("allOf", "anyOf", "oneOf", "if", "then", "else"):
            yield from _open_mappings(sub, f"{where}/{key}", True)
        elif key in ("additionalProperties", "items") and isinstance(sub, (dict, list)):
            yield from _open_mappings(sub, f"{where}.<{key}>", partial)


def test_every_mapping_of_the_schema_is_closed():
    """A typo of a key anywhere in the config is an error (issue 30): every mapping of the schema either lists its
    keys with ``additionalProperties: false`` or is a map of names whose values have a (closed) schema."""
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    open_ = sorted(_open_mappings(schema))
    assert not open_, f"{len(open_)} schema mappings accept unknown keys: {open_}"
    # and the walker sees the nested ones: a planted open mapping is found
    planted = {"properties": {"a": {"type": "object", "properties": {"b": {"type": "object"}},
                                    "additionalProperties": False}}, "additionalProperties": False}
    assert list(_open_mappings(planted)) == ["a.b"]


# arrays that may be empty or hold repeated values, and why (issue 30): any other array of the schema needs
# minItems >= 1 and, when it holds scalars or lists (a grid, a list of names), uniqueItems
MAY_BE_EMPTY = {
    "graph_prior_mlp.grid.hidden.<items>": "[] is the linear candidate of the grid",
    "mlp.hidden": "[] = no hidden layer (a linear model, as ig_limits' LR)",
    "dapr_prior.model.hidden": "[] = a linear prior",
    "dapr.table1.mlp.hidden": "[] = a linear model",
    "graph_prior.gcn.model.hidden": "[] = no dense layer after the graph convolution",
    "cross_paper.sources": "[] = no cross-paper table (documented)",
    "graph_prior.sweep.paper.loadings": "[] = no sweep cell also runs the paper protocol",
    "dna_consistency.model.dropout/oneOf[1]": "its length is checked against the layers (config_check)",
}
MAY_REPEAT = {
    "graph_prior_mlp.grid.hidden.<items>": "units per layer: [64, 64] is two layers of 64",
    "mlp.hidden": "units per layer", "dapr_prior.model.hidden": "units per layer",
    "dapr.table1.mlp.hidden": "units per layer", "graph_prior.gcn.model.hidden": "units per layer",
    "pixel_prior.model.channels": "channels per convolution",
    "dna_consistency.model.filters": "filters per convolution", "dna_consistency.model.kernels": "width per layer",
    "dna_consistency.model.pools": "pool size per layer",
    "dna_consistency.model.dropout/oneOf[1]": "rate per layer",
    "dapr_dataset.simulated.loading_range": "a [low, high] pair: low = high is a constant loading",
    "rnaseq.simulation.loading_range": "a [low, high] pair",
    "graph_prior.sweep.simulation.loading_range": "a [low, high] pair",
    "graph_prior.sweep.loadings.<additionalProperties>.loading_range": "a [low, high] pair",
}
UNBOUNDED_NUMBERS = {
    "dna_consistency.data.download.threshold": "a label threshold on the data's own scale (any real)",
}


def _schema_leaves(node, definitions, where=""):
    """(path, schema) of every array and number schema in the schema tree, paths as in _open_mappings."""
    if isinstance(node, list):
        for i, sub in enumerate(node):
            yield from _schema_leaves(sub, definitions, f"{where}[{i}]")
        return
    if not isinstance(node, dict):
        return
    types = node.get("type") or []
    types = [types] if isinstance(types, str) else types
    if "array" in types or {"number", "integer"} & set(types):
        yield where, node
    for key, sub in node.items():
        if key in ("properties", "definitions"):
            for name, s in (sub or {}).items():
                yield from _schema_leaves(s, definitions, f"{where}.{name}" if where else name)
        elif key in ("allOf", "anyOf", "oneOf"):
            yield from _schema_leaves(sub, definitions, f"{where}/{key}")
        elif key in ("additionalProperties", "items") and isinstance(sub, (dict, list)):
            yield from _schema_leaves(sub, definitions, f"{where}.<{key}>")


def _item_schema(node, definitions):
    items = node.get("items") or {}
    if "$ref" in items:
        items = definitions[items["$ref"].rsplit("/", 1)[-1]]
    types = items.get("type") or []
    return [types] if isinstance(types, str) else types


def test_every_array_and_number_of_the_schema_has_its_range():
    """Issue 30: a list that must not be empty says minItems, a list of grid values or names says uniqueItems
    (a duplicated method or dataset is a second identical job, a duplicated λ a wasted cell), a number has a bound;
    the exceptions are named above with their reason. Non-finite numbers are rejected for every key
    (test_config_errors)."""
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    defs = schema.get("definitions", {})
    no_min, no_unique, unbounded = [], [], []
    for path, node in _schema_leaves(schema, defs):
        types = node.get("type")
        types = [types] if isinstance(types, str) else types
        if "array" in types:
            if node.get("minItems", 0) < 1 and node.get("maxItems") != 0 and path not in MAY_BE_EMPTY:
                no_min.append(path)
            if (set(_item_schema(node, defs)) & {"string", "integer", "number", "array"}
                    and not node.get("uniqueItems") and path not in MAY_REPEAT and node.get("maxItems") != 0):
                no_unique.append(path)
        elif not any(k in node for k in ("minimum", "exclusiveMinimum", "enum", "const")) \
                and path not in UNBOUNDED_NUMBERS:
            unbounded.append(path)
    assert not no_min, f"arrays that may be empty without a reason: {no_min}"
    assert not no_unique, f"arrays that may repeat a value without a reason: {no_unique}"
    assert not unbounded, f"numbers without a lower bound: {unbounded}"
    for table in (MAY_BE_EMPTY, MAY_REPEAT, UNBOUNDED_NUMBERS):  # no stale exception
        known = {p for p, _ in _schema_leaves(schema, defs)}
        assert set(table) <= known, sorted(set(table) - known)
    # and the walker sees nested arrays: a planted list of names without uniqueItems is found
    planted = {"properties": {"a": {"type": "object", "properties": {
        "names": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}}}
    assert [p for p, n in _schema_leaves(planted, {}) if not n.get("uniqueItems")] == ["a.names"]
