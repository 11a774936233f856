"""Tests of eventstudy.inputs.quality.check_prices on hand-made and real seed prices."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from eventstudy.errors import InputError, PriceDataError
from eventstudy.inputs.events import universe_from_frame
from eventstudy.inputs.quality import (
    CHECKS,
    FINDING_COLUMNS,
    check_prices,
    check_study_prices,
)

# the seed study's bundled prices (events/data/README.md)
SNAPSHOT = (Path(__file__).resolve().parents[2] / "events" / "data"
            / "seed-prices.parquet")


def _seed_closes() -> pd.DataFrame:
    long = pd.read_parquet(SNAPSHOT)
    long["date"] = pd.to_datetime(long["date"])
    return long.pivot(index="date", columns="ticker", values="close")


def frame(**columns: list[float]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    dates = pd.bdate_range("2024-01-01", periods=n, name="date")
    return pd.DataFrame(columns, index=dates, dtype="float64")


def findings(result: pd.DataFrame, check: str) -> list[tuple[str, str, str, int]]:
    rows = result.loc[result["check"] == check]
    return [
        (r.ticker, f"{r.first_date:%F}", f"{r.last_date:%F}", r.count)
        for r in rows.itertuples()
    ]


# --------------------------------------------------------------- hand-made frames


def test_clean_panel_has_no_findings() -> None:
    result = check_prices(frame(A=[10, 10.5, 10.2, 10.4], B=[5, 5.1, 5.2, 5.0]))
    assert result.empty
    assert list(result.columns) == list(FINDING_COLUMNS)
    assert result["first_date"].dtype == "datetime64[ns]"
    assert result["count"].dtype == "int64"


def test_missing_sessions_are_grouped_into_runs() -> None:
    panel = frame(A=[1, 1.1, np.nan, np.nan, 1.2, np.nan, 1.3, 1.2], B=[2.0] * 8)
    calendar = pd.bdate_range("2023-12-25", "2024-01-31")  # wider than the data
    result = check_prices(panel, sessions={"A": calendar})
    assert findings(result, "missing_sessions") == [
        ("A", "2024-01-03", "2024-01-04", 2),
        ("A", "2024-01-08", "2024-01-08", 1),
    ]
    # B is not in `sessions`: not checked. A tz-aware calendar works too.
    tz_calendar = calendar.tz_localize("UTC")
    assert check_prices(panel, sessions={"A": tz_calendar}).equals(result)


def test_holiday_in_the_calendar_is_not_missing() -> None:
    panel = frame(A=[1, 1.1, 1.2, 1.3])
    calendar = panel.index.delete(1)  # the calendar knows 2024-01-02 is a holiday
    panel.loc["2024-01-02", "A"] = np.nan
    assert check_prices(panel, sessions={"A": calendar}).empty


def test_stale_run() -> None:
    panel = frame(
        A=[1, 2, 2, 2, 2, 2, 3, 3, 3, 3], B=[1, 2, 2, np.nan, 2, 2, 2, 4, 5, 6]
    )
    result = check_prices(panel, stale_run=5, extreme=10.0)
    assert findings(result, "stale_run") == [
        ("A", "2024-01-02", "2024-01-08", 5),
        ("B", "2024-01-02", "2024-01-09", 5),  # a missing day does not break it
    ]
    assert "repeated 5 times" in result["detail"].iloc[0]
    assert check_prices(panel, stale_run=6, extreme=10.0).empty


def test_non_positive() -> None:
    panel = frame(A=[1, 0, -1, 1, 1.1, 0])
    result = check_prices(panel, extreme=10.0)
    assert findings(result, "non_positive") == [
        ("A", "2024-01-02", "2024-01-03", 2),
        ("A", "2024-01-08", "2024-01-08", 1),
    ]
    assert "must be NaN" in result["detail"].iloc[0]


def test_extreme_returns_and_unadjusted_detail() -> None:
    panel = frame(A=[100, 100, 50, 51, np.nan, 70], B=[100, 100, 50, 51, 52, 52])
    result = check_prices(panel, unadjusted=["B"], extreme=0.3)
    assert findings(result, "extreme_return") == [
        ("A", "2024-01-03", "2024-01-03", 1),
        ("A", "2024-01-08", "2024-01-08", 1),  # 51 -> 70 across the missing day
        ("B", "2024-01-03", "2024-01-03", 1),
    ]
    details = result.set_index("ticker")["detail"]
    # the move is described, not explained; the unadjusted ticker is told where a
    # corporate action's factor goes
    assert details["B"] == (
        "a -50.0% one-day move on 2024-01-03 (from 100 on 2024-01-02 to 50); check "
        "for a corporate action or news; the prices are not adjusted for corporate "
        "actions: if it is one, give its factor in the study's [data] "
        "corporate_actions file")
    assert details["A"].tolist() == [
        "a -50.0% one-day move on 2024-01-03 (from 100 on 2024-01-02 to 50); check "
        "for a corporate action or news",
        "a +37.3% one-day move on 2024-01-08 (from 51 on 2024-01-04 to 70); check "
        "for a corporate action or news",
    ]
    assert not result["detail"].str.contains("probably").any()
    # The threshold is strict: exactly 50% is not above 0.5.
    assert check_prices(panel, extreme=0.5).empty


def test_fx_snapshot_close() -> None:
    panel = frame(**{"JPY=X": [150, 151, np.nan, 152], "A": [1, 1.1, 1.2, 1.3]})
    result = check_prices(panel, fx_tickers=["JPY=X", "EUR=X"])
    assert findings(result, "fx_snapshot_close") == [
        ("JPY=X", "2024-01-01", "2024-01-04", 3)
    ]
    detail = result["detail"].iloc[0]
    assert "start of the day" in detail and "day +1" in detail


def test_rows_are_sorted_and_the_panel_is_untouched() -> None:
    panel = frame(B=[1, 2, 2, 2, 2, 2, 0.1], A=[1, 0, 1, 1, 1, 1, 1])
    before = panel.copy()
    result = check_prices(panel, fx_tickers=["B"])
    keys = list(
        zip(result["ticker"], result["check"], result["first_date"], strict=True)
    )
    assert keys == sorted(keys)
    assert set(result["check"]) <= set(CHECKS)
    assert result["ticker"].tolist()[:2] == ["A", "A"]
    pd.testing.assert_frame_equal(panel, before)


def test_invalid_arguments() -> None:
    with pytest.raises(PriceDataError, match="DatetimeIndex"):
        check_prices(pd.DataFrame({"A": [1.0]}))
    with pytest.raises(InputError):
        check_prices(frame(A=[1, 2]), extreme=0)
    with pytest.raises(InputError):
        check_prices(frame(A=[1, 2]), stale_run=1)


# --------------------------------------------------------------- real seed prices


@pytest.fixture(scope="module")
def seed_check() -> pd.DataFrame:
    import pandas_market_calendars as pmc

    closes = _seed_closes()
    calendars = {".KS": "XKRX", ".T": "JPX"}
    extra = {"^KS11": "XKRX", "^N225": "JPX", "^TOPX": "JPX", "^GSPC": "NYSE"}
    us = {"HMC", "SPY", "TAK", "TM", "X"}
    sessions: dict[str, pd.DatetimeIndex] = {}
    built: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ticker in closes.columns:
            suffix = "." + ticker.rsplit(".", 1)[-1] if "." in ticker else ""
            name = calendars.get(suffix) or extra.get(ticker)
            name = name or ("NYSE" if ticker in us else None)
            if name is None:
                continue
            if name not in built:
                built[name] = pmc.get_calendar(name)
            span = closes[ticker].dropna().index
            sessions[ticker] = built[name].valid_days(span[0], span[-1], tz=None)
    korean = [t for t in closes.columns if t.endswith(".KS")]
    return check_prices(
        closes, sessions=sessions, fx_tickers=["JPY=X"], unadjusted=korean
    )


def test_seed_extreme_returns(seed_check: pd.DataFrame) -> None:
    # SK Innovation +25.2% on 2025-06-30 (a lasting re-pricing: it does not revert,
    # so not a split; Korean press reports a genuine move). The detail describes it
    # and guesses nothing.
    # US Steel's two takeover-news days (before every estimation window) too.
    assert findings(seed_check, "extreme_return") == [
        ("096770.KS", "2025-06-30", "2025-06-30", 1),
        ("X", "2023-08-14", "2023-08-14", 1),
        ("X", "2023-12-18", "2023-12-18", 1),
    ]
    extreme = seed_check.loc[seed_check["check"] == "extreme_return"]
    sk = extreme.loc[extreme["ticker"] == "096770.KS", "detail"].item()
    assert sk.startswith("a +25.2% one-day move on 2025-06-30 (from ")
    assert "check for a corporate action or news" in sk
    assert "probably" not in sk


def test_seed_samsung_sdi_rights_offering_is_below_any_return_threshold(
    seed_check: pd.DataFrame,
) -> None:
    """Samsung SDI's 2025 rights offering (ex-date 2025-04-10, adjustment factor
    0.979, i.e. -2.1%) was swamped by that day's rally: the raw close rose 3.2%
    while the KOSPI rose 6.6%. No return threshold flags it without flooding."""
    closes = _seed_closes()
    move = closes["006400.KS"].dropna().pct_change().loc["2025-04-10"]
    assert move == pytest.approx(0.032, abs=0.001)
    sdi = seed_check.loc[seed_check["ticker"] == "006400.KS", "check"]
    assert "extreme_return" not in set(sdi)


def test_seed_missing_sessions(seed_check: pd.DataFrame) -> None:
    missing = findings(seed_check, "missing_sessions")
    korean = ["000270.KS", "005380.KS", "006400.KS", "051910.KS", "096770.KS",
              "373220.KS"]
    expected = []
    for ticker in korean:  # election day and Constitution Day, 2026: holidays the
        # calendar does not know yet
        expected += [(ticker, "2026-06-03", "2026-06-03", 1)]
        expected += [(ticker, "2026-07-17", "2026-07-17", 1)]
    expected += [  # real gaps in the KOSPI and TOPIX sources
        ("^KS11", "2026-06-03", "2026-06-03", 1),
        ("^KS11", "2026-07-08", "2026-07-08", 1),
        ("^KS11", "2026-07-17", "2026-07-17", 1),
        ("^KS11", "2026-08-06", "2026-08-06", 1),
        ("^TOPX", "2026-08-20", "2026-08-20", 1),
    ]
    assert missing == expected


def test_seed_has_no_stale_or_non_positive_prices(seed_check: pd.DataFrame) -> None:
    assert findings(seed_check, "stale_run") == []
    assert findings(seed_check, "non_positive") == []
    assert findings(seed_check, "fx_snapshot_close") == [
        ("JPY=X", "2023-01-02", "2026-08-20", 944)
    ]


def _fx_universe(asof: str) -> pd.DataFrame:
    return universe_from_frame(pd.DataFrame({
        "ticker": ["JPY=X", "DEXJPUS"], "group": ["yen", "yen"],
        "calendar": ["FX", "FX"], "asof": [asof, ""]}), "uni.csv")


def _fx_panel() -> pd.DataFrame:
    return frame(**{"JPY=X": [150, 151, 152, 153], "DEXJPUS": [150, 151, 152, 153]})


def test_fx_snapshot_warning_goes_where_the_asof_handles_it() -> None:
    """Yahoo's =X default as-of (00:00 London) or an explicit one handles the
    snapshot: no warning. DEXJPUS, the series the warning recommends, never gets
    it."""
    for asof in ("", "00:00 Europe/London"):
        result = check_study_prices(_fx_panel(), _fx_universe(asof))
        assert findings(result, "fx_snapshot_close") == [], asof


def test_fx_snapshot_warning_stays_for_a_snapshot_valued_at_the_close() -> None:
    result = check_study_prices(_fx_panel(), _fx_universe("close"))
    assert findings(result, "fx_snapshot_close") == [
        ("JPY=X", "2024-01-01", "2024-01-04", 4)
    ]
    detail = result.loc[result["check"] == "fx_snapshot_close", "detail"].iloc[0]
    assert "00:00 Europe/London" in detail and "DEXJPUS" not in detail
