"""Tests of eventstudy.inputs.extract: candidate extraction from the seed articles.

The expected amounts and dates below were listed by reading the five seed files,
independently of the extractor.
"""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from eventstudy.errors import InputError
from eventstudy.inputs.extract import (
    CANDIDATE_COLUMNS,
    Entity,
    Keywords,
    extract_candidates,
    load_keywords,
    write_candidates,
)

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
KEYWORDS_FILE = ROOT / "events" / "keywords.toml"
UNIVERSE = ROOT / "events" / "universe.csv"

D000 = "000_1af7ef9d7012b054.txt"
D001 = "001_5d84a162e7f2b56c.txt"
D002 = "002_f3506ba2c942f2e9.txt"
D003 = "003_72895c7ef72c2f25.txt"
D004 = "004_b1e3e52c24c235de.txt"

# (value, normalized, number of occurrences) per document
EXPECTED_AMOUNTS: dict[str, list[tuple[str, str, int]]] = {
    D000: [
        ("Around $40 billion", "40000000000", 1),
        ("$36 billion", "36000000000", 2),
        ("USD 36 billion", "36000000000", 1),
    ],
    D001: [
        ("$ 1 Trillion", "1000000000000", 1),
        ("$1 trillion", "1000000000000", 1),
    ],
    D002: [
        ("$50 billion", "50000000000", 1),
        ("$5 billion", "5000000000", 1),
        ("$400 billion", "400000000000", 1),
        ("$1,000", "1000", 1),
    ],
    D003: [
        ("USD 550 billion", "550000000000", 5),
        ("$550 billion", "550000000000", 1),
        ("USD 700 billion", "700000000000", 2),
        ("USD 400 billion", "400000000000", 2),
    ],
    D004: [
        ("$550 billion", "550000000000", 22),
        ("$550 Billion", "550000000000", 2),
        ("6 trillion yen (approximately $55 billion)", "55000000000", 1),
        ("10 trillion yen", "JPY 10000000000000", 1),
    ],
}

