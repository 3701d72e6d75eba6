import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dapr import train_two_moons
from attrpriors.workflow import run

w = snakemake.wildcards
run(snakemake, train_two_moons, n_nuisance=int(w.da_nuisance), model=w.da_tm_model,
    params={**snakemake.params.two_moons, "training": {**snakemake.params.two_moons["training"],
                                                       "progress": snakemake.config["progress"]}},
    seed=snakemake.params.seed, device=snakemake.params.device, out_metrics=snakemake.output[0],
    threads=snakemake.threads)
