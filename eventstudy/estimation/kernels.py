"""Compiled (numba) kernel of stages 2-4 for the market model: one pass per pair.

The numpy path (:func:`eventstudy.estimation.models.estimate` and the pipeline's
AR/CAR step) makes about 25 passes over each ``(pairs, days)`` array of a chunk,
so it is bound by those passes, not by the arithmetic. For the market model, the
model of nearly every large study, :func:`market_chunk` gathers the returns
straight from the ``(series, time)`` matrix and computes the OLS fit, the
residuals, the event-window ARs with their prediction-error variances and the
CARs in three loops over each pair's days, without temporaries. It is compiled by
numba on first use (``cache=True``: once per installation) and releases the GIL,
so the thread pool runs it on every core.

The formulas are exactly the numpy path's (centred two-pass OLS; sigma^2 = SSR /
(L - 2), or / (L - 1) with ``sigma_dof = "sample"``; Var(AR) = sigma^2 (1 + 1/L +
(R_m - mean R_m)^2 / S_mm); Var(CAR) = sigma^2 (d + d^2/L + (sum R_m - d mean
R_m)^2 / S_mm), Campbell, Lo & MacKinlay 1997, sec. 4.4); only the order of the
additions differs (sequential here, pairwise in numpy), so the two paths agree to
about 1e-16 relative. The pipeline uses it for a model whose ``fused_kernel``
attribute is true (the registry's ``market``) with the single contemporaneous market
regressor; the kernel hard-codes that model's constant sigma^2 (1 + h) variance, so a
model with its own ``ar_variance`` (GARCH) leaves ``fused_kernel`` false and runs the
numpy path. numba is an optional dependency: :func:`available` says
whether it can be imported; the engine uses this kernel only for large studies
(``EventStudy.fit(kernel=...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

OUTPUTS = ("alpha", "beta", "sigma2", "nobs", "dof", "r2", "nest", "zero_share",
           "resid", "normal", "lev", "ret_evt", "ar", "sar", "day_var", "car",
           "car_var", "car_days")
"""The kernel's output arrays, in its argument order (the engine's names)."""


def available() -> bool:
    """Whether numba can be imported (the compiled kernel can run)."""
    try:
        import numba  # noqa: F401  # lazy: numba is optional and slow to import
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _compiled() -> Callable[..., None]:
    """Compile (or load from numba's cache) the kernel; once per process."""
    import numba  # lazy: numba is optional and slow to import

    @numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
    def kernel(values: Any, trow: Any, mrow: Any, est_start: Any, evt_start: Any,
               Le: int, W: int, car_lo: Any, car_hi: Any, sample_dof: bool,
               forecast_error: bool, shift: float, c0: int,
               alpha: Any, beta: Any, sigma2: Any, nobs: Any, dof: Any, r2: Any,
               nest: Any, zero_share: Any, resid: Any, normal: Any, lev: Any,
               ret_evt: Any, ar: Any, sar: Any, day_var: Any, car: Any,
               car_var: Any, car_days: Any) -> None:  # pragma: no cover (compiled)
        nan = np.nan
        for i in range(trow.shape[0]):
            yr = values[trow[i]]
            xr = values[mrow[i]]
            es = est_start[i]
            vs = evt_start[i]
            cnt = 0
            zeros = 0
            sy = 0.0
            sx = 0.0
            for t in range(Le):
                y = yr[es + t]
                x = xr[es + t]
                if np.isfinite(y) and np.isfinite(x):
                    cnt += 1
                    sy += y
                    sx += x
                    if y == 0.0:
                        zeros += 1
            n = float(cnt)
            nest[i] = cnt
            zero_share[i] = zeros / n if cnt > 0 else nan
            ybar = sy / n if cnt > 0 else nan
            xbar = sx / n if cnt > 0 else nan
            sxx = 0.0
            sxy = 0.0
            syy = 0.0
            for t in range(Le):
                y = yr[es + t]
                x = xr[es + t]
                if np.isfinite(y) and np.isfinite(x):
                    dx = x - xbar
                    dy = y - ybar
                    sxx += dx * dx
                    sxy += dx * dy
                    syy += dy * dy
            sinv = 1.0 / sxx if sxx > 0 else nan
            b = sinv * sxy
            a = ybar - xbar * b
            ssr = 0.0
            for t in range(Le):
                y = yr[es + t]
                x = xr[es + t]
                if np.isfinite(y) and np.isfinite(x):
                    e = (y - ybar) - (x - xbar) * b
                    resid[i, t] = e
                    if np.isfinite(e):
                        ssr += e * e
                else:
                    resid[i, t] = nan
            k_dof = n - 2.0
            den = n - 1.0 if sample_dof else k_dof
            s2 = ssr / den if den > 0 else nan
            alpha[i] = a
            beta[i] = b
            sigma2[i] = s2
            nobs[i] = n
            dof[i] = k_dof
            r2[i] = 1.0 - ssr / syy if syy > 0 else nan
            for w in range(W):
                y = yr[vs + w]
                x = xr[vs + w]
                if w == c0:
                    y += shift
                ret_evt[i, w] = y
                nm = a + x * b
                normal[i, w] = nm
                d = x - xbar
                h = 1.0 / n + d * sinv * d
                lev[i, w] = h
                v = y - nm
                ar[i, w] = v
                dv = s2 * (1.0 + h) if forecast_error else s2
                day_var[i, w] = dv
                sar[i, w] = v / np.sqrt(dv)
            for j in range(car_lo.shape[0]):
                nd = 0
                c = 0.0
                g = 0.0
                for w in range(car_lo[j], car_hi[j] + 1):
                    v = ar[i, w]
                    if np.isfinite(v):
                        nd += 1
                        c += v
                        g += xr[vs + w]
                car_days[i, j] = nd
                if nd > 0:
                    fd = float(nd)
                    q = g - fd * xbar
                    wl = fd * fd / n + q * sinv * q if forecast_error else 0.0
                    car[i, j] = c
                    car_var[i, j] = s2 * (fd + wl)
                else:
                    car[i, j] = nan
                    car_var[i, j] = nan

    fn: Callable[..., None] = kernel
    return fn


def warm() -> None:
    """Import numba and compile the kernel (or load it from numba's cache) now, on
    one dummy pair, so that a later timed run does not include it."""
    ints = ("nest", "car_days")
    out = {k: np.zeros((1,) if i < OUTPUTS.index("resid") else (1, 1),
                       dtype=np.int64 if k in ints else np.float64)
           for i, k in enumerate(OUTPUTS)}
    one = np.zeros(1, dtype=np.int64)
    market_chunk(np.zeros((1, 2)), one, one, one, one, 1, 1, [(0, 0)],
                 sample_dof=False, forecast_error=True, shift=0.0, c0=-1, out=out)


def market_chunk(values: np.ndarray, trow: np.ndarray, mrow: np.ndarray,
                 est_start: np.ndarray, evt_start: np.ndarray, Le: int, W: int,
                 car_offsets: list[tuple[int, int]], *, sample_dof: bool,
                 forecast_error: bool, shift: float, c0: int,
                 out: dict[str, np.ndarray]) -> None:
    """Market-model stages 2-4 for one chunk of pairs, written into ``out``.

    Parameters
    ----------
    values
        ``(series, T)`` returns, NaN-padded (the engine's aligned matrix).
    trow, mrow
        ``(n,)`` rows of each pair's security and benchmark in ``values``.
    est_start, evt_start
        ``(n,)`` first column of each pair's estimation and event window.
    Le, W
        Estimation and event window lengths.
    car_offsets
        Each CAR window as inclusive event-window column offsets.
    sample_dof, forecast_error
        ``sigma_dof = "sample"`` (L - 1) and the prediction-error term.
    shift, c0
        An abnormal return added to event column ``c0`` (simulations; 0.0 and -1
        otherwise).
    out
        Contiguous output arrays of the chunk, by name: ``alpha, beta, sigma2,
        nobs, dof, r2, nest, zero_share`` ``(n,)``; ``resid`` ``(n, Le)``;
        ``normal, lev, ret_evt, ar, sar, day_var`` ``(n, W)``; ``car, car_var,
        car_days`` ``(n, C)``.
    """
    lo = np.array([a for a, _ in car_offsets], dtype=np.int64)
    hi = np.array([b for _, b in car_offsets], dtype=np.int64)
    _compiled()(values, trow, mrow, est_start, evt_start, Le, W, lo, hi,
                sample_dof, forecast_error, float(shift), int(c0),
                *(out[k] for k in OUTPUTS))
