"""The xKDR conventions, estimation side (issue #19 part 5): ``estimation = "all"``.

Each pair's estimation sample is every return of its series from its first price to
``estimation_gap`` sessions before the event window (xKDR ``eventstudies``:
``prepare.returns`` sets ``estimation.period`` to ``index(z.e)[1]:(-event.window)``
and the event period to ``(-event.window + 1):event.window``, i.e. gap 0). The oracle
builds that sample by hand in a plain loop over the pairs and fits statsmodels OLS per
pair: alpha, beta, sigma, every AR and the CAR variances must agree to 1e-10, and
``n_est`` exactly. A second oracle follows xKDR's own algorithm (``findInterval`` day
0 on the data's dates, ``lm`` on complete cases) for weekend event dates with
``day0_rule = "previous"``.
"""

from __future__ import annotations

import bisect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import make_panel

from eventstudy.config import Conventions, Windows
from eventstudy.errors import WindowError
from eventstudy.study import EventStudy
from eventstudy.workflows import run_study

EVENT = (-5, 5)
CARS = ((0, 0), (-1, 1), (-5, 5))
MIN_OBS = 60
PANEL = make_panel(n_pairs=6, planted=0.02, seed=21, n_days=420, first_event=200,
                   spacing=25)
DATES = PANEL.returns.index
FIRST = {"S00": 0, "S01": 40, "S02": 130, "S03": 7, "S04": 175, "S05": 100}
"""Position of each security's first return (its events are at 200, 225, ..., 325):
S02 and S04 have the shortest histories (see test_sample_sizes_written_out)."""


def _returns() -> pd.DataFrame:
    """The panel's returns, each security starting at its own date, with a few
    missing days inside (a missing market day drops the day for every pair)."""
    r = PANEL.returns.copy()
    for t, f in FIRST.items():
        r.iloc[:f, r.columns.get_loc(t)] = np.nan
    r.iloc[150, r.columns.get_loc("S01")] = np.nan
    r.iloc[60, r.columns.get_loc("MKT")] = np.nan
    r.iloc[199, r.columns.get_loc("S05")] = np.nan
    return r


RETURNS = _returns()


def _windows(gap: int, min_obs: int = MIN_OBS) -> Windows:
    return Windows(event=EVENT, car=CARS, min_estimation_obs=min_obs,
                   estimation_mode="all", estimation_gap=gap)


def _fit(windows: Windows, data: pd.DataFrame = RETURNS, kind: str = "returns",
         **kw: object) -> object:
    return EventStudy(data, PANEL.events, kind=kind,  # type: ignore[arg-type]
                      calendar="FX", benchmark="MKT", windows=windows,
                      ).fit(tests=("csect_t",), **kw)  # type: ignore[arg-type]


def _oracle(gap: int, rets: pd.DataFrame = RETURNS
            ) -> dict[str, dict[str, object]]:
    """Per event: the estimation sample built by hand (first return .. day
    EVENT[0] - gap - 1, complete cases) and statsmodels OLS on it."""
    out: dict[str, dict[str, object]] = {}
    for eid, t in zip(PANEL.events["event_id"], PANEL.events["ticker"], strict=True):
        p0 = PANEL.day0_pos[eid]
        y_all = rets[t].to_numpy()
        x_all = rets["MKT"].to_numpy()
        first = int(np.flatnonzero(np.isfinite(y_all))[0])
        last = p0 + EVENT[0] - gap - 1
        keep = [p for p in range(first, last + 1)
                if np.isfinite(y_all[p]) and np.isfinite(x_all[p])]
        y, x = y_all[keep], x_all[keep]
        if len(keep) < MIN_OBS:
            out[eid] = {"n_est": len(keep)}
            continue
        X = sm.add_constant(x)
        ols = sm.OLS(y, X).fit()
        evt = np.arange(p0 + EVENT[0], p0 + EVENT[1] + 1)
        xe = x_all[evt]
        ar = y_all[evt] - ols.params[0] - ols.params[1] * xe
        s2 = ols.ssr / (len(keep) - 2)
        # Var(CAR) with the prediction-error term (CLM 1997 eq. 4.4.x): sigma^2
        # (d + g' X*(X'X)^-1 X*' g) over the CAR's days
        xtx_inv = np.linalg.inv(X.T @ X)
        cvar = {}
        for a, b in CARS:
            xs = sm.add_constant(xe[a - EVENT[0]:b - EVENT[0] + 1], has_constant="add")
            g = np.ones(len(xs))
            cvar[(a, b)] = s2 * (len(xs) + g @ xs @ xtx_inv @ xs.T @ g)
        out[eid] = {"alpha": ols.params[0], "beta": ols.params[1],
                    "sigma": np.sqrt(s2), "n_est": len(keep), "ar": ar,
                    "car_var": cvar}
    return out


