"""Synthetic DNA sequences with embedded JASPAR motifs and a per-position ground truth (Majdandzic et al. 2022).

The generator follows the synthetic task of the consistency paper (itself the task of Koo & Ploenzke 2021):

* **Motifs** are real JASPAR position frequency matrices read offline from the ``pyjaspar`` package
  (the release is an argument, ``"JASPAR2024"`` by default). The *core* motifs are SP1, GABPA, CEBPB, MAX and
  YY1; each is used on either strand (the reverse complement is the PWM flipped in both axes).
* **Positive sequences** embed a *grammar* of core motifs: ``min_motifs``..``max_motifs`` (default 2..4)
  motifs drawn uniformly from the core set, each on a random strand, placed left to right with random gaps
  (``0..max_gap`` nt) and a random start so that the whole arrangement fits in the sequence.
* **Negative sequences** embed the same number of motifs drawn from a pool of ``n_negative_pool`` JASPAR
  motifs (default 50): the core motifs plus a seeded random choice of other JASPAR CORE vertebrate motifs of
  length 6..20 (longer ones would crowd a 200 nt sequence). A negative can therefore contain a core motif,
  but only rarely several, so the task needs the core grammar and not a single motif.
* **Background** is uniform i.i.d. (p = 1/4 per nucleotide). Each embedded position is sampled from its PWM
  column (the JASPAR counts divided by the column total; no pseudocount, so information is exact).
* **Ground truth.** ``info[n, l] = 2 + sum_b p_b log2 p_b`` of the PWM column embedded at position ``l``
  (0 for background), and ``pwm[n, :, l]`` the column itself (zeros for background). Motifs never overlap.
* **Encoding and splits.** One-hot ``x`` of shape ``(N, 4, L)`` float32 in ACGT order; labels ``y`` (N,)
  float32, exactly ``N // 2`` positives; a stratified 70/10/20 train/valid/test split, coded in ``split``
  as 0/1/2.

Every random draw comes from one ``numpy.random.Generator`` seeded with ``seed``; the same arguments give
the same arrays. The sampling is vectorised over all embedded motif instances, so 20,000 x 200 nt takes a
few seconds.
"""

from __future__ import annotations

import contextlib
import io as _stdio
import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from attrpriors.io import load_npz, save_npz

__all__ = [
    "ALPHABET",
    "CORE_MOTIFS",
    "SPLIT_CODES",
    "DNADataset",
    "Motif",
    "fetch_motif",
    "negative_motif_pool",
    "column_information",
    "reverse_complement",
    "make_dna_dataset",
    "split_sizes",
    "save_dna_dataset",
    "load_dna_dataset",
    "onehot_to_strings",
]

ALPHABET = "ACGT"
CORE_MOTIFS: tuple[str, ...] = ("SP1", "GABPA", "CEBPB", "MAX", "YY1")
SPLIT_CODES = {"train": 0, "valid": 1, "test": 2}
_HUMAN, _MOUSE = "9606", "10090"
_NPZ_KEYS = ("x", "y", "info", "pwm", "split", "motif_names", "motif_ids", "instances", "params")


@dataclass(frozen=True)
class Motif:
    """A JASPAR motif as a position probability matrix.

    Attributes
    ----------
    name : str
        The name asked for (e.g. ``"YY1"``), or JASPAR's name for pool motifs.
    matrix_id : str
        JASPAR matrix id with version (e.g. ``"MA0095.4"``).
    jaspar_name : str
        The name stored in JASPAR (e.g. ``"Yy1"`` for the mouse matrix).
    species : str
        Comma-separated NCBI taxonomy ids (``"9606"`` human, ``"10090"`` mouse).
    collection : str
        JASPAR collection (``"CORE"``, ``"UNVALIDATED"``, ...).
    pwm : numpy.ndarray
        ``(4, length)`` float64, ACGT rows, columns summing to 1.
    """

    name: str
    matrix_id: str
    jaspar_name: str
    species: str
    collection: str
    pwm: np.ndarray = field(repr=False)

    @property
    def length(self) -> int:
        """Number of positions."""
        return int(self.pwm.shape[1])


