"""Reports of an event study: summary tables, plots and a self-contained HTML report.

Three layers, each usable alone:

:class:`Summary`
    The CAAR-by-event-x-group table of a results object (above 1,000 events: by
    group, plus the 20 event x group rows with the largest |CAAR|), rendered as
    text, Markdown, HTML or LaTeX (``EventStudyResults.summary()``; ``summary.md``
    of a run).
Plots (:func:`plot_car`, :func:`plot_event_overview`, :func:`plot_ar_heatmap`,
:func:`write_plots`)
    matplotlib figures built on :class:`matplotlib.figure.Figure` directly: no
    ``pyplot``, no global figure state, never ``plt.show()``. matplotlib is imported
    inside the functions only, so ``import eventstudy.report`` stays light.
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
import html
import json
import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from eventstudy.errors import InputError

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


SUMMARY_MAX_ROWS = 1_000
"""Above this many events (or event x group rows), :meth:`Summary.from_results`
summarises by group and lists only the largest CAARs."""
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
                     max_groups: int = SUMMARY_MAX_GROUPS) -> Summary:
        """Build the CAAR summary from results.

        Parameters
        ----------
        res
            Fitted results.
        test
            Test whose p-values give the stars.
        max_rows
            Up to this many events and event x group rows, one row per event x
            group. Above, the table is by group and only the ``top`` rows with the
            largest |CAAR| are listed.
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
        if G <= max_rows and n_events <= max_rows:
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
        notes[2] = (f"Pairs: {res.n_pairs} kept, {len(res.excluded_)} excluded (see "
                    f"excluded.csv); {n_events} events, {G} event x group rows: "
                    f"more than {max_rows}, so summarised by group.")
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


