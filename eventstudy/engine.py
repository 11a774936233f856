"""The event-study engine: align, stack, estimate, abnormal returns, tests.

:class:`EventStudy` validates its inputs once, at construction. :meth:`EventStudy.fit`
never changes the model and returns a frozen :class:`~eventstudy.results.EventStudyResults`.

Pipeline (every stage works on all (event, security) pairs at once):

1. **align**: pairs from events x universe groups (or one ticker per event); day 0 of
   each event on each calendar in use (:func:`eventstudy.calendar.locate_day0`).
2. **stack**: returns on each calendar's sessions; the estimation and event windows of
   all pairs gathered into ``(P, L)`` arrays by index arithmetic, NaN = missing.
3. **estimate**: batched least squares per model (:mod:`eventstudy.models`).
4. **AR/CAR**: abnormal returns, standardised ARs with the prediction-error correction,
   CARs and their variance including estimation error.
5. **tests**: every selected statistic per scope (all, group, event, event x group) and
   window (each event day, each CAR window) by grouped reductions
   (:mod:`eventstudy.inference`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from eventstudy.calendar import get_sessions, locate_day0
from eventstudy.errors import InputError, UnknownNameError
from eventstudy.events import events_from_frame, split_groups, universe_from_frame
from eventstudy.models import (
    Design,
    Fit,
    estimate,
    leverage,
    make_design,
    predict,
    slope_rows,
    window_leverage,
)
from eventstudy.prices import prices_from_frame
from eventstudy.returns import on_sessions, to_returns
from eventstudy.study import Conventions, ModelSpec, Study, Windows

DataKind = Literal["prices", "returns"]


@dataclass(frozen=True)
class Stacked:
    """All kept pairs' stacked arrays (leading axis P) and labels."""

    pairs: pd.DataFrame
    y_est: np.ndarray
    y_evt: np.ndarray
    ret_evt: np.ndarray
    rf_evt: np.ndarray
    est_dates: np.ndarray
    evt_dates: np.ndarray
    regs_est: dict[tuple[str, int], np.ndarray]
    regs_evt: dict[tuple[str, int], np.ndarray]
    excluded: pd.DataFrame
    warnings: list[str]
    timings: dict[str, float] = field(default_factory=dict)


def _pairs_from_events(events: pd.DataFrame, universe: pd.DataFrame | None,
                       default_calendar: str, default_benchmark: str
                       ) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """One row per (event, security): event_id, ticker, group, calendar, benchmark,
    model, plus the event's instant. Returns the pairs and exclusions."""
    excluded: list[dict[str, str]] = []
    ev = events.reset_index(drop=True).copy()
    ev["_order"] = np.arange(len(ev))
    has_ticker = "ticker" in ev.columns and (ev["ticker"].astype(str) != "").any()
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
        matched = set(pairs["event_id"])
        for _, row in ev.iterrows():
            if row["event_id"] not in matched:
                excluded.append({"event_id": row["event_id"], "ticker": "",
                                 "reason": "no universe security in groups "
                                           f"{row['groups']!r}"})
        pairs = pairs.merge(ev.drop(columns=["groups", "_order"]), on="event_id",
                            how="left", suffixes=("", "_event"))
        for col, default in (("benchmark", default_benchmark), ("model", "")):
            pairs[col] = pairs[col].fillna("").astype(str)
            pairs.loc[pairs[col] == "", col] = default
    pairs = pairs.sort_values(["_order", "_uorder"], kind="stable")
    pairs = pairs.reset_index(drop=True)
    return pairs, excluded


