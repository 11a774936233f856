"""Tests of eventstudy.reporting: plots, the CAAR band, write_plots and
build_report.

The image-regression test compares a fixed synthetic study's CAR plot with
``tests/data/car_plot_reference.png``. After an intended change of the plot (or of the
engine's numbers), regenerate the reference with either of::

    python -m tests.test_report --regen
    EVENTSTUDY_REGEN_IMAGES=1 pytest tests/reporting/test_report.py -k image

and review the new PNG before committing it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from eventstudy.config import Conventions, Windows
from eventstudy.errors import InputError
from eventstudy.reporting.build import REPORT_FILES, build_report
from eventstudy.reporting.names import plot_file_stem
from eventstudy.reporting.plots import (
    plot_ar_heatmap,
    plot_car,
    plot_event_overview,
    write_plots,
)
from eventstudy.results import EventStudyResults, Summary, stars
from eventstudy.study import EventStudy

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "car_plot_reference.png"
REGEN_ENV = "EVENTSTUDY_REGEN_IMAGES"
RMS_TOLERANCE = 2 / 255  # RMS pixel difference, channels scaled to [0, 1]
REF_SIZE = (6.0, 3.6)  # inches
REF_DPI = 80

TICKERS = (("A1", "alpha"), ("A2", "alpha"), ("A3", "alpha"), ("B1", "beta"),
           ("B2", "beta"))


def synthetic_results(model: str = "market", seed: int = 7,
                      conventions: Conventions | None = None,
                      windows: Windows | None = None) -> EventStudyResults:
    """Two events on a 24/5 calendar; +3% planted on day 0 for the alpha group.

    ``EV_ONE`` covers groups alpha and beta, ``EV_TWO`` only alpha; the universe's
    ticker ``C9`` (beta) has no prices, so one pair is excluded.
    """
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-01-02", periods=420)
    m = rng.normal(0.0003, 0.01, len(dates))
    cols: dict[str, np.ndarray] = {"MKT": m}
    for i, (tk, _) in enumerate(TICKERS):
        cols[tk] = 0.0002 + (0.8 + 0.1 * i) * m + rng.normal(0, 0.012, len(dates))
    r = pd.DataFrame(cols, index=dates)
    events = pd.DataFrame({"event_id": ["EV_ONE", "EV_TWO"],
                           "timestamp": ["2024-03-01", "2024-05-15"],
                           "groups": ["alpha;beta", "alpha"]})
    for ts in events["timestamp"]:
        pos = int(dates.searchsorted(pd.Timestamp(ts)))
        r.iloc[pos, 1:4] = r.iloc[pos, 1:4].to_numpy() + 0.03
    universe = pd.DataFrame({
        "ticker": [t for t, _ in TICKERS] + ["C9"],
        "group": [g for _, g in TICKERS] + ["beta"],
        "calendar": "FX", "benchmark": "MKT"})
    es = EventStudy(r, events, universe, kind="returns", model=model,
                    windows=windows or Windows(estimation=(-200, -11), event=(-5, 5),
                                               car=((0, 0), (-1, 1), (-5, 5)),
                                               min_estimation_obs=100))
    res: EventStudyResults = es.fit(tests=("csect_t", "patell", "bmp"),
                                    conventions=conventions)
    return res


@pytest.fixture(scope="module")
def res() -> EventStudyResults:
    return synthetic_results()


def save_run(res: EventStudyResults, out: Path, info: dict[str, Any] | None = None,
             *, plots: bool = True, events: pd.DataFrame | None = None) -> Path:
    """Write a complete output set as ``eventstudy run [--plots]`` does: tables,
    ``events.csv`` (when given), plots and ``run.json`` listing them, swapped in
    whole."""
    from eventstudy.io.outputset import write_set

    def write(stage: Path) -> None:
        if events is not None:
            events.to_csv(stage / "events.csv", index=False, lineterminator="\n")
        if plots:
            write_plots(res, stage / "plots")
        res.write_files(stage, info)

    write_set(out, write)
    return out


def read_csv(path: Path) -> pd.DataFrame:
    """A run's CSV as written (text columns kept as text)."""
    text = ("scope_value", "event_id", "group", "ticker", "reason", "confounded_by")
    df = pd.read_csv(path, keep_default_na=False, na_values=[""],
                     dtype={c: str for c in text})
    for c in text:
        if c in df.columns:
            df[c] = df[c].fillna("")
    return df


def csv_test_row(out: Path, key: str, window: tuple[int, int],
                 test: str = "csect_t", scope: str = "event_group") -> pd.Series:
    """One row of ``out/tests.csv`` (the CAR-window row)."""
    t = read_csv(out / "tests.csv")
    row = t[(t["scope"] == scope) & (t["scope_value"] == key)
            & (t["window_start"] == window[0]) & (t["window_end"] == window[1])
            & (t["test"] == test) & (t["window_kind"] == "car")]
    assert len(row) == 1
    return row.iloc[0]


@pytest.fixture(scope="module")
def run_dir(res: EventStudyResults, tmp_path_factory: pytest.TempPathFactory
            ) -> Path:
    """A finished run with plots, as ``eventstudy run --plots`` leaves it."""
    return save_run(res, tmp_path_factory.mktemp("run") / "out",
                    {"study": "synthetic.toml"})


