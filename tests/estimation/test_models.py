"""Batched normal-return models against independent references.

Every OLS model is checked pair by pair against ``statsmodels.OLS`` on the same
usable days (each pair has its own missing days), Scholes-Williams against a hand
computation of the formula in methodology.md (A.1), market-adjusted against the
sample variance of AR, and the prediction-error terms against statsmodels'
``get_prediction`` and the closed forms of CLM (1997, sec. 4.4).
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from eventstudy.config import Conventions
from eventstudy.estimation.models import (
    Design,
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


def _panel(P: int = 12, L: int = 150, W: int = 11, K: int = 1, n_factors: int = 0,
           seed: int = 0, missing: float = 0.08):
    """Stacked arrays as the engine builds them.

    Returns y (P, L), the market series with K extra days on each side (P, L + 2K)
    and the event-window market (P, W + 2K), factor series (P, L, F) and (P, W, F).
    Missing values are scattered independently per pair, so every pair has its own
    set of usable days.
    """
    rng = np.random.default_rng(seed)
    m_est = rng.normal(0.0004, 0.011, (P, L + 2 * K))
    m_evt = rng.normal(0.0004, 0.011, (P, W + 2 * K))
    f_est = rng.normal(0.0, 0.006, (P, L, n_factors))
    f_evt = rng.normal(0.0, 0.006, (P, W, n_factors))
    beta = rng.uniform(0.4, 1.6, (P, 1))
    gam = rng.normal(0.0, 0.5, (P, n_factors))
    y = (rng.normal(0.0, 0.0007, (P, 1)) + beta * m_est[:, K:L + K]
         + np.einsum("plf,pf->pl", f_est, gam) + rng.normal(0, 0.015, (P, L)))
    # lagged/lead market effects, so that Dimson/SW slopes are not all trivial
    if K:
        y += 0.2 * m_est[:, :L] + 0.1 * m_est[:, 2 * K:]
    for a in (y, m_est, f_est):
        holes = rng.random(a.shape) < missing
        a[holes] = np.nan
    return y, m_est, m_evt, f_est, f_evt


def _market_X(m: np.ndarray, lags: range, K: int, L: int) -> np.ndarray:
    """Regressor columns R_m,t+j for j in ``lags`` from a series padded by K."""
    return np.stack([m[:, K + j:K + j + L] for j in lags], axis=-1)


def _sm_fit(y: np.ndarray, X: np.ndarray):
    """statsmodels OLS of one pair on its complete cases (X without the constant)."""
    ok = np.isfinite(y) & np.isfinite(X).all(axis=1)
    return sm.OLS(y[ok], sm.add_constant(X[ok], has_constant="add")).fit(), ok


def _check_against_statsmodels(design: Design, y: np.ndarray, X: np.ndarray) -> None:
    mask = np.isfinite(y) & np.isfinite(X).all(axis=-1)
    fit = estimate(design, y, X, mask, TEXTBOOK)
    fit_s = estimate(design, y, X, mask, SAMPLE)
    assert fit.params.shape == (y.shape[0], X.shape[2] + 1)
    n_used = []
    for p in range(y.shape[0]):
        res, ok = _sm_fit(y[p], X[p])
        n_used.append(int(ok.sum()))
        np.testing.assert_allclose(fit.params[p], res.params, rtol=0, atol=TOL)
        # sigma: textbook df L - k, statsmodels' scale = SSR / df_resid
        assert fit.dof[p] == res.df_resid
        assert fit.nobs[p] == res.nobs
        np.testing.assert_allclose(np.sqrt(fit.sigma2[p]), np.sqrt(res.scale),
                                   rtol=0, atol=TOL)
        # sigma_dof = "sample": SSR / (L - 1)
        np.testing.assert_allclose(fit_s.sigma2[p], res.ssr / (res.nobs - 1),
                                   rtol=1e-12, atol=0)
        np.testing.assert_allclose(fit_s.params[p], res.params, rtol=0, atol=TOL)
        resid = fit.resid[p][ok]
        np.testing.assert_allclose(resid, res.resid, rtol=0, atol=TOL)
        assert np.isnan(fit.resid[p][~ok]).all()
        if X.shape[2] >= 1:
            np.testing.assert_allclose(fit.r2[p], res.rsquared, rtol=0, atol=TOL)
    # the missing days really differ per pair (otherwise the test proves less)
    assert len(set(n_used)) > 1


# ---------------------------------------------------------------- OLS models
def test_market_model_matches_statsmodels():
    y, m, *_ = _panel(K=0)
    X = _market_X(m, range(0, 1), 0, y.shape[1])
    _check_against_statsmodels(make_design("market"), y, X)


def test_constant_mean_matches_statsmodels():
    y, *_ = _panel(K=0)
    P, L = y.shape
    design = make_design("constant_mean")
    X = np.zeros((P, L, 0))
    mask = np.isfinite(y)
    fit = estimate(design, y, X, mask, TEXTBOOK)
    fit_s = estimate(design, y, X, mask, SAMPLE)
    for p in range(P):
        ok = mask[p]
        res = sm.OLS(y[p][ok], np.ones((ok.sum(), 1))).fit()
        np.testing.assert_allclose(fit.params[p], res.params, rtol=0, atol=TOL)
        # k = 1, so the textbook and sample conventions coincide: L - 1
        assert fit.dof[p] == res.df_resid == ok.sum() - 1
        np.testing.assert_allclose(fit.sigma2[p], res.scale, rtol=1e-12)
        np.testing.assert_allclose(fit_s.sigma2[p], res.scale, rtol=1e-12)
        np.testing.assert_allclose(fit.params[p, 0], np.nanmean(y[p]), atol=TOL)


@pytest.mark.parametrize("K", [1, 2])
def test_dimson_matches_statsmodels(K):
    y, m, *_ = _panel(K=K, seed=10 + K)
    design = make_design("dimson", dimson_lags=K)
    assert design.regressors == tuple(("market", j) for j in range(-K, K + 1))
    assert design.k == 2 * K + 2
    X = _market_X(m, range(-K, K + 1), K, y.shape[1])
    _check_against_statsmodels(design, y, X)


def test_factor_model_with_fx_factor_matches_statsmodels():
    """Two factors: the security's benchmark (market) and an FX return."""
    y, m, _, f, _ = _panel(K=0, n_factors=1, seed=21)
    design = make_design("factor", factors=("usdjpy",), market_factor=True)
    assert design.regressors == (("market", 0), ("factor:usdjpy", 0))
    assert design.excess and design.k == 3
    X = np.concatenate([_market_X(m, range(0, 1), 0, y.shape[1]), f], axis=-1)
    _check_against_statsmodels(design, y, X)


