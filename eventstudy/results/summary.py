"""The summary table of a results object: CAAR per event x group with stars.

:class:`Summary` is pure formatting of the results' tables (``tests`` and the
per-pair CARs), rendered as text, Markdown, HTML or LaTeX: ``res.summary()``, the
``summary.md`` of a run and the terminal summary. Above :data:`MANY_EVENTS` events
(or :data:`SUMMARY_MAX_ROWS` rows) it is pooled: all pairs and by group, plus the
event x group rows with the largest |CAAR|.

Significance stars everywhere: two-sided p-values, ``*`` < 0.10, ``**`` < 0.05,
``***`` < 0.01.

Which test stars a row (issue #17): a row of one series (n = 1) takes the
per-series test (``series_t``); a row whose pairs are clustered in time -- at least
two of its pairs share one day-0 date, as all pairs of an event x group usually do
(:func:`clustered_scopes`) -- takes :data:`ROBUST_TEST` (``bmp_kp``, the
Kolari-Pynnonen adjusted BMP, robust to the cross-correlation of ARs on a shared
day 0) when it ran; otherwise the main test, and the footnote says that it assumes
independent pairs and how to add ``bmp_kp``. Rows with 1 < n < :data:`SMALL_N`
carry a small-N footnote (:func:`small_n_warning`, also in ``run.json``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd

from eventstudy.inference.registry import SERIES_TESTS
from eventstudy.io.markup import (
    HTML_CHARS,
    TEX_CHARS,
    TEX_STARS,
    md_table,
    tex,
    tex_tabular,
)
from eventstudy.results.view import ResultsView


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



ROBUST_TEST = "bmp_kp"
"""The test starring clustered rows when it ran: the Kolari & Pynnonen (2010, RFS
23:3996-4025) adjustment of BMP for the average cross-correlation of the ARs."""

SMALL_N = 5
"""Scopes with more than one and fewer than this many pairs are flagged: their
cross-sectional p-values rest on a handful of CARs."""


def clustered_scopes(pairs: pd.DataFrame) -> dict[tuple[str, str], bool]:
    """Whether each scope's pairs are clustered in time (share a day-0 date).

    Parameters
    ----------
    pairs
        The pairs (``event_id``, ``group``, ``day0``).

    Returns
    -------
    dict
        ``(scope, scope_value) -> bool`` for the ``event_group`` (``"E:g"``),
        ``group`` and ``all`` scopes: True when the scope has more pairs than
        distinct day-0 dates, i.e. at least two pairs share a day 0.

    Examples
    --------
    >>> p = pd.DataFrame({"event_id": ["E1", "E1", "E2"], "group": ["a", "a", "b"],
    ...                   "day0": ["2025-01-02", "2025-01-02", "2025-02-03"]})
    >>> clustered_scopes(p)[("event_group", "E1:a")], clustered_scopes(p)[
    ...     ("group", "b")]
    (True, False)
    """
    if not len(pairs):
        return {}
    # day-0 dates as day numbers (unparseable cells all count as one date, "")
    d = pd.to_datetime(pairs["day0"], errors="coerce").dt.normalize()
    day = pd.factorize(d, use_na_sentinel=False)[0].astype(np.int64)
    nd = int(day.max()) + 1
    group = pairs["group"].astype(str)
    out: dict[tuple[str, str], bool] = {}
    for scope, keys in (("event_group", pairs["event_id"].astype(str) + ":" + group),
                        ("group", group),
                        ("all", pd.Series("all", index=pairs.index))):
        code, uniq = pd.factorize(keys, sort=False)  # first-appearance order
        have = code >= 0  # a missing group or event id is no scope value (-1)
        code, dcode = code[have].astype(np.int64), day[have]
        size = np.bincount(code, minlength=len(uniq))
        distinct = np.unique(code * nd + dcode) // nd
        many = size > np.bincount(distinct, minlength=len(uniq))
        labels = map(str, uniq.tolist())
        out.update(zip(zip(repeat(scope), labels, strict=False), many.tolist(),
                       strict=True))
    return out


def small_n_warning(tests: pd.DataFrame, min_n: int = SMALL_N) -> str:
    """The warning on scopes with 1 < n < ``min_n`` pairs; ``""`` if none.

    Parameters
    ----------
    tests
        The tests table (``scope``, ``scope_value``, ``n``).
    min_n
        The threshold (default :data:`SMALL_N`).

    Returns
    -------
    str
        One line naming the scopes (for the summary and ``run.json``).

    Examples
    --------
    >>> t = pd.DataFrame({"scope": ["event_group"] * 3, "n": [4, 1, 9],
    ...                   "scope_value": ["E1:a", "E1:yen", "E2:a"]})
    >>> small_n_warning(t)[:59]
    'small N: 1 scope(s) have fewer than 5 pairs (E1:a n = 4): c'
    """
    if tests.empty:
        return ""
    n = pd.to_numeric(tests["n"], errors="coerce")
    sel = tests.loc[(n > 1) & (n < min_n), ["scope_value"]].assign(n=n)
    few = sel.groupby("scope_value", sort=False)["n"].max()
    if not len(few):
        return ""
    names = ", ".join(f"{k} n = {v:.0f}" for k, v in few.items())
    return (f"small N: {len(few)} scope(s) have fewer than {min_n} pairs ({names}): "
            "cross-sectional p-values unreliable")


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
    for a, b in HTML_CHARS:
        s = s.str.replace(a, b, regex=False)
    return s


def _tex_cells(s: pd.Series) -> pd.Series:
    return s.str.translate(TEX_CHARS).str.replace(TEX_STARS, r"$^{\1}$",
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
    def from_results(cls, res: ResultsView, test: str, *,
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
        cars, p, k, t_all, t, ran, one, rob, clus = _star_inputs(res, test)
        G = k.n_keys
        n_events = len(k.events)
        notes = [
            f"Stars: two-sided p-values of the '{test}' test: * < 0.10, ** < 0.05, "
            "*** < 0.01.",
            f"Model: {res.model.name}, {res.model.returns} returns; estimation "
            f"{res.windows.estimation_text()}, event {list(res.windows.event)} "
            "(trading sessions of each security's own calendar).",
            f"Pairs: {res.n_pairs} kept, {len(res.excluded_)} excluded "
            "(see excluded.csv).",
            "Day 0: the first observation whose as-of instant (the close, unless "
            "the universe gives an asof) is at or after the announcement; each "
            "pair's rule is in day0_rule."
            + (" A plain date that is not a session maps to the previous session "
               "(day0_rule = previous)." if res.windows.day0_rule == "previous"
               else ""),
        ]
        max_ev = MANY_EVENTS if max_events is None else max_events
        extra = quote_notes(p)
        if G <= max_rows and n_events <= max_ev:
            table = _event_group_rows(p, t, cars, k, np.arange(G), one, rob, clus)
            notes += _series_note(table, test, ran)
            notes += _robust_note(table, test, rob is not None,
                                  [clus.get(("event_group", v), False)
                                   for v in k.labels(np.arange(G))])
            notes += _small_note(t_all)
            return cls("Event study summary", table, tuple(notes + extra))

        # large study: by group, plus the event x group rows with the largest CAARs
        table, caption = _group_rows(t, cars, k, max_groups, one, rob, clus)
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
        listed = _event_group_rows(p, t, cars, k, rows, one, rob, clus)
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
        notes += _series_note(pd.concat([table[["n"]], listed[["n"]]]), test, ran)
        flags = ([clus.get((sc, "all" if sc == "all" else str(g)), False)
                  for sc, g in zip(table["scope"], table["group"], strict=True)]
                 + [clus.get(("event_group", v), False) for v in k.labels(rows)])
        notes += _robust_note(pd.concat([table[["n"]], listed[["n"]]]), test,
                              rob is not None, flags)
        notes += _small_note(t_all)
        return cls("Event study summary", table, tuple(notes + extra),
                   caption=caption, sections=((heading, listed),))

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
                lines += md_table(cols, [])
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
                lines.append(r"\paragraph{" + tex(head) + "}")
            cols = list(table.columns)
            body = _joined_rows(table, _tex_cells, "", " & ", r" \\") if cols else []
            lines += tex_tabular(cols, [], ncols_left=2, extra=body)
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


def quote_notes(pairs: pd.DataFrame) -> list[str]:
    """What a positive return of each quoted series means, one note per group.

    Parameters
    ----------
    pairs
        The pairs (``group``, ``ticker`` and, when the universe gives it,
        ``quote``: free text such as "USD/JPY: a positive return means the dollar
        rose and the yen weakened").

    Returns
    -------
    list of str
        ``"<group>: <ticker> — <quote>"`` (several quoted tickers of a group joined
        by ``"; "``), in order of first appearance; empty without quotes.

    Examples
    --------
    >>> p = pd.DataFrame({"group": ["autos", "yen", "yen"],
    ...                   "ticker": ["7203.T", "JPY=X", "JPY=X"],
    ...                   "quote": ["", "USD/JPY: up = weaker yen", "USD/JPY: up = "
    ...                             "weaker yen"]})
    >>> quote_notes(p)
    ['yen: JPY=X — USD/JPY: up = weaker yen']
    """
    if "quote" not in pairs.columns or not len(pairs):
        return []
    q = pd.DataFrame({"group": pairs["group"].astype(str).to_numpy(),
                      "ticker": pairs["ticker"].astype(str).to_numpy(),
                      "quote": pairs["quote"].fillna("").astype(str).str.strip()
                      .to_numpy()})
    q = q[q["quote"] != ""].drop_duplicates(["group", "ticker"])
    out: dict[str, list[str]] = {}
    for g, tk, text in zip(q["group"], q["ticker"], q["quote"], strict=True):
        out.setdefault(g, []).append(f"{tk} — {text}")
    return [f"{g}: {'; '.join(v)}" for g, v in out.items()]


def _series_note(table: pd.DataFrame, test: str, ran: list[str]) -> list[str]:
    """The footnote on rows of one series (n = 1), when the table has any."""
    if not len(table) or not (table["n"] == 1).any():
        return []
    if ran:
        return [f"Rows with n = 1 (a single series): stars from the per-series "
                f"'{ran[0]}' test, t = CAR / sd(CAR) with the prediction-error "
                "term, p from t(L - k), whatever the main test."]
    return [f"Rows with n = 1 (a single series) have no per-series test in this "
            f"run: add '{SERIES_TESTS[0]}' to the study's [tests] names (or "
            f"--tests) for their stars."]


def _robust_note(table: pd.DataFrame, test: str, ran: bool,
                 flags: list[bool]) -> list[str]:
    """The footnote on clustered rows (n > 1, pairs sharing a day 0)."""
    if not len(table):
        return []
    hit = np.asarray(flags, dtype=bool) & (table["n"].to_numpy() > 1)
    if not hit.any() or test == ROBUST_TEST:
        return []
    if ran:
        return [f"Rows whose pairs share a day 0 (clustered in time; {int(hit.sum())} "
                f"row(s)): stars from '{ROBUST_TEST}' (Kolari-Pynnonen adjusted BMP), "
                "robust to the cross-correlation of abnormal returns on a common "
                f"date; '{test}' assumes independent pairs and overstates "
                "significance there."]
    return [f"Rows whose pairs share a day 0 (clustered in time; {int(hit.sum())} "
            f"row(s)): stars from '{test}', which assumes independent pairs and "
            f"overstates significance there; add '{ROBUST_TEST}' to the study's "
            "[tests] names (or --tests) for stars robust to cross-correlation."]


def _small_note(tests: pd.DataFrame) -> list[str]:
    """The small-N footnote, when a scope has 1 < n < :data:`SMALL_N`."""
    w = small_n_warning(tests)
    return [w + "."] if w else []


def _robust(rob: pd.DataFrame | None, clus: dict[tuple[str, str], bool],
            scopes: list[str], values: list[str], n: np.ndarray, a: int, b: int,
            pv: np.ndarray) -> np.ndarray:
    """``pv`` with the robust test's p-values on clustered rows with n > 1."""
    if rob is None or not len(values):
        return pv
    use = _robust_rows(clus, scopes, values, n)
    if not use.any():
        return pv
    return np.where(use, _one_series(rob, scopes, values, a, b), pv)


def _robust_rows(clus: dict[tuple[str, str], bool], scopes: list[str],
                 values: list[str], n: np.ndarray) -> np.ndarray:
    """Rows that take the robust test: clustered (pairs share a day 0), n > 1."""
    flag = np.array([clus.get((sc, v), False) for sc, v in zip(scopes, values,
                                                               strict=True)],
                    dtype=bool)
    return flag & (np.asarray(n) > 1)


def _one_series(one: pd.DataFrame | None, scopes: list[str], values: list[str],
                a: int, b: int) -> np.ndarray:
    """The per-series test's p-values of ``(scope, value)`` for window [a, b]
    (NaN where it has none)."""
    R = len(values)
    if one is None or not R:
        return np.full(R, np.nan)
    o = one.drop_duplicates(["scope", "scope_value", "window_start", "window_end"])
    o = o.set_index(["scope", "scope_value", "window_start", "window_end"])
    r = o.reindex(pd.MultiIndex.from_arrays([scopes, values, [a] * R, [b] * R]))
    p: np.ndarray = r["p_value"].to_numpy(dtype=np.float64)
    return p


def _event_group_rows(p: pd.DataFrame, t: pd.DataFrame, cars: list[tuple[int, int]],
                      k: _PairKeys, rows: np.ndarray,
                      one: pd.DataFrame | None = None,
                      rob: pd.DataFrame | None = None,
                      clus: dict[tuple[str, str], bool] | None = None
                      ) -> pd.DataFrame:
    """The event x group table for the keys ``rows`` (in that order); cells of one
    series take their stars from the per-series test's rows ``one``."""
    pos = k.first[rows]
    day0 = pd.to_datetime(p["day0"].iloc[pos])
    table = pd.DataFrame({
        "event": p["event_id"].iloc[pos].to_numpy(),
        "group": p["group"].iloc[pos].to_numpy(),
        "day 0": day0.dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
        "n": k.cnt[rows].max(axis=1).astype(np.int64) if len(cars) else 0,
    })
    eg = _event_group_index(t)
    for j, (a, b) in enumerate(cars):
        mean, pv, _src = _event_group_cells(eg, k, rows, j, a, b, one, rob, clus)
        table[f"CAAR{_win_label(a, b)} %"] = _caar_cells(mean, pv)
    return table


def _event_group_index(t: pd.DataFrame) -> pd.DataFrame:
    """The main test's ``event_group`` rows, indexed by scope value and window."""
    eg = t[t["scope"] == "event_group"]
    eg = eg.drop_duplicates(["scope_value", "window_start", "window_end"])
    return eg.set_index(["scope_value", "window_start", "window_end"])


def _event_group_cells(eg: pd.DataFrame, k: _PairKeys, rows: np.ndarray, j: int,
                       a: int, b: int, one: pd.DataFrame | None,
                       rob: pd.DataFrame | None,
                       clus: dict[tuple[str, str], bool] | None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the keys ``rows`` and CAR window ``j`` = [a, b]: the CAAR, the p-value
    that stars it and where that p-value comes from (0 the main test ``eg``, 1
    the robust test ``rob`` on clustered rows with n > 1, 2 the per-series test
    ``one`` on rows with n = 1)."""
    R = len(rows)
    keys = k.labels(rows) if len(eg) else []
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
    src = np.zeros(R, dtype=np.int64)
    if rob is not None and clus:
        pv = _robust(rob, clus, ["event_group"] * R, k.labels(rows), cnt, a, b, pv)
        src[_robust_rows(clus, ["event_group"] * R, k.labels(rows), cnt)] = 1
    if one is not None and (cnt == 1).any():
        labels = k.labels(rows)
        ps = _one_series(one, ["event_group"] * R, labels, a, b)
        pv = np.where(cnt == 1, ps, pv)
        src[cnt == 1] = 2
    return mean, pv, src


def headline_p_values(res: ResultsView, test: str) -> pd.DataFrame:
    """The CAAR of every event x group cell of the summary, the p-value behind its
    stars and the test that p-value comes from.

    The same choice as :meth:`Summary.from_results` (module docstring): a cell of
    one series takes the per-series test, a clustered cell with n > 1 takes
    :data:`ROBUST_TEST` when it ran, every other cell ``test``.

    Parameters
    ----------
    res
        Fitted results.
    test
        The main test (the study's first test).

    Returns
    -------
    pandas.DataFrame
        ``event_id, group, window_start, window_end, n, caar, p_value, p_test``:
        one row per event x group (order of first appearance in the pairs) and
        CAR window (the study's order); ``n`` counts the pairs with a CAR.
    """
    cars, p, k, _t_all, t, ran, one, rob, clus = _star_inputs(res, test)
    rows = np.arange(k.n_keys)
    eg = _event_group_index(t)
    names = np.array([test, ROBUST_TEST, ran[0] if ran else test], dtype=object)
    parts = []
    for j, (a, b) in enumerate(cars):
        mean, pv, src = _event_group_cells(eg, k, rows, j, a, b, one, rob, clus)
        parts.append(pd.DataFrame({
            "event_id": k.events[k.key_event], "group": k.groups[k.key_group],
            "window_start": a, "window_end": b,
            "n": k.cnt[:, j].astype(np.int64), "caar": mean, "p_value": pv,
            "p_test": names[src], "_key": rows, "_win": j}))
    if not parts:
        return pd.DataFrame(columns=["event_id", "group", "window_start",
                                     "window_end", "n", "caar", "p_value", "p_test"])
    out = pd.concat(parts, ignore_index=True).sort_values(["_key", "_win"],
                                                          kind="stable")
    return out.drop(columns=["_key", "_win"]).reset_index(drop=True)


def _star_inputs(res: ResultsView, test: str) -> tuple[
        list[tuple[int, int]], pd.DataFrame, _PairKeys, pd.DataFrame, pd.DataFrame,
        list[str], pd.DataFrame | None, pd.DataFrame | None,
        dict[tuple[str, str], bool]]:
    """What the stars are chosen from: the CAR windows, the pairs and their keys,
    the tests (CAR windows; of the main test), the per-series tests that ran and
    their rows, the robust test's rows and the clustered scopes."""
    cars = [(int(a), int(b)) for a, b in res.windows.car]
    p = res.pairs_
    k = _PairKeys.of(p, np.asarray(res.car_arr, dtype=np.float64)
                     .reshape(len(p), len(cars)))
    t_all = res.tests_
    if "window_kind" in t_all.columns:
        t_all = t_all[t_all["window_kind"] == "car"]
    t = t_all[t_all["test"] == test]
    ran = [name for name in SERIES_TESTS if (t_all["test"] == name).any()]
    one = (t_all[t_all["test"] == ran[0]] if ran else None)
    rob = (t_all[t_all["test"] == ROBUST_TEST]
           if (t_all["test"] == ROBUST_TEST).any() else None)
    return cars, p, k, t_all, t, ran, one, rob, clustered_scopes(p)


def _group_rows(t: pd.DataFrame, cars: list[tuple[int, int]], k: _PairKeys,
                max_groups: int, one: pd.DataFrame | None = None,
                rob: pd.DataFrame | None = None,
                clus: dict[tuple[str, str], bool] | None = None
                ) -> tuple[pd.DataFrame, str]:
    """All pairs and the (largest) groups: events, pairs with a CAR, CAAR cells
    (stars of a single series from the per-series test's rows ``one``)."""
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
        if rob is not None and clus:
            pv = _robust(rob, clus, scopes, values, n, a, b, pv)
        if one is not None and (n == 1).any():
            pv = np.where(n == 1, _one_series(one, scopes, values, a, b), pv)
        table[f"CAAR{_win_label(a, b)} %"] = _caar_cells(mean, pv)
    caption = (f"CAAR of all pairs and by group ({len(k.events)} events"
               + (f"; the {len(shown)} largest of {ng} groups, every group in "
                  "tests.csv" if ng > len(shown) else "") + ")")
    return table, caption

