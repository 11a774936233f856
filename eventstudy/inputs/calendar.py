"""Trading sessions per exchange, and day 0 of an announcement on each calendar.

A :class:`Sessions` object holds the sessions of one calendar over a date range: the
session dates (tz-naive, as prices are labelled) and each session's open and close as
UTC nanoseconds. Calendars come from ``pandas_market_calendars`` by name (``XTKS``,
``XKRX``, ``XNYS``, ...). ``FX`` is eventstudy's own 24/5 calendar: one session per
weekday, closing at 17:00 New York time (the conventional FX day end) and opening at
17:00 the calendar day before (so Monday's session opens Sunday 17:00; the market is
closed from Friday 17:00, and a weekend announcement is a ``weekend_roll``).

Day-0 rule (:func:`locate_day0`)
--------------------------------
Day 0 is the first session whose close is at or after the announcement.

* ``intraday``: the announcement falls inside that session (open <= t <= close).
* ``pre_open``: before the open of a session on the same local date.
* ``after_close``: after the close of a session; day 0 is the next session.
* ``weekend_roll`` / ``holiday_roll``: the local date is not a session; next session.
* ``date_only``: a date without a time that is a session of this calendar.
* ``date_only_weekend_roll`` / ``date_only_holiday_roll``: a date without a time that is
  not a session; the next session.

With ``date_rule = "previous"`` (``[windows] day0_rule``, the convention of the xKDR
``eventstudies`` package, whose ``phys2eventtime`` takes the last date of the data at
or before the event date with ``findInterval``), a date without a time that is not a
session maps to the previous session instead: rules ``date_only_weekend_previous`` /
``date_only_holiday_previous`` (:data:`DAY0_PREVIOUS_RULES`). Timed announcements and
series with an as-of time are unchanged.

Times are converted to the exchange's own time zone before the local date is taken.

Calendars and their weekends and holidays
-----------------------------------------
* A pandas-market-calendars name (``XTKS``, ``XKRX``, ``XNYS``, ...): the exchange's
  sessions, holidays and early closes (XNYS 2024-11-29 closes 13:00 New York). A
  weekend or holiday announcement rolls to the next session.
* ``FX``: one session per weekday (Monday..Friday, no holidays: the interbank market
  trades on exchange holidays), closing at the daily cut, 17:00 New York, and opening
  at the cut of the calendar day before (Monday's session opens Sunday 17:00). The
  cut is configurable: ``FX@16:00 Europe/London`` closes each weekday at 16:00
  London (the WM/Reuters fix) instead. An announcement from Friday's cut to Sunday's
  is a ``weekend_roll`` to Monday.
* ``24/7`` (crypto): every calendar day is a session, the UTC day: it opens at 00:00
  UTC of the date and closes at 00:00 UTC of the next day. There are no weekends
  or holidays, so nothing rolls: a Saturday announcement is Saturday's session.

As-of times (:func:`parse_asof`, :func:`with_asof`)
---------------------------------------------------
A series' daily value need not be taken at the calendar's close. A universe's
``asof`` column says when it is:

* ``close`` (the default): the calendar's own close times, early closes included;
* ``HH:MM Area/City``: the value labelled date D is taken at that local time on D
  (``12:00 America/New_York`` for a noon fixing);
* ``HH:MM Area/City -1``: taken at that local time on the calendar day before D.

Yahoo's ``=X`` FX series on an FX calendar default to ``00:00 Europe/London``
(:func:`resolve_asof`): Yahoo's ``JPY=X`` value labelled D is a snapshot from the
start of D (about midnight London). Checked against the Federal Reserve's H.10 noon
rates, the median gap is 0.24 yen to JPY=X(D+1) and 0.59 yen to JPY=X(D), and H.10
daily returns correlate 0.50 with the next day's JPY=X return and 0.11 with the same
day's: the value labelled D+1 is the one closest to D's New York noon. An explicit
``asof = close`` overrides the default.

With an as-of time, day 0 is the first observation (a session of the series'
calendar) whose as-of instant is at or after the announcement; :func:`with_asof`
gives :func:`locate_day0` sessions whose closes are the as-of instants (and whose
opens are the previous as-of instants), and the rule is ``after_asof <as-of>``
(e.g. ``after_asof 00:00 Europe/London``). A date-only announcement on such a
series counts from the end of its date (00:00 of the next day in the as-of time
zone): day 0 is the first observation taken after the whole date, rule
``date_only_asof <as-of>`` (:func:`locate_day0_asof`).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.tseries.offsets import CustomBusinessDay

from eventstudy.errors import CalendarError, InputError
from eventstudy.options import Day0Rule, check_choice, values

FX_CALENDAR = "FX"
"""The 24/5 FX calendar, cut at 17:00 New York; ``FX@HH:MM Area/City`` moves the cut."""
SEVEN_DAY_CALENDAR = "24/7"
"""Every calendar day is a session: the UTC day (crypto)."""
ASOF_CLOSE = "close"
"""The as-of convention of a series valued at its calendar's close (the default)."""
ASOF_RULE = "after_asof"
"""Day-0 rule prefix when a series' as-of time (not its close) decided day 0."""
ASOF_DATE_RULE = "date_only_asof"
"""Day-0 rule prefix of a date-only announcement on a series with an as-of time: the
first observation taken after the end of the date (:func:`locate_day0_asof`)."""
YAHOO_FX_ASOF = "00:00 Europe/London"
"""The as-of time of Yahoo's ``=X`` FX series: a snapshot at the start of the day."""
_ASOF = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9]) +"
                   r"([A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*)(?: +(-1))?$")

