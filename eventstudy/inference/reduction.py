"""Grouped reductions shared by every test statistic.

The per-pair inputs (:class:`PairData`), the partitions of the pairs (:class:`Groups`),
the windows (:class:`Window`) and the results (:class:`TestStat`); the grouped sums
over pairs (``numpy.bincount``, or for ``(P, T)`` arrays column reductions over row
blocks that add the cells in the same order, bit for bit the bincount), so a scope
with 100,000 groups costs the same as one with a single group; and the two objects
handed to every test:

* :class:`Shared`, made once per :func:`~eventstudy.inference.runner.run_tests` call
  (or per direct test call) and passed explicitly: the window-independent
  intermediates (ranks, GRANK's sorted estimation values, the Brown-Warner
  estimation series, the Kolari-Pynnonen correlations reduced to per-cluster sums),
  each computed on first use and keyed by content (a checksum of a partition's
  codes), and per-scope sums computed at once for every partition the run asks for;
* :class:`Sample`, a frozen bundle built once per window and partition: the
  window's values and standardised values (:class:`WindowValues`, built once per
  window) with their per-group counts, means and variances (equal- and
  value-weighted).

No ``(P, T)`` temporary and no list of pair correlations is built, so the memory
stays bounded at 1,000,000 pairs.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eventstudy.config import Conventions, Windows
from eventstudy.inference import kernels
from eventstudy.inference.distributions import norm_sf, t_sf
from eventstudy.inference.kernels import use_compiled
from eventstudy.inputs.calendar import WindowDates
from eventstudy.options import Profile

if TYPE_CHECKING:
    from eventstudy.estimation.containers import AbnormalReturns, Estimates, Stacked

SCOPES = ("all", "group", "event", "event_group")

BLOCK_CELLS = 1 << 20
"""Row blocks of the ``(P, T)`` passes hold about this many cells (8 MiB of float64)."""

PASS_THREADS = 2
"""Threads sharing the row blocks of the window-independent passes (ranks, the
Kolari-Pynnonen sums); each block's numbers do not depend on the thread."""


def blocks_in_threads(P: int, step: int, job: Callable[[int], Any]) -> list[Any]:
    """``job(a)`` for the row-block starts ``a = 0, step, 2 step, ...`` on
    :data:`PASS_THREADS` threads (numpy releases the GIL in the heavy calls), in
    block order."""
    starts = range(0, P, step)
    if len(starts) < 2:
        return [job(a) for a in starts]
    with ThreadPoolExecutor(PASS_THREADS) as pool:
        return list(pool.map(job, starts))


LOOP_GROUPS = 64
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
    def kind(self) -> str:
        """``day`` for a single event day (AAR tests), ``car`` for a CAR window."""
        return "day" if self.day_index >= 0 else "car"

    @property
    def standardized(self) -> np.ndarray:
        """SAR or SCAR: value / sqrt(var)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out: np.ndarray = self.value / np.sqrt(self.var)
        return out


@dataclass(frozen=True)
class TestStat:
    """A test's result for every group of a scope (arrays of length G)."""

    __test__ = False  # not a pytest test class

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
        registry marked ``weighted``
        (:data:`eventstudy.inference.registry.WEIGHTED_TESTS`) use them.
    conventions
        The study's conventions; the tests read their own from it (per-test
        forecast-error correction, Patell's CAR form, Corrado's divisor). Its
        ``forecast_error`` must be the one the engine computed ``day_var`` and
        ``car_var`` with.
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
    conventions: Conventions = field(default_factory=Conventions)

    @classmethod
    def build(cls, st: Stacked, est: Estimates, ar: AbnormalReturns,
              windows: Windows, seed: int = 12345, bootstrap_reps: int = 999,
              profile: Profile = "textbook", weight: np.ndarray | None = None,
              conventions: Conventions | None = None) -> PairData:
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
            conventions=Conventions() if conventions is None else conventions,
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


# ----------------------------------------------------------------- grouped helpers
def gsum(x: np.ndarray, g: Groups, valid: np.ndarray) -> np.ndarray:
    if valid.all():  # the same sums without selecting the cells
        return np.bincount(g.codes, weights=x, minlength=g.n)
    return np.bincount(g.codes[valid], weights=x[valid], minlength=g.n)


def gcount(g: Groups, valid: np.ndarray) -> np.ndarray:
    if g.n == 1:
        return np.array([float(np.count_nonzero(valid))])
    return np.bincount(g.codes[valid], minlength=g.n).astype(np.float64)


def group_rows(g: Groups) -> list[np.ndarray]:
    """Each group's row indices, in increasing order."""
    order = np.argsort(g.codes, kind="stable")
    bounds = np.searchsorted(g.codes[order], np.arange(g.n + 1))
    return [order[bounds[k]:bounds[k + 1]] for k in range(g.n)]


