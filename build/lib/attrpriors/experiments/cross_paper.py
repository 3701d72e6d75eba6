"""The cross-paper attribution-trust table (ours): the gene-expression models of the graph-prior and DAPr
experiments, scored on the drug-response simulation from their tidy ``gene, model, seed, mean_abs_eg`` tables.

1. :func:`cross_paper_scores` — per source experiment: feature agreement of the top-K genes with the simulator's
   driving genes, pathway KL consistency and GSEA recovery of the driving pathways (per retraining), and top-K
   overlap across retrainings (per model), in one tidy metrics table;
2. :func:`cross_paper_table` / :func:`cross_paper_figure` — one row (bar) per model family and source;
3. :func:`cross_paper` — both, from the rule's named inputs.
"""

from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..display import format_mean_sd, model_label
from ..io import load_npz, read_table, save_table

log = logging.getLogger("attrpriors.cross_paper")

#: Row order of the table: (source experiment, model); labels come from :data:`attrpriors.display.MODEL_LABELS`.
ROW_ORDER = (
    ("graph_prior", "lasso"),
    ("graph_prior", "graph_lasso"),
    ("graph_prior", "mlp"),
    ("graph_prior", "mlp_extra"),
    ("graph_prior", "mlp_graph"),
    ("graph_prior", "mlp_random_graph"),
    ("graph_prior", "gcn"),
    ("dapr", "lasso"),
    ("dapr", "mlp"),
    ("dapr", "mlp_l1"),
    ("dapr", "mlp_l2"),
    ("dapr", "mlp_meta_inputs"),
    ("dapr", "merge"),
    ("dapr", "dapr_noise"),
    ("dapr", "dapr_informative"),
)
SOURCE_LABELS = {"graph_prior": "graph-prior experiment (all drugs)", "dapr": "DAPr experiment (one drug)"}


def _truth(spec: Mapping) -> tuple[set, list | None]:
    """True driving genes (importance > 0) and, when known, the driving pathways of a source (``drug_pathways``
    table, or the ``driving_pathways`` array of a ``truth_npz``); ``None`` when the source does not record them."""
    pathways = None
    if spec.get("truth_genes"):
        t = read_table(spec["truth_genes"], ("gene", "importance"))
        genes = set(t.loc[t["importance"] > 0, "gene"].astype(str))
    elif spec.get("truth_npz"):
        d = load_npz(spec["truth_npz"], ("genes", "importance"), may_be_nonfinite=("importance",))
        genes = {str(g) for g, v in zip(d["genes"], d["importance"]) if np.isfinite(v) and v > 0}
        if len(d.get("driving_pathways", [])):  # the simulator's own record of the drug's pathways
            pathways = sorted(str(q) for q in d["driving_pathways"])
    else:
        raise KeyError("a cross-paper source needs truth_genes (genes.tsv) or truth_npz (genes, importance)")
    if not genes:
        raise ValueError(f"{spec.get('truth_genes') or spec.get('truth_npz')}: no gene has a positive importance "
                         "(is this simulated data?)")
    if spec.get("drug_pathways"):
        pathways = sorted(read_table(spec["drug_pathways"], ("pathway",))["pathway"].astype(str).unique())
    return genes, pathways


def cross_paper_scores(sources: Mapping[str, Mapping], gene_sets: str, params: Mapping, seed: int,
                       out_metrics: str, workers: int = 1) -> None:
    """Score the gene-expression models of other experiments (tidy ``gene, model, seed, mean_abs_eg`` tables)
    against the simulator's truth: feature agreement, pathway KL consistency, GSEA recovery of the driving
    pathways (per run), and top-K overlap across seeds (per model). Writes one tidy metrics table. ``workers``:
    processes scoring the runs (:func:`attrpriors.evaluation.attribution_trust_per_run`; same table for any)."""
    from ..enrichment import load_gene_sets
    from ..evaluation import attribution_trust_per_run, ranking_stability, true_pathways_from_genes

    sets = load_gene_sets(source=gene_sets)
    g = params["gsea"]
    parts = []
    for source, spec in sources.items():
        att = pd.concat([read_table(p, ("gene", "model", "seed", "mean_abs_eg")) for p in spec["attributions"]],
                        ignore_index=True)
        true_genes, true_sets = _truth(spec)
        if true_sets is None:
            true_sets = true_pathways_from_genes(sets, true_genes, att["gene"].astype(str).unique())
        log.info("%s: %d models, %d true genes, %d true pathways", source, att["model"].nunique(), len(true_genes),
                 len(true_sets))
        runs = attribution_trust_per_run(att, true_genes, sets, true_sets, top_frac=float(params["top_frac"]),
                                         gsea_permutations=int(g["permutations"]), gsea_min_size=int(g["min_size"]),
                                         gsea_max_size=int(g["max_size"]), fdr=float(g["fdr"]), seed=seed,
                                         workers=workers)
        k = len(true_genes & set(att["gene"].astype(str)))
        stab = ranking_stability(att, k=k, seed=seed)
        stab_rows = stab.melt(id_vars=["model"], value_vars=["jaccard", "random_expectation", "n_seeds", "k"],
                              var_name="metric").assign(seed="all")
        stab_rows["metric"] = stab_rows["metric"].map({"jaccard": "topk_jaccard", "random_expectation":
                                                       "topk_jaccard_random", "n_seeds": "n_seeds", "k": "k"})
        parts.append(pd.concat([runs, stab_rows], ignore_index=True).assign(source=source))
    df = pd.concat(parts, ignore_index=True).assign(experiment="crosspaper")
    save_table(df[["experiment", "source", "model", "seed", "metric", "value"]], out_metrics)


