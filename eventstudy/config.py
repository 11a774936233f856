"""The study file: what a study asks for, parsed once into a frozen :class:`Study`.

Format (TOML; every key has a default, so a minimal study file is three lines)::

    [study]
    events = "japan_us_investment.csv"   # relative to the TOML file
    universe = "universe.csv"

Full set of keys and defaults::

    [study]
    name = "<file stem>"
    events = "events.csv"            # event catalog CSV
    universe = "universe.csv"        # universe CSV (omit when events carry tickers)

    [windows]                        # trading sessions relative to day 0, inclusive
    estimation = [-250, -11]         # or "all": every return from the first price
                                     # to estimation_gap sessions before the event
                                     # window (xKDR eventstudies)
    event = [-10, 10]
    car = [[0, 0], [0, 1], [-1, 1], [-5, 5]]
    min_estimation_obs = 120
    estimation_gap = 0               # only with estimation = "all"
    day0_rule = "next"               # next | previous: a plain date that is not a
                                     # session maps to the next or previous session

    [model]
    name = "market"                  # constant_mean | market_adjusted | market |
                                     # scholes_williams | dimson | factor |
                                     # garch | gjr_garch | egarch
    returns = "simple"               # simple | log
    day_part = "close_to_close"      # close_to_close | overnight | intraday:
                                     # C_t/C_{t-1}, O_t/C_{t-1} or C_t/O_t (the
                                     # last two need open prices: a long prices
                                     # file's `open` column, or Yahoo's Open)
    dimson_lags = 1                  # leads and lags for dimson
    factors = ""                     # factor file (CSV: date + factor columns), or a
                                     # built-in set: "ff3" | "ff5" | "carhart"
                                     # (Kenneth French's library, fetched and cached)
    factor_frequency = ""            # built-in set: daily | monthly ("" = daily for
                                     # run, monthly for calendar-time)
    factor_region = "us"             # built-in set: us | japan | asia_pacific_ex_japan
    factor_columns = []              # which columns; default all but date and rf
    factor_unit = "decimal"          # decimal | percent
    rf_column = ""                   # risk-free column in the factor file, if any
    market_factor = true             # factor model: include the security's benchmark
    mean = "market"                  # garch | gjr_garch | egarch: constant | market |
                                     # factor (the mean equation)
    distribution = "normal"          # garch family: normal | t (standardised t)
    nonconvergence = "exclude"       # garch family: exclude | ols (a pair whose
                                     # likelihood search fails)

    [tests]
    names = ["csect_t", "patell", "bmp"]
    bootstrap_reps = 999
    seed = 12345
    p_adjust = []                    # e.g. ["holm", "hochberg", "fdr_by"]: p_<name>
    p_adjust_family = "test_scope_window"  # or "table" (which p-values together)

    [conventions]
    profile = "textbook"             # textbook | estudy2 | eventstudytools (sets
                                     # the conventions below: docs/conventions.md)
    sigma_dof = "model"              # model (L-k) | sample (L-1)
    forecast_error = true            # prediction-error term in SAR and CAR variance
                                     # (the engine's, and every test's default)
    forecast_error_by_test = {}      # per test, e.g. {bmp = false}: patell, bmp, art,
                                     # cart (true only with forecast_error = true)
    patell_car = "exact"             # exact | patell1976 (sum of daily SARs over
                                     # sqrt(L2 (L-k)/(L-k-2)))
    corrado_divisor = "T"            # T | T-1 (S_K^2 divisor)
    market_moments = "firm"          # firm | window
    aggregation = "car"              # car | bhar
    weights = ""                     # "" equal | a column, e.g. "market_cap" (value)

    [confounding]
    action = "flag"                  # flag | exclude
    file = ""                        # confounders CSV (outside events), relative path
    window = []                      # [start, end] sessions; [] = the event window
    mask_estimation = false          # drop the days of other events and confounders
                                     # from every estimation window
    mask_window = [-1, 1]            # sessions around each masked day 0

    [execution]
    scheduler = "local"              # local | dask | tcp://host:port (a Dask cluster)
    workers = 0                      # threads (local) or Dask workers; 0 = automatic

    [data]
    source = "yahoo"                 # yahoo | file
    prices = ""                      # prices file for source = "file", relative path
    price_field = "adjusted"         # adjusted | close (for cached Yahoo data)
    corporate_actions = ""           # CSV ticker,ex_date,factor,source: prices
                                     # before ex_date are multiplied by factor

    [output]
    format = "csv"                   # csv | parquet: the tables' file format
                                     # (run/refresh --format overrides it)

    [measures]                       # or, at the top of the file: measures = [...]
    names = ["return"]               # return | volatility | volume (return always)
    volume_constant = 1.0            # c in ln(volume + c) (share volume)

Limits, checked before anything is allocated: every window day within
``[-MAX_WINDOW_DAY, MAX_WINDOW_DAY]`` (20,000 sessions, about 80 years),
``1 <= dimson_lags <= MAX_DIMSON_LAGS`` (20), ``1 <= bootstrap_reps <=
MAX_BOOTSTRAP_REPS`` (1,000,000), ``0 <= workers <= MAX_WORKERS`` (1,024; 0 =
automatic). A wrong TOML type anywhere (a number where a name is expected, a table
where a list is expected, ``1`` for ``true``...) is a :class:`StudyFileError` that
names the file and the ``[section] key``.
"""

from __future__ import annotations

import numbers
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast, get_args

from eventstudy.errors import StudyFileError, UnknownNameError, WindowError
from eventstudy.io.tables import TABLE_FORMATS
from eventstudy.options import (
    FORECAST_ERROR_TESTS,
    PROFILES,
    Aggregation,
    ConfoundAction,
    CorradoDivisor,
    Day0Rule,
    DayPart,
    EstimationMode,
    MarketMoments,
    PatellCar,
    Profile,
    ReturnType,
    SigmaDof,
)

BUILTIN_FACTORS: tuple[str, ...] = ("ff3", "ff5", "carhart")
"""``[model] factors`` values that name a built-in factor set of Kenneth French's
data library (:mod:`eventstudy.inputs.sources.french`) instead of a file."""

