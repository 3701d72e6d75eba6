"""The RNA-seq simulators (hierarchical LDA; calibrated negative-binomial drug response): structure, the science
they encode, determinism, save/load."""

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
    # genes are expressed at airway's levels: some low-count genes with many zeros, most genes without
    zero_frac = (drug.counts == 0).mean(axis=0)
    assert (zero_frac > 0.3).mean() > 0.02
    assert (zero_frac < 0.1).mean() > 0.4


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
    # the observed counts measure those pathways' activity: the loading-signed mean of the pathway's log CPM
    # tracks it, single genes are imperfect proxies
    gi = {g: i for i, g in enumerate(drug.genes)}
    logcpm = np.log2(1 + per_million(drug.counts))
    batch = np.asarray(drug.batch)
    for b in np.unique(batch):  # the gene-wise batch effects are not the pathway's signal
        logcpm[batch == b] -= logcpm[batch == b].mean(0)
    logcpm = logcpm / np.maximum(logcpm.std(0), 1e-9)
    for p in drug.driving_pathways:
        idx = [gi[g] for g in drug.pathways[p] if drug.gene_base_mean[gi[g]] > 10]
        sign = dict(zip(drug.pathways[p], np.sign(drug.pathway_loadings[p])))
        obs = logcpm[:, idx] @ np.array([sign[drug.genes[i]] for i in idx])
        agg = np.corrcoef(obs, drug.pathway_expression[p])[0, 1]
        single = [abs(np.corrcoef(logcpm[:, i], drug.pathway_expression[p])[0, 1]) for i in idx]
        # genes shared with other pathways carry their signals too (loadings / √(number of topics))
        assert agg > 0.55 and agg > 2 * np.nanmedian(single), (p, agg, np.nanmedian(single))
        assert np.nanmedian(single) < 0.6


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
    np.testing.assert_allclose(back.gene_dispersion, drug.gene_dispersion)
    np.testing.assert_allclose(back.gene_base_mean, drug.gene_base_mean)
    for p in drug.pathways:
        np.testing.assert_allclose(back.pathway_loadings[p], drug.pathway_loadings[p])
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
    with pytest.raises(ValueError, match="samples.tsv: truncated or corrupt"):  # its checksum file no longer fits
        load_simulation(out)
    (out / ".samples.tsv.sha256").unlink()  # a file without one (edited by hand): the row counts must agree
    with pytest.raises(ValueError, match="samples.tsv has 79 rows"):
        load_simulation(out)


# ------------------------------------------------------------------------ calibration of the count model
NULL_SIGNAL = dict(n_drugs=1, n_pathways=4, n_driving_pathways=2, n_batches=1, batch_effect_sd=0.0, pathway_sd=0.0)


def _moment_dispersion(counts: np.ndarray, min_mean: float) -> tuple[np.ndarray, np.ndarray]:
    """Method-of-moments NB dispersion (var − mean) / mean² of genes with mean >= min_mean."""
    m, v = counts.mean(0), counts.var(0, ddof=1)
    keep = m >= min_mean
    return (v[keep] - m[keep]) / m[keep] ** 2, keep


def test_counts_are_negative_binomial_with_the_calibrated_dispersion():
    """Without pathway signal, batches or depth spread, each gene's counts are NB(m_g, φ_g) with
    φ_g = gene_noise × (heterogeneity × a0 + a1/m_g): the moments match, and gene_noise scales them."""
    from attrpriors.data.rnaseq_calibration import dispersion_from_trend, load_calibration

    ref = load_calibration()["datasets"]["airway"]
    for noise in (1.0, 0.25):
        sim = simulate_drug_response(n_patients=400, n_genes=400, depth_sd=0.0, gene_noise=noise, seed=3,
                                     **NULL_SIGNAL)
        expected = noise * dispersion_from_trend(sim.gene_base_mean, 16.0 * ref["a0"], ref["a1"])
        np.testing.assert_allclose(sim.gene_dispersion, expected)
        est, keep = _moment_dispersion(sim.counts, 20.0)
        ratio = np.median(est / sim.gene_dispersion[keep])
        assert 0.85 < ratio < 1.15, (noise, ratio)
    poisson = simulate_drug_response(n_patients=400, n_genes=400, depth_sd=0.0, gene_noise=0.0, seed=3,
                                     **NULL_SIGNAL)
    est, _ = _moment_dispersion(poisson.counts, 20.0)
    assert abs(np.median(est)) < 0.01  # variance = mean


def test_gene_means_follow_the_reference_data():
    """Gene means are drawn from airway's expressed genes: the simulated mean-count quantiles match."""
    from attrpriors.data.rnaseq_calibration import load_calibration

    q = np.asarray(load_calibration()["datasets"]["airway"]["log10_mean_quantiles"])
    sim = simulate_drug_response(n_patients=50, n_genes=2000, depth_sd=0.0, seed=4, **NULL_SIGNAL)
    got = np.quantile(np.log10(sim.gene_base_mean), [0.1, 0.5, 0.9])
    want = np.interp([0.1, 0.5, 0.9], np.linspace(0, 1, len(q)), q)
    np.testing.assert_allclose(got, want, atol=0.15)


