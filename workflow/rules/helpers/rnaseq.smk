# Input functions and helpers of the `rnaseq` experiment (workflow/rules/rnaseq.smk includes this file).


def rnaseq_data_files():
    """Files of results/rnaseq/data/ (see rnaseq.smk): every source's, plus the simulation's ground truth."""
    core = [
        "counts.npz",
        "genes.tsv",
        "samples.tsv",
        "response.tsv",
        "graph_edges.tsv",
        "random_graph_edges.tsv",
        "truth.json",
    ]
    truth = [
        "pathways.tsv",
        "drug_pathways.tsv",
        "meta_features.tsv",
        "pathway_expression.tsv",
    ]
    return core + (truth if config["rnaseq"]["source"] == "simulated" else [])


def rnaseq_source_inputs(wildcards):
    """Raw files of the RNA-seq data set: the calibration for the simulation; the registry downloads for Beat AML."""
    if config["rnaseq"]["source"] != "download":
        return {"calibration": f"{RESULTS}/rnaseq/calibration.json"}
    dl = config["rnaseq"]["download"]
    keys = {
        "counts": "counts",
        "drug_response": "drug_response",
        "clinical": "clinical",
        "network": "network",
        "gtf": "gene_annotation",
        "hgnc": "id_map",
    }
    return {k: f"resources/rnaseq/{dl[v]}" for k, v in keys.items()}
