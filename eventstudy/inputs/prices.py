"""Prices from files and frames, in one canonical wide layout.

Canonical price frame: a wide ``pandas.DataFrame`` whose index is a tz-naive,
normalised, sorted, unique ``DatetimeIndex`` named ``date``; columns are ``str``
tickers; values are float64 closes. Missing is NaN (never 0, never forward-filled).

Accepted inputs (CSV or Parquet, chosen by the file extension):

* **long**: columns ``date, ticker, close`` (other columns are ignored), one row per
  date and ticker, e.g. ``../shared/market-data/seed-prices.csv``; an optional
  ``open`` column gives the open prices (:func:`load_price_table`,
  :func:`opens_from_frame`), which travel as a second frame of the same layout and
  are never mixed into the closes;
* **wide**: a ``date`` column (or a date index in Parquet) plus one column per ticker.

Dates are calendar days: a date-time keeps its own local date (its UTC offset, which
may differ from row to row, e.g. across a daylight-saving change, is dropped), and
every date must lie in the supported range 1900-01-01..2200-12-31
(:data:`eventstudy.inputs.calendar.FIRST_DATE`,
:data:`~eventstudy.inputs.calendar.LAST_DATE`).

Non-finite prices (``inf``, ``-inf``) are kept in the frame as read, so that
:func:`eventstudy.inputs.quality.check_prices` reports them (check ``non_finite``, with
the ticker and dates, in ``run.json``'s ``data_quality``); returns treat them as
missing (:func:`eventstudy.inputs.returns.on_sessions` masks them).
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from eventstudy.errors import InputError, PriceDataError
from eventstudy.inputs.calendar import FIRST_DATE, LAST_DATE
from eventstudy.inputs.events import read_text_table, repeated


def load_prices(path: str | Path, tickers: list[str] | None = None) -> pd.DataFrame:
    """Read a prices file's closes (:func:`load_price_table` also gives the opens)
    into the canonical frame.

    Parameters
    ----------
    path
        ``.csv`` (optionally ``.csv.gz``) or ``.parquet`` file.
    tickers
        Keep only these columns (those present); None keeps all.

    Returns
    -------
    pandas.DataFrame
        The canonical wide price frame.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
    >>> _ = f.write_text("date,ticker,close\\n2024-01-04,A,10\\n2024-01-05,A,11\\n")
    >>> load_prices(f)["A"].tolist()
    [10.0, 11.0]
    """
    return load_price_table(path, tickers)[0]


def load_price_table(path: str | Path, tickers: list[str] | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Read a prices file (CSV or Parquet, long or wide) into the canonical frame.

    Parameters
    ----------
    path
        ``.csv`` (optionally ``.csv.gz``) or ``.parquet`` file.
    tickers
        Keep only these columns (those present); None keeps all.

    Returns
    -------
    closes : pandas.DataFrame
        The canonical wide price frame.
    opens : pandas.DataFrame or None
        The ``open`` column of a long file, in the same layout as ``closes`` (same
        dates and tickers; NaN where a row has no open); None when the file has no
        ``open`` column (every wide file).

    Raises
    ------
    PriceDataError
        Missing or empty file, no date column, unparsable dates, non-numeric prices
        (naming the row and column), or duplicate (date, ticker) rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
    >>> _ = f.write_text("date,ticker,close,open\\n2024-01-04,A,10,9.5\\n"
    ...                  "2024-01-05,A,11,\\n")
    >>> closes, opens = load_price_table(f)
    >>> opens["A"].tolist()
    [9.5, nan]
    """
    if not isinstance(path, (str, Path)):
        raise PriceDataError(f"the prices file must be a path, got "
                             f"{type(path).__name__}")
    p = Path(path)
    sp = str(path)
    if not p.is_file():
        raise PriceDataError("prices file not found; check the path", path=sp)
    parquet = p.suffix.lower() in (".parquet", ".pq")
    if parquet:
        wide = _read_wide_parquet(p, tickers)
        if wide is not None:  # a wide file has no opens
            return wide, None
    try:
        if parquet:
            raw = pd.read_parquet(p)
            if isinstance(raw.index, pd.DatetimeIndex):
                raw = raw.reset_index()
        else:
            raw = read_text_table(p)
            _check_csv_header(p, sp)
    except PriceDataError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise PriceDataError("the prices file is empty; it needs a header line "
                             "(date,ticker,close or date,<tickers>) and rows",
                             path=sp) from exc
    except UnicodeDecodeError as exc:
        raise PriceDataError(f"the prices file is not UTF-8 text ({exc.reason} at "
                             f"byte {exc.start}); save it as a UTF-8 CSV or as "
                             "Parquet", path=sp) from exc
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        # pandas and pyarrow raise many types for a corrupt file (ParserError,
        # ArrowInvalid, OSError, EOFError for a cut .gz...): all mean "unreadable"
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise PriceDataError(f"cannot read the prices file ({type(exc).__name__}"
                             f"{': ' + detail[:200] if detail else ''}); check that "
                             "it is a CSV or Parquet file", path=sp) from exc
    closes = prices_from_frame(raw, source=sp, tickers=tickers)
    return closes, opens_from_frame(raw, closes, source=sp, tickers=tickers)


