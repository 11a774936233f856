"""The vectorised ``events.parse_timestamps`` against the former per-row parser.

``_per_row`` below is the parser as it was before vectorisation (one
``pd.Timestamp`` per value); the vectorised one must give the same instants, the
same date-only flags and the same problem messages (positions and texts), and raise
where the old one raised.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventstudy.errors import CatalogError
from eventstudy.inputs.events import events_from_frame, parse_timestamps

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HAS_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def _per_row(values: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The per-row parser before vectorisation (reference)."""
    n = len(values)
    inst = np.zeros(n, dtype=np.int64)
    date_only = np.zeros(n, dtype=bool)
    problems: list[str] = []
    # issue 14: an empty value and dates outside 1900-01-01..2200-12-31 (the local
    # date) are problems with their own message, never an exception
    lo, hi = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-12-31")
    for i, raw in enumerate(values.astype(str).str.strip()):
        out_of_range = (f"{i}|timestamp {raw!r} is outside the supported range "
                        "1900-01-01..2200-12-31; check the year")
        if raw == "":
            problems.append(f"{i}|empty timestamp; write ISO 8601 with a UTC offset "
                            "(2025-07-22T19:12-04:00) or a plain date (2025-07-22)")
            continue
        if _DATE_ONLY.match(raw):
            try:
                day = pd.Timestamp(raw)
            except ValueError:
                problems.append(f"{i}|timestamp {raw!r} is not a valid date")
                continue
            if not lo <= day <= hi:
                problems.append(out_of_range)
                continue
            inst[i] = day.as_unit("ns").value
            date_only[i] = True
            continue
        try:
            ts = pd.Timestamp(raw)
        except (ValueError, TypeError):
            ts = pd.NaT
        if pd.isna(ts):
            problems.append(
                f"{i}|timestamp {raw!r} does not parse; write ISO 8601 with a UTC "
                "offset (2025-07-22T19:12-04:00) or a plain date (2025-07-22)")
            continue
        if ts.tzinfo is None or not _HAS_OFFSET.search(raw):
            problems.append(
                f"{i}|timestamp {raw!r} gives a time but no time zone; add the UTC "
                "offset (e.g. -04:00) or give the date alone")
            continue
        if not lo <= pd.Timestamp(ts.date()) <= hi:
            problems.append(out_of_range)
            continue
        inst[i] = ts.tz_convert("UTC").as_unit("ns").value
    return inst, date_only, problems


VALID = [
    "2025-07-22", "1990-01-01", "2024-02-29", " 2025-07-22 ", "2025-07-22\n",
    "1900-01-01", "2200-12-31", "1950-03-01", "2199-12-31",
    "2025-07-22T19:12-04:00", "2025-07-22T19:12:00-04:00", "2025-07-22T19:12Z",
    "2025-07-22T19:12:05Z", "2025-07-22T19:12:05.5Z", "2025-07-22T19:12:05.123+09:00",
    "2025-07-22T19:12:05.123456789+09:00", "2025-07-22T19:12:05.123456-0400",
    "2025-07-22T19:12-0400", "2025-07-22T19:12+0900", "2025-07-22 19:12+09:00",
    "2025-07-22 19:12:59-05:30", "2025-07-22T00:00+14:00", "2025-07-22T23:59-14:00",
    "2025-07-22T23:59:59.999999999Z", "2025-12-31T23:30-01:00",
    "2024-02-29T12:00+00:00", "2025-01-01T00:00+05:45", "2025-07-22T19:12+00:00",
    "2025-07-22T19:12-00:00", "1900-01-02T00:00Z", "2200-12-30T23:00Z",
    # other layouts pandas reads (the per-value path)
    "2025-07-22T19:12 -04:00", "2025-07-22T19:12:05.1234567891Z",
    "2025-07-22T19:12:05,5Z", "2025-07-22T1912Z",
]
# times with an offset outside the nanosecond range (pandas reads a bare time as
# 0001-01-01): the parser raises, as it did before vectorisation
RAISING = ["T19:12Z", "19:12-04:00", "3000-01-01T00:00Z", "1600-06-01T12:00+09:00"]
INVALID = [
    "", " ", "garbage", "nan", "None", "2025-02-30", "2025-13-01", "2025-00-10",
    "2025-7-22", "25-07-22", "2025/07/22", "20250722", "July 22, 2025",
    "2025-07-22T19:12", "2025-07-22 19:12", "2025-07-22T19:12:05",
    "2025-07-22T19:12:05.123", "2025-07-22T25:00Z", "2025-07-22T24:00Z",
    "2025-07-22T19:60Z", "2025-07-22T19:12:61Z", "2025-02-30T10:00Z",
    "2025-07-22T19:12+2500", "2025-07-22T19:12-04", "2025-07-22T19:12 EST",
    "0001-01-01", "1600-01-01", "3000-01-01",
    "9999-12-31", "1677-09-20", "2262-04-12", "2025-07-22Z", "2025-07-22+09:00",
    "today", "now", "١٢٣٤-٠١-٠١",
    # outside the supported range 1900-01-01..2200-12-31 (issue 14)
    "1678-01-01", "2261-12-31", "1899-12-31", "2201-01-01", "2262-04-01",
    "1678-01-02T00:00Z", "2261-12-30T23:00Z", "2201-01-01T00:00+09:00",
    "2025-W30-2", "2025-07-22T19:12:05+09",
    "2025-07-22t19:12z",
    "2025-07-22T19:12:05.123456789+09:00x", "+2025-07-22",
]


