"""Experiment A4: the sparsity attribution prior (Erion et al. 2019, Fig. 3; supplement Figs. 13–14).

Every model is a binary classifier with ONE output logit trained with a binary cross-entropy, the head of the
original code (two independent sigmoid units there; a softmax over two free logits would let a penalty load
features into both logits without changing the decision). Expected gradients explain that logit for every
sample. The models are trained many at a time (:mod:`attrpriors.stacked`: stacked weights, batched matmuls,
differentiable EG through the stack; each model exactly as if trained alone with its seed), with Adam on
BCE + one regulariser, and each model keeps its best epoch by validation ROC-AUC (the original code's rule).

Regularisers, each swept over its own grid of strengths:

* ``gini`` — the sparse attribution prior Ω = −Gini(φ̄) on expected gradients (k batch-rolled references);
* ``l1_eg`` / ``l2_eg`` — ‖φ̄‖₁ / ‖φ̄‖₂² on expected gradients;
* ``l1_first`` / ``l1_all`` — L1 on the first layer's / every layer's weights;
* ``sgl`` — sparse group lasso on the first layer (one group per input feature);
* ``dropout`` — dropout rate after every hidden layer (a linear grid);
* ``unregularized`` — no penalty (repeated over seeds).

Gini normalisation: G(φ̄) = Σᵢ Σⱼ |φ̄ᵢ − φ̄ⱼ| / (2 p Σᵢ φ̄ᵢ) = 1 − 2 × (area under the Lorenz curve), in
[0, 1 − 1/p] (:func:`attrpriors.priors.gini`, :func:`attrpriors.evaluation.lorenz_gini`). The paper writes
Ω_sparse = −Σᵢ Σⱼ |φ̄ᵢ − φ̄ⱼ| / (n Σᵢ φ̄ᵢ) = −2G with n = p; we train on −G (the factor 2 is absorbed by λ) and
report G. φ̄ is the mean |EG| of the logit over the evaluated samples (references: the training rows).

A model whose loss or outputs become NaN/inf is retrained with a new seed up to ``retries`` times, then
skipped and listed in the failed-runs table.

Small-data experiment (the original protocol): per subsample of ``n_train`` training / ``n_val`` validation
patients, for each penalty one model per strength of its grid (full batch); the strength with the best
validation ROC-AUC is kept; ``restarts`` new models are trained with it; the ``top`` of them by validation
ROC-AUC are averaged on the test split. Paired t-tests compare the sparse prior with each other model type
across subsamples.

Datasets (``sparsity_prior.datasets``): ``breast_cancer`` (scikit-learn, bundled), ``flchain``
(scikit-survival, bundled: death within 10 years), ``nhanes`` (NHANES I, download: the paper's data) and
simulated cohorts with a known number of informative features (``source: simulated``): few informative
features is the positive control of the small-data claim, all features informative its negative control.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..data.clinical import (load_breast_cancer_table, load_flchain_table, load_nhanes, simulate_logistic_cohort,
                             standardize)
from ..display import MODEL_LABELS
from ..io import load_npz, read_json, read_table, save_json, save_npz, save_table
from ..seeds import derive_seed
from ..stats import auroc

log = logging.getLogger("attrpriors.sparsity_prior")

EXPERIMENT = "sparsity_prior"
DATA_KEYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "X_train_raw", "X_val_raw", "X_test_raw",
             "feature_names")
MISSING_OK = ("X_train_raw", "X_val_raw", "X_test_raw")  # raw measurements: NaN = not measured (imputed later)
PENALTIES = ("unregularized", "gini", "l1_eg", "l2_eg", "l1_first", "l1_all", "sgl", "dropout")
ATTRIBUTION_PENALTIES = {"gini": "gini", "l1_eg": "l1", "l2_eg": "l2"}  # penalty → attrpriors.priors name
WEIGHT_PENALTIES = ("l1_first", "l1_all", "sgl")
LABELS = MODEL_LABELS["sparsity_prior"]  # penalty → label (attrpriors.display)
DATASET_LABELS = {
    "breast_cancer": "breast cancer (scikit-learn)",
    "flchain": "FLCHAIN, death within 10 years (scikit-survival)",
    "nhanes": "NHANES I, alive at 10 years",
}
COLORS = {p: f"C{i}" for i, p in enumerate(("gini", "l1_first", "l1_all", "sgl", "l1_eg", "l2_eg", "dropout"))}
COLORS["unregularized"] = "k"
SWEEP_METRICS = ("val_auc", "val_loss", "val_gini", "test_auc", "test_loss", "test_gini")


def dataset_label(name: str) -> str:
    return DATASET_LABELS.get(name, name.replace("_", " "))


# --------------------------------------------------------------------------------------------------- data
def load_dataset(name: str, spec: Mapping, seed: int, nhanes_files: Sequence[str] = ()
                 ) -> tuple[pd.DataFrame, np.ndarray]:
    """Features and labels of one ``sparsity_prior.datasets`` entry (``source``: bundled, download, simulated)."""
    source = spec.get("source")
    if source == "bundled":
        loaders = {"breast_cancer": load_breast_cancer_table,
                   "flchain": lambda: load_flchain_table(spec.get("horizon_days", 3652))}
        if name not in loaders:
            raise ValueError(f"sparsity_prior.datasets.{name}: no bundled dataset of that name; bundled: "
                             f"{sorted(loaders)}")
        return loaders[name]()
    if source == "download":
        if name != "nhanes":
            raise ValueError(f"sparsity_prior.datasets.{name}: only 'nhanes' can be downloaded")
        if len(nhanes_files) != 2:
            raise ValueError(f"NHANES needs 2 files (features, follow-up), got {list(nhanes_files)}")
        return load_nhanes(*nhanes_files, horizon_years=spec.get("horizon_years", 10))
    if source == "simulated":
        missing = [k for k in ("n_samples", "n_features", "n_informative", "signal") if k not in spec]
        if missing:
            raise KeyError(f"sparsity_prior.datasets.{name}: simulated cohorts need {missing}")
        return simulate_logistic_cohort(spec["n_samples"], spec["n_features"], spec["n_informative"],
                                        spec["signal"], derive_seed(seed, EXPERIMENT, "simulate", name))
    raise ValueError(f"sparsity_prior.datasets.{name}.source must be bundled, download or simulated, got {source!r}")


def split_sizes(n: int, split: Mapping) -> dict[str, int]:
    """Rows of the train/validation/test splits of ``n`` (``split``: ``test``, then ``val`` of the rest)."""
    n_test = int(round(split["test"] * n))
    n_val = int(round(split["val"] * (n - n_test)))
    return {"train": n - n_test - n_val, "val": n_val, "test": n_test}


def make_data(dataset: str, spec: Mapping, split: Mapping, seed: int, out: str,
              nhanes_files: Sequence[str] = ()) -> None:
    """Split one dataset into train/validation/test and standardise with the training statistics.

    ``split``: ``test``, then ``val`` as a fraction of the rest. The raw (unstandardised) splits are kept for
    the small-data subsamples, which standardise on their own training rows.
    """
    X, y = load_dataset(dataset, spec, seed, nhanes_files)
    rng = np.random.default_rng(derive_seed(seed, EXPERIMENT, "split", dataset))
    perm = rng.permutation(len(y))
    sizes = split_sizes(len(y), split)
    n_test, n_val = sizes["test"], sizes["val"]
    te, va, tr = perm[:n_test], perm[n_test : n_test + n_val], perm[n_test + n_val :]
    raw = X.to_numpy(dtype=np.float64)
    Xtr, Xva, Xte = standardize(raw[tr], raw[va], raw[te])
    save_npz(out, X_train=Xtr, y_train=y[tr], X_val=Xva, y_val=y[va], X_test=Xte, y_test=y[te],
             X_train_raw=raw[tr], X_val_raw=raw[va], X_test_raw=raw[te],
             feature_names=np.array(list(X.columns), dtype=str), dataset=np.array(dataset))
    log.info("%s: %d train / %d val / %d test, %d features, positive rate %.3f", dataset, len(tr), len(va),
             len(te), raw.shape[1], float(y.mean()))


# --------------------------------------------------------------------------------------------- training
def bce(y: np.ndarray, logits: np.ndarray) -> float:
    """Mean binary cross-entropy of logits (log-loss)."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def _check_penalty(penalty: str) -> None:
    if penalty not in PENALTIES:
        raise ValueError(f"unknown sparsity penalty {penalty!r}; known: {list(PENALTIES)}")


