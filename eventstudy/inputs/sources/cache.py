"""Local Parquet cache of daily prices, one file per ticker.

The cache sits between a price provider (e.g.
:class:`eventstudy.inputs.sources.yahoo.YahooProvider`)
and the rest of the package. :meth:`PriceCache.update` downloads only what is missing,
and :meth:`PriceCache.load_panel` returns the canonical wide price frame.

Long price frame (the provider contract)
----------------------------------------
A provider's ``fetch_partial(tickers, start, end)`` returns ``(frame, failures)``:
``frame`` has the columns :data:`LONG_COLUMNS` (``date, ticker, close, adj_close,
dividends, splits, volume``), one row per ticker and trading date in ``[start, end]``
(both inclusive), ``date`` tz-naive and normalised, prices float64, sorted by
``(ticker, date)``. ``close`` is the split-adjusted close, ``adj_close`` the split- and
dividend-adjusted close, ``dividends`` the cash dividend per share on its ex-date (0.0
on other days), ``splits`` the split ratio on its ex-date (0.0 on other days).
``failures`` maps every ticker that returned no data to a reason. The frame may
also carry an ``open`` column (:data:`OPEN_FIELD`: the split-adjusted open, as
Yahoo's ``Open``); a provider without opens leaves it out, and the cache then
stores NaN opens.

Canonical wide price frame (the contract with the rest of the package)
----------------------------------------------------------------------
Index: a tz-naive, normalised, sorted, unique ``DatetimeIndex`` (``datetime64[ns]``)
named ``date``. Columns: flat ``str`` tickers in the requested order. Values: float64.
Missing: NaN (never 0, never forward-filled).

On-disk layout
--------------
::

    <root>/
      .lock                        filelock.FileLock held while updating
      prices/<name>.parquet        one table per ticker

``<name>`` is the ticker percent-encoded with :func:`urllib.parse.quote` (``safe=""``),
so ``^TOPX`` becomes ``%5ETOPX`` and ``JPY=X`` becomes ``JPY%3DX``; see
:func:`ticker_to_filename` and :func:`filename_to_ticker`. Each table has the columns
``date`` (timestamp[ns]), ``close``, ``adj_close``, ``dividends``, ``splits``,
``volume`` (float64), one row per date, sorted, and ``open`` (float64; NaN where the
provider gave no open). Files written before opens were kept have no ``open`` column
and stay readable: their opens are NaN (no opens). Download metadata is kept in the
Parquet key-value metadata under the key ``eventstudy`` (JSON), never in the table::

    {"format": 1, "ticker": "7203.T", "fetched_at": "2026-11-22T10:00:00+00:00",
     "requested_start": "2023-01-02", "complete_through": "2026-11-20",
     "calendar": "XTKS", "gaps": {"2024-05-14": 1}}

``calendar`` (the ticker's exchange calendar, see :mod:`eventstudy.inputs.calendar`) and
``gaps`` (sessions missing inside an answered range, with how many answers lacked
them) are optional; files without them are read as "calendar unknown, no gaps".
A file whose Parquet or metadata cannot be read raises
:class:`~eventstudy.errors.PriceDataError` naming the file and the fix (delete it, or
``eventstudy prices fetch STUDY.toml --full``, which replaces damaged files).

Every file is written atomically: to a temporary file in the same directory, flushed,
``fsync``-ed and moved into place with :func:`os.replace`, under the cache lock. A
failed or interrupted fetch or write leaves every existing file byte-identical.

Coverage rule ("nothing to download")
-------------------------------------
A ticker's cache *covers* ``[start, end]`` when ``lo <= start`` and ``hi >= end``, where

- ``lo = min(first cached date, requested_start)``: ``requested_start`` is the
  earliest start ever fetched successfully, so a ticker that listed after it
  (an IPO) is not fetched again and again for days that do not exist;
- ``hi = max(last cached date, complete_through)``: ``complete_through`` is the
  latest ``end`` ever fetched successfully, capped at the day before the UTC date
  of that fetch. A fetch made on day D therefore vouches for weekends and
  holidays up to its ``end`` only when ``end`` was already over everywhere, so a
  request ending today is fetched again later today, while a request ending on a
  past weekend or holiday is not fetched again.

and no *open gap* (below) lies inside ``[start, end]``.
:meth:`PriceCache.update` never calls the provider for a ticker whose cache covers
the request, so a second identical update downloads nothing.

Completeness ("vouched for only what the answer covered")
---------------------------------------------------------
An answer is checked against the sessions of the ticker's own calendar (the
``calendars`` argument of :meth:`PriceCache.update`, else the calendar stored with
the ticker) up to ``min(end, day before the UTC date of the fetch)``:

- *Truncated answer*: when a session after the answer's last date is missing, the
  fetch vouches only up to that last date (``complete_through``), so the next update
  asks for the rest. Without a known calendar, weekdays stand in for sessions here.
- *Gaps*: a session missing *inside* the answered range (after its first date, or
  anywhere in a range that starts inside the cached data) is recorded in ``gaps``
  with the number of answers that lacked it. Open gaps are asked for again by the
  next update whose request contains them (one range per ticker, from the cached
  date before the first gap to the cached date after the last one, so the answer
  overlaps the cache as below). A gap filled by a later answer is removed (healed);
  a gap still missing after :data:`GAP_RETRIES` further answers is *accepted* as a
  genuine day without prices: it is no longer asked for, but is still listed
  (:meth:`PriceCache.gaps`, ``eventstudy prices show`` and ``prices check``).
  Gaps need a calendar: without one, holidays cannot be told from gaps.

Network and provider errors
---------------------------
A provider may raise :class:`~eventstudy.errors.NetworkError` when it cannot reach
its source at all. :meth:`PriceCache.update` re-raises it when nothing at all was
downloaded in that update; after a successful download it becomes the failure of
that call's tickers instead (a partial update). Any other typed error propagates.

Extending and re-based adjustments
----------------------------------
When the request reaches past one end of the cached span only, just that side is
fetched, *overlapping* the cache by one date (the first or last cached date), so a
healthy ticker always returns at least one row. The overlap is compared with the
cache: if the ratio ``adj_close / close`` on it differs by more than 1e-9 relative,
or a dividend or split differs on it or appears after the last cached date, the
cached adjusted prices are stale (Yahoo re-bases all earlier adjusted closes when a
dividend or split arrives) and the ticker's whole span is fetched again instead of
being spliced. Otherwise the new rows are spliced on, newer values winning on the
overlap (which also replaces a live intraday bar cached during its own session).
When the request reaches past both ends, the whole requested span is fetched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, get_args
from urllib.parse import quote, unquote

import filelock
import numpy as np
import pandas as pd
import platformdirs
import pyarrow as pa
import pyarrow.parquet as pq

from eventstudy.errors import (
    DataUnavailableError,
    InputError,
    NetworkError,
    PriceDataError,
)
from eventstudy.inputs.calendar import get_sessions
from eventstudy.io.atomic import replace_atomic

__all__ = [
    "GAP_RETRIES",
    "LONG_COLUMNS",
    "OPEN_FIELD",
    "PRICE_FIELDS",
    "PanelField",
    "CacheEntry",
    "DateLike",
    "Field",
    "Gap",
    "PriceCache",
    "PriceProvider",
    "TickerUpdate",
    "UpdateReport",
    "as_day",
    "as_range",
    "as_tickers",
    "default_cache_dir",
    "empty_long_frame",
    "filename_to_ticker",
    "ticker_calendars",
    "ticker_to_filename",
]

DateLike = str | dt.date | pd.Timestamp
"""A calendar date: ``"2024-01-31"``, :class:`datetime.date` or a tz-naive midnight
:class:`pandas.Timestamp`."""

Field = Literal["close", "adj_close", "dividends", "splits", "volume"]
"""A price field stored in the cache."""

PRICE_FIELDS: tuple[Field, ...] = get_args(Field)
"""The price fields, in storage order."""

LONG_COLUMNS: tuple[str, ...] = ("date", "ticker", *PRICE_FIELDS)
"""Columns of the long price frame returned by providers."""

OPEN_FIELD: Literal["open"] = "open"
"""The optional open-price column: in a provider's long frame when it has opens,
always in a table written now, absent from older cache files (read as NaN)."""

PanelField = Field | Literal["open"]
"""A field :meth:`PriceCache.load_panel` can return: a price field or the opens."""

ProgressCallback = Callable[[str], object]
"""Called with each ticker once :meth:`PriceCache.update` is done with it."""

RATIO_TOLERANCE = 1e-9
"""Relative change of ``adj_close / close`` on an overlapping date that means the
cached adjusted prices were re-based."""

GAP_RETRIES = 3
"""How many more answers are asked for a session missing inside an answered range
before it is accepted as a genuine day without prices."""

_FORMAT = 1
_META_KEY = b"eventstudy"
_SUFFIX = ".parquet"
_TABLE_COLUMNS: tuple[str, ...] = ("date", *PRICE_FIELDS)
_STORED_COLUMNS: tuple[str, ...] = (*_TABLE_COLUMNS, OPEN_FIELD)
_SCHEMA = pa.schema(
    [pa.field("date", pa.timestamp("ns"))]
    + [pa.field(name, pa.float64()) for name in (*PRICE_FIELDS, OPEN_FIELD)]
)
_ONE_DAY = pd.Timedelta(days=1)
_NO_ROWS = "the provider returned no rows"


class PriceProvider(Protocol):
    """Anything that can download daily prices into the long price frame."""

    def fetch_partial(
        self, tickers: Sequence[str], start: DateLike, end: DateLike
    ) -> tuple[pd.DataFrame, dict[str, str]]:
        """Return ``(long frame, {failed ticker: reason})`` for ``[start, end]``."""
        ...


def default_cache_dir() -> Path:
    """Return the per-user cache directory of eventstudy.

    Returns
    -------
    pathlib.Path
        ``platformdirs.user_cache_dir("eventstudy")``, e.g. ``~/.cache/eventstudy``
        on Linux. It is not created. The CLI overrides it with ``--cache-dir`` or
        ``EVENTSTUDY_CACHE_DIR``; the library never reads the environment.
    """
    return Path(platformdirs.user_cache_dir("eventstudy", appauthor=False))


def ticker_to_filename(ticker: str) -> str:
    """Return the file name (without directory) that stores ``ticker``.

    Parameters
    ----------
    ticker
        A ticker such as ``"7203.T"``, ``"^TOPX"`` or ``"JPY=X"``.

    Returns
    -------
    str
        The percent-encoded ticker plus ``.parquet``; letters, digits and ``_.-~``
        are kept, everything else (``^``, ``=``, ``/``, ``%``...) is encoded, and so
        is a leading ``.`` (names starting with ``.`` are temporary files), so the
        mapping is reversible with :func:`filename_to_ticker`.

    Examples
    --------
    >>> ticker_to_filename("^TOPX"), ticker_to_filename("JPY=X")
    ('%5ETOPX.parquet', 'JPY%3DX.parquet')
    """
    if not ticker or ticker != ticker.strip():
        raise InputError(f"invalid ticker {ticker!r}: it must be a non-empty string")
    name = quote(ticker, safe="")
    if name.startswith("."):
        name = "%2E" + name[1:]
    return name + _SUFFIX


def filename_to_ticker(name: str) -> str:
    """Invert :func:`ticker_to_filename`.

    Examples
    --------
    >>> filename_to_ticker("%5ETOPX.parquet")
    '^TOPX'
    """
    return unquote(name.removesuffix(_SUFFIX))


def _day(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%d")


def as_day(value: DateLike, name: str) -> pd.Timestamp:
    """Parse a date at the API boundary.

    Parameters
    ----------
    value
        A date string, :class:`datetime.date` or :class:`pandas.Timestamp`.
    name
        The parameter name, used in error messages.

    Returns
    -------
    pandas.Timestamp
        A tz-naive midnight timestamp (nanosecond resolution).

    Raises
    ------
    InputError
        If ``value`` is not a date, is tz-aware or is not at midnight.
    """
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}={value!r} is not a date (use YYYY-MM-DD)") from exc
    if pd.isna(stamp):
        raise InputError(f"{name} is missing (use YYYY-MM-DD)")
    if stamp.tzinfo is not None:
        raise InputError(f"{name}={value!r} is tz-aware; pass a calendar date")
    if stamp != stamp.normalize():
        raise InputError(f"{name}={value!r} is not at midnight; pass a calendar date")
    return stamp.as_unit("ns")


def as_range(start: DateLike, end: DateLike) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Parse an inclusive date range with :func:`as_day`.

    Raises
    ------
    InputError
        If a date is invalid or ``start`` is after ``end``.
    """
    first, last = as_day(start, "start"), as_day(end, "end")
    if first > last:
        raise InputError(f"start {_day(first)} is after end {_day(last)}")
    return first, last


