"""Stages 2-4 of a study, chunk by chunk: gather the windows, estimate the
normal-return models, abnormal returns and CARs with their variances.

Every pair's numbers depend on its own row only, so the results are bitwise identical
whatever the chunk size, the number of threads or the executor
(:mod:`eventstudy.execution`) that runs the chunks. The functions are module-level so
that Dask workers run them without the study object.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from eventstudy.alignment import Aligned
from eventstudy.config import Conventions, Windows
from eventstudy.estimation.containers import ChunkOut
from eventstudy.estimation.models import (
    VOL_COLUMNS,
    Design,
    Fit,
    estimate,
    leverage,
    predict,
    slope_rows,
    window_leverage,
)

DEFAULT_MAX_MEMORY = 512 * 2**20
"""Default memory budget (bytes) of the chunk working set of stages 2-4."""


MAX_CHUNK = 1024
"""Largest automatic chunk: bigger chunks stop fitting the CPU caches and glibc's
heap (see :func:`raise_malloc_threshold`)."""


FUSED_MIN_PAIRS = 20_000
"""``kernel="auto"`` compiles the market-model kernel (numba) from this many
candidate pairs: below, importing numba costs more than it saves."""


ZERO_SIGMA = "zero residual variance in the estimation window"
"""Exclusion reason: sigma^2 = 0 (or not finite): SAR = AR / sigma is undefined and
the pair's zero ARs would count as information."""


SINGULAR = ("the model cannot be estimated: a regressor (the benchmark or a factor) "
            "is constant in the estimation window")
"""Exclusion reason: a singular design (e.g. a benchmark with a constant price),
so alpha and beta are not defined."""


NOT_CONVERGED = ("the {model} likelihood search did not converge in the estimation "
                 "window; set [model] nonconvergence = \"ols\" to fall back to OLS")
"""Exclusion reason: a conditional-variance model's maximum likelihood did not
converge (``converged == 0`` and no OLS fallback in the fit's ``extra``)."""


R2_EXACT = 1.0 - 1e-12
"""An R^2 at or above this is an exact fit up to rounding: SSR / SST <= 1e-12, i.e.
a residual SD below a millionth of the return's SD (:func:`degenerate_fits`)."""


def degenerate_fits(reason: np.ndarray, cand: np.ndarray, out: ChunkOut) -> None:
    """Exclude, in place in ``reason``, the candidates still kept whose fit is
    degenerate: a singular design (alpha not finite: :data:`SINGULAR`) or a zero
    residual variance (:data:`ZERO_SIGMA`).

    sigma^2 is zero when sigma^2 <= 0, not finite, or R^2 >= :data:`R2_EXACT`
    (an exact fit up to rounding: a benchmark that duplicates the security under
    another ticker, a stale series). Such a pair's SARs (AR / sigma) are undefined
    and its ARs are 0 by construction, so counting them would pull every test
    towards "no effect". The same rule applies to the numpy and numba kernels and
    to Dask, since it reads the gathered outputs.
    """
    live = reason[cand] == ""
    with np.errstate(invalid="ignore"):
        singular = live & ~np.isfinite(out.alpha)
        zero = (live & ~singular
                & (~np.isfinite(out.sigma2) | (out.sigma2 <= 0.0)
                   | (np.isfinite(out.r2) & (out.r2 >= R2_EXACT))))
    reason[cand[singular]] = SINGULAR
    reason[cand[zero]] = ZERO_SIGMA
    conv = VOL_COLUMNS.index("converged")
    fb = VOL_COLUMNS.index("fallback_ols")
    failed = (reason[cand] == "") & (out.vol[:, conv] == 0.0) & (out.vol[:, fb] != 1.0)
    reason[cand[failed]] = NOT_CONVERGED.format(model="GARCH-family")