def train_models(penalty: str, strengths: Sequence[float], seeds: Sequence[int], X_train, y_train, X_val, y_val,
                 model_spec: Mapping, training: Mapping, n_references: int, retries: int, what: str = "models"):
    """Train one single-logit MLP per (strength, seed) in one stack; retry non-finite ones with new seeds.

    Returns ``(stack, fit, attempts)``: the trained :class:`~attrpriors.stacked.StackedMLP` (every model at its
    best epoch by validation ROC-AUC; a model still non-finite after ``retries`` has ``fit.finite`` False),
    the :class:`~attrpriors.stacked.StackedFit` and the number of attempts per model.
    """
    import torch

    from ..stacked import StackedMLP, StackedPenalties, train_stacked

    _check_penalty(penalty)
    strengths = [float(s) for s in strengths]
    if len(strengths) != len(seeds):
        raise ValueError("one strength per seed")
    spec = dict(model_spec)
    if spec.pop("type", "mlp") != "mlp":
        raise ValueError("the sparsity experiment trains MLPs (model.type: mlp)")
    unknown = set(spec) - {"hidden", "activation"}
    if unknown:
        raise KeyError(f"sparsity_prior.model: unknown key(s) {sorted(unknown)}")
    hidden, activation = spec.get("hidden", [64, 32]), spec.get("activation", "relu")
    kw = {k: training[k] for k in ("epochs", "batch_size", "lr") if k in training}
    unknown = set(training) - {"epochs", "batch_size", "lr", "weight_decay", "progress"}
    if unknown:
        raise KeyError(f"sparsity_prior training: unknown key(s) {sorted(unknown)}")
    kw["weight_decay"] = float(training.get("weight_decay", 0.0))
    p = np.asarray(X_train).shape[1]

    def attempt(idx, run_seeds):
        rates = [strengths[i] if penalty == "dropout" else 0.0 for i in idx]
        st = StackedMLP.initialized(p, hidden, run_seeds, activation, rates)
        pens = StackedPenalties.for_models([penalty] * len(idx), [strengths[i] for i in idx])
        return train_stacked(st, X_train, y_train, X_val, y_val, seeds=[derive_seed(s, "train") for s in run_seeds],
                             penalties=pens, n_references=n_references, **kw)

    M = len(seeds)
    fit = attempt(list(range(M)), list(seeds))
    attempts = np.ones(M, dtype=int)
    for r in range(1, retries + 1):
        bad = np.flatnonzero(~fit.finite)
        if not len(bad):
            break
        log.warning("%s: %d of %d models non-finite, retry %d with new seeds", what, len(bad), M, r)
        redo = attempt(list(bad), [derive_seed(seeds[i], "retry", r) for i in bad])
        attempts[bad] += 1
        with torch.no_grad():
            for a, b in zip(fit.model.parameters(), redo.model.parameters()):
                a[torch.as_tensor(bad)] = b
        for name in ("best_epoch", "val_auc", "val_loss", "finite"):
            getattr(fit, name)[bad] = getattr(redo, name)
        fit.history[:, bad] = redo.history
    return fit.model, fit, attempts


