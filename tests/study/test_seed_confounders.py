"""Every confounder of the seed study flags exactly the pairs it should.

The seed study flags a pair when a confounder concerning its security has its day 0
within [-5, 5] sessions of the pair's day 0 on the security's own calendar
(``[confounding] window``). The expected table was checked by hand against the
calendars, e.g.: Toyota's results (K04, 2026-02-06, a plain date) are 9 XTKS
sessions after the rate check's day 0 (2026-01-26: not flagged), 1 before the
election's (2026-02-09: flagged) and 11 before the ruling's (2026-02-24: not
flagged); the Section 122 tariffs (C04, 2026-02-20 14:00 EST) land on XTKS day 0
2026-02-24 (02-23 is the Emperor's Birthday), the ruling's own day 0, and 3
sessions after the first tranche's (2026-02-18); SK Innovation's merger (K03,
2025-07-30 18:24 KST, after the Seoul close) lands on the Korea deal's Seoul day 0
(2025-07-31); the tariff context events of 2025 and the Korean corporate events
of April and June 2025 fall in no pair's window.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from eventstudy.workflows import run_study

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "events" / "japan_us_investment.toml"

JP_AUTOS = ["7203.T", "7267.T", "7201.T", "7261.T", "7270.T", "7211.T"]
KR = ["006400.KS", "373220.KS", "096770.KS", "051910.KS", "005380.KS", "000270.KS"]
INVESTORS = ["9984.T", "6501.T", "8058.T", "7011.T"]
ADRS = ["TM", "HMC", "TAK"]
SECTION_122 = sorted(
    [f"E16_FIRST_TRANCHE:{t}" for t in [*INVESTORS, "JPY=X"]]
    + [f"E17_SCOTUS_RULING:{t}" for t in [*JP_AUTOS, *KR, *INVESTORS, *ADRS,
                                           "JPY=X"]])
EXPECTED = {
    "C01_AUTO_TARIFFS": [],
    "C02_LIBERATION_DAY": [],
    "C03_TARIFF_LETTERS": [],
    "C04_SECTION_122": SECTION_122,
    "C05_SECTION_122_15PCT": SECTION_122,
    "K01_SDI_RIGHTS_EX": [],
    "K02_SKI_SQUEEZE": [],
    "K03_SKI_MERGER": ["E07_KR_DEAL:096770.KS"],
    "K04_TOYOTA_Q3": sorted(["E13_TRUMPRX:TM", "E14_LDP_WIN:7203.T",
                             "E15_NIKKEI_FURIOUS:7203.T"]),
    "K05_SUBARU_Q3": sorted(["E14_LDP_WIN:7270.T", "E15_NIKKEI_FURIOUS:7270.T"]),
    "K06_MAZDA_Q3": sorted(["E14_LDP_WIN:7261.T", "E15_NIKKEI_FURIOUS:7261.T"]),
}


@pytest.fixture(scope="module")
def flagged() -> dict[str, list[str]]:
    res, _ = run_study(STUDY)
    d = res.diagnostics
    out: dict[str, list[str]] = {}
    for ev, tkr, ids in zip(d["event_id"], d["ticker"],
                            d["confounded_by"].fillna(""), strict=True):
        for cid in str(ids).split(";"):
            if cid and not cid.startswith("E"):  # catalog events are E..., outside C/K
                out.setdefault(cid, []).append(f"{ev}:{tkr}")
    return {k: sorted(v) for k, v in out.items()}


def test_every_confounder_is_in_the_table() -> None:
    ids = pd.read_csv(ROOT / "events" / "confounders.csv")["confounder_id"].tolist()
    assert sorted(ids) == sorted(EXPECTED)


@pytest.mark.parametrize("cid", sorted(EXPECTED))
def test_confounder_flags_exactly_its_pairs(flagged: dict[str, list[str]],
                                            cid: str) -> None:
    assert flagged.get(cid, []) == EXPECTED[cid]
