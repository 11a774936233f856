"""Returns on each calendar's own sessions.

Prices are placed on the sessions of the security's calendar: a session with no price
is NaN (never skipped, never forward-filled), and the return of session t is computed
from sessions t-1 and t only. A price dated on a day that is not a session of the
calendar is not used and is reported. A non-finite price or return (``inf``,
``-inf``) is treated as missing (:func:`eventstudy.inputs.quality.check_prices`
reports it).

* simple: R_t = P_t / P_{t-1} - 1
* log: r_t = ln(P_t / P_{t-1})
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd


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
    values = frame.reindex(sessions).to_numpy(dtype=np.float64, copy=True)
    values[np.isinf(values)] = np.nan
    off = ~frame.index.isin(sessions)
    off_session: dict[str, int] = {}
    if off.any():
        counts = frame.loc[off].notna().sum()
        off_session = {str(k): int(v) for k, v in counts.items() if v > 0}
    return values, off_session


def to_returns(prices: np.ndarray, kind: Literal["simple", "log"] = "simple"
               ) -> np.ndarray:
    """Session-to-session returns of a ``(T, N)`` price array; row 0 is NaN.

    Examples
    --------
    >>> to_returns(np.array([[100.0], [110.0], [np.nan], [121.0]]))[:, 0].round(3)
    array([nan, 0.1, nan, nan])
    """
    out = np.full(prices.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = prices[1:] / prices[:-1]
        # missing, non-positive and non-finite prices give no return
        ok = (prices > 0) & np.isfinite(prices)
        bad = ~ok[1:] | ~ok[:-1]
        ratio = np.where(bad, np.nan, ratio)
        out[1:] = np.log(ratio) if kind == "log" else ratio - 1.0
    return out
