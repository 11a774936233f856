"""``eventstudy bench --cli`` (issue #20 part 5): the whole command timed in fresh
processes, stage by stage, start-up and exit included (no timing assertions: the
stages partition the wall time, every figure is a min <= median <= max)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from eventstudy.bench import CLI_STAGES, format_cli_report, run_cli_bench
from eventstudy.cli import cli


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bench-cli")
    r = CliRunner().invoke(cli, ["bench", "--write-inputs", str(folder),
                                 "--securities", "20", "--days", "320",
                                 "--events", "40"])
    assert r.exit_code == 0, r.output
    return folder


def test_stages_partition_the_wall_time(inputs: Path) -> None:
    r = run_cli_bench(inputs, runs=1, formats=("parquet",), warmup=0)
    assert r["pairs"] == 40 and r["runs"] == 1
    got = r["parquet"]
    assert list(got["stages"]) == list(CLI_STAGES)
    total = sum(v[1] for v in got["stages"].values())
    assert total == pytest.approx(got["wall"][1], abs=1e-6)
    assert all(v[0] >= 0 for v in got["stages"].values())
    assert got["cpu"][1] > 0 and got["peak_rss_mib"][1] > 10
    assert sorted(p.name for p in (inputs / "out-parquet").iterdir()) == [
        "abnormal_returns.parquet", "car.parquet", "diagnostics.parquet",
        "events.parquet", "excluded.parquet", "run.json", "summary.md",
        "tests.parquet"]
    text = format_cli_report(r)
    for stage in CLI_STAGES:
        assert f"\n{stage:<17}" in text
    assert "40 pairs, 1 runs per format" in text


def test_bench_command_prints_and_writes_json(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.json"
    r = CliRunner().invoke(cli, ["bench", "--cli", str(inputs), "--runs", "1",
                                 "--formats", "csv", "--json", str(out)])
    assert r.exit_code == 0, r.output
    figures = json.loads(out.read_text())
    assert set(figures) == {"pairs", "runs", "inputs", "command", "csv"}
    lo, mid, hi = figures["csv"]["wall"]
    assert lo <= mid <= hi
    assert "csv min / median / max (s)" in r.output
    assert (inputs / "out-csv" / "abnormal_returns.csv").is_file()


def test_timed_processes_keep_the_bytecode_cache(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """The command and the peer run without PYTHONDONTWRITEBYTECODE (a user's
    shell does not set it), everything else of the environment kept."""
    import subprocess

    from eventstudy import bench

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("EVENTSTUDY_PROBE", "kept")
    env = bench.user_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env and env["EVENTSTUDY_PROBE"] == "kept"
    seen: list[dict[str, str]] = []

    class Stop(Exception):
        pass

    def popen(*args: object, **kw: object) -> None:
        seen.append(kw["env"])  # type: ignore[arg-type]
        raise Stop

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(subprocess, "run", popen)
    with pytest.raises(Stop):
        bench.time_cli_run(tmp_path / "s.toml", tmp_path / "o", "csv",
                           tmp_path / "t.json")
    with pytest.raises(Stop):
        bench.run_peer("python", tmp_path / "peer.py", tmp_path)
    assert len(seen) == 2
    assert all("PYTHONDONTWRITEBYTECODE" not in e and e["EVENTSTUDY_PROBE"] == "kept"
               for e in seen)
