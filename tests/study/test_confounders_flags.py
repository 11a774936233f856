"""Confounders flag (or exclude) the right pairs (issue #17 part 2, engine side).

A synthetic universe on two calendars (New York and Tokyo), catalog events that
concern one or both groups, and confounders scoped by ticker, by group, by a mix of
both and by ``*``, timed and date-only. The oracle is a plain Python loop over the
pairs that locates every day 0 one at a time with the calendar functions and checks
the offset against the confounding window; the engine's ``confounded_by`` must
carry exactly the same ids, and ``exclude`` must drop exactly those pairs with a
reason naming them. Confounders never become pairs.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from eventstudy.config import Windows
from eventstudy.errors import CatalogError
from eventstudy.inputs.calendar import (
    Sessions,
    get_sessions,
    locate_day0_asof,
    resolve_asof,
)
from eventstudy.study import EventStudy

WINDOWS = Windows(estimation=(-120, -11), event=(-5, 5), car=((0, 0), (-1, 1)),
                  min_estimation_obs=60)

UNIVERSE = pd.DataFrame({
    "ticker": ["A1", "A2", "J1", "J2"],
    "group": ["us", "us", "jp", "jp"],
    "calendar": ["XNYS", "XNYS", "XTKS", "XTKS"],
    "benchmark": ["MKT_US", "MKT_US", "MKT_JP", "MKT_JP"],
})

EVENTS = pd.DataFrame({
    "event_id": ["E1", "E2", "E3", "E4"],
    # E1: after the New York close = Tokyo's next morning; E2: Tokyo only;
    # E3: a US holiday (rolls); E4: both groups, a month after E3
    "timestamp": ["2024-06-12T20:30-04:00", "2024-06-20", "2024-09-02",
                  "2024-10-01T10:00+09:00"],
    "groups": ["us;jp", "jp", "us", "us;jp"],
})

CONFOUNDERS = pd.DataFrame({
    "confounder_id": ["C_ALL", "C_A1", "C_JP", "C_MIX", "C_OLD", "C_EVT"],
    "timestamp": ["2024-06-14", "2024-06-10T08:00-04:00", "2024-06-25T15:30+09:00",
                  "2024-08-30", "2021-01-05", "2024-10-03T21:00-04:00"],
    "scope": ["*", "A1", "jp", "us;J1", "*", "J2;A2"],
    "kind": ["context", "earnings", "news", "news", "context", "corporate_action"],
    "title": ["", "", "", "", "long before the data", ""],
    "source": ["a", "b", "c", "d", "e", "f"],
})


def _returns() -> pd.DataFrame:
    """Returns on each security's own sessions (NaN on the other calendar's)."""
    rng = np.random.default_rng(7)
    ny = get_sessions("XNYS", "2023-06-01", "2024-12-31").dates
    tk = get_sessions("XTKS", "2023-06-01", "2024-12-31").dates
    idx = ny.union(tk)
    out = pd.DataFrame(index=idx)
    for mkt, cal, names in (("MKT_US", ny, ("A1", "A2")),
                            ("MKT_JP", tk, ("J1", "J2"))):
        m = rng.normal(0.0003, 0.01, len(cal))
        out[mkt] = pd.Series(m, index=cal)
        for t in names:
            out[t] = pd.Series(0.001 + 0.9 * m + rng.normal(0, 0.015, len(cal)),
                               index=cal)
    out.index.name = "date"
    return out


RETURNS = _returns()


def _study(**kw: object) -> EventStudy:
    return EventStudy(RETURNS, EVENTS, UNIVERSE, kind="returns", windows=WINDOWS,
                      **kw)  # type: ignore[arg-type]


@functools.cache
def _sessions(calendar: str) -> Sessions:
    return get_sessions(calendar, "2023-05-20", "2025-03-01")


def _day0(calendar: str, ticker: str, timestamp: str) -> pd.Timestamp | None:
    """Day 0 of one announcement on one security, by the calendar functions."""
    sess = _sessions(calendar)
    date_only = len(timestamp) == 10
    t = pd.Timestamp(timestamp)
    inst = (t.value if date_only else t.tz_convert("UTC").value)
    pos, _ = locate_day0_asof(sess, resolve_asof(ticker, calendar, ""),
                              np.array([inst]), np.array([date_only]))
    if pos[0] < 0 or t.tz_localize(None) < pd.Timestamp("2023-05-20"):
        return None
    return pd.Timestamp(sess.dates[pos[0]])


def _oracle(window: tuple[int, int]) -> dict[tuple[str, str], set[str]]:
    """(event, ticker) -> the ids confounding it: a plain loop over the pairs."""
    out: dict[tuple[str, str], set[str]] = {}
    for ev in EVENTS.itertuples(index=False):
        for sec in UNIVERSE.itertuples(index=False):
            if sec.group not in ev.groups.split(";"):
                continue
            sess = _sessions(sec.calendar).dates
            d0 = _day0(sec.calendar, sec.ticker, ev.timestamp)
            assert d0 is not None
            p = sess.get_loc(d0)
            ids: set[str] = set()
            others = [(o.event_id, o.timestamp) for o in EVENTS.itertuples(index=False)
                      if o.event_id != ev.event_id
                      and sec.group in o.groups.split(";")]
            for c in CONFOUNDERS.itertuples(index=False):
                names = c.scope.split(";")
                if c.scope == "*" or sec.ticker in names or sec.group in names:
                    others.append((c.confounder_id, c.timestamp))
            for oid, ots in others:
                d = _day0(sec.calendar, sec.ticker, ots)
                if d is not None and window[0] <= sess.get_loc(d) - p <= window[1]:
                    ids.add(oid)
            out[(ev.event_id, sec.ticker)] = ids
    return out


def _labels(res: object) -> dict[tuple[str, str], set[str]]:
    d = res.diagnostics  # type: ignore[attr-defined]
    return {(e, t): set(filter(None, str(c).split(";"))) for e, t, c in
            zip(d["event_id"], d["ticker"], d["confounded_by"], strict=True)}


# the expected flags, written out (and checked against the oracle below)
EXPECTED_EVENT_WINDOW = {
    ("E1", "A1"): {"C_ALL", "C_A1"},     # C_A1: 06-10 pre-open, E1 day 0 06-13
    ("E1", "A2"): {"C_ALL"},
    ("E1", "J1"): {"C_ALL", "E2"},       # E2 on Tokyo 06-20 = +5
    ("E1", "J2"): {"C_ALL", "E2"},
    ("E2", "J1"): {"E1", "C_ALL", "C_JP"},  # C_JP after the close: 06-26 = +4
    ("E2", "J2"): {"E1", "C_ALL", "C_JP"},
    ("E3", "A1"): {"C_MIX"},             # 08-30 = -1 of 09-03 (Labor Day roll)
    ("E3", "A2"): {"C_MIX"},
    ("E4", "A1"): set(),
    ("E4", "A2"): {"C_EVT"},             # 10-03 21:00 New York = 10-04 session
    ("E4", "J1"): set(),
    ("E4", "J2"): {"C_EVT"},             # 10-04 10:00 Tokyo = intraday 10-04
}


def test_the_written_out_flags_are_the_oracle_s() -> None:
    assert _oracle(WINDOWS.event) == EXPECTED_EVENT_WINDOW


def test_confounders_flag_exactly_the_oracle_s_pairs() -> None:
    res = _study(confounders=CONFOUNDERS).fit(tests=("csect_t",))
    assert _labels(res) == EXPECTED_EVENT_WINDOW
    # ids in (day 0, pair) order, catalog events and confounders alike
    d = res.diagnostics.set_index(["event_id", "ticker"])["confounded_by"]
    assert d[("E1", "A1")] == "C_A1;C_ALL"
    assert d[("E2", "J1")] == "E1;C_ALL;C_JP"


@pytest.mark.parametrize("window", [(-3, 3), (0, 10), (-15, -1)])
def test_confounding_window_is_its_own(window: tuple[int, int]) -> None:
    res = _study(confounders=CONFOUNDERS, confounding_window=window).fit(
        tests=("csect_t",))
    expected = _oracle(window)
    assert _labels(res) == expected
    assert any(expected.values())


def test_confounders_never_become_pairs() -> None:
    base = _study().fit(tests=("csect_t",))
    res = _study(confounders=CONFOUNDERS).fit(tests=("csect_t",))
    assert res.n_pairs == base.n_pairs == 12
    for table in (res.abnormal_returns, res.car, res.diagnostics):
        assert not table["event_id"].str.startswith("C_").any()
    assert not res.tests["scope_value"].astype(str).str.contains("C_").any()
    # flagging changes the labels, never a number
    pd.testing.assert_frame_equal(res.abnormal_returns, base.abnormal_returns)
    pd.testing.assert_frame_equal(res.tests, base.tests)
    assert (res.diagnostics.drop(columns="confounded_by")
            .equals(base.diagnostics.drop(columns="confounded_by")))


def test_exclude_drops_exactly_the_flagged_pairs_with_their_reason() -> None:
    res = _study(confounders=CONFOUNDERS, confounding="exclude").fit(
        tests=("csect_t",))
    flagged = {k for k, v in EXPECTED_EVENT_WINDOW.items() if v}
    ex = res.excluded
    assert set(zip(ex["event_id"], ex["ticker"], strict=True)) == flagged
    reasons = dict(zip(zip(ex["event_id"], ex["ticker"], strict=True), ex["reason"],
                       strict=True))
    assert reasons[("E1", "A1")] == ("confounded by event(s) C_A1;C_ALL inside the "
                                     "event window")
    assert reasons[("E4", "J2")] == ("confounded by event(s) C_EVT inside the event "
                                     "window")
    kept = set(zip(res.diagnostics["event_id"], res.diagnostics["ticker"],
                   strict=True))
    assert kept == {("E4", "A1"), ("E4", "J1")}


def test_exclude_names_its_own_window() -> None:
    res = _study(confounders=CONFOUNDERS, confounding="exclude",
                 confounding_window=(-1, 1)).fit(tests=("csect_t",))
    reasons = dict(zip(zip(res.excluded["event_id"], res.excluded["ticker"],
                           strict=True), res.excluded["reason"], strict=True))
    assert reasons == {("E3", "A1"): "confounded by event(s) C_MIX inside the "
                                     "confounding window [-1, 1]",
                       ("E3", "A2"): "confounded by event(s) C_MIX inside the "
                                     "confounding window [-1, 1]",
                       ("E1", "A1"): "confounded by event(s) C_ALL inside the "
                                     "confounding window [-1, 1]",
                       ("E1", "A2"): "confounded by event(s) C_ALL inside the "
                                     "confounding window [-1, 1]",
                       ("E1", "J1"): "confounded by event(s) C_ALL inside the "
                                     "confounding window [-1, 1]",
                       ("E1", "J2"): "confounded by event(s) C_ALL inside the "
                                     "confounding window [-1, 1]"}
    assert {k for k, v in _oracle((-1, 1)).items() if v} == set(reasons)


def test_ticker_mode_events_take_confounders_by_ticker() -> None:
    ev = pd.DataFrame({"event_id": ["T1", "T2"],
                       "timestamp": ["2024-06-12", "2024-06-12"],
                       "ticker": ["A1", "A2"], "calendar": ["XNYS", "XNYS"],
                       "benchmark": ["MKT_US", "MKT_US"]})
    conf = CONFOUNDERS.iloc[[1]]  # C_A1 on 06-10 pre-open: day -2 of A1
    res = EventStudy(RETURNS, ev, kind="returns", windows=WINDOWS,
                     confounders=conf).fit(tests=("csect_t",))
    assert res.diagnostics["confounded_by"].tolist() == ["C_A1", ""]
    bad = conf.assign(scope="A9")
    with pytest.raises(CatalogError) as info:
        EventStudy(RETURNS, ev, kind="returns", windows=WINDOWS, confounders=bad)
    assert info.value.problems == [
        "line 2: scope name 'A9' is neither a ticker nor a group of the universe "
        "(known: A1, A2); fix the name, add the security to the universe, or use *"]


def test_constructor_validates_confounders_and_windows() -> None:
    with pytest.raises(CatalogError) as info:
        _study(confounders=CONFOUNDERS.assign(kind="gossip").iloc[:1])
    assert str(info.value).startswith("<confounders>: 1 problem(s) in the "
                                      "confounders file")
    with pytest.raises(CatalogError) as info:
        _study(confounders=CONFOUNDERS.assign(confounder_id=["E1", "x", "y", "z",
                                                             "w", "v"]),
               sources={"confounders": "conf.csv"})
    assert info.value.problems == ["line 2: confounder_id 'E1' is also an event_id "
                                   "of the catalog; rename it"]
    with pytest.raises(Exception, match=r"confounding_window \[2, 1\] is reversed"):
        _study(confounding_window=(2, 1))
    with pytest.raises(Exception, match=r"mask_window \[1, 0\] is reversed"):
        _study(mask_window=(1, 0))
