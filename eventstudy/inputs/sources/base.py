"""What a price source gives the package, and the plan of a study's prices.

:func:`plan_study` is the one place that decides which tickers a study needs, each
ticker's exchange calendar and the calendar-date range of prices; ``run``,
``refresh``, ``prices fetch`` and ``prices check`` all use it. A
:class:`PriceSource` turns a :class:`StudyPlan` into the canonical price frame
(:mod:`eventstudy.inputs.prices`) with a description and a SHA-256 for ``run.json``;
the registry of sources is :data:`eventstudy.inputs.sources.SOURCES`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd

from eventstudy.config import Study
from eventstudy.inputs.events import load_events, load_universe
from eventstudy.inputs.sources.cache import (
    Gap,
    PriceProvider,
    ProgressCallback,
    UpdateReport,
    ticker_calendars,
)

__all__ = [
    "LoadedPrices",
    "PriceSource",
    "SourceFactory",
    "SourceOptions",
    "StudyPlan",
    "frame_sha256",
    "plan_study",
    "read_catalog",
    "study_tickers",
]


@dataclass(frozen=True)
class StudyPlan:
    """The prices a study needs: which tickers, on which calendars, over which dates.

    Attributes
    ----------
    study
        The study (its ``[data]`` settings: prices file, price field).
    tickers
        Universe securities, their benchmarks, then the tickers and benchmarks named
        by ticker-layout events, in first-appearance order (universe tickers are
        kept even when empty, so that the data checks name them).
    calendars
        Each ticker's exchange calendar where it is known
        (:func:`eventstudy.inputs.sources.cache.ticker_calendars`).
    start, end
        The inclusive calendar-date range (see :func:`plan_study`).
    """

    study: Study
    tickers: tuple[str, ...]
    calendars: Mapping[str, str]
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def field(self) -> Literal["adj_close", "close"]:
        """The cached price field: ``adj_close`` for ``price_field = "adjusted"``."""
        return "adj_close" if self.study.price_field == "adjusted" else "close"


def read_catalog(study: Study) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The study's event catalog and universe (None without one), as read from its
    files (:func:`~eventstudy.inputs.events.load_events`,
    :func:`~eventstudy.inputs.events.load_universe`)."""
    universe = load_universe(study.universe) if study.universe is not None else None
    return load_events(study.events), universe


def plan_study(study: Study, events: pd.DataFrame, universe: pd.DataFrame | None,
               *, today: pd.Timestamp | None = None) -> StudyPlan:
    """Plan a study's prices: tickers, their calendars and the date range.

    Parameters
    ----------
    study
        The parsed study.
    events, universe
        Its parsed catalog and universe (e.g. :func:`read_catalog`).
    today
        The last date that can have prices; default the current UTC date.

    Returns
    -------
    StudyPlan
        The range runs from the earliest event minus the estimation window
        (sessions turned into calendar days generously: x 1.6 + 30 days for
        holidays) to the latest event plus the event window (x 1.6 + 10 days),
        capped at ``today``.

    Examples
    --------
    >>> from pathlib import Path
    >>> from eventstudy.config import Study
    >>> ev = pd.DataFrame({"instant_ns": [pd.Timestamp("2024-06-03").value],
    ...                    "ticker": ["7203.T"], "benchmark": ["^TOPX"]})
    >>> study = Study(path=None, name="s", events=Path("e.csv"), universe=None)
    >>> p = plan_study(study, ev, None, today=pd.Timestamp("2026-01-01"))
    >>> p.tickers, f"{p.start:%Y-%m-%d}..{p.end:%Y-%m-%d}"
    (('7203.T', '^TOPX'), '2023-03-31..2024-06-29')
    """
    start, end = _date_range(study, events, today)
    return StudyPlan(study, study_tickers(events, universe),
                     ticker_calendars(universe, events), start, end)


def study_tickers(events: pd.DataFrame, universe: pd.DataFrame | None
                  ) -> tuple[str, ...]:
    """Every ticker a study needs (:attr:`StudyPlan.tickers`): universe securities
    (kept even when empty), their benchmarks, then the tickers and benchmarks of
    ticker-layout events, in first-appearance order."""
    columns: list[tuple[pd.Series, bool]] = []  # (column, keeps "")
    if universe is not None:  # universe tickers are kept even when empty
        columns += [(universe["ticker"], True), (universe["benchmark"], False)]
    columns += [(events[c], False) for c in ("ticker", "benchmark")
                if c in events.columns]
    if not columns:
        return ()
    # each column's distinct names first (in first-appearance order), then those
    # of all columns: the first appearances of the whole sequence, in its order
    parts: list[np.ndarray] = []
    for column, keep_empty in columns:
        names = np.asarray(pd.unique(column.astype(str)), dtype=object)
        parts.append(names if keep_empty else names[names != ""])
    return tuple(str(t) for t in pd.unique(np.concatenate(parts)))


