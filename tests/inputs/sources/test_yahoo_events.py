"""Earnings dates and corporate actions through yfinance (faked), their cache and the
confounder rows built from them."""

from __future__ import annotations

import logging
import types
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yfinance.base
from fake_yfinance import DNS_MESSAGE, FakeYahoo
from yfinance.scrapers.history import PriceHistory

from eventstudy.errors import (
    DataUnavailableError,
    InputError,
    NetworkError,
    PriceDataError,
    ProviderError,
)
from eventstudy.inputs.sources.yahoo_events import (
    EventsCache,
    RawAnswer,
    YahooEvents,
    confounder_rows,
    fetch_confounders,
    merge_confounders,
    skip_reason,
)

pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")

NOW = pd.Timestamp("2025-09-01T08:00Z")


def _fake() -> FakeYahoo:
    fake = FakeYahoo(seed=5)
    fake.add_ticker("7203.T", start="2024-01-02", end="2025-08-29", price=2500.0)
    fake.add_ticker("006400.KS", start="2024-01-02", end="2025-08-29",
                    price=300000.0)
    fake.add_ticker("SPY", start="2024-01-02", end="2025-08-29", price=500.0,
                    quote_type="ETF")
    fake.add_dividend("7203.T", "2024-03-28", 30.0)
    fake.add_dividend("7203.T", "2025-03-28", 45.0)
    fake.add_split("7203.T", "2024-09-27", 1.5)
    fake.add_capital_gain("SPY", "2024-12-20", 0.12)
    # 13:25 JST = 23:25 EST the evening before; Yahoo shows "11 PM EST"
    fake.add_earnings("7203.T", "2025-02-05T13:25+09:00", estimate=55.1,
                      reported=60.2, surprise=9.3)
    fake.add_earnings("7203.T", "2024-05-08T13:25+09:00", estimate=70.0,
                      reported=77.3, surprise=10.4)
    fake.add_earnings("7203.T", "2025-11-05T13:25+09:00", estimate=40.0)  # future
    return fake


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# --------------------------------------------------------------- the fake itself


def test_fake_earnings_match_yfinance_scraper() -> None:
    """yfinance's own HTML scraper, fed the fake's page, gives the fake's frame."""
    fake = _fake()

    class Response:
        def __init__(self, text: str) -> None:
            self.text = text

    stub = types.SimpleNamespace(ticker="7203.T", _data=types.SimpleNamespace(
        cache_get=lambda url: Response(fake.earnings_html("7203.T"))))
    scrape = yfinance.base.TickerBase._get_earnings_dates_using_scrape
    real = getattr(scrape, "__wrapped__", scrape)(stub, 12, 0)
    ours = fake.Ticker("7203.T").get_earnings_dates(limit=12)
    pd.testing.assert_frame_equal(ours, real)
    assert list(real.columns) == ["EPS Estimate", "Reported EPS", "Surprise(%)"]
    assert real.index.name == "Earnings Date"
    assert str(real.index.tz) == "America/New_York"
    assert str(real.index[0]) == "2025-11-04 23:00:00-05:00"  # newest first


def test_fake_actions_match_yfinance_get_actions() -> None:
    fake = _fake()
    for ticker in ("7203.T", "SPY", "006400.KS"):
        hist, _ = fake.history(ticker, "2000-01-01", "2030-01-01")
        if ticker == "SPY":
            hist["Capital Gains"] = [fake._series["SPY"].capital_gains.get(d, 0.0)
                                     for d in hist.index.tz_localize(None)]
        ph = types.SimpleNamespace(_get_history_cache=lambda period="max", h=hist: {
            "prices": h, "dividends": h["Dividends"][h["Dividends"] != 0]})
        real = PriceHistory.get_actions(ph)
        pd.testing.assert_frame_equal(fake.Ticker(ticker).actions, real)
    assert fake.Ticker("006400.KS").actions.shape == (0, 0)  # no action at all


# --------------------------------------------------------------- fetching


