"""Escaping and table markup for Markdown and LaTeX (pure Python, no pandas).

Shared by the summary table (results layer) and the report formats (reporting).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

TEX_CHARS = str.maketrans({
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#",
    "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}"})
"""Translation table of the LaTeX special characters."""
TEX_STARS = r"(?<=[0-9.])(\*{1,3})(?!\*)"
"""Significance stars after a number (they become superscripts)."""
HTML_CHARS = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"),
              ("'", "&#x27;"))
"""``html.escape(quote=True)`` as ordered replacements, ``&`` first."""


def tex(value: object) -> str:
    r"""Escape text for LaTeX; significance stars after a number become superscripts.

    Examples
    --------
    >>> print(tex("E_1 & 2.31** (0.020)"))
    E\_1 \& 2.31$^{**}$ (0.020)
    """
    return re.sub(TEX_STARS, r"$^{\1}$", str(value).translate(TEX_CHARS))


def md(value: object) -> str:
    """Make text safe inside a Markdown table cell."""
    return str(value).replace("|", r"\|").replace("\n", " ")


def md_table(cols: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table: header, rule and rows (cells escaped with :func:`md`)."""
    lines = ["| " + " | ".join(md(c) for c in cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(md(v) for v in r) + " |" for r in rows]
    return lines


def tex_tabular(cols: Sequence[str], rows: Sequence[Sequence[str]],
                ncols_left: int = 1, long: bool = False,
                caption: str = "", extra: Sequence[str] = ()) -> list[str]:
    """A booktabs tabular (or longtable); the ``extra`` body lines (already
    escaped and ended) follow the ``rows``."""
    spec = "l" * ncols_left + "r" * max(len(cols) - ncols_left, 0)
    head = " & ".join(tex(c) for c in cols) + r" \\"
    body = [" & ".join(tex(v) for v in r) + r" \\" for r in rows] + list(extra)
    if long:
        cap = [r"\caption{" + tex(caption) + r"}\\"] if caption else []
        return ([r"\begingroup\footnotesize\setlength{\tabcolsep}{3pt}",
                 r"\begin{longtable}{" + spec + "}"] + cap
                + [r"\toprule", head, r"\midrule", r"\endhead", r"\bottomrule",
                   r"\endfoot"] + body + [r"\end{longtable}", r"\endgroup"])
    return ([r"\begin{tabular}{" + spec + "}", r"\toprule", head, r"\midrule"]
            + body + [r"\bottomrule", r"\end{tabular}"])

