"""Placebo dates on the study's own securities: where does each observed CAAR fall
among the CAARs of the same securities on random dates without news?

Method
------
For every draw ``d = 0 .. N-1`` and every catalog event ``e`` with kept pairs, one
pseudo date ``D(e, d)`` is drawn for all of ``e``'s securities together, so that
the pseudo event keeps the real one's cross-sectional structure (the same stocks
hit on the same day, with their common industry and market shocks). That is the
point of the design: a cross-sectional test that assumes independent pairs
overstates significance when the pairs share a day 0 (Kolari & Pynnonen 2010);
the placebo distribution of the CAAR has the clustering built in and needs no
independence assumption.

Sampling rule (:func:`placebo_candidates`): ``D`` is uniform, with replacement,
over the dates that are sessions on the calendar of every security of ``e`` and
where, for every one of them (ticker and calendar as kept in the observed run;
day 0 located by the catalog's rule for a plain date, the series' as-of time
included):

- every return of the event window exists (the security's and, when it has one,
  its benchmark's);
- the estimation window holds at least ``min_estimation_obs`` such returns;
- no catalog event concerning the security (an event whose groups or ticker
  cover it, as for confounding) has its day 0 inside the pseudo event window.

All ``N x E`` pseudo events form one pseudo catalog (ids ``<event>~p<draw>``,
plain-date timestamps, the real event's groups), fitted through the study's own
engine (model, windows, conventions, prices) with estimation masking switched
off, no confounders file and confounding only flagged (on day 0 itself, where
the engine lets the window be set): the pseudo catalog's events are not news,
and flagging thousands of them against each other only costs time. The fit runs
:data:`PLACEBO_BATCH` draws at a time (pseudo events are independent, so the
numbers do not depend on the batch).

Statistic: for each event x group and CAR window, the CAAR over the pairs that
the observed run kept (the same securities; pairs the placebo fit excludes, e.g.
for missing estimation data, are left out of that draw, and a draw with no pair
left is not used). With ``n_used`` draws that have a CAAR,

    p = (1 + #{draws: |CAAR_placebo| >= |CAAR_observed|}) / (n_used + 1),

the two-sided Monte Carlo p-value of a randomisation test (Davison & Hinkley
1997, ch. 4; Phipson & Smyth 2010 on why the +1s keep it exact). The CAAR is the
plain mean of the pairs' CARs (value-weighted, by the pairs' ``weight``, when the
study's conventions set ``weights``), for the observed event and the pseudo
events alike.

References: Brown & Warner (1980, 1985) for random-date simulations on the
study's securities; Kolari & Pynnonen (2010, RFS 23:3996-4025) for event-date
clustering; Davison & Hinkley (1997), *Bootstrap Methods and their Application*;
Phipson & Smyth (2010), "Permutation p-values should never be zero", SAGMB 9(1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eventstudy.alignment import pair_asofs, pairs_from_events
from eventstudy.config import Study
from eventstudy.errors import InputError, NoPairsError
from eventstudy.inputs.calendar import get_sessions, locate_day0_asof
from eventstudy.inputs.events import events_from_frame
from eventstudy.inputs.returns import on_sessions, to_returns
from eventstudy.inputs.sources import read_catalog
from eventstudy.io.csv import write_csv
from eventstudy.io.outputset import check_target, output_lock, write_run_json, write_set
from eventstudy.study import EventStudy
from eventstudy.workflows import (
    prepare_study,
    run_study,
    study_input_paths,
    study_loaded,
)

PLACEBO_BATCH = 200
"""Draws fitted together (one engine run per batch)."""
PLACEBO_FILE = "placebo.csv"
DATES_FILE = "placebo_dates.csv"
PSEUDO_SEP = "~p"
"""Separator of a pseudo event's id: ``E05_JP_DEAL~p0007`` is draw 7 of E05."""