def _window_tests(res: EventStudyResults, key: str, window: tuple[int, int],
                  test: str = "csect_t") -> pd.Series:
    t = res.tests
    row = t[(t["scope"] == "event_group") & (t["scope_value"] == key)
            & (t["window_start"] == window[0]) & (t["window_end"] == window[1])
            & (t["test"] == test)]
    assert len(row) >= 1  # a one-day CAR window also appears as that day's AAR row
    return row.iloc[0]


# ------------------------------------------------------------------ CAAR path and band
class TestCaarPath:
    def test_matches_engine_caar_at_window_end(self, res: EventStudyResults) -> None:
        path = res.caar_path("EV_ONE", "alpha")
        assert list(path.columns) == ["rel_day", "caar", "se", "n"]
        assert path["rel_day"].tolist() == list(range(-5, 6))
        last = path.iloc[-1]
        expected = _window_tests(res, "EV_ONE:alpha", (-5, 5))["mean"]
        assert last["caar"] == pytest.approx(expected, rel=1e-10)
        assert int(last["n"]) == 3

    @staticmethod
    def _engine_var(res: EventStudyResults, event: str, group: str) -> float:
        c = res.car
        c = c[(c["event_id"] == event) & (c["group"] == group)
              & (c["window_start"] == -5) & (c["window_end"] == 5)]
        return float((c["car_se"] ** 2).sum())

    def test_band_bounds_engine_variance(self, res: EventStudyResults) -> None:
        """Market model: never narrower than the engine's CAR variance, and close."""
        for ev, grp in (("EV_ONE", "alpha"), ("EV_ONE", "beta"), ("EV_TWO", "alpha")):
            last = res.caar_path(ev, grp).iloc[-1]
            ours = float(last["se"] ** 2 * last["n"] ** 2)
            engine = self._engine_var(res, ev, grp)
            assert ours >= engine * (1 - 1e-12)
            assert ours <= engine * 1.05

    @pytest.mark.parametrize("model", ["constant_mean", "market_adjusted"])
    def test_band_exact_without_slopes(self, model: str) -> None:
        r = synthetic_results(model=model)
        last = r.caar_path("EV_ONE", "alpha").iloc[-1]
        ours = float(last["se"] ** 2 * last["n"] ** 2)
        assert ours == pytest.approx(self._engine_var(r, "EV_ONE", "alpha"), rel=1e-9)

    def test_band_exact_without_forecast_error(self) -> None:
        r = synthetic_results(conventions=Conventions(forecast_error=False))
        last = r.caar_path("EV_ONE", "alpha").iloc[-1]
        ours = float(last["se"] ** 2 * last["n"] ** 2)
        assert ours == pytest.approx(self._engine_var(r, "EV_ONE", "alpha"), rel=1e-9)

    def test_unknown_selection_raises(self, res: EventStudyResults) -> None:
        with pytest.raises(InputError, match="NOPE"):
            res.caar_path("NOPE")


# ------------------------------------------------------------------------------- plots
class TestPlots:
    def test_plot_car_returns_figure_without_show(
            self, res: EventStudyResults, monkeypatch: pytest.MonkeyPatch) -> None:
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        def boom(*_a: Any, **_k: Any) -> None:
            raise AssertionError("plt.show() must never be called")

        monkeypatch.setattr(plt, "show", boom)
        before = plt.get_fignums()
        fig = plot_car(res, event="EV_ONE", group="alpha")
        assert isinstance(fig, Figure)
        assert plt.get_fignums() == before  # no pyplot global figure state
        ax = fig.axes[0]
        assert "N = 3" in ax.get_title()
        assert len(ax.collections) >= 1  # the band
        x = np.asarray(ax.lines[0].get_xdata())
        assert list(x) == list(range(-5, 6))
        y = np.asarray(ax.lines[0].get_ydata())
        assert y[-1] == pytest.approx(
            100 * _window_tests(res, "EV_ONE:alpha", (-5, 5))["mean"])
        assert any(np.asarray(line.get_xdata())[0] == 0
                   and line.get_linestyle() == "--"
                   for line in ax.lines[1:])  # day 0 marked

    def test_plot_car_into_given_axes(self, res: EventStudyResults) -> None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 3))
        ax1, ax2 = fig.subplots(1, 2)
        out = plot_car(res, event="EV_TWO", ax=ax2)
        assert out is fig
        assert not ax1.lines and ax2.lines
        assert "EV_TWO" in ax2.get_title()

    def test_plot_car_pools_all_pairs(self, res: EventStudyResults) -> None:
        fig = plot_car(res)
        assert f"N = {res.n_pairs}" in fig.axes[0].get_title()

    def test_plot_car_is_a_reporting_function(self, res: EventStudyResults) -> None:
        import eventstudy

        assert not hasattr(res, "plot_car")  # plots are reports, not results
        fig = eventstudy.plot_car(res, event="EV_ONE", group="beta")
        assert fig.axes[0].get_title() == "EV_ONE / beta: CAAR[-5, +5] (N = 2)"

    def test_overview_has_one_line_per_group(self, res: EventStudyResults) -> None:
        fig = plot_event_overview(res, "EV_ONE")
        ax = fig.axes[0]
        legend = ax.get_legend()
        assert legend is not None
        labels = [t.get_text() for t in legend.get_texts()]
        assert labels == ["alpha (N = 3)", "beta (N = 2)"]

    def test_heatmap_shape_and_values(self, res: EventStudyResults) -> None:
        fig = plot_ar_heatmap(res, "EV_ONE", k=3)
        img = fig.axes[0].images[0].get_array()
        assert img is not None
        assert img.shape == (5, 4)
        ar = res.abnormal_returns
        a1 = ar[(ar["event_id"] == "EV_ONE") & (ar["ticker"] == "A1")
                & (ar["rel_day"] == 0)]["abnormal_return"].iloc[0]
        assert img[0, 0] == pytest.approx(100 * a1)
        ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        assert ticks == ["0", "+1", "+2", "+3"]
        with pytest.raises(InputError):
            plot_ar_heatmap(res, "EV_ONE", k=-1)

    def test_file_stems_are_safe(self) -> None:
        assert plot_file_stem("car", "E1", "g") == "car_E1_g"
        assert plot_file_stem("car", "E05_JP_DEAL", "jp_autos") == (
            "car_E05_JP_DEAL_jp_autos")  # unchanged names keep their plain stem
        # sanitised names carry 8 hex digits of the raw names' SHA-256
        assert plot_file_stem("heatmap", "a b/c:d") == "heatmap_a_b_c_d-befac96c"
        assert plot_file_stem("pooled", "") == "pooled"


