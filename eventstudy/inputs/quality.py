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

_Finding = tuple[str, str, pd.Timestamp, pd.Timestamp, int, str]


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
    fx, raw = set(fx_tickers), set(unadjusted)
    findings: list[_Finding] = []
    for column in panel.columns:
        ticker = str(column)
        try:
            series = panel[column].astype("float64")
        except (TypeError, ValueError) as exc:
            raise PriceDataError(f"column {ticker!r} is not numeric") from exc
        observed = series.dropna().sort_index()
        infinite = np.isinf(observed.to_numpy())
        if infinite.any():
            findings += _non_finite(ticker, observed, infinite)
            observed = observed[~infinite]
        if observed.empty:
            continue
        if sessions is not None and ticker in sessions:
            findings += _missing_sessions(ticker, observed, sessions[ticker])
        findings += _stale_runs(ticker, observed, stale_run)
        findings += _non_positive(ticker, observed)
        findings += _extreme_returns(ticker, observed, extreme, ticker in raw)
        if ticker in fx:
            findings.append(_fx_snapshot(ticker, observed))
    frame = pd.DataFrame(findings, columns=list(FINDING_COLUMNS))
    frame["first_date"] = pd.to_datetime(frame["first_date"]).astype("datetime64[ns]")
    frame["last_date"] = pd.to_datetime(frame["last_date"]).astype("datetime64[ns]")
    frame["count"] = frame["count"].astype("int64")
    frame = frame.sort_values(["ticker", "check", "first_date"], kind="stable")
    return frame.reset_index(drop=True)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Return ``(first, last)`` positions of each run of True in ``mask``."""
    padded = np.concatenate(([False], mask.astype(bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _day(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%d")


def _missing_sessions(
    ticker: str, observed: pd.Series, calendar: pd.DatetimeIndex
) -> list[_Finding]:
    days = pd.DatetimeIndex(observed.index).normalize()
    cal = pd.DatetimeIndex(calendar)
    if cal.tz is not None:
        cal = cal.tz_localize(None)
    cal = cal.normalize().unique().sort_values()
    cal = cal[(cal >= days[0]) & (cal <= days[-1])]
    out: list[_Finding] = []
    for a, b in _runs(~cal.isin(days)):
        n = b - a + 1
        out.append(
            (
                ticker,
                "missing_sessions",
                cal[a],
                cal[b],
                n,
                f"{n} session(s) of the ticker's calendar have no price "
                f"({_day(cal[a])}..{_day(cal[b])}): a data gap, or a holiday the "
                "calendar does not know",
            )
        )
    return out


def _stale_runs(ticker: str, observed: pd.Series, min_run: int) -> list[_Finding]:
    values = observed.to_numpy()
    same = np.concatenate(([False], values[1:] == values[:-1]))
    out: list[_Finding] = []
    for a, b in _runs(same):
        start = a - 1  # the run includes the first of the repeated prices
        n = b - start + 1
        if n >= min_run:
            out.append(
                (
                    ticker,
                    "stale_run",
                    observed.index[start],
                    observed.index[b],
                    n,
                    f"price {values[start]:g} repeated {n} times in a row: a stale "
                    "or filled price, or a suspended security",
                )
            )
    return out


def _non_finite(ticker: str, observed: pd.Series, infinite: np.ndarray
                ) -> list[_Finding]:
    values = observed.to_numpy()
    out: list[_Finding] = []
    for a, b in _runs(infinite):
        n = b - a + 1
        signs = sorted({"inf" if v > 0 else "-inf" for v in values[a : b + 1]})
        out.append(
            (
                ticker,
                "non_finite",
                observed.index[a],
                observed.index[b],
                n,
                f"{n} price(s) are {' and '.join(signs)} "
                f"({_day(observed.index[a])}..{_day(observed.index[b])}): treated "
                "as missing; fix the source or leave the cells empty",
            )
        )
    return out


def _non_positive(ticker: str, observed: pd.Series) -> list[_Finding]:
    values = observed.to_numpy()
    out: list[_Finding] = []
    for a, b in _runs(values <= 0):
        n = b - a + 1
        out.append(
            (
                ticker,
                "non_positive",
                observed.index[a],
                observed.index[b],
                n,
                f"{n} price(s) <= 0 (lowest {values[a : b + 1].min():g}): prices must "
                "be positive; a 0 usually stands for a missing price and must be NaN",
            )
        )
    return out


def _extreme_returns(
    ticker: str, observed: pd.Series, extreme: float, unadjusted: bool
) -> list[_Finding]:
    values = observed.to_numpy()
    out: list[_Finding] = []
    if len(values) < 2:
        return out
    prev, curr = values[:-1], values[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where(prev > 0, curr / prev - 1.0, np.nan)
    for i in map(int, np.flatnonzero(np.abs(returns) > extreme)):
        day, before = observed.index[i + 1], observed.index[i]
        note = (
            "; the prices are not adjusted for corporate actions: if it is one, "
            "give its factor in the study's [data] corporate_actions file"
            if unadjusted
            else ""
        )
        out.append(
            (
                ticker,
                "extreme_return",
                day,
                day,
                1,
                f"a {returns[i]:+.1%} one-day move on {_day(day)} (from {prev[i]:g} "
                f"on {_day(before)} to {curr[i]:g}); check for a corporate action "
                f"or news{note}",
            )
        )
    return out


def _fx_snapshot(ticker: str, observed: pd.Series) -> _Finding:
    return (
        ticker,
        "fx_snapshot_close",
        observed.index[0],
        observed.index[-1],
        len(observed),
        "Yahoo's daily FX 'close' is a snapshot taken at the start of the day (it "
        "equals the day's open), so the value labelled day D is the rate at the "
        "start of D (about 00:00 London), before D's news. Valued at the calendar "
        "close, the day-0 return ends before the event and the event-day move "
        "shows up on day +1: leave the universe's asof empty (Yahoo's =X default, "
        "'00:00 Europe/London') or set asof = '00:00 Europe/London' for this "
        "ticker.",
    )


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