def _assert_same(values: list[str]) -> None:
    """Same instants, flags and problems; or the same exception type."""
    s = pd.Series(values, dtype=object)
    try:
        want = _per_row(s)
    except (ValueError, TypeError, OverflowError) as exc:
        # e.g. "T19:12Z": pandas reads year 1 with an offset, out of the ns range
        with pytest.raises(type(exc)):
            parse_timestamps(s)
        return
    got = parse_timestamps(s)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2] == want[2]


@pytest.mark.parametrize("value", VALID + INVALID + RAISING)
def test_each_value_alone(value: str) -> None:
    _assert_same([value])


def test_valid_values_have_no_problems() -> None:
    _, _, probs = parse_timestamps(pd.Series(VALID))
    assert probs == []
    _, _, probs = parse_timestamps(pd.Series(INVALID))
    assert len(probs) == len(INVALID)


def test_mixed_batch_in_order() -> None:
    """Valid and invalid values interleaved: same positions, messages and values."""
    rng = np.random.default_rng(3)
    values = list(rng.permutation(np.array(VALID * 3 + INVALID * 2, dtype=object)))
    _assert_same(values)
    _, _, probs = parse_timestamps(pd.Series(values))
    assert len(probs) == 2 * len(INVALID)
    pos = [int(p.split("|", 1)[0]) for p in probs]
    assert pos == sorted(pos)


def test_series_index_is_ignored() -> None:
    """Positions (not index labels) number the problems, as before."""
    s = pd.Series(["2025-07-22", "bad", "2025-07-22T19:12"], index=[10, 5, 7])
    got = parse_timestamps(s)
    want = _per_row(s)
    assert got[2] == want[2] == [
        "1|timestamp 'bad' does not parse; write ISO 8601 with a UTC offset "
        "(2025-07-22T19:12-04:00) or a plain date (2025-07-22)",
        "2|timestamp '2025-07-22T19:12' gives a time but no time zone; add the UTC "
        "offset (e.g. -04:00) or give the date alone"]
    np.testing.assert_array_equal(got[0], want[0])


def test_str_dtype_and_non_strings() -> None:
    _assert_same(pd.Series(VALID + INVALID, dtype="str").tolist())
    s = pd.Series([20250722, 3.5, "2025-07-22"], dtype=object)
    got, want = parse_timestamps(s), _per_row(s)
    assert got[2] == want[2]
    np.testing.assert_array_equal(got[0], want[0])


def test_out_of_range_is_a_problem_not_an_exception() -> None:
    """Beyond the supported range (even beyond pandas' nanosecond range, with an
    offset): a problem naming the value, never an exception (issue 14)."""
    s = pd.Series(["2025-07-22", "3000-01-01T00:00Z", "9999-01-01"])
    _, _, probs = parse_timestamps(s)
    assert probs == [
        "1|timestamp '3000-01-01T00:00Z' is outside the supported range "
        "1900-01-01..2200-12-31; check the year",
        "2|timestamp '9999-01-01' is outside the supported range "
        "1900-01-01..2200-12-31; check the year"]
    assert probs == _per_row(s)[2]


