"""The output tables go to disk as each is written (on a thread of their own),
before ``run.json``; a failed sync is an error, not a silent loss."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SyntheticPanel

import eventstudy.results.core as core
from eventstudy.errors import OutputError
from eventstudy.study import EventStudy


@pytest.fixture(scope="module")
def results(planted_panel: SyntheticPanel) -> core.EventStudyResults:
    return EventStudy(planted_panel.returns, planted_panel.events, kind="returns",
                      calendar="FX", benchmark="MKT").fit(tests=("csect_t",))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_table_is_synced_before_run_json(results: core.EventStudyResults,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               fmt: str) -> None:
    calls: list[tuple[str, bool, bool]] = []
    real = core.fsync_path

    def spy(path: Path, strict: bool = False) -> None:
        calls.append((path.name, strict, (path.parent / "run.json").exists()))
        real(path, strict)

    monkeypatch.setattr(core, "fsync_path", spy)
    files = results.write_files(tmp_path, fmt=fmt)
    tables = {f.name for f in files} - {"summary.md", "run.json"}
    assert len(tables) == 5
    assert {c[0] for c in calls} == tables
    assert all(strict and not after for _, strict, after in calls)


def test_a_failed_sync_fails_the_save(results: core.EventStudyResults, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: Path, strict: bool = False) -> None:
        raise OSError(5, "Input/output error", str(path))

    monkeypatch.setattr(core, "fsync_path", broken)
    out = tmp_path / "out"
    with pytest.raises(OutputError):
        results.save(out)
    assert not out.exists()  # nothing swapped in