def phibar_of(stack, m: int, X: np.ndarray, background: np.ndarray, n_references: int, seed: int) -> np.ndarray:
    """φ̄ = mean |EG| of model ``m``'s logit over the rows ``X`` (references drawn from ``background``)."""
    from ..evaluation import mean_abs_expected_gradients

    phibar = mean_abs_expected_gradients(stack.unstack(m), X, background, n_references, seed).astype(np.float64)
    if not np.all(np.isfinite(phibar)):
        raise FloatingPointError("the attributions are not finite")
    return phibar


def gini_of(phibar: np.ndarray) -> float:
    import torch

    from ..priors import gini

    return float(gini(torch.as_tensor(phibar), eps=0.0)) if phibar.sum() > 0 else 0.0


def train_sweep(data: str, penalty: str, strengths: Sequence[float], seeds: int, model_spec: Mapping,
                training: Mapping, n_references: int, eval_references: int, retries: int, seed: int,
                out_metrics: str, out_phibar: str) -> None:
    """Train and score ``seeds`` models for every strength of one penalty's sweep (one stack)."""
    from ..stacked import stacked_logits

    d = load_npz(data, DATA_KEYS, may_be_nonfinite=MISSING_OK)
    runs = [(i, float(s), t) for i, s in enumerate(strengths) for t in range(int(seeds))]
    run_seeds = [derive_seed(seed, EXPERIMENT, penalty, i, t) for i, _, t in runs]
    stack, fit, attempts = train_models(penalty, [s for _, s, _ in runs], run_seeds, d["X_train"], d["y_train"],
                                        d["X_val"], d["y_val"], model_spec, training, n_references, retries,
                                        what=f"sweep {penalty}")
    logits = {split: stacked_logits(stack, d[f"X_{split}"]) for split in ("val", "test")}
    rows, phis = [], {"val": [], "test": []}
    p = d["X_train"].shape[1]
    for m, (i, strength, trial) in enumerate(runs):
        ok = bool(fit.finite[m])
        res = {}
        for split in ("val", "test"):
            y = d[f"y_{split}"]
            if ok:
                phibar = phibar_of(stack, m, d[f"X_{split}"], d["X_train"], eval_references,
                                   derive_seed(run_seeds[m], "eg", split))
                res[split] = {"auc": auroc(y, logits[split][m]), "loss": bce(y, logits[split][m]),
                              "gini": gini_of(phibar)}
            else:
                phibar = np.full(p, np.nan)
                res[split] = {"auc": np.nan, "loss": np.nan, "gini": np.nan}
            phis[split].append(phibar)
        ids = {"experiment": EXPERIMENT, "model": f"{penalty}_{i}", "penalty": penalty, "strength": strength,
               "seed": trial, "attempts": int(attempts[m]), "status": "ok" if ok else "skipped"}
        for split in ("val", "test"):
            for metric in ("auc", "loss", "gini"):
                rows.append({**ids, "metric": f"{split}_{metric}", "value": res[split][metric]})
        rows.append({**ids, "metric": "best_epoch", "value": float(fit.best_epoch[m]) if ok else np.nan})
        if ok:
            log.info("%s %g seed %d: best epoch %d, val AUC %.4f, test AUC %.4f, test Gini %.3f", penalty, strength,
                     trial, fit.best_epoch[m], res["val"]["auc"], res["test"]["auc"], res["test"]["gini"])
    cols = ["experiment", "model", "seed", "metric", "value", "penalty", "strength", "attempts", "status"]
    save_table(pd.DataFrame(rows)[cols], out_metrics)
    save_npz(out_phibar, val=np.array(phis["val"]), test=np.array(phis["test"]), feature_names=d["feature_names"],
             strength=np.array([s for _, s, _ in runs]), strength_index=np.array([i for i, _, _ in runs]),
             seed=np.array([t for _, _, t in runs]))


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