FACTOR_REGIONS: tuple[str, ...] = ("us", "japan", "asia_pacific_ex_japan")
"""``[model] factor_region`` values (the French library's regions we fetch)."""

FACTOR_FREQUENCIES: tuple[str, ...] = ("daily", "monthly")
"""``[model] factor_frequency`` values ("" leaves the choice to the command)."""

ModelName = str
"""A normal-return model's name: a key of :data:`eventstudy.estimation.models.MODELS`
(checked there, by the study, since this layer sits below the registry)."""
DataSource = str
"""A price source's name: a key of :data:`eventstudy.inputs.sources.SOURCES`
(``file``, ``yahoo``, or a plug-in; checked by the workflow, above this layer)."""

MAX_WINDOW_DAY = 20_000
"""Largest ``|day|`` of any window, in sessions (about 80 years): windows are
allocated per pair, so an absurd window is refused before any array exists."""
MAX_DIMSON_LAGS = 20
"""Largest ``dimson_lags`` (each lag adds two regressors)."""
MAX_BOOTSTRAP_REPS = 1_000_000
"""Largest ``bootstrap_reps`` (the bootstrap keeps one mean per draw and group)."""
MAX_WORKERS = 1024
"""Largest ``workers`` (threads or Dask workers)."""


def _is_int(value: Any) -> bool:
    """True for an integer that is not a bool (numpy integers included)."""

    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _window(value: Any, what: str) -> tuple[int, int]:
    """``value`` as an ``(start, end)`` pair of ints, or a :class:`WindowError`."""
    if (isinstance(value, (str, bytes)) or not hasattr(value, "__len__")
            or len(value) != 2 or not all(_is_int(v) for v in value)):
        raise WindowError(f"{what} must be a list of two integers like [-250, -11], "
                          f"got {value!r}")
    a, b = int(value[0]), int(value[1])
    for v in (a, b):
        if abs(v) > MAX_WINDOW_DAY:
            raise WindowError(
                f"{what} {[a, b]}: day {v} is beyond the limit of {MAX_WINDOW_DAY:,} "
                f"sessions from day 0 (about 80 years); use days within "
                f"[-{MAX_WINDOW_DAY}, {MAX_WINDOW_DAY}]")
    return (a, b)


