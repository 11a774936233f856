"""Property-based tests (hypothesis) of the engine and the test battery.

Deterministic settings (``derandomize=True``) and modest example counts: the file runs
in a few seconds. Panels are synthetic (market factor + noise, FX 24/5 calendar).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstudy.config import Conventions, Windows
from eventstudy.inference import TESTS
from eventstudy.study import EventStudy

SETTINGS = settings(max_examples=8, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
WINDOWS = Windows((-80, -6), (-2, 3), ((0, 0), (-1, 1), (0, 3)), 40)
ALL_TESTS = tuple(TESTS)
KEY = ["scope", "scope_value", "window_start", "window_end", "window_kind", "test"]
SCALE_FREE = ["statistic", "p_value", "n", "rbar"]
SCALED = ["mean", "ci_low", "ci_high"]


def panel(seed: int, n_sec: int, gap: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns of MKT and S0..S{n-1}, and one event per security on two dates.

    ``gap`` > 0 leaves S0's first ``gap`` returns missing (a late listing)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-01-02", periods=200)
    m = rng.normal(0.0003, 0.01, 200)
    cols: dict[str, Any] = {"MKT": m}
    for i in range(n_sec):
        beta = rng.uniform(0.3, 1.5)
        cols[f"S{i}"] = (rng.normal(0, 0.0005) + beta * m
                         + rng.standard_t(5, 200) * rng.uniform(0.005, 0.03))
    r = pd.DataFrame(cols, index=dates)
    if gap:
        r.iloc[:gap, 1] = np.nan
    day = [str(dates[150].date()), str(dates[170].date())]
    ev = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n_sec)],
        "timestamp": [day[i % 2] for i in range(n_sec)],
        "ticker": [f"S{i}" for i in range(n_sec)],
        "group": [f"g{i % 3}" for i in range(n_sec)],
    })
    return r, ev


def fit(r: pd.DataFrame, ev: pd.DataFrame, model: str = "market",
        tests: tuple[str, ...] = ALL_TESTS,
        conventions: Conventions | None = None) -> Any:
    es = EventStudy(r, ev, kind="returns", calendar="FX", benchmark="MKT",
                    model=model, windows=WINDOWS)
    return es.fit(tests=tests, conventions=conventions, bootstrap_reps=99)


def sorted_tests(res: Any) -> pd.DataFrame:
    t = res.tests
    return t.sort_values(KEY, kind="stable").reset_index(drop=True)


def ars(res: Any) -> pd.DataFrame:
    a = res.abnormal_returns
    return a.sort_values(["event_id", "rel_day"]).reset_index(drop=True)


seeds = st.integers(min_value=0, max_value=2**16)
n_secs = st.integers(min_value=4, max_value=7)
shifts = st.floats(min_value=-0.05, max_value=0.05, allow_nan=False).filter(
    lambda c: abs(c) > 1e-4)


@SETTINGS
@given(seed=seeds, n=n_secs, c=shifts)
def test_constant_shifts_market_adjusted_ars_by_c(seed: int, n: int, c: float) -> None:
    r, ev = panel(seed, n)
    base = ars(fit(r, ev, "market_adjusted", ("csect_t",)))
    r2 = r.copy()
    r2["S0"] += c
    moved = ars(fit(r2, ev, "market_adjusted", ("csect_t",)))
    is0 = (base["ticker"] == "S0").to_numpy()
    diff = (moved["abnormal_return"] - base["abnormal_return"]).to_numpy()
    np.testing.assert_allclose(diff[is0], c, atol=1e-12)
    np.testing.assert_allclose(diff[~is0], 0.0, atol=0)


@SETTINGS
@given(seed=seeds, n=n_secs, c=shifts, model=st.sampled_from(["market",
                                                              "constant_mean"]))
def test_constant_enters_alpha_and_leaves_ars_unchanged(seed: int, n: int, c: float,
                                                        model: str) -> None:
    r, ev = panel(seed, n)
    a = fit(r, ev, model, ALL_TESTS)
    r2 = r.copy()
    r2["S0"] += c
    b = fit(r2, ev, model, ALL_TESTS)
    np.testing.assert_allclose(ars(b)["abnormal_return"], ars(a)["abnormal_return"],
                               atol=1e-12)
    np.testing.assert_allclose(b.alpha[0] - a.alpha[0], c, atol=1e-12)
    ta, tb = sorted_tests(a), sorted_tests(b)
    np.testing.assert_allclose(tb["statistic"], ta["statistic"], rtol=1e-7,
                               atol=1e-9)


@SETTINGS
@given(seed=seeds, n=n_secs, perm_seed=seeds, gap=st.sampled_from([0, 100]))
def test_event_order_does_not_change_any_aggregate(seed: int, n: int,
                                                   perm_seed: int, gap: int) -> None:
    r, ev = panel(seed, n, gap)
    a = sorted_tests(fit(r, ev))
    perm = np.random.default_rng(perm_seed).permutation(len(ev))
    b = sorted_tests(fit(r, ev.iloc[perm].reset_index(drop=True)))
    pd.testing.assert_frame_equal(a[KEY], b[KEY])
    for col in ["statistic", "p_value", "mean", "p_bh", "rbar", "ci_low", "ci_high",
                "w_plus"]:
        np.testing.assert_allclose(b[col], a[col], rtol=1e-9, atol=1e-13,
                                   err_msg=col)
    np.testing.assert_array_equal(b["n"], a["n"])


@SETTINGS
@given(seed=seeds, n=n_secs, k=st.floats(min_value=0.05, max_value=20.0),
       model=st.sampled_from(["market", "constant_mean", "market_adjusted"]),
       profile=st.sampled_from(["textbook", "estudy2"]))
def test_statistics_are_invariant_to_rescaling_returns(seed: int, n: int, k: float,
                                                       model: str,
                                                       profile: str) -> None:
    """t, BW, Lamb, Patell, BMP, KP, skewness, ranks, signs, Wilcoxon and the
    bootstrap t are scale free; means and CIs scale with k."""
    r, ev = panel(seed, n)
    conv = Conventions.profile(profile)  # type: ignore[arg-type]
    a = sorted_tests(fit(r, ev, model, conventions=conv))
    b = sorted_tests(fit(r * k, ev, model, conventions=conv))
    for col in SCALE_FREE:
        np.testing.assert_allclose(b[col], a[col], rtol=1e-7, atol=1e-10,
                                   err_msg=col)
    for col in SCALED:
        np.testing.assert_allclose(b[col], k * a[col], rtol=1e-7, atol=1e-12,
                                   err_msg=col)
    np.testing.assert_allclose(b["w_plus"], a["w_plus"], rtol=0, atol=1e-9)


@SETTINGS
@given(seed=seeds, n=n_secs)
def test_test_profile_only_changes_documented_tests(seed: int, n: int) -> None:
    """Without missing data the estudy2 test profile changes only gsign (pooled
    p-hat), Lamb (1/mean L) and the CAR rank test."""
    r, ev = panel(seed, n)
    tb = sorted_tests(fit(r, ev))
    e2 = sorted_tests(fit(r, ev, conventions=replace(Conventions(),
                                                     test_profile="estudy2")))
    changed = {"gsign", "lamb", "corrado"}
    same = ~tb["test"].isin(changed)
    is_car = tb["window_kind"] == "car"
    car_rank = (tb["test"] == "corrado") & is_car
    day_rank = (tb["test"] == "corrado") & ~car_rank
    for mask in (same, day_rank):
        np.testing.assert_allclose(e2.loc[mask, "statistic"],
                                   tb.loc[mask, "statistic"], rtol=1e-9, atol=1e-12)


@SETTINGS
@given(seed=seeds, n=n_secs)
def test_rank_quirk_only_matters_with_missing_estimation_days(seed: int,
                                                              n: int) -> None:
    r, ev = panel(seed, n, gap=100)
    tb = sorted_tests(fit(r, ev, tests=("mrank", "csign")))
    e2 = sorted_tests(fit(r, ev, tests=("mrank", "csign"),
                          conventions=replace(Conventions(), test_profile="estudy2")))
    scope_all = tb["scope"] == "all"
    assert not np.allclose(e2.loc[scope_all, "statistic"],
                           tb.loc[scope_all, "statistic"], rtol=1e-6)


@SETTINGS
@given(seed=seeds, n=n_secs)
def test_caar_is_sum_of_aars_and_p_values_are_two_sided(seed: int, n: int) -> None:
    r, ev = panel(seed, n)
    t = fit(r, ev).tests
    cs = t[(t["test"] == "csect_t") & (t["scope"] == "all")].set_index(
        ["window_start", "window_end"])["mean"]
    aar = {int(s): float(v) for (s, e), v in cs.items() if s == e}
    np.testing.assert_allclose(cs.loc[(0, 3)], sum(aar[d] for d in range(4)),
                               atol=1e-14)
    assert t["p_value"].dropna().between(0, 1).all()
    both = t["p_value"].notna()
    assert (t.loc[both, "p_bh"] >= t.loc[both, "p_value"] - 1e-15).all()
