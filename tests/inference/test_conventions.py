"""Per-test conventions (issue #19 part 1): each option against a plain loop from
its formula, the profiles as data, the study-file keys and their errors, and the
size of the tests under the ``eventstudytools`` conventions on null data.

Formulas (sources in the docstrings of :func:`eventstudy.inference.parametric.patell`,
:func:`~eventstudy.inference.parametric.bmp`, :func:`~eventstudy.inference.rank.corrado`
and ``docs/conventions.md``):

* forecast error off for one test: SAR_i = AR_i / sigma_i, SCAR_i = CAR_i /
  (sigma_i sqrt(L2_i)) (Campbell, Lo & MacKinlay 1997, sec. 4.4, without the
  prediction-error term);
* ``patell_car = "patell1976"``: Z = (1/sqrt N) sum_i CSAR_i / sqrt(L2_i (L_i -
  k)/(L_i - k - 2)), CSAR_i = sum_t SAR_it (Patell 1976; Dodd & Warner 1983);
* ``corrado_divisor = "T-1"``: S_K^2 = sum_t K-bar_t^2 / (T - 1) (Corrado 1989 with
  R's ``sd()`` divisor, EventStudyTools' R package).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eventstudy.config import Conventions, Windows, load_study
from eventstudy.errors import StudyFileError, UnknownNameError
from eventstudy.inference import TESTS, Groups, PairData
from eventstudy.options import FORECAST_ERROR_TESTS, PROFILES
from eventstudy.study import EventStudy

TOL = 1e-10
CODES = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0])
GROUPS = Groups("group", CODES, ("a", "b"))
CARS = ((0, 4), (1, 2), (2, 2))


def make(conv: Conventions, seed: int = 3, P: int = 12, Le: int = 50,
         W: int = 5) -> PairData:
    """Synthetic pairs: estimation residuals and event ARs with missing days, the
    engine's variances with the forecast-error term (leverages h_it per day and a
    window leverage per CAR window)."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 2.0, P)[:, None]
    resid = rng.normal(0.0, 1.0, (P, Le)) * scale
    ar = rng.normal(0.2, 1.3, (P, W)) * scale
    resid[0, :6] = np.nan
    resid[4, 20:23] = np.nan
    ar[2, 1] = np.nan
    ar[7, 3] = np.nan
    nobs = np.isfinite(resid).sum(axis=1).astype(np.float64)
    dof = nobs - 2
    sigma2 = np.nansum(resid**2, axis=1) / dof
    lev = rng.uniform(0.005, 0.06, (P, W))
    day_var = sigma2[:, None] * (1 + lev)
    C = len(CARS)
    car = np.full((P, C), np.nan)
    car_var = np.full((P, C), np.nan)
    car_days = np.zeros((P, C), dtype=np.int64)
    for j, (a, b) in enumerate(CARS):
        blk = ar[:, a:b + 1]
        d = np.isfinite(blk).sum(axis=1)
        wl = rng.uniform(0.01, 0.3, P) * d
        car[:, j] = np.where(d > 0, np.nansum(blk, axis=1), np.nan)
        car_var[:, j] = sigma2 * (d + wl)
        car_days[:, j] = d
    return PairData(
        sigma2=sigma2, dof=dof, nobs=nobs, resid=resid, ar=ar,
        sar=ar / np.sqrt(day_var), day_var=day_var, car=car, car_var=car_var,
        car_days=car_days, cluster=np.zeros(P, dtype=np.int64),
        est_dates=np.tile(np.arange(Le, dtype=np.int64), (P, 1)),
        rel_days=np.arange(W), car_windows=CARS, day_lev=lev,
        conventions=conv, profile=conv.test_profile)


def windows(d: PairData) -> list[Any]:
    return d.windows()


def loop_std(d: PairData, w: Any, fe: bool) -> list[float]:
    """SAR_i / SCAR_i by a loop: the engine's variance with the correction, sigma^2
    (day) or sigma^2 L2_i (CAR) without it."""
    out = []
    for i in range(d.n_pairs):
        if w.car_index < 0:
            var = d.day_var[i, w.day_index] if fe else d.sigma2[i]
        else:
            days = d.car_days[i, w.car_index]
            var = d.car_var[i, w.car_index] if fe else d.sigma2[i] * days
        out.append(w.value[i] / np.sqrt(var) if np.isfinite(w.value[i]) and var > 0
                   else np.nan)
    return out


