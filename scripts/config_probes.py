"""Config-error probes: mistakes a user can make in a config, each run through `snakemake -n`, and the message.

    .venv/bin/python scripts/config_probes.py            # run every probe, rewrite docs/config_errors.md
    .venv/bin/python scripts/config_probes.py --check    # run them and only compare with docs/config_errors.md

Each probe starts from the tiny test config (config.yaml with tests/configs/tiny.yaml merged over it), changes
one thing (or writes raw text for malformed YAML), and dry-runs the workflow on it in a fresh folder. The test
tests/test_config_errors.py checks every probe's message in-process (:func:`probe_in_process`: the same checks
the workflow runs, without a Snakemake start-up each) and runs five of them through `snakemake -n`
(:func:`through_snakemake`), whose output must be that message in Snakemake's frame.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "config_errors.md"
MAX_LINES = 10  # of the whole output of a failed dry run


def base_config() -> dict:
    """config.yaml with the tiny test overlay merged over it (what a tiny run sees)."""
    from attrpriors.config_check import load_config

    return load_config(REPO / "tests" / "configs" / "tiny.yaml")


def setting(dotted: str, value: Any) -> Callable[[dict], None]:
    def change(cfg: dict) -> None:
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return change


def rename(dotted: str, new: str) -> Callable[[dict], None]:
    def change(cfg: dict) -> None:
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        node[new] = node.pop(leaf)
    return change


@dataclass
class Probe:
    kind: str                       # typo | type | range | cross-key | YAML (and command line: stopped by the profile) | data path | valid
    what: str                       # the mistake, in words
    change: Callable[[dict], None] | None = None
    raw: str | bytes | None = None  # the whole config file's text (or bytes) instead (malformed YAML)
    targets: tuple[str, ...] = ()   # arguments after `--configfile probe.yaml` (a target in the wrong place)
    expect: tuple[str, ...] = ()    # fragments the message must contain ("" = the run must pass)
    ok: bool = False                # the config is valid: the dry run must succeed
    changes: list = field(default_factory=list)


PROBES: list[Probe] = [
    Probe("typo", "`benchmark.n_explian: 30` (key misspelt)", rename("benchmark.n_explain", "n_explian"),
          expect=("benchmark.n_explian", "did you mean n_explain?")),
    Probe("typo", "top-level `seeed: 0`", rename("seed", "seeed"), expect=("seeed", "did you mean seed?")),
    Probe("typo", "`pixel_prior.lamdbas` (block name misspelt)", rename("pixel_prior.lambdas", "lamdbas"),
          expect=("pixel_prior.lamdbas", "did you mean lambdas?")),
    Probe("typo", "`benchmark.methods: [..., expected_gradient]` (method name misspelt)",
          setting("benchmark.methods", ["expected_gradient", "gradients"]),
          expect=("benchmark.methods[0]", "did you mean expected_gradients?")),
    Probe("typo", "`ig_limits.source: simulate`", setting("ig_limits.source", "simulate"),
          expect=("ig_limits.source", "did you mean simulated?")),
    Probe("typo", "`sparsity_prior.cohorts.flchain.training: {epocs: 10}` (a nested override misspelt)",
          rename("sparsity_prior.cohorts.flchain.training.epochs", "epocs"),
          expect=("sparsity_prior.cohorts.flchain.training.epocs", "did you mean epochs?")),
    Probe("typo", "`graph_prior.sweep.simulation: {n_pathway: 8}`",
          rename("graph_prior.sweep.simulation.n_pathways", "n_pathway"),
          expect=("graph_prior.sweep.simulation.n_pathway", "did you mean n_pathways?")),
    Probe("typo", "`graph_prior.sweep.loadings.equal: {loading_rnage: …}` (inside a map of names)",
          rename("graph_prior.sweep.loadings.equal.loading_range", "loading_rnage"),
          expect=("graph_prior.sweep.loadings.equal.loading_rnage", "did you mean loading_range?")),
    Probe("type", "`benchmark.n_explain: many`", setting("benchmark.n_explain", "many"),
          expect=("benchmark.n_explain = 'many'", "must be an integer")),
    Probe("type", "`benchmark.training.lr: fast`", setting("benchmark.training.lr", "fast"),
          expect=("benchmark.training.lr = 'fast'", "must be a number")),
    Probe("type", "`pixel_prior.seeds: 2.5`", setting("pixel_prior.seeds", 2.5),
          expect=("pixel_prior.seeds = 2.5", "must be an integer")),
    Probe("type", "`benchmark.datasets: independent_linear60` (a string, not a list)",
          setting("benchmark.datasets", "independent_linear60"), expect=("benchmark.datasets", "must be a list")),
    Probe("type", "`use_gpu: 'yes'` (a string, not a boolean)", setting("use_gpu", "yes"),
          expect=("use_gpu = 'yes'", "true or false")),
    Probe("range", "`benchmark.data.split.test: 1.5`", setting("benchmark.data.split.test", 1.5),
          expect=("benchmark.data.split.test = 1.5", "must be < 1")),
    Probe("range", "`benchmark.training.lr: 0`", setting("benchmark.training.lr", 0),
          expect=("benchmark.training.lr = 0", "must be > 0")),
    Probe("range", "`benchmark.training.epochs: 0`", setting("benchmark.training.epochs", 0),
          expect=("benchmark.training.epochs = 0", "must be >= 1")),
    Probe("range", "`sparsity_prior.penalties.gini.min: 0` on a log grid",
          setting("sparsity_prior.penalties.gini.min", 0), expect=("sparsity_prior.penalties.gini.min = 0", "> 0")),
    Probe("required", "`sparsity_prior.cohorts.mimic: {horizon_days: 365}` (a new cohort without its source)",
          setting("sparsity_prior.cohorts.mimic", {"horizon_days": 365}),
          expect=("sparsity_prior.cohorts.mimic.source: required key is missing",)),
    Probe("cross-key", "`pixel_prior.lambdas: {min: 1.0, max: 0.1}` (reversed λ grid)",
          lambda c: c["pixel_prior"]["lambdas"].update(min=1.0, max=0.1),
          expect=("pixel_prior.lambdas.min = 1.0 > pixel_prior.lambdas.max = 0.1",)),
    Probe("cross-key", "`ig_limits.ig: {start_steps: 512, max_steps: 256}`",
          lambda c: c["ig_limits"]["ig"].update(start_steps=512, max_steps=256),
          expect=("ig_limits.ig.start_steps = 512 > ig_limits.ig.max_steps = 256",)),
    Probe("cross-key", "`dapr.two_moons.split: {train: 0.6, val: 0.5}` (no test data left)",
          setting("dapr.two_moons.split", {"train": 0.6, "val": 0.5}), expect=("dapr.two_moons.split", "no test data")),
    Probe("cross-key", "`dapr.table1.drug_response.split: {val: 0.5, test: 0.5}` (no training data left)",
          setting("dapr.table1.drug_response.split", {"val": 0.5, "test": 0.5}),
          expect=("dapr.table1.drug_response.split", "no training data")),
    Probe("cross-key", "`pixel_prior.data.split: {test: 1000, val: 900}` (counts exceed the 1,797 digits)",
          setting("pixel_prior.data.split", {"test": 1000, "val": 900}),
          expect=("pixel_prior.data.split", "no training images")),
    Probe("cross-key", "`benchmark.n_explain: 1000` (more than the test samples)", setting("benchmark.n_explain", 1000),
          expect=("benchmark.n_explain = 1000", "test samples")),
    Probe("cross-key", "`benchmark.data.n_informative: 100` with 60 features",
          setting("benchmark.data.n_informative", 100), expect=("benchmark.data.n_informative = 100", "n_features")),
    Probe("cross-key", "`dapr.pathways.top_genes: 5000` (more top-K genes than genes)",
          setting("dapr.pathways.top_genes", 5000), expect=("dapr.pathways.top_genes = 5000", "simulated genes")),
    Probe("cross-key", "`sparsity_prior.small_data.top: 5` with 2 restarts",
          lambda c: c["sparsity_prior"]["small_data"].update(top=5, restarts=2),
          expect=("sparsity_prior.small_data.top = 5", "restarts")),
    Probe("cross-key", "`sparsity_prior.small_data.penalties: [gini, l1_al]` (no such grid)",
          setting("sparsity_prior.small_data.penalties", ["gini", "l1_al"]),
          expect=("'l1_al'", "did you mean l1_all?")),
    Probe("cross-key", "`dapr.table1.datasets: [drug_respons]` (no such block)",
          setting("dapr.table1.datasets", ["drug_respons"]), expect=("'drug_respons'", "did you mean drug_response?")),
    Probe("cross-key", "`dna_consistency.selection.method: smoothgrad` not among the computed methods",
          setting("dna_consistency.selection.method", "smoothgrad"),
          expect=("dna_consistency.selection.method = 'smoothgrad'", "attribution.methods")),
    Probe("data path", "`dapr.table1.datasets: [drug_response, amp_ad]`, `amp_ad.local.path` unset",
          setting("dapr.table1.datasets", ["drug_response", "amp_ad"]),
          expect=("dapr.table1.amp_ad.local.path", "is not set")),
    Probe("data path", "`dapr.table1.amp_ad.local.path: /nonexistent/amp_ad`",
          lambda c: (c["dapr"]["table1"].update(datasets=["drug_response", "amp_ad"]),
                     c["dapr"]["table1"]["amp_ad"]["local"].update(path="/nonexistent/amp_ad")),
          expect=("/nonexistent/amp_ad", "does not exist", "dapr.table1.amp_ad.local.path")),
    Probe("YAML", "unclosed bracket: `datasets: [independent_linear60`",
          raw="seed: 0\nbenchmark:\n  datasets: [independent_linear60\n  n_explain: 30\n",
          expect=("Config file probe.yaml, line 4, column 12", "flow sequence that starts at line 3")),
    Probe("YAML", "a tab in the indentation", raw="seed: 0\nbenchmark:\n\tn_explain: 30\n",
          expect=("Config file probe.yaml, line 3, column 1", "tab")),
    Probe("YAML", "a tab after a colon", raw="seed: 0\nbenchmark:\n  n_explain:\t30\n",
          expect=("Config file probe.yaml, line 3, column 13", "tab")),
    Probe("YAML", "unclosed quote: `device: 'cpu`", raw="seed: 0\ndevice: 'cpu\n",
          expect=("Config file probe.yaml, line 3, column 1", "quoted scalar that starts at line 2, column 9")),
    Probe("YAML", "a list at the top level instead of key: value pairs", raw="- seed: 0\n- device: cpu\n",
          expect=("Config file probe.yaml", "key: value pairs")),
    Probe("range", "`benchmark.training.lr: .nan`", setting("benchmark.training.lr", float("nan")),
          expect=("benchmark.training.lr = nan", "finite")),
    Probe("range", "`pixel_prior.lambdas.max: .inf`", setting("pixel_prior.lambdas.max", float("inf")),
          expect=("pixel_prior.lambdas.max = inf", "finite")),
    Probe("range", "`benchmark.methods: [expected_gradients, gradients, gradients]` (a duplicate)",
          setting("benchmark.methods", ["expected_gradients", "gradients", "gradients"]),
          expect=("benchmark.methods", "unique")),
    Probe("cross-key", "`rnaseq.splits: {test: 0.9, val: 0.95}` (0.5 % left for training)",
          lambda c: c["rnaseq"]["splits"].update(test=0.9, val=0.95), expect=("rnaseq.splits", "for training")),
    Probe("cross-key", "`dapr.table1.drug_response.split: {val: 0.4, test: 0.45}` (9 of 60 patients to train)",
          setting("dapr.table1.drug_response.split", {"val": 0.4, "test": 0.45}),
          expect=("dapr.table1.drug_response.split", "training patients")),
    Probe("cross-key", "`benchmark.data.n_informative: 25` (25 groups of 3 > 60 features)",
          setting("benchmark.data.n_informative", 25), expect=("benchmark.data.n_informative = 25", "groups of 3")),
    Probe("cross-key", "`dna_consistency.attribution.n_explain: 100000`",
          setting("dna_consistency.attribution.n_explain", 100000),
          expect=("dna_consistency.attribution.n_explain = 100000", "positive test sequences")),
    Probe("cross-key", "`dapr.two_moons.hidden_fractions: [0.001]` (0 hidden units)",
          setting("dapr.two_moons.hidden_fractions", [0.001]), expect=("hidden_fractions", "0 hidden units")),
    Probe("cross-key", "`graph_prior.retrainings: 1` (a paired test needs 2)", setting("graph_prior.retrainings", 1),
          expect=("graph_prior.retrainings = 1", "at least 2 replicates")),
    Probe("cross-key", "`rnaseq.gene_sets.library: KEGG_2019_Human` (not available offline)",
          setting("rnaseq.gene_sets.library", "KEGG_2019_Human"),
          expect=("rnaseq.gene_sets.library", "not a gene set library bundled")),
    Probe("cross-key", "`dna_consistency.data.simulated.release: JASPAR2099`",
          setting("dna_consistency.data.simulated.release", "JASPAR2099"), expect=("JASPAR2099", "pyjaspar")),
    Probe("cross-key", "`rnaseq.download.counts: beataml_countz` (no such registry entry)",
          setting("rnaseq.download.counts", "beataml_countz"), expect=("beataml_countz", "did you mean beataml_counts?")),
    Probe("cross-key", "`dapr.explain.pdp_feature: hubnes` (no such meta-feature)",
          setting("dapr.explain.pdp_feature", "hubnes"), expect=("pdp_feature", "did you mean hubness?")),
    Probe("YAML", "a key given twice", raw="seed: 0\nbenchmark:\n  n_explain: 30\n  n_explain: 40\n",
          expect=("Config file probe.yaml, line 4, column 3", "a second time (first at line 3)")),
    Probe("YAML", "`ig_limits.models: {}` (an empty mapping changes nothing when merged)",
          raw="ig_limits:\n  models: {}\n", expect=("ig_limits.models: {} changes nothing",)),
    Probe("YAML", "an overlay that is not UTF-8 text", raw=b"seed: 0\ndevice: \xe9cpu\n",
          expect=("probe.yaml is not UTF-8",)),
    Probe("YAML", "an empty overlay", raw="", expect=("probe.yaml is empty",)),
    Probe("YAML", "a target after `--configfile` (`... --configfile probe.yaml results/tables/x.csv`)",
          raw="seed: 0\n", targets=("results/tables/x.csv",), expect=("results/tables/x.csv follows --configfile",
                                                                       "put targets first")),
    Probe("YAML", "`--config seed` (no `=value`)", raw="seed: 0\n", targets=("--config", "seed"),
          expect=("--config 'seed': --config takes key=value pairs",)),
    Probe("YAML", "`--config benchmark.n_explain=3` (a dotted key)", raw="seed: 0\n",
          targets=("--config", "benchmark.n_explain=3"),
          expect=("--config sets top-level keys only", "benchmark:\n  n_explain: 3")),
    Probe("YAML", "`--config 'benchmark={n_explain: 3}'` (Snakemake would read 3 as the text '3')",
          raw="seed: 0\n", targets=("--config", "benchmark={n_explain: 3}"),
          expect=("reads values inside {...} or [...] given with --config as text", "{'n_explain': '3'}")),
    Probe("valid", "the tiny config itself (negative control: must pass)", ok=True),
]


def probe_config_text(probe: Probe) -> str | bytes:
    if probe.raw is not None:
        return probe.raw
    cfg = base_config()
    if probe.change is not None:
        probe.change(cfg)
    return yaml.safe_dump(cfg, sort_keys=False)


def _write(path: Path, content: str | bytes) -> None:
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)


def run_probe(probe: Probe, python: str = sys.executable) -> tuple[int, str]:
    """Dry-run the workflow on the probe's config in a fresh folder; (exit status, output with paths tidied)."""
    with tempfile.TemporaryDirectory(prefix="attrpriors-probe-") as tmp:
        work = Path(tmp)
        cfg = work / "probe.yaml"
        _write(cfg, probe_config_text(probe))
        proc = subprocess.run([python, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
                               "--cores", "1", "-n", "--quiet", "rules", "host", "--configfile", str(cfg),
                               *probe.targets],
                              capture_output=True, text=True, cwd=work, timeout=600)
        text = (proc.stdout + proc.stderr).replace(str(work) + "/", "").replace(str(REPO) + "/", "")
        text = text.replace(str(work), "<workdir>")
        text = "\n".join(line for line in text.splitlines()  # Snakemake's notes on the profile and the merged config
                         if not line.startswith("Using workflow specific profile")
                         and not (line.startswith("Config file ") and "is extended by additional config" in line))
    if proc.returncode == 0:  # a valid config: the job count changes with every new rule, so say only that it passed
        text = "(no error: the dry run passes)"
    return proc.returncode, text.strip()


