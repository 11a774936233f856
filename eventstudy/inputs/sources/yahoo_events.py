"""Earnings dates and corporate actions from Yahoo Finance, cached, as confounders.

``eventstudy events confounders STUDY`` asks yfinance, for every security of the
study, for its earnings dates (``Ticker.get_earnings_dates``) and its corporate
actions (``Ticker.actions``: dividends, splits, capital gains), keeps the raw answers
in the price cache, and turns them into rows of a confounders file (the format of
``[confounding] file``)::

    confounder_id,timestamp,scope,kind,title,source
    YF_EARN_7203.T_2025-11-05,2025-11-04T23:00-05:00,7203.T,earnings,\
        Toyota Motor: earnings release (EPS estimate 40),\
        yfinance earnings_dates fetched 2025-11-20
    YF_DIV_7203.T_2025-09-29,2025-09-29,7203.T,corporate_action,\
        Toyota Motor: ex-dividend 45 JPY per share,yfinance actions fetched 2025-11-20

(one line per row in the file; wrapped here).

What yfinance 1.7 returns, and how it fails (observed with the installed version;
``tests/fake_yfinance.py`` reproduces it and is checked against yfinance's own
parsers):

- ``get_earnings_dates(limit)`` scrapes Yahoo's earnings calendar: a frame indexed
  by ``Earnings Date`` (tz-aware, New York time, to the hour) with the columns
  ``EPS Estimate, Reported EPS, Surprise(%)``, newest first, 25/50/100 rows; or
  None, logging "<SYM>: No earnings dates found, symbol may be delisted". Without a
  network it raises curl_cffi's ``DNSError``.
- ``Ticker.actions`` gives the rows of the daily history with an action: the
  columns among ``Dividends, Dividends FX, Stock Splits, Capital Gains`` that are
  not all zero, indexed by the exchange-tz midnight of each ex-date. Failures are
  mostly *not* raised: an unknown symbol, or no network, logs "$SYM: possibly
  delisted; no timezone found" (no network: after "Failed to get ticker 'SYM'
  reason: ... Could not resolve host ...") and returns an empty frame, which looks
  like "no action" unless the log is read; for the first two tickers of a process
  the ``DNSError`` is raised instead. So every call runs with the ``yfinance``
  logger's records collected, and an empty answer with an error logged for the
  symbol is a failure, not an empty answer.

Cache layout (under the price cache root, beside ``prices/``; written atomically
under the cache's ``.lock``, like prices)::

    <root>/yfinance-events/earnings_dates/<name>.parquet
    <root>/yfinance-events/actions/<name>.parquet

``<name>`` as for prices (:func:`~eventstudy.inputs.sources.cache.ticker_to_filename`);
each file holds yfinance's frame as returned (index kept) and, in the Parquet
metadata key ``eventstudy``, ``{"format": 1, "ticker": ..., "kind": ...,
"fetched_at": "<UTC ISO time>"}``. Rows are rebuilt from the cache only, so a run
with ``--offline`` on the same cache writes the same file.

Rows (:func:`confounder_rows`):

- ``YF_EARN_<ticker>_<date>`` (kind ``earnings``): the timestamp is Yahoo's instant
  with its offset, as given (New York time, to the hour); ``<date>`` is that
  instant's date on the security's exchange (its calendar's time zone), so Toyota's
  13:25 JST release shown as "11 PM EST" the evening before has the Tokyo date.
  The title adds the EPS figures Yahoo shows and "(scheduled as of <fetch date>)"
  for a date after the fetch.
- ``YF_DIV_``, ``YF_SPLIT_``, ``YF_CAPG_<ticker>_<ex-date>`` (kind
  ``corporate_action``): a plain-date timestamp, the ex-date.
- ``source``: ``yfinance earnings_dates fetched <date>`` or ``yfinance actions
  fetched <date>`` (the UTC date of the cached answer).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import filelock
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from eventstudy.errors import (
    DataUnavailableError,
    EventStudyError,
    InputError,
    NetworkError,
    PriceDataError,
    ProviderError,
)
from eventstudy.inputs.calendar import get_sessions, is_fx_calendar
from eventstudy.inputs.sources.cache import ticker_to_filename
from eventstudy.inputs.sources.yahoo import (
    NETWORK_REASON,
    RATE_LIMIT_REASON,
    is_network_error,
    short_reason,
)
from eventstudy.io.atomic import replace_atomic, write_text_atomic

__all__ = [
    "CONFOUNDER_COLUMNS",
    "EARNINGS_LIMIT",
    "EVENTS_DIR",
    "ID_PREFIX",
    "KINDS",
    "ConfounderFetch",
    "EventsCache",
    "RawAnswer",
    "YahooEvents",
    "confounder_rows",
    "fetch_confounders",
    "merge_confounders",
    "skip_reason",
]

CONFOUNDER_COLUMNS: tuple[str, ...] = ("confounder_id", "timestamp", "scope", "kind",
                                       "title", "source")
"""The columns of a confounders file."""

ID_PREFIX = "YF_"
"""The prefix of every row this module writes; a merge replaces only these rows."""

EARNINGS_LIMIT = 25
"""Rows asked of Yahoo's earnings calendar per ticker (one page: about six years of
quarterly dates, the next ones included)."""

EVENTS_DIR = "yfinance-events"
"""The folder of raw answers under the price cache root."""

KINDS: tuple[str, ...] = ("earnings_dates", "actions")
"""The two raw answers kept per ticker."""

TickerFactory = Callable[[str], Any]
"""The signature of :class:`yfinance.Ticker`."""

_FORMAT = 1
_META_KEY = b"eventstudy"
_EARNINGS_COLUMNS = ("EPS Estimate", "Reported EPS", "Surprise(%)")
_LOG = logging.getLogger("eventstudy.inputs.sources.yahoo_events")


# ----------------------------------------------------------------- yfinance calls


class _Records(logging.Handler):
    """Collects the ``yfinance`` logger's ERROR records of one call."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # a malformed record must never break a fetch
            return


