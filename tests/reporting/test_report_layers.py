"""The results / reporting / analysis / io split (issue #15): the report formats
registry, what results give the plots (CAAR paths, AR tables as DataFrames), and
which layer imports which."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report import save_run, synthetic_results

import eventstudy
from eventstudy.cli import cli
from eventstudy.errors import InputError
from eventstudy.reporting.build import REPORT_FILES, build_report
from eventstudy.reporting.formats import FORMATS, ReportFormat
from eventstudy.reporting.plots import draw_ar_heatmap, draw_caar, plot_ar_heatmap
from eventstudy.results import EventStudyResults, Summary
from eventstudy.results.paths import caar_path

PACKAGE = Path(eventstudy.__file__).parent


@pytest.fixture(scope="module")
def res() -> EventStudyResults:
    return synthetic_results()


@pytest.fixture(scope="module")
def run_dir(res: EventStudyResults, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_run(res, tmp_path_factory.mktemp("run") / "out", plots=False)


# ------------------------------------------------------------------ the registry
def test_registry_lists_the_formats_in_order() -> None:
    assert list(FORMATS) == ["html", "md", "latex"]
    assert REPORT_FILES == {"html": "report.html", "md": "report.md",
                            "latex": "report.tex"}
    assert all(isinstance(f, ReportFormat) for f in FORMATS.values())


def test_cli_format_choices_come_from_the_registry() -> None:
    report = cli.commands["report"]
    (opt,) = [p for p in report.params if p.name == "fmt"]
    assert list(opt.type.choices) == list(FORMATS)  # type: ignore[attr-defined]


def test_unknown_format_names_the_registered_ones(run_dir: Path) -> None:
    with pytest.raises(InputError) as e:
        build_report(run_dir, "pdf")
    assert str(e.value) == ("unknown report format 'pdf'; choose from html, md, "
                            "latex")


def test_a_registered_format_is_built(run_dir: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a format is one registration: build_report needs no other change."""
    fmt = ReportFormat(filename="report.txt",
                       render=lambda run: f"{len(run.events)} events\n")
    monkeypatch.setitem(FORMATS, "txt", fmt)
    path = build_report(run_dir, "txt")
    assert path == run_dir / "report.txt"
    assert path.read_text(encoding="utf-8") == "2 events\n"
    path.unlink()


def test_format_modules_never_branch_on_a_format_name() -> None:
    for f in ("build.py", "documents.py", "plots.py"):
        text = (PACKAGE / "reporting" / f).read_text(encoding="utf-8")
        for name in FORMATS:
            assert f'== "{name}"' not in text and f"'{name}'" not in text, (f, name)


# --------------------------------------------------------- results give the plots
def test_caar_path_method_is_the_results_function(res: EventStudyResults) -> None:
    a = res.caar_path("EV_ONE", "alpha", (-1, 1))
    b = caar_path(res, "EV_ONE", "alpha", (-1, 1))
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["rel_day", "caar", "se", "n"]
    assert a["rel_day"].tolist() == [-1, 0, 1]
    assert a["n"].tolist() == [3, 3, 3]
    # the last point is the CAR window's CAAR (car table, equal weights)
    car = res.car
    c = car[(car["event_id"] == "EV_ONE") & (car["group"] == "alpha")
            & (car["window_start"] == -1) & (car["window_end"] == 1)]
    assert a["caar"].iloc[-1] == pytest.approx(c["car"].mean(), rel=1e-12)


def test_pair_count(res: EventStudyResults) -> None:
    assert res.pair_count() == res.n_pairs == 8
    assert res.pair_count("EV_ONE") == 5
    assert res.pair_count("EV_ONE", "beta") == 2
    with pytest.raises(InputError, match="no kept pairs for event='NOPE'"):
        res.pair_count("NOPE")


def test_ar_table(res: EventStudyResults) -> None:
    t = res.ar_table("EV_ONE", 0, 2)
    assert list(t.columns) == ["ticker", "group", 0, 1, 2]
    assert t["ticker"].tolist() == ["A1", "A2", "A3", "B1", "B2"]
    ar = res.abnormal_returns
    one = ar[(ar["event_id"] == "EV_ONE") & (ar["ticker"] == "A2")
             & (ar["rel_day"] == 1)]
    assert t.loc[1, 1] == one["abnormal_return"].iloc[0]
    with pytest.raises(InputError, match="no day in 9..12"):
        res.ar_table("EV_ONE", 9, 12)


def test_draw_caar_takes_a_dataframe() -> None:
    path = pd.DataFrame({"rel_day": [0, 1, 2], "caar": [0.01, 0.02, 0.015],
                         "se": [0.004, 0.005, 0.006]})
    fig = draw_caar(path, "made up", 7)
    ax = fig.axes[0]
    assert ax.get_title() == "made up"
    (line,) = ax.get_lines()[:1]
    np.testing.assert_allclose(line.get_ydata(), [1.0, 2.0, 1.5])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "95% band", "CAAR (N = 7)"]


def test_heatmap_draws_the_ar_table(res: EventStudyResults) -> None:
    table = res.ar_table("EV_ONE", 0, 5)
    a = draw_ar_heatmap(table, "EV_ONE").axes[0]
    b = plot_ar_heatmap(res, "EV_ONE", k=5).axes[0]
    assert a.get_title() == b.get_title() == (
        "EV_ONE: abnormal returns, days 0 to +5 (N = 5)")
    np.testing.assert_array_equal(a.images[0].get_array(), b.images[0].get_array())


def test_results_have_no_plot_method_and_keep_summary(res: EventStudyResults) -> None:
    assert not hasattr(EventStudyResults, "plot_car")
    assert isinstance(res.summary(), Summary)
    assert eventstudy.Summary is Summary
    assert res.summary().as_text() == str(res)


# ------------------------------------------------------------------------ layers
def _imported(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "; print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.split()


def test_results_do_not_import_reporting() -> None:
    mods = _imported("import sys, eventstudy.results")
    assert [m for m in mods if m.startswith("eventstudy.reporting")] == []
    for f in sorted((PACKAGE / "results").glob("*.py")):
        assert "eventstudy.reporting" not in f.read_text(encoding="utf-8"), f.name


def test_format_registry_is_light() -> None:
    mods = _imported("import sys, eventstudy.reporting.formats")
    assert [m for m in mods if m in ("pandas", "numpy", "matplotlib")] == []


def test_io_and_analysis_sit_below_results() -> None:
    for sub in ("io/csv.py", "io/markup.py", "io/atomic.py",
                "analysis/cross_section.py"):
        text = (PACKAGE / sub).read_text(encoding="utf-8")
        assert "eventstudy.results" not in text, sub
        assert "eventstudy.reporting" not in text, sub
