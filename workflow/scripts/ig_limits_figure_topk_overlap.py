import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.ig_limits import topk_overlap_figure
from attrpriors.workflow import run

run(snakemake, topk_overlap_figure, tables=list(snakemake.input), path=snakemake.output[0])