SNAKEMAKE_FRAME = 2  # lines Snakemake adds around a ConfigError raised in common.smk (WorkflowError in ..., File ...)


def probe_in_process(probe: Probe) -> tuple[int, str]:
    """The message the workflow gives for ``probe``, from the checks it runs, without starting Snakemake:
    malformed YAML from the workflow profile's check (:func:`attrpriors.config_check.yaml_problem`), the rest from
    :func:`attrpriors.config_check.check_config`, which common.smk calls on the config Snakemake loaded (the
    probe file merged over the Snakefile's config.yaml: :func:`attrpriors.config_check.load_config`)."""
    from attrpriors.config_check import ConfigError, check_config, exit_on_malformed_config, load_config

    if "schema" not in _SCHEMA:
        from attrpriors.config_check import load_schema

        _SCHEMA["schema"] = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")
    with tempfile.TemporaryDirectory(prefix="attrpriors-probe-") as tmp:
        cfg = Path(tmp) / "probe.yaml"
        _write(cfg, probe_config_text(probe))
        try:  # what the workflow profile runs before Snakemake parses the config files
            exit_on_malformed_config(["-s", str(REPO / "Snakefile"), "--configfile", str(cfg), *probe.targets])
        except SystemExit as stop:
            return 1, str(stop.code).replace(str(cfg), "probe.yaml")
        try:
            check_config(load_config(cfg), _SCHEMA["schema"])
        except ConfigError as err:
            return 1, str(err)
    return 0, "(no error: the dry run passes)"