def _read_wide_parquet(p: Path, tickers: list[str] | None) -> pd.DataFrame | None:
    """The canonical frame of a plain wide Parquet file, read by pyarrow into one
    float64 block (no pandas frame of the file first); None for any other file.

    Plain: a ``date`` timestamp column without nulls (a stored pandas index named
    ``date``, or a column), every other column float64 with a distinct name that
    is its own stripped text (and not ``date``, nor the long layout's ``ticker``
    with ``close``), at least one row and one number, dates strictly increasing
    once normalised and inside the supported range. Such a file gives exactly the
    frame :func:`prices_from_frame` makes of ``pd.read_parquet``; every other file
    (and any file pyarrow or this check refuses) goes through that path, which
    raises what it raised before.
    """
    import pyarrow as pa  # lazy: only Parquet files need them
    import pyarrow.parquet as pq  # lazy: as pyarrow

    if tickers is not None and (isinstance(tickers, (str, bytes)) or not all(
            isinstance(t, str) for t in tickers)):
        return None  # prices_from_frame's InputError
    try:
        source = pq.ParquetFile(p, memory_map=True)
        schema = source.schema_arrow
        meta = schema.pandas_metadata
        fields = list(schema.names)
        if len(set(fields)) != len(fields) or "date" not in fields:
            return None
        if meta is not None:
            index = meta.get("index_columns", [])
            stored = [i for i in index if isinstance(i, str)]
            if stored not in ([], ["date"]) or len(meta.get("column_indexes", [])) > 1:
                return None
            for col in meta.get("columns", []):
                if col.get("field_name") == "date":
                    continue
                if (col.get("name") != col.get("field_name")
                        or col.get("numpy_type") != "float64"
                        or col.get("pandas_type") != "float64"):
                    return None
        values = [n for n in fields if n != "date"]
        lower = {n.lower() for n in values}
        f64 = pa.float64()
        if (not pa.types.is_timestamp(schema.field("date").type)
                or any(n != n.strip() or not n for n in values)
                or "date" in lower or {"ticker", "close"} <= lower
                or any(t != f64 for n, t in zip(fields, schema.types, strict=True)
                       if n != "date")):
            return None
        if tickers is not None:
            wanted = set(tickers)
            values = [n for n in values if n in wanted]
        if not values:
            return None
        if 2 * len(values) >= len(fields):
            # most columns: read them all (resolving 2,000 names to columns costs
            # pyarrow 0.03 s of Python) and take the wanted ones by position
            table = source.read(use_pandas_metadata=False)
            at = {n: i for i, n in enumerate(table.schema.names)}
            table = table.select([at["date"], *(at[n] for n in values)])
        else:
            table = source.read(columns=["date", *values], use_pandas_metadata=False)
        stamps = table.column(0)
        if table.num_rows == 0 or stamps.null_count:
            return None
        dates = _parse_dates(pd.Series(stamps.to_pandas()), str(p))
        dates = pd.DatetimeIndex(dates).normalize()
        if not (dates.is_monotonic_increasing and dates.is_unique):
            return None
        block = np.empty((len(values), table.num_rows), dtype=np.float64)
        for j in range(len(values)):  # one contiguous row per ticker
            block[j] = table.column(j + 1).to_numpy()
    except Exception:  # noqa: BLE001 - any refusal: the general path decides
        return None
    if np.isnan(block[0]).all() and np.isnan(block).all():
        return None  # no number: prices_from_frame's error
    wide = pd.DataFrame(block.T, index=dates, columns=list(values), copy=False)
    wide.index.name = "date"
    return wide


