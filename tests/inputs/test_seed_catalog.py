"""The seed study's catalog, universe and confounders (issue #17): every event's
groups, no observation counted twice, day 0 of the new groups, the confounders file.

Offline: the study runs on its bundled snapshot (events/data/seed-prices.parquet).
"""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EVENTS_DIR, SEEDS_DIR

from eventstudy.cli import cli
from eventstudy.results import EventStudyResults
from eventstudy.study import EventStudy
from eventstudy.workflows import prepare_study, study_loaded

STUDY = EVENTS_DIR / "japan_us_investment.toml"
CATALOG = EVENTS_DIR / "japan_us_investment.csv"
UNIVERSE = EVENTS_DIR / "universe.csv"
CONFOUNDERS = EVENTS_DIR / "confounders.csv"
CORPORATE_ACTIONS = EVENTS_DIR / "data" / "corporate-actions.csv"

# ---------------------------------------------------------------- expectations
GROUPS: dict[str, set[str]] = {
    "jp_autos": {"7203.T", "7267.T", "7201.T", "7261.T", "7270.T", "7211.T"},
    "jp_pharma": {"4502.T", "4503.T", "4568.T", "4523.T", "4519.T", "4578.T"},
    "kr_batteries": {"006400.KS", "373220.KS", "096770.KS", "051910.KS"},
    "kr_autos": {"005380.KS", "000270.KS"},
    "steel": {"5401.T", "X"},
    "jp_us_investors": {"9984.T", "6501.T", "8058.T", "7011.T"},
    "us_adrs": {"TM", "HMC", "TAK"},
    "yen": {"JPY=X"},
}
CALENDAR = {"XKRX": {"kr_batteries", "kr_autos"}, "FX": {"yen"}}
NEW_YORK = {"X", "TM", "HMC", "TAK"}

