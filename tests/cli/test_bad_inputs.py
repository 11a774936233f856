"""Bad inputs give typed errors, never tracebacks (issue 14, part 3).

Table-driven: every bad study file, catalog, universe and prices file below goes
through the CLI (``click.testing.CliRunner`` on :data:`eventstudy.cli.cli`, and a
few through a real subprocess) and must end with exit code 2, a message naming the
file (and the row, line or ``[section] key``) and no ``Traceback``. The library's
public input functions must raise a typed :class:`~eventstudy.errors.EventStudyError`
for bad frames and arguments, never a raw pandas, numpy or Python error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from conftest import MiniStudy

from eventstudy.cli import cli
from eventstudy.config import (
    MAX_WINDOW_DAY,
    Conventions,
    ModelSpec,
    Windows,
    load_study,
)
from eventstudy.errors import (
    CalendarError,
    CatalogError,
    EventStudyError,
    InputError,
    PriceDataError,
    StudyFileError,
    UnknownNameError,
    WindowError,
)
from eventstudy.estimation.models import MODELS, get_model
from eventstudy.inputs.calendar import get_sessions
from eventstudy.inputs.events import (
    events_from_frame,
    load_events,
    load_universe,
    universe_from_frame,
)
from eventstudy.inputs.prices import load_prices, prices_from_frame
from eventstudy.inputs.quality import check_prices


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="eventstudy")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, path)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _run(ms: MiniStudy) -> list[object]:
    return ["run", ms.study, "--prices", ms.prices, "--out", ms.root / "out", "-q"]


# ---------------------------------------------------------------- study files
TESTS_LINE = 'names = ["csect_t", "patell", "bmp"]'
MODEL_LINE = 'name = "market"\n'

#: (id, [(old, new) edits of study.toml], texts the message must contain)
STUDY_CASES: list[tuple[str, list[tuple[str, str]], list[str]]] = [
    ("names_int", [(TESTS_LINE, "names = 2")], ["[tests] names", "2"]),
    ("names_table", [(TESTS_LINE, "names = {a = 1}")], ["[tests] names"]),
    ("names_empty", [(TESTS_LINE, "names = []")], ["[tests] names", "non-empty"]),
    ("names_int_item", [(TESTS_LINE, "names = [1]")], ["[tests] names", "1"]),
    ("factors_int", [(MODEL_LINE, MODEL_LINE + "factors = 5\n")],
     ["[model] factors", "5"]),
    ("factors_list", [(MODEL_LINE, MODEL_LINE + 'factors = ["a.csv"]\n')],
     ["[model] factors"]),
    ("estimation_str", [("estimation = [-120, -11]", 'estimation = "x"')],
     ["[windows] estimation", "two integers"]),
    ("estimation_floats", [("estimation = [-120, -11]", "estimation = [-120.0, -11]")],
     ["[windows] estimation", "two integers"]),
    ("estimation_bools", [("estimation = [-120, -11]", "estimation = [true, false]")],
     ["[windows] estimation", "two integers"]),
    ("min_obs_float", [("min_estimation_obs = 60", "min_estimation_obs = 1.5")],
     ["[windows] min_estimation_obs", "1.5"]),
    ("min_obs_bool", [("min_estimation_obs = 60", "min_estimation_obs = true")],
     ["[windows] min_estimation_obs"]),
    ("name_table", [('name = "mini"', "name = {x = 1}")], ["[study] name"]),
    ("events_int", [('events = "events.csv"', "events = 3")], ["[study] events"]),
    ("events_empty", [('events = "events.csv"', 'events = ""')], ["[study] events"]),
    ("universe_bool", [('universe = "universe.csv"', "universe = true")],
     ["[study] universe"]),
    ("car_int", [("car = [[0, 0], [-1, 1]]", "car = 3")], ["[windows] car"]),
    ("car_strings", [("car = [[0, 0], [-1, 1]]", 'car = ["a"]')], ["[windows] car"]),
    ("car_flat", [("car = [[0, 0], [-1, 1]]", "car = [0, 1]")], ["[windows] car"]),
    ("returns_int", [(MODEL_LINE, MODEL_LINE + "returns = 1\n")],
     ["[model] returns"]),
    ("market_factor_int", [(MODEL_LINE, MODEL_LINE + "market_factor = 1\n")],
     ["[model] market_factor", "true or false"]),
    ("rf_column_table", [(MODEL_LINE, MODEL_LINE + "rf_column = {a = 1}\n")],
     ["[model] rf_column"]),
    ("factor_columns_str", [(MODEL_LINE, MODEL_LINE + 'factor_columns = "SMB"\n')],
     ["[model] factor_columns"]),
    ("dimson_float", [(MODEL_LINE, MODEL_LINE + "dimson_lags = 2.0\n")],
     ["[model] dimson_lags"]),
    ("dimson_huge", [(MODEL_LINE, MODEL_LINE + "dimson_lags = 1000000000\n")],
     ["[model] dimson_lags", "from 1 to 20"]),
    ("model_int", [(MODEL_LINE, "name = 7\n")], ["[model] name", "7"]),
    ("bootstrap_zero", [(TESTS_LINE, TESTS_LINE + "\nbootstrap_reps = 0")],
     ["[tests] bootstrap_reps", "from 1 to 1,000,000"]),
    ("bootstrap_negative", [(TESTS_LINE, TESTS_LINE + "\nbootstrap_reps = -5")],
     ["[tests] bootstrap_reps"]),
    ("bootstrap_huge", [(TESTS_LINE, TESTS_LINE + "\nbootstrap_reps = 10000000000")],
     ["[tests] bootstrap_reps"]),
    ("bootstrap_str", [(TESTS_LINE, TESTS_LINE + '\nbootstrap_reps = "999"')],
     ["[tests] bootstrap_reps"]),
    ("seed_str", [(TESTS_LINE, TESTS_LINE + '\nseed = "x"')], ["[tests] seed"]),
    ("forecast_error_int", [(TESTS_LINE, TESTS_LINE
                             + "\n[conventions]\nforecast_error = 1")],
     ["[conventions] forecast_error", "true or false"]),
    ("weights_int", [(TESTS_LINE, TESTS_LINE + "\n[conventions]\nweights = 3")],
     ["[conventions] weights"]),
    ("prices_int", [(TESTS_LINE, TESTS_LINE + "\n[data]\nprices = 3")],
     ["[data] prices"]),
    ("scheduler_int", [(TESTS_LINE, TESTS_LINE + "\n[execution]\nscheduler = 1")],
     ["[execution] scheduler"]),
    ("workers_negative", [(TESTS_LINE, TESTS_LINE + "\n[execution]\nworkers = -1")],
     ["[execution] workers"]),
    ("workers_float", [(TESTS_LINE, TESTS_LINE + "\n[execution]\nworkers = 2.5")],
     ["[execution] workers"]),
    ("workers_huge", [(TESTS_LINE, TESTS_LINE
                       + "\n[execution]\nworkers = 100000000")],
     ["[execution] workers", "from 0 to 1,024"]),
    ("section_not_table", [("[study]\n", "confounding = 5\n[study]\n")],
     ["[confounding] must be a table"]),
    # absurd windows: refused before anything is allocated
    ("estimation_billion", [("estimation = [-120, -11]",
                             "estimation = [-1000000000, -11]")],
     ["[windows] estimation", "-1000000000", f"{MAX_WINDOW_DAY:,}"]),
    ("event_hundred_million", [("event = [-5, 5]", "event = [-5, 100000000]")],
     ["[windows] event", "100000000"]),
    ("estimation_int64_min", [("estimation = [-120, -11]",
                               "estimation = [-9223372036854775808, -11]")],
     ["[windows] estimation"]),
    ("event_just_beyond", [("event = [-5, 5]", f"event = [-5, {MAX_WINDOW_DAY + 1}]")],
     ["[windows] event", str(MAX_WINDOW_DAY + 1)]),
    ("car_huge", [("car = [[0, 0], [-1, 1]]", "car = [[0, 0], [-1, 99999999]]")],
     ["[windows] car"]),
]


@pytest.mark.parametrize("edits,expected", [c[1:] for c in STUDY_CASES],
                         ids=[c[0] for c in STUDY_CASES])
def test_bad_study_file_cli(mini_study: MiniStudy, edits: list[tuple[str, str]],
                            expected: list[str]) -> None:
    for old, new in edits:
        _edit(mini_study.study, old, new)
    r = invoke(*_run(mini_study))
    _assert_clean_exit_2(r, ["study.toml", *expected])
    # the library raises a typed error with the same message
    with pytest.raises(InputError) as info:
        load_study(mini_study.study)
    for text in ["study.toml", *expected]:
        assert text in str(info.value), (text, str(info.value))


def _assert_clean_exit_2(r: Result, expected: list[str]) -> None:
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    assert isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output
    for text in expected:
        assert text in r.output, (text, r.output)


def test_study_file_not_utf8_and_binary(mini_study: MiniStudy) -> None:
    mini_study.study.write_bytes(mini_study.study.read_bytes().replace(
        b'"mini"', b'"mini \xe9"'))
    r = invoke(*_run(mini_study))
    _assert_clean_exit_2(r, ["study.toml", "UTF-8"])
    mini_study.study.write_bytes(bytes(range(256)) * 4)
    r = invoke(*_run(mini_study))
    _assert_clean_exit_2(r, ["study.toml"])


def test_study_file_deeply_nested(mini_study: MiniStudy) -> None:
    mini_study.study.write_text("x = " + "[" * 100_000, encoding="utf-8")
    r = invoke(*_run(mini_study))
    _assert_clean_exit_2(r, ["study.toml", "TOML"])


def test_study_file_is_a_directory(mini_study: MiniStudy) -> None:
    r = invoke("run", mini_study.root, "--prices", mini_study.prices, "--out",
               mini_study.root / "out")
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_workers_zero_means_automatic(mini_study: MiniStudy) -> None:
    _edit(mini_study.study, TESTS_LINE, TESTS_LINE + "\n[execution]\nworkers = 0")
    assert load_study(mini_study.study).workers is None
    r = invoke(*_run(mini_study))
    assert r.exit_code == 0, r.output


def test_bootstrap_reps_one_is_accepted(mini_study: MiniStudy) -> None:
    _edit(mini_study.study, TESTS_LINE, TESTS_LINE + "\nbootstrap_reps = 1")
    assert load_study(mini_study.study).bootstrap_reps == 1


def test_window_limit_is_inclusive(mini_study: MiniStudy) -> None:
    _edit(mini_study.study, "estimation = [-120, -11]",
          f"estimation = [-{MAX_WINDOW_DAY}, -11]")
    assert load_study(mini_study.study).windows.estimation == (-MAX_WINDOW_DAY, -11)


# ---------------------------------------------------------------- catalogs
EVENT_E2 = "E2,2024-10-15,date only,g"

#: (id, new events.csv content or bytes, texts the message must contain)
CATALOG_CASES: list[tuple[str, str | bytes, list[str]]] = [
    ("date_9999", EVENT_E2.replace("2024-10-15", "9999-01-01"),
     ["line 3", "'9999-01-01' is outside the supported range 1900-01-01..2200-12-31"]),
    ("date_2262", EVENT_E2.replace("2024-10-15", "2262-04-01"),
     ["line 3", "'2262-04-01' is outside the supported range"]),
    ("date_1677", EVENT_E2.replace("2024-10-15", "1677-01-01"),
     ["line 3", "'1677-01-01' is outside the supported range"]),
    ("date_1899", EVENT_E2.replace("2024-10-15", "1899-12-31"),
     ["line 3", "outside the supported range"]),
    ("timed_9999", EVENT_E2.replace("2024-10-15", "9999-09-16T10:00-04:00"),
     ["line 3", "outside the supported range"]),
    ("timed_2262", EVENT_E2.replace("2024-10-15", "2262-04-10T23:00-04:00"),
     ["line 3", "outside the supported range"]),
    ("timed_year_1", EVENT_E2.replace("2024-10-15", "T19:12Z"),
     ["line 3", "outside the supported range"]),
    ("unparsable", EVENT_E2.replace("2024-10-15", "next Tuesday"),
     ["line 3", "does not parse"]),
    ("no_offset", EVENT_E2.replace("2024-10-15", "2024-10-15T10:00"),
     ["line 3", "time zone"]),
    ("empty_timestamp", EVENT_E2.replace("2024-10-15", ""),
     ["line 3", "empty timestamp"]),
    ("empty_id", EVENT_E2.replace("E2,", ","), ["line 3", "empty event_id"]),
    ("duplicate_id", EVENT_E2.replace("E2,", "E1,"), ["line 3", "duplicate"]),
]

EVENTS_HEADER = "event_id,timestamp,title,groups\n"
EVENT_E1 = "E1,2024-09-16T10:00-04:00,timed intraday New York,g\n"

WHOLE_CATALOG_CASES: list[tuple[str, str | bytes, list[str]]] = [
    ("empty_file", "", ["empty"]),
    ("header_only", EVENTS_HEADER, ["no events"]),
    ("binary_garbage", bytes(range(256)) * 8, []),
    ("latin1", (EVENTS_HEADER + EVENT_E1.replace("New York", "Montr\xe9al")
                ).encode("latin-1"), ["UTF-8"]),
    ("duplicate_column", "event_id,timestamp,groups,groups\nE1,2024-09-16,g,g\n",
     ["duplicate column", "'groups'"]),
    ("no_timestamp_column", "event_id,groups\nE1,g\n", ["timestamp"]),
    ("no_groups_or_ticker", "event_id,timestamp\nE1,2024-09-16\n", ["groups"]),
    ("unbalanced_quote", EVENTS_HEADER + 'E1,2024-09-16,"open quote,g\n', []),
    ("every_group_missing", EVENTS_HEADER + EVENT_E1.replace(",g\n", ",zz;yy\n"),
     ["universe.csv", "no event's groups are in the universe", "zz, yy", "g"]),
]


@pytest.mark.parametrize(
    "content,expected", [(EVENTS_HEADER + EVENT_E1 + c[1] + "\n", c[2])
                         for c in CATALOG_CASES] + [c[1:] for c in WHOLE_CATALOG_CASES],
    ids=[c[0] for c in CATALOG_CASES + WHOLE_CATALOG_CASES])
def test_bad_catalog_cli(mini_study: MiniStudy, content: str | bytes,
                         expected: list[str]) -> None:
    if isinstance(content, bytes):
        mini_study.events.write_bytes(content)
    else:
        mini_study.events.write_text(content, encoding="utf-8")
    r = invoke(*_run(mini_study))
    _assert_clean_exit_2(r, ["events.csv", *expected])
    assert not (mini_study.root / "out").exists()
    if "universe" not in " ".join(expected):
        # the same file through `events validate` and the library
        r = invoke("events", "validate", mini_study.events, "--seeds", mini_study.root)
        _assert_clean_exit_2(r, ["events.csv", *expected])
        with pytest.raises(InputError) as info:
            load_events(mini_study.events)
        for text in ["events.csv", *expected]:
            assert text in str(info.value), (text, str(info.value))


def test_catalog_mixed_utc_offsets_are_fine(mini_study: MiniStudy) -> None:
    """Mixed offsets in a catalog are normal (each is its own instant)."""
    mini_study.events.write_text(
        EVENTS_HEADER + EVENT_E1 + "E2,2024-10-15T10:00+09:00,Tokyo,g\n"
        "E3,2024-11-15T10:00Z,UTC,g\n", encoding="utf-8")
    ev = load_events(mini_study.events)
    assert ev["instant_ns"].tolist() == [
        pd.Timestamp(t).value for t in ("2024-09-16T14:00Z", "2024-10-15T01:00Z",
                                        "2024-11-15T10:00Z")]
    assert invoke(*_run(mini_study)).exit_code == 0


def test_validate_binary_seed_document(mini_study: MiniStudy) -> None:
    mini_study.events.write_text(
        "event_id,timestamp,groups,source,evidence\nE1,2024-09-16,g,doc.txt,quote\n",
        encoding="utf-8")
    (mini_study.root / "doc.txt").write_bytes(b"\xff\xfe\x00bad")
    r = invoke("events", "validate", mini_study.events, "--seeds", mini_study.root)
    _assert_clean_exit_2(r, ["events.csv", "line 2", "'doc.txt'", "not UTF-8"])


# ---------------------------------------------------------------- universes
UNI_HEADER = "ticker,name,group,calendar,benchmark,currency,model\n"
UNI_A = "AAA,Alpha,g,XNYS,MKT,USD,\n"
UNI_B = "BBB,Beta,g,XNYS,MKT,USD,\n"

UNIVERSE_CASES: list[tuple[str, str | bytes, list[str]]] = [
    ("empty_file", "", ["empty"]),
    ("header_only", UNI_HEADER, ["no securities"]),
    ("duplicate_ticker", UNI_HEADER + UNI_A + UNI_B + UNI_A,
     ["line 4", "duplicate ticker 'AAA'", "first on line 2"]),
    ("empty_ticker", UNI_HEADER + UNI_A + UNI_B.replace("BBB", ""),
     ["line 3", "empty ticker"]),
    ("unknown_calendar", UNI_HEADER + UNI_A + UNI_B.replace("XNYS", "NOPE"),
     ["line 3", "unknown calendar 'NOPE'"]),
    ("empty_calendar", UNI_HEADER + UNI_A + UNI_B.replace("XNYS", ""),
     ["line 3", "empty calendar"]),
    ("unknown_model", UNI_HEADER + UNI_A + UNI_B.replace("USD,", "USD,capm"),
     ["line 3", "capm"]),
    ("no_ticker_column", "name,group,calendar\nx,g,XNYS\n", ["ticker"]),
    ("duplicate_column", "ticker,group,group,calendar\nAAA,g,g,XNYS\n",
     ["duplicate column", "'group'"]),
    ("binary_garbage", bytes(range(256)) * 8, []),
    ("latin1", (UNI_HEADER + UNI_A.replace("Alpha", "Alph\xe9")).encode("latin-1"),
     ["UTF-8"]),
]


@pytest.mark.parametrize("content,expected", [c[1:] for c in UNIVERSE_CASES],
                         ids=[c[0] for c in UNIVERSE_CASES])
def test_bad_universe_cli(mini_study: MiniStudy, content: str | bytes,
                          expected: list[str]) -> None:
    if isinstance(content, bytes):
        mini_study.universe.write_bytes(content)
    else:
        mini_study.universe.write_text(content, encoding="utf-8")
    r = invoke(*_run(mini_study))
    _assert_clean_exit_2(r, ["universe.csv", *expected])
    with pytest.raises(InputError) as info:  # model names: the registry's
        load_universe(mini_study.universe, models=tuple(MODELS))
    for text in ["universe.csv", *expected]:
        assert text in str(info.value), (text, str(info.value))


# ---------------------------------------------------------------- prices files
def _price_line(ms: MiniStudy, n: int) -> tuple[str, str]:
    """Line ``n`` (1-based, header = line 1) of the prices CSV and its text."""
    lines = ms.prices.read_text(encoding="utf-8").splitlines()
    return lines[n - 1], "\n".join(lines) + "\n"


def _replace_line(ms: MiniStudy, n: int, new: Callable[[str], str]) -> None:
    lines = ms.prices.read_text(encoding="utf-8").splitlines()
    lines[n - 1] = new(lines[n - 1])
    ms.prices.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _set_date(value: str) -> Callable[[str], str]:
    return lambda line: value + line[line.index(","):]


def _set_close(value: str) -> Callable[[str], str]:
    return lambda line: line.rsplit(",", 1)[0] + "," + value


#: (id, line of prices.csv to change (1-based), change, texts of the message)
PRICE_LINE_CASES: list[tuple[str, int, Callable[[str], str], list[str]]] = [
    ("date_9999", 8, _set_date("9999-03-01"),
     ["row 7", "'9999-03-01' is outside the supported range 1900-01-01..2200-12-31"]),
    ("date_2262", 8, _set_date("2262-04-01"), ["row 7", "outside the supported"]),
    ("date_2262_after_ns", 8, _set_date("2262-04-14"),
     ["row 7", "outside the supported"]),
    ("date_1677", 8, _set_date("1677-01-01"), ["row 7", "outside the supported"]),
    ("date_year_10000", 8, _set_date("10000-01-01"), ["row 7"]),
    ("date_unparsable", 8, _set_date("2024-02-30"), ["row 7", "does not parse"]),
    ("date_empty", 8, _set_date(""), ["row 7", "does not parse"]),
    ("non_numeric", 8, _set_close("12,5"), []),
    ("non_numeric_word", 8, _set_close("n/a-price"), ["row 7", "n/a-price"]),
    ("empty_ticker", 8, lambda line: line.replace(",AAA,", ",,").replace(
        ",MKT,", ",,"), ["row 7", "empty ticker"]),
    ("duplicate_row", 3, lambda line: _first_data_line[0], ["duplicate row"]),
]
_first_data_line: list[str] = [""]


@pytest.mark.parametrize("line,change,expected", [c[1:] for c in PRICE_LINE_CASES],
                         ids=[c[0] for c in PRICE_LINE_CASES])
def test_bad_price_rows_cli(mini_study: MiniStudy, line: int,
                            change: Callable[[str], str],
                            expected: list[str]) -> None:
    _first_data_line[0] = _price_line(mini_study, 2)[0]
    _replace_line(mini_study, line, change)
    r = invoke(*_run(mini_study))
    _assert_clean_exit_2(r, ["prices.csv", *expected])
    with pytest.raises(PriceDataError) as info:
        load_prices(mini_study.prices)
    for text in ["prices.csv", *expected]:
        assert text in str(info.value), (text, str(info.value))


PRICE_FILE_CASES: list[tuple[str, str | bytes, list[str]]] = [
    ("empty_file", "", ["empty"]),
    ("header_only", "date,ticker,close\n", ["no rows"]),
    ("no_date_column", "day,ticker,close\n2024-01-02,AAA,1\n", ["no 'date' column"]),
    ("only_date_column", "date\n2024-01-02\n", ["no price columns"]),
    ("wide_duplicate_column", "date,AAA,AAA\n2024-01-02,1,2\n",
     ["duplicate column", "'AAA'"]),
    ("wide_duplicate_date", "date,AAA\n2024-01-02,1\n2024-01-02,2\n",
     ["row 2", "duplicate date"]),
    ("binary_garbage", bytes(range(256)) * 8, []),
    ("latin1", "date,ticker,close\n2024-01-02,A\xe9,1\n".encode("latin-1"),
     ["UTF-8"]),
    ("all_blank_prices", "date,AAA\n2024-01-02,\n2024-01-03,\n", ["no numeric"]),
    ("unbalanced_quote", 'date,ticker,close\n2024-01-02,"AAA,1\n', []),
]


@pytest.mark.parametrize("content,expected", [c[1:] for c in PRICE_FILE_CASES],
                         ids=[c[0] for c in PRICE_FILE_CASES])
def test_bad_price_files_cli(mini_study: MiniStudy, content: str | bytes,
                             expected: list[str]) -> None:
    if isinstance(content, bytes):
        mini_study.prices.write_bytes(content)
    else:
        mini_study.prices.write_text(content, encoding="utf-8")
    r = invoke(*_run(mini_study))
    _assert_clean_exit_2(r, ["prices.csv", *expected])
    with pytest.raises(PriceDataError):
        load_prices(mini_study.prices)


@pytest.mark.parametrize("content", [b"PAR1garbagePAR1", b"", b"\x00" * 100],
                         ids=["fake_magic", "empty", "zeros"])
def test_corrupt_parquet(mini_study: MiniStudy, content: bytes) -> None:
    f = mini_study.root / "prices.parquet"
    f.write_bytes(content)
    r = invoke("run", mini_study.study, "--prices", f, "--out",
               mini_study.root / "out", "-q")
    _assert_clean_exit_2(r, ["prices.parquet", "cannot read the prices file"])


def test_gzip_cut_short(mini_study: MiniStudy) -> None:
    import gzip

    data = gzip.compress(mini_study.prices.read_bytes())
    f = mini_study.root / "prices.csv.gz"
    f.write_bytes(data[: len(data) // 2])
    r = invoke("run", mini_study.study, "--prices", f, "--out",
               mini_study.root / "out", "-q")
    _assert_clean_exit_2(r, ["prices.csv.gz"])


def test_mixed_utc_offsets_in_prices_keep_local_dates(mini_study: MiniStudy) -> None:
    """A New York export across a DST change has -05:00 and -04:00 rows; each row
    keeps its own local date."""
    text = ("date,ticker,close\n2024-03-08 00:00:00-05:00,AAA,10\n"
            "2024-03-11T00:00:00-04:00,AAA,11\n2024-03-12T09:00+09:00,AAA,12\n"
            "2024-03-13,AAA,13\n")
    f = mini_study.root / "tz.csv"
    f.write_text(text, encoding="utf-8")
    got = load_prices(f)
    assert [d.strftime("%Y-%m-%d") for d in got.index] == [
        "2024-03-08", "2024-03-11", "2024-03-12", "2024-03-13"]
    assert got["AAA"].tolist() == [10.0, 11.0, 12.0, 13.0]


# ---------------------------------------------------------------- non-finite prices
@pytest.mark.parametrize("value,check,detail", [
    ("inf", "non_finite", "1 price(s) are inf (2024-01-10..2024-01-10): treated as "
     "missing; fix the source or leave the cells empty"),
    ("-inf", "non_finite", "1 price(s) are -inf (2024-01-10..2024-01-10): treated as "
     "missing; fix the source or leave the cells empty"),
    ("0", "non_positive", "1 price(s) <= 0 (lowest 0): prices must be positive; a 0 "
     "usually stands for a missing price and must be NaN"),
    ("-3", "non_positive", "1 price(s) <= 0 (lowest -3): prices must be positive; a "
     "0 usually stands for a missing price and must be NaN"),
])
def test_bad_price_values_are_warned_in_run_json(
        mini_study: MiniStudy, value: str, check: str, detail: str) -> None:
    lines = mini_study.prices.read_text(encoding="utf-8").splitlines()
    n = next(i for i, x in enumerate(lines) if x.startswith("2024-01-10,AAA,"))
    lines[n] = f"2024-01-10,AAA,{value}"
    mini_study.prices.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = invoke(*_run(mini_study))
    assert r.exit_code == 0, r.output
    run = json.loads((mini_study.root / "out" / "run.json").read_text())
    want = f"AAA: {check} 2024-01-10..2024-01-10 (1) {detail}"
    assert want in run["data_quality"], run["data_quality"]


def test_non_finite_prices_are_masked() -> None:
    from eventstudy.inputs.returns import on_sessions, to_returns

    dates = pd.bdate_range("2024-01-01", periods=5, name="date")
    frame = pd.DataFrame({"A": [10.0, np.inf, 11.0, -np.inf, 12.0]}, index=dates)
    values, _ = on_sessions(frame, dates)
    assert np.isnan(values[[1, 3], 0]).all() and values[[0, 2, 4], 0].tolist() == [
        10.0, 11.0, 12.0]
    raw = frame.to_numpy()
    assert np.isnan(to_returns(raw)[:, 0]).all()  # every return touches an inf
    found = check_prices(frame)
    assert found[["check", "count"]].values.tolist() == [["non_finite", 1],
                                                         ["non_finite", 1]]
    assert "extreme_return" not in set(found["check"])


# ---------------------------------------------------------------- calendars
def test_calendar_beyond_its_range() -> None:
    with pytest.raises(CalendarError, match="XKRX cannot give sessions for "
                       "2060-01-01..2060-02-01"):
        get_sessions("XKRX", "2060-01-01", "2060-02-01")
    with pytest.raises(CalendarError, match="outside the supported range"):
        get_sessions("XNYS", "2262-01-01", "2262-04-10")
    with pytest.raises(CalendarError, match="calendar name must be text"):
        get_sessions(5, "2024-01-01", "2024-02-01")  # type: ignore[arg-type]


def test_events_beyond_a_calendars_range_cli(mini_study: MiniStudy) -> None:
    """XKRX's holidays end in 2050: an event in 2060 (long after the prices) is a
    clean exit 2 naming the catalog and why no pair is left."""
    mini_study.universe.write_text(UNI_HEADER + UNI_A.replace("XNYS", "XKRX"),
                                   encoding="utf-8")
    mini_study.events.write_text(EVENTS_HEADER + "E1,2060-01-05,far,g\n",
                                 encoding="utf-8")
    r = invoke(*_run(mini_study))
    _assert_clean_exit_2(r, ["events.csv", "every (event, security) pair was "
                             "excluded"])


# ---------------------------------------------------------------- subprocess
def _eventstudy() -> list[str]:
    exe = shutil.which("eventstudy")
    return [exe] if exe else [sys.executable, "-c",
                              "from eventstudy.cli import main; main()"]


@pytest.mark.parametrize("what", ["names_int", "date_2262", "prices_9999"])
def test_bad_inputs_in_a_real_process(mini_study: MiniStudy, what: str) -> None:
    if what == "names_int":
        _edit(mini_study.study, TESTS_LINE, "names = 2")
        expected = ["study.toml", "[tests] names"]
    elif what == "date_2262":
        mini_study.events.write_text(EVENTS_HEADER + "E1,2262-04-01,x,g\n",
                                     encoding="utf-8")
        expected = ["events.csv", "line 2", "outside the supported range"]
    else:
        _replace_line(mini_study, 8, _set_date("9999-03-01"))
        expected = ["prices.csv", "row 7", "outside the supported range"]
    out = subprocess.run([*_eventstudy(), *map(str, _run(mini_study))],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr + out.stdout
    for text in expected:
        assert text in out.stderr, (text, out.stderr)


# ---------------------------------------------------------------- the library
GOOD_EVENTS = pd.DataFrame({"event_id": ["a", "b"],
                            "timestamp": ["2024-01-02", "2024-02-01T10:00Z"],
                            "groups": ["g", "g"]})
GOOD_UNIVERSE = pd.DataFrame({"ticker": ["A", "B"], "group": ["g", "g"],
                              "calendar": ["XNYS", "FX"]})
DATES = pd.bdate_range("2024-01-01", periods=4, name="date")
GOOD_PRICES = pd.DataFrame({"A": [1.0, 2.0, 3.0, 4.0]}, index=DATES)


def _with(df: pd.DataFrame, **cols: Any) -> pd.DataFrame:
    out = df.copy()
    for k, v in cols.items():
        out[k] = v
    return out


def _multi(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.columns = pd.MultiIndex.from_tuples([("x", c) for c in df.columns])
    return out


def _dup(df: pd.DataFrame, col: str) -> pd.DataFrame:
    return pd.concat([df, df[[col]]], axis=1)


#: (id, call, expected error type, text in the message)
LIBRARY_CASES: list[tuple[str, Callable[[], object], type[EventStudyError], str]] = [
    # events_from_frame
    ("events_not_a_frame", lambda: events_from_frame([1, 2]), CatalogError,
     "must be a pandas DataFrame, got list"),
    ("events_none", lambda: events_from_frame(None), CatalogError,  # type: ignore
     "got NoneType"),
    ("events_multiindex", lambda: events_from_frame(_multi(GOOD_EVENTS)),
     CatalogError, "MultiIndex"),
    ("events_duplicate_columns", lambda: events_from_frame(_dup(GOOD_EVENTS,
                                                                "event_id")),
     CatalogError, "duplicate column(s) 'event_id'"),
    ("events_missing_columns", lambda: events_from_frame(GOOD_EVENTS[["groups"]]),
     CatalogError, "missing column(s) event_id, timestamp"),
    ("events_nan_id", lambda: events_from_frame(_with(GOOD_EVENTS,
                                                      event_id=["a", np.nan])),
     CatalogError, "line 3: empty event_id"),
    ("events_none_id", lambda: events_from_frame(_with(GOOD_EVENTS,
                                                       event_id=[None, "b"])),
     CatalogError, "line 2: empty event_id"),
    ("events_nan_timestamp", lambda: events_from_frame(_with(
        GOOD_EVENTS, timestamp=[pd.Timestamp("2024-01-02"), pd.NaT])),
     CatalogError, "line 3: empty timestamp"),
    ("events_int_timestamps", lambda: events_from_frame(_with(
        GOOD_EVENTS, timestamp=[20240102, 5])), CatalogError, "'20240102'"),
    ("events_timestamp_beyond", lambda: events_from_frame(_with(
        GOOD_EVENTS, timestamp=[pd.Timestamp("2250-01-01"),
                                pd.Timestamp("2024-01-02", tz="UTC")])),
     CatalogError, "'2250-01-01' is outside the supported range"),
    ("events_datetime64_s_far", lambda: events_from_frame(_with(
        GOOD_EVENTS, timestamp=np.array(["3000-01-01", "2024-01-02"],
                                        dtype="datetime64[s]"))),
     CatalogError, "'3000-01-01' is outside"),
    ("events_objects", lambda: events_from_frame(_with(
        GOOD_EVENTS, timestamp=[{"a": 1}, [1]])), CatalogError, "does not parse"),
    ("events_no_rows", lambda: events_from_frame(GOOD_EVENTS.iloc[:0]),
     CatalogError, "no events"),
    ("load_events_not_a_path", lambda: load_events(5), InputError,  # type: ignore
     "must be a path"),
    # universe_from_frame
    ("universe_not_a_frame", lambda: universe_from_frame("u.csv"),  # type: ignore
     CatalogError, "got str"),
    ("universe_multiindex", lambda: universe_from_frame(_multi(GOOD_UNIVERSE)),
     CatalogError, "MultiIndex"),
    ("universe_duplicate_columns", lambda: universe_from_frame(
        _dup(GOOD_UNIVERSE, "ticker")), CatalogError, "duplicate column(s) 'ticker'"),
    ("universe_no_rows", lambda: universe_from_frame(GOOD_UNIVERSE.iloc[:0]),
     CatalogError, "no securities"),
    ("universe_nan_ticker", lambda: universe_from_frame(_with(
        GOOD_UNIVERSE, ticker=["A", np.nan])), CatalogError, "line 3: empty ticker"),
    ("universe_unknown_calendar", lambda: universe_from_frame(_with(
        GOOD_UNIVERSE, calendar=["XNYS", "Mars"])), CatalogError,
     "line 3: unknown calendar 'Mars'"),
    ("universe_nan_calendar", lambda: universe_from_frame(_with(
        GOOD_UNIVERSE, calendar=["XNYS", None])), CatalogError,
     "line 3: empty calendar"),
    ("load_universe_not_a_path", lambda: load_universe(None),  # type: ignore
     InputError, "must be a path"),
    # prices_from_frame
    ("prices_not_a_frame", lambda: prices_from_frame({"A": [1]}),  # type: ignore
     PriceDataError, "got dict"),
    ("prices_multiindex", lambda: prices_from_frame(_multi(GOOD_PRICES)),
     PriceDataError, "MultiIndex"),
    ("prices_duplicate_columns", lambda: prices_from_frame(_dup(GOOD_PRICES, "A")),
     PriceDataError, "duplicate column(s) 'A'"),
    ("prices_no_rows", lambda: prices_from_frame(GOOD_PRICES.iloc[:0]),
     PriceDataError, "no rows"),
    ("prices_no_date", lambda: prices_from_frame(GOOD_PRICES.reset_index(drop=True)),
     PriceDataError, "no 'date' column"),
    ("prices_nat_index", lambda: prices_from_frame(GOOD_PRICES.set_axis(
        pd.DatetimeIndex(["2024-01-01", None, "2024-01-03", "2024-01-04"],
                         name="date"))), PriceDataError, "row 2"),
    ("prices_far_index", lambda: prices_from_frame(GOOD_PRICES.set_axis(
        pd.DatetimeIndex(np.array(["2024-01-01", "2300-01-01", "2024-01-03",
                                   "2024-01-04"], dtype="datetime64[s]"),
                         name="date"))),
     PriceDataError, "row 2: date"),
    ("prices_string_dates_far", lambda: prices_from_frame(pd.DataFrame(
        {"date": ["2024-01-02", "1850-01-01"], "A": [1.0, 2.0]})),
     PriceDataError, "row 2: date '1850-01-01' is outside"),
    ("prices_complex", lambda: prices_from_frame(GOOD_PRICES.astype(complex)),
     PriceDataError, "complex"),
    ("prices_bool", lambda: prices_from_frame(GOOD_PRICES > 2), PriceDataError,
     "bool"),
    ("prices_lists", lambda: prices_from_frame(_with(
        GOOD_PRICES, A=[[1], [2], [3], [4]])), PriceDataError, "non-numeric"),
    ("prices_long_nan_ticker", lambda: prices_from_frame(pd.DataFrame(
        {"date": ["2024-01-02", "2024-01-02"], "ticker": ["A", None],
         "close": [1.0, 2.0]})), PriceDataError, "row 2: empty ticker"),
    ("prices_tickers_str", lambda: prices_from_frame(GOOD_PRICES, tickers="A"),
     InputError, "tickers must be a list"),
    ("prices_duplicate_index", lambda: prices_from_frame(GOOD_PRICES.set_axis(
        pd.DatetimeIndex(["2024-01-01"] * 4, name="date"))), PriceDataError,
     "duplicate date"),
    ("load_prices_not_a_path", lambda: load_prices(3.5), PriceDataError,  # type: ignore
     "must be a path"),
    ("check_prices_not_a_frame", lambda: check_prices([1, 2]),  # type: ignore
     PriceDataError, "must be a pandas DataFrame"),
    # Windows, Conventions, ModelSpec
    ("windows_huge", lambda: Windows((-10**9, -11)), WindowError,
     f"beyond the limit of {MAX_WINDOW_DAY:,} sessions"),
    ("windows_event_huge", lambda: Windows(event=(-5, 10**8)), WindowError,
     "day 100000000"),
    ("windows_string", lambda: Windows(estimation="x"),  # type: ignore[arg-type]
     WindowError, "two integers"),
    ("windows_floats", lambda: Windows(estimation=(-250.0, -11.0)),  # type: ignore
     WindowError, "two integers"),
    ("windows_car_flat", lambda: Windows(car=(0, 0)),  # type: ignore[arg-type]
     WindowError, "car must be a list of [start, end] pairs"),
    ("windows_car_empty", lambda: Windows(car=()), WindowError, "at least one"),
    ("windows_min_obs_float", lambda: Windows(min_estimation_obs=1.5),  # type: ignore
     WindowError, "min_estimation_obs must be an integer"),
    ("conventions_choice", lambda: Conventions(sigma_dof="n"),  # type: ignore
     UnknownNameError, "sigma_dof = 'n'"),
    ("conventions_bool", lambda: Conventions(forecast_error=1),  # type: ignore
     UnknownNameError, "forecast_error must be True or False"),
    ("conventions_weights", lambda: Conventions(weights=3),  # type: ignore
     UnknownNameError, "weights must be a column name"),
    ("model_name", lambda: get_model("capm"),
     UnknownNameError, "unknown model 'capm'; choose one of constant_mean"),
    ("model_dimson", lambda: ModelSpec(dimson_lags=0), UnknownNameError,
     "dimson_lags must be a whole number from 1 to 20"),
    ("model_factor_columns", lambda: ModelSpec(factor_columns="SMB"),  # type: ignore
     UnknownNameError, "factor_columns"),
    ("model_market_factor", lambda: ModelSpec(market_factor="yes"),  # type: ignore
     UnknownNameError, "market_factor"),
    ("model_factors", lambda: ModelSpec(factors=5),  # type: ignore[arg-type]
     UnknownNameError, "factors must be a file path"),
    ("load_study_not_a_path", lambda: load_study(["a.toml"]),  # type: ignore
     StudyFileError, "must be a path"),
    ("get_sessions_bad_dates", lambda: get_sessions("XNYS", "soon", "later"),
     CalendarError, "not valid dates"),
]


@pytest.mark.parametrize("call,error,text", [c[1:] for c in LIBRARY_CASES],
                         ids=[c[0] for c in LIBRARY_CASES])
def test_library_raises_typed_errors(call: Callable[[], object],
                                     error: type[EventStudyError], text: str) -> None:
    with pytest.raises(EventStudyError) as info:
        call()
    assert isinstance(info.value, error), (type(info.value), info.value)
    assert text in str(info.value), str(info.value)


def test_library_accepts_mixed_tz_aware_and_naive_timestamps() -> None:
    """A tz-aware Timestamp is timed, a naive midnight is date only."""
    ev = events_from_frame(_with(GOOD_EVENTS, timestamp=[
        pd.Timestamp("2024-01-02"), pd.Timestamp("2024-02-01 10:00", tz="Asia/Tokyo")]))
    assert ev["date_only"].tolist() == [True, False]
    assert ev["instant_ns"].tolist() == [pd.Timestamp("2024-01-02").value,
                                         pd.Timestamp("2024-02-01T01:00Z").value]


def test_library_normalises_lists_in_windows_and_models() -> None:
    w = Windows([-100, -11], [-5, 5], [[0, 0], [np.int64(-1), 1]], 50)  # type: ignore
    assert w == Windows((-100, -11), (-5, 5), ((0, 0), (-1, 1)), 50)
    m = ModelSpec(factors="ff.csv", factor_columns=["SMB"])  # type: ignore[arg-type]
    assert m.factors == Path("ff.csv") and m.factor_columns == ("SMB",)


def test_tz_aware_price_index_keeps_local_dates() -> None:
    idx = pd.DatetimeIndex(["2024-01-02 00:00", "2024-01-03 00:00"], tz="Asia/Tokyo",
                           name="date")
    got = prices_from_frame(pd.DataFrame({"A": [1.0, 2.0]}, index=idx))
    assert [d.strftime("%Y-%m-%d") for d in got.index] == ["2024-01-02", "2024-01-03"]
    assert got.index.tz is None


def test_short_xkrx_range_leaves_other_calendars_intact() -> None:
    """get_sessions' short-range holiday computation must not poison
    exchange_calendars' class-level Korean caches: afterwards
    pandas-market-calendars' own XKRX still knows the 2025-05-06 substitute
    holiday (Children's Day on Buddha's Birthday). In a fresh process, where
    those caches start empty."""
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "import pandas_market_calendars as pmc\n"
        "from eventstudy.inputs.calendar import get_sessions\n"
        "get_sessions('XKRX', '2024-01-02', '2024-12-31')\n"
        "days = pmc.get_calendar('XKRX').valid_days('2025-05-01', '2025-05-09', "
        "tz=None)\n"
        "print(','.join(d.strftime('%m-%d') for d in days))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip() == "05-02,05-07,05-08,05-09"