FIRST_DATE = pd.Timestamp("1900-01-01")
"""Earliest date eventstudy accepts in a catalog or a prices file."""
LAST_DATE = pd.Timestamp("2200-12-31")
"""Latest date eventstudy accepts in a catalog or a prices file (pandas' nanosecond
timestamps end on 2262-04-11; the margin keeps every window and padding inside)."""
_SESSIONS_RANGE = (pd.Timestamp("1800-01-01"), pd.Timestamp("2261-12-31"))
"""The range :func:`get_sessions` serves (some calendars support less, e.g. XKRX's
lunar holidays end in 2050; that is reported as a :class:`CalendarError` too)."""
_FX_TZ = "America/New_York"
_FX_CLOSE_HOUR = 17

@dataclass(frozen=True)
class AsOf:
    """When a series' value labelled date D is taken: ``hour:minute`` local time in
    ``tz`` on D, or on D - 1 when ``days`` is -1."""

    hour: int
    minute: int
    tz: str
    days: int = 0

    def __str__(self) -> str:
        lag = f" {self.days}" if self.days else ""
        return f"{self.hour:02d}:{self.minute:02d} {self.tz}{lag}"


def _zone(tz: str) -> bool:
    """Whether ``tz`` is an IANA time zone name pandas knows."""
    try:
        pd.Timestamp("2024-01-01").tz_localize(tz)
    except (ValueError, KeyError, TypeError, LookupError):
        return False
    return True


def parse_asof(text: str) -> AsOf | None:
    """Parse an as-of cell: ``close`` (None) or ``HH:MM Area/City`` [``-1``].

    Parameters
    ----------
    text
        ``close``, ``""`` (also the close), ``12:00 America/New_York`` or
        ``17:00 America/New_York -1`` (taken on the day before the label).

    Returns
    -------
    AsOf or None
        None for the calendar close.

    Raises
    ------
    InputError
        If the text is neither ``close`` nor a valid time and IANA zone.

    Examples
    --------
    >>> str(parse_asof("12:00 America/New_York"))
    '12:00 America/New_York'
    >>> parse_asof("close") is None
    True
    """
    t = " ".join(str(text).split())
    if t in ("", ASOF_CLOSE):
        return None
    m = _ASOF.match(t)
    if m is None or not _zone(m.group(3)):
        raise InputError(
            f"as-of time {text!r} is not valid: write 'close', 'HH:MM Area/City' "
            "(e.g. '12:00 America/New_York'), or 'HH:MM Area/City -1' for a value "
            "taken the day before its date")
    return AsOf(int(m.group(1)), int(m.group(2)), m.group(3),
                -1 if m.group(4) else 0)


def is_fx_calendar(name: str) -> bool:
    """Whether ``name`` is the FX calendar, with its default or another cut."""
    return name == FX_CALENDAR or name.startswith(FX_CALENDAR + "@")


def resolve_asof(ticker: str, calendar: str, asof: str) -> str:
    """The as-of time a series uses, in canonical text (``close`` or an
    :class:`AsOf`'s text).

    An empty ``asof`` is the default: Yahoo's snapshot time
    (:data:`YAHOO_FX_ASOF`) for a ticker ending in ``=X`` on an FX calendar, the
    calendar's close otherwise. Anything given wins.

    Raises
    ------
    InputError
        If ``asof`` is not valid (:func:`parse_asof`).

    Examples
    --------
    >>> resolve_asof("JPY=X", "FX", ""), resolve_asof("JPY=X", "FX", "close")
    ('00:00 Europe/London', 'close')
    >>> resolve_asof("DEXJPUS", "FX", "")
    'close'
    """
    text = " ".join(str(asof).split())
    if text == "" and str(ticker).endswith("=X") and is_fx_calendar(calendar):
        text = YAHOO_FX_ASOF
    parsed = parse_asof(text)
    return ASOF_CLOSE if parsed is None else str(parsed)


def with_asof(sessions: Sessions, asof: str) -> Sessions:
    """The sessions of ``sessions`` with each close moved to the series' as-of
    instant, and each open to the previous as-of instant.

    Parameters
    ----------
    sessions
        A calendar's sessions.
    asof
        ``close`` (``sessions`` is returned unchanged) or an as-of text.

    Returns
    -------
    Sessions
        Same dates; ``tz`` is the as-of time zone; the first open is one day before
        the first as-of instant.

    Examples
    --------
    >>> s = with_asof(get_sessions("FX", "2025-03-10", "2025-03-11"),
    ...               "00:00 Europe/London")
    >>> [str(pd.Timestamp(c, tz="UTC")) for c in s.close_ns]
    ['2025-03-10 00:00:00+00:00', '2025-03-11 00:00:00+00:00']
    """
    a = parse_asof(asof)
    if a is None:
        return sessions
    local = (sessions.dates + pd.Timedelta(days=a.days, hours=a.hour,
                                           minutes=a.minute))
    close = (pd.DatetimeIndex(local).tz_localize(a.tz, nonexistent="shift_forward",
                                                 ambiguous=False)
             .tz_convert("UTC").as_unit("ns").asi8.copy())
    opens = np.empty_like(close)
    if len(close):
        opens[1:] = close[:-1]
        opens[0] = close[0] - pd.Timedelta(days=1).value
    return Sessions(sessions.name, a.tz, sessions.dates, opens, close)


def _fx_cut(name: str) -> AsOf:
    """The daily cut of an FX calendar name (``FX`` or ``FX@HH:MM Area/City``)."""
    if name == FX_CALENDAR:
        return AsOf(_FX_CLOSE_HOUR, 0, _FX_TZ)
    try:
        cut = parse_asof(name[len(FX_CALENDAR) + 1:])
    except InputError as exc:
        raise CalendarError(f"calendar {name!r}: the FX cut must read like "
                            "'FX@16:00 Europe/London'") from exc
    if cut is None or cut.days:
        raise CalendarError(f"calendar {name!r}: the FX cut must read like "
                            "'FX@16:00 Europe/London'")
    return cut


