"""Abnormal trading volume (issue #18 part 3): Campbell & Wasley (1996) log volume,
mean-adjusted and market-adjusted, per event day and CAR window, with parametric
and rank tests.

Volume measure. V_it = ln(volume_it + c): Campbell & Wasley (1996, RQFA 6(3),
309-326) use the log of percentage turnover plus c = 0.000255 (turnover needs the
shares outstanding, which the price data do not carry); on share volume we use
c = 1 by default (``[measures] volume_constant``), so that a day with no trade
gives V = 0 and the log is always defined. The measure is then scale-free in the
sense that matters here: every statistic below works on differences of V within
one security.

Abnormal volume of pair i on event day t, over the estimation window E_i (the L_i
trading days of the security with a volume, ``[windows] estimation`` sessions
before day 0 on the security's own series):

* ``mean``:   AV_it = V_it - mean_{s in E_i} V_is   (mean-adjusted)
* ``market``: AV_it = (V_it - M_t) - mean_{s in E_i} (V_is - M_s)  (market-adjusted
  with a slope of one), where M_t is the equally weighted mean of V over every
  security of the same exchange calendar in the price data that has a volume on t
  (Campbell & Wasley's equally weighted market volume; the study's own securities
  stand in for the market, so an event that moves all of them at once is partly
  absorbed by M: read ``market`` as relative to the study's own securities).

s_i = the standard deviation (ddof 1) of AV_is over E_i; SAV_it = AV_it / s_i.
Over a window w with d_iw days with data: CAV_iw = sum_t AV_it and
SCAV_iw = CAV_iw / (s_i sqrt(d_iw)); a single day is the window of one day.

Tests over the n pairs of a scope:

``av_t``
    Cross-sectional t of the standardised abnormal volume:
    t = mean(SCAV) / (sd(SCAV) / sqrt(n)), t(n - 1) (Boehmer, Musumeci & Poulsen
    1991 applied to AV; robust to event-induced changes in the dispersion of AV).
``av_z``
    Standardised sum Z = sum_i SCAV_i / sqrt(n), N(0, 1) (Patell 1976 applied to
    AV); defined for a single series.
``av_rank``
    Corrado (1989) rank test as Campbell & Wasley (1996) apply it to volume, with
    the Campbell & Wasley (1993) ranks for missing days: U_it = rank(AV_it) /
    (M_i + 1) - 1/2 over the M_i days of E_i and the event window with data;
    Ubar_t = mean over the pairs with data on relative day t;
    S_U^2 = (1/T) sum_t Ubar_t^2 over the T relative days (estimation and event)
    with data; Z = sqrt(d) mean_{t in w} Ubar_t / S_U (Cowan 1992 for windows),
    N(0, 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from eventstudy.inference.runner import make_groups

VOLUME_MODELS = ("mean", "market")
"""Abnormal-volume benchmarks: mean-adjusted and market-adjusted log volume."""

VOLUME_TESTS = ("av_t", "av_z", "av_rank")
"""The abnormal-volume tests, in table order."""

VOLUME_CONSTANT = 1.0
"""Default c in ln(volume + c) for share volume."""

NO_VOLUME = ("no volume in the price data for {ticker} (FX rates and indices carry "
             "none): excluded from the volume measure")
FEW_VOLUMES = ("only {n} estimation-window volumes (minimum {m}): excluded from the "
               "volume measure")
FLAT_VOLUME = ("volume constant over the estimation window: excluded from the volume "
               "measure")
NO_MARKET = ("no market volume (no security of calendar {calendar} has a volume): "
             "excluded from the market-adjusted volume")

VOLUME_COLUMNS = ("scope", "scope_value", "window_kind", "window_start",
                  "window_end", "model", "test", "n", "mean_av", "daily_pct",
                  "estimate", "statistic", "df", "p_value")
"""The columns of ``volume.csv`` (:func:`volume_table`)."""


@dataclass(frozen=True)
class VolumePanel:
    """Abnormal log volume of the pairs, one model.

    Attributes
    ----------
    model
        ``mean`` or ``market``.
    av_est
        ``(P, Le)`` abnormal log volume over the estimation window (NaN: no data).
    av_evt
        ``(P, W)`` over the event window.
    s
        ``(P,)`` standard deviation of ``av_est`` (ddof 1).
    n_est
        ``(P,)`` estimation days with a volume.
    reason
        ``(P,)`` why a pair is left out of this model ("" = kept).
    """

    model: str
    av_est: np.ndarray
    av_evt: np.ndarray
    s: np.ndarray
    n_est: np.ndarray
    reason: np.ndarray

    @property
    def keep(self) -> np.ndarray:
        """The pairs with a volume measure."""
        return np.asarray(self.reason == "", dtype=bool)


def log_volume(volumes: pd.DataFrame, c: float = VOLUME_CONSTANT) -> pd.DataFrame:
    """ln(volume + c), NaN where the volume is missing or negative.

    Examples
    --------
    >>> v = pd.DataFrame({"A": [0.0, np.e - 1, -1.0, np.nan]})
    >>> log_volume(v)["A"].tolist()
    [0.0, 1.0, nan, nan]
    """
    x = volumes.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = np.where(np.isfinite(x) & (x >= 0), np.log(np.where(x >= 0, x, 0.0)
                                                         + c), np.nan)
    return pd.DataFrame(out, index=volumes.index, columns=volumes.columns)


def market_volume(logv: pd.DataFrame, calendars: dict[str, str]) -> pd.DataFrame:
    """Per calendar, the equally weighted mean of the log volumes of its
    securities on each date (NaN where none has one): columns = calendars."""
    out = {}
    for cal in sorted(set(calendars.values())):
        cols = [t for t, c in calendars.items() if c == cal and t in logv.columns]
        x = logv[cols].to_numpy(dtype=np.float64) if cols else np.full(
            (len(logv), 0), np.nan)
        cnt = np.isfinite(x).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[cal] = np.where(cnt > 0, np.nansum(x, axis=1) / np.maximum(cnt, 1),
                                np.nan)
    return pd.DataFrame(out, index=logv.index)


def abnormal_volume(logv: pd.DataFrame, pairs: pd.DataFrame, evt_dates: np.ndarray,
                    estimation: tuple[int, int], min_obs: int, model: str = "mean",
                    market: pd.DataFrame | None = None) -> VolumePanel:
    """Abnormal log volume of every pair over its estimation and event windows.

    Parameters
    ----------
    logv
        ln(volume + c) (:func:`log_volume`), dates x tickers.
    pairs
        ``ticker``, ``day0`` (and ``calendar`` for ``market``) per pair.
    evt_dates
        ``(P, W)`` event-window session dates (ns; -1 = none): the days of the
        return study, so that the volume and return reactions share their days.
    estimation
        ``[windows] estimation`` (relative sessions, on the security's own series
        of volume days).
    min_obs
        Fewest estimation volumes for a pair to be kept.
    model
        ``mean`` or ``market`` (:data:`VOLUME_MODELS`).
    market
        :func:`market_volume` (needed for ``market``).
    """
    P, W = evt_dates.shape
    e0, e1 = estimation
    Le = e1 - e0 + 1
    est = np.full((P, Le), np.nan)
    evt = np.full((P, W), np.nan)
    reason = np.full(P, "", dtype=object)
    tick = pairs["ticker"].astype(str).to_numpy()
    day0 = pd.to_datetime(pairs["day0"]).to_numpy().astype("datetime64[ns]"
                                                            ).astype(np.int64)
    cal = (pairs["calendar"].astype(str).to_numpy() if "calendar" in pairs
           else np.full(P, "", dtype=object))
    idx = pd.DatetimeIndex(logv.index).as_unit("ns").asi8
    for t in pd.unique(tick):
        rows = np.flatnonzero(tick == t)
        if t not in logv.columns:
            reason[rows] = NO_VOLUME.format(ticker=t)
            continue
        v = logv[t].to_numpy(dtype=np.float64)
        ok = np.isfinite(v)
        if not ok.any():
            reason[rows] = NO_VOLUME.format(ticker=t)
            continue
        dates, vals = idx[ok], v[ok]
        for r in rows:
            x = vals
            if model == "market":
                mk = (market[cal[r]].to_numpy(dtype=np.float64)[ok]
                      if market is not None and cal[r] in market.columns
                      else np.full(len(vals), np.nan))
                if not np.isfinite(mk).any():
                    reason[r] = NO_MARKET.format(calendar=cal[r])
                    continue
                x = vals - mk
            k0 = int(np.searchsorted(dates, day0[r], side="left"))
            pos = np.arange(k0 + e0, k0 + e1 + 1)
            inside = (pos >= 0) & (pos < len(dates))
            est[r, inside] = x[pos[inside]]
            ev = evt_dates[r]
            p = np.searchsorted(dates, ev, side="left")
            pc = np.minimum(p, len(dates) - 1)
            hit = (ev >= 0) & (p < len(dates)) & (dates[pc] == ev)
            evt[r, hit] = x[pc[hit]]
    n_est = np.isfinite(est).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nansum(est, axis=1) / n_est
        av_est = est - mu[:, None]
        av_evt = evt - mu[:, None]
        s = np.sqrt(np.nansum(av_est**2, axis=1) / (n_est - 1))
    free = reason == ""
    few = free & (n_est < max(min_obs, 2))
    reason[few] = [FEW_VOLUMES.format(n=int(n), m=max(min_obs, 2))
                   for n in n_est[few]]
    flat = (reason == "") & ~(s > 0)
    reason[flat] = FLAT_VOLUME
    return VolumePanel(model, av_est, av_evt, s, n_est, reason)


def rank_u(panel: VolumePanel) -> np.ndarray:
    """``(P, Le + W)`` U_it = rank / (M_i + 1) - 1/2 of each pair's abnormal
    volume over its estimation and event days with data (average ranks for ties;
    NaN without data)."""
    from scipy import stats  # lazy: scipy.stats costs ~0.4 s at start-up

    x = np.concatenate([panel.av_est, panel.av_evt], axis=1)
    r = stats.rankdata(x, axis=1, nan_policy="omit")
    m = np.isfinite(x).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(r / (m[:, None] + 1.0) - 0.5, dtype=np.float64)


def volume_table(panels: Sequence[VolumePanel], pairs: pd.DataFrame,
                 rel_days: np.ndarray, car_windows: Sequence[tuple[int, int]],
                 scopes: Sequence[str] = ("all", "group", "event", "event_group"),
                 ) -> pd.DataFrame:
    """Abnormal volume per scope, event day and CAR window, for each model, with
    the tests of :data:`VOLUME_TESTS`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VOLUME_COLUMNS`. ``mean_av``: mean over the pairs of
        CAV (the abnormal log volume summed over the window's days);
        ``daily_pct``: exp(mean over the pairs of CAV_i / d_i) - 1, the average
        abnormal volume per day in percent of normal; ``estimate``: the tested
        mean (SCAV for ``av_t``/``av_z``, Ubar over the window for ``av_rank``).
        Only the pairs with a volume measure (:attr:`VolumePanel.keep`) count;
        a scope value with none has ``n = 0`` and NaN.
    """
    rel = np.asarray(rel_days, dtype=np.int64)
    first = int(rel[0])
    wins: list[tuple[str, int, int]] = [("day", int(d), int(d)) for d in rel]
    wins += [("car", int(a), int(b)) for a, b in car_windows]
    rows: list[dict[str, object]] = []
    for panel in panels:
        u = rank_u(panel)
        Le = panel.av_est.shape[1]
        groups = [make_groups(pairs, sc) for sc in scopes]
        for g in groups:
            for k, label in enumerate(g.labels):
                m = (g.codes == k) & panel.keep
                ubar, su = _rank_scale(u[m])
                for kind, a, b in wins:
                    lo, hi = max(a - first, 0), min(b - first, len(rel) - 1)
                    rows.extend(_volume_rows(panel, m, g.scope, label, kind, a, b,
                                             lo, hi, ubar[Le + lo:Le + hi + 1], su))
    return pd.DataFrame(rows, columns=list(VOLUME_COLUMNS))


def _rank_scale(u: np.ndarray) -> tuple[np.ndarray, float]:
    """Ubar_t per relative day (NaN without data) and S_U over the days with
    data."""
    cnt = np.isfinite(u).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ubar = np.where(cnt > 0, np.nansum(u, axis=0) / np.maximum(cnt, 1), np.nan)
    have = np.isfinite(ubar)
    su = float(np.sqrt(np.mean(ubar[have] ** 2))) if have.any() else np.nan
    return ubar, su


def _volume_rows(panel: VolumePanel, m: np.ndarray, scope: str, label: str,
                 kind: str, a: int, b: int, lo: int, hi: int, ubar_w: np.ndarray,
                 su: float) -> list[dict[str, object]]:
    """The three test rows of one scope value, window and model."""
    from scipy import stats  # lazy: scipy.stats costs ~0.4 s at start-up

    av = panel.av_evt[m, lo:hi + 1]
    d = np.isfinite(av).sum(axis=1)
    has = d > 0
    cav = np.where(np.isfinite(av), av, 0.0).sum(axis=1)[has]
    dd = d[has]
    with np.errstate(invalid="ignore", divide="ignore"):
        scav = cav / (panel.s[m][has] * np.sqrt(dd))
    n = int(has.sum())
    base: dict[str, object] = {
        "scope": scope, "scope_value": label, "window_kind": kind,
        "window_start": a, "window_end": b, "model": panel.model, "n": n,
        "mean_av": float(cav.mean()) if n else np.nan,
        "daily_pct": float(np.expm1((cav / dd).mean())) if n else np.nan}
    out = []
    for test in VOLUME_TESTS:
        est = stat = df = p = np.nan
        if test == "av_t" and n:
            est = float(scav.mean())
            if n >= 2:
                se = float(scav.std(ddof=1)) / np.sqrt(n)
                if se > 0:
                    stat, df = est / se, float(n - 1)
                    p = float(2 * stats.t.sf(abs(stat), n - 1))
        elif test == "av_z" and n:
            est = float(scav.mean())
            stat = float(scav.sum() / np.sqrt(n))
            p = float(2 * stats.norm.sf(abs(stat)))
        elif test == "av_rank" and n:
            okd = np.isfinite(ubar_w)
            if okd.any() and su > 0:
                est = float(ubar_w[okd].mean())
                stat = float(np.sqrt(okd.sum()) * est / su)
                p = float(2 * stats.norm.sf(abs(stat)))
        out.append({**base, "test": test, "estimate": est, "statistic": stat,
                    "df": df, "p_value": p})
    return out


def volume_excluded(panels: Sequence[VolumePanel], pairs: pd.DataFrame
                    ) -> pd.DataFrame:
    """``event_id, ticker, model, reason`` of every pair left out of a volume
    model (``volume_excluded.csv``), in pair order."""
    parts = []
    for panel in panels:
        hit = ~panel.keep
        parts.append(pd.DataFrame({
            "event_id": pairs["event_id"].astype(str).to_numpy()[hit],
            "ticker": pairs["ticker"].astype(str).to_numpy()[hit],
            "model": panel.model,
            "reason": panel.reason[hit].astype(str)}))
    if not parts:
        return pd.DataFrame(columns=["event_id", "ticker", "model", "reason"])
    return pd.concat(parts, ignore_index=True)
