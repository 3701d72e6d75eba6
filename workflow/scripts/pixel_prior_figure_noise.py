import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.pixel_prior import figure_noise
from attrpriors.workflow import run

run(snakemake, figure_noise, metrics=snakemake.input.metrics, selection=snakemake.input.selection,
    data=snakemake.input.data, seed=snakemake.params.seed, out=snakemake.output[0])
