"""Experiment D: limits of integrated gradients for gene expression (arXiv 2303.11336).

Pipeline per dataset (``SIMU1``/``SIMU2`` from the hierarchical LDA simulator, or ``TCGA`` PanCanAtlas):

1. :func:`make_simulated_data` / :func:`make_tcga_data` — 60/40 stratified train/test split, log2(x+1) of the
   per-million counts (TCGA: of the RSEM values), z-scoring with the training mean and s.d.;
2. :func:`train_classifier` — LR (an MLP without hidden layer) or MLP by the one fit loop
   (``task='classification'``), early stopping on a validation part of the training split; one job per seed;
3. :func:`explain_and_score` — IG of the true-class *softmax* output from the zero baseline (the training mean
   after z-scoring) on the test samples, the number of steps doubled from ``start_steps`` until the largest
   completeness gap ``|Σφ − (f(x) − f(0))|`` is at most ``tolerance`` (probability units, the paper's 1%); then,
   on the correctly classified samples with L2-normalised attributions: local/global feature agreement (FA),
   prediction gaps PGI/PGU/PGR, and accuracy when keeping/removing the top-k genes of the class-balanced
   global ranking (mean |φ|), against random gene sets;
4. :func:`topk_overlap` — Jaccard overlap of the top-k genes of the retrainings (global ranking, and each
   class's ranking by mean signed φ), against the exact random expectation;
5. :func:`make_tables` and the figure functions.

The cross-paper attribution-trust table lives in :mod:`attrpriors.experiments.cross_paper`.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..display import format_estimate, format_mean_sd
from ..evaluation import (
    expected_random_jaccard,
    feature_agreement,
    l2_normalize,
    prediction_gaps,
    rank_features,
    topk_accuracy_curve,
    topk_jaccard,
)
from ..io import load_npz, read_table, save_npz, save_table
from ..seeds import derive_seed
from ..stats import zscore, zscore_stats

# torch (and the modules that import it) are imported inside the functions that train or explain, so that the
# table and figure jobs start quickly.

log = logging.getLogger("attrpriors.ig_limits")

EXPERIMENT = "ig_limits"
DATA_KEYS = ("X_train", "y_train", "X_test", "y_test", "ground_truth", "gene_names", "class_names")

#: Feature agreement (%) reported in the paper's public repository (10 seeds), (local, global).
PAPER_FEATURE_AGREEMENT = {
    ("SIMU1", "LR"): (72.8, 99.5),
    ("SIMU1", "MLP"): (74.2, 100.0),
    ("SIMU2", "LR"): (46.5, 88.1),
    ("SIMU2", "MLP"): (46.0, 87.8),
}
MODEL_ORDER = ("LR", "MLP")
DATASET_ORDER = ("SIMU1", "SIMU2", "TCGA")


# ------------------------------------------------------------------------------------------------ data
def _stratum_test(n: int, test: float) -> int:
    """Test samples of a class of ``n`` in :func:`stratified_split`."""
    return int(round(test * n))


def stratified_split(labels: np.ndarray, test: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train/test indices with the class proportions kept in both (a class of n samples puts round(test·n)
    in the test set); each part sorted."""
    if not 0 < test < 1:
        raise ValueError(f"test fraction must be in (0, 1), got {test}")
    rng = np.random.default_rng(seed)
    tr, te = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_te = _stratum_test(len(idx), test)
        te.append(idx[:n_te])
        tr.append(idx[n_te:])
    return np.sort(np.concatenate(tr)), np.sort(np.concatenate(te))


