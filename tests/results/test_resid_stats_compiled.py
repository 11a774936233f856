"""The compiled residual statistics (``numba_passes.resid_stats``) equal the numpy
expression of ``results.core._resid_rows`` bit for bit: numpy's pairwise sums of
the rows, the identity 0.0 added first, every NaN and signed zero in place."""

from __future__ import annotations

import numpy as np
import pytest

from eventstudy.inference.kernels import COMPILED_MIN_PAIRS, compiled
from eventstudy.results.core import _resid_rows, _resid_stats


def _numpy(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    P = r.shape[0]
    n = np.zeros(P, dtype=np.int64)
    ac1 = np.full(P, np.nan)
    for lo in range(0, P, 4096):
        _resid_rows(r, 4096, n, ac1, lo)
    return n, ac1


def _bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a.view(np.int64), b.view(np.int64)))


def _adversarial(P: int, T: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(P, T)) * 10.0 ** rng.integers(-8, 8, size=(P, 1))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[0] = np.nan
    x[1] = 0.0
    x[2] = -0.0
    x[3, 0] = np.inf
    x[4, -1] = -np.inf
    x[5] = 1.0  # constant: zero variance
    x[6, 1:] = np.nan  # one value
    return x


@pytest.mark.parametrize("T", [1, 2, 7, 8, 9, 16, 17, 127, 128, 129, 136, 240, 257,
                               300, 520])
def test_kernel_equals_numpy_bit_for_bit(T: int) -> None:
    r = _adversarial(64, T, T)
    n = np.zeros(64, dtype=np.int64)
    ac1 = np.full(64, np.nan)
    compiled().resid_stats(r, 0, 64, n, ac1)
    n0, a0 = _numpy(r)
    assert np.array_equal(n, n0)
    assert _bits_equal(ac1, a0)


def test_large_study_takes_the_compiled_pass_and_agrees() -> None:
    P = COMPILED_MIN_PAIRS + 123  # several blocks, on two threads
    r = _adversarial(P, 240, 1)
    n, ac1 = _resid_stats(r)
    n0, a0 = _numpy(r)
    assert np.array_equal(n, n0)
    assert _bits_equal(ac1, a0)
    # a read-only view (as the results hold their arrays) gives the same
    ro = r.view()
    ro.setflags(write=False)
    n2, a2 = _resid_stats(ro)
    assert np.array_equal(n2, n0) and _bits_equal(a2, a0)


def test_kernel_rows_only_its_block() -> None:
    r = _adversarial(10, 30, 5)
    n = np.full(10, -7, dtype=np.int64)
    ac1 = np.full(10, 42.0)
    compiled().resid_stats(r, 3, 6, n, ac1)
    assert (n[:3] == -7).all() and (n[6:] == -7).all()
    assert (ac1[:3] == 42.0).all() and (ac1[6:] == 42.0).all()
    n0, a0 = _numpy(r)
    assert np.array_equal(n[3:6], n0[3:6]) and _bits_equal(ac1[3:6], a0[3:6])