def test_factor_model_without_market_matches_statsmodels():
    y, _, _, f, _ = _panel(K=0, n_factors=2, seed=22)
    design = make_design("factor", factors=("smb", "fx"), market_factor=False)
    assert design.regressors == (("factor:smb", 0), ("factor:fx", 0))
    _check_against_statsmodels(design, y, f)


def test_singular_design_gives_nan_not_garbage():
    """A pair whose market return is constant has no slope: NaN, not a huge number."""
    y, m, *_ = _panel(P=3, K=0)
    X = _market_X(m, range(0, 1), 0, y.shape[1])
    X[1, :, 0] = 0.001
    mask = np.isfinite(y) & np.isfinite(X).all(axis=-1)
    fit = estimate(make_design("market"), y, X, mask, TEXTBOOK)
    assert np.isnan(fit.params[1, 1])
    assert np.isfinite(fit.params[[0, 2]]).all()


# ---------------------------------------------------------------- Scholes-Williams
def test_scholes_williams_matches_hand_computation():
    """methodology.md A.1: beta_SW = (b- + b0 + b+) / (1 + 2 rho_m),
    alpha_SW = mean(R) - beta_SW mean(R_m), all on the common sample where R,
    R_m,t-1, R_m,t and R_m,t+1 exist; sigma^2 = SSR / (L - 2) on that sample.
    rho_m is the first-order autocorrelation of R_m over the same sample, computed
    as the correlation of (R_m,t, R_m,t-1) on those days.
    """
    y, m, m_evt, *_ = _panel(K=1, seed=31)
    P, L = y.shape
    design = make_design("scholes_williams")
    X = _market_X(m, range(-1, 2), 1, L)
    mask = np.isfinite(y) & np.isfinite(X).all(axis=-1)
    fit = estimate(design, y, X, mask, TEXTBOOK)
    fit_s = estimate(design, y, X, mask, SAMPLE)
    W = m_evt.shape[1] - 2
    X_evt = _market_X(m_evt, range(-1, 2), 1, W)
    normal = predict(design, fit, X_evt)
    for p in range(P):
        ok = mask[p]
        r = y[p][ok]
        lag, cur, lead = X[p][ok].T

        def slope(x, yy):
            xc = x - x.mean()
            return float((xc * (yy - yy.mean())).sum() / (xc * xc).sum())

        b_minus, b_zero, b_plus = slope(lag, r), slope(cur, r), slope(lead, r)
        rho = float(np.corrcoef(cur, lag)[0, 1])
        beta = (b_minus + b_zero + b_plus) / (1 + 2 * rho)
        alpha = r.mean() - beta * cur.mean()
        e = r - alpha - beta * cur
        L_i = ok.sum()
        np.testing.assert_allclose(fit.params[p], [alpha, beta], rtol=0, atol=TOL)
        np.testing.assert_allclose(fit.sigma2[p], (e @ e) / (L_i - 2), rtol=1e-12)
        np.testing.assert_allclose(fit_s.sigma2[p], (e @ e) / (L_i - 1), rtol=1e-12)
        assert fit.nobs[p] == L_i and fit.dof[p] == L_i - 2
        # the AR uses only the contemporaneous market: R - alpha - beta R_m
        np.testing.assert_allclose(normal[p], alpha + beta * X_evt[p, :, 1],
                                   rtol=0, atol=TOL)
        # the prediction-error term uses the market model's formula with (1, R_m)
        smm = ((cur - cur.mean()) ** 2).sum()
        lev = leverage(design, fit, slope_rows(design, X_evt))[p]
        np.testing.assert_allclose(
            lev, 1 / L_i + (X_evt[p, :, 1] - cur.mean()) ** 2 / smm, rtol=1e-10)


