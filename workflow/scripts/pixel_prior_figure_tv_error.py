import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.pixel_prior import figure_tv_error
from attrpriors.workflow import run

run(snakemake, figure_tv_error, metrics=snakemake.input.metrics, selection=snakemake.input.selection,
    out=snakemake.output[0])
