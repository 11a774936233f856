"""Reports of an event study: plots and report documents (the reporting layer).

Modules, each usable alone:

:mod:`.plots`
    matplotlib figures drawn from the results' DataFrames (:func:`plot_car`,
    :func:`plot_event_overview`, :func:`plot_pooled`, :func:`plot_ar_heatmap`) and
    :func:`write_plots` (``OUT/plots``, byte-stable PNG and SVG).
:mod:`.names`
    collision-free plot file stems and HTML anchors.
:mod:`.documents`
    a finished run's files read back, with every table and note a report shows.
:mod:`.formats`
    the report formats registry (``FORMATS``: html, md, latex; one module each).
:mod:`.build`
    :func:`build_report` (``eventstudy report OUT_DIR --format FMT``).

The summary table (``Summary``) and the CAAR paths are the results layer's
(:mod:`eventstudy.results`). The names below are imported on first use, so that
``import eventstudy.reporting.formats`` (the CLI's ``--format`` choices) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "plot_car": "eventstudy.reporting.plots",
    "plot_event_overview": "eventstudy.reporting.plots",
    "plot_pooled": "eventstudy.reporting.plots",
    "plot_ar_heatmap": "eventstudy.reporting.plots",
    "plot_window": "eventstudy.reporting.plots",
    "write_plots": "eventstudy.reporting.plots",
    "build_report": "eventstudy.reporting.build",
    "REPORT_FILES": "eventstudy.reporting.build",
    "FORMATS": "eventstudy.reporting.formats",
}

__all__ = [
    "FORMATS",
    "REPORT_FILES",
    "build_report",
    "plot_ar_heatmap",
    "plot_car",
    "plot_event_overview",
    "plot_pooled",
    "plot_window",
    "write_plots",
]

if TYPE_CHECKING:
    from eventstudy.reporting.build import REPORT_FILES, build_report
    from eventstudy.reporting.formats import FORMATS
    from eventstudy.reporting.plots import (
        plot_ar_heatmap,
        plot_car,
        plot_event_overview,
        plot_pooled,
        plot_window,
        write_plots,
    )


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'eventstudy.reporting' has no attribute {name!r}")
