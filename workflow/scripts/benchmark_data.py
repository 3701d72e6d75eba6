import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.benchmark import make_data
from attrpriors.workflow import run

run(snakemake, make_data, dataset=snakemake.wildcards.dataset, params=snakemake.params.data,
    seed=snakemake.params.seed, out=snakemake.output[0])
