import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.cross_paper import cross_paper
from attrpriors.workflow import run

run(snakemake, cross_paper, inputs=dict(snakemake.input.items()), params=snakemake.params.cross_paper,
    seed=snakemake.params.seed, out_metrics=snakemake.output.metrics, out_csv=snakemake.output.csv,
    out_md=snakemake.output.md, out_png=snakemake.output.png, out_randomization_png=snakemake.output.randomization_png,
    workers=snakemake.threads)
