"""What the report tells (issue #14, part 6): both warning lists, each event's
catalog entry (title, timestamp, time zone, evidence, source) and confounding flags,
collision-free plot names and anchors, CAAR plots that agree with the tables, and a
pooled layout for large studies (a synthetic 10,000-event run folder stays < 5 MB).

Expected values are read from the run's CSV files (or written into them by the
test), never from report.py's own helpers.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report import many_events_results, read_csv, save_run

from eventstudy.config import Windows
from eventstudy.errors import WindowError
from eventstudy.reporting.build import build_report
from eventstudy.reporting.documents import time_zone
from eventstudy.reporting.names import name_stems, plot_file_stems
from eventstudy.reporting.plots import plot_car, plot_window, write_plots
from eventstudy.results import MANY_EVENTS, EventStudyResults, Summary, stars
from eventstudy.study import EventStudy

TICKERS = (("A1", "alpha"), ("A2", "alpha"), ("A3", "alpha"), ("B1", "beta"),
           ("B2", "beta"))


def build(events: pd.DataFrame, tickers: tuple[tuple[str, str], ...] = TICKERS,
          extra: tuple[tuple[str, str], ...] = (("C9", "beta"),),
          windows: Windows | None = None, seed: int = 5) -> EventStudyResults:
    """A study on a 24/5 calendar: +2% planted on each event's date for every
    security; the ``extra`` universe tickers have no prices (excluded pairs)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-01-02", periods=420)
    m = rng.normal(0.0003, 0.01, len(dates))
    cols: dict[str, np.ndarray] = {"MKT": m}
    for i, (tk, _) in enumerate(tickers):
        cols[tk] = 0.0002 + (0.8 + 0.1 * i) * m + rng.normal(0, 0.012, len(dates))
    r = pd.DataFrame(cols, index=dates)
    for ts in events["timestamp"]:
        day = pd.Timestamp(str(ts)[:10])
        r.iloc[int(dates.searchsorted(day)), 1:] += 0.02
    universe = pd.DataFrame({"ticker": [t for t, _ in tickers + extra],
                             "group": [g for _, g in tickers + extra],
                             "calendar": "FX", "benchmark": "MKT"})
    w = windows or Windows(estimation=(-200, -11), event=(-5, 5),
                           car=((0, 0), (-1, 1), (-5, 5)), min_estimation_obs=100)
    res: EventStudyResults = EventStudy(
        r, events[["event_id", "timestamp", "groups"]], universe, kind="returns",
        windows=w).fit(tests=("csect_t", "patell"))
    return res


# ------------------------------------------------------------- events and confounding
CATALOG = pd.DataFrame({
    "event_id": ["EV_ONE", "EV_TWO", "EV_GONE"],
    "timestamp": ["2024-03-01T14:00-05:00", "2024-03-05", "2024-06-03T09:30+09:00"],
    "title": ["First <announcement> & pledge", "Second statement", "No prices"],
    "groups": ["alpha;beta", "alpha", "gamma"],
    "source": ["001_first.txt", "002_second.txt", "003_gone.txt"],
    "evidence": ["Officials said the pledge would reach $1 trillion & more.",
                 "The ministry confirmed the deal on Tuesday.",
                 "Nothing traded that day."],
    "timestamp_source": ["press conference 2:00 p.m. ET", "", ""],
    "confidence": ["high", "medium", "low"],
})


@pytest.fixture(scope="module")
def confounded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """EV_ONE and EV_TWO two sessions apart (each confounds the other's alpha
    pairs); EV_GONE's only security (gamma) has no prices."""
    res = build(CATALOG, extra=(("C9", "beta"), ("G1", "gamma")))
    return save_run(res, tmp_path_factory.mktemp("conf") / "out",
                    {"study": "conf.toml"}, events=CATALOG)


