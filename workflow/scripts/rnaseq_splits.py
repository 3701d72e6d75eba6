import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.rnaseq_data import make_splits
from attrpriors.workflow import run

run(snakemake, make_splits, expression=snakemake.input[0], params=snakemake.params.splits, seed=snakemake.params.seed,
    outs=list(snakemake.output))