def raise_malloc_threshold() -> None:
    """Allocate and free one 31 MiB block (never touched, so almost free).

    glibc serves large blocks with mmap until one such block is freed, and then
    raises its mmap threshold to that block's size (and its trim threshold to
    twice that). Without this, every multi-megabyte temporary of a chunk is a
    fresh mmap whose pages fault in one by one, which costs 2-4x the arithmetic.
    Nothing is configured: this is an ordinary allocation pattern.
    """
    block = np.empty(31 * 2**20 // 8)
    del block


def chunk_bytes_per_pair(le: int, w: int, k: int, c: int) -> int:
    """Working memory of stages 2-4 per pair (bytes), for the automatic chunk size.

    Counts the float64 temporaries of the gather, the batched OLS (centred regressors,
    residuals, masks) and the AR/CAR step for a model with ``k`` regressors.
    """
    est = le * (14 + 8 * k + 2 * k * k)
    evt = w * (16 + 4 * k) + c * 4
    return 8 * (est + evt)


def auto_chunk_size(le: int, w: int, k: int, c: int, workers: int,
                    max_memory: int | None) -> int:
    """Pairs per chunk so that ``workers`` chunks in flight fit ``max_memory``.

    Capped at :data:`MAX_CHUNK` (cache-friendly) and at least 64.
    """
    budget = DEFAULT_MAX_MEMORY if max_memory is None else int(max_memory)
    per = chunk_bytes_per_pair(le, w, k, c) * max(1, workers)
    return int(min(MAX_CHUNK, max(64, budget // per)))


def chunk_spans(n: int, size: int) -> list[tuple[int, int]]:
    """The ``(lo, hi)`` candidate spans of ``size`` pairs (the last one shorter).

    A trailing one-pair chunk is merged into the one before it, so that no chunk has
    a single row (the same array shapes as an unchunked run).

    Examples
    --------
    >>> chunk_spans(10, 4), chunk_spans(9, 4), chunk_spans(0, 4)
    ([(0, 4), (4, 8), (8, 10)], [(0, 4), (4, 9)], [])
    """
    bounds = list(range(0, n, size))
    if len(bounds) > 1 and n - bounds[-1] == 1:
        bounds.pop()
    return [(lo, bounds[i + 1] if i + 1 < len(bounds) else n)
            for i, lo in enumerate(bounds)]


def run_chunk(a: Aligned, out: ChunkOut, w: Windows, conv: Conventions, lo: int,
              hi: int, day0_shift: float = 0.0) -> tuple[float, float, float]:
    """Stages 2-4 for candidates ``lo:hi``; writes rows ``lo:hi`` of ``out``.

    Returns the seconds spent gathering, estimating and on ARs/CARs.

    With ``estimation = "all"`` (``a.from_start``) the windows are the long fixed
    ones :func:`~eventstudy.alignment.align` resolved; a pair's positions before its
    own first return are NaN, and its regressors' window (``market_moments =
    "window"``) starts at that return too.

    With estimation masking (``a.est_values``), the dependent returns of the
    estimation windows come from ``a.est_values`` (NaN on the masked days) and the
    regressors and the event windows from ``a.values``; ``out.n_masked`` counts the
    estimation returns that masking removed (usable without it: the return and
    every regressor finite). Without masking it is 0.
    """
    t0 = time.perf_counter()
    Le, W = w.estimation_length, w.event_length
    ix = a.cand[lo:hi]
    s0 = a.pad + a.pos[ix]
    est_start = s0 + w.estimation[0]
    evt_start = s0 + w.event[0]
    v_est = sliding_window_view(a.values, Le, axis=1)
    v_evt = sliding_window_view(a.values, W, axis=1)
    masked = a.est_values is not None
    if not masked:
        out.n_masked[lo:hi] = 0
    if len(out.evt_dates):  # (a Dask task leaves the dates to the client)
        window_dates(a, out, w, lo, hi)
    codes = a.model_code[ix]
    present = np.unique(codes)
    if a.fused and all(fusable(a.designs[int(m)], conv, a) for m in present):
        # the compiled kernel gathers for itself (ret_evt included)
        t_gather = time.perf_counter() - t0
        t1 = time.perf_counter()
        fused_chunk(a, out, w, conv, lo, hi, slice(None), ix, est_start, evt_start,
               day0_shift)
        return t_gather, time.perf_counter() - t1, 0.0
    trow = a.rows["ticker"][ix]
    y_raw = v_est[trow, est_start]
    y_est = y_raw
    # estimation = "all": each pair's window starts at its own first return
    started = (np.cumsum(np.isfinite(y_raw), axis=1) > 0) if a.from_start else None
    if a.est_values is not None:  # masking: the masked days are NaN in y only
        y_est = sliding_window_view(a.est_values, Le, axis=1)[trow, est_start]
    ret_evt = v_evt[trow, evt_start]
    y_evt = ret_evt
    if a.needs_rf:
        # excess returns; a missing risk-free rate makes the day missing
        rrow = a.rows["rf"][ix]
        rf_est = v_est[rrow, est_start]
        rf_evt = v_evt[rrow, evt_start]
        y_est = y_est - rf_est
        y_raw = y_raw - rf_est
        y_evt = ret_evt - rf_evt
    if day0_shift and w.event[0] <= 0 <= w.event[1]:
        # simulations: an abnormal return planted on day 0 of every pair
        c0 = -w.event[0]
        ret_evt = ret_evt.copy()
        ret_evt[:, c0] += day0_shift
        y_evt = y_evt.copy()
        y_evt[:, c0] += day0_shift
    out.ret_evt[lo:hi] = ret_evt
    groups: list[tuple[int, slice | np.ndarray]] = (
        [(int(present[0]), slice(None))] if len(present) == 1 else
        [(int(m), np.flatnonzero(codes == m)) for m in present])
    t_gather = time.perf_counter() - t0
    t_est = 0.0
    t_ar = 0.0
    for m, s in groups:
        t1 = time.perf_counter()
        d = a.designs[m]
        sub = ix[s]
        es, vs = est_start[s], evt_start[s]
        if a.fused and fusable(d, conv, a):
            fused_chunk(a, out, w, conv, lo, hi, s, sub, es, vs, day0_shift)
            t_est += time.perf_counter() - t1
            continue
        n = len(sub)
        k = len(d.regressors)
        X = np.empty((n, Le, k))
        Xe = np.empty((n, W, k))
        for j, (src, lag) in enumerate(d.regressors):
            rr = a.rows[src][sub]
            X[:, :, j] = v_est[rr, es + lag]
            Xe[:, :, j] = v_evt[rr, vs + lag]
            if a.needs_rf and d.excess and src == "market":
                # the market factor in excess of the risk-free rate, like R
                rf = a.rows["rf"][sub]
                X[:, :, j] -= v_est[rf, es + lag]
                Xe[:, :, j] -= v_evt[rf, vs + lag]
        y = y_est[s]
        t2 = time.perf_counter()
        t_gather += t2 - t1
        rows_out = slice(lo, hi) if isinstance(s, slice) else lo + s
        wmask = np.asarray(np.isfinite(X).all(axis=-1))
        if started is not None:  # the market moments of "window" start there too
            wmask &= started[s]
        mask = np.isfinite(y) & wmask
        nest = mask.sum(axis=1)
        out.nest[rows_out] = nest
        if masked:
            out.n_masked[rows_out] = (np.isfinite(y_raw[s]) & wmask).sum(axis=1) - nest
        out.zero_share[rows_out] = np.where(mask, y == 0, False).sum(1) / nest
        fit = estimate(d, y, X, mask, conv, X_window=X, window_mask=wmask)
        out.sigma2[rows_out] = fit.sigma2
        out.nobs[rows_out] = fit.nobs
        out.dof[rows_out] = fit.dof
        out.k[rows_out] = fit.k
        out.r2[rows_out] = fit.r2
        out.resid[rows_out] = fit.resid
        out.alpha[rows_out], out.beta[rows_out] = d.model.reported(d, fit)
        if fit.extra is not None:
            out.vol[rows_out] = fit.extra
        normal = predict(d, fit, Xe)
        rows = slope_rows(d, Xe)
        lev = leverage(d, fit, rows)
        out.normal[rows_out] = normal
        out.lev[rows_out] = lev
        t3 = time.perf_counter()
        t_est += t3 - t2
        abnormal(out, rows_out, y_evt[s], ret_evt[s], normal, lev, fit.sigma2,
                  d, fit, rows, w, conv)
        t_ar += time.perf_counter() - t3
    return t_gather, t_est, t_ar


def fusable(d: Design, conv: Conventions, a: Aligned) -> bool:
    """Whether the compiled market-model kernel computes exactly what the numpy path
    does for this design and these conventions (the kernel reads one returns
    matrix, so estimation masking runs the numpy path)."""
    return (d.model.fused_kernel and d.regressors == (("market", 0),)
            and not a.needs_rf and conv.market_moments == "firm"
            and conv.aggregation == "car" and a.est_values is None)


def fused_chunk(a: Aligned, out: ChunkOut, w: Windows, conv: Conventions, lo: int,
                hi: int, s: slice | np.ndarray, sub: np.ndarray, es: np.ndarray,
                vs: np.ndarray, day0_shift: float) -> None:
    """Stages 2-4 of the market-model pairs ``sub`` (chunk rows ``s``) by the
    compiled kernel, into rows ``lo + s`` of ``out``."""
    from eventstudy.estimation.kernels import (  # lazy: numba compiles on import
        OUTPUTS as names,
    )
    from eventstudy.estimation.kernels import market_chunk  # lazy: numba

    W = w.event_length
    c0 = -w.event[0] if (day0_shift and w.event[0] <= 0 <= w.event[1]) else -1
    if isinstance(s, slice):  # every pair of the chunk: write in place
        dst = {k: getattr(out, k)[lo:hi] for k in names}
    else:
        dst = {k: np.empty((len(sub),) + getattr(out, k).shape[1:],
                           dtype=getattr(out, k).dtype) for k in names}
    w0 = w.event[0]
    market_chunk(a.values, a.rows["ticker"][sub], a.rows["market"][sub], es, vs,
                 w.estimation_length, W, [(x - w0, y - w0) for x, y in w.car],
                 sample_dof=conv.sigma_dof == "sample",
                 forecast_error=conv.forecast_error, shift=float(day0_shift),
                 c0=c0, out=dst)
    out.k[lo:hi][s] = 2
    if not isinstance(s, slice):
        rows = lo + s
        for k in names:
            getattr(out, k)[rows] = dst[k]


def abnormal(out: ChunkOut, rows_out: slice | np.ndarray, y_evt: np.ndarray,
              ret_evt: np.ndarray, normal: np.ndarray, lev: np.ndarray,
              sigma2: np.ndarray, d: Design, fit: object, slope: np.ndarray,
              windows: Windows, conv: Conventions) -> None:
    """Stage 4 for one chunk and model: ARs, SARs and CARs with their variances.

    Var(AR_t) = sigma^2 (1 + x_t'(X'X)^-1 x_t) and
    Var(CAR) = sigma^2 (d + gamma'X*(X'X)^-1X*'gamma) with the forecast-error
    correction (CLM 1997 sec. 4.4); sigma^2 and sigma^2 d without it.
    """
    assert isinstance(fit, Fit)
    ar = y_evt - normal
    day_var = d.model.ar_variance(fit, lev, conv.forecast_error)
    sar = ar / np.sqrt(day_var)
    out.ar[rows_out] = ar
    out.sar[rows_out] = sar
    out.day_var[rows_out] = day_var
    P, W = ar.shape
    ok = np.isfinite(ar)
    w0 = windows.event[0]
    for j, (a, b) in enumerate(windows.car):
        m = np.zeros((P, W), dtype=bool)
        m[:, a - w0:b - w0 + 1] = ok[:, a - w0:b - w0 + 1]
        nd = m.sum(axis=1)
        if conv.aggregation == "bhar":
            gross = np.where(m, 1.0 + ret_evt, 1.0).prod(axis=1)
            norm = np.where(m, 1.0 + ret_evt - ar, 1.0).prod(axis=1)
            c = gross - norm
        else:
            c = np.where(m, ar, 0.0).sum(axis=1)
        wl = window_leverage(d, fit, slope, m) if conv.forecast_error else 0.0
        out.car[rows_out, j] = np.where(nd > 0, c, np.nan)
        out.car_var[rows_out, j] = np.where(nd > 0, d.model.car_variance(fit, nd, wl,
                                                                    day_mask=m),
                                            np.nan)
        out.car_days[rows_out, j] = nd


def window_dates(a: Aligned, out: ChunkOut, w: Windows, lo: int, hi: int) -> None:
    """Rows ``lo:hi`` of ``out.evt_dates``: the session dates of candidates
    ``lo:hi``'s event windows (ns; -1 = none)."""
    ix = a.cand[lo:hi]
    s0 = a.pad + a.pos[ix]
    ci = a.cal[ix]
    out.evt_dates[lo:hi] = sliding_window_view(
        a.dates, w.event_length, axis=1)[ci, s0 + w.event[0]]


def run_chunks(a: Aligned, w: Windows, conv: Conventions,
                spans: Sequence[tuple[int, int]], day0_shift: float = 0.0,
                dates: bool = True
                ) -> tuple[ChunkOut, list[tuple[float, float, float]]]:
    """Stages 2-4 for consecutive candidate spans into a new, span-sized
    :class:`ChunkOut`.

    What a Dask task runs (:mod:`eventstudy.execution.dask`): each span goes through
    :func:`run_chunk` exactly as in the local path (same rows, same shapes), on a view
    of ``a`` whose candidates start at the first span. Returns the outputs (row 0 =
    candidate ``spans[0][0]``) and each span's stage seconds. With ``dates=False``
    the session-date arrays are left empty (0 rows): the client, which has the same
    dates, fills them with :func:`window_dates` instead of receiving them.
    """
    raise_malloc_threshold()
    lo0, hi0 = spans[0][0], spans[-1][1]
    out = ChunkOut.empty(hi0 - lo0, w.estimation_length, w.event_length, len(w.car),
                     dates=dates)
    view = replace(a, cand=a.cand[lo0:hi0])
    times = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for lo, hi in spans:
            times.append(run_chunk(view, out, w, conv, lo - lo0, hi - lo0, day0_shift))
    return out, times
