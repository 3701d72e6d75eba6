import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.rnaseq_data import pasilla_combat
from attrpriors.workflow import run

run(snakemake, pasilla_combat, params=snakemake.params.pasilla, out_png=snakemake.output.png,
    out_table=snakemake.output.table)
