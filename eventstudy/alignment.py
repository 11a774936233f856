"""Stage 1 of a study: (event, security) pairs, day 0 on each security's own
calendar, the gather layout and the confounding flags.

:func:`align` turns validated inputs into an :class:`Aligned` bundle: every pair with
its calendar, benchmark and model; day 0 by
:func:`eventstudy.inputs.calendar.locate_day0` (with the rule that chose it); one
NaN-padded ``(series, sessions)`` matrix of returns in which any pair's window is one
contiguous slice; the exclusions known before
estimation; and which other catalog events fall inside each pair's event window.
Nothing here estimates: the estimation layer reads the bundle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from eventstudy.config import ModelSpec, Windows
from eventstudy.errors import InputError, NoPairsError
from eventstudy.inputs.calendar import (
    get_sessions,
    locate_day0_asof,
    resolve_asof,
)
from eventstudy.inputs.confounders import ALL_SECURITIES, split_scope
from eventstudy.inputs.events import split_groups
from eventstudy.inputs.returns import day_part_returns, on_sessions

DataKind = Literal["prices", "returns"]
"""Whether a study's data are prices or returns."""
SELF_BENCHMARK = "benchmark is the security itself"
"""Exclusion reason: the pair's benchmark is its own ticker (R = R_m, so the market
model fits exactly, sigma = 0 and every AR is 0)."""


@dataclass(frozen=True)
class Aligned:
    """Output of the align stage: every pair, and the gather sources."""

    pairs: pd.DataFrame
    excluded_events: pd.DataFrame
    reason: np.ndarray
    """Exclusion reason per pair ("" = candidate), before the min-obs rule."""
    cand: np.ndarray
    """Indices of the candidate pairs (reason "")."""
    cal: np.ndarray
    pos: np.ndarray
    rules: np.ndarray
    model_code: np.ndarray
    designs: tuple[Any, ...]
    """Per model code, its design (regressors, excess): opaque here, read by the
    estimation stage."""
    rows: dict[str, np.ndarray]
    """Per-pair row of each source in ``values``: ``ticker``, ``market``,
    ``factor:<name>``, ``rf``."""
    values: np.ndarray
    """``(series + 1, T)`` returns, NaN-padded; the last row is all NaN."""
    dates: np.ndarray
    """``(calendars, T)`` session dates (ns), -1 padded."""
    pad: int
    needs_rf: bool
    confounded_by: np.ndarray
    warnings: list[str]
    fused: bool = False
    """Run market-model pairs through the compiled kernel
    (:func:`eventstudy.estimation.kernels.market_chunk`)."""
    est_values: np.ndarray | None = None
    """With ``mask_estimation``: ``values`` with NaN at the masked days of each
    security's own series (read for the estimation windows' dependent returns
    only); None without masking (no copy)."""
    windows: Windows | None = None
    """With ``estimation = "all"``: the fixed windows the estimation layer gathers
    (:meth:`Windows.from_start`: from the earliest first price of the candidate
    pairs to the estimation end); None = the study's own windows."""
    from_start: bool = False
    """``estimation = "all"``: each pair's estimation starts at its own first return
    (the market moments of ``market_moments = "window"`` too)."""


def no_pairs_message(excluded: pd.DataFrame, where: str = "") -> str:
    """Why nothing is left to test: every exclusion reason with its count.

    Examples
    --------
    >>> ex = pd.DataFrame({"event_id": ["a", "b", "c"], "ticker": ["X", "Y", "Z"],
    ...                    "reason": ["ticker has no prices"] * 2 + ["r"]})
    >>> no_pairs_message(ex)[:80]
    'every (event, security) pair was excluded (3 pairs): 2 ticker has no prices; 1 r'
    """
    counts = excluded["reason"].astype(str).value_counts(sort=True)
    counts = counts.iloc[np.lexsort((counts.index.to_numpy(dtype=str),
                                     -counts.to_numpy()))]
    items = [f"{int(n)} {r}" for r, n in counts.items()]
    if len(items) > 8:
        items = items[:8] + [f"... ({len(items) - 8} more reasons)"]
    head = f"{where}: " if where else ""
    n = len(excluded)
    return (f"{head}every (event, security) pair was excluded ({n} pair"
            f"{'' if n == 1 else 's'}): {'; '.join(items)}. Fix the inputs behind "
            "these reasons (each pair is listed in excluded.csv / results.excluded)")


