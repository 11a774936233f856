"""Trading volumes for the abnormal-volume measure (``[measures] names`` with
``volume``; issue #18 part 3).

A long prices file (CSV or Parquet) with a ``volume`` column, a long in-memory
frame with one, or the local Yahoo cache (which stores Yahoo's ``Volume``) give
the share volume of each ticker and date, laid out like the closes (same dates and
tickers, NaN where a ticker has none). Wide files carry no volume. FX rates and
indices have none in the bundled snapshot: their pairs are listed as excluded from
the volume measure (never dropped silently). Volumes are used as given: the
``[data] corporate_actions`` factors adjust prices only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from eventstudy.config import Study
from eventstudy.errors import EventStudyError, PriceDataError
from eventstudy.inputs.prices import prices_from_frame
from eventstudy.inputs.sources.cache import PriceCache, default_cache_dir


def volumes_from_frame(df: pd.DataFrame, closes: pd.DataFrame,
                       source: str = "<prices>") -> pd.DataFrame | None:
    """The ``volume`` column of a long table on the layout of its ``closes``;
    None for a wide table or a long one without ``volume``.

    Examples
    --------
    >>> raw = pd.DataFrame({"date": ["2024-01-04", "2024-01-05"], "ticker": "A",
    ...                     "close": [10.0, 11.0], "volume": [100.0, None]})
    >>> closes = prices_from_frame(raw)
    >>> volumes_from_frame(raw, closes)["A"].tolist()
    [100.0, nan]
    """
    cols = {str(c).strip().lower() for c in df.columns}
    if not {"ticker", "close", "volume"} <= cols:
        return None
    v = prices_from_frame(df, source=source, value="volume", allow_empty=True)
    return v.reindex(index=closes.index, columns=closes.columns).astype("float64")


def _read_long(path: Path) -> pd.DataFrame | None:
    """The ``date, ticker, close, volume`` columns of a prices file, or None when
    it has no ``volume`` column."""
    sp = str(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            raw = pd.read_parquet(path)
            if isinstance(raw.index, pd.DatetimeIndex):
                raw = raw.reset_index()
        else:
            head = pd.read_csv(path, nrows=0)
            if "volume" not in {str(c).strip().lower() for c in head.columns}:
                return None
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise PriceDataError(f"cannot read the volumes of the prices file "
                             f"({type(exc).__name__}); check that it is a CSV or "
                             "Parquet file", path=sp) from exc
    return raw


def study_volumes(st: Study, closes: pd.DataFrame,
                  prices: str | Path | pd.DataFrame | None = None,
                  cache_dir: str | Path | None = None) -> pd.DataFrame | None:
    """The share volumes a study's volume measure uses, on the layout of
    ``closes``; None when the source has none at all.

    Parameters
    ----------
    st
        The study (its ``[data]`` source and prices file).
    closes
        The price frame the study runs on.
    prices
        A prices file or frame overriding the study's source (as for
        ``eventstudy run --prices``).
    cache_dir
        The price cache folder (``yahoo`` source).
    """
    if isinstance(prices, pd.DataFrame):
        return volumes_from_frame(prices, closes)
    path = Path(prices) if prices is not None else (
        st.prices if st.source == "file" else None)
    if path is not None:
        raw = _read_long(Path(path))
        return None if raw is None else volumes_from_frame(raw, closes, str(path))
    cache = PriceCache(Path(cache_dir) if cache_dir is not None
                       else default_cache_dir())
    parts = []
    for t in closes.columns:
        try:
            parts.append(cache.load_panel([str(t)], None, None, "volume",
                                          offline=True))
        except EventStudyError:  # not cached: the pair is excluded with a reason
            continue
    if not parts:
        return None
    whole = pd.concat(parts, axis=1, sort=True)
    return whole.reindex(index=closes.index, columns=closes.columns).astype("float64")
