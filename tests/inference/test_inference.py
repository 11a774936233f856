"""Independent checks of every test statistic on small hand-made data.

Each reference below is written from the paper's formula with plain loops (or
scipy/statsmodels), separately from the vectorised code in
:mod:`eventstudy.inference`, and compared to 1e-10 where the arithmetic is the same.
The ``estudy2`` references transliterate the R code of estudy2 0.10.0 (row means
times the number of firms, ``mean(delta_full)``...).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from eventstudy import inference as inf
from eventstudy.inference import (
    TESTS,
    Groups,
    PairData,
    Shared,
    Window,
    bh_adjust,
    crosscorr,
)
from eventstudy.inference import bootstrap as boot_mod
from eventstudy.inference import rank as rank_mod
from eventstudy.inference import reduction as red

TOL = 1e-10


# ------------------------------------------------------------------ data
def make_data(seed: int = 0, profile: str = "textbook", ties: bool = False,
              P: int = 9, Le: int = 40, W: int = 4) -> PairData:
    """Small synthetic pairs with missing days, two day-0 clusters and partially
    overlapping calendars."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 2.0, P)[:, None]
    resid = rng.normal(0.0, 1.0, (P, Le)) * scale
    ar = rng.normal(0.3, 1.5, (P, W)) * scale
    if ties:
        resid = np.round(resid, 1)
        ar = np.round(ar, 0)
    resid[0, :7] = np.nan
    resid[3, 10:14] = np.nan
    resid[5, -3:] = np.nan
    ar[2, 1] = np.nan
    nobs = np.isfinite(resid).sum(axis=1).astype(np.float64)
    dof = nobs - 2
    sigma2 = np.nansum(resid**2, axis=1) / dof
    lev = rng.uniform(0.005, 0.05, (P, W))
    day_var = sigma2[:, None] * (1 + lev)
    car_windows = ((0, W - 1), (1, 2))
    car = np.full((P, 2), np.nan)
    car_var = np.full((P, 2), np.nan)
    car_days = np.zeros((P, 2), dtype=np.int64)
    for j, (a, b) in enumerate(car_windows):
        blk = ar[:, a:b + 1]
        d = np.isfinite(blk).sum(axis=1)
        car[:, j] = np.where(d > 0, np.nansum(blk, axis=1), np.nan)
        car_var[:, j] = sigma2 * (d + 0.1 * d**2)
        car_days[:, j] = d
    cluster = np.array([1000] * 6 + [2000] * (P - 6), dtype=np.int64)
    base = np.arange(Le, dtype=np.int64) * 10
    est_dates = np.where(cluster[:, None] == 1000, base, base + 5)
    est_dates[4] = base + 30  # pair 4 shares only part of its cluster's days
    est_dates[1, :2] = -1  # no session there
    resid[1, :2] = np.nan
    nobs = np.isfinite(resid).sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        sar = ar / np.sqrt(day_var)
    return PairData(
        sigma2=sigma2, dof=nobs - 2, nobs=nobs, resid=resid, ar=ar, sar=sar,
        day_var=day_var, car=car, car_var=car_var, car_days=car_days,
        cluster=cluster, est_dates=est_dates, rel_days=np.arange(W),
        car_windows=car_windows, seed=7, bootstrap_reps=999,
        profile=profile,  # type: ignore[arg-type]
        day_lev=lev,
    )


CODES = np.array([0, 0, 1, 1, 0, 1, 0, 1, 1])
GROUPS = Groups("group", CODES, ("a", "b"))
ALL = Groups("all", np.zeros(9, dtype=np.int64), ("all",))


def windows_of(data: PairData) -> list[Window]:
    return data.windows()


def cols_of(data: PairData, w: Window) -> list[int]:
    return list(range(w.start - int(data.rel_days[0]), w.end - int(data.rel_days[0])
                      + 1))


Case = tuple[PairData, Window, Groups]


def cases(profile: str = "textbook", **kw: Any) -> list[Case]:
    d = make_data(profile=profile, **kw)
    return [(d, w, g) for w in d.windows() for g in (GROUPS, ALL)]


def check(got: np.ndarray, want: list[float], tol: float = TOL) -> None:
    got = np.asarray(got, dtype=np.float64)
    want_a = np.asarray(want, dtype=np.float64)
    assert got.shape == want_a.shape
    assert np.array_equal(np.isnan(got), np.isnan(want_a)), (got, want_a)
    ok = ~np.isnan(want_a)
    np.testing.assert_allclose(got[ok], want_a[ok], rtol=tol, atol=tol)


def members(g: Groups, k: int) -> np.ndarray:
    return np.flatnonzero(g.codes == k)


# ------------------------------------------------------------------ references
def ref_bw_S(data: PairData, rows: np.ndarray) -> tuple[float, int]:
    aar = []
    for t in range(data.resid.shape[1]):
        col = data.resid[rows, t]
        col = col[np.isfinite(col)]
        if len(col):
            aar.append(col.mean())
    return float(np.std(aar, ddof=1)), len(aar)


def ref_ranks(values: np.ndarray) -> np.ndarray:
    """Within-row average ranks of the finite values, NaN elsewhere."""
    out = np.full(values.shape, np.nan)
    for i, row in enumerate(values):
        ok = np.isfinite(row)
        out[i, ok] = stats.rankdata(row[ok])
    return out


def ref_rbar(data: PairData, idx: list[int]) -> float:
    total = 0.0
    for i, j in combinations(idx, 2):
        if data.cluster[i] != data.cluster[j]:
            continue
        a = {int(d): v for d, v in zip(data.est_dates[i], data.resid[i], strict=True)
             if d >= 0 and np.isfinite(v)}
        b = {int(d): v for d, v in zip(data.est_dates[j], data.resid[j], strict=True)
             if d >= 0 and np.isfinite(v)}
        common = sorted(set(a) & set(b))
        if len(common) >= 3:
            total += np.corrcoef([a[d] for d in common], [b[d] for d in common])[0, 1]
    n = len(idx)
    return total / (n * (n - 1) / 2) if n > 1 else 0.0