class TestEventSections:
    def test_time_zone(self) -> None:
        assert time_zone("2025-02-07T14:00-05:00") == "UTC-05:00"
        assert time_zone("2024-11-06") == "date only"
        assert time_zone("2025-07-22T19:12-04:00") == "UTC-04:00"
        assert time_zone("2025-10-28T10:00+09:00") == "UTC+09:00"
        assert time_zone("2025-10-28T01:00Z") == "UTC+00:00"
        assert time_zone("2025-10-28T01:00") == "no UTC offset"

    def test_html_catalog_entry(self, confounded: Path) -> None:
        text = build_report(confounded, "html").read_text(encoding="utf-8")
        sec = _section(text, "event-EV_ONE")
        assert "<dt>title</dt><dd>First &lt;announcement&gt; &amp; pledge</dd>" in sec
        assert "<dt>timestamp</dt><dd>2024-03-01T14:00-05:00</dd>" in sec
        assert "<dt>time zone</dt><dd>UTC-05:00</dd>" in sec
        assert "<dt>source</dt><dd>001_first.txt</dd>" in sec
        assert ("<dt>timestamp source</dt><dd>press conference 2:00 p.m. ET</dd>"
                in sec)
        assert ("<blockquote>Officials said the pledge would reach $1 trillion "
                "&amp; more.</blockquote>") in sec
        two = _section(text, "event-EV_TWO")
        assert "<dt>time zone</dt><dd>date only</dd>" in two
        assert "<dt>confidence</dt><dd>medium</dd>" in two

    def test_confounding_flags_from_diagnostics(self, confounded: Path) -> None:
        diag = read_csv(confounded / "diagnostics.csv")
        flagged = diag[diag["confounded_by"] != ""]
        assert set(flagged["event_id"]) == {"EV_ONE", "EV_TWO"}  # the fixture works
        text = build_report(confounded, "html").read_text(encoding="utf-8")
        md = build_report(confounded, "md").read_text(encoding="utf-8")
        tex = build_report(confounded, "latex").read_text(encoding="utf-8")
        for r in flagged.itertuples(index=False):
            sec = _section(text, f"event-{r.event_id}")
            links = ", ".join(f"<a href='#event-{e}'>{e}</a>"
                              for e in str(r.confounded_by).split(";"))
            assert f"<li>{r.ticker} ({r.group}): confounded by {links}</li>" in sec
            ids = ", ".join(str(r.confounded_by).split(";"))
            assert f"- {r.ticker} ({r.group}): confounded by {ids}\n" in md
            assert (f"\\item {r.ticker} ({r.group}): confounded by "
                    f"{ids.replace('_', chr(92) + '_')}") in tex
        # beta is not in EV_TWO: B1 of EV_ONE is not flagged
        assert not ((flagged["event_id"] == "EV_ONE") & (flagged["ticker"] == "B1")
                    ).any()
        assert "B1 (beta): confounded" not in _section(text, "event-EV_ONE")

    def test_excluded_pairs_and_event_without_pairs(self, confounded: Path) -> None:
        ex = read_csv(confounded / "excluded.csv")
        gone = ex[ex["event_id"] == "EV_GONE"]
        assert len(gone) == 1
        text = build_report(confounded, "html").read_text(encoding="utf-8")
        sec = _section(text, "event-EV_GONE")
        assert "No kept pair" in sec
        assert f"<td>{gone['ticker'].iloc[0]}</td><td>{gone['reason'].iloc[0]}</td>" \
            in sec
        assert "<dt>time zone</dt><dd>UTC+09:00</dd>" in sec
        one = ex[ex["event_id"] == "EV_ONE"]
        assert f"<p><b>Excluded pairs ({len(one)})</b></p>" in _section(
            text, "event-EV_ONE")

    def test_markdown_and_latex(self, confounded: Path) -> None:
        md = build_report(confounded, "md").read_text(encoding="utf-8")
        block = md.split("\n## EV_ONE\n", 1)[1].split("\n## ", 1)[0]
        assert "- **title**: First <announcement> & pledge\n" in block
        assert "- **time zone**: UTC-05:00\n" in block
        assert "- **source**: 001_first.txt\n" in block
        assert "> Officials said the pledge would reach $1 trillion & more.\n" in block
        tex = build_report(confounded, "latex").read_text(encoding="utf-8")
        assert r"\item \textbf{time zone}: date only" in tex
        assert (r"\begin{quote}" + "\nOfficials said the pledge would reach "
                r"\$1 trillion \& more." + "\n" + r"\end{quote}") in tex

    def test_old_run_without_events_csv(self, confounded: Path, tmp_path: Path
                                        ) -> None:
        """No events.csv (older runs): the sections skip the catalog entry."""
        import shutil

        out = tmp_path / "old"
        shutil.copytree(confounded, out)
        (out / "events.csv").unlink()
        text = build_report(out, "html").read_text(encoding="utf-8")
        assert "has no events.csv" in text
        assert "<dt>title</dt>" not in text and "<blockquote>" not in text
        assert "event-EV_GONE" not in text  # known only from the catalog
        assert "<li>A1 (alpha): confounded by" in text  # from diagnostics.csv


