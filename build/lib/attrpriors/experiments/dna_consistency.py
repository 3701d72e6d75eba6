"""Experiment C: consistency of attribution maps across a CNN population (Majdandzic et al. 2022).

Pipeline steps (one function each; every one reads files, calls the library and writes atomically):

1. :func:`make_data` — the synthetic motif-grammar data (:mod:`attrpriors.data.dna_motifs`, ``source: simulated``)
   or the paper's GM12878 ATAC-seq sequences (:mod:`attrpriors.data.atac`, ``source: download``).
2. :func:`train_model` — one member of the population: the paper's CNN (:class:`attrpriors.models.DNACNN`) with
   first-layer activation ``relu``/``exponential``, with batch norm after every convolution and the dense layer
   or without any, dropout, and one regularizer (``standard``; ``noise``/``mixup`` augmentation through the fit
   loop's ``batch_transform``; ``spectral_norm`` on every weight), trial ``t``; trained as the paper's code does
   until the validation AUROC stops improving (early stopping with patience, learning-rate decay on plateau;
   ``training:`` block). Writes the checkpoint, the per-epoch history and a tidy table of test generalization.
3. :func:`explain_and_score` — attribution maps (saliency = ``gradients``, ``smoothgrad``,
   ``integrated_gradients``) of the positive test sequences, their interpretability against the ground truth
   (AUROC, AUPR, SNR) and both consistency metrics (k-mer KLD, attribution-vector KLD).
4. :func:`selection_table` — every model in one row, Pareto front and combined rank of (generalization,
   consistency), and the population summary the paper's claims rest on (spread of each metric, Pearson r of
   consistency with SNR, exponential vs ReLU, which model each selection rule picks).
5. Figures: :func:`consistency_vs_snr_figure`, :func:`generalization_vs_snr_figure`, :func:`logos_figure`,
   :func:`training_curves_figure`.

Model names are ``{activation}_{bn|nobn}_{regularizer}`` (:func:`variant_name` / :func:`parse_variant`).
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import consistency as C
from ..display import method_label
from ..data.dna_motifs import load_dna_dataset, make_dna_dataset, save_dna_dataset
from ..io import load_npz, read_table, save_npz, save_table
from ..seeds import derive_seed, seed_everything

log = logging.getLogger("attrpriors.dna_consistency")

EXPERIMENT = "dna_consistency"
ACTIVATIONS = ("relu", "exponential")
REGULARIZERS = ("standard", "noise", "mixup", "spectral_norm")
#: metric names of the per-model tables
GENERALIZATION = ("generalization_auroc", "generalization_aupr")
INTERPRETABILITY = ("interpretability_auroc", "interpretability_aupr", "snr")
CONSISTENCY = ("kmer_kld", "vector_kld")
CONSISTENCY_LABELS = {"kmer_kld": "consistency 1: k-mer KLD", "vector_kld": "consistency 2: attribution-vector KLD"}
#: per-model training facts of the population table: the best epoch (by validation AUROC) and the epochs run
TRAINING = ("best_epoch", "epochs_run")
# A model whose test AUROC stays below this has not learned the task (the exponential models without batch norm
# that stay on the initial loss plateau end at 0.53): correlations with SNR are also reported without such models,
# so that a claim is not carried by training failures alone.
LEARNED_AUROC = 0.6


# ------------------------------------------------------------------------------------------------ population
def variant_name(activation: str, batch_norm: bool, regularizer: str) -> str:
    """``relu_nobn_standard``, ``exponential_bn_mixup``, …"""
    return f"{activation}_{'bn' if batch_norm else 'nobn'}_{regularizer}"


def parse_variant(name: str) -> dict:
    """Inverse of :func:`variant_name`; raises ``ValueError`` naming the parts it does not know."""
    parts = name.split("_", 2)
    if len(parts) != 3 or parts[0] not in ACTIVATIONS or parts[1] not in ("bn", "nobn") or parts[2] not in REGULARIZERS:
        raise ValueError(f"model name {name!r} is not '<activation>_<bn|nobn>_<regularizer>' with activation in "
                         f"{ACTIVATIONS} and regularizer in {REGULARIZERS}")
    return {"activation": parts[0], "batch_norm": parts[1] == "bn", "regularizer": parts[2]}


def population(cfg: Mapping) -> list[str]:
    """Model names of the ``population:`` block (the product of its axes), in a fixed order."""
    return [variant_name(a, bool(b), r) for a in cfg["activations"] for b in cfg["batch_norm"] for r in cfg["regularizers"]]


def model_spec(name: str, base: Mapping) -> dict:
    """The :func:`attrpriors.models.build_model` spec of model ``name`` on top of the config's ``model:`` block.

    The ``bn`` variants normalise after every convolution and the dense layer (as the paper's code), the
    ``nobn`` variants nowhere."""
    v = parse_variant(name)
    return {**dict(base), "activation": v["activation"], "batch_norm": v["batch_norm"],
            "hidden_batch_norm": v["batch_norm"], "spectral_norm": v["regularizer"] == "spectral_norm"}


# ------------------------------------------------------------------------------------------------ step 1: data
def make_data(source: str, simulated: Mapping, download: Mapping, seed: int, out: str, archive: str | None = None) -> None:
    """Generate (``simulated``) or read (``download``: ``archive`` is the downloaded zip) the dataset."""
    if source == "simulated":
        ds = make_dna_dataset(seed=derive_seed(seed, EXPERIMENT, "data"), **dict(simulated))
        ds.params["has_ground_truth"] = True
    elif source == "download":
        from ..data.atac import load_atac_dataset

        opts = {k: v for k, v in dict(download).items() if k != "registry"}
        ds = load_atac_dataset(archive, seed=derive_seed(seed, EXPERIMENT, "split"), **opts)
    else:
        raise ValueError(f"dna_consistency.data.source must be 'simulated' or 'download', got {source!r}")
    save_dna_dataset(ds, out)
    counts = {k: int((ds.split == v).sum()) for k, v in (("train", 0), ("valid", 1), ("test", 2))}
    log.info("%s data: %d sequences x %d nt, %s, %.0f%% positive", source, len(ds), ds.x.shape[2], counts,
             100 * ds.y.mean())


def download_archive(name: str, out: str) -> None:
    """Fetch a registry entry (:data:`attrpriors.data.download.REGISTRY`) to ``out``."""
    from ..data.download import download

    download(name, out)


# ------------------------------------------------------------------------------------------------ step 2: train
def train_model(data: str, model: str, trial: int, base_model: Mapping, training: Mapping,
                regularizer_params: Mapping, seed: int, device: str, threads: int,
                out_model: str, out_performance: str, out_history: str) -> None:
    """Train one population member on the binary task; write its checkpoint, per-epoch history and test
    generalization (tidy), with the epoch it stopped at and whether it stopped early or ran into ``epochs``."""
    import torch

    from ..augmentation import make_batch_transform
    from ..models import build_model, model_checkpoint_info
    from ..training import FitConfig, fit, predict

    torch.set_num_threads(max(1, int(threads)))
    ds = load_dna_dataset(data)
    tr, va, te = ds.subset("train"), ds.subset("valid"), ds.subset("test")
    variant = parse_variant(model)
    spec = model_spec(model, base_model)
    job_seed = derive_seed(seed, EXPERIMENT, model, trial)
    seed_everything(job_seed)
    length = ds.x.shape[2]
    net = build_model(spec, length, 2)
    transform = make_batch_transform(variant["regularizer"], regularizer_params.get(variant["regularizer"]))
    cfg = FitConfig.from_mapping(training, seed=job_seed, device=device)
    res = fit(net, tr["x"], tr["y"].astype(np.int64), va["x"], va["y"].astype(np.int64), task="classification",
              config=cfg, batch_transform=transform, checkpoint=out_model,
              checkpoint_extra={**model_checkpoint_info(spec, length, 2), "variant": variant, "trial": int(trial)},
              description=f"train {model} trial {trial}")
    z = predict(res.model, te["x"])[:, 1]
    from sklearn.metrics import average_precision_score

    from ..stats import auroc

    rows = {"generalization_auroc": auroc(te["y"], z), "generalization_aupr": average_precision_score(te["y"], z),
            "best_epoch": res.best_epoch, "epochs_run": len(res.history), "stopped_early": res.stopped_early,
            "best_val_loss": res.best_val_loss, "best_val_monitor": res.best_monitor}
    table = pd.DataFrame({"experiment": EXPERIMENT, "model": model, "seed": int(trial), "metric": list(rows),
                          "value": [float(v) for v in rows.values()]})
    save_table(table, out_performance)
    hist = res.history.drop(columns=["train_prior", "seconds"], errors="ignore")
    hist.insert(0, "seed", int(trial))
    hist.insert(0, "model", model)
    hist.insert(0, "experiment", EXPERIMENT)
    save_table(hist, out_history)
    log.info("%s trial %d: test AUROC %.4f, best epoch %d of %d (%s)", model, trial, rows["generalization_auroc"],
             res.best_epoch, len(res.history),
             "stopped early" if res.stopped_early else f"ran into the {cfg.epochs}-epoch cap")


# ------------------------------------------------------------------------------------------------ step 3: explain
def explained_sequences(ds, n_explain: int) -> np.ndarray:
    """Indices (into the dataset) of the explained sequences: the first ``n_explain`` positive test sequences."""
    test = np.flatnonzero(ds.split == 2)
    pos = test[ds.y[test] == 1]
    if len(pos) == 0:
        raise ValueError("the test split has no positive sequence to explain")
    return pos[: int(n_explain)]


def explain_and_score(data: str, model_path: str, model: str, trial: int, method: str, options: Mapping,
                      n_explain: int, metrics: Mapping, seed: int, device: str, threads: int,
                      out_attributions: str, out_scores: str) -> None:
    """Attribution maps of the positive test sequences; interpretability and both consistency scores (tidy)."""
    import torch
    from ..attributions import attribute
    from ..models import load_model
    from ..training import select_device

    torch.set_num_threads(max(1, int(threads)))
    ds = load_dna_dataset(data)
    idx = explained_sequences(ds, n_explain)
    dev = select_device(device)
    net = load_model(model_path).to(dev)
    x = torch.as_tensor(ds.x[idx]).to(dev)
    options = dict(options or {})
    if method in ("smoothgrad", "random"):
        options["generator"] = torch.Generator().manual_seed(derive_seed(seed, EXPERIMENT, model, trial, method))
    baselines = None
    if method == "integrated_gradients":
        baseline = options.pop("baseline", "zero")
        if baseline == "uniform":
            baselines = torch.full_like(x[0], 0.25)
        elif baseline != "zero":
            raise ValueError(f"integrated_gradients baseline must be 'zero' or 'uniform', got {baseline!r}")
    attr = attribute(method, net, x, 1, baselines, **options).detach().cpu().numpy().astype(np.float64)
    save_npz(out_attributions, attributions=attr.astype(np.float32), index=idx)
    scores = score_maps(attr, ds.x[idx], ds.info[idx], ds.x[ds.split == 2], metrics,
                        has_truth=bool(ds.params.get("has_ground_truth", True)))
    table = pd.DataFrame({"experiment": EXPERIMENT, "model": model, "seed": int(trial), "method": method,
                          "metric": list(scores), "value": list(scores.values())})
    save_table(table, out_scores)
    log.info("%s trial %d %s: %s", model, trial, method, {k: round(v, 4) for k, v in scores.items()})


def score_maps(attr: np.ndarray, x: np.ndarray, info: np.ndarray, x_prior: np.ndarray, metrics: Mapping,
               has_truth: bool = True) -> dict[str, float]:
    """Interpretability (vs ``info``; NaN without ground truth) and both consistency scores of a set of maps.

    ``x_prior`` are the sequences whose k-mer spectrum is the prior of metric 1 (the paper: the test set).
    """
    kmer, vector = dict(metrics["kmer"]), dict(metrics["vector"])
    out = {m: float("nan") for m in INTERPRETABILITY}
    if has_truth:
        interp = C.interpretability_scores(attr, x, info, motif_threshold=metrics["motif_threshold"],
                                           top_k_background=metrics["top_k_background"])
        out.update({m: float(interp[m]) for m in INTERPRETABILITY})
    prior = C.kmer_frequencies(x_prior, kmer.get("k", 6))
    out["kmer_kld"] = C.kmer_kld(attr, x, prior=prior, **kmer)
    out["vector_kld"] = C.attribution_vector_kld(attr, **vector)
    return out


# ------------------------------------------------------------------------------------------------ step 4: table
def population_table(performance: Sequence[str], scores: Sequence[str]) -> pd.DataFrame:
    """One row per (model, trial, method): variant columns, generalization, interpretability and consistency."""
    perf = pd.concat([read_table(p, ("model", "seed", "metric", "value")) for p in performance], ignore_index=True)
    sc = pd.concat([read_table(p, ("model", "seed", "method", "metric", "value")) for p in scores], ignore_index=True)
    pw = perf.pivot_table(index=["model", "seed"], columns="metric", values="value").reset_index()
    sw = sc.pivot_table(index=["model", "seed", "method"], columns="metric", values="value", dropna=False).reset_index()
    df = sw.merge(pw, on=["model", "seed"], how="left")
    variants = pd.DataFrame([parse_variant(m) for m in df["model"]])
    df = pd.concat([df[["model", "seed", "method"]], variants, df.drop(columns=["model", "seed", "method"])], axis=1)
    df.columns.name = None
    return df.sort_values(["method", "model", "seed"]).reset_index(drop=True)


def _spread(v: pd.Series) -> dict[str, float]:
    v = pd.to_numeric(v, errors="coerce").dropna()
    if len(v) == 0:
        return {"mean": np.nan, "sd": np.nan, "cv": np.nan, "min": np.nan, "max": np.nan, "range": np.nan,
                "relative_range": np.nan}
    mean, sd = float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return {"mean": mean, "sd": sd, "cv": sd / abs(mean) if mean else np.nan, "min": float(v.min()),
            "max": float(v.max()), "range": float(v.max() - v.min()),
            "relative_range": float((v.max() - v.min()) / abs(mean)) if mean else np.nan}


def _pearson(a: pd.Series, b: pd.Series) -> tuple[float, float, int]:
    from scipy import stats

    ok = np.isfinite(a.to_numpy(float)) & np.isfinite(b.to_numpy(float))
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan"), float("nan"), int(ok.sum())
    r, p = stats.pearsonr(a[ok], b[ok])
    return float(r), float(p), int(ok.sum())


def summarize_population(df: pd.DataFrame, method: str) -> pd.DataFrame:
    """The claims of the paper as measured numbers (tidy: ``method, quantity, metric, value``).

    * spread of every metric across the population (mean, sd, coefficient of variation, min, max, range,
      range / mean);
    * Pearson r (and p) of each consistency score with SNR, and of generalization with SNR, over all models and
      (``…:learned``) over the models whose test AUROC reaches :data:`LEARNED_AUROC`;
    * mean consistency of exponential vs ReLU first layers;
    * the interpretability AUROC of the model picked by generalization alone vs by the combined rank.
    """
    sub = df[df["method"] == method]
    rows = []
    for metric in (*GENERALIZATION, *INTERPRETABILITY, *CONSISTENCY, *TRAINING):
        if metric not in sub:
            continue
        for stat, value in _spread(sub[metric]).items():
            rows.append(("spread", f"{metric}:{stat}", value))
    if "stopped_early" in sub:  # models that ran into the max-epochs safety cap instead of stopping early
        rows.append(("training", "hit_epoch_cap:n", float((sub["stopped_early"] == 0).sum())))
        rows.append(("training", "models:n", float(len(sub))))
    learned = pd.to_numeric(sub["generalization_auroc"], errors="coerce") >= LEARNED_AUROC
    for quantity, pop in (("pearson_vs_snr", sub), ("pearson_vs_snr_learned", sub[learned])):
        for metric in (*CONSISTENCY, "generalization_auroc", "interpretability_auroc"):
            r, p, n = _pearson(pop[metric], pop["snr"])
            key = metric if quantity == "pearson_vs_snr" else f"{metric}:learned"
            rows += [(quantity, f"{key}:r", r), (quantity, f"{key}:p", p), (quantity, f"{key}:n", float(n))]
    rows.append(("training", "learned:n", float(learned.sum())))
    for metric in (*CONSISTENCY, "snr", "interpretability_auroc", "generalization_auroc"):
        for act in ACTIVATIONS:
            v = pd.to_numeric(sub.loc[sub["activation"] == act, metric], errors="coerce")
            rows.append(("by_activation", f"{metric}:{act}", float(v.mean()) if v.notna().any() else np.nan))
    sel = sub[sub["selected_combined"]] if "selected_combined" in sub else sub.iloc[:0]
    gen = sub[sub["selected_generalization"]] if "selected_generalization" in sub else sub.iloc[:0]
    for label, pick in (("selected_combined", sel), ("selected_generalization", gen)):
        for metric in ("interpretability_auroc", "generalization_auroc", "snr", *CONSISTENCY):
            rows.append(("selection", f"{label}:{metric}", float(pick[metric].iloc[0]) if len(pick) else np.nan))
    out = pd.DataFrame(rows, columns=["quantity", "metric", "value"])
    out.insert(0, "method", method)
    out.insert(0, "experiment", EXPERIMENT)
    return out


def selection_table(performance: Sequence[str], scores: Sequence[str], methods: Sequence[str],
                    out_population: str, out_csv: str, out_md: str, out_summary_csv: str, out_summary_md: str) -> None:
    """The model selection table (one row per model and attribution method) and the population summary."""
    df = population_table(performance, scores)
    tables, summaries = [], []
    for method in methods:
        sub = df[df["method"] == method].reset_index(drop=True)
        if sub.empty:
            raise ValueError(f"no scores for attribution method {method!r}")
        sel = C.model_selection(sub, "generalization_auroc", list(CONSISTENCY))
        tables.append(sel)
        summaries.append(summarize_population(sel, method))
    table = pd.concat(tables, ignore_index=True)
    long = table.melt(id_vars=["model", "seed", "method", "activation", "batch_norm", "regularizer"],
                      value_vars=[*GENERALIZATION, *INTERPRETABILITY, *CONSISTENCY, *TRAINING, "stopped_early",
                                  "combined_rank"],
                      var_name="metric", value_name="value")
    long.insert(0, "experiment", EXPERIMENT)
    save_table(long, out_population)
    save_table(table, out_csv)
    cols = ["method", "model", "seed", *TRAINING, *GENERALIZATION[:1], "snr", "interpretability_auroc",
            "interpretability_aupr", *CONSISTENCY, "combined_rank", "pareto_front", "selected_combined",
            "selected_generalization"]
    md = table[cols].copy().sort_values(["method", "combined_rank"])
    md["best_epoch"] = (md["best_epoch"] + 1).astype(int)  # epochs counted from 1: "stopped after 37, best 17"
    md["epochs_run"] = md["epochs_run"].astype(int)
    md = md.rename(columns={"best_epoch": "best epoch", "epochs_run": "stop epoch"})
    for c in md.columns:
        if md[c].dtype.kind == "f":
            md[c] = md[c].map(lambda v: f"{v:.3f}")
    save_table(md, out_md)
    summary = pd.concat(summaries, ignore_index=True)
    save_table(summary, out_summary_csv)
    save_table(_summary_markdown(summary), out_summary_md)


def _summary_markdown(summary: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for method, s in summary.groupby("method", sort=False):
        get = dict(zip(s["metric"], s["value"]))
        label = method_label(method, EXPERIMENT)
        if "models:n" in get:
            rows.append({"attribution": label, "quantity": "training: stop epoch (epochs run) / best epoch",
                         "value": f"stop {get['epochs_run:min']:.0f}–{get['epochs_run:max']:.0f} (mean "
                                  f"{get['epochs_run:mean']:.1f}); best {get['best_epoch:min'] + 1:.0f}–"
                                  f"{get['best_epoch:max'] + 1:.0f}; {get['hit_epoch_cap:n']:.0f} of "
                                  f"{get['models:n']:.0f} models ran into the max-epochs cap"})
        for metric in (*GENERALIZATION, *INTERPRETABILITY, *CONSISTENCY):
            rows.append({"attribution": label, "quantity": f"spread of {metric}",
                         "value": f"mean {get[f'{metric}:mean']:.3g}, CV {get[f'{metric}:cv']:.3g}, "
                                  f"range {get[f'{metric}:min']:.3g}–{get[f'{metric}:max']:.3g} "
                                  f"(range/mean {get[f'{metric}:relative_range']:.3g})"})
        for metric in (*CONSISTENCY, "generalization_auroc"):
            rows.append({"attribution": label, "quantity": f"Pearson r of {metric} with SNR",
                         "value": f"r = {get[f'{metric}:r']:.3f} (p = {get[f'{metric}:p']:.2g}, "
                                  f"n = {int(get[f'{metric}:n'])})"})
            k = f"{metric}:learned"
            if f"{k}:n" in get:
                rows.append({"attribution": label,
                             "quantity": f"Pearson r of {metric} with SNR, models with test AUROC ≥ {LEARNED_AUROC}",
                             "value": (f"r = {get[f'{k}:r']:.3f} (p = {get[f'{k}:p']:.2g}, n = {int(get[f'{k}:n'])})"
                                       if np.isfinite(get[f"{k}:r"]) else
                                       f"fewer than 3 such models (n = {int(get[f'{k}:n'])}) or no spread")})
        for metric in CONSISTENCY:
            rows.append({"attribution": label, "quantity": f"mean {metric}: exponential vs relu",
                         "value": f"{get[f'{metric}:exponential']:.4g} vs {get[f'{metric}:relu']:.4g}"})
        rows.append({"attribution": label, "quantity": "interpretability AUROC of the selected model",
                     "value": f"combined rank (generalization + consistency): "
                              f"{get['selected_combined:interpretability_auroc']:.3f}; generalization alone: "
                              f"{get['selected_generalization:interpretability_auroc']:.3f}"})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ step 5: figures
_ACT_COLORS = {"relu": "tab:blue", "exponential": "tab:orange"}
_BN_MARKERS = {False: "o", True: "s"}


def _scatter(ax, df: pd.DataFrame, xcol: str, ycol: str, xlabel: str, ylabel: str) -> None:
    for (act, bn), g in df.groupby(["activation", "batch_norm"]):
        ax.scatter(g[xcol], g[ycol], c=_ACT_COLORS[act], marker=_BN_MARKERS[bool(bn)], s=28, alpha=0.85,
                   edgecolors="k", linewidths=0.4, label=f"{act}, {'BN' if bn else 'no BN'}")
    r, p, n = _pearson(df[xcol], df[ycol])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"Pearson r = {r:.2f} (p = {p:.2g}, n = {n})" if np.isfinite(r) else f"Pearson r undefined (n = {n})",
                 fontsize=9)
    ok = np.isfinite(df[xcol].to_numpy(float)) & np.isfinite(df[ycol].to_numpy(float))
    if ok.sum() >= 3 and np.isfinite(r):
        slope, intercept = np.polyfit(df[xcol][ok], df[ycol][ok], 1)
        xs = np.linspace(df[xcol][ok].min(), df[xcol][ok].max(), 20)
        ax.plot(xs, slope * xs + intercept, color="0.4", lw=1, ls="--")


def _no_truth(ax, text: str = "no ground truth for these data (source: download)") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def consistency_vs_snr_figure(table: str, method: str, out: str) -> None:
    """Both consistency scores against SNR across the population, with Pearson r (one point per model)."""
    from .. import plots

    df = read_table(table, ("method", "snr", *CONSISTENCY))
    df = df[df["method"] == method]
    with plots.figure(out, 1, 2, figsize=(8.4, 3.4)) as (fig, axes):
        for ax, metric in zip(axes, CONSISTENCY):
            if df["snr"].notna().any():
                _scatter(ax, df, "snr", metric, f"SNR ({method_label(method, EXPERIMENT)} vs ground truth)",
                         CONSISTENCY_LABELS[metric] + " (nats)")
            else:
                _no_truth(ax)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="lower center", ncol=4, bbox_to_anchor=(0.5, -0.08))
        fig.suptitle(f"Consistency vs interpretability across {len(df)} models ({method_label(method, EXPERIMENT)})")


def generalization_vs_snr_figure(table: str, method: str, out: str) -> None:
    """Generalization (test AUROC) and interpretability AUROC against SNR, one point per model."""
    from .. import plots

    df = read_table(table, ("method", "snr", "generalization_auroc", "interpretability_auroc"))
    df = df[df["method"] == method]
    with plots.figure(out, 1, 2, figsize=(8.4, 3.4)) as (fig, axes):
        if df["snr"].notna().any():
            _scatter(axes[0], df, "snr", "generalization_auroc", "SNR", "generalization AUROC (test)")
            _scatter(axes[1], df, "snr", "interpretability_auroc", "SNR", "interpretability AUROC (vs ground truth)")
            for ax in axes:  # the same y scale shows which of the two spreads more
                ax.set_ylim(min(0.45, df[["generalization_auroc", "interpretability_auroc"]].min().min() - 0.02), 1.0)
        else:
            _no_truth(axes[0])
            _no_truth(axes[1])
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="lower center", ncol=4, bbox_to_anchor=(0.5, -0.08))
        fig.suptitle(f"Generalization vs interpretability across {len(df)} models ({method_label(method, EXPERIMENT)})")


def logos_figure(data: str, table: str, attributions: Sequence[str], method: str, consistency_metric: str,
                 n_sequences: int, out: str) -> None:
    """Sequence logos of the maps of the most and the least consistent model on the same test sequences.

    Shown per sequence: the ground truth (embedded PWM information at the observed letters, when known), then the
    gradient-corrected map × input of the most and of the least consistent model (by ``consistency_metric``).
    ``attributions`` are the npz files of ``method``, named ``…/<model>/trial<seed>.npz``.
    """
    from .. import plots
    import logomaker

    df = read_table(table, ("method", "model", "seed", consistency_metric))
    df = df[(df["method"] == method) & df[consistency_metric].notna()].sort_values(consistency_metric)
    if df.empty:
        raise ValueError(f"{table}: no {consistency_metric} scores for method {method!r}")
    picks = {"most consistent": df.iloc[-1], "least consistent": df.iloc[0]}
    files = {}
    for label, row in picks.items():
        want = f"/{row['model']}/trial{int(row['seed'])}.npz"
        match = [p for p in attributions if str(p).endswith(want)]
        if len(match) != 1:
            raise FileNotFoundError(f"attribution file of {row['model']} trial {row['seed']} ({want}) not among inputs")
        files[label] = load_npz(match[0], ("attributions", "index"))
    ds = load_dna_dataset(data)
    idx = files["most consistent"]["index"]
    if not np.array_equal(idx, files["least consistent"]["index"]):
        raise ValueError("the two models were explained on different sequences")
    n = min(int(n_sequences), len(idx))
    has_truth = bool(ds.params.get("has_ground_truth", True))
    tracks = (["ground truth"] if has_truth else []) + list(picks)
    length = ds.x.shape[2]
    with plots.figure(out, n * len(tracks), 1, figsize=(min(0.075 * length, 16), 1.05 * n * len(tracks)),
                      squeeze=False) as (fig, axes):
        for i in range(n):
            seq = ds.x[idx[i]]
            for j, track in enumerate(tracks):
                ax = axes[i * len(tracks) + j, 0]
                ax.grid(False)
                if track == "ground truth":
                    w = seq * ds.info[idx[i]][None, :]
                    name = f"seq {i + 1}: ground truth (bits)"
                else:
                    a = C.gradient_correction(files[track]["attributions"][i : i + 1])[0]
                    w = a * seq
                    row = picks[track]
                    snr = f", SNR {row['snr']:.2g}" if np.isfinite(row["snr"]) else ""
                    name = (f"{track}: {row['model']} t{int(row['seed'])}\n"
                            f"{consistency_metric} {row[consistency_metric]:.3g}{snr}")
                logomaker.Logo(pd.DataFrame(w.T, columns=list("ACGT")), ax=ax, color_scheme="classic")
                ax.set_xlim(-0.5, length - 0.5)
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=7)
                if j < len(tracks) - 1:
                    ax.set_xticks([])
                ax.tick_params(labelsize=6)
        fig.tight_layout(h_pad=0.3)
        fig.suptitle(f"{method_label(method, EXPERIMENT)} maps (gradient-corrected × input) of the most and least "
                     f"consistent models ({consistency_metric}) on the same positive test sequences", fontsize=9,
                     y=1.0 + 0.02 / n)


HISTORY_COLUMNS = ("model", "seed", "epoch", "train_loss", "val_loss")


def training_curves_figure(histories: Sequence[str], out: str) -> None:
    """Per-epoch training curves of every population member (from the histories the training rule writes).

    Panels: validation AUROC (the early-stopping metric; a dot at each model's best epoch, a cross where it
    stopped), training loss, and the learning rate (decays on plateau). One line per model and trial, coloured
    by first-layer activation, solid with batch norm and dashed without.
    """
    from .. import plots

    df = pd.concat([read_table(p, HISTORY_COLUMNS) for p in histories], ignore_index=True)
    has_auc, has_lr = "val_auroc" in df and df["val_auroc"].notna().any(), "lr" in df and df["lr"].notna().any()
    metric = "val_auroc" if has_auc else "val_loss"
    panels = [(metric, "validation AUROC" if has_auc else "validation loss"), ("train_loss", "training loss")]
    if has_lr:
        panels.append(("lr", "learning rate"))
    with plots.figure(out, 1, len(panels), figsize=(4.0 * len(panels), 3.4)) as (fig, axes):
        axes = np.atleast_1d(axes)
        seen = set()
        for (model, seed), g in df.groupby(["model", "seed"], sort=True):
            g = g.sort_values("epoch")
            v = parse_variant(model)
            style = {"color": _ACT_COLORS[v["activation"]], "ls": "-" if v["batch_norm"] else "--", "lw": 0.9,
                     "alpha": 0.8}
            key = (v["activation"], v["batch_norm"])
            label = None if key in seen else f"{v['activation']}, {'BN' if v['batch_norm'] else 'no BN'}"
            seen.add(key)
            epochs = g["epoch"].to_numpy() + 1
            for ax, (col, _) in zip(axes, panels):
                ax.plot(epochs, g[col], label=label if ax is axes[0] else None, **style)
            best = g[metric].idxmax() if has_auc else g[metric].idxmin()
            axes[0].plot(g.loc[best, "epoch"] + 1, g.loc[best, metric], "o", ms=3.5, color=style["color"])
            axes[0].plot(epochs[-1], g[metric].iloc[-1], "x", ms=4, color=style["color"])
        for ax, (col, label) in zip(axes, panels):
            ax.set_xlabel("epoch")
            ax.set_ylabel(label)
        if has_auc:
            lo = float(df.groupby(["model", "seed"])["val_auroc"].max().min())
            axes[0].set_ylim(max(0.45, lo - 0.1), 1.0)
        if has_lr:
            axes[-1].set_yscale("log")
        axes[1].set_yscale("log")
        axes[0].legend(loc="lower right", fontsize=7)
        n_models = df.groupby(["model", "seed"]).ngroups
        last = df.groupby(["model", "seed"])["epoch"].max() + 1
        fig.suptitle(f"Training curves of the {n_models} CNNs (dot: best epoch by {panels[0][1]}, cross: stop; "
                     f"stopped after {int(last.min())}–{int(last.max())} epochs)", fontsize=9)


def workload(config: Mapping, rows: Mapping[str, int] | None = None, seq_length: int | None = None) -> dict:
    """What the experiment's jobs do, for compute projections (timings/paper_scale.py); torch-free.

    ``config`` is the whole workflow config. Simulated data: the split sizes are those of
    :func:`attrpriors.data.dna_motifs.make_dna_dataset` (:func:`~attrpriors.data.dna_motifs.split_sizes`);
    downloaded data: give ``rows`` (``train``, ``valid``, ``test``, ``test_positive``) and ``seq_length``, which the
    config cannot know. Returns, per rule, the jobs (one per population member and trial; attributions one more
    per method), per variant the fits per job, model spec (:func:`model_spec`), regulariser, training settings
    (epochs at their maximum), and per method the explained sequences (:func:`explained_sequences`) and options.
    """
    from ..data.dna_motifs import split_sizes

    dc = config["dna_consistency"]
    if dc["data"]["source"] == "simulated":
        sim = dc["data"]["simulated"]
        sizes = split_sizes(int(sim["n_sequences"]), **{k: sim[k] for k in ("split_fractions",) if k in sim})
        length = int(sim["seq_length"])
    elif rows is None or seq_length is None:
        raise ValueError("dna_consistency.data.source is not 'simulated': give the split sizes (rows) and the "
                         "sequence length of the downloaded data")
    else:
        sizes, length = {k: int(rows[k]) for k in ("train", "valid", "test", "test_positive")}, int(seq_length)
    names = population(dc["population"])
    trials = int(dc["population"]["trials"])
    reg_params = dc.get("regularizer_params") or {}
    variants = {}
    for name in names:
        reg = parse_variant(name)["regularizer"]
        variants[name] = {"jobs": trials, "fits_per_job": 1, "model": model_spec(name, dc["model"]),
                          "regularizer": reg, "regularizer_params": reg_params.get(reg)}
    att = dc["attribution"]
    options = att.get("method_options") or {}
    n_rows = min(int(att["n_explain"]), sizes["test_positive"])
    return {"seq_length": length, "n_outputs": 2, "task": "classification",
            "rows": {"train": sizes["train"], "val": sizes["valid"], "test": sizes["test"],
                     "test_positive": sizes["test_positive"]},
            "train_cnn": {"jobs": len(names) * trials, "trials": trials, "training": dict(dc["training"]),
                          "variants": variants},
            "attributions": {m: {"jobs": len(names) * trials, "rows": n_rows, "options": dict(options.get(m) or {})}
                             for m in att["methods"]}}
