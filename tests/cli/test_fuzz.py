"""Property-based fuzz test of the input layer (issue 14, part 3).

Hypothesis generates catalogs, universes, price files and study files, each built
from valid pieces with broken ones mixed in (bad timestamps and dates far outside
pandas' range, duplicate keys, wrong TOML types, absurd windows, non-numeric and
non-finite prices, repeated headers, random text, binary garbage...). Each goes
through the CLI (``eventstudy run``, ``events validate`` and ``events days`` on
files in a temporary folder, with ``CliRunner``) and through the library
(``load_study``, ``load_events``, ``load_universe``, ``load_prices``, ``run_study``
and the ``*_from_frame`` functions). The only property: the outcome is a result
or a typed :class:`~eventstudy.errors.EventStudyError` (CLI: exit code 0 or 2,
never 1, never a traceback).

Deterministic (``derandomize=True``, no example database). Case count, for the
closing note: 50 study files + 50 catalogs + 40 universes + 50 price files + 40
whole studies through the CLI (each also through the library loaders), 40 whole
studies through ``run_study`` and 200 frames through ``*_from_frame``: **470
generated cases** (about 30 s on the 2-core test machine). Run with
``--hypothesis-show-statistics`` to see the counts per test.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import MINI_EVENTS_CSV, MINI_UNIVERSE_CSV, write_mini_study
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstudy.cli import cli
from eventstudy.errors import EventStudyError

FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# a small, fast valid study: the mini study with shorter windows and one test
STUDY_KEYS: dict[str, dict[str, str]] = {
    "study": {"name": '"fuzz"', "events": '"events.csv"',
              "universe": '"universe.csv"'},
    "windows": {"estimation": "[-60, -6]", "event": "[-3, 3]",
                "car": "[[0, 0], [-1, 1]]", "min_estimation_obs": "30"},
    "model": {"name": '"market"', "returns": '"simple"'},
    "tests": {"names": '["csect_t"]', "bootstrap_reps": "99", "seed": "1"},
    "conventions": {"profile": '"textbook"'},
    "confounding": {"action": '"flag"'},
    "execution": {"scheduler": '"local"', "workers": "1"},
}
# "dask" and "tcp://" are left out: they would start a cluster (tested elsewhere)
TOML_VALUES = [
    "2", "0", "-1", "1", "1.5", "-0.0", "true", "false", '"x"', '""', '"market"',
    '"log"', '"estudy2"', '"exclude"', '"sample"', '"bhar"', '"percent"', '"file"',
    '"events.csv"', '"universe.csv"', '"nope.csv"', '"csect_t"', '["csect_t"]',
    '["patell", "bmp"]', '["magic"]', "[]", "[1]", "[1, 2, 3]", "[-10, 10]",
    "[-60, -6]", "[-3, 3]", "[[0, 0]]", "[[-1, 1], [0, 3]]", "[[0, 99]]",
    "[-1000000000, -11]", "[-5, 100000000]", "[-20000, -11]", "[-3, 20000]",
    "[true, false]", "[1.5, 2]", '["a", "b"]', "{a = 1}", "{}", "1000000",
    "1000001", "9223372036854775807", "-9223372036854775808", "1979-05-27",
    "inf", "nan", '"\\u0000"', '"tcp"',
]


@st.composite
def study_toml(draw: st.DrawFn) -> str:
    """A study file: the valid one with keys replaced, dropped or added, sections
    turned into values, or plain random text."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.text(max_size=60))
    body = {s: dict(keys) for s, keys in STUDY_KEYS.items()}
    for _ in range(draw(st.integers(0, 4))):
        section = draw(st.sampled_from(sorted(body)))
        what = draw(st.integers(0, 9))
        if what == 0 and body[section]:
            body[section].pop(draw(st.sampled_from(sorted(body[section]))))
        elif what == 1:
            body[section][draw(st.sampled_from(["colour", "dimson_lags",
                                                "factors", "weights",
                                                "market_factor", "prices"]))] = \
                draw(st.sampled_from(TOML_VALUES))
        elif body[section]:
            key = draw(st.sampled_from(sorted(body[section])))
            body[section][key] = draw(st.sampled_from(TOML_VALUES))
    lines: list[str] = []
    if draw(st.integers(0, 14)) == 0:
        lines.append(f"{draw(st.sampled_from(sorted(body)))} = 3")
    for section, keys in body.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


GOOD_STAMPS = ["2024-09-16T10:00-04:00", "2024-10-15", "2024-08-01T21:30+09:00",
               "2024-11-29", "2024-07-04", "2024-06-15", "2024-12-31T23:59Z"]
