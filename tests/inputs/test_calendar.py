"""Day 0 on each exchange's own calendar: every rule, holiday, DST edge and close-time
change, each with the exact expected session; then the shipped catalog against the
day-0 table of events-verified.md.

Conventions (events-verified.md section 0, calendar.py docstring): day 0 is the first
session whose close is at or after the announcement. Tokyo and Seoul trade
09:00-15:30 local (Tokyo closed at 15:00 before 2024-11-05), New York 09:30-16:00 ET,
and the FX calendar's sessions end at 17:00 New York time, Monday to Friday.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from conftest import DAY0_TABLE as _DAY0_CONFTEST
from conftest import EVENTS_DIR

from eventstudy.errors import CalendarError
from eventstudy.inputs.calendar import (
    DAY0_RULES,
    Sessions,
    align_events,
    get_sessions,
    locate_day0,
)
from eventstudy.inputs.events import events_from_frame, load_events, parse_timestamps

# conftest's table and E10 (issue #17), from events-verified.md's summary table
DAY0_TABLE = {**_DAY0_CONFTEST,
              "E10_KR_GYEONGJU": {"XTKS": "2025-10-30", "XKRX": "2025-10-30",
                                  "XNYS": "2025-10-29", "FX": "2025-10-29"}}


@functools.cache
def sessions(calendar: str) -> Sessions:
    """One wide session range per calendar (building XKRX's holidays is slow)."""
    return get_sessions(calendar, "2024-09-01", "2026-04-30")


def day0(calendar: str, stamp: str) -> tuple[str, str]:
    """(day 0, rule) of one catalog timestamp on one calendar."""
    inst, donly, problems = parse_timestamps(pd.Series([stamp]))
    assert problems == []
    sess = sessions(calendar)
    pos, rule = locate_day0(sess, inst, donly)
    assert pos[0] >= 0, rule[0]
    return sess.dates[pos[0]].strftime("%Y-%m-%d"), str(rule[0])


class Case(NamedTuple):
    id: str
    calendar: str
    stamp: str
    day0: str
    rule: str


CASES = [
    # after the US close -> the next Tokyo session (before the Tokyo open)
    Case("us_after_close_to_tokyo", "XTKS", "2025-09-04T17:18-04:00",
         "2025-09-05", "pre_open"),
    Case("us_after_close_ny", "XNYS", "2025-09-04T17:18-04:00",
         "2025-09-05", "after_close"),
    Case("us_evening_post_to_tokyo", "XTKS", "2025-07-22T19:12-04:00",
         "2025-07-23", "pre_open"),
    # intraday, Tokyo and New York
    Case("tokyo_intraday", "XTKS", "2025-10-28T10:00+09:00", "2025-10-28", "intraday"),
    # the lunch break (11:30-12:30) is not modelled: still the same session
    Case("tokyo_lunch", "XTKS", "2025-10-28T12:00+09:00", "2025-10-28", "intraday"),
    Case("tokyo_open_exact", "XTKS", "2025-10-28T09:00+09:00",
         "2025-10-28", "intraday"),
    Case("tokyo_before_open", "XTKS", "2025-10-28T08:59+09:00",
         "2025-10-28", "pre_open"),
    Case("ny_intraday", "XNYS", "2026-02-20T10:00-05:00", "2026-02-20", "intraday"),
    Case("ny_open_exact", "XNYS", "2026-02-20T09:30-05:00", "2026-02-20", "intraday"),
    Case("ny_before_open", "XNYS", "2026-02-20T09:29-05:00", "2026-02-20", "pre_open"),
    Case("ny_close_exact", "XNYS", "2026-02-20T16:00-05:00", "2026-02-20", "intraday"),
    Case("ny_after_close_friday", "XNYS", "2026-02-20T16:01-05:00",
         "2026-02-23", "after_close"),
    # weekends: local Saturday/Sunday
    Case("ny_friday_is_saturday_in_tokyo", "XTKS", "2025-02-07T14:00-05:00",
         "2025-02-10", "weekend_roll"),
    Case("ny_friday_is_saturday_in_seoul", "XKRX", "2025-02-07T14:00-05:00",
         "2025-02-10", "weekend_roll"),
    Case("sunday_in_scotland", "XNYS", "2025-07-27T15:00+01:00",
         "2025-07-28", "weekend_roll"),
    Case("date_only_sunday", "XTKS", "2025-07-27", "2025-07-28",
         "date_only_weekend_roll"),
    # holidays: Tokyo 2026-02-23 (Emperor's Birthday)
    Case("tokyo_holiday_timed", "XTKS", "2026-02-23T10:00+09:00",
         "2026-02-24", "holiday_roll"),
    Case("tokyo_holiday_date_only", "XTKS", "2026-02-23", "2026-02-24",
         "date_only_holiday_roll"),
    Case("tokyo_friday_close_before_holiday", "XTKS", "2026-02-20T16:00+09:00",
         "2026-02-24", "after_close"),
    Case("ny_friday_morning_is_tokyo_saturday", "XTKS", "2026-02-20T10:00-05:00",
         "2026-02-24", "weekend_roll"),
    # Seoul 2026-02-16..18 (Seollal)
    Case("seoul_seollal_day1", "XKRX", "2026-02-16", "2026-02-19",
         "date_only_holiday_roll"),
    Case("seoul_seollal_day2", "XKRX", "2026-02-17", "2026-02-19",
         "date_only_holiday_roll"),
    Case("seoul_seollal_day3", "XKRX", "2026-02-18", "2026-02-19",
         "date_only_holiday_roll"),
    Case("seoul_seollal_timed", "XKRX", "2026-02-17T11:00+09:00",
         "2026-02-19", "holiday_roll"),
    Case("seoul_friday_before_seollal", "XKRX", "2026-02-13T16:00+09:00",
         "2026-02-19", "after_close"),
    # New York 2026-02-16 (Presidents' Day)
    Case("ny_presidents_day_timed", "XNYS", "2026-02-16T11:00-05:00",
         "2026-02-17", "holiday_roll"),
    Case("ny_presidents_day_date_only", "XNYS", "2026-02-16", "2026-02-17",
         "date_only_holiday_roll"),
    # date-only on a session
    Case("date_only_session_tokyo", "XTKS", "2026-02-10", "2026-02-10", "date_only"),
    Case("date_only_session_ny", "XNYS", "2026-02-17", "2026-02-17", "date_only"),
    # DST in New York (EDT from 2025-03-09, EST again from 2025-11-02)
    Case("dst_spring_0945_edt", "XNYS", "2025-03-10T09:45-04:00",
         "2025-03-10", "intraday"),
    Case("dst_spring_same_instant_utc", "XNYS", "2025-03-10T13:45Z",
         "2025-03-10", "intraday"),
    # 13:45 UTC is 08:45 EST on the Friday before the switch: before the open
    Case("dst_spring_1345z_est", "XNYS", "2025-03-07T13:45Z",
         "2025-03-07", "pre_open"),
    # 14:15 UTC: 10:15 EDT on Fri 10-31 (intraday) but 09:15 EST on Mon 11-03
    Case("dst_autumn_1415z_edt", "XNYS", "2025-10-31T14:15Z",
         "2025-10-31", "intraday"),
    Case("dst_autumn_1415z_est", "XNYS", "2025-11-03T14:15Z",
         "2025-11-03", "pre_open"),
    # 20:30 UTC: 15:30 EST (before the close) but 16:30 EDT (after the close)
    Case("dst_2030z_est_before_close", "XNYS", "2025-03-07T20:30Z",
         "2025-03-07", "intraday"),
    Case("dst_2030z_edt_after_close", "XNYS", "2025-03-10T20:30Z",
         "2025-03-11", "after_close"),
    Case("dst_2030z_edt_after_close_oct", "XNYS", "2025-10-31T20:30Z",
         "2025-11-03", "after_close"),
    Case("dst_2030z_est_before_close_nov", "XNYS", "2025-11-03T20:30Z",
         "2025-11-03", "intraday"),
    # Tokyo's close moved from 15:00 to 15:30 on 2024-11-05
    Case("tse_1515_new_close", "XTKS", "2024-11-05T15:15+09:00",
         "2024-11-05", "intraday"),
    Case("tse_1530_new_close_exact", "XTKS", "2024-11-05T15:30+09:00",
         "2024-11-05", "intraday"),
    Case("tse_1531_after_new_close", "XTKS", "2024-11-05T15:31+09:00",
         "2024-11-06", "after_close"),
    # 2024-11-01 closed at 15:00; 11-02..04 weekend + Culture Day (observed)
    Case("tse_1515_old_close", "XTKS", "2024-11-01T15:15+09:00",
         "2024-11-05", "after_close"),
    Case("tse_1459_old_close", "XTKS", "2024-11-01T14:59+09:00",
         "2024-11-01", "intraday"),
    # FX: sessions end 17:00 New York, Monday to Friday; Monday opens Sunday 17:00
    Case("fx_before_1700", "FX", "2025-03-06T16:59-05:00", "2025-03-06", "intraday"),
    Case("fx_1700_exact", "FX", "2025-03-06T17:00-05:00", "2025-03-06", "intraday"),
    Case("fx_after_1700", "FX", "2025-03-06T17:01-05:00", "2025-03-07", "intraday"),
    Case("fx_tokyo_morning", "FX", "2025-10-28T10:00+09:00", "2025-10-28", "intraday"),
    Case("fx_friday_after_close", "FX", "2025-03-07T17:30-05:00",
         "2025-03-10", "after_close"),
    Case("fx_saturday", "FX", "2025-03-08T12:00-05:00", "2025-03-10", "weekend_roll"),
    Case("fx_sunday_evening_reopen", "FX", "2025-03-09T18:00-04:00",
         "2025-03-10", "intraday"),
    # the FX close follows New York DST: 21:30 UTC is 16:30 EST but 17:30 EDT
    Case("fx_2130z_est", "FX", "2025-03-07T21:30Z", "2025-03-07", "intraday"),
    Case("fx_2130z_edt", "FX", "2025-03-10T21:30Z", "2025-03-11", "intraday"),
    Case("fx_date_only_weekday", "FX", "2025-03-10", "2025-03-10", "date_only"),
    Case("fx_date_only_sunday", "FX", "2025-03-09", "2025-03-10",
         "date_only_weekend_roll"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_day0(case: Case) -> None:
    assert day0(case.calendar, case.stamp) == (case.day0, case.rule)


def test_every_rule_is_exercised() -> None:
    assert {c.rule for c in CASES} == set(DAY0_RULES)


@pytest.mark.parametrize("calendar,holidays,open_days", [
    ("XTKS", ["2026-02-11", "2026-02-23", "2026-03-20"], ["2026-02-24"]),
    ("XKRX", ["2026-02-16", "2026-02-17", "2026-02-18"], ["2026-02-19", "2026-02-23"]),
    ("XNYS", ["2025-05-26", "2026-02-16"], ["2026-02-17"]),
])
def test_holidays_are_not_sessions(calendar, holidays, open_days) -> None:
    sess = sessions(calendar)
    have = set(sess.dates.strftime("%Y-%m-%d"))
    assert not have & set(holidays)
    assert set(open_days) <= have


def test_session_hours() -> None:
    """Local open/close of a few sessions, including Tokyo's later close."""
    def hours(cal: str, date: str) -> tuple[str, str]:
        s = sessions(cal)
        (i,) = np.flatnonzero(s.dates == pd.Timestamp(date))
        o = pd.Timestamp(int(s.open_ns[i]), tz="UTC").tz_convert(s.tz)
        c = pd.Timestamp(int(s.close_ns[i]), tz="UTC").tz_convert(s.tz)
        return o.strftime("%H:%M"), c.strftime("%H:%M")

    assert hours("XTKS", "2024-11-01") == ("09:00", "15:00")
    assert hours("XTKS", "2024-11-05") == ("09:00", "15:30")
    assert hours("XKRX", "2026-02-19") == ("09:00", "15:30")
    assert hours("XNYS", "2025-03-07") == ("09:30", "16:00")
    assert hours("XNYS", "2025-03-10") == ("09:30", "16:00")
    # FX: Monday's session runs from Sunday 17:00 to Monday 17:00 New York
    fx = get_sessions("FX", "2025-03-10", "2025-03-10")
    o = pd.Timestamp(int(fx.open_ns[0]), tz="UTC").tz_convert("America/New_York")
    c = pd.Timestamp(int(fx.close_ns[0]), tz="UTC").tz_convert("America/New_York")
    assert (str(o), str(c)) == ("2025-03-09 17:00:00-04:00",
                                "2025-03-10 17:00:00-04:00")


def test_sessions_are_tz_naive_sorted_unique() -> None:
    for cal in ("XTKS", "XKRX", "XNYS", "FX"):
        s = sessions(cal)
        assert s.dates.tz is None
        assert s.dates.is_monotonic_increasing and s.dates.is_unique
        assert (s.dates == s.dates.normalize()).all()
        assert (s.open_ns < s.close_ns).all()
        assert (s.close_ns[:-1] < s.open_ns[1:]).all() or cal == "FX"


def test_unknown_calendar() -> None:
    with pytest.raises(CalendarError, match="unknown calendar"):
        get_sessions("NOPE", "2025-01-01", "2025-01-31")


def test_out_of_range() -> None:
    sess = get_sessions("XNYS", "2025-03-03", "2025-03-07")
    inst, donly, _ = parse_timestamps(pd.Series(
        ["2025-03-07T17:00-05:00", "2025-03-10", "2025-02-03", "2025-03-05"]))
    pos, rule = locate_day0(sess, inst, donly)
    assert list(rule) == ["out_of_range", "out_of_range", "out_of_range", "date_only"]
    assert list(pos[:3]) == [-1, -1, -1]
    assert sess.dates[pos[3]] == pd.Timestamp("2025-03-05")


def test_vectorised_equals_one_by_one() -> None:
    stamps = [c.stamp for c in CASES if c.calendar == "XNYS"]
    inst, donly, _ = parse_timestamps(pd.Series(stamps))
    sess = sessions("XNYS")
    pos, rule = locate_day0(sess, inst, donly)
    expect = [(c.day0, c.rule) for c in CASES if c.calendar == "XNYS"]
    got = [(sess.dates[p].strftime("%Y-%m-%d"), str(r)) for p, r in zip(pos, rule,
                                                                       strict=True)]
    assert got == expect


# ---------------------------------------------------------------- align_events
def test_align_events_columns_and_order() -> None:
    ev = events_from_frame(pd.DataFrame({
        "event_id": ["b", "a"],
        "timestamp": ["2026-02-20T10:00-05:00", "2026-02-23"],
        "groups": ["g", "g"]}))
    out = align_events(ev, ["XTKS", "XNYS"])
    assert list(out.columns) == ["event_id", "timestamp", "calendar", "day0", "rule",
                                 "local_time"]
    assert list(zip(out["event_id"], out["calendar"], out["day0"], out["rule"],
                    strict=True)) == [
        ("b", "XTKS", "2026-02-24", "weekend_roll"),
        ("b", "XNYS", "2026-02-20", "intraday"),
        ("a", "XTKS", "2026-02-24", "date_only_holiday_roll"),
        ("a", "XNYS", "2026-02-23", "date_only"),
    ]
    assert out["local_time"].iloc[0] == "2026-02-21 00:00 JST"
    assert out["local_time"].iloc[1] == "2026-02-20 10:00 EST"
    assert out["local_time"].iloc[2] == ""


def test_pandas_timestamps_are_accepted() -> None:
    """events_from_frame: tz-aware Timestamps are timed, tz-naive midnight = date."""
    ev = events_from_frame(pd.DataFrame({
        "event_id": ["t", "d"],
        "timestamp": [pd.Timestamp("2025-07-22 19:12", tz="America/New_York"),
                      pd.Timestamp("2025-07-27")],
        "ticker": ["X", "X"]}))
    assert list(ev["date_only"]) == [False, True]
    out = align_events(ev, ["XTKS"])
    assert list(out["day0"]) == ["2025-07-23", "2025-07-28"]


# ---------------------------------------------------------------- the shipped catalog
CALENDARS = ["XTKS", "XKRX", "XNYS", "FX"]


@pytest.fixture(scope="module")
def catalog_days() -> pd.DataFrame:
    ev = load_events(EVENTS_DIR / "japan_us_investment.csv")
    return align_events(ev, CALENDARS)


def test_catalog_events_are_in_the_table(catalog_days) -> None:
    assert set(catalog_days["event_id"]) == set(DAY0_TABLE)


@pytest.mark.parametrize("event_id", sorted(DAY0_TABLE))
def test_catalog_day0_matches_events_verified(catalog_days, event_id) -> None:
    rows = catalog_days[catalog_days["event_id"] == event_id]
    got = dict(zip(rows["calendar"], rows["day0"], strict=True))
    assert got == DAY0_TABLE[event_id]


def test_catalog_rules(catalog_days) -> None:
    """A few rules worth pinning: intraday New York, Tokyo holiday, Seollal."""
    rule = {(e, c): r for e, c, r in zip(catalog_days["event_id"],
                                         catalog_days["calendar"],
                                         catalog_days["rule"], strict=True)}
    assert rule["E17_SCOTUS_RULING", "XNYS"] == "intraday"
    assert rule["E17_SCOTUS_RULING", "XTKS"] == "weekend_roll"
    assert rule["E18_MAR_SUMMIT", "XTKS"] == "holiday_roll"
    assert rule["E18_MAR_SUMMIT", "XKRX"] == "pre_open"
    assert rule["E16_FIRST_TRANCHE", "XKRX"] == "date_only_holiday_roll"
    assert rule["E09B_JP_FACTSHEET", "XTKS"] == "after_close"
    assert rule["E04_NIPPON_USS_EO", "XNYS"] == "after_close"
    assert rule["E04_NIPPON_USS_EO", "FX"] == "after_close"
    assert rule["E06_EU_DEAL", "XNYS"] == "date_only_weekend_roll"
    assert set(catalog_days["rule"]) <= set(DAY0_RULES)
    assert np.all(catalog_days["day0"] != "")


@pytest.mark.parametrize("name", ["XKRX", "XTKS", "XNYS", "XLON", "XHKG", "XSHG"])
@pytest.mark.parametrize("start,end", [("2023-01-01", "2026-12-31"),
                                       ("2010-03-15", "2012-02-01")])
def test_range_limited_holidays_give_pmcs_own_schedule(name: str, start: str,
                                                       end: str) -> None:
    """get_sessions computes only the holidays near its range (XKRX's lunar rules
    cost ~1 s for every year); the sessions, opens and closes are pmc's."""
    import warnings

    import pandas_market_calendars as mcal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = mcal.get_calendar(name).schedule(start, end)
    got = get_sessions(name, start, end)
    want = pd.DatetimeIndex(full.index).tz_localize(None).normalize()
    assert list(got.dates) == list(want)
    np.testing.assert_array_equal(
        got.open_ns, pd.DatetimeIndex(full["market_open"]).as_unit("ns").asi8)
    np.testing.assert_array_equal(
        got.close_ns, pd.DatetimeIndex(full["market_close"]).as_unit("ns").asi8)


def test_window_dates_rows_keys_and_completeness() -> None:
    from eventstudy.inputs.calendar import WindowDates

    dates = np.full((2, 10), -1, dtype=np.int64)
    dates[0, 2:9] = np.arange(7) * 10  # calendar 0: sessions in columns 2..8
    dates[1, 1:10] = np.arange(9) * 10 + 5
    wd = WindowDates(dates, np.array([0, 0, 1, 0]), np.array([2, 1, 3, 2]), 4)
    full = np.stack([dates[c, s:s + 4] for c, s in ((0, 2), (0, 1), (1, 3), (0, 2))])
    assert wd.shape == (4, 4) and len(wd) == 4
    np.testing.assert_array_equal(wd[:], full)
    np.testing.assert_array_equal(wd[np.array([3, 1])], full[[3, 1]])
    np.testing.assert_array_equal(wd[np.array([True, False, True, False])],
                                  full[[0, 2]])
    np.testing.assert_array_equal(np.asarray(wd), full)
    k = wd.keys()
    assert k[0] == k[3] and len(set(k[:3].tolist())) == 3
    # pair 1 starts before calendar 0's first session: incomplete
    np.testing.assert_array_equal(wd.complete(), [True, False, True, True])
    np.testing.assert_array_equal(wd.complete(), (full >= 0).all(axis=1))
