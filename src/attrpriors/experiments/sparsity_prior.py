"""Experiment A4: the sparsity attribution prior (Erion et al. 2019, Fig. 3; supplement Figs. 13–14).

An MLP is trained for a fixed number of epochs (the paper's protocol: fixed training rounds, no early stopping)
with one regulariser at a time, each swept over its own grid of strengths:

* ``gini`` — the sparse attribution prior Ω = −Gini(φ̄) on expected gradients (k batch-rolled references);
* ``l1_eg`` / ``l2_eg`` — ‖φ̄‖₁ / ‖φ̄‖₂² on expected gradients;
* ``l1_first`` / ``l1_all`` — L1 on the first layer's / every layer's weights;
* ``sgl`` — sparse group lasso on the first layer (one group per input feature);
* ``dropout`` — dropout rate after every hidden layer (a linear grid);
* ``unregularized`` — no penalty (repeated over seeds).

Gini normalisation: G(φ̄) = Σᵢ Σⱼ |φ̄ᵢ − φ̄ⱼ| / (2 p Σᵢ φ̄ᵢ) = 1 − 2 × (area under the Lorenz curve), in
[0, 1 − 1/p] (:func:`attrpriors.priors.gini`, :func:`attrpriors.evaluation.lorenz_gini`). The paper writes
Ω_sparse = −Σᵢ Σⱼ |φ̄ᵢ − φ̄ⱼ| / (n Σᵢ φ̄ᵢ) = −2G with n = p; we train on −G (the factor 2 is absorbed by λ) and
report G. φ̄ is the mean |EG| over the evaluated samples, explaining the logit of each sample's true class.

A run whose loss or outputs become NaN/inf is retried with a new seed up to ``retries`` times, then skipped and
listed in the failed-runs table. The small-data experiment subsamples 100 training / 100 validation patients,
tunes each penalty's strength on validation loss, retrains ``restarts`` models with the best strength and
averages the test ROC-AUC of the ``top`` models by validation loss; paired t-tests compare the sparse prior with
each other model type across subsamples.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..data.clinical import load_breast_cancer_table, load_nhanes, standardize
from ..io import load_npz, read_json, read_table, save_json, save_npz, save_table
from ..seeds import derive_seed, seed_everything
from ..stats import auroc

log = logging.getLogger("attrpriors.sparsity_prior")

EXPERIMENT = "sparsity_prior"
DATA_KEYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "X_train_raw", "X_val_raw", "X_test_raw",
             "feature_names")
ATTRIBUTION_PENALTIES = {"gini": "gini", "l1_eg": "l1", "l2_eg": "l2"}
WEIGHT_PENALTIES = ("l1_first", "l1_all", "sgl")
PENALTIES = ("unregularized", "gini", "l1_eg", "l2_eg", "l1_first", "l1_all", "sgl", "dropout")
LABELS = {
    "gini": "sparse attribution prior (−Gini)",
    "l1_eg": "L1 on EG",
    "l2_eg": "L2 on EG",
    "l1_first": "L1 first layer",
    "l1_all": "L1 all layers",
    "sgl": "sparse group lasso",
    "dropout": "dropout",
    "unregularized": "unregularized",
}
COLORS = {p: f"C{i}" for i, p in enumerate(("gini", "l1_first", "l1_all", "sgl", "l1_eg", "l2_eg", "dropout"))}
COLORS["unregularized"] = "k"
SWEEP_METRICS = ("val_auc", "val_loss", "val_gini", "test_auc", "test_loss", "test_gini")


# --------------------------------------------------------------------------------------------------- data
def make_data(source: str, params: Mapping, seed: int, out: str, nhanes_files: Sequence[str] = ()) -> None:
    """Split the table into train/validation/test and standardise with the training statistics.

    ``params``: ``split`` (``test``, then ``val`` as a fraction of the rest) and, for NHANES, ``horizon_years``.
    The raw (unstandardised) splits are kept for the small-data subsamples, which standardise on their own
    training rows.
    """
    if source == "bundled":
        X, y = load_breast_cancer_table()
        name = "breast_cancer"
    elif source == "download":
        if len(nhanes_files) != 2:
            raise ValueError(f"NHANES needs 2 files (features, follow-up), got {list(nhanes_files)}")
        X, y = load_nhanes(*nhanes_files, horizon_years=params.get("horizon_years", 10))
        name = "nhanes_i"
    else:
        raise ValueError(f"sparsity_prior.data.source must be 'bundled' or 'download', got {source!r}")
    rng = np.random.default_rng(derive_seed(seed, EXPERIMENT, "split"))
    perm = rng.permutation(len(y))
    n_test = int(round(params["split"]["test"] * len(y)))
    n_val = int(round(params["split"]["val"] * (len(y) - n_test)))
    te, va, tr = perm[:n_test], perm[n_test : n_test + n_val], perm[n_test + n_val :]
    raw = X.to_numpy(dtype=np.float64)
    Xtr, Xva, Xte = standardize(raw[tr], raw[va], raw[te])
    save_npz(out, X_train=Xtr, y_train=y[tr], X_val=Xva, y_val=y[va], X_test=Xte, y_test=y[te],
             X_train_raw=raw[tr], X_val_raw=raw[va], X_test_raw=raw[te],
             feature_names=np.array(list(X.columns), dtype=str), dataset=np.array(name))
    log.info("%s: %d train / %d val / %d test patients, %d features, positive rate %.3f", name, len(tr), len(va),
             len(te), raw.shape[1], float(y.mean()))


# --------------------------------------------------------------------------------------------- training
def fit_penalized(penalty: str, strength: float, X: np.ndarray, y: np.ndarray, model_spec: Mapping,
                  training: Mapping, n_references: int, seed: int, device: str, description: str = "fit"):
    """Train one MLP classifier with ``penalty`` at ``strength`` for the configured epochs; returns the model.

    Raises ``FloatingPointError`` when the training loss becomes NaN/inf (the fit loop checks every epoch).
    """
    from ..models import build_model
    from ..priors import AttributionPrior, make_weight_penalty
    from ..training import FitConfig, fit

    if penalty not in PENALTIES:
        raise ValueError(f"unknown sparsity penalty {penalty!r}; known: {list(PENALTIES)}")
    seed_everything(seed)
    spec = dict(model_spec)
    if penalty == "dropout":
        spec["dropout"] = float(strength)
    model = build_model(spec, X.shape[1], 2)
    prior, weight_penalty, prior_weight = None, None, 0.0
    if penalty in ATTRIBUTION_PENALTIES:
        prior = AttributionPrior(ATTRIBUTION_PENALTIES[penalty], n_references=n_references,
                                 seed=derive_seed(seed, "prior"))
        prior_weight = float(strength)
    elif penalty in WEIGHT_PENALTIES:
        weight_penalty = make_weight_penalty(penalty, strength)
    cfg = FitConfig.from_mapping(training, prior_weight=prior_weight, seed=seed, device=device)
    return fit(model, X, y, task="classification", config=cfg, prior=prior, weight_penalty=weight_penalty,
               description=description).model


def score(model, X: np.ndarray, y: np.ndarray, background: np.ndarray, n_references: int | None, seed: int
          ) -> dict:
    """Log-loss and ROC-AUC on ``(X, y)``; with ``n_references``, also φ̄ (mean |EG|, true class) and its Gini.

    Raises ``FloatingPointError`` when any output or attribution is not finite.
    """
    import torch
    from ..attributions import expected_gradients
    from ..priors import gini
    from ..training import predict

    logits = predict(model, X)
    if not np.all(np.isfinite(logits)):
        raise FloatingPointError("the model's outputs are not finite")
    logp = torch.log_softmax(torch.as_tensor(logits, dtype=torch.float64), dim=1).numpy()
    out = {"loss": float(-logp[np.arange(len(y)), y].mean()),
           "auc": auroc(y, logp[:, 1])}
    if n_references:
        dev = next(model.parameters()).device
        gen = torch.Generator().manual_seed(seed)
        phi = expected_gradients(model, torch.as_tensor(X).to(dev), torch.as_tensor(y).to(dev),
                                 torch.as_tensor(background).to(dev), n_samples=n_references, generator=gen)
        phibar = phi.abs().mean(0).detach().cpu().numpy().astype(np.float64)
        if not np.all(np.isfinite(phibar)):
            raise FloatingPointError("the attributions are not finite")
        out["phibar"] = phibar
        out["gini"] = float(gini(torch.as_tensor(phibar), eps=0.0)) if phibar.sum() > 0 else 0.0
    return out


def _attempts(fn, retries: int, base_seed: int, what: str):
    """Call ``fn(seed)`` with a new seed after each non-finite failure; ``(result or None, attempts)``."""
    for attempt in range(1, retries + 2):
        s = base_seed if attempt == 1 else derive_seed(base_seed, "retry", attempt)
        try:
            return fn(s), attempt
        except FloatingPointError as err:
            log.warning("%s: attempt %d failed (%s)", what, attempt, err)
    return None, retries + 1


def train_sweep(data: str, penalty: str, strength: float, strength_index: int, seeds: int, model_spec: Mapping,
                training: Mapping, n_references: int, eval_references: int, retries: int, seed: int, device: str,
                out_metrics: str, out_phibar: str) -> None:
    """Train and score ``seeds`` models for one (penalty, strength) of the sweep; NaN runs retried, then skipped."""
    d = load_npz(data, DATA_KEYS)
    ids = {"experiment": EXPERIMENT, "model": f"{penalty}_{strength_index}", "penalty": penalty,
           "strength": float(strength)}
    rows, phis = [], {"val": [], "test": []}
    for trial in range(seeds):
        what = f"{penalty} strength {strength:g} seed {trial}"

        def run_once(s):
            model = fit_penalized(penalty, strength, d["X_train"], d["y_train"], model_spec, training, n_references,
                                  s, device, description=what)
            return {split: score(model, d[f"X_{split}"], d[f"y_{split}"], d["X_train"], eval_references,
                                 derive_seed(s, "eg", split)) for split in ("val", "test")}

        res, attempts = _attempts(run_once, retries, derive_seed(seed, EXPERIMENT, penalty, strength_index, trial),
                                  what)
        status = "ok" if res is not None else "skipped"
        for split in ("val", "test"):
            for m in ("auc", "loss", "gini"):
                rows.append({**ids, "seed": trial, "metric": f"{split}_{m}",
                             "value": res[split][m] if res else np.nan, "attempts": attempts, "status": status})
            phis[split].append(res[split]["phibar"] if res else np.full(d["X_train"].shape[1], np.nan))
        if res:
            log.info("%s: val AUC %.4f, test AUC %.4f, test Gini %.3f (%d attempt(s))", what, res["val"]["auc"],
                     res["test"]["auc"], res["test"]["gini"], attempts)
    cols = ["experiment", "model", "seed", "metric", "value", "penalty", "strength", "attempts", "status"]
    save_table(pd.DataFrame(rows)[cols], out_metrics)
    save_npz(out_phibar, val=np.array(phis["val"]), test=np.array(phis["test"]), feature_names=d["feature_names"],
             strength=np.float64(strength))


# -------------------------------------------------------------------------------------------- summaries
def _wide(df: pd.DataFrame) -> pd.DataFrame:
    keys = ["penalty", "model", "strength", "seed", "status", "attempts"]
    return df.set_index(keys + ["metric"])["value"].unstack("metric").reset_index()


def summarize_sweep(metrics: Sequence[str], auc_tolerance: float, out_metrics: str, out_failed_csv: str,
                    out_failed_md: str, out_best_csv: str, out_best_md: str, out_selection: str) -> None:
    """All sweep metrics in one tidy table; failed/retried runs; the best model of each kind.

    Two selections, both on validation data only (test numbers are reported, never used to choose):

    * ``lorenz``: the run closest to the ideal corner (val ROC-AUC = 1, val Gini = 1), as the paper's
      "closest to the top right" (used for the Lorenz curves);
    * ``comparable_auc``: the run with the highest val Gini among those whose val ROC-AUC is at least the
      unregularized models' mean val ROC-AUC minus ``auc_tolerance``.
    """
    df = pd.concat([read_table(p, ("experiment", "model", "seed", "metric", "value", "penalty", "strength",
                                   "attempts", "status")) for p in metrics], ignore_index=True)
    save_table(df, out_metrics)
    wide = _wide(df)
    failed = wide[(wide["attempts"] > 1) | (wide["status"] != "ok")][
        ["penalty", "strength", "seed", "attempts", "status"]].sort_values(["penalty", "strength", "seed"])
    failed = failed.assign(outcome=np.where(failed["status"] == "ok", "retried, then finite", "skipped (NaN)"))
    save_table(failed, out_failed_csv)
    if failed.empty:
        md = pd.DataFrame([{"penalty": "—", "strength": "—", "seed": "—", "attempts": "—",
                            "outcome": f"no run produced NaN/inf ({len(wide)} runs)"}])
    else:
        md = failed.drop(columns="status")
    save_table(md, out_failed_md)

    ok = wide[wide["status"] == "ok"].copy()
    base = ok[ok["penalty"] == "unregularized"]
    if base.empty:
        raise ValueError("no finite unregularized run: the comparable-ROC-AUC threshold needs the baseline")
    threshold = float(base["val_auc"].mean()) - float(auc_tolerance)
    ok["distance"] = np.hypot(1 - ok["val_auc"], 1 - ok["val_gini"])
    rows, selection = [], {"auc_threshold": threshold, "auc_tolerance": float(auc_tolerance), "lorenz": {},
                           "comparable_auc": {}}
    for penalty, sub in ok.groupby("penalty", sort=False):
        best = sub.loc[sub["distance"].idxmin()]
        eligible = sub[sub["val_auc"] >= threshold]
        comp = eligible.loc[eligible["val_gini"].idxmax()] if len(eligible) else None
        selection["lorenz"][penalty] = {"model": best["model"], "seed": int(best["seed"]),
                                        "strength": float(best["strength"])}
        if comp is not None:
            selection["comparable_auc"][penalty] = {"model": comp["model"], "seed": int(comp["seed"]),
                                                    "strength": float(comp["strength"])}
        for rule, r in (("lorenz", best), ("comparable_auc", comp)):
            if r is None:
                continue
            rows.append({"selection": rule, "penalty": penalty, "strength": r["strength"], "seed": int(r["seed"]),
                         "val_auc": r["val_auc"], "val_gini": r["val_gini"], "test_auc": r["test_auc"],
                         "test_gini": r["test_gini"], "eligible_runs": len(eligible) if rule == "comparable_auc"
                         else len(sub)})
    best_df = pd.DataFrame(rows)
    order = {p: i for i, p in enumerate(PENALTIES)}
    best_df = best_df.sort_values(["selection", "penalty"], key=lambda c: c.map(order) if c.name == "penalty" else c)
    save_table(best_df, out_best_csv)
    md = best_df[best_df["selection"] == "comparable_auc"].drop(columns="selection").copy()
    md["penalty"] = md["penalty"].map(LABELS)
    for c in ("val_auc", "val_gini", "test_auc", "test_gini"):
        md[c] = md[c].map(lambda v: f"{v:.4f}" if c.endswith("auc") else f"{v:.3f}")
    md["strength"] = md["strength"].map(lambda v: f"{v:.3g}")
    save_table(md.rename(columns={"strength": "λ / rate"}), out_best_md)
    save_json(selection, out_selection)


def figure_gini_auc(metrics: str, selection: str, out: str) -> None:
    """Fig. 3 (top left) and supplement Fig. 14: test Gini vs test ROC-AUC, one colour per penalty.

    Right panel: zoom on the models within the comparable-AUC band (val threshold drawn on test axes as a guide).
    """
    from .. import plots  # matplotlib only where a figure is drawn (training jobs start faster)
    df = read_table(metrics, ("penalty", "metric", "value", "status"))
    wide = _wide(df)
    wide = wide[wide["status"] == "ok"]
    sel = read_json(selection)
    base_auc = wide.loc[wide["penalty"] == "unregularized", "test_auc"].mean()
    with plots.figure(out, 1, 2, figsize=(9.0, 3.8)) as (fig, axes):
        for k, ax in enumerate(axes):
            for penalty in PENALTIES:
                sub = wide[wide["penalty"] == penalty]
                if sub.empty:
                    continue
                ax.scatter(sub["test_gini"], sub["test_auc"], s=22 if penalty == "gini" else 14,
                           color=COLORS[penalty], marker="D" if penalty == "unregularized" else "o",
                           alpha=0.85, label=LABELS[penalty] if k == 0 else None, zorder=3 if penalty == "gini" else 2)
            ax.set_xlabel("Gini coefficient of φ̄ (test)")
            ax.set_ylabel("test ROC-AUC")
        tol = sel["auc_tolerance"]
        axes[1].set_ylim(base_auc - 3 * tol, min(1.0, wide["test_auc"].max()) + 0.25 * tol)
        axes[1].axhline(base_auc - tol, color="grey", ls=":", lw=1)
        axes[1].set_title(f"zoom (dotted: unregularized − {tol:g})")
        axes[0].set_title("sparsity vs performance, all runs")
        fig.legend(loc="upper center", ncol=4, fontsize=7, bbox_to_anchor=(0.5, 0.0))


def figure_lorenz(phibar: Sequence[str], selection: str, out: str) -> None:
    """Fig. 3 (top right): Lorenz curves of sorted test φ̄ for the best model of each kind (validation choice)."""
    from .. import plots  # matplotlib only where a figure is drawn (training jobs start faster)
    from ..evaluation import lorenz_curve, lorenz_gini

    sel = read_json(selection)["lorenz"]
    with plots.figure(out, 1, 1, figsize=(4.6, 4.0)) as (fig, ax):
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="equal importance")
        for penalty in PENALTIES:
            if penalty not in sel:
                continue
            name = f"{sel[penalty]['model']}.npz"
            hits = [p for p in phibar if str(p).endswith(f"/{name}") or str(p) == name]
            if not hits:
                raise FileNotFoundError(f"no attribution file {name} among the inputs")
            v = load_npz(hits[0], ("test",))["test"][sel[penalty]["seed"]]
            x, y = lorenz_curve(v)
            ax.plot(x, y, color=COLORS[penalty], lw=2 if penalty == "gini" else 1.2,
                    label=f"{LABELS[penalty]} (G = {lorenz_gini(v):.2f})", drawstyle="default")
        ax.set_xlabel("fraction of features (sorted by φ̄, increasing)")
        ax.set_ylabel("cumulative fraction of total φ̄")
        ax.set_title("Lorenz curves of global attributions")
        ax.legend(fontsize=7, loc="upper left")


def figure_sweep(metrics: str, out: str) -> None:
    """Supplement Fig. 13: validation log-loss and Gini vs regularisation strength, one column per penalty."""
    from .. import plots  # matplotlib only where a figure is drawn (training jobs start faster)
    df = read_table(metrics, ("penalty", "strength", "metric", "value", "status"))
    wide = _wide(df)
    wide = wide[wide["status"] == "ok"]
    pens = [p for p in PENALTIES if p != "unregularized" and p in set(wide["penalty"])]
    base = wide[wide["penalty"] == "unregularized"]
    with plots.figure(out, 2, len(pens), figsize=(2.1 * len(pens), 4.2), sharey="row") as (fig, axes):
        axes = np.asarray(axes).reshape(2, len(pens))
        for j, p in enumerate(pens):
            sub = wide[wide["penalty"] == p].groupby("strength")[["val_loss", "val_gini"]].mean().reset_index()
            for i, m in enumerate(("val_loss", "val_gini")):
                ax = axes[i, j]
                ax.plot(sub["strength"], sub[m], marker="o", ms=3, color=COLORS[p])
                ax.axhline(base[m].mean(), color="k", ls="--", lw=0.8)
                if p != "dropout":
                    ax.set_xscale("log")
                if i == 0:
                    ax.set_title(LABELS[p], fontsize=8)
                else:
                    ax.set_xlabel("dropout rate" if p == "dropout" else "λ")
        axes[0, 0].set_ylabel("validation log-loss")
        axes[1, 0].set_ylabel("validation Gini of φ̄")
        fig.suptitle("Sweeps (dashed: unregularized)", fontsize=10)


# ----------------------------------------------------------------------------------------- small data
def small_data(data: str, subsample: int, params: Mapping, grids: Mapping[str, Sequence[float]], model_spec: Mapping,
               training: Mapping, n_references: int, eval_references: int, retries: int, seed: int, device: str,
               out: str) -> None:
    """One small-data replicate: ``n_train`` / ``n_val`` patients drawn from the training / validation splits.

    For every model type: pick the strength with the lowest validation log-loss on its grid (``grids``; the
    unregularized model has none), train ``restarts`` models with it, keep the ``top`` by validation log-loss
    and report their mean test ROC-AUC and Gini.
    """
    d = load_npz(data, DATA_KEYS)
    rng = np.random.default_rng(derive_seed(seed, EXPERIMENT, "small_data", subsample))
    tr = rng.choice(len(d["y_train"]), size=min(params["n_train"], len(d["y_train"])), replace=False)
    va = rng.choice(len(d["y_val"]), size=min(params["n_val"], len(d["y_val"])), replace=False)
    Xtr, Xva, Xte = standardize(d["X_train_raw"][tr], d["X_val_raw"][va], d["X_test_raw"])
    ytr, yva, yte = d["y_train"][tr], d["y_val"][va], d["y_test"]
    rows = []
    for penalty in params["penalties"]:
        grid = [0.0] if penalty == "unregularized" else list(grids[penalty])
        tuning = []
        for i, strength in enumerate(grid):
            what = f"subsample {subsample} {penalty} strength {strength:g}"

            def tune_once(s, strength=strength, what=what):
                m = fit_penalized(penalty, strength, Xtr, ytr, model_spec, training, n_references, s, device, what)
                return score(m, Xva, yva, Xtr, None, 0)["loss"]

            loss, _ = _attempts(tune_once, retries, derive_seed(seed, EXPERIMENT, "small", subsample, penalty, i),
                                what)
            if loss is not None:
                tuning.append((loss, strength))
        n_skipped = len(grid) - len(tuning)
        if not tuning:
            log.warning("subsample %d: every %s strength failed; skipped", subsample, penalty)
            continue
        strength = min(tuning)[1]
        restarts = []
        for r in range(params["restarts"]):
            what = f"subsample {subsample} {penalty} restart {r}"

            def restart_once(s, what=what):
                m = fit_penalized(penalty, strength, Xtr, ytr, model_spec, training, n_references, s, device, what)
                return m, score(m, Xva, yva, Xtr, None, 0)["loss"]

            res, _ = _attempts(restart_once, retries,
                               derive_seed(seed, EXPERIMENT, "small", subsample, penalty, "restart", r), what)
            if res is not None:
                restarts.append(res)
        restarts.sort(key=lambda t: t[1])
        top = restarts[: params["top"]]
        tests = [score(m, Xte, yte, Xtr, eval_references, derive_seed(seed, "small_eg", subsample, k))
                 for k, (m, _) in enumerate(top)]
        ids = {"experiment": EXPERIMENT, "model": penalty, "seed": subsample}
        rows += [
            {**ids, "metric": "test_auc", "value": float(np.mean([t["auc"] for t in tests]))},
            {**ids, "metric": "test_gini", "value": float(np.mean([t["gini"] for t in tests]))},
            {**ids, "metric": "val_loss", "value": float(np.mean([v for _, v in top]))},
            {**ids, "metric": "strength", "value": float(strength)},
            {**ids, "metric": "skipped_strengths", "value": float(n_skipped)},
            {**ids, "metric": "finite_restarts", "value": float(len(restarts))},
        ]
        log.info("subsample %d %s: strength %g, test AUC %.4f (top %d of %d)", subsample, penalty, strength,
                 rows[-6]["value"], len(top), len(restarts))
    save_table(pd.DataFrame(rows, columns=["experiment", "model", "seed", "metric", "value"]), out)


def small_data_summary(results: Sequence[str], reference: str, out_metrics: str, out_csv: str, out_md: str,
                       out_png: str) -> None:
    """Paired t-tests of test ROC-AUC across subsamples: ``reference`` (the sparse prior) vs each other model."""
    from .. import plots  # matplotlib only where a figure is drawn (training jobs start faster)
    from scipy.stats import ttest_rel

    df = pd.concat([read_table(p, ("experiment", "model", "seed", "metric", "value")) for p in results],
                   ignore_index=True)
    save_table(df, out_metrics)
    auc = df[df["metric"] == "test_auc"].pivot_table(index="seed", columns="model", values="value")
    if reference not in auc.columns:
        raise ValueError(f"the small-data results have no {reference!r} model; found {list(auc.columns)}")
    rows = []
    for other in [p for p in PENALTIES if p in auc.columns and p != reference]:
        pair = auc[[reference, other]].dropna()
        t, p = ttest_rel(pair[reference], pair[other]) if len(pair) > 1 else (np.nan, np.nan)
        rows.append({"model": reference, "baseline": other, "n_subsamples": len(pair),
                     "mean_auc_model": pair[reference].mean(), "mean_auc_baseline": pair[other].mean(),
                     "mean_difference": (pair[reference] - pair[other]).mean(), "t": t, "p_two_sided": p})
    table = pd.DataFrame(rows)
    save_table(table, out_csv)
    md = table.copy()
    md["model"] = md["model"].map(LABELS)
    md["baseline"] = md["baseline"].map(LABELS)
    for c in ("mean_auc_model", "mean_auc_baseline", "mean_difference"):
        md[c] = md[c].map(lambda v: f"{v:.4f}")
    md["t"] = md["t"].map(lambda v: f"{v:.2f}")
    md["p_two_sided"] = md["p_two_sided"].map(lambda v: f"{v:.3g}")
    save_table(md, out_md)
    order = [p for p in PENALTIES if p in auc.columns]
    order = [reference] + [p for p in order if p != reference]
    with plots.figure(out_png, 1, 1, figsize=(1.2 * len(order) + 1.5, 3.6)) as (fig, ax):
        for _, row in auc[order].iterrows():
            ax.plot(range(len(order)), row.to_numpy(), color="grey", lw=0.5, alpha=0.5)
        for i, p in enumerate(order):
            ax.scatter(np.full(len(auc), i), auc[p], color=COLORS[p], s=14, zorder=3)
            ax.plot([i - 0.25, i + 0.25], [auc[p].mean()] * 2, color=COLORS[p], lw=2.5)
        ax.set_xticks(range(len(order)), [LABELS[p] for p in order], rotation=20, ha="right")
        ax.set_ylabel("test ROC-AUC (mean of top models)")
        ax.set_title(f"Small data: {len(auc)} subsamples (lines pair the same subsample)")
