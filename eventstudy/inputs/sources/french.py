"""Fama-French and Carhart factors from Kenneth French's data library, cached.

The library (https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/data_library.html)
serves each data set as ``<BASE_URL><name>_CSV.zip``: a zip holding one CSV text file.
:class:`FrenchLibrary` downloads the zips a factor set needs into the local price
cache (``<cache>/factors/<name>_CSV.zip``, each written atomically under the cache's
``.lock``, the lock the price cache holds while updating), and reads them back
without the network (``offline``); :func:`parse_french_csv` reads the file's first
table. Nothing here is downloaded unless asked: a set that is cached is read from the
cache (``eventstudy factors fetch STUDY --refresh`` downloads it again).

Files (checked against the library's list of data sets)
-------------------------------------------------------
US: ``F-F_Research_Data_Factors`` (ff3), ``F-F_Research_Data_5_Factors_2x3`` (ff5),
``F-F_Momentum_Factor`` (momentum), each with ``_daily`` for the daily file. Japan:
``Japan_3_Factors``, ``Japan_5_Factors``, ``Japan_Mom_Factor``; Asia-Pacific ex
Japan: ``Asia_Pacific_ex_Japan_3_Factors``, ``Asia_Pacific_ex_Japan_5_Factors``,
``Asia_Pacific_ex_Japan_MOM_Factor`` (sic: ``MOM``), each with ``_Daily`` for the
daily file (:data:`FILES`).

``carhart`` is ``ff3`` plus the momentum file (Carhart 1997); ``ff3`` is Fama & French
(1993), ``ff5`` Fama & French (2015).

File layout (what :func:`parse_french_csv` relies on)
-----------------------------------------------------
Text lines (CRLF; a lone CR is read as a line end) describing the file ("This file was
created by CMPT_ME_BEME_RETS_DAILY using the 202412 CRSP database.", or "... using the
202412 Bloomberg database." for the regions, with "Missing data are indicated by
-99.99."), a blank line, then the table: a header line whose first cell is empty
(``,Mkt-RF,SMB,HML,RF``; names may carry padding, as ``Mom   ``), then one row per
period, the date first (``YYYYMMDD`` daily, ``YYYYMM`` monthly) and the values in
percent. A monthly file goes on after a blank line with an annual table (``Annual
Factors: January-December``, dates ``YYYY``), which is not read; every file ends with
a copyright line. ``-99.99`` and ``-999`` mean missing (NaN). The momentum column is
``Mom`` in the US files and ``WML`` in the regional ones: both are returned as
``MOM``.
"""

from __future__ import annotations

import hashlib
import io
import re
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import filelock
import numpy as np
import pandas as pd

from eventstudy.config import BUILTIN_FACTORS, FACTOR_FREQUENCIES, FACTOR_REGIONS
from eventstudy.errors import (
    DataUnavailableError,
    NetworkError,
    PriceDataError,
    ProviderError,
    UnknownNameError,
)
from eventstudy.io.atomic import replace_atomic

__all__ = [
    "BASE_URL",
    "FILES",
    "MOMENTUM",
    "FrenchLibrary",
    "dataset_names",
    "http_get",
    "parse_french_csv",
    "parse_french_zip",
]

BASE_URL = "https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp/"
"""Where the library's zips are: ``BASE_URL + name + "_CSV.zip"``."""

MOMENTUM = "MOM"
"""The momentum column's name in every returned table (``Mom`` or ``WML`` in the
files)."""