def test_answers_and_their_formats() -> None:
    fake = _fake()
    getter = YahooEvents(fake.Ticker, sleep=Sleeps())
    earnings = getter.earnings_dates("7203.T")
    assert [str(t) for t in earnings.index] == [
        "2025-11-04 23:00:00-05:00", "2025-02-04 23:00:00-05:00",
        "2024-05-08 00:00:00-04:00"]
    actions = getter.actions("7203.T")
    assert list(actions.columns) == ["Dividends", "Stock Splits"]
    assert [f"{d:%Y-%m-%d}" for d in actions.index] == [
        "2024-03-28", "2024-09-27", "2025-03-28"]
    assert actions["Stock Splits"].tolist() == [0.0, 1.5, 0.0]
    assert fake.ticker_calls == [("earnings_dates", "7203.T"), ("actions", "7203.T")]
    # no earnings dates (an ETF): an empty frame, not a failure
    empty = getter.earnings_dates("SPY")
    assert empty.empty and list(empty.columns) == ["EPS Estimate", "Reported EPS",
                                                   "Surprise(%)"]


@pytest.mark.parametrize("mode", ["log", "raise"])
def test_no_network_is_a_network_error_naming_the_ticker(mode: str) -> None:
    fake = _fake()
    fake.network_down(mode=mode)  # type: ignore[arg-type]
    getter = YahooEvents(fake.Ticker, sleep=Sleeps())
    with pytest.raises(NetworkError) as err:
        getter.actions("7203.T")
    assert str(err.value) == (
        "cannot reach Yahoo for the corporate actions of 7203.T: Failed to perform, "
        "curl: (6) Could not resolve host: query2.finance.yahoo.com. Check the "
        "internet connection (or the HTTPS_PROXY setting) and try again, or run with "
        "--offline to use the answers already in the cache")
    assert err.value.tickers == ["7203.T"]
    with pytest.raises(NetworkError, match="^cannot reach Yahoo for the earnings "
                       "dates of 7203.T: Failed to perform"):
        getter.earnings_dates("7203.T")


def test_rate_limit_is_retried_then_reported() -> None:
    fake = _fake()
    sleeps = Sleeps()
    fake.rate_limit(times=2)
    getter = YahooEvents(fake.Ticker, retries=2, backoff=1.5, sleep=sleeps)
    assert len(getter.actions("7203.T")) == 3  # third attempt succeeds
    assert sleeps == [1.5, 3.0]
    fake.rate_limit(times=3)
    with pytest.raises(ProviderError, match="^Yahoo rate-limited the earnings dates "
                       "of 7203.T after 3 attempt"):
        getter.earnings_dates("7203.T")


def test_limit_is_checked() -> None:
    with pytest.raises(InputError, match="limit must be from 1 to 100"):
        YahooEvents(limit=101)


# --------------------------------------------------------------- the cache


def test_cache_round_trip(tmp_path: Path) -> None:
    fake = _fake()
    getter = YahooEvents(fake.Ticker)
    cache = EventsCache(tmp_path)
    for kind, frame in (("earnings_dates", getter.earnings_dates("7203.T")),
                        ("actions", getter.actions("7203.T")),
                        ("actions", getter.actions("006400.KS"))):
        ticker = "006400.KS" if frame.shape == (0, 0) else "7203.T"
        with cache.lock():
            path = cache.write(RawAnswer(ticker, kind, frame, NOW))
        assert path == tmp_path / "yfinance-events" / kind / f"{ticker}.parquet"
        back = cache.read(kind, ticker)
        assert back is not None and back.fetched_at == NOW
        expected = frame.copy()
        expected.index = pd.DatetimeIndex(expected.index).as_unit("ns")
        pd.testing.assert_frame_equal(back.frame, expected)
    assert cache.read("actions", "^TOPX") is None
    assert not list((tmp_path / "yfinance-events").rglob(".*.tmp"))


def test_damaged_cache_file_names_the_fix(tmp_path: Path) -> None:
    cache = EventsCache(tmp_path)
    path = cache.path("actions", "7203.T")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not parquet")
    with pytest.raises(PriceDataError) as err:
        cache.read("actions", "7203.T")
    assert str(err.value).startswith(f"{path}: the cached yfinance answer is "
                                     "damaged: the Parquet file cannot be read")
    assert str(err.value).endswith("Delete this file and run 'eventstudy events "
                                   "confounders STUDY' with internet to fetch it "
                                   "again")


# --------------------------------------------------------------- rows


def test_skip_reasons() -> None:
    assert [skip_reason(t) for t in ("^TOPX", "JPY=X", "CL=F", "7203.T")] == [
        "an index", "a currency pair", "a futures contract", None]
    assert skip_reason("USDJPY", "FX") == "a currency pair"