def opens_from_frame(df: pd.DataFrame, closes: pd.DataFrame, source: str = "<prices>",
                     tickers: list[str] | None = None) -> pd.DataFrame | None:
    """The ``open`` column of a long table, on the layout of its ``closes``.

    Parameters
    ----------
    df
        The table :func:`prices_from_frame` read ``closes`` from.
    closes
        Its canonical close frame.
    source, tickers
        As for :func:`prices_from_frame`.

    Returns
    -------
    pandas.DataFrame or None
        Opens with the dates and tickers of ``closes`` (NaN where missing); None
        for a wide table or a long one without an ``open`` column.
    """
    if not isinstance(df, pd.DataFrame):
        return None
    cols = {str(c).strip().lower() for c in df.columns}
    if not {"ticker", "close", "open"} <= cols:
        return None
    opens = prices_from_frame(df, source=source, tickers=tickers, value="open",
                              allow_empty=True)
    return opens.reindex(index=closes.index, columns=closes.columns)


def _check_csv_header(p: Path, source: str) -> None:
    """Refuse repeated column names (pandas would rename them ``A.1``)."""
    opener = gzip.open if p.suffix.lower() == ".gz" else open
    with opener(p, "rt", encoding="utf-8-sig", newline="") as f:
        header = [h.strip() for h in next(csv.reader(f), [])]
    dup = repeated(header)
    if dup:
        raise PriceDataError(f"duplicate column(s) {', '.join(map(repr, dup))} in "
                             "the header line; name each column once", path=source)


