"""Factor tables for the factor models (Fama-French and the like): a file, or a
built-in set fetched from Kenneth French's data library.

``[model] factors`` names a file (CSV/Parquet, date + factor columns) or one of the
built-in sets ``ff3`` (Fama & French 1993: ``Mkt-RF, SMB, HML``), ``ff5`` (Fama &
French 2015: ``+ RMW, CMA``) or ``carhart`` (Carhart 1997: ``ff3 + MOM``), for
``[model] factor_region`` ``us``, ``japan`` or ``asia_pacific_ex_japan`` and
``[model] factor_frequency`` ``daily`` or ``monthly``. A built-in set is downloaded
into the price cache (:class:`~eventstudy.inputs.sources.french.FrenchLibrary`),
converted from percent to decimals, and its ``RF`` column is the risk-free rate
(``rf_column = "RF"`` unless the study sets another; the factor model then regresses
``R - RF`` on the other columns, and ``market_factor`` defaults to false because
``Mkt-RF`` is the market). :func:`resolve_factors` does the download (or checks the
cache when offline) before a run; :func:`load_factors` then reads the table.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from eventstudy.config import ModelSpec, Study
from eventstudy.errors import StudyFileError
from eventstudy.inputs.prices import load_prices
from eventstudy.inputs.sources.cache import default_cache_dir
from eventstudy.inputs.sources.french import Fetch, FrenchLibrary

__all__ = ["load_factors", "resolve_factors", "study_factor_table"]


def load_factors(path: str | Path, spec: ModelSpec) -> pd.DataFrame:
    """Read a factor table as decimals.

    Parameters
    ----------
    path
        The factor file, long or wide as a prices file
        (:func:`eventstudy.inputs.prices.load_prices`); for a built-in set
        (``spec.factor_set``), the price cache folder holding it (as
        :func:`resolve_factors` sets it), read without the network.
    spec
        The model settings: ``factor_unit = "percent"`` files (as Ken French's
        library) are divided by 100; a built-in set is always converted.

    Returns
    -------
    pandas.DataFrame
        One float64 column per factor, indexed by date.

    Raises
    ------
    PriceDataError
        The file is missing or bad (naming the file, the row and the fix).
    DataUnavailableError
        A built-in set that is not in the cache.
    """
    if spec.factor_set:
        return FrenchLibrary(path).load(spec.factor_set,
                                        spec.factor_frequency or "daily",
                                        spec.factor_region, offline=True)
    f = load_prices(path)
    if spec.factor_unit == "percent":
        f = f / 100.0
    return f


def resolve_factors(study: Study, *, cache_dir: str | Path | None = None,
                    offline: bool = False, frequency: str = "daily",
                    fetch: Fetch | None = None) -> tuple[Study, str | None]:
    """Make a study's built-in factor set ready to load: fetch it into the cache
    (unless ``offline``) and point ``[model] factors`` at the cache.

    Parameters
    ----------
    study
        The parsed study; one without a built-in set is returned as it is.
    cache_dir
        The price cache folder (default
        :func:`~eventstudy.inputs.sources.cache.default_cache_dir`).
    offline
        Never touch the network: the set must be cached already.
    frequency
        The frequency the command needs (``daily`` for ``run``: its returns are
        daily); a study whose ``[model] factor_frequency`` says otherwise is
        refused.
    fetch
        Downloads a URL (tests pass a fake); None uses the network.

    Returns
    -------
    (Study, str or None)
        The study with ``model.factors`` = the cache folder and
        ``model.factor_frequency`` = ``frequency``, and the SHA-256 of the cached
        files (for the run's fingerprint); ``(study, None)`` without a built-in set.

    Raises
    ------
    StudyFileError
        ``[model] factor_frequency`` is not ``frequency``.
    DataUnavailableError, NetworkError
        The set is not cached (offline) or cannot be downloaded.
    """
    spec = study.model
    if not spec.factor_set:
        return study, None
    if spec.factor_frequency and spec.factor_frequency != frequency:
        raise StudyFileError(
            f"[model] factor_frequency = {spec.factor_frequency!r}, but this command "
            f"needs {frequency} factors (an event study's returns are daily; monthly "
            "factors serve 'eventstudy calendar-time --frequency monthly'); set "
            f"factor_frequency = {frequency!r} or remove it",
            path=None if study.path is None else str(study.path))
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    library = FrenchLibrary(root, fetch)
    library.load(spec.factor_set, frequency, spec.factor_region, offline=offline)
    resolved = replace(spec, factors=root, factor_frequency=frequency)
    return (study.with_updates(model=resolved),
            library.sha256(spec.factor_set, frequency, spec.factor_region))


def study_factor_table(study: Study, frequency: str, *,
                       cache_dir: str | Path | None = None, offline: bool = False,
                       fetch: Fetch | None = None) -> pd.DataFrame | None:
    """A study's factor table at ``frequency`` (decimals): its built-in set fetched
    at that frequency, its factor file as it is, or None without factors.

    The study's ``[model] factor_frequency`` is not checked here: a command such as
    ``calendar-time`` chooses the frequency it needs.
    """
    spec = study.model
    if spec.factor_set:
        root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        return FrenchLibrary(root, fetch).load(spec.factor_set, frequency,
                                               spec.factor_region, offline=offline)
    if spec.factors is not None:
        return load_factors(spec.factors, spec)
    return None
