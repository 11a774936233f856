"""Brown-Warner simulation: size on normal data, reproducibility, workers, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from eventstudy.cli import cli
from eventstudy.inference import TESTS
from eventstudy.simulation import _valid_starts, draw_pairs, simulate


def _panel(seed: int = 1, T: int = 700, S: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.bdate_range("2021-01-04", periods=T)
    m = rng.normal(0, 0.01, T)
    data = {f"S{i:03d}": 0.0002 + 0.8 * m + rng.normal(0, 0.02, T) for i in range(S)}
    return pd.DataFrame(data, index=d).assign(MKT=m)


@pytest.fixture(scope="module")
def size_run() -> pd.DataFrame:
    res = simulate(_panel(), "MKT", kind="returns", calendar="FX", portfolios=600,
                   size=40, shifts=(0.0, 0.02), bootstrap_reps=99, seed=7,
                   estimation=(-150, -11))
    return res.rates


def test_size_within_binomial_interval_for_every_test(size_run: pd.DataFrame) -> None:
    """With normal iid returns every test rejects about 5% of the time: within the
    99.9% binomial interval of the nominal level."""
    from scipy import stats

    r = size_run[(size_run["shift"] == 0.0) & (size_run["sided"] == "two")
                 & (size_run["alpha"] == 0.05)]
    assert set(r["test"]) == {n for n, s in TESTS.items() if not s.per_series}
    for row in r.itertuples():
        lo = stats.binom.ppf(0.0005, row.n, 0.05) / row.n
        hi = stats.binom.ppf(0.9995, row.n, 0.05) / row.n
        if row.test == "skew_bhar":  # conservative here (documented): 40 pairs
            # give resamples of n/4 = 10 and 99 draws an equal-tailed p >= 2/100
            assert row.rate <= hi, (row.test, row.rate, hi)
            continue
        assert lo <= row.rate <= hi, (row.test, row.rate, lo, hi)


def test_power_with_a_2pct_shift(size_run: pd.DataFrame) -> None:
    r = size_run[(size_run["shift"] == 0.02) & (size_run["sided"] == "two")
                 & (size_run["alpha"] == 0.05)].set_index("test")
    assert (r.loc[["csect_t", "patell", "bmp", "corrado"], "rate"] > 0.9).all()


def test_reproducible_and_independent_of_workers() -> None:
    kw = dict(kind="returns", calendar="FX", portfolios=60, size=15,
              shifts=(0.0, 0.01), bootstrap_reps=49, seed=3,
              tests=("csect_t", "bmp", "corrado", "boot"), estimation=(-120, -11))
    a = simulate(_panel(2), "MKT", workers=1, **kw)  # type: ignore[arg-type]
    b = simulate(_panel(2), "MKT", workers=2, **kw)  # type: ignore[arg-type]
    c = simulate(_panel(2), "MKT", workers=1, **kw)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.rates, b.rates)
    pd.testing.assert_frame_equal(a.rates, c.rates)
    d = simulate(_panel(2), "MKT", **{**kw, "seed": 4})  # type: ignore[arg-type]
    assert not a.rates["rejections"].equals(d.rates["rejections"])


def test_draws_are_redrawn_not_dropped() -> None:
    ok = np.ones((50, 4), dtype=bool)
    ok[:, 0] = False          # stock 0 never has complete data
    ok[::2, 1] = False        # stock 1 only on odd dates
    rng = np.random.default_rng(0)
    dates, stocks, redraws = draw_pairs(ok, 30, 3, rng)
    assert ok[dates, stocks].all()
    assert dates.shape == (30, 3)
    assert redraws >= 0
    dates, stocks, _ = draw_pairs(ok, 10, 2, rng, clustered=True)
    assert (dates == dates[:, :1]).all()
    assert ok[dates, stocks].all()
    assert all(len(set(s)) == 2 for s in stocks)


def test_valid_starts_matches_brute_force() -> None:
    rng = np.random.default_rng(5)
    ok = rng.random((60, 5)) > 0.05
    v = _valid_starts(ok, -20, 5)
    for t in range(60):
        for s in range(5):
            lo, hi = t - 20, t + 5
            expect = lo >= 0 and hi < 60 and bool(ok[lo:hi + 1, s].all())
            assert v[t, s] == expect


def test_clustered_shows_correlation_effects() -> None:
    """Clustered dates with a common factor the market model does not remove: the
    KP-adjusted BMP rejects less often than the plain BMP."""
    rng = np.random.default_rng(11)
    T, S = 600, 120
    d = pd.bdate_range("2021-01-04", periods=T)
    m = rng.normal(0, 0.01, T)
    common = rng.normal(0, 0.01, T)  # an industry factor
    data = {f"S{i:03d}": 0.9 * m + common + rng.normal(0, 0.015, T) for i in range(S)}
    r = pd.DataFrame(data, index=d).assign(MKT=m)
    res = simulate(r, "MKT", kind="returns", calendar="FX", portfolios=200, size=30,
                   shifts=(0.0,), tests=("bmp", "bmp_kp"), clustered=True, seed=1,
                   estimation=(-150, -11))
    t = res.rates[(res.rates["alpha"] == 0.05)].set_index("test")
    assert t.loc["bmp", "rate"] > 0.15
    assert t.loc["bmp_kp", "rate"] < t.loc["bmp", "rate"]


def test_cli_simulate_writes_tables(tmp_path: Path) -> None:
    p = tmp_path / "panel.csv"
    prices = 100 * np.exp(_panel(3, T=500, S=60).cumsum())
    prices.reset_index(names="date").to_csv(p, index=False)
    out = tmp_path / "sim"
    r = CliRunner().invoke(cli, [
        "simulate", "--prices", str(p), "--market", "MKT", "--calendar", "FX",
        "--portfolios", "30", "--size", "10", "--shift", "0,0.01", "--tests",
        "csect_t,sign", "--estimation", "-150:-11", "--out", str(out), "--plots"])
    assert r.exit_code == 0, r.output
    for name in ("simulation.csv", "simulation.md", "simulation.json", "power.png"):
        assert (out / name).is_file()
    assert "| csect_t |" in r.output
    bad = CliRunner().invoke(cli, ["simulate", "--prices", str(p), "--market", "NOPE",
                                   "--calendar", "FX", "--out", str(out)])
    assert bad.exit_code == 2 and "NOPE" in bad.output
