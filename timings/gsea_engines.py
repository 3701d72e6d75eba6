#!/usr/bin/env python
"""Does a faster GSEA agree with gseapy.prerank on our rankings? (issue 27, must-show 3)

The cross-paper table runs GSEA prerank (gseapy, 1,000 permutations) on every gene-expression model's mean |EG|
ranking of a run folder. This script takes the graph-prior experiment's rankings (most of the table's runs; their
true driving pathways are the simulator's ``drug_pathways.tsv``) (the same seeded tie-break jitter as
:func:`attrpriors.evaluation._trust_one_run`), the same tested sets (KEGG, 15–500 genes) and compares, per run:

* gseapy prerank (:func:`attrpriors.enrichment.gsea_prerank`, ``--permutations``, BH-FDR computed by us);
* blitzgsea's analytic null (gamma fits at ``anchors`` set sizes, ``center=False`` because mean |EG| ≥ 0 is a
  one-sided score: centring would weight the unattributed genes as strongly "negative"; ``center=True`` also run);

reporting the Spearman correlation of the two NES (blitzgsea's NES is a z-score of its p-value, gseapy's ES over
the mean null ES: only their order is comparable), of −log10 p, the significant sets (BH-FDR < 0.05, NES > 0)
of each and their Jaccard overlap, whether the true driving pathways' recovery (the table's
``gsea_true_recovered``) is the same, and the seconds per run of each engine, both with 2 workers (blitzgsea 1.3.54's single-process path has a
bug: ``estimate_anchor() missing 1 required positional argument``).

    pip install --no-deps --target /tmp/bgpkg blitzgsea==1.3.54   # not a dependency of the project
    PYTHONPATH=/tmp/bgpkg .venv/bin/python timings/gsea_engines.py --run-folder /tmp/base --runs 24

Writes ``timings/results/gsea_engines.csv`` (one row per run and engine variant) and prints the summary.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-folder", required=True, help="a finished default run (its results/ is read)")
    ap.add_argument("--runs", type=int, default=24, help="(model, seed) rankings to compare, spread over models")
    ap.add_argument("--permutations", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(REPO / "timings/results/gsea_engines.csv"))
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    import blitzgsea
    from scipy.stats import spearmanr
    from statsmodels.stats.multitest import multipletests

    from attrpriors.enrichment import filter_gene_sets, gsea_prerank, load_gene_sets
    from attrpriors.evaluation import ranked_genes
    from attrpriors.io import read_table

    root = Path(args.run_folder)
    sets = load_gene_sets(source=str(root / "results/rnaseq/gene_sets/KEGG.gmt"))
    files = sorted((root / "results/graph_prior/attributions").glob("*/seed*.csv"))
    att = pd.concat([read_table(p).assign(source="graph_prior") for p in files], ignore_index=True)
    truth = set(pd.read_csv(root / "results/rnaseq/data/drug_pathways.tsv", sep="\t")["pathway"].astype(str))
    groups = list(att.groupby(["source", "model", "seed"], sort=True))
    pick = np.linspace(0, len(groups) - 1, min(args.runs, len(groups))).round().astype(int)
    rows = []
    for i in dict.fromkeys(pick.tolist()):
        (source, model, s), g = groups[i]
        scores = g.set_index("gene")["mean_abs_eg"].astype(float)
        ranked = ranked_genes(scores, (args.seed, int(s)))
        jitter = pd.Series(np.linspace(1e-12, 0.0, len(ranked)), index=ranked).reindex(scores.index)
        x = scores + jitter
        tested = filter_gene_sets(sets, scores.index, min_size=15, max_size=500)
        targets = [p for p in truth if p in tested]
        t0 = time.perf_counter()
        ref = gsea_prerank(x, tested, permutations=args.permutations, seed=args.seed, min_size=15, max_size=500,
                           threads=2)
        t_ref = time.perf_counter() - t0
        ref = ref.set_index("term")
        sig_ref = set(ref.index[(ref["fdr_bh"] < 0.05) & (ref["nes"] > 0)])
        for center in (False, True):
            blitzgsea.pdf_cache.clear()  # no reuse of another run's null: each run pays its own fit
            sig_df = pd.DataFrame({0: x.index.astype(str), 1: x.to_numpy()})
            t0 = time.perf_counter()
            res = blitzgsea.gsea(sig_df, tested, permutations=args.permutations, min_size=15, max_size=500,
                                 processes=2, seed=args.seed, center=center, progress=False)
            t_b = time.perf_counter() - t0
            res["fdr_bh"] = multipletests(res["pval"].clip(0, 1), method="fdr_bh")[1]
            common = ref.index.intersection(res.index)
            sig_b = set(res.index[(res["fdr_bh"] < 0.05) & (res["nes"] > 0)])
            rec = lambda sig: float(np.mean([p in sig for p in targets])) if targets else np.nan  # noqa: E731
            rows.append({
                "source": source, "model": model, "seed": int(s), "engine": f"blitzgsea center={center}",
                "n_sets": len(common),
                "spearman_nes": spearmanr(ref.loc[common, "nes"], res.loc[common, "nes"]).statistic,
                "spearman_logp": spearmanr(-np.log10(ref.loc[common, "pval"].clip(lower=1e-300)),
                                           -np.log10(res.loc[common, "pval"].clip(lower=1e-300))).statistic,
                "n_sig_gseapy": len(sig_ref), "n_sig_other": len(sig_b),
                "jaccard_sig": len(sig_ref & sig_b) / len(sig_ref | sig_b) if sig_ref | sig_b else 1.0,
                "same_sig_sets": sig_ref == sig_b,
                "recovered_gseapy": rec(sig_ref), "recovered_other": rec(sig_b),
                "seconds_gseapy": t_ref, "seconds_other": t_b,
            })
            print(f"{source} {model} seed {s} center={center}: NES ρ {rows[-1]['spearman_nes']:.3f}, significant "
                  f"{len(sig_ref)} vs {len(sig_b)} (Jaccard {rows[-1]['jaccard_sig']:.2f}), "
                  f"{t_ref:.2f} s vs {t_b:.2f} s", flush=True)
    df = pd.DataFrame(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    summary = df.groupby("engine").agg(
        runs=("model", "size"), spearman_nes_median=("spearman_nes", "median"),
        spearman_nes_min=("spearman_nes", "min"), jaccard_sig_median=("jaccard_sig", "median"),
        same_sig_sets=("same_sig_sets", "mean"),
        same_recovery=("recovered_gseapy", lambda s: float(np.mean(
            np.isclose(s, df.loc[s.index, "recovered_other"], equal_nan=True)))),
        seconds_gseapy=("seconds_gseapy", "mean"), seconds_other=("seconds_other", "mean"))
    summary["speedup"] = summary["seconds_gseapy"] / summary["seconds_other"]
    print(summary.to_markdown(floatfmt=".3f"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
