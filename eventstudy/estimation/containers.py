"""The containers that the estimation stages pass along (leading axis: pairs).

:class:`ChunkOut` holds the preallocated per-candidate outputs of stages 2-4,
filled chunk by chunk (locally or by Dask workers); :class:`Stacked`,
:class:`Estimates` and :class:`AbnormalReturns` what the tests and the results read.
They hold arrays only: no behaviour beyond filling and compacting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from eventstudy.estimation.models.base import VOL_COLUMNS
from eventstudy.inputs.calendar import WindowDates


@dataclass(frozen=True)
class Stacked:
    """Kept pairs' labels and event-window arrays (leading axis P).

    Attributes
    ----------
    pairs
        One row per kept pair (events columns plus ``group, calendar, benchmark,
        model, zero_share, day0_pos, day0_rule, day0, n_est, n_masked,
        confounded_by``).
    ret_evt
        ``(P, W)`` event-window returns (before any risk-free subtraction).
    est_dates
        ``(P, Le)`` session dates of the estimation windows (ns; -1 = outside the
        calendar), as a :class:`~eventstudy.inputs.calendar.WindowDates` (not
        materialised).
    evt_dates
        ``(P, W)`` session dates of the event windows (ns; -1 = outside the calendar).
    excluded
        ``event_id, ticker, reason`` of every excluded pair.
    """

    pairs: pd.DataFrame
    ret_evt: np.ndarray
    est_dates: WindowDates | np.ndarray
    evt_dates: np.ndarray
    excluded: pd.DataFrame
    warnings: list[str]


@dataclass(frozen=True)
class Estimates:
    """Per-pair estimates of the kept pairs (leading axis P).

    ``normal`` and ``lev`` are ``(P, W)`` over the event window; ``lev`` is
    x'(X'X)^-1 x, the prediction-error leverage of each event day; ``resid`` the
    ``(P, Le)`` estimation residuals (NaN where not used).
    """

    alpha: np.ndarray
    beta: np.ndarray
    sigma2: np.ndarray
    nobs: np.ndarray
    dof: np.ndarray
    k: np.ndarray
    r2: np.ndarray
    normal: np.ndarray
    lev: np.ndarray
    resid: np.ndarray
    vol: np.ndarray | None = None
    """``(P, len(VOL_COLUMNS))`` conditional-variance diagnostics, or None."""


@dataclass(frozen=True)
class AbnormalReturns:
    """Event-window ARs and CARs of the kept pairs.

    Attributes
    ----------
    ar, sar, day_var
        ``(P, W)`` abnormal returns, standardised ARs and Var(AR) estimates.
    car, car_var, car_days
        ``(P, C)`` per CAR window: CAR (or BHAR), its variance, and the number of
        event days with data in the window.

    Notes
    -----
    Var(AR_t) = sigma^2 (1 + x_t'(X'X)^-1 x_t) and
    Var(CAR) = sigma^2 (d + gamma'X*(X'X)^-1X*'gamma) with the forecast-error
    correction (CLM 1997 sec. 4.4); sigma^2 and sigma^2 d without it.
    """

    ar: np.ndarray
    sar: np.ndarray
    day_var: np.ndarray
    car: np.ndarray
    car_var: np.ndarray
    car_days: np.ndarray


@dataclass
class ChunkOut:
    """Preallocated per-candidate outputs of stages 2-4, filled chunk by chunk."""

    alpha: np.ndarray
    beta: np.ndarray
    sigma2: np.ndarray
    nobs: np.ndarray
    dof: np.ndarray
    k: np.ndarray
    r2: np.ndarray
    nest: np.ndarray
    zero_share: np.ndarray
    n_masked: np.ndarray
    """Estimation returns removed by masking (0 without masking)."""
    resid: np.ndarray
    normal: np.ndarray
    lev: np.ndarray
    ret_evt: np.ndarray
    evt_dates: np.ndarray
    ar: np.ndarray
    sar: np.ndarray
    day_var: np.ndarray
    car: np.ndarray
    car_var: np.ndarray
    car_days: np.ndarray
    vol: np.ndarray
    """``(n, len(VOL_COLUMNS))`` conditional-variance diagnostics (NaN for the
    models without them)."""

    @classmethod
    def empty(cls, n: int, le: int, w: int, c: int, dates: bool = True) -> ChunkOut:
        """Uninitialised outputs of ``n`` candidates (``dates=False``: the
        session-date arrays get 0 rows)."""
        f = np.float64
        nd = n if dates else 0

        def a(*shape: int, dtype: type = f) -> np.ndarray:
            return np.empty(shape, dtype=dtype)

        return cls(alpha=a(n), beta=a(n), sigma2=a(n), nobs=a(n), dof=a(n),
                   k=a(n, dtype=np.int64), r2=a(n), nest=a(n, dtype=np.int64),
                   zero_share=a(n), n_masked=a(n, dtype=np.int64), resid=a(n, le),
                   normal=a(n, w), lev=a(n, w),
                   ret_evt=a(n, w), evt_dates=a(nd, w, dtype=np.int64), ar=a(n, w),
                   sar=a(n, w),
                   day_var=a(n, w), car=a(n, c), car_var=a(n, c),
                   car_days=a(n, c, dtype=np.int64),
                   vol=np.full((n, len(VOL_COLUMNS)), np.nan))

    def put(self, lo: int, part: ChunkOut) -> None:
        """Write the rows of ``part`` (a chunk's outputs) at rows ``lo:``; arrays
        with no rows in ``part`` (dates left to the client) are skipped."""
        hi = lo + len(part.nest)
        for name in self.__dataclass_fields__:
            src = getattr(part, name)
            if len(src) == hi - lo:
                getattr(self, name)[lo:hi] = src

    def compact(self, keep: np.ndarray) -> None:
        """Keep the rows in ``keep`` (bool), in place and in order."""
        idx = np.flatnonzero(keep)
        if len(idx) == len(keep):
            return
        for name in self.__dataclass_fields__:
            setattr(self, name, _compact(getattr(self, name), idx))


def _compact(arr: np.ndarray, idx: np.ndarray, block: int = 8192) -> np.ndarray:
    """``arr[idx]`` for increasing ``idx`` without a second full-size array.

    Row j moves to row position j's rank; since idx[j] >= j, a block never overwrites
    rows that a later block still has to read.
    """
    for s in range(0, len(idx), block):
        part = idx[s:s + block]
        arr[s:s + len(part)] = arr[part]
    return arr[:len(idx)]