def prices_from_frame(
    df: pd.DataFrame, source: str = "<prices>", tickers: list[str] | None = None,
    value: str = "close", allow_empty: bool = False,
) -> pd.DataFrame:
    """Turn a long or wide in-memory table into the canonical wide frame.

    Parameters
    ----------
    df
        Long (``date, ticker, close``) or wide (``date`` column or DatetimeIndex plus
        ticker columns).
    source
        Name used in error messages.
    tickers
        Keep only these tickers (those present).
    value
        The long layout's value column: ``close`` (the prices) or ``open``.
    allow_empty
        Accept a table without one number (an ``open`` column left blank).

    Returns
    -------
    pandas.DataFrame
    """
    if not isinstance(df, pd.DataFrame):
        raise PriceDataError(f"prices must be a pandas DataFrame, got "
                             f"{type(df).__name__}", path=source)
    if isinstance(df.columns, pd.MultiIndex):
        raise PriceDataError("the prices table has MultiIndex columns (as "
                             "yfinance.download gives); flatten them to one column "
                             "per ticker, e.g. df['Close']", path=source)
    if tickers is not None and (isinstance(tickers, (str, bytes)) or not all(
            isinstance(t, str) for t in tickers)):
        raise InputError(f"tickers must be a list of ticker names, got {tickers!r}",
                         path=source)
    if tickers is None and _canonical(df):
        # already the canonical frame (e.g. a loader's output): checked, not rebuilt
        if not allow_empty and not df.notna().to_numpy().any():
            raise PriceDataError("the prices table has no numeric prices", path=source)
        out = df.copy(deep=False)  # copy-on-write: the caller's frame stays theirs
        out.index = out.index.rename("date")
        out.columns = [str(c) for c in out.columns]  # as below (str dtype, no name)
        return out
    if isinstance(df.index, pd.DatetimeIndex) and "date" not in (
            str(c).strip().lower() for c in df.columns):
        df = df.reset_index(names="date")
    else:
        df = df.reset_index(drop=True)
    if len(df) == 0:
        raise PriceDataError("the prices table has no rows", path=source)
    names = [str(c).strip() for c in df.columns]
    dup = repeated(names)
    if dup:
        raise PriceDataError(f"duplicate column(s) {', '.join(map(repr, dup))}; "
                             "name each column once", path=source)
    cols = {str(c).strip().lower(): c for c in df.columns}
    if "date" not in cols:
        raise PriceDataError("no 'date' column; the first column must be named date",
                             path=source)
    date_col = cols["date"]
    long = "ticker" in cols and "close" in cols
    if long:
        tk = _text(df[cols["ticker"]])
        empty = (tk == "").to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise PriceDataError("empty ticker; every row needs its ticker",
                                 path=source, row=i + 1)
        if tickers is not None:
            keep = tk.isin(tickers).to_numpy()
            df, tk = df.loc[keep], tk[keep]
        dates = _parse_dates(df[date_col], source)
        values = _to_float(df[cols[value]], source, value, offset=df.index)
        tidy = pd.DataFrame({"date": dates, "ticker": tk.to_numpy(),
                             value: values})
        dup_rows = tidy.duplicated(["date", "ticker"], keep="first").to_numpy()
        if dup_rows.any():
            i = int(np.flatnonzero(dup_rows)[0])
            raise PriceDataError(
                f"duplicate row for ticker {tidy['ticker'].iloc[i]!r} on "
                f"{tidy['date'].iloc[i].date()}; keep one row per date and ticker",
                path=source, row=int(df.index[i]) + 1)
        wide = tidy.pivot(index="date", columns="ticker", values=value)
        order = list(dict.fromkeys(tidy["ticker"]))
        wide = wide[order]
    else:
        dates = _parse_dates(df[date_col], source)
        value_cols = [c for c in df.columns if c != date_col]
        if tickers is not None:
            value_cols = [c for c in value_cols if str(c).strip() in tickers]
        if not value_cols:
            raise PriceDataError("no price columns besides 'date'; give date,ticker,"
                                 "close rows or one column per ticker", path=source)
        floats = df[value_cols].dtypes.tolist()
        if all(dt == np.float64 for dt in floats):  # one block, no per-column pass
            wide = pd.DataFrame(df[value_cols].to_numpy(dtype=np.float64),
                                index=pd.DatetimeIndex(dates),
                                columns=[str(c).strip() for c in value_cols])
        else:
            data = {str(c).strip(): _to_float(df[c], source, str(c),
                                              offset=df.index)
                    for c in value_cols}
            wide = pd.DataFrame(data, index=pd.DatetimeIndex(dates))
        if wide.index.duplicated().any():
            i = int(np.flatnonzero(wide.index.duplicated())[0])
            raise PriceDataError(f"duplicate date {wide.index[i].date()}; keep one row "
                                 "per date", path=source, row=i + 1)
    wide.index = pd.DatetimeIndex(wide.index).normalize()
    wide.index.name = "date"
    wide.columns = [str(c) for c in wide.columns]
    wide.columns.name = None
    wide = wide.sort_index().astype(np.float64)
    if not allow_empty and (wide.shape[1] == 0 or wide.notna().sum().sum() == 0):
        raise PriceDataError("the prices table has no numeric prices", path=source)
    return wide


def _canonical(df: pd.DataFrame) -> bool:
    """Whether ``df`` is already what :func:`prices_from_frame` returns: a tz-naive,
    normalised, unique and increasing nanosecond DatetimeIndex inside the supported
    date range, at least one column, unique stripped string column names (none of
    them ``date``), float64 columns."""
    idx = df.index
    if not isinstance(idx, pd.DatetimeIndex) or idx.tz is not None or len(idx) == 0:
        return False
    if isinstance(df.columns, pd.MultiIndex) or not df.columns.is_unique:
        return False
    names = df.columns.tolist()
    if not all(isinstance(c, str) and c == c.strip() and c.lower() != "date"
               for c in names):
        return False
    if not all(dt == np.float64 for dt in df.dtypes.tolist()):
        return False
    if idx.unit != "ns" or df.shape[1] == 0:
        return False
    if idx.hasnans or not idx.is_monotonic_increasing or not idx.is_unique:
        return False
    if idx[0] < FIRST_DATE or idx[-1] >= LAST_DATE + pd.Timedelta(days=1):
        return False
    return bool((idx == idx.normalize()).all())