def _section(text: str, anchor: str) -> str:
    """The HTML of one event section."""
    start = text.index(f"<h2 id='{anchor}'>")
    return text[start:text.index("</section>", start)]


# ------------------------------------------------------------------ names and anchors
IDS = ("A/B", "A_B", "a", "A")


@pytest.fixture(scope="module")
def clashing(tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, EventStudyResults]:
    """Event ids A/B, A_B, a, A and groups x/y, x_y: every one of them would share
    a file name with another after sanitising or on a case-insensitive disk."""
    days = ["2023-11-01", "2024-01-10", "2024-03-20", "2024-05-29"]
    events = pd.DataFrame({"event_id": list(IDS),
                           "timestamp": days, "groups": "x/y;x_y"})
    res = build(events, tickers=(("A1", "x/y"), ("A2", "x/y"), ("B1", "x_y"),
                                 ("B2", "x_y")), extra=())
    return save_run(res, tmp_path_factory.mktemp("clash") / "out",
                    events=events), res


class TestNames:
    def test_plot_files_distinct_on_case_insensitive_disks(
            self, clashing: tuple[Path, EventStudyResults]) -> None:
        out, res = clashing
        names = sorted(p.name for p in (out / "plots").iterdir())
        # per event: 2 CAR plots, overview, heat table; plus the pooled plot
        assert len(names) == 2 * (4 * 4 + 1)
        assert len({n.casefold() for n in names}) == len(names)
        # deterministic: the names depend only on the set of ids, not their order
        keys = [(k, e, g) for e in IDS for k, g in (
            ("car", "x/y"), ("car", "x_y"), ("overview", None), ("heatmap", None))]
        keys.append(("pooled", "", None))
        stems = plot_file_stems(keys)
        assert sorted(f"{s}.{x}" for s in stems.values() for x in ("png", "svg")
                      ) == names
        assert plot_file_stems(reversed(keys)) == stems

    def test_stems_keep_plain_names_and_hash_the_rest(self) -> None:
        keys = [("overview", e, None) for e in IDS]
        stems = plot_file_stems(keys)
        assert stems[("overview", "A_B", None)] == "overview_A_B"
        assert re.fullmatch(r"overview_A_B-[0-9a-f]{8}",
                            stems[("overview", "A/B", None)])
        assert re.fullmatch(r"overview_a-[0-9a-f]{8}", stems[("overview", "a", None)])
        assert re.fullmatch(r"overview_A-[0-9a-f]{8}", stems[("overview", "A", None)])
        assert plot_file_stems(reversed(keys)) == stems  # order does not matter
        # event A + group B_c against event A_B + group c
        s = plot_file_stems([("car", "A", "B_c"), ("car", "A_B", "c")])
        assert len({v.casefold() for v in s.values()}) == 2
        # a raw id equal to another's hashed stem still gets its own name
        s2 = name_stems(["A/B", stems[("overview", "A/B", None)][9:]])
        assert len(set(s2.values())) == 2
        long = name_stems(["x" * 300])["x" * 300]
        assert len(long) == 60 + 9

    def test_each_section_embeds_its_own_plots(
            self, clashing: tuple[Path, EventStudyResults]) -> None:
        out = clashing[0]
        text = build_report(out, "html").read_text(encoding="utf-8")
        anchors = re.findall(r"<h2 id='(event-[^']*)'>", text)
        assert len(anchors) == 4 and len(set(anchors)) == 4
        files = {p.name for p in (out / "plots").iterdir()}
        for anchor in anchors:
            sec = text[text.index(f"<h2 id='{anchor}'>"):]
            sec = sec[:sec.index("</section>")]
            ev = html.unescape(re.search(r"<h2 id='[^']*'>([^<]*)</h2>", sec)[1])
            caps = re.findall(r"<figcaption>([^<]*) \(([^)]*)\)</figcaption>", sec)
            assert len(caps) == 4, ev
            for cap, fname in caps:
                assert html.unescape(cap).startswith(f"{ev}:") or html.unescape(
                    cap).startswith(f"{ev} /"), (ev, cap)
                assert fname in files
            assert len({f for _, f in caps}) == 4
        # the summary links each event to its own section
        for ev in IDS:
            link = re.findall(rf"<td><a href='#([^']*)'>{re.escape(ev)}</a></td>",
                              text)
            assert link and link[0] in anchors
            sec = text[text.index(f"<h2 id='{link[0]}'>"):]
            assert sec.startswith(f"<h2 id='{link[0]}'>{html.escape(ev)}</h2>")
        md = build_report(out, "md").read_text(encoding="utf-8")
        pngs = re.findall(r"\]\(plots/([^)]*\.png)\)", md)
        assert len(pngs) == 17 and len(set(pngs)) == 17 and set(pngs) <= files


