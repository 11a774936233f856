"""The bundled session tables equal what pandas-market-calendars computes, and are
used only under the library versions they were computed with and inside their
years."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eventstudy.errors import CalendarError
from eventstudy.inputs import calendar as cal_mod
from eventstudy.inputs.calendar import (
    SESSION_TABLE_CALENDARS,
    SESSION_TABLES,
    Sessions,
    computed_sessions,
    get_sessions,
    session_table,
    write_session_table,
)

FIRST, LAST = pd.Timestamp("1990-01-01"), pd.Timestamp("2050-12-31")


def _bundled(name: str) -> cal_mod.SessionTable:
    t = session_table(name)
    if t is None:
        head = (SESSION_TABLES / f"{name}.txt").read_text().splitlines()[:2]
        pytest.skip(f"{name}'s table was computed with {head}, installed "
                    f"{cal_mod._versions()}: the library computes the sessions")  # noqa: SLF001
    return t


def _same(a: Sessions, b: Sessions) -> None:
    """Identical sessions: dates (values, unit, name, inferred freq), zone, times."""
    assert a.name == b.name and a.tz == b.tz
    assert a.dates.equals(b.dates) and a.dates.name == b.dates.name
    if len(b.dates):  # (the library's empty schedule has another unit)
        assert a.dates.dtype == b.dates.dtype
        assert a.dates.freq == b.dates.freq
    assert a.open_ns.dtype == b.open_ns.dtype == np.int64
    np.testing.assert_array_equal(a.open_ns, b.open_ns)
    np.testing.assert_array_equal(a.close_ns, b.close_ns)


def test_every_bundled_calendar_has_a_table_file() -> None:
    for name in SESSION_TABLE_CALENDARS:
        head = (SESSION_TABLES / f"{name}.txt").read_text().splitlines()[:8]
        assert head[2] == f"calendar={name}"
        assert head[4:6] == ["first=1990-01-01", "last=2050-12-31"]


@pytest.mark.parametrize("name", SESSION_TABLE_CALENDARS)
def test_table_equals_the_library_over_all_its_years(name: str) -> None:
    t = _bundled(name)
    assert (t.first, t.last) == (FIRST, LAST)
    _same(t.sessions(FIRST, LAST), computed_sessions(name, FIRST, LAST))


@pytest.mark.parametrize("name", SESSION_TABLE_CALENDARS)
def test_table_equals_the_library_on_random_ranges(name: str) -> None:
    _bundled(name)
    rng = np.random.default_rng(sum(map(ord, name)))
    spans = [0, 1, 2, 3, 6, 10, 40, 400, 2000]
    for k in range(36):
        start = FIRST + pd.Timedelta(days=int(rng.integers(0, 22000)))
        end = start + pd.Timedelta(days=spans[k % len(spans)])
        if end > LAST:
            continue
        # a time of day, as callers pass: get_sessions normalises
        got = get_sessions(name, start + pd.Timedelta(hours=13), end)
        _same(got, computed_sessions(name, start, end))


@pytest.mark.parametrize(("name", "start", "end"), [
    ("XNYS", "2024-11-25", "2024-12-03"),  # the 13:00 close after Thanksgiving
    ("XTKS", "2024-10-28", "2024-11-12"),  # the close moved to 15:30 on 11-05
    ("XKRX", "2025-01-24", "2025-02-05"),  # Seollal
    ("XNYS", "2024-07-01", "2024-07-05"),  # an early close and a holiday
    ("XKRX", "2050-12-20", "2050-12-31"),  # the last days of the table
])
def test_table_on_special_days(name: str, start: str, end: str) -> None:
    _bundled(name)
    a, b = pd.Timestamp(start), pd.Timestamp(end)
    _same(get_sessions(name, a, b), computed_sessions(name, a, b))


def test_outside_its_years_the_library_computes(monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    _bundled("XNYS")
    calls: list[tuple[str, pd.Timestamp, pd.Timestamp]] = []
    real = cal_mod.computed_sessions

    def spy(name: str, start: pd.Timestamp, end: pd.Timestamp) -> Sessions:
        calls.append((name, start, end))
        return real(name, start, end)

    monkeypatch.setattr(cal_mod, "computed_sessions", spy)
    s = get_sessions("XNYS", "1989-12-20", "1990-01-10")
    assert calls == [("XNYS", pd.Timestamp("1989-12-20"), pd.Timestamp("1990-01-10"))]
    assert pd.Timestamp("1989-12-29") in s.dates
    get_sessions("XNYS", "2050-12-01", "2051-01-10")
    get_sessions("XNYS", "2024-01-02", "2024-01-05")  # inside: from the table
    assert len(calls) == 2


def test_a_range_without_a_session_is_empty() -> None:
    """A weekend: no session (the library's path used to fail on its empty
    schedule)."""
    for get in (get_sessions, computed_sessions):
        s = get("XNYS", pd.Timestamp("2024-06-01"), pd.Timestamp("2024-06-02"))
        assert len(s) == 0 and s.open_ns.dtype == np.int64 and len(s.close_ns) == 0


def test_a_reversed_range_is_refused_as_before() -> None:
    _bundled("XNYS")
    with pytest.raises(CalendarError, match="cannot give sessions for 2030-05-30"):
        get_sessions("XNYS", "2030-05-30", "2030-05-29")


def test_other_versions_use_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cal_mod, "_versions", lambda: ("0.0-other", "0.0-other"))
    session_table.cache_clear()
    try:
        assert session_table("XNYS") is None
        s = get_sessions("XNYS", "2024-11-25", "2024-12-03")
        assert len(s) == 6  # Thanksgiving 11-28 closed
    finally:
        session_table.cache_clear()


@pytest.mark.parametrize("text", [
    "",
    "not a table\n",
    "pandas_market_calendars=5\nexchange_calendars=4\n",
    "garbage=1\n" * 8 + "T 2024-01-02 09:30:00\n",
])
def test_an_unreadable_table_is_none(tmp_path: Path, text: str) -> None:
    (tmp_path / "XNYS.txt").write_text(text, encoding="utf-8")
    assert session_table("XNYS", tmp_path) is None
    assert session_table("XNYS", tmp_path / "missing") is None


def test_a_table_for_another_calendar_name_is_none(tmp_path: Path) -> None:
    _bundled("XTKS")
    (tmp_path / "XNYS.txt").write_text(
        (SESSION_TABLES / "XTKS.txt").read_text(encoding="utf-8"), encoding="utf-8")
    assert session_table("XNYS", tmp_path) is None


def test_the_writer_reproduces_the_bundled_tables(tmp_path: Path) -> None:
    for name in SESSION_TABLE_CALENDARS:
        _bundled(name)
        out = write_session_table(name, folder=tmp_path)
        assert out.read_bytes() == (SESSION_TABLES / f"{name}.txt").read_bytes()


def test_a_small_written_table_round_trips(tmp_path: Path) -> None:
    write_session_table("XNYS", 2024, 2025, folder=tmp_path)
    t = session_table("XNYS", tmp_path)
    if t is None:
        pytest.skip("no calendar library versions to key the table")
    a, b = pd.Timestamp("2024-01-01"), pd.Timestamp("2025-12-31")
    _same(t.sessions(a, b), computed_sessions("XNYS", a, b))
    assert not t.covers(a, pd.Timestamp("2026-01-02"))