def _text(col: pd.Series) -> pd.Series:
    """A column as stripped text, missing values as ""."""
    missing = col.isna().to_numpy()
    out = col.astype(str).str.strip()
    return out.where(~missing, "") if missing.any() else out


_TIMED = r"^\d{4}-\d{2}-\d{2}[T ]\d"


def _one_date(value: str) -> pd.Timestamp | None:
    """One date cell (the per-value fallback), or None when it does not parse."""
    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return None
    if pd.isna(t):
        return None
    return t.tz_localize(None) if t.tzinfo is not None else t


def _parse_dates(col: pd.Series, source: str) -> pd.DatetimeIndex:
    """Calendar dates of a date column (tz-naive, ns), or a PriceDataError naming
    the first bad row (1-based, header excluded; the frame has a RangeIndex)."""
    raw = col
    if pd.api.types.is_datetime64_any_dtype(col):
        idx = pd.DatetimeIndex(col)
        if idx.tz is not None:
            idx = idx.tz_localize(None)
    else:
        raw = _text(col)
        # each distinct value once (a long file repeats every date per ticker)
        codes, uniq = pd.factorize(raw)
        text = pd.Series(uniq, dtype=object)
        # a date-time keeps its local date: "2024-01-02T00:00+09:00" is 2024-01-02,
        # whatever the offsets of the other rows
        timed = text.str.match(_TIMED).fillna(False).to_numpy(dtype=bool)
        if timed.any():
            text = text.where(~timed, text.str.slice(0, 10))
        try:
            parsed = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce",
                                                     format="mixed"))
            if parsed.tz is not None:
                parsed = parsed.tz_localize(None)
        except (ValueError, TypeError, OverflowError):
            # mixed time zones in other layouts, years beyond pandas' range...
            one = [_one_date(v) for v in text]
            parsed = pd.DatetimeIndex([pd.NaT if t is None
                                       else t.normalize().as_unit("s") for t in one])
        idx = parsed.take(codes)
    bad = np.asarray(idx.isna(), dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PriceDataError(f"date {str(raw.iloc[i])!r} does not parse; use "
                             "YYYY-MM-DD", path=source, row=int(col.index[i]) + 1)
    outside = np.asarray((idx < FIRST_DATE)
                         | (idx >= LAST_DATE + pd.Timedelta(days=1)), dtype=bool)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise PriceDataError(
            f"date {str(raw.iloc[i])!r} is outside the supported range "
            f"{FIRST_DATE.date()}..{LAST_DATE.date()}; check the year",
            path=source, row=int(col.index[i]) + 1)
    return idx.as_unit("ns")


def _to_float(col: pd.Series, source: str, name: str, offset: pd.Index) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_complex_dtype(col):
        raise PriceDataError(f"column {name!r} holds {col.dtype} values; prices must "
                             "be real numbers", path=source)
    if pd.api.types.is_numeric_dtype(col):
        try:
            out: np.ndarray = col.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise PriceDataError(f"column {name!r} cannot be read as numbers ({exc})",
                                 path=source) from exc
        return out
    s = _text(col)
    blank = s.isin(["", "nan", "NaN", "NA", "null", "None", "."])
    num = pd.to_numeric(s.where(~blank, None), errors="coerce")
    bad = (num.isna() & ~blank).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PriceDataError(f"non-numeric value {s.iloc[i]!r} in column {name!r}; "
                             "prices must be numbers (leave the cell empty when "
                             "missing)", path=source, row=int(offset[i]) + 1)
    return num.to_numpy(dtype=np.float64)
