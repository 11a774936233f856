"""The Parquet writer's larger batches: the values of pyarrow's default writer,
and the same bytes on every rerun."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from eventstudy.io.csv import LongTable
from eventstudy.io.parquet import COMPRESSION, WRITE_BATCH_ROWS, to_arrow, write_table


def _table() -> LongTable:
    rng = np.random.default_rng(3)
    P, W = 30_000, 7  # 210,000 rows: several batches; 30,000 distinct ids
    ids = np.array([f"E{i:07d}" for i in range(P)], dtype=object)
    rep = np.repeat(np.arange(P), W)
    x = rng.standard_normal(P * W)
    x[::11] = np.nan
    return LongTable(P * W, [("event_id", ids, rep),
                             ("rel_day", np.arange(W), np.tile(np.arange(W), P)),
                             ("value", x, None)])


def test_batches_larger_than_the_default() -> None:
    assert WRITE_BATCH_ROWS > 1024


def test_same_values_as_the_default_writer_and_stable_bytes(tmp_path: Path) -> None:
    t = _table()
    ours = [write_table(t, tmp_path / f"ours{i}.parquet") for i in range(2)]
    assert ours[0] == ours[1]  # reruns: the same bytes
    assert ours[0] == hashlib.sha256((tmp_path / "ours0.parquet").read_bytes()
                                     ).hexdigest()
    tbl = to_arrow(t)
    pq.write_table(tbl, tmp_path / "default.parquet", compression=COMPRESSION,
                   use_dictionary=["event_id"], store_schema=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "ours0.parquet"),
                                  pd.read_parquet(tmp_path / "default.parquet"),
                                  check_exact=True)
    assert (pq.read_schema(tmp_path / "ours0.parquet")
            == pq.read_schema(tmp_path / "default.parquet"))
