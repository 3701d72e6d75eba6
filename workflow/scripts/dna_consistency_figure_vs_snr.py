import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dna_consistency import consistency_vs_snr_figure
from attrpriors.workflow import run

run(snakemake, consistency_vs_snr_figure, table=snakemake.input[0], method=snakemake.params.method,
    out=snakemake.output[0])
