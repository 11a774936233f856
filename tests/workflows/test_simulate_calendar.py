"""``simulate`` without a calendar infers it from the panel's dates (issue #14,
part 7), on synthetic panels built from each calendar's sessions; ``workers = 0``
means automatic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from eventstudy.cli import cli
from eventstudy.errors import InputError
from eventstudy.inputs.calendar import get_sessions
from eventstudy.simulation import (
    CALENDAR_FIT,
    CANDIDATE_CALENDARS,
    calendar_fits,
    infer_calendar,
    simulate,
)

CALENDARS = ["XNYS", "XTKS", "XKRX", "XLON", "FX", "24/7"]
SMALL = {"portfolios": 6, "size": 4, "shifts": (0.0,), "tests": ("csect_t",),
         "estimation": (-120, -11), "event": (-5, 5)}


def _panel(dates: pd.DatetimeIndex, n: int = 8, seed: int = 0) -> pd.DataFrame:
    """Prices of ``n`` stocks and a market ``MKT`` on exactly ``dates``."""
    rng = np.random.default_rng(seed)
    m = rng.normal(0, 0.01, len(dates))
    r = {f"S{i}": 0.8 * m + rng.normal(0, 0.015, len(dates)) for i in range(n)}
    r["MKT"] = m
    px = 100 * (1 + pd.DataFrame(r, index=dates)).cumprod()
    px.index.name = "date"
    return px


def _sessions(name: str) -> pd.DatetimeIndex:
    return get_sessions(name, "2022-01-03", "2023-06-30").dates


@pytest.mark.parametrize("name", CALENDARS)
def test_each_calendar_is_recognised_from_its_sessions(name: str) -> None:
    fits = calendar_fits(_sessions(name))
    assert fits[0].name == name
    assert (fits[0].score, fits[0].missing, fits[0].extra) == (1.0, 0, 0)
    assert fits[1].score < 0.99  # the next calendar is a worse fit
    assert [f.score for f in fits] == sorted((f.score for f in fits), reverse=True)
    assert sorted(f.name for f in fits) == sorted(CANDIDATE_CALENDARS)


@pytest.mark.parametrize("name", CALENDARS)
def test_simulate_infers_the_calendar_and_matches_the_explicit_run(name: str) -> None:
    px = _panel(_sessions(name), seed=CALENDARS.index(name))
    auto = simulate(px, "MKT", **SMALL)  # type: ignore[arg-type]
    given = simulate(px, "MKT", calendar=name, **SMALL)  # type: ignore[arg-type]
    assert auto.parameters["calendar"] == name
    assert auto.parameters["calendar_inferred"] is True
    assert auto.parameters["calendar_fit"] == 1.0
    assert "calendar_inferred" not in given.parameters
    pd.testing.assert_frame_equal(auto.rates, given.rates)


def test_a_few_missing_sessions_still_fit() -> None:
    """A Tokyo panel missing 1% of its sessions is still Tokyo (J = 0.99)."""
    d = _sessions("XTKS")
    drop = np.random.default_rng(1).choice(len(d), size=len(d) // 100, replace=False)
    best, second = infer_calendar(d.delete(drop))
    assert best.name == "XTKS" and best.missing == len(d) // 100
    assert best.score == pytest.approx(1 - (len(d) // 100) / len(d))
    assert second is not None and second.name == "FX"


def test_no_calendar_fits_names_the_best_and_how_to_pass_one() -> None:
    weekly = pd.date_range("2022-01-07", "2023-06-30", freq="W-FRI")
    assert CALENDAR_FIT == 0.98
    with pytest.raises(InputError) as err:
        infer_calendar(weekly, source="panel.csv")
    msg = str(err.value)
    best = calendar_fits(weekly)[0]
    assert msg.startswith("panel.csv: its dates fit no calendar well (at least 98% "
                          "agreement needed among XNYS, XTKS, XKRX, XLON")
    assert f"best {best.describe()}" in msg
    assert msg.endswith("Pass the panel's calendar with --calendar NAME (calendar= "
                        f"in the library), e.g. --calendar {best.name}")


def test_cli_prints_the_inferred_calendar(tmp_path: Path) -> None:
    _panel(_sessions("XTKS")).to_csv(tmp_path / "panel.csv")
    args = ["simulate", "--prices", str(tmp_path / "panel.csv"), "--market", "MKT",
            "--portfolios", "6", "--size", "4", "--shift", "0", "--tests",
            "csect_t", "--estimation=-120:-11", "--event=-5:5"]
    out = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "a"),
                                   "--workers", "0"])
    assert out.exit_code == 0, out.output
    second = calendar_fits(_sessions("XTKS"))[1]
    assert out.output.splitlines()[0] == (
        "calendar: XTKS (inferred from the panel's dates: 100.0% agree; next best "
        f"{second.name} {100 * second.score:.1f}%; set it with --calendar)")
    given = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "b"),
                                     "--calendar", "XTKS", "--workers", "1"])
    assert given.exit_code == 0, given.output
    assert not given.output.startswith("calendar:")
    a = pd.read_csv(tmp_path / "a" / "simulation.csv")
    b = pd.read_csv(tmp_path / "b" / "simulation.csv")
    pd.testing.assert_frame_equal(a, b)


def test_cli_exits_2_when_no_calendar_fits(tmp_path: Path) -> None:
    weekly = pd.date_range("2020-01-03", "2023-06-30", freq="W-FRI")
    _panel(weekly).to_csv(tmp_path / "weekly.csv")
    out = CliRunner().invoke(cli, ["simulate", "--prices", str(tmp_path / "weekly.csv"),
                                   "--market", "MKT", "--out", str(tmp_path / "o")])
    assert out.exit_code == 2
    assert "Traceback" not in out.output
    assert f"{tmp_path / 'weekly.csv'}: its dates fit no calendar well" in out.output
    assert "--calendar NAME" in out.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("opt,value", [("--workers", "-1"),
                                       ("--bootstrap-reps", "0")])
def test_cli_refuses_bad_counts(tmp_path: Path, opt: str, value: str) -> None:
    _panel(_sessions("FX")).to_csv(tmp_path / "p.csv")
    out = CliRunner().invoke(cli, ["simulate", "--prices", str(tmp_path / "p.csv"),
                                   "--market", "MKT", "--calendar", "FX", opt, value])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert opt in out.output


def test_library_workers_zero_is_automatic() -> None:
    px = _panel(_sessions("FX"))
    a = simulate(px, "MKT", calendar="FX", workers=0, **SMALL)  # type: ignore[arg-type]
    b = simulate(px, "MKT", calendar="FX", workers=1, **SMALL)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.rates, b.rates)
