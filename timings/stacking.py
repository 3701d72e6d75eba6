#!/usr/bin/env python
"""Where does training replicates as one stacked model pay on a CPU? (issue 27, must-show 1 and 4)

:class:`attrpriors.stacked.StackedMLP` evaluates ``M`` MLPs of one shape with batched matmuls (``torch.baddbmm``);
the sparsity experiment trains its restarts that way. This script times one optimiser step of ``M`` replicates,
stacked (one forward/backward/Adam step for all) against one after another (``M`` plain
:class:`attrpriors.models.MLP` with their own Adam), with and without a differentiable expected-gradients term in
the loss (the attribution priors' double back-propagation), at the shapes of the experiments whose replicates
could be stacked:

* ``dapr_table1``: 2,000 genes → 128 → 64 → 1, batch 32 (Weinberger Table 1, the 10 splits of a row);
* ``graph_prior_sweep``: 500 genes → 64 → 32 → 1, batch 32 (a sweep cell's retrainings);
* ``graph_prior``: 2,000 genes → 64 → 32 → 1, batch 32 (the main experiment's paper-protocol MLP);
* ``sparsity``: 30 features → 16 → 8 → 1, batch 100 (the small-data restarts, already stacked).

Ratios (sequential seconds / stacked seconds) from one run, torch at ``--threads`` threads:

    .venv/bin/python timings/stacking.py [--replicates 10] [--steps 30] [--threads 1]

Writes ``timings/results/stacking.csv``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

SHAPES = {
    "dapr_table1": (2000, [128, 64], 32),
    "graph_prior_sweep": (500, [64, 32], 32),
    "graph_prior": (2000, [64, 32], 32),
    "sparsity": (30, [16, 8], 100),
}


def time_steps(step, n: int) -> float:
    step()  # warm-up (allocations, kernel choice)
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(REPO / "timings/results/stacking.csv"))
    args = ap.parse_args(argv)

    import torch

    from attrpriors.attributions import expected_gradients
    from attrpriors.models import MLP
    from attrpriors.stacked import StackedMLP, stacked_expected_gradients

    torch.set_num_threads(args.threads)
    M = args.replicates
    rows = []
    for name, (p, hidden, batch) in SHAPES.items():
        x = torch.randn(M, batch, p)
        y = torch.randn(M, batch)
        for prior in (False, True):
            st = StackedMLP.initialized(p, hidden, seeds=range(M))
            s_opt = torch.optim.Adam(st.parameters(), 1e-3)
            gens = [torch.Generator().manual_seed(i) for i in range(M)]

            def stacked():
                loss = (st(x) - y).pow(2).mean(1)
                if prior:
                    phi = stacked_expected_gradients(st, x, None, 1, gens, create_graph=True)
                    loss = loss + phi.abs().mean((1, 2))
                s_opt.zero_grad()
                loss.sum().backward()
                s_opt.step()

            nets = []
            for i in range(M):
                torch.manual_seed(i)
                nets.append(MLP(p, hidden, 1))
            opts = [torch.optim.Adam(n.parameters(), 1e-3) for n in nets]
            gen = torch.Generator().manual_seed(0)

            def sequential():
                for i, (net, opt) in enumerate(zip(nets, opts)):
                    loss = (net(x[i]).ravel() - y[i]).pow(2).mean()
                    if prior:
                        phi = expected_gradients(net, x[i], None, None, n_samples=1, create_graph=True,
                                                 generator=gen)
                        loss = loss + phi.abs().mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()

            t_seq, t_st = time_steps(sequential, args.steps), time_steps(stacked, args.steps)
            rows.append({"shape": name, "inputs": p, "hidden": "-".join(map(str, hidden)), "batch": batch,
                         "eg_prior": prior, "replicates": M, "threads": args.threads,
                         "ms_per_step_sequential": 1e3 * t_seq, "ms_per_step_stacked": 1e3 * t_st,
                         "speedup": t_seq / t_st})
            print(f"{name:18s} EG prior {str(prior):5s}: sequential {1e3 * t_seq:7.2f} ms, stacked "
                  f"{1e3 * t_st:7.2f} ms per step of {M}: {t_seq / t_st:.2f}×", flush=True)
    df = pd.DataFrame(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    print(df.to_markdown(index=False, floatfmt=".2f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
