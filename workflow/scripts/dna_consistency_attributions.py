import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.dna_consistency import explain_and_score
from attrpriors.workflow import run

run(snakemake, explain_and_score, data=snakemake.input.data, model_path=snakemake.input.model,
    model=snakemake.wildcards.dnac_model, trial=int(snakemake.wildcards.dnac_trial),
    method=snakemake.wildcards.dnac_method, options=snakemake.params.options, n_explain=snakemake.params.n_explain,
    metrics=snakemake.params.metrics, seed=snakemake.params.seed, device=snakemake.params.device,
    threads=snakemake.threads, out_attributions=snakemake.output.attributions, out_scores=snakemake.output.scores)
