"""Threads: every rule declares ``threads:``, and in a job the library runs torch on exactly that many threads
(attrpriors.workflow.run sets it, also when torch is first imported inside the library function)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO

RULES = REPO / "workflow" / "rules"


def _rule_bodies() -> dict[str, str]:
    out = {}
    for smk in sorted(RULES.glob("*.smk")):
        parts = re.split(r"^(?:rule|checkpoint) (\w+):\n", smk.read_text(), flags=re.M)
        out.update({f"{smk.name}:{name}": body for name, body in zip(parts[1::2], parts[2::2])})
    return out


def test_every_rule_that_runs_something_declares_threads():
    bodies = _rule_bodies()
    assert len(bodies) > 30, sorted(bodies)
    runs = {name: body for name, body in bodies.items() if re.search(r"^\s+(script|shell|run):", body, re.M)}
    missing = sorted(name for name, body in runs.items() if not re.search(r"^\s+threads:", body, re.M))
    assert not missing, f"rules without `threads:` {missing}"


def test_slurm_profile_gives_each_sized_rule_as_many_threads_as_cpus():
    """torch uses exactly the rule's threads: on the cluster they must match the CPUs the job asks for."""
    import yaml

    slurm = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    threads = slurm.get("set-threads", {})
    for rule, res in slurm["set-resources"].items():
        assert threads.get(rule, 1) == res["cpus_per_task"], (rule, threads.get(rule), res["cpus_per_task"])

JOB = '''
import sys
sys.path.insert(0, {src!r})
from attrpriors.workflow import run


def job(out):
    import torch  # first imported here, after run() has seen the rule's threads

    with open(out, "w") as fh:
        fh.write(f"{{torch.get_num_threads()}} {{snakemake.threads}}")


run(snakemake, job, out=snakemake.output[0])
'''


@pytest.mark.parametrize("threads", [1, 3])
def test_torch_threads_equal_the_rules_threads_in_a_job(tmp_path, threads):
    (tmp_path / "job.py").write_text(JOB.format(src=str(REPO / "src")))
    (tmp_path / "Snakefile").write_text(textwrap.dedent(f"""
        rule threads:
            output: "threads.txt"
            log: "threads.log"
            threads: {threads}
            script: "job.py"
        """))
    # --cores 4: Snakemake would lower the rule's threads to --cores; the job must still see them exactly
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "4", "--quiet", "all"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    torch_threads, rule_threads = (tmp_path / "threads.txt").read_text().split()
    assert int(rule_threads) == threads
    assert int(torch_threads) == threads
