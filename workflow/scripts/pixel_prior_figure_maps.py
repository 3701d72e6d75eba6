import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.pixel_prior import figure_maps
from attrpriors.workflow import run

run(snakemake, figure_maps, maps=list(snakemake.input.maps), selection=snakemake.input.selection,
    out_true=snakemake.output.true_class, out_all=snakemake.output.all_classes)
