import os
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.rnaseq_data import preprocess
from attrpriors.workflow import run

run(snakemake, preprocess, datadir=os.path.dirname(snakemake.input[0]), params=snakemake.params.preprocess,
    out_npz=snakemake.output.expression, out_report=snakemake.output.report)