def _gather(values: np.ndarray, pos: np.ndarray, cols: np.ndarray,
            offsets: np.ndarray) -> np.ndarray:
    """values[(pos + offset), col] for every pair and offset, NaN out of range."""
    n = values.shape[0]
    idx = pos[:, None] + offsets[None, :]
    ok = (idx >= 0) & (idx < n) & (cols[:, None] >= 0)
    out = values[np.clip(idx, 0, n - 1), np.clip(cols, 0, None)[:, None]]
    return np.where(ok, out, np.nan)


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
        Default normal-return model name, or a :class:`~eventstudy.study.ModelSpec`.
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
        if kind not in ("prices", "returns"):
            raise UnknownNameError(f"kind must be 'prices' or 'returns', not {kind!r}")
        spec = model if isinstance(model, ModelSpec) else ModelSpec(
            name=model, returns=returns)  # type: ignore[arg-type]
        make_design(spec.name)  # validates the name
        if confounding not in ("flag", "exclude"):
            raise UnknownNameError("confounding must be 'flag' or 'exclude'")
        self._data = prices_from_frame(data, source=(sources or {}).get("prices",
                                                                       "<data>"))
        self._events = events_from_frame(events, source=(sources or {}).get(
            "events", "<events>"))
        self._universe = (universe_from_frame(universe, source=(sources or {}).get(
            "universe", "<universe>")) if universe is not None else None)
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
        """Build from a parsed :class:`~eventstudy.study.Study` and a price frame."""
        from eventstudy.events import load_events, load_universe

        events = load_events(study.events)
        universe = load_universe(study.universe) if study.universe else None
        factors = None
        if study.model.factors is not None:
            factors = load_factors(study.model.factors, study.model)
        src = {"events": str(study.events), "universe": str(study.universe or "")}
        src.update(sources or {})
        return cls(prices, events, universe, model=study.model,
                   windows=study.windows, kind="prices", factors=factors,
                   confounding=study.confounding, sources=src)

    # ------------------------------------------------------------------ stages
    def _stack(self) -> Stacked:
        t0 = time.perf_counter()
        w = self._windows
        spec = self._spec
        pairs, excluded = _pairs_from_events(self._events, self._universe,
                                             self._calendar, self._benchmark)
        warnings: list[str] = []
        pairs["model"] = pairs["model"].where(pairs["model"] != "", spec.name)
        data = self._data
        est_off = np.arange(w.estimation[0], w.estimation[1] + 1)
        evt_off = np.arange(w.event[0], w.event[1] + 1)
        P = len(pairs)
        Le, Lw = len(est_off), len(evt_off)
        designs = {m: self._design(m) for m in pairs["model"].unique()}
        reg_keys = sorted({r for d in designs.values() for r in d.regressors})
        needs_rf = any(d.excess for d in designs.values()) and bool(spec.rf_column)

        y_est = np.full((P, Le), np.nan)
        y_evt = np.full((P, Lw), np.nan)
        ret_evt = np.full((P, Lw), np.nan)
        rf_evt = np.zeros((P, Lw))
        est_dates = np.full((P, Le), -1, dtype=np.int64)
        evt_dates = np.full((P, Lw), -1, dtype=np.int64)
        regs_est = {r: np.full((P, Le), np.nan) for r in reg_keys}
        regs_evt = {r: np.full((P, Lw), np.nan) for r in reg_keys}
        day0 = np.full(P, -1, dtype=np.int64)
        rules = np.full(P, "", dtype=object)
        reason = np.full(P, "", dtype=object)
        nest = np.zeros(P, dtype=np.int64)

        inst = pairs["instant_ns"].to_numpy(dtype=np.int64)
        donly = pairs["date_only"].to_numpy(dtype=bool)
        first = data.index.min()
        last_evt = pd.Timestamp(int(inst.max())).normalize()
        end = max(data.index.max(), last_evt) + pd.Timedelta(days=60)
        start = first - pd.Timedelta(days=7)
        t_align = time.perf_counter()
        for cal in sorted(pairs["calendar"].unique()):
            sel = np.flatnonzero((pairs["calendar"] == cal).to_numpy())
            sess = get_sessions(str(cal), start, end)
            pos, rule = locate_day0(sess, inst[sel], donly[sel])
            day0[sel] = pos
            rules[sel] = rule
            tick = pairs["ticker"].to_numpy()[sel]
            bench = pairs["benchmark"].to_numpy()[sel]
            cols = [c for c in dict.fromkeys(list(tick) + list(bench))
                    if c and c in data.columns]
            vals, off = on_sessions(data[cols], sess.dates)
            for tkr, cnt in off.items():
                warnings.append(f"{tkr}: {cnt} price(s) dated on days that are not "
                                f"{cal} sessions were not used")
            rets = vals if self._kind == "returns" else to_returns(vals, spec.returns)
            col_of = {c: i for i, c in enumerate(cols)}
            tcol = np.array([col_of.get(t, -1) for t in tick], dtype=np.int64)
            bcol = np.array([col_of.get(b, -1) for b in bench], dtype=np.int64)
            # price coverage per ticker column, in session positions
            has = np.isfinite(vals)
            anyv = has.any(axis=0)
            firstpos = np.where(anyv, has.argmax(axis=0), -1)
            lastpos = np.where(anyv, len(has) - 1 - has[::-1].argmax(axis=0), -1)
            p = pos
            y_est[sel] = _gather(rets, p, tcol, est_off)
            y_evt[sel] = _gather(rets, p, tcol, evt_off)
            dns = sess.dates.as_unit("ns").asi8
            est_i = p[:, None] + est_off[None, :]
            evt_i = p[:, None] + evt_off[None, :]
            n = len(dns)
            est_dates[sel] = np.where((est_i >= 0) & (est_i < n),
                                      dns[np.clip(est_i, 0, n - 1)], -1)
            evt_dates[sel] = np.where((evt_i >= 0) & (evt_i < n) & (p[:, None] >= 0),
                                      dns[np.clip(evt_i, 0, n - 1)], -1)
            for r in reg_keys:
                src, lag = r
                if src == "market":
                    regs_est[r][sel] = _gather(rets, p, bcol, est_off + lag)
                    regs_evt[r][sel] = _gather(rets, p, bcol, evt_off + lag)
                else:
                    fvals = self._factor_values(src.split(":", 1)[1], sess.dates)
                    fc = np.zeros(len(sel), dtype=np.int64)
                    regs_est[r][sel] = _gather(fvals, p, fc, est_off + lag)
                    regs_evt[r][sel] = _gather(fvals, p, fc, evt_off + lag)
            if needs_rf:
                rfv = self._factor_values(spec.rf_column, sess.dates)
                fc = np.zeros(len(sel), dtype=np.int64)
                rf_evt[sel] = np.nan_to_num(_gather(rfv, p, fc, evt_off))
                rf_est = np.nan_to_num(_gather(rfv, p, fc, est_off))
                y_est[sel] -= rf_est
            # exclusions in order of precedence
            r_ = np.full(len(sel), "", dtype=object)
            mdl = pairs["model"].to_numpy()[sel]
            needs_b = np.array([any(s == "market" for s, _ in designs[m].regressors)
                                for m in mdl], dtype=bool)
            r_[(bcol < 0) & needs_b] = "benchmark has no prices"
            r_[tcol < 0] = "ticker has no prices"
            oor = (p < 0) & (r_ == "")
            r_[oor] = "event outside the calendar range"
            fp = np.where(tcol >= 0, firstpos[np.clip(tcol, 0, None)], -1)
            lp = np.where(tcol >= 0, lastpos[np.clip(tcol, 0, None)], -1)
            r_[(r_ == "") & (p > lp)] = "event after the last price"
            r_[(r_ == "") & (p < fp)] = "event before the first price"
            reason[sel] = r_
        ret_evt[:] = y_evt
        if needs_rf:
            y_evt = y_evt - rf_evt
        t_stack = time.perf_counter()
        # estimation-window usable days and the min-obs rule
        mask_models = np.isfinite(y_est)
        for m, d in designs.items():
            sel = (pairs["model"] == m).to_numpy()
            mk = np.isfinite(y_est[sel])
            for r in d.regressors:
                mk &= np.isfinite(regs_est[r][sel])
            mask_models[sel] = mk
        nest = mask_models.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            pairs["zero_share"] = (np.where(mask_models, y_est == 0, False).sum(1)
                                   / nest)
        few = (reason == "") & (nest < w.min_estimation_obs)
        for i in np.flatnonzero(few):
            reason[i] = (f"only {int(nest[i])} estimation returns "
                         f"(minimum {w.min_estimation_obs})")
        pairs["day0_pos"] = day0
        pairs["day0_rule"] = rules
        pairs["day0"] = pd.NaT
        ok0 = (day0 >= 0) & (evt_dates[:, -w.event[0]] >= 0) if Lw else day0 >= 0
        d0 = np.where(ok0, evt_dates[:, -w.event[0]] if w.event[0] <= 0 else -1, -1)
        pairs["day0"] = pd.to_datetime(np.where(d0 >= 0, d0, np.iinfo(np.int64).min))
        pairs["n_est"] = nest
        self._flag_confounding(pairs)
        if self._confounding == "exclude":
            conf = (reason == "") & (pairs["confounded_by"] != "").to_numpy()
            for i in np.flatnonzero(conf):
                reason[i] = ("confounded by event(s) "
                             f"{pairs['confounded_by'].iloc[i]} inside the event "
                             "window")
        for i in np.flatnonzero(reason != ""):
            excluded.append({"event_id": str(pairs["event_id"].iloc[i]),
                             "ticker": str(pairs["ticker"].iloc[i]),
                             "reason": str(reason[i])})
        keep = reason == ""
        ex = pd.DataFrame(excluded, columns=["event_id", "ticker", "reason"])
        kp = pairs.loc[keep].reset_index(drop=True)
        return Stacked(
            pairs=kp, y_est=y_est[keep], y_evt=y_evt[keep], ret_evt=ret_evt[keep],
            rf_evt=rf_evt[keep], est_dates=est_dates[keep], evt_dates=evt_dates[keep],
            regs_est={r: v[keep] for r, v in regs_est.items()},
            regs_evt={r: v[keep] for r, v in regs_evt.items()},
            excluded=ex, warnings=warnings,
            timings={"align": t_align - t0 + 0.0, "stack": t_stack - t_align},
        )

    def _flag_confounding(self, pairs: pd.DataFrame) -> None:
        """Mark pairs whose event window holds another catalog event's day 0 for the
        same security (vectorised over pairs with searchsorted)."""
        w0, w1 = self._windows.event
        P = len(pairs)
        pairs["confounded_by"] = ""
        if P < 2:
            return
        sec = pd.factorize(pairs["ticker"].astype(str) + "|"
                           + pairs["calendar"].astype(str))[0].astype(np.int64)
        pos = pairs["day0_pos"].to_numpy(dtype=np.int64)
        valid = pos >= 0
        big = np.int64(1) << 32
        key = sec * big + pos
        order = np.argsort(np.where(valid, key, np.iinfo(np.int64).max), kind="stable")
        skey = np.where(valid, key, np.iinfo(np.int64).max)[order]
        lo = np.searchsorted(skey, key + w0, side="left")
        hi = np.searchsorted(skey, key + w1, side="right")
        count = np.where(valid, hi - lo - 1, 0)
        ids = pairs["event_id"].to_numpy()
        flagged = np.flatnonzero(count > 0)
        labels = np.full(P, "", dtype=object)
        for i in flagged:  # only pairs that are confounded; usually few
            others = [str(ids[j]) for j in order[lo[i]:hi[i]] if j != i]
            labels[i] = ";".join(others)
        pairs["confounded_by"] = labels

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

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        tests: Sequence[str] = ("csect_t", "patell", "bmp"),
        conventions: Conventions | None = None,
        *,
        seed: int = 12345,
        bootstrap_reps: int = 999,
        progress: Callable[[str], None] | None = None,
    ) -> Any:
        """Estimate the normal-return models, compute ARs, CARs and the tests.

        Parameters
        ----------
        tests
            Test names from :data:`eventstudy.inference.TESTS`.
        conventions
            Statistical conventions (default: textbook).
        seed, bootstrap_reps
            For the ``boot`` test.
        progress
            Optional callback receiving each stage's name.

        Returns
        -------
        EventStudyResults
            A new, frozen results object; the model is left unchanged.
        """
        from eventstudy.inference import TESTS, PairData, run_tests
        from eventstudy.results import EventStudyResults

        conv = conventions or Conventions()
        unknown = [t for t in tests if t not in TESTS]
        if unknown:
            raise UnknownNameError(f"unknown test(s) {', '.join(unknown)}; choose "
                                   f"from {', '.join(TESTS)}")
        step = progress or (lambda _s: None)
        step("align and stack")
        st = self._stack()
        timings = dict(st.timings)
        t0 = time.perf_counter()
        step("estimate")
        est = self._estimate(st, conv)
        t1 = time.perf_counter()
        timings["estimate"] = t1 - t0
        step("abnormal returns")
        ar = _abnormal(st, est, self._windows, conv)
        t2 = time.perf_counter()
        timings["ar_car"] = t2 - t1
        step("tests")
        pdata = PairData.build(st, est, ar, self._windows, seed=seed,
                               bootstrap_reps=bootstrap_reps,
                               profile=conv.test_profile)
        tests_df = run_tests(pdata, st.pairs, tuple(tests), self._windows)
        timings["tests"] = time.perf_counter() - t2
        return EventStudyResults.build(
            stacked=st, estimates=est, ar=ar, tests=tests_df, windows=self._windows,
            model=self._spec, conventions=conv, test_names=tuple(tests),
            timings=timings, sources=self._sources,
        )

    def _estimate(self, st: Stacked, conv: Conventions) -> Estimates:
        P = len(st.pairs)
        Le = st.y_est.shape[1]
        Lw = st.y_evt.shape[1]
        out: dict[str, np.ndarray] = {
            "alpha": np.full(P, np.nan), "beta": np.full(P, np.nan),
            "sigma2": np.full(P, np.nan), "nobs": np.zeros(P), "dof": np.zeros(P),
            "k": np.zeros(P, dtype=np.int64), "r2": np.full(P, np.nan),
            "normal": np.full((P, Lw), np.nan), "lev": np.zeros((P, Lw)),
            "resid": np.full((P, Le), np.nan),
        }
        parts: list[tuple[np.ndarray, Design, Fit, np.ndarray]] = []
        for m in st.pairs["model"].unique():
            sel = np.flatnonzero((st.pairs["model"] == m).to_numpy())
            d = self._design(str(m))
            if d.regressors:
                X = np.stack([st.regs_est[r][sel] for r in d.regressors], axis=-1)
                Xe = np.stack([st.regs_evt[r][sel] for r in d.regressors], axis=-1)
            else:
                X = np.zeros((len(sel), Le, 0))
                Xe = np.zeros((len(sel), Lw, 0))
            y = st.y_est[sel]
            wmask = np.isfinite(X).all(axis=-1)
            mask = np.isfinite(y) & wmask
            fit = estimate(d, y, X, mask, conv, X_window=X, window_mask=wmask)
            out["sigma2"][sel] = fit.sigma2
            out["nobs"][sel] = fit.nobs
            out["dof"][sel] = fit.dof
            out["k"][sel] = fit.k
            out["r2"][sel] = fit.r2
            out["resid"][sel] = fit.resid
            if d.name == "market_adjusted":
                out["alpha"][sel] = 0.0
                out["beta"][sel] = 1.0
            else:
                out["alpha"][sel] = fit.params[:, 0]
                if d.name == "dimson":
                    out["beta"][sel] = fit.params[:, 1:].sum(axis=1)
                elif fit.params.shape[1] >= 2:
                    out["beta"][sel] = fit.params[:, 1]
            out["normal"][sel] = predict(d, fit, Xe)
            rows = slope_rows(d, Xe)
            out["lev"][sel] = leverage(d, fit, rows)
            parts.append((sel, d, fit, rows))
        return Estimates(parts=tuple(parts), **out)


