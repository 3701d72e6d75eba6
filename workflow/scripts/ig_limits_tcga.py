import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.ig_limits import make_tcga_data
from attrpriors.workflow import run

run(snakemake, make_tcga_data, expression=snakemake.input.expression, annotation=snakemake.input.annotation,
    params=snakemake.params.tcga, split=snakemake.params.split, seed=snakemake.params.seed, out=snakemake.output[0])
