import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.benchmark import randomization
from attrpriors.workflow import run

run(snakemake, randomization, data=snakemake.input.data, model=snakemake.input.model,
    methods=snakemake.params.methods, method_options=snakemake.params.method_options,
    n_explain=snakemake.params.n_explain, seed=snakemake.params.seed, device=snakemake.params.device,
    dataset=snakemake.wildcards.dataset, out=snakemake.output[0])
