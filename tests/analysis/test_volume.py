"""Abnormal volume (issue #18 part 3): Campbell & Wasley log volume, mean- and
market-adjusted, against a plain loop from the formulas to 1e-10; a planted volume
shock found with the right sign and day; size on null data within binomial 99%
intervals; pairs without volume listed with the reason.

V = ln(volume + c); AV_t = V_t - mean_E V (mean) or (V_t - M_t) - mean_E (V - M)
(market); s = sd_E(AV); SCAV = sum_w AV / (s sqrt(d)); av_t = cross-sectional t of
SCAV; av_z = sum SCAV / sqrt(n); av_rank: U = rank / (M + 1) - 1/2, Ubar_t,
S_U^2 = mean_t Ubar_t^2, Z = sqrt(d) mean_w Ubar / S_U.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eventstudy import EventStudy
from eventstudy.analysis.volume import (
    NO_VOLUME,
    VOLUME_COLUMNS,
    VOLUME_TESTS,
    abnormal_volume,
    log_volume,
    market_volume,
    volume_excluded,
)
from eventstudy.config import Windows

WIN = Windows(estimation=(-150, -11), event=(-5, 5), car=((0, 0), (0, 1), (-2, 2)),
              min_estimation_obs=100)


def _panel(events: int, stocks: int, seed: int, spacing: int = 12,
           shock: tuple[int, int, float] | None = None
           ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Returns, events, universe and lognormal AR(1) share volumes; ``shock =
    (event, relative day, factor)`` multiplies every security's volume that day."""
    rng = np.random.default_rng(seed)
    T = 160 + events * spacing + 20
    dates = pd.bdate_range("2021-01-04", periods=T)
    m = rng.normal(0, 0.01, T)
    r = pd.DataFrame(0.9 * m[:, None] + rng.normal(0, 0.015, (T, stocks)),
                     index=dates, columns=[f"S{i}" for i in range(stocks)])
    r["MKT"] = m
    e = rng.normal(0, 0.4, (T, stocks))
    x = np.zeros_like(e)
    for t in range(T):
        x[t] = (0.3 * x[t - 1] if t else 0.0) + e[t]
    vol = np.exp(12 + x + rng.normal(0, 1, stocks))
    day0 = [160 + k * spacing for k in range(events)]
    if shock is not None:
        k, d, f = shock
        vol[day0[k] + d] *= f
    vols = pd.DataFrame(np.round(vol), index=dates, columns=r.columns[:-1])
    uni = pd.DataFrame({"ticker": [f"S{i}" for i in range(stocks)], "group": "g",
                        "calendar": "FX", "benchmark": "MKT"})
    ev = pd.DataFrame({"event_id": [f"E{k:03d}" for k in range(events)],
                       "timestamp": [str(dates[t].date()) for t in day0],
                       "groups": "g"})
    return r, ev, uni, vols


def _fit(r: pd.DataFrame, ev: pd.DataFrame, uni: pd.DataFrame):  # type: ignore[no-untyped-def]
    return EventStudy(r, ev, uni, kind="returns", windows=WIN).fit(tests=("csect_t",))


def test_log_volume_and_market_volume() -> None:
    v = pd.DataFrame({"A": [0.0, 9.0, np.nan], "B": [99.0, -1.0, 4.0]},
                     index=pd.bdate_range("2024-01-01", periods=3))
    lv = log_volume(v, 1.0)
    assert lv["A"].tolist()[:2] == [0.0, pytest.approx(math.log(10.0))]
    assert np.isnan(lv["A"].iloc[2]) and np.isnan(lv["B"].iloc[1])
    mk = market_volume(lv, {"A": "X", "B": "X"})
    assert mk["X"].iloc[0] == pytest.approx(math.log(100.0) / 2, rel=1e-12)
    assert mk["X"].iloc[1] == pytest.approx(math.log(10.0), rel=1e-12)
    assert mk["X"].iloc[2] == pytest.approx(math.log(5.0), rel=1e-12)


