"""The execution backend: study-file keys, CLI options, and that it never changes
results or the refresh fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from eventstudy.cli import cli
from eventstudy.config import load_study
from eventstudy.errors import StudyFileError
from eventstudy.workflows import fingerprint, prepare_study


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
    # refused for the scheduler, before the (also missing) prices are read
    assert "unknown scheduler 'spark'" in r.output, r.output
    assert "missing.csv" not in r.output
    assert "Traceback" not in r.output


def test_value_weights_without_their_column_are_refused() -> None:
    import numpy as np
    import pandas as pd

    from eventstudy import Conventions, EventStudy
    from eventstudy.errors import InputError

    d = pd.bdate_range("2022-01-03", periods=300)
    rng = np.random.default_rng(0)
    r = pd.DataFrame({"A": rng.normal(0, 0.01, 300), "M": rng.normal(0, 0.01, 300)},
                     index=d)
    ev = pd.DataFrame({"event_id": ["e"], "timestamp": ["2023-01-05"], "ticker": ["A"]})
    es = EventStudy(r, ev, kind="returns", calendar="FX", benchmark="M")
    with pytest.raises(InputError, match="'mcap' names no column"):
        es.fit(conventions=Conventions(weights="mcap"))


def test_cli_cross_section(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    from eventstudy import EventStudy, Windows

    d = pd.bdate_range("2022-01-03", periods=400)
    rng = np.random.default_rng(1)
    m = rng.normal(0, 0.01, 400)
    r = pd.DataFrame({f"S{i}": 0.9 * m + rng.normal(0, 0.01, 400) for i in range(8)},
                     index=d).assign(M=m)
    ev = pd.DataFrame({"event_id": [f"e{i}" for i in range(8)],
                       "timestamp": ["2023-06-01"] * 8,
                       "ticker": [f"S{i}" for i in range(8)],
                       "group": ["a", "b"] * 4})
    res = EventStudy(r, ev, kind="returns", calendar="FX", benchmark="M",
                     windows=Windows(car=((0, 0), (-1, 1)))).fit()
    res.save(tmp_path)
    out = CliRunner().invoke(cli, ["cross-section", str(tmp_path), "car ~ group + beta",
                                   "--window", "-1:1"])
    assert out.exit_code == 0, out.output
    table = pd.read_csv(tmp_path / "cross_section.csv")
    expect = res.cross_section("car ~ group + beta", window=(-1, 1))
    # the CSV files carry 10 significant digits
    np.testing.assert_allclose(table["estimate"], expect["estimate"], rtol=1e-6,
                               atol=1e-9)
    bad = CliRunner().invoke(cli, ["cross-section", str(tmp_path), "car ~ nosuch"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
