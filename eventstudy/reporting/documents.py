"""A finished run's output files read back, and the document a report shows.

:func:`load_run` reads ``run.json``, ``tests.csv``, ``car.csv``, ``excluded.csv``,
``diagnostics.csv`` (and ``events.csv`` and ``plots/`` when present) into a
:class:`RunDocument`, whose methods give every table, note and list of the report as
plain strings (:class:`Table`, :class:`EventInfo`). The formats
(:mod:`eventstudy.reporting.formats`) only lay these out as HTML, Markdown or LaTeX;
nothing here computes a statistic (the means and tests are the run's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eventstudy.errors import InputError
from eventstudy.estimation.models import MODELS
from eventstudy.inference import SERIES_TESTS, WEIGHTED_TESTS
from eventstudy.io.tables import find_table, read_table
from eventstudy.reporting.labels import REPORT_MAX_ROWS, day, win
from eventstudy.reporting.names import PlotKey, name_stems, plot_file_stems
from eventstudy.reporting.plots import path_window
from eventstudy.results import MANY_EVENTS, stars
from eventstudy.results.summary import (
    ROBUST_TEST,
    SUMMARY_TOP,
    clustered_scopes,
    quote_notes,
)

EVENT_FILE = "events.csv"
"""The catalog as the run used it (optional: older runs lack it)."""
RUN_FILES = ("run.json", "tests.csv", "car.csv", "excluded.csv", "diagnostics.csv")
"""The files a finished run must hold for a report."""
REPORT_TOP = SUMMARY_TOP
"""Event x group rows listed (largest |CAAR|), with their events' sections, in the
report of a study with more than :data:`MANY_EVENTS` events."""
REPORT_MAX_GROUPS = 50
"""Groups listed (the largest) in the pooled results of a large study."""


class RunDocument:
    """A finished run's output files, read back, with what the report shows.

    Every derived value (test names, events, anchors, plot stems, the listed rows
    of a large study) is computed once here, at construction; the object is not
    changed afterwards.
    """

    def __init__(self, folder: Path, info: dict[str, Any], tests: pd.DataFrame,
                 car: pd.DataFrame, excluded: pd.DataFrame,
                 diagnostics: pd.DataFrame, plots: Path | None,
                 catalog: pd.DataFrame | None = None) -> None:
        self.folder = folder
        self.info = info
        self.tests = tests
        self.car = car
        self.excluded = excluded
        self.diagnostics = diagnostics
        self.plots = plots
        self.catalog = catalog
        names = info.get("parameters", {}).get("tests") or []
        found = _unique(tests["test"])
        self.test_names: list[str] = [str(t) for t in names if str(t) in found] or found
        self.events: list[str] = _unique(car["event_id"])
        """Events with kept pairs, in the order of ``car.csv``."""
        t = tests
        if "window_kind" in t.columns:
            t = t[t["window_kind"] == "car"]
        self.car_tests: dict[str, pd.DataFrame] = {
            str(k): g for k, g in t.groupby("scope", sort=False)}
        """``tests.csv``'s CAR-window rows, by scope."""
        rows: dict[str, dict[str, str]] = {}
        if catalog is not None and "event_id" in catalog.columns:
            cat = catalog.drop_duplicates("event_id")
            rows = {str(r["event_id"]): {str(k): str(v) for k, v in r.items()}
                    for r in cat.to_dict("records")}
        self.catalog_rows = rows
        """``events.csv`` rows by event id (empty without the file)."""
        ids = list(self.events) + list(self.catalog_rows)
        self.anchors: dict[str, str] = {
            k: "event-" + v for k, v in name_stems(ids).items()}
        """Event id -> HTML anchor, collision-free (:func:`name_stems`)."""
        keys: list[PlotKey] = []
        if not self.large:
            for ev in self.events:
                keys += [("car", ev, g) for g in self.groups(ev)]
                keys += [("overview", ev, None), ("heatmap", ev, None)]
        keys.append(("pooled", "", None))
        self.plot_stems: dict[PlotKey, str] = plot_file_stems(keys)
        """The stems :func:`write_plots` gave this run's plots."""
        self.top_keys: list[tuple[str, str]] = _top_keys(self)
        """The event x group rows listed in a large study (:func:`_top_keys`)."""

    @property
    def car_windows(self) -> list[tuple[int, int]]:
        w = self.info.get("parameters", {}).get("windows", {}).get("car")
        if w:
            return [(int(a), int(b)) for a, b in w]
        c = self.car[["window_start", "window_end"]].drop_duplicates()
        return [(int(a), int(b)) for a, b in c.itertuples(index=False)]

    @property
    def event_window(self) -> tuple[int, int] | None:
        w = self.info.get("parameters", {}).get("windows", {}).get("event")
        return (int(w[0]), int(w[1])) if w else None

    @property
    def plot_window(self) -> tuple[int, int] | None:
        """The window the run's CAAR plots cumulate over (:func:`plot_window`)."""
        ev = self.event_window
        return path_window(self.car_windows, ev) if ev is not None else None

    @property
    def large(self) -> bool:
        return len(self.events) > MANY_EVENTS

    def groups(self, event: str) -> list[str]:
        return _unique(self.car.loc[self.car["event_id"] == event, "group"])

    def plot(self, stem: str) -> Path | None:
        if self.plots is None:
            return None
        for ext in ("svg", "png"):
            f = self.plots / f"{stem}.{ext}"
            if f.is_file():
                return f
        return None

    def event_plots(self, event: str) -> list[tuple[str, str, bool]]:
        """``(stem, caption, small)`` of the event's plots, in report order."""
        w = self.plot_window
        lab = f"CAAR{win(*w)}" if w else "CAAR"
        st = self.plot_stems
        out = [(st[("overview", event, None)], f"{event}: {lab} by group", False),
               (st[("heatmap", event, None)], f"{event}: abnormal returns from day 0",
                False)]
        out += [(st[("car", event, g)], f"{event} / {g}: {lab} with 95% band", True)
                for g in self.groups(event)]
        return out

    @property
    def quality(self) -> list[str]:
        """``run.json`` ``data_quality``: findings of the data-quality checks."""
        return [str(w) for w in self.info.get("data_quality", []) or []]

    @property
    def warnings(self) -> list[str]:
        """``run.json`` ``data_warnings``: alignment and engine warnings."""
        return [str(w) for w in self.info.get("data_warnings", []) or []]

    # --------------------------------------------------- what the formats lay out
    def section_events(self) -> list[str]:
        """Events with a section (:func:`_section_events`)."""
        return _section_events(self)

    def summary_table(self, keys: Sequence[tuple[str, str]] | None = None) -> Table:
        """The compact event x group table (all rows, or ``keys``)."""
        return _summary_table(self, keys)

    def pooled_table(self) -> Table:
        """All pairs and each (largest) group: window, N, CAAR, tests."""
        return _pooled_table(self)

    def event_table(self, event: str) -> Table:
        """One event's groups x CAR windows: N, CAAR and every test."""
        return _event_table(self, event)

    def pairs_table(self, event: str) -> Table:
        """One event's pairs and their estimation diagnostics."""
        return _pairs_table(self, event)

    def excluded_table(self, event: str | None = None,
                       limit: int | None = None) -> Table:
        """Excluded pairs (of ``event``; the first ``limit``)."""
        return _excluded_table(self, event, limit)

    def excluded_reasons(self) -> Table:
        """Excluded pairs counted by reason."""
        return _excluded_reasons(self)

    def largest_groups(self) -> tuple[list[str], int]:
        """The groups of the pooled table and the number of groups."""
        return _largest_groups(self)

    def event_info(self, event: str) -> EventInfo:
        """Catalog entry, evidence, confounding flags and excluded pairs."""
        return _event_info(self, event)

    def parameters(self) -> list[tuple[str, str]]:
        """The study parameters, as label and value."""
        return _parameters(self)

    def sources(self) -> Table:
        """The inputs with their source and SHA-256."""
        return _sources(self)

    def metadata(self) -> list[tuple[str, str]]:
        """Versions, counts and other run.json entries."""
        return _metadata(self)

    def summary_note(self, test: str) -> str:
        """The summary table's footnote."""
        return _summary_note(self, test)

    def large_note(self) -> str:
        """What a large study's report shows and leaves out."""
        return _large_note(self)

    def plot_note(self) -> str:
        """Where the plotted paths start (empty without an event window)."""
        return _plot_note(self)

    def warning_blocks(self) -> list[tuple[str, list[str], str]]:
        """``(heading, items, text when empty)`` of the two warning lists."""
        return _warning_blocks(self)

    measures: dict[str, pd.DataFrame] = {}  # noqa: RUF012 - replaced per run
    """The run's ``volatility.csv`` and ``volume.csv`` by name (absent: not
    measured), set by :func:`load_run`."""

    def reactions_table(self) -> Table | None:
        """Return, volatility and volume reaction of each event x group side by
        side over :func:`reaction_window` (None when the run measured returns
        only)."""
        return _reactions_table(self)

    def reactions_note(self) -> str:
        """What the reactions table shows and where its numbers come from."""
        return _reactions_note(self)

    def warning_line(self) -> str:
        """One line counting the warnings."""
        return _warning_line(self)


