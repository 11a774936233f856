"""A LongTable's text columns as a pandas column's own Arrow strings: the same CSV
bytes, Parquet bytes and frame as with their numpy values."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eventstudy.io.csv import LongTable
from eventstudy.io.parquet import write_table as write_parquet


def _tables(missing: bool) -> tuple[LongTable, LongTable]:
    rng = np.random.default_rng(5)
    P, W = 4000, 5
    ids = pd.Series([f"E{i:05d}" for i in range(P)], dtype="str")
    grp = pd.Series(rng.choice(["autos", "yen", "pharma, Japan", 'say "hi"'], P),
                    dtype="str")
    if missing:
        grp[7] = None
    rep = np.repeat(np.arange(P), W)
    x = rng.standard_normal(P * W)
    assert hasattr(ids.array, "__arrow_array__")
    arrow = LongTable(P * W, [("event_id", ids.array, rep), ("group", grp.array, rep),
                              ("x", x, None)])
    plain = LongTable(P * W, [("event_id", ids.to_numpy(), rep),
                              ("group", grp.to_numpy(), rep), ("x", x, None)])
    return arrow, plain


@pytest.mark.parametrize("missing", [False, True])
def test_arrow_text_columns_write_the_same_bytes(tmp_path: Path, missing: bool) -> None:
    arrow, plain = _tables(missing)
    for name, write in (("csv", LongTable.write), ("parquet", write_parquet)):
        a, b = tmp_path / f"a.{name}", tmp_path / f"b.{name}"
        write(arrow, a)
        write(plain, b)
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(
            b.read_bytes()).digest(), name
    pd.testing.assert_frame_equal(arrow.frame(), plain.frame())
