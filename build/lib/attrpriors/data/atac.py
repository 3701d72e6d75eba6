"""Chromatin-accessibility (ATAC-seq) sequences for the consistency experiment (Majdandzic et al. 2022, paper scale).

The paper's GM12878 ATAC-seq data ship in ``datasets.zip`` of Zenodo record 10.5281/zenodo.7186054 (registry
name ``majdandzic_atac`` in :mod:`attrpriors.data.download`). :func:`load_atac_dataset` reads one HDF5 file
from that archive (or an HDF5 file given directly) into the same :class:`~attrpriors.data.dna_motifs.DNADataset`
the synthetic data use, so the rest of the experiment does not know where the sequences came from:

* one-hot ``x`` ``(N, L, 4)`` or ``(N, 4, L)`` → ``(N, 4, L)`` float32; sequences that are not strictly one-hot
  (ambiguous ``N`` positions) are dropped, because the consistency metrics count k-mers of real letters;
* labels: 0/1 values, a column ``task_index`` of a multi-task label matrix, or quantitative targets binarised at
  ``threshold``;
* splits: the file's own ``x_train/x_valid/x_test`` (any case; ``val`` or ``valid``) when present, otherwise a
  stratified random split with ``split_fractions``;
* there is no ground truth: ``info`` and ``pwm`` are zeros and ``params["has_ground_truth"]`` is False, so the
  interpretability scores come out NaN and only generalization and consistency are measured.

The archive's layout is not fixed here: ``member`` names the HDF5 file inside the zip; left empty, the single
HDF5 member whose path contains ``match`` (case-insensitive) is used, and an error lists the candidates when
there is not exactly one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from .dna_motifs import SPLIT_CODES, DNADataset

__all__ = ["load_atac_dataset", "find_member"]

_H5_SUFFIXES = (".h5", ".hdf5", ".hdf")


def find_member(zip_path: str | os.PathLike, member: str | None = None, match: str = "GM12878") -> str:
    """The HDF5 member of ``zip_path`` to read: ``member`` if given, else the single one whose path contains ``match``."""
    with zipfile.ZipFile(zip_path) as zf:
        names = [n for n in zf.namelist() if n.lower().endswith(_H5_SUFFIXES)]
    if member:
        if member not in names:
            raise KeyError(f"{zip_path}: no HDF5 member {member!r} (config dna_consistency.data.download.member); "
                           f"HDF5 members: {names}")
        return member
    hits = [n for n in names if match.lower() in n.lower()]
    if len(hits) != 1:
        raise KeyError(f"{zip_path}: {len(hits)} HDF5 members contain {match!r}; set "
                       f"dna_consistency.data.download.member to one of {names}")
    return hits[0]


def _key(keys: Sequence[str], *candidates: str) -> str | None:
    lower = {k.lower(): k for k in keys}
    for c in candidates:
        if c.lower() in lower:
            return lower[c.lower()]
    return None


def _to_channels_first(x: np.ndarray, where: str) -> np.ndarray:
    if x.ndim != 3 or 4 not in (x.shape[1], x.shape[2]):
        raise ValueError(f"{where}: sequences must be one-hot (N, L, 4) or (N, 4, L), got shape {x.shape}")
    return np.ascontiguousarray(x if x.shape[1] == 4 else x.transpose(0, 2, 1), dtype=np.float32)


def _labels(y: np.ndarray, task_index: int, threshold: float | None, where: str) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2:
        if not 0 <= task_index < y.shape[1]:
            raise ValueError(f"{where}: task_index={task_index} out of range for {y.shape[1]} label columns "
                             "(config dna_consistency.data.download.task_index)")
        y = y[:, task_index]
    elif y.ndim != 1:
        raise ValueError(f"{where}: labels must be (N,) or (N, tasks), got shape {y.shape}")
    if threshold is not None:
        return (y > float(threshold)).astype(np.float32)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{where}: labels are not 0/1; set dna_consistency.data.download.threshold to binarise "
                         "quantitative targets")
    return y.astype(np.float32)


def load_atac_dataset(
    path: str | os.PathLike,
    member: str | None = None,
    match: str = "GM12878",
    task_index: int = 0,
    threshold: float | None = None,
    split_fractions: Sequence[float] = (0.7, 0.1, 0.2),
    seed: int = 0,
) -> DNADataset:
    """Read ATAC-seq sequences and labels from an HDF5 file or from one inside a zip archive.

    Parameters
    ----------
    path : a ``.zip`` archive (e.g. the paper's ``datasets.zip``) or an HDF5 file.
    member, match : which HDF5 file of the archive (see :func:`find_member`).
    task_index : label column of multi-task labels.
    threshold : binarise quantitative labels as ``y > threshold``; None requires 0/1 labels.
    split_fractions : train/valid/test fractions when the file has no split of its own (stratified).
    seed : seed of that split.

    Raises
    ------
    ImportError if ``h5py`` is missing; KeyError naming the file when arrays are missing; ValueError on shapes.
    """
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("reading the ATAC-seq HDF5 files needs the 'h5py' package: pip install h5py") from exc
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input file not found: {path}")
    tmpdir = None
    try:
        if zipfile.is_zipfile(path):
            name = find_member(path, member, match)
            tmpdir = tempfile.mkdtemp(prefix=".atac.", dir=path.parent)
            with zipfile.ZipFile(path) as zf:
                h5_path = Path(zf.extract(name, tmpdir))
            where = f"{path}::{name}"
        else:
            h5_path, where = path, str(path)
        with h5py.File(h5_path, "r") as f:
            keys = list(f.keys())
            parts = {}
            for split in ("train", "valid", "test"):
                alts = ("valid", "val", "validation") if split == "valid" else (split,)
                kx = _key(keys, *[f"x_{a}" for a in alts])
                ky = _key(keys, *[f"y_{a}" for a in alts])
                if kx and ky:
                    parts[split] = (f[kx][()], f[ky][()])
            if len(parts) != 3:
                kx, ky = _key(keys, "x", "inputs", "sequences"), _key(keys, "y", "targets", "labels")
                if not (kx and ky):
                    raise KeyError(f"{where}: expected arrays x_train/y_train/x_valid/y_valid/x_test/y_test or x/y; "
                                   f"found {keys}")
                parts = {None: (f[kx][()], f[ky][()])}
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)

    xs, ys, splits = [], [], []
    for split, (x, y) in parts.items():
        x = _to_channels_first(np.asarray(x), where)
        y = _labels(y, task_index, threshold, where)
        if len(x) != len(y):
            raise ValueError(f"{where}: {len(x)} sequences but {len(y)} labels")
        xs.append(x)
        ys.append(y)
        splits.append(np.full(len(x), -1 if split is None else SPLIT_CODES[split], dtype=np.int8))
    x, y, split = np.concatenate(xs), np.concatenate(ys), np.concatenate(splits)
    onehot = np.all(np.isin(x, (0.0, 1.0)), axis=(1, 2)) & np.all(x.sum(axis=1) == 1.0, axis=1)
    x, y, split = x[onehot], y[onehot], split[onehot]
    if len(x) == 0:
        raise ValueError(f"{where}: no strictly one-hot sequence")
    if (split == -1).any():
        fr = np.asarray(split_fractions, dtype=float)
        rng = np.random.default_rng([int(seed), 7])
        for label in (0.0, 1.0):
            idx = rng.permutation(np.flatnonzero(y == label))
            n_tr, n_va = int(round(fr[0] * idx.size)), int(round(fr[1] * idx.size))
            split[idx[:n_tr]], split[idx[n_tr : n_tr + n_va]], split[idx[n_tr + n_va :]] = 0, 1, 2
    n, length = x.shape[0], x.shape[2]
    return DNADataset(
        x=x,
        y=y,
        info=np.zeros((n, length), dtype=np.float32),
        pwm=np.zeros((n, 4, length), dtype=np.float32),
        split=split,
        motif_names=np.array([], dtype=str),
        motif_ids=np.array([], dtype=str),
        instances=np.zeros((0, 5), dtype=np.int64),
        params={"source": "download", "file": where, "task_index": int(task_index), "threshold": threshold,
                "n_dropped_not_onehot": int((~onehot).sum()), "has_ground_truth": False},
    )
