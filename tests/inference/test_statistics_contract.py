"""One contract suite run for every registered test statistic (issue #15).

Parametrised over :data:`eventstudy.inference.TESTS`, so a new test is checked by
registering it: the shared call signature and result shape, a docstring naming a
source (author and year) with a formula line, and invariance properties on
synthetic data: permuting the pairs changes nothing, rescaling every return by 2
leaves the (scale-free) statistics unchanged, and adding a constant to the event
ARs moves every location statistic up. A test of a single series
(``TestSpec.per_series``) is checked on the partition with one pair per group, and
gives NaN with ``n`` on groups of several pairs.
"""

from __future__ import annotations

import inspect
import re
import typing
from dataclasses import replace

import numpy as np
import pytest

from eventstudy.inference import TESTS, Groups, PairData, Sample, TestSpec, TestStat

NAMES = sorted(TESTS)
P, LE, W = 30, 60, 3
CAR_WINDOWS = ((0, 2), (1, 2))


def make_data(weight: bool = False) -> PairData:
    """Pairs with ARs centred at 0, missing values, two day-0 clusters."""
    rng = np.random.default_rng(42)
    scale = rng.uniform(0.5, 2.0, P)[:, None]
    resid = rng.normal(0.0, 1.0, (P, LE)) * scale
    ar = rng.normal(0.0, 1.0, (P, W)) * scale
    resid[0, :5] = np.nan
    ar[3, 1] = np.nan
    nobs = np.isfinite(resid).sum(axis=1).astype(np.float64)
    sigma2 = np.nansum(resid**2, axis=1) / (nobs - 2)
    lev = rng.uniform(0.005, 0.05, (P, W))
    day_var = sigma2[:, None] * (1 + lev)
    car, car_var, car_days = cars(ar, sigma2)
    cluster = np.where(np.arange(P) < P // 2, 1000, 2000).astype(np.int64)
    return PairData(
        sigma2=sigma2, dof=nobs - 2, nobs=nobs, resid=resid, ar=ar,
        sar=ar / np.sqrt(day_var), day_var=day_var, car=car, car_var=car_var,
        car_days=car_days, cluster=cluster,
        est_dates=np.tile(np.arange(LE, dtype=np.int64) * 10, (P, 1)),
        rel_days=np.arange(W), car_windows=CAR_WINDOWS, seed=5, bootstrap_reps=199,
        day_lev=lev, weight=rng.uniform(0.5, 3.0, P) if weight else None)


def cars(ar: np.ndarray, sigma2: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    car = np.full((P, len(CAR_WINDOWS)), np.nan)
    var = np.full(car.shape, np.nan)
    days = np.zeros(car.shape, dtype=np.int64)
    for j, (a, b) in enumerate(CAR_WINDOWS):
        d = np.isfinite(ar[:, a:b + 1]).sum(axis=1)
        car[:, j] = np.where(d > 0, np.nansum(ar[:, a:b + 1], axis=1), np.nan)
        var[:, j] = sigma2 * d
        days[:, j] = d
    return car, var, days


CODES = np.arange(P) % 2
GROUPS = Groups("group", CODES, ("a", "b"))
SINGLE_CODES = np.arange(P)
SINGLE = Groups("event_group", SINGLE_CODES, tuple(f"e{i}" for i in range(P)))


def codes_for(spec: TestSpec) -> np.ndarray:
    """The contract's partition codes: one pair per group for a per-series test."""
    return SINGLE_CODES if spec.per_series else CODES


def groups_for(spec: TestSpec, codes: np.ndarray | None = None) -> Groups:
    base = SINGLE if spec.per_series else GROUPS
    return base if codes is None else Groups(base.scope, codes, base.labels)


def run(spec: TestSpec, data: PairData, groups: Groups | None = None
        ) -> list[TestStat]:
    g = groups_for(spec) if groups is None else groups
    return [spec(data, w, g) for w in data.windows()]


# ------------------------------------------------------------------ signature
@pytest.mark.parametrize("name", NAMES)
def test_shared_signature_and_result_shape(name: str) -> None:
    spec = TESTS[name]
    assert spec.name == name
    params = list(inspect.signature(spec.func).parameters.values())
    assert [p.name for p in params] == ["sample"]
    hints = typing.get_type_hints(spec.func)
    assert hints == {"sample": Sample, "return": TestStat}
    assert spec.window_kinds <= {"day", "car"} and spec.window_kinds
    assert spec.family in {"parametric", "crosscorr", "rank", "sign", "bootstrap",
                           "series", "wild_bootstrap", "jackknife", "skew_bhar",
                           "pairwise"}
    assert spec.func.__module__ == f"eventstudy.inference.{spec.family}"
    data = make_data()
    g, codes = groups_for(spec), codes_for(spec)
    for w in data.windows():
        r = spec(data, w, g)
        assert isinstance(r, TestStat)
        for arr in (r.statistic, r.p_value, r.n):
            assert np.asarray(arr).shape == (g.n,)
        assert set(r.extra) == {"mean", *spec.extras}
        want = np.bincount(codes[np.isfinite(w.value)], minlength=g.n)
        np.testing.assert_array_equal(r.n, want)  # no zero value, every dof > 2
        ok = np.isfinite(r.p_value)
        # every group with data has a p-value (a per-series test: the pair with one)
        np.testing.assert_array_equal(ok, want > 0)
        assert ((r.p_value[ok] >= 0) & (r.p_value[ok] <= 1)).all()


@pytest.mark.parametrize("name", [n for n in NAMES if TESTS[n].per_series])
def test_per_series_test_is_nan_on_groups_of_several_pairs(name: str) -> None:
    data = make_data()
    for w, r in zip(data.windows(), run(TESTS[name], data, GROUPS), strict=True):
        assert np.isnan(r.statistic).all() and np.isnan(r.p_value).all()
        want = np.bincount(CODES[np.isfinite(w.value)], minlength=2)
        np.testing.assert_array_equal(r.n, want)


# ------------------------------------------------------------------ docstring
AUTHOR_YEAR = re.compile(r"\b[A-Z][a-z]+\b[^()\d]{0,40}\(?(19[4-9]\d|20[0-2]\d)\b")
FORMULA = re.compile(r"^[^\n=]*\b\w+[^\n=]*=[^\n=]*[-+*/^(]", re.M)


@pytest.mark.parametrize("name", NAMES)
def test_docstring_names_a_source_and_a_formula(name: str) -> None:
    doc = TESTS[name].doc
    assert "Notes" in doc and "Returns" in doc and "Parameters" in doc, name
    notes = doc.split("Notes", 1)[1]
    assert AUTHOR_YEAR.search(notes), f"{name}: no author and year in the Notes"
    assert FORMULA.search(notes), f"{name}: no formula line in the Notes"


# ------------------------------------------------------------------ invariance
def permuted(d: PairData, perm: np.ndarray) -> PairData:
    def p(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[perm]

    return replace(d, sigma2=d.sigma2[perm], dof=d.dof[perm], nobs=d.nobs[perm],
                   resid=d.resid[perm], ar=d.ar[perm], sar=d.sar[perm],
                   day_var=d.day_var[perm], car=d.car[perm], car_var=d.car_var[perm],
                   car_days=d.car_days[perm], cluster=d.cluster[perm],
                   est_dates=np.asarray(d.est_dates)[perm], day_lev=p(d.day_lev),
                   weight=p(d.weight))


@pytest.mark.parametrize("weight", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_permuting_pairs_leaves_results_unchanged(name: str, weight: bool) -> None:
    spec = TESTS[name]
    d = make_data(weight)
    perm = np.random.default_rng(1).permutation(P)
    g2 = groups_for(spec, codes_for(spec)[perm])
    for a, b in zip(run(spec, d), run(spec, permuted(d, perm), g2), strict=True):
        np.testing.assert_allclose(b.statistic, a.statistic, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b.p_value, a.p_value, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(b.n, a.n)
        for k in a.extra:
            np.testing.assert_allclose(b.extra[k], a.extra[k], rtol=1e-12,
                                       atol=1e-12)


@pytest.mark.parametrize("weight", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_rescaling_returns_leaves_statistics_unchanged(name: str, weight: bool
                                                       ) -> None:
    spec = TESTS[name]
    d = make_data(weight)
    c = 2.0  # every statistic is scale-free; the mean column scales
    s = replace(d, sigma2=d.sigma2 * c * c, resid=d.resid * c, ar=d.ar * c,
                day_var=d.day_var * c * c, car=d.car * c, car_var=d.car_var * c * c)
    for a, b in zip(run(spec, d), run(spec, s), strict=True):
        np.testing.assert_allclose(b.statistic, a.statistic, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(b.n, a.n)
        np.testing.assert_allclose(b.extra["mean"], c * a.extra["mean"], rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_adding_a_constant_to_the_event_ars_moves_the_statistic_up(name: str
                                                                   ) -> None:
    spec = TESTS[name]
    d = make_data()
    shift = 10.0 if spec.per_series else 3.0  # one pair: beyond its own AR
    ar = d.ar + shift
    car, _, _ = cars(ar, d.sigma2)
    s = replace(d, ar=ar, sar=ar / np.sqrt(d.day_var), car=car)
    codes = codes_for(spec)
    G = int(codes.max()) + 1
    compared = 0
    for w, ws, a, b in zip(d.windows(), s.windows(), run(spec, d), run(spec, s),
                           strict=True):
        ok = np.isfinite(w.value)
        n = np.bincount(codes[ok], minlength=G)
        has = n > 0
        delta = np.bincount(codes[ok], weights=(ws.value - w.value)[ok],
                            minlength=G)[has] / n[has]
        assert (delta >= shift - 1e-12).all()  # shift x the days with data
        np.testing.assert_allclose(b.extra["mean"][has],
                                   a.extra["mean"][has] + delta, rtol=1e-12)
        ok = np.isfinite(a.statistic) & np.isfinite(b.statistic)
        assert (b.statistic[ok] > a.statistic[ok]).all(), (w, a.statistic,
                                                           b.statistic)
        assert (b.statistic[ok] > 0).all()
        compared += int(ok.sum())
        assert int(ok.sum()) == int(has.sum())
    assert compared >= 2 * len(d.windows())