@pytest.mark.parametrize("gap", [0, 10])
def test_all_data_estimation_matches_statsmodels(gap: int) -> None:
    res = _fit(_windows(gap))
    oracle = _oracle(gap)
    d = res.diagnostics.set_index("event_id")  # type: ignore[attr-defined]
    ex = res.excluded  # type: ignore[attr-defined]
    ar = res.abnormal_returns  # type: ignore[attr-defined]
    car = res.car  # type: ignore[attr-defined]
    kept = {e for e, o in oracle.items() if "alpha" in o}
    assert set(d.index) == kept
    for eid, o in oracle.items():
        if eid not in kept:
            reason = ex.loc[ex["event_id"] == eid, "reason"].tolist()
            assert reason == [f"only {o['n_est']} estimation returns (minimum "
                              f"{MIN_OBS})"], eid
            continue
        row = d.loc[eid]
        assert row["n_est"] == o["n_est"], eid
        for col in ("alpha", "beta", "sigma"):
            assert row[col] == pytest.approx(o[col], abs=1e-10, rel=0), (eid, col)
        got = ar[ar["event_id"] == eid].sort_values("rel_day")
        np.testing.assert_allclose(got["abnormal_return"].to_numpy(),
                                   np.asarray(o["ar"]), rtol=0, atol=1e-10)
        for (a, b), v in o["car_var"].items():  # type: ignore[attr-defined]
            c = car[(car["event_id"] == eid) & (car["window_start"] == a)
                    & (car["window_end"] == b)]
            assert len(c) == 1
            assert float(c["car_se"].iloc[0]) ** 2 == pytest.approx(v, rel=1e-10,
                                                                    abs=0)


def test_sample_sizes_written_out() -> None:
    """n_est by hand: first return .. p0 - 6 - gap, less the missing days (S01 on
    150, the market on 60, S05 on 199)."""
    for gap, expect in (
            (0, {"ev00": 195 - 1, "ev01": 220 - 40 - 2, "ev02": 245 - 130,
                 "ev03": 270 - 7 - 1, "ev04": 295 - 175, "ev05": 320 - 100 - 1}),
            (10, {"ev00": 185 - 1, "ev01": 210 - 40 - 2, "ev02": 235 - 130,
                  "ev03": 260 - 7 - 1, "ev04": 285 - 175, "ev05": 310 - 100 - 1})):
        got = {e: o["n_est"] for e, o in _oracle(gap).items()}
        assert got == expect, gap
        res = _fit(_windows(gap))
        d = res.diagnostics.set_index("event_id")["n_est"]  # type: ignore[attr-defined]
        assert d.to_dict() == {e: n for e, n in expect.items() if n >= MIN_OBS}


def test_min_estimation_obs_applies_to_the_whole_history() -> None:
    """With min 116, S02 (115 returns at gap 0) goes and S04 (120) stays."""
    res = _fit(_windows(0, min_obs=116))
    ex = res.excluded  # type: ignore[attr-defined]
    assert ex[["event_id", "reason"]].values.tolist() == [
        ["ev02", "only 115 estimation returns (minimum 116)"]]
    res = _fit(_windows(10, min_obs=116))
    ex = res.excluded  # type: ignore[attr-defined]
    assert ex[["event_id", "reason"]].values.tolist() == [
        ["ev02", "only 105 estimation returns (minimum 116)"],
        ["ev04", "only 110 estimation returns (minimum 116)"]]