@contextmanager
def _yfinance_call() -> Iterator[_Records]:
    """Run one yfinance call with its ERROR records collected and its noise (log
    records, warnings, prints) kept off the terminal; everything restored after."""
    logger = logging.getLogger("yfinance")
    records = _Records()
    propagate = logger.propagate
    printed = io.StringIO()
    logger.addHandler(records)
    logger.propagate = False
    try:
        with (warnings.catch_warnings(), contextlib.redirect_stdout(printed),
              contextlib.redirect_stderr(printed)):
            warnings.simplefilter("ignore")
            yield records
    finally:
        logger.propagate = propagate
        logger.removeHandler(records)
        if printed.getvalue().strip():
            _LOG.debug("yfinance printed: %s", printed.getvalue().strip())


def _is_rate_limit(exc: BaseException) -> bool:
    return any(cls.__name__ == "YFRateLimitError" for cls in type(exc).__mro__)


class _TickerFailed(Exception):
    """One ticker's answer is unusable (unknown symbol, unexpected format)."""


class YahooEvents:
    """Earnings dates and corporate actions of one ticker at a time, via yfinance.

    Parameters
    ----------
    ticker_factory
        Builds a ticker object; default :class:`yfinance.Ticker`, looked up at call
        time (tests pass ``FakeYahoo.Ticker``).
    limit
        Rows asked of the earnings calendar (at most 100).
    retries, backoff, sleep
        A rate-limited call is retried ``retries`` times after ``backoff``,
        ``2 * backoff``, ... seconds (``sleep`` waits; inject a no-op in tests).
    tz_cache
        Where yfinance keeps its own time-zone cache when the real
        :class:`yfinance.Ticker` is used (e.g. ``<cache root>/yfinance-tz``, as for
        prices; the default user folder fails under cron or read-only homes).
    """

    def __init__(self, ticker_factory: TickerFactory | None = None, *,
                 limit: int = EARNINGS_LIMIT, retries: int = 2, backoff: float = 2.0,
                 sleep: Callable[[float], object] = time.sleep,
                 tz_cache: Path | None = None) -> None:
        if not 0 < limit <= 100:
            raise InputError(f"limit must be from 1 to 100 (Yahoo's cap), not {limit}")
        self._factory = ticker_factory
        self.limit = limit
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self.tz_cache = tz_cache

    def __repr__(self) -> str:
        return f"YahooEvents(limit={self.limit}, retries={self.retries})"

    def _ticker(self, symbol: str) -> Any:
        if self._factory is not None:
            return self._factory(symbol)
        import yfinance  # lazy: yfinance is slow to import and only needed online

        if self.tz_cache is not None:
            try:
                self.tz_cache.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"cannot create yfinance's cache folder "
                                 f"({exc.strerror or exc}); pass a writable "
                                 "--cache-dir", path=str(self.tz_cache)) from exc
            yfinance.set_tz_cache_location(str(self.tz_cache))
        return yfinance.Ticker(symbol)

    def earnings_dates(self, ticker: str) -> pd.DataFrame:
        """Yahoo's earnings dates of ``ticker`` (an empty frame when it has none).

        Raises
        ------
        NetworkError
            Yahoo cannot be reached.
        ProviderError
            Still rate-limited after the retries, or yfinance failed otherwise.
        """
        def call() -> Any:
            return self._ticker(ticker).get_earnings_dates(limit=self.limit)

        raw, logged = self._call(ticker, "earnings dates", call)
        if raw is None:
            if any(NETWORK_REASON.search(m) for m in logged):
                raise self._network(ticker, "earnings dates", logged[-1])
            return _empty_earnings()
        if not isinstance(raw, pd.DataFrame) or not isinstance(raw.index,
                                                               pd.DatetimeIndex):
            raise _TickerFailed(f"yfinance returned {type(raw).__name__} for its "
                                "earnings dates, not a frame indexed by date")
        if raw.index.tz is None:
            raise _TickerFailed("yfinance returned earnings dates without a time "
                                "zone")
        return raw

    def actions(self, ticker: str) -> pd.DataFrame:
        """Yahoo's corporate actions of ``ticker`` (``Ticker.actions``).

        Raises
        ------
        NetworkError, ProviderError
            As :meth:`earnings_dates`.
        """
        raw, logged = self._call(ticker, "corporate actions",
                                 lambda: self._ticker(ticker).actions)
        if not isinstance(raw, pd.DataFrame):
            raise _TickerFailed(f"yfinance returned {type(raw).__name__} for its "
                                "actions, not a frame")
        mine = [m for m in logged if ticker.upper() in m.upper()]
        if raw.empty and mine:
            if any(NETWORK_REASON.search(m) for m in mine):
                reason = re.sub(r"^Failed to get ticker '[^']*' reason: ", "",
                                mine[0])
                raise self._network(ticker, "corporate actions", reason)
            raise _TickerFailed(f"Yahoo gave no history: {short_reason(mine[-1])}")
        if len(raw) and not (isinstance(raw.index, pd.DatetimeIndex)
                             and raw.index.tz is not None):
            raise _TickerFailed("yfinance returned actions without tz-aware dates")
        return raw

    def _call(self, ticker: str, what: str, fn: Callable[[], Any]
              ) -> tuple[Any, list[str]]:
        """Run ``fn`` quietly, retrying rate limits; the answer and the yfinance
        ERROR messages it logged."""
        for attempt in range(self.retries + 1):
            with _yfinance_call() as records:
                try:
                    return fn(), records.messages
                except EventStudyError:
                    raise
                except Exception as exc:
                    error: Exception = exc
            if _is_rate_limit(error) or RATE_LIMIT_REASON.search(repr(error)):
                if attempt < self.retries:
                    self._sleep(self.backoff * 2.0**attempt)
                    continue
                raise ProviderError(
                    f"Yahoo rate-limited the {what} of {ticker} after "
                    f"{self.retries + 1} attempt(s); try again later, or run with "
                    "--offline to use the cached answers", tickers=[ticker])
            if is_network_error(error) or NETWORK_REASON.search(str(error)):
                raise self._network(ticker, what, str(error) or repr(error))
            raise _TickerFailed(f"{type(error).__name__}: "
                                f"{short_reason(str(error)) or 'no message'}")
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _network(ticker: str, what: str, reason: str) -> NetworkError:
        return NetworkError(
            f"cannot reach Yahoo for the {what} of {ticker}: "
            f"{short_reason(reason).rstrip('.')}. Check "
            "the internet connection (or the HTTPS_PROXY setting) and try again, or "
            "run with --offline to use the answers already in the cache",
            tickers=[ticker])