def is_calendar_name(name: str) -> bool:
    """Whether eventstudy's own calendars include ``name`` (``FX``, a valid
    ``FX@HH:MM Area/City``, ``24/7``); pandas-market-calendars' names are not
    checked here."""
    if name == SEVEN_DAY_CALENDAR:
        return True
    if not is_fx_calendar(name):
        return False
    try:
        _fx_cut(name)
    except CalendarError:
        return False
    return True


DAY0_RULES = (
    "intraday",
    "pre_open",
    "after_close",
    "weekend_roll",
    "holiday_roll",
    "date_only",
    "date_only_weekend_roll",
    "date_only_holiday_roll",
)
"""The rules of the default day-0 rule (``date_rule = "next"``)."""
DAY0_PREVIOUS_RULES = (
    "date_only_weekend_previous",
    "date_only_holiday_previous",
)
"""The rules a date-only announcement on a non-session date gets with ``date_rule =
"previous"`` (day 0 = the previous session; xKDR ``eventstudies``)."""
DATE_RULES = values(Day0Rule)
"""``date_rule`` values of :func:`locate_day0` (``[windows] day0_rule``)."""


@dataclass(frozen=True)
class Sessions:
    """The sessions of one calendar over a date range.

    Attributes
    ----------
    name
        Calendar name (``XTKS``, ``XNYS``, ``FX``...).
    tz
        The exchange's time zone (IANA name).
    dates
        Session dates, tz-naive midnight, sorted and unique.
    open_ns, close_ns
        Each session's open and close, UTC nanoseconds since the epoch.
    """

    name: str
    tz: str
    dates: pd.DatetimeIndex
    open_ns: np.ndarray
    close_ns: np.ndarray

    def __len__(self) -> int:
        return len(self.dates)


@functools.lru_cache(maxsize=64)
def _market_calendar(name: str) -> Any:
    """The pandas-market-calendars object for ``name``, built once per process.

    Building a calendar's holiday rules is expensive (about 2 s for XKRX) and the
    object is not modified by ``schedule``; caching it is the same design as
    exchange_calendars' calendar dispatcher.
    """

    import pandas_market_calendars as mcal  # lazy: slow import

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return mcal.get_calendar(name)
        except (RuntimeError, KeyError) as exc:
            raise CalendarError(
                f"unknown calendar {name!r}: use a pandas-market-calendars name such "
                "as XTKS, XKRX, XNYS, FX (or FX@16:00 Europe/London) for currencies, "
                "or 24/7 for markets open every day"
            ) from exc


def get_sessions(
    name: str, start: pd.Timestamp | str, end: pd.Timestamp | str
) -> Sessions:
    """Return the sessions of calendar ``name`` between ``start`` and ``end``.

    Parameters
    ----------
    name
        A ``pandas_market_calendars`` name, ``FX`` for the 24/5 FX calendar (or
        ``FX@HH:MM Area/City`` for another daily cut), or ``24/7``.
    start, end
        Inclusive date range (tz-naive dates).

    Returns
    -------
    Sessions

    Raises
    ------
    CalendarError
        If the calendar name is unknown, or the range lies outside 1800..2261 or
        outside what the calendar supports (XKRX ends in 2050).

    Examples
    --------
    >>> s = get_sessions("XTKS", "2026-02-20", "2026-02-25")
    >>> [d.strftime("%m-%d") for d in s.dates]
    ['02-20', '02-24', '02-25']
    """
    if not isinstance(name, str) or not name:
        raise CalendarError(f"calendar name must be text such as XNYS, got {name!r}")
    try:
        start = pd.Timestamp(start).normalize()
        end = pd.Timestamp(end).normalize()
    except (ValueError, TypeError, OverflowError) as exc:
        raise CalendarError(f"calendar {name}: the dates {start!r}..{end!r} are not "
                            f"valid dates ({exc})") from exc
    if pd.isna(start) or pd.isna(end):
        raise CalendarError(f"calendar {name}: the date range {start}..{end} has a "
                            "missing end")
    lo, hi = _SESSIONS_RANGE
    if start < lo or end > hi:
        raise CalendarError(
            f"calendar {name}: dates {start.date()}..{end.date()} are outside the "
            f"supported range {lo.date()}..{hi.date()}; keep events and prices "
            f"between {FIRST_DATE.date()} and {LAST_DATE.date()}")
    if name == SEVEN_DAY_CALENDAR:
        dates = pd.date_range(start, end, freq="D")
        open_ns = dates.as_unit("ns").asi8.copy()
        close_ns = open_ns + pd.Timedelta(days=1).value
        return Sessions(name, "UTC", pd.DatetimeIndex(dates, name="date"),
                        open_ns, close_ns)
    if is_fx_calendar(name):
        cut = _fx_cut(name)
        dates = pd.bdate_range(start, end)
        hm = pd.Timedelta(hours=cut.hour, minutes=cut.minute)
        local_close = (dates + hm).tz_localize(cut.tz, nonexistent="shift_forward",
                                               ambiguous=False)
        close_ns = local_close.tz_convert("UTC").as_unit("ns").asi8.copy()
        prev = (dates - pd.Timedelta(days=1)) + hm
        open_ns = (prev.tz_localize(cut.tz, nonexistent="shift_forward",
                                    ambiguous=False)
                   .tz_convert("UTC").as_unit("ns").asi8.copy())
        return Sessions(name, cut.tz, pd.DatetimeIndex(dates, name="date"),
                        open_ns, close_ns)

    table = session_table(name)
    if table is not None and table.covers(start, end):
        return table.sessions(start, end)
    return computed_sessions(name, start, end)