def _loop_av(lv: pd.Series, dates: list[pd.Timestamp], day0: pd.Timestamp,
             evt: list[pd.Timestamp], e0: int, e1: int,
             mk: pd.Series | None) -> tuple[list[float], list[float]]:
    """Plain loop: (estimation AV, event AV) of one pair, NaN where missing."""
    own = [(d, float(lv[d]) - (float(mk[d]) if mk is not None else 0.0))
           for d in dates if np.isfinite(lv[d])]
    ds = [d for d, _ in own]
    k0 = next(i for i, d in enumerate(ds) if d >= day0)
    est = [own[k][1] if 0 <= k < len(own) else float("nan")
           for k in range(k0 + e0, k0 + e1 + 1)]
    fin = [x for x in est if not math.isnan(x)]
    mu = sum(fin) / len(fin)
    look = dict(own)
    evv = [look.get(d, float("nan")) - mu for d in evt]
    return [x - mu for x in est], evv


def test_abnormal_volume_and_tests_equal_a_plain_loop() -> None:
    r, ev, uni, vols = _panel(3, 8, seed=2)
    vols.iloc[200, 3] = np.nan  # a missing volume
    res = _fit(r, ev, uni)
    table, excl = res.volume(vols, 1.0)
    assert list(table.columns) == list(VOLUME_COLUMNS)
    assert excl.empty
    lv = log_volume(vols, 1.0)
    p = res.pairs_
    mk = market_volume(lv, dict.fromkeys(vols.columns, "FX"))
    dates = list(lv.index)
    evt_all = [[pd.Timestamp(x) for x in row] for row in
               np.asarray(res.evt_dates).astype("datetime64[ns]")]
    for model in ("mean", "market"):
        panel = abnormal_volume(lv, p, np.asarray(res.evt_dates), (-150, -11), 100,
                                model, mk)
        est_l, evt_l, s_l = [], [], []
        for i in range(len(p)):
            t = p["ticker"].iloc[i]
            e, v = _loop_av(lv[t], dates, pd.Timestamp(p["day0"].iloc[i]),
                            evt_all[i], -150, -11,
                            mk["FX"] if model == "market" else None)
            np.testing.assert_allclose(panel.av_est[i], e, rtol=0, atol=1e-10)
            np.testing.assert_allclose(panel.av_evt[i], v, rtol=0, atol=1e-10)
            fin = [x for x in e if not math.isnan(x)]
            s = math.sqrt(sum(x * x for x in fin) / (len(fin) - 1))
            assert panel.s[i] == pytest.approx(s, rel=1e-10)
            est_l.append(e)
            evt_l.append(v)
            s_l.append(s)
        # tests for the event scope of E001, the CAR window [-2, 2] and day 1
        rows = table[(table.model == model) & (table.scope == "event")
                     & (table.scope_value == "E001")]
        idx = [i for i in range(len(p)) if p["event_id"].iloc[i] == "E001"]
        rel = list(range(-5, 6))
        for kind, a, b in (("car", -2, 2), ("day", 1, 1)):
            sc, cavs = [], []
            for i in idx:
                xs = [evt_l[i][j] for j, d in enumerate(rel) if a <= d <= b
                      and not math.isnan(evt_l[i][j])]
                cavs.append(sum(xs))
                sc.append(sum(xs) / (s_l[i] * math.sqrt(len(xs))))
            n = len(sc)
            m = sum(sc) / n
            sd = math.sqrt(sum((x - m) ** 2 for x in sc) / (n - 1))
            got = rows[(rows.window_kind == kind) & (rows.window_start == a)
                       & (rows.window_end == b)].set_index("test")
            assert list(got.index) == list(VOLUME_TESTS)
            assert got.loc["av_t", "statistic"] == pytest.approx(
                m / (sd / math.sqrt(n)), rel=1e-10)
            assert got.loc["av_z", "statistic"] == pytest.approx(
                sum(sc) / math.sqrt(n), rel=1e-10)
            assert got.loc["av_t", "mean_av"] == pytest.approx(sum(cavs) / n,
                                                                 rel=1e-10)
            # rank test: U over estimation + event days per pair
            U = []
            for i in idx:
                allv = est_l[i] + evt_l[i]
                fin = [x for x in allv if not math.isnan(x)]
                M = len(fin)
                U.append([float("nan") if math.isnan(x) else
                          (sum(1.0 for y in fin if y < x)
                           + (sum(1.0 for y in fin if y == x) + 1) / 2) / (M + 1)
                          - 0.5 for x in allv])
            ub = []
            for j in range(len(U[0])):
                col = [u[j] for u in U if not math.isnan(u[j])]
                ub.append(sum(col) / len(col) if col else float("nan"))
            have = [x for x in ub if not math.isnan(x)]
            su = math.sqrt(sum(x * x for x in have) / len(have))
            w = [ub[140 + j] for j, d in enumerate(rel) if a <= d <= b]
            z = math.sqrt(len(w)) * (sum(w) / len(w)) / su
            assert got.loc["av_rank", "statistic"] == pytest.approx(z, rel=1e-10)
            assert got.loc["av_rank", "p_value"] == pytest.approx(
                2 * stats.norm.sf(abs(z)), rel=1e-10)


