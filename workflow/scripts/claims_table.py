import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the library, without an install

from attrpriors.claims import run_claims
from attrpriors.workflow import run

o = snakemake.output
run(snakemake, run_claims, registry=snakemake.input.registry, tables=[*snakemake.input.finals, *snakemake.input.intermediate], out_csv=o.csv,
    out_md=o.md, stability_csv=(snakemake.input.stability[0] if snakemake.input.stability else None),
    config_keys=dict(snakemake.params.config_keys))
