import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dapr import train_table1_model
from attrpriors.workflow import run

w = snakemake.wildcards
t1 = snakemake.params.table1
run(snakemake, train_table1_model, data=snakemake.input.data, dataset=w.da_table, model=w.da_model,
    params={**t1, "training": {**t1["training"], "progress": snakemake.config["progress"]}},
    seed=snakemake.params.seed, device=snakemake.params.device, out_metrics=snakemake.output.metrics,
    out_prior=snakemake.output.get("prior"),
    out_attributions=snakemake.output.attributions, threads=snakemake.threads,
    out_randomization=snakemake.output.randomization, randomization=snakemake.params.randomization)
