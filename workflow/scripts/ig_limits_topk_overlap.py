import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.ig_limits import topk_overlap
from attrpriors.workflow import run

run(snakemake, topk_overlap, attributions=list(snakemake.input.attributions), keys=snakemake.params.runs,
    data=snakemake.input.data, ks=snakemake.params.topk, dataset=snakemake.wildcards.igl_dataset,
    out=snakemake.output[0])