# every event -> the groups its source text concerns (the notes say why)
MAPPING: dict[str, set[str]] = {
    "E01_US_ELECTION": {"jp_autos", "kr_autos", "kr_batteries", "yen", "us_adrs"},
    "E02_ISHIBA_SUMMIT_1T": {"jp_autos", "jp_us_investors", "steel", "yen", "us_adrs"},
    "E03_NIPPON_USS_MAY": {"steel", "yen"},
    "E04_NIPPON_USS_EO": {"steel", "yen"},
    "E05_JP_DEAL": {"jp_autos", "kr_autos", "jp_us_investors", "yen", "us_adrs"},
    "E06_EU_DEAL": {"jp_autos", "jp_pharma", "kr_autos"},
    "E07_KR_DEAL": {"kr_batteries", "kr_autos", "jp_autos", "us_adrs"},
    "E08_JP_EO_MOU": {"jp_autos", "jp_us_investors", "yen", "us_adrs"},
    "E09_TOKYO_SUMMIT": {"jp_autos", "yen"},
    "E09B_JP_FACTSHEET": {"jp_us_investors"},
    "E10_KR_GYEONGJU": {"kr_autos", "kr_batteries"},
    "E11_SCOTUS_ARG": {"jp_autos", "kr_autos", "kr_batteries", "jp_us_investors",
                       "yen", "us_adrs"},
    "E12_YEN_RATECHECK": {"yen", "jp_autos", "us_adrs"},
    "E13_TRUMPRX": {"jp_pharma", "us_adrs"},
    "E14_LDP_WIN": {"jp_autos", "jp_pharma", "jp_us_investors", "yen"},
    "E15_NIKKEI_FURIOUS": {"jp_autos", "jp_us_investors", "yen"},
    "E16_FIRST_TRANCHE": {"jp_us_investors", "yen"},
    "E17_SCOTUS_RULING": {"jp_autos", "kr_autos", "kr_batteries", "jp_us_investors",
                          "yen", "us_adrs"},
    "E18_MAR_SUMMIT": {"jp_us_investors", "yen"},
}
# the only pairs the seed study drops: the ADRs' prices start 2024-08-22
EXCLUDED = {
    ("E01_US_ELECTION", t): "only 42 estimation returns (minimum 120)"
    for t in ("TM", "HMC", "TAK")
} | {
    ("E02_ISHIBA_SUMMIT_1T", t): "only 104 estimation returns (minimum 120)"
    for t in ("TM", "HMC", "TAK")
}
# day 0 of the new groups (events-verified.md's summary table, per exchange)
DAY0: dict[tuple[str, str], str] = {
    ("E10_KR_GYEONGJU", "005380.KS"): "2025-10-30",
    ("E10_KR_GYEONGJU", "000270.KS"): "2025-10-30",
    ("E10_KR_GYEONGJU", "006400.KS"): "2025-10-30",
    ("E02_ISHIBA_SUMMIT_1T", "X"): "2025-02-07",        # intraday, last ~2 h
    ("E02_ISHIBA_SUMMIT_1T", "5401.T"): "2025-02-10",
    ("E02_ISHIBA_SUMMIT_1T", "9984.T"): "2025-02-10",
    ("E03_NIPPON_USS_MAY", "X"): "2025-05-23",          # intraday: the +21% day
    ("E03_NIPPON_USS_MAY", "5401.T"): "2025-05-26",
    ("E04_NIPPON_USS_EO", "X"): "2025-06-16",           # after the Friday close
    ("E04_NIPPON_USS_EO", "5401.T"): "2025-06-16",
    ("E05_JP_DEAL", "TM"): "2025-07-23",
    ("E05_JP_DEAL", "005380.KS"): "2025-07-23",
    ("E05_JP_DEAL", "7011.T"): "2025-07-23",
    ("E07_KR_DEAL", "000270.KS"): "2025-07-31",
    ("E07_KR_DEAL", "HMC"): "2025-07-31",
    ("E09B_JP_FACTSHEET", "9984.T"): "2025-10-29",
    ("E11_SCOTUS_ARG", "TM"): "2025-11-05",
    ("E11_SCOTUS_ARG", "8058.T"): "2025-11-06",
    ("E12_YEN_RATECHECK", "TAK"): "2026-01-23",
    ("E13_TRUMPRX", "TAK"): "2026-02-06",
    ("E16_FIRST_TRANCHE", "9984.T"): "2026-02-18",
    ("E17_SCOTUS_RULING", "TM"): "2026-02-20",
    ("E17_SCOTUS_RULING", "005380.KS"): "2026-02-23",
    ("E17_SCOTUS_RULING", "6501.T"): "2026-02-24",
    ("E18_MAR_SUMMIT", "6501.T"): "2026-03-23",
}
CONFOUNDER_IDS = {
    "C01_AUTO_TARIFFS": "context", "C02_LIBERATION_DAY": "context",
    "C03_TARIFF_LETTERS": "context", "C04_SECTION_122": "context",
    "C05_SECTION_122_15PCT": "context", "K01_SDI_RIGHTS_EX": "corporate_action",
    "K02_SKI_SQUEEZE": "news", "K03_SKI_MERGER": "news", "K04_TOYOTA_Q3": "earnings",
    "K05_SUBARU_Q3": "earnings", "K06_MAZDA_Q3": "earnings",
}
KINDS = {"earnings", "corporate_action", "news", "context"}
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_WITH_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?[+-]\d{2}:\d{2}")


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _fit(study_events: pd.DataFrame | None = None) -> EventStudyResults:
    """The seed study on its bundled prices (optionally with other events)."""
    st = prepare_study(STUDY)
    frame = study_loaded(st).frame
    if study_events is None:
        es = EventStudy.from_study(st, frame)
    else:
        es = EventStudy(frame, study_events, _csv(UNIVERSE), model=st.model,
                        windows=st.windows)
    return es.fit(tests=("csect_t",), conventions=st.conventions)


@pytest.fixture(scope="module")
def seed_run() -> EventStudyResults:
    return _fit()


# ---------------------------------------------------------------- universe/catalog
def test_universe_groups_and_calendars() -> None:
    uni = _csv(UNIVERSE)
    got = {g: set(t) for g, t in uni.groupby("group")["ticker"]}
    assert got == GROUPS
    assert uni["ticker"].is_unique
    for row in uni.itertuples(index=False):
        if row.ticker in NEW_YORK:
            want = ("XNYS", "^GSPC", "USD")
        elif row.group in CALENDAR["XKRX"]:
            want = ("XKRX", "^KS11", "KRW")
        elif row.group in CALENDAR["FX"]:
            want = ("FX", "", "JPY")
        else:
            want = ("XTKS", "^TOPX", "JPY")
        assert (row.calendar, row.benchmark, row.currency) == want, row.ticker


