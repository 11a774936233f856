"""The study: :class:`EventStudy` aligns, executes, infers and returns frozen results.

:class:`EventStudy` validates its inputs once, at construction.
:meth:`EventStudy.fit` never changes the model and returns a frozen
:class:`~eventstudy.results.EventStudyResults`.

Pipeline (every stage works on all (event, security) pairs at once; no Python loop
runs per event or per pair):

1. **align** (:mod:`eventstudy.alignment`): pairs from events x universe groups (or
   one ticker per event); day 0 of each event on each calendar in use; returns on
   each calendar's sessions, laid out as one NaN-padded ``(series, sessions)`` matrix
   so that any pair's window is one contiguous slice; exclusions known before
   estimation; the confounding flags.
2. **stack**, 3. **estimate**, 4. **AR/CAR** (:mod:`eventstudy.estimation.pipeline`):
   the windows of a chunk of pairs gathered into ``(P, L)`` arrays, batched least
   squares per model (:mod:`eventstudy.estimation.models`), abnormal returns,
   standardised ARs with the prediction-error correction, CARs and their variance.
   The chunks run on an executor (:mod:`eventstudy.execution`: threads or Dask);
   the results are bitwise identical whatever the chunk size or executor.
5. **tests** (:mod:`eventstudy.inference`): every selected statistic per scope (all,
   group, event, event x group) and window by grouped reductions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd

from eventstudy.alignment import (
    Aligned,
    DataKind,
    align,
    no_pairs_message,
    pair_weights,
)
from eventstudy.config import Conventions, ModelSpec, Study, Windows, day_window
from eventstudy.errors import InputError, NoPairsError, UnknownNameError
from eventstudy.estimation.containers import (
    AbnormalReturns,
    ChunkOut,
    Estimates,
    Stacked,
)
from eventstudy.estimation.models import MODELS, Design, get_model, make_design
from eventstudy.estimation.pipeline import (
    FUSED_MIN_PAIRS,
    auto_chunk_size,
    chunk_spans,
    degenerate_fits,
    raise_malloc_threshold,
)
from eventstudy.execution import check_scheduler, get_executor, resolve_workers
from eventstudy.inference import (
    SCOPES,
    SERIES_TESTS,
    TESTS,
    WEIGHTED_TESTS,
    PairData,
    bh_adjust,
    run_tests,
)
from eventstudy.inference.bootstrap import boot_small_n_warning
from eventstudy.inference.runner import P_ADJUST_FAMILIES, p_adjust_names
from eventstudy.inference.runner import p_adjust as adjust_table
from eventstudy.inputs.calendar import WindowDates
from eventstudy.inputs.confounders import (
    check_ids_distinct,
    confounders_from_frame,
    load_confounders,
    scope_names,
)
from eventstudy.inputs.events import (
    events_from_frame,
    load_events,
    load_universe,
    universe_from_frame,
)
from eventstudy.inputs.factors import load_factors
from eventstudy.inputs.prices import prices_from_frame
from eventstudy.inputs.returns import NO_OPENS
from eventstudy.results import EventStudyResults
from eventstudy.results.summary import small_n_warning

MASK_WARN_SHARE = 0.10
"""A kept pair that masking costs more than this share of its estimation window is
named in the warnings (``run.json`` ``data_warnings``)."""
MASK_WARN_LISTED = 10
"""At most this many such pairs are named (then a count)."""

MANY_EVENTS = 1000
"""Above this many events, ``fit(scopes=None)`` runs only the all and group scopes."""


KERNELS = ("auto", "numpy", "numba")
"""Implementations of stages 2-4 (:meth:`EventStudy.fit` ``kernel``)."""


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
        ``"flag"`` marks pairs with another catalog event or a confounder inside
        their confounding window (``confounded_by``); ``"exclude"`` also removes
        them (listed in ``excluded``).
    confounders
        Outside events that may confound pairs (company results, corporate
        actions, policy background): ``confounder_id, timestamp, scope, kind,
        title, source`` (:mod:`eventstudy.inputs.confounders`). Each is located on
        every security of its scope like a catalog event; it never becomes a pair.
    confounding_window
        ``(start, end)`` sessions around a pair's day 0 in which another event's
        or a confounder's day 0 confounds it; None (default) = the event window.
    mask_estimation
        Remove from every pair's estimation window the sessions within
        ``mask_window`` of the day 0 of every catalog event and confounder of its
        security (the event windows keep them); ``diagnostics`` column
        ``n_masked`` counts the returns removed. ``min_estimation_obs`` applies
        after masking.
    mask_window
        ``(start, end)`` sessions around each masked day 0 (default ``(-1, 1)``).
    opens
        Open prices in the layout of ``data`` (wide or long ``date, ticker,
        open``... as a price frame), kept apart from the closes: the
        ``overnight`` and ``intraday`` returns of ``model.day_part`` need them. A
        pair whose security (or needed benchmark) has no opens is then excluded
        with the reason "no open prices for the overnight return" (or intraday).

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
        opens: pd.DataFrame | None = None,
        confounders: pd.DataFrame | None = None,
        confounding_window: tuple[int, int] | None = None,
        mask_estimation: bool = False,
        mask_window: tuple[int, int] = (-1, 1),
    ) -> None:
        src = sources or {}
        ev = events_from_frame(events, source=src.get("events", "<events>"))
        uni = (universe_from_frame(universe, source=src.get("universe", "<universe>"),
                                   models=tuple(MODELS))
               if universe is not None else None)
        conf = (confounders_from_frame(
            confounders, source=src.get("confounders", "<confounders>"),
            names=scope_names(uni, ev)) if confounders is not None else None)
        self._setup(
            data, ev, uni,
            model=model, windows=windows, kind=kind, returns=returns,
            calendar=calendar, benchmark=benchmark, factors=factors,
            confounding=confounding, sources=sources, opens=opens,
            confounders=conf, confounding_window=confounding_window,
            mask_estimation=mask_estimation, mask_window=mask_window)

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
        opens: pd.DataFrame | None = None,
        confounders: pd.DataFrame | None = None,
        confounding_window: tuple[int, int] | None = None,
        mask_estimation: bool = False,
        mask_window: tuple[int, int] = (-1, 1),
    ) -> None:
        """Check the options and store the inputs (events, universe and
        confounders already validated)."""
        if kind not in ("prices", "returns"):
            raise UnknownNameError(f"kind must be 'prices' or 'returns', not {kind!r}")
        spec = model if isinstance(model, ModelSpec) else ModelSpec(
            name=model, returns=returns)
        make_design(spec.name)  # validates the name
        if confounding not in ("flag", "exclude"):
            raise UnknownNameError("confounding must be 'flag' or 'exclude'")
        if not isinstance(mask_estimation, bool):
            raise InputError(f"mask_estimation must be True or False, got "
                             f"{mask_estimation!r}")
        self._confounding_window = (None if confounding_window is None else
                                    day_window(confounding_window,
                                               "confounding_window"))
        self._mask_window = day_window(mask_window, "mask_window")
        self._mask_estimation = mask_estimation
        if confounders is not None:
            check_ids_distinct(confounders, events,
                               (sources or {}).get("confounders", "<confounders>"))
        self._confounders = confounders
        self._data = prices_from_frame(data, source=(sources or {}).get("prices",
                                                                       "<data>"))
        if spec.day_part != "close_to_close" and kind != "prices":
            raise InputError(f"day_part = {spec.day_part!r} splits the trading day "
                             "with open and close prices; it needs kind='prices' "
                             "(give prices, or use day_part='close_to_close')")
        self._opens = None if opens is None else prices_from_frame(
            opens, source=(sources or {}).get("opens", "<opens>"), allow_empty=True)
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
                   sources: dict[str, str] | None = None,
                   catalog: tuple[pd.DataFrame, pd.DataFrame | None] | None = None,
                   opens: pd.DataFrame | None = None,
                   ) -> EventStudy:
        """Build from a parsed :class:`~eventstudy.config.Study` and a price frame.

        Parameters
        ----------
        study
            The parsed study file.
        prices
            The canonical price frame, used as given: the study's ``[data]
            corporate_actions`` factors are applied by the loader
            (:func:`eventstudy.workflows.study_prices`, as ``eventstudy run``
            does), not here.
        sources
            Descriptions of the inputs (for messages and ``run.json``).
        catalog
            The study's events and universe as already read and validated by
            :func:`~eventstudy.inputs.events.load_events` and
            :func:`~eventstudy.inputs.events.load_universe` (with the registered
            model names); None reads them from the study's files. Either way they
            are validated once.
        opens
            The open prices (:attr:`LoadedPrices.opens
            <eventstudy.inputs.sources.base.LoadedPrices>`), or None.
        """
        if catalog is None:
            catalog = (load_events(study.events),
                       load_universe(study.universe, models=tuple(MODELS))
                       if study.universe else None)
        events, universe = catalog
        factors = None
        if study.model.factors is not None:
            factors = load_factors(study.model.factors, study.model)
        src = {"events": str(study.events), "universe": str(study.universe or "")}
        if study.confounders is not None:
            src["confounders"] = str(study.confounders)
        src.update(sources or {})
        confounders = (load_confounders(study.confounders,
                                        names=scope_names(universe, events))
                       if study.confounders is not None else None)
        # load_events / load_universe validated the files: not a second time
        obj = cls.__new__(cls)
        obj._setup(prices, events, universe, model=study.model,
                   windows=study.windows, kind="prices", returns=study.model.returns,
                   calendar="XNYS", benchmark="", factors=factors,
                   confounding=study.confounding, sources=src, opens=opens,
                   confounders=confounders,
                   confounding_window=study.confounding_window,
                   mask_estimation=study.mask_estimation,
                   mask_window=study.mask_window)
        return obj

    # ------------------------------------------------------------------ stages
    def _run(self, conv: Conventions, chunk_size: int | None, max_memory: int | None,
             workers: int | None, step: Callable[[str], None],
             day0_shift: float = 0.0, scheduler: str = "local",
             progress: bool = False, kernel: str = "auto"
             ) -> tuple[Stacked, Estimates, AbnormalReturns, dict[str, float]]:
        """Stages 1-4: align, then gather/estimate/AR chunk by chunk; compact.

        The chunks run on the scheduler's executor (:mod:`eventstudy.execution`: a
        thread pool, or Dask tasks); either way their arrays land in the same
        preallocated :class:`ChunkOut`, and everything after is shared.
        """
        t0 = time.perf_counter()
        raise_malloc_threshold()
        a = self._align()
        # estimation = "all": the fixed windows align resolved from the data
        w = self._windows if a.windows is None else a.windows
        if kernel == "numba" or (kernel == "auto" and len(a.cand) >= FUSED_MIN_PAIRS):
            from eventstudy.estimation.kernels import (
                available,  # lazy: numba
            )

            if available():
                a = replace(a, fused=True)
            elif kernel == "numba":
                raise InputError('kernel="numba" needs numba: pip install numba '
                                 '(it is a dependency of eventstudy)')
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
        executor = get_executor(scheduler)
        parts, extra = executor.run(a, out, w, conv, spans, day0_shift, workers=nw,
                                    progress=progress)
        nw = int(extra.pop("workers"))
        t_loop = time.perf_counter()
        step("abnormal returns")
        # exclusions decided after estimation, then keep the rest in place
        reason = a.reason.copy()
        nest_all = np.zeros(len(reason), dtype=np.int64)
        nest_all[a.cand] = out.nest
        nmask_all = np.zeros(len(reason), dtype=np.int64)
        nmask_all[a.cand] = out.n_masked
        few = np.zeros(len(reason), dtype=bool)
        few[a.cand] = out.nest < w.min_estimation_obs
        if few.any():
            after = ("" if a.est_values is None else
                     " after masking " + pd.Series(nmask_all[few]).astype(str))
            reason[few] = ("only " + pd.Series(nest_all[few]).astype(str)
                           + " estimation returns" + after
                           + f" (minimum {w.min_estimation_obs})"
                           ).to_numpy(dtype=object)
        degenerate_fits(reason, a.cand, out)
        if self._confounding == "exclude":
            conf = (reason == "") & (a.confounded_by != "")
            if conf.any():
                cw = self._confounding_window
                where = ("the event window" if cw is None else
                         f"the confounding window [{cw[0]}, {cw[1]}]")
                reason[conf] = ("confounded by event(s) "
                                + pd.Series(a.confounded_by[conf]).astype(str)
                                + f" inside {where}").to_numpy(dtype=object)
        if conv.weights:
            wv = pair_weights(a.pairs, self._universe, conv.weights)
            badw = (reason == "") & ~(np.isfinite(wv) & (wv > 0))
            reason[badw] = (f"value weight {conv.weights!r} is missing, zero or "
                            "negative")
            a.pairs["weight"] = wv
        keep = reason == ""
        zero = np.full(len(reason), np.nan)
        zero[a.cand] = out.zero_share
        if a.est_values is not None:
            self._masking_warning(a, keep, nmask_all)
        out.compact(keep[a.cand])
        pairs = self._label_pairs(a, keep, nest_all, zero, nmask_all)
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
                        normal=out.normal, lev=out.lev, resid=out.resid,
                        vol=out.vol)
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
        if executor.remote:
            # workers' compute in wall time; the rest is moving results to this
            # process (serialise, send, copy in): "collect"
            scale = min(scale, 1.0 / nw)
            extra["collect"] = max(0.0, loop - busy * scale)
        timings = {"align": t_align - t0, "stack": g * scale,
                   "estimate": e * scale, "ar_car": r * scale + (t_end - t_loop),
                   "chunks": float(len(spans)), "chunk_size": float(size),
                   "workers": float(nw), **extra}
        return st, est, ar, timings

    def _masking_warning(self, a: Aligned, keep: np.ndarray,
                         n_masked: np.ndarray) -> None:
        """Append to ``a.warnings`` the kept pairs that masking cost more than
        :data:`MASK_WARN_SHARE` of their estimation window (none: nothing)."""
        Le = self._windows.estimation_length
        hit = np.flatnonzero(keep & (n_masked > MASK_WARN_SHARE * Le))
        if len(hit) == 0:
            return
        ids = a.pairs["event_id"].to_numpy(dtype=object)[hit]
        tick = a.pairs["ticker"].to_numpy(dtype=object)[hit]
        items = [f"{e}/{t} ({int(n)})" for e, t, n in
                 zip(ids[:MASK_WARN_LISTED], tick[:MASK_WARN_LISTED],
                     n_masked[hit][:MASK_WARN_LISTED], strict=True)]
        more = (f" and {len(hit) - MASK_WARN_LISTED} more"
                if len(hit) > MASK_WARN_LISTED else "")
        a.warnings.append(
            f"masking: {len(hit)} pair(s) lost more than "
            f"{MASK_WARN_SHARE:.0%} of their {Le}-session estimation window to "
            f"the days of other events and confounders (returns masked): "
            f"{', '.join(items)}{more}; see n_masked in diagnostics.csv")

    def _label_pairs(self, a: Aligned, keep: np.ndarray, nest: np.ndarray,
                     zero_share: np.ndarray,
                     n_masked: np.ndarray | None = None) -> pd.DataFrame:
        """The kept pairs' table with day 0, estimation counts and confounding."""
        pairs = a.pairs
        P = len(pairs)
        d0 = np.full(P, -1, dtype=np.int64)
        okp = a.pos >= 0
        d0[okp] = a.dates[a.cal[okp], a.pad + a.pos[okp]]
        pairs["zero_share"] = zero_share
        pairs["day0_pos"] = a.pos
        pairs["day0_rule"] = a.rules
        # session dates are ns since the epoch (int64 min is NaT): a view, no parse
        pairs["day0"] = pd.DatetimeIndex(
            np.where(d0 >= 0, d0, np.iinfo(np.int64).min).view("datetime64[ns]"))
        pairs["n_est"] = nest
        pairs["n_masked"] = (np.zeros(P, dtype=np.int64) if n_masked is None
                             else n_masked)
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
        p_adjust: Sequence[str] = (),
        p_adjust_family: str = "test_scope_window",
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
        p_adjust, p_adjust_family
            Multiple-testing methods (``holm``, ``hochberg``, ``hommel``,
            ``bonferroni``, ``fdr_by``, ...; :data:`eventstudy.inference.runner.
            P_ADJUST_METHODS`), each adding a ``p_<method>`` column to the tests
            table, and the family of p-values adjusted together
            (``test_scope_window`` or ``table``; see
            :func:`eventstudy.inference.runner.p_adjust`).
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
            Other models, excess returns, ``market_moments = "window"``, BHAR and
            masked estimation windows (``mask_estimation``) always use numpy.

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

        conv = conventions or Conventions()
        if conv.weights:
            self._check_weights(conv)
        p_adjust = p_adjust_names(p_adjust)  # unknown methods refused up front
        if p_adjust_family not in P_ADJUST_FAMILIES:
            raise UnknownNameError(f"p_adjust_family = {p_adjust_family!r} is not "
                                   f"valid; choose one of "
                                   f"{', '.join(P_ADJUST_FAMILIES)}")
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

            weight = st.pairs["weight"].to_numpy(dtype=np.float64)
            equal = [t for t in tests if t not in WEIGHTED_TESTS]
            if equal:
                st.warnings.append(
                    f"value weights {conv.weights!r}: {', '.join(equal)} "
                    "have no value-weighted form and are equal-weighted (tests.csv "
                    "column 'weighting')")
        pdata = PairData.build(st, est, ar, self._windows, seed=seed,
                               bootstrap_reps=bootstrap_reps,
                               profile=conv.test_profile, weight=weight,
                               conventions=conv)
        # a single series is never left without a test: unless a per-series test
        # was asked for, the first registered one runs too and keeps its rows of
        # scopes with exactly one pair (n = 1), where the summary takes its stars
        auto = SERIES_TESTS[:1] if not set(tests) & set(SERIES_TESTS) else ()
        tests_df = run_tests(pdata, st.pairs, tuple(tests) + auto, self._windows,
                             scopes=use_scopes, kernel=kernel, timings=timings)
        if auto:
            drop = tests_df["test"].isin(auto) & (tests_df["n"] != 1)
            if drop.any():
                tests_df = tests_df.loc[~drop].reset_index(drop=True)
                tests_df["p_bh"] = bh_adjust(tests_df["p_value"].to_numpy(
                    dtype=np.float64))
        if p_adjust:
            tests_df = adjust_table(tests_df, p_adjust, p_adjust_family)
        empty = empty_scopes_warning(tests_df)
        # few pairs (issue #17): scopes with 1 < n < 5, and the bootstrap below 10
        for w in (empty, small_n_warning(tests_df), boot_small_n_warning(tests_df)):
            if w:
                st.warnings.append(w)
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

    def _align(self) -> Aligned:
        """Stage 1 (:func:`eventstudy.alignment.align`) on this study's inputs,
        then the pairs whose part of the day needs opens they lack."""
        a = align(self._data, self._events, self._universe,
                  windows=self._windows, spec=self._spec, kind=self._kind,
                  default_calendar=self._calendar,
                  default_benchmark=self._benchmark, design_of=self._design,
                  factors=self._factors, sources=self._sources, opens=self._opens,
                  confounders=self._confounders,
                  confounding_window=self._confounding_window,
                  mask_window=self._mask_window if self._mask_estimation else None)
        return self._exclude_without_opens(a)

    def _exclude_without_opens(self, a: Aligned) -> Aligned:
        """Exclude, with :data:`~eventstudy.inputs.returns.NO_OPENS`, the pairs
        of an overnight or intraday study whose security, or whose benchmark
        when the model uses it, has no open price at all: never a silent fall
        back to close-to-close."""
        part = self._spec.day_part
        if part == "close_to_close":
            return a
        o = self._opens
        with_opens: set[str] = set() if o is None else {
            str(c) for c in o.columns[np.isfinite(o.to_numpy(dtype=np.float64))
                                      .any(axis=0)]}
        tick = a.pairs["ticker"].astype(str).to_numpy()
        bench = a.pairs["benchmark"].astype(str).to_numpy()
        uses_market = np.array([any(s == "market" for s, _ in d.regressors)
                                for d in a.designs], dtype=bool)[a.model_code]
        lacks = ~np.isin(tick, list(with_opens)) | (
            uses_market & ~np.isin(bench, list(with_opens)))
        hit = lacks & (a.reason == "")
        if not hit.any():
            return a
        reason = a.reason.copy()
        reason[hit] = NO_OPENS.format(part=part)
        return replace(a, reason=reason, cand=np.flatnonzero(reason == ""))

    def _design(self, name: str) -> Design:
        spec = self._spec
        factors: tuple[str, ...] = ()
        if get_model(name).configure(spec, self._windows).needs_factors:
            if self._factors is None:
                raise InputError("the factor model needs a factor table "
                                 "(factors=... or model.factors in the study file)")
            factors = spec.factor_columns or tuple(
                c for c in self._factors.columns if c not in ("date", spec.rf_column))
        return make_design(name, spec.dimson_lags, factors, spec.market_factor,
                           spec=spec, windows=self._windows)