def loop_patell_exact(d: PairData, w: Any, fe: bool) -> list[float]:
    s = loop_std(d, w, fe)
    z = []
    for g in range(GROUPS.n):
        num = den = 0.0
        for i in range(d.n_pairs):
            if CODES[i] == g and np.isfinite(s[i]) and d.dof[i] > 2:
                num += s[i]
                den += d.dof[i] / (d.dof[i] - 2)
        z.append(num / np.sqrt(den))
    return z


def loop_patell1976(d: PairData, w: Any, fe: bool) -> list[float]:
    z = []
    for g in range(GROUPS.n):
        total, n = 0.0, 0
        for i in range(d.n_pairs):
            if CODES[i] != g or not np.isfinite(w.value[i]) or d.dof[i] <= 2:
                continue
            csar, days = 0.0, 0
            for t in range(w.start, w.end + 1):
                a = d.ar[i, t]
                if np.isnan(a):
                    continue
                sd = np.sqrt(d.day_var[i, t]) if fe else np.sqrt(d.sigma2[i])
                csar += a / sd
                days += 1
            total += csar / np.sqrt(days * d.dof[i] / (d.dof[i] - 2))
            n += 1
        z.append(total / np.sqrt(n))
    return z


def loop_bmp(d: PairData, w: Any, fe: bool) -> tuple[list[float], list[float]]:
    s = loop_std(d, w, fe)
    ts, ps = [], []
    for g in range(GROUPS.n):
        x = [s[i] for i in range(d.n_pairs) if CODES[i] == g and np.isfinite(s[i])]
        n = len(x)
        m = sum(x) / n
        sd = np.sqrt(sum((v - m) ** 2 for v in x) / (n - 1))
        t = m / (sd / np.sqrt(n))
        ts.append(t)
        ps.append(2 * stats.t.sf(abs(t), n - 1))
    return ts, ps


def loop_corrado(d: PairData, w: Any, divisor: str) -> list[float]:
    """Corrado (1989): ranks within each pair over its estimation and event days,
    K-bar_t over the group's pairs with data, S_K^2 = sum_t K-bar_t^2 / (T or T - 1);
    a CAR window sums the daily Z over its days with data / sqrt(days)."""
    V = np.hstack([d.resid, d.ar])
    dev = np.full(V.shape, np.nan)
    for i in range(V.shape[0]):
        ok = np.isfinite(V[i])
        dev[i, ok] = stats.rankdata(V[i, ok]) - (ok.sum() + 1) / 2
    Le = d.resid.shape[1]
    out = []
    for g in range(GROUPS.n):
        kbar = []
        for t in range(V.shape[1]):
            vals = [dev[i, t] for i in range(V.shape[0])
                    if CODES[i] == g and np.isfinite(dev[i, t])]
            kbar.append(sum(vals) / len(vals) if vals else np.nan)
        days = [k for k in kbar if np.isfinite(k)]
        T = len(days)
        S = np.sqrt(sum(k * k for k in days) / (T if divisor == "T" else T - 1))
        zs = [kbar[Le + t] / S for t in range(w.start, w.end + 1)
              if np.isfinite(kbar[Le + t])]
        out.append(sum(zs) / np.sqrt(len(zs)))
    return out


@pytest.mark.parametrize("fe", [True, False])
def test_patell_forecast_error_per_test_equals_a_loop(fe: bool) -> None:
    conv = Conventions(forecast_error_by_test={"patell": fe})
    d = make(conv)
    for w in windows(d):
        r = TESTS["patell"](d, w, GROUPS)
        np.testing.assert_allclose(r.statistic, loop_patell_exact(d, w, fe),
                                   rtol=TOL, atol=TOL)
        np.testing.assert_allclose(r.p_value, 2 * stats.norm.sf(np.abs(r.statistic)),
                                   rtol=TOL, atol=TOL)


@pytest.mark.parametrize("fe", [True, False])
def test_patell1976_car_form_equals_a_loop(fe: bool) -> None:
    conv = Conventions(patell_car="patell1976", forecast_error_by_test={"patell": fe})
    d = make(conv)
    exact = make(Conventions(forecast_error_by_test={"patell": fe}))
    for w, we in zip(windows(d), windows(exact), strict=True):
        r = TESTS["patell"](d, w, GROUPS)
        if w.car_index < 0:  # a single day: the same in both forms
            np.testing.assert_array_equal(r.statistic,
                                          TESTS["patell"](exact, we, GROUPS).statistic)
            continue
        want = loop_patell1976(d, w, fe)
        np.testing.assert_allclose(r.statistic, want, rtol=TOL, atol=TOL)
        assert not np.allclose(r.statistic, loop_patell_exact(d, w, fe))
        np.testing.assert_array_equal(r.n, [7, 5])  # every pair has a CAR