def caar_path(res: EventStudyResults, event: str | None = None,
              group: str | None = None) -> pd.DataFrame:
    """The CAAR path over the event window with its standard error.

    Parameters
    ----------
    res
        Fitted results.
    event, group
        Restrict to one event and/or one group; None pools all pairs.

    Returns
    -------
    pandas.DataFrame
        One row per event-window day: ``rel_day, caar, se, n`` (decimals; ``n`` is
        the number of pairs with at least one abnormal return up to that day).

    Raises
    ------
    InputError
        No kept pair matches ``event``/``group``.

    Notes
    -----
    For pair i the CAR over ``[t1, t]`` (``t1`` the first event-window day) sums its
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
    ar = np.asarray(res.ar, dtype=np.float64)[sel]
    sar = np.asarray(res.sar, dtype=np.float64)[sel]
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
    return pd.DataFrame({"rel_day": np.asarray(res.rel_days, dtype=np.int64),
                         "caar": caar, "se": se, "n": n.astype(np.int64)})


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
    ax.set_ylabel("CAAR (%)")
    ax.grid(True, lw=0.3, alpha=0.5)


def plot_car(res: EventStudyResults, event: str | None = None,
             group: str | None = None, ax: Axes | None = None) -> Figure:
    """Plot the CAAR path over the event window with a 95% band.

    Parameters
    ----------
    res
        Fitted results.
    event, group
        Restrict to one event and/or one group; None pools all pairs.
    ax
        A matplotlib Axes to draw into; a new Figure otherwise.

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
    The line is ``CAAR_t`` in percent from the first event-window day; the band is
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
    path = caar_path(res, event, group)
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
    _style_event_axes(ax, np.asarray(res.rel_days))
    title = " / ".join(s for s in (event, group) if s) or "all pairs"
    ax.set_title(f"{title} (N = {n_pairs})", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_event_overview(res: EventStudyResults, event: str) -> Figure:
    """One event's CAAR paths, one line and 95% band per group.

    Parameters
    ----------
    res
        Fitted results.
    event
        Event id.

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
    fig = _new_figure(7.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    colors = [f"C{i % 10}" for i in range(len(groups))]
    for grp, col in zip(groups, colors, strict=True):
        path = caar_path(res, event, grp)
        n = int(_select(res, event, grp).sum())
        x = path["rel_day"].to_numpy()
        caar = 100 * path["caar"].to_numpy()
        half = 100 * _BAND_Z * path["se"].to_numpy()
        ax.fill_between(x, caar - half, caar + half, alpha=0.12, color=col, lw=0)
        ax.plot(x, caar, color=col, marker="o", ms=2.5, lw=1.5,
                label=f"{grp} (N = {n})")
    _style_event_axes(ax, np.asarray(res.rel_days))
    ax.set_title(f"{event}: CAAR by group with 95% bands (N = {int(sel.sum())})",
                 fontsize=10)
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


def plot_file_stem(kind: Literal["car", "overview", "heatmap"], event: str,
                   group: str | None = None) -> str:
    """Deterministic file stem of a plot written by :func:`write_plots`.

    Examples
    --------
    >>> plot_file_stem("car", "E05_JP_DEAL", "jp_autos")
    'car_E05_JP_DEAL_jp_autos'
    >>> plot_file_stem("overview", "E/1 x")
    'overview_E_1_x'
    """
    parts = [kind, event] + ([group] if group is not None else [])
    return "_".join(re.sub(r"[^A-Za-z0-9.\-_]", "_", str(s)) for s in parts)


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


def write_plots(res: EventStudyResults, folder: str | Path, k: int = 5
                ) -> list[Path]:
    """Write every plot of a study as PNG and SVG into ``folder``.

    Parameters
    ----------
    res
        Fitted results.
    folder
        Output folder (``OUT/plots`` for the CLI); created if missing.
    k
        Last day of the AR heat tables.

    Returns
    -------
    list of pathlib.Path
        The files written, per event: ``car_<event>_<group>.{png,svg}`` for each of
        its groups, then ``overview_<event>.{png,svg}`` and
        ``heatmap_<event>.{png,svg}`` (see :func:`plot_file_stem`; no heat table
        when the event window has no day in ``0..k``).

    Notes
    -----
    Figures are drawn with matplotlib's default style (whatever the user's
    matplotlibrc), a fixed ``svg.hashsalt``, no ``Date`` in SVG and no
    ``Software`` in PNG metadata, so the files are byte-identical across reruns
    with the same matplotlib. Each file is written to a temporary name and moved
    into place with ``os.replace``.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    p = res.pairs_
    events = list(dict.fromkeys(p["event_id"].astype(str)))
    rel = np.asarray(res.rel_days)
    has_day0 = bool(((rel >= 0) & (rel <= k)).any())
    with _file_rc():
        for ev in events:
            groups = list(dict.fromkeys(
                p.loc[p["event_id"].astype(str) == ev, "group"].astype(str)))
            figures: list[tuple[str, Callable[[], Figure]]] = [
                (plot_file_stem("car", ev, g), partial(plot_car, res, ev, g))
                for g in groups]
            figures.append((plot_file_stem("overview", ev),
                            partial(plot_event_overview, res, ev)))
            if has_day0:
                figures.append((plot_file_stem("heatmap", ev),
                                partial(plot_ar_heatmap, res, ev, k)))
            for stem, make in figures:
                fig = make()
                for ext in ("png", "svg"):
                    f = out / f"{stem}.{ext}"
                    _save_figure(fig, f)
                    written.append(f)
                    fig.set_layout_engine("none")  # keep the layout just computed
    return written


