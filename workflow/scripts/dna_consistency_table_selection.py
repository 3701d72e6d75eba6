import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dna_consistency import selection_table
from attrpriors.workflow import run

run(snakemake, selection_table, performance=list(snakemake.input.performance), scores=list(snakemake.input.scores),
    methods=snakemake.params.methods, out_population=snakemake.output.population, out_csv=snakemake.output.csv,
    out_md=snakemake.output.md, out_summary_csv=snakemake.output.summary_csv,
    out_summary_md=snakemake.output.summary_md)