def _unique(s: pd.Series) -> list[str]:
    """The distinct values of a text column, in order of first appearance."""
    return [str(v) for v in pd.unique(s.to_numpy(dtype=object))]


def load_run(out_dir: str | Path) -> RunDocument:
    out = Path(out_dir)
    if not out.is_dir():
        raise InputError("not a folder; give the --out folder of a finished "
                         "'eventstudy run'", path=str(out))
    missing = [f for f in RUN_FILES if not (out / f).is_file()
               and find_table(out, Path(f).stem) is None]  # csv or parquet
    if missing:
        raise InputError(f"not a finished run ({', '.join(missing)} missing); run "
                         "'eventstudy run STUDY --out DIR' first", path=str(out))
    try:
        info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"run.json is unreadable ({exc})", path=str(out)) from None
    if not isinstance(info, dict):
        raise InputError("run.json is not a JSON object", path=str(out))

    def csv(name: str, text_cols: Sequence[str], all_text: bool = False
            ) -> pd.DataFrame:
        path = find_table(out, Path(name).stem) or out / name  # csv or parquet
        try:
            return read_table(path, tuple(text_cols), all_text)
        except (OSError, ValueError) as exc:
            raise InputError(f"{name} is unreadable ({exc})", path=str(out)) from None

    tests = csv("tests.csv", ("scope", "scope_value", "test"))
    car = csv("car.csv", ("event_id", "ticker", "group", "day0"))
    excluded = csv("excluded.csv", ("event_id", "ticker", "reason"))
    diag = csv("diagnostics.csv", ("event_id", "ticker", "group", "calendar", "model",
                                   "day0", "confounded_by"))
    catalog = (csv(EVENT_FILE, (), all_text=True)
               if find_table(out, Path(EVENT_FILE).stem) is not None else None)
    need = {"tests.csv": (tests, ("scope", "scope_value", "window_start",
                                  "window_end", "test", "statistic", "p_value",
                                  "mean")),
            "car.csv": (car, ("event_id", "group", "window_start", "window_end",
                              "car", "day0"))}
    if catalog is not None:
        need[EVENT_FILE] = (catalog, ("event_id",))
    for name, (df, cols) in need.items():
        lost = [c for c in cols if c not in df.columns]
        if lost:
            raise InputError(f"{name} lacks column(s) {', '.join(lost)}",
                             path=str(out))
    plots = out / "plots"
    doc = RunDocument(out, info, tests, car, excluded, diag,
                      plots if plots.is_dir() else None, catalog)
    # the other measures (issue #18), when the run has them
    doc.measures = {name: csv(f"{name}.csv", ("scope", "scope_value", "test"))
                    for name in MEASURE_TABLES if find_table(out, name) is not None}
    return doc