def log_zscore(values: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log2(x+1), then z-scores with the mean and s.d. of the ``train`` rows (s.d. 0 → 1). Returns
    ``(Z float32, mean, sd)``."""
    logx = np.log2(np.asarray(values, dtype=np.float64) + 1.0)
    mean, sd = zscore_stats(logx[train])
    return zscore(logx, stats=(mean, sd)).astype(np.float32), mean, sd


def _save_dataset(out: str, X: np.ndarray, y: np.ndarray, test: float, seed: int, ground_truth: np.ndarray,
                  gene_names: np.ndarray, class_names: np.ndarray) -> None:
    tr, te = stratified_split(y, test, seed)
    Z, mean, sd = log_zscore(X, tr)
    save_npz(
        out,
        X_train=Z[tr], y_train=y[tr], X_test=Z[te], y_test=y[te],
        ground_truth=ground_truth, gene_names=np.asarray(gene_names).astype(str),
        class_names=np.asarray(class_names).astype(str), train_mean=mean.astype(np.float32),
        train_sd=sd.astype(np.float32),
    )
    log.info("%d train / %d test samples, %d genes, %d classes", len(tr), len(te), Z.shape[1], len(class_names))


def make_simulated_data(setting: str, params: Mapping, split: Mapping, seed: int, out: str) -> None:
    """SIMU1/SIMU2 from :func:`attrpriors.data.simulate_rnaseq.simulate_setting` with the config sizes,
    per-million counts, split and preprocessed; the ground truth (classes × genes) is kept."""
    from ..data.simulate_rnaseq import simu1, simu2

    gen = {"SIMU1": simu1, "SIMU2": simu2}.get(setting)
    if gen is None:
        raise ValueError(f"unknown simulated setting {setting!r}; known: SIMU1, SIMU2")
    sim = gen(seed=derive_seed(seed, EXPERIMENT, setting, "data"), **dict(params))
    log.info("%s: %d pathways, ground truth %.1f genes per class on average", setting, len(sim.pathway_genes),
             sim.ground_truth.sum(1).mean())
    _save_dataset(out, sim.per_million(), sim.labels, split["test"], derive_seed(seed, EXPERIMENT, setting, "split"),
                  sim.ground_truth, sim.gene_names, np.array([f"C{c:02d}" for c in range(sim.ground_truth.shape[0])]))


def read_tcga(expression: str, annotation: str, params: Mapping) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """TCGA PanCanAtlas expression + sample annotation → ``(values samples × genes, labels, genes, classes)``.

    The expression file is genes × aliquots (first column the gene id, e.g. ``A1BG|1``); the annotation maps
    aliquot barcodes to cancer types. Kept: aliquots with a sample-type code (4th barcode field, e.g. ``01`` =
    primary tumour) in ``sample_types``, not flagged in ``exclude_column``, one aliquot per patient (the first),
    classes with at least ``min_samples_per_class`` samples; genes without missing values and with some
    expression. Negative values of the batch-corrected matrix are clipped to 0 before the log transform.
    """
    barcode_col = params.get("barcode_column", "aliquot_barcode")
    type_col = params.get("type_column", "cancer type")
    exclude_col = params.get("exclude_column", "Do_not_use")
    ann = _read_tsv(annotation, (barcode_col, type_col))
    expr = _read_tsv(expression, ())
    gene_col = expr.columns[0]
    expr = expr.set_index(gene_col)
    expr = expr.dropna(axis=0, how="any")
    sample_types = {str(s) for s in params.get("sample_types", ["01", "03"])}
    ann = ann.drop_duplicates(barcode_col).set_index(barcode_col)
    if exclude_col in ann.columns:
        flagged = ann[exclude_col].astype(str).str.lower().isin(["true", "1", "yes"])
        ann = ann[~flagged]
    keep, seen = [], set()
    for bc in expr.columns.astype(str):
        parts = bc.split("-")
        if len(parts) < 4 or parts[3][:2] not in sample_types or bc not in ann.index:
            continue
        patient = "-".join(parts[:3])
        if patient in seen:
            continue
        seen.add(patient)
        keep.append(bc)
    if not keep:
        raise ValueError(f"{expression}: no aliquot matches {annotation} with sample types {sorted(sample_types)}")
    types = ann.loc[keep, type_col].astype(str)
    counts = types.value_counts()
    ok = counts.index[counts >= int(params.get("min_samples_per_class", 0))]
    keep = [b for b in keep if types[b] in set(ok)]
    classes = np.array(sorted(ok))
    cidx = {c: i for i, c in enumerate(classes)}
    values = expr[keep].to_numpy(dtype=np.float64).T
    values = np.clip(values, 0.0, None)
    expressed = values.max(axis=0) > 0
    labels = np.array([cidx[types[b]] for b in keep], dtype=np.int64)
    return values[:, expressed].astype(np.float32), labels, expr.index.astype(str).to_numpy()[expressed], classes


def _read_tsv(path: str, required: Sequence[str]) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"input file not found: {p}")
    df = pd.read_csv(p, sep="\t", compression="infer", low_memory=False)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise KeyError(f"{p}: missing column(s) {missing}; found {list(df.columns)[:12]}")
    return df


def make_tcga_data(expression: str, annotation: str, params: Mapping, split: Mapping, seed: int, out: str) -> None:
    """TCGA PanCanAtlas (33 cancer types) preprocessed like the simulations; no ground truth."""
    values, labels, genes, classes = read_tcga(expression, annotation, params)
    log.info("TCGA: %d samples, %d genes, %d cancer types", len(labels), len(genes), len(classes))
    _save_dataset(out, values, labels, split["test"], derive_seed(seed, EXPERIMENT, "TCGA", "split"),
                  np.zeros((0, len(genes)), dtype=bool), genes, classes)


# ------------------------------------------------------------------------------------------------ training
def train_classifier(data: str, model_spec: Mapping, training: Mapping, val_fraction: float, seed: int,
                     retraining: int, device: str, dataset: str, model_name: str, out_model: str,
                     out_history: str) -> None:
    """Fit LR/MLP on the training split (cross-entropy), early stopping on a stratified validation part."""
    from ..models import build_model, model_checkpoint_info
    from ..seeds import seed_everything
    from ..training import FitConfig, fit, predict

    d = load_npz(data, DATA_KEYS)
    job_seed = derive_seed(seed, EXPERIMENT, dataset, model_name, retraining)
    tr, va = stratified_split(d["y_train"], val_fraction, job_seed)
    seed_everything(job_seed)
    n_in, n_out = d["X_train"].shape[1], len(d["class_names"])
    net = build_model(dict(model_spec), n_in, n_out)
    cfg = FitConfig.from_mapping(training, seed=job_seed, device=device)
    res = fit(net, d["X_train"][tr], d["y_train"][tr], d["X_train"][va], d["y_train"][va], task="classification",
              config=cfg, checkpoint=out_model, checkpoint_extra=model_checkpoint_info(dict(model_spec), n_in, n_out),
              description=f"train {dataset}/{model_name}/seed{retraining}")
    acc = float(np.mean(predict(res.model, d["X_test"]).argmax(1) == d["y_test"]))
    save_table(res.history.assign(experiment=EXPERIMENT, dataset=dataset, model=model_name, seed=retraining,
                                  test_accuracy=acc), out_history)
    log.info("%s/%s seed %d: best epoch %d, test accuracy %.4f", dataset, model_name, retraining, res.best_epoch, acc)


# ------------------------------------------------------------------------------------------------ IG
def softmax_model(model):
    """``model`` followed by a softmax over classes: IG then explains class probabilities, as in the paper."""
    from torch import nn

    return nn.Sequential(model, nn.Softmax(dim=1)).eval()


def _class_output(net, x, target, batch: int = 4096):
    import torch

    with torch.no_grad():
        return torch.cat([net(x[i : i + batch]).gather(1, target[i : i + batch, None])[:, 0]
                          for i in range(0, len(x), batch)])


def integrated_gradients_until_complete(
    net,
    x,
    target,
    *,
    start_steps: int = 16,
    max_steps: int = 1024,
    tolerance: float = 0.01,
    method: str = "gausslegendre",
    max_batch: int = 8192,
) -> tuple[np.ndarray, pd.DataFrame]:
    """IG from the zero baseline with the number of steps doubled from ``start_steps`` until the largest
    completeness gap ``max_i |Σ_j φ_ij − (f(x_i) − f(0))|`` is at most ``tolerance`` (or ``max_steps`` is
    reached; then the last attributions are returned and ``converged`` is False).

    Returns ``(attributions, steps_table)`` with one row per tried step count: ``n_steps, max_gap, mean_gap,
    max_relative_gap, converged``.
    """
    import torch

    from ..attributions import integrated_gradients

    schedule = ig_step_schedule(start_steps, max_steps)
    delta = (_class_output(net, x, target) - _class_output(net, torch.zeros_like(x), target)).cpu().numpy()
    rows = []
    for steps in schedule:
        phi = integrated_gradients(net, x, target, None, n_steps=steps, method=method, max_batch=max_batch)
        phi = phi.detach().cpu().numpy()
        gap = np.abs(phi.sum(axis=1, dtype=np.float64) - delta)
        ok = bool(gap.max() <= tolerance)
        rel = gap / np.maximum(np.abs(delta), 1e-12)
        rows.append({"n_steps": steps, "max_gap": float(gap.max()), "mean_gap": float(gap.mean()),
                     "max_relative_gap": float(rel.max()), "converged": ok})
        log.info("IG with %d steps: max completeness gap %.3g (tolerance %.3g)", steps, gap.max(), tolerance)
        if ok or steps == schedule[-1]:
            if not ok:
                log.warning("IG did not reach the completeness tolerance %.3g within %d steps", tolerance, steps)
            return phi.astype(np.float32), pd.DataFrame(rows)


def ig_step_schedule(start_steps: int, max_steps: int) -> list[int]:
    """The IG step counts :func:`integrated_gradients_until_complete` tries in turn: ``start_steps`` doubled
    while at most ``max_steps``."""
    if start_steps < 1 or max_steps < start_steps:
        raise ValueError(f"need 1 <= start_steps <= max_steps, got {start_steps}, {max_steps}")
    out, steps = [], int(start_steps)
    while steps <= int(max_steps):
        out.append(steps)
        steps *= 2
    return out


def _topk_grid(ks: Sequence[int], p: int) -> list[int]:
    return sorted({int(min(k, p)) for k in ks if int(k) > 0})


def class_balanced_importance(attr_norm: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean over classes of the class mean of |φ| (every class weighs the same, as the paper's curves)."""
    return np.mean([np.abs(attr_norm[labels == c]).mean(axis=0) for c in np.unique(labels)], axis=0)


def explain_and_score(data: str, model: str, ig: Mapping, evaluation: Mapping, seed: int, retraining: int,
                      device: str, dataset: str, model_name: str, out_attributions: str, out_metrics: str,
                      out_curves: str, out_steps: str) -> None:
    """IG on the test samples (steps raised until complete), then FA, prediction gaps and top-k curves."""
    import torch

    from ..models import load_model
    from ..training import predict, select_device

    d = load_npz(data, DATA_KEYS)
    dev = select_device(device)
    net = softmax_model(load_model(model).to(dev))
    X, y = d["X_test"], d["y_test"].astype(np.int64)
    xt, yt = torch.as_tensor(X, device=dev), torch.as_tensor(y, device=dev)
    attr, steps = integrated_gradients_until_complete(
        net, xt, yt, start_steps=int(ig["start_steps"]), max_steps=int(ig["max_steps"]),
        tolerance=float(ig["tolerance"]), method=ig.get("method", "gausslegendre"),
        max_batch=int(ig.get("max_batch", 8192)))

    def prob(Z: np.ndarray) -> np.ndarray:
        return predict(net, Z, device=str(dev))

    pred = prob(X).argmax(1)
    correct = pred == y
    A = l2_normalize(attr[correct])
    Xc, yc = X[correct], y[correct]
    ids = {"experiment": EXPERIMENT, "dataset": dataset, "model": model_name, "seed": retraining}
    rows = {"test_accuracy": float(correct.mean()), "n_correct": int(correct.sum()),
            "ig_steps": int(steps["n_steps"].iloc[-1]), "ig_max_gap": float(steps["max_gap"].iloc[-1]),
            "ig_converged": float(steps["converged"].iloc[-1])}

    gt = d["ground_truth"]
    if gt.size:
        fa = feature_agreement(A, yc, gt)
        rows["fa_local"] = float(fa["local"].mean())
        rows["fa_global"] = float(fa["global"].mean())
        rows["fa_k_mean"] = float(fa["k"].mean())

    # prediction gaps on a seeded subset of the correctly classified samples
    rng = np.random.default_rng(derive_seed(seed, EXPERIMENT, dataset, model_name, retraining, "pg"))
    n_pg = min(int(evaluation["pg_samples"]), len(yc))
    sub = np.sort(rng.permutation(len(yc))[:n_pg])
    step = int(evaluation["pg_step"])
    rows["pgi"] = float(prediction_gaps(prob, Xc[sub], yc[sub], A[sub], order="important", step=step).mean())
    rows["pgu"] = float(prediction_gaps(prob, Xc[sub], yc[sub], A[sub], order="unimportant", step=step).mean())
    rows["pgr"] = float(np.mean([
        prediction_gaps(prob, Xc[sub], yc[sub], A[sub], order="random", step=step,
                        seed=derive_seed(seed, EXPERIMENT, dataset, model_name, retraining, "pgr", r)).mean()
        for r in range(int(evaluation["pg_random_repeats"]))
    ]))

    # accuracy keeping / removing the top-k genes (on correctly classified samples): of the class-balanced
    # global ranking, of each class's ranking (union over classes), and of random gene sets
    importance = class_balanced_importance(A, yc)
    class_scores = np.stack([A[yc == c].mean(axis=0) if np.any(yc == c) else np.full(A.shape[1], np.nan)
                             for c in range(len(d["class_names"]))])
    ranking = rank_features(importance)
    class_ranking = rank_features(np.nan_to_num(class_scores[np.unique(yc)], nan=-np.inf))
    ks = _topk_grid(evaluation["topk"], X.shape[1])
    curves = [topk_accuracy_curve(prob, Xc, yc, ranking, ks, mode=m).assign(curve=f"{m}_top") for m in ("keep", "remove")]
    k_class = _topk_grid(evaluation["topk_per_class"], X.shape[1])
    curves.append(topk_accuracy_curve(prob, Xc, yc, class_ranking, k_class, mode="keep").assign(curve="keep_top_per_class"))
    rnd = [topk_accuracy_curve(prob, Xc, yc, np.random.default_rng(
        derive_seed(seed, EXPERIMENT, dataset, model_name, retraining, "random", r)).permutation(X.shape[1]), ks,
        mode="keep") for r in range(int(evaluation["random_repeats"]))]
    curves.append(pd.concat(rnd).groupby(["k", "n_features"], as_index=False)["accuracy"].mean()
                  .assign(curve="keep_random"))
    save_table(pd.concat(curves, ignore_index=True).assign(**ids), out_curves)

    save_npz(out_attributions, attributions=attr, y=y, y_pred=pred, importance=importance.astype(np.float32),
             class_scores=class_scores.astype(np.float32))
    save_table(steps.assign(**ids), out_steps)
    save_table(pd.DataFrame([{**ids, "metric": k, "value": v} for k, v in rows.items()]), out_metrics)
    log.info("%s/%s seed %d: %s", dataset, model_name, retraining,
             ", ".join(f"{k}={v:.4g}" for k, v in rows.items()))


# ------------------------------------------------------------------------------------------------ overlap
def topk_overlap(attributions: Sequence[str], keys: Sequence[Sequence], data: str, ks: Sequence[int], dataset: str,
                 out: str) -> None:
    """Jaccard overlap across retrainings of the top-k genes: of the global ranking (``scope=global``) and of
    each class's ranking by mean signed φ (``scope=class``, averaged over classes); with the random expectation.

    ``keys`` gives ``(model, seed)`` of each attribution file."""
    d = load_npz(data, DATA_KEYS)
    p = d["X_test"].shape[1]
    by_model: dict[str, dict[int, dict]] = {}
    for path, (model, s) in zip(attributions, keys):
        a = load_npz(path, ("importance", "class_scores"))
        by_model.setdefault(model, {})[int(s)] = a
    grid = _topk_grid(ks, p)
    rows = []
    for model, runs in by_model.items():
        if len(runs) < 2:
            log.warning("%s/%s: fewer than two retrainings, no overlap", dataset, model)
            continue
        j = topk_jaccard({s: rank_features(r["importance"]) for s, r in runs.items()}, grid)
        g = j.groupby("k")["jaccard"].agg(["mean", "std", "count"]).reset_index()
        rows.append(g.assign(scope="global"))
        n_class = next(iter(runs.values()))["class_scores"].shape[0]
        per_class = []
        for c in range(n_class):
            ranks = {s: rank_features(np.nan_to_num(r["class_scores"][c], nan=-np.inf)) for s, r in runs.items()}
            per_class.append(topk_jaccard(ranks, grid).assign(cls=c))
        pc = pd.concat(per_class).groupby(["k", "a", "b"])["jaccard"].mean().reset_index()
        rows.append(pc.groupby("k")["jaccard"].agg(["mean", "std", "count"]).reset_index().assign(scope="class"))
        for r in rows[-2:]:
            r["model"] = model
    if not rows:
        raise ValueError(f"{dataset}: no model has two or more retrainings to compare")
    df = pd.concat(rows, ignore_index=True).rename(columns={"mean": "jaccard", "std": "jaccard_sd", "count": "n_pairs"})
    df["random_expectation"] = [expected_random_jaccard(k, p) for k in df["k"]]
    df.insert(0, "dataset", dataset)
    df.insert(0, "experiment", EXPERIMENT)
    save_table(df[["experiment", "dataset", "model", "scope", "k", "jaccard", "jaccard_sd", "n_pairs",
                   "random_expectation"]], out)


# ------------------------------------------------------------------------------------------------ tables
def _ordered(values, order) -> list:
    present = list(dict.fromkeys(values))
    return [v for v in order if v in present] + [v for v in present if v not in order]


def make_tables(metrics: Sequence[str], steps: Sequence[str], overlap: Sequence[str], report_k: int,
                out_fa_csv: str, out_fa_md: str, out_pg_csv: str, out_pg_md: str, out_steps_csv: str,
                out_steps_md: str, out_overlap_csv: str, out_overlap_md: str, out_fa_png: str) -> None:
    """The paper's tables from the tidy per-seed metrics: feature agreement (ours beside the paper's),
    prediction gaps, IG steps used with the completeness gap, and top-k overlap across seeds."""
    m = pd.concat([read_table(p, ("dataset", "model", "seed", "metric", "value")) for p in metrics], ignore_index=True)
    datasets = _ordered(m["dataset"], DATASET_ORDER)
    models = _ordered(m["model"], MODEL_ORDER)
    wide = m.pivot_table(index=["dataset", "model", "seed"], columns="metric", values="value").reset_index()

    # feature agreement
    fa_rows, fa_md = [], []
    for ds in datasets:
        for mo in models:
            w = wide[(wide["dataset"] == ds) & (wide["model"] == mo)]
            if w.empty or "fa_local" not in w or w["fa_local"].isna().all():
                continue
            paper = PAPER_FEATURE_AGREEMENT.get((ds, mo), (np.nan, np.nan))
            fa_rows.append({"dataset": ds, "model": mo, "n_seeds": len(w),
                            "test_accuracy": 100 * w["test_accuracy"].mean(),
                            "fa_local": 100 * w["fa_local"].mean(), "fa_local_sd": 100 * w["fa_local"].std(ddof=1),
                            "fa_global": 100 * w["fa_global"].mean(),
                            "fa_global_sd": 100 * w["fa_global"].std(ddof=1),
                            "paper_fa_local": paper[0], "paper_fa_global": paper[1],
                            "k_mean": w["fa_k_mean"].mean()})
            fa_md.append({"Dataset": ds, "Model": mo, "Seeds": len(w),
                          "Test accuracy (%)": format_mean_sd(w["test_accuracy"], 100),
                          "Local FA (%)": format_mean_sd(w["fa_local"], 100),
                          "Global FA (%)": format_mean_sd(w["fa_global"], 100),
                          "Paper local / global FA (%)": f"{paper[0]:.1f} / {paper[1]:.1f}" if not np.isnan(paper[0])
                          else "—",
                          "K (genes per class)": f"{w['fa_k_mean'].mean():.0f}"})
    fa = pd.DataFrame(fa_rows, columns=["dataset", "model", "n_seeds", "test_accuracy", "fa_local", "fa_local_sd",
                                        "fa_global", "fa_global_sd", "paper_fa_local", "paper_fa_global", "k_mean"])
    save_table(fa.round(3), out_fa_csv)
    save_table(pd.DataFrame(fa_md) if fa_md else pd.DataFrame({"note": ["no dataset with a ground truth"]}), out_fa_md)
    feature_agreement_figure(fa, out_fa_png)

    # prediction gaps
    pg_rows, pg_md = [], []
    for ds in datasets:
        for mo in models:
            w = wide[(wide["dataset"] == ds) & (wide["model"] == mo)]
            if w.empty:
                continue
            pg_rows.append({"dataset": ds, "model": mo, "n_seeds": len(w),
                            **{k: 100 * w[k].mean() for k in ("pgi", "pgr", "pgu")},
                            **{f"{k}_sd": 100 * w[k].std(ddof=1) for k in ("pgi", "pgr", "pgu")}})
            pg_md.append({"Dataset": ds, "Model": mo, "Seeds": len(w), "PGI (%)": format_mean_sd(w["pgi"], 100, 2),
                          "PGR (%)": format_mean_sd(w["pgr"], 100, 2), "PGU (%)": format_mean_sd(w["pgu"], 100, 2),
                          "PGI > PGR > PGU in every seed": bool(((w["pgi"] > w["pgr"]) & (w["pgr"] > w["pgu"])).all())})
    save_table(pd.DataFrame(pg_rows).round(4), out_pg_csv)
    save_table(pd.DataFrame(pg_md), out_pg_md)

    # IG steps
    st = pd.concat([read_table(p, ("dataset", "model", "seed", "n_steps", "max_gap")) for p in steps], ignore_index=True)
    last = st.groupby(["dataset", "model", "seed"]).tail(1)
    tried = st.groupby(["dataset", "model", "seed"])["n_steps"].apply(lambda s: "→".join(str(int(v)) for v in s))
    last = last.merge(tried.rename("steps_tried").reset_index(), on=["dataset", "model", "seed"])
    save_table(last[["dataset", "model", "seed", "n_steps", "max_gap", "mean_gap", "max_relative_gap", "converged",
                     "steps_tried"]], out_steps_csv)
    steps_md = []
    for ds in datasets:
        for mo in models:
            w = last[(last["dataset"] == ds) & (last["model"] == mo)]
            if w.empty:
                continue
            steps_md.append({"Dataset": ds, "Model": mo, "Steps used (per seed)": ", ".join(str(int(v)) for v in w["n_steps"]),
                             "Largest completeness gap": f"{w['max_gap'].max():.2e}",
                             "Mean completeness gap": f"{w['mean_gap'].mean():.2e}",
                             "All within tolerance": bool(w["converged"].astype(str).isin(["True", "1", "1.0"]).all())})
    save_table(pd.DataFrame(steps_md), out_steps_md)

    # top-k overlap across seeds
    ov = pd.concat([read_table(p, ("dataset", "model", "scope", "k", "jaccard")) for p in overlap], ignore_index=True)
    save_table(ov.round(4), out_overlap_csv)
    ov_md = []
    for ds in _ordered(ov["dataset"], DATASET_ORDER):
        o = ov[ov["dataset"] == ds]
        for mo in _ordered(o["model"], MODEL_ORDER):
            for scope in ("global", "class"):
                q = o[(o["model"] == mo) & (o["scope"] == scope)]
                if q.empty:
                    continue
                ks = q["k"].to_numpy()
                k = int(ks[np.argmin(np.abs(ks - int(report_k)))])
                r = q[q["k"] == k].iloc[0]
                ov_md.append({"Dataset": ds, "Model": mo, "Ranking": scope, "K": k,
                              "Jaccard across seeds": format_estimate(r["jaccard"], r["jaccard_sd"], 3),
                              "Random expectation": f"{r['random_expectation']:.3f}", "Seed pairs": int(r["n_pairs"])})
    save_table(pd.DataFrame(ov_md), out_overlap_md)


# ------------------------------------------------------------------------------------------------ figures
def feature_agreement_figure(fa: pd.DataFrame, path: str) -> None:
    """Local and global FA per dataset × model, ours (mean ± s.d. over seeds) beside the paper's values."""
    from .. import plots

    n = max(len(fa), 1)
    with plots.figure(path, 1, 1, figsize=(1.4 * n + 2.5, 3.4)) as (fig, ax):
        if fa.empty:
            ax.text(0.5, 0.5, "no dataset with a ground truth", ha="center", va="center", transform=ax.transAxes)
            return
        x = np.arange(len(fa))
        w = 0.2
        ax.bar(x - 1.5 * w, fa["fa_local"], w, yerr=fa["fa_local_sd"].fillna(0), label="local (ours)", color="#4C72B0")
        ax.bar(x - 0.5 * w, fa["paper_fa_local"], w, label="local (paper)", color="#4C72B0", alpha=0.35, hatch="//")
        ax.bar(x + 0.5 * w, fa["fa_global"], w, yerr=fa["fa_global_sd"].fillna(0), label="global (ours)",
               color="#DD8452")
        ax.bar(x + 1.5 * w, fa["paper_fa_global"], w, label="global (paper)", color="#DD8452", alpha=0.35, hatch="//")
        ax.set_xticks(x, [f"{d}\n{m}" for d, m in zip(fa["dataset"], fa["model"])])
        ax.set_ylabel("feature agreement (%)")
        ax.set_ylim(0, 118)
        ax.set_yticks(range(0, 101, 20))
        ax.set_title("IG feature agreement with the ground truth (ours: mean ± s.d. over seeds)")
        ax.legend(ncol=4, fontsize=7, loc="upper center")


def topk_accuracy_figure(curves: Sequence[str], path: str) -> None:
    """Accuracy on correctly classified test samples keeping / removing the top-k genes, vs random genes."""
    from .. import plots

    df = pd.concat([read_table(p, ("dataset", "model", "seed", "curve", "k", "n_features", "accuracy"))
                    for p in curves], ignore_index=True)
    datasets = _ordered(df["dataset"], DATASET_ORDER)
    models = _ordered(df["model"], MODEL_ORDER)
    styles = {"keep_top": ("keep top-k, global IG ranking", "#4C72B0", "-"),
              "keep_top_per_class": ("keep top-k of every class (IG)", "#55A868", "-"),
              "remove_top": ("remove top-k, global IG ranking", "#C44E52", "-"),
              "keep_random": ("keep k random genes", "0.5", "--")}
    with plots.figure(path, len(models), len(datasets), figsize=(3.4 * len(datasets), 2.9 * len(models)),
                      squeeze=False, sharey=True, layout="constrained") as (fig, axes):
        for i, mo in enumerate(models):
            for j, ds in enumerate(datasets):
                ax = axes[i][j]
                sub = df[(df["dataset"] == ds) & (df["model"] == mo)]
                for curve, (label, color, ls) in styles.items():
                    g = sub[sub["curve"] == curve].groupby("k").agg(
                        n=("n_features", "mean"), mean=("accuracy", "mean"), sd=("accuracy", "std")).reset_index()
                    if g.empty:
                        continue
                    ax.plot(g["n"], 100 * g["mean"], ls, color=color, marker="o", ms=2.5, label=label)
                    ax.fill_between(g["n"], 100 * (g["mean"] - g["sd"].fillna(0)),
                                    100 * (g["mean"] + g["sd"].fillna(0)), color=color, alpha=0.15)
                ax.set_xscale("log")
                ax.set_title(f"{ds} — {mo}")
                ax.set_xlabel("genes kept or removed")
                if j == 0:
                    ax.set_ylabel("accuracy on correctly\nclassified test samples (%)")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=7)