def computed_sessions(name: str, start: pd.Timestamp, end: pd.Timestamp
                      ) -> Sessions:
    """The sessions of pandas-market-calendars' calendar ``name`` over
    ``start..end`` (normalised dates), computed by the library (what
    :func:`get_sessions` does when no bundled table covers the range).

    Raises
    ------
    CalendarError
        The name is unknown or the calendar cannot give sessions for the range.
    """
    with warnings.catch_warnings():
        # pandas-market-calendars warns about discontinued lunch breaks; the
        # open/close times we use are unaffected.
        warnings.simplefilter("ignore")
        cal = _market_calendar(name)
        try:
            cal = _in_range(cal, start, end)
            sched = cal.schedule(start_date=start, end_date=end)
        except (ValueError, OverflowError, KeyError,
                pd.errors.OutOfBoundsDatetime) as exc:
            # e.g. XKRX: "Cannot support date range after 2050-12-31"
            raise CalendarError(
                f"calendar {name} cannot give sessions for {start.date()}.."
                f"{end.date()} ({exc}); drop the events or prices outside the "
                "calendar's range, or use another calendar") from exc
    dates = pd.DatetimeIndex(sched.index).tz_localize(None).normalize()
    tz = str(getattr(cal, "tz", "UTC"))

    def utc_ns(column: str) -> np.ndarray:
        t = pd.DatetimeIndex(sched[column])
        if t.tz is None:  # no session in the range: the library's columns are naive
            t = t.tz_localize(tz)
        out: np.ndarray = t.tz_convert("UTC").as_unit("ns").asi8
        return out

    open_ns, close_ns = utc_ns("market_open"), utc_ns("market_close")
    return Sessions(name, tz, pd.DatetimeIndex(dates, name="date"),
                    open_ns.copy(), close_ns.copy())


@dataclass(frozen=True)
class WindowDates:
    """The session dates of one window per pair, without materialising them.

    Row i is ``dates[cal[i], start[i]:start[i] + length]`` (ns; -1 where the
    calendar has no session there). Indexing with rows (a slice, an index array or a
    boolean mask) gives those rows as an ``(m, length)`` int64 array, as the
    ``(P, length)`` array would; pairs with the same ``(cal, start)`` have the same
    dates (:meth:`keys`). 100,000 estimation windows of 240 days would otherwise be
    192 MB of int64 copies of the calendars.
    """

    dates: np.ndarray
    """``(calendars, T)`` session dates (ns), -1 padded."""
    cal: np.ndarray
    """``(P,)`` calendar row of each pair."""
    start: np.ndarray
    """``(P,)`` first column of each pair's window in ``dates``."""
    length: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(P, length)``, the shape of the dates array."""
        return (len(self.cal), self.length)

    def __len__(self) -> int:
        return len(self.cal)

    def __getitem__(self, rows: Any) -> np.ndarray:
        from numpy.lib.stride_tricks import (
            sliding_window_view,  # lazy: numpy internals, only for the benchmark
        )

        view = sliding_window_view(self.dates, self.length, axis=1)
        out: np.ndarray = view[self.cal[rows], self.start[rows]]
        return out

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = self[slice(None)]
        return out if dtype is None else out.astype(dtype)

    def keys(self, rows: Any = slice(None)) -> np.ndarray:
        """An int64 per row, equal exactly when the rows' windows are equal."""
        out: np.ndarray = (self.cal[rows].astype(np.int64) * self.dates.shape[1]
                           + self.start[rows])
        return out

    def complete(self, rows: Any = slice(None)) -> np.ndarray:
        """Whether each row's window has a session on every day (no -1)."""
        ok = self.dates >= 0
        first = np.where(ok.any(axis=1), ok.argmax(axis=1), self.dates.shape[1])
        last = np.where(ok.any(axis=1), ok.shape[1] - 1 - ok[:, ::-1].argmax(axis=1),
                        -1)
        c, s0 = self.cal[rows], self.start[rows]
        inside = (s0 >= first[c]) & (s0 + self.length - 1 <= last[c])
        # sessions are contiguous between a calendar's first and last column
        out: np.ndarray = inside
        return out


_HOLIDAY_PAD = pd.Timedelta(days=31)
"""Holidays are computed this far beyond the requested range."""


@contextlib.contextmanager
def _korean_holiday_caches_restored() -> Iterator[None]:
    """Undo what a short-range holiday computation leaves in exchange_calendars'
    Korean holiday caches.

    ``KoreanHoliday`` keeps two class-level caches (the holidays computed so far,
    and each date's substitute holiday). Computed over a short range, a
    substitute can be cached before the lunar holiday it depends on is known (a
    2024 range caches 2025-05-05, Children's Day on Buddha's Birthday, without
    its substitute 2025-05-06), and every later XKRX calendar in the process,
    pandas-market-calendars' own included, then misses that holiday. The caches
    are put back as they were after the computation.
    """

    mod = sys.modules.get("exchange_calendars.pandas_extensions.korean_holiday")
    kh = getattr(mod, "KoreanHoliday", None)
    if kh is None:
        yield
        return
    saved = {k: getattr(kh, k).copy() for k in ("_computed_holidays",
                                                "_alternate_holidays_cache")
             if hasattr(kh, k)}
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(kh, k, v)


SESSION_TABLES = Path(__file__).with_name("session_tables")
"""The bundled session tables, ``<calendar>.txt``: the sessions of
:data:`SESSION_TABLE_CALENDARS` over 1990-2050 exactly as pandas-market-calendars
computes them (importing it and building a calendar's holidays and schedule costs
about 0.2 s per run, 2 s for XKRX's lunar holidays). The first lines name the
pandas-market-calendars and exchange_calendars versions a table was computed with;
under other versions, or outside its years, the sessions are computed again.
Rebuilt by :func:`write_session_table`; ``tests/inputs/test_session_tables.py``
checks every table against the library."""
SESSION_TABLE_CALENDARS = ("XNYS", "XTKS", "XKRX")
"""The calendars with a bundled session table (the seed study's exchanges)."""
_TABLE_HEAD = 8
"""Header lines of a session table (``key=value``)."""
TimeUnit = Literal["s", "ms", "us", "ns"]
_UNITS: dict[str, TimeUnit] = {"s": "s", "ms": "ms", "us": "us", "ns": "ns"}


