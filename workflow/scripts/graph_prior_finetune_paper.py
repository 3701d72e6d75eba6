import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.graph_prior import finetune_paper
from attrpriors.workflow import run

i, o, p = snakemake.input, snakemake.output, snakemake.params
run(snakemake, finetune_paper, mlp_model=i.mlp, expression=i.expression, response=i.response, split=i.split,
    edges=i.edges, params=p.finetune, variants=list(p.variants), seed=p.seed,
    retraining=int(snakemake.wildcards.gp_seed), device=p.device, progress=p.progress, out_states=o.states,
    out_history=o.history)