BAD_STAMPS = ["9999-01-01", "2262-04-01", "1677-01-01", "1899-12-31", "2200-12-31",
              "2060-01-05", "1950-01-03", "", "garbage", "2024-10-15T10:00",
              "T19:12Z", "2024-02-30", "9999-09-16T10:00-04:00", "NaT", "nan",
              "2024-10-15T10:00+25:00", "2024-01-01T00:00Z"]
_TEXT = st.text(max_size=12)


def _csv(rows: list[list[str]], quoted: bool) -> str:
    if not quoted:
        return "".join(",".join(r) + "\n" for r in rows)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _mostly(draw: st.DrawFn, valid: st.SearchStrategy[Any],
            broken: st.SearchStrategy[Any], p_valid: int = 8) -> Any:
    """A valid piece with probability ``p_valid`` / 10, else a broken one."""
    return draw(valid) if draw(st.integers(0, 9)) < p_valid else draw(broken)


@st.composite
def catalog_csv(draw: st.DrawFn) -> str | bytes:
    choice = draw(st.integers(0, 24))
    if choice == 0:
        return draw(st.binary(max_size=120))
    if choice == 1:
        return draw(st.text(max_size=80))
    header = _mostly(draw, st.sampled_from([["event_id", "timestamp", "title",
                                             "groups"],
                                            ["event_id", "timestamp", "groups"],
                                            ["event_id", "timestamp", "ticker"]]),
                     st.sampled_from([["event_id", "timestamp", "groups", "groups"],
                                      ["id", "timestamp", "groups"],
                                      ["event_id", "groups"], []]))
    rows = [header] if header else []
    for i in range(draw(st.integers(0, 4))):
        row = []
        for col in header:
            if col == "event_id":
                row.append(_mostly(draw, st.just(f"E{i}"),
                                   st.sampled_from(["E0", ""]) | _TEXT, 9))
            elif col == "timestamp":
                row.append(_mostly(draw, st.sampled_from(GOOD_STAMPS),
                                   st.sampled_from(BAD_STAMPS) | _TEXT, 9))
            elif col == "groups":
                row.append(_mostly(draw, st.sampled_from(["g", "g;zz"]),
                                   st.sampled_from(["zz", "", ";"]) | _TEXT))
            elif col == "ticker":
                row.append(_mostly(draw, st.sampled_from(["AAA", "BBB"]),
                                   st.sampled_from(["MKT", "ZZZ", ""])))
            else:
                row.append(draw(_TEXT))
        rows.append(row)
    return _csv(rows, draw(st.booleans()))


@st.composite
def universe_csv(draw: st.DrawFn) -> str | bytes:
    choice = draw(st.integers(0, 24))
    if choice == 0:
        return draw(st.binary(max_size=120))
    if choice == 1:
        return draw(st.text(max_size=80))
    header = _mostly(draw, st.sampled_from([
        ["ticker", "name", "group", "calendar", "benchmark", "currency", "model"],
        ["ticker", "group", "calendar", "benchmark"]]),
        st.sampled_from([["ticker", "group", "calendar", "calendar"],
                         ["ticker", "group"], []]))
    rows = [header] if header else []
    for i in range(draw(st.integers(0, 3))):
        pick = {
            "ticker": _mostly(draw, st.just(("AAA", "BBB", "CCC")[i]),
                              st.sampled_from(["AAA", "", "MKT"]) | _TEXT, 9),
            "group": _mostly(draw, st.just("g"), st.sampled_from(["zz", ""]), 9),
            "calendar": _mostly(draw, st.sampled_from(["XNYS", "FX", "XTKS"]),
                                st.sampled_from(["XKRX", "NOPE", "", "xnys"])),
            "benchmark": _mostly(draw, st.just("MKT"),
                                 st.sampled_from(["", "AAA", "ZZZ"])),
            "model": _mostly(draw, st.sampled_from(["", "market", "constant_mean"]),
                             st.sampled_from(["capm", "dimson", "factor"])),
        }
        rows.append([pick[c] if c in pick else draw(_TEXT) for c in header])
    return _csv(rows, draw(st.booleans()))


BAD_DATES = ["9999-03-01", "2262-04-01", "2262-04-14", "1677-01-01", "10000-01-01",
             "2024-02-30", "", "soon", "2024-03-01T10:00+09:00",
             "2024-03-01 00:00:00-05:00", "1850-06-01", "2201-01-01"]
BAD_CLOSES = ["inf", "-inf", "0", "-3", "", "abc", "1e400", "nan", "1,5", "NaN",
              "1e-320", "Infinity", "0x10"]


