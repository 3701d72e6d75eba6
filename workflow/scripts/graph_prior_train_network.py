import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.graph_prior import train_network
from attrpriors.workflow import run

i, o, p = snakemake.input, snakemake.output, snakemake.params
run(snakemake, train_network, model=snakemake.wildcards.gp_net, expression=i.expression, response=i.response,
    split=i.split, edges=i.edges, lasso_metrics=i.lasso[0] if len(i.lasso) else None, params=p.models, seed=p.seed,
    retraining=int(snakemake.wildcards.gp_seed), device=p.device, progress=p.progress, out_model=o.model,
    out_history=o.history, out_metrics=o.metrics,
    mlp_choice=i.mlp_choice[0] if len(i.mlp_choice) else None)