# ---------------------------------------------------------------- market-adjusted
def test_market_adjusted_sigma_is_sample_variance_of_ar():
    y, m, m_evt, *_ = _panel(K=0, seed=41)
    P, L = y.shape
    design = make_design("market_adjusted")
    assert design.k == 0
    X = _market_X(m, range(0, 1), 0, L)
    mask = np.isfinite(y) & np.isfinite(X).all(axis=-1)
    for conv in (TEXTBOOK, SAMPLE):  # nothing is estimated: always ddof 1
        fit = estimate(design, y, X, mask, conv)
        for p in range(P):
            ar = (y[p] - X[p, :, 0])[mask[p]]
            np.testing.assert_allclose(fit.sigma2[p], np.var(ar, ddof=1), rtol=1e-12)
            assert fit.dof[p] == mask[p].sum() - 1
    X_evt = m_evt[:, :, None]
    np.testing.assert_array_equal(predict(design, fit, X_evt), m_evt)
    # C = 1: no estimation error
    assert (leverage(design, fit, slope_rows(design, X_evt)) == 0).all()
    day_mask = np.ones(m_evt.shape, dtype=bool)
    assert (window_leverage(design, fit, slope_rows(design, X_evt), day_mask)
            == 0).all()


# ---------------------------------------------------------------- prediction error
def _market_fit(seed: int = 51):
    y, m, m_evt, *_ = _panel(K=0, seed=seed)
    L = y.shape[1]
    design = make_design("market")
    X = _market_X(m, range(0, 1), 0, L)
    mask = np.isfinite(y) & np.isfinite(X).all(axis=-1)
    fit = estimate(design, y, X, mask, TEXTBOOK)
    return design, fit, y, X, mask, m_evt[:, :, None]


def test_prediction_error_factor_market_model():
    """C = 1 + 1/L + (Rm - mean Rm)^2 / Smm, with the firm's own usable days,
    equals statsmodels' se_obs^2 / sigma^2."""
    design, fit, y, X, mask, X_evt = _market_fit()
    C = 1.0 + leverage(design, fit, slope_rows(design, X_evt))
    for p in range(y.shape[0]):
        res, ok = _sm_fit(y[p], X[p])
        rm = X[p, ok, 0]
        L_i = ok.sum()
        smm = ((rm - rm.mean()) ** 2).sum()
        formula = 1 + 1 / L_i + (X_evt[p, :, 0] - rm.mean()) ** 2 / smm
        np.testing.assert_allclose(C[p], formula, rtol=1e-10)
        pred = res.get_prediction(sm.add_constant(X_evt[p], has_constant="add"))
        np.testing.assert_allclose(C[p], pred.se_obs**2 / res.scale, rtol=1e-10)