# ------------------------------------------------------------------ parametric
@pytest.mark.parametrize(("data", "w", "g"), cases())
def test_csect_t_vs_scipy(data: PairData, w: Window, g: Groups) -> None:
    r = TESTS["csect_t"](data, w, g)
    want_t, want_p, want_n = [], [], []
    for k in range(g.n):
        x = w.value[members(g, k)]
        x = x[np.isfinite(x)]
        res = stats.ttest_1samp(x, 0.0)
        want_t.append(res.statistic)
        want_p.append(res.pvalue)
        want_n.append(len(x))
    check(r.statistic, want_t)
    check(r.p_value, want_p)
    check(r.n, want_n)


@pytest.mark.parametrize("profile", ["textbook", "estudy2"])
@pytest.mark.parametrize(("data", "w", "g"), cases())
def test_bw_t(data: PairData, w: Window, g: Groups, profile: str) -> None:
    data = replace(data, profile=profile)  # type: ignore[arg-type]
    r = TESTS["bw_t"](data, w, g)
    want_t, want_p = [], []
    for k in range(g.n):
        rows = members(g, k)
        S, L = ref_bw_S(data, rows)
        if profile == "textbook":
            x = w.value[rows]
            t = np.nanmean(x) / (np.sqrt(w.length) * S)
            df = L - 1
        else:
            daily = [np.nanmean(data.ar[rows, c]) / S for c in cols_of(data, w)]
            t = sum(daily) / np.sqrt(len(daily))
            df = np.mean(data.nobs[rows]) - 1
        want_t.append(t)
        want_p.append(2 * stats.t.sf(abs(t), df))
    check(r.statistic, want_t)
    check(r.p_value, want_p)


@pytest.mark.parametrize(("data", "w", "g"), cases())
def test_bw_1980(data: PairData, w: Window, g: Groups) -> None:
    r = TESTS["bw_1980"](data, w, g)
    want_t, want_p = [], []
    for k in range(g.n):
        rows = members(g, k)
        rows = rows[np.isfinite(w.value[rows])]
        n = len(rows)
        t = w.value[rows].mean() / (np.sqrt(w.length) * np.sqrt(data.sigma2[rows].sum())
                                     / n)
        want_t.append(t)
        want_p.append(2 * stats.t.sf(abs(t), data.nobs[rows].mean() - 1))
    check(r.statistic, want_t)
    check(r.p_value, want_p)


@pytest.mark.parametrize("profile", ["textbook", "estudy2"])
@pytest.mark.parametrize(("data", "w", "g"), cases())
def test_lamb(data: PairData, w: Window, g: Groups, profile: str) -> None:
    data = replace(data, profile=profile)  # type: ignore[arg-type]
    assert data.day_lev is not None
    r = TESTS["lamb"](data, w, g)
    want_z, want_p = [], []
    for k in range(g.n):
        rows = members(g, k)
        S, _ = ref_bw_S(data, rows)
        daily = []
        for c in cols_of(data, w):
            have = rows[np.isfinite(data.ar[rows, c])]
            aar = data.ar[have, c].mean()
            if profile == "textbook":
                C = 1 + data.day_lev[have, c].mean()
            else:
                C = (1 + 1 / data.nobs[rows].mean()
                     + (data.day_lev[have, c] - 1 / data.nobs[have]).mean())
            daily.append(aar / (S * np.sqrt(C)))
        z = sum(daily) / np.sqrt(len(daily))
        want_z.append(z)
        want_p.append(2 * stats.norm.sf(abs(z)))
    check(r.statistic, want_z)
    check(r.p_value, want_p)


@pytest.mark.parametrize(("data", "w", "g"), cases())
def test_patell(data: PairData, w: Window, g: Groups) -> None:
    r = TESTS["patell"](data, w, g)
    want = []
    for k in range(g.n):
        rows = members(g, k)
        s = w.value[rows] / np.sqrt(w.var[rows])
        ok = np.isfinite(s)
        dof = data.dof[rows][ok]
        want.append(s[ok].sum() / np.sqrt((dof / (dof - 2)).sum()))
    check(r.statistic, want)
    check(r.p_value, [2 * stats.norm.sf(abs(z)) for z in want])


@pytest.mark.parametrize(("data", "w", "g"), cases())
def test_bmp_vs_scipy(data: PairData, w: Window, g: Groups) -> None:
    r = TESTS["bmp"](data, w, g)
    res = [stats.ttest_1samp(s[np.isfinite(s)], 0.0) for s in
           (w.value[members(g, k)] / np.sqrt(w.var[members(g, k)])
            for k in range(g.n))]
    check(r.statistic, [x.statistic for x in res])
    check(r.p_value, [x.pvalue for x in res])


@pytest.mark.parametrize(("data", "w", "g"), cases())
def test_kp_adjustments_with_brute_force_rbar(data: PairData, w: Window,
                                              g: Groups) -> None:
    pk = TESTS["patell_kp"](data, w, g)
    bk = TESTS["bmp_kp"](data, w, g)
    pz = TESTS["patell"](data, w, g).statistic
    bt = TESTS["bmp"](data, w, g).statistic
    rb, wp, wb, wpb = [], [], [], []
    for k in range(g.n):
        rows = members(g, k)
        idx = [int(i) for i in rows if np.isfinite(w.value[i] / np.sqrt(w.var[i]))]
        n = len(idx)
        r = ref_rbar(data, idx)
        rb.append(r)
        wp.append(pz[k] * np.sqrt(1 / (1 + (n - 1) * r)))
        t = bt[k] * np.sqrt((1 - r) / (1 + (n - 1) * r))
        wb.append(t)
        wpb.append(2 * stats.t.sf(abs(t), n - 1))
    check(pk.extra["rbar"], rb)
    check(bk.extra["rbar"], rb)
    check(pk.statistic, wp)
    check(bk.statistic, wb)
    check(bk.p_value, wpb)
    check(pk.p_value, [2 * stats.norm.sf(abs(z)) for z in wp])


