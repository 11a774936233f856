"""Oracle test for the data-quality speed rewrite of issue #20 (session 6, brief L):
``quality.check_prices`` now locates the observed prices by their flat matrix
indices (no ticker and date arrays as long as the panel), finds runs from the True
positions alone and flags extreme moves in one buffer. It must give the findings of
the vectorised code it replaced, copied below from ``git show
bbd4041:eventstudy/inputs/quality.py`` (renamed with a leading ``_old_``; the
unchanged helpers ``_Parts``, ``_days``, ``_float_matrix`` and ``FX_DETAIL`` are the
module's). Private to this file; must not be "fixed".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd
import pytest

from eventstudy.errors import InputError, PriceDataError
from eventstudy.inputs.quality import (
    FX_DETAIL,
    _days,
    _float_matrix,
    _Parts,
    check_prices,
)

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


# ------------------------------------------------------------------ the oracle
def _old_check_prices(
    panel: pd.DataFrame,
    sessions: Mapping[str, pd.DatetimeIndex] | None = None,
    fx_tickers: Collection[str] = (),
    unadjusted: Collection[str] = (),
    extreme: float = 0.25,
    stale_run: int = 5,
) -> pd.DataFrame:
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
    tick, pos = np.nonzero(present)
    flat = values[present]
    infinite = np.isinf(flat)
    if infinite.any():
        _old_non_finite(parts, names, dates, flat, tick, pos, infinite)
        keep = ~infinite
        flat, tick, pos = flat[keep], tick[keep], pos[keep]
    counts = np.bincount(tick, minlength=len(names))
    first = np.searchsorted(tick, np.arange(len(names)))  # first observation
    if sessions is not None:
        _old_missing_sessions(parts, names, dates, sessions, values, counts, first, pos)
    _old_stale_runs(parts, names, dates, flat, tick, pos, stale_run)
    _old_non_positive(parts, names, dates, flat, tick, pos)
    _old_extreme_returns(parts, names, dates, flat, tick, pos, extreme, set(unadjusted))
    _old_fx_snapshots(parts, names, dates, counts, first, pos, set(fx_tickers))
    frame = parts.frame()
    frame = frame.sort_values(["ticker", "check", "first_date"], kind="stable")
    return frame.reset_index(drop=True)



def _old_runs(mask: np.ndarray, tick: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last positions of each run of True in ``mask`` that stays within
    one ticker (``tick``: the ticker of each position, non-decreasing)."""
    n = len(mask)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    m = mask.astype(bool)
    new = np.ones(n, dtype=bool)
    new[1:] = ~m[:-1] | (tick[1:] != tick[:-1])
    end = np.ones(n, dtype=bool)
    end[:-1] = ~m[1:] | (tick[1:] != tick[:-1])
    return np.flatnonzero(m & new), np.flatnonzero(m & end)



def _old_missing_sessions(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                      sessions: Mapping[str, pd.DatetimeIndex], values: np.ndarray,
                      counts: np.ndarray, first: np.ndarray, pos: np.ndarray) -> None:
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
    observed = np.isfinite(values)  # (tickers, dates)
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
        seen = observed[np.ix_(cols, rows)]
        if len(where) and np.all(np.diff(where) > 0):
            have[:, where] = seen
        elif len(where):  # several dates of the panel on one session
            starts = np.flatnonzero(np.r_[True, where[1:] != where[:-1]])
            have[:, where[starts]] = np.logical_or.reduceat(seen, starts, axis=1)
        lo = np.searchsorted(cal_ns, day_ns[pos[first[cols]]], side="left")
        hi = np.searchsorted(cal_ns, day_ns[pos[last[cols]]], side="right")
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


def _old_stale_runs(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                flat: np.ndarray, tick: np.ndarray, pos: np.ndarray,
                min_run: int) -> None:
    same = np.zeros(len(flat), dtype=bool)
    same[1:] = (flat[1:] == flat[:-1]) & (tick[1:] == tick[:-1])
    a, b = _old_runs(same, tick)
    start = a - 1  # the run includes the first of the repeated prices
    n = b - start + 1
    keep = n >= min_run
    start, b, n = start[keep], b[keep], n[keep]
    d = dates.to_numpy()
    parts.add(names, "stale_run", tick[start], d[pos[start]], d[pos[b]], n, [
        f"price {v:g} repeated {k} times in a row: a stale or filled price, or a "
        "suspended security" for v, k in zip(flat[start].tolist(), n.tolist(),
                                             strict=True)])