def test_prices_start_one_session_after_the_first_price() -> None:
    """From prices, the first return is the day after the first price."""
    px = {}
    for t in RETURNS.columns:
        r = PANEL.returns[t].to_numpy().copy()
        f = FIRST.get(t, 0)
        p = np.full(len(r), np.nan)
        p[f:] = 50.0 * np.cumprod(1.0 + np.r_[0.0, r[f + 1:]])
        px[t] = p
    prices = pd.DataFrame(px, index=DATES)
    rets = prices.pct_change(fill_method=None)
    res = _fit(_windows(0), data=prices, kind="prices")
    oracle = _oracle(0, rets)
    d = res.diagnostics.set_index("event_id")  # type: ignore[attr-defined]
    for eid, o in oracle.items():
        if "alpha" not in o:
            continue
        assert d.loc[eid, "n_est"] == o["n_est"]
        assert d.loc[eid, "beta"] == pytest.approx(o["beta"], abs=1e-10, rel=0)
        assert d.loc[eid, "sigma"] == pytest.approx(o["sigma"], abs=1e-10, rel=0)
    assert d.loc["ev02", "n_est"] == 245 - 131  # price at 130, returns from 131


def test_all_equals_a_fixed_window_from_each_pairs_first_return() -> None:
    """One pair at a time, "all" is the fixed window [first - p0, -6]: bitwise
    the same numbers, with the window market moments and BHAR too."""
    for conv in (Conventions(), Conventions(market_moments="window"),
                 Conventions(aggregation="bhar", sigma_dof="sample")):
        for i, t in ((1, "S01"), (4, "S04")):
            ev = PANEL.events.iloc[[i]]
            p0 = PANEL.day0_pos[str(ev["event_id"].iloc[0])]
            fixed = Windows(estimation=(FIRST[t] - p0, EVENT[0] - 1), event=EVENT,
                            car=CARS, min_estimation_obs=MIN_OBS)
            data = RETURNS[[t, "MKT"]]
            a = EventStudy(data, ev, kind="returns", calendar="FX", benchmark="MKT",
                           windows=_windows(0)).fit(tests=("csect_t",),
                                                    conventions=conv)
            b = EventStudy(data, ev, kind="returns", calendar="FX", benchmark="MKT",
                           windows=fixed).fit(tests=("csect_t",), conventions=conv)
            for name in ("abnormal_returns", "car", "diagnostics"):
                pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name),
                                              check_exact=False, rtol=0,
                                              atol=1e-13)


def test_window_market_moments_start_at_the_pairs_first_return() -> None:
    """In a study of several pairs the gathered window starts at the earliest first
    price (S00's); S04's market moments still start at its own first return, so
    its numbers equal its run alone."""
    conv = Conventions(market_moments="window")
    together = _fit(_windows(0), conventions=conv)
    ev = PANEL.events.iloc[[4]]
    alone = EventStudy(RETURNS[["S04", "MKT"]], ev, kind="returns", calendar="FX",
                       benchmark="MKT", windows=_windows(0)).fit(
                           tests=("csect_t",), conventions=conv)
    a = together.car  # type: ignore[attr-defined]
    a = a[a["event_id"] == "ev04"].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, alone.car, check_exact=False, rtol=0,
                                  atol=1e-13)


def test_numba_kernel_agrees() -> None:
    w = _windows(10)
    a = _fit(w, kernel="numpy")
    b = _fit(w, kernel="numba")
    for name in ("abnormal_returns", "car", "diagnostics"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name),
                                      check_exact=False, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------ xKDR's own algorithm
def _xkdr(rets: pd.DataFrame, events: pd.DataFrame, w: int
          ) -> dict[str, np.ndarray]:
    """ARs as xKDR eventstudies' eventstudy(type = "marketModel") computes them:
    phys2eventtime's day 0 = findInterval(when, index) (the last data date at or
    before the event date), estimation.period = first row .. -w, event.period =
    (-w + 1) .. w, lm(firm ~ market) with na.exclude (complete cases)."""
    index = list(rets.index)
    out = {}
    for eid, t, when in zip(events["event_id"], events["ticker"],
                            events["timestamp"], strict=True):
        loc = bisect.bisect_right(index, pd.Timestamp(when)) - 1  # findInterval
        rel = np.arange(len(index)) - loc
        y, x = rets[t].to_numpy(), rets["MKT"].to_numpy()
        est = (rel <= -w) & np.isfinite(y) & np.isfinite(x)
        fit = sm.OLS(y[est], sm.add_constant(x[est])).fit()
        evt = (rel >= -w + 1) & (rel <= w)
        out[eid] = y[evt] - fit.params[0] - fit.params[1] * x[evt]
    return out


