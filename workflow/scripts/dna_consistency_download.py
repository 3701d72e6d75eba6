import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dna_consistency import download_archive
from attrpriors.workflow import run

run(snakemake, download_archive, name=snakemake.params.name, out=snakemake.output[0])
