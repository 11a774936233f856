"""The scipy.stats-free distribution functions equal scipy.stats bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from eventstudy.inference.distributions import chi2_cdf, chi2_sf, norm_sf, t_sf

X = np.array([0.0, -0.0, 1e-300, 5e-324, 0.5, 1.0, 1.959963984540054, 2.5, 10.0, 40.0,
              1e3, 1e300, np.inf, -np.inf, np.nan, -1.0, -1e-300, -37.5])
DF = np.array([1e-3, 0.5, 1.0, 2.0, 3.5, 9.0, 30.0, 120.0, 1e4, 1e8, np.inf, 0.0,
               -1.0, np.nan])


def _same(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    assert np.array_equal(a[ok].view(np.int64), b[ok].view(np.int64))


@pytest.fixture(scope="module")
def grid() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = np.concatenate([np.repeat(X, len(DF)), rng.standard_t(3, 500) * 4])
    df = np.concatenate([np.tile(DF, len(X)), rng.uniform(0.5, 300, 500)])
    return x, df


def test_t_sf(grid: tuple[np.ndarray, np.ndarray]) -> None:
    x, df = grid
    with np.errstate(all="ignore"):
        _same(t_sf(x, df), stats.t.sf(x, df))


def test_norm_sf(grid: tuple[np.ndarray, np.ndarray]) -> None:
    _same(norm_sf(grid[0]), stats.norm.sf(grid[0]))


def test_chi2(grid: tuple[np.ndarray, np.ndarray]) -> None:
    x, df = grid
    with np.errstate(all="ignore"):
        _same(chi2_cdf(np.abs(x), df), stats.chi2.cdf(np.abs(x), df))
        _same(chi2_sf(np.abs(x), df), stats.chi2.sf(np.abs(x), df))
        _same(chi2_cdf(x, df), stats.chi2.cdf(x, df))
        _same(chi2_sf(x, df), stats.chi2.sf(x, df))


def test_scalars() -> None:
    assert float(t_sf(2.0, 10)) == float(stats.t.sf(2.0, 10))
    assert float(chi2_cdf(3.0, 4)) == float(stats.chi2.cdf(3.0, 4))