def as_tickers(tickers: Iterable[str]) -> list[str]:
    """Validate a list of tickers and drop duplicates, keeping the first order.

    Raises
    ------
    InputError
        If ``tickers`` is a single string or holds an empty or non-string ticker.
    """
    if isinstance(tickers, str):
        raise InputError(f"tickers must be a list, not the string {tickers!r}")
    out: list[str] = []
    for ticker in tickers:
        if not isinstance(ticker, str) or not ticker.strip():
            raise InputError(f"invalid ticker {ticker!r}: use a non-empty string")
        if ticker not in out:
            out.append(ticker)
    return out


def empty_long_frame() -> pd.DataFrame:
    """Return an empty long price frame with the right columns and dtypes."""
    columns: dict[str, pd.Series] = {
        "date": pd.Series([], dtype="datetime64[ns]"),
        "ticker": pd.Series([], dtype=object),
    }
    for name in PRICE_FIELDS:
        columns[name] = pd.Series([], dtype="float64")
    return pd.DataFrame(columns)


@dataclass(frozen=True)
class Gap:
    """A session of the ticker's calendar missing inside an answered range.

    Attributes
    ----------
    date
        The session date.
    misses
        How many answers lacked it (1 when first seen).
    """

    date: pd.Timestamp
    misses: int

    @property
    def accepted(self) -> bool:
        """Whether it is accepted as a day without prices (no longer asked for):
        it was still missing after :data:`GAP_RETRIES` further answers."""
        return self.misses > GAP_RETRIES

    def describe(self) -> str:
        """One line for the user, e.g. ``2024-05-14 (missing in 1 answer; asked
        for again on the next fetch, 3 retries left)``."""
        answers = "answer" if self.misses == 1 else "answers"
        if self.accepted:
            return (
                f"{_day(self.date)} (missing in {self.misses} {answers}; accepted as "
                "a day without prices, no longer asked for)"
            )
        left = GAP_RETRIES + 1 - self.misses
        retries = "retry" if left == 1 else "retries"
        return (
            f"{_day(self.date)} (missing in {self.misses} {answers}; asked for again "
            f"on the next fetch, {left} {retries} left)"
        )


