"""Fixed cost per job and the Snakemake process's own CPU time, before and after, measured in one run.

    .venv/bin/python timings/job_overhead.py --before <commit> [--after <commit>|.] [--cores 2] [targets ...]

For each of the two source trees (``--before`` and ``--after``: a commit, exported with ``git archive``, or ``.``
for the working tree), back to back, the same targets of the same config (default: the whole rule graph of
tests/configs/tiny.yaml) run from scratch in a fresh folder. Measured:

* **per job** (a ``sitecustomize`` hook put on the jobs' ``PYTHONPATH``; it changes nothing in the job): the job
  process's wall time from its start (``/proc/self/stat``) to its last ``atexit`` handler, its CPU time (user +
  system, all threads), and the wall / CPU time of the library function that the script hands to
  ``attrpriors.workflow.run`` (the same span the rule log's ``done in … s`` reports; both are in the CSV).
  **Fixed cost** = job time − function time: interpreter start, Snakemake's script preamble, imports, the log
  set-up, interpreter exit (up to the last ``atexit`` handler: the final module teardown is not seen).
* **the Snakemake process itself**: ``os.times()`` of the ``snakemake`` process at exit (its own user + system
  time, all its threads; not its children, the jobs).

Writes ``<out>/job_overhead_jobs.csv`` (one row per job and tree), ``<out>/job_overhead.md`` (medians per rule
kind, the ratio before / after, totals, and a byte comparison of every file under results/tables/ of the two
runs). Rule kinds come from the rule names (``attrpriors.workflow.RULE_KINDS``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from attrpriors.workflow import rule_kind  # noqa: E402  (rule kinds by name: attrpriors.workflow.RULE_KINDS)

#: The hook: recorded per job process, appended as one JSON line to $ATTRPRIORS_JOB_TIMES.
HOOK = r'''
import atexit, importlib.abc, importlib.util, json, os, sys, time

_OUT = os.environ.get("ATTRPRIORS_JOB_TIMES")


def _boot():
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def _start():
    with open("/proc/self/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")  # starttime (field 22), seconds after boot


if _OUT and "/.snakemake/scripts/" in os.path.abspath(sys.argv[0] if sys.argv else ""):
    _rec = {"start": _start()}

    def _wrap(module):
        inner = module.run

        def run(snakemake, fn, **kwargs):
            _rec.update(rule=snakemake.rule, log=list(snakemake.log), threads=snakemake.threads)
            _rec["fn_start"], c0 = _boot(), time.process_time()
            try:
                return inner(snakemake, fn, **kwargs)
            finally:
                _rec["fn_end"], _rec["fn_cpu"] = _boot(), time.process_time() - c0

        module.run = run

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name != "attrpriors.workflow":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            exec_module = spec.loader.exec_module

            def exec_and_wrap(module):
                exec_module(module)
                _wrap(module)

            spec.loader.exec_module = exec_and_wrap
            return spec

    sys.meta_path.insert(0, _Finder())

    def _done():
        t = os.times()
        _rec.update(end=_boot(), cpu=t.user + t.system, torch="torch" in sys.modules,
                    gseapy="gseapy" in sys.modules, n_modules=len(sys.modules), pid=os.getpid())
        line = (json.dumps(_rec) + "\n").encode()
        fd = os.open(_OUT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    atexit.register(_done)
'''

#: Runs Snakemake's command line and writes the process's own CPU time at exit.
WRAPPER = r'''
import atexit, json, os, sys, time
out = sys.argv[1]
t0 = time.perf_counter()

def done():
    t = os.times()
    with open(out, "w") as fh:
        json.dump({"user": t.user, "system": t.system, "children_user": t.children_user,
                   "children_system": t.children_system, "wall": time.perf_counter() - t0}, fh)

atexit.register(done)
sys.argv = ["snakemake"] + sys.argv[2:]
from snakemake.cli import main
main()
'''


def kind(rule: str) -> str:
    return rule_kind(rule)


def export(rev: str, dest: Path) -> Path:
    """The source tree of ``rev`` (``.``: the working tree as it is) in ``dest``."""
    if rev == ".":
        return ROOT
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as fh:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev], stdout=fh, check=True)
        fh.seek(0)
        with tarfile.open(fileobj=fh) as tar:
            tar.extractall(dest, filter="data")
    return dest


def run_tree(label: str, tree: Path, work: Path, configfile: Path, cores: int, targets: list[str],
             hook_dir: Path) -> tuple[pd.DataFrame, dict]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    jobs_file, snk_file = work / "job_times.jsonl", work / "snakemake_times.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ATTRPRIORS_JOB_TIMES")}
    env.update(PYTHONPATH=str(hook_dir), ATTRPRIORS_JOB_TIMES=str(jobs_file))
    cmd = [sys.executable, "-c", WRAPPER, str(snk_file), "-s", str(tree / "Snakefile"), "--directory", str(work),
           "--configfile", str(configfile), "--cores", str(cores), *targets, "--quiet", "progress"]
    print(f"[{label}] {' '.join(cmd[:2])} <wrapper> {' '.join(cmd[3:])}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"[{label}] snakemake failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}"
                           f"\n{proc.stderr[-5000:]}")
    rows = []
    for line in jobs_file.read_text().splitlines():
        r = json.loads(line)
        if "fn_start" not in r:
            continue  # a script that never reached attrpriors.workflow.run
        logged = None
        for log in r.get("log", []):
            path = work / log
            if path.exists():
                m = re.search(r"done in ([\d.]+) s", path.read_text(errors="replace"))
                logged = float(m.group(1)) if m else None
        job_wall, fn_wall = r["end"] - r["start"], r["fn_end"] - r["fn_start"]
        rows.append({"tree": label, "rule": r["rule"], "kind": kind(r["rule"]), "threads": r["threads"],
                     "job_wall_s": job_wall, "function_wall_s": fn_wall, "logged_function_s": logged,
                     "fixed_wall_s": job_wall - fn_wall, "startup_s": r["fn_start"] - r["start"],
                     "exit_s": r["end"] - r["fn_end"], "job_cpu_s": r["cpu"], "function_cpu_s": r["fn_cpu"],
                     "fixed_cpu_s": r["cpu"] - r["fn_cpu"], "torch_imported": r["torch"],
                     "gseapy_imported": r["gseapy"], "modules": r["n_modules"]})
    snk = json.loads(snk_file.read_text())
    snk.update(run_wall=wall, cpu=snk["user"] + snk["system"])
    return pd.DataFrame(rows), snk


def compare_tables(a: Path, b: Path) -> tuple[list[str], list[str], list[str]]:
    """(identical, differing, only in one) files under results/tables of two work folders."""
    ta, tb = a / "results" / "tables", b / "results" / "tables"
    fa = {p.relative_to(ta).as_posix() for p in ta.rglob("*") if p.is_file()} if ta.exists() else set()
    fb = {p.relative_to(tb).as_posix() for p in tb.rglob("*") if p.is_file()} if tb.exists() else set()
    same = sorted(f for f in fa & fb if filecmp.cmp(ta / f, tb / f, shallow=False))
    return same, sorted((fa & fb) - set(same)), sorted(fa ^ fb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", help="Snakemake targets (default: the config's whole rule graph)")
    ap.add_argument("--before", required=True, help="commit (or '.') of the tree before")
    ap.add_argument("--after", default=".", help="commit (or '.': the working tree, the default) of the tree after")
    ap.add_argument("--configfile", type=Path, default=ROOT / "tests/configs/tiny.yaml")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "job_overhead",
                    help="scratch folder for the two source trees and runs (default /tmp/job_overhead)")
    ap.add_argument("--out", type=Path, default=ROOT / "timings/results")
    args = ap.parse_args()
    configfile = args.configfile.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    hook_dir = args.work / "hook"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(HOOK)
    frames, snk, works = [], {}, {}
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    for label, rev in (("before", args.before), ("after", args.after)):
        tree = export(rev, args.work / f"src_{label}")
        works[label] = args.work / f"run_{label}"
        jobs, snk[label] = run_tree(label, tree, works[label], configfile, args.cores, args.targets, hook_dir)
        frames.append(jobs)
        print(f"[{label}] {len(jobs)} jobs, {snk[label]['run_wall']:.0f} s wall", file=sys.stderr, flush=True)
    jobs = pd.concat(frames, ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    jobs.to_csv(args.out / "job_overhead_jobs.csv", index=False)

    med = (jobs.groupby(["kind", "tree"])[["fixed_wall_s", "fixed_cpu_s", "startup_s", "job_cpu_s"]].median()
           .unstack("tree"))
    n = jobs.groupby(["kind", "tree"]).size().unstack("tree")
    lines = [f"# Job overhead: before ({args.before}) vs after ({args.after})", "",
             f"`timings/job_overhead.py --before {args.before} --after {args.after} --cores {args.cores}"
             f"{' ' + ' '.join(args.targets) if args.targets else ''}` on {configfile.name}, {started}, "
             f"{os.cpu_count()} CPUs, load average at the end {os.getloadavg()[0]:.1f}.", "",
             "## Median fixed cost per job (job − the library function it calls)", "",
             "Imports moved into the library functions count as function time after the change: the whole job's "
             "CPU (last columns) is the measure that cannot be shifted that way.", "",
             "| rule kind | jobs | wall before s | wall after s | ratio | CPU before s | CPU after s | ratio | "
             "whole job CPU before s | after s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for k in med.index:
        wb, wa = med.loc[k, ("fixed_wall_s", "before")], med.loc[k, ("fixed_wall_s", "after")]
        cb, ca = med.loc[k, ("fixed_cpu_s", "before")], med.loc[k, ("fixed_cpu_s", "after")]
        lines.append(f"| {k} | {n.loc[k].get('before', 0):.0f} / {n.loc[k].get('after', 0):.0f} | {wb:.2f} | "
                     f"{wa:.2f} | {wb / wa:.1f}× | {cb:.2f} | {ca:.2f} | {cb / ca:.1f}× | "
                     f"{med.loc[k, ('job_cpu_s', 'before')]:.2f} | {med.loc[k, ('job_cpu_s', 'after')]:.2f} |")
    tot = jobs.groupby("tree")[["fixed_wall_s", "fixed_cpu_s", "function_cpu_s", "job_cpu_s"]].sum()
    lines += ["", "## Totals over the run", "",
              "| | before | after | ratio |", "|---|---:|---:|---:|"]

    def row(name, b, a, unit="s"):
        lines.append(f"| {name} | {b:.1f} {unit} | {a:.1f} {unit} | {b / a:.1f}× |" if a else
                     f"| {name} | {b:.1f} {unit} | {a:.1f} {unit} | |")

    row("jobs' whole CPU (Σ)", tot.loc["before", "job_cpu_s"], tot.loc["after", "job_cpu_s"])
    row("jobs' fixed CPU (Σ)", tot.loc["before", "fixed_cpu_s"], tot.loc["after", "fixed_cpu_s"])
    row("Snakemake process CPU (user + system)", snk["before"]["cpu"], snk["after"]["cpu"])
    nonsci_b = tot.loc["before", "fixed_cpu_s"] + snk["before"]["cpu"]
    nonsci_a = tot.loc["after", "fixed_cpu_s"] + snk["after"]["cpu"]
    row("**non-science CPU** (fixed + Snakemake)", nonsci_b, nonsci_a)
    row("library functions' CPU (Σ, the science)", tot.loc["before", "function_cpu_s"],
        tot.loc["after", "function_cpu_s"])
    row("jobs' fixed wall (Σ)", tot.loc["before", "fixed_wall_s"], tot.loc["after", "fixed_wall_s"])
    row("run wall time", snk["before"]["run_wall"], snk["after"]["run_wall"])
    share = jobs.groupby("tree")[["torch_imported", "gseapy_imported"]].mean()
    lines += ["", f"Jobs that imported torch: {share.loc['before', 'torch_imported']:.0%} before, "
              f"{share.loc['after', 'torch_imported']:.0%} after; gseapy: {share.loc['before', 'gseapy_imported']:.0%}"
              f" before, {share.loc['after', 'gseapy_imported']:.0%} after."]
    same, diff, only = compare_tables(works["before"], works["after"])
    lines += ["", "## Tables (results/tables/) of the two runs", "",
              f"{len(same)} byte-identical, {len(diff)} differ, {len(only)} in one run only."]
    lines += [f"- differs: `{f}`" for f in diff] + [f"- only in one run: `{f}`" for f in only]
    per_rule = (jobs.groupby(["rule", "tree"])["fixed_wall_s"].median().unstack("tree")
                .sort_values("before", ascending=False))
    lines += ["", "## Median fixed wall per rule (s)", "", "| rule | kind | before | after |", "|---|---|---:|---:|"]
    lines += [f"| {r} | {kind(r)} | {v.get('before', float('nan')):.2f} | {v.get('after', float('nan')):.2f} |"
              for r, v in per_rule.iterrows()]
    md = "\n".join(lines) + "\n"
    (args.out / "job_overhead.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
