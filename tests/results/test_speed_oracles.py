"""Oracle tests for the speed rewrites of issue #20 in ``eventstudy.results``:
``summary.clustered_scopes`` (factorised codes instead of a groupby per scope) and
``core._resid_stats`` (no ``both`` mask, blocks on two threads) must give the results
of the implementations they replaced, bit for bit.

The oracles below are the OLD implementations, copied verbatim from
``git show 450a99c:eventstudy/results/summary.py`` and
``git show 450a99c:eventstudy/results/core.py`` (only renamed with a leading
``_old_``); they are private to this file and must not be "fixed".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstudy.results.core import _resid_stats
from eventstudy.results.summary import clustered_scopes

pytestmark = [pytest.mark.filterwarnings("ignore:Could not infer format:UserWarning"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ the oracles
# Verbatim from 450a99c:eventstudy/results/summary.py (clustered_scopes).
def _old_clustered_scopes(pairs: pd.DataFrame) -> dict[tuple[str, str], bool]:
    if not len(pairs):
        return {}
    d = pd.to_datetime(pairs["day0"], errors="coerce").dt.strftime("%Y-%m-%d")
    q = pd.DataFrame({"eg": pairs["event_id"].astype(str) + ":"
                      + pairs["group"].astype(str),
                      "group": pairs["group"].astype(str).to_numpy(),
                      "all": "all", "day0": d.fillna("").to_numpy()})
    out: dict[tuple[str, str], bool] = {}
    for scope, col in (("event_group", "eg"), ("group", "group"), ("all", "all")):
        g = q.groupby(col, sort=False)["day0"]
        for key, many in (g.size() > g.nunique()).items():
            out[(scope, str(key))] = bool(many)
    return out


# Verbatim from 450a99c:eventstudy/results/core.py (_resid_stats).
def _old_resid_stats(r: np.ndarray, block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: the number of residuals and their first-order autocorrelation
    (adjacent estimation days both present), in row blocks."""
    P = r.shape[0]
    n = np.zeros(P, dtype=np.int64)
    ac1 = np.full(P, np.nan)
    for lo in range(0, P, block):
        x = r[lo:lo + block]
        ok = np.isfinite(x)
        cnt = ok.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(ok, x, 0.0).sum(axis=1, keepdims=True) / cnt[:, None]
            a = np.where(ok, x - mean, 0.0)
            both = ok[:, 1:] & ok[:, :-1]
            ac1[lo:lo + block] = ((a[:, 1:] * a[:, :-1] * both).sum(1)
                                  / (a**2).sum(1))
        n[lo:lo + block] = cnt
    return n, ac1


# ------------------------------------------------------------ clustered_scopes
def _same_scopes(pairs: pd.DataFrame) -> dict[tuple[str, str], bool]:
    """The new result, asserted equal to the oracle's INCLUDING key order."""
    new = clustered_scopes(pairs)
    old = _old_clustered_scopes(pairs)
    assert list(new.items()) == list(old.items())
    assert all(type(v) is bool for v in new.values())
    return new


def _pairs(ev: list[Any], gr: list[Any], d0: Any) -> pd.DataFrame:
    return pd.DataFrame({"event_id": ev, "group": gr, "day0": d0})


def test_clustered_scopes_docstring_case_exact() -> None:
    p = _pairs(["E1", "E1", "E2"], ["a", "a", "b"],
               ["2025-01-02", "2025-01-02", "2025-02-03"])
    assert list(_same_scopes(p).items()) == [
        (("event_group", "E1:a"), True), (("event_group", "E2:b"), False),
        (("group", "a"), True), (("group", "b"), False), (("all", "all"), True)]


def test_clustered_scopes_empty() -> None:
    assert _same_scopes(_pairs([], [], [])) == {}


def test_clustered_scopes_one_pair() -> None:
    assert list(_same_scopes(_pairs(["E1"], ["g"], ["2024-03-04"])).items()) == [
        (("event_group", "E1:g"), False), (("group", "g"), False),
        (("all", "all"), False)]


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_clustered_scopes_datetime64_and_nat(unit: str) -> None:
    d0 = pd.Series(pd.to_datetime(["2024-01-02", "2024-01-02 15:30", None,
                                   "2024-01-03", None, "2024-01-02"],
                                  format="mixed")).dt.as_unit(unit)
    p = _pairs(["E1", "E1", "E1", "E2", "E2", "E3"], ["a", "a", "a", "a", "b", "b"],
               d0)
    got = _same_scopes(p)
    # a time of day is the same day-0 date; the NaT of E1:a is one more "date"
    assert got[("event_group", "E1:a")] is True
    assert got[("event_group", "E2:b")] is False


def test_clustered_scopes_tz_aware_day0() -> None:
    d0 = pd.to_datetime(["2024-01-02 23:00", "2024-01-02 01:00", "2024-01-03"],
                        format="mixed").tz_localize("Asia/Tokyo")
    p = _pairs(["E1", "E1", "E1"], ["a", "a", "a"], d0)
    assert _same_scopes(p)[("group", "a")] is True


def test_clustered_scopes_unparseable_cells_count_as_one_date() -> None:
    p = _pairs(["E1", "E1", "E2", "E2", "E3", "E3"], ["a"] * 6,
               ["not a date", "", "2024-13-45", None, "2024-01-02", "garbage"])
    got = _same_scopes(p)
    assert got[("event_group", "E1:a")] is True  # both unparseable: one "date"
    assert got[("event_group", "E3:a")] is False