_SCHEMA: dict = {}  # loaded once per process
THROUGH_SNAKEMAKE = ("typo", "cross-key", "YAML", "valid")


def through_snakemake() -> list[Probe]:
    """The probes the test also runs through `snakemake -n`: the first schema error (every schema error takes
    the same path, common.smk -> WorkflowError), the first semantic one, the first malformed YAML and the top-level
    list (both stopped by the workflow profile before Snakemake parses the file), and the valid config (the
    profile's check lets it through)."""
    out = [next(p for p in PROBES if p.kind == kind) for kind in THROUGH_SNAKEMAKE]
    return out[:3] + [next(p for p in PROBES if p.kind == "YAML" and "top level" in p.what)] + out[3:]


def message_lines(output: str) -> list[str]:
    """The lines of a failed run's output that carry the message (not the traceback's file/line pointer)."""
    return [line for line in output.splitlines() if line.strip() and not line.lstrip().startswith("File \"")]


def run_all(python: str = sys.executable, workers: int = 2,
            probes: list[Probe] | None = None) -> list[tuple[Probe, int, str]]:
    probes = PROBES if probes is None else probes
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda p: run_probe(p, python), probes))
    return [(p, rc, out) for p, (rc, out) in zip(probes, results)]


# ---------------------------------------------------------------------------------------- generated mutations
# Every leaf of the tiny config, mutated the ways a user's overlay can go wrong (issue 30, a held-out style test:
# nobody wrote these one by one). Each is one overlay merged over the tiny config (as Snakemake merges it), checked
# in-process; it must be rejected with a message naming the key (or its block), or be listed here as harmless.
MUTATION_KINDS = ("type", "range", "typo", "empty", "duplicate")

