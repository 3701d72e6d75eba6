import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.sparsity_prior import small_data
from attrpriors.workflow import run

run(snakemake, small_data, data=snakemake.input.data, subsamples=list(snakemake.params.subsamples),
    params=snakemake.params.small_data, grids=snakemake.params.grids, model_spec=snakemake.params.model,
    training=snakemake.params.training, n_references=snakemake.params.n_references,
    eval_references=snakemake.params.eval_references, retries=snakemake.params.retries,
    seed=snakemake.params.seed, out=snakemake.output[0])
