"""The engine end to end on synthetic data with known abnormal returns.

Synthetic panels (conftest.make_panel): weekday dates (the FX calendar's sessions),
a market ``MKT`` and securities ``S00``... following a market model, one event per
security, with ``planted`` added to the day-0 return.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import SyntheticPanel, make_panel

from eventstudy.config import Conventions, Windows
from eventstudy.errors import InputError, UnknownNameError, WindowError
from eventstudy.study import EventStudy

SHORT = Windows(estimation=(-250, -11), event=(-5, 5), car=((0, 0), (-1, 1)),
                min_estimation_obs=120)


def _study(panel: SyntheticPanel, events: pd.DataFrame | None = None,
           data: pd.DataFrame | None = None, **kw) -> EventStudy:
    kw.setdefault("kind", "returns")
    return EventStudy(panel.returns if data is None else data,
                      panel.events if events is None else events,
                      calendar="FX", benchmark="MKT", **kw)


def _sel(tests: pd.DataFrame, scope: str = "all", start: int = 0, end: int = 0,
         test: str | None = None) -> pd.DataFrame:
    t = tests[(tests["scope"] == scope) & (tests["window_start"] == start)
              & (tests["window_end"] == end)]
    return t if test is None else t[t["test"] == test]


# ---------------------------------------------------------------- planted ARs
@pytest.fixture(scope="module")
def planted_results(planted_panel):
    return _study(planted_panel).fit(tests=("csect_t", "patell", "bmp"))


def test_planted_abnormal_returns_are_recovered(planted_results, planted_panel):
    res = planted_results
    assert res.n_pairs == 30 and res.excluded.empty
    car = res.car
    c00 = car[(car["window_start"] == 0) & (car["window_end"] == 0)]
    assert len(c00) == 30
    # sigma = 1.5%, N = 30: the mean has a standard error of about 0.3%
    assert c00["car"].mean() == pytest.approx(planted_panel.planted, abs=0.01)
    ar = res.abnormal_returns
    day0 = ar[ar["rel_day"] == 0]
    assert (day0["date"] == day0["day0"]).all()
    assert day0["abnormal_return"].mean() == pytest.approx(0.05, abs=0.01)
    others = ar[ar["rel_day"] != 0]["abnormal_return"]
    assert abs(others.mean()) < 0.003
    t = _sel(res.tests)
    for name in ("csect_t", "patell", "bmp"):
        row = t[t["test"] == name]
        assert len(row) >= 1
        assert (row["p_value"] < 1e-6).all(), name
        assert (row["statistic"] > 0).all()
        assert (row["n"] == 30).all()


def test_planted_estimates_are_close_to_truth(planted_results, planted_panel):
    d = planted_results.diagnostics
    beta_true = d["ticker"].map(planted_panel.beta)
    assert np.abs(d["beta"] - beta_true).max() < 0.35
    assert d["sigma"].between(0.012, 0.018).all()
    assert (d["n_est"] == 240).all()
    assert (d["confounded_by"] == "").all()


def test_null_is_not_systematically_significant(null_panel):
    res = _study(null_panel).fit(tests=("csect_t", "patell", "bmp"))
    t = res.tests
    days = t[(t["scope"] == "all") & (t["window_start"] == t["window_end"])]
    day0 = _sel(t)
    assert (day0["p_value"] > 0.05).all()
    # 21 single days x 3 tests: about 5% should reject at 5%; allow noise
    rate = (days["p_value"] < 0.05).mean()
    assert rate < 0.2, rate
    c00 = res.car[(res.car["window_start"] == 0) & (res.car["window_end"] == 0)]
    assert abs(c00["car"].mean()) < 0.01


def test_prices_and_returns_give_the_same_ars(planted_panel):
    r_ret = _study(planted_panel, windows=SHORT).fit(tests=("csect_t",))
    r_px = _study(planted_panel, data=planted_panel.prices(), kind="prices",
                  windows=SHORT).fit(tests=("csect_t",))
    a, b = r_ret.abnormal_returns, r_px.abnormal_returns
    pd.testing.assert_frame_equal(a.drop(columns=["return", "normal_return",
                                                  "abnormal_return", "sar"]),
                                  b.drop(columns=["return", "normal_return",
                                                  "abnormal_return", "sar"]))
    np.testing.assert_allclose(a["abnormal_return"], b["abnormal_return"],
                               rtol=0, atol=1e-10)


def test_engine_estimates_match_a_statsmodels_loop(planted_panel):
    """alpha, beta, sigma and Var(CAR) per pair, from the engine's own windows."""
    res = _study(planted_panel, windows=SHORT).fit(tests=("csect_t",))
    d = res.diagnostics.set_index("event_id")
    car = res.car
    r = planted_panel.returns
    for eid in ("ev00", "ev07", "ev29"):
        pos = planted_panel.day0_pos[eid]
        tk = d.loc[eid, "ticker"]
        est = r.iloc[pos - 250:pos - 10]  # rel days -250..-11
        fit = sm.OLS(est[tk].to_numpy(),
                     sm.add_constant(est["MKT"].to_numpy())).fit()
        assert d.loc[eid, "alpha"] == pytest.approx(fit.params[0], abs=1e-12)
        assert d.loc[eid, "beta"] == pytest.approx(fit.params[1], abs=1e-12)
        assert d.loc[eid, "sigma"] == pytest.approx(np.sqrt(fit.scale), abs=1e-12)
        assert d.loc[eid, "r2"] == pytest.approx(fit.rsquared, abs=1e-12)
        # Var(CAR[-1, 1]) = sigma^2 [L2 + L2^2/L + (sum (Rm - mean Rm))^2 / Smm]
        rm = est["MKT"].to_numpy()
        w = r["MKT"].iloc[pos - 1:pos + 2].to_numpy()
        closed = fit.scale * (3 + 9 / 240 + ((w - rm.mean()).sum()) ** 2
                              / ((rm - rm.mean()) ** 2).sum())
        row = car[(car["event_id"] == eid) & (car["window_start"] == -1)]
        assert row["car_se"].iloc[0] ** 2 == pytest.approx(closed, rel=1e-10)
        ar = r[tk].iloc[pos - 1:pos + 2] - fit.params[0] - fit.params[1] * w
        assert row["car"].iloc[0] == pytest.approx(ar.sum(), abs=1e-12)