def _open_jaspar(release: str):
    """Open the bundled JASPAR SQLite database of ``release``; raise ``ValueError`` naming it if unknown."""
    try:
        import pyjaspar
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise ImportError("the 'pyjaspar' package is needed for JASPAR motifs: pip install pyjaspar") from exc
    releases = getattr(pyjaspar, "jaspar_releases", None)
    if releases is not None and release not in releases:
        raise ValueError(f"release={release!r} is not a JASPAR release bundled with pyjaspar; available: {sorted(releases)}")
    with contextlib.redirect_stdout(_stdio.StringIO()):  # pyjaspar prints instead of raising
        db = pyjaspar.jaspardb(release=release)
    if not hasattr(db, "conn"):
        raise ValueError(f"release={release!r}: pyjaspar could not open this JASPAR release")
    return db


def _counts_to_pwm(motif, where: str) -> np.ndarray:
    counts = np.array([np.asarray(motif.counts[b], dtype=np.float64) for b in ALPHABET])
    totals = counts.sum(axis=0, keepdims=True)
    if counts.ndim != 2 or counts.shape[1] == 0 or np.any(totals <= 0):
        raise ValueError(f"{where}: JASPAR matrix {motif.matrix_id} has an empty or zero-count column")
    return counts / totals


def _species(motif) -> list[str]:
    sp = motif.species
    if sp is None:
        return []
    return [str(s) for s in (sp if isinstance(sp, (list, tuple)) else [sp])]


