import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.experiments.graph_prior import aggregate
from attrpriors.workflow import run

i, o = snakemake.input, snakemake.output
run(snakemake, aggregate, metrics=list(i.metrics), attributions=list(i.attributions), gsea=list(i.gsea),
    params=snakemake.params.explain, simulated=snakemake.params.simulated, out_metrics=o.metrics,
    out_tests_csv=o.tests_csv, out_tests_md=o.tests_md, out_attributions=o.attributions, out_fig2=o.fig2,
    out_penalty_fig=o.penalty_fig, out_penalty_table=o.penalty_table, out_pathways_csv=o.pathways_csv,
    out_pathways_md=o.pathways_md, out_truth_fig=o.truth[0] if len(o.truth) else None,
    out_truth_table=o.truth[1] if len(o.truth) else None, paper_histories=list(i.histories),
    out_paper_fig=o.paper[0] if len(o.paper) else None, out_paper_table=o.paper[1] if len(o.paper) else None)
