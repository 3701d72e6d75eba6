import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.benchmark import train_model
from attrpriors.workflow import run

run(snakemake, train_model, data=snakemake.input.data, model_spec=snakemake.params.model,
    training=snakemake.params.training, seed=snakemake.params.seed, device=snakemake.params.device,
    dataset=snakemake.wildcards.dataset, out_model=snakemake.output.model, out_history=snakemake.output.history)
