"""An offline stand-in for ``yfinance.download`` that returns yfinance 1.x's real shape.

Tests monkeypatch ``yfinance.download`` with :meth:`FakeYahoo.download` (or inject it
into :class:`eventstudy.inputs.sources.yahoo.YahooProvider`). Nothing here touches
the network.

What is reproduced, and where it comes from in the installed yfinance 1.7 source
(``venv/lib/python3.11/site-packages/yfinance``; behaviour re-implemented, not copied):

- ``multi.py`` 146-157 (``_download_impl``): a ticker string is split on commas and
  spaces; tickers are upper-cased and de-duplicated through a ``set``.
- ``multi.py`` 178-184: with ``threads=False`` one ``_download_one`` per ticker.
- ``multi.py`` 272-306 (``_download_one``): *every* exception of ``Ticker.history``,
  ``YFRateLimitError`` included, is caught; the ticker gets ``utils.empty_df()``
  (``Open, High, Low, Close, Adj Close, Volume``, all NaN, no ``Dividends`` or
  ``Stock Splits``; ``utils.py`` 269-276) and ``errors[sym] = repr(exc)``. Soft errors
  (no data, delisted) come from ``history``'s ``_last_error`` instead.
- ``multi.py`` 191-200: the errors are logged on the ``yfinance`` logger as
  ``"\\n1 Failed download:"`` then ``"['SYM']: <error>"``; nothing is raised.
- ``multi.py`` 209-213 and 231-257 (``reindex_dfs``): with ``ignore_tz`` the index is
  made tz-naive and every ticker is re-indexed to the union of all dates, so a
  failed ticker becomes all-NaN columns and a ticker's non-trading days are NaN.
- ``multi.py`` 214-219: ``pd.concat(..., keys=tickers, names=['Ticker', 'Price'])``;
  222-224: with ``group_by='column'`` the levels are swapped to ``(Price, Ticker)``
  and sorted (so column order is alphabetical, not the input order); 226-227: the
  ticker level is dropped only for ``multi_level_index=False`` and one ticker.
- ``scrapers/history.py``: ``utils.parse_quotes`` (``utils.py`` 561-566) gives
  ``Open, High, Low, Close, Adj Close, Volume``; ``Dividends``/``Stock Splits`` are
  added with 0.0 on days without an action (history.py 505-516); ``Capital Gains``
  for ETFs and mutual funds (379, 517-522); ``Volume`` becomes int64 (611); the index
  is named ``Date`` (616) and holds exchange-tz midnights; ``end`` is exclusive; no
  data in the range is a soft ``YFPricesMissingError`` ("possibly delisted; no price
  data found ..."), logged by history itself (362-372); ``YFRateLimitError`` is
  re-raised (297-298; raised by ``data.py`` 505-506 on HTTP 429).
- ``Close`` is split-adjusted but not dividend-adjusted; ``Adj Close`` is also
  dividend-adjusted with Yahoo's multiplicative factor ``1 - D / close_before_ex``
  applied to every earlier date, so a new dividend re-bases all past ``Adj Close``.

- No network (observed with the installed yfinance 1.7 and no DNS): nothing is
  raised; each ticker's ``history`` fails inside ``_download_one`` with curl_cffi's
  ``DNSError('Failed to perform, curl: (6) Could not resolve host: ...')``, after a
  WARNING ``"Cookie/crumb fetch failed (DNSError), continuing without crumb"``
  (``data.py`` 449-451) and an ERROR ``"Failed to get ticker 'SYM' reason: ..."``
  (``base.py`` 187-191); the result has the usual columns and no row.
- Noise: every call triggers pandas' ``Pandas4Warning`` about ``inplace``
  (``multi.py`` 220 and 224, with pandas 3.x), and ``progress=True`` prints a
  progress bar on stderr (``utils.ProgressBar``).

Beyond yfinance, the fake can leave sessions out of its answers
(:meth:`FakeYahoo.drop_sessions`, :meth:`FakeYahoo.truncate`), as Yahoo sometimes
does, and print stray text (:attr:`FakeYahoo.chatter`).

``tests/inputs/sources/test_yahoo.py::test_fake_matches_real_download_impl``
checks this fake against yfinance's real ``_download_impl`` driven by a stub
``Ticker``.

:meth:`FakeYahoo.Ticker` stands in for ``yfinance.Ticker`` (earnings dates and
corporate actions); what it reproduces:

- ``Ticker.actions`` / ``get_actions`` (``scrapers/history.py`` 728-750): the
  ``Dividends``, ``Stock Splits`` (and ``Capital Gains`` for ETFs and funds) columns
  of the max-period daily history, only the rows with an action, and a column
  dropped when all of its values are 0; the index is the exchange-tz midnight of
  each ex-date, named ``Date``. Without any action: an empty frame without columns.
- ``get_earnings_dates(limit, offset)`` (``base.py`` 633-737, the HTML scrape of
  ``finance.yahoo.com/calendar/earnings``): the page lists 25, 50 or 100 rows
  (``limit`` picks the size; the frame is not cut to ``limit``), newest first; times
  are shown to the hour in New York time ("February 5, 2026 at 11 PM EST") and
  parsed into a tz-aware ``Earnings Date`` index (``America/New_York``); columns
  ``EPS Estimate, Reported EPS, Surprise(%)`` (floats, NaN for "-"). No table: the
  error "<SYM>: No earnings dates found, symbol may be delisted" is logged and None
  returned. ``limit > 100`` raises ``ValueError("Yahoo caps limit at 100")``.
- No network (observed by driving the installed yfinance 1.7 with a ``YfData``
  whose requests raise curl_cffi's ``DNSError``): ``get_earnings_dates`` raises the
  ``DNSError``; ``actions`` logs "Failed to get ticker 'SYM' reason: <message>" and
  then either raises the ``DNSError`` (its time-zone fallback through ``info``,
  taken for the first two tickers of a process: ``mode="raise"``) or logs
  "$SYM: possibly delisted; no timezone found" and returns an empty frame whose
  index is an empty object ``Index`` named ``Date`` (``mode="log"``). An unknown
  symbol gives that same log and empty frame. ``YFRateLimitError`` propagates
  from both.

``tests/inputs/sources/test_yahoo_events.py`` checks the earnings frame against
yfinance's real ``_get_earnings_dates_using_scrape`` fed :meth:`FakeYahoo.earnings_html`
and the actions against the real ``PriceHistory.get_actions``.
"""

