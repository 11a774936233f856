"""Market model: R = a + b R_m + e by OLS over E (Sharpe 1963; Fama, Fisher, Jensen &
Roll 1969). sigma^2 = SSR / (L - 2). The model of nearly every large study, so the
compiled kernel (:mod:`eventstudy.estimation.kernels`) computes it too."""

from __future__ import annotations

from eventstudy.estimation.models.base import Design
from eventstudy.estimation.models.ols import LinearModel


class Market(LinearModel):
    """OLS on the security's benchmark."""

    name = "market"
    description = "Market model by OLS (Sharpe 1963; Fama et al. 1969)"
    fused_kernel = True

    def design(self, *, dimson_lags: int = 1, factors: tuple[str, ...] = (),
               market_factor: bool = True) -> Design:
        """One regressor: the benchmark on the same day."""
        return Design(self, (("market", 0),))
