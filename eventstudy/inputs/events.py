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

Universe (CSV): ``ticker, name, group, calendar, benchmark, currency`` and optional
columns:

=================  ===========================================================
``model``          overrides the study's model for that security (e.g. a currency
                   with ``constant_mean``)
``asof``           when the series' daily value is taken: ``close`` (the calendar's
                   close, early closes included), ``HH:MM Area/City`` (the value
                   labelled D is taken at that local time on D, e.g.
                   ``12:00 America/New_York`` for a noon fixing) or
                   ``HH:MM Area/City -1`` (on the day before D). Empty: ``close``,
                   except Yahoo's ``=X`` tickers on an FX calendar, which get
                   ``00:00 Europe/London`` (see :mod:`eventstudy.inputs.calendar`)
``quote``          free text saying what the series quotes and what a positive
                   return means (e.g. ``USD/JPY: a positive return means the dollar
                   rose and the yen weakened``)
=================  ===========================================================

``calendar`` is a pandas-market-calendars name, ``FX`` (``FX@16:00 Europe/London``
for another daily cut) or ``24/7``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from eventstudy.errors import CatalogError, InputError
from eventstudy.inputs.calendar import (
    FIRST_DATE,
    FX_CALENDAR,
    LAST_DATE,
    SESSION_TABLE_CALENDARS,
    SEVEN_DAY_CALENDAR,
    is_calendar_name,
    resolve_asof,
)

EVENT_COLUMNS = ("event_id", "timestamp", "title", "groups", "source", "evidence",
                 "confidence")
UNIVERSE_COLUMNS = ("ticker", "name", "group", "calendar", "benchmark", "currency")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HAS_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
# the vectorised fast path of parse_timestamps (ASCII digits, valid clock fields)
_FAST_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_FAST_TIMED = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
               r"(?::[0-5][0-9](?:\.[0-9]{1,9})?)?(?:Z|[+-](?:0[0-9]|1[0-4]):?[0-5][0-9])")
# the supported years (calendar.FIRST_DATE..LAST_DATE); others go one by one
_FAST_YEARS = (FIRST_DATE.year, LAST_DATE.year)
MAX_EVIDENCE_WORDS = 30


def repeated(names: list[str]) -> list[str]:
    """The names that occur more than once, sorted (one pass; a header of
    thousands of columns costs no more than its length).

    Examples
    --------
    >>> repeated(["b", "a", "b", "c", "a"])
    ['a', 'b']
    """
    seen: set[str] = set()
    dup: set[str] = set()
    for name in names:
        if name in seen:
            dup.add(name)
        seen.add(name)
    return sorted(dup)


def read_text_table(path: Path) -> pd.DataFrame:
    """A CSV file as text columns: ``pd.read_csv(path, dtype=str,
    keep_default_na=False)``, the same frame (names, ``str`` dtype, values, order)
    and the same errors.

    A plain file (UTF-8, no quote character, no NUL, no lone carriage return, a
    header of distinct non-blank names and every line of the header's width) is
    parsed by pyarrow's multithreaded reader, which gives the same frame; any other
    file, or any file pyarrow refuses, is read by pandas, which raises what it
    raised before.
    """
    fast = _read_plain_csv(path)
    if fast is not None:
        return fast
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# the extensions pandas.read_csv decompresses by default
_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst", ".tar", ".tgz", ".tbz",
               ".tbz2", ".txz")


def _read_plain_csv(path: Path) -> pd.DataFrame | None:
    """:func:`read_text_table`'s fast path, or None when the file is not plain."""
    import pyarrow as pa  # lazy: only the fast path needs them
    import pyarrow.csv as pacsv  # lazy: as pyarrow

    if Path(path).name.lower().endswith(_COMPRESSED):
        return None  # pandas decompresses these by their extension
    data = Path(path).read_bytes()
    if (not data or b'"' in data or b"\x00" in data
            or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n"))):
        return None
    end = data.find(b"\n")
    head = data if end < 0 else data[:end]
    try:
        line = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    names = line.removeprefix("\ufeff").removesuffix("\r").split(",")
    if any(not n.strip() for n in names) or len(set(names)) != len(names):
        return None
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowException, ValueError):
        return None
    frame: pd.DataFrame = table.to_pandas()
    return frame