@pytest.mark.parametrize("days", [slice(None), slice(8, 11), slice(10, 11)])
def test_car_variance_market_model(days):
    """Var(CAR) = sigma^2 [L2 + L2^2/L + (sum (Rm - mean Rm))^2 / Smm] (CLM 4.4.3),
    which equals gamma' V gamma with V = sigma^2 (I + X* (X'X)^-1 X*')."""
    design, fit, y, X, mask, X_evt = _market_fit(seed=52)
    P, W, _ = X_evt.shape
    day_mask = np.zeros((P, W), dtype=bool)
    day_mask[:, days] = True
    wl = window_leverage(design, fit, slope_rows(design, X_evt), day_mask)
    for p in range(P):
        res, ok = _sm_fit(y[p], X[p])
        rm = X[p, ok, 0]
        L_i = ok.sum()
        smm = ((rm - rm.mean()) ** 2).sum()
        rm_w = X_evt[p, day_mask[p], 0]
        L2 = day_mask[p].sum()
        closed = res.scale * (L2 + L2**2 / L_i + ((rm_w - rm.mean()).sum()) ** 2 / smm)
        var_car = fit.sigma2[p] * (L2 + wl[p])
        np.testing.assert_allclose(var_car, closed, rtol=1e-10)
        Xs = sm.add_constant(rm_w[:, None], has_constant="add")
        V = res.scale * (np.eye(L2) + Xs @ res.normalized_cov_params @ Xs.T)
        np.testing.assert_allclose(var_car, V.sum(), rtol=1e-10)


@pytest.mark.parametrize("name,K,F", [("dimson", 1, 0), ("dimson", 2, 0),
                                      ("factor", 0, 1)])
def test_leverage_general_ols_matches_statsmodels(name, K, F):
    """x'(X'X)^-1 x for multi-regressor models, against get_prediction."""
    y, m, m_evt, f, f_evt = _panel(K=K, n_factors=F, seed=61 + K)
    L = y.shape[1]
    W = m_evt.shape[1] - 2 * K
    if name == "dimson":
        design = make_design("dimson", dimson_lags=K)
        X = _market_X(m, range(-K, K + 1), K, L)
        X_evt = _market_X(m_evt, range(-K, K + 1), K, W)
    else:
        design = make_design("factor", factors=("fx",))
        X = np.concatenate([m[:, :, None], f], axis=-1)
        X_evt = np.concatenate([m_evt[:, :, None], f_evt], axis=-1)
    mask = np.isfinite(y) & np.isfinite(X).all(axis=-1)
    fit = estimate(design, y, X, mask, TEXTBOOK)
    lev = leverage(design, fit, slope_rows(design, X_evt))
    normal = predict(design, fit, X_evt)
    day_mask = np.ones((y.shape[0], W), dtype=bool)
    wl = window_leverage(design, fit, slope_rows(design, X_evt), day_mask)
    for p in range(y.shape[0]):
        res, _ = _sm_fit(y[p], X[p])
        Xs = sm.add_constant(X_evt[p], has_constant="add")
        pred = res.get_prediction(Xs)
        np.testing.assert_allclose(normal[p], pred.predicted_mean, rtol=0, atol=TOL)
        np.testing.assert_allclose(1 + lev[p], pred.se_obs**2 / res.scale, rtol=1e-9)
        g = Xs.sum(axis=0)
        np.testing.assert_allclose(wl[p], g @ res.normalized_cov_params @ g,
                                   rtol=1e-9)


def test_sigma_dof_sample_vs_model():
    """sigma_dof = "sample" divides by L - 1, "model" by L - 2 (market model)."""
    design, fit, y, X, mask, _ = _market_fit(seed=71)
    fit_s = estimate(design, y, X, mask, SAMPLE)
    L = mask.sum(axis=1)
    np.testing.assert_allclose(fit_s.sigma2 / fit.sigma2, (L - 2) / (L - 1),
                               rtol=1e-12)
    np.testing.assert_array_equal(fit.dof, L - 2)
    np.testing.assert_array_equal(fit_s.dof, L - 2)  # dof is the model's L - k
    np.testing.assert_allclose(fit_s.params, fit.params, rtol=0, atol=0)


def test_market_moments_window_uses_all_window_days():
    """estudy2 convention: the market mean and Smm in C come from every estimation
    day where the market exists, not the firm's own complete cases."""
    design, _, y, X, mask, X_evt = _market_fit(seed=81)
    wmask = np.isfinite(X).all(axis=-1)
    conv = Conventions(market_moments="window")
    fit = estimate(design, y, X, mask, conv, X_window=X, window_mask=wmask)
    lev = leverage(design, fit, slope_rows(design, X_evt))
    for p in range(y.shape[0]):
        rm = X[p, wmask[p], 0]
        smm = ((rm - rm.mean()) ** 2).sum()
        expect = 1 / mask[p].sum() + (X_evt[p, :, 0] - rm.mean()) ** 2 / smm
        np.testing.assert_allclose(lev[p], expect, rtol=1e-10)


def test_unknown_model_name():
    from eventstudy.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="unknown model"):
        make_design("capm")
