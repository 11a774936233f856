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
    day = _day_codes(pairs["day0"])
    group = pairs["group"].astype(str)
    out: dict[tuple[str, str], bool] = {}
    for scope, keys in (("event_group", pairs["event_id"].astype(str) + ":" + group),
                        ("group", group),
                        ("all", pd.Series("all", index=pairs.index))):
        code, uniq = pd.factorize(keys, sort=False)  # first-appearance order
        have = code >= 0  # a missing group or event id is no scope value (-1)
        many = _share_day(code[have], day[have], len(uniq))
        labels = map(str, uniq.tolist())
        out.update(zip(zip(repeat(scope), labels, strict=False), many.tolist(),
                       strict=True))
    return out


def _day_codes(day0: pd.Series) -> np.ndarray:
    """Day-0 dates as codes, one per calendar day (unparseable cells and NaT all
    count as one date)."""
    if isinstance(day0.dtype, np.dtype) and day0.dtype.kind == "M":  # tz-naive
        v = day0.to_numpy()
        per_day = int(np.array(1, dtype="m8[D]").astype(
            v.dtype.str.replace("M8", "m8")).astype(np.int64))
        # floored to the day, as normalize; NaT below every day
        days = np.where(np.isnat(v), np.iinfo(np.int64).min,
                        v.view(np.int64) // per_day)
        return pd.factorize(days)[0].astype(np.int64)
    d = pd.to_datetime(day0, errors="coerce").dt.normalize()
    return pd.factorize(d, use_na_sentinel=False)[0].astype(np.int64)


def _share_day(code: np.ndarray, day: np.ndarray, n: int) -> np.ndarray:
    """Per scope code ``0..n-1``: whether its pairs (``code``, ``day`` codes) are
    more than its distinct days, i.e. at least two of them share a day 0."""
    code = code.astype(np.int64)
    nd = int(day.max()) + 1 if len(day) else 1
    # distinct (scope, day) codes by hashing, not sorting
    distinct = pd.unique(code * nd + day) // nd
    many: np.ndarray = np.bincount(code, minlength=n) > np.bincount(distinct,
                                                                   minlength=n)
    return many


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
    few_n = (n > 1) & (n < min_n)
    if not few_n.any():
        return ""
    sel = tests.loc[few_n, ["scope_value"]].assign(n=n)
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
                                  clus.event_group.tolist())
            notes += _small_note(t_all)
            return cls("Event study summary", table, tuple(notes + extra))

        # large study: by group, plus the event x group rows with the largest CAARs
        table, caption, shown = _group_rows(t, cars, k, max_groups, one, rob, clus)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean0 = (k.tot[:, 0] / k.cnt[:, 0]) if cars else np.full(G, np.nan)
        eg = t[t["scope"] == "event_group"]
        if cars and len(eg):  # the event x group tests ran: rank on their means
            m = _first_rows(eg, np.full(G, "event_group", dtype=object),
                            k.labels(np.arange(G)),
                            np.full(G, cars[0][0]), np.full(G, cars[0][1]),
                            ("mean",))[0]
            mean0 = np.where(np.isfinite(m), m, mean0)
        size = np.where(np.isfinite(mean0), np.abs(mean0), -1.0)
        rows = _largest(size, min(top, G))
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
        both = pd.DataFrame({"n": np.concatenate([table["n"].to_numpy(),
                                                  listed["n"].to_numpy()])})
        notes += _series_note(both, test, ran)
        flags = ([clus.all] + clus.group[shown].tolist()
                 + clus.event_group[rows].tolist())
        notes += _robust_note(both, test, rob is not None, flags)
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

    events: pd.Index  # event ids (str), by code
    groups: pd.Index  # group names (str), by code
    gcode: np.ndarray  # (P,) group code of each pair
    code: np.ndarray  # (P,) key of each pair
    key_event: np.ndarray  # (G,) event code of each key
    key_group: np.ndarray  # (G,) group code of each key
    first: np.ndarray  # (G,) first pair of each key
    cnt: np.ndarray  # (G, W) pairs with a CAR
    tot: np.ndarray  # (G, W) sum of their CARs
    complete: bool  # every pair has an event id and a group

    @property
    def n_keys(self) -> int:
        return len(self.first)

    @classmethod
    def of(cls, p: pd.DataFrame, car: np.ndarray) -> _PairKeys:
        ecode, events = pd.factorize(p["event_id"].astype(str))
        gcode, groups = pd.factorize(p["group"].astype(str))
        ng = max(len(groups), 1)
        complete = not len(p) or bool(ecode.min() >= 0 and gcode.min() >= 0)
        if ng == 1 and complete:  # one group: the keys are the events
            codes = ecode.astype(np.int64)
            keys = np.arange(len(events), dtype=np.int64)
        else:
            codes, keys = pd.factorize(ecode.astype(np.int64) * ng + gcode)
        G = len(keys)
        ok = np.isfinite(car)
        if G == len(codes):  # one pair per key: codes 0, 1, 2, ... in pair order
            first = np.arange(G, dtype=np.int64)
            cnt = ok.astype(np.float64)
            tot = np.where(ok, car, 0.0) + 0.0  # the 0.0 a bincount starts from
        else:
            # codes in order of first appearance: a key's first pair raises the max
            seen = np.maximum.accumulate(codes)
            first = np.flatnonzero(np.diff(seen, prepend=-1) > 0)
            cnt, tot = _cell_sums(codes, G, ok.astype(np.float64),
                                  np.where(ok, car, 0.0))
        return cls(events, groups, gcode, codes, keys // ng, keys % ng,
                   first.astype(np.int64), cnt, tot, complete)

    def labels(self, rows: np.ndarray) -> np.ndarray:
        """``event:group`` of the keys ``rows`` (the tests' ``scope_value``), as
        objects."""
        e = self.events.take(self.key_event[rows]).to_numpy(dtype=object)
        g = self.groups.take(self.key_group[rows]).to_numpy(dtype=object)
        out: np.ndarray = e + ":" + g
        return out


