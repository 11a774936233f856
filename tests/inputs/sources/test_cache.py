"""Tests of eventstudy.inputs.sources.cache with YahooProvider over the offline
yfinance fake."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fake_yfinance import FakeYahoo, standard_universe

import eventstudy.inputs.sources.cache as cache_module
import eventstudy.io.atomic as atomic_module
from eventstudy.errors import DataUnavailableError, InputError, PriceDataError
from eventstudy.inputs.sources.cache import (
    PriceCache,
    default_cache_dir,
    filename_to_ticker,
    ticker_to_filename,
)
from eventstudy.inputs.sources.yahoo import YahooProvider

START, END = "2024-01-01", "2024-03-29"
TABLE_COLUMNS = ["date", "close", "adj_close", "dividends", "splits", "volume",
                 "open"]


def clock(day: str, hour: int = 12) -> Any:
    """A fixed UTC clock."""
    moment = dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)
    return lambda: moment


def no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def fake() -> FakeYahoo:
    return standard_universe()


@pytest.fixture
def provider(fake: FakeYahoo) -> YahooProvider:
    return YahooProvider(download=fake.download, sleep=no_sleep)


@pytest.fixture
def cache(tmp_path: Path) -> PriceCache:
    return PriceCache(tmp_path / "cache", now=clock("2025-06-02"))


def table(fake: FakeYahoo, ticker: str, start: str, end: str) -> pd.DataFrame:
    return fake.expected(ticker, start, end)[TABLE_COLUMNS].reset_index(drop=True)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


# --------------------------------------------------------------- layout


@pytest.mark.parametrize("ticker", ["7203.T", "^TOPX", "JPY=X", "BRK/B", "a%b", "."])
def test_file_names_are_safe_and_reversible(ticker: str) -> None:
    name = ticker_to_filename(ticker)
    assert "/" not in name and "^" not in name and "=" not in name
    assert name.endswith(".parquet") and name not in (".parquet", "..parquet")
    assert filename_to_ticker(name) == ticker


def test_default_cache_dir() -> None:
    path = default_cache_dir()
    assert isinstance(path, Path) and path.name == "eventstudy"


def test_round_trip(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    tickers = ["7203.T", "^TOPX", "JPY=X"]
    report = cache.update(provider, tickers, START, END)
    assert report.downloaded and report.provider_calls == 1 and not report.failed
    assert [r.rows_added for r in report.results] == [63, 63, 65]
    assert sorted(p.name for p in cache.prices_dir.iterdir()) == [
        "%5ETOPX.parquet",
        "7203.T.parquet",
        "JPY%3DX.parquet",
    ]
    assert cache.tickers() == sorted(tickers)
    for ticker in tickers:
        pd.testing.assert_frame_equal(
            cache.read(ticker), table(fake, ticker, START, END)
        )
    # fetched_at is metadata, never a column.
    stored = pq.read_table(cache.path("^TOPX"))
    assert stored.column_names == TABLE_COLUMNS
    meta = json.loads(stored.schema.metadata[b"eventstudy"])
    assert meta["ticker"] == "^TOPX"
    assert meta["fetched_at"] == "2025-06-02T12:00:00+00:00"
    assert meta["requested_start"] == START and meta["complete_through"] == END
    assert cache.coverage("7203.T") == (pd.Timestamp(START), pd.Timestamp(END))
    info = cache.info("7203.T")
    assert info is not None and info.rows == 63 and info.last == pd.Timestamp(END)
    assert cache.read("6758.T") is None and cache.coverage("6758.T") is None


def test_load_panel_is_canonical(cache: PriceCache, provider: YahooProvider) -> None:
    cache.update(provider, ["7203.T", "JPY=X"], START, END)
    panel = cache.load_panel(["JPY=X", "7203.T"], "2024-01-03", "2024-01-10")
    assert list(panel.columns) == ["JPY=X", "7203.T"]
    assert panel.index.name == "date" and panel.index.tz is None
    assert panel.index.dtype == "datetime64[ns]"
    assert panel.index.is_monotonic_increasing and panel.index.is_unique
    assert (panel.index == panel.index.normalize()).all()
    assert (panel.dtypes == "float64").all()
    # 2024-01-08 is a Tokyo holiday but a JPY=X day: NaN, not 0, not forward-filled.
    assert pd.isna(panel.loc["2024-01-08", "7203.T"])
    assert panel.loc["2024-01-08", "JPY=X"] > 0
    close = cache.load_panel(["7203.T"], field="close")
    assert len(close) == 63
    with pytest.raises(InputError, match="unknown field"):
        cache.load_panel(["7203.T"], field="high")  # type: ignore[arg-type]


# --------------------------------------------------------------- incremental


def test_incremental_extension_and_nothing_to_download(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    cache.update(provider, ["7203.T", "7267.T"], START, END)
    report = cache.update(provider, ["7203.T", "7267.T"], START, "2024-04-30")
    # Only the new days, overlapping the cache by its last date, in one batch.
    assert fake.calls[-1]["start"] == END and fake.calls[-1]["end"] == "2024-05-01"
    assert report.provider_calls == 1
    assert report["7203.T"].rows_added == 22 and not report["7203.T"].refetched
    pd.testing.assert_frame_equal(
        cache.read("7203.T"), table(fake, "7203.T", START, "2024-04-30")
    )
    calls = len(fake.calls)
    again = cache.update(provider, ["7203.T", "7267.T"], START, "2024-04-30")
    assert not again.downloaded and again.provider_calls == 0
    assert all(not r.downloaded and r.rows_added == 0 for r in again.results)
    assert len(fake.calls) == calls
    # A sub-range of what is cached downloads nothing either.
    assert not cache.update(provider, ["7203.T"], "2024-02-01", "2024-03-01").downloaded


def test_head_extension(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    cache.update(provider, ["7203.T"], "2024-02-01", END)
    report = cache.update(provider, ["7203.T"], START, END)
    assert fake.calls[-1]["start"] == START and fake.calls[-1]["end"] == "2024-02-02"
    assert report["7203.T"].rows_added == 22
    pd.testing.assert_frame_equal(
        cache.read("7203.T"), table(fake, "7203.T", START, END)
    )


def test_both_ends_missing_fetches_whole_request(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    cache.update(provider, ["7203.T"], "2024-02-01", "2024-02-29")
    report = cache.update(provider, ["7203.T"], START, END)
    assert fake.calls[-1]["start"] == START and fake.calls[-1]["end"] == "2024-03-30"
    assert report["7203.T"].refetched
    pd.testing.assert_frame_equal(
        cache.read("7203.T"), table(fake, "7203.T", START, END)
    )


def test_weekend_end_is_covered_once_it_is_over(
    tmp_path: Path, provider: YahooProvider, fake: FakeYahoo
) -> None:
    sunday = "2024-03-31"
    # Saturday 2024-03-30: the requested Sunday is not over yet.
    early = PriceCache(tmp_path, now=clock("2024-03-30", hour=1))
    early.update(provider, ["7203.T"], START, sunday)
    assert early.coverage("7203.T") == (pd.Timestamp(START), pd.Timestamp(END))
    assert early.update(provider, ["7203.T"], START, sunday).downloaded
    # Monday: a fetch up to Sunday now vouches for the weekend...
    later = PriceCache(tmp_path, now=clock("2024-04-01"))
    assert later.update(provider, ["7203.T"], START, sunday).downloaded
    assert later.coverage("7203.T") == (pd.Timestamp(START), pd.Timestamp(sunday))
    calls = len(fake.calls)
    # ...so asking again downloads nothing.
    assert not later.update(provider, ["7203.T"], START, sunday).downloaded
    assert len(fake.calls) == calls


def test_listing_after_start_is_not_fetched_again(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    fake.add_ticker("NEW.T", start="2024-02-15", end="2024-12-31", tz="Asia/Tokyo")
    cache.update(provider, ["NEW.T"], START, END)
    info = cache.info("NEW.T")
    assert info is not None and info.first == pd.Timestamp("2024-02-15")
    assert info.start == pd.Timestamp(START)
    assert not cache.update(provider, ["NEW.T"], START, END).downloaded


def test_full_refresh(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    cache.update(provider, ["7203.T"], START, END)
    report = cache.update(provider, ["7203.T"], "2024-02-01", "2024-02-29", full=True)
    assert report["7203.T"].refetched and report["7203.T"].rows_added == 0
    assert fake.calls[-1]["start"] == START and fake.calls[-1]["end"] == "2024-03-30"


# --------------------------------------------------------------- re-based prices


def test_new_dividend_forces_full_refetch(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    cache.update(provider, ["7203.T", "7267.T"], START, END)
    before = cache.read("7203.T")
    fake.add_dividend("7203.T", "2024-04-10", 60.0)
    report = cache.update(provider, ["7203.T", "7267.T"], START, "2024-04-30")
    assert report["7203.T"].refetched and not report["7267.T"].refetched
    assert "re-based" in str(report["7203.T"].refetch_reason)
    assert report["7267.T"].refetch_reason is None
    assert report.provider_calls == 2
    assert fake.calls[-1]["tickers"] == ["7203.T"]
    assert fake.calls[-1]["start"] == START and fake.calls[-1]["end"] == "2024-05-01"
    after = cache.read("7203.T")
    pd.testing.assert_frame_equal(after, table(fake, "7203.T", START, "2024-04-30"))
    # Every earlier adjusted close was re-based: nothing old was spliced in.
    old = before.set_index("date")["adj_close"]
    new = after.set_index("date")["adj_close"].loc[old.index]
    assert (new < old).all()
    pd.testing.assert_series_equal(
        after.set_index("date")["close"].loc[old.index],
        before.set_index("date")["close"],
    )


def test_rebased_ratio_alone_forces_full_refetch(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    """A dividend after the requested end still re-bases Yahoo's adjusted closes."""
    cache.update(provider, ["7203.T"], START, END)
    fake.add_dividend("7203.T", "2024-06-10", 60.0)
    report = cache.update(provider, ["7203.T"], START, "2024-04-30")
    assert report["7203.T"].refetched
    assert "adjusted close re-based" in str(report["7203.T"].refetch_reason)
    pd.testing.assert_frame_equal(
        cache.read("7203.T"), table(fake, "7203.T", START, "2024-04-30")
    )