def topk_overlap_figure(tables: Sequence[str], path: str) -> None:
    """Jaccard overlap of the top-k genes across retrainings vs k, with the random expectation."""
    from .. import plots

    df = pd.concat([read_table(p, ("dataset", "model", "scope", "k", "jaccard", "random_expectation"))
                    for p in tables], ignore_index=True)
    datasets = _ordered(df["dataset"], DATASET_ORDER)
    colors = {"LR": "#4C72B0", "MLP": "#DD8452"}
    with plots.figure(path, 1, len(datasets), figsize=(3.6 * len(datasets), 3.4), squeeze=False, sharey=True,
                      layout="constrained") as (fig, axes):
        for j, ds in enumerate(datasets):
            ax = axes[0][j]
            sub = df[df["dataset"] == ds]
            for mo in _ordered(sub["model"], MODEL_ORDER):
                for scope, ls in (("global", "-"), ("class", ":")):
                    g = sub[(sub["model"] == mo) & (sub["scope"] == scope)].sort_values("k")
                    if g.empty:
                        continue
                    ax.plot(g["k"], g["jaccard"], ls, marker="o", ms=2.5, color=colors.get(mo),
                            label=f"{mo}, {'global' if scope == 'global' else 'per class'} ranking")
            r = sub.drop_duplicates("k").sort_values("k")
            ax.plot(r["k"], r["random_expectation"], "--", color="0.5", label="random gene lists")
            ax.axhline(1.0, color="k", lw=0.6)
            ax.set_xscale("log")
            ax.set_ylim(0, 1.05)
            ax.set_xlabel("top-k genes")
            ax.set_title(ds)
            if j == 0:
                ax.set_ylabel("Jaccard overlap across seeds")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=7)


