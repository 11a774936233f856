"""Day 0 by each series' as-of time (issue #16): a stock at its exchange close (an
early close too), Yahoo's FX snapshot at 00:00 London around both DST changes, a
noon fixing, a 7-day series over a weekend, an ADR versus its home listing; the
24/7 and FX@cut calendars; the universe's asof column; the rule names.

Every case gives the exact expected observation (the day-0 date) and rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy.alignment import pair_asofs
from eventstudy.errors import CalendarError, CatalogError, InputError
from eventstudy.inputs.calendar import (
    get_sessions,
    locate_day0,
    parse_asof,
    resolve_asof,
    with_asof,
)
from eventstudy.inputs.events import universe_from_frame
from eventstudy.study import EventStudy

LONDON = "after_asof 00:00 Europe/London"
NOON = "after_asof 12:00 America/New_York"


def day0(calendar: str, asof: str, stamp: str) -> tuple[str, str]:
    """Day 0 (date, rule) of one timed announcement, as alignment computes it."""
    t = pd.Timestamp(stamp)
    sess = with_asof(get_sessions(calendar, t.normalize().tz_localize(None)
                                  - pd.Timedelta(days=10),
                                  t.normalize().tz_localize(None)
                                  + pd.Timedelta(days=20)), asof)
    pos, rule = locate_day0(sess, np.array([t.tz_convert("UTC").value]),
                            np.array([False]))
    r = str(rule[0])
    if asof != "close" and r != "out_of_range":
        r = f"after_asof {asof}"
    return sess.dates[pos[0]].strftime("%Y-%m-%d"), r


# (calendar, as-of, announcement, expected day 0, expected rule)
CASES = [
    # a stock at its exchange close: XNYS 2024-11-29 (day after Thanksgiving)
    # closes early, 13:00 New York
    ("XNYS", "close", "2024-11-29T12:59-05:00", "2024-11-29", "intraday"),
    ("XNYS", "close", "2024-11-29T13:00-05:00", "2024-11-29", "intraday"),
    ("XNYS", "close", "2024-11-29T13:01-05:00", "2024-12-02", "after_close"),
    ("XNYS", "close", "2024-11-28T10:00-05:00", "2024-11-29", "holiday_roll"),
    # Yahoo's FX snapshot, 00:00 London of the labelled date
    # March 2025: New York on EDT from 03-09, London on GMT until 03-30
    ("FX", "00:00 Europe/London", "2025-03-11T19:59-04:00", "2025-03-12", LONDON),
    ("FX", "00:00 Europe/London", "2025-03-11T20:00-04:00", "2025-03-12", LONDON),
    ("FX", "00:00 Europe/London", "2025-03-11T20:01-04:00", "2025-03-13", LONDON),
    # London on BST from 03-30: Monday 03-31's snapshot is Sunday 23:00 UTC
    ("FX", "00:00 Europe/London", "2025-03-30T22:59Z", "2025-03-31", LONDON),
    ("FX", "00:00 Europe/London", "2025-03-30T23:01Z", "2025-04-01", LONDON),
    ("FX", "00:00 Europe/London", "2025-03-31T18:59-04:00", "2025-04-01", LONDON),
    ("FX", "00:00 Europe/London", "2025-03-31T19:01-04:00", "2025-04-02", LONDON),
    # October 2025: London back on GMT from 10-26, New York on EDT until 11-02
    ("FX", "00:00 Europe/London", "2025-10-23T18:59-04:00", "2025-10-24", LONDON),
    ("FX", "00:00 Europe/London", "2025-10-23T19:01-04:00", "2025-10-27", LONDON),
    ("FX", "00:00 Europe/London", "2025-10-27T19:59-04:00", "2025-10-28", LONDON),
    ("FX", "00:00 Europe/London", "2025-10-27T20:01-04:00", "2025-10-29", LONDON),
    # the same FX series valued at the calendar close (17:00 New York)
    # (Wednesday's FX session opens Tuesday 17:00 New York)
    ("FX", "close", "2025-03-11T20:01-04:00", "2025-03-12", "intraday"),
    ("FX", "close", "2025-10-25T12:00Z", "2025-10-27", "weekend_roll"),
    # a noon fixing (H.10 style): 12:00 New York of the labelled date
    ("FX", "12:00 America/New_York", "2025-03-12T11:59-04:00", "2025-03-12", NOON),
    ("FX", "12:00 America/New_York", "2025-03-12T12:00-04:00", "2025-03-12", NOON),
    ("FX", "12:00 America/New_York", "2025-03-12T12:01-04:00", "2025-03-13", NOON),
    ("FX", "12:00 America/New_York", "2025-03-14T12:01-04:00", "2025-03-17", NOON),
    # a value taken on the day before its label
    ("FX", "17:00 America/New_York -1", "2025-03-11T17:01-04:00", "2025-03-13",
     "after_asof 17:00 America/New_York -1"),
    # a 7-day series: every day is a session (the UTC day); a weekend is no roll
    ("24/7", "close", "2025-03-14T23:30-05:00", "2025-03-15", "intraday"),
    ("24/7", "close", "2025-03-15T10:00Z", "2025-03-15", "intraday"),
    ("24/7", "close", "2025-03-16T23:59Z", "2025-03-16", "intraday"),
    # exactly 00:00 UTC is the close of the day before ("at or after")
    ("24/7", "close", "2025-03-17T00:00Z", "2025-03-16", "intraday"),
    ("24/7", "close", "2025-03-17T00:01Z", "2025-03-17", "intraday"),
    # the FX calendar cut at 16:00 London (WM/Reuters): Friday 16:01 is Monday
    ("FX@16:00 Europe/London", "close", "2025-03-14T15:59Z", "2025-03-14",
     "intraday"),
    ("FX@16:00 Europe/London", "close", "2025-03-14T16:01Z", "2025-03-17",
     "after_close"),
    ("FX@16:00 Europe/London", "close", "2025-03-15T09:00Z", "2025-03-17",
     "weekend_roll"),
    # an ADR (New York close) versus its home listing (Tokyo close, 15:30 JST):
    # 16:00 Tokyo is after Tokyo's close and before New York's open
    ("XTKS", "close", "2025-07-23T16:00+09:00", "2025-07-24", "after_close"),
    ("XNYS", "close", "2025-07-23T16:00+09:00", "2025-07-23", "pre_open"),
    # and a New York afternoon announcement: the ADR reacts the same day, Tokyo
    # the next morning
    ("XNYS", "close", "2025-07-23T14:00-04:00", "2025-07-23", "intraday"),
    ("XTKS", "close", "2025-07-23T14:00-04:00", "2025-07-24", "pre_open"),
]


@pytest.mark.parametrize(("calendar", "asof", "stamp", "date", "rule"), CASES,
                         ids=[f"{c[0]}|{c[1]}|{c[2]}" for c in CASES])
def test_day0_by_asof(calendar: str, asof: str, stamp: str, date: str,
                      rule: str) -> None:
    assert day0(calendar, asof, stamp) == (date, rule)


def test_early_close_is_the_close() -> None:
    s = get_sessions("XNYS", "2024-11-27", "2024-12-02")
    closes = pd.DatetimeIndex(s.close_ns, tz="UTC").tz_convert("America/New_York")
    assert [c.strftime("%m-%d %H:%M") for c in closes] == [
        "11-27 16:00", "11-29 13:00", "12-02 16:00"]


def test_seven_day_calendar_sessions() -> None:
    s = get_sessions("24/7", "2025-03-14", "2025-03-17")
    assert [d.strftime("%a %m-%d") for d in s.dates] == [
        "Fri 03-14", "Sat 03-15", "Sun 03-16", "Mon 03-17"]
    assert s.tz == "UTC"
    assert [str(pd.Timestamp(o, tz="UTC")) for o in s.open_ns[:2]] == [
        "2025-03-14 00:00:00+00:00", "2025-03-15 00:00:00+00:00"]
    assert [str(pd.Timestamp(c, tz="UTC")) for c in s.close_ns[:2]] == [
        "2025-03-15 00:00:00+00:00", "2025-03-16 00:00:00+00:00"]
    # holidays do not exist on it: 2025-12-25 is a session
    assert pd.Timestamp("2025-12-25") in get_sessions("24/7", "2025-12-24",
                                                      "2025-12-26").dates


def test_fx_calendar_weekdays_and_cut() -> None:
    fx = get_sessions("FX", "2025-12-24", "2025-12-29")
    # weekdays only, holidays included (the interbank market trades on them)
    assert [d.strftime("%m-%d") for d in fx.dates] == ["12-24", "12-25", "12-26",
                                                         "12-29"]
    cut = get_sessions("FX@16:00 Europe/London", "2025-03-28", "2025-03-31")
    assert [str(pd.Timestamp(c, tz="UTC")) for c in cut.close_ns] == [
        "2025-03-28 16:00:00+00:00", "2025-03-31 15:00:00+00:00"]
    assert str(pd.Timestamp(cut.open_ns[1], tz="UTC")) == "2025-03-30 15:00:00+00:00"
    assert cut.tz == "Europe/London"


@pytest.mark.parametrize("name", ["FX@25:00 Europe/London", "FX@16:00 Mars/Base",
                                  "FX@16:00 Europe/London -1", "FX@"])
def test_bad_fx_cut(name: str) -> None:
    with pytest.raises(CalendarError, match="FX@16:00 Europe/London"):
        get_sessions(name, "2025-01-01", "2025-01-31")


def test_parse_and_resolve_asof() -> None:
    assert parse_asof("close") is None and parse_asof(" ") is None
    assert str(parse_asof(" 09:00  Asia/Tokyo ")) == "09:00 Asia/Tokyo"
    assert str(parse_asof("17:00  America/New_York  -1")) == (
        "17:00 America/New_York -1")
    for bad in ("noon", "24:00 Europe/London", "12:00", "12:00 Nowhere/City",
                "12:00 Europe/London +1"):
        with pytest.raises(InputError, match="'HH:MM Area/City'"):
            parse_asof(bad)
    # Yahoo's =X default on an FX calendar (any cut), overridable; others: close
    assert resolve_asof("JPY=X", "FX", "") == "00:00 Europe/London"
    assert resolve_asof("EUR=X", "FX@16:00 Europe/London", "") == (
        "00:00 Europe/London")
    assert resolve_asof("JPY=X", "FX", "close") == "close"
    assert resolve_asof("JPY=X", "FX", "12:00 America/New_York") == (
        "12:00 America/New_York")
    assert resolve_asof("JPY=X", "XNYS", "") == "close"
    assert resolve_asof("DEXJPUS", "FX", "") == "close"


def test_with_asof_close_is_the_calendar() -> None:
    s = get_sessions("XTKS", "2025-07-01", "2025-07-10")
    assert with_asof(s, "close") is s


def test_universe_asof_and_calendar_validation() -> None:
    uni = universe_from_frame(pd.DataFrame({
        "ticker": ["BTC-USD", "JPY=X", "DEXJPUS"], "group": ["c", "y", "y"],
        "calendar": ["24/7", "FX@16:00 Europe/London", "FX"],
        "asof": ["", "", "12:00 America/New_York"],
        "quote": ["", "USD/JPY", ""]}), "uni.csv")
    assert list(uni["quote"]) == ["", "USD/JPY", ""]
    assert pair_asofs(uni).tolist() == ["close", "00:00 Europe/London",
                                        "12:00 America/New_York"]
    with pytest.raises(CatalogError) as err:
        universe_from_frame(pd.DataFrame({
            "ticker": ["A", "B"], "group": ["g", "g"],
            "calendar": ["XNYS", "FX@noon"], "asof": ["noon NY", ""]}), "uni.csv")
    text = str(err.value) + " " + " ".join(err.value.problems)
    assert "uni.csv" in text
    assert "line 2: asof of 'A'" in text and "'noon NY'" in text
    assert "line 3: unknown calendar 'FX@noon' for 'B'" in text


def _panel() -> pd.DataFrame:
    """Prices on every calendar day (each calendar keeps its own sessions)."""
    dates = pd.date_range("2024-06-01", "2025-09-30", freq="D", name="date")
    rng = np.random.default_rng(16)
    cols = {}
    for t in ("TM", "7203.T", "JPY=X", "DEXJPUS", "BTC-USD"):
        cols[t] = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(dates))))
    return pd.DataFrame(cols, index=dates)


def test_study_day0_per_series_clock() -> None:
    """One announcement through EventStudy: each series gets its own day 0 and
    rule (the ADR, its home listing, the Yahoo snapshot, a noon fixing, the
    snapshot forced to the close, a 7-day series)."""
    events = pd.DataFrame({"event_id": ["E"], "groups": ["all"],
                           "timestamp": ["2025-07-25T21:00-04:00"]})  # Friday
    universe = pd.DataFrame({
        "ticker": ["TM", "7203.T", "JPY=X", "DEXJPUS", "BTC-USD"],
        "group": ["all"] * 5,
        "calendar": ["XNYS", "XTKS", "FX", "FX", "24/7"],
        "model": ["constant_mean"] * 5,
        "asof": ["", "", "", "12:00 America/New_York", ""]})
    res = EventStudy(_panel(), events, universe).fit(tests=("csect_t",))
    ar = res.abnormal_returns
    d0 = ar[ar["rel_day"] == 0].set_index("ticker")
    got = {t: (pd.Timestamp(d0.loc[t, "date"]).strftime("%Y-%m-%d"),
               str(d0.loc[t, "day0_rule"])) for t in d0.index}
    assert got == {
        "TM": ("2025-07-28", "after_close"),
        "7203.T": ("2025-07-28", "weekend_roll"),
        # Saturday 02:00 London: Monday's 00:00 London snapshot
        "JPY=X": ("2025-07-28", LONDON),
        "DEXJPUS": ("2025-07-28", NOON),
        # 01:00 UTC Saturday: Saturday's UTC day
        "BTC-USD": ("2025-07-26", "intraday"),
    }
    universe.loc[universe["ticker"] == "JPY=X", "asof"] = "close"
    events.loc[0, "timestamp"] = "2025-07-24T18:30-04:00"  # Thursday evening
    ar = EventStudy(_panel(), events, universe).fit(tests=("csect_t",)) \
        .abnormal_returns
    d0 = ar[ar["rel_day"] == 0].set_index("ticker")
    got = {t: (pd.Timestamp(d0.loc[t, "date"]).strftime("%Y-%m-%d"),
               str(d0.loc[t, "day0_rule"])) for t in d0.index}
    assert got == {
        "TM": ("2025-07-25", "after_close"),
        "7203.T": ("2025-07-25", "pre_open"),
        # asof = close: Friday's session opens Thursday 17:00 New York
        "JPY=X": ("2025-07-25", "intraday"),
        "DEXJPUS": ("2025-07-25", NOON),
        "BTC-USD": ("2025-07-24", "intraday"),
    }


# ------------------------------------------------- date-only announcements
@pytest.mark.parametrize("date,expected", [
    ("2024-11-06", "2024-11-07"),   # a Wednesday: the next snapshot, after the date
    ("2024-11-08", "2024-11-11"),   # a Friday: Monday's snapshot (no weekend ones)
    ("2026-02-08", "2026-02-09"),   # a Sunday: Monday's 00:00 London snapshot
    ("2025-03-30", "2025-03-31"),   # London's spring-forward Sunday
    ("2025-10-26", "2025-10-27"),   # London's autumn-back Sunday
])
def test_date_only_on_a_snapshot_series_counts_from_the_end_of_the_date(
        date: str, expected: str) -> None:
    """Without a time the news may come at any hour of its date: the first
    00:00 London snapshot after the whole date is day 0."""
    from eventstudy.inputs.calendar import get_sessions, locate_day0_asof

    s = get_sessions("FX", "2024-10-01", "2026-03-31")
    pos, rule = locate_day0_asof(s, "00:00 Europe/London",
                                 np.array([pd.Timestamp(date).value]),
                                 np.array([True]))
    assert str(s.dates[pos[0]].date()) == expected
    assert rule[0] == "date_only_asof 00:00 Europe/London"


def test_date_only_on_a_noon_fixing_and_on_a_close() -> None:
    from eventstudy.inputs.calendar import get_sessions, locate_day0_asof

    d = np.array([pd.Timestamp("2025-07-22").value])
    fx = get_sessions("FX", "2025-07-01", "2025-07-31")
    pos, rule = locate_day0_asof(fx, "12:00 America/New_York", d, np.array([True]))
    assert str(fx.dates[pos[0]].date()) == "2025-07-23"  # the next day's fixing
    stocks = get_sessions("XNYS", "2025-07-01", "2025-07-31")
    pos, rule = locate_day0_asof(stocks, "close", d, np.array([True]))
    assert (str(stocks.dates[pos[0]].date()), rule[0]) == ("2025-07-22", "date_only")
