"""Issue 14, parts 5 and 7, through the CLI with the offline yfinance fake.

Cache completeness: a session Yahoo left out inside a fetched range is recorded as a
gap, asked for again by the next fetch (only that range) and healed, or accepted
after GAP_RETRIES more answers; a truncated answer is vouched for only up to its
last session. Failure modes: damaged cache files, non-retryable Yahoo errors and no
network all exit 2 with a one-line message naming the file or tickers and the fix;
yfinance's own noise never reaches the terminal.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from fake_yfinance import FakeYahoo

import eventstudy.inputs.sources.yahoo
from eventstudy.cli import cli
from eventstudy.errors import NetworkError
from eventstudy.inputs.sources.cache import (
    GAP_RETRIES,
    Gap,
    PriceCache,
    ticker_calendars,
)
from eventstudy.inputs.sources.yahoo import YahooProvider

# The study below needs 2023-03-31..2024-06-29 (plan_study).
START, END = "2023-03-31", "2024-06-29"
TABLE_COLUMNS = ["date", "close", "adj_close", "dividends", "splits", "volume",
                 "open"]
DNS = (
    "DNSError('Failed to perform, curl: (6) Could not resolve host: "
    "query2.finance.yahoo.com.')"
)


def _fake() -> FakeYahoo:
    fake = FakeYahoo(seed=5)
    fake.add_ticker("7203.T", price=2500.0, start="2023-01-02", end="2024-12-31")
    fake.add_ticker("^TOPX", price=2600.0, start="2023-01-02", end="2024-12-31",
                    tz="Asia/Tokyo")
    return fake


@pytest.fixture
def study(tmp_path: Path) -> Path:
    d = tmp_path / "study"
    d.mkdir()
    (d / "universe.csv").write_text(
        "ticker,name,group,calendar,benchmark,currency\n"
        "7203.T,Toyota,autos,XTKS,^TOPX,JPY\n", encoding="utf-8")
    (d / "events.csv").write_text(
        "event_id,timestamp,title,groups\n"
        "A,2024-06-03,first,autos\n", encoding="utf-8")
    (d / "s.toml").write_text(
        '[study]\nevents = "events.csv"\nuniverse = "universe.csv"\n'
        '[tests]\nnames = ["csect_t"]\n', encoding="utf-8")
    return d / "s.toml"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeYahoo:
    f = _fake()
    monkeypatch.setattr("yfinance.download", f.download)
    monkeypatch.setattr(eventstudy.inputs.sources.yahoo, "YahooProvider",
                        functools.partial(eventstudy.inputs.sources.yahoo.YahooProvider,
                                          sleep=lambda _s: None))
    return f


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def _fetch(study: Path, cache_dir: Path, *extra: str) -> Result:
    return _invoke("prices", "fetch", study, "--cache-dir", cache_dir, *extra)


def _meta(cache_dir: Path, ticker: str) -> dict[str, Any]:
    path = PriceCache(cache_dir).path(ticker)
    raw = pq.read_table(path).schema.metadata[b"eventstudy"]
    meta: dict[str, Any] = json.loads(raw)
    return meta


def _table(fake: FakeYahoo, ticker: str, start: str, end: str) -> pd.DataFrame:
    return fake.expected(ticker, start, end)[TABLE_COLUMNS].reset_index(drop=True)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --------------------------------------------------------------- gaps


def test_missing_session_is_a_gap_healed_by_the_next_fetch(
    study: Path, cache_dir: Path, fake: FakeYahoo
) -> None:
    fake.drop_sessions("7203.T", ("2024-01-10",), times=1)
    r = _fetch(study, cache_dir)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[1:] == [
        "gap: 7203.T: 2024-01-10 (missing in 1 answer; asked for again on the next "
        "fetch, 3 retries left)"
    ]
    meta = _meta(cache_dir, "7203.T")
    assert meta["gaps"] == {"2024-01-10": 1} and meta["calendar"] == "XTKS"
    assert meta["complete_through"] == END  # the gap does not shorten the coverage
    assert "gaps" not in _meta(cache_dir, "^TOPX")
    assert _meta(cache_dir, "^TOPX")["calendar"] == "XTKS"  # its securities'

    shown = _invoke("prices", "show", "7203.T", "--cache-dir", cache_dir)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[1] == f"vouched for {START}..{END}, calendar XTKS; 1 gap(s)"
    assert lines[2] == (
        "gap: 2024-01-10 (missing in 1 answer; asked for again on the next fetch, "
        "3 retries left)"
    )
    checked = _invoke("prices", "check", study, "--cache-dir", cache_dir)
    assert checked.exit_code == 0, checked.output
    assert checked.output.splitlines()[-2:] == [
        "1 gap(s) in the cache (sessions Yahoo left out inside a fetched range):",
        "  7203.T: 2024-01-10 (missing in 1 answer; asked for again on the next "
        "fetch, 3 retries left)",
    ]
    assert "missing_sessions" in checked.output  # quality's own check agrees

    # The next fetch asks for that range only (the cached dates around the gap,
    # so the answer overlaps the cache), and heals it.
    calls = len(fake.calls)
    r2 = _fetch(study, cache_dir)
    assert r2.exit_code == 0, r2.output
    assert [(c["tickers"], c["start"], c["end"]) for c in fake.calls[calls:]] == [
        (["7203.T"], "2024-01-09", "2024-01-12")
    ]
    assert "1 rows added, 1 download(s)" in r2.output
    assert r2.output.splitlines()[1:] == ["healed: 7203.T: 1 gap(s) filled"]
    assert "gaps" not in _meta(cache_dir, "7203.T")
    pd.testing.assert_frame_equal(PriceCache(cache_dir).read("7203.T"),
                                  _table(fake, "7203.T", START, END))
    # Healed: nothing left to ask for.
    r3 = _fetch(study, cache_dir)
    assert "0 download(s)" in r3.output and len(fake.calls) == calls + 1
    shown = _invoke("prices", "show", "7203.T", "--cache-dir", cache_dir)
    assert f"vouched for {START}..{END}, calendar XTKS; no gap(s)" in shown.output


def test_gap_is_accepted_after_bounded_retries(
    study: Path, cache_dir: Path, fake: FakeYahoo
) -> None:
    fake.drop_sessions("7203.T", ("2024-01-10", "2024-01-11"))  # every answer
    assert _fetch(study, cache_dir).exit_code == 0
    calls = len(fake.calls)
    for misses in range(2, GAP_RETRIES + 2):
        r = _fetch(study, cache_dir)
        assert r.exit_code == 0, r.output
        assert fake.calls[-1]["start"] == "2024-01-09"
        assert fake.calls[-1]["end"] == "2024-01-13"  # 01-12 inclusive
        assert _meta(cache_dir, "7203.T")["gaps"] == {
            "2024-01-10": misses, "2024-01-11": misses}
    assert len(fake.calls) == calls + GAP_RETRIES
    assert r.output.splitlines()[1:] == [
        f"gap: 7203.T: 2024-01-{d} (missing in 4 answers; accepted as a day without "
        "prices, no longer asked for)" for d in ("10", "11")
    ]
    # Accepted: no longer asked for, but still listed.
    again = _fetch(study, cache_dir)
    assert "0 download(s)" in again.output and len(fake.calls) == calls + GAP_RETRIES
    gaps = PriceCache(cache_dir).gaps("7203.T")
    assert gaps == (Gap(pd.Timestamp("2024-01-10"), 4),
                    Gap(pd.Timestamp("2024-01-11"), 4))
    assert all(g.accepted for g in gaps)
    checked = _invoke("prices", "check", study, "--cache-dir", cache_dir)
    assert "2 gap(s) in the cache" in checked.output
    assert ("  7203.T: 2024-01-11 (missing in 4 answers; accepted as a day without "
            "prices, no longer asked for)") in checked.output.splitlines()


def test_truncated_answer_is_vouched_only_to_its_last_session(
    study: Path, cache_dir: Path, fake: FakeYahoo
) -> None:
    fake.truncate("7203.T", after="2024-05-20", times=1)
    r = _fetch(study, cache_dir)
    assert r.exit_code == 0, r.output
    cache = PriceCache(cache_dir)
    toyota, topix = cache.info("7203.T"), cache.info("^TOPX")
    assert toyota is not None and topix is not None
    assert toyota.end == toyota.last == pd.Timestamp("2024-05-20")
    assert toyota.gaps == ()  # sessions after the end are not gaps
    assert topix.end == pd.Timestamp(END)
    # The next fetch asks for the rest only, overlapping the cache by a day.
    calls = len(fake.calls)
    r2 = _fetch(study, cache_dir)
    assert r2.exit_code == 0, r2.output
    assert [(c["tickers"], c["start"], c["end"]) for c in fake.calls[calls:]] == [
        (["7203.T"], "2024-05-20", "2024-06-30")
    ]
    pd.testing.assert_frame_equal(cache.read("7203.T"),
                                  _table(fake, "7203.T", START, END))
    assert _meta(cache_dir, "7203.T")["complete_through"] == END
    assert "0 download(s)" in _fetch(study, cache_dir).output


def test_gap_inside_a_tail_fetch_and_refresh_heals_it(
    study: Path, cache_dir: Path, fake: FakeYahoo, tmp_path: Path
) -> None:
    """A range that starts inside the cache: every missing session is a gap, and
    refresh (which passes no calendars) uses the stored calendar and heals it."""
    fake.truncate("7203.T", after="2024-05-20", times=1)
    assert _fetch(study, cache_dir).exit_code == 0
    fake.drop_sessions("7203.T", ("2024-05-21",), times=1)
    assert _fetch(study, cache_dir).exit_code == 0
    assert _meta(cache_dir, "7203.T")["gaps"] == {"2024-05-21": 1}
    out = tmp_path / "out"
    r = _invoke("refresh", study, "--out", out, "--cache-dir", cache_dir)
    assert r.exit_code == 0, r.output
    assert fake.calls[-1]["start"] == "2024-05-20"
    assert fake.calls[-1]["end"] == "2024-05-23"
    assert "gaps" not in _meta(cache_dir, "7203.T")


def _day0_return(out: Path) -> float | None:
    ar = pd.read_csv(out / "abnormal_returns.csv")
    row = ar.loc[(ar["ticker"] == "7203.T") & (ar["rel_day"] == 0)]
    value = row["return"].iloc[0] if len(row) else float("nan")
    return None if pd.isna(value) else float(value)


def test_first_refresh_records_a_gap_and_the_next_heals_it(
    study: Path, cache_dir: Path, fake: FakeYahoo, tmp_path: Path
) -> None:
    """refresh passes each ticker's calendar from the universe, so a session Yahoo
    leaves out of the very first answer is a gap, healed (and the outputs rebuilt)
    by the next refresh."""
    fake.drop_sessions("7203.T", ("2024-06-03",), times=1)  # day 0 of event A
    out = tmp_path / "out"
    r = _invoke("refresh", study, "--out", out, "--cache-dir", cache_dir)
    assert r.exit_code == 0, r.output
    meta = _meta(cache_dir, "7203.T")
    assert meta["gaps"] == {"2024-06-03": 1} and meta["calendar"] == "XTKS"
    assert _day0_return(out) is None  # no price on day 0 yet
    r = _invoke("refresh", study, "--out", out, "--cache-dir", cache_dir)
    assert r.exit_code == 0, r.output
    assert "outputs rewritten" in r.output
    assert "gaps" not in _meta(cache_dir, "7203.T")
    assert _day0_return(out) is not None
    r = _invoke("refresh", study, "--out", out, "--cache-dir", cache_dir)
    assert "nothing rewritten" in r.output


def test_unknown_calendar_still_catches_truncation_on_weekdays(
    tmp_path: Path, fake: FakeYahoo
) -> None:
    monday = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)
    cache = PriceCache(tmp_path / "c", now=lambda: monday)
    provider = YahooProvider(download=fake.download, sleep=lambda _s: None)
    fake.truncate("^TOPX", after="2024-03-27", times=1)
    fake.drop_sessions("^TOPX", ("2024-03-12",), times=1)
    cache.update(provider, ["^TOPX"], "2024-03-01", "2024-03-31")
    info = cache.info("^TOPX")
    assert info is not None and info.end == pd.Timestamp("2024-03-27")
    assert info.calendar is None and info.gaps == ()  # no calendar: no gaps
    cache.update(provider, ["^TOPX"], "2024-03-01", "2024-03-31")
    info = cache.info("^TOPX")
    assert info is not None and info.end == pd.Timestamp("2024-03-31")


def test_ticker_calendars() -> None:
    universe = pd.DataFrame({
        "ticker": ["7203.T", "006400.KS", "JPY=X", "^TOPX"],
        "calendar": ["XTKS", "XKRX", "FX", "XNYS"],
        "benchmark": ["^TOPX", "^KS11", "", ""],
    })
    events = pd.DataFrame({"ticker": ["AAPL"], "calendar": ["XNYS"],
                           "benchmark": ["^GSPC"]})
    assert ticker_calendars(universe, events) == {
        "7203.T": "XTKS", "006400.KS": "XKRX", "JPY=X": "FX", "^TOPX": "XNYS",
        "AAPL": "XNYS", "^KS11": "XKRX", "^GSPC": "XNYS"}
    assert ticker_calendars(None, pd.DataFrame({"event_id": ["A"]})) == {}


# --------------------------------------------------------------- damaged cache


def _rewrite_meta(path: Path, raw: bytes) -> None:
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata({b"eventstudy": raw}), path)


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        ("json", "its metadata is not valid JSON"),
        ("key", "metadata key 'complete_through' is missing or not a date (None)"),
        ("gaps", "metadata key 'gaps' is invalid ({'2024-01-10': 'x'})"),
        ("parquet", "the Parquet file cannot be read"),
    ],
)
def test_damaged_cache_file_exits_2_naming_file_and_fix(
    study: Path, cache_dir: Path, fake: FakeYahoo, damage: str, what: str
) -> None:
    assert _fetch(study, cache_dir).exit_code == 0
    path = PriceCache(cache_dir).path("7203.T")
    meta = _meta(cache_dir, "7203.T")
    if damage == "json":
        _rewrite_meta(path, b'{"format": 1, "ticker": ')
    elif damage == "key":
        del meta["complete_through"]
        _rewrite_meta(path, json.dumps(meta).encode())
    elif damage == "gaps":
        meta["gaps"] = {"2024-01-10": "x"}
        _rewrite_meta(path, json.dumps(meta).encode())
    else:
        path.write_bytes(b"PAR1 not a parquet file")
    fix = ("Delete this file, or run 'eventstudy prices fetch STUDY.toml --full' to "
           "download it again.")
    for result in (
        _invoke("prices", "show", "7203.T", "--cache-dir", cache_dir),
        _fetch(study, cache_dir),
        _invoke("prices", "check", study, "--cache-dir", cache_dir),
        _invoke("run", study, "--offline", "--cache-dir", cache_dir, "--out",
                study.parent / "out"),
    ):
        assert result.exit_code == 2, result.output
        assert result.output.startswith(
            f"Error: {path}: the cached prices of 7203.T are damaged: {what}")
        assert result.output.rstrip().endswith(fix)
        assert "Traceback" not in result.output
    repaired = _fetch(study, cache_dir, "--full")
    assert repaired.exit_code == 0, repaired.output
    pd.testing.assert_frame_equal(PriceCache(cache_dir).read("7203.T"),
                                  _table(fake, "7203.T", START, END))


# --------------------------------------------------------------- Yahoo failures


def test_non_retryable_yahoo_error_exits_2(
    study: Path, cache_dir: Path, fake: FakeYahoo, tmp_path: Path
) -> None:
    fake.fail_with(KeyError("chart"), times=2)
    for result in (
        _fetch(study, cache_dir),
        _invoke("refresh", study, "--out", tmp_path / "out", "--cache-dir",
                cache_dir),
    ):
        assert result.exit_code == 2, result.output
        assert result.output.startswith(
            "Error: Yahoo download failed for 2 ticker(s): 7203.T, ^TOPX "
            f"({START}..{END}): KeyError: 'chart'. This is not a rate limit or "
            "network error, so retrying will not help")
        assert "Traceback" not in result.output
    assert len(fake.calls) == 2  # never retried


def test_no_network_exits_2_cannot_reach_yahoo(
    study: Path, cache_dir: Path, fake: FakeYahoo, tmp_path: Path
) -> None:
    fake.network_down()
    expected = (
        f"Error: cannot reach Yahoo: {DNS} after 5 attempt(s), for 2 ticker(s): "
        f"7203.T, ^TOPX ({START}..{END}). Check the internet connection (or the "
        "HTTPS_PROXY setting) and try again.\n"
    )
    fetch = _fetch(study, cache_dir)
    assert (fetch.exit_code, fetch.output) == (2, expected)
    refresh = _invoke("refresh", study, "--out", tmp_path / "out", "--cache-dir",
                      cache_dir)
    assert refresh.exit_code == 2, refresh.output
    assert refresh.output.startswith("Error: cannot reach Yahoo: ")
    run = _invoke("run", study, "--cache-dir", cache_dir, "--out", tmp_path / "o")
    assert run.exit_code == 2, run.output
    assert run.output.startswith("Error: cannot reach Yahoo: ")
    assert not list((cache_dir / "prices").iterdir())


class _FlakyProvider:
    """Answers the first call, then cannot reach its source."""

    def __init__(self, fake: FakeYahoo) -> None:
        self.inner = YahooProvider(download=fake.download, sleep=lambda _s: None)
        self.calls = 0

    def fetch_partial(self, tickers: Sequence[str], start: Any, end: Any
                      ) -> tuple[pd.DataFrame, dict[str, str]]:
        self.calls += 1
        if self.calls > 1:
            raise NetworkError("cannot reach Yahoo: test", tickers=list(tickers))
        return self.inner.fetch_partial(tickers, start, end)


def test_network_lost_after_a_download_is_a_partial_failure(
    tmp_path: Path, fake: FakeYahoo
) -> None:
    cache = PriceCache(tmp_path / "c")
    provider = YahooProvider(download=fake.download, sleep=lambda _s: None)
    cache.update(provider, ["^TOPX"], "2024-02-01", "2024-03-29")
    # 7203.T needs 2024-01-02..2024-03-29, ^TOPX its head only: two calls.
    report = cache.update(_FlakyProvider(fake), ["7203.T", "^TOPX"], "2024-01-02",
                          "2024-03-29")
    assert report.provider_calls == 2
    assert report.failed == {"^TOPX": "cannot reach Yahoo: test"}
    assert report["7203.T"].rows_added > 0


# --------------------------------------------------------------- noise


def test_yfinance_noise_is_not_printed(
    study: Path, cache_dir: Path, fake: FakeYahoo,
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    (study.parent / "universe.csv").write_text(
        "ticker,name,group,calendar,benchmark,currency\n"
        "7203.T,Toyota,autos,XTKS,^TOPX,JPY\n"
        "NOPE.T,Nope,autos,XTKS,^TOPX,JPY\n", encoding="utf-8")
    fake.chatter = "yfinance chatter"
    with caplog.at_level(logging.DEBUG):
        r = CliRunner().invoke(cli, ["prices", "fetch", str(study), "--cache-dir",
                                     str(cache_dir)])
    assert r.exit_code == 1, r.output
    assert r.stdout.splitlines() == [
        f"3 tickers, {START}..{END}: {len(_table(fake, '7203.T', START, END)) * 2} "
        f"rows added, 1 download(s), cache {cache_dir}"
    ]
    # only our own one-line message for the failed ticker, no yfinance output
    assert [line for line in r.stderr.splitlines() if "fetch:" not in line] == [
        "failed: NOPE.T: possibly delisted; no price data found (1d 2023-03-31 -> "
        "2024-06-30)"
    ]
    assert "chatter" not in r.output and "Failed download" not in r.output
    assert capsys.readouterr() == ("", "")
    assert [rec for rec in caplog.records if rec.name == "yfinance"] == []