@dataclass(frozen=True)
class Windows:
    """Estimation, event and CAR windows in trading sessions relative to day 0.

    Parameters
    ----------
    estimation
        Inclusive ``(start, end)``, e.g. ``(-250, -11)``.
    event
        Inclusive ``(start, end)``, e.g. ``(-10, 10)``.
    car
        CAR windows, each inclusive and inside the event window.
    min_estimation_obs
        Minimum number of usable estimation returns for a pair to be kept.
    estimation_mode
        ``"window"`` (default): the fixed ``estimation`` window. ``"all"``: each
        pair's estimation uses every return of its series from its first price to
        the session ``estimation_gap`` sessions before the event window starts,
        i.e. the days ``first .. event[0] - estimation_gap - 1`` (the xKDR
        ``eventstudies`` convention, where the estimation period runs from the start
        of the data to day ``-w``, the session before its event window
        ``[-w + 1, w]``: ``estimation_gap = 0``). ``estimation`` is then set to the
        shortest window that can hold ``min_estimation_obs`` returns,
        ``(end - min_estimation_obs + 1, end)``: what fetching asks for at least;
        the study gathers from the earliest first price of its pairs
        (:func:`eventstudy.alignment.align`).
    estimation_gap
        With ``estimation_mode = "all"``: sessions strictly between the estimation
        end and the event window's first day (default 0, as xKDR). A fixed window's
        end sets its gap: there ``estimation_gap`` may only repeat it, and is
        stored as None.
    day0_rule
        Day 0 of a date-only announcement whose date is not a session of the
        series' calendar: ``"next"`` (default) the next session, ``"previous"`` the
        previous one (xKDR ``eventstudies``; rules ``date_only_weekend_previous``,
        ``date_only_holiday_previous``). See
        :func:`eventstudy.inputs.calendar.locate_day0`.

    Raises
    ------
    WindowError
        If a window is reversed, the estimation window overlaps or follows the event
        window, a CAR window leaves the event window, ``min_estimation_obs`` exceeds
        the estimation window's length, or ``estimation_gap`` is negative or
        disagrees with a fixed window.
    UnknownNameError
        An unknown ``estimation_mode`` or ``day0_rule``.

    Examples
    --------
    >>> Windows((-250, -11), (-10, 10), ((0, 0), (-1, 1)), 120).estimation_length
    240
    >>> Windows(event=(-9, 10), estimation_mode="all", estimation_gap=0).estimation
    (-129, -10)
    """

    estimation: tuple[int, int] = (-250, -11)
    event: tuple[int, int] = (-10, 10)
    car: tuple[tuple[int, int], ...] = ((0, 0), (0, 1), (-1, 1), (-5, 5))
    min_estimation_obs: int = 120
    estimation_mode: EstimationMode = "window"
    estimation_gap: int | None = None
    day0_rule: Day0Rule = "next"

    def __post_init__(self) -> None:
        # every value is checked (types and the MAX_WINDOW_DAY bound) before use
        _check_choice(self.estimation_mode, get_args(EstimationMode), "estimation_mode")
        _check_choice(self.day0_rule, get_args(Day0Rule), "day0_rule")
        estimation = _window(self.estimation, "estimation window")
        event = _window(self.event, "event window")
        car_raw = self.car
        if (isinstance(car_raw, (str, bytes)) or not hasattr(car_raw, "__iter__")
                or (isinstance(car_raw, tuple) and len(car_raw) == 2
                    and all(_is_int(v) for v in car_raw))):
            raise WindowError(f"car must be a list of [start, end] pairs like "
                              f"[[0, 0], [-1, 1]], got {car_raw!r}")
        car = tuple(_window(c, "CAR window") for c in car_raw)
        if not car:
            raise WindowError("car must list at least one [start, end] window")
        if not _is_int(self.min_estimation_obs):
            raise WindowError(f"min_estimation_obs must be an integer, got "
                              f"{self.min_estimation_obs!r}")
        object.__setattr__(self, "estimation", estimation)
        object.__setattr__(self, "event", event)
        object.__setattr__(self, "car", car)
        object.__setattr__(self, "min_estimation_obs", int(self.min_estimation_obs))
        self._from_start()
        e0, e1 = self.estimation
        w0, w1 = self.event
        if e0 > e1:
            raise WindowError(f"estimation window {list(self.estimation)} is reversed; "
                              "write it as [start, end] with start <= end")
        if w0 > w1:
            raise WindowError(f"event window {list(self.event)} is reversed; write it "
                              "as [start, end] with start <= end")
        if e1 >= w0:
            raise WindowError(
                f"estimation window {list(self.estimation)} overlaps or follows the "
                f"event window {list(self.event)}; end the estimation window before "
                f"day {w0}"
            )
        for c in self.car:
            if c[0] > c[1] or c[0] < w0 or c[1] > w1:
                raise WindowError(
                    f"CAR window {list(c)} must satisfy start <= end and lie inside "
                    f"the event window {list(self.event)}"
                )
        if self.min_estimation_obs < 3:
            raise WindowError("min_estimation_obs must be at least 3")
        if self.min_estimation_obs > self.estimation_length:
            raise WindowError(
                f"min_estimation_obs = {self.min_estimation_obs} exceeds the "
                f"estimation window's {self.estimation_length} sessions"
            )

    def _from_start(self) -> None:
        """Check ``estimation_gap``; with ``estimation_mode = "all"`` set
        ``estimation`` to its shortest window ``(end - min_obs + 1, end)``."""
        gap = self.estimation_gap
        if gap is None:
            gap = 0 if self.estimation_mode == "all" else None
        elif not _is_int(gap) or gap < 0:
            raise WindowError(f"estimation_gap must be a whole number of sessions "
                              f">= 0 (0 = up to the session before the event "
                              f"window, as xKDR eventstudies), got {gap!r}")
        if self.estimation_mode == "window":
            implied = self.event[0] - self.estimation[1] - 1
            if gap is not None and gap != implied:
                raise WindowError(
                    f"estimation_gap = {gap} disagrees with the estimation window "
                    f"{list(self.estimation)}, which ends {implied} session(s) "
                    f"before the event window {list(self.event)}; remove "
                    "estimation_gap (a fixed window's end sets the gap), or use "
                    "estimation = \"all\"")
            object.__setattr__(self, "estimation_gap", None)
            return
        assert gap is not None
        end = self.event[0] - int(gap) - 1
        start = end - max(self.min_estimation_obs, 1) + 1
        if start < -MAX_WINDOW_DAY:
            raise WindowError(
                f"estimation = \"all\" with estimation_gap = {gap} and event window "
                f"{list(self.event)} ends the estimation on day {end}, which leaves "
                f"no room before the limit of {MAX_WINDOW_DAY:,} sessions; use a "
                "smaller estimation_gap")
        object.__setattr__(self, "estimation_gap", int(gap))
        object.__setattr__(self, "estimation", (start, end))

    def from_start(self, start: int) -> Windows:
        """The fixed window a study with ``estimation_mode = "all"`` gathers:
        ``[min(start, estimation[0]), estimation[1]]`` (``start`` = minus the most
        sessions any pair has from its first price to day 0). A fixed window is
        returned unchanged.

        Examples
        --------
        >>> w = Windows(event=(-5, 5), min_estimation_obs=60, estimation_mode="all")
        >>> w.from_start(-400).estimation, w.from_start(-10).estimation
        ((-400, -6), (-65, -6))
        """
        if self.estimation_mode == "window":
            return self
        return replace(self, estimation=(min(int(start), self.estimation[0]),
                                         self.estimation[1]),
                       estimation_mode="window", estimation_gap=None)

    def estimation_text(self) -> str:
        """The estimation window for reports.

        Examples
        --------
        >>> Windows().estimation_text()
        '[-250, -11]'
        >>> Windows(event=(-9, 10), estimation_mode="all").estimation_text()
        '[first return, -10] (all data, gap 0)'
        """
        if self.estimation_mode == "all":
            return (f"[first return, {self.estimation[1]}] (all data, gap "
                    f"{self.estimation_gap})")
        return str(list(self.estimation))

    @property
    def estimation_length(self) -> int:
        """Number of sessions in the estimation window."""
        return self.estimation[1] - self.estimation[0] + 1

    @property
    def event_length(self) -> int:
        """Number of sessions in the event window."""
        return self.event[1] - self.event[0] + 1


