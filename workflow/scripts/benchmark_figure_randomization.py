import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.benchmark import randomization_figure
from attrpriors.workflow import run

run(snakemake, randomization_figure, tables=list(snakemake.input), threshold=snakemake.params.threshold,
    out=snakemake.output[0])
