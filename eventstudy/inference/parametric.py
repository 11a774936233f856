"""Parametric tests: cross-sectional, Brown-Warner, Lamb, Patell, BMP, skewness.

Every test has the shared signature ``test(sample: Sample) -> TestStat`` (see
:mod:`eventstudy.inference.reduction`) and is registered in
:mod:`eventstudy.inference.registry`.
"""

from __future__ import annotations

import numpy as np

from eventstudy.inference import kernels
from eventstudy.inference import reduction as red
from eventstudy.inference.reduction import (
    Groups,
    Moments,
    PairData,
    Sample,
    Shared,
    TestStat,
    WeightedMoments,
    Window,
    blocks_in_threads,
    daily_combine,
    finite,
    gcount,
    gcount2,
    gkey,
    gmean_all,
    gsum,
    gsum2,
    t_p,
    window_cols,
    z_p,
)


def csect_t(sample: Sample) -> TestStat:
    """Cross-sectional t test.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        t, two-sided p from t(N - 1), N.

    Notes
    -----
    t = mean(CAR_i) / (s / sqrt(N)), s^2 = sum (CAR_i - mean)^2 / (N - 1); t(N - 1).
    For a single day CAR_i = AR_i (the AAR test; estudy2 ``t_test``). Robust to
    event-induced variance; assumes independence across pairs. Brown & Warner (1985,
    JFE 14:3-31); Boehmer, Musumeci & Poulsen (1991, JFE 30:253-272).

    Value weights w_i (:attr:`PairData.weight`): t = m_w / sqrt(V) with m_w = sum
    w_i CAR_i / sum w_i and V = N/(N - 1) sum_i (w_i / sum w)^2 (CAR_i - m_w)^2
    (White 1980, Econometrica 48(4):817-838, with the N/(N - 1) factor); t(N - 1).
    Equal weights give the formula above exactly.
    """
    data = sample.data
    if data.weight is not None:
        n, mean, v, _ = sample.vw()
        with np.errstate(invalid="ignore", divide="ignore"):
            t = mean / np.sqrt(v)
        return TestStat(t, t_p(t, n - 1), n, {"mean": mean})
    n, mean, var = sample.moments()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
    return TestStat(t, t_p(t, n - 1), n, {"mean": mean})


