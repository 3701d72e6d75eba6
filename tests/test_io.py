"""Atomic writes: an output is complete or absent, and gets the permissions a plain open() would give."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from attrpriors.io import atomic_path, save_table


def test_atomic_output_is_readable_by_the_group_as_umask_allows(tmp_path):
    old = os.umask(0o022)
    try:
        save_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    finally:
        os.umask(old)
    assert (tmp_path / "t.csv").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


def test_atomic_output_is_absent_after_a_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "half.csv") as tmp:
            tmp.write_text("a,b\n1")
            raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []


# --- readers: a truncated or corrupt file of every kind the workflow writes is named, with the remedy ----------
import numpy as np  # noqa: E402
import torch  # noqa: E402

from attrpriors.enrichment import read_gmt, write_gmt  # noqa: E402
from attrpriors.io import (  # noqa: E402
    CorruptFileError,
    load_npz,
    load_torch,
    read_json,
    read_table,
    save_json,
    save_npz,
    save_torch,
)
from attrpriors.models import MLP, load_model, model_checkpoint_info  # noqa: E402


def _cut(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _written(tmp_path):
    """One file of every kind, written by the library's own writers, and its reader."""
    rng = np.random.default_rng(0)
    save_npz(tmp_path / "a.npz", X=rng.normal(size=(50, 40)))
    net = MLP(4, hidden=(8,), n_outputs=1)
    save_torch({**model_checkpoint_info({"type": "mlp", "hidden": [8]}, 4, 1), "state_dict": net.state_dict()},
               tmp_path / "m.pt")
    df = pd.DataFrame({"gene": [f"G{i}" for i in range(40)], "value": rng.normal(size=40)})
    save_table(df, tmp_path / "t.csv")
    save_table(df, tmp_path / "t.tsv")
    save_json({"train": list(range(30)), "test": list(range(30, 40))}, tmp_path / "s.json")
    write_gmt({f"set{i}": [f"G{j}" for j in range(i, i + 15)] for i in range(5)}, tmp_path / "k.gmt")
    return {
        "a.npz": lambda p: load_npz(p, ("X",)),
        "m.pt": load_model,
        "t.csv": lambda p: read_table(p, ("gene", "value")),
        "t.tsv": lambda p: read_table(p, ("gene", "value")),
        "s.json": read_json,
        "k.gmt": read_gmt,
    }


@pytest.mark.parametrize("name", ["a.npz", "m.pt", "t.csv", "t.tsv", "s.json", "k.gmt"])
@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage"])
def test_every_kind_of_intermediate_names_a_damaged_file(tmp_path, name, damage):
    readers = _written(tmp_path)
    path = tmp_path / name
    readers[name](path)  # positive control: the intact file reads
    if damage == "truncated":
        _cut(path, 0.5)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(b"\x00\xff" * 10 + b"not this kind of file")
    with pytest.raises(CorruptFileError) as err:
        readers[name](path)
    msg = str(err.value)
    assert str(path) in msg and "delete it and rerun" in msg, msg


def test_a_truncated_table_is_caught_even_when_pandas_would_read_it(tmp_path):
    save_table(pd.DataFrame({"a": [1.25, 2.5], "b": [3.5, 4.75]}), tmp_path / "t.csv")
    text = (tmp_path / "t.csv").read_text()
    (tmp_path / "t.csv").write_text(text[: text.rindex(",") + 1] + "4\n")  # cut mid-line, then a newline
    assert pd.read_csv(tmp_path / "t.csv").shape == (2, 2)  # pandas reads it (last value 4 instead of 4.75) ...
    (tmp_path / "t.csv").write_text(text[: text.rindex(",")] + "\n")  # ... and a missing field becomes NaN
    assert pd.read_csv(tmp_path / "t.csv")["b"].isna().any()
    with pytest.raises(CorruptFileError, match="last line has 1 fields, the header 2"):
        read_table(tmp_path / "t.csv")


def test_user_tables_need_not_end_with_a_newline(tmp_path):
    (tmp_path / "expression.tsv").write_text("sample\tG1\nS1\t0.5")
    assert read_table(tmp_path / "expression.tsv", ("sample",), complete=False).shape == (1, 2)
    with pytest.raises(CorruptFileError, match="does not end with a newline"):
        read_table(tmp_path / "expression.tsv")


def test_load_torch_roundtrip(tmp_path):
    save_torch({"w": torch.ones(3)}, tmp_path / "x.pt")
    assert torch.equal(load_torch(tmp_path / "x.pt")["w"], torch.ones(3))
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_torch(tmp_path / "missing.pt")
