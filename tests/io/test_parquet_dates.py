"""Parquet date columns: per-value day numbers taken through the row index equal
the datetime64 conversion of the gathered column (the writer's former path)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from eventstudy.io.parquet import _arrow


def _reference(values: np.ndarray, index: np.ndarray | None) -> pa.Array:
    v = values if index is None else values[index]
    return pa.array(v.astype("datetime64[D]"), type=pa.date32(), mask=np.isnat(v))


def _cases() -> list[tuple[np.ndarray, np.ndarray | None]]:
    rng = np.random.default_rng(7)
    ns = rng.integers(-3 * 10**18, 3 * 10**18, 5000)
    v = ns.view("datetime64[ns]").copy()
    v[::37] = np.datetime64("NaT")
    idx = rng.integers(0, len(v), 20000)
    nat = np.full(4, np.datetime64("NaT"), dtype="datetime64[ns]")
    # times of day before and after midnight, either side of the epoch (floor)
    edge = np.array(["1969-12-31T23:59:59.999999999", "1970-01-01T00:00:00",
                     "1969-12-31T00:00:00.000000001", "1899-12-31T12:00",
                     "2200-12-31T23:00"], dtype="datetime64[ns]")
    return [(v, None), (v, idx), (v.astype("datetime64[us]"), idx),
            (v.astype("datetime64[s]"), None), (v[:0], None),
            (v[:0], np.zeros(0, dtype=np.int64)), (nat, None),
            (nat, np.array([3, 0, 0])), (edge, None), (edge, np.array([4, 0, 2, 2]))]


@pytest.mark.parametrize("case", range(len(_cases())))
def test_dates_equal_the_gathered_conversion(case: int) -> None:
    values, index = _cases()[case]
    got, want = _arrow(values, index), _reference(values, index)
    assert got.type == pa.date32() and got.equals(want)


def test_days_outside_date32_take_the_library_path() -> None:
    """Beyond int32 days the former conversion runs (whatever pyarrow does with
    them, raise or not, is the same)."""
    far = np.array(["1970-01-01", "7000000-01-01"], dtype="datetime64[D]")
    assert far.view(np.int64)[1] > np.iinfo(np.int32).max

    def outcome(f: object) -> object:
        try:
            return f()  # type: ignore[operator]
        except (pa.ArrowInvalid, OverflowError, ValueError) as exc:
            return type(exc)

    want = outcome(lambda: _reference(far, np.array([1, 0])))
    got = outcome(lambda: _arrow(far, np.array([1, 0])))
    assert got == want if isinstance(want, type) else got.equals(want)