def test_patell1976_does_not_change_patell_kp() -> None:
    """The Kolari-Pynnonen Patell keeps the exact SCAR (its own test)."""
    a = make(Conventions(patell_car="patell1976"))
    b = make(Conventions())
    for wa, wb in zip(windows(a), windows(b), strict=True):
        np.testing.assert_array_equal(TESTS["patell_kp"](a, wa, GROUPS).statistic,
                                      TESTS["patell_kp"](b, wb, GROUPS).statistic)


@pytest.mark.parametrize("fe", [True, False])
def test_bmp_forecast_error_per_test_equals_a_loop(fe: bool) -> None:
    d = make(Conventions(forecast_error_by_test={"bmp": fe}))
    for w in windows(d):
        r = TESTS["bmp"](d, w, GROUPS)
        t, p = loop_bmp(d, w, fe)
        np.testing.assert_allclose(r.statistic, t, rtol=TOL, atol=TOL)
        np.testing.assert_allclose(r.p_value, p, rtol=TOL, atol=TOL)


def test_forecast_error_of_one_test_leaves_the_others() -> None:
    """bmp without the correction; patell (and csect_t, corrado...) unchanged."""
    off = make(Conventions(forecast_error_by_test={"bmp": False}))
    on = make(Conventions())
    for wa, wb in zip(windows(off), windows(on), strict=True):
        for name in ("patell", "patell_kp", "bmp_kp", "csect_t", "series_t"):
            np.testing.assert_array_equal(TESTS[name](off, wa, GROUPS).statistic,
                                          TESTS[name](on, wb, GROUPS).statistic)
        assert not np.allclose(TESTS["bmp"](off, wa, GROUPS).statistic,
                               TESTS["bmp"](on, wb, GROUPS).statistic)


def test_weighted_bmp_without_forecast_error_equals_a_loop() -> None:
    d = make(Conventions(forecast_error_by_test={"bmp": False}))
    wgt = np.linspace(1.0, 3.0, d.n_pairs)
    d = replace(d, weight=wgt)
    for w in windows(d):
        s = loop_std(d, w, False)
        want = []
        for g in range(GROUPS.n):
            idx = [i for i in range(d.n_pairs) if CODES[i] == g and np.isfinite(s[i])]
            sw = sum(wgt[i] for i in idx)
            m = sum(wgt[i] * s[i] for i in idx) / sw
            v = len(idx) / (len(idx) - 1) * sum((wgt[i] / sw * (s[i] - m)) ** 2
                                                for i in idx)
            want.append(m / np.sqrt(v))
        np.testing.assert_allclose(TESTS["bmp"](d, w, GROUPS).statistic, want,
                                   rtol=TOL, atol=TOL)


@pytest.mark.parametrize("divisor", ["T", "T-1"])
def test_corrado_divisor_equals_a_loop(divisor: str) -> None:
    d = make(Conventions(corrado_divisor=divisor))  # type: ignore[arg-type]
    for w in windows(d):
        r = TESTS["corrado"](d, w, GROUPS)
        np.testing.assert_allclose(r.statistic, loop_corrado(d, w, divisor),
                                   rtol=TOL, atol=TOL)
        np.testing.assert_allclose(r.p_value, 2 * stats.norm.sf(np.abs(r.statistic)),
                                   rtol=TOL, atol=TOL)


def test_corrado_t_minus_1_under_estudy2_scales_by_its_mean_m() -> None:
    """Under estudy2 T is the group's mean M_i: Z(T-1) = Z(T) sqrt((T - 1)/T)."""
    base = replace(Conventions.profile("estudy2"))
    a = make(base)
    b = make(replace(base, corrado_divisor="T-1"))
    V = np.hstack([a.resid, a.ar])
    M = np.isfinite(V).sum(axis=1)
    for wa, wb in zip(windows(a), windows(b), strict=True):
        za = TESTS["corrado"](a, wa, GROUPS).statistic
        zb = TESTS["corrado"](b, wb, GROUPS).statistic
        if wa.car_index >= 0:  # car_rank_test: the estimation and CAR days
            Mw = (np.isfinite(a.resid).sum(axis=1)
                  + np.isfinite(a.ar[:, wa.start:wa.end + 1]).sum(axis=1))
        else:
            Mw = M
        T = np.array([Mw[CODES == g].mean() for g in range(2)])
        np.testing.assert_allclose(zb, za * np.sqrt((T - 1) / T), rtol=TOL, atol=0)


