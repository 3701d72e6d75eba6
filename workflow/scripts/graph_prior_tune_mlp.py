import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.graph_prior import tune_mlp
from attrpriors.workflow import run

i, o, p = snakemake.input, snakemake.output, snakemake.params
run(snakemake, tune_mlp, expression=i.expression, response=i.response, split=i.split, params=p.mlp, seed=p.seed,
    device=p.device, progress=p.progress, out_choice=o.choice, out_grid=o.grid)
