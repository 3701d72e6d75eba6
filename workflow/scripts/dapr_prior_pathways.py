import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dapr import prior_pathways
from attrpriors.workflow import run

run(snakemake, prior_pathways, data=snakemake.input.data, informative_prior=snakemake.input.informative,
    noise_prior=snakemake.input.noise, params=snakemake.params.pathways, dataset=snakemake.wildcards.da_table,
    out_png=snakemake.output.png, out_csv=snakemake.output.csv, out_md=snakemake.output.md,
    out_counts=snakemake.output.counts)
