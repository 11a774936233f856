"""Readable summaries of results: text, Markdown, HTML and LaTeX tables.

The summary table has one row per event x group: the number of pairs, day 0 and, for
each CAR window, the CAAR (in percent) with stars from the chosen test's two-sided
p-value (``*`` < 0.10, ``**`` < 0.05, ``***`` < 0.01).
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from eventstudy.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from eventstudy.results import EventStudyResults


def stars(p: float) -> str:
    """Significance stars for a two-sided p-value.

    Examples
    --------
    >>> stars(0.004), stars(0.03), stars(0.08), stars(0.5)
    ('***', '**', '*', '')
    """
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.10 else ""


@dataclass(frozen=True)
class Summary:
    """A summary table with text, Markdown, HTML and LaTeX renderings."""

    title: str
    table: pd.DataFrame
    notes: tuple[str, ...]

    @classmethod
    def from_results(cls, res: EventStudyResults, test: str) -> Summary:
        """Build the CAAR-by-event-x-group table from results."""
        t = res.tests_
        t = t[(t["scope"] == "event_group") & (t["test"] == test)]
        cars = [tuple(c) for c in res.windows.car]
        p = res.pairs_
        d0 = (p.groupby(["event_id", "group"], sort=False)["day0"].first()
              .dt.strftime("%Y-%m-%d"))
        rows = []
        for (ev, grp), day0 in d0.items():
            key = f"{ev}:{grp}"
            sub = t[t["scope_value"] == key]
            row: dict[str, Any] = {"event": ev, "group": grp, "day 0": day0}
            n = 0
            for a, b in cars:
                r = sub[(sub["window_start"] == a) & (sub["window_end"] == b)]
                if len(r):
                    m = float(r["mean"].iloc[0])
                    pv = float(r["p_value"].iloc[0])
                    n = max(n, int(r["n"].iloc[0]))
                    row[f"CAAR[{a},{b}] %"] = (f"{100 * m:.2f}{stars(pv)}"
                                              if np.isfinite(m) else "")
                else:
                    row[f"CAAR[{a},{b}] %"] = ""
            row["n"] = n
            rows.append(row)
        table = pd.DataFrame(rows)
        if len(table):
            table = table[["event", "group", "day 0", "n"]
                          + [f"CAAR[{a},{b}] %" for a, b in cars]]
        notes = (
            f"Stars: two-sided p-values of the '{test}' test: * < 0.10, ** < 0.05, "
            "*** < 0.01.",
            f"Model: {res.model.name}, {res.model.returns} returns; estimation "
            f"{list(res.windows.estimation)}, event {list(res.windows.event)} "
            "(trading sessions of each security's own calendar).",
            f"Pairs: {res.n_pairs} kept, {len(res.excluded_)} excluded "
            "(see excluded.csv).",
            "Day 0: the first session whose close is at or after the announcement.",
        )
        return cls("Event study summary", table, notes)

    def as_text(self) -> str:
        """Plain-text rendering."""
        body = self.table.to_string(index=False) if len(self.table) else "(no pairs)"
        return f"{self.title}\n{body}\n" + "\n".join(self.notes) + "\n"

    def as_markdown(self) -> str:
        """GitHub-flavoured Markdown rendering."""
        lines = [f"# {self.title}", ""]
        cols = list(self.table.columns)
        if cols:
            lines.append("| " + " | ".join(cols) + " |")
            lines.append("|" + "|".join("---" for _ in cols) + "|")
            for _, r in self.table.iterrows():
                lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
        lines.append("")
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def as_html(self) -> str:
        """HTML table rendering (for notebooks and reports)."""
        cols = list(self.table.columns)
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in cols)
            + "</tr>" for _, r in self.table.iterrows())
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (f"<h3>{html.escape(self.title)}</h3><table class='es-summary'>"
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<ul>{notes}</ul>")

    def as_latex(self) -> str:
        """LaTeX (booktabs) rendering."""
        cols = list(self.table.columns)

        def esc(s: object) -> str:
            t = str(s)
            for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"),
                         ("_", r"\_"), ("#", r"\#"), ("$", r"\$")):
                t = t.replace(a, b)
            return t.replace("***", "$^{***}$") if "$^" not in t else t

        lines = [r"\begin{tabular}{" + "l" * len(cols) + "}", r"\toprule",
                 " & ".join(esc(c) for c in cols) + r" \\", r"\midrule"]
        for _, r in self.table.iterrows():
            lines.append(" & ".join(esc(r[c]) for c in cols) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}"]
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()


def plot_car(res: EventStudyResults, event: str | None = None,
             group: str | None = None, ax: Any = None) -> Figure:
    """Plot the CAAR path over the event window with a 95% band.

    Parameters
    ----------
    res
        Results.
    event, group
        Restrict to one event and/or group; None pools all pairs.
    ax
        A matplotlib Axes to draw into; a new Figure otherwise.

    Returns
    -------
    matplotlib.figure.Figure
        Never calls ``plt.show()``.

    Notes
    -----
    CAAR_t = sum_{s<=t} AAR_s from the first event day; the band is
    CAAR_t +/- 1.96 sqrt(sum_i Var(CAR_i,t)) / N under cross-sectional independence,
    with Var(CAR_i,t) = sigma_i^2 times the number of days cumulated.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    p = res.pairs_
    sel = np.ones(len(p), dtype=bool)
    if event is not None:
        sel &= (p["event_id"] == event).to_numpy()
    if group is not None:
        sel &= (p["group"] == group).to_numpy()
    ar = np.asarray(res.ar)[sel]
    cum = np.nancumsum(ar, axis=1)
    cum[~np.isfinite(ar)] = np.nan
    n = np.isfinite(cum).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        caar = np.nanmean(cum, axis=0)
        days = np.arange(1, ar.shape[1] + 1)
        var = np.asarray(res.sigma2)[sel][:, None] * days[None, :]
        se = np.sqrt(np.nansum(np.where(np.isfinite(cum), var, np.nan), axis=0)) / n
    x = np.asarray(res.rel_days)
    if ax is None:
        fig = Figure(figsize=(6, 3.5))
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = ax.figure
    ax.fill_between(x, 100 * (caar - 1.96 * se), 100 * (caar + 1.96 * se),
                    alpha=0.25, color="tab:blue", label="95% band")
    ax.plot(x, 100 * caar, color="tab:blue", marker="o", ms=3, label="CAAR")
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.axhline(0, color="black", lw=0.5)
    title = " / ".join(s for s in (event, group) if s) or "all pairs"
    ax.set_title(f"{title} (N = {int(sel.sum())})")
    ax.set_xlabel("trading sessions relative to day 0")
    ax.set_ylabel("CAAR (%)")
    ax.legend(loc="best", fontsize=8)
    return fig


