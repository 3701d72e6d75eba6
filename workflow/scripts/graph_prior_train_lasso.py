import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.graph_prior import train_lasso
from attrpriors.workflow import run

i, o = snakemake.input, snakemake.output
run(snakemake, train_lasso, expression=i.expression, response=i.response, split=i.split,
    params=snakemake.params.lasso, seed=snakemake.params.seed, retraining=int(snakemake.wildcards.gp_seed),
    out_model=o.model, out_metrics=o.metrics)