# ============================================================================= report
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

    @property
    def test_names(self) -> list[str]:
        names = self.info.get("parameters", {}).get("tests") or []
        found = list(dict.fromkeys(self.tests["test"].astype(str)))
        return [str(t) for t in names if str(t) in found] or found

    @property
    def car_windows(self) -> list[tuple[int, int]]:
        w = self.info.get("parameters", {}).get("windows", {}).get("car")
        if w:
            return [(int(a), int(b)) for a, b in w]
        c = self.car[["window_start", "window_end"]].drop_duplicates()
        return [(int(a), int(b)) for a, b in c.itertuples(index=False)]

    @property
    def events(self) -> list[str]:
        return list(dict.fromkeys(self.car["event_id"]))

    def groups(self, event: str) -> list[str]:
        return list(dict.fromkeys(self.car.loc[self.car["event_id"] == event,
                                               "group"]))

    def plot(self, stem: str) -> Path | None:
        if self.plots is None:
            return None
        for ext in ("svg", "png"):
            f = self.plots / f"{stem}.{ext}"
            if f.is_file():
                return f
        return None


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

    def csv(name: str, text_cols: Sequence[str]) -> pd.DataFrame:
        try:
            df = pd.read_csv(out / name, dtype={c: str for c in text_cols},
                             keep_default_na=False, na_values=[""])
        except (OSError, ValueError) as exc:
            raise InputError(f"{name} is unreadable ({exc})", path=str(out)) from None
        for c in text_cols:
            if c in df.columns:
                df[c] = df[c].fillna("").astype(str)
        return df

    tests = csv("tests.csv", ("scope", "scope_value", "test"))
    car = csv("car.csv", ("event_id", "ticker", "group", "day0"))
    excluded = csv("excluded.csv", ("event_id", "ticker", "reason"))
    diag = csv("diagnostics.csv", ("event_id", "ticker", "group", "calendar", "model",
                                   "day0", "confounded_by"))
    need = {"tests.csv": (tests, ("scope", "scope_value", "window_start",
                                  "window_end", "test", "statistic", "p_value",
                                  "mean")),
            "car.csv": (car, ("event_id", "group", "window_start", "window_end",
                              "car", "day0"))}
    for name, (df, cols) in need.items():
        lost = [c for c in cols if c not in df.columns]
        if lost:
            raise InputError(f"{name} lacks column(s) {', '.join(lost)}",
                             path=str(out))
    plots = out / "plots"
    return _Run(out, info, tests, car, excluded, diag,
                plots if plots.is_dir() else None)


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
    """A rendered-agnostic table: header and string cells."""

    columns: list[str]
    rows: list[list[str]]
    numeric_from: int = 1
    link_events: bool = False


def _result_rows(run: _Run, scope: str, value: str, car: pd.DataFrame,
                 label: list[str]) -> list[list[str]]:
    """Rows ``label + [window, N, CAAR, tests...]`` for one scope value."""
    t = run.tests[(run.tests["scope"] == scope) & (run.tests["scope_value"] == value)]
    if "window_kind" in t.columns:
        t = t[t["window_kind"] == "car"]
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
    for grp in run.groups(event):
        cg = car[car["group"] == grp]
        day0 = ", ".join(dict.fromkeys(d for d in cg["day0"] if d)) or "n/a"
        rows += _result_rows(run, "event_group", f"{event}:{grp}", cg, [grp, day0])
    return _Table(["group", "day 0", "window", "N", "CAAR (%)"] + run.test_names,
                  rows, numeric_from=3)


def _pooled_table(run: _Run) -> _Table:
    rows = _result_rows(run, "all", "all", run.car, ["all pairs"])
    for grp in dict.fromkeys(run.car["group"]):
        rows += _result_rows(run, "group", grp, run.car[run.car["group"] == grp],
                             [f"group {grp}"])
    return _Table(["scope", "window", "N", "CAAR (%)"] + run.test_names, rows,
                  numeric_from=2)


def _summary_table(run: _Run) -> _Table:
    """Compact table: event x group rows, CAAR per window with first-test stars."""
    test = run.test_names[0] if run.test_names else ""
    t = run.tests[(run.tests["scope"] == "event_group") & (run.tests["test"] == test)]
    cols = ["event", "group", "day 0", "N"] + [f"CAAR{_win(a, b)} %"
                                               for a, b in run.car_windows]
    rows = []
    for ev in run.events:
        for grp in run.groups(ev):
            cg = run.car[(run.car["event_id"] == ev) & (run.car["group"] == grp)]
            day0 = ", ".join(dict.fromkeys(d for d in cg["day0"] if d)) or "n/a"
            tk = t[t["scope_value"] == f"{ev}:{grp}"]
            if "window_kind" in tk.columns:
                tk = tk[tk["window_kind"] == "car"]
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
    return _Table(cols, rows, numeric_from=3, link_events=True)


