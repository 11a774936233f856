"""Test statistics: one function per statistic, one shared signature, one registry.

Every test has the signature ``test(data: PairData, window: Window, groups: Groups) ->
TestStat`` and returns, for every group of the scope at once, the statistic, its
two-sided p-value and the number of pairs used. A "window" is either one event day
(AAR tests) or a CAR window (CAAR tests); for a single day the CAR is the AR.

Notation (see ``methodology.md``): AR_i abnormal return, sigma_i residual standard
deviation with its degrees-of-freedom convention, L_i usable estimation returns, k
coefficients, SAR_i = AR_i / (sigma_i sqrt(C_i)) with the prediction-error factor C_i,
SCAR_i = CAR_i / sd(CAR_i) with sd(CAR_i)^2 = sigma_i^2 (d + gamma'X*(X'X)^-1X*'gamma).

All reductions over pairs are grouped sums (``numpy.bincount``), so a scope with
100,000 groups costs the same as one with a single group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from eventstudy.study import Windows

if TYPE_CHECKING:
    from eventstudy.engine import AbnormalReturns, Estimates, Stacked

SCOPES = ("all", "group", "event", "event_group")


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
            return self.value / np.sqrt(self.var)


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
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, st: Stacked, est: Estimates, ar: AbnormalReturns,
              windows: Windows, seed: int = 12345, bootstrap_reps: int = 999
              ) -> PairData:
        """Collect the test inputs from the engine's stages."""
        w0 = windows.event[0]
        d0 = st.evt_dates[:, -w0] if w0 <= 0 else st.evt_dates[:, 0]
        return cls(
            sigma2=est.sigma2, dof=est.dof, nobs=est.nobs, resid=est.resid,
            ar=ar.ar, sar=ar.sar, day_var=ar.day_var, car=ar.car,
            car_var=ar.car_var, car_days=ar.car_days, cluster=d0,
            est_dates=st.est_dates,
            rel_days=np.arange(windows.event[0], windows.event[1] + 1),
            car_windows=tuple(windows.car), seed=seed,
            bootstrap_reps=bootstrap_reps,
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


# ----------------------------------------------------------------- parametric tests
def csect_t(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Cross-sectional t test.

    Notes
    -----
    t = mean(CAR_i) / (s / sqrt(N)), s^2 = sum (CAR_i - mean)^2 / (N - 1); t(N - 1).
    For a single day CAR_i = AR_i (the AAR test). Robust to event-induced variance;
    assumes independence across pairs. Brown & Warner (1985, JFE 14:3-31); Boehmer,
    Musumeci & Poulsen (1991).
    """
    x = window.value
    valid = _finite(x)
    n, mean, var = _moments(x, groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
    return TestStat(t, _t_p(t, n - 1), n, {"mean": mean})


def patell(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Patell (1976) standardised-residual Z test.

    Notes
    -----
    Z = sum_i SCAR_i / sqrt(sum_i (L_i - k)/(L_i - k - 2)), N(0, 1). SCAR_i is the
    exactly standardised CAR (for one day, SAR_i = AR_i / (sigma_i sqrt(C_i))); each
    SAR is t-distributed with L_i - k df, whose variance is (L_i - k)/(L_i - k - 2).
    Patell, J. (1976), J. Accounting Research 14(2):246-276.
    """
    s = window.standardized
    valid = _finite(s) & (data.dof > 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = data.dof / (data.dof - 2)
        z = _gsum(s, groups, valid) / np.sqrt(_gsum(v, groups, valid))
    n = _gcount(groups, valid)
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, _z_p(z), n, _mean_extra(window, groups))


def bmp(data: PairData, window: Window, groups: Groups) -> TestStat:
    """Boehmer, Musumeci & Poulsen (1991) standardised cross-sectional t.

    Notes
    -----
    t = mean(SCAR_i) / (s_SCAR / sqrt(N)), s with N - 1; t(N - 1). Robust to
    event-induced variance. JFE 30(2):253-272.
    """
    s = window.standardized
    valid = _finite(s)
    n, mean, var = _moments(s, groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
    return TestStat(t, _t_p(t, n - 1), n, _mean_extra(window, groups))


def _mean_extra(window: Window, groups: Groups) -> dict[str, np.ndarray]:
    valid = _finite(window.value)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _gsum(window.value, groups, valid) / _gcount(groups, valid)
    return {"mean": mean}


TestFunction = Callable[[PairData, Window, Groups], TestStat]

TESTS: dict[str, TestFunction] = {
    "csect_t": csect_t,
    "patell": patell,
    "bmp": bmp,
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
        Columns ``scope, scope_value, window_start, window_end, test, statistic,
        p_value, n, mean, p_bh`` plus test-specific extras (``rbar``, ``ci_low``,
        ``ci_high``). Rows ordered by scope, group (first appearance), window (each
        day, then the CAR windows) and test (in the order requested). ``p_bh`` is the
        Benjamini-Hochberg adjusted p-value over the whole table.
    """
    frames = []
    wins = data.windows()
    for si, scope in enumerate(scopes):
        g = make_groups(pairs, scope)
        for wi, w in enumerate(wins):
            for ti, name in enumerate(tests):
                r = TESTS[name](data, w, g)
                cols: dict[str, Any] = {
                    "_s": si, "_g": np.arange(g.n), "_w": wi, "_t": ti,
                    "scope": scope, "scope_value": np.array(g.labels, dtype=object),
                    "window_start": w.start, "window_end": w.end, "test": name,
                    "statistic": r.statistic, "p_value": r.p_value,
                    "n": r.n.astype(np.int64),
                }
                for k, v in r.extra.items():
                    cols[k] = v
                frames.append(pd.DataFrame(cols))
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["_s", "_g", "_w", "_t"], kind="stable")
    out = out.drop(columns=["_s", "_g", "_w", "_t"]).reset_index(drop=True)
    if "mean" not in out.columns:
        out["mean"] = np.nan
    out["p_bh"] = bh_adjust(out["p_value"].to_numpy(dtype=np.float64))
    base = ["scope", "scope_value", "window_start", "window_end", "test",
            "statistic", "p_value", "n", "mean", "p_bh"]
    extras = [c for c in ("rbar", "ci_low", "ci_high", "w_plus") if c in out.columns]
    return out[base + extras]


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
