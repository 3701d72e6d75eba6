"""Config mistakes stop the workflow with a short message that names the key, the value and what is allowed.

Checks every probe of scripts/config_probes.py in-process (the checks the workflow runs, milliseconds each), runs
five of them through `snakemake -n` (about 2 CPU-s each) to show that Snakemake prints the same message,
and that docs/config_errors.md shows each message as it is now. Unit tests of attrpriors.config_check first.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from attrpriors.config_check import (
    ConfigError,
    check_config,
    config_files_from_argv,
    exit_on_malformed_config,
    load_config,
    load_schema,
    semantic_problems,
    yaml_problem,
)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import config_probes  # noqa: E402

SCHEMA = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")


@pytest.mark.parametrize("overlay", [None, "config/paper.yaml", "tests/configs/tiny.yaml"])
def test_shipped_configs_pass(overlay):
    check_config(load_config(*([REPO / overlay] if overlay else [])), SCHEMA)


@pytest.mark.parametrize("key", ["sweep_penalties", "small_data.penalties"])
def test_penalty_without_grid_is_named(key):
    """Overlays cannot drop config.yaml's grids, but a config used alone (--replace-workflow-config) can."""
    cfg = config_probes.base_config()
    del cfg["sparsity_prior"]["penalties"]["l1_all"]
    node = cfg["sparsity_prior"]
    *parents, leaf = key.split(".")
    for p in parents:
        node = node[p]
    node[leaf] = ["gini", "l1_all", "unregularized"]
    assert semantic_problems(cfg) == [f"sparsity_prior.{key} names 'l1_all', which has no strength grid in "
                                      "sparsity_prior.penalties (known: unregularized, gini, l1_eg, l2_eg, "
                                      "l1_first, sgl, dropout)"]


def test_semantic_checks_find_each_problem_once():
    cfg = config_probes.base_config()
    assert semantic_problems(cfg) == []
    bad = copy.deepcopy(cfg)
    bad["pixel_prior"]["lambdas"].update(min=1.0, max=0.1)
    bad["benchmark"]["data"]["n_informative"] = 61
    problems = semantic_problems(bad)
    assert len(problems) == 2
    assert any("pixel_prior.lambdas.min = 1.0" in p for p in problems)
    with pytest.raises(ConfigError) as err:
        check_config(bad, SCHEMA)
    assert str(err.value).startswith("Inconsistent config (2 problems)")


def test_many_problems_are_capped():
    cfg = config_probes.base_config()
    for i in range(20):
        cfg[f"unknown_{i}"] = i
    with pytest.raises(ConfigError) as err:
        check_config(cfg, SCHEMA)
    lines = str(err.value).splitlines()
    assert len(lines) <= 8 and lines[-1].strip().startswith("... and")


def test_command_line_config_files_are_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["--cores", "2", "--configfile", "a.yaml", "b.yaml", "-n", "--configfiles=c.yaml", "--configf", "d.yaml",
            "--config", "seed=1", "-s", str(REPO / "Snakefile")]
    assert config_files_from_argv(argv) == [
        Path("a.yaml"), Path("b.yaml"), Path("c.yaml"), Path("d.yaml"), REPO / "config.yaml"]
    assert config_files_from_argv(["--cores", "1"]) == []  # no Snakefile here, no config file given
    (tmp_path / "Snakefile").write_text("")
    (tmp_path / "config.yaml").write_text("seed: 0\n")
    assert config_files_from_argv(["--cores", "1"]) == [tmp_path / "config.yaml"]