def test_rbar_counts_only_clustered_pairs() -> None:
    data = make_data()
    w = data.windows()[0]
    # pairs 0..5 share day 0, 6..8 another: the "all" r-bar divides the clustered
    # sum by all 9*8/2 pairs; moving every pair to its own cluster gives 0
    lone = replace(data, cluster=np.arange(9, dtype=np.int64) * 1000)
    assert TESTS["patell_kp"](lone, w, ALL).extra["rbar"][0] == 0.0
    assert (TESTS["patell_kp"](lone, w, ALL).statistic[0]
            == pytest.approx(TESTS["patell"](lone, w, ALL).statistic[0], abs=TOL))
    idx = [i for i in range(9) if np.isfinite(w.value[i])]
    got = TESTS["bmp_kp"](data, w, ALL).extra["rbar"][0]
    assert got == pytest.approx(ref_rbar(data, idx), abs=TOL)


def test_kp_correlations_are_made_once_per_run_and_not_kept_on_the_data() -> None:
    data = make_data()
    sh = Shared(data, (GROUPS, ALL))
    for w in data.windows():
        for g in (GROUPS, ALL):
            TESTS["bmp_kp"](data, w, g, sh)
            TESTS["patell_kp"](data, w, g, sh)
    assert [k for k in sh.keys() if k.startswith("kp")] == ["kp_corr"]
    assert not hasattr(data, "_memo") and not hasattr(data, "memo")


@pytest.mark.parametrize(("data", "w", "g"), cases())
def test_skew_t_formula(data: PairData, w: Window, g: Groups) -> None:
    r = TESTS["skew_t"](data, w, g)
    want = []
    for k in range(g.n):
        x = w.value[members(g, k)]
        x = x[np.isfinite(x)]
        n = len(x)
        s = np.std(x, ddof=1)
        S = x.mean() / s
        gam = np.sum((x - x.mean()) ** 3) / (n * s**3)
        want.append(np.sqrt(n) * (S + gam * S**2 / 3 + gam**2 * S**3 / 27
                                  + gam / (6 * n)))
    check(r.statistic, want)
    check(r.p_value, [2 * stats.norm.sf(abs(z)) for z in want])


def test_skew_t_without_skewness_is_the_t_statistic() -> None:
    x = np.array([-2.0, -1.0, 0.5, 1.0, 2.5])
    x = np.concatenate([x, -x]) + 0.3  # symmetric around 0.3: gamma = 0
    d = make_data(P=10)
    w = Window(0, 0, x, np.ones(10), 1, day_index=0)
    g = Groups("all", np.zeros(10, dtype=np.int64), ("all",))
    t = stats.ttest_1samp(x, 0.0).statistic
    assert TESTS["skew_t"](d, w, g).statistic[0] == pytest.approx(t, abs=TOL)


# ------------------------------------------------------------------ rank and sign
def ref_rank_family(data: PairData, w: Window, g: Groups, kind: str,
                    profile: str = "textbook") -> list[float]:
    """Corrado (rank), Corrado-Zivney (urank) and CZ sign, written per formula;
    under estudy2 a transliteration of the R code (rowMeans * ncol, delta_full)."""
    V = np.concatenate([data.resid, data.ar], axis=1)
    K = ref_ranks(V)
    M = np.isfinite(V).sum(axis=1)
    if kind == "rank":
        score = K - (M[:, None] + 1) / 2
    elif kind == "urank":
        score = K / (M[:, None] + 1) - 0.5
    else:
        med = np.array([np.median(v[np.isfinite(v)]) for v in V])
        score = np.where(np.isfinite(V), np.sign(V - med[:, None]), np.nan)
    Le = data.resid.shape[1]
    out = []
    for k in range(g.n):
        rows = members(g, k)
        frame = pd.DataFrame(score[rows].T)  # days x firms, like estudy2's zoo
        n_t = frame.notna().sum(axis=1).to_numpy(dtype=float)
        if profile == "estudy2":
            sums = frame.mean(axis=1).to_numpy() * frame.shape[1]  # rowMeans * ncol
        else:
            sums = frame.sum(axis=1).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            D = sums / n_t if kind == "rank" else sums / np.sqrt(n_t)
        has = n_t > 0
        T = M[rows].mean() if profile == "estudy2" else has.sum()
        S = np.sqrt(np.sum(D[has] ** 2) / T)
        daily = [D[Le + c] / S for c in cols_of(data, w) if has[Le + c]]
        out.append(sum(daily) / np.sqrt(len(daily)))
    return out


RANK_CASES = [(test, kind, profile, c) for profile in ("textbook", "estudy2")
              for test, kind in (("corrado", "rank"), ("mrank", "urank"),
                                 ("csign", "sign"))
              for c in cases(ties=True)
              # estudy2's CAR rank test: see test_car_rank_test_estudy2
              if not (test == "corrado" and profile == "estudy2"
                      and c[1].car_index >= 0)]


