"""Labels and limits shared by the plots, the documents and the report formats
(pure Python: the format registry stays importable without pandas)."""

from __future__ import annotations

STAR_NOTE = ("Stars: two-sided p-values, * < 0.10, ** < 0.05, *** < 0.01. Test "
             "cells show the statistic with its p-value in parentheses.")
"""The footnote of every table with test cells."""
REPORT_MAX_ROWS = 500
"""Excluded pairs and warnings listed in full up to this many; above, the first
ones and a count by reason (the files have them all)."""


def day(d: int) -> str:
    """An event-window day as ``-1``, ``0``, ``+2``."""
    return f"{d:+d}" if d else "0"


def win(a: int, b: int) -> str:
    """A window as ``[-1, +1]``."""
    return f"[{day(a)}, {day(b)}]"