def _pct(x: float) -> str:
    return f"{100 * x:.2f}" if np.isfinite(x) else ""


def _pval(p: float) -> str:
    if not np.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True)
class Cell:
    """A test cell: statistic with stars and p-value."""

    stat: float
    p: float

    def text(self) -> str:
        if not np.isfinite(self.stat):
            return "n/a"
        return f"{self.stat:.2f}{stars(self.p)} ({_pval(self.p)})"


@dataclass(frozen=True)
class Table:
    """A rendered-agnostic table: header and string cells.

    ``links`` maps first-column values to HTML anchors (event sections)."""

    columns: list[str]
    rows: list[list[str]]
    numeric_from: int = 1
    links: dict[str, str] | None = None


def _scope_tests(run: RunDocument, scope: str, value: str) -> pd.DataFrame:
    t = run.car_tests.get(scope)
    if t is None:
        return run.tests.iloc[:0]
    return t[t["scope_value"] == value]


def _result_rows(run: RunDocument, scope: str, value: str, car: pd.DataFrame,
                 label: list[str]) -> list[list[str]]:
    """Rows ``label + [window, N, CAAR, tests...]`` for one scope value."""
    t = _scope_tests(run, scope, value)
    names = run.test_names
    rows = []
    for a, b in run.car_windows:
        tw = t[(t["window_start"] == a) & (t["window_end"] == b)]
        cw = car[(car["window_start"] == a) & (car["window_end"] == b)]
        vals = pd.to_numeric(cw["car"], errors="coerce")
        n = int(np.isfinite(vals).sum())
        mean = float(tw["mean"].iloc[0]) if len(tw) else (
            float(vals.mean()) if n else float("nan"))
        cells = []
        for name in names:
            r = tw[tw["test"] == name]
            cells.append(Cell(float(r["statistic"].iloc[0]),
                               float(r["p_value"].iloc[0])).text()
                         if len(r) else "")
        rows.append(label + [win(a, b), str(n), _pct(mean)] + cells)
    return rows


