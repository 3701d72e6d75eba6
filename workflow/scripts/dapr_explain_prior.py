import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dapr import explain_prior
from attrpriors.workflow import run

run(snakemake, explain_prior, data=snakemake.input.data, informative_prior=snakemake.input.informative,
    noise_prior=snakemake.input.noise, params=snakemake.params.explain, seed=snakemake.params.seed,
    dataset=snakemake.wildcards.da_table, out_png=snakemake.output.png,
    out_contributions=snakemake.output.contributions, out_metrics=snakemake.output.metrics)
