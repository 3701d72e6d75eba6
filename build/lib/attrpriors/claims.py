"""Claims as data: every headline claim of the four papers as a pre-registered test with one verdict per run.

The registry (``workflow/claims.yaml``) holds one entry per claim: the paper's statement and number, the table and
columns our number is read from, the test (paired difference, difference of means, one-sample mean, correlation,
proportion or a bootstrap statistic), the claimed direction and threshold. :func:`evaluate` reads the tables of
one run and gives each claim an estimate with its 95 % interval, ``n`` and a verdict:

* ``reproduced``   the interval lies on the claimed side of the threshold (inside ±margin for ``equivalent``);
* ``contradicted`` the interval lies on the other side (entirely outside ±margin for ``equivalent``);
* ``inconclusive`` the interval includes the threshold (no effect), or there are too few replicates for one;
* ``not run``      the configuration does not make the claim's table (e.g. a cohort left out).

:func:`stability` compares the verdicts of several runs of the same configuration (other base seeds, another
thread count, other CPU kernels): a claim whose verdict differs between them is **unstable**, and
:func:`claims_table` shows it as such instead of its verdict. Pure functions on DataFrames; the file layer is
:func:`run_claims` (the ``claims_table`` rule) and ``scripts/claims_stability.py``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "VERDICTS", "load_registry", "check_registry", "evaluate_claim", "evaluate",
    "stability", "claims_table", "claims_markdown", "run_claims", "n_needed", "n_needed_correlation",
    "config_key", "experiment_config_blocks", "experiment_config_keys", "usable_stability_rows",
]

VERDICTS = ("reproduced", "contradicted", "inconclusive")
NOT_RUN = "not run"
UNSTABLE = "unstable"
KINDS = ("paired", "difference", "one_sample", "correlation", "proportion", "bootstrap", "point", "reported")
DIRECTIONS = ("greater", "less", "equivalent")
ROLES = ("claim", "positive_control", "negative_control")
_ENTRY_KEYS = {"id", "paper", "source", "experiment", "role", "statement", "paper_value", "table", "where",
               "test", "direction", "threshold", "margin", "controls", "unit", "note"}
_TEST_KEYS = {
    "paired": {"kind", "value", "arm", "a", "b", "pair_by", "transform"},
    "difference": {"kind", "value", "group", "a", "b", "transform"},
    "one_sample": {"kind", "value", "transform"},
    "correlation": {"kind", "x", "y"},
    "proportion": {"kind", "success", "equals"},
    "point": {"kind", "value", "arm", "a", "b"},
    "reported": {"kind", "estimate", "low", "high", "n"},
    "bootstrap": {"kind", "statistic", "columns", "resamples", "seed"},
}


class RegistryError(ValueError):
    """A registry entry that cannot be evaluated; the message names the entry and the key."""


# ------------------------------------------------------------------------------------------------ registry
def load_registry(path: str | Path) -> dict[str, Any]:
    """Read and check the claims registry (YAML); raise :class:`RegistryError` naming the file and entry."""
    import yaml

    path = Path(path)
    try:
        reg = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise RegistryError(f"{path}: the claims registry does not exist") from None
    except yaml.YAMLError as err:
        raise RegistryError(f"{path}: not valid YAML: {err}") from None
    try:
        check_registry(reg)
    except RegistryError as err:
        raise RegistryError(f"{path}: {err}") from None
    return reg


def check_registry(reg: Mapping[str, Any]) -> None:
    """Every entry has the keys its test needs, known kinds/directions/roles, unique ids, existing controls."""
    if not isinstance(reg, Mapping) or not isinstance(reg.get("claims"), list) or not reg["claims"]:
        raise RegistryError("needs a non-empty list under 'claims'")
    ids = [c.get("id") for c in reg["claims"] if isinstance(c, Mapping)]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise RegistryError(f"duplicate claim id(s) {dup}")
    for i, c in enumerate(reg["claims"]):
        where = f"claims[{i}] ({c.get('id', 'no id') if isinstance(c, Mapping) else c!r})"
        if not isinstance(c, Mapping):
            raise RegistryError(f"{where}: an entry must be a mapping")
        unknown = set(c) - _ENTRY_KEYS
        if unknown:
            raise RegistryError(f"{where}: unknown key(s) {sorted(unknown)}; allowed {sorted(_ENTRY_KEYS)}")
        for key in ("id", "paper", "source", "experiment", "statement", "paper_value", "table", "test",
                    "direction"):
            if key not in c:
                raise RegistryError(f"{where}: missing key '{key}'")
        if c.get("role", "claim") not in ROLES:
            raise RegistryError(f"{where}: role must be one of {ROLES}, got {c['role']!r}")
        if c["direction"] not in DIRECTIONS:
            raise RegistryError(f"{where}: direction must be one of {DIRECTIONS}, got {c['direction']!r}")
        if c["direction"] == "equivalent" and not float(c.get("margin", 0)) > 0:
            raise RegistryError(f"{where}: direction 'equivalent' needs a margin > 0")
        test = c["test"]
        kind = test.get("kind") if isinstance(test, Mapping) else None
        if kind not in KINDS:
            raise RegistryError(f"{where}: test.kind must be one of {KINDS}, got {kind!r}")
        unknown = set(test) - _TEST_KEYS[kind]
        if unknown:
            raise RegistryError(f"{where}: test.{sorted(unknown)[0]} is not a key of a {kind} test "
                                f"(allowed {sorted(_TEST_KEYS[kind] - {'kind'})})")
        needed = {"paired": ("value", "arm", "a", "b", "pair_by"), "difference": ("value", "group", "a", "b"),
                  "one_sample": ("value",), "correlation": ("x", "y"), "proportion": ("success",),
                  "bootstrap": ("statistic", "columns"), "point": ("value",),
                  "reported": ("estimate", "low", "high")}[kind]
        for key in needed:
            if key not in test:
                raise RegistryError(f"{where}: a {kind} test needs test.{key}")
        if kind == "bootstrap" and test["statistic"] not in BOOTSTRAP_STATISTICS:
            raise RegistryError(f"{where}: test.statistic must be one of {sorted(BOOTSTRAP_STATISTICS)}")
        if test.get("transform", "none") not in ("none", "log10"):
            raise RegistryError(f"{where}: test.transform must be 'none' or 'log10'")
        for role, target in (c.get("controls") or {}).items():
            if role not in ("positive", "negative"):
                raise RegistryError(f"{where}: controls.{role}: only 'positive' and 'negative'")
            if target not in ids:
                raise RegistryError(f"{where}: controls.{role} names {target!r}, which is no claim id")


# ------------------------------------------------------------------------------------------------ statistics
def _t_interval(x: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean and its two-sided t interval; a zero-variance sample gives the point [mean, mean]."""
    from scipy import stats

    n = len(x)
    m = float(np.mean(x))
    if n < 2:
        return m, math.nan, math.nan
    sd = float(np.std(x, ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))
    return m, m - half, m + half


