#!/usr/bin/env python
"""Are the verdicts stable? Rerun the claim-bearing experiments at other base seeds, thread counts and CPU kernels.

    make claims-stability                                   # every experiment of the registry (hours on 2 cores)
    make claims-stability EXPERIMENTS="dapr ig_limits"      # some of them (merged into the existing record)
    .venv/bin/python scripts/claims_stability.py --experiments dapr --variants seed1 threads2 --cores 2

Variants (each a full run of the experiments' rule graph in its own folder ``results/stability/<variant>/``):

* ``seed0``     the main run in this folder (base seed 0, every rule at its ``threads:`` = 1): built if missing;
* ``seed1``, ``seed2``, …   ``--config seed=N``: new data draws, splits, initialisations, references;
* ``threads2``  seed 0 with every rule at 2 threads (``--set-threads``): matrix products split differently;
* ``avx2``      seed 0 with torch's AVX2 kernels (``ATEN_CPU_CAPABILITY=avx2``), the rounding of another CPU.

Each variant's tables are scored with the claims registry (``attrpriors.claims.evaluate``); the verdicts side by
side go to ``results/tables/claims_stability.{csv,md}`` (rows of experiments not rerun are kept from the earlier
record when it was measured on the same configuration), and the claims table of this folder is rebuilt, so that
a claim whose verdict differs between variants shows as **unstable**. Copy the record to ``docs/`` to make it the
default config's committed record (``--publish``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

DEFAULT_VARIANTS = ("seed0", "seed1", "seed2", "threads2", "avx2")


def variant_settings(variant: str) -> tuple[list[str], dict[str, str], int]:
    """Extra Snakemake arguments, environment and thread count of a variant name."""
    if variant.startswith("seed") and variant[4:].isdigit():
        return ["--config", f"seed={int(variant[4:])}"], {}, 1
    if variant.startswith("threads") and variant[7:].isdigit():
        return [], {}, int(variant[7:])
    if variant == "avx2":
        return [], {"ATEN_CPU_CAPABILITY": "avx2"}, 1
    raise SystemExit(f"unknown variant {variant!r}: use seedN, threadsN or avx2")


def snakemake_cmd(workdir: Path, configfiles: list[str], cores: int, extra: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", str(cores)]
    for cf in configfiles:
        cmd += ["--configfile", str(Path(cf).resolve())]
    return cmd + extra


def rule_names(configfiles: list[str]) -> list[str]:
    out = subprocess.run(snakemake_cmd(REPO, configfiles, 1, ["--list-rules"]), capture_output=True, text=True,
                         cwd=REPO, check=True)
    return [line.strip() for line in out.stdout.splitlines() if line.strip() and " " not in line.strip()]


def main(argv: list[str] | None = None) -> int:
    from attrpriors.claims import evaluate, load_registry, read_run_tables, stability, usable_stability_rows
    from attrpriors.io import atomic_path, read_table, save_table

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experiments", nargs="*", default=None, help="experiments to rerun (default: all claimed)")
    ap.add_argument("--variants", nargs="*", default=list(DEFAULT_VARIANTS))
    ap.add_argument("--configfile", action="append", default=[], help="overlay(s), as for snakemake")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--root", default="results/stability", help="folder of the variants' run folders")
    ap.add_argument("--publish", action="store_true", help="also copy the record to docs/claims_stability.*")
    args = ap.parse_args(argv)

    reg = load_registry(REPO / "workflow" / "claims.yaml")
    claimed = list(dict.fromkeys(c["experiment"] for c in reg["claims"]))
    experiments = args.experiments or claimed
    unknown = sorted(set(experiments) - set(claimed))
    if unknown:
        raise SystemExit(f"--experiments {unknown}: no claim of workflow/claims.yaml reads them; "
                         f"experiments with claims: {claimed}")
    sub = {**reg, "claims": [c for c in reg["claims"] if c["experiment"] in experiments]}
    targets = [f"claims_inputs_{e}" for e in experiments]
    here = Path.cwd()
    all_rules = None
    results, walls = {}, {}
    for variant in args.variants:
        extra, env_extra, threads = variant_settings(variant)
        workdir = here if variant == "seed0" else here / args.root / variant
        workdir.mkdir(parents=True, exist_ok=True)
        if threads != 1:
            all_rules = all_rules or rule_names(args.configfile)
            extra += ["--set-threads", *(f"{r}={threads}" for r in all_rules)]
        cores = max(args.cores, threads)
        cmd = snakemake_cmd(workdir, args.configfile, cores, [*targets, *extra])
        print(f"[{variant}] {' '.join(cmd)}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=workdir, env={**os.environ, **env_extra})
        walls[variant] = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"[{variant}] snakemake failed (exit {proc.returncode}); see the log above", file=sys.stderr)
            return proc.returncode
        results[variant] = evaluate(sub, read_run_tables(sub, workdir), float(reg.get("confidence", 0.95)))
        print(f"[{variant}] {walls[variant]:.0f} s: " + ", ".join(
            f"{v} {n}" for v, n in results[variant]["verdict"].value_counts().items()), flush=True)

    # each experiment's configuration key (attrpriors.claims.config_key of the blocks it depends on), as the claims
    # table computes it from the same config (config.yaml + the overlays)
    from attrpriors.claims import experiment_config_keys
    from attrpriors.config_check import load_config

    keys = experiment_config_keys(load_config(*args.configfile), REPO / "workflow" / "rules", claimed)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    commit += "+changes" if dirty else ""
    record = stability(results)
    record["experiment"] = record["id"].map({c["id"]: c["experiment"] for c in reg["claims"]})
    record["config_key"], record["commit"] = record["experiment"].map(keys), commit
    for v in args.variants:
        record[f"wall_s_{v}"] = round(walls[v])  # the whole variant's run (all its experiments)
    out_csv = here / "results/tables/claims_stability.csv"
    if out_csv.exists():  # keep the other experiments' rows of an earlier record, where their config is unchanged
        old, stale = usable_stability_rows(read_table(out_csv), keys)
        old = old[~old["experiment"].isin(experiments)]
        if stale:
            print(f"dropped the earlier record's rows of {', '.join(stale)}: their configuration changed", flush=True)
        if len(old):
            record = merge_records(old, record, [c["id"] for c in reg["claims"]])
    save_table(record, out_csv)
    with atomic_path(out_csv.with_suffix(".md")) as tmp:
        tmp.write_text(stability_markdown(record) + "\n")
    print(f"wrote {out_csv} and .md")
    # rebuild this folder's claims table with the record (its input changed), if this folder holds a whole run
    # (building one here only for the table would run every experiment)
    if (here / "results/tables/claims.csv").exists():
        subprocess.run(snakemake_cmd(here, args.configfile, 1, ["results/tables/claims.csv"]), cwd=here, check=True)
    else:
        print("no results/tables/claims.csv here (no whole run in this folder): the claims table was not rebuilt",
              flush=True)
    if args.publish:
        for suffix in (".csv", ".md"):
            (REPO / "docs" / f"claims_stability{suffix}").write_bytes(out_csv.with_suffix(suffix).read_bytes())
        print("copied to docs/claims_stability.{csv,md}")
    return 0


def merge_records(old, new, order):
    """Rows of an earlier record (other experiments) and the new ones, in registry order."""
    import pandas as pd

    out = pd.concat([old, new], ignore_index=True)
    rank = {cid: i for i, cid in enumerate(order)}
    return out.sort_values("id", key=lambda s: s.map(rank)).reset_index(drop=True)


def stability_markdown(record) -> str:
    from attrpriors.claims import run_columns

    runs = run_columns(record)
    n_unstable = int((record["stability"] == "unstable").sum())
    lines = [
        "# Claims stability: each claim's verdict in each run",
        "",
        f"{len(record)} claims, {n_unstable} unstable. Runs: " + ", ".join(runs) + " (seedN = base seed N at 1 "
        "thread; threads2 = seed 0 with every rule at 2 threads; avx2 = seed 0 with torch's AVX2 kernels). "
        f"Code at {', '.join(sorted(set(record['commit'].astype(str))))}; `config_key` hashes the config blocks "
        "each experiment depends on (a row is used while they are unchanged). "
        "Made by `scripts/claims_stability.py` (`make claims-stability`).",
        "",
        record[["experiment", "id", "stability", "n_runs", *runs, "config_key", "commit"]].fillna("—").to_markdown(
            index=False),
        "",
        "Wall time of each variant's run (seconds, all experiments of that call): " + "; ".join(
            f"{c.removeprefix('wall_s_')} {', '.join(str(int(v)) for v in sorted(set(record[c].dropna())))}"
            for c in record.columns if c.startswith("wall_s_")),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
