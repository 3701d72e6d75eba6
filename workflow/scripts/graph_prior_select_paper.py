import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.graph_prior import select_paper
from attrpriors.workflow import run

i, o, p = snakemake.input, snakemake.output, snakemake.params
run(snakemake, select_paper, states=list(i.states), histories=list(i.histories), mlp_models=list(i.mlp),
    expression=i.expression, response=i.response, splits=list(i.splits), retrainings=list(p.retrainings),
    out_choice=o.choice, out_curve=o.curve, out_models=list(o.models), out_metrics=list(o.metrics))
