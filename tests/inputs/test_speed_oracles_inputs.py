"""Oracle tests for the speed rewrites of issue #20 in ``eventstudy.inputs``:
``returns.to_returns`` (written in place), ``prices.prices_from_frame`` (an already
canonical frame is checked, not rebuilt; wide all-float64 tables in one block) and
``sources.cache.ticker_calendars`` (the first calendar of each name by
``drop_duplicates``) must give the results of the implementations they replaced.

The oracles below are the OLD implementations, copied verbatim from
``git show 450a99c:<path>`` (only renamed with a leading ``_old_``); they are private
to this file and must not be "fixed". The old ``prices_from_frame`` calls the module's
helpers ``_text``, ``_parse_dates`` and ``_to_float``, which no commit since 450a99c
has changed (``git diff 450a99c HEAD -- eventstudy/inputs/prices.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eventstudy.inputs.prices as prices_mod
from eventstudy.errors import InputError, PriceDataError
from eventstudy.inputs.prices import _parse_dates, _text, _to_float, prices_from_frame
from eventstudy.inputs.returns import on_sessions, to_returns
from eventstudy.inputs.sources.cache import ticker_calendars

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ the oracles
# Verbatim from 450a99c:eventstudy/inputs/returns.py (to_returns).
def _old_to_returns(prices: np.ndarray, kind: Literal["simple", "log"] = "simple"
                    ) -> np.ndarray:
    out = np.full(prices.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = prices[1:] / prices[:-1]
        # missing, non-positive and non-finite prices give no return
        ok = (prices > 0) & np.isfinite(prices)
        bad = ~ok[1:] | ~ok[:-1]
        ratio = np.where(bad, np.nan, ratio)
        out[1:] = np.log(ratio) if kind == "log" else ratio - 1.0
    return out


# Verbatim from 450a99c:eventstudy/inputs/prices.py (prices_from_frame).
def _old_prices_from_frame(
    df: pd.DataFrame, source: str = "<prices>", tickers: list[str] | None = None,
    value: str = "close", allow_empty: bool = False,
) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise PriceDataError(f"prices must be a pandas DataFrame, got "
                             f"{type(df).__name__}", path=source)
    if isinstance(df.columns, pd.MultiIndex):
        raise PriceDataError("the prices table has MultiIndex columns (as "
                             "yfinance.download gives); flatten them to one column "
                             "per ticker, e.g. df['Close']", path=source)
    if tickers is not None and (isinstance(tickers, (str, bytes)) or not all(
            isinstance(t, str) for t in tickers)):
        raise InputError(f"tickers must be a list of ticker names, got {tickers!r}",
                         path=source)
    if isinstance(df.index, pd.DatetimeIndex) and "date" not in (
            str(c).strip().lower() for c in df.columns):
        df = df.reset_index(names="date")
    else:
        df = df.reset_index(drop=True)
    if len(df) == 0:
        raise PriceDataError("the prices table has no rows", path=source)
    names = [str(c).strip() for c in df.columns]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise PriceDataError(f"duplicate column(s) {', '.join(map(repr, dup))}; "
                             "name each column once", path=source)
    cols = {str(c).strip().lower(): c for c in df.columns}
    if "date" not in cols:
        raise PriceDataError("no 'date' column; the first column must be named date",
                             path=source)
    date_col = cols["date"]
    long = "ticker" in cols and "close" in cols
    if long:
        tk = _text(df[cols["ticker"]])
        empty = (tk == "").to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise PriceDataError("empty ticker; every row needs its ticker",
                                 path=source, row=i + 1)
        if tickers is not None:
            keep = tk.isin(tickers).to_numpy()
            df, tk = df.loc[keep], tk[keep]
        dates = _parse_dates(df[date_col], source)
        values = _to_float(df[cols[value]], source, value, offset=df.index)
        tidy = pd.DataFrame({"date": dates, "ticker": tk.to_numpy(),
                             value: values})
        dup_rows = tidy.duplicated(["date", "ticker"], keep="first").to_numpy()
        if dup_rows.any():
            i = int(np.flatnonzero(dup_rows)[0])
            raise PriceDataError(
                f"duplicate row for ticker {tidy['ticker'].iloc[i]!r} on "
                f"{tidy['date'].iloc[i].date()}; keep one row per date and ticker",
                path=source, row=int(df.index[i]) + 1)
        wide = tidy.pivot(index="date", columns="ticker", values=value)
        order = list(dict.fromkeys(tidy["ticker"]))
        wide = wide[order]
    else:
        dates = _parse_dates(df[date_col], source)
        value_cols = [c for c in df.columns if c != date_col]
        if tickers is not None:
            value_cols = [c for c in value_cols if str(c).strip() in tickers]
        if not value_cols:
            raise PriceDataError("no price columns besides 'date'; give date,ticker,"
                                 "close rows or one column per ticker", path=source)
        data = {str(c).strip(): _to_float(df[c], source, str(c), offset=df.index)
                for c in value_cols}
        wide = pd.DataFrame(data, index=pd.DatetimeIndex(dates))
        if wide.index.duplicated().any():
            i = int(np.flatnonzero(wide.index.duplicated())[0])
            raise PriceDataError(f"duplicate date {wide.index[i].date()}; keep one row "
                                 "per date", path=source, row=i + 1)
    wide.index = pd.DatetimeIndex(wide.index).normalize()
    wide.index.name = "date"
    wide.columns = [str(c) for c in wide.columns]
    wide.columns.name = None
    wide = wide.sort_index().astype(np.float64)
    if not allow_empty and (wide.shape[1] == 0 or wide.notna().sum().sum() == 0):
        raise PriceDataError("the prices table has no numeric prices", path=source)
    return wide


# Verbatim from 450a99c:eventstudy/inputs/sources/cache.py (ticker_calendars).
def _old_ticker_calendars(
    universe: pd.DataFrame | None, events: pd.DataFrame | None = None
) -> dict[str, str]:
    frames = [
        f
        for f in (universe, events)
        if f is not None and "ticker" in f.columns and "calendar" in f.columns
    ]
    out: dict[str, str] = {}
    for column in ("ticker", "benchmark"):
        for f in frames:
            if column not in f.columns:
                continue
            names = f[column].fillna("").astype(str).str.strip()
            cals = f["calendar"].fillna("").astype(str).str.strip()
            for name, cal in zip(names, cals, strict=True):
                if name and cal:
                    out.setdefault(name, cal)
    return out


# ------------------------------------------------------------------ to_returns
def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.int64)


KINDS: tuple[Literal["simple", "log"], ...] = ("simple", "log")


def _same_returns(p: np.ndarray, kind: Literal["simple", "log"]) -> np.ndarray:
    before = p.copy()
    new, old = to_returns(p, kind), _old_to_returns(p, kind)
    assert new.dtype == old.dtype == np.float64
    assert new.shape == old.shape == p.shape
    np.testing.assert_array_equal(_bits(new), _bits(old))
    assert p.tobytes() == before.tobytes()  # the input is left untouched
    return new


@pytest.mark.parametrize("kind", KINDS)
def test_to_returns_hand_cells_exact(kind: Literal["simple", "log"]) -> None:
    nan, inf = np.nan, np.inf
    p = np.array([[100.0, 0.0, -1.0, inf, nan, 5.0, 1e-310, 1e308],
                  [110.0, 1.0, 2.0, 1.0, 1.0, -inf, 1e-310, 1e-308],
                  [110.0, 0.0, -0.0, -inf, 2.0, 5.0, 2e-310, 1e308],
                  [121.0, 3.0, 3.0, 4.0, nan, inf, 1.0, 1e308]])
    r = _same_returns(p, kind)
    assert np.isnan(r[0]).all()
    col0 = [0.1, 0.0, 0.1] if kind == "simple" else [np.log(1.1), 0.0, np.log(1.1)]
    np.testing.assert_allclose(r[1:, 0], col0, rtol=1e-15)
    # a zero, negative, infinite or missing price on either side gives NaN
    assert np.isnan(r[1:, 1:6]).sum() == 14
    assert np.isnan(r[1:, 2]).all() and np.isnan(r[1:, 3]).all()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (0, 3), (3, 0), (2, 1)])
def test_to_returns_small_shapes(kind: Literal["simple", "log"],
                                 shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    _same_returns(rng.uniform(-1, 3, shape), kind)


@pytest.mark.parametrize("kind", KINDS)
def test_to_returns_one_dimensional_and_non_contiguous(
        kind: Literal["simple", "log"]) -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(-0.5, 2.0, (40, 9))
    p[rng.random(p.shape) < 0.1] = np.nan
    _same_returns(p[:, 0], kind)
    _same_returns(np.asfortranarray(p), kind)
    _same_returns(p[::3, ::2], kind)


def test_to_returns_keep_the_prices_memory_order() -> None:
    """A frame's values come column-major: the returns keep that layout (the
    element-wise passes run contiguously), C in gives C out."""
    p = np.asfortranarray(np.random.default_rng(4).uniform(0.5, 2.0, (30, 7)))
    assert to_returns(p).flags.f_contiguous
    assert to_returns(np.ascontiguousarray(p)).flags.c_contiguous


def test_to_returns_integer_prices() -> None:
    r = _same_returns(np.array([[1, 4], [3, 0], [0, 2], [6, 3]], dtype=np.int64),
                      "simple")
    assert r[1:, 0].tolist()[0] == 2.0


def test_to_returns_float32_log() -> None:
    _same_returns(np.array([[1.1], [1.3], [1.7]], dtype=np.float32), "log")


def test_to_returns_float32_simple() -> None:
    _same_returns(np.array([[1.1], [1.3], [-1.0], [1.7]], dtype=np.float32),
                  "simple")


_PRICES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, 1e-320, 1e308]),
)


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 5), st.sampled_from(KINDS), st.data())
def test_to_returns_random(T: int, N: int, kind: Literal["simple", "log"],
                           data: st.DataObject) -> None:
    cells = data.draw(st.lists(_PRICES, min_size=T * N, max_size=T * N))
    _same_returns(np.array(cells, dtype=np.float64).reshape(T, N), kind)


# ------------------------------------------- prices_from_frame: canonical path
def _general(monkeypatch: pytest.MonkeyPatch, df: pd.DataFrame,
             **kw: Any) -> pd.DataFrame:
    """prices_from_frame forced through the general path."""
    with monkeypatch.context() as m:
        m.setattr(prices_mod, "_canonical", lambda _df: False)
        return prices_from_frame(df, **kw)


def _equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True, check_freq=False)
    np.testing.assert_array_equal(_bits(a.to_numpy()), _bits(b.to_numpy()))


def _ns(dates: list[str]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.array(dates, dtype="datetime64[ns]"))


def _canonical_frames() -> dict[str, pd.DataFrame]:
    nan, inf = np.nan, np.inf
    idx = _ns(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-08"])
    named = pd.DataFrame({"A": [1.0, nan, -0.0, inf], "B.X": [-inf, 2.0, 0.0, nan]},
                         index=idx.rename("when"))
    named.columns.name = "tickers"
    return {
        "plain": pd.DataFrame({"A": [1.0, 2.0, nan, 4.0]}, index=idx),
        "named_axes_and_odd_cells": named,
        "one_row": pd.DataFrame({"Z": [3.5]}, index=_ns(["2200-12-31"])),
        "first_date": pd.DataFrame({"Z": [3.5, nan]},
                                   index=_ns(["1900-01-01", "1900-01-02"])),
        "freq": pd.DataFrame({"A": np.linspace(1, 2, 10), "=X": np.nan},
                             index=pd.date_range("2024-01-01", periods=10,
                                                 unit="ns")),
        "wide": pd.DataFrame(np.random.default_rng(5).normal(size=(30, 40)),
                             index=pd.bdate_range("2020-01-01", periods=30,
                                                  unit="ns"),
                             columns=[f"T{i}" for i in range(40)]),
    }


CANONICAL = _canonical_frames()


@pytest.mark.parametrize("name", sorted(CANONICAL))
def test_canonical_frame_fast_path_equals_general_path(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    df = CANONICAL[name]
    assert prices_mod._canonical(df)
    fast = prices_from_frame(df)
    _equal(fast, _general(monkeypatch, df))
    _equal(fast, _old_prices_from_frame(df))
    assert fast.index.name == "date" and fast.columns.name is None
    assert fast.index.dtype == np.dtype("datetime64[ns]")


@pytest.mark.parametrize("value", ["close", "open"])
def test_canonical_frame_other_arguments(value: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    df = CANONICAL["plain"]
    kw: dict[str, Any] = {"value": value, "source": "x.parquet"}
    _equal(prices_from_frame(df, **kw), _general(monkeypatch, df, **kw))
    # tickers= never takes the fast path (and gives the old result)
    kw["tickers"] = ["A", "nope"]
    _equal(prices_from_frame(df, **kw), _old_prices_from_frame(df, **kw))


def _error(f: Callable[..., pd.DataFrame], *a: Any, **kw: Any) -> tuple[type, str]:
    with pytest.raises((PriceDataError, InputError)) as exc:
        f(*a, **kw)
    return type(exc.value), str(exc.value)


def test_canonical_all_nan_same_error_and_allow_empty(
        monkeypatch: pytest.MonkeyPatch) -> None:
    df = pd.DataFrame({"A": [np.nan, np.nan]}, index=_ns(["2024-01-02", "2024-01-03"]))
    assert prices_mod._canonical(df)
    fast = _error(prices_from_frame, df, source="p.csv")
    assert fast == _error(_old_prices_from_frame, df, source="p.csv")
    assert fast == (PriceDataError, "p.csv: the prices table has no numeric prices")
    _equal(prices_from_frame(df, allow_empty=True),
           _general(monkeypatch, df, allow_empty=True))


@pytest.mark.parametrize("unit", ["us", "s"])
def test_canonical_frame_non_ns_index_unit(unit: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    idx = pd.DatetimeIndex(["2024-01-02", "2024-01-03"]).as_unit(unit)
    df = pd.DataFrame({"A": [1.0, 2.0]}, index=idx)
    _equal(prices_from_frame(df), _general(monkeypatch, df))


def test_canonical_frame_object_column_index(monkeypatch: pytest.MonkeyPatch) -> None:
    df = pd.DataFrame(np.arange(4.0).reshape(2, 2),
                      index=_ns(["2024-01-02", "2024-01-03"]),
                      columns=pd.Index(["A", "b"], dtype=object))
    assert prices_mod._canonical(df)
    _equal(prices_from_frame(df), _general(monkeypatch, df))


@pytest.mark.parametrize("allow_empty", [False, True])
def test_canonical_frame_without_columns(allow_empty: bool) -> None:
    df = pd.DataFrame(index=_ns(["2024-01-02", "2024-01-03"]), dtype=np.float64)
    old = _error(_old_prices_from_frame, df, allow_empty=allow_empty)
    try:
        prices_from_frame(df, allow_empty=allow_empty)
    except (PriceDataError, InputError) as exc:
        assert (type(exc), str(exc)) == old
    else:
        raise AssertionError("no error; before: " + old[1])


def test_canonical_result_does_not_share_mutations() -> None:
    df = CANONICAL["named_axes_and_odd_cells"].copy()
    keep = df.copy(deep=True)
    out = prices_from_frame(df)
    snapshot = out.copy(deep=True)
    df.iloc[0, 0] = 123.0
    df.loc[:, "B.X"] = 7.0
    df.index.name = "other"
    df.columns.name = "other"
    _equal(out, snapshot)
    assert out.index.name == "date" and out.columns.name is None
    df.iloc[0, 0], df.loc[:, "B.X"] = keep.iloc[0, 0], keep["B.X"]
    df.index.name, df.columns.name = "when", "tickers"
    out.iloc[1, 1] = -5.0
    out["new"] = 1.0
    pd.testing.assert_frame_equal(df, keep, check_exact=True)
    assert df.index.name == "when" and df.columns.name == "tickers"


# -------------------------------------- prices_from_frame: not canonical frames
def _not_canonical() -> dict[str, Any]:
    d = _ns(["2024-01-02", "2024-01-03", "2024-01-04"])
    f: dict[str, Any] = {}
    f["unsorted"] = pd.DataFrame({"A": [1.0, 2.0, 3.0]}, index=d[[2, 0, 1]])
    f["duplicate_dates"] = pd.DataFrame({"A": [1.0, 2.0, 3.0]}, index=d[[0, 1, 1]])
    f["tz_aware"] = pd.DataFrame({"A": [1.0, 2.0, 3.0]},
                                 index=d.tz_localize("Asia/Tokyo"))
    f["int_column"] = pd.DataFrame({"A": [1, 2, 3], "B": [1.0, 2.0, 3.0]}, index=d)
    f["float32_column"] = pd.DataFrame({"A": np.array([1.1, 2.2, 3.3], np.float32)},
                                       index=d)
    f["text_column"] = pd.DataFrame({"A": ["1.5", "", "2"]}, index=d)
    f["bad_text_column"] = pd.DataFrame({"A": ["1.5", "x", "2"]}, index=d)
    f["bool_column"] = pd.DataFrame({"A": [True, False, True]}, index=d)
    f["padded_names"] = pd.DataFrame({" A ": [1.0, 2.0, 3.0], "B ": 1.0}, index=d)
    f["padded_duplicate"] = pd.DataFrame([[1.0, 2.0]] * 3, index=d,
                                         columns=["A", " A"])
    f["non_str_names"] = pd.DataFrame({1: [1.0, 2.0, 3.0], 2.5: 1.0}, index=d)
    f["date_column_too"] = pd.DataFrame({"date": ["2024-02-01", "2024-02-02",
                                                  "2024-02-05"],
                                         "A": [1.0, 2.0, 3.0]}, index=d)
    f["Date_column_wide"] = pd.DataFrame({"Date": ["2024-02-05", "2024-02-01",
                                                   "2024-02-02 10:00"],
                                          "A": [1.0, np.nan, 3.0], "B": -0.0})
    f["long"] = pd.DataFrame({"date": ["2024-01-03", "2024-01-02", "2024-01-02"],
                              "ticker": [" A", "B", "A"], "close": [1.0, 2.0, 3.0],
                              "open": [0.5, np.nan, 1.0]})
    f["time_of_day"] = pd.DataFrame({"A": [1.0, 2.0, 3.0]},
                                    index=d + pd.Timedelta(hours=9))
    f["before_first_date"] = pd.DataFrame({"A": [1.0, 2.0]},
                                          index=_ns(["1899-12-31", "1900-01-02"]))
    f["after_last_date"] = pd.DataFrame({"A": [1.0, 2.0]},
                                        index=_ns(["2200-12-31", "2201-01-01"]))
    f["nat_in_index"] = pd.DataFrame({"A": [1.0, 2.0]},
                                     index=pd.DatetimeIndex([d[0], pd.NaT]))
    f["all_nan_int_index"] = pd.DataFrame({"date": ["2024-01-02"], "A": [np.nan]})
    f["empty"] = pd.DataFrame({"A": []}, index=_ns([]))
    f["multiindex_columns"] = pd.DataFrame(
        [[1.0]] * 3, index=d, columns=pd.MultiIndex.from_tuples([("Close", "A")]))
    f["not_a_frame"] = {"A": [1.0]}
    f["no_date"] = pd.DataFrame({"A": [1.0, 2.0]})
    return f


NOT_CANONICAL = _not_canonical()


@pytest.mark.parametrize("name", sorted(NOT_CANONICAL))
@pytest.mark.parametrize("kw", [{}, {"allow_empty": True}, {"tickers": ["A", "B"]},
                                {"value": "open", "allow_empty": True}],
                         ids=["default", "allow_empty", "tickers", "open"])
def test_not_canonical_frames_same_result_or_error(name: str,
                                                   kw: dict[str, Any]) -> None:
    df = NOT_CANONICAL[name]
    if isinstance(df, pd.DataFrame) and not isinstance(df.columns, pd.MultiIndex):
        assert not prices_mod._canonical(df)
    try:
        old = _old_prices_from_frame(df, source="in.csv", **kw)
    except (PriceDataError, InputError) as exc:
        assert _error(prices_from_frame, df, source="in.csv", **kw) == (
            type(exc), str(exc))
        return
    _equal(prices_from_frame(df, source="in.csv", **kw), old)


def test_not_canonical_errors_exact() -> None:
    def msg(name: str) -> str:
        return _error(prices_from_frame, NOT_CANONICAL[name], source="in.csv")[1]
    assert msg("duplicate_dates") == ("in.csv, row 3: duplicate date 2024-01-03; "
                                      "keep one row per date")
    assert msg("after_last_date").startswith(
        "in.csv, row 2: date '2201-01-01 00:00:00' is outside the supported range")
    assert msg("bad_text_column") == (
        "in.csv, row 2: non-numeric value 'x' in column 'A'; prices must be numbers "
        "(leave the cell empty when missing)")


# ------------------------------------------- prices_from_frame: wide float64 block
def _wide_frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(11)
    x = rng.normal(100, 5, (25, 6))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[0, 0], x[1, 1], x[2, 2], x[3, 3] = np.inf, -np.inf, -0.0, 0.0
    dates = pd.bdate_range("2021-03-01", periods=25).strftime("%Y-%m-%d").tolist()
    cols = ["A", " B", "C ", "D.X", "=X", "^GSPC"]
    f: dict[str, pd.DataFrame] = {}
    f["date_column"] = pd.DataFrame({"date": dates, **dict(zip(cols, x.T,
                                                               strict=True))})
    f["date_column_last_reversed"] = f["date_column"][cols + ["date"]].iloc[::-1]
    f["fortran_block"] = pd.DataFrame(np.asfortranarray(x), columns=cols).assign(
        date=dates)
    f["odd_index"] = f["date_column"].set_axis(np.arange(25)[::-1] * 3, axis=0)
    f["timed_dates"] = f["date_column"].assign(date=[d + " 16:00" for d in dates])
    f["datetime_column_tz"] = f["date_column"].assign(
        date=pd.to_datetime(dates).tz_localize("US/Eastern"))
    f["one_row"] = f["date_column"].iloc[:1]
    f["one_column"] = f["date_column"][["date", "C "]]
    f["DATE_header"] = f["date_column"].rename(columns={"date": " DATE "})
    f["date_index_named"] = f["date_column"].set_index(
        pd.DatetimeIndex(pd.to_datetime(dates), name="d")).drop(columns="date")
    return f


WIDE = _wide_frames()


@pytest.mark.parametrize("name", sorted(WIDE))
@pytest.mark.parametrize("tickers", [None, ["A", "B", "=X", "zz"]])
def test_wide_float64_block_equals_old_per_column_path(
        name: str, tickers: list[str] | None, monkeypatch: pytest.MonkeyPatch) -> None:
    df = WIDE[name]
    try:
        old = _old_prices_from_frame(df, tickers=tickers)
    except PriceDataError as exc:
        assert _error(prices_from_frame, df, tickers=tickers) == (PriceDataError,
                                                                  str(exc))
        return
    new = _general(monkeypatch, df, tickers=tickers)
    _equal(new, old)
    _equal(prices_from_frame(df, tickers=tickers), new)


def test_wide_float64_duplicate_date_same_error() -> None:
    df = WIDE["date_column"].copy()
    df.loc[7, "date"] = df.loc[3, "date"]
    got = _error(prices_from_frame, df, source="w.csv")
    assert got == _error(_old_prices_from_frame, df, source="w.csv")
    assert got[1].startswith("w.csv, row 8: duplicate date")


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 4), st.data())
def test_wide_float64_random(T: int, N: int, data: st.DataObject) -> None:
    cells = data.draw(st.lists(_PRICES, min_size=T * N, max_size=T * N))
    days = data.draw(st.lists(st.integers(0, 40), min_size=T, max_size=T,
                              unique=True))
    dates = [str((pd.Timestamp("2024-01-01") + pd.Timedelta(days=d)).date())
             for d in days]
    df = pd.DataFrame(np.array(cells, dtype=np.float64).reshape(T, N),
                      columns=[f"T{i}" for i in range(N)]).assign(date=dates)
    try:
        old = _old_prices_from_frame(df)
    except PriceDataError as exc:
        assert _error(prices_from_frame, df) == (PriceDataError, str(exc))
        return
    _equal(prices_from_frame(df), old)
    canon = old.copy()  # a canonical frame: fast path equals the general result
    assert prices_mod._canonical(canon)
    _equal(prices_from_frame(canon), old)


# ------------------------------------------------------------ ticker_calendars
def _same_calendars(universe: pd.DataFrame | None,
                    events: pd.DataFrame | None = None) -> dict[str, str]:
    new = ticker_calendars(universe, events)
    old = _old_ticker_calendars(universe, events)
    assert list(new.items()) == list(old.items())
    return new


def test_ticker_calendars_docstring_case_exact() -> None:
    u = pd.DataFrame({"ticker": ["7203.T", "JPY=X"], "calendar": ["XTKS", "FX"],
                      "benchmark": ["^TOPX", ""]})
    assert list(_same_calendars(u).items()) == [("7203.T", "XTKS"), ("JPY=X", "FX"),
                                                ("^TOPX", "XTKS")]


def test_ticker_calendars_blanks_nan_padding_first_wins() -> None:
    u = pd.DataFrame({
        "ticker": [" 7203.T ", "7203.T", None, "", "AAPL", np.nan, "SAP.DE", "X"],
        "calendar": ["XTKS", "XNYS", "XTKS", "XNYS", " XNYS", "XETR", np.nan, ""],
        "benchmark": ["^TOPX", "^N225", "^N225", " ^GSPC", "^GSPC ", "", "^GDAXI",
                      "AAPL"]})
    ev = pd.DataFrame({"event_id": ["E1", "E2", "E3"],
                       "ticker": ["AAPL", "BMW.DE", "7203.T"],
                       "calendar": ["XLON", "XETR", "XTKS"],
                       "benchmark": ["^FTSE", "^GDAXI", ""]})
    got = _same_calendars(u, ev)
    assert list(got.items()) == [
        ("7203.T", "XTKS"), ("AAPL", "XNYS"), ("BMW.DE", "XETR"), ("^TOPX", "XTKS"),
        ("^N225", "XNYS"), ("^GSPC", "XNYS"), ("^FTSE", "XLON"), ("^GDAXI", "XETR")]


def test_ticker_calendars_missing_frames_and_columns() -> None:
    u = pd.DataFrame({"ticker": ["A"], "calendar": ["XNYS"]})
    assert _same_calendars(None) == {}
    assert _same_calendars(None, None) == {}
    assert _same_calendars(u.iloc[:0]) == {}
    assert _same_calendars(pd.DataFrame({"ticker": ["A"]}), u) == {"A": "XNYS"}
    assert _same_calendars(u, pd.DataFrame({"event_id": ["E"]})) == {"A": "XNYS"}
    assert _same_calendars(pd.DataFrame({"ticker": [1, 2.5], "calendar": [3, 4]})) == {
        "1.0": "3", "2.5": "4"}


@SETTINGS
@given(st.lists(st.tuples(
    st.sampled_from(["A", " A", "B ", "", "C", "^X", None, np.nan]),
    st.sampled_from(["XNYS", "XTKS", " FX", "", None, np.nan]),
    st.sampled_from(["^X", "A", "", " ^Y", None, np.nan])), max_size=12),
    st.integers(0, 12), st.booleans())
def test_ticker_calendars_random(rows: list[tuple[Any, Any, Any]], split: int,
                                 with_events: bool) -> None:
    frame = pd.DataFrame(rows, columns=["ticker", "calendar", "benchmark"],
                         dtype=object)
    if with_events:
        _same_calendars(frame.iloc[:split], frame.iloc[split:].drop(
            columns="benchmark"))
    else:
        _same_calendars(frame)


# ------------------------------------------------------------------ on_sessions
def _old_on_sessions(frame: pd.DataFrame, sessions: pd.DatetimeIndex
                     ) -> tuple[np.ndarray, dict[str, int]]:
    # verbatim from c8176a0:eventstudy/inputs/returns.py (on_sessions)
    values = frame.reindex(sessions).to_numpy(dtype=np.float64, copy=True)
    values[np.isinf(values)] = np.nan
    off = ~frame.index.isin(sessions)
    off_session: dict[str, int] = {}
    if off.any():
        counts = frame.loc[off].notna().sum()
        off_session = {str(k): int(v) for k, v in counts.items() if v > 0}
    return values, off_session


def _session_cases() -> list[tuple[pd.DataFrame, pd.DatetimeIndex]]:
    rng = np.random.default_rng(11)
    days = pd.bdate_range("2024-01-01", periods=60, name="date")
    x = rng.uniform(1, 2, (60, 5))
    x[rng.random(x.shape) < 0.1] = np.nan
    x[3, 1], x[7, 2] = np.inf, -np.inf
    wide = pd.DataFrame(x, index=days, columns=list("ABCDE"))
    sess = days[5:50].delete([3, 9])  # a holiday the data has, rows it lacks
    extra = sess.append(pd.DatetimeIndex(["2024-05-01", "2024-05-02"])).sort_values()
    ints = wide.fillna(0).replace([np.inf, -np.inf], 0).astype(np.int64)
    mixed = wide.assign(E=wide["E"].astype(object))
    dup = pd.concat([wide.iloc[:10], wide.iloc[9:12]])
    return [(wide, sess), (wide, extra), (wide, sess.as_unit("us")),
            (wide.set_axis(days.as_unit("s")), sess), (wide, sess[:0]),
            (wide.iloc[:0], sess), (wide[[]], sess), (ints, sess), (mixed, sess),
            (dup, days[8:11].delete(1)), (wide.iloc[::-1], sess),
            (wide.copy(), days)]


@pytest.mark.parametrize("case", range(12))
def test_on_sessions_is_the_reindexed_frame(case: int) -> None:
    frame, sessions = _session_cases()[case]
    before = frame.copy()
    try:
        old = _old_on_sessions(frame, sessions)
    except Exception as exc:  # noqa: BLE001 - the same failure is expected
        with pytest.raises(type(exc)):
            on_sessions(frame, sessions)
        return
    new = on_sessions(frame, sessions)
    assert new[0].dtype == np.float64 and new[0].shape == old[0].shape
    np.testing.assert_array_equal(_bits(new[0]), _bits(old[0]))
    assert new[1] == old[1]
    assert new[0].flags.writeable
    pd.testing.assert_frame_equal(frame, before)  # the input is left untouched
