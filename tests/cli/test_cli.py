"""The command line: help everywhere, fast start, clean errors (exit 2, the file and
row named, no traceback), ``events validate`` and ``events days``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from conftest import DAY0_TABLE as _DAY0_CONFTEST
from conftest import EVENTS_DIR, SEEDS_DIR, MiniStudy

from eventstudy.cli import cli
from eventstudy.inputs.calendar import SESSION_TABLE_CALENDARS, session_table

# conftest's table and E10 (issue #17), from events-verified.md's summary table
DAY0_TABLE = {**_DAY0_CONFTEST,
              "E10_KR_GYEONGJU": {"XTKS": "2025-10-30", "XKRX": "2025-10-30",
                                  "XNYS": "2025-10-29", "FX": "2025-10-29"}}
HEAVY = ("pandas", "numpy", "yfinance", "statsmodels")
OUTPUTS = ("abnormal_returns.csv", "car.csv", "tests.csv", "excluded.csv",
           "diagnostics.csv", "summary.md", "run.json")


def _walk(cmd: click.Command, path: tuple[str, ...] = ()
          ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            yield from _walk(cmd.commands[name], path + (name,))


COMMANDS = [path for path, _ in _walk(cli)]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="eventstudy")


# ---------------------------------------------------------------- help
def test_command_tree_has_the_documented_commands() -> None:
    names = {" ".join(p) for p in COMMANDS}
    assert {"run", "events", "events validate", "events days", "events extract",
            "report"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "eventstudy"
                                                for p in COMMANDS])
def test_help_for_every_command(path: tuple[str, ...]) -> None:
    for flag in ("--help", "-h"):
        r = invoke(*path, flag)
        assert r.exit_code == 0, r.output
        assert "Usage: eventstudy" in r.output
        assert " ".join(path) in r.output
    cmd = dict(_walk(cli))[path]
    if cmd.help:
        first = cmd.help.strip().splitlines()[0]
        assert first.split()[0] in r.output


def test_version() -> None:
    r = invoke("--version")
    assert r.exit_code == 0 and re.search(r"\d+\.\d+", r.output)


_IMPORT_PROBE = """
import json, sys
from eventstudy.cli import cli  # main() would end the process (os._exit)
argv_list = json.loads(sys.argv[1])
heavy = json.loads(sys.argv[2])
report = []
for argv in argv_list:
    sys.argv = ["eventstudy", *argv]
    try:
        cli(prog_name="eventstudy")
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    report.append({"argv": argv, "code": code,
                   "heavy": [m for m in heavy if m in sys.modules]})
sys.stdout = sys.__stdout__
print("@@" + json.dumps(report))
"""


def _probe(argvs: list[list[str]]) -> list[dict]:
    out = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, json.dumps(argvs),
                          json.dumps(HEAVY)],
                         capture_output=True, text=True, timeout=120, check=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("@@")][-1]
    return json.loads(line[2:])


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"]],
                         ids=["eventstudy --help", "eventstudy run --help"])
def test_help_does_not_import_heavy_modules(argv: list[str]) -> None:
    (rep,) = _probe([argv])
    assert rep["code"] == 0
    assert rep["heavy"] == []


def test_probe_detects_heavy_imports() -> None:
    """The probe itself works: a real command does import pandas."""
    (rep,) = _probe([["events", "days", str(CATALOG), "--calendar", "XNYS"]])
    assert rep["code"] == 0 and "pandas" in rep["heavy"]


def test_seed_run_imports_only_what_it_needs(tmp_path: Path) -> None:
    """The seed study's run (returns, volatility, volume; 209 pairs) takes its
    p-values from scipy.special, not scipy.stats (0.4 s of imports), and needs
    neither statsmodels, matplotlib nor the compiled kernels of large studies; its
    exchanges' sessions come from the bundled tables (no pandas-market-calendars)
    when those were computed with the installed calendar libraries."""
    study = Path(__file__).resolve().parents[2] / "events" / "japan_us_investment.toml"
    heavy = ["scipy.stats", "statsmodels", "matplotlib", "numba", "pandas"]
    if all(session_table(n) is not None for n in SESSION_TABLE_CALENDARS):
        heavy.append("pandas_market_calendars")
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE,
         json.dumps([["run", str(study), "--out", str(tmp_path / "out"), "-q",
                      "--offline"]]),
         json.dumps(heavy)],
        capture_output=True, text=True, timeout=300, check=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("@@")][-1]
    (rep,) = json.loads(line[2:])
    assert rep["code"] == 0, out.stderr[-2000:]
    assert rep["heavy"] == ["pandas"]  # the probe sees what is imported


def test_no_help_imports_heavy_modules() -> None:
    """All commands' --help in one process: none pulls in pandas & co."""
    reps = _probe([[*p, "--help"] for p in COMMANDS])
    for rep in reps:
        assert rep["code"] == 0, rep
        assert rep["heavy"] == [], rep