def test_rows_of_one_ticker() -> None:
    fake = _fake()
    getter = YahooEvents(fake.Ticker)
    earnings = RawAnswer("7203.T", "earnings_dates", getter.earnings_dates("7203.T"),
                         NOW)
    actions = RawAnswer("7203.T", "actions", getter.actions("7203.T"), NOW)
    rows = confounder_rows("7203.T", earnings, actions, name="Toyota Motor",
                           currency="JPY", exchange_tz="Asia/Tokyo",
                           since=pd.Timestamp("2024-06-01"))
    assert rows == [
        {"confounder_id": "YF_SPLIT_7203.T_2024-09-27", "timestamp": "2024-09-27",
         "scope": "7203.T", "kind": "corporate_action",
         "title": "Toyota Motor: stock split 3-for-2",
         "source": "yfinance actions fetched 2025-09-01"},
        # 23:00 EST on 02-04 is 13:00 JST on 02-05: the Tokyo date names it
        {"confounder_id": "YF_EARN_7203.T_2025-02-05",
         "timestamp": "2025-02-04T23:00-05:00", "scope": "7203.T",
         "kind": "earnings",
         "title": "Toyota Motor: earnings release (reported EPS 60.2, EPS estimate "
                  "55.1, surprise 9.3%)",
         "source": "yfinance earnings_dates fetched 2025-09-01"},
        {"confounder_id": "YF_DIV_7203.T_2025-03-28", "timestamp": "2025-03-28",
         "scope": "7203.T", "kind": "corporate_action",
         "title": "Toyota Motor: ex-dividend 45 JPY per share",
         "source": "yfinance actions fetched 2025-09-01"},
        {"confounder_id": "YF_EARN_7203.T_2025-11-05",
         "timestamp": "2025-11-04T23:00-05:00", "scope": "7203.T",
         "kind": "earnings",
         "title": "Toyota Motor: earnings release (EPS estimate 40) (scheduled as "
                  "of 2025-09-01)",
         "source": "yfinance earnings_dates fetched 2025-09-01"},
    ]
    # without the exchange's time zone, Yahoo's own (New York) date is used
    plain = confounder_rows("7203.T", earnings, None)
    assert [r["confounder_id"] for r in plain] == [
        "YF_EARN_7203.T_2024-05-08", "YF_EARN_7203.T_2025-02-04",
        "YF_EARN_7203.T_2025-11-04"]
    assert plain[0]["title"].startswith("7203.T: earnings release")


def test_capital_gains_rows() -> None:
    fake = _fake()
    actions = RawAnswer("SPY", "actions", YahooEvents(fake.Ticker).actions("SPY"), NOW)
    assert confounder_rows("SPY", None, actions, currency="USD") == [
        {"confounder_id": "YF_CAPG_SPY_2024-12-20", "timestamp": "2024-12-20",
         "scope": "SPY", "kind": "corporate_action",
         "title": "SPY: capital gains distribution 0.12 USD per share",
         "source": "yfinance actions fetched 2025-09-01"}]


def test_fetch_then_offline_gives_the_same_rows(tmp_path: Path) -> None:
    fake = _fake()
    tickers = ["^TOPX", "7203.T", "NOPE.T", "006400.KS", "JPY=X"]
    cals = {"7203.T": "XTKS", "006400.KS": "XKRX", "^TOPX": "XTKS", "JPY=X": "FX"}
    done: list[str] = []
    got = fetch_confounders(tickers, tmp_path, calendars=cals,
                            fetcher=YahooEvents(fake.Ticker), now=lambda: NOW,
                            progress=done.append)
    assert got.skipped == {"^TOPX": "an index", "JPY=X": "a currency pair"}
    assert got.failed == {"NOPE.T": "Yahoo gave no history: $NOPE.T: possibly "
                          "delisted; no timezone found"}
    assert got.downloaded == ("7203.T", "006400.KS")
    assert done == ["7203.T", "NOPE.T", "006400.KS"]
    assert got.counts == {"earnings": 3, "corporate_action": 3}
    assert got.rows["scope"].tolist() == ["7203.T"] * 6
    fake.network_down()
    kept = [t for t in tickers if t != "NOPE.T"]
    again = fetch_confounders(kept, tmp_path, calendars=cals, offline=True,
                              fetcher=YahooEvents(fake.Ticker))
    assert again.cached == ("7203.T", "006400.KS") and again.downloaded == ()
    pd.testing.assert_frame_equal(again.rows, got.rows)
    assert len(fake.ticker_calls) == 6  # offline asked Yahoo nothing


