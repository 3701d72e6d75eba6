import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.benchmark import convergence
from attrpriors.workflow import run

run(snakemake, convergence, data=snakemake.input.data, model=snakemake.input.model,
    params=snakemake.params.convergence, seed=snakemake.params.seed, device=snakemake.params.device,
    dataset=snakemake.wildcards.dataset, out=snakemake.output[0])
