"""Interpretability against ground-truth motifs and the two consistency metrics of Majdandzic et al. (2022).

All functions take attribution maps ``attr`` of shape ``(N, 4, L)`` (nucleotide axis 1, ACGT order, as the
one-hot inputs) and return plain floats, dicts or DataFrames. Everything is vectorised with numpy and has no
randomness: two calls on the same arrays give the same numbers.

Conventions shared by both consistency metrics
----------------------------------------------
*Gradient correction*: the nucleotide mean is subtracted at every position, ``a - mean_b a`` (Majdandzic et
al. 2022): a one-hot input lives on the simplex, so only the part of the gradient orthogonal to (1,1,1,1)
is meaningful, and the correction removes the off-simplex component.

*Scale*: each map is normalised per sequence after the correction (metric 1 by its L2 norm, metric 2 by the
sum of its per-position L2 norms), so both scores are invariant to multiplying a map, or all maps, by a
positive constant. Scores are pooled over all sequences given: a population of maps gets one number.
Compare scores only between attribution sets of the same sequences (both metrics have a finite-sample bias
that depends on the number of sequences).

Interpretability scores
-----------------------
Per-position score ``s[n, l] = sum_b attr[n, b, l] * x[n, b, l]`` (grad x input summed over nucleotides;
with saliency maps this is the gradient at the observed nucleotide). Motif positions are those with ground-
truth information ``> motif_threshold`` (0.1 bits), background those with information exactly 0; positions of
low-information motif columns are left out of both classes.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "gradient_correction",
    "interpretability_per_sequence",
    "interpretability_scores",
    "kmer_frequencies",
    "attribution_segments",
    "kmer_kld",
    "windowed_simplex_vectors",
    "angular_histogram",
    "attribution_vector_kld",
    "pareto_front",
    "model_selection",
    "KMER_PRIOR_PSEUDOCOUNT",
    "SIMPLEX_BASIS",
]

#: pseudocount added to every k-mer *frequency* of the prior before renormalising (keeps the KL finite when a
#: k-mer of the attribution segments is absent from the prior sequences).
KMER_PRIOR_PSEUDOCOUNT = 1e-9


# ---------------------------------------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------------------------------------
def _as_maps(arr, argname: str) -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1] != 4:
        raise ValueError(f"{argname} must have shape (N, 4, L), got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[2] == 0:
        raise ValueError(f"{argname} is empty: shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{argname} contains NaN or infinite values")
    return arr


def _check_onehot(onehot, shape, argname: str = "onehot") -> np.ndarray:
    x = _as_maps(onehot, argname)
    if x.shape != tuple(shape):
        raise ValueError(f"{argname} has shape {x.shape} but attr has shape {tuple(shape)}")
    if not np.allclose(x.sum(axis=1), 1.0) or np.any((x != 0) & (x != 1)):
        raise ValueError(f"{argname} must be one-hot: 0/1 values with exactly one 1 per position")
    return x


def _tie_key(values: np.ndarray, digits: int = 9) -> np.ndarray:
    """Values rounded to ``digits`` significant digits relative to the largest |value|, for sorting.

    Attribution maps built from repeated patterns (one-hot motifs) have many equal norms; rounding makes such
    ties exact, so a stable sort breaks them by position whatever the rounding noise of the normalisation
    (otherwise multiplying a map by 7.3 could reorder equal norms and change the score in the last digits).
    """
    scale = np.max(np.abs(values)) if values.size else 0.0
    if not np.isfinite(scale) or scale == 0:
        return values
    return np.round(values / scale, digits)


def _fraction(value, argname: str) -> float:
    value = float(value)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{argname} must be in (0, 1], got {value!r}")
    return value


def gradient_correction(attr) -> np.ndarray:
    """Subtract the nucleotide mean at every position: ``a[n, b, l] - mean_b a[n, :, l]``.

    Parameters
    ----------
    attr : array_like
        ``(N, 4, L)`` attribution maps.

    Returns
    -------
    numpy.ndarray
        ``(N, 4, L)`` float64 maps whose 4-vectors are orthogonal to (1, 1, 1, 1).
    """
    a = _as_maps(attr, "attr")
    return a - a.mean(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------------------
# (a) interpretability vs ground truth
# ---------------------------------------------------------------------------------------------------------
def _pairwise_auc_ap(scores: np.ndarray, pos: np.ndarray, neg: np.ndarray, max_pairs: int = 4_000_000):
    """Per-row ROC-AUC and average precision from pairwise comparisons (ties handled as sklearn does).

    AUROC = P(s_pos > s_neg) + P(s_pos = s_neg) / 2 (Mann-Whitney). Average precision = the mean over positives
    of the precision at the positive's own score as threshold, ``#pos(s >= t) / #valid(s >= t)``, which is
    sklearn's ``average_precision_score`` (a step function over distinct thresholds) written per positive.
    """
    n, length = scores.shape
    chunk = max(1, max_pairs // (length * length))  # bounds memory: chunk x L x L comparisons at a time
    auc = np.full(n, np.nan)
    ap = np.full(n, np.nan)
    for lo in range(0, n, chunk):
        s = scores[lo : lo + chunk]
        p = pos[lo : lo + chunk]
        q = neg[lo : lo + chunk]
        # ge[i, a, b] = s[i, b] >= s[i, a]
        ge = s[:, None, :] >= s[:, :, None]
        gt = s[:, :, None] > s[:, None, :]  # gt[i, a, b] = s[i, a] > s[i, b]
        eq = s[:, :, None] == s[:, None, :]
        n_pos = p.sum(axis=1)
        n_neg = q.sum(axis=1)
        pf, qf = p.astype(np.float64), q.astype(np.float64)
        wins = np.einsum("ia,iab,ib->i", pf, gt, qf) + 0.5 * np.einsum("ia,iab,ib->i", pf, eq, qf)
        valid = p | q
        pos_ge = np.einsum("iab,ib->ia", ge, pf)
        all_ge = np.einsum("iab,ib->ia", ge, valid.astype(np.float64))
        with np.errstate(invalid="ignore", divide="ignore"):
            prec = np.where(p, pos_ge / np.maximum(all_ge, 1), 0.0)
            ok = (n_pos > 0) & (n_neg > 0)
            auc[lo : lo + chunk] = np.where(ok, wins / (n_pos * n_neg), np.nan)
            ap[lo : lo + chunk] = np.where(ok, prec.sum(axis=1) / n_pos, np.nan)
    return auc, ap


def interpretability_per_sequence(
    attr,
    onehot,
    info,
    motif_threshold: float = 0.1,
    top_k_background: int = 10,
) -> pd.DataFrame:
    """Per-sequence interpretability of attribution maps against the embedded motifs.

    Parameters
    ----------
    attr : array_like
        ``(N, 4, L)`` attribution maps (saliency, grad x input, IG, ...).
    onehot : array_like
        ``(N, 4, L)`` one-hot sequences.
    info : array_like
        ``(N, L)`` ground-truth information (bits) of the embedded PWM column, 0 for background.
    motif_threshold : float
        Positions with ``info > motif_threshold`` are motif positions.
    top_k_background : int
        SNR denominator: mean of the ``top_k_background`` largest background scores.

    Returns
    -------
    pandas.DataFrame
        One row per sequence: ``sequence``, ``auroc``, ``aupr`` (average precision), ``snr``,
        ``n_motif``, ``n_background``. AUROC/AUPR are NaN for sequences without motif or without background
        positions. ``snr = mean(s at motif) / mean(top-k background s)``; NaN where that denominator is
        ``<= 0`` (a ratio to a non-positive noise level is meaningless) or where a class is empty.

    Notes
    -----
    Scores are signed (grad x input as is): a motif of the positive class should carry positive evidence, and
    negative scores at motifs count against the map, as in Koo & Ploenzke (2021).
    """
    a = _as_maps(attr, "attr")
    x = _check_onehot(onehot, a.shape)
    info = np.asarray(info, dtype=np.float64)
    if info.shape != (a.shape[0], a.shape[2]):
        raise ValueError(f"info must have shape (N, L) = {(a.shape[0], a.shape[2])}, got {info.shape}")
    if int(top_k_background) < 1:
        raise ValueError(f"top_k_background must be >= 1, got {top_k_background!r}")
    k = int(top_k_background)
    s = (a * x).sum(axis=1)
    motif = info > float(motif_threshold)
    background = info == 0
    auc, ap = _pairwise_auc_ap(s, motif, background)

    n_motif = motif.sum(axis=1)
    n_bg = background.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        signal = np.where(motif, s, 0.0).sum(axis=1) / n_motif
        bg_sorted = -np.sort(np.where(background, -s, np.inf), axis=1)  # descending, non-bg at the end as -inf
        kk = np.minimum(n_bg, k)
        top = np.where(np.arange(s.shape[1])[None, :] < kk[:, None], bg_sorted, 0.0).sum(axis=1) / kk
        snr = np.where((n_motif > 0) & (n_bg > 0) & (top > 0), signal / top, np.nan)
    return pd.DataFrame(
        {
            "sequence": np.arange(a.shape[0]),
            "auroc": auc,
            "aupr": ap,
            "snr": snr,
            "n_motif": n_motif,
            "n_background": n_bg,
        }
    )


def interpretability_scores(
    attr,
    onehot,
    info,
    labels=None,
    motif_threshold: float = 0.1,
    top_k_background: int = 10,
) -> dict[str, float]:
    """Interpretability of attribution maps vs ground truth, averaged over (positive) sequences.

    Parameters
    ----------
    attr, onehot, info : array_like
        As in :func:`interpretability_per_sequence`.
    labels : array_like, optional
        ``(N,)`` labels; when given only sequences with label 1 are scored (the paper averages over the
        positive test sequences, whose motifs are the class evidence).
    motif_threshold, top_k_background : float, int
        As in :func:`interpretability_per_sequence`.

    Returns
    -------
    dict
        ``interpretability_auroc``, ``interpretability_aupr``, ``snr`` (means over sequences, NaN entries
        ignored) and ``n_sequences`` (the number of sequences scored).
    """
    a = np.asarray(attr)
    x = np.asarray(onehot)
    info = np.asarray(info)
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if labels.shape[0] != a.shape[0]:
            raise ValueError(f"labels has {labels.shape[0]} entries but attr has {a.shape[0]} maps")
        keep = labels == 1
        if not keep.any():
            raise ValueError("labels: no positive (label 1) sequence to score")
        a, x, info = a[keep], x[keep], info[keep]
    df = interpretability_per_sequence(a, x, info, motif_threshold, top_k_background)

    def _mean(col: str) -> float:
        v = df[col].to_numpy()
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

    return {
        "interpretability_auroc": _mean("auroc"),
        "interpretability_aupr": _mean("aupr"),
        "snr": _mean("snr"),
        "n_sequences": int(df.shape[0]),
    }


# ---------------------------------------------------------------------------------------------------------
# (b) consistency metric 1: k-mer KLD of the top attribution segments
# ---------------------------------------------------------------------------------------------------------
def _kmer_codes(tokens: np.ndarray, k: int) -> np.ndarray:
    """``(N, L-k+1)`` integer code of the k-mer starting at each position (base 4, first letter most significant)."""
    n, length = tokens.shape
    codes = np.zeros((n, length - k + 1), dtype=np.int64)
    for j in range(k):
        codes = codes * 4 + tokens[:, j : length - k + 1 + j]
    return codes


def _tokens(onehot: np.ndarray) -> np.ndarray:
    return onehot.argmax(axis=1).astype(np.int64)


def kmer_frequencies(onehot, k: int = 6, pseudocount: float = KMER_PRIOR_PSEUDOCOUNT) -> np.ndarray:
    """Frequencies of all ``4**k`` k-mers over every position of the sequences (the prior of metric 1).

    Parameters
    ----------
    onehot : array_like
        ``(N, 4, L)`` one-hot sequences (the paper: the test sequences).
    k : int
        k-mer length.
    pseudocount : float
        Added to every frequency before renormalising (default ``KMER_PRIOR_PSEUDOCOUNT`` = 1e-9).

    Returns
    -------
    numpy.ndarray
        ``(4**k,)`` float64 summing to 1; index = base-4 code with A=0, C=1, G=2, T=3.
    """
    x = _as_maps(onehot, "onehot")
    k = int(k)
    if not 1 <= k <= x.shape[2]:
        raise ValueError(f"k={k} must be between 1 and the sequence length {x.shape[2]}")
    counts = np.bincount(_kmer_codes(_tokens(x), k).ravel(), minlength=4**k).astype(np.float64)
    freq = counts / counts.sum() + float(pseudocount)
    return freq / freq.sum()


def attribution_segments(attr, top_frac: float = 0.1, extend: int = 2) -> np.ndarray:
    """Mask of the positions in the top attribution segments (before dropping short ones).

    Steps: gradient correction; L2-normalise each map over all its ``4 x L`` entries; per-position L2 norm;
    per sequence keep the ``ceil(top_frac * L)`` positions of largest norm (norms compared to 9 significant
    digits, ties broken by position with a stable sort), except positions of zero norm, which carry no
    attribution and are never kept (so a map that is zero outside a motif selects only the motif); extend each
    kept position ``extend`` positions to the right (clipped at the end). Overlapping or touching extended
    positions form one segment (maximal runs of ``True``).

    Parameters
    ----------
    attr : array_like
        ``(N, 4, L)`` maps.
    top_frac : float
        Fraction of positions kept per sequence.
    extend : int
        Positions added to the right of each kept position.

    Returns
    -------
    numpy.ndarray
        ``(N, L)`` bool.
    """
    c = gradient_correction(attr)
    top_frac = _fraction(top_frac, "top_frac")
    if int(extend) < 0:
        raise ValueError(f"extend must be >= 0, got {extend!r}")
    n, _, length = c.shape
    total = np.sqrt((c**2).sum(axis=(1, 2), keepdims=True))
    c = c / np.where(total > 0, total, 1.0)
    norm = np.sqrt((c**2).sum(axis=1))
    n_top = max(1, int(np.ceil(top_frac * length - 1e-9)))
    order = np.argsort(-_tie_key(norm), axis=1, kind="stable")[:, :n_top]
    mask = np.zeros((n, length), dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    mask &= norm > 0  # a position with zero attribution is never "important"
    ext = mask.copy()
    for shift in range(1, int(extend) + 1):
        ext[:, shift:] |= mask[:, :-shift]
    return ext


def kmer_kld(attr, onehot, k: int = 6, top_frac: float = 0.1, prior=None, extend: int = 2) -> float:
    """Consistency metric 1: KL divergence of the k-mer spectrum of top attribution segments from a prior.

    Steps (Majdandzic et al. 2022): gradient-correct and L2-normalise each map; keep the top ``top_frac`` of
    positions of each sequence by per-position L2 norm; extend each 2 nt to the right, merge overlaps into
    segments and drop segments shorter than ``k``; count the k-mers (of the sequence's own letters) inside the
    segments, pooled over all sequences, to get a frequency ``p``; return
    ``sum(scipy.special.kl_div(p, prior))`` (= KL(p || prior) since both sum to 1).

    A k-mer is counted when its ``k`` positions all lie in one segment; segments shorter than ``k`` hold no
    such k-mer, so dropping them is implicit.

    Consistent maps put their top positions on the same few motifs across sequences, so ``p`` concentrates on
    the motifs' k-mers and the divergence from the background k-mer spectrum is large. Higher = more
    consistent. The score has a positive finite-sample bias (``p`` is an empirical distribution over
    ``4**k`` bins), so compare only maps of the same sequences.

    Parameters
    ----------
    attr : array_like
        ``(N, 4, L)`` attribution maps.
    onehot : array_like
        ``(N, 4, L)`` one-hot sequences of the maps.
    k : int
        k-mer length (6 in the paper).
    top_frac : float
        Fraction of positions kept per sequence (0.1 in the paper).
    prior : array_like, optional
        ``(4**k,)`` k-mer frequencies; default :func:`kmer_frequencies` of ``onehot`` (the paper uses the test
        sequences, which are what is usually passed here). A pseudocount of ``KMER_PRIOR_PSEUDOCOUNT`` is added
        to the prior (and it is renormalised) to keep the divergence finite.
    extend : int
        Right extension of the kept positions (2 in the paper).

    Returns
    -------
    float
        The divergence in nats; NaN if no segment of length ``>= k`` exists.
    """
    from scipy.special import kl_div

    a = _as_maps(attr, "attr")
    x = _check_onehot(onehot, a.shape)
    k = int(k)
    if not 1 <= k <= a.shape[2]:
        raise ValueError(f"k={k} must be between 1 and the sequence length {a.shape[2]}")
    if prior is None:
        q = kmer_frequencies(x, k)
    else:
        q = np.asarray(prior, dtype=np.float64).reshape(-1)
        if q.shape != (4**k,) or np.any(q < 0) or not np.all(np.isfinite(q)) or q.sum() <= 0:
            raise ValueError(f"prior must be {4**k} non-negative finite k-mer frequencies, got shape {q.shape}")
        q = q / q.sum() + KMER_PRIOR_PSEUDOCOUNT
        q = q / q.sum()
    seg = attribution_segments(a, top_frac=top_frac, extend=extend)
    # window [i, i+k) entirely inside a segment
    csum = np.concatenate([np.zeros((seg.shape[0], 1), dtype=np.int64), np.cumsum(seg, axis=1)], axis=1)
    full = (csum[:, k:] - csum[:, :-k]) == k
    codes = _kmer_codes(_tokens(x), k)[full]
    if codes.size == 0:
        return float("nan")
    p = np.bincount(codes, minlength=4**k).astype(np.float64)
    p /= p.sum()
    return float(kl_div(p, q).sum())


# ---------------------------------------------------------------------------------------------------------
# (c) consistency metric 2: KLD of the angular histogram of windowed attribution vectors
# ---------------------------------------------------------------------------------------------------------
#: Orthonormal basis (rows) of the 3-D subspace of R^4 orthogonal to (1, 1, 1, 1) (Helmert contrasts).
SIMPLEX_BASIS = np.array(
    [
        [1.0, -1.0, 0.0, 0.0] / np.sqrt(2.0),
        [1.0, 1.0, -2.0, 0.0] / np.sqrt(6.0),
        [1.0, 1.0, 1.0, -3.0] / np.sqrt(12.0),
    ]
)


def windowed_simplex_vectors(attr, window: int = 3) -> np.ndarray:
    """Corrected, normalised, window-summed attribution vectors in 3-D coordinates.

    Steps: gradient correction; divide each map by the sum over positions of its per-position L2 norms;
    sum the 4-vectors over windows of ``window`` consecutive positions (windows inside the sequence only,
    ``L - window + 1`` per sequence; the reference code wraps around with ``np.roll``, which mixes the two
    ends of a sequence); project onto :data:`SIMPLEX_BASIS` (exact, because corrected vectors are orthogonal
    to (1, 1, 1, 1), so lengths are preserved).

    Parameters
    ----------
    attr : array_like
        ``(N, 4, L)`` maps.
    window : int
        Window length (3 in the paper).

    Returns
    -------
    numpy.ndarray
        ``(N, L - window + 1, 3)`` float64.
    """
    c = gradient_correction(attr)
    window = int(window)
    if not 1 <= window <= c.shape[2]:
        raise ValueError(f"window={window} must be between 1 and the sequence length {c.shape[2]}")
    total = np.sqrt((c**2).sum(axis=1)).sum(axis=1)[:, None, None]
    c = c / np.where(total > 0, total, 1.0)
    n_win = c.shape[2] - window + 1
    # explicit sum of shifted slices, not a cumsum difference: equal windows give bit-identical sums, so the
    # radius ordering (and hence the score) does not depend on rounding noise
    win = c[:, :, 0:n_win].copy()
    for j in range(1, window):
        win += c[:, :, j : j + n_win]
    return np.einsum("db,nbl->nld", SIMPLEX_BASIS, win)


def angular_histogram(
    vectors, radius_keep: float = 0.99, bin_width: float = 0.1
) -> tuple[np.ndarray, float]:
    """r²-weighted histogram of the spherical angles of 3-D vectors, normalised to a probability mass.

    Angles: polar ``theta = arccos(v3 / r)`` in ``[0, pi]``; azimuth ``phi = (atan2(v2, v1) + pi) / 2``, mapped
    from ``(-pi, pi]`` to ``[0, pi]`` as in the reference code, so both axes span ``[0, pi]``. Only the
    ``ceil(radius_keep * n)`` points of largest radius (pooled over all sequences; radii compared to 9
    significant digits, ties broken by order with a stable sort) enter;
    vectors of zero length have no direction and weight 0. Bins have width ``bin_width`` from 0; there are
    ``floor(pi / bin_width)`` bins per axis and the last one also takes the remainder up to pi (0.1 -> 31 bins,
    as in the reference code).

    Parameters
    ----------
    vectors : array_like
        ``(..., 3)`` vectors (e.g. from :func:`windowed_simplex_vectors`).
    radius_keep : float
        Fraction of points kept, by radius (0.99 synthetic data, 0.10 ATAC data in the paper).
    bin_width : float
        Bin width in radians.

    Returns
    -------
    p : numpy.ndarray
        ``(n_bins, n_bins)`` bin masses (theta rows, phi columns) summing to 1 (all zero if every weight is 0).
    bin_area : float
        ``bin_width ** 2``.
    """
    v = np.asarray(vectors, dtype=np.float64).reshape(-1, 3)
    radius_keep = _fraction(radius_keep, "radius_keep")
    bin_width = float(bin_width)
    if not 0 < bin_width <= np.pi:
        raise ValueError(f"bin_width must be in (0, pi], got {bin_width!r}")
    r = np.sqrt((v**2).sum(axis=1))
    n_keep = max(1, int(np.ceil(radius_keep * r.size - 1e-9)))
    keep = np.argsort(-_tie_key(r), kind="stable")[:n_keep]
    v = v[keep]
    # snap coordinates to 12 significant digits of the largest radius (and -0.0 to +0.0): the azimuth jumps
    # from pi to 0 across the half-axis (v1 < 0, v2 = 0), where one-hot-like maps put many points; without
    # snapping, rounding noise (e.g. from rescaling the map) would decide on which side they fall
    scale = r.max() if r.size and r.max() > 0 else 1.0
    v = np.round(v / scale, 12) + 0.0
    r = np.sqrt((v**2).sum(axis=1))
    safe = np.where(r > 0, r, 1.0)
    theta = np.arccos(np.clip(v[:, 2] / safe, -1.0, 1.0))
    phi = (np.arctan2(v[:, 1], v[:, 0]) + np.pi) / 2.0
    n_bins = int(np.floor(np.pi / bin_width + 1e-9))
    ti = np.minimum((theta / bin_width).astype(np.int64), n_bins - 1)
    pj = np.minimum((phi / bin_width).astype(np.int64), n_bins - 1)
    hist = np.bincount(ti * n_bins + pj, weights=r**2, minlength=n_bins * n_bins).reshape(n_bins, n_bins)
    total = hist.sum()
    return (hist / total if total > 0 else hist), bin_width**2


def _local_mean(p: np.ndarray, size: int) -> np.ndarray:
    """Mean of ``p`` over a ``size x size`` neighbourhood, averaging only bins inside the grid.

    ``scipy.ndimage.uniform_filter`` with an even size covers offsets ``-size//2 .. size//2 - 1`` (for 6:
    -3..2, the reference code's ``range(-3, 3)``); dividing by the filtered indicator of the grid makes edge
    bins average over their in-grid neighbours only, as the reference code does.
    """
    from scipy.ndimage import uniform_filter

    num = uniform_filter(p, size=size, mode="constant", cval=0.0)
    den = uniform_filter(np.ones_like(p), size=size, mode="constant", cval=0.0)
    return num / den


def attribution_vector_kld(
    attr,
    radius_keep: float = 0.99,
    bin_width: float = 0.1,
    window: int = 3,
    smooth: int = 6,
) -> float:
    """Consistency metric 2: divergence of the angular distribution of attribution vectors from its smoothing.

    Steps (Majdandzic et al. 2022): :func:`windowed_simplex_vectors` (gradient correction, normalisation by the
    summed per-position norms, sums over windows of ``window`` positions, 3-D orthonormal coordinates);
    :func:`angular_histogram` (spherical angles on ``[0, pi]^2``, top ``radius_keep`` of points by radius,
    r²-weighted histogram of bin width ``bin_width``, normalised: ``p``); the prior is the local
    ``smooth x smooth`` mean of ``p`` (:func:`_local_mean`); the score is

        ``sum_bins p_d log(p_d / prior_d) * bin_area``,

    with ``p_d``, ``prior_d`` the densities (mass / bin area), i.e. ``sum p log(p / prior)`` over masses, bins
    with ``p = 0`` contributing 0 (the prior is positive wherever ``p`` is, since a bin is in its own
    neighbourhood). The prior is not renormalised (as in the paper), so the value is a relative entropy
    against a slightly unnormalised measure and can in principle dip below 0 for very smooth ``p``. All bins
    are summed (the reference code skips the outermost ring of bins).

    Consistent maps put their important windows on a few recurring directions (the motifs' letters), giving a
    spiky histogram far from its own local average; noise spreads smoothly over the sphere. Higher = more
    consistent.

    Parameters
    ----------
    attr : array_like
        ``(N, 4, L)`` attribution maps.
    radius_keep : float
        Fraction of windowed vectors kept by radius (0.99 synthetic, 0.10 ATAC).
    bin_width : float
        Histogram bin width in radians (0.1).
    window : int
        Window length (3).
    smooth : int
        Side of the local-mean neighbourhood of the prior, in bins (6).

    Returns
    -------
    float
        The score in nats; NaN if every vector has zero length.
    """
    if int(smooth) < 1:
        raise ValueError(f"smooth must be >= 1, got {smooth!r}")
    v = windowed_simplex_vectors(attr, window=window)
    p, area = angular_histogram(v, radius_keep=radius_keep, bin_width=bin_width)
    if p.sum() == 0:
        return float("nan")
    prior = _local_mean(p, int(smooth))
    density, prior_density = p / area, prior / area
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, density * np.log(density / prior_density), 0.0)
    return float(terms.sum() * area)


# ---------------------------------------------------------------------------------------------------------
# model selection
# ---------------------------------------------------------------------------------------------------------
def pareto_front(values) -> np.ndarray:
    """Flag the non-dominated rows of a ``(n_models, n_criteria)`` array, larger = better for every column.

    Row ``i`` is dominated when some row ``j`` is ``>=`` on every criterion and ``>`` on at least one. NaN
    counts as worst (``-inf``).

    Returns
    -------
    numpy.ndarray
        ``(n_models,)`` bool, True on the Pareto front.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"values must be 2-D (n_models, n_criteria), got shape {v.shape}")
    v = np.where(np.isnan(v), -np.inf, v)
    ge = (v[:, None, :] >= v[None, :, :]).all(axis=2)  # ge[j, i]: j >= i everywhere
    gt = (v[:, None, :] > v[None, :, :]).any(axis=2)
    dominated = (ge & gt).any(axis=0)
    return ~dominated


def model_selection(
    df: pd.DataFrame,
    generalization_col: str,
    consistency_cols: Sequence[str],
    lower_is_better: Sequence[str] = (),
) -> pd.DataFrame:
    """Rank models jointly on generalization and consistency: Pareto front and combined rank.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per model.
    generalization_col : str
        Column of held-out performance (e.g. test AUROC), larger = better.
    consistency_cols : sequence of str
        Consistency score columns (e.g. ``kmer_kld``, ``vector_kld``), larger = better.
    lower_is_better : sequence of str
        Any of the above columns where smaller is better (negated internally).

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with added columns: ``rank_<col>`` for every criterion (1 = best, ties averaged,
        NaN ranked last); ``combined_rank`` = mean of those ranks (generalization and each consistency score
        weigh the same); ``pareto_front`` (not dominated on all criteria jointly); ``selected_combined``
        (the lowest combined rank; ties broken by Pareto membership, then by generalization, then by row
        order); ``selected_generalization`` (the highest generalization; ties broken by row order).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if isinstance(consistency_cols, str):
        consistency_cols = [consistency_cols]
    cols = [generalization_col, *consistency_cols]
    if len(consistency_cols) == 0:
        raise ValueError("consistency_cols must name at least one column")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"model_selection: missing column(s) {missing}; found {list(df.columns)}")
    bad = [c for c in lower_is_better if c not in cols]
    if bad:
        raise ValueError(f"lower_is_better names column(s) {bad} that are not criteria {cols}")
    if df.shape[0] == 0:
        raise ValueError("df has no rows (no models to select from)")
    out = df.copy().reset_index(drop=True)
    columns = []
    for c in cols:
        try:
            col = pd.to_numeric(out[c], errors="raise").to_numpy(np.float64)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"model_selection: column {c!r} must be numeric ({exc})") from exc
        columns.append(-col if c in lower_is_better else col)
    values = np.column_stack(columns)
    rank_cols = []
    for j, c in enumerate(cols):
        name = f"rank_{c}"
        out[name] = pd.Series(-values[:, j]).rank(method="average", na_option="bottom").to_numpy()
        rank_cols.append(name)
    out["combined_rank"] = out[rank_cols].mean(axis=1)
    out["pareto_front"] = pareto_front(values)
    gen = np.where(np.isnan(values[:, 0]), -np.inf, values[:, 0])
    order = np.lexsort((np.arange(len(out)), -gen, ~out["pareto_front"].to_numpy(), out["combined_rank"].to_numpy()))
    out["selected_combined"] = False
    out.loc[order[0], "selected_combined"] = True
    out["selected_generalization"] = False
    out.loc[int(np.argmax(gen)), "selected_generalization"] = True
    return out
