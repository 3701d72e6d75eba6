"""Tests of the synthetic JASPAR motif dataset (attrpriors.data.dna_motifs)."""

from __future__ import annotations

import numpy as np
import pytest

from attrpriors.data.dna_motifs import (
    CORE_MOTIFS,
    SPLIT_CODES,
    column_information,
    fetch_motif,
    load_dna_dataset,
    make_dna_dataset,
    negative_motif_pool,
    onehot_to_strings,
    reverse_complement,
    save_dna_dataset,
    split_sizes,
)

N, L, POOL, SEED = 1000, 200, 50, 7


@pytest.fixture(scope="module")
def ds():
    return make_dna_dataset(N, L, POOL, release="JASPAR2024", seed=SEED)


def test_shapes_dtypes_and_onehot(ds):
    assert ds.x.shape == (N, 4, L) and ds.x.dtype == np.float32
    assert ds.pwm.shape == (N, 4, L) and ds.pwm.dtype == np.float32
    assert ds.info.shape == (N, L) and ds.info.dtype == np.float32
    assert ds.y.shape == (N,) and ds.split.shape == (N,)
    np.testing.assert_array_equal(ds.x.sum(axis=1), 1.0)
    assert set(np.unique(ds.x)) == {0.0, 1.0}
    # every ACGT letter is used, roughly uniformly on the background
    background = ds.info == 0
    letters = ds.x.argmax(axis=1)[background]
    freq = np.bincount(letters, minlength=4) / letters.size
    assert np.all(np.abs(freq - 0.25) < 0.01)


def test_labels_balanced_and_splits_stratified(ds):
    assert ds.y.sum() == N // 2
    counts = {k: int((ds.split == v).sum()) for k, v in SPLIT_CODES.items()}
    assert counts == {"train": 700, "valid": 100, "test": 200}
    for which in SPLIT_CODES:
        sub = ds.subset(which)
        assert sub["y"].mean() == pytest.approx(0.5, abs=0.01)
        assert sub["x"].shape[0] == counts[which]
    # split_sizes (what compute projections use) gives the same counts without generating anything
    test = ds.split == SPLIT_CODES["test"]
    assert split_sizes(N) == {**counts, "test_positive": int(ds.y[test].sum())}


def test_split_sizes_of_an_odd_count():
    ds = make_dna_dataset(101, 120, 10, seed=3)
    counts = {k: int((ds.split == v).sum()) for k, v in SPLIT_CODES.items()}
    test = ds.split == SPLIT_CODES["test"]
    assert split_sizes(101) == {**counts, "test_positive": int(ds.y[test].sum())}


def test_core_motifs_resolved_with_fallback(ds):
    assert list(ds.motif_names[: len(CORE_MOTIFS)]) == list(CORE_MOTIFS)
    assert len(ds.motif_names) == POOL and len(set(ds.motif_ids)) == POOL
    yy1 = fetch_motif("YY1", "JASPAR2024")  # no human YY1 in JASPAR2024: falls back to mouse
    assert yy1.species == "10090" and yy1.jaspar_name.upper() == "YY1"
    sp1 = fetch_motif("SP1", "JASPAR2024")  # the human matrix wins over the fly's "Sp1"
    assert "9606" in sp1.species and sp1.jaspar_name == "SP1"
    np.testing.assert_allclose(sp1.pwm.sum(axis=0), 1.0)


def test_missing_motif_and_bad_release_raise_naming_them():
    with pytest.raises(LookupError, match="NOT_A_REAL_TF"):
        fetch_motif("NOT_A_REAL_TF", "JASPAR2024")
    with pytest.raises(ValueError, match="JASPAR1999"):
        fetch_motif("SP1", "JASPAR1999")
    with pytest.raises(ValueError, match="seq_length"):
        make_dna_dataset(10, 40, POOL, seed=0)
    with pytest.raises(ValueError, match="n_negative_pool"):
        negative_motif_pool(3)
    with pytest.raises(ValueError, match="n_sequences"):
        make_dna_dataset(0, L, POOL)


