import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.benchmark import make_table
from attrpriors.workflow import run

run(snakemake, make_table, scores=list(snakemake.input.scores), dataset=snakemake.wildcards.dataset,
    out_csv=snakemake.output.csv, out_md=snakemake.output.md, out_png=snakemake.output.png,
    randomization=snakemake.input.randomization, threshold=snakemake.params.threshold)
