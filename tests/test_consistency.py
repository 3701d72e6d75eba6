"""Tests of the consistency metrics, interpretability scores and model selection (attrpriors.consistency)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter1d
from sklearn.metrics import average_precision_score, roc_auc_score

from attrpriors import consistency as C
from attrpriors.data.dna_motifs import make_dna_dataset


@pytest.fixture(scope="module")
def data():
    ds = make_dna_dataset(600, 200, 50, release="JASPAR2024", seed=11)
    return ds.x.astype(np.float64), ds.info.astype(np.float64), ds.y, ds.instances


@pytest.fixture(scope="module")
def maps(data):
    """Hand-made attribution maps of the same sequences."""
    x, info, _y, inst = data
    rng = np.random.default_rng(0)
    one_motif = np.zeros_like(x)  # one-hot at the first embedded motif of each sequence, zero elsewhere
    first = np.unique(inst[:, 0], return_index=True)[1]
    for s, _m, _strand, start, length in inst[first]:
        one_motif[s, :, start : start + length] = x[s, :, start : start + length]
    return {
        "one_motif": one_motif,
        "one_motif_plus_noise": one_motif + 0.05 * rng.normal(size=x.shape),
        "ground_truth": x * info[:, None, :] + 0.01 * rng.normal(size=x.shape),
        "noise": rng.normal(size=x.shape),
        "smooth_noise": gaussian_filter1d(rng.normal(size=x.shape), 2.0, axis=2),
    }


# --------------------------------------------------------------------------- consistency metric 1 (k-mer KLD)
def test_kmer_kld_motif_map_beats_noise(data, maps):
    x = data[0]
    motif = C.kmer_kld(maps["one_motif"], x)
    for noisy in ("noise", "smooth_noise"):
        assert motif > C.kmer_kld(maps[noisy], x) + 0.1, noisy
    assert C.kmer_kld(maps["one_motif_plus_noise"], x) > C.kmer_kld(maps["smooth_noise"], x)


@pytest.mark.parametrize("name", ["one_motif", "one_motif_plus_noise", "noise"])
def test_kmer_kld_scale_invariant_and_deterministic(data, maps, name):
    x = data[0]
    a = maps[name]
    first = C.kmer_kld(a, x)
    assert C.kmer_kld(a, x) == first
    assert C.kmer_kld(7.3 * a, x) == pytest.approx(first, rel=1e-12)


def test_kmer_kld_matches_definition_on_a_hand_example():
    # one sequence, attribution on positions 3..5 only: top 10% of 30 = 3 positions, extended 2 to the right
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 4, size=30)
    x = np.eye(4)[tokens].T[None]
    a = np.zeros_like(x)
    a[0, :, 3:6] = x[0, :, 3:6]
    seg = C.attribution_segments(a, top_frac=0.1)
    np.testing.assert_array_equal(np.flatnonzero(seg[0]), np.arange(3, 8))
    # segment 3..7 (5 nt) holds two 4-mers and no 6-mer
    assert np.isnan(C.kmer_kld(a, x, k=6))
    prior = C.kmer_frequencies(x, k=4, pseudocount=0.0)
    q = (prior + C.KMER_PRIOR_PSEUDOCOUNT) / (prior + C.KMER_PRIOR_PSEUDOCOUNT).sum()  # the stated pseudocount
    codes = [int("".join(map(str, tokens[i : i + 4])), 4) for i in (3, 4)]
    p = np.bincount(codes, minlength=256) / 2.0
    mask = p > 0
    expected = float(np.sum(p[mask] * np.log(p[mask] / q[mask])))
    assert C.kmer_kld(a, x, k=4, prior=prior) == pytest.approx(expected, rel=1e-12)
    assert C.kmer_kld(a, x, k=4) == pytest.approx(expected, rel=1e-12)  # default prior: the same sequences


def test_kmer_frequencies():
    x = np.eye(4)[[0, 1, 0, 1, 0]].T[None]  # ACACA: AC, CA, AC, CA
    f = C.kmer_frequencies(x, k=2, pseudocount=0.0)
    assert f.sum() == pytest.approx(1.0)
    assert f[0 * 4 + 1] == pytest.approx(0.5) and f[1 * 4 + 0] == pytest.approx(0.5)


# ------------------------------------------------------------------ consistency metric 2 (attribution vectors)
def test_vector_kld_motif_map_beats_noise(data, maps):
    motif = C.attribution_vector_kld(maps["one_motif"])
    noisy = max(C.attribution_vector_kld(maps["noise"]), C.attribution_vector_kld(maps["smooth_noise"]))
    assert motif > 10 * noisy
    assert C.attribution_vector_kld(maps["one_motif_plus_noise"]) > noisy


@pytest.mark.parametrize("name", ["one_motif", "one_motif_plus_noise", "noise"])
def test_vector_kld_scale_invariant_and_deterministic(maps, name):
    a = maps[name]
    first = C.attribution_vector_kld(a)
    assert C.attribution_vector_kld(a) == first
    assert C.attribution_vector_kld(7.3 * a) == pytest.approx(first, rel=1e-9)


def test_vector_kld_atac_setting_and_pieces(maps):
    a = maps["one_motif_plus_noise"]
    assert np.isfinite(C.attribution_vector_kld(a, radius_keep=0.10))
    # the projection keeps the length of corrected vectors (window 1)
    v = C.windowed_simplex_vectors(a, window=1)
    c = C.gradient_correction(a)
    c = c / np.sqrt((c**2).sum(axis=1)).sum(axis=1)[:, None, None]
    np.testing.assert_allclose(np.linalg.norm(v, axis=2), np.linalg.norm(c, axis=1), atol=1e-12)
    # a single direction puts all the mass in one bin
    p, area = C.angular_histogram(np.tile([[0.3, -0.2, 0.5]], (50, 1)))
    assert p.shape == (31, 31) and area == pytest.approx(0.01)
    assert p.max() == pytest.approx(1.0) and p.sum() == pytest.approx(1.0)


def test_metric_argument_errors_name_the_argument(data, maps):
    x = data[0]
    a = maps["noise"]
    with pytest.raises(ValueError, match="radius_keep"):
        C.attribution_vector_kld(a, radius_keep=0.0)
    with pytest.raises(ValueError, match="window"):
        C.attribution_vector_kld(a, window=0)
    with pytest.raises(ValueError, match="top_frac"):
        C.kmer_kld(a, x, top_frac=1.5)
    with pytest.raises(ValueError, match="attr"):
        C.kmer_kld(a[:, :3], x)
    with pytest.raises(ValueError, match="onehot"):
        C.kmer_kld(a, a)
    with pytest.raises(ValueError, match="prior"):
        C.kmer_kld(a, x, prior=np.ones(10))


# ------------------------------------------------------------------------------------- interpretability
def test_interpretability_ground_truth_vs_random(data, maps):
    x, info, y, _ = data
    gt = C.interpretability_scores(maps["ground_truth"], x, info, labels=y)
    rnd = C.interpretability_scores(maps["noise"], x, info, labels=y)
    assert gt["n_sequences"] == int(y.sum())
    assert gt["interpretability_auroc"] > 0.99 and gt["interpretability_aupr"] > 0.99
    assert abs(rnd["interpretability_auroc"] - 0.5) < 0.03
    assert gt["snr"] > 10 * max(rnd["snr"], 1e-3)
    again = C.interpretability_scores(7.3 * maps["ground_truth"], x, info, labels=y)
    for key in ("interpretability_auroc", "interpretability_aupr", "snr"):
        assert again[key] == pytest.approx(gt[key], rel=1e-9)


def test_interpretability_per_sequence_matches_sklearn(data, maps):
    x, info, _y, _ = data
    a = np.round(maps["smooth_noise"][:20] + x[:20] * info[:20, None, :], 1)  # rounding creates ties
    df = C.interpretability_per_sequence(a, x[:20], info[:20])
    s = (a * x[:20]).sum(axis=1)
    for i in range(20):
        keep = (info[i] > 0.1) | (info[i] == 0)
        truth = info[i][keep] > 0.1
        assert df.auroc[i] == pytest.approx(roc_auc_score(truth, s[i][keep]), abs=1e-12)
        assert df.aupr[i] == pytest.approx(average_precision_score(truth, s[i][keep]), abs=1e-12)
        bg = np.sort(s[i][info[i] == 0])[::-1][:10]
        expected_snr = s[i][info[i] > 0.1].mean() / bg.mean()
        assert df.snr[i] == pytest.approx(expected_snr if bg.mean() > 0 else np.nan, nan_ok=True)


# ------------------------------------------------------------------------------------------ model selection
def test_model_selection_pareto_and_combined_rank():
    df = pd.DataFrame(
        {
            "model": ["a", "b", "c", "d"],
            "auroc": [0.99, 0.98, 0.97, 0.96],
            "kmer": [0.1, 0.9, 0.8, 0.05],
            "vec": [0.2, 0.8, 0.9, 0.1],
        }
    )
    out = C.model_selection(df, "auroc", ["kmer", "vec"])
    assert out["pareto_front"].tolist() == [True, True, True, False]
    np.testing.assert_allclose(out["rank_auroc"], [1, 2, 3, 4])
    np.testing.assert_allclose(out["combined_rank"], [(1 + 3 + 3) / 3, (2 + 1 + 2) / 3, (3 + 2 + 1) / 3, 4])
    assert out.loc[out["selected_combined"], "model"].tolist() == ["b"]
    assert out.loc[out["selected_generalization"], "model"].tolist() == ["a"]
    with pytest.raises(KeyError, match="missing_col"):
        C.model_selection(df, "auroc", ["missing_col"])
    flipped = C.model_selection(df.assign(kmer=-df["kmer"]), "auroc", ["kmer", "vec"], lower_is_better=["kmer"])
    np.testing.assert_allclose(flipped["combined_rank"], out["combined_rank"])
