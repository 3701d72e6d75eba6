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
