"""End to end: the whole rule graph on the tiny config in a temp dir, and the failure modes of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from attrpriors.config_check import load_config
from conftest import TINY, snakemake

pytestmark = pytest.mark.pipeline


def _tiny_config(tmp_path: Path, **changes) -> Path:
    cfg = load_config(TINY)
    for dotted, value in changes.items():
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))  # key order matters to params comparison
    return path


def test_every_expected_output_exists_and_is_sane(tiny_run: Path):
    cfg = load_config(TINY)["benchmark"]
    for dataset in cfg["datasets"]:
        table = pd.read_csv(tiny_run / f"results/tables/erion_table1_benchmark_{dataset}.csv")
        assert len(table) == 20  # the 18 metrics + the randomization sanity check (rho, survives)
        rnd = table.set_index("metric").loc[["randomization_spearman", "survives_randomization"], cfg["methods"]]
        assert rnd.loc["survives_randomization", "random"] == 1.0  # negative reference: model-independent maps
        assert rnd.loc["survives_randomization", "gradients"] == 0.0  # positive control: gradients change
        assert "FLAGGED" in (tiny_run / f"results/tables/erion_table1_benchmark_{dataset}.md").read_text()
        table = table[~table["metric"].isin(rnd.index)]
        assert set(cfg["methods"]) <= set(table.columns)
        values = table[cfg["methods"]].to_numpy()
        assert np.isfinite(values).all()
        # EG beats random on most rows even at this tiny scale
        assert (table["expected_gradients"] > table["random"]).sum() >= 15
        md = (tiny_run / f"results/tables/erion_table1_benchmark_{dataset}.md").read_text()
        assert "Expected gradients" in md and "**" in md
        png = tiny_run / f"results/figures/erion_table1_benchmark_{dataset}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (tiny_run / f"results/logs/benchmark_train_mlp/{dataset}.log").stat().st_size > 0
        assert (tiny_run / f"results/timings/benchmark_train_mlp/{dataset}.tsv").exists()
        conv = pd.read_csv(tiny_run / f"results/benchmark/metrics/{dataset}_eg_convergence.csv")
        m = conv.groupby("n_references")["mean_abs_diff"].mean()
        assert m.iloc[-1] < m.iloc[0]
    assert (tiny_run / "results/figures/erion_supfig1_eg_convergence.png").stat().st_size > 10_000
    assert (tiny_run / "results/figures/erion_benchmark_randomization.png").stat().st_size > 10_000


def test_second_run_has_nothing_to_do(tiny_run: Path):
    proc = snakemake(tiny_run, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_report_is_built(tiny_run: Path):
    proc = snakemake(tiny_run, "--report", "results/report.html")
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (tiny_run / "results/report.html").read_text(errors="ignore")
    assert "erion_table1_benchmark" in html
    # captions and the category links render cleanly (a colon in a category name makes duplicate rst targets)
    assert "System Message" not in html


# Config mistakes (unknown key, wrong type, unknown method, ...) are the probes of tests/test_config_errors.py (in-process,
# one of each kind through `snakemake -n`); a damaged input file of every kind, named by the job that reads it with
# nothing written, is tests/test_pipeline_resume.py.


def test_missing_input_file_is_named(tmp_path: Path):
    from attrpriors.experiments.benchmark import explain

    with pytest.raises(FileNotFoundError, match="missing.npz"):
        explain(str(tmp_path / "missing.npz"), "m.pt", "gradients", {}, 5, 0, "cpu", "x", str(tmp_path / "o.npz"))
    assert not (tmp_path / "o.npz").exists()


def _planned_rules(proc) -> set[str]:
    """Rule names in the 'Job stats' table of a dry-run."""
    text = proc.stdout + proc.stderr
    assert "Job stats" in text, text[-3000:]
    block = text.split("Job stats:")[1].split("total")[0]
    return {line.split()[0] for line in block.strip().splitlines()[2:] if line.strip()}


def test_changing_one_experiment_reruns_only_that_experiment(tiny_run: Path, tmp_path: Path):
    cfg = _tiny_config(tmp_path, **{"benchmark.n_explain": 25})
    proc = snakemake(tiny_run, "-n", configfile=cfg)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # claims_table reads every experiment's final tables, so it reruns with any of them (a 3 s job)
    assert _planned_rules(proc) == {"benchmark_attributions", "benchmark_metrics", "benchmark_table", "claims_table",
                                    "all"}