def test_ground_truth_matches_instances(ds):
    inst = ds.instances
    covered = np.zeros((N, L), dtype=bool)
    for s, _m, _strand, start, length in inst:
        assert not covered[s, start : start + length].any(), "motifs overlap"
        covered[s, start : start + length] = True
    np.testing.assert_array_equal(covered, ds.pwm.sum(axis=1) > 0)
    np.testing.assert_allclose(ds.info, column_information(ds.pwm), atol=1e-5)
    assert ds.info.min() >= 0 and ds.info.max() <= 2.0 + 1e-6
    per_seq = np.bincount(inst[:, 0], minlength=N)
    assert per_seq.min() >= 2 and per_seq.max() <= 4
    pos = ds.y[inst[:, 0]] == 1
    assert inst[pos, 1].max() < len(CORE_MOTIFS)  # positives: core motifs only
    assert inst[~pos, 1].max() >= len(CORE_MOTIFS)  # negatives: the wider pool
    assert set(np.unique(inst[:, 2])) == {0, 1}  # both strands


def test_motifs_really_embedded(ds):
    """The consensus letter of the recorded PWM column is the observed letter far more often than chance."""
    strong = ds.info > 1.0
    consensus = ds.pwm.argmax(axis=1)
    observed = ds.x.argmax(axis=1)
    hit_rate = (consensus == observed)[strong].mean()
    assert hit_rate > 0.8  # chance: 0.25
    # the observed letter's probability under the embedded PWM, averaged, is well above 1/4
    p_obs = np.take_along_axis(ds.pwm, observed[:, None, :], axis=1)[:, 0, :]
    assert p_obs[ds.info > 0].mean() > 0.6


def test_reverse_strand_instances_use_reverse_complement(ds):
    gabpa = fetch_motif("GABPA", "JASPAR2024").pwm
    idx = CORE_MOTIFS.index("GABPA")
    for strand, expected in ((0, gabpa), (1, reverse_complement(gabpa))):
        s, _m, _st, start, length = ds.instances[(ds.instances[:, 1] == idx) & (ds.instances[:, 2] == strand)][0]
        np.testing.assert_allclose(ds.pwm[s, :, start : start + length], expected, atol=1e-6)


def test_reverse_complement_and_information():
    pwm = np.array([[1.0, 0.25], [0.0, 0.25], [0.0, 0.25], [0.0, 0.25]])  # A, uniform
    rc = reverse_complement(pwm)
    np.testing.assert_array_equal(rc[:, 1], [0, 0, 0, 1])  # A -> T, moved to the end
    np.testing.assert_array_equal(reverse_complement(rc), pwm)
    np.testing.assert_allclose(column_information(pwm), [2.0, 0.0])
    np.testing.assert_allclose(column_information(np.zeros((4, 3))), 0.0)
    assert onehot_to_strings(np.eye(4)[[0, 3, 2]].T[None]) == ["ATG"]


def test_deterministic_for_a_seed(ds):
    again = make_dna_dataset(N, L, POOL, release="JASPAR2024", seed=SEED)
    for name in ("x", "y", "info", "pwm", "split", "instances", "motif_ids"):
        np.testing.assert_array_equal(getattr(ds, name), getattr(again, name))
    other = make_dna_dataset(200, L, POOL, release="JASPAR2024", seed=SEED + 1)
    assert not np.array_equal(other.x, ds.x[:200])


def test_save_load_roundtrip(ds, tmp_path):
    path = tmp_path / "dna.npz"
    save_dna_dataset(ds, path)
    back = load_dna_dataset(path)
    for name in ("x", "y", "info", "pwm", "split", "instances", "motif_names", "motif_ids"):
        np.testing.assert_array_equal(getattr(ds, name), getattr(back, name))
    assert back.params == ds.params
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write left no temporary file
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load_dna_dataset(tmp_path / "missing.npz")
