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

from eventstudy.analysis.volatility import group_sum, row_keys, scope_codes
from eventstudy.inference.distributions import norm_sf, t_sf
from eventstudy.inference.rank import row_ranks

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
    x = np.concatenate([panel.av_est, panel.av_evt], axis=1)
    r = row_ranks(x)[0]  # scipy.stats.rankdata(x, axis=1, nan_policy="omit")
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
    K = len(wins)
    span = [(max(a - first, 0), min(b - first, len(rel) - 1)) for _, a, b in wins]
    gid, names, values = scope_codes(pairs, scopes)
    G = len(values)
    R = G * K
    S, P = gid.shape
    T = len(VOLUME_TESTS)
    frames = []
    for panel in panels:  # the models (two at most)
        keep = panel.keep
        # per window and pair (K, P): CAV and its days with data
        cav = np.empty((K, P))
        d = np.empty((K, P), dtype=np.int64)
        for k, (lo, hi) in enumerate(span):
            av = panel.av_evt[:, lo:hi + 1]
            fin = np.isfinite(av)
            d[k] = fin.sum(axis=1)
            cav[k] = np.where(fin, av, 0.0).sum(axis=1)
        has = keep[None, :] & (d > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            scav = cav / (panel.s[None, :] * np.sqrt(d))
            daily = cav / d
        # row of (scope value g, window k) = g * K + k: the table's order
        key = row_keys(gid * K, np.broadcast_to(np.arange(K, dtype=np.int64)[:, None],
                                                (K, P)), has, R)

        def flat(x: np.ndarray) -> np.ndarray:
            return np.broadcast_to(x, (S, K, P)).ravel()

        n = np.bincount(key, minlength=R + 1)[:R].astype(np.float64)
        z_sum = group_sum(key, flat(scav), R)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_av = np.where(n > 0, group_sum(key, flat(cav), R) / n, np.nan)
            daily_pct = np.where(n > 0, np.expm1(group_sum(key, flat(daily), R) / n),
                                 np.nan)
            est_sc = np.where(n > 0, z_sum / n, np.nan)
            dev = flat(scav) - np.append(est_sc, np.nan)[key]
            sd = np.sqrt(group_sum(key, dev * dev, R) / (n - 1))
            se = sd / np.sqrt(n)
            t_ok = (n >= 2) & (se > 0)
            t_stat = np.where(t_ok, est_sc / se, np.nan)
            z_stat = np.where(n > 0, z_sum / np.sqrt(n), np.nan)
        t_p = np.full(R, np.nan)
        t_p[t_ok] = 2 * t_sf(np.abs(t_stat[t_ok]), n[t_ok] - 1)
        # rank test: Ubar_t per scope value over its kept pairs, S_U, then windows
        u = rank_u(panel)
        Tu = u.shape[1]
        Le = panel.av_est.shape[1]
        ufin = np.isfinite(u) & keep[:, None]
        ukey = np.where(ufin[None, :, :], gid[:, :, None] * Tu
                        + np.arange(Tu, dtype=np.int64)[None, None, :],
                        G * Tu).ravel()
        uval = np.broadcast_to(np.where(ufin, u, 0.0)[None], (S, P, Tu)).ravel()
        cnt = np.bincount(ukey, minlength=G * Tu + 1)[:G * Tu].reshape(G, Tu)
        usum = group_sum(ukey, uval, G * Tu).reshape(G, Tu)
        with np.errstate(invalid="ignore", divide="ignore"):
            ubar = np.where(cnt > 0, usum / np.maximum(cnt, 1), np.nan)
        have = np.isfinite(ubar)
        n_have = have.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            su = np.sqrt(group_sum(np.repeat(np.arange(G, dtype=np.int64), n_have),
                                   ubar[have] ** 2, G) / n_have)
        su = np.where(n_have > 0, su, np.nan)
        ub_evt = ubar[:, Le:]
        okd = np.isfinite(ub_evt)
        r_cnt = np.stack([okd[:, lo:hi + 1].sum(axis=1) for lo, hi in span], axis=1)
        r_sum = np.stack([np.where(okd, ub_evt, 0.0)[:, lo:hi + 1].sum(axis=1)
                          for lo, hi in span], axis=1)  # (G, K)
        with np.errstate(invalid="ignore", divide="ignore"):
            r_est = (r_sum / r_cnt).ravel()
            r_stat = (np.sqrt(r_cnt) * (r_sum / r_cnt) / su[:, None]).ravel()
        r_ok = (n > 0) & (r_cnt.ravel() > 0) & np.repeat(su > 0, K)
        r_est = np.where(r_ok, r_est, np.nan)
        r_stat = np.where(r_ok, r_stat, np.nan)
        z_p = np.full(R, np.nan)
        r_p = np.full(R, np.nan)
        both = np.concatenate([np.abs(z_stat[n > 0]), np.abs(r_stat[r_ok])])
        sf = 2 * norm_sf(both)
        z_p[n > 0] = sf[:int((n > 0).sum())]
        r_p[r_ok] = sf[int((n > 0).sum()):]
        nan = np.full(R, np.nan)
        est = np.stack([est_sc, est_sc, r_est], axis=1).ravel()
        stat = np.stack([t_stat, z_stat, r_stat], axis=1).ravel()
        df = np.stack([np.where(t_ok, n - 1, np.nan), nan, nan], axis=1).ravel()
        pv = np.stack([t_p, z_p, r_p], axis=1).ravel()
        kind_w = np.array([w[0] for w in wins], dtype=object)
        a_w = np.array([w[1] for w in wins], dtype=np.int64)
        b_w = np.array([w[2] for w in wins], dtype=np.int64)

        def rows(x: np.ndarray) -> np.ndarray:  # one value per row -> per test row
            return np.repeat(x, T)

        def win(x: np.ndarray) -> np.ndarray:  # one value per window -> test rows
            return rows(np.tile(x, G))

        def grp(x: np.ndarray) -> np.ndarray:  # one value per scope value
            return np.repeat(x, K * T)

        frames.append(pd.DataFrame({
            "scope": grp(names), "scope_value": grp(values),
            "window_kind": win(kind_w), "window_start": win(a_w),
            "window_end": win(b_w), "model": np.full(R * T, panel.model, dtype=object),
            "test": np.tile(np.array(VOLUME_TESTS, dtype=object), R),
            "n": rows(n.astype(np.int64)), "mean_av": rows(mean_av),
            "daily_pct": rows(daily_pct), "estimate": est, "statistic": stat,
            "df": df, "p_value": pv}, columns=list(VOLUME_COLUMNS)))
    if not frames:
        return pd.DataFrame([], columns=list(VOLUME_COLUMNS))
    return pd.concat(frames, ignore_index=True)


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