from __future__ import annotations

import html
import logging
import sys
import time
import warnings
from dataclasses import dataclass, field
from io import StringIO
from typing import Any, Literal

import numpy as np
import pandas as pd
from curl_cffi.requests.exceptions import DNSError
from yfinance import utils as yf_utils
from yfinance.exceptions import YFPricesMissingError, YFRateLimitError

DNS_MESSAGE = (
    "Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com. "
    "See https://curl.se/libcurl/c/libcurl-errors.html first for more details."
)
"""curl_cffi's message when there is no network (no DNS)."""

_PANDAS4 = getattr(pd.errors, "Pandas4Warning", FutureWarning)

_TZ_BY_SUFFIX = {".T": "Asia/Tokyo", ".KS": "Asia/Seoul", ".KQ": "Asia/Seoul"}


@dataclass
class _Series:
    """One instrument's full history, as Yahoo holds it today."""

    dates: pd.DatetimeIndex  # tz-naive session dates
    close: np.ndarray  # split-adjusted close
    volume: np.ndarray
    tz: str
    quote_type: str
    dividends: dict[pd.Timestamp, float] = field(default_factory=dict)
    splits: dict[pd.Timestamp, float] = field(default_factory=dict)
    capital_gains: dict[pd.Timestamp, float] = field(default_factory=dict)

    def adj_close(self) -> np.ndarray:
        adj = self.close.astype(float).copy()
        for ex_date, amount in self.dividends.items():
            before = self.dates < ex_date
            if before.any():
                prev_close = self.close[np.flatnonzero(before)[-1]]
                adj[before] *= 1.0 - amount / prev_close
        return adj

    def open(self) -> np.ndarray:
        """Split-adjusted opens: 99% +- 1% of the close, varying by session (so
        open-to-close returns vary), a fixed function of the session's position."""
        return self.close.astype(float) * (
            0.99 + 0.01 * np.sin(np.arange(len(self.close), dtype=float)))


@dataclass
class _Failure:
    remaining: int
    mode: Literal["raise", "log"]
    tickers: frozenset[str] | None
    exc: type[BaseException] | BaseException