@dataclass(frozen=True)
class Conventions:
    """Statistical conventions, with textbook defaults.

    Parameters
    ----------
    sigma_dof
        ``"model"``: residual variance divides by L - k (textbook, e.g. L - 2 for the
        market model). ``"sample"``: divides by L - 1 (R's ``sd()``, as estudy2).
    forecast_error
        Include the estimation-error (prediction-error) term in the variance of each AR
        and CAR (Campbell, Lo & MacKinlay 1997, sec. 4.4). Default True.
    market_moments
        ``"firm"``: the regressor means and sums of squares in the prediction-error
        term use the firm's own complete-case estimation days (textbook). ``"window"``:
        all estimation-window days of the regressors (estudy2).
    aggregation
        ``"car"``: cumulative abnormal return as a sum (default). ``"bhar"``:
        buy-and-hold, prod(1 + R) - prod(1 + normal).
    weights
        Column with value weights (a positive number per event in the events table,
        or per security in the universe; the events' column wins): the tests in
        :data:`eventstudy.inference.WEIGHTED_TESTS` (``csect_t``, ``bw_t``,
        ``bw_1980``, ``patell``, ``bmp``) then test the value-weighted AAR/CAAR, the
        others stay equal-weighted (``tests.csv`` column ``weighting``). Pairs without
        a positive weight are excluded with their reason. Empty (default): equal
        weights. Not with the ``estudy2`` profile.
    test_profile
        Conventions of the test statistics (:mod:`eventstudy.inference`):
        ``"textbook"`` (default), ``"estudy2"`` (pooled generalized-sign p-hat, the
        rank tests' "row mean x N" sums, ``car_rank_test``; methodology.md B.1) or
        ``"eventstudytools"`` (the textbook formulas; its conventions are the three
        below).
    forecast_error_by_test
        Per-test forecast-error correction, ``((test, on), ...)`` (a dict is
        accepted), for the tests of :data:`eventstudy.options.FORECAST_ERROR_TESTS`;
        a test not listed follows ``forecast_error``. A test can only turn the
        correction off: the engine computes the variances with it when
        ``forecast_error`` is True, and without it a test cannot have it.
    patell_car
        Patell's CAR form: ``"exact"`` (default; SCAR_i with the exact CAR variance,
        Campbell, Lo & MacKinlay 1997) or ``"patell1976"`` (the sum of the daily
        SARs over sqrt(L2 (L - k)/(L - k - 2)); Patell 1976, Dodd & Warner 1983,
        EventStudyTools).
    corrado_divisor
        Divisor of Corrado's S_K^2: ``"T"`` (default; Corrado 1989) or ``"T-1"``.
    """

    sigma_dof: SigmaDof = "model"
    forecast_error: bool = True
    market_moments: MarketMoments = "firm"
    aggregation: Aggregation = "car"
    weights: str = ""
    test_profile: Profile = "textbook"
    forecast_error_by_test: tuple[tuple[str, bool], ...] = ()
    patell_car: PatellCar = "exact"
    corrado_divisor: CorradoDivisor = "T"

    def __post_init__(self) -> None:
        _check_choice(self.sigma_dof, get_args(SigmaDof), "sigma_dof")
        _check_bool(self.forecast_error, "forecast_error")
        _check_choice(self.market_moments, get_args(MarketMoments), "market_moments")
        _check_choice(self.aggregation, get_args(Aggregation), "aggregation")
        if not isinstance(self.weights, str):
            raise UnknownNameError(f"weights must be a column name (text) or '' for "
                                   f"equal weights, got {self.weights!r}")
        _check_choice(self.test_profile, get_args(Profile), "test_profile")
        _check_choice(self.patell_car, get_args(PatellCar), "patell_car")
        _check_choice(self.corrado_divisor, get_args(CorradoDivisor),
                      "corrado_divisor")
        by_test = self.forecast_error_by_test
        items = list(by_test.items()) if isinstance(by_test, dict) else by_test
        if not isinstance(items, (list, tuple)) or not all(
                isinstance(kv, tuple) and len(kv) == 2 for kv in items):
            raise UnknownNameError(f"forecast_error_by_test must map test names to "
                                   f"True/False, e.g. {{'bmp': False}}, got "
                                   f"{by_test!r}")
        for name, on in items:
            _check_choice(name, FORECAST_ERROR_TESTS, "forecast_error_by_test test")
            _check_bool(on, f"forecast_error_by_test[{name!r}]")
        object.__setattr__(self, "forecast_error_by_test",
                           tuple(sorted(dict(items).items())))
        on_alone = [n for n, on in self.forecast_error_by_test
                    if on and not self.forecast_error]
        if on_alone:
            raise UnknownNameError(
                f"forecast_error_by_test turns the forecast-error correction on for "
                f"{', '.join(on_alone)} while forecast_error is False, so the engine "
                "computes the variances without it; set forecast_error = true and "
                "turn it off for the tests that should not use it, e.g. "
                "forecast_error_by_test = {bmp = false}")

    def forecast_error_for(self, test: str) -> bool:
        """Whether ``test`` uses the forecast-error correction: its entry of
        :attr:`forecast_error_by_test`, else :attr:`forecast_error`.

        Examples
        --------
        >>> c = Conventions.profile("eventstudytools")
        >>> c.forecast_error_for("patell"), c.forecast_error_for("bmp")
        (True, False)
        """
        return dict(self.forecast_error_by_test).get(test, self.forecast_error)

    @classmethod
    def profile(cls, name: Profile) -> Conventions:
        """Return a named profile: ``textbook``, ``estudy2`` or ``eventstudytools``.

        The values come from the data table :data:`eventstudy.options.PROFILES`
        (each with its source).

        Examples
        --------
        >>> Conventions.profile("estudy2").sigma_dof
        'sample'
        >>> Conventions.profile("eventstudytools").patell_car
        'patell1976'
        """
        if name not in PROFILES:
            raise UnknownNameError(f"unknown conventions profile {name!r}; use "
                                   f"{', '.join(PROFILES)}")
        values = {k: v.value for k, v in PROFILES[name].items()}
        values["forecast_error_by_test"] = tuple(
            sorted(values["forecast_error_by_test"].items()))
        return cls(test_profile=name, **values)


@dataclass(frozen=True)
class ModelSpec:
    """The normal-return model and its options."""

    name: ModelName = "market"
    returns: ReturnType = "simple"
    dimson_lags: int = 1
    factors: Path | None = None
    factor_columns: tuple[str, ...] = ()
    factor_unit: Literal["decimal", "percent"] = "decimal"
    rf_column: str = ""
    market_factor: bool = True
    day_part: DayPart = "close_to_close"
    mean: Literal["constant", "market", "factor"] = "market"
    distribution: Literal["normal", "t"] = "normal"
    nonconvergence: Literal["exclude", "ols"] = "exclude"
    factor_set: str = ""
    factor_frequency: str = ""
    factor_region: str = "us"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise UnknownNameError(f"model name must be a registered model's name "
                                   f"(text), not {self.name!r}")
        _check_choice(self.returns, get_args(ReturnType), "returns")
        _check_choice(self.day_part, get_args(DayPart), "day_part")
        if not _is_int(self.dimson_lags) or not (
                1 <= int(self.dimson_lags) <= MAX_DIMSON_LAGS):
            raise UnknownNameError(f"dimson_lags must be a whole number from 1 to "
                                   f"{MAX_DIMSON_LAGS}, got {self.dimson_lags!r}")
        object.__setattr__(self, "dimson_lags", int(self.dimson_lags))
        if self.factors is not None:
            if not isinstance(self.factors, (str, Path)) or not str(self.factors):
                raise UnknownNameError(f"factors must be a file path or None, got "
                                       f"{self.factors!r}")
            object.__setattr__(self, "factors", Path(self.factors))
        cols = self.factor_columns
        if isinstance(cols, str) or not isinstance(cols, (list, tuple)) or not all(
                isinstance(c, str) for c in cols):
            raise UnknownNameError(f"factor_columns must be a list of column names "
                                   f"like ['SMB', 'HML'], got {cols!r}")
        object.__setattr__(self, "factor_columns", tuple(cols))
        _check_choice(self.factor_unit, ("decimal", "percent"), "factor_unit")
        if not isinstance(self.rf_column, str):
            raise UnknownNameError(f"rf_column must be a column name (text), got "
                                   f"{self.rf_column!r}")
        _check_bool(self.market_factor, "market_factor")
        _check_choice(self.mean, ("constant", "market", "factor"), "mean")
        _check_choice(self.distribution, ("normal", "t"), "distribution")
        _check_choice(self.nonconvergence, ("exclude", "ols"), "nonconvergence")
        _check_choice(self.factor_set, ("", *BUILTIN_FACTORS), "factor_set")
        _check_choice(self.factor_frequency, ("", *FACTOR_FREQUENCIES),
                      "factor_frequency")
        _check_choice(self.factor_region, FACTOR_REGIONS, "factor_region")


