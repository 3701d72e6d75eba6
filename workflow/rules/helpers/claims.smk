# Helpers of workflow/rules/claims.smk: the registry, the final outputs it reads, the stability record.
from attrpriors.claims import experiment_config_keys as _claims_config_keys
from attrpriors.claims import load_registry as _claims_registry

CLAIMS_REGISTRY = f"{ATTRPRIORS_DIR}/workflow/claims.yaml"
# every experiment's final outputs (claims.smk is included last)
CLAIMS_FINAL = list(FINAL_OUTPUTS)
# and the intermediate tables it reads (claim_inputs() in the experiments' rule files)
CLAIMS_INTERMEDIATE = [p for ps in CLAIM_INPUTS_BY_EXPERIMENT.values() for p in ps]
# experiment → hash of the config blocks its results depend on: a stability record's rows stay valid for an
# experiment while its blocks are unchanged, whatever happens to the other experiments' blocks
CLAIMS_CONFIG_KEYS = _claims_config_keys(
    config,
    f"{ATTRPRIORS_DIR}/workflow/rules",
    [c["experiment"] for c in _claims_registry(CLAIMS_REGISTRY)["claims"]],
)


def claims_stability_record(wildcards):
    """This folder's stability record, else the committed one of the default config (docs/), else none."""
    for path, where in (
        (
            "results/tables/claims_stability.csv",
            f"{OUTPUT_PREFIX}results/tables/claims_stability.csv",
        ),
        (f"{ATTRPRIORS_DIR}/docs/claims_stability.csv",) * 2,
    ):
        if Path(
            where
        ).exists():  # Snakemake adds a module's prefix to the returned path, not to this check
            return [path]
    return []
