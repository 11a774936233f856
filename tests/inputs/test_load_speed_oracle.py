"""Oracle tests for the load-stage speed rewrites of issue #20 (session 6, brief L):
``events.read_text_table`` (plain CSVs through pyarrow), ``events.parse_timestamps``
(each distinct value parsed once), the duplicate-name checks (one pass, not
``list.count``) and ``prices.load_price_table``'s Parquet fast path must give the
frames, errors and messages of the code they replaced.

The oracles below are the OLD implementations, copied from ``git show
bbd4041:<path>`` (renamed with a leading ``_old_``); they are private to this file
and must not be "fixed".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from eventstudy.errors import CatalogError, EventStudyError, InputError, PriceDataError
from eventstudy.inputs.events import (
    _FAST_DATE,
    _FAST_TIMED,
    _FAST_YEARS,
    _parse_one,
    events_from_frame,
    load_events,
    parse_timestamps,
    read_text_table,
    repeated,
)
from eventstudy.inputs.prices import (
    _read_wide_parquet,
    load_price_table,
    opens_from_frame,
    prices_from_frame,
)
from eventstudy.inputs.sources.base import _date_range, study_tickers


# ------------------------------------------------------------------ the oracles
# bbd4041:eventstudy/inputs/events.py, _read_csv: the table itself was read by
def _old_read_text_table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# bbd4041:eventstudy/inputs/events.py, _read_csv / _require_frame and
# prices.py, _check_csv_header / prices_from_frame: the duplicate names were
def _old_repeated(names: list[str]) -> list[str]:
    return sorted({h for h in names if names.count(h) > 1})


# Verbatim from bbd4041:eventstudy/inputs/events.py (parse_timestamps, body).
def _old_parse_timestamps(values: pd.Series
                          ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    n = len(values)
    inst = np.zeros(n, dtype=np.int64)
    date_only = np.zeros(n, dtype=bool)
    raw = values.astype(str).str.strip().reset_index(drop=True)
    done = np.zeros(n, dtype=bool)
    for pattern, timed in ((_FAST_DATE, False), (_FAST_TIMED, True)):
        m = raw.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool) & ~done
        if not m.any():
            continue
        sel = raw[m]
        year = sel.str.slice(0, 4).astype(np.int64).to_numpy()
        if timed:
            parsed = pd.to_datetime(sel, format="ISO8601", utc=True, errors="coerce")
        else:
            parsed = pd.to_datetime(sel, format="%Y-%m-%d", errors="coerce")
        idx = pd.DatetimeIndex(parsed)
        ok = (np.asarray(idx.notna(), dtype=bool) & (year >= _FAST_YEARS[0])
              & (year <= _FAST_YEARS[1]))
        rows = np.flatnonzero(m)[ok]
        inst[rows] = idx[ok].as_unit("ns").asi8
        date_only[rows] = not timed
        done[rows] = True
    problems: list[str] = []
    for i in np.flatnonzero(~done):
        v, d, msg = _parse_one(raw.iloc[i])
        inst[i] = v
        date_only[i] = d
        if msg:
            problems.append(f"{i}|{msg}")
    return inst, date_only, problems


# ------------------------------------------------------------------ helpers
def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """("ok", result) or ("raised", (type name, message))."""
    try:
        return "ok", fn(*args)
    except Exception as exc:  # noqa: BLE001 - the oracle's failure is compared
        return "raised", (type(exc).__name__, str(exc))


def _same_frame(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a.columns) == list(b.columns)
    assert a.dtypes.tolist() == b.dtypes.tolist()
    assert type(a.index) is type(b.index)


# ------------------------------------------------------------------ CSV text tables
CSV_CASES: dict[str, bytes] = {
    "plain": b"event_id,timestamp,ticker\nE1,2024-01-02,A\nE2,2024-01-03,B\n",
    "no final newline": b"a,b\n1,2\n3,4",
    "header only": b"a,b\n",
    "header only, no newline": b"a,b",
    "blank lines": b"a,b\n1,2\n\n\n3,4\n\n",
    "crlf": b"a,b\r\n1,2\r\n3,4\r\n",
    "lone cr": b"a,b\r1,2\r3,4\r",
    "mixed cr": b"a,b\r\n1,2\r3,4\n",
    "bom": b"\xef\xbb\xbfa,b\n1,2\n",
    "bom crlf": b"\xef\xbb\xbfa,b\r\n1,2\r\n",
    "spaces kept": b" a , b \n 1 , 2 \n",
    "empty cells": b"a,b,c\n,,\n1,,\n",
    "quoted": b'a,b\n"1,5",2\n"x""y",3\n',
    "quoted newline": b'a,b\n"1\n5",2\n',
    "short row": b"a,b,c\n1,2\n3,4,5\n",
    "long row": b"a,b\n1,2,3\n",
    "all rows long (index)": b"a,b\n1,2,3\n4,5,6\n",
    "whitespace line": b"a,b\n1,2\n   \n3,4\n",
    "duplicate header": b"a,a\n1,2\n",
    "duplicate after strip": b"a, a\n1,2\n",
    "empty header name": b",a\n1,2\n",
    "blank header name": b" ,a\n1,2\n",
    "trailing comma": b"a,b,\n1,2,\n",
    "nan words": b"a,b\nNA,nan\nNULL,None\n#N/A,-nan\n",
    "numbers": b"a,b\n007,1e5\n-0,0x1F\n",
    "unicode": "a,b\n\u00e9t\u00e9,\u65e5\u672c\n".encode(),
    "latin-1": b"a,b\n\xe9t\xe9,x\n",
    "latin-1 header": b"\xe9,b\n1,2\n",
    "nul": b"a,b\n1\x00,2\n",
    "empty file": b"",
    "only newline": b"\n",
    "one column": b"a\n1\n\n2\n",
    "hash": b"a,b\n#1,2\n",
    "tabs": b"a\tb,c\n1\t2,3\n",
    "single quote": b"a,b\nit's,x\n",
    "many columns": (",".join(f"c{i}" for i in range(300)) + "\n"
                     + ",".join(str(i) for i in range(300)) + "\n").encode(),
}


@pytest.mark.parametrize("name", sorted(CSV_CASES))
@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_read_text_table_is_pandas_read_csv(tmp_path: Path, name: str,
                                            suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    path.write_bytes(CSV_CASES[name])
    old, new = _outcome(_old_read_text_table, path), _outcome(read_text_table, path)
    assert old[0] == new[0], (old, new)
    if old[0] == "ok":
        _same_frame(new[1], old[1])
        for c in new[1].columns:  # the same Arrow-backed text column
            assert str(new[1][c].dtype) == str(old[1][c].dtype) == "str"
    else:
        assert new[1] == old[1]


def test_read_text_table_gz_goes_through_pandas(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "e.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    _same_frame(read_text_table(path), _old_read_text_table(path))
    assert read_text_table(path)["b"].tolist() == ["2"]


def test_repeated_is_the_old_count() -> None:
    cases = [[], ["a"], ["a", "a"], ["b", "a", "b", "c", "a", "b"], ["", "", "x"],
             [f"S{i % 700}" for i in range(2000)]]
    for names in cases:
        assert repeated(names) == _old_repeated(names)
    assert repeated(["b", "a", "b", "c", "a"]) == ["a", "b"]


# ------------------------------------------------------------------ timestamps
TIMESTAMP_VALUES = [
    "2025-07-22T19:12-04:00", "2025-07-22", " 2025-07-22 ", "2025-07-22T19:12Z",
    "2025-07-22 19:12:30.5+09:00", "2025-07-22T19:12", "2025-02-30", "1899-12-31",
    "2201-01-01", "2200-12-31", "1900-01-01", "", "  ", "nonsense", "2025/07/22",
    "22 July 2025", "2025-07-22T25:00+00:00", "2025-07-22T19:12+14:00",
    "2025-07-22T19:12+15:00", "2025-07-22T19:12:00-0400", "٢٠٢٥-٠٧-٢٢",
    "2025-07-22T19:12:00.123456789+00:00", "0001-01-01", "9999-12-31",
]


@pytest.mark.parametrize("repeat", [1, 3])
def test_parse_timestamps_is_the_old_one(repeat: int) -> None:
    rng = np.random.default_rng(7)
    values = TIMESTAMP_VALUES * repeat
    order = rng.permutation(len(values))
    series = pd.Series([values[i] for i in order], index=np.arange(len(values)) * 3)
    for s in (series, series.astype(object), series.astype("string")):
        old, new = _old_parse_timestamps(s), parse_timestamps(s)
        np.testing.assert_array_equal(new[0], old[0])
        np.testing.assert_array_equal(new[1], old[1])
        assert new[0].dtype == old[0].dtype and new[1].dtype == old[1].dtype
        assert new[2] == old[2]
    assert len(new[2]) == 12 * repeat  # the bad values, each row listed


def test_parse_timestamps_problem_rows_in_order() -> None:
    inst, d, probs = parse_timestamps(pd.Series(["x", "2024-01-02", "x", "", "x"]))
    assert [p.split("|")[0] for p in probs] == ["0", "2", "3", "4"]
    assert probs[0] == ("0|timestamp 'x' does not parse; write ISO 8601 with a UTC "
                        "offset (2025-07-22T19:12-04:00) or a plain date (2025-07-22)")
    assert inst.tolist() == [0, pd.Timestamp("2024-01-02").value, 0, 0, 0]
    assert d.tolist() == [False, True, False, False, False]


# ------------------------------------------------------------------ whole catalogs
def _catalog(tmp_path: Path, body: bytes) -> Path:
    path = tmp_path / "events.csv"
    path.write_bytes(body)
    return path


def test_load_events_same_frame_plain_and_quoted(tmp_path: Path) -> None:
    rows = [f"E{i},{'2024-01-0' + str(1 + i % 5)},T{i % 3},MKT" for i in range(40)]
    plain = ("event_id,timestamp,ticker,benchmark\n" + "\n".join(rows) + "\n").encode()
    quoted = plain.replace(b"MKT", b'"MKT"')  # the pandas path, same cells
    a = load_events(_catalog(tmp_path, plain))
    b = load_events(_catalog(tmp_path, quoted))
    _same_frame(a, b)
    old = events_from_frame(_old_read_text_table(_catalog(tmp_path, plain)),
                            source=str(tmp_path / "events.csv"))
    _same_frame(a, old)
    assert a["instant_ns"].iloc[5] == pd.Timestamp("2024-01-01").value
    assert a.columns.tolist()[-2:] == ["instant_ns", "date_only"]


@pytest.mark.parametrize("body, message", [
    (b"event_id,event_id,ticker\nE1,2024-01-02,A\n",
     "duplicate column(s) 'event_id' in the header line; name each column once"),
    (b"event_id, ticker,ticker \nE1,A,A\n",
     "duplicate column(s) 'ticker' in the header line; name each column once"),
    (b"", "event catalog file is empty; it needs a header line and one row per "
          "entry"),
    (b"event_id,timestamp,ticker\nE1,2024-01-02,A\nE2,2024-01-02,A,B\n",
     "cannot parse event catalog CSV (Error tokenizing data. C error: Expected 3 "
     "fields in line 3, saw 4); check the commas and quotes"),
    (b"event_id,timestamp,ticker\nE1,\xe9,A\n",
     "the event catalog is not UTF-8 text (invalid continuation byte at byte 29); "
     "save it as a UTF-8 CSV"),
])
def test_load_events_errors_unchanged(tmp_path: Path, body: bytes,
                                      message: str) -> None:
    path = _catalog(tmp_path, body)
    with pytest.raises(EventStudyError) as caught:
        load_events(path)
    assert str(caught.value) == f"{path}: {message}"
    assert isinstance(caught.value, (InputError, CatalogError))


def test_load_events_problem_lines(tmp_path: Path) -> None:
    body = b"event_id,timestamp,ticker\nE1,2024-01-02,A\nE1,2024-13-01,B\n,,C\n"
    with pytest.raises(CatalogError) as caught:
        load_events(_catalog(tmp_path, body))
    assert str(caught.value).startswith(
        f"{tmp_path / 'events.csv'}: 4 problem(s) in the event catalog")
    assert caught.value.problems == [
        "line 3: timestamp '2024-13-01' is not a valid date",
        "line 3: duplicate event_id 'E1' (first on line 2); ids must be unique",
        "line 4: empty timestamp; write ISO 8601 with a UTC offset "
        "(2025-07-22T19:12-04:00) or a plain date (2025-07-22)",
        "line 4: empty event_id",
    ]


def test_events_from_frame_duplicate_columns_message() -> None:
    df = pd.DataFrame([["E1", "2024-01-02", "A", "B"]],
                      columns=["event_id", "timestamp", "ticker", " ticker"])
    with pytest.raises(CatalogError, match=re.escape(
            "<events>: duplicate column(s) 'ticker' in the event table; name each "
            "column once")):
        events_from_frame(df)


# ------------------------------------------------------------------ Parquet prices
# bbd4041:eventstudy/inputs/prices.py, load_price_table: a Parquet file was read by
# pandas, then prices_from_frame (whose only change since is the duplicate-name
# check, oracle-tested above by test_repeated_is_the_old_count) and
# opens_from_frame made the frames.
def _old_load_parquet(path: Path, tickers: list[str] | None = None
                      ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    sp = str(path)
    try:
        raw = pd.read_parquet(path)
        if isinstance(raw.index, pd.DatetimeIndex):
            raw = raw.reset_index()
    except Exception as exc:  # noqa: BLE001 - as the old code
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise PriceDataError(f"cannot read the prices file ({type(exc).__name__}"
                             f"{': ' + detail[:200] if detail else ''}); check that "
                             "it is a CSV or Parquet file", path=sp) from exc
    closes = prices_from_frame(raw, source=sp, tickers=tickers)
    return closes, opens_from_frame(raw, closes, source=sp, tickers=tickers)


def _days(n: int, start: str = "2024-01-01") -> pd.DatetimeIndex:
    return pd.bdate_range(start, periods=n, name="date")


def _wide(n: int = 6, cols: tuple[str, ...] = ("A", "B", "MKT")) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    data = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, len(cols))), axis=0))
    return pd.DataFrame(data, index=_days(n), columns=list(cols))


def _write_table(path: Path, table: Any) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, path)


def _parquet_cases(tmp: Path) -> dict[str, Path]:
    import pyarrow as pa

    out: dict[str, Path] = {}

    def put(name: str, frame: pd.DataFrame, **kw: Any) -> None:
        out[name] = tmp / f"{len(out)}.parquet"
        frame.to_parquet(out[name], **kw)

    w = _wide()
    put("canonical index", w)
    put("date column", w.reset_index(), index=False)
    put("date column with range index", w.reset_index())
    out["no pandas metadata"] = tmp / "nometa.parquet"
    _write_table(out["no pandas metadata"], pa.table(
        {"date": pa.array(w.index.to_numpy(), pa.timestamp("ms")),
         **{c: pa.array(w[c].to_numpy()) for c in w.columns}}))
    out["nulls, no metadata"] = tmp / "nulls.parquet"
    _write_table(out["nulls, no metadata"], pa.table(
        {"date": pa.array(w.index.to_numpy(), pa.timestamp("us")),
         "A": pa.array([1.0, None, 3.0, float("nan"), 5.0, 6.0]),
         "B": pa.array([None] * 6, pa.float64())}))
    put("tz-aware index", w.tz_localize("Asia/Tokyo").rename_axis("date"))
    put("tz-aware index at 23:30 New York",
        w.set_axis((w.index + pd.Timedelta(hours=23, minutes=30))
                   .tz_localize("America/New_York"), axis=0).rename_axis("date"))
    put("times of day", w.set_axis(w.index + pd.Timedelta(hours=15), axis=0))
    two = w.set_axis(w.index[:1].append(w.index[:5] + pd.Timedelta(hours=1)),
                     axis=0).rename_axis("date")
    put("two rows one day", two)
    put("unsorted", w.iloc[[2, 0, 1, 5, 4, 3]])
    put("duplicate dates", w.iloc[[0, 1, 1, 2]])
    nat = w.reset_index()
    nat.loc[2, "date"] = pd.NaT
    put("NaT date", nat, index=False)
    put("before 1900", w.set_axis(_days(6, "1899-12-25"), axis=0))
    out["year 2300 (us)"] = tmp / "far.parquet"
    _write_table(out["year 2300 (us)"], pa.table(
        {"date": pa.array([np.datetime64("2300-01-02", "us")], pa.timestamp("us")),
         "A": pa.array([1.0])}))
    put("all NaN", w * np.nan)
    put("one NaN column", w.assign(B=np.nan))
    put("inf", w.assign(A=[1.0, np.inf, -np.inf, 4.0, 5.0, np.nan]))
    put("int column", w.assign(B=np.arange(6)))
    put("float32 column", w.astype({"B": np.float32}))
    put("nullable Float64", w.astype({"B": "Float64"}))
    put("spaced names", w.rename(columns={"A": " A", "B": "B "}))
    put("names equal once stripped", w.rename(columns={"B": " A"}))
    put("Date column", w.reset_index().rename(columns={"date": "Date"}), index=False)
    put("ticker and close floats", w.rename(columns={"A": "ticker", "B": "Close"}))
    put("a ticker column named date too",
        w.reset_index().assign(DATE=1.0), index=False)
    put("unnamed index", w.rename_axis(None))
    put("int names", w.set_axis([0, 1, 2], axis=1))
    put("empty", w.iloc[:0])
    put("no value columns", w.iloc[:, :0])
    put("string dates", w.reset_index().assign(
        date=lambda d: d["date"].dt.strftime("%Y-%m-%d")), index=False)
    put("row groups", _wide(40), row_group_size=7)
    long = w.stack().rename("close").reset_index().rename(
        columns={"level_1": "ticker"})
    put("long", long, index=False)
    put("long with opens", long.assign(open=long["close"] * 0.99), index=False)
    put("many columns", _wide(30, tuple(f"S{i:04d}" for i in range(300))))
    out["not parquet"] = tmp / "bad.parquet"
    out["not parquet"].write_bytes(b"PAR1 this is not a parquet file")
    out["empty file"] = tmp / "empty.parquet"
    out["empty file"].write_bytes(b"")
    return out


def _layout(frame: pd.DataFrame) -> tuple[Any, ...]:
    blocks = frame._mgr.blocks  # the one float64 block, laid out as before
    return (len(blocks), tuple(b.values.flags.c_contiguous for b in blocks),
            frame.index.freq, frame.index.name, frame.columns.name,
            str(frame.index.dtype), str(frame.columns.dtype))


@pytest.mark.parametrize("tickers", [None, ["B", "MKT", "ZZZ"], ["ZZZ"], "A"])
def test_parquet_prices_are_the_old_ones(tmp_path: Path, tickers: Any) -> None:
    cases = _parquet_cases(tmp_path)
    assert len(cases) == 36
    fast = []
    for name, path in cases.items():
        old = _outcome(_old_load_parquet, path, tickers)
        new = _outcome(load_price_table, path, tickers)
        assert old[0] == new[0], (name, old, new)
        if old[0] == "raised":
            assert new[1] == old[1], name
            continue
        _same_frame(new[1][0], old[1][0])
        assert _layout(new[1][0]) == _layout(old[1][0]), name
        if old[1][1] is None:
            assert new[1][1] is None, name
        else:
            _same_frame(new[1][1], old[1][1])
        if _read_wide_parquet(path, tickers) is not None:
            fast.append(name)
    # the plain files took the fast path (the others the old one)
    assert fast == FAST_CASES.get(str(tickers), [])


_FAST_BOTH = ["canonical index", "date column", "date column with range index",
              "no pandas metadata"]
_FAST_TAIL = ["tz-aware index", "tz-aware index at 23:30 New York", "times of day",
              "one NaN column", "inf"]
FAST_CASES: dict[str, list[str]] = {
    "None": [*_FAST_BOTH, "nulls, no metadata", *_FAST_TAIL, "int names",
             "row groups", "many columns"],
    "['B', 'MKT', 'ZZZ']": [*_FAST_BOTH, *_FAST_TAIL, "row groups"],
}


def test_parquet_fast_path_bench_layout(tmp_path: Path) -> None:
    w = _wide(5, ("A", "MKT"))
    w.iloc[1, 0] = np.nan
    path = tmp_path / "p.parquet"
    w.to_parquet(path)
    fast = _read_wide_parquet(path, None)
    assert fast is not None
    assert fast.columns.tolist() == ["A", "MKT"]
    assert fast.index.tolist() == w.index.tolist()
    assert np.isnan(fast.iloc[1, 0]) and fast.iloc[2, 0] == w.iloc[2, 0]
    closes, opens = load_price_table(path)
    assert opens is None
    _same_frame(closes, fast)


def test_parquet_errors_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    _wide().reset_index().assign(date=lambda d: d["date"].where(
        d.index != 2)).to_parquet(path, index=False)
    with pytest.raises(PriceDataError) as caught:
        load_price_table(path)
    assert str(caught.value) == (f"{path}, row 3: date 'NaT' does not parse; use "
                                 "YYYY-MM-DD")
    (_wide() * np.nan).to_parquet(path)
    with pytest.raises(PriceDataError, match="the prices table has no numeric prices"):
        load_price_table(path)
    with pytest.raises(InputError, match=re.escape(
            "tickers must be a list of ticker names, got 'A'")):
        load_price_table(path, "A")  # type: ignore[arg-type]


# ------------------------------------------------------------------ the plan
# Verbatim from bbd4041:eventstudy/inputs/sources/base.py (study_tickers, body).
def _old_study_tickers(events: pd.DataFrame, universe: pd.DataFrame | None
                       ) -> tuple[str, ...]:
    parts: list[np.ndarray] = []
    if universe is not None:
        parts += [universe["ticker"].astype(str).to_numpy(dtype=object),
                  universe["benchmark"].astype(str).to_numpy(dtype=object)]
    parts += [events[c].astype(str).to_numpy(dtype=object)
              for c in ("ticker", "benchmark") if c in events.columns]
    if not parts:
        return ()
    names = np.concatenate(parts)
    keep = names != ""
    if universe is not None:  # universe tickers are kept even when empty
        keep[: len(universe)] = True
    return tuple(str(t) for t in pd.unique(names[keep]))


def test_study_tickers_is_the_old_one() -> None:
    uni = pd.DataFrame({"ticker": ["X", "", "Y", "X2", "Z"],
                        "benchmark": ["M", "M", "", "Y", None]})
    uni_obj = uni.astype(object)
    events = [
        pd.DataFrame({"ticker": ["A", "B", "A", "", "X", "M"],
                      "benchmark": ["M", "N", "", "M", "Q", "A"]}),
        pd.DataFrame({"ticker": ["A", None, np.nan, "B", 3, 2.5],
                      "benchmark": [np.nan, "", "N", None, "A", "X"]}),
        pd.DataFrame({"groups": ["g1", "g2"]}),
        pd.DataFrame({"ticker": pd.Series([], dtype=str)}),
        pd.DataFrame({"ticker": ["", ""], "benchmark": ["", "Y"]}),
        pd.DataFrame({"ticker": pd.array(["A", None, "C", "A"], dtype="string")}),
    ]
    seen = set()
    for ev in events:
        for u in (None, uni, uni_obj, uni.iloc[:0]):
            result = study_tickers(ev, u)
            assert result == _old_study_tickers(ev, u), (ev, u)
            seen.add(result)
    assert study_tickers(events[0], uni) == ("X", "", "Y", "X2", "Z", "M", "nan",
                                             "A", "B", "N", "Q")
    assert len(seen) == 9


def test_date_range_is_the_old_one() -> None:
    from eventstudy.config import Study

    study = Study(path=None, name="s", events=Path("e.csv"), universe=None)
    stamps = [pd.Timestamp("2024-06-03").value, pd.Timestamp("2019-01-02T13:00").value,
              pd.Timestamp("2200-12-31").value]
    today = pd.Timestamp("2026-01-01")
    nat = np.iinfo(np.int64).min
    for values in ([stamps[0]], stamps[:2], stamps, [stamps[1], nat]):
        for arr in (np.asarray(values, dtype=np.int64),
                    np.asarray(values, dtype=np.int64).astype(float)):
            ev = pd.DataFrame({"instant_ns": arr})
            old_inst = pd.to_datetime(ev["instant_ns"].to_numpy())
            new = _date_range(study, ev, today)
            w = study.windows
            before = pd.Timedelta(days=int(abs(min(w.estimation[0], 0)) * 1.6) + 30)
            after = pd.Timedelta(days=int(max(w.event[1], 0) * 1.6) + 10)
            latest = old_inst.max()
            end = today if after >= today - latest else (latest + after).normalize()
            assert new == ((old_inst.min() - before).normalize(), min(end, today))
    ev = pd.DataFrame({"instant_ns": np.asarray(stamps[:2], dtype=np.int64)})
    assert _date_range(study, ev, today) == (pd.Timestamp("2017-10-29"),
                                             pd.Timestamp("2024-06-29"))


@pytest.mark.parametrize("keep", ["all but three, reversed", "every other",
                                  "first ten"])
def test_parquet_ticker_filters_of_many_columns(tmp_path: Path, keep: str) -> None:
    """Most columns (read whole, taken by position) or few (read by name): the
    old frames either way, columns in file order."""
    path = _parquet_cases(tmp_path)["many columns"]
    names = [f"S{i:04d}" for i in range(300)]
    tickers = {"all but three, reversed": names[3:][::-1],
               "every other": names[::2], "first ten": names[:10]}[keep]
    old = _outcome(_old_load_parquet, path, tickers)
    new = _outcome(load_price_table, path, tickers)
    assert old[0] == new[0] == "ok", (old, new)
    _same_frame(new[1][0], old[1][0])
    assert _layout(new[1][0]) == _layout(old[1][0])
    assert _read_wide_parquet(path, tickers) is not None
