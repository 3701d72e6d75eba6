import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.data.images import download_mnist
from attrpriors.workflow import run

run(snakemake, download_mnist, destinations=list(snakemake.output))
