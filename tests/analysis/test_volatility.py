"""Abnormal volatility (issue #18 part 2): every statistic of
:func:`eventstudy.analysis.volatility.volatility_table` against a plain loop from
its formula to 1e-10, a planted variance shock found with the right sign and day,
and the size of the three tests on null data within binomial 99% intervals.

AV_i = sum AR^2 - sum h; q_i = sum AR^2 / sum h over the window's days with data;
vol_csect_t / vol_savickas: Johnson's skewness-adjusted t of AV / q - 1;
vol_ratio: Z = (sum SAR^2 - D) / sqrt(2 D), exact chi^2(D) p.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eventstudy import EventStudy
from eventstudy.analysis.volatility import (
    VOL_TESTS,
    VOLATILITY_COLUMNS,
    standardised_by,
    volatility_table,
)
from eventstudy.config import Windows

WIN = Windows(estimation=(-150, -11), event=(-5, 5), car=((0, 0), (0, 1), (-2, 2)),
              min_estimation_obs=100)


def _loop_skew_t(x: list[float]) -> tuple[float, float, float]:
    """(t_sa, p, t_plain) by plain loops."""
    n = len(x)
    m = sum(x) / n
    s = math.sqrt(sum((v - m) ** 2 for v in x) / (n - 1))
    g = sum((v - m) ** 3 for v in x) / (n * s**3)
    S = m / s
    t = math.sqrt(n) * (S + g * S * S / 3 + g / (6 * n))
    return t, 2 * stats.t.sf(abs(t), n - 1), m / (s / math.sqrt(n))


def test_table_equals_a_plain_loop() -> None:
    rng = np.random.default_rng(3)
    P, W = 14, 7
    ar = rng.normal(0, 0.02, (P, W))
    h = rng.uniform(1e-4, 6e-4, (P, W))
    ar[2, 3] = np.nan
    h[5, 1] = np.nan
    ar[7, :] = np.nan  # a pair with no data at all: left out everywhere
    pairs = pd.DataFrame({"event_id": ["e1"] * 8 + ["e2"] * 6,
                          "group": (["a", "b"] * 7),
                          "ticker": [f"T{i}" for i in range(P)]})
    rel = np.arange(-3, 4)
    cars = [(0, 0), (-1, 2), (-3, 3)]
    by = np.array(["garch"] * 7 + ["ols"] * 7, dtype=object)
    got = volatility_table(ar, h, pairs, rel, cars, by)
    assert list(got.columns) == list(VOLATILITY_COLUMNS)
    keys = {"all": ["all"] * P, "group": list(pairs["group"]),
            "event": list(pairs["event_id"]),
            "event_group": [f"{e}:{g}" for e, g in zip(pairs["event_id"],
                                                       pairs["group"], strict=True)]}
    wins = [("day", d, d) for d in rel] + [("car", a, b) for a, b in cars]
    checked = 0
    for scope, labels in keys.items():
        for value in dict.fromkeys(labels):
            for kind, a, b in wins:
                av, q, s2sum, D, kinds = [], [], 0.0, 0, set()
                for i in range(P):
                    if labels[i] != value:
                        continue
                    sa2 = sh = ssq = 0.0
                    d = 0
                    for j, t in enumerate(rel):
                        if a <= t <= b and np.isfinite(ar[i, j]) and np.isfinite(
                                h[i, j]):
                            sa2 += ar[i, j] ** 2
                            sh += h[i, j]
                            ssq += ar[i, j] ** 2 / h[i, j]
                            d += 1
                    if d:
                        av.append(sa2 - sh)
                        q.append(sa2 / sh - 1)
                        s2sum += ssq
                        D += d
                        kinds.add(by[i])
                rows = got[(got.scope == scope) & (got.scope_value == value)
                           & (got.window_kind == kind) & (got.window_start == a)
                           & (got.window_end == b)].set_index("test")
                assert list(rows.index) == list(VOL_TESTS)
                assert rows["n"].iloc[0] == len(av)
                assert rows["pair_days"].iloc[0] == D
                assert rows["standardised_by"].iloc[0] == (
                    "mixed" if len(kinds) > 1 else next(iter(kinds)))
                assert rows["abnormal_var"].iloc[0] == pytest.approx(
                    sum(av) / len(av), rel=1e-10)
                assert rows["var_ratio"].iloc[0] == pytest.approx(
                    1 + sum(q) / len(q), rel=1e-10)
                for test, x in (("vol_csect_t", av), ("vol_savickas", q)):
                    t, p, tp = _loop_skew_t(x)
                    r = rows.loc[test]
                    assert r["estimate"] == pytest.approx(sum(x) / len(x), rel=1e-10)
                    assert r["statistic"] == pytest.approx(t, rel=1e-10)
                    assert r["p_value"] == pytest.approx(p, rel=1e-10)
                    assert r["t_plain"] == pytest.approx(tp, rel=1e-10)
                    assert r["df"] == len(x) - 1
                z = (s2sum - D) / math.sqrt(2 * D)
                pr = 2 * min(stats.chi2.cdf(s2sum, D), stats.chi2.sf(s2sum, D))
                r = rows.loc["vol_ratio"]
                assert r["statistic"] == pytest.approx(z, rel=1e-10, abs=1e-12)
                assert r["p_value"] == pytest.approx(min(pr, 1.0), rel=1e-10)
                assert r["estimate"] == pytest.approx(s2sum / D - 1, rel=1e-10)
                checked += 1
    assert checked == 10 * (1 + 2 + 2 + 4)


def test_standardised_by_names_the_fallback() -> None:
    by = standardised_by(["garch", "gjr_garch", "market", "egarch"],
                         np.array([0.0, 1.0, np.nan, 0.0]))
    assert by.tolist() == ["garch", "ols", "ols", "garch"]
    assert standardised_by(["market"], None).tolist() == ["ols"]


def _panel(events: int, stocks: int, seed: int, shock: tuple[int, int, float] | None
           = None, spacing: int = 3) -> tuple[pd.DataFrame, pd.DataFrame,
                                              pd.DataFrame, pd.DatetimeIndex]:
    """Market-model returns of ``stocks`` securities, ``events`` event dates;
    ``shock = (event index, relative day, sd multiplier)`` scales the day's
    residual of every security."""
    rng = np.random.default_rng(seed)
    T = 160 + events * spacing + 20
    dates = pd.bdate_range("2021-01-04", periods=T)
    m = rng.normal(0, 0.01, T)
    eps = rng.normal(0, 0.015, (T, stocks))
    day0 = [160 + k * spacing for k in range(events)]
    if shock is not None:
        k, d, mult = shock
        eps[day0[k] + d] *= mult
    r = pd.DataFrame(0.9 * m[:, None] + eps, index=dates,
                     columns=[f"S{i}" for i in range(stocks)])
    r["MKT"] = m
    uni = pd.DataFrame({"ticker": [f"S{i}" for i in range(stocks)], "group": "g",
                        "calendar": "FX", "benchmark": "MKT"})
    ev = pd.DataFrame({"event_id": [f"E{k:03d}" for k in range(events)],
                       "timestamp": [str(dates[t].date()) for t in day0],
                       "groups": "g"})
    return r, ev, uni, dates


def test_planted_variance_shock_has_the_right_sign_and_day() -> None:
    r, ev, uni, _ = _panel(2, 40, seed=11, shock=(0, 1, 3.0), spacing=20)
    res = EventStudy(r, ev, uni, kind="returns", windows=WIN).fit(tests=("csect_t",))
    v = res.volatility()
    day = v[(v.scope == "event") & (v.window_kind == "day")]
    for test in VOL_TESTS:
        hit = day[(day.scope_value == "E000") & (day.test == test)]
        best = hit.loc[hit["statistic"].idxmax()]
        assert int(best["window_start"]) == 1
        assert best["statistic"] > 0 and best["p_value"] < 1e-6
        quiet = hit[hit.window_start != 1]
        assert (quiet["p_value"] > 1e-4).all()
        other = day[(day.scope_value == "E001") & (day.test == test)]
        assert other["p_value"].min() > 1e-3
    row = day[(day.scope_value == "E000") & (day.test == "vol_ratio")
              & (day.window_start == 1)]
    # residual sd x 3: AR^2 / h about 9 on that day
    assert float(row["var_ratio"].iloc[0]) == pytest.approx(9.0, rel=0.35)
    car = v[(v.scope == "event") & (v.scope_value == "E000")
            & (v.window_kind == "car") & (v.test == "vol_savickas")]
    by = {(int(a), int(b)): p for a, b, p in car[["window_start", "window_end",
                                                  "p_value"]].to_numpy()}
    assert by[(0, 1)] < 1e-4 and by[(0, 0)] > 1e-3


def _binom99(n: int, p: float = 0.05) -> tuple[float, float]:
    lo, hi = stats.binom.interval(0.99, n, p)
    return lo / n, hi / n


def test_size_on_null_data_within_binomial_99_intervals() -> None:
    r, ev, uni, _ = _panel(40, 50, seed=5, spacing=12)  # windows apart
    res = EventStudy(r, ev, uni, kind="returns", windows=WIN).fit(tests=("csect_t",))
    v = res.volatility()
    rows = v[(v.scope == "event") & (v.window_kind == "day")]
    for test in VOL_TESTS:
        p = rows[rows.test == test]["p_value"].to_numpy()
        assert len(p) == 40 * 11
        rate = float((p < 0.05).mean())
        lo, hi = _binom99(len(p))
        assert lo <= rate <= hi, (test, rate, lo, hi)
    # the plain t on squared SARs over-rejects: why the adjusted t is reported
    plain = rows[rows.test == "vol_savickas"]["t_plain"].to_numpy()
    pp = 2 * stats.t.sf(np.abs(plain), 49)
    assert (pp < 0.05).mean() >= float((rows[rows.test == "vol_savickas"][
        "p_value"] < 0.05).mean())