# ------------------------------------------------------------ CAAR plots and tables
@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> tuple[EventStudyResults, Path]:
    """Event window [-10, +10], CAR windows [0,0], [0,1], [-1,1], [-5,5]."""
    res = build(CATALOG.iloc[:2], windows=Windows(
        estimation=(-200, -11), event=(-10, 10),
        car=((0, 0), (0, 1), (-1, 1), (-5, 5)), min_estimation_obs=100))
    return res, save_run(res, tmp_path_factory.mktemp("wide") / "out", plots=False)


class TestCaarWindows:
    def test_path_end_equals_car_csv(self, wide: tuple[EventStudyResults, Path]
                                     ) -> None:
        res, out = wide
        car_file = read_csv(out / "car.csv")
        car_mem = res.car  # car.csv's rows at full precision
        checked = 0
        for (ev, grp, a, b), c in car_mem.groupby(
                ["event_id", "group", "window_start", "window_end"]):
            path = res.caar_path(str(ev), str(grp), (int(a), int(b)))
            assert path["rel_day"].tolist() == list(range(int(a), int(b) + 1))
            assert path["caar"].iloc[-1] == pytest.approx(c["car"].mean(), abs=1e-12)
            f = car_file[(car_file["event_id"] == ev) & (car_file["group"] == grp)
                         & (car_file["window_start"] == a)
                         & (car_file["window_end"] == b)]["car"]
            assert path["caar"].iloc[-1] == pytest.approx(f.mean(), rel=1e-8)
            checked += 1
        assert checked == 3 * 4

    def test_day0_value_equals_day0_window(self, wide: tuple[EventStudyResults, Path]
                                           ) -> None:
        """Cumulating from day 0, the day-0 point is the table's CAAR[0,0]."""
        res, out = wide
        car = res.car
        c = car[(car["event_id"] == "EV_ONE") & (car["group"] == "alpha")
                & (car["window_start"] == 0) & (car["window_end"] == 0)]["car"]
        path = res.caar_path("EV_ONE", "alpha", (0, 1))
        assert path["caar"].iloc[0] == pytest.approx(c.mean(), abs=1e-12)

    def test_plot_window_and_plotted_values(self, wide: tuple[EventStudyResults, Path]
                                            ) -> None:
        res, out = wide
        assert plot_window(res) == (-5, 5)  # the widest CAR window around day 0
        fig = plot_car(res, "EV_ONE", "alpha")
        ax = fig.axes[0]
        assert "CAAR[-5, +5]" in ax.get_title()
        assert ax.get_ylabel() == "CAAR from day -5 (%)"
        x = np.asarray(ax.lines[0].get_xdata())
        y = np.asarray(ax.lines[0].get_ydata())
        assert x.tolist() == list(range(-5, 6))
        car = res.car
        c = car[(car["event_id"] == "EV_ONE") & (car["group"] == "alpha")
                & (car["window_start"] == -5) & (car["window_end"] == 5)]["car"]
        assert y[-1] == pytest.approx(100 * c.mean(), abs=1e-10)
        y01 = np.asarray(plot_car(res, "EV_ONE", "alpha", window=(0, 1))
                         .axes[0].lines[0].get_ydata())
        c0 = car[(car["event_id"] == "EV_ONE") & (car["group"] == "alpha")
                 & (car["window_start"] == 0) & (car["window_end"] == 0)]["car"]
        assert y01[0] == pytest.approx(100 * c0.mean(), abs=1e-10)

    def test_bad_window(self, wide: tuple[EventStudyResults, Path]) -> None:
        res, _ = wide
        with pytest.raises(WindowError, match=r"\[-20, 0\] is not inside"):
            res.caar_path("EV_ONE", window=(-20, 0))
        with pytest.raises(WindowError, match="reversed"):
            res.caar_path("EV_ONE", window=(3, 1))

    def test_report_says_where_plots_start(self, wide: tuple[EventStudyResults, Path],
                                           tmp_path: Path) -> None:
        res, _ = wide
        out = save_run(res, tmp_path / "out")
        text = build_report(out, "html").read_text(encoding="utf-8")
        assert ("Plots cumulate abnormal returns from day -5, the start of the CAR "
                "window [-5, +5]") in text