@pytest.mark.parametrize(("test", "kind", "profile", "case"), RANK_CASES)
def test_rank_and_sign_family(test: str, kind: str, profile: str,
                              case: Case) -> None:
    data, w, g = case
    data = replace(data, profile=profile)  # type: ignore[arg-type]
    r = TESTS[test](data, w, g)
    want = ref_rank_family(data, w, g, kind, profile)
    check(r.statistic, want)
    check(r.p_value, [2 * stats.norm.sf(abs(z)) for z in want])


@pytest.mark.parametrize(("data", "w", "g"),
                         [c for c in cases("estudy2") if c[1].car_index >= 0])
def test_car_rank_test_estudy2(data: PairData, w: Window, g: Groups) -> None:
    """Transliteration of estudy2's car_rank_test (ranks over estimation + CAR days)."""
    cols = cols_of(data, w)
    V = np.concatenate([data.resid, data.ar[:, cols]], axis=1)
    K = ref_ranks(V)
    Le = data.resid.shape[1]
    want = []
    for k in range(g.n):
        rows = members(g, k)
        full = pd.DataFrame(K[rows].T)
        delta = full.notna().sum(axis=0).to_numpy()
        avg_rank = full.mean(axis=0).to_numpy()
        mean_rank = avg_rank.mean()
        ev = K[rows][:, Le:]
        stat = (np.sqrt(len(cols)) * (np.nanmean(ev) - mean_rank)
                / np.sqrt(np.nansum((full.mean(axis=1).to_numpy() - mean_rank) ** 2)
                          / delta.mean()))
        want.append(stat)
    check(TESTS["corrado"](data, w, g).statistic, want)


@pytest.mark.parametrize(("data", "w", "g"), cases())
def test_grank(data: PairData, w: Window, g: Groups) -> None:
    r = TESTS["grank"](data, w, g)
    want_t, want_p = [], []
    Le = data.resid.shape[1]
    for k in range(g.n):
        rows = members(g, k)
        s0 = w.value[rows] / np.sqrt(w.var[rows])
        rows, s0 = rows[np.isfinite(s0)], s0[np.isfinite(s0)]
        x = s0 / np.std(s0, ddof=1)
        U = np.full((len(rows), Le), np.nan)
        U0 = np.zeros(len(rows))
        for a, i in enumerate(rows):
            e = data.resid[i] / np.sqrt(data.sigma2[i])
            ok = np.isfinite(e)
            vals = np.concatenate([e[ok], [x[a]]])
            rk = stats.rankdata(vals)
            T_i = len(vals)
            U[a, ok] = rk[:-1] / (T_i + 1) - 0.5
            U0[a] = rk[-1] / (T_i + 1) - 0.5
        N = len(rows)
        has = np.isfinite(U).any(axis=0)
        n_t = np.isfinite(U).sum(axis=0)[has]
        ubar = np.nanmean(U[:, has], axis=0)
        T = has.sum() + 1
        S2 = (np.sum(n_t / N * ubar**2) + U0.mean() ** 2) / T
        Z = U0.mean() / np.sqrt(S2)
        t = Z * np.sqrt((T - 2) / (T - 1 - Z**2))
        want_t.append(t)
        want_p.append(2 * stats.t.sf(abs(t), T - 2))
    check(r.statistic, want_t)
    check(r.p_value, want_p)


@pytest.mark.parametrize("profile", ["textbook", "estudy2"])
@pytest.mark.parametrize(("data", "w", "g"), cases())
def test_sign_and_gsign(data: PairData, w: Window, g: Groups, profile: str) -> None:
    data = replace(data, profile=profile)  # type: ignore[arg-type]
    rs = TESTS["sign"](data, w, g)
    rg = TESTS["gsign"](data, w, g)
    ws, wg = [], []
    for k in range(g.n):
        rows = members(g, k)
        x = w.value[rows]
        ok = np.isfinite(x)
        n = ok.sum()
        pos = (x[ok] > 0).sum()
        if profile == "estudy2":  # rowMeans(binary) * ncol
            pos = np.mean(x[ok] > 0) * len(rows)
            R = data.resid[rows]
            p = np.mean(R[np.isfinite(R)] > 0)  # pooled over firm-days
        else:
            fr = [np.mean(r_[np.isfinite(r_)] > 0) for r_ in data.resid[rows][ok]]
            p = float(np.mean(fr))  # Cowan: mean of the firms' fractions
        ws.append((pos - n / 2) / np.sqrt(n / 4))
        wg.append((pos - n * p) / np.sqrt(n * p * (1 - p)))
    check(rs.statistic, ws)
    check(rg.statistic, wg)
    check(rs.p_value, [2 * stats.norm.sf(abs(z)) for z in ws])
    check(rg.p_value, [2 * stats.norm.sf(abs(z)) for z in wg])


def test_sign_matches_binomial_normal_approximation() -> None:
    d = make_data(P=20)
    x = np.r_[np.ones(14), -np.ones(6)]
    w = Window(0, 0, x, np.ones(20), 1, day_index=0)
    g = Groups("all", np.zeros(20, dtype=np.int64), ("all",))
    z = TESTS["sign"](d, w, g).statistic[0]
    mu, sd = stats.binom.mean(20, 0.5), stats.binom.std(20, 0.5)
    assert z == pytest.approx((14 - mu) / sd, abs=TOL)


@pytest.mark.parametrize(("data", "w", "g"), cases(ties=True))
def test_wilcoxon_vs_scipy(data: PairData, w: Window, g: Groups) -> None:
    r = TESTS["wilcoxon"](data, w, g)
    wplus, p, z = [], [], []
    for k in range(g.n):
        x = w.value[members(g, k)]
        x = x[np.isfinite(x)]
        nz = x[x != 0]
        rk = stats.rankdata(np.abs(nz))
        wplus.append(rk[nz > 0].sum())
        res = stats.wilcoxon(x, zero_method="wilcox", correction=False,
                             method="approx")
        untied = len(np.unique(np.abs(nz))) == len(nz)
        p.append(stats.wilcoxon(nz, method="exact").pvalue  # exact (issue #19)
                 if untied and 0 < len(nz) <= 50 else res.pvalue)
        z.append(abs(res.zstatistic))
    check(r.extra["w_plus"], wplus)
    check(r.p_value, p)
    check(np.abs(r.statistic), z)