def test_clustered_scopes_duplicated_event_ids_across_groups() -> None:
    p = _pairs(["E1", "E1", "E1", "E2", "E1"], ["b", "a", "b", "a", "a"],
               ["2024-01-02", "2024-01-02", "2024-01-05", "2024-01-02", "2024-01-02"])
    got = _same_scopes(p)
    assert list(got)[:3] == [("event_group", "E1:b"), ("event_group", "E1:a"),
                             ("event_group", "E2:a")]
    assert got[("event_group", "E1:a")] is True
    assert got[("event_group", "E1:b")] is False


def test_clustered_scopes_non_string_ids_and_odd_index() -> None:
    p = pd.DataFrame({"event_id": [1, 2, 1, 2.5], "group": [0, 0, 1, 0],
                      "day0": ["2024-01-02", "2024-01-02", "2024-01-02",
                               "2024-01-09"]},
                     index=[10, 3, 7, 5])
    got = _same_scopes(p)
    assert got[("group", "0")] is True
    assert ("event_group", "1.0:0") in got  # a float column's text


def test_clustered_scopes_group_with_colon_collides_like_before() -> None:
    # "E:1" + "a" and "E" + "1:a" make the same event_group key, before and after
    p = _pairs(["E:1", "E"], ["a", "1:a"], ["2024-01-02", "2024-01-02"])
    assert _same_scopes(p)[("event_group", "E:1:a")] is True


@pytest.mark.parametrize("missing", [None, np.nan])
def test_clustered_scopes_missing_group_or_event_id(missing: Any) -> None:
    p = _pairs(["E1", "E1", missing, "E2"], ["a", missing, "a", "a"],
               ["2024-01-02", "2024-01-02", "2024-01-02", "2024-01-03"])
    _same_scopes(p)


_DAYS = st.one_of(
    st.sampled_from(["2024-01-02", "2024-01-03", "2024-01-02 09:30", "2024-02-29",
                     "", "nope", "2024-02-30"]),
    st.none(),
)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["E1", "E2", "E3", "E10", "e1"]),
                          st.sampled_from(["a", "b", "A", " a", "g:1"]), _DAYS),
                min_size=1, max_size=40),
       st.booleans())
def test_clustered_scopes_random_string_days(rows: list[tuple[str, str, Any]],
                                             as_datetime: bool) -> None:
    ev, gr, d0 = (list(x) for x in zip(*rows, strict=True))
    day0: Any = d0
    if as_datetime:
        day0 = pd.to_datetime(pd.Series(d0, dtype=object), errors="coerce",
                              format="mixed")
    _same_scopes(_pairs(ev, gr, day0))


# ---------------------------------------------------------------- _resid_stats
def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.int64)


def _same_stats(r: np.ndarray, block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    n, ac1 = _resid_stats(r, block)
    n0, ac10 = _old_resid_stats(r, block)
    assert n.dtype == n0.dtype == np.int64
    assert ac1.dtype == ac10.dtype == np.float64
    assert n.shape == n0.shape == ac1.shape == (r.shape[0],)
    np.testing.assert_array_equal(n, n0)
    np.testing.assert_array_equal(_bits(ac1), _bits(ac10))
    return n, ac1


def test_resid_stats_hand_rows_exact() -> None:
    nan, inf = np.nan, np.inf
    r = np.array([
        [nan, nan, nan, nan],          # all missing: n 0, ac1 NaN
        [0.0, 0.0, 0.0, 0.0],          # zeros: 0/0 -> NaN
        [-0.0, -0.0, 0.0, -0.0],       # signed zeros
        [1.0, -1.0, 1.0, -1.0],        # alternating: ac1 < 0
        [1.0, nan, 2.0, 3.0],          # a gap
        [inf, 1.0, 2.0, -inf],         # infinite cells are missing
        [nan, 5.0, nan, nan],          # one value
        [1e308, 1e308, 1e308, 1.0],    # the mean overflows to inf
        [-2.0, nan, -0.0, 4.0],
    ])
    n, ac1 = _same_stats(r)
    assert n.tolist() == [0, 4, 4, 4, 3, 2, 1, 4, 3]
    assert np.isnan(ac1[[0, 1, 2, 6]]).all()
    assert ac1[3] == -0.75


def test_resid_stats_single_column_and_no_rows() -> None:
    _same_stats(np.array([[1.0], [np.nan], [-0.0], [np.inf]]))
    _same_stats(np.empty((0, 5)))
    _same_stats(np.empty((3, 0)))


def test_resid_stats_non_contiguous_input() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(50, 30))
    x[rng.random(x.shape) < 0.2] = np.nan
    _same_stats(np.asfortranarray(x))
    _same_stats(x[::2, ::3])


@pytest.mark.parametrize("P,block", [(4096, 4096), (4097, 4096), (9000, 4096),
                                     (7, 3), (6, 3), (3, 3), (2, 3)])
def test_resid_stats_blocks_and_threads(P: int, block: int) -> None:
    """P <= block runs inline; more rows than one block run on two threads."""
    rng = np.random.default_rng(P * 31 + block)
    x = rng.standard_t(3, size=(P, 24))
    m = rng.random(x.shape)
    x[m < 0.15] = np.nan
    x[m > 0.995] = np.inf
    x[(m > 0.5) & (m < 0.51)] = -0.0
    x[::97] = np.nan          # whole rows missing
    x[1::89] = 0.0            # whole rows of zeros
    _same_stats(x, block)


_CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -1.0]),
)


@SETTINGS
@given(st.integers(1, 12), st.integers(1, 9), st.integers(1, 5), st.data())
def test_resid_stats_random(P: int, T: int, block: int, data: st.DataObject) -> None:
    cells = data.draw(st.lists(_CELLS, min_size=P * T, max_size=P * T))
    _same_stats(np.array(cells, dtype=np.float64).reshape(P, T), block)
