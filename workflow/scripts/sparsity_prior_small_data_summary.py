import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.sparsity_prior import small_data_summary
from attrpriors.workflow import run

run(snakemake, small_data_summary, results=list(snakemake.input), reference=snakemake.params.reference,
    out_metrics=snakemake.output.metrics, out_csv=snakemake.output.csv, out_md=snakemake.output.md,
    out_png=snakemake.output.png, dataset=snakemake.wildcards.sp_dataset)
