import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.rnaseq_data import calibration
from attrpriors.workflow import run

p = snakemake.params
run(snakemake, calibration, datasets=p.calibration["datasets"], max_genes=p.calibration.get("max_genes"),
    seed=p.seed, out=snakemake.output[0])