FILES: dict[tuple[str, str, str], str] = {
    ("us", "ff3", "daily"): "F-F_Research_Data_Factors_daily",
    ("us", "ff3", "monthly"): "F-F_Research_Data_Factors",
    ("us", "ff5", "daily"): "F-F_Research_Data_5_Factors_2x3_daily",
    ("us", "ff5", "monthly"): "F-F_Research_Data_5_Factors_2x3",
    ("us", "mom", "daily"): "F-F_Momentum_Factor_daily",
    ("us", "mom", "monthly"): "F-F_Momentum_Factor",
    ("japan", "ff3", "daily"): "Japan_3_Factors_Daily",
    ("japan", "ff3", "monthly"): "Japan_3_Factors",
    ("japan", "ff5", "daily"): "Japan_5_Factors_Daily",
    ("japan", "ff5", "monthly"): "Japan_5_Factors",
    ("japan", "mom", "daily"): "Japan_Mom_Factor_Daily",
    ("japan", "mom", "monthly"): "Japan_Mom_Factor",
    ("asia_pacific_ex_japan", "ff3", "daily"): "Asia_Pacific_ex_Japan_3_Factors_Daily",
    ("asia_pacific_ex_japan", "ff3", "monthly"): "Asia_Pacific_ex_Japan_3_Factors",
    ("asia_pacific_ex_japan", "ff5", "daily"): "Asia_Pacific_ex_Japan_5_Factors_Daily",
    ("asia_pacific_ex_japan", "ff5", "monthly"): "Asia_Pacific_ex_Japan_5_Factors",
    ("asia_pacific_ex_japan", "mom", "daily"):
        "Asia_Pacific_ex_Japan_MOM_Factor_Daily",
    ("asia_pacific_ex_japan", "mom", "monthly"): "Asia_Pacific_ex_Japan_MOM_Factor",
}
"""``(region, table, frequency) -> data set name`` (the zip: ``name + "_CSV.zip"``)."""

_PARTS = {"ff3": ("ff3",), "ff5": ("ff5",), "carhart": ("ff3", "mom")}
_MISSING = (-99.99, -999.0)
_TIMEOUT = 60.0

Fetch = Callable[[str], bytes]
"""Downloads one URL and returns its bytes (raises
:class:`~eventstudy.errors.NetworkError` or
:class:`~eventstudy.errors.ProviderError`)."""


def http_get(url: str) -> bytes:
    """Download ``url`` with the standard library (60 s timeout).

    Raises
    ------
    ProviderError
        The library answered with an HTTP error (e.g. 404: the file name changed).
    NetworkError
        The library could not be reached (no connection, DNS, timeout).
    """
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as resp:  # noqa: S310
            data: bytes = resp.read()
            return data
    except urllib.error.HTTPError as exc:
        raise ProviderError(f"the Kenneth French data library answered HTTP "
                            f"{exc.code} for {url}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise NetworkError(f"cannot reach the Kenneth French data library ({url}): "
                           f"{exc}; check the connection, or run offline on the "
                           "factors already cached") from exc


def dataset_names(factor_set: str, frequency: str, region: str = "us"
                  ) -> tuple[str, ...]:
    """The library's data sets a factor set needs.

    Examples
    --------
    >>> dataset_names("carhart", "daily", "japan")
    ('Japan_3_Factors_Daily', 'Japan_Mom_Factor_Daily')
    """
    if factor_set not in BUILTIN_FACTORS:
        raise UnknownNameError(f"factor set {factor_set!r}: use one of "
                               f"{', '.join(BUILTIN_FACTORS)}")
    if frequency not in FACTOR_FREQUENCIES:
        raise UnknownNameError(f"factor frequency {frequency!r}: use one of "
                               f"{', '.join(FACTOR_FREQUENCIES)}")
    if region not in FACTOR_REGIONS:
        raise UnknownNameError(f"factor region {region!r}: use one of "
                               f"{', '.join(FACTOR_REGIONS)}")
    return tuple(FILES[(region, part, frequency)] for part in _PARTS[factor_set])


def _split_lines(text: str) -> list[str]:
    return re.sub(r"\r\n?", "\n", text).split("\n")


