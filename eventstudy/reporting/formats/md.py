"""The Markdown report: ``report.md``, linking the plots in ``plots/*.png``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventstudy.io.markup import md, md_table
from eventstudy.reporting.formats.base import ReportFormat
from eventstudy.reporting.labels import REPORT_MAX_ROWS, STAR_NOTE

if TYPE_CHECKING:
    from eventstudy.reporting.documents import RunDocument, Table

def _md_tab(t: Table) -> list[str]:
    if not t.columns:
        return ["(none)"]
    return md_table(t.columns, t.rows)


def _md_event_info(run: RunDocument, ev: str) -> list[str]:
    info = run.event_info(ev)
    lines = [f"- **{k}**: {md(v)}" for k, v in info.items]
    if info.evidence:
        lines += ["", "> " + md(info.evidence)]
    if info.confounded:
        lines += ["", "Confounding flags (other events with day 0 inside the pair's "
                  "event window):", ""]
        lines += [f"- {md(who)}: confounded by {', '.join(ids)}"
                  for who, ids in info.confounded]
    if info.excluded.rows:
        lines += ["", f"Excluded pairs ({len(info.excluded.rows)}):", ""]
        lines += _md_tab(info.excluded)
    return lines + [""] if lines else []


def _md_excluded(run: RunDocument) -> list[str]:
    n = len(run.excluded)
    if not n:
        return ["No pair was excluded."]
    if n <= REPORT_MAX_ROWS:
        return _md_tab(run.excluded_table())
    return ([f"{n} pairs excluded; by reason:", ""] + _md_tab(run.excluded_reasons())
            + ["", f"The first {REPORT_MAX_ROWS} (every one is in excluded.csv):", ""]
            + _md_tab(run.excluded_table(limit=REPORT_MAX_ROWS)))


def render(run: RunDocument) -> str:
    test0 = run.test_names[0] if run.test_names else ""
    sections = run.section_events()
    lines = ["# Event study report", ""]
    if run.info.get("study"):
        lines += [f"Study file: `{run.info['study']}`", ""]
    lines += [run.warning_line(), ""]
    lines += ["## Study parameters", ""]
    lines += [f"- **{k}**: {v}" for k, v in run.parameters()]
    lines += ["", "## Data sources", ""] + _md_tab(run.sources())
    lines += ["", "## Summary", ""]
    if run.large:
        keys = run.top_keys
        lines += [run.large_note(), "",
                  f"### The {len(keys)} event x group rows with the largest |CAAR|",
                  ""] + _md_tab(run.summary_table(keys))
    else:
        lines += _md_tab(run.summary_table())
    lines += ["", run.summary_note(test0)]
    lines += ["", "## Pooled results", ""] + _md_tab(run.pooled_table())
    reactions = run.reactions_table()
    if reactions is not None:  # [measures]: return, volatility, volume
        lines += ["", "## Reactions: return, volatility, volume", ""]
        lines += _md_tab(reactions) + ["", run.reactions_note()]
        if run.plots is not None and (run.plots / "volatility.png").is_file():
            lines += ["", "![volatility](plots/volatility.png)"]
    lines += ["", STAR_NOTE]
    pooled = run.plot_stems[("pooled", "", None)]
    if run.plots is not None and (run.plots / f"{pooled}.png").is_file():
        lines += ["", f"![{pooled}](plots/{pooled}.png)", "", run.plot_note()]
    if run.catalog is None:
        lines += ["", "This run folder has no events.csv (an older run): the events' "
                  "titles, timestamps and evidence are not shown."]
    for ev in sections:
        lines += ["", f"## {ev}", ""] + _md_event_info(run, ev)
        if ev not in set(run.events):
            lines += ["No kept pair: every pair of this event was excluded."]
            continue
        lines += _md_tab(run.event_table(ev))
        if run.plots is not None and not run.large:
            imgs = [s for s, _, _ in run.event_plots(ev)
                    if (run.plots / f"{s}.png").is_file()]
            if imgs:
                lines.append("")
                lines += [f"![{s}](plots/{s}.png)" for s in imgs]
    lines += ["", "## Excluded pairs", ""] + _md_excluded(run)
    lines += ["", "## Data-quality warnings"]
    for head, items, empty in run.warning_blocks():
        lines += ["", f"### {head}", ""]
        lines += [f"- {w}" for w in items] if items else [empty]
    lines += ["", "## Run metadata", ""]
    lines += [f"- {k}: {v}" for k, v in run.metadata()]
    return "\n".join(lines) + "\n"


FORMAT = ReportFormat(filename="report.md", render=render)
"""``eventstudy report --format md``."""
