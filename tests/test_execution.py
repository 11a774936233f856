"""The execution backend: study-file keys, CLI options, and that it never changes
results or the refresh fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from eventstudy.cli import cli
from eventstudy.errors import StudyFileError
from eventstudy.runner import fingerprint, prepare_study
from eventstudy.study import load_study


def _study(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "e.csv").write_text("event_id,timestamp,ticker\nA,2024-03-01,X\n",
                                    encoding="utf-8")
    p = tmp_path / "s.toml"
    p.write_text(f'[study]\nevents = "e.csv"\nuniverse = ""\n{extra}',
                 encoding="utf-8")
    return p


def test_execution_defaults_and_keys(tmp_path: Path) -> None:
    s = load_study(_study(tmp_path))
    assert (s.scheduler, s.workers) == ("local", None)
    s = load_study(_study(tmp_path, '[execution]\nscheduler = "dask"\nworkers = 2\n'))
    assert (s.scheduler, s.workers) == ("dask", 2)
    s = load_study(_study(tmp_path, '[execution]\nscheduler = "tcp://10.0.0.5:8786"\n'))
    assert s.scheduler == "tcp://10.0.0.5:8786"


@pytest.mark.parametrize("body", ['scheduler = "spark"', "workers = -1",
                                  'workers = "two"'])
def test_bad_execution_keys(tmp_path: Path, body: str) -> None:
    with pytest.raises(StudyFileError, match="execution"):
        load_study(_study(tmp_path, f"[execution]\n{body}\n"))


def test_scheduler_does_not_change_the_fingerprint(tmp_path: Path) -> None:
    p = _study(tmp_path)
    a = prepare_study(p)
    b = prepare_study(p, scheduler="dask", workers=2)
    assert fingerprint(a, {"x": "1"}) == fingerprint(b, {"x": "1"})


def test_cli_rejects_unknown_scheduler(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["run", str(_study(tmp_path)), "--scheduler", "spark",
                                 "--prices", str(tmp_path / "missing.csv")])
    assert r.exit_code == 2
    assert "Traceback" not in r.output
