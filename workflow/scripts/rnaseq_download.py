import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.rnaseq_data import fetch
from attrpriors.workflow import run

run(snakemake, fetch, name=snakemake.params.name, dest=snakemake.output[0])
