"""Experiment A1: the attribution benchmark (Erion et al. Table 1, supplement Fig. 1).

One function per pipeline step; each reads files, calls the library and writes its outputs atomically.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pandas as pd

from ..data.synthetic_benchmark import make_benchmark_dataset
from ..display import METHOD_LABELS
from ..evaluation import (BENCHMARK_METRICS, attribution_convergence, benchmark_metrics, randomization_flag,
                          randomization_sanity)
from ..io import load_npz, read_table, save_npz, save_table
from ..seeds import derive_seed, seed_everything

if TYPE_CHECKING:  # for annotations only; at run time the functions that use these import them
    import torch

log = logging.getLogger("attrpriors.benchmark")

DATA_KEYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "beta")


def split_sizes(n: int, test: float, val: float) -> dict[str, int]:
    """Rows of the train/validation/test splits of ``n`` samples; ``val`` is a fraction of what remains after the
    test split."""
    n_test = int(round(test * n))
    n_val = int(round(val * (n - n_test)))
    return {"train": n - n_test - n_val, "val": n_val, "test": n_test}


def split_indices(n: int, test: float, val: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random train/validation/test indices of the sizes :func:`split_sizes` gives."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    sizes = split_sizes(n, test, val)
    n_test, n_val = sizes["test"], sizes["val"]
    return perm[n_test + n_val :], perm[n_test : n_test + n_val], perm[:n_test]


def make_data(dataset: str, params: Mapping, seed: int, out: str) -> None:
    """Generate one benchmark dataset and its train/val/test split."""
    params = dict(params)
    split = params.pop("split")
    data = make_benchmark_dataset(dataset, seed=derive_seed(seed, dataset, "data"), **params)
    tr, va, te = split_indices(len(data["y"]), split["test"], split["val"], derive_seed(seed, dataset, "split"))
    save_npz(
        out,
        X_train=data["X"][tr], y_train=data["y"][tr],
        X_val=data["X"][va], y_val=data["y"][va],
        X_test=data["X"][te], y_test=data["y"][te],
        beta=data["beta"],
    )
    log.info("%s: %d train / %d val / %d test, %d features", dataset, len(tr), len(va), len(te), data["X"].shape[1])


def train_model(data: str, model_spec: Mapping, training: Mapping, seed: int, device: str, dataset: str,
                out_model: str, out_history: str) -> None:
    """Fit the benchmark MLP (regression) with early stopping on the validation split."""
    from ..models import build_model, model_checkpoint_info
    from ..training import FitConfig, fit, predict

    d = load_npz(data, DATA_KEYS)
    job_seed = derive_seed(seed, dataset, "train")
    seed_everything(job_seed)
    n_inputs = d["X_train"].shape[1]
    model = build_model(model_spec, n_inputs, 1)
    cfg = FitConfig.from_mapping(training, seed=job_seed, device=device)
    res = fit(model, d["X_train"], d["y_train"], d["X_val"], d["y_val"], task="regression", config=cfg,
              checkpoint=out_model, checkpoint_extra=model_checkpoint_info(model_spec, n_inputs, 1),
              description=f"train {dataset}")
    pred = predict(res.model, d["X_test"])
    r2 = 1 - np.mean((pred - d["y_test"]) ** 2) / np.var(d["y_test"])
    hist = res.history.assign(dataset=dataset, test_r2=r2)
    save_table(hist, out_history)
    log.info("%s: best epoch %d, val MSE %.4g, test R² %.4f", dataset, res.best_epoch, res.best_val_loss, r2)


def _baseline(option: str | float | None, X_train: np.ndarray) -> torch.Tensor | float | None:
    import torch

    if option is None or option == "zero":
        return None
    if option == "mean":
        return torch.as_tensor(X_train.mean(0), dtype=torch.float32)
    if isinstance(option, (int, float)):
        return float(option)
    raise ValueError(f"unknown IG baseline {option!r}; use zero, mean or a number")


def _explainer(d: Mapping, method: str, options: Mapping, n_explain: int, seed: int, dataset: str, dev):
    """``f(model) -> attributions`` of the first ``n_explain`` test samples with ``method``; every call draws the
    same references / noise (a generator seeded afresh), so two calls differ only through the model."""
    import torch

    from ..attributions import attribute

    X = torch.as_tensor(d["X_test"][:n_explain]).to(dev)
    options = dict(options or {})
    baselines = None
    if method == "expected_gradients":
        baselines = torch.as_tensor(d["X_train"]).to(dev)
    elif method == "integrated_gradients":
        baselines = _baseline(options.pop("baseline", "zero"), d["X_train"])

    def explain(net) -> np.ndarray:
        opts = dict(options)
        if method in ("expected_gradients", "random", "smoothgrad"):
            opts["generator"] = torch.Generator().manual_seed(derive_seed(seed, dataset, method, "explain"))
        return attribute(method, net.to(dev), X, None, baselines, **opts).detach().cpu().numpy()

    return explain


def explain(data: str, model: str, method: str, options: Mapping, n_explain: int, seed: int, device: str,
            dataset: str, out: str) -> None:
    """Attributions of the first ``n_explain`` test samples with ``method`` (options from config)."""
    from ..models import load_model
    from ..training import select_device

    d = load_npz(data, DATA_KEYS)
    dev = select_device(device)
    net = load_model(model).to(dev)
    phi = _explainer(d, method, options, n_explain, seed, dataset, dev)(net)
    save_npz(out, attributions=phi, X=d["X_test"][:n_explain], y=d["y_test"][:n_explain])
    log.info("%s/%s: attributions %s, mean |φ| %.4g", dataset, method, phi.shape, np.abs(phi).mean())


def score(data: str, model: str, attributions: str, params: Mapping, seed: int, dataset: str, method: str,
          out_scores: str, out_curves: str) -> None:
    """The 18 keep/remove metrics of one method on one dataset (long format)."""
    from ..models import load_model
    from ..training import predict

    d = load_npz(data, DATA_KEYS)
    a = load_npz(attributions, ("attributions", "X", "y"))
    net = load_model(model)
    scores, curves = benchmark_metrics(
        lambda Z: predict(net, Z), d["X_train"], a["X"], a["y"], a["attributions"],
        n_points=params["n_points"], n_resample=params["n_resample"], seed=derive_seed(seed, dataset, "metrics"),
    )
    ids = {"experiment": "attribution_benchmark", "dataset": dataset, "method": method}
    save_table(scores.assign(**ids)[["experiment", "dataset", "method", "metric", "value"]], out_scores)
    save_table(curves.assign(**ids), out_curves)


def make_table(scores: Sequence[str], dataset: str, out_csv: str, out_md: str, out_png: str,
               randomization: str | None = None, threshold: float = 0.5) -> None:
    """Table 1 for one dataset: rows = the 18 metrics, columns = methods, the best per row in bold (Markdown).

    With ``randomization`` (:func:`randomization`'s table) two more rows: Spearman ρ of |attributions| between
    the trained and the fully randomized model, and whether the maps survive it (ρ ≥ ``threshold``: flagged)."""
    from scipy.stats import binomtest

    from .. import plots

    df = pd.concat([read_table(p, ("method", "metric", "value")) for p in scores], ignore_index=True)
    wide = df.pivot_table(index="metric", columns="method", values="value").reindex(list(BENCHMARK_METRICS))
    methods = [m for m in METHOD_LABELS if m in wide.columns]
    wide = wide[methods]
    winners = wide.idxmax(axis=1)
    table = wide.reset_index()
    table.insert(1, "best", winners.values)
    md = wide.copy().astype(object)
    for metric, row in wide.iterrows():
        for m in methods:
            md.loc[metric, m] = f"**{row[m]:.3f}**" if m == winners[metric] else f"{row[m]:.3f}"
    md.columns = [METHOD_LABELS[m] for m in methods]
    wins = winners.value_counts()
    md_df = md.reset_index().rename(columns={"metric": "Metric"})
    n_rows = len(wide)
    footer = pd.DataFrame(
        [
            {"Metric": f"wins (of {n_rows})", **{METHOD_LABELS[m]: int(wins.get(m, 0)) for m in methods}},
            {
                "Metric": "binomial p (wins vs chance)",
                **{
                    METHOD_LABELS[m]: f"{binomtest(int(wins.get(m, 0)), n_rows, 1 / len(methods), alternative='greater').pvalue:.2g}"
                    for m in methods
                },
            },
        ]
    )
    if randomization is not None:
        rnd = randomization_rows(randomization, methods, threshold).set_index("method")
        table = pd.concat([table, pd.DataFrame([
            {"metric": "randomization_spearman", "best": "", **rnd["randomization_spearman"].to_dict()},
            {"metric": "survives_randomization", "best": "",
             **rnd["survives_randomization"].astype(float).to_dict()}])],
            ignore_index=True)
        footer = pd.concat([footer, pd.DataFrame([
            {"Metric": "randomization: Spearman ρ of \\|φ\\| with all layers randomized",
             **{METHOD_LABELS[m]: f"{rnd.loc[m, 'randomization_spearman']:.2f}" for m in methods}},
            {"Metric": f"survives randomization (ρ ≥ {threshold:g}: flagged)",
             **{METHOD_LABELS[m]: "**FLAGGED**" if rnd.loc[m, "survives_randomization"] else "no"
                for m in methods}}])], ignore_index=True)
    save_table(table, out_csv)
    save_table(pd.concat([md_df, footer], ignore_index=True), out_md)
    plots.benchmark_heatmap_figure(df, out_png, title=f"Attribution benchmark — {dataset}")


def convergence(data: str, model: str, params: Mapping, seed: int, device: str, dataset: str, out: str) -> None:
    """Mean |EG_k − EG_truth| over test samples as the number of references k grows."""
    import torch
    from ..attributions import attribute
    from ..models import load_model
    from ..training import select_device

    d = load_npz(data, DATA_KEYS)
    dev = select_device(device)
    net = load_model(model).to(dev)
    X = torch.as_tensor(d["X_test"][: params["n_explain"]]).to(dev)
    bg = torch.as_tensor(d["X_train"]).to(dev)

    def eg(k: int, s: int) -> np.ndarray:
        gen = torch.Generator().manual_seed(derive_seed(seed, dataset, "convergence", s))
        return attribute("expected_gradients", net, X, None, bg, n_samples=k, generator=gen).cpu().numpy()

    df = attribution_convergence(eg, list(params["n_references"]), params["truth"], params["repeats"])
    save_table(df.assign(experiment="attribution_benchmark", dataset=dataset), out)


def convergence_figure(tables: Sequence[str], out: str) -> None:
    from .. import plots

    df = pd.concat([read_table(p, ("dataset", "n_references", "mean_abs_diff")) for p in tables], ignore_index=True)
    plots.eg_convergence_figure(df, out)


def randomization(data: str, model: str, methods: Sequence[str], method_options: Mapping, n_explain: int, seed: int,
                  device: str, dataset: str, out: str) -> None:
    """Model-randomization sanity check of every benchmark method on the benchmark MLP (Adebayo et al. 2018).

    Each method explains the same test samples (with the same references / noise) on the trained model and on
    its cascading randomized copies (:func:`attrpriors.evaluation.randomization_sanity`); tidy output, one row
    per (method, stage). ``gradients`` is the positive control (its maps must change), ``random`` the negative
    reference (model-independent maps survive every stage).
    """
    from ..models import load_model
    from ..training import select_device

    d = load_npz(data, DATA_KEYS)
    dev = select_device(device)
    net = load_model(model).to(dev)
    frames = []
    for method in methods:
        explain_fn = _explainer(d, method, (method_options or {}).get(method, {}), n_explain, seed, dataset, dev)
        table = randomization_sanity(explain_fn, net, seed=derive_seed(seed, dataset, "randomization"))
        frames.append(table.assign(method=method))
        log.info("%s/%s: Spearman rho of |attributions| with the fully randomized model %.3f", dataset, method,
                 randomization_flag(table)[0])
    df = pd.concat(frames, ignore_index=True).assign(experiment="attribution_benchmark", dataset=dataset)
    save_table(df[["experiment", "dataset", "method", *df.columns[:6]]], out)


def randomization_rows(table: str, methods: Sequence[str], threshold: float) -> pd.DataFrame:
    """Per method: ρ of |attributions| between the trained and the fully randomized model, and the flag."""
    df = read_table(table, ("method", "stage", "spearman"))
    rows = []
    for method in methods:
        sub = df[df["method"] == method]
        if sub.empty:
            raise ValueError(f"{table}: no randomization rows for method {method!r}")
        rho, survives = randomization_flag(sub.reset_index(drop=True), threshold)
        rows.append({"method": method, "randomization_spearman": rho, "survives_randomization": survives})
    return pd.DataFrame(rows)


def randomization_figure(tables: Sequence[str], threshold: float, out: str) -> None:
    """Cascading randomization: ρ of |attributions| (trained vs randomized) per stage, one panel per dataset."""
    from .. import plots

    df = pd.concat([read_table(p, ("dataset", "method", "stage", "layer", "spearman", "spearman_sd"))
                    for p in tables], ignore_index=True)
    plots.randomization_figure(df, "dataset", out, threshold=threshold,
                               title="Model-randomization sanity check of the benchmark MLP")


def convergence_references(params: Mapping) -> int:
    """References per explained row that :func:`convergence` draws: the truth once, then ``repeats`` times every
    k of ``n_references`` (:func:`attrpriors.evaluation.attribution_convergence`)."""
    return int(params["truth"]) + int(params["repeats"]) * sum(int(k) for k in params["n_references"])


def workload(config: Mapping) -> dict:
    """What the experiment's jobs do, for compute projections (timings/paper_scale.py); torch-free.

    ``config`` is the whole workflow config (the data are simulated: every size is in it). Returns the inputs and
    split sizes and, per rule, the jobs (one per dataset), fits per job, model spec, training settings (epochs at
    their maximum) and explained rows / references — the numbers :func:`make_data`, :func:`train_model`,
    :func:`explain` and :func:`convergence` use.
    """
    bm = config["benchmark"]
    data = bm["data"]
    rows = split_sizes(int(data["n_samples"]), float(data["split"]["test"]), float(data["split"]["val"]))
    jobs = len(bm["datasets"])
    options = bm.get("method_options") or {}
    conv = bm["convergence"]
    return {
        "n_features": int(data["n_features"]), "n_outputs": 1, "task": "regression", "rows": rows,
        "train_mlp": {"jobs": jobs, "fits_per_job": 1, "model": dict(bm["model"]), "training": dict(bm["training"])},
        "attributions": {m: {"jobs": jobs, "rows": min(int(bm["n_explain"]), rows["test"]),
                             "options": dict(options.get(m) or {})} for m in bm["methods"]},
        "eg_convergence": {"jobs": jobs, "rows": min(int(conv["n_explain"]), rows["test"]),
                           "truth": int(conv["truth"]), "repeats": int(conv["repeats"]),
                           "n_references": [int(k) for k in conv["n_references"]],
                           "references_per_row": convergence_references(conv)},
    }