#: (key path pattern, kind) -> why the mutation is accepted; a pattern's "*" matches one key of a map of names
HARMLESS: dict[tuple[str, str], str] = {
    ("cross_paper.sources", "empty"): "[] = no cross-paper table (documented in the schema)",
    ("graph_prior.sweep.paper.loadings", "empty"): "[] = no sweep cell also runs the paper protocol",
    ("*.hidden", "empty"): "[] = no hidden layer: a linear model",
    ("*.hidden", "duplicate"): "units per layer: a repeated width is one more layer",
    ("*.channels", "duplicate"): "channels per convolution: one more layer",
}


def _leaves(node: Any, where: tuple = ()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, where + (k,))
    else:
        yield where, node


def _overlay(path: tuple, value: Any) -> dict:
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    return out


def _typo(key: str) -> str:
    """A plausible misspelling: the last two letters swapped (or a letter doubled when they are equal)."""
    return key[:-2] + key[-1] + key[-2] if len(key) > 2 and key[-1] != key[-2] else key + key[-1]


def mutations(cfg: dict):
    """(dotted key, kind, overlay) for every leaf of ``cfg``: a value of the wrong type, a value below every
    bound (-1 for numbers), a misspelt key, an empty list, a list with its first item repeated."""
    for path, value in _leaves(cfg):
        dotted = ".".join(map(str, path))
        if isinstance(value, bool):
            yield dotted, "type", _overlay(path, "yes")
        elif isinstance(value, (int, float)):
            yield dotted, "type", _overlay(path, "many")
            yield dotted, "range", _overlay(path, -1)
            name = str(path[-1])
            if isinstance(value, float) and 0 < value < 1 and (name in ("test", "val", "train") or "frac" in name
                                                              or "dropout" in name):  # a fraction: also above 1
                yield dotted, "range", _overlay(path, 1.5)
        elif isinstance(value, str):
            yield dotted, "type", _overlay(path, [value])
        elif isinstance(value, list):
            yield dotted, "type", _overlay(path, {"x": 1})
            if value:
                yield dotted, "empty", _overlay(path, [])
                yield dotted, "duplicate", _overlay(path, value + value[:1])
        if value is not None and isinstance(path[-1], str):
            yield dotted, "typo", _overlay(path[:-1] + (_typo(path[-1]),), value)


