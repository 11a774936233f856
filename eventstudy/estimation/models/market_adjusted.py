"""Market-adjusted: AR = R - R_m; nothing is estimated, sigma^2 is the sample
variance of AR over E (df L - 1); C = 1. Brown & Warner (1980, 1985)."""

from __future__ import annotations

import numpy as np

from eventstudy.config import Conventions
from eventstudy.estimation.models.base import Design, Fit
from eventstudy.estimation.models.ols import LinearModel, masked_mean


class MarketAdjusted(LinearModel):
    """alpha = 0, beta = 1: no parameter, no prediction-error term."""

    name = "market_adjusted"
    description = "Market-adjusted, alpha = 0, beta = 1 (Brown & Warner 1980)"
    fixed = True

    def design(self, *, dimson_lags: int = 1, factors: tuple[str, ...] = (),
               market_factor: bool = True) -> Design:
        """The benchmark, without an intercept."""
        return Design(self, (("market", 0),), intercept=False)

    def n_params(self, design: Design) -> int:
        """Nothing is estimated."""
        return 0

    def fit(self, design: Design, y: np.ndarray, X: np.ndarray, mask: np.ndarray,
            conventions: Conventions, X_window: np.ndarray | None = None,
            window_mask: np.ndarray | None = None) -> Fit:
        """sigma^2 = sample variance of R - R_m over the usable days."""
        P, _ = y.shape
        n = mask.sum(axis=1).astype(np.float64)
        e = y - X[:, :, 0]
        ebar = masked_mean(e, mask, n)
        resid = np.where(mask, e - ebar[:, None], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            sigma2 = np.nansum(resid**2, axis=1) / (n - 1)
        return Fit(params=np.zeros((P, 0)), sigma2=sigma2, nobs=n, dof=n - 1,
                   resid=np.where(mask, e, np.nan), xbar=np.zeros((P, 0)),
                   s_inv=np.zeros((P, 0, 0)), r2=np.full(P, np.nan), k=0)

    def predict(self, design: Design, fit: Fit, X_event: np.ndarray) -> np.ndarray:
        """The benchmark's return."""
        return np.asarray(X_event[:, :, 0])

    def slope_rows(self, design: Design, X_event: np.ndarray) -> np.ndarray:
        """No slopes."""
        return X_event[:, :, :0]

    def leverage(self, design: Design, fit: Fit, rows: np.ndarray) -> np.ndarray:
        """Zero: nothing is estimated."""
        return np.zeros(rows.shape[:2])

    def window_leverage(self, design: Design, fit: Fit, rows: np.ndarray,
                        day_mask: np.ndarray) -> np.ndarray:
        """Zero: nothing is estimated."""
        return np.zeros(rows.shape[0])

    def reported(self, design: Design, fit: Fit) -> tuple[np.ndarray, np.ndarray]:
        """alpha = 0 and beta = 1 by construction."""
        P = fit.sigma2.shape[0]
        return np.zeros(P), np.ones(P)
