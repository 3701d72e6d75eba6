"""Speed benchmark, measured in one run on the same model and data.

    .venv/bin/python timings/attributions.py [--n-explain 100] [--repeats 3]

Prints (1) expected gradients with 200 references: ours vs shap.GradientExplainer(nsamples=200), and
captum IntegratedGradients with 200 steps beside our IG with 200 steps; (2) the per-epoch time of training
with the EG attribution prior (k=1) over training without it. Times are the median of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

from attrpriors.attributions import expected_gradients, integrated_gradients
from attrpriors.data.synthetic_benchmark import make_benchmark_dataset
from attrpriors.models import MLP
from attrpriors.priors import AttributionPrior
from attrpriors.seeds import seed_everything
from attrpriors.training import FitConfig, fit


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-explain", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()

    import captum.attr
    import shap

    seed_everything(0)
    d = make_benchmark_dataset("independent_linear60", n_samples=1000, seed=0)
    X, y = torch.as_tensor(d["X"]), torch.as_tensor(d["y"])
    model = MLP(60, (64, 32), 1).eval()
    x, background = X[: args.n_explain], X[200:]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; MLP 60-64-32-1; "
          f"{args.n_explain} samples explained; median of {args.repeats}")

    gen = torch.Generator().manual_seed(0)
    t_ours = timed(lambda: expected_gradients(model, x, None, background, n_samples=200, generator=gen), args.repeats)
    wrapped = nn.Sequential(model, nn.Unflatten(0, (-1, 1)))
    explainer = shap.GradientExplainer(wrapped, background)
    t_shap = timed(lambda: explainer.shap_values(x, nsamples=200, rseed=0), args.repeats)
    ig = captum.attr.IntegratedGradients(model)
    t_captum = timed(lambda: ig.attribute(x, n_steps=200), args.repeats)
    t_our_ig = timed(lambda: integrated_gradients(model, x, n_steps=200), args.repeats)

    rows = [
        ("EG, 200 references (attrpriors)", t_ours),
        ("shap.GradientExplainer, nsamples=200", t_shap),
        ("IG, 200 steps (attrpriors)", t_our_ig),
        ("captum IntegratedGradients, 200 steps", t_captum),
    ]
    print("\n| attribution | seconds | ratio to ours |\n|---|---:|---:|")
    for name, t in rows:
        ref = t_ours if "EG" in name or "shap" in name else t_our_ig
        print(f"| {name} | {t:.3f} | {t / ref:.1f}× |")

    Xtr, ytr, Xva, yva = X[:700], y[:700], X[700:850], y[700:850]

    def epoch_time(weight: float) -> float:
        seed_everything(0)
        net = MLP(60, (64, 32), 1)
        prior = AttributionPrior("l1", n_references=1, seed=0)
        cfg = FitConfig(epochs=args.epochs, batch_size=64, lr=1e-3, prior_weight=weight, patience=10**6,
                        device="cpu", progress=False)
        res = fit(net, Xtr, ytr, Xva, yva, config=cfg, prior=prior)
        return float(np.median(res.history["seconds"]))

    base = statistics.median(epoch_time(0.0) for _ in range(args.repeats))
    with_prior = statistics.median(epoch_time(1e-2) for _ in range(args.repeats))
    print("\n| training (700 samples, batch 64) | s / epoch | ratio |\n|---|---:|---:|")
    print(f"| task loss only | {base:.4f} | 1.0× |")
    print(f"| task loss + EG prior (k=1, joint) | {with_prior:.4f} | {with_prior / base:.1f}× |")


if __name__ == "__main__":
    main()