def test_import_does_not_load_matplotlib() -> None:
    code = ("import sys, eventstudy.reporting.plots, eventstudy.reporting.build, "
            "eventstudy.results; "
            "assert not any(m == 'matplotlib' or m.startswith('matplotlib.') "
            "for m in sys.modules), 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


class TestWritePlots:
    def test_names_and_formats(self, res: EventStudyResults, run_dir: Path) -> None:
        names = sorted(p.name for p in (run_dir / "plots").iterdir())
        stems = ["car_EV_ONE_alpha", "car_EV_ONE_beta", "car_EV_TWO_alpha",
                 "heatmap_EV_ONE", "heatmap_EV_TWO", "overview_EV_ONE",
                 "overview_EV_TWO", "pooled"]
        assert names == sorted(f"{s}.{e}" for s in stems for e in ("png", "svg"))

    def test_deterministic_bytes(self, res: EventStudyResults, run_dir: Path,
                                 tmp_path: Path) -> None:
        written = write_plots(res, tmp_path)
        assert [p.name for p in written][:4] == [
            "car_EV_ONE_alpha.png", "car_EV_ONE_alpha.svg", "car_EV_ONE_beta.png",
            "car_EV_ONE_beta.svg"]
        for p in written:
            assert p.read_bytes() == (run_dir / "plots" / p.name).read_bytes(), p.name
        assert not list(tmp_path.glob(".*"))  # no temporary file left
        svg = (tmp_path / "car_EV_ONE_alpha.svg").read_text(encoding="utf-8")
        assert "<dc:date>" not in svg
        png = (tmp_path / "car_EV_ONE_alpha.png").read_bytes()
        assert b"Software" not in png and b"tIME" not in png

    @pytest.mark.parametrize(("event", "heat"), [
        ((1, 4), True),
        pytest.param((-8, -2), False),
    ])
    def test_event_window_without_day0(self, tmp_path: Path, event: tuple[int, int],
                                       heat: bool) -> None:
        r = synthetic_results(windows=Windows(estimation=(-200, -11), event=event,
                                              car=(event,), min_estimation_obs=100))
        names = {p.name for p in write_plots(r, tmp_path)}
        assert "car_EV_ONE_alpha.svg" in names and "overview_EV_TWO.png" in names
        assert ("heatmap_EV_ONE.png" in names) is heat

    def test_independent_of_user_rcparams(self, res: EventStudyResults,
                                          run_dir: Path, tmp_path: Path) -> None:
        import matplotlib

        with matplotlib.rc_context({"lines.linewidth": 7, "axes.facecolor": "red"}):
            written = write_plots(res, tmp_path)
        assert all(p.read_bytes() == (run_dir / "plots" / p.name).read_bytes()
                   for p in written)


# --------------------------------------------------------------------- image regression
def render_reference_png(path: Path) -> None:
    """Render the fixed synthetic study's CAR plot exactly as the reference was."""
    import matplotlib
    import matplotlib.style

    res = synthetic_results()
    with matplotlib.style.context("default"), matplotlib.rc_context(
            {"svg.hashsalt": "eventstudy"}):
        fig = plot_car(res, event="EV_ONE", group="alpha")
        fig.set_size_inches(*REF_SIZE)
        fig.savefig(path, format="png", dpi=REF_DPI, metadata={"Software": None})


def rms_difference(a: Path, b: Path) -> float:
    """RMS pixel difference of two PNGs (channels in [0, 1]); inf if sizes differ."""
    import matplotlib.image as mpimg

    x = np.asarray(mpimg.imread(a), dtype=np.float64)
    y = np.asarray(mpimg.imread(b), dtype=np.float64)
    if x.shape != y.shape:
        return float("inf")
    return float(np.sqrt(np.mean((x - y) ** 2)))


def test_image_regression_car_plot(tmp_path: Path) -> None:
    if os.environ.get(REGEN_ENV) == "1":
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        render_reference_png(REFERENCE)
        pytest.skip(f"regenerated {REFERENCE}")
    assert REFERENCE.is_file(), (f"missing {REFERENCE}; regenerate with "
                                 "python -m tests.test_report --regen")
    got = tmp_path / "car.png"
    render_reference_png(got)
    rms = rms_difference(got, REFERENCE)
    assert rms < RMS_TOLERANCE, (
        f"CAR plot differs from {REFERENCE.name}: RMS {rms * 255:.2f}/255; if the "
        "change is intended, regenerate with python -m tests.test_report --regen")


# ------------------------------------------------------------------------------ report
class TestBuildReport:
    def test_markdown(self, res: EventStudyResults, run_dir: Path) -> None:
        path = build_report(run_dir, "md")
        assert path == run_dir / "report.md"
        text = path.read_text(encoding="utf-8")
        for heading in ("# Event study report", "## Study parameters",
                        "## Data sources", "## Summary", "## Pooled results",
                        "## EV_ONE", "## EV_TWO", "## Excluded pairs",
                        "## Data-quality warnings", "## Run metadata"):
            assert f"\n{heading}\n" in f"\n{text}", heading
        row = csv_test_row(run_dir, "EV_ONE:alpha", (0, 0))
        caar = f"{100 * row['mean']:.2f}"
        assert f"| {caar}{stars(row['p_value'])} |" in text  # summary table
        assert (f"| alpha | 2024-03-01 | [0, 0] | 3 | {caar} | "
                f"{row['statistic']:.2f}{stars(row['p_value'])} (") in text
        # pooled rows: every test from tests.csv, the mean of car.csv's CARs
        car = read_csv(run_dir / "car.csv")
        c = car[(car["window_start"] == -1) & (car["window_end"] == 1)
                & (car["group"] == "beta")]["car"]
        cells = [f"{100 * c.mean():.2f}"]
        for test in ("csect_t", "patell", "bmp"):
            r = csv_test_row(run_dir, "beta", (-1, 1), test, scope="group")
            assert r["mean"] == pytest.approx(c.mean(), abs=1e-9)
            p = "<0.001" if r["p_value"] < 0.001 else f"{r['p_value']:.3f}"
            cells.append(f"{r['statistic']:.2f}{stars(r['p_value'])} ({p})")
        line = f"| group beta | [-1, +1] | {len(c)} | " + " | ".join(cells) + " |"
        assert line in text
        assert "| EV_ONE | C9 | ticker has no prices |" in text
        assert "![overview_EV_ONE](plots/overview_EV_ONE.png)" in text
        assert "![pooled](plots/pooled.png)" in text
        assert "- **model**: market" in text

    def test_latex(self, run_dir: Path) -> None:
        text = build_report(run_dir, "latex").read_text(encoding="utf-8")
        assert text.startswith("% Event study report")
        assert r"\usepackage{booktabs}" in text and r"\toprule" in text
        assert r"\midrule" in text and r"\bottomrule" in text
        assert r"\subsection*{EV\_ONE}" in text
        assert "$^{**}$" in text or "$^{***}$" in text or "$^{*}$" in text
        assert text.count(r"\begin{longtable}") == text.count(r"\end{longtable}")
        assert text.rstrip().endswith(r"\end{document}")
        body = text.split(r"\begin{document}", 1)[1]
        assert "_" not in body.replace(r"\_", "")  # every underscore escaped

    @pytest.mark.skipif(shutil.which("pdflatex") is None,
                        reason="pdflatex not installed; LaTeX compile check skipped")
    def test_latex_compiles(self, run_dir: Path, tmp_path: Path) -> None:
        tex = build_report(run_dir, "latex")
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode",
                               "-halt-on-error", f"-output-directory={tmp_path}",
                               str(tex)], capture_output=True, text=True,
                              timeout=120, check=False, cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert (tmp_path / "report.pdf").is_file()
        assert "Overfull" not in proc.stdout

    def test_html(self, res: EventStudyResults, run_dir: Path) -> None:
        text = build_report(run_dir, "html").read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>")
        for hid in ("parameters", "data-sources", "summary", "pooled",
                    "event-EV_ONE", "event-EV_TWO", "excluded", "data-warnings",
                    "run-metadata"):
            assert f"<h2 id='{hid}'>" in text, hid
        row = csv_test_row(run_dir, "EV_ONE:alpha", (0, 0))
        assert f"<td class='num'>{100 * row['mean']:.2f}</td>" in text
        assert "ticker has no prices" in text
        # 3 CAR plots, 2 overviews, 2 heat tables and the pooled plot
        assert text.count("<img src='data:image/svg+xml;base64,") == 8
        assert "http://" not in text and "https://" not in text
        assert "<script" not in text and "<link" not in text and "@import" not in text

    def test_html_without_plots(self, res: EventStudyResults, tmp_path: Path) -> None:
        save_run(res, tmp_path / "out", plots=False)
        tmp_path = tmp_path / "out"
        text = build_report(tmp_path, "html").read_text(encoding="utf-8")
        assert "<img" not in text and "run with --plots" in text

    def test_data_warnings_listed(self, res: EventStudyResults,
                                  tmp_path: Path) -> None:
        quality = [f"A{i}: stale_run 2024-01-0{i}..2024-01-0{i} (3) <b>"
                   for i in range(1, 4)]
        save_run(res, tmp_path, {"data_warnings": ["A1: 3 stale prices <b>"],
                                 "data_quality": quality}, plots=False)
        text = build_report(tmp_path, "html").read_text(encoding="utf-8")
        assert "<li>A1: 3 stale prices &lt;b&gt;</li>" in text
        for q in quality:
            esc = q.replace("<", "&lt;").replace(">", "&gt;")
            assert f"<li>{esc}</li>" in text
        assert "<h3>Data-quality checks (3)</h3>" in text
        assert "<h3>Alignment and engine warnings (1)</h3>" in text
        assert ("Warnings: 3 data-quality findings and 1 alignment or engine "
                "warning") in text
        assert "No data-quality" not in text and "No alignment" not in text
        md = build_report(tmp_path, "md").read_text(encoding="utf-8")
        assert "- A1: 3 stale prices <b>" in md
        assert "### Data-quality checks (3)\n\n- " + quality[0] + "\n" in md
        tex = build_report(tmp_path, "latex").read_text(encoding="utf-8")
        assert r"\paragraph{Data-quality checks (3)}" in tex
        assert r"\item A2: stale\_run 2024-01-02..2024-01-02 (3) <b>" in tex
        assert r"\item A1: 3 stale prices <b>" in tex

    def test_no_warnings_said_so(self, run_dir: Path) -> None:
        md = build_report(run_dir, "md").read_text(encoding="utf-8")
        # issue #17: the fixture's 3-pair scopes carry the small-N warning only
        assert ("### Data-quality checks (0)\n\nNo data-quality findings.\n\n"
                "### Alignment and engine warnings (1)\n\n") in md
        assert "small N: " in md

    @pytest.mark.parametrize("fmt", sorted(REPORT_FILES))
    def test_deterministic(self, run_dir: Path, fmt: str) -> None:
        a = build_report(run_dir, fmt).read_bytes()  # type: ignore[arg-type]
        b = build_report(run_dir, fmt).read_bytes()  # type: ignore[arg-type]
        assert a == b

    def test_reads_only_run_files(self, run_dir: Path, tmp_path: Path) -> None:
        """A copy of the run's files (without summary.md or ARs) is enough."""
        for name in ("run.json", "tests.csv", "car.csv", "excluded.csv",
                     "diagnostics.csv"):
            shutil.copy(run_dir / name, tmp_path / name)
        text = build_report(tmp_path, "md").read_text(encoding="utf-8")
        assert "## EV_TWO" in text

    def test_atomic_write(self, run_dir: Path, tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:
        out = tmp_path / "run"
        shutil.copytree(run_dir, out, ignore=shutil.ignore_patterns("plots"))
        target = out / "report.md"
        target.write_text("old report\n", encoding="utf-8")

        def fail(src: Any, dst: Any) -> None:
            raise OSError("disk full")

        monkeypatch.setattr("eventstudy.io.atomic.os.replace", fail)
        with pytest.raises(OSError, match="disk full"):
            build_report(out, "md")
        assert target.read_text(encoding="utf-8") == "old report\n"
        assert not [p for p in out.iterdir() if p.name.startswith(".")]
        monkeypatch.undo()
        build_report(out, "md")
        assert target.read_text(encoding="utf-8").startswith("# Event study report")

    def test_not_a_run_folder(self, tmp_path: Path) -> None:
        with pytest.raises(InputError) as err:
            build_report(tmp_path, "html")
        assert str(tmp_path) in str(err.value)
        assert "run.json" in str(err.value) and "not a finished run" in str(err.value)
        with pytest.raises(InputError, match="not a folder"):
            build_report(tmp_path / "missing", "md")

    def test_partial_run_names_missing_files(self, run_dir: Path,
                                             tmp_path: Path) -> None:
        (tmp_path / "run.json").write_text(
            (run_dir / "run.json").read_text(encoding="utf-8"), encoding="utf-8")
        with pytest.raises(InputError, match="tests.csv, car.csv"):
            build_report(tmp_path, "md")

    def test_bad_run_json(self, run_dir: Path, tmp_path: Path) -> None:
        for name in ("tests.csv", "car.csv", "excluded.csv", "diagnostics.csv"):
            shutil.copy(run_dir / name, tmp_path / name)
        (tmp_path / "run.json").write_text("{not json", encoding="utf-8")
        with pytest.raises(InputError, match="run.json is unreadable"):
            build_report(tmp_path, "md")

    def test_unknown_format(self, run_dir: Path) -> None:
        with pytest.raises(InputError, match="unknown report format"):
            build_report(run_dir, "pdf")  # type: ignore[arg-type]

    def test_cli_report(self, run_dir: Path, tmp_path: Path) -> None:
        from click.testing import CliRunner

        from eventstudy.cli import cli

        r = CliRunner().invoke(cli, ["report", str(run_dir), "--format", "md"])
        assert r.exit_code == 0, r.output
        assert "report.md" in r.output
        r = CliRunner().invoke(cli, ["report", str(tmp_path)])
        assert r.exit_code == 2
        assert "not a finished" in r.output and "Traceback" not in r.output


# ----------------------------------------------------------------------------- Summary
class TestSummary:
    def test_renderings(self, res: EventStudyResults, run_dir: Path) -> None:
        s = res.summary()
        assert isinstance(s, Summary)
        for i, (key, w) in enumerate((("EV_ONE:alpha", (0, 0)),
                                      ("EV_ONE:beta", (-1, 1)),
                                      ("EV_TWO:alpha", (-5, 5)))):
            row = csv_test_row(run_dir, key, w)
            assert s.table.iloc[i][f"CAAR[{w[0]},{w[1]}] %"] == (
                f"{100 * row['mean']:.2f}{stars(row['p_value'])}")
        assert list(s.table.columns) == ["event", "group", "day 0", "n",
                                         "CAAR[0,0] %", "CAAR[-1,1] %",
                                         "CAAR[-5,5] %"]
        assert len(s.table) == 3
        assert s.as_text().startswith("Event study summary")
        assert "| event | group | day 0 | n |" in s.as_markdown()
        assert "<table class='es-summary'>" in s._repr_html_()
        assert str(s) == s.as_text()

    def test_without_event_group_tests(self, res: EventStudyResults,
                                       tmp_path: Path) -> None:
        """Tests run on fewer scopes: CAARs fall back to mean CARs, without stars."""
        from dataclasses import replace

        r = replace(res, tests_=res.tests_[res.tests_["scope"] != "event_group"])
        table = r.summary().table
        r.save(tmp_path)
        c = read_csv(tmp_path / "car.csv")
        c = c[(c["event_id"] == "EV_ONE") & (c["group"] == "alpha")
              & (c["window_start"] == -1) & (c["window_end"] == 1)]
        assert table.loc[0, "CAAR[-1,1] %"] == f"{100 * c['car'].mean():.2f}"
        assert table["n"].tolist() == [3, 2, 3]
        md = build_report(tmp_path, "md").read_text(encoding="utf-8")
        assert f"| [-1, +1] | 3 | {100 * c['car'].mean():.2f} |" in md

    def test_latex_stars_and_escapes(self) -> None:
        s = Summary("t", pd.DataFrame({"event": ["E_1"], "CAAR %": ["1.23**"],
                                       "x": ["0.5*"], "y": ["-2.00***"]}), ())
        tex = s.as_latex()
        assert r"E\_1" in tex and r"CAAR \%" in tex
        assert "1.23$^{**}$" in tex and "0.5$^{*}$" in tex and "-2.00$^{***}$" in tex
        assert r"\toprule" in tex and r"\bottomrule" in tex

    def test_save_writes_summary(self, run_dir: Path) -> None:
        text = (run_dir / "summary.md").read_text(encoding="utf-8")
        assert text.startswith("# Event study summary")
        info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        assert info["parameters"]["tests"] == ["csect_t", "patell", "bmp"]


# -------------------------------------------------- Summary renderings (vectorised)
_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#",
        "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}"}


