"""Event catalogs and universes: reading, validating, and the parsed event times.

Event catalog (CSV), one row per announcement:

=================  ===========================================================
``event_id``       unique id
``timestamp``      ISO 8601 with a UTC offset (``2025-07-22T19:12-04:00``), or a
                   plain date ``YYYY-MM-DD`` when the hour is unknown
``title``          short title (optional)
``groups``         ``;``-separated universe groups the event concerns, or
``ticker``         one security per event (large studies); one of the two is needed
``source``         seed document the event comes from (optional)
``evidence``       verbatim quote (<= 30 words) from that document (optional)
``confidence``     high / medium / low (optional)
``timestamp_source``  public source of the exact date and time (optional)
=================  ===========================================================

Universe (CSV): ``ticker, name, group, calendar, benchmark, currency`` and an optional
``model`` column overriding the study's model for that security (e.g. a currency with
``constant_mean``). ``calendar`` is a pandas-market-calendars name, or ``FX``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from eventstudy.errors import CatalogError, InputError

EVENT_COLUMNS = ("event_id", "timestamp", "title", "groups", "source", "evidence",
                 "confidence")
UNIVERSE_COLUMNS = ("ticker", "name", "group", "calendar", "benchmark", "currency")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HAS_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
# the vectorised fast path of parse_timestamps (ASCII digits, valid clock fields)
_FAST_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_FAST_TIMED = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
               r"(?::[0-5][0-9](?:\.[0-9]{1,9})?)?(?:Z|[+-](?:0[0-9]|1[0-4]):?[0-5][0-9])")
_FAST_YEARS = (1678, 2261)  # inside the int64-nanosecond range, with any offset
MAX_EVIDENCE_WORDS = 30


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{what} file not found; check the path in the study file",
                         path=str(path))
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot parse {what} CSV ({exc})", path=str(path)) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{what} file is empty", path=str(path)) from exc
    df.columns = [c.strip() for c in df.columns]
    return df


def parse_timestamps(values: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Parse catalog timestamps.

    Parameters
    ----------
    values
        Strings: ISO 8601 with a UTC offset, or ``YYYY-MM-DD``.

    Returns
    -------
    instants : numpy.ndarray
        int64 ns: UTC instants for timed values, tz-naive midnight for dates.
    date_only : numpy.ndarray
        bool, True for plain dates.
    problems : list of str
        One message per bad value, as ``(index, message)`` strings.

    Notes
    -----
    Vectorised: plain dates and ISO 8601 date-times with an offset (years 1678 to
    2261, inside the nanosecond range) are parsed column-wise; anything else (bad
    input, other layouts pandas also reads, dates outside that range) goes through
    :func:`_parse_one`, one value at a time, for the same result and message as
    before.

    Examples
    --------
    >>> inst, d, probs = parse_timestamps(pd.Series(["2025-07-22T19:12-04:00",
    ...                                              "2025-07-27"]))
    >>> str(pd.Timestamp(inst[0], tz="UTC")), bool(d[1]), probs
    ('2025-07-22 23:12:00+00:00', True, [])
    """
    n = len(values)
    inst = np.zeros(n, dtype=np.int64)
    date_only = np.zeros(n, dtype=bool)
    raw = values.astype(str).str.strip().reset_index(drop=True)
    done = np.zeros(n, dtype=bool)
    for pattern, timed in ((_FAST_DATE, False), (_FAST_TIMED, True)):
        m = raw.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool) & ~done
        if not m.any():
            continue
        sel = raw[m]
        year = sel.str.slice(0, 4).astype(np.int64).to_numpy()
        if timed:
            parsed = pd.to_datetime(sel, format="ISO8601", utc=True, errors="coerce")
        else:
            parsed = pd.to_datetime(sel, format="%Y-%m-%d", errors="coerce")
        idx = pd.DatetimeIndex(parsed)
        ok = (np.asarray(idx.notna(), dtype=bool) & (year >= _FAST_YEARS[0])
              & (year <= _FAST_YEARS[1]))
        rows = np.flatnonzero(m)[ok]
        inst[rows] = idx[ok].as_unit("ns").asi8
        date_only[rows] = not timed
        done[rows] = True
    problems: list[str] = []
    for i in np.flatnonzero(~done):
        v, d, msg = _parse_one(raw.iloc[i])
        inst[i] = v
        date_only[i] = d
        if msg:
            problems.append(f"{i}|{msg}")
    return inst, date_only, problems