@dataclass(frozen=True)
class CacheEntry:
    """What the cache holds for one ticker.

    Attributes
    ----------
    ticker
        The ticker.
    path
        Its Parquet file.
    rows
        Number of cached dates.
    first, last
        First and last cached dates.
    start, end
        The span the cache vouches for (see the module's coverage rule).
    fetched_at
        UTC time of the last download written for this ticker.
    calendar
        The exchange calendar its answers were checked against, or None.
    gaps
        Sessions missing inside answered ranges, by date (open and accepted).
    """

    ticker: str
    path: Path
    rows: int
    first: pd.Timestamp
    last: pd.Timestamp
    start: pd.Timestamp
    end: pd.Timestamp
    fetched_at: pd.Timestamp
    calendar: str | None = None
    gaps: tuple[Gap, ...] = ()

    def covers(self, start: pd.Timestamp, end: pd.Timestamp) -> bool:
        """Whether ``[start, end]`` lies inside the vouched-for span with no open
        gap inside it."""
        if not (self.start <= start and self.end >= end):
            return False
        return not any(start <= g.date <= end for g in self.gaps if not g.accepted)


@dataclass(frozen=True)
class TickerUpdate:
    """The outcome of :meth:`PriceCache.update` for one ticker.

    Attributes
    ----------
    ticker
        The ticker.
    rows_added
        Number of dates in the cache now that were not there before.
    refetched
        True when the ticker's whole span was downloaded and replaced the cached
        table (adjusted prices were re-based, or the request reached past both ends
        of the cached span), instead of new rows being spliced on.
    downloaded
        Whether the provider was asked for this ticker at all.
    failed
        Why the ticker could not be updated (its file is then unchanged), or None.
    refetch_reason
        Why the whole span was downloaded again (e.g. "new dividends on
        2024-04-10"), or None.
    gaps
        The ticker's gaps after this update (open and accepted), by date.
    healed
        How many gaps this update filled.
    """

    ticker: str
    rows_added: int = 0
    refetched: bool = False
    downloaded: bool = False
    failed: str | None = None
    refetch_reason: str | None = None
    gaps: tuple[Gap, ...] = ()
    healed: int = 0

    @property
    def open_gaps(self) -> tuple[Gap, ...]:
        """The gaps still asked for by the next update."""
        return tuple(g for g in self.gaps if not g.accepted)


