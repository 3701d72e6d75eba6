import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.pixel_prior import summarize
from attrpriors.workflow import run

run(snakemake, summarize, metrics=list(snakemake.input), max_accuracy_drop=snakemake.params.max_accuracy_drop,
    out_metrics=snakemake.output.metrics, out_csv=snakemake.output.csv, out_md=snakemake.output.md,
    out_selection=snakemake.output.selection)