def test_every_event_maps_to_exactly_these_groups() -> None:
    cat = _csv(CATALOG)
    got = {e: set(g.split(";")) for e, g in zip(cat["event_id"], cat["groups"],
                                                  strict=True)}
    assert got == MAPPING
    for eid, groups in zip(cat["event_id"], cat["groups"], strict=True):
        assert len(groups.split(";")) == len(set(groups.split(";"))), eid


def test_every_group_is_explained_in_the_notes() -> None:
    """A group that an event gained in #17 is named in that event's notes."""
    cat = _csv(CATALOG).set_index("event_id")
    for eid, groups in MAPPING.items():
        notes = cat.loc[eid, "notes"]
        for g in groups - {"jp_autos", "jp_pharma", "kr_batteries", "yen"}:
            assert g in notes, (eid, g)
    assert "UNCONFIRMED" in cat.loc["E10_KR_GYEONGJU", "notes"]
    assert "placeholder" in cat.loc["E10_KR_GYEONGJU", "notes"]
    assert "E09" in cat.loc["E09B_JP_FACTSHEET", "notes"]


def test_e10_gyeongju_row() -> None:
    row = _csv(CATALOG).set_index("event_id").loc["E10_KR_GYEONGJU"]
    assert row["timestamp"] == "2025-10-29T20:00+09:00"  # evening KST placeholder
    assert row["confidence"] == "high"
    seed = (SEEDS_DIR / row["source"]).read_text(encoding="utf-8")
    assert row["evidence"] in seed


def test_events_validate_passes() -> None:
    r = CliRunner().invoke(cli, ["events", "validate", str(CATALOG), "--universe",
                                 str(UNIVERSE), "--seeds", str(SEEDS_DIR)],
                           prog_name="eventstudy")
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"{CATALOG}: OK"


# ---------------------------------------------------------------- the seed run
def test_pairs_and_exclusions(seed_run: EventStudyResults) -> None:
    d = seed_run.diagnostics
    want = {(e, t) for e, gs in MAPPING.items() for g in gs for t in GROUPS[g]}
    got = set(zip(d["event_id"], d["ticker"], strict=True))
    assert got == want - set(EXCLUDED)
    ex = seed_run.excluded
    assert dict(zip(zip(ex["event_id"], ex["ticker"], strict=True), ex["reason"],
                    strict=True)) == EXCLUDED


def _duplicates(diagnostics: pd.DataFrame) -> dict[tuple[str, str, str], list[str]]:
    """(ticker, calendar, day 0) observations claimed by more than one event."""
    key = diagnostics.assign(day0=diagnostics["day0"].dt.strftime("%Y-%m-%d"))
    seen = key.groupby(["ticker", "calendar", "day0"])["event_id"].agg(sorted)
    return {k: v for k, v in seen.items() if len(v) > 1}


def test_no_observation_counts_twice(seed_run: EventStudyResults) -> None:
    assert _duplicates(seed_run.diagnostics) == {}
    d = seed_run.diagnostics
    yen = d[d["ticker"] == "JPY=X"].set_index("event_id")["day0"]
    assert "E09B_JP_FACTSHEET" not in yen.index
    assert f"{yen['E09_TOKYO_SUMMIT']:%F}" == "2025-10-29"


def test_the_check_finds_e09b_back_on_the_yen() -> None:
    """Control: with the yen put back on E09B, the check finds E09/E09B's shared
    observation (JPY=X, FX, 2025-10-29)."""
    cat = _csv(CATALOG)
    cat = cat[cat["event_id"].isin(["E09_TOKYO_SUMMIT", "E09B_JP_FACTSHEET"])].copy()
    cat.loc[cat["event_id"] == "E09B_JP_FACTSHEET", "groups"] = "jp_us_investors;yen"
    res = _fit(cat)
    assert _duplicates(res.diagnostics) == {
        ("JPY=X", "FX", "2025-10-29"): ["E09B_JP_FACTSHEET", "E09_TOKYO_SUMMIT"]}