def test_malformed_yaml_stops_with_file_line_and_column(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("ok.yaml").write_text("seed: 0\n")
    Path("bad.yaml").write_text("seed: 0\nbenchmark:\n  datasets: [a\n  n_explain: 30\n")
    assert yaml_problem("ok.yaml") is None and yaml_problem("missing.yaml") is None
    exit_on_malformed_config(["--configfile", "ok.yaml"])  # returns: Snakemake goes on
    exit_on_malformed_config(["--configfile"])  # a command line it does not understand: left to Snakemake
    with pytest.raises(SystemExit) as stop:
        exit_on_malformed_config(["--cores", "1", "--configfile", "ok.yaml", "bad.yaml"])
    msg = str(stop.value.code)
    assert msg.startswith("Config file bad.yaml, line 4, column 12: not valid YAML")
    assert "     3 |   datasets: [a" in msg and len(msg.splitlines()) <= 6


def test_the_workflow_profile_runs_the_check_before_snakemake_parses_configfiles():
    text = (REPO / "profiles" / "default" / "config.yaml").read_text()
    assert "__use_yte__: true" in text and "exit_on_malformed_config(sys.argv[1:])" in text


@pytest.fixture(scope="module")
def probe_results():
    """Every probe's message, from the checks the workflow runs, in-process (milliseconds each)."""
    return [(p, *config_probes.probe_in_process(p)) for p in config_probes.PROBES]


def test_at_least_twenty_probes_of_every_kind():
    kinds = {p.kind for p in config_probes.PROBES}
    assert {"typo", "type", "range", "cross-key", "YAML", "data path", "valid"} <= kinds
    assert len([p for p in config_probes.PROBES if not p.ok]) >= 20


def test_every_probe_gives_a_short_message_naming_the_problem(probe_results):
    for probe, rc, out in probe_results:
        if probe.ok:
            assert rc == 0, out
            continue
        assert rc != 0, f"{probe.what}: accepted\n{out}"
        frame = 0 if probe.kind == "YAML" else config_probes.SNAKEMAKE_FRAME
        lines = out.splitlines()
        assert len(lines) + frame <= config_probes.MAX_LINES, f"{probe.what}: {len(lines)} + {frame} lines\n{out}"
        for fragment in probe.expect:
            assert fragment in out, f"{probe.what}: {fragment!r} not in\n{out}"
        for schema_text in ("additionalProperties", "$schema", "exclusiveMinimum", "properties:"):
            assert schema_text not in out, f"{probe.what}: schema text in the message\n{out}"


def test_snakemake_prints_the_same_messages(probe_results):
    """Five probes through a real `snakemake -n` (a schema error, a semantic one, two malformed YAML files, the
    valid config): its whole output is the in-process message, framed by at most SNAKEMAKE_FRAME lines of
    Snakemake's."""
    in_process = {id(p): (rc, out) for p, rc, out in probe_results}
    chosen = config_probes.through_snakemake()
    assert [p.kind for p in chosen] == ["typo", "cross-key", "YAML", "YAML", "valid"]
    for probe, rc, out in config_probes.run_all(probes=chosen):
        want_rc, message = in_process[id(probe)]
        assert (rc == 0) == (want_rc == 0), f"{probe.what}: exit {rc}\n{out}"
        if probe.ok:
            continue
        assert message in out, f"{probe.what}: snakemake printed\n{out}\nnot\n{message}"
        extra = len(out.splitlines()) - len(message.splitlines())
        assert extra <= (0 if probe.kind == "YAML" else config_probes.SNAKEMAKE_FRAME), out
        assert len(out.splitlines()) <= config_probes.MAX_LINES, out


def test_docs_table_shows_the_current_messages(probe_results):
    doc = config_probes.DOC.read_text()
    cells = config_probes.table_messages(doc)
    assert len(cells) == len(probe_results), "docs/config_errors.md: rerun scripts/config_probes.py"
    for (probe, _, out), cell in zip(probe_results, cells):
        for line in config_probes.message_lines(out):
            # the lists of allowed keys / values grow with the schema: compare the message up to them
            line = line.split(" (allowed here:")[0].split(": must be one of")[0]
            assert config_probes._cell(line) in cell, (
                f"docs/config_errors.md is stale for {probe.what!r} (rerun scripts/config_probes.py): {line}")


@pytest.fixture(scope="module")
def mutation_results():
    return config_probes.run_mutations()


def test_every_generated_mutation_of_every_key_is_rejected_naming_it_or_documented(mutation_results):
    """Issue 30 must-show 5: a wrong type, an out-of-range value, a misspelt key, an empty or a duplicated list at
    every leaf of the tiny config: rejected with the key in the message, or harmless for a stated reason."""
    bad = [(r.key, r.kind, r.outcome, r.message[-200:]) for r in mutation_results
           if r.outcome not in ("rejected", "harmless")]
    assert not bad, f"{len(bad)} mutations accepted or unnamed: {bad[:10]}"
    kinds = {r.kind for r in mutation_results}
    assert kinds == set(config_probes.MUTATION_KINDS)
    assert len(mutation_results) > 1000  # every leaf, not a sample
    # every HARMLESS entry is still needed (no stale exception hides a future regression)
    used = {(r.key, r.kind) for r in mutation_results if r.outcome == "harmless"}
    for (pattern, kind) in config_probes.HARMLESS:
        assert any(config_probes._harmless(k, kd) and kd == kind and (k == pattern or k.endswith(pattern[1:]))
                   for k, kd in used), f"HARMLESS entry {pattern!r} ({kind}) matches no accepted mutation"


def test_a_mutation_the_checks_miss_is_reported_as_accepted(monkeypatch):
    """Negative control of the generator: with no reason on file, the accepted empty `hidden` list is a failure."""
    monkeypatch.setattr(config_probes, "HARMLESS", {})
    results = config_probes.run_mutations(keys={"benchmark.model.hidden"})
    assert {r.kind: r.outcome for r in results}["empty"] == "ACCEPTED", results


def test_docs_show_the_current_mutation_counts(mutation_results):
    doc = config_probes.DOC.read_text()
    assert config_probes.MUTATIONS_HEADING in doc, "docs/config_errors.md: rerun scripts/config_probes.py"
    assert config_probes.mutation_summary(mutation_results) in doc, (
        "docs/config_errors.md: the mutation counts are stale (rerun scripts/config_probes.py)")


def test_config_arguments_of_the_command_line_are_checked_before_snakemake_parses_them():
    """`--config` entries Snakemake stops on with a traceback (no `=`, a dotted key) or reads wrongly (numbers inside
    {...} become text) get one paragraph from the profile's check; valid entries pass (negative control)."""
    from attrpriors.config_check import config_arg_problem, config_args_from_argv

    argv = ["-n", "--config", "seed=1", "device=cpu", "--cores", "1", "-Cx=2", "--config=y=3", "all"]
    assert config_args_from_argv(argv) == ["seed=1", "device=cpu", "x=2", "y=3"]
    for ok in ("seed=2", "device=cpu", "dapr={table1: {amp_ad: {local: {path: /x}}}}", "device=", "seed='3'"):
        assert config_arg_problem(ok) is None, ok
    assert "key=value pairs" in config_arg_problem("seed")
    assert "is not a config key name" in config_arg_problem("=3")
    assert "ig_limits:\n  training:\n    mlp: {epochs: 3}" in config_arg_problem("ig_limits.training.mlp={epochs: 3}")
    assert config_arg_problem("benchmark={methods: [gradients]}") is None  # text only: read as written
    assert "{'epochs': '3'}, not {'epochs': 3}" in config_arg_problem("training={epochs: 3}")
    assert "['1', '2'], not [1, 2]" in config_arg_problem("seeds=[1, 2]")
