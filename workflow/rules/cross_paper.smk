# Experiment `cross_paper` — the cross-paper table (ours): the gene-expression models of the graph-prior and
# DAPr experiments scored against the drug-response simulator's truth with the metrics of the IG-limits and
# DNA-consistency papers, plus the model-randomization sanity check per model family.
#   results/tables/cross_paper_attribution_trust.{csv,md}, results/figures/cross_paper_{attribution_trust,randomization}.png
CP_CFG = config["cross_paper"]

# Sources with a ground truth: graph_prior when the RNA-seq data layer is simulated, dapr when its Table 1
# drug-response data is simulated. No source: no table.
CP_SOURCES = []
if "graph_prior" in CP_CFG["sources"] and config["rnaseq"]["source"] == "simulated":
    CP_SOURCES.append("graph_prior")
if (
    "dapr" in CP_CFG["sources"]
    and config["dapr"]["table1"].get("drug_response", {}).get("source") == "simulated"
):
    CP_SOURCES.append("dapr")

# Inputs per source: its tidy (gene, model, seed, mean_abs_eg) tables, its randomization tables and its truth.
CP_INPUTS = {"gene_sets": "results/rnaseq/gene_sets/KEGG.gmt"}
if "graph_prior" in CP_SOURCES:
    CP_INPUTS["gp_attributions"] = graph_prior_files(
        "attributions/{model}/seed{seed}.csv",
        models=graph_prior_cross_paper_models(),
        retrainings=CP_CFG.get("graph_prior_retrainings"),
    )
    CP_INPUTS["gp_genes"] = "results/rnaseq/data/genes.tsv"
    CP_INPUTS["gp_drug_pathways"] = "results/rnaseq/data/drug_pathways.tsv"
    CP_INPUTS["gp_randomization"] = [
        f"results/graph_prior/randomization/{m}.csv"
        for m in graph_prior_cross_paper_models()
    ]
if "dapr" in CP_SOURCES:
    CP_INPUTS["dapr_attributions"] = [
        f"results/dapr/table1/attributions/drug_response/{m}.csv"
        for m in config["dapr"]["table1"]["models"]
    ]
    CP_INPUTS["dapr_data"] = "results/dapr/table1/data/drug_response.npz"
    CP_INPUTS["dapr_randomization"] = [
        f"results/dapr/table1/randomization/drug_response/{m}.csv"
        for m in config["dapr"]["table1"]["models"]
    ]


rule cross_paper_table:
    input:
        **CP_INPUTS,
    output:
        metrics=f"{RESULTS}/cross_paper/metrics.csv",
        csv="results/tables/cross_paper_attribution_trust.csv",
        md=report(
            "results/tables/cross_paper_attribution_trust.md",
            caption="../report/cross_paper_attribution_trust.rst",
            category="Beyond the papers — attribution trust",
            labels={"table": "attribution trust per model family"},
        ),
        png=report(
            "results/figures/cross_paper_attribution_trust.png",
            caption="../report/cross_paper_attribution_trust.rst",
            category="Beyond the papers — attribution trust",
            labels={"figure": "attribution trust per model family"},
        ),
        randomization_png=report(
            "results/figures/cross_paper_randomization.png",
            caption="../report/cross_paper_randomization.rst",
            category="Beyond the papers — attribution trust",
            labels={"figure": "model-randomization sanity check per model family"},
        ),
    log:
        f"{LOGS}/cross_paper_table.log",
    conda:
        "../../envs/rnaseq.yaml"
    threads: 2  # the runs' GSEA in forked processes (attrpriors.evaluation.attribution_trust_per_run)
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        cross_paper=CP_CFG,
        seed=config["seed"],
    script:
        "../scripts/cross_paper_table.py"


if CP_SOURCES:
    final(rules.cross_paper_table)