# ---------------------------------------------------------------- run
def test_run_mini_study(mini_study: MiniStudy, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = invoke("run", mini_study.study, "--prices", mini_study.prices, "--out", out,
               "-q")
    assert r.exit_code == 0, r.output
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    info = json.loads((out / "run.json").read_text())
    assert info["parameters"]["model"]["name"] == "market"
    assert info["counts"]["pairs"] == 4


def test_run_overrides_model_and_tests(mini_study: MiniStudy, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = invoke("run", mini_study.study, "--prices", mini_study.prices, "--out", out,
               "--model", "constant_mean", "--tests", "csect_t,bmp", "-q")
    assert r.exit_code == 0, r.output
    info = json.loads((out / "run.json").read_text())
    assert info["parameters"]["model"]["name"] == "constant_mean"
    assert info["parameters"]["tests"] == ["csect_t", "bmp"]


def test_run_prints_a_summary(mini_study: MiniStudy, tmp_path: Path) -> None:
    r = invoke("run", mini_study.study, "--prices", mini_study.prices, "--out",
               tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "wrote 8 files" in r.output


# ---------------------------------------------------------------- bad input
def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, path)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _set_price(path: Path, data_row: int, value: str) -> None:
    lines = path.read_text().splitlines()
    cells = lines[data_row].split(",")  # data row k is file line k + 1
    cells[2] = value
    lines[data_row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


BadCase = tuple[str, Callable[[MiniStudy], list[str]], list[str]]


def _run_args(ms: MiniStudy, study: Path | None = None,
              prices: Path | None = None) -> list[str]:
    return ["run", str(study or ms.study), "--prices", str(prices or ms.prices),
            "--out", str(ms.root / "out"), "-q"]


def _missing_study(ms: MiniStudy) -> list[str]:
    return _run_args(ms, study=ms.root / "nope.toml")


def _broken_toml(ms: MiniStudy) -> list[str]:
    ms.study.write_text('[study\nevents = "events.csv"\n')
    return _run_args(ms)


def _unknown_section(ms: MiniStudy) -> list[str]:
    ms.study.write_text(ms.study.read_text() + "\n[plots]\nwidth = 3\n")
    return _run_args(ms)


def _unknown_key(ms: MiniStudy) -> list[str]:
    _edit(ms.study, 'name = "market"', 'name = "market"\ncolour = "red"')
    return _run_args(ms)


def _unknown_model(ms: MiniStudy) -> list[str]:
    _edit(ms.study, 'name = "market"', 'name = "capm"')
    return _run_args(ms)


def _unknown_test(ms: MiniStudy) -> list[str]:
    _edit(ms.study, '"bmp"]', '"bmp", "magic_t"]')
    return _run_args(ms)


def _unknown_test_option(ms: MiniStudy) -> list[str]:
    return _run_args(ms) + ["--tests", "csect_t,magic_t"]


def _bad_timestamp(ms: MiniStudy) -> list[str]:
    _edit(ms.events, "2024-10-15,", "2024-10-15T25:99+00:00,")
    return _run_args(ms)


def _duplicate_id(ms: MiniStudy) -> list[str]:
    _edit(ms.events, "E2,", "E1,")
    return _run_args(ms)


def _no_offset(ms: MiniStudy) -> list[str]:
    _edit(ms.events, "2024-09-16T10:00-04:00", "2024-09-16T10:00")
    return _run_args(ms)


def _empty_prices(ms: MiniStudy) -> list[str]:
    ms.prices.write_text("")
    return _run_args(ms)


def _header_only_prices(ms: MiniStudy) -> list[str]:
    ms.prices.write_text("date,ticker,close\n")
    return _run_args(ms)


def _non_numeric_price(ms: MiniStudy) -> list[str]:
    _set_price(ms.prices, 7, "12,5")  # "12,5" splits into two cells: use a word
    return _run_args(ms)


def _non_numeric_price_word(ms: MiniStudy) -> list[str]:
    _set_price(ms.prices, 7, "n/a-price")
    return _run_args(ms)


def _no_date_column(ms: MiniStudy) -> list[str]:
    _edit(ms.prices, "date,ticker,close", "day,ticker,close")
    return _run_args(ms)


def _missing_prices(ms: MiniStudy) -> list[str]:
    return _run_args(ms, prices=ms.root / "no_prices.csv")


def _missing_events(ms: MiniStudy) -> list[str]:
    _edit(ms.study, 'events = "events.csv"', 'events = "gone.csv"')
    return _run_args(ms)


def _reversed_window(ms: MiniStudy) -> list[str]:
    _edit(ms.study, "estimation = [-120, -11]", "estimation = [-11, -120]")
    return _run_args(ms)


def _overlap(ms: MiniStudy) -> list[str]:
    _edit(ms.study, "estimation = [-120, -11]", "estimation = [-120, -3]")
    return _run_args(ms)


def _car_outside(ms: MiniStudy) -> list[str]:
    _edit(ms.study, "car = [[0, 0], [-1, 1]]", "car = [[0, 0], [-1, 8]]")
    return _run_args(ms)


def _min_obs_too_large(ms: MiniStudy) -> list[str]:
    _edit(ms.study, "min_estimation_obs = 60", "min_estimation_obs = 500")
    return _run_args(ms)


def _min_obs_not_int(ms: MiniStudy) -> list[str]:
    _edit(ms.study, "min_estimation_obs = 60", 'min_estimation_obs = "sixty"')
    return _run_args(ms)


def _universe_unknown_model(ms: MiniStudy) -> list[str]:
    _edit(ms.universe, "BBB,Beta,g,XNYS,MKT,USD,", "BBB,Beta,g,XNYS,MKT,USD,capm")
    return _run_args(ms)


BAD_INPUTS: list[BadCase] = [
    ("missing_study_file", _missing_study, ["nope.toml"]),
    ("broken_toml", _broken_toml, ["study.toml", "TOML"]),
    ("unknown_section", _unknown_section, ["study.toml", "[plots]"]),
    ("unknown_key", _unknown_key, ["study.toml", "colour"]),
    ("unknown_model", _unknown_model, ["study.toml", "capm"]),
    ("unknown_test", _unknown_test, ["study.toml", "magic_t"]),
    ("unknown_test_option", _unknown_test_option, ["magic_t"]),
    ("unparsable_timestamp", _bad_timestamp, ["events.csv", "line 3"]),
    ("duplicate_event_id", _duplicate_id, ["events.csv", "line 3", "duplicate"]),
    ("timestamp_without_offset", _no_offset, ["events.csv", "line 2",
                                              "time zone"]),
    ("empty_prices", _empty_prices, ["prices.csv", "empty"]),
    ("header_only_prices", _header_only_prices, ["prices.csv"]),
    ("non_numeric_price", _non_numeric_price_word, ["prices.csv", "row 7",
                                                    "n/a-price"]),
    ("prices_without_date_column", _no_date_column, ["prices.csv", "date"]),
    ("missing_prices_file", _missing_prices, ["no_prices.csv"]),
    ("missing_events_file", _missing_events, ["gone.csv"]),
    ("reversed_window", _reversed_window, ["study.toml", "reversed"]),
    ("estimation_overlaps_event", _overlap, ["study.toml", "overlaps"]),
    ("car_outside_event_window", _car_outside, ["study.toml", "[-1, 8]"]),
    ("min_obs_too_large", _min_obs_too_large, ["study.toml", "500"]),
    ("min_obs_not_integer", _min_obs_not_int, ["study.toml",
                                               "min_estimation_obs"]),
    ("universe_unknown_model", _universe_unknown_model, ["universe.csv", "line 3",
                                                         "capm"]),
]


@pytest.mark.parametrize("make,expected", [c[1:] for c in BAD_INPUTS],
                         ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_exit_2_names_the_file(mini_study: MiniStudy, make, expected
                                         ) -> None:
    args = make(mini_study)
    r = invoke(*args)
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    assert isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    for text in expected:
        assert text in r.output, (text, r.output)
    assert not (mini_study.root / "out").exists()


def test_non_numeric_price_with_comma_is_still_clean(mini_study: MiniStudy) -> None:
    """A decimal comma breaks the CSV layout: still exit 2 and the file named."""
    r = invoke(*_non_numeric_price(mini_study))
    assert r.exit_code == 2, r.output
    assert "prices.csv" in r.output and "Traceback" not in r.output


def test_unknown_model_option_is_a_usage_error(mini_study: MiniStudy) -> None:
    r = invoke(*_run_args(mini_study), "--model", "capm")
    assert r.exit_code == 2
    assert "capm" in r.output


# ---------------------------------------------------------------- events validate
CATALOG = EVENTS_DIR / "japan_us_investment.csv"


def test_validate_shipped_catalog() -> None:
    r = invoke("events", "validate", CATALOG)
    assert r.exit_code == 0, r.output
    assert "OK" in r.output


def _catalog_copy(tmp_path: Path) -> Path:
    d = tmp_path / "events"
    d.mkdir()
    shutil.copy(CATALOG, d / CATALOG.name)
    shutil.copy(EVENTS_DIR / "universe.csv", d / "universe.csv")
    return d / CATALOG.name


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


@pytest.mark.parametrize("event_id,old,new,message", [
    ("E05_JP_DEAL", "at his direction", "at her direction", "verbatim"),
    ("E06_EU_DEAL", "E06_EU_DEAL,", "E05_JP_DEAL,", "duplicate event_id"),
    ("E13_TRUMPRX", ",jp_pharma;us_adrs,002", ",jp_banks;us_adrs,002", "jp_banks"),
], ids=["altered_quote", "duplicate_id", "unknown_group"])
def test_validate_broken_copies(tmp_path: Path, event_id, old, new, message) -> None:
    cat = _catalog_copy(tmp_path)
    line = _line_of(cat, event_id + ",")
    _edit(cat, old, new)
    r = invoke("events", "validate", cat, "--seeds", SEEDS_DIR)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert cat.name in r.output
    assert f"line {line}:" in r.output
    assert message in r.output


def test_validate_copy_passes_unchanged(tmp_path: Path) -> None:
    cat = _catalog_copy(tmp_path)
    r = invoke("events", "validate", cat, "--seeds", SEEDS_DIR)
    assert r.exit_code == 0, r.output


def test_validate_missing_catalog(tmp_path: Path) -> None:
    r = invoke("events", "validate", tmp_path / "none.csv")
    assert r.exit_code == 2 and "none.csv" in r.output


# ---------------------------------------------------------------- events days
def test_events_days_prints_day0_per_calendar() -> None:
    r = invoke("events", "days", CATALOG)
    assert r.exit_code == 0, r.output
    got: dict[tuple[str, str], str] = {}
    for line in r.output.splitlines()[1:]:
        cells = line.split()
        if len(cells) >= 5:
            got[cells[0], cells[2]] = cells[3]
    for eid, days in DAY0_TABLE.items():
        for cal in ("XTKS", "XKRX", "XNYS", "FX"):
            assert got[eid, cal] == days[cal], (eid, cal)


def test_events_days_selected_calendar() -> None:
    r = invoke("events", "days", CATALOG, "--calendar", "XNYS")
    assert r.exit_code == 0, r.output
    rows = [ln.split() for ln in r.output.splitlines()[1:] if ln.strip()]
    assert {row[2] for row in rows} == {"XNYS"}
    assert len(rows) == len(DAY0_TABLE)


def test_events_days_bad_catalog(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("event_id,timestamp,groups\nA,2025-07-22T19:12,g\n")
    r = invoke("events", "days", bad)
    assert r.exit_code == 2
    assert "bad.csv" in r.output and "line 2" in r.output
    assert "Traceback" not in r.output


# ---------------------------------------------------------------- process exit
_MAIN = ("import atexit, sys; from pathlib import Path; m = Path(sys.argv.pop(1)); "
         "atexit.register(lambda: m.write_text('ran')); "
         "from eventstudy.cli import main; main()")


def test_main_ends_the_process_with_output_flushed_and_exit_handlers_run(
        tmp_path: Path) -> None:
    """main() skips the interpreter's teardown (os._exit) but not what it must do:
    block-buffered stdout (a file) is flushed, exit handlers run, the command's
    exit code is kept."""
    marker = tmp_path / "atexit-ran"
    out = tmp_path / "stdout.txt"
    with out.open("wb") as fh:  # a file: stdout is block-buffered, not line-buffered
        done = subprocess.run([sys.executable, "-c", _MAIN, str(marker), "--version"],
                              stdout=fh, stderr=subprocess.PIPE, timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"eventstudy, version \d+\.\d+", out.read_text())
    assert marker.read_text() == "ran"


def test_main_keeps_the_error_exit_code(tmp_path: Path) -> None:
    marker = tmp_path / "atexit-ran"
    done = subprocess.run([sys.executable, "-c", _MAIN, str(marker), "run",
                           str(tmp_path / "missing.toml"), "--out",
                           str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "missing.toml" in done.stderr and "Traceback" not in done.stderr
    assert marker.read_text() == "ran"


_HUGEPAGES = (
    "import atexit, os, sys; from pathlib import Path; m = Path(sys.argv.pop(1)); "
    "atexit.register(lambda: m.write_text("
    "os.environ.get('NUMPY_MADVISE_HUGEPAGE', '?') + ' ' + str(int("
    "__import__('numpy')._core.multiarray._get_madvise_hugepage())))); "
    "from eventstudy.cli import main; main()")


@pytest.mark.parametrize(("given", "expected"), [(None, "0 0"), ("1", "1 1")])
def test_main_turns_numpy_hugepages_off_unless_asked(
        tmp_path: Path, given: str | None, expected: str) -> None:
    """The command runs with numpy's huge-page advice off (the compaction stalls of
    a fresh process); a NUMPY_MADVISE_HUGEPAGE the user set wins."""
    marker = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if given is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = given
    done = subprocess.run([sys.executable, "-c", _HUGEPAGES, str(marker), "events",
                           "days", str(CATALOG), "--calendar", "XNYS"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == expected
