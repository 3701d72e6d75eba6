"""Rerun jobs of a finished run and compare what they write with the first run's outputs.

Used by tests/test_pipeline_resume.py (determinism on one machine: one job of every rule, rerun in a fresh process
from the same inputs, writes the same bits) and by ``scripts/rerun_jobs.py`` (the same reruns under another thread
count or another CPU kernel set, reporting how far each output moved; docs/determinism.md).

A job's outputs depend only on its inputs, params and code; if every rule's job rewrites its outputs bit for bit
from the same inputs, two whole runs write the same tables (induction over the rule graph).
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TIME_KEYS = ("seconds",)  # wall-clock values that training histories log (in *_history.csv and in checkpoints)


def snakemake_markers(folder: str | Path) -> dict[str, Path]:
    """Snakemake's per-output marker files under ``folder`` (``.snakemake/incomplete``, ``.snakemake/metadata``):
    named by the urlsafe base64 of the output's path, long names split into '@'-prefixed folders.
    Output path -> marker file."""
    folder = Path(folder)
    out = {}
    for p in folder.rglob("*") if folder.exists() else []:
        if p.is_file():
            b64 = "".join(part.lstrip("@") for part in p.relative_to(folder).parts)
            try:
                out[base64.urlsafe_b64decode(b64).decode()] = p
            except (ValueError, UnicodeDecodeError):  # not a marker
                pass
    return out


def run_jobs(workdir: str | Path) -> list[dict[str, Any]]:
    """The jobs of a finished run in ``workdir``, from Snakemake's metadata: dicts with ``rule``, ``outputs``
    (sorted, relative to ``workdir``), ``inputs`` (sorted) and ``seconds`` (its wall time)."""
    jobs: dict[int, dict] = defaultdict(lambda: {"outputs": []})
    for output, marker in snakemake_markers(Path(workdir) / ".snakemake" / "metadata").items():
        meta = json.loads(marker.read_text())
        job = jobs[meta["job_hash"]]
        job.update(rule=meta["rule"], seconds=float(meta["endtime"]) - float(meta["starttime"]),
                   inputs=sorted(meta.get("input") or []))
        job["outputs"].append(output)
    return [{**job, "outputs": sorted(job["outputs"])} for job in jobs.values()]


def rerun_levels(workdir: str | Path, chosen: dict[str, list[str]]) -> list[list[str]]:
    """The outputs of ``chosen`` (rule -> outputs of one job, as :func:`one_job_per_rule`) in groups, upstream
    groups first, such that no job of a group is upstream of another job of the same group.

    Rerunning the groups one Snakemake call each runs the chosen jobs and few others: within one call no chosen job
    feeds another (Snakemake would rerun every job between them), and between calls a job in between reruns only
    if a regenerated input's bytes changed (Snakemake compares input checksums; deterministic outputs do not
    change). Level of a job = the largest number of chosen jobs on a path into it (from the run's metadata)."""
    jobs = run_jobs(workdir)
    producer = {o: k for k, job in enumerate(jobs) for o in job["outputs"]}
    targets = {o for outs in chosen.values() for o in outs}
    is_chosen = [bool(targets & set(job["outputs"])) for job in jobs]
    level: dict[int, int] = {}

    def depth(k: int, seen: tuple = ()) -> int:
        if k not in level:
            if k in seen:
                raise ValueError(f"{workdir}: the run's jobs form a cycle at {jobs[k]['outputs']}")
            parents = {producer[i] for i in jobs[k]["inputs"] if i in producer}
            level[k] = max((depth(p, seen + (k,)) + is_chosen[p] for p in parents), default=0)
        return level[k]

    groups: dict[int, list[str]] = defaultdict(list)
    for outs in chosen.values():
        ks = {producer[o] for o in outs if o in producer}
        if not ks:
            raise KeyError(f"{workdir}: no job of the run wrote {outs}")
        groups[max(depth(k) for k in ks)].extend(outs)
    return [sorted(groups[g]) for g in sorted(groups)]


def one_job_per_rule(workdir: str | Path, skip_prefixes: tuple[str, ...] = ("results/timings/",),
                     skip_missing: bool = False) -> dict[str, list[str]]:
    """Rule -> the outputs of its shortest job, for every rule of the run that writes more than figures (``.png``);
    outputs under ``skip_prefixes`` (Snakemake's benchmark: timing files) left out, and with ``skip_missing``
    those no longer on disk (temporary outputs, ``temp()``, that the run removed)."""
    chosen: dict[str, dict] = {}
    for job in run_jobs(workdir):
        outputs = [o for o in job["outputs"] if not o.startswith(skip_prefixes)
                   and not (skip_missing and not (Path(workdir) / o).exists())]
        if not outputs or all(o.endswith(".png") for o in outputs):
            continue
        best = chosen.get(job["rule"])
        if best is None or job["seconds"] < best["seconds"]:
            chosen[job["rule"]] = {**job, "outputs": outputs}
    return {rule: job["outputs"] for rule, job in sorted(chosen.items())}


def _drop_time(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _drop_time(v) for k, v in obj.items() if k not in TIME_KEYS}
    if isinstance(obj, (list, tuple)):
        return [_drop_time(v) for v in obj]
    return obj


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts/lists -> {"a.b[0]": leaf}; tensors become NumPy arrays."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(obj, (list, tuple)) and not all(isinstance(v, (int, float, bool)) for v in obj):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    if hasattr(obj, "detach"):  # a torch tensor
        obj = obj.detach().cpu().numpy()
    return {prefix: obj}


def _numeric_gap(a: Any, b: Any) -> float | None:
    """Largest |a - b| over numbers (NaN = NaN), inf if shapes/kinds differ; None if not numeric."""
    try:
        x, y = np.asarray(a), np.asarray(b)
    except Exception:  # noqa: BLE001
        return None
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        return None
    if x.shape != y.shape:
        return float("inf")
    if x.size == 0:
        return 0.0
    x, y = x.astype(float), y.astype(float)
    both_nan = np.isnan(x) & np.isnan(y)
    diff = np.where(both_nan, 0.0, np.abs(x - y))
    return float(np.nanmax(np.where(np.isnan(diff), np.inf, diff)))


def _table(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
    return df.drop(columns=[c for c in TIME_KEYS if c in df.columns and path.name.endswith("_history.csv")])


def compare_outputs(first: str | Path, second: str | Path) -> dict[str, Any]:
    """How ``second`` differs from ``first`` (the same output of two runs).

    Returns ``{"same": bool, "max_abs_diff": float | None, "what": str}``: ``same`` compares bytes, except .npz
    (array by array, so that a difference can be measured), .pt (tensors and values, without the seconds that
    training histories log) and training histories (``*_history.csv``, their ``seconds`` column aside);
    ``max_abs_diff`` is the largest difference of a number where the two are tables/arrays of the same shape
    (None if nothing numeric could be compared).
    """
    first, second = Path(first), Path(second)
    if first.suffix == ".npz":
        with np.load(first) as a, np.load(second) as b:
            fa, fb = {k: a[k] for k in a.files}, {k: b[k] for k in b.files}
    elif first.suffix == ".pt":
        import torch

        fa, fb = (_flatten(_drop_time(torch.load(p, map_location="cpu", weights_only=False))) for p in (first, second))
    elif first.suffix in (".csv", ".tsv"):
        if first.read_bytes() == second.read_bytes():
            return {"same": True, "max_abs_diff": 0.0, "what": "bytes"}
        a, b = _table(first), _table(second)
        if list(a.columns) != list(b.columns) or a.shape != b.shape:
            return {"same": False, "max_abs_diff": float("inf"), "what": f"shape {a.shape} vs {b.shape}"}
        same = first.name.endswith("_history.csv") and a.equals(b)
        gaps = [g for c in a.columns if (g := _numeric_gap(a[c].to_numpy(), b[c].to_numpy())) is not None]
        texts_same = all(a[c].equals(b[c]) for c in a.columns if _numeric_gap(a[c].to_numpy(), b[c].to_numpy()) is None)
        return {"same": same, "max_abs_diff": max(gaps, default=None) if texts_same else float("inf"),
                "what": "numbers" if texts_same else "text cells differ"}
    else:
        same = first.read_bytes() == second.read_bytes()
        return {"same": same, "max_abs_diff": 0.0 if same else None, "what": "bytes"}
    if fa.keys() != fb.keys():
        return {"same": False, "max_abs_diff": float("inf"), "what": f"keys {sorted(set(fa) ^ set(fb))[:5]} differ"}
    gaps, same = [], True
    for k in fa:
        g = _numeric_gap(fa[k], fb[k])
        if g is None:
            equal = bool(np.all(np.asarray(fa[k] == fb[k]))) if not isinstance(fa[k], np.ndarray) else \
                np.array_equal(fa[k], fb[k])
            same = same and equal
            if not equal:
                gaps.append(float("inf"))
        else:
            gaps.append(g)
            same = same and g == 0.0
    return {"same": same, "max_abs_diff": max(gaps, default=0.0), "what": "arrays" if first.suffix == ".npz" else
            "checkpoint"}