RANDOMIZATION_KEYS = ("source", "model", "seed", "stage", "layer", "spearman", "spearman_sd", "spearman_global")


def cross_paper_table(metrics: str, out_csv: str, out_md: str, out_png: str, randomization: pd.DataFrame | None = None,
                      threshold: float = 0.5) -> None:
    """The cross-paper table (one row per model family and source) and its figure, from the tidy metrics.

    ``randomization`` (rows of :func:`attrpriors.evaluation.randomization_sanity` with ``source, model``) adds
    the model-randomization sanity check: Spearman ρ of per-sample |EG| between the trained and the fully
    randomized model, and a flag where the maps survive it (ρ ≥ ``threshold``)."""
    from ..evaluation import randomization_flag

    df = read_table(metrics, ("source", "model", "seed", "metric", "value"))
    runs = df[df["seed"].astype(str) != "all"]
    stab = df[df["seed"].astype(str) == "all"].pivot_table(index=["source", "model"], columns="metric", values="value")
    keys = [k for k in ROW_ORDER if k in set(zip(runs["source"], runs["model"]))]
    keys += sorted(set(zip(runs["source"], runs["model"])) - set(keys))
    rows, md = [], []
    for source, model in keys:
        r = runs[(runs["source"] == source) & (runs["model"] == model)].pivot_table(index="seed", columns="metric",
                                                                                     values="value")
        st = stab.loc[(source, model)] if (source, model) in stab.index else pd.Series(dtype=float)
        label = model_label(source, model)
        rows.append({"source": source, "model": model, "label": label, "n_seeds": len(r),
                     "feature_agreement": r["feature_agreement"].mean(),
                     "feature_agreement_sd": r["feature_agreement"].std(ddof=1),
                     "chance_feature_agreement": r["chance_feature_agreement"].mean(),
                     "topk_jaccard": st.get("topk_jaccard", np.nan), "k": st.get("k", np.nan),
                     "topk_jaccard_random": st.get("topk_jaccard_random", np.nan),
                     "gsea_true_recovered": r["gsea_true_recovered"].mean(),
                     "gsea_significant": r["gsea_significant"].mean(),
                     "pathway_kld": r["pathway_kld"].mean(), "pathway_kld_sd": r["pathway_kld"].std(ddof=1)})
        rnd_cell = {}
        if randomization is not None:
            sub = randomization[(randomization["source"] == source) & (randomization["model"] == model)]
            if sub.empty:
                raise ValueError(f"no randomization sanity check for {source}/{model}")
            rho, survives = randomization_flag(sub.reset_index(drop=True), threshold)
            rows[-1] |= {"randomization_spearman": rho,
                         "randomization_spearman_global": float(sub.loc[sub["stage"].idxmax(), "spearman_global"]),
                         "survives_randomization": survives}
            rnd_cell = {"Randomization ρ of \\|EG\\| (all layers)": f"{rho:.2f}" + (" **FLAGGED**" if survives else "")}
        md.append({"Source": SOURCE_LABELS.get(source, source), "Model": label, "Seeds": len(r),
                   "Feature agreement, top-K (%)": f"{format_mean_sd(r['feature_agreement'], 100)} "
                                                   f"(chance {100 * r['chance_feature_agreement'].mean():.1f})",
                   "Top-K overlap across retrainings (Jaccard)": "—" if np.isnan(st.get("topk_jaccard", np.nan)) else
                   f"{st['topk_jaccard']:.2f} (random {st['topk_jaccard_random']:.3f})",
                   "True pathways recovered by GSEA (%)": format_mean_sd(r["gsea_true_recovered"], 100, 0),
                   "Significant gene sets": format_mean_sd(r["gsea_significant"], 1, 1),
                   "Pathway KL consistency (nats)": format_mean_sd(r["pathway_kld"], 1, 2), **rnd_cell})
    table = pd.DataFrame(rows)
    save_table(table.round(4), out_csv)
    save_table(pd.DataFrame(md), out_md)
    cross_paper_figure(runs, stab, keys, out_png)