def test_day0_of_the_new_groups(seed_run: EventStudyResults) -> None:
    d = seed_run.diagnostics
    got = {(e, t): f"{d0:%F}" for e, t, d0 in zip(d["event_id"], d["ticker"],
                                                   d["day0"], strict=True)}
    assert {k: got[k] for k in DAY0} == DAY0
    cal = dict(zip(d["ticker"], d["calendar"], strict=False))
    assert {t: cal[t] for t in NEW_YORK} == dict.fromkeys(NEW_YORK, "XNYS")
    assert cal["005380.KS"] == cal["000270.KS"] == "XKRX"
    assert cal["5401.T"] == cal["9984.T"] == "XTKS"
    # E10 maps Korean groups only, so it reaches Seoul only
    assert set(d.loc[d["event_id"] == "E10_KR_GYEONGJU", "calendar"]) == {"XKRX"}


def test_us_steel_delisting_leaves_e04_short(seed_run: EventStudyResults) -> None:
    """X stops at 2025-06-17: E04's pair has day 0 and day +1, no later return."""
    ar = seed_run.abnormal_returns
    x = ar[(ar["event_id"] == "E04_NIPPON_USS_EO") & (ar["ticker"] == "X")]
    have = x.loc[x["abnormal_return"].notna(), "rel_day"].tolist()
    assert have == list(range(-10, 2))


# ---------------------------------------------------------------- confounders
@pytest.fixture(scope="module")
def confounders() -> pd.DataFrame:
    return _csv(CONFOUNDERS)


def test_confounders_columns_ids_and_kinds(confounders: pd.DataFrame) -> None:
    assert list(confounders.columns) == ["confounder_id", "timestamp", "scope", "kind",
                                         "title", "source"]
    assert confounders["confounder_id"].is_unique
    assert dict(zip(confounders["confounder_id"], confounders["kind"],
                    strict=True)) == CONFOUNDER_IDS
    assert set(confounders["kind"]) <= KINDS
    assert not confounders["confounder_id"].str.contains(";").any()
    assert not set(confounders["confounder_id"]) & set(_csv(CATALOG)["event_id"])


def test_confounders_scopes_name_the_universe(confounders: pd.DataFrame) -> None:
    uni = _csv(UNIVERSE)
    names = set(uni["ticker"]) | set(uni["group"])
    for cid, scope in zip(confounders["confounder_id"], confounders["scope"],
                          strict=True):
        parts = scope.split(";")
        assert parts == ["*"] or (set(parts) <= names and "" not in parts), cid
    scope = dict(zip(confounders["confounder_id"], confounders["scope"], strict=True))
    assert scope["K04_TOYOTA_Q3"] == "7203.T;TM"   # the parent and its ADR
    assert scope["K01_SDI_RIGHTS_EX"] == "006400.KS"
    assert scope["K03_SKI_MERGER"] == "096770.KS"
    assert scope["C01_AUTO_TARIFFS"] == "jp_autos;kr_autos;TM;HMC"


def test_confounders_sources_titles_and_times(confounders: pd.DataFrame) -> None:
    new_york = ZoneInfo("America/New_York")
    for row in confounders.itertuples(index=False):
        assert row.source.strip() and row.title.strip(), row.confounder_id
        assert "events-verified.md" in row.source, row.confounder_id
        raw = row.timestamp
        assert _DATE_ONLY.fullmatch(raw) or _WITH_OFFSET.fullmatch(raw), raw
        if raw.endswith(("-04:00", "-05:00")):
            ts = pd.Timestamp(raw)
            assert ts.utcoffset() == ts.tz_convert(new_york).utcoffset(), raw
    ts = dict(zip(confounders["confounder_id"], confounders["timestamp"], strict=True))
    # the SK Innovation announcement is the evening before the Korea deal's day 0
    assert ts["K03_SKI_MERGER"] == "2025-07-30T18:24+09:00"
    assert ts["K01_SDI_RIGHTS_EX"] == "2025-04-10"


def test_corporate_actions_file(confounders: pd.DataFrame) -> None:
    ca = _csv(CORPORATE_ACTIONS)
    assert list(ca.columns) == ["ticker", "ex_date", "factor", "source"]
    assert ca[["ticker", "ex_date", "factor"]].values.tolist() == [
        ["006400.KS", "2025-04-10", "0.97903"]]
    assert "rights" in ca.loc[0, "source"] and "SOURCES.md" in ca.loc[0, "source"]
    # the same ex-date as the confounders file's corporate action
    k01 = confounders.set_index("confounder_id").loc["K01_SDI_RIGHTS_EX"]
    assert (k01["scope"], k01["timestamp"]) == (ca.loc[0, "ticker"],
                                                ca.loc[0, "ex_date"])
