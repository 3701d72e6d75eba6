import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.ig_limits import explain_and_score
from attrpriors.workflow import run

run(snakemake, explain_and_score, data=snakemake.input.data, model=snakemake.input.model, ig=snakemake.params.ig,
    evaluation=snakemake.params.evaluation, seed=snakemake.params.seed, retraining=int(snakemake.wildcards.igl_seed),
    device=snakemake.params.device, dataset=snakemake.wildcards.igl_dataset, model_name=snakemake.wildcards.igl_model,
    out_attributions=snakemake.output.attributions, out_metrics=snakemake.output.metrics,
    out_curves=snakemake.output.curves, out_steps=snakemake.output.steps)
