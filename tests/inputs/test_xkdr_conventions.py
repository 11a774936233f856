"""The xKDR conventions, input side (issue #19 part 5): ``[windows] day0_rule`` and
the study-file keys ``estimation = "all"`` / ``estimation_gap``.

xKDR ``eventstudies`` (``phys2eventtime``/``timeshift``) places day 0 at
``findInterval(when, index(z))``: the last date of the data at or before the event
date. ``day0_rule = "previous"`` does that on the exchange's calendar: a plain date
that is not a session goes back to the previous session; the default ``"next"`` goes
forward. The tables below are written by hand from the exchanges' published holiday
lists (NYSE and JPX), not from the calendar library.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eventstudy.config import Windows, load_study
from eventstudy.errors import StudyFileError, UnknownNameError, WindowError
from eventstudy.inputs.calendar import (
    DAY0_PREVIOUS_RULES,
    align_events,
    get_sessions,
    locate_day0,
    locate_day0_asof,
)
from eventstudy.inputs.events import events_from_frame
from eventstudy.study import EventStudy

# (calendar, plain date, why, day 0 with "next", day 0 with "previous", kind)
# kind: "" = a session (rule date_only under both), "weekend" or "holiday"
HAND_TABLE = [
    ("XNYS", "2024-07-03", "session (early close)", "2024-07-03", "2024-07-03", ""),
    ("XNYS", "2024-07-04", "Independence Day", "2024-07-05", "2024-07-03", "holiday"),
    ("XNYS", "2024-11-28", "Thanksgiving", "2024-11-29", "2024-11-27", "holiday"),
    ("XNYS", "2024-12-25", "Christmas", "2024-12-26", "2024-12-24", "holiday"),
    ("XNYS", "2024-06-19", "Juneteenth", "2024-06-20", "2024-06-18", "holiday"),
    ("XNYS", "2025-01-09", "day of mourning, President Carter", "2025-01-10",
     "2025-01-08", "holiday"),
    # Easter weekend: previous skips Good Friday (2024-03-29) back to Thursday
    ("XNYS", "2024-03-30", "Saturday after Good Friday", "2024-04-01", "2024-03-28",
     "weekend"),
    ("XNYS", "2024-09-01", "Sunday before Labor Day", "2024-09-03", "2024-08-30",
     "weekend"),
    ("XNYS", "2024-09-02", "Labor Day", "2024-09-03", "2024-08-30", "holiday"),
    ("XTKS", "2024-10-15", "session", "2024-10-15", "2024-10-15", ""),
    ("XTKS", "2024-01-02", "New Year holidays", "2024-01-04", "2023-12-29",
     "holiday"),
    ("XTKS", "2024-12-31", "year end, closed", "2025-01-06", "2024-12-30",
     "holiday"),
    # Golden Week 2024: 05-03 Constitution Day, 05-06 substitute holiday
    ("XTKS", "2024-05-04", "Saturday in Golden Week", "2024-05-07", "2024-05-02",
     "weekend"),
    ("XTKS", "2024-05-06", "substitute holiday", "2024-05-07", "2024-05-02",
     "holiday"),
    ("XTKS", "2024-09-16", "Respect for the Aged Day", "2024-09-17", "2024-09-13",
     "holiday"),
    ("XTKS", "2024-02-11", "National Foundation Day (Sunday)", "2024-02-13",
     "2024-02-09", "weekend"),
    ("XTKS", "2024-02-12", "its substitute holiday", "2024-02-13", "2024-02-09",
     "holiday"),
]


def _rule(kind: str, date_rule: str) -> str:
    if not kind:
        return "date_only"
    return f"date_only_{kind}_{'roll' if date_rule == 'next' else 'previous'}"


@pytest.mark.parametrize("date_rule", ["next", "previous"])
@pytest.mark.parametrize("cal", ["XNYS", "XTKS"])
def test_plain_dates_against_the_hand_table(cal: str, date_rule: str) -> None:
    rows = [r for r in HAND_TABLE if r[0] == cal]
    s = get_sessions(cal, "2023-12-01", "2025-02-28")
    d = np.array([pd.Timestamp(r[1]).value for r in rows])
    pos, rule = locate_day0(s, d, np.ones(len(rows), dtype=bool), date_rule)
    got = [(str(s.dates[p].date()), str(x)) for p, x in zip(pos, rule, strict=True)]
    want = [(r[3] if date_rule == "next" else r[4], _rule(r[5], date_rule))
            for r in rows]
    assert got == want


def test_previous_rule_names() -> None:
    assert DAY0_PREVIOUS_RULES == ("date_only_weekend_previous",
                                   "date_only_holiday_previous")


def test_timed_announcements_ignore_the_date_rule() -> None:
    """A Saturday with a time is a weekend_roll to Monday under both rules."""
    s = get_sessions("XNYS", "2024-03-01", "2024-04-30")
    t = np.array([pd.Timestamp("2024-03-30T10:00-04:00").value])
    for date_rule in ("next", "previous"):
        pos, rule = locate_day0(s, t, np.array([False]), date_rule)
        assert (str(s.dates[pos[0]].date()), rule[0]) == ("2024-04-01",
                                                           "weekend_roll")


def test_out_of_range_under_previous() -> None:
    """Before the first session there is no previous session; after the last one
    the calendar may just end: both out of range."""
    s = get_sessions("XNYS", "2024-03-04", "2024-03-08")
    d = np.array([pd.Timestamp(x).value for x in ("2024-03-02", "2024-03-09",
                                                  "2024-03-05")])
    pos, rule = locate_day0(s, d, np.ones(3, dtype=bool), "previous")
    assert pos.tolist() == [-1, -1, 1]
    assert rule.tolist() == ["out_of_range", "out_of_range", "date_only"]


def test_asof_series_keep_their_rule() -> None:
    """Yahoo's 00:00 London FX snapshot: a plain Saturday still gives Monday's
    snapshot (the first one taken after the whole date), under both rules."""
    s = get_sessions("FX", "2024-11-01", "2024-11-15")
    d = np.array([pd.Timestamp("2024-11-09").value])
    for date_rule in ("next", "previous"):
        pos, rule = locate_day0_asof(s, "00:00 Europe/London", d, np.array([True]),
                                     date_rule)
        assert (str(s.dates[pos[0]].date()), rule[0]) == (
            "2024-11-11", "date_only_asof 00:00 Europe/London")
    # a close-valued series on the same calendar follows the rule
    pos, rule = locate_day0_asof(s, "close", d, np.array([True]), "previous")
    assert (str(s.dates[pos[0]].date()), rule[0]) == ("2024-11-08",
                                                       "date_only_weekend_previous")


def test_unknown_date_rule_is_refused() -> None:
    s = get_sessions("XNYS", "2024-03-04", "2024-03-08")
    with pytest.raises(UnknownNameError, match=r"day0_rule = 'prev' is not valid; "
                       r"choose one of next, previous"):
        locate_day0(s, np.array([0]), np.array([True]), "prev")


def test_align_events_with_the_previous_rule() -> None:
    ev = events_from_frame(pd.DataFrame({
        "event_id": ["a", "b"], "timestamp": ["2024-05-04", "2024-07-04"],
        "groups": ["g", "g"]}))
    out = align_events(ev, ["XTKS", "XNYS"], date_rule="previous")
    assert out[["event_id", "calendar", "day0", "rule"]].values.tolist() == [
        ["a", "XTKS", "2024-05-02", "date_only_weekend_previous"],
        ["a", "XNYS", "2024-05-03", "date_only_weekend_previous"],
        ["b", "XTKS", "2024-07-04", "date_only"],
        ["b", "XNYS", "2024-07-03", "date_only_holiday_previous"]]


# ------------------------------------------------------------ through a study
def _xnys_prices() -> pd.DataFrame:
    dates = get_sessions("XNYS", "2023-06-01", "2024-12-31").dates
    rng = np.random.default_rng(5)
    m = rng.normal(0.0003, 0.01, len(dates))
    r = {"MKT": m, "AAA": 0.9 * m + rng.normal(0, 0.012, len(dates))}
    return pd.DataFrame({k: 50.0 * np.cumprod(1.0 + v) for k, v in r.items()},
                        index=pd.DatetimeIndex(dates, name="date"))


def test_study_pairs_record_the_rule() -> None:
    """Day 0 and day0_rule per pair under each rule; a confounder on a holiday is
    placed by the same rule (flagged only when its day 0 is in the window)."""
    events = pd.DataFrame({"event_id": ["hol", "wkd", "ses"],
                           "timestamp": ["2024-07-04", "2024-03-30", "2024-10-15"],
                           "ticker": ["AAA"] * 3})
    conf = pd.DataFrame({"confounder_id": ["c"], "timestamp": ["2024-11-28"],
                         "scope": ["AAA"], "kind": ["news"], "title": [""],
                         "source": ["x"]})
    extra = pd.DataFrame({"event_id": ["thx"], "timestamp": ["2024-11-22"],
                          "ticker": ["AAA"]})
    px = _xnys_prices()
    want = {"next": {"hol": ("2024-07-05", "date_only_holiday_roll"),
                     "wkd": ("2024-04-01", "date_only_weekend_roll"),
                     "ses": ("2024-10-15", "date_only"),
                     "thx": ("2024-11-22", "date_only")},
            "previous": {"hol": ("2024-07-03", "date_only_holiday_previous"),
                         "wkd": ("2024-03-28", "date_only_weekend_previous"),
                         "ses": ("2024-10-15", "date_only"),
                         "thx": ("2024-11-22", "date_only")}}
    for date_rule, expect in want.items():
        w = Windows(estimation=(-120, -11), event=(-3, 3), car=((0, 0),),
                    min_estimation_obs=60, day0_rule=date_rule)  # type: ignore[arg-type]
        res = EventStudy(px, pd.concat([events, extra], ignore_index=True),
                         calendar="XNYS", benchmark="MKT", windows=w,
                         confounders=conf).fit(tests=("csect_t",))
        d = res.diagnostics.set_index("event_id")  # type: ignore[attr-defined]
        got = {e: (str(d.loc[e, "day0"].date()), d.loc[e, "day0_rule"])
               for e in expect}
        assert got == expect, date_rule
        # Thanksgiving 11-28: next -> 11-29 (day +4 of thx 11-22: outside [-3, 3]);
        # previous -> 11-27 (day +3: inside)
        flagged = d.loc["thx", "confounded_by"]
        assert flagged == ("" if date_rule == "next" else "c"), date_rule


# ------------------------------------------------------------ study-file keys
BASE = """\
[study]
events = "events.csv"
universe = "universe.csv"

