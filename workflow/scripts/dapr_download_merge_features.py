import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.data.drug_response import fetch_merge_features
from attrpriors.workflow import run

run(snakemake, fetch_merge_features, dest=snakemake.output[0], sha256=snakemake.params.sha256)
