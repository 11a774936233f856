"""One contract suite for every registered normal-return model (``MODELS``).

Each model is fitted on the same synthetic panel, where every pair has its own
missing days, and checked against a ``statsmodels.OLS`` loop, pair by pair, to
1e-10: coefficients, sigma^2 under both degrees-of-freedom conventions, residuals,
normal returns, Var(AR_t) (the leverage from statsmodels' normalized covariance)
and Var(CAR) (the CLM 1997 sec. 4.4.3 window term). Linear models (those that
keep :meth:`LinearModel.fit`) share one reference; a model that fits in its own
way registers its reference in ``REFERENCES`` below, or the suite fails for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import statsmodels.api as sm

from eventstudy.config import Conventions
from eventstudy.estimation.models import (
    MODELS,
    Design,
    LinearModel,
    NormalReturnModel,
    estimate,
    leverage,
    make_design,
    predict,
    slope_rows,
    window_leverage,
)

TOL = 1e-10
TEXTBOOK = Conventions()
SAMPLE = Conventions(sigma_dof="sample")
P, L, W, K = 10, 140, 9, 2
FACTORS = ("smb", "hml")
CARS = ((0, 0), (2, 6), (0, W - 1))


@dataclass(frozen=True)
class Panel:
    """Stacked inputs as the pipeline gathers them, before any model is chosen."""

    y: np.ndarray        # (P, L) security returns over the estimation window
    y_evt: np.ndarray    # (P, W) over the event window
    m_est: np.ndarray    # (P, L + 2K) the benchmark, K extra days each side
    m_evt: np.ndarray    # (P, W + 2K)
    f_est: dict[str, np.ndarray]  # factor -> (P, L)
    f_evt: dict[str, np.ndarray]  # factor -> (P, W)


def _panel(seed: int = 7, missing: float = 0.07) -> Panel:
    rng = np.random.default_rng(seed)
    m_est = rng.normal(0.0004, 0.011, (P, L + 2 * K))
    m_evt = rng.normal(0.0004, 0.011, (P, W + 2 * K))
    f_est = {f: rng.normal(0.0, 0.006, (P, L)) for f in FACTORS}
    f_evt = {f: rng.normal(0.0, 0.006, (P, W)) for f in FACTORS}
    beta = rng.uniform(0.4, 1.6, (P, 1))
    y = (rng.normal(0.0, 0.0007, (P, 1)) + beta * m_est[:, K:K + L]
         + 0.2 * m_est[:, K - 1:K - 1 + L] + 0.1 * m_est[:, K + 1:K + 1 + L]
         + 0.4 * f_est["smb"] - 0.3 * f_est["hml"] + rng.normal(0, 0.015, (P, L)))
    y_evt = rng.normal(0.001, 0.015, (P, W)) + beta * m_evt[:, K:K + W]
    for a in (y, m_est, *f_est.values()):
        a[rng.random(a.shape) < missing] = np.nan
    return Panel(y, y_evt, m_est, m_evt, f_est, f_evt)


PANEL = _panel()


def _design(model: NormalReturnModel) -> Design:
    return model.design(dimson_lags=K, factors=FACTORS, market_factor=True)


def _gather(design: Design, p: Panel) -> tuple[np.ndarray, np.ndarray]:
    """``X (P, L, r)`` and ``X_event (P, W, r)`` for the design's regressors."""
    est, evt = [], []
    for src, lag in design.regressors:
        if src == "market":
            est.append(p.m_est[:, K + lag:K + lag + L])
            evt.append(p.m_evt[:, K + lag:K + lag + W])
        else:
            assert src.startswith("factor:") and lag == 0
            est.append(p.f_est[src.split(":", 1)[1]])
            evt.append(p.f_evt[src.split(":", 1)[1]])
    if not est:
        return np.zeros((P, L, 0)), np.zeros((P, W, 0))
    return np.stack(est, axis=-1), np.stack(evt, axis=-1)


@dataclass(frozen=True)
class Ref:
    """One pair's reference: what the model must reproduce."""

    params: np.ndarray
    nobs: float
    dof: float
    ssr: float
    resid: np.ndarray       # on the usable days
    normal: np.ndarray      # (W,)
    lev: np.ndarray         # (W,) x'(X'X)^-1 x
    xtx_inv: np.ndarray     # (X'X)^-1 of the prediction rows (with the 1)
    rows: np.ndarray        # (W, c) the prediction rows (with the 1)


