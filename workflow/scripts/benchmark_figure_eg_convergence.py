import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.benchmark import convergence_figure
from attrpriors.workflow import run

run(snakemake, convergence_figure, tables=list(snakemake.input), out=snakemake.output[0])