# ------------------------------------------------------------------ profiles as data
def test_profiles_are_data_with_a_source_for_every_convention() -> None:
    keys = {"sigma_dof", "forecast_error", "market_moments", "forecast_error_by_test",
            "patell_car", "corrado_divisor"}
    assert set(PROFILES) == {"textbook", "estudy2", "eventstudytools"}
    for name, table in PROFILES.items():
        assert set(table) == keys, name
        conv = Conventions.profile(name)  # type: ignore[arg-type]
        assert conv.test_profile == name
        for key, setting in table.items():
            assert len(setting.source) > 20, (name, key)
            got = getattr(conv, key)
            v = setting.value
            want = tuple(sorted(v.items())) if isinstance(v, dict) else v
            assert got == want, (name, key)
    assert Conventions.profile("textbook") == Conventions()


def test_eventstudytools_profile_values() -> None:
    c = Conventions.profile("eventstudytools")
    assert (c.patell_car, c.corrado_divisor, c.sigma_dof, c.forecast_error) == (
        "patell1976", "T-1", "model", True)
    assert [c.forecast_error_for(t) for t in ("patell", "bmp", "art", "cart")] == [
        True, False, False, False]
    assert "eventstudytools.com/significance-tests" in PROFILES["eventstudytools"][
        "patell_car"].source


def test_registry_names_the_conventions_each_test_reads() -> None:
    fe = {n for n, s in TESTS.items() if "forecast_error" in s.conventions}
    assert fe == set(FORECAST_ERROR_TESTS)
    assert {n for n, s in TESTS.items() if "patell_car" in s.conventions} == {"patell"}
    assert {n for n, s in TESTS.items() if "corrado_divisor" in s.conventions} == {
        "corrado"}


def test_conventions_refuse_a_test_correction_without_the_engines() -> None:
    with pytest.raises(UnknownNameError, match="turns the forecast-error correction "
                       "on for patell while forecast_error is False"):
        Conventions(forecast_error=False, forecast_error_by_test={"patell": True})
    with pytest.raises(UnknownNameError, match="forecast_error_by_test test = 'csect_t'"
                       " is not valid; choose one of patell, bmp, art, cart"):
        Conventions(forecast_error_by_test={"csect_t": False})
    with pytest.raises(UnknownNameError, match="patell_car = 'dodd' is not valid"):
        Conventions(patell_car="dodd")  # type: ignore[arg-type]
    off = Conventions(forecast_error=False, forecast_error_by_test={"bmp": False})
    assert off.forecast_error_for("patell") is False


