import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dna_consistency import logos_figure
from attrpriors.workflow import run

run(snakemake, logos_figure, data=snakemake.input.data, table=snakemake.input.table,
    attributions=list(snakemake.input.attributions), method=snakemake.params.method,
    consistency_metric=snakemake.params.consistency_metric, n_sequences=snakemake.params.n_sequences,
    out=snakemake.output[0])
