import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.ig_limits import make_simulated_data
from attrpriors.workflow import run

run(snakemake, make_simulated_data, setting=snakemake.wildcards.igl_dataset, params=snakemake.params.simulation,
    split=snakemake.params.split, seed=snakemake.params.seed, out=snakemake.output[0])
