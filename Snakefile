# attrpriors: reproduce Erion et al., Weinberger et al. (DAPr), Majdandzic et al. and the IG-limits paper.
#   snakemake --cores all                          the quick embedded default (config.yaml), offline
#   snakemake --cores all --configfile <overlay>   paper scale
#   snakemake --report results/report.html         every figure and table, with captions
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/benchmark.smk"


rule all:
    input:
        benchmark_outputs(),
    default_target: True
