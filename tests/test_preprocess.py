"""RNA-seq preprocessing: FPKM math, filters, ComBat (simulated and pasilla), splits, bad input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from attrpriors.data.simulate_rnaseq import simulate_drug_response
from attrpriors.plots import plot_pca_combat
from attrpriors.data.annotation import exon_lengths
from attrpriors.data.bundled_rnaseq import pasilla_dataset
from attrpriors.preprocess import (
    batch_silhouette,
    check_sample_sheet,
    combat,
    counts_to_fpkm,
    drop_zero_residual_variance,
    filter_protein_coding,
    filter_zero_fraction,
    log2_transform,
    pca_batch_silhouette,
    preprocess_counts,
    split_by_group,
    standardize,
    validate_counts,
)


@pytest.fixture(scope="module")
def sim():
    return simulate_drug_response(
        n_patients=90, n_drugs=2, n_genes=600, n_pathways=6, n_driving_pathways=2, n_batches=3, seed=11
    )


@pytest.fixture(scope="module")
def pasilla():
    return pasilla_dataset()


def _toy_counts():
    return pd.DataFrame([[10, 20], [0, 40]], index=["s1", "s2"], columns=["gA", "gB"])


# -------------------------------------------------------------------------------------------------- steps
def test_fpkm_by_hand():
    counts = _toy_counts()
    lengths = pd.Series({"gB": 2000, "gA": 1000})  # matched by id, not position
    fpkm = counts_to_fpkm(counts, lengths)
    # FPKM = X * 1e9 / (N * l); N = sample total (30, 40)
    expected = [[10e9 / (30 * 1000), 20e9 / (30 * 2000)], [0.0, 40e9 / (40 * 2000)]]
    np.testing.assert_allclose(fpkm.to_numpy(), expected)
    assert fpkm.loc["s2", "gB"] == pytest.approx(500_000.0)


def test_zero_fraction_boundary_is_strictly_more_than_70_percent():
    zeros7 = [0] * 7 + [1] * 3  # exactly 70 % zeros: kept
    zeros8 = [0] * 8 + [1] * 2  # 80 % zeros: dropped
    df = pd.DataFrame({"keep": zeros7, "drop": zeros8, "full": [5] * 10})
    assert filter_zero_fraction(df, 0.7).columns.tolist() == ["keep", "full"]


def test_log2_standardize_and_coding_filter():
    df = pd.DataFrame({"a": [0.0, 1.0, 3.0], "b": [7.0, 15.0, 31.0], "nc": [1.0, 2.0, 3.0]})
    lg = log2_transform(df)
    np.testing.assert_allclose(lg["a"], [0, 1, 2])
    np.testing.assert_allclose(lg["b"], [3, 4, 5])
    z = standardize(lg)
    np.testing.assert_allclose(z.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(ddof=0), 1)
    # train statistics applied to other samples
    z2 = standardize(lg.iloc[[2]], reference=lg.iloc[:2])
    np.testing.assert_allclose(z2["a"], [(2 - 0.5) / 0.5])
    kept = filter_protein_coding(df, pd.Series({"a": True, "b": True, "nc": False}))
    assert kept.columns.tolist() == ["a", "b"]


def test_pipeline_report_counts_each_step(sim):
    res = preprocess_counts(sim.counts_frame(), sim.gene_lengths, sim.is_coding, sim.batch)
    rep = res.report.set_index("step")
    assert rep.loc["input", "n_genes_out"] == 600
    assert rep.loc["protein_coding", "n_dropped"] == 60  # the simulated non-coding genes
    zero = (sim.counts[:, sim.is_coding] == 0).mean(axis=0) > 0.7  # the rarely expressed coding genes
    assert rep.loc["zero_fraction", "n_dropped"] == zero.sum()
    assert (rep["n_genes_in"] - rep["n_genes_out"] == rep["n_dropped"]).all()
    assert res.expression.shape[1] == rep.loc["combat", "n_genes_out"]
    assert set(res.expression.columns) <= set(np.asarray(sim.genes)[sim.is_coding])
    assert not res.expression.isna().any().any()
    assert res.before_combat.shape == res.expression.shape


# ------------------------------------------------------------------------------------------------- ComBat
def test_combat_lowers_batch_silhouette_on_simulated_batches(sim):
    res = preprocess_counts(sim.counts_frame(), sim.gene_lengths, sim.is_coding, sim.batch)
    before = batch_silhouette(res.before_combat, sim.batch, n_components=2)
    after = batch_silhouette(res.expression, sim.batch, n_components=2)
    assert before > 0.4  # the simulated gene-wise batch effects separate the batches
    assert after < 0.1 and after < before - 0.3
    # the biological signal survives: driving-pathway expression still measurable after correction
    gi = {g: i for i, g in enumerate(res.expression.columns)}
    p = sim.driving_pathways[0]
    sign = dict(zip(sim.pathways[p], np.sign(sim.pathway_loadings[p])))
    genes = [g for g in sim.pathways[p] if g in gi]
    score = (res.expression[genes] * np.array([sign[g] for g in genes])).mean(axis=1)  # loading-signed mean
    assert np.corrcoef(score, sim.pathway_expression[p])[0, 1] > 0.7


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::PendingDeprecationWarning")
def test_zero_residual_variance_gene_breaks_pycombat_unless_dropped():
    from inmoose.pycombat import pycombat_norm

    rng = np.random.default_rng(0)
    batch = pd.Series(["b1"] * 6 + ["b2"] * 6, index=[f"s{i}" for i in range(12)])
    b2 = (batch == "b2").to_numpy()
    x = pd.DataFrame(rng.normal(size=(12, 40)), index=batch.index, columns=[f"g{i}" for i in range(40)])
    x.loc[b2] += rng.normal(2.0, 0.5, size=40)  # gene-wise batch shifts
    x["g0"] = np.where(b2, 2.0, 1.0)  # explained by batch alone: zero residual variance
    raw = pycombat_norm(x.T, batch.tolist())
    assert np.isnan(np.asarray(raw, dtype=float)).all()  # the trap: one gene makes everything NaN
    kept, dropped = drop_zero_residual_variance(x, batch)
    assert dropped == ["g0"]
    out = combat(kept, batch)
    assert not out.isna().any().any()
    shift_before = (kept[b2].mean() - kept[~b2].mean()).abs().mean()
    shift_after = (out[b2].mean() - out[~b2].mean()).abs().mean()
    assert shift_before > 1.5 and shift_after < 0.5  # EB shrinkage leaves a little


def test_combat_refuses_confounded_covariate():
    idx = [f"s{i}" for i in range(6)]
    batch = pd.Series(["a", "a", "a", "b", "b", "b"], index=idx)
    x = pd.DataFrame(np.random.default_rng(1).normal(size=(6, 5)), index=idx)
    with pytest.raises(ValueError, match="confounded with batch"):
        combat(
            x, batch, covariates=pd.DataFrame({"cond": ["t", "t", "t", "u", "u", "u"]}, index=idx), source="samples.tsv"
        )


def test_pasilla_exon_lengths_and_counts(pasilla):
    assert pasilla.counts.shape[0] == 7
    assert pasilla.counts.shape[1] + pasilla.info["n_genes_without_length_dropped"] == 14_599
    assert (pasilla.gene_lengths > 0).all()
    assert pasilla.gene_lengths.index.equals(pasilla.counts.columns)
    assert sorted(pasilla.samples["type"].value_counts().tolist()) == [3, 4]
    # FBgn0031208: independent re-computation from the GFF text
    gff = pasilla.info["gff"]
    total = 0
    with open(gff) as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if f[2] == "exonic_part" and 'gene_id "FBgn0031208"' in f[8]:
                total += int(f[4]) - int(f[3]) + 1
    assert total > 0 and pasilla.gene_lengths["FBgn0031208"] == total
    assert exon_lengths(gff, feature="exonic_part")["FBgn0031208"] == total


def test_dexseq_exonic_parts_are_disjoint_so_union_equals_sum():
    """One exon-length parser (union of intervals) for GTF and DEXSeq GFF: on pasilla's GFF, whose exonic parts
    do not overlap, it equals the plain sum of part lengths for every gene."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("inmoose.data.pasilla")
    gff = Path(list(spec.submodule_search_locations)[0]) / "Dmel.BDGP5.25.62.DEXSeq.chr.gff"
    raw = pd.read_csv(gff, sep="\t", header=None, comment="#", usecols=[2, 3, 4, 8], names=["type", "start", "end", "attr"])
    raw = raw[raw["type"] == "exonic_part"]
    gene = raw["attr"].str.extract(r'gene_id "([^"]+)"')[0]
    plain_sum = (raw["end"] - raw["start"] + 1).groupby(gene).sum()
    union = exon_lengths(gff, feature="exonic_part")
    pd.testing.assert_series_equal(union.sort_index(), plain_sum.sort_index().astype("int64"), check_names=False)


