import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.sparsity_prior import train_sweep
from attrpriors.workflow import run

run(snakemake, train_sweep, data=snakemake.input.data, penalty=snakemake.wildcards.sp_penalty,
    strengths=list(snakemake.params.strengths), seeds=snakemake.params.seeds, model_spec=snakemake.params.model,
    training=snakemake.params.training, n_references=snakemake.params.n_references,
    eval_references=snakemake.params.eval_references, retries=snakemake.params.retries,
    seed=snakemake.params.seed, out_metrics=snakemake.output.metrics, out_phibar=snakemake.output.phibar)
