"""Constant mean: AR = R - mean(R over E). Brown & Warner (1980). k = 1."""

from __future__ import annotations

from eventstudy.estimation.models.ols import LinearModel


class ConstantMean(LinearModel):
    """Normal return = the estimation-window mean; Var(AR) = sigma^2 (1 + 1/L)."""

    name = "constant_mean"
    description = "Constant mean (Brown & Warner 1980)"