def test_combat_lowers_batch_silhouette_on_pasilla(pasilla, tmp_path):
    res = preprocess_counts(
        pasilla.counts,
        pasilla.gene_lengths,
        None,
        pasilla.samples["type"],
        covariates=pasilla.samples[["condition"]],
        counts_source="pasilla",
    )
    df = pca_batch_silhouette(res.before_combat, res.expression, pasilla.samples["type"], pasilla.samples["condition"])
    sil = df.groupby("stage")["silhouette"].first()
    assert sil["before ComBat"] > 0.2
    assert sil["after ComBat"] < sil["before ComBat"] - 0.2
    assert set(df.columns) >= {"stage", "sample", "PC1", "PC2", "batch", "condition", "silhouette"}
    assert len(df) == 14
    path = tmp_path / "fig" / "pasilla_pca_combat.png"
    plot_pca_combat(df, path)
    assert path.stat().st_size > 10_000
    assert list(path.parent.iterdir()) == [path]  # no temporary left behind


# ----------------------------------------------------------------------------------------------- splits
def test_split_by_group_keeps_patients_together():
    groups = np.repeat([f"P{i:02d}" for i in range(25)], 4)  # 25 patients × 4 drugs
    sp = split_by_group(groups, test_frac=0.2, val_frac=0.2, seed=3)
    all_idx = np.concatenate(list(sp.values()))
    assert sorted(all_idx.tolist()) == list(range(100))
    gsets = {k: set(groups[v]) for k, v in sp.items()}
    assert (
        not (gsets["train"] & gsets["val"])
        and not (gsets["train"] & gsets["test"])
        and not (gsets["val"] & gsets["test"])
    )
    assert len(gsets["test"]) == 5 and len(gsets["val"]) == 4 and len(gsets["train"]) == 16
    again = split_by_group(groups, test_frac=0.2, val_frac=0.2, seed=3)
    assert all(np.array_equal(sp[k], again[k]) for k in sp)
    other = split_by_group(groups, test_frac=0.2, val_frac=0.2, seed=4)
    assert not np.array_equal(sp["test"], other["test"])
    with pytest.raises(ValueError, match="cannot give"):
        split_by_group(["a", "b"], 0.5, 0.5)


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "mutate,pattern",
    [
        (lambda d: d.assign(gA=[-1, 0]), "counts.tsv: 1 negative count"),
        (lambda d: d.assign(gA=[1.5, 0]), "counts.tsv: 1 non-integer count"),
        (lambda d: d.assign(gA=[np.nan, 0]), "counts.tsv: 1 NaN count"),
        (lambda d: d.set_axis(["gA", "gA"], axis=1), "counts.tsv: 1 duplicate gene id"),
        (lambda d: d.set_axis(["s1", "s1"], axis=0), "counts.tsv: 1 duplicate sample id"),
    ],
)
def test_bad_counts_are_named(mutate, pattern):
    with pytest.raises(ValueError, match=re.escape(pattern)):
        validate_counts(mutate(_toy_counts()), source="counts.tsv")


