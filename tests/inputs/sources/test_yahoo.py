"""Tests of eventstudy.inputs.sources.yahoo against the offline fake of
yfinance.download."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yfinance
import yfinance.multi
from fake_yfinance import FakeYahoo, standard_universe
from yfinance.exceptions import YFRateLimitError

from eventstudy.errors import (
    DataUnavailableError,
    InputError,
    NetworkError,
    PriceDataError,
    ProviderError,
)
from eventstudy.inputs.sources.cache import LONG_COLUMNS
from eventstudy.inputs.sources.yahoo import YahooProvider, _flatten

START, END = "2024-01-01", "2024-03-29"

# yfinance 1.7 itself (and the fake, which copies it) triggers this under pandas 3.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")


class Sleeps(list[float]):
    """Records the delays instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fake() -> FakeYahoo:
    return standard_universe()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def provider(fake: FakeYahoo, sleeps: Sleeps) -> YahooProvider:
    return YahooProvider(download=fake.download, sleep=sleeps)


def expected(fake: FakeYahoo, tickers: list[str], start: str, end: str) -> pd.DataFrame:
    frames = [fake.expected(t, start, end) for t in sorted(tickers)]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------- the fake itself


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_fake_matches_real_download_impl(
    fake: FakeYahoo, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """yfinance's own _download_impl, fed per-ticker histories by a stub Ticker,
    builds exactly the frame the fake builds (no network: history is stubbed)."""
    fake.rate_limit(times=1, mode="log", tickers=("7267.T",))
    rate_limited = {"7267.T"}

    class StubTicker:
        def __init__(self, ticker: str) -> None:
            self.ticker = ticker
            self._price_history = SimpleNamespace(_last_error=None)

        def history(self, start: str, end: str, **_: Any) -> pd.DataFrame:
            frame, error = fake.history(
                self.ticker, start, end, rate_limited=self.ticker in rate_limited
            )
            self._price_history._last_error = error
            return frame

    monkeypatch.setattr(yfinance.multi, "Ticker", StubTicker)
    tickers = ["^topx", "7203.T", "NOPE.T", "7267.T", "7203.T"]
    options: dict[str, Any] = {
        "start": "2024-01-01",
        "end": "2024-01-20",
        "actions": True,
        "threads": False,
        "ignore_tz": True,
        "group_by": "column",
        "auto_adjust": False,
        "progress": False,
        "multi_level_index": True,
    }
    with caplog.at_level(logging.ERROR, logger="yfinance"):
        real = yfinance.multi._download_impl(
            yfinance.multi._DownloadCtx(), tickers, **options
        )
    real_log = sorted(r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="yfinance"):
        ours = fake.download(tickers, **options)
    assert sorted(r.getMessage() for r in caplog.records) == real_log
    pd.testing.assert_frame_equal(ours, real)
    # The shape eventstudy relies on.
    assert list(real.columns.names) == ["Price", "Ticker"]
    assert real.index.name == "Date" and real.index.tz is None
    assert set(real.columns.get_level_values(0)) == {
        "Adj Close",
        "Close",
        "Dividends",
        "High",
        "Low",
        "Open",
        "Stock Splits",
        "Volume",
    }
    assert list(real.columns) == sorted(real.columns)  # not the input order
    assert ("Dividends", "7267.T") not in real.columns  # failed: utils.empty_df()
    assert real[("Close", "7267.T")].isna().all()
    assert real[("Close", "NOPE.T")].isna().all()
    assert "['7267.T']: YFRateLimitError(" in "\n".join(real_log)


def test_fake_single_ticker_keeps_multiindex(fake: FakeYahoo) -> None:
    raw = fake.download(
        "7203.T",
        start=START,
        end="2024-01-10",
        auto_adjust=False,
        actions=True,
        multi_level_index=True,
        group_by="column",
        progress=False,
        threads=False,
        ignore_tz=True,
    )
    assert isinstance(raw.columns, pd.MultiIndex)
    assert set(raw.columns.get_level_values(1)) == {"7203.T"}


# --------------------------------------------------------------- _flatten


def test_flatten_multi_ticker_any_order(fake: FakeYahoo) -> None:
    raw = fake.download(
        ["7267.T", "JPY=X", "7203.T"],
        start=START,
        end="2024-01-31",
        auto_adjust=False,
        actions=True,
        threads=False,
        progress=False,
    )
    frame, missing = _flatten(raw, ["7267.T", "jpy=x", "7203.T"])
    assert missing == []
    assert list(frame.columns) == [*LONG_COLUMNS, "open"]
    assert list(frame["ticker"].unique()) == ["7203.T", "7267.T", "jpy=x"]
    # 2024-01-08 is a Tokyo holiday: the union re-index padded it with NaN, and
    # the padding must not become a row.
    toyota = frame.loc[frame["ticker"] == "7203.T"]
    assert pd.Timestamp("2024-01-08") not in set(toyota["date"])
    assert pd.Timestamp("2024-01-08") in set(
        frame.loc[frame["ticker"] == "jpy=x", "date"]
    )
    want = fake.expected("7203.T", START, "2024-01-30").reset_index(drop=True)
    pd.testing.assert_frame_equal(toyota.reset_index(drop=True), want)
    assert frame["date"].dtype == "datetime64[ns]"
    assert all(frame[c].dtype == "float64" for c in [*LONG_COLUMNS[2:], "open"])


def test_flatten_single_ticker(fake: FakeYahoo) -> None:
    raw = fake.download(
        ["7203.T"], start=START, end="2024-01-10", auto_adjust=False, actions=True
    )
    frame, missing = _flatten(raw, ["7203.T"])
    assert missing == [] and len(frame) == 6


def test_flatten_missing_action_columns_mean_no_action() -> None:
    dates = pd.DatetimeIndex(["2024-01-04", "2024-01-05"], name="Date")
    columns = pd.MultiIndex.from_product(
        [["Adj Close", "Close", "Volume"], ["A"]], names=["Price", "Ticker"]
    )
    raw = pd.DataFrame(np.ones((2, 3)), index=dates, columns=columns)
    frame, missing = _flatten(raw, ["A", "B"])
    assert missing == ["B"]
    assert frame["dividends"].tolist() == [0.0, 0.0]
    assert frame["splits"].tolist() == [0.0, 0.0]


def test_flatten_empty_and_none() -> None:
    for raw in (None, pd.DataFrame()):
        frame, missing = _flatten(raw, ["A"])
        assert missing == ["A"] and frame.empty
        assert list(frame.columns) == list(LONG_COLUMNS)


def test_flatten_rejects_other_layouts() -> None:
    dates = pd.DatetimeIndex(["2024-01-04"], name="Date")
    flat = pd.DataFrame({"Close": [1.0], "Adj Close": [1.0]}, index=dates)
    with pytest.raises(PriceDataError, match="multi_level_index"):
        _flatten(flat, ["A"])
    adjusted = pd.DataFrame(
        [[1.0]],
        index=dates,
        columns=pd.MultiIndex.from_tuples([("Close", "A")], names=["Price", "Ticker"]),
    )
    with pytest.raises(PriceDataError, match="auto_adjust=False"):
        _flatten(adjusted, ["A"])


# --------------------------------------------------------------- fetch


def test_download_options_are_explicit(
    fake: FakeYahoo, provider: YahooProvider
) -> None:
    provider.fetch(["7203.T"], START, END)
    (call,) = fake.calls
    assert call["start"] == "2024-01-01"
    assert call["end"] == "2024-03-30"  # yfinance's end is exclusive
    assert call["auto_adjust"] is False
    assert call["actions"] is True
    assert call["multi_level_index"] is True
    assert call["group_by"] == "column"
    assert call["progress"] is False
    assert call["threads"] is False
    assert call["ignore_tz"] is True


def test_fetch_round_trip(fake: FakeYahoo, provider: YahooProvider) -> None:
    tickers = ["7267.T", "^TOPX", "7203.T", "JPY=X", "7203.T"]
    frame = provider.fetch(tickers, START, END)
    pd.testing.assert_frame_equal(
        frame, expected(fake, ["7267.T", "^TOPX", "7203.T", "JPY=X"], START, END)
    )
    assert frame["date"].max() == pd.Timestamp(END)


def test_fetch_uses_monkeypatched_yfinance_download(
    fake: FakeYahoo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yfinance, "download", fake.download)
    frame = YahooProvider(sleep=Sleeps()).fetch(["7203.T"], START, "2024-01-31")
    assert len(fake.calls) == 1 and len(frame) == 22


def test_partial_failure(
    fake: FakeYahoo, provider: YahooProvider, sleeps: Sleeps
) -> None:
    tickers = ["7203.T", "NOPE.T", "7267.T"]
    with pytest.raises(DataUnavailableError) as info:
        provider.fetch(tickers, START, END)
    assert info.value.tickers == ["NOPE.T"]
    assert "NOPE.T" in str(info.value) and "possibly delisted" in str(info.value)
    frame, failures = provider.fetch_partial(tickers, START, END)
    assert list(failures) == ["NOPE.T"]
    assert "no price data found" in failures["NOPE.T"]
    pd.testing.assert_frame_equal(
        frame, expected(fake, ["7203.T", "7267.T"], START, END)
    )
    assert sleeps == []  # an unknown ticker is not retried
    assert len(fake.calls) == 2


def test_all_nan_close_counts_as_missing(provider: YahooProvider) -> None:
    # A weekend-only range: Yahoo has no rows, yfinance logs a soft error.
    frame, failures = provider.fetch_partial(["7203.T"], "2024-01-06", "2024-01-07")
    assert frame.empty and list(failures) == ["7203.T"]


def test_rate_limit_logged_by_yfinance_is_retried(
    fake: FakeYahoo, provider: YahooProvider, sleeps: Sleeps
) -> None:
    """yfinance 1.x swallows YFRateLimitError per ticker (multi.py 298-302)."""
    fake.rate_limit(times=2, mode="log", tickers=("7267.T",))
    frame = provider.fetch(["7203.T", "7267.T"], START, END)
    pd.testing.assert_frame_equal(
        frame, expected(fake, ["7203.T", "7267.T"], START, END)
    )
    assert sleeps == [1.0, 2.0]
    assert [c["tickers"] for c in fake.calls] == [
        ["7203.T", "7267.T"],
        ["7267.T"],
        ["7267.T"],
    ]


def test_rate_limit_raised_is_retried(
    fake: FakeYahoo, provider: YahooProvider, sleeps: Sleeps
) -> None:
    fake.rate_limit(times=2, mode="raise")
    frame = provider.fetch(["7203.T"], START, END)
    pd.testing.assert_frame_equal(frame, expected(fake, ["7203.T"], START, END))
    assert sleeps == [1.0, 2.0]
    assert len(fake.calls) == 3


@pytest.mark.parametrize("mode", ["raise", "log"])
def test_backoff_is_bounded_and_gives_up(fake: FakeYahoo, mode: Any) -> None:
    fake.rate_limit(times=100, mode=mode)
    sleeps = Sleeps()
    provider = YahooProvider(
        retries=6, backoff=0.5, max_backoff=3.0, download=fake.download, sleep=sleeps
    )
    with pytest.raises(DataUnavailableError) as info:
        provider.fetch(["7203.T"], START, END)
    assert sleeps == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert sleeps == sorted(sleeps) and max(sleeps) <= 3.0
    assert len(fake.calls) == 7
    assert "Rate limited" in str(info.value) and "7 attempt(s)" in str(info.value)
    assert not isinstance(info.value, NetworkError)


@pytest.mark.parametrize(
    "exc", [ConnectionError("reset by peer"), TimeoutError("read timed out")]
)
def test_transient_errors_are_retried(
    fake: FakeYahoo, provider: YahooProvider, sleeps: Sleeps, exc: Exception
) -> None:
    fake.fail_with(exc, times=1)
    assert len(provider.fetch(["7203.T"], START, END)) == 63
    assert sleeps == [1.0]


def test_transient_error_by_name_is_retried(
    fake: FakeYahoo, provider: YahooProvider, sleeps: Sleeps
) -> None:
    class ReadTimeout(Exception):  # like curl_cffi's / requests' ReadTimeout
        pass

    fake.fail_with(ReadTimeout("slow"), times=1)
    provider.fetch(["7203.T"], START, END)
    assert sleeps == [1.0]


def test_other_errors_are_typed_and_not_retried(
    fake: FakeYahoo, provider: YahooProvider, sleeps: Sleeps
) -> None:
    fake.fail_with(ValueError("bug"), times=1)
    with pytest.raises(ProviderError) as info:
        provider.fetch(["7203.T"], START, END)
    assert str(info.value) == (
        "Yahoo download failed for 1 ticker(s): 7203.T (2024-01-01..2024-03-29): "
        "ValueError: bug. This is not a rate limit or network error, so retrying "
        "will not help: check the tickers (Yahoo symbols such as 7203.T, ^N225, "
        "JPY=X), update yfinance (pip install -U yfinance) or report it. The cached "
        "prices of these tickers were left unchanged."
    )
    assert info.value.tickers == ["7203.T"]
    assert isinstance(info.value.__cause__, ValueError)
    assert sleeps == [] and len(fake.calls) == 1


# --------------------------------------------------------------- network


DNS_REASON = (
    "DNSError('Failed to perform, curl: (6) Could not resolve host: "
    "query2.finance.yahoo.com.')"
)


@pytest.mark.parametrize("mode", ["log", "raise"])
def test_no_network_is_a_network_error(
    fake: FakeYahoo, provider: YahooProvider, sleeps: Sleeps, mode: Any
) -> None:
    fake.network_down(mode=mode)
    with pytest.raises(NetworkError) as info:
        provider.fetch_partial(["7203.T", "^TOPX"], START, END)
    assert str(info.value) == (
        f"cannot reach Yahoo: {DNS_REASON} after 5 attempt(s), for 2 ticker(s): "
        "7203.T, ^TOPX (2024-01-01..2024-03-29). Check the internet connection (or "
        "the HTTPS_PROXY setting) and try again."
    )
    assert info.value.tickers == ["7203.T", "^TOPX"]
    assert sleeps == [1.0, 2.0, 4.0, 8.0] and len(fake.calls) == 5


def test_network_back_after_a_retry(
    fake: FakeYahoo, provider: YahooProvider, sleeps: Sleeps
) -> None:
    fake.network_down(times=1)
    frame = provider.fetch(["7203.T"], START, END)
    pd.testing.assert_frame_equal(frame, expected(fake, ["7203.T"], START, END))
    assert sleeps == [1.0]


def test_network_error_for_some_tickers_is_a_failure(
    fake: FakeYahoo, provider: YahooProvider
) -> None:
    """Only a call where every ticker failed on the network raises."""
    fake.network_down(tickers=("7267.T",))
    frame, failures = provider.fetch_partial(["7203.T", "7267.T"], START, END)
    assert failures == {"7267.T": f"{DNS_REASON} after 5 attempt(s)"}
    pd.testing.assert_frame_equal(frame, expected(fake, ["7203.T"], START, END))


def test_rate_limit_for_every_ticker_is_not_a_network_error(
    fake: FakeYahoo, provider: YahooProvider
) -> None:
    fake.rate_limit(times=100, mode="log")
    frame, failures = provider.fetch_partial(["7203.T", "^TOPX"], START, END)
    assert frame.empty and list(failures) == ["7203.T", "^TOPX"]
    assert failures["7203.T"].endswith("after 5 attempt(s)")


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_fake_network_failure_matches_real_download_impl(
    fake: FakeYahoo, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """yfinance's _download_impl, with a Ticker whose history fails as curl_cffi
    does without DNS, logs and returns what the fake's network_down does."""
    from curl_cffi.requests.exceptions import DNSError
    from fake_yfinance import DNS_MESSAGE

    class StubTicker:
        def __init__(self, ticker: str) -> None:
            self._price_history = None

        def history(self, **_: Any) -> pd.DataFrame:
            raise DNSError(DNS_MESSAGE)

    monkeypatch.setattr(yfinance.multi, "Ticker", StubTicker)
    options: dict[str, Any] = {
        "start": START,
        "end": "2024-01-20",
        "actions": True,
        "threads": False,
        "ignore_tz": True,
        "group_by": "column",
        "auto_adjust": False,
        "progress": False,
        "multi_level_index": True,
    }
    with caplog.at_level(logging.ERROR, logger="yfinance"):
        real = yfinance.multi._download_impl(
            yfinance.multi._DownloadCtx(), ["7203.T"], **options
        )
    real_log = [r.getMessage() for r in caplog.records]
    caplog.clear()
    fake.network_down()
    with caplog.at_level(logging.WARNING, logger="yfinance"):
        ours = fake.download(["7203.T"], **options)
    our_log = [r.getMessage() for r in caplog.records]
    pd.testing.assert_frame_equal(ours, real)
    assert real.empty and real_log[-1] == f"['7203.T']: DNSError('{DNS_MESSAGE}')"
    assert our_log[-2:] == real_log
    assert our_log[:2] == [
        "Cookie/crumb fetch failed (DNSError), continuing without crumb",
        f"Failed to get ticker '7203.T' reason: {DNS_MESSAGE}",
    ]


# --------------------------------------------------------------- noise


def test_yfinance_noise_never_reaches_the_terminal(
    fake: FakeYahoo,
    provider: YahooProvider,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import warnings

    fake.chatter = "yfinance says hello"
    logger = logging.getLogger("yfinance")
    handlers, propagate = list(logger.handlers), logger.propagate
    with caplog.at_level(logging.DEBUG), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        frame, failures = provider.fetch_partial(["7203.T", "NOPE.T"], START, END)
    assert list(failures) == ["NOPE.T"] and len(frame) == 63
    assert capsys.readouterr() == ("", "")
    assert [r for r in caplog.records if r.name == "yfinance"] == []
    ours = "eventstudy.inputs.sources.yahoo"
    assert [r.getMessage() for r in caplog.records if r.name == ours] == [
        "yfinance printed: yfinance says hello\nyfinance says hello"
    ]
    assert seen == []
    # everything is restored afterwards
    assert logger.handlers == handlers and logger.propagate is propagate


def test_reasons_are_one_short_line() -> None:
    from eventstudy.inputs.sources.yahoo import short_reason

    long = "x" * 500
    assert len(short_reason(long)) == 200 and short_reason(long).endswith("...")
    assert short_reason("a\n  b") == "a b"


def test_rate_limit_error_is_what_yfinance_raises() -> None:
    assert "Too Many Requests" in str(YFRateLimitError())


def test_invalid_arguments(provider: YahooProvider) -> None:
    with pytest.raises(InputError, match="after end"):
        provider.fetch(["7203.T"], END, START)
    with pytest.raises(InputError, match="not the string"):
        provider.fetch("7203.T", START, END)
    with pytest.raises(InputError, match="tz-aware"):
        provider.fetch(["7203.T"], pd.Timestamp(START, tz="UTC"), END)
    with pytest.raises(InputError):
        YahooProvider(retries=-1)


def test_delays() -> None:
    provider = YahooProvider(retries=4, backoff=1.0, max_backoff=30.0)
    assert provider.delays() == [1.0, 2.0, 4.0, 8.0]
    assert YahooProvider(retries=0).delays() == []


def test_set_cache_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(yfinance, "set_tz_cache_location", seen.append)
    location = YahooProvider().set_cache_location(tmp_path / "cache")
    assert location == tmp_path / "cache" / "yfinance-tz"
    assert location.is_dir()
    assert seen == [str(location)]


@pytest.mark.network
def test_network_smoke(tmp_path: Path) -> None:
    """Really downloads a few days of Toyota from Yahoo (opt in: -m network)."""
    provider = YahooProvider(retries=2)
    provider.set_cache_location(tmp_path)
    frame = provider.fetch(["7203.T"], "2024-06-03", "2024-06-07")
    assert list(frame.columns) == [*LONG_COLUMNS, "open"]
    assert frame["date"].min() >= pd.Timestamp("2024-06-03")
    assert frame["date"].max() <= pd.Timestamp("2024-06-07")
    assert len(frame) == 5 and frame["close"].gt(0).all()
