"""Lyon, Barber & Tsai (1999) skewness-adjusted bootstrapped t (issue #19): the
statistic from the formula, the bootstrap p against a plain loop over the same
draws, reproducibility, CAR windows only, size on skewed null data."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from scipy import stats

from eventstudy.inference import TESTS, Groups, PairData
from eventstudy.inference import skew_bhar as sb


def pair_data(x: np.ndarray, B: int = 199, seed: int = 3) -> PairData:
    """Pairs whose one-day event window and CAR [0, 0] hold ``x``."""
    P = len(x)
    ar = x[:, None].astype(np.float64)
    return PairData(
        sigma2=np.ones(P), dof=np.full(P, 3.0), nobs=np.full(P, 5.0),
        resid=np.random.default_rng(0).normal(0, 1, (P, 5)), ar=ar, sar=ar,
        day_var=np.ones((P, 1)), car=ar.copy(), car_var=np.ones((P, 1)),
        car_days=np.ones((P, 1), dtype=np.int64), cluster=np.zeros(P, dtype=np.int64),
        est_dates=np.zeros((P, 5), dtype=np.int64), rel_days=np.array([0]),
        car_windows=((0, 0),), seed=seed, bootstrap_reps=B)


def t_sa(x: np.ndarray, centre: float = 0.0) -> float:
    """LBT eq.: sqrt(n) (S + gamma S^2/3 + gamma/(6n)), S = (xbar - centre)/s."""
    n = len(x)
    s = x.std(ddof=1)
    S = (x.mean() - centre) / s
    g = ((x - x.mean()) ** 3).sum() / (n * s**3)
    return float(np.sqrt(n) * (S + g * S**2 / 3 + g / (6 * n)))


def loop_p(x: np.ndarray, codes: np.ndarray, labels: tuple[str, ...], seed: int,
           B: int) -> tuple[list[float], list[float]]:
    """The statistic and the bootstrap p per group by a plain loop (documented
    stream: groups by label, n_b = max(3, n // 4) columns each, one row of
    uniforms per resample; values sorted within the group)."""
    by_label = sorted(range(len(labels)), key=lambda k: labels[k])
    groups = {k: np.sort(x[codes == k]) for k in range(len(labels))}
    nb = {k: max(3, len(v) // 4) for k, v in groups.items()}
    rng = np.random.default_rng(np.random.SeedSequence(
        [seed, zlib.crc32(b"skew_bhar|group|0|0")]))
    u = rng.random((B, sum(nb.values())))
    ts, ps = [], []
    col = 0
    start = {}
    for k in by_label:
        start[k] = col
        col += nb[k]
    for k in range(len(labels)):
        v = groups[k]
        n, t = len(v), t_sa(groups[k])
        below = above = used = 0
        for b in range(B):
            draw = np.array([v[int(u[b, start[k] + j] * n)] for j in range(nb[k])])
            if draw.max() == draw.min():
                continue
            tb = t_sa(draw, centre=v.mean())
            used += 1
            below += tb <= t
            above += tb >= t
        ts.append(t)
        ps.append(min(1.0, 2 * min(1 + below, 1 + above) / (used + 1)))
    return ts, ps


def test_skew_bhar_equals_the_formula_and_a_plain_loop() -> None:
    rng = np.random.default_rng(12)
    x = np.concatenate([rng.lognormal(0, 0.8, 40) - 1.2, rng.lognormal(0, 0.5, 14)])
    codes = np.repeat([0, 1], [40, 14]).astype(np.int64)
    labels = ("z", "a")  # the canonical order is by label
    d = pair_data(x, B=149, seed=21)
    g = Groups("group", codes, labels)
    car = [w for w in d.windows() if w.kind == "car"][0]
    r = TESTS["skew_bhar"](d, car, g)
    ts, ps = loop_p(x, codes, labels, 21, 149)
    np.testing.assert_allclose(r.statistic, ts, rtol=1e-10)
    np.testing.assert_allclose(r.p_value, ps, rtol=0, atol=1e-12)
    assert r.n.tolist() == [40, 14]
    assert sb.resample_size(np.array([40.0, 14.0])).tolist() == [10, 3]


def test_the_statistic_drops_halls_cubic_term() -> None:
    """skew_t (Hall 1992) keeps gamma^2 S^3/27; LBT drop it."""
    rng = np.random.default_rng(2)
    x = rng.exponential(1.0, 30) - 0.6
    d = pair_data(x)
    g = Groups("all", np.zeros(30, dtype=np.int64), ("all",))
    car = d.windows()[1]
    lbt = TESTS["skew_bhar"](d, car, g).statistic[0]
    hall = TESTS["skew_t"](d, car, g).statistic[0]
    s = x.std(ddof=1)
    S, gam = x.mean() / s, ((x - x.mean()) ** 3).sum() / (30 * s**3)
    assert hall - lbt == pytest.approx(np.sqrt(30) * gam**2 * S**3 / 27, rel=1e-10)


def test_car_windows_only_and_reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    assert TESTS["skew_bhar"].window_kinds == {"car"}
    rng = np.random.default_rng(4)
    d = pair_data(rng.normal(0, 1, 60), B=99)
    g = Groups("all", np.zeros(60, dtype=np.int64), ("all",))
    car = d.windows()[1]
    a = TESTS["skew_bhar"](d, car, g)
    monkeypatch.setattr(sb, "SKEW_CHUNK", 5)
    b = TESTS["skew_bhar"](d, car, g)
    assert a.p_value.tolist() == b.p_value.tolist()
    few = pair_data(np.array([1.0, 2.0]))
    r = TESTS["skew_bhar"](few, few.windows()[1], Groups("all", np.zeros(2, dtype=int),
                                                         ("all",)))
    assert np.isnan(r.statistic[0]) and np.isnan(r.p_value[0]) and r.n[0] == 2


def test_size_on_skewed_null_data() -> None:
    """Centred lognormal BHAR-like values (mean 0, right-skewed), 200 firms per
    sample as in LBT; rejections at 5% within the binomial 99% interval."""
    R, n = 600, 200
    rng = np.random.default_rng(99)
    sigma = 0.6
    x = rng.lognormal(0, sigma, R * n) - np.exp(sigma**2 / 2)
    d = pair_data(x, B=199, seed=5)
    g = Groups("event", np.repeat(np.arange(R), n),
               tuple(f"s{k:04d}" for k in range(R)))
    p = TESTS["skew_bhar"](d, d.windows()[1], g).p_value
    lo, hi = stats.binom.interval(0.99, R, 0.05)
    k = int((p <= 0.05).sum())
    assert lo <= k <= hi, k / R