def test_offline_without_cache_names_the_tickers(tmp_path: Path) -> None:
    fake = _fake()
    fetch_confounders(["7203.T"], tmp_path, fetcher=YahooEvents(fake.Ticker),
                      now=lambda: NOW)
    with pytest.raises(DataUnavailableError) as err:
        fetch_confounders(["7203.T", "006400.KS", "^KS11"], tmp_path, offline=True)
    assert str(err.value) == (
        f"--offline: the cache {tmp_path} has no earnings dates or corporate actions "
        "for 1 ticker(s): 006400.KS. Run 'eventstudy events confounders STUDY' with "
        "internet first (same --cache-dir).")
    assert err.value.tickers == ["006400.KS"]


def test_network_error_keeps_what_was_fetched(tmp_path: Path) -> None:
    fake = _fake()
    fake.network_down(tickers=("006400.KS",))
    with pytest.raises(NetworkError, match="006400.KS"):
        fetch_confounders(["7203.T", "006400.KS"], tmp_path,
                          fetcher=YahooEvents(fake.Ticker), now=lambda: NOW)
    cache = EventsCache(tmp_path)
    assert cache.read("actions", "7203.T") is not None
    assert cache.read("earnings_dates", "006400.KS") is None


# --------------------------------------------------------------- merging


def test_merge_keeps_hand_rows_and_replaces_yf_rows(tmp_path: Path) -> None:
    path = tmp_path / "confounders.csv"
    path.write_text(
        "confounder_id,timestamp,scope,kind,title,source,notes\n"
        'C01,2025-03-26T16:00-04:00,*,context,"Auto tariffs, 25%",wh.gov,keep me\n'
        "YF_EARN_7203.T_2024-01-01,2024-01-01,7203.T,earnings,old,yf,\n"
        "YF_DIV_NOPE.T_2024-01-01,2024-01-01,NOPE.T,corporate_action,old,yf,\n"
        "K02,2025-05-08,7203.T,earnings,Hand,ir.toyota,\n", encoding="utf-8")
    new = pd.DataFrame([{"confounder_id": "YF_EARN_7203.T_2025-02-05",
                         "timestamp": "2025-02-04T23:00-05:00", "scope": "7203.T",
                         "kind": "earnings", "title": "Toyota: earnings, Q3",
                         "source": "yfinance earnings_dates fetched 2025-09-01"}])
    text, counts = merge_confounders(path, new, keep_scopes=("NOPE.T",))
    assert text == (
        "confounder_id,timestamp,scope,kind,title,source,notes\n"
        'C01,2025-03-26T16:00-04:00,*,context,"Auto tariffs, 25%",wh.gov,keep me\n'
        "YF_DIV_NOPE.T_2024-01-01,2024-01-01,NOPE.T,corporate_action,old,yf,\n"
        "K02,2025-05-08,7203.T,earnings,Hand,ir.toyota,\n"
        'YF_EARN_7203.T_2025-02-05,2025-02-04T23:00-05:00,7203.T,earnings,"Toyota: '
        'earnings, Q3",yfinance earnings_dates fetched 2025-09-01,\n')
    assert counts == {"kept": 2, "replaced": 1, "added": 1}


def test_merge_refuses_a_file_that_is_not_a_confounders_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("event_id,timestamp\nE1,2024-01-02\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        merge_confounders(path, pd.DataFrame())
    assert str(err.value) == (
        f"{path}: not a confounders file: missing column(s) confounder_id, scope, "
        "kind, title, source; its header must start with "
        "confounder_id,timestamp,scope,kind,title,source (or choose another --out)")


def test_fake_network_down_messages_are_yfinance_s() -> None:
    """The log lines the fake emits without a network, as observed from yfinance."""
    fake = _fake()
    fake.network_down(mode="log")
    records: list[Any] = []

    class Keep(logging.Handler):
        def emit(self, record: Any) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("yfinance")
    handler = Keep()
    logger.addHandler(handler)
    try:
        frame = fake.Ticker("7203.T").actions
    finally:
        logger.removeHandler(handler)
    assert records == [f"Failed to get ticker '7203.T' reason: {DNS_MESSAGE}",
                       "$7203.T: possibly delisted; no timezone found"]
    assert frame.shape == (0, 0) and frame.index.dtype == object
