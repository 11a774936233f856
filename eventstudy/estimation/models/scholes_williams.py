"""Scholes & Williams (1977, JFE 5) beta for non-synchronous trading.

b_SW = (b- + b0 + b+) / (1 + 2 rho_m), a_SW = mean(R) - b_SW mean(R_m), all on the
common sample where R_m,t-1 and R_m,t+1 exist. sigma^2 = SSR / (L - 2) on that
sample; the prediction-error term uses the market model's formula with (1, R_m).
"""

from __future__ import annotations

import numpy as np

from eventstudy.config import Conventions
from eventstudy.estimation.models.base import Design, Fit
from eventstudy.estimation.models.ols import LinearModel, centred, masked_mean


class ScholesWilliams(LinearModel):
    """Lag, current and lead market slopes combined into one beta."""

    name = "scholes_williams"
    description = "Scholes-Williams (1977) beta for non-synchronous trading"

    def design(self, *, dimson_lags: int = 1, factors: tuple[str, ...] = (),
               market_factor: bool = True) -> Design:
        """R_m,t-1, R_m,t and R_m,t+1 (only R_m,t enters the prediction)."""
        return Design(self, (("market", -1), ("market", 0), ("market", 1)))

    def n_params(self, design: Design) -> int:
        """alpha and beta_SW."""
        return 2

    def fit(self, design: Design, y: np.ndarray, X: np.ndarray, mask: np.ndarray,
            conventions: Conventions, X_window: np.ndarray | None = None,
            window_mask: np.ndarray | None = None) -> Fit:
        """The three simple-regression slopes and rho_m on the common sample."""
        n = mask.sum(axis=1).astype(np.float64)
        betas = []
        for j in range(3):
            Xj = X[:, :, j:j + 1]
            Xc, yc, _, _ = centred(y, Xj, mask, n)
            with np.errstate(invalid="ignore", divide="ignore"):
                betas.append((Xc[:, :, 0] * yc).sum(1) / (Xc[:, :, 0] ** 2).sum(1))
        m0 = X[:, :, 1]
        mlag = X[:, :, 0]
        # rho_m: first-order autocorrelation of R_m over the same sample
        # (corr(R_m,t, R_m,t-1) estimated on the pair's usable days)
        a = np.where(mask, m0 - masked_mean(m0, mask, n)[:, None], 0.0)
        b_ = np.where(mask, mlag - masked_mean(mlag, mask, n)[:, None], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = (a * b_).sum(1) / np.sqrt((a**2).sum(1) * (b_**2).sum(1))
            beta = (betas[0] + betas[1] + betas[2]) / (1 + 2 * rho)
        ybar = masked_mean(y, mask, n)
        mbar = masked_mean(m0, mask, n)
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
                   dof=dof, resid=resid, xbar=mbar[:, None], s_inv=s_inv, r2=r2,
                   k=2)

    def predict(self, design: Design, fit: Fit, X_event: np.ndarray) -> np.ndarray:
        """alpha + beta_SW R_m,t (the contemporaneous column only)."""
        sw: np.ndarray = fit.params[:, :1] + fit.params[:, 1:2] * X_event[:, :, 1]
        return sw

    def slope_rows(self, design: Design, X_event: np.ndarray) -> np.ndarray:
        """The contemporaneous market column."""
        return X_event[:, :, 1:2]
