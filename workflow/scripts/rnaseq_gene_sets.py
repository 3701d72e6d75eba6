import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.rnaseq_data import gene_set_library
from attrpriors.workflow import run

run(snakemake, gene_set_library, source=snakemake.params.source, library=snakemake.params.library,
    gmt=snakemake.input.gmt[0] if len(snakemake.input.gmt) else None, out=snakemake.output[0])
