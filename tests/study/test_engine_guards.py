"""No silent wrongness in the engine (issue #14, part 4 and 7).

A benchmark equal to the security, a zero residual variance or a singular design
exclude the pair with its reason (numpy kernel, numba kernel, Dask); bootstrap_reps
< 1 is refused; a study whose every pair is excluded raises a typed error counting
the reasons; a scope with no data gives NaN rows with a reason; ``workers = 0``
means automatic.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_panel

from eventstudy.alignment import SELF_BENCHMARK
from eventstudy.cli import cli
from eventstudy.errors import InputError, NoPairsError
from eventstudy.estimation.kernels import available
from eventstudy.estimation.pipeline import SINGULAR, ZERO_SIGMA
from eventstudy.execution import resolve_workers
from eventstudy.study import EventStudy

KERNELS = ["numpy"] + (["numba"] if available() else [])

DEGENERATE = {"ev00": SELF_BENCHMARK, "ev01": ZERO_SIGMA, "ev02": SINGULAR,
              "ev03": ZERO_SIGMA}


def _degenerate() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six events: ev00 benchmarked on itself, ev01 on a duplicate of itself under
    another ticker, ev02 on a flat benchmark, ev03 a stale security; ev04, ev05 fine."""
    p = make_panel(n_pairs=6, seed=4)
    data = p.returns.copy()
    data["DUP"] = data["S01"]
    data["FLAT"] = 0.0
    data["STALE"] = 0.0
    ev = p.events.copy()
    ev["benchmark"] = "MKT"
    ev.loc[0, "benchmark"] = "S00"
    ev.loc[1, "benchmark"] = "DUP"
    ev.loc[2, "benchmark"] = "FLAT"
    ev.loc[3, "ticker"] = "STALE"
    return data, ev