@dataclass(frozen=True)
class UpdateReport:
    """The outcome of :meth:`PriceCache.update`.

    Attributes
    ----------
    results
        One :class:`TickerUpdate` per requested ticker, in request order.
    provider_calls
        How many times the provider was called; 0 when the cache already covered
        the request.
    """

    results: tuple[TickerUpdate, ...]
    provider_calls: int

    @property
    def downloaded(self) -> bool:
        """Whether anything was downloaded at all."""
        return self.provider_calls > 0

    @property
    def failed(self) -> dict[str, str]:
        """Failed tickers and their reasons (empty when everything succeeded)."""
        return {r.ticker: r.failed for r in self.results if r.failed is not None}

    @property
    def rows_added(self) -> int:
        """Total number of dates added over all tickers."""
        return sum(r.rows_added for r in self.results)

    def __getitem__(self, ticker: str) -> TickerUpdate:
        """Return the result of one ticker."""
        for result in self.results:
            if result.ticker == ticker:
                return result
        raise KeyError(ticker)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per ticker: ``ticker, rows_added, refetched, downloaded,
        failed, refetch_reason, open_gaps, healed``."""
        columns = [
            "ticker",
            "rows_added",
            "refetched",
            "downloaded",
            "failed",
            "refetch_reason",
            "open_gaps",
            "healed",
        ]
        rows = [
            (
                r.ticker,
                r.rows_added,
                r.refetched,
                r.downloaded,
                r.failed,
                r.refetch_reason,
                len(r.open_gaps),
                r.healed,
            )
            for r in self.results
        ]
        return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class _Stored:
    """A cached table with its metadata."""

    frame: pd.DataFrame
    requested_start: pd.Timestamp
    complete_through: pd.Timestamp
    fetched_at: pd.Timestamp
    calendar: str | None = None
    gaps: Mapping[pd.Timestamp, int] = dataclasses.field(default_factory=dict)

    @property
    def first(self) -> pd.Timestamp:
        return pd.Timestamp(self.frame["date"].iloc[0])

    @property
    def last(self) -> pd.Timestamp:
        return pd.Timestamp(self.frame["date"].iloc[-1])

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        return (
            min(self.first, self.requested_start),
            max(self.last, self.complete_through),
        )


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PriceCache:
    """A directory of per-ticker Parquet price tables.

    Parameters
    ----------
    root
        The cache directory (e.g. :func:`default_cache_dir`). Created on first write.
    lock_timeout
        Seconds to wait for the cache lock held by another process during
        :meth:`update`; negative waits forever.
    now
        Returns the current time as an aware :class:`datetime.datetime`; injectable
        for tests. It only feeds ``fetched_at`` and the coverage rule.

    Notes
    -----
    Reads take no lock: files are replaced atomically, so a reader sees either the
    old or the new table. Updates hold ``<root>/.lock`` from planning to the last
    write, so two processes updating the same cache run one after the other and the
    second downloads only what the first did not.

    Examples
    --------
    >>> import tempfile
    >>> cache = PriceCache(tempfile.mkdtemp())
    >>> cache.read("7203.T") is None
    True
    """

    def __init__(
        self,
        root: Path | str,
        *,
        lock_timeout: float = -1.0,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.root = Path(root)
        self.lock_timeout = lock_timeout
        self._now = now

    def __repr__(self) -> str:
        return f"PriceCache({str(self.root)!r})"

    @property
    def prices_dir(self) -> Path:
        """The directory holding the per-ticker tables."""
        return self.root / "prices"

    def path(self, ticker: str) -> Path:
        """Return the file that stores ``ticker`` (it may not exist)."""
        return self.prices_dir / ticker_to_filename(ticker)

    def tickers(self) -> list[str]:
        """Return the cached tickers, sorted."""
        if not self.prices_dir.is_dir():
            return []
        names = [
            p.name
            for p in self.prices_dir.iterdir()
            if p.suffix == _SUFFIX and not p.name.startswith(".")
        ]
        return sorted(filename_to_ticker(name) for name in names)

    # ----------------------------------------------------------------- reading

    def _load(self, ticker: str) -> _Stored | None:
        path = self.path(ticker)
        try:
            table = pq.read_table(path)
        except FileNotFoundError:
            return None
        except (OSError, pa.ArrowException) as exc:
            raise _damaged(
                ticker, path, f"the Parquet file cannot be read: {exc}"
            ) from exc
        raw_meta = (table.schema.metadata or {}).get(_META_KEY)
        missing = [c for c in _TABLE_COLUMNS if c not in table.column_names]
        if raw_meta is None or missing or table.num_rows == 0:
            raise _damaged(
                ticker,
                path,
                f"not an eventstudy price table (missing metadata, columns {missing} "
                "or rows)",
            )
        try:
            meta = json.loads(raw_meta)
        except (UnicodeDecodeError, ValueError) as exc:
            raise _damaged(
                ticker, path, f"its metadata is not valid JSON ({exc})"
            ) from exc
        if not isinstance(meta, dict):
            raise _damaged(ticker, path, "its metadata is not a JSON object")
        try:
            has_open = OPEN_FIELD in table.column_names
            frame = table.select(list(_STORED_COLUMNS if has_open
                                      else _TABLE_COLUMNS)).to_pandas()
            if not has_open:  # a file from before opens were kept: no opens
                frame[OPEN_FIELD] = np.nan
            frame["date"] = frame["date"].astype("datetime64[ns]")
            for name in (*PRICE_FIELDS, OPEN_FIELD):
                frame[name] = frame[name].astype("float64")
        except (TypeError, ValueError, pa.ArrowException) as exc:
            raise _damaged(
                ticker, path, f"its columns have the wrong types ({exc})"
            ) from exc
        dates = frame["date"]
        if (
            dates.isna().any()
            or not dates.is_monotonic_increasing
            or (not dates.is_unique)
        ):
            raise _damaged(ticker, path, "its dates are missing, unsorted or repeated")
        return _Stored(
            frame=frame,
            requested_start=_meta_day(meta, "requested_start", ticker, path),
            complete_through=_meta_day(meta, "complete_through", ticker, path),
            fetched_at=_meta_time(meta, ticker, path),
            calendar=_meta_calendar(meta, ticker, path),
            gaps=_meta_gaps(meta, ticker, path),
        )

    def read(self, ticker: str) -> pd.DataFrame | None:
        """Return the cached table of ``ticker``.

        Parameters
        ----------
        ticker
            The ticker.

        Returns
        -------
        pandas.DataFrame or None
            Columns ``date, close, adj_close, dividends, splits, volume, open``,
            one row per cached date, sorted (``open`` NaN where none was given);
            None when the ticker is not cached.

        Raises
        ------
        PriceDataError
            If the file exists but is not a readable eventstudy price table.
        """
        stored = self._load(ticker)
        return None if stored is None else stored.frame

    def info(self, ticker: str) -> CacheEntry | None:
        """Return what the cache holds for ``ticker`` (None when not cached)."""
        stored = self._load(ticker)
        if stored is None:
            return None
        start, end = stored.span
        return CacheEntry(
            ticker=ticker,
            path=self.path(ticker),
            rows=len(stored.frame),
            first=stored.first,
            last=stored.last,
            start=start,
            end=end,
            fetched_at=stored.fetched_at,
            calendar=stored.calendar,
            gaps=_gap_tuple(stored.gaps),
        )

    def gaps(self, ticker: str) -> tuple[Gap, ...]:
        """Return the sessions missing inside answered ranges of ``ticker``.

        Returns
        -------
        tuple of Gap
            By date, open and accepted ones (see :attr:`Gap.accepted`); empty when
            the ticker is not cached or has no gap.

        Raises
        ------
        PriceDataError
            If the ticker's file is damaged.
        """
        stored = self._load(ticker)
        return () if stored is None else _gap_tuple(stored.gaps)

    def coverage(self, ticker: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """Return the span ``(start, end)`` the cache vouches for, or None.

        The span may reach past the first and last cached dates: see the coverage
        rule in the module docstring. :meth:`info` gives the cached dates too.
        """
        stored = self._load(ticker)
        return None if stored is None else stored.span

    # ----------------------------------------------------------------- writing

    def _write(self, ticker: str, frame: pd.DataFrame, state: _Stored) -> None:
        meta: dict[str, Any] = {
            "format": _FORMAT,
            "ticker": ticker,
            "fetched_at": state.fetched_at.isoformat(timespec="seconds"),
            "requested_start": _day(state.requested_start),
            "complete_through": _day(state.complete_through),
        }
        if state.calendar is not None:
            meta["calendar"] = state.calendar
        if state.gaps:
            meta["gaps"] = {_day(d): int(n) for d, n in sorted(state.gaps.items())}
        table = pa.Table.from_pandas(
            frame.loc[:, list(_STORED_COLUMNS)], schema=_SCHEMA, preserve_index=False
        )
        table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
        _write_atomic(table, self.path(ticker))

    # ----------------------------------------------------------------- updating

    def update(
        self,
        provider: PriceProvider,
        tickers: Sequence[str],
        start: DateLike,
        end: DateLike,
        progress: ProgressCallback | None = None,
        *,
        full: bool = False,
        calendars: Mapping[str, str] | None = None,
    ) -> UpdateReport:
        """Download what the cache lacks for ``tickers`` over ``[start, end]``.

        Parameters
        ----------
        provider
            A :class:`PriceProvider`, e.g.
            :class:`eventstudy.inputs.sources.yahoo.YahooProvider`.
        tickers
            The tickers to update.
        start, end
            The inclusive date range needed.
        progress
            Called with each ticker when it is done (e.g. to advance a tqdm bar).
        full
            Re-download each ticker's whole span (the request joined with what is
            cached) even when the cache covers the request, e.g. to pick up Yahoo's
            corrections of old history, which incremental updates cannot see. A
            damaged file is then replaced instead of raising.
        calendars
            Each ticker's exchange calendar (``XTKS``, ``FX``...; see
            :func:`ticker_calendars`). Answers are checked against its sessions
            (truncated answers, gaps; see the module docstring) and it is stored
            with the ticker, so later updates without it use the stored one.

        Returns
        -------
        UpdateReport
            Per ticker: rows added, whether the whole span was re-fetched, whether
            it was downloaded at all, why it failed, and its gaps. Failures do not
            raise: the failed tickers' files are left byte-identical.

        Raises
        ------
        InputError
            If a date, ticker or calendar is invalid, ``start > end``, or the cache
            folder cannot be created.
        PriceDataError
            If a ticker's file is damaged (unless ``full``).
        NetworkError
            If the provider cannot be reached and nothing at all was downloaded.
        CalendarError
            If a calendar name is unknown.
        filelock.Timeout
            If another process holds the lock for longer than ``lock_timeout``.

        Notes
        -----
        The provider is called once per distinct date range (tickers needing the
        same range are batched) and never for a ticker whose cache covers the
        request. See the module docstring for the coverage and splice rules.
        """
        first_day, last_day = as_range(start, end)
        wanted = as_tickers(tickers)
        given = _as_calendars(calendars)
        try:
            self.prices_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create the price cache folder ({exc.strerror or exc}); pass "
                "a writable --cache-dir or set EVENTSTUDY_CACHE_DIR",
                path=str(self.prices_dir),
            ) from exc
        results: dict[str, TickerUpdate] = {}
        calls = 0
        downloaded_any = False
        grids = _SessionGrids()

        def done(result: TickerUpdate) -> None:
            results[result.ticker] = result
            if progress is not None:
                progress(result.ticker)

        with filelock.FileLock(self.root / ".lock", timeout=self.lock_timeout):
            stored = {ticker: self._load_for_update(ticker, full) for ticker in wanted}
            calendar_of: dict[str, str | None] = {}
            for ticker in wanted:
                old = stored[ticker]
                calendar_of[ticker] = given.get(ticker) or (
                    None if old is None else old.calendar
                )
            whole: dict[str, bool] = {}
            why: dict[str, str] = {}
            pending: dict[tuple[pd.Timestamp, pd.Timestamp], list[str]] = {}
            for ticker in wanted:
                plan = _plan(stored[ticker], first_day, last_day, full=full)
                if plan is None:
                    old = stored[ticker]
                    gaps = () if old is None else _gap_tuple(old.gaps)
                    done(TickerUpdate(ticker, gaps=gaps))
                else:
                    pending.setdefault(plan[0], []).append(ticker)
                    whole[ticker] = plan[1]
                    if plan[1] and stored[ticker] is not None:
                        why[ticker] = (
                            "full refresh requested"
                            if full
                            else "the request reaches past both ends of the cache"
                        )

            # Round 1 fetches what is missing; round 2 re-fetches the whole span of
            # tickers whose new rows could not be spliced on.
            while pending:
                again: dict[tuple[pd.Timestamp, pd.Timestamp], list[str]] = {}
                for fetch_range, group in pending.items():
                    now = self._now()
                    calls += 1
                    try:
                        fetched, failures = provider.fetch_partial(group, *fetch_range)
                    except NetworkError as exc:
                        if not downloaded_any:
                            raise
                        fetched = empty_long_frame()
                        failures = dict.fromkeys(group, str(exc))
                    frames = _split_long(fetched)
                    downloaded_any = downloaded_any or bool(frames)
                    for ticker in group:
                        new, old = frames.get(ticker), stored[ticker]
                        if new is None:
                            reason = failures.get(ticker, _NO_ROWS)
                            if ticker in why:
                                reason += f" (while re-fetching: {why[ticker]})"
                            done(TickerUpdate(ticker, downloaded=True, failed=reason))
                            continue
                        answer = pd.DatetimeIndex(new["date"])
                        if old is not None and not whole[ticker]:
                            conflict = _splice_conflict(old.frame, new)
                            if conflict is not None:
                                lo, hi = old.span
                                span = (min(first_day, lo), max(last_day, hi))
                                again.setdefault(span, []).append(ticker)
                                whole[ticker], why[ticker] = True, conflict
                                continue
                            new = _splice(old.frame, new)
                        state = _next_state(
                            old,
                            new,
                            answer,
                            fetch_range,
                            now,
                            calendar_of[ticker],
                            grids,
                            whole=whole[ticker],
                        )
                        self._write(ticker, new, state)
                        added = len(new) if old is None else _count_new_dates(old, new)
                        refetched = old is not None and whole[ticker]
                        healed = 0 if old is None else _count_healed(old, new)
                        done(
                            TickerUpdate(
                                ticker,
                                added,
                                refetched,
                                downloaded=True,
                                refetch_reason=why.get(ticker),
                                gaps=_gap_tuple(state.gaps),
                                healed=healed,
                            )
                        )
                pending = again

        return UpdateReport(tuple(results[t] for t in wanted), calls)

    def _load_for_update(self, ticker: str, full: bool) -> _Stored | None:
        """:meth:`_load`, except that a full update replaces a damaged file."""
        try:
            return self._load(ticker)
        except PriceDataError:
            if full:
                return None
            raise

    # ----------------------------------------------------------------- panels

    def load_panel(
        self,
        tickers: Sequence[str],
        start: DateLike | None = None,
        end: DateLike | None = None,
        field: PanelField = "adj_close",
        *,
        provider: PriceProvider | None = None,
        offline: bool = False,
    ) -> pd.DataFrame:
        """Return the canonical wide price frame of ``tickers`` from the cache.

        Parameters
        ----------
        tickers
            The tickers, in the column order wanted (duplicates are dropped).
        start, end
            Inclusive date range; None means from the first / to the last cached
            date.
        field
            The price field: ``"adj_close"`` (default), ``"close"``, ``"volume"``,
            ``"dividends"``, ``"splits"`` or ``"open"`` (NaN where the cache has no
            open).
        provider
            If given and ``offline`` is False, :meth:`update` is called first
            (``start`` and ``end`` are then required).
        offline
            Never call the provider: use the cache only.

        Returns
        -------
        pandas.DataFrame
            Index ``date`` (tz-naive, normalised, sorted, unique, ``datetime64[ns]``),
            one float64 column per ticker, NaN where a ticker has no price on a date
            that another ticker has.

        Raises
        ------
        DataUnavailableError
            If a ticker is not cached or the cache does not cover ``[start, end]``
            (the message names every such ticker and its missing date range), or if
            the update failed for a ticker. ``.tickers`` lists them.
        InputError
            If ``field`` or a date is invalid.
        """
        if field not in (*PRICE_FIELDS, OPEN_FIELD):
            raise InputError(f"unknown field {field!r}; use one of "
                             f"{(*PRICE_FIELDS, OPEN_FIELD)}")
        wanted = as_tickers(tickers)
        first_day = None if start is None else as_day(start, "start")
        last_day = None if end is None else as_day(end, "end")
        if start is not None and end is not None:
            as_range(start, end)
        if provider is not None and not offline:
            if first_day is None or last_day is None:
                raise InputError("start and end are required to fetch missing prices")
            report = self.update(provider, wanted, first_day, last_day)
            if report.failed:
                lines = [f"{t} ({reason})" for t, reason in report.failed.items()]
                raise DataUnavailableError(
                    f"could not download prices for {len(lines)} ticker(s) over "
                    f"{_day(first_day)}..{_day(last_day)}: " + "; ".join(lines),
                    tickers=list(report.failed),
                )

        columns: dict[str, pd.Series] = {}
        problems: dict[str, str] = {}
        for ticker in wanted:
            stored = self._load(ticker)
            if stored is None:
                problems[ticker] = "not cached"
                if first_day is not None or last_day is not None:
                    need_lo = "..." if first_day is None else _day(first_day)
                    need_hi = "..." if last_day is None else _day(last_day)
                    problems[ticker] += f" (needed {need_lo}..{need_hi})"
                continue
            gaps = _missing_ranges(stored.span, first_day, last_day)
            if gaps:
                lo, hi = stored.span
                problems[ticker] = (
                    f"cached {_day(lo)}..{_day(hi)}, missing {', '.join(gaps)}"
                )
                continue
            series = stored.frame.set_index("date")[field]
            columns[ticker] = series.loc[first_day:last_day]
        if problems:
            lines = [f"{t}: {why}" for t, why in problems.items()]
            raise DataUnavailableError(
                f"the price cache {self.root} lacks data for {len(problems)} "
                "ticker(s):\n"
                + "\n".join(f"  - {line}" for line in lines)
                + "\nFetch them first (without offline mode), e.g. "
                "`eventstudy prices fetch`.",
                tickers=list(problems),
            )
        return _wide(columns, wanted)


# --------------------------------------------------------------------- helpers


def _plan(
    old: _Stored | None, start: pd.Timestamp, end: pd.Timestamp, *, full: bool
) -> tuple[tuple[pd.Timestamp, pd.Timestamp], bool] | None:
    """Return ``(range to fetch, replaces the whole table)``, or None when covered.

    Open gaps inside ``[start, end]`` are asked for again, from the cached date
    before the first to the cached date after the last, joined with the head or
    tail range when there is one.
    """
    if old is None:
        return (start, end), True
    lo, hi = old.span
    if full:
        return (min(start, lo), max(end, hi)), True
    need_head, need_tail = start < lo, end > hi
    if need_head and need_tail:
        return (start, end), True
    wanted: tuple[pd.Timestamp, pd.Timestamp] | None = None
    if need_head:
        wanted = (start, old.first)
    elif need_tail:
        wanted = (old.last, end)
    open_gaps = [
        day
        for day, misses in old.gaps.items()
        if misses <= GAP_RETRIES and start <= day <= end
    ]
    if open_gaps:
        dates = pd.DatetimeIndex(old.frame["date"])
        first_gap, last_gap = min(open_gaps), max(open_gaps)
        before, after = dates[dates < first_gap], dates[dates > last_gap]
        around = (
            before[-1] if len(before) else first_gap,
            after[0] if len(after) else last_gap,
        )
        wanted = (
            around
            if wanted is None
            else (min(wanted[0], around[0]), max(wanted[1], around[1]))
        )
    return None if wanted is None else (wanted, False)


class _SessionGrids:
    """Session dates per calendar, computed once per update over the widest range
    asked for so far (one calendar schedule per calendar, however many ranges)."""

    def __init__(self) -> None:
        self._memo: dict[str, tuple[pd.Timestamp, pd.Timestamp, pd.DatetimeIndex]] = {}

    def sessions(
        self, calendar: str | None, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DatetimeIndex | None:
        """The sessions of ``calendar`` in ``[start, end]`` (None: no calendar)."""
        if calendar is None:
            return None
        if end < start:
            return pd.DatetimeIndex([], dtype="datetime64[ns]")
        known = self._memo.get(calendar)
        if known is None or start < known[0] or end > known[1]:

            lo = start if known is None else min(start, known[0])
            hi = end if known is None else max(end, known[1])
            dates = get_sessions(calendar, lo, hi).dates
            known = (lo, hi, pd.DatetimeIndex(dates.astype("datetime64[ns]")))
            self._memo[calendar] = known
        dates = known[2]
        return dates[(dates >= start) & (dates <= end)]


def _next_state(
    old: _Stored | None,
    merged: pd.DataFrame,
    answer: pd.DatetimeIndex,
    fetch_range: tuple[pd.Timestamp, pd.Timestamp],
    now: dt.datetime,
    calendar: str | None,
    grids: _SessionGrids,
    *,
    whole: bool,
) -> _Stored:
    """The metadata after writing ``merged`` (see "Completeness" in the module
    docstring); ``answer`` holds the dates the provider returned."""
    first, last = fetch_range
    today = pd.Timestamp(now.astimezone(dt.UTC).date())
    usable = min(last, today - _ONE_DAY)
    answered_lo, answered_hi = answer.min(), answer.max()
    splice = old is not None and not whole
    sessions = grids.sessions(calendar, first, usable)
    if sessions is not None:
        grid = sessions
    elif usable >= first:
        grid = pd.bdate_range(first, usable)
    else:
        grid = pd.DatetimeIndex([])
    inside = old is not None and splice and last <= old.last
    through: pd.Timestamp | None = None
    if inside:
        window_hi = usable
    else:
        through = usable if not (grid > answered_hi).any() else answered_hi
        window_hi = through
    window_lo = (
        first if old is not None and splice and first >= old.first else (answered_lo)
    )
    have = pd.DatetimeIndex(merged["date"])
    prior: Mapping[pd.Timestamp, int] = {} if old is None else old.gaps
    gaps: dict[pd.Timestamp, int] = {}
    if sessions is not None:
        window = sessions[(sessions >= window_lo) & (sessions <= window_hi)]
        for day in window.difference(have):
            gaps[pd.Timestamp(day)] = prior.get(pd.Timestamp(day), 0) + 1
    for day, misses in prior.items():
        if day in gaps or day in have:
            continue
        if whole and not window_lo <= day <= window_hi:
            continue  # the table is replaced: outside the answer, no longer vouched
        gaps[day] = misses
    if old is None:
        requested_start = first
        complete_through = through if through is not None else usable
    else:
        requested_start = min(first, old.requested_start)
        if whole:
            complete_through = through if through is not None else usable
        elif through is None:
            complete_through = old.complete_through
        else:
            complete_through = max(old.complete_through, through)
    return _Stored(
        frame=merged,
        requested_start=requested_start,
        complete_through=complete_through,
        fetched_at=pd.Timestamp(now.astimezone(dt.UTC)),
        calendar=calendar,
        gaps=dict(sorted(gaps.items())),
    )


def _count_healed(old: _Stored, new: pd.DataFrame) -> int:
    """How many of ``old``'s gaps ``new`` has a row for."""
    have = set(pd.DatetimeIndex(new["date"]))
    return sum(1 for day in old.gaps if day in have)


