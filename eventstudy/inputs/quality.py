"""Data-quality checks on a canonical wide price frame.

:func:`check_prices` is pure: it reads a panel (see
:mod:`eventstudy.inputs.sources.cache` for the
canonical layout) and returns one row per finding; it neither changes the data nor
warns. Callers decide what to do with the findings (print them, raise
exclude events...).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal, get_args

import numpy as np
import pandas as pd

from eventstudy.errors import InputError, PriceDataError
from eventstudy.inputs.calendar import ASOF_CLOSE, get_sessions, resolve_asof

__all__ = ["CHECKS", "FINDING_COLUMNS", "Check", "check_prices", "check_study_prices"]

Check = Literal[
    "extreme_return",
    "fx_snapshot_close",
    "missing_sessions",
    "non_finite",
    "non_positive",
    "stale_run",
]
"""The names of the checks."""

CHECKS: tuple[Check, ...] = get_args(Check)
"""All checks, in the order findings are sorted."""

FINDING_COLUMNS: tuple[str, ...] = (
    "ticker",
    "check",
    "first_date",
    "last_date",
    "count",
    "detail",
)
"""Columns of the frame returned by :func:`check_prices`."""



def check_prices(
    panel: pd.DataFrame,
    sessions: Mapping[str, pd.DatetimeIndex] | None = None,
    fx_tickers: Collection[str] = (),
    unadjusted: Collection[str] = (),
    extreme: float = 0.25,
    stale_run: int = 5,
) -> pd.DataFrame:
    """Find missing sessions, stale runs, bad prices, extreme moves and FX snapshots.

    Parameters
    ----------
    panel
        Canonical wide price frame (``date`` index, one column per ticker, NaN for
        missing), normally closes.
    sessions
        Maps a ticker to the session dates of its exchange calendar (e.g. from
        ``pandas_market_calendars``' ``valid_days(start, end, tz=None)``). Only
        tickers listed are checked for missing sessions.
    fx_tickers
        Yahoo FX tickers (e.g. ``"JPY=X"``) whose daily "close" is a snapshot.
    unadjusted
        Tickers whose prices are not adjusted for splits and other corporate
        actions (e.g. raw KRX prices of ``.KS``/``.KQ`` tickers); the caller says
        which, the function does not guess from the names.
    extreme
        Threshold on the absolute simple return between consecutive observations.
        The default 0.25 flags moves only a takeover, a merger report or a
        corporate action produces (in the 2023-2026 seed prices it flags three days
        in 36 tickers), without flooding the report with ordinary volatility.
    stale_run
        Minimum length of a run of identical consecutive prices to report.

    Returns
    -------
    pandas.DataFrame
        One row per finding with the columns ``ticker, check, first_date,
        last_date, count, detail``, sorted by ``(ticker, check, first_date)``:

        - ``missing_sessions``: a run of consecutive calendar sessions, between
          the ticker's first and last price, with no price; ``count`` sessions.
        - ``stale_run``: the same price ``count`` times in a row.
        - ``non_finite``: a run of ``count`` consecutive prices that are ``inf``
          or ``-inf``; they are treated as missing by every other check and by
          the returns (:func:`eventstudy.inputs.returns.on_sessions`).
        - ``non_positive``: a run of ``count`` consecutive prices <= 0.
        - ``extreme_return``: ``|p_t / p_prev - 1| > extreme`` on ``first_date``
          (``p_prev`` is the previous non-missing price). The detail describes
          the move and does not guess its cause ("a +25.2% one-day move on
          2025-06-30 ...; check for a corporate action or news"); for an
          ``unadjusted`` ticker it adds where a corporate action's factor goes.
        - ``fx_snapshot_close``: one row per FX ticker covering its data (a Yahoo
          snapshot series valued as if it were taken at the calendar close).

    Raises
    ------
    PriceDataError
        If ``panel`` does not have a ``DatetimeIndex`` or has non-numeric columns.
    InputError
        If ``extreme`` <= 0 or ``stale_run`` < 2.

    Examples
    --------
    >>> dates = pd.bdate_range("2024-01-01", periods=4, name="date")
    >>> panel = pd.DataFrame({"A": [10.0, 10.0, 14.0, 14.5]}, index=dates)
    >>> check_prices(panel)[["ticker", "check", "first_date", "count"]]
      ticker           check first_date  count
    0      A  extreme_return 2024-01-03      1
    """
    if not isinstance(panel, pd.DataFrame):
        raise PriceDataError(f"the price panel must be a pandas DataFrame, got "
                             f"{type(panel).__name__}")
    if not isinstance(panel.index, pd.DatetimeIndex):
        raise PriceDataError("the price panel must have a DatetimeIndex named date")
    if not extreme > 0:
        raise InputError(f"extreme must be > 0, not {extreme}")
    if stale_run < 2:
        raise InputError(f"stale_run must be >= 2, not {stale_run}")
    names = [str(c) for c in panel.columns]
    matrix = _float_matrix(panel)
    dates = pd.DatetimeIndex(panel.index)
    if not dates.is_monotonic_increasing:
        order = np.argsort(dates.to_numpy(), kind="stable")
        dates, matrix = dates[order], matrix[order]
    values = np.ascontiguousarray(matrix.T)  # (tickers, dates)
    parts = _Parts()
    # one pass over every ticker's observed prices, laid end to end (ticker-major)
    present = ~np.isnan(values)
    counts = present.sum(axis=1, dtype=np.int64)
    every = bool(counts.sum() == values.size)
    at = _Positions(None if every else np.flatnonzero(present), values.shape[1],
                    counts)
    flat = values.reshape(-1) if every else values[present]
    infinite = np.isinf(flat)
    if infinite.any():
        _non_finite(parts, names, dates, flat, at, infinite)
        keep = ~infinite
        flat = flat[keep]
        counts = counts - np.bincount(at.tick(np.flatnonzero(infinite)),
                                      minlength=len(names))
        at = _Positions(at.flat_index(np.flatnonzero(keep)), values.shape[1], counts)
    first = at.first
    if sessions is not None:
        _missing_sessions(parts, names, dates, sessions, values, counts, first, at)
    _stale_runs(parts, names, dates, flat, at, stale_run)
    _non_positive(parts, names, dates, flat, at)
    _extreme_returns(parts, names, dates, flat, at, extreme, set(unadjusted))
    _fx_snapshots(parts, names, dates, counts, first, at, set(fx_tickers))
    frame = parts.frame()
    frame = frame.sort_values(["ticker", "check", "first_date"], kind="stable")
    return frame.reset_index(drop=True)


def _float_matrix(panel: pd.DataFrame) -> np.ndarray:
    """The panel as a ``(dates, tickers)`` float64 matrix (one conversion; a column
    that cannot be converted is named)."""
    if all(d == np.float64 for d in panel.dtypes):
        return panel.to_numpy(dtype=np.float64)
    columns: list[np.ndarray] = []
    for j, column in enumerate(panel.columns):  # only for non-float columns
        try:
            columns.append(panel.iloc[:, j].astype("float64").to_numpy())
        except (TypeError, ValueError) as exc:
            raise PriceDataError(f"column {str(column)!r} is not numeric") from exc
    if not columns:
        return np.zeros((len(panel), 0))
    return np.column_stack(columns)


class _Parts:
    """Findings gathered as arrays per check (ticker positions, dates, counts)
    plus their detail texts; :meth:`frame` makes the findings table."""

    def __init__(self) -> None:
        self.tickers: list[np.ndarray] = []
        self.checks: list[str] = []
        self.sizes: list[int] = []
        self.first: list[np.ndarray] = []
        self.last: list[np.ndarray] = []
        self.count: list[np.ndarray] = []
        self.detail: list[str] = []
        self.names: list[str] = []

    def add(self, names: list[str], check: str, tick: np.ndarray, first: np.ndarray,
            last: np.ndarray, count: np.ndarray, detail: list[str]) -> None:
        self.names = names
        self.tickers.append(np.asarray(tick, dtype=np.int64))
        self.checks.append(check)
        self.sizes.append(len(detail))
        self.first.append(np.asarray(first).astype("datetime64[ns]"))
        self.last.append(np.asarray(last).astype("datetime64[ns]"))
        self.count.append(np.asarray(count, dtype=np.int64))
        self.detail += detail

    def frame(self) -> pd.DataFrame:
        if not self.detail:
            return pd.DataFrame({
                "ticker": pd.Series([], dtype=object),
                "check": pd.Series([], dtype=object),
                "first_date": pd.Series([], dtype="datetime64[ns]"),
                "last_date": pd.Series([], dtype="datetime64[ns]"),
                "count": pd.Series([], dtype=np.int64),
                "detail": pd.Series([], dtype=object)})
        names = np.asarray(self.names, dtype=object)
        return pd.DataFrame({
            "ticker": names[np.concatenate(self.tickers)],
            "check": np.repeat(np.asarray(self.checks, dtype=object), self.sizes),
            "first_date": np.concatenate(self.first),
            "last_date": np.concatenate(self.last),
            "count": np.concatenate(self.count),
            "detail": np.asarray(self.detail, dtype=object),
        })


class _Positions:
    """Where the observed prices laid end to end (ticker-major) sit in the
    ``(tickers, dates)`` matrix, without a ticker and a date array as long as
    the prices: ``flat`` holds their flat matrix indices (None: every cell, in
    order), ``counts`` the observations per ticker."""

    def __init__(self, flat: np.ndarray | None, width: int, counts: np.ndarray
                 ) -> None:
        self.flat = flat
        self.width = width
        self.first = np.cumsum(counts) - counts  # each ticker's first observation
        size = int(counts.sum())
        # new[i]: observation i is its ticker's first (i >= 1 compares to i - 1)
        self.new = np.zeros(size, dtype=bool)
        self.new[self.first[(counts > 0) & (self.first < size)]] = True

    def flat_index(self, i: np.ndarray) -> np.ndarray:
        """Flat matrix indices of observations ``i``."""
        return np.asarray(i, dtype=np.int64) if self.flat is None else self.flat[i]

    def tick(self, i: np.ndarray) -> np.ndarray:
        """Ticker (row) of observations ``i``."""
        out: np.ndarray = self.flat_index(i) // self.width
        return out

    def pos(self, i: np.ndarray) -> np.ndarray:
        """Date (column) of observations ``i``."""
        out: np.ndarray = self.flat_index(i) % self.width
        return out


def _runs(mask: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last positions of each run of True in ``mask`` that stays within
    one ticker (``new``: True where a position starts a ticker), from the True
    positions alone."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    joined = np.zeros(len(idx), dtype=bool)  # continues the run before it
    joined[1:] = (idx[1:] == idx[:-1] + 1) & ~new[idx[1:]]
    last = np.ones(len(idx), dtype=bool)
    last[:-1] = ~joined[1:]
    return idx[~joined], idx[last]


def _days(stamps: np.ndarray) -> list[str]:
    """``YYYY-MM-DD`` of each date."""
    return [str(d) for d in np.asarray(stamps).astype("datetime64[D]")]


def _missing_sessions(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                      sessions: Mapping[str, pd.DatetimeIndex], values: np.ndarray,
                      counts: np.ndarray, first: np.ndarray, at: _Positions) -> None:
    """Runs of calendar sessions with no price between each ticker's first and
    last price: one pass per calendar over the sessions x tickers matrix."""
    groups: dict[int, tuple[pd.DatetimeIndex, list[int]]] = {}
    for j, name in enumerate(names):  # group the tickers by their calendar
        if name in sessions and counts[j]:
            cal = sessions[name]
            groups.setdefault(id(cal), (cal, []))[1].append(j)
    if not groups:
        return
    days = dates.normalize()
    day_ns = days.to_numpy().astype("datetime64[ns]")
    last = first + counts - 1
    for calendar, members in groups.values():
        cal = pd.DatetimeIndex(calendar)
        if cal.tz is not None:
            cal = cal.tz_localize(None)
        cal_ns = cal.normalize().unique().sort_values().to_numpy().astype(
            "datetime64[ns]")
        cols = np.asarray(members, dtype=np.int64)
        loc = np.searchsorted(cal_ns, day_ns)
        hit = loc < len(cal_ns)
        hit[hit] = cal_ns[loc[hit]] == day_ns[hit]
        have = np.zeros((len(cols), len(cal_ns)), dtype=bool)
        rows, where = np.flatnonzero(hit), loc[hit]
        seen = np.isfinite(values[np.ix_(cols, rows)])
        if len(where) and np.all(np.diff(where) > 0):
            have[:, where] = seen
        elif len(where):  # several dates of the panel on one session
            starts = np.flatnonzero(np.r_[True, where[1:] != where[:-1]])
            have[:, where[starts]] = np.logical_or.reduceat(seen, starts, axis=1)
        lo = np.searchsorted(cal_ns, day_ns[at.pos(first[cols])], side="left")
        hi = np.searchsorted(cal_ns, day_ns[at.pos(last[cols])], side="right")
        s = np.arange(len(cal_ns))
        gap = ~have & (s[None, :] >= lo[:, None]) & (s[None, :] < hi[:, None])
        padded = np.zeros((len(cols), len(cal_ns) + 2), dtype=np.int8)
        padded[:, 1:-1] = gap
        step = np.diff(padded, axis=1)
        g, a = np.nonzero(step == 1)
        _, b = np.nonzero(step == -1)
        b = b - 1
        n = b - a + 1
        da, db = _days(cal_ns[a]), _days(cal_ns[b])
        parts.add(names, "missing_sessions", cols[g], cal_ns[a], cal_ns[b], n, [
            f"{k} session(s) of the ticker's calendar have no price "
            f"({x}..{y}): a data gap, or a holiday the calendar does not know"
            for k, x, y in zip(n.tolist(), da, db, strict=True)])


def _stale_runs(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                flat: np.ndarray, at: _Positions, min_run: int) -> None:
    same = np.zeros(len(flat), dtype=bool)
    np.equal(flat[1:], flat[:-1], out=same[1:])
    same[1:] &= ~at.new[1:]
    a, b = _runs(same, at.new)
    start = a - 1  # the run includes the first of the repeated prices
    n = b - start + 1
    keep = n >= min_run
    start, b, n = start[keep], b[keep], n[keep]
    d = dates.to_numpy()
    parts.add(names, "stale_run", at.tick(start), d[at.pos(start)], d[at.pos(b)], n, [
        f"price {v:g} repeated {k} times in a row: a stale or filled price, or a "
        "suspended security" for v, k in zip(flat[start].tolist(), n.tolist(),
                                             strict=True)])


def _non_finite(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                flat: np.ndarray, at: _Positions, infinite: np.ndarray) -> None:
    a, b = _runs(infinite, at.new)
    n = b - a + 1
    d = dates.to_numpy()
    pos_inf = np.cumsum(flat == np.inf)
    neg_inf = np.cumsum(flat == -np.inf)

    def count(c: np.ndarray) -> np.ndarray:
        out: np.ndarray = c[b] - np.where(a > 0, c[np.maximum(a - 1, 0)], 0)
        return out

    has_pos, has_neg = count(pos_inf) > 0, count(neg_inf) > 0
    signs = [" and ".join(s for s, on in (("-inf", q), ("inf", p)) if on)
             for p, q in zip(has_pos.tolist(), has_neg.tolist(), strict=True)]
    da, db = _days(d[at.pos(a)]), _days(d[at.pos(b)])
    parts.add(names, "non_finite", at.tick(a), d[at.pos(a)], d[at.pos(b)], n, [
        f"{k} price(s) are {s} ({x}..{y}): treated as missing; fix the source or "
        "leave the cells empty"
        for k, s, x, y in zip(n.tolist(), signs, da, db, strict=True)])


def _non_positive(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                  flat: np.ndarray, at: _Positions) -> None:
    a, b = _runs(flat <= 0, at.new)
    n = b - a + 1
    bounds = np.empty(2 * len(a), dtype=np.int64)
    bounds[0::2], bounds[1::2] = a, b + 1
    low = (np.minimum.reduceat(np.append(flat, 0.0), bounds)[0::2] if len(a)
           else np.zeros(0))
    d = dates.to_numpy()
    parts.add(names, "non_positive", at.tick(a), d[at.pos(a)], d[at.pos(b)], n, [
        f"{k} price(s) <= 0 (lowest {v:g}): prices must be positive; a 0 usually "
        "stands for a missing price and must be NaN"
        for k, v in zip(n.tolist(), low.tolist(), strict=True)])


def _extreme_returns(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                     flat: np.ndarray, at: _Positions, extreme: float,
                     unadjusted: set[str]) -> None:
    prev, curr = flat[:-1], flat[1:]
    # |curr / prev - 1| > extreme where prev > 0 and both are the same ticker's,
    # in one buffer (the moves of the flagged pairs are recomputed below)
    move = np.empty(len(curr))
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(curr, prev, out=move)
        move -= 1.0
    np.abs(move, out=move)
    big = move > extreme
    big &= prev > 0
    big &= ~at.new[1:]
    i = np.flatnonzero(big)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        returns = curr[i] / prev[i] - 1.0
    d = dates.to_numpy()
    day, before = d[at.pos(i + 1)], d[at.pos(i)]
    note = ("; the prices are not adjusted for corporate actions: if it is one, "
            "give its factor in the study's [data] corporate_actions file")
    who = at.tick(i + 1)
    parts.add(names, "extreme_return", who, day, day, np.ones(len(i)), [
        f"a {r:+.1%} one-day move on {x} (from {p:g} on {y} to {c:g}); check for a "
        f"corporate action or news{note if names[t] in unadjusted else ''}"
        for r, x, p, y, c, t in zip(returns.tolist(), _days(day), prev[i].tolist(),
                                    _days(before), curr[i].tolist(), who.tolist(),
                                    strict=True)])


FX_DETAIL = (
    "Yahoo's daily FX 'close' is a snapshot taken at the start of the day (it "
    "equals the day's open), so the value labelled day D is the rate at the "
    "start of D (about 00:00 London), before D's news. Valued at the calendar "
    "close, the day-0 return ends before the event and the event-day move "
    "shows up on day +1: leave the universe's asof empty (Yahoo's =X default, "
    "'00:00 Europe/London') or set asof = '00:00 Europe/London' for this "
    "ticker.")
"""Detail of a ``fx_snapshot_close`` finding."""


def _fx_snapshots(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                  counts: np.ndarray, first: np.ndarray, at: _Positions,
                  fx: set[str]) -> None:
    cols = np.asarray([j for j, name in enumerate(names) if name in fx and counts[j]],
                      dtype=np.int64)
    d = dates.to_numpy()
    n = counts[cols]
    parts.add(names, "fx_snapshot_close", cols, d[at.pos(first[cols])],
              d[at.pos(first[cols] + n - 1)], n, [FX_DETAIL] * len(cols))


def check_study_prices(
    panel: pd.DataFrame,
    universe: pd.DataFrame | None,
    extreme: float = 0.25,
    stale_run: int = 5,
) -> pd.DataFrame:
    """Run :func:`check_prices` with what a study's universe knows.

    Sessions come from each ticker's calendar (benchmarks take their securities'
    calendar); Yahoo's ``=X`` tickers whose as-of time is the calendar close
    (``asof = close`` in the universe) are flagged as FX snapshots, not those whose
    as-of time handles the snapshot (the default), nor other series; tickers whose
    currency is KRW or whose name ends in ``.KS``/``.KQ`` are treated as unadjusted
    (raw KRX prices, see ``SOURCES.md``).

    Parameters
    ----------
    panel
        Canonical wide price frame.
    universe
        Validated universe, or None (then only the calendar-free checks run).
    extreme, stale_run
        As in :func:`check_prices`.

    Returns
    -------
    pandas.DataFrame
        Findings, columns :data:`FINDING_COLUMNS`.
    """

    sessions: dict[str, pd.DatetimeIndex] = {}
    fx: list[str] = []
    unadjusted = [t for t in panel.columns if str(t).endswith((".KS", ".KQ"))]
    if universe is not None and len(panel):
        cal_of: dict[str, str] = {}
        snapshot: set[str] = set()
        for _, row in universe.iterrows():
            cal_of.setdefault(str(row["ticker"]), str(row["calendar"]))
            tkr_ = str(row["ticker"])
            if (tkr_.endswith("=X") and resolve_asof(
                    tkr_, str(row["calendar"]), str(row.get("asof", "") or ""))
                    == ASOF_CLOSE):
                snapshot.add(tkr_)
            if row.get("benchmark", ""):
                cal_of.setdefault(str(row["benchmark"]), str(row["calendar"]))
            if str(row.get("currency", "")) == "KRW":
                unadjusted.append(str(row["ticker"]))
        start, end = panel.index.min(), panel.index.max()
        by_cal: dict[str, pd.DatetimeIndex] = {}
        for tkr, cal in cal_of.items():
            if tkr not in panel.columns:
                continue
            if tkr in snapshot:
                fx.append(tkr)
            if cal not in by_cal:
                by_cal[cal] = get_sessions(cal, start, end).dates
            sessions[tkr] = by_cal[cal]
    return check_prices(panel, sessions=sessions, fx_tickers=fx,
                        unadjusted=sorted(set(unadjusted)), extreme=extreme,
                        stale_run=stale_run)