@dataclass(frozen=True)
class Study:
    """A parsed, validated study file. Paths are absolute.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "s.toml").write_text(
    ...     '[study]\\nevents = "e.csv"\\nuniverse = "u.csv"\\n')
    >>> s = load_study(d / "s.toml")
    >>> s.windows.estimation, s.model.name
    ((-250, -11), 'market')
    """

    path: Path | None
    name: str
    events: Path
    universe: Path | None
    windows: Windows = field(default_factory=Windows)
    model: ModelSpec = field(default_factory=ModelSpec)
    tests: tuple[str, ...] = ("csect_t", "patell", "bmp")
    bootstrap_reps: int = 999
    seed: int = 12345
    p_adjust: tuple[str, ...] = ()
    p_adjust_family: str = "test_scope_window"
    conventions: Conventions = field(default_factory=Conventions)
    confounding: ConfoundAction = "flag"
    confounders: Path | None = None
    confounding_window: tuple[int, int] | None = None
    mask_estimation: bool = False
    mask_window: tuple[int, int] = (-1, 1)
    source: DataSource = "yahoo"
    prices: Path | None = None
    price_field: Literal["adjusted", "close"] = "adjusted"
    corporate_actions: Path | None = None
    scheduler: str = "local"
    workers: int | None = None
    measures: tuple[str, ...] = ("return",)
    """``[measures] names``: the reactions measured, among :data:`MEASURES`
    (the returns always; ``volatility``: ``volatility.csv``; ``volume``:
    ``volume.csv``)."""
    volume_constant: float = 1.0
    """``[measures] volume_constant``: c in ln(volume + c)."""
    output_format: str = "csv"
    """``[output] format``: the tables' file format, a name of
    :data:`eventstudy.io.tables.TABLE_FORMATS` (``csv`` or ``parquet``)."""

    def __post_init__(self) -> None:
        if not _is_int(self.bootstrap_reps) or not (
                1 <= int(self.bootstrap_reps) <= MAX_BOOTSTRAP_REPS):
            raise StudyFileError(
                f"[tests] bootstrap_reps = {self.bootstrap_reps!r}: use a whole number "
                f"from 1 to {MAX_BOOTSTRAP_REPS:,} (999 is usual)",
                path=None if self.path is None else str(self.path))
        if self.workers is not None and (not _is_int(self.workers)
                                         or int(self.workers) < 0):
            raise StudyFileError(
                f"workers = {self.workers!r}: use a whole number >= 0 (0 = automatic)",
                path=None if self.path is None else str(self.path))
        # workers = 0 means automatic, as None
        workers = None if self.workers is None else int(self.workers)
        object.__setattr__(self, "workers", workers or None)
        if self.confounding_window is not None:
            object.__setattr__(self, "confounding_window", day_window(
                self.confounding_window, "[confounding] window"))
        object.__setattr__(self, "mask_window",
                           day_window(self.mask_window, "[confounding] mask_window"))
        if not isinstance(self.mask_estimation, bool):
            raise StudyFileError(
                f"[confounding] mask_estimation must be true or false, got "
                f"{self.mask_estimation!r}",
                path=None if self.path is None else str(self.path))

    def with_updates(self, **changes: Any) -> Study:
        """Return a copy with some fields replaced."""
        return replace(self, **changes)


_KNOWN = {
    "study": {"name", "events", "universe"},
    "windows": {"estimation", "event", "car", "min_estimation_obs",
                "estimation_gap", "day0_rule"},
    "model": {"name", "returns", "dimson_lags", "factors", "factor_columns",
              "factor_unit", "rf_column", "market_factor", "day_part",
              "factor_frequency", "factor_region", "mean", "distribution",
              "nonconvergence"},
    "tests": {"names", "bootstrap_reps", "seed", "p_adjust", "p_adjust_family"},
    "conventions": {"profile", "sigma_dof", "forecast_error", "market_moments",
                    "aggregation", "weights", "forecast_error_by_test",
                    "patell_car", "corrado_divisor"},
    "confounding": {"action", "file", "window", "mask_estimation", "mask_window"},
    "data": {"source", "prices", "price_field", "corporate_actions"},
    "execution": {"scheduler", "workers"},
    "measures": {"names", "volume_constant"},
    "output": {"format"},
}


def _check_choice(value: Any, options: tuple[str, ...], what: str) -> None:
    if not isinstance(value, str) or value not in options:
        raise UnknownNameError(f"{what} = {value!r} is not valid; choose one of "
                               f"{', '.join(options)}")


def _check_bool(value: Any, what: str) -> None:
    if not isinstance(value, bool):
        raise UnknownNameError(f"{what} must be True or False, got {value!r}")


