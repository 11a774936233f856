"""The report formats registry: format name -> :class:`ReportFormat`.

Adding a format is one new module here (a ``render(run) -> str`` and its
``FORMAT``) plus one line below; ``build_report`` and the CLI's ``--format``
choices read this dict. Importing it is light (no pandas): the CLI's ``--help``
lists the formats without loading the report machinery.
"""

from eventstudy.reporting.formats import html, latex, md
from eventstudy.reporting.formats.base import ReportFormat

FORMATS: dict[str, ReportFormat] = {
    "html": html.FORMAT,
    "md": md.FORMAT,
    "latex": latex.FORMAT,
}

__all__ = ["FORMATS", "ReportFormat"]
