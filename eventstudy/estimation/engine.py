"""The event-study engine: align, stack, estimate, abnormal returns, tests.

:class:`EventStudy` validates its inputs once, at construction.
:meth:`EventStudy.fit` never changes the model and returns a frozen
:class:`~eventstudy.results.EventStudyResults`.

Pipeline (every stage works on all (event, security) pairs at once; no Python loop
runs per event or per pair):

1. **align**: pairs from events x universe groups (or one ticker per event); day 0 of
   each event on each calendar in use (:func:`eventstudy.inputs.calendar.locate_day0`);
   returns on each calendar's sessions, laid out as one NaN-padded
   ``(series, sessions)`` matrix so that any pair's window is one contiguous slice;
   exclusions known before estimation; the confounding flags.
2. **stack**: the estimation and event windows of a chunk of pairs gathered into
   ``(P, L)`` arrays by index arithmetic (a sliding-window view), NaN = missing.
3. **estimate**: batched least squares per model (:mod:`eventstudy.estimation.models`).
4. **AR/CAR**: abnormal returns, standardised ARs with the prediction-error correction,
   CARs and their variance including estimation error.

   Stages 2-4 run chunk by chunk (``chunk_size`` pairs at a time, automatic from a
   memory budget) on a small thread pool; every pair's numbers depend on its own row
   only, so the results are bitwise identical whatever the chunk size or the number
   of threads.
5. **tests**: every selected statistic per scope (all, group, event, event x group) and
   window (each event day, each CAR window) by grouped reductions
   (:mod:`eventstudy.inference`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from eventstudy.config import Conventions, ModelSpec, Study, Windows
from eventstudy.errors import InputError, NoPairsError, UnknownNameError
from eventstudy.estimation.containers import (
    AbnormalReturns,
    Aligned,
    ChunkOut,
    Estimates,
    Stacked,
)
from eventstudy.estimation.models import (
    Design,
    estimate,
    leverage,
    make_design,
    predict,
    slope_rows,
    window_leverage,
)
from eventstudy.inputs.calendar import WindowDates, get_sessions, locate_day0
from eventstudy.inputs.events import (
    events_from_frame,
    split_groups,
    universe_from_frame,
)
from eventstudy.inputs.prices import prices_from_frame
from eventstudy.inputs.returns import on_sessions, to_returns

if TYPE_CHECKING:
    from eventstudy.results import EventStudyResults

DataKind = Literal["prices", "returns"]

DEFAULT_MAX_MEMORY = 512 * 2**20
"""Default memory budget (bytes) of the chunk working set of stages 2-4."""
MAX_CHUNK = 1024
"""Largest automatic chunk: bigger chunks stop fitting the CPU caches and glibc's
heap (see :func:`_raise_malloc_threshold`)."""
MANY_EVENTS = 1000
"""Above this many events, ``fit(scopes=None)`` runs only the all and group scopes."""
KERNELS = ("auto", "numpy", "numba")
"""Implementations of stages 2-4 (:meth:`EventStudy.fit` ``kernel``)."""
FUSED_MIN_PAIRS = 20_000
"""``kernel="auto"`` compiles the market-model kernel (numba) from this many
candidate pairs: below, importing numba costs more than it saves."""
SCHEDULERS = ("local", "dask")
"""Named execution backends of :meth:`EventStudy.fit`; a Dask scheduler address
(``tcp://host:port``, ``tls://...``) is accepted too."""
ADDRESS_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")
SELF_BENCHMARK = "benchmark is the security itself"
"""Exclusion reason: the pair's benchmark is its own ticker (R = R_m, so the market
model fits exactly, sigma = 0 and every AR is 0)."""
ZERO_SIGMA = "zero residual variance in the estimation window"
"""Exclusion reason: sigma^2 = 0 (or not finite): SAR = AR / sigma is undefined and
the pair's zero ARs would count as information."""
SINGULAR = ("the model cannot be estimated: a regressor (the benchmark or a factor) "
            "is constant in the estimation window")
"""Exclusion reason: a singular design (e.g. a benchmark with a constant price),
so alpha and beta are not defined."""
R2_EXACT = 1.0 - 1e-12
"""An R^2 at or above this is an exact fit up to rounding: SSR / SST <= 1e-12, i.e.
a residual SD below a millionth of the return's SD (:func:`_degenerate_fits`)."""


def resolve_workers(workers: int | None) -> int:
    """The number of threads or Dask workers for ``workers``.

    ``None`` and ``0`` mean automatic: ``min(2, os.cpu_count())``, the same in
    :meth:`EventStudy.fit`, the Dask backend and :func:`eventstudy.simulate`.

    Raises
    ------
    InputError
        ``workers`` is negative or not a whole number.

    Examples
    --------
    >>> resolve_workers(3), resolve_workers(0) == resolve_workers(None) >= 1
    (3, True)
    """
    if workers is None or (isinstance(workers, (int, np.integer))
                           and not isinstance(workers, bool) and workers == 0):
        return max(1, min(2, os.cpu_count() or 1))
    if (isinstance(workers, bool) or not isinstance(workers, (int, np.integer))
            or workers < 0):
        raise InputError(f"workers = {workers!r}: give a whole number of threads or "
                         "Dask workers, or 0 (or None) for automatic")
    return int(workers)


def _degenerate_fits(reason: np.ndarray, cand: np.ndarray, out: ChunkOut) -> None:
    """Exclude, in place in ``reason``, the candidates still kept whose fit is
    degenerate: a singular design (alpha not finite: :data:`SINGULAR`) or a zero
    residual variance (:data:`ZERO_SIGMA`).

    sigma^2 is zero when sigma^2 <= 0, not finite, or R^2 >= :data:`R2_EXACT`
    (an exact fit up to rounding: a benchmark that duplicates the security under
    another ticker, a stale series). Such a pair's SARs (AR / sigma) are undefined
    and its ARs are 0 by construction, so counting them would pull every test
    towards "no effect". The same rule applies to the numpy and numba kernels and
    to Dask, since it reads the gathered outputs.
    """
    live = reason[cand] == ""
    with np.errstate(invalid="ignore"):
        singular = live & ~np.isfinite(out.alpha)
        zero = (live & ~singular
                & (~np.isfinite(out.sigma2) | (out.sigma2 <= 0.0)
                   | (np.isfinite(out.r2) & (out.r2 >= R2_EXACT))))
    reason[cand[singular]] = SINGULAR
    reason[cand[zero]] = ZERO_SIGMA


def empty_scopes_warning(tests: pd.DataFrame) -> str:
    """One line saying which tests rows are NaN because no pair of their scope has
    data in their window (``n = 0``), per test; ``""`` when there are none.

    Such a row is kept (the table stays complete) with a NaN statistic and p-value;
    this line, in ``run.json`` and the report, gives the reason.

    Examples
    --------
    >>> t = pd.DataFrame({"test": ["bmp", "bmp", "csect_t"], "n": [0, 3, 0],
    ...                   "statistic": [np.nan, 1.0, np.nan]})
    >>> empty_scopes_warning(t)[-50:]
    'has data in their window (n = 0): bmp 1, csect_t 1'
    """
    if tests.empty:
        return ""
    none = tests["n"].to_numpy() == 0
    if not none.any():
        return ""
    per = tests.loc[none, "test"].astype(str).value_counts(sort=False)
    order = list(dict.fromkeys(tests["test"].astype(str)))
    parts = [f"{t} {int(per[t])}" for t in order if t in per.index]
    return (f"tests: {int(none.sum())} row(s) have no statistic (NaN) because no "
            f"pair of their scope has data in their window (n = 0): "
            f"{', '.join(parts)}")


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


def check_scheduler(scheduler: str, *, require_dask: bool = True) -> None:
    """Raise unless ``scheduler`` is ``local``, ``dask`` or a scheduler address.

    With ``require_dask`` (as in :meth:`EventStudy.fit`), ``dask`` and addresses
    also raise :class:`~eventstudy.errors.SchedulerError` when dask is not
    installed (before any work is done); without it only the spelling is checked
    (e.g. when a study file is read).

    Examples
    --------
    >>> check_scheduler("local")
    >>> check_scheduler("threads")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eventstudy.errors.UnknownNameError: unknown scheduler 'threads'; use local, ...
    """
    if scheduler == "local":
        return
    if scheduler != "dask" and not (isinstance(scheduler, str)
                                    and scheduler.startswith(ADDRESS_SCHEMES)):
        raise UnknownNameError(f"unknown scheduler {scheduler!r}; use local, dask or "
                               "a Dask scheduler address such as tcp://host:8786")
    if not require_dask:
        return
    from eventstudy.execution.dask import require_distributed

    require_distributed()


def _raise_malloc_threshold() -> None:
    """Allocate and free one 31 MiB block (never touched, so almost free).

    glibc serves large blocks with mmap until one such block is freed, and then
    raises its mmap threshold to that block's size (and its trim threshold to
    twice that). Without this, every multi-megabyte temporary of a chunk is a
    fresh mmap whose pages fault in one by one, which costs 2-4x the arithmetic.
    Nothing is configured: this is an ordinary allocation pattern.
    """
    block = np.empty(31 * 2**20 // 8)
    del block


def chunk_bytes_per_pair(le: int, w: int, k: int, c: int) -> int:
    """Working memory of stages 2-4 per pair (bytes), for the automatic chunk size.

    Counts the float64 temporaries of the gather, the batched OLS (centred regressors,
    residuals, masks) and the AR/CAR step for a model with ``k`` regressors.
    """
    est = le * (14 + 8 * k + 2 * k * k)
    evt = w * (16 + 4 * k) + c * 4
    return 8 * (est + evt)


def auto_chunk_size(le: int, w: int, k: int, c: int, workers: int,
                    max_memory: int | None) -> int:
    """Pairs per chunk so that ``workers`` chunks in flight fit ``max_memory``.

    Capped at :data:`MAX_CHUNK` (cache-friendly) and at least 64.
    """
    budget = DEFAULT_MAX_MEMORY if max_memory is None else int(max_memory)
    per = chunk_bytes_per_pair(le, w, k, c) * max(1, workers)
    return int(min(MAX_CHUNK, max(64, budget // per)))


def chunk_spans(n: int, size: int) -> list[tuple[int, int]]:
    """The ``(lo, hi)`` candidate spans of ``size`` pairs (the last one shorter).

    A trailing one-pair chunk is merged into the one before it, so that no chunk has
    a single row (the same array shapes as an unchunked run).

    Examples
    --------
    >>> chunk_spans(10, 4), chunk_spans(9, 4), chunk_spans(0, 4)
    ([(0, 4), (4, 8), (8, 10)], [(0, 4), (4, 9)], [])
    """
    bounds = list(range(0, n, size))
    if len(bounds) > 1 and n - bounds[-1] == 1:
        bounds.pop()
    return [(lo, bounds[i + 1] if i + 1 < len(bounds) else n)
            for i, lo in enumerate(bounds)]


def _pairs_from_events(events: pd.DataFrame, universe: pd.DataFrame | None,
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
            for col in ("group", "calendar", "benchmark", "model"):
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
            pairs.loc[pairs[col] == "", col] = default
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
            pairs.loc[pairs[col] == "", col] = default
    o = pairs["_order"].to_numpy()
    uo = pairs["_uorder"].to_numpy()
    ordered = bool(np.all((o[1:] > o[:-1]) | ((o[1:] == o[:-1]) & (uo[1:] >= uo[:-1]))))
    if not ordered:
        pairs = pairs.sort_values(["_order", "_uorder"], kind="stable")
    pairs = pairs.reset_index(drop=True)
    return pairs, excluded


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
        The event window ``(start, end)`` in sessions.

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
    """
    import pyarrow as pa
    import pyarrow.compute as pc

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
    count = np.where(ok, hi - lo - 1, 0)
    flagged = np.flatnonzero(count > 0)
    if len(flagged) == 0:
        return labels
    # every match of every flagged pair, then drop the pair itself
    n_in = (hi - lo)[flagged]
    starts = np.repeat(lo[flagged] - np.cumsum(n_in) + n_in, n_in)
    k = starts + np.arange(int(n_in.sum()))
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


class EventStudy:
    """An event study on in-memory data.

    Parameters
    ----------
    data
        Prices or returns, wide (date index or ``date`` column plus one column per
        ticker) or long (``date, ticker, close``).
    events
        Event table: ``event_id``, ``timestamp`` and ``groups`` (with a universe) or
        ``ticker`` (one security per event; optional ``calendar``/``benchmark``).
    universe
        Universe table (``ticker, group, calendar, benchmark`` ...); None when events
        carry tickers.
    model
        Default normal-return model name, or a :class:`~eventstudy.config.ModelSpec`.
    windows
        Estimation/event/CAR windows; default ``Windows()``.
    kind
        Whether ``data`` holds ``"prices"`` or ``"returns"``.
    calendar
        Calendar for securities without one (default ``XNYS``).
    benchmark
        Benchmark ticker for securities without one.
    factors
        Factor table (date + factor columns) for the ``factor`` model.
    confounding
        ``"flag"`` marks pairs with another catalog event inside their event window;
        ``"exclude"`` also removes them (listed in ``excluded``).

    Raises
    ------
    InputError
        Invalid data, events, universe or options.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> dates = pd.bdate_range("2023-01-02", periods=400)
    >>> m = rng.normal(0, 0.01, 400)
    >>> r = pd.DataFrame({"MKT": m, "A": 0.5 * m + rng.normal(0, 0.01, 400)},
    ...                  index=dates)
    >>> ev = pd.DataFrame({"event_id": ["e1"], "timestamp": ["2024-03-01"],
    ...                    "ticker": ["A"]})
    >>> res = EventStudy(r, ev, kind="returns", calendar="FX", benchmark="MKT",
    ...                  windows=Windows(car=((0, 0),))).fit(tests=("csect_t",))
    >>> len(res.abnormal_returns)
    21
    """

    def __init__(
        self,
        data: pd.DataFrame,
        events: pd.DataFrame,
        universe: pd.DataFrame | None = None,
        *,
        model: str | ModelSpec = "market",
        windows: Windows | None = None,
        kind: DataKind = "prices",
        returns: Literal["simple", "log"] = "simple",
        calendar: str = "XNYS",
        benchmark: str = "",
        factors: pd.DataFrame | None = None,
        confounding: Literal["flag", "exclude"] = "flag",
        sources: dict[str, str] | None = None,
    ) -> None:
        src = sources or {}
        self._setup(
            data, events_from_frame(events, source=src.get("events", "<events>")),
            (universe_from_frame(universe, source=src.get("universe", "<universe>"))
             if universe is not None else None),
            model=model, windows=windows, kind=kind, returns=returns,
            calendar=calendar, benchmark=benchmark, factors=factors,
            confounding=confounding, sources=sources)

    def _setup(
        self,
        data: pd.DataFrame,
        events: pd.DataFrame,
        universe: pd.DataFrame | None,
        *,
        model: str | ModelSpec,
        windows: Windows | None,
        kind: DataKind,
        returns: Literal["simple", "log"],
        calendar: str,
        benchmark: str,
        factors: pd.DataFrame | None,
        confounding: Literal["flag", "exclude"],
        sources: dict[str, str] | None,
    ) -> None:
        """Check the options and store the inputs (events and universe already
        validated)."""
        if kind not in ("prices", "returns"):
            raise UnknownNameError(f"kind must be 'prices' or 'returns', not {kind!r}")
        spec = model if isinstance(model, ModelSpec) else ModelSpec(
            name=model, returns=returns)  # type: ignore[arg-type]
        make_design(spec.name)  # validates the name
        if confounding not in ("flag", "exclude"):
            raise UnknownNameError("confounding must be 'flag' or 'exclude'")
        self._data = prices_from_frame(data, source=(sources or {}).get("prices",
                                                                       "<data>"))
        self._events = events
        self._universe = universe
        self._spec = spec
        self._windows = windows or Windows()
        self._kind: DataKind = kind
        self._calendar = calendar
        self._benchmark = benchmark
        self._factors = factors
        self._confounding = confounding
        self._sources = dict(sources or {})

    # ------------------------------------------------------------------ properties
    @property
    def windows(self) -> Windows:
        """The study's windows."""
        return self._windows

    @property
    def model(self) -> ModelSpec:
        """The default model specification."""
        return self._spec

    @property
    def events(self) -> pd.DataFrame:
        """A copy of the validated events."""
        return self._events.copy()

    @classmethod
    def from_study(cls, study: Study, prices: pd.DataFrame,
                   sources: dict[str, str] | None = None) -> EventStudy:
        """Build from a parsed :class:`~eventstudy.config.Study` and a price frame."""
        from eventstudy.inputs.events import load_events, load_universe

        events = load_events(study.events)
        universe = load_universe(study.universe) if study.universe else None
        factors = None
        if study.model.factors is not None:
            factors = load_factors(study.model.factors, study.model)
        src = {"events": str(study.events), "universe": str(study.universe or "")}
        src.update(sources or {})
        # load_events / load_universe validated the files: not a second time
        obj = cls.__new__(cls)
        obj._setup(prices, events, universe, model=study.model,
                   windows=study.windows, kind="prices", returns=study.model.returns,
                   calendar="XNYS", benchmark="", factors=factors,
                   confounding=study.confounding, sources=src)
        return obj

    # ------------------------------------------------------------------ stages
    def _align(self) -> Aligned:
        """Stage 1: pairs, day 0 per calendar, the gather matrix, early exclusions."""
        w = self._windows
        spec = self._spec
        pairs, ex_events = _pairs_from_events(self._events, self._universe,
                                              self._calendar, self._benchmark)
        if len(pairs) == 0:  # no event matched a universe security
            raise NoPairsError(no_pairs_message(ex_events,
                                                self._sources.get("events", "")),
                               excluded=ex_events.astype(object))
        warnings: list[str] = []
        pairs["model"] = pairs["model"].where(pairs["model"] != "", spec.name)
        model_code_raw, model_names = pd.factorize(pairs["model"], sort=False)
        model_code = model_code_raw.astype(np.int64)
        designs = tuple(self._design(str(m)) for m in model_names)
        reg_keys = sorted({r for d in designs for r in d.regressors})
        needs_rf = any(d.excess for d in designs) and bool(spec.rf_column)
        factor_names = sorted({s.split(":", 1)[1] for s, _ in reg_keys
                               if s != "market"})
        lags = [lag for _, lag in reg_keys] or [0]
        lo_off = min(w.estimation[0], w.event[0]) + min(min(lags), 0)
        hi_off = max(w.estimation[1], w.event[1]) + max(max(lags), 0)
        pad = max(0, -lo_off)
        needs_b_model = np.array([any(s == "market" for s, _ in d.regressors)
                                  for d in designs], dtype=bool)

        P = len(pairs)
        data = self._data
        inst = pairs["instant_ns"].to_numpy(dtype=np.int64)
        donly = pairs["date_only"].to_numpy(dtype=bool)
        tickers = pairs["ticker"].to_numpy(dtype=object)
        benches = pairs["benchmark"].to_numpy(dtype=object)
        cal_raw, cal_names = pd.factorize(pairs["calendar"], sort=True)
        cal = cal_raw.astype(np.int64)
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
            p, rule = locate_day0(sess, inst[sel], donly[sel])
            pos[sel] = p
            rules[sel] = rule
            tick = tickers[sel]
            bench = benches[sel]
            u = pd.unique(np.concatenate([tick, bench]))
            cols = [str(c) for c in u if c != "" and c in data.columns]
            vals, off = on_sessions(data[cols], sess.dates)
            for tkr, cnt in off.items():
                warnings.append(f"{tkr}: {cnt} price(s) dated on days that are not "
                                f"{cname} sessions were not used")
            rets = vals if self._kind == "returns" else to_returns(vals, spec.returns)
            index = pd.Index(cols)
            tcol = index.get_indexer(pd.Index(tick)).astype(np.int64)
            bcol = index.get_indexer(pd.Index(bench)).astype(np.int64)
            extra = [self._factor_values(f, sess.dates) for f in factor_names]
            if needs_rf:
                extra.append(self._factor_values(spec.rf_column, sess.dates))
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

        sec = pd.factorize(pairs["ticker"].astype(str) + "|"
                           + pairs["calendar"].astype(str))[0]
        confounded_by = confounding_labels(pairs["event_id"].to_numpy(dtype=object),
                                           sec, pos, w.event)
        return Aligned(
            pairs=pairs, excluded_events=ex_events, reason=reason,
            cand=np.flatnonzero(reason == ""), cal=cal, pos=pos, rules=rules,
            model_code=model_code, designs=designs, rows=rows, values=values,
            dates=dates, pad=pad, needs_rf=needs_rf, confounded_by=confounded_by,
            warnings=warnings)

    def _run(self, conv: Conventions, chunk_size: int | None, max_memory: int | None,
             workers: int | None, step: Callable[[str], None],
             day0_shift: float = 0.0, scheduler: str = "local",
             progress: bool = False, kernel: str = "auto"
             ) -> tuple[Stacked, Estimates, AbnormalReturns, dict[str, float]]:
        """Stages 1-4: align, then gather/estimate/AR chunk by chunk; compact.

        The chunks run on a thread pool (``scheduler="local"``) or as Dask tasks
        (:func:`eventstudy.execution.dask.run_spans`); either way their arrays land in
        the same preallocated :class:`ChunkOut`, and everything after is shared.
        """
        t0 = time.perf_counter()
        _raise_malloc_threshold()
        w = self._windows
        a = self._align()
        if kernel == "numba" or (kernel == "auto" and len(a.cand) >= FUSED_MIN_PAIRS):
            from eventstudy.estimation.kernels import available

            if available():
                a = replace(a, fused=True)
            elif kernel == "numba":
                raise InputError('kernel="numba" needs numba: pip install numba '
                                 '(or pip install "eventstudy[fast]")')
        t_align = time.perf_counter()
        step("estimate")
        Le, W, C = w.estimation_length, w.event_length, len(w.car)
        n = len(a.cand)
        nw = resolve_workers(workers)
        kmax = max((len(d.regressors) for d in a.designs), default=0)
        size = (int(chunk_size) if chunk_size is not None else
                auto_chunk_size(Le, W, kmax, C, nw, max_memory))
        if size < 1:
            raise InputError(f"chunk_size must be at least 1, not {chunk_size}")
        spans = chunk_spans(n, size)
        out = ChunkOut.empty(n, Le, W, C)
        extra: dict[str, float] = {}
        if scheduler != "local":
            from eventstudy.execution.dask import run_spans

            parts, extra = run_spans(a, out, w, conv, spans, day0_shift,
                                     scheduler=scheduler, workers=nw,
                                     progress=progress)
            nw = int(extra.pop("workers"))
        else:
            def job(span: tuple[int, int]) -> tuple[float, float, float]:
                with np.errstate(divide="ignore", invalid="ignore"):
                    return _chunk(a, out, w, conv, span[0], span[1], day0_shift)

            if nw == 1 or len(spans) <= 1:
                parts = [job(s) for s in spans]
            else:
                with ThreadPoolExecutor(max_workers=nw) as pool:
                    parts = list(pool.map(job, spans))
        t_loop = time.perf_counter()
        step("abnormal returns")
        # exclusions decided after estimation, then keep the rest in place
        reason = a.reason.copy()
        nest_all = np.zeros(len(reason), dtype=np.int64)
        nest_all[a.cand] = out.nest
        few = np.zeros(len(reason), dtype=bool)
        few[a.cand] = out.nest < w.min_estimation_obs
        if few.any():
            reason[few] = ("only " + pd.Series(nest_all[few]).astype(str)
                           + f" estimation returns (minimum {w.min_estimation_obs})"
                           ).to_numpy(dtype=object)
        _degenerate_fits(reason, a.cand, out)
        if self._confounding == "exclude":
            conf = (reason == "") & (a.confounded_by != "")
            if conf.any():
                reason[conf] = ("confounded by event(s) "
                                + pd.Series(a.confounded_by[conf]).astype(str)
                                + " inside the event window").to_numpy(dtype=object)
        if conv.weights:
            wv = pair_weights(a.pairs, self._universe, conv.weights)
            badw = (reason == "") & ~(np.isfinite(wv) & (wv > 0))
            reason[badw] = (f"value weight {conv.weights!r} is missing, zero or "
                            "negative")
            a.pairs["weight"] = wv
        keep = reason == ""
        zero = np.full(len(reason), np.nan)
        zero[a.cand] = out.zero_share
        out.compact(keep[a.cand])
        pairs = self._label_pairs(a, keep, nest_all, zero)
        bad = np.flatnonzero(reason != "")
        ex = pd.DataFrame({
            "event_id": a.pairs["event_id"].to_numpy(dtype=object)[bad],
            "ticker": a.pairs["ticker"].to_numpy(dtype=object)[bad],
            "reason": reason[bad]})
        if len(a.excluded_events):
            ex = pd.concat([a.excluded_events, ex], ignore_index=True)
        ex = ex.astype(object).reset_index(drop=True)
        kept = a.cand[keep[a.cand]]
        est_dates = WindowDates(a.dates, a.cal[kept],
                                a.pad + a.pos[kept] + w.estimation[0],
                                w.estimation_length)
        st = Stacked(pairs=pairs, ret_evt=out.ret_evt, est_dates=est_dates,
                     evt_dates=out.evt_dates, excluded=ex, warnings=a.warnings)
        est = Estimates(alpha=out.alpha, beta=out.beta, sigma2=out.sigma2,
                        nobs=out.nobs, dof=out.dof, k=out.k, r2=out.r2,
                        normal=out.normal, lev=out.lev, resid=out.resid)
        ar = AbnormalReturns(ar=out.ar, sar=out.sar, day_var=out.day_var, car=out.car,
                             car_var=out.car_var, car_days=out.car_days)
        t_end = time.perf_counter()
        # per-chunk stage times are summed over threads (or workers); scale them to
        # wall time
        g, e, r = (sum(p[i] for p in parts) for i in range(3))
        busy = g + e + r
        cluster = extra.get("cluster", 0.0)
        loop = t_loop - t_align - cluster
        scale = loop / busy if busy > 0 else 0.0
        if scheduler != "local":
            # workers' compute in wall time; the rest is moving results to this
            # process (serialise, send, copy in): "collect"
            scale = min(scale, 1.0 / nw)
            extra["collect"] = max(0.0, loop - busy * scale)
        timings = {"align": t_align - t0, "stack": g * scale,
                   "estimate": e * scale, "ar_car": r * scale + (t_end - t_loop),
                   "chunks": float(len(spans)), "chunk_size": float(size),
                   "workers": float(nw), **extra}
        return st, est, ar, timings

    def _label_pairs(self, a: Aligned, keep: np.ndarray, nest: np.ndarray,
                     zero_share: np.ndarray) -> pd.DataFrame:
        """The kept pairs' table with day 0, estimation counts and confounding."""
        pairs = a.pairs
        P = len(pairs)
        d0 = np.full(P, -1, dtype=np.int64)
        okp = a.pos >= 0
        d0[okp] = a.dates[a.cal[okp], a.pad + a.pos[okp]]
        pairs["zero_share"] = zero_share
        pairs["day0_pos"] = a.pos
        pairs["day0_rule"] = a.rules
        pairs["day0"] = pd.to_datetime(np.where(d0 >= 0, d0, np.iinfo(np.int64).min))
        pairs["n_est"] = nest
        pairs["confounded_by"] = a.confounded_by
        return pairs.loc[keep].reset_index(drop=True)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        tests: Sequence[str] = ("csect_t", "patell", "bmp"),
        conventions: Conventions | None = None,
        *,
        scopes: Sequence[str] | None = None,
        chunk_size: int | None = None,
        max_memory: int | None = None,
        workers: int | None = None,
        scheduler: str = "local",
        seed: int = 12345,
        bootstrap_reps: int = 999,
        progress: Callable[[str], None] | None = None,
        day0_shift: float = 0.0,
        kernel: str = "auto",
    ) -> EventStudyResults:
        """Estimate the normal-return models, compute ARs, CARs and the tests.

        Parameters
        ----------
        tests
            Test names from :data:`eventstudy.inference.TESTS`.
        conventions
            Statistical conventions (default: textbook).
        scopes
            Test scopes among ``all, group, event, event_group``. None: all four
            with at most 1,000 events (:data:`MANY_EVENTS`), else ``("all",
            "group")`` (one pair per event makes the per-event scopes as large as
            the data).
        chunk_size
            Pairs gathered, estimated and abnormal-returned at a time. None: as many
            as fit ``max_memory`` (at most :data:`MAX_CHUNK`). The results do not
            depend on it (bitwise).
        max_memory
            Memory budget in bytes for the chunk working set of all threads
            (default :data:`DEFAULT_MAX_MEMORY`); the per-pair outputs come on top.
        workers
            With ``scheduler="local"``, threads over chunks; with ``"dask"``, the
            worker processes of the local Dask cluster; ignored for a scheduler
            address (the cluster's workers are used). ``None`` or ``0``: automatic
            (up to 2 CPU cores, :func:`resolve_workers`), as ``workers = 0`` in the
            study file and in :func:`eventstudy.simulate`. The results do not
            depend on it.
        scheduler
            Where stages 2-4 run, chunk by chunk (see :data:`SCHEDULERS`):
            ``"local"`` (threads in this process), ``"dask"`` (a
            ``dask.distributed.LocalCluster`` of ``workers`` single-threaded
            processes, started and closed by this call) or a scheduler address
            such as ``"tcp://10.0.0.5:8786"`` (an existing cluster). The aligned
            returns reach each worker once; each task returns its chunk's arrays
            and the tests run here on the gathered arrays, so the results are
            identical to the local run (bitwise for ARs and CARs). Dask needs
            ``pip install "eventstudy[dask]"``; see ``docs/cluster.md``.
        seed, bootstrap_reps
            For resampling tests; ``bootstrap_reps`` must be at least 1, and at
            least 2 with the ``boot`` test (the SD of the resampled means needs
            two): it is refused, not turned into empty statistics.
        progress
            Optional callback receiving each stage's name. With a Dask scheduler it
            also turns on a progress bar over the tasks (tqdm, on stderr when that
            is a terminal).
        day0_shift
            An abnormal return added to every pair's day-0 return after the
            estimation window is gathered (Brown & Warner simulations); 0 for real
            studies.
        kernel
            Implementation of stages 2-4 for market-model pairs: ``"numpy"``
            (batched array operations), ``"numba"`` (the compiled one-pass kernel of
            :mod:`~eventstudy.estimation.kernels`; needs numba) or ``"auto"`` (default:
            numba
            from :data:`FUSED_MIN_PAIRS` candidate pairs when it is installed, else
            numpy). Both give the same numbers up to the order of additions (about
            1e-16 relative); a study's results never depend on the chunking.
            Other models, excess returns, ``market_moments = "window"`` and BHAR
            always use numpy.

        Returns
        -------
        EventStudyResults
            A new, frozen results object; the model is left unchanged.
            ``results.timings`` holds the wall seconds of each stage; with a Dask
            scheduler also ``cluster`` (start or connect, send the aligned data,
            close), ``collect`` (move the chunks' outputs here) and ``tasks``.

        Raises
        ------
        UnknownNameError
            An unknown test, scope or scheduler.
        InputError
            ``bootstrap_reps < 1``, a negative ``workers``, or a bad option.
        NoPairsError
            Every pair was excluded: the message counts the pairs per reason and
            the error's ``excluded`` holds the table. Pairs are excluded, with
            their reason, for the causes in the README and also when the benchmark
            is the security itself (:data:`SELF_BENCHMARK`), when the estimation
            residual variance is zero or not finite (:data:`ZERO_SIGMA`) and when
            the design is singular (:data:`SINGULAR`).
        SchedulerError
            Dask is not installed, the cluster cannot be started or reached, or a
            chunk failed on every attempt (its candidate span is named).
        """
        from eventstudy.inference import SCOPES, TESTS, PairData, run_tests
        from eventstudy.results import EventStudyResults

        conv = conventions or Conventions()
        if conv.weights:
            self._check_weights(conv)
        unknown = [t for t in tests if t not in TESTS]
        if unknown:
            raise UnknownNameError(f"unknown test(s) {', '.join(unknown)}; choose "
                                   f"from {', '.join(TESTS)}")
        if scopes is None:
            use_scopes = (tuple(SCOPES) if len(self._events) <= MANY_EVENTS
                          else ("all", "group"))
        else:
            use_scopes = tuple(scopes)
            bad = [s for s in use_scopes if s not in SCOPES]
            if bad or not use_scopes:
                raise UnknownNameError(f"unknown scope(s) {', '.join(bad) or '(none)'}"
                                       f"; choose from {', '.join(SCOPES)}")
        check_scheduler(scheduler)
        if kernel not in KERNELS:
            raise UnknownNameError(f"unknown kernel {kernel!r}; choose from "
                                   f"{', '.join(KERNELS)}")
        if (isinstance(bootstrap_reps, bool)
                or not isinstance(bootstrap_reps, (int, np.integer))
                or bootstrap_reps < 1):
            raise InputError(f"bootstrap_reps = {bootstrap_reps!r}: the bootstrap "
                             "needs at least 1 resample; use a whole number such as "
                             "999 (tests.bootstrap_reps in the study file)")
        if bootstrap_reps < 2 and "boot" in tests:
            raise InputError(f"bootstrap_reps = {bootstrap_reps!r}: the boot test's "
                             "standard deviation needs at least 2 resamples; use a "
                             "whole number such as 999 (tests.bootstrap_reps in the "
                             "study file)")
        resolve_workers(workers)  # refuse a bad value before any work
        step = progress or (lambda _s: None)
        step("align and stack")
        st, est, ar, timings = self._run(conv, chunk_size, max_memory, workers, step,
                                         day0_shift, scheduler, progress is not None,
                                         kernel)
        if len(st.pairs) == 0:
            raise NoPairsError(no_pairs_message(st.excluded,
                                                self._sources.get("events", "")),
                               excluded=st.excluded.copy())
        t2 = time.perf_counter()
        step("tests")
        weight = None
        if conv.weights:
            from eventstudy.inference import WEIGHTED_TESTS

            weight = st.pairs["weight"].to_numpy(dtype=np.float64)
            equal = [t for t in tests if t not in WEIGHTED_TESTS]
            if equal:
                st.warnings.append(
                    f"value weights {conv.weights!r}: {', '.join(equal)} "
                    "have no value-weighted form and are equal-weighted (tests.csv "
                    "column 'weighting')")
        pdata = PairData.build(st, est, ar, self._windows, seed=seed,
                               bootstrap_reps=bootstrap_reps,
                               profile=conv.test_profile, weight=weight)
        tests_df = run_tests(pdata, st.pairs, tuple(tests), self._windows,
                             scopes=use_scopes)
        empty = empty_scopes_warning(tests_df)
        if empty:
            st.warnings.append(empty)
        t3 = time.perf_counter()
        timings["tests"] = t3 - t2
        res = EventStudyResults.build(
            stacked=st, estimates=est, ar=ar, tests=tests_df, windows=self._windows,
            model=self._spec, conventions=conv, test_names=tuple(tests),
            timings=timings, sources=self._sources, scopes=use_scopes,
        )
        res.timings["results"] = time.perf_counter() - t3
        return res

    def _check_weights(self, conv: Conventions) -> None:
        """The value-weight column exists and the conventions allow weights."""
        col = conv.weights
        if conv.test_profile == "estudy2":
            raise InputError(
                f"conventions.weights = {col!r} with the estudy2 profile: estudy2 "
                "has no value weights; leave weights empty or use the textbook "
                "profile")
        have = col in self._events.columns or (
            self._universe is not None and col in self._universe.columns)
        if not have:
            where = " and ".join(x for x in (self._sources.get("events"),
                                             self._sources.get("universe")) if x
                                 ) or "events and universe"
            raise InputError(
                f"{where}: conventions.weights = {col!r} names no column of the "
                "events or the universe; add that column (a positive number per "
                "security or event, e.g. market capitalisation) or leave weights "
                "empty for equal weights")

    def _design(self, name: str) -> Design:
        spec = self._spec
        factors: tuple[str, ...] = ()
        if name == "factor":
            if self._factors is None:
                raise InputError("the factor model needs a factor table "
                                 "(factors=... or model.factors in the study file)")
            factors = spec.factor_columns or tuple(
                c for c in self._factors.columns if c not in ("date", spec.rf_column))
        return make_design(name, spec.dimson_lags, factors, spec.market_factor)

    def _factor_values(self, column: str, dates: pd.DatetimeIndex) -> np.ndarray:
        assert self._factors is not None
        f = self._factors
        if column not in f.columns:
            raise InputError(f"factor column {column!r} not in the factor table "
                             f"(columns: {', '.join(map(str, f.columns))})")
        return f[column].reindex(dates).to_numpy(dtype=np.float64)[:, None]



# ------------------------------------------------------------------ chunk stages
# module-level (not methods) so that Dask workers run them without the study
def _chunk(a: Aligned, out: ChunkOut, w: Windows, conv: Conventions, lo: int, hi: int,
           day0_shift: float = 0.0) -> tuple[float, float, float]:
    """Stages 2-4 for candidates ``lo:hi``; writes rows ``lo:hi`` of ``out``.

    Returns the seconds spent gathering, estimating and on ARs/CARs.
    """
    t0 = time.perf_counter()
    Le, W = w.estimation_length, w.event_length
    ix = a.cand[lo:hi]
    s0 = a.pad + a.pos[ix]
    est_start = s0 + w.estimation[0]
    evt_start = s0 + w.event[0]
    v_est = sliding_window_view(a.values, Le, axis=1)
    v_evt = sliding_window_view(a.values, W, axis=1)
    if len(out.evt_dates):  # (a Dask task leaves the dates to the client)
        _window_dates(a, out, w, lo, hi)
    codes = a.model_code[ix]
    present = np.unique(codes)
    if a.fused and all(_fusable(a.designs[int(m)], conv, a) for m in present):
        # the compiled kernel gathers for itself (ret_evt included)
        t_gather = time.perf_counter() - t0
        t1 = time.perf_counter()
        _fused(a, out, w, conv, lo, hi, slice(None), ix, est_start, evt_start,
               day0_shift)
        return t_gather, time.perf_counter() - t1, 0.0
    trow = a.rows["ticker"][ix]
    y_est = v_est[trow, est_start]
    ret_evt = v_evt[trow, evt_start]
    y_evt = ret_evt
    if a.needs_rf:
        # excess returns; a missing risk-free rate makes the day missing
        rrow = a.rows["rf"][ix]
        rf_est = v_est[rrow, est_start]
        rf_evt = v_evt[rrow, evt_start]
        y_est = y_est - rf_est
        y_evt = ret_evt - rf_evt
    if day0_shift and w.event[0] <= 0 <= w.event[1]:
        # simulations: an abnormal return planted on day 0 of every pair
        c0 = -w.event[0]
        ret_evt = ret_evt.copy()
        ret_evt[:, c0] += day0_shift
        y_evt = y_evt.copy()
        y_evt[:, c0] += day0_shift
    out.ret_evt[lo:hi] = ret_evt
    groups: list[tuple[int, slice | np.ndarray]] = (
        [(int(present[0]), slice(None))] if len(present) == 1 else
        [(int(m), np.flatnonzero(codes == m)) for m in present])
    t_gather = time.perf_counter() - t0
    t_est = 0.0
    t_ar = 0.0
    for m, s in groups:
        t1 = time.perf_counter()
        d = a.designs[m]
        sub = ix[s]
        es, vs = est_start[s], evt_start[s]
        if a.fused and _fusable(d, conv, a):
            _fused(a, out, w, conv, lo, hi, s, sub, es, vs, day0_shift)
            t_est += time.perf_counter() - t1
            continue
        n = len(sub)
        k = len(d.regressors)
        X = np.empty((n, Le, k))
        Xe = np.empty((n, W, k))
        for j, (src, lag) in enumerate(d.regressors):
            rr = a.rows[src][sub]
            X[:, :, j] = v_est[rr, es + lag]
            Xe[:, :, j] = v_evt[rr, vs + lag]
            if a.needs_rf and d.excess and src == "market":
                # the market factor in excess of the risk-free rate, like R
                rf = a.rows["rf"][sub]
                X[:, :, j] -= v_est[rf, es + lag]
                Xe[:, :, j] -= v_evt[rf, vs + lag]
        y = y_est[s]
        t2 = time.perf_counter()
        t_gather += t2 - t1
        rows_out = slice(lo, hi) if isinstance(s, slice) else lo + s
        wmask = np.asarray(np.isfinite(X).all(axis=-1))
        mask = np.isfinite(y) & wmask
        nest = mask.sum(axis=1)
        out.nest[rows_out] = nest
        out.zero_share[rows_out] = np.where(mask, y == 0, False).sum(1) / nest
        fit = estimate(d, y, X, mask, conv, X_window=X, window_mask=wmask)
        out.sigma2[rows_out] = fit.sigma2
        out.nobs[rows_out] = fit.nobs
        out.dof[rows_out] = fit.dof
        out.k[rows_out] = fit.k
        out.r2[rows_out] = fit.r2
        out.resid[rows_out] = fit.resid
        if d.name == "market_adjusted":
            out.alpha[rows_out] = 0.0
            out.beta[rows_out] = 1.0
        else:
            out.alpha[rows_out] = fit.params[:, 0]
            if d.name == "dimson":
                out.beta[rows_out] = fit.params[:, 1:].sum(axis=1)
            elif fit.params.shape[1] >= 2:
                out.beta[rows_out] = fit.params[:, 1]
            else:
                out.beta[rows_out] = np.nan
        normal = predict(d, fit, Xe)
        rows = slope_rows(d, Xe)
        lev = leverage(d, fit, rows)
        out.normal[rows_out] = normal
        out.lev[rows_out] = lev
        t3 = time.perf_counter()
        t_est += t3 - t2
        _abnormal(out, rows_out, y_evt[s], ret_evt[s], normal, lev, fit.sigma2,
                  d, fit, rows, w, conv)
        t_ar += time.perf_counter() - t3
    return t_gather, t_est, t_ar

def _fusable(d: Design, conv: Conventions, a: Aligned) -> bool:
    """Whether the compiled market-model kernel computes exactly what the numpy path
    does for this design and these conventions."""
    return (d.name == "market" and d.regressors == (("market", 0),)
            and not a.needs_rf and conv.market_moments == "firm"
            and conv.aggregation == "car")


def _fused(a: Aligned, out: ChunkOut, w: Windows, conv: Conventions, lo: int, hi: int,
           s: slice | np.ndarray, sub: np.ndarray, es: np.ndarray, vs: np.ndarray,
           day0_shift: float) -> None:
    """Stages 2-4 of the market-model pairs ``sub`` (chunk rows ``s``) by the
    compiled kernel, into rows ``lo + s`` of ``out``."""
    from eventstudy.estimation.kernels import OUTPUTS as names
    from eventstudy.estimation.kernels import market_chunk

    W = w.event_length
    c0 = -w.event[0] if (day0_shift and w.event[0] <= 0 <= w.event[1]) else -1
    if isinstance(s, slice):  # every pair of the chunk: write in place
        dst = {k: getattr(out, k)[lo:hi] for k in names}
    else:
        dst = {k: np.empty((len(sub),) + getattr(out, k).shape[1:],
                           dtype=getattr(out, k).dtype) for k in names}
    w0 = w.event[0]
    market_chunk(a.values, a.rows["ticker"][sub], a.rows["market"][sub], es, vs,
                 w.estimation_length, W, [(x - w0, y - w0) for x, y in w.car],
                 sample_dof=conv.sigma_dof == "sample",
                 forecast_error=conv.forecast_error, shift=float(day0_shift),
                 c0=c0, out=dst)
    out.k[lo:hi][s] = 2
    if not isinstance(s, slice):
        rows = lo + s
        for k in names:
            getattr(out, k)[rows] = dst[k]


def _abnormal(out: ChunkOut, rows_out: slice | np.ndarray, y_evt: np.ndarray,
              ret_evt: np.ndarray, normal: np.ndarray, lev: np.ndarray,
              sigma2: np.ndarray, d: Design, fit: object, slope: np.ndarray,
              windows: Windows, conv: Conventions) -> None:
    """Stage 4 for one chunk and model: ARs, SARs and CARs with their variances.

    Var(AR_t) = sigma^2 (1 + x_t'(X'X)^-1 x_t) and
    Var(CAR) = sigma^2 (d + gamma'X*(X'X)^-1X*'gamma) with the forecast-error
    correction (CLM 1997 sec. 4.4); sigma^2 and sigma^2 d without it.
    """
    from eventstudy.estimation.models import Fit

    assert isinstance(fit, Fit)
    ar = y_evt - normal
    factor = 1.0 + lev if conv.forecast_error else np.ones_like(lev)
    day_var = sigma2[:, None] * factor
    sar = ar / np.sqrt(day_var)
    out.ar[rows_out] = ar
    out.sar[rows_out] = sar
    out.day_var[rows_out] = day_var
    P, W = ar.shape
    ok = np.isfinite(ar)
    w0 = windows.event[0]
    for j, (a, b) in enumerate(windows.car):
        m = np.zeros((P, W), dtype=bool)
        m[:, a - w0:b - w0 + 1] = ok[:, a - w0:b - w0 + 1]
        nd = m.sum(axis=1)
        if conv.aggregation == "bhar":
            gross = np.where(m, 1.0 + ret_evt, 1.0).prod(axis=1)
            norm = np.where(m, 1.0 + ret_evt - ar, 1.0).prod(axis=1)
            c = gross - norm
        else:
            c = np.where(m, ar, 0.0).sum(axis=1)
        wl = window_leverage(d, fit, slope, m) if conv.forecast_error else 0.0
        out.car[rows_out, j] = np.where(nd > 0, c, np.nan)
        out.car_var[rows_out, j] = np.where(nd > 0, sigma2 * (nd + wl), np.nan)
        out.car_days[rows_out, j] = nd


def _window_dates(a: Aligned, out: ChunkOut, w: Windows, lo: int, hi: int) -> None:
    """Rows ``lo:hi`` of ``out.evt_dates``: the session dates of candidates
    ``lo:hi``'s event windows (ns; -1 = none)."""
    ix = a.cand[lo:hi]
    s0 = a.pad + a.pos[ix]
    ci = a.cal[ix]
    out.evt_dates[lo:hi] = sliding_window_view(
        a.dates, w.event_length, axis=1)[ci, s0 + w.event[0]]


def _run_chunks(a: Aligned, w: Windows, conv: Conventions,
                spans: Sequence[tuple[int, int]], day0_shift: float = 0.0,
                dates: bool = True
                ) -> tuple[ChunkOut, list[tuple[float, float, float]]]:
    """Stages 2-4 for consecutive candidate spans into a new, span-sized
    :class:`ChunkOut`.

    What a Dask task runs (:mod:`eventstudy.execution.dask`): each span goes through
    :func:`_chunk` exactly as in the local path (same rows, same shapes), on a view
    of ``a`` whose candidates start at the first span. Returns the outputs (row 0 =
    candidate ``spans[0][0]``) and each span's stage seconds. With ``dates=False``
    the session-date arrays are left empty (0 rows): the client, which has the same
    dates, fills them with :func:`_window_dates` instead of receiving them.
    """
    _raise_malloc_threshold()
    lo0, hi0 = spans[0][0], spans[-1][1]
    out = ChunkOut.empty(hi0 - lo0, w.estimation_length, w.event_length, len(w.car),
                     dates=dates)
    view = replace(a, cand=a.cand[lo0:hi0])
    times = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for lo, hi in spans:
            times.append(_chunk(view, out, w, conv, lo - lo0, hi - lo0, day0_shift))
    return out, times


def load_factors(path: str | Path, spec: ModelSpec) -> pd.DataFrame:
    """Read a factor file (CSV/Parquet: date + factor columns) as decimals.

    Percent files (``factor_unit = "percent"``, as Ken French's library) are divided
    by 100. The index is the date.
    """
    from eventstudy.inputs.prices import load_prices

    f = load_prices(path)
    if spec.factor_unit == "percent":
        f = f / 100.0
    return f