def _excluded_table(run: _Run) -> _Table:
    ex = run.excluded
    rows = [[str(r.get("event_id", "")), str(r.get("ticker", "")),
             str(r.get("reason", ""))] for r in ex.to_dict("records")]
    return _Table(["event", "ticker", "reason"], rows, numeric_from=3)


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
             "data_warnings", "study", "day0_rule"}
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
.warn{color:#8a4b00}
"""


def _anchor(prefix: str, name: str) -> str:
    return prefix + "-" + re.sub(r"[^A-Za-z0-9_\-.]", "_", name)


def _html_table(t: _Table, cls: str = "") -> str:
    if not t.columns:
        return "<p class='note'>(none)</p>"
    head = "".join(f"<th scope='col'>{html.escape(c)}</th>" for c in t.columns)
    body = []
    for row in t.rows:
        cells = "".join(
            f"<td class='num'>{html.escape(v)}</td>" if i >= t.numeric_from
            else f"<td><a href='#{_anchor('event', v)}'>{html.escape(v)}</a></td>"
            if i == 0 and t.link_events
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


def _render_html(run: _Run) -> str:
    title = "Event study report"
    study = str(run.info.get("study") or "")
    test0 = run.test_names[0] if run.test_names else ""
    warns = [str(w) for w in run.info.get("data_warnings", []) or []]
    toc = [("parameters", "Study parameters"), ("data-sources", "Data sources"),
           ("summary", "Summary"), ("pooled", "Pooled results")]
    toc += [(_anchor("event", ev), ev) for ev in run.events]
    toc += [("excluded", "Excluded pairs"), ("data-warnings", "Data-quality warnings"),
            ("run-metadata", "Run metadata")]
    out = ["<!DOCTYPE html>", "<html lang='en'>", "<head>", "<meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width, initial-scale=1'>",
           f"<title>{html.escape(title)}</title>", f"<style>{_CSS}</style>",
           "</head>", "<body>", f"<h1 id='top'>{html.escape(title)}</h1>"]
    if study:
        out.append(f"<p>Study file: <code>{html.escape(study)}</code></p>")
    out.append("<nav><ul>" + "".join(
        f"<li><a href='#{a}'>{html.escape(t)}</a></li>" for a, t in toc)
        + "</ul></nav>")
    out.append("<h2 id='parameters'>Study parameters</h2>")
    out.append(_html_kv(_parameters(run)))
    out.append("<h2 id='data-sources'>Data sources</h2>")
    out.append(_html_table(_sources(run)))
    out.append("<h2 id='summary'>Summary</h2>")
    out.append(_html_table(_summary_table(run), "summary"))
    out.append(f"<p class='note'>{html.escape(_summary_note(run, test0))} "
               f"{html.escape(_STAR_NOTE.split('. ')[0])}.</p>")
    out.append("<h2 id='pooled'>Pooled results</h2>")
    out.append(_html_table(_pooled_table(run), "pooled"))
    out.append(f"<p class='note'>{html.escape(_STAR_NOTE)}</p>")
    for ev in run.events:
        aid = _anchor("event", ev)
        out.append(f"<section class='event'><h2 id='{aid}'>{html.escape(ev)}</h2>")
        out.append(_html_table(_event_table(run, ev), "event"))
        out.append(f"<p class='note'>{html.escape(_STAR_NOTE)}</p>")
        figs = [_html_figure(run.plot(plot_file_stem("overview", ev)),
                             f"{ev}: CAAR by group"),
                _html_figure(run.plot(plot_file_stem("heatmap", ev)),
                             f"{ev}: abnormal returns from day 0")]
        figs += [_html_figure(run.plot(plot_file_stem("car", ev, g)),
                              f"{ev} / {g}: CAAR with 95% band", small=True)
                 for g in run.groups(ev)]
        figs = [f for f in figs if f]
        if figs:
            out.append(f"<h3 id='{aid}-plots'>Plots</h3><div class='plots'>"
                       + "".join(figs) + "</div>")
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
    ex = _excluded_table(run)
    out.append(_html_table(ex) if ex.rows else "<p>No pair was excluded.</p>")
    out.append("<h2 id='data-warnings'>Data-quality warnings</h2>")
    out.append("<ul class='warn'>" + "".join(f"<li>{html.escape(w)}</li>"
                                             for w in warns) + "</ul>"
               if warns else "<p>No data-quality warnings.</p>")
    out.append("<h2 id='run-metadata'>Run metadata</h2>")
    out.append(_html_kv(_metadata(run)))
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


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


def _render_md(run: _Run) -> str:
    test0 = run.test_names[0] if run.test_names else ""
    lines = ["# Event study report", ""]
    if run.info.get("study"):
        lines += [f"Study file: `{run.info['study']}`", ""]
    lines += ["## Study parameters", ""]
    lines += [f"- **{k}**: {v}" for k, v in _parameters(run)]
    lines += ["", "## Data sources", ""] + _md_tab(_sources(run))
    lines += ["", "## Summary", ""] + _md_tab(_summary_table(run))
    lines += ["", _summary_note(run, test0)]
    lines += ["", "## Pooled results", ""] + _md_tab(_pooled_table(run))
    lines += ["", _STAR_NOTE]
    for ev in run.events:
        lines += ["", f"## {ev}", ""] + _md_tab(_event_table(run, ev))
        stems = [plot_file_stem("overview", ev), plot_file_stem("heatmap", ev)]
        stems += [plot_file_stem("car", ev, g) for g in run.groups(ev)]
        if run.plots is not None:
            imgs = [s for s in stems if (run.plots / f"{s}.png").is_file()]
            if imgs:
                lines.append("")
                lines += [f"![{s}](plots/{s}.png)" for s in imgs]
    lines += ["", "## Excluded pairs", ""]
    ex = _excluded_table(run)
    lines += _md_tab(ex) if ex.rows else ["No pair was excluded."]
    lines += ["", "## Data-quality warnings", ""]
    warns = [str(w) for w in run.info.get("data_warnings", []) or []]
    lines += [f"- {w}" for w in warns] if warns else ["No data-quality warnings."]
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


def _render_latex(run: _Run) -> str:
    test0 = run.test_names[0] if run.test_names else ""
    lines = [r"% Event study report (generated by eventstudy report --format latex)",
             r"\documentclass[a4paper]{article}", r"\usepackage[T1]{fontenc}",
             r"\usepackage[utf8]{inputenc}", r"\usepackage{booktabs}",
             r"\usepackage{longtable}", r"\usepackage[margin=1.8cm]{geometry}",
             r"\begin{document}", r"\section*{Event study report}",
             r"\subsection*{Study parameters}", r"\begin{itemize}"]
    lines += [r"\item \textbf{" + _tex(k) + "}: " + _tex(v)
              for k, v in _parameters(run)]
    lines += [r"\end{itemize}", r"\subsection*{Summary}"]
    lines += _tex_tab(_summary_table(run), _summary_note(run, test0),
                      long=True)
    lines += [r"\subsection*{Pooled results}"]
    lines += _tex_tab(_pooled_table(run), _STAR_NOTE, long=True)
    for ev in run.events:
        lines += [r"\subsection*{" + _tex(ev) + "}"]
        lines += _tex_tab(_event_table(run, ev), f"{ev}. {_STAR_NOTE}", long=True)
    lines += [r"\subsection*{Excluded pairs}"]
    ex = _excluded_table(run)
    lines += _tex_tab(ex, long=True) if ex.rows else ["No pair was excluded."]
    warns = [str(w) for w in run.info.get("data_warnings", []) or []]
    lines += [r"\subsection*{Data-quality warnings}"]
    lines += ([r"\begin{itemize}"] + [r"\item " + _tex(w) for w in warns]
              + [r"\end{itemize}"]) if warns else ["No data-quality warnings."]
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
