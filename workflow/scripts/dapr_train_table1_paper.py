import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dapr import train_table1_paper
from attrpriors.workflow import run

w = snakemake.wildcards
t1 = snakemake.params.table1
run(snakemake, train_table1_paper, data=snakemake.input.data, dataset=w.da_table, arm=w.da_paper_arm,
    params={**t1, "training": {**t1["training"], "progress": snakemake.config["progress"]}},
    seed=snakemake.params.seed, device=snakemake.params.device, out_metrics=snakemake.output[0],
    threads=snakemake.threads)
