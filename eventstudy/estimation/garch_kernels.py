"""Compiled (numba) maximum likelihood of GARCH-family models, batched over pairs.

:func:`fit_garch` fits one model (GARCH(1,1), GJR-GARCH(1,1) or EGARCH(1,1), with a
linear mean equation and normal or Student-t errors) to every pair of a chunk in one
call, the pairs spread over the cores by a ``prange`` loop. Per pair it

1. drops the missing days (the series is *compressed*: the recursion runs over the
   usable days as if they were consecutive, which is what ``arch`` does with a
   series from which the NaN rows were removed);
2. rescales the returns and each regressor by their standard deviations (the
   optimiser then sees O(1) numbers; every figure is mapped back exactly);
3. takes the OLS mean coefficients as starting values, and, as ``arch`` does, the
   backcast sigma^2_0 = sum_i w_i e_i^2 (w_i proportional to 0.94^i over the first
   min(75, n) OLS residuals; its log for EGARCH), held fixed during the search;
4. picks the variance parameters' start as the best point of a small grid
   (``arch``'s: alpha in {0.01, 0.05, 0.1, 0.2}, persistence in {0.5, 0.7, 0.9,
   0.98, 0.99}, variance targeting omega = v (1 - persistence));
5. maximises the joint log-likelihood of the mean and variance parameters by BFGS
   with the analytic gradient (the variance recursion differentiated alongside
   itself), the inverse BHHH matrix as the first inverse Hessian, and a
   backtracking (Armijo) line search, in
   transformed coordinates that satisfy the bounds and the stationarity constraint
   by construction (see :func:`unpack`);
6. computes the log-likelihood, the conditional variances, the multi-step variance
   forecasts over the event window and the GLS cross-product sum_t x_t x_t' / h_t
   of the mean regressors (for the prediction-error term).

A pair is *converged* when the largest gradient component of the per-observation
negative log-likelihood is below :data:`GTOL`, or the objective has stopped moving
(three iterations below :data:`FTOL`), or no step improves it from a fresh BHHH
matrix with the gradient below :data:`GTOL_LOOSE`; and every figure is finite. It
is not converged when the :data:`MAXITER` iterations run out or the likelihood is
not finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

GARCH, GJR, EGARCH = 0, 1, 2
"""Variance-equation codes of :func:`fit_garch`."""

NV = {GARCH: 3, GJR: 4, EGARCH: 4}
"""Number of variance-equation parameters (omega first)."""

NU_LO, NU_HI = 2.05, 500.0
"""Bounds of the Student-t degrees of freedom (``arch``'s)."""

GTOL = 1e-7
"""Gradient tolerance (per-observation negative log-likelihood, transformed
coordinates)."""

GTOL_LOOSE = 1e-3
"""Gradient bound accepted when no step improves the objective any more, even from a
fresh BHHH matrix (EGARCH's |z| makes the likelihood kinked in the mean
parameters)."""

FTOL = 1e-10
"""Per-observation objective change below which an iteration counts as flat; three
flat iterations in a row stop the search as converged."""

MAXITER = 300
"""BFGS iterations per pair."""

OUT_COLUMNS = ("omega", "alpha", "gamma", "beta", "nu", "loglik", "converged",
               "iterations")
"""Columns of the ``vol`` output of :func:`fit_garch`."""


def fit_garch(y: np.ndarray, X: np.ndarray, mask: np.ndarray, kind: int, student: bool,
              h0: np.ndarray, W: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fit the model to every pair (row) at once.

    Parameters
    ----------
    y
        ``(P, L)`` returns over the estimation window.
    X
        ``(P, L, r)`` mean regressors (the intercept is added).
    mask
        ``(P, L)`` usable days.
    kind
        :data:`GARCH`, :data:`GJR` or :data:`EGARCH`.
    student
        Student-t errors (standardised to unit variance) instead of normal.
    h0
        ``(P,)`` forecast horizon of the first event day, in sessions after the
        pair's last usable estimation day (1 = the next session).
    W
        Number of event days (horizons ``h0 .. h0 + W - 1``).

    Returns
    -------
    mean, vol, resid, fore, gram
        ``(P, r + 1)`` mean coefficients (intercept first); ``(P, 8)`` the
        :data:`OUT_COLUMNS`; ``(P, L)`` residuals (NaN where not used); ``(P, W)``
        conditional variance forecasts; ``(P, r + 1, r + 1)`` sum_t x_t x_t' / h_t.
    """
    P, L = y.shape
    r = X.shape[2]
    mean = np.full((P, r + 1), np.nan)
    vol = np.full((P, len(OUT_COLUMNS)), np.nan)
    resid = np.full((P, L), np.nan)
    fore = np.full((P, W), np.nan)
    gram = np.full((P, r + 1, r + 1), np.nan)
    if P:
        kernel(np.ascontiguousarray(y, dtype=np.float64),
               np.ascontiguousarray(X, dtype=np.float64),
               np.ascontiguousarray(mask, dtype=np.bool_), int(kind), bool(student),
               np.ascontiguousarray(h0, dtype=np.int64), int(W), mean, vol, resid,
               fore, gram)
    return mean, vol, resid, fore, gram


_jit = numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
SQRT2PI = math.sqrt(2.0 / math.pi)
LOG2PI = math.log(2.0 * math.pi)


@_jit
def unpack(th: Any, k: int, kind: int, student: bool, par: Any) -> float:
    """Transformed coordinates -> (omega, alpha, gamma, beta, nu) in ``par``.

    GARCH: omega = exp(t0); (alpha, beta, 1 - alpha - beta) = softmax(t1, t2, 0).
    GJR: omega = exp(t0); (alpha/2, (alpha + gamma)/2, beta, slack) =
    softmax(t1, t2, t3, 0), so alpha >= 0, alpha + gamma >= 0, beta >= 0 and
    alpha + gamma/2 + beta < 1. EGARCH: omega, alpha, gamma free,
    beta = tanh(t3) (|beta| < 1). nu = 2.05 + 497.95 / (1 + exp(-t)).
    Returns the persistence.
    """
    pers = 0.0
    if kind == 0:
        a = th[k + 1]
        b = th[k + 2]
        m = max(a, b, 0.0)
        ea, eb, e0 = math.exp(a - m), math.exp(b - m), math.exp(-m)
        d = ea + eb + e0
        par[0] = math.exp(th[k])
        par[1] = ea / d
        par[2] = 0.0
        par[3] = eb / d
        pers = par[1] + par[3]
    elif kind == 1:
        a = th[k + 1]
        g = th[k + 2]
        b = th[k + 3]
        m = max(a, g, b, 0.0)
        ea, eg, eb, e0 = (math.exp(a - m), math.exp(g - m), math.exp(b - m),
                          math.exp(-m))
        d = ea + eg + eb + e0
        par[0] = math.exp(th[k])
        par[1] = 2.0 * ea / d
        par[2] = 2.0 * (eg - ea) / d
        par[3] = eb / d
        pers = par[1] + 0.5 * par[2] + par[3]
    else:
        par[0] = th[k]
        par[1] = th[k + 1]
        par[2] = th[k + 2]
        par[3] = math.tanh(th[k + 3])
        pers = par[3]
    if student:
        par[4] = NU_LO + (NU_HI - NU_LO) / (1.0 + math.exp(-th[th.shape[0] - 1]))
    else:
        par[4] = np.nan
    return float(pers)

@_jit
def pack(par: Any, k: int, kind: int, student: bool, th: Any) -> None:
    """Inverse of :func:`unpack` (for starting values inside the region)."""
    if kind == 0:
        slack = 1.0 - par[1] - par[3]
        th[k] = math.log(par[0])
        th[k + 1] = math.log(par[1] / slack)
        th[k + 2] = math.log(par[3] / slack)
    elif kind == 1:
        ua = 0.5 * par[1]
        ug = 0.5 * (par[1] + par[2])
        slack = 1.0 - ua - ug - par[3]
        th[k] = math.log(par[0])
        th[k + 1] = math.log(ua / slack)
        th[k + 2] = math.log(ug / slack)
        th[k + 3] = math.log(par[3] / slack)
    else:
        th[k] = par[0]
        th[k + 1] = par[1]
        th[k + 2] = par[2]
        th[k + 3] = math.atanh(par[3])
    if student:
        u = (par[4] - NU_LO) / (NU_HI - NU_LO)
        th[th.shape[0] - 1] = math.log(u / (1.0 - u))

@_jit
def nll(th: Any, yc: Any, xc: Any, n: int, k: int, kind: int, student: bool,
        bc: Any, par: Any, e: Any, h: Any) -> float:
    """Negative log-likelihood per observation; fills residuals ``e`` and
    conditional variances ``h``. +inf when not finite."""
    unpack(th, k, kind, student, par)
    omega, alpha, gamma, beta, nu = par[0], par[1], par[2], par[3], par[4]
    cst = 0.0
    if student:
        cst = (math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu)
               - 0.5 * math.log(math.pi * (nu - 2.0)))
    else:
        cst = -0.5 * LOG2PI
    ll = 0.0
    for t in range(n):
        m = th[0]
        for j in range(1, k):
            m += th[j] * xc[t, j - 1]
        et = yc[t] - m
        e[t] = et
        if kind == 2:
            if t == 0:
                lh = omega + beta * bc
            else:
                z = e[t - 1] / math.sqrt(h[t - 1])
                lh = (omega + alpha * (abs(z) - SQRT2PI) + gamma * z
                      + beta * math.log(h[t - 1]))
            if lh > 700.0:
                return np.inf
            ht = math.exp(lh)
        else:
            if t == 0:
                ht = omega + (alpha + 0.5 * gamma + beta) * bc
            else:
                ep = e[t - 1]
                ht = omega + alpha * ep * ep + beta * h[t - 1]
                if ep < 0.0:
                    ht += gamma * ep * ep
        if not (ht > 1e-300):
            return np.inf
        h[t] = ht
        if student:
            ll += cst - 0.5 * math.log(ht) - 0.5 * (nu + 1.0) * math.log(
                1.0 + et * et / (ht * (nu - 2.0)))
        else:
            ll += cst - 0.5 * (math.log(ht) + et * et / ht)
    f = -ll / n
    if not np.isfinite(f):
        return np.inf
    return f

@_jit
def lconst(nu: float) -> float:
    """log C(nu) of the standardised Student-t density."""
    return (math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu)
            - 0.5 * math.log(math.pi * (nu - 2.0)))

@_jit
def jac(th: Any, k: int, kind: int, student: bool, par: Any, J: Any) -> None:
    """J[i, a] = d phi_a / d theta_i, phi = (mean, omega, alpha, gamma, beta,
    nu), at the point :func:`unpack` last decoded into ``par``."""
    nn = k + 4
    J[:, :] = 0.0
    for j in range(k):
        J[j, j] = 1.0
    omega, alpha, gamma, beta, nu = par[0], par[1], par[2], par[3], par[4]
    if kind == 0:
        J[k, k] = omega
        J[k + 1, k + 1] = alpha * (1.0 - alpha)
        J[k + 1, k + 3] = -alpha * beta
        J[k + 2, k + 1] = -alpha * beta
        J[k + 2, k + 3] = beta * (1.0 - beta)
    elif kind == 1:
        J[k, k] = omega
        u0 = 0.5 * alpha
        u1 = 0.5 * (alpha + gamma)
        u2 = beta
        for j in range(3):
            uj = u0 if j == 0 else (u1 if j == 1 else u2)
            d0 = u0 * ((1.0 if j == 0 else 0.0) - uj)
            d1 = u1 * ((1.0 if j == 1 else 0.0) - uj)
            d2 = u2 * ((1.0 if j == 2 else 0.0) - uj)
            J[k + 1 + j, k + 1] = 2.0 * d0
            J[k + 1 + j, k + 2] = 2.0 * (d1 - d0)
            J[k + 1 + j, k + 3] = d2
    else:
        J[k, k] = 1.0
        J[k + 1, k + 1] = 1.0
        J[k + 2, k + 2] = 1.0
        J[k + 3, k + 3] = 1.0 - beta * beta
    if student:
        sgm = (nu - NU_LO) / (NU_HI - NU_LO)
        J[th.shape[0] - 1, nn] = (NU_HI - NU_LO) * sgm * (1.0 - sgm)

@_jit
def digamma(x: float) -> float:
    """psi(x) for x > 0: recurrence to x >= 6, then the asymptotic series."""
    r = 0.0
    while x < 6.0:
        r -= 1.0 / x
        x += 1.0
    x2 = 1.0 / (x * x)
    return (r + math.log(x) - 0.5 / x
            - x2 * (1.0 / 12.0 - x2 * (1.0 / 120.0 - x2 * (1.0 / 252.0 - x2 * (
                1.0 / 240.0 - x2 / 132.0)))))

@_jit
def grad(th: Any, yc: Any, xc: Any, n: int, k: int, kind: int, student: bool,
         bc: Any, par: Any, dh: Any, dn: Any, gp: Any, g: Any, J: Any, opg: bool,
         B: Any, sc: Any) -> float:
    """Analytic gradient of :func:`nll` into ``g`` (transformed coordinates);
    returns the objective (+inf when not finite).

    The derivatives of h_t (GARCH, GJR) or ln h_t (EGARCH) with respect to
    the natural parameters (mean coefficients, omega, alpha, gamma, beta) follow
    the variance recursion itself; the chain rule through :func:`unpack` then
    gives the gradient in the optimiser's coordinates. With ``opg``, ``B``
    receives the outer product of the per-observation scores (BHHH) in the
    optimiser's coordinates, scaled by 1 / n.
    """
    pers = unpack(th, k, kind, student, par)
    omega, alpha, gamma, beta, nu = par[0], par[1], par[2], par[3], par[4]
    nn = k + 4  # natural parameters: mean (k), omega, alpha, gamma, beta
    cst = lconst(nu) if student else -0.5 * LOG2PI
    dcst = 0.0
    if student:
        dcst = 0.5 * (digamma(0.5 * (nu + 1.0)) - digamma(0.5 * nu)
                      - 1.0 / (nu - 2.0))
    for j in range(nn + 1):
        gp[j] = 0.0
    for j in range(nn):
        dh[j] = 0.0
    if opg:
        for a in range(nn + 1):
            for b in range(nn + 1):
                B[a, b] = 0.0
    gnu = 0.0
    ll = 0.0
    ep = 0.0
    hp = 0.0
    lhp = 0.0
    for t in range(n):
        m = th[0]
        for j in range(1, k):
            m += th[j] * xc[t, j - 1]
        et = yc[t] - m
        if kind == 2:
            if t == 0:
                lh = omega + beta * bc
                for j in range(nn):
                    dn[j] = 0.0
                dn[k] = 1.0
                dn[k + 3] = bc
            else:
                sq = math.sqrt(hp)
                z = ep / sq
                az = abs(z)
                sg = 1.0 if z > 0.0 else (-1.0 if z < 0.0 else 0.0)
                lh = omega + alpha * (az - SQRT2PI) + gamma * z + beta * lhp
                c = alpha * sg + gamma
                for j in range(nn):
                    # dz/dphi = de/dphi / sqrt(h) - z/2 dlnh/dphi
                    dz = -0.5 * z * dh[j]
                    if j < k:
                        xj = 1.0 if j == 0 else xc[t - 1, j - 1]
                        dz -= xj / sq
                    dn[j] = c * dz + beta * dh[j]
                dn[k] += 1.0
                dn[k + 1] += az - SQRT2PI
                dn[k + 2] += z
                dn[k + 3] += lhp
            if lh > 700.0:
                return np.inf
            ht = math.exp(lh)
            lhp = lh
        else:
            if t == 0:
                ht = omega + (alpha + 0.5 * gamma + beta) * bc
                for j in range(nn):
                    dn[j] = 0.0
                dn[k] = 1.0
                dn[k + 1] = bc
                dn[k + 2] = 0.5 * bc
                dn[k + 3] = bc
            else:
                neg = ep < 0.0
                a2 = alpha + gamma if neg else alpha
                ht = omega + a2 * ep * ep + beta * hp
                for j in range(k):
                    xj = 1.0 if j == 0 else xc[t - 1, j - 1]
                    dn[j] = -2.0 * a2 * ep * xj + beta * dh[j]
                dn[k] = 1.0 + beta * dh[k]
                dn[k + 1] = ep * ep + beta * dh[k + 1]
                dn[k + 2] = (ep * ep if neg else 0.0) + beta * dh[k + 2]
                dn[k + 3] = hp + beta * dh[k + 3]
        if not (ht > 1e-300):
            return np.inf
        # dl/dh (or dl/dlnh for EGARCH) and dl/de
        if student:
            q = et * et / (ht * (nu - 2.0))
            ll += cst - 0.5 * math.log(ht) - 0.5 * (nu + 1.0) * math.log1p(q)
            dlh = -0.5 / ht + 0.5 * (nu + 1.0) * q / (1.0 + q) / ht
            dle = -(nu + 1.0) * et / (ht * (nu - 2.0) * (1.0 + q))
            gnu = (dcst - 0.5 * math.log1p(q)
                   + 0.5 * (nu + 1.0) * q / ((1.0 + q) * (nu - 2.0)))
            gp[nn] += gnu
        else:
            ll += cst - 0.5 * (math.log(ht) + et * et / ht)
            dlh = -0.5 / ht + 0.5 * et * et / (ht * ht)
            dle = -et / ht
        if kind == 2:
            dlh *= ht
        for j in range(nn):
            gp[j] += dlh * dn[j]
            dh[j] = dn[j]
        gp[0] -= dle
        for j in range(1, k):
            gp[j] -= dle * xc[t, j - 1]
        if opg:
            for j in range(nn):
                sc[j] = dlh * dn[j]
            sc[0] -= dle
            for j in range(1, k):
                sc[j] -= dle * xc[t, j - 1]
            sc[nn] = gnu
            for a in range(nn + 1):
                for b in range(nn + 1):
                    B[a, b] += sc[a] * sc[b]
        ep = et
        hp = ht
    f = -ll / n
    if not np.isfinite(f):
        return np.inf
    # chain rule to the optimiser's coordinates (per observation, negated)
    jac(th, k, kind, student, par, J)
    npar = th.shape[0]
    for i in range(npar):
        acc = 0.0
        for a in range(nn + 1):
            acc += J[i, a] * gp[a]
        g[i] = -acc / n
    if opg:
        # B <- J B J' / n, reusing the top-left block of B
        T = J @ B
        Bt = T @ J.T
        for i in range(npar):
            for j in range(npar):
                B[i, j] = Bt[i, j] / n
    if pers != pers:
        return np.inf
    return f

@_jit
def spd_inverse(A: Any, m: int, out: Any) -> bool:
    """Inverse of the leading m x m block of a symmetric positive definite A
    by Cholesky (False if not positive definite)."""
    Lc = np.zeros((m, m))
    for i in range(m):
        for j in range(i + 1):
            acc = A[i, j]
            for q in range(j):
                acc -= Lc[i, q] * Lc[j, q]
            if i == j:
                if not acc > 1e-12 * max(1.0, abs(A[i, i])):
                    return False
                Lc[i, i] = math.sqrt(acc)
            else:
                Lc[i, j] = acc / Lc[j, j]
    # inverse of L, then L^-T L^-1
    Li = np.zeros((m, m))
    for i in range(m):
        Li[i, i] = 1.0 / Lc[i, i]
        for j in range(i):
            acc = 0.0
            for q in range(j, i):
                acc -= Lc[i, q] * Li[q, j]
            Li[i, j] = acc / Lc[i, i]
    for i in range(m):
        for j in range(m):
            acc = 0.0
            for q in range(max(i, j), m):
                acc += Li[q, i] * Li[q, j]
            out[i, j] = acc
    return True

@_jit
def bfgs(th: Any, yc: Any, xc: Any, n: int, k: int, kind: int, student: bool,
         bc: Any, par: Any, e: Any, h: Any) -> tuple[float, bool, int]:
    """Minimise :func:`nll` from ``th`` (updated in place) by BFGS whose
    inverse Hessian starts (and restarts, when a line search fails) from the
    inverse of the outer product of the scores (BHHH)."""
    npar = th.shape[0]
    nn = k + 4
    H = np.eye(npar)
    g = np.empty(npar)
    gn = np.empty(npar)
    tmp = np.empty(npar)
    tn = np.empty(npar)
    d = np.empty(npar)
    dh = np.empty(nn)
    dn = np.empty(nn)
    gp = np.empty(nn + 1)
    sc = np.empty(nn + 1)
    J = np.empty((npar, nn + 1))
    B = np.empty((nn + 1, nn + 1))
    f = grad(th, yc, xc, n, k, kind, student, bc, par, dh, dn, gp, g, J, True,
             B, sc)
    if not np.isfinite(f):
        return np.inf, False, 0
    if not spd_inverse(B, npar, H):
        H[:, :] = np.eye(npar)
    fresh = True
    conv = False
    flat = 0
    it = 0
    while it < MAXITER:
        it += 1
        gmax = 0.0
        for i in range(npar):
            gmax = max(gmax, abs(g[i]))
        if gmax < GTOL:
            conv = True
            break
        slope = 0.0
        for i in range(npar):
            s = 0.0
            for j in range(npar):
                s -= H[i, j] * g[j]
            d[i] = s
            slope += s * g[i]
        if slope >= 0.0:
            H[:, :] = np.eye(npar)
            slope = 0.0
            for i in range(npar):
                d[i] = -g[i]
                slope -= g[i] * g[i]
        # keep a step from leaving the region where exp() is finite
        dmax = 0.0
        for i in range(npar):
            dmax = max(dmax, abs(d[i]))
        step = 1.0 if dmax <= 5.0 else 5.0 / dmax
        fn = np.inf
        ok = False
        for _ in range(50):
            for i in range(npar):
                tn[i] = th[i] + step * d[i]
            fn = nll(tn, yc, xc, n, k, kind, student, bc, par, e, h)
            if np.isfinite(fn) and fn <= f + 1e-4 * step * slope:
                ok = True
                break
            step *= 0.5
        if not ok:
            if fresh:
                conv = gmax < GTOL_LOOSE
                break
            # restart from the BHHH matrix at the current point
            grad(th, yc, xc, n, k, kind, student, bc, par, dh, dn, gp, g, J,
                 True, B, sc)
            if not spd_inverse(B, npar, H):
                H[:, :] = np.eye(npar)
            fresh = True
            continue
        fresh = False
        if not np.isfinite(grad(tn, yc, xc, n, k, kind, student, bc, par, dh,
                                dn, gp, gn, J, False, B, sc)):
            conv = False
            break
        sy = 0.0
        for i in range(npar):
            d[i] = tn[i] - th[i]  # s
            tmp[i] = gn[i] - g[i]  # y
            sy += d[i] * tmp[i]
        df = f - fn
        th[:] = tn
        g[:] = gn
        f = fn
        if sy > 1e-14:
            # H <- (I - rho s y') H (I - rho y s') + rho s s'
            rho = 1.0 / sy
            Hy = H @ tmp
            yHy = 0.0
            for i in range(npar):
                yHy += tmp[i] * Hy[i]
            for i in range(npar):
                for j in range(npar):
                    H[i, j] += (-rho * (d[i] * Hy[j] + Hy[i] * d[j])
                                + (rho * rho * yHy + rho) * d[i] * d[j])
        # flat: the objective has stopped moving (a parameter drifting to a
        # bound, e.g. alpha -> 0 or nu -> 500, gains nothing measurable)
        flat = flat + 1 if df <= FTOL else 0
        if flat >= 3:
            conv = True
            break
    f = nll(th, yc, xc, n, k, kind, student, bc, par, e, h)
    return f, conv and np.isfinite(f), it

@_jit
def ols(yc: Any, xc: Any, n: int, k: int, b: Any) -> bool:
    """OLS of yc on [1, xc] by the normal equations (Gauss-Jordan)."""
    A = np.zeros((k, k + 1))
    for t in range(n):
        for i in range(k):
            xi = 1.0 if i == 0 else xc[t, i - 1]
            for j in range(k):
                xj = 1.0 if j == 0 else xc[t, j - 1]
                A[i, j] += xi * xj
            A[i, k] += xi * yc[t]
    for c in range(k):
        piv = c
        for rr in range(c + 1, k):
            if abs(A[rr, c]) > abs(A[piv, c]):
                piv = rr
        if not abs(A[piv, c]) > 1e-10 * n:
            return False
        if piv != c:
            for j in range(k + 1):
                A[c, j], A[piv, j] = A[piv, j], A[c, j]
        for rr in range(k):
            if rr != c:
                fct = A[rr, c] / A[c, c]
                for j in range(c, k + 1):
                    A[rr, j] -= fct * A[c, j]
    for i in range(k):
        b[i] = A[i, k] / A[i, i]
    return True

@_jit
def normal_mgf(a: float, g: float) -> float:
    """E exp(a (|z| - sqrt(2/pi)) + g z) for z ~ N(0, 1)."""
    s1 = a + g
    s2 = a - g
    v = (math.exp(0.5 * s1 * s1) * 0.5 * math.erfc(-s1 / math.sqrt(2.0))
         + math.exp(0.5 * s2 * s2) * 0.5 * math.erfc(-s2 / math.sqrt(2.0)))
    return v * math.exp(-a * SQRT2PI)

@_jit
def one(yr: Any, xr: Any, mr: Any, kind: int, student: bool, h0: int, W: int,
        mean: Any, vol: Any, resid: Any, fore: Any, gram: Any) -> None:
    """Fit one pair (row outputs written in place)."""
    L = yr.shape[0]
    r = xr.shape[1]
    k = r + 1
    n = 0
    for t in range(L):
        if mr[t]:
            n += 1
    nv = 3 if kind == 0 else 4
    npar = k + nv + (1 if student else 0)
    if n < npar + 2:
        return
    yc = np.empty(n)
    xc = np.empty((n, max(r, 1)))
    pos = np.empty(n, dtype=np.int64)
    i = 0
    for t in range(L):
        if mr[t]:
            yc[i] = yr[t]
            for j in range(r):
                xc[i, j] = xr[t, j]
            pos[i] = t
            i += 1
    # rescale: y / sy, x_j / sx_j
    sy = 0.0
    my = 0.0
    for t in range(n):
        my += yc[t]
    my /= n
    for t in range(n):
        sy += (yc[t] - my) ** 2
    sy = math.sqrt(sy / n)
    if not sy > 0.0:
        return
    sx = np.ones(max(r, 1))
    for j in range(r):
        mx = 0.0
        for t in range(n):
            mx += xc[t, j]
        mx /= n
        v = 0.0
        for t in range(n):
            v += (xc[t, j] - mx) ** 2
        v = math.sqrt(v / n)
        if not v > 0.0:
            return
        sx[j] = v
    for t in range(n):
        yc[t] /= sy
        for j in range(r):
            xc[t, j] /= sx[j]
    th = np.zeros(npar)
    if not ols(yc, xc, n, k, th):
        return
    e = np.empty(n)
    h = np.empty(n)
    v2 = 0.0
    for t in range(n):
        m = th[0]
        for j in range(1, k):
            m += th[j] * xc[t, j - 1]
        e[t] = yc[t] - m
        v2 += e[t] * e[t]
    v2 /= n
    tau = min(75, n)
    wsum = 0.0
    bc0 = 0.0
    wt = 1.0
    for t in range(tau):
        bc0 += wt * e[t] * e[t]
        wsum += wt
        wt *= 0.94
    bc0 /= wsum
    if kind == 2:
        bc = math.log(bc0)
    else:
        bc = bc0
    par = np.empty(5)
    # Student-t start: arch's rule from the OLS residuals' kurtosis
    if student:
        m4 = 0.0
        for t in range(n):
            m4 += e[t] ** 4
        kurt = m4 / n / (v2 * v2)
        nu0 = 12.0
        if kurt > 3.75:
            nu0 = max((4.0 * kurt - 6.0) / (kurt - 3.0), 4.0)
        par[4] = min(nu0, 100.0)
    # grid of starting values (arch's), variance targeting
    best = np.inf
    bestp = np.empty(4)
    alphas = np.array([0.01, 0.05, 0.1, 0.2])
    perss = np.array([0.5, 0.7, 0.9, 0.98, 0.99])
    if kind == 1:
        gammas = np.array([0.01, 0.05, 0.1, 0.2])
    elif kind == 2:
        gammas = np.array([-0.1, 0.0, 0.1])
    else:
        gammas = np.array([0.0])
    for a in alphas:
        for g in gammas:
            for p in perss:
                if kind == 2:
                    par[0] = math.log(v2) * (1.0 - p)
                    par[1] = a
                    par[2] = g
                    par[3] = p
                else:
                    b = p - a - 0.5 * g
                    if b <= 0.0:
                        continue
                    par[0] = v2 * (1.0 - p)
                    par[1] = a
                    par[2] = g
                    par[3] = b
                pack(par, k, kind, student, th)
                f = nll(th, yc, xc, n, k, kind, student, bc, par, e, h)
                if f < best:
                    best = f
                    for j in range(4):
                        bestp[j] = par[j]
    if not np.isfinite(best):
        return
    for j in range(4):
        par[j] = bestp[j]
    pack(par, k, kind, student, th)
    f, conv, it = bfgs(th, yc, xc, n, k, kind, student, bc, par, e, h)
    if not np.isfinite(f):
        return
    pers = unpack(th, k, kind, student, par)
    # back to the data's scale
    s2 = sy * sy
    mean[0] = th[0] * sy
    for j in range(r):
        mean[j + 1] = th[j + 1] * sy / sx[j]
    omega = par[0] * s2 if kind != 2 else par[0] + (1.0 - par[3]) * math.log(s2)
    vol[0] = omega
    vol[1] = par[1]
    vol[2] = par[2]
    vol[3] = par[3]
    vol[4] = par[4]
    vol[5] = -f * n - n * math.log(sy)
    vol[6] = 1.0 if conv else 0.0
    vol[7] = it
    for t in range(n):
        resid[pos[t]] = e[t] * sy
    # GLS cross-products sum x x' / h (unscaled data)
    for a in range(k):
        for b in range(k):
            gram[a, b] = 0.0
    for t in range(n):
        ht = h[t] * s2
        for a in range(k):
            xa = 1.0 if a == 0 else xc[t, a - 1] * sx[a - 1]
            for b in range(k):
                xb = 1.0 if b == 0 else xc[t, b - 1] * sx[b - 1]
                gram[a, b] += xa * xb / ht
    # forecasts (scaled), h = 1 first
    eT = e[n - 1]
    hT = h[n - 1]
    if kind == 2:
        zT = eT / math.sqrt(hT)
        l1 = (par[0] + par[1] * (abs(zT) - SQRT2PI) + par[2] * zT
              + par[3] * math.log(hT))
        # E h_{T+s} = exp(omega sum_{i<s-1} beta^i + beta^(s-1) l1)
        #             * prod_{i<s-1} M(beta^i alpha, beta^i gamma)
        lsum = l1
        prod = 1.0
        bpow = 1.0
        for s in range(1, h0 + W):
            if s >= h0:
                fore[s - h0] = math.exp(lsum) * prod * s2
            lsum = par[0] + par[3] * lsum
            prod *= normal_mgf(bpow * par[1], bpow * par[2])
            bpow *= par[3]
    else:
        f1 = par[0] + par[1] * eT * eT + par[3] * hT
        if eT < 0.0:
            f1 += par[2] * eT * eT
        fs = f1
        for s in range(1, h0 + W):
            if s >= h0:
                fore[s - h0] = fs * s2
            fs = par[0] + pers * fs

@numba.njit(nogil=True, cache=True, parallel=True, error_model="numpy")
def kernel(y: Any, X: Any, mask: Any, kind: int, student: bool, h0: Any, W: int,
           mean: Any, vol: Any, resid: Any, fore: Any, gram: Any) -> None:
    for p in numba.prange(y.shape[0]):
        one(y[p], X[p], mask[p], kind, student, h0[p], W, mean[p], vol[p],
            resid[p], fore[p], gram[p])


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "nll": nll, "grad": grad, "unpack": unpack, "pack": pack, "bfgs": bfgs}
"""The kernel's parts, for the tests."""
