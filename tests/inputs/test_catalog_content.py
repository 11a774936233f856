"""Content checks of the reviewed catalog events/japan_us_investment.csv."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "events" / "japan_us_investment.csv"
SEEDS = ROOT / "seeds"
UNIVERSE = ROOT / "events" / "universe.csv"

COLUMNS = [
    "event_id",
    "timestamp",
    "title",
    "groups",
    "source",
    "evidence",
    "confidence",
    "timestamp_source",
    "notes",
]
REQUIRED = {
    "E02_ISHIBA_SUMMIT_1T",
    "E05_JP_DEAL",
    "E07_KR_DEAL",
    "E08_JP_EO_MOU",
    "E09B_JP_FACTSHEET",
    "E13_TRUMPRX",
    "E14_LDP_WIN",
    "E16_FIRST_TRANCHE",
    "E17_SCOTUS_RULING",
}
# Day 0 per exchange from shared/research/events-verified.md (summary table).
DAY0: dict[str, tuple[str, str, str]] = {
    "E01_US_ELECTION": ("2024-11-06", "2024-11-06", "2024-11-06"),
    "E02_ISHIBA_SUMMIT_1T": ("2025-02-10", "2025-02-10", "2025-02-07"),
    "E03_NIPPON_USS_MAY": ("2025-05-26", "2025-05-26", "2025-05-23"),
    "E04_NIPPON_USS_EO": ("2025-06-16", "2025-06-16", "2025-06-16"),
    "E05_JP_DEAL": ("2025-07-23", "2025-07-23", "2025-07-23"),
    "E06_EU_DEAL": ("2025-07-28", "2025-07-28", "2025-07-28"),
    "E07_KR_DEAL": ("2025-07-31", "2025-07-31", "2025-07-31"),
    "E08_JP_EO_MOU": ("2025-09-05", "2025-09-05", "2025-09-05"),
    "E09_TOKYO_SUMMIT": ("2025-10-28", "2025-10-28", "2025-10-28"),
    "E09B_JP_FACTSHEET": ("2025-10-29", "2025-10-29", "2025-10-28"),
    "E10_KR_GYEONGJU": ("2025-10-30", "2025-10-30", "2025-10-29"),
    "E11_SCOTUS_ARG": ("2025-11-06", "2025-11-06", "2025-11-05"),
    "E12_YEN_RATECHECK": ("2026-01-26", "2026-01-26", "2026-01-23"),
    # XNYS day 0 of TrumpRx is UNCONFIRMED (02-05 or 02-06); the catalog uses 02-06
    "E13_TRUMPRX": ("2026-02-06", "2026-02-06", "2026-02-06"),
    "E14_LDP_WIN": ("2026-02-09", "2026-02-09", "2026-02-09"),
    "E15_NIKKEI_FURIOUS": ("2026-02-10", "2026-02-10", "2026-02-10"),
    "E16_FIRST_TRANCHE": ("2026-02-18", "2026-02-19", "2026-02-18"),
    "E17_SCOTUS_RULING": ("2026-02-24", "2026-02-23", "2026-02-20"),
    "E18_MAR_SUMMIT": ("2026-03-23", "2026-03-20", "2026-03-19"),
}
_HOURS = {  # local timezone and session close
    "XTKS": ("Asia/Tokyo", "15:30"),
    "XKRX": ("Asia/Seoul", "15:30"),
    "XNYS": ("America/New_York", "16:00"),
}
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_WITH_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?[+-]\d{2}:\d{2}")


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    return pd.read_csv(CATALOG, dtype=str, keep_default_na=False)


def test_columns(catalog: pd.DataFrame) -> None:
    assert list(catalog.columns) == COLUMNS


def test_ids_unique_and_well_formed(catalog: pd.DataFrame) -> None:
    ids = list(catalog["event_id"])
    assert len(ids) == len(set(ids))
    for event_id in ids:
        assert re.fullmatch(r"E\d{2}[A-Z]?_[A-Z0-9_]+", event_id), event_id


def test_required_events_present(catalog: pd.DataFrame) -> None:
    assert REQUIRED <= set(catalog["event_id"])


def test_evidence_is_verbatim_and_short(catalog: pd.DataFrame) -> None:
    for row in catalog.itertuples(index=False):
        seed = SEEDS / str(row.source)
        assert seed.is_file(), row.source
        text = seed.read_text(encoding="utf-8")
        evidence = str(row.evidence)
        assert evidence.strip(), row.event_id
        assert evidence in text, row.event_id
        assert len(evidence.split()) <= 30, row.event_id


def test_groups_in_universe(catalog: pd.DataFrame) -> None:
    universe = set(pd.read_csv(UNIVERSE)["group"])
    for row in catalog.itertuples(index=False):
        groups = str(row.groups).split(";")
        assert groups and all(groups), row.event_id
        assert set(groups) <= universe, row.event_id
        assert len(groups) == len(set(groups)), row.event_id


def test_timestamps_are_dates_or_carry_offsets(catalog: pd.DataFrame) -> None:
    for row in catalog.itertuples(index=False):
        raw = str(row.timestamp)
        ts = pd.Timestamp(raw)
        if _DATE_ONLY.fullmatch(raw):
            assert ts.tzinfo is None
        else:
            assert _WITH_OFFSET.fullmatch(raw), raw
            assert ts.tzinfo is not None, raw


def test_us_offsets_follow_daylight_saving(catalog: pd.DataFrame) -> None:
    new_york = ZoneInfo("America/New_York")
    for raw in catalog["timestamp"]:
        if raw.endswith(("-04:00", "-05:00")):
            ts = pd.Timestamp(raw)
            assert ts.utcoffset() == ts.tz_convert(new_york).utcoffset(), raw


def test_confidence_and_sources(catalog: pd.DataFrame) -> None:
    assert set(catalog["confidence"]) <= {"high", "medium", "low"}
    assert all(s.strip() for s in catalog["timestamp_source"])
    assert all(t.strip() for t in catalog["title"])


def _day0(raw: str, exchange: str) -> str:
    xc = pytest.importorskip("exchange_calendars")
    cal = xc.get_calendar(exchange, start="2024-01-01")
    sessions = cal.sessions
    if _DATE_ONLY.fullmatch(raw):
        day = pd.Timestamp(raw)
    else:
        tz, close = _HOURS[exchange]
        local = pd.Timestamp(raw).tz_convert(tz)
        day = pd.Timestamp(local.date())
        if local.strftime("%H:%M") >= close:
            day += pd.Timedelta(days=1)
    return str(sessions[sessions >= day][0].date())


@pytest.mark.filterwarnings("ignore:Series.values returning an ndarray")
def test_day0_matches_verified_table(catalog: pd.DataFrame) -> None:
    assert set(catalog["event_id"]) == set(DAY0)
    for row in catalog.itertuples(index=False):
        got = tuple(_day0(str(row.timestamp), x) for x in ("XTKS", "XKRX", "XNYS"))
        assert got == DAY0[str(row.event_id)], row.event_id
