"""Confounders files: outside events that may confound a study's pairs.

A confounders file (CSV) lists news that is not a study event but may move the
study's securities inside a pair's window: company results, corporate actions,
policy background. One row per outside event:

=================  ===========================================================
``confounder_id``  unique, non-empty, no ``;`` (ids are ``;``-joined in
                   ``confounded_by``); not the id of a catalog event
``timestamp``      the event catalog's grammar: ISO 8601 with a UTC offset
                   (``2026-02-06T13:25+09:00``) or a plain date ``YYYY-MM-DD``
``scope``          ``*`` (every security of the study) or ``;``-separated
                   tickers and/or group names of the universe
``kind``           ``earnings``, ``corporate_action``, ``news`` or ``context``
                   (macro or policy background, such as tariff announcements)
``title``          short description (may be empty)
``source``         where the date comes from (a URL or a document); not empty
=================  ===========================================================

Day 0 of a confounder on each security of its scope is located exactly like a
catalog event's (the security's own calendar and as-of time,
:func:`eventstudy.inputs.calendar.locate_day0_asof`). A confounder never becomes a
pair: it only flags (or excludes) the pairs whose confounding window holds its day 0,
and with ``mask_estimation`` its days leave the estimation windows.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from eventstudy.errors import CatalogError, InputError
from eventstudy.inputs.events import (
    line_key,
    parse_timestamps,
    read_input_csv,
    require_frame,
    text_column,
)

CONFOUNDER_COLUMNS = ("confounder_id", "timestamp", "scope", "kind", "title", "source")
"""The columns of a confounders file, in order (``title`` may be absent)."""
REQUIRED_COLUMNS = ("confounder_id", "timestamp", "scope", "kind", "source")
"""The columns a confounders file must have."""
CONFOUNDER_KINDS = ("earnings", "corporate_action", "news", "context")
"""The allowed ``kind`` values."""
ALL_SECURITIES = "*"
"""The ``scope`` covering every security of the study."""
MAX_LISTED = 10
"""At most this many known names are listed in an unknown-scope message."""


def split_scope(value: str) -> list[str]:
    """Split a ``;``-separated scope cell into clean names.

    Examples
    --------
    >>> split_scope(" 7203.T; TM ;"), split_scope("*")
    (['7203.T', 'TM'], ['*'])
    """
    return [s.strip() for s in str(value).split(";") if s.strip()]


def scope_names(universe: pd.DataFrame | None,
                events: pd.DataFrame | None = None) -> frozenset[str] | None:
    """The names a scope may use: the universe's tickers and groups; without a
    universe, the tickers (and ``group`` cells) of events that carry tickers; None
    when neither is known (the names cannot be checked).

    Examples
    --------
    >>> u = pd.DataFrame({"ticker": ["7203.T", "TM"], "group": ["autos", "adrs"]})
    >>> sorted(scope_names(u))
    ['7203.T', 'TM', 'adrs', 'autos']
    >>> scope_names(None, pd.DataFrame({"groups": ["autos"]})) is None
    True
    """
    frame = universe
    if frame is None:
        if (events is None or "ticker" not in events.columns
                or not (events["ticker"].astype(str) != "").any()):
            return None
        frame = events
    names: set[str] = set()
    for col in ("ticker", "group"):
        if col in frame.columns:
            names.update(str(v) for v in pd.unique(frame[col].astype(str)))
    names.discard("")
    return frozenset(names)


def load_confounders(path: str | Path, names: Collection[str] | None = None
                     ) -> pd.DataFrame:
    """Read and validate a confounders file.

    Parameters
    ----------
    path
        The CSV file (see the module docstring for the columns).
    names
        The tickers and groups a scope may name (:func:`scope_names`); None does
        not check the names.

    Returns
    -------
    pandas.DataFrame
        As :func:`confounders_from_frame`.

    Raises
    ------
    InputError
        The file is missing, empty or not a CSV.
    CatalogError
        Missing columns or bad rows, every one listed with its line and the fix.
    """
    df = read_input_csv(path, "confounders")
    return confounders_from_frame(df, source=str(path), names=names)


def confounders_from_frame(df: pd.DataFrame, source: str = "<confounders>",
                           names: Collection[str] | None = None) -> pd.DataFrame:
    """Validate an in-memory confounders table (the CSV's columns).

    Parameters
    ----------
    df
        ``confounder_id, timestamp, scope, kind, title, source`` (``title``
        optional; other columns are kept).
    source
        The file name, for messages.
    names
        The tickers and groups a scope may name; None does not check them.

    Returns
    -------
    pandas.DataFrame
        The columns as stripped text plus ``instant_ns`` (int64) and ``date_only``
        (bool), in file order. A file with a header and no rows gives no
        confounders.

    Raises
    ------
    CatalogError
        Listing every problem with its line (the header is line 1): empty,
        duplicate or ``;``-containing ids, bad timestamps, empty or unknown scope
        names, bad kinds, empty sources.

    Examples
    --------
    >>> c = confounders_from_frame(pd.DataFrame({
    ...     "confounder_id": ["K1"], "timestamp": ["2026-02-06T13:25+09:00"],
    ...     "scope": ["7203.T;TM"], "kind": ["earnings"], "title": ["Q3"],
    ...     "source": ["toyota.com"]}), "c.csv", names={"7203.T", "TM"})
    >>> str(pd.Timestamp(int(c["instant_ns"][0]), tz="UTC"))
    '2026-02-06 04:25:00+00:00'
    """
    df = require_frame(df, source, "confounders table").copy()
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise CatalogError(
            f"missing column(s) {', '.join(missing)}; a confounders file needs the "
            f"header {','.join(CONFOUNDER_COLUMNS)} (title may be empty)",
            path=source)
    df = df.reset_index(drop=True)
    if "title" not in df.columns:
        df["title"] = ""
    for c in CONFOUNDER_COLUMNS:
        df[c] = text_column(df[c])
    problems: list[str] = []
    inst, date_only, probs = parse_timestamps(df["timestamp"])
    problems += [f"line {int(i) + 2}: {msg}" for i, msg in
                 (p.split("|", 1) for p in probs)]
    ids = df["confounder_id"]
    for i in np.flatnonzero((ids == "").to_numpy()):
        problems.append(f"line {i + 2}: empty confounder_id; give each row a unique "
                        "id such as C01_AUTO_TARIFFS")
    for i in np.flatnonzero(ids.str.contains(";", regex=False).to_numpy()):
        problems.append(f"line {i + 2}: confounder_id {ids.iloc[i]!r} contains ';' "
                        "(ids are ';'-joined in confounded_by); remove it")
    for i in np.flatnonzero((ids.duplicated(keep="first") & (ids != "")).to_numpy()):
        first = int(np.flatnonzero((ids == ids.iloc[i]).to_numpy())[0])
        problems.append(f"line {i + 2}: duplicate confounder_id {ids.iloc[i]!r} "
                        f"(first on line {first + 2}); ids must be unique")
    known = None if names is None else frozenset(str(n) for n in names)
    for line, cell in enumerate(df["scope"], start=2):
        problems += _scope_problems(line, cell, known)
    bad_kind = ~df["kind"].isin(CONFOUNDER_KINDS).to_numpy()
    for i in np.flatnonzero(bad_kind):
        problems.append(f"line {i + 2}: kind {df['kind'].iloc[i]!r} is not valid; "
                        f"use one of {', '.join(CONFOUNDER_KINDS)}")
    for i in np.flatnonzero((df["source"] == "").to_numpy()):
        problems.append(f"line {i + 2}: empty source; say where the date comes from "
                        "(a URL or a document)")
    if problems:
        raise CatalogError(f"{len(problems)} problem(s) in the confounders file",
                           path=source, problems=sorted(problems, key=line_key))
    df["instant_ns"] = inst
    df["date_only"] = date_only
    return df


def _scope_problems(line: int, cell: str, known: frozenset[str] | None
                    ) -> list[str]:
    """The problems of one scope cell (none when it is valid)."""
    parts = split_scope(cell)
    if not parts:
        return [f"line {line}: empty scope; write * (every security) or "
                "';'-separated tickers and/or group names of the universe"]
    if ALL_SECURITIES in parts:
        if len(parts) > 1:
            return [f"line {line}: scope {cell!r} mixes * with names; write * alone "
                    "(every security) or list the names without *"]
        return []
    if known is None:
        return []
    out = []
    for name in parts:
        if name not in known:
            shown = sorted(known)
            more = (f" and {len(shown) - MAX_LISTED} more"
                    if len(shown) > MAX_LISTED else "")
            out.append(f"line {line}: scope name {name!r} is neither a ticker nor a "
                       f"group of the universe (known: "
                       f"{', '.join(shown[:MAX_LISTED]) or 'none'}{more}); fix the "
                       "name, add the security to the universe, or use *")
    return out


def check_ids_distinct(confounders: pd.DataFrame, events: pd.DataFrame,
                       source: str = "<confounders>") -> None:
    """Refuse a confounder whose id is also a catalog event's id (the two would be
    indistinguishable in ``confounded_by``).

    Raises
    ------
    CatalogError
        Naming each such line of the confounders file.

    Examples
    --------
    >>> c = pd.DataFrame({"confounder_id": ["E1", "C1"]})
    >>> try:
    ...     check_ids_distinct(c, pd.DataFrame({"event_id": ["E1"]}), "c.csv")
    ... except CatalogError as exc:
    ...     print(str(exc).splitlines()[1])
      - line 2: confounder_id 'E1' is also an event_id of the catalog; rename it
    """
    clash = confounders["confounder_id"].astype(str).isin(
        set(events["event_id"].astype(str))).to_numpy()
    if clash.any():
        problems = [f"line {i + 2}: confounder_id "
                    f"{confounders['confounder_id'].iloc[i]!r} is also an event_id "
                    "of the catalog; rename it" for i in np.flatnonzero(clash)]
        raise CatalogError(f"{len(problems)} problem(s) in the confounders file",
                           path=source, problems=problems)


def validate_confounders(path: str | Path, names: Collection[str] | None = None,
                         events: pd.DataFrame | None = None) -> list[str]:
    """List every problem of a confounders file (``events validate``).

    Parameters
    ----------
    path
        The confounders CSV.
    names
        The tickers and groups a scope may name; None does not check them.
    events
        The validated catalog, whose ids the confounders must not reuse; None
        does not check them.

    Returns
    -------
    list of str
        ``line N: ...`` problems in line order (or the one file-level problem);
        empty when the file is valid.
    """
    try:
        table = load_confounders(path, names)
        if events is not None:
            check_ids_distinct(table, events, str(path))
    except CatalogError as exc:
        return exc.problems or [str(exc)]
    except InputError as exc:
        return [str(exc)]
    return []
