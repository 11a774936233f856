"""GARCH(1,1) normal returns (Bollerslev 1986), and the base of the GARCH family.

Mean equation R_t = mu + b'x_t + e_t with x_t nothing (``mean = "constant"``), the
security's benchmark (``"market"``, the default) or the benchmark and user factors
on excess returns (``"factor"``); e_t = sqrt(h_t) z_t with z_t standard normal or
standardised Student-t (``distribution = "t"``). GARCH(1,1)::

    h_t = omega + alpha e_{t-1}^2 + beta h_{t-1},   omega > 0, alpha, beta >= 0,
                                                    alpha + beta < 1.

Every pair is fitted by maximum likelihood over its estimation window in one
compiled call (:func:`eventstudy.estimation.garch_kernels.fit_garch`; missing days
are dropped, as ``arch`` would on the compressed series).

Event window: the normal return is mu + b'x_t, AR_t = R_t - mu - b'x_t and its
variance is the conditional variance forecast from the last estimation day T,
E_T h_{T+s} (s = sessions after T), plus, with ``forecast_error = true``, the
mean-parameter term x_t' (sum_u x_u x_u' / h_u)^-1 x_t (x with its 1; the GLS
covariance of the mean coefficients given the variance path). Var(CAR) is the sum
of the day forecasts over the CAR's days plus g'(sum x x'/h)^-1 g with g the sum of
the days' rows. The forecast error of the variance parameters is not included.

``[model] nonconvergence``: a pair whose likelihood search did not converge is
excluded (``"exclude"``, with the reason in ``excluded.csv``) or estimated by OLS
with a constant variance (``"ols"``: exactly the constant-mean, market or factor
model), flagged by ``fallback_ols = 1`` in ``diagnostics.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from eventstudy.config import Conventions, ModelSpec, Windows
from eventstudy.errors import UnknownNameError
from eventstudy.estimation.models.base import VOL_COLUMNS, Design, Fit, Regressor
from eventstudy.estimation.models.ols import LinearModel, solve

MEANS = ("constant", "market", "factor")
"""Mean equations of the GARCH family."""

DISTRIBUTIONS = ("normal", "t")
"""Error distributions of the GARCH family."""

FALLBACKS = ("exclude", "ols")
"""What happens to a pair whose likelihood search does not converge."""


def _empty() -> np.ndarray:
    return np.zeros((0, 0))


@dataclass(frozen=True)
class GarchFit(Fit):
    """A :class:`Fit` with the variance forecasts and the GLS cross-products.

    Attributes
    ----------
    fore
        ``(P, W)`` conditional variance forecasts of the event days.
    gram_inv
        ``(P, k, k)`` (sum_t x_t x_t' / h_t)^-1 over the estimation window (x with
        its leading 1).
    """

    fore: np.ndarray = field(default_factory=_empty)
    gram_inv: np.ndarray = field(default_factory=_empty)


class Garch(LinearModel):
    """GARCH(1,1) by batched maximum likelihood; the subclasses change the
    variance equation only (:attr:`kind`)."""

    name = "garch"
    description = "GARCH(1,1) by maximum likelihood (Bollerslev 1986)"
    kind = 0
    """Variance-equation code of the compiled kernel."""

    def __init__(self, mean: str = "market", distribution: str = "normal",
                 nonconvergence: str = "exclude", gap: int = 1,
                 event_days: int = 21) -> None:
        if mean not in MEANS:
            raise UnknownNameError(f"[model] mean = {mean!r}: use one of "
                                   f"{', '.join(MEANS)}")
        if distribution not in DISTRIBUTIONS:
            raise UnknownNameError(f"[model] distribution = {distribution!r}: use "
                                   f"one of {', '.join(DISTRIBUTIONS)}")
        if nonconvergence not in FALLBACKS:
            raise UnknownNameError(f"[model] nonconvergence = {nonconvergence!r}: "
                                   f"use one of {', '.join(FALLBACKS)}")
        self.mean = mean
        self.distribution = distribution
        self.nonconvergence = nonconvergence
        self.gap = int(gap)
        self.event_days = int(event_days)
        self.excess = mean == "factor"
        self.needs_factors = mean == "factor"

    def __repr__(self) -> str:
        return (f"<normal-return model {self.name!r} mean={self.mean!r} "
                f"distribution={self.distribution!r}>")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(vars(self).items()))))

    def configure(self, spec: ModelSpec, windows: Windows) -> Garch:
        """A copy with the study's ``[model]`` options, the forecast gap (sessions
        from the estimation window's end to the event window's start) and the
        number of event days to forecast. The registry's instance has the defaults
        (market mean, normal errors, exclude, windows [-250, -11] and [-10, 10])."""
        return type(self)(mean=spec.mean, distribution=spec.distribution,
                          nonconvergence=spec.nonconvergence,
                          gap=windows.event[0] - windows.estimation[1],
                          event_days=windows.event_length)

    def design(self, *, dimson_lags: int = 1, factors: tuple[str, ...] = (),
               market_factor: bool = True) -> Design:
        """The mean equation's regressors."""
        regs: list[Regressor] = []
        if self.mean == "market" or (self.mean == "factor" and market_factor):
            regs.append(("market", 0))
        if self.mean == "factor":
            regs += [(f"factor:{f}", 0) for f in factors]
        return Design(self, tuple(regs))

    def fit(self, design: Design, y: np.ndarray, X: np.ndarray, mask: np.ndarray,
            conventions: Conventions, X_window: np.ndarray | None = None,
            window_mask: np.ndarray | None = None) -> Fit:
        """Maximum likelihood for all pairs at once (see the module docstring)."""
        from eventstudy.estimation.garch_kernels import fit_garch  # lazy: numba

        P, L = y.shape
        k = self.n_params(design)
        W = self.event_days
        last = np.where(mask.any(axis=1),
                        L - 1 - np.argmax(mask[:, ::-1], axis=1), L - 1)
        h0 = self.gap + (L - 1 - last)
        mean, vol, resid, fore, gram = fit_garch(
            np.where(mask, y, 0.0), np.where(mask[..., None], X, 0.0), mask,
            self.kind, self.distribution == "t", h0.astype(np.int64), W)
        ols = LinearModel.fit(self, design, y, X, mask, conventions)
        conv = vol[:, 6] == 1.0
        extra = np.full((P, len(VOL_COLUMNS)), np.nan)
        extra[:, :6] = vol[:, :6]
        extra[:, 6] = np.where(np.isfinite(vol[:, 5]), conv, 0.0)
        extra[:, 7] = 0.0
        params = mean
        resid_out = resid
        gram_inv = solve(gram, np.zeros((P, k)))[1]
        if self.nonconvergence == "ols":
            fb = ~conv
            extra[fb, 7] = 1.0
            params = np.where(fb[:, None], ols.params, params)
            resid_out = np.where(fb[:, None], ols.resid, resid_out)
            s2 = ols.sigma2
            fore = np.where(fb[:, None], s2[:, None], fore)
            X1 = np.concatenate([np.ones((P, L, 1)), X], axis=2)
            X1 = np.where(mask[..., None], X1, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                g_ols = np.einsum("plk,plj->pkj", X1, X1) / s2[:, None, None]
            gram_inv = np.where(fb[:, None, None],
                                solve(g_ols, np.zeros((P, k)))[1], gram_inv)
        # sigma^2: residual variance of the mean equation (L - k or L - 1)
        n = ols.nobs
        ssr = np.nansum(resid_out**2, axis=1)
        yc = np.where(mask, y - np.nanmean(np.where(mask, y, np.nan), axis=1,
                                           keepdims=True), 0.0) if L else y
        sst = (yc**2).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = n - 1 if conventions.sigma_dof == "sample" else n - k
            sigma2 = np.where(denom > 0, ssr / denom, np.nan)
            r2 = (np.where(sst > 0, 1 - ssr / sst, np.nan) if k > 1
                  else np.full(P, np.nan))
        bad = ~np.isfinite(params).all(axis=1)
        sigma2 = np.where(bad, np.nan, sigma2)
        return GarchFit(params=params, sigma2=sigma2, nobs=n, dof=n - k,
                        resid=resid_out, xbar=np.zeros((P, k - 1)),
                        s_inv=np.zeros((P, k - 1, k - 1)), r2=r2, k=k, extra=extra,
                        fore=fore, gram_inv=gram_inv)

    def slope_rows(self, design: Design, X_event: np.ndarray) -> np.ndarray:
        """The full mean-equation rows, the leading 1 included, ``(P, W, k)``."""
        P, W, _ = X_event.shape
        return np.concatenate([np.ones((P, W, 1)), X_event], axis=2)

    def leverage(self, design: Design, fit: Fit, rows: np.ndarray) -> np.ndarray:
        """x_t' (sum x x'/h)^-1 x_t for each event day."""
        assert isinstance(fit, GarchFit)
        out: np.ndarray = np.einsum("pwk,pkj,pwj->pw", rows, fit.gram_inv, rows)
        return out

    def window_leverage(self, design: Design, fit: Fit, rows: np.ndarray,
                        day_mask: np.ndarray) -> np.ndarray:
        """g' (sum x x'/h)^-1 g, g the sum of the rows over the CAR's days."""
        assert isinstance(fit, GarchFit)
        g = np.where(day_mask[..., None], rows, 0.0).sum(axis=1)
        out: np.ndarray = np.einsum("pk,pkj,pj->p", g, fit.gram_inv, g)
        return out

    def _forecasts(self, fit: GarchFit, W: int) -> np.ndarray:
        """The first ``W`` event days' forecasts (the model was configured for the
        study's event window)."""
        if W > fit.fore.shape[1]:
            raise UnknownNameError(
                f"the {self.name} model was set up for {fit.fore.shape[1]} event days "
                f"but the event window has {W}: build its design with "
                "make_design(..., spec=..., windows=...) for this study's windows")
        return fit.fore[:, :W]

    def ar_variance(self, fit: Fit, lev: np.ndarray,
                    forecast_error: bool) -> np.ndarray:
        """E_T h_t (+ the mean-parameter term)."""
        assert isinstance(fit, GarchFit)
        fore = self._forecasts(fit, lev.shape[1])
        out: np.ndarray = fore + lev if forecast_error else fore.copy()
        return out

    def car_variance(self, fit: Fit, days: np.ndarray, wlev: np.ndarray | float,
                     day_mask: np.ndarray | None = None) -> np.ndarray:
        """Sum of E_T h_t over the CAR's days (+ the mean-parameter term)."""
        assert isinstance(fit, GarchFit)
        if day_mask is None:
            raise UnknownNameError("the GARCH family's Var(CAR) needs the CAR's "
                                   "day mask")
        fore = self._forecasts(fit, day_mask.shape[1])
        out: np.ndarray = np.where(day_mask, fore, 0.0).sum(axis=1) + wlev
        return out
