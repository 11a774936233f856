"""Corporate-action adjustment factors for unadjusted prices.

Some price series are not adjusted for corporate actions: Korean prices as Yahoo
serves them (raw KRX closes, see ``SOURCES.md``), or a hand-made prices file. A
rights issue, a bonus issue or a split then shows up as a price jump that is not a
return. The study file's ``[data] corporate_actions`` names a CSV of factors that
fixes this before any return is computed::

    ticker,ex_date,factor,source
    006400.KS,2025-04-10,0.979,"KRX adjustment notice ..."

Every price of ``ticker`` (closes and opens alike) dated strictly before ``ex_date``
is multiplied by ``factor``; several rows of one ticker multiply. The return on the
ex-date is then ``P_ex / (P_prev * factor) - 1``.

Rules, checked by :func:`load_corporate_actions` (every problem is listed at once,
each naming the row and the fix):

- the columns are exactly ``ticker, ex_date, factor, source`` (in any order);
- ``ticker`` and ``source`` are non-empty (the source says where the factor comes
  from);
- ``ex_date`` is a plain date ``YYYY-MM-DD``;
- ``0 < factor <= 10`` (:data:`MAX_FACTOR`);
- no two rows share ``(ticker, ex_date)``.

A ticker that is not one of the study's tickers is not an error: the row is ignored
with a warning (:meth:`CorporateActions.for_tickers`).

Rows are numbered as data rows (1 = the first line after the header), as in every
other input message of eventstudy.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from eventstudy.config import Study
from eventstudy.errors import InputError
from eventstudy.inputs.sources.base import LoadedPrices

__all__ = [
    "CORPORATE_ACTION_COLUMNS",
    "MAX_FACTOR",
    "CorporateActions",
    "adjust_loaded",
    "apply_corporate_actions",
    "corporate_action_notes",
    "load_corporate_actions",
    "study_corporate_actions",
]

CORPORATE_ACTION_COLUMNS: tuple[str, ...] = ("ticker", "ex_date", "factor", "source")
"""The columns of a corporate-actions file."""

MAX_FACTOR = 10.0
"""The largest factor accepted (a 1-for-10 consolidation); anything above is far more
likely a typo than a corporate action."""

_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"


@dataclass(frozen=True)
class CorporateActions:
    """A validated corporate-actions file.

    Attributes
    ----------
    table
        One row per action, sorted by ``(ticker, ex_date)``: ``ticker`` (str),
        ``ex_date`` (``datetime64[ns]``), ``factor`` (float64), ``source`` (str) and
        ``row`` (int, the 1-based data row of the file).
    label
        How the file is named in messages (e.g. ``data/corporate-actions.csv``,
        relative to the study file).
    """

    table: pd.DataFrame
    label: str

    def for_tickers(self, tickers: Collection[str]
                    ) -> tuple[CorporateActions, list[str]]:
        """The actions on ``tickers`` and one warning per row on another ticker.

        Examples
        --------
        >>> t = pd.DataFrame({"ticker": ["A", "B"], "ex_date": pd.to_datetime(
        ...     ["2024-01-03", "2024-01-04"]), "factor": [0.5, 2.0],
        ...     "source": ["x", "y"], "row": [1, 2]})
        >>> kept, warns = CorporateActions(t, "ca.csv").for_tickers(["A"])
        >>> kept.table["ticker"].tolist(), warns[0][:42]
        (['A'], "ca.csv row 2: ticker 'B' is not one of the")
        """
        known = set(tickers)
        inside = self.table["ticker"].isin(known).to_numpy(dtype=bool)
        out = self.table.loc[~inside]
        warnings = [
            f"{self.label} row {row}: ticker {ticker!r} is not one of the study's "
            "tickers; the row is ignored (fix the ticker or remove the row)"
            for ticker, row in zip(out["ticker"].astype(str).tolist(),
                                   out["row"].astype("int64").tolist(), strict=True)
        ]
        kept = self.table.loc[inside].reset_index(drop=True)
        return CorporateActions(kept, self.label), warnings

    def notes(self) -> list[str]:
        """One line per action, for ``run.json``: ``"006400.KS: prices before
        2025-04-10 multiplied by 0.979 (data/corporate-actions.csv row 1)"``."""
        t = self.table
        return [
            f"{ticker}: prices before {day:%Y-%m-%d} multiplied by {factor:g} "
            f"({self.label} row {row})"
            for ticker, day, factor, row in zip(
                t["ticker"].astype(str).tolist(),
                pd.DatetimeIndex(t["ex_date"]), t["factor"].astype("float64").tolist(),
                t["row"].astype("int64").tolist(), strict=True)
        ]

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """:func:`apply_corporate_actions` with these actions."""
        return apply_corporate_actions(frame, self.table)


def _problem(problems: list[str], row: int, text: str) -> None:
    problems.append(f"row {row}: {text}")


