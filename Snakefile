# attrpriors: reproduce Erion et al., Weinberger et al. (DAPr), Majdandzic et al. and the IG-limits paper.
#   snakemake --cores all                          the quick embedded default (config.yaml), offline
#   snakemake --cores all --configfile <overlay>   paper scale
#   snakemake --report results/report.html         every figure and table, with captions
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# this workflow's own folder, also when a host workflow uses it as a module (workflow.basedir is then the host's):
# every path to the workflow's files (config.yaml, schemas, src/, claims registry) is built from it
ATTRPRIORS_DIR = Path(str(workflow.current_basedir))


configfile: f"{ATTRPRIORS_DIR}/config.yaml"  # the defaults; every --configfile is merged over them (a module's


# `config:` is merged over them in common.smk, as Snakemake skips configfile: inside a module)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/benchmark.smk"
include: "workflow/rules/pixel_prior.smk"
include: "workflow/rules/sparsity_prior.smk"
include: "workflow/rules/ig_limits.smk"
include: "workflow/rules/rnaseq.smk"
include: "workflow/rules/graph_prior.smk"
include: "workflow/rules/dna_consistency.smk"
include: "workflow/rules/dapr.smk"
include: "workflow/rules/cross_paper.smk"
include: "workflow/rules/claims.smk"  # last: it reads every experiment's final outputs


# a failed job's outputs are deleted by Snakemake; the temporary and checksum files it left go with them
onerror:
    from attrpriors.io import remove_orphans

    remove_orphans(f"{OUTPUT_PREFIX}results", f"{OUTPUT_PREFIX}resources")


# The default target: every experiment's final figures and tables, which each .smk names with final(rules.<name>).
rule all:
    default_target: True
    input:
        FINAL_OUTPUTS,