def _tex_ref(v: object) -> str:
    """LaTeX escaping written out here (not report's helper): stars after a
    number become superscripts."""
    import re

    out = "".join(_TEX.get(ch, ch) for ch in str(v))
    return re.sub(r"(?<=[0-9.])(\*{1,3})(?!\*)", r"$^{\1}$", out)


def _old_renderings(s: Summary) -> dict[str, str]:
    """The row-by-row renderings of a one-table Summary, written out independently
    of report.py's helpers (row loop, stdlib escaping, pandas' to_string)."""
    import html as html_mod

    def md_cell(v: object) -> str:
        return str(v).replace("|", r"\|").replace("\n", " ")

    cols = list(s.table.columns)
    rows = [[str(r[c]) for c in cols] for _, r in s.table.iterrows()]
    body = s.table.to_string(index=False) if len(s.table) else "(no pairs)"
    md = [f"# {s.title}", ""]
    if cols:
        md += ["| " + " | ".join(md_cell(c) for c in cols) + " |",
               "|" + "|".join("---" for _ in cols) + "|"]
        md += ["| " + " | ".join(md_cell(v) for v in r) + " |" for r in rows]
    md += [""] + [f"- {n}" for n in s.notes]
    head = "".join(f"<th>{html_mod.escape(str(c))}</th>" for c in cols)
    hbody = "".join("<tr>" + "".join(f"<td>{html_mod.escape(v)}</td>" for v in r)
                    + "</tr>" for r in rows)
    notes = "".join(f"<li>{html_mod.escape(n)}</li>" for n in s.notes)
    spec = "ll" + "r" * max(len(cols) - 2, 0)
    tex = [r"\begin{tabular}{" + spec + "}", r"\toprule",
           " & ".join(_tex_ref(c) for c in cols) + r" \\", r"\midrule"]
    tex += [" & ".join(_tex_ref(v) for v in r) + r" \\" for r in rows]
    tex += [r"\bottomrule", r"\end{tabular}"]
    return {
        "text": f"{s.title}\n{body}\n" + "\n".join(s.notes) + "\n",
        "md": "\n".join(md) + "\n",
        "html": (f"<h3>{html_mod.escape(s.title)}</h3><table class='es-summary'>"
                 f"<thead><tr>{head}</tr></thead><tbody>{hbody}</tbody></table>"
                 f"<ul>{notes}</ul>"),
        "latex": "\n".join(tex) + "\n",
    }


