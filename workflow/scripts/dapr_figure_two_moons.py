import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dapr import two_moons_figure
from attrpriors.workflow import run

run(snakemake, two_moons_figure, tables=list(snakemake.input), out_png=snakemake.output.png,
    out_csv=snakemake.output.csv)