def _gap_tuple(gaps: Mapping[pd.Timestamp, int]) -> tuple[Gap, ...]:
    return tuple(Gap(day, misses) for day, misses in sorted(gaps.items()))


def _as_calendars(calendars: Mapping[str, str] | None) -> dict[str, str]:
    """Validate the ``calendars`` argument of :meth:`PriceCache.update`."""
    if calendars is None:
        return {}
    if not isinstance(calendars, Mapping):
        raise InputError(
            f"calendars must map tickers to calendar names, not "
            f"{type(calendars).__name__}"
        )
    out: dict[str, str] = {}
    for ticker, name in calendars.items():
        if not isinstance(name, str) or not name.strip():
            raise InputError(
                f"invalid calendar {name!r} for {ticker!r}: use a calendar name such "
                "as XTKS, XKRX, XNYS or FX"
            )
        out[str(ticker)] = name.strip()
    return out


def ticker_calendars(
    universe: pd.DataFrame | None, events: pd.DataFrame | None = None
) -> dict[str, str]:
    """Each ticker's exchange calendar, for :meth:`PriceCache.update`.

    Parameters
    ----------
    universe
        A universe table (``ticker, calendar, benchmark`` ...), or None.
    events
        An event catalog; used when it has ``ticker`` and ``calendar`` columns
        (the one-security-per-event layout).

    Returns
    -------
    dict of str to str
        Securities get their own ``calendar``; a benchmark that is not itself a
        security gets the calendar of the first security that uses it (as in
        :func:`eventstudy.inputs.quality.check_study_prices`). Tickers without a known
        calendar are left out.

    Examples
    --------
    >>> u = pd.DataFrame({"ticker": ["7203.T", "JPY=X"], "calendar": ["XTKS", "FX"],
    ...                   "benchmark": ["^TOPX", ""]})
    >>> ticker_calendars(u)
    {'7203.T': 'XTKS', 'JPY=X': 'FX', '^TOPX': 'XTKS'}
    """
    frames = [
        f
        for f in (universe, events)
        if f is not None and "ticker" in f.columns and "calendar" in f.columns
    ]
    out: dict[str, str] = {}
    for column in ("ticker", "benchmark"):
        for f in frames:
            if column not in f.columns:
                continue
            names = f[column].fillna("").astype(str).str.strip()
            cals = f["calendar"].fillna("").astype(str).str.strip()
            # the first calendar of each name, in row order (setdefault below)
            ok = ((names != "") & (cals != "")).to_numpy(dtype=bool)
            names, cals = names[ok], cals[ok]
            first = ~names.duplicated().to_numpy(dtype=bool)
            for name, cal in zip(names[first].tolist(), cals[first].tolist(),
                                 strict=True):
                out.setdefault(name, cal)
    return out


