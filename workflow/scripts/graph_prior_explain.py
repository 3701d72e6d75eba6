import os
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.graph_prior import explain
from attrpriors.workflow import run

i, o, p = snakemake.input, snakemake.output, snakemake.params
run(snakemake, explain, models=list(p.models), model_paths=list(i.models), expression=i.expression,
    response=i.response, split=i.split, edges=i.edges, gene_sets=i.gene_sets,
    truth_dir=os.path.dirname(i.truth[0]) if p.simulated else None, params=p.explain, seed=p.seed,
    retraining=int(snakemake.wildcards.gp_seed), device=p.device, out_attributions=list(o.attributions),
    out_gsea=list(o.gsea), out_metrics=list(o.metrics))
