"""Returns on each calendar's own sessions.

Prices are placed on the sessions of the security's calendar: a session with no price
is NaN (never skipped, never forward-filled), and the return of session t is computed
from sessions t-1 and t only. A price dated on a day that is not a session of the
calendar is not used and is reported. A non-finite price or return (``inf``,
``-inf``) is treated as missing (:func:`eventstudy.inputs.quality.check_prices`
reports it).

* simple: R_t = P_t / P_{t-1} - 1
* log: r_t = ln(P_t / P_{t-1})

The split of the trading day (:func:`day_part_returns`, the study option
``[model] day_part``), with C the close and O the open of a session:

* ``close_to_close`` (the default): R_t = C_t / C_{t-1} - 1;
* ``overnight`` (close-to-open): R_t = O_t / C_{t-1} - 1;
* ``intraday`` (open-to-close): R_t = C_t / O_t - 1;

and ``ln`` of the same ratios for log returns. t-1 is the previous session of the
series' own calendar, as for close-to-close: a session without a price gives no
return on it nor on the next session. Overnight plus intraday compound to
close-to-close: (1 + R^on_t)(1 + R^id_t) = 1 + R^cc_t.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from eventstudy.options import DayPart

NO_OPENS = "no open prices for the {part} return"
"""Exclusion reason of a pair whose series (or benchmark) has no opens while the
study measures the overnight or intraday part of the day."""


def on_sessions(
    frame: pd.DataFrame, sessions: pd.DatetimeIndex
) -> tuple[np.ndarray, dict[str, int]]:
    """Place a wide frame on a session grid.

    Parameters
    ----------
    frame
        Canonical wide frame (prices or returns).
    sessions
        Session dates of one calendar.

    Returns
    -------
    values : numpy.ndarray
        ``(len(sessions), n_columns)`` float64, NaN where a session has no value
        or a non-finite one (``inf``, ``-inf``: masked as missing).
    off_session : dict
        Ticker -> number of non-missing values dated on days that are not sessions.
    """
    values = _on_rows(frame, sessions)
    values[np.isinf(values)] = np.nan
    off = ~frame.index.isin(sessions)
    off_session: dict[str, int] = {}
    if off.any():
        counts = frame.loc[off].notna().sum()
        off_session = {str(k): int(v) for k, v in counts.items() if v > 0}
    return values, off_session


def _on_rows(frame: pd.DataFrame, sessions: pd.DatetimeIndex) -> np.ndarray:
    """``frame.reindex(sessions)`` as a new float64 array (NaN where a session has
    no row): for a float64 frame with unique dates, one gather of its values
    (column-major, as pandas keeps them) instead of a reindexed frame and a copy
    of it; otherwise through pandas."""
    if (len(frame) and len(frame.columns) and frame.index.is_unique
            and all(d == np.float64 for d in frame.dtypes)):
        src = frame.to_numpy(dtype=np.float64)  # (dates, tickers); no copy
        at = frame.index.get_indexer(sessions)
        miss = at < 0
        # (tickers, dates) rows gathered, then viewed back: column-major
        out: np.ndarray = src.T.take(np.where(miss, 0, at), axis=1).T
        if miss.any():
            out[miss] = np.nan
        return out
    return frame.reindex(sessions).to_numpy(dtype=np.float64, copy=True)


def to_returns(prices: np.ndarray, kind: Literal["simple", "log"] = "simple"
               ) -> np.ndarray:
    """Session-to-session returns of a ``(T, N)`` price array; row 0 is NaN.

    Examples
    --------
    >>> to_returns(np.array([[100.0], [110.0], [np.nan], [121.0]]))[:, 0].round(3)
    array([nan, 0.1, nan, nan])
    """
    # in the prices' memory order (a frame's values come column-major): the
    # element-wise passes run contiguously, and the returns keep that layout
    out = np.full_like(prices, np.nan, dtype=np.float64)
    # missing, non-positive and non-finite prices give no return (NaN fails both)
    ok = (prices > 0) & (prices < np.inf)
    both = ok[1:] & ok[:-1]
    # computed in the ratio's own dtype (float32 prices: float32 arithmetic), in
    # place in ``out`` when that is float64; NaN where ``both`` is False
    dtype = np.result_type(prices.dtype, np.float16)
    r = out[1:] if dtype == np.float64 else np.full(both.shape, np.nan, dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(prices[1:], prices[:-1], out=r, where=both)
        if kind == "log":
            r[both] = np.log(r[both])
        else:
            np.subtract(r, 1.0, out=r, where=both)
    if dtype != np.float64:
        out[1:] = r
    return out


def day_part_returns(closes: np.ndarray, opens: np.ndarray | None,
                     kind: Literal["simple", "log"] = "simple",
                     part: DayPart = "close_to_close") -> np.ndarray:
    """Returns of one part of the trading day from ``(T, N)`` closes and opens.

    Parameters
    ----------
    closes
        Closes on a calendar's sessions (:func:`on_sessions`).
    opens
        Opens on the same sessions and columns, or None (no opens: the overnight
        and intraday returns are then all NaN; the study excludes the pairs with
        :data:`NO_OPENS` before that matters).
    kind
        ``"simple"`` or ``"log"``.
    part
        ``"close_to_close"`` (:func:`to_returns` of the closes), ``"overnight"``
        (O_t / C_{t-1}) or ``"intraday"`` (C_t / O_t).

    Returns
    -------
    numpy.ndarray
        ``(T, N)`` returns; NaN where a price it needs is missing, non-positive or
        non-finite; row 0 is NaN for close-to-close and overnight.

    Examples
    --------
    >>> c = np.array([[100.0], [110.0], [121.0]])
    >>> o = np.array([[99.0], [105.0], [np.nan]])
    >>> day_part_returns(c, o, part="overnight")[:, 0].round(4)
    array([ nan, 0.05,  nan])
    >>> day_part_returns(c, o, part="intraday")[:, 0].round(4)
    array([0.0101, 0.0476,    nan])
    """
    if part == "close_to_close":
        return to_returns(closes, kind)
    out = np.full(closes.shape, np.nan)
    if opens is None:
        return out

    def usable(a: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.asarray((a > 0) & np.isfinite(a), dtype=bool)

    with np.errstate(divide="ignore", invalid="ignore"):
        if part == "overnight":
            num, den = opens[1:], closes[:-1]
            ratio = np.where(usable(num) & usable(den), num / den, np.nan)
            out[1:] = np.log(ratio) if kind == "log" else ratio - 1.0
        else:
            ratio = np.where(usable(closes) & usable(opens), closes / opens, np.nan)
            out[:] = np.log(ratio) if kind == "log" else ratio - 1.0
    return out