# ---------------------------------------------------------------- exclusions
def test_exclusions_are_listed_with_reasons_and_the_run_goes_on():
    p = make_panel(n_pairs=6, planted=0.05, seed=4)
    data = p.returns.copy()
    ev = p.events.copy()
    ev["benchmark"] = "MKT"
    # S00: only 50 usable estimation returns
    pos0 = p.day0_pos["ev00"]
    data.iloc[pos0 - 250:pos0 - 60, data.columns.get_loc("S00")] = np.nan
    # ev01: a ticker that is not in the data
    ev.loc[1, "ticker"] = "ZZZ"
    # ev02: a benchmark that is not in the data
    ev.loc[2, "benchmark"] = "NOPE"
    # ev03: announced after the last price
    ev.loc[3, "timestamp"] = (data.index[-1] + pd.Timedelta(days=40)).strftime(
        "%Y-%m-%d")
    # ev04: announced before the first price
    ev.loc[4, "timestamp"] = "2021-06-01"
    res = _study(p, events=ev, data=data).fit(tests=("csect_t", "bmp"))
    ex = res.excluded
    assert list(ex.columns) == ["event_id", "ticker", "reason"]
    reasons = dict(zip(ex["event_id"], ex["reason"], strict=True))
    assert reasons["ev00"] == "only 50 estimation returns (minimum 120)"
    assert reasons["ev01"] == "ticker has no prices"
    assert reasons["ev02"] == "benchmark has no prices"
    assert reasons["ev03"] == "event after the last price"
    assert "ev04" in reasons and reasons["ev04"]
    assert set(reasons) == {"ev00", "ev01", "ev02", "ev03", "ev04"}
    # the remaining pair is estimated and tested
    assert list(res.diagnostics["event_id"]) == ["ev05"]
    assert set(res.abnormal_returns["event_id"]) == {"ev05"}
    assert (_sel(res.tests)["n"] == 1).all()


