"""Exact small-sample Wilcoxon signed-rank p-values (issue #19): scipy's exact
method as the oracle for n <= 50 without ties; the normal approximation beyond;
the null distribution by a plain enumeration; size on null data."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from eventstudy.inference import TESTS, Groups, PairData
from eventstudy.inference.rank import (
    WILCOXON_EXACT_MAX_N,
    signrank_counts,
    signrank_exact_p,
)


def pair_data(x: np.ndarray) -> PairData:
    P = len(x)
    ar = x[:, None].astype(np.float64)
    return PairData(
        sigma2=np.ones(P), dof=np.full(P, 3.0), nobs=np.full(P, 5.0),
        resid=np.random.default_rng(0).normal(0, 1, (P, 5)), ar=ar, sar=ar,
        day_var=np.ones((P, 1)), car=ar.copy(), car_var=np.ones((P, 1)),
        car_days=np.ones((P, 1), dtype=np.int64), cluster=np.zeros(P, dtype=np.int64),
        est_dates=np.zeros((P, 5), dtype=np.int64), rel_days=np.array([0]),
        car_windows=((0, 0),))


def test_counts_equal_an_enumeration_of_sign_patterns() -> None:
    c = signrank_counts(10)
    for n in range(11):
        want = np.zeros(c.shape[1])
        for signs in itertools.product((0, 1), repeat=n):
            want[sum(r + 1 for r in range(n) if signs[r])] += 1
        np.testing.assert_array_equal(c[n], want)
    assert signrank_counts(50)[50].sum() == 2.0**50  # exact in float64


@pytest.mark.parametrize("n", [1, 2, 5, 9, 17, 30, 50])
def test_exact_p_equals_scipy_exact(n: int) -> None:
    rng = np.random.default_rng(n)
    sizes = [n] * 6
    x = np.concatenate([rng.normal(m, 1, k) for m, k in
                        zip((0, 0.3, 0.8, -0.5, 2.0, -3.0), sizes, strict=True)])
    codes = np.repeat(np.arange(6), n)
    d = pair_data(x)
    g = Groups("event", codes, tuple("abcdef"))
    r = TESTS["wilcoxon"](d, d.windows()[0], g)
    want = [stats.wilcoxon(x[codes == k], method="exact").pvalue for k in range(6)]
    np.testing.assert_allclose(r.p_value, want, rtol=1e-10, atol=1e-15)
    # the statistic stays the normal z
    z = [stats.wilcoxon(x[codes == k], method="approx", correction=False).zstatistic
         for k in range(6)]
    np.testing.assert_allclose(np.abs(r.statistic), np.abs(z), rtol=1e-10)


def test_ties_zeros_and_large_n_use_the_documented_rule() -> None:
    rng = np.random.default_rng(2)
    tied = np.array([1.0, -1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -7.0])  # |1| twice
    zeros = np.array([0.0, 1.5, 2.5, -0.5, 3.5, 4.5, 5.5, 6.5])  # a zero: dropped
    big = rng.normal(0.2, 1, WILCOXON_EXACT_MAX_N + 1)
    x = np.concatenate([tied, zeros, big])
    codes = np.repeat([0, 1, 2], [8, 8, len(big)])
    d = pair_data(x)
    r = TESTS["wilcoxon"](d, d.windows()[0], Groups("event", codes, ("t", "z", "b")))
    approx = [stats.wilcoxon(x[codes == k], method="approx", correction=False,
                             zero_method="wilcox").pvalue for k in (0, 2)]
    assert r.p_value[0] == pytest.approx(approx[0], rel=1e-10)  # ties: normal
    assert r.p_value[2] == pytest.approx(approx[1], rel=1e-10)  # n = 51: normal
    nz = zeros[zeros != 0]  # zeros dropped, then exact on the 7 left
    assert r.n[1] == 7
    assert r.p_value[1] == pytest.approx(stats.wilcoxon(nz, method="exact").pvalue,
                                         rel=1e-10)
    assert signrank_exact_p(np.array([3.0, 3.5]), np.array([51.0, 4.0])
                            ).tolist() == [pytest.approx(np.nan, nan_ok=True)] * 2


def test_exact_size_on_null_data() -> None:
    """At most the nominal level (the exact test is conservative on a discrete
    distribution), within the binomial interval of the exact attainable size."""
    R, n = 4000, 10
    rng = np.random.default_rng(5)
    x = rng.standard_t(3, R * n)
    d = pair_data(x)
    g = Groups("event", np.repeat(np.arange(R), n), tuple(f"s{k}" for k in range(R)))
    p = TESTS["wilcoxon"](d, d.windows()[0], g).p_value
    # attainable size at 5%: P(p <= 0.05) under the exact null distribution
    c = signrank_counts(n)[n]
    w = np.arange(len(c))
    pw = signrank_exact_p(w.astype(float), np.full(len(c), float(n)))
    size = c[pw <= 0.05].sum() / c.sum()
    lo, hi = stats.binom.interval(0.99, R, size)
    k = int((p <= 0.05).sum())
    assert size <= 0.05 and lo <= k <= hi, (size, k / R)
