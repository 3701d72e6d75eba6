import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.ig_limits import make_tables
from attrpriors.workflow import run

o = snakemake.output
run(snakemake, make_tables, metrics=list(snakemake.input.metrics), steps=list(snakemake.input.steps),
    overlap=list(snakemake.input.overlap), report_k=snakemake.params.report_k, out_fa_csv=o.fa_csv,
    out_fa_md=o.fa_md, out_pg_csv=o.pg_csv, out_pg_md=o.pg_md, out_steps_csv=o.steps_csv, out_steps_md=o.steps_md,
    out_overlap_csv=o.overlap_csv, out_overlap_md=o.overlap_md, out_fa_png=o.fa_png)
