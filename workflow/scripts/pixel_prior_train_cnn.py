import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.pixel_prior import train
from attrpriors.workflow import run

run(snakemake, train, data=snakemake.input.data, model_spec=snakemake.params.model,
    training=snakemake.params.training, n_references=snakemake.params.n_references,
    strength=snakemake.params.strength, lambda_index=int(snakemake.wildcards.lam_index),
    seed=snakemake.params.seed, trial=int(snakemake.wildcards.trial), device=snakemake.params.device,
    out_model=snakemake.output.model, out_history=snakemake.output.history)
