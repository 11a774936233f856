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


# the universe's 28 series and their three benchmarks (events/data/README.md)
TICKERS = sorted([
    "7203.T", "7267.T", "7201.T", "7261.T", "7270.T", "7211.T",  # jp_autos
    "4502.T", "4503.T", "4568.T", "4523.T", "4519.T", "4578.T",  # jp_pharma
    "006400.KS", "373220.KS", "096770.KS", "051910.KS",          # kr_batteries
    "005380.KS", "000270.KS",                                    # kr_autos
    "5401.T", "X",                                               # steel
    "9984.T", "6501.T", "8058.T", "7011.T",                      # jp_us_investors
    "TM", "HMC", "TAK",                                          # us_adrs
    "JPY=X",                                                     # yen
    "^TOPX", "^KS11", "^GSPC",                                   # benchmarks
])
ROWS = 25_608


def test_snapshot_is_small_and_names_its_source() -> None:
    size = SNAPSHOT.stat().st_size
    assert size < 300_000
    meta = pq.read_schema(SNAPSHOT).metadata
    assert meta[b"source_sha256"].decode() == SOURCE_SHA
    readme = (SNAPSHOT.parent / "README.md").read_text(encoding="utf-8")
    assert SOURCE_SHA in readme and "yen" in readme.lower()
    # the README's provenance table states this very file
    assert f"| rows | {ROWS:,} (one per date and ticker) |" in readme
    assert f"({size:,} bytes," in readme
    assert f"({len(TICKERS)}) |" in readme
    for t in TICKERS:
        assert f"`{t}`" in readme, t


def test_snapshot_layout() -> None:
    """One row group; zstd; date32 dates; int8 dictionaries for the text columns;
    nothing but ``source_sha256`` in the schema metadata."""
    f = pq.ParquetFile(SNAPSHOT)
    assert f.metadata.num_rows == ROWS and f.metadata.num_row_groups == 1
    schema = f.schema_arrow
    assert schema.names == ["date", "ticker", "close", "volume", "adjusted", "source"]
    assert str(schema.field("date").type) == "date32[day]"
    for c in ("ticker", "adjusted", "source"):
        assert str(schema.field(c).type) == ("dictionary<values=string, "
                                             "indices=int8, ordered=0>"), c
    assert set(schema.metadata) == {b"source_sha256"}
    rg = f.metadata.row_group(0)
    assert {rg.column(i).compression for i in range(rg.num_columns)} == {"ZSTD"}
    df = _snapshot()
    assert sorted(df["ticker"].unique()) == TICKERS
    key = df[["ticker", "date"]]
    assert key.equals(key.sort_values(["ticker", "date"]).reset_index(drop=True))


def test_snapshot_holds_exactly_the_study_tickers() -> None:
    study = load_study(STUDY)
    assert study.source == "file" and Path(study.prices or "") == SNAPSHOT
    plan = plan_study(study, *read_catalog(study))
    df = _snapshot()
    assert sorted(df["ticker"].unique()) == sorted(plan.tickers)
    assert not df.duplicated(["ticker", "date"]).any()
    assert df["close"].notna().all()
    # every ticker covers the study's whole date range, but for the two gaps the
    # README states: the ADRs start 2024-08-22 (their E01/E02 pairs are excluded
    # for too few estimation returns) and US Steel stops at its delisting
    span = df.groupby("ticker")["date"].agg(["min", "max"])
    late = {"TM": "2024-08-22", "HMC": "2024-08-22", "TAK": "2024-08-22"}
    early = {"X": "2025-06-17"}
    first = {t: str(d.date()) for t, d in span["min"].items()
             if d > plan.start + pd.Timedelta(days=10)}
    last = {t: str(d.date()) for t, d in span["max"].items()
            if d < plan.end - pd.Timedelta(days=10)}
    assert first == late, span
    assert last == early, span


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
