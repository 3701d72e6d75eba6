"""Atomic writes: an output is complete or absent, and gets the permissions a plain open() would give."""

from __future__ import annotations

import os
import re
from pathlib import Path

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
    (tmp_path / ".t.csv.sha256").unlink()  # the fallback for a table without its checksum file (copied alone)
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


# --- a text file cut exactly at a line end still parses: its checksum file catches it ----------------------------
import subprocess  # noqa: E402

from attrpriors.io import checksum_path  # noqa: E402


def _cut_at_line_end(path):
    """Drop the last line(s) keeping the file well formed: ends with a newline, every line whole."""
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: max(1, len(lines) // 2)]))


@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "s.json", "k.gmt"])
def test_a_text_file_cut_at_a_line_end_is_caught(tmp_path, name):
    readers = _written(tmp_path)
    path = tmp_path / name
    if name == "s.json":  # a pretty-printed JSON cut at a line end does not parse; a re-dumped shorter one does
        save_json({"train": list(range(30))}, path)  # the checksum file now holds this document's hash ...
        full = path.read_bytes()
        path.write_text('{"train": [0, 1, 2]}\n')  # ... and a valid, shorter one takes its place
    else:
        full = path.read_bytes()
        _cut_at_line_end(path)
    side = checksum_path(path)
    assert side.name == f".{name}.sha256" and side.read_text().endswith(f"  {name}\n")
    assert len(path.read_bytes()) < len(full) and path.read_bytes().endswith(b"\n")
    side.rename(side.with_name("moved"))  # positive control: without the checksum file the cut goes unnoticed
    readers[name](path)
    side.with_name("moved").rename(side)
    with pytest.raises(CorruptFileError, match=f"do not match the SHA-256 recorded when it was written, in "
                                               f"\\.{name}\\.sha256") as err:
        readers[name](path)
    assert str(path) in str(err.value) and "delete it and rerun" in str(err.value)