def load_corporate_actions(path: str | Path, label: str | None = None
                           ) -> CorporateActions:
    """Read and validate a corporate-actions CSV.

    Parameters
    ----------
    path
        The file.
    label
        How to name it in messages and notes (default: ``path`` as given).

    Returns
    -------
    CorporateActions

    Raises
    ------
    InputError
        The file is missing, unreadable or not UTF-8 CSV; a column is missing or
        unknown; or rows are invalid (every bad row is listed with its fix).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "ca.csv"
    >>> _ = f.write_text("ticker,ex_date,factor,source\\nA,2024-01-03,0.5,notice\\n")
    >>> load_corporate_actions(f, "ca.csv").notes()
    ['A: prices before 2024-01-03 multiplied by 0.5 (ca.csv row 1)']
    """
    name = label if label is not None else str(path)
    where = str(path)
    file = Path(path)
    if not file.is_file():
        raise InputError("corporate-actions file not found; check [data] "
                         "corporate_actions in the study file", path=where)
    try:
        with open(file, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save "
                         "it as a UTF-8 CSV", path=where) from exc
    except (OSError, csv.Error) as exc:
        raise InputError(f"cannot read the corporate-actions CSV ({exc}); check the "
                         "file and its quotes", path=where) from exc
    if not rows:
        raise InputError("the corporate-actions file is empty; it needs the header "
                         f"line {','.join(CORPORATE_ACTION_COLUMNS)}", path=where)
    header = [h.strip() for h in rows[0]]
    missing = [c for c in CORPORATE_ACTION_COLUMNS if c not in header]
    unknown = [h for h in header if h not in CORPORATE_ACTION_COLUMNS]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if missing or unknown or duplicated:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
        if duplicated:
            parts.append(f"duplicate column(s) {', '.join(duplicated)}")
        raise InputError(f"{'; '.join(parts)}; the header must be exactly "
                         f"{','.join(CORPORATE_ACTION_COLUMNS)}", path=where)
    body = [r for r in rows[1:] if any(cell.strip() for cell in r)]
    numbers = [i for i, r in enumerate(rows[1:], start=1)
               if any(cell.strip() for cell in r)]
    width = len(header)
    problems: list[str] = []
    for number, cells in zip(numbers, body, strict=True):
        if len(cells) != width:
            _problem(problems, number, f"{len(cells)} field(s) where the header has "
                     f"{width}; check the commas and quotes")
    if problems:
        raise InputError(_listing(problems), path=where,
                         row=_only_row(numbers, problems))
    frame = pd.DataFrame([[c.strip() for c in r] for r in body], columns=header,
                         dtype=object)
    frame = frame.reindex(columns=list(CORPORATE_ACTION_COLUMNS))
    row_no = np.asarray(numbers, dtype=np.int64)
    ticker = frame["ticker"].astype(str)
    source = frame["source"].astype(str)
    date_text = frame["ex_date"].astype(str)
    ex_date = pd.to_datetime(date_text.where(date_text.str.fullmatch(_DATE), None),
                             format="%Y-%m-%d", errors="coerce")
    factor = pd.to_numeric(frame["factor"], errors="coerce").astype("float64")
    for i, number in enumerate(row_no.tolist()):
        if not ticker.iloc[i]:
            _problem(problems, number, "ticker is empty; give the Yahoo ticker, e.g. "
                     "006400.KS")
        if pd.isna(ex_date.iloc[i]):
            _problem(problems, number, f"ex_date {date_text.iloc[i]!r} is not a date; "
                     "write it as YYYY-MM-DD (the first day the price trades "
                     "without the right)")
        f = factor.iloc[i]
        if not np.isfinite(f):
            _problem(problems, number, f"factor {frame['factor'].iloc[i]!r} is not a "
                     "number; give the adjustment factor, e.g. 0.979")
        elif not 0.0 < f <= MAX_FACTOR:
            _problem(problems, number, f"factor {f:g} is outside (0, {MAX_FACTOR:g}]; "
                     "prices before the ex-date are multiplied by it (a 2-for-1 "
                     "split is 0.5)")
        if not source.iloc[i]:
            _problem(problems, number, "source is empty; say where the factor comes "
                     "from (an exchange notice, a filing)")
    seen: dict[tuple[str, pd.Timestamp], int] = {}
    for name_, day, number in zip(ticker.tolist(), pd.DatetimeIndex(ex_date),
                                  row_no.tolist(), strict=True):
        if pd.isna(day):
            continue
        first = seen.setdefault((name_, day), number)
        if first != number:
            _problem(problems, number, f"{name_} on {day:%Y-%m-%d} repeats row "
                     f"{first}; give one row per ticker and ex-date (multiply the "
                     "factors into one)")
    if problems:
        problems.sort(key=lambda p: int(p.split(":", 1)[0].split()[1]))
        raise InputError(_listing(problems), path=where,
                         row=_only_row(numbers, problems))
    table = pd.DataFrame({
        "ticker": ticker.to_numpy(dtype=object),
        "ex_date": pd.DatetimeIndex(ex_date).astype("datetime64[ns]"),
        "factor": factor.to_numpy(dtype="float64"),
        "source": source.to_numpy(dtype=object),
        "row": row_no,
    })
    table = table.sort_values(["ticker", "ex_date"], kind="stable")
    return CorporateActions(table.reset_index(drop=True), name)