def _parse_one(raw: str) -> tuple[int, bool, str]:
    """One stripped timestamp: (ns value, date only, problem message or "")."""
    if _DATE_ONLY.match(raw):
        try:
            return pd.Timestamp(raw).as_unit("ns").value, True, ""
        except ValueError:
            return 0, False, f"timestamp {raw!r} is not a valid date"
    try:
        ts = pd.Timestamp(raw)
    except (ValueError, TypeError):
        return 0, False, (
            f"timestamp {raw!r} does not parse; write ISO 8601 with a UTC "
            "offset (2025-07-22T19:12-04:00) or a plain date (2025-07-22)")
    if ts.tzinfo is None or not _HAS_OFFSET.search(raw):
        return 0, False, (
            f"timestamp {raw!r} gives a time but no time zone; add the UTC "
            "offset (e.g. -04:00) or give the date alone")
    return int(ts.tz_convert("UTC").as_unit("ns").value), False, ""


def load_events(path: str | Path) -> pd.DataFrame:
    """Read and validate an event catalog.

    Parameters
    ----------
    path
        Catalog CSV (see the module docstring for the columns).

    Returns
    -------
    pandas.DataFrame
        The catalog's columns (as strings) plus ``instant_ns`` (int64) and
        ``date_only`` (bool). ``groups`` stays a ``;``-separated string.

    Raises
    ------
    CatalogError
        Listing every bad row (unparsable timestamp, duplicate id, missing columns).
    """
    p = Path(path)
    df = _read_csv(p, "event catalog")
    return events_from_frame(df, source=str(p))


def events_from_frame(df: pd.DataFrame, source: str = "<events>") -> pd.DataFrame:
    """Validate an in-memory event table (same columns as the catalog CSV).

    ``timestamp`` may hold strings or pandas Timestamps (tz-aware = timed,
    tz-naive midnight = date only).
    """
    df = df.copy()
    missing = [c for c in ("event_id", "timestamp") if c not in df.columns]
    if missing:
        raise CatalogError(f"missing column(s) {', '.join(missing)}", path=source)
    if "groups" not in df.columns and "ticker" not in df.columns:
        raise CatalogError("needs a 'groups' column (universe groups) or a 'ticker' "
                           "column (one security per event)", path=source)
    if len(df) == 0:
        raise CatalogError("the catalog has no events", path=source)
    ts = df["timestamp"]
    all_text = ((isinstance(ts.dtype, pd.StringDtype) and not ts.isna().any())
                or bool(ts.map(type).isin([str]).all()))
    if not all_text:
        ts = ts.map(_stamp_to_text)
    df["timestamp"] = ts.astype(str)
    df["event_id"] = df["event_id"].astype(str).str.strip()
    inst, date_only, probs = parse_timestamps(df["timestamp"])
    problems = [f"line {int(i) + 2}: {msg}" for i, msg in
                (p.split("|", 1) for p in probs)]
    ids = df["event_id"]
    for i in np.flatnonzero(ids.duplicated(keep="first").to_numpy()):
        first = int(np.flatnonzero((ids == ids.iloc[i]).to_numpy())[0])
        problems.append(f"line {i + 2}: duplicate event_id {ids.iloc[i]!r} "
                        f"(first on line {first + 2}); ids must be unique")
    for i in np.flatnonzero((ids == "").to_numpy()):
        problems.append(f"line {i + 2}: empty event_id")
    if problems:
        raise CatalogError(f"{len(problems)} problem(s) in the event catalog",
                           path=source, problems=sorted(problems, key=_line_key))
    for c in EVENT_COLUMNS:
        if c not in df.columns:
            df[c] = ""
    df["instant_ns"] = inst
    df["date_only"] = date_only
    return df.reset_index(drop=True)


def _stamp_to_text(v: object) -> str:
    t = pd.Timestamp(v)  # type: ignore[arg-type]
    if t.tzinfo is None and t == t.normalize():
        return t.strftime("%Y-%m-%d")
    return t.isoformat()


def _line_key(msg: str) -> int:
    m = re.match(r"line (\d+)", msg)
    return int(m.group(1)) if m else 0


