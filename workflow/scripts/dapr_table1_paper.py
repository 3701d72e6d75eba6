import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dapr import table1_paper
from attrpriors.workflow import run

o = snakemake.output
run(snakemake, table1_paper, tables=list(snakemake.input), out_metrics=o.metrics, out_csv=o.csv, out_md=o.md,
    out_png=o.png)
