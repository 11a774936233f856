"""The compiled passes of the tests stage (:mod:`eventstudy.inference.kernels`)
against the numpy path and against plain oracles.

The numpy path (``kernel="numpy"``) is the implementation the compiled one replaces
at scale; it is kept in the library for small studies and stays the reference here.
Every column of the tests table must be the same bit for bit, except ``skew_t``
(cubes as d * d * d instead of numpy's ``pow``) and the table-wide ``p_bh`` that
reads its p-values, held to 1e-12 relative (1e-15 absolute where the skewness is
zero). The within-pair ranks are also checked against ``scipy.stats.rankdata`` and
``numpy.nanmedian`` (the plain definitions), and the Kolari-Pynnonen sums of the
compiled pass against the previous blocked numpy sums (:func:`_ux_sums_oracle`,
the code this module replaced, kept here).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eventstudy.errors import InputError, UnknownNameError
from eventstudy.inference import TESTS, PairData, Shared, crosscorr, kernels
from eventstudy.inference import rank as rank_mod
from eventstudy.inference import reduction as red
from eventstudy.inference.runner import make_groups, run_tests
from eventstudy.inputs.calendar import WindowDates

pytestmark = pytest.mark.skipif(not kernels.available(), reason="needs numba")

DEFAULT = ("csect_t", "bw_t", "patell", "patell_kp", "bmp", "bmp_kp", "skew_t",
           "corrado", "gsign", "series_t")
"""The benchmark's tests (and the series test the engine adds)."""

CLOSE = {"skew_t"}
"""Tests whose compiled numbers agree to 1e-12 relative, not bit for bit."""