# --------------------------------------------------------------------- large studies
class TestPooledThreshold:
    def test_summary_pooled_above_threshold(self) -> None:
        assert MANY_EVENTS == 50
        small = many_events_results(MANY_EVENTS).summary()
        assert list(small.table.columns)[:2] == ["event", "group"]
        assert len(small.table) == MANY_EVENTS and small.sections == ()
        big = many_events_results(MANY_EVENTS + 1)
        s = big.summary()
        assert s.table["scope"].tolist() == ["all", "group", "group", "group"]
        assert "more than 50 events, so pooled" in s.notes[2]
        t = big.tests
        x = t[(t["scope"] == "all") & (t["window_start"] == 0)
              & (t["window_end"] == 0) & (t["test"] == "csect_t")
              & (t["window_kind"] == "car")].iloc[0]
        assert s.table.loc[0, "CAAR[0,0] %"] == (f"{100 * x['mean']:.2f}"
                                                  f"{stars(x['p_value'])}")
        assert s.as_text().count("\n") < 50
        assert isinstance(Summary.from_results(big, "csect_t", max_events=100)
                          .table, pd.DataFrame)
        assert Summary.from_results(big, "csect_t", max_events=100).sections == ()

    def test_write_plots_pooled_only(self, tmp_path: Path) -> None:
        big = many_events_results(MANY_EVENTS + 1)
        names = [p.name for p in write_plots(big, tmp_path)]
        assert names == ["pooled.png", "pooled.svg"]
        small = many_events_results(3)
        names = [p.name for p in write_plots(small, tmp_path / "s")]
        assert names[-2:] == ["pooled.png", "pooled.svg"] and len(names) == 2 * 10


N_BIG = 10_000


