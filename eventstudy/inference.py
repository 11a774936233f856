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

All reductions over pairs are grouped sums (``numpy.bincount``, or for ``(P, T)``
arrays column reductions over row blocks that add the cells in the same order, bit
for bit the bincount), so a scope with 100,000 groups costs the same as one with a
single group. Window-independent intermediates (ranks, GRANK's sorted estimation
values, the Brown-Warner estimation series, the Kolari-Pynnonen correlations reduced
to per-cluster sums) are computed once per :class:`PairData` (:meth:`PairData.memo`)
and per-scope sums once per partition (at once for every scope :func:`run_tests`
runs). No ``(P, T)`` temporary and no list of pair correlations is built, so the
memory stays bounded at 1,000,000 pairs. The numbers are those of the plain
formulas, bit for bit except GRANK's and the Kolari-Pynnonen sums, which are added
in another order (exactly, or more accurately) and agree to about 1e-15.

Conventions
-----------
:attr:`PairData.profile` selects the test conventions (filled from
:attr:`eventstudy.config.Conventions.test_profile`):

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
    conventions (:class:`eventstudy.config.Conventions`), not test options.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special

from eventstudy.config import Profile, Windows
from eventstudy.inputs.calendar import WindowDates

if TYPE_CHECKING:
    from eventstudy.estimation.containers import AbnormalReturns, Estimates, Stacked

SCOPES = ("all", "group", "event", "event_group")

_BOOT_CHUNK = 1 << 21
"""Bootstrap draws are generated in chunks of about this many pair draws."""

_BOOT_THREADS = 2
"""Threads sharing the bootstrap draws (contiguous parts of the one stream)."""

_BLOCK_CELLS = 1 << 20
"""Row blocks of the ``(P, T)`` passes hold about this many cells (8 MiB of float64)."""

_PASS_THREADS = 2
"""Threads sharing the row blocks of the window-independent passes (ranks, the
Kolari-Pynnonen sums); each block's numbers do not depend on the thread."""


def _blocks_in_threads(P: int, step: int, job: Callable[[int], Any]) -> list[Any]:
    """``job(a)`` for the row-block starts ``a = 0, step, 2 step, ...`` on
    :data:`_PASS_THREADS` threads (numpy releases the GIL in the heavy calls), in
    block order."""
    starts = range(0, P, step)
    if len(starts) < 2:
        return [job(a) for a in starts]
    with ThreadPoolExecutor(_PASS_THREADS) as pool:
        return list(pool.map(job, starts))

_LOOP_GROUPS = 64
"""Grouped column sums loop over the groups up to this many groups (else one
bincount over the cells, the same numbers)."""


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
        ``(P, Le)`` session dates (ns, -1 = none) of the estimation window: an
        array, or the engine's :class:`~eventstudy.inputs.calendar.WindowDates` (rows
        gathered on demand).
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
    weight
        ``(P,)`` positive value weights (any scale: each group normalises them over
        its pairs with data), or None for equal weights. Only the tests in
        :data:`WEIGHTED_TESTS` use them.
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
    est_dates: np.ndarray | WindowDates
    rel_days: np.ndarray
    car_windows: tuple[tuple[int, int], ...]
    seed: int = 12345
    bootstrap_reps: int = 999
    profile: Profile = "textbook"
    day_lev: np.ndarray | None = None
    weight: np.ndarray | None = None
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, st: Stacked, est: Estimates, ar: AbnormalReturns,
              windows: Windows, seed: int = 12345, bootstrap_reps: int = 999,
              profile: Profile = "textbook", weight: np.ndarray | None = None
              ) -> PairData:
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
            weight=None if weight is None else np.asarray(weight, dtype=np.float64),
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
    if valid.all():  # the same sums without selecting the cells
        return np.bincount(g.codes, weights=x, minlength=g.n)
    return np.bincount(g.codes[valid], weights=x[valid], minlength=g.n)


def _gcount(g: Groups, valid: np.ndarray) -> np.ndarray:
    if g.n == 1:
        return np.array([float(np.count_nonzero(valid))])
    return np.bincount(g.codes[valid], minlength=g.n).astype(np.float64)


def _group_rows(g: Groups) -> list[np.ndarray]:
    """Each group's row indices, in increasing order."""
    order = np.argsort(g.codes, kind="stable")
    bounds = np.searchsorted(g.codes[order], np.arange(g.n + 1))
    return [order[bounds[k]:bounds[k + 1]] for k in range(g.n)]


Block = Callable[[Any], tuple[np.ndarray, np.ndarray]]
"""Rows (a slice or an index array) -> their ``(values, ok)`` as ``(m, T)`` arrays."""


