"""The scalable path: batched vs a statsmodels loop, chunked vs unchunked, the fast
CSV writer vs pandas, and the benchmark command end to end.

No timing assertions: speed is measured by ``python -m eventstudy.bench`` and
reported in ``docs/benchmark.md``; these tests pin down that the fast paths give
the same numbers and bytes as the plain ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eventstudy.alignment import confounding_labels
from eventstudy.bench import STAGES, main, make_panel, statsmodels_loop
from eventstudy.config import Conventions, Windows
from eventstudy.io.csv import write_csv, write_csv_pandas
from eventstudy.study import EventStudy

WINDOWS = Windows(estimation=(-250, -11), event=(-10, 10),
                  car=((0, 0), (0, 1), (-1, 1), (-5, 5)), min_estimation_obs=120)
FLOATS = ("alpha", "beta", "sigma2", "nobs", "r2", "ret", "normal", "ar", "sar",
          "car_arr", "car_var", "car_days", "resid", "evt_dates")


@pytest.fixture(scope="module")
def panel():
    return make_panel(30, 420, 120, seed=7)


def _messy(panel):
    """The bench panel with gaps and every exclusion reason."""
    prices = panel.prices.copy()
    rng = np.random.default_rng(1)
    holes = rng.random(prices.shape) < 0.02
    holes[:, -1] = False  # keep the market complete
    prices = prices.mask(holes)
    prices.iloc[:300, 3] = np.nan  # S0003 starts late: few estimation returns
    prices.iloc[-60:, 4] = np.nan  # S0004 stops early
    ev = panel.events.copy()
    extra = pd.DataFrame({
        "event_id": ["X_UNKNOWN", "X_EARLY", "X_LATE", "X_S3", "X_S4"],
        "timestamp": [ev["timestamp"].iloc[0], "2014-06-02", "2030-01-02",
                      str(prices.index[330].date()), str(prices.index[-5].date())],
        "ticker": ["NOPE", "S0001", "S0002", "S0003", "S0004"]})
    return prices, pd.concat([ev, extra], ignore_index=True)


def _study(prices, events, model="market", confounding="flag"):
    return EventStudy(prices, events, model=model, windows=WINDOWS,
                      calendar="XNYS", benchmark="MKT", confounding=confounding)


def _bits(a) -> bytes:
    return np.ascontiguousarray(np.asarray(a)).tobytes()


# ---------------------------------------------------------------- vs statsmodels
def test_batched_path_matches_a_statsmodels_loop(panel):
    res = _study(panel.prices, panel.events).fit(tests=("csect_t",))
    assert res.n_pairs == len(panel.events)
    secs, ref = statsmodels_loop(panel, res.pairs_, WINDOWS, res.n_pairs)
    assert secs > 0
    np.testing.assert_allclose(res.alpha, ref["alpha"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.beta, ref["beta"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.sqrt(res.sigma2), ref["sigma"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.ar, ref["ar"], rtol=0, atol=1e-10)


def test_planted_abnormal_returns_show_up_on_day_0(panel):
    res = _study(panel.prices, panel.events).fit(tests=("csect_t",))
    planted = pd.Series(panel.planted, index=panel.events["event_id"])
    day0 = np.asarray(res.ar)[:, 10]
    has = planted.reindex(res.pairs_["event_id"]).to_numpy() > 0
    assert day0[has].mean() == pytest.approx(0.02, abs=0.01)
    assert abs(day0[~has].mean()) < 0.01


# ---------------------------------------------------------------- chunking
@pytest.mark.parametrize(("model", "conv"), [
    ("market", Conventions()),
    ("market", replace(Conventions.profile("estudy2"), aggregation="bhar")),
    ("dimson", Conventions()),
    ("constant_mean", Conventions(forecast_error=False)),
    ("market_adjusted", Conventions()),
])
def test_chunked_results_are_identical_to_unchunked(panel, model, conv):
    prices, events = _messy(panel)
    es = _study(prices, events, model=model)
    tests = ("csect_t", "patell", "bmp")
    base = es.fit(tests=tests, conventions=conv, chunk_size=10**9, workers=1)
    assert len(base.excluded_) >= 4  # unknown, out of range, short history
    reasons = " ".join(base.excluded_["reason"])
    for what in ("ticker has no prices", "estimation returns", "last price"):
        assert what in reasons
    for size, workers in ((7, 1), (16, 2), (1, 2), (len(events) - 1, 2)):
        other = es.fit(tests=tests, conventions=conv, chunk_size=size,
                       workers=workers)
        for name in FLOATS:
            assert _bits(getattr(other, name)) == _bits(getattr(base, name)), name
        pd.testing.assert_frame_equal(other.tests_, base.tests_, check_exact=True)
        pd.testing.assert_frame_equal(other.excluded_, base.excluded_)
        pd.testing.assert_frame_equal(other.pairs_, base.pairs_)


def test_confounding_exclude_with_chunks(panel):
    ev = panel.events.copy()
    ev.loc[1, ["ticker", "timestamp"]] = [ev.loc[0, "ticker"],
                                          ev.loc[0, "timestamp"]]
    es = _study(panel.prices, ev, confounding="exclude")
    a = es.fit(tests=("csect_t",), chunk_size=5, workers=2)
    b = es.fit(tests=("csect_t",), chunk_size=10**6, workers=1)
    assert set(a.excluded_["event_id"]) >= {ev.loc[0, "event_id"],
                                            ev.loc[1, "event_id"]}
    pd.testing.assert_frame_equal(a.excluded_, b.excluded_)
    assert _bits(a.car_arr) == _bits(b.car_arr)


def test_confounding_labels_match_a_plain_loop():
    rng = np.random.default_rng(3)
    n = 400
    ids = np.array([f"e{i}" for i in range(n)], dtype=object)
    sec = rng.integers(0, 12, n)
    pos = np.where(rng.random(n) < 0.05, -1, rng.integers(0, 300, n))
    got = confounding_labels(ids, sec, pos, (-10, 10))
    order = np.lexsort((np.arange(n), pos, sec))
    for i in range(n):
        want = [ids[j] for j in order if j != i and pos[i] >= 0 and pos[j] >= 0
                and sec[j] == sec[i] and -10 <= pos[j] - pos[i] <= 10]
        assert got[i] == ";".join(want)


# ---------------------------------------------------------------- scopes
def test_scopes_default_and_are_recorded(panel):
    es = _study(panel.prices, panel.events)
    res = es.fit(tests=("csect_t",))
    assert res.scopes == ("all", "group", "event", "event_group")
    assert res.run_metadata()["parameters"]["scopes"] == list(res.scopes)
    small = es.fit(tests=("csect_t",), scopes=("all",))
    assert set(small.tests_["scope"]) == {"all"}
    assert small.run_metadata()["parameters"]["scopes"] == ["all"]
    with pytest.raises(ValueError, match="unknown scope"):
        es.fit(tests=("csect_t",), scopes=("everything",))


def test_many_events_default_to_all_and_group_scopes():
    p = make_panel(20, 300, 1001, seed=3)
    res = EventStudy(p.prices, p.events, calendar="XNYS", benchmark="MKT",
                     windows=WINDOWS).fit(tests=("csect_t",))
    assert res.scopes == ("all", "group")
    assert set(res.tests_["scope"]) == {"all", "group"}


# ---------------------------------------------------------------- CSV writer
NASTY = ["plain", "a,b", 'say "hi"', "two\nlines", "", " lead", "ü€", "x;y"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mags = 10.0 ** rng.integers(-18, 18, n)
    f = rng.standard_cauchy(n) * mags
    f[rng.random(n) < 0.05] = np.nan
    f[:6] = [0.0, -0.0, np.inf, -np.inf, 0.5, 9999999999.5]
    ties = (rng.integers(10**9, 10**10, n) + 0.5) * 10.0 ** rng.integers(-14, 3, n)
    stamps = rng.integers(-(10**18), 4 * 10**18, n)
    stamps[rng.random(n) < 0.1] = np.iinfo(np.int64).min
    return pd.DataFrame({
        "s": np.asarray(rng.choice(NASTY, n), dtype=object),
        "f": f,
        "tie": ties,
        "i": rng.integers(-(10**15), 10**15, n),
        "b": rng.random(n) < 0.5,
        "d": pd.to_datetime(stamps),
        "str": pd.array(rng.choice(["u", "v,w", None], n), dtype="str"),
        "f32": rng.normal(size=n).astype(np.float32),
    })


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_csv_writer_gives_the_bytes_of_pandas(tmp_path, seed):
    df = _frame(3000, seed)
    write_csv(df, tmp_path / "fast.csv")
    write_csv_pandas(df, tmp_path / "pandas.csv")
    fast = (tmp_path / "fast.csv").read_bytes()
    assert fast == (tmp_path / "pandas.csv").read_bytes()


def test_csv_writer_falls_back_to_pandas(tmp_path):
    for df in (pd.DataFrame({"only": ["", "x"]}),
               pd.DataFrame({"a": ["c\rr", "x"], "b": [1.0, 2.0]}),
               pd.DataFrame({"a": [1, "x"], "b": [1.0, 2.0]}),
               pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [1, 2]})):
        write_csv(df, tmp_path / "fast.csv")
        write_csv_pandas(df, tmp_path / "pandas.csv")
        assert ((tmp_path / "fast.csv").read_bytes()
                == (tmp_path / "pandas.csv").read_bytes())


def test_saved_tables_equal_the_frames_and_repeat_byte_for_byte(panel, tmp_path):
    prices, events = _messy(panel)
    res = _study(prices, events).fit(tests=("csect_t", "patell"))
    res.save(tmp_path / "a")
    res.save(tmp_path / "b")
    for name, frame in (("abnormal_returns.csv", res.abnormal_returns),
                        ("car.csv", res.car), ("tests.csv", res.tests),
                        ("diagnostics.csv", res.diagnostics),
                        ("excluded.csv", res.excluded)):
        write_csv_pandas(frame, tmp_path / "ref.csv")
        got = (tmp_path / "a" / name).read_bytes()
        assert got == (tmp_path / "ref.csv").read_bytes(), name
        assert got == (tmp_path / "b" / name).read_bytes(), name


# ---------------------------------------------------------------- bench command
def test_bench_runs_end_to_end_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["--securities", "50", "--days", "400", "--events", "300",
                 "--loop-pairs", "40", "--json", str(out), "--out",
                 str(tmp_path / "outputs")])
    assert code == 0
    text = capsys.readouterr().out
    for stage in STAGES:
        assert stage in text
    r = json.loads(out.read_text(encoding="utf-8"))
    assert set(r["stages"]) == set(STAGES)
    assert all(v >= 0 for v in r["stages"].values())
    assert r["pairs"] == 300
    assert r["loop"]["agree_1e-10"] is True
    assert r["loop"]["pairs"] == 40
    assert r["peak_rss_mib"] > 0 and r["pairs_per_second"] > 0
    assert (tmp_path / "outputs" / "abnormal_returns.csv").is_file()
    assert (tmp_path / "outputs" / "run.json").is_file()


def test_bench_module_help_and_bad_size():
    done = subprocess.run([sys.executable, "-m", "eventstudy.bench", "--help"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "--max-memory" in done.stdout and "--loop-pairs" in done.stdout
    with pytest.raises(SystemExit):
        main(["--max-memory", "lots"])


def test_max_memory_sets_the_chunk_size(panel):
    es = _study(panel.prices, panel.events)
    small = es.fit(tests=("csect_t",), max_memory=1, workers=1)
    big = es.fit(tests=("csect_t",), workers=1)
    assert small.timings["chunk_size"] == 64
    assert small.timings["chunks"] > big.timings["chunks"]
    assert _bits(small.car_arr) == _bits(big.car_arr)


def test_sample_outputs_dir_exists(tmp_path):
    # the write stage goes through EventStudyResults.save (atomic)
    main(["--securities", "20", "--days", "300", "--events", "30",
          "--loop-pairs", "5", "--out", str(tmp_path)])
    names = sorted(p.name for p in Path(tmp_path).iterdir())
    assert names == ["abnormal_returns.csv", "car.csv", "diagnostics.csv",
                     "excluded.csv", "run.json", "summary.md", "tests.csv"]
