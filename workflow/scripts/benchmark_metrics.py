import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.benchmark import score
from attrpriors.workflow import run

run(snakemake, score, data=snakemake.input.data, model=snakemake.input.model,
    attributions=snakemake.input.attributions, params=snakemake.params.metrics, seed=snakemake.params.seed,
    dataset=snakemake.wildcards.dataset, method=snakemake.wildcards.method,
    out_scores=snakemake.output.scores, out_curves=snakemake.output.curves)
