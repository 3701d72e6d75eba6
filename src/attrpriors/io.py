"""File I/O with atomic writes: an output is either complete or absent; and readers that name a bad file.

Every writer in the library goes through :func:`atomic_path`, which yields a temporary path next to the
target and renames it into place only when the block finishes without an exception.

Every reader of a file kind the workflow writes (:func:`load_npz`, :func:`load_torch`, :func:`read_table`,
:func:`read_json`, and :func:`attrpriors.enrichment.read_gmt`) raises :class:`CorruptFileError` for a truncated or
corrupt file, naming it and saying how to regenerate it (delete it and rerun: Snakemake rebuilds it and everything
that depends on it). Text files must end with a newline (every writer here ends them so), and a table's last line
must have as many fields as its header: a file cut mid-line is caught; one cut exactly at a line end is not.
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


REGENERATE = ("if it is an output of this workflow, delete it and rerun the same snakemake command "
              "(it and everything that depends on it are rebuilt)")


class CorruptFileError(ValueError):
    """An input file that cannot be read as its kind: truncated, corrupt or not what its name says."""


def corrupt_file(path: str | os.PathLike, kind: str, detail: str) -> CorruptFileError:
    """The error for an unreadable ``kind`` file at ``path``: names the file, the problem and the remedy."""
    return CorruptFileError(f"{path}: truncated or corrupt {kind} ({detail}); {REGENERATE}")


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input file not found: {path}")
    return path


def check_text_complete(path: str | os.PathLike, kind: str) -> bytes:
    """The bytes of a text file that must be non-empty and end with a newline (else :class:`CorruptFileError`)."""
    data = _existing(path).read_bytes()
    if not data.strip():
        raise corrupt_file(path, kind, "the file is empty")
    if not data.endswith(b"\n"):
        raise corrupt_file(path, kind, "it does not end with a newline: cut off while being written or copied?")
    return data


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
    path = _existing(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except Exception as err:  # corrupt or truncated file: say which one
        raise corrupt_file(path, ".npz file", f"{type(err).__name__}: {err}") from err
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


def read_table(path: str | os.PathLike, required: tuple[str, ...] = (), complete: bool = True) -> pd.DataFrame:
    """Read a CSV/TSV table; raise an error naming the file and any missing column.

    ``complete`` (for files this workflow wrote): the file must end with a newline and its last line must have
    as many fields as the header, else :class:`CorruptFileError`. Pass ``complete=False`` for files a user made.
    """
    import csv
    import io as _io

    path = _existing(path)
    sep = "\t" if path.suffix == ".tsv" else ","
    kind = f"{path.suffix or 'table'} table"
    if complete:
        data = check_text_complete(path, kind)
        lines = data.decode("utf-8", errors="replace").rstrip("\n").split("\n")
        header, last = (next(csv.reader(_io.StringIO(line), delimiter=sep)) for line in (lines[0], lines[-1]))
        if len(lines) > 1 and len(last) != len(header):
            raise corrupt_file(path, kind, f"its last line has {len(last)} fields, the header {len(header)}")
    try:
        df = pd.read_csv(path, sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise corrupt_file(path, kind, f"{type(err).__name__}: {err}") from err
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise KeyError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
    return df


def save_json(obj: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write a JSON document atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON document; :class:`CorruptFileError` naming the file if it is truncated or not JSON."""
    path = _existing(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise corrupt_file(path, ".json file", f"{type(err).__name__}: {err}") from err


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


def load_torch(path: str | os.PathLike, map_location: str = "cpu") -> Any:
    """``torch.load`` a checkpoint written by :func:`save_torch`; :class:`CorruptFileError` naming a bad file."""
    import torch

    path = _existing(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # truncated zip, bad pickle, ...: say which file
        raise corrupt_file(path, ".pt checkpoint", f"{type(err).__name__}: {err}") from err
