import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dna_consistency import train_model
from attrpriors.workflow import run

run(snakemake, train_model, data=snakemake.input.data, model=snakemake.wildcards.dnac_model,
    trial=int(snakemake.wildcards.dnac_trial), base_model=snakemake.params.model, training=snakemake.params.training,
    regularizer_params=snakemake.params.regularizer_params, seed=snakemake.params.seed,
    device=snakemake.params.device, threads=snakemake.threads, out_model=snakemake.output.model,
    out_performance=snakemake.output.performance, out_history=snakemake.output.history)
