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

Times are converted to the exchange's own time zone before the local date is taken.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.offsets import CustomBusinessDay

from eventstudy.errors import CalendarError, InputError

FX_CALENDAR = "FX"

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
                "as XTKS, XKRX, XNYS, or FX for currencies"
            ) from exc


def get_sessions(
    name: str, start: pd.Timestamp | str, end: pd.Timestamp | str
) -> Sessions:
    """Return the sessions of calendar ``name`` between ``start`` and ``end``.

    Parameters
    ----------
    name
        A ``pandas_market_calendars`` name, or ``FX`` for the 24/5 FX calendar.
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
    if name == FX_CALENDAR:
        dates = pd.bdate_range(start, end)
        local_close = (dates + pd.Timedelta(hours=_FX_CLOSE_HOUR)).tz_localize(_FX_TZ)
        close_ns = local_close.tz_convert("UTC").as_unit("ns").asi8.copy()
        prev = (dates - pd.Timedelta(days=1)) + pd.Timedelta(hours=_FX_CLOSE_HOUR)
        open_ns = prev.tz_localize(_FX_TZ).tz_convert("UTC").as_unit("ns").asi8.copy()
        return Sessions(name, _FX_TZ, pd.DatetimeIndex(dates, name="date"),
                        open_ns, close_ns)

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
    open_ns = (
        pd.DatetimeIndex(sched["market_open"]).tz_convert("UTC").as_unit("ns").asi8
    )
    close_ns = (
        pd.DatetimeIndex(sched["market_close"]).tz_convert("UTC").as_unit("ns").asi8
    )
    tz = str(getattr(cal, "tz", "UTC"))
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
        with _korean_holiday_caches_restored():
            days += list(rules.holidays(start - _HOLIDAY_PAD, end + _HOLIDAY_PAD))
    out = copy.copy(cal)
    out._holidays = CustomBusinessDay(holidays=days, weekmask=cal.weekmask)
    return out


def locate_day0(
    sessions: Sessions, instants_ns: np.ndarray, date_only: np.ndarray
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

    Returns
    -------
    positions : numpy.ndarray
        Index of day 0 in ``sessions.dates``; -1 where the announcement lies after the
        last session.
    rules : numpy.ndarray
        The rule that chose day 0 (one of :data:`DAY0_RULES`, or ``out_of_range``).

    Examples
    --------
    A US after-close announcement lands on the next Tokyo session:

    >>> s = get_sessions("XTKS", "2025-07-18", "2025-07-31")
    >>> t = pd.Timestamp("2025-07-22T19:12-04:00").tz_convert("UTC")
    >>> pos, rule = locate_day0(s, np.array([t.value]), np.array([False]))
    >>> str(s.dates[pos[0]].date()), str(rule[0])
    ('2025-07-23', 'pre_open')
    """
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
        r = np.where(
            exact,
            "date_only",
            np.where(weekend, "date_only_weekend_roll", "date_only_holiday_roll"),
        ).astype(object)
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


def align_events(events: pd.DataFrame, calendars: list[str] | tuple[str, ...]
                 ) -> pd.DataFrame:
    """Day 0 of every event on every calendar, with the rule that chose it.

    Parameters
    ----------
    events
        Validated events (``eventstudy.inputs.events.load_events`` or
        ``events_from_frame``), with ``instant_ns`` and ``date_only``.
    calendars
        Calendar names (``XTKS``, ``XKRX``, ``XNYS``, ``FX``...).

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
        pos, rule = locate_day0(sess, inst, donly)
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
