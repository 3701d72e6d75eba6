"""Rerun one job of every rule of a finished run and report how far each output moved.

    .venv/bin/python scripts/rerun_jobs.py RUN_FOLDER [--configfile tests/configs/tiny.yaml] [--cores 2]
        [--env ATEN_CPU_CAPABILITY=avx2] [--threads 2] [--out timings/results/rerun_avx2.csv]

RUN_FOLDER is a finished run (e.g. a tiny run: `snakemake --configfile tests/configs/tiny.yaml --directory DIR`).
It is copied; in the copy the outputs of the shortest job of every rule that writes more than figures are deleted
and rebuilt by the same workflow (explicit targets, so only those jobs run), with the given environment variables
(``ATEN_CPU_CAPABILITY=avx2`` or ``default``: the torch kernels a CPU without AVX-512 gets) and thread count
(``--set-threads`` for every rule). Each output is compared with the first run's
(:func:`attrpriors.reproducibility.compare_outputs`); the table lists every output, same or not, with the largest
difference of a number. docs/determinism.md quotes it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from attrpriors.reproducibility import compare_outputs, one_job_per_rule  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--configfile", type=Path, default=REPO / "tests" / "configs" / "tiny.yaml")
    ap.add_argument("--cores", default="2")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the jobs (repeatable)")
    ap.add_argument("--threads", type=int, help="--set-threads RULE=N for every rerun rule")
    ap.add_argument("--out", type=Path, help="write the comparison table here (.csv)")
    args = ap.parse_args(argv)

    chosen = one_job_per_rule(args.run, skip_missing=True)
    targets = [o for outputs in chosen.values() for o in outputs]
    env = dict(os.environ, **dict(kv.split("=", 1) for kv in args.env))
    with tempfile.TemporaryDirectory(prefix="attrpriors-rerun-") as tmp:
        work = Path(tmp) / "run"
        shutil.copytree(args.run, work, symlinks=True, ignore=shutil.ignore_patterns("report.html"))
        for out in targets:
            (work / out).unlink()
        cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
               "--configfile", str(args.configfile), "--cores", args.cores]
        if args.threads:
            cmd += ["--set-threads", *(f"{rule}={args.threads}" for rule in chosen), "--"]
        t0 = time.time()
        proc = subprocess.run(cmd + targets, capture_output=True, text=True, cwd=work, env=env)
        if proc.returncode:
            print(proc.stdout[-3000:] + proc.stderr[-5000:], file=sys.stderr)
            return proc.returncode
        rows = [{"rule": rule, "output": out, **compare_outputs(args.run / out, work / out)}
                for rule, outputs in chosen.items() for out in outputs]
    table = pd.DataFrame(rows)
    print(f"{len(chosen)} jobs rerun in {time.time() - t0:.0f} s ({' '.join(args.env) or 'same environment'}"
          f"{f', {args.threads} threads' if args.threads else ''}): {int(table['same'].sum())} of {len(table)} "
          f"outputs the same")
    moved = table[~table["same"]]
    if len(moved):
        print(moved.to_string(index=False))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
