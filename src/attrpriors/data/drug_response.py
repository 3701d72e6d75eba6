"""The data sets of DAPr's Table 1 (Weinberger et al. 2020), each as a dict of arrays that
:func:`attrpriors.experiments.dapr.table1_data` z-scores, splits and saves:

* :func:`simulated_drug_response` — the embedded default: one drug of the RNA-seq simulator, with its truth;
* :func:`beat_aml_drug_response` — Beat AML expression and one inhibitor's response, MERGE driver meta-features;
* :func:`amp_ad` — AMP-AD (controlled access) from a user-provided folder;
* :func:`fetch_merge_features` — download of the MERGE table.

Keys of every dict: ``X, y, groups, genes, meta_informative, informative_names, meta_noise, noise_names,
importance, description`` (and ``driving_pathways`` for the simulation).
"""

from __future__ import annotations

import logging
from typing import Mapping

import numpy as np
import pandas as pd

from ..io import read_table
from ..seeds import derive_seed

__all__ = ["amp_ad", "beat_aml_drug_response", "fetch_merge_features", "noise_meta_features",
           "simulated_drug_response"]

log = logging.getLogger("attrpriors.drug_response")


def noise_meta_features(n_genes: int, k: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """``k`` N(0, 1) meta-features per gene (the negative control of DAPr's prior), seeded by ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_genes, k)).astype(np.float32), [f"noise_{j + 1}" for j in range(k)]


def simulated_drug_response(params: Mapping, seed: int, calibration: str | None = None) -> dict:
    """The embedded default: one drug of :func:`attrpriors.data.simulate_rnaseq.simulate_drug_response`
    (calibrated by ``calibration``, the rule ``rnaseq_calibration``'s JSON; None: the bundled copy),
    preprocessed by :func:`attrpriors.preprocess.preprocess_counts` (FPKM → coding → zero filter → log2 →
    standardise → ComBat), with the simulator's informative and noise meta-features and the drug's true gene
    importance ``Σ_{q driving the drug, g ∈ q} |w_q|·|ℓ_gq| / Σ_{h ∈ q} |ℓ_hq|`` (ℓ: gene loadings).
    """
    from .simulate_rnaseq import simulate_drug_response
    from ..preprocess import preprocess_counts

    args = dict(params)
    drug_index = int(args.pop("drug_index", 0))
    sim = simulate_drug_response(**args, calibration=calibration,
                                 seed=derive_seed(seed, "table1", "simulated_drug_response"))
    if not 0 <= drug_index < len(sim.drugs):
        raise ValueError(f"drug_index {drug_index} is out of range for {len(sim.drugs)} simulated drugs")
    drug = sim.drugs[drug_index]
    pre = preprocess_counts(sim.counts_frame(), sim.gene_lengths, sim.is_coding, sim.batch)
    log.info("preprocessing:\n%s", pre.report.to_string(index=False))
    X = pre.expression
    genes = X.columns.astype(str).to_numpy()
    importance = pd.Series(0.0, index=sim.genes)
    for _, row in sim.drug_pathways[sim.drug_pathways["drug"] == drug].iterrows():
        members = sim.pathways[row["pathway"]]
        share = np.abs(sim.pathway_loadings[row["pathway"]])
        importance.loc[members] += abs(row["weight"]) * share / share.sum()
    resp = sim.response[sim.response["drug"] == drug].set_index("patient")["response"]
    meta = sim.meta_features.loc[genes]
    return {
        "X": X.to_numpy(np.float32), "y": resp.loc[X.index].to_numpy(np.float32),
        "groups": X.index.astype(str).to_numpy(), "genes": genes,
        "meta_informative": meta[list(sim.informative_meta)].to_numpy(),
        "informative_names": list(sim.informative_meta),
        "meta_noise": meta[sim.noise_meta].to_numpy(), "noise_names": list(sim.noise_meta),
        "importance": importance.loc[genes].to_numpy(np.float64), "description": f"simulated {drug}",
        "driving_pathways": sorted(sim.drug_pathways.loc[sim.drug_pathways["drug"] == drug, "pathway"]),
    }


def beat_aml_drug_response(expression: str, drug_response: str, merge_features: str, params: Mapping,
                           seed: int) -> dict:
    """Beat AML (waves 1–4) log2-CPM expression and one drug's response, MERGE driver features as meta-features.

    ``expression``: the registry's ``beataml_expression`` (genes × samples, ``display_label`` symbols);
    ``drug_response``: ``beataml_drug_response``, read by :func:`attrpriors.data.beataml.read_drug_response`
    (``params["response"]``: ``log10_ic50``, ``ic50`` or ``auc``) for ``params["drug"]``; ``merge_features``: the
    MERGE driver table (columns ``params["meta_features"]``). Genes: protein-coding genes with both expression and
    driver features (the paper's choice). Noise meta-features: as many N(0, 1) columns as informative ones. There
    is no ground-truth importance. Samples of one subject stay in one split.
    """
    from .beataml import read_drug_response

    expr = pd.read_csv(expression, sep="\t", low_memory=False)
    id_cols = ["stable_id", "display_label", "description", "biotype"]
    missing = [c for c in id_cols if c not in expr.columns]
    if missing:
        raise KeyError(f"{expression}: missing column(s) {missing} of the Beat AML expression table")
    if "protein_coding" in set(expr["biotype"]):
        expr = expr[expr["biotype"] == "protein_coding"]
    samples = [c for c in expr.columns if c not in id_cols]
    expr = expr.groupby("display_label")[samples].mean().T  # samples × genes
    resp = read_drug_response(drug_response, params["response"])
    resp = resp[resp["drug"] == params["drug"]]
    if resp.empty:
        raise ValueError(f"{drug_response}: no {params['response']} values for inhibitor {params['drug']!r}")
    per_sample = resp.groupby("sample").agg(value=("response", "mean"), subject=("subject", "first"))
    per_sample = per_sample.loc[per_sample.index.intersection(expr.index)]
    merge = pd.read_csv(merge_features)
    cols = list(params["meta_features"])
    gene_col = params.get("gene_column", "GENE")
    for c in [gene_col] + cols:
        if c not in merge.columns:
            raise KeyError(f"{merge_features}: missing column {c!r}; found {list(merge.columns)}")
    merge = merge.drop_duplicates(gene_col).set_index(gene_col)
    genes = sorted(set(expr.columns.astype(str)) & set(merge.index.astype(str)))
    if len(genes) < 10 or len(per_sample) < 10:
        raise ValueError(f"Beat AML: only {len(genes)} genes with MERGE features and {len(per_sample)} samples with "
                         f"{params['drug']} response")
    X = expr.loc[per_sample.index, genes].astype(float)
    X = (X - X.mean()) / X.std().replace(0, 1)
    informative = merge.loc[genes, cols].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    noise, noise_names = noise_meta_features(len(genes), len(cols), derive_seed(seed, "table1", "beat_aml", "noise_meta"))
    return {
        "X": X.to_numpy(np.float32), "y": per_sample["value"].to_numpy(np.float32),
        "groups": per_sample["subject"].astype(str).to_numpy(), "genes": np.array(genes),
        "meta_informative": informative, "informative_names": cols, "meta_noise": noise, "noise_names": noise_names,
        "importance": np.full(len(genes), np.nan),
        "description": f"Beat AML {params['drug']} ({len(per_sample)} samples)",
    }


def amp_ad(path: str | None, params: Mapping, seed: int) -> dict:
    """AMP-AD (controlled access) from a user-provided folder (config key ``dapr.table1.amp_ad.local.path``).

    The folder holds three tab-separated files, prepared by the user after approved download from the AD
    Knowledge Portal: ``expression.tsv`` (column ``sample`` + one column per gene, preprocessed expression),
    ``phenotype.tsv`` (``sample``, ``value`` — e.g. amyloid-β IHC — and optionally ``donor`` for donor-level
    splits) and ``meta_features.tsv`` (``gene`` + one column per AD driver meta-feature).
    """
    from .download import local_path

    root = local_path(path, "dapr.table1.amp_ad.local.path", "AMP-AD (ACT, MSBB, ROSMAP) expression and phenotypes")
    expr = read_table(root / "expression.tsv", ("sample",), complete=False).set_index("sample")
    pheno = read_table(root / "phenotype.tsv", ("sample", "value"), complete=False).set_index("sample")
    meta = read_table(root / "meta_features.tsv", ("gene",), complete=False).set_index("gene")
    samples = expr.index.intersection(pheno.index)
    genes = sorted(set(expr.columns.astype(str)) & set(meta.index.astype(str)))
    if len(samples) < 10 or len(genes) < 10:
        raise ValueError(f"{root}: only {len(samples)} samples with phenotypes and {len(genes)} genes with "
                         "meta-features")
    cols = list(params.get("meta_features") or meta.columns)
    noise, noise_names = noise_meta_features(len(genes), len(cols), derive_seed(seed, "table1", "amp_ad", "noise_meta"))
    X = expr.loc[samples, genes].astype(float)
    X = (X - X.mean()) / X.std().replace(0, 1)
    groups = pheno.loc[samples, "donor"] if "donor" in pheno.columns else pd.Series(samples, index=samples)
    return {
        "X": X.to_numpy(np.float32), "y": pheno.loc[samples, "value"].to_numpy(np.float32),
        "groups": groups.astype(str).to_numpy(), "genes": np.array(genes),
        "meta_informative": meta.loc[genes, cols].to_numpy(np.float64), "informative_names": cols,
        "meta_noise": noise, "noise_names": noise_names, "importance": np.full(len(genes), np.nan),
        "description": f"AMP-AD ({len(samples)} samples)",
    }


def fetch_merge_features(dest: str, sha256: str | None = None) -> None:
    """Download the MERGE driver-feature table (registry entry ``merge_features`` of
    :data:`attrpriors.data.download.REGISTRY`); ``sha256`` from the config overrides the registry's."""
    from .download import download

    download("merge_features", dest, sha256=sha256 or None)
