"""The ``yahoo`` price source: Yahoo Finance through the local price cache.

:class:`CachedSource` is the one place where prices are fetched and cached:
``eventstudy run`` (unless ``--offline``), ``eventstudy refresh`` and
``eventstudy prices fetch`` all go through :meth:`CachedSource.fetch`, which asks
the provider only for what :class:`~eventstudy.inputs.sources.cache.PriceCache`
lacks, checking each answer against the ticker's calendar from the plan.
:meth:`CachedSource.load` then reads the plan's tickers and dates from the cache.
Another provider behind the same cache is one more factory like
:func:`yahoo_source`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from eventstudy.config import Study
from eventstudy.errors import DataUnavailableError, EventStudyError
from eventstudy.inputs.sources.base import (
    LoadedPrices,
    SourceOptions,
    StudyPlan,
    frame_sha256,
)
from eventstudy.inputs.sources.cache import (
    OPEN_FIELD,
    Gap,
    PanelField,
    PriceCache,
    PriceProvider,
    ProgressCallback,
    UpdateReport,
    default_cache_dir,
)

__all__ = ["CachedSource", "yahoo_provider", "yahoo_source"]


class CachedSource:
    """Prices from a local :class:`~eventstudy.inputs.sources.cache.PriceCache`,
    filled by a download provider.

    Parameters
    ----------
    root
        The cache folder.
    provider
        Builds the provider for ``root`` when something must be downloaded (so an
        offline load never builds one).
    """

    def __init__(self, root: Path, provider: Callable[[Path], PriceProvider]) -> None:
        self.root = Path(root)
        self.cache = PriceCache(self.root)
        self._provider = provider

    def __repr__(self) -> str:
        return f"CachedSource({str(self.root)!r})"

    def fetch(self, plan: StudyPlan, *, full: bool = False,
              progress: ProgressCallback | None = None) -> UpdateReport:
        """Download what the cache lacks for the plan (each ticker checked against
        its calendar; see :meth:`PriceCache.update`)."""
        return self.cache.update(self._provider(self.root), list(plan.tickers),
                                 plan.start, plan.end, progress, full=full,
                                 calendars=plan.calendars)

    def gaps(self, plan: StudyPlan) -> dict[str, tuple[Gap, ...]]:
        """Each plan ticker's gaps in the cache (open and accepted)."""
        found = {t: self.cache.gaps(t) for t in plan.tickers}
        return {t: g for t, g in found.items() if g}

    def load(self, plan: StudyPlan, *, offline: bool = False,
             partial: bool = False) -> LoadedPrices:
        """The plan's prices from the cache (fetching what is missing first unless
        ``offline``), described as ``cache:<root> (<field>)``.

        Raises
        ------
        DataUnavailableError
            Without ``partial``: a ticker not cached over the plan's range (naming
            each one and its missing dates). With ``partial``: no ticker cached at
            all.
        """
        if not offline:
            self.fetch(plan)
        tickers = list(plan.tickers)
        if partial:
            frame = self._load_available(plan)
        else:
            frame = self.cache.load_panel(tickers, plan.start, plan.end, plan.field,
                                          offline=True)
        return LoadedPrices(frame, f"cache:{self.root} ({plan.field})",
                            frame_sha256(frame), self._opens(plan, frame))

    def _opens(self, plan: StudyPlan, frame: pd.DataFrame) -> pd.DataFrame | None:
        """The opens on ``frame``'s dates and tickers, on the same footing as the
        closes: Yahoo's ``Open`` is split-adjusted like ``close``, so for the
        adjusted field it is scaled by the day's ``adj_close / close`` (the open of
        an ex-dividend day then compares with the adjusted previous close). None
        when no ticker has an open (older cache files keep none)."""
        cols = [str(c) for c in frame.columns]
        opens = self._panel(plan, cols, OPEN_FIELD, frame.index)
        if not opens.notna().any().any():
            return None
        if plan.field == "adj_close":
            close = self._panel(plan, cols, "close", frame.index)
            opens = opens * (frame / close)
        return opens

    def _panel(self, plan: StudyPlan, cols: list[str], field: PanelField,
               index: pd.Index) -> pd.DataFrame:
        """One field of ``cols`` from the cache, on ``index``."""
        parts = [self.cache.load_panel([t], None, None, field, offline=True)
                 for t in cols]
        whole = pd.concat(parts, axis=1, sort=True) if parts else pd.DataFrame()
        return whole.reindex(index=index, columns=cols).astype("float64")

    def _load_available(self, plan: StudyPlan) -> pd.DataFrame:
        """What the cache has of each ticker: tickers whose range is incomplete
        keep the dates they have, tickers not cached are left out."""
        available = [t for t in plan.tickers if self.cache.coverage(t) is not None]
        if not available:
            raise DataUnavailableError("no cached prices for any ticker of the study; "
                                       "run 'eventstudy prices fetch' with internet",
                                       tickers=list(plan.tickers))
        frames: list[pd.DataFrame] = []
        for t in available:
            try:
                frames.append(self.cache.load_panel([t], plan.start, plan.end,
                                                    plan.field, offline=True))
            except EventStudyError:
                part = self.cache.load_panel([t], None, None, plan.field, offline=True)
                frames.append(part.loc[(part.index >= plan.start)
                                       & (part.index <= plan.end)])
        return pd.concat(frames, axis=1, sort=True)


def yahoo_provider(root: Path) -> PriceProvider:
    """A :class:`~eventstudy.inputs.sources.yahoo.YahooProvider` whose yfinance
    caches live under ``root``."""
    from eventstudy.inputs.sources import yahoo  # lazy: yfinance at start-up

    provider = yahoo.YahooProvider()
    provider.set_cache_location(root)
    return provider


def yahoo_source(study: Study, options: SourceOptions) -> CachedSource:
    """The ``yahoo`` source: the cache in ``options.cache_dir`` (default
    :func:`~eventstudy.inputs.sources.cache.default_cache_dir`), filled by
    ``options.provider`` or else Yahoo."""
    root = options.cache_dir if options.cache_dir is not None else default_cache_dir()
    given = options.provider
    return CachedSource(Path(root), yahoo_provider if given is None
                        else (lambda _root: given))
