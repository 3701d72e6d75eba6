"""The workflow used as a Snakemake module of a host workflow (issue 29): paths from the workflow's own folder, a
module `config:` with only the changed keys merged over the defaults, `prefix:`, and snakedeploy's layout
(workflow/Snakefile, config/config.yaml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import yaml

from attrpriors.config_check import load_yaml

REPO = Path(__file__).resolve().parents[1]


def _host(tmp_path: Path, snakefile: Path, config_text: str, config_expr: str, prefix: str | None) -> Path:
    host = tmp_path / "host"
    (host / "config").mkdir(parents=True)
    (host / "config" / "config.yaml").write_text(config_text)
    prefix_line = f'\n    prefix: "{prefix}"' if prefix else ""
    (host / "Snakefile").write_text(textwrap.dedent(f'''\
        configfile: "config/config.yaml"

        module attrpriors:
            snakefile: "{snakefile}"
            config: {config_expr}''') + prefix_line + textwrap.dedent('''

        use rule * from attrpriors as attrpriors_*
        '''))
    return host


def _snakemake(host: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", *args], capture_output=True, text=True,
                          cwd=host, timeout=600)


def test_a_host_workflow_uses_it_as_a_module_with_two_changed_keys_and_a_prefix(tmp_path):
    """The host's config block holds two keys; the module merges them over its defaults, validates, resolves the
    whole DAG under the prefix, and one real job writes its output there with the changed keys in effect."""
    host = _host(tmp_path, REPO / "Snakefile",
                 "attrpriors:\n  seed: 3\n  benchmark:\n    data: {n_samples: 600}\n",
                 'config["attrpriors"]', "ap")
    dry = _snakemake(host, "-n", "--quiet", "rules")
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out[-3000:]
    assert "attrpriors_benchmark_train_mlp" in out and "attrpriors_all" in out
    target = "ap/results/benchmark/data/independent_linear60.npz"
    run = _snakemake(host, target)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    with np.load(host / target) as d:
        assert sum(len(d[k]) for k in ("y_train", "y_val", "y_test")) == 600  # the module's config took the key
    assert (host / "ap/results/logs/benchmark_data/independent_linear60.log").exists()
    assert not (host / "results").exists()  # nothing outside the prefix
    bad = _host(tmp_path / "bad", REPO / "Snakefile", "attrpriors:\n  benchmark: {n_explian: 3}\n",
                'config["attrpriors"]', None)
    stop = _snakemake(bad, "-n")
    assert stop.returncode != 0 and "benchmark.n_explian: unknown key; did you mean n_explain?" in stop.stdout + stop.stderr


def test_snakedeploys_layout_dry_runs_with_the_template_config(tmp_path):
    """What `snakedeploy deploy-workflow` writes: a host Snakefile reading config/config.yaml (the repository's
    template, copied) and declaring workflow/Snakefile as the module with `config: config`."""
    template = (REPO / "config" / "config.yaml").read_text()
    host = _host(tmp_path, REPO / "workflow" / "Snakefile", template, "config", None)
    dry = _snakemake(host, "-n", "--quiet", "rules")
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-3000:]
    assert "attrpriors_dapr_table1" in dry.stdout + dry.stderr


def test_the_deployment_template_changes_nothing():
    """config/config.yaml restates the keys users change first; each at its default, so a deployment that does not
    edit it runs the default workflow."""
    defaults, template = load_yaml(REPO / "config.yaml"), load_yaml(REPO / "config" / "config.yaml")

    def walk(node, ref, where=""):
        for k, v in node.items():
            assert k in ref, f"{where}{k} is not a key of config.yaml"
            if isinstance(v, dict):
                walk(v, ref[k], f"{where}{k}.")
            else:
                assert v == ref[k], f"{where}{k} = {v!r}, the default is {ref[k]!r}"

    walk(template, defaults)
    assert len(yaml.safe_dump(template).splitlines()) >= 5


def test_catalog_files_are_there():
    catalog = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())
    assert set(catalog["usage"]) >= {"mandatory-flags", "software-stack-deployment", "report"}
    assert "module" in (REPO / "config" / "README.md").read_text()
    assert shutil.which("true")  # (the host tests above need nothing else from the system)
