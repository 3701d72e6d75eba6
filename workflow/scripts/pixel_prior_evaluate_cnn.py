import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.pixel_prior import evaluate
from attrpriors.workflow import run

run(snakemake, evaluate, data=snakemake.input.data, model=snakemake.input.model, params=snakemake.params.evaluation,
    strength=snakemake.params.strength, lambda_index=int(snakemake.wildcards.lam_index),
    trial=int(snakemake.wildcards.trial), seed=snakemake.params.seed, device=snakemake.params.device,
    out_metrics=snakemake.output.metrics, out_maps=snakemake.output.maps)
