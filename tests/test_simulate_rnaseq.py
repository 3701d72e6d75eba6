"""The hierarchical LDA simulators: structure, the science they encode, determinism, save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from attrpriors.data.simulate_rnaseq import (
    SIMU_SETTINGS,
    DrugResponseSimulation,
    LDASimulation,
    load_simulation,
    per_million,
    save_simulation,
    simu1,
    simu2,
    simulate_drug_response,
    simulate_lda,
    simulate_setting,
)
from attrpriors.enrichment import load_gene_sets

SMALL = dict(n_classes=4, n_samples_per_class=60, n_genes=400, genes_per_pathway=10)


@pytest.fixture(scope="module")
def s1() -> LDASimulation:
    return simu1(seed=0, **SMALL)


@pytest.fixture(scope="module")
def s2() -> LDASimulation:
    return simu2(seed=0, **SMALL)


@pytest.fixture(scope="module")
def drug() -> DrugResponseSimulation:
    return simulate_drug_response(
        n_patients=80, n_drugs=4, n_genes=600, n_pathways=8, n_driving_pathways=3, n_batches=3, seed=5
    )


# ------------------------------------------------------------------------------------------ SIMU generator
def test_simu1_structure(s1):
    n = SMALL["n_classes"] * SMALL["n_samples_per_class"]
    assert s1.counts.shape == (n, 400)
    assert np.all(s1.counts.sum(axis=1) == 1_500_000)  # Multinomial(total, θ) then within pathways
    np.testing.assert_allclose(s1.per_million().sum(axis=1), 1e6, rtol=1e-5)
    assert np.bincount(s1.labels).tolist() == [60] * 4
    # SIMU1: disjoint pathways of 10 genes tiling all genes
    allg = np.concatenate(s1.pathway_genes)
    assert len(s1.pathway_genes) == 40 and len(allg) == 400 and len(np.unique(allg)) == 400
    # ground truth of a class = genes of its own pathways; classes own distinct pathways
    assert len(np.unique(s1.class_pathways)) == s1.class_pathways.size
    for c in range(4):
        expected = np.sort(np.concatenate([s1.pathway_genes[p] for p in s1.class_pathways[c]]))
        np.testing.assert_array_equal(np.flatnonzero(s1.ground_truth[c]), expected)


def test_simu2_pathways_overlap(s2):
    allg = np.concatenate(s2.pathway_genes)
    assert len(s2.pathway_genes) == 80  # n_genes // 5, the paper's 3,000 / 15,000
    assert len(allg) > len(np.unique(allg))  # some gene in several pathways
    assert all(len(p) == 10 for p in s2.pathway_genes)


def test_class_pathways_enriched_in_class_samples(s1):
    """α_c doubles a class's own pathways, so their read share doubles in that class's samples."""
    member = s1.membership().astype(float)
    share = (s1.counts @ member.T) / s1.counts.sum(axis=1, keepdims=True)
    for c in range(4):
        own = s1.class_pathways[c]
        ratio = share[s1.labels == c][:, own].mean() / share[s1.labels != c][:, own].mean()
        assert 1.7 < ratio < 2.4, (c, ratio)


@pytest.mark.parametrize("which,min_precision", [("s1", 0.95), ("s2", 0.75)])
def test_ground_truth_recoverable_by_t_test(request, which, min_precision):
    sim = request.getfixturevalue(which)
    x = np.log2(sim.per_million() + 1)
    for c in range(4):
        gt = sim.ground_truth[c]
        t = np.nan_to_num(stats.ttest_ind(x[sim.labels == c], x[sim.labels != c]).statistic)
        top = np.argsort(-t)[: gt.sum()]
        assert gt[top].mean() >= min_precision, (which, c, gt[top].mean())


def test_lda_determinism():
    a = simulate_lda(3, 10, 12, 5, False, 60, seed=7)
    b = simulate_lda(3, 10, 12, 5, False, 60, seed=7)
    c = simulate_lda(3, 10, 12, 5, False, 60, seed=8)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.counts, c.counts)


def test_lda_argument_errors():
    with pytest.raises(ValueError, match="n_pathways\\*genes_per_pathway <= n_genes"):
        simulate_lda(2, 5, 20, 10, False, 100)
    with pytest.raises(ValueError, match="pathways_per_class"):
        simulate_lda(2, 5, 10, 5, False, 100, pathways_per_class=6)
    with pytest.raises(KeyError, match="SIMU3"):
        simulate_setting("SIMU3")


def test_settings_presets_match_paper():
    assert SIMU_SETTINGS["SIMU1"]["n_pathways"] == 1500 and not SIMU_SETTINGS["SIMU1"]["overlapping"]
    assert SIMU_SETTINGS["SIMU2"]["n_pathways"] == 3000 and SIMU_SETTINGS["SIMU2"]["overlapping"]
    for s in SIMU_SETTINGS.values():
        assert (s["n_classes"], s["n_samples_per_class"], s["n_genes"]) == (33, 300, 15000)
    small = simulate_setting("simu1", n_classes=2, n_samples_per_class=5, n_genes=100, n_pathways=10)
    assert small.counts.shape == (10, 100)


def test_per_million_handles_empty_rows():
    x = np.array([[0, 0], [1, 3]])
    np.testing.assert_allclose(per_million(x), [[0, 0], [250_000, 750_000]])


# -------------------------------------------------------------------------------- drug-response generator
def test_drug_uses_real_kegg_genes_and_memberships(drug):
    kegg = load_gene_sets("KEGG_2021_Human")
    assert len(drug.pathways) == 8
    for term, genes in drug.pathways.items():
        assert set(genes) == set(kegg[term])  # whole, real pathways
    assert set(drug.driving_pathways) <= set(drug.pathways) and len(drug.driving_pathways) == 3
    assert len(set(drug.genes)) == 600
    assert not any(g.startswith("SIMGENE") for g in drug.genes)
    assert (~drug.is_coding).sum() == 60
    kegg_genes = {g for v in kegg.values() for g in v}
    assert not (set(drug.genes[~drug.is_coding]) & kegg_genes)  # non-coding genes are not in KEGG
    assert drug.gene_lengths.min() >= 200 and drug.gene_lengths.max() <= 50_000


def test_drug_shapes_and_batches(drug):
    assert drug.counts.shape == (80, 600) and drug.counts.dtype == np.int32
    assert drug.response.shape == (80 * 4, 3)
    assert sorted(pd.Series(drug.batch).value_counts().tolist()) == [26, 27, 27]
    assert set(drug.sample_sheet().columns) == {"patient", "batch"}
    # some rarely expressed genes for the zero filter, most genes expressed
    zero_frac = (drug.counts == 0).mean(axis=0)
    assert 0.02 < (zero_frac > 0.7).mean() < 0.2


def test_drug_batch_effect_is_gene_wise(drug):
    cpm = np.log2(per_million(drug.counts) / drug.gene_lengths * 1e3 + 1)
    expressed = (drug.counts > 0).mean(axis=0) > 0.9
    b = np.asarray(drug.batch)
    diff = cpm[b == "batch1"][:, expressed].mean(0) - cpm[b == "batch2"][:, expressed].mean(0)
    assert diff.std() > 0.4  # gene-wise multiplicative factors exp(N(0, 0.5)) differ between batches


def test_drug_response_follows_driving_pathways(drug):
    wide = drug.response.pivot(index="patient", columns="drug", values="response")
    for d in drug.drugs:
        w = drug.drug_pathways[drug.drug_pathways["drug"] == d]
        pred = drug.pathway_expression[w["pathway"].tolist()].to_numpy() @ w["weight"].to_numpy()
        assert np.corrcoef(pred, wide.loc[drug.patients, d])[0, 1] ** 2 > 0.6
    # the observed counts measure those pathways' expression
    gi = {g: i for i, g in enumerate(drug.genes)}
    cpm = per_million(drug.counts)
    for p in drug.driving_pathways:
        obs = np.log2(1 + cpm[:, [gi[g] for g in drug.pathways[p]]].mean(axis=1))
        assert np.corrcoef(obs, drug.pathway_expression[p])[0, 1] > 0.9


def test_drug_ground_truth_importance(drug):
    gi = {g: i for i, g in enumerate(drug.genes)}
    driving = np.zeros(len(drug.genes), bool)
    for p in drug.driving_pathways:
        driving[[gi[g] for g in drug.pathways[p]]] = True
    np.testing.assert_array_equal(drug.gene_importance > 0, driving)


def test_drug_graph_follows_driving_pathways(drug):
    e, r = drug.graph_edges, drug.random_graph_edges
    assert len(e) == len(r) > 0
    for edges in (e, r):
        assert (edges[:, 0] < edges[:, 1]).all()  # no self loops, canonical order
        assert len({tuple(x) for x in edges.tolist()}) == len(edges)  # no duplicates
    gi = {g: i for i, g in enumerate(drug.genes)}
    sets = [{gi[g] for g in drug.pathways[p]} for p in drug.driving_pathways]

    def within(edges):
        return np.mean([any(a in s and b in s for s in sets) for a, b in edges.tolist()])

    assert within(e) >= 0.8 - 0.02  # noise_edge_frac = 0.2
    assert within(r) < 0.1
    lap = drug.graph_laplacian()
    np.testing.assert_allclose(np.asarray(lap.sum(axis=1)).ravel(), 0, atol=1e-12)


def test_drug_meta_features_informative_vs_noise(drug):
    driver = drug.gene_importance > 0
    assert drug.informative_meta == ["hubness", "mutation_freq", "cnv"]
    assert drug.noise_meta == ["noise_1", "noise_2", "noise_3"]
    for m in drug.informative_meta:
        assert roc_auc_score(driver, drug.meta_features[m]) > 0.65, m
    for m in drug.noise_meta:
        assert abs(roc_auc_score(driver, drug.meta_features[m]) - 0.5) < 0.1, m


def test_drug_determinism():
    kw = dict(n_patients=12, n_drugs=2, n_genes=300, n_pathways=4, n_driving_pathways=2, n_batches=2)
    a = simulate_drug_response(seed=1, **kw)
    b = simulate_drug_response(seed=1, **kw)
    c = simulate_drug_response(seed=2, **kw)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.genes, b.genes)
    np.testing.assert_array_equal(a.graph_edges, b.graph_edges)
    pd.testing.assert_frame_equal(a.response, b.response)
    pd.testing.assert_frame_equal(a.meta_features, b.meta_features)
    assert not np.array_equal(a.counts, c.counts)


def test_drug_too_many_pathways_is_a_clear_error():
    with pytest.raises(ValueError, match="increase n_genes or reduce n_pathways"):
        simulate_drug_response(n_patients=4, n_genes=100, n_pathways=50)


# ------------------------------------------------------------------------------------------- save / load
def test_save_load_roundtrip_drug(drug, tmp_path):
    out = tmp_path / "sim"
    save_simulation(drug, out)
    assert {p.name for p in out.iterdir()} >= {
        "counts.npz",
        "genes.tsv",
        "samples.tsv",
        "response.tsv",
        "graph_edges.tsv",
        "random_graph_edges.tsv",
        "meta_features.tsv",
        "drug_pathways.tsv",
        "pathways.tsv",
        "truth.json",
    }
    back = load_simulation(out)
    assert isinstance(back, DrugResponseSimulation)
    np.testing.assert_array_equal(back.counts, drug.counts)
    np.testing.assert_array_equal(back.genes, drug.genes)
    np.testing.assert_array_equal(back.is_coding, drug.is_coding)
    np.testing.assert_array_equal(back.graph_edges, drug.graph_edges)
    np.testing.assert_array_equal(back.random_graph_edges, drug.random_graph_edges)
    np.testing.assert_allclose(back.gene_importance, drug.gene_importance)
    assert back.pathways == drug.pathways
    assert back.informative_meta == drug.informative_meta
    pd.testing.assert_frame_equal(back.response, drug.response, check_dtype=False)
    np.testing.assert_allclose(back.meta_features.to_numpy(), drug.meta_features.to_numpy())
    # overwrite in place leaves one complete directory and no temporaries
    save_simulation(drug, out)
    assert [p.name for p in tmp_path.iterdir()] == ["sim"]


def test_save_load_roundtrip_lda(tmp_path):
    sim = simulate_lda(2, 5, 6, 5, True, 40, seed=3)
    save_simulation(sim, tmp_path / "lda")
    back = load_simulation(tmp_path / "lda")
    assert isinstance(back, LDASimulation)
    np.testing.assert_array_equal(back.counts, sim.counts)
    np.testing.assert_array_equal(back.ground_truth, sim.ground_truth)
    assert all(np.array_equal(a, b) for a, b in zip(back.pathway_genes, sim.pathway_genes))
    assert back.params == sim.params


def test_load_errors_name_the_file(drug, tmp_path):
    with pytest.raises(FileNotFoundError, match="truth.json"):
        load_simulation(tmp_path / "missing")
    out = tmp_path / "sim"
    save_simulation(drug, out)
    pd.read_csv(out / "samples.tsv", sep="\t").iloc[:-1].to_csv(out / "samples.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match="samples.tsv has 79 rows"):
        load_simulation(out)
