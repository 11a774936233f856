"""Normal-return models, estimated for all (event, security) pairs at once.

Each model is one file in this package implementing the
:class:`~eventstudy.estimation.models.base.NormalReturnModel` protocol, and one line
in :data:`MODELS`. The pipeline builds each model's :class:`Design` with
:func:`make_design`, gathers the regressors it declares and calls the model's
methods (:func:`estimate`, :func:`predict`, :func:`leverage`, ... are thin
delegates kept for callers). Nothing outside a model's file branches on its name.

Models
------
``constant_mean``
    AR = R - mean(R over E). Brown & Warner (1980). k = 1.
``market_adjusted``
    AR = R - R_m; nothing is estimated, sigma^2 is the sample variance of AR over E.
``market``
    R = a + b R_m + e by OLS over E (Sharpe 1963; Fama, Fisher, Jensen & Roll 1969).
``scholes_williams``
    Scholes & Williams (1977) beta on the common sample of lag, current and lead.
``dimson``
    R = a + sum_{j=-K..K} b_j R_m,t+j + e by OLS (Dimson 1979).
``factor``
    R - R_f = a + b' F + e by OLS on user factors (Fama & French 1993; Carhart 1997).
``garch``, ``gjr_garch``, ``egarch``
    Mean equation (constant, market or factors) with GARCH(1,1) (Bollerslev 1986),
    GJR-GARCH(1,1) (Glosten, Jagannathan & Runkle 1993) or EGARCH(1,1) (Nelson
    1991) errors, normal or Student-t, by maximum likelihood (docs/models.md).

See ``docs/plugins.md`` for adding a model.
"""

from __future__ import annotations

import numpy as np

from eventstudy.config import Conventions, ModelSpec, Windows
from eventstudy.errors import UnknownNameError
from eventstudy.estimation.models.base import (
    VOL_COLUMNS,
    Design,
    Fit,
    NormalReturnModel,
    Regressor,
)
from eventstudy.estimation.models.constant_mean import ConstantMean
from eventstudy.estimation.models.dimson import Dimson
from eventstudy.estimation.models.egarch import Egarch
from eventstudy.estimation.models.factor import Factor
from eventstudy.estimation.models.garch import Garch
from eventstudy.estimation.models.gjr_garch import GjrGarch
from eventstudy.estimation.models.market import Market
from eventstudy.estimation.models.market_adjusted import MarketAdjusted
from eventstudy.estimation.models.ols import LinearModel
from eventstudy.estimation.models.scholes_williams import ScholesWilliams

__all__ = [
    "MODELS",
    "Design",
    "Fit",
    "LinearModel",
    "NormalReturnModel",
    "Regressor",
    "VOL_COLUMNS",
    "estimate",
    "get_model",
    "leverage",
    "make_design",
    "predict",
    "slope_rows",
    "window_leverage",
]

MODELS: dict[str, NormalReturnModel] = {
    "constant_mean": ConstantMean(),
    "market_adjusted": MarketAdjusted(),
    "market": Market(),
    "scholes_williams": ScholesWilliams(),
    "dimson": Dimson(),
    "factor": Factor(),
    "garch": Garch(),
    "gjr_garch": GjrGarch(),
    "egarch": Egarch(),
}
"""The registry of normal-return models: name -> model (one line per model)."""


def get_model(name: str) -> NormalReturnModel:
    """The registered model called ``name``.

    Raises
    ------
    UnknownNameError
        ``name`` is not in :data:`MODELS`; the message lists the choices.

    Examples
    --------
    >>> get_model("market").fused_kernel
    True
    """
    model = MODELS.get(name) if isinstance(name, str) else None
    if model is None:
        raise UnknownNameError(f"unknown model {name!r}; choose one of "
                               f"{', '.join(MODELS)}")
    return model


def make_design(name: str, dimson_lags: int = 1, factors: tuple[str, ...] = (),
                market_factor: bool = True, spec: ModelSpec | None = None,
                windows: Windows | None = None) -> Design:
    """Build the :class:`Design` of a registered model by name.

    With ``spec`` or ``windows``, the model is first configured with the study's
    ``[model]`` options and windows (:meth:`NormalReturnModel.configure`).

    Examples
    --------
    >>> make_design("dimson", dimson_lags=1).regressors
    (('market', -1), ('market', 0), ('market', 1))
    """
    model = get_model(name)
    if spec is not None or windows is not None:
        model = model.configure(spec or ModelSpec(name=name), windows or Windows())
    return model.design(dimson_lags=dimson_lags, factors=tuple(factors),
                        market_factor=market_factor)


def estimate(design: Design, y: np.ndarray, X: np.ndarray, mask: np.ndarray,
             conventions: Conventions, X_window: np.ndarray | None = None,
             window_mask: np.ndarray | None = None) -> Fit:
    """Estimate ``design``'s model for all pairs at once (see the model's ``fit``).

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
        Regressors and their own availability mask over the estimation window, for
        ``market_moments = "window"``.

    Returns
    -------
    Fit
    """
    return design.model.fit(design, y, X, mask, conventions, X_window=X_window,
                            window_mask=window_mask)


def predict(design: Design, fit: Fit, X_event: np.ndarray) -> np.ndarray:
    """Normal returns over the event window, ``(P, W)``."""
    return design.model.predict(design, fit, X_event)


def slope_rows(design: Design, X_event: np.ndarray) -> np.ndarray:
    """The slope-regressor rows entering the prediction-error term, ``(P, W, k')``."""
    return design.model.slope_rows(design, X_event)


def leverage(design: Design, fit: Fit, rows: np.ndarray) -> np.ndarray:
    """x'(X'X)^-1 x for event-window rows ``(P, W, k')``: ``(P, W)``."""
    return design.model.leverage(design, fit, rows)


def window_leverage(design: Design, fit: Fit, rows: np.ndarray,
                    day_mask: np.ndarray) -> np.ndarray:
    """gamma'X*(X'X)^-1X*'gamma for a CAR over the days in ``day_mask``, ``(P,)``."""
    return design.model.window_leverage(design, fit, rows, day_mask)
