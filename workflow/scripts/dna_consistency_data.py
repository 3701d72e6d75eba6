import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dna_consistency import make_data
from attrpriors.workflow import run

run(snakemake, make_data, source=snakemake.params.source, simulated=snakemake.params.simulated,
    download=snakemake.params.download, seed=snakemake.params.seed, out=snakemake.output[0],
    archive=snakemake.input.archive[0] if len(snakemake.input.archive) else None)