def _event_table(run: RunDocument, event: str) -> Table:
    car = run.car[run.car["event_id"] == event]
    rows: list[list[str]] = []
    for grp in _unique(car["group"]):
        cg = car[car["group"] == grp]
        day0 = ", ".join(dict.fromkeys(d for d in cg["day0"] if d)) or "n/a"
        rows += _result_rows(run, "event_group", f"{event}:{grp}", cg, [grp, day0])
    return Table(["group", "day 0", "window", "N", "CAAR (%)"] + run.test_names,
                  rows, numeric_from=3)


def _largest_groups(run: RunDocument) -> tuple[list[str], int]:
    """The groups of the pooled table (all, or the largest of a large study) and
    the number of groups."""
    groups = _unique(run.car["group"])
    if not run.large or len(groups) <= REPORT_MAX_GROUPS:
        return groups, len(groups)
    size = run.car.groupby("group", sort=False)["event_id"].size()
    keep = set(size.sort_values(ascending=False, kind="stable")
               .index[:REPORT_MAX_GROUPS])
    return [g for g in groups if g in keep], len(groups)


def _pooled_table(run: RunDocument) -> Table:
    rows = _result_rows(run, "all", "all", run.car, ["all pairs"])
    groups, _ = _largest_groups(run)
    by_group = dict(tuple(run.car.groupby("group", sort=False)))
    for grp in groups:
        rows += _result_rows(run, "group", grp, by_group[grp], [f"group {grp}"])
    return Table(["scope", "window", "N", "CAAR (%)"] + run.test_names, rows,
                  numeric_from=2)


def _summary_table(run: RunDocument, keys: Sequence[tuple[str, str]] | None = None
                   ) -> Table:
    """Compact table: event x group rows (all, or ``keys``), CAAR per window with
    the first test's stars."""
    test = run.test_names[0] if run.test_names else ""
    eg = run.car_tests.get("event_group", run.tests.iloc[:0])
    t = eg[eg["test"] == test]
    # rows of one series: stars from the per-series test when it ran
    single = [n for n in SERIES_TESTS if n in run.test_names]
    one = eg[eg["test"] == single[0]] if single else eg.iloc[:0]
    # clustered rows (pairs sharing a day 0): stars from bmp_kp when it ran
    rob = eg[eg["test"] == ROBUST_TEST]
    clus = _clustered(run)
    cols = ["event", "group", "day 0", "N"] + [f"CAAR{win(a, b)} %"
                                               for a, b in run.car_windows]
    if keys is None:
        keys = [(ev, grp) for ev in run.events for grp in run.groups(ev)]
    rows = []
    for ev, grp in keys:
        cg = run.car[(run.car["event_id"] == ev) & (run.car["group"] == grp)]
        day0 = ", ".join(dict.fromkeys(d for d in cg["day0"] if d)) or "n/a"
        tk = t[t["scope_value"] == f"{ev}:{grp}"]
        ok = one[one["scope_value"] == f"{ev}:{grp}"]
        rk = rob[rob["scope_value"] == f"{ev}:{grp}"]
        cells = []
        for a, b in run.car_windows:
            r = tk[(tk["window_start"] == a) & (tk["window_end"] == b)]
            r1 = ok[(ok["window_start"] == a) & (ok["window_end"] == b)]
            if len(r):
                m, p = float(r["mean"].iloc[0]), float(r["p_value"].iloc[0])
                r2 = rk[(rk["window_start"] == a) & (rk["window_end"] == b)]
                if (len(r2) and clus.get(("event_group", f"{ev}:{grp}"), False)
                        and int(r2["n"].iloc[0]) > 1):
                    p = float(r2["p_value"].iloc[0])
                if len(r1) and int(r1["n"].iloc[0]) == 1:
                    p = float(r1["p_value"].iloc[0])
                cells.append(f"{_pct(m)}{stars(p)}" if np.isfinite(m) else "")
            else:
                cw = cg[(cg["window_start"] == a) & (cg["window_end"] == b)]
                cells.append(_pct(float(pd.to_numeric(cw["car"]).mean()))
                             if len(cw) else "")
        rows.append([ev, grp, day0, str(cg["ticker"].nunique()
                                         if "ticker" in cg else len(cg))] + cells)
    return Table(cols, rows, numeric_from=3, links=run.anchors)


