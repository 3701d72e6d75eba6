import os
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.rnaseq_data import simulator_vs_real
from attrpriors.workflow import run

i, o = snakemake.input, snakemake.output
run(snakemake, simulator_vs_real, calibration=i.calibration, sim_dir=os.path.dirname(i.data),
    expression=i.expression, out_png=o.png, out_csv=o.csv, out_md=o.md, seed=snakemake.params.seed)
