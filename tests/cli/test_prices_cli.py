"""Issue 4 end to end through the CLI, with the offline yfinance fake.

prices fetch -> run --offline equals run --prices; a second fetch downloads nothing; a
failed fetch leaves the cache byte-identical; refresh twice rewrites nothing the second
time; run --offline on an empty cache fails clearly (exit 2, tickers named).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from fake_yfinance import FakeYahoo

import eventstudy.inputs.sources.yahoo
from eventstudy.cli import cli
from eventstudy.inputs.sources.cache import PriceCache

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "market-data"


def _fake() -> FakeYahoo:
    fake = FakeYahoo(seed=3)
    for t, p in (("7203.T", 2500.0), ("7267.T", 1500.0), ("^TOPX", 2600.0)):
        fake.add_ticker(t, price=p, start="2023-01-02", end="2024-12-31",
                        tz="Asia/Tokyo")
    fake.add_dividend("7203.T", "2023-09-28", 30.0)
    return fake


@pytest.fixture
def study(tmp_path: Path) -> Path:
    d = tmp_path / "study"
    d.mkdir()
    (d / "universe.csv").write_text(
        "ticker,name,group,calendar,benchmark,currency\n"
        "7203.T,Toyota,autos,XTKS,^TOPX,JPY\n"
        "7267.T,Honda,autos,XTKS,^TOPX,JPY\n", encoding="utf-8")
    (d / "events.csv").write_text(
        "event_id,timestamp,title,groups\n"
        "A,2024-06-03,first,autos\n"
        "B,2024-09-10T19:00-04:00,second,autos\n", encoding="utf-8")
    (d / "s.toml").write_text(
        '[study]\nevents = "events.csv"\nuniverse = "universe.csv"\n'
        '[tests]\nnames = ["csect_t", "patell", "bmp"]\n', encoding="utf-8")
    return d / "s.toml"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeYahoo:
    f = _fake()
    monkeypatch.setattr("yfinance.download", f.download)
    monkeypatch.setattr(eventstudy.inputs.sources.yahoo, "YahooProvider",
                        functools.partial(eventstudy.inputs.sources.yahoo.YahooProvider,
                                          sleep=lambda _s: None))
    return f


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def test_fetch_then_offline_run_equals_prices_file(study: Path, tmp_path: Path,
                                                   fake: FakeYahoo) -> None:
    runner = CliRunner()
    cache = tmp_path / "cache"
    r = runner.invoke(cli, ["prices", "fetch", str(study), "--cache-dir", str(cache)])
    assert r.exit_code == 0, r.output
    calls = fake.calls if hasattr(fake, "calls") else None
    before = _snapshot(cache / "prices")
    assert len(before) == 3
    # a second fetch downloads nothing and rewrites nothing
    r2 = runner.invoke(cli, ["prices", "fetch", str(study), "--cache-dir", str(cache)])
    assert r2.exit_code == 0, r2.output
    assert "0 download(s)" in r2.output
    assert _snapshot(cache / "prices") == before
    if calls is not None:
        assert fake.calls == calls
    # run --offline from the cache == run --prices from the same data as a file
    out1 = tmp_path / "o1"
    r3 = runner.invoke(cli, ["run", str(study), "--offline", "--cache-dir", str(cache),
                             "--out", str(out1), "-q"])
    assert r3.exit_code == 0, r3.output
    panel = PriceCache(cache).load_panel(["7203.T", "7267.T", "^TOPX"])
    pfile = tmp_path / "p.csv"
    panel.reset_index().to_csv(pfile, index=False, float_format="%.17g")
    out2 = tmp_path / "o2"
    r4 = runner.invoke(cli, ["run", str(study), "--prices", str(pfile),
                             "--out", str(out2), "-q"])
    assert r4.exit_code == 0, r4.output
    for name in ("abnormal_returns.csv", "car.csv", "tests.csv", "excluded.csv"):
        a = pd.read_csv(out1 / name)
        b = pd.read_csv(out2 / name)
        pd.testing.assert_frame_equal(a, b, rtol=1e-12, atol=1e-14)
    assert len(pd.read_csv(out1 / "excluded.csv")) == 0


def test_failed_fetch_leaves_cache_identical(study: Path, tmp_path: Path,
                                             fake: FakeYahoo) -> None:
    runner = CliRunner()
    cache = tmp_path / "cache"
    assert runner.invoke(cli, ["prices", "fetch", str(study), "--cache-dir",
                               str(cache)]).exit_code == 0
    before = _snapshot(cache / "prices")
    # force a full re-download that fails for every ticker, every retry
    fake.fail_with(ConnectionError("network down"), times=100)
    r = runner.invoke(cli, ["prices", "fetch", str(study), "--cache-dir", str(cache),
                            "--full"])
    # nothing at all could be fetched: exit 2, not 1 (issue 14)
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error: cannot reach Yahoo")
    assert "Traceback" not in r.output
    assert _snapshot(cache / "prices") == before


def test_offline_run_without_cache_fails_clearly(study: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["run", str(study), "--offline", "--cache-dir",
                                 str(tmp_path / "empty"), "--out",
                                 str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "7203.T" in r.output and "Traceback" not in r.output


def test_refresh_twice_rewrites_nothing(study: Path, tmp_path: Path,
                                        fake: FakeYahoo) -> None:
    runner = CliRunner()
    cache = tmp_path / "cache"
    out = tmp_path / "out"
    r1 = runner.invoke(cli, ["refresh", str(study), "--out", str(out), "--cache-dir",
                             str(cache)])
    assert r1.exit_code == 0, r1.output
    assert "rewritten" in r1.output
    assert (out / "report.html").is_file()
    snap = _snapshot(out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix != ".log"}
    r2 = runner.invoke(cli, ["refresh", str(study), "--out", str(out), "--cache-dir",
                             str(cache)])
    assert r2.exit_code == 0, r2.output
    assert "nothing rewritten" in r2.output
    assert {k: v for k, v in _snapshot(out).items() if not k.endswith(".log")} == {
        k: v for k, v in snap.items() if not k.endswith(".log")}
    assert mtimes == {p: p.stat().st_mtime_ns for p in out.iterdir()
                      if p.suffix != ".log"}
    log = tmp_path / "out.refresh.log"  # beside the folder, which is swapped whole
    assert "up to date" in log.read_text(encoding="utf-8")


def test_refresh_partial_failure_exits_1(study: Path, tmp_path: Path,
                                         fake: FakeYahoo) -> None:
    runner = CliRunner()
    cache = tmp_path / "cache"
    out = tmp_path / "out"
    fake.rate_limit(times=100, tickers=("7267.T",))
    r = runner.invoke(cli, ["refresh", str(study), "--out", str(out), "--cache-dir",
                            str(cache)])
    assert r.exit_code == 1, r.output
    assert "7267.T" in r.output
    excluded = pd.read_csv(out / "excluded.csv")
    assert set(excluded["ticker"]) == {"7267.T"}


def test_concurrent_refresh_exits_clearly(study: Path, tmp_path: Path) -> None:
    from filelock import FileLock

    from eventstudy.io.outputset import lock_path

    out = tmp_path / "out"
    out.mkdir()
    with FileLock(str(lock_path(out))):
        r = CliRunner().invoke(cli, ["refresh", str(study), "--out", str(out),
                                     "--offline", "--cache-dir", str(tmp_path / "c")])
    assert r.exit_code == 2
    assert "another run or refresh is writing it" in r.output
    assert "Traceback" not in r.output


def test_prices_check_flags_seed_caveats() -> None:
    r = CliRunner().invoke(cli, ["prices", "check",
                                 str(ROOT / "events" / "japan_us_investment.toml")])
    assert r.exit_code == 0, r.output
    assert "fx_snapshot_close" not in r.output  # JPY=X's as-of time handles it
    assert "096770.KS" in r.output and "extreme_return" in r.output