@dataclass(frozen=True)
class _Clustered:
    """:func:`clustered_scopes` as flags by code: ``all``, each group (codes of
    :class:`_PairKeys`) and each event x group key."""

    all: bool
    group: np.ndarray  # (ng,) bool
    event_group: np.ndarray  # (G,) bool

    @classmethod
    def of(cls, p: pd.DataFrame, k: _PairKeys) -> _Clustered:
        ng, G = len(k.groups), k.n_keys
        if not len(p):
            return cls(False, np.zeros(ng, dtype=bool), np.zeros(G, dtype=bool))
        if k.complete and not (_has_colon(k.groups) and _has_colon(k.events)):
            # each key is one "event:group" label (a label of two keys needs a ":"
            # in an event id and in a group) and no pair lacks a scope value
            day = _day_codes(p["day0"])
            return cls(len(p) > int(day.max()) + 1, _share_day(k.gcode, day, ng),
                       _share_day(k.code, day, G) if G < len(p)
                       else np.zeros(G, dtype=bool))  # one pair per key: no share
        clus = clustered_scopes(p)
        return cls(clus.get(("all", "all"), False),
                   np.array([clus.get(("group", str(g)), False) for g in k.groups],
                            dtype=bool),
                   np.array([clus.get(("event_group", v), False)
                             for v in k.labels(np.arange(G))], dtype=bool))


def _cell_sums(code: np.ndarray, n: int, *weights: np.ndarray) -> list[np.ndarray]:
    """Per code ``0..n-1`` and column: the sum of each (P, W) ``weights`` table,
    (n, W) arrays. One bincount over the (code, column) cells: each cell adds its
    rows in row order, as a bincount per column does (the same bits)."""
    W = weights[0].shape[1]
    cell = (code.astype(np.int64)[:, None] * W + np.arange(W)).ravel()
    return [np.bincount(cell, weights=w.ravel(), minlength=n * W).reshape(n, W)
            for w in weights]


def _has_colon(names: pd.Index) -> bool:
    """Whether a name contains ``":"``."""
    return bool(pd.Series(names).str.contains(":", regex=False).any())


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


_KEY = ["scope", "scope_value", "window_start", "window_end"]
_FEW = 2_000
"""Up to this many test rows and keys together, :func:`_first_rows` finds the keys
in a dict of the rows rather than a MultiIndex."""


def _first_rows(tests: pd.DataFrame, scopes: np.ndarray, values: np.ndarray,
                a: np.ndarray, b: np.ndarray, cols: tuple[str, ...]
                ) -> list[np.ndarray]:
    """The columns ``cols`` of the first row of ``tests`` with each key ``(scope,
    scope_value, window_start, window_end)``, NaN where none (the
    ``drop_duplicates``, ``set_index`` and ``reindex`` of those keys, on the rows
    of the asked values only)."""
    if not len(values):
        return [np.full(0, np.nan) for _ in cols]
    sub = tests[tests["scope_value"].isin(pd.unique(values))]
    if len(sub) + len(values) <= _FEW:  # a dict of the rows: no index to build
        at: dict[tuple[object, ...], int] = {}
        for i, key in enumerate(zip(*(sub[c].tolist() for c in _KEY), strict=True)):
            at.setdefault(key, i)
        pos = np.array([at.get(key, -1) for key in zip(
            scopes.tolist(), values.tolist(), a.tolist(), b.tolist(), strict=True)],
            dtype=np.int64)
    else:
        sub = sub.drop_duplicates(_KEY)
        pos = pd.MultiIndex.from_frame(sub[_KEY]).get_indexer(
            pd.MultiIndex.from_arrays([scopes, values, a, b]))
    return [np.append(sub[c].to_numpy(dtype=np.float64), np.nan)[pos] for c in cols]


