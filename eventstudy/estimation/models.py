"""Normal-return models, estimated for all (event, security) pairs at once.

Every model works on stacked arrays: ``y`` of shape ``(P, L)`` (P pairs, L estimation
days) and regressors ``X`` of shape ``(P, L, k)``, with a boolean ``mask`` of usable
days. The engine gathers the regressors each model declares (:attr:`Design.regressors`:
``("market", lag)`` or ``("factor:<name>", 0)``) and calls :func:`estimate`.

Models
------
``constant_mean``
    AR = R - mean(R over E). Brown & Warner (1980). k = 1.
``market_adjusted``
    AR = R - R_m; nothing is estimated, sigma^2 is the sample variance of AR over E
    (df L - 1); C = 1. Brown & Warner (1980, 1985).
``market``
    R = a + b R_m + e by OLS over E (Sharpe 1963; Fama, Fisher, Jensen & Roll 1969).
    sigma^2 = SSR / (L - 2).
``scholes_williams``
    b_SW = (b- + b0 + b+) / (1 + 2 rho_m), a_SW = mean(R) - b_SW mean(R_m), all on the
    common sample where R_m,t-1 and R_m,t+1 exist (Scholes & Williams 1977, JFE 5).
    sigma^2 = SSR / (L - 2) on that sample; the prediction-error term uses the market
    model's formula with (1, R_m).
``dimson``
    R = a + sum_{j=-K..K} b_j R_m,t+j + e by OLS (Dimson 1979, JFE 7); the AR uses the
    full fitted lead/lag model, beta_D = sum b_j is reported. k = 2K + 2.
``factor``
    R - R_f = a + b' F + e by OLS on the given factor columns (e.g. Fama & French 1993,
    2015; Carhart 1997); optionally with the security's benchmark as a factor
    (market + FX two-factor models). AR = (R - R_f) - (a + b' F).

Prediction-error variance (Campbell, Lo & MacKinlay 1997, sec. 4.4): for an OLS model
with event-day regressor row x (incl. the 1), Var(AR) = sigma^2 [1 + x'(X'X)^-1 x]. We
compute it in centred form, x'(X'X)^-1 x = 1/L + (x - xbar)' S^-1 (x - xbar), with S the
centred cross-product matrix, which is exact and well conditioned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eventstudy.config import MODEL_NAMES, Conventions
from eventstudy.errors import UnknownNameError

Regressor = tuple[str, int]


@dataclass(frozen=True)
class Design:
    """What a model needs from the engine.

    Attributes
    ----------
    name
        Model name.
    regressors
        ``(source, lag)`` pairs: source ``"market"`` (the security's benchmark) or
        ``"factor:<column>"``; lag ``j`` means the value at t + j.
    intercept
        Whether an intercept is estimated.
    excess
        Whether the dependent variable is the excess return R - R_f.
    """

    name: str
    regressors: tuple[Regressor, ...]
    intercept: bool = True
    excess: bool = False

    @property
    def k(self) -> int:
        """Number of estimated coefficients, intercept included."""
        if self.name == "market_adjusted":
            return 0
        if self.name == "scholes_williams":
            return 2
        return len(self.regressors) + int(self.intercept)


def make_design(name: str, dimson_lags: int = 1, factors: tuple[str, ...] = (),
                market_factor: bool = True) -> Design:
    """Build the :class:`Design` of a model by name.

    Examples
    --------
    >>> make_design("dimson", dimson_lags=1).regressors
    (('market', -1), ('market', 0), ('market', 1))
    """
    if name == "constant_mean":
        return Design(name, ())
    if name == "market_adjusted":
        return Design(name, (("market", 0),), intercept=False)
    if name == "market":
        return Design(name, (("market", 0),))
    if name == "scholes_williams":
        return Design(name, (("market", -1), ("market", 0), ("market", 1)))
    if name == "dimson":
        k = int(dimson_lags)
        return Design(name, tuple(("market", j) for j in range(-k, k + 1)))
    if name == "factor":
        regs: list[Regressor] = [("market", 0)] if market_factor else []
        regs += [(f"factor:{f}", 0) for f in factors]
        return Design(name, tuple(regs), excess=True)
    raise UnknownNameError(f"unknown model {name!r}; choose one of "
                           f"{', '.join(MODEL_NAMES)}")


MODELS: dict[str, str] = {
    "constant_mean": "Constant mean (Brown & Warner 1980)",
    "market_adjusted": "Market-adjusted, alpha = 0, beta = 1 (Brown & Warner 1980)",
    "market": "Market model by OLS (Sharpe 1963; Fama et al. 1969)",
    "scholes_williams": "Scholes-Williams (1977) beta for non-synchronous trading",
    "dimson": "Dimson (1979) aggregated-coefficients lead/lag model",
    "factor": "Multi-factor OLS on user factors (Fama-French, Carhart, market + FX)",
}
"""Registry of normal-return models: name -> description."""


@dataclass(frozen=True)
class Fit:
    """Batched estimation results for P pairs (all arrays have leading axis P).

    Attributes
    ----------
    params
        ``(P, k)`` coefficients, intercept first.
    sigma2
        Residual variance under the chosen degrees-of-freedom convention.
    nobs
        Usable estimation returns L_i.
    dof
        L_i - k (the model's residual degrees of freedom, whatever sigma2 divides by).
    resid
        ``(P, L)`` estimation residuals, NaN where not used.
    xbar, s_inv
        Regressor means ``(P, k')`` and inverse centred cross-products ``(P, k', k')``
        of the slope regressors, for the prediction-error term (k' = slopes).
    r2
        R squared of the estimation regression (NaN where not defined).
    """

    params: np.ndarray
    sigma2: np.ndarray
    nobs: np.ndarray
    dof: np.ndarray
    resid: np.ndarray
    xbar: np.ndarray
    s_inv: np.ndarray
    r2: np.ndarray
    k: int


def _masked_mean(a: np.ndarray, mask: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(mask, a, 0.0).sum(axis=1) / n
    return out


def _centred(
    y: np.ndarray, X: np.ndarray, mask: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    m = mask[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        xbar = np.where(m, X, 0.0).sum(axis=1) / n[:, None]
    ybar = _masked_mean(y, mask, n)
    Xc = np.where(m, X - xbar[:, None, :], 0.0)
    yc = np.where(mask, y - ybar[:, None], 0.0)
    return Xc, yc, xbar, ybar


def _solve(S: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def estimate(
    design: Design,
    y: np.ndarray,
    X: np.ndarray,
    mask: np.ndarray,
    conventions: Conventions,
    X_window: np.ndarray | None = None,
    window_mask: np.ndarray | None = None,
) -> Fit:
    """Estimate a normal-return model for all pairs at once.

    Parameters
    ----------
    design
        The model's design.
    y
        ``(P, L)`` dependent returns over the estimation window (NaN = missing).
    X
        ``(P, L, r)`` regressors as declared by ``design.regressors``.
    mask
        ``(P, L)`` usable days (y and every regressor finite).
    conventions
        Degrees-of-freedom and market-moment conventions.
    X_window, window_mask
        Regressors and their own availability mask over the estimation window, used
        for ``market_moments = "window"`` (estudy2): the prediction-error moments then
        come from all window days where the regressors exist.

    Returns
    -------
    Fit

    Notes
    -----
    OLS by centred normal equations: b = S^-1 s with S = Xc'Xc, s = Xc'yc over the
    pair's usable days, alpha = ybar - xbar'b. sigma^2 = SSR / (L - k) by default, or
    SSR / (L - 1) with ``sigma_dof = "sample"``.
    """
    P, L = y.shape
    n = mask.sum(axis=1).astype(np.float64)
    if design.name == "market_adjusted":
        e = y - X[:, :, 0]
        ebar = _masked_mean(e, mask, n)
        resid = np.where(mask, e - ebar[:, None], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            sigma2 = np.nansum(resid**2, axis=1) / (n - 1)
        return Fit(params=np.zeros((P, 0)), sigma2=sigma2, nobs=n, dof=n - 1,
                   resid=np.where(mask, e, np.nan), xbar=np.zeros((P, 0)),
                   s_inv=np.zeros((P, 0, 0)), r2=np.full(P, np.nan), k=0)
    if design.name == "scholes_williams":
        return _scholes_williams(y, X, mask, conventions, n)
    Xc, yc, xbar, ybar = _centred(y, X, mask, n)
    S = np.einsum("plk,plj->pkj", Xc, Xc)
    s = np.einsum("plk,pl->pk", Xc, yc)
    b, s_inv = _solve(S, s)
    alpha = ybar - np.einsum("pk,pk->p", xbar, b)
    params = np.concatenate([alpha[:, None], b], axis=1)
    resid = np.where(mask, yc - np.einsum("plk,pk->pl", Xc, b), np.nan)
    ssr = np.nansum(resid**2, axis=1)
    sst = (yc**2).sum(axis=1)
    k = design.k
    dof = n - k
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = n - 1 if conventions.sigma_dof == "sample" else dof
        sigma2 = np.where(denom > 0, ssr / denom, np.nan)
        r2 = np.where(sst > 0, 1 - ssr / sst, np.nan) if k > 1 else np.full(P, np.nan)
    if conventions.market_moments == "window" and X_window is not None and k > 1:
        wm = window_mask if window_mask is not None else np.isfinite(X_window).all(-1)
        nw = wm.sum(axis=1).astype(np.float64)
        _, _, xbar, _ = _centred(np.zeros(y.shape), X_window, wm, nw)
        Xw = np.where(wm[..., None], X_window - xbar[:, None, :], 0.0)
        Sw = np.einsum("plk,plj->pkj", Xw, Xw)
        _, s_inv = _solve(Sw, np.zeros((P, Sw.shape[1])))
    return Fit(params=params, sigma2=sigma2, nobs=n, dof=dof, resid=resid,
               xbar=xbar, s_inv=s_inv, r2=r2, k=k)


def _scholes_williams(y: np.ndarray, X: np.ndarray, mask: np.ndarray,
                      conventions: Conventions, n: np.ndarray) -> Fit:
    """Scholes & Williams (1977) on the common sample of lag, lead and current."""
    betas = []
    for j in range(3):
        Xj = X[:, :, j:j + 1]
        Xc, yc, _, _ = _centred(y, Xj, mask, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            betas.append((Xc[:, :, 0] * yc).sum(1) / (Xc[:, :, 0] ** 2).sum(1))
    m0 = X[:, :, 1]
    mlag = X[:, :, 0]
    # rho_m: first-order autocorrelation of R_m over the same sample (corr(R_m,t,
    # R_m,t-1) estimated on the pair's usable days)
    a = np.where(mask, m0 - _masked_mean(m0, mask, n)[:, None], 0.0)
    b_ = np.where(mask, mlag - _masked_mean(mlag, mask, n)[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (a * b_).sum(1) / np.sqrt((a**2).sum(1) * (b_**2).sum(1))
        beta = (betas[0] + betas[1] + betas[2]) / (1 + 2 * rho)
    ybar = _masked_mean(y, mask, n)
    mbar = _masked_mean(m0, mask, n)
    alpha = ybar - beta * mbar
    resid = np.where(mask, y - alpha[:, None] - beta[:, None] * m0, np.nan)
    ssr = np.nansum(resid**2, axis=1)
    dof = n - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = n - 1 if conventions.sigma_dof == "sample" else dof
        sigma2 = ssr / denom
        sst = np.where(mask, y - ybar[:, None], 0.0)
        r2 = 1 - ssr / (sst**2).sum(1)
    Sm = (a**2).sum(1)
    with np.errstate(divide="ignore"):
        s_inv = np.where(Sm > 0, 1.0 / Sm, np.nan)[:, None, None]
    return Fit(params=np.stack([alpha, beta], axis=1), sigma2=sigma2, nobs=n,
               dof=dof, resid=resid, xbar=mbar[:, None], s_inv=s_inv, r2=r2, k=2)


def predict(design: Design, fit: Fit, X_event: np.ndarray) -> np.ndarray:
    """Normal returns over the event window, ``(P, W)``.

    For ``scholes_williams`` only the contemporaneous market (column 1) enters.
    """
    if design.name == "market_adjusted":
        return np.asarray(X_event[:, :, 0])
    if design.name == "scholes_williams":
        sw: np.ndarray = fit.params[:, :1] + fit.params[:, 1:2] * X_event[:, :, 1]
        return sw
    out: np.ndarray = fit.params[:, :1] + np.einsum("pwk,pk->pw", X_event,
                                                    fit.params[:, 1:])
    return out


def slope_rows(design: Design, X_event: np.ndarray) -> np.ndarray:
    """The slope-regressor rows entering the prediction-error term, ``(P, W, k')``."""
    if design.name == "scholes_williams":
        return X_event[:, :, 1:2]
    if design.name == "market_adjusted":
        return X_event[:, :, :0]
    return X_event


def leverage(design: Design, fit: Fit, rows: np.ndarray) -> np.ndarray:
    """x'(X'X)^-1 x for event-window rows ``(P, W, k')``: ``(P, W)``.

    Zero for ``market_adjusted`` (nothing is estimated); 1/L for constant mean.
    """
    if design.name == "market_adjusted":
        return np.zeros(rows.shape[:2])
    d = rows - fit.xbar[:, None, :]
    quad = np.einsum("pwk,pkj,pwj->pw", d, fit.s_inv, d)
    out: np.ndarray = 1.0 / fit.nobs[:, None] + quad
    return out


def window_leverage(design: Design, fit: Fit, rows: np.ndarray,
                    day_mask: np.ndarray) -> np.ndarray:
    """gamma'X*(X'X)^-1X*'gamma for a CAR over the days in ``day_mask`` ``(P, W)``.

    With d the number of days and g the sum of the slope rows over them, this is
    d^2 / L + (g - d xbar)' S^-1 (g - d xbar) (CLM 1997 sec. 4.4.3).
    """
    if design.name == "market_adjusted":
        return np.zeros(rows.shape[0])
    d = day_mask.sum(axis=1).astype(np.float64)
    g = np.where(day_mask[..., None], rows, 0.0).sum(axis=1)
    c = g - d[:, None] * fit.xbar
    quad = np.einsum("pk,pkj,pj->p", c, fit.s_inv, c)
    out: np.ndarray = d**2 / fit.nobs + quad
    return out