def _big_run(out: Path) -> dict[str, pd.DataFrame]:
    """A synthetic 10,000-event output folder, written directly: one security per
    event in 3 groups, CAR windows [0,0] and [-1,1], event x group tests, 700
    excluded pairs, 19 data-quality findings, a catalog with evidence quotes."""
    rng = np.random.default_rng(0)
    out.mkdir()
    ev = np.array([f"E{i:05d}" for i in range(N_BIG)], dtype=object)
    grp = np.array(["g1", "g2", "g3"], dtype=object)[np.arange(N_BIG) % 3]
    tick = np.array([f"T{i % 97:02d}" for i in range(N_BIG)], dtype=object)
    day0 = pd.bdate_range("2010-01-04", periods=N_BIG).strftime("%Y-%m-%d")
    wins = [(0, 0), (-1, 1)]
    car = pd.concat([pd.DataFrame({
        "event_id": ev, "ticker": tick, "group": grp, "window_start": a,
        "window_end": b, "car": rng.normal(0, 0.02 * (b - a + 1), N_BIG),
        "car_se": 0.02, "day0": day0}) for a, b in wins], ignore_index=True)
    rows = []
    for (a, b), c in car.groupby(["window_start", "window_end"], sort=False):
        for test in ("csect_t", "patell"):
            for scope, keys in (("all", pd.Series("all", index=c.index)),
                                ("group", c["group"]),
                                ("event_group", c["event_id"] + ":" + c["group"])):
                m = c.groupby(keys.to_numpy(), sort=False)["car"].agg(["mean",
                                                                       "size"])
                stat = rng.normal(0, 2, len(m))
                rows.append(pd.DataFrame({
                    "scope": scope, "scope_value": m.index, "window_start": a,
                    "window_end": b, "window_kind": "car", "test": test,
                    "statistic": stat, "p_value": rng.uniform(0, 1, len(m)),
                    "n": m["size"].to_numpy(), "mean": m["mean"].to_numpy(),
                    "p_bh": 1.0}))
    tests = pd.concat(rows, ignore_index=True)
    excluded = pd.DataFrame({
        "event_id": [f"X{i:04d}" for i in range(700)], "ticker": "TX",
        "reason": np.where(np.arange(700) % 2 == 0, "ticker has no prices",
                           "only 57 estimation returns (minimum 120)")})
    diag = pd.DataFrame({"event_id": ev, "ticker": tick, "group": grp,
                         "calendar": "XNYS", "model": "market", "day0": day0,
                         "n_est": 240, "beta": 1.0, "sigma": 0.01, "r2": 0.3,
                         "confounded_by": np.where(np.arange(N_BIG) % 7 == 0,
                                                   np.roll(ev, 1), "")})
    catalog = pd.DataFrame({
        "event_id": ev, "timestamp": [f"{d}T16:30-05:00" for d in day0],
        "title": [f"Announcement number {i} of a long series" for i in range(N_BIG)],
        "groups": grp, "source": [f"{i:05d}_source.txt" for i in range(N_BIG)],
        "evidence": ["The company said it would invest heavily in new plants over "
                     "the coming years, subject to approval."] * N_BIG,
        "timestamp_source": "wire", "confidence": "high"})
    for name, df in (("car.csv", car), ("tests.csv", tests),
                     ("excluded.csv", excluded), ("diagnostics.csv", diag),
                     ("events.csv", catalog)):
        df.to_csv(out / name, index=False, lineterminator="\n")
    (out / "plots").mkdir()
    (out / "plots" / "pooled.svg").write_text(
        "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'></svg>",
        encoding="utf-8")
    info = {"study": "big.toml", "parameters": {
        "windows": {"estimation": [-250, -11], "event": [-10, 10],
                    "car": [list(w) for w in wins], "min_estimation_obs": 120},
        "model": {"name": "market", "returns": "simple"},
        "conventions": {}, "tests": ["csect_t", "patell"]},
        "counts": {"events": N_BIG, "pairs": N_BIG, "excluded": 700},
        "data_quality": [f"T{i:02d}: stale_run 2012-01-02..2012-01-09 (6) "
                         "same close 6 times" for i in range(19)],
        "data_warnings": ["alignment: 3 tickers end before the last event"]}
    (out / "run.json").write_text(json.dumps(info), encoding="utf-8")
    return {"car": car, "tests": tests}


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("big") / "out"
    _big_run(out)
    return out