def write_plots(res: EventStudyResults, folder: str | Path) -> list[Path]:
    """Write one CAAR plot per event x group (PNG and SVG) into ``folder``.

    Returns
    -------
    list of pathlib.Path
        Files written, in event then group order.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    p = res.pairs_
    for (ev, grp), _ in p.groupby(["event_id", "group"], sort=False):
        fig = plot_car(res, event=str(ev), group=str(grp))
        stem = f"car_{ev}_{grp}".replace("/", "_")
        for ext in ("png", "svg"):
            f = out / f"{stem}.{ext}"
            fig.savefig(f, dpi=110, bbox_inches="tight",
                        metadata={"Date": None} if ext == "svg" else None)
            written.append(f)
    return written


def build_report(out_dir: str | Path, fmt: Literal["html", "md", "latex"] = "html"
                 ) -> Path:
    """Build a report file from a finished run's outputs in ``out_dir``.

    Returns
    -------
    pathlib.Path
        The report written (``report.html``, ``report.md`` or ``report.tex``).
    """
    out = Path(out_dir)
    summary = out / "summary.md"
    if not summary.is_file():
        raise InputError("no finished run here (summary.md missing); run "
                         "'eventstudy run STUDY --out DIR' first", path=str(out))
    text = summary.read_text(encoding="utf-8")
    ext = {"html": "html", "md": "md", "latex": "tex"}[fmt]
    target = out / f"report.{ext}"
    if fmt == "md":
        body = text
    elif fmt == "html":
        body = ("<!doctype html><html><head><meta charset='utf-8'><title>Event study"
                "</title></head><body><pre>" + html.escape(text) + "</pre></body></html>")
    else:
        body = "% event study summary\n" + "\n".join(
            "% " + line for line in text.splitlines()) + "\n"
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, target)
    return target
