import os
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.rnaseq_data import make_dataset
from attrpriors.workflow import run

p = snakemake.params
run(snakemake, make_dataset, source=p.source, inputs=dict(snakemake.input.items()), simulation=p.simulation,
    download=p.download, seed=p.seed, outdir=os.path.dirname(snakemake.output[0]))
