"""CAAR paths and per-event AR tables of a results object (for plots and reports).

Everything statistical that the plots draw is computed here, in the results layer,
from the kept per-pair, per-day arrays: :func:`caar_path` (the CAAR path over a
window with its standard error) and :func:`ar_table` (one event's abnormal returns
by security and day). The plotting code only draws these DataFrames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from eventstudy.errors import InputError, WindowError
from eventstudy.estimation.models import MODELS
from eventstudy.results.view import ResultsView


def select_pairs(res: ResultsView, event: str | None, group: str | None
                 ) -> np.ndarray:
    """Boolean mask of the pairs of ``event`` and/or ``group`` (None = all).

    Raises
    ------
    InputError
        No kept pair matches.
    """
    p = res.pairs_
    sel = np.ones(len(p), dtype=bool)
    if event is not None:
        sel &= (p["event_id"].astype(str) == str(event)).to_numpy()
    if group is not None:
        sel &= (p["group"].astype(str) == str(group)).to_numpy()
    if not sel.any():
        what = ", ".join(f"{k}={v!r}" for k, v in (("event", event), ("group", group))
                         if v is not None)
        raise InputError(f"no kept pairs for {what or 'the study'}; see "
                         "results.excluded for pairs left out")
    return sel


def caar_path(res: ResultsView, event: str | None = None,
              group: str | None = None,
              window: tuple[int, int] | None = None) -> pd.DataFrame:
    """The CAAR path over a window with its standard error.

    Parameters
    ----------
    res
        Fitted results.
    event, group
        Restrict to one event and/or one group; None pools all pairs.
    window
        ``(start, end)`` in event-window days: the path cumulates from ``start``,
        so its value on ``end`` is the CAAR of the CAR window ``[start, end]`` (as
        in ``car.csv``); None: the whole event window.

    Returns
    -------
    pandas.DataFrame
        One row per day of the window: ``rel_day, caar, se, n`` (decimals; ``n`` is
        the number of pairs with at least one abnormal return from ``start`` up to
        that day).

    Raises
    ------
    InputError
        No kept pair matches ``event``/``group``.
    WindowError
        ``window`` is reversed or not inside the event window.

    Notes
    -----
    For pair i the CAR over ``[t1, t]`` (``t1`` the window's first day) sums its
    abnormal returns on the ``d_it`` days with data, as the engine does for a CAR
    window. Its variance follows Campbell, Lo & MacKinlay (1997, sec. 4.4.3) and
    MacKinlay (1997):

    .. math::

        Var(CAR_i[t_1,t]) = \\sigma_i^2 (d_{it} + \\gamma' X^* (X'X)^{-1}
        X^{*\\prime} \\gamma)

    where the second, estimation-error term is, for a model with an intercept
    estimated on ``L_i`` days, ``d^2/L_i + (sum_s delta_s)' S^-1 (sum_s delta_s)``
    with ``delta_s`` the event-day regressors minus their estimation mean. The
    results keep each day's leverage ``h_s = 1/L_i + delta_s' S^-1 delta_s``
    (recovered exactly as ``AR^2 / (sigma^2 SAR^2) - 1``) but not the regressors,
    so the cross-day part is bounded by the triangle inequality in the ``S^-1``
    norm: ``|sum_s delta_s| <= sum_s sqrt(h_s - 1/L_i)``. The band is therefore
    exact for the constant-mean and market-adjusted models (no slope term) and
    slightly conservative (never narrower than the engine's CAR variance) for
    models with slopes; the difference is of order ``d / L_i``. Without
    ``conventions.forecast_error`` the term is zero, as in the engine. Under
    cross-sectional independence and equal weights

    .. math::

        CAAR_t = \\frac{1}{N_t} \\sum_i CAR_i[t_1, t], \\quad
        Var(CAAR_t) = \\frac{1}{N_t^2} \\sum_i Var(CAR_i[t_1, t]).

    With value weights (``conventions.weights``) the mean and variance become
    sum_i w_i CAR_i / sum_i w_i and sum_i w_i^2 Var(CAR_i) / (sum_i w_i)^2 over the
    pairs with a CAR on day t. With ``aggregation = "bhar"`` the path still
    cumulates abnormal returns by summation.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from eventstudy import EventStudy
    >>> rng = np.random.default_rng(0)
    >>> d = pd.bdate_range("2022-01-03", periods=300)
    >>> m = rng.normal(0, 0.01, 300)
    >>> r = pd.DataFrame({"A": m + rng.normal(0, 0.01, 300), "M": m}, index=d)
    >>> ev = pd.DataFrame({"event_id": ["e1"], "timestamp": ["2023-01-05"],
    ...                    "ticker": ["A"]})
    >>> res = EventStudy(r, ev, kind="returns", calendar="FX", benchmark="M").fit()
    >>> path = res.caar_path(event="e1")
    >>> list(path.columns)
    ['rel_day', 'caar', 'se', 'n']
    """
    sel = select_pairs(res, event, group)
    rel = np.asarray(res.rel_days, dtype=np.int64)
    a, b = (int(rel[0]), int(rel[-1])) if window is None else (int(window[0]),
                                                                int(window[1]))
    if not (rel[0] <= a <= b <= rel[-1]):
        raise WindowError(f"window [{a}, {b}] is not inside the event window "
                          f"[{int(rel[0])}, {int(rel[-1])}] (or is reversed); give "
                          "one of its sub-windows, e.g. a CAR window")
    cols = slice(a - int(rel[0]), b - int(rel[0]) + 1)
    ar = np.asarray(res.ar, dtype=np.float64)[sel][:, cols]
    sar = np.asarray(res.sar, dtype=np.float64)[sel][:, cols]
    s2 = np.asarray(res.sigma2, dtype=np.float64)[sel][:, None]
    nobs = np.asarray(res.nobs, dtype=np.float64)[sel][:, None]
    ok = np.isfinite(ar)
    d = np.cumsum(ok, axis=1).astype(np.float64)
    has = d > 0
    car = np.where(has, np.cumsum(np.where(ok, ar, 0.0), axis=1), np.nan)
    lev = np.zeros_like(d)
    if res.conventions.forecast_error:
        with np.errstate(invalid="ignore", divide="ignore"):
            h = (ar / sar) ** 2 / s2 - 1.0
            q = np.sqrt(np.clip(h - 1.0 / nobs, 0.0, None))
        q = np.where(ok & np.isfinite(q), q, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            lev = d**2 / nobs + np.cumsum(q, axis=1) ** 2
        names = res.pairs_["model"].astype(str)
        fixed_names = [m for m in names.unique() if m in MODELS and MODELS[m].fixed]
        fixed = names.isin(fixed_names).to_numpy()[sel]
        lev[fixed] = 0.0
        lev = np.where(np.isfinite(lev), lev, 0.0)
    var = np.where(has, s2 * (d + lev), np.nan)
    n = has.sum(axis=0)
    if res.conventions.weights and "weight" in res.pairs_.columns:
        # value weights: CAAR_t = sum w_i CAR_i / sum w_i over the pairs with a CAR,
        # Var = sum w_i^2 Var(CAR_i) / (sum w_i)^2
        w = res.pairs_["weight"].to_numpy(dtype=np.float64)[sel][:, None]
        sw = np.where(has, w, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            caar = np.where(n > 0, np.nansum(w * car, axis=0) / sw, np.nan)
            se = np.where(n > 0, np.sqrt(np.nansum(w * w * var, axis=0)) / sw, np.nan)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            caar = np.where(n > 0, np.nansum(car, axis=0) / n, np.nan)
            se = np.where(n > 0, np.sqrt(np.nansum(var, axis=0)) / n, np.nan)
    return pd.DataFrame({"rel_day": rel[cols], "caar": caar, "se": se,
                         "n": n.astype(np.int64)})


def ar_table(res: ResultsView, event: str, first: int, last: int) -> pd.DataFrame:
    """One event's abnormal returns by security and day.

    Parameters
    ----------
    res
        Fitted results.
    event
        Event id.
    first, last
        Event-window days shown (clipped to the event window).

    Returns
    -------
    pandas.DataFrame
        One row per kept pair of the event, in the results' order: ``ticker``,
        ``group`` and one float column per day ``first..last`` inside the event
        window (named by the day, an int), abnormal returns in decimals (NaN where
        missing).

    Raises
    ------
    InputError
        The event has no kept pair, or no day of ``first..last`` is in the event
        window.
    """
    sel = select_pairs(res, event, None)
    rel = np.asarray(res.rel_days, dtype=np.int64)
    cols = np.flatnonzero((rel >= first) & (rel <= last))
    if not len(cols):
        raise InputError(f"the event window has no day in {first}..{last}; "
                         "nothing to show")
    p = res.pairs_.loc[sel]
    vals = np.asarray(res.ar, dtype=np.float64)[sel][:, cols]
    out = pd.DataFrame({"ticker": p["ticker"].astype(str).to_numpy(),
                        "group": p["group"].astype(str).to_numpy()})
    for j, d in enumerate(rel[cols]):
        out[int(d)] = vals[:, j]
    return out