@dataclass(frozen=True)
class SessionTable:
    """One calendar's bundled sessions (:data:`SESSION_TABLES`).

    Attributes
    ----------
    name, tz
        Calendar name and time zone (as :class:`Sessions`).
    versions
        ``(pandas_market_calendars, exchange_calendars)`` versions it was computed
        with.
    dates, open_ns, close_ns
        Every session over the table's years: dates as ns (tz-naive midnight),
        open and close as UTC ns.
    first, last
        The first and last date the table covers (inclusive).
    unit
        The resolution of the session dates the library gives (pandas 3 gives
        ``us``), which :meth:`sessions` gives too.
    """

    name: str
    tz: str
    versions: tuple[str, str]
    dates: np.ndarray
    open_ns: np.ndarray
    close_ns: np.ndarray
    first: pd.Timestamp
    last: pd.Timestamp
    unit: TimeUnit = "ns"

    def covers(self, start: pd.Timestamp, end: pd.Timestamp) -> bool:
        """Whether ``start..end`` is a range within the table's years (an empty
        or reversed range is the library's to judge)."""
        return bool(self.first <= start <= end <= self.last)

    def sessions(self, start: pd.Timestamp, end: pd.Timestamp) -> Sessions:
        """The sessions of ``start..end`` (normalised dates, inside the table)."""
        lo = int(np.searchsorted(self.dates, start.value, side="left"))
        hi = int(np.searchsorted(self.dates, end.value, side="right"))
        # normalize() as the library's path: the same unit and inferred freq
        dates = pd.DatetimeIndex(self.dates[lo:hi].view("datetime64[ns]"),
                                 name="date").as_unit(self.unit).normalize()
        return Sessions(self.name, self.tz, dates, self.open_ns[lo:hi].copy(),
                        self.close_ns[lo:hi].copy())


def _versions() -> tuple[str, str]:
    """The installed pandas-market-calendars and exchange_calendars versions."""
    try:
        pmc = version("pandas_market_calendars")
    except PackageNotFoundError:
        pmc = ""
    return pmc, _calendars_version()


