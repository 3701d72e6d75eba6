"""Gene set libraries, GSEA prerank and ORA — offline, with the network blocked."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from attrpriors.enrichment import (
    bh_fdr,
    bundled_libraries,
    filter_gene_sets,
    gsea_prerank,
    load_gene_sets,
    ora,
    read_gmt,
    write_gmt,
)


@pytest.fixture
def no_network(monkeypatch):
    """Make every outgoing connection (and name lookup) fail loudly."""

    def refuse(*args, **kwargs):
        raise RuntimeError(f"network access attempted during an offline test: {args[1:] if args else kwargs}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield


@pytest.fixture(scope="module")
def kegg():
    return load_gene_sets("KEGG_2021_Human", source="bundled")


def test_network_is_really_blocked(no_network):
    with pytest.raises(RuntimeError, match="network access attempted"):
        socket.create_connection(("maayanlab.cloud", 443), timeout=1)
    with pytest.raises(RuntimeError, match="network access attempted"):
        socket.socket().connect(("127.0.0.1", 9))


def test_load_bundled_kegg(no_network, kegg):
    assert "KEGG_2021_Human" in bundled_libraries()
    assert len(kegg) == 320
    assert "ABC transporters" in kegg
    assert "ABCA2" in kegg["ABC transporters"]
    sizes = [len(v) for v in kegg.values()]
    assert min(sizes) >= 5 and max(sizes) <= 600
    assert all(len(v) == len(set(v)) for v in kegg.values())


def test_missing_library_lists_bundled_ones(no_network):
    with pytest.raises(FileNotFoundError, match="KEGG_2019_Human.*KEGG_2021_Human"):
        load_gene_sets("KEGG_2019_Human")


def test_gmt_roundtrip_and_weights(tmp_path):
    p = tmp_path / "lib.gmt"
    p.write_text("SET_A\tdesc\tG1\tG2,1.0\tG2\t\nSET_B\t\tG3\n")
    sets = read_gmt(p)
    assert sets == {"SET_A": ["G1", "G2"], "SET_B": ["G3"]}
    out = tmp_path / "out.gmt"
    write_gmt(sets, out)
    assert load_gene_sets(source=out) == sets
    with pytest.raises(FileNotFoundError, match="nope.gmt"):
        load_gene_sets(source=tmp_path / "nope.gmt")


def test_filter_gene_sets():
    sets = {"a": ["x", "y", "z"], "b": ["x"], "c": ["q", "r"]}
    assert filter_gene_sets(sets, universe=["x", "y", "q"], min_size=2) == {"a": ["x", "y"]}
    assert filter_gene_sets(sets, max_size=1) == {"b": ["x"]}


def test_bh_matches_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan])
    got = bh_fdr(p)
    ref = multipletests(p[:4], method="fdr_bh")[1]
    np.testing.assert_allclose(got[:4], ref)
    assert np.isnan(got[4])
    # by hand: sorted p 0.01, 0.03, 0.04, 0.2 -> 0.04, 0.0533, 0.0533, 0.2
    np.testing.assert_allclose(got[:4], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])


def _subset(kegg, n_sets=40):
    names = sorted(t for t, g in kegg.items() if 15 <= len(g) <= 120)[:n_sets]
    return {t: kegg[t] for t in names}


def test_gsea_prerank_finds_planted_pathway_offline(no_network, kegg):
    sets = _subset(kegg)
    target = sorted(sets)[7]
    universe = sorted({g for v in sets.values() for g in v})
    rng = np.random.default_rng(0)
    scores = pd.Series(rng.normal(size=len(universe)), index=universe)
    scores[sets[target]] += 3.0  # the target pathway's genes on top of the ranking
    # a permutation p-value cannot go below 1/(permutations+1): with 40 sets, BH needs > 800 permutations
    res = gsea_prerank(scores, sets, permutations=1000, seed=1, min_size=10, max_size=500)
    assert list(res.columns[:6]) == ["term", "es", "nes", "pval", "fdr_bh", "fdr_gsea"]
    assert res.iloc[0]["term"] == target
    assert res.iloc[0]["nes"] > 0 and res.iloc[0]["fdr_bh"] < 0.05
    assert res.iloc[0]["pval"] >= 1 / 1001  # permutation p-values are floored, never 0
    np.testing.assert_allclose(res["fdr_bh"], multipletests(res["pval"], method="fdr_bh")[1])
    # unrelated pathways that share few genes with the target are not significant
    tgt = set(sets[target])
    unrelated = [t for t in sets if t != target and len(tgt & set(sets[t])) / len(sets[t]) < 0.1]
    sig = res[res["term"].isin(unrelated) & (res["fdr_bh"] < 0.05)]
    assert len(sig) <= 0.1 * len(unrelated)
    # same seed, same answer
    res2 = gsea_prerank(scores, sets, permutations=1000, seed=1, min_size=10, max_size=500)
    pd.testing.assert_frame_equal(res, res2)


def test_gsea_refuses_library_names_and_bad_scores(no_network, kegg):
    s = pd.Series([1.0, 2.0], index=["A", "B"])
    with pytest.raises(TypeError, match="fetch an Enrichr library from the web"):
        gsea_prerank(s, "KEGG_2021_Human")
    with pytest.raises(ValueError, match="duplicate genes"):
        gsea_prerank(pd.Series([1.0, 2.0], index=["A", "A"]), {"x": ["A"]})
    with pytest.raises(ValueError, match="NaN"):
        gsea_prerank(pd.Series([1.0, np.nan], index=["A", "B"]), {"x": ["A"]})
    with pytest.raises(ValueError, match="no gene set has between"):
        gsea_prerank(s, {"x": ["C", "D"]}, min_size=1)


def test_ora_finds_planted_pathway_offline(no_network, kegg):
    universe = sorted({g for v in kegg.values() for g in v})
    target = "Apoptosis"
    rng = np.random.default_rng(3)
    query = list(rng.choice(kegg[target], 30, replace=False)) + list(rng.choice(universe, 20, replace=False))
    res = ora(query, universe, kegg, min_size=5)
    assert res.iloc[0]["term"] == target
    assert res.iloc[0]["fdr_bh"] < 1e-10
    # the p-value is the one-sided hypergeometric / Fisher exact test
    row = res.iloc[0]
    M, n, N, k = row["universe_size"], row["set_size"], row["query_size"], row["overlap"]
    table = [[k, N - k], [n - k, M - n - N + k]]
    assert row["pval"] == pytest.approx(stats.fisher_exact(table, alternative="greater")[1], rel=1e-6)
    np.testing.assert_allclose(res["fdr_bh"], multipletests(res["pval"], method="fdr_bh")[1])
    # KEGG pathways overlap a lot (caspases are in dozens of disease maps); sets sharing < 5 % of their genes
    # with the target are rarely significant
    tgt = set(kegg[target])
    unrelated = res[[len(tgt & set(kegg[t])) / len(kegg[t]) < 0.05 for t in res["term"]]]
    assert (unrelated["fdr_bh"] < 0.05).mean() < 0.05


def test_ora_errors(no_network):
    with pytest.raises(ValueError, match="none of the 2 query genes"):
        ora(["X", "Y"], ["A", "B"], {"s": ["A", "B"]})
    with pytest.raises(TypeError, match="dict"):
        ora(["A"], ["A"], "KEGG_2021_Human")