def load_universe(path: str | Path) -> pd.DataFrame:
    """Read and validate a universe CSV.

    Returns
    -------
    pandas.DataFrame
        Columns ``ticker, name, group, calendar, benchmark, currency, model`` and any
        extra columns, in file order.

    Raises
    ------
    CatalogError
        Missing columns, duplicate tickers, empty calendars or unknown model names.
    """
    p = Path(path)
    df = _read_csv(p, "universe")
    return universe_from_frame(df, source=str(p))


def universe_from_frame(df: pd.DataFrame, source: str = "<universe>") -> pd.DataFrame:
    """Validate an in-memory universe table (same columns as the universe CSV)."""
    from eventstudy.study import MODEL_NAMES

    df = df.copy().fillna("")
    missing = [c for c in ("ticker", "group", "calendar") if c not in df.columns]
    if missing:
        raise CatalogError(f"missing column(s) {', '.join(missing)}; a universe needs "
                           "ticker, group, calendar (and usually benchmark)",
                           path=source)
    for c in UNIVERSE_COLUMNS + ("model",):
        if c not in df.columns:
            df[c] = ""
        df[c] = df[c].astype(str).str.strip()
    problems = []
    for i in np.flatnonzero(df["ticker"].duplicated().to_numpy()):
        problems.append(f"line {i + 2}: duplicate ticker {df['ticker'].iloc[i]!r}")
    for i in np.flatnonzero((df["calendar"] == "").to_numpy()):
        problems.append(f"line {i + 2}: empty calendar for {df['ticker'].iloc[i]!r}; "
                        "use XTKS, XKRX, XNYS, FX, ...")
    for j, m in enumerate(df["model"]):
        if m and m not in MODEL_NAMES:
            problems.append(f"line {j + 2}: unknown model {m!r}; choose one of "
                            f"{', '.join(MODEL_NAMES)}")
    if problems:
        raise CatalogError(f"{len(problems)} problem(s) in the universe", path=source,
                           problems=problems)
    return df.reset_index(drop=True)


def split_groups(value: str) -> list[str]:
    """Split a ``;``-separated groups cell into clean names."""
    return [g.strip() for g in str(value).split(";") if g.strip()]


def validate_catalog(
    path: str | Path,
    seeds_dir: str | Path | None = None,
    universe_groups: Collection[str] | None = None,
) -> list[str]:
    """List every problem of a catalog, with line numbers.

    Checks: timestamps parse and carry a time zone when they give a time; ids are
    unique; each ``evidence`` quote occurs verbatim in its cited ``source`` document
    and has at most 30 words; each group is in the universe.

    Parameters
    ----------
    path
        Catalog CSV.
    seeds_dir
        Folder of the source documents; default ``seeds/`` beside the catalog's folder.
    universe_groups
        Known groups; None skips the group check.

    Returns
    -------
    list of str
        Problems, sorted by line; empty when the catalog is valid.
    """
    p = Path(path)
    df = _read_csv(p, "event catalog")
    problems: list[str] = []
    try:
        events_from_frame(df, source=str(p))
    except CatalogError as exc:
        problems.extend(exc.problems or [str(exc)])
    seeds = (Path(seeds_dir) if seeds_dir is not None
             else p.resolve().parent.parent / "seeds")
    texts: dict[str, str | None] = {}
    for i, row in df.iterrows():
        line = int(str(i)) + 2
        src = str(row.get("source", "")).strip()
        quote = str(row.get("evidence", ""))
        if src:
            if src not in texts:
                f = seeds / src
                texts[src] = f.read_text(encoding="utf-8") if f.is_file() else None
            text = texts[src]
            if text is None:
                problems.append(f"line {line}: source {src!r} not found in {seeds}")
            elif quote and quote not in text:
                problems.append(f"line {line}: evidence quote does not occur verbatim "
                                f"in {src}: {quote[:60]!r}")
        if quote and len(quote.split()) > MAX_EVIDENCE_WORDS:
            problems.append(f"line {line}: evidence has {len(quote.split())} words; "
                            f"quote at most {MAX_EVIDENCE_WORDS}")
        if universe_groups is not None and "groups" in df.columns:
            for g in split_groups(str(row["groups"])):
                if g not in universe_groups:
                    problems.append(f"line {line}: group {g!r} is not in the universe "
                                    f"(known: {', '.join(sorted(universe_groups))})")
    return sorted(problems, key=_line_key)