@dataclass
class _Omission:
    """Sessions an answer leaves out (``remaining`` answers; None: always)."""

    ticker: str
    dates: frozenset[pd.Timestamp] | None  # None: everything after ``after``
    after: pd.Timestamp | None
    remaining: int | None

    def hides(self, day: pd.Timestamp) -> bool:
        if self.dates is not None:
            return day in self.dates
        return self.after is not None and day > self.after


class FakeYahoo:
    """A deterministic fake of Yahoo's daily chart data plus ``yfinance.download``.

    Parameters
    ----------
    seed
        Seed of the random-walk prices.
    delay
        Seconds each ``download`` call sleeps (to make concurrent runs overlap).

    Attributes
    ----------
    calls
        One dict per ``download`` call: the tickers and every keyword passed.
    chatter
        Text each ``download`` call prints to stdout and stderr (None: nothing),
        like yfinance's stray ``print`` calls.
    """

    def __init__(self, seed: int = 0, delay: float = 0.0) -> None:
        self._rng = np.random.default_rng(seed)
        self._series: dict[str, _Series] = {}
        self._failures: list[_Failure] = []
        self._omissions: list[_Omission] = []
        self.delay = delay
        self.calls: list[dict[str, Any]] = []
        self.chatter: str | None = None
        self._earnings: dict[str, list[tuple[pd.Timestamp, float, float, float]]] = {}
        self.ticker_calls: list[tuple[str, str]] = []

    # ------------------------------------------------------------ the universe

    def add_ticker(
        self,
        ticker: str,
        start: str = "2023-01-02",
        end: str = "2024-12-31",
        *,
        price: float = 1000.0,
        holidays: tuple[str, ...] = (),
        quote_type: str = "EQUITY",
        tz: str | None = None,
    ) -> FakeYahoo:
        """Add a random-walk instrument trading on weekdays except ``holidays``."""
        dates = pd.bdate_range(start, end).difference(pd.DatetimeIndex(holidays))
        steps = self._rng.normal(0.0, 0.01, len(dates))
        close = np.round(price * np.exp(np.cumsum(steps)), 2)
        volume = self._rng.integers(1_000, 100_000, len(dates)).astype(float)
        if tz is None:
            suffix = "." + ticker.rsplit(".", 1)[-1] if "." in ticker else ""
            tz = _TZ_BY_SUFFIX.get(suffix, "America/New_York")
        self._series[ticker.upper()] = _Series(
            pd.DatetimeIndex(dates), close, volume, tz, quote_type
        )
        return self

    def add_dividend(self, ticker: str, ex_date: str, amount: float) -> None:
        """Add a cash dividend; every earlier ``Adj Close`` is re-based."""
        series = self._series[ticker.upper()]
        series.dividends[pd.Timestamp(ex_date)] = amount

    def add_split(self, ticker: str, ex_date: str, ratio: float) -> None:
        """Add a stock split; earlier closes and dividends are divided by ``ratio``."""
        series = self._series[ticker.upper()]
        day = pd.Timestamp(ex_date)
        before = series.dates < day
        series.close = np.where(before, series.close / ratio, series.close)
        series.volume = np.where(before, series.volume * ratio, series.volume)
        series.dividends = {
            d: (a / ratio if d < day else a) for d, a in series.dividends.items()
        }
        series.splits[day] = ratio

    def add_capital_gain(self, ticker: str, ex_date: str, amount: float) -> None:
        """Add a capital-gains distribution (shown for ETFs and funds only)."""
        self._series[ticker.upper()].capital_gains[pd.Timestamp(ex_date)] = amount

    def add_earnings(
        self,
        ticker: str,
        when: str,
        estimate: float | None = None,
        reported: float | None = None,
        surprise: float | None = None,
    ) -> None:
        """Add an earnings release at the instant ``when`` (ISO 8601 with an offset);
        Yahoo's page shows it to the hour in New York time."""
        stamp = pd.Timestamp(when)
        if stamp.tzinfo is None:
            raise ValueError("give the earnings time with its UTC offset")

        def num(v: float | None) -> float:
            return float("nan") if v is None else float(v)

        self._earnings.setdefault(ticker.upper(), []).append(
            (stamp, num(estimate), num(reported), num(surprise))
        )

    def earnings_html(self, ticker: str, size: int = 25, offset: int = 0) -> str:
        """The earnings-calendar page for ``ticker``: one ``<table>`` (Symbol,
        Company, Earnings Date, EPS Estimate, Reported EPS, Surprise (%)), newest
        first, ``size`` rows from ``offset``; no table when there is no row."""
        rows = sorted(self._earnings.get(ticker.upper(), []), key=lambda r: r[0],
                      reverse=True)[offset: offset + size]
        if not rows:
            return "<html><body><p>No results</p></body></html>"

        def cell(v: float) -> str:
            return "-" if np.isnan(v) else f"{v:g}"

        body = []
        for stamp, est, rep, sur in rows:
            ny = stamp.tz_convert("America/New_York").floor("h")
            hour = ny.hour % 12 or 12
            shown = (f"{ny:%B} {ny.day}, {ny.year} at {hour} "
                     f"{'AM' if ny.hour < 12 else 'PM'} {ny.tzname()}")
            cells = [ticker.upper(), "Company", shown, cell(est), cell(rep), cell(sur)]
            body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                        + "</tr>")
        head = "".join(f"<th>{h}</th>" for h in (
            "Symbol", "Company", "Earnings Date", "EPS Estimate", "Reported EPS",
            "Surprise (%)"))
        return (f"<html><body><table><thead><tr>{head}</tr></thead><tbody>"
                f"{''.join(body)}</tbody></table></body></html>")

    def Ticker(self, ticker: str) -> FakeTicker:  # noqa: N802 (yfinance's name)
        """``yfinance.Ticker(ticker)`` over the fake universe."""
        return FakeTicker(self, ticker)

    def expected(self, ticker: str, start: str, end: str) -> pd.DataFrame:
        """The long-frame rows eventstudy should produce for ``[start, end]``."""
        s = self._series[ticker.upper()]
        keep = (s.dates >= pd.Timestamp(start)) & (s.dates <= pd.Timestamp(end))
        dates = s.dates[keep]
        return pd.DataFrame(
            {
                "date": dates.astype("datetime64[ns]"),
                "ticker": ticker,
                "close": s.close[keep].astype(float),
                "adj_close": s.adj_close()[keep],
                "dividends": [s.dividends.get(d, 0.0) for d in dates],
                "splits": [s.splits.get(d, 0.0) for d in dates],
                "volume": s.volume[keep].astype(float),
                "open": s.open()[keep],  # as download's Open
            }
        )

    # ------------------------------------------------------------ failures

    def rate_limit(
        self,
        times: int,
        mode: Literal["raise", "log"] = "log",
        tickers: tuple[str, ...] | None = None,
    ) -> None:
        """Rate-limit the next ``times`` download calls.

        ``mode="log"`` is what yfinance 1.x really does: ``YFRateLimitError`` is
        raised inside ``Ticker.history``, caught by ``_download_one`` and logged, and
        the ticker comes back as all-NaN columns. ``mode="raise"`` makes ``download``
        itself raise it (older versions, or a failure outside the per-ticker loop).
        """
        only = None if tickers is None else frozenset(t.upper() for t in tickers)
        self._failures.append(_Failure(times, mode, only, YFRateLimitError))

    def fail_with(self, exc: BaseException, times: int = 1) -> None:
        """Make the next ``times`` download calls raise ``exc``."""
        self._failures.append(_Failure(times, "raise", None, exc))

    def network_down(
        self,
        times: int = 1_000_000,
        mode: Literal["raise", "log"] = "log",
        tickers: tuple[str, ...] | None = None,
    ) -> None:
        """No network for the next ``times`` download calls.

        ``mode="log"`` is what yfinance 1.7 really does (see the module docstring):
        every ticker fails with curl_cffi's ``DNSError``, caught and logged.
        ``mode="raise"`` makes ``download`` itself raise the ``DNSError``.
        ``tickers`` limits a ``"log"`` failure to those tickers.
        """
        only = None if tickers is None else frozenset(t.upper() for t in tickers)
        self._failures.append(_Failure(times, mode, only, DNSError(DNS_MESSAGE)))

    def drop_sessions(
        self, ticker: str, dates: tuple[str, ...], times: int | None = None
    ) -> None:
        """Leave ``dates`` out of the next ``times`` answers for ``ticker`` (None:
        of every answer), as a truncated Yahoo answer does."""
        days = frozenset(pd.Timestamp(d) for d in dates)
        self._omissions.append(_Omission(ticker.upper(), days, None, times))

    def truncate(self, ticker: str, after: str, times: int | None = None) -> None:
        """End the next ``times`` answers for ``ticker`` at ``after`` (None: every
        answer), as an answer cut short does."""
        self._omissions.append(
            _Omission(ticker.upper(), None, pd.Timestamp(after), times)
        )

    def _hidden(self, ticker: str, dates: pd.DatetimeIndex) -> np.ndarray:
        """Which of ``dates`` this answer for ``ticker`` leaves out (consumes one
        use of each matching omission)."""
        hidden = np.zeros(len(dates), dtype=bool)
        for omission in self._omissions:
            if omission.ticker != ticker.upper() or omission.remaining == 0:
                continue
            if omission.remaining is not None:
                omission.remaining -= 1
            hidden |= np.array([omission.hides(d) for d in dates], dtype=bool)
        return hidden

    def _take_failure(self) -> _Failure | None:
        for failure in self._failures:
            if failure.remaining > 0:
                failure.remaining -= 1
                return failure
        return None

    # ------------------------------------------------------------ yfinance API

    def history(
        self,
        ticker: str,
        start: str,
        end: str,
        rate_limited: bool = False,
        raises: BaseException | None = None,
    ) -> tuple[pd.DataFrame, str | None]:
        """What ``Ticker(ticker).history(start, end, actions=True,
        auto_adjust=False)`` returns, plus its soft error (``_last_error``)."""
        logger = logging.getLogger("yfinance")
        if rate_limited:
            raise YFRateLimitError()
        if raises is not None:
            name = type(raises).__name__
            logger.warning(
                f"Cookie/crumb fetch failed ({name}), continuing without crumb"
            )
            logger.error(f"Failed to get ticker '{ticker.upper()}' reason: {raises}")
            raise raises
        series = self._series.get(ticker.upper())
        first, stop = pd.Timestamp(start), pd.Timestamp(end)
        if series is not None:
            keep = (series.dates >= first) & (series.dates < stop)
            keep &= ~self._hidden(ticker, series.dates)
        if series is None or not keep.any():
            exc = YFPricesMissingError(ticker.upper(), f" (1d {start} -> {end})")
            message = str(exc)
            logger.error(message)
            return yf_utils.empty_df(), message.split(": ", 1)[1]
        dates = series.dates[keep]
        frame = pd.DataFrame(
            {
                "Open": series.open()[keep],
                "High": series.close[keep] * 1.01,
                "Low": series.close[keep] * 0.98,
                "Close": series.close[keep].astype(float),
                "Adj Close": series.adj_close()[keep],
                "Volume": series.volume[keep],
            },
            index=pd.to_datetime(dates.date).tz_localize(series.tz),
        )
        frame["Dividends"] = [series.dividends.get(d, 0.0) for d in dates]
        frame["Stock Splits"] = [series.splits.get(d, 0.0) for d in dates]
        if series.quote_type in ("ETF", "MUTUALFUND"):
            frame["Capital Gains"] = 0.0
        frame["Volume"] = frame["Volume"].fillna(0).astype(np.int64)
        frame.index.name = "Date"
        return frame, None

    def download(
        self,
        tickers: str | list[str],
        start: Any = None,
        end: Any = None,
        actions: bool = False,
        threads: bool | int = True,
        ignore_tz: bool | None = None,
        group_by: str = "column",
        auto_adjust: bool = True,
        back_adjust: bool = False,
        repair: bool = False,
        keepna: bool = False,
        progress: bool = True,
        period: str = "max",
        interval: str = "1d",
        prepost: bool = False,
        rounding: bool = False,
        timeout: float = 10,
        session: Any = None,
        multi_level_index: bool = True,
    ) -> pd.DataFrame:
        """``yfinance.download`` over the fake universe (same signature)."""
        call = {
            "tickers": list(tickers) if not isinstance(tickers, str) else tickers,
            "start": start,
            "end": end,
            "actions": actions,
            "threads": threads,
            "ignore_tz": ignore_tz,
            "group_by": group_by,
            "auto_adjust": auto_adjust,
            "multi_level_index": multi_level_index,
            "progress": progress,
            "interval": interval,
        }
        self.calls.append(call)
        if auto_adjust or back_adjust or interval != "1d" or start is None:
            raise NotImplementedError(
                "the fake models daily, start/end, auto_adjust=False downloads only"
            )
        if self.delay:
            time.sleep(self.delay)
        if self.chatter is not None:
            print(self.chatter)
            print(self.chatter, file=sys.stderr)
        failure = self._take_failure()
        if failure is not None and failure.mode == "raise":
            raise failure.exc() if isinstance(failure.exc, type) else failure.exc
        hit = failure is not None and failure.mode == "log"

        def one(t: str) -> tuple[pd.DataFrame, str | None]:
            applies = (
                hit
                and failure is not None
                and (failure.tickers is None or t.upper() in failure.tickers)
            )
            exc = failure.exc if applies and failure is not None else None
            return self.history(
                t,
                str(start),
                str(end),
                rate_limited=applies and exc is YFRateLimitError,
                raises=exc if isinstance(exc, BaseException) else None,
            )

        data = self.assemble(
            tickers,
            one,
            ignore_tz=True if ignore_tz is None else ignore_tz,
            group_by=group_by,
            multi_level_index=multi_level_index,
        )
        # yfinance 1.7 under pandas 3.x (multi.py 220, 224)
        warnings.warn(
            "The inplace keyword in DataFrame.rename is deprecated and will be "
            "removed in a future version (PDEP-8).",
            _PANDAS4,
            stacklevel=2,
        )
        if progress:
            names = tickers if not isinstance(tickers, str) else tickers.split()
            n = len({t.upper() for t in names})
            bar = "[" + "*" * 22 + "100%" + "*" * 23 + "]"
            print(f"\r{bar}  {n} of {n} completed", file=sys.stderr)
        return data

    @staticmethod
    def assemble(
        tickers: str | list[str],
        history: Any,
        *,
        ignore_tz: bool,
        group_by: str,
        multi_level_index: bool,
    ) -> pd.DataFrame:
        """Put per-ticker histories together the way ``_download_impl`` does."""
        logger = logging.getLogger("yfinance")
        names = (
            tickers
            if not isinstance(tickers, str)
            else (tickers.replace(",", " ").split())
        )
        symbols = list({t.upper() for t in names})
        dfs: dict[str, pd.DataFrame] = {}
        errors: dict[str, str] = {}
        for symbol in symbols:
            try:
                frame, soft_error = history(symbol)
                dfs[symbol] = frame
                if soft_error is not None:
                    errors[symbol] = soft_error
            except Exception as exc:  # multi.py 298-302
                dfs[symbol] = yf_utils.empty_df()
                errors[symbol] = repr(exc)
        if errors:
            plural = "s" if len(errors) > 1 else ""
            logger.error("\n%.f Failed download%s:", len(errors), plural)
            grouped: dict[str, list[str]] = {}
            for symbol, err in errors.items():
                grouped.setdefault(err.replace(f"${symbol}: ", ""), []).append(symbol)
            for err, syms in grouped.items():
                logger.error(f"{syms}: " + err)
        if ignore_tz:
            for frame in dfs.values():
                if frame.shape[0] > 0:
                    frame.index = frame.index.tz_localize(None)
        union = None
        for frame in dfs.values():
            if not frame.empty:
                union = frame.index if union is None else union.union(frame.index)
        if union is None:
            union = pd.DatetimeIndex([])
        dfs = {key: frame.reindex(union) for key, frame in dfs.items()}
        data = pd.concat(
            dfs.values(), axis=1, sort=True, keys=dfs.keys(), names=["Ticker", "Price"]
        )
        if group_by == "column" and isinstance(data.columns, pd.MultiIndex):
            data.columns = data.columns.swaplevel(0, 1)
            data = data.sort_index(level=0, axis=1)
        if not multi_level_index and len(symbols) == 1:
            level = 0 if group_by == "ticker" else 1
            data = data.droplevel(level, axis=1).rename_axis(None, axis=1)
        return data


