"""Experiment A2: the pixel attribution prior (Erion et al. 2019, Fig. 1; supplement Figs. 3–5).

Ω_pixel is the anisotropic total variation of each expected-gradients map divided by its standard deviation
(:func:`attrpriors.priors.total_variation_penalty`), with k = 1 batch-rolled reference per image and dropout off
while attributing (:class:`attrpriors.priors.EvalModeAttributionPrior`). A CNN is trained for every λ of a log
grid (λ = 0 is the baseline) and every seed; each model is then scored on the clean test set (accuracy, mean TV
of its test EG maps for the true class), on salt-and-pepper test sets, and its EG maps of a few test images for
all classes are kept for the figures.

One function per pipeline step; each reads files, calls the library and writes its outputs atomically.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pandas as pd

from ..data.images import load_digits_images, load_mnist, salt_and_pepper
from ..io import load_npz, read_json, read_table, save_json, save_npz, save_table
from ..seeds import derive_seed, seed_everything

if TYPE_CHECKING:  # for annotations only; at run time the functions that use these import them
    import torch

log = logging.getLogger("attrpriors.pixel_prior")

EXPERIMENT = "pixel_prior"
DATA_KEYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")
MAP_KEYS = ("images", "labels", "maps")


#: Images explained per call of the EG of :func:`evaluate`.
EG_CHUNK = 256


def _count(value: float, n: int) -> int:
    """A split size given as a fraction (< 1) of ``n`` or as a count (>= 1)."""
    return int(round(value * n)) if value < 1 else int(value)


def pool_split(split: Mapping, n_pool: int) -> tuple[int, int]:
    """``(n_train, n_val)`` drawn from a pool of ``n_pool`` training images: ``split["val"]`` (fraction or
    count), the rest for training, capped at ``split["n_train"]`` when given."""
    n_val = _count(split["val"], n_pool)
    n_train = n_pool - n_val
    if split.get("n_train"):
        n_train = min(n_train, int(split["n_train"]))
    return n_train, n_val


def make_data(source: str, split: Mapping, seed: int, out: str, mnist_files: Sequence[str] = ()) -> None:
    """Train/validation/test images: bundled 8×8 digits split at random, or MNIST (its own test set).

    ``split``: ``test`` and ``val`` as fractions (< 1) or counts; ``val`` is taken from what remains after the
    test split (MNIST: from the 60,000 training images); ``n_train`` (optional) caps the training set.
    """
    rng = np.random.default_rng(derive_seed(seed, EXPERIMENT, "split"))
    if source == "bundled":
        X, y = load_digits_images()
        perm = rng.permutation(len(y))
        n_test = _count(split["test"], len(y))
        X_test, y_test = X[perm[:n_test]], y[perm[:n_test]]
        X_pool, y_pool = X[perm[n_test:]], y[perm[n_test:]]
        name = "digits"
    elif source == "download":
        if len(mnist_files) != 4:
            raise ValueError(f"MNIST needs 4 IDX files (train images, train labels, test images, test labels), "
                             f"got {list(mnist_files)}")
        d = load_mnist(*mnist_files)
        X_pool, y_pool, X_test, y_test = d["X_pool"], d["y_pool"], d["X_test"], d["y_test"]
        name = "mnist"
    else:
        raise ValueError(f"pixel_prior.data.source must be 'bundled' or 'download', got {source!r}")
    perm = rng.permutation(len(y_pool))
    n_train, n_val = pool_split(split, len(y_pool))
    va, tr = perm[:n_val], perm[n_val : n_val + n_train]
    save_npz(out, X_train=X_pool[tr], y_train=y_pool[tr], X_val=X_pool[va], y_val=y_pool[va], X_test=X_test,
             y_test=y_test, dataset=np.array(name))
    log.info("%s: %d train / %d val / %d test images of shape %s", name, len(tr), len(va), len(y_test),
             X_test.shape[1:])


def train(data: str, model_spec: Mapping, training: Mapping, n_references: int, strength: float, lambda_index: int,
          seed: int, trial: int, device: str, out_model: str, out_history: str) -> None:
    """Train one CNN with λ = ``strength`` (0: the baseline) and the pixel prior on k = ``n_references``."""
    from ..models import build_model, model_checkpoint_info
    from ..priors import EvalModeAttributionPrior, total_variation_penalty
    from ..training import FitConfig, fit

    d = load_npz(data, DATA_KEYS)
    job_seed = derive_seed(seed, EXPERIMENT, "train", lambda_index, trial)
    seed_everything(job_seed)
    n_channels, image_size = d["X_train"].shape[1], d["X_train"].shape[2]
    n_classes = int(max(d["y_train"].max(), d["y_test"].max())) + 1
    spec = {**model_spec, "image_size": image_size}
    model = build_model(spec, n_channels, n_classes)
    prior = EvalModeAttributionPrior(total_variation_penalty, n_references=n_references,
                                     seed=derive_seed(job_seed, "prior"))
    cfg = FitConfig.from_mapping(training, prior_weight=float(strength), seed=job_seed, device=device)
    res = fit(model, d["X_train"], d["y_train"], d["X_val"], d["y_val"], task="classification", config=cfg,
              prior=prior if strength > 0 else None, checkpoint=out_model,
              checkpoint_extra={**model_checkpoint_info(spec, n_channels, n_classes), "strength": float(strength)},
              description=f"pixel prior λ={strength:g} trial {trial}")
    save_table(res.history.assign(experiment=EXPERIMENT, model=f"lambda{lambda_index}", seed=trial,
                                  strength=float(strength)), out_history)
    log.info("λ=%g trial %d: best epoch %d, val loss %.4f", strength, trial, res.best_epoch, res.best_val_loss)


def _accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    from ..training import predict

    return float((predict(model, X).argmax(1) == y).mean())


def _eg(model, X: np.ndarray, target, background: torch.Tensor, n_references: int, seed: int,
        dev: torch.device, chunk: int = EG_CHUNK) -> np.ndarray:
    import torch
    from ..attributions import expected_gradients

    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(X), chunk):
        xb = torch.as_tensor(X[i : i + chunk]).to(dev)
        tb = target if isinstance(target, int) else torch.as_tensor(target[i : i + chunk]).to(dev)
        out.append(expected_gradients(model, xb, tb, background, n_samples=n_references, generator=gen)
                   .detach().cpu().numpy())
    return np.concatenate(out)


def evaluate(data: str, model: str, params: Mapping, strength: float, lambda_index: int, trial: int, seed: int,
             device: str, out_metrics: str, out_maps: str) -> None:
    """Clean and noisy test accuracy, mean TV of standardised test EG maps (true class), example maps (all classes).

    The noisy test sets depend only on the config seed, the noise fraction and the repeat, so every model is
    scored on the same corrupted images; the example images are the first test image of each class in
    ``params["example_classes"]``.
    """
    import torch
    from ..models import load_model
    from ..priors import total_variation_penalty
    from ..training import predict, select_device

    d = load_npz(data, DATA_KEYS)
    dev = select_device(device)
    net = load_model(model).to(dev).eval()
    background = torch.as_tensor(d["X_train"]).to(dev)
    X_test, y_test = d["X_test"], d["y_test"]
    ids = {"experiment": EXPERIMENT, "model": f"lambda{lambda_index}", "seed": trial, "strength": float(strength)}
    rows = [
        {**ids, "metric": "test_accuracy", "value": _accuracy(net, X_test, y_test)},
        {**ids, "metric": "val_accuracy", "value": _accuracy(net, d["X_val"], d["y_val"])},
    ]
    n_tv = params.get("tv_images") or len(y_test)
    eg_seed = derive_seed(seed, EXPERIMENT, "eg", lambda_index, trial)
    phi = _eg(net, X_test[:n_tv], y_test[:n_tv], background, params["n_references"], eg_seed, dev)
    tv = float(total_variation_penalty(torch.as_tensor(phi)))
    rows.append({**ids, "metric": "attribution_tv", "value": tv})
    for f in params["noise_fractions"]:
        accs = []
        for r in range(params["noise_repeats"]):
            rng = np.random.default_rng(derive_seed(seed, EXPERIMENT, "noise", f"{float(f):.6g}", r))
            accs.append(_accuracy(net, salt_and_pepper(X_test, float(f), rng), y_test))
        rows.append({**ids, "metric": "noisy_accuracy", "noise_fraction": float(f), "value": float(np.mean(accs))})
    examples = []
    for c in params["example_classes"]:
        hits = np.flatnonzero(y_test == c)
        if len(hits) == 0:
            raise ValueError(f"{data}: no test image of class {c} for the attribution-map examples")
        examples.append(hits[0])
    ex = X_test[examples]
    n_classes = int(predict(net, ex[:1]).shape[1])
    maps = np.stack([_eg(net, ex, c, background, params["n_references"], derive_seed(eg_seed, "maps", c), dev)
                     for c in range(n_classes)], axis=1)[:, :, 0]  # (examples, classes, H, W)
    save_npz(out_maps, images=ex[:, 0], labels=y_test[examples], maps=maps, strength=np.float64(strength))
    cols = ["experiment", "model", "seed", "metric", "value", "strength", "noise_fraction"]
    save_table(pd.DataFrame(rows).reindex(columns=cols), out_metrics)
    log.info("λ=%g trial %d: test accuracy %.4f, attribution TV %.2f", strength, trial, rows[0]["value"], tv)


def _neighbours(indices: Sequence[int], chosen: int) -> list[int]:
    pos = list(indices).index(chosen)
    return [indices[j] for j in (pos - 1, pos, pos + 1) if 0 <= j < len(indices)]


def summarize(metrics: Sequence[str], max_accuracy_drop: float, out_metrics: str, out_csv: str, out_md: str,
              out_selection: str) -> None:
    """All metrics in one tidy table (with each row's ``arm``: baseline, selected or other); a per-λ summary
    (mean ± s.d. over seeds); the λ chosen on validation.

    Selected λ: the largest λ whose mean validation accuracy is at most ``max_accuracy_drop`` below the
    baseline's. The noise figure shows it and its neighbours on the grid.
    """
    df = pd.concat([read_table(p, ("experiment", "model", "seed", "metric", "value", "strength")) for p in metrics],
                   ignore_index=True)
    df["lambda_index"] = df["model"].str.removeprefix("lambda").astype(int)
    flat = df[df["metric"] != "noisy_accuracy"]
    noisy = df[df["metric"] == "noisy_accuracy"].assign(
        metric=lambda t: "accuracy_noise_" + t["noise_fraction"].map(lambda f: f"{f:g}"))
    g = pd.concat([flat, noisy]).groupby(["lambda_index", "strength", "metric"])["value"]
    summary = g.agg(["mean", "std", "count"]).reset_index()
    wide = summary.pivot_table(index=["lambda_index", "strength"], columns="metric", values="mean").reset_index()
    val = wide.set_index("lambda_index")["val_accuracy"]
    if 0 not in val.index:
        raise ValueError("the baseline (λ = 0, lambda0) is missing from the pixel-prior metrics")
    ok = [i for i in val.index if i > 0 and val[i] >= val[0] - max_accuracy_drop]
    chosen = max(ok) if ok else None
    regularized = sorted(i for i in val.index if i > 0)
    if not regularized:
        raise ValueError("the pixel-prior metrics hold no regularized model (λ > 0)")
    # the maps and noise curves need a regularized model even when none meets the criterion: then the one with
    # the best validation accuracy is shown, and the selection file says so
    shown = chosen if chosen is not None else max(regularized, key=lambda i: val[i])
    strengths = wide.set_index("lambda_index")["strength"]
    selection = {
        "baseline_index": 0,
        "selected_index": chosen,
        "selected_lambda": float(strengths[chosen]) if chosen is not None else None,
        "shown_index": shown,
        "shown_lambda": float(strengths[shown]),
        "shown_reason": "selected" if chosen is not None else "no λ met the criterion: best validation accuracy",
        "max_val_accuracy_drop": float(max_accuracy_drop),
        "noise_indices": _neighbours(regularized, shown),
        "rule": "largest λ whose mean validation accuracy is within max_val_accuracy_drop of the baseline's",
    }
    save_json(selection, out_selection)
    # the arm of every row (baseline / selected / other λ): the claims registry pairs selected with baseline by seed
    df["arm"] = np.where(df["lambda_index"] == 0, "baseline",
                         np.where(df["lambda_index"] == (chosen if chosen is not None else -1), "selected", "other"))
    save_table(df, out_metrics)
    save_table(summary, out_csv)
    cols = ["test_accuracy", "val_accuracy", "attribution_tv"] + sorted(
        [c for c in wide.columns if c.startswith("accuracy_noise_")], key=lambda c: float(c.rsplit("_", 1)[1]))
    md = wide[["lambda_index", "strength"] + cols].copy()
    md.insert(2, "seeds", summary.groupby("lambda_index")["count"].max().reindex(md["lambda_index"]).to_numpy())
    md["selected"] = np.where(md["lambda_index"] == chosen, "✓", "")
    md["strength"] = md["strength"].map(lambda v: f"{v:.3g}")
    for c in cols:
        md[c] = md[c].map(lambda v: f"{v:.2f}" if c == "attribution_tv" else f"{v:.4f}")
    save_table(md.rename(columns={"strength": "λ"}), out_md)
    log.info("selected λ index %s (%s)", chosen, selection["selected_lambda"])


def _mean_sd(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    return df[df["metric"] == metric].groupby(["lambda_index", "strength"])["value"].agg(["mean", "std"]) \
        .fillna(0.0).reset_index()


def figure_tv_error(metrics: str, selection: str, out: str) -> None:
    """Fig. 1 (left): mean TV of the test EG maps and test error vs λ (mean ± s.d. over seeds; λ = 0 dashed)."""
    from .. import plots  # matplotlib only where a figure is drawn (training jobs start faster)

    df = read_table(metrics, ("lambda_index", "strength", "metric", "value"))
    sel = read_json(selection)
    tv, acc = _mean_sd(df, "attribution_tv"), _mean_sd(df, "test_accuracy")
    with plots.figure(out, 1, 1, figsize=(5.0, 3.4)) as (fig, ax):
        reg_tv, base_tv = tv[tv["lambda_index"] > 0], tv[tv["lambda_index"] == 0]
        ax.errorbar(reg_tv["strength"], reg_tv["mean"], reg_tv["std"], color="C0", marker="o", ms=4, capsize=2,
                    label="attribution TV")
        ax.axhline(base_tv["mean"].iloc[0], color="C0", ls="--", lw=1, label="TV, baseline (λ = 0)")
        ax.set_xscale("log")
        ax.set_xlabel("λ (pixel prior strength)")
        ax.set_ylabel("total variation of standardised EG maps", color="C0")
        ax2 = ax.twinx()
        ax2.grid(False)
        ax2.spines["right"].set_visible(True)
        reg_acc, base_acc = acc[acc["lambda_index"] > 0], acc[acc["lambda_index"] == 0]
        ax2.errorbar(reg_acc["strength"], 100 * (1 - reg_acc["mean"]), 100 * reg_acc["std"], color="C3",
                     marker="s", ms=4, capsize=2, label="test error")
        ax2.axhline(100 * (1 - base_acc["mean"].iloc[0]), color="C3", ls="--", lw=1, label="error, baseline")
        ax2.set_ylabel("test error (%)", color="C3")
        if sel["selected_lambda"]:
            ax.axvline(sel["selected_lambda"], color="grey", ls=":", lw=1)
            ax.text(sel["selected_lambda"], ax.get_ylim()[1], " selected λ", va="top", fontsize=7, color="grey")
        lines = ax.get_legend_handles_labels()
        lines2 = ax2.get_legend_handles_labels()
        ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7, loc="center left")
        ax.set_title("Pixel attribution prior: smoothness vs accuracy")


def _load_maps(paths: Sequence[str], index: int, trial: int = 0) -> dict[str, np.ndarray]:
    name = f"lambda{index}_seed{trial}_maps.npz"
    hits = [p for p in paths if str(p).endswith(name)]
    if not hits:
        raise FileNotFoundError(f"no attribution maps {name} among the inputs")
    return load_npz(hits[0], MAP_KEYS)


def _image_axis(ax) -> None:
    """No ticks, grid or spines (labels and titles stay)."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _show_map(ax, m: np.ndarray) -> None:
    lim = float(np.abs(m).max()) or 1.0
    ax.imshow(m, cmap="bwr", vmin=-lim, vmax=lim)
    _image_axis(ax)


def figure_maps(maps: Sequence[str], selection: str, out_true: str, out_all: str) -> None:
    """Fig. 1 call-outs and supplement Figs. 3–4: EG maps of the baseline vs the selected λ (first seed;
    ``shown_index`` of the selection file, which falls back to the best regularized model when none is selected).

    ``out_true``: per example image, the image and the maps for its true class; ``out_all``: the maps of one
    row per example for all classes (baseline rows above, regularised rows below). Red: positive, blue:
    negative, each map scaled to its own maximum |φ|.
    """
    from .. import plots  # matplotlib only where a figure is drawn (training jobs start faster)

    sel = read_json(selection)
    base, reg = _load_maps(maps, 0), _load_maps(maps, sel["shown_index"])
    n = len(base["labels"])
    lam = sel["shown_lambda"]
    with plots.figure(out_true, 3, n, figsize=(1.25 * n + 0.6, 4.0)) as (fig, axes):
        axes = np.asarray(axes).reshape(3, n)
        for j in range(n):
            c = int(base["labels"][j])
            axes[0, j].imshow(base["images"][j], cmap="gray_r")
            _image_axis(axes[0, j])
            axes[0, j].set_title(f"label {c}", fontsize=8)
            _show_map(axes[1, j], base["maps"][j, c])
            _show_map(axes[2, j], reg["maps"][j, c])
        axes[0, 0].set_ylabel("image")
        axes[1, 0].set_ylabel("baseline")
        axes[2, 0].set_ylabel(f"λ = {lam:.3g}")
        fig.suptitle("EG attribution maps for the true class", fontsize=10)
    n_classes = base["maps"].shape[1]
    with plots.figure(out_all, 2 * n, n_classes + 1, figsize=(0.9 * (n_classes + 1), 0.95 * 2 * n + 0.6)) \
            as (fig, axes):
        axes = np.asarray(axes).reshape(2 * n, n_classes + 1)
        for block, (name, d) in enumerate((("baseline", base), (f"λ = {lam:.3g}", reg))):
            for j in range(n):
                r = block * n + j
                axes[r, 0].imshow(d["images"][j], cmap="gray_r")
                _image_axis(axes[r, 0])
                axes[r, 0].set_ylabel(name, fontsize=7)
                for c in range(n_classes):
                    _show_map(axes[r, c + 1], d["maps"][j, c])
                    if r == 0:
                        axes[r, c + 1].set_title(f"class {c}", fontsize=7)
        fig.suptitle("EG maps for all classes: baseline (top) vs regularised (bottom)", fontsize=10)


def figure_noise(metrics: str, selection: str, data: str, seed: int, out: str) -> None:
    """Fig. 1 (right) and supplement Fig. 5: test accuracy vs fraction of salt-and-pepper pixels.

    Baseline and the selected λ with its grid neighbours (mean ± s.d. over seeds); the top row shows one test
    image at each noise level.
    """
    from .. import plots  # matplotlib only where a figure is drawn (training jobs start faster)

    df = read_table(metrics, ("lambda_index", "strength", "metric", "value", "noise_fraction"))
    sel = read_json(selection)
    noisy = df[df["metric"] == "noisy_accuracy"]
    fractions = sorted(noisy["noise_fraction"].unique())
    d = load_npz(data, DATA_KEYS)
    image = d["X_test"][:1]
    n = len(fractions)
    with plots.figure(out, 2, n, figsize=(max(5.0, 0.75 * n), 4.6),
                      gridspec_kw={"height_ratios": [1, 3.6]}) as (fig, axes):
        axes = np.asarray(axes).reshape(2, n)
        for j, f in enumerate(fractions):
            rng = np.random.default_rng(derive_seed(seed, EXPERIMENT, "noise", f"{float(f):.6g}", 0))
            axes[0, j].imshow(salt_and_pepper(image, float(f), rng)[0, 0], cmap="gray_r", vmin=0, vmax=1)
            _image_axis(axes[0, j])
            axes[0, j].set_title(f"{100 * f:g}%", fontsize=7)
        gs = axes[1, 0].get_gridspec()
        for ax in axes[1]:
            ax.remove()
        ax = fig.add_subplot(gs[1, :])
        show = [0] + list(sel["noise_indices"])
        for k, idx in enumerate(show):
            sub = noisy[noisy["lambda_index"] == idx].groupby("noise_fraction")["value"].agg(["mean", "std"])
            lam = float(df.loc[df["lambda_index"] == idx, "strength"].iloc[0])
            label = "baseline (λ = 0)" if idx == 0 else f"λ = {lam:.3g}" + (
                " (selected)" if idx == sel["selected_index"] else "")
            if idx == sel["shown_index"] and sel["selected_index"] is None:
                label += " (best val. accuracy; none within tolerance)"
            ax.errorbar(100 * sub.index.to_numpy(), 100 * sub["mean"], 100 * sub["std"].fillna(0), marker="o", ms=3,
                        capsize=2, color="k" if idx == 0 else f"C{k}", ls="--" if idx == 0 else "-", label=label)
        ax.set_xlabel("salt-and-pepper pixels in test images (%)")
        ax.set_ylabel("test accuracy (%)")
        ax.legend(fontsize=7)
        ax.set_title("Robustness to pixel noise")


def workload(config: Mapping, n_pool: int, n_test: int, image_size: int, n_channels: int, n_classes: int) -> dict:
    """What the experiment's jobs do at a given data size, for compute projections (timings/paper_scale.py);
    torch-free.

    ``config`` is the whole workflow config; the data sizes are those it cannot know: ``n_pool`` images the
    train / validation split draws from (MNIST: its 60,000 training images; bundled digits: what remains after
    the test split), ``n_test`` test images, their size, channels and classes. Returns the split sizes and, per
    rule and variant, the jobs (one per λ and seed; λ = 0 is the baseline), fits per job, model spec, training
    settings (epochs at their maximum), the prior's references and the evaluation's explained / predicted images
    — the numbers :func:`make_data`, :func:`train` and :func:`evaluate` use.
    """
    pp = config["pixel_prior"]
    n_train, n_val = pool_split(pp["data"]["split"], n_pool)
    seeds, n_lambdas = int(pp["seeds"]), int(pp["lambdas"]["num"])
    spec = {**dict(pp["model"]), "image_size": int(image_size)}
    training = dict(pp["training"])
    ev = pp["evaluation"]
    n_tv = min(int(ev.get("tv_images") or n_test), n_test)
    n_maps = len(ev["example_classes"]) * n_classes
    n_noisy = len(ev["noise_fractions"]) * int(ev["noise_repeats"]) * n_test
    train = {"baseline": {"jobs": seeds, "fits_per_job": 1, "strength": 0.0, "prior": False},
             "prior": {"jobs": n_lambdas * seeds, "fits_per_job": 1, "strength": float(pp["lambdas"]["min"]),
                       "prior": True}}
    for job in train.values():
        job.update(model=spec, training=training, n_references=int(pp["n_references"]))
    return {"n_channels": int(n_channels), "image_size": int(image_size), "n_classes": int(n_classes),
            "rows": {"train": n_train, "val": n_val, "test": int(n_test)}, "train_cnn": train,
            "evaluate_cnn": {"jobs": (n_lambdas + 1) * seeds, "n_references": int(ev["n_references"]),
                             "tv_rows": n_tv, "map_rows": n_maps, "example_images": len(ev["example_classes"]),
                             "rows_per_call": EG_CHUNK, "noise_levels": len(ev["noise_fractions"]),
                             "noise_repeats": int(ev["noise_repeats"]),
                             "predicted_rows": n_test + n_val + n_noisy}}
