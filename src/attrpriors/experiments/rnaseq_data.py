"""RNA-seq data layer pipeline (issue 3): drug-response data, preprocessing, patient splits, pasilla, gene sets.

One function per pipeline step (workflow/rules/data.smk); each reads files, calls the library and writes its
outputs atomically. The data directory has the same files for both sources (``simulated`` and ``download``):

``counts.npz`` (counts, gene_lengths, is_coding), ``genes.tsv`` (gene, length, is_coding, …), ``samples.tsv``
(patient, batch), ``response.tsv`` (patient, drug, response), ``graph_edges.tsv`` / ``random_graph_edges.tsv``
(gene_a, gene_b, weight), ``truth.json`` (kind, params; for the simulation also the driving pathways). The
simulation adds its ground truth: ``pathways.tsv``, ``drug_pathways.tsv``, ``meta_features.tsv``,
``pathway_expression.tsv`` and the ``importance`` column of ``genes.tsv``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..io import load_npz, read_table, save_json, save_npz, save_table
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


def make_dataset(source: str, inputs: Mapping[str, str], simulation: Mapping, download: Mapping, seed: int,
                 outdir: str) -> None:
    """The data directory from the configured source: ``simulated`` (:func:`simulate`) or ``download``
    (:func:`prepare_beataml` on the downloaded ``inputs``: counts, drug_response, clinical, network, gtf, hgnc)."""
    if source == "simulated":
        simulate(simulation, seed, outdir)
    elif source == "download":
        missing = [k for k in ("counts", "drug_response", "clinical", "network", "gtf", "hgnc") if k not in inputs]
        if missing:
            raise KeyError(f"rnaseq source 'download' needs input files {missing}")
        prepare_beataml(**{k: inputs[k] for k in ("counts", "drug_response", "clinical", "network", "gtf", "hgnc")},
                        params=download, seed=seed, outdir=outdir)
    else:
        raise ValueError(f"unknown rnaseq source {source!r}; use simulated or download")


def simulate(params: Mapping, seed: int, outdir: str) -> None:
    """Simulate the drug-response data set (``simulate_drug_response``) and save it to ``outdir``."""
    from ..data.simulate_rnaseq import save_simulation, simulate_drug_response

    sim = simulate_drug_response(**dict(params), seed=derive_seed(seed, "rnaseq", "simulate"))
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
    save_table(report.assign(dataset=str(json.loads((d / "truth.json").read_text()).get("kind", ""))), out_report)
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
    from ..plots_rnaseq import plot_pca_combat
    from ..preprocess import pasilla_dataset, pca_batch_silhouette, preprocess_counts

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
