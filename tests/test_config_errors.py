"""Config mistakes stop the workflow with a short message that names the key, the value and what is allowed.

Runs every probe of scripts/config_probes.py through `snakemake -n` (about 2 CPU-s each) and checks the message,
and that docs/config_errors.md shows each message as it is now. Unit tests of attrpriors.config_check first.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import yaml

from attrpriors.config_check import ConfigError, check_config, load_schema, semantic_problems

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import config_probes  # noqa: E402

SCHEMA = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")


def _overlay(path: Path) -> dict:
    return config_probes._merge(yaml.safe_load((REPO / "config.yaml").read_text()), yaml.safe_load(path.read_text()))


@pytest.mark.parametrize("overlay", [None, "config/paper.yaml", "tests/configs/tiny.yaml"])
def test_shipped_configs_pass(overlay):
    cfg = yaml.safe_load((REPO / "config.yaml").read_text()) if overlay is None else _overlay(REPO / overlay)
    check_config(cfg, SCHEMA)


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


@pytest.fixture(scope="module")
def probe_results():
    return config_probes.run_all()


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
        lines = out.splitlines()
        assert len(lines) <= config_probes.MAX_LINES, f"{probe.what}: {len(lines)} lines\n{out}"
        for fragment in probe.expect:
            assert fragment in out, f"{probe.what}: {fragment!r} not in\n{out}"
        for schema_text in ("additionalProperties", "$schema", "exclusiveMinimum", "properties:"):
            assert schema_text not in out, f"{probe.what}: schema text in the message\n{out}"


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
