"""Abnormal volatility: the event-induced variance of the abnormal returns, per
event day and per CAR window, and its tests (issue #18 part 2).

The engine gives, for every kept pair i and event day t, the abnormal return
AR_it and the variance the normal-return model expects for it, h_it = Var(AR_it)
(:attr:`eventstudy.estimation.containers.AbnormalReturns.day_var`): the GARCH
family's conditional variance forecast made at the end of the estimation window
(:mod:`eventstudy.estimation.models.garch`), or, for the other models, the OLS
prediction-error variance sigma_i^2 (1 + x_t'(X'X)^-1 x_t) (without the leverage
term when ``forecast_error = false``). The standardised squared abnormal return
is SAR_it^2 = AR_it^2 / h_it; under the null of no event-induced variance its
expectation is 1.

Measures, per pair and day, and per CAR window w of d_iw days with data:

* abnormal variance  AV_it = AR_it^2 - h_it;  AV_iw = sum_t AR_it^2 - sum_t h_it
* variance ratio     q_it = AR_it^2 / h_it;   q_iw = sum_t AR_it^2 / sum_t h_it

Tests over the n pairs of a scope (all, group, event, event x group):

``vol_csect_t``
    Cross-sectional t of the abnormal variance:
    t = mean(AV) / (sd(AV) / sqrt(n)), t(n - 1), reported with Johnson's (1978)
    skewness adjustment (:func:`skew_t`; the plain t in ``t_plain``). The same
    form as EventStudyTools' "cross-sectional test for abnormal volatility"
    (AVyC ``aarcsvyt``), which applies it to the coefficients of an event-day
    dummy in the GARCH variance equation (Balaban & Constantinou 2006); here to
    the residual abnormal variance.
``vol_savickas``
    Cross-sectional t of the GARCH-standardised squared abnormal returns
    (Savickas 2003, JFR 26(2):165-178, whose standardisation by the GARCH
    conditional variance this is; EventStudyTools' "corrected" form ``aarcscvyt``
    scales by h likewise): t = mean(q - 1) / (sd(q) / sqrt(n)), t(n - 1),
    skewness-adjusted as ``vol_csect_t`` (plain t in ``t_plain``). Pairs
    whose model is not of the GARCH family (or fell back to OLS) are standardised
    by their OLS prediction-error variance: the table says which
    (``standardised_by``).
``vol_ratio``
    Variance-ratio test: lambda = sum_i sum_t SAR_it^2 / D, D = sum_i d_iw (the
    pair-days with data); with normal, independent SARs, D lambda ~ chi^2(D).
    Reported as Z = (D lambda - D) / sqrt(2 D) with the exact two-sided chi^2(D)
    p-value. Works for a single series (n = 1). This is our reading of
    EventStudyTools' "AAR volatility ratio test" (``aarlambdaz``), whose page we
    could not read in full: see ``docs/measures.md``.

Sources: Savickas, R. (2003), Event-induced volatility and tests for abnormal
performance, Journal of Financial Research 26(2), 165-178; Hilliard, J. E. &
Savickas, R. (2002), On the statistical significance of event effects on
unsystematic volatility, Journal of Financial Research 25(4), 447-462;
Balaban, E. & Constantinou, C. T. (2006), Volatility clustering and event-induced
volatility: evidence from UK mergers and acquisitions, European Journal of Finance
12(5), 449-453; EventStudyTools, "Volatility Event Study"
(https://www.eventstudytools.com/volatiliy-event-study) and the AVyC test keys of
its R API wrapper (EventStudyTools/api-wrapper.r, R/AVyCApplicationInput.R).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from eventstudy.inference.distributions import chi2_cdf, chi2_sf, t_sf
from eventstudy.inference.runner import make_groups

VOL_TESTS = ("vol_csect_t", "vol_savickas", "vol_ratio")
"""The abnormal-volatility tests, in table order."""

GARCH_FAMILY = ("garch", "gjr_garch", "egarch")
"""Models whose AR variance is a conditional variance forecast."""

VOLATILITY_COLUMNS = ("scope", "scope_value", "window_kind", "window_start",
                      "window_end", "test", "n", "pair_days", "mean_ar2", "mean_h",
                      "abnormal_var", "var_ratio", "estimate", "se", "statistic",
                      "df", "p_value", "t_plain", "standardised_by")
"""The columns of ``volatility.csv`` (:func:`volatility_table`)."""


def standardised_by(models: Sequence[str], fallback_ols: np.ndarray | None
                    ) -> np.ndarray:
    """Per pair, ``"garch"`` when its AR variance is a GARCH-family forecast, else
    ``"ols"`` (another model, or a GARCH pair that fell back to OLS).

    Examples
    --------
    >>> standardised_by(["garch", "market", "egarch"], np.array([0.0, np.nan, 1.0]))
    array(['garch', 'ols', 'ols'], dtype=object)
    """
    m = np.asarray([str(x) for x in models], dtype=object)
    g = np.isin(m, GARCH_FAMILY)
    if fallback_ols is not None:
        g &= ~(np.asarray(fallback_ols, dtype=np.float64) == 1.0)
    return np.where(g, "garch", "ols").astype(object)


def window_sums(ar: np.ndarray, h: np.ndarray, lo: int, hi: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pair over event-window columns ``lo..hi`` (inclusive): the sum of
    AR^2, the sum of h, the sum of AR^2 / h and the number of days with data
    (AR and h finite, h > 0)."""
    a = ar[:, lo:hi + 1]
    v = h[:, lo:hi + 1]
    ok = np.isfinite(a) & np.isfinite(v) & (v > 0)
    a2 = np.where(ok, a * a, 0.0)
    vv = np.where(ok, v, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = np.where(ok, a2 / np.where(ok, vv, 1.0), 0.0)
    return a2.sum(axis=1), vv.sum(axis=1), s2.sum(axis=1), ok.sum(axis=1)


def skew_t(x: np.ndarray) -> tuple[float, float, float, float, float, float]:
    """Mean, its standard error, the skewness-adjusted t, df, its two-sided p and
    the plain t of a one-sample test of mean zero.

    t_sa = sqrt(n) (S + gamma S^2 / 3 + gamma / (6 n)), S = xbar / s (s with
    n - 1), gamma = sum (x - xbar)^3 / (n s^3) (Johnson 1978, JASA 73:536-544, as
    in Lyon, Barber & Tsai 1999, eq. (5)); p from t(n - 1). Squared abnormal
    returns are chi-square skewed: the plain t (``t_plain``) over-rejects (about
    11% at the 5% level with n = 20 normal SARs), the adjusted one keeps its size.
    """
    n = len(x)
    mean = float(x.mean()) if n else np.nan
    if n < 2:
        return mean, np.nan, np.nan, np.nan, np.nan, np.nan
    sd = float(x.std(ddof=1))
    se = sd / np.sqrt(n)
    if not se > 0:
        return mean, se, np.nan, float(n - 1), np.nan, np.nan
    S = mean / sd
    g = float(((x - mean) ** 3).sum()) / (n * sd**3)
    t = float(np.sqrt(n) * (S + g * S**2 / 3 + g / (6 * n)))
    return (mean, se, t, float(n - 1), float(2 * t_sf(abs(t), n - 1)),
            mean / se)


def ratio_test(sum_sar2: float, pair_days: int) -> tuple[float, float]:
    """The variance-ratio Z and its exact two-sided chi^2 p-value.

    Z = (S - D) / sqrt(2 D) with S = sum of SAR^2 over the D pair-days; p =
    2 min(F(S), 1 - F(S)) with F the chi^2(D) distribution function.

    Examples
    --------
    >>> z, p = ratio_test(10.0, 10)
    >>> z, round(p, 3)
    (0.0, 0.881)
    """
    if pair_days < 1:
        return np.nan, np.nan
    z = (sum_sar2 - pair_days) / np.sqrt(2.0 * pair_days)
    lo = float(chi2_cdf(sum_sar2, pair_days))
    hi = float(chi2_sf(sum_sar2, pair_days))
    return float(z), float(min(1.0, 2 * min(lo, hi)))


def volatility_table(ar: np.ndarray, day_var: np.ndarray, pairs: pd.DataFrame,
                     rel_days: np.ndarray, car_windows: Sequence[tuple[int, int]],
                     by: np.ndarray,
                     scopes: Sequence[str] = ("all", "group", "event", "event_group"),
                     ) -> pd.DataFrame:
    """The abnormal-volatility table: every scope, event day and CAR window, and
    the three tests of :data:`VOL_TESTS`.

    Parameters
    ----------
    ar, day_var
        ``(P, W)`` abnormal returns and their expected variances h_it.
    pairs
        One row per pair (``event_id``, ``group``, ``ticker``).
    rel_days
        The W relative days of the event window.
    car_windows
        The CAR windows ``(start, end)`` (relative days).
    by
        Per pair, ``"garch"`` or ``"ols"`` (:func:`standardised_by`).
    scopes
        Scopes as in ``tests.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VOLATILITY_COLUMNS`; one row per scope value, window and
        test. ``mean_ar2``, ``mean_h``: mean over pairs of sum AR^2 and sum h in
        the window; ``abnormal_var`` = their difference (the event-induced
        variance); ``var_ratio`` = mean over pairs of q (sum AR^2 / sum h);
        ``estimate`` and ``se``: the tested mean and its standard error (AV for
        ``vol_csect_t``, q - 1 for ``vol_savickas``; lambda - 1 and sqrt(2 / D)
        for ``vol_ratio``). Rows with no pair-day of data have n = 0 and NaN.
    """
    rel = np.asarray(rel_days, dtype=np.int64)
    wins: list[tuple[str, int, int]] = [("day", int(d), int(d)) for d in rel]
    wins += [("car", int(a), int(b)) for a, b in car_windows]
    by = np.asarray(by, dtype=object)
    first = int(rel[0])
    K = len(wins)
    # per window and pair (K, P): one vectorised pass per window, over all pairs
    parts = [window_sums(ar, day_var, max(a - first, 0), min(b - first, len(rel) - 1))
             for _, a, b in wins]
    s_a2 = np.stack([x[0] for x in parts]).reshape(K, -1)
    s_h = np.stack([x[1] for x in parts]).reshape(K, -1)
    s_q = np.stack([x[2] for x in parts]).reshape(K, -1)
    d = np.stack([x[3] for x in parts]).reshape(K, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        av = s_a2 - s_h
        q = s_a2 / s_h
    gid, names, values = scope_codes(pairs, scopes)
    G = len(values)
    R = K * G
    # row of (window k, scope value g) = k * G + g: the table's order
    key = row_keys(gid, np.arange(K, dtype=np.int64)[:, None] * G, d > 0, R)
    S, P = gid.shape

    def flat(x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, (S, K, P)).ravel()

    n = np.bincount(key, minlength=R + 1)[:R]
    D = np.bincount(key, weights=flat(d.astype(np.float64)), minlength=R + 1)[:R]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_ar2 = group_sum(key, flat(s_a2), R) / n
        mean_h = group_sum(key, flat(s_h), R) / n
    av_t = grouped_skew_t(flat(av), key, R)
    q_t = grouped_skew_t(flat(q - 1.0), key, R)
    with np.errstate(invalid="ignore", divide="ignore"):
        var_ratio = group_sum(key, flat(q), R) / n
    ratio = grouped_ratio_test(group_sum(key, flat(s_q), R), D)
    # standardised_by: the kinds among the pairs counted in each row
    kind_code, kinds = pd.factorize(pd.Series(by, dtype=object).astype(str),
                                    sort=True)
    nk = max(len(kinds), 1)
    seen = np.bincount(key * nk + flat(kind_code.astype(np.int64)[None, None, :]),
                       minlength=(R + 1) * nk)[:R * nk].reshape(R, nk) > 0
    n_kinds = seen.sum(axis=1)
    single = np.asarray(kinds, dtype=object)[np.argmax(seen, axis=1)] if len(
        kinds) else np.full(R, "", dtype=object)
    by_row = np.where(n_kinds > 1, "mixed", np.where(n_kinds == 1, single, ""))
    T = len(VOL_TESTS)
    est = np.stack([av_t[0], q_t[0], ratio[0]], axis=1)
    se = np.stack([av_t[1], q_t[1], ratio[1]], axis=1)
    stat = np.stack([av_t[2], q_t[2], ratio[2]], axis=1)
    df = np.stack([av_t[3], q_t[3], ratio[3]], axis=1)
    p = np.stack([av_t[4], q_t[4], ratio[4]], axis=1)
    tpl = np.stack([av_t[5], q_t[5], np.full(R, np.nan)], axis=1)
    kind_w = np.array([w[0] for w in wins], dtype=object)
    a_w = np.array([w[1] for w in wins], dtype=np.int64)
    b_w = np.array([w[2] for w in wins], dtype=np.int64)

    def rows(x: np.ndarray) -> np.ndarray:  # one value per row -> per test row
        return np.repeat(x, T)

    def win(x: np.ndarray) -> np.ndarray:  # one value per window -> per test row
        return np.repeat(x, G * T)

    mean_av = av_t[0]
    cols: dict[str, object] = {
        "scope": rows(np.tile(names, K)), "scope_value": rows(np.tile(values, K)),
        "window_kind": win(kind_w), "window_start": win(a_w),
        "window_end": win(b_w), "test": np.tile(np.array(VOL_TESTS, dtype=object), R),
        "n": rows(n.astype(np.int64)), "pair_days": rows(D.astype(np.int64)),
        "mean_ar2": rows(mean_ar2), "mean_h": rows(mean_h),
        "abnormal_var": rows(mean_av), "var_ratio": rows(var_ratio),
        "estimate": est.ravel(), "se": se.ravel(), "statistic": stat.ravel(),
        "df": df.ravel(), "p_value": p.ravel(), "t_plain": tpl.ravel(),
        "standardised_by": rows(by_row.astype(object))}
    return pd.DataFrame(cols, columns=list(VOLATILITY_COLUMNS))


def scope_codes(pairs: pd.DataFrame, scopes: Sequence[str]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every scope's groups numbered at once.

    Returns
    -------
    gid : numpy.ndarray
        ``(S, P)``: per scope and pair, the number of its scope value among all
        the scopes' values (scope by scope, values in first-appearance order as
        :func:`~eventstudy.inference.runner.make_groups`).
    names, values : numpy.ndarray
        Per scope value (object): its scope and its label.
    """
    P = len(pairs)
    gid = np.zeros((len(scopes), P), dtype=np.int64)
    names: list[str] = []
    values: list[str] = []
    for s, scope in enumerate(scopes):
        g = make_groups(pairs, scope)
        gid[s] = g.codes + len(values)
        names += [g.scope] * len(g.labels)
        values += list(g.labels)
    return (gid, np.asarray(names, dtype=object).reshape(-1),
            np.asarray(values, dtype=object).reshape(-1))


def row_keys(gid: np.ndarray, base: np.ndarray, keep: np.ndarray, R: int
             ) -> np.ndarray:
    """Flat ``(S, K, P)`` row numbers ``base + gid`` of every scope, window and
    pair; ``R`` (a bin past the table) where ``keep`` (``(K, P)``) is false.

    Within one row the pairs keep their order, so that the grouped sums
    (:func:`group_sum`) add them as a loop over the pairs would."""
    key = base[None, :, :] + gid[:, None, :]
    return np.where(keep[None, :, :], key, R).ravel()


def group_sum(key: np.ndarray, x: np.ndarray, R: int) -> np.ndarray:
    """Per row ``0..R-1`` the sum of ``x`` over the entries with that key (in
    entry order; entries keyed ``R`` are left out)."""
    return np.bincount(key, weights=x, minlength=R + 1)[:R]


def grouped_skew_t(x: np.ndarray, key: np.ndarray, R: int
                   ) -> tuple[np.ndarray, ...]:
    """:func:`skew_t` of every row at once: the entries of ``x`` keyed ``r`` are
    row r's sample. Returns arrays (mean, se, t_sa, df, p, t_plain), NaN as
    :func:`skew_t` (n = 0; n = 1; a zero standard error)."""
    n = np.bincount(key, minlength=R + 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(key, weights=x, minlength=R + 1) / n
        dev = x - mean[key]
        ss = np.bincount(key, weights=dev * dev, minlength=R + 1)
        s3 = np.bincount(key, weights=dev**3, minlength=R + 1)
        n, mean, ss, s3 = n[:R], mean[:R], ss[:R], s3[:R]
        sd = np.sqrt(ss / (n - 1.0))
        se = sd / np.sqrt(n)
        S = mean / sd
        g = s3 / (n * sd**3)
        t = np.sqrt(n) * (S + g * S**2 / 3 + g / (6 * n))
        two = n >= 2
        ok = two & (se > 0)
        t = np.where(ok, t, np.nan)
        p = np.full(R, np.nan)
        p[ok] = 2 * t_sf(np.abs(t[ok]), n[ok] - 1)
        return (np.where(n > 0, mean, np.nan), np.where(two, se, np.nan), t,
                np.where(two, n - 1, np.nan), p,
                np.where(ok, mean / se, np.nan))


def grouped_ratio_test(sum_sar2: np.ndarray, pair_days: np.ndarray
                       ) -> tuple[np.ndarray, ...]:
    """The ``vol_ratio`` row of every scope value and window at once: (estimate
    lambda - 1, se sqrt(2 / D), Z, df D, p) as :func:`ratio_test`, NaN where
    D = 0."""
    D = pair_days
    ok = D >= 1
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.where(ok, sum_sar2 / D - 1.0, np.nan)
        se = np.where(ok, np.sqrt(2.0 / D), np.nan)
        z = np.where(ok, (sum_sar2 - D) / np.sqrt(2.0 * D), np.nan)
    p = np.full(len(D), np.nan)
    lo = chi2_cdf(sum_sar2[ok], D[ok])
    hi = chi2_sf(sum_sar2[ok], D[ok])
    p[ok] = np.minimum(1.0, 2 * np.minimum(lo, hi))
    return est, se, z, np.where(ok, D, np.nan), p
