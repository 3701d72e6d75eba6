import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.sparsity_prior import figure_gini_auc
from attrpriors.workflow import run

run(snakemake, figure_gini_auc, metrics=snakemake.input.metrics, selection=snakemake.input.selection,
    out=snakemake.output[0], dataset=snakemake.wildcards.sp_dataset)