def _clustered(run: RunDocument) -> dict[tuple[str, str], bool]:
    """:func:`~eventstudy.results.summary.clustered_scopes` of the run's pairs."""
    cols = [c for c in ("event_id", "group", "ticker", "day0") if c in run.car]
    return clustered_scopes(run.car[cols].drop_duplicates(
        [c for c in cols if c != "day0"]))


def _top_keys(run: RunDocument, top: int = REPORT_TOP) -> list[tuple[str, str]]:
    """The ``top`` event x group keys with the largest |CAAR| in the first CAR
    window (the first test's mean where it ran, else the mean CAR)."""
    if not run.car_windows:
        return []
    a, b = run.car_windows[0]
    c = run.car[(run.car["window_start"] == a) & (run.car["window_end"] == b)]
    vals = pd.to_numeric(c["car"], errors="coerce")
    mean = vals.groupby([c["event_id"], c["group"]], sort=False).mean()
    test = run.test_names[0] if run.test_names else ""
    t = run.car_tests.get("event_group", run.tests.iloc[:0])
    t = t[(t["test"] == test) & (t["window_start"] == a) & (t["window_end"] == b)]
    if len(t):
        tm = pd.to_numeric(t.drop_duplicates("scope_value").set_index(
            "scope_value")["mean"], errors="coerce")
        labels = [f"{e}:{g}" for e, g in mean.index]
        got = tm.reindex(pd.Index(labels)).to_numpy(dtype=np.float64)
        mean = pd.Series(np.where(np.isfinite(got), got, mean.to_numpy()),
                         index=mean.index)
    size = mean.abs().fillna(-1.0)
    order = size.sort_values(ascending=False, kind="stable")
    order = order[order >= 0]
    return [(str(e), str(g)) for e, g in order.index[:top]]


def _excluded_table(run: RunDocument, event: str | None = None,
                    limit: int | None = None) -> Table:
    ex = run.excluded
    if event is not None:
        ex = ex[ex["event_id"] == event] if "event_id" in ex.columns else ex.iloc[:0]
    if limit is not None:
        ex = ex.iloc[:limit]
    rows = [[str(r.get("event_id", "")), str(r.get("ticker", "")),
             str(r.get("reason", ""))] for r in ex.to_dict("records")]
    return Table(["event", "ticker", "reason"], rows, numeric_from=3)


def _excluded_reasons(run: RunDocument) -> Table:
    """Excluded pairs counted by reason (most frequent first)."""
    ex = run.excluded
    if "reason" not in ex.columns:
        return Table([], [])
    n = ex["reason"].astype(str).value_counts(sort=False)
    n = n.sort_values(ascending=False, kind="stable").iloc[:REPORT_MAX_ROWS]
    return Table(["reason", "pairs"], [[str(k), str(int(v))] for k, v in n.items()],
                  numeric_from=1)


def _pairs_table(run: RunDocument, event: str) -> Table:
    d = run.diagnostics
    if "event_id" not in d.columns:
        return Table([], [])
    d = d[d["event_id"] == event]
    spec: list[tuple[str, str, Callable[[Any], str]]] = [
        ("ticker", "ticker", str), ("group", "group", str),
        ("calendar", "calendar", str), ("day0", "day 0", str),
        ("n_est", "n est.", lambda v: f"{int(v)}"),
        ("beta", "beta", lambda v: f"{v:.3f}"),
        ("sigma", "sigma (%)", lambda v: f"{100 * v:.3f}"),
        ("r2", "R2", lambda v: f"{v:.3f}"),
        ("confounded_by", "confounded by", str)]
    spec = [s for s in spec if s[0] in d.columns]

    def fmt(v: Any, f: Callable[[Any], str]) -> str:
        if isinstance(v, float) and not np.isfinite(v):
            return ""
        try:
            return f(v)
        except (TypeError, ValueError):
            return str(v)

    rows = [[fmt(r[c], f) for c, _, f in spec] for r in d.to_dict("records")]
    return Table([h for _, h, _ in spec], rows, numeric_from=4)