def _harmless(dotted: str, kind: str) -> str | None:
    for (pattern, k), why in HARMLESS.items():
        if k == kind and (pattern == dotted or (pattern.startswith("*.") and dotted.endswith(pattern[1:]))):
            return why
    return None


@dataclass
class MutationResult:
    key: str
    kind: str
    outcome: str  # rejected | harmless | ACCEPTED (a failure) | UNNAMED (rejected, the key not named: a failure)
    message: str = ""


def run_mutations(cfg: dict | None = None, keys: set[str] | None = None) -> list[MutationResult]:
    """Check every :func:`mutations` overlay (of ``keys`` only, if given) in-process with the workflow's checks."""
    from attrpriors.config_check import ConfigError, check_config, load_schema, merge_overlay

    base = base_config() if cfg is None else cfg
    schema = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")
    out = []
    for dotted, kind, overlay in mutations(base):
        if keys is not None and dotted not in keys:
            continue
        typo_key = dotted.rsplit(".", 1)[0] + "." + _typo(dotted.rsplit(".", 1)[-1]) if "." in dotted else \
            _typo(dotted)
        try:
            check_config(merge_overlay(base, overlay), schema)
        except ConfigError as err:
            msg = str(err)
            parent = dotted.rsplit(".", 1)[0]
            named = (typo_key if kind == "typo" else dotted) in msg or (kind != "typo" and parent in msg)
            out.append(MutationResult(dotted, kind, "rejected" if named else "UNNAMED", msg))
            continue
        why = _harmless(dotted, kind)
        out.append(MutationResult(dotted, kind, "harmless" if why else "ACCEPTED", why or ""))
    return out