@functools.lru_cache(maxsize=16)
def session_table(name: str, folder: Path | None = None) -> SessionTable | None:
    """The bundled session table of calendar ``name``, if there is one and it was
    computed with the installed calendar libraries; else None.

    Parameters
    ----------
    name
        Calendar name.
    folder
        Where the tables are (default :data:`SESSION_TABLES`).

    Returns
    -------
    SessionTable or None
        None when there is no table for ``name``, it is unreadable, or it was
        computed with other versions of pandas-market-calendars or
        exchange_calendars (the sessions are then computed by the library).
    """
    path = (folder or SESSION_TABLES) / f"{name}.txt"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        head = dict(line.split("=", 1) for line in lines[:_TABLE_HEAD])
        versions = (head["pandas_market_calendars"], head["exchange_calendars"])
        if versions != _versions() or head["calendar"] != name:
            return None
        first, last = pd.Timestamp(head["first"]), pd.Timestamp(head["last"])
        rows = [line.split() for line in lines[_TABLE_HEAD:]]
        holidays = np.array([r[1] for r in rows if r[0] == "H"], dtype="datetime64[D]")
        extra = np.array([r[1] for r in rows if r[0] == "X"], dtype="datetime64[D]")
        change = [r for r in rows if r[0] == "T"]
        days = np.arange(np.datetime64(first.date(), "D"),
                         np.datetime64(last.date(), "D") + 1)
        weekday = np.is_busday(days, weekmask=head["weekmask"])
        keep = (weekday & ~np.isin(days, holidays)) | np.isin(days, extra)
        dates = days[keep].astype("datetime64[ns]").view(np.int64)
        at = np.array([r[1] for r in change], dtype="datetime64[D]").astype(
            "datetime64[ns]").view(np.int64)
        opens = np.array([pd.Timedelta(r[2]).value for r in change], dtype=np.int64)
        closes = np.array([pd.Timedelta(r[3]).value for r in change], dtype=np.int64)
        k = np.searchsorted(at, dates, side="right") - 1
        if len(dates) and (k < 0).any():
            return None
        tz = head["tz"]

        def utc(offset: np.ndarray) -> np.ndarray:
            local = pd.DatetimeIndex((dates + offset).view("datetime64[ns]"))
            out: np.ndarray = local.tz_localize(tz).as_unit("ns").asi8.copy()
            return out

        return SessionTable(name, tz, versions, dates, utc(opens[k]), utc(closes[k]),
                            first, last, _UNITS[head["unit"]])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def write_session_table(name: str, first_year: int = 1990, last_year: int = 2050,
                        folder: Path | None = None) -> Path:
    """Compute calendar ``name``'s sessions over ``first_year..last_year`` with the
    installed pandas-market-calendars and write its table (:data:`SESSION_TABLES`):
    the holidays (weekdays of its week mask without a session, ``H``), sessions on
    other days (``X``) and each session whose local open or close differs from the
    session before it (``T date open close``: the times from then on).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    start, end = pd.Timestamp(first_year, 1, 1), pd.Timestamp(last_year, 12, 31)
    s = computed_sessions(name, start, end)
    cal = _market_calendar(name)
    weekmask = str(getattr(cal, "weekmask", "Mon Tue Wed Thu Fri"))
    days = np.arange(np.datetime64(start.date(), "D"), np.datetime64(end.date(), "D")
                     + 1)
    have = np.isin(days, s.dates.to_numpy().astype("datetime64[D]"))
    weekday = np.is_busday(days, weekmask=weekmask)
    local_open = pd.DatetimeIndex(s.open_ns.view("datetime64[ns]")).tz_localize(
        "UTC").tz_convert(s.tz).tz_localize(None)
    local_close = pd.DatetimeIndex(s.close_ns.view("datetime64[ns]")).tz_localize(
        "UTC").tz_convert(s.tz).tz_localize(None)
    day = pd.Timedelta(days=1)
    if not all(pd.Timedelta(0) <= t - d < day for t, d in (
            *zip(local_open, s.dates, strict=True),
            *zip(local_close, s.dates, strict=True))):
        raise CalendarError(f"calendar {name}: a session opens or closes on another "
                            "local date; it cannot have a session table")
    o = [str(t - d) for t, d in zip(local_open, s.dates, strict=True)]
    c = [str(t - d) for t, d in zip(local_close, s.dates, strict=True)]
    rows = [f"H {d}" for d in days[weekday & ~have]]
    rows += [f"X {d}" for d in days[~weekday & have]]
    rows += [f"T {d.strftime('%Y-%m-%d')} {a.split()[-1]} {b.split()[-1]}"
             for i, (d, a, b) in enumerate(zip(s.dates, o, c, strict=True))
             if i == 0 or (a, b) != (o[i - 1], c[i - 1])]
    pmc, ec = _versions()
    text = "\n".join([f"pandas_market_calendars={pmc}", f"exchange_calendars={ec}",
                      f"calendar={name}", f"tz={s.tz}", f"first={start.date()}",
                      f"last={end.date()}", f"weekmask={weekmask}",
                      f"unit={s.dates.unit}", *rows]) + "\n"
    out = (folder or SESSION_TABLES) / f"{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    session_table.cache_clear()
    return out


KRX_TABLE = Path(__file__).with_name("krx_holidays.txt")
"""XKRX's rule holidays, 1990-2050, as exchange_calendars computes them (Korean
lunar-date conversions in pure Python: about 0.5 s per run otherwise). Its first
line names the exchange_calendars version it was computed with; under another
version the rules are computed again. Rebuilt by :func:`write_krx_table`."""


def computed_rule_holidays(cal: Any, first_year: int, last_year: int
                           ) -> tuple[pd.Timestamp, ...]:
    """The holidays of ``cal``'s rules in whole years ``first_year..last_year``,
    computed from the rules (the Korean caches are put back afterwards)."""
    with _korean_holiday_caches_restored():
        return tuple(cal.regular_holidays.holidays(
            pd.Timestamp(first_year, 1, 1), pd.Timestamp(last_year, 12, 31)))


@functools.lru_cache(maxsize=1)
def _calendars_version() -> str:
    """The installed exchange_calendars version ("" when it is not installed)."""
    try:
        return version("exchange_calendars")
    except PackageNotFoundError:
        return ""


@functools.lru_cache(maxsize=1)
def krx_table() -> tuple[str, int, int, tuple[pd.Timestamp, ...]] | None:
    """The bundled XKRX holidays: ``(version, first_year, last_year, days)``, or
    None when the file is missing or unreadable."""
    try:
        lines = KRX_TABLE.read_text(encoding="utf-8").split()
        head = dict(kv.split("=", 1) for kv in lines[:3])
        days = tuple(pd.Timestamp(d) for d in lines[3:])
        return (head["exchange_calendars"], int(head["first_year"]),
                int(head["last_year"]), days)
    except (OSError, ValueError, KeyError):
        return None


def write_krx_table(first_year: int = 1990, last_year: int = 2050) -> None:
    """Compute XKRX's rule holidays over ``first_year..last_year`` with the
    installed exchange_calendars and write :data:`KRX_TABLE`."""
    import pandas_market_calendars as mcal  # lazy: slow import

    days = computed_rule_holidays(mcal.get_calendar("XKRX"), first_year, last_year)
    text = "\n".join([f"exchange_calendars={_calendars_version()}",
                      f"first_year={first_year}", f"last_year={last_year}",
                      *(d.strftime("%Y-%m-%d") for d in days)]) + "\n"
    KRX_TABLE.write_text(text, encoding="utf-8")
    krx_table.cache_clear()


@functools.lru_cache(maxsize=64)
def _rule_holidays(cal: Any, first_year: int, last_year: int
                   ) -> tuple[pd.Timestamp, ...]:
    """The holidays of ``cal``'s rules in whole years ``first_year..last_year``,
    computed once per process and calendar object (a pure function of its
    arguments: the Korean caches are put back after each computation), so that the
    data-quality check and the alignment of one run, whose ranges differ by days,
    share XKRX's lunar-date conversions (about 0.5 s each). XKRX's come from the
    bundled table (:data:`KRX_TABLE`) when it covers the years and was computed with
    the installed exchange_calendars."""
    if getattr(cal, "name", "") == "XKRX":
        table = krx_table()
        if (table is not None and table[0] == _calendars_version()
                and table[1] <= first_year and last_year <= table[2]):
            return tuple(d for d in table[3] if first_year <= d.year <= last_year)
    return computed_rule_holidays(cal, first_year, last_year)


def _in_range(cal: Any, start: pd.Timestamp, end: pd.Timestamp) -> Any:
    """A shallow copy of ``cal`` whose holiday offset holds the holidays near
    ``start..end`` only.

    ``MarketCalendar.holidays()`` builds (and keeps in ``_holidays``) one
    ``CustomBusinessDay`` from every year of the holiday rules; for XKRX that is a
    Korean lunar-date conversion per holiday and year, about 1 s. The sessions of
    ``start..end`` only need the holidays of that range, so the copy gets those
    (the schedule is the same; tests compare them). Calendars that override
    ``holidays()`` are returned unchanged.
    """
    import pandas_market_calendars as mcal  # lazy: slow import

    if type(cal).holidays is not mcal.MarketCalendar.holidays:
        return cal
    rules = cal.regular_holidays
    days = list(cal.adhoc_holidays)
    if rules is not None and getattr(rules, "rules", None):
        days += _rule_holidays(cal, (start - _HOLIDAY_PAD).year,
                               (end + _HOLIDAY_PAD).year)
    out = copy.copy(cal)
    out._holidays = CustomBusinessDay(holidays=days, weekmask=cal.weekmask)
    return out


def locate_day0_asof(sessions: Sessions, asof: str, instants_ns: np.ndarray,
                     date_only: np.ndarray, date_rule: str = "next"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Day 0 on a series whose daily value is taken at ``asof`` (vectorised).

    With ``asof = close`` this is :func:`locate_day0` (with ``date_rule``).
    Otherwise day 0 is the first
    observation whose as-of instant is at or after the announcement (rule
    ``after_asof <as-of>``). A date-only announcement may fall anywhere in its date,
    so it counts from the end of that date, 00:00 of the next day in the as-of time
    zone: day 0 is the first observation taken after the whole date (rule
    ``date_only_asof <as-of>``). For Yahoo's 00:00 London FX snapshots, a plain date D
    gives the snapshot labelled D + 1 (the first one taken after D's news, whatever
    its hour), a Saturday or Sunday gives Monday's. ``date_rule`` does not apply
    there: the as-of instants already say which observation first holds the news.

    Parameters
    ----------
    sessions
        The calendar's sessions.
    asof
        ``close`` or an as-of text (:func:`parse_asof`).
    instants_ns, date_only, date_rule
        As in :func:`locate_day0`.

    Returns
    -------
    positions, rules
        As in :func:`locate_day0`.

    Examples
    --------
    >>> s = get_sessions("FX", "2024-11-01", "2024-11-15")
    >>> d = np.array([pd.Timestamp("2024-11-06").value])
    >>> pos, rule = locate_day0_asof(s, "00:00 Europe/London", d, np.array([True]))
    >>> str(s.dates[pos[0]].date()), str(rule[0])
    ('2024-11-07', 'date_only_asof 00:00 Europe/London')
    """
    a = parse_asof(asof)
    if a is None:
        return locate_day0(sessions, instants_ns, date_only, date_rule)
    check_choice(date_rule, DATE_RULES, "day0_rule")
    inst = np.asarray(instants_ns, dtype=np.int64).copy()
    donly = np.asarray(date_only, dtype=bool)
    if donly.any():
        next_day = pd.DatetimeIndex(inst[donly]) + pd.Timedelta(days=1)
        inst[donly] = (next_day.tz_localize(a.tz, nonexistent="shift_forward",
                                            ambiguous=False)
                       .tz_convert("UTC").as_unit("ns").asi8)
    pos, rule = locate_day0(with_asof(sessions, asof), inst,
                            np.zeros(len(inst), dtype=bool))
    placed = rule != "out_of_range"
    rule = np.where(placed & donly, f"{ASOF_DATE_RULE} {asof}",
                    np.where(placed, f"{ASOF_RULE} {asof}", rule)).astype(object)
    return pos, rule