def time_zone(timestamp: str) -> str:
    """The time zone of a catalog timestamp as written: its UTC offset or
    ``"date only"``.

    Examples
    --------
    >>> time_zone("2025-02-07T14:00-05:00"), time_zone("2024-11-06")
    ('UTC-05:00', 'date only')
    >>> time_zone("2025-07-23T08:00Z"), time_zone("2025-07-23T08:00+0900")
    ('UTC+00:00', 'UTC+09:00')
    """
    t = str(timestamp).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        return "date only"
    m = re.search(r"(?<=\d)(Z|[+-]\d{2}:?\d{2})$", t)
    if m is None:
        return "no UTC offset"
    z = m.group(1)
    if z == "Z":
        return "UTC+00:00"
    return f"UTC{z[:3]}:{z[-2:]}"


@dataclass(frozen=True)
class EventInfo:
    """What the run knows about one event beyond its numbers."""

    items: list[tuple[str, str]]  # title, timestamp, time zone, source, ...
    evidence: str
    confounded: list[tuple[str, list[str]]]  # "ticker (group)" -> confounding ids
    excluded: Table


_CATALOG_ITEMS = (("title", "title"), ("timestamp", "timestamp"),
                  ("groups", "groups"), ("source", "source"),
                  ("confidence", "confidence"),
                  ("timestamp_source", "timestamp source"), ("notes", "notes"))


def _event_info(run: RunDocument, event: str) -> EventInfo:
    row = run.catalog_rows.get(event, {})
    items: list[tuple[str, str]] = []
    for col, label in _CATALOG_ITEMS:
        v = row.get(col, "")
        if v:
            items.append((label, v))
        if col == "timestamp" and v:
            items.append(("time zone", time_zone(v)))
            if row.get("instant_utc"):
                items.append(("instant (UTC)", row["instant_utc"]))
    conf: list[tuple[str, list[str]]] = []
    d = run.diagnostics
    if {"event_id", "confounded_by"} <= set(d.columns):
        d = d[(d["event_id"] == event) & (d["confounded_by"] != "")]
        for r in d.to_dict("records"):
            who = str(r.get("ticker", ""))
            if r.get("group"):
                who += f" ({r['group']})"
            conf.append((who, [x for x in str(r["confounded_by"]).split(";") if x]))
    return EventInfo(items, row.get("evidence", ""), conf,
                      _excluded_table(run, event))


def _section_events(run: RunDocument) -> list[str]:
    """Events with a section: every event (those without a kept pair last), or
    for a large study the events of the largest CAARs."""
    if run.large:
        return list(dict.fromkeys(e for e, _ in run.top_keys))
    return run.events + [e for e in run.catalog_rows if e not in set(run.events)]


def _parameters(run: RunDocument) -> list[tuple[str, str]]:
    p = run.info.get("parameters", {})
    w = p.get("windows", {})
    m = p.get("model", {})
    c = p.get("conventions", {})
    items: list[tuple[str, str]] = []

    def add(k: str, v: Any) -> None:
        if v not in (None, "", [], {}):
            items.append((k, str(v)))

    add("study file", run.info.get("study"))
    add("model", m.get("name"))
    add("returns", m.get("returns"))
    model = MODELS.get(str(m.get("name")))
    if model is not None and model.uses_lags:
        add("Dimson lags", m.get("dimson_lags"))
    if w.get("estimation_mode") == "all" and w.get("estimation"):
        add("estimation window", f"first return to day {w['estimation'][1]} "
            f"(all data, gap {w.get('estimation_gap')})")
    elif w.get("estimation"):
        add("estimation window", win(*w["estimation"]))
    if w.get("day0_rule") == "previous":
        add("day 0 of a plain date that is not a session", "previous session")
    if w.get("event"):
        add("event window", win(*w["event"]))
    if w.get("car"):
        add("CAR windows", ", ".join(win(a, b) for a, b in w["car"]))
    add("minimum estimation returns", w.get("min_estimation_obs"))
    add("tests", ", ".join(p.get("tests", [])))
    for k in ("profile", "sigma_dof", "forecast_error", "market_moments",
              "aggregation", "weights", "patell_car", "corrado_divisor"):
        if k in c:
            add(k.replace("_", " "), c[k] if c[k] != "" else "equal")
    by_test = c.get("forecast_error_by_test") or {}
    if by_test:
        add("forecast error by test", ", ".join(
            f"{t} {'on' if v else 'off'}" for t, v in by_test.items()))
    add("day 0 rule", run.info.get("day0_rule"))
    return items