def make_data(seed: int = 0, P: int = 480, Le: int = 60, W: int = 9,
              profile: str = "textbook", ties: bool = False,
              window_dates: bool = True, weights: bool = False
              ) -> tuple[PairData, pd.DataFrame]:
    """Pairs with missing days, -0.0, infinite values, constant rows, day-0
    clusters on two calendars (some pairs off their cluster's days, some windows
    with a day without a session), and their pairs table."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 2.0, P)[:, None]
    resid = rng.normal(0.0, 0.02, (P, Le)) * scale
    ar = rng.normal(0.001, 0.03, (P, W)) * scale
    if ties:
        resid = np.round(resid, 2)
        ar = np.round(ar, 2)
    resid[rng.random((P, Le)) < 0.05] = np.nan
    ar[rng.random((P, W)) < 0.05] = np.nan
    resid[3, :] = np.nan  # no estimation values
    ar[3, :] = np.nan
    resid[4, 5] = -0.0
    resid[4, 6] = 0.0
    resid[6, 2] = np.inf  # an infinite residual
    ar[7, 1] = -np.inf
    resid[8, 1] = resid[8, 0] * (1 + 2e-16)  # a near-tie
    resid[9, :] = 0.01  # a constant row
    nobs = np.isfinite(resid).sum(axis=1).astype(np.float64)
    dof = nobs - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = np.nansum(np.where(np.isfinite(resid), resid, 0.0) ** 2,
                           axis=1) / dof
    lev = rng.uniform(0.005, 0.05, (P, W))
    day_var = sigma2[:, None] * (1 + lev)
    car_windows = ((0, 0), (0, 1), (-1, 1), (-3, 3))
    rel = np.arange(-(W // 2), W - W // 2)
    car = np.full((P, 4), np.nan)
    car_var = np.full((P, 4), np.nan)
    car_days = np.zeros((P, 4), dtype=np.int64)
    for j, (a, b) in enumerate(car_windows):
        blk = ar[:, a - rel[0]:b - rel[0] + 1]
        d = np.isfinite(blk).sum(axis=1)
        car[:, j] = np.where(d > 0, np.nansum(blk, axis=1), np.nan)
        car_var[:, j] = sigma2 * (d + 0.1 * d**2)
        car_days[:, j] = d
    with np.errstate(invalid="ignore", divide="ignore"):
        sar = ar / np.sqrt(day_var)
    # 40 events on day-0 dates; two calendars; each event's pairs share a start
    ev = rng.integers(0, 40, P)
    cal = (ev % 7 == 0).astype(np.int64)
    dates = np.arange(2 * (Le + 200), dtype=np.int64).reshape(2, -1) * 86_400
    dates[1] += 3_600
    dates[1, 100:103] = -1  # the second calendar has no session there
    start = 10 + 3 * ev
    start[rng.random(P) < 0.04] += 1  # a few pairs off their cluster's days
    cluster = dates[cal, start + Le + W // 2].copy()
    est: np.ndarray | WindowDates = WindowDates(dates, cal, start, Le)
    if not window_dates:
        est = np.asarray(est)
    resid[np.asarray(WindowDates(dates, cal, start, Le)) < 0] = np.nan
    nobs = np.isfinite(resid).sum(axis=1).astype(np.float64)
    data = PairData(
        sigma2=sigma2, dof=nobs - 2, nobs=nobs, resid=resid, ar=ar, sar=sar,
        day_var=day_var, car=car, car_var=car_var, car_days=car_days,
        cluster=cluster, est_dates=est, rel_days=rel, car_windows=car_windows,
        seed=11, bootstrap_reps=99, profile=profile,  # type: ignore[arg-type]
        day_lev=lev,
        weight=rng.uniform(1.0, 50.0, P) if weights else None)
    pairs = pd.DataFrame({
        "event_id": [f"E{k:02d}" for k in ev],
        "ticker": [f"T{i:04d}" for i in range(P)],
        "group": np.array(["a", "b", "c"])[rng.integers(0, 3, P)],
    })
    return data, pairs


def windows() -> Any:
    from eventstudy.config import Windows

    return Windows(estimation=(-70, -11), event=(-4, 4),
                   car=((0, 0), (0, 1), (-1, 1), (-3, 3)), min_estimation_obs=20)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bit for bit (NaN where NaN, the sign of zero included)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    return a.shape == b.shape and bool(np.array_equal(
        np.ascontiguousarray(a, dtype=np.float64).view(np.uint64),
        np.ascontiguousarray(b, dtype=np.float64).view(np.uint64)))


def assert_tables_match(fast: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(fast.columns) == list(ref.columns)
    assert fast[["scope", "scope_value", "test"]].equals(
        ref[["scope", "scope_value", "test"]])
    for c in ref.columns:
        a, b = fast[c].to_numpy(), ref[c].to_numpy()
        if a.dtype.kind != "f":
            assert np.array_equal(a, b), c
            continue
        # the adjusted p-values of the whole table read the close tests' p-values
        close = (np.ones(len(ref), dtype=bool) if c == "p_bh"
                 else ref["test"].isin(list(CLOSE)).to_numpy())
        assert same_bits(a[~close], b[~close]), (
            c, fast.loc[~close & ~(a == b) & ~(np.isnan(a) & np.isnan(b)),
                        ["test", "scope", "window_start"]].head())
        x, y = a[close], b[close]
        assert np.array_equal(np.isnan(x), np.isnan(y)), c
        ok = np.isfinite(y)
        # atol: a skewness of zero is a sum of cubes that cancel (1e-18 either way)
        np.testing.assert_allclose(x[ok], y[ok], rtol=1e-12, atol=1e-15, err_msg=c)


@pytest.mark.parametrize("profile, ties, window_dates, weights", [
    ("textbook", False, True, False),
    ("textbook", True, True, False),
    ("textbook", False, False, True),
    ("estudy2", False, True, False),
    ("estudy2", True, False, True),
])
def test_default_tests_compiled_equal_numpy(profile: str, ties: bool,
                                            window_dates: bool, weights: bool
                                            ) -> None:
    data, pairs = make_data(profile=profile, ties=ties,
                            window_dates=window_dates, weights=weights)
    scopes = ("all", "group", "event", "event_group")
    ref = run_tests(data, pairs, DEFAULT, windows(), scopes, kernel="numpy")
    fast = run_tests(data, pairs, DEFAULT, windows(), scopes, kernel="numba")
    assert len(ref) == 13 * len(DEFAULT) * (1 + 3 + 40 + len(
        set(zip(pairs["event_id"], pairs["group"], strict=True))))
    assert_tables_match(fast, ref)


@pytest.mark.parametrize("profile, weights", [("textbook", False),
                                              ("estudy2", True)])
def test_every_registered_test_compiled_equals_numpy(profile: str, weights: bool
                                                     ) -> None:
    data, pairs = make_data(seed=5, P=160, Le=40, profile=profile, ties=True,
                            weights=weights)
    names = tuple(TESTS)
    ref = run_tests(data, pairs, names, windows(), ("all", "group"), kernel="numpy")
    fast = run_tests(data, pairs, names, windows(), ("all", "group"),
                     kernel="numba")
    assert set(fast["test"]) == set(names)
    assert_tables_match(fast, ref)


# ------------------------------------------------------------------ ranks
def ranks_oracle(data: PairData) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                          np.ndarray]:
    """Twice the average ranks (65535 where NaN), non-NaN and finite counts and
    the median (0 without a finite value), from their plain definitions."""
    V = np.concatenate([data.resid, data.ar], axis=1)
    r = stats.rankdata(V, axis=1, nan_policy="omit")
    r2 = np.where(np.isnan(V), 65535, 2 * r).astype(np.uint16)
    fin = np.isfinite(V).sum(axis=1)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning) if (
            fin == 0).any() else _null():
        med = np.nanmedian(V, axis=1)
    return (r2, (~np.isnan(V)).sum(axis=1).astype(np.float64),
            fin.astype(np.float64), np.where(fin > 0, med, 0.0))


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None


@pytest.mark.parametrize("ties", [False, True])
def test_ranks_compiled_equal_numpy_and_the_plain_definitions(ties: bool) -> None:
    data, _ = make_data(seed=2, ties=ties)
    fast = rank_mod.pair_ranks(Shared(data, kernel="numba"))
    ref = rank_mod.pair_ranks(Shared(data, kernel="numpy"))
    for f in ("r2", "n_ok", "n_fin", "med"):
        assert same_bits(getattr(fast, f), getattr(ref, f)), f
    # rows without an infinite value against rankdata and nanmedian
    V = np.concatenate([data.resid, data.ar], axis=1)
    plain = ~np.isinf(V).any(axis=1)
    r2, n_ok, n_fin, med = ranks_oracle(data)
    assert np.array_equal(fast.r2[plain], r2[plain])
    assert np.array_equal(fast.n_ok, n_ok)
    assert np.array_equal(fast.n_fin[plain], n_fin[plain])
    assert np.array_equal(fast.med[plain], med[plain])
    # the hand-made rows: all NaN, a constant row (every value tied)
    assert fast.n_ok[3] == 0 and fast.med[3] == 0.0 and (fast.r2[3] == 65535).all()
    row9 = fast.r2[9][np.isfinite(V[9])]
    k9 = int(np.isfinite(data.resid[9]).sum())
    assert (row9[:k9] == row9[0]).all()


def test_rank_block_leaves_ties_near_ties_and_infinite_values_to_numpy() -> None:
    resid = np.array([[0.5, -0.0, 0.0, 1.0],      # -0.0 and 0.0 tie
                      [0.1, 0.2, 0.3, 0.4],       # plain
                      [1.0, 1.0 + 2e-16, 3.0, 4.0],  # near-tie: leading bits equal
                      [np.inf, 0.1, 0.2, 0.3],    # infinite value
                      [np.nan, np.nan, 0.3, -0.2]])
    ar = np.array([[2.0], [0.0], [5.0], [0.5], [np.nan]])
    P, T = 5, 5
    r2 = np.zeros((P, T), dtype=np.uint16)
    n_ok, n_fin, med = np.zeros(P), np.zeros(P), np.zeros(P)
    left = kernels.rank_block(resid, ar, 0, P, r2, n_ok, n_fin, med)
    assert left.tolist() == [0, 2, 3]
    assert r2[1].tolist() == [4, 6, 8, 10, 2]
    assert r2[4].tolist() == [65535, 65535, 4, 2, 65535]
    assert (n_ok[[1, 4]] == [5, 2]).all() and (n_fin[[1, 4]] == [5, 2]).all()
    assert med[1] == 0.2 and med[4] == (0.3 + -0.2) / 2.0


# ------------------------------------------------------------------ Kolari-Pynnonen
def _ux_sums_oracle(kp: crosscorr.KPCorr, codes: np.ndarray) -> np.ndarray:
    """The previous numpy sums of u_i x_i per (cluster, group) key: per row block,
    the rows sorted by key and ``numpy.add.reduceat``, added in block order."""
    data = kp.data
    P, Le = data.resid.shape
    key, kc, _ = kp._keys(codes)
    W = np.zeros((len(kc), Le))
    step = max(1, red.BLOCK_CELLS // max(Le, 1))
    u = np.where(kp.nd > 0, kp.u, 0.0)
    for a in range(0, P, step):
        sl = slice(a, min(P, a + step))
        X = np.where(np.isfinite(data.resid[sl]), data.resid[sl], 0.0)
        ub = u[sl]
        f = np.flatnonzero(ub)
        if not f.size:
            continue
        ux = X[f] * ub[f, None]
        kb = key[a + f]
        o = np.argsort(kb, kind="stable")
        ks = kb[o]
        st = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        W[ks[st]] += np.add.reduceat(ux[o], st, axis=0)
    return W


def test_kp_sums_compiled_equal_numpy_and_the_previous_sums() -> None:
    data, pairs = make_data(seed=4, P=2500, Le=50)
    parts = (make_groups(pairs, "all"), make_groups(pairs, "event_group"))
    fast = crosscorr.KPCorr(data, parts, compiled=True)
    ref = crosscorr.KPCorr(data, parts, compiled=False)
    for f in ("fast", "nd", "u", "sx", "diag"):
        assert same_bits(getattr(fast, f), getattr(ref, f)), f
    assert len(fast.slow) == len(ref.slow) > 0  # pairs off their cluster's days
    for g in parts:
        k = red.gkey(g)
        for a, b in zip(fast._parts[k], ref._parts[k], strict=True):
            assert same_bits(a, b)
        # the factorised clusters' sums are the previous blocked numpy sums
        key, kg, W, *_ = fast._parts[k]
        want = _ux_sums_oracle(fast, g.codes)
        live = fast.fast[fast._first_of(fast._keys(g.codes)[1])]
        assert same_bits(W[live], want[live])
        valid = np.isfinite(data.sar[:, 4])
        assert same_bits(fast.rbar(g, valid), ref.rbar(g, valid))


# ------------------------------------------------------------------ choice
def test_kernel_choice() -> None:
    data, _ = make_data(P=50, Le=12)
    assert not Shared(data).compiled  # auto: few pairs
    assert Shared(data, kernel="numba").compiled
    assert not Shared(data, kernel="numpy").compiled
    big = replace(data, sigma2=np.ones(kernels.COMPILED_MIN_PAIRS))
    assert Shared(big).compiled
    with pytest.raises(UnknownNameError, match="unknown kernel 'fast'; choose from "
                       "auto, numpy, numba"):
        Shared(data, kernel="fast")


def test_kernel_numba_without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "available", lambda: False)
    data, _ = make_data(P=50, Le=12)
    big = replace(data, sigma2=np.ones(kernels.COMPILED_MIN_PAIRS))
    assert not Shared(big).compiled  # auto falls back to numpy
    with pytest.raises(InputError, match='kernel="numba" needs numba'):
        Shared(data, kernel="numba")


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 128, 129, 300, 1000, 4099])
def test_pairwise_order_is_numpys(n: int) -> None:
    """The compiled pairwise sums add in numpy's order: ``ndarray.sum`` of a row
    and ``numpy.add.reduceat`` of rows (the first row plus the others' sum)."""
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, 3)) * 10.0 ** rng.integers(-8, 8, (n, 3))
    k = kernels.compiled()
    out = np.empty(3)
    k.pairwise_rows(X, 1, n - 1, out)
    assert same_bits(X[0] + out, np.add.reduceat(X, [0], axis=0)[0])
    col = np.ascontiguousarray(X[:, :1])
    k.pairwise_rows(col, 0, n, out[:1])
    assert same_bits(0.0 + out[:1], np.array([col[:, 0].sum()]))
    one = np.ascontiguousarray(X[:, 1])
    st = [np.zeros(64, dtype=np.int64) for _ in range(3)]
    got = 0.0 + k.pairwise_1d(one, n, *st, np.zeros(64), np.zeros(64))
    assert same_bits(np.array([got]), np.array([one.sum()]))