@dataclass(frozen=True)
class Estimates:
    """Per-pair estimates of the kept pairs (leading axis P).

    ``normal`` and ``lev`` are ``(P, W)`` over the event window; ``lev`` is
    x'(X'X)^-1 x, the prediction-error leverage of each event day.
    """

    alpha: np.ndarray
    beta: np.ndarray
    sigma2: np.ndarray
    nobs: np.ndarray
    dof: np.ndarray
    k: np.ndarray
    r2: np.ndarray
    normal: np.ndarray
    lev: np.ndarray
    resid: np.ndarray
    parts: tuple[tuple[np.ndarray, Design, Fit, np.ndarray], ...]

    def window_leverage(self, mask: np.ndarray) -> np.ndarray:
        """gamma'X*(X'X)^-1X*'gamma per pair for the days in ``mask`` ``(P, W)``."""
        out = np.zeros(mask.shape[0])
        for sel, d, fit, rows in self.parts:
            out[sel] = window_leverage(d, fit, rows, mask[sel])
        return out


@dataclass(frozen=True)
class AbnormalReturns:
    """Event-window ARs and CARs of the kept pairs.

    Attributes
    ----------
    ar, sar, day_var
        ``(P, W)`` abnormal returns, standardised ARs and Var(AR) estimates.
    car, car_var, car_days
        ``(P, C)`` per CAR window: CAR (or BHAR), its variance, and the number of
        event days with data in the window.
    """

    ar: np.ndarray
    sar: np.ndarray
    day_var: np.ndarray
    car: np.ndarray
    car_var: np.ndarray
    car_days: np.ndarray


