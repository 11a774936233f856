"""What a report format is: a file name and a renderer of the run's document."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eventstudy.reporting.documents import RunDocument


@dataclass(frozen=True)
class ReportFormat:
    """A report format of ``eventstudy report --format``.

    Attributes
    ----------
    filename
        The report's file name inside the run folder (``report.html``).
    render
        The whole report as text, from a finished run's
        :class:`~eventstudy.reporting.documents.RunDocument`.
    """

    filename: str
    render: Callable[[RunDocument], str]