def _study(data: pd.DataFrame, ev: pd.DataFrame, **kw: object) -> EventStudy:
    return EventStudy(data, ev, kind="returns", calendar="FX", benchmark="MKT",
                      **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("kernel", KERNELS)
def test_degenerate_pairs_are_excluded_with_their_reason(kernel: str) -> None:
    data, ev = _degenerate()
    res = _study(data, ev).fit(tests=("csect_t", "bmp"), kernel=kernel)
    assert dict(zip(res.excluded["event_id"], res.excluded["reason"],
                    strict=True)) == DEGENERATE
    assert list(res.diagnostics["event_id"]) == ["ev04", "ev05"]
    assert (res.diagnostics["sigma"] > 0.01).all()
    t = res.tests
    day0 = t[(t["scope"] == "all") & (t["window_kind"] == "day")
             & (t["window_start"] == 0)]
    assert (day0["n"] == 2).all()
    # the kept pairs' numbers are those of a study without the degenerate ones
    ref = _study(data, ev.iloc[4:]).fit(tests=("csect_t", "bmp"), kernel=kernel)
    pd.testing.assert_frame_equal(res.car, ref.car)
    pd.testing.assert_frame_equal(res.tests, ref.tests)


def test_self_benchmark_in_a_universe_row() -> None:
    p = make_panel(n_pairs=3, seed=5)
    uni = pd.DataFrame({"ticker": ["S00", "S01", "S02", "MKT"],
                        "group": ["g", "g", "g", "idx"],
                        "calendar": "FX",
                        "benchmark": ["MKT", "MKT", "MKT", "MKT"]})
    ev = pd.DataFrame({"event_id": ["E1", "E2"],
                       "timestamp": [p.events["timestamp"].iloc[1]] * 2,
                       "groups": ["g", "idx"]})
    res = EventStudy(p.returns, ev, uni, kind="returns").fit(tests=("csect_t",))
    ex = res.excluded
    assert ex.to_dict("records") == [
        {"event_id": "E2", "ticker": "MKT", "reason": SELF_BENCHMARK}]
    assert sorted(res.diagnostics["ticker"]) == ["S00", "S01", "S02"]


def test_constant_mean_security_with_itself_as_benchmark_is_kept() -> None:
    """The constant-mean model has no benchmark: naming itself is harmless."""
    p = make_panel(n_pairs=2, seed=6)
    ev = p.events.copy()
    ev["benchmark"] = ev["ticker"]
    res = _study(p.returns, ev, model="constant_mean").fit(tests=("csect_t",))
    assert res.excluded.empty and res.n_pairs == 2


def test_constant_mean_stale_series_has_zero_sigma() -> None:
    p = make_panel(n_pairs=2, seed=6)
    data = p.returns.assign(S01=0.0)
    res = _study(data, p.events, model="constant_mean").fit(tests=("csect_t",))
    assert res.excluded.to_dict("records") == [
        {"event_id": "ev01", "ticker": "S01", "reason": ZERO_SIGMA}]


def test_dask_path_excludes_the_same_pairs() -> None:
    pytest.importorskip("distributed")
    data, ev = _degenerate()
    local = _study(data, ev).fit(tests=("csect_t",), kernel="numpy")
    dist = _study(data, ev).fit(tests=("csect_t",), kernel="numpy",
                                scheduler="dask", workers=0)  # 0: automatic
    assert dist.timings["workers"] == resolve_workers(0)
    pd.testing.assert_frame_equal(dist.excluded, local.excluded)
    pd.testing.assert_frame_equal(dist.car, local.car)


# ------------------------------------------------------------- bootstrap_reps
@pytest.mark.parametrize("reps", [0, -5, 2.5, True])
def test_bootstrap_reps_below_one_is_refused(reps: object) -> None:
    p = make_panel(n_pairs=2, seed=1)
    with pytest.raises(InputError) as err:
        _study(p.returns, p.events).fit(tests=("boot",),
                                        bootstrap_reps=reps)  # type: ignore[arg-type]
    assert str(err.value) == (
        f"bootstrap_reps = {reps!r}: the bootstrap needs at least 1 resample; use a "
        "whole number such as 999 (tests.bootstrap_reps in the study file)")


def test_one_bootstrap_rep_is_refused_for_the_boot_test_only() -> None:
    p = make_panel(n_pairs=3, seed=1)
    study = _study(p.returns, p.events)
    with pytest.raises(InputError, match=r"^bootstrap_reps = 1: the boot test's "
                                         r"standard deviation needs at least 2"):
        study.fit(tests=("csect_t", "boot"), bootstrap_reps=1)
    t = study.fit(tests=("csect_t",), bootstrap_reps=1, scopes=("all",)).tests
    assert np.isfinite(t["statistic"]).all()
    b2 = study.fit(tests=("boot",), bootstrap_reps=2, scopes=("all",)).tests
    assert np.isfinite(b2["statistic"]).sum() >= 20  # of 25 (2 draws may tie)


# ------------------------------------------------------------ every pair excluded
def test_every_pair_excluded_raises_with_counts_per_reason() -> None:
    data, ev = _degenerate()
    ev = ev.iloc[:4].copy()
    study = EventStudy(data, ev, kind="returns", calendar="FX", benchmark="MKT",
                       sources={"events": "events/my.csv"})
    for tests in (("csect_t",), ("grank", "corrado", "boot", "patell_kp")):
        with pytest.raises(NoPairsError) as err:
            study.fit(tests=tests)
        assert str(err.value) == (
            "events/my.csv: every (event, security) pair was excluded (4 pairs): "
            f"2 {ZERO_SIGMA}; 1 {SELF_BENCHMARK}; 1 {SINGULAR}. Fix the inputs "
            "behind these reasons (each pair is listed in excluded.csv / "
            "results.excluded)")
        assert isinstance(err.value, InputError)
        assert list(err.value.excluded["event_id"]) == ["ev00", "ev01", "ev02",
                                                        "ev03"]


def test_no_pair_at_all_names_the_groups() -> None:
    p = make_panel(n_pairs=2, seed=1)
    uni = pd.DataFrame({"ticker": ["S00"], "group": ["g"], "calendar": "FX",
                        "benchmark": "MKT"})
    ev = pd.DataFrame({"event_id": ["E1"], "timestamp": ["2023-03-01"],
                       "groups": ["nosuch"]})
    with pytest.raises(NoPairsError, match=r"\(1 pair\): 1 no universe security in "
                                           r"groups 'nosuch'\."):
        EventStudy(p.returns, ev, uni, kind="returns").fit()


def test_cli_run_with_every_pair_excluded_exits_2(tmp_path) -> None:
    p = make_panel(n_pairs=2, seed=1)
    p.prices().reset_index().to_csv(tmp_path / "prices.csv", index=False)
    pd.DataFrame({"ticker": ["S00", "S01"], "name": ["a", "b"], "group": "g",
                  "calendar": "FX", "benchmark": ["S00", "S01"],
                  "currency": "USD"}).to_csv(tmp_path / "universe.csv", index=False)
    pd.DataFrame({"event_id": ["E1"], "timestamp": [p.events["timestamp"].iloc[1]],
                  "title": "t", "groups": "g", "source": "", "evidence": "",
                  "confidence": "", "timestamp_source": "", "notes": ""}
                 ).to_csv(tmp_path / "events.csv", index=False)
    (tmp_path / "s.toml").write_text(
        '[study]\nevents = "events.csv"\nuniverse = "universe.csv"\n'
        '[data]\nsource = "file"\nprices = "prices.csv"\n', encoding="utf-8")
    out = CliRunner().invoke(cli, ["run", str(tmp_path / "s.toml"), "--out",
                                   str(tmp_path / "out"), "-q"])
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output
    assert (f"every (event, security) pair was excluded (2 pairs): 2 {SELF_BENCHMARK}"
            in out.output)


def test_scope_without_data_gives_nan_with_a_reason() -> None:
    """An event on the last price date: days 1..10 have no data in its scopes."""
    p = make_panel(n_pairs=3, seed=2)
    ev = p.events.copy()
    ev["group"] = ["a", "a", "b"]
    ev.loc[2, "timestamp"] = p.returns.index[-1].strftime("%Y-%m-%d")
    res = _study(p.returns, ev).fit(tests=("csect_t", "grank", "boot"),
                                    bootstrap_reps=20)
    t = res.tests
    none = t[(t["scope"] == "group") & (t["scope_value"] == "b")
             & (t["window_kind"] == "day") & (t["window_start"] > 0)]
    assert len(none) == 30 and (none["n"] == 0).all()
    assert none["statistic"].isna().all() and none["p_value"].isna().all()
    n0 = int((t["n"] == 0).sum())
    per = t[t["n"] == 0]["test"].value_counts()
    empty = [w for w in res.data_warnings if w.startswith("tests: ")]
    assert empty == [
        f"tests: {n0} row(s) have no statistic (NaN) because no pair of their scope "
        "has data in their window (n = 0): "
        f"csect_t {per['csect_t']}, grank {per['grank']}, boot {per['boot']}"]
    # (the bootstrap of so few pairs also says so, in its own warning)
    assert any(w.startswith("boot: ") for w in res.data_warnings)


def test_no_warning_when_every_scope_has_data() -> None:
    p = make_panel(n_pairs=3, seed=2)
    res = _study(p.returns, p.events).fit(tests=("csect_t",))
    assert not any(w.startswith("tests:") for w in res.data_warnings)


# ------------------------------------------------------------------- workers = 0
def test_workers_zero_and_none_mean_automatic() -> None:
    auto = max(1, min(2, os.cpu_count() or 1))
    assert resolve_workers(0) == resolve_workers(None) == auto
    assert resolve_workers(np.int64(3)) == 3
    p = make_panel(n_pairs=4, seed=3)
    study = _study(p.returns, p.events)
    a = study.fit(tests=("csect_t",), workers=0, chunk_size=2)
    b = study.fit(tests=("csect_t",), workers=None, chunk_size=2)
    c = study.fit(tests=("csect_t",), workers=1, chunk_size=2)
    assert a.timings["workers"] == b.timings["workers"] == auto
    pd.testing.assert_frame_equal(a.car, c.car)


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_bad_workers_are_refused(bad: object) -> None:
    p = make_panel(n_pairs=2, seed=3)
    with pytest.raises(InputError, match=r"workers = .*: give a whole number of "
                                         r"threads or Dask workers, or 0"):
        _study(p.returns, p.events).fit(workers=bad)  # type: ignore[arg-type]