# (value, normalized) per document, in order of appearance
EXPECTED_DATES: dict[str, list[tuple[str, str]]] = {
    D000: [
        ("this week", "unresolved:this week"),
        ("2020s", "2020-01-01/2029-12-31"),
    ],
    D001: [
        ("1980s", "1980-01-01/1989-12-31"),
        ("1985", "1985-01-01/1985-12-31"),
        ("90’s to 2000", "1990-01-01/2000-12-31"),
        ("2017", "2017-01-01/2017-12-31"),
        ("2025", "2025-01-01/2025-12-31"),
    ],
    D002: [("March", "unresolved:March")],
    D003: [],
    D004: [
        ("July 2025", "2025-07-01/2025-07-31"),
        ("February 2026", "2026-02-01/2026-02-28"),
        ("March", "2026-03-01/2026-03-31"),
        ("earlier this year", "2026-01-01/2026-12-31"),
        ("July 2025", "2025-07-01/2025-07-31"),
        ("end of 2025", "2025-12-01/2025-12-31"),
        ("December 2025", "2025-12-01/2025-12-31"),
        ("January 2026", "2026-01-01/2026-01-31"),
        ("end of February 2026", "2026-02-20/2026-02-28"),
        ("March", "2026-03-01/2026-03-31"),
        ("March", "2026-03-01/2026-03-31"),
        ("March", "2026-03-01/2026-03-31"),
        ("March", "2026-03-01/2026-03-31"),
        ("March", "2026-03-01/2026-03-31"),
    ],
}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("extraction must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def candidates() -> pd.DataFrame:
    return extract_candidates([SEEDS])


def _text(doc: str) -> str:
    with open(SEEDS / doc, encoding="utf-8", newline="") as fh:
        return fh.read()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path


def _one(tmp_path: Path, text: str, kind: str) -> list[tuple[str, str]]:
    df = extract_candidates([_write(tmp_path, "doc.txt", text)])
    sub = df[df["kind"] == kind]
    return list(zip(sub["value"], sub["normalized"], strict=True))


# ----------------------------------------------------------------------------------
# The seeds
# ----------------------------------------------------------------------------------


def test_columns_and_order(candidates: pd.DataFrame) -> None:
    assert tuple(candidates.columns) == CANDIDATE_COLUMNS
    assert set(candidates["doc"]) == {D000, D001, D002, D003, D004}
    assert set(candidates["kind"]) == {"amount", "date", "party"}
    cols = (candidates["doc"], candidates["start"], candidates["kind"])
    keys = list(zip(*cols, strict=True))
    assert keys == sorted(keys)
    assert candidates["start"].dtype == "int64"


@pytest.mark.parametrize("doc", sorted(EXPECTED_AMOUNTS))
def test_every_money_amount_found(candidates: pd.DataFrame, doc: str) -> None:
    rows = candidates[(candidates["doc"] == doc) & (candidates["kind"] == "amount")]
    got = Counter(zip(rows["value"], rows["normalized"], strict=True))
    want = Counter({(v, n): c for v, n, c in EXPECTED_AMOUNTS[doc]})
    assert got == want


@pytest.mark.parametrize("doc", sorted(EXPECTED_DATES))
def test_every_date_expression_found(candidates: pd.DataFrame, doc: str) -> None:
    rows = candidates[(candidates["doc"] == doc) & (candidates["kind"] == "date")]
    got = list(zip(rows["value"], rows["normalized"], strict=True))
    assert got == EXPECTED_DATES[doc]


def test_offsets_are_exact(candidates: pd.DataFrame) -> None:
    texts = {doc: _text(doc) for doc in set(candidates["doc"])}
    records = zip(
        candidates["doc"].tolist(),
        candidates["start"].tolist(),
        candidates["end"].tolist(),
        candidates["value"].tolist(),
        candidates["sentence"].tolist(),
        strict=True,
    )
    for doc, start, end, value, sentence in records:
        text = texts[doc]
        assert text[start:end] == value
        assert value in sentence
        s_start = text.rfind(sentence, 0, start + len(sentence))
        assert 0 <= s_start <= start
        assert end <= s_start + len(sentence)


def test_yen_with_stated_dollar_value_is_one_mention(candidates: pd.DataFrame) -> None:
    text = _text(D004)
    yen_at = text.index("6 trillion yen")
    usd_at = text.index("$55 billion")
    rows = candidates[
        (candidates["doc"] == D004)
        & (candidates["kind"] == "amount")
        & (candidates["start"] <= usd_at)
        & (candidates["end"] > yen_at)
    ]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["value"] == "6 trillion yen (approximately $55 billion)"
    assert float(row["normalized"]) == 55e9
    assert int(row["start"]) == yen_at


def test_parties_and_groups(candidates: pd.DataFrame) -> None:
    parties = candidates[candidates["kind"] == "party"]
    by_doc = {
        doc: set(sub["normalized"]) for doc, sub in parties.groupby("doc", sort=True)
    }
    assert {"Toyota", "Honda", "Nissan", "TSMC", "Japan", "South Korea", "EU"} <= (
        by_doc[D003]
    )
    assert {"Samsung SDI", "LG Energy Solution", "Lutnick", "Kurt Tong"} <= by_doc[D002]
    assert {"Ishiba", "Nippon Steel", "US Steel", "China"} <= by_doc[D001]
    assert {"Takaichi", "SoftBank", "Lutnick", "US Supreme Court"} <= by_doc[D004]
    # "North Korean" is not South Korea
    nk = parties[parties["value"] == "North Korean"]
    assert set(nk["normalized"]) == {"North Korea"}
    # the Chinese transliteration of Lutnick in seed 004
    assert "卢特尼克" in set(parties[parties["normalized"] == "Lutnick"]["value"])
    sdi = parties[parties["normalized"] == "Samsung SDI"].iloc[0]
    assert "kr_batteries" in str(sdi["groups"]).split(";")
    toyota = parties[parties["normalized"] == "Toyota"].iloc[0]
    assert "jp_autos" in str(toyota["groups"]).split(";")
    pharma = candidates[candidates["sentence"].str.contains("drug discount")]
    assert "jp_pharma" in str(pharma.iloc[0]["groups"]).split(";")


def test_groups_match_entities(candidates: pd.DataFrame) -> None:
    kw = load_keywords()
    for row in candidates.drop_duplicates(["entities"]).itertuples(index=False):
        names = [n for n in str(row.entities).split(";") if n]
        assert str(row.groups) == ";".join(kw.groups_for(names))


def test_write_candidates_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "cand.csv", tmp_path / "b" / "cand.csv"
    write_candidates(extract_candidates([SEEDS]), first)
    write_candidates(extract_candidates([SEEDS]), second)
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert b"\r" not in data and data.endswith(b"\n")
    assert data.splitlines()[0].decode() == ",".join(CANDIDATE_COLUMNS)
    # atomic: only the destination is left behind
    assert [p.name for p in first.parent.iterdir()] == ["cand.csv"]
    back = pd.read_csv(first, dtype=str, keep_default_na=False)
    assert len(back) == len(extract_candidates([SEEDS]))


def test_write_candidates_replaces_existing(tmp_path: Path) -> None:
    dest = tmp_path / "cand.csv"
    dest.write_text("old\n")
    df = extract_candidates([SEEDS / D002])
    write_candidates(df, dest)
    assert dest.read_text(encoding="utf-8").startswith("doc,start,end,")


def test_write_candidates_file_mode(tmp_path: Path) -> None:
    df = extract_candidates([SEEDS / D001])
    dest = tmp_path / "new.csv"
    write_candidates(df, dest)
    assert dest.stat().st_mode & 0o777 == 0o644
    dest.chmod(0o600)
    write_candidates(df, dest)
    assert dest.stat().st_mode & 0o777 == 0o600


def test_write_candidates_requires_columns(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        write_candidates(pd.DataFrame({"doc": ["a"]}), tmp_path / "x.csv")


def test_builtin_keywords_equal_shipped_file() -> None:
    assert load_keywords(KEYWORDS_FILE) == load_keywords()
    assert load_keywords(str(KEYWORDS_FILE)) == load_keywords(None)


def test_keyword_groups_are_universe_groups() -> None:
    universe = set(pd.read_csv(UNIVERSE)["group"])
    kw = load_keywords(KEYWORDS_FILE)
    used = {g for groups in kw.groups.values() for g in groups}
    assert used <= universe
    assert used == universe  # every group is reachable from some keyword


def test_directory_file_and_str_inputs(tmp_path: Path) -> None:
    _write(tmp_path, "b.txt", "Honda said $2 billion.")
    _write(tmp_path, "a.txt", "Nissan said $1 billion.")
    _write(tmp_path, "c.md", "Toyota said $3 billion.")
    df = extract_candidates([tmp_path])
    assert list(dict.fromkeys(df["doc"])) == ["a.txt", "b.txt"]
    same = extract_candidates([tmp_path, tmp_path / "a.txt"])
    pd.testing.assert_frame_equal(df, same)
    single = extract_candidates([str(tmp_path / "c.md")])
    assert set(single["normalized"]) == {"Toyota", "3000000000"}


def test_empty_input_has_columns(tmp_path: Path) -> None:
    df = extract_candidates([tmp_path])
    assert tuple(df.columns) == CANDIDATE_COLUMNS and df.empty


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        extract_candidates([tmp_path / "nope"])


def test_duplicate_doc_names_raise(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    _write(tmp_path / "x", "a.txt", "Japan")
    _write(tmp_path / "y", "a.txt", "Korea")
    with pytest.raises(InputError, match="share the name"):
        extract_candidates([tmp_path / "x", tmp_path / "y"])


# ----------------------------------------------------------------------------------
# Normalisation rules on small synthetic texts
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It costs $600m.", [("$600m", "600000000")]),
        ("It costs US$2.1bn.", [("US$2.1bn", "2100000000")]),
        ("It costs $14 Billion Dollars.", [("$14 Billion Dollars", "14000000000")]),
        ("It costs 14 billion dollars.", [("14 billion dollars", "14000000000")]),
        ("Up to €600 billion.", [("€600 billion", "EUR 600000000000")]),
        ("A ¥1.5 trillion fund.", [("¥1.5 trillion", "JPY 1500000000000")]),
        ("Some 3 trillion won.", [("Some 3 trillion won", "KRW 3000000000000")]),
        ("roughly $1,250,000 paid", [("roughly $1,250,000", "1250000")]),
        (
            "At 150 yen to the dollar, 3 trillion yen is a lot.",
            [("3 trillion yen", "20000000000")],
        ),
        (
            "$1 = ¥160. A ¥1.6 trillion plan.",
            [("¥1.6 trillion", "10000000000")],
        ),
        (
            "A $40 billion (6 trillion yen) deal.",
            [("$40 billion (6 trillion yen)", "40000000000")],
        ),
        ("Billions flowed; 70,000 jobs in 2025.", []),
        ("He in 2016 won the vote, in 2016 dollars.", []),
        ("It raised 5,000 won.", [("5,000 won", "KRW 5000")]),
    ],
)
def test_amount_rules(
    tmp_path: Path, text: str, expected: list[tuple[str, str]]
) -> None:
    assert _one(tmp_path, text, "amount") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("On 2025-07-22 it happened.", [("2025-07-22", "2025-07-22/2025-07-22")]),
        ("On July 22, 2025 it did.", [("July 22, 2025", "2025-07-22/2025-07-22")]),
        ("On 22 July 2025 it did.", [("22 July 2025", "2025-07-22/2025-07-22")]),
        ("By Sept. 2025 it did.", [("Sept. 2025", "2025-09-01/2025-09-30")]),
        ("In mid-March 2026 it did.", [("mid-March 2026", "2026-03-10/2026-03-20")]),
        ("In early May 2024.", [("early May 2024", "2024-05-01/2024-05-10")]),
        ("By the end of 2024.", [("end of 2024", "2024-12-01/2024-12-31")]),
        ("In late 2025 it did.", [("late 2025", "2025-09-01/2025-12-31")]),
        (
            "Between 2017 and 2019 it did.",
            [("2017 and 2019", "2017-01-01/2019-12-31")],
        ),
        ("From 2021–2023 it did.", [("2021–2023", "2021-01-01/2023-12-31")]),
        ("The ’90s were calm.", [("’90s", "1990-01-01/1999-12-31")]),
        ("In March it did.", [("March", "unresolved:March")]),
        ("In May it did.", []),
        ("On March 3 it did.", [("March 3", "unresolved:March 3")]),
        (
            "In 2024 it did; next year and last week too.",
            [
                ("2024", "2024-01-01/2024-12-31"),
                ("next year", "2025-01-01/2025-12-31"),
                ("last week", "unresolved:last week"),
            ],
        ),
        (
            "On Friday, March 3, after 2023.",
            [
                ("Friday", "unresolved:Friday"),
                ("March 3", "2023-03-03/2023-03-03"),
                ("2023", "2023-01-01/2023-12-31"),
            ],
        ),
        ("It took several years, or 14 months, today.", []),
    ],
)
def test_date_rules(tmp_path: Path, text: str, expected: list[tuple[str, str]]) -> None:
    assert _one(tmp_path, text, "date") == expected


