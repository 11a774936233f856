"""Dimson (1979, JFE 7): R = a + sum_{j=-K..K} b_j R_m,t+j + e by OLS. The AR uses
the full fitted lead/lag model; beta_D = sum b_j is reported. k = 2K + 2."""

from __future__ import annotations

import numpy as np

from eventstudy.estimation.models.base import Design, Fit
from eventstudy.estimation.models.ols import LinearModel


class Dimson(LinearModel):
    """Aggregated-coefficients lead/lag market model."""

    name = "dimson"
    description = "Dimson (1979) aggregated-coefficients lead/lag model"
    uses_lags = True

    def design(self, *, dimson_lags: int = 1, factors: tuple[str, ...] = (),
               market_factor: bool = True) -> Design:
        """R_m,t+j for j = -K..K (K = ``dimson_lags``).

        Examples
        --------
        >>> Dimson().design(dimson_lags=1).regressors
        (('market', -1), ('market', 0), ('market', 1))
        """
        k = int(dimson_lags)
        return Design(self, tuple(("market", j) for j in range(-k, k + 1)))

    def reported(self, design: Design, fit: Fit) -> tuple[np.ndarray, np.ndarray]:
        """The intercept and the aggregated beta sum b_j."""
        return fit.params[:, 0], fit.params[:, 1:].sum(axis=1)