P_VALUE_RULE = ("p = (1 + #{draws: |CAAR_placebo| >= |CAAR_observed|}) / "
                "(draws_used + 1)")
SAMPLING_RULE = (
    "one plain date per draw and event for all its securities, uniform with "
    "replacement over the sessions common to their calendars where every one of "
    "them has every event-window return (and its benchmark's), at least "
    "min_estimation_obs estimation returns, and no day 0 of a catalog event "
    "concerning it inside the pseudo event window")
DRAWS_RULE = (
    "a draw counts for an event x group and window when at least one of the "
    "securities kept in the observed run has a CAR there; draws_full counts the "
    "draws with all of them")

TABLE_COLUMNS = ("event_id", "group", "window_start", "window_end", "n", "caar",
                 "placebo_mean", "placebo_sd", "p_placebo", "draws", "draws_used",
                 "draws_full", "candidates")


@dataclass(frozen=True)
class PlaceboResult:
    """The placebo test of a study.

    Attributes
    ----------
    table
        One row per event x group and CAR window (the summary's order):
        ``event_id, group, window_start, window_end, n`` (pairs of the observed
        run with a CAR), ``caar`` (observed), ``placebo_mean``, ``placebo_sd``
        (ddof 1), ``p_placebo`` (:data:`P_VALUE_RULE`), ``draws`` (asked),
        ``draws_used`` (with a CAAR), ``draws_full`` (with all ``n`` pairs) and
        ``candidates`` (eligible dates of the event).
    draws_table
        Every draw's CAAR: ``event_id, group, window_start, window_end, draw, n,
        caar`` (``n`` = 0 and NaN where the draw lost every pair).
    dates
        The pseudo dates: ``event_id, draw, pseudo_id, date``.
    parameters
        Draws, seed, batch, the rules (for ``run.json``).
    warnings
        Events without any eligible date, pairs lost by pseudo events.
    """

    table: pd.DataFrame
    draws_table: pd.DataFrame
    dates: pd.DataFrame
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def _check_int(value: object, name: str, low: int) -> int:
    """``value`` as an int >= ``low``, else a typed error naming the option."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} = {value!r}: give a whole number >= {low}")
    if int(value) < low:
        raise InputError(f"{name} = {int(value)}: must be at least {low}"
                         + (" (e.g. 999 placebo draws)" if name == "draws" else ""))
    return int(value)


def _window_count(cum: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """From a cumulative count ``cum`` (``T + 1`` rows, first 0): the count over
    positions ``a..b`` of each row of ``a``/``b``, clipped to the ``T`` sessions."""
    T = cum.shape[0] - 1
    out: np.ndarray = cum[np.clip(b + 1, 0, T)] - cum[np.clip(a, 0, T)]
    return out


def placebo_candidates(pairs: pd.DataFrame, events: pd.DataFrame,
                       universe: pd.DataFrame | None, frame: pd.DataFrame,
                       study: Study) -> dict[str, pd.DatetimeIndex]:
    """The dates each event's pseudo dates are drawn from (module docstring).

    Parameters
    ----------
    pairs
        The observed run's kept pairs (``event_id, ticker, calendar, benchmark``
        and the universe's ``asof`` when it has one).
    events, universe
        The validated catalog (``instant_ns``, ``date_only``) and universe: the
        day 0 of every catalog event concerning a security is kept out of its
        pseudo event windows.
    frame
        The canonical wide price frame the study runs on.
    study
        The study (windows).

    Returns
    -------
    dict
        ``event_id -> DatetimeIndex`` of eligible dates (sorted), for every event
        of ``pairs`` in order of first appearance.
    """
    w = study.windows
    e0, e1 = w.estimation
    v0, v1 = w.event
    lo = pd.Timestamp(frame.index.min()).normalize()
    hi = pd.Timestamp(frame.index.max()).normalize()
    days = pd.date_range(lo, hi, freq="D")
    days_ns = days.as_unit("ns").asi8
    ones = np.ones(len(days), dtype=bool)
    real_ns = events["instant_ns"].to_numpy(dtype=np.int64)
    real_donly = events["date_only"].to_numpy(dtype=bool)
    # the session range the engine asks for (alignment.align)
    s_lo = pd.Timestamp(frame.index.min()) - pd.Timedelta(days=7)
    s_hi = (max(pd.Timestamp(frame.index.max()),
                pd.Timestamp(int(real_ns.max())).normalize())
            + pd.Timedelta(days=60))
    keys = pd.DataFrame({
        "event_id": pairs["event_id"].astype(str).to_numpy(),
        "ticker": pairs["ticker"].astype(str).to_numpy(),
        "calendar": pairs["calendar"].astype(str).to_numpy(),
        "benchmark": (pairs["benchmark"].fillna("").astype(str).to_numpy()
                      if "benchmark" in pairs else ""),
        "asof": pair_asofs(pairs)})
    keys["sec"] = keys["ticker"] + "|" + keys["calendar"]
    # every catalog event concerning each security (kept in the run or not)
    every, _ex = pairs_from_events(events, universe, "XNYS", "")
    concern = pd.DataFrame({
        "sec": (every["ticker"].astype(str) + "|"
                + every["calendar"].astype(str)).to_numpy(),
        "event": pd.Index(events["event_id"].astype(str)).get_indexer(
            pd.Index(every["event_id"].astype(str)))})
    secs = keys.drop_duplicates("sec")
    valid: dict[str, np.ndarray] = {}
    for (cal, asof), g in secs.groupby(["calendar", "asof"], sort=False):
        sess = get_sessions(str(cal), s_lo, s_hi)
        T = len(sess)
        S = len(g)
        tick = g["ticker"].to_numpy(dtype=object)
        bench = g["benchmark"].to_numpy(dtype=object)
        cols = list(dict.fromkeys([*tick, *(b for b in bench if b)]))
        have = [c for c in cols if c in frame.columns]
        vals, _ = on_sessions(frame[have], sess.dates)
        fin = np.isfinite(to_returns(vals))
        col = {c: i for i, c in enumerate(have)}
        none = np.zeros(T, dtype=bool)
        own = np.column_stack([fin[:, col[t]] if t in col else none for t in tick])
        ben = np.column_stack([fin[:, col[b]] if b in col else
                               (none if b else ~none) for b in bench])
        ok = own & ben
        c = np.vstack([np.zeros((1, S), dtype=np.int64),
                       np.cumsum(ok, axis=0, dtype=np.int64)])
        pos, _rule = locate_day0_asof(sess, str(asof), days_ns, ones)
        inside = (pos >= 0) & (pos + v1 < T)
        p = np.where(inside, pos, 0)  # a harmless position where outside
        n_est = _window_count(c, p + e0, p + e1)
        n_evt = _window_count(c, p + v0, p + v1)
        real, _r = locate_day0_asof(sess, str(asof), real_ns, real_donly)
        hits = np.zeros((T + 1, S), dtype=np.int64)
        sec_col = {s: j for j, s in enumerate(g["sec"])}
        mine = concern[concern["sec"].isin(sec_col)]
        q = real[mine["event"].to_numpy()]
        j = mine["sec"].map(sec_col).to_numpy()
        np.add.at(hits, (q[q >= 0] + 1, j[q >= 0]), 1)
        h = np.cumsum(hits, axis=0)
        near = _window_count(h, p + v0, p + v1) > 0
        is_session = np.isin(days_ns, sess.dates.as_unit("ns").asi8)
        ok_day = ((inside & is_session)[:, None] & (n_est >= w.min_estimation_obs)
                  & (n_evt == v1 - v0 + 1) & ~near)
        for s, jj in sec_col.items():
            valid[s] = ok_day[:, jj]
    out: dict[str, pd.DatetimeIndex] = {}
    for eid, g in keys.groupby("event_id", sort=False):
        mask = np.logical_and.reduce([valid[s] for s in g["sec"].unique()])
        out[str(eid)] = days[mask]
    return out


def draw_dates(candidates: dict[str, pd.DatetimeIndex], draws: int,
               seed: int) -> pd.DataFrame:
    """``draws`` pseudo dates per event, uniform with replacement.

    Parameters
    ----------
    candidates
        ``event_id -> eligible dates`` (:func:`placebo_candidates`); events
        without any are skipped.
    draws, seed
        Number of draws and the seed of ``numpy.random.default_rng``: the events
        draw in the order of ``candidates``, each its ``draws`` dates at once.

    Returns
    -------
    pandas.DataFrame
        ``event_id, draw, pseudo_id, date`` (draw-major: all events of draw 0,
        then draw 1, ...).

    Examples
    --------
    >>> c = {"E1": pd.DatetimeIndex(["2024-01-02", "2024-01-03"])}
    >>> draw_dates(c, 2, 0)["pseudo_id"].tolist()
    ['E1~p0000', 'E1~p0001']
    """
    draws = _check_int(draws, "draws", 1)
    seed = _check_int(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    width = max(4, len(str(draws - 1)))
    parts = []
    for e, (eid, cand) in enumerate(candidates.items()):
        if not len(cand):
            continue
        idx = rng.integers(0, len(cand), size=draws)
        parts.append(pd.DataFrame({"_e": e, "event_id": eid, "draw": np.arange(draws),
                                   "date": cand[idx]}))
    if not parts:
        return pd.DataFrame({"event_id": pd.Series([], dtype=object),
                             "draw": pd.Series([], dtype=np.int64),
                             "pseudo_id": pd.Series([], dtype=object),
                             "date": pd.Series([], dtype="datetime64[ns]")})
    out = pd.concat(parts, ignore_index=True).sort_values(["draw", "_e"],
                                                         kind="stable")
    out["pseudo_id"] = (out["event_id"] + PSEUDO_SEP
                        + out["draw"].astype(str).str.zfill(width))
    return out[["event_id", "draw", "pseudo_id", "date"]].reset_index(drop=True)


def pseudo_catalog(events: pd.DataFrame, dates: pd.DataFrame,
                   extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The pseudo events of ``dates`` as a catalog: ``event_id`` (the pseudo id),
    a plain-date ``timestamp`` and the real event's ``groups`` (or ``ticker``,
    ``calendar``, ``benchmark``, ``group``), plus the columns ``extra`` (e.g. a
    value-weight column)."""
    keep = [c for c in ("groups", "ticker", "calendar", "benchmark", "group",
                        *extra) if c in events.columns]
    base = events.drop_duplicates("event_id").set_index("event_id")[keep]
    out = base.reindex(dates["event_id"].to_numpy()).reset_index(drop=True)
    out.insert(0, "timestamp", pd.DatetimeIndex(dates["date"]).strftime("%Y-%m-%d"))
    out.insert(0, "event_id", dates["pseudo_id"].to_numpy())
    return out