class TestLargeReport:
    @pytest.mark.parametrize("fmt", ["html", "md", "latex"])
    def test_size(self, big: Path, fmt: str) -> None:
        path = build_report(big, fmt)  # type: ignore[arg-type]
        assert path.stat().st_size < 5_000_000

    def test_pooled_layout(self, big: Path) -> None:
        text = build_report(big, "html").read_text(encoding="utf-8")
        car = read_csv(big / "car.csv")
        tests = read_csv(big / "tests.csv")
        # pooled rows: all pairs and each group, numbers from the CSVs
        for scope, value, label in (("all", "all", "all pairs"),
                                    ("group", "g2", "group g2")):
            r = tests[(tests["scope"] == scope) & (tests["scope_value"] == value)
                      & (tests["window_start"] == -1) & (tests["window_end"] == 1)]
            c = car[(car["window_start"] == -1) & (car["window_end"] == 1)]
            if scope == "group":
                c = c[c["group"] == value]
            cs = r[r["test"] == "csect_t"].iloc[0]
            cell = (f"<td>{label}</td><td>[-1, +1]</td>"
                    f"<td class='num'>{len(c)}</td>"
                    f"<td class='num'>{100 * cs['mean']:.2f}</td>"
                    f"<td class='num'>{cs['statistic']:.2f}{stars(cs['p_value'])}")
            assert cell in text
        # only the 20 events of the largest |CAAR[0,0]| get sections
        eg = tests[(tests["scope"] == "event_group") & (tests["test"] == "csect_t")
                   & (tests["window_start"] == 0) & (tests["window_end"] == 0)]
        top = eg.assign(size=eg["mean"].abs()).sort_values(
            "size", ascending=False, kind="stable")["scope_value"].iloc[:20]
        got = re.findall(r"<section class='event'><h2 id='event-([^']*)'>", text)
        assert got == [v.split(":")[0] for v in top]
        assert text.count("<img ") == 1  # the pooled plot only
        assert "10000 events (more than 50)" in text
        # warnings, excluded pairs by reason
        assert "<h3>Data-quality checks (19)</h3>" in text
        assert text.count("stale_run 2012-01-02..2012-01-09") == 19
        assert "700 pairs excluded; by reason:" in text
        assert "<td>ticker has no prices</td><td class='num'>350</td>" in text
        # an event's catalog entry and confounding flag (from the files)
        first = got[0]
        sec = _section(text, f"event-{first}")
        assert "<dt>time zone</dt><dd>UTC-05:00</dd>" in sec

    def test_deterministic(self, big: Path) -> None:
        a = build_report(big, "md").read_bytes()
        assert build_report(big, "md").read_bytes() == a
        assert b"The 20 event x group rows with the largest |CAAR|" in a


# ------------------------------------------------------------------ through the CLI
def test_cli_run_then_report_tells_everything(mini_study: object, tmp_path: Path
                                              ) -> None:
    """``eventstudy run --plots`` then ``eventstudy report``: the data-quality
    findings of run.json and the catalog entries of events.csv are in the report."""
    from click.testing import CliRunner

    from eventstudy.cli import cli

    study = Path(mini_study.study)  # type: ignore[attr-defined]
    prices_file = Path(mini_study.prices)  # type: ignore[attr-defined]
    prices = pd.read_csv(prices_file)
    aaa = prices.index[prices["ticker"] == "AAA"][20:27]
    prices.loc[aaa, "close"] = prices.loc[aaa[0], "close"]  # 7 equal closes: stale
    prices.to_csv(prices_file, index=False, lineterminator="\n")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["run", str(study), "--prices", str(prices_file),
                                 "--out", str(out), "--plots", "-q"])
    assert r.exit_code == 0, r.output
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    quality = info["data_quality"]
    assert any(q.startswith("AAA: stale") for q in quality)
    for fmt in ("md", "html"):
        r = CliRunner().invoke(cli, ["report", str(out), "--format", fmt])
        assert r.exit_code == 0, r.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert f"### Data-quality checks ({len(quality)})\n\n- {quality[0]}\n" in md
    e1 = md.split("\n## E1\n", 1)[1].split("\n## ", 1)[0]
    assert "- **title**: timed intraday New York\n" in e1
    assert "- **timestamp**: 2024-09-16T10:00-04:00\n" in e1
    assert "- **time zone**: UTC-04:00\n" in e1
    e2 = md.split("\n## E2\n", 1)[1].split("\n## ", 1)[0]
    assert "- **time zone**: date only\n" in e2
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "<h3>Data-quality checks (" in text
    assert "No data-quality findings" not in text
    assert text.count("<img ") == len(list((out / "plots").glob("*.svg")))
