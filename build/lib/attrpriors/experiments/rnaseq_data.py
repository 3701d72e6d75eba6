"""RNA-seq data layer pipeline (issue 3): drug-response data, preprocessing, patient splits, pasilla, gene sets.

One function per pipeline step (workflow/rules/rnaseq.smk); each reads files, calls the library and writes its
outputs atomically. The data directory has the same files for both sources (``simulated`` and ``download``):

``counts.npz`` (counts, gene_lengths, is_coding), ``genes.tsv`` (gene, length, is_coding, …), ``samples.tsv``
(patient, batch), ``response.tsv`` (patient, drug, response), ``graph_edges.tsv`` / ``random_graph_edges.tsv``
(gene_a, gene_b, weight), ``truth.json`` (kind, params; for the simulation also the driving pathways). The
simulation adds its ground truth: ``pathways.tsv``, ``drug_pathways.tsv``, ``meta_features.tsv``,
``pathway_expression.tsv`` and the ``importance`` column of ``genes.tsv``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..io import load_npz, read_json, read_table, save_json, save_npz, save_table
from ..seeds import derive_seed

log = logging.getLogger("attrpriors.rnaseq_data")

#: Files every source writes into the data directory.
CORE_FILES = (
    "counts.npz",
    "genes.tsv",
    "samples.tsv",
    "response.tsv",
    "graph_edges.tsv",
    "random_graph_edges.tsv",
    "truth.json",
)
#: Ground-truth files only the simulation has.
TRUTH_FILES = ("pathways.tsv", "drug_pathways.tsv", "meta_features.tsv", "pathway_expression.tsv")


def calibration(datasets: Sequence[str], out: str, max_genes: int | None = None, seed: int = 0) -> None:
    """Fit the simulator's calibration (pydeseq2 dispersion trends, gene means, library sizes) on the bundled
    real count data sets and write it as JSON (:func:`attrpriors.data.rnaseq_calibration.calibrate`;
    ``max_genes``: fit on a random gene subset, for the test configuration)."""
    from ..data.rnaseq_calibration import calibrate

    cal = calibrate(tuple(datasets), max_genes=max_genes, seed=seed)
    for name, d in cal["datasets"].items():
        log.info("%s: dispersion trend %.4f + %.3f / mean (%d genes, design %s); zero fraction %.3f",
                 name, d["a0"], d["a1"], d["n_genes_fitted"], d["design"], d["zero_fraction"])
    save_json(cal, out)


def make_dataset(source: str, inputs: Mapping[str, str], simulation: Mapping, download: Mapping, seed: int,
                 outdir: str) -> None:
    """The data directory from the configured source: ``simulated`` (:func:`simulate`, calibrated by
    ``inputs["calibration"]``) or ``download`` (:func:`prepare_beataml` on the downloaded ``inputs``: counts,
    drug_response, clinical, network, gtf, hgnc)."""
    if source == "simulated":
        simulate(simulation, seed, outdir, calibration=inputs.get("calibration"))
    elif source == "download":
        missing = [k for k in ("counts", "drug_response", "clinical", "network", "gtf", "hgnc") if k not in inputs]
        if missing:
            raise KeyError(f"rnaseq source 'download' needs input files {missing}")
        prepare_beataml(**{k: inputs[k] for k in ("counts", "drug_response", "clinical", "network", "gtf", "hgnc")},
                        params=download, seed=seed, outdir=outdir)
    else:
        raise ValueError(f"unknown rnaseq source {source!r}; use simulated or download")


def simulate(params: Mapping, seed: int, outdir: str, calibration: str | None = None) -> None:
    """Simulate the drug-response data set (``simulate_drug_response``) and save it to ``outdir``.

    ``calibration``: the calibration JSON (rule ``rnaseq_calibration``); None uses the bundled copy.
    """
    from ..data.simulate_rnaseq import save_simulation, simulate_drug_response

    sim = simulate_drug_response(**dict(params), calibration=calibration,
                                 seed=derive_seed(seed, "rnaseq", "simulate"))
    save_simulation(sim, outdir)
    log.info(
        "simulated %d patients × %d genes, %d drugs, %d batches; driving pathways %s; %d graph edges",
        sim.counts.shape[0], sim.counts.shape[1], len(sim.drugs), len(set(sim.batch)), sim.driving_pathways,
        len(sim.graph_edges),
    )


def fetch(name: str, dest: str) -> None:
    """Download one registry entry (URL + sha256 in :mod:`attrpriors.data.download`) to ``dest``."""
    from ..data.download import download

    download(name, dest)


def prepare_beataml(counts: str, drug_response: str, clinical: str, network: str, gtf: str, hgnc: str,
                    params: Mapping, seed: int, outdir: str) -> None:
    """Beat AML + HumanBase into the data directory layout (one patient per row, gene symbols)."""
    from ..data.beataml import assemble_beataml, random_graph_like, read_clinical_batch

    d = assemble_beataml(
        counts, drug_response, read_clinical_batch(clinical, params.get("batch_column", "cohort")), network, gtf,
        hgnc, response=params.get("response", "log10_ic50"),
        min_patients_per_drug=int(params.get("min_patients_per_drug", 100)),
        min_posterior=float(params.get("min_posterior", 0.1)),
    )
    out = Path(outdir)
    save_npz(out / "counts.npz", counts=d.counts.to_numpy(), gene_lengths=d.genes["length"].to_numpy(np.int64),
             is_coding=d.genes["is_coding"].to_numpy(bool))
    save_table(d.genes, out / "genes.tsv")
    save_table(d.samples, out / "samples.tsv")
    save_table(d.response, out / "response.tsv")
    save_table(d.graph_edges, out / "graph_edges.tsv")
    rnd = random_graph_like(d.graph_edges, d.genes["gene"], derive_seed(seed, "rnaseq", "random_graph"))
    save_table(rnd, out / "random_graph_edges.tsv")
    save_json({"kind": "beat_aml", "params": dict(params), "info": d.info, "drugs": sorted(d.response["drug"].unique())},
              out / "truth.json")


def _data_frames(datadir: str):
    d = Path(datadir)
    arr = load_npz(d / "counts.npz", ("counts", "gene_lengths", "is_coding"))
    genes = read_table(d / "genes.tsv", ("gene", "length", "is_coding"))
    samples = read_table(d / "samples.tsv", ("patient", "batch"))
    if arr["counts"].shape != (len(samples), len(genes)):
        raise ValueError(
            f"{d / 'counts.npz'} is {arr['counts'].shape} but {d / 'samples.tsv'} has {len(samples)} rows and "
            f"{d / 'genes.tsv'} {len(genes)}"
        )
    gene_ids = genes["gene"].astype(str).to_numpy()
    patients = samples["patient"].astype(str).to_numpy()
    counts = pd.DataFrame(arr["counts"], index=pd.Index(patients, name="patient"), columns=pd.Index(gene_ids, name="gene"))
    return counts, genes.assign(gene=gene_ids).set_index("gene"), samples.assign(patient=patients).set_index("patient")


def preprocess(datadir: str, params: Mapping, out_npz: str, out_report: str) -> None:
    """Counts → FPKM → coding → zeros → log2 → standardize → ComBat; the model-ready matrix and the step table.

    ``expression.npz``: ``X`` (patients × genes, float32), ``genes``, ``patients``, ``batch``. The step table
    gains the batch silhouette (PCA, 2 components) before and after ComBat in the ComBat row's note.
    """
    from ..preprocess import batch_silhouette, preprocess_counts

    d = Path(datadir)
    counts, genes, samples = _data_frames(datadir)
    res = preprocess_counts(
        counts, genes["length"], genes["is_coding"].astype(bool), samples["batch"].astype(str),
        max_zero_frac=float(params.get("max_zero_frac", 0.7)), pseudocount=float(params.get("pseudocount", 1.0)),
        counts_source=str(d / "counts.npz"), genes_source=str(d / "genes.tsv"), samples_source=str(d / "samples.tsv"),
    )
    x = res.expression
    report = res.report.copy()
    if res.before_combat is not None:
        b = samples["batch"].reindex(x.index).astype(str).to_numpy()
        s0, s1 = batch_silhouette(res.before_combat, b), batch_silhouette(x, b)
        report.loc[report["step"] == "combat", "note"] += f"; batch silhouette {s0:.3f} -> {s1:.3f}"
        log.info("batch silhouette (PCA, 2 components): before ComBat %.3f, after ComBat %.3f", s0, s1)
    save_npz(out_npz, X=x.to_numpy(np.float32), genes=np.asarray(x.columns, dtype=str),
             patients=np.asarray(x.index, dtype=str),
             batch=np.asarray(samples["batch"].reindex(x.index), dtype=str))
    save_table(report.assign(dataset=str(read_json(d / "truth.json").get("kind", ""))), out_report)
    log.info("preprocessed: %d patients × %d genes\n%s", x.shape[0], x.shape[1], report.to_string(index=False))


def make_splits(expression: str, params: Mapping, seed: int, outs: Sequence[str]) -> None:
    """Train / validation / test splits by patient, one JSON per split seed (``{split, seed, train, val, test}``)."""
    from ..preprocess import split_by_group

    patients = load_npz(expression, ("patients",))["patients"].astype(str)
    for i, out in enumerate(outs):
        s = derive_seed(seed, "rnaseq", "split", i)
        idx = split_by_group(patients, float(params["test"]), float(params["val"]), seed=s)
        doc = {"split": i, "seed": s, **{k: sorted(patients[v].tolist()) for k, v in idx.items()}}
        save_json(doc, out)
        log.info("split %d: %d train / %d val / %d test patients", i, len(idx["train"]), len(idx["val"]),
                 len(idx["test"]))


def pasilla_combat(params: Mapping, out_png: str, out_table: str) -> None:
    """inmoose's bundled pasilla through the same preprocessing; PCA and batch silhouette before / after ComBat.

    The library type (single-read / paired-end) is the batch; the condition is kept as a ComBat covariate.
    """
    from ..plots import plot_pca_combat
    from ..data.bundled_rnaseq import pasilla_dataset
    from ..preprocess import pca_batch_silhouette, preprocess_counts

    p = pasilla_dataset(overlapping_loci=params.get("overlapping_loci", "drop"))
    res = preprocess_counts(
        p.counts, p.gene_lengths, None, p.samples[p.batch_col], covariates=p.samples[[p.condition_col]],
        max_zero_frac=float(params.get("max_zero_frac", 0.7)), counts_source="inmoose pasilla counts",
        genes_source=p.info["gff"], samples_source="inmoose pasilla sample sheet",
    )
    df = pca_batch_silhouette(res.before_combat, res.expression, p.samples[p.batch_col], p.samples[p.condition_col])
    sil = df.groupby("stage", sort=False)["silhouette"].first()
    log.info("pasilla: %d samples × %d genes after preprocessing; batch silhouette before ComBat %.3f, after %.3f",
             res.expression.shape[0], res.expression.shape[1], sil["before ComBat"], sil["after ComBat"])
    save_table(df.assign(dataset="pasilla"), out_table)
    plot_pca_combat(df, out_png, title="pasilla (inmoose): batch = library type")


def gene_set_library(source: str, library: str, gmt: str | None, out: str) -> None:
    """The gene set library as a GMT file: the bundled one by name, or a downloaded GMT."""
    from ..enrichment import load_gene_sets, write_gmt

    sets = load_gene_sets(library, source="bundled") if source == "bundled" else load_gene_sets(source=gmt)
    write_gmt(sets, out)
    log.info("%s (%s): %d gene sets, %d genes", library, source, len(sets), len({g for v in sets.values() for g in v}))


# ---------------------------------------------------------------------------------------------------------
# the count simulator next to the real data it is calibrated on (issue 13 item 1)
# ---------------------------------------------------------------------------------------------------------
def _median_iqr(v: np.ndarray) -> tuple[float, float, float]:
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (float("nan"),) * 3
    q = np.quantile(v, [0.5, 0.25, 0.75])
    return float(q[0]), float(q[1]), float(q[2])


def simulator_vs_real_stats(calibration: Mapping, sim_dir: str, expression: str | None = None,
                            n_small: int = 8, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Statistics of the simulated data set next to the real count data sets of ``calibration``.

    Rows of the tidy table (``statistic, dataset, value, lo, hi, note``; lo/hi: quartiles or range):
    samples, library size (millions; range), reads per gene with >= 10 reads, zero fraction of those genes,
    pydeseq2 trend a0 (BCV = √a0) and a1 (the simulation fitted the same way, design ``~batch``), median
    gene-wise dispersion at mean normalised count 100–1,000, Pearson r of random gene pairs and of gene pairs
    within a KEGG pathway (log2 CPM; for the simulation also on the models' preprocessed matrix and on
    ``n_small`` random patients, the real data sets' size), and each driving-pathway gene's correlation with its
    pathway's latent activity (signed by its loading) and with the mean of the pathway's other genes.
    Real within-KEGG correlations: airway's genes are Ensembl ids without an offline symbol map and pasilla is
    Drosophila, so they are NaN with a note.

    Returns the table and the arrays the figure draws.
    """
    from ..data.rnaseq_calibration import (
        count_summary,
        fit_dispersion_trend,
        log_cpm,
        random_pair_correlations,
        real_count_data,
        within_set_correlations,
    )
    from ..data.simulate_rnaseq import load_simulation

    rows: list[dict] = []

    def add(stat, ds, value, lo=np.nan, hi=np.nan, note=""):
        rows.append(dict(statistic=stat, dataset=ds, value=float(value), lo=float(lo), hi=float(hi), note=note))

    sim = load_simulation(sim_dir)
    plot: dict = {"datasets": {}}
    data = {}
    for name in calibration["datasets"]:
        counts, _, _ = real_count_data(name)
        data[name] = counts.to_numpy()
    data["simulated"] = sim.counts
    for name, counts in data.items():
        s = count_summary(counts)
        lib = np.asarray(s["library_sizes"]) / 1e6
        add("samples", name, s["n_samples"])
        add("library size (M reads)", name, np.median(lib), lib.min(), lib.max(), "median (range)")
        add("reads per gene (genes with >= 10 reads)", name, s["reads_per_expressed_gene"])
        add("zero fraction (genes with >= 10 reads)", name, s["zero_fraction"])
        x, keep = log_cpm(counts)
        r_rand = random_pair_correlations(x, seed=seed)
        add("r, random gene pairs (log2 CPM)", name, *_median_iqr(r_rand), "median (IQR)")
        zero_per_gene = (counts[:, keep] == 0).mean(axis=0)
        plot["datasets"][name] = dict(library=lib, zero_per_gene=zero_per_gene, r_random=r_rand,
                                      log10_mean=np.log10(np.maximum(counts[:, keep].mean(axis=0), 1e-3)))
    for name, d in calibration["datasets"].items():
        add("dispersion trend a0 (asymptote)", name, d["a0"], note=f"pydeseq2 {d['design']}; BCV = {np.sqrt(d['a0']):.3f}")
        add("dispersion trend a1 (/ mean)", name, d["a1"])
        plot["datasets"][name].update(binned_trend=d["binned_trend"], a0=d["a0"], a1=d["a1"])
    fit = fit_dispersion_trend(pd.DataFrame(sim.counts, index=sim.patients, columns=sim.genes),
                               pd.DataFrame({"batch": sim.batch}, index=sim.patients),
                               "~batch" if len(set(sim.batch)) > 1 else "~1")
    add("dispersion trend a0 (asymptote)", "simulated", fit["a0"],
        note=f"pydeseq2 ~batch; BCV = {np.sqrt(fit['a0']):.3f} (pathway signal + NB noise)")
    add("dispersion trend a1 (/ mean)", "simulated", fit["a1"])
    mid = (fit["mean"] >= 100) & (fit["mean"] <= 1000)
    add("gene-wise dispersion, mean 100-1000", "simulated", *_median_iqr(fit["genewise"][mid]), "median (IQR)")
    ref = calibration["datasets"][calibration["reference"]]
    het = float(sim.params.get("patient_heterogeneity", calibration.get("patient_heterogeneity", 16.0)))
    gn = float(sim.params.get("gene_noise", 1.0))
    plot["sim_fit"] = dict(mean=fit["mean"], genewise=fit["genewise"], a0=fit["a0"], a1=fit["a1"])
    plot["assumed"] = dict(a0=gn * het * ref["a0"], a1=gn * ref["a1"], factor=het, gene_noise=gn)
    add("assumed NB dispersion asymptote (gene_noise × heterogeneity × a0)", "simulated", gn * het * ref["a0"],
        note=f"BCV = {np.sqrt(gn * het * ref['a0']):.3f}; heterogeneity {het:g} is an assumption (edgeR guide BCVs)")
    # within-KEGG correlations (simulation only) and driver genes vs their pathway's latent activity
    gi = {g: i for i, g in enumerate(sim.genes)}
    x_sim, keep = log_cpm(sim.counts)
    col = -np.ones(len(sim.genes), dtype=np.int64)
    col[np.flatnonzero(keep)] = np.arange(keep.sum())
    sets = [col[[gi[g] for g in gs]] for gs in sim.pathways.values()]
    sets = [s[s >= 0] for s in sets]
    r_kegg = within_set_correlations(x_sim, sets, seed=seed)
    add("r, gene pairs within a KEGG pathway (log2 CPM)", "simulated", *_median_iqr(r_kegg), "median (IQR)")
    rng = np.random.default_rng(seed)
    small = rng.choice(len(sim.patients), min(n_small, len(sim.patients)), replace=False)
    x_small, keep_small = log_cpm(sim.counts[small])
    col_s = -np.ones(len(sim.genes), dtype=np.int64)
    col_s[np.flatnonzero(keep_small)] = np.arange(keep_small.sum())
    sets_s = [col_s[[gi[g] for g in gs]] for gs in sim.pathways.values()]
    r_kegg_small = within_set_correlations(x_small, [s[s >= 0] for s in sets_s], seed=seed)
    add(f"r, gene pairs within a KEGG pathway ({len(small)} patients)", "simulated", *_median_iqr(r_kegg_small),
        "median (IQR)")
    for name in calibration["datasets"]:
        add("r, gene pairs within a KEGG pathway (log2 CPM)", name, np.nan,
            note="not computable offline: airway has Ensembl ids (no bundled symbol map), pasilla is Drosophila")
    plot["r_kegg"], plot["r_kegg_small"] = r_kegg, r_kegg_small
    if expression:
        pre = load_npz(expression, required=("X", "genes"))
        xp, pg = pre["X"], [str(g) for g in pre["genes"]]
        pi = {g: i for i, g in enumerate(pg)}
        sets_p = [np.array([pi[g] for g in gs if g in pi], dtype=np.int64) for gs in sim.pathways.values()]
        r_pre = within_set_correlations(xp, sets_p, seed=seed)
        add("r, gene pairs within a KEGG pathway (preprocessed)", "simulated", *_median_iqr(r_pre), "median (IQR)")
        plot["r_kegg_pre"] = r_pre
        patients = [str(p) for p in pre["patients"]] if "patients" in pre else list(sim.patients)
        r_pre_latent = []
        for p in sim.driving_pathways:
            z = sim.pathway_expression[p].loc[patients].to_numpy()
            for g, w in zip(sim.pathways[p], sim.pathway_loadings[p] if sim.pathway_loadings else
                            np.ones(len(sim.pathways[p]))):
                if g in pi and xp[:, pi[g]].std() > 0:
                    r_pre_latent.append(np.sign(w) * np.corrcoef(xp[:, pi[g]], z)[0, 1])
        add("driver gene r with its pathway's latent activity (preprocessed, signed)", "simulated",
            *_median_iqr(np.array(r_pre_latent)), "median (IQR); genes kept by preprocessing")
        plot["r_latent_pre"] = np.array(r_pre_latent)
    r_latent, r_loo, per_pathway = [], [], []
    for p in sim.driving_pathways:
        z = sim.pathway_expression[p].to_numpy()
        sign = np.sign(np.asarray(sim.pathway_loadings[p])) if sim.pathway_loadings else np.ones(len(sim.pathways[p]))
        idx = col[[gi[g] for g in sim.pathways[p]]]
        ok = idx >= 0
        xs = x_sim[:, idx[ok]] * sign[ok]
        xs = (xs - xs.mean(0)) / np.where(xs.std(0) > 0, xs.std(0), 1.0)
        r_z = np.array([np.corrcoef(xs[:, k], z)[0, 1] for k in range(xs.shape[1])])
        tot = xs.sum(axis=1)
        r_o = np.array([np.corrcoef(xs[:, k], tot - xs[:, k])[0, 1] for k in range(xs.shape[1])])
        r_latent.append(r_z)
        r_loo.append(r_o)
        per_pathway.append((p, float(np.nanmedian(r_z))))
    r_latent, r_loo = np.concatenate(r_latent), np.concatenate(r_loo)
    add("driver gene r with its pathway's latent activity (signed)", "simulated", *_median_iqr(r_latent),
        "median (IQR); per pathway: " + ", ".join(f"{p}: {m:.2f}" for p, m in per_pathway))
    add("driver gene r with the mean of its pathway's other genes", "simulated", *_median_iqr(r_loo), "median (IQR)")
    plot["r_latent"], plot["r_loo"], plot["per_pathway"] = r_latent, r_loo, per_pathway
    return pd.DataFrame(rows), plot