def fetch_motif(name: str, release: str = "JASPAR2024", db=None) -> Motif:
    """Fetch one JASPAR motif by TF name, with a species and collection fallback.

    All collections and species are searched (``fetch_motifs_by_name`` returns the latest version of every
    matching matrix; the name is also tried upper-case and capitalised). Candidates are ranked, best first:
    exact-case name before other case; human (9606) before mouse (10090) before any other species; the CORE
    collection before others; then by matrix id, so the choice is deterministic. E.g. ``"YY1"`` resolves to the
    mouse matrix ``MA0095.4 Yy1`` in JASPAR2024, which has no human YY1.

    Parameters
    ----------
    name : str
        TF name, e.g. ``"SP1"``.
    release : str
        JASPAR release bundled with pyjaspar, e.g. ``"JASPAR2024"``.
    db : pyjaspar.jaspardb, optional
        An open database (saves reopening it for several motifs); must be of ``release``.

    Returns
    -------
    Motif

    Raises
    ------
    LookupError
        If no matrix of that name exists in any collection or species of the release.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    db = _open_jaspar(release) if db is None else db
    found = {}
    for variant in dict.fromkeys([name, name.upper(), name.capitalize()]):
        with contextlib.redirect_stdout(_stdio.StringIO()), _quiet_biopython():
            for m in db.fetch_motifs_by_name(variant) or []:
                if m.name.upper() == name.upper():
                    found[m.matrix_id] = m
    if not found:
        raise LookupError(
            f"motif {name!r} not found in JASPAR release {release!r} (searched all collections and species)"
        )

    def rank(m) -> tuple:
        sp = _species(m)
        species_rank = 0 if _HUMAN in sp else 1 if _MOUSE in sp else 2
        return (m.name != name, species_rank, m.collection != "CORE", m.matrix_id)

    best = sorted(found.values(), key=rank)[0]
    return Motif(
        name=name,
        matrix_id=best.matrix_id,
        jaspar_name=best.name,
        species=",".join(_species(best)),
        collection=str(best.collection),
        pwm=_counts_to_pwm(best, f"motif {name!r}"),
    )


@contextlib.contextmanager
def _quiet_biopython():
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Zero motifs returned")
        yield


def negative_motif_pool(
    n_pool: int,
    release: str = "JASPAR2024",
    seed: int = 0,
    core: Sequence[str] = CORE_MOTIFS,
    min_length: int = 6,
    max_length: int = 20,
    db=None,
) -> list[Motif]:
    """The motif pool of negative sequences: the core motifs plus a seeded random draw of other JASPAR motifs.

    The other motifs come from JASPAR's CORE vertebrate collection (latest versions), length
    ``min_length..max_length``, excluding any whose name matches a core motif (case-insensitive). They are
    sorted by matrix id before the seeded draw, so the pool depends only on ``(release, seed, n_pool)``.

    Parameters
    ----------
    n_pool : int
        Total pool size, core motifs included (``>= len(core)``).
    release, seed : str, int
        JASPAR release; seed of the draw.
    core : sequence of str
        Core motif names (always in the pool).
    min_length, max_length : int
        Length range of the drawn motifs.
    db : pyjaspar.jaspardb, optional
        An open database of ``release``.

    Returns
    -------
    list of Motif
        Core motifs first, then the drawn ones.
    """
    seed = _validate_positive_int(seed, "seed", 0)
    if n_pool < len(core):
        raise ValueError(f"n_negative_pool={n_pool} must be >= the number of core motifs ({len(core)})")
    db = _open_jaspar(release) if db is None else db
    core_motifs = [fetch_motif(n, release, db=db) for n in core]
    core_upper = {n.upper() for n in core}
    with _quiet_biopython():
        candidates = db.fetch_motifs(collection="CORE", tax_group=["vertebrates"])
    candidates = sorted(
        (m for m in candidates if m.name.upper() not in core_upper and min_length <= m.length <= max_length),
        key=lambda m: m.matrix_id,
    )
    n_extra = n_pool - len(core_motifs)
    if n_extra > len(candidates):
        raise ValueError(
            f"n_negative_pool={n_pool}: only {len(candidates)} other CORE vertebrate motifs of length "
            f"{min_length}..{max_length} in {release}"
        )
    rng = np.random.default_rng([seed, 1])
    picked = sorted(rng.choice(len(candidates), size=n_extra, replace=False))
    extra = [
        Motif(
            name=m.name,
            matrix_id=m.matrix_id,
            jaspar_name=m.name,
            species=",".join(_species(m)),
            collection=str(m.collection),
            pwm=_counts_to_pwm(m, f"pool motif {m.matrix_id}"),
        )
        for m in (candidates[i] for i in picked)
    ]
    return core_motifs + extra


def reverse_complement(pwm: np.ndarray) -> np.ndarray:
    """Reverse complement of an ACGT-ordered ``(4, L)`` matrix (flip rows A<->T, C<->G and columns)."""
    pwm = np.asarray(pwm)
    if pwm.ndim < 2 or pwm.shape[-2] != 4:
        raise ValueError(f"pwm must have shape (..., 4, L), got {pwm.shape}")
    return pwm[..., ::-1, ::-1]


def column_information(pwm: np.ndarray) -> np.ndarray:
    """Information content in bits of each column: ``2 + sum_b p_b log2 p_b`` (with ``0 log 0 = 0``).

    Parameters
    ----------
    pwm : numpy.ndarray
        ``(..., 4, L)`` probabilities; all-zero columns (background in the ground-truth PWM) give 0.

    Returns
    -------
    numpy.ndarray
        ``(..., L)``.
    """
    pwm = np.asarray(pwm, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(pwm > 0, pwm * np.log2(np.where(pwm > 0, pwm, 1.0)), 0.0)
    info = 2.0 + plogp.sum(axis=-2)
    return np.where(pwm.sum(axis=-2) > 0, info, 0.0)


@dataclass
class DNADataset:
    """Synthetic motif dataset.

    Attributes
    ----------
    x : numpy.ndarray
        ``(N, 4, L)`` float32 one-hot, ACGT rows.
    y : numpy.ndarray
        ``(N,)`` float32 labels (1 = core-motif grammar).
    info : numpy.ndarray
        ``(N, L)`` float32 ground-truth information (bits) of the embedded PWM column, 0 for background.
    pwm : numpy.ndarray
        ``(N, 4, L)`` float32 embedded PWM columns, 0 for background.
    split : numpy.ndarray
        ``(N,)`` int8: 0 train, 1 valid, 2 test (see ``SPLIT_CODES``).
    motif_names, motif_ids : numpy.ndarray
        ``(M,)`` str: the motifs of the negative pool (core first); instances index into them.
    instances : numpy.ndarray
        ``(K, 5)`` int64 rows ``(sequence, motif index, strand (0 forward, 1 reverse), start, length)``
        for every embedded motif.
    params : dict
        The generator arguments (release, seed, sizes) for provenance.
    """

    x: np.ndarray
    y: np.ndarray
    info: np.ndarray
    pwm: np.ndarray
    split: np.ndarray
    motif_names: np.ndarray
    motif_ids: np.ndarray
    instances: np.ndarray
    params: dict

    def subset(self, which: str) -> dict[str, np.ndarray]:
        """Arrays ``x, y, info, pwm`` of one split (``"train"``, ``"valid"`` or ``"test"``)."""
        if which not in SPLIT_CODES:
            raise ValueError(f"which={which!r} must be one of {list(SPLIT_CODES)}")
        idx = np.flatnonzero(self.split == SPLIT_CODES[which])
        return {"x": self.x[idx], "y": self.y[idx], "info": self.info[idx], "pwm": self.pwm[idx], "index": idx}

    def __len__(self) -> int:
        return int(self.x.shape[0])


def _validate_positive_int(value, argname: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{argname} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _label_split(size: int, fractions) -> tuple[int, int]:
    """Train and validation sequences of one label's ``size`` (the rest is test) in the stratified split."""
    return int(round(fractions[0] * size)), int(round(fractions[1] * size))


