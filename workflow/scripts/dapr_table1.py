import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dapr import table1
from attrpriors.workflow import run

run(snakemake, table1, tables=list(snakemake.input), out_metrics=snakemake.output.metrics,
    out_csv=snakemake.output.csv, out_md=snakemake.output.md)