def test_wilcoxon_w_plus_on_hand_data() -> None:
    d = make_data(P=6)
    x = np.array([1.0, -2.0, 3.0, 0.0, -3.0, 5.0])
    w = Window(0, 0, x, np.ones(6), 1, day_index=0)
    g = Groups("all", np.zeros(6, dtype=np.int64), ("all",))
    r = TESTS["wilcoxon"](d, w, g)
    # |x| without the zero: 1, 2, 3, 3, 5 -> ranks 1, 2, 3.5, 3.5, 5
    assert r.extra["w_plus"][0] == 1 + 3.5 + 5
    assert r.n[0] == 5
    var = 5 * 6 * 11 / 24 - (2**3 - 2) / 48
    assert r.statistic[0] == pytest.approx((9.5 - 7.5) / np.sqrt(var), abs=TOL)


# ------------------------------------------------------------------ bootstrap
def test_boot_reproducible_and_independent_of_order_and_chunking(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_data()
    wins = data.windows()
    first = [TESTS["boot"](data, w, GROUPS) for w in wins]
    again = [TESTS["boot"](data, w, GROUPS) for w in reversed(wins)][::-1]
    monkeypatch.setattr(boot_mod, "BOOT_CHUNK", 7)
    chunked = [TESTS["boot"](data, w, GROUPS) for w in wins]
    for a, b, c in zip(first, again, chunked, strict=True):
        for key in ("ci_low", "ci_high"):
            np.testing.assert_array_equal(a.extra[key], b.extra[key])
            np.testing.assert_array_equal(a.extra[key], c.extra[key])
        np.testing.assert_array_equal(a.statistic, b.statistic)
        np.testing.assert_array_equal(a.statistic, c.statistic)
    # permuting the pairs (and relabelling the group codes) changes nothing
    perm = np.random.default_rng(3).permutation(9)
    pd_ = replace(data, ar=data.ar[perm], day_var=data.day_var[perm],
                  car=data.car[perm], car_var=data.car_var[perm])
    g2 = Groups("group", 1 - CODES[perm], ("b", "a"))
    for w2, a in zip(pd_.windows(), first, strict=True):
        b = TESTS["boot"](pd_, w2, g2)
        np.testing.assert_allclose(a.statistic, b.statistic[::-1], rtol=1e-12)
        np.testing.assert_allclose(a.extra["ci_low"], b.extra["ci_low"][::-1],
                                   rtol=1e-12)


def test_boot_changes_with_seed_and_matches_the_bootstrap_standard_error() -> None:
    rng = np.random.default_rng(11)
    P = 40
    x = rng.normal(0.1, 1.0, P)
    d = replace(make_data(), bootstrap_reps=20000)
    w = Window(0, 0, x, np.ones(P), 1, day_index=0)
    g = Groups("all", np.zeros(P, dtype=np.int64), ("all",))
    r = TESTS["boot"](d, w, g)
    se = np.sqrt(np.sum((x - x.mean()) ** 2)) / P  # exact bootstrap SE of the mean
    assert r.statistic[0] == pytest.approx(x.mean() / se, rel=0.03)
    assert r.extra["ci_low"][0] < x.mean() < r.extra["ci_high"][0]
    assert r.extra["ci_low"][0] == pytest.approx(x.mean() - 1.96 * se, abs=0.05)
    assert r.p_value[0] == pytest.approx(2 * stats.norm.sf(abs(r.statistic[0])))
    other = TESTS["boot"](replace(d, seed=8), w, g)
    assert other.statistic[0] != r.statistic[0]


# ------------------------------------------------------------------ all tests
@pytest.mark.parametrize("name", sorted(TESTS))
def test_two_sided_antisymmetry(name: str) -> None:
    """Negating every AR and residual flips the statistic and keeps the two-sided p
    (the bootstrap draws differ, so only its sign is checked)."""
    d = make_data()
    neg = replace(d, resid=-d.resid, ar=-d.ar, sar=-d.sar, car=-d.car)
    one = Groups("event_group", np.arange(9), tuple("abcdefghi"))
    for w, wn in zip(d.windows(), neg.windows(), strict=True):
        for g in ((one,) if TESTS[name].per_series else (GROUPS, ALL)):
            a = TESTS[name](d, w, g)
            b = TESTS[name](neg, wn, g)
            if TESTS[name].scope_seeded:  # resampling: other draws
                assert np.all(np.sign(a.statistic) == -np.sign(b.statistic))
                continue
            np.testing.assert_allclose(a.statistic, -b.statistic, rtol=1e-9,
                                       atol=1e-12)
            np.testing.assert_allclose(a.p_value, b.p_value, rtol=1e-9, atol=1e-12)
            ok = (np.isfinite(w.value) if TESTS[name].per_series
                  else np.ones(g.n, dtype=bool))
            np.testing.assert_array_equal(np.isfinite(a.p_value), ok)
            assert np.all((a.p_value[ok] >= 0) & (a.p_value[ok] <= 1))


@pytest.mark.parametrize("name", sorted(TESTS))
def test_degenerate_groups_give_nan_without_warnings(name: str) -> None:
    d = make_data()
    # group 0: pair 2 only, whose day-1 AR is missing; group 1: one pair; 2: the rest
    codes = np.array([2, 1, 0, 2, 2, 2, 2, 2, 2])
    g = Groups("event", codes, ("x", "y", "z"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for w in d.windows():
            r = TESTS[name](d, w, g)
            assert r.statistic.shape == (3,)
            # a per-series test: only the one-pair group y has a statistic
            assert np.isfinite(r.statistic[2]) != TESTS[name].per_series
            if TESTS[name].per_series:
                assert np.isfinite(r.statistic[1]) and r.n[1] == 1
            assert all(v.shape == (3,) for v in r.extra.values())
    w1 = d.windows()[1]
    assert TESTS[name](d, w1, g).n[0] == 0


def test_registry_and_docstrings() -> None:
    want = {"csect_t", "bw_t", "bw_1980", "lamb", "patell", "patell_kp", "bmp",
            "bmp_kp", "skew_t", "corrado", "mrank", "grank", "sign", "gsign", "csign",
            "wilcoxon", "boot", "series_t"}
    want |= {"wild_boot", "wild_mammen", "wild_cluster", "jackknife",
             "jackknife_cluster", "skew_bhar"}  # issue #19
    want |= {"art", "cart"}  # issue #19: per-pair tests (pair scope)
    assert set(TESTS) == want
    for name, spec in TESTS.items():
        assert spec.name == name
        doc = spec.doc
        assert "Notes" in doc and "Returns" in doc, name
        # a source: an author's name and a year (digits in a formula do not count)
        assert re.search(r"[A-Z][a-z]+[^\n]{0,80}\((19[4-9]\d|20[0-2]\d)\w?[,)]",
                         doc), name


def test_run_tests_table() -> None:
    d = make_data()
    pairs = pd.DataFrame({"event_id": [f"e{i % 4}" for i in range(9)],
                          "group": np.where(CODES == 0, "a", "b")})
    from eventstudy.config import Windows

    win = Windows((-50, -5), (0, 3), ((0, 3), (1, 2)), 10)
    t = inf.run_tests(d, pairs, ("csect_t", "wilcoxon", "boot", "bmp_kp"), win)
    assert list(t.columns) == ["scope", "scope_value", "window_start", "window_end",
                               "window_kind",
                               "test", "statistic", "p_value", "n", "mean", "p_bh",
                               "rbar", "ci_low", "ci_high", "w_plus"]
    n_groups = 1 + 2 + 4 + len(set(zip(pairs.event_id, pairs.group, strict=True)))
    assert len(t) == n_groups * 6 * 4
    np.testing.assert_allclose(t["p_bh"], bh_adjust(t["p_value"].to_numpy()))
    assert t["mean"].notna().any()
    first = t.iloc[:4]
    assert list(first["test"]) == ["csect_t", "wilcoxon", "boot", "bmp_kp"]
    assert (first["scope"] == "all").all() and (first["window_start"] == 0).all()


# ------------------------------------------------------------------ BH
def test_bh_adjust_vs_statsmodels() -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 1, 200) ** 3
    p[::17] = np.nan
    got = bh_adjust(p)
    ok = np.isfinite(p)
    want = multipletests(p[ok], method="fdr_bh")[1]
    np.testing.assert_allclose(got[ok], want, rtol=0, atol=1e-15)
    assert np.isnan(got[~ok]).all()
    ties = np.array([0.01, 0.01, 0.04, 0.04, 0.5])
    np.testing.assert_allclose(bh_adjust(ties), multipletests(ties, method="fdr_bh")[1])
    assert np.isnan(bh_adjust(np.array([np.nan]))).all()


def test_build_clusters_by_day0_when_the_event_window_excludes_it() -> None:
    from eventstudy.config import Windows
    from eventstudy.study import EventStudy

    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2023-01-02", periods=200)
    m = rng.normal(0, 0.01, 200)
    common = rng.normal(0, 0.01, 200)
    r = pd.DataFrame({"MKT": m, **{f"S{i}": 0.8 * m + common
                                   + rng.normal(0, 0.01, 200) for i in range(4)}},
                     index=dates)
    ev = pd.DataFrame({"event_id": ["e0", "e1", "e2", "e3"],
                       "timestamp": [str(dates[150].date())] * 4,
                       "ticker": ["S0", "S1", "S2", "S3"]})
    w = Windows((-80, -6), (1, 5), ((1, 5),), 40)
    res = EventStudy(r, ev, kind="returns", calendar="FX", benchmark="MKT",
                     windows=w).fit(tests=("bmp_kp",))
    rbar = res.tests.loc[res.tests["scope"] == "all", "rbar"].to_numpy()
    assert np.all(rbar > 0.2)


# ------------------------------------------------------------------ fast paths
def make_big(seed: int = 3, clean: bool = False, P: int = 120, Le: int = 50,
             W: int = 6) -> PairData:
    """More pairs, heavy ties (rounded values) and NaNs, and day-0 clusters of every
    kind: one calendar with the same days for every pair (the factorised
    correlations), the same day missing for a whole cluster (still factorised),
    scattered missing days, a shifted calendar, a pair without sessions on some
    days, singletons and pairs without a day 0. ``clean``: no missing estimation
    residual (one GRANK class)."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 2.0, P)[:, None]
    resid = np.round(rng.normal(0.0, 1.0, (P, Le)) * scale, 1)
    ar = np.round(rng.normal(0.2, 1.5, (P, W)) * scale, 0)
    cluster = np.repeat(np.arange(6, dtype=np.int64) * 1000, P // 6)
    cluster[-3:] = [-1, 50_000, 60_000]
    est_dates = np.tile(np.arange(Le, dtype=np.int64) * 10, (P, 1))
    if not clean:
        resid[cluster == 2000, 5] = np.nan
        scattered = (cluster == 3000)[:, None] & (rng.random((P, Le)) < 0.1)
        resid[scattered] = np.nan
        est_dates[np.flatnonzero(cluster == 4000)[::2]] += 5
        r5 = np.flatnonzero(cluster == 5000)[0]
        est_dates[r5, :2] = -1
        resid[r5, :2] = np.nan
        resid[7] = np.nan  # no estimation data at all
    ar[rng.random((P, W)) < 0.05] = np.nan
    nobs = np.isfinite(resid).sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = np.nansum(resid**2, axis=1) / (nobs - 2)
    sigma2[nobs < 3] = np.nan
    lev = rng.uniform(0.005, 0.05, (P, W))
    day_var = sigma2[:, None] * (1 + lev)
    car_windows = ((0, W - 1), (1, 2), (3, 3))
    car = np.full((P, 3), np.nan)
    car_var = np.full((P, 3), np.nan)
    car_days = np.zeros((P, 3), dtype=np.int64)
    for j, (a, b) in enumerate(car_windows):
        d = np.isfinite(ar[:, a:b + 1]).sum(axis=1)
        car[:, j] = np.where(d > 0, np.nansum(ar[:, a:b + 1], axis=1), np.nan)
        car_var[:, j] = sigma2 * (d + 0.1 * d**2)
        car_days[:, j] = d
    with np.errstate(divide="ignore", invalid="ignore"):
        sar = ar / np.sqrt(day_var)
    return PairData(
        sigma2=sigma2, dof=nobs - 2, nobs=nobs, resid=resid, ar=ar, sar=sar,
        day_var=day_var, car=car, car_var=car_var, car_days=car_days,
        cluster=cluster, est_dates=est_dates, rel_days=np.arange(W),
        car_windows=car_windows, seed=11, bootstrap_reps=99, day_lev=lev)


def big_partitions(P: int = 120) -> list[Groups]:
    rng = np.random.default_rng(4)
    three = rng.integers(0, 3, P)
    seven = np.arange(P) % 7
    lone = np.r_[np.zeros(P - 40, dtype=np.int64), np.arange(1, 41)]
    return [Groups("all", np.zeros(P, dtype=np.int64), ("all",)),
            Groups("group", three, ("a", "b", "c")),
            Groups("event", seven, tuple("abcdefg")),
            Groups("event_group", lone, tuple(f"x{i}" for i in range(41)))]


def test_row_ranks_equal_rankdata_with_nan_ties_and_infinities() -> None:
    rng = np.random.default_rng(0)
    V = np.round(rng.normal(size=(300, 41)), 1)
    V[rng.random(V.shape) < 0.1] = np.nan
    V[3] = np.nan
    V[4, :5] = [np.inf, -np.inf, np.inf, 2.0, 2.0]
    V[5] = 1.0
    got = rank_mod.row_ranks(V)[0]
    want = stats.rankdata(V, axis=1, nan_policy="omit")
    np.testing.assert_array_equal(got, want)
    # the memoised ranks over estimation + event days, and the rows' medians
    data = make_big()
    rk = rank_mod.pair_ranks(Shared(data))
    U = np.concatenate([data.resid, data.ar], axis=1)
    K = np.where(rk.r2 == rank_mod.NA16, np.nan, 0.5 * rk.r2)
    np.testing.assert_array_equal(K, stats.rankdata(U, axis=1, nan_policy="omit"))
    fin = np.isfinite(U).any(axis=1)
    with np.errstate(invalid="ignore"):
        med = np.nanmedian(np.where(fin[:, None], U, 0.0), axis=1)
    np.testing.assert_array_equal(rk.med, med)
    np.testing.assert_array_equal(rk.n_fin, np.isfinite(U).sum(axis=1))


@pytest.mark.parametrize(("T", "G"), [(1, 1), (2, 1), (7, 1), (61, 3), (61, 70),
                                      (5, 2)])
def test_grouped_column_sums_are_the_bincount_bit_for_bit(
        monkeypatch: pytest.MonkeyPatch, T: int, G: int) -> None:
    rng = np.random.default_rng(T * 100 + G)
    P = 700
    x = rng.normal(size=(P, T)) * 10.0 ** rng.uniform(-4, 4, (P, T))
    x[rng.random((P, T)) < 0.1] = np.nan
    x[0] = -0.0
    ok = np.isfinite(x)
    g = Groups("g", rng.integers(0, G, P), tuple(str(i) for i in range(G)))
    idx = (g.codes[:, None] * T + np.arange(T)[None, :])[ok]
    want = np.bincount(idx, weights=x[ok], minlength=G * T).reshape(G, T)
    count = np.bincount(idx, minlength=G * T).reshape(G, T)
    for cells in (1 << 20, 50):  # one block, many blocks
        monkeypatch.setattr(red, "BLOCK_CELLS", cells)
        got = red.gsum2(x, g, ok)
        assert np.array_equal(got, want) and not np.signbit(got[want == 0]).any()
        np.testing.assert_array_equal(red.gcount2(g, ok), count)


@pytest.mark.parametrize("clean", [False, True])
def test_grank_row_search_counts(clean: bool) -> None:
    data = make_big(clean=clean)
    core = rank_mod.grank_core(Shared(data))
    with np.errstate(invalid="ignore", divide="ignore"):
        e = data.resid / np.sqrt(data.sigma2)[:, None]
    e = np.where(np.isfinite(e), e, np.nan)
    rng = np.random.default_rng(1)
    P, Le = e.shape
    cols = rng.integers(0, Le, P)
    for x in (e[np.arange(P), cols],  # on a value, ties spanning blocks
              np.round(rng.normal(size=P), 1), rng.normal(size=P),
              np.full(P, 1e9), np.full(P, -1e9), np.full(P, 0.0)):
        valid = np.isfinite(x) & (rng.random(P) < 0.9)
        lo, hi = rank_mod.grank_counts(data, core, x, valid)
        with np.errstate(invalid="ignore"):
            want_lo = np.where(valid, (e < x[:, None]).sum(axis=1), 0)
            want_hi = np.where(valid, (e <= x[:, None]).sum(axis=1), 0)
        np.testing.assert_array_equal(lo, want_lo)
        np.testing.assert_array_equal(hi, want_hi)


def test_rbar_fast_and_slow_clusters_vs_brute_force() -> None:
    data = make_big()
    P = data.n_pairs
    rng = np.random.default_rng(2)
    masks = [np.ones(P, dtype=bool), rng.random(P) < 0.8, rng.random(P) < 0.3,
             np.asarray(data.cluster != 1000)]  # a whole factorised cluster out
    parts = big_partitions(P)
    sh = Shared(data, tuple(parts))
    for g in parts:
        for valid in masks:
            got = crosscorr.rbar(sh, g, valid)
            want = [ref_rbar(data, [int(i) for i in members(g, k) if valid[i]])
                    for k in range(g.n)]
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    kp = sh.get("kp_corr", lambda: pytest.fail("r-bar made no KPCorr"))
    assert isinstance(kp, crosscorr.KPCorr)
    assert kp.fast.any() and ((data.cluster >= 0) & ~kp.fast).any()  # both paths
    assert [k for k in sh.keys() if k.startswith("kp")] == ["kp_corr"]


@pytest.mark.parametrize("profile", ["textbook", "estudy2"])
@pytest.mark.parametrize("clean", [False, True])
def test_fast_paths_match_the_references_on_tied_data(
        monkeypatch: pytest.MonkeyPatch, profile: str, clean: bool) -> None:
    """Ranks, per-scope sums, GRANK and the KP r-bar of the fast paths against the
    plain references above, with small row blocks and the bincount path for the
    partitions of more than 4 groups."""
    monkeypatch.setattr(red, "BLOCK_CELLS", 300)
    monkeypatch.setattr(red, "LOOP_GROUPS", 4)
    data = replace(make_big(clean=clean), profile=profile)  # type: ignore[arg-type]
    parts = big_partitions(data.n_pairs)
    sh = Shared(data, tuple(parts))  # per-scope sums at once for every partition
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the references' NaN
        for w in data.windows():
            for g in parts:
                case = (data, w, g)
                for name in TESTS:  # the run's sums are the single partition's
                    a, b = TESTS[name](data, w, g, sh), TESTS[name](*case)
                    np.testing.assert_allclose(a.statistic, b.statistic,
                                               rtol=1e-13, atol=1e-13)
                test_grank(*case)
                test_kp_adjustments_with_brute_force_rbar(*case)
                if profile == "textbook" or g.scope != "event_group":
                    test_bw_t(*case, profile)
                if g.scope != "event_group":  # the references need data every day
                    test_lamb(*case, profile)
                    if profile == "textbook":
                        test_wilcoxon_vs_scipy(*case)
                for test, kind in (("corrado", "rank"), ("mrank", "urank"),
                                   ("csign", "sign")):
                    if test == "corrado" and profile == "estudy2" and w.car_index >= 0:
                        if g.scope != "event_group":
                            test_car_rank_test_estudy2(*case)
                        continue
                    r = TESTS[test](*case)
                    want = ref_rank_family(*case, kind, profile)
                    check(r.statistic, want)


def test_boot_is_the_same_on_threads_chunks_and_bincount(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_big()
    parts = big_partitions(data.n_pairs)
    wins = data.windows()

    def run() -> list[inf.TestStat]:
        return [TESTS["boot"](data, w, g) for w in wins for g in parts]

    base = run()
    for setting in ({"BOOT_THREADS": 1}, {"BOOT_THREADS": 3, "BOOT_CHUNK": 500},
                    {"BOOT_CHUNK": 500}, {"BOOT_CHUNK": 1}, {"LOOP_GROUPS": 0}):
        with monkeypatch.context() as m:
            for name, value in setting.items():
                m.setattr(red if name == "LOOP_GROUPS" else boot_mod, name, value)
            for a, b in zip(base, run(), strict=True):
                for key in ("ci_low", "ci_high"):
                    np.testing.assert_array_equal(a.extra[key], b.extra[key])
                np.testing.assert_array_equal(a.statistic, b.statistic)


def test_run_tests_reuses_a_scope_with_the_same_partition() -> None:
    """``group`` with a single group has the ``all`` partition: the same numbers
    (but the bootstrap, whose seed includes the scope)."""
    from eventstudy.config import Windows

    d = make_data()
    pairs = pd.DataFrame({"event_id": [f"e{i}" for i in range(9)], "group": "g"})
    win = Windows((-50, -5), (0, 3), ((0, 3), (1, 2)), 10)
    names = tuple(n for n in TESTS if not TESTS[n].pair  # pair tests: pair scope
                  and TESTS[n].window_kinds == {"day", "car"})  # every window
    t = inf.run_tests(d, pairs, names, win, scopes=("all", "group"))
    a = t[t["scope"] == "all"].reset_index(drop=True)
    b = t[t["scope"] == "group"].reset_index(drop=True)
    fresh = replace(d)
    g = inf.make_groups(pairs, "group")
    for i, w in enumerate(fresh.windows()):
        for j, name in enumerate(names):
            r = TESTS[name](fresh, w, g)
            row = b.iloc[i * len(names) + j]
            assert row["test"] == name
            np.testing.assert_array_equal(row["statistic"], r.statistic[0])
    same = a["test"] != "boot"
    np.testing.assert_array_equal(a.loc[same, "statistic"], b.loc[same, "statistic"])
