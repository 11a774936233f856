"""Reports of an event study: summary tables, plots and a self-contained HTML report.

Three layers, each usable alone:

:class:`Summary`
    The CAAR-by-event-x-group table of a results object (above 50 events: pooled,
    all pairs and by group, plus the 20 event x group rows with the largest
    |CAAR|), rendered as
    text, Markdown, HTML or LaTeX (``EventStudyResults.summary()``; ``summary.md``
    of a run).
Plots (:func:`plot_car`, :func:`plot_event_overview`, :func:`plot_ar_heatmap`,
:func:`write_plots`)
    matplotlib figures built on :class:`matplotlib.figure.Figure` directly: no
    ``pyplot``, no global figure state, never ``plt.show()``. matplotlib is imported
    inside the functions only, so ``import eventstudy.reporting.report`` stays light.
:func:`build_report`
    ``eventstudy report OUT_DIR``: a report built from a finished run's output files
    alone (``run.json``, ``tests.csv``, ``car.csv``, ``excluded.csv``,
    ``diagnostics.csv`` and ``plots/`` when present), as one self-contained
    ``report.html`` (inline CSS, plots embedded as ``data:`` URIs, no external URL),
    ``report.md`` or ``report.tex`` (booktabs).

Every output is deterministic: no timestamps, stable order, fixed number formats, and
plot files with fixed metadata, so reruns on the same inputs give identical bytes.

Significance stars everywhere: two-sided p-values, ``*`` < 0.10, ``**`` < 0.05,
``***`` < 0.01.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from eventstudy.errors import InputError, WindowError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from eventstudy.results import EventStudyResults

ReportFormat = Literal["html", "md", "latex"]
REPORT_FILES: dict[str, str] = {"html": "report.html", "md": "report.md",
                                "latex": "report.tex"}
RUN_FILES = ("run.json", "tests.csv", "car.csv", "excluded.csv", "diagnostics.csv")
PLOT_DPI = 110
_SVG_SALT = "eventstudy"
_BAND_Z = 1.959963984540054  # two-sided 95% normal quantile


def stars(p: float) -> str:
    """Significance stars for a two-sided p-value.

    Parameters
    ----------
    p
        Two-sided p-value; NaN gives no stars.

    Returns
    -------
    str
        ``"***"`` (p < 0.01), ``"**"`` (p < 0.05), ``"*"`` (p < 0.10) or ``""``.

    Examples
    --------
    >>> stars(0.004), stars(0.03), stars(0.08), stars(0.5)
    ('***', '**', '*', '')
    """
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.10 else ""


def _tex(value: object) -> str:
    r"""Escape text for LaTeX; significance stars after a number become superscripts.

    Examples
    --------
    >>> print(_tex("E_1 & 2.31** (0.020)"))
    E\_1 \& 2.31$^{**}$ (0.020)
    """
    out = []
    for ch in str(value):
        out.append({"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_",
                    "#": r"\#", "$": r"\$", "{": r"\{", "}": r"\}",
                    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}.get(ch, ch))
    return re.sub(r"(?<=[0-9.])(\*{1,3})(?!\*)", r"$^{\1}$", "".join(out))


def _md(value: object) -> str:
    """Make text safe inside a Markdown table cell."""
    return str(value).replace("|", r"\|").replace("\n", " ")


MANY_EVENTS = 50
"""Above this many events a study is summarised pooled: :class:`Summary`
(``summary.md``, the terminal) and the report give all pairs and each group, and
:func:`write_plots` draws the pooled plot only, not one set per event."""


SUMMARY_MAX_ROWS = 1_000
"""Above this many event x group rows (or :data:`MANY_EVENTS` events),
:meth:`Summary.from_results` summarises by group and lists only the largest
CAARs."""
SUMMARY_TOP = 20
"""Event x group rows listed (largest |CAAR|) when the summary is by group."""
SUMMARY_MAX_GROUPS = 12
"""Groups listed (the largest) when the summary is by group."""

_TEX_CHARS = str.maketrans({
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#",
    "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}"})
_TEX_STARS = r"(?<=[0-9.])(\*{1,3})(?!\*)"
_HTML_CHARS = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"),
               ("'", "&#x27;"))  # html.escape(quote=True), "&" first


def _star_array(p: np.ndarray) -> np.ndarray:
    """:func:`stars` of each p-value (vectorised)."""
    p = np.asarray(p, dtype=np.float64)
    fin = np.isfinite(p)
    return np.select([fin & (p < 0.01), fin & (p < 0.05), fin & (p < 0.10)],
                     ["***", "**", "*"], "").astype(object)


def _caar_cells(mean: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``f"{100 * m:.2f}{stars(p)}"`` per cell, ``""`` where the mean is missing."""
    mean = np.asarray(mean, dtype=np.float64)
    fin = np.isfinite(mean)
    out = np.full(len(mean), "", dtype=object)
    if fin.any():
        txt = np.char.mod("%.2f", 100 * mean[fin]).astype(object)
        out[fin] = txt + _star_array(p)[fin]
    return out


def _text_col(s: pd.Series) -> pd.Series:
    """``str`` of each cell (as ``str(row[col])`` did), object dtype."""
    return s.astype(object).map(str)


def _text_table(df: pd.DataFrame) -> str:
    """``df.to_string(index=False)`` for columns of text and integers, vectorised.

    As pandas does: cells and headers right-aligned to the column's width, integer
    columns' headers prefixed by a space, columns joined by one space. Other dtypes,
    or text with tabs or line breaks (which pandas escapes), use ``to_string``.
    """
    if not len(df) or not len(df.columns):
        return df.to_string(index=False)
    cols: list[pd.Series] = []
    heads: list[str] = []
    for name in df.columns:
        s = df[name]
        head = str(name)
        if pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(
                s.dtype):
            vals = pd.Series(np.char.mod("%d", s.to_numpy(dtype=np.int64)),
                             dtype=object)
            head = " " + head
        else:
            arr = s.to_numpy(dtype=object)
            if pd.api.types.infer_dtype(arr, skipna=False) != "string":
                return df.to_string(index=False)
            vals = pd.Series(arr, dtype=object)
            if vals.str.contains(r"[\t\r\n]", regex=True).any():
                return df.to_string(index=False)
        width = max(len(head), int(vals.str.len().max()))
        heads.append(head.rjust(width))
        cols.append(vals.str.rjust(width))
    body = cols[0]
    for c in cols[1:]:
        body = body + " " + c
    return "\n".join([" ".join(heads)] + body.tolist())


def _joined_rows(df: pd.DataFrame, cell: Callable[[pd.Series], pd.Series],
                 start: str, sep: str, end: str) -> list[str]:
    """One string per row: ``start + sep.join(cells) + end`` (vectorised)."""
    if not len(df.columns):
        return [start + end] * len(df)
    cols = [cell(_text_col(df[c])) for c in df.columns]
    row = start + cols[0]
    for c in cols[1:]:
        row = row + sep + c
    return (row + end).tolist()


def _md_cells(s: pd.Series) -> pd.Series:
    return s.str.replace("|", r"\|", regex=False).str.replace("\n", " ", regex=False)


def _html_cells(s: pd.Series) -> pd.Series:
    for a, b in _HTML_CHARS:
        s = s.str.replace(a, b, regex=False)
    return s


def _tex_cells(s: pd.Series) -> pd.Series:
    return s.str.translate(_TEX_CHARS).str.replace(_TEX_STARS, r"$^{\1}$",
                                                   regex=True)


