"""The grouped (vectorised) volatility and volume tables (issues #18 / #20) against
the per-row loops they replaced, frame for frame (same rows, order, columns and
dtypes; values to 1e-12), on the edge cases: a scope value with no pair (n = 0),
one pair (n = 1), identical values (zero standard error), mixed ``garch``/``ols``
standardisation, missing days, and pairs left out of the volume measure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from eventstudy.analysis.volatility import (
    VOL_TESTS,
    VOLATILITY_COLUMNS,
    ratio_test,
    skew_t,
    volatility_table,
    window_sums,
)
from eventstudy.analysis.volume import (
    VOLUME_COLUMNS,
    VOLUME_TESTS,
    VolumePanel,
    rank_u,
    volume_table,
)
from eventstudy.inference.runner import make_groups

SCOPES = ("all", "group", "event", "event_group")


def _wins(rel: np.ndarray, cars: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    return [("day", int(d), int(d)) for d in rel] + [("car", a, b) for a, b in cars]


def _loop_volatility(ar: np.ndarray, h: np.ndarray, pairs: pd.DataFrame,
                     rel: np.ndarray, cars: list[tuple[int, int]], by: np.ndarray
                     ) -> pd.DataFrame:
    """One scope value and window at a time, with the scalar tests."""
    rows = []
    first = int(rel[0])
    for kind, a, b in _wins(rel, cars):
        s_a2, s_h, s_q, d = window_sums(ar, h, max(a - first, 0),
                                        min(b - first, len(rel) - 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            av, q = s_a2 - s_h, s_a2 / s_h
        for scope in SCOPES:
            g = make_groups(pairs, scope)
            for k, label in enumerate(g.labels):
                m = (g.codes == k) & (d > 0)
                n, D = int(m.sum()), int(d[m].sum())
                kinds = sorted(set(by[m].tolist()))
                base = {"scope": scope, "scope_value": label, "window_kind": kind,
                        "window_start": a, "window_end": b, "n": n, "pair_days": D,
                        "mean_ar2": s_a2[m].mean() if n else np.nan,
                        "mean_h": s_h[m].mean() if n else np.nan,
                        "abnormal_var": av[m].mean() if n else np.nan,
                        "var_ratio": q[m].mean() if n else np.nan,
                        "standardised_by": "mixed" if len(kinds) > 1
                        else (kinds[0] if kinds else "")}
                for test in VOL_TESTS:
                    if test == "vol_ratio":
                        S = float(s_q[m].sum())
                        z, p = ratio_test(S, D)
                        vals = (S / D - 1.0 if D else np.nan,
                                np.sqrt(2.0 / D) if D else np.nan, z,
                                float(D) if D else np.nan, p, np.nan)
                    else:
                        vals = skew_t(av[m] if test == "vol_csect_t" else q[m] - 1.0)
                    rows.append({**base, "test": test, **dict(zip(
                        ("estimate", "se", "statistic", "df", "p_value", "t_plain"),
                        vals, strict=True))})
    return pd.DataFrame(rows, columns=list(VOLATILITY_COLUMNS))


def _loop_volume(panels: list[VolumePanel], pairs: pd.DataFrame, rel: np.ndarray,
                 cars: list[tuple[int, int]]) -> pd.DataFrame:
    rows = []
    first = int(rel[0])
    for panel in panels:
        u = rank_u(panel)
        Le = panel.av_est.shape[1]
        for scope in SCOPES:
            g = make_groups(pairs, scope)
            for k, label in enumerate(g.labels):
                m = (g.codes == k) & panel.keep
                um = u[m]
                cnt = np.isfinite(um).sum(axis=0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    ubar = np.where(cnt > 0, np.nansum(um, axis=0)
                                    / np.maximum(cnt, 1), np.nan)
                hv = np.isfinite(ubar)
                su = np.sqrt(np.mean(ubar[hv] ** 2)) if hv.any() else np.nan
                for kind, a, b in _wins(rel, cars):
                    lo, hi = max(a - first, 0), min(b - first, len(rel) - 1)
                    av = panel.av_evt[m, lo:hi + 1]
                    d = np.isfinite(av).sum(axis=1)
                    has = d > 0
                    cav = np.where(np.isfinite(av), av, 0.0).sum(axis=1)[has]
                    dd = d[has]
                    scav = cav / (panel.s[m][has] * np.sqrt(dd))
                    n = int(has.sum())
                    base = {"scope": scope, "scope_value": label,
                            "window_kind": kind, "window_start": a,
                            "window_end": b, "model": panel.model, "n": n,
                            "mean_av": cav.mean() if n else np.nan,
                            "daily_pct": np.expm1((cav / dd).mean()) if n
                            else np.nan}
                    uw = ubar[Le + lo:Le + hi + 1]
                    for test in VOLUME_TESTS:
                        est = stat = df = p = np.nan
                        if test == "av_t" and n:
                            est = scav.mean()
                            se = scav.std(ddof=1) / np.sqrt(n) if n >= 2 else 0.0
                            if se > 0:
                                stat, df = est / se, float(n - 1)
                                p = 2 * stats.t.sf(abs(stat), n - 1)
                        elif test == "av_z" and n:
                            est = scav.mean()
                            stat = scav.sum() / np.sqrt(n)
                            p = 2 * stats.norm.sf(abs(stat))
                        elif test == "av_rank" and n:
                            ok = np.isfinite(uw)
                            if ok.any() and su > 0:
                                est = uw[ok].mean()
                                stat = np.sqrt(ok.sum()) * est / su
                                p = 2 * stats.norm.sf(abs(stat))
                        rows.append({**base, "test": test, "estimate": est,
                                     "statistic": stat, "df": df, "p_value": p})
    return pd.DataFrame(rows, columns=list(VOLUME_COLUMNS))


def _pairs() -> pd.DataFrame:
    # e3 has a single pair; e4's pair has no data at all (n = 0 everywhere)
    return pd.DataFrame({"event_id": ["e1"] * 6 + ["e2"] * 5 + ["e3", "e4"],
                         "group": ["a", "b", "a", "b", "a", "b", "a", "a", "b", "b",
                                   "b", "a", "c"],
                         "ticker": [f"T{i}" for i in range(13)]})


def test_volatility_table_equals_the_per_row_loop() -> None:
    rng = np.random.default_rng(7)
    pairs = _pairs()
    P, W = len(pairs), 6
    ar = rng.normal(0, 0.02, (P, W))
    h = rng.uniform(1e-4, 6e-4, (P, W))
    ar[1, 2] = np.nan
    h[4, 0] = np.nan
    h[8, 3] = 0.0  # a day without a positive variance does not count
    ar[12] = np.nan  # e4: no pair-day
    ar[6:8, 1] = 0.01  # e2:a, day -1: equal AR^2 / h would give sd 0 ...
    h[6:8, 1] = 1e-4  # ... and so does equal AV: zero standard error
    rel = np.arange(-2, 4)
    cars = [(0, 0), (-1, 1), (-5, 9)]  # the last is clipped to the event window
    by = np.array(["garch", "ols"] * 6 + ["garch"], dtype=object)
    got = volatility_table(ar, h, pairs, rel, cars, by)
    want = _loop_volatility(ar, h, pairs, rel, cars, by)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12,
                                  atol=0)
    assert len(got) == 9 * (1 + 3 + 4 + 6) * 3
    e4 = got[got.scope_value == "e4"]
    assert set(e4["n"]) == {0} and e4["estimate"].isna().all()
    assert set(e4["standardised_by"]) == {""}
    e3 = got[(got.scope_value == "e3") & (got.test == "vol_csect_t")]
    assert set(e3["n"]) == {1} and e3["statistic"].isna().all()
    flat = got[(got.scope_value == "e2:a") & (got.window_kind == "day")
               & (got.window_start == -1) & (got.test == "vol_savickas")]
    assert float(flat["se"].iloc[0]) == 0.0 and np.isnan(flat["statistic"].iloc[0])
    assert float(flat["df"].iloc[0]) == 1.0  # pairs 6 and 7
    assert set(got[got.scope == "all"]["standardised_by"]) == {"mixed"}


def _volume_panel(model: str, seed: int, P: int, Le: int, W: int) -> VolumePanel:
    rng = np.random.default_rng(seed)
    est = rng.normal(0, 0.5, (P, Le))
    evt = rng.normal(0.2, 0.5, (P, W))
    est[2, :5] = np.nan
    evt[3, 1] = np.nan
    evt[5, :] = np.nan  # no event day with a volume
    evt[12, :] = np.nan
    est[12, :] = np.nan
    reason = np.full(P, "", dtype=object)
    reason[[0, 12]] = "excluded"
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.nanstd(est, axis=1, ddof=1)
    return VolumePanel(model, est, evt, s, np.isfinite(est).sum(axis=1), reason)


def test_volume_table_equals_the_per_row_loop() -> None:
    pairs = _pairs()
    P, Le, W = len(pairs), 20, 6
    panels = [_volume_panel("mean", 1, P, Le, W), _volume_panel("market", 2, P, Le, W)]
    rel = np.arange(-2, 4)
    cars = [(0, 0), (-1, 2), (-9, 9)]
    got = volume_table(panels, pairs, rel, cars)
    want = _loop_volume(panels, pairs, rel, cars)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12,
                                  atol=0)
    assert len(got) == 2 * 9 * (1 + 3 + 4 + 6) * 3
    e4 = got[got.scope_value == "e4"]
    assert set(e4["n"]) == {0} and e4["estimate"].isna().all()
    e3 = got[(got.scope_value == "e3") & (got.test == "av_t")]
    assert set(e3["n"]) == {1} and e3["statistic"].isna().all()
    assert e3["estimate"].notna().all()
    assert volume_table([], pairs, rel, cars).empty