def test_reproduces_xkdr_market_model_on_weekend_dates() -> None:
    """event.window = 5: our event = [-4, 5], estimation = "all", gap 0, day 0 the
    previous session; events on Saturdays and Sundays go back to Friday."""
    ev = PANEL.events.copy()
    stamps = []
    for i, eid in enumerate(ev["event_id"]):
        d = DATES[PANEL.day0_pos[eid]]
        friday = d - pd.Timedelta(days=(d.weekday() - 4) % 7)  # on or before d
        # Friday itself, the Saturday or the Sunday after it
        stamps.append((friday + pd.Timedelta(days=i % 3)).strftime("%Y-%m-%d"))
    ev["timestamp"] = stamps
    w = Windows(estimation_mode="all", estimation_gap=0, event=(-4, 5),
                car=((0, 0),), min_estimation_obs=MIN_OBS, day0_rule="previous")
    res = EventStudy(RETURNS, ev, kind="returns", calendar="FX", benchmark="MKT",
                     windows=w).fit(tests=("csect_t",))
    ref = _xkdr(RETURNS, ev, 5)
    ar = res.abnormal_returns  # type: ignore[attr-defined]
    rules = dict(zip(ar["event_id"], ar["day0_rule"], strict=False))
    assert {rules[e] for e in ref} == {"date_only", "date_only_weekend_previous"}
    for eid, x in ref.items():
        got = ar[ar["event_id"] == eid].sort_values("rel_day")
        assert got["day0"].iloc[0].weekday() == 4, eid  # a Friday
        np.testing.assert_allclose(got["abnormal_return"].to_numpy(), x, rtol=0,
                                   atol=1e-10)


# ------------------------------------------------------------ files and run.json
STUDY = """\
[study]
events = "events.csv"
universe = "universe.csv"

[windows]
estimation = "all"
estimation_gap = 10
event = [-5, 5]
car = [[0, 0], [-1, 1], [-5, 5]]
min_estimation_obs = 60
day0_rule = "previous"

[tests]
names = ["csect_t"]

[data]
source = "file"
prices = "prices.csv"
"""


def test_study_file_run_records_the_conventions(tmp_path: Path) -> None:
    px = 50.0 * (1.0 + PANEL.returns).cumprod()
    for t, f in FIRST.items():  # each security's first price
        px.iloc[:f, px.columns.get_loc(t)] = np.nan
    long = px.rename_axis("date").reset_index().melt(
        id_vars="date", var_name="ticker", value_name="close").dropna()
    long["date"] = long["date"].dt.strftime("%Y-%m-%d")
    long.to_csv(tmp_path / "prices.csv", index=False)
    # one security per event: the group is the ticker
    ev = PANEL.events.copy()
    ev["groups"] = ev["ticker"]
    ev.drop(columns="ticker").to_csv(tmp_path / "events.csv", index=False)
    pd.DataFrame({"ticker": list(FIRST), "group": list(FIRST), "calendar": "FX",
                  "benchmark": "MKT"}).to_csv(tmp_path / "universe.csv", index=False)
    (tmp_path / "study.toml").write_text(STUDY, encoding="utf-8")
    out = tmp_path / "out"
    run_study(tmp_path / "study.toml", out_dir=out)
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    win = info["parameters"]["windows"]
    assert win == {"estimation": [-75, -16], "event": [-5, 5],
                   "car": [[0, 0], [-1, 1], [-5, 5]], "min_estimation_obs": 60,
                   "estimation_mode": "all", "estimation_gap": 10,
                   "day0_rule": "previous"}
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "estimation [first return, -16] (all data, gap 10)" in summary
    assert "maps to the previous session (day0_rule = previous)" in summary


def test_a_fixed_window_is_untouched_by_the_new_keys() -> None:
    """estimation_gap may repeat a fixed window's own gap (stored as None), and
    the default rule changes nothing: bit-identical results."""
    base = Windows(estimation=(-120, -11), event=(-10, 10), car=((0, 0),),
                   min_estimation_obs=60)
    same = Windows(estimation=(-120, -11), event=(-10, 10), car=((0, 0),),
                   min_estimation_obs=60, estimation_gap=0, day0_rule="next")
    assert same == base and same.estimation_gap is None
    a, b = _fit(base), _fit(same)
    for name in ("abnormal_returns", "car", "tests", "diagnostics", "excluded"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name),
                                      check_exact=True)
    with pytest.raises(WindowError, match=r"estimation_gap = 3 disagrees with the "
                       r"estimation window \[-120, -11\], which ends 0 session"):
        Windows(estimation=(-120, -11), event=(-10, 10), estimation_gap=3)