def split_sizes(n_sequences: int, split_fractions: Sequence[float] = (0.7, 0.1, 0.2)) -> dict[str, int]:
    """Sequences per split of :func:`make_dna_dataset` (``N // 2`` positives, each label split on its own):
    ``train``, ``valid``, ``test`` and ``test_positive`` (the sequences an attribution job may explain)."""
    n_pos = int(n_sequences) // 2
    sizes = {"train": 0, "valid": 0, "test": 0, "test_positive": 0}
    for size in (int(n_sequences) - n_pos, n_pos):
        n_tr, n_va = _label_split(size, split_fractions)
        sizes["train"] += n_tr
        sizes["valid"] += n_va
        sizes["test"] += size - n_tr - n_va
    sizes["test_positive"] = n_pos - sum(_label_split(n_pos, split_fractions))
    return sizes


def make_dna_dataset(
    n_sequences: int = 2000,
    seq_length: int = 200,
    n_negative_pool: int = 50,
    release: str = "JASPAR2024",
    seed: int = 0,
    *,
    core_motifs: Sequence[str] = CORE_MOTIFS,
    min_motifs: int = 2,
    max_motifs: int = 4,
    max_gap: int = 20,
    split_fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
) -> DNADataset:
    """Generate the synthetic motif-grammar dataset.

    Parameters
    ----------
    n_sequences : int
        Number of sequences ``N`` (``N // 2`` positives). Paper: 20,000.
    seq_length : int
        Sequence length ``L``. Paper: 200.
    n_negative_pool : int
        Size of the negative motif pool, core motifs included. Paper: ~50.
    release : str
        JASPAR release bundled with pyjaspar.
    seed : int
        Seed of every random draw (pool choice, motif choice, strand, gaps, letters, split).
    core_motifs : sequence of str
        Names of the motifs that make up positive grammars.
    min_motifs, max_motifs : int
        Number of motifs per sequence, uniform in ``[min_motifs, max_motifs]`` (same law for both classes, so
        the count carries no label information).
    max_gap : int
        Gaps between consecutive motifs are uniform in ``[0, max_gap]``.
    split_fractions : tuple of float
        Train/valid/test fractions, applied per class (stratified).

    Returns
    -------
    DNADataset

    Raises
    ------
    ValueError
        If an argument is out of range, or ``seq_length`` cannot hold ``max_motifs`` of the longest motif
        with maximal gaps.
    LookupError
        If a core motif is absent from the release.
    """
    n_sequences = _validate_positive_int(n_sequences, "n_sequences", 2)
    seq_length = _validate_positive_int(seq_length, "seq_length")
    min_motifs = _validate_positive_int(min_motifs, "min_motifs")
    max_motifs = _validate_positive_int(max_motifs, "max_motifs")
    max_gap = _validate_positive_int(max_gap, "max_gap", 0)
    seed = _validate_positive_int(seed, "seed", 0)
    if max_motifs < min_motifs:
        raise ValueError(f"max_motifs={max_motifs} must be >= min_motifs={min_motifs}")
    fr = np.asarray(split_fractions, dtype=float)
    if fr.shape != (3,) or np.any(fr < 0) or not np.isclose(fr.sum(), 1.0):
        raise ValueError(f"split_fractions={split_fractions!r} must be three non-negative numbers summing to 1")

    db = _open_jaspar(release)
    pool = negative_motif_pool(n_negative_pool, release=release, seed=seed, core=core_motifs, db=db)
    n_core = len(core_motifs)
    max_len = max(m.length for m in pool)
    worst_span = max_motifs * max_len + (max_motifs - 1) * max_gap
    if worst_span > seq_length:
        raise ValueError(
            f"seq_length={seq_length} is too short: {max_motifs} motifs of up to {max_len} nt with gaps up to "
            f"{max_gap} need {worst_span} nt (lower max_motifs or max_gap, or lengthen the sequences)"
        )

    rng = np.random.default_rng([seed, 0])
    N, L = n_sequences, seq_length
    n_pos = N // 2
    y = np.zeros(N, dtype=np.float32)
    y[rng.permutation(N)[:n_pos]] = 1.0

    # --- motif instances, vectorised over (sequence, slot) ------------------------------------------------
    n_mot = rng.integers(min_motifs, max_motifs + 1, size=N)
    slots = np.arange(max_motifs)[None, :] < n_mot[:, None]  # (N, S) active slots
    choice = np.where(
        (y == 1)[:, None],
        rng.integers(0, n_core, size=(N, max_motifs)),
        rng.integers(0, len(pool), size=(N, max_motifs)),
    )
    strand = rng.integers(0, 2, size=(N, max_motifs))
    lengths_all = np.array([m.length for m in pool])
    lens = np.where(slots, lengths_all[choice], 0)
    gaps = np.where(slots[:, 1:], rng.integers(0, max_gap + 1, size=(N, max_motifs - 1)), 0)
    # offset of slot s from the grammar start = sum of previous lengths and gaps
    rel = np.zeros((N, max_motifs), dtype=np.int64)
    rel[:, 1:] = np.cumsum(lens[:, :-1] + gaps, axis=1)
    span = rel[np.arange(N), n_mot - 1] + lens[np.arange(N), n_mot - 1]
    start0 = np.floor(rng.random(N) * (L - span + 1)).astype(np.int64)
    starts = start0[:, None] + rel

    seq_i, slot_i = np.nonzero(slots)
    inst = np.stack(
        [seq_i, choice[seq_i, slot_i], strand[seq_i, slot_i], starts[seq_i, slot_i], lens[seq_i, slot_i]], axis=1
    ).astype(np.int64)

    # --- all PWM columns of the pool, forward then reverse complement --------------------------------------
    fwd = [m.pwm for m in pool]
    rev = [reverse_complement(m.pwm) for m in pool]
    columns = np.concatenate(fwd + rev, axis=1).T  # (C, 4)
    col_offset = np.concatenate([[0], np.cumsum([p.shape[1] for p in fwd + rev])[:-1]])
    col_info = column_information(columns.T)

    # expand instances to positions
    inst_len = inst[:, 4]
    rep = np.repeat(np.arange(len(inst)), inst_len)
    within = np.arange(rep.size) - np.repeat(np.cumsum(inst_len) - inst_len, inst_len)
    pos_seq = inst[rep, 0]
    pos_loc = inst[rep, 3] + within
    pos_col = col_offset[inst[rep, 1] + len(pool) * inst[rep, 2]] + within

    tokens = rng.integers(0, 4, size=(N, L), dtype=np.int8)  # uniform background
    cdf = np.cumsum(columns[pos_col], axis=1)
    u = rng.random(pos_col.size)[:, None]
    letters = np.minimum((u >= cdf[:, :3]).sum(axis=1), 3).astype(np.int8)
    tokens[pos_seq, pos_loc] = letters

    x = np.zeros((N, 4, L), dtype=np.float32)
    np.put_along_axis(x, tokens[:, None, :].astype(np.int64), 1.0, axis=1)
    info = np.zeros((N, L), dtype=np.float32)
    info[pos_seq, pos_loc] = col_info[pos_col]
    pwm = np.zeros((N, 4, L), dtype=np.float32)
    pwm[pos_seq, :, pos_loc] = columns[pos_col]

    # --- stratified 70/10/20 split ----------------------------------------------------------------------
    split = np.empty(N, dtype=np.int8)
    for label in (0.0, 1.0):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_tr, n_va = _label_split(idx.size, fr)
        split[idx[:n_tr]] = 0
        split[idx[n_tr : n_tr + n_va]] = 1
        split[idx[n_tr + n_va :]] = 2

    params = {
        "n_sequences": N,
        "seq_length": L,
        "n_negative_pool": int(n_negative_pool),
        "release": release,
        "seed": int(seed),
        "core_motifs": list(core_motifs),
        "min_motifs": min_motifs,
        "max_motifs": max_motifs,
        "max_gap": max_gap,
        "split_fractions": [float(f) for f in fr],
        "core_matrix_ids": [m.matrix_id for m in pool[:n_core]],
    }
    return DNADataset(
        x=x,
        y=y,
        info=info,
        pwm=pwm,
        split=split,
        motif_names=np.array([m.name for m in pool]),
        motif_ids=np.array([m.matrix_id for m in pool]),
        instances=inst,
        params=params,
    )


