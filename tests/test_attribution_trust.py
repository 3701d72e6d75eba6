"""The science of the attribution-trust metrics (arXiv 2303.11336 and the cross-paper table):
feature agreement, prediction gaps, top-K accuracy curves, top-K overlap and pathway consistency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attrpriors.evaluation import (
    expected_random_jaccard,
    feature_agreement,
    l2_normalize,
    pathway_attribution_kld,
    prediction_gaps,
    rank_features,
    ranking_feature_agreement,
    topk_accuracy_curve,
    topk_jaccard,
)

P, C, K = 300, 5, 15


@pytest.fixture
def truth():
    rng = np.random.default_rng(0)
    perm = rng.permutation(P)
    gt = np.zeros((C, P), dtype=bool)
    for c in range(C):
        gt[c, perm[c * K : (c + 1) * K]] = True
    labels = np.repeat(np.arange(C), 40)
    return gt, labels, rng


def test_l2_normalize_rows_and_zero_rows():
    a = np.array([[3.0, 4.0], [0.0, 0.0]])
    out = l2_normalize(a)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_perfect_attributions_give_feature_agreement_one(truth):
    gt, labels, rng = truth
    attr = gt[labels] * (1.0 + rng.random((len(labels), P))) + 0.1 * rng.random((len(labels), P))
    fa = feature_agreement(l2_normalize(attr), labels, gt)
    assert len(fa) == C and (fa["k"] == K).all()
    np.testing.assert_allclose(fa["local"], 1.0)
    np.testing.assert_allclose(fa["global"], 1.0)


def test_random_attributions_give_feature_agreement_k_over_p(truth):
    gt, labels, rng = truth
    attr = rng.standard_normal((len(labels) * 10, P))
    fa = feature_agreement(attr, np.repeat(labels, 10), gt)
    assert abs(fa["local"].mean() - K / P) < 0.02
    assert fa["global"].mean() < 0.25  # no structure to find


def test_global_agreement_beats_local_when_each_sample_is_noisy(truth):
    """Each sample ranks its class's genes above random ones only on average: the frequency vote recovers
    them (the paper's global > local)."""
    gt, labels, rng = truth
    attr = 1.0 * gt[labels] + rng.standard_normal((len(labels), P))
    fa = feature_agreement(attr, labels, gt)
    assert fa["global"].mean() > fa["local"].mean() + 0.2
    assert fa["global"].mean() > 0.9


def test_feature_agreement_signed_vs_absolute(truth):
    gt, labels, rng = truth
    attr = -5.0 * gt[labels] + 0.1 * rng.standard_normal((len(labels), P))
    assert feature_agreement(attr, labels, gt)["local"].mean() < 0.1
    assert feature_agreement(attr, labels, gt, absolute=True)["local"].mean() == pytest.approx(1.0)


def test_feature_agreement_rejects_bad_shapes(truth):
    gt, labels, _ = truth
    with pytest.raises(ValueError, match="ground_truth"):
        feature_agreement(np.zeros((len(labels), P + 1)), labels, gt)
    with pytest.raises(ValueError, match="labels"):
        feature_agreement(np.zeros((2, P)), [0, C], gt)


def _linear_problem(n=60, p=50, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(p) * (rng.random(p) < 0.3)
    X = rng.standard_normal((n, p)).astype(np.float32)
    return X, w


def test_prediction_gaps_order_for_a_true_linear_model():
    """f(x) = w·x with exact attributions w⊙x (IG/Shapley of a linear model, zero baseline): removing
    the most important features first costs the most (PGI > PGR > PGU)."""
    X, w = _linear_problem()
    predict = lambda Z: Z @ w  # noqa: E731
    attr = X * w
    pgi = prediction_gaps(predict, X, None, attr, order="important", step=5).mean()
    pgu = prediction_gaps(predict, X, None, attr, order="unimportant", step=5).mean()
    pgr = prediction_gaps(predict, X, None, attr, order="random", step=5, seed=1).mean()
    assert pgi > pgr > pgu >= 0


def test_prediction_gaps_classifier_target_and_step():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((20, 3))
    X = rng.standard_normal((10, 20)).astype(np.float32)

    def predict(Z):
        z = Z @ W
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    y = predict(X).argmax(1)
    attr = X * (W[:, y].T - W.mean(1))  # crude but informative
    g1 = prediction_gaps(predict, X, y, attr, step=1)
    g7 = prediction_gaps(predict, X, y, attr, step=7)  # 20 / 7: last block is partial
    assert g1.shape == g7.shape == (10,)
    assert np.all(g1 >= 0) and np.all(g1 <= 1)
    with pytest.raises(ValueError, match="order"):
        prediction_gaps(predict, X, y, attr, order="best")


def test_topk_accuracy_keep_and_remove():
    """Class = sign of feature 0: keeping feature 0 keeps full accuracy, removing it drops to chance."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 10)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    predict = lambda Z: np.stack([-Z[:, 0], Z[:, 0]], axis=1)  # noqa: E731
    ranking = np.arange(10)
    keep = topk_accuracy_curve(predict, X, y, ranking, [0, 1, 10], mode="keep")
    remove = topk_accuracy_curve(predict, X, y, ranking, [0, 1], mode="remove")
    assert keep["accuracy"].tolist()[1:] == [1.0, 1.0]
    assert remove["accuracy"].iloc[0] == 1.0 and remove["accuracy"].iloc[1] < 0.6


def test_topk_jaccard_identical_and_random():
    p, k = 200, 20
    rng = np.random.default_rng(0)
    same = topk_jaccard({"a": np.arange(p), "b": np.arange(p)}, [k])
    assert same["jaccard"].tolist() == [1.0]
    ranks = {s: rng.permutation(p) for s in range(30)}
    j = topk_jaccard(ranks, [k])
    assert len(j) == 30 * 29 // 2
    expected = expected_random_jaccard(k, p)
    assert abs(j["jaccard"].mean() - expected) < 0.01
    assert expected == pytest.approx((k * k / p) / (2 * k - k * k / p), rel=0.1)
    assert expected_random_jaccard(p, p) == 1.0


def test_ranking_feature_agreement():
    genes = [f"g{i}" for i in range(10)]
    s = pd.Series(np.arange(10, 0, -1, dtype=float), index=genes)  # g0 best
    assert ranking_feature_agreement(s, ["g0", "g1", "g2"]) == 1.0
    assert ranking_feature_agreement(s, ["g7", "g8", "g9"]) == 0.0
    assert ranking_feature_agreement(s, ["g0", "g9"], k=4) == 0.25
    assert rank_features([1.0, 3.0, 3.0])[0] == 1  # stable ties


def test_feature_agreement_counts_ties_fractionally_as_the_random_tie_break_expectation():
    """The one tie rule (fractional counting) equals the average over every order of the tied items."""
    from itertools import permutations

    from attrpriors.evaluation import topk_membership, topk_true_fraction

    # a LASSO-like ranking: 2 non-zero weights (1 true), 6 exact zeros (2 true); K = 3 true items
    scores = pd.Series([0.7, 0.2, 0, 0, 0, 0, 0, 0], index=list("abcdefgh"))
    truth = ["a", "c", "h"]
    zeros = list("cdefgh")
    brute = []
    for order in permutations(zeros):  # every tie-break of the zeros, equally likely
        top = ["a", "b", *order][:3]
        brute.append(np.mean([g in truth for g in top]))
    assert ranking_feature_agreement(scores, truth) == pytest.approx(np.mean(brute))
    assert ranking_feature_agreement(scores, truth) == pytest.approx((1 + 1 * 2 / 6) / 3)
    # the old stable rule (lower index first) would have given (1 + 1) / 3 here: the index order decided
    assert ranking_feature_agreement(scores, truth) < 2 / 3
    # independent of how the tied items are ordered in the input
    assert ranking_feature_agreement(scores[::-1], truth) == pytest.approx(ranking_feature_agreement(scores, truth))
    m = topk_membership(scores.to_numpy(), 3)
    assert m.sum() == pytest.approx(3) and m[0] == m[1] == 1 and np.allclose(m[2:], 1 / 6)
    # no ties: the plain top-k fraction; ties inside the list (not at its edge) change nothing
    assert topk_true_fraction([5, 5, 4, 1], [True, False, True, False], 3) == pytest.approx(2 / 3)
    # secondary key breaks ties of the first; remaining ties still fractional
    assert topk_true_fraction(([2, 2, 2, 1], [0.5, 0.1, 0.1, 9]), [False, True, False, False], 2) == pytest.approx(
        (0 + 0.5) / 2)
    with pytest.raises(ValueError, match="0 < k"):
        topk_true_fraction([1, 2], [True, False], 3)


def test_local_feature_agreement_uses_the_fractional_tie_rule():
    gt = np.zeros((1, 6), dtype=bool)
    gt[0, [0, 5]] = True
    attr = np.array([[1.0, 0, 0, 0, 0, 0]])  # one feature found, the second place tied among 5 (1 true)
    fa = feature_agreement(attr, [0], gt)
    assert fa["local"].iloc[0] == pytest.approx((1 + 1 / 5) / 2)
    assert fa["global"].iloc[0] == pytest.approx((1 + 1 / 5) / 2)


def test_attribution_trust_uses_the_tested_feature_agreement():
    from attrpriors.evaluation import attribution_trust_per_run

    genes = [f"g{i}" for i in range(40)]
    sets = {"P": genes[:20], "Q": genes[20:]}
    score = np.zeros(40)
    score[[0, 25]] = [2.0, 1.0]  # LASSO-like: two non-zero genes, the rest exactly 0
    df = pd.DataFrame({"gene": genes, "model": "lasso", "seed": 0, "mean_abs_eg": score})
    truth = genes[:20]
    res = attribution_trust_per_run(df, truth, sets, ["P"], gsea_permutations=20, gsea_min_size=5, seed=0)
    fa = res.loc[res["metric"] == "feature_agreement", "value"].iloc[0]
    assert fa == pytest.approx(ranking_feature_agreement(pd.Series(score, index=genes), truth))
    assert fa == pytest.approx((1 + 18 * 19 / 38) / 20)


def test_pathway_kld_concentrated_beats_spread():
    genes = [f"g{i}" for i in range(100)]
    pathways = {f"P{j}": genes[10 * j : 10 * (j + 1)] for j in range(10)}
    conc = pd.Series(0.01, index=genes)
    conc[genes[:10]] = 1.0  # all mass on pathway P0
    spread = pd.Series(np.random.default_rng(0).random(100), index=genes)
    k_conc = pathway_attribution_kld(conc, pathways, top_frac=0.1)
    k_spread = pathway_attribution_kld(spread, pathways, top_frac=0.1)
    assert k_conc == pytest.approx(np.log(10), rel=1e-6)  # p = δ_P0, q uniform over 10 equal pathways
    assert 0 <= k_spread < k_conc
    uniform = pd.Series(1.0, index=genes)
    assert pathway_attribution_kld(uniform, pathways, top_frac=1.0) == pytest.approx(0.0, abs=1e-9)


def test_topk_accuracy_per_class_rankings_use_the_union():
    """Two classes, each decided by its own feature: one feature per class (k=1) is enough together."""
    rng = np.random.default_rng(1)
    X = np.abs(rng.standard_normal((300, 6))).astype(np.float32)
    y = rng.integers(0, 2, 300)
    X[np.arange(300), y] += 3.0  # class c has a large feature c
    predict = lambda Z: Z[:, :2]  # noqa: E731
    per_class = np.array([[0, 2, 3, 4, 5, 1], [1, 2, 3, 4, 5, 0]])
    out = topk_accuracy_curve(predict, X, y, per_class, [1, 2], mode="keep")
    assert out["n_features"].tolist() == [2, 3]  # {0, 2} ∪ {1, 2}
    assert out["accuracy"].iloc[0] == 1.0
    one = topk_accuracy_curve(predict, X, y, per_class[0], [1], mode="keep")
    assert one["n_features"].tolist() == [1] and one["accuracy"].iloc[0] < 0.7


# ------------------------------------------------------------------------------- cross-paper scoring on tables
def _trust_table(rng, n_genes=300, seeds=3):
    """Three synthetic model families: 'oracle' ranks the true genes first, 'noisy' puts them a little
    higher than the rest, 'random' ignores them."""
    genes = [f"G{i:03d}" for i in range(n_genes)]
    gene_sets = {f"P{j:02d}": genes[15 * j : 15 * (j + 1)] for j in range(n_genes // 15)}
    true_sets = ["P01", "P04"]
    true = set(gene_sets["P01"]) | set(gene_sets["P04"])
    is_true = np.array([g in true for g in genes])
    rows = []
    for s in range(seeds):
        for model, signal in (("oracle", 10.0), ("noisy", 1.5), ("random", 0.0)):
            score = np.abs(rng.standard_normal(n_genes)) + signal * is_true
            rows.append(pd.DataFrame({"gene": genes, "model": model, "seed": s, "mean_abs_eg": score}))
    return pd.concat(rows, ignore_index=True), true, gene_sets, true_sets


def test_attribution_trust_orders_model_families():
    from attrpriors.evaluation import attribution_trust_per_run, ranking_stability

    df, true, gene_sets, true_sets = _trust_table(np.random.default_rng(0))
    res = attribution_trust_per_run(df, true, gene_sets, true_sets, top_frac=0.1, gsea_permutations=200,
                                    gsea_min_size=5, seed=0)
    m = res.groupby(["model", "metric"])["value"].mean().unstack()
    assert m.loc["oracle", "feature_agreement"] == 1.0
    assert m.loc["oracle", "feature_agreement"] > m.loc["noisy", "feature_agreement"] > m.loc["random", "feature_agreement"]
    assert abs(m.loc["random", "feature_agreement"] - 30 / 300) < 0.08
    assert m.loc["oracle", "pathway_kld"] > m.loc["random", "pathway_kld"]
    assert m.loc["oracle", "gsea_true_recovered"] == 1.0
    assert m.loc["random", "gsea_true_recovered"] < 0.5
    stab = ranking_stability(df, k=30).set_index("model")
    assert stab.loc["oracle", "jaccard"] == 1.0  # the true genes first in every seed
    assert stab.loc["random", "jaccard"] < 0.2
    assert stab.loc["random", "random_expectation"] == pytest.approx(expected_random_jaccard(30, 300))


def test_ranked_genes_breaks_ties_at_random_but_reproducibly():
    from attrpriors.evaluation import ranked_genes

    s = pd.Series([0.0] * 50 + [1.0], index=[f"g{i}" for i in range(51)])
    a, b = ranked_genes(s, seed=0), ranked_genes(s, seed=0)
    assert a[0] == "g50" and list(a) == list(b)
    assert list(ranked_genes(s, seed=1)) != list(a)


def test_true_pathways_from_genes_and_table_checks():
    from attrpriors.evaluation import check_attribution_table, true_pathways_from_genes

    sets = {"A": ["a", "b", "x"], "B": ["a", "c"], "C": ["d"]}
    assert true_pathways_from_genes(sets, ["a", "b", "c"], ["a", "b", "c", "d"]) == ["A", "B"]  # x not measured
    bad = pd.DataFrame({"gene": ["a"], "model": ["m"], "seed": [0]})
    with pytest.raises(KeyError, match="mean_abs_eg"):
        check_attribution_table(bad, "t.csv")
    dup = pd.DataFrame({"gene": ["a", "a"], "model": ["m", "m"], "seed": [0, 0], "mean_abs_eg": [1.0, 2.0]})
    with pytest.raises(ValueError, match="duplicate"):
        check_attribution_table(dup)


def test_ranking_stability_does_not_reward_arbitrary_ties():
    """A sparse model with the same 5 non-zero genes in every retraining: its top-50 lists share those 5 genes,
    and the 45 zero-attribution genes are an arbitrary choice, so the overlap stays far below 1."""
    from attrpriors.evaluation import ranking_stability

    genes = [f"g{i}" for i in range(500)]
    rows = []
    for s in range(4):
        score = np.zeros(500)
        score[:5] = 1.0 + s  # stable non-zero part
        rows.append(pd.DataFrame({"gene": genes, "model": "lasso", "seed": s, "mean_abs_eg": score}))
    stab = ranking_stability(pd.concat(rows), k=50)
    j = stab["jaccard"].iloc[0]
    assert 5 / 95 <= j < 0.2  # at least the shared 5 genes; far from 1


def test_attribution_trust_is_the_same_with_forked_workers():
    """workers > 1 scores the runs in parallel processes; every run keeps its seeds, so the table is identical."""
    from attrpriors.evaluation import attribution_trust_per_run

    df, true, gene_sets, true_sets = _trust_table(np.random.default_rng(1))
    kw = dict(top_frac=0.1, gsea_permutations=50, gsea_min_size=5, seed=3)
    one = attribution_trust_per_run(df, true, gene_sets, true_sets, **kw)
    two = attribution_trust_per_run(df, true, gene_sets, true_sets, workers=2, **kw)
    pd.testing.assert_frame_equal(one, two)
    assert len(one) == df.groupby(["model", "seed"]).ngroups * 5
