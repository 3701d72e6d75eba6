# Input functions and helpers of the `dapr` experiment (workflow/rules/dapr.smk includes this file).


def dapr_table1_inputs(wildcards):
    """Raw files of a DAPr Table 1 dataset: the simulator's calibration for simulated, none for local sources;
    Beat AML + MERGE for download."""
    source = config["dapr"]["table1"][wildcards.da_table]["source"]
    if source == "simulated":
        return {"calibration": f"{RESULTS}/rnaseq/calibration.json"}
    if source != "download":
        return {}
    return {
        "expression": "resources/rnaseq/beataml_expression",
        "drug_response": "resources/rnaseq/beataml_drug_response",
        "merge_features": "resources/dapr/merge_features.csv",
    }


def dapr_prior(kind):
    """Input function: the prior checkpoint (every split) of one DAPr row of Table 1 for the dataset wildcard."""
    return lambda wc: f"{RESULTS}/dapr/table1/priors/{wc.da_table}/{kind}.pt"
