"""Clean estimation windows (issue #17 part 3): ``mask_estimation``.

The oracle drops the masked days by hand (a plain loop over the pairs and the days
of the catalog events and confounders of each security) and refits the market model
with statsmodels OLS per pair: alpha, beta, sigma and every abnormal return of the
event window must agree to 1e-10, ``n_est`` and ``n_masked`` exactly. Without
masking the results are bit-identical to a run that never heard of it, and the
fast path is unaffected.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import make_panel, write_mini_study

from eventstudy.config import Windows
from eventstudy.study import EventStudy
from eventstudy.workflows import run_study

WINDOWS = Windows(estimation=(-120, -11), event=(-5, 5), car=((0, 0), (-1, 1)),
                  min_estimation_obs=60)
PANEL = make_panel(n_pairs=6, planted=0.02, seed=11, n_days=400, first_event=200,
                   spacing=20)
DATES = PANEL.returns.index


def _events() -> pd.DataFrame:
    """The panel's one event per security, plus other catalog events of S00, S01
    and S02 (inside their estimation windows; x01a inside S01's event window)."""
    extra = pd.DataFrame({
        "event_id": ["x00a", "x00b", "x01a", "x02a"],
        "timestamp": [DATES[p].strftime("%Y-%m-%d") for p in (150, 151, 217, 180)],
        "ticker": ["S00", "S00", "S01", "S02"],
    })
    return pd.concat([PANEL.events, extra], ignore_index=True)


CONFOUNDERS = pd.DataFrame({
    "confounder_id": ["c_all", "c_s03", "c_s04_evt", "c_s05"],
    "timestamp": [DATES[p].strftime("%Y-%m-%d") for p in (170, 250, 281, 255)],
    "scope": ["*", "S03", "S04", "S05"],
    "kind": ["context", "earnings", "news", "corporate_action"],
    "title": ["", "", "", ""],
    "source": ["a", "b", "c", "d"],
})


def _returns() -> pd.DataFrame:
    """The panel's returns with a few missing days (a masked day that is already
    missing removes nothing)."""
    r = PANEL.returns.copy()
    r.iloc[150, r.columns.get_loc("S00")] = np.nan   # x00a's own day 0
    r.iloc[171, r.columns.get_loc("S03")] = np.nan   # c_all + 1 on S03
    r.iloc[169, r.columns.get_loc("MKT")] = np.nan   # c_all - 1 on the market
    return r


RETURNS = _returns()


def _fit(windows: Windows = WINDOWS, **kw: object) -> object:
    return EventStudy(RETURNS, _events(), kind="returns", calendar="FX",
                      benchmark="MKT", windows=windows,
                      **kw).fit(tests=("csect_t",))  # type: ignore[arg-type]


def _oracle(mask_window: tuple[int, int], windows: Windows = WINDOWS
            ) -> dict[tuple[str, str], dict[str, object]]:
    """Per pair: the market model refitted by statsmodels on the estimation days
    left after dropping, by hand, the masked days of its security."""
    ev = _events()
    pos = {e: DATES.get_loc(pd.Timestamp(t)) for e, t in
           zip(ev["event_id"], ev["timestamp"], strict=True)}
    days: dict[str, set[int]] = {t: set() for t in ev["ticker"]}
    for e, t in zip(ev["event_id"], ev["ticker"], strict=True):
        days[t].add(pos[e])
    for c in CONFOUNDERS.itertuples(index=False):
        p = DATES.get_loc(pd.Timestamp(c.timestamp))
        for t in days:
            if c.scope == "*" or t in c.scope.split(";"):
                days[t].add(p)
    out = {}
    y_all = RETURNS
    for e, t in zip(ev["event_id"], ev["ticker"], strict=True):
        p0 = pos[e]
        masked = {d + k for d in days[t]
                  for k in range(mask_window[0], mask_window[1] + 1)}
        keep, removed = [], 0
        for p in range(p0 + windows.estimation[0], p0 + windows.estimation[1] + 1):
            y, x = y_all[t].iloc[p], y_all["MKT"].iloc[p]
            if not (np.isfinite(y) and np.isfinite(x)):
                continue
            if p in masked:
                removed += 1
                continue
            keep.append(p)
        y = y_all[t].iloc[keep].to_numpy()
        x = y_all["MKT"].iloc[keep].to_numpy()
        ols = sm.OLS(y, sm.add_constant(x)).fit()
        evt = range(p0 + windows.event[0], p0 + windows.event[1] + 1)
        ar = (y_all[t].iloc[list(evt)].to_numpy()
              - ols.params[0] - ols.params[1] * y_all["MKT"].iloc[list(evt)]
              .to_numpy())
        out[(e, t)] = {"alpha": ols.params[0], "beta": ols.params[1],
                       "sigma": np.sqrt(ols.ssr / (len(keep) - 2)),
                       "n_est": len(keep), "n_masked": removed, "ar": ar}
    return out


@pytest.mark.parametrize("mask_window", [(-1, 1), (-2, 0), (0, 3)])
def test_masked_fit_matches_statsmodels_on_the_days_left(
        mask_window: tuple[int, int]) -> None:
    res = _fit(confounders=CONFOUNDERS, mask_estimation=True,
               mask_window=mask_window)
    oracle = _oracle(mask_window)
    d = res.diagnostics.set_index(["event_id", "ticker"])  # type: ignore[attr-defined]
    ar = res.abnormal_returns  # type: ignore[attr-defined]
    assert set(d.index) == set(oracle)
    for key, o in oracle.items():
        row = d.loc[key]
        assert row["n_est"] == o["n_est"], key
        assert row["n_masked"] == o["n_masked"], key
        for col in ("alpha", "beta", "sigma"):
            assert row[col] == pytest.approx(o[col], abs=1e-10, rel=0), (key, col)
        got = ar[(ar["event_id"] == key[0])].sort_values("rel_day")
        np.testing.assert_allclose(got["abnormal_return"].to_numpy(),
                                   np.asarray(o["ar"]), rtol=0, atol=1e-10)
    # the masking did something, differently for each security
    assert sorted(set(d["n_masked"])) != [0]


def test_n_masked_exact_values() -> None:
    """Written out for the default window [-1, 1] (the oracle agrees, above).

    Masked days: each security's own events and its confounders, +-1; a day
    already missing (S00 on 150, S03 on 171, the market on 169) removes nothing.
    """
    res = _fit(confounders=CONFOUNDERS, mask_estimation=True)
    d = res.diagnostics.set_index("event_id")["n_masked"]  # type: ignore[attr-defined]
    assert d.to_dict() == {
        "ev00": 3 + 2,  # S00, estimation 80..189: x00a/x00b 149..152 less 150;
                        # c_all 169..171 less 169
        "ev01": 2,      # S01, 100..209: c_all; x01a (216..218) is after it
        "ev02": 2 + 3,  # S02, 120..229: c_all; x02a 179..181
        "ev03": 1 + 1,  # S03, 140..249: c_all less 171; c_s03 249 (of 249..251)
        "ev04": 2,      # S04, 160..269: c_all; c_s04_evt is in the event window
        "ev05": 3,      # S05, 180..289: c_s05 254..256; c_all is before it
        "x00a": 0,      # S00, 30..139
        "x00b": 0,      # S00, 31..140
        "x01a": 2,      # S01, 97..206: c_all
        "x02a": 0,      # S02, 60..169: c_all's 169 is missing on the market
    }


def test_event_windows_keep_the_masked_days() -> None:
    """c_s04_evt falls on day +1 of S04's event and x01a on day -3 of S01's: the
    event windows still hold those returns (masking touches estimation only)."""
    off = _fit()
    on = _fit(confounders=CONFOUNDERS, mask_estimation=True, mask_window=(-2, 2))
    a_off = off.abnormal_returns  # type: ignore[attr-defined]
    a_on = on.abnormal_returns  # type: ignore[attr-defined]
    pd.testing.assert_series_equal(a_off["return"], a_on["return"],
                                   check_exact=True)
    for e, day in (("ev04", 1), ("ev01", -3), ("ev01", 0)):
        row = a_on[(a_on["event_id"] == e) & (a_on["rel_day"] == day)]
        assert np.isfinite(row["abnormal_return"]).all() and len(row) == 1


def test_masking_off_is_bit_identical_to_a_run_without_the_keys() -> None:
    base = _fit()
    for kw in ({"mask_estimation": False},
               {"mask_estimation": False, "mask_window": (-3, 3)}):
        res = _fit(**kw)
        for name in ("abnormal_returns", "car", "tests", "diagnostics", "excluded"):
            pd.testing.assert_frame_equal(getattr(res, name), getattr(base, name),
                                          check_exact=True)
    assert (base.diagnostics["n_masked"] == 0).all()  # type: ignore[attr-defined]


def test_masking_with_nothing_to_mask_changes_no_number() -> None:
    """Masking on, but no masked day in any estimation window (mask_window far
    outside them): bit-identical to masking off, whatever the kernel asked for."""
    far = Windows(estimation=(-120, -11), event=(-5, 5), car=((0, 0),),
                  min_estimation_obs=60)
    ev_only = EventStudy(RETURNS, PANEL.events, kind="returns", calendar="FX",
                         benchmark="MKT", windows=far)
    off = ev_only.fit(tests=("csect_t",), kernel="numpy")
    for kernel in ("numpy", "numba", "auto"):
        on = EventStudy(RETURNS, PANEL.events, kind="returns", calendar="FX",
                        benchmark="MKT", windows=far, mask_estimation=True,
                        mask_window=(1, 5)).fit(tests=("csect_t",), kernel=kernel)
        for name in ("abnormal_returns", "car", "tests", "diagnostics"):
            pd.testing.assert_frame_equal(getattr(on, name), getattr(off, name),
                                          check_exact=True)


def test_min_estimation_obs_applies_after_masking() -> None:
    tight = Windows(estimation=(-120, -11), event=(-5, 5), car=((0, 0),),
                    min_estimation_obs=108)
    res = _fit(confounders=CONFOUNDERS, mask_estimation=True, windows=tight)
    ex = res.excluded.set_index("event_id")["reason"]  # type: ignore[attr-defined]
    oracle = _oracle((-1, 1), tight)
    expected = {e: (f"only {o['n_est']} estimation returns after masking "
                    f"{o['n_masked']} (minimum 108)")
                for (e, _), o in oracle.items() if int(o["n_est"]) < 108}
    assert expected and ex.to_dict() == expected
    # the same pairs are kept without masking
    assert _fit(windows=tight).excluded.empty  # type: ignore[attr-defined]


def test_a_pair_losing_more_than_10_percent_is_named() -> None:
    res = _fit(confounders=CONFOUNDERS, mask_estimation=True, mask_window=(-3, 3))
    d = res.diagnostics.set_index("event_id")["n_masked"]  # type: ignore
    over = [e for e, n in d.items() if n > 11]  # 10% of the 110-day window
    assert over
    warn = [w for w in res.data_warnings if w.startswith("masking:")]  # type: ignore
    assert len(warn) == 1
    listed = ", ".join(f"{e}/{t} ({d[e]})" for e, t in zip(
        res.diagnostics["event_id"], res.diagnostics["ticker"],  # type: ignore
        strict=True) if e in over)
    assert warn[0] == (f"masking: {len(over)} pair(s) lost more than 10% of their "
                       f"110-session estimation window to the days of other "
                       f"events and confounders (returns masked): {listed}; see "
                       "n_masked in diagnostics.csv")
    quiet = _fit(confounders=CONFOUNDERS, mask_estimation=True, mask_window=(0, 0))
    assert not [w for w in quiet.data_warnings  # type: ignore[attr-defined]
                if w.startswith("masking:")]


def test_run_json_records_the_masking(tmp_path: Path) -> None:
    ms = write_mini_study(tmp_path / "study")
    (ms.root / "conf.csv").write_text(
        "confounder_id,timestamp,scope,kind,title,source\n"
        "C1,2024-07-01,*,context,,x\nC2,2024-08-15,AAA,earnings,,y\n",
        encoding="utf-8")
    ms.study.write_text(ms.study.read_text(encoding="utf-8")
                        + '\n[confounding]\nfile = "conf.csv"\n'
                          "mask_estimation = true\nmask_window = [-2, 2]\n",
                        encoding="utf-8")
    res, info = run_study(ms.study, prices=ms.prices, out_dir=tmp_path / "out")
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    masking = run["settings"]["masking"]
    d = pd.read_csv(tmp_path / "out" / "diagnostics.csv")
    assert masking == {"on": True, "window": [-2, 2],
                       "total_masked": int(d["n_masked"].sum()),
                       "pairs_masked": int((d["n_masked"] > 0).sum())}
    assert masking["total_masked"] > 0
    assert run["settings"]["mask_estimation"] is True
    assert run["settings"]["mask_window"] == [-2, 2]
    assert list(d.columns[d.columns.get_loc("n_est"):][:2]) == ["n_est", "n_masked"]
