"""Oracle tests for the speed rewrites of issue #20 in ``eventstudy.alignment``:
``pair_asofs`` (one resolution per distinct key by factorised codes) and
``_columns_of`` (each distinct name looked up once) must give the results of the
code they replaced.

The oracles below are the OLD code, copied verbatim from
``git show 450a99c:eventstudy/alignment.py`` (``pair_asofs``, renamed
``_old_pair_asofs``; and the two lines of ``align`` that ``_columns_of`` replaced:
``index.get_indexer(pd.Index(tick)).astype(np.int64)``); private to this file, never
to be "fixed".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstudy.alignment import _columns_of, pair_asofs
from eventstudy.errors import InputError
from eventstudy.inputs.calendar import resolve_asof

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ the oracles
# Verbatim from 450a99c:eventstudy/alignment.py (pair_asofs).
def _old_pair_asofs(pairs: pd.DataFrame, source: str = "the universe") -> np.ndarray:
    cells = (pairs["asof"].fillna("").astype(str) if "asof" in pairs.columns
             else pd.Series("", index=pairs.index))
    keys = pd.DataFrame({"t": pairs["ticker"].astype(str),
                         "c": pairs["calendar"].astype(str), "a": cells})
    uniq = keys.drop_duplicates()
    out: dict[tuple[str, str, str], str] = {}
    for t, c, a in uniq.itertuples(index=False, name=None):
        try:
            out[(t, c, a)] = resolve_asof(t, c, a)
        except InputError as exc:
            raise InputError(f"{source}: ticker {t!r}: {exc}") from exc
    res: np.ndarray = np.array([out[k] for k in zip(keys["t"], keys["c"], keys["a"],
                                                    strict=True)], dtype=object)
    return res


# The lookup in 450a99c:eventstudy/alignment.py's align (tcol = ..., bcol = ...).
def _old_columns_of(index: pd.Index, names: np.ndarray) -> np.ndarray:
    return index.get_indexer(pd.Index(names)).astype(np.int64)


# ------------------------------------------------------------------ pair_asofs
def _same_asofs(pairs: pd.DataFrame, source: str = "the universe") -> list[str]:
    new, old = pair_asofs(pairs, source), _old_pair_asofs(pairs, source)
    assert isinstance(new, np.ndarray) and new.dtype == object == old.dtype
    assert new.shape == old.shape == (len(pairs),)
    assert new.tolist() == old.tolist()
    assert all(type(v) is str for v in new.tolist())
    return list(new.tolist())


LON, NY = "00:00 Europe/London", "16:00 America/New_York"


def test_pair_asofs_docstring_case_exact() -> None:
    p = pd.DataFrame({"ticker": ["JPY=X", "7203.T"], "calendar": ["FX", "XTKS"]})
    assert _same_asofs(p) == [LON, "close"]


def test_pair_asofs_without_asof_column_fx_and_exchanges() -> None:
    p = pd.DataFrame({"ticker": ["JPY=X", "7203.T", "DEXJPUS", "JPY=X", "EUR=X",
                                 "JPY=X", "AAPL"],
                      "calendar": ["FX", "XTKS", "FX", "XTKS", "FX@17:00 America/"
                                   "New_York", "FX", "XNYS"]})
    got = _same_asofs(p)
    assert got[:4] == [LON, "close", "close", "close"]
    assert got[5:] == [LON, "close"]


def test_pair_asofs_asof_column_with_nan_and_non_range_index() -> None:
    p = pd.DataFrame({"ticker": ["JPY=X", "JPY=X", "AAPL", "AAPL", "JPY=X", "SAP.DE"],
                      "calendar": ["FX", "FX", "XNYS", "XNYS", "FX", "XETR"],
                      "asof": [np.nan, "close", " 16:00   America/New_York ", None,
                               "16:00 America/New_York -1", ""]},
                     index=[50, 7, 7, 3, -1, 12])
    got = _same_asofs(p)
    assert got == [LON, "close", NY, "close", NY + " -1", "close"]


def test_pair_asofs_all_nan_asof_column_and_empty_frame() -> None:
    p = pd.DataFrame({"ticker": ["JPY=X", "A"], "calendar": ["FX", "XNYS"],
                      "asof": [np.nan, np.nan]}, index=pd.Index(["x", "y"]))
    assert _same_asofs(p) == [LON, "close"]
    assert _same_asofs(p.iloc[:0]) == []
    assert _same_asofs(p.iloc[:0].drop(columns="asof")) == []


def test_pair_asofs_bad_asof_same_message_naming_ticker() -> None:
    p = pd.DataFrame({"ticker": ["AAPL", "SAP.DE", "SAP.DE", "7203.T"],
                      "calendar": ["XNYS", "XETR", "XETR", "XTKS"],
                      "asof": ["close", "25:00 Europe/Berlin", "16:00", "noon"]})
    with pytest.raises(InputError) as new:
        pair_asofs(p, source="universe.csv")
    with pytest.raises(InputError) as old:
        _old_pair_asofs(p, source="universe.csv")
    assert str(new.value) == str(old.value)
    assert str(new.value).startswith("universe.csv: ticker 'SAP.DE': ")
    assert "25:00 Europe/Berlin" in str(new.value)


def test_pair_asofs_missing_ticker() -> None:
    p = pd.DataFrame({"ticker": ["AAPL", None, "JPY=X"],
                      "calendar": ["XNYS", "XNYS", "FX"],
                      "asof": ["", "16:00 America/New_York", ""]})
    _same_asofs(p)


def test_pair_asofs_separator_in_names() -> None:
    # both rows' joined key is "A\x1fXNYS\x1f16:00 America/New_York\x1f"
    p = pd.DataFrame({"ticker": ["A", "A"],
                      "calendar": ["XNYS\x1f16:00 America/New_York", "XNYS"],
                      "asof": ["", "16:00 America/New_York\x1f"]})
    assert _old_pair_asofs(p).tolist() == ["close", NY]
    _same_asofs(p)


_TICKERS = st.sampled_from(["JPY=X", "EUR=X", "DEXJPUS", "7203.T", "AAPL", "=X",
                            "", " JPY=X"])
_CALENDARS = st.sampled_from(["FX", "XTKS", "XNYS", "FX@17:00 America/New_York",
                              "fx", ""])
_ASOFS = st.sampled_from(["", "close", "16:00 America/New_York",
                          "00:00 Europe/London -1", " 12:00  Asia/Tokyo ", None,
                          np.nan])


@SETTINGS
@given(st.lists(st.tuples(_TICKERS, _CALENDARS, _ASOFS), max_size=25),
       st.booleans(), st.booleans())
def test_pair_asofs_random(rows: list[tuple[str, str, Any]], with_asof: bool,
                           shuffled_index: bool) -> None:
    p = pd.DataFrame(rows, columns=["ticker", "calendar", "asof"], dtype=object)
    if not with_asof:
        p = p.drop(columns="asof")
    if shuffled_index:
        p.index = np.arange(len(p))[::-1] * 2
    _same_asofs(p)


# ------------------------------------------------------------------ _columns_of
def _same_columns(index: pd.Index, names: np.ndarray) -> list[int]:
    new, old = _columns_of(index, names), _old_columns_of(index, names)
    assert new.dtype == old.dtype == np.int64
    assert new.shape == old.shape == (len(names),)
    np.testing.assert_array_equal(new, old)
    return list(new.tolist())


COLS = pd.Index(["AAPL", "^GSPC", "JPY=X", "7203.T"])


def test_columns_of_hand_names_exact() -> None:
    names = np.array(["JPY=X", "AAPL", "nope", "JPY=X", "", None, np.nan, "aapl",
                      " AAPL", "^GSPC"], dtype=object)
    assert _same_columns(COLS, names) == [2, 0, -1, 2, -1, -1, -1, -1, -1, 1]


@pytest.mark.parametrize("names", [
    np.array([], dtype=object), np.array([None, None], dtype=object),
    np.array([np.nan], dtype=object), np.array(["", ""], dtype=object),
    np.array(["AAPL"] * 5, dtype=object), np.array(["7203.T", "^GSPC"]),
], ids=["empty", "nones", "nan", "blanks", "repeated", "unicode_dtype"])
def test_columns_of_edge_names(names: np.ndarray) -> None:
    _same_columns(COLS, names)


@pytest.mark.parametrize("index", [
    pd.Index([], dtype=object), pd.Index(["", "A"]), pd.Index(["A", None]),
    pd.Index(["A", np.nan], dtype=object), pd.Index(["A", "B"], dtype=object),
], ids=["empty", "blank_label", "none_label", "nan_label", "object_dtype"])
def test_columns_of_odd_indexes(index: pd.Index) -> None:
    names = np.array(["A", "", None, np.nan, "B", "A"], dtype=object)
    _same_columns(index, names)


@SETTINGS
@given(st.lists(st.sampled_from(["AAPL", "^GSPC", "JPY=X", "7203.T", "X", "", None,
                                 np.nan]), max_size=30))
def test_columns_of_random(names: list[Any]) -> None:
    _same_columns(COLS, np.array(names, dtype=object))