def test_gene_noise_weakens_genes_as_pathway_proxies():
    """More independent noise per gene lowers a driver gene's correlation with its pathway's latent activity
    (the knob of the graph-prior sweep); the pathway signal itself stays the same."""
    med = []
    for noise in (0.0, 1.0, 4.0):
        sim = simulate_drug_response(n_patients=150, n_drugs=1, n_genes=600, n_pathways=6, n_driving_pathways=2,
                                     n_batches=1, gene_noise=noise, seed=7)
        logc = np.log2(1 + per_million(sim.counts))
        gi = {g: i for i, g in enumerate(sim.genes)}
        r = []
        for p in sim.driving_pathways:
            for g, w in zip(sim.pathways[p], sim.pathway_loadings[p]):
                x = logc[:, gi[g]]
                if x.std() > 0 and sim.gene_base_mean[gi[g]] > 20:
                    r.append(np.sign(w) * np.corrcoef(x, sim.pathway_expression[p])[0, 1])
        med.append(np.median(r))
    assert med[0] > med[1] > med[2], med
    assert med[0] > 0.5 and med[2] < 0.4, med


def test_nonlinear_response_is_not_linear_in_the_pathways():
    """The nonlinear response (threshold + interaction) keeps the same pathways and signal variance but a linear
    fit on the pathway activities explains much less of it than of the linear response; adding the threshold
    and interaction terms explains it fully."""
    kw = dict(n_patients=600, n_drugs=1, n_genes=600, n_pathways=6, n_driving_pathways=2, pathways_per_drug=2,
              noise_sd=0.0, drug_effect_sd=0.0, seed=8)
    lin = simulate_drug_response(response="linear", **kw)
    non = simulate_drug_response(response="nonlinear", **kw)
    np.testing.assert_array_equal(lin.counts, non.counts)  # same expression, only the response differs
    z = lin.pathway_expression.to_numpy()

    def r2(features, y):
        A = np.c_[np.ones(len(y)), features]
        resid = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
        return 1 - resid.var() / y.var()

    y_lin = lin.response["response"].to_numpy()
    y_non = non.response["response"].to_numpy()
    assert r2(z, y_lin) > 0.999
    assert r2(z, y_non) < 0.7
    assert r2(np.c_[np.maximum(z, 0), z[:, 0] * z[:, 1]], y_non) > 0.999
    np.testing.assert_allclose(y_non.std(), y_lin.std(), rtol=1e-6)


def test_bad_knobs_are_named():
    with pytest.raises(ValueError, match="gene_noise"):
        simulate_drug_response(n_patients=10, n_genes=300, n_pathways=2, n_driving_pathways=1, pathways_per_drug=1,
                               gene_noise=-1)
    with pytest.raises(ValueError, match="response"):
        simulate_drug_response(n_patients=10, n_genes=300, n_pathways=2, n_driving_pathways=1, pathways_per_drug=1,
                               response="quadratic")
    with pytest.raises(FileNotFoundError, match="rnaseq_calibration"):
        simulate_drug_response(n_patients=10, n_genes=300, n_pathways=2, n_driving_pathways=1, pathways_per_drug=1,
                               calibration="/nonexistent/calibration.json")


def test_pydeseq2_recovers_the_simulated_dispersion():
    """Issue 13 item 6: pydeseq2's dispersion fit (the calibration's method) on counts drawn from the simulator
    with a known dispersion recovers it: gene-wise estimates scatter around the truth (median ratio ≈ 1) and the
    fitted trend's asymptote matches gene_noise × heterogeneity × a0 of the reference."""
    from attrpriors.data.rnaseq_calibration import fit_dispersion_trend, load_calibration

    ref = load_calibration()["datasets"]["airway"]
    sim = simulate_drug_response(n_patients=60, n_genes=800, depth_sd=0.2, gene_noise=1.0, seed=9, **NULL_SIGNAL)
    counts = pd.DataFrame(sim.counts, index=sim.patients, columns=sim.genes)
    fit = fit_dispersion_trend(counts, design="~1")
    truth = pd.Series(sim.gene_dispersion, index=sim.genes).loc[fit["genes"]].to_numpy()
    high = fit["mean"] > 20
    ratio = np.median(fit["genewise"][high] / truth[high])
    assert 0.85 < ratio < 1.15, ratio
    assert abs(np.log(fit["a0"] / (16.0 * ref["a0"]))) < np.log(1.25), (fit["a0"], 16.0 * ref["a0"])
    # the trend is no constant: low-count genes are more dispersed, as in the truth
    assert fit["a1"] > 0