@dataclass(frozen=True)
class Summary:
    """A summary table with text, Markdown, HTML and LaTeX renderings.

    Attributes
    ----------
    title
        Table title.
    table
        The table: one row per event x group, or (large studies) one row for all
        pairs and one per group.
    notes
        Footnotes (stars, model, windows, counts).
    caption
        Heading of ``table`` (empty: none).
    sections
        Further ``(heading, table)`` pairs shown after ``table`` (large studies: the
        event x group rows with the largest CAARs).
    """

    title: str
    table: pd.DataFrame
    notes: tuple[str, ...]
    caption: str = ""
    sections: tuple[tuple[str, pd.DataFrame], ...] = ()

    @classmethod
    def from_results(cls, res: EventStudyResults, test: str, *,
                     max_rows: int = SUMMARY_MAX_ROWS, top: int = SUMMARY_TOP,
                     max_groups: int = SUMMARY_MAX_GROUPS,
                     max_events: int | None = None) -> Summary:
        """Build the CAAR summary from results.

        Parameters
        ----------
        res
            Fitted results.
        test
            Test whose p-values give the stars.
        max_rows
            Up to this many event x group rows (and ``max_events`` events), one
            row per event x group. Above, the table is pooled (all pairs and each
            group) and only the ``top`` rows with the largest |CAAR| are listed.
        max_events
            The same limit on events; default :data:`MANY_EVENTS` (50).
        top
            Event x group rows listed above ``max_rows``.
        max_groups
            Groups listed above ``max_rows`` (the ones with most pairs).

        Returns
        -------
        Summary
            Up to ``max_rows``: columns ``event, group, day 0, n`` and one
            ``CAAR[a,b] %`` column per CAR window, stars from the ``event_group``
            tests (mean CAR without stars where they did not run). Above: ``table``
            has ``scope, group, events, n`` and the CAAR columns for all pairs and
            each group (stars from the ``all``/``group`` tests), and one section
            lists the ``top`` event x group rows with the largest |CAAR| in the
            first CAR window, in the columns of the small table.
        """
        cars = [(int(a), int(b)) for a, b in res.windows.car]
        p = res.pairs_
        k = _PairKeys.of(p, np.asarray(res.car_arr, dtype=np.float64)
                         .reshape(len(p), len(cars)))
        G = k.n_keys
        n_events = len(k.events)
        t = res.tests_
        t = t[t["test"] == test]
        if "window_kind" in t.columns:
            t = t[t["window_kind"] == "car"]
        notes = [
            f"Stars: two-sided p-values of the '{test}' test: * < 0.10, ** < 0.05, "
            "*** < 0.01.",
            f"Model: {res.model.name}, {res.model.returns} returns; estimation "
            f"{list(res.windows.estimation)}, event {list(res.windows.event)} "
            "(trading sessions of each security's own calendar).",
            f"Pairs: {res.n_pairs} kept, {len(res.excluded_)} excluded "
            "(see excluded.csv).",
            "Day 0: the first session whose close is at or after the announcement.",
        ]
        max_ev = MANY_EVENTS if max_events is None else max_events
        if G <= max_rows and n_events <= max_ev:
            table = _event_group_rows(p, t, cars, k, np.arange(G))
            return cls("Event study summary", table, tuple(notes))

        # large study: by group, plus the event x group rows with the largest CAARs
        table, caption = _group_rows(t, cars, k, max_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean0 = (k.tot[:, 0] / k.cnt[:, 0]) if cars else np.full(G, np.nan)
        eg = t[t["scope"] == "event_group"]
        if cars and len(eg):  # the event x group tests ran: rank on their means
            w0 = eg[(eg["window_start"] == cars[0][0])
                    & (eg["window_end"] == cars[0][1])]
            w0m = w0.drop_duplicates("scope_value").set_index("scope_value")["mean"]
            m = w0m.reindex(pd.Index(k.labels(np.arange(G)))).to_numpy(
                dtype=np.float64)
            mean0 = np.where(np.isfinite(m), m, mean0)
        size = np.where(np.isfinite(mean0), np.abs(mean0), -1.0)
        rows = np.argsort(-size, kind="stable")[:min(top, G)]
        rows = rows[size[rows] >= 0]
        listed = _event_group_rows(p, t, cars, k, rows)
        w = _win_label(*cars[0]) if cars else ""
        heading = (f"The {len(rows)} event x group rows with the largest |CAAR{w}| "
                   f"(of {G}; every pair's CAR is in car.csv)")
        notes[0] = (f"Stars: two-sided p-values of the '{test}' test: * < 0.10, "
                    "** < 0.05, *** < 0.01" + (
                        "." if len(eg) else
                        "; the listed event x group rows have none (tests ran on "
                        "the all and group scopes only)."))
        why = (f"more than {max_ev} events" if n_events > max_ev
               else f"more than {max_rows} rows")
        notes[2] = (f"Pairs: {res.n_pairs} kept, {len(res.excluded_)} excluded (see "
                    f"excluded.csv); {n_events} events, {G} event x group rows: "
                    f"{why}, so pooled: all pairs and by group.")
        return cls("Event study summary", table, tuple(notes), caption=caption,
                   sections=((heading, listed),))

    def _blocks(self) -> list[tuple[str, pd.DataFrame]]:
        return [(self.caption, self.table)] + list(self.sections)

    def as_text(self) -> str:
        """Plain-text rendering."""
        parts = []
        for i, (head, table) in enumerate(self._blocks()):
            body = _text_table(table) if len(table) else "(no pairs)"
            lead = ("\n" if i else "") + (f"{head}\n" if head else "")
            parts.append(lead + body)
        return f"{self.title}\n" + "\n".join(parts) + "\n" + "\n".join(
            self.notes) + "\n"

    def as_markdown(self) -> str:
        """GitHub-flavoured Markdown rendering."""
        lines = [f"# {self.title}", ""]
        for i, (head, table) in enumerate(self._blocks()):
            if i:
                lines.append("")
            if head:
                lines += [f"## {head}", ""]
            cols = list(table.columns)
            if cols:
                lines += _md_table(cols, [])
                lines += _joined_rows(table, _md_cells, "| ", " | ", " |")
        lines.append("")
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def as_html(self) -> str:
        """HTML table rendering (for notebooks and reports)."""
        out = [f"<h3>{html.escape(self.title)}</h3>"]
        for head, table in self._blocks():
            if head:
                out.append(f"<p><b>{html.escape(head)}</b></p>")
            cols = list(table.columns)
            th = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
            body = "".join(_joined_rows(table, _html_cells, "<tr><td>", "</td><td>",
                                        "</td></tr>") if cols
                           else ["<tr></tr>"] * len(table))
            out.append(f"<table class='es-summary'><thead><tr>{th}</tr></thead>"
                       f"<tbody>{body}</tbody></table>")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return "".join(out) + f"<ul>{notes}</ul>"

    def as_latex(self) -> str:
        """LaTeX (booktabs) rendering; stars become superscripts."""
        lines: list[str] = []
        for head, table in self._blocks():
            if head:
                lines.append(r"\paragraph{" + _tex(head) + "}")
            cols = list(table.columns)
            body = _joined_rows(table, _tex_cells, "", " & ", r" \\") if cols else []
            lines += _tex_tabular(cols, [], ncols_left=2, extra=body)
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()


def _win_label(a: int, b: int) -> str:
    return f"[{a},{b}]"


@dataclass(frozen=True)
class _PairKeys:
    """Pairs keyed by event x group (codes in order of first appearance), with the
    per-key and per-group counts and sums of the CARs (one column per window)."""

    events: np.ndarray  # event ids, by code
    groups: np.ndarray  # group names, by code
    gcode: np.ndarray  # (P,) group code of each pair
    key_event: np.ndarray  # (G,) event code of each key
    key_group: np.ndarray  # (G,) group code of each key
    first: np.ndarray  # (G,) first pair of each key
    cnt: np.ndarray  # (G, W) pairs with a CAR
    tot: np.ndarray  # (G, W) sum of their CARs
    car: np.ndarray  # (P, W)
    ok: np.ndarray  # (P, W) CAR present

    @property
    def n_keys(self) -> int:
        return len(self.first)

    @classmethod
    def of(cls, p: pd.DataFrame, car: np.ndarray) -> _PairKeys:
        ecode, events = pd.factorize(p["event_id"].astype(str))
        gcode, groups = pd.factorize(p["group"].astype(str))
        ng = max(len(groups), 1)
        codes, keys = pd.factorize(ecode.astype(np.int64) * ng + gcode)
        G = len(keys)
        _, first = np.unique(codes, return_index=True)
        ok = np.isfinite(car)
        W = car.shape[1]
        cnt = np.zeros((G, W))
        tot = np.zeros((G, W))
        for j in range(W):
            cnt[:, j] = np.bincount(codes, weights=ok[:, j], minlength=G)
            tot[:, j] = np.bincount(codes, weights=np.where(ok[:, j], car[:, j], 0.0),
                                    minlength=G)
        return cls(np.asarray(events, dtype=object), np.asarray(groups, dtype=object),
                   gcode, keys // ng, keys % ng, first.astype(np.int64), cnt, tot,
                   car, ok)

    def labels(self, rows: np.ndarray) -> list[str]:
        """``event:group`` of the keys ``rows`` (the tests' ``scope_value``)."""
        return [f"{e}:{g}" for e, g in zip(self.events[self.key_event[rows]],
                                            self.groups[self.key_group[rows]],
                                            strict=True)]


def _event_group_rows(p: pd.DataFrame, t: pd.DataFrame, cars: list[tuple[int, int]],
                      k: _PairKeys, rows: np.ndarray) -> pd.DataFrame:
    """The event x group table for the keys ``rows`` (in that order)."""
    pos = k.first[rows]
    day0 = pd.to_datetime(p["day0"].iloc[pos])
    table = pd.DataFrame({
        "event": p["event_id"].iloc[pos].to_numpy(),
        "group": p["group"].iloc[pos].to_numpy(),
        "day 0": day0.dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
        "n": k.cnt[rows].max(axis=1).astype(np.int64) if len(cars) else 0,
    })
    eg = t[t["scope"] == "event_group"]
    eg = eg.drop_duplicates(["scope_value", "window_start", "window_end"])
    eg = eg.set_index(["scope_value", "window_start", "window_end"])
    keys = k.labels(rows) if len(eg) else []
    R = len(rows)
    for j, (a, b) in enumerate(cars):
        if len(eg):
            r = eg.reindex(pd.MultiIndex.from_arrays([keys, [a] * R, [b] * R]))
            mean = r["mean"].to_numpy(dtype=np.float64)
            pv = r["p_value"].to_numpy(dtype=np.float64)
        else:  # the tests skipped the event x group scope: mean CAR, no stars
            mean = pv = np.full(R, np.nan)
        cnt, tot = k.cnt[rows, j], k.tot[rows, j]
        miss = ~np.isfinite(mean) & (cnt > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(miss, tot / cnt, mean)
        table[f"CAAR{_win_label(a, b)} %"] = _caar_cells(mean, pv)
    return table


def _group_rows(t: pd.DataFrame, cars: list[tuple[int, int]], k: _PairKeys,
                max_groups: int) -> tuple[pd.DataFrame, str]:
    """All pairs and the (largest) groups: events, pairs with a CAR, CAAR cells."""
    ng = len(k.groups)
    pairs_per_group = np.bincount(k.gcode, minlength=ng)
    shown = np.sort(np.argsort(-pairs_per_group, kind="stable")[:max_groups])
    events_per_group = np.bincount(k.key_group, minlength=ng)
    W = len(cars)
    gcnt = np.zeros((ng, W))
    gtot = np.zeros((ng, W))
    for j in range(W):
        gcnt[:, j] = np.bincount(k.key_group, weights=k.cnt[:, j], minlength=ng)
        gtot[:, j] = np.bincount(k.key_group, weights=k.tot[:, j], minlength=ng)
    names = [str(g) for g in k.groups[shown]]
    n_all = k.cnt.sum(axis=0)
    table = pd.DataFrame({
        "scope": ["all"] + ["group"] * len(shown),
        "group": [""] + names,
        "events": np.concatenate([[len(k.events)], events_per_group[shown]]).astype(
            np.int64),
        "n": np.concatenate([[n_all.max() if W else 0],
                             gcnt[shown].max(axis=1) if W else np.zeros(len(shown))]
                            ).astype(np.int64),
    })
    sv = t[t["scope"].isin(["all", "group"])]
    sv = sv.drop_duplicates(["scope", "scope_value", "window_start", "window_end"])
    sv = sv.set_index(["scope", "scope_value", "window_start", "window_end"])
    scopes = list(table["scope"])
    values = ["all"] + names
    for j, (a, b) in enumerate(cars):
        r = sv.reindex(pd.MultiIndex.from_arrays(
            [scopes, values, [a] * len(values), [b] * len(values)]))
        mean = r["mean"].to_numpy(dtype=np.float64)
        pv = r["p_value"].to_numpy(dtype=np.float64)
        n = np.concatenate([[n_all[j]], gcnt[shown, j]])
        tot = np.concatenate([[k.tot[:, j].sum()], gtot[shown, j]])
        miss = ~np.isfinite(mean) & (n > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(miss, tot / n, mean)
        table[f"CAAR{_win_label(a, b)} %"] = _caar_cells(mean, pv)
    caption = (f"CAAR of all pairs and by group ({len(k.events)} events"
               + (f"; the {len(shown)} largest of {ng} groups, every group in "
                  "tests.csv" if ng > len(shown) else "") + ")")
    return table, caption


# =============================================================================== plots
def _select(res: EventStudyResults, event: str | None, group: str | None
            ) -> np.ndarray:
    """Boolean mask of the pairs of ``event`` and/or ``group`` (None = all)."""
    p = res.pairs_
    sel = np.ones(len(p), dtype=bool)
    if event is not None:
        sel &= (p["event_id"].astype(str) == str(event)).to_numpy()
    if group is not None:
        sel &= (p["group"].astype(str) == str(group)).to_numpy()
    if not sel.any():
        what = ", ".join(f"{k}={v!r}" for k, v in (("event", event), ("group", group))
                         if v is not None)
        raise InputError(f"no kept pairs for {what or 'the study'}; see "
                         "results.excluded for pairs left out")
    return sel


def plot_window(res: EventStudyResults) -> tuple[int, int]:
    """The window the CAAR plots cumulate over: the widest CAR window that holds
    day 0 (the first such in the study's order), else the widest CAR window, else
    the event window.

    The plotted CAAR at the window's end is then the CAAR of that window in
    ``car.csv``, ``tests.csv``, the summary and the report.
    """
    return _plot_window([(int(a), int(b)) for a, b in res.windows.car],
                        (int(res.windows.event[0]), int(res.windows.event[1])))


def _plot_window(cars: Sequence[tuple[int, int]], event: tuple[int, int]
                 ) -> tuple[int, int]:
    inside = [w for w in cars if event[0] <= w[0] <= w[1] <= event[1]]
    pool = [w for w in inside if w[0] <= 0 <= w[1]] or inside
    if not pool:
        return event
    return max(pool, key=lambda w: w[1] - w[0])  # the first of the widest


def caar_path(res: EventStudyResults, event: str | None = None,
              group: str | None = None,
              window: tuple[int, int] | None = None) -> pd.DataFrame:
    """The CAAR path over a window with its standard error.

    Parameters
    ----------
    res
        Fitted results.
    event, group
        Restrict to one event and/or one group; None pools all pairs.
    window
        ``(start, end)`` in event-window days: the path cumulates from ``start``,
        so its value on ``end`` is the CAAR of the CAR window ``[start, end]`` (as
        in ``car.csv``); None: the whole event window.

    Returns
    -------
    pandas.DataFrame
        One row per day of the window: ``rel_day, caar, se, n`` (decimals; ``n`` is
        the number of pairs with at least one abnormal return from ``start`` up to
        that day).

    Raises
    ------
    InputError
        No kept pair matches ``event``/``group``.
    WindowError
        ``window`` is reversed or not inside the event window.

    Notes
    -----
    For pair i the CAR over ``[t1, t]`` (``t1`` the window's first day) sums its
    abnormal returns on the ``d_it`` days with data, as the engine does for a CAR
    window. Its variance follows Campbell, Lo & MacKinlay (1997, sec. 4.4.3) and
    MacKinlay (1997):

    .. math::

        Var(CAR_i[t_1,t]) = \\sigma_i^2 (d_{it} + \\gamma' X^* (X'X)^{-1}
        X^{*\\prime} \\gamma)

    where the second, estimation-error term is, for a model with an intercept
    estimated on ``L_i`` days, ``d^2/L_i + (sum_s delta_s)' S^-1 (sum_s delta_s)``
    with ``delta_s`` the event-day regressors minus their estimation mean. The
    results keep each day's leverage ``h_s = 1/L_i + delta_s' S^-1 delta_s``
    (recovered exactly as ``AR^2 / (sigma^2 SAR^2) - 1``) but not the regressors,
    so the cross-day part is bounded by the triangle inequality in the ``S^-1``
    norm: ``|sum_s delta_s| <= sum_s sqrt(h_s - 1/L_i)``. The band is therefore
    exact for the constant-mean and market-adjusted models (no slope term) and
    slightly conservative (never narrower than the engine's CAR variance) for
    models with slopes; the difference is of order ``d / L_i``. Without
    ``conventions.forecast_error`` the term is zero, as in the engine. Under
    cross-sectional independence and equal weights

    .. math::

        CAAR_t = \\frac{1}{N_t} \\sum_i CAR_i[t_1, t], \\quad
        Var(CAAR_t) = \\frac{1}{N_t^2} \\sum_i Var(CAR_i[t_1, t]).

    With value weights (``conventions.weights``) the mean and variance become
    sum_i w_i CAR_i / sum_i w_i and sum_i w_i^2 Var(CAR_i) / (sum_i w_i)^2 over the
    pairs with a CAR on day t. With ``aggregation = "bhar"`` the path still
    cumulates abnormal returns by summation.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from eventstudy import EventStudy
    >>> rng = np.random.default_rng(0)
    >>> d = pd.bdate_range("2022-01-03", periods=300)
    >>> m = rng.normal(0, 0.01, 300)
    >>> r = pd.DataFrame({"A": m + rng.normal(0, 0.01, 300), "M": m}, index=d)
    >>> ev = pd.DataFrame({"event_id": ["e1"], "timestamp": ["2023-01-05"],
    ...                    "ticker": ["A"]})
    >>> res = EventStudy(r, ev, kind="returns", calendar="FX", benchmark="M").fit()
    >>> path = caar_path(res, event="e1")
    >>> list(path.columns)
    ['rel_day', 'caar', 'se', 'n']
    """
    sel = _select(res, event, group)
    rel = np.asarray(res.rel_days, dtype=np.int64)
    a, b = (int(rel[0]), int(rel[-1])) if window is None else (int(window[0]),
                                                                int(window[1]))
    if not (rel[0] <= a <= b <= rel[-1]):
        raise WindowError(f"window [{a}, {b}] is not inside the event window "
                          f"[{int(rel[0])}, {int(rel[-1])}] (or is reversed); give "
                          "one of its sub-windows, e.g. a CAR window")
    cols = slice(a - int(rel[0]), b - int(rel[0]) + 1)
    ar = np.asarray(res.ar, dtype=np.float64)[sel][:, cols]
    sar = np.asarray(res.sar, dtype=np.float64)[sel][:, cols]
    s2 = np.asarray(res.sigma2, dtype=np.float64)[sel][:, None]
    nobs = np.asarray(res.nobs, dtype=np.float64)[sel][:, None]
    ok = np.isfinite(ar)
    d = np.cumsum(ok, axis=1).astype(np.float64)
    has = d > 0
    car = np.where(has, np.cumsum(np.where(ok, ar, 0.0), axis=1), np.nan)
    lev = np.zeros_like(d)
    if res.conventions.forecast_error:
        with np.errstate(invalid="ignore", divide="ignore"):
            h = (ar / sar) ** 2 / s2 - 1.0
            q = np.sqrt(np.clip(h - 1.0 / nobs, 0.0, None))
        q = np.where(ok & np.isfinite(q), q, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            lev = d**2 / nobs + np.cumsum(q, axis=1) ** 2
        fixed = (res.pairs_["model"].astype(str) == "market_adjusted").to_numpy()[sel]
        lev[fixed] = 0.0
        lev = np.where(np.isfinite(lev), lev, 0.0)
    var = np.where(has, s2 * (d + lev), np.nan)
    n = has.sum(axis=0)
    if res.conventions.weights and "weight" in res.pairs_.columns:
        # value weights: CAAR_t = sum w_i CAR_i / sum w_i over the pairs with a CAR,
        # Var = sum w_i^2 Var(CAR_i) / (sum w_i)^2
        w = res.pairs_["weight"].to_numpy(dtype=np.float64)[sel][:, None]
        sw = np.where(has, w, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            caar = np.where(n > 0, np.nansum(w * car, axis=0) / sw, np.nan)
            se = np.where(n > 0, np.sqrt(np.nansum(w * w * var, axis=0)) / sw, np.nan)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            caar = np.where(n > 0, np.nansum(car, axis=0) / n, np.nan)
            se = np.where(n > 0, np.sqrt(np.nansum(var, axis=0)) / n, np.nan)
    return pd.DataFrame({"rel_day": rel[cols], "caar": caar, "se": se,
                         "n": n.astype(np.int64)})


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _root_figure(ax: Axes) -> Figure:
    fig = ax.get_figure(root=True)
    if fig is None:  # pragma: no cover - an Axes always belongs to a figure
        raise InputError("the Axes is not attached to a figure")
    return fig


def _style_event_axes(ax: Axes, rel_days: np.ndarray) -> None:
    from matplotlib.ticker import MaxNLocator

    if len(rel_days) and rel_days.min() <= 0 <= rel_days.max():
        ax.axvline(0, color="grey", lw=0.8, ls="--", zorder=1)  # day 0
    ax.axhline(0, color="black", lw=0.5, zorder=1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set_xlabel("trading sessions relative to day 0")
    start = _day(int(rel_days[0])) if len(rel_days) else "0"
    ax.set_ylabel(f"CAAR from day {start} (%)")
    ax.grid(True, lw=0.3, alpha=0.5)


def _window_of(res: EventStudyResults, window: tuple[int, int] | None
               ) -> tuple[int, int]:
    return plot_window(res) if window is None else (int(window[0]), int(window[1]))


def plot_car(res: EventStudyResults, event: str | None = None,
             group: str | None = None, ax: Axes | None = None,
             window: tuple[int, int] | None = None) -> Figure:
    """Plot the CAAR path over a CAR window with a 95% band.

    Parameters
    ----------
    res
        Fitted results.
    event, group
        Restrict to one event and/or one group; None pools all pairs.
    ax
        A matplotlib Axes to draw into; a new Figure otherwise.
    window
        The window plotted and cumulated from its first day; default
        :func:`plot_window` (the widest CAR window around day 0), so the last point
        is that window's CAAR in the tables.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the plot (``ax``'s root figure when given). Built on
        :class:`matplotlib.figure.Figure`; never calls ``plt.show()`` and never
        touches pyplot's global figure state.

    Raises
    ------
    InputError
        No kept pair matches ``event``/``group``.

    Notes
    -----
    The line is ``CAAR_t`` in percent cumulated from the window's first day (the
    title names the window, the y axis its first day); the band is
    ``CAAR_t +/- 1.96 sqrt(Var(CAAR_t))`` with the variance of :func:`caar_path`:
    per-pair CAR variances ``sigma_i^2 (d_it + estimation-error term)`` (Campbell,
    Lo & MacKinlay 1997, sec. 4.4; MacKinlay 1997), averaged under
    cross-sectional independence. Day 0 is marked by a dashed line; N, the number
    of pairs, is in the title.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from eventstudy import EventStudy
    >>> rng = np.random.default_rng(0)
    >>> d = pd.bdate_range("2022-01-03", periods=300)
    >>> m = rng.normal(0, 0.01, 300)
    >>> r = pd.DataFrame({"A": m + rng.normal(0, 0.01, 300), "M": m}, index=d)
    >>> ev = pd.DataFrame({"event_id": ["e1"], "timestamp": ["2023-01-05"],
    ...                    "ticker": ["A"]})
    >>> res = EventStudy(r, ev, kind="returns", calendar="FX", benchmark="M").fit()
    >>> fig = plot_car(res, event="e1")
    >>> type(fig).__name__
    'Figure'

    """
    a, b = _window_of(res, window)
    path = caar_path(res, event, group, (a, b))
    n_pairs = int(_select(res, event, group).sum())
    if ax is None:
        fig = _new_figure(6.0, 3.6)
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = _root_figure(ax)
    x = path["rel_day"].to_numpy()
    caar = 100 * path["caar"].to_numpy()
    half = 100 * _BAND_Z * path["se"].to_numpy()
    ax.fill_between(x, caar - half, caar + half, alpha=0.25, color="tab:blue",
                    lw=0, label="95% band")
    ax.plot(x, caar, color="tab:blue", marker="o", ms=3, lw=1.5,
            label=f"CAAR (N = {n_pairs})")
    _style_event_axes(ax, x)
    title = " / ".join(s for s in (event, group) if s) or "all pairs"
    ax.set_title(f"{title}: CAAR{_win(a, b)} (N = {n_pairs})", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_event_overview(res: EventStudyResults, event: str,
                        window: tuple[int, int] | None = None) -> Figure:
    """One event's CAAR paths, one line and 95% band per group.

    Parameters
    ----------
    res
        Fitted results.
    event
        Event id.
    window
        As in :func:`plot_car`.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure (never shown).

    Raises
    ------
    InputError
        The event has no kept pair.

    Notes
    -----
    Each group's path and band are those of :func:`plot_car` (see
    :func:`caar_path` for the variance); groups keep their order of appearance.
    """
    sel = _select(res, event, None)
    groups = list(dict.fromkeys(res.pairs_["group"].astype(str).to_numpy()[sel]))
    a, b = _window_of(res, window)
    fig = _new_figure(7.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    lines = [(grp, caar_path(res, event, grp, (a, b)),
              int(_select(res, event, grp).sum())) for grp in groups]
    _draw_paths(ax, lines, alpha=0.12)
    _style_event_axes(ax, np.arange(a, b + 1))
    ax.set_title(f"{event}: CAAR{_win(a, b)} by group with 95% bands "
                 f"(N = {int(sel.sum())})", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return fig


def _draw_paths(ax: Axes, lines: Sequence[tuple[str, pd.DataFrame, int]],
                alpha: float) -> None:
    """One line with its 95% band per ``(label, caar_path, N)``."""
    for i, (label, path, n) in enumerate(lines):
        col = f"C{i % 10}"
        x = path["rel_day"].to_numpy()
        caar = 100 * path["caar"].to_numpy()
        half = 100 * _BAND_Z * path["se"].to_numpy()
        ax.fill_between(x, caar - half, caar + half, alpha=alpha, color=col, lw=0)
        ax.plot(x, caar, color=col, marker="o", ms=2.5, lw=1.5,
                label=f"{label} (N = {n})")


POOLED_MAX_GROUPS = 8
"""Groups drawn (the ones with most pairs) in :func:`plot_pooled`."""


def plot_pooled(res: EventStudyResults, window: tuple[int, int] | None = None,
                max_groups: int = POOLED_MAX_GROUPS) -> Figure:
    """The pooled CAAR path: all pairs, and each of the largest groups.

    Parameters
    ----------
    res
        Fitted results.
    window
        As in :func:`plot_car`.
    max_groups
        Groups drawn besides all pairs: the ones with the most pairs, in their
        order of appearance.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure (never shown): one line and 95% band for all pairs, one per
        group (paths and bands of :func:`caar_path`, pooled over events).

    Raises
    ------
    InputError
        The study has no kept pair.
    """
    sel = _select(res, None, None)
    grp = res.pairs_["group"].astype(str).to_numpy()
    codes, names = pd.factorize(grp)
    size = np.bincount(codes, minlength=len(names))
    shown = np.sort(np.argsort(-size, kind="stable")[:max(max_groups, 0)])
    a, b = _window_of(res, window)
    n_events = int(res.pairs_["event_id"].nunique())
    lines = [("all pairs", caar_path(res, None, None, (a, b)), int(sel.sum()))]
    lines += [(f"group {names[g]}", caar_path(res, None, str(names[g]), (a, b)),
               int(size[g])) for g in shown]
    fig = _new_figure(7.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    _draw_paths(ax, lines, alpha=0.12)
    _style_event_axes(ax, np.arange(a, b + 1))
    more = (f"; {len(shown)} largest of {len(names)} groups"
            if len(names) > len(shown) else "")
    ax.set_title(f"Pooled CAAR{_win(a, b)} with 95% bands ({n_events} events, "
                 f"N = {int(sel.sum())}{more})", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_ar_heatmap(res: EventStudyResults, event: str, k: int = 5) -> Figure:
    """Heat table of each security's abnormal returns on days 0..+k of one event.

    Parameters
    ----------
    res
        Fitted results.
    event
        Event id.
    k
        Last day shown (clipped to the event window).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure: one row per security (grouped by group), one column per day,
        cells coloured by AR in percent on a symmetric diverging scale and labelled
        with the value; missing ARs are grey.

    Raises
    ------
    InputError
        The event has no kept pair, or ``k`` < 0.
    """
    from matplotlib.colors import TwoSlopeNorm

    if k < 0:
        raise InputError(f"k must be >= 0, not {k}")
    sel = _select(res, event, None)
    rel = np.asarray(res.rel_days, dtype=np.int64)
    cols = np.flatnonzero((rel >= 0) & (rel <= k))
    if not len(cols):
        raise InputError("the event window has no day 0; nothing to show")
    p = res.pairs_.loc[sel]
    grp = p["group"].astype(str).to_numpy()
    gorder = {g: i for i, g in enumerate(dict.fromkeys(grp))}
    order = np.argsort(np.array([gorder[g] for g in grp]), kind="stable")
    vals = 100 * np.asarray(res.ar, dtype=np.float64)[sel][:, cols][order]
    labels = [f"{t} ({g})" for t, g in zip(p["ticker"].astype(str).to_numpy()[order],
                                           grp[order], strict=True)]
    nrow, ncol = vals.shape
    fig = _new_figure(1.6 + 0.7 * ncol + 0.06 * max(map(len, labels)),
                      1.3 + 0.28 * nrow)
    ax = fig.add_subplot(1, 1, 1)
    finite = vals[np.isfinite(vals)]
    vmax = float(np.max(np.abs(finite))) if finite.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    masked = np.ma.masked_invalid(vals)
    from matplotlib import colormaps

    cmap = colormaps["RdBu"].with_extremes(bad="0.85")
    im = ax.imshow(masked, cmap=cmap, norm=TwoSlopeNorm(0.0, -vmax, vmax),
                   aspect="auto", interpolation="nearest")
    ax.set_xticks(np.arange(ncol), [f"{d:+d}" if d else "0" for d in rel[cols]])
    ax.set_yticks(np.arange(nrow), labels, fontsize=7)
    ax.set_xlabel("trading sessions relative to day 0")
    ax.tick_params(length=0)
    if nrow * ncol <= 600:
        for i in range(nrow):
            for j in range(ncol):
                v = vals[i, j]
                txt = "n/a" if not np.isfinite(v) else f"{v:.1f}"
                txt = "0.0" if txt == "-0.0" else txt
                dark = np.isfinite(v) and abs(v) > 0.6 * vmax
                ax.text(j, i, txt, ha="center", va="center", fontsize=6.5,
                        color="white" if dark else "black")
    gs = grp[order]
    for edge in np.flatnonzero(gs[1:] != gs[:-1]):
        ax.axhline(float(edge) + 0.5, color="black", lw=0.8)
    fig.colorbar(im, ax=ax, label="AR (%)", shrink=0.9)
    ax.set_title(f"{event}: abnormal returns, days {_day(int(rel[cols][0]))} to "
                 f"{_day(int(rel[cols][-1]))} (N = {nrow})", fontsize=10)
    return fig


PlotKind = Literal["car", "overview", "heatmap", "pooled"]
PlotKey = tuple[str, str, "str | None"]
"""``(kind, event, group)`` of a plot (``group`` None for the overview, heat table
and pooled plot; ``event`` ``""`` for the pooled plot)."""
_STEM_PART_MAX = 60
_HASH_LEN = 8


def _safe_part(raw: str) -> str:
    """``raw`` with every character but ``A-Za-z0-9.-_`` replaced by ``_``, cut to
    :data:`_STEM_PART_MAX` characters (``_`` when empty)."""
    return re.sub(r"[^A-Za-z0-9.\-_]", "_", raw)[:_STEM_PART_MAX] or "_"


def _digest(raw: str, n: int = _HASH_LEN) -> str:
    """The first ``n`` hex digits of the SHA-256 of ``raw`` (UTF-8)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:n]


def _stem_of(prefix: Sequence[str], parts: Sequence[str]) -> str:
    """``prefix`` and the sanitised ``parts`` joined by ``_``, plus ``-<hash of the
    raw parts>`` when sanitising changed any part."""
    safe = [_safe_part(x) for x in parts]
    stem = "_".join(list(prefix) + safe)
    if safe != list(parts):
        stem += "-" + _digest(json.dumps(list(parts)))
    return stem


def _unique_stems(base: dict[Any, tuple[str, str]]) -> dict[Any, str]:
    """Stems that differ even on a case-insensitive file system.

    ``base`` maps each key to ``(stem, raw)``: its stem alone (see :func:`_stem_of`)
    and a text unique to the key. Keys whose stems are equal ignoring case get
    ``-<hash of raw>`` appended (longer hashes if they still clash), so the result
    depends only on the set of keys, never on their order.
    """
    out = {k: s for k, (s, _) in base.items()}
    n = _HASH_LEN
    while True:
        seen: dict[str, list[Any]] = {}
        for k, s in out.items():
            seen.setdefault(s.casefold(), []).append(k)
        clash = [k for ks in seen.values() if len(ks) > 1 for k in ks]
        if not clash or n > 64:
            return out
        for k in clash:
            out[k] = f"{base[k][0]}-{_digest(base[k][1], n)}"
        n *= 2


def plot_file_stem(kind: PlotKind, event: str, group: str | None = None) -> str:
    """File stem of one plot, on its own (:func:`plot_file_stems` makes a study's
    stems collision-free).

    The event id and group are sanitised (characters other than ``A-Za-z0-9.-_``
    become ``_``, each part is cut to 60 characters); when that changes either of
    them, ``-`` and 8 hex digits of the SHA-256 of the raw names are appended, so
    ``A/B`` and ``A_B`` get different stems.

    Examples
    --------
    >>> plot_file_stem("car", "E05_JP_DEAL", "jp_autos")
    'car_E05_JP_DEAL_jp_autos'
    >>> plot_file_stem("overview", "E/1 x")
    'overview_E_1_x-a5ba77d5'
    >>> plot_file_stem("pooled", "")
    'pooled'
    """
    if kind == "pooled":
        return "pooled"
    parts = [str(event)] + ([str(group)] if group is not None else [])
    return _stem_of([kind], parts)


def plot_file_stems(keys: Iterable[PlotKey]) -> dict[PlotKey, str]:
    """Collision-free file stems of a study's plots.

    Parameters
    ----------
    keys
        ``(kind, event, group)`` of every plot of the study (``group`` None for the
        overview and heat table).

    Returns
    -------
    dict
        Key -> stem: :func:`plot_file_stem`, plus ``-<hash>`` for the stems that
        would otherwise be equal ignoring case (``a`` and ``A`` on a
        case-insensitive file system; event ``A`` with group ``B_c`` and event
        ``A_B`` with group ``c``). Deterministic: it depends only on the set of
        keys.

    Examples
    --------
    >>> stems = plot_file_stems([("overview", "a", None), ("overview", "A", None),
    ...                          ("overview", "b", None)])
    >>> stems[("overview", "b", None)]
    'overview_b'
    >>> len({s.lower() for s in stems.values()})
    3
    """
    base = {k: (plot_file_stem(k[0], k[1], k[2]),  # type: ignore[arg-type]
                json.dumps([k[0], k[1], k[2]])) for k in dict.fromkeys(keys)}
    return _unique_stems(base)


def name_stems(names: Iterable[str]) -> dict[str, str]:
    """Collision-free stems of names (event ids, groups), for HTML anchors.

    Each name is sanitised as in :func:`plot_file_stem` (with a hash when that
    changed it); names whose stems are equal ignoring case get a hash too.

    Examples
    --------
    >>> s = name_stems(["A/B", "A_B", "E1"])
    >>> s["A_B"], s["E1"], s["A/B"] != s["A_B"]
    ('A_B', 'E1', True)
    """
    base = {n: (_stem_of([], [str(n)]), str(n)) for n in dict.fromkeys(names)}
    return _unique_stems(base)


@contextmanager
def _file_rc() -> Iterator[None]:
    """matplotlib defaults plus a fixed SVG hash salt: byte-stable files."""
    import matplotlib
    import matplotlib.style

    with matplotlib.style.context("default"), matplotlib.rc_context(
            {"svg.hashsalt": _SVG_SALT, "svg.fonttype": "path"}):
        yield


def _temp_beside(path: Path) -> Path:
    """A fresh temporary path in ``path``'s folder (created with the umask's mode)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")


def _save_figure(fig: Figure, path: Path, dpi: int = PLOT_DPI) -> None:
    """Save ``fig`` atomically with date-free metadata (PNG or SVG by suffix)."""
    fmt = path.suffix.lstrip(".").lower()
    meta: dict[str, Any] = ({"Date": None} if fmt == "svg" else {"Software": None})
    tmp = _temp_beside(path)
    try:
        with open(tmp, "xb") as fh:
            fig.savefig(fh, format=fmt, dpi=dpi, metadata=meta)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def study_plot_keys(res: EventStudyResults, k: int = 5,
                    max_events: int = MANY_EVENTS) -> list[PlotKey]:
    """The plots :func:`write_plots` draws, in order: per event (up to
    ``max_events`` events) ``car`` per group, ``overview`` and ``heatmap`` (when
    the event window has a day in ``0..k``); then ``pooled``."""
    p = res.pairs_
    ev = p["event_id"].astype(str).to_numpy()
    events = list(dict.fromkeys(ev))
    keys: list[PlotKey] = []
    if len(events) <= max_events:
        rel = np.asarray(res.rel_days)
        has_day0 = bool(((rel >= 0) & (rel <= k)).any())
        grp = p["group"].astype(str).to_numpy()
        for e in events:
            keys += [("car", e, g) for g in dict.fromkeys(grp[ev == e])]
            keys.append(("overview", e, None))
            if has_day0:
                keys.append(("heatmap", e, None))
    keys.append(("pooled", "", None))
    return keys


def write_plots(res: EventStudyResults, folder: str | Path, k: int = 5,
                max_events: int = MANY_EVENTS) -> list[Path]:
    """Write the plots of a study as PNG and SVG into ``folder``.

    Parameters
    ----------
    res
        Fitted results.
    folder
        Output folder (``OUT/plots`` for the CLI); created if missing.
    k
        Last day of the AR heat tables.
    max_events
        Up to this many events, the per-event plots are drawn; above, only the
        pooled plot (a study of thousands of events gets one figure, not
        thousands).

    Returns
    -------
    list of pathlib.Path
        The files written: per event (up to ``max_events`` events),
        ``car_<event>_<group>.{png,svg}`` for each of its groups, then
        ``overview_<event>.{png,svg}`` and ``heatmap_<event>.{png,svg}`` (no heat
        table when the event window has no day in ``0..k``); last
        ``pooled.{png,svg}`` (:func:`plot_pooled`). Stems come from
        :func:`plot_file_stems`: collision-free even on case-insensitive file
        systems.

    Notes
    -----
    CAAR plots cover :func:`plot_window` and cumulate from its first day. Figures
    are drawn with matplotlib's default style (whatever the user's matplotlibrc),
    a fixed ``svg.hashsalt``, no ``Date`` in SVG and no ``Software`` in PNG
    metadata, so the files are byte-identical across reruns with the same
    matplotlib. Each file is written to a temporary name and moved into place with
    ``os.replace``.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    keys = study_plot_keys(res, k, max_events)
    stems = plot_file_stems(keys)
    window = plot_window(res)
    with _file_rc():
        for key in keys:
            kind, ev, g = key
            make: Callable[[], Figure]
            if kind == "car":
                make = partial(plot_car, res, ev, g, None, window)
            elif kind == "overview":
                make = partial(plot_event_overview, res, ev, window)
            elif kind == "heatmap":
                make = partial(plot_ar_heatmap, res, ev, k)
            else:
                make = partial(plot_pooled, res, window)
            fig = make()
            for ext in ("png", "svg"):
                f = out / f"{stems[key]}.{ext}"
                _save_figure(fig, f)
                written.append(f)
                fig.set_layout_engine("none")  # keep the layout just computed
    return written


# ============================================================================= report
EVENT_FILE = "events.csv"
"""The catalog as the run used it (optional: older runs lack it)."""
REPORT_TOP = SUMMARY_TOP
"""Event x group rows listed (largest |CAAR|), with their events' sections, in the
report of a study with more than :data:`MANY_EVENTS` events."""
REPORT_MAX_GROUPS = 50
"""Groups listed (the largest) in the pooled results of a large study."""
REPORT_MAX_ROWS = 500
"""Excluded pairs and warnings listed in full up to this many; above, the first
ones and a count by reason (the files have them all)."""


@dataclass(frozen=True)
class _Run:
    """A finished run's output files, read back."""

    folder: Path
    info: dict[str, Any]
    tests: pd.DataFrame
    car: pd.DataFrame
    excluded: pd.DataFrame
    diagnostics: pd.DataFrame
    plots: Path | None
    catalog: pd.DataFrame | None = None

    @cached_property
    def test_names(self) -> list[str]:
        names = self.info.get("parameters", {}).get("tests") or []
        found = _unique(self.tests["test"])
        return [str(t) for t in names if str(t) in found] or found

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
        return _plot_window(self.car_windows, ev) if ev is not None else None

    @cached_property
    def events(self) -> list[str]:
        """Events with kept pairs, in the order of ``car.csv``."""
        return _unique(self.car["event_id"])

    @cached_property
    def top_keys(self) -> list[tuple[str, str]]:
        """The event x group rows listed in a large study (:func:`_top_keys`)."""
        return _top_keys(self)

    @property
    def large(self) -> bool:
        return len(self.events) > MANY_EVENTS

    @cached_property
    def car_tests(self) -> dict[str, pd.DataFrame]:
        """``tests.csv``'s CAR-window rows, by scope."""
        t = self.tests
        if "window_kind" in t.columns:
            t = t[t["window_kind"] == "car"]
        return {str(k): g for k, g in t.groupby("scope", sort=False)}

    @cached_property
    def catalog_rows(self) -> dict[str, dict[str, str]]:
        """``events.csv`` rows by event id (empty without the file)."""
        if self.catalog is None or "event_id" not in self.catalog.columns:
            return {}
        cat = self.catalog.drop_duplicates("event_id")
        return {str(r["event_id"]): {str(k): str(v) for k, v in r.items()}
                for r in cat.to_dict("records")}

    @cached_property
    def anchors(self) -> dict[str, str]:
        """Event id -> HTML anchor, collision-free (:func:`name_stems`)."""
        ids = list(self.events) + list(self.catalog_rows)
        return {k: "event-" + v for k, v in name_stems(ids).items()}

    @cached_property
    def plot_stems(self) -> dict[PlotKey, str]:
        """The stems :func:`write_plots` gave this run's plots."""
        keys: list[PlotKey] = []
        if not self.large:
            for ev in self.events:
                keys += [("car", ev, g) for g in self.groups(ev)]
                keys += [("overview", ev, None), ("heatmap", ev, None)]
        keys.append(("pooled", "", None))
        return plot_file_stems(keys)

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
        lab = f"CAAR{_win(*w)}" if w else "CAAR"
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


def _unique(s: pd.Series) -> list[str]:
    """The distinct values of a text column, in order of first appearance."""
    return [str(v) for v in pd.unique(s.to_numpy(dtype=object))]


def _load_run(out_dir: str | Path) -> _Run:
    out = Path(out_dir)
    if not out.is_dir():
        raise InputError("not a folder; give the --out folder of a finished "
                         "'eventstudy run'", path=str(out))
    missing = [f for f in RUN_FILES if not (out / f).is_file()]
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
        try:
            df = pd.read_csv(out / name,
                             dtype=str if all_text else {c: str for c in text_cols},
                             keep_default_na=False, na_values=[""])
        except (OSError, ValueError) as exc:
            raise InputError(f"{name} is unreadable ({exc})", path=str(out)) from None
        for c in (df.columns if all_text else text_cols):
            if c in df.columns:
                df[c] = df[c].fillna("").astype(str)
        return df

    tests = csv("tests.csv", ("scope", "scope_value", "test"))
    car = csv("car.csv", ("event_id", "ticker", "group", "day0"))
    excluded = csv("excluded.csv", ("event_id", "ticker", "reason"))
    diag = csv("diagnostics.csv", ("event_id", "ticker", "group", "calendar", "model",
                                   "day0", "confounded_by"))
    catalog = (csv(EVENT_FILE, (), all_text=True) if (out / EVENT_FILE).is_file()
               else None)
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
    return _Run(out, info, tests, car, excluded, diag,
                plots if plots.is_dir() else None, catalog)


def _day(d: int) -> str:
    return f"{d:+d}" if d else "0"


def _win(a: int, b: int) -> str:
    return f"[{_day(a)}, {_day(b)}]"


def _pct(x: float) -> str:
    return f"{100 * x:.2f}" if np.isfinite(x) else ""


def _pval(p: float) -> str:
    if not np.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True)
class _Cell:
    """A test cell: statistic with stars and p-value."""

    stat: float
    p: float

    def text(self) -> str:
        if not np.isfinite(self.stat):
            return "n/a"
        return f"{self.stat:.2f}{stars(self.p)} ({_pval(self.p)})"


@dataclass(frozen=True)
class _Table:
    """A rendered-agnostic table: header and string cells.

    ``links`` maps first-column values to HTML anchors (event sections)."""

    columns: list[str]
    rows: list[list[str]]
    numeric_from: int = 1
    links: dict[str, str] | None = None


def _scope_tests(run: _Run, scope: str, value: str) -> pd.DataFrame:
    t = run.car_tests.get(scope)
    if t is None:
        return run.tests.iloc[:0]
    return t[t["scope_value"] == value]


def _result_rows(run: _Run, scope: str, value: str, car: pd.DataFrame,
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
            cells.append(_Cell(float(r["statistic"].iloc[0]),
                               float(r["p_value"].iloc[0])).text()
                         if len(r) else "")
        rows.append(label + [_win(a, b), str(n), _pct(mean)] + cells)
    return rows


def _event_table(run: _Run, event: str) -> _Table:
    car = run.car[run.car["event_id"] == event]
    rows: list[list[str]] = []
    for grp in _unique(car["group"]):
        cg = car[car["group"] == grp]
        day0 = ", ".join(dict.fromkeys(d for d in cg["day0"] if d)) or "n/a"
        rows += _result_rows(run, "event_group", f"{event}:{grp}", cg, [grp, day0])
    return _Table(["group", "day 0", "window", "N", "CAAR (%)"] + run.test_names,
                  rows, numeric_from=3)


def _largest_groups(run: _Run) -> tuple[list[str], int]:
    """The groups of the pooled table (all, or the largest of a large study) and
    the number of groups."""
    groups = _unique(run.car["group"])
    if not run.large or len(groups) <= REPORT_MAX_GROUPS:
        return groups, len(groups)
    size = run.car.groupby("group", sort=False)["event_id"].size()
    keep = set(size.sort_values(ascending=False, kind="stable")
               .index[:REPORT_MAX_GROUPS])
    return [g for g in groups if g in keep], len(groups)


def _pooled_table(run: _Run) -> _Table:
    rows = _result_rows(run, "all", "all", run.car, ["all pairs"])
    groups, _ = _largest_groups(run)
    by_group = dict(tuple(run.car.groupby("group", sort=False)))
    for grp in groups:
        rows += _result_rows(run, "group", grp, by_group[grp], [f"group {grp}"])
    return _Table(["scope", "window", "N", "CAAR (%)"] + run.test_names, rows,
                  numeric_from=2)


def _summary_table(run: _Run, keys: Sequence[tuple[str, str]] | None = None
                   ) -> _Table:
    """Compact table: event x group rows (all, or ``keys``), CAAR per window with
    the first test's stars."""
    test = run.test_names[0] if run.test_names else ""
    t = run.car_tests.get("event_group", run.tests.iloc[:0])
    t = t[t["test"] == test]
    cols = ["event", "group", "day 0", "N"] + [f"CAAR{_win(a, b)} %"
                                               for a, b in run.car_windows]
    if keys is None:
        keys = [(ev, grp) for ev in run.events for grp in run.groups(ev)]
    rows = []
    for ev, grp in keys:
        cg = run.car[(run.car["event_id"] == ev) & (run.car["group"] == grp)]
        day0 = ", ".join(dict.fromkeys(d for d in cg["day0"] if d)) or "n/a"
        tk = t[t["scope_value"] == f"{ev}:{grp}"]
        cells = []
        for a, b in run.car_windows:
            r = tk[(tk["window_start"] == a) & (tk["window_end"] == b)]
            if len(r):
                m, p = float(r["mean"].iloc[0]), float(r["p_value"].iloc[0])
                cells.append(f"{_pct(m)}{stars(p)}" if np.isfinite(m) else "")
            else:
                cw = cg[(cg["window_start"] == a) & (cg["window_end"] == b)]
                cells.append(_pct(float(pd.to_numeric(cw["car"]).mean()))
                             if len(cw) else "")
        rows.append([ev, grp, day0, str(cg["ticker"].nunique()
                                         if "ticker" in cg else len(cg))] + cells)
    return _Table(cols, rows, numeric_from=3, links=run.anchors)


def _top_keys(run: _Run, top: int = REPORT_TOP) -> list[tuple[str, str]]:
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


def _excluded_table(run: _Run, event: str | None = None,
                    limit: int | None = None) -> _Table:
    ex = run.excluded
    if event is not None:
        ex = ex[ex["event_id"] == event] if "event_id" in ex.columns else ex.iloc[:0]
    if limit is not None:
        ex = ex.iloc[:limit]
    rows = [[str(r.get("event_id", "")), str(r.get("ticker", "")),
             str(r.get("reason", ""))] for r in ex.to_dict("records")]
    return _Table(["event", "ticker", "reason"], rows, numeric_from=3)


def _excluded_reasons(run: _Run) -> _Table:
    """Excluded pairs counted by reason (most frequent first)."""
    ex = run.excluded
    if "reason" not in ex.columns:
        return _Table([], [])
    n = ex["reason"].astype(str).value_counts(sort=False)
    n = n.sort_values(ascending=False, kind="stable").iloc[:REPORT_MAX_ROWS]
    return _Table(["reason", "pairs"], [[str(k), str(int(v))] for k, v in n.items()],
                  numeric_from=1)


def _pairs_table(run: _Run, event: str) -> _Table:
    d = run.diagnostics
    if "event_id" not in d.columns:
        return _Table([], [])
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
    return _Table([h for _, h, _ in spec], rows, numeric_from=4)


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
class _EventInfo:
    """What the run knows about one event beyond its numbers."""

    items: list[tuple[str, str]]  # title, timestamp, time zone, source, ...
    evidence: str
    confounded: list[tuple[str, list[str]]]  # "ticker (group)" -> confounding ids
    excluded: _Table


_CATALOG_ITEMS = (("title", "title"), ("timestamp", "timestamp"),
                  ("groups", "groups"), ("source", "source"),
                  ("confidence", "confidence"),
                  ("timestamp_source", "timestamp source"), ("notes", "notes"))


def _event_info(run: _Run, event: str) -> _EventInfo:
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
    return _EventInfo(items, row.get("evidence", ""), conf,
                      _excluded_table(run, event))


def _section_events(run: _Run) -> list[str]:
    """Events with a section: every event (those without a kept pair last), or
    for a large study the events of the largest CAARs."""
    if run.large:
        return list(dict.fromkeys(e for e, _ in run.top_keys))
    return run.events + [e for e in run.catalog_rows if e not in set(run.events)]


def _parameters(run: _Run) -> list[tuple[str, str]]:
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
    if m.get("name") == "dimson":
        add("Dimson lags", m.get("dimson_lags"))
    if w.get("estimation"):
        add("estimation window", _win(*w["estimation"]))
    if w.get("event"):
        add("event window", _win(*w["event"]))
    if w.get("car"):
        add("CAR windows", ", ".join(_win(a, b) for a, b in w["car"]))
    add("minimum estimation returns", w.get("min_estimation_obs"))
    add("tests", ", ".join(p.get("tests", [])))
    for k in ("sigma_dof", "forecast_error", "market_moments", "aggregation",
              "weights"):
        if k in c:
            add(k.replace("_", " "), c[k] if c[k] != "" else "equal")
    add("day 0 rule", run.info.get("day0_rule"))
    return items


def _sources(run: _Run) -> _Table:
    src = run.info.get("sources", {}) or {}
    sha = run.info.get("inputs_sha256", {}) or {}
    rows = [[str(k), str(src.get(k, "")), str(sha.get(k, ""))]
            for k in dict.fromkeys(list(src) + list(sha))]
    return _Table(["input", "source", "SHA-256"], rows, numeric_from=3)


def _metadata(run: _Run) -> list[tuple[str, str]]:
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


_STAR_NOTE = ("Stars: two-sided p-values, * < 0.10, ** < 0.05, *** < 0.01. Test "
              "cells show the statistic with its p-value in parentheses.")


def _summary_note(run: _Run, test: str) -> str:
    """The summary table's footnote: units, weighting and the starring test."""
    from eventstudy.inference import WEIGHTED_TESTS

    col = run.info.get("parameters", {}).get("conventions", {}).get("weights") or ""
    how = (f"value-weighted by '{col}'" if col and test in WEIGHTED_TESTS
           else "equal-weighted")
    return (f"CAAR in percent, {how} over the pairs with a CAR in the window; stars "
            f"from the '{test}' test.")


def _large_note(run: _Run) -> str:
    n = len(_section_events(run))
    return (f"{len(run.events)} events (more than {MANY_EVENTS}): the summary is "
            f"pooled over all pairs and by group, and only the {n} events of the "
            f"{REPORT_TOP} event x group rows with the largest |CAAR| get a "
            "section below; every pair's CAR is in car.csv, every test in "
            "tests.csv and the catalog in events.csv.")


def _plot_note(run: _Run) -> str:
    w = run.plot_window
    if w is None:
        return ""
    return (f"Plots cumulate abnormal returns from day {_day(w[0])}, the start of "
            f"the CAR window {_win(*w)}: their last point is that window's CAAR in "
            "the tables.")


def _warning_blocks(run: _Run) -> list[tuple[str, list[str], str]]:
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


def _warning_line(run: _Run) -> str:
    q, w = len(run.quality), len(run.warnings)
    if not q and not w:
        return "No data-quality findings and no alignment or engine warnings."
    return (f"Warnings: {q} data-quality finding{'s' * (q != 1)} and {w} alignment "
            f"or engine warning{'s' * (w != 1)} (see Data-quality warnings).")


# ------------------------------------------------------------------------------ HTML
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1100px;padding:1em 2em;color:#1d1d1f;line-height:1.4}
h1{border-bottom:2px solid #1f4e79;padding-bottom:.2em}
h2{margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.15em;color:#1f4e79}
h3{margin-top:1.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left;
vertical-align:top}
thead th{border-bottom:2px solid #333;background:#f3f6f9}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:.2em 1.2em}
dl.kv dt{font-weight:600}dl.kv dd{margin:0}
.note{color:#555;font-size:.85em}
nav ul{columns:3;font-size:.9em}
figure{margin:.8em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.8em;color:#555}
.plots{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.plots figure.small{flex:0 1 calc(50% - 1em)}
code{font-size:.9em;word-break:break-all}
blockquote{margin:.4em 0 .4em 1em;padding-left:.8em;border-left:3px solid #1f4e79}
.warn{color:#8a4b00}
"""


def _html_table(t: _Table, cls: str = "") -> str:
    if not t.columns:
        return "<p class='note'>(none)</p>"
    head = "".join(f"<th scope='col'>{html.escape(c)}</th>" for c in t.columns)
    links = t.links or {}
    body = []
    for row in t.rows:
        cells = "".join(
            f"<td class='num'>{html.escape(v)}</td>" if i >= t.numeric_from
            else f"<td><a href='#{links[v]}'>{html.escape(v)}</a></td>"
            if i == 0 and v in links
            else f"<td>{html.escape(v)}</td>" for i, v in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    c = f" class='{cls}'" if cls else ""
    return (f"<table{c}><thead><tr>{head}</tr></thead><tbody>"
            + "".join(body) + "</tbody></table>")


def _html_kv(items: Sequence[tuple[str, str]]) -> str:
    return "<dl class='kv'>" + "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in items
    ) + "</dl>"


def _data_uri(path: Path) -> str:
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _html_figure(path: Path | None, alt: str, small: bool = False) -> str:
    if path is None:
        return ""
    cls = " class='small'" if small else ""
    return (f"<figure{cls}><img src='{_data_uri(path)}' alt='{html.escape(alt)}'>"
            f"<figcaption>{html.escape(alt)} ({html.escape(path.name)})"
            "</figcaption></figure>")


def _html_event_link(run: _Run, ev: str, linked: set[str]) -> str:
    if ev in linked:
        return f"<a href='#{run.anchors[ev]}'>{html.escape(ev)}</a>"
    return html.escape(ev)


def _html_event_info(run: _Run, ev: str, linked: set[str]) -> list[str]:
    info = _event_info(run, ev)
    out = []
    if info.items:
        out.append(_html_kv(info.items))
    if info.evidence:
        out.append(f"<p><b>Evidence</b></p><blockquote>{html.escape(info.evidence)}"
                   "</blockquote>")
    if info.confounded:
        out.append("<p><b>Confounding flags</b> (other events with day 0 inside "
                   "this pair's event window)</p><ul>" + "".join(
                       f"<li>{html.escape(who)}: confounded by "
                       + ", ".join(_html_event_link(run, e, linked) for e in ids)
                       + "</li>" for who, ids in info.confounded) + "</ul>")
    elif {"confounded_by"} <= set(run.diagnostics.columns) and ev in run.events:
        out.append("<p class='note'>Confounding flags: none.</p>")
    if info.excluded.rows:
        out.append(f"<p><b>Excluded pairs ({len(info.excluded.rows)})</b></p>"
                   + _html_table(info.excluded))
    return out


def _html_warnings(run: _Run) -> list[str]:
    out = []
    for head, items, empty in _warning_blocks(run):
        out.append(f"<h3>{html.escape(head)}</h3>")
        out.append("<ul class='warn'>" + "".join(
            f"<li>{html.escape(w)}</li>" for w in items) + "</ul>"
            if items else f"<p>{html.escape(empty)}</p>")
    return out


def _render_html(run: _Run) -> str:
    title = "Event study report"
    study = str(run.info.get("study") or "")
    test0 = run.test_names[0] if run.test_names else ""
    sections = _section_events(run)
    linked = set(sections)
    toc = [("parameters", "Study parameters"), ("data-sources", "Data sources"),
           ("summary", "Summary"), ("pooled", "Pooled results")]
    toc += [(run.anchors[ev], ev) for ev in sections]
    toc += [("excluded", "Excluded pairs"), ("data-warnings", "Data-quality warnings"),
            ("run-metadata", "Run metadata")]
    out = ["<!DOCTYPE html>", "<html lang='en'>", "<head>", "<meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width, initial-scale=1'>",
           f"<title>{html.escape(title)}</title>", f"<style>{_CSS}</style>",
           "</head>", "<body>", f"<h1 id='top'>{html.escape(title)}</h1>"]
    if study:
        out.append(f"<p>Study file: <code>{html.escape(study)}</code></p>")
    warn_cls = " class='warn'" if run.quality or run.warnings else ""
    out.append(f"<p{warn_cls}>" + html.escape(_warning_line(run)).replace(
        "Data-quality warnings", "<a href='#data-warnings'>Data-quality warnings</a>")
        + "</p>")
    out.append("<nav><ul>" + "".join(
        f"<li><a href='#{a}'>{html.escape(t)}</a></li>" for a, t in toc)
        + "</ul></nav>")
    out.append("<h2 id='parameters'>Study parameters</h2>")
    out.append(_html_kv(_parameters(run)))
    out.append("<h2 id='data-sources'>Data sources</h2>")
    out.append(_html_table(_sources(run)))
    out.append("<h2 id='summary'>Summary</h2>")
    if run.large:
        out.append(f"<p class='note'>{html.escape(_large_note(run))}</p>")
        out.append(f"<h3>The {len(run.top_keys)} event x group rows with the "
                   "largest |CAAR|</h3>")
        out.append(_html_table(_summary_table(run, run.top_keys), "summary"))
    else:
        out.append(_html_table(_summary_table(run), "summary"))
    out.append(f"<p class='note'>{html.escape(_summary_note(run, test0))} "
               f"{html.escape(_STAR_NOTE.split('. ')[0])}.</p>")
    out.append("<h2 id='pooled'>Pooled results</h2>")
    out.append(_html_table(_pooled_table(run), "pooled"))
    groups, n_groups = _largest_groups(run)
    if len(groups) < n_groups:
        out.append(f"<p class='note'>The {len(groups)} largest of {n_groups} "
                   "groups; every group is in tests.csv.</p>")
    out.append(f"<p class='note'>{html.escape(_STAR_NOTE)}</p>")
    pooled_fig = _html_figure(run.plot(run.plot_stems[("pooled", "", None)]),
                              "Pooled CAAR: all pairs and by group")
    if pooled_fig:
        out.append(f"<div class='plots'>{pooled_fig}</div>"
                   f"<p class='note'>{html.escape(_plot_note(run))}</p>")
    if run.catalog is None:
        out.append("<p class='note'>This run folder has no events.csv (an older "
                   "run): the events' titles, timestamps and evidence are not "
                   "shown.</p>")
    for ev in sections:
        aid = run.anchors[ev]
        out.append(f"<section class='event'><h2 id='{aid}'>{html.escape(ev)}</h2>")
        out += _html_event_info(run, ev, linked)
        if ev not in set(run.events):
            out.append("<p>No kept pair: every pair of this event was excluded "
                       "(see above).</p></section>")
            continue
        out.append(_html_table(_event_table(run, ev), "event"))
        out.append(f"<p class='note'>{html.escape(_STAR_NOTE)}</p>")
        figs = [] if run.large else [
            _html_figure(run.plot(stem), cap, small)
            for stem, cap, small in run.event_plots(ev)]
        figs = [f for f in figs if f]
        if figs:
            out.append(f"<h3 id='plots-{aid}'>Plots</h3><div class='plots'>"
                       + "".join(figs) + "</div>"
                       f"<p class='note'>{html.escape(_plot_note(run))}</p>")
        elif run.plots is None:
            out.append("<p class='note'>No plots: run with --plots to add them."
                       "</p>")
        pairs = _pairs_table(run, ev)
        if pairs.rows:
            out.append(f"<details><summary>Pairs and estimation diagnostics "
                       f"({len(pairs.rows)})</summary>{_html_table(pairs)}"
                       "</details>")
        out.append("</section>")
    out.append("<h2 id='excluded'>Excluded pairs</h2>")
    out += _html_excluded(run)
    out.append("<h2 id='data-warnings'>Data-quality warnings</h2>")
    out += _html_warnings(run)
    out.append("<h2 id='run-metadata'>Run metadata</h2>")
    out.append(_html_kv(_metadata(run)))
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_excluded(run: _Run) -> list[str]:
    n = len(run.excluded)
    if not n:
        return ["<p>No pair was excluded.</p>"]
    if n <= REPORT_MAX_ROWS:
        return [_html_table(_excluded_table(run))]
    return [f"<p>{n} pairs excluded; by reason:</p>",
            _html_table(_excluded_reasons(run)),
            f"<p>The first {REPORT_MAX_ROWS} (every one is in excluded.csv):</p>",
            _html_table(_excluded_table(run, limit=REPORT_MAX_ROWS))]


# -------------------------------------------------------------------------- Markdown
def _md_table(cols: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(c) for c in cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(_md(v) for v in r) + " |" for r in rows]
    return lines


def _md_tab(t: _Table) -> list[str]:
    if not t.columns:
        return ["(none)"]
    return _md_table(t.columns, t.rows)


def _md_event_info(run: _Run, ev: str) -> list[str]:
    info = _event_info(run, ev)
    lines = [f"- **{k}**: {_md(v)}" for k, v in info.items]
    if info.evidence:
        lines += ["", "> " + _md(info.evidence)]
    if info.confounded:
        lines += ["", "Confounding flags (other events with day 0 inside the pair's "
                  "event window):", ""]
        lines += [f"- {_md(who)}: confounded by {', '.join(ids)}"
                  for who, ids in info.confounded]
    if info.excluded.rows:
        lines += ["", f"Excluded pairs ({len(info.excluded.rows)}):", ""]
        lines += _md_tab(info.excluded)
    return lines + [""] if lines else []


def _md_excluded(run: _Run) -> list[str]:
    n = len(run.excluded)
    if not n:
        return ["No pair was excluded."]
    if n <= REPORT_MAX_ROWS:
        return _md_tab(_excluded_table(run))
    return ([f"{n} pairs excluded; by reason:", ""] + _md_tab(_excluded_reasons(run))
            + ["", f"The first {REPORT_MAX_ROWS} (every one is in excluded.csv):", ""]
            + _md_tab(_excluded_table(run, limit=REPORT_MAX_ROWS)))


def _render_md(run: _Run) -> str:
    test0 = run.test_names[0] if run.test_names else ""
    sections = _section_events(run)
    lines = ["# Event study report", ""]
    if run.info.get("study"):
        lines += [f"Study file: `{run.info['study']}`", ""]
    lines += [_warning_line(run), ""]
    lines += ["## Study parameters", ""]
    lines += [f"- **{k}**: {v}" for k, v in _parameters(run)]
    lines += ["", "## Data sources", ""] + _md_tab(_sources(run))
    lines += ["", "## Summary", ""]
    if run.large:
        keys = run.top_keys
        lines += [_large_note(run), "",
                  f"### The {len(keys)} event x group rows with the largest |CAAR|",
                  ""] + _md_tab(_summary_table(run, keys))
    else:
        lines += _md_tab(_summary_table(run))
    lines += ["", _summary_note(run, test0)]
    lines += ["", "## Pooled results", ""] + _md_tab(_pooled_table(run))
    lines += ["", _STAR_NOTE]
    pooled = run.plot_stems[("pooled", "", None)]
    if run.plots is not None and (run.plots / f"{pooled}.png").is_file():
        lines += ["", f"![{pooled}](plots/{pooled}.png)", "", _plot_note(run)]
    if run.catalog is None:
        lines += ["", "This run folder has no events.csv (an older run): the events' "
                  "titles, timestamps and evidence are not shown."]
    for ev in sections:
        lines += ["", f"## {ev}", ""] + _md_event_info(run, ev)
        if ev not in set(run.events):
            lines += ["No kept pair: every pair of this event was excluded."]
            continue
        lines += _md_tab(_event_table(run, ev))
        if run.plots is not None and not run.large:
            imgs = [s for s, _, _ in run.event_plots(ev)
                    if (run.plots / f"{s}.png").is_file()]
            if imgs:
                lines.append("")
                lines += [f"![{s}](plots/{s}.png)" for s in imgs]
    lines += ["", "## Excluded pairs", ""] + _md_excluded(run)
    lines += ["", "## Data-quality warnings"]
    for head, items, empty in _warning_blocks(run):
        lines += ["", f"### {head}", ""]
        lines += [f"- {w}" for w in items] if items else [empty]
    lines += ["", "## Run metadata", ""]
    lines += [f"- {k}: {v}" for k, v in _metadata(run)]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- LaTeX
def _tex_tabular(cols: Sequence[str], rows: Sequence[Sequence[str]],
                 ncols_left: int = 1, long: bool = False,
                 caption: str = "", extra: Sequence[str] = ()) -> list[str]:
    """A booktabs tabular (or longtable); the ``extra`` body lines (already
    escaped and ended) follow the ``rows``."""
    spec = "l" * ncols_left + "r" * max(len(cols) - ncols_left, 0)
    head = " & ".join(_tex(c) for c in cols) + r" \\"
    body = [" & ".join(_tex(v) for v in r) + r" \\" for r in rows] + list(extra)
    if long:
        cap = [r"\caption{" + _tex(caption) + r"}\\"] if caption else []
        return ([r"\begingroup\footnotesize\setlength{\tabcolsep}{3pt}",
                 r"\begin{longtable}{" + spec + "}"] + cap
                + [r"\toprule", head, r"\midrule", r"\endhead", r"\bottomrule",
                   r"\endfoot"] + body + [r"\end{longtable}", r"\endgroup"])
    return ([r"\begin{tabular}{" + spec + "}", r"\toprule", head, r"\midrule"]
            + body + [r"\bottomrule", r"\end{tabular}"])


def _tex_tab(t: _Table, caption: str = "", long: bool = False) -> list[str]:
    if not t.columns:
        return ["(none)"]
    if long:
        return _tex_tabular(t.columns, t.rows, t.numeric_from, True, caption)
    out = [r"\begin{table}[htbp]", r"\centering", r"\small"]
    if caption:
        out.append(r"\caption{" + _tex(caption) + "}")
    out += _tex_tabular(t.columns, t.rows, t.numeric_from)
    return out + [r"\end{table}"]


def _tex_items(items: Sequence[str]) -> list[str]:
    return [r"\begin{itemize}"] + [r"\item " + i for i in items] + [r"\end{itemize}"]


def _tex_event_info(run: _Run, ev: str) -> list[str]:
    info = _event_info(run, ev)
    lines: list[str] = []
    if info.items:
        lines += _tex_items([r"\textbf{" + _tex(k) + "}: " + _tex(v)
                             for k, v in info.items])
    if info.evidence:
        lines += [r"\begin{quote}", _tex(info.evidence), r"\end{quote}"]
    if info.confounded:
        lines += [r"\paragraph{Confounding flags}"]
        lines += _tex_items([_tex(f"{who}: confounded by {', '.join(ids)}")
                             for who, ids in info.confounded])
    if info.excluded.rows:
        lines += _tex_tab(info.excluded, f"{ev}: excluded pairs", long=True)
    return lines


def _tex_excluded(run: _Run) -> list[str]:
    n = len(run.excluded)
    if not n:
        return ["No pair was excluded."]
    if n <= REPORT_MAX_ROWS:
        return _tex_tab(_excluded_table(run), long=True)
    return (_tex_tab(_excluded_reasons(run), f"{n} pairs excluded, by reason",
                     long=True)
            + _tex_tab(_excluded_table(run, limit=REPORT_MAX_ROWS),
                       f"The first {REPORT_MAX_ROWS} (every one is in excluded.csv)",
                       long=True))


def _render_latex(run: _Run) -> str:
    test0 = run.test_names[0] if run.test_names else ""
    sections = _section_events(run)
    lines = [r"% Event study report (generated by eventstudy report --format latex)",
             r"\documentclass[a4paper]{article}", r"\usepackage[T1]{fontenc}",
             r"\usepackage[utf8]{inputenc}", r"\usepackage{booktabs}",
             r"\usepackage{longtable}", r"\usepackage[margin=1.8cm]{geometry}",
             r"\begin{document}", r"\section*{Event study report}",
             _tex(_warning_line(run)),
             r"\subsection*{Study parameters}", r"\begin{itemize}"]
    lines += [r"\item \textbf{" + _tex(k) + "}: " + _tex(v)
              for k, v in _parameters(run)]
    lines += [r"\end{itemize}", r"\subsection*{Summary}"]
    if run.large:
        lines += [_tex(_large_note(run))]
        lines += _tex_tab(_summary_table(run, run.top_keys),
                          _summary_note(run, test0), long=True)
    else:
        lines += _tex_tab(_summary_table(run), _summary_note(run, test0),
                          long=True)
    lines += [r"\subsection*{Pooled results}"]
    lines += _tex_tab(_pooled_table(run), _STAR_NOTE, long=True)
    for ev in sections:
        lines += [r"\subsection*{" + _tex(ev) + "}"]
        lines += _tex_event_info(run, ev)
        if ev in set(run.events):
            lines += _tex_tab(_event_table(run, ev), f"{ev}. {_STAR_NOTE}",
                              long=True)
        else:
            lines += ["No kept pair: every pair of this event was excluded."]
    lines += [r"\subsection*{Excluded pairs}"] + _tex_excluded(run)
    lines += [r"\subsection*{Data-quality warnings}"]
    for head, items, empty in _warning_blocks(run):
        lines += [r"\paragraph{" + _tex(head) + "}"]
        lines += _tex_items([_tex(w) for w in items]) if items else [_tex(empty)]
    lines += [r"\end{document}"]
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then ``os.replace``."""
    tmp = _temp_beside(path)
    try:
        with open(tmp, "x", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def build_report(out_dir: str | Path, fmt: ReportFormat = "html") -> Path:
    """Build a report from a finished run's output files in ``out_dir``.

    Parameters
    ----------
    out_dir
        The ``--out`` folder of ``eventstudy run``. Only its files are read:
        ``run.json``, ``tests.csv``, ``car.csv``, ``excluded.csv``,
        ``diagnostics.csv`` and, when present, ``plots/``.
    fmt
        ``"html"``: one self-contained ``report.html`` (inline CSS, plots embedded
        as base64 ``data:`` URIs, no external URL, no script). ``"md"``:
        ``report.md`` (links to ``plots/*.png``). ``"latex"``: ``report.tex``, an
        article with booktabs tables.

    Returns
    -------
    pathlib.Path
        The report written, inside ``out_dir``.

    Raises
    ------
    InputError
        ``out_dir`` is not a finished run (a file is missing or unreadable), or
        ``fmt`` is unknown.

    Notes
    -----
    Sections: study parameters; data sources (paths and SHA-256); a summary table
    (event x group, CAAR per CAR window with the first test's stars); pooled
    results (all pairs, each group); per event (``id="event-<event_id>"``), a table
    of its groups x CAR windows with N, CAAR and every selected test (statistic,
    stars, p-value), its plots and its pairs' diagnostics; excluded pairs with
    reasons; data-quality warnings; run metadata. The output has no timestamp and
    is byte-identical for identical run files. It is written to a temporary file
    and moved into place with ``os.replace``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from eventstudy import EventStudy
    >>> rng = np.random.default_rng(0)
    >>> d = pd.bdate_range("2022-01-03", periods=300)
    >>> m = rng.normal(0, 0.01, 300)
    >>> r = pd.DataFrame({"A": m + rng.normal(0, 0.01, 300), "M": m}, index=d)
    >>> ev = pd.DataFrame({"event_id": ["e1"], "timestamp": ["2023-01-05"],
    ...                    "ticker": ["A"]})
    >>> res = EventStudy(r, ev, kind="returns", calendar="FX", benchmark="M").fit()
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> _ = res.save(out)
    >>> build_report(out, "md").name
    'report.md'
    """
    if fmt not in REPORT_FILES:
        raise InputError(f"unknown report format {fmt!r}; choose from "
                         f"{', '.join(REPORT_FILES)}")
    run = _load_run(out_dir)
    render = {"html": _render_html, "md": _render_md, "latex": _render_latex}[fmt]
    target = run.folder / REPORT_FILES[fmt]
    _write_atomic(target, render(run))
    return target