def _old_non_finite(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                flat: np.ndarray, tick: np.ndarray, pos: np.ndarray,
                infinite: np.ndarray) -> None:
    a, b = _old_runs(infinite, tick)
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
    da, db = _days(d[pos[a]]), _days(d[pos[b]])
    parts.add(names, "non_finite", tick[a], d[pos[a]], d[pos[b]], n, [
        f"{k} price(s) are {s} ({x}..{y}): treated as missing; fix the source or "
        "leave the cells empty"
        for k, s, x, y in zip(n.tolist(), signs, da, db, strict=True)])


def _old_non_positive(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                  flat: np.ndarray, tick: np.ndarray, pos: np.ndarray) -> None:
    a, b = _old_runs(flat <= 0, tick)
    n = b - a + 1
    bounds = np.empty(2 * len(a), dtype=np.int64)
    bounds[0::2], bounds[1::2] = a, b + 1
    low = (np.minimum.reduceat(np.append(flat, 0.0), bounds)[0::2] if len(a)
           else np.zeros(0))
    d = dates.to_numpy()
    parts.add(names, "non_positive", tick[a], d[pos[a]], d[pos[b]], n, [
        f"{k} price(s) <= 0 (lowest {v:g}): prices must be positive; a 0 usually "
        "stands for a missing price and must be NaN"
        for k, v in zip(n.tolist(), low.tolist(), strict=True)])


