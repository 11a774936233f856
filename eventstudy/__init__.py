"""eventstudy: market-impact event studies.

Announcements become events with a timestamp, time zone and evidence; day 0 is found on
each security's own exchange calendar; normal returns come from batched models; and the
abnormal returns, CARs and the standard battery of test statistics follow.

The public API is imported lazily, so that ``import eventstudy`` (and the CLI's
``--help``) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from eventstudy.version import __version__

_EXPORTS = {
    "EventStudy": "eventstudy.study",
    "run_study": "eventstudy.workflows",
    "EventStudyResults": "eventstudy.results",
    "Study": "eventstudy.config",
    "Windows": "eventstudy.config",
    "Conventions": "eventstudy.config",
    "ModelSpec": "eventstudy.config",
    "load_study": "eventstudy.config",
    "load_prices": "eventstudy.inputs.prices",
    "load_events": "eventstudy.inputs.events",
    "load_universe": "eventstudy.inputs.events",
    "align_events": "eventstudy.inputs.calendar",
    "MODELS": "eventstudy.estimation.models",
    "TESTS": "eventstudy.inference",
    "Summary": "eventstudy.results",
    "plot_car": "eventstudy.reporting.plots",
    "simulate": "eventstudy.simulation",
    "SimulationResult": "eventstudy.simulation",
}

__all__ = [
    "MODELS",
    "TESTS",
    "Conventions",
    "EventStudy",
    "EventStudyResults",
    "ModelSpec",
    "Study",
    "Summary",
    "Windows",
    "__version__",
    "align_events",
    "load_events",
    "load_prices",
    "load_study",
    "load_universe",
    "plot_car",
    "run_study",
    "simulate",
    "SimulationResult",
]

if TYPE_CHECKING:
    from eventstudy.config import Conventions, ModelSpec, Study, Windows, load_study
    from eventstudy.estimation.models import MODELS
    from eventstudy.inference import TESTS
    from eventstudy.inputs.calendar import align_events
    from eventstudy.inputs.events import load_events, load_universe
    from eventstudy.inputs.prices import load_prices
    from eventstudy.reporting.plots import plot_car
    from eventstudy.results import EventStudyResults, Summary
    from eventstudy.simulation import SimulationResult, simulate
    from eventstudy.study import EventStudy
    from eventstudy.workflows import run_study


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'eventstudy' has no attribute {name!r}")
