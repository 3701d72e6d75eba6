import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.graph_prior_sweep import run_cell
from attrpriors.workflow import run

p = snakemake.params
run(snakemake, run_cell, gene_noise=float(snakemake.wildcards.noise), edge_precision=float(snakemake.wildcards.precision),
    params=p.sweep, simulation=p.simulation, preprocess=p.preprocess, seed=p.seed, device=p.device,
    out_metrics=snakemake.output.metrics, loadings=snakemake.wildcards.loadings)