def locate_day0(
    sessions: Sessions, instants_ns: np.ndarray, date_only: np.ndarray,
    date_rule: str = "next",
) -> tuple[np.ndarray, np.ndarray]:
    """Find day 0 of each announcement on one calendar (vectorised).

    Parameters
    ----------
    sessions
        The calendar's sessions; they must extend past the last announcement.
    instants_ns
        For timed announcements: the UTC instant in ns. For date-only announcements:
        the date's midnight as tz-naive ns (the local date on every exchange).
    date_only
        Boolean mask, True where the announcement has a date but no time.
    date_rule
        Day 0 of a date-only announcement whose date is not a session: ``"next"``
        (default) the first session after the date; ``"previous"`` the last
        session before it (xKDR ``eventstudies``: ``findInterval``, the last date at
        or before the event date). A date that is a session is day 0 either way.

    Returns
    -------
    positions : numpy.ndarray
        Index of day 0 in ``sessions.dates``; -1 where the announcement lies after the
        last session (or, for a date, before the first one).
    rules : numpy.ndarray
        The rule that chose day 0 (one of :data:`DAY0_RULES` or
        :data:`DAY0_PREVIOUS_RULES`, or ``out_of_range``).

    Raises
    ------
    UnknownNameError
        An unknown ``date_rule``.

    Examples
    --------
    A US after-close announcement lands on the next Tokyo session:

    >>> s = get_sessions("XTKS", "2025-07-18", "2025-07-31")
    >>> t = pd.Timestamp("2025-07-22T19:12-04:00").tz_convert("UTC")
    >>> pos, rule = locate_day0(s, np.array([t.value]), np.array([False]))
    >>> str(s.dates[pos[0]].date()), str(rule[0])
    ('2025-07-23', 'pre_open')

    Saturday 2025-07-26 as a plain date, under each date rule:

    >>> d = np.array([pd.Timestamp("2025-07-26").value])
    >>> for rule in ("next", "previous"):
    ...     p, r = locate_day0(s, d, np.array([True]), rule)
    ...     print(s.dates[p[0]].date(), r[0])
    2025-07-28 date_only_weekend_roll
    2025-07-25 date_only_weekend_previous
    """
    check_choice(date_rule, DATE_RULES, "day0_rule")
    instants_ns = np.asarray(instants_ns, dtype=np.int64)
    date_only = np.asarray(date_only, dtype=bool)
    n = len(instants_ns)
    dates_ns = sessions.dates.as_unit("ns").asi8
    pos = np.full(n, -1, dtype=np.int64)
    rules = np.full(n, "out_of_range", dtype=object)

    # timed announcements: first session with close >= t
    timed = ~date_only
    if timed.any():
        t = instants_ns[timed]
        idx = np.searchsorted(sessions.close_ns, t, side="left")
        ok = idx < len(dates_ns)
        idx_c = np.minimum(idx, len(dates_ns) - 1)
        local = (
            pd.DatetimeIndex(t, tz="UTC").tz_convert(sessions.tz).tz_localize(None)
        ).normalize()
        local_ns = local.as_unit("ns").asi8
        local_is_session = np.isin(local_ns, dates_ns)
        weekend = np.asarray(local.day_of_week >= 5)
        intraday = sessions.open_ns[idx_c] <= t
        same_date = dates_ns[idx_c] == local_ns
        r = np.where(
            intraday,
            "intraday",
            np.where(
                same_date,
                "pre_open",
                np.where(
                    local_is_session,
                    "after_close",
                    np.where(weekend, "weekend_roll", "holiday_roll"),
                ),
            ),
        ).astype(object)
        r[~ok] = "out_of_range"
        p = np.where(ok, idx, -1)
        pos[timed] = p
        rules[timed] = r
    if date_only.any():
        d = instants_ns[date_only]
        idx = np.searchsorted(dates_ns, d, side="left")
        ok = idx < len(dates_ns)
        idx_c = np.minimum(idx, len(dates_ns) - 1)
        exact = dates_ns[idx_c] == d
        weekend = np.asarray(pd.DatetimeIndex(d).day_of_week >= 5)
        moved = (("date_only_weekend_previous", "date_only_holiday_previous")
                 if date_rule == "previous" else
                 ("date_only_weekend_roll", "date_only_holiday_roll"))
        r = np.where(
            exact,
            "date_only",
            np.where(weekend, *moved),
        ).astype(object)
        if date_rule == "previous":
            # the last session at or before the date; a date after the last session
            # stays out of range (the sessions may simply end there)
            idx = np.where(exact, idx, idx - 1)
        r[~ok] = "out_of_range"
        pos[date_only] = np.where(ok, idx, -1)
        rules[date_only] = r
    # an announcement before the first session cannot be placed reliably
    first_open = sessions.open_ns[0] if len(dates_ns) else 0
    before = np.where(date_only, instants_ns < dates_ns[0] if len(dates_ns) else True,
                      instants_ns < first_open)
    pos[before] = -1
    rules[before] = "out_of_range"
    return pos, rules