def test_sentences_do_not_split_on_abbreviations(tmp_path: Path) -> None:
    text = "The U. S. and the U.S. agreed. Toyota, Inc. said $5 billion. Next one."
    df = extract_candidates([_write(tmp_path, "s.txt", text)])
    amount = df[df["kind"] == "amount"].iloc[0]
    assert amount["sentence"] == "Toyota, Inc. said $5 billion."
    us = df[df["normalized"] == "United States"]
    assert set(us["sentence"]) == {"The U. S. and the U.S. agreed."}
    assert amount["entities"] == "Toyota" and amount["groups"] == "jp_autos"


# ----------------------------------------------------------------------------------
# Keyword files
# ----------------------------------------------------------------------------------


def test_keywords_accessors() -> None:
    kw = load_keywords()
    assert kw.groups["Samsung SDI"] == ("kr_batteries",)
    assert "Toyotas" in kw.aliases["Toyota"]
    assert kw.groups_for(["Japan", "Toyota", "unknown"]) == ("jp_autos", "yen")
    with pytest.raises(AttributeError):
        kw.entities = ()  # type: ignore[misc]


def test_custom_keywords(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "kw.toml",
        '[entities.Acme]\nkind = "party"\naliases = ["Acme"]\ngroups = ["yen"]\n',
    )
    kw = load_keywords(path)
    assert kw == Keywords((Entity("Acme", "party", ("Acme",), ("yen",)),))
    df = extract_candidates([_write(tmp_path, "d.txt", "Acme and Toyota.")], kw)
    assert list(df["normalized"]) == ["Acme"]
    assert list(df["entities"]) == ["Acme"]


@pytest.mark.parametrize(
    "body",
    [
        "not toml = = =",
        "[other]\n",
        '[entities.A]\nkind = "x"\naliases = ["A"]\n',
        '[entities.A]\naliases = "A"\n',
        '[entities.A]\naliases = ["A"]\nextra = 1\n',
        '[entities.A]\naliases = ["A"]\n[entities.B]\naliases = ["A"]\n',
        "[entities.A]\naliases = []\n",
    ],
)
def test_bad_keyword_files_raise(tmp_path: Path, body: str) -> None:
    path = _write(tmp_path, "kw.toml", body)
    with pytest.raises(InputError) as info:
        load_keywords(path)
    assert str(path) in str(info.value)


def test_missing_keyword_file_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_keywords(tmp_path / "none.toml")
