"""Daily prices from Yahoo Finance through :func:`yfinance.download`.

This is the only module of eventstudy that knows yfinance's output layout. Facts it
relies on (yfinance 1.7, ``yfinance/multi.py`` and ``yfinance/scrapers/history.py``):

- ``download`` returns columns ``(Price, Ticker)`` named ``['Price', 'Ticker']`` with
  ``group_by="column"``, even for one ticker when ``multi_level_index=True``;
  tickers are upper-cased and de-duplicated through a ``set`` and the columns are
  then sorted, so the column order is not the input order (``_download_impl``).
- ``end`` is exclusive, so we ask for ``end + 1 day``.
- With ``auto_adjust=False`` both ``Close`` (split-adjusted) and ``Adj Close``
  (split- and dividend-adjusted) are returned; ``actions=True`` adds ``Dividends``
  and ``Stock Splits`` (``Capital Gains`` too for funds).
- ``ignore_tz=True`` gives a tz-naive daily index named ``Date``.
- A ticker that fails is *not* raised: ``_download_one`` catches every exception,
  stores ``utils.empty_df()`` (no ``Dividends``/``Stock Splits`` columns) and logs
  ``"['TICKER']: <error>"`` on the ``yfinance`` logger. After the union re-index its
  columns are all-NaN. This holds for ``YFRateLimitError`` too, so rate limiting is
  detected from that log message as well as from a raised exception.

- Without a network, nothing is raised either: every ticker is logged as
  ``"['7203.T', '^TOPX']: DNSError('Failed to perform, curl: (6) Could not resolve
  host: query2.finance.yahoo.com. ...')"`` (curl_cffi's exceptions), after warnings
  such as ``"Cookie/crumb fetch failed (DNSError), continuing without crumb"`` and
  errors such as ``"Failed to get ticker '7203.T' reason: ..."``; the frame has the
  usual columns and no row.
- yfinance is noisy: besides its logger (whose records reach the terminal through
  logging's last-resort handler when nothing else handles them) it emits pandas
  deprecation warnings and may ``print``. :class:`YahooProvider` keeps all of it
  off the terminal (see :func:`_quiet_yfinance`) and reports with its own typed
  errors and one-line reasons instead.

Failure modes of :meth:`YahooProvider.fetch_partial`:

- rate limit or network error: retried with exponential backoff; a ticker still
  failing afterwards is reported in ``failures``;
- every ticker of a call failing with a network error (no connection, DNS,
  timeout) after the retries: :class:`~eventstudy.errors.NetworkError`, whose
  message starts with "cannot reach Yahoo";
- anything else ``yfinance.download`` raises: :class:`~eventstudy.errors.ProviderError`
  (retrying will not help).

Every download option is passed explicitly because yfinance's defaults have changed
between minor versions.
"""

from __future__ import annotations

import ast
import contextlib
import io
import logging
import re
import socket
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import yfinance
from yfinance.exceptions import YFRateLimitError

from eventstudy.errors import (
    DataUnavailableError,
    EventStudyError,
    InputError,
    NetworkError,
    PriceDataError,
    ProviderError,
)
from eventstudy.inputs.sources.cache import (
    LONG_COLUMNS,
    OPEN_FIELD,
    PRICE_FIELDS,
    DateLike,
    as_range,
    as_tickers,
    empty_long_frame,
)

__all__ = ["YahooProvider"]

DownloadFn = Callable[..., Any]
"""The signature of :func:`yfinance.download`."""

