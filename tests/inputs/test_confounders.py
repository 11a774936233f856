"""The confounders file (issue #17 part 2): loading, validation, the study-file keys
and ``events validate --confounders``.

Every bad input must give a :class:`~eventstudy.errors.CatalogError` (or
:class:`~eventstudy.errors.StudyFileError` / :class:`~eventstudy.errors.WindowError`
for the study file) whose message names the file, the line (or ``[section] key``)
and the fix; through the CLI, exit code 2 and no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from conftest import MiniStudy, write_mini_study

from eventstudy.cli import cli
from eventstudy.config import load_study
from eventstudy.errors import CatalogError, InputError, StudyFileError, WindowError
from eventstudy.inputs.confounders import (
    check_ids_distinct,
    confounders_from_frame,
    load_confounders,
    scope_names,
    validate_confounders,
)
from eventstudy.workflows import (
    fingerprint,
    prepare_study,
    run_study,
    study_input_paths,
)

HEADER = "confounder_id,timestamp,scope,kind,title,source\n"
GOOD = (HEADER
        + 'C01,2024-09-18,*,context,"Tariffs, round 1",whitehouse.gov\n'
        + "K01,2024-09-20T16:05-04:00,AAA,earnings,Q3 results,aaa.com/ir\n"
        + "K02,2024-10-01,g;BBB,news,,reuters.com\n")
NAMES = {"AAA", "BBB", "g"}


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="eventstudy")


@pytest.fixture
def mini(tmp_path: Path) -> MiniStudy:
    return write_mini_study(tmp_path / "study")


def test_a_valid_file_loads(tmp_path: Path) -> None:
    f = tmp_path / "c.csv"
    f.write_text(GOOD, encoding="utf-8")
    c = load_confounders(f, NAMES)
    assert c["confounder_id"].tolist() == ["C01", "K01", "K02"]
    assert c["scope"].tolist() == ["*", "AAA", "g;BBB"]
    assert c["title"].tolist() == ["Tariffs, round 1", "Q3 results", ""]
    assert c["date_only"].tolist() == [True, False, True]
    assert c["instant_ns"].tolist() == [
        pd.Timestamp("2024-09-18").value,
        pd.Timestamp("2024-09-20T20:05Z").value,
        pd.Timestamp("2024-10-01").value]


def test_header_only_is_no_confounders(tmp_path: Path) -> None:
    f = tmp_path / "c.csv"
    f.write_text(HEADER, encoding="utf-8")
    assert len(load_confounders(f, NAMES)) == 0


def test_title_column_is_optional() -> None:
    df = pd.DataFrame({"confounder_id": ["C1"], "timestamp": ["2024-01-02"],
                       "scope": ["*"], "kind": ["context"], "source": ["x"]})
    assert confounders_from_frame(df)["title"].tolist() == [""]


BAD_ROWS: list[tuple[str, str, str]] = [
    ("duplicate id", "C01,2024-09-19,AAA,news,t,src\n",
     "line 5: duplicate confounder_id 'C01' (first on line 2); ids must be unique"),
    ("empty id", ",2024-09-19,AAA,news,t,src\n",
     "line 5: empty confounder_id; give each row a unique id such as "
     "C01_AUTO_TARIFFS"),
    ("semicolon in id", "X;Y,2024-09-19,AAA,news,t,src\n",
     "line 5: confounder_id 'X;Y' contains ';' (ids are ';'-joined in "
     "confounded_by); remove it"),
    ("bad timestamp", "C09,2024-13-45,AAA,news,t,src\n",
     "line 5: timestamp '2024-13-45' is not a valid date"),
    ("time without zone", "C09,2024-09-19T10:00,AAA,news,t,src\n",
     "line 5: timestamp '2024-09-19T10:00' gives a time but no time zone; add the "
     "UTC offset (e.g. -04:00) or give the date alone"),
    ("unknown scope name", "C09,2024-09-19,AAA;ZZZ,news,t,src\n",
     "line 5: scope name 'ZZZ' is neither a ticker nor a group of the universe "
     "(known: AAA, BBB, g); fix the name, add the security to the universe, or "
     "use *"),
    ("empty scope", "C09,2024-09-19,,news,t,src\n",
     "line 5: empty scope; write * (every security) or ';'-separated tickers "
     "and/or group names of the universe"),
    ("star with names", "C09,2024-09-19,*;AAA,news,t,src\n",
     "line 5: scope '*;AAA' mixes * with names; write * alone (every security) or "
     "list the names without *"),
    ("bad kind", "C09,2024-09-19,AAA,rumour,t,src\n",
     "line 5: kind 'rumour' is not valid; use one of earnings, corporate_action, "
     "news, context"),
    ("empty source", "C09,2024-09-19,AAA,news,t,\n",
     "line 5: empty source; say where the date comes from (a URL or a document)"),
]


@pytest.mark.parametrize(("row", "expected"), [(r, e) for _, r, e in BAD_ROWS],
                         ids=[n for n, _, _ in BAD_ROWS])
def test_each_bad_row_is_named_with_its_line_and_fix(tmp_path: Path, row: str,
                                                     expected: str) -> None:
    f = tmp_path / "conf.csv"
    f.write_text(GOOD + row, encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_confounders(f, NAMES)
    assert info.value.problems == [expected]
    assert str(info.value).startswith(f"{f}: 1 problem(s) in the confounders file")
    assert validate_confounders(f, NAMES) == [expected]


def test_every_problem_is_listed_in_line_order(tmp_path: Path) -> None:
    f = tmp_path / "conf.csv"
    f.write_text(GOOD + "K01,2024-09-19,QQQ,news,t,\n" + "K05,nope,AAA,gossip,t,s\n",
                 encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_confounders(f, NAMES)
    lines = [p.split(":")[0] for p in info.value.problems]
    assert lines == ["line 5"] * 3 + ["line 6"] * 2
    assert "4 problem(s)" not in str(info.value)
    assert "5 problem(s) in the confounders file" in str(info.value)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    f = tmp_path / "conf.csv"
    f.write_text("confounder_id,timestamp,scope,title\nC1,2024-01-02,*,t\n",
                 encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_confounders(f, NAMES)
    assert str(info.value) == (
        f"{f}: missing column(s) kind, source; a confounders file needs the header "
        "confounder_id,timestamp,scope,kind,title,source (title may be empty)")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_confounders(tmp_path / "nope.csv", NAMES)
    assert str(info.value) == (f"{tmp_path / 'nope.csv'}: confounders file not "
                               "found; check the path in the study file")


def test_scope_names_are_not_checked_without_a_universe(tmp_path: Path) -> None:
    f = tmp_path / "conf.csv"
    f.write_text(GOOD + "C09,2024-09-19,ZZZ,news,t,src\n", encoding="utf-8")
    assert len(load_confounders(f, None)) == 4
    assert scope_names(None, pd.DataFrame({"groups": ["g"]})) is None
    assert scope_names(None, pd.DataFrame({"ticker": ["A", "B"]})) == {"A", "B"}


def test_an_id_shared_with_the_catalog_is_refused() -> None:
    c = pd.DataFrame({"confounder_id": ["C1", "E2"]})
    with pytest.raises(CatalogError) as info:
        check_ids_distinct(c, pd.DataFrame({"event_id": ["E1", "E2"]}), "c.csv")
    assert info.value.problems == ["line 3: confounder_id 'E2' is also an event_id "
                                   "of the catalog; rename it"]
    assert str(info.value).startswith("c.csv: 1 problem(s)")


# ---------------------------------------------------------------- CLI
def test_cli_events_validate_confounders_ok(mini: MiniStudy) -> None:
    f = mini.root / "confounders.csv"
    f.write_text(GOOD, encoding="utf-8")
    r = invoke("events", "validate", mini.events, "--seeds", mini.root,
               "--confounders", f)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [f"{mini.events}: OK", f"{f}: OK"]


@pytest.mark.parametrize(("row", "expected"), [(r, e) for _, r, e in BAD_ROWS],
                         ids=[n for n, _, _ in BAD_ROWS])
def test_cli_events_validate_confounders_exit_2(mini: MiniStudy, row: str,
                                                expected: str) -> None:
    f = mini.root / "confounders.csv"
    f.write_text(GOOD + row, encoding="utf-8")
    r = invoke("events", "validate", mini.events, "--seeds", mini.root,
               "--confounders", f)
    assert r.exit_code == 2, r.output
    assert isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    assert f"{f}: 1 problem(s)" in r.output
    assert f"  - {expected}" in r.output


def test_cli_reports_catalog_and_confounders_problems_together(
        mini: MiniStudy) -> None:
    f = mini.root / "confounders.csv"
    f.write_text(GOOD.replace("earnings", "gossip"), encoding="utf-8")
    mini.events.write_text(mini.events.read_text(encoding="utf-8")
                           + "E1,2024-11-01,dup,g\n", encoding="utf-8")
    r = invoke("events", "validate", mini.events, "--seeds", mini.root,
               "--confounders", f)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"{mini.events}: 1 problem(s)" in r.output
    assert "duplicate event_id 'E1'" in r.output
    assert f"{f}: 1 problem(s)" in r.output
    assert "line 3: kind 'gossip' is not valid" in r.output


def test_cli_confounder_id_clashing_with_an_event(mini: MiniStudy) -> None:
    f = mini.root / "confounders.csv"
    f.write_text(GOOD.replace("K02,", "E2,"), encoding="utf-8")
    r = invoke("events", "validate", mini.events, "--seeds", mini.root,
               "--confounders", f)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert ("line 4: confounder_id 'E2' is also an event_id of the catalog; "
            "rename it") in r.output


# ---------------------------------------------------------------- study file
def _with_confounding(ms: MiniStudy, body: str) -> Path:
    ms.study.write_text(ms.study.read_text(encoding="utf-8")
                        + "\n[confounding]\n" + body, encoding="utf-8")
    return ms.study


def test_study_file_keys(mini: MiniStudy) -> None:
    s = load_study(_with_confounding(
        mini, 'file = "confounders.csv"\nwindow = [-3, 2]\nmask_estimation = true\n'
              "mask_window = [-2, 0]\n"))
    assert s.confounders == mini.root.resolve() / "confounders.csv"
    assert s.confounding_window == (-3, 2)
    assert s.mask_estimation is True
    assert s.mask_window == (-2, 0)


def test_study_file_defaults(mini: MiniStudy) -> None:
    s = load_study(mini.study)
    assert (s.confounders, s.confounding_window, s.mask_estimation,
            s.mask_window) == (None, None, False, (-1, 1))
    s = load_study(_with_confounding(mini, "window = []\n"))
    assert s.confounding_window is None


@pytest.mark.parametrize(("body", "error", "expected"), [
    ("window = [3, -3]\n", WindowError,
     "[confounding] window = [3, -3] is reversed; write it as [start, end] with "
     "start <= end (e.g. [-5, 5]), or [] for the event window"),
    ("window = [1]\n", WindowError,
     "[confounding] window must be a list of two integers like [-250, -11], got "
     "[1]"),
    ("mask_window = [1, -1]\n", WindowError,
     "[confounding] mask_window = [1, -1] is reversed; write it as [start, end] "
     "with start <= end (e.g. [-1, 1])"),
    ('mask_window = "1"\n', WindowError,
     "[confounding] mask_window must be a list of two integers like [-250, -11], "
     "got '1'"),
    ("mask_estimation = 1\n", StudyFileError,
     "[confounding] mask_estimation must be true or false, got 1"),
    ("file = 3\n", StudyFileError,
     '[confounding] file must be text in quotes like "confounders.csv", got 3'),
    ("masking = true\n", StudyFileError,
     "unknown key(s) masking in [confounding]; known: action, file, "
     "mask_estimation, mask_window, window"),
])
def test_study_file_bad_keys(mini: MiniStudy, body: str, error: type,
                             expected: str) -> None:
    f = _with_confounding(mini, body)
    with pytest.raises(error) as info:
        load_study(f)
    assert str(info.value) == f"{f}: {expected}"


def test_confounders_file_is_an_input_of_the_study(mini: MiniStudy) -> None:
    """The file is hashed into the fingerprint (a refresh notices an edit) and is
    one of the study's input paths (an output folder may not be it)."""
    f = mini.root / "confounders.csv"
    f.write_text(GOOD, encoding="utf-8")
    st = prepare_study(_with_confounding(mini, 'file = "confounders.csv"\n'))
    assert f.resolve() in [p.resolve() for p in study_input_paths(st)]
    _, info = run_study(mini.study, prices=mini.prices)
    h1 = info["inputs_sha256"]
    assert set(h1) >= {"study", "events", "universe", "confounders", "prices"}
    f.write_text(GOOD.replace("Q3 results", "Q3 results (revised)"),
                 encoding="utf-8")
    _, info2 = run_study(mini.study, prices=mini.prices)
    assert info2["inputs_sha256"]["confounders"] != h1["confounders"]
    assert info2["fingerprint"] != info["fingerprint"]
    assert fingerprint(st, info2["inputs_sha256"]) == info2["fingerprint"]


def test_a_bad_confounders_file_stops_the_run_cleanly(mini: MiniStudy) -> None:
    f = mini.root / "confounders.csv"
    f.write_text(GOOD.replace("g;BBB", "g;CCC"), encoding="utf-8")
    _with_confounding(mini, 'file = "confounders.csv"\n')
    r = invoke("run", mini.study, "--prices", mini.prices, "--out",
               mini.root / "out", "-q")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "confounders.csv: 1 problem(s) in the confounders file" in r.output
    assert "line 4: scope name 'CCC' is neither a ticker nor a group" in r.output
