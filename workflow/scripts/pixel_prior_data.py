import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.pixel_prior import make_data
from attrpriors.workflow import run

run(snakemake, make_data, source=snakemake.params.source, split=snakemake.params.split, seed=snakemake.params.seed,
    out=snakemake.output[0], mnist_files=list(snakemake.input.mnist))
