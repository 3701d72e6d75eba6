import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.graph_prior import finetune
from attrpriors.workflow import run

i, o, p = snakemake.input, snakemake.output, snakemake.params
run(snakemake, finetune, variant=snakemake.wildcards.gp_ft, mlp_model=i.mlp, expression=i.expression,
    response=i.response, split=i.split, edges=i.edges, params=p.finetune,
    seed=p.seed, retraining=int(snakemake.wildcards.gp_seed), device=p.device, progress=p.progress,
    out_model=o.model, out_history=o.history, out_metrics=o.metrics)