def _gsums_multi(block: Block, P: int, T: int, parts: list[Groups]
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per group and column sums and counts of a ``(P, T)`` array over the cells in
    ok, for several partitions in one pass.

    The array is produced in row blocks by ``block`` (no ``(P, T)`` temporary).
    Every sum adds its cells one at a time in row order starting from 0.0 (a column
    reduction over a buffer whose first row is the running sum), bit for bit what
    ``numpy.bincount`` over the cells in row-major order gives; with one column or
    more than ``_LOOP_GROUPS`` groups it is that bincount.
    """
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(parts)
    loop = [i for i, g in enumerate(parts) if T >= 2 and g.n <= _LOOP_GROUPS]
    if len(loop) < len(parts):
        x, ok = block(slice(0, P))
        for i, g in enumerate(parts):
            if i in loop:
                continue
            idx = (g.codes[:, None] * T + np.arange(T)[None, :])[ok]
            tot = np.bincount(idx, weights=x[ok], minlength=g.n * T)
            num = np.bincount(idx, minlength=g.n * T).astype(np.float64)
            out[i] = (tot.reshape(g.n, T), num.reshape(g.n, T))
        del x, ok
    if loop:
        sums = {i: np.zeros((parts[i].n, T)) for i in loop}
        cnts = {i: np.zeros((parts[i].n, T), dtype=np.int64) for i in loop}
        step = max(1, _BLOCK_CELLS // T)
        buf = np.empty((step + 1, T))
        for a in range(0, P, step):
            x, ok = block(slice(a, min(P, a + step)))
            m = x.shape[0]
            xz = np.zeros((m, T))
            np.copyto(xz, x, where=ok)
            for i in loop:
                g, acc, cnt = parts[i], sums[i], cnts[i]
                if g.n == 1:
                    buf[0] = acc[0]
                    buf[1:m + 1] = xz
                    acc[0] = np.add.reduce(buf[:m + 1], axis=0)  # sequential
                    cnt[0] += ok.sum(axis=0)
                    continue
                cb = g.codes[a:a + m]
                for k in np.flatnonzero(np.bincount(cb, minlength=g.n)):
                    r = np.flatnonzero(cb == k)
                    buf[0] = acc[k]
                    buf[1:len(r) + 1] = xz[r]
                    acc[k] = np.add.reduce(buf[:len(r) + 1], axis=0)
                    cnt[k] += ok[r].sum(axis=0)
        for i in loop:
            out[i] = (sums[i], cnts[i].astype(np.float64))
    return [o for o in out if o is not None]


def _gsums(block: Block, P: int, T: int, g: Groups) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_gsums_multi` for one partition."""
    return _gsums_multi(block, P, T, [g])[0]


def _scoped(data: PairData, prefix: str, g: Groups,
            compute: Callable[[list[Groups]], list[Any]]) -> Any:
    """Memoise a per-partition intermediate; on a miss compute it at once for every
    partition :func:`run_tests` registered (``data._memo["partitions"]``)."""
    key = f"{prefix}:{_gkey(g)}"
    if key not in data._memo:
        todo, keys = [g], [key]
        for h in data._memo.get("partitions", ()):
            k = f"{prefix}:{_gkey(h)}"
            if k not in data._memo and k not in keys and h.codes.shape == g.codes.shape:
                todo.append(h)
                keys.append(k)
        for k, r in zip(keys, compute(todo), strict=True):
            data._memo[k] = r
    return data._memo[key]


def _gsum2(x: np.ndarray, g: Groups, ok: np.ndarray) -> np.ndarray:
    """Per group and column sums of a ``(P, T)`` array over the cells in ``ok``."""
    return _gsums(lambda r: (x[r], ok[r]), x.shape[0], x.shape[1], g)[0]


def _gcount2(g: Groups, ok: np.ndarray) -> np.ndarray:
    """Per group and column number of cells in ``ok``."""
    if g.n == 1:
        one: np.ndarray = ok.sum(axis=0).astype(np.float64)[None, :]
        return one
    if g.n > _LOOP_GROUPS:
        T = ok.shape[1]
        idx = (g.codes[:, None] * T + np.arange(T)[None, :])[ok]
        return np.bincount(idx, minlength=g.n * T).astype(np.float64).reshape(g.n, T)
    return np.stack([ok[r].sum(axis=0) for r in _group_rows(g)]).astype(np.float64)


def _n_all(g: Groups) -> np.ndarray:
    """Number of pairs in each group (whatever their data)."""
    return np.bincount(g.codes, minlength=g.n).astype(np.float64)


def _gmean_all(x: np.ndarray, g: Groups) -> np.ndarray:
    """Group mean of a per-pair quantity over all pairs of the group."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.bincount(g.codes, weights=x, minlength=g.n) / _n_all(g)
    return out


def _gkey(g: Groups) -> str:
    """Memo key of a partition (a checksum of the codes: partitions with the same
    codes, such as ``all`` and a ``group`` scope with one group, share it)."""
    codes = np.ascontiguousarray(g.codes, dtype=np.int64)
    return f"{g.n}:{len(codes)}:{zlib.crc32(codes.tobytes())}"


def _t_p(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        # Student t survival function: scipy.stats.t.sf(x, df) is special.stdtr(df,
        # -x) (the same numbers, without importing scipy.stats: 0.3 s at start-up)
        return np.where(np.isfinite(t) & (df > 0), 2 * special.stdtr(df, -np.abs(t)),
                        np.nan)


def _z_p(z: np.ndarray) -> np.ndarray:
    # scipy.stats.norm.sf(x) is special.ndtr(-x)
    return np.where(np.isfinite(z), 2 * special.ndtr(-np.abs(z)), np.nan)


def _finite(*arrays: np.ndarray) -> np.ndarray:
    ok = np.ones(arrays[0].shape, dtype=bool)
    for a in arrays:
        ok &= np.isfinite(a)
    return ok


def _cols(data: PairData, window: Window) -> np.ndarray:
    """Event-window column indices of the window's days."""
    r0 = int(data.rel_days[0])
    return np.arange(window.start - r0, window.end - r0 + 1)


def _gk(data: PairData, g: Groups) -> str:
    """:func:`_gkey` of ``g``, remembered for this Groups object."""
    keys = data._memo.setdefault("gkeys", {})
    hit = keys.get(id(g))
    if hit is None or hit[0] is not g:
        hit = keys[id(g)] = (g, _gkey(g))
    out: str = hit[1]
    return out


def _win(data: PairData, window: Window) -> dict[Any, Any]:
    """Intermediates of one window shared by the tests, kept for the last window
    seen (:func:`run_tests` evaluates every test of a window in a row)."""
    c = data._memo.get("window")
    if c is None or c[0] is not window.value or c[1] is not window.var:
        c = data._memo["window"] = (window.value, window.var, {})
    out: dict[Any, Any] = c[2]
    return out


def _wx(data: PairData, window: Window, std: bool = False
        ) -> tuple[np.ndarray, np.ndarray]:
    """The window's values (``std``: SAR/SCAR) and where they are finite
    (read-only)."""
    d = _win(data, window)
    if ("x", std) not in d:
        x = window.standardized if std else window.value
        ok = _finite(x)
        ok.flags.writeable = False
        if std:
            x.flags.writeable = False
        d[("x", std)] = (x, ok)
    out: tuple[np.ndarray, np.ndarray] = d[("x", std)]
    return out


def _wmean(data: PairData, window: Window, groups: Groups, std: bool = False
           ) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the number and mean of the window's finite values."""
    d = _win(data, window)
    key = ("mean", std, _gk(data, groups))
    if key not in d:
        x, valid = _wx(data, window, std)
        n = _gcount(groups, valid)
        with np.errstate(invalid="ignore", divide="ignore"):
            d[key] = (n, _gsum(x, groups, valid) / n)
    n, mean = d[key]
    return n.copy(), mean.copy()


def _wmoments(data: PairData, window: Window, groups: Groups, std: bool = False
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: n, mean and sample variance (ddof 1, two passes) of the window's
    finite values (``std``: of the SAR/SCAR)."""
    n, mean = _wmean(data, window, groups, std)
    d = _win(data, window)
    key = ("var", std, _gk(data, groups))
    if key not in d:
        x, valid = _wx(data, window, std)
        with np.errstate(invalid="ignore", divide="ignore"):
            dev = x - mean[groups.codes]
            var = _gsum(dev * dev, groups, valid) / (n - 1)
        d[key] = np.where(n > 1, var, np.nan)
    return n, mean, d[key].copy()


def _mean_extra(data: PairData, window: Window, groups: Groups
                ) -> dict[str, np.ndarray]:
    return {"mean": _wmean(data, window, groups)[1]}


# ----------------------------------------------------------------- value weights
WEIGHTED_TESTS = frozenset({"csect_t", "bw_t", "bw_1980", "patell", "bmp"})
"""Tests with a value-weighted form (used when :attr:`PairData.weight` is set); the
other tests stay equal-weighted and say so in the ``weighting`` column."""


def _vw(data: PairData, window: Window, groups: Groups, std: bool = False
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Value-weighted moments per group over the window's finite values.

    Returns n, the weighted mean m_w = sum w_i x_i / sum w_i, the variance estimate
    of m_w, V = n/(n - 1) sum_i (w_i / sum w)^2 (x_i - m_w)^2 (White's 1980
    heteroskedasticity-consistent variance of a weighted mean with the n/(n - 1)
    small-sample factor; with equal weights V = s^2 / n exactly), and the valid mask.
    """
    assert data.weight is not None
    d = _win(data, window)
    key = ("vw", std, _gk(data, groups))
    if key not in d:
        x, valid = _wx(data, window, std)
        w = data.weight
        n = _gcount(groups, valid)
        with np.errstate(invalid="ignore", divide="ignore"):
            sw = _gsum(w, groups, valid)
            mean = _gsum(w * x, groups, valid) / sw
            u = w / sw[groups.codes] * (x - mean[groups.codes])
            v = n / (n - 1) * _gsum(u * u, groups, valid)
        d[key] = (n, mean, np.where(n > 1, v, np.nan), valid)
    n, mean, v, valid = d[key]
    return n.copy(), mean.copy(), v.copy(), valid


def _vw_extra(data: PairData, window: Window, groups: Groups
              ) -> dict[str, np.ndarray]:
    """The ``mean`` column of a weighted test: the value-weighted AAR or CAAR."""
    return {"mean": _vw(data, window, groups)[1]}


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
    # sorted by group, then value (equal values adjacent: the ranks, exact
    # half-integers, do not depend on the order of ties)
    order = np.argsort(v)
    if G > 1:
        order = order[np.argsort(codes[order], kind="stable")]
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

    Value weights w_i (:attr:`PairData.weight`): t = m_w / sqrt(V) with m_w = sum
    w_i CAR_i / sum w_i and V = N/(N - 1) sum_i (w_i / sum w)^2 (CAR_i - m_w)^2
    (White 1980, Econometrica 48(4):817-838, with the N/(N - 1) factor); t(N - 1).
    Equal weights give the formula above exactly.
    """
    if data.weight is not None:
        n, mean, v, _ = _vw(data, window, groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = mean / np.sqrt(v)
        return TestStat(t, _t_p(t, n - 1), n, {"mean": mean})
    n, mean, var = _wmoments(data, window, groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
    return TestStat(t, _t_p(t, n - 1), n, {"mean": mean})


def _bw_series(data: PairData, groups: Groups, weighted: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
    """Brown-Warner S per group: sample SD of the estimation-window AAR_t series,
    and the number of days in the series (``weighted``: the value-weighted AAR_t,
    weights normalised each day over the pairs with data)."""

    def make() -> tuple[np.ndarray, np.ndarray]:
        ok = np.isfinite(data.resid)
        if weighted and data.weight is not None:
            w = data.weight[:, None]
            s = _gsum2(data.resid * w, groups, ok)
            c = _gsum2(np.broadcast_to(w, ok.shape), groups, ok)
        else:
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

    key = ("bw85w:" if weighted else "bw85:") + _gkey(groups)
    out: tuple[np.ndarray, np.ndarray] = data.memo(key, make)
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

    Value weights: AAR_t is the value-weighted mean residual of day t (weights
    normalised over the pairs with data that day) and CAAR the value-weighted mean
    CAR; the same t and df.
    """
    if data.weight is not None:
        n, mean, _, _ = _vw(data, window, groups)
        S, nd = _bw_series(data, groups, weighted=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(n > 0, mean / (np.sqrt(window.length) * S), np.nan)
        return TestStat(t, _t_p(t, nd - 1), n, {"mean": mean})
    n, mean = _wmean(data, window, groups)
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

    Value weights: the weighted mean sum w_i CAR_i / sum w_i over sqrt(L2)
    sqrt(sum w_i^2 sigma_i^2) / sum w_i (the variance of the weighted portfolio
    under independence); the same df.
    """
    x = window.value
    valid = _finite(x) & np.isfinite(data.sigma2)
    n = _gcount(groups, valid)
    w = np.ones(len(x)) if data.weight is None else data.weight
    with np.errstate(invalid="ignore", divide="ignore"):
        sw = _gsum(w, groups, valid) if data.weight is not None else n
        mean = _gsum(w * x, groups, valid) / sw
        sd = np.sqrt(_gsum(w * w * data.sigma2, groups, valid)) / sw
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
    n, mean = _wmean(data, window, groups)
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


def _patell_core(data: PairData, window: Window, groups: Groups,
                 weighted: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s, ok = _wx(data, window, std=True)
    valid = ok & (data.dof > 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = data.dof / (data.dof - 2)
        if weighted and data.weight is not None:
            w = data.weight
            z = _gsum(w * s, groups, valid) / np.sqrt(_gsum(w * w * v, groups, valid))
        else:
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

    Value weights: Z = sum_i w_i SCAR_i / sqrt(sum_i w_i^2 (L_i - k)/(L_i - k - 2)),
    the weighted sum of independent standardised residuals over its standard
    deviation; N(0, 1). Equal weights give the formula above.
    """
    if data.weight is not None:
        z, n, _ = _patell_core(data, window, groups, weighted=True)
        return TestStat(z, _z_p(z), n, _vw_extra(data, window, groups))
    z, n, _ = _patell_core(data, window, groups)
    return TestStat(z, _z_p(z), n, _mean_extra(data, window, groups))


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

    Value weights: the weighted mean of the SCAR_i over sqrt(V), V as in
    :func:`csect_t` (White 1980) on the SCAR_i; t(N - 1). The ``mean`` column is the
    value-weighted CAAR.
    """
    if data.weight is not None:
        n, mean, v, _ = _vw(data, window, groups, std=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = mean / np.sqrt(v)
        return TestStat(t, _t_p(t, n - 1), n, _vw_extra(data, window, groups))
    _, valid = _wx(data, window, std=True)
    n, mean, var = _wmoments(data, window, groups, std=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
    return TestStat(t, _t_p(t, n - 1), n, _mean_extra(data, window, groups))


# ----------------------------------------------------------------- Kolari-Pynnonen
def _corr_block(data: PairData, mem: np.ndarray) -> np.ndarray:
    """``(m, m)`` residual correlations of the pairs ``mem`` (one day-0 cluster).

    Correlations use the calendar days both pairs have (``est_dates``), Pearson on
    that overlap; fewer than 3 common days or a constant series gives NaN, counted
    as 0; the diagonal is 0. Pairs on one calendar use their day columns directly.
    """
    d = data.est_dates[mem]
    v = data.resid[mem]
    ok = (d >= 0) & np.isfinite(v)
    if (d == d[:1]).all():  # one calendar: the columns are the days
        X = np.where(ok, v, 0.0)
        M = ok.astype(np.float64)
    else:
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
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        num = n * sxy - sx * sx.T
        den = np.sqrt((n * sxx - sx**2) * (n * sxx.T - sx.T**2))
        r = np.nan_to_num(np.where((n >= 3) & (den > 0), num / den, np.nan))
    np.fill_diagonal(r, 0.0)
    return r


class _KPCorr:
    """Kolari-Pynnonen residual correlations of the pairs sharing day 0, kept as
    per-cluster sums (never a list of pairs: those grow with the square of the pairs
    per day).

    Clusters whose pairs have the same days with data (one calendar, no pair missing
    a day the others have) use the factorisation r_ij = u_i u_j (n x_i'x_j - s_i
    s_j) with u_i = 1/sqrt(n x_i'x_i - s_i^2): the sum over the pairs i != j of a
    set is n |sum u_i x_i|^2 - (sum u_i s_i)^2 - sum u_i^2 (n x_i'x_i - s_i^2), so
    a partition only needs sum u_i x_i per (cluster, group), one pass over the
    residuals. The other clusters build their correlation matrix
    (:func:`_corr_block`) and keep per-pair row sums.
    """

    def __init__(self, data: PairData) -> None:
        self.data = data
        P, Le = data.resid.shape
        cl = np.asarray(data.cluster, dtype=np.int64)
        idx = np.flatnonzero(cl >= 0)
        order = idx[np.argsort(cl[idx], kind="stable")]
        new = np.ones(len(order), dtype=bool)
        new[1:] = cl[order][1:] != cl[order][:-1]
        cid = np.cumsum(new) - 1
        keep = np.bincount(cid)[cid] >= 2
        order, cid = order[keep], cid[keep]
        cid = np.unique(cid, return_inverse=True)[1].reshape(-1)
        self.clus = np.full(P, -1, dtype=np.int64)
        self.clus[order] = cid
        nc = int(cid.max()) + 1 if cid.size else 0
        first = np.full(nc, P, dtype=np.int64)
        np.minimum.at(first, cid, order)
        fst = np.full(P, -1, dtype=np.int64)
        fst[order] = first[cid]
        self._parts: dict[str, tuple[Any, ...]] = {}
        self._rbar: dict[tuple[str, int, int], np.ndarray] = {}
        # the partitions run_tests will ask for get their sums u_i x_i in this pass
        todo = {_gkey(h): h for h in data._memo.get("partitions", ())
                if h.codes.shape == (P,)}
        keys = {k: self._keys(h.codes) for k, h in todo.items()}
        W = {k: np.zeros((len(kk[1]), Le)) for k, kk in keys.items()}
        # per pair (row order): same days and days with data as the cluster's first
        # pair, no value on a day without a session; sums of x and x^2
        same = np.zeros(P, dtype=bool)
        sx = np.zeros(P)
        sxx = np.zeros(P)
        nd = np.zeros(P)
        step = max(1, _BLOCK_CELLS // max(Le, 1))

        def block(a: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
            # writes rows a:a+step of same, sx, sxx, nd; returns the block's u_i x_i
            # sums, added below in block order (the sequential sums, bit for bit)
            sl = slice(a, min(P, a + step))
            f = fst[sl]
            inc = f >= 0
            if not inc.any():
                return []
            ed = data.est_dates
            fin = np.isfinite(data.resid[sl])
            fr = np.maximum(f, 0)
            if isinstance(ed, WindowDates) and ed.complete(sl).all():
                # every day of these windows is a session (d >= 0): ok is fin, and
                # equal window keys mean equal days (else compare the dates)
                ok = fin
                okf = np.isfinite(data.resid[fr])
                days = ed.keys(sl) == ed.keys(fr)
                other = np.flatnonzero(inc & ~days)
                if other.size:
                    days[other] = (ed[a + other] == ed[fr[other]]).all(axis=1)
                sm = inc & days & (ok == okf).all(axis=1)
            else:
                d = ed[sl]
                ok = (d >= 0) & fin
                okf = (ed[fr] >= 0) & np.isfinite(data.resid[fr])
                sm = (inc & (d == ed[fr]).all(axis=1)
                      & (ok == okf).all(axis=1) & ~(fin & (d < 0)).any(axis=1))
            X = np.where(ok, data.resid[sl], 0.0)
            bx, bxx, bn = X.sum(axis=1), (X * X).sum(axis=1), ok.sum(axis=1)
            same[sl], sx[sl], sxx[sl], nd[sl] = sm, bx, bxx, bn
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                q = bn * bxx - bx**2
                u = np.where(sm & (bn >= 3) & (q > 0) & np.isfinite(q),
                             1.0 / np.sqrt(q), 0.0)
            return self._ux_parts(keys, a, X, u)

        for parts in _blocks_in_threads(P, step, block):
            for k, rows, sums in parts:  # clusters found slow are dropped below
                W[k][rows] += sums
        with np.errstate(invalid="ignore", over="ignore"):
            q = nd * sxx - sx**2
            good = same & (q > 0) & np.isfinite(q)
        fast_c = np.ones(nc, dtype=bool)
        np.logical_and.at(fast_c, cid, good[order])
        self.fast = np.zeros(P, dtype=bool)
        self.fast[order] = fast_c[cid]
        self.nd = np.where(self.fast & (nd >= 3), nd, 0.0)  # fewer days: r = 0
        use = self.nd > 0
        self.u = np.zeros(P)
        self.u[use] = 1.0 / np.sqrt(q[use])
        self.sx = np.where(use, sx, 0.0)
        self.diag = np.where(use, self.u * self.u * (nd * sxx - sx * sx), 0.0)
        bounds = np.flatnonzero(np.diff(cid)) + 1
        self.slow = [m for m in np.split(order, bounds)
                     if m.size and not self.fast[m[0]]]
        self._finish(todo, keys, W)

    def _x(self, rows: Any) -> np.ndarray:
        """Residuals of factorised pairs, 0 on days without data (no value there)."""
        v = self.data.resid[rows]
        return np.where(np.isfinite(v), v, 0.0)

    def _keys(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dense (cluster, group) key of every clustered pair (-1 otherwise), and
        the cluster and the group of each key."""
        f = np.flatnonzero(self.clus >= 0)
        mult = int(codes.max(initial=0)) + 1
        u, inv = np.unique(self.clus[f] * mult + codes[f], return_inverse=True)
        key = np.full(self.data.n_pairs, -1, dtype=np.int64)
        key[f] = inv.reshape(-1)
        return key, u // mult, u % mult

    @staticmethod
    def _ux_parts(keys: dict[str, Any], a: int, X: np.ndarray, u: np.ndarray
                  ) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Per partition: the keys of the rows a, a+1, ... and the sums of u_i x_i
        over each key's rows (to be added to the partition's sums)."""
        f = np.flatnonzero(u)
        if not f.size:
            return []
        ux = X[f] * u[f, None]
        out = []
        for k, (key, _, _) in keys.items():
            kb = key[a + f]
            o = np.argsort(kb, kind="stable")
            ks = kb[o]
            st = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
            out.append((k, ks[st], np.add.reduceat(ux[o], st, axis=0)))
        return out

    @classmethod
    def _add_ux(cls, W: dict[str, np.ndarray], keys: dict[str, Any], a: int,
                X: np.ndarray, u: np.ndarray) -> None:
        """Add u_i x_i of the rows a, a+1, ... to the sums of their keys."""
        for k, rows, sums in cls._ux_parts(keys, a, X, u):
            W[k][rows] += sums

    def _finish(self, todo: dict[str, Groups], keys: dict[str, Any],
                W: dict[str, np.ndarray]) -> None:
        """Keep the factorised clusters' sums and add the other clusters' row sums."""
        P = self.data.n_pairs
        for k in todo:
            key, kc, kg = keys[k]
            if len(kc):  # sums of the clusters found slow are not used
                W[k][~self.fast[self._first_of(kc)]] = 0.0
            fk = self.nd > 0
            s = np.bincount(key[fk], weights=(self.u * self.sx)[fk], minlength=len(kc))
            self._parts[k] = (key, kg, W[k], s, np.zeros(P))
        for mem in self.slow:
            r = _corr_block(self.data, mem)
            for k, h in todo.items():
                c = h.codes[mem]
                rs = self._parts[k][4]
                if (c == c[0]).all():
                    rs[mem] = r.sum(axis=1)
                else:
                    rs[mem] = (r * (c[:, None] == c[None, :])).sum(axis=1)

    def _first_of(self, clusters: np.ndarray) -> np.ndarray:
        """A pair of each cluster."""
        f = np.flatnonzero(self.clus >= 0)
        first = np.zeros(int(self.clus.max(initial=-1)) + 1, dtype=np.int64)
        first[self.clus[f[::-1]]] = f[::-1]
        out: np.ndarray = first[clusters]
        return out

    def _partition(self, g: Groups) -> tuple[Any, ...]:
        """Per partition: keys, key groups, sum u_i x_i (K, Le), sum u_i s_i and the
        row sums of the other clusters (a pass over the residuals for a partition
        that was not registered)."""
        gk = _gkey(g)
        if gk not in self._parts:
            todo = {gk: g}
            P, Le = self.data.resid.shape
            keys = {gk: self._keys(g.codes)}
            W = {gk: np.zeros((len(keys[gk][1]), Le))}
            step = max(1, _BLOCK_CELLS // max(Le, 1))
            for a in range(0, P, step):
                sl = slice(a, min(P, a + step))
                self._add_ux(W, keys, a, self._x(sl), self.u[sl])
            self._finish(todo, keys, W)
        return self._parts[gk]

    def rbar(self, g: Groups, valid: np.ndarray) -> np.ndarray:
        """r-bar_g = sum of clustered-pair correlations in g / (n_g (n_g - 1) / 2)."""
        ck = (_gkey(g), zlib.crc32(np.packbits(valid).tobytes()), int(valid.sum()))
        if ck in self._rbar:
            return self._rbar[ck]
        codes = g.codes
        key, kg, W, s, rs = self._partition(g)
        K = len(kg)
        # factorised clusters: the sums over the valid pairs of each key
        fv = (key >= 0) & valid
        bad = np.flatnonzero((key >= 0) & ~valid)
        Wv, sv = W, s
        if bad.size:
            Wv = W - _class_sum(bad, lambda r: self._x(r) * self.u[r][:, None], key, K,
                                W.shape[1])
            sv = s - np.bincount(key[bad], weights=(self.u * self.sx)[bad], minlength=K)
        m = np.bincount(key[fv], minlength=K)
        dg = np.bincount(key[fv], weights=self.diag[fv], minlength=K)
        n_k = np.zeros(K)
        n_k[key[fv]] = self.nd[fv]
        tot = np.where(m > 1, n_k * (Wv * Wv).sum(axis=1) - sv * sv - dg, 0.0)
        tot2 = np.bincount(kg, weights=tot, minlength=g.n).astype(np.float64)
        # other clusters: sum_valid rowsum - sum_invalid rowsum + sum_{invalid i != j}
        sl = (self.clus >= 0) & ~self.fast
        tot2 += _gsum(rs, g, valid & sl)
        bad = np.flatnonzero(~valid & sl)
        if bad.size:
            tot2 -= np.bincount(codes[bad], weights=rs[bad], minlength=g.n)
            k = self.clus[bad] * (int(codes.max(initial=0)) + 1) + codes[bad]
            o = np.argsort(k, kind="stable")
            for part in np.split(bad[o], np.flatnonzero(np.diff(k[o])) + 1):
                if len(part) > 1:
                    tot2[codes[part[0]]] += _corr_block(self.data, part).sum()
        n = _gcount(g, valid)
        with np.errstate(invalid="ignore", divide="ignore"):
            rb = (tot2 / 2) / (n * (n - 1) / 2)
        out: np.ndarray = np.where(n > 1, rb, 0.0)
        self._rbar[ck] = out
        return out


def _rbar(data: PairData, groups: Groups, valid: np.ndarray) -> np.ndarray:
    """r-bar_g = sum of clustered-pair correlations in g / (n_g (n_g - 1) / 2)."""
    kp: _KPCorr = data.memo("kp_corr", lambda: _KPCorr(data))
    return kp.rbar(groups, valid)


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
    extra = _mean_extra(data, window, groups)
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
    _, valid = _wx(data, window, std=True)
    n, mean, var = _wmoments(data, window, groups, std=True)
    rb = _rbar(data, groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
        f = (1.0 - rb) / (1.0 + (n - 1) * rb)
        tk = np.where(f > 0, t * np.sqrt(f), np.nan)
    extra = _mean_extra(data, window, groups)
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
    x, valid = _wx(data, window)
    n, mean, var = _wmoments(data, window, groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(var)
        dev = x - mean[groups.codes]
        g3 = _gsum(dev**3, groups, valid) / (n * s**3)
        S = mean / s
        t = np.sqrt(n) * (S + g3 * S**2 / 3 + g3**2 * S**3 / 27 + g3 / (6 * n))
    t = np.where(n > 2, t, np.nan)
    return TestStat(t, _z_p(t), n, {"mean": mean})


# ----------------------------------------------------------------- rank and sign
_NA16 = np.uint16(65535)
"""Twice-ranks code of a missing (NaN) value."""


def _sorted_ranks(S: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties averaged) of the positions of row-sorted values.

    ``S`` is sorted along rows with NaN last (NaN positions get meaningless ranks).
    Ties are looked for only in the rows that have them; the ranks are exact
    half-integers, equal to ``scipy.stats.rankdata(method="average")``.
    """
    b, T = S.shape
    rk = np.broadcast_to(np.arange(1.0, T + 1.0), (b, T)).copy()
    if T < 2:
        return rk
    tie = S[:, 1:] == S[:, :-1]
    rows = np.flatnonzero(tie.any(axis=1))
    if rows.size:
        t = tie[rows]
        pos = np.arange(T)
        first = np.ones((len(rows), T), dtype=bool)
        first[:, 1:] = ~t
        last = np.ones((len(rows), T), dtype=bool)
        last[:, :-1] = ~t
        start = np.maximum.accumulate(np.where(first, pos, 0), axis=1)
        end = np.minimum.accumulate(np.where(last, pos, T - 1)[:, ::-1],
                                    axis=1)[:, ::-1]
        rk[rows] = (start + end) / 2 + 1
    return rk


def _row_ranks(V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise average ranks of the non-NaN values of ``V`` (NaN elsewhere), as
    ``scipy.stats.rankdata(V, axis=1, nan_policy="omit")``.

    Returns the ranks, the sorted values (NaN last) and the sorting permutation.
    """
    order, flat = _row_argsort(V)
    S = V.ravel()[flat]
    rk = _sorted_ranks(S)
    rk[np.isnan(S)] = np.nan
    K = np.empty(V.shape)
    K.ravel()[flat] = rk
    return K, S, order


def _row_argsort(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise argsort (NaN last) and the same permutation as flat indices."""
    order = np.argsort(V, axis=1)
    flat = order + (np.arange(V.shape[0]) * V.shape[1])[:, None]
    return order, flat


def _twice_ranks(S: np.ndarray, nan: np.ndarray) -> np.ndarray:
    """Twice the average ranks (uint16, so rows of fewer than 32,767 values) of the
    positions of row-sorted values (NaN last; :data:`_NA16` there): 2, 4, 6...
    except in the rows with ties."""
    b, T = S.shape
    out = np.broadcast_to(np.arange(2, 2 * T + 2, 2, dtype=np.uint16), (b, T)).copy()
    out[nan] = _NA16
    tied = np.flatnonzero((S[:, 1:] == S[:, :-1]).any(axis=1))
    if tied.size:
        rk = _sorted_ranks(S[tied])
        out[tied] = np.where(nan[tied], _NA16, (2 * rk).astype(np.uint16))
    return out


@dataclass(frozen=True)
class _Ranks:
    """Window-independent ranks of each pair's estimation + event-window ARs.

    ``r2`` is ``(P, Le + W)`` twice the average rank of every non-NaN value (exact
    in uint16; :data:`_NA16` for NaN); ``n_ok`` the non-NaN and ``n_fin`` the finite
    values per pair; ``med`` the median as ``numpy.nanmedian`` computes it (0 without
    any finite value).
    """

    r2: np.ndarray
    n_ok: np.ndarray
    n_fin: np.ndarray
    med: np.ndarray


def _union_block(data: PairData, rows: Any, cols: np.ndarray | None = None
                 ) -> np.ndarray:
    """``(m, Le + d)`` estimation residuals followed by the event ARs of ``cols``."""
    ev = data.ar[rows] if cols is None else data.ar[rows][:, cols]
    return np.concatenate([data.resid[rows], ev], axis=1)


def _ranks(data: PairData) -> _Ranks:
    """Ranks over estimation + event days, memoised once per :class:`PairData`
    (row blocks: argsort with NaN last, tie averaging only where ties exist)."""

    def make() -> _Ranks:
        P = data.n_pairs
        T = data.resid.shape[1] + data.ar.shape[1]
        r2 = np.empty((P, T), dtype=np.uint16)
        n_ok = np.empty(P)
        n_fin = np.empty(P)
        med = np.empty(P)
        step = max(1, _BLOCK_CELLS // max(T, 1))

        def block(a: int) -> None:  # writes rows a:a+step only
            sl = slice(a, min(P, a + step))
            V = _union_block(data, sl)
            _, flat = _row_argsort(V)
            S = V.ravel()[flat]
            nan = np.isnan(S)
            r2[sl].ravel()[flat] = _twice_ranks(S, nan)
            c = T - nan.sum(axis=1)
            fin = np.isfinite(V).sum(axis=1)
            # numpy.nanmedian (masked median): (low + high) / 2 of the middle values
            h = c // 2
            lo = np.where(c % 2 == 1, h, h - 1).clip(0)
            base = np.arange(len(c)) * T
            mid = S.ravel()[base + lo] + S.ravel()[base + h.clip(0, T - 1)]
            med[sl] = np.where(fin > 0, mid / 2.0, 0.0)
            n_ok[sl] = c
            n_fin[sl] = fin

        _blocks_in_threads(P, step, block)
        return _Ranks(r2, n_ok, n_fin, med)

    out: _Ranks = data.memo("ranks", make)
    return out


def _score_block(data: PairData, kind: str, rows: Any) -> tuple[np.ndarray, np.ndarray]:
    """Scores of ``rows`` over estimation + event days and where they are finite.

    ``rank``: K - (M_i + 1)/2; ``urank``: K/(M_i + 1) - 1/2; ``sign``: sign(AR -
    median_i). K ranks AR within the pair over its non-missing days, M_i counts its
    finite days.
    """
    rk = _ranks(data)
    M = rk.n_fin[rows][:, None]
    if kind == "sign":
        V = _union_block(data, rows)
        with np.errstate(invalid="ignore"):
            sc = np.where(np.isfinite(V), np.sign(V - rk.med[rows][:, None]), np.nan)
    else:
        r2 = rk.r2[rows]
        K = np.where(r2 == _NA16, np.nan, 0.5 * r2)
        sc = K - (M + 1) / 2 if kind == "rank" else K / (M + 1) - 0.5
    return sc, np.isfinite(sc)


def _day_stats(data: PairData, groups: Groups, kind: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """Daily standardised sums D_t (G, T) and their S (G,) for a score kind.

    D_t = sum_i s_it / N_t (``rank``) or / sqrt(N_t) (``urank``, ``sign``); under
    ``estudy2`` multiplied by N_g / N_t. S^2 = (1/T) sum_t D_t^2 over the days with
    data, T = their number (textbook) or the group's mean M_i (estudy2).
    Memoised per scope; the scores are made in row blocks from :func:`_ranks`.
    """

    def compute(parts: list[Groups]) -> list[tuple[np.ndarray, np.ndarray]]:
        P = data.n_pairs
        T = data.resid.shape[1] + data.ar.shape[1]
        rk = _ranks(data)
        out = []
        if kind == "urank":
            sums = _gsums_multi(lambda r: _score_block(data, kind, r), P, T, parts)
        else:
            sums = _exact_day_sums(data, kind, parts)
        for g, (s, c) in zip(parts, sums, strict=True):
            has = c > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                f = 1.0 / c if kind == "rank" else 1.0 / np.sqrt(c)
                D = np.where(has, s * f * _row_factor(data, g, c), np.nan)
                if data.profile == "estudy2":
                    if kind == "sign":
                        n_row = np.where(np.isnan(rk.med), 0.0, rk.n_fin)
                    else:
                        n_row = rk.n_ok
                    T_g = _gmean_all(n_row, g)
                else:
                    T_g = has.sum(axis=1).astype(np.float64)
                S = np.sqrt(np.where(has, D**2, 0.0).sum(axis=1) / T_g)
            out.append((D, S))
        return out

    res: tuple[np.ndarray, np.ndarray] = _scoped(data, f"days:{kind}", groups, compute)
    return res


def _exact_day_sums(data: PairData, kind: str, parts: list[Groups]
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per group and day: the sum and number of the ``rank`` or ``sign`` scores.

    Those scores are half-integers, so their sums are exact in any order: they are
    made from integer counts, sum_i K_it - sum_i (M_i + 1)/2 (``rank``) and
    #{AR > median} - #{AR < median} (``sign``), the same numbers as the sums of the
    scores cell by cell.
    """
    rk = _ranks(data)
    P, T = rk.r2.shape

    def cells(rows: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Integer part (twice-ranks or +-1), the (M_i + 1)/2 to take off, ok."""
        if kind == "rank":
            r2 = rk.r2[rows]
            ok = r2 != _NA16
            return np.where(ok, r2, np.uint16(0)), (rk.n_fin[rows] + 1) / 2, ok
        V = _union_block(data, rows)
        med = rk.med[rows][:, None]
        ok = np.isfinite(V) & ~np.isnan(med)
        v = (ok & (V > med)).view(np.int8) - (ok & (V < med)).view(np.int8)
        return v, np.zeros(v.shape[0]), ok

    def score(rows: np.ndarray) -> np.ndarray:
        v, w, ok = cells(rows)
        half = 0.5 if kind == "rank" else 1.0
        out: np.ndarray = np.where(ok, half * v - w[:, None], 0.0)
        return out

    def count(rows: np.ndarray) -> np.ndarray:
        out: np.ndarray = cells(rows)[2].astype(np.float64)
        return out

    out: list[tuple[np.ndarray, np.ndarray]] = []
    loop = [g for g in parts if g.n <= _LOOP_GROUPS]
    acc = {id(g): (np.zeros((g.n, T)), np.zeros((g.n, T))) for g in loop}
    step = max(1, _BLOCK_CELLS // max(T, 1))
    for a in range(0, P if loop else 0, step):
        sl = slice(a, min(P, a + step))
        v, w, ok = cells(sl)
        for g in loop:
            s, c = acc[id(g)]
            cb = g.codes[sl]
            for k in ([0] if g.n == 1
                      else np.flatnonzero(np.bincount(cb, minlength=g.n))):
                r = slice(None) if g.n == 1 else np.flatnonzero(cb == k)
                okr = ok[r]
                c[k] += okr.sum(axis=0)
                vs = v[r].sum(axis=0, dtype=np.int64)
                s[k] += (0.5 * vs - w[r] @ okr.astype(np.float64) if kind == "rank"
                         else vs)
    every = np.arange(P)
    for g in parts:
        if g.n <= _LOOP_GROUPS:
            out.append(acc[id(g)])
        else:  # many groups: sums over runs of the pairs sorted by group
            out.append((_class_sum(every, score, g.codes, g.n, T),
                        _class_sum(every, count, g.codes, g.n, T)))
    return out


def _rank_family(data: PairData, window: Window, groups: Groups, kind: str
                 ) -> TestStat:
    D, S = _day_stats(data, groups, kind)
    Le = data.resid.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        daily = D[:, Le + _cols(data, window)] / S[:, None]
    z = _daily_combine(daily)
    n, _ = _wmean(data, window, groups)
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, _z_p(z), n, _mean_extra(data, window, groups))


def _car_rank_estudy2(data: PairData, window: Window, groups: Groups) -> TestStat:
    cols = _cols(data, window)
    Le = data.resid.shape[1]
    P = data.n_pairs
    T = Le + len(cols)

    def block(rows: Any) -> tuple[np.ndarray, np.ndarray]:
        K = _row_ranks(_union_block(data, rows, cols))[0]
        return K, np.isfinite(K)

    def compute(parts: list[Groups]) -> list[tuple[np.ndarray, np.ndarray]]:
        return _gsums_multi(block, P, T, parts)

    def n_ok() -> np.ndarray:
        out: np.ndarray = ((~np.isnan(data.resid)).sum(axis=1)
                           + (~np.isnan(data.ar[:, cols])).sum(axis=1)
                           ).astype(np.float64)
        return out

    tag = f"carrank:{cols[0]}:{cols[-1]}"
    s, c = _scoped(data, tag, groups, compute)
    M = data.memo(tag, n_ok)
    has = c > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        kbar = s / c
        mean_rank = _gmean_all((M + 1) / 2, groups)
        mean_m = _gmean_all(M, groups)
        ev_mean = s[:, Le:].sum(axis=1) / c[:, Le:].sum(axis=1)
        days = has[:, Le:].sum(axis=1)
        den = np.sqrt(np.where(has, (kbar - mean_rank[:, None]) ** 2, 0.0).sum(axis=1)
                      / mean_m)
        z = np.sqrt(days) * (ev_mean - mean_rank) / den
    n, _ = _wmean(data, window, groups)
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, _z_p(z), n, _mean_extra(data, window, groups))


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


_FINE = 16
"""Width of the fine blocks (16 float32, 64 bytes) of the row search of
:func:`_grank_counts`."""


@dataclass(frozen=True)
class _GRankCore:
    """GSAR estimation values of every pair, memoised once per fit.

    ``keys`` ``(P, _FINE + Lp)`` float32: AR_it / sigma_i sorted along the row and
    rounded to float32 (monotone, so a strict float32 comparison decides the
    float64 one), NaN last, as padding to a multiple of :data:`_FINE` columns and in
    the :data:`_FINE` leading columns; ``coarse`` ``(Lp / _FINE, P)`` the last key of
    each fine block; ``r2`` ``(P, Le)`` twice the average rank of each day's value
    (uint16, :data:`_NA16` where missing): a value is below x exactly when its r2 is
    at most twice the number of values below x; ``n_fin`` the finite values per pair.
    """

    keys: np.ndarray
    coarse: np.ndarray
    r2: np.ndarray
    n_fin: np.ndarray

    def blocks(self) -> np.ndarray:
        """``(P, Lp / _FINE)`` items of ``_FINE + 1`` keys: the key before each fine
        block and the block (one gather per pair fetches both)."""
        P, W = self.keys.shape
        return np.ndarray((P, W // _FINE - 1), dtype=np.dtype((np.void, 4 * _FINE + 4)),
                          buffer=self.keys, offset=4 * (_FINE - 1),
                          strides=(4 * W, 4 * _FINE))


def _gsar(data: PairData, rows: Any) -> np.ndarray:
    """AR_it / sigma_i on the estimation days of ``rows`` (NaN where not finite)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        e = data.resid[rows] / np.sqrt(data.sigma2[rows])[:, None]
    out: np.ndarray = np.where(np.isfinite(e), e, np.nan)
    return out


def _grank_core(data: PairData) -> _GRankCore:
    def make() -> _GRankCore:
        P, Le = data.resid.shape
        Lp = -(-Le // _FINE) * _FINE
        keys = np.full((P, Lp + _FINE), np.nan, dtype=np.float32)
        r2 = np.empty((P, Le), dtype=np.uint16)
        n_fin = np.empty(P, dtype=np.int64)
        step = max(1, _BLOCK_CELLS // max(Le, 1))
        for a in range(0, P, step):
            sl = slice(a, min(P, a + step))
            e = _gsar(data, sl)
            _, flat = _row_argsort(e)
            S = e.ravel()[flat]
            keys[sl, _FINE:_FINE + Le] = S
            nan = np.isnan(S)
            r2[sl].ravel()[flat] = _twice_ranks(S, nan)
            n_fin[sl] = Le - nan.sum(axis=1)
        coarse = keys[:, 2 * _FINE - 1::_FINE].T.copy()
        return _GRankCore(keys, coarse, r2, n_fin)

    out: _GRankCore = data.memo("grank_est", make)
    return out


def _grank_ranks0(core: _GRankCore, rows: Any, count: bool = False) -> np.ndarray:
    """Average ranks of the estimation GSARs of ``rows`` in day order, 0 where
    missing (``count``: 1 where present, else 0)."""
    r2 = core.r2[rows]
    out: np.ndarray = (np.where(r2 == _NA16, 0.0, 1.0) if count
                       else np.where(r2 == _NA16, 0.0, 0.5 * r2))
    return out


@dataclass(frozen=True)
class _GRankScope:
    """Per-partition GRANK sums over every pair with data (memoised per scope).

    Pairs are split in classes (group, number of estimation values): ``cls`` per
    pair, ``cls_code`` and ``cls_den`` (T_i + 1 = L_i + 2) per class; ``rsum`` and
    ``cnt`` ``(K, Le)`` the sum of the estimation ranks and the number of values per
    class and day (exact: sums of half-integers); ``order``/``bounds`` the pairs
    sorted by class and ``r2`` the core's twice-ranks in that order (None for one
    class or many).
    """

    cls: np.ndarray
    cls_code: np.ndarray
    cls_den: np.ndarray
    rsum: np.ndarray
    cnt: np.ndarray
    order: np.ndarray | None
    bounds: np.ndarray
    r2: np.ndarray | None


def _grank_scope(data: PairData, groups: Groups) -> _GRankScope:
    core = _grank_core(data)
    P, Le = core.r2.shape

    def ranks(r: np.ndarray) -> np.ndarray:
        return _grank_ranks0(core, r)

    def count(r: np.ndarray) -> np.ndarray:
        return _grank_ranks0(core, r, count=True)

    def compute(parts: list[Groups]) -> list[_GRankScope]:
        out = []
        nvals, nidx = np.unique(core.n_fin, return_inverse=True)
        for g in parts:
            key, cls = np.unique(g.codes * len(nvals) + nidx, return_inverse=True)
            cls = cls.reshape(-1)
            K = len(key)
            have = np.flatnonzero(core.n_fin > 0)
            rsum = _class_sum(have, ranks, cls, K, Le)
            cnt = _class_sum(have, count, cls, K, Le)
            if K == 1:
                order, bounds, pos = None, np.array([0, P]), None
            else:
                order = np.argsort(cls, kind="stable")
                bounds = np.searchsorted(cls[order], np.arange(K + 1))
                pos = core.r2[order] if K <= _LOOP_GROUPS else None
            out.append(_GRankScope(cls, key // len(nvals),
                                   nvals[key % len(nvals)] + 2.0, rsum, cnt, order,
                                   bounds, pos))
        return out

    res: _GRankScope = _scoped(data, "grank", groups, compute)
    return res


_BYTES = np.uint64(0x0101010101010101)


def _grank_counts(data: PairData, core: _GRankCore, x: np.ndarray,
                  valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair, the number of its estimation GSARs below and at most ``x`` (0 where
    not valid).

    The float32 keys are searched (the fine block from the coarse keys, then one
    64-byte gather per pair); where a key equals float32(x) the float32 comparison
    does not decide, and those pairs are counted exactly on their GSARs.
    """
    P = core.r2.shape[0]
    nb = core.coarse.shape[0]
    xv = np.where(valid, x, -np.inf)
    xk = xv.astype(np.float32)
    # whole blocks at most x (the last one is counted inside its block)
    j = np.add.reduce(np.less_equal(core.coarse, xk[None, :]).view(np.uint8), axis=0,
                      dtype=np.uint16 if nb > 255 else np.uint8).astype(np.intp)
    np.minimum(j, nb - 1, out=j)
    item = core.blocks()[np.arange(P), j].view(np.float32).reshape(P, _FINE + 1)
    h = np.less_equal(item[:, 1:], xk[:, None]).view(np.uint64).reshape(P, _FINE // 8)
    h = (h * _BYTES) >> np.uint64(56)  # the byte sums: keys of the block at most x
    within = h[:, 0].astype(np.intp)
    for c in range(1, _FINE // 8):
        within += h[:, c].astype(np.intp)
    hi = j * _FINE + within
    lo = hi.copy()
    # the last key at most x (or the one before the block) equal to float32(x):
    # the float32 comparison does not decide, count on the float64 values
    last = np.take_along_axis(item, within[:, None], axis=1)[:, 0]
    amb = np.flatnonzero(valid & (last == xk))
    step = max(1, _BLOCK_CELLS // max(core.r2.shape[1], 1))
    for a in range(0, len(amb), step):
        r = amb[a:a + step]
        e = _gsar(data, r)
        lo[r] = (e < xv[r, None]).sum(axis=1)
        hi[r] = (e <= xv[r, None]).sum(axis=1)
    lo[~valid] = 0
    hi[~valid] = 0
    return lo, hi


def _count_below(r2: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Per column, the number of rows whose value is below the row's k-th smallest
    (twice-rank ``r2`` at most 2 k)."""
    T = r2.shape[1]
    out = np.zeros(T, dtype=np.int64)
    kk = (2 * k).astype(r2.dtype)
    step = max(1, min(4080, _BLOCK_CELLS // max(T, 1)))  # uint16 partial sums
    for a in range(0, r2.shape[0], step):
        m = np.less_equal(r2[a:a + step], kk[a:a + step, None]).view(np.uint8)
        out += np.add.reduce(m, axis=0, dtype=np.uint16)
    return out


def _grank_below(core: _GRankCore, sc: _GRankScope, k: np.ndarray,
                 rows: np.ndarray) -> np.ndarray:
    """``(K, Le)``: per class and day, the pairs whose day value sits below their k
    (k is 0 outside ``rows``, the pairs in use)."""
    K = len(sc.cls_den)
    Le = core.r2.shape[1]
    if K == 1:
        return _count_below(core.r2, k)[None, :].astype(np.float64)
    if sc.r2 is None:  # many classes: sums over the pairs in use (exact counts)
        return _class_sum(rows,
                          lambda r: (core.r2[r] <= 2 * k[r, None]).astype(np.float64),
                          sc.cls, K, Le)
    assert sc.order is not None
    ks = k[sc.order]
    b = sc.bounds
    return np.stack([_count_below(sc.r2[b[c]:b[c + 1]], ks[b[c]:b[c + 1]])
                     for c in range(K)]).astype(np.float64)


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
    x0, valid = _wx(data, window, std=True)
    _, _, var = _wmoments(data, window, groups, std=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = x0 / np.sqrt(var)[groups.codes]
    valid = valid & np.isfinite(x)
    n = _gcount(groups, valid)
    core = _grank_core(data)
    sc = _grank_scope(data, groups)
    lo, hi = _grank_counts(data, core, x, valid)
    L = np.where(valid, core.n_fin, 0).astype(np.float64)
    Ti = L + 1
    r0 = 1.0 + (lo + 0.5 * (hi - lo))
    u0 = r0 / (Ti + 1) - 0.5
    # sum_i U_it = sum over classes of (sum of ranks + sum of "above" terms) / (T+1)
    # minus half the count; the class sums are exact (sums of half-integers). Only
    # groups of two or more pairs have a statistic: the others are left out.
    use = valid & (n > 1)[groups.codes]
    lo = np.where(use, lo, 0)
    hi = np.where(use, hi, 0)
    rows = np.flatnonzero(use)
    bad = np.flatnonzero(~use & (core.n_fin > 0))
    K, Le = sc.rsum.shape

    def ranks(r: np.ndarray) -> np.ndarray:
        return _grank_ranks0(core, r)

    def count(r: np.ndarray) -> np.ndarray:
        return _grank_ranks0(core, r, count=True)

    if bad.size <= rows.size:  # the memoised sums less the pairs not in use
        rsum, cnt = sc.rsum, sc.cnt
        if bad.size:
            rsum = rsum - _class_sum(bad, ranks, sc.cls, K, Le)
            cnt = cnt - _class_sum(bad, count, sc.cls, K, Le)
    else:
        rsum = _class_sum(rows, ranks, sc.cls, K, Le)
        cnt = _class_sum(rows, count, sc.cls, K, Le)
    below = _grank_below(core, sc, lo, rows)
    tie = np.flatnonzero(hi != lo)
    below_hi = below
    if tie.size:
        def mid(r: np.ndarray) -> np.ndarray:
            out: np.ndarray = ((core.r2[r] > 2 * lo[r, None])
                               & (core.r2[r] <= 2 * hi[r, None])).astype(np.float64)
            return out

        below_hi = below + _class_sum(tie, mid, sc.cls, K, Le)
    above = cnt - 0.5 * (below + below_hi)
    G = groups.n
    act = np.flatnonzero(n[sc.cls_code] > 1)  # classes of groups with a statistic
    s_e = _by_code((rsum[act] + above[act]) / sc.cls_den[act, None],
                   sc.cls_code[act], G)
    c_e = _by_code(cnt[act], sc.cls_code[act], G)
    s_e -= 0.5 * c_e
    has = c_e > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        ubar_e = np.where(has, s_e / np.where(has, c_e, 1.0), 0.0)
        ubar0 = _gsum(u0, groups, valid) / n
        T = has.sum(axis=1) + 1.0
        S2 = ((c_e / n[:, None] * ubar_e**2).sum(axis=1) + ubar0**2) / T
        Z = ubar0 / np.sqrt(S2)
        t = Z * np.sqrt((T - 2) / (T - 1 - Z**2))
    t = np.where((n > 1) & np.isfinite(t), t, np.nan)
    return TestStat(t, _t_p(t, T - 2), n, _mean_extra(data, window, groups))


def _by_code(x: np.ndarray, code: np.ndarray, G: int) -> np.ndarray:
    """``(G, T)`` sums of the rows of ``x`` by their sorted ``code``."""
    out = np.zeros((G, x.shape[1]))
    present, starts = np.unique(code, return_index=True)
    out[present] = np.add.reduceat(x, starts, axis=0)
    return out


def _class_sum(rows: np.ndarray, make: Callable[[np.ndarray], np.ndarray],
               cls: np.ndarray, K: int, T: int) -> np.ndarray:
    """``(K, T)`` sums by class ``cls[i]`` of the rows ``make(rows)`` of ``rows``,
    made and added in row blocks (in another order than a bincount over the cells:
    for exact sums, or sums only needed to about 1e-15)."""
    out = np.zeros((K, T))
    if not len(rows):
        return out
    step = max(1, _BLOCK_CELLS // max(T, 1))
    c = cls[rows]
    if K * T <= 4 * _BLOCK_CELLS:  # few classes: bincounts over the cells
        flat = out.reshape(-1)
        for a in range(0, len(rows), step):
            idx = (c[a:a + step, None] * T + np.arange(T)[None, :]).ravel()
            flat += np.bincount(idx, weights=make(rows[a:a + step]).ravel(),
                                minlength=K * T)
        return out
    o = np.argsort(c, kind="stable")  # many classes: rows by class, sums by runs
    rows, c = rows[o], c[o]
    for a in range(0, len(rows), step):
        cb = c[a:a + step]
        st = np.flatnonzero(np.r_[True, cb[1:] != cb[:-1]])
        out[cb[st]] += np.add.reduceat(make(rows[a:a + step]), st, axis=0)
    return out


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
    x, valid = _wx(data, window)
    n, _ = _wmean(data, window, groups)
    w = _gsum((x > 0).astype(np.float64), groups, valid) * _row_factor(data, groups, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (w - n / 2) / np.sqrt(n / 4)
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, _z_p(z), n, _mean_extra(data, window, groups))


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
    x, valid = _wx(data, window)
    n, _ = _wmean(data, window, groups)

    def make() -> tuple[np.ndarray, np.ndarray]:
        P, Le = data.resid.shape
        pos = np.empty(P)
        L = np.empty(P)
        step = max(1, _BLOCK_CELLS // max(Le, 1))
        for a in range(0, P, step):
            r = data.resid[a:a + step]
            ok = np.isfinite(r)
            up = (r > 0) & ok
            pos[a:a + step] = np.add.reduce(up.view(np.uint8), axis=1, dtype=np.intp)
            L[a:a + step] = np.add.reduce(ok.view(np.uint8), axis=1, dtype=np.intp)
        return pos, L

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
    return TestStat(z, _z_p(z), n, _mean_extra(data, window, groups))


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
    x, valid = _wx(data, window)
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
    extra = _mean_extra(data, window, groups)
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
    evaluated first, or on the chunking of the draws (chunks of about 2^21 draws are
    taken sequentially from one stream, the resamples split in contiguous parts over
    up to two threads whose generators are advanced to their part of the stream).
    Memory O(B G + chunk). Efron & Tibshirani
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
    gfirst = first[np.flatnonzero(n > 0)]

    def draws(b0: int, b1: int, gen: np.random.Generator) -> None:
        """Means of draws b0..b1 (``gen`` at the stream position of draw b0)."""
        # the draws of a chunk go down the rows of buf (one column per draw, a zero
        # row in front of each group): a column reduction then adds each group's
        # values in order from 0.0, as a bincount over the draws would
        buf = np.zeros((m + 1, max(chunk, 2))) if G <= _LOOP_GROUPS else None
        for c0 in range(b0, b1, chunk):  # chunks of draws, one sequential stream
            c = min(chunk, b1 - c0)
            u = gen.random((c, m))
            u *= size  # floor(u * size) of these non-negative products: the cast
            pick = u.astype(np.int64)
            pick += start
            if buf is None:
                idx = (np.arange(c)[:, None] * G + gs[None, :]).ravel()
                sums: np.ndarray = np.bincount(idx, weights=xs[pick].ravel(),
                                               minlength=c * G).reshape(c, G)
            else:
                np.take(xs, pick.T, out=buf[1:, :c], mode="clip")
                sums = np.zeros((c, G))
                for k0 in gfirst:
                    k = gs[k0]
                    keep = buf[k0, :c].copy()
                    buf[k0, :c] = 0.0
                    sums[:, k] = np.add.reduce(buf[k0:k0 + int(n[k]) + 1], axis=0)[:c]
                    buf[k0, :c] = keep
            with np.errstate(invalid="ignore", divide="ignore"):
                means[c0:c0 + c] = sums / n

    # the draws split in contiguous parts run on threads, each generator advanced
    # to its part's place in the one stream (a double is one step of PCG64)
    parts = max(1, min(_BOOT_THREADS, (B * m) // _BOOT_CHUNK))
    cuts = [B * i // parts for i in range(parts + 1)]
    gens = []
    for b0 in cuts[:-1]:
        bitgen = np.random.PCG64()
        bitgen.state = rng.bit_generator.state  # type: ignore[assignment]
        bitgen.advance(b0 * m)
        gens.append(np.random.Generator(bitgen))
    if parts == 1:
        draws(0, B, gens[0])
    else:
        with ThreadPoolExecutor(parts) as pool:
            list(pool.map(draws, cuts[:-1], cuts[1:], gens))
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
        statistic, p_value, n, mean, p_bh`` plus test-specific extras (``rbar``,
        ``ci_low``, ``ci_high``, ``w_plus``). Rows ordered by scope, group (first
        appearance), window (each day, then the CAR windows) and test (in the order
        requested).
        ``window_kind`` is ``day`` for a single event day (AAR tests) and ``car``
        for a CAR window (CAAR tests), so day 0 and the CAR window [0, 0] are told
        apart.
        ``p_bh`` is the Benjamini-Hochberg adjusted p-value over the whole table.
        With value weights (:attr:`PairData.weight`) a last column ``weighting``
        says ``value`` for the tests in :data:`WEIGHTED_TESTS` and ``equal`` for the
        others (their statistic and ``mean`` are equal-weighted).
    """
    wins = data.windows()
    keys: dict[str, list[np.ndarray]] = {k: [] for k in ("_s", "_g", "_w", "_t")}
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("scope", "scope_value", "window_start", "window_end",
                        "window_kind", "test", "statistic", "p_value", "n") + _EXTRAS}
    seen: set[str] = set()
    partitions = [make_groups(pairs, scope) for scope in scopes]
    data._memo["partitions"] = tuple(partitions)  # per-scope intermediates at once
    # a scope whose partition equals an earlier one's (e.g. "group" with a single
    # group) reuses its results: they depend on the codes only, except the seeded
    # bootstrap's draws
    same: dict[int, int] = {}
    for si, g in enumerate(partitions):
        for sj in range(si):
            h = partitions[sj]
            if sj not in same and h.n == g.n and np.array_equal(h.codes, g.codes):
                same[si] = sj
                break
    kept: dict[tuple[int, int, str], TestStat] = {}
    for si, (scope, g) in enumerate(zip(scopes, partitions, strict=True)):
        labels = np.array(g.labels, dtype=object)
        gi = np.arange(g.n)
        nan = np.full(g.n, np.nan)
        for wi, w in enumerate(wins):
            for ti, name in enumerate(tests):
                if si in same and name not in _SCOPE_SEEDED:
                    r = kept[(same[si], wi, name)]
                else:
                    r = TESTS[name](data, w, g)
                    if si in same.values():
                        kept[(si, wi, name)] = r
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
    if data.weight is not None:
        out["weighting"] = np.where(out["test"].isin(list(WEIGHTED_TESTS)), "value",
                                    "equal").astype(object)
    return out


_SCOPE_SEEDED = frozenset({"boot"})
"""Tests whose result depends on the scope's name and labels (its seed), not only on
the partition's codes."""

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
