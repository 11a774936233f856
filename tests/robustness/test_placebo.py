"""Placebo dates (issue #17 part 5) on synthetic clustered data: a planted effect is
found, the size on clustered null data is within its binomial interval (where the
cross-sectional t is not), the sampling rule and every draw's CAAR agree with
plain-loop computations, and the draws are deterministic for a seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from synthetic_study import Synthetic, write_study

from eventstudy.errors import InputError
from eventstudy.inputs.sources import read_catalog
from eventstudy.results.summary import headline_p_values
from eventstudy.robustness.placebo import (
    PlaceboResult,
    draw_dates,
    placebo,
    placebo_candidates,
)
from eventstudy.workflows import prepare_study, run_study, study_loaded

DRAWS = 99


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    """R000: +3% on day 0 for its 8 securities; R001: nothing."""
    return write_study(tmp_path_factory.mktemp("planted"), planted={0: 0.03},
                       day0=[330, 380], market_sd=0.004)


@pytest.fixture(scope="module")
def planted_run(planted: Synthetic) -> PlaceboResult:
    return placebo(prepare_study(planted.study), draws=DRAWS, seed=3)


def test_planted_effect_is_found(planted_run: PlaceboResult) -> None:
    t = planted_run.table.set_index(["event_id", "window_start", "window_end"])
    for w in ((0, 0), (-1, 1)):
        row = t.loc[("R000", *w)]
        # no placebo CAAR reaches the planted one: the smallest p there is
        assert row["p_placebo"] == pytest.approx(1 / (DRAWS + 1))
        assert row["p_placebo"] <= 0.05
        assert (row["draws"], row["draws_used"], row["draws_full"]) == (DRAWS,) * 3
        assert row["n"] == 8
        assert abs(row["placebo_mean"]) < 0.005
    assert t.loc[("R001", 0, 0), "p_placebo"] > 0.05  # nothing planted there
    assert list(planted_run.table.columns) == [
        "event_id", "group", "window_start", "window_end", "n", "caar",
        "placebo_mean", "placebo_sd", "p_placebo", "draws", "draws_used",
        "draws_full", "candidates"]


def test_observed_caar_is_the_summarys(planted: Synthetic,
                                       planted_run: PlaceboResult) -> None:
    res, _ = run_study(planted.study)
    h = headline_p_values(res, "csect_t")
    np.testing.assert_allclose(planted_run.table["caar"], h["caar"], rtol=1e-12)
    assert planted_run.table[["event_id", "group", "window_start", "window_end"]
                             ].equals(h[["event_id", "group", "window_start",
                                         "window_end"]])


def _hand_caar(syn: Synthetic, tickers: list[str], p: int,
               window: tuple[int, int]) -> float:
    """Market model by least squares on [p-100, p-6], the mean CAR over tickers."""
    r = syn.returns
    m = r["MKT"].to_numpy()
    cars = []
    for t in tickers:
        y = r[t].to_numpy()
        est = np.arange(p - 100, p - 5)
        ok = np.isfinite(y[est]) & np.isfinite(m[est])
        X = np.column_stack([np.ones(ok.sum()), m[est][ok]])
        a, b = np.linalg.lstsq(X, y[est][ok], rcond=None)[0]
        days = np.arange(p + window[0], p + window[1] + 1)
        cars.append(float(np.sum(y[days] - a - b * m[days])))
    return float(np.mean(cars))


def test_every_draw_is_the_study_on_its_pseudo_date(
        planted: Synthetic, planted_run: PlaceboResult) -> None:
    """Draws' CAARs equal a plain market-model computation on the drawn dates,
    and each draw gives all of an event's securities the same date."""
    d = planted_run.dates
    assert len(d) == 2 * DRAWS
    assert d.groupby("event_id")["draw"].nunique().to_dict() == {"R000": DRAWS,
                                                                "R001": DRAWS}
    assert d["pseudo_id"].iloc[:3].tolist() == ["R000~p0000", "R001~p0000",
                                                "R000~p0001"]
    long = planted_run.draws_table.set_index(["event_id", "draw", "window_start"])
    pos = {dt: i for i, dt in enumerate(planted.dates)}
    for row in d[d["draw"] < 4].itertuples():
        p = pos[pd.Timestamp(row.date)]
        for w in ((0, 0), (-1, 1)):
            want = _hand_caar(planted, planted.members[row.event_id], p, w)
            got = long.loc[(row.event_id, row.draw, w[0]), "caar"]
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