def datasets(cfg: Mapping) -> list[str]:
    """The data sets of the ``ig_limits:`` config block: its SIMU settings when ``source`` is simulated|both,
    TCGA when download|both."""
    out = list(cfg["settings"]) if cfg["source"] in ("simulated", "both") else []
    return out + (["TCGA"] if cfg["source"] in ("download", "both") else [])


def workload(config: Mapping, tcga: Mapping | None = None) -> dict:
    """What the experiment's jobs do, for compute projections (timings/paper_scale.py); torch-free.

    ``config`` is the whole workflow config; ``tcga`` the TCGA sizes it cannot know (``n_samples``, ``n_genes``,
    ``n_classes``; needed when TCGA is among the data sets): its class sizes are unknown, so its split is sized
    as one stratum. Returns per data set the inputs, classes and split sizes (the stratified splits of
    :func:`stratified_split`: test, then validation out of the training part) and, per data set and model, the
    training jobs (one per seed; model spec, training settings with epochs at their maximum) and the explain
    jobs: test rows, the IG step counts tried (:func:`ig_step_schedule`; all of them: an upper bound) and the
    rows predicted by the scores of :func:`explain_and_score` (every test row taken as correctly classified).
    """
    ig_cfg = config["ig_limits"]
    test, val = float(ig_cfg["split"]["test"]), float(ig_cfg["split"]["val"])
    seeds = int(ig_cfg["seeds"])
    ig, ev = ig_cfg["ig"], ig_cfg["evaluation"]
    schedule = ig_step_schedule(int(ig["start_steps"]), int(ig["max_steps"]))
    out: dict = {"seeds": seeds, "datasets": {}, "train": {}, "explain": {}}
    for ds in datasets(ig_cfg):
        if ds == "TCGA":
            if tcga is None:
                raise ValueError("ig_limits: TCGA is among the data sets (source: download|both): give its sizes "
                                 "(tcga={n_samples, n_genes, n_classes})")
            strata, p, C = [int(tcga["n_samples"])], int(tcga["n_genes"]), int(tcga["n_classes"])
        else:
            sim = ig_cfg["simulation"]
            C, p = int(sim["n_classes"]), int(sim["n_genes"])
            strata = [int(sim["n_samples_per_class"])] * C
        n_test = sum(_stratum_test(n, test) for n in strata)
        n_val = sum(_stratum_test(n - _stratum_test(n, test), val) for n in strata)
        rows = {"train": sum(strata) - n_test - n_val, "val": n_val, "test": n_test}
        out["datasets"][ds] = {"n_genes": p, "n_classes": C, "rows": rows}
        n_pg = min(int(ev["pg_samples"]), n_test)
        removals = math.ceil(p / int(ev["pg_step"]))
        orders = 2 + int(ev["pg_random_repeats"])  # important, unimportant and each random order
        ks, k_class = _topk_grid(ev["topk"], p), _topk_grid(ev["topk_per_class"], p)
        curve_rows = n_test * (2 * len(ks) + len(k_class) + int(ev["random_repeats"]) * len(ks))
        for model in ig_cfg["models"]:
            out["train"].setdefault(ds, {})[model] = {"jobs": seeds, "fits_per_job": 1,
                                                      "model": dict(ig_cfg["models"][model]),
                                                      "training": dict(ig_cfg["training"][model])}
            out["explain"].setdefault(ds, {})[model] = {
                "jobs": seeds, "rows": n_test, "ig_steps": schedule, "method": ig.get("method", "gausslegendre"),
                "max_batch": int(ig.get("max_batch", 8192)),
                "prediction_gaps": {"rows": n_pg, "removals": removals, "orders": orders,
                                    "predicted_rows": n_pg * removals * orders},
                # f(x) and f(0) of the completeness gap, the test predictions; the top-k curves
                "predicted_rows": 3 * n_test + n_pg * removals * orders + curve_rows}
    return out