def cross_paper_figure(runs: pd.DataFrame, stab: pd.DataFrame, keys: Sequence[tuple], path: str) -> None:
    """Four panels, one bar per model family (per source): feature agreement, top-K overlap across seeds, true
    pathways recovered by GSEA and pathway KL consistency; dots are retrainings, grey marks chance levels."""
    from .. import plots

    labels = [f"{model_label(*k)}\n[{k[0].replace('_', '-')}]" for k in keys]
    y = np.arange(len(keys))[::-1]
    colors = {"graph_prior": "#4C72B0", "dapr": "#DD8452"}
    panels = [("feature_agreement", "feature agreement\nof the top-K genes", "chance_feature_agreement"),
              ("topk_jaccard", "top-K overlap across\nretrainings (Jaccard)", "topk_jaccard_random"),
              ("gsea_true_recovered", "true pathways\nrecovered by GSEA", None),
              ("pathway_kld", "pathway KL\nconsistency (nats)", None)]
    with plots.figure(path, 1, 4, figsize=(13, 0.42 * len(keys) + 1.6), sharey=True, layout="constrained") as (fig, axes):
        for ax, (metric, title, chance) in zip(axes, panels):
            for yi, (source, model) in zip(y, keys):
                c = colors.get(source, "0.4")
                if metric == "topk_jaccard":
                    v = stab.loc[(source, model)].get(metric, np.nan) if (source, model) in stab.index else np.nan
                    ax.barh(yi, v, color=c, alpha=0.8)
                    ref = stab.loc[(source, model)].get(chance, np.nan) if (source, model) in stab.index else np.nan
                    ax.plot([ref, ref], [yi - 0.4, yi + 0.4], color="0.3", lw=1.5)
                    continue
                vals = runs[(runs["source"] == source) & (runs["model"] == model) & (runs["metric"] == metric)]["value"]
                vals = vals.astype(float).dropna()
                ax.barh(yi, vals.mean() if len(vals) else np.nan, color=c, alpha=0.8)
                ax.scatter(vals, np.full(len(vals), yi), s=9, color="k", zorder=3)
                if chance:
                    ref = runs[(runs["source"] == source) & (runs["model"] == model) & (runs["metric"] == chance)]
                    ref = ref["value"].astype(float).mean()
                    ax.plot([ref, ref], [yi - 0.4, yi + 0.4], color="0.3", lw=1.5)
            ax.set_title(title)
            if metric != "pathway_kld":
                ax.set_xlim(0, 1.02)
        axes[0].set_yticks(y, labels)
        fig.suptitle("Attribution trust across gene-expression model families (drug-response simulation); "
                     "grey ticks: chance", fontsize=9)


def cross_paper(inputs: Mapping, params: Mapping, seed: int, out_metrics: str, out_csv: str, out_md: str,
                out_png: str, out_randomization_png: str | None = None, workers: int = 1) -> None:
    """The cross-paper table from the rule's named inputs: ``gp_attributions``, ``gp_genes`` (genes.tsv with
    the simulator's importance), ``gp_drug_pathways`` of the graph-prior experiment; ``dapr_attributions`` and
    ``dapr_data`` (npz with ``genes, importance``) of the DAPr experiment; ``gene_sets`` (a GMT library)."""
    sources: dict[str, dict] = {}
    if inputs.get("gp_attributions"):
        sources["graph_prior"] = {"attributions": list(inputs["gp_attributions"]), "truth_genes": inputs["gp_genes"],
                                  "drug_pathways": inputs.get("gp_drug_pathways")}
    if inputs.get("dapr_attributions"):
        sources["dapr"] = {"attributions": list(inputs["dapr_attributions"]), "truth_npz": inputs["dapr_data"]}
    if not sources:
        raise ValueError("cross-paper table: no source given (cross_paper.sources is empty)")
    cross_paper_scores(sources, inputs["gene_sets"], params, seed, out_metrics, workers=workers)
    files = list(inputs.get("gp_randomization") or []) + list(inputs.get("dapr_randomization") or [])
    rnd = (pd.concat([read_table(p, RANDOMIZATION_KEYS) for p in files], ignore_index=True) if files else None)
    threshold = float(params.get("randomization", {}).get("threshold", 0.5))
    cross_paper_table(out_metrics, out_csv, out_md, out_png, randomization=rnd, threshold=threshold)
    if out_randomization_png is not None:
        from .. import plots

        if rnd is None:
            raise ValueError("cross-paper randomization figure: no randomization tables among the inputs")
        fig = rnd.assign(family=[model_label(s_, m) for s_, m in zip(rnd["source"], rnd["model"])],
                         panel=rnd["source"].map(lambda s_: SOURCE_LABELS.get(s_, s_)))
        plots.randomization_figure(fig, "panel", out_randomization_png, threshold=threshold, series="family",
                                   title="Model-randomization sanity check of every model family (per-sample |EG|)")