def _old_extreme_returns(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                     flat: np.ndarray, tick: np.ndarray, pos: np.ndarray,
                     extreme: float, unadjusted: set[str]) -> None:
    prev, curr = flat[:-1], flat[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where(prev > 0, curr / prev - 1.0, np.nan)
    i = np.flatnonzero((np.abs(returns) > extreme) & (tick[1:] == tick[:-1]))
    d = dates.to_numpy()
    day, before = d[pos[i + 1]], d[pos[i]]
    note = ("; the prices are not adjusted for corporate actions: if it is one, "
            "give its factor in the study's [data] corporate_actions file")
    who = tick[i + 1]
    parts.add(names, "extreme_return", who, day, day, np.ones(len(i)), [
        f"a {r:+.1%} one-day move on {x} (from {p:g} on {y} to {c:g}); check for a "
        f"corporate action or news{note if names[t] in unadjusted else ''}"
        for r, x, p, y, c, t in zip(returns[i].tolist(), _days(day), prev[i].tolist(),
                                    _days(before), curr[i].tolist(), who.tolist(),
                                    strict=True)])



def _old_fx_snapshots(parts: _Parts, names: list[str], dates: pd.DatetimeIndex,
                  counts: np.ndarray, first: np.ndarray, pos: np.ndarray,
                  fx: set[str]) -> None:
    cols = np.asarray([j for j, name in enumerate(names) if name in fx and counts[j]],
                      dtype=np.int64)
    d = dates.to_numpy()
    n = counts[cols]
    parts.add(names, "fx_snapshot_close", cols, d[pos[first[cols]]],
              d[pos[first[cols] + n - 1]], n, [FX_DETAIL] * len(cols))




# ------------------------------------------------------------------ the panels
def _panel(seed: int, n_dates: int = 60, n_tickers: int = 12,
           missing: float = 0.1) -> pd.DataFrame:
    """Random walks with gaps, stale runs, zeros, negatives, +-inf, extreme moves,
    empty and one-price tickers, and runs that touch the ticker boundaries."""
    rng = np.random.default_rng(seed)
    prices = 50 * np.exp(np.cumsum(rng.normal(0, 0.08, (n_dates, n_tickers)), axis=0))
    prices[rng.random(prices.shape) < missing] = np.nan
    for _ in range(6):  # stale runs of 2..9 repeats, some at a column's end
        j, i = rng.integers(n_tickers), rng.integers(n_dates)
        prices[i:i + int(rng.integers(2, 10)), j] = prices[max(i - 1, 0), j]
    prices[-6:, 0] = 7.0  # a stale run ending the first ticker
    prices[:6, 1] = 7.0  # and one starting the next with the same price
    for value in (0.0, -3.0, np.inf, -np.inf):
        for _ in range(3):
            j, i = rng.integers(n_tickers), rng.integers(n_dates)
            prices[i:i + int(rng.integers(1, 4)), j] = value
    prices[:, 2] = np.nan  # an empty ticker
    prices[:, 3] = np.nan
    prices[5, 3] = 12.0  # one price
    prices[-1, 4], prices[0, 5] = np.inf, -np.inf  # infinities at the boundaries
    days = pd.bdate_range("2024-01-01", periods=n_dates, name="date")
    return pd.DataFrame(prices, index=days,
                        columns=[f"T{j}" if j % 4 else f"T{j}.KS"
                                 for j in range(n_tickers)])


def _sessions(panel: pd.DataFrame) -> dict[str, pd.DatetimeIndex]:
    days = pd.DatetimeIndex(panel.index)
    every = pd.date_range(days[0], days[-1], freq="D")
    weekdays = days.delete([3, 17])  # the panel's days but two (the calendar's
    fewer = days[::2]  # holidays), every day, every other day
    out: dict[str, pd.DatetimeIndex] = {}
    for j, t in enumerate(panel.columns):
        if j % 5 != 4:
            out[t] = (weekdays, every, fewer)[j % 3]
    return out


def _same(panel: pd.DataFrame, **kw: object) -> pd.DataFrame:
    new = check_prices(panel, **kw)  # type: ignore[arg-type]
    old = _old_check_prices(panel, **kw)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert new.dtypes.tolist() == old.dtypes.tolist()
    return new


@pytest.mark.parametrize("seed", range(12))
def test_check_prices_is_the_old_one(seed: int) -> None:
    panel = _panel(seed, missing=(0.0, 0.1, 0.5)[seed % 3])
    kw: dict[str, object] = {"sessions": _sessions(panel),
                             "fx_tickers": list(panel.columns[::3]),
                             "unadjusted": [t for t in panel.columns if "KS" in t]}
    found = _same(panel, **kw)
    assert set(found["check"]) >= {"stale_run", "non_positive", "extreme_return",
                                   "non_finite"}
    _same(panel)
    _same(panel, extreme=0.05, stale_run=2)
    _same(panel.iloc[::-1], **kw)  # unsorted dates
    _same(panel.astype(object), extreme=1e-9)  # object columns


def test_check_prices_full_panel_and_edges() -> None:
    full = _panel(99, missing=0.0).fillna(1.0)
    assert not full.isna().any().any()
    _same(full)
    _same(full.replace([np.inf, -np.inf], 2.0))  # every cell observed, finite
    for panel in (full.iloc[:0], full.iloc[:, :0], full.iloc[:1], full.iloc[:, :1],
                  full * np.nan, full.replace(1.0, np.inf)):
        _same(panel, sessions={t: pd.DatetimeIndex(full.index) for t in full})


def test_check_prices_stale_run_across_tickers_is_two_runs() -> None:
    days = pd.bdate_range("2024-01-01", periods=4, name="date")
    panel = pd.DataFrame({"A": [1.0, 2.0, 5.0, 5.0], "B": [5.0, 5.0, 5.0, 6.0]},
                         index=days)
    found = _same(panel, stale_run=2)
    stale = found[found["check"] == "stale_run"]
    assert stale[["ticker", "count"]].values.tolist() == [["A", 2], ["B", 3]]
    assert stale["first_date"].tolist() == [days[2], days[0]]
    assert found["check"].tolist() == ["extreme_return", "extreme_return",
                                       "stale_run", "stale_run"]


def test_check_prices_errors_unchanged() -> None:
    panel = _panel(1)
    with pytest.raises(InputError, match="extreme must be > 0, not 0"):
        check_prices(panel, extreme=0)
    with pytest.raises(PriceDataError, match="column 'x' is not numeric"):
        check_prices(panel.assign(x="a"))
    assert FX_DETAIL.startswith("Yahoo's daily FX 'close' is a snapshot")
    assert _days(np.asarray(["2024-01-02"], dtype="datetime64[ns]")) == ["2024-01-02"]
