"""The bundled seed prices (events/data/seed-prices.parquet): exactly what the seed
study needs, unchanged from their source.

The first two tests run everywhere; the third compares the snapshot with
``../shared/market-data/seed-prices.csv`` and skips, with a reason, where that
read-only folder is absent.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import EVENTS_DIR, SEED_PRICES, SNAPSHOT

from eventstudy.config import load_study
from eventstudy.inputs.sources import plan_study, read_catalog

SOURCE_SHA = "1b6babafd841b9aeb97e0d858a749bb0aa7b55f8d2975ea0bb82c2aa527a7b17"
STUDY = EVENTS_DIR / "japan_us_investment.toml"


def _snapshot() -> pd.DataFrame:
    df = pd.read_parquet(SNAPSHOT)
    df["date"] = pd.to_datetime(df["date"])
    for c in ("ticker", "adjusted", "source"):
        df[c] = df[c].astype(str)
    return df


def test_snapshot_is_small_and_names_its_source() -> None:
    assert SNAPSHOT.stat().st_size < 1_000_000
    meta = pq.read_schema(SNAPSHOT).metadata
    assert meta[b"source_sha256"].decode() == SOURCE_SHA
    readme = (SNAPSHOT.parent / "README.md").read_text(encoding="utf-8")
    assert SOURCE_SHA in readme and "yen" in readme.lower()


def test_snapshot_holds_exactly_the_study_tickers() -> None:
    study = load_study(STUDY)
    assert study.source == "file" and Path(study.prices or "") == SNAPSHOT
    plan = plan_study(study, *read_catalog(study))
    df = _snapshot()
    assert sorted(df["ticker"].unique()) == sorted(plan.tickers)
    assert not df.duplicated(["ticker", "date"]).any()
    assert df["close"].notna().all()
    # every ticker covers the study's whole date range
    span = df.groupby("ticker")["date"].agg(["min", "max"])
    assert (span["min"] <= plan.start + pd.Timedelta(days=10)).all(), span
    assert (span["max"] >= plan.end - pd.Timedelta(days=10)).all(), span


def test_snapshot_rows_equal_the_source_file() -> None:
    if not SEED_PRICES.is_file():
        pytest.skip(f"{SEED_PRICES} is not here (the read-only ../shared folder); "
                    "the snapshot's own checks above still ran")
    assert hashlib.sha256(SEED_PRICES.read_bytes()).hexdigest() == SOURCE_SHA
    src = pd.read_csv(SEED_PRICES, dtype={"ticker": str, "adjusted": str,
                                          "source": str})
    src["date"] = pd.to_datetime(src["date"])
    snap = _snapshot()
    src = src[src["ticker"].isin(set(snap["ticker"]))]
    key = ["ticker", "date"]
    a = src.sort_values(key).reset_index(drop=True)[snap.columns]
    b = snap.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