@dataclass(frozen=True)
class _Keys:
    """The observed event x group keys, their pairs' tickers and CAARs."""

    labels: pd.DataFrame  # event_id, group (key order)
    members: pd.DataFrame  # event_id, group, ticker, key
    n: np.ndarray  # (K, C) pairs with a CAR
    caar: np.ndarray  # (K, C)


def _weights(pairs: pd.DataFrame) -> np.ndarray:
    """The pairs' value weights (1 without a ``weight`` column)."""
    if "weight" in pairs.columns:
        return pairs["weight"].to_numpy(dtype=np.float64)
    return np.ones(len(pairs))


def _sums(code: np.ndarray, car: np.ndarray, wt: np.ndarray, size: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """Per code and window: the number of finite CARs and their weighted mean."""
    C = car.shape[1]
    cnt = np.zeros((size, C))
    mean = np.full((size, C), np.nan)
    for j in range(C):
        ok = np.isfinite(car[:, j]) & (code >= 0)
        cnt[:, j] = np.bincount(code[ok], minlength=size)
        sw = np.bincount(code[ok], weights=wt[ok], minlength=size)
        swc = np.bincount(code[ok], weights=wt[ok] * car[ok, j], minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[:, j] = np.where(cnt[:, j] > 0, swc / sw, np.nan)
    return cnt, mean


def _observed(res: Any) -> _Keys:
    """The observed CAAR per event x group (order of first appearance)."""
    p = res.pairs_
    ev = p["event_id"].astype(str).to_numpy()
    gr = p["group"].astype(str).to_numpy()
    code, uniq = pd.factorize(pd.Series(ev) + "\x00" + pd.Series(gr))
    labels = pd.DataFrame([u.split("\x00", 1) for u in uniq],
                          columns=["event_id", "group"])
    car = np.asarray(res.car_arr, dtype=np.float64).reshape(len(p), -1)
    cnt, mean = _sums(code.astype(np.int64), car, _weights(p), len(uniq))
    members = pd.DataFrame({"event_id": ev, "group": gr,
                            "ticker": p["ticker"].astype(str).to_numpy(),
                            "key": code}).drop_duplicates(["event_id", "group",
                                                           "ticker"])
    return _Keys(labels, members, cnt.astype(np.int64), mean)


def _placebo_study(study: Study) -> Study:
    """The study for the pseudo catalog: confounding only flagged, and only on
    day 0 itself, no confounders file, no estimation masking (the fields that
    exist)."""
    names = {f.name for f in fields(study)}
    changes: dict[str, Any] = {"confounding": "flag"}
    if "confounding_window" in names:  # the narrowest window: day 0 itself
        changes["confounding_window"] = (0, 0)
    if "confounders" in names:
        changes["confounders"] = None
    if "mask_estimation" in names:
        changes["mask_estimation"] = False
    return study.with_updates(**changes)


def placebo(study: Study, prices: str | Path | pd.DataFrame | None = None, *,
            draws: int, seed: int | None = None, cache_dir: str | Path | None = None,
            offline: bool = False, batch: int = PLACEBO_BATCH,
            progress: Callable[[int, int], None] | None = None,
            observed: Any = None) -> PlaceboResult:
    """Placebo dates on the study's own securities (module docstring).

    Parameters
    ----------
    study
        The prepared study (:func:`eventstudy.workflows.prepare_study`).
    prices
        A prices file or frame overriding the study's source (as ``run``).
    draws
        Pseudo dates per event (N), at least 1.
    seed
        Seed of the draws; None uses the study's ``[tests] seed``.
    cache_dir, offline
        For a cached price source.
    batch
        Draws per engine run (:data:`PLACEBO_BATCH`); the results do not depend
        on it.
    progress
        Called with ``(draws done, draws)`` after each batch.
    observed
        The study's own results when already fitted (else it is run here, as
        ``eventstudy run`` would).

    Returns
    -------
    PlaceboResult

    Raises
    ------
    InputError
        ``draws`` or ``seed`` is not a whole number (>= 1, >= 0), or no event
        has an eligible date.
    """
    draws = _check_int(draws, "draws", 1)
    seed = _check_int(study.seed if seed is None else seed, "seed", 0)
    batch = _check_int(batch, "batch", 1)
    if observed is None:
        observed, _info = run_study(study.path or "<study>", study=study,
                                    prices=prices, cache_dir=cache_dir,
                                    offline=offline)
    events, universe = read_catalog(study)
    loaded = study_loaded(study, prices, cache_dir=cache_dir, offline=offline)
    keys = _observed(observed)
    cands = placebo_candidates(observed.pairs_, events, universe, loaded.frame,
                               study)
    warnings = [f"{eid}: no eligible placebo date (every session is too close to "
                "a catalog event or lacks data); it has no placebo p-value"
                for eid, c in cands.items() if not len(c)]
    if all(not len(c) for c in cands.values()):
        raise InputError("no event has an eligible placebo date: the prices "
                         "leave no session with a full estimation and event "
                         "window away from the catalog's events; use a longer "
                         "price history or shorter windows")
    dates = draw_dates(cands, draws, seed)
    weight_col = study.conventions.weights
    extra = (weight_col,) if weight_col and weight_col in events.columns else ()
    st_p = _placebo_study(study)
    K, C = keys.caar.shape
    n_d = np.zeros((K * draws, C))
    caar_d = np.full((K * draws, C), np.nan)
    member = pd.MultiIndex.from_frame(keys.members[["event_id", "group", "ticker"]])
    key_of = keys.members["key"].to_numpy()
    per_event = keys.members.groupby("event_id", sort=False).size()
    lost = 0
    for first in range(0, draws, batch):
        sel = dates[(dates["draw"] >= first) & (dates["draw"] < first + batch)]
        cat = events_from_frame(pseudo_catalog(events, sel, extra),
                                source="<placebo catalog>")
        try:
            res = EventStudy.from_study(
                st_p, loaded.frame, {"prices": loaded.description},
                catalog=(cat, universe), opens=loaded.opens).fit(
                tests=("csect_t",), conventions=study.conventions,
                scopes=("all",), seed=seed, workers=study.workers)
        except NoPairsError:
            lost += int(per_event.reindex(sel["event_id"]).sum())
            if progress is not None:
                progress(min(first + batch, draws), draws)
            continue
        p = res.pairs_
        pid = p["event_id"].astype(str)
        split = pid.str.rsplit(PSEUDO_SEP, n=1, expand=True)
        where = member.get_indexer(pd.MultiIndex.from_arrays(
            [split[0].to_numpy(), p["group"].astype(str).to_numpy(),
             p["ticker"].astype(str).to_numpy()]))
        d = split[1].astype(np.int64).to_numpy()
        code = np.where(where >= 0, key_of[np.maximum(where, 0)] * draws + d, -1)
        car = np.asarray(res.car_arr, dtype=np.float64).reshape(len(p), C)
        cnt, mean = _sums(code.astype(np.int64), car, _weights(p), K * draws)
        hit = cnt.sum(axis=1) > 0
        n_d[hit] = cnt[hit]
        caar_d[hit] = mean[hit]
        lost += int(per_event.reindex(sel["event_id"]).sum()) - int((where >= 0).sum())
        if progress is not None:
            progress(min(first + batch, draws), draws)
    if lost:
        warnings.append(f"{lost} pseudo (event, security) pair(s) were excluded by "
                        "the engine (e.g. too few estimation returns); their draws "
                        "use the pairs left (draws_used, draws_full)")
    table, long = _tables(keys, n_d.reshape(K, draws, C), caar_d.reshape(K, draws, C),
                          observed.windows.car, cands, draws)
    params = {"draws": draws, "seed": seed, "batch": batch,
              "p_value": P_VALUE_RULE, "sampling": SAMPLING_RULE,
              "draws_rule": DRAWS_RULE,
              "windows": {"estimation": list(study.windows.estimation),
                          "event": list(study.windows.event),
                          "car": [list(c) for c in study.windows.car],
                          "min_estimation_obs": study.windows.min_estimation_obs},
              "model": study.model.name,
              "candidates": {k: len(v) for k, v in cands.items()}}
    return PlaceboResult(table, long, dates, params, tuple(warnings))


def _tables(keys: _Keys, n_d: np.ndarray, caar_d: np.ndarray,
            cars: tuple[tuple[int, int], ...], cands: dict[str, pd.DatetimeIndex],
            draws: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary table and the long table of every draw's CAAR."""
    K, N, C = caar_d.shape
    obs = keys.caar
    fin = np.isfinite(caar_d)
    used = fin.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(used > 0, np.nansum(caar_d, axis=1) / np.maximum(used, 1),
                        np.nan)
        dev = np.where(fin, caar_d - mean[:, None, :], 0.0)
        sd = np.where(used > 1, np.sqrt((dev ** 2).sum(axis=1)
                                        / np.maximum(used - 1, 1)), np.nan)
    exceed = (fin & (np.abs(np.where(fin, caar_d, 0.0))
                     >= np.abs(obs)[:, None, :])).sum(axis=1)
    pval = np.where((used > 0) & np.isfinite(obs), (1.0 + exceed) / (used + 1.0),
                    np.nan)
    full = (fin & (n_d == keys.n[:, None, :])).sum(axis=1)
    win = np.array(cars, dtype=np.int64).reshape(C, 2)
    ev = keys.labels["event_id"].to_numpy(dtype=object)
    gr = keys.labels["group"].to_numpy(dtype=object)
    table = pd.DataFrame({
        "event_id": np.repeat(ev, C), "group": np.repeat(gr, C),
        "window_start": np.tile(win[:, 0], K), "window_end": np.tile(win[:, 1], K),
        "n": keys.n.reshape(-1), "caar": obs.reshape(-1),
        "placebo_mean": mean.reshape(-1), "placebo_sd": sd.reshape(-1),
        "p_placebo": pval.reshape(-1), "draws": draws,
        "draws_used": used.reshape(-1).astype(np.int64),
        "draws_full": full.reshape(-1).astype(np.int64),
        "candidates": np.repeat([len(cands.get(str(e), [])) for e in ev], C
                                ).astype(np.int64)})
    long = pd.DataFrame({
        "event_id": np.repeat(ev, N * C), "group": np.repeat(gr, N * C),
        "window_start": np.tile(win[:, 0], K * N),
        "window_end": np.tile(win[:, 1], K * N),
        "draw": np.tile(np.repeat(np.arange(N), C), K),
        "n": n_d.reshape(-1).astype(np.int64), "caar": caar_d.reshape(-1)})
    return table, long


def run_placebo(study_file: str | Path, out_dir: str | Path, *, draws: int,
                seed: int | None = None, prices: str | Path | None = None,
                cache_dir: str | Path | None = None, offline: bool = False,
                progress: Callable[[int, int], None] | None = None,
                wait: float | None = None) -> tuple[PlaceboResult, list[Path]]:
    """The ``eventstudy placebo`` command: :func:`placebo` on a study file, its
    tables written into ``out_dir`` as one output set (``placebo.csv``,
    ``placebo_dates.csv``, ``run.json``; :mod:`eventstudy.io.outputset`).

    Returns
    -------
    (PlaceboResult, list of pathlib.Path)
        The result and the files written.
    """
    draws = _check_int(draws, "draws", 1)
    if seed is not None:
        _check_int(seed, "seed", 0)
    st = prepare_study(study_file)
    out = check_target(out_dir, study_input_paths(st, prices))
    with output_lock(out, wait):
        observed, info = run_study(study_file, study=st, prices=prices,
                                   cache_dir=cache_dir, offline=offline)
        result = placebo(st, prices, draws=draws, seed=seed, cache_dir=cache_dir,
                         offline=offline, progress=progress, observed=observed)
        run_info = {"command": "placebo", "study": str(st.path),
                    "inputs_sha256": info["inputs_sha256"],
                    "fingerprint": info["fingerprint"],
                    "parameters": result.parameters,
                    "warnings": list(result.warnings)}
        dates = result.dates.assign(
            date=pd.DatetimeIndex(result.dates["date"]).strftime("%Y-%m-%d"))

        def write(stage: Path) -> None:
            write_csv(result.table, stage / PLACEBO_FILE)
            write_csv(dates, stage / DATES_FILE)
            write_run_json(stage, json.loads(json.dumps(run_info, default=str)))

        files = write_set(out, write)
    return result, files