def test_missing_session_is_nan_and_the_grid_stays_intact(planted_panel):
    """A session without a price: NaN return that day and the next (never
    forward-filled), and the rel_day grid keeps every session."""
    prices = planted_panel.prices()
    pos = planted_panel.day0_pos["ev01"]
    prices.iloc[pos + 2, prices.columns.get_loc("S01")] = np.nan
    # a date missing for every ticker (dropped from the frame altogether)
    pos5 = planted_panel.day0_pos["ev05"]
    gone = prices.index[pos5 - 3]
    prices = prices.drop(index=gone)
    res = _study(planted_panel, data=prices, kind="prices",
                 windows=SHORT).fit(tests=("csect_t",))
    ar = res.abnormal_returns
    dates = planted_panel.returns.index
    for eid in ("ev01", "ev05"):
        rows = ar[ar["event_id"] == eid].reset_index(drop=True)
        pos_e = planted_panel.day0_pos[eid]
        assert list(rows["rel_day"]) == list(range(-5, 6))
        assert list(rows["date"]) == list(dates[pos_e - 5:pos_e + 6])
    one = ar[ar["event_id"] == "ev01"].set_index("rel_day")
    assert one.loc[[2, 3], ["return", "abnormal_return"]].isna().all().all()
    assert one.drop(index=[2, 3])["abnormal_return"].notna().all()
    # not forward-filled: day 3's return would be finite if day 2's price were filled
    five = ar[ar["event_id"] == "ev05"].set_index("rel_day")
    assert five.loc[-3, "date"] == gone
    assert five.loc[[-3, -2], "abnormal_return"].isna().all()
    assert five.drop(index=[-3, -2])["abnormal_return"].notna().all()
    car = res.car.set_index(["event_id", "window_start"])
    assert car.loc[("ev01", -1), "n_days"] == 3
    assert car.loc[("ev05", -1), "n_days"] == 3


def test_prices_off_the_calendar_are_reported_not_used(planted_panel):
    prices = planted_panel.prices()
    extra = pd.DataFrame({c: [1.0] for c in prices.columns},
                         index=pd.DatetimeIndex(["2023-03-04"], name="date"))  # Sat
    prices = pd.concat([prices, extra]).sort_index()
    res = _study(planted_panel, data=prices, kind="prices",
                 windows=SHORT).fit(tests=("csect_t",))
    assert any("not" in w and "S00" in w for w in res.data_warnings)
    base = _study(planted_panel, data=planted_panel.prices(), kind="prices",
                  windows=SHORT).fit(tests=("csect_t",))
    np.testing.assert_array_equal(res.ar, base.ar)


# ---------------------------------------------------------------- confounding
def _confounded_events(p: SyntheticPanel) -> pd.DataFrame:
    d = p.returns.index
    pos = p.day0_pos["ev00"]
    extra = pd.DataFrame([
        # same security, 3 sessions later: inside the -5..5 event window
        {"event_id": "dup_near", "timestamp": d[pos + 3].strftime("%Y-%m-%d"),
         "ticker": "S00"},
        # same security, 30 sessions later: outside the window
        {"event_id": "dup_far", "timestamp": d[pos + 30].strftime("%Y-%m-%d"),
         "ticker": "S00"},
        # another security on the same day: not a confounder
        # (S10's own event is 50 sessions later)
        {"event_id": "other_same_day", "timestamp": d[pos].strftime("%Y-%m-%d"),
         "ticker": "S10"},
    ])
    return pd.concat([p.events, extra], ignore_index=True)


def test_confounding_is_flagged(planted_panel):
    ev = _confounded_events(planted_panel)
    res = _study(planted_panel, events=ev, windows=SHORT).fit(tests=("csect_t",))
    d = res.diagnostics.set_index("event_id")["confounded_by"]
    assert d["ev00"] == "dup_near"
    assert d["dup_near"] == "ev00"
    assert d["dup_far"] == ""
    assert d["other_same_day"] == "" and d["ev10"] == ""
    assert res.excluded.empty


def test_confounding_exclude(planted_panel):
    ev = _confounded_events(planted_panel)
    res = _study(planted_panel, events=ev, windows=SHORT,
                 confounding="exclude").fit(tests=("csect_t",))
    ex = res.excluded.set_index("event_id")["reason"]
    assert set(ex.index) == {"ev00", "dup_near"}
    assert "confounded" in ex["ev00"] and "dup_near" in ex["ev00"]
    assert "ev00" in ex["dup_near"]
    assert {"dup_far", "other_same_day"} <= set(res.diagnostics["event_id"])
    assert "ev00" not in set(res.abnormal_returns["event_id"])


# ---------------------------------------------------------------- fit semantics
def _snapshot(obj: EventStudy) -> dict:
    return copy.deepcopy(vars(obj))