def test_checksum_files_leave_the_file_itself_plain_and_are_sha256sum_compatible(tmp_path):
    df = pd.DataFrame({"gene": ["A", "B"], "value": [0.5, 1.25]})
    save_table(df, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == df.to_csv(index=False)  # the bytes a plain to_csv writes
    check = subprocess.run(["sha256sum", "-c", ".t.csv.sha256"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0 and "t.csv: OK" in check.stdout
    save_table(df, tmp_path / "t.md")
    save_npz(tmp_path / "a.npz", x=np.zeros(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".t.csv.sha256", "a.npz", "t.csv", "t.md"]
    save_table(df.head(1), tmp_path / "t.csv")  # rewriting updates it
    assert read_table(tmp_path / "t.csv").shape == (1, 2)


def test_a_deliberate_edit_is_accepted_once_its_checksum_file_is_deleted(tmp_path):
    save_table(pd.DataFrame({"a": [1, 2]}), tmp_path / "t.csv")
    (tmp_path / "t.csv").write_text("a\n1\n3\n")
    with pytest.raises(CorruptFileError, match="to keep a deliberate edit, delete .t.csv.sha256"):
        read_table(tmp_path / "t.csv")
    checksum_path(tmp_path / "t.csv").unlink()
    assert read_table(tmp_path / "t.csv")["a"].tolist() == [1, 3]


def test_orphans_of_killed_and_failed_jobs_are_removed_and_nothing_else(tmp_path):
    """atomic_path's temporary files (a killed job's) and checksum files whose output is gone (a failed job's, which
    Snakemake deleted) are removed; a sealed output, its checksum and a download's own record stay."""
    from attrpriors.io import checksum_path, remove_orphans, save_table

    res = tmp_path / "results" / "tables"
    save_table(pd.DataFrame({"a": [1]}), res / "kept.csv")
    save_table(pd.DataFrame({"a": [1]}), res / "deleted.csv")
    (res / "deleted.csv").unlink()
    killed = [res / ".x.csv.ab12_xyz.tmp.csv", res / ".x.csv.ab12_xyz.tmp.csv.sha256", res / ".m.npz.0123abcd.tmp.npz"]
    for p in killed:
        p.write_text("half")
    dl = tmp_path / "resources" / "data.zip"
    dl.parent.mkdir()
    dl.write_bytes(b"zip")
    (tmp_path / "resources" / "data.zip.sha256").write_text("00  data.zip  https://x\n")
    removed = remove_orphans(tmp_path / "results", tmp_path / "resources")
    assert removed == sorted([checksum_path(res / "deleted.csv"), *killed])
    assert (res / "kept.csv").exists() and checksum_path(res / "kept.csv").exists()
    assert (tmp_path / "resources" / "data.zip.sha256").exists()
    assert remove_orphans(tmp_path / "results") == []


def test_a_failed_job_leaves_no_checksum_file_of_its_outputs(tmp_path, monkeypatch):
    """A job that wrote one output and then failed: Snakemake deletes the output, attrpriors.workflow.run the
    checksum file beside it."""
    from types import SimpleNamespace

    from attrpriors.io import checksum_path, save_table
    from attrpriors.workflow import run

    monkeypatch.chdir(tmp_path)
    outs = ["results/a.csv", "results/b.csv"]

    def job():
        save_table(pd.DataFrame({"a": [1]}), outs[0])
        raise RuntimeError("second output failed")

    snk = SimpleNamespace(threads=1, log=[], rule="r", wildcards={}, input=[], output=outs)
    with pytest.raises(RuntimeError, match="second output"):
        run(snk, job)
    assert (tmp_path / outs[0]).exists() and not checksum_path(tmp_path / outs[0]).exists()


def test_downloads_are_verified_against_their_record_before_a_job_reads_them(tmp_path, monkeypatch, caplog):
    from attrpriors.data.download import sha256sum
    from attrpriors.io import CorruptFileError
    from attrpriors.workflow import verify_downloads

    monkeypatch.chdir(tmp_path)
    f = Path("resources/rnaseq/counts.tsv")
    f.parent.mkdir(parents=True)
    f.write_text("gene\ta\nG1\t3\n")
    record = f.with_name(f.name + ".sha256")
    record.write_text(f"{sha256sum(f)}  counts.tsv  https://example.org/counts.tsv\n")
    verify_downloads([str(f), "results/other.csv"])  # matches (and results/ is not checked)
    f.write_text("gene\ta\nG1\t4\n")  # changed since the download
    with pytest.raises(CorruptFileError, match=r"resources/rnaseq/counts.tsv.*recorded in counts.tsv.sha256 when "
                                               r"it was downloaded from https://example.org/counts.tsv; delete"):
        verify_downloads([str(f)])
    record.unlink()  # put there by hand: used, with a warning
    with caplog.at_level("WARNING"):
        verify_downloads([str(f)])
    assert "no download record" in caplog.text


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_intermediates_with_non_finite_values_are_named_before_use(tmp_path, value):
    """Values, not only formats: a NaN or inf in an array or a model's weights stops the reader, naming the file
    and the array; arrays whose NaN means 'unknown' can be named as such; X and y must agree in rows."""
    X = np.random.default_rng(0).normal(size=(20, 5))
    X[3, 2] = value
    save_npz(tmp_path / "d.npz", X_train=X, y_train=np.zeros(20), importance=np.full(5, np.nan))
    with pytest.raises(CorruptFileError, match=r"d.npz.*array 'X_train' \(20, 5\) holds 1 non-finite value.*"
                                               r"index \(3, 2\).*delete it and rerun"):
        load_npz(tmp_path / "d.npz", ("X_train",))
    assert load_npz(tmp_path / "d.npz", ("importance",), may_be_nonfinite=("importance",))["importance"].shape == (5,)
    with pytest.raises(CorruptFileError, match="'importance'"):
        load_npz(tmp_path / "d.npz", ("importance",))
    save_npz(tmp_path / "r.npz", X=np.zeros((20, 5)), y=np.zeros(19))
    with pytest.raises(CorruptFileError, match="X has 20 rows but y 19"):
        load_npz(tmp_path / "r.npz", ("X", "y"))
    net = MLP(4, hidden=(8,), n_outputs=1)
    state = net.state_dict()
    key = next(k for k in state if k.endswith("weight"))
    state[key].view(-1)[0] = float(value)
    save_torch({**model_checkpoint_info({"type": "mlp", "hidden": [8]}, 4, 1), "state_dict": state}, tmp_path / "m.pt")
    with pytest.raises(CorruptFileError, match=rf"m.pt.*parameter '{re.escape(key)}' holds 1 non-finite"):
        load_model(tmp_path / "m.pt")


def test_an_array_whose_shape_disagrees_with_the_config_is_named(tmp_path):
    save_npz(tmp_path / "d.npz", split=np.zeros((3, 40)))
    assert load_npz(tmp_path / "d.npz", ("split",), shapes={"split": (3, None)})["split"].shape == (3, 40)
    with pytest.raises(CorruptFileError, match=r"array 'split' has shape \(3, 40\), the config implies \(5, 'any'\)"):
        load_npz(tmp_path / "d.npz", ("split",), shapes={"split": (5, None)})