def _assert_renderings_unchanged(s: Summary) -> None:
    old = _old_renderings(s)
    assert s.as_text() == old["text"]
    assert s.as_markdown() == old["md"]
    assert s.as_html() == old["html"]
    assert s.as_latex() == old["latex"]


TRICKY = pd.DataFrame({
    "event": ["E_1 & <b>", "x|y", "100% $5 #3 ~^ {a} \\ 'q' \"d\"", "", "éあ"],
    "group": ["g", "", "a b", "  lead", "trail  "],
    "day 0": ["2025-01-02", "", "2025-01-03", "2025-01-04", "2025-01-05"],
    "n": np.array([6, -12, 0, 123456, 7], dtype=np.int64),
    "CAAR[0,0] %": ["1.23**", "-0.50***", "", "0.5*", "2.00"],
})


class TestSummaryRenderings:
    def test_unchanged_for_results(self, res: EventStudyResults) -> None:
        _assert_renderings_unchanged(res.summary())
        _assert_renderings_unchanged(res.summary("patell"))

    def test_unchanged_for_tricky_cells(self) -> None:
        s = Summary("t & <x>", TRICKY, ("note | 1", "note & <2>"))
        _assert_renderings_unchanged(s)
        _assert_renderings_unchanged(Summary("t", TRICKY.iloc[:0], ("n",)))
        _assert_renderings_unchanged(Summary("t", TRICKY[["n"]], ()))
        _assert_renderings_unchanged(Summary("t", TRICKY[["event"]], ()))
        _assert_renderings_unchanged(
            Summary("t", TRICKY.astype({"event": "str", "n": "int32"}), ()))

    def test_text_table_matches_to_string(self) -> None:
        from eventstudy.results.summary import _text_table

        rng = np.random.default_rng(2)
        for _ in range(30):
            nrow = int(rng.integers(0, 6))
            words = ["", "a", "bb", "ccc ", " d", "E_1:g", "-1.00***", "ü"]
            df = pd.DataFrame({
                "h": rng.choice(words, nrow),
                "long header": rng.choice(words, nrow),
                "n": rng.integers(-1000, 1000, nrow),
            })
            assert _text_table(df) == df.to_string(index=False)
        # tabs, line breaks and floats: pandas' own rendering
        odd = pd.DataFrame({"a": ["x\ty", "b"], "f": [1.5, float("nan")]})
        assert _text_table(odd) == odd.to_string(index=False)

    def test_renderings_do_not_iterate_rows(self, res: EventStudyResults,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
        def no_iterrows(self: pd.DataFrame) -> Any:
            raise AssertionError("iterrows")

        monkeypatch.setattr(pd.DataFrame, "iterrows", no_iterrows)
        s = res.summary()
        big = Summary("t", pd.concat([TRICKY] * 2000, ignore_index=True), ("n",))
        for x in (s, big):
            x.as_text(), x.as_markdown(), x.as_html(), x.as_latex()
        assert big.as_markdown().count("\n") == 2 + 2 + 10000 + 1 + 1


# ----------------------------------------------------------- Summary of large studies
def many_events_results(n: int = 1500, scopes: tuple[str, ...] | None = None
                        ) -> EventStudyResults:
    """``n`` one-ticker events on 9 securities in 3 groups (24/5 calendar)."""
    rng = np.random.default_rng(1)
    dates = pd.bdate_range("2020-01-01", periods=900)
    m = rng.normal(0.0003, 0.01, len(dates))
    tick = [f"T{i}" for i in range(9)]
    cols: dict[str, np.ndarray] = {"MKT": m}
    for i, tk in enumerate(tick):
        cols[tk] = 0.0002 + (0.8 + 0.05 * i) * m + rng.normal(0, 0.012, len(dates))
    r = pd.DataFrame(cols, index=dates)
    d = rng.integers(300, 880, n)
    r.iloc[d[: n // 2], 1 + (np.arange(n // 2) % 9)] += 0.02  # planted day 0
    events = pd.DataFrame({"event_id": [f"E{i:05d}" for i in range(n)],
                           "timestamp": [dates[j].strftime("%Y-%m-%d") for j in d],
                           "ticker": [tick[i % 9] for i in range(n)]})
    universe = pd.DataFrame({"ticker": tick, "group": ["g1"] * 3 + ["g2"] * 3
                             + ["g3"] * 3, "calendar": "FX", "benchmark": "MKT"})
    es = EventStudy(r, events, universe, kind="returns", model="market",
                    windows=Windows(estimation=(-200, -11), event=(-5, 5),
                                    car=((0, 0), (-1, 1)), min_estimation_obs=100))
    out: EventStudyResults = es.fit(tests=("csect_t", "patell"), scopes=scopes)
    return out


@pytest.fixture(scope="module")
def many() -> EventStudyResults:
    return many_events_results()


def _mean_car(res: EventStudyResults, window: tuple[int, int]) -> pd.Series:
    c = res.car
    c = c[(c["window_start"] == window[0]) & (c["window_end"] == window[1])]
    return c.groupby(["event_id", "group"], sort=False)["car"].mean()


class TestLargeSummary:
    def test_by_group_with_capped_listing(self, many: EventStudyResults) -> None:
        s = many.summary()
        assert list(s.table.columns) == ["scope", "group", "events", "n",
                                         "CAAR[0,0] %", "CAAR[-1,1] %"]
        assert s.table["scope"].tolist() == ["all", "group", "group", "group"]
        assert s.table["group"].tolist() == ["", "g1", "g2", "g3"]
        assert s.table["events"].tolist() == [1500, 501, 501, 498]
        assert s.table["n"].tolist() == [1500, 501, 501, 498]
        t = many.tests
        for row in s.table.itertuples(index=False):
            scope, value = (("all", "all") if row.scope == "all"
                            else ("group", row.group))
            x = t[(t["scope"] == scope) & (t["scope_value"] == value)
                  & (t["window_start"] == -1) & (t["window_end"] == 1)
                  & (t["test"] == "csect_t") & (t["window_kind"] == "car")].iloc[0]
            assert row[5] == f"{100 * x['mean']:.2f}{stars(x['p_value'])}"
        assert "(1500 events)" in s.caption
        ((head, listed),) = s.sections
        assert head.startswith("The 20 event x group rows with the largest "
                               "|CAAR[0,0]| (of 1500")
        assert list(listed.columns) == ["event", "group", "day 0", "n",
                                        "CAAR[0,0] %", "CAAR[-1,1] %"]
        assert len(listed) == 20
        mean = _mean_car(many, (0, 0))
        expect = mean.abs().sort_values(ascending=False, kind="stable").index[:20]
        assert list(zip(listed["event"], listed["group"], strict=True)) == list(expect)
        got = [f"{100 * mean[k]:.2f}" for k in expect]
        assert listed["CAAR[0,0] %"].tolist() == got  # no stars: no event tests
        assert "listed event x group rows have none" in s.notes[0]
        assert "1500 events, 1500 event x group rows" in s.notes[2]

    def test_renderings_are_short(self, many: EventStudyResults) -> None:
        s = many.summary()
        text = s.as_text()
        assert len(text.splitlines()) <= 46  # printed whole by eventstudy run
        assert text.count("E0") == 20
        md = s.as_markdown()
        assert md.startswith("# Event study summary\n\n## CAAR of all pairs and by "
                             "group (1500 events)\n\n| scope | group | events | n |")
        assert "\n## The 20 event x group rows with the largest |CAAR[0,0]|" in md
        assert md.count("\n| E0") == 20
        assert s.as_html().count("<table class='es-summary'>") == 2
        tex = s.as_latex()
        assert tex.count(r"\begin{tabular}") == 2 and r"\paragraph{" in tex

    def test_small_threshold_on_small_results(self, res: EventStudyResults,
                                              run_dir: Path) -> None:
        """max_rows: the same layout on the two-event study; group stars."""
        s = Summary.from_results(res, "csect_t", max_rows=2, top=2)
        assert s.table["group"].tolist() == ["", "alpha", "beta"]
        assert s.table["events"].tolist() == [2, 2, 1]
        ((head, listed),) = s.sections
        assert len(listed) == 2 and head.startswith("The 2 event x group rows")
        # event x group tests ran here: the listed rows carry their stars
        for row in listed.itertuples(index=False):
            t = csv_test_row(run_dir, f"{row.event}:{row.group}", (0, 0))
            assert row[4] == f"{100 * t['mean']:.2f}{stars(t['p_value'])}"
        assert s.notes[0].endswith("*** < 0.01.")
        assert Summary.from_results(res, "csect_t", max_rows=3).sections == ()

    def test_group_cap(self, many: EventStudyResults) -> None:
        s = Summary.from_results(many, "csect_t", max_groups=2)
        assert s.table["group"].tolist() == ["", "g1", "g2"]  # largest, in order
        assert "the 2 largest of 3 groups" in s.caption

    def test_without_group_tests(self, many: EventStudyResults) -> None:
        """Fewer scopes: group CAARs fall back to mean CARs without stars."""
        from dataclasses import replace

        r = replace(many, tests_=many.tests_[many.tests_["scope"] == "all"])
        table = r.summary().table
        mean = _mean_car(many, (-1, 1))
        g1 = mean[mean.index.get_level_values("group") == "g1"]
        assert table.loc[1, "CAAR[-1,1] %"] == f"{100 * g1.mean():.2f}"
        assert str(table.loc[0, "CAAR[-1,1] %"]).rstrip("*") == (
            f"{100 * mean.mean():.2f}")

    def test_event_group_tests_give_listed_stars(self) -> None:
        r = many_events_results(1100, scopes=("all", "group", "event_group"))
        s = r.summary()
        ((_, listed),) = s.sections
        t = r.tests
        t = t[(t["scope"] == "event_group") & (t["test"] == "csect_t")
              & (t["window_kind"] == "car") & (t["window_start"] == -1)
              & (t["window_end"] == 1)]
        means = dict(zip(t["scope_value"], t["mean"], strict=True))
        pvals = dict(zip(t["scope_value"], t["p_value"], strict=True))
        # one pair per event: those rows take their stars from the per-series test
        one = r.tests
        one = one[(one["scope"] == "event_group") & (one["test"] == "series_t")
                  & (one["window_kind"] == "car") & (one["window_start"] == -1)
                  & (one["window_end"] == 1)]
        pvals.update(zip(one["scope_value"], one["p_value"], strict=True))
        ns = dict(zip(t["scope_value"], t["n"], strict=True))
        for row in listed.itertuples(index=False):
            key = f"{row.event}:{row.group}"
            assert ns[key] >= 1
            assert row[5] == f"{100 * means[key]:.2f}{stars(pvals[key])}"
        assert s.notes[0].endswith("*** < 0.01.")

    def test_save_and_cli_print(self, many: EventStudyResults, tmp_path: Path
                                ) -> None:
        many.save(tmp_path)
        md = (tmp_path / "summary.md").read_text(encoding="utf-8")
        assert md == many.summary().as_markdown()
        assert md.count("\n") < 50


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Image-regression helper for "
                                 "tests/reporting/test_report.py.")
    ap.add_argument("--regen", action="store_true",
                    help=f"rewrite {REFERENCE} from the current code")
    args = ap.parse_args(argv)
    if not args.regen:
        ap.print_help()
        return 0
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    render_reference_png(REFERENCE)
    print(f"wrote {REFERENCE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
