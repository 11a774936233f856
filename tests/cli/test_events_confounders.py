"""``eventstudy events confounders``: fetch through the yfinance fake, exact CSV,
merge with hand-written rows, offline with and without a cache, exit-2 messages."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from fake_yfinance import FakeYahoo

import eventstudy.inputs.sources.yahoo_events as yahoo_events
from eventstudy.cli import cli

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")

NOW = pd.Timestamp("2024-12-02T09:00Z")

HEADER = "confounder_id,timestamp,scope,kind,title,source\n"

EXPECTED = HEADER + (
    "YF_EARN_7203.T_2024-08-01,2024-08-01T01:00-04:00,7203.T,earnings,Toyota: "
    "earnings release (reported EPS 89.9),yfinance earnings_dates fetched "
    "2024-12-02\n"
    "YF_DIV_7203.T_2024-09-27,2024-09-27,7203.T,corporate_action,Toyota: "
    "ex-dividend 30 JPY per share,yfinance actions fetched 2024-12-02\n"
    'YF_EARN_7203.T_2024-11-06,2024-11-06T01:00-05:00,7203.T,earnings,"Toyota: '
    'earnings release (reported EPS 63.9, EPS estimate 70)",yfinance '
    "earnings_dates fetched 2024-12-02\n"
    "YF_EARN_7203.T_2025-02-05,2025-02-04T23:00-05:00,7203.T,earnings,Toyota: "
    "earnings release (scheduled as of 2024-12-02),yfinance earnings_dates fetched "
    "2024-12-02\n"
    "YF_SPLIT_7267.T_2024-09-27,2024-09-27,7267.T,corporate_action,Honda: stock "
    "split 3-for-1,yfinance actions fetched 2024-12-02\n"
)


def _fake() -> FakeYahoo:
    fake = FakeYahoo(seed=3)
    for t, p in (("7203.T", 2500.0), ("7267.T", 1500.0), ("^TOPX", 2600.0)):
        fake.add_ticker(t, price=p, start="2023-01-02", end="2024-11-29",
                        tz="Asia/Tokyo")
    fake.add_dividend("7203.T", "2023-09-28", 30.0)  # before --since's default
    fake.add_dividend("7203.T", "2024-09-27", 30.0)
    fake.add_split("7267.T", "2024-09-27", 3.0)
    fake.add_earnings("7203.T", "2024-08-01T14:25+09:00", reported=89.9)
    fake.add_earnings("7203.T", "2024-11-06T15:25+09:00", estimate=70.0,
                      reported=63.9)
    fake.add_earnings("7203.T", "2025-02-05T13:25+09:00")
    return fake


@pytest.fixture
def study(tmp_path: Path) -> Path:
    d = tmp_path / "study"
    d.mkdir()
    (d / "universe.csv").write_text(
        "ticker,name,group,calendar,benchmark,currency\n"
        "7203.T,Toyota,autos,XTKS,^TOPX,JPY\n"
        "7267.T,Honda,autos,XTKS,^TOPX,JPY\n", encoding="utf-8")
    (d / "events.csv").write_text(
        "event_id,timestamp,title,groups\n"
        "A,2024-06-03,first,autos\n"
        "B,2024-09-10T19:00-04:00,second,autos\n", encoding="utf-8")
    (d / "s.toml").write_text(
        '[study]\nevents = "events.csv"\nuniverse = "universe.csv"\n'
        "[windows]\nestimation = [-60, -11]\nevent = [-5, 5]\n"
        "car = [[0, 0]]\nmin_estimation_obs = 30\n", encoding="utf-8")
    return d / "s.toml"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeYahoo:
    f = _fake()
    monkeypatch.setattr("yfinance.Ticker", f.Ticker)
    monkeypatch.setattr(yahoo_events, "_utc_now", lambda: NOW)
    monkeypatch.setattr(yahoo_events, "YahooEvents",
                        functools.partial(yahoo_events.YahooEvents,
                                          sleep=lambda _s: None))
    return f


def _invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["events", "confounders", *args], env=env)


def test_fetch_writes_the_exact_file(study: Path, tmp_path: Path,
                                     fake: FakeYahoo) -> None:
    cache = tmp_path / "cache"
    r = _invoke(str(study), "--cache-dir", str(cache))
    assert r.exit_code == 0, r.output
    out = study.parent / "confounders.csv"  # the default: beside the study
    assert out.read_text(encoding="utf-8") == EXPECTED
    assert r.output.splitlines() == [
        "skipped (no earnings or corporate actions): ^TOPX (an index)",
        "2 ticker(s) since 2024-01-29: 3 earnings date(s), 2 corporate action(s) "
        f"(downloaded, cache {cache})",
        f"wrote {out}: 5 YF_ row(s) (0 replaced), 0 hand-written row(s) kept",
    ]
    raw = sorted(p.relative_to(cache).as_posix()
                 for p in (cache / "yfinance-events").rglob("*.parquet"))
    assert raw == ["yfinance-events/actions/7203.T.parquet",
                   "yfinance-events/actions/7267.T.parquet",
                   "yfinance-events/earnings_dates/7203.T.parquet",
                   "yfinance-events/earnings_dates/7267.T.parquet"]
    # offline, with Yahoo unreachable: the same bytes from the cache
    fake.network_down()
    calls = len(fake.ticker_calls)
    before = out.read_bytes()
    r2 = _invoke(str(study), "--cache-dir", str(cache), "--offline")
    assert r2.exit_code == 0, r2.output
    assert out.read_bytes() == before
    assert len(fake.ticker_calls) == calls
    assert "(from the cache" in r2.output
    assert "(5 replaced), 0 hand-written" in r2.output


def test_merge_keeps_hand_rows_and_replaces_yf_rows(study: Path, tmp_path: Path,
                                                    fake: FakeYahoo) -> None:
    out = tmp_path / "conf" / "c.csv"
    out.parent.mkdir()
    hand = ('C01_AUTO_TARIFFS,2025-03-26T16:00-04:00,*,context,"Section 232 auto '
            'tariffs (25%), proclaimed",whitehouse.gov\n'
            "K03,2024-11-06,7203.T,earnings,Toyota Q2 by hand,global.toyota\n")
    out.write_text(HEADER + hand + "YF_EARN_7203.T_2020-01-01,2020-01-01,7203.T,"
                   "earnings,stale,yfinance\n", encoding="utf-8")
    r = _invoke(str(study), "--cache-dir", str(tmp_path / "cache"), "--out",
                str(out), "--since", "2024-09-01")
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8") == HEADER + hand + (
        "YF_DIV_7203.T_2024-09-27,2024-09-27,7203.T,corporate_action,Toyota: "
        "ex-dividend 30 JPY per share,yfinance actions fetched 2024-12-02\n"
        'YF_EARN_7203.T_2024-11-06,2024-11-06T01:00-05:00,7203.T,earnings,"Toyota: '
        'earnings release (reported EPS 63.9, EPS estimate 70)",yfinance '
        "earnings_dates fetched 2024-12-02\n"
        "YF_EARN_7203.T_2025-02-05,2025-02-04T23:00-05:00,7203.T,earnings,Toyota: "
        "earnings release (scheduled as of 2024-12-02),yfinance earnings_dates "
        "fetched 2024-12-02\n"
        "YF_SPLIT_7267.T_2024-09-27,2024-09-27,7267.T,corporate_action,Honda: stock "
        "split 3-for-1,yfinance actions fetched 2024-12-02\n")
    assert (f"wrote {out}: 4 YF_ row(s) (1 replaced), 2 hand-written row(s) kept"
            in r.output)


def test_options_from_the_environment(study: Path, tmp_path: Path,
                                      fake: FakeYahoo) -> None:
    out = tmp_path / "env.csv"
    env = {"EVENTSTUDY_EVENTS_CONFOUNDERS_OUT": str(out),
           "EVENTSTUDY_EVENTS_CONFOUNDERS_SINCE": "2024-10-01",
           "EVENTSTUDY_CACHE_DIR": str(tmp_path / "cache")}
    r = _invoke(str(study), env=env)
    assert r.exit_code == 0, r.output
    ids = pd.read_csv(out)["confounder_id"].tolist()
    assert ids == ["YF_EARN_7203.T_2024-11-06", "YF_EARN_7203.T_2025-02-05"]
    fake.network_down()
    r2 = _invoke(str(study), env={**env, "EVENTSTUDY_EVENTS_CONFOUNDERS_OFFLINE": "1"})
    assert r2.exit_code == 0, r2.output


def test_no_network_exits_2_naming_the_ticker(study: Path, tmp_path: Path,
                                              fake: FakeYahoo) -> None:
    fake.network_down(mode="raise")
    r = _invoke(str(study), "--cache-dir", str(tmp_path / "cache"))
    assert r.exit_code == 2
    assert "Traceback" not in r.output
    assert r.output.strip().splitlines()[-1] == (
        "Error: cannot reach Yahoo for the earnings dates of 7203.T: Failed to "
        "perform, curl: (6) Could not resolve host: query2.finance.yahoo.com. Check "
        "the internet connection (or the HTTPS_PROXY setting) and try again, or run "
        "with --offline to use the answers already in the cache")
    assert not (study.parent / "confounders.csv").exists()


def test_offline_without_a_cache_exits_2(study: Path, tmp_path: Path,
                                         fake: FakeYahoo) -> None:
    cache = tmp_path / "empty"
    r = _invoke(str(study), "--cache-dir", str(cache), "--offline")
    assert r.exit_code == 2
    assert r.output.strip() == (
        f"Error: --offline: the cache {cache} has no earnings dates or corporate "
        "actions for 2 ticker(s): 7203.T, 7267.T. Run 'eventstudy events "
        "confounders STUDY' with internet first (same --cache-dir).")
    assert fake.ticker_calls == []


def test_a_failed_ticker_exits_1_and_keeps_its_rows(study: Path, tmp_path: Path,
                                                    fake: FakeYahoo) -> None:
    uni = study.parent / "universe.csv"
    uni.write_text(uni.read_text(encoding="utf-8")
                   + "NOPE.T,Gone,autos,XTKS,^TOPX,JPY\n", encoding="utf-8")
    out = study.parent / "confounders.csv"
    out.write_text(HEADER + "YF_DIV_NOPE.T_2024-03-28,2024-03-28,NOPE.T,"
                   "corporate_action,old,yfinance\n", encoding="utf-8")
    r = _invoke(str(study), "--cache-dir", str(tmp_path / "cache"))
    assert r.exit_code == 1, r.output
    assert ("failed: NOPE.T: Yahoo gave no history: $NOPE.T: possibly delisted; no "
            "timezone found (its earlier YF_ rows are kept)") in r.output
    rows = pd.read_csv(out)
    assert rows["confounder_id"].iloc[0] == "YF_DIV_NOPE.T_2024-03-28"
    assert len(rows) == 6


@pytest.mark.parametrize("since", ["2024-13-01", "yesterday", "2024-01-02T10:00"])
def test_bad_since_exits_2(study: Path, tmp_path: Path, fake: FakeYahoo,
                           since: str) -> None:
    r = _invoke(str(study), "--cache-dir", str(tmp_path / "c"), "--since", since)
    assert r.exit_code == 2
    assert r.output.strip() == f"Error: --since {since!r}: write a date as YYYY-MM-DD"


def test_out_that_is_not_a_confounders_file_exits_2(study: Path, tmp_path: Path,
                                                    fake: FakeYahoo) -> None:
    out = tmp_path / "events.csv"
    out.write_text("event_id,timestamp\nE1,2024-01-02\n", encoding="utf-8")
    r = _invoke(str(study), "--cache-dir", str(tmp_path / "c"), "--out", str(out))
    assert r.exit_code == 2
    assert "not a confounders file: missing column(s) confounder_id" in r.output
    assert out.read_text(encoding="utf-8") == "event_id,timestamp\nE1,2024-01-02\n"