def test_fast_path_covers_iso_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dates and ISO 8601 times with an offset never reach the per-value parser."""
    import eventstudy.inputs.events as ev

    calls: list[str] = []
    one = ev._parse_one

    def counting(raw: str) -> tuple[int, bool, str]:
        calls.append(raw)
        return one(raw)

    monkeypatch.setattr(ev, "_parse_one", counting)
    fast = VALID[:VALID.index("2025-07-22T19:12 -04:00")]
    inst, _, probs = parse_timestamps(pd.Series(fast * 50))
    assert calls == [] and probs == []
    parse_timestamps(pd.Series(["2025-07-22", "bad"]))
    assert calls == ["bad"]


def test_empty() -> None:
    inst, donly, probs = parse_timestamps(pd.Series([], dtype=object))
    assert inst.shape == (0,) and donly.shape == (0,) and probs == []


def test_large_catalog_matches() -> None:
    """10,000 generated stamps (dates, offsets Z/+hh:mm/-hhmm, a few bad ones)."""
    rng = np.random.default_rng(11)
    n = 10_000
    days = pd.Timestamp("1990-01-01") + pd.to_timedelta(rng.integers(0, 15000, n),
                                                        unit="D")
    secs = rng.integers(0, 86400, n)
    kind = rng.integers(0, 6, n)
    offs = ["Z", "+09:00", "-0400", "+05:30", "-00:00"]
    vals = []
    for d, s, k in zip(days, secs, kind, strict=True):
        base = d.strftime("%Y-%m-%d")
        hh, mm, ss = s // 3600, s // 60 % 60, s % 60
        if k == 0:
            vals.append(base)
        elif k == 5:
            vals.append(f"{base}T{hh:02d}:{mm:02d}")  # no offset: a problem
        else:
            vals.append(f"{base}T{hh:02d}:{mm:02d}:{ss:02d}{offs[k - 1]}")
    vals[17] = "2025-02-30"
    vals[4242] = "garbage"
    _assert_same(vals)


_DIG = st.text(alphabet="0123456789", min_size=1, max_size=4)


@st.composite
def _stamps(draw: st.DrawFn) -> str:
    """ISO-like strings, often valid, sometimes slightly off."""
    y = draw(st.integers(1600, 2400))
    mo = draw(st.integers(0, 13))
    d = draw(st.integers(0, 32))
    out = f"{y:04d}-{mo:02d}-{d:02d}"
    if draw(st.booleans()):
        out += draw(st.sampled_from(["T", " ", "t"]))
        out += f"{draw(st.integers(0, 25)):02d}:{draw(st.integers(0, 61)):02d}"
        if draw(st.booleans()):
            out += f":{draw(st.integers(0, 61)):02d}"
            if draw(st.booleans()):
                out += "." + draw(_DIG)
        off = draw(st.sampled_from(["", "Z", "z", "+", "-", "+h", "-h"]))
        if off in ("+", "-"):
            off += (f"{draw(st.integers(0, 26)):02d}"
                    + draw(st.sampled_from([":", ""]))
                    + f"{draw(st.integers(0, 61)):02d}")
        elif off in ("+h", "-h"):
            off = off[0] + f"{draw(st.integers(0, 26)):02d}"
        out += off
    if draw(st.integers(0, 9)) == 0:
        out = draw(st.sampled_from([" ", "", "x"])) + out
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(_stamps(), min_size=1, max_size=20))
def test_generated_iso_like(values: list[str]) -> None:
    _assert_same(values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=string.printable, max_size=25), min_size=1,
                max_size=10))
def test_generated_garbage(values: list[str]) -> None:
    _assert_same(values)


def test_catalog_messages_keep_line_numbers() -> None:
    """events_from_frame: file line numbers (header = line 1) and sorted messages."""
    df = pd.DataFrame({"event_id": ["a", "b", "c", "d"],
                       "timestamp": ["2025-07-22", "2025-07-22T19:12",
                                     "2025-07-22T19:12+09:00", "nope"],
                       "ticker": ["X", "X", "X", "X"]})
    with pytest.raises(CatalogError) as exc:
        events_from_frame(df)
    assert exc.value.problems == [
        "line 3: timestamp '2025-07-22T19:12' gives a time but no time zone; add the "
        "UTC offset (e.g. -04:00) or give the date alone",
        "line 5: timestamp 'nope' does not parse; write ISO 8601 with a UTC offset "
        "(2025-07-22T19:12-04:00) or a plain date (2025-07-22)"]


# ------------------------------------------------------------------ runner: parse once
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def _ticker_study(tmp: Path, universe: bool) -> Path:
    """A small ticker-layout study (with an optional universe) on synthetic prices."""
    rng = np.random.default_rng(5)
    dates = pd.bdate_range("2022-01-03", periods=400)
    cols = {"MKT": 100 * np.cumprod(1 + rng.normal(0, 0.01, len(dates)))}
    for t in ("A", "B", "C", "IDX2"):
        cols[t] = 50 * np.cumprod(1 + rng.normal(0, 0.012, len(dates)))
    pd.DataFrame(cols, index=pd.Index(dates, name="date")).to_csv(tmp / "p.csv")
    pd.DataFrame({"event_id": ["e1", "e2", "e3", "e4"],
                  "timestamp": ["2023-03-01", "2023-04-03T15:00-04:00",
                                "2023-05-01", "2023-06-01"],
                  "ticker": ["B", "A", "B", "C"],
                  "benchmark": ["", "IDX2", "MKT", ""]}).to_csv(tmp / "ev.csv",
                                                             index=False)
    uni = ""
    if universe:
        pd.DataFrame({"ticker": ["C", "A"], "group": ["g1", "g2"],
                      "calendar": ["XNYS", "XNYS"],
                      "benchmark": ["MKT", ""]}).to_csv(tmp / "u.csv", index=False)
        uni = "u.csv"
    f = tmp / "s.toml"
    f.write_text(f'[study]\nevents = "ev.csv"\nuniverse = "{uni}"\n'
                 "[windows]\nestimation = [-150, -11]\nevent = [-3, 3]\n"
                 "car = [[0, 0], [-1, 1]]\nmin_estimation_obs = 60\n"
                 '[tests]\nnames = ["csect_t"]\n[data]\nsource = "file"\n'
                 'prices = "p.csv"\n')
    return f


@pytest.mark.parametrize("universe", [False, True])
def test_runner_tickers_match_prices_study_tickers(
        tmp_path: Path, universe: bool) -> None:
    from eventstudy.inputs.sources import plan_study, read_catalog
    from eventstudy.workflows import prepare_study

    st_ = prepare_study(_ticker_study(tmp_path, universe))
    expected = (("C", "A", "MKT") if universe else ()) + ("B", "A", "C", "IDX2", "MKT")
    assert plan_study(st_, *read_catalog(st_)).tickers == tuple(
        dict.fromkeys(expected))


def test_runner_tickers_match_on_seed_study() -> None:
    from eventstudy.inputs.events import load_universe
    from eventstudy.inputs.sources import plan_study, read_catalog
    from eventstudy.workflows import prepare_study

    st_ = prepare_study(EVENTS_DIR / "japan_us_investment.toml")
    u = load_universe(st_.universe)
    expected = list(u["ticker"]) + [b for b in u["benchmark"] if b]
    assert plan_study(st_, *read_catalog(st_)).tickers == tuple(
        dict.fromkeys(expected))


def test_run_study_reads_the_catalog_once(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """One read of the events and universe files per run; same outputs as
    EventStudy.from_study."""
    import eventstudy.inputs.events as ev
    from eventstudy.study import EventStudy
    from eventstudy.workflows import prepare_study, run_study

    study = _ticker_study(tmp_path, universe=True)
    calls: list[str] = []
    orig = ev._read_csv  # every catalog and universe file is read through it
    parse = ev.parse_timestamps  # and every catalog is validated through it

    def counted(path: object, what: str) -> object:
        calls.append(what)
        return orig(path, what)  # type: ignore[arg-type]

    def parsed(values: pd.Series) -> object:
        calls.append("parse_timestamps")
        return parse(values)

    monkeypatch.setattr(ev, "_read_csv", counted)
    monkeypatch.setattr(ev, "parse_timestamps", parsed)
    res, info = run_study(study, prices=tmp_path / "p.csv", out_dir=tmp_path / "o")
    # read once and validated once (the workflow hands the parsed catalog to
    # EventStudy.from_study, which does not validate it again)
    assert sorted(calls) == ["event catalog", "parse_timestamps", "universe"], calls
    assert len(info["files"]) == 8  # the tables, events.csv, summary.md, run.json
    monkeypatch.undo()
    from eventstudy.inputs.prices import load_prices

    st_ = prepare_study(study)
    ref = EventStudy.from_study(st_, load_prices(tmp_path / "p.csv")).fit(
        tests=st_.tests, conventions=st_.conventions)
    pd.testing.assert_frame_equal(res.car, ref.car)
    pd.testing.assert_frame_equal(res.tests, ref.tests)
    pd.testing.assert_frame_equal(res.excluded, ref.excluded)
