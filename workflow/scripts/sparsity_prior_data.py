import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.sparsity_prior import make_data
from attrpriors.workflow import run

run(snakemake, make_data, dataset=snakemake.wildcards.sp_dataset, spec=snakemake.params.spec,
    split=snakemake.params.split, seed=snakemake.params.seed, out=snakemake.output[0],
    nhanes_files=list(snakemake.input.nhanes))