def _welch_interval(a: np.ndarray, b: np.ndarray, confidence: float) -> tuple[float, float, float]:
    from scipy import stats

    m = float(np.mean(a) - np.mean(b))
    if len(a) < 2 or len(b) < 2:
        return m, math.nan, math.nan
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return m, m, m
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df) * se)
    return m, m - half, m + half


def _pearson_interval(x: np.ndarray, y: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Pearson r with the Fisher-z interval (needs n ≥ 4)."""
    from scipy import stats

    n = len(x)
    if n < 3 or np.std(x) == 0 or np.std(y) == 0:
        return math.nan, math.nan, math.nan
    r = float(np.corrcoef(x, y)[0, 1])
    if n < 4:
        return r, math.nan, math.nan
    z, se = math.atanh(min(max(r, -0.999999), 0.999999)), 1 / math.sqrt(n - 3)
    q = float(stats.norm.ppf(0.5 + confidence / 2))
    return r, math.tanh(z - q * se), math.tanh(z + q * se)


def _proportion_interval(successes: int, n: int, confidence: float) -> tuple[float, float, float]:
    from scipy.stats import binomtest

    if n == 0:
        return math.nan, math.nan, math.nan
    ci = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="exact")
    return successes / n, float(ci.low), float(ci.high)


def _sd_ratio(df: pd.DataFrame, columns: Mapping[str, str]) -> float:
    """s.d. of ``numerator`` over s.d. of ``denominator`` across rows (< 1: the numerator varies less)."""
    den = float(np.std(df[columns["denominator"]].to_numpy(float), ddof=1))
    return float(np.std(df[columns["numerator"]].to_numpy(float), ddof=1)) / den if den > 0 else math.nan


def _selection_gain(df: pd.DataFrame, columns: Mapping[str, str]) -> float:
    """``outcome`` (e.g. interpretability) of the model that :func:`attrpriors.consistency.model_selection` picks
    on generalization and consistency jointly (``primary`` + ``secondary``, comma-separated consistency columns)
    minus that of the model it picks on ``primary`` (generalization) alone: the selection rule of the DNA tables."""
    from .consistency import model_selection

    secondary = [c.strip() for c in columns["secondary"].split(",")]
    sel = model_selection(df.reset_index(drop=True), columns["primary"], secondary)
    o = sel[columns["outcome"]].to_numpy(float)
    return float(o[sel["selected_combined"].to_numpy(bool)][0] - o[sel["selected_generalization"].to_numpy(bool)][0])


BOOTSTRAP_STATISTICS = {"sd_ratio": _sd_ratio, "selection_gain": _selection_gain}


def _bootstrap_interval(df: pd.DataFrame, statistic: str, columns: Mapping[str, str], resamples: int,
                        seed: int, confidence: float) -> tuple[float, float, float]:
    """The statistic on the rows and its percentile interval over ``resamples`` resamples of the rows."""
    fn = BOOTSTRAP_STATISTICS[statistic]
    est = fn(df, columns)
    if len(df) < 3:
        return est, math.nan, math.nan
    rng = np.random.default_rng(seed)
    reps = np.array([fn(df.iloc[rng.integers(0, len(df), len(df))].reset_index(drop=True), columns)
                     for _ in range(int(resamples))])
    reps = reps[np.isfinite(reps)]
    if len(reps) < 0.5 * resamples:
        return est, math.nan, math.nan
    lo, hi = np.quantile(reps, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return est, float(lo), float(hi)


def n_needed(effect: float, sd: float, threshold: float = 0.0, power: float = 0.8,
             confidence: float = 0.95) -> float:
    """Replicates a paired / one-sample t interval needs to exclude ``threshold`` with probability ``power`` if
    the true mean is ``effect`` with s.d. ``sd``: the smallest n ≥ 2 with (t_{n−1, 1−α/2} + z_power) · sd / √n
    < |effect − threshold| (inf when the effect equals the threshold; capped at 100,000)."""
    from scipy import stats

    gap = abs(effect - threshold)
    if not (np.isfinite(gap) and np.isfinite(sd)) or gap == 0:
        return math.inf
    zb = stats.norm.ppf(power)
    n = 2
    while n <= 100_000:
        if (stats.t.ppf(0.5 + confidence / 2, n - 1) + zb) * sd / math.sqrt(n) < gap:
            return float(n)
        n = n + 1 if n < 200 else int(n * 1.05) + 1
    return math.inf


def n_needed_correlation(r: float, threshold: float = 0.0, power: float = 0.8, confidence: float = 0.95) -> float:
    """Models a Fisher-z interval of a Pearson r needs to exclude ``threshold`` at ``power`` if the true r is
    ``r``: ⌈((z_{1−α/2} + z_power) / |atanh r − atanh threshold|)²⌉ + 3."""
    from scipy import stats

    if not np.isfinite(r) or abs(r) >= 1:
        return math.inf
    gap = abs(math.atanh(r) - math.atanh(threshold))
    if gap == 0:
        return math.inf
    z = stats.norm.ppf(0.5 + confidence / 2) + stats.norm.ppf(power)
    return float(math.ceil((z / gap) ** 2) + 3)


# ------------------------------------------------------------------------------------------------ one claim
def _filter(df: pd.DataFrame, where: Mapping[str, Any] | None, claim_id: str, table: str) -> pd.DataFrame:
    """Rows matching every ``where`` condition: ``col: value`` or ``col: [values]`` (equality, compared as text
    unless both sides are numbers), ``col: {gt: x}`` / ``{lt: x}`` / ``{ne: x}``, or ``col: {op: max|min}`` (the
    rows at the column's largest / smallest value, e.g. the largest number of nuisance features a config has)."""
    for col, val in (where or {}).items():
        if col not in df.columns:
            raise RegistryError(f"claim {claim_id}: where.{col}: {table} has no column {col!r} "
                                f"(columns: {list(df.columns)})")
        col_vals = df[col]
        if isinstance(val, Mapping):
            if set(val) - {"gt", "lt", "ne", "op"}:
                raise RegistryError(f"claim {claim_id}: where.{col}: operators are gt, lt, ne, op (max|min)")
            keep = pd.Series(True, index=df.index)
            if "gt" in val:
                keep &= col_vals.astype(float) > float(val["gt"])
            if "lt" in val:
                keep &= col_vals.astype(float) < float(val["lt"])
            if "ne" in val:
                keep &= col_vals.astype(str) != str(val["ne"])
            if "op" in val:
                if val["op"] not in ("max", "min"):
                    raise RegistryError(f"claim {claim_id}: where.{col}.op must be max or min")
                target = col_vals.max() if val["op"] == "max" else col_vals.min()
                keep &= col_vals == target
            df = df[keep]
            continue
        vals = val if isinstance(val, list) else [val]
        if pd.api.types.is_numeric_dtype(col_vals) and all(isinstance(v, (int, float)) for v in vals):
            df = df[col_vals.isin(vals)]
        else:
            df = df[col_vals.astype(str).isin([str(v) for v in vals])]
    return df


def _need(df: pd.DataFrame, cols: Iterable[str], claim_id: str, table: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise RegistryError(f"claim {claim_id}: {table} has no column(s) {missing} (columns: {list(df.columns)})")


def _values(series: pd.Series, transform: str) -> np.ndarray:
    v = series.to_numpy(float)
    return np.log10(v) if transform == "log10" else v


def verdict_of(estimate: float, low: float, high: float, direction: str, threshold: float = 0.0,
               margin: float = 0.0) -> str:
    """reproduced / contradicted / inconclusive from the interval [low, high] (NaN interval: inconclusive)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "inconclusive"
    if direction == "greater":
        return "reproduced" if low > threshold else ("contradicted" if high < threshold else "inconclusive")
    if direction == "less":
        return "reproduced" if high < threshold else ("contradicted" if low > threshold else "inconclusive")
    if direction == "equivalent":
        lo_m, hi_m = threshold - margin, threshold + margin
        if lo_m < low and high < hi_m:
            return "reproduced"
        return "contradicted" if (low > hi_m or high < lo_m) else "inconclusive"
    raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")


def evaluate_claim(claim: Mapping[str, Any], df: pd.DataFrame | None, confidence: float = 0.95) -> dict[str, Any]:
    """Estimate, interval, n, verdict (and the replicates an interval would need) of one claim on its table.

    ``df`` is the claim's table, or None when this configuration does not make it (verdict ``not run``). A paired
    or difference test with several baselines (``b`` a list) is an intersection–union test: reproduced only if it
    holds against every baseline; the reported estimate is the one against the baseline closest to the threshold.
    """
    cid, test = claim["id"], claim["test"]
    kind, direction = test["kind"], claim["direction"]
    threshold, margin = float(claim.get("threshold", 0.0)), float(claim.get("margin", 0.0))
    out = {"id": cid, "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0, "sd": math.nan,
           "verdict": NOT_RUN, "detail": ""}
    if df is None:
        out["detail"] = f"{table_key(claim['table'])} is not made by this configuration"
        return out
    df = _filter(df, claim.get("where"), cid, claim["table"])
    transform = test.get("transform", "none")
    results = []  # (estimate, low, high, n, sd, label) per comparison
    if kind == "paired":
        _need(df, [test["value"], test["arm"], *np.atleast_1d(test["pair_by"])], cid, claim["table"])
        keys = list(np.atleast_1d(test["pair_by"]))
        wide = df.pivot_table(index=keys, columns=test["arm"], values=test["value"], aggfunc="mean")
        wide.columns = wide.columns.astype(str)
        a = str(test["a"])
        for b in np.atleast_1d(test["b"]):
            absent = [x for x in (a, str(b)) if x not in wide.columns]
            if absent:  # e.g. no λ met the selection criterion, or a config without that arm
                results.append((math.nan, math.nan, math.nan, 0, math.nan,
                                f"no rows with {test['arm']} = {absent[0]!r} (arms: {sorted(wide.columns)})"))
                continue
            pair = wide[[a, str(b)]].dropna()
            diff = _values(pair[a], transform) - _values(pair[str(b)], transform)
            est, lo, hi = _t_interval(diff, confidence)
            sd = float(np.std(diff, ddof=1)) if len(diff) > 1 else math.nan
            results.append((est, lo, hi, len(diff), sd, f"vs {b}"))
    elif kind == "difference":
        _need(df, [test["value"], test["group"]], cid, claim["table"])
        groups = df[test["group"]].astype(str)
        a_vals = _values(df.loc[groups.isin([str(v) for v in np.atleast_1d(test["a"])]), test["value"]], transform)
        # a and b are group values or lists of them (pooled): one comparison of two groups
        b_vals = _values(df.loc[groups.isin([str(v) for v in np.atleast_1d(test["b"])]), test["value"]], transform)
        est, lo, hi = _welch_interval(a_vals, b_vals, confidence) if len(a_vals) and len(b_vals) else \
            (math.nan,) * 3
        results.append((est, lo, hi, len(a_vals) + len(b_vals), math.nan,
                        f"Welch, {len(a_vals)} vs {len(b_vals)}"))
    elif kind == "one_sample":
        _need(df, [test["value"]], cid, claim["table"])
        v = _values(df[test["value"]].dropna(), transform)
        est, lo, hi = _t_interval(v, confidence)
        results.append((est, lo, hi, len(v), float(np.std(v, ddof=1)) if len(v) > 1 else math.nan, ""))
    elif kind == "correlation":
        _need(df, [test["x"], test["y"]], cid, claim["table"])
        d = df[[test["x"], test["y"]]].dropna()
        est, lo, hi = _pearson_interval(d[test["x"]].to_numpy(float), d[test["y"]].to_numpy(float), confidence)
        results.append((est, lo, hi, len(d), math.nan, "Pearson r, Fisher-z interval"))
    elif kind == "proportion":
        _need(df, [test["success"]], cid, claim["table"])
        col = df[test["success"]].dropna()
        s = (col.astype(str) == str(test["equals"])) if "equals" in test else col.astype(bool)
        est, lo, hi = _proportion_interval(int(s.sum()), len(s), confidence)
        results.append((est, lo, hi, len(s), math.nan, f"{int(s.sum())}/{len(s)}, exact interval"))
    elif kind == "bootstrap":
        cols = dict(test["columns"])
        used = list(dict.fromkeys(c.strip() for v in cols.values() for c in str(v).split(",")))
        _need(df, used, cid, claim["table"])
        d = df[used].dropna().reset_index(drop=True)
        est, lo, hi = _bootstrap_interval(d, test["statistic"], cols, int(test.get("resamples", 2000)),
                                          int(test.get("seed", 0)), confidence)
        results.append((est, lo, hi, len(d), math.nan, f"bootstrap over {len(d)} rows"))
    elif kind == "point":  # one value per arm, no replicates: the paper's own protocol (one model per setting)
        if "arm" in test:
            _need(df, [test["value"], test["arm"]], cid, claim["table"])
            arms = df[test["arm"]].astype(str)
            va = df.loc[arms == str(test["a"]), test["value"]].astype(float)
            for b in np.atleast_1d(test.get("b", [])):
                vb = df.loc[arms == str(b), test["value"]].astype(float)
                if len(va) == 0 or len(vb) == 0:  # an arm this configuration does not run
                    results.append((math.nan, math.nan, math.nan, 0, math.nan,
                                    f"no row with {test['arm']} = {str(b) if len(va) else str(test['a'])!r}"))
                    continue
                if len(va) != 1 or len(vb) != 1:
                    raise RegistryError(f"claim {cid}: a point test needs one row per arm; {claim['table']} has "
                                        f"{len(va)} for {test['a']!r} and {len(vb)} for {b!r} after the filter")
                est = float(va.iloc[0] - vb.iloc[0])
                results.append((est, est, est, 1, math.nan, f"vs {b}; one value each, no interval"))
        else:
            _need(df, [test["value"]], cid, claim["table"])
            v = df[test["value"]].dropna().astype(float)
            if len(v) != 1:
                raise RegistryError(f"claim {cid}: a point test needs one row; {claim['table']} has {len(v)}")
            est = float(v.iloc[0])
            results.append((est, est, est, 1, math.nan, "one value, no interval"))
    elif kind == "reported":  # an interval a table already reports (e.g. a per-cell t interval)
        _need(df, [test["estimate"], test["low"], test["high"]], cid, claim["table"])
        if len(df) != 1:
            raise RegistryError(f"claim {cid}: a reported test needs one row; {claim['table']} has {len(df)}")
        r = df.iloc[0]
        n = int(r[test["n"]]) if "n" in test and test["n"] in df else 0
        results.append((float(r[test["estimate"]]), float(r[test["low"]]), float(r[test["high"]]), n, math.nan,
                        "interval as reported by the table"))
    if not results or all(r[3] == 0 for r in results):
        out.update(verdict="inconclusive", detail="; ".join(r[5] for r in results if r[5]) or
                   "no rows after the filter")
        return out
    absent = [r[5] for r in results if r[3] == 0]  # baselines this configuration does not run: left out
    results = [r for r in results if r[3] > 0]
    verdicts = [verdict_of(e, lo, hi, direction, threshold, margin) for e, lo, hi, *_ in results]
    if "contradicted" in verdicts:
        pick = verdicts.index("contradicted")
    elif all(v == "reproduced" for v in verdicts):  # the weakest of the comparisons
        gaps = [abs((lo if direction == "greater" else hi) - threshold) for _, lo, hi, *_ in results]
        pick = int(np.argmin(gaps))
    else:
        pick = next(i for i, v in enumerate(verdicts) if v == "inconclusive")
    est, lo, hi, n, sd, label = results[pick]
    verdict = verdicts[pick]
    detail = label + (f" (left out, not run: {'; '.join(absent)})" if absent else "")
    if n < 2 and kind in ("paired", "one_sample", "difference"):
        detail = (detail + "; " if detail else "") + f"n = {n}: no interval"
    elif kind in ("paired", "one_sample") and np.isfinite(sd) and sd == 0:
        detail = (detail + "; " if detail else "") + f"the same value in all {n} replicates"
    out.update(estimate=est, ci_low=lo, ci_high=hi, n=int(n), sd=sd, verdict=verdict, detail=detail)
    return out


def evaluate(reg: Mapping[str, Any], tables: Mapping[str, pd.DataFrame | None],
             confidence: float = 0.95) -> pd.DataFrame:
    """One row per registry claim: estimate, interval, n, verdict. ``tables`` maps a registry table path to its
    DataFrame, or to None when the configuration does not make it."""
    rows = []
    for claim in reg["claims"]:
        key = table_key(claim["table"])
        if key not in tables:
            raise RegistryError(f"claim {claim['id']}: table {key} was not read")
        rows.append(evaluate_claim(claim, tables[key], confidence))
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ stability
def stability(runs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Verdicts of several runs side by side (one column per run) and whether they agree.

    ``runs`` maps a run label (e.g. ``seed1``, ``threads2``) to that run's :func:`evaluate` table. A claim is
    ``stable`` when every run that made its table gave the same verdict, ``unstable`` when two differ, and
    ``not measured`` when fewer than two runs made it.
    """
    labels = list(runs)
    wide = pd.concat([r.set_index("id")["verdict"].rename(lab) for lab, r in runs.items()], axis=1)
    status = []
    for _, row in wide.iterrows():
        seen = [v for v in row if isinstance(v, str) and v != NOT_RUN]
        status.append("not measured" if len(seen) < 2 else ("stable" if len(set(seen)) == 1 else UNSTABLE))
    wide = wide.reset_index().rename(columns={"index": "id"})
    wide.insert(1, "stability", status)
    wide.insert(2, "n_runs", [sum(isinstance(v, str) and v != NOT_RUN for v in row) for row in
                              wide[labels].itertuples(index=False)])
    return wide


def run_columns(record: pd.DataFrame) -> list[str]:
    """The per-run verdict columns of a stability record (seed0, seed1, threads2, …)."""
    meta = {"id", "stability", "n_runs", "experiment", "config_key", "commit"}
    return [c for c in record.columns if c not in meta and not c.startswith("wall_s_")]


# ------------------------------------------------------------------------------------------------ tables
def _fmt(x: float, digits: int = 3) -> str:
    if not np.isfinite(x):
        return "—"
    return f"{x:.{digits}g}" if abs(x) < 1e4 else f"{x:.3g}"


def claims_table(reg: Mapping[str, Any], results: pd.DataFrame, stable: pd.DataFrame | None = None
                 ) -> pd.DataFrame:
    """The claims table: one row per claim with the paper's value, ours (estimate [95 % CI], n), the verdict
    (``unstable`` where the stability runs disagree) and the verdicts of the experiment's controls beside it."""
    res = results.set_index("id")
    st = stable.set_index("id") if stable is not None and len(stable) else None
    rows = []
    for c in reg["claims"]:
        r = res.loc[c["id"]]
        verdict = r["verdict"]
        stab = "not measured"
        if st is not None and c["id"] in st.index:
            stab = str(st.loc[c["id"], "stability"])
            if stab == UNSTABLE and verdict != NOT_RUN:
                runs = run_columns(st.reset_index())
                verdict = UNSTABLE
                stab = "unstable: " + ", ".join(f"{k} {st.loc[c['id'], k]}" for k in runs
                                                if isinstance(st.loc[c["id"], k], str))
        threshold, direction = float(c.get("threshold", 0.0)), c["direction"]
        if direction == "equivalent":
            wanted = f"within ±{_fmt(float(c['margin']))} of {_fmt(threshold)}"
        else:
            wanted = f"{'>' if direction == 'greater' else '<'} {_fmt(threshold)}"
        if r["verdict"] == NOT_RUN:
            ours = "—"
        else:
            ours = f"{_fmt(r['estimate'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
        needs = ""
        if r["verdict"] == "inconclusive" or verdict == UNSTABLE:
            target = threshold if direction != "equivalent" else (
                threshold + float(c["margin"]) * (1 if r["estimate"] < threshold else -1))
            k = math.nan
            if c["test"]["kind"] in ("paired", "one_sample") and np.isfinite(r["sd"]) and r["sd"] > 0:
                k = n_needed(r["estimate"], r["sd"], target)
                how = "from the observed s.d."
            elif c["test"]["kind"] == "correlation":
                k = n_needed_correlation(r["estimate"], target)
                how = "if r is the observed r"
            if np.isfinite(k):
                needs = f"needs n ≈ {int(k)} ({how}, 80 % power)"
            elif not np.isnan(k):
                needs = "no effect observed: more replicates would not decide it"
        controls = {}
        for role in ("positive", "negative"):
            target = (c.get("controls") or {}).get(role)
            controls[role] = "" if not target else f"{target}: {res.loc[target, 'verdict']}"
        rows.append({
            "id": c["id"], "role": c.get("role", "claim"), "paper": c["paper"], "source": c["source"],
            "experiment": c["experiment"], "claim": c["statement"], "paper_value": c["paper_value"],
            "test": f"{c['test']['kind']}: effect {wanted}", "ours": ours, "n": int(r["n"]),
            "verdict": verdict, "stability": stab, "positive_control": controls["positive"],
            "negative_control": controls["negative"], "needs": needs, "detail": r["detail"],
            "table": table_key(c["table"]), "estimate": r["estimate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
            "verdict_this_run": r["verdict"],
        })
    return pd.DataFrame(rows)


def claims_markdown(table: pd.DataFrame, stability_source: str = "") -> str:
    """Markdown of :func:`claims_table`: a count of verdicts, the claims, then the controls."""
    counts = table.loc[table["role"] == "claim", "verdict"].value_counts()
    order = ["reproduced", "contradicted", "inconclusive", UNSTABLE, NOT_RUN]
    head = ", ".join(f"**{counts.get(v, 0)} {v}**" for v in order if counts.get(v, 0))
    lines = [
        "# Claims: pre-registered tests of the papers' headline claims",
        "",
        f"{(table['role'] == 'claim').sum()} claims: {head}. Each row is one entry of `workflow/claims.yaml`, "
        "tested on this run's tables: *ours* is the estimate with its 95 % interval over *n* replicates; "
        "**reproduced** = the interval lies on the claimed side of the threshold, **contradicted** = on the other "
        "side, **inconclusive** = it includes the threshold (no effect) or n is too small, **unstable** = the "
        "verdict differs between runs at other seeds / thread counts / CPU kernels.",
        "",
        f"Stability: {stability_source or 'no stability runs for this configuration (make claims-stability)'}.",
        "",
    ]
    cols = ["id", "where", "claim", "paper_value", "test", "ours", "n", "verdict", "stability",
            "positive_control", "negative_control", "needs"]
    table = table.assign(where=table["paper"] + ", " + table["source"])
    for role, title in (("claim", "Claims"), ("positive_control", "Positive controls"),
                        ("negative_control", "Negative controls")):
        sub = table[table["role"] == role]
        if not len(sub):
            continue
        shown = sub[cols].copy()
        shown["verdict"] = shown["verdict"].map(lambda v: f"**{v}**")
        lines += [f"## {title}", "", shown.to_markdown(index=False), ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ file layer
def table_key(spec: str | list[str]) -> str:
    """The key of a registry ``table``: a path, a glob pattern, or a list of them (read and concatenated)."""
    return spec if isinstance(spec, str) else " + ".join(spec)


def read_run_tables(reg: Mapping[str, Any], root: str | Path = ".", available: Iterable[str] | None = None
                    ) -> dict[str, pd.DataFrame | None]:
    """Each registry table of the run in ``root`` (paths relative to it), or None where the run did not make it.

    ``available``: the files this run makes that the claims may read (the claims rule's inputs: the final outputs
    and the intermediate tables the experiments declare with ``claim_inputs()``). Only those are read, so a table
    left in the folder by another configuration (a cohort since removed, the seeds of an earlier, larger run) is
    never mistaken for this run's. A glob pattern (``*``, ``?``, ``[..]``) reads every available match in name
    order and concatenates them; no match: None. Without ``available`` (a stand-alone scoring of a finished run
    folder, e.g. the stability variants) every file on disk that matches is read.
    """
    import glob as _glob
    from pathlib import PurePosixPath

    from .io import read_table

    root = Path(root)
    avail = None if available is None else sorted({str(PurePosixPath(p)) for p in available})
    out: dict[str, pd.DataFrame | None] = {}
    for c in reg["claims"]:
        key = table_key(c["table"])
        if key in out:
            continue
        frames = []
        for spec in ([c["table"]] if isinstance(c["table"], str) else c["table"]):
            if avail is None:
                paths = sorted(root.glob(spec)) if _glob.has_magic(spec) else [root / spec]
            else:
                paths = [root / p for p in avail if PurePosixPath(p).match(spec) and len(PurePosixPath(p).parts)
                         == len(PurePosixPath(spec).parts)]
            frames += [read_table(p) for p in paths if p.exists()]
        out[key] = pd.concat(frames, ignore_index=True) if frames else None
    return out


def usable_stability_rows(record: pd.DataFrame, config_keys: Mapping[str, str]) -> tuple[pd.DataFrame, list[str]]:
    """The rows of a stability record measured on this run's configuration: a row is used when its
    ``config_key`` equals the current key of its ``experiment`` (``config_keys``, :func:`experiment_config_keys`).
    Returns those rows and the experiments whose rows were left out (their config changed since)."""
    if not {"config_key", "experiment"} <= set(record.columns):
        return record.iloc[0:0], sorted(set(record.get("experiment", pd.Series(dtype=str)).astype(str)))
    want = record["experiment"].astype(str).map(lambda e: config_keys.get(e, ""))
    ok = record["config_key"].astype(str) == want
    return record[ok].reset_index(drop=True), sorted(set(record.loc[~ok, "experiment"].astype(str)))


def run_claims(registry: str, tables: Iterable[str], out_csv: str, out_md: str, stability_csv: str | None = None,
               config_keys: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The ``claims_table`` rule: evaluate the registry on this run's ``tables`` and write claims.{csv,md}.

    ``stability_csv`` (optional) is a stability record (``scripts/claims_stability.py``); each of its rows is used
    only if it was measured on this run's configuration of that claim's experiment (``config_keys``: experiment →
    :func:`config_key` of the blocks it depends on; :func:`usable_stability_rows`).
    """
    import logging

    from .io import atomic_path, read_table, save_table

    log = logging.getLogger(__name__)
    reg = load_registry(registry)
    keys = dict(config_keys or {})
    avail = set(tables)
    res = evaluate(reg, read_run_tables(reg, ".", avail), float(reg.get("confidence", 0.95)))
    stable, source = None, ""
    if stability_csv and Path(stability_csv).exists():
        rec = read_table(stability_csv)
        stable, stale = usable_stability_rows(rec, keys)
        parts = []
        if len(stable):
            runs = run_columns(stable)
            commit = ", ".join(sorted(set(stable["commit"].astype(str)))) if "commit" in stable else "?"
            parts.append(f"`{stability_csv}` (runs {', '.join(runs)}; code at {commit}) for "
                         + ", ".join(sorted(set(stable["experiment"].astype(str)))))
        if stale:
            parts.append(f"its rows of {', '.join(stale)} were measured on another configuration of that experiment "
                         "(config key differs); not used")
        source = "; ".join(parts)
    table = claims_table(reg, res, stable)
    table["config_key"] = table["experiment"].map(lambda e: keys.get(e, ""))
    save_table(table, out_csv)
    with atomic_path(out_md) as tmp:
        tmp.write_text(claims_markdown(table, source) + "\n")
    for _, r in table.iterrows():
        log.info("%s: %s (%s)", r["id"], r["verdict"], r["ours"])
    return table


#: top-level config keys that change no claim's result (and are therefore left out of every key)
_NEUTRAL_KEYS = ("seed", "device", "use_gpu", "progress")


def config_key(config: Mapping[str, Any], blocks: Iterable[str] | None = None) -> str:
    """A short hash of a configuration without its base seed, device and progress settings: stability runs at
    other seeds share the key of the run they check. ``blocks``: hash only these top-level blocks (one
    experiment's, :func:`experiment_config_blocks`), so that editing another experiment's block leaves this
    experiment's key, and its stability record, valid."""
    import hashlib
    import json

    keep = None if blocks is None else set(blocks)
    relevant = {k: v for k, v in config.items() if k not in _NEUTRAL_KEYS and (keep is None or k in keep)}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:12]


def experiment_config_blocks(rules_dir: str | Path, experiment: str, config: Mapping[str, Any]) -> list[str]:
    """The top-level config blocks an experiment's results depend on, read from its rule files
    (``<rules_dir>/<experiment>.smk`` and ``helpers/<experiment>.smk``): its own block, every block they name as
    ``config["…"]``, and the block of every other rule file whose outputs they consume (a ``rules.<module>_``
    reference or a ``/<module>/`` results or resources path, e.g. the RNA-seq data layer's ``rnaseq``)."""
    import re

    rules_dir = Path(rules_dir)
    text = "\n".join(f.read_text() for f in (rules_dir / f"{experiment}.smk", rules_dir / "helpers" / f"{experiment}.smk")
                     if f.exists())
    if not text:
        raise FileNotFoundError(f"no rule file {rules_dir / (experiment + '.smk')} for experiment {experiment!r}")
    blocks = {experiment} | set(re.findall(r'config\[["\']([A-Za-z_]\w*)["\']\]', text))
    for module in (f.stem for f in rules_dir.glob("*.smk")):
        if module != experiment and module in config and (f"rules.{module}_" in text or f"/{module}/" in text):
            blocks.add(module)
    return sorted(b for b in blocks if b in config and b not in _NEUTRAL_KEYS)


def experiment_config_keys(config: Mapping[str, Any], rules_dir: str | Path,
                           experiments: Iterable[str]) -> dict[str, str]:
    """``experiment → config_key`` of the blocks it depends on (:func:`experiment_config_blocks`)."""
    return {e: config_key(config, experiment_config_blocks(rules_dir, e, config)) for e in dict.fromkeys(experiments)}
