"""Value-weighted aggregates: independent references, invariances and the edges.

The references are written from the formulas in the README ("Value weights") with
plain Python loops over the pairs, separately from :mod:`eventstudy.inference`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_inference import ALL, GROUPS, make_data

from eventstudy import EventStudy
from eventstudy.config import Conventions, Windows
from eventstudy.errors import InputError
from eventstudy.inference import TESTS, WEIGHTED_TESTS, Groups, run_tests

TOL = 1e-10
WEIGHTS = np.array([3.0, 0.5, 10.0, 1.0, 2.5, 7.0, 0.2, 4.0, 1.5])


def _members(g: Groups, k: int, ok: np.ndarray) -> list[int]:
    return [i for i in range(len(g.codes)) if g.codes[i] == k and ok[i]]


def ref_csect(x: np.ndarray, w: np.ndarray, g: Groups, k: int) -> tuple[float, float]:
    idx = _members(g, k, np.isfinite(x))
    n = len(idx)
    sw = sum(w[i] for i in idx)
    m = sum(w[i] * x[i] for i in idx) / sw
    v = n / (n - 1) * sum((w[i] / sw) ** 2 * (x[i] - m) ** 2 for i in idx)
    t = m / math.sqrt(v)
    return t, 2 * stats.t.sf(abs(t), n - 1)


def ref_patell(s: np.ndarray, dof: np.ndarray, w: np.ndarray, g: Groups, k: int
               ) -> float:
    idx = _members(g, k, np.isfinite(s) & (dof > 2))
    num = sum(w[i] * s[i] for i in idx)
    den = sum(w[i] ** 2 * dof[i] / (dof[i] - 2) for i in idx)
    return num / math.sqrt(den)


def ref_bw1980(x: np.ndarray, s2: np.ndarray, w: np.ndarray, length: int, g: Groups,
               k: int) -> float:
    idx = _members(g, k, np.isfinite(x) & np.isfinite(s2))
    sw = sum(w[i] for i in idx)
    m = sum(w[i] * x[i] for i in idx) / sw
    sd = math.sqrt(sum(w[i] ** 2 * s2[i] for i in idx)) / sw
    return m / (math.sqrt(length) * sd)


def ref_bw_t(resid: np.ndarray, x: np.ndarray, w: np.ndarray, length: int, g: Groups,
             k: int) -> tuple[float, float]:
    """t and df: S from the value-weighted estimation-day AAR series."""
    series = []
    for t in range(resid.shape[1]):
        idx = _members(g, k, np.isfinite(resid[:, t]))
        if idx:
            series.append(sum(w[i] * resid[i, t] for i in idx)
                          / sum(w[i] for i in idx))
    S = float(np.std(series, ddof=1))
    idx = _members(g, k, np.isfinite(x))
    m = sum(w[i] * x[i] for i in idx) / sum(w[i] for i in idx)
    return m / (math.sqrt(length) * S), len(series) - 1


@pytest.mark.parametrize("g", [GROUPS, ALL], ids=["group", "all"])
def test_weighted_tests_match_hand_formulas(g: Groups) -> None:
    d = replace(make_data(), weight=WEIGHTS)
    for win in d.windows():
        x = win.value
        s = win.standardized
        r_cs = TESTS["csect_t"](d, win, g)
        r_bmp = TESTS["bmp"](d, win, g)
        r_pat = TESTS["patell"](d, win, g)
        r_b80 = TESTS["bw_1980"](d, win, g)
        r_bw = TESTS["bw_t"](d, win, g)
        for k in range(g.n):
            t, p = ref_csect(x, WEIGHTS, g, k)
            assert abs(r_cs.statistic[k] - t) < TOL and abs(r_cs.p_value[k] - p) < TOL
            t, p = ref_csect(s, WEIGHTS, g, k)
            assert abs(r_bmp.statistic[k] - t) < TOL and abs(r_bmp.p_value[k] - p) < TOL
            z = ref_patell(s, d.dof, WEIGHTS, g, k)
            assert abs(r_pat.statistic[k] - z) < TOL
            assert abs(r_pat.p_value[k] - 2 * stats.norm.sf(abs(z))) < TOL
            z = ref_bw1980(x, d.sigma2, WEIGHTS, win.length, g, k)
            assert abs(r_b80.statistic[k] - z) < TOL
            t, df = ref_bw_t(d.resid, x, WEIGHTS, win.length, g, k)
            assert abs(r_bw.statistic[k] - t) < TOL
            assert abs(r_bw.p_value[k] - 2 * stats.t.sf(abs(t), df)) < TOL
            # every weighted test reports the value-weighted mean
            idx = _members(g, k, np.isfinite(x))
            m = sum(WEIGHTS[i] * x[i] for i in idx) / sum(WEIGHTS[i] for i in idx)
            for r in (r_cs, r_pat, r_b80, r_bw):
                assert abs(r.extra["mean"][k] - m) < TOL


def test_equal_weights_reproduce_the_unweighted_tests() -> None:
    d = make_data()
    dw = replace(make_data(), weight=np.full(9, 3.7))
    for name in sorted(WEIGHTED_TESTS):
        for win in d.windows():
            for g in (GROUPS, ALL):
                a, b = TESTS[name](d, win, g), TESTS[name](dw, win, g)
                np.testing.assert_allclose(b.statistic, a.statistic, rtol=0,
                                           atol=1e-12, equal_nan=True)
                np.testing.assert_allclose(b.extra["mean"], a.extra["mean"],
                                           rtol=0, atol=1e-14, equal_nan=True)


def test_weights_scale_free_and_other_tests_untouched() -> None:
    d = replace(make_data(), weight=WEIGHTS)
    d2 = replace(make_data(), weight=WEIGHTS * 1e6)
    plain = make_data()
    for win in d.windows():
        for name in TESTS:
            if name == "boot":
                continue
            a, b = TESTS[name](d, win, GROUPS), TESTS[name](d2, win, GROUPS)
            np.testing.assert_allclose(b.statistic, a.statistic, rtol=1e-12,
                                       atol=1e-12, equal_nan=True)
            if name not in WEIGHTED_TESTS:
                c = TESTS[name](plain, win, GROUPS)
                np.testing.assert_array_equal(a.statistic, c.statistic)


def test_weighting_column_in_tests_table() -> None:
    d = replace(make_data(), weight=WEIGHTS)
    pairs = pd.DataFrame({"event_id": [f"e{i}" for i in range(9)],
                          "group": np.where(GROUPS.codes == 0, "a", "b")})
    t = run_tests(d, pairs, ("csect_t", "corrado"), Windows(), scopes=("all",))
    assert list(t.columns)[-1] == "weighting"
    assert set(t.loc[t["test"] == "csect_t", "weighting"]) == {"value"}
    assert set(t.loc[t["test"] == "corrado", "weighting"]) == {"equal"}
    plain = run_tests(make_data(), pairs, ("csect_t",), Windows(), scopes=("all",))
    assert "weighting" not in plain.columns


# ------------------------------------------------------------------ engine edges
def _study(mcap: list[float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    d = pd.bdate_range("2022-01-03", periods=330)
    m = rng.normal(0, 0.01, len(d))
    cols = {f"S{i}": m * (0.5 + 0.1 * i) + rng.normal(0, 0.02, len(d))
            for i in range(8)}
    cols["M"] = m
    ret = pd.DataFrame(cols, index=d)
    ev = pd.DataFrame({"event_id": [f"e{i}" for i in range(8)],
                       "timestamp": [str(d[300 + i % 3].date()) for i in range(8)],
                       "ticker": [f"S{i}" for i in range(8)]})
    if mcap is not None:
        ev["mcap"] = mcap
    return ret, ev


def test_engine_weights_from_events_and_exclusions() -> None:
    mcap = [5.0, 1.0, float("nan"), 2.0, 0.0, 8.0, 3.0, 4.0]
    ret, ev = _study(mcap)
    es = EventStudy(ret, ev, kind="returns", calendar="FX", benchmark="M")
    res = es.fit(tests=("csect_t", "sign"), conventions=Conventions(weights="mcap"),
                 scopes=("all",))
    ex = res.excluded_.set_index("event_id")["reason"]
    assert sorted(ex.index) == ["e2", "e4"]
    assert all("value weight 'mcap'" in r for r in ex)
    w = np.array([5.0, 1.0, 2.0, 8.0, 3.0, 4.0])
    car = np.asarray(res.car_arr).reshape(res.n_pairs, -1)[:, 0]
    t = res.tests_
    row = t[(t["test"] == "csect_t") & (t["window_kind"] == "car")].iloc[0]
    assert abs(row["mean"] - (w * car).sum() / w.sum()) < 1e-15
    assert any("sign have no value-weighted form" in x for x in res.data_warnings)
    assert set(t["weighting"]) == {"value", "equal"}


def test_engine_weights_from_universe(tmp_path: Path) -> None:
    ret, ev = _study()
    ev = ev.drop(columns=["ticker"])
    ev["groups"] = "g"
    uni = pd.DataFrame({"ticker": [f"S{i}" for i in range(8)], "group": "g",
                        "calendar": "FX", "benchmark": "M",
                        "mcap": [str(1 + i) for i in range(8)]})
    es = EventStudy(ret, ev, uni, kind="returns", calendar="FX", benchmark="M")
    res = es.fit(tests=("csect_t",), conventions=Conventions(weights="mcap"),
                 scopes=("all",))
    assert len(res.excluded_) == 0
    # 8 events x 8 securities of group g: each pair weighted by its security
    np.testing.assert_array_equal(res.pairs_["weight"].to_numpy(),
                                  np.tile(1.0 + np.arange(8), 8))


def test_weights_bad_inputs_are_clear_errors() -> None:
    ret, ev = _study([1.0] * 8)
    es = EventStudy(ret, ev, kind="returns", calendar="FX", benchmark="M")
    with pytest.raises(InputError, match="names no column"):
        es.fit(conventions=Conventions(weights="nope"))
    with pytest.raises(InputError, match="estudy2 has no value weights"):
        es.fit(conventions=replace(Conventions.profile("estudy2"), weights="mcap"))


def test_cli_run_with_value_weights(tmp_path: Path) -> None:
    """``[conventions] weights`` in a study file, weights from the universe CSV."""
    import json

    from click.testing import CliRunner
    from conftest import write_mini_study

    from eventstudy.cli import cli as main

    ms = write_mini_study(tmp_path / "s")
    ms.universe.write_text("ticker,name,group,calendar,benchmark,currency,model,mcap\n"
                           "AAA,Alpha,g,XNYS,MKT,USD,,300\n"
                           "BBB,Beta,g,XNYS,MKT,USD,,100\n", encoding="utf-8")
    ms.study.write_text(ms.study.read_text(encoding="utf-8")
                        + '\n[conventions]\nweights = "mcap"\n', encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(ms.study), "--prices", str(ms.prices),
                                  "--out", str(out)])
    assert r.exit_code == 0, r.output
    tests = pd.read_csv(out / "tests.csv")
    car = pd.read_csv(out / "car.csv")
    assert set(tests["weighting"]) == {"value"}
    row = tests[(tests["scope"] == "all") & (tests["test"] == "csect_t")
                & (tests["window_kind"] == "car") & (tests["window_start"] == 0)
                & (tests["window_end"] == 0)].iloc[0]
    c = car[(car["window_start"] == 0) & (car["window_end"] == 0)]
    w = c["ticker"].map({"AAA": 300.0, "BBB": 100.0}).to_numpy()
    assert abs(row["mean"] - (w * c["car"]).sum() / w.sum()) < 1e-12
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["parameters"]["conventions"]["weights"] == "mcap"
    ms.study.write_text(ms.study.read_text(encoding="utf-8").replace(
        'weights = "mcap"', 'weights = "cap"'), encoding="utf-8")
    r = CliRunner().invoke(main, ["run", str(ms.study), "--prices", str(ms.prices),
                                  "--out", str(tmp_path / "out2")])
    assert r.exit_code == 2
    assert "names no column" in r.output and "Traceback" not in r.output
