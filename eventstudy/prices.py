"""Prices from files and frames, in one canonical wide layout.

Canonical price frame: a wide ``pandas.DataFrame`` whose index is a tz-naive,
normalised, sorted, unique ``DatetimeIndex`` named ``date``; columns are ``str``
tickers; values are float64 closes. Missing is NaN (never 0, never forward-filled).

Accepted inputs (CSV or Parquet, chosen by the file extension):

* **long**: columns ``date, ticker, close`` (other columns are ignored), one row per
  date and ticker, e.g. ``../shared/market-data/seed-prices.csv``;
* **wide**: a ``date`` column (or a date index in Parquet) plus one column per ticker.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from eventstudy.errors import PriceDataError

if TYPE_CHECKING:
    from eventstudy.cache import PriceProvider, ProgressCallback
    from eventstudy.study import Study


def load_prices(path: str | Path, tickers: list[str] | None = None) -> pd.DataFrame:
    """Read a prices file (CSV or Parquet, long or wide) into the canonical frame.

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

    Raises
    ------
    PriceDataError
        Missing or empty file, no date column, unparsable dates, non-numeric prices
        (naming the row and column), or duplicate (date, ticker) rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
    >>> _ = f.write_text("date,ticker,close\\n2024-01-04,A,10\\n2024-01-05,A,11\\n")
    >>> load_prices(f)["A"].tolist()
    [10.0, 11.0]
    """
    p = Path(path)
    sp = str(path)
    if not p.is_file():
        raise PriceDataError("prices file not found; check the path", path=sp)
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            raw = pd.read_parquet(p)
            if isinstance(raw.index, pd.DatetimeIndex):
                raw = raw.reset_index()
        else:
            raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise PriceDataError("the prices file is empty", path=sp) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise PriceDataError(f"cannot read the prices file ({exc})", path=sp) from exc
    return prices_from_frame(raw, source=sp, tickers=tickers)


def prices_from_frame(
    df: pd.DataFrame, source: str = "<prices>", tickers: list[str] | None = None
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

    Returns
    -------
    pandas.DataFrame
    """
    if isinstance(df.index, pd.DatetimeIndex) and "date" not in df.columns:
        df = df.reset_index(names="date")
    if len(df) == 0:
        raise PriceDataError("the prices table has no rows", path=source)
    cols = {str(c).strip().lower(): c for c in df.columns}
    if "date" not in cols:
        raise PriceDataError("no 'date' column; the first column must be named date",
                             path=source)
    date_col = cols["date"]
    long = "ticker" in cols and "close" in cols
    if long:
        tk = df[cols["ticker"]].astype(str).str.strip()
        if tickers is not None:
            keep = tk.isin(tickers).to_numpy()
            df, tk = df.loc[keep], tk[keep]
        dates = _parse_dates(df[date_col], source)
        values = _to_float(df[cols["close"]], source, "close", offset=df.index)
        tidy = pd.DataFrame({"date": dates, "ticker": tk.to_numpy(),
                             "close": values})
        dup = tidy.duplicated(["date", "ticker"], keep="first").to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise PriceDataError(
                f"duplicate row for ticker {tidy['ticker'].iloc[i]!r} on "
                f"{tidy['date'].iloc[i].date()}; keep one row per date and ticker",
                path=source, row=int(df.index[i]) + 1)
        wide = tidy.pivot(index="date", columns="ticker", values="close")
        order = list(dict.fromkeys(tidy["ticker"]))
        wide = wide[order]
    else:
        dates = _parse_dates(df[date_col], source)
        value_cols = [c for c in df.columns if c != date_col]
        if tickers is not None:
            value_cols = [c for c in value_cols if str(c) in tickers]
        if not value_cols:
            raise PriceDataError("no price columns besides 'date'", path=source)
        data = {str(c): _to_float(df[c], source, str(c), offset=df.index)
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
    if wide.shape[1] == 0 or wide.notna().sum().sum() == 0:
        raise PriceDataError("the prices table has no numeric prices", path=source)
    return wide


def _parse_dates(col: pd.Series, source: str) -> pd.DatetimeIndex:
    if pd.api.types.is_datetime64_any_dtype(col):
        idx = pd.DatetimeIndex(col)
        return idx.tz_localize(None) if idx.tz is not None else idx
    parsed = pd.to_datetime(col.astype(str).str.strip(), errors="coerce",
                            format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PriceDataError(f"date {str(col.iloc[i])!r} does not parse; use "
                             "YYYY-MM-DD", path=source, row=int(col.index[i]) + 1)
    idx = pd.DatetimeIndex(parsed)
    return idx.tz_localize(None) if idx.tz is not None else idx


def _to_float(col: pd.Series, source: str, name: str, offset: pd.Index) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=np.float64)
    s = col.astype(str).str.strip()
    blank = s.isin(["", "nan", "NaN", "NA", "null", "None", "."])
    num = pd.to_numeric(s.where(~blank, None), errors="coerce")
    bad = (num.isna() & ~blank).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PriceDataError(f"non-numeric value {s.iloc[i]!r} in column {name!r}; "
                             "prices must be numbers (leave the cell empty when "
                             "missing)", path=source, row=int(offset[i]) + 1)
    return num.to_numpy(dtype=np.float64)


def study_tickers(study: Study) -> list[str]:
    """Every ticker a study needs: universe securities, their benchmarks, and the
    tickers/benchmarks named by ticker-layout events, in first-appearance order."""
    from eventstudy.events import load_events, load_universe

    names: list[str] = []
    if study.universe is not None:
        u = load_universe(study.universe)
        names += list(u["ticker"]) + [b for b in u["benchmark"] if b]
    ev = load_events(study.events)
    for col in ("ticker", "benchmark"):
        if col in ev.columns:
            names += [str(t) for t in ev[col] if str(t)]
    return list(dict.fromkeys(names))


def study_date_range(study: Study, today: pd.Timestamp | None = None
                     ) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Calendar-date range of prices a study needs.

    From the earliest event minus the estimation window (sessions converted to
    calendar days generously: x 1.6 + 30 days for holidays) to the latest event plus
    the event window (x 1.6 + 10 days), capped at ``today``.
    """
    from eventstudy.events import load_events

    ev = load_events(study.events)
    inst = pd.to_datetime(ev["instant_ns"].to_numpy())
    w = study.windows
    before = pd.Timedelta(days=int(abs(min(w.estimation[0], 0)) * 1.6) + 30)
    after = pd.Timedelta(days=int(max(w.event[1], 0) * 1.6) + 10)
    start = (inst.min() - before).normalize()
    end = (inst.max() + after).normalize()
    today = (today or pd.Timestamp.now(tz="UTC").tz_localize(None)).normalize()
    return start, min(end, today)


def load_study_prices(
    study: Study,
    *,
    cache_dir: str | Path | None = None,
    offline: bool = False,
    provider: PriceProvider | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[pd.DataFrame, str]:
    """Prices for a study from the local cache, updating it from Yahoo first.

    Parameters
    ----------
    study
        The parsed study.
    cache_dir
        Cache folder; default :func:`eventstudy.cache.default_cache_dir`.
    offline
        Never touch the network; raise :class:`~eventstudy.errors.DataUnavailableError`
        naming the tickers and dates the cache lacks.
    provider
        Price provider; default :class:`eventstudy.yahoo.YahooProvider`.
    progress
        Per-ticker progress callback for the update.

    Returns
    -------
    (pandas.DataFrame, str)
        The canonical wide frame (``price_field`` of the study) and a description of
        the source for ``run.json``.
    """
    from eventstudy.cache import PriceCache, default_cache_dir

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache = PriceCache(root)
    tickers = study_tickers(study)
    start, end = study_date_range(study)
    field: Literal["adj_close", "close"] = (
        "adj_close" if study.price_field == "adjusted" else "close")
    if not offline:
        if provider is None:
            from eventstudy.yahoo import YahooProvider

            yp = YahooProvider()
            yp.set_cache_location(root)
            provider = yp
        cache.update(provider, tickers, start, end, progress)
    frame = cache.load_panel(tickers, start, end, field, offline=True)
    return frame, f"cache:{root} ({field})"
