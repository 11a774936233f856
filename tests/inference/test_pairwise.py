"""Per-pair AR and CAR t tests (``art``, ``cart``; issue #19 part 2) in the ``pair``
scope: against a plain loop from the formula, with and without the forecast-error
correction, the scope in ``tests.csv`` and the summary, and their size on null data.

art:  t_it = AR_it / s_i(AR_t), s_i^2 = sigma_i^2 (1 + h_it) with the correction,
      sigma_i^2 without it; p from t(L_i - k).
cart: t_i = CAR_i / sd(CAR_i), sd^2 = the engine's exact CAR variance with the
      correction, L2_i sigma_i^2 without it; p from t(L_i - k).
Sources: EventStudyTools, "Significance Tests" [1]; EventStudyTools' R package
(``ARTTest``, ``CARTTest``); Campbell, Lo & MacKinlay (1997) ch. 4.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eventstudy.config import Conventions, Windows
from eventstudy.inference import TESTS, Groups, PairData, make_groups, run_tests
from eventstudy.inference.registry import PAIR_SCOPE, SERIES_TESTS
from eventstudy.study import EventStudy

TOL = 1e-10
CARS = ((0, 3), (1, 2))


def make(conv: Conventions, seed: int = 5, P: int = 8, Le: int = 40,
         W: int = 4) -> PairData:
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 2.0, P)[:, None]
    resid = rng.normal(0.0, 1.0, (P, Le)) * scale
    ar = rng.normal(0.3, 1.5, (P, W)) * scale
    resid[2, :5] = np.nan
    ar[3, 1] = np.nan
    ar[6, :] = np.nan  # a pair without event-window data
    nobs = np.isfinite(resid).sum(axis=1).astype(np.float64)
    dof = nobs - 2
    sigma2 = np.nansum(resid**2, axis=1) / dof
    lev = rng.uniform(0.01, 0.05, (P, W))
    day_var = sigma2[:, None] * (1 + lev)
    car = np.full((P, 2), np.nan)
    car_var = np.full((P, 2), np.nan)
    car_days = np.zeros((P, 2), dtype=np.int64)
    for j, (a, b) in enumerate(CARS):
        d = np.isfinite(ar[:, a:b + 1]).sum(axis=1)
        car[:, j] = np.where(d > 0, np.nansum(ar[:, a:b + 1], axis=1), np.nan)
        car_var[:, j] = sigma2 * (d + rng.uniform(0.05, 0.2, P) * d)
        car_days[:, j] = d
    return PairData(
        sigma2=sigma2, dof=dof, nobs=nobs, resid=resid, ar=ar,
        sar=ar / np.sqrt(day_var), day_var=day_var, car=car, car_var=car_var,
        car_days=car_days, cluster=np.zeros(P, dtype=np.int64),
        est_dates=np.tile(np.arange(Le, dtype=np.int64), (P, 1)),
        rel_days=np.arange(W), car_windows=CARS, day_lev=lev, conventions=conv)


def pairs_frame(P: int = 8) -> pd.DataFrame:
    return pd.DataFrame({"event_id": [f"E{i // 3}" for i in range(P)],
                         "ticker": [f"T{i}" for i in range(P)],
                         "group": ["g"] * P})


@pytest.mark.parametrize("fe", [True, False])
def test_art_and_cart_equal_a_loop(fe: bool) -> None:
    conv = Conventions(forecast_error_by_test={"art": fe, "cart": fe})
    d = make(conv)
    g = make_groups(pairs_frame(), PAIR_SCOPE)
    assert g.labels[:4] == ("E0:T0", "E0:T1", "E0:T2", "E1:T3")
    for w in d.windows():
        name = "art" if w.car_index < 0 else "cart"
        r = TESTS[name](d, w, g)
        for i in range(d.n_pairs):
            x = w.value[i]
            if not np.isfinite(x):
                assert np.isnan(r.statistic[i]) and r.n[i] == 0
                continue
            if w.car_index < 0:
                var = d.sigma2[i] * (1 + d.day_lev[i, w.day_index]) if fe \
                    else d.sigma2[i]
            else:
                var = (d.car_var[i, w.car_index] if fe
                       else d.sigma2[i] * d.car_days[i, w.car_index])
            t = x / np.sqrt(var)
            assert r.statistic[i] == pytest.approx(t, rel=TOL, abs=TOL)
            assert r.p_value[i] == pytest.approx(2 * stats.t.sf(abs(t), d.dof[i]),
                                                 rel=TOL, abs=TOL)
            assert r.n[i] == 1
            assert r.extra["mean"][i] == x


def test_pair_tests_give_nan_for_a_group_of_several_pairs() -> None:
    d = make(Conventions())
    g = Groups("event", np.array([0, 0, 0, 1, 1, 1, 2, 2]), ("E0", "E1", "E2"))
    w = d.windows()[0]
    r = TESTS["art"](d, w, g)
    # E2 holds pairs 6 and 7 but only pair 7 has an AR: its t
    assert np.isnan(r.statistic[:2]).all()
    assert r.statistic[2] == d.ar[7, 0] / np.sqrt(d.day_var[7, 0])
    np.testing.assert_array_equal(r.n, [3, 3, 1])


def test_pair_scope_holds_only_the_pair_tests_and_only_there() -> None:
    d = make(Conventions())
    win = Windows((-50, -5), (0, 3), CARS, 10)
    t = run_tests(d, pairs_frame(), ("csect_t", "art", "cart"), win,
                  scopes=("all", "event"))
    assert list(dict.fromkeys(t["scope"])) == ["all", "event", "pair"]
    pair = t[t["scope"] == PAIR_SCOPE]
    assert set(pair["test"]) == {"art", "cart"}
    assert set(t.loc[t["scope"] != PAIR_SCOPE, "test"]) == {"csect_t"}
    assert set(pair.loc[pair["test"] == "art", "window_kind"]) == {"day"}
    assert set(pair.loc[pair["test"] == "cart", "window_kind"]) == {"car"}
    assert len(pair) == 8 * (4 + 2)
    assert list(pair["scope_value"].drop_duplicates()) == [
        f"E{i // 3}:T{i}" for i in range(8)]
    # the pair scope's p-values are in the table's BH family like every other row
    assert pair["p_bh"].notna().sum() == pair["p_value"].notna().sum()
    # without pair tests there is no pair scope
    t2 = run_tests(d, pairs_frame(), ("csect_t",), win, scopes=("all",))
    assert set(t2["scope"]) == {"all"}


def test_pair_tests_are_not_the_summarys_series_tests() -> None:
    assert "art" not in SERIES_TESTS and "cart" not in SERIES_TESTS
    assert SERIES_TESTS[0] == "series_t"
    for name in ("art", "cart"):
        assert TESTS[name].pair and TESTS[name].per_series
        assert TESTS[name].family == "pairwise"


def null_study(seed: int = 11, T: int = 900, n: int = 10, E: int = 40) -> EventStudy:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2016-01-01", periods=T)
    m = rng.normal(0, 0.01, T)
    cols = {"MKT": m}
    for i in range(n):
        cols[f"S{i}"] = rng.uniform(0.5, 1.5) * m + rng.normal(0, 0.02, T)
    r = pd.DataFrame(cols, index=dates)
    d0 = rng.choice(np.arange(300, T - 20), E, replace=False)
    ev = pd.DataFrame({"event_id": [f"e{j}" for j in range(E)],
                       "timestamp": [str(dates[k].date()) for k in d0],
                       "groups": "g"})
    uni = pd.DataFrame({"ticker": [f"S{i}" for i in range(n)], "group": "g",
                        "benchmark": "MKT", "calendar": "FX"})
    return EventStudy(r, ev, uni, kind="returns", calendar="FX", model="market",
                      windows=Windows((-250, -11), (-3, 3), ((0, 0), (-1, 1)), 200))


def test_art_and_cart_flow_through_the_study_tests_csv_and_summary(
        tmp_path: Path) -> None:
    res = null_study(E=4).fit(tests=("csect_t", "art", "cart"))
    t = res.tests
    pair = t[t["scope"] == "pair"]
    assert len(pair) == 4 * 10 * (7 + 2)
    assert pair["scope_value"].iloc[0] == "e0:S0"
    assert (pair["n"] == 1).all() and pair["p_value"].between(0, 1).all()
    res.save(tmp_path / "out")
    saved = pd.read_csv(tmp_path / "out" / "tests.csv")
    assert (saved["scope"] == "pair").sum() == len(pair)
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "CAAR" in summary and "e0:S0" not in summary
    info = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert info["parameters"]["conventions"] | {} == {
        "sigma_dof": "model", "forecast_error": True, "market_moments": "firm",
        "aggregation": "car", "weights": "", "profile": "textbook",
        "forecast_error_by_test": {}, "patell_car": "exact", "corrado_divisor": "T"}


@pytest.mark.parametrize("profile", ["textbook", "eventstudytools"])
def test_size_of_art_and_cart_on_null_data(profile: str) -> None:
    conv = Conventions.profile(profile)  # type: ignore[arg-type]
    res = null_study().fit(tests=("art", "cart"), scopes=("all",), conventions=conv)
    pair = res.tests[res.tests["scope"] == "pair"]
    for name, a, b in (("art", 0, 0), ("art", -3, -3), ("cart", -1, 1)):
        p = pair[(pair["test"] == name) & (pair["window_start"] == a)
                 & (pair["window_end"] == b)]["p_value"]
        assert len(p) == 400
        k = int((p < 0.05).sum())
        ci = stats.binomtest(k, len(p), 0.05).proportion_ci(confidence_level=0.99)
        assert ci.low <= 0.05 <= ci.high, (name, a, b, k)
