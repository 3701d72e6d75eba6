import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dapr import table1_data
from attrpriors.workflow import run

run(snakemake, table1_data, dataset=snakemake.wildcards.da_table, params=snakemake.params.dataset,
    seed=snakemake.params.seed, out=snakemake.output[0], inputs=dict(snakemake.input.items()))
