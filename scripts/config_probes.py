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
    kind: str                       # typo | type | range | cross-key | YAML | data path | valid
    what: str                       # the mistake, in words
    change: Callable[[dict], None] | None = None
    raw: str | None = None          # the whole config file's text instead (malformed YAML)
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
    Probe("valid", "the tiny config itself (negative control: must pass)", ok=True),
]


def probe_config_text(probe: Probe) -> str:
    if probe.raw is not None:
        return probe.raw
    cfg = base_config()
    if probe.change is not None:
        probe.change(cfg)
    return yaml.safe_dump(cfg, sort_keys=False)


def run_probe(probe: Probe, python: str = sys.executable) -> tuple[int, str]:
    """Dry-run the workflow on the probe's config in a fresh folder; (exit status, output with paths tidied)."""
    with tempfile.TemporaryDirectory(prefix="attrpriors-probe-") as tmp:
        work = Path(tmp)
        cfg = work / "probe.yaml"
        cfg.write_text(probe_config_text(probe))
        proc = subprocess.run([python, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
                               "--configfile", str(cfg), "--cores", "1", "-n", "--quiet", "rules", "host"],
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
    from attrpriors.config_check import ConfigError, check_config, load_config, yaml_problem

    if "schema" not in _SCHEMA:
        from attrpriors.config_check import load_schema

        _SCHEMA["schema"] = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")
    with tempfile.TemporaryDirectory(prefix="attrpriors-probe-") as tmp:
        cfg = Path(tmp) / "probe.yaml"
        cfg.write_text(probe_config_text(probe))
        problem = yaml_problem(cfg)
        if problem:
            return 1, problem.replace(str(cfg), "probe.yaml")
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


def _cell(text: str) -> str:
    return "<br>".join(line.replace("|", "\\|").replace("`", "'") for line in text.splitlines()) or "(no output)"


def markdown(results: list[tuple[Probe, int, str]]) -> str:
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
    return "\n".join(lines) + "\n"


def table_messages(text: str) -> list[str]:
    """The message column of docs/config_errors.md, in probe order."""
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+ \|", line)]
    return [re.split(r"(?<!\\)\|", row)[6].strip() for row in rows]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with docs/config_errors.md, write nothing")
    args = ap.parse_args(argv)
    results = run_all()
    text = markdown(results)
    if args.check:
        stale = DOC.read_text() != text
        print("docs/config_errors.md is", "STALE" if stale else "up to date")
        return int(stale)
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(REPO)} ({len(results)} probes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