def save_dna_dataset(ds: DNADataset, path: str | os.PathLike) -> None:
    """Save a :class:`DNADataset` to a compressed ``.npz`` atomically (params as a JSON string)."""
    import json

    save_npz(
        path,
        x=ds.x,
        y=ds.y,
        info=ds.info,
        pwm=ds.pwm,
        split=ds.split,
        motif_names=ds.motif_names.astype(str),
        motif_ids=ds.motif_ids.astype(str),
        instances=ds.instances,
        params=np.array(json.dumps(ds.params, sort_keys=True)),
    )


def load_dna_dataset(path: str | os.PathLike) -> DNADataset:
    """Load a dataset written by :func:`save_dna_dataset`; errors name the file and any missing array."""
    import json

    d = load_npz(path, required=_NPZ_KEYS)
    return DNADataset(
        x=d["x"],
        y=d["y"],
        info=d["info"],
        pwm=d["pwm"],
        split=d["split"],
        motif_names=d["motif_names"],
        motif_ids=d["motif_ids"],
        instances=d["instances"],
        params=json.loads(str(d["params"])),
    )


def onehot_to_strings(x: np.ndarray) -> list[str]:
    """Decode ``(N, 4, L)`` one-hot arrays to ACGT strings (argmax per position)."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1] != 4:
        raise ValueError(f"x must have shape (N, 4, L), got {x.shape}")
    letters = np.array(list(ALPHABET))[x.argmax(axis=1)]
    return ["".join(row) for row in letters]
