# The claims table: every headline claim of the four papers (workflow/claims.yaml) tested on this run's tables.
#   results/tables/claims.{csv,md}   claim, paper value, ours with 95 % CI and n, verdict, stability, controls
# Stability (other base seeds, 2 threads, AVX2 kernels): `make claims-stability` (scripts/claims_stability.py)
# writes results/tables/claims_stability.{csv,md}; docs/claims_stability.csv is the committed record of the
# default config, used when this run has none of its own and its config is the one the record was measured on.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from attrpriors.claims import config_key as _claims_config_key

CLAIMS_REGISTRY = f"{workflow.basedir}/workflow/claims.yaml"
CLAIMS_FINAL = list(FINAL_OUTPUTS)  # every experiment's final outputs (claims.smk is included last)


def claims_stability_record(wildcards):
    """This folder's stability record, else the committed one of the default config (docs/), else none."""
    for path in (
        "results/tables/claims_stability.csv",
        f"{workflow.basedir}/docs/claims_stability.csv",
    ):
        if Path(path).exists():
            return [path]
    return []


rule claims_table:
    input:
        registry=CLAIMS_REGISTRY,
        finals=CLAIMS_FINAL,
        stability=claims_stability_record,
    output:
        csv="results/tables/claims.csv",
        md=report(
            "results/tables/claims.md",
            caption="../report/claims.rst",
            category="0. Claims — verdicts",
            labels={"table": "every headline claim: verdict, estimate, CI, controls"},
        ),
    log:
        f"{LOGS}/claims_table.log",
    localrule: True
    conda:
        "../../envs/torch.yaml"
    threads: 1
    params:
        config_key=_claims_config_key(config),
    script:
        "../scripts/claims_table.py"


final(rules.claims_table)

# one target rule per experiment: its final outputs (the stability runs build one experiment at a time)
for _experiment, _outputs in list(FINAL_BY_EXPERIMENT.items()):
    if _experiment == "claims":
        continue

    rule:
        name:
            f"claims_inputs_{_experiment}"
        input:
            _outputs,
        localrule: True
