"""series_t: the per-series t of a scope with one series (issue #16 part 4).

Checked against a plain loop from the formula (t = AR / sqrt(Var(AR)) for a day,
CAR / sqrt(Var(CAR)) for a CAR window, p = 2 sf(|t|) of scipy.stats.t(L - k)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from eventstudy.config import Windows
from eventstudy.inference import SERIES_TESTS, TESTS, Groups, PairData, run_tests

P, LE, W = 7, 80, 5
CAR_WINDOWS = ((0, 0), (0, 2), (-2, 2))


def make_data() -> PairData:
    rng = np.random.default_rng(7)
    scale = rng.uniform(0.005, 0.03, P)[:, None]
    resid = rng.normal(0.0, 1.0, (P, LE)) * scale
    resid[1, :9] = np.nan  # a shorter estimation window: other dof
    ar = rng.normal(0.0, 1.0, (P, W)) * scale * 2
    ar[2, 3] = np.nan  # a missing event day
    ar[5, :] = np.nan  # a pair without event data
    nobs = np.isfinite(resid).sum(axis=1).astype(np.float64)
    dof = nobs - 2
    sigma2 = np.nansum(resid**2, axis=1) / dof
    lev = rng.uniform(0.005, 0.05, (P, W))
    day_var = sigma2[:, None] * (1 + lev)
    car = np.full((P, len(CAR_WINDOWS)), np.nan)
    car_var = np.full(car.shape, np.nan)
    days = np.zeros(car.shape, dtype=np.int64)
    for j, (a, b) in enumerate(CAR_WINDOWS):
        cols = slice(a + 2, b + 3)
        d = np.isfinite(ar[:, cols]).sum(axis=1)
        car[:, j] = np.where(d > 0, np.nansum(ar[:, cols], axis=1), np.nan)
        car_var[:, j] = np.where(d > 0, sigma2 * d * 1.02, np.nan)
        days[:, j] = d
    return PairData(
        sigma2=sigma2, dof=dof, nobs=nobs, resid=resid, ar=ar,
        sar=ar / np.sqrt(day_var), day_var=day_var, car=car, car_var=car_var,
        car_days=days, cluster=np.zeros(P, dtype=np.int64),
        est_dates=np.tile(np.arange(LE, dtype=np.int64), (P, 1)),
        rel_days=np.arange(-2, 3), car_windows=CAR_WINDOWS, day_lev=lev)


def test_series_t_is_registered_as_the_per_series_test() -> None:
    assert SERIES_TESTS == ("series_t",)
    spec = TESTS["series_t"]
    assert spec.per_series and spec.needs_sar and spec.family == "series"
    assert not spec.weighted and spec.window_kinds == {"day", "car"}


def test_series_t_equals_the_formula_for_one_pair_per_group() -> None:
    data = make_data()
    g = Groups("event_group", np.arange(P), tuple(f"e{i}" for i in range(P)))
    checked = 0
    for w in data.windows():
        r = TESTS["series_t"](data, w, g)
        for i in range(P):
            if w.day_index >= 0:
                x, v = data.ar[i, w.day_index], data.day_var[i, w.day_index]
            else:
                x, v = data.car[i, w.car_index], data.car_var[i, w.car_index]
            if not np.isfinite(x):
                assert r.n[i] == 0 and np.isnan(r.statistic[i])
                assert np.isnan(r.p_value[i])
                continue
            t = x / np.sqrt(v)
            p = 2 * stats.t.sf(abs(t), data.nobs[i] - 2)
            assert r.n[i] == 1
            assert abs(r.statistic[i] - t) <= 1e-10 * max(1.0, abs(t))
            assert abs(r.p_value[i] - p) <= 1e-10
            assert r.extra["mean"][i] == x
            checked += 1
    # 7 pairs x (5 days + 3 CARs), minus the pair without data and one missing day
    assert checked == 6 * 8 - 1


def test_series_t_in_run_tests_one_series_groups_only() -> None:
    data = make_data()
    pairs = pd.DataFrame({
        "event_id": ["E1", "E1", "E1", "E2", "E2", "E3", "E3"],
        "group": ["autos", "autos", "yen", "autos", "yen", "yen", "autos"],
    })
    win = Windows(estimation=(-100, -11), event=(-2, 2), car=CAR_WINDOWS,
                  min_estimation_obs=50)
    t = run_tests(data, pairs, ("csect_t", "series_t"), win)
    s = t[(t["test"] == "series_t") & (t["window_kind"] == "car")
          & (t["window_start"] == 0) & (t["window_end"] == 2)]
    eg = s[s["scope"] == "event_group"].set_index("scope_value")
    # E1:yen is pair 2 alone: its SCAR over [0, 2] (days 0, 2 with data)
    t2 = data.car[2, 1] / np.sqrt(data.car_var[2, 1])
    assert abs(eg.loc["E1:yen", "statistic"] - t2) <= 1e-10 * abs(t2)
    assert abs(eg.loc["E1:yen", "p_value"]
               - 2 * stats.t.sf(abs(t2), data.nobs[2] - 2)) <= 1e-10
    # E1:autos has two pairs: NaN, n = 2; E3:yen is pair 5 (no data): NaN, n = 0
    assert np.isnan(eg.loc["E1:autos", "statistic"]) and eg.loc["E1:autos", "n"] == 2
    assert np.isnan(eg.loc["E3:yen", "p_value"]) and eg.loc["E3:yen", "n"] == 0
    # E2:autos (pair 3), E2:yen (pair 4) and E3:autos (pair 6) are single series
    assert eg["statistic"].notna().tolist() == [False, True, True, True, False,
                                                True]
    assert list(eg.index) == ["E1:autos", "E1:yen", "E2:autos", "E2:yen",
                              "E3:yen", "E3:autos"]
    # the all and group scopes hold several pairs: NaN with n
    other = s[s["scope"].isin(["all", "group"])]
    assert other["statistic"].isna().all()
    assert other["n"].tolist() == [6, 4, 2]
