"""Every fixed-choice option of the package, as ``Literal`` types, and one validator.

Options whose values are plug-ins (normal-return models, test statistics, price
sources, executors, report formats) are not listed here: their names are the keys of
their registries (:data:`eventstudy.estimation.models.MODELS`,
:data:`eventstudy.inference.TESTS`, :data:`eventstudy.inputs.sources.SOURCES`,
:data:`eventstudy.execution.EXECUTORS`, :data:`eventstudy.reporting.FORMATS`).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from eventstudy.errors import UnknownNameError

ReturnType = Literal["simple", "log"]
"""Simple (P_t / P_{t-1} - 1) or log (ln P_t - ln P_{t-1}) returns."""
SigmaDof = Literal["model", "sample"]
"""Residual variance divisor: L - k (model) or L - 1 (sample)."""
MarketMoments = Literal["firm", "window"]
"""Market mean and variance in the prediction-error term: over each pair's own
estimation days (firm) or the whole window (window)."""
Aggregation = Literal["car", "bhar"]
"""Cumulative abnormal return, or buy-and-hold abnormal return."""
Profile = Literal["textbook", "estudy2"]
"""A named set of conventions."""
ConfoundAction = Literal["flag", "exclude"]
"""What to do with a pair whose event window holds another catalog event."""
DayPart = Literal["close_to_close", "overnight", "intraday"]
"""Which part of the trading day a return covers: close-to-close (C_t / C_{t-1}),
overnight (close-to-open, O_t / C_{t-1}) or intraday (open-to-close, C_t / O_t)."""

DataKind = Literal["prices", "returns"]
"""Whether a study's data are prices or returns."""
Kernel = Literal["auto", "numpy", "numba"]
"""Implementation of stages 2-4 for market-model pairs."""
Scope = Literal["all", "group", "event", "event_group"]
"""Cross-sections a test is computed over."""


def values(option: Any) -> tuple[str, ...]:
    """The allowed values of a ``Literal`` option type.

    Examples
    --------
    >>> values(ReturnType)
    ('simple', 'log')
    """
    return tuple(str(v) for v in get_args(option))


def check_choice(value: Any, options: tuple[str, ...], what: str,
                 path: str | None = None) -> str:
    """Return ``value`` when it is one of ``options``, else raise.

    Parameters
    ----------
    value
        The value given.
    options
        The allowed values (:func:`values` of a ``Literal``, or a registry's keys).
    what
        The option's name in messages (e.g. ``"[model] returns"``).
    path
        The file the value comes from, if any.

    Raises
    ------
    UnknownNameError
        Naming the option, the value, the allowed values and the file.

    Examples
    --------
    >>> check_choice("log", values(ReturnType), "returns")
    'log'
    """
    if not isinstance(value, str) or value not in options:
        raise UnknownNameError(f"{what} = {value!r} is not valid; choose one of "
                               f"{', '.join(options)}", path=path)
    return value
