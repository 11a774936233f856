"""Test statistics: one function per statistic, one shared signature, one registry.

Every test has the signature ``test(data: PairData, window: Window, groups: Groups) ->
TestStat`` and returns, for every group of the scope at once, the statistic, its
two-sided p-value and the number of pairs used. A "window" is either one event day
(AAR tests) or a CAR window (CAAR tests); for a single day the CAR is the AR.

Notation (see ``methodology.md``): AR_i abnormal return, sigma_i residual standard
deviation with its degrees-of-freedom convention, L_i usable estimation returns, k
coefficients, SAR_i = AR_i / (sigma_i sqrt(C_i)) with the prediction-error factor C_i,
SCAR_i = CAR_i / sd(CAR_i) with sd(CAR_i)^2 = sigma_i^2 (d + gamma'X*(X'X)^-1X*'gamma).
"Days" of the estimation and event windows are event-time columns (relative days);
for events sharing day 0 they are the same calendar days.

All reductions over pairs are grouped sums (``numpy.bincount``), so a scope with
100,000 groups costs the same as one with a single group. Window-independent
intermediates (ranks, the Brown-Warner estimation series, the Kolari-Pynnonen pairwise
correlations) are computed once per :class:`PairData` (:meth:`PairData.memo`).

Conventions
-----------
:attr:`PairData.profile` selects the test conventions (filled from
:attr:`eventstudy.study.Conventions.test_profile`):

``"textbook"`` (default)
    The formulas of the cited papers, as in each test's Notes.
``"estudy2"``
    Reproduces the R package estudy2 0.10.0 (``methodology.md`` B.1): pooled
    generalized-sign p-hat (d); the rank, modified-rank and Corrado-sign day sums
    computed as "row mean x N" and then divided by N_t, with S over the mean M_i (e,
    f, g; the same N/N_t scaling for the sign, generalized-sign and Wilcoxon W+ event
    sums); the CAR rank test ``car_rank_test`` (i); the Brown-Warner and Lamb CAR
    statistics as sums of daily statistics / sqrt(days) (b); Lamb's 1/mean(L) term.
    The residual-variance df (a) and the window market moments are model
    conventions (:class:`eventstudy.study.Conventions`), not test options.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from eventstudy.study import Profile, Windows

if TYPE_CHECKING:
    from eventstudy.engine import AbnormalReturns, Estimates, Stacked

SCOPES = ("all", "group", "event", "event_group")

_BOOT_CHUNK = 1 << 20
"""Bootstrap draws are generated in chunks of about this many pair draws."""


@dataclass(frozen=True)
class Groups:
    """A partition of the pairs: ``codes[i]`` is pair i's group in ``labels``."""

    scope: str
    codes: np.ndarray
    labels: tuple[str, ...]

    @property
    def n(self) -> int:
        """Number of groups."""
        return len(self.labels)


