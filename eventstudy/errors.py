"""Typed errors and warnings of eventstudy.

Every error the user can cause by bad input is an :class:`EventStudyError`. Its message
names the file, the row (where there is one) and how to fix it. The CLI turns these into
a one-paragraph message and exit code 2, with no traceback.
"""

from __future__ import annotations


class EventStudyError(Exception):
    """Base class of every error caused by the user's input or environment."""


class InputError(EventStudyError, ValueError):
    """A file or value given by the user is missing, malformed or inconsistent.

    Parameters
    ----------
    message
        What is wrong and how to fix it.
    path
        The file concerned, if any.
    row
        The 1-based data row (header excluded) concerned, if any.
    """

    def __init__(
        self, message: str, path: str | None = None, row: int | None = None
    ) -> None:
        self.path = path
        self.row = row
        where = ""
        if path is not None:
            where = f"{path}"
            if row is not None:
                where += f", row {row}"
            where += ": "
        super().__init__(where + message)


class StudyFileError(InputError):
    """The study TOML file is missing, unparsable or has an invalid key."""


class CatalogError(InputError):
    """The event catalog has one or more invalid rows.

    ``problems`` lists every problem found, so that the user can fix them all at once.
    """

    def __init__(self, message: str, path: str | None = None,
                 problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        full = message
        if self.problems:
            full += "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(full, path=path)


class PriceDataError(InputError):
    """A prices file is empty, non-numeric or has an unusable layout."""


class WindowError(InputError):
    """An estimation, event or CAR window does not make sense."""


class UnknownNameError(InputError):
    """An unknown model, test, calendar or option name was requested."""


class CalendarError(EventStudyError):
    """A calendar name is unknown or a date lies outside its range."""


class DataUnavailableError(EventStudyError):
    """Prices for one or more tickers could not be obtained.

    Attributes
    ----------
    tickers
        The tickers that are missing.
    """

    def __init__(self, message: str, tickers: list[str] | None = None) -> None:
        self.tickers = list(tickers or [])
        super().__init__(message)


class ProviderError(DataUnavailableError):
    """The price provider (Yahoo) failed in a way that retrying will not fix."""


class NetworkError(DataUnavailableError):
    """The price provider could not be reached at all (no connection, DNS, timeout);
    the message starts with "cannot reach Yahoo"."""


class NoPairsError(InputError):
    """Every (event, security) pair was excluded, so nothing can be tested.

    The message counts the pairs per exclusion reason; ``excluded`` holds the
    ``event_id, ticker, reason`` table (a pandas DataFrame), e.g. to write it.
    """

    def __init__(self, message: str, excluded: object = None) -> None:
        self.excluded = excluded
        super().__init__(message)


class SchedulerError(EventStudyError):
    """An execution backend could not be started or a task failed."""


class OutputError(EventStudyError):
    """An output folder cannot be written or read as one consistent set: it is a file,
    lies under a file, is an input, is locked by another run, the disk is full, or
    its files do not belong to one run."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path is not None else message)


class EventStudyWarning(UserWarning):
    """Base class of eventstudy's warnings."""