def _read_csv(path: object, what: str) -> pd.DataFrame:
    if not isinstance(path, (str, Path)):
        raise InputError(f"the {what} must be a path to a CSV file, got "
                         f"{type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} file not found; check the path in the study file",
                         path=str(path))
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), [])
        df = read_text_table(path)
    except UnicodeDecodeError as exc:
        raise InputError(f"the {what} is not UTF-8 text ({exc.reason} at byte "
                         f"{exc.start}); save it as a UTF-8 CSV",
                         path=str(path)) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{what} file is empty; it needs a header line and one "
                         "row per entry", path=str(path)) from exc
    except (pd.errors.ParserError, csv.Error, ValueError, OSError) as exc:
        raise InputError(f"cannot parse {what} CSV ({str(exc).strip()}); check the "
                         "commas and quotes", path=str(path)) from exc
    names = [h.strip() for h in header]
    dup = repeated(names)
    if dup:
        raise InputError(f"duplicate column(s) {', '.join(map(repr, dup))} in the "
                         "header line; name each column once", path=str(path))
    df.columns = [c.strip() for c in df.columns]
    return df


def _require_frame(df: object, source: str, what: str) -> pd.DataFrame:
    """Check that ``df`` is a DataFrame with unique, flat, text column names."""
    if not isinstance(df, pd.DataFrame):
        raise CatalogError(f"the {what} must be a pandas DataFrame, got "
                           f"{type(df).__name__}", path=source)
    if isinstance(df.columns, pd.MultiIndex):
        raise CatalogError(f"the {what} has MultiIndex columns; flatten them to one "
                           "name per column", path=source)
    names = [str(c).strip() for c in df.columns]
    dup = repeated(names)
    if dup:
        raise CatalogError(f"duplicate column(s) {', '.join(map(repr, dup))} in the "
                           f"{what}; name each column once", path=source)
    return df.set_axis(names, axis=1)