@st.composite
def prices_csv(draw: st.DrawFn, base: list[list[str]]) -> str | bytes:
    choice = draw(st.integers(0, 24))
    if choice == 0:
        return draw(st.binary(max_size=200))
    if choice == 1:
        return draw(st.text(max_size=120))
    rows = [list(r) for r in base]
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(rows) - 1))
        what = draw(st.integers(0, 5))
        if what == 0:
            rows[i][0] = draw(st.sampled_from(BAD_DATES))
        elif what in (1, 2):
            rows[i][2] = draw(st.sampled_from(BAD_CLOSES))
        elif what == 3:
            rows.append(list(rows[i]))  # a duplicate (date, ticker)
        elif what == 4:
            rows[i][1] = draw(st.sampled_from(["", "ZZZ", "AAA "]))
        else:
            del rows[i: i + draw(st.integers(1, 200))]
            if not rows:
                rows = [list(base[0])]
    header = draw(st.sampled_from(
        [["date", "ticker", "close"]] * 6 + [["day", "ticker", "close"],
                                             ["date", "ticker"],
                                             ["date", "ticker", "close", "close"],
                                             []]))
    width = len(header) if header else 3
    body = [r[:width] + [""] * (width - len(r)) for r in rows]
    return _csv(([header] if header else []) + body, draw(st.booleans()))


# ---------------------------------------------------------------- the study on disk
def _base_prices() -> list[list[str]]:
    with tempfile.TemporaryDirectory() as d:
        ms = write_mini_study(Path(d) / "s")
        text = ms.prices.read_text(encoding="utf-8").splitlines()
    return [line.split(",") for line in text[1:]]


BASE_PRICES = _base_prices()
BASE_PRICES_CSV = "date,ticker,close\n" + "".join(",".join(r) + "\n"
                                                  for r in BASE_PRICES)
VALID_TOML = "\n".join(
    f"[{s}]\n" + "\n".join(f"{k} = {v}" for k, v in keys.items())
    for s, keys in STUDY_KEYS.items()) + "\n"


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")


def _study_dir(root: Path, toml: str | bytes = VALID_TOML,
               events: str | bytes = MINI_EVENTS_CSV,
               universe: str | bytes = MINI_UNIVERSE_CSV,
               prices: str | bytes = BASE_PRICES_CSV) -> Path:
    _write(root / "study.toml", toml)
    _write(root / "events.csv", events)
    _write(root / "universe.csv", universe)
    _write(root / "prices.csv", prices)
    return root


def _assert_clean(root: Path, *args: str) -> int:
    """Run the CLI; exit 0 or 2, never 1, never a traceback."""
    r = CliRunner().invoke(cli, list(args), prog_name="eventstudy")
    detail = (args, r.exit_code, r.output[-2000:], repr(r.exception))
    assert r.exit_code in (0, 2), detail
    assert r.exception is None or isinstance(r.exception, SystemExit), detail
    assert "Traceback" not in r.output, detail
    return r.exit_code


def _run_cli(root: Path) -> int:
    return _assert_clean(root, "run", str(root / "study.toml"), "--prices",
                         str(root / "prices.csv"), "--out", str(root / "out"), "-q")


def _library(root: Path) -> None:
    """Through the library: each loader gives a result or a typed error."""
    from eventstudy.config import load_study
    from eventstudy.inputs.events import load_events, load_universe
    from eventstudy.inputs.prices import load_prices

    for load, name in ((load_study, "study.toml"), (load_events, "events.csv"),
                       (load_universe, "universe.csv"), (load_prices, "prices.csv")):
        try:
            load(root / name)  # type: ignore[operator]
        except EventStudyError:
            pass


