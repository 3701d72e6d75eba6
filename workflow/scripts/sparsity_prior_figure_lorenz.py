import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.sparsity_prior import figure_lorenz
from attrpriors.workflow import run

run(snakemake, figure_lorenz, phibar=list(snakemake.input.phibar), selection=snakemake.input.selection,
    out=snakemake.output[0], dataset=snakemake.wildcards.sp_dataset)