def _fmt(row: pd.Series) -> str:
    v = row["value"]
    if not np.isfinite(v):
        return "n/a"
    s = f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if np.isfinite(row["lo"]):
        s += f" ({row['lo']:.3g}–{row['hi']:.3g})"
    return s


def simulator_vs_real(calibration: str, sim_dir: str, expression: str | None, out_png: str, out_csv: str,
                      out_md: str, seed: int = 0) -> None:
    """Table and figure ``rnaseq_simulator_vs_real``: the simulated data set next to the real data it is
    calibrated on (:func:`simulator_vs_real_stats`)."""
    from .. import plots

    cal = read_json(calibration)
    table, data = simulator_vs_real_stats(cal, sim_dir, expression, seed=seed)
    save_table(table, out_csv)
    wide = table.assign(text=table.apply(_fmt, axis=1)).pivot_table(
        index="statistic", columns="dataset", values="text", aggfunc="first", sort=False).reset_index()
    notes = table[table["note"] != ""].groupby("statistic", sort=False)["note"].apply(lambda s: "; ".join(
        f"{d}: {n}" for d, n in zip(table.loc[s.index, "dataset"], s)))
    wide["note"] = wide["statistic"].map(notes).fillna("")
    cols = ["statistic"] + [c for c in list(cal["datasets"]) + ["simulated"] if c in wide.columns] + ["note"]
    save_table(wide[cols].fillna("—"), out_md)
    plots.simulator_vs_real_figure(data, out_png)
    for _, r in table.iterrows():
        log.info("%-60s %-10s %s", r["statistic"], r["dataset"], _fmt(r))