@settings(FUZZ, max_examples=50)
@given(toml=study_toml())
def test_fuzz_study_files(toml: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = _study_dir(Path(d), toml=toml)
        _run_cli(root)
        _library(root)


@settings(FUZZ, max_examples=50)
@given(events=catalog_csv())
def test_fuzz_catalogs(events: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = _study_dir(Path(d), events=events)
        _run_cli(root)
        _assert_clean(root, "events", "validate", str(root / "events.csv"),
                      "--seeds", str(root))
        _assert_clean(root, "events", "days", str(root / "events.csv"),
                      "--calendar", "XNYS", "--calendar", "FX")
        _library(root)


@settings(FUZZ, max_examples=40)
@given(universe=universe_csv())
def test_fuzz_universes(universe: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = _study_dir(Path(d), universe=universe)
        _run_cli(root)
        _assert_clean(root, "events", "validate", str(root / "events.csv"),
                      "--universe", str(root / "universe.csv"), "--seeds", str(root))
        _library(root)


@settings(FUZZ, max_examples=50)
@given(prices=prices_csv(BASE_PRICES))
def test_fuzz_price_files(prices: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = _study_dir(Path(d), prices=prices)
        _run_cli(root)
        _library(root)


@settings(FUZZ, max_examples=40)
@given(toml=study_toml(), events=catalog_csv(), universe=universe_csv(),
       prices=prices_csv(BASE_PRICES), keep=st.lists(st.integers(0, 2), min_size=4,
                                                     max_size=4))
def test_fuzz_whole_studies_library(toml: str, events: str | bytes,
                                    universe: str | bytes, prices: str | bytes,
                                    keep: list[int]) -> None:
    """Several files broken at once (each kept valid with probability 2/3),
    through :func:`eventstudy.workflows.run_study`: results or a typed error."""
    from eventstudy.workflows import run_study

    with tempfile.TemporaryDirectory() as d:
        root = _study_dir(Path(d), toml=VALID_TOML if keep[0] else toml,
                          events=MINI_EVENTS_CSV if keep[1] else events,
                          universe=MINI_UNIVERSE_CSV if keep[2] else universe,
                          prices=BASE_PRICES_CSV if keep[3] else prices)
        try:
            res, info = run_study(root / "study.toml", prices=root / "prices.csv")
        except EventStudyError:
            return
        assert len(res.car) > 0 and isinstance(info["warnings"], list)


@settings(FUZZ, max_examples=40)
@given(toml=study_toml(), events=catalog_csv(), universe=universe_csv(),
       prices=prices_csv(BASE_PRICES), keep=st.lists(st.booleans(), min_size=4,
                                                     max_size=4))
def test_fuzz_whole_studies_cli(toml: str, events: str | bytes,
                                universe: str | bytes, prices: str | bytes,
                                keep: list[bool]) -> None:
    """Several files broken at once (each kept valid with probability 1/2),
    through ``eventstudy run``."""
    with tempfile.TemporaryDirectory() as d:
        root = _study_dir(Path(d), toml=VALID_TOML if keep[0] else toml,
                          events=MINI_EVENTS_CSV if keep[1] else events,
                          universe=MINI_UNIVERSE_CSV if keep[2] else universe,
                          prices=BASE_PRICES_CSV if keep[3] else prices)
        _run_cli(root)


# ---------------------------------------------------------------- frames
CELLS = st.one_of(st.none(), st.just(np.nan), st.just(pd.NaT), st.integers(-5, 5),
                  st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                  st.sampled_from(GOOD_STAMPS + BAD_STAMPS + ["g", "AAA", "XNYS",
                                                              "MKT", "FX"]),
                  st.sampled_from([pd.Timestamp("2024-01-02"),
                                   pd.Timestamp("2024-01-02 10:00", tz="Asia/Tokyo"),
                                   np.datetime64("3000-01-01", "s"),
                                   pd.Timestamp("2250-01-01")]),
                  st.lists(st.integers(), max_size=2))
COLUMN_NAMES = ["event_id", "timestamp", "groups", "ticker", "group", "calendar",
                "benchmark", "date", "close", "A", "model", 0]


@st.composite
def frames(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 14)) == 0:
        return draw(st.sampled_from([None, 5, "x", [1, 2], {"a": [1]}]))
    names = draw(st.lists(st.sampled_from(COLUMN_NAMES), max_size=5))
    n = draw(st.integers(0, 4))
    data = {i: [draw(CELLS) for _ in range(n)] for i in range(len(names))}
    df = pd.DataFrame(data)
    df.columns = pd.Index(names, dtype=object) if names else df.columns
    index_kind = draw(st.integers(0, 4))
    if index_kind == 0 and n:
        df.index = pd.DatetimeIndex(
            pd.bdate_range("2024-01-01", periods=n), name="date")
    elif index_kind == 1 and n:
        df.index = pd.DatetimeIndex(pd.bdate_range("2024-01-01", periods=n,
                                                   tz="Asia/Tokyo"), name="date")
    elif index_kind == 2 and names:
        df.columns = pd.MultiIndex.from_tuples([("x", str(c)) for c in names])
    return df


@settings(FUZZ, max_examples=200)
@given(df=frames(), which=st.integers(0, 2))
def test_fuzz_library_frames(df: Any, which: int) -> None:
    from eventstudy.inputs.events import events_from_frame, universe_from_frame
    from eventstudy.inputs.prices import prices_from_frame

    call = (events_from_frame, universe_from_frame, prices_from_frame)[which]
    try:
        out = call(df)
    except EventStudyError:
        return
    assert isinstance(out, pd.DataFrame)


def test_the_valid_study_runs() -> None:
    """The fuzzers' base study is valid: a fuzz case that fails is the breakage."""
    with tempfile.TemporaryDirectory() as d:
        assert _run_cli(_study_dir(Path(d))) == 0


@pytest.mark.parametrize("strategy", [study_toml(), catalog_csv(), universe_csv(),
                                      prices_csv(BASE_PRICES), frames()])
def test_strategies_draw(strategy: st.SearchStrategy[Any]) -> None:
    """Each strategy is usable (hypothesis checks the strategy definitions)."""
    strategy.validate()
