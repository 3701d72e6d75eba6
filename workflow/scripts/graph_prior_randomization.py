import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.graph_prior import randomization
from attrpriors.workflow import run

run(snakemake, randomization, model=snakemake.wildcards.gp_model, model_path=snakemake.input.model,
    expression=snakemake.input.expression, response=snakemake.input.response, split=snakemake.input.split,
    params=snakemake.params.randomization, seed=snakemake.params.seed, retraining=0,
    device=snakemake.params.device, out=snakemake.output[0])
