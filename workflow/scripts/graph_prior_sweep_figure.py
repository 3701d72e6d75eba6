import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.graph_prior_sweep import summarize
from attrpriors.workflow import run

o = snakemake.output
run(snakemake, summarize, metrics=list(snakemake.input.metrics), out_metrics=o.metrics, out_table=o.table,
    out_md=o.md, out_png=o.png)