def _grid(tests: pd.DataFrame, scopes: np.ndarray, values: np.ndarray,
          cars: list[tuple[int, int]], cols: tuple[str, ...],
          cells: np.ndarray | None = None) -> list[np.ndarray]:
    """:func:`_first_rows` of each row ``(scope, value)`` and CAR window: (R, W)
    arrays; only on the ``cells`` that are True when given (NaN elsewhere)."""
    R, W = len(values), len(cars)
    outs = [np.full((R, W), np.nan) for _ in cols]
    r, j = (np.nonzero(cells) if cells is not None
            else (np.repeat(np.arange(R), W), np.tile(np.arange(W), R)))
    if len(r):
        win = np.asarray(cars, dtype=np.int64).reshape(W, 2)
        found = _first_rows(tests, np.asarray(scopes, dtype=object)[r],
                            np.asarray(values, dtype=object)[r], win[j, 0],
                            win[j, 1], cols)
        for out, f in zip(outs, found, strict=True):
            out[r, j] = f
    return outs


def _choose(mean: np.ndarray, pv: np.ndarray, n: np.ndarray, tot: np.ndarray,
            scopes: np.ndarray, values: np.ndarray, cars: list[tuple[int, int]],
            flag: np.ndarray, one: pd.DataFrame | None, rob: pd.DataFrame | None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (R, W) cells of rows ``(scope, value)``: the CAAR (the test's mean, else
    the mean CAR ``tot / n``), the p-value that stars it and where that p-value
    comes from (0 the main test, 1 the robust test ``rob`` on clustered rows
    (``flag``) with n > 1, 2 the per-series test ``one`` on rows with n = 1)."""
    miss = ~np.isfinite(mean) & (n > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(miss, tot / n, mean)
    src = np.zeros(n.shape, dtype=np.int64)
    if rob is not None:
        use = flag[:, None] & (n > 1)
        if use.any():
            pv = np.where(use, _grid(rob, scopes, values, cars, ("p_value",),
                                     use)[0], pv)
        src[use] = 1
    if one is not None:
        use = n == 1
        if use.any():
            pv = np.where(use, _grid(one, scopes, values, cars, ("p_value",),
                                     use)[0], pv)
        src[use] = 2
    return mean, pv, src


def _largest(size: np.ndarray, n: int) -> np.ndarray:
    """``np.argsort(-size, kind="stable")[:n]``: the ``n`` largest, ties in order,
    by a partition and a sort of the candidates only."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    neg = -size
    if n >= len(neg):
        return np.argsort(neg, kind="stable")
    cand = np.flatnonzero(neg <= np.partition(neg, n - 1)[n - 1])  # ties included
    return cand[np.argsort(neg[cand], kind="stable")[:n]]


def _event_group_rows(p: pd.DataFrame, t: pd.DataFrame, cars: list[tuple[int, int]],
                      k: _PairKeys, rows: np.ndarray, one: pd.DataFrame | None,
                      rob: pd.DataFrame | None, clus: _Clustered) -> pd.DataFrame:
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
    mean, pv, _src = _event_group_cells(t, k, rows, cars, one, rob, clus)
    cells = _caar_cells(mean.ravel(), pv.ravel()).reshape(mean.shape)
    for j, (a, b) in enumerate(cars):
        table[f"CAAR{_win_label(a, b)} %"] = cells[:, j]
    return table


def _event_group_cells(t: pd.DataFrame, k: _PairKeys, rows: np.ndarray,
                       cars: list[tuple[int, int]], one: pd.DataFrame | None,
                       rob: pd.DataFrame | None, clus: _Clustered
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the keys ``rows`` and the CAR windows, (R, W) arrays: the CAAR, the
    p-value that stars it and where that p-value comes from (:func:`_choose`; the
    main test's rows are its ``event_group`` rows in ``t``)."""
    R = len(rows)
    eg = t[t["scope"] == "event_group"]
    needed = bool(R) and (len(eg) > 0 or rob is not None or one is not None)
    labels = k.labels(rows) if needed else np.zeros(0, dtype=object)
    scopes = np.full(len(labels), "event_group", dtype=object)
    if len(eg) and R:
        mean, pv = _grid(eg, scopes, labels, cars, ("mean", "p_value"))
    else:  # the tests skipped the event x group scope: mean CAR, no stars
        mean = np.full((R, len(cars)), np.nan)
        pv = mean
    return _choose(mean, pv, k.cnt[rows], k.tot[rows], scopes, labels, cars,
                   clus.event_group[rows], one, rob)


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
    G, W = k.n_keys, len(cars)
    if not W:
        return pd.DataFrame(columns=["event_id", "group", "window_start",
                                     "window_end", "n", "caar", "p_value", "p_test"])
    if not G:
        text, whole, real = (np.zeros(0, dtype=t) for t in (object, np.int64,
                                                             np.float64))
        return pd.DataFrame({"event_id": text, "group": text, "window_start": whole,
                             "window_end": whole, "n": whole, "caar": real,
                             "p_value": real, "p_test": text})
    mean, pv, src = _event_group_cells(t, k, np.arange(G), cars, one, rob, clus)
    names = pd.Index([test, ROBUST_TEST, ran[0] if ran else test])
    key = np.repeat(np.arange(G), W)  # by key, then window (the study's order)
    win = np.asarray(cars, dtype=np.int64).reshape(W, 2)
    return pd.DataFrame({
        "event_id": k.events.take(k.key_event[key]).array,
        "group": k.groups.take(k.key_group[key]).array,
        "window_start": np.tile(win[:, 0], G), "window_end": np.tile(win[:, 1], G),
        "n": k.cnt.astype(np.int64).ravel(), "caar": mean.ravel(),
        "p_value": pv.ravel(), "p_test": names.take(src.ravel()).array})


def _star_inputs(res: ResultsView, test: str) -> tuple[
        list[tuple[int, int]], pd.DataFrame, _PairKeys, pd.DataFrame, pd.DataFrame,
        list[str], pd.DataFrame | None, pd.DataFrame | None, _Clustered]:
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
    return cars, p, k, t_all, t, ran, one, rob, _Clustered.of(p, k)


def _group_rows(t: pd.DataFrame, cars: list[tuple[int, int]], k: _PairKeys,
                max_groups: int, one: pd.DataFrame | None, rob: pd.DataFrame | None,
                clus: _Clustered) -> tuple[pd.DataFrame, str, np.ndarray]:
    """All pairs and the (largest) groups: events, pairs with a CAR, CAAR cells
    (stars of a single series from the per-series test's rows ``one``), the
    caption and the codes of the groups shown."""
    ng = len(k.groups)
    pairs_per_group = np.bincount(k.gcode, minlength=ng)
    shown = np.sort(np.argsort(-pairs_per_group, kind="stable")[:max_groups])
    events_per_group = np.bincount(k.key_group, minlength=ng)
    W = len(cars)
    gcnt, gtot = _cell_sums(k.key_group, ng, k.cnt, k.tot)
    names = [str(g) for g in k.groups[shown]]
    n_all = gcnt.sum(axis=0)  # counts: exact in any order
    table = pd.DataFrame({
        "scope": ["all"] + ["group"] * len(shown),
        "group": [""] + names,
        "events": np.concatenate([[len(k.events)], events_per_group[shown]]).astype(
            np.int64),
        "n": np.concatenate([[n_all.max() if W else 0],
                             gcnt[shown].max(axis=1) if W else np.zeros(len(shown))]
                            ).astype(np.int64),
    })
    if W:
        scopes = np.array(["all"] + ["group"] * len(shown), dtype=object)
        values = np.array(["all"] + names, dtype=object)
        sv = t[t["scope"].isin(["all", "group"])]
        mean, pv = _grid(sv, scopes, values, cars, ("mean", "p_value"))
        n = np.vstack([n_all[None, :], gcnt[shown]])
        tot = np.vstack([[k.tot[:, j].sum() for j in range(W)], gtot[shown]])
        flag = np.concatenate([[clus.all], clus.group[shown]]).astype(bool)
        mean, pv, _src = _choose(mean, pv, n, tot, scopes, values, cars, flag, one,
                                 rob)
        cells = _caar_cells(mean.ravel(), pv.ravel()).reshape(mean.shape)
        for j, (a, b) in enumerate(cars):
            table[f"CAAR{_win_label(a, b)} %"] = cells[:, j]
    caption = (f"CAAR of all pairs and by group ({len(k.events)} events"
               + (f"; the {len(shown)} largest of {ng} groups, every group in "
                  "tests.csv" if ng > len(shown) else "") + ")")
    return table, caption, shown