def _abnormal(st: Stacked, est: Estimates, windows: Windows,
              conv: Conventions) -> AbnormalReturns:
    """ARs, SARs and CARs with their variances.

    Var(AR_t) = sigma^2 (1 + x_t'(X'X)^-1 x_t) and
    Var(CAR) = sigma^2 (d + gamma'X*(X'X)^-1X*'gamma) with the forecast-error
    correction (CLM 1997 sec. 4.4); sigma^2 and sigma^2 d without it.
    """
    ar = st.y_evt - est.normal
    factor = 1.0 + est.lev if conv.forecast_error else np.ones_like(est.lev)
    day_var = est.sigma2[:, None] * factor
    with np.errstate(invalid="ignore", divide="ignore"):
        sar = ar / np.sqrt(day_var)
    P, W = ar.shape
    C = len(windows.car)
    car = np.full((P, C), np.nan)
    car_var = np.full((P, C), np.nan)
    car_days = np.zeros((P, C), dtype=np.int64)
    ok = np.isfinite(ar)
    w0 = windows.event[0]
    for j, (a, b) in enumerate(windows.car):
        m = np.zeros((P, W), dtype=bool)
        m[:, a - w0:b - w0 + 1] = ok[:, a - w0:b - w0 + 1]
        d = m.sum(axis=1)
        if conv.aggregation == "bhar":
            gross = np.where(m, 1.0 + st.ret_evt, 1.0).prod(axis=1)
            norm = np.where(m, 1.0 + st.ret_evt - ar, 1.0).prod(axis=1)
            c = gross - norm
        else:
            c = np.where(m, ar, 0.0).sum(axis=1)
        wl = est.window_leverage(m) if conv.forecast_error else 0.0
        car[:, j] = np.where(d > 0, c, np.nan)
        car_var[:, j] = np.where(d > 0, est.sigma2 * (d + wl), np.nan)
        car_days[:, j] = d
    return AbnormalReturns(ar=ar, sar=sar, day_var=day_var, car=car, car_var=car_var,
                           car_days=car_days)


def load_factors(path: str | Path, spec: ModelSpec) -> pd.DataFrame:
    """Read a factor file (CSV/Parquet: date + factor columns) as decimals.

    Percent files (``factor_unit = "percent"``, as Ken French's library) are divided
    by 100. The index is the date.
    """
    from eventstudy.prices import load_prices

    f = load_prices(path)
    if spec.factor_unit == "percent":
        f = f / 100.0
    return f

