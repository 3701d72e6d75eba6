import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.ig_limits import train_classifier
from attrpriors.workflow import run

run(snakemake, train_classifier, data=snakemake.input.data, model_spec=snakemake.params.model,
    training=snakemake.params.training, val_fraction=snakemake.params.val_fraction, seed=snakemake.params.seed,
    retraining=int(snakemake.wildcards.igl_seed), device=snakemake.params.device,
    dataset=snakemake.wildcards.igl_dataset, model_name=snakemake.wildcards.igl_model,
    out_model=snakemake.output.model, out_history=snakemake.output.history)