def _choice(value: Any, options: tuple[str, ...], key: str, path: str) -> str:
    if not isinstance(value, str) or value not in options:
        raise UnknownNameError(
            f"{key} = {_show(value)} is not valid; choose one of {', '.join(options)}",
            path=path,
        )
    return value


def _show(value: Any) -> str:
    """A TOML value as the user wrote it, shortened for a message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _pair(value: Any, key: str, path: str) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(_is_int(v) for v in value)):
        raise WindowError(f"{key} must be a list of two integers like [-250, -11], "
                          f"got {_show(value)}", path=path)
    for v in value:
        if abs(v) > MAX_WINDOW_DAY:
            raise WindowError(
                f"{key} = {_show(value)}: day {v} is beyond the limit of "
                f"{MAX_WINDOW_DAY:,} sessions from day 0 (about 80 years); use days "
                f"within [-{MAX_WINDOW_DAY}, {MAX_WINDOW_DAY}]", path=path)
    return (int(value[0]), int(value[1]))


def _int(value: Any, key: str, path: str, low: int | None = None,
         high: int | None = None, hint: str = "") -> int:
    if not _is_int(value):
        raise StudyFileError(f"{key} must be an integer, got {_show(value)}"
                             + (f"; {hint}" if hint else ""), path=path)
    if (low is not None and value < low) or (high is not None and value > high):
        span = (f"from {low:,} to {high:,}" if low is not None and high is not None
                else f">= {low:,}" if low is not None else f"<= {high:,}")
        raise StudyFileError(f"{key} = {value} is out of range; use a whole number "
                             f"{span}" + (f" ({hint})" if hint else ""), path=path)
    return int(value)


def _bool(value: Any, key: str, path: str) -> bool:
    if not isinstance(value, bool):
        raise StudyFileError(f"{key} must be true or false, got {_show(value)}",
                             path=path)
    return value


def _text(value: Any, key: str, path: str, example: str) -> str:
    if not isinstance(value, str):
        raise StudyFileError(f"{key} must be text in quotes like {example}, got "
                             f"{_show(value)}", path=path)
    if "\x00" in value:
        raise StudyFileError(f"{key} contains a NUL character; remove it", path=path)
    return value


def _names(value: Any, key: str, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StudyFileError(f"{key} must be a list of names like [\"SMB\", "
                             f"\"HML\"], got {_show(value)}", path=path)
    return tuple(value)


def day_window(value: Any, what: str) -> tuple[int, int]:
    """``value`` as a ``(start, end)`` window of sessions with start <= end.

    Raises
    ------
    WindowError
        Not two integers, beyond :data:`MAX_WINDOW_DAY`, or reversed; the message
        names ``what``.

    Examples
    --------
    >>> day_window([-1, 1], "mask_window")
    (-1, 1)
    """
    a, b = _window(value, what)
    if a > b:
        raise WindowError(f"{what} {[a, b]} is reversed; write it as [start, end] "
                          "with start <= end")
    return (a, b)


def _confounding_keys(conf: dict[str, Any], base: Path, sp: str) -> dict[str, Any]:
    """The ``[confounding]`` keys beyond ``action``: the confounders file, the
    confounding window and the estimation masking, as :class:`Study` fields."""
    file = _text(conf.get("file", ""), "[confounding] file", sp,
                 '"confounders.csv"')
    raw_window = conf.get("window", [])
    window = None
    if not (isinstance(raw_window, list) and not raw_window):
        window = _pair(raw_window, "[confounding] window", sp)
        if window[0] > window[1]:
            raise WindowError(f"[confounding] window = {_show(raw_window)} is "
                              "reversed; write it as [start, end] with start <= end "
                              "(e.g. [-5, 5]), or [] for the event window", path=sp)
    mask = _pair(conf.get("mask_window", [-1, 1]), "[confounding] mask_window", sp)
    if mask[0] > mask[1]:
        raise WindowError(f"[confounding] mask_window = {_show(list(mask))} is "
                          "reversed; write it as [start, end] with start <= end "
                          "(e.g. [-1, 1])", path=sp)
    return {"confounders": (base / file) if file else None,
            "confounding_window": window,
            "mask_estimation": _bool(conf.get("mask_estimation", False),
                                     "[confounding] mask_estimation", sp),
            "mask_window": mask}


MEASURES = ("return", "volatility", "volume")
"""What a study can measure (``[measures] names``)."""


def _measures(body: dict[str, Any], path: str) -> dict[str, Any]:
    """``[measures] names`` and ``volume_constant`` as :class:`Study` fields."""
    raw = body.get("names", ["return"])
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise StudyFileError(f"[measures] names must be a list such as [\"return\", "
                             f"\"volatility\", \"volume\"], got {_show(raw)}",
                             path=path)
    for name in raw:
        _choice(name, MEASURES, "[measures] names", path)
    names = tuple(dict.fromkeys(["return", *raw]))
    c = body.get("volume_constant", 1.0)
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not c > 0 \
            or c != c or c == float("inf"):
        raise StudyFileError(f"[measures] volume_constant = {_show(c)}: use a "
                             "positive number (1 for share volume)", path=path)
    return {"measures": names, "volume_constant": float(c)}


def _corporate_actions(data: dict[str, Any], base: Path, path: str) -> Path | None:
    """``[data] corporate_actions``: a file relative to the study file, or None
    when absent or empty."""
    value = _text(data.get("corporate_actions", ""), "[data] corporate_actions",
                  path, '"data/corporate-actions.csv"')
    return (base / value) if value.strip() else None


def load_study(path: str | Path) -> Study:
    """Read and validate a study TOML file.

    Parameters
    ----------
    path
        The TOML file. Relative paths inside it are relative to its folder.

    Returns
    -------
    Study

    Raises
    ------
    StudyFileError
        Missing or unreadable file, broken TOML, an unknown section/key, a value of
        the wrong TOML type (named as ``[section] key``) or out of its range.
    UnknownNameError
        Unknown model, test, return type or convention name.
    WindowError
        A window that does not make sense or lies beyond :data:`MAX_WINDOW_DAY`.
    """
    if not isinstance(path, (str, Path)):
        raise StudyFileError(f"the study file must be a path, got {_show(path)}")
    p = Path(path)
    sp = str(path)
    try:
        if not p.is_file():
            raise StudyFileError("study file not found; check the path", path=sp)
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise StudyFileError("not a UTF-8 text file; save the study file as UTF-8 "
                             "TOML", path=sp) from exc
    except OSError as exc:
        raise StudyFileError(f"cannot read the study file ({exc.strerror or exc}); "
                             "check its permissions", path=sp) from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(f"not valid TOML ({exc}); fix the syntax",
                             path=sp) from exc
    except RecursionError as exc:
        raise StudyFileError("not valid TOML (nested too deeply); fix the syntax",
                             path=sp) from exc
    if isinstance(raw.get("measures"), list):  # measures = [...] before [study]
        raw["measures"] = {"names": raw["measures"]}
    for section, body in raw.items():
        if section not in _KNOWN:
            raise StudyFileError(
                f"unknown section [{section}]; known sections: "
                f"{', '.join(sorted(_KNOWN))}", path=sp)
        if not isinstance(body, dict):
            raise StudyFileError(f"[{section}] must be a table (a [{section}] header "
                                 f"followed by key = value lines), got "
                                 f"{_show(body)}", path=sp)
        unknown = set(body) - _KNOWN[section]
        if unknown:
            raise StudyFileError(
                f"unknown key(s) {', '.join(sorted(unknown))} in [{section}]; known: "
                f"{', '.join(sorted(_KNOWN[section]))}", path=sp)
    base = p.resolve().parent
    st = raw.get("study", {})
    win = raw.get("windows", {})
    mod = raw.get("model", {})
    tst = raw.get("tests", {})
    conv = raw.get("conventions", {})
    data = raw.get("data", {})
    conf = raw.get("confounding", {})
    exe = raw.get("execution", {})
    scheduler = _text(exe.get("scheduler", "local"), "[execution] scheduler", sp,
                      '"local"')
    if not (scheduler in ("local", "dask") or scheduler.startswith("tcp://")):
        raise StudyFileError(f"[execution] scheduler = {scheduler!r}: use 'local', "
                             "'dask' or a cluster address 'tcp://host:port'", path=sp)
    workers = _int(exe.get("workers", 0), "[execution] workers", sp, 0, MAX_WORKERS,
                   "0 = automatic")

    defaults = Windows()
    car_raw = win.get("car", [list(c) for c in defaults.car])
    if not isinstance(car_raw, list) or not car_raw:
        raise WindowError(f"[windows] car must be a non-empty list of [start, end] "
                          f"pairs like [[0, 0], [-1, 1]], got {_show(car_raw)}",
                          path=sp)
    est_raw = win.get("estimation", list(defaults.estimation))
    mode: EstimationMode = "window"
    if isinstance(est_raw, str):
        if est_raw != "all":
            raise WindowError(
                f"[windows] estimation = {_show(est_raw)} is not valid; use a list "
                "of two integers like [-250, -11], or \"all\" (every return from "
                "the first price to estimation_gap sessions before the event "
                "window)", path=sp)
        mode = "all"
        estimation = defaults.estimation
    else:
        estimation = _pair(est_raw, "[windows] estimation", sp)
    gap: int | None = None
    if "estimation_gap" in win:
        gap = _int(win["estimation_gap"], "[windows] estimation_gap", sp, 0,
                   MAX_WINDOW_DAY, "sessions between the estimation end and the "
                   "event window; 0 = as xKDR eventstudies")
    day0_rule = cast(Day0Rule, _choice(win.get("day0_rule", "next"),
                                       get_args(Day0Rule), "[windows] day0_rule",
                                       sp))
    event = _pair(win.get("event", list(defaults.event)), "[windows] event", sp)
    car = tuple(_pair(c, "[windows] car", sp) for c in car_raw)
    min_obs = _int(win.get("min_estimation_obs", defaults.min_estimation_obs),
                   "[windows] min_estimation_obs", sp)
    try:
        windows = Windows(estimation, event, car, min_obs, estimation_mode=mode,
                          estimation_gap=gap, day0_rule=day0_rule)
    except WindowError as exc:
        raise WindowError(f"[windows] {exc}", path=sp) from exc

    factors = _text(mod.get("factors", ""), "[model] factors", sp, '"ff3.csv"')
    factor_set = factors if factors in BUILTIN_FACTORS else ""
    if factor_set:  # a built-in set: no file; its RF column is the risk-free rate
        factors = ""
    model = ModelSpec(
        name=_text(mod.get("name", "market"), "[model] name", sp, '"market"')
        or "market",
        returns=cast(ReturnType, _choice(mod.get("returns", "simple"),
                                         ("simple", "log"), "[model] returns", sp)),
        dimson_lags=_int(mod.get("dimson_lags", 1), "[model] dimson_lags", sp, 1,
                         MAX_DIMSON_LAGS),
        factors=(base / factors) if factors else None,
        factor_columns=_names(mod.get("factor_columns", []),
                              "[model] factor_columns", sp),
        factor_unit=cast(Literal["decimal", "percent"],
                         _choice(mod.get("factor_unit", "decimal"),
                                 ("decimal", "percent"), "[model] factor_unit", sp)),
        rf_column=_text(mod.get("rf_column", "RF" if factor_set else ""),
                        "[model] rf_column", sp, '"RF"'),
        market_factor=_bool(mod.get("market_factor", not factor_set),
                            "[model] market_factor", sp),
        factor_set=factor_set,
        factor_frequency=_choice(mod.get("factor_frequency", ""),
                                 ("", *FACTOR_FREQUENCIES),
                                 "[model] factor_frequency", sp),
        factor_region=_choice(mod.get("factor_region", "us"), FACTOR_REGIONS,
                              "[model] factor_region", sp),
        day_part=cast(DayPart, _choice(mod.get("day_part", "close_to_close"),
                                       get_args(DayPart), "[model] day_part", sp)),
        mean=cast(Literal["constant", "market", "factor"],
                  _choice(mod.get("mean", "market"), ("constant", "market", "factor"),
                          "[model] mean", sp)),
        distribution=cast(Literal["normal", "t"],
                          _choice(mod.get("distribution", "normal"), ("normal", "t"),
                                  "[model] distribution", sp)),
        nonconvergence=cast(Literal["exclude", "ols"],
                            _choice(mod.get("nonconvergence", "exclude"),
                                    ("exclude", "ols"), "[model] nonconvergence",
                                    sp)),
    )

    names = tst.get("names", ["csect_t", "patell", "bmp"])
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names:
        raise StudyFileError(f"[tests] names must be a non-empty list of test names "
                             f"like [\"csect_t\", \"patell\"], got {_show(names)}",
                             path=sp)
    for n in names:  # known names: checked against the registry by the workflow
        if not isinstance(n, str) or not n:
            raise StudyFileError(f"[tests] names = {_show(n)} is not valid; give test "
                                 "names like \"csect_t\"", path=sp)
    bootstrap_reps = _int(tst.get("bootstrap_reps", 999), "[tests] bootstrap_reps",
                          sp, 1, MAX_BOOTSTRAP_REPS, "999 is usual")
    seed = _int(tst.get("seed", 12345), "[tests] seed", sp)
    p_adjust = tst.get("p_adjust", [])  # names: checked by the workflow
    if isinstance(p_adjust, str):
        p_adjust = [p_adjust]
    if not isinstance(p_adjust, list) or not all(
            isinstance(m, str) and m for m in p_adjust):
        raise StudyFileError("[tests] p_adjust must be a list of multiple-testing "
                             "methods like [\"holm\", \"fdr_by\"], got "
                             f"{_show(p_adjust)}", path=sp)
    p_adjust_family = _choice(tst.get("p_adjust_family", "test_scope_window"),
                              ("test_scope_window", "table"),
                              "[tests] p_adjust_family", sp)

    profile = cast(Profile, _choice(conv.get("profile", "textbook"),
                                    get_args(Profile), "[conventions] profile",
                                    sp))
    base_conv = Conventions.profile(profile)
    fe_tests = conv.get("forecast_error_by_test", {})
    if not isinstance(fe_tests, dict):
        raise StudyFileError(f"[conventions] forecast_error_by_test must be a table of "
                             f"test = true/false like {{bmp = false}}, got "
                             f"{_show(fe_tests)}", path=sp)
    for k, v in fe_tests.items():
        _choice(k, FORECAST_ERROR_TESTS, "[conventions] forecast_error_by_test test",
                sp)
        _bool(v, f"[conventions] forecast_error_by_test.{k}", sp)
    by_test = dict(base_conv.forecast_error_by_test) | fe_tests
    forecast_error = _bool(conv.get("forecast_error", base_conv.forecast_error),
                           "[conventions] forecast_error", sp)
    on_alone = [k for k, v in by_test.items() if v and not forecast_error]
    if on_alone:
        raise StudyFileError(
            f"[conventions] forecast_error_by_test turns the forecast-error correction "
            f"on for {', '.join(sorted(on_alone))} while forecast_error = false; set "
            "forecast_error = true and turn it off for the tests that should not use "
            "it, e.g. forecast_error_by_test = {bmp = false}", path=sp)
    conventions = Conventions(
        sigma_dof=cast(SigmaDof, _choice(conv.get("sigma_dof", base_conv.sigma_dof),
                                         ("model", "sample"),
                                         "[conventions] sigma_dof", sp)),
        forecast_error=forecast_error,
        market_moments=cast(MarketMoments,
                            _choice(conv.get("market_moments",
                                             base_conv.market_moments),
                                    ("firm", "window"),
                                    "[conventions] market_moments", sp)),
        aggregation=cast(Aggregation, _choice(conv.get("aggregation", "car"),
                                              ("car", "bhar"),
                                              "[conventions] aggregation", sp)),
        weights=_text(conv.get("weights", ""), "[conventions] weights", sp,
                      '"market_cap"'),
        test_profile=base_conv.test_profile,
        forecast_error_by_test=tuple(sorted(by_test.items())),
        patell_car=cast(PatellCar, _choice(conv.get("patell_car",
                                                    base_conv.patell_car),
                                           get_args(PatellCar),
                                           "[conventions] patell_car", sp)),
        corrado_divisor=cast(CorradoDivisor, _choice(
            conv.get("corrado_divisor", base_conv.corrado_divisor),
            get_args(CorradoDivisor), "[conventions] corrado_divisor", sp)),
    )
    prices = _text(data.get("prices", ""), "[data] prices", sp, '"prices.csv"')
    universe = _text(st.get("universe", "universe.csv"), "[study] universe", sp,
                     '"universe.csv"')
    events = _text(st.get("events", "events.csv"), "[study] events", sp,
                   '"events.csv"')
    if not events:
        raise StudyFileError("[study] events is empty; name the event catalog CSV",
                             path=sp)
    name = _text(st.get("name", p.stem), "[study] name", sp, '"My study"')
    return Study(
        path=p.resolve(),
        name=name,
        events=base / events,
        universe=(base / universe) if universe else None,
        windows=windows,
        model=model,
        tests=tuple(names),
        bootstrap_reps=bootstrap_reps,
        seed=seed,
        p_adjust=tuple(p_adjust),
        p_adjust_family=p_adjust_family,
        conventions=conventions,
        confounding=cast(ConfoundAction, _choice(conf.get("action", "flag"),
                                                 ("flag", "exclude"),
                                                 "[confounding] action", sp)),
        **_confounding_keys(conf, base, sp),
        source=_text(data.get("source", "yahoo"), "[data] source", sp, '"file"')
        or "yahoo",
        prices=(base / prices) if prices else None,
        price_field=cast(Literal["adjusted", "close"],
                         _choice(data.get("price_field", "adjusted"),
                                 ("adjusted", "close"), "[data] price_field", sp)),
        corporate_actions=_corporate_actions(data, base, sp),
        scheduler=scheduler,
        workers=workers or None,
        **_measures(raw.get("measures", {}), sp),
        output_format=_choice(raw.get("output", {}).get("format", "csv"),
                              tuple(TABLE_FORMATS), "[output] format", sp),
    )