def _sources(run: RunDocument) -> Table:
    src = run.info.get("sources", {}) or {}
    sha = run.info.get("inputs_sha256", {}) or {}
    rows = [[str(k), str(src.get(k, "")), str(sha.get(k, ""))]
            for k in dict.fromkeys(list(src) + list(sha))]
    return Table(["input", "source", "SHA-256"], rows, numeric_from=3)


def _metadata(run: RunDocument) -> list[tuple[str, str]]:
    info = run.info
    items: list[tuple[str, str]] = []
    for k, v in sorted((info.get("versions") or {}).items()):
        items.append((f"version: {k}", str(v)))
    for k, v in sorted((info.get("counts") or {}).items()):
        items.append((f"count: {k}", str(v)))
    known = {"versions", "counts", "parameters", "sources", "inputs_sha256",
             "data_warnings", "data_quality", "study", "day0_rule"}
    for k in sorted(set(info) - known):
        v = info[k]
        items.append((k, v if isinstance(v, str) else json.dumps(v, sort_keys=True,
                                                                  default=str)))
    return items


def _summary_note(run: RunDocument, test: str) -> str:
    """The summary table's footnote: units, weighting and the starring test."""
    col = run.info.get("parameters", {}).get("conventions", {}).get("weights") or ""
    how = (f"value-weighted by '{col}'" if col and test in WEIGHTED_TESTS
           else "equal-weighted")
    quotes = quote_notes(run.diagnostics) if "quote" in run.diagnostics else []
    meaning = (" What a positive return means: " + "; ".join(quotes) + "."
               if quotes else "")
    clus = [k for k, v in _clustered(run).items()
            if v and k[0] == "event_group"]
    robust = ""
    if clus and test != ROBUST_TEST:
        robust = (f" Rows whose pairs share a day 0 (clustered in time): stars from "
                  f"'{ROBUST_TEST}' (Kolari-Pynnonen adjusted BMP), robust to the "
                  "cross-correlation of abnormal returns on a common date."
                  if ROBUST_TEST in run.test_names else
                  f" Rows whose pairs share a day 0 (clustered in time) are starred "
                  f"by '{test}', which assumes independent pairs; add "
                  f"'{ROBUST_TEST}' to [tests] names for robust stars.")
    return (f"CAAR in percent, {how} over the pairs with a CAR in the window; stars "
            f"from the '{test}' test.{robust}{meaning}")


def _large_note(run: RunDocument) -> str:
    n = len(_section_events(run))
    return (f"{len(run.events)} events (more than {MANY_EVENTS}): the summary is "
            f"pooled over all pairs and by group, and only the {n} events of the "
            f"{REPORT_TOP} event x group rows with the largest |CAAR| get a "
            "section below; every pair's CAR is in car.csv, every test in "
            "tests.csv and the catalog in events.csv.")


def _plot_note(run: RunDocument) -> str:
    w = run.plot_window
    if w is None:
        return ""
    return (f"Plots cumulate abnormal returns from day {day(w[0])}, the start of "
            f"the CAR window {win(*w)}: their last point is that window's CAAR in "
            "the tables.")


def _warning_blocks(run: RunDocument) -> list[tuple[str, list[str], str]]:
    """``(heading, items, text when empty)`` of the two warning lists, each cut
    to :data:`REPORT_MAX_ROWS` items (plus a line saying how many more)."""
    out = []
    for head, items, empty in (
            ("Data-quality checks", run.quality, "No data-quality findings."),
            ("Alignment and engine warnings", run.warnings,
             "No alignment or engine warnings.")):
        shown = items[:REPORT_MAX_ROWS]
        if len(items) > len(shown):
            shown = shown + [f"... and {len(items) - len(shown)} more (run.json)"]
        out.append((f"{head} ({len(items)})", shown, empty))
    return out


def _warning_line(run: RunDocument) -> str:
    q, w = len(run.quality), len(run.warnings)
    if not q and not w:
        return "No data-quality findings and no alignment or engine warnings."
    return (f"Warnings: {q} data-quality finding{'s' * (q != 1)} and {w} alignment "
            f"or engine warning{'s' * (w != 1)} (see Data-quality warnings).")


MEASURE_TABLES = ("volatility", "volume")
"""The optional tables of the other measures (``[measures] names``)."""


