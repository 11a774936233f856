"""The :class:`NormalReturnModel` protocol and the containers every model shares.

A normal-return model works on stacked arrays: ``y`` of shape ``(P, L)`` (P pairs,
L estimation days) and regressors ``X`` of shape ``(P, L, r)``, with a boolean
``mask`` of usable days. It declares what the pipeline must gather for it (its
:class:`Design`: ``("market", lag)`` or ``("factor:<name>", 0)`` columns, excess
returns or not) and it fits, predicts and gives the variances of its abnormal
returns, Var(AR_t) and Var(CAR). The pipeline never branches on a model's name:
it reads these attributes and calls these methods.

Prediction-error variance (Campbell, Lo & MacKinlay 1997, sec. 4.4): for an OLS
model with event-day regressor row x (incl. the 1), Var(AR) = sigma^2 [1 +
x'(X'X)^-1 x]. The linear models compute it in centred form, x'(X'X)^-1 x = 1/L +
(x - xbar)' S^-1 (x - xbar), with S the centred cross-product matrix, which is
exact and well conditioned. A model with a time-varying variance (GARCH) returns
it from :meth:`NormalReturnModel.ar_variance` and
:meth:`NormalReturnModel.car_variance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from eventstudy.config import Conventions, ModelSpec, Windows

VOL_COLUMNS = ("garch_omega", "garch_alpha", "garch_gamma", "garch_beta", "garch_nu",
               "loglik", "converged", "fallback_ols")
"""The per-pair columns of :attr:`Fit.extra` (a conditional-variance model's
parameters, log-likelihood, convergence flag and OLS fallback flag), carried to
``diagnostics.csv``; NaN for the other models."""

Regressor = tuple[str, int]
"""A regressor column: source ``"market"`` (the security's benchmark) or
``"factor:<column>"``, and lag ``j`` (the value at t + j)."""


@dataclass(frozen=True)
class Design:
    """What one model, with its options, needs from the pipeline.

    Attributes
    ----------
    model
        The normal-return model.
    regressors
        ``(source, lag)`` pairs, gathered in this order into ``X``.
    intercept
        Whether an intercept is estimated.
    """

    model: NormalReturnModel
    regressors: tuple[Regressor, ...]
    intercept: bool = True

    @property
    def name(self) -> str:
        """The model's registry name."""
        return self.model.name

    @property
    def excess(self) -> bool:
        """Whether the dependent variable is the excess return R - R_f."""
        return self.model.excess

    @property
    def k(self) -> int:
        """Number of estimated coefficients, intercept included."""
        return self.model.n_params(self)


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
    k
        Number of estimated coefficients.
    extra
        ``(P, len(VOL_COLUMNS))`` conditional-variance diagnostics
        (:data:`VOL_COLUMNS`), or None for a model without them.
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
    extra: np.ndarray | None = None


@runtime_checkable
class NormalReturnModel(Protocol):
    """A normal-return model: what it declares and what it does.

    Attributes
    ----------
    name
        Registry name (the key in :data:`eventstudy.estimation.models.MODELS`).
    description
        One line with the reference, shown by ``eventstudy`` help and the docs.
    excess
        Whether the dependent variable is R - R_f (the pipeline subtracts the
        risk-free rate from the returns and from the market regressor).
    fixed
        Fixed-parameter model (nothing is estimated, e.g. alpha = 0, beta = 1).
    needs_factors
        Whether the model needs a factor table (``[model] factors``).
    fused_kernel
        Whether the compiled market-model kernel
        (:func:`eventstudy.estimation.kernels.market_chunk`) computes exactly this
        model when its design is the single contemporaneous market regressor.
    uses_lags
        Whether ``[model] dimson_lags`` shapes the design (reports show it).
    """

    name: str
    description: str
    excess: bool
    fixed: bool
    needs_factors: bool
    fused_kernel: bool
    uses_lags: bool

    def configure(self, spec: ModelSpec, windows: Windows) -> NormalReturnModel:
        """The model with the study's ``[model]`` options and windows (a model
        without options returns itself)."""

    def design(self, *, dimson_lags: int = 1, factors: tuple[str, ...] = (),
               market_factor: bool = True) -> Design:
        """The regressors this model needs, given the study's model options."""

    def n_params(self, design: Design) -> int:
        """Number of estimated coefficients, intercept included."""

    def fit(self, design: Design, y: np.ndarray, X: np.ndarray, mask: np.ndarray,
            conventions: Conventions, X_window: np.ndarray | None = None,
            window_mask: np.ndarray | None = None) -> Fit:
        """Estimate on the estimation window for all pairs at once."""

    def predict(self, design: Design, fit: Fit, X_event: np.ndarray) -> np.ndarray:
        """Normal returns over the event window, ``(P, W)``."""

    def slope_rows(self, design: Design, X_event: np.ndarray) -> np.ndarray:
        """The slope-regressor rows of the prediction-error term, ``(P, W, k')``."""

    def leverage(self, design: Design, fit: Fit, rows: np.ndarray) -> np.ndarray:
        """x'(X'X)^-1 x for each event day, ``(P, W)``."""

    def window_leverage(self, design: Design, fit: Fit, rows: np.ndarray,
                        day_mask: np.ndarray) -> np.ndarray:
        """gamma'X*(X'X)^-1X*'gamma for a CAR over the days in ``day_mask``,
        ``(P,)``."""

    def reported(self, design: Design, fit: Fit) -> tuple[np.ndarray, np.ndarray]:
        """The ``alpha`` and ``beta`` reported per pair, ``(P,)`` each."""

    def ar_variance(self, fit: Fit, lev: np.ndarray,
                    forecast_error: bool) -> np.ndarray:
        """Var(AR_t) for each event day, ``(P, W)``, from the leverages ``lev``."""

    def car_variance(self, fit: Fit, days: np.ndarray, wlev: np.ndarray | float,
                     day_mask: np.ndarray | None = None) -> np.ndarray:
        """Var(CAR) over ``days`` usable days with window leverage ``wlev``,
        ``(P,)`` (``wlev`` is 0.0 without the forecast-error term); ``day_mask``
        ``(P, W)`` says which event days those are (a time-varying variance sums
        its forecasts over them)."""