def test_new_split_forces_full_refetch(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    cache.update(provider, ["7203.T"], START, END)
    fake.add_split("7203.T", "2024-04-15", 5.0)
    report = cache.update(provider, ["7203.T"], START, "2024-04-30")
    assert report["7203.T"].refetched
    assert report["7203.T"].refetch_reason == "new splits on 2024-04-15"
    after = cache.read("7203.T")
    pd.testing.assert_frame_equal(after, table(fake, "7203.T", START, "2024-04-30"))
    assert after.loc[after["date"] == "2024-04-15", "splits"].item() == 5.0


# --------------------------------------------------------------- failures


def test_partial_failure_in_update(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    report = cache.update(provider, ["7203.T", "NOPE.T"], START, END)
    assert list(report.failed) == ["NOPE.T"]
    assert "possibly delisted" in report.failed["NOPE.T"]
    assert report["7203.T"].rows_added == 63 and report["NOPE.T"].downloaded
    assert cache.tickers() == ["7203.T"]
    frame = report.to_frame()
    assert list(frame.columns) == [
        "ticker",
        "rows_added",
        "refetched",
        "downloaded",
        "failed",
        "refetch_reason",
        "open_gaps",
        "healed",
    ]


def test_failed_fetch_leaves_files_byte_identical(
    cache: PriceCache, fake: FakeYahoo
) -> None:
    provider = YahooProvider(retries=1, download=fake.download, sleep=no_sleep)
    cache.update(provider, ["7203.T", "7267.T"], START, END)
    before = snapshot(cache.prices_dir)
    fake.rate_limit(times=10, mode="log")
    report = cache.update(provider, ["7203.T", "7267.T"], START, "2024-04-30")
    assert set(report.failed) == {"7203.T", "7267.T"}
    assert "YFRateLimitError" in report.failed["7203.T"]
    assert snapshot(cache.prices_dir) == before


def test_failed_refetch_leaves_file_byte_identical(
    cache: PriceCache, fake: FakeYahoo
) -> None:
    calls = 0

    def download(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:  # 1: initial fetch, 2: tail, 3: the full re-fetch
            raise ConnectionError("network down")
        return fake.download(*args, **kwargs)

    provider = YahooProvider(retries=0, download=download, sleep=no_sleep)
    cache.update(provider, ["7203.T"], START, END)
    before = snapshot(cache.prices_dir)
    fake.add_dividend("7203.T", "2024-04-10", 60.0)
    report = cache.update(provider, ["7203.T"], START, "2024-04-30")
    assert "network down" in report.failed["7203.T"]
    assert "re-fetching" in report.failed["7203.T"]
    assert snapshot(cache.prices_dir) == before


def test_interrupted_parquet_write_keeps_previous_file(
    cache: PriceCache,
    provider: YahooProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache.update(provider, ["7203.T"], START, END)
    before = snapshot(cache.prices_dir)

    def broken_write(table: Any, where: Any, **kwargs: Any) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.pq, "write_table", broken_write)
    with pytest.raises(OSError, match="disk full"):
        cache.update(provider, ["7203.T"], START, "2024-04-30")
    assert snapshot(cache.prices_dir) == before  # no temp file left either


def test_interrupt_before_replace_keeps_previous_file(
    cache: PriceCache,
    provider: YahooProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache.update(provider, ["7203.T"], START, END)
    before = snapshot(cache.prices_dir)

    def interrupted(src: Any, dst: Any) -> None:
        assert Path(src).exists() and Path(src).parent == Path(dst).parent
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_module.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.update(provider, ["7203.T"], START, "2024-04-30")
    monkeypatch.undo()
    assert snapshot(cache.prices_dir) == before
    assert cache.coverage("7203.T") == (pd.Timestamp(START), pd.Timestamp(END))


def test_unreadable_file_is_a_price_data_error(cache: PriceCache) -> None:
    cache.prices_dir.mkdir(parents=True)
    cache.path("7203.T").write_bytes(b"not parquet")
    with pytest.raises(PriceDataError, match="Delete"):
        cache.read("7203.T")


def test_invalid_requests(cache: PriceCache, provider: YahooProvider) -> None:
    with pytest.raises(InputError, match="after end"):
        cache.update(provider, ["7203.T"], END, START)
    with pytest.raises(InputError, match="not the string"):
        cache.update(provider, "7203.T", START, END)
    with pytest.raises(InputError, match="midnight"):
        cache.update(provider, ["7203.T"], "2024-01-01 10:00", END)


def test_progress_is_called_per_ticker(
    cache: PriceCache, provider: YahooProvider
) -> None:
    seen: list[str] = []
    cache.update(provider, ["7203.T", "NOPE.T"], START, END, progress=seen.append)
    cache.update(provider, ["7203.T"], START, END, progress=seen.append)
    assert sorted(seen) == ["7203.T", "7203.T", "NOPE.T"]


# --------------------------------------------------------------- offline loads


def test_offline_load_of_missing_data_names_tickers_and_dates(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    cache.update(provider, ["7203.T"], START, END)
    calls = len(fake.calls)
    with pytest.raises(DataUnavailableError) as info:
        cache.load_panel(
            ["7203.T", "7267.T"],
            "2023-12-01",
            "2024-04-30",
            provider=provider,
            offline=True,
        )
    message = str(info.value)
    assert info.value.tickers == ["7203.T", "7267.T"]
    assert "7267.T: not cached (needed 2023-12-01..2024-04-30)" in message
    assert "2023-12-01..2023-12-31" in message and "2024-03-30..2024-04-30" in message
    assert len(fake.calls) == calls  # offline: the provider was never called
    panel = cache.load_panel(["7203.T"], START, END, offline=True)
    assert panel.shape == (63, 1)
    with pytest.raises(DataUnavailableError, match="7267.T: not cached\n"):
        cache.load_panel(["7267.T"], offline=True)


def test_online_load_fetches_what_is_missing(
    cache: PriceCache, provider: YahooProvider, fake: FakeYahoo
) -> None:
    panel = cache.load_panel(["7267.T", "7203.T"], START, END, provider=provider)
    assert list(panel.columns) == ["7267.T", "7203.T"]
    expected = table(fake, "7267.T", START, END).set_index("date")["adj_close"]
    pd.testing.assert_series_equal(
        panel["7267.T"], expected, check_names=False, check_freq=False
    )
    with pytest.raises(DataUnavailableError, match="NOPE.T") as info:
        cache.load_panel(["NOPE.T"], START, END, provider=provider)
    assert info.value.tickers == ["NOPE.T"]


# --------------------------------------------------------------- concurrency


def _update_in_process(root: str, tickers: list[str], go: float) -> tuple[int, float]:
    """Run one update in a fresh process, starting at the wall-clock time ``go``.

    Returns the number of provider calls and how long the update took.
    """
    fake = standard_universe(delay=0.5)
    provider = YahooProvider(download=fake.download, sleep=no_sleep)
    cache = PriceCache(root)
    time.sleep(max(0.0, go - time.time()))
    began = time.monotonic()
    report = cache.update(provider, tickers, START, END)
    assert not report.failed
    return report.provider_calls, time.monotonic() - began


def test_two_processes_update_the_same_cache(tmp_path: Path) -> None:
    root = str(tmp_path / "shared-cache")
    go = time.time() + 5.0  # both start together, after the spawn start-up
    jobs = [(root, ["7203.T", "^TOPX"], go), (root, ["^TOPX", "JPY=X"], go)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        outcomes = pool.starmap(_update_in_process, jobs)
    # The lock serialises the two updates: the second waits for the first (each
    # download takes 0.5 s), then fetches only what the first did not, so ^TOPX is
    # downloaded once.
    assert [calls for calls, _ in outcomes] == [1, 1]
    assert max(took for _, took in outcomes) >= 0.9
    cache = PriceCache(root)
    fake = standard_universe()
    assert cache.tickers() == ["7203.T", "JPY=X", "^TOPX"]
    for ticker in cache.tickers():
        pd.testing.assert_frame_equal(
            cache.read(ticker), table(fake, ticker, START, END)
        )
    leftovers = [
        p.name for p in Path(root, "prices").iterdir() if p.suffix != ".parquet"
    ]
    assert leftovers == []
    assert os.path.exists(Path(root, ".lock"))