def test_genes_without_lengths_are_named():
    counts = pd.DataFrame(np.ones((4, 3), int), index=list("abcd"), columns=["g1", "g2", "g3"])
    with pytest.raises(ValueError, match=re.escape("genes.tsv: 1 gene(s) without length, e.g. ['g3']")):
        preprocess_counts(counts, pd.Series({"g1": 100, "g2": 200}), None, None, genes_source="genes.tsv")


def test_single_sample_batch_is_named():
    counts = pd.DataFrame(np.arange(12).reshape(4, 3) + 1, index=list("abcd"), columns=["g1", "g2", "g3"])
    batch = pd.Series(["x", "x", "x", "y"], index=list("abcd"))
    with pytest.raises(ValueError, match=r"samples.tsv: batch\(es\) \['y'\] have a single sample \(\['d'\]\)"):
        preprocess_counts(counts, np.full(3, 1000), None, batch, samples_source="samples.tsv")


def test_sample_sheet_mismatch_is_named():
    counts = pd.DataFrame(np.ones((3, 2), int), index=["s1", "s2", "s3"], columns=["g1", "g2"])
    sheet = pd.DataFrame({"sample": ["s1", "s2", "s4"], "batch": ["a", "a", "b"]})
    with pytest.raises(ValueError, match="sample sheet samples.tsv does not match count matrix counts.npz"):
        check_sample_sheet(counts, sheet, counts_source="counts.npz", sheet_source="samples.tsv")
    ok = check_sample_sheet(counts, pd.DataFrame({"sample": ["s3", "s1", "s2"], "batch": list("bab")}))
    assert ok.index.tolist() == ["s1", "s2", "s3"]
    with pytest.raises(ValueError, match="samples.tsv: no column 'sample'"):
        check_sample_sheet(counts, sheet.rename(columns={"sample": "id"}), sheet_source="samples.tsv")
    # a batch vector of the wrong length is also named
    with pytest.raises(ValueError, match="samples.tsv: batch has"):
        preprocess_counts(counts, np.full(2, 1000), None, ["a", "a"], samples_source="samples.tsv")
