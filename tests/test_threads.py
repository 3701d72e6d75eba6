"""Threads: every rule declares ``threads:``, and in a job the library runs torch on exactly that many threads
(attrpriors.workflow.run sets it, also when torch is first imported inside the library function)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conftest import REPO

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