def bw_series(shared: Shared, groups: Groups, weighted: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
    """Brown-Warner S per group: sample SD of the estimation-window AAR_t series,
    and the number of days in the series (``weighted``: the value-weighted AAR_t,
    weights normalised each day over the pairs with data); made once per partition
    in ``shared``."""
    data = shared.data

    def make() -> tuple[np.ndarray, np.ndarray]:
        if shared.compiled:
            s, c = _est_sums(shared, groups, weighted)
            return _bw_s(s, c)
        ok = np.isfinite(data.resid)
        if weighted and data.weight is not None:
            w = data.weight[:, None]
            s = gsum2(data.resid * w, groups, ok)
            c = gsum2(np.broadcast_to(w, ok.shape), groups, ok)
        else:
            s = gsum2(data.resid, groups, ok)
            c = gcount2(groups, ok)
        return _bw_s(s, c)

    key = ("bw85w:" if weighted else "bw85:") + gkey(groups)
    out: tuple[np.ndarray, np.ndarray] = shared.get(key, make)
    return out


def _bw_s(s: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Brown-Warner S and the number of days from the per group and day sums ``s``
    and counts (or weight sums) ``c`` of the estimation residuals."""
    has = c > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        aar = np.where(has, s / np.where(has, c, 1.0), 0.0)
        nd = has.sum(axis=1).astype(np.float64)
        mean = aar.sum(axis=1) / nd
        var = np.where(has, (aar - mean[:, None]) ** 2, 0.0).sum(axis=1) / (nd - 1)
    S = np.where(nd > 1, np.sqrt(var), np.nan)
    return S, nd


def _est_sums(shared: Shared, groups: Groups, weighted: bool
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per group and estimation day: the sum of the finite residuals (times the
    value weight when ``weighted``) and their number (or weight sum), by the compiled
    pass (cells added in row order, the columns split between the threads: the
    numbers of :func:`~eventstudy.inference.reduction.gsum2`)."""
    data = shared.data
    k = kernels.compiled()
    P, Le = data.resid.shape
    s = np.zeros((groups.n, Le))
    c = np.zeros((groups.n, Le))
    wt = weighted and data.weight is not None
    w = data.weight if wt and data.weight is not None else np.ones(1)
    codes = np.ascontiguousarray(groups.codes, dtype=np.int64)
    half = -(-Le // red.PASS_THREADS)
    blocks_in_threads(Le, half, lambda c0: k.col_sums(
        data.resid, codes, w, wt, c0, min(Le, c0 + half), s, c))
    return s, c


def _daily_aar(data: PairData, window: Window, groups: Groups
               ) -> tuple[np.ndarray, np.ndarray]:
    """(G, d) daily AARs over the window's days and their pair counts."""
    A = data.ar[:, window_cols(data, window)]
    ok = np.isfinite(A)
    c = gcount2(groups, ok)
    with np.errstate(invalid="ignore", divide="ignore"):
        aar = gsum2(A, groups, ok) / c
    return aar, c


def bw_t(sample: Sample) -> TestStat:
    """Brown & Warner (1985) time-series t with the crude dependence adjustment.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        t, two-sided p from t(L - 1), N.

    Notes
    -----
    S^2 = (1/(L - 1)) sum_{t in E} (AAR_t - mean AAR)^2, where AAR_t is the group's
    cross-sectional mean residual on estimation day t (pairs with data that day) and
    L the number of such days. t = AAR / S for a day, CAAR / (sqrt(L2) S) for a CAR
    window (CAAR = mean CAR_i); t(L - 1). Handles cross-correlation crudely; assumes
    no serial correlation and no event-induced variance. Brown & Warner (1985, JFE
    14:3-31), "crude dependence adjustment".

    ``estudy2`` (``brown_warner_1985``, ``car_brown_warner_1985``): the CAR statistic
    is sum_tau (AAR_tau / S) / sqrt(days with data), equal to the above without
    missing ARs; df mean(L_i) - 1.

    Value weights: AAR_t is the value-weighted mean residual of day t (weights
    normalised over the pairs with data that day) and CAAR the value-weighted mean
    CAR; the same t and df.
    """
    data, window, groups = sample.data, sample.window, sample.groups
    if data.weight is not None:
        n, mean, _, _ = sample.vw()
        S, nd = bw_series(sample.shared, groups, weighted=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(n > 0, mean / (np.sqrt(window.length) * S), np.nan)
        return TestStat(t, t_p(t, nd - 1), n, {"mean": mean})
    n, mean = sample.wmean()
    S, nd = bw_series(sample.shared, groups)
    if data.profile == "estudy2":
        aar, _ = _daily_aar(data, window, groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = daily_combine(aar / S[:, None])
        df = gmean_all(data.nobs, groups) - 1
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            t = mean / (np.sqrt(window.length) * S)
        df = nd - 1
    t = np.where(n > 0, t, np.nan)
    return TestStat(t, t_p(t, df), n, {"mean": mean})


def bw_1980(sample: Sample) -> TestStat:
    """Brown & Warner (1980) t assuming cross-sectional independence.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        t, two-sided p from t(mean L - 1), N.

    Notes
    -----
    t = AAR / (sqrt(sum_i sigma_i^2) / N) for a day, CAAR / (sqrt(L2) sqrt(sum_i
    sigma_i^2) / N) for a CAR window; t(mean L_i - 1). sigma_i^2 follows the model's
    df convention (estudy2: R's ``var()``, df L - 1, via ``sigma_dof = "sample"``).
    Brown & Warner (1980, JFE 8:205-258); estudy2 ``brown_warner_1980``.

    Value weights: the weighted mean sum w_i CAR_i / sum w_i over sqrt(L2)
    sqrt(sum w_i^2 sigma_i^2) / sum w_i (the variance of the weighted portfolio
    under independence); the same df.
    """
    data, window, groups = sample.data, sample.window, sample.groups
    x = window.value
    valid = finite(x) & np.isfinite(data.sigma2)
    n = gcount(groups, valid)
    w = np.ones(len(x)) if data.weight is None else data.weight
    with np.errstate(invalid="ignore", divide="ignore"):
        sw = gsum(w, groups, valid) if data.weight is not None else n
        mean = gsum(w * x, groups, valid) / sw
        sd = np.sqrt(gsum(w * w * data.sigma2, groups, valid)) / sw
        t = mean / (np.sqrt(window.length) * sd)
        df = gsum(data.nobs, groups, valid) / n - 1
    return TestStat(t, t_p(t, df), n, {"mean": mean})


def lamb(sample: Sample) -> TestStat:
    """Lamb (1995) Brown-Warner-type test with a prediction-error term.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        z, two-sided p from N(0, 1), N.

    Notes
    -----
    lamb_tau = AAR_tau / (S sqrt(C_tau)), with S the Brown-Warner (1985) estimation
    SD (:func:`bw_t`) and C_tau = 1 + mean_i x_i'(X_i'X_i)^-1 x_i the group's mean
    prediction-error factor on day tau (market model: 1 + 1/L + (R_m - mean R_m)^2 /
    S_mm). For a CAR window: sum_tau lamb_tau / sqrt(days); N(0, 1). Defined for the
    market model (with nothing estimated, C = 1). Lamb (1995, J. Risk & Insurance
    62(1):111-127); estudy2 ``lamb``, ``car_lamb``.

    ``estudy2``: C_tau = 1 + 1/mean(L_i) + mean_i (R_m - mean R_m)^2 / S_mm, i.e. the
    1/L term uses the group's mean L (pass ``market_moments = "window"`` for
    estudy2's market moments).
    """
    data, window, groups = sample.data, sample.window, sample.groups
    n, mean = sample.wmean()
    S, _ = bw_series(sample.shared, groups)
    cols = window_cols(data, window)
    aar, c = _daily_aar(data, window, groups)
    A = data.ar[:, cols]
    ok = np.isfinite(A)
    lev = (np.zeros(A.shape) if data.day_lev is None
           else np.nan_to_num(data.day_lev[:, cols]))
    with np.errstate(invalid="ignore", divide="ignore"):
        if data.profile == "estudy2":
            inv_l = 1.0 / data.nobs
            q = gsum2(lev - inv_l[:, None], groups, ok) / c
            C = 1.0 + 1.0 / gmean_all(data.nobs, groups)[:, None] + q
        else:
            C = 1.0 + gsum2(lev, groups, ok) / c
        daily = aar / (S[:, None] * np.sqrt(C))
    z = np.where(n > 0, daily_combine(daily), np.nan)
    return TestStat(z, z_p(z), n, {"mean": mean})


def standardized(sample: Sample, test: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """The window's SAR_i or SCAR_i under ``test``'s forecast-error convention
    (:meth:`eventstudy.config.Conventions.forecast_error_for`), where they are
    finite, and whether they are the engine's (:attr:`Window.standardized`).

    When the engine computed the variances with the correction and the test does
    not use it: SAR_i = AR_i / sigma_i and SCAR_i = CAR_i / (sigma_i sqrt(L2_i)),
    L2_i the window's days with an AR (Var(AR) = sigma^2 and Var(CAR) = sigma^2 L2
    without the prediction-error term; Campbell, Lo & MacKinlay 1997, sec. 4.4).
    """
    data, window = sample.data, sample.window
    conv = data.conventions
    if conv.forecast_error_for(test) == conv.forecast_error:
        s, ok = sample.x(std=True)
        return s, ok, True
    days = (np.ones(data.n_pairs) if window.car_index < 0
            else data.car_days[:, window.car_index])
    with np.errstate(invalid="ignore", divide="ignore"):
        s = window.value / np.sqrt(data.sigma2 * days)
    return s, finite(s), False


def daily_sar(data: PairData, window: Window, test: str) -> np.ndarray:
    """``(P, L2)`` daily SAR_it over the window's days under ``test``'s
    forecast-error convention (NaN where the AR is missing): the engine's SARs, or
    AR_it / sigma_i without the correction."""
    cols = window_cols(data, window)
    conv = data.conventions
    if conv.forecast_error_for(test) == conv.forecast_error:
        out: np.ndarray = data.sar[:, cols]
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        out = data.ar[:, cols] / np.sqrt(data.sigma2)[:, None]
    return out


def patell_core(sample: Sample, weighted: bool = False, test: str | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Patell's Z per group, the number of pairs used and their mask (``weighted``:
    the value-weighted Z).

    ``test``: whose conventions (forecast-error correction, Patell's CAR form) to
    follow; None (``patell_kp``): the engine's SAR/SCAR in the exact form.
    """
    data, groups, window = sample.data, sample.groups, sample.window
    if test is None:
        s, ok = sample.x(std=True)
    else:
        s, ok, _ = standardized(sample, test)
    if (test is not None and window.car_index >= 0
            and data.conventions.patell_car == "patell1976"):
        S = daily_sar(data, window, test)
        has = np.isfinite(S)
        days = has.sum(axis=1).astype(np.float64)
        csar = np.where(has, S, 0.0).sum(axis=1)
        ok = ok & (days > 0)
        valid = ok & (data.dof > 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            zi = csar / np.sqrt(days * data.dof / (data.dof - 2))
            w = (np.ones(len(zi)) if not weighted or data.weight is None
                 else data.weight)
            z = gsum(w * zi, groups, valid) / np.sqrt(gsum(w * w, groups, valid))
        n = gcount(groups, valid)
        return np.where(n > 0, z, np.nan), n, valid
    valid = ok & (data.dof > 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = data.dof / (data.dof - 2)
        if weighted and data.weight is not None:
            w = data.weight
            z = gsum(w * s, groups, valid) / np.sqrt(gsum(w * w * v, groups, valid))
        else:
            z = gsum(s, groups, valid) / np.sqrt(gsum(v, groups, valid))
    n = gcount(groups, valid)
    z = np.where(n > 0, z, np.nan)
    return z, n, valid


def patell(sample: Sample) -> TestStat:
    """Patell (1976) standardised-residual Z test.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N.

    Notes
    -----
    Z = sum_i SCAR_i / sqrt(sum_i (L_i - k)/(L_i - k - 2)), N(0, 1). SCAR_i is the
    exactly standardised CAR (for one day, SAR_i = AR_i / (sigma_i sqrt(C_i))); each
    SAR is t-distributed with L_i - k df, whose variance is (L_i - k)/(L_i - k - 2).
    Assumes independence and no event-induced variance. Patell, J. (1976), J.
    Accounting Research 14(2):246-276. estudy2 ``patell`` needs the model conventions
    ``sigma_dof = "sample"`` and ``market_moments = "window"`` (B.1 (a)).

    Conventions (:class:`eventstudy.config.Conventions`): ``forecast_error_by_test``
    ``patell`` (without the correction SAR_i = AR_i / sigma_i and SCAR_i = CAR_i /
    (sigma_i sqrt(L2_i))); ``patell_car = "patell1976"``, the original CAR form for
    CAR windows: Z = (1/sqrt(N)) sum_i CSAR_i / sqrt(L2_i (L_i - k)/(L_i - k - 2)),
    CSAR_i = sum_t SAR_it over the L2_i window days with an AR, each day's SAR with
    its own prediction-error factor C_it (Patell 1976; Dodd & Warner 1983, JFE
    11:401-438; EventStudyTools' "Patell Z" at the CAAR level). It equals the exact
    form only when the C_it and the estimation-error covariances between days are
    ignored. Single days are the same in both forms.

    Value weights: Z = sum_i w_i SCAR_i / sqrt(sum_i w_i^2 (L_i - k)/(L_i - k - 2)),
    the weighted sum of independent standardised residuals over its standard
    deviation; N(0, 1). Equal weights give the formula above. In the ``patell1976``
    form, Z = sum_i w_i z_i / sqrt(sum_i w_i^2), z_i = CSAR_i / sqrt(L2_i (L_i -
    k)/(L_i - k - 2)).
    """
    data = sample.data
    if data.weight is not None:
        z, n, _ = patell_core(sample, weighted=True, test="patell")
        return TestStat(z, z_p(z), n, sample.vw_extra())
    z, n, _ = patell_core(sample, test="patell")
    return TestStat(z, z_p(z), n, sample.mean_extra())


def bmp(sample: Sample) -> TestStat:
    """Boehmer, Musumeci & Poulsen (1991) standardised cross-sectional t.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        t, two-sided p from t(N - 1), N.

    Notes
    -----
    t = mean(SCAR_i) / (s_SCAR / sqrt(N)), s with N - 1; t(N - 1). Robust to
    event-induced variance. JFE 30(2):253-272. estudy2 ``boehmer`` with the model
    conventions of B.1 (a).

    Value weights: the weighted mean of the SCAR_i over sqrt(V), V as in
    :func:`csect_t` (White 1980) on the SCAR_i; t(N - 1). The ``mean`` column is the
    value-weighted CAAR.

    Conventions: ``forecast_error_by_test`` ``bmp``: without the correction SAR_i =
    AR_i / sigma_i and SCAR_i = CAR_i / (sigma_i sqrt(L2_i)) (EventStudyTools' R
    package standardises by the model sigma).
    """
    data, groups = sample.data, sample.groups
    s, ok, engine = standardized(sample, "bmp")
    if data.weight is not None:
        if engine:
            n, mean, v, _ = sample.vw(std=True)
        else:
            m = WeightedMoments.build(s, ok, data.weight, groups)
            n, mean, v = m.n, m.mean, m.var
        with np.errstate(invalid="ignore", divide="ignore"):
            t = mean / np.sqrt(v)
        return TestStat(t, t_p(t, n - 1), n, sample.vw_extra())
    if engine:
        n, mean, var = sample.moments(std=True)
    else:
        mo = Moments.build(s, ok, groups)
        n, mean, var = mo.n, mo.mean, mo.var
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
    return TestStat(t, t_p(t, n - 1), n, sample.mean_extra())


def skew_t(sample: Sample) -> TestStat:
    """Hall (1992) skewness-adjusted t.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        t_sa, two-sided p from N(0, 1), N.

    Notes
    -----
    On x_i = AR_i (or CAR_i): S = mean/s (s with N - 1), gamma = sum (x - mean)^3 /
    (N s^3), t_sa = sqrt(N) (S + gamma S^2/3 + gamma^2 S^3/27 + gamma/(6N)); N(0, 1).
    Hall, P. (1992), JRSS-B 54(1):221-228; used for event studies by Lyon, Barber &
    Tsai (1999, JF 54(1):165-201), who drop the gamma^2 S^3/27 term.
    """
    groups = sample.groups
    x, valid = sample.x()
    n, mean, var = sample.moments()
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(var)
        if sample.shared.compiled:  # cubes as d * d * d: to about 1e-16 relative
            m3 = kernels.compiled().dev_sums(
                x, valid, np.ascontiguousarray(groups.codes, dtype=np.int64), mean,
                groups.n, 3)
        else:
            dev = x - mean[groups.codes]
            m3 = gsum(dev**3, groups, valid)
        g3 = m3 / (n * s**3)
        S = mean / s
        t = np.sqrt(n) * (S + g3 * S**2 / 3 + g3**2 * S**3 / 27 + g3 / (6 * n))
    t = np.where(n > 2, t, np.nan)
    return TestStat(t, z_p(t), n, {"mean": mean})


