"""The data sets of DAPr's Table 1 (Weinberger et al. 2020), each as a dict of arrays that
:func:`attrpriors.experiments.dapr.table1_data` z-scores, splits and saves:

* :func:`simulated_drug_response` — the embedded default: one drug of the RNA-seq simulator, with its truth;
* :func:`beat_aml_drug_response` — Beat AML expression and one inhibitor's response, MERGE driver meta-features;
* :func:`local_drug_response` — a user-provided folder (AMP-AD, controlled access), checked by
  :func:`read_local_folder`;
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

__all__ = ["beat_aml_drug_response", "fetch_merge_features", "local_drug_response", "noise_meta_features",
           "read_local_folder", "simulated_drug_response"]

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


#: the files of a local Table 1 folder (source: local) and the columns each must have
LOCAL_FILES = {"expression.tsv": ("sample",), "phenotype.tsv": ("sample", "value"), "meta_features.tsv": ("gene",)}
LOCAL_DESCRIPTION = "this data set (a folder of expression.tsv, phenotype.tsv, meta_features.tsv)"
MIN_LOCAL_ROWS = 10  # fewest samples with a phenotype, and genes with meta-features, a local folder must share
_SHOWN = 3  # ids quoted in a message


def _examples(items) -> str:
    items = [str(i) for i in items]
    return ", ".join(repr(i) for i in items[:_SHOWN]) + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _not_finite(frame: pd.DataFrame, path, what: str) -> list[str]:
    """A problem naming the cells of ``frame`` that are not finite numbers (text, empty, nan, inf)."""
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if not bad.any():
        return []
    r, c = np.argwhere(bad)[0]
    return [f"{path}: {int(bad.sum())} {what} cell(s) are not finite numbers, e.g. row {frame.index[r]!r}, "
            f"column {frame.columns[c]!r} = {frame.iat[r, c]!r} (fill or remove them)"]


def read_local_folder(path: str | None, config_key: str, meta_features=None) -> tuple[dict, list[str]]:
    """Read and check a local Table 1 folder (``source: local``, e.g. AMP-AD).

    The folder holds three tab-separated files, prepared by the user (AMP-AD: after approved download from the AD
    Knowledge Portal): ``expression.tsv`` (column ``sample`` + one column per gene, preprocessed expression),
    ``phenotype.tsv`` (``sample``, ``value`` — e.g. amyloid-β IHC — and optionally ``donor`` for donor-level
    splits) and ``meta_features.tsv`` (``gene`` + one column per meta-feature).

    Returns ``(frames, problems)``: frames ``expression`` (samples × genes), ``phenotype``, ``meta_features``
    (genes × meta-features), restricted to the samples and genes the files share, and ``root``; ``problems`` is a
    list of messages, each naming the file and what is wrong (missing file, unparsable table, missing column,
    duplicated ids, cells that are not finite numbers, meta-features ``meta_features`` names that are not columns,
    fewer than ``MIN_LOCAL_ROWS`` shared samples or genes). The frames are complete only when there are no problems.
    Raises FileNotFoundError if ``config_key`` is unset or names no path.
    """
    import csv

    from .download import local_path

    root = local_path(path, config_key, LOCAL_DESCRIPTION)
    problems: list[str] = []
    if not root.is_dir():
        return {"root": root}, [f"{root} (config key `{config_key}`) is a file: it must be a folder holding "
                                f"{', '.join(LOCAL_FILES)}"]
    frames: dict = {"root": root}
    for name, required in LOCAL_FILES.items():
        f = root / name
        if not f.is_file():
            present = sorted(p.name for p in root.iterdir())
            problems.append(f"{f}: missing (the folder holds {_examples(present) if present else 'nothing'}); "
                            f"it needs {', '.join(LOCAL_FILES)} (see attrpriors.data.drug_response.read_local_folder)")
            continue
        try:
            with f.open(newline="", encoding="utf-8") as fh:
                header = next(csv.reader(fh, delimiter="\t"), [])
            df = pd.read_csv(f, sep="\t", dtype={required[0]: str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            problems.append(f"{f}: not a tab-separated UTF-8 table ({type(err).__name__}: {str(err).strip()})")
            continue
        dup_cols = sorted({c for c in header if header.count(c) > 1})
        if dup_cols:
            problems.append(f"{f}: column(s) {_examples(dup_cols)} appear more than once in the header")
        missing = [c for c in required if c not in df.columns]
        if missing:
            hint = " (is it tab-separated?)" if len(df.columns) == 1 else ""
            problems.append(f"{f}: no column {_examples(missing)}{hint}; its columns: {_examples(list(df.columns))}")
            continue
        ids = df[required[0]]
        if ids.isna().any():
            problems.append(f"{f}: {int(ids.isna().sum())} row(s) have an empty {required[0]!r}")
        dups = ids[ids.duplicated()].unique()
        if len(dups):
            problems.append(f"{f}: {required[0]} {_examples(dups)} appear(s) more than once")
        frames[name] = df.dropna(subset=[required[0]]).drop_duplicates(required[0]).set_index(required[0])
    if len(frames) < 1 + len(LOCAL_FILES):
        return frames, problems
    expr, pheno, meta = (frames.pop(n) for n in LOCAL_FILES)
    expr.columns = expr.columns.astype(str)
    meta.index = meta.index.astype(str)
    cols = list(meta_features or meta.columns)
    unknown = [c for c in cols if c not in meta.columns]
    if unknown:
        problems.append(f"{config_key.rsplit('.', 1)[0]}.meta_features names {_examples(unknown)}, not column(s) of "
                        f"{root / 'meta_features.tsv'} (its columns: {_examples(list(meta.columns))})")
        cols = [c for c in cols if c in meta.columns]
    if not cols:
        problems.append(f"{root / 'meta_features.tsv'}: no meta-feature column besides 'gene'")
    samples = expr.index.intersection(pheno.index)
    genes = sorted(set(expr.columns) & set(meta.index))
    if len(samples) < MIN_LOCAL_ROWS:
        problems.append(f"{root}: {len(samples)} sample(s) are in both expression.tsv and phenotype.tsv (at least "
                        f"{MIN_LOCAL_ROWS} needed); e.g. expression has {_examples(list(expr.index))}, phenotype "
                        f"{_examples(list(pheno.index))}")
    if len(genes) < MIN_LOCAL_ROWS:
        problems.append(f"{root}: {len(genes)} gene(s) are both columns of expression.tsv and rows of "
                        f"meta_features.tsv (at least {MIN_LOCAL_ROWS} needed); e.g. expression has "
                        f"{_examples([c for c in expr.columns])}, meta_features {_examples(list(meta.index))}")
    expr, pheno, meta = expr.loc[samples, genes], pheno.loc[samples], meta.loc[genes, cols]
    problems += _not_finite(expr, root / "expression.tsv", "expression")
    problems += _not_finite(pheno[["value"]], root / "phenotype.tsv", "value")
    problems += _not_finite(meta, root / "meta_features.tsv", "meta-feature")
    if "donor" in pheno.columns and pheno["donor"].isna().any():
        problems.append(f"{root / 'phenotype.tsv'}: {int(pheno['donor'].isna().sum())} sample(s) have an empty "
                        "'donor' (fill it, or drop the column to split by sample)")
    frames.update(expression=expr, phenotype=pheno, meta_features=meta)
    return frames, problems


def local_drug_response(path: str | None, params: Mapping, seed: int,
                        config_key: str = "dapr.table1.amp_ad.local.path") -> dict:
    """A Table 1 data set from a user-provided folder (``source: local``; AMP-AD is controlled access), read and
    checked by :func:`read_local_folder`; ValueError listing every problem of the folder."""
    f, problems = read_local_folder(path, config_key, params.get("meta_features"))
    if problems:
        raise ValueError(f"{len(problems)} problem(s) with the folder given by `{config_key}`:\n  - "
                         + "\n  - ".join(problems))
    expr, pheno, meta = f["expression"], f["phenotype"], f["meta_features"]
    samples, genes, cols = list(expr.index), list(expr.columns), list(meta.columns)
    noise, noise_names = noise_meta_features(len(genes), len(cols), derive_seed(seed, "table1", "amp_ad", "noise_meta"))
    X = expr.astype(float)
    X = (X - X.mean()) / X.std().replace(0, 1)
    groups = pheno["donor"] if "donor" in pheno.columns else pd.Series(samples, index=samples)
    return {
        "X": X.to_numpy(np.float32), "y": pheno["value"].astype(float).to_numpy(np.float32),
        "groups": groups.astype(str).to_numpy(), "genes": np.array(genes),
        "meta_informative": meta.astype(float).to_numpy(np.float64), "informative_names": cols,
        "meta_noise": noise, "noise_names": noise_names, "importance": np.full(len(genes), np.nan),
        "description": f"local folder {f['root']} ({len(samples)} samples)",
    }


def fetch_merge_features(dest: str, sha256: str | None = None) -> None:
    """Download the MERGE driver-feature table (registry entry ``merge_features`` of
    :data:`attrpriors.data.download.REGISTRY`); ``sha256`` from the config overrides the registry's."""
    from .download import download

    download("merge_features", dest, sha256=sha256 or None)
