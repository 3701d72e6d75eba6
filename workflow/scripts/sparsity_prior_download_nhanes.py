import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.data.clinical import download_nhanes
from attrpriors.workflow import run

run(snakemake, download_nhanes, destinations=list(snakemake.output))