def _text_column(col: pd.Series) -> pd.Series:
    """A column as stripped text, missing values (NaN, None, NaT) as ""."""
    missing = col.isna().to_numpy()
    out = col.astype(str).str.strip()
    if missing.any():
        out = out.where(~missing, "")
    return out


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
    Vectorised: plain dates and ISO 8601 date-times with an offset (years 1900 to
    2200, the supported range :data:`eventstudy.inputs.calendar.FIRST_DATE` ..
    :data:`~eventstudy.inputs.calendar.LAST_DATE`) are parsed column-wise; anything else
    (bad input, other layouts pandas also reads, dates outside that range) goes
    through :func:`_parse_one`, one value at a time, for the same result and
    message. A date outside the supported range is a problem naming the value.
    Each distinct value is parsed once (a large catalog repeats its dates).

    Examples
    --------
    >>> inst, d, probs = parse_timestamps(pd.Series(["2025-07-22T19:12-04:00",
    ...                                              "2025-07-27"]))
    >>> str(pd.Timestamp(inst[0], tz="UTC")), bool(d[1]), probs
    ('2025-07-22 23:12:00+00:00', True, [])
    """
    raw = values.astype(str).str.strip().reset_index(drop=True)
    # each distinct text once (a large catalog repeats its dates): the parse of a
    # value depends on the value alone
    codes, uniq = pd.factorize(raw, use_na_sentinel=False)
    text = pd.Series(uniq, dtype=raw.dtype)
    n = len(text)
    inst = np.zeros(n, dtype=np.int64)
    date_only = np.zeros(n, dtype=bool)
    done = np.zeros(n, dtype=bool)
    for pattern, timed in ((_FAST_DATE, False), (_FAST_TIMED, True)):
        m = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool) & ~done
        if not m.any():
            continue
        sel = text[m]
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
    message: dict[int, str] = {}
    for k in np.flatnonzero(~done).tolist():
        inst[k], date_only[k], msg = _parse_one(text.iloc[k])
        if msg:
            message[k] = msg
    bad = np.zeros(n, dtype=bool)
    bad[list(message)] = True
    problems = [f"{i}|{message[codes[i]]}" for i in np.flatnonzero(bad[codes]).tolist()]
    return inst[codes], date_only[codes], problems


def _parse_one(raw: str) -> tuple[int, bool, str]:
    """One stripped timestamp: (ns value, date only, problem message or "")."""
    if raw == "":
        return 0, False, ("empty timestamp; write ISO 8601 with a UTC offset "
                          "(2025-07-22T19:12-04:00) or a plain date (2025-07-22)")
    out_of_range = (f"timestamp {raw!r} is outside the supported range "
                    f"{FIRST_DATE.date()}..{LAST_DATE.date()}; check the year")
    if _DATE_ONLY.match(raw):
        try:
            day = pd.Timestamp(raw)
        except (ValueError, OverflowError):
            return 0, False, f"timestamp {raw!r} is not a valid date"
        if not FIRST_DATE <= day <= LAST_DATE:
            return 0, False, out_of_range
        return day.as_unit("ns").value, True, ""
    try:
        ts = pd.Timestamp(raw)
        unparsable = bool(pd.isna(ts))
    except (ValueError, TypeError, OverflowError):
        unparsable = True
    if unparsable:
        return 0, False, (
            f"timestamp {raw!r} does not parse; write ISO 8601 with a UTC "
            "offset (2025-07-22T19:12-04:00) or a plain date (2025-07-22)")
    if ts.tzinfo is None or not _HAS_OFFSET.search(raw):
        return 0, False, (
            f"timestamp {raw!r} gives a time but no time zone; add the UTC "
            "offset (e.g. -04:00) or give the date alone")
    local_day = pd.Timestamp(ts.date())
    if not FIRST_DATE <= local_day <= LAST_DATE:
        return 0, False, out_of_range
    try:
        return int(ts.tz_convert("UTC").as_unit("ns").value), False, ""
    except (ValueError, OverflowError):
        return 0, False, out_of_range


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
    df = _read_csv(path, "event catalog")
    return events_from_frame(df, source=str(path))


def events_from_frame(df: pd.DataFrame, source: str = "<events>") -> pd.DataFrame:
    """Validate an in-memory event table (same columns as the catalog CSV).

    ``timestamp`` may hold strings or pandas Timestamps (tz-aware = timed,
    tz-naive midnight = date only). Missing values (NaN, None) in the text columns
    are empty strings; a missing ``event_id`` or ``timestamp`` is a problem.

    Raises
    ------
    CatalogError
        Not a DataFrame, MultiIndex or duplicate columns, missing columns, no rows,
        or bad rows (each listed with its line: the header is line 1).
    """
    df = _require_frame(df, source, "event table").copy()
    missing = [c for c in ("event_id", "timestamp") if c not in df.columns]
    if missing:
        raise CatalogError(f"missing column(s) {', '.join(missing)}", path=source)
    if "groups" not in df.columns and "ticker" not in df.columns:
        raise CatalogError("needs a 'groups' column (universe groups) or a 'ticker' "
                           "column (one security per event)", path=source)
    if len(df) == 0:
        raise CatalogError("the catalog has no events", path=source)
    df = df.reset_index(drop=True)
    ts = df["timestamp"]
    all_text = ((isinstance(ts.dtype, pd.StringDtype) and not ts.isna().any())
                or bool(ts.map(type).isin([str]).all()))
    if not all_text:
        ts = ts.map(_stamp_to_text)
    df["timestamp"] = ts.astype(str)
    for c in ("event_id", "groups", "ticker"):
        if c in df.columns:
            df[c] = _text_column(df[c])
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
    return df


def _stamp_to_text(v: object) -> str:
    """A timestamp cell that is not a string, as catalog text ("" when missing)."""

    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return ""
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date, np.datetime64)):
        try:
            t = pd.Timestamp(v)
        except (ValueError, OverflowError):
            return str(v)
        if pd.isna(t):
            return ""
        if t.tzinfo is None and t == t.normalize():
            return t.strftime("%Y-%m-%d")
        return t.isoformat()
    return str(v)


def _line_key(msg: str) -> int:
    m = re.match(r"line (\d+)", msg)
    return int(m.group(1)) if m else 0


# the same readers and checks serve the other input CSVs (confounders, ...)
read_input_csv = _read_csv
require_frame = _require_frame
text_column = _text_column
line_key = _line_key


def load_universe(path: str | Path, models: Collection[str] | None = None
                  ) -> pd.DataFrame:
    """Read and validate a universe CSV.

    Parameters
    ----------
    path
        The CSV file.
    models
        The registered normal-return model names (the keys of
        :data:`eventstudy.estimation.models.MODELS`, passed in by the layers above,
        which know the registry); a ``model`` cell naming another is a problem.
        None does not check the names.

    Returns
    -------
    pandas.DataFrame
        Columns ``ticker, name, group, calendar, benchmark, currency, model, asof,
        quote`` and any extra columns, in file order.

    Raises
    ------
    CatalogError
        Missing columns, duplicate tickers, empty calendars or unknown model names.
    """
    df = _read_csv(path, "universe")
    return universe_from_frame(df, source=str(path), models=models)


def universe_from_frame(df: pd.DataFrame, source: str = "<universe>",
                        models: Collection[str] | None = None) -> pd.DataFrame:
    """Validate an in-memory universe table (same columns as the universe CSV).

    ``models`` are the registered model names, as in :func:`load_universe`.

    Raises
    ------
    CatalogError
        Not a DataFrame, MultiIndex or duplicate columns, missing columns, no rows,
        or bad rows (empty or duplicate tickers, empty calendars, unknown models),
        each listed with its line (the header is line 1).
    """

    df = _require_frame(df, source, "universe").copy()
    missing = [c for c in ("ticker", "group", "calendar") if c not in df.columns]
    if missing:
        raise CatalogError(f"missing column(s) {', '.join(missing)}; a universe needs "
                           "ticker, group, calendar (and usually benchmark)",
                           path=source)
    if len(df) == 0:
        raise CatalogError("the universe has no securities; add one row per "
                           "security (ticker, group, calendar, benchmark)",
                           path=source)
    df = df.reset_index(drop=True)
    for c in UNIVERSE_COLUMNS + ("model", "asof", "quote"):
        if c not in df.columns:
            df[c] = ""
        df[c] = _text_column(df[c])
    problems = []
    tickers = df["ticker"]
    for i in np.flatnonzero((tickers == "").to_numpy()):
        problems.append(f"line {i + 2}: empty ticker")
    for i in np.flatnonzero((tickers.duplicated() & (tickers != "")).to_numpy()):
        first = int(np.flatnonzero((tickers == tickers.iloc[i]).to_numpy())[0])
        problems.append(f"line {i + 2}: duplicate ticker {tickers.iloc[i]!r} "
                        f"(first on line {first + 2}); list each security once")
    for i in np.flatnonzero((df["calendar"] == "").to_numpy()):
        problems.append(f"line {i + 2}: empty calendar for {df['ticker'].iloc[i]!r}; "
                        "use XTKS, XKRX, XNYS, FX, ...")
    for cal in pd.unique(df["calendar"]):
        # the bundled calendars are pandas-market-calendars names: no import to know
        if (cal and cal not in SESSION_TABLE_CALENDARS and not is_calendar_name(cal)
                and cal not in _calendar_names()):
            k = int(np.flatnonzero((df["calendar"] == cal).to_numpy())[0])
            problems.append(f"line {k + 2}: unknown calendar {cal!r} for "
                            f"{df['ticker'].iloc[k]!r}; use a pandas-market-calendars "
                            "name such as XTKS, XKRX, XNYS, FX (or FX@16:00 "
                            "Europe/London) for currencies, or 24/7")
    for j, (t, cal, a) in enumerate(zip(df["ticker"], df["calendar"], df["asof"],
                                        strict=True)):
        if a:
            try:
                resolve_asof(t, cal, a)
            except InputError as exc:
                problems.append(f"line {j + 2}: asof of {t!r}: {exc}")
    for j, m in enumerate(df["model"]):
        if m and models is not None and m not in models:
            problems.append(f"line {j + 2}: unknown model {m!r}; choose one of "
                            f"{', '.join(models)}")
    if problems:
        raise CatalogError(f"{len(problems)} problem(s) in the universe", path=source,
                           problems=sorted(problems, key=_line_key))
    return df


def _calendar_names() -> frozenset[str]:
    """The calendar names a universe may use: pandas-market-calendars', FX and
    24/7 (``FX@HH:MM Area/City`` is checked by
    :func:`eventstudy.inputs.calendar.is_calendar_name`)."""
    import pandas_market_calendars as mcal  # lazy: slow import

    return frozenset(mcal.get_calendar_names()) | {FX_CALENDAR, SEVEN_DAY_CALENDAR}


def check_groups_in_universe(events: pd.DataFrame, universe: pd.DataFrame,
                             events_source: str = "<events>",
                             universe_source: str = "<universe>") -> None:
    """Refuse a catalog none of whose events can be paired with the universe.

    Events that name a ticker are paired by ticker; the others by their groups.
    When not a single event has a ticker or a group of the universe, no study can
    run: the error names both files and the groups on each side. (Events of which
    only some match are kept; the others are excluded with their reason.)

    Parameters
    ----------
    events, universe
        Validated frames (:func:`events_from_frame`, :func:`universe_from_frame`).
    events_source, universe_source
        File names for the message.

    Raises
    ------
    CatalogError
        When no event matches the universe.

    Examples
    --------
    >>> ev = events_from_frame(pd.DataFrame({"event_id": ["a"],
    ...     "timestamp": ["2024-01-02"], "groups": ["autos"]}), "ev.csv")
    >>> uni = universe_from_frame(pd.DataFrame({"ticker": ["X"], "group": ["banks"],
    ...     "calendar": ["XNYS"]}), "uni.csv")
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     check_groups_in_universe(ev, uni, "ev.csv", "uni.csv")
    ... except CatalogError as exc:
    ...     print(exc)
    ev.csv: no event's groups are in the universe uni.csv (the events name autos;
    the universe has banks); fix the events' groups column or the universe's group
    column
    """
    if "ticker" in events.columns and (events["ticker"].astype(str) != "").any():
        return
    if "groups" not in events.columns or len(events) == 0:
        return
    known = set(universe["group"].astype(str))
    named: dict[str, None] = {}
    for cell in pd.unique(events["groups"].astype(str)):
        for g in split_groups(str(cell)):
            if g in known:
                return
            named[g] = None

    def show(names: list[str]) -> str:
        if not names:
            return "no group"
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        return ", ".join(names[:10]) + more

    raise CatalogError(
        f"no event's groups are in the universe {universe_source} (the events name "
        f"{show(list(named))}; the universe has {show(sorted(known - {''}))}); fix "
        "the events' groups column or the universe's group column",
        path=events_source)


def split_groups(value: str) -> list[str]:
    """Split a ``;``-separated groups cell into clean names."""
    return [g.strip() for g in str(value).split(";") if g.strip()]


_NOT_UTF8 = "\x00<not utf-8>\x00"


def _seed_text(f: Path) -> str | None:
    """A seed document's text; None when missing, :data:`_NOT_UTF8` when binary."""
    try:
        if not f.is_file():
            return None
        return f.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return _NOT_UTF8
    except OSError:
        return None


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
    df = _read_csv(path, "event catalog")
    p = Path(path)
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
                texts[src] = _seed_text(seeds / src)
            text = texts[src]
            if text is None:
                problems.append(f"line {line}: source {src!r} not found in {seeds}")
            elif text == _NOT_UTF8:
                problems.append(f"line {line}: source {src!r} in {seeds} is not UTF-8 "
                                "text; save it as UTF-8")
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
