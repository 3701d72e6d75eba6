# Input functions and helpers of the `dapr` experiment (workflow/rules/dapr.smk includes this file).


def dapr_table1_inputs(wildcards):
    """Raw files of a DAPr Table 1 dataset: the simulator's calibration for simulated, the folder's three files for
    local sources (so that editing one reruns the dataset), Beat AML + MERGE for download.
    """
    block = config["dapr"]["table1"][wildcards.da_table]
    if block["source"] == "simulated":
        return {"calibration": f"{RESULTS}/rnaseq/calibration.json"}
    if block["source"] == "local":
        from attrpriors.data.download import local_path
        from attrpriors.data.drug_response import LOCAL_FILES

        root = local_path(
            block["local"]["path"], f"dapr.table1.{wildcards.da_table}.local.path"
        )
        return {name.split(".")[0]: str(root / name) for name in LOCAL_FILES}
    return {
        "expression": "resources/rnaseq/beataml_expression",
        "drug_response": "resources/rnaseq/beataml_drug_response",
        "merge_features": "resources/dapr/merge_features.csv",
    }


def dapr_prior(kind):
    """Input function: the prior checkpoint (every split) of one DAPr row of Table 1 for the dataset wildcard."""
    return lambda wc: f"{RESULTS}/dapr/table1/priors/{wc.da_table}/{kind}.pt"