@dataclass(frozen=True)
class Window:
    """One window's per-pair values.

    Attributes
    ----------
    start, end
        Relative days (inclusive); equal for a single day.
    value
        ``(P,)`` AR (single day) or CAR.
    var
        ``(P,)`` its estimated variance (with the prediction-error correction when
        the conventions ask for it).
    length
        Number of days in the window (L2).
    day_index
        Index into the event window (single days) or -1 for CAR windows.
    car_index
        Index into the CAR windows or -1.
    """

    start: int
    end: int
    value: np.ndarray
    var: np.ndarray
    length: int
    day_index: int = -1
    car_index: int = -1

    @property
    def standardized(self) -> np.ndarray:
        """SAR or SCAR: value / sqrt(var)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out: np.ndarray = self.value / np.sqrt(self.var)
        return out


@dataclass(frozen=True)
class TestStat:
    """A test's result for every group of a scope (arrays of length G)."""

    statistic: np.ndarray
    p_value: np.ndarray
    n: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class PairData:
    """Per-pair inputs shared by all tests (leading axis P = kept pairs).

    Attributes
    ----------
    sigma2, dof, nobs
        Residual variance, L - k and L per pair.
    resid
        ``(P, Le)`` estimation-window ARs (residuals), NaN where missing.
    ar, sar, day_var
        ``(P, W)`` event-window ARs, standardised ARs and AR variances.
    car, car_var, car_days
        ``(P, C)`` CARs, their variances and the number of days with data.
    cluster
        ``(P,)`` day-0 date (ns) per pair: pairs sharing it are clustered in time.
    est_dates
        ``(P, Le)`` session dates (ns, -1 = none) of the estimation window.
    rel_days
        ``(W,)`` relative days of the event window.
    car_windows
        The CAR windows ``(start, end)``.
    seed, bootstrap_reps
        Seed and number of draws of the ``boot`` test.
    profile
        Test conventions: ``"textbook"`` or ``"estudy2"`` (see the module notes).
    day_lev
        ``(P, W)`` prediction-error leverage x'(X'X)^-1 x of each event day (zero
        when nothing is estimated); used by ``lamb``. None means zero.
    """

    sigma2: np.ndarray
    dof: np.ndarray
    nobs: np.ndarray
    resid: np.ndarray
    ar: np.ndarray
    sar: np.ndarray
    day_var: np.ndarray
    car: np.ndarray
    car_var: np.ndarray
    car_days: np.ndarray
    cluster: np.ndarray
    est_dates: np.ndarray
    rel_days: np.ndarray
    car_windows: tuple[tuple[int, int], ...]
    seed: int = 12345
    bootstrap_reps: int = 999
    profile: Profile = "textbook"
    day_lev: np.ndarray | None = None
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, st: Stacked, est: Estimates, ar: AbnormalReturns,
              windows: Windows, seed: int = 12345, bootstrap_reps: int = 999,
              profile: Profile = "textbook") -> PairData:
        """Collect the test inputs from the engine's stages.

        ``cluster`` is the day-0 date: the event-window column of day 0 when the
        window contains it, else the pairs' ``day0`` column, else the first
        event-window date (pairs sharing day 0 on one calendar share it too).
        """
        w0, w1 = windows.event
        P = st.evt_dates.shape[0]
        if w0 <= 0 <= w1:
            d0 = st.evt_dates[:, -w0]
        else:
            d0 = st.evt_dates[:, 0] if st.evt_dates.shape[1] else np.full(P, -1)
            if "day0" in st.pairs.columns:
                day0 = pd.to_datetime(st.pairs["day0"]).to_numpy("datetime64[ns]")
                ok = ~np.isnat(day0)
                d0 = np.where(ok, day0.view(np.int64), d0)
        return cls(
            sigma2=est.sigma2, dof=est.dof, nobs=est.nobs, resid=est.resid,
            ar=ar.ar, sar=ar.sar, day_var=ar.day_var, car=ar.car,
            car_var=ar.car_var, car_days=ar.car_days, cluster=d0,
            est_dates=st.est_dates,
            rel_days=np.arange(windows.event[0], windows.event[1] + 1),
            car_windows=tuple(windows.car), seed=seed,
            bootstrap_reps=bootstrap_reps, profile=profile, day_lev=est.lev,
        )

    @property
    def n_pairs(self) -> int:
        """Number of pairs P."""
        return int(self.sigma2.shape[0])

    def windows(self) -> list[Window]:
        """Every single event day, then every CAR window."""
        out = []
        for i, d in enumerate(self.rel_days):
            out.append(Window(int(d), int(d), self.ar[:, i], self.day_var[:, i], 1,
                              day_index=i))
        for j, (a, b) in enumerate(self.car_windows):
            out.append(Window(a, b, self.car[:, j], self.car_var[:, j], b - a + 1,
                              car_index=j))
        return out

    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        """Compute once per key (window-independent intermediates)."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]


# ----------------------------------------------------------------- grouped helpers
def _gsum(x: np.ndarray, g: Groups, valid: np.ndarray) -> np.ndarray:
    return np.bincount(g.codes[valid], weights=x[valid], minlength=g.n)


def _gcount(g: Groups, valid: np.ndarray) -> np.ndarray:
    return np.bincount(g.codes[valid], minlength=g.n).astype(np.float64)


def _gsum2(x: np.ndarray, g: Groups, ok: np.ndarray) -> np.ndarray:
    """Per group and column sums of a ``(P, T)`` array over the cells in ``ok``."""
    T = x.shape[1]
    idx = (g.codes[:, None] * T + np.arange(T)[None, :])[ok]
    out = np.bincount(idx, weights=x[ok], minlength=g.n * T)
    return out.reshape(g.n, T)


def _gcount2(g: Groups, ok: np.ndarray) -> np.ndarray:
    T = ok.shape[1]
    idx = (g.codes[:, None] * T + np.arange(T)[None, :])[ok]
    out = np.bincount(idx, minlength=g.n * T).astype(np.float64)
    return out.reshape(g.n, T)


def _n_all(g: Groups) -> np.ndarray:
    """Number of pairs in each group (whatever their data)."""
    return np.bincount(g.codes, minlength=g.n).astype(np.float64)


def _gmean_all(x: np.ndarray, g: Groups) -> np.ndarray:
    """Group mean of a per-pair quantity over all pairs of the group."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.bincount(g.codes, weights=x, minlength=g.n) / _n_all(g)
    return out


def _gkey(g: Groups) -> str:
    """Memo key of a partition (scope name plus a checksum of the codes)."""
    codes = np.ascontiguousarray(g.codes, dtype=np.int64)
    return f"{g.scope}:{g.n}:{zlib.crc32(codes.tobytes())}"