def _ols(y: np.ndarray, X: np.ndarray, Xe: np.ndarray, ok: np.ndarray) -> Ref:
    """statsmodels OLS of y on (1, X) over ``ok``; predictions for (1, Xe)."""
    res = sm.OLS(y[ok], sm.add_constant(X[ok], has_constant="add")).fit()
    rows = sm.add_constant(Xe, has_constant="add")
    inv = res.normalized_cov_params
    return Ref(res.params, res.nobs, res.df_resid, res.ssr, res.resid,
               rows @ res.params, np.einsum("wk,kj,wj->w", rows, inv, rows), inv,
               rows)


def _ref_linear(p: int, y: np.ndarray, X: np.ndarray, Xe: np.ndarray,
                ok: np.ndarray) -> Ref:
    return _ols(y, X, Xe, ok)


def _ref_market_adjusted(p: int, y: np.ndarray, X: np.ndarray, Xe: np.ndarray,
                         ok: np.ndarray) -> Ref:
    """OLS of R - R_m on a constant gives the sample variance (df L - 1); the
    normal return is R_m itself and nothing is estimated (no leverage)."""
    res = sm.OLS(y[ok] - X[ok, 0], np.ones((int(ok.sum()), 1))).fit()
    return Ref(np.zeros(0), res.nobs, res.df_resid, res.ssr, y[ok] - X[ok, 0],
               Xe[:, 0], np.zeros(W), np.zeros((0, 0)), np.zeros((W, 0)))


def _ref_scholes_williams(p: int, y: np.ndarray, X: np.ndarray, Xe: np.ndarray,
                          ok: np.ndarray) -> Ref:
    """Three simple OLS slopes (lag, current, lead) and rho_m from an OLS of the
    centred current market on the centred lag, on the common sample."""
    b = [sm.OLS(y[ok], sm.add_constant(X[ok, j])).fit().params[1] for j in range(3)]
    m0, m1 = X[ok, 1], X[ok, 0]
    c0, c1 = m0 - m0.mean(), m1 - m1.mean()
    rho = float(c0 @ c1 / np.sqrt((c0 @ c0) * (c1 @ c1)))
    beta = sum(b) / (1 + 2 * rho)
    alpha = y[ok].mean() - beta * m0.mean()
    resid = y[ok] - alpha - beta * m0
    mm = _ols(y, X[:, 1:2], Xe[:, 1:2], ok)  # the (1, R_m) prediction-error term
    return Ref(np.array([alpha, beta]), float(ok.sum()), ok.sum() - 2.0,
               float(resid @ resid), resid, alpha + beta * Xe[:, 1], mm.lev,
               mm.xtx_inv, mm.rows)


Reference = Callable[[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray], Ref]
REFERENCES: dict[str, Reference] = {
    "market_adjusted": _ref_market_adjusted,
    "scholes_williams": _ref_scholes_williams,
}


def _reference(model: NormalReturnModel) -> Reference:
    if model.name in ("garch", "gjr_garch", "egarch"):
        pytest.skip("maximum likelihood, not OLS: checked against arch in "
                    "tests/estimation/test_garch.py")
    if model.name in REFERENCES:
        return REFERENCES[model.name]
    if isinstance(model, LinearModel) and type(model).fit is LinearModel.fit:
        return _ref_linear
    pytest.fail(f"model {model.name!r} fits in its own way: add its statsmodels "
                "reference to REFERENCES in tests/estimation/test_models_contract.py")


@pytest.fixture(params=sorted(MODELS), ids=str)
def model(request: pytest.FixtureRequest) -> NormalReturnModel:
    return MODELS[request.param]


def test_registry_entry_declares_the_protocol(model: NormalReturnModel) -> None:
    assert MODELS[model.name] is model
    assert isinstance(model, NormalReturnModel)
    assert model.description.strip()
    assert all(isinstance(getattr(model, a), bool)
               for a in ("excess", "fixed", "needs_factors", "fused_kernel"))
    d = make_design(model.name, dimson_lags=K, factors=FACTORS)
    assert d == _design(model) and d.model is model and d.name == model.name
    assert d.excess is model.excess
    for src, lag in d.regressors:
        assert src == "market" or src.startswith("factor:"), src
        assert isinstance(lag, int)