def parse_french_csv(text: str, source: str = "French data file") -> pd.DataFrame:
    """The first table of a French library CSV, in percent as in the file.

    Parameters
    ----------
    text
        The CSV text (the layout in the module docstring).
    source
        The file's name, for messages.

    Returns
    -------
    pandas.DataFrame
        Float64 columns named as in the header (padding stripped; ``Mom`` and
        ``WML`` renamed :data:`MOMENTUM`), indexed by ``date``: the day for
        ``YYYYMMDD`` rows, the month's last day for ``YYYYMM`` rows. ``-99.99`` and
        ``-999`` are NaN.

    Raises
    ------
    PriceDataError
        No table header, a bad date or value (naming the line), or dates out of
        order.

    Examples
    --------
    >>> t = "Made by hand.\\r\\n\\r\\n,Mkt-RF,RF\\r\\n202401,  0.70,  0.47\\r\\n\\r\\n"
    >>> f = parse_french_csv(t)
    >>> f.index[0].date(), f.iloc[0].tolist()
    (datetime.date(2024, 1, 31), [0.7, 0.47])
    """
    lines = _split_lines(text)
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith(",")),
                 None)
    if start is None:
        raise PriceDataError(f"{source}: no table header (a line starting with ',' "
                             "such as ',Mkt-RF,SMB,HML,RF'); is it a file of the "
                             "Kenneth French data library?")
    names = [c.strip() for c in lines[start].split(",")[1:]]
    names = [MOMENTUM if c in ("Mom", "WML", "UMD") else c for c in names]
    if not names or any(not c for c in names) or len(set(names)) != len(names):
        raise PriceDataError(f"{source}, line {start + 1}: bad header "
                             f"{lines[start].strip()!r}")
    dates: list[pd.Timestamp] = []
    rows: list[list[float]] = []
    width = 0
    for i in range(start + 1, len(lines)):
        cells = [c.strip() for c in lines[i].split(",")]
        if cells == [""]:  # a blank line ends the table
            break
        where = f"{source}, line {i + 1}"
        key = cells[0]
        if not key.isdigit() or len(key) not in (6, 8):
            raise PriceDataError(f"{where}: {key!r} is not a YYYYMMDD or YYYYMM date")
        if width and len(key) != width:
            raise PriceDataError(f"{where}: {key!r} mixes daily and monthly dates")
        width = len(key)
        try:
            stamp = (pd.Timestamp(f"{key[:4]}-{key[4:6]}-{key[6:]}") if width == 8
                     else pd.Timestamp(f"{key[:4]}-{key[4:6]}-01")
                     + pd.offsets.MonthEnd(0))
        except ValueError as exc:
            raise PriceDataError(f"{where}: {key!r} is not a valid date") from exc
        if len(cells) != len(names) + 1:
            raise PriceDataError(f"{where}: {len(cells) - 1} values for "
                                 f"{len(names)} columns ({', '.join(names)})")
        try:
            vals = [float(c) for c in cells[1:]]
        except ValueError as exc:
            raise PriceDataError(f"{where}: a value is not a number: "
                                 f"{lines[i].strip()!r}") from exc
        dates.append(stamp)
        rows.append(vals)
    if not rows:
        raise PriceDataError(f"{source}: the table under line {start + 1} has no rows")
    arr = np.asarray(rows, dtype=np.float64)
    arr[np.isin(arr, _MISSING)] = np.nan
    index = pd.DatetimeIndex(dates, name="date").as_unit("ns")
    if not index.is_monotonic_increasing or index.has_duplicates:
        raise PriceDataError(f"{source}: dates are not increasing and unique")
    return pd.DataFrame(arr, index=index, columns=pd.Index(names))


