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
import os
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


def _schema_messages(error) -> list[str]:
    """One readable line per jsonschema error (never the schema, never a whole block of the config)."""
    kind, where, value, rule = error.validator, list(error.absolute_path), error.instance, error.validator_value
    if kind in ("anyOf", "oneOf") and error.context:
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


def schema_problems(config: Mapping, schema: Mapping) -> list[str]:
    """Readable schema violations of ``config``, in config order, without duplicates."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    out: list[str] = []
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
def load_yaml(path: str | os.PathLike) -> Any:
    """One YAML file; an error names the file."""
    try:
        with open(path) as fh:
            return yaml.safe_load(fh)
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
        need(ni <= nf, f"benchmark.data.n_informative = {ni}: more informative features than "
                       f"benchmark.data.n_features = {nf}")
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

    for block in ("rnaseq.simulation", "dapr.table1.drug_response.simulated"):
        npw, nd, ppd = (num(f"{block}.{k}") for k in ("n_pathways", "n_driving_pathways", "pathways_per_drug"))
        if npw is not None and nd is not None:
            need(nd <= npw, f"{block}.n_driving_pathways = {nd}: more than {block}.n_pathways = {npw}")
        if nd is not None and ppd is not None:
            need(ppd <= nd, f"{block}.pathways_per_drug = {ppd}: more than {block}.n_driving_pathways = {nd}")

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


def check_names(cfg: Mapping) -> list[str]:
    """Lists that must name things that exist elsewhere in the config, and local data paths."""
    out = []
    t1 = _get(cfg, "dapr.table1", {}) or {}
    known_ds = [k for k, v in t1.items() if isinstance(v, Mapping) and "source" in v]
    for ds in t1.get("datasets", []) or []:
        if ds not in known_ds:
            out.append(f"dapr.table1.datasets names {ds!r}, which has no block dapr.table1.{ds}"
                       f"{_did_you_mean(ds, known_ds)} (known: {_listing(known_ds)})")
        elif t1[ds].get("source") == "local":
            from .data.download import local_path

            try:
                local_path((t1[ds].get("local") or {}).get("path"), f"dapr.table1.{ds}.local.path",
                           "this controlled-access data set")
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


SEMANTIC_CHECKS: tuple[Callable[[Mapping], list[str]], ...] = (check_ranges, check_splits, check_counts,
                                                               check_names)


def semantic_problems(config: Mapping) -> list[str]:
    """Every cross-key problem of a schema-valid config."""
    return [msg for check in SEMANTIC_CHECKS for msg in check(config)]


# ----------------------------------------------------------------------------------------------------------- main
def format_problems(problems: list[str], what: str) -> str:
    shown = problems[:MAX_PROBLEMS]
    more = len(problems) - len(shown)
    lines = [f"{what} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
    lines += [f"  - {p}" for p in shown]
    if more:
        lines.append(f"  ... and {more} more")
    return "\n".join(lines)


def check_config(config: Mapping, schema: str | os.PathLike | Mapping) -> None:
    """Raise :class:`ConfigError` listing every schema problem of ``config``, or else every semantic problem.

    ``schema``: the schema (a mapping) or the path of workflow/schemas/config.schema.yaml.
    """
    if not isinstance(schema, Mapping):
        schema = load_schema(Path(schema))
    problems = schema_problems(config, schema)
    if problems:
        raise ConfigError(format_problems(problems, "Invalid config (keys checked against "
                                                    "workflow/schemas/config.schema.yaml)"))
    problems = semantic_problems(config)
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
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # missing or unreadable: Snakemake names the file itself ("Config file ... not found")
    try:
        data = yaml.safe_load(text)
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


def exit_on_malformed_config(argv: list[str]) -> None:
    """Stop (exit status 1) with :func:`yaml_problem`'s message if a config file of this command line is not valid
    YAML; otherwise return, and Snakemake goes on. Never raises anything else: a command line it does not
    understand is left to Snakemake."""
    try:
        problems = [p for p in map(yaml_problem, config_files_from_argv(argv)) if p]
    except Exception:  # noqa: BLE001 - this check must never be what breaks a Snakemake command line
        return
    if problems:
        raise SystemExit(problems[0])
