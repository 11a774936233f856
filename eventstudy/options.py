"""Every fixed-choice option of the package, as ``Literal`` types, and one validator.

Options whose values are plug-ins (normal-return models, test statistics, price
sources, executors, report formats) are not listed here: their names are the keys of
their registries (:data:`eventstudy.estimation.models.MODELS`,
:data:`eventstudy.inference.TESTS`, :data:`eventstudy.inputs.sources.SOURCES`,
:data:`eventstudy.execution.EXECUTORS`, :data:`eventstudy.reporting.FORMATS`).
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, get_args

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
Profile = Literal["textbook", "estudy2", "eventstudytools"]
"""A named set of conventions (the values and their sources: :data:`PROFILES`)."""
PatellCar = Literal["exact", "patell1976"]
"""Patell's CAR form: the exactly standardised CAR (Campbell, Lo & MacKinlay 1997)
or the sum of the daily standardised ARs over sqrt(L2 (L - k)/(L - k - 2))
(Patell 1976; Dodd & Warner 1983)."""
CorradoDivisor = Literal["T", "T-1"]
"""Divisor of Corrado's S_K^2 = sum_t K-bar_t^2 / divisor: the T days with data
(Corrado 1989) or T - 1 (R's ``sd()``, as EventStudyTools' R package)."""
FORECAST_ERROR_TESTS = ("patell", "bmp", "art", "cart")
"""Tests whose forecast-error correction can be set one by one
(``[conventions] forecast_error_by_test``); the others follow the global
``forecast_error``."""
ConfoundAction = Literal["flag", "exclude"]
"""What to do with a pair whose event window holds another catalog event."""
DayPart = Literal["close_to_close", "overnight", "intraday"]
"""Which part of the trading day a return covers: close-to-close (C_t / C_{t-1}),
overnight (close-to-open, O_t / C_{t-1}) or intraday (open-to-close, C_t / O_t)."""

EstimationMode = Literal["window", "all"]
"""The estimation window: a fixed ``[start, end]`` of sessions around day 0
(window), or every return of the series from its first price to ``estimation_gap``
sessions before the event window (all: the xKDR ``eventstudies`` convention)."""
Day0Rule = Literal["next", "previous"]
"""Day 0 of a date-only announcement whose date is not a session: the next session
(default) or the previous one (xKDR ``eventstudies``' ``findInterval``)."""

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


class Setting(NamedTuple):
    """One convention of a profile: its value and where the value comes from."""

    value: Any
    source: str


_EST_PAGE = ("EventStudyTools, 'Significance Tests' (S. Mueller, "
             "eventstudytools.com/significance-tests)")
_EST_R = ("EventStudyTools' R package EventStudy (sipemu/eventstudy, "
          "R/multi_event_test_statistics.R and the vignette 'Statistical Conventions "
          "and Formula Audit')")

PROFILES: dict[str, dict[str, Setting]] = {
    "textbook": {
        "sigma_dof": Setting("model", "Campbell, Lo & MacKinlay (1997) sec. 4.4: "
                             "residual variance over L - k"),
        "forecast_error": Setting(True, "Campbell, Lo & MacKinlay (1997) sec. 4.4: "
                                  "Var(AR) = sigma^2 (1 + x'(X'X)^-1 x)"),
        "market_moments": Setting("firm", "Patell (1976); Campbell, Lo & MacKinlay "
                                  "(1997): the firm's own estimation days"),
        "forecast_error_by_test": Setting({}, "every test follows forecast_error"),
        "patell_car": Setting("exact", "Campbell, Lo & MacKinlay (1997) sec. 4.4: "
                              "the exact CAR variance sigma^2 (L2 + "
                              "gamma'X*(X'X)^-1X*'gamma)"),
        "corrado_divisor": Setting("T", "Corrado (1989, JFE 23:385-395): S(K)^2 = "
                                   "(1/T) sum_t K-bar_t^2"),
    },
    "estudy2": {
        "sigma_dof": Setting("sample", "estudy2 0.10.0: R's var(), L - 1 "
                             "(methodology.md B.1 (a))"),
        "forecast_error": Setting(True, "estudy2 0.10.0 patell and boehmer "
                                  "(methodology.md B.1)"),
        "market_moments": Setting("window", "estudy2 0.10.0: market moments over "
                                  "the whole estimation window (B.1 (a))"),
        "forecast_error_by_test": Setting({}, "every test follows forecast_error"),
        "patell_car": Setting("exact", "estudy2 has no Patell CAR test; the "
                              "textbook form"),
        "corrado_divisor": Setting("T", "estudy2 0.10.0 rank_test: divides by "
                                   "mean M_i (B.1 (e))"),
    },
    "eventstudytools": {
        "sigma_dof": Setting("model", _EST_PAGE + " [1]: S^2_AR = sum AR^2 / "
                             "(M_i - 2); " + _EST_R + ": residual standard error "
                             "of lm(), df m - 2"),
        "forecast_error": Setting(True, _EST_PAGE + " [4] Patell Z: each AR is "
                                  "standardised by the forecast-error-corrected "
                                  "standard deviation"),
        "market_moments": Setting("firm", _EST_PAGE + " [4]: 1/M_i and the "
                                  "firm's estimation-window market mean and sum of "
                                  "squares"),
        "forecast_error_by_test": Setting(
            {"bmp": False, "art": False, "cart": False},
            _EST_R + ": BMPTest standardises by the model sigma, not the "
            "forecast-error-corrected one; ARTTest AR / sigma and CARTTest CAR / "
            "(sqrt(L) sigma); " + _EST_PAGE + " [1]: S^2_CAR = L2 S^2_AR"),
        "patell_car": Setting("patell1976", _EST_PAGE + " [4]: z = (1/sqrt N) "
                              "sum_i CSAR_i / S_CSAR_i, CSAR_i = sum_t SAR_it, "
                              "S^2_CSAR_i = L2 (M_i - 2)/(M_i - 4); " + _EST_R
                              + ": PatellZTest"),
        "corrado_divisor": Setting("T-1", _EST_R + ": RankTest's S is sd() of the "
                                   "daily mean centred ranks (divisor T - 1)"),
    },
}
"""The conventions profiles as data: profile -> convention -> :class:`Setting`
(value and source). :meth:`eventstudy.config.Conventions.profile` builds a profile
from this table; ``docs/conventions.md`` lists it."""