# yfinance's Price level -> our long-frame column.
_YF_COLUMNS = {
    "Close": "close",
    "Adj Close": "adj_close",
    "Dividends": "dividends",
    "Stock Splits": "splits",
    "Volume": "volume",
    "Open": "open",
}
# Columns yfinance omits for a failed ticker (utils.empty_df) or without actions:
# a missing action column means no action, so 0.0.
_DEFAULT_ZERO = ("dividends", "splits")
# Exception class names of network failures: those yfinance itself treats as
# transient (data.py, _is_transient_error), which also match curl_cffi's and
# requests' exceptions, plus curl_cffi's DNSError, ProxyError, SSLError and
# IncompleteRead.
NETWORK_NAMES = frozenset(
    {
        "Timeout",
        "TimeoutError",
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "ChunkedEncodingError",
        "RemoteDisconnected",
        "DNSError",
        "ProxyError",
        "SSLError",
        "IncompleteRead",
        "gaierror",
    }
)
RATE_LIMIT_REASON = re.compile(
    r"YFRateLimitError|Too Many Requests|Rate limited", re.IGNORECASE
)
NETWORK_REASON = re.compile(
    r"\b(?:" + "|".join(sorted(NETWORK_NAMES)) + r")\b|Could not resolve host|"
    r"Failed to connect|Connection refused|timed out",
    re.IGNORECASE,
)
# "['7203.T', 'AAPL']: <error>" (multi.py, _download_impl) or "$AAPL: <error>"
# (scrapers/history.py, logged for soft errors).
_LOG_LIST = re.compile(r"^\s*(\[[^\]]*\]):\s*(.+)$", re.DOTALL)
_LOG_DOLLAR = re.compile(r"^\s*\$(\S+):\s*(.+)$", re.DOTALL)
_NO_ROWS = "Yahoo returned no prices (column missing or close all-NaN)"
MAX_REASON = 200
_LOG = logging.getLogger("eventstudy.inputs.sources.yahoo")


def is_network_error(exc: BaseException) -> bool:
    """Whether a raised exception is a network failure (connection, DNS, timeout)."""
    if isinstance(exc, TimeoutError | ConnectionError | socket.gaierror):
        return True
    return any(cls.__name__ in NETWORK_NAMES for cls in type(exc).__mro__)


def _is_retryable(exc: BaseException) -> bool:
    """Whether a raised exception is worth retrying (rate limit or network)."""
    return isinstance(exc, YFRateLimitError) or is_network_error(exc)


def _reason_kind(reason: str) -> str:
    """``"rate"``, ``"network"`` or ``"other"`` for a logged or raised reason."""
    if RATE_LIMIT_REASON.search(reason):
        return "rate"
    if NETWORK_REASON.search(reason):
        return "network"
    return "other"


def short_reason(reason: str) -> str:
    """A reason cut to one readable line (curl's advice URL dropped)."""
    text = " ".join(reason.split())
    text = re.sub(r"\s*See https://curl\.se/\S*( first for more details\.)?", "", text)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


