import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dna_consistency import training_curves_figure
from attrpriors.workflow import run

run(snakemake, training_curves_figure, histories=list(snakemake.input), out=snakemake.output[0])