def _moments(x: np.ndarray, g: Groups, valid: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group n, mean and sample variance (ddof 1), by a two-pass algorithm."""
    n = _gcount(g, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _gsum(x, g, valid) / n
        dev = x - mean[g.codes]
        var = _gsum(dev * dev, g, valid) / (n - 1)
    var = np.where(n > 1, var, np.nan)
    return n, mean, var


def _t_p(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(t) & (df > 0), 2 * stats.t.sf(np.abs(t), df),
                        np.nan)


def _z_p(z: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(z), 2 * stats.norm.sf(np.abs(z)), np.nan)


def _finite(*arrays: np.ndarray) -> np.ndarray:
    ok = np.ones(arrays[0].shape, dtype=bool)
    for a in arrays:
        ok &= np.isfinite(a)
    return ok


def _cols(data: PairData, window: Window) -> np.ndarray:
    """Event-window column indices of the window's days."""
    r0 = int(data.rel_days[0])
    return np.arange(window.start - r0, window.end - r0 + 1)


def _mean_extra(window: Window, groups: Groups) -> dict[str, np.ndarray]:
    valid = _finite(window.value)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _gsum(window.value, groups, valid) / _gcount(groups, valid)
    return {"mean": mean}


def _row_factor(data: PairData, groups: Groups, count: np.ndarray) -> np.ndarray:
    """estudy2's "row mean x N" sums: the factor N_g / N_t (1 under textbook)."""
    if data.profile != "estudy2":
        return np.ones(count.shape)
    n_all = _n_all(groups)
    shape = (-1,) + (1,) * (count.ndim - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = n_all.reshape(shape) / count
    return out


def _daily_combine(daily: np.ndarray) -> np.ndarray:
    """Sum of daily statistics over the days with a value, / sqrt(number of days)."""
    has = np.isfinite(daily)
    nd = has.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(has, daily, 0.0).sum(axis=1) / np.sqrt(nd)
    return np.where(nd > 0, out, np.nan)


def _group_rank(v: np.ndarray, codes: np.ndarray, G: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based, ties averaged) of ``v`` within each group.

    Returns the ranks and, per group, the tie term sum(t^3 - t) over tie blocks.
    """
    m = v.shape[0]
    if m == 0:
        return np.zeros(0), np.zeros(G)
    order = np.lexsort((v, codes))
    cs, vs = codes[order], v[order]
    pos = np.arange(m)
    new_group = np.ones(m, dtype=bool)
    new_group[1:] = cs[1:] != cs[:-1]
    new_block = new_group.copy()
    new_block[1:] |= vs[1:] != vs[:-1]
    gstart = np.maximum.accumulate(np.where(new_group, pos, 0))
    rank1 = (pos - gstart + 1).astype(np.float64)
    block = np.cumsum(new_block) - 1
    bsum = np.bincount(block, weights=rank1)
    bcnt = np.bincount(block).astype(np.float64)
    ranks = np.empty(m)
    ranks[order] = (bsum / bcnt)[block]
    tie = np.bincount(cs[new_block], weights=bcnt**3 - bcnt, minlength=G)
    return ranks, tie


# ----------------------------------------------------------------- parametric tests
def csect_t(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Cross-sectional t test.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

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
    """
    x = window.value
    valid = _finite(x)
    n, mean, var = _moments(x, groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
    return TestStat(t, _t_p(t, n - 1), n, {"mean": mean})


def _bw_series(data: PairData, groups: Groups) -> tuple[np.ndarray, np.ndarray]:
    """Brown-Warner S per group: sample SD of the estimation-window AAR_t series,
    and the number of days in the series."""

    def make() -> tuple[np.ndarray, np.ndarray]:
        ok = np.isfinite(data.resid)
        s = _gsum2(data.resid, groups, ok)
        c = _gcount2(groups, ok)
        has = c > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            aar = np.where(has, s / np.where(has, c, 1.0), 0.0)
            nd = has.sum(axis=1).astype(np.float64)
            mean = aar.sum(axis=1) / nd
            var = np.where(has, (aar - mean[:, None]) ** 2, 0.0).sum(axis=1) / (nd - 1)
        S = np.where(nd > 1, np.sqrt(var), np.nan)
        return S, nd

    out: tuple[np.ndarray, np.ndarray] = data.memo("bw85:" + _gkey(groups), make)
    return out


def _daily_aar(data: PairData, window: Window, groups: Groups
               ) -> tuple[np.ndarray, np.ndarray]:
    """(G, d) daily AARs over the window's days and their pair counts."""
    A = data.ar[:, _cols(data, window)]
    ok = np.isfinite(A)
    c = _gcount2(groups, ok)
    with np.errstate(invalid="ignore", divide="ignore"):
        aar = _gsum2(A, groups, ok) / c
    return aar, c


def bw_t(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Brown & Warner (1985) time-series t with the crude dependence adjustment.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

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
    """
    x = window.value
    valid = _finite(x)
    n = _gcount(groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _gsum(x, groups, valid) / n
    S, nd = _bw_series(data, groups)
    if data.profile == "estudy2":
        aar, _ = _daily_aar(data, window, groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = _daily_combine(aar / S[:, None])
        df = _gmean_all(data.nobs, groups) - 1
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            t = mean / (np.sqrt(window.length) * S)
        df = nd - 1
    t = np.where(n > 0, t, np.nan)
    return TestStat(t, _t_p(t, df), n, {"mean": mean})


def bw_1980(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Brown & Warner (1980) t assuming cross-sectional independence.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

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
    """
    x = window.value
    valid = _finite(x) & np.isfinite(data.sigma2)
    n = _gcount(groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _gsum(x, groups, valid) / n
        sd = np.sqrt(_gsum(data.sigma2, groups, valid)) / n
        t = mean / (np.sqrt(window.length) * sd)
        df = _gsum(data.nobs, groups, valid) / n - 1
    return TestStat(t, _t_p(t, df), n, {"mean": mean})


def lamb(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Lamb (1995) Brown-Warner-type test with a prediction-error term.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

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
    x = window.value
    valid = _finite(x)
    n = _gcount(groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _gsum(x, groups, valid) / n
    S, _ = _bw_series(data, groups)
    cols = _cols(data, window)
    aar, c = _daily_aar(data, window, groups)
    A = data.ar[:, cols]
    ok = np.isfinite(A)
    lev = (np.zeros(A.shape) if data.day_lev is None
           else np.nan_to_num(data.day_lev[:, cols]))
    with np.errstate(invalid="ignore", divide="ignore"):
        if data.profile == "estudy2":
            inv_l = 1.0 / data.nobs
            q = _gsum2(lev - inv_l[:, None], groups, ok) / c
            C = 1.0 + 1.0 / _gmean_all(data.nobs, groups)[:, None] + q
        else:
            C = 1.0 + _gsum2(lev, groups, ok) / c
        daily = aar / (S[:, None] * np.sqrt(C))
    z = np.where(n > 0, _daily_combine(daily), np.nan)
    return TestStat(z, _z_p(z), n, {"mean": mean})


def _patell_core(data: PairData, window: Window, groups: Groups
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = window.standardized
    valid = _finite(s) & (data.dof > 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = data.dof / (data.dof - 2)
        z = _gsum(s, groups, valid) / np.sqrt(_gsum(v, groups, valid))
    n = _gcount(groups, valid)
    z = np.where(n > 0, z, np.nan)
    return z, n, valid


def patell(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Patell (1976) standardised-residual Z test.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

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
    """
    z, n, _ = _patell_core(data, window, groups)
    return TestStat(z, _z_p(z), n, _mean_extra(window, groups))


def bmp(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Boehmer, Musumeci & Poulsen (1991) standardised cross-sectional t.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

    Returns
    -------
    TestStat
        t, two-sided p from t(N - 1), N.

    Notes
    -----
    t = mean(SCAR_i) / (s_SCAR / sqrt(N)), s with N - 1; t(N - 1). Robust to
    event-induced variance. JFE 30(2):253-272. estudy2 ``boehmer`` with the model
    conventions of B.1 (a).
    """
    s = window.standardized
    valid = _finite(s)
    n, mean, var = _moments(s, groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
    return TestStat(t, _t_p(t, n - 1), n, _mean_extra(window, groups))


# ----------------------------------------------------------------- Kolari-Pynnonen
def _cluster_correlations(data: PairData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise residual correlations of every two pairs sharing day 0.

    Correlations use the calendar days both pairs have (``est_dates``), Pearson on
    that overlap; fewer than 3 common days or a constant series gives NaN (counted
    as 0). Returns pair indices i < j and r_ij.
    """
    cl = np.asarray(data.cluster, dtype=np.int64)
    idx = np.flatnonzero(cl >= 0)
    order = idx[np.argsort(cl[idx], kind="stable")]
    scl = cl[order]
    bounds = np.flatnonzero(np.diff(scl)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(order)]])
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_r: list[np.ndarray] = []
    for a, b in zip(starts, ends, strict=True):  # one pass per distinct day 0
        if b - a < 2:
            continue
        mem = order[a:b]
        d = data.est_dates[mem]
        v = data.resid[mem]
        ok = (d >= 0) & np.isfinite(v)
        days = np.unique(d[ok])
        m = len(mem)
        X = np.zeros((m, len(days)))
        M = np.zeros((m, len(days)))
        ri, ci = np.nonzero(ok)
        pos = np.searchsorted(days, d[ri, ci])
        X[ri, pos] = v[ri, ci]
        M[ri, pos] = 1.0
        n = M @ M.T
        sx = X @ M.T  # sx[i, j]: sum of x_i over the days j also has
        sxx = (X * X) @ M.T
        sxy = X @ X.T
        with np.errstate(invalid="ignore", divide="ignore"):
            num = n * sxy - sx * sx.T
            den = np.sqrt((n * sxx - sx**2) * (n * sxx.T - sx.T**2))
            r = np.where((n >= 3) & (den > 0), num / den, np.nan)
        iu, ju = np.triu_indices(m, 1)
        out_i.append(mem[iu])
        out_j.append(mem[ju])
        out_r.append(r[iu, ju])
    if not out_i:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0)
    return (np.concatenate(out_i), np.concatenate(out_j),
            np.nan_to_num(np.concatenate(out_r)))


def _rbar(data: PairData, groups: Groups, valid: np.ndarray) -> np.ndarray:
    """r-bar_g = sum of clustered-pair correlations in g / (n_g (n_g - 1) / 2)."""
    i, j, r = data.memo("kp_corr", lambda: _cluster_correlations(data))
    codes = groups.codes
    keep = valid[i] & valid[j] & (codes[i] == codes[j])
    s = np.bincount(codes[i][keep], weights=r[keep], minlength=groups.n)
    n = _gcount(groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        rb = s / (n * (n - 1) / 2)
    return np.where(n > 1, rb, 0.0)


def patell_kp(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Kolari & Pynnonen (2010) cross-correlation adjusted Patell Z.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N; extra ``rbar``.

    Notes
    -----
    Z_KP = Z_Patell sqrt(1 / (1 + (N - 1) r-bar)), N(0, 1). r-bar is the average
    pairwise correlation of estimation-window residuals over the calendar days two
    pairs share, counting only pairs clustered in time (same day-0 date); pairs not
    clustered contribute 0: r-bar_g = sum of clustered-pair r_ij in g / (N (N - 1)/2).
    Kolari, J. & Pynnonen, S. (2010), Review of Financial Studies 23(11):3996-4025.
    """
    z, n, valid = _patell_core(data, window, groups)
    rb = _rbar(data, groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = 1.0 + (n - 1) * rb
        zk = np.where(f > 0, z * np.sqrt(1.0 / f), np.nan)
    extra = _mean_extra(window, groups)
    extra["rbar"] = rb
    return TestStat(zk, _z_p(zk), n, extra)


def bmp_kp(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Kolari & Pynnonen (2010) cross-correlation adjusted BMP t.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

    Returns
    -------
    TestStat
        t, two-sided p from t(N - 1), N; extra ``rbar``.

    Notes
    -----
    t_KP = t_BMP sqrt((1 - r-bar) / (1 + (N - 1) r-bar)); t(N - 1). The (1 - r-bar)
    corrects the downward bias of the cross-sectional variance under a common
    correlation; r-bar as in :func:`patell_kp`. Kolari & Pynnonen (2010), RFS
    23(11):3996-4025.
    """
    s = window.standardized
    valid = _finite(s)
    n, mean, var = _moments(s, groups, valid)
    rb = _rbar(data, groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
        f = (1.0 - rb) / (1.0 + (n - 1) * rb)
        tk = np.where(f > 0, t * np.sqrt(f), np.nan)
    extra = _mean_extra(window, groups)
    extra["rbar"] = rb
    return TestStat(tk, _t_p(tk, n - 1), n, extra)


def skew_t(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Hall (1992) skewness-adjusted t.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

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
    x = window.value
    valid = _finite(x)
    n, mean, var = _moments(x, groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(var)
        dev = x - mean[groups.codes]
        g3 = _gsum(dev**3, groups, valid) / (n * s**3)
        S = mean / s
        t = np.sqrt(n) * (S + g3 * S**2 / 3 + g3**2 * S**3 / 27 + g3 / (6 * n))
    t = np.where(n > 2, t, np.nan)
    return TestStat(t, _z_p(t), n, {"mean": mean})


# ----------------------------------------------------------------- rank and sign
def _union_values(data: PairData, cols: np.ndarray | None) -> np.ndarray:
    """(P, Le + d) estimation residuals followed by the event ARs of ``cols``."""
    ev = data.ar if cols is None else data.ar[:, cols]
    return np.concatenate([data.resid, ev], axis=1)


def _scores(data: PairData, kind: str, cols: np.ndarray | None = None) -> np.ndarray:
    """Per-pair scores over estimation + event days (memoised).

    ``rank``: K - (M_i + 1)/2; ``urank``: K/(M_i + 1) - 1/2; ``sign``: sign(AR -
    median_i); ``raw``: K. K ranks AR within the pair over its M_i non-missing days.
    """
    key = f"scores:{kind}" + ("" if cols is None else f":{cols[0]}:{cols[-1]}")

    def make() -> np.ndarray:
        V = _union_values(data, cols)
        ok = np.isfinite(V)
        M = ok.sum(axis=1).astype(np.float64)[:, None]
        if kind == "sign":
            with np.errstate(invalid="ignore"):
                med = np.nanmedian(np.where(ok.any(axis=1)[:, None], V, 0.0), axis=1)
            return np.where(ok, np.sign(V - med[:, None]), np.nan)
        K = stats.rankdata(V, axis=1, nan_policy="omit")
        if kind == "rank":
            return np.asarray(K - (M + 1) / 2)
        if kind == "urank":
            return np.asarray(K / (M + 1) - 0.5)
        return np.asarray(K)

    out: np.ndarray = data.memo(key, make)
    return out


def _day_stats(data: PairData, groups: Groups, kind: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """Daily standardised sums D_t (G, T) and their S (G,) for a score kind.

    D_t = sum_i s_it / N_t (``rank``) or / sqrt(N_t) (``urank``, ``sign``); under
    ``estudy2`` multiplied by N_g / N_t. S^2 = (1/T) sum_t D_t^2 over the days with
    data, T = their number (textbook) or the group's mean M_i (estudy2).
    """

    def make() -> tuple[np.ndarray, np.ndarray]:
        sc = _scores(data, kind)
        ok = np.isfinite(sc)
        s = _gsum2(sc, groups, ok)
        c = _gcount2(groups, ok)
        has = c > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            f = 1.0 / c if kind == "rank" else 1.0 / np.sqrt(c)
            D = np.where(has, s * f * _row_factor(data, groups, c), np.nan)
            if data.profile == "estudy2":
                T = _gmean_all(ok.sum(axis=1).astype(np.float64), groups)
            else:
                T = has.sum(axis=1).astype(np.float64)
            S = np.sqrt(np.where(has, D**2, 0.0).sum(axis=1) / T)
        return D, S

    out: tuple[np.ndarray, np.ndarray] = data.memo(f"days:{kind}:{_gkey(groups)}",
                                                   make)
    return out


def _rank_family(data: PairData, window: Window, groups: Groups, kind: str
                 ) -> TestStat:
    D, S = _day_stats(data, groups, kind)
    Le = data.resid.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        daily = D[:, Le + _cols(data, window)] / S[:, None]
    z = _daily_combine(daily)
    valid = _finite(window.value)
    n = _gcount(groups, valid)
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, _z_p(z), n, _mean_extra(window, groups))


def _car_rank_estudy2(data: PairData, window: Window, groups: Groups) -> TestStat:
    cols = _cols(data, window)
    K = _scores(data, "raw", cols)
    ok = np.isfinite(K)
    M = ok.sum(axis=1).astype(np.float64)
    Le = data.resid.shape[1]
    c = _gcount2(groups, ok)
    has = c > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        kbar = _gsum2(K, groups, ok) / c
        mean_rank = _gmean_all((M + 1) / 2, groups)
        mean_m = _gmean_all(M, groups)
        ev_mean = (_gsum2(K[:, Le:], groups, ok[:, Le:]).sum(axis=1)
                   / c[:, Le:].sum(axis=1))
        days = has[:, Le:].sum(axis=1)
        den = np.sqrt(np.where(has, (kbar - mean_rank[:, None]) ** 2, 0.0).sum(axis=1)
                      / mean_m)
        z = np.sqrt(days) * (ev_mean - mean_rank) / den
    valid = _finite(window.value)
    n = _gcount(groups, valid)
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, _z_p(z), n, _mean_extra(window, groups))


def corrado(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Corrado (1989) rank test; Campbell-Wasley window-mean rank for CARs.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N.

    Notes
    -----
    K_it ranks AR_it within pair i over its M_i non-missing estimation and event days.
    K-bar_t = (1/N_t) sum_i (K_it - (M_i + 1)/2); S_K^2 = (1/T) sum_t K-bar_t^2 over
    the T days with data (estimation and event window). Day tau: Z = K-bar_tau / S_K.
    CAR window (Campbell & Wasley 1993; Cowan 1992): Z = sqrt(L2) mean_{tau in W}
    K-bar_tau / S_K = sum_tau Z_tau / sqrt(L2). N(0, 1). Corrado, C. (1989), JFE
    23(2):385-395.

    ``estudy2`` (``rank_test``): K-bar_t = (mean_i deviation x N_g) / N_t and T = mean
    M_i (B.1 (e)). CAR window (``car_rank_test``, B.1 (i)): ranks over the estimation
    and CAR days only; Z = sqrt(L2) (mean event K - mean_i (M_i+1)/2) / sqrt(sum_t
    (mean_i K_it - mean_i (M_i+1)/2)^2 / mean M_i).
    """
    if window.car_index >= 0 and data.profile == "estudy2":
        return _car_rank_estudy2(data, window, groups)
    return _rank_family(data, window, groups, "rank")


def mrank(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Corrado & Zivney (1992) standardised (modified) rank test.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N.

    Notes
    -----
    U_it = K_it / (M_i + 1) with K as in :func:`corrado` (ranks of AR_it / sigma_i
    are the ranks of AR_it). D_t = (1/sqrt(N_t)) sum_i (U_it - 1/2); S_U^2 = (1/T)
    sum_t D_t^2; Z = D_tau / S_U. CAR window: sum_tau Z_tau / sqrt(L2). N(0, 1).
    Handles missing days and unequal M_i. Corrado & Zivney (1992), JFQA
    27(3):465-478; estudy2 ``modified_rank_test`` (with the B.1 (f) row quirk and T =
    mean M_i under ``estudy2``).
    """
    return _rank_family(data, window, groups, "urank")


def csign(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Corrado & Zivney (1992) sign test centred at each pair's median.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N.

    Notes
    -----
    G_it = sign(AR_it - median_i), median over the pair's estimation and event days.
    D_t = (1/sqrt(N_t)) sum_i G_it; S_G^2 = (1/T) sum_t D_t^2; Z = D_tau / S_G. CAR
    window: sum_tau Z_tau / sqrt(L2). N(0, 1). Corrado & Zivney (1992), JFQA
    27(3):465-478; estudy2 ``corrado_sign_test`` (B.1 (g); row quirk and T = mean M_i
    under ``estudy2``).
    """
    return _rank_family(data, window, groups, "sign")


def grank(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Kolari & Pynnonen (2011) generalized rank test (t version).

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

    Returns
    -------
    TestStat
        t_GRANK, two-sided p from t(T - 2), N.

    Notes
    -----
    SCAR*_i = SCAR_i / s(SCAR) (cross-sectional SD within the group; SAR for a day).
    GSAR_it = AR_it / sigma_i on the estimation days and GSAR_i0 = SCAR*_i for the
    window, counted as one day. U_it = rank(GSAR_it) / (T_i + 1) - 1/2 over the T_i =
    L_i + 1 values. U-bar_t = (1/N_t) sum_i U_it; S^2 = (1/T) sum_t (N_t/N) U-bar_t^2,
    T = days with data (estimation days + 1). Z = U-bar_0 / S; t = Z sqrt((T - 2) /
    (T - 1 - Z^2)); t(T - 2). Robust to event-induced volatility and serial
    correlation. Kolari, J. & Pynnonen, S. (2011), J. Empirical Finance
    18(5):953-971.
    """
    x0 = window.standardized
    valid = _finite(x0)
    _, _, var = _moments(x0, groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = x0 / np.sqrt(var)[groups.codes]
    valid &= np.isfinite(x)

    def make() -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            e = data.resid / np.sqrt(data.sigma2)[:, None]
        e = np.where(np.isfinite(e), e, np.nan)
        return e, np.asarray(stats.rankdata(e, axis=1, nan_policy="omit"))

    e, re = data.memo("grank_est", make)
    ok = np.isfinite(e) & valid[:, None]
    xi = np.where(valid, x, 0.0)[:, None]
    L = ok.sum(axis=1).astype(np.float64)
    Ti = L + 1
    with np.errstate(invalid="ignore"):
        below = np.where(ok, (e < xi) + 0.5 * (e == xi), 0.0)
        above = np.where(ok, (xi < e) + 0.5 * (xi == e), 0.0)
    r0 = 1.0 + below.sum(axis=1)
    u0 = r0 / (Ti + 1) - 0.5
    ue = np.where(ok, (re + above) / (Ti + 1)[:, None] - 0.5, 0.0)
    s_e = _gsum2(ue, groups, ok)
    c_e = _gcount2(groups, ok)
    n = _gcount(groups, valid)
    has = c_e > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        ubar_e = np.where(has, s_e / np.where(has, c_e, 1.0), 0.0)
        ubar0 = _gsum(u0, groups, valid) / n
        T = has.sum(axis=1) + 1.0
        S2 = ((c_e / n[:, None] * ubar_e**2).sum(axis=1) + ubar0**2) / T
        Z = ubar0 / np.sqrt(S2)
        t = Z * np.sqrt((T - 2) / (T - 1 - Z**2))
    t = np.where((n > 1) & np.isfinite(t), t, np.nan)
    return TestStat(t, _t_p(t, T - 2), n, _mean_extra(window, groups))


def sign(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Simple sign test of a median of zero.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N.

    Notes
    -----
    w = #{i : CAR_i > 0} (AR for a day), Z = (w - N/2) / sqrt(N/4); N(0, 1), the
    normal approximation to Binomial(N, 1/2). Boehmer, Musumeci & Poulsen (1991);
    estudy2 ``sign_test`` (w scaled by N_g/N under ``estudy2``).
    """
    x = window.value
    valid = _finite(x)
    n = _gcount(groups, valid)
    w = _gsum((x > 0).astype(np.float64), groups, valid) * _row_factor(data, groups, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (w - n / 2) / np.sqrt(n / 4)
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, _z_p(z), n, _mean_extra(window, groups))


def gsign(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Cowan (1992) generalized sign test.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N.

    Notes
    -----
    p-hat = (1/N) sum_i (1/L_i) sum_{t in E_i} 1[AR_it > 0] (average of the pairs'
    fractions of positive estimation residuals); w = #{i : CAR_i > 0} (AR for a day);
    Z = (w - N p-hat) / sqrt(N p-hat (1 - p-hat)); N(0, 1). CAR windows use the same
    daily p-hat (as Eventus does). Allows an asymmetric AR distribution. Cowan, A.
    (1992), Rev. Quant. Finance & Accounting 2(4):343-358.

    ``estudy2`` (``generalized_sign_test``, B.1 (d)): p-hat pooled over all the
    group's pair-days, sum_i #positive_i / sum_i L_i, and w scaled by N_g/N.
    """
    x = window.value
    valid = _finite(x)
    n = _gcount(groups, valid)

    def make() -> tuple[np.ndarray, np.ndarray]:
        ok = np.isfinite(data.resid)
        pos = np.where(ok, data.resid > 0, False).sum(axis=1).astype(np.float64)
        return pos, ok.sum(axis=1).astype(np.float64)

    pos, L = data.memo("gsign", make)
    with np.errstate(invalid="ignore", divide="ignore"):
        if data.profile == "estudy2":
            p = (np.bincount(groups.codes, weights=pos, minlength=groups.n)
                 / np.bincount(groups.codes, weights=L, minlength=groups.n))
        else:
            ok = valid & (L > 0)
            p = _gsum(pos / np.where(L > 0, L, 1.0), groups, ok) / _gcount(groups, ok)
        w = (_gsum((x > 0).astype(np.float64), groups, valid)
             * _row_factor(data, groups, n))
        z = (w - n * p) / np.sqrt(n * p * (1 - p))
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, _z_p(z), n, _mean_extra(window, groups))


def wilcoxon(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Wilcoxon (1945) signed-rank test, normal approximation with tie correction.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

    Returns
    -------
    TestStat
        z, two-sided p from N(0, 1), n (non-zero values); extra ``w_plus`` (W+).

    Notes
    -----
    Zeros are dropped (n non-zero values). W+ = sum of the ranks of |x_i| (ties
    averaged) over x_i > 0; E = n(n+1)/4; Var = n(n+1)(2n+1)/24 - sum(t^3 - t)/48 over
    tie blocks; z = (W+ - E)/sqrt(Var), no continuity correction; N(0, 1). Assumes
    symmetry about 0 and independence. Wilcoxon, F. (1945), Biometrics Bulletin
    1(6):80-83; estudy2 ``wilcoxon_test`` reports W+ (scaled by N_g/n under
    ``estudy2``) with exact critical values, which are not reproduced here.
    """
    x = window.value
    valid = _finite(x)
    nz = valid & (x != 0)
    idx = np.flatnonzero(nz)
    ranks, tie = _group_rank(np.abs(x[idx]), groups.codes[idx], groups.n)
    posv = x[idx] > 0
    wplus = np.bincount(groups.codes[idx][posv], weights=ranks[posv],
                        minlength=groups.n)
    n = _gcount(groups, nz)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = n * (n + 1) / 4
        v = n * (n + 1) * (2 * n + 1) / 24 - tie / 48
        z = np.where((n > 0) & (v > 0), (wplus - e) / np.sqrt(v), np.nan)
        wp = wplus * _row_factor(data, groups, n)
    extra = _mean_extra(window, groups)
    extra["w_plus"] = np.where(n > 0, wp, np.nan)
    return TestStat(z, _z_p(z), n, extra)


def boot(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Bootstrap t: the mean over its bootstrap standard error, with a percentile CI.

    Parameters
    ----------
    data, window, groups
        Pair inputs, the window and the partition (shared test signature).

    Returns
    -------
    TestStat
        mean / SD_boot, two-sided p from N(0, 1), N; extras ``ci_low``, ``ci_high``
        (2.5% and 97.5% percentiles of the bootstrap means).

    Notes
    -----
    B = ``data.bootstrap_reps`` resamples of the group's N values x_i = CAR_i (AR for
    a day), drawn with replacement within the group; SD_boot is the SD (ddof 1) of
    the B resample means. The generator is seeded from ``data.seed``, the scope and
    the window, and pairs are put in a canonical order (group label, value), so the
    result does not depend on the order of the events, on which windows or scopes are
    evaluated first, or on the chunking of the draws (chunks of about 2^20 draws are
    taken sequentially from one stream). Memory O(B G + chunk). Efron & Tibshirani
    (1993), An Introduction to the Bootstrap; Lyon, Barber & Tsai (1999, JF 54:165-201)
    for bootstrapped event-study tests.
    """
    x = window.value
    valid = _finite(x)
    G = groups.n
    n = _gcount(groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _gsum(x, groups, valid) / n
    B = int(data.bootstrap_reps)
    xv = x[valid]
    cv = groups.codes[valid]
    m = len(xv)
    if m == 0 or B < 2:
        nan = np.full(G, np.nan)
        return TestStat(nan, nan.copy(), n, {"mean": mean, "ci_low": nan.copy(),
                                             "ci_high": nan.copy()})
    label_rank = np.argsort(np.argsort(np.array(groups.labels, dtype=object),
                                       kind="stable"), kind="stable")
    order = np.lexsort((xv, label_rank[cv]))
    xs, gs = xv[order], cv[order]
    first = np.full(G, m, dtype=np.int64)
    np.minimum.at(first, gs, np.arange(m))
    start = first[gs]
    size = n[gs]
    tag = f"{groups.scope}|{window.start}|{window.end}".encode()
    rng = np.random.default_rng(np.random.SeedSequence(
        [int(data.seed) & 0xFFFFFFFF, zlib.crc32(tag)]))
    means = np.empty((B, G))
    chunk = max(1, min(B, _BOOT_CHUNK // m))
    for b0 in range(0, B, chunk):  # chunks of draws, one sequential stream
        c = min(chunk, B - b0)
        u = rng.random((c, m))
        pick = start[None, :] + np.floor(u * size[None, :]).astype(np.int64)
        idx = (np.arange(c)[:, None] * G + gs[None, :]).ravel()
        sums = np.bincount(idx, weights=xs[pick].ravel(), minlength=c * G)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[b0:b0 + c] = sums.reshape(c, G) / n
    sd = means.std(axis=0, ddof=1)
    lo, hi = np.quantile(means, [0.025, 0.975], axis=0)
    ok = (n > 1) & (sd > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(ok, mean / sd, np.nan)
    return TestStat(z, _z_p(z), n, {"mean": mean,
                                   "ci_low": np.where(n > 0, lo, np.nan),
                                   "ci_high": np.where(n > 0, hi, np.nan)})


TestFunction = Callable[[PairData, Window, Groups], TestStat]

TESTS: dict[str, TestFunction] = {
    "csect_t": csect_t,
    "bw_t": bw_t,
    "bw_1980": bw_1980,
    "lamb": lamb,
    "patell": patell,
    "patell_kp": patell_kp,
    "bmp": bmp,
    "bmp_kp": bmp_kp,
    "skew_t": skew_t,
    "corrado": corrado,
    "mrank": mrank,
    "grank": grank,
    "sign": sign,
    "gsign": gsign,
    "csign": csign,
    "wilcoxon": wilcoxon,
    "boot": boot,
}
"""Registry of test statistics: name -> function with the shared signature."""


# ----------------------------------------------------------------- running
def make_groups(pairs: pd.DataFrame, scope: str) -> Groups:
    """Partition pairs by scope: ``all``, ``group``, ``event`` or ``event_group``.

    Labels keep first-appearance order (catalog, then universe order).
    """
    P = len(pairs)
    if scope == "all":
        return Groups(scope, np.zeros(P, dtype=np.int64), ("all",))
    if scope == "group":
        key = pairs["group"].astype(str)
    elif scope == "event":
        key = pairs["event_id"].astype(str)
    elif scope == "event_group":
        key = pairs["event_id"].astype(str) + ":" + pairs["group"].astype(str)
    else:
        raise ValueError(f"unknown scope {scope!r}")
    codes, labels = pd.factorize(key, sort=False)
    return Groups(scope, codes.astype(np.int64), tuple(str(x) for x in labels))


def run_tests(data: PairData, pairs: pd.DataFrame, tests: tuple[str, ...],
              windows: Windows, scopes: tuple[str, ...] = SCOPES) -> pd.DataFrame:
    """Run every test for every scope and window; one tidy table.

    Returns
    -------
    pandas.DataFrame
        Columns ``scope, scope_value, window_start, window_end, window_kind, test,
        statistic, p_value, n, mean, p_bh`` plus test-specific extras (``rbar``, ``ci_low``,
        ``ci_high``, ``w_plus``). Rows ordered by scope, group (first appearance),
        window (each day, then the CAR windows) and test (in the order requested).
        ``window_kind`` is ``day`` for a single event day (AAR tests) and ``car``
        for a CAR window (CAAR tests), so day 0 and the CAR window [0, 0] are told
        apart.
        ``p_bh`` is the Benjamini-Hochberg adjusted p-value over the whole table.
    """
    wins = data.windows()
    keys: dict[str, list[np.ndarray]] = {k: [] for k in ("_s", "_g", "_w", "_t")}
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("scope", "scope_value", "window_start", "window_end",
                        "window_kind", "test", "statistic", "p_value", "n") + _EXTRAS}
    seen: set[str] = set()
    for si, scope in enumerate(scopes):
        g = make_groups(pairs, scope)
        labels = np.array(g.labels, dtype=object)
        gi = np.arange(g.n)
        nan = np.full(g.n, np.nan)
        for wi, w in enumerate(wins):
            for ti, name in enumerate(tests):
                r = TESTS[name](data, w, g)
                for k, v in (("_s", si), ("_w", wi), ("_t", ti)):
                    keys[k].append(np.full(g.n, v))
                keys["_g"].append(gi)
                parts["scope"].append(np.full(g.n, scope, dtype=object))
                parts["scope_value"].append(labels)
                parts["window_start"].append(np.full(g.n, w.start))
                parts["window_end"].append(np.full(g.n, w.end))
                parts["window_kind"].append(np.full(
                    g.n, "day" if w.day_index >= 0 else "car", dtype=object))
                parts["test"].append(np.full(g.n, name, dtype=object))
                parts["statistic"].append(np.asarray(r.statistic, dtype=np.float64))
                parts["p_value"].append(np.asarray(r.p_value, dtype=np.float64))
                parts["n"].append(np.asarray(r.n).astype(np.int64))
                for k in _EXTRAS:
                    if k in r.extra:
                        seen.add(k)
                    parts[k].append(np.asarray(r.extra.get(k, nan), dtype=np.float64))
    cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    kk = {k: np.concatenate(v) if v else np.zeros(0) for k, v in keys.items()}
    order = np.lexsort((kk["_t"], kk["_w"], kk["_g"], kk["_s"]))
    base = ["scope", "scope_value", "window_start", "window_end", "window_kind",
            "test", "statistic", "p_value", "n", "mean"]
    out = pd.DataFrame({k: cat[k][order] for k in base})
    out["p_bh"] = bh_adjust(out["p_value"].to_numpy(dtype=np.float64))
    for k in _EXTRAS[1:]:
        if k in seen:
            out[k] = cat[k][order]
    return out


_EXTRAS = ("mean", "rbar", "ci_low", "ci_high", "w_plus")
"""Extra columns of the tests table (``mean`` is always present)."""


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg (1995) adjusted p-values; NaN stays NaN.

    Notes
    -----
    p_(i)^BH = min_{j >= i} min(1, m p_(j) / j) over the m non-missing p-values
    sorted ascending. Benjamini & Hochberg (1995), JRSS-B 57(1):289-300.

    Examples
    --------
    >>> bh_adjust(np.array([0.01, 0.04, np.nan, 0.03])).round(3)
    array([0.03, 0.04,  nan, 0.04])
    """
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out