def _oracle(syn: Synthetic, events: dict[str, list[str]]) -> dict[str, set[str]]:
    """Eligible dates by a plain loop over sessions and securities."""
    r = syn.returns
    m = np.isfinite(r["MKT"].to_numpy())
    T = len(syn.dates)
    concern: dict[str, list[int]] = {}
    for eid, ticks in syn.members.items():
        for t in ticks:
            concern.setdefault(t, []).append(syn.day0[eid])
    out: dict[str, set[str]] = {}
    for eid in events:
        ok_dates = set()
        for p in range(T):
            good = True
            for t in syn.members[eid]:
                fin = np.isfinite(r[t].to_numpy()) & m
                est = [i for i in range(p - 100, p - 5) if 0 <= i < T and fin[i]]
                evt = [i for i in range(p - 5, p + 6) if 0 <= i < T and fin[i]]
                near = any(p - 5 <= q <= p + 5 for q in concern[t])
                if len(est) < 80 or len(evt) < 11 or near:
                    good = False
                    break
            if good:
                ok_dates.add(syn.dates[p].strftime("%Y-%m-%d"))
        out[eid] = ok_dates
    return out


def test_candidates_follow_the_sampling_rule(tmp_path: Path) -> None:
    """Gaps in prices and a second catalog event on the same securities remove
    exactly the dates a plain loop removes."""
    syn = write_study(tmp_path / "s", events=2, per_event=3, day0=[200, 300],
                      sessions=330, gaps={"S000_1": (120, 130), "S001_2": (250, 251)},
                      extra={"X01": (260, "g000")})
    st = prepare_study(syn.study)
    res, _ = run_study(syn.study)
    events, universe = read_catalog(st)
    frame = study_loaded(st).frame
    got = placebo_candidates(res.pairs_, events, universe, frame, st)
    want = _oracle(syn, {"R000": [], "R001": [], "X01": []})
    assert set(got) == {"R000", "R001", "X01"}
    for eid, dates in got.items():
        assert set(dates.strftime("%Y-%m-%d")) == want[eid], eid
    # the gap and the events bite: fewer dates than the plain window rule allows
    assert len(want["R000"]) < len(want["R001"])


def test_deterministic_for_a_seed_and_independent_of_the_batch(
        planted: Synthetic, planted_run: PlaceboResult) -> None:
    st = prepare_study(planted.study)
    again = placebo(st, draws=DRAWS, seed=3, batch=16)
    pd.testing.assert_frame_equal(again.table, planted_run.table)
    pd.testing.assert_frame_equal(again.dates, planted_run.dates)
    other = placebo(st, draws=DRAWS, seed=4)
    assert not other.dates["date"].equals(planted_run.dates["date"])
    c = {"E": pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"])}
    pd.testing.assert_frame_equal(draw_dates(c, 5, 1), draw_dates(c, 5, 1))


@pytest.mark.parametrize(("draws", "seed", "msg"), [
    (0, 1, "draws = 0: must be at least 1"),
    (2.5, 1, "draws = 2.5: give a whole number >= 1"),
    (5, -1, "seed = -1: must be at least 0"),
])
def test_bad_draws_and_seed(planted: Synthetic, draws: object, seed: int,
                            msg: str) -> None:
    with pytest.raises(InputError, match=msg):
        placebo(prepare_study(planted.study), draws=draws,  # type: ignore[arg-type]
                seed=seed)


def test_size_on_clustered_null_data(tmp_path: Path) -> None:
    """200 independent null 'studies' (an event on its own 4 securities sharing a
    factor, residual correlation 0.5) stacked in one placebo run: the placebo
    test rejects at 5% as often as its binomial 99% interval allows, while the
    cross-sectional t, which assumes independent pairs, does not."""
    R, draws = 200, 39
    syn = write_study(tmp_path / "null", events=R, per_event=4, seed=11,
                      sessions=400, factor_sd=0.01, idio_sd=0.01)
    st = prepare_study(syn.study)
    res, _ = run_study(syn.study)
    out = placebo(st, draws=draws, seed=5, observed=res)
    lo, hi = (stats.binom.ppf(q, R, 0.05) for q in (0.005, 0.995))
    for w in ((0, 0), (-1, 1)):
        t = out.table[(out.table["window_start"] == w[0])
                      & (out.table["window_end"] == w[1])]
        assert len(t) == R and (t["draws_used"] == draws).all()
        k = int((t["p_placebo"] <= 0.05).sum())
        assert lo <= k <= hi, (w, k, lo, hi)
        tests = res.tests
        cs = tests[(tests["test"] == "csect_t") & (tests["scope"] == "event_group")
                   & (tests["window_kind"] == "car")
                   & (tests["window_start"] == w[0]) & (tests["window_end"] == w[1])]
        assert len(cs) == R
        assert int((cs["p_value"] <= 0.05).sum()) > hi
