"""The bundled XKRX holiday table equals the rules it replaces, and is used only
under the exchange_calendars version it was computed with."""

from __future__ import annotations

import pandas as pd
import pandas_market_calendars as mcal
import pytest

from eventstudy.inputs import calendar as cal_mod
from eventstudy.inputs.calendar import computed_rule_holidays, get_sessions, krx_table


@pytest.fixture(scope="module")
def xkrx() -> object:
    return mcal.get_calendar("XKRX")


def test_table_is_bundled_and_covers_1990_2050() -> None:
    t = krx_table()
    assert t is not None
    _, first, last, days = t
    assert (first, last) == (1990, 2050)
    assert days == tuple(sorted(days)) and len(days) > 1000
    # Seollal and Chuseok 2025 are in it (2025-01-28..30, 2025-10-05..07 + 10-08)
    for d in ("2025-01-28", "2025-01-29", "2025-01-30", "2025-10-06", "2025-10-07"):
        assert pd.Timestamp(d) in days


@pytest.mark.parametrize("years", [(2022, 2027), (1990, 1992), (2049, 2050),
                                   (2013, 2014)])
def test_table_equals_the_rules(xkrx: object, years: tuple[int, int]) -> None:
    t = krx_table()
    assert t is not None
    if t[0] != cal_mod._calendars_version():  # noqa: SLF001
        pytest.skip(f"table computed with exchange_calendars {t[0]}, installed "
                    f"{cal_mod._calendars_version()}: the rules are used instead")  # noqa: SLF001
    a, b = years
    want = computed_rule_holidays(xkrx, a, b)
    got = tuple(d for d in t[3] if a <= d.year <= b)
    assert got == want


def test_other_version_falls_back_to_the_rules(xkrx: object,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []

    def spy(cal: object, a: int, b: int) -> tuple[pd.Timestamp, ...]:
        calls.append((a, b))
        return ()

    monkeypatch.setattr(cal_mod, "computed_rule_holidays", spy)
    monkeypatch.setattr(cal_mod, "_calendars_version", lambda: "0.0-other")
    cal_mod._rule_holidays.cache_clear()  # noqa: SLF001
    try:
        assert cal_mod._rule_holidays(xkrx, 2030, 2031) == ()  # noqa: SLF001
        assert calls == [(2030, 2031)]
    finally:
        cal_mod._rule_holidays.cache_clear()  # noqa: SLF001


def test_sessions_through_the_table_are_the_exchange_schedule(xkrx: object) -> None:
    s = get_sessions("XKRX", pd.Timestamp("2024-12-01"), pd.Timestamp("2026-01-31"))
    sched = xkrx.valid_days("2024-12-01", "2026-01-31")  # type: ignore[attr-defined]
    assert list(pd.DatetimeIndex(s.dates).normalize()) == list(
        pd.DatetimeIndex(sched).tz_localize(None).normalize())
