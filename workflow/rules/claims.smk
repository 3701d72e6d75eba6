# The claims table: every headline claim of the four papers (workflow/claims.yaml) tested on this run's tables.
#   results/tables/claims.{csv,md}   claim, paper value, ours with 95 % CI and n, verdict, stability, controls
# Stability (other base seeds, 2 threads, AVX2 kernels): `make claims-stability` (scripts/claims_stability.py)
# writes results/tables/claims_stability.{csv,md}; docs/claims_stability.csv is the committed record of the
# default config, used when this run has none of its own and its config is the one the record was measured on.
include: "helpers/claims.smk"


rule claims_table:
    input:
        registry=CLAIMS_REGISTRY,
        finals=CLAIMS_FINAL,
        intermediate=CLAIMS_INTERMEDIATE,
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
        TORCH_ENV
    threads: 1
    params:
        config_keys=CLAIMS_CONFIG_KEYS,
    script:
        "../scripts/claims_table.py"


final(rules.claims_table)
# the claims table first in the default target, so that the report lists its category first
FINAL_OUTPUTS[:] = FINAL_OUTPUTS[-2:] + FINAL_OUTPUTS[:-2]

# one target rule per experiment: its final outputs (the stability runs build one experiment at a time)
for _experiment, _outputs in list(FINAL_BY_EXPERIMENT.items()):
    if _experiment == "claims":
        continue

    rule:
        name:
            f"claims_inputs_{_experiment}"
        input:
            _outputs,
            CLAIM_INPUTS_BY_EXPERIMENT.get(_experiment, []),
        localrule: True