Block = Callable[[Any], tuple[np.ndarray, np.ndarray]]
"""Rows (a slice or an index array) -> their ``(values, ok)`` as ``(m, T)`` arrays."""


def gsums_multi(block: Block, P: int, T: int, parts: list[Groups]
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per group and column sums and counts of a ``(P, T)`` array over the cells in
    ok, for several partitions in one pass.

    The array is produced in row blocks by ``block`` (no ``(P, T)`` temporary).
    Every sum adds its cells one at a time in row order starting from 0.0 (a column
    reduction over a buffer whose first row is the running sum), bit for bit what
    ``numpy.bincount`` over the cells in row-major order gives; with one column or
    more than ``LOOP_GROUPS`` groups it is that bincount.
    """
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(parts)
    loop = [i for i, g in enumerate(parts) if T >= 2 and g.n <= LOOP_GROUPS]
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
        step = max(1, BLOCK_CELLS // T)
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


def gsums(block: Block, P: int, T: int, g: Groups) -> tuple[np.ndarray, np.ndarray]:
    """:func:`gsums_multi` for one partition."""
    return gsums_multi(block, P, T, [g])[0]




def gsum2(x: np.ndarray, g: Groups, ok: np.ndarray) -> np.ndarray:
    """Per group and column sums of a ``(P, T)`` array over the cells in ``ok``."""
    return gsums(lambda r: (x[r], ok[r]), x.shape[0], x.shape[1], g)[0]


def gcount2(g: Groups, ok: np.ndarray) -> np.ndarray:
    """Per group and column number of cells in ``ok``."""
    if g.n == 1:
        one: np.ndarray = ok.sum(axis=0).astype(np.float64)[None, :]
        return one
    if g.n > LOOP_GROUPS:
        T = ok.shape[1]
        idx = (g.codes[:, None] * T + np.arange(T)[None, :])[ok]
        return np.bincount(idx, minlength=g.n * T).astype(np.float64).reshape(g.n, T)
    return np.stack([ok[r].sum(axis=0) for r in group_rows(g)]).astype(np.float64)


def n_all(g: Groups) -> np.ndarray:
    """Number of pairs in each group (whatever their data)."""
    return np.bincount(g.codes, minlength=g.n).astype(np.float64)


def gmean_all(x: np.ndarray, g: Groups) -> np.ndarray:
    """Group mean of a per-pair quantity over all pairs of the group."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.bincount(g.codes, weights=x, minlength=g.n) / n_all(g)
    return out


def gkey(g: Groups) -> str:
    """Memo key of a partition (a checksum of the codes: partitions with the same
    codes, such as ``all`` and a ``group`` scope with one group, share it)."""
    codes = np.ascontiguousarray(g.codes, dtype=np.int64)
    return f"{g.n}:{len(codes)}:{zlib.crc32(codes.tobytes())}"


def t_p(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Two-sided Student t p-value 2 P(T > |t|); NaN for a non-finite t or df <= 0."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(t), 2 * t_sf(np.abs(t), df), np.nan)  # df <= 0: NaN


def z_p(z: np.ndarray) -> np.ndarray:
    """Two-sided normal p-value 2 P(Z > |z|); NaN for a non-finite z."""
    return np.where(np.isfinite(z), 2 * norm_sf(np.abs(z)), np.nan)


def finite(*arrays: np.ndarray) -> np.ndarray:
    ok = np.ones(arrays[0].shape, dtype=bool)
    for a in arrays:
        ok &= np.isfinite(a)
    return ok


def window_cols(data: PairData, window: Window) -> np.ndarray:
    """Event-window column indices of the window's days."""
    r0 = int(data.rel_days[0])
    return np.arange(window.start - r0, window.end - r0 + 1)


def row_factor(data: PairData, groups: Groups, count: np.ndarray) -> np.ndarray:
    """estudy2's "row mean x N" sums: the factor N_g / N_t (1 under textbook)."""
    if data.profile != "estudy2":
        return np.ones(count.shape)
    total = n_all(groups)
    shape = (-1,) + (1,) * (count.ndim - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = total.reshape(shape) / count
    return out


def daily_combine(daily: np.ndarray) -> np.ndarray:
    """Sum of daily statistics over the days with a value, / sqrt(number of days)."""
    has = np.isfinite(daily)
    nd = has.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(has, daily, 0.0).sum(axis=1) / np.sqrt(nd)
    return np.where(nd > 0, out, np.nan)



def by_code(x: np.ndarray, code: np.ndarray, G: int) -> np.ndarray:
    """``(G, T)`` sums of the rows of ``x`` by their sorted ``code``."""
    out = np.zeros((G, x.shape[1]))
    present, starts = np.unique(code, return_index=True)
    out[present] = np.add.reduceat(x, starts, axis=0)
    return out


def class_sum(rows: np.ndarray, make: Callable[[np.ndarray], np.ndarray],
               cls: np.ndarray, K: int, T: int) -> np.ndarray:
    """``(K, T)`` sums by class ``cls[i]`` of the rows ``make(rows)`` of ``rows``,
    made and added in row blocks (in another order than a bincount over the cells:
    for exact sums, or sums only needed to about 1e-15)."""
    out = np.zeros((K, T))
    if not len(rows):
        return out
    step = max(1, BLOCK_CELLS // max(T, 1))
    c = cls[rows]
    if K * T <= 4 * BLOCK_CELLS:  # few classes: bincounts over the cells
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





# ----------------------------------------------------------------- test inputs
class Shared:
    """Window-independent intermediates of one :class:`PairData`, passed explicitly.

    Made by :func:`~eventstudy.inference.runner.run_tests` for one run (or by a
    direct test call for that call) and handed to every test through
    :class:`Sample`; nothing is kept on the frozen inputs. Each intermediate is
    computed on its first use under a content key (a partition is named by a
    checksum of its codes, :func:`gkey`), so the result does not depend on which
    test asks first.

    Parameters
    ----------
    data
        The pairs.
    partitions
        The partitions the run will ask for: a per-scope intermediate is computed
        at once for all of them (one pass over the ``(P, T)`` arrays).
    kernel
        ``"auto"`` (default: the compiled passes of
        :mod:`~eventstudy.inference.kernels` from
        :data:`~eventstudy.inference.kernels.COMPILED_MIN_PAIRS` pairs when numba
        is installed), ``"numpy"`` or ``"numba"``; :attr:`compiled` says which
        runs. The numbers are the same (see the kernels' module notes).
    """

    def __init__(self, data: PairData, partitions: tuple[Groups, ...] = (),
                 kernel: str = "auto") -> None:
        self.data = data
        self.partitions = partitions
        self.compiled = use_compiled(kernel, data.n_pairs)
        self._store: dict[str, Any] = {}

    def get(self, key: str, make: Callable[[], Any]) -> Any:
        """The intermediate ``key``, made by ``make()`` on first use."""
        if key not in self._store:
            self._store[key] = make()
        return self._store[key]

    def keys(self) -> tuple[str, ...]:
        """The intermediates made so far (in the order they were made)."""
        return tuple(self._store)

    def scoped(self, prefix: str, g: Groups,
               compute: Callable[[list[Groups]], list[Any]]) -> Any:
        """A per-partition intermediate; on first use ``compute`` makes it at once
        for ``g`` and every partition of :attr:`partitions` still without it."""
        key = f"{prefix}:{gkey(g)}"
        if key not in self._store:
            todo, keys = [g], [key]
            for h in self.partitions:
                k = f"{prefix}:{gkey(h)}"
                if (k not in self._store and k not in keys
                        and h.codes.shape == g.codes.shape):
                    todo.append(h)
                    keys.append(k)
            for k, r in zip(keys, compute(todo), strict=True):
                self._store[k] = r
        return self._store[key]


@dataclass(frozen=True)
class WindowValues:
    """One window's values and where they are finite, built once per window.

    Attributes
    ----------
    window
        The window.
    x, ok
        ``(P,)`` AR or CAR and its finite mask (read-only).
    s, sok
        ``(P,)`` SAR or SCAR (:attr:`Window.standardized`) and its finite mask
        (read-only).
    """

    window: Window
    x: np.ndarray
    ok: np.ndarray
    s: np.ndarray
    sok: np.ndarray

    @classmethod
    def build(cls, window: Window, compiled: bool = False) -> WindowValues:
        """The values of ``window`` (``compiled``: in one compiled pass, the same
        numbers)."""
        x = window.value
        if compiled:  # a contiguous copy of the column: the same values
            x = np.ascontiguousarray(x)
            P = len(x)
            ok, sok, s = np.empty(P, dtype=bool), np.empty(P, dtype=bool), np.empty(P)
            kernels.compiled().window_values(x, window.var, ok, s, sok)
        else:
            ok = finite(x)
            s = window.standardized
            sok = finite(s)
        ok.flags.writeable = False
        sok.flags.writeable = False
        s.flags.writeable = False
        return cls(window, x, ok, s, sok)


@dataclass(frozen=True)
class Moments:
    """Per group: n, mean and sample variance (ddof 1, two passes) of the finite
    values (NaN variance below two values)."""

    n: np.ndarray
    mean: np.ndarray
    var: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, valid: np.ndarray, groups: Groups,
              compiled: bool = False) -> Moments:
        """The moments of ``x`` over ``valid`` per group (``compiled``: two compiled
        passes adding in the same order, the same numbers)."""
        if compiled:
            k = kernels.compiled()
            codes = np.ascontiguousarray(groups.codes, dtype=np.int64)
            n, tot = k.group_sums(x, valid, codes, groups.n)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = tot / n
                var = k.dev_sums(x, valid, codes, mean, groups.n, 2) / (n - 1)
            return cls(n, mean, np.where(n > 1, var, np.nan))
        n = gcount(groups, valid)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = gsum(x, groups, valid) / n
            dev = x - mean[groups.codes]
            var = gsum(dev * dev, groups, valid) / (n - 1)
        return cls(n, mean, np.where(n > 1, var, np.nan))


@dataclass(frozen=True)
class WeightedMoments:
    """Value-weighted moments per group over the finite values.

    n, the weighted mean m_w = sum w_i x_i / sum w_i, the variance estimate of m_w,
    V = n/(n - 1) sum_i (w_i / sum w)^2 (x_i - m_w)^2 (White's 1980
    heteroskedasticity-consistent variance of a weighted mean with the n/(n - 1)
    small-sample factor; with equal weights V = s^2 / n exactly), and the valid mask.
    """

    n: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    valid: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, valid: np.ndarray, w: np.ndarray, groups: Groups
              ) -> WeightedMoments:
        """The weighted moments of ``x`` (weights ``w``) over ``valid`` per group."""
        n = gcount(groups, valid)
        with np.errstate(invalid="ignore", divide="ignore"):
            sw = gsum(w, groups, valid)
            mean = gsum(w * x, groups, valid) / sw
            u = w / sw[groups.codes] * (x - mean[groups.codes])
            v = n / (n - 1) * gsum(u * u, groups, valid)
        return cls(n, mean, np.where(n > 1, v, np.nan), valid)


@dataclass(frozen=True)
class Sample:
    """Everything a test reads for one window and one partition (the argument of
    every test function).

    Attributes
    ----------
    data, window, groups
        The pairs, the window and the partition.
    shared
        The run's window-independent intermediates.
    values
        The window's values (:class:`WindowValues`).
    plain, std
        :class:`Moments` of the values and of the standardised values.
    plain_vw, std_vw
        Their :class:`WeightedMoments` when :attr:`PairData.weight` is set, else
        None.
    """

    data: PairData
    window: Window
    groups: Groups
    shared: Shared
    values: WindowValues
    plain: Moments
    std: Moments | None
    plain_vw: WeightedMoments | None
    std_vw: WeightedMoments | None

    @classmethod
    def build(cls, data: PairData, window: Window, groups: Groups,
              shared: Shared | None = None, values: WindowValues | None = None,
              std: bool = True) -> Sample:
        """The sample of ``window`` and ``groups`` (a new :class:`Shared` and
        :class:`WindowValues` when not given; ``std``: with the moments of the
        standardised values, which only the tests that read SAR/SCAR need)."""
        sh = Shared(data, (groups,)) if shared is None else shared
        wv = WindowValues.build(window, sh.compiled) if values is None else values
        w = data.weight
        return cls(
            data, window, groups, sh, wv,
            Moments.build(wv.x, wv.ok, groups, sh.compiled),
            Moments.build(wv.s, wv.sok, groups, sh.compiled) if std else None,
            None if w is None else WeightedMoments.build(wv.x, wv.ok, w, groups),
            None if w is None or not std
            else WeightedMoments.build(wv.s, wv.sok, w, groups))

    def _pick(self, std: bool) -> Moments:
        m = self.std if std else self.plain
        assert m is not None, "a test reading SAR/SCAR must be registered needs_sar"
        return m

    def x(self, std: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The window's values (``std``: SAR/SCAR) and where they are finite."""
        v = self.values
        return (v.s, v.sok) if std else (v.x, v.ok)

    def wmean(self, std: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Per group: the number and mean of the finite values (copies)."""
        m = self._pick(std)
        return m.n.copy(), m.mean.copy()

    def moments(self, std: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per group: n, mean and sample variance of the finite values (copies)."""
        m = self._pick(std)
        return m.n.copy(), m.mean.copy(), m.var.copy()

    def vw(self, std: bool = False
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per group: n, weighted mean, its variance V (copies) and the valid mask
        (:class:`WeightedMoments`); only with value weights."""
        m = self.std_vw if std else self.plain_vw
        assert m is not None, "value-weighted moments need PairData.weight (and a " \
            "test reading SAR/SCAR must be registered needs_sar)"
        return m.n.copy(), m.mean.copy(), m.var.copy(), m.valid

    def mean_extra(self) -> dict[str, np.ndarray]:
        """The ``mean`` column: the equal-weighted AAR or CAAR."""
        return {"mean": self.plain.mean.copy()}

    def vw_extra(self) -> dict[str, np.ndarray]:
        """The ``mean`` column of a weighted test: the value-weighted AAR or CAAR."""
        return {"mean": self.vw()[1]}