def reaction_window(run: RunDocument) -> tuple[int, int]:
    """The CAR window of the reactions table: [0, 1] when the run has it (day 0
    and the next session on each series' own clock), else the first CAR
    window."""
    wins = run.car_windows
    return (0, 1) if (0, 1) in wins else wins[0]


def _reactions_table(run: RunDocument) -> Table | None:
    vol = run.measures.get("volatility")
    vlm = run.measures.get("volume")
    if vol is None and vlm is None:
        return None
    a, b = reaction_window(run)
    w = f"[{a},{b}]"
    car = run.car[(run.car["window_start"] == a) & (run.car["window_end"] == b)]
    keys = list(dict.fromkeys(zip(car["event_id"].astype(str),
                                  car["group"].astype(str), strict=True)))
    t = run.car_tests.get("event_group", run.tests.iloc[:0])
    t = t[(t["window_start"] == a) & (t["window_end"] == b)]

    def rows_of(df: pd.DataFrame | None, test: str, model: str | None = None
                ) -> dict[str, dict[str, Any]]:
        if df is None:
            return {}
        d = df[(df["scope"] == "event_group") & (df["window_kind"] == "car")
               & (df["window_start"] == a) & (df["window_end"] == b)
               & (df["test"] == test)]
        if model is not None:
            d = d[d["model"] == model]
        return {str(r["scope_value"]): {str(k): v for k, v in r.items()}
                for r in d.to_dict("records")}

    v_sav = rows_of(vol, "vol_savickas")
    v_rat = rows_of(vol, "vol_ratio")
    u_t = rows_of(vlm, "av_t", "mean")
    u_z = rows_of(vlm, "av_z", "mean")
    cols = ["event", "group", "n", f"CAAR{w} %", "p (test)"]
    if vol is not None:
        cols += [f"AR^2/h {w}", "p (test)"]
    if vlm is not None:
        cols += ["n vol", f"volume {w} % per day", "p (test)"]
    rows: list[list[str]] = []
    for ev, g in keys:
        key = f"{ev}:{g}"
        c = car[(car["event_id"].astype(str) == ev) & (car["group"].astype(str) == g)]
        n = len(c)
        tt = t[t["scope_value"] == key]
        ret = ""
        for name in run.test_names:
            pv = tt.loc[tt["test"] == name, "p_value"].to_numpy(dtype=np.float64)
            if len(pv) and np.isfinite(pv[0]):
                ret = f"{_pval(float(pv[0]))}{stars(float(pv[0]))} ({name})"
                break
        row = [ev, g, str(n), _pct(float(c["car"].mean())), ret or "n/a"]
        if vol is not None:
            r: dict[str, Any] | None = v_sav.get(key) if n > 1 else v_rat.get(key)
            if r is None or not np.isfinite(float(r["var_ratio"])):
                row += ["", "n/a"]
            else:
                p = float(r["p_value"])
                row += [f"{float(r['var_ratio']):.2f}",
                        f"{_pval(p)}{stars(p)} ({r['test']})"
                        if np.isfinite(p) else "n/a"]
        if vlm is not None:
            r = u_t.get(key)
            nv = int(float(r["n"])) if r is not None else 0
            if r is not None and nv == 1:
                r = u_z.get(key)
            if r is None or nv == 0:
                row += ["0", "", "n/a"]
            else:
                p = float(r["p_value"])
                row += [str(nv), _pct(float(r["daily_pct"])),
                        f"{_pval(p)}{stars(p)} ({r['test']})"
                        if np.isfinite(p) else "n/a"]
        rows.append(row)
    return Table(cols, rows, numeric_from=2)


def _reactions_note(run: RunDocument) -> str:
    a, b = reaction_window(run)
    parts = [f"Each event x group over CAR[{a},{b}] (day 0 on each series' own "
             "clock). CAAR: the mean CAR, with the p-value of the first selected "
             "test that has one."]
    if "volatility" in run.measures:
        parts.append("AR^2/h: the mean ratio of squared abnormal returns to the "
                     "variance the model expects (1 = no change), tested by "
                     "vol_savickas (Savickas 2003; skewness-adjusted cross-sectional "
                     "t) or, for a single series, vol_ratio (chi-square); "
                     "volatility.csv has every day and test.")
    if "volume" in run.measures:
        parts.append("Volume: the mean abnormal log volume per day "
                     "(Campbell & Wasley 1996, mean-adjusted) as a percentage of "
                     "normal volume, tested by av_t (av_z for a single series); "
                     "n vol counts the pairs with volumes (FX rates and indices "
                     "have none: volume_excluded.csv).")
    return " ".join(parts)