[windows]
"""


def _load(tmp_path: Path, body: str) -> Windows:
    f = tmp_path / "s.toml"
    f.write_text(BASE + body, encoding="utf-8")
    return load_study(f).windows


def test_study_file_keys(tmp_path: Path) -> None:
    w = _load(tmp_path, 'estimation = "all"\nestimation_gap = 10\nevent = [-9, 10]\n'
                        'min_estimation_obs = 100\nday0_rule = "previous"\n')
    assert w == Windows(event=(-9, 10), min_estimation_obs=100,
                        estimation_mode="all", estimation_gap=10,
                        day0_rule="previous")
    assert w.estimation == (-119, -20) and w.estimation_gap == 10
    # gap defaults to 0 (xKDR): the estimation ends the session before the event
    w = _load(tmp_path, 'estimation = "all"\nevent = [-9, 10]\n')
    assert (w.estimation_mode, w.estimation_gap, w.estimation[1]) == ("all", 0, -10)
    assert w.day0_rule == "next"
    assert _load(tmp_path, "") == Windows()


@pytest.mark.parametrize("body, error, parts", [
    ('estimation = "everything"\n', WindowError,
     ['[windows] estimation = \'everything\' is not valid', '"all"',
      "[-250, -11]"]),
    ('estimation = "all"\nestimation_gap = -1\n', StudyFileError,
     ["[windows] estimation_gap = -1 is out of range", "from 0 to 20,000",
      "0 = as xKDR eventstudies"]),
    ('estimation = "all"\nestimation_gap = 2.5\n', StudyFileError,
     ["[windows] estimation_gap must be an integer, got 2.5"]),
    ('estimation = [-250, -21]\nestimation_gap = 5\n', WindowError,
     ["[windows] estimation_gap = 5 disagrees with the estimation window "
      "[-250, -21], which ends 10 session(s) before the event window [-10, 10]",
      'remove estimation_gap', 'estimation = "all"']),
    ('day0_rule = "prev"\n', UnknownNameError,
     ["[windows] day0_rule = 'prev' is not valid; choose one of next, previous"]),
    ('day0_rule = 1\n', UnknownNameError, ["[windows] day0_rule = 1 is not valid"]),
    ('estimation = "all"\nestimation_gap = 19990\n', WindowError,
     ["estimation_gap = 19990", "limit of 20,000 sessions",
      "use a smaller estimation_gap"]),
])
def test_study_file_errors_name_the_key_and_the_fix(
        tmp_path: Path, body: str, error: type[Exception], parts: list[str]) -> None:
    with pytest.raises(error) as info:
        _load(tmp_path, body)
    msg = str(info.value)
    assert "s.toml" in msg
    for p in parts:
        assert p in msg, (p, msg)


def test_windows_api_errors() -> None:
    with pytest.raises(UnknownNameError, match="estimation_mode = 'ALL' is not "
                       "valid; choose one of window, all"):
        Windows(estimation_mode="ALL")  # type: ignore[arg-type]
    with pytest.raises(WindowError, match=r"estimation_gap must be a whole number "
                       r"of sessions >= 0 .*got -2"):
        Windows(estimation_mode="all", estimation_gap=-2)
    with pytest.raises(UnknownNameError, match="day0_rule = 'back' is not valid"):
        Windows(day0_rule="back")  # type: ignore[arg-type]