def _date_range(study: Study, events: pd.DataFrame, today: pd.Timestamp | None
                ) -> tuple[pd.Timestamp, pd.Timestamp]:
    ns = events["instant_ns"].to_numpy()
    # int64 nanoseconds are already datetime64[ns] values (no per-value parse)
    inst = (pd.DatetimeIndex(ns.view("M8[ns]")) if ns.dtype == np.int64
            else pd.to_datetime(ns))
    w = study.windows
    before = pd.Timedelta(days=int(abs(min(w.estimation[0], 0)) * 1.6) + 30)
    after = pd.Timedelta(days=int(max(w.event[1], 0) * 1.6) + 10)
    today = (today or pd.Timestamp.now(tz="UTC").tz_localize(None)).normalize()
    start = (inst.min() - before).normalize()
    latest = inst.max()
    # events are <= 2200-12-31 and windows <= 20,000 sessions: past today, stop
    # before adding (the sum could leave pandas' timestamp range)
    end = today if after >= today - latest else (latest + after).normalize()
    return start, min(end, today)


def frame_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of a price frame's content: column names, dates and float64 values."""
    h = hashlib.sha256()
    h.update("|".join(map(str, frame.columns)).encode())
    h.update(np.asarray(pd.DatetimeIndex(frame.index).as_unit("ns").asi8).tobytes())
    h.update(np.ascontiguousarray(frame.to_numpy(dtype=np.float64)).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class LoadedPrices:
    """What a source's :meth:`PriceSource.load` returns.

    Attributes
    ----------
    frame
        The canonical wide price frame (:mod:`eventstudy.inputs.prices`).
    description
        Where the prices came from, for ``run.json`` (a path, ``cache:<dir>
        (<field>)``...).
    sha256
        SHA-256 of the data (of the file, or of the frame's content): the same
        data gives the same value, so :func:`eventstudy.workflows.refresh_study`
        can tell that nothing changed.
    opens
        The open prices in the same layout as ``frame`` (same dates and tickers,
        NaN where a ticker has no open), or None when the source has no opens at
        all (a wide file, a long file without an ``open`` column). Never mixed into
        ``frame``; the overnight and intraday returns
        (:func:`eventstudy.inputs.returns.day_part_returns`) need them.
    """

    frame: pd.DataFrame
    description: str
    sha256: str
    opens: pd.DataFrame | None = None


@dataclass(frozen=True)
class SourceOptions:
    """Per-call settings a source may use (each source ignores what it does not
    need).

    Attributes
    ----------
    prices
        A prices file overriding the study's ``[data] prices`` (``--prices``).
    cache_dir
        The local price cache folder (``--cache-dir``); None: the default.
    provider
        The download provider of a cached source; None: its default.
    """

    prices: Path | None = None
    cache_dir: Path | None = None
    provider: PriceProvider | None = None


class PriceSource(Protocol):
    """A source of prices for a study.

    ``load`` reads the prices of a plan; ``fetch`` brings what is missing into
    local storage (a source without a download step returns an empty report).
    Errors are typed (:class:`~eventstudy.errors.PriceDataError` for a bad file,
    :class:`~eventstudy.errors.DataUnavailableError` for tickers or dates it does
    not have, naming them).
    """

    def load(self, plan: StudyPlan, *, offline: bool = False,
             partial: bool = False) -> LoadedPrices:
        """The plan's prices.

        Parameters
        ----------
        plan
            What is needed.
        offline
            Never touch the network (a downloading source then uses only what it
            has; without ``offline`` it fetches what is missing first).
        partial
            Give what is there: a ticker with part of the range keeps the dates it
            has, a ticker with nothing is left out (for a partial refresh); a
            source raises only when it has nothing at all.
        """
        ...

    def fetch(self, plan: StudyPlan, *, full: bool = False,
              progress: ProgressCallback | None = None) -> UpdateReport:
        """Bring the plan's missing prices into local storage; per-ticker report
        (rows added, failures, gaps)."""
        ...

    def gaps(self, plan: StudyPlan) -> dict[str, tuple[Gap, ...]]:
        """Sessions missing inside the ranges fetched so far, by ticker (tickers
        without gaps left out; empty for a source that downloads nothing)."""
        ...


SourceFactory = Callable[[Study, SourceOptions], PriceSource]
"""Builds a source for a study; raises a typed error naming the study file and
the key to set when the study lacks what the source needs."""
