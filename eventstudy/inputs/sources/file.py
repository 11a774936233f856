"""The ``file`` price source: one CSV or Parquet prices file (long or wide).

The file is the whole truth: a ticker it lacks has no prices (the study excludes
its pairs with the reason "ticker has no prices"); only a file with none of the
plan's tickers is an error. Nothing is ever downloaded.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from eventstudy.config import Study
from eventstudy.errors import DataUnavailableError, StudyFileError
from eventstudy.inputs.prices import load_price_table
from eventstudy.inputs.sources.base import LoadedPrices, SourceOptions, StudyPlan
from eventstudy.inputs.sources.cache import Gap, ProgressCallback, UpdateReport
from eventstudy.io.outputset import sha256_file

__all__ = ["FileSource", "file_source"]


class FileSource:
    """Prices from one file (:func:`eventstudy.inputs.prices.load_prices`).

    Parameters
    ----------
    path
        The ``.csv`` (``.csv.gz``) or ``.parquet`` prices file.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r})"

    def load(self, plan: StudyPlan, *, offline: bool = False,
             partial: bool = False) -> LoadedPrices:
        """The whole file as the canonical frame, its path and its SHA-256, with
        the file's opens when a long file has an ``open`` column.

        Raises
        ------
        PriceDataError
            The file is missing or bad (naming the file, the row and the fix).
        DataUnavailableError
            The file has none of the plan's tickers.
        """
        # the file's SHA-256 on a second thread while it is parsed (hashing
        # releases the GIL); a parse error is raised first, as before
        with ThreadPoolExecutor(max_workers=1) as pool:
            digest = pool.submit(sha256_file, self.path)
            frame, opens = load_price_table(self.path)
            sha256 = digest.result()
        if plan.tickers and not any(t in frame.columns for t in plan.tickers):
            shown = ", ".join(plan.tickers[:5]) + (", ..." if len(plan.tickers) > 5
                                                  else "")
            raise DataUnavailableError(
                f"{self.path}: the prices file has none of the study's "
                f"{len(plan.tickers)} ticker(s) ({shown}); check the file's ticker "
                "names (with Yahoo suffixes such as .T) or the catalog's",
                tickers=list(plan.tickers))
        return LoadedPrices(frame, str(self.path), sha256, opens)

    def fetch(self, plan: StudyPlan, *, full: bool = False,
              progress: ProgressCallback | None = None) -> UpdateReport:
        """Nothing to download: an empty report."""
        return UpdateReport((), 0)

    def gaps(self, plan: StudyPlan) -> dict[str, tuple[Gap, ...]]:
        """A file has no fetched ranges: no gaps."""
        return {}


def file_source(study: Study, options: SourceOptions) -> FileSource:
    """The ``file`` source of a study: ``options.prices``, else ``[data] prices``.

    Raises
    ------
    StudyFileError
        Neither is set.
    """
    path = options.prices if options.prices is not None else study.prices
    if path is None:
        raise StudyFileError("the price source 'file' needs a prices file: set "
                             '[data] prices = "prices.csv" in the study file, or '
                             "pass --prices FILE",
                             path=None if study.path is None else str(study.path))
    return FileSource(Path(path))
