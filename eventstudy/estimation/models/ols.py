"""Batched least squares shared by the linear models, and :class:`LinearModel`.

OLS by centred normal equations: b = S^-1 s with S = Xc'Xc, s = Xc'yc over each
pair's usable days, alpha = ybar - xbar'b. sigma^2 = SSR / (L - k) by default, or
SSR / (L - 1) with ``sigma_dof = "sample"``. Var(AR_t) = sigma^2 (1 + h_t) and
Var(CAR) = sigma^2 (d + gamma'X*(X'X)^-1X*'gamma) with the forecast-error term
(CLM 1997 sec. 4.4), sigma^2 and sigma^2 d without it.
"""

from __future__ import annotations

import numpy as np

from eventstudy.config import Conventions, ModelSpec, Windows
from eventstudy.estimation.models.base import Design, Fit, NormalReturnModel


def masked_mean(a: np.ndarray, mask: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Row means of ``a`` over ``mask`` with ``n`` usable days per row."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(mask, a, 0.0).sum(axis=1) / n
    return out


def centred(
    y: np.ndarray, X: np.ndarray, mask: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(Xc, yc, xbar, ybar)``: regressors and returns centred on their masked
    means, zero where not usable."""
    m = mask[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        xbar = np.where(m, X, 0.0).sum(axis=1) / n[:, None]
    ybar = masked_mean(y, mask, n)
    Xc = np.where(m, X - xbar[:, None, :], 0.0)
    yc = np.where(mask, y - ybar[:, None], 0.0)
    return Xc, yc, xbar, ybar


def solve(S: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched solve with NaN for singular systems; returns (solution, inverse)."""
    P, k, _ = S.shape
    inv = np.full_like(S, np.nan)
    if k == 0:
        return np.zeros((P, 0)), inv
    det_ok = np.isfinite(S).all(axis=(1, 2))
    if k == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            inv[:, 0, 0] = np.where(S[:, 0, 0] > 0, 1.0 / S[:, 0, 0], np.nan)
    elif det_ok.any():
        Sd = S[det_ok]
        # Hadamard ratio det(S) / prod(diag S) in (0, 1]: ~0 means collinear columns
        diag = np.prod(np.diagonal(Sd, axis1=1, axis2=2), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.linalg.det(Sd) / diag
        ok = np.isfinite(ratio) & (ratio > 1e-12)
        sub = np.full_like(Sd, np.nan)
        if ok.any():
            sub[ok] = np.linalg.inv(Sd[ok])
        inv[det_ok] = sub
    sol = np.einsum("pkj,pj->pk", inv, b)
    return sol, inv


class LinearModel:
    """Base of the models estimated by OLS of R (or R - R_f) on the design's
    regressors plus an intercept. Subclasses set the class attributes and
    :meth:`design`; everything else is shared."""

    name = ""
    description = ""
    excess = False
    fixed = False
    needs_factors = False
    fused_kernel = False
    uses_lags = False

    def __repr__(self) -> str:
        return f"<normal-return model {self.name!r}>"

    def configure(self, spec: ModelSpec, windows: Windows) -> NormalReturnModel:
        """No options: the model itself."""
        return self

    def design(self, *, dimson_lags: int = 1, factors: tuple[str, ...] = (),
               market_factor: bool = True) -> Design:
        """The regressors this model needs (subclasses override)."""
        return Design(self, ())

    def n_params(self, design: Design) -> int:
        """Slopes plus the intercept."""
        return len(design.regressors) + int(design.intercept)

    def fit(self, design: Design, y: np.ndarray, X: np.ndarray, mask: np.ndarray,
            conventions: Conventions, X_window: np.ndarray | None = None,
            window_mask: np.ndarray | None = None) -> Fit:
        """OLS for all pairs at once.

        ``X_window`` and ``window_mask`` (regressors and their own availability over
        the estimation window) serve ``market_moments = "window"`` (estudy2): the
        prediction-error moments then come from all window days where the
        regressors exist.
        """
        P, L = y.shape
        n = mask.sum(axis=1).astype(np.float64)
        Xc, yc, xbar, ybar = centred(y, X, mask, n)
        S = np.einsum("plk,plj->pkj", Xc, Xc)
        s = np.einsum("plk,pl->pk", Xc, yc)
        b, s_inv = solve(S, s)
        alpha = ybar - np.einsum("pk,pk->p", xbar, b)
        params = np.concatenate([alpha[:, None], b], axis=1)
        resid = np.where(mask, yc - np.einsum("plk,pk->pl", Xc, b), np.nan)
        ssr = np.nansum(resid**2, axis=1)
        sst = (yc**2).sum(axis=1)
        k = self.n_params(design)
        dof = n - k
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = n - 1 if conventions.sigma_dof == "sample" else dof
            sigma2 = np.where(denom > 0, ssr / denom, np.nan)
            r2 = (np.where(sst > 0, 1 - ssr / sst, np.nan) if k > 1
                  else np.full(P, np.nan))
        if conventions.market_moments == "window" and X_window is not None and k > 1:
            wm = window_mask if window_mask is not None else np.isfinite(
                X_window).all(-1)
            nw = wm.sum(axis=1).astype(np.float64)
            _, _, xbar, _ = centred(np.zeros(y.shape), X_window, wm, nw)
            Xw = np.where(wm[..., None], X_window - xbar[:, None, :], 0.0)
            Sw = np.einsum("plk,plj->pkj", Xw, Xw)
            _, s_inv = solve(Sw, np.zeros((P, Sw.shape[1])))
        return Fit(params=params, sigma2=sigma2, nobs=n, dof=dof, resid=resid,
                   xbar=xbar, s_inv=s_inv, r2=r2, k=k)

    def predict(self, design: Design, fit: Fit, X_event: np.ndarray) -> np.ndarray:
        """alpha + X_event b."""
        out: np.ndarray = fit.params[:, :1] + np.einsum("pwk,pk->pw", X_event,
                                                        fit.params[:, 1:])
        return out

    def slope_rows(self, design: Design, X_event: np.ndarray) -> np.ndarray:
        """Every regressor is a slope."""
        return X_event

    def leverage(self, design: Design, fit: Fit, rows: np.ndarray) -> np.ndarray:
        """1/L + (x - xbar)' S^-1 (x - xbar) (1/L for the constant mean)."""
        d = rows - fit.xbar[:, None, :]
        quad = np.einsum("pwk,pkj,pwj->pw", d, fit.s_inv, d)
        out: np.ndarray = 1.0 / fit.nobs[:, None] + quad
        return out

    def window_leverage(self, design: Design, fit: Fit, rows: np.ndarray,
                        day_mask: np.ndarray) -> np.ndarray:
        """d^2 / L + (g - d xbar)' S^-1 (g - d xbar), with d the number of days
        and g the sum of the slope rows over them (CLM 1997 sec. 4.4.3)."""
        d = day_mask.sum(axis=1).astype(np.float64)
        g = np.where(day_mask[..., None], rows, 0.0).sum(axis=1)
        c = g - d[:, None] * fit.xbar
        quad = np.einsum("pk,pkj,pj->p", c, fit.s_inv, c)
        out: np.ndarray = d**2 / fit.nobs + quad
        return out

    def reported(self, design: Design, fit: Fit) -> tuple[np.ndarray, np.ndarray]:
        """The intercept and the first slope (NaN without a slope)."""
        alpha = fit.params[:, 0]
        if fit.params.shape[1] >= 2:
            return alpha, fit.params[:, 1]
        return alpha, np.full(fit.params.shape[0], np.nan)

    def ar_variance(self, fit: Fit, lev: np.ndarray,
                    forecast_error: bool) -> np.ndarray:
        """sigma^2 (1 + h_t), or sigma^2 without the forecast-error term."""
        factor = 1.0 + lev if forecast_error else np.ones_like(lev)
        out: np.ndarray = fit.sigma2[:, None] * factor
        return out

    def car_variance(self, fit: Fit, days: np.ndarray, wlev: np.ndarray | float,
                     day_mask: np.ndarray | None = None) -> np.ndarray:
        """sigma^2 (d + window leverage)."""
        out: np.ndarray = fit.sigma2 * (days + wlev)
        return out
