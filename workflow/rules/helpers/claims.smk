# Helpers of workflow/rules/claims.smk: the registry, the final outputs it reads, the stability record.
from attrpriors.claims import config_key as _claims_config_key

CLAIMS_REGISTRY = f"{workflow.basedir}/workflow/claims.yaml"
# every experiment's final outputs (claims.smk is included last)
CLAIMS_FINAL = list(FINAL_OUTPUTS)


def claims_stability_record(wildcards):
    """This folder's stability record, else the committed one of the default config (docs/), else none."""
    for path in (
        "results/tables/claims_stability.csv",
        f"{workflow.basedir}/docs/claims_stability.csv",
    ):
        if Path(path).exists():
            return [path]
    return []