def align_events(events: pd.DataFrame, calendars: list[str] | tuple[str, ...],
                 date_rule: str = "next") -> pd.DataFrame:
    """Day 0 of every event on every calendar, with the rule that chose it.

    Parameters
    ----------
    events
        Validated events (``eventstudy.inputs.events.load_events`` or
        ``events_from_frame``), with ``instant_ns`` and ``date_only``.
    calendars
        Calendar names (``XTKS``, ``XKRX``, ``XNYS``, ``FX``...).
    date_rule
        ``"next"`` or ``"previous"``, as in :func:`locate_day0`.

    Returns
    -------
    pandas.DataFrame
        ``event_id, timestamp, calendar, day0, rule, local_time`` in event order,
        then calendar order.

    Examples
    --------
    >>> from eventstudy.inputs.events import events_from_frame
    >>> ev = events_from_frame(pd.DataFrame({"event_id": ["x"],
    ...     "timestamp": ["2026-02-20T10:00-05:00"], "groups": ["g"]}))
    >>> print(align_events(ev, ["XTKS", "XNYS"])[["calendar", "day0", "rule"]]
    ...       .to_string(index=False))
    calendar       day0         rule
        XTKS 2026-02-24 weekend_roll
        XNYS 2026-02-20     intraday
    """
    if (not isinstance(events, pd.DataFrame) or "instant_ns" not in events.columns
            or "date_only" not in events.columns):
        raise InputError("align_events needs validated events (load_events or "
                         "events_from_frame), with instant_ns and date_only")
    if len(events) == 0:
        raise InputError("align_events: the events table has no rows")
    if isinstance(calendars, str) or not all(isinstance(c, str) for c in calendars):
        raise InputError(f"calendars must be a list of names like ['XTKS', "
                         f"'XNYS'], got {calendars!r}")
    inst = events["instant_ns"].to_numpy(dtype=np.int64)
    donly = events["date_only"].to_numpy(dtype=bool)
    start = pd.Timestamp(int(inst.min())).normalize() - pd.Timedelta(days=10)
    end = pd.Timestamp(int(inst.max())).normalize() + pd.Timedelta(days=30)
    rows = []
    for cal in calendars:
        sess = get_sessions(cal, start, end)
        pos, rule = locate_day0(sess, inst, donly, date_rule)
        local = np.where(
            donly, "",
            pd.DatetimeIndex(inst, tz="UTC").tz_convert(sess.tz)
            .strftime("%Y-%m-%d %H:%M %Z"))
        for i in range(len(events)):
            rows.append({
                "_i": i, "event_id": events["event_id"].iloc[i],
                "timestamp": events["timestamp"].iloc[i], "calendar": cal,
                "day0": sess.dates[pos[i]].strftime("%Y-%m-%d") if pos[i] >= 0
                else "", "rule": rule[i], "local_time": local[i]})
    out = pd.DataFrame(rows)
    out["_c"] = out["calendar"].map({c: j for j, c in enumerate(calendars)})
    out = out.sort_values(["_i", "_c"], kind="stable").drop(columns=["_i", "_c"])
    return out.reset_index(drop=True)