def _listing(problems: Sequence[str]) -> str:
    if len(problems) == 1:
        return problems[0].split(": ", 1)[1]
    return (f"{len(problems)} problem(s) in the corporate-actions file:\n"
            + "\n".join(f"  - {p}" for p in problems))


def _only_row(numbers: Sequence[int], problems: Sequence[str]) -> int | None:
    """The row of a single problem (the error then names it), else None."""
    if len(problems) != 1:
        return None
    row = int(problems[0].split(":", 1)[0].split()[1])
    return row if row in numbers else None


def apply_corporate_actions(frame: pd.DataFrame, actions: pd.DataFrame
                            ) -> pd.DataFrame:
    """Multiply each ticker's prices dated strictly before each ex-date by its factor.

    Parameters
    ----------
    frame
        A wide price frame (``DatetimeIndex`` of dates, one column per ticker):
        closes or opens.
    actions
        ``ticker, ex_date, factor`` rows (e.g. :attr:`CorporateActions.table`);
        actions on tickers that are not columns of ``frame`` change nothing.

    Returns
    -------
    pandas.DataFrame
        A new frame, same index and columns, float64; ``frame`` is not changed. NaN
        stays NaN.

    Notes
    -----
    Vectorised: a multiplier matrix starts at 1 and, for each action (a handful),
    the slice of dates before its ex-date in its ticker's column is multiplied by
    the factor; the prices are multiplied by it once.

    Examples
    --------
    >>> dates = pd.bdate_range("2024-01-01", periods=3)
    >>> prices = pd.DataFrame({"A": [10.0, 10.0, 5.0]}, index=dates)
    >>> acts = pd.DataFrame({"ticker": ["A"], "ex_date": [dates[2]], "factor": [0.5]})
    >>> apply_corporate_actions(prices, acts)["A"].tolist()
    [5.0, 5.0, 5.0]
    """
    values = frame.to_numpy(dtype="float64", copy=True)
    if len(actions) and values.size:
        dates = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
        order = np.argsort(dates, kind="stable")
        position = {str(c): j for j, c in enumerate(frame.columns)}
        multiplier = np.ones(values.shape, dtype="float64")
        ex_ns = pd.DatetimeIndex(actions["ex_date"]).as_unit("ns").asi8
        for ticker, ex, factor in zip(actions["ticker"].astype(str), ex_ns,
                                      actions["factor"].astype("float64"),
                                      strict=True):
            j = position.get(ticker)
            if j is None:
                continue
            before = order[: int(np.searchsorted(dates[order], ex, side="left"))]
            multiplier[before, j] *= factor
        values *= multiplier
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


def _label(study: Study, path: Path) -> str:
    """The file as named in messages: relative to the study file's folder."""
    if study.path is None:
        return str(path)
    try:
        return os.path.relpath(path, Path(study.path).parent)
    except ValueError:  # another drive (Windows)
        return str(path)


def study_corporate_actions(study: Study, tickers: Collection[str]
                            ) -> tuple[CorporateActions | None, list[str]]:
    """The study's ``[data] corporate_actions`` on ``tickers``, and the warnings.

    Parameters
    ----------
    study
        The study (None file: nothing to do).
    tickers
        The study's tickers (securities and benchmarks); rows on other tickers are
        ignored with a warning.

    Returns
    -------
    (CorporateActions or None, list of str)
        The actions to apply (None when the study names no file) and one warning
        per ignored row.

    Raises
    ------
    InputError
        The file is invalid (see :func:`load_corporate_actions`).
    """
    if study.corporate_actions is None:
        return None, []
    path = Path(study.corporate_actions)
    actions = load_corporate_actions(path, _label(study, path))
    return actions.for_tickers(tickers)


def corporate_action_notes(study: Study, tickers: Collection[str]) -> list[str]:
    """What ``run.json`` records: the warnings on ignored rows, then one line per
    applied action (``"006400.KS: prices before 2025-04-10 multiplied by 0.979
    (data/corporate-actions.csv row 1)"``); empty without a file."""
    actions, warnings = study_corporate_actions(study, tickers)
    return warnings + ([] if actions is None else actions.notes())


def adjust_loaded(study: Study, loaded: LoadedPrices, tickers: Collection[str]
                  ) -> LoadedPrices:
    """``loaded`` with the study's corporate actions applied to its closes and
    opens (unchanged without ``[data] corporate_actions``). The SHA-256 stays the
    raw data's: the factors file has its own hash among the study's inputs."""
    actions, _ = study_corporate_actions(study, tickers)
    if actions is None or actions.table.empty:
        return loaded
    opens = None if loaded.opens is None else actions.apply(loaded.opens)
    return replace(loaded, frame=actions.apply(loaded.frame), opens=opens)
