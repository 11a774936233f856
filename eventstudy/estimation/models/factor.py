"""Multi-factor OLS: R - R_f = a + b' F + e on the given factor columns (e.g. Fama &
French 1993, 2015; Carhart 1997); optionally with the security's benchmark as a
factor (market + FX two-factor models). AR = (R - R_f) - (a + b' F)."""

from __future__ import annotations

from eventstudy.estimation.models.base import Design, Regressor
from eventstudy.estimation.models.ols import LinearModel


class Factor(LinearModel):
    """OLS of excess returns on user factors (and the benchmark)."""

    name = "factor"
    description = "Multi-factor OLS on user factors (Fama-French, Carhart, market + FX)"
    excess = True
    needs_factors = True

    def design(self, *, dimson_lags: int = 1, factors: tuple[str, ...] = (),
               market_factor: bool = True) -> Design:
        """The benchmark (if ``market_factor``) and then each factor column."""
        regs: list[Regressor] = [("market", 0)] if market_factor else []
        regs += [(f"factor:{f}", 0) for f in factors]
        return Design(self, tuple(regs))