def figure_gini_auc(metrics: str, selection: str, out: str, dataset: str = "") -> None:
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
        if dataset:
            fig.suptitle(dataset_label(dataset), fontsize=10)
        fig.legend(loc="upper center", ncol=4, fontsize=7, bbox_to_anchor=(0.5, 0.0))


def figure_lorenz(phibar: Sequence[str], selection: str, out: str, dataset: str = "") -> None:
    """Fig. 3 (top right): Lorenz curves of sorted test φ̄ for the best model of each kind (validation choice).

    ``phibar``: the sweep's ``{penalty}.npz`` files (rows: runs, with ``strength_index`` and ``seed``)."""
    from .. import plots  # matplotlib only where a figure is drawn (training jobs start faster)
    from ..evaluation import lorenz_curve, lorenz_gini

    sel = read_json(selection)["lorenz"]
    with plots.figure(out, 1, 1, figsize=(4.6, 4.0)) as (fig, ax):
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="equal importance")
        for penalty in PENALTIES:
            if penalty not in sel:
                continue
            name = f"{penalty}.npz"
            hits = [p for p in phibar if str(p).endswith(f"/{name}") or str(p) == name]
            if not hits:
                raise FileNotFoundError(f"no attribution file {name} among the inputs")
            f = load_npz(hits[0], ("test", "strength_index", "seed"))
            sidx = int(sel[penalty]["model"].rsplit("_", 1)[1])
            rows = np.flatnonzero((f["strength_index"] == sidx) & (f["seed"] == sel[penalty]["seed"]))
            if len(rows) != 1:
                raise ValueError(f"{hits[0]}: no unique run {sel[penalty]['model']} seed {sel[penalty]['seed']}")
            v = f["test"][rows[0]]
            x, y = lorenz_curve(v)
            ax.plot(x, y, color=COLORS[penalty], lw=2 if penalty == "gini" else 1.2,
                    label=f"{LABELS[penalty]} (G = {lorenz_gini(v):.2f})", drawstyle="default")
        ax.set_xlabel("fraction of features (sorted by φ̄, increasing)")
        ax.set_ylabel("cumulative fraction of total φ̄")
        ax.set_title(f"Lorenz curves of global attributions\n{dataset_label(dataset)}" if dataset
                     else "Lorenz curves of global attributions", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")


def figure_sweep(metrics: str, out: str, dataset: str = "") -> None:
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
        axes[0, 0].set_ylabel("validation log-loss (BCE)")
        axes[1, 0].set_ylabel("validation Gini of φ̄")
        fig.suptitle(f"Sweeps (dashed: unregularized){': ' + dataset_label(dataset) if dataset else ''}",
                     fontsize=10)


# ----------------------------------------------------------------------------------------- small data
def small_data(data: str, subsamples: Sequence[int], params: Mapping, grids: Mapping[str, Sequence[float]],
               model_spec: Mapping, training: Mapping, n_references: int, eval_references: int, retries: int,
               seed: int, out: str) -> None:
    """Small-data replicates ``subsamples`` (one table): see :func:`small_data_replicate`."""
    tables = [small_data_replicate(data, int(s), params, grids, model_spec, training, n_references,
                                   eval_references, retries, seed) for s in subsamples]
    save_table(pd.concat(tables, ignore_index=True), out)


def small_data_replicate(data: str, subsample: int, params: Mapping, grids: Mapping[str, Sequence[float]],
                         model_spec: Mapping, training: Mapping, n_references: int, eval_references: int,
                         retries: int, seed: int) -> pd.DataFrame:
    """One small-data replicate: ``n_train`` / ``n_val`` patients drawn from the training / validation splits.

    As in the original code: the subsample is mean-imputed and standardised with its own training rows, then
    clipped to ±``clip`` standard deviations; for every model type one model per strength of its grid
    (``grids``; the unregularized model has none) is trained full-batch, the strength with the highest
    validation ROC-AUC is kept, ``restarts`` new models are trained with it, and the mean test ROC-AUC (and
    Gini of test φ̄, ``eval_references`` references per test row) of the ``top`` of them by validation ROC-AUC
    is reported. Every model keeps its best epoch by validation ROC-AUC. All models of one step are trained in
    one stack. Returns tidy rows ``experiment, model, seed (= subsample), metric, value``.
    """
    from ..stacked import stacked_logits

    d = load_npz(data, DATA_KEYS, may_be_nonfinite=MISSING_OK)
    rng = np.random.default_rng(derive_seed(seed, EXPERIMENT, "small_data", subsample))
    tr = rng.choice(len(d["y_train"]), size=min(params["n_train"], len(d["y_train"])), replace=False)
    va = rng.choice(len(d["y_val"]), size=min(params["n_val"], len(d["y_val"])), replace=False)
    Xtr, Xva, Xte = standardize(d["X_train_raw"][tr], d["X_val_raw"][va], d["X_test_raw"])
    clip = float(params.get("clip", 3.0))
    Xtr, Xva, Xte = (np.clip(A, -clip, clip) for A in (Xtr, Xva, Xte))
    ytr, yva, yte = d["y_train"][tr], d["y_val"][va], d["y_test"]
    common = dict(X_train=Xtr, y_train=ytr, X_val=Xva, y_val=yva, model_spec=model_spec, training=training,
                  n_references=n_references, retries=retries)
    rows = []
    for penalty in params["penalties"]:
        _check_penalty(penalty)
        grid = [0.0] if penalty == "unregularized" else [float(g) for g in grids[penalty]]
        n_skipped, tuned_auc = 0, np.nan
        if penalty != "unregularized":
            tune_seeds = [derive_seed(seed, EXPERIMENT, "small", subsample, penalty, i) for i in range(len(grid))]
            _, fit, _ = train_models(penalty, grid, tune_seeds, what=f"subsample {subsample} {penalty} grid",
                                     **common)
            n_skipped = int((~fit.finite).sum())
            if n_skipped == len(grid):
                log.warning("subsample %d: every %s strength failed; skipped", subsample, penalty)
                continue
            best = int(np.nanargmax(fit.val_auc))  # the first (weakest) strength among equals
            strength, tuned_auc = grid[best], float(fit.val_auc[best])
        else:
            strength = 0.0
        restart_seeds = [derive_seed(seed, EXPERIMENT, "small", subsample, penalty, "restart", r)
                         for r in range(int(params["restarts"]))]
        stack, fit, _ = train_models(penalty, [strength] * len(restart_seeds), restart_seeds,
                                     what=f"subsample {subsample} {penalty} restarts", **common)
        finite = np.flatnonzero(fit.finite)
        if not len(finite):
            log.warning("subsample %d: every %s restart failed; skipped", subsample, penalty)
            continue
        order = finite[np.argsort(-fit.val_auc[finite], kind="stable")]
        top = order[: int(params["top"])]
        logits = stacked_logits(stack, Xte)
        test_auc = [auroc(yte, logits[m]) for m in top]
        test_gini = [gini_of(phibar_of(stack, int(m), Xte, Xtr, eval_references,
                                       derive_seed(seed, "small_eg", subsample, penalty, int(m)))) for m in top]
        ids = {"experiment": EXPERIMENT, "model": penalty, "seed": subsample}
        values = {"test_auc": float(np.mean(test_auc)), "test_gini": float(np.mean(test_gini)),
                  "val_auc": float(np.mean(fit.val_auc[top])), "strength": float(strength),
                  "strength_index": float(grid.index(strength)), "grid_val_auc": tuned_auc,
                  "best_epoch": float(np.mean(fit.best_epoch[top])), "skipped_strengths": float(n_skipped),
                  "finite_restarts": float(len(finite))}
        rows += [{**ids, "metric": k, "value": v} for k, v in values.items()]
        log.info("subsample %d %s: strength %g (grid index %d), test AUC %.4f, Gini %.3f (top %d of %d)",
                 subsample, penalty, strength, grid.index(strength), values["test_auc"], values["test_gini"],
                 len(top), len(finite))
    return pd.DataFrame(rows, columns=["experiment", "model", "seed", "metric", "value"])


def small_data_summary(results: Sequence[str], reference: str, out_metrics: str, out_csv: str, out_md: str,
                       out_png: str, dataset: str = "") -> None:
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
        ax.set_title(f"Small data: {len(auc)} subsamples (lines pair the same subsample)"
                     + (f"\n{dataset_label(dataset)}" if dataset else ""), fontsize=9)


def penalty_kind(penalty: str) -> str:
    """How ``penalty`` acts in :func:`train_models`: ``attribution`` (an EG prior), ``weight`` (a penalty on the
    weights), ``dropout`` or ``none`` (unregularized)."""
    _check_penalty(penalty)
    if penalty in ATTRIBUTION_PENALTIES:
        return "attribution"
    if penalty in WEIGHT_PENALTIES:
        return "weight"
    return "dropout" if penalty == "dropout" else "none"


def workload(config: Mapping, sizes: Mapping[str, Mapping[str, int]] | None = None) -> dict:
    """What the experiment's jobs do, for compute projections (timings/paper_scale.py); torch-free.

    ``config`` is the whole workflow config; ``sizes`` the ``n_samples`` and ``n_features`` of each cohort the
    config cannot size (bundled, downloaded); simulated cohorts are sized from the config, cohorts without sizes
    are listed under ``unsized``. Per cohort: its split sizes (:func:`split_sizes`); ``train_mlp`` per swept cohort
    and penalty of ``sweep_penalties``: one job that trains every (strength, seed) of the sweep in one stack
    (:func:`train_sweep`; a grid of ``num`` strengths, the unregularized model ``seeds`` times) and scores each with
    EG on the validation and test rows; ``small_data`` per cohort: jobs (blocks of ``subsamples_per_job``
    subsamples) and per subsample and penalty the fits of its strength grid and its restarts and the EG-scored top
    models (:func:`small_data_replicate`). Training settings (epochs: all are run) include the cohort's own overrides.
    """
    sp = config["sparsity_prior"]
    sizes = sizes or {}
    penalties = sp["penalties"]
    cohorts, unsized = {}, []
    for name in sp["datasets"]:
        spec = sp["cohorts"][name]
        given = sizes.get(name) or (spec if spec.get("source") == "simulated" else None)
        if given is None:
            unsized.append(name)
            continue
        n = int(given["n_samples"])
        cohorts[name] = {"n_samples": n, "n_features": int(given["n_features"]), "swept": bool(spec.get("sweep", True)),
                         "rows": split_sizes(n, sp["split"]),
                         "training": {**dict(sp["training"]), **dict(spec.get("training") or {})},
                         "small_data_training": {**dict(sp["small_data"]["training"]),
                                                 **dict(spec.get("small_data_training") or {})}}

    def strengths(penalty: str, num: int | None = None) -> tuple[int, float]:
        """Grid size and first (weakest) strength of a penalty's grid (the workflow's strength_grid)."""
        if penalty == "unregularized":
            return 1, 0.0
        grid = penalties[penalty]
        return int(num if num is not None else grid["num"]), float(grid["min"])

    train = {}
    for name, c in cohorts.items():
        if not c["swept"]:
            continue
        train[name] = {}
        for penalty in sp["sweep_penalties"]:
            n_strengths, first = strengths(penalty)
            seeds = int(penalties[penalty].get("seeds", 1))
            train[name][penalty] = {
                "jobs": 1, "strengths": n_strengths, "seeds": seeds, "fits_per_job": n_strengths * seeds,
                "kind": penalty_kind(penalty), "first_strength": first, "model": dict(sp["model"]),
                "training": c["training"], "n_references": int(sp["n_references"]),
                "eval_references": int(sp["eval_references"]), "scored_rows": c["rows"]["val"] + c["rows"]["test"]}
    sd = sp["small_data"]
    n_sub = int(sd["n_subsamples"])
    per_job = int(sd.get("subsamples_per_job", 1))
    small = {}
    for name, c in cohorts.items():
        per_penalty = {}
        for penalty in sd["penalties"]:
            if penalty not in penalties:
                raise KeyError(f"config key 'sparsity_prior.penalties.{penalty}' is missing (named by "
                               "sparsity_prior.small_data.penalties)")
            n_grid, first = strengths(penalty, int(sd["grid_points"]))
            grid_fits = 0 if penalty == "unregularized" else n_grid  # the unregularized model has no grid
            per_penalty[penalty] = {"kind": penalty_kind(penalty), "first_strength": first, "grid_fits": grid_fits,
                                    "restarts": int(sd["restarts"]), "fits": grid_fits + int(sd["restarts"]),
                                    "top": int(sd["top"])}
        small[name] = {"jobs": -(-n_sub // per_job), "subsamples": n_sub, "subsamples_per_job": per_job,
                       "grid_points": int(sd["grid_points"]), "restarts": int(sd["restarts"]), "top": int(sd["top"]),
                       "n_train": min(int(sd["n_train"]), c["rows"]["train"]),
                       "n_val": min(int(sd["n_val"]), c["rows"]["val"]), "explained_rows": c["rows"]["test"],
                       "model": dict(sp["model"]), "training": c["small_data_training"],
                       "n_references": int(sp["n_references"]), "eval_references": int(sd["eval_references"]),
                       "penalties": per_penalty}
    return {"cohorts": cohorts, "unsized": unsized, "train_mlp": train, "small_data": small}
