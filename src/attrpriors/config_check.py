"""The one place that checks a workflow configuration: schema errors in a few readable lines, then the
semantic (cross-key) checks the schema cannot express.

``workflow/rules/common.smk`` calls :func:`check_config` once when the workflow starts; a bad config stops the
run before any job with a :class:`ConfigError` of at most about ten lines: the key path, the bad value, what is
allowed, and for a mistyped key the closest known one ("did you mean n_explain?"). The schema text is never
printed.

Semantic checks (:data:`SEMANTIC_CHECKS`, each a small function returning messages):

* every ``min``/``max`` pair (λ grids, motif counts, gene-set sizes) and IG ``start_steps``/``max_steps`` in order;
* split fractions that leave training data (fractions of all samples sum to < 1, small counts that round to an
  empty training set);
* counts the data can satisfy (informative features ≤ features, explained samples ≤ test samples, top-K genes ≤
  genes, driving pathways ≤ pathways, small-data subsamples ≤ the bundled table's training rows, …);
* lists that name things that exist (Table 1 datasets with a block, sweep and small-data penalties with a grid,
  the DNA selection method among the computed methods, a training block per IG-limits model) and local data paths.

Also checked by tests/test_config_errors.py, which runs every probe of docs/config_errors.md.

Overlays: ``config.yaml`` holds every setting; an overlay (``config/paper.yaml``, ``tests/configs/tiny.yaml``, a
user's ``--configfile``) holds only what differs. :func:`load_config` resolves one the way the workflow does
(:func:`merge_overlay`, then :func:`order_like`); :func:`restated_defaults` finds overlay keys that change nothing.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import yaml

CONFIG_YAML = Path(__file__).resolve().parents[2] / "config.yaml"  # the repository's defaults (next to Snakefile)
MAX_PROBLEMS = 6  # problems listed in one error; the rest are counted
_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping (key: value block)",
    "array": "a list",
    "null": "null",
}


class ConfigError(ValueError):
    """A configuration the workflow cannot run; the message lists every problem found, one per line."""


# --------------------------------------------------------------------------------------------------------- format
def _path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _short(value: Any, width: int = 60) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else yaml.safe_dump(value, default_flow_style=True,
                                                                                    width=10_000).strip()
    return text if len(text) <= width else text[: width - 3] + "..."


def _listing(names: Iterable[Any], limit: int = 12) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _did_you_mean(word: Any, candidates: Iterable[Any]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


# --------------------------------------------------------------------------------------------------------- schema
def load_schema(path: str | os.PathLike) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def _describe_scalar(schema: Any) -> str | None:
    """A scalar schema in words ("a number > 0 and < 1", "an integer >= 1", "null"); None for anything else."""
    if not isinstance(schema, Mapping) or set(schema) - {"type", "minimum", "maximum", "exclusiveMinimum",
                                                         "exclusiveMaximum", "enum", "description"}:
        return None
    if "enum" in schema:
        return f"one of {_listing(schema['enum'])}"
    types = schema.get("type")
    if not isinstance(types, str):
        return None
    bounds = [f"{op} {schema[k]}" for k, op in (("exclusiveMinimum", ">"), ("minimum", ">="), ("exclusiveMaximum", "<"),
                                                ("maximum", "<=")) if k in schema]
    return _TYPE_NAMES.get(types, types) + (" " + " and ".join(bounds) if bounds else "")


def _schema_messages(error) -> list[str]:
    """One readable line per jsonschema error (never the schema, never a whole block of the config)."""
    kind, where, value, rule = error.validator, list(error.absolute_path), error.instance, error.validator_value
    if kind in ("anyOf", "oneOf") and error.context:
        prefix = f"{_path(where)} = {_short(value)}: must be "
        parts = [_describe_scalar(b) for b in rule] if isinstance(rule, list) else [None]
        if all(parts):  # alternatives for one value (e.g. a fraction < 1 or a whole count): name each
            return [prefix + ", or ".join(dict.fromkeys(parts))]
        # report the alternative that got furthest (deepest path), e.g. the wrong key inside one branch
        from jsonschema.exceptions import best_match

        return _schema_messages(best_match(error.context))
    if kind == "additionalProperties" and isinstance(value, dict):
        known = list(error.schema.get("properties", {}))
        extra = [k for k in value if k not in known]
        return [f"{_path(where + [k])}: unknown key{_did_you_mean(k, known)} (allowed here: {_listing(known)})"
                for k in extra]
    prefix = f"{_path(where)} = {_short(value)}"
    if kind == "type":
        types = [rule] if isinstance(rule, str) else list(rule)
        return [f"{prefix}: must be {' or '.join(_TYPE_NAMES.get(t, t) for t in types)}"]
    if kind == "enum":
        return [f"{prefix}: must be one of {_listing(rule, 20)}{_did_you_mean(value, rule)}"]
    if kind == "const":
        return [f"{prefix}: must be {rule!r}"]
    if kind == "required":
        missing = [k for k in rule if not isinstance(value, dict) or k not in value]
        return [f"{_path(where + [k])}: required key is missing" for k in missing]
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    if kind in bounds:
        return [f"{prefix}: must be {bounds[kind]} {rule}"]
    if kind == "minItems":
        return [f"{prefix}: needs at least {rule} item(s)"]
    if kind == "maxItems":
        return [f"{prefix}: takes at most {rule} item(s)"]
    if kind == "uniqueItems":
        return [f"{prefix}: items must be unique"]
    if kind == "pattern":
        return [f"{prefix}: must match the pattern {rule!r}"]
    message = error.message if len(error.message) <= 120 else error.message[:117] + "..."
    return [f"{_path(where)}: {message}"]


def nonfinite_problems(config: Any, where: tuple = ()) -> list[str]:
    """Every NaN or infinite number of ``config`` (YAML's ``.nan``, ``.inf``): JSON Schema bounds do not catch them
    (NaN compares false with every bound, and ``.inf`` passes every lower one)."""
    if isinstance(config, Mapping):
        return [m for k, v in config.items() for m in nonfinite_problems(v, where + (k,))]
    if isinstance(config, list):
        return [m for i, v in enumerate(config) for m in nonfinite_problems(v, where + (i,))]
    if isinstance(config, float) and not math.isfinite(config):
        return [f"{_path(where)} = {config}: must be a finite number"]
    return []


_VALIDATORS: dict[int, Any] = {}  # one validator per schema object (the probes check thousands of configs)


def schema_problems(config: Mapping, schema: Mapping) -> list[str]:
    """Readable schema violations of ``config``, in config order, without duplicates; non-finite numbers first."""
    from jsonschema import Draft202012Validator

    key = id(schema)
    if key not in _VALIDATORS or _VALIDATORS[key][0] is not schema:
        _VALIDATORS[key] = (schema, Draft202012Validator(schema))
    validator = _VALIDATORS[key][1]
    out: list[str] = nonfinite_problems(config)
    for error in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        for msg in _schema_messages(error):
            if msg not in out:
                out.append(msg)
    # a mistyped required key is one problem, not two: drop "X: required key is missing" when a line says
    # "did you mean X?" for a key of the same block
    meant = set()
    for msg in out:
        head, _, rest = msg.partition(": unknown key; did you mean ")
        if rest:
            meant.add(head.rpartition(".")[0] + "." + rest.split("?")[0] if "." in head else rest.split("?")[0])
    return [m for m in out if not (m.endswith(": required key is missing") and m.split(":")[0] in meant)]


# ------------------------------------------------------------------------------------------------------- overlays
class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping of a YAML file names the same key twice (PyYAML would keep the last silently)."""


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects a key given twice in one mapping, with both lines."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML's own error follows
                break
            if first is not None:
                raise DuplicateKeyError(
                    "while constructing a mapping", node.start_mark,
                    f"found the key {key!r} a second time (first at line {first.line + 1}): one value would be "
                    f"lost silently", key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep)


def safe_load_unique(text: str) -> Any:
    """``yaml.safe_load`` that raises :class:`DuplicateKeyError` on a key given twice in one mapping."""
    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def load_yaml(path: str | os.PathLike) -> Any:
    """One YAML file; an error names the file (also a key given twice)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return safe_load_unique(fh.read())
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: cannot read this config file: not UTF-8 text ({err.reason} at byte "
                          f"{err.start})") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: cannot read this config file: it is a folder, not a file") from None
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read this config file ({err})") from None


def merge_overlay(base: Mapping, overlay: Mapping | None) -> dict:
    """A copy of ``base`` with ``overlay`` merged over it as Snakemake merges ``--configfile`` and ``--config``
    (``snakemake.utils.update_config``): mappings key by key, any other value (a list, a number, null) replaced
    whole. Keys keep ``base``'s order; keys only the overlay has follow in its order."""

    def update(node: Any, over: Mapping) -> Any:
        for key, value in over.items():
            if not isinstance(node, Mapping):  # Snakemake: a non-mapping cannot be updated, it is replaced
                node = {}
            node[key] = update(node.get(key, {}), value) if isinstance(value, Mapping) else copy.deepcopy(value)
        return node

    return update(copy.deepcopy(dict(base)), overlay or {})


def order_like(config: dict, reference: Mapping) -> dict:
    """Put the keys of ``config`` (and of every nested mapping) in ``reference``'s order, in place; keys the
    reference lacks follow in their own order. Snakemake puts the keys of an overlay first; this restores
    config.yaml's order so that job lists and the rows of tables do not depend on how an overlay is written."""
    if not isinstance(config, dict) or not isinstance(reference, Mapping):
        return config
    keys = [k for k in reference if k in config] + [k for k in config if k not in reference]
    items = [(k, config.pop(k)) for k in keys]
    for k, v in items:
        config[k] = order_like(v, reference[k]) if k in reference else v
    return config


def load_config(*overlays: str | os.PathLike | Mapping, base: str | os.PathLike = CONFIG_YAML) -> dict:
    """The configuration a run with ``--configfile overlay ...`` sees: ``base`` (config.yaml) with each overlay (a
    file or a mapping) merged over it in turn, keys in config.yaml's order. For tests and scripts."""
    defaults = load_yaml(base)
    config = copy.deepcopy(defaults)
    for overlay in overlays:
        over = overlay if isinstance(overlay, Mapping) else load_yaml(overlay)
        if over is not None and not isinstance(over, Mapping):
            raise ConfigError(f"{overlay}: an overlay must be a mapping of config keys, got {type(over).__name__}")
        config = merge_overlay(config, over)
    return order_like(config, defaults)


def restated_defaults(overlay: Mapping, base: Mapping) -> list[str]:
    """Key paths of ``overlay`` that change nothing when merged over ``base``: a value equal to the default
    (a list or a non-mapping compared whole, 1 and 1.0 told apart) or an empty mapping."""
    out = []

    def same(a: Any, b: Any) -> bool:
        if type(a) is not type(b):
            return False
        if isinstance(a, list):
            return len(a) == len(b) and all(map(same, a, b))
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        return a == b

    def walk(over: Mapping, ref: Any, where: tuple) -> None:
        for key, value in over.items():
            here = where + (key,)
            has = isinstance(ref, Mapping) and key in ref
            if isinstance(value, Mapping) and has and isinstance(ref[key], Mapping):
                if not value:
                    out.append(f"{_path(here)}: an empty mapping changes nothing")
                walk(value, ref[key], here)
            elif has and same(value, ref[key]):
                out.append(f"{_path(here)} = {_short(value)}: the default of config.yaml")
    walk(overlay, base, ())
    return out


# ------------------------------------------------------------------------------------------------------ semantics
def _get(cfg: Mapping, dotted: str, default: Any = None) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def _walk(node: Any, where: tuple = ()) -> Iterable[tuple[tuple, Mapping]]:
    if isinstance(node, Mapping):
        yield where, node
        for k, v in node.items():
            yield from _walk(v, where + (k,))


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_ranges(cfg: Mapping) -> list[str]:
    """Every ``min``/``max`` pair and every ``min_X``/``max_X`` pair in order; IG ``start_steps <= max_steps``."""
    out = []
    for where, block in _walk(cfg):
        pairs = [("min", "max")] + [(k, "max_" + k[4:]) for k in block if isinstance(k, str) and k.startswith("min_")]
        if where and where[-1] == "ig":
            pairs.append(("start_steps", "max_steps"))
        for lo, hi in pairs:
            if _is_num(block.get(lo)) and _is_num(block.get(hi)) and block[lo] > block[hi]:
                out.append(f"{_path(where + (lo,))} = {block[lo]} > {_path(where + (hi,))} = {block[hi]}: "
                           f"{lo} must be <= {hi} (swap them?)")
    return out


def check_splits(cfg: Mapping) -> list[str]:
    """Split fractions and counts that leave training data."""
    out = []
    tm = _get(cfg, "dapr.two_moons.split")
    if isinstance(tm, Mapping) and _is_num(tm.get("train")) and _is_num(tm.get("val")):
        if tm["train"] + tm["val"] >= 1:
            out.append(f"dapr.two_moons.split: train {tm['train']} + val {tm['val']} >= 1 leaves no test data "
                       f"(fractions of all samples; test gets the rest)")
    for ds, block in (_get(cfg, "dapr.table1", {}) or {}).items():
        split = block.get("split") if isinstance(block, Mapping) else None
        if isinstance(split, Mapping) and _is_num(split.get("val")) and _is_num(split.get("test")):
            if split["val"] + split["test"] >= 1:
                out.append(f"dapr.table1.{ds}.split: val {split['val']} + test {split['test']} >= 1 leaves no "
                           f"training data (fractions of all samples)")
    bench = _get(cfg, "benchmark.data", {}) or {}
    split = bench.get("split") or {}
    if all(_is_num(x) for x in (bench.get("n_samples"), split.get("test"), split.get("val"))):
        n = int(bench["n_samples"])
        n_test = int(round(split["test"] * n))
        n_val = int(round(split["val"] * (n - n_test)))
        if n - n_test - n_val < 1:
            out.append(f"benchmark.data.split: {n} samples leave no training data after {n_test} test and "
                       f"{n_val} validation samples")
    px = _get(cfg, "pixel_prior.data", {}) or {}
    if px.get("source") == "bundled" and isinstance(px.get("split"), Mapping):
        n_all = 1797  # scikit-learn's 8x8 digits
        t, v = px["split"].get("test"), px["split"].get("val")
        if _is_num(t) and _is_num(v):
            n_test = int(t) if t >= 1 else int(round(t * n_all))
            pool = n_all - n_test
            n_val = int(v) if v >= 1 else int(round(v * max(pool, 0)))
            if pool - n_val < 1:
                out.append(f"pixel_prior.data.split: test {t} and val {v} leave no training images of the "
                           f"{n_all} bundled digits (counts >= 1 are numbers of images, fractions < 1 shares)")
    out += _split_train_rows(cfg)
    return out


DNA_CNN_CONVOLUTIONS = 4  # convolutions of attrpriors.models.DNACNN by default (its `filters`; tests check)
MIN_TRAIN_ROWS = 10  # fewest training rows (patients, samples) a split may leave: fewer trains nothing meaningful
MIN_TRAIN_SHARE = 0.1  # of the rows, where the data's size is known only at run time (downloads, local data)


def _group_split_train(n: int, test: float, val_of_rest: float) -> int | None:
    """Training groups that :func:`attrpriors.preprocess.split_by_group` leaves of ``n`` (None: no split at all)."""
    from .preprocess import group_split_sizes

    try:
        n_test, n_val = group_split_sizes(int(n), float(test), float(val_of_rest))
    except ValueError:
        return None
    return int(n) - n_test - n_val


def _sweep_simulation(cfg: Mapping, scenario: str | None = None) -> dict:
    """The simulator settings of a graph-prior sweep cell, as the rule passes them: rnaseq.simulation, then
    graph_prior.sweep.simulation, then the loading scenario's own keys over it."""
    base = dict(_get(cfg, "rnaseq.simulation", {}) or {})
    base.update(_get(cfg, "graph_prior.sweep.simulation", {}) or {})
    if scenario is not None:
        base.update(_get(cfg, f"graph_prior.sweep.loadings.{scenario}", {}) or {})
    return base


def _split_train_rows(cfg: Mapping) -> list[str]:
    """Split fractions against the data size they cut: at least MIN_TRAIN_ROWS training rows where the config
    fixes the size (simulated data), at least MIN_TRAIN_SHARE of the rows for training everywhere."""
    out = []

    def judge(key: str, share: float, rows: int | None, what: str, size: str) -> None:
        if share < MIN_TRAIN_SHARE:
            out.append(f"{key}: leaves {share:.1%} of the {what} for training (at least {MIN_TRAIN_SHARE:.0%} "
                       f"needed); lower the test/val fractions")
        elif rows is not None and rows < MIN_TRAIN_ROWS:
            out.append(f"{key}: leaves {max(rows, 0)} training {what} of the {size} (at least {MIN_TRAIN_ROWS} "
                       f"needed); lower the test/val fractions or simulate more")

    rs = _get(cfg, "rnaseq.splits", {}) or {}
    if _is_num(rs.get("test")) and _is_num(rs.get("val")) and rs["test"] < 1 and rs["val"] < 1:
        n = _get(cfg, "rnaseq.simulation.n_patients") if _get(cfg, "rnaseq.source") == "simulated" else None
        rows = _group_split_train(n, rs["test"], rs["val"]) if _is_num(n) else None
        judge("rnaseq.splits", (1 - rs["test"]) * (1 - rs["val"]), rows if _is_num(n) else None, "patients",
              f"{n} simulated patients (rnaseq.simulation.n_patients)")
    sw = _get(cfg, "graph_prior.sweep", {}) or {}
    sp, npat = sw.get("split") or {}, _sweep_simulation(cfg).get("n_patients")
    if _is_num(sp.get("test")) and _is_num(sp.get("val")) and _is_num(npat) and sp["test"] < 1 and sp["val"] < 1:
        judge("graph_prior.sweep.split", (1 - sp["test"]) * (1 - sp["val"]),
              _group_split_train(npat, sp["test"], sp["val"]), "patients",
              f"{npat} simulated patients of a sweep cell (graph_prior.sweep.simulation.n_patients)")
    ig = _get(cfg, "ig_limits.split", {}) or {}
    if _is_num(ig.get("test")) and _is_num(ig.get("val")) and ig["test"] < 1 and ig["val"] < 1:
        sim = _get(cfg, "ig_limits.simulation", {}) or {}
        rows = None
        if _get(cfg, "ig_limits.source") in ("simulated", "both") and _is_num(sim.get("n_samples_per_class")):
            per = int(sim["n_samples_per_class"])
            rest = per - int(round(ig["test"] * per))
            rows = (rest - int(round(ig["val"] * rest))) * int(sim.get("n_classes") or 1)
            if rest - int(round(ig["val"] * rest)) < 1:
                rows = 0
        judge("ig_limits.split", (1 - ig["test"]) * (1 - ig["val"]), rows, "samples",
              "simulated samples (ig_limits.simulation: n_classes x n_samples_per_class; none in some class)"
              if rows == 0 else "simulated samples (ig_limits.simulation: n_classes x n_samples_per_class)")
    for ds, block in (_get(cfg, "dapr.table1", {}) or {}).items():
        split = block.get("split") if isinstance(block, Mapping) else None
        if not (isinstance(split, Mapping) and _is_num(split.get("val")) and _is_num(split.get("test"))):
            continue
        if split["val"] + split["test"] >= 1:
            continue  # reported by check_splits
        n = _get(block, "simulated.n_patients") if block.get("source") == "simulated" else None
        rows = _group_split_train(n, split["test"], split["val"] / (1 - split["test"])) if _is_num(n) else None
        judge(f"dapr.table1.{ds}.split", 1 - split["val"] - split["test"], rows if _is_num(n) else None,
              "patients", f"{n} simulated patients (dapr.table1.{ds}.simulated.n_patients)")
    tm = _get(cfg, "dapr.two_moons", {}) or {}
    if _is_num(_get(tm, "split.train")) and _is_num(tm.get("n_samples")):
        from .data.two_moons import split_sizes

        try:
            rows = split_sizes(int(tm["n_samples"]), float(tm["split"]["train"]), float(tm["split"]["val"]))["train"]
        except (ValueError, KeyError, TypeError):
            rows = None
        if rows is not None:
            judge("dapr.two_moons.split", 1.0, rows, "samples", f"{tm['n_samples']} samples (dapr.two_moons.n_samples)")
    return out


def check_counts(cfg: Mapping) -> list[str]:
    """Counts the data can satisfy."""
    out = []

    def need(ok: bool, msg: str) -> None:
        if not ok:
            out.append(msg)

    def num(dotted: str) -> Any:
        v = _get(cfg, dotted)
        return v if _is_num(v) else None

    nf, ni = num("benchmark.data.n_features"), num("benchmark.data.n_informative")
    if nf is not None and ni is not None:
        from .data.synthetic_benchmark import make_benchmark_dataset
        import inspect

        group = inspect.signature(make_benchmark_dataset).parameters["group_size"].default
        need(ni * group <= nf, f"benchmark.data.n_informative = {ni}: {ni} informative groups of {group} features "
                               f"need {ni * group} features, more than benchmark.data.n_features = {nf}")
    n, test = num("benchmark.data.n_samples"), num("benchmark.data.split.test")
    if n is not None and test is not None:
        n_test = int(round(test * n))
        for key in ("benchmark.n_explain", "benchmark.convergence.n_explain"):
            v = num(key)
            if v is not None:
                need(v <= n_test, f"{key} = {v}: more samples to explain than the {n_test} test samples "
                                  f"(benchmark.data.n_samples {n} x split.test {test})")
    refs, truth = _get(cfg, "benchmark.convergence.n_references"), num("benchmark.convergence.truth")
    if isinstance(refs, list) and refs and truth is not None and all(_is_num(r) for r in refs):
        need(max(refs) < truth, f"benchmark.convergence.n_references up to {max(refs)}: must stay below "
                                f"benchmark.convergence.truth = {truth} (the reference EG)")

    ng, gpp = num("ig_limits.simulation.n_genes"), num("ig_limits.simulation.genes_per_pathway")
    if ng is not None and gpp is not None:
        need(gpp <= ng, f"ig_limits.simulation.genes_per_pathway = {gpp}: more than n_genes = {ng}")
    topk, report_k = _get(cfg, "ig_limits.evaluation.topk"), num("ig_limits.evaluation.report_k")
    if isinstance(topk, list) and report_k is not None:
        need(report_k in topk, f"ig_limits.evaluation.report_k = {report_k}: not one of ig_limits.evaluation.topk "
                               f"{topk} (the overlap table reads the curve at this k)")
    if ng is not None and report_k is not None and _get(cfg, "ig_limits.source") == "simulated":
        need(report_k <= ng, f"ig_limits.evaluation.report_k = {report_k}: more genes than the {ng} simulated "
                             f"genes (ig_limits.simulation.n_genes)")

    for name, spec in (_get(cfg, "sparsity_prior.cohorts", {}) or {}).items():
        if isinstance(spec, Mapping) and spec.get("source") == "simulated" \
                and _is_num(spec.get("n_informative")) and _is_num(spec.get("n_features")):
            need(spec["n_informative"] <= spec["n_features"],
                 f"sparsity_prior.cohorts.{name}.n_informative = {spec['n_informative']}: more informative features "
                 f"than its n_features = {spec['n_features']}")

    tm = _get(cfg, "dapr.two_moons", {}) or {}
    fracs, nuis = tm.get("hidden_fractions"), tm.get("n_nuisance")
    if isinstance(fracs, list) and isinstance(nuis, list) and fracs and nuis \
            and all(_is_num(x) for x in fracs + nuis):
        p = 2 + min(nuis)  # inputs of the smallest data set: the two moons + its nuisance features
        small = [f for f in fracs if int(p * f) < 1]
        need(not small, f"dapr.two_moons.hidden_fractions {small}: floor({p} inputs x fraction) = 0 hidden units for "
                        f"n_nuisance = {min(nuis)} (the layer would be forced to 1 unit); use fractions >= {1 / p:.3g}")

    # rows an explanation draws from: the test rows of the simulated data
    rs = _get(cfg, "rnaseq.splits", {}) or {}
    n_pat, n_drugs = num("rnaseq.simulation.n_patients"), num("rnaseq.simulation.n_drugs") or 1
    if _get(cfg, "rnaseq.source") == "simulated" and n_pat is not None and all(
            _is_num(rs.get(k)) and rs[k] < 1 for k in ("test", "val")):
        from .preprocess import group_split_sizes

        try:
            n_test = group_split_sizes(int(n_pat), float(rs["test"]), float(rs["val"]))[0] * int(n_drugs)
        except ValueError:
            n_test = None  # no split at all: reported by the split checks
        v = num("graph_prior.explain.n_explain")
        if v is not None and n_test is not None:
            need(v <= n_test, f"graph_prior.explain.n_explain = {v}: more rows than the {n_test} test rows (patient x "
                              f"drug) of the simulated data (rnaseq.simulation.n_patients {n_pat}, n_drugs {n_drugs}, "
                              f"rnaseq.splits.test {rs['test']}); null explains them all")
    dsim = _get(cfg, "dna_consistency.data.simulated", {}) or {}
    dn = num("dna_consistency.attribution.n_explain")
    if dn is not None and _get(cfg, "dna_consistency.data.source") == "simulated" and _is_num(dsim.get("n_sequences")):
        from .data.dna_motifs import split_sizes as dna_split_sizes

        sizes = dna_split_sizes(int(dsim["n_sequences"]),
                                **({"split_fractions": dsim["split_fractions"]} if "split_fractions" in dsim else {}))
        need(dn <= sizes["test_positive"], f"dna_consistency.attribution.n_explain = {dn}: more than the "
                                           f"{sizes['test_positive']} positive test sequences of "
                                           f"dna_consistency.data.simulated.n_sequences = {dsim['n_sequences']}")
    model = _get(cfg, "dna_consistency.model", {}) or {}
    layers = {k: len(model[k]) for k in ("filters", "kernels", "pools") if isinstance(model.get(k), list)}
    need(len(set(layers.values())) <= 1, f"dna_consistency.model: filters, kernels and pools give one value per "
                                         f"convolution and must have the same length (got {layers})")
    n_conv = next(iter(layers.values()), DNA_CNN_CONVOLUTIONS)
    drop = model.get("dropout")
    if isinstance(drop, list):
        need(len(drop) == n_conv + 1, f"dna_consistency.model.dropout: {len(drop)} rate(s) for {n_conv + 1} layers "
                                      f"({n_conv} convolutions + the dense layer); give {n_conv + 1}, or one rate")

    sims = [(b, _get(cfg, b, {}) or {}) for b in ("rnaseq.simulation", "dapr.table1.drug_response.simulated",
                                                   "dapr.table1.drug_response_nonlinear.simulated")]
    keys = ("n_pathways", "n_driving_pathways", "pathways_per_drug")
    scenarios = _get(cfg, "graph_prior.sweep.loadings", {}) or {}
    sims += [(f"graph_prior.sweep.loadings.{sc}" if sc else "graph_prior.sweep.simulation", _sweep_simulation(cfg, sc))
             for sc in [None] + [sc for sc, over in scenarios.items()  # a scenario: only what it overrides
                                 if isinstance(over, Mapping) and set(over) & set(keys)]]
    for block, sim in sims:
        npw, nd, ppd = (sim.get(k) if _is_num(sim.get(k)) else None
                        for k in ("n_pathways", "n_driving_pathways", "pathways_per_drug"))
        if npw is not None and nd is not None and nd > npw:
            out.append(f"{block}.n_driving_pathways = {nd}: more than its n_pathways = {npw}")
        elif nd is not None and ppd is not None and ppd > nd:
            out.append(f"{block}.pathways_per_drug = {ppd}: more than its n_driving_pathways = {nd}")

    dr = _get(cfg, "dapr.table1.drug_response", {}) or {}
    genes = num("dapr.table1.drug_response.simulated.n_genes") if dr.get("source") == "simulated" else None
    if genes is not None:
        for key in ("dapr.explain.top_genes", "dapr.pathways.top_genes"):
            v = num(key)
            if v is not None:
                need(v <= genes, f"{key} = {v}: more top genes than the {genes} simulated genes "
                                 f"(dapr.table1.drug_response.simulated.n_genes)")

    sd = _get(cfg, "sparsity_prior.small_data", {}) or {}
    if _is_num(sd.get("top")) and _is_num(sd.get("restarts")):
        need(sd["top"] <= sd["restarts"], f"sparsity_prior.small_data.top = {sd['top']}: more than the "
                                          f"{sd['restarts']} restarts it averages over")
    split = _get(cfg, "sparsity_prior.split", {}) or {}
    cohorts = _get(cfg, "sparsity_prior.cohorts", {}) or {}
    runs_bc = "breast_cancer" in (_get(cfg, "sparsity_prior.datasets", []) or [])
    if runs_bc and (cohorts.get("breast_cancer") or {}).get("source") == "bundled" and all(
            _is_num(x) for x in (split.get("test"), sd.get("n_train"), sd.get("n_val"))):
        n_rows = 569  # scikit-learn's breast cancer table
        pool = n_rows - int(round(split["test"] * n_rows))
        need(sd["n_train"] + sd["n_val"] <= pool,
             f"sparsity_prior.small_data: n_train {sd['n_train']} + n_val {sd['n_val']} exceed the {pool} "
             f"non-test rows of the bundled breast cancer table ({n_rows} rows, split.test {split['test']})")

    classes = _get(cfg, "pixel_prior.evaluation.example_classes")
    if isinstance(classes, list):
        bad = [c for c in classes if not (isinstance(c, int) and 0 <= c <= 9)]
        need(not bad, f"pixel_prior.evaluation.example_classes: {bad} are not digit classes 0-9")

    k, length = num("dna_consistency.metrics.kmer.k"), num("dna_consistency.data.simulated.seq_length")
    if k is not None and length is not None:
        need(k <= length, f"dna_consistency.metrics.kmer.k = {k}: longer than the sequences "
                          f"(dna_consistency.data.simulated.seq_length = {length})")
    return out


def _local_folder_problems(cfg: Mapping, ds: str) -> list[str]:
    """A local Table 1 folder read and checked before any job runs (files, columns, ids, finite values, shared
    samples and genes), and its split against the samples (donors) it holds."""
    from .data.drug_response import read_local_folder

    block = _get(cfg, f"dapr.table1.{ds}")
    local = block.get("local") or {}
    try:
        frames, problems = read_local_folder(local.get("path"), f"dapr.table1.{ds}.local.path",
                                             local.get("meta_features"))
    except FileNotFoundError:
        return []  # named by check_names
    split, pheno = block.get("split") or {}, frames.get("phenotype")
    if not problems and pheno is not None and _is_num(split.get("val")) and _is_num(split.get("test")) \
            and split["val"] + split["test"] < 1:
        groups = pheno["donor"] if "donor" in pheno.columns else pheno.index
        n = len(set(groups))
        rows = _group_split_train(n, split["test"], split["val"] / (1 - split["test"]))
        if rows is None or rows < MIN_TRAIN_ROWS:
            what = "donors" if "donor" in pheno.columns else "samples"
            problems.append(f"dapr.table1.{ds}.split: leaves {max(rows or 0, 0)} training {what} of the {n} in "
                            f"{frames['root'] / 'phenotype.tsv'} (at least {MIN_TRAIN_ROWS} needed); lower the "
                            f"val/test fractions")
    return problems


def _local_meta_feature_names(path: Any) -> list[str] | None:
    """The meta-feature columns of a local folder's meta_features.tsv (its header only), None if unreadable (the
    folder check names that)."""
    import pandas as pd

    from .data.download import local_path

    try:
        f = local_path(path, "dapr.table1.<dataset>.local.path") / "meta_features.tsv"
        return [str(c) for c in pd.read_csv(f, sep="\t", nrows=0).columns if c != "gene"]
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def check_names(cfg: Mapping) -> list[str]:
    """Lists that must name things that exist elsewhere in the config, and local data paths."""
    out = []
    t1 = _get(cfg, "dapr.table1", {}) or {}
    known_ds = [k for k, v in t1.items() if isinstance(v, Mapping) and "source" in v]
    for ds in t1.get("datasets", []) or []:
        if ds not in known_ds:
            out.append(f"dapr.table1.datasets names {ds!r}, which has no block dapr.table1.{ds}"
                       f"{_did_you_mean(ds, known_ds)} (known: {_listing(known_ds)})")
        elif t1[ds].get("source") == "local":  # the path here; the folder's files in semantic_problems(read_data)
            from .data.download import local_path
            from .data.drug_response import LOCAL_DESCRIPTION

            try:
                local_path((t1[ds].get("local") or {}).get("path"), f"dapr.table1.{ds}.local.path",
                           LOCAL_DESCRIPTION)
            except FileNotFoundError as err:
                out.append(str(err))
    sp = _get(cfg, "sparsity_prior", {}) or {}
    cohorts = list(sp.get("cohorts", {}) or {})
    for d in sp.get("datasets", []) or []:
        if d not in cohorts:
            out.append(f"sparsity_prior.datasets names {d!r}, which has no entry in sparsity_prior.cohorts"
                       f"{_did_you_mean(d, cohorts)} (known: {_listing(cohorts)})")
    grids = list(sp.get("penalties", {}) or {})
    for key in ("sweep_penalties", "small_data.penalties"):
        for p in _get(sp, key, []) or []:
            if p not in grids:
                out.append(f"sparsity_prior.{key} names {p!r}, which has no strength grid in "
                           f"sparsity_prior.penalties{_did_you_mean(p, grids)} (known: {_listing(grids)})")
    sw = _get(cfg, "graph_prior.sweep", {}) or {}
    scenarios = list(sw.get("loadings", {}) or {})
    for sc in _get(sw, "paper.loadings", []) or []:
        if sc not in scenarios:
            out.append(f"graph_prior.sweep.paper.loadings names {sc!r}, which is not a scenario of "
                       f"graph_prior.sweep.loadings{_did_you_mean(sc, scenarios)} (known: {_listing(scenarios)})")
    dna = _get(cfg, "dna_consistency", {}) or {}
    sel, methods = _get(dna, "selection.method"), _get(dna, "attribution.methods")
    if sel is not None and isinstance(methods, list) and sel not in methods:
        out.append(f"dna_consistency.selection.method = {sel!r}: not among dna_consistency.attribution.methods "
                   f"{methods} (add it there, or select one of those)")
    igl = _get(cfg, "ig_limits", {}) or {}
    models, training = igl.get("models"), igl.get("training")
    if isinstance(models, Mapping) and isinstance(training, Mapping):
        for m in models:
            if m not in training:
                out.append(f"ig_limits.models.{m} has no ig_limits.training.{m} block{_did_you_mean(m, training)}")
    bm = _get(cfg, "benchmark", {}) or {}
    opts, methods = bm.get("method_options"), bm.get("methods")
    if isinstance(opts, Mapping) and isinstance(methods, list):
        for m in opts:
            if m not in methods:
                out.append(f"benchmark.method_options.{m}: not a method in benchmark.methods"
                           f"{_did_you_mean(m, methods)} ({_listing(methods)})")
    return out


#: replicate counts that feed a paired test of workflow/claims.yaml (a t-test over pairs needs at least 2)
REPLICATE_KEYS = {
    "pixel_prior.seeds": "the pixel-prior claims pair the chosen lambda with the baseline by seed",
    "dapr.two_moons.n_datasets": "the two-moons claims pair DAPr with the MLP by data set",
    "dapr.table1.n_splits": "the Table 1 claims pair the models by split",
    "graph_prior.retrainings": "the graph-prior claims pair each arm with the MLP by retraining",
    "graph_prior.sweep.retrainings": "each sweep cell's t CI pairs the models by retraining",
    "ig_limits.seeds": "the IG-limits tables compare retrainings",
    "sparsity_prior.small_data.n_subsamples": "the small-data claims pair the penalties by subsample",
}


def check_replicates(cfg: Mapping) -> list[str]:
    """Replicate counts below what the experiment's paired test needs (:data:`REPLICATE_KEYS`)."""
    out = []
    for key, why in REPLICATE_KEYS.items():
        v = _get(cfg, key)
        if _is_num(v) and v < 2:
            out.append(f"{key} = {v}: a paired test needs at least 2 replicates ({why}); with 1 its tables would "
                       f"hold NaN p-values and no verdict")
    return out


def check_available(cfg: Mapping) -> list[str]:
    """Names that must exist offline or in a registry: bundled gene set libraries, JASPAR releases bundled with
    pyjaspar, download registry names, and the meta-feature of the DAPr partial dependence plot."""
    out = []
    from .enrichment import bundled_libraries

    libraries = None
    for key, source_key in (("rnaseq.gene_sets.library", "rnaseq.gene_sets.source"),
                            ("dapr.pathways.gene_sets", "dapr.pathways.gene_set_source")):
        name, source = _get(cfg, key), _get(cfg, source_key, "bundled")
        if isinstance(name, str) and source == "bundled":
            libraries = bundled_libraries() if libraries is None else libraries
            if name not in libraries:
                out.append(f"{key} = {name!r}: not a gene set library bundled with pyenrichr (offline: "
                           f"{_listing(libraries, 8)}){_did_you_mean(name, libraries)}; for another library set "
                           f"{source_key} to the path of its .gmt file")
    release = _get(cfg, "dna_consistency.data.simulated.release")
    if isinstance(release, str) and _get(cfg, "dna_consistency.data.source") == "simulated":
        try:
            import pyjaspar

            releases = sorted(getattr(pyjaspar, "jaspar_releases", {}) or {})
        except ImportError:
            releases = []
        if releases and release not in releases:
            out.append(f"dna_consistency.data.simulated.release = {release!r}: not a JASPAR release bundled with "
                       f"pyjaspar ({_listing(releases)}){_did_you_mean(release, releases)}")
    from .data.download import REGISTRY

    for key in REGISTRY_NAME_KEYS:
        value = _get(cfg, key)
        if isinstance(value, str) and value not in REGISTRY:
            out.append(f"{key} = {value!r}: not a name of the download registry{_did_you_mean(value, REGISTRY)} "
                       f"(attrpriors.data.download.REGISTRY: {_listing(REGISTRY, 6)})")
    feature, t1 = _get(cfg, "dapr.explain.pdp_feature"), _get(cfg, "dapr.table1", {}) or {}
    if isinstance(feature, str):
        from .data.simulate_rnaseq import informative_meta_names

        for ds in t1.get("datasets", []) or []:
            block = t1.get(ds) if isinstance(t1.get(ds), Mapping) else {}
            source = block.get("source")
            names = (informative_meta_names(int(_get(block, "simulated.n_informative_meta", 3)))
                     if source == "simulated" else _get(block, f"{source}.meta_features"))
            if source == "local" and names is None:  # every column of the folder's meta_features.tsv
                names = _local_meta_feature_names(_get(block, "local.path"))
            if isinstance(names, list) and names and feature not in names:
                out.append(f"dapr.explain.pdp_feature = {feature!r}: not a meta-feature of dapr.table1.{ds} "
                           f"({_listing(names)}){_did_you_mean(feature, names)}")
    return out


#: config keys whose value names an entry of attrpriors.data.download.REGISTRY
REGISTRY_NAME_KEYS = (
    "rnaseq.download.counts", "rnaseq.download.drug_response", "rnaseq.download.clinical", "rnaseq.download.network",
    "rnaseq.download.gene_annotation", "rnaseq.download.id_map", "rnaseq.gene_sets.download",
    "ig_limits.tcga.expression", "ig_limits.tcga.annotation", "dna_consistency.data.download.registry",
)


SEMANTIC_CHECKS: tuple[Callable[[Mapping], list[str]], ...] = (check_ranges, check_splits, check_counts,
                                                               check_names, check_replicates, check_available)


def semantic_problems(config: Mapping, read_data: bool = True) -> list[str]:
    """Every cross-key problem of a schema-valid config; with ``read_data``, also every problem of the local data
    folders it names (:func:`attrpriors.data.drug_response.read_local_folder`), read whole."""
    out = [msg for check in SEMANTIC_CHECKS for msg in check(config)]
    if read_data:
        t1 = _get(config, "dapr.table1", {}) or {}
        for ds in t1.get("datasets", []) or []:
            if isinstance(t1.get(ds), Mapping) and t1[ds].get("source") == "local":
                out += _local_folder_problems(config, ds)
    return out


# ----------------------------------------------------------------------------------------------------------- main
def format_problems(problems: list[str], what: str) -> str:
    shown = problems[:MAX_PROBLEMS]
    more = len(problems) - len(shown)
    lines = [f"{what} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
    lines += [f"  - {p}" for p in shown]
    if more:
        lines.append(f"  ... and {more} more")
    return "\n".join(lines)


def check_config(config: Mapping, schema: str | os.PathLike | Mapping, read_data: bool = True) -> None:
    """Raise :class:`ConfigError` listing every schema problem of ``config``, or else every semantic problem.

    ``schema``: the schema (a mapping) or the path of workflow/schemas/config.schema.yaml. ``read_data``: also read
    and check local data folders (the main Snakemake process does; a job's process, which re-reads the Snakefile,
    does not read them again).
    """
    if not isinstance(schema, Mapping):
        schema = load_schema(Path(schema))
    problems = schema_problems(config, schema)
    if problems:
        raise ConfigError(format_problems(problems, "Invalid config (keys checked against "
                                                    "workflow/schemas/config.schema.yaml)"))
    problems = semantic_problems(config, read_data)
    if problems:
        raise ConfigError(format_problems(problems, "Inconsistent config"))


# --- malformed YAML: named before Snakemake parses it --------------------------------------------------------------
# Snakemake reads every --configfile in its command-line parser, before the Snakefile (and so common.smk) runs, and
# for a file that does not parse it prints only "Config file is not valid JSON or YAML", naming neither the file nor
# the line. The workflow profile (profiles/default/config.yaml, which Snakemake reads with YTE before it parses the
# configfiles) calls exit_on_malformed_config(sys.argv[1:]) to stop first with the file, line and column.

SNAKEFILE_NAMES = ("Snakefile", "snakefile", "workflow/Snakefile", "workflow/snakefile")  # Snakemake's search order


def yaml_problem(path: str | os.PathLike) -> str | None:
    """None if ``path`` holds a YAML (or JSON) mapping, else a message of a few lines naming the file, the line and
    the column of the problem, with that line quoted and a caret under the column."""
    path = Path(path)
    if path.is_dir():
        return f"Config file {path} is a folder, not a file: give the path of a .yaml file"
    if not path.exists():
        return None  # Snakemake names a missing file itself ("Config file ... not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        return (f"Config file {path} is not UTF-8 text ({err.reason} at byte {err.start}): save it as UTF-8 "
                f"(a YAML file is text)")
    except OSError as err:
        return f"Config file {path} cannot be read: {err.strerror}"
    if not text.strip():
        return f"Config file {path} is empty: an overlay holds the keys it changes (see config.yaml)"
    try:
        data = safe_load_unique(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        if mark is None:
            return f"Config file {path} is not valid YAML: {problem}"
        line, col = mark.line + 1, mark.column + 1
        head = f"Config file {path}, line {line}, column {col}: not valid YAML: {problem}"
        context = getattr(err, "context", None)
        cmark = getattr(err, "context_mark", None)
        if context and cmark is not None and cmark.line != mark.line:
            head += f"\n  ({context} that starts at line {cmark.line + 1}, column {cmark.column + 1})"
        lines = text.splitlines()
        quoted = "\n".join(f"  {n:>4} | {lines[n - 1].expandtabs(1)}" for n in range(max(1, line - 1), line + 1)
                           if n <= len(lines))
        caret = " " * (9 + col - 1) + "^" if line <= len(lines) else "         (at the end of the file)"
        hint = ""
        if "\t" in problem or (line <= len(lines) and "\t" in lines[line - 1][:col]):
            hint = "\n  YAML allows no tab here: use spaces."
        return f"{head}\n{quoted}\n{caret}{hint}"
    if data is not None and not isinstance(data, dict):
        return (f"Config file {path}: the top level must be key: value pairs (a mapping), not a "
                f"{type(data).__name__}")
    return None


def config_files_from_argv(argv: list[str]) -> list[Path]:
    """The files a Snakemake command line reads as config: each ``--configfile(s)`` argument (also ``=``-joined or
    abbreviated, as argparse allows), then ``config.yaml`` next to the Snakefile (``-s``, or Snakemake's default
    names in the current folder), which this workflow's Snakefile reads with ``configfile:``."""
    files: list[Path] = []
    snakefile = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        opt, eq, value = arg.partition("=")
        if len(opt) >= len("--configf") and "--configfiles".startswith(opt):
            if eq:
                files.append(Path(value))
            else:
                while i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                    i += 1
                    files.append(Path(argv[i]))
        elif opt in ("-s", "--snakefile") or (len(opt) >= len("--snakef") and "--snakefile".startswith(opt)):
            if eq:
                snakefile = value
            elif i + 1 < len(argv):
                i += 1
                snakefile = argv[i]
        i += 1
    if snakefile is None:
        snakefile = next((n for n in SNAKEFILE_NAMES if Path(n).exists()), None)
    if snakefile is not None:
        own = Path(snakefile).resolve().parent
        own = own.parent if own.name == "workflow" else own
        if (own / "config.yaml").exists():
            files.append(own / "config.yaml")
    return files


CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def target_problem(path: Path) -> str | None:
    """A message when an argument read as a config file looks like a target (argparse gives ``--configfile`` every
    argument up to the next option): it has no YAML/JSON suffix and is not a readable mapping."""
    if path.suffix.lower() in CONFIG_SUFFIXES:
        return None
    if path.is_file():
        try:
            if isinstance(safe_load_unique(path.read_text(encoding="utf-8")), dict):
                return None  # a config file without the usual suffix
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            pass
    return (f"{path} follows --configfile, so Snakemake reads it as a config file, but it looks like a target "
            f"(an output to build). --configfile takes every argument up to the next option: put targets first, "
            f"e.g. snakemake {path} --configfile my.yaml --cores all")


def noop_mappings(overlay: Mapping, base: Mapping, where: tuple = ()) -> list[str]:
    """Key paths where ``overlay`` holds an empty mapping over a non-empty mapping of ``base``: merged key by key,
    it changes nothing, although whoever wrote it meant "none" (e.g. ``ig_limits.models: {}``)."""
    out = []
    for key, value in overlay.items():
        ref = base.get(key) if isinstance(base, Mapping) else None
        if isinstance(value, Mapping) and isinstance(ref, Mapping):
            if not value and ref:
                out.append(_path(where + (key,)))
            else:
                out += noop_mappings(value, ref, where + (key,))
    return out


def overlay_problem(path: Path, base: Path) -> str | None:
    """:func:`noop_mappings` of one overlay file over ``base`` (config.yaml), as a message naming the file."""
    if path.resolve() == base.resolve() or not path.is_file() or not base.is_file():
        return None
    over = safe_load_unique(path.read_text(encoding="utf-8"))
    if not isinstance(over, dict):
        return None
    empty = noop_mappings(over, yaml.safe_load(base.read_text(encoding="utf-8")) or {})
    if not empty:
        return None
    return (f"Config file {path}: {', '.join(f'{e}: {{}}' for e in empty[:4])} changes nothing: Snakemake merges "
            f"an overlay's mappings key by key over config.yaml, so an empty mapping keeps every default. Remove it "
            f"and set the keys to change (a list, e.g. a model or method list, is replaced whole).")


def config_args_from_argv(argv: list[str]) -> list[str]:
    """The ``key=value`` entries of ``--config`` / ``-C`` on a Snakemake command line (argparse gives the option
    every argument up to the next option; ``--config=x`` and ``-Cx`` are one entry each)."""
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--config", "-C"):
            while i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                i += 1
                out.append(argv[i])
        elif arg.startswith("--config="):
            out.append(arg.partition("=")[2])
        elif arg.startswith("-C") and not arg.startswith("--"):
            out.append(arg[2:])
        i += 1
    return out


_CONFIG_KEY = re.compile(r"[a-zA-Z_][\w-]*\w$")  # what Snakemake's --config parser accepts as a key


def config_arg_problem(entry: str) -> str | None:
    """A one-paragraph message for a ``--config`` entry Snakemake would stop on with a traceback (no ``=``, a dotted
    or otherwise invalid key) or would read wrongly: values inside ``{…}``/``[…]`` are read as text (Snakemake
    parses them with YAML's BaseLoader), so ``benchmark={n_explain: 3}`` would set ``n_explain`` to ``'3'``."""
    example = "write the keys in a YAML file and pass it with --configfile my.yaml"
    key, eq, value = entry.partition("=")
    if not eq:
        return (f"--config {entry!r}: --config takes key=value pairs (e.g. --config seed=1 device=cpu); for a key "
                f"inside a block, {example}")
    if not _CONFIG_KEY.match(key):
        if "." in key:
            head, *rest = key.split(".")
            nested = "".join(f"\n{'  ' * (j + 1)}{k}:" for j, k in enumerate(rest))
            return (f"--config {entry!r}: --config sets top-level keys only ({key!r} is a dotted path); {example}, "
                    f"holding\n{head}:{nested} {value}")
        return f"--config {entry!r}: {key!r} is not a config key name (letters, digits, '_' and '-')"
    value = value.strip("'\"")
    try:
        typed = yaml.safe_load(value)
        text = yaml.load(value, Loader=yaml.BaseLoader)
    except yaml.YAMLError:
        return None  # Snakemake keeps it as a string; the schema check names the key
    if isinstance(typed, (dict, list)) and typed != text:
        return (f"--config {entry!r}: Snakemake reads values inside {{...}} or [...] given with --config as text "
                f"(here {text!r}, not {typed!r}), so numbers and booleans would be strings; {example}")
    return None


def exit_on_malformed_config(argv: list[str]) -> None:
    """Stop (exit status 1) with one paragraph if a ``--config`` entry is malformed (:func:`config_arg_problem`), a
    config file of this command line is not valid YAML
    (:func:`yaml_problem`: also a key given twice, a folder, non-UTF-8 or empty text), looks like a target
    (:func:`target_problem`), or holds an empty mapping that changes nothing (:func:`overlay_problem`); otherwise
    return, and Snakemake goes on. Never raises anything else: a command line it does not understand is left to
    Snakemake."""
    try:
        files = config_files_from_argv(argv)
        own = files[-1] if files and files[-1].name == "config.yaml" and files[-1].is_absolute() else None
        given = files[:-1] if own is not None else files
        problems = [p for e in config_args_from_argv(argv) for p in [config_arg_problem(e)] if p]
        problems += [p for f in given for p in [target_problem(f)] if p]
        problems += [p for p in map(yaml_problem, files) if p]
        if own is not None and not problems:  # every file parses: look for empty mappings that change nothing
            problems += [p for f in given for p in [overlay_problem(f, own)] if p]
    except Exception:  # noqa: BLE001 - this check must never be what breaks a Snakemake command line
        return
    if problems:
        raise SystemExit(problems[0])