def _same(a: object, b: object) -> bool:
    if isinstance(a, pd.DataFrame | pd.Series):
        return a.equals(b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_fit_twice_gives_independent_results_and_leaves_the_model(planted_panel):
    es = _study(planted_panel, windows=SHORT)
    before = _snapshot(es)
    r1 = es.fit(tests=("csect_t",))
    r2 = es.fit(tests=("patell", "bmp"), conventions=Conventions(sigma_dof="sample"))
    after = vars(es)
    assert before.keys() == after.keys()
    for k in before:
        assert _same(before[k], after[k]), k
    assert r1 is not r2
    # (plus the per-series test's rows of the one-pair scopes, always run)
    assert set(r1.tests["test"]) - {"series_t"} == {"csect_t"}
    assert set(r2.tests["test"]) - {"series_t"} == {"patell", "bmp"}
    assert (r1.tests.loc[r1.tests["test"] == "series_t", "n"] == 1).all()
    assert r1.test_names == ("csect_t",)
    assert r1.conventions.sigma_dof == "model" and r2.conventions.sigma_dof == "sample"
    np.testing.assert_array_equal(r1.ar, r2.ar)
    assert not np.shares_memory(r1.ar, r2.ar)
    L = r1.nobs
    np.testing.assert_allclose(r2.sigma2 / r1.sigma2, (L - 2) / (L - 1), rtol=1e-12)
    # a third fit equal to the first gives equal tables
    r3 = es.fit(tests=("csect_t",))
    pd.testing.assert_frame_equal(r1.tests, r3.tests)
    pd.testing.assert_frame_equal(r1.car, r3.car)


def test_results_are_read_only(planted_panel):
    res = _study(planted_panel, windows=SHORT).fit(tests=("csect_t",))
    arrays = [f.name for f in dataclasses.fields(res)
              if isinstance(getattr(res, f.name), np.ndarray)]
    assert {"ar", "sar", "car_arr", "car_var", "alpha", "beta", "sigma2"} <= set(arrays)
    for name in arrays:
        a = getattr(res, name)
        assert not a.flags.writeable, name
        with pytest.raises(ValueError):
            a[...] = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.ar = np.zeros(1)  # type: ignore[misc]
    # tables are copies: changing one does not change the results
    t = res.abnormal_returns
    t["abnormal_return"] = 0.0
    assert (res.abnormal_returns["abnormal_return"] != 0).any()


# ---------------------------------------------------------------- models, end to end
@pytest.mark.parametrize("model", ["constant_mean", "market_adjusted", "market",
                                   "scholes_williams", "dimson"])
def test_every_model_runs_and_finds_the_planted_ar(planted_panel, model):
    res = _study(planted_panel, windows=SHORT, model=model).fit(tests=("bmp",))
    c00 = res.car[(res.car["window_start"] == 0) & (res.car["window_end"] == 0)]
    # constant-mean ignores the market (sd of AR is larger): looser tolerance
    tol = 0.02 if model == "constant_mean" else 0.01
    assert c00["car"].mean() == pytest.approx(0.05, abs=tol)
    assert (_sel(res.tests)["p_value"] < 1e-3).all()
    assert (res.diagnostics["model"] == model).all()


def test_factor_model_through_the_engine(planted_panel):
    """Market + an FX factor with a risk-free column:
    R - Rf = a + b (R_m - Rf) + c FX + e, AR = (R - Rf) - (a + b (R_m - Rf) + c FX)."""
    rng = np.random.default_rng(9)
    idx = planted_panel.returns.index
    factors = pd.DataFrame({"fx": rng.normal(0, 0.005, len(idx)),
                            "rf": np.full(len(idx), 0.0001)}, index=idx)
    from eventstudy.config import ModelSpec

    spec = ModelSpec(name="factor", factor_columns=("fx",), rf_column="rf")
    res = _study(planted_panel, windows=SHORT, model=spec,
                 factors=factors).fit(tests=("csect_t",))
    d = res.diagnostics.set_index("event_id")
    r = planted_panel.returns
    pos = planted_panel.day0_pos["ev03"]
    est = r.iloc[pos - 250:pos - 10]
    f = factors.iloc[pos - 250:pos - 10]
    X = sm.add_constant(np.column_stack([est["MKT"] - f["rf"], f["fx"]]))
    fit = sm.OLS(est["S03"].to_numpy() - f["rf"].to_numpy(), X).fit()
    assert d.loc["ev03", "alpha"] == pytest.approx(fit.params[0], abs=1e-12)
    assert d.loc["ev03", "beta"] == pytest.approx(fit.params[1], abs=1e-12)
    assert d.loc["ev03", "sigma"] == pytest.approx(np.sqrt(fit.scale), abs=1e-12)
    ar = res.abnormal_returns
    a0 = ar[(ar["event_id"] == "ev03") & (ar["rel_day"] == 0)]["abnormal_return"]
    x0 = np.array([1.0, r["MKT"].iloc[pos] - 0.0001, factors["fx"].iloc[pos]])
    expect = r["S03"].iloc[pos] - 0.0001 - x0 @ fit.params
    assert a0.iloc[0] == pytest.approx(expect, abs=1e-12)


# ---------------------------------------------------------------- validation
def test_bad_options_raise_typed_errors(planted_panel):
    with pytest.raises(UnknownNameError):
        _study(planted_panel, model="capm")
    with pytest.raises(UnknownNameError):
        _study(planted_panel, kind="levels")
    with pytest.raises(UnknownNameError):
        _study(planted_panel, confounding="ignore")
    with pytest.raises(UnknownNameError, match="unknown test"):
        _study(planted_panel, windows=SHORT).fit(tests=("nope",))
    bad = planted_panel.events.copy()
    bad.loc[0, "timestamp"] = "2023-02-27 10:00"
    with pytest.raises(InputError, match="no time zone"):
        _study(planted_panel, events=bad)


def test_event_window_without_day0(planted_panel):
    w = Windows(estimation=(-250, -11), event=(-5, -1), car=((-5, -1),),
                min_estimation_obs=120)
    try:
        es = _study(planted_panel, windows=w)
    except WindowError:
        return  # rejecting such a window up front is also acceptable
    res = es.fit(tests=("csect_t",))
    d = res.diagnostics.set_index("event_id")
    assert d.loc["ev00", "day0"] == planted_panel.day0["ev00"]


def test_event_window_after_day0_keeps_day0(planted_panel):
    w = Windows(estimation=(-250, -11), event=(1, 5), car=((1, 5),),
                min_estimation_obs=120)
    try:
        es = _study(planted_panel, windows=w)
    except WindowError:
        return
    res = es.fit(tests=("csect_t",))
    d = res.diagnostics.set_index("event_id")
    assert d.loc["ev00", "day0"] == planted_panel.day0["ev00"]


def test_tests_table_rows_are_unique(planted_panel):
    res = _study(planted_panel, windows=SHORT).fit(tests=("csect_t", "bmp"))
    t = res.tests
    results = {"statistic", "p_value", "n", "mean", "p_bh", "rbar", "ci_low",
               "ci_high", "w_plus", "df", "crit"}
    keys = [c for c in t.columns if c not in results]
    assert not t.duplicated(subset=keys).any()


def test_factor_model_market_factor_is_an_excess_return(planted_panel):
    rng = np.random.default_rng(10)
    idx = planted_panel.returns.index
    factors = pd.DataFrame({"fx": rng.normal(0, 0.005, len(idx)),
                            "rf": rng.uniform(0.00005, 0.0002, len(idx))},
                           index=idx)
    from eventstudy.config import ModelSpec

    spec = ModelSpec(name="factor", factor_columns=("fx",), rf_column="rf")
    res = _study(planted_panel, windows=SHORT, model=spec,
                 factors=factors).fit(tests=("csect_t",))
    d = res.diagnostics.set_index("event_id")
    r = planted_panel.returns
    pos = planted_panel.day0_pos["ev03"]
    est = r.iloc[pos - 250:pos - 10]
    f = factors.iloc[pos - 250:pos - 10]
    X = sm.add_constant(np.column_stack([est["MKT"] - f["rf"], f["fx"]]))
    fit = sm.OLS(est["S03"].to_numpy() - f["rf"].to_numpy(), X).fit()
    assert d.loc["ev03", "beta"] == pytest.approx(fit.params[1], abs=1e-12)
    assert d.loc["ev03", "alpha"] == pytest.approx(fit.params[0], abs=1e-12)


def test_price_errors_name_the_data_row(tmp_path):
    """The row is the file's data row (header excluded), also with a ticker filter."""
    from eventstudy.errors import PriceDataError
    from eventstudy.inputs.prices import load_prices

    f = tmp_path / "p.csv"
    f.write_text("date,ticker,close\n2024-01-02,A,1\n2024-01-03,B,2\n"
                 "bad,B,3\n2024-01-05,B,x\n")
    for tickers in (None, ["B"]):
        with pytest.raises(PriceDataError, match=r"p\.csv, row 3: date 'bad'"):
            load_prices(f, tickers=tickers)
    f.write_text("date,ticker,close\n2024-01-02,A,1\n2024-01-03,B,2\n"
                 "2024-01-04,B,3\n2024-01-05,B,x\n")
    for tickers in (None, ["B"]):
        with pytest.raises(PriceDataError, match=r"row 4: non-numeric value 'x'"):
            load_prices(f, tickers=tickers)