def _damaged(ticker: str, path: Path, what: str) -> PriceDataError:
    """The error for a cache file that cannot be used."""
    return PriceDataError(
        f"the cached prices of {ticker} are damaged: {what}. Delete this file, or "
        "run 'eventstudy prices fetch STUDY.toml --full' to download it again.",
        path=str(path),
    )


def _meta_day(
    meta: Mapping[str, Any], key: str, ticker: str, path: Path
) -> pd.Timestamp:
    value = meta.get(key)
    try:
        if not isinstance(value, str):
            raise TypeError(value)
        return as_day(value, key)
    except (TypeError, InputError) as exc:
        raise _damaged(
            ticker, path, f"metadata key {key!r} is missing or not a date ({value!r})"
        ) from exc


def _meta_time(meta: Mapping[str, Any], ticker: str, path: Path) -> pd.Timestamp:
    value = meta.get("fetched_at")
    try:
        if not isinstance(value, str):
            raise TypeError(value)
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            raise ValueError(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _damaged(
            ticker,
            path,
            f"metadata key 'fetched_at' is missing or not a time ({value!r})",
        ) from exc
    return stamp


def _meta_calendar(meta: Mapping[str, Any], ticker: str, path: Path) -> str | None:
    value = meta.get("calendar")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _damaged(ticker, path, f"metadata key 'calendar' is invalid ({value!r})")
    return value


def _meta_gaps(
    meta: Mapping[str, Any], ticker: str, path: Path
) -> dict[pd.Timestamp, int]:
    value = meta.get("gaps", {})
    bad = _damaged(ticker, path, f"metadata key 'gaps' is invalid ({value!r})")
    if not isinstance(value, dict):
        raise bad
    out: dict[pd.Timestamp, int] = {}
    for day, misses in value.items():
        if not isinstance(misses, int) or isinstance(misses, bool) or misses < 1:
            raise bad
        try:
            out[as_day(day, "gap")] = misses
        except InputError as exc:
            raise bad from exc
    return out


def _split_long(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split a long frame into per-ticker tables (non-empty ones only)."""
    missing = [c for c in LONG_COLUMNS if c not in frame.columns]
    if missing:
        raise PriceDataError(f"the provider's frame lacks the columns {missing}")
    out: dict[str, pd.DataFrame] = {}
    groups: Iterable[tuple[Hashable, pd.DataFrame]] = frame.groupby(
        "ticker", sort=False
    )
    for key, group in groups:
        table = group.loc[:, [c for c in _STORED_COLUMNS if c in group.columns]].copy()
        if OPEN_FIELD not in table.columns:  # a provider without opens
            table[OPEN_FIELD] = np.nan
        table["date"] = pd.to_datetime(table["date"]).astype("datetime64[ns]")
        for name in (*PRICE_FIELDS, OPEN_FIELD):
            table[name] = table[name].astype("float64")
        table = table.drop_duplicates("date", keep="last").sort_values("date")
        if len(table):
            out[str(key)] = table.reset_index(drop=True)
    return out


def _splice_conflict(old: pd.DataFrame, new: pd.DataFrame) -> str | None:
    """Return why ``new`` must not be spliced onto ``old`` (None when it may)."""
    o = old.set_index("date")
    n = new.set_index("date")
    overlap = o.index.intersection(n.index)
    if overlap.empty:
        return "no overlapping date to compare adjusted prices"
    o, n_overlap = o.loc[overlap], n.loc[overlap]
    ratio_old = o["adj_close"] / o["close"]
    ratio_new = n_overlap["adj_close"] / n_overlap["close"]
    valid = np.isfinite(ratio_old) & np.isfinite(ratio_new) & (ratio_old != 0)
    drift = (ratio_new[valid] / ratio_old[valid] - 1.0).abs()
    if (drift > RATIO_TOLERANCE).any():
        day = _day(overlap[0])
        return f"adjusted close re-based (adj_close/close changed on {day})"
    for name in ("dividends", "splits"):
        changed = (o[name].fillna(0.0) - n_overlap[name].fillna(0.0)).abs() > 0
        if changed.any():
            return f"{name} changed on {_day(changed.index[changed.to_numpy()][0])}"
        later = n.loc[n.index > o.index.max(), name].fillna(0.0)
        if (later != 0).any():
            return f"new {name} on {_day(later.index[(later != 0).to_numpy()][0])}"
    return None


def _splice(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Put ``new`` rows on ``old``, newer values winning on shared dates."""
    kept = old.loc[~old["date"].isin(new["date"])]
    merged = pd.concat([kept, new], ignore_index=True)
    return merged.sort_values("date").reset_index(drop=True)


def _count_new_dates(old: _Stored, new: pd.DataFrame) -> int:
    return int((~new["date"].isin(old.frame["date"])).sum())


def _missing_ranges(
    span: tuple[pd.Timestamp, pd.Timestamp],
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
) -> list[str]:
    lo, hi = span
    gaps = []
    if start is not None and start < lo:
        gaps.append(f"{_day(start)}..{_day(min(lo - _ONE_DAY, end or lo))}")
    if end is not None and end > hi:
        gaps.append(f"{_day(max(hi + _ONE_DAY, start or hi))}..{_day(end)}")
    return gaps


def _wide(columns: Mapping[str, pd.Series], order: Sequence[str]) -> pd.DataFrame:
    """Assemble the canonical wide frame."""
    if columns:
        panel = pd.concat(
            [columns[t] for t in order], axis=1, keys=list(order), sort=True
        )
    else:
        panel = pd.DataFrame(columns=list(order))
    index = pd.DatetimeIndex(panel.index).normalize()
    panel.index = pd.DatetimeIndex(index.astype("datetime64[ns]"), name="date")
    panel.columns = pd.Index([str(t) for t in order])
    return panel.sort_index().astype("float64")


def _write_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` atomically and durably (temp file, fsync,
    os.replace, fsync of the folder)."""
    replace_atomic(path, lambda tmp: pq.write_table(table, tmp), durable=True)
