"""File I/O with atomic writes: an output is either complete or absent.

Every writer in the library goes through :func:`atomic_path`, which yields a temporary path next to the
target and renames it into place only when the block finishes without an exception.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success, delete it on failure.

    The temporary name keeps the target's suffix so that writers that infer the format from the
    suffix (matplotlib, numpy) behave as for the real path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{''.join(path.suffixes)}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates the file 0600; give the output the permissions a plain open() would (0666 & ~umask),
        # so results on a shared lab or cluster file system stay readable by the group
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_npz(path: str | os.PathLike, **arrays: Any) -> None:
    """Save arrays to a compressed ``.npz`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def load_npz(path: str | os.PathLike, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Load an ``.npz`` into a dict; raise an error naming the file and the missing key."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except Exception as err:  # corrupt or truncated file: say which one
        raise ValueError(f"{path}: not a readable .npz file ({type(err).__name__}: {err})") from err
    missing = [k for k in required if k not in out]
    if missing:
        raise KeyError(f"{path}: missing array(s) {missing}; found {sorted(out)}")
    return out


def save_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a DataFrame as CSV (``.csv``), Parquet-free TSV (``.tsv``) or Markdown (``.md``), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        elif path.suffix == ".tsv":
            df.to_csv(tmp, index=False, sep="\t")
        elif path.suffix == ".md":
            tmp.write_text(df.to_markdown(index=False) + "\n")
        else:
            raise ValueError(f"{path}: unsupported table suffix {path.suffix!r} (use .csv, .tsv or .md)")


def read_table(path: str | os.PathLike, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV/TSV table; raise an error naming the file and any missing column."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input file not found: {path}")
    df = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise KeyError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
    return df


def save_json(obj: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write a JSON document atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def save_torch(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` atomically."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