def test_fit_predict_and_variances_match_statsmodels(
        model: NormalReturnModel) -> None:
    d = _design(model)
    X, Xe = _gather(d, PANEL)
    y = PANEL.y
    wmask = np.isfinite(X).all(axis=-1)
    mask = np.isfinite(y) & wmask
    fit = estimate(d, y, X, mask, TEXTBOOK, X_window=X, window_mask=wmask)
    fit_s = estimate(d, y, X, mask, SAMPLE, X_window=X, window_mask=wmask)
    normal = predict(d, fit, Xe)
    rows = slope_rows(d, Xe)
    lev = leverage(d, fit, rows)
    var_fe = model.ar_variance(fit, lev, True)
    var_plain = model.ar_variance(fit, lev, False)
    assert normal.shape == lev.shape == var_fe.shape == (P, W)
    assert fit.k == d.k == len(fit.params[0])
    ref = _reference(model)
    nobs = set()
    for p in range(P):
        r = ref(p, y[p], X[p], Xe[p], mask[p])
        nobs.add(r.nobs)
        np.testing.assert_allclose(fit.params[p], r.params, rtol=0, atol=TOL)
        assert fit.nobs[p] == r.nobs and fit.dof[p] == r.dof
        np.testing.assert_allclose(fit.sigma2[p], r.ssr / r.dof, rtol=1e-10)
        np.testing.assert_allclose(fit_s.sigma2[p], r.ssr / (r.nobs - 1),
                                   rtol=1e-10)
        np.testing.assert_allclose(fit.resid[p][mask[p]], r.resid, rtol=0,
                                   atol=TOL)
        assert np.isnan(fit.resid[p][~mask[p]]).all()
        np.testing.assert_allclose(normal[p], r.normal, rtol=0, atol=TOL)
        np.testing.assert_allclose(lev[p], r.lev, rtol=0, atol=TOL)
        s2 = r.ssr / r.dof
        np.testing.assert_allclose(var_fe[p], s2 * (1 + r.lev), rtol=1e-10)
        np.testing.assert_allclose(var_plain[p], np.full(W, s2), rtol=1e-10)
        for a, b in CARS:
            days = np.zeros((P, W), dtype=bool)
            days[:, a:b + 1] = True
            wl = window_leverage(d, fit, rows, days)
            g = r.rows[a:b + 1].sum(axis=0)
            nd = np.full(P, b - a + 1.0)
            np.testing.assert_allclose(wl[p], g @ r.xtx_inv @ g, rtol=0, atol=TOL)
            np.testing.assert_allclose(model.car_variance(fit, nd, wl)[p],
                                       s2 * (nd[p] + g @ r.xtx_inv @ g),
                                       rtol=1e-10)
            np.testing.assert_allclose(model.car_variance(fit, nd, 0.0)[p],
                                       s2 * nd[p], rtol=1e-10)
    # every pair has its own missing days (otherwise the test proves less)
    assert len(nobs) > 3


def test_pairs_are_independent_and_deterministic(model: NormalReturnModel) -> None:
    """Fitting the pairs in reverse order reverses every output, bit for bit."""
    d = _design(model)
    X, Xe = _gather(d, PANEL)
    y = PANEL.y
    mask = np.isfinite(y) & np.isfinite(X).all(axis=-1)
    fit = estimate(d, y, X, mask, TEXTBOOK)
    rev = estimate(d, y[::-1].copy(), X[::-1].copy(), mask[::-1].copy(), TEXTBOOK)
    for name in ("params", "sigma2", "nobs", "dof", "resid", "r2"):
        np.testing.assert_array_equal(getattr(rev, name), getattr(fit, name)[::-1])
    np.testing.assert_array_equal(predict(d, rev, Xe[::-1].copy()),
                                  predict(d, fit, Xe)[::-1])


def test_reported_alpha_beta(model: NormalReturnModel) -> None:
    d = _design(model)
    X, _ = _gather(d, PANEL)
    mask = np.isfinite(PANEL.y) & np.isfinite(X).all(axis=-1)
    fit = estimate(d, PANEL.y, X, mask, TEXTBOOK)
    alpha, beta = model.reported(d, fit)
    assert alpha.shape == beta.shape == (P,)
    if model.fixed:
        assert (alpha == 0).all() and (beta == 1).all()
    else:
        np.testing.assert_array_equal(alpha, fit.params[:, 0])
        if fit.params.shape[1] == 1:
            assert np.isnan(beta).all()
