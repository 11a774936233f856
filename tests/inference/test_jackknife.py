"""Jackknife t (issue #19): leave-one-pair-out and leave-one-day-0-cluster-out
pseudo-values, against a plain loop from the formula; the identity with csect_t
under equal weights; size on null and on clustered null data."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from eventstudy.inference import TESTS, Groups, PairData


def pair_data(x: np.ndarray, cluster: np.ndarray | None = None,
              weight: np.ndarray | None = None) -> PairData:
    """Pairs whose event-window AR (one day, also the CAR [0, 0]) is ``x``."""
    P = len(x)
    ar = x[:, None].astype(np.float64)
    return PairData(
        sigma2=np.ones(P), dof=np.full(P, 3.0), nobs=np.full(P, 5.0),
        resid=np.random.default_rng(0).normal(0, 1, (P, 5)), ar=ar, sar=ar,
        day_var=np.ones((P, 1)), car=ar.copy(), car_var=np.ones((P, 1)),
        car_days=np.ones((P, 1), dtype=np.int64),
        cluster=np.arange(P, dtype=np.int64) if cluster is None else cluster,
        est_dates=np.zeros((P, 5), dtype=np.int64), rel_days=np.array([0]),
        car_windows=((0, 0),), weight=weight)


def loop_jackknife(x: np.ndarray, w: np.ndarray, units: np.ndarray
                   ) -> tuple[float, float]:
    """Tukey's jackknife t and its t(C - 1) p by a plain loop over the units."""
    labels = sorted(set(units.tolist()))
    C = len(labels)
    theta = sum(w[i] * x[i] for i in range(len(x))) / sum(w)
    ps = []
    for u in labels:
        keep = [i for i in range(len(x)) if units[i] != u]
        loo = sum(w[i] * x[i] for i in keep) / sum(w[i] for i in keep)
        ps.append(C * theta - (C - 1) * loo)
    m = sum(ps) / C
    v = sum((p - m) ** 2 for p in ps) / (C * (C - 1))
    t = m / np.sqrt(v)
    return t, 2 * stats.t.sf(abs(t), C - 1)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("name", "by_cluster"), [("jackknife", False),
                                                   ("jackknife_cluster", True)])
def test_jackknife_equals_the_formula_by_a_loop(name: str, by_cluster: bool,
                                                weighted: bool) -> None:
    rng = np.random.default_rng(4)
    P = 31
    x = rng.normal(0.3, 1.0, P) * rng.uniform(0.5, 2, P)
    x[5] = np.nan  # left out
    cluster = rng.integers(0, 7, P).astype(np.int64)
    wt = rng.uniform(0.5, 4.0, P) if weighted else None
    codes = (np.arange(P) % 3 == 0).astype(np.int64)
    d = pair_data(x, cluster, wt)
    g = Groups("group", codes, ("a", "b"))
    r = TESTS[name](d, d.windows()[0], g)
    for k in range(2):
        rows = np.flatnonzero((codes == k) & np.isfinite(x))
        units = cluster[rows] if by_cluster else rows
        w = wt[rows] if weighted else np.ones(len(rows))
        t, p = loop_jackknife(x[rows], w, units)
        assert r.statistic[k] == pytest.approx(t, rel=1e-10)
        assert r.p_value[k] == pytest.approx(p, rel=1e-10)
        assert r.n[k] == len(rows)
        want_mean = np.sum(w * x[rows]) / np.sum(w)
        assert r.extra["mean"][k] == pytest.approx(want_mean, rel=1e-12)


def test_equal_weight_pair_jackknife_is_csect_t() -> None:
    """ps_i = x_i with equal weights: the jackknife t is the cross-sectional t."""
    rng = np.random.default_rng(8)
    d = pair_data(rng.normal(0.1, 1, 50))
    g = Groups("all", np.zeros(50, dtype=np.int64), ("all",))
    for w in d.windows():
        a, b = TESTS["jackknife"](d, w, g), TESTS["csect_t"](d, w, g)
        np.testing.assert_allclose(a.statistic, b.statistic, rtol=1e-12)
        np.testing.assert_allclose(a.p_value, b.p_value, rtol=1e-10)


def test_one_cluster_gives_nan_and_many_pairs_per_cluster_count_once() -> None:
    d = pair_data(np.array([1.0, 2.0, 3.0]), cluster=np.array([9, 9, 9]))
    g = Groups("all", np.zeros(3, dtype=np.int64), ("all",))
    r = TESTS["jackknife_cluster"](d, d.windows()[0], g)
    assert np.isnan(r.statistic[0]) and np.isnan(r.p_value[0]) and r.n[0] == 3
    # one pair per cluster: the cluster jackknife is the pair jackknife
    d2 = replace(d, cluster=np.array([1, 2, 3]))
    a = TESTS["jackknife_cluster"](d2, d2.windows()[0], g)
    b = TESTS["jackknife"](d2, d2.windows()[0], g)
    assert a.statistic[0] == pytest.approx(b.statistic[0], rel=1e-12)


# ------------------------------------------------------------------ size
R = 2000
LO, HI = stats.binom.interval(0.99, R, 0.05)


def rate(name: str, x: np.ndarray, cluster: np.ndarray, n: int) -> int:
    codes = np.repeat(np.arange(R), n)
    d = pair_data(x, cluster)
    g = Groups("event", codes, tuple(f"s{k:04d}" for k in range(R)))
    r = TESTS[name](d, d.windows()[0], g)
    assert np.isfinite(r.p_value).all()
    return int((r.p_value <= 0.05).sum())


def test_size_on_null_data() -> None:
    rng = np.random.default_rng(31)
    n = 30
    x = rng.normal(0, 1, R * n) * rng.uniform(0.2, 3.0, R * n)
    k = rate("jackknife", x, np.arange(R * n, dtype=np.int64), n)
    assert LO <= k <= HI, k / R


def test_size_on_clustered_null_data() -> None:
    """Documented behaviour: 20 day-0 clusters of 5 pairs sharing a common shock
    (intra-cluster correlation 0.5): the pair jackknife ignores it and
    over-rejects; the cluster jackknife, t(19), keeps the size."""
    rng = np.random.default_rng(37)
    C, per = 20, 5
    n = C * per
    common = rng.normal(0, np.sqrt(0.5), (R, C))
    x = (np.repeat(common, per, axis=1) + rng.normal(0, np.sqrt(0.5), (R, n))).ravel()
    cluster = np.tile(np.repeat(np.arange(C), per), R).astype(np.int64)
    pair = rate("jackknife", x, cluster, n)
    clus = rate("jackknife_cluster", x, cluster, n)
    assert pair > HI, pair / R
    assert LO <= clus <= HI, clus / R
