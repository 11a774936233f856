"""Calendar-time portfolios (eventstudy.analysis.calendar_time; Jaffe 1974, Mandelker
1974, Fama 1998): membership checked by a plain loop, portfolio returns by a plain
loop, the alpha and its OLS and Newey-West errors against statsmodels and against
the Newey-West formula by hand (1e-10), size on null data within the binomial 99%
interval, the study-level function and the ``calendar-time`` command.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner
from scipy import stats

from eventstudy.analysis.calendar_time import (
    FACTOR_MODELS,
    alpha_regression,
    calendar_time,
    calendar_time_study,
    holdings,
    newey_west_lags,
    parse_horizon,
    period_returns,
    portfolio_returns,
)
from eventstudy.cli import cli
from eventstudy.config import load_study
from eventstudy.errors import InputError
from eventstudy.inputs.sources import french
from eventstudy.inputs.sources.french import BASE_URL, FrenchLibrary

DATA = Path(__file__).resolve().parents[1] / "data" / "french"


def fake_french(url: str) -> bytes:
    return (DATA / url[len(BASE_URL):]).read_bytes()


@pytest.fixture(scope="module")
def monthly_ff3(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("cache")
    return FrenchLibrary(root, fake_french).load("carhart", "monthly")


def _panel(seed: int = 7, n: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily prices of ``n`` securities (weekdays 2019-2024) and one or two events
    each, with a market-cap weight per event."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-01-01", "2024-12-31", name="date")
    r = rng.normal(0.0004, 0.015, (len(dates), n))
    prices = pd.DataFrame(50.0 * np.cumprod(1.0 + r, axis=0), index=dates,
                          columns=[f"S{i:02d}" for i in range(n)])
    prices.iloc[100:140, 3] = np.nan  # a gap: those months' returns are missing
    rows = []
    for i in range(n):
        for k in range(1 + i % 2):
            d0 = dates[int(rng.integers(150, len(dates) - 300))]
            rows.append({"ticker": f"S{i:02d}", "day0": d0,
                         "weight": float(rng.uniform(1, 100)), "k": k})
    return prices, pd.DataFrame(rows)


# ---------------------------------------------------------------- membership
def test_parse_horizon_and_lags() -> None:
    assert parse_horizon("12m") == (12, "m") and parse_horizon(" 250d ") == (250, "d")
    for bad in ("12", "0m", "12y", "m", "-3m"):
        with pytest.raises(InputError, match="e.g. 12m, 36m or 250d"):
            parse_horizon(bad)
    assert [newey_west_lags(t) for t in (36, 72, 120, 250)] == [3, 3, 4, 4]


@pytest.mark.parametrize(("frequency", "horizon"), [("monthly", "12m"),
                                                    ("monthly", "3m"),
                                                    ("daily", "2m"),
                                                    ("daily", "20d")])
def test_membership_equals_a_plain_loop(frequency: str, horizon: str) -> None:
    prices, pairs = _panel()
    rets = period_returns(prices, frequency)
    held = holdings(pairs, pd.DatetimeIndex(rets.index), parse_horizon(horizon),
                    frequency)
    n, unit = parse_horizon(horizon)
    dates = list(rets.index)
    expect = pd.DataFrame(np.nan, index=rets.index, columns=held.columns)
    for _, p in pairs.sort_values("day0", kind="stable").iterrows():
        d0 = p["day0"]
        for j, t in enumerate(dates):
            if frequency == "monthly":
                gap = (t.year - d0.year) * 12 + (t.month - d0.month)
                inside = 1 <= gap <= n
            elif unit == "m":
                inside = d0 < t <= d0 + pd.DateOffset(months=n)
            else:
                first = next(i for i, x in enumerate(dates) if x > d0)
                inside = first <= j < first + n
            if inside:
                expect.loc[t, p["ticker"]] = p["weight"]
    pd.testing.assert_frame_equal(held, expect, check_freq=False)
    assert held.notna().sum().sum() > 0


def test_monthly_horizon_must_be_in_months() -> None:
    prices, pairs = _panel()
    with pytest.raises(InputError, match="monthly portfolios take a horizon in "
                                         "months"):
        holdings(pairs, pd.DatetimeIndex(prices.index[:5]), (20, "d"), "monthly")


@pytest.mark.parametrize("weights", ["equal", "value"])
def test_portfolio_returns_equal_a_plain_loop(weights: str) -> None:
    prices, pairs = _panel()
    if weights == "equal":
        pairs["weight"] = 1.0
    rets = period_returns(prices, "monthly")
    held = holdings(pairs, pd.DatetimeIndex(rets.index), (12, "m"), "monthly")
    got = portfolio_returns(rets, held)
    rows = {}
    for t in rets.index:
        num = den = 0.0
        count = 0
        for c in rets.columns:
            w, r = held.loc[t, c], rets.loc[t, c]
            if np.isfinite(w) and np.isfinite(r):
                num += w * r
                den += w
                count += 1
        if count:
            rows[t] = (num / den, count)
    assert list(got.index) == list(rows)
    np.testing.assert_allclose(got["ret"].to_numpy(),
                               [v[0] for v in rows.values()], rtol=0, atol=1e-15)
    assert got["members"].tolist() == [v[1] for v in rows.values()]


def test_monthly_returns_use_the_last_price_of_each_month() -> None:
    idx = pd.to_datetime(["2024-01-30", "2024-01-31", "2024-02-15", "2024-02-28",
                          "2024-03-29"])
    p = pd.DataFrame({"A": [9.0, 10.0, 11.0, 12.0, 9.0]}, index=idx)
    got = period_returns(p, "monthly")
    assert list(got.index) == list(pd.to_datetime(["2024-02-29", "2024-03-31"]))
    assert got["A"].tolist() == [12.0 / 10.0 - 1.0, 9.0 / 12.0 - 1.0]


# ---------------------------------------------------------------- alpha
def _newey_west_by_hand(X: np.ndarray, e: np.ndarray, L: int) -> np.ndarray:
    """V = (X'X)^-1 S (X'X)^-1, S = sum_t e_t^2 x_t x_t' + sum_l (1 - l/(L+1))
    sum_t e_t e_{t-l} (x_t x_{t-l}' + x_{t-l} x_t') (Newey & West 1987)."""
    T, K = X.shape
    S = np.zeros((K, K))
    for t in range(T):
        S += e[t] ** 2 * np.outer(X[t], X[t])
    for lag in range(1, L + 1):
        w = 1.0 - lag / (L + 1.0)
        for t in range(lag, T):
            G = e[t] * e[t - lag] * np.outer(X[t], X[t - lag])
            S += w * (G + G.T)
    B = np.linalg.inv(X.T @ X)
    return np.asarray(B @ S @ B)


@pytest.mark.parametrize(("model", "weights"), [("ff3", "equal"), ("ff3", "value"),
                                                ("carhart", "equal"),
                                                ("market", "value")])
def test_alpha_equals_statsmodels_on_the_same_series(
        monthly_ff3: pd.DataFrame, model: str, weights: str) -> None:
    prices, pairs = _panel()
    rets = period_returns(prices, "monthly")
    res = calendar_time(rets, pairs, monthly_ff3, horizon="12m", frequency="monthly",
                        weights=weights, model=model)
    s = res.series
    cols = list(FACTOR_MODELS[model])
    assert list(s.columns) == ["ret", "excess", "members", *cols, "rf"]
    # the series is the portfolio of the loop above, minus the month's RF
    held = holdings(pairs.assign(weight=1.0) if weights == "equal" else pairs,
                    pd.DatetimeIndex(rets.index), (12, "m"), "monthly")
    port = portfolio_returns(rets, held)
    np.testing.assert_array_equal(s["ret"].to_numpy(),
                                  port.loc[s.index, "ret"].to_numpy())
    np.testing.assert_array_equal(
        s["rf"].to_numpy(), monthly_ff3.loc[s.index, "RF"].to_numpy())
    X = sm.add_constant(s[cols].to_numpy())
    y = (s["ret"] - s["rf"]).to_numpy()
    L = newey_west_lags(len(s))
    ols = sm.OLS(y, X).fit()
    nw = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": L})
    t = res.table
    assert t["term"].tolist() == ["alpha", *cols]
    for got, want in ((t["estimate"], ols.params), (t["std_error"], ols.bse),
                      (t["t"], ols.tvalues), (t["p_value"], ols.pvalues),
                      (t["nw_std_error"], nw.bse), (t["nw_t"], nw.tvalues),
                      (t["nw_p_value"], nw.pvalues)):
        np.testing.assert_allclose(got.to_numpy(), want, rtol=0, atol=1e-10)
    # the alpha by the normal equations and the Newey-West error by the formula
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    assert abs(t["estimate"].iloc[0] - beta[0]) < 1e-10
    V = _newey_west_by_hand(X, y - X @ beta, L)
    np.testing.assert_allclose(t["nw_std_error"].to_numpy(), np.sqrt(np.diag(V)),
                               rtol=1e-10, atol=0)
    assert t["periods"].iloc[0] == len(s) == 56 and t["nw_lags"].iloc[0] == 3
    assert (t["model"] == model).all() and (t["weights"] == weights).all()


def test_alpha_regression_checks_its_sample() -> None:
    f = pd.DataFrame({"A": [1.0, 2.0, 3.0], "B": [1.0, 0.0, 2.0]})
    with pytest.raises(InputError, match="has 3 period.s. for 3 coefficients"):
        alpha_regression(pd.Series([0.1, 0.2, 0.3]), f)
    f = pd.DataFrame({"A": np.arange(10.0)})
    with pytest.raises(InputError, match="Newey-West lags = 10: use 0 to 9"):
        alpha_regression(pd.Series(np.arange(10.0) ** 2), f, lags=10)


def test_calendar_time_input_errors(monthly_ff3: pd.DataFrame) -> None:
    prices, pairs = _panel()
    rets = period_returns(prices, "monthly")
    with pytest.raises(InputError, match="factor model 'ff4'"):
        calendar_time(rets, pairs, monthly_ff3, model="ff4")
    with pytest.raises(InputError, match="lacks RMW, CMA"):
        calendar_time(rets, pairs, monthly_ff3, model="ff5")
    with pytest.raises(InputError, match="value weights need a weight"):
        calendar_time(rets, pairs.drop(columns="weight"), monthly_ff3,
                      weights="value")
    late = pairs.assign(day0=pd.Timestamp("2030-01-02"))
    with pytest.raises(InputError, match="no period has both"):
        calendar_time(rets, late, monthly_ff3)


def test_size_on_null_data_is_within_the_binomial_interval() -> None:
    """Zero alpha, iid errors: the 5% OLS and Newey-West tests reject within the
    binomial 99% interval of 400 draws (T = 240 months)."""
    rng = np.random.default_rng(11)
    reps, T = 400, 240
    rej_ols = rej_nw = 0
    for _ in range(reps):
        F = pd.DataFrame(rng.normal(0.005, 0.04, (T, 3)), columns=["a", "b", "c"])
        y = pd.Series(F.to_numpy() @ np.array([1.0, 0.3, -0.2])
                      + rng.normal(0.0, 0.03, T))
        t = alpha_regression(y, F)
        rej_ols += bool(t["p_value"].iloc[0] < 0.05)
        rej_nw += bool(t["nw_p_value"].iloc[0] < 0.05)
    lo, hi = stats.binom.ppf([0.005, 0.995], reps, 0.05)
    assert lo <= rej_ols <= hi, rej_ols
    assert lo <= rej_nw <= hi, rej_nw


# ---------------------------------------------------------------- study and CLI
def test_study_daily_portfolio_and_the_command(mini_study, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    ms = mini_study
    ms.study.write_text(ms.study.read_text(encoding="utf-8").replace(
        'name = "market"', 'name = "market"\nfactors = "ff3"'), encoding="utf-8")
    cache = tmp_path / "cache"
    monkeypatch.setattr(french, "http_get", fake_french)
    st = load_study(ms.study)
    res = calendar_time_study(st, horizon="40d", frequency="daily", prices=ms.prices,
                              cache_dir=cache, today=pd.Timestamp("2025-01-31"))
    s = res.series
    # E1 (2024-09-16) and E2 (2024-10-15), two securities each: 40 sessions after
    # day 0, overlapping from 2024-10-16 to 2024-11-12
    assert s.index[0] == pd.Timestamp("2024-09-17")
    assert s["members"].max() == 2 and s["members"].min() == 2
    assert len(s) == 40 + 21  # E2's window ends 21 sessions after E1's
    X = sm.add_constant(s[["Mkt-RF", "SMB", "HML"]].to_numpy())
    ols = sm.OLS((s["ret"] - s["rf"]).to_numpy(), X).fit()
    assert abs(res.table["estimate"].iloc[0] - ols.params[0]) < 1e-10
    # the command, offline on the cached daily factors
    out, series = tmp_path / "alpha.csv", tmp_path / "series.csv"
    monkeypatch.setattr(french, "http_get", None)
    r = CliRunner().invoke(cli, ["calendar-time", str(ms.study), "--horizon", "40d",
                                 "--frequency", "daily", "--prices", str(ms.prices),
                                 "--cache-dir", str(cache), "--offline",
                                 "--out", str(out), "--series", str(series)])
    assert r.exit_code == 0, r.output
    assert "ff3 equal-weighted daily portfolio, horizon 40d: 61 periods" in r.output
    table = pd.read_csv(out)
    assert table["term"].tolist() == ["alpha", "Mkt-RF", "SMB", "HML"]
    assert abs(table["estimate"].iloc[0] - ols.params[0]) < 1e-10
    assert len(pd.read_csv(series)) == 61
    # monthly needs the monthly files, which are not cached: exit 2, no traceback
    r = CliRunner().invoke(cli, ["calendar-time", str(ms.study), "--prices",
                                 str(ms.prices), "--cache-dir", str(cache),
                                 "--offline"])
    assert r.exit_code == 2
    assert "F-F_Research_Data_Factors is not in the cache" in r.output
    assert "Traceback" not in r.output