class FakeTicker:
    """``yfinance.Ticker`` for one symbol of a :class:`FakeYahoo` (earnings dates
    and corporate actions; see the module docstring for the behaviour copied)."""

    def __init__(self, yahoo: FakeYahoo, ticker: str) -> None:
        self.ticker = ticker.upper()
        self._yahoo = yahoo

    def __repr__(self) -> str:
        return f"yfinance.Ticker object <{self.ticker}>"

    def _failure(self) -> _Failure | None:
        failure = self._yahoo._take_failure()
        if failure is None:
            return None
        if failure.tickers is not None and self.ticker not in failure.tickers:
            return None
        return failure

    @property
    def actions(self) -> pd.DataFrame:
        return self.get_actions()

    @property
    def earnings_dates(self) -> pd.DataFrame | None:
        return self.get_earnings_dates()

    def get_actions(self, period: str = "max") -> pd.DataFrame:
        self._yahoo.ticker_calls.append(("actions", self.ticker))
        logger = logging.getLogger("yfinance")
        failure = self._failure()
        if failure is not None:
            exc = failure.exc() if isinstance(failure.exc, type) else failure.exc
            if isinstance(exc, YFRateLimitError):
                raise exc
            logger.error(f"Failed to get ticker '{self.ticker}' reason: {exc}")
            if failure.mode == "raise":
                raise exc
            return self._no_timezone()
        series = self._yahoo._series.get(self.ticker)
        if series is None:
            return self._no_timezone()
        index = pd.to_datetime(series.dates.date).tz_localize(series.tz)
        frame = pd.DataFrame(
            {"Dividends": [series.dividends.get(d, 0.0) for d in series.dates],
             "Stock Splits": [series.splits.get(d, 0.0) for d in series.dates]},
            index=index)
        if series.quote_type in ("ETF", "MUTUALFUND"):
            frame["Capital Gains"] = [series.capital_gains.get(d, 0.0)
                                      for d in series.dates]
        frame.index.name = "Date"
        numeric = list(frame.columns)
        actions = frame[(frame[numeric] != 0).any(axis=1)]
        for column in numeric:
            if (actions[column] == 0.0).all():
                actions = actions.drop(column, axis=1)
        return actions

    def _no_timezone(self) -> pd.DataFrame:
        logging.getLogger("yfinance").error(
            f"${self.ticker}: possibly delisted; no timezone found")
        empty = yf_utils.empty_df()
        return empty[[c for c in ("Dividends", "Stock Splits") if c in empty.columns]]

    def get_earnings_dates(self, limit: int = 12, offset: int = 0
                           ) -> pd.DataFrame | None:
        self._yahoo.ticker_calls.append(("earnings_dates", self.ticker))
        if limit > 100:
            raise ValueError("Yahoo caps limit at 100")
        failure = self._failure()
        if failure is not None:
            raise failure.exc() if isinstance(failure.exc, type) else failure.exc
        if not 0 < limit <= 100:
            raise ValueError("Please use limit <= 100")
        size = 25 if limit <= 25 else 50 if limit <= 50 else 100
        page = self._yahoo.earnings_html(self.ticker, size=size, offset=offset)
        if "<table>" not in page:
            logging.getLogger("yfinance").error(
                f"{self.ticker}: No earnings dates found, symbol may be delisted")
            return None
        df = pd.read_html(StringIO(page), na_values=["-"])[0]
        df = df.drop(["Symbol", "Company"], axis=1)
        df = df.rename(columns={"Surprise (%)": "Surprise(%)"})
        df = df.dropna(subset="Earnings Date")
        text = (df["Earnings Date"].str.replace("EDT", "America/New_York")
                .str.replace("EST", "America/New_York"))
        parts = text.str.rsplit(" ", n=1, expand=True)
        naive = pd.to_datetime(parts[0], format="%B %d, %Y at %I %p")
        df["Earnings Date"] = pd.Series(
            [t.tz_localize(tz) for t, tz in zip(naive, parts[1], strict=True)])
        return df.set_index("Earnings Date")


def standard_universe(seed: int = 0, delay: float = 0.0) -> FakeYahoo:
    """A small universe: Toyota, Honda, the TOPIX index and USD/JPY."""
    fake = FakeYahoo(seed=seed, delay=delay)
    fake.add_ticker("7203.T", price=2500.0, holidays=("2024-01-08", "2024-02-12"))
    fake.add_ticker("7267.T", price=1500.0, holidays=("2024-01-08", "2024-02-12"))
    fake.add_ticker(
        "^TOPX", price=2500.0, holidays=("2024-01-08", "2024-02-12"), tz="Asia/Tokyo"
    )
    fake.add_ticker("JPY=X", price=145.0, tz="Europe/London")
    fake.add_dividend("7203.T", "2023-09-28", 30.0)
    fake.add_dividend("7267.T", "2023-09-28", 29.0)
    return fake
