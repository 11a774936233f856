"""The HTML report: one self-contained ``report.html`` (inline CSS, plots as
``data:`` URIs, no script, no external URL)."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from eventstudy.reporting.formats.base import ReportFormat
from eventstudy.reporting.labels import REPORT_MAX_ROWS, STAR_NOTE

if TYPE_CHECKING:
    from eventstudy.reporting.documents import RunDocument, Table

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


def _html_table(t: Table, cls: str = "") -> str:
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


def _html_event_link(run: RunDocument, ev: str, linked: set[str]) -> str:
    if ev in linked:
        return f"<a href='#{run.anchors[ev]}'>{html.escape(ev)}</a>"
    return html.escape(ev)


def _html_event_info(run: RunDocument, ev: str, linked: set[str]) -> list[str]:
    info = run.event_info(ev)
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


def _html_warnings(run: RunDocument) -> list[str]:
    out = []
    for head, items, empty in run.warning_blocks():
        out.append(f"<h3>{html.escape(head)}</h3>")
        out.append("<ul class='warn'>" + "".join(
            f"<li>{html.escape(w)}</li>" for w in items) + "</ul>"
            if items else f"<p>{html.escape(empty)}</p>")
    return out


def render(run: RunDocument) -> str:
    title = "Event study report"
    study = str(run.info.get("study") or "")
    test0 = run.test_names[0] if run.test_names else ""
    sections = run.section_events()
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
    out.append(f"<p{warn_cls}>" + html.escape(run.warning_line()).replace(
        "Data-quality warnings", "<a href='#data-warnings'>Data-quality warnings</a>")
        + "</p>")
    out.append("<nav><ul>" + "".join(
        f"<li><a href='#{a}'>{html.escape(t)}</a></li>" for a, t in toc)
        + "</ul></nav>")
    out.append("<h2 id='parameters'>Study parameters</h2>")
    out.append(_html_kv(run.parameters()))
    out.append("<h2 id='data-sources'>Data sources</h2>")
    out.append(_html_table(run.sources()))
    out.append("<h2 id='summary'>Summary</h2>")
    if run.large:
        out.append(f"<p class='note'>{html.escape(run.large_note())}</p>")
        out.append(f"<h3>The {len(run.top_keys)} event x group rows with the "
                   "largest |CAAR|</h3>")
        out.append(_html_table(run.summary_table(run.top_keys), "summary"))
    else:
        out.append(_html_table(run.summary_table(), "summary"))
    out.append(f"<p class='note'>{html.escape(run.summary_note(test0))} "
               f"{html.escape(STAR_NOTE.split('. ')[0])}.</p>")
    out.append("<h2 id='pooled'>Pooled results</h2>")
    out.append(_html_table(run.pooled_table(), "pooled"))
    reactions = run.reactions_table()
    if reactions is not None:  # [measures]: return, volatility, volume
        out.append("<h2 id='reactions'>Reactions: return, volatility, volume</h2>")
        out.append(_html_table(reactions, "reactions"))
        out.append(f"<p class='note'>{html.escape(run.reactions_note())}</p>")
        vol_fig = _html_figure(run.plot("volatility"),
                               "Abnormal variance by event day, all pairs")
        if vol_fig:
            out.append(f"<div class='plots'>{vol_fig}</div>")
    groups, n_groups = run.largest_groups()
    if len(groups) < n_groups:
        out.append(f"<p class='note'>The {len(groups)} largest of {n_groups} "
                   "groups; every group is in tests.csv.</p>")
    out.append(f"<p class='note'>{html.escape(STAR_NOTE)}</p>")
    pooled_fig = _html_figure(run.plot(run.plot_stems[("pooled", "", None)]),
                              "Pooled CAAR: all pairs and by group")
    if pooled_fig:
        out.append(f"<div class='plots'>{pooled_fig}</div>"
                   f"<p class='note'>{html.escape(run.plot_note())}</p>")
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
        out.append(_html_table(run.event_table(ev), "event"))
        out.append(f"<p class='note'>{html.escape(STAR_NOTE)}</p>")
        figs = [] if run.large else [
            _html_figure(run.plot(stem), cap, small)
            for stem, cap, small in run.event_plots(ev)]
        figs = [f for f in figs if f]
        if figs:
            out.append(f"<h3 id='plots-{aid}'>Plots</h3><div class='plots'>"
                       + "".join(figs) + "</div>"
                       f"<p class='note'>{html.escape(run.plot_note())}</p>")
        elif run.plots is None:
            out.append("<p class='note'>No plots: run with --plots to add them."
                       "</p>")
        pairs = run.pairs_table(ev)
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
    out.append(_html_kv(run.metadata()))
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_excluded(run: RunDocument) -> list[str]:
    n = len(run.excluded)
    if not n:
        return ["<p>No pair was excluded.</p>"]
    if n <= REPORT_MAX_ROWS:
        return [_html_table(run.excluded_table())]
    return [f"<p>{n} pairs excluded; by reason:</p>",
            _html_table(run.excluded_reasons()),
            f"<p>The first {REPORT_MAX_ROWS} (every one is in excluded.csv):</p>",
            _html_table(run.excluded_table(limit=REPORT_MAX_ROWS))]


FORMAT = ReportFormat(filename="report.html", render=render)
"""``eventstudy report --format html``."""