def parse_french_zip(data: bytes, source: str = "French data zip") -> pd.DataFrame:
    """:func:`parse_french_csv` of the CSV inside a library zip (one member).

    Raises
    ------
    PriceDataError
        Not a zip, no member, or a bad table.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [n for n in zf.namelist() if not n.endswith("/")]
            if not members:
                raise PriceDataError(f"{source}: the zip is empty")
            raw = zf.read(members[0])
    except zipfile.BadZipFile as exc:
        raise PriceDataError(f"{source}: not a zip file ({exc}); delete it and fetch "
                             "again ('eventstudy factors fetch STUDY --refresh')"
                             ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    return parse_french_csv(text, f"{source}:{members[0]}")


def _writer(data: bytes) -> Callable[[Path], object]:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
    return write


class FrenchLibrary:
    """The French library's zips in the local cache.

    Parameters
    ----------
    root
        The price cache folder
        (:func:`~eventstudy.inputs.sources.cache.default_cache_dir` or
        ``--cache-dir``); the zips go to ``root/factors``.
    fetch
        Downloads a URL; None uses :func:`http_get` (looked up when called, so a
        test can replace it).
    lock_timeout
        Seconds to wait for the cache lock; negative waits forever.
    """

    def __init__(self, root: Path | str, fetch: Fetch | None = None,
                 lock_timeout: float = -1.0) -> None:
        self.root = Path(root)
        self._fetch = fetch
        self.lock_timeout = lock_timeout

    def __repr__(self) -> str:
        return f"FrenchLibrary({str(self.root)!r})"

    @property
    def folder(self) -> Path:
        """Where the zips are kept: ``root/factors``."""
        return self.root / "factors"

    def path(self, name: str) -> Path:
        """The cached zip of data set ``name``."""
        return self.folder / f"{name}_CSV.zip"

    def fetch(self, names: Sequence[str], *, refresh: bool = False) -> list[str]:
        """Download the data sets not cached yet (all of them with ``refresh``).

        Each zip is checked (:func:`parse_french_zip`) before it is written, so a
        bad answer never replaces a good file. Returns the names downloaded.
        """
        get = self._fetch if self._fetch is not None else http_get
        done: list[str] = []
        self.folder.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(self.root / ".lock", timeout=self.lock_timeout):
            for name in names:
                target = self.path(name)
                if target.is_file() and not refresh:
                    continue
                url = f"{BASE_URL}{name}_CSV.zip"
                data = get(url)
                try:
                    parse_french_zip(data, url)
                except PriceDataError as exc:
                    raise ProviderError(f"the Kenneth French data library sent a file "
                                        f"that is not a factor table: {exc}") from exc
                replace_atomic(target, _writer(data), durable=True)
                done.append(name)
        return done

    def read(self, name: str) -> pd.DataFrame:
        """The cached table of data set ``name`` in percent (no network)."""
        target = self.path(name)
        if not target.is_file():
            raise DataUnavailableError(
                f"factor data {name} is not in the cache {self.folder}; run "
                "'eventstudy factors fetch STUDY' with internet (or run without "
                "--offline)", tickers=[name])
        return parse_french_zip(target.read_bytes(), str(target))

    def load(self, factor_set: str, frequency: str, region: str = "us", *,
             offline: bool = False) -> pd.DataFrame:
        """A factor set as decimals, fetching what is missing unless ``offline``.

        Returns
        -------
        pandas.DataFrame
            The set's columns (``Mkt-RF``, ``SMB``, ``HML``[, ``RMW``, ``CMA``],
            ``RF``[, ``MOM``]) divided by 100, on the dates every file of the set
            has (an inner join).
        """
        names = dataset_names(factor_set, frequency, region)
        if not offline:
            self.fetch(names)
        parts = [self.read(n) for n in names]
        table = parts[0]
        for extra in parts[1:]:
            table = table.join(extra, how="inner")
        return table / 100.0

    def sha256(self, factor_set: str, frequency: str, region: str = "us") -> str:
        """SHA-256 over the cached zips of a set (for a run's fingerprint)."""
        h = hashlib.sha256()
        for name in dataset_names(factor_set, frequency, region):
            target = self.path(name)
            h.update(name.encode())
            h.update(target.read_bytes() if target.is_file() else b"")
        return h.hexdigest()
