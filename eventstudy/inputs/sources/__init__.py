"""Price sources: where a study's prices come from, as plug-ins.

:data:`SOURCES` maps each source name (the study file's ``[data] source`` and the
CLI's ``--source``) to a factory ``(study, options) -> PriceSource``
(:class:`~eventstudy.inputs.sources.base.PriceSource`: ``load(plan, *, offline,
partial)``, ``fetch(plan, *, full, progress)`` and ``gaps(plan)``). The rest of
the package asks :func:`source_for` for the study's source and never branches on
its name.

Built in:

``file``
    a CSV or Parquet prices file (:mod:`eventstudy.inputs.sources.file`);
``yahoo``
    Yahoo Finance through the local price cache
    (:mod:`eventstudy.inputs.sources.yahoo_cached`).

Adding a source
---------------
One new file plus one registration line. For a CRSP daily-stock file, say,
``eventstudy/inputs/sources/crsp.py``::

    class CrspSource:
        def __init__(self, path: Path) -> None:
            self.path = path

        def load(self, plan, *, offline=False, partial=False) -> LoadedPrices:
            raw = pd.read_csv(self.path, usecols=["date", "PERMNO", "PRC"])
            frame = prices_from_frame(raw.rename(columns={"PERMNO": "ticker",
                                                          "PRC": "close"}).abs(),
                                      source=str(self.path))
            return LoadedPrices(frame, f"crsp:{self.path}", sha256_file(self.path))

        def fetch(self, plan, *, full=False, progress=None) -> UpdateReport:
            return UpdateReport((), 0)   # nothing to download

        def gaps(self, plan) -> dict[str, tuple[Gap, ...]]:
            return {}

    def crsp_source(study: Study, options: SourceOptions) -> CrspSource:
        return CrspSource(options.prices or study.prices)

and in this file::

    SOURCES["crsp"] = crsp_source   # or a line in the dict below

``tests/inputs/sources/test_sources_contract.py`` then runs the shared contract
tests on it too (add a fixture building it on the test data).
"""

from __future__ import annotations

from eventstudy.config import Study
from eventstudy.errors import UnknownNameError
from eventstudy.inputs.sources.base import (
    LoadedPrices,
    PriceSource,
    SourceFactory,
    SourceOptions,
    StudyPlan,
    frame_sha256,
    plan_study,
    read_catalog,
    study_tickers,
)
from eventstudy.inputs.sources.file import file_source
from eventstudy.inputs.sources.yahoo_cached import yahoo_source

__all__ = [
    "CACHE_SOURCE",
    "FILE_SOURCE",
    "SOURCES",
    "LoadedPrices",
    "PriceSource",
    "SourceFactory",
    "SourceOptions",
    "StudyPlan",
    "check_source_name",
    "frame_sha256",
    "plan_study",
    "read_catalog",
    "source_for",
    "study_tickers",
]

SOURCES: dict[str, SourceFactory] = {
    "file": file_source,
    "yahoo": yahoo_source,
}
"""Source name -> factory ``(study, options) -> PriceSource``."""

CACHE_SOURCE = "yahoo"
"""The source whose local cache ``eventstudy prices fetch`` fills, whatever the
study's ``[data] source``."""

FILE_SOURCE = "file"
"""The source a prices file given with the call (``--prices FILE``) is read by,
whatever the study's ``[data] source``."""


def check_source_name(name: str) -> str:
    """``name`` if it is a registered source, else :class:`UnknownNameError`
    listing them."""
    if name not in SOURCES:
        raise UnknownNameError(f"price source {name!r}: use "
                               f"{' or '.join(SOURCES)}")
    return name


def source_for(study: Study, options: SourceOptions | None = None) -> PriceSource:
    """The price source of a study: :data:`FILE_SOURCE` for a prices file given in
    ``options``, else its ``[data] source``.

    Raises
    ------
    UnknownNameError
        The name is not in :data:`SOURCES`.
    StudyFileError
        The study lacks what the source needs (e.g. ``file`` without
        ``[data] prices``).
    """
    opts = options if options is not None else SourceOptions()
    name = FILE_SOURCE if opts.prices is not None else check_source_name(study.source)
    return SOURCES[name](study, opts)