def _fill_empty(pairs: pd.DataFrame, col: str, default: str) -> None:
    """Empty cells of text column ``col`` take ``default`` (in place; nothing to do
    when it is empty too, or no cell is)."""
    if default:
        empty = (pairs[col] == "").to_numpy()
        if empty.any():
            pairs.loc[empty, col] = default


def pairs_from_events(events: pd.DataFrame, universe: pd.DataFrame | None,
                       default_calendar: str, default_benchmark: str
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (event, security): event_id, ticker, group, calendar, benchmark,
    model, plus the event's instant. Returns the pairs and the excluded events
    (``event_id, ticker, reason``) that matched no universe security."""
    ev = events.reset_index(drop=True).copy()
    ev["_order"] = np.arange(len(ev))
    has_ticker = "ticker" in ev.columns and (ev["ticker"].astype(str) != "").any()
    excluded = pd.DataFrame({"event_id": pd.Series([], dtype=object),
                             "ticker": pd.Series([], dtype=object),
                             "reason": pd.Series([], dtype=object)})
    if has_ticker:
        pairs = ev.copy()
        pairs["ticker"] = pairs["ticker"].astype(str).str.strip()
        if universe is not None:
            u = universe.set_index("ticker")
            for col in ("group", "calendar", "benchmark", "model", "asof", "quote"):
                mapped = pairs["ticker"].map(u[col]) if col in u else None
                if col in pairs.columns:
                    base = pairs[col].astype(str)
                    if mapped is not None:
                        base = base.where(base != "", mapped.fillna(""))
                    pairs[col] = base
                else:
                    pairs[col] = mapped.fillna("") if mapped is not None else ""
        for col, default in (("group", "all"), ("calendar", default_calendar),
                             ("benchmark", default_benchmark), ("model", "")):
            if col not in pairs.columns:
                pairs[col] = default
            pairs[col] = pairs[col].fillna("").astype(str)
            _fill_empty(pairs, col, default)
        pairs["_uorder"] = 0
    else:
        if universe is None:
            raise InputError("events have a 'groups' column but no universe was "
                             "given; pass universe= or give each event a ticker")
        g = ev[["event_id", "groups", "_order"]].copy()
        g["group"] = g["groups"].map(split_groups)
        g = g.explode("group")
        u = universe.copy()
        u["_uorder"] = np.arange(len(u))
        pairs = g.merge(u, on="group", how="inner")
        unmatched = ev.loc[~ev["event_id"].isin(pairs["event_id"])]
        if len(unmatched):
            groups = unmatched["groups"].astype(str)
            uniq = groups.unique()
            text = dict(zip(uniq, (repr(x) for x in uniq), strict=True))
            excluded = pd.DataFrame({
                "event_id": unmatched["event_id"].to_numpy(dtype=object),
                "ticker": "",
                "reason": ("no universe security in groups "
                           + groups.map(text)).to_numpy(dtype=object)})
        pairs = pairs.merge(ev.drop(columns=["groups", "_order"]), on="event_id",
                            how="left", suffixes=("", "_event"))
        for col, default in (("benchmark", default_benchmark), ("model", "")):
            pairs[col] = pairs[col].fillna("").astype(str)
            _fill_empty(pairs, col, default)
    o = pairs["_order"].to_numpy()
    uo = pairs["_uorder"].to_numpy()
    ordered = bool(np.all((o[1:] > o[:-1]) | ((o[1:] == o[:-1]) & (uo[1:] >= uo[:-1]))))
    if not ordered:
        pairs = pairs.sort_values(["_order", "_uorder"], kind="stable")
    pairs = pairs.reset_index(drop=True)
    return pairs, excluded


def pair_asofs(pairs: pd.DataFrame, source: str = "the universe") -> np.ndarray:
    """Each pair's as-of time (:func:`eventstudy.inputs.calendar.resolve_asof`):
    ``close`` or ``HH:MM Area/City`` [``-1``], from its ``asof`` cell (the
    universe's), its ticker and its calendar.

    Examples
    --------
    >>> p = pd.DataFrame({"ticker": ["JPY=X", "7203.T"], "calendar": ["FX", "XTKS"]})
    >>> pair_asofs(p).tolist()
    ['00:00 Europe/London', 'close']
    """
    cells = (pairs["asof"].fillna("").astype(str) if "asof" in pairs.columns
             else pd.Series("", index=pairs.index))
    tk, cal = pairs["ticker"].astype(str), pairs["calendar"].astype(str)
    # one resolution per distinct (ticker, calendar, asof), spread back by code:
    # each column's codes (a missing cell is a value of its own), then their triples
    codes = np.zeros(len(pairs), dtype=np.int64)  # first-appearance codes
    for col in (tk, cal, cells):
        part, distinct = pd.factorize(col, use_na_sentinel=False)
        codes = pd.factorize(codes * max(len(distinct), 1) + part)[0]  # < rows
    # each key's first row, in code order: first-appearance codes rise by one at
    # each new key (no sort)
    top = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.r_[len(codes) > 0, top[1:] > top[:-1]][:len(codes)])
    out = np.empty(len(first), dtype=object)
    for i, (t, c, a) in enumerate(zip(tk.iloc[first].tolist(),
                                      cal.iloc[first].tolist(),
                                      cells.iloc[first].tolist(), strict=True)):
        try:
            out[i] = resolve_asof(t, c, a)
        except InputError as exc:
            raise InputError(f"{source}: ticker {t!r}: {exc}") from exc
    res: np.ndarray = out[codes]
    return res


def _columns_of(index: pd.Index, names: np.ndarray) -> np.ndarray:
    """Position in ``index`` of each of ``names`` (-1 where absent), looking each
    distinct name up once."""
    codes, uniq = pd.factorize(names, use_na_sentinel=False)
    out: np.ndarray = index.get_indexer(pd.Index(uniq)).astype(np.int64)[codes]
    return out


def pair_weights(pairs: pd.DataFrame, universe: pd.DataFrame | None,
                 column: str) -> np.ndarray:
    """Each pair's value weight from ``column`` (NaN where it is not a number).

    The events' column wins when the events have it (a weight per event, such as the
    market capitalisation on the event date), else the universe's for the pair's
    ticker (a weight per security).

    Examples
    --------
    >>> p = pd.DataFrame({"ticker": ["A", "B", "C"]})
    >>> u = pd.DataFrame({"ticker": ["A", "B"], "mcap": ["10", "2.5"]})
    >>> pair_weights(p, u, "mcap")
    array([10. ,  2.5,  nan])
    """
    if column + "_event" in pairs.columns:  # events and universe both have it
        src = pairs[column + "_event"]
    elif column in pairs.columns:
        src = pairs[column]
    elif universe is not None and column in universe.columns:
        u = universe.drop_duplicates("ticker").set_index("ticker")[column]
        src = pairs["ticker"].map(u)
    else:
        raise InputError(f"no column {column!r} for the value weights")
    out: np.ndarray = pd.to_numeric(src, errors="coerce").to_numpy(dtype=np.float64)
    return out


def confounding_labels(event_ids: np.ndarray, security: np.ndarray,
                       day0_pos: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """For each pair, the ``;``-joined ids of the other pairs of the same security
    whose day 0 falls inside its event window (``""`` when none).

    Parameters
    ----------
    event_ids
        ``(P,)`` event id per pair.
    security
        ``(P,)`` integer code of the pair's security (ticker and calendar).
    day0_pos
        ``(P,)`` day-0 session position on the security's calendar; -1 = unknown.
    window
        The confounding window ``(start, end)`` in sessions (the event window by
        default); it need not contain day 0.

    Returns
    -------
    numpy.ndarray
        Object array of str. The ids are listed in (security, day 0, pair) order.

    Notes
    -----
    Vectorised: one sort, two ``searchsorted`` and a C-level join of the matches
    (``pyarrow.compute.binary_join``), whatever the number of flagged pairs.

    Examples
    --------
    >>> confounding_labels(np.array(["a", "b", "c"]), np.array([0, 0, 1]),
    ...                    np.array([10, 12, 11]), (-5, 5)).tolist()
    ['b', 'a', '']
    >>> confounding_labels(np.array(["a", "b", "c"]), np.array([0, 0, 0]),
    ...                    np.array([10, 12, 10]), (1, 5)).tolist()
    ['b', '', 'b']
    """
    import pyarrow as pa  # lazy: slow import
    import pyarrow.compute as pc  # lazy: slow import

    w0, w1 = window
    P = len(day0_pos)
    labels = np.full(P, "", dtype=object)
    if P < 2:
        return labels
    pos = np.asarray(day0_pos, dtype=np.int64)
    valid = pos >= 0
    big = np.int64(1) << 32
    key = np.asarray(security, dtype=np.int64) * big + pos
    skey_all = np.where(valid, key, np.iinfo(np.int64).max)
    order = np.argsort(skey_all, kind="stable")
    # work in sorted order: each pair's matches are one contiguous run there
    skey = skey_all[order]
    ok = valid[order]
    q = np.where(ok, skey, 0)
    lo = np.searchsorted(skey, q + w0, side="left")
    hi = np.searchsorted(skey, q + w1, side="right")
    # a window around day 0 holds the pair itself (dropped below); one that
    # leaves day 0 out, such as [1, 10], does not
    itself = 1 if w0 <= 0 <= w1 else 0
    count = np.where(ok, hi - lo - itself, 0)
    flagged = np.flatnonzero(count > 0)
    if len(flagged) == 0:
        return labels
    # every match of every flagged pair, then drop the pair itself
    n_in = (hi - lo)[flagged]
    starts = np.repeat(lo[flagged] - np.cumsum(n_in) + n_in, n_in)
    k = starts + np.arange(int(n_in.sum()))
    if itself:
        k = k[k != np.repeat(flagged, n_in)]
    offsets = np.concatenate([[0], np.cumsum(count[flagged])]).astype(np.int64)
    ids = pa.array(np.asarray(event_ids, dtype=object), type=pa.large_string())
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    ids = ids.take(pa.array(order))
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()),
                                          ids.take(pa.array(k)))
    joined = pc.binary_join(lists, pa.scalar(";", pa.large_string()))
    labels[order[flagged]] = np.asarray(joined.to_numpy(zero_copy_only=False),
                                        dtype=object)
    return labels


def confounder_pairs(confounders: pd.DataFrame | None, pairs: pd.DataFrame,
                     sec: np.ndarray, asofs: np.ndarray) -> pd.DataFrame:
    """One row per (confounder, security of the study) that its scope covers.

    A scope name covers the securities whose ticker or group it is; ``*`` covers
    every security of the study. A security is a (ticker, calendar) of the pairs,
    with the as-of time of its first pair, so a confounder's day 0 is located on
    it exactly as a catalog event's.

    Parameters
    ----------
    confounders
        Validated confounders, or None.
    pairs
        The study's pairs (``ticker, group, calendar``).
    sec, asofs
        ``(P,)`` security code and as-of time of each pair.

    Returns
    -------
    pandas.DataFrame
        ``confounder_id, sec, calendar, asof, instant_ns, date_only``, in
        confounder then security order (empty without confounders).

    Examples
    --------
    >>> p = pd.DataFrame({"ticker": ["A", "B", "A"], "group": ["g", "h", "g"],
    ...                   "calendar": ["XNYS"] * 3})
    >>> c = pd.DataFrame({"confounder_id": ["c1", "c2"], "scope": ["h;A", "*"],
    ...                   "instant_ns": [0, 1], "date_only": [True, True]})
    >>> confounder_pairs(c, p, np.array([0, 1, 0]), np.array(["close"] * 3)
    ...                  )[["confounder_id", "sec"]].values.tolist()
    [['c1', 0], ['c1', 1], ['c2', 0], ['c2', 1]]
    """
    cols = ["confounder_id", "sec", "calendar", "asof", "instant_ns", "date_only"]
    if confounders is None or len(confounders) == 0:
        return pd.DataFrame({
            "confounder_id": pd.Series([], dtype=object),
            "sec": pd.Series([], dtype=np.int64),
            "calendar": pd.Series([], dtype=object),
            "asof": pd.Series([], dtype=object),
            "instant_ns": pd.Series([], dtype=np.int64),
            "date_only": pd.Series([], dtype=bool)})
    secs = pd.DataFrame({"sec": np.asarray(sec, dtype=np.int64),
                         "ticker": pairs["ticker"].astype(str).to_numpy(),
                         "group": pairs["group"].astype(str).to_numpy(),
                         "calendar": pairs["calendar"].astype(str).to_numpy(),
                         "asof": np.asarray(asofs, dtype=object)})
    first = secs.drop_duplicates("sec")[["sec", "calendar", "asof"]]
    names = secs[["sec", "ticker", "group"]].drop_duplicates()
    c = confounders[["confounder_id", "scope", "instant_ns", "date_only"]].copy()
    c["_corder"] = np.arange(len(c))
    c["_name"] = c["scope"].map(split_scope)
    c = c.explode("_name")
    star = c["_name"] == ALL_SECURITIES
    parts = [c.loc[star].merge(first[["sec"]], how="cross")]
    named = c.loc[~star]
    for col in ("ticker", "group"):
        parts.append(named.merge(names[["sec", col]], left_on="_name",
                                 right_on=col)[list(c.columns) + ["sec"]])
    cp = pd.concat([p[list(c.columns) + ["sec"]] for p in parts],
                   ignore_index=True)
    cp = (cp.drop_duplicates(["_corder", "sec"])
          .sort_values(["_corder", "sec"], kind="stable")
          .merge(first, on="sec", how="left"))
    return cp[cols].reset_index(drop=True)


def masked_values(values: np.ndarray, all_sec: np.ndarray, all_pos: np.ndarray,
                  sec: np.ndarray, ticker_rows: np.ndarray, pad: int,
                  mask_window: tuple[int, int]) -> np.ndarray:
    """A copy of ``values`` with NaN on each security's own series at the sessions
    within ``mask_window`` of every day 0 concerning it (vectorised).

    Parameters
    ----------
    values
        The ``(series + 1, T)`` returns matrix.
    all_sec, all_pos
        Security code and day-0 position (-1 = none) of every catalog pair and
        confounder pseudo-pair.
    sec, ticker_rows
        ``(P,)`` security code of each pair and its row in ``values``.
    pad
        Column of session 0.
    mask_window
        ``(start, end)`` sessions around each day 0.

    Examples
    --------
    >>> v = np.zeros((2, 6))
    >>> m = masked_values(v, np.array([0]), np.array([2]), np.array([0]),
    ...                   np.array([0]), 1, (-1, 0))
    >>> m[0].tolist(), bool(np.isfinite(m[1]).all())
    ([0.0, 0.0, nan, nan, 0.0, 0.0], True)
    """
    est = values.copy()
    nsec = int(np.max(sec)) + 1 if len(sec) else 0
    row_of = np.full(nsec, values.shape[0] - 1, dtype=np.int64)
    row_of[sec] = ticker_rows
    ok = all_pos >= 0
    offs = np.arange(mask_window[0], mask_window[1] + 1, dtype=np.int64)
    r = np.repeat(row_of[all_sec[ok]], len(offs))
    c = ((pad + all_pos[ok])[:, None] + offs[None, :]).ravel()
    inside = (c >= 0) & (c < values.shape[1])
    est[r[inside], c[inside]] = np.nan
    return est


def factor_values(factors: pd.DataFrame | None, column: str,
                  dates: pd.DatetimeIndex) -> np.ndarray:
    """One factor column on a calendar's sessions, as a ``(T, 1)`` array."""
    if factors is None:
        raise InputError("the factor model needs a factor table "
                         "(factors=... or model.factors in the study file)")
    f = factors
    if column not in f.columns:
        raise InputError(f"factor column {column!r} not in the factor table "
                         f"(columns: {', '.join(map(str, f.columns))})")
    return f[column].reindex(dates).to_numpy(dtype=np.float64)[:, None]


def align(data: pd.DataFrame, events: pd.DataFrame, universe: pd.DataFrame | None, *,
          windows: Windows, spec: ModelSpec, kind: DataKind, default_calendar: str,
          default_benchmark: str, design_of: Callable[[str], Any],
          factors: pd.DataFrame | None, sources: dict[str, str],
          opens: pd.DataFrame | None = None,
          confounders: pd.DataFrame | None = None,
          confounding_window: tuple[int, int] | None = None,
          mask_window: tuple[int, int] | None = None) -> Aligned:
    """Stage 1: pairs, day 0 per calendar, the gather matrix, early exclusions.

    Parameters
    ----------
    data
        The canonical wide frame of prices (``kind="prices"``) or returns.
    events, universe
        Validated event catalog and universe (None when events carry tickers).
    windows, spec
        The study's windows and default model specification.
    kind
        ``"prices"`` or ``"returns"``.
    default_calendar, default_benchmark
        For securities without their own.
    design_of
        Model name -> its design (an object with ``regressors``, a tuple of
        ``(series, lag)``, and ``excess``); built by the estimation layer.
    factors
        Factor table for factor regressors, or None.
    sources
        Input descriptions, for messages.
    opens
        Open prices in ``data``'s layout, or None: the overnight and intraday
        returns of ``spec.day_part`` use them.
    confounders
        Validated confounders (:mod:`eventstudy.inputs.confounders`), or None. Each
        is located on every security of its scope like a catalog event (own
        calendar and as-of); it never becomes a pair.
    confounding_window
        The window (sessions around a pair's day 0) in which another event's or a
        confounder's day 0 confounds the pair; None = the event window.
    mask_window
        With estimation masking: the sessions around each day 0 of a catalog
        event or confounder of a security that leave that security's estimation
        windows (:attr:`Aligned.est_values`); None = no masking.

    Returns
    -------
    Aligned
    """
    w = windows
    pairs, ex_events = pairs_from_events(events, universe, default_calendar,
                                          default_benchmark)
    if len(pairs) == 0:  # no event matched a universe security
        raise NoPairsError(no_pairs_message(ex_events,
                                            sources.get("events", "")),
                           excluded=ex_events.astype(object))
    warnings: list[str] = []
    pairs["model"] = pairs["model"].where(pairs["model"] != "", spec.name)
    model_code_raw, model_names = pd.factorize(pairs["model"], sort=False)
    model_code = model_code_raw.astype(np.int64)
    designs = tuple(design_of(str(m)) for m in model_names)
    reg_keys = sorted({r for d in designs for r in d.regressors})
    needs_rf = any(d.excess for d in designs) and bool(spec.rf_column)
    factor_names = sorted({s.split(":", 1)[1] for s, _ in reg_keys
                           if s != "market"})
    lags = [lag for _, lag in reg_keys] or [0]
    lo_off = min(w.estimation[0], w.event[0]) + min(min(lags), 0)
    hi_off = max(w.estimation[1], w.event[1]) + max(max(lags), 0)
    pad = max(0, -lo_off)
    from_start = w.estimation_mode == "all"
    needs_b_model = np.array([any(s == "market" for s, _ in d.regressors)
                              for d in designs], dtype=bool)

    P = len(pairs)
    history = np.zeros(P, dtype=np.int64)  # sessions from the first price to day 0
    inst = pairs["instant_ns"].to_numpy(dtype=np.int64)
    donly = pairs["date_only"].to_numpy(dtype=bool)
    tickers = pairs["ticker"].to_numpy(dtype=object)
    benches = pairs["benchmark"].to_numpy(dtype=object)
    cal_raw, cal_names = pd.factorize(pairs["calendar"], sort=True)
    asofs = pair_asofs(pairs, sources.get("universe", "the universe"))
    cal = cal_raw.astype(np.int64)
    sec = pd.factorize(pairs["ticker"].astype(str) + "|"
                       + pairs["calendar"].astype(str))[0]
    cp = confounder_pairs(confounders, pairs, sec, asofs)
    c_cal = pd.Index(cal_names).get_indexer(cp["calendar"]).astype(np.int64)
    c_inst = cp["instant_ns"].to_numpy(dtype=np.int64)
    c_donly = cp["date_only"].to_numpy(dtype=bool)
    c_asof = cp["asof"].to_numpy(dtype=object)
    c_pos = np.full(len(cp), -1, dtype=np.int64)
    first = data.index.min()
    last_evt = pd.Timestamp(int(inst.max())).normalize()
    end = max(data.index.max(), last_evt) + pd.Timedelta(days=60)
    start = first - pd.Timedelta(days=7)

    pos = np.full(P, -1, dtype=np.int64)
    rules = np.full(P, "", dtype=object)
    reason = np.full(P, "", dtype=object)
    rows: dict[str, np.ndarray] = {"ticker": np.zeros(P, dtype=np.int64),
                                   "market": np.zeros(P, dtype=np.int64)}
    for f in factor_names:
        rows[f"factor:{f}"] = np.zeros(P, dtype=np.int64)
    if needs_rf:
        rows["rf"] = np.zeros(P, dtype=np.int64)
    blocks: list[tuple[int, np.ndarray]] = []  # (calendar, (T_c, n) returns)
    cal_dates: list[np.ndarray] = []
    base = 0
    for ci, cname in enumerate(cal_names):
        sel = np.flatnonzero(cal == ci)
        sess = get_sessions(str(cname), start, end)
        # day 0 per (calendar, as-of): each as-of gives its own instants
        p = np.full(len(sel), -1, dtype=np.int64)
        for a in pd.unique(asofs[sel]):
            sub = np.flatnonzero(asofs[sel] == a)
            p_a, rule = locate_day0_asof(sess, str(a), inst[sel[sub]],
                                         donly[sel[sub]], w.day0_rule)
            p[sub] = p_a
            rules[sel[sub]] = rule
        pos[sel] = p
        csel = np.flatnonzero(c_cal == ci)
        for a in pd.unique(c_asof[csel]):  # the confounders, as their pairs
            sub = csel[c_asof[csel] == a]
            c_pos[sub] = locate_day0_asof(sess, str(a), c_inst[sub], c_donly[sub],
                                          w.day0_rule)[0]
        tick = tickers[sel]
        bench = benches[sel]
        u = pd.unique(np.concatenate([tick, bench]))
        cols = [str(c) for c in u if c != "" and c in data.columns]
        vals, off = on_sessions(data[cols], sess.dates)
        for tkr, cnt in off.items():
            warnings.append(f"{tkr}: {cnt} price(s) dated on days that are not "
                            f"{cname} sessions were not used")
        rets = vals if kind == "returns" else day_part_returns(
            vals, None if opens is None else on_sessions(
                opens.reindex(columns=cols), sess.dates)[0],
            spec.returns, spec.day_part)
        index = pd.Index(cols)
        tcol = _columns_of(index, tick)
        bcol = _columns_of(index, bench)
        extra = [factor_values(factors, f, sess.dates) for f in factor_names]
        if needs_rf:
            extra.append(factor_values(factors, spec.rf_column, sess.dates))
        block = np.concatenate([rets] + extra, axis=1) if extra else rets
        blocks.append((base, block))
        cal_dates.append(sess.dates.as_unit("ns").asi8)
        nc = len(cols)
        # row -1 marks "no series" and is mapped to the all-NaN row below
        rows["ticker"][sel] = np.where(tcol >= 0, base + tcol, -1)
        rows["market"][sel] = np.where(bcol >= 0, base + bcol, -1)
        for fi, f in enumerate(factor_names):
            rows[f"factor:{f}"][sel] = base + nc + fi
        if needs_rf:
            rows["rf"][sel] = base + nc + len(factor_names)
        base += block.shape[1]
        # exclusions in order of precedence
        has = np.isfinite(vals)
        anyv = has.any(axis=0)
        firstpos = np.where(anyv, has.argmax(axis=0), -1)
        lastpos = np.where(anyv, len(has) - 1 - has[::-1].argmax(axis=0), -1)
        r_ = np.full(len(sel), "", dtype=object)
        needs_b = needs_b_model[model_code[sel]]
        r_[(bcol < 0) & needs_b] = "benchmark has no prices"
        # a security regressed on itself: R = R_m, so sigma = 0 and every AR is 0
        r_[np.asarray(tick == bench, dtype=bool) & needs_b] = SELF_BENCHMARK
        r_[tcol < 0] = "ticker has no prices"
        r_[(p < 0) & (r_ == "")] = "event outside the calendar range"
        tc = np.clip(tcol, 0, None)
        fp = np.where(tcol >= 0, firstpos[tc] if nc else -1, -1)
        lp = np.where(tcol >= 0, lastpos[tc] if nc else -1, -1)
        r_[(r_ == "") & (p > lp)] = "event after the last price"
        r_[(r_ == "") & (p < fp)] = "event before the first price"
        reason[sel] = r_
        history[sel] = np.where(r_ == "", p - fp, 0)

    gather = None
    if from_start:
        # one fixed window from the earliest first price of the candidates: a
        # pair with less history sees NaN (no data) at its early positions
        gather = w.from_start(-int(history.max(initial=0)))
        lo_off = min(gather.estimation[0], w.event[0]) + min(min(lags), 0)
        live = reason == ""
        lowest = int(pos[live].min()) if live.any() else 0
        pad = max(0, -lo_off - lowest)
    # before the sessions (which start a week before the data) is no day 0: the
    # locator would give the first session
    c_pos[c_inst < (start - pd.Timedelta(days=1)).value] = -1
    # one NaN-padded (series, time) matrix for every calendar; last row all NaN
    tmax = max((len(d) for d in cal_dates), default=0)
    T = pad + tmax + max(hi_off, 0) + 1
    values = np.full((base + 1, T), np.nan)
    for (b0, block), d in zip(blocks, cal_dates, strict=True):
        values[b0:b0 + block.shape[1], pad:pad + len(d)] = block.T
    dates = np.full((len(cal_dates), T), -1, dtype=np.int64)
    for ci, d in enumerate(cal_dates):
        dates[ci, pad:pad + len(d)] = d
    for key, r in rows.items():
        rows[key] = np.where(r >= 0, r, base)

    window = w.event if confounding_window is None else confounding_window
    ids = pairs["event_id"].to_numpy(dtype=object)
    c_sec = cp["sec"].to_numpy(dtype=np.int64)
    if len(cp):  # the confounders' pseudo-pairs are labelled too, then dropped
        confounded_by = confounding_labels(
            np.concatenate([ids, cp["confounder_id"].to_numpy(dtype=object)]),
            np.concatenate([sec, c_sec]), np.concatenate([pos, c_pos]),
            window)[:P]
    else:
        confounded_by = confounding_labels(ids, sec, pos, window)
    est_values = None
    if mask_window is not None:
        early = inst < (start - pd.Timedelta(days=1)).value
        est_values = masked_values(values, np.concatenate([sec, c_sec]),
                                   np.concatenate([np.where(early, -1, pos), c_pos]),
                                   sec,
                                   rows["ticker"], pad, mask_window)
    return Aligned(
        pairs=pairs, excluded_events=ex_events, reason=reason,
        cand=np.flatnonzero(reason == ""), cal=cal, pos=pos, rules=rules,
        model_code=model_code, designs=designs, rows=rows, values=values,
        dates=dates, pad=pad, needs_rf=needs_rf, confounded_by=confounded_by,
        warnings=warnings, est_values=est_values, windows=gather,
        from_start=from_start)
