import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.sparsity_prior import summarize_sweep
from attrpriors.workflow import run

run(snakemake, summarize_sweep, metrics=list(snakemake.input), auc_tolerance=snakemake.params.auc_tolerance,
    out_metrics=snakemake.output.metrics, out_failed_csv=snakemake.output.failed_csv,
    out_failed_md=snakemake.output.failed_md, out_best_csv=snakemake.output.best_csv,
    out_best_md=snakemake.output.best_md, out_selection=snakemake.output.selection)