# ------------------------------------------------------------------ study file
def study(tmp_path: Path, conventions: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text('[study]\nevents = "e.csv"\nuniverse = "u.csv"\n\n[conventions]\n'
                 + conventions, encoding="utf-8")
    return p


def test_study_file_eventstudytools_profile_and_overrides(tmp_path: Path) -> None:
    c = load_study(study(tmp_path, 'profile = "eventstudytools"\n')).conventions
    assert c == Conventions.profile("eventstudytools")
    c = load_study(study(tmp_path, 'profile = "eventstudytools"\n'
                         'forecast_error_by_test = {bmp = true, patell = false}\n'
                         'corrado_divisor = "T"\n')).conventions
    assert dict(c.forecast_error_by_test) == {"art": False, "bmp": True,
                                               "cart": False, "patell": False}
    assert (c.corrado_divisor, c.patell_car) == ("T", "patell1976")
    c = load_study(study(tmp_path, 'patell_car = "patell1976"\n')).conventions
    assert c == Conventions(patell_car="patell1976")


@pytest.mark.parametrize(("body", "message"), [
    ('forecast_error = false\nforecast_error_by_test = {art = true}\n',
     "[conventions] forecast_error_by_test turns the forecast-error correction on "
     "for art while forecast_error = false; set forecast_error = true"),
    ('forecast_error_by_test = {lamb = false}\n',
     "[conventions] forecast_error_by_test test = 'lamb' is not valid; choose one of "
     "patell, bmp, art, cart"),
    ('forecast_error_by_test = {bmp = 0}\n',
     "[conventions] forecast_error_by_test.bmp must be true or false, got 0"),
    ('forecast_error_by_test = "bmp"\n',
     "[conventions] forecast_error_by_test must be a table of test = true/false"),
    ('corrado_divisor = "N"\n',
     "[conventions] corrado_divisor = 'N' is not valid; choose one of T, T-1"),
    ('patell_car = 1\n', "[conventions] patell_car = 1 is not valid"),
    ('profile = "est"\n', "[conventions] profile = 'est' is not valid; choose one of "
     "textbook, estudy2, eventstudytools"),
])
def test_study_file_convention_errors_name_the_file_and_key(
        tmp_path: Path, body: str, message: str) -> None:
    p = study(tmp_path, body)
    with pytest.raises((StudyFileError, UnknownNameError)) as err:
        load_study(p)
    assert message in str(err.value)
    assert str(p) in str(err.value)


# ------------------------------------------------------------------ size on null data
def null_study(seed: int = 7, T: int = 1500, n: int = 12, E: int = 150) -> EventStudy:
    """A market model with normal disturbances and no event effect: ``E`` events
    on distinct dates, each on the same ``n`` securities."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-01", periods=T)
    m = rng.normal(0, 0.01, T)
    cols = {"MKT": m}
    for i in range(n):
        cols[f"S{i}"] = 0.0002 + rng.uniform(0.5, 1.5) * m + rng.normal(
            0, rng.uniform(0.01, 0.03), T)
    r = pd.DataFrame(cols, index=dates)
    d0 = rng.choice(np.arange(300, T - 20), E, replace=False)
    ev = pd.DataFrame({"event_id": [f"e{j}" for j in range(E)],
                       "timestamp": [str(dates[k].date()) for k in d0], "groups": "g"})
    uni = pd.DataFrame({"ticker": [f"S{i}" for i in range(n)], "group": "g",
                        "benchmark": "MKT", "calendar": "FX"})
    W = Windows((-250, -11), (-5, 5), ((0, 0), (-1, 1), (0, 5)), 200)
    return EventStudy(r, ev, uni, kind="returns", calendar="FX", model="market",
                      windows=W)


def covers_5pct(p: pd.Series) -> bool:
    k, n = int((p < 0.05).sum()), int(p.notna().sum())
    ci = stats.binomtest(k, n, 0.05).proportion_ci(confidence_level=0.99)
    return bool(ci.low <= 0.05 <= ci.high)


def test_size_of_the_eventstudytools_conventions_on_null_data() -> None:
    res = null_study().fit(tests=("patell", "bmp", "corrado", "art", "cart"),
                           conventions=Conventions.profile("eventstudytools"),
                           scopes=("event",))
    t = res.tests
    ev = t[t["scope"] == "event"]
    for name in ("patell", "bmp", "corrado"):
        for kind, a, b in (("day", 0, 0), ("car", -1, 1), ("car", 0, 5)):
            sel = ev[(ev["test"] == name) & (ev["window_kind"] == kind)
                     & (ev["window_start"] == a) & (ev["window_end"] == b)]
            assert len(sel) == 150
            assert covers_5pct(sel["p_value"]), (name, kind, a, b)
    pair = t[t["scope"] == "pair"]
    for name, kind, a, b in (("art", "day", 0, 0), ("art", "day", 3, 3),
                             ("cart", "car", -1, 1), ("cart", "car", 0, 5)):
        sel = pair[(pair["test"] == name) & (pair["window_kind"] == kind)
                   & (pair["window_start"] == a) & (pair["window_end"] == b)]
        assert len(sel) == 1800
        assert covers_5pct(sel["p_value"]), (name, a, b)


def profiles_table() -> str:
    """The markdown table of :data:`PROFILES` (as docs/conventions.md shows it)."""
    rows = ["| Profile | Convention | Value | Source |", "|---|---|---|---|"]
    for name, table in PROFILES.items():
        for key, s in table.items():
            v = s.value
            if isinstance(v, dict):
                cell = "{" + ", ".join(f"{k} = {str(b).lower()}"
                                       for k, b in v.items()) + "}"
            elif isinstance(v, bool):
                cell = str(v).lower()
            else:
                cell = f'"{v}"'
            rows.append(f"| {name} | {key} | `{cell}` | {s.source} |")
    return "\n".join(rows) + "\n"


def test_docs_list_every_profile_value_with_its_source() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "conventions.md").read_text(
        encoding="utf-8")
    assert profiles_table() in doc