class _ErrorLog(logging.Handler):
    """Collects yfinance's per-ticker error messages during one download."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.reasons: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must never break a download
            return
        match = _LOG_LIST.match(message)
        if match is not None:
            try:
                symbols = ast.literal_eval(match.group(1))
            except (ValueError, SyntaxError):
                return
            for symbol in symbols:
                self.reasons[str(symbol).upper()] = match.group(2).strip()
            return
        match = _LOG_DOLLAR.match(message)
        if match is not None:
            self.reasons.setdefault(match.group(1).upper(), match.group(2).strip())


@contextmanager
def _collect_yfinance_errors() -> Iterator[_ErrorLog]:
    """Attach an :class:`_ErrorLog` to the ``yfinance`` logger for one call.

    The handler is removed on exit; the logger's level and other handlers are left
    alone (records below the logger's level are not seen, and the reasons are then
    the generic "no prices" message).
    """
    handler = _ErrorLog()
    logger = logging.getLogger("yfinance")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


class _Discard(logging.Handler):
    """Swallows yfinance's records (so logging's last resort never prints them)."""

    def emit(self, record: logging.LogRecord) -> None:
        return None


@contextmanager
def _quiet_yfinance() -> Iterator[None]:
    """Keep yfinance's noise off the terminal for one download.

    For the duration of the call: the ``yfinance`` logger does not propagate to the
    root logger and has a handler that discards records (without one, logging's
    last-resort handler prints WARNING and above to stderr); warnings are ignored
    (yfinance 1.7 triggers pandas deprecation warnings); and ``sys.stdout`` /
    ``sys.stderr`` are redirected (yfinance prints in places). Whatever was printed
    is logged at DEBUG on ``eventstudy.inputs.sources.yahoo``. Everything is restored
    on exit.
    """
    logger = logging.getLogger("yfinance")
    discard = _Discard()
    propagate = logger.propagate
    printed = io.StringIO()
    logger.addHandler(discard)
    logger.propagate = False
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(printed),
            contextlib.redirect_stderr(printed),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.propagate = propagate
        logger.removeHandler(discard)
        if printed.getvalue().strip():
            _LOG.debug("yfinance printed: %s", printed.getvalue().strip())


def _flatten(raw: Any, tickers: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Turn a :func:`yfinance.download` result into the long price frame.

    Parameters
    ----------
    raw
        What ``yfinance.download(..., multi_level_index=True, group_by="column",
        auto_adjust=False, actions=True, ignore_tz=True)`` returned: columns
        ``(Price, Ticker)``, or None / an empty frame when nothing came back.
    tickers
        The requested tickers; matched to yfinance's upper-cased columns without
        regard to case or order, and reported under the requested spelling.

    Returns
    -------
    frame : pandas.DataFrame
        Columns ``date, ticker, close, adj_close, dividends, splits, volume, open``
        (``Open``, NaN when yfinance gave none), sorted by ``(ticker, date)``;
        rows where both closes are NaN (re-index padding for dates only other
        tickers traded) are dropped.
    missing : list of str
        Requested tickers whose column is absent or whose close is all-NaN.

    Raises
    ------
    PriceDataError
        If the columns are not yfinance's ``(Price, Ticker)`` layout or a ticker
        with prices lacks ``Close``/``Adj Close`` (e.g. ``auto_adjust=True``).
    """
    if raw is None or (isinstance(raw, pd.DataFrame) and raw.shape[1] == 0):
        return empty_long_frame(), list(tickers)
    if not isinstance(raw, pd.DataFrame):
        raise PriceDataError(f"yfinance.download returned {type(raw).__name__}")
    columns = raw.columns
    if not isinstance(columns, pd.MultiIndex) or columns.nlevels != 2:
        raise PriceDataError(
            "yfinance.download did not return (Price, Ticker) columns; was "
            "multi_level_index=True passed?"
        )
    if list(columns.names) == ["Ticker", "Price"]:
        ticker_level = 0
    elif list(columns.names) == ["Price", "Ticker"]:
        ticker_level = 1
    else:
        raise PriceDataError(
            f"unexpected yfinance column levels {list(columns.names)}; expected "
            "['Price', 'Ticker']"
        )
    index = pd.DatetimeIndex(raw.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    dates = index.normalize().astype("datetime64[ns]")
    by_symbol = {
        str(symbol).upper(): symbol
        for symbol in columns.get_level_values(ticker_level).unique()
    }

    frames: list[pd.DataFrame] = []
    missing: list[str] = []
    for ticker in tickers:
        symbol = by_symbol.get(ticker.upper())
        if symbol is None:
            missing.append(ticker)
            continue
        sub = raw.xs(symbol, axis=1, level=ticker_level)
        if not isinstance(sub, pd.DataFrame):
            raise PriceDataError(f"duplicate yfinance columns for {ticker}")
        if "Close" not in sub.columns or sub["Close"].notna().sum() == 0:
            missing.append(ticker)
            continue
        if "Adj Close" not in sub.columns:
            raise PriceDataError(
                f"yfinance returned no 'Adj Close' for {ticker}; was auto_adjust=False "
                "passed?"
            )
        data: dict[str, Any] = {"date": dates, "ticker": ticker}
        for yf_name, name in _YF_COLUMNS.items():
            if yf_name in sub.columns:
                values = pd.to_numeric(sub[yf_name], errors="coerce")
                data[name] = values.to_numpy(dtype="float64", na_value=float("nan"))
            else:
                data[name] = 0.0 if name in _DEFAULT_ZERO else float("nan")
        frame = pd.DataFrame(data)
        frame = frame.loc[frame["close"].notna() | frame["adj_close"].notna()]
        frames.append(frame)

    if not frames:
        return empty_long_frame(), missing
    long = pd.concat(frames, ignore_index=True)
    for name in PRICE_FIELDS:
        long[name] = long[name].astype("float64")
    long = long.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    long[OPEN_FIELD] = long[OPEN_FIELD].astype("float64")
    return long.loc[:, [*LONG_COLUMNS, OPEN_FIELD]], missing


class YahooProvider:
    """Download daily prices from Yahoo Finance with yfinance.

    Parameters
    ----------
    retries
        How many times a rate-limited or transiently failing download is retried
        (so at most ``retries + 1`` attempts).
    backoff
        Delay before the first retry, in seconds; it doubles on each retry.
    max_backoff
        Upper bound on any one delay, in seconds.
    threads
        Passed to :func:`yfinance.download`; False (default) downloads one ticker
        after another, which is gentler on Yahoo's rate limit.
    sleep
        Called with each delay; inject a no-op in tests.
    download
        The download function; defaults to :func:`yfinance.download`, looked up at
        call time.

    Notes
    -----
    The delay before retry ``k`` (0-based) is ``min(max_backoff, backoff * 2**k)``.
    A download is retried when it raises :class:`yfinance.exceptions.YFRateLimitError`
    or a connection/timeout error, and - because yfinance 1.x swallows per-ticker
    exceptions - when tickers come back empty and yfinance logged a rate-limit or
    network error for them; only those tickers are asked for again. Tickers that are
    empty for any other reason (unknown or delisted symbol, no trading in the range)
    are not retried.

    Examples
    --------
    >>> provider = YahooProvider(retries=2, sleep=lambda seconds: None)
    >>> provider.delays()
    [1.0, 2.0]
    """

    def __init__(
        self,
        retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        threads: bool = False,
        sleep: Callable[[float], object] = time.sleep,
        download: DownloadFn | None = None,
    ) -> None:
        if retries < 0:
            raise InputError(f"retries must be >= 0, not {retries}")
        if backoff < 0 or max_backoff < 0:
            raise InputError("backoff and max_backoff must be >= 0")
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.threads = threads
        self._sleep = sleep
        self._download = download

    def __repr__(self) -> str:
        return (
            f"YahooProvider(retries={self.retries}, backoff={self.backoff}, "
            f"max_backoff={self.max_backoff}, threads={self.threads})"
        )

    def delays(self) -> list[float]:
        """Return the delays, in seconds, before each retry."""
        return [
            min(self.max_backoff, self.backoff * 2.0**attempt)
            for attempt in range(self.retries)
        ]

    def set_cache_location(self, path: Path | str) -> Path:
        """Point yfinance's own timezone/cookie cache to ``path / "yfinance-tz"``.

        This is the one documented change of a third-party global: yfinance keeps
        its SQLite caches under the user cache directory by default, which fails
        under cron or read-only containers.

        Parameters
        ----------
        path
            Typically the eventstudy cache root.

        Returns
        -------
        pathlib.Path
            The directory now used by yfinance (created if needed).

        Raises
        ------
        InputError
            If the directory cannot be created.
        """
        location = Path(path) / "yfinance-tz"
        try:
            location.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create yfinance's cache folder ({exc.strerror or exc}); pass "
                "a writable --cache-dir or set EVENTSTUDY_CACHE_DIR",
                path=str(location),
            ) from exc
        yfinance.set_tz_cache_location(str(location))
        return location

    def fetch(
        self, tickers: Sequence[str], start: DateLike, end: DateLike
    ) -> pd.DataFrame:
        """Download ``[start, end]`` (inclusive) for every ticker, or raise.

        Parameters
        ----------
        tickers
            Yahoo tickers, e.g. ``["7203.T", "^N225", "JPY=X"]``.
        start, end
            Inclusive calendar dates.

        Returns
        -------
        pandas.DataFrame
            The long price frame: ``date, ticker, close, adj_close, dividends,
            splits, volume, open``, sorted by ``(ticker, date)``.

        Raises
        ------
        DataUnavailableError
            If any ticker came back missing or with an all-NaN close (after
            retries); the message names every such ticker with yfinance's reason.
        """
        frame, failures = self.fetch_partial(tickers, start, end)
        if failures:
            first, last = as_range(start, end)
            details = "; ".join(f"{t} ({why})" for t, why in failures.items())
            raise DataUnavailableError(
                f"Yahoo returned no prices for {len(failures)} of "
                f"{len(as_tickers(tickers))} ticker(s) between {first:%Y-%m-%d} and "
                f"{last:%Y-%m-%d}: {details}. Check the "
                "symbols (with Yahoo suffixes such as .T or .KS) or retry later.",
                tickers=list(failures),
            )
        return frame

    def fetch_partial(
        self, tickers: Sequence[str], start: DateLike, end: DateLike
    ) -> tuple[pd.DataFrame, dict[str, str]]:
        """Download what can be downloaded and report the rest.

        Parameters
        ----------
        tickers
            Yahoo tickers (duplicates are dropped).
        start, end
            Inclusive calendar dates.

        Returns
        -------
        frame : pandas.DataFrame
            The long price frame of the tickers that succeeded.
        failures : dict of str to str
            Each failed ticker and why (yfinance's message when it logged one).

        Raises
        ------
        InputError
            If a date or ticker is invalid or ``start > end``.
        NetworkError
            If every ticker failed with a network error (no connection, DNS,
            timeout) after the retries; the message starts with "cannot reach
            Yahoo".
        ProviderError
            If ``yfinance.download`` raised anything but a rate-limit or network
            error.
        """
        first, last = as_range(start, end)
        requested = as_tickers(tickers)
        pending = requested

        frames: list[pd.DataFrame] = []
        failures: dict[str, str] = {}
        kinds: dict[str, str] = {}
        delays = self.delays()
        attempt = 0
        while pending:
            try:
                raw, logged = self._download_once(pending, first, last)
            except EventStudyError:
                raise
            except Exception as exc:
                if not _is_retryable(exc):
                    raise _provider_error(exc, pending, first, last) from exc
                if attempt >= len(delays):
                    reason = f"{short_reason(repr(exc))} after {attempt + 1} attempt(s)"
                    failures.update(dict.fromkeys(pending, reason))
                    kind = "network" if is_network_error(exc) else "rate"
                    kinds.update(dict.fromkeys(pending, kind))
                    break
                self._sleep(delays[attempt])
                attempt += 1
                continue
            frame, missing = _flatten(raw, pending)
            if len(frame):
                frames.append(frame)
            reasons = {t: short_reason(logged.get(t.upper(), _NO_ROWS))
                       for t in missing}
            again = [t for t in missing if _reason_kind(reasons[t]) != "other"]
            for ticker in missing:
                if ticker not in again:
                    failures[ticker] = reasons[ticker]
                    kinds[ticker] = "other"
            if again and attempt < len(delays):
                self._sleep(delays[attempt])
                attempt += 1
                pending = again
                continue
            for ticker in again:
                failures[ticker] = f"{reasons[ticker]} after {attempt + 1} attempt(s)"
                kinds[ticker] = _reason_kind(reasons[ticker])
            break

        if (
            not frames
            and requested
            and all(kinds.get(t) == "network" for t in requested)
        ):
            raise NetworkError(
                f"cannot reach Yahoo: {failures[requested[0]]}, for "
                f"{_ticker_list(requested)} ({first:%Y-%m-%d}..{last:%Y-%m-%d}). "
                "Check the internet connection (or the HTTPS_PROXY setting) and try "
                "again.",
                tickers=requested,
            )
        if frames:
            long = pd.concat(frames, ignore_index=True)
            long = long.sort_values(["ticker", "date"], kind="stable")
            long = long.reset_index(drop=True)
        else:
            long = empty_long_frame()
        order = {t: i for i, t in enumerate(requested)}
        failures = dict(sorted(failures.items(), key=lambda kv: order[kv[0]]))
        return long, failures

    def _download_once(
        self, tickers: Sequence[str], first: pd.Timestamp, last: pd.Timestamp
    ) -> tuple[Any, dict[str, str]]:
        """One call of :func:`yfinance.download` with every option explicit, its
        noise kept off the terminal."""
        download = self._download if self._download is not None else yfinance.download
        end_exclusive = last + pd.Timedelta(days=1)
        with _collect_yfinance_errors() as log, _quiet_yfinance():
            raw = download(
                list(tickers),
                start=first.strftime("%Y-%m-%d"),
                end=end_exclusive.strftime("%Y-%m-%d"),
                auto_adjust=False,
                actions=True,
                multi_level_index=True,
                group_by="column",
                progress=False,
                threads=self.threads,
                ignore_tz=True,
                interval="1d",
                repair=False,
                keepna=False,
                rounding=False,
            )
        return raw, dict(log.reasons)


def _ticker_list(tickers: Sequence[str], most: int = 5) -> str:
    """``"7203.T, ^TOPX"`` or ``"7203.T, ... and 12 more"``."""
    shown = ", ".join(tickers[:most])
    if len(tickers) > most:
        shown += f" and {len(tickers) - most} more"
    return f"{len(tickers)} ticker(s): {shown}"


def _provider_error(
    exc: Exception, tickers: Sequence[str], first: pd.Timestamp, last: pd.Timestamp
) -> ProviderError:
    """The typed error for anything yfinance raises that retrying will not fix."""
    return ProviderError(
        f"Yahoo download failed for {_ticker_list(tickers)} "
        f"({first:%Y-%m-%d}..{last:%Y-%m-%d}): {type(exc).__name__}: "
        f"{short_reason(str(exc)) or 'no message'}. This is not a rate limit or "
        "network error, so retrying will not help: check the tickers (Yahoo symbols "
        "such as 7203.T, ^N225, JPY=X), update yfinance (pip install -U yfinance) or "
        "report it. The cached prices of these tickers were left unchanged.",
        tickers=list(tickers),
    )