def _empty_earnings() -> pd.DataFrame:
    index = pd.DatetimeIndex([], tz="America/New_York", name="Earnings Date")
    return pd.DataFrame({c: pd.Series([], dtype="float64") for c in _EARNINGS_COLUMNS},
                        index=index)


# ----------------------------------------------------------------- the cache


@dataclass(frozen=True)
class RawAnswer:
    """One cached yfinance answer.

    Attributes
    ----------
    ticker
        The ticker.
    kind
        ``"earnings_dates"`` or ``"actions"``.
    frame
        yfinance's frame as returned (its dates as nanosecond, tz-aware).
    fetched_at
        UTC time of the download.
    """

    ticker: str
    kind: str
    frame: pd.DataFrame
    fetched_at: pd.Timestamp


def _ns_index(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a tz-aware nanosecond ``DatetimeIndex`` when it has dates (an
    empty object index, yfinance's failed answer, becomes an empty UTC one)."""
    out = frame.copy()
    index = out.index
    if isinstance(index, pd.DatetimeIndex):
        out.index = index.as_unit("ns")
    elif len(index) == 0:
        out.index = pd.DatetimeIndex([], tz="UTC", name=index.name).as_unit("ns")
    return out


class EventsCache:
    """The raw earnings-date and action answers kept under a price cache root.

    Parameters
    ----------
    root
        The price cache folder (``--cache-dir``).
    lock_timeout
        Seconds to wait for ``<root>/.lock`` (shared with price updates); negative
        waits forever.
    """

    def __init__(self, root: Path | str, *, lock_timeout: float = -1.0) -> None:
        self.root = Path(root)
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"EventsCache({str(self.root)!r})"

    def path(self, kind: str, ticker: str) -> Path:
        """The file of one answer (it may not exist)."""
        if kind not in KINDS:
            raise InputError(f"unknown answer kind {kind!r}; use {' or '.join(KINDS)}")
        return self.root / EVENTS_DIR / kind / ticker_to_filename(ticker)

    def lock(self) -> filelock.FileLock:
        """The cache's lock (the one :class:`PriceCache` updates hold)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return filelock.FileLock(self.root / ".lock", timeout=self.lock_timeout)

    def read(self, kind: str, ticker: str) -> RawAnswer | None:
        """The cached answer, or None when there is none.

        Raises
        ------
        PriceDataError
            The file cannot be read; the message names it and says to delete it or
            fetch again.
        """
        path = self.path(kind, ticker)
        try:
            table = pq.read_table(path)
        except FileNotFoundError:
            return None
        except (OSError, pa.ArrowException) as exc:
            raise self._damaged(path, f"the Parquet file cannot be read: {exc}"
                                ) from exc
        raw = (table.schema.metadata or {}).get(_META_KEY)
        try:
            meta = json.loads(raw) if raw is not None else None
            fetched = (pd.Timestamp(meta["fetched_at"]) if isinstance(meta, dict)
                       else None)
        except (ValueError, TypeError, KeyError) as exc:
            raise self._damaged(path, f"its metadata is invalid ({exc})") from exc
        if fetched is None or pd.isna(fetched) or fetched.tzinfo is None:
            raise self._damaged(path, "its metadata lacks the fetch time")
        try:
            frame = table.to_pandas()
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise self._damaged(path, f"its table cannot be read ({exc})") from exc
        return RawAnswer(ticker, kind, _ns_index(frame), fetched.tz_convert("UTC"))

    def write(self, answer: RawAnswer) -> Path:
        """Write one answer atomically (temporary file, fsync, rename); the caller
        holds :meth:`lock`."""
        path = self.path(answer.kind, answer.ticker)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(_ns_index(answer.frame), preserve_index=True)
        meta = {"format": _FORMAT, "ticker": answer.ticker, "kind": answer.kind,
                "fetched_at": answer.fetched_at.tz_convert("UTC").isoformat()}
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), _META_KEY: json.dumps(meta).encode()})
        replace_atomic(path, lambda tmp: pq.write_table(table, tmp), durable=True)
        return path

    @staticmethod
    def _damaged(path: Path, what: str) -> PriceDataError:
        return PriceDataError(
            f"the cached yfinance answer is damaged: {what}. Delete this file and run "
            "'eventstudy events confounders STUDY' with internet to fetch it again",
            path=str(path))


# ----------------------------------------------------------------- rows


def skip_reason(ticker: str, calendar: str = "") -> str | None:
    """Why a ticker has no earnings or corporate actions to fetch, or None.

    Examples
    --------
    >>> skip_reason("^TOPX"), skip_reason("JPY=X"), skip_reason("7203.T")
    ('an index', 'a currency pair', None)
    """
    if ticker.startswith("^"):
        return "an index"
    if ticker.endswith("=X") or (calendar and is_fx_calendar(calendar)):
        return "a currency pair"
    if ticker.endswith("=F"):
        return "a futures contract"
    return None


def _offset_text(stamp: pd.Timestamp) -> str:
    """``2025-11-04T23:00-05:00`` (seconds only when not zero)."""
    clock = "%H:%M:%S" if stamp.second or stamp.microsecond else "%H:%M"
    text = stamp.strftime(f"%Y-%m-%dT{clock}%z")
    return text[:-2] + ":" + text[-2:]


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _ratio(value: float) -> str:
    """A split ratio as Yahoo means it (new shares per old): ``"5-for-1"``."""
    frac = Fraction(value).limit_denominator(1000)
    return f"{frac.numerator}-for-{frac.denominator}"


def confounder_rows(ticker: str, earnings: RawAnswer | None,
                    actions: RawAnswer | None, *, name: str = "", currency: str = "",
                    exchange_tz: str | None = None,
                    since: pd.Timestamp | None = None) -> list[dict[str, str]]:
    """The confounder rows of one ticker from its cached answers.

    Parameters
    ----------
    ticker
        The scope of every row.
    earnings, actions
        The cached answers (None: nothing of that kind).
    name, currency
        From the universe, for the titles (the ticker when there is no name).
    exchange_tz
        The time zone of the ticker's exchange: an earnings id carries the
        release's date there (default: the date in Yahoo's own time zone).
    since
        Rows dated (on the exchange) before this date are left out.

    Returns
    -------
    list of dict
        Rows with the :data:`CONFOUNDER_COLUMNS`, sorted by date, then id.
    """
    label = name or ticker
    rows: list[tuple[pd.Timestamp, dict[str, str]]] = []
    if earnings is not None and len(earnings.frame):
        fetched = earnings.fetched_at
        source = f"yfinance earnings_dates fetched {fetched:%Y-%m-%d}"
        frame = earnings.frame
        stamps = pd.DatetimeIndex(frame.index)
        for i, stamp in enumerate(stamps):
            if pd.isna(stamp):
                continue
            local = stamp.tz_convert(exchange_tz) if exchange_tz else stamp
            day = pd.Timestamp(local.date())
            facts = []
            for column, text in (("Reported EPS", "reported EPS"),
                                 ("EPS Estimate", "EPS estimate"),
                                 ("Surprise(%)", "surprise")):
                value = _number(frame[column].iloc[i]) if column in frame else None
                if value is not None:
                    facts.append(f"{text} {value:g}" + ("%" if column.startswith(
                        "Surprise") else ""))
            title = f"{label}: earnings release"
            if facts:
                title += f" ({', '.join(facts)})"
            if stamp > fetched:
                title += f" (scheduled as of {fetched:%Y-%m-%d})"
            rows.append((day, {
                "confounder_id": f"{ID_PREFIX}EARN_{ticker}_{day:%Y-%m-%d}",
                "timestamp": _offset_text(stamp), "scope": ticker,
                "kind": "earnings", "title": title, "source": source}))
    if actions is not None and len(actions.frame):
        source = f"yfinance actions fetched {actions.fetched_at:%Y-%m-%d}"
        frame = actions.frame
        dates = pd.DatetimeIndex(frame.index)
        fx = (frame["Dividends FX"].astype(str).tolist() if "Dividends FX" in frame
              else [""] * len(frame))
        for i, stamp in enumerate(dates):
            day = pd.Timestamp(stamp.date())
            found: list[tuple[str, str]] = []
            dividend = (_number(frame["Dividends"].iloc[i]) if "Dividends" in frame
                        else None)
            if dividend:
                unit = (fx[i].strip() if fx[i].strip() not in ("", "nan") else currency)
                found.append(("DIV", f"{label}: ex-dividend {dividend:g}"
                              + (f" {unit}" if unit else "") + " per share"))
            split = (_number(frame["Stock Splits"].iloc[i]) if "Stock Splits" in frame
                     else None)
            if split:
                found.append(("SPLIT", f"{label}: stock split {_ratio(split)}"))
            gains = (_number(frame["Capital Gains"].iloc[i]) if "Capital Gains" in frame
                     else None)
            if gains:
                found.append(("CAPG", f"{label}: capital gains distribution {gains:g}"
                              + (f" {currency}" if currency else "") + " per share"))
            for code, title in found:
                rows.append((day, {
                    "confounder_id": f"{ID_PREFIX}{code}_{ticker}_{day:%Y-%m-%d}",
                    "timestamp": f"{day:%Y-%m-%d}", "scope": ticker,
                    "kind": "corporate_action", "title": title, "source": source}))
    if since is not None:
        rows = [r for r in rows if r[0] >= since]
    rows.sort(key=lambda r: (r[0], r[1]["confounder_id"]))
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for _, row in rows:  # two releases on one exchange date: the first is kept
        if row["confounder_id"] not in seen:
            seen.add(row["confounder_id"])
            out.append(row)
    return out


# ----------------------------------------------------------------- the fetch


@dataclass(frozen=True)
class ConfounderFetch:
    """What :func:`fetch_confounders` did.

    Attributes
    ----------
    rows
        The confounder rows (:data:`CONFOUNDER_COLUMNS`), in ticker order, then by
        date.
    skipped
        Tickers not asked for, and why (indices, currency pairs).
    failed
        Tickers whose answer was unusable, and why (their old rows are kept by a
        merge).
    downloaded
        Tickers fetched from Yahoo in this call.
    cached
        Tickers whose rows come from answers cached earlier (``offline``).
    counts
        Rows per kind (``earnings``, ``corporate_action``).
    """

    rows: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    downloaded: tuple[str, ...] = ()
    cached: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)


def _exchange_zones(calendars: Mapping[str, str]) -> dict[str, str]:
    """The time zone of each calendar named in ``calendars`` (one schedule each)."""
    zones: dict[str, str] = {}
    for name in sorted(set(calendars.values())):
        try:
            zones[name] = get_sessions(name, "2024-01-01", "2024-01-31").tz
        except EventStudyError:
            continue
    return zones


def _utc_now() -> pd.Timestamp:
    return pd.Timestamp(dt.datetime.now(dt.UTC))


def fetch_confounders(
    tickers: Sequence[str],
    root: Path | str,
    *,
    names: Mapping[str, str] | None = None,
    currencies: Mapping[str, str] | None = None,
    calendars: Mapping[str, str] | None = None,
    offline: bool = False,
    since: pd.Timestamp | None = None,
    fetcher: YahooEvents | None = None,
    now: Callable[[], pd.Timestamp] | None = None,
    progress: Callable[[str], object] | None = None,
) -> ConfounderFetch:
    """Fetch (or, ``offline``, read back) earnings dates and corporate actions of
    ``tickers`` and build their confounder rows.

    Parameters
    ----------
    tickers
        The study's tickers; indices and currency pairs are skipped
        (:func:`skip_reason`).
    root
        The price cache folder; answers go to ``root/yfinance-events``.
    names, currencies, calendars
        Per ticker, from the universe: titles, dividend currency, and the exchange
        calendar whose time zone dates an earnings release.
    offline
        Use only the cache; every asked ticker must have both answers cached.
    since
        Leave out rows dated before this day.
    fetcher
        The downloader (default :class:`YahooEvents`).
    now
        Returns the current UTC time (recorded as each answer's fetch time);
        default the clock.
    progress
        Called with each ticker once done.

    Returns
    -------
    ConfounderFetch

    Raises
    ------
    NetworkError
        Yahoo cannot be reached (answers already fetched stay cached).
    ProviderError
        Yahoo kept rate-limiting.
    DataUnavailableError
        ``offline`` and some answers are not cached (naming the tickers).
    """
    names, currencies = dict(names or {}), dict(currencies or {})
    cals = dict(calendars or {})
    cache = EventsCache(root)
    skipped: dict[str, str] = {}
    wanted: list[str] = []
    for t in dict.fromkeys(tickers):
        why = skip_reason(t, cals.get(t, ""))
        if why is None:
            wanted.append(t)
        else:
            skipped[t] = why
    answers: dict[str, dict[str, RawAnswer | None]] = {}
    failed: dict[str, str] = {}
    downloaded: list[str] = []
    cached: list[str] = []
    if offline:
        missing: list[str] = []
        for t in wanted:
            found = {kind: cache.read(kind, t) for kind in KINDS}
            if any(a is None for a in found.values()):
                missing.append(t)
            answers[t] = found
            cached.append(t)
            if progress is not None:
                progress(t)
        if missing:
            raise DataUnavailableError(
                f"--offline: the cache {cache.root} has no earnings dates or "
                f"corporate actions for {len(missing)} ticker(s): "
                f"{', '.join(missing)}. Run 'eventstudy events confounders STUDY' "
                "with internet first (same --cache-dir).", tickers=missing)
    else:
        getter = (fetcher if fetcher is not None
                  else YahooEvents(tz_cache=cache.root / "yfinance-tz"))
        with cache.lock():
            for t in wanted:
                try:
                    got = {"earnings_dates": getter.earnings_dates(t),
                           "actions": getter.actions(t)}
                except _TickerFailed as exc:
                    failed[t] = str(exc)
                    if progress is not None:
                        progress(t)
                    continue
                stamp = (now or _utc_now)()
                answers[t] = {}
                for kind, frame in got.items():
                    answer = RawAnswer(t, kind, _ns_index(frame), stamp)
                    cache.write(answer)
                    answers[t][kind] = answer
                downloaded.append(t)
                if progress is not None:
                    progress(t)
    zones = _exchange_zones({t: cals[t] for t in answers if t in cals})
    rows: list[dict[str, str]] = []
    for t in wanted:
        if t not in answers:
            continue
        rows += confounder_rows(t, answers[t].get("earnings_dates"),
                                answers[t].get("actions"), name=names.get(t, ""),
                                currency=currencies.get(t, ""),
                                exchange_tz=zones.get(cals.get(t, "")), since=since)
    frame = pd.DataFrame(rows, columns=list(CONFOUNDER_COLUMNS), dtype=object)
    counts = {k: int((frame["kind"] == k).sum()) for k in ("earnings",
                                                          "corporate_action")}
    return ConfounderFetch(frame, skipped, failed, tuple(downloaded), tuple(cached),
                           counts)


# ----------------------------------------------------------------- the file


def _read_existing(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and rows of an existing confounders file (as text)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = [r for r in csv.reader(fh)]
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save "
                         "it as a UTF-8 CSV", path=str(path)) from exc
    except (OSError, csv.Error) as exc:
        raise InputError(f"cannot read the confounders file ({exc}); fix it or "
                         "choose another --out", path=str(path)) from exc
    if not rows:
        return list(CONFOUNDER_COLUMNS), []
    header = [h.strip() for h in rows[0]]
    missing = [c for c in CONFOUNDER_COLUMNS if c not in header]
    if missing:
        raise InputError(f"not a confounders file: missing column(s) "
                         f"{', '.join(missing)}; its header must start with "
                         f"{','.join(CONFOUNDER_COLUMNS)} (or choose another --out)",
                         path=str(path))
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    for number, r in enumerate(body, start=1):
        if len(r) != len(header):
            raise InputError(f"{len(r)} field(s) where the header has {len(header)}; "
                             "check the commas and quotes", path=str(path), row=number)
    return header, body


def merge_confounders(path: Path, fetched: pd.DataFrame,
                      keep_scopes: Sequence[str] = ()) -> tuple[str, dict[str, int]]:
    """The text of the confounders file ``path`` with its ``YF_`` rows replaced.

    Parameters
    ----------
    path
        The file (it may not exist).
    fetched
        The new rows (:data:`CONFOUNDER_COLUMNS`).
    keep_scopes
        Tickers whose old ``YF_`` rows are kept (their fetch failed).

    Returns
    -------
    (str, dict)
        The CSV text (UTF-8, ``\\n`` line ends; the file's own rows first, in their
        order and with their extra columns, then the fetched ones) and counts:
        ``kept`` (hand-written rows), ``replaced`` (old ``YF_`` rows dropped),
        ``added`` (new rows).
    """
    header, body = (_read_existing(path) if path.is_file()
                    else (list(CONFOUNDER_COLUMNS), []))
    id_col, scope_col = header.index("confounder_id"), header.index("scope")
    keep = set(keep_scopes)
    kept = [r for r in body if not r[id_col].strip().startswith(ID_PREFIX)
            or r[scope_col].strip() in keep]
    n_hand = sum(1 for r in kept if not r[id_col].strip().startswith(ID_PREFIX))
    replaced = len(body) - len(kept)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(kept)
    kept_ids = {r[id_col].strip() for r in kept}
    added = 0
    for row in fetched.to_dict("records"):
        if row["confounder_id"] in kept_ids:
            continue
        writer.writerow([str(row.get(h, "")) for h in header])
        added += 1
    return out.getvalue(), {"kept": n_hand, "replaced": replaced, "added": added}


def write_confounders(path: Path, text: str) -> None:
    """Write the confounders file atomically (a temporary file, then a rename)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    except OSError as exc:
        raise InputError(f"cannot write the confounders file ({exc.strerror or exc});"
                         " choose a writable --out", path=str(path)) from exc