def mutation_summary(results: list[MutationResult]) -> str:
    """Markdown: counts by kind and outcome, then every accepted (harmless) mutation with its reason."""
    kinds = list(MUTATION_KINDS)
    outcomes = ["rejected", "harmless", "ACCEPTED", "UNNAMED"]
    lines = ["| mutation | " + " | ".join(outcomes) + " | all |", "|---|" + "---:|" * (len(outcomes) + 1)]
    for k in kinds:
        row = [sum(r.kind == k and r.outcome == o for r in results) for o in outcomes]
        lines.append(f"| {k} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    tot = [sum(r.outcome == o for r in results) for o in outcomes]
    lines.append("| **all** | " + " | ".join(f"**{t}**" for t in tot) + f" | **{len(results)}** |")
    harmless = sorted({(r.key, r.kind, r.message) for r in results if r.outcome == "harmless"})
    if harmless:
        lines += ["", "Accepted, and why that is right:", ""]
        lines += [f"- `{k}` ({kind}): {why}" for k, kind, why in harmless]
    bad = [r for r in results if r.outcome in ("ACCEPTED", "UNNAMED")]
    if bad:
        lines += ["", "Failures (accepted without a reason, or rejected without naming the key):", ""]
        lines += [f"- `{r.key}` ({r.kind}): {r.outcome} {r.message.splitlines()[-1] if r.message else ''}"
                  for r in bad]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return "<br>".join(line.replace("|", "\\|").replace("`", "'") for line in text.splitlines()) or "(no output)"


def markdown(results: list[tuple[Probe, int, str]], mutations_md: str | None = None) -> str:
    lines = [
        "# What a config mistake looks like",
        "",
        "Every probe below changed one thing in the tiny test config (config.yaml with tests/configs/tiny.yaml",
        "merged over it) and dry-ran the workflow on it (`snakemake -n`); the message is that run's whole output",
        "(paths relative to the repository). Schema checks and the cross-key checks live in one place,",
        "`src/attrpriors/config_check.py`, called once from `workflow/rules/common.smk`. Malformed YAML never reaches",
        "the workflow: Snakemake parses every `--configfile` before it reads the Snakefile, and its own message for",
        "one that does not parse names neither the file nor the line (`Config file is not valid JSON or YAML. In",
        "case of YAML, make sure to not mix whitespace and tab indentation.`); the workflow profile",
        "(`profiles/default/config.yaml`, read by Snakemake with YTE before the configfiles) therefore checks them",
        "first (`attrpriors.config_check.exit_on_malformed_config`) and stops with the file, line and column.",
        "Regenerate this page with `.venv/bin/python scripts/config_probes.py`; `tests/test_config_errors.py`",
        "checks every probe's message in-process (the same checks, without a Snakemake start-up each), runs five",
        "of them through `snakemake -n` (a schema error, a semantic one, two malformed YAML files, the valid",
        "config) to show that Snakemake prints the same, and fails when a message changes without this page.",
        "",
        "| # | kind | mistake | exit | lines | message |",
        "|---|---|---|---|---|---|",
    ]
    for i, (p, rc, out) in enumerate(results, 1):
        lines.append(f"| {i} | {p.kind} | {p.what.replace('|', '/')} | {rc} | {len(out.splitlines())} | {_cell(out)} |")
    if mutations_md is not None:
        lines += ["", MUTATIONS_HEADING, "", *MUTATIONS_INTRO, "", mutations_md]
    return "\n".join(lines) + "\n"


MUTATIONS_HEADING = "## Generated mutations of every key"
MUTATIONS_INTRO = [
    "Beside the hand-written probes above, `scripts/config_probes.py` (`run_mutations`) mutates every leaf of the",
    "tiny config the ways an overlay goes wrong, each as a one-key overlay merged over it as Snakemake merges it:",
    "a value of the wrong type (a number → `many`, a string → a list, a list → a mapping, a boolean → `yes`), a",
    "value below every bound (−1; a fraction also 1.5), the key misspelt (its last two letters swapped), an empty",
    "list, a list with its first item repeated. Each must be rejected with a message naming the key (or, for a",
    "cross-key check, its block), or be listed with its reason in `HARMLESS`. `tests/test_config_errors.py` runs",
    "all of them in-process (about 15 s) and fails on any other outcome and when these counts go stale.",
]


def table_messages(text: str) -> list[str]:
    """The message column of docs/config_errors.md, in probe order."""
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+ \|", line)]
    return [re.split(r"(?<!\\)\|", row)[6].strip() for row in rows]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with docs/config_errors.md, write nothing")
    args = ap.parse_args(argv)
    results = run_all()
    text = markdown(results, mutation_summary(run_mutations()))
    if args.check:
        stale = DOC.read_text() != text
        print("docs/config_errors.md is", "STALE" if stale else "up to date")
        return int(stale)
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(REPO)} ({len(results)} probes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