def test_planted_volume_shock_has_the_right_sign_and_day() -> None:
    r, ev, uni, vols = _panel(2, 30, seed=4, shock=(0, 1, 3.0))
    table, _ = _fit(r, ev, uni).volume(vols)
    day = table[(table.scope == "event") & (table.window_kind == "day")
                & (table.model == "mean")]
    for test in VOLUME_TESTS:
        hit = day[(day.scope_value == "E000") & (day.test == test)]
        best = hit.loc[hit["statistic"].idxmax()]
        assert int(best["window_start"]) == 1
        assert best["statistic"] > 0 and best["p_value"] < 1e-6
        assert (hit[hit.window_start != 1]["p_value"] > 1e-4).all()
        assert day[(day.scope_value == "E001") & (day.test == test)][
            "p_value"].min() > 1e-4
    row = day[(day.scope_value == "E000") & (day.test == "av_t")
              & (day.window_start == 1)]
    assert float(row["daily_pct"].iloc[0]) == pytest.approx(2.0, rel=0.3)  # x3


def test_size_on_null_data_within_binomial_99_intervals() -> None:
    r, ev, uni, vols = _panel(40, 40, seed=9)
    table, _ = _fit(r, ev, uni).volume(vols, models=("mean",))
    rows = table[(table.scope == "event") & (table.window_kind == "day")]
    lo, hi = stats.binom.interval(0.99, 440, 0.05)
    for test in VOLUME_TESTS:
        p = rows[rows.test == test]["p_value"].to_numpy()
        assert len(p) == 440
        rate = int((p < 0.05).sum())
        assert lo <= rate <= hi, (test, rate, lo, hi)


def test_pairs_without_volume_are_listed_with_the_reason() -> None:
    r, ev, uni, vols = _panel(2, 4, seed=1)
    vols = vols.drop(columns=["S2"])
    vols["S3"] = np.nan
    table, excl = _fit(r, ev, uni).volume(vols, models=("mean",))
    assert excl[["event_id", "ticker", "model"]].values.tolist() == [
        ["E000", "S2", "mean"], ["E000", "S3", "mean"],
        ["E001", "S2", "mean"], ["E001", "S3", "mean"]]
    assert excl["reason"].iloc[0] == NO_VOLUME.format(ticker="S2")
    n = table[(table.scope == "all") & (table.test == "av_t")]["n"]
    assert set(n) == {4}  # 2 events x 2 securities with volume
    assert volume_excluded([], r).empty
