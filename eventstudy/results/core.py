"""Frozen results of an event study, with tidy pandas views and ``save(dir)``.

The output files and their columns are listed in :mod:`eventstudy.results`.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from eventstudy.analysis.cross_section import cross_section_table
from eventstudy.analysis.volatility import standardised_by, volatility_table
from eventstudy.analysis.volume import (
    VOLUME_CONSTANT,
    VOLUME_MODELS,
    abnormal_volume,
    log_volume,
    market_volume,
    volume_excluded,
    volume_table,
)
from eventstudy.config import Conventions, ModelSpec, Windows
from eventstudy.errors import InputError
from eventstudy.estimation.containers import AbnormalReturns, Estimates, Stacked
from eventstudy.estimation.models.base import VOL_COLUMNS
from eventstudy.inference.kernels import compiled, use_compiled
from eventstudy.io.atomic import fsync_path
from eventstudy.io.csv import LongTable
from eventstudy.io.outputset import check_target, output_lock, write_run_json, write_set
from eventstudy.io.tables import table_format
from eventstudy.results.paths import ar_table, caar_path, select_pairs
from eventstudy.results.summary import Summary


def _resid_stats(r: np.ndarray, block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: the number of residuals and their first-order autocorrelation
    (adjacent estimation days both present), in row blocks on up to two threads:
    from :data:`~eventstudy.inference.kernels.COMPILED_MIN_PAIRS` pairs one
    compiled pass per row (``numba_passes.resid_stats``, numpy's pairwise sums),
    else numpy (:func:`_resid_rows`); the two agree bit for bit.

    A missing residual enters the sums as a deviation of 0, so a product of
    adjacent deviations with either day missing is 0 (of the same sign, bit for
    bit, as masking it).
    """
    P = r.shape[0]
    n = np.zeros(P, dtype=np.int64)
    ac1 = np.full(P, np.nan)
    if use_compiled("auto", P):  # large studies: one compiled pass per row block
        kernel = compiled().resid_stats
        rc = np.ascontiguousarray(r, dtype=np.float64)

        def rows(lo: int) -> None:
            kernel(rc, lo, min(P, lo + block), n, ac1)
    else:
        rows = partial(_resid_rows, r, block, n, ac1)
    starts = range(0, P, block)
    if P <= block:
        for lo in starts:
            rows(lo)
    else:  # numpy and the kernel release the GIL: the blocks run on two cores
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            list(pool.map(rows, starts))
    return n, ac1


def _resid_rows(r: np.ndarray, block: int, n: np.ndarray, ac1: np.ndarray,
                lo: int) -> None:
    """:func:`_resid_stats` of rows ``lo:lo + block`` with numpy (the reference of
    the compiled pass, bit for bit)."""
    x = r[lo:lo + block]
    ok = np.isfinite(x)
    cnt = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=1, keepdims=True) / cnt[:, None]
        a = np.where(ok, x - mean, 0.0)
        ac1[lo:lo + block] = (a[:, 1:] * a[:, :-1]).sum(1) / (a * a).sum(1)
    n[lo:lo + block] = cnt


def _text_values(s: pd.Series) -> np.ndarray | ExtensionArray:
    """A text column of the pairs for a :class:`LongTable`: its Arrow strings as
    they are (the Parquet writer takes them as they are), else its numpy values."""
    a = s.array
    return a if hasattr(a, "__arrow_array__") else s.to_numpy()


def _ro(a: np.ndarray) -> np.ndarray:
    """A read-only view (no copy: the engine hands over arrays it no longer uses)."""
    v = np.asarray(a).view()
    v.setflags(write=False)
    return v


@dataclass(frozen=True)
class EventStudyResults:
    """Results of :meth:`eventstudy.EventStudy.fit` (immutable).

    The tidy tables (``abnormal_returns``, ``car``, ``tests``, ``excluded``,
    ``diagnostics``) have the same columns as the CLI's output files; each access
    returns a new copy.
    """

    pairs_: pd.DataFrame
    rel_days: np.ndarray
    evt_dates: np.ndarray
    ret: np.ndarray
    normal: np.ndarray
    ar: np.ndarray
    sar: np.ndarray
    car_arr: np.ndarray
    car_var: np.ndarray
    car_days: np.ndarray
    resid: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    sigma2: np.ndarray
    nobs: np.ndarray
    r2: np.ndarray
    tests_: pd.DataFrame
    excluded_: pd.DataFrame
    windows: Windows
    model: ModelSpec
    conventions: Conventions
    test_names: tuple[str, ...]
    data_warnings: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    sources: dict[str, str] = field(default_factory=dict)
    scopes: tuple[str, ...] = ("all", "group", "event", "event_group")
    vol: np.ndarray | None = None
    """``(P, len(VOL_COLUMNS))`` GARCH-family diagnostics (None or all NaN for the
    other models): columns added to ``diagnostics`` when any is finite."""
    day_var: np.ndarray | None = None
    """``(P, W)`` Var(AR_it), the variance the model expects for each abnormal
    return (the GARCH forecast, or the OLS prediction-error variance): the
    abnormal-volatility measure (:meth:`volatility`) compares AR^2 with it."""

    @classmethod
    def build(cls, *, stacked: Stacked, estimates: Estimates, ar: AbnormalReturns,
              tests: pd.DataFrame, windows: Windows, model: ModelSpec,
              conventions: Conventions, test_names: tuple[str, ...],
              timings: dict[str, float], sources: dict[str, str],
              scopes: tuple[str, ...] = ("all", "group", "event", "event_group")
              ) -> EventStudyResults:
        """Assemble from the engine's stages (arrays become read-only views)."""
        return cls(
            pairs_=stacked.pairs.copy(),
            rel_days=_ro(np.arange(windows.event[0], windows.event[1] + 1)),
            evt_dates=_ro(stacked.evt_dates), ret=_ro(stacked.ret_evt),
            normal=_ro(stacked.ret_evt - ar.ar), ar=_ro(ar.ar), sar=_ro(ar.sar),
            car_arr=_ro(ar.car), car_var=_ro(ar.car_var), car_days=_ro(ar.car_days),
            resid=_ro(estimates.resid), alpha=_ro(estimates.alpha),
            beta=_ro(estimates.beta), sigma2=_ro(estimates.sigma2),
            nobs=_ro(estimates.nobs), r2=_ro(estimates.r2), tests_=tests.copy(),
            excluded_=stacked.excluded.copy(), windows=windows, model=model,
            conventions=conventions, test_names=test_names,
            data_warnings=tuple(stacked.warnings), timings=dict(timings),
            sources=dict(sources), scopes=tuple(scopes),
            vol=None if estimates.vol is None else _ro(estimates.vol),
            day_var=_ro(ar.day_var),
        )

    # ----------------------------------------------------------------- tables
    @property
    def n_pairs(self) -> int:
        """Number of (event, security) pairs kept."""
        return len(self.pairs_)

    def _ar_spec(self) -> LongTable:
        """Columns of ``abnormal_returns`` as per-pair/per-day values + row index."""
        P, W = self.ar.shape
        p = self.pairs_
        rep = np.repeat(np.arange(P), W)
        dates = self.evt_dates.reshape(-1)
        return LongTable(P * W, [
            ("event_id", _text_values(p["event_id"]), rep),
            ("ticker", _text_values(p["ticker"]), rep),
            ("group", _text_values(p["group"]), rep),
            ("rel_day", np.asarray(self.rel_days), np.tile(np.arange(W), P)),
            ("date", np.where(dates >= 0, dates, np.iinfo(np.int64).min)
             .view("datetime64[ns]"), None),
            ("return", self.ret.reshape(-1), None),
            ("normal_return", self.normal.reshape(-1), None),
            ("abnormal_return", self.ar.reshape(-1), None),
            ("sar", self.sar.reshape(-1), None),
            ("day0", p["day0"].to_numpy(), rep),
            ("day0_rule", _text_values(p["day0_rule"]), rep),
        ])

    @property
    def abnormal_returns(self) -> pd.DataFrame:
        """One row per pair and event-window day."""
        return self._ar_spec().frame()

    def _car_spec(self) -> LongTable:
        """Columns of ``car`` as per-pair/per-window values + row index."""
        P, C = self.car_arr.shape
        p = self.pairs_
        rep = np.repeat(np.arange(P), C)
        win = np.array(self.windows.car, dtype=np.int64).reshape(C, 2)
        wix = np.tile(np.arange(C), P)
        with np.errstate(invalid="ignore"):
            se = np.sqrt(self.car_var)
            scar = self.car_arr / se
        return LongTable(P * C, [
            ("event_id", _text_values(p["event_id"]), rep),
            ("ticker", _text_values(p["ticker"]), rep),
            ("group", _text_values(p["group"]), rep),
            ("window_start", win[:, 0], wix),
            ("window_end", win[:, 1], wix),
            ("car", self.car_arr.reshape(-1), None),
            ("car_se", se.reshape(-1), None),
            ("scar", scar.reshape(-1), None),
            ("n_days", self.car_days.reshape(-1), None),
            ("day0", p["day0"].to_numpy(), rep),
            ("day0_rule", _text_values(p["day0_rule"]), rep),
        ])

    @property
    def car(self) -> pd.DataFrame:
        """One row per pair and CAR window (``car_se`` includes estimation error
        when ``conventions.forecast_error``)."""
        return self._car_spec().frame()

    @property
    def tests(self) -> pd.DataFrame:
        """Test statistics per scope, group, window and test."""
        return self.tests_.copy()

    @property
    def excluded(self) -> pd.DataFrame:
        """Every excluded (event, security) pair with its reason."""
        return self.excluded_.copy()

    def _diag(self) -> pd.DataFrame:
        p = self.pairs_
        n, ac1 = _resid_stats(np.asarray(self.resid))
        zero = p["zero_share"].to_numpy() if "zero_share" in p else np.full(len(p),
                                                                          np.nan)
        diag = pd.DataFrame({
            "event_id": p["event_id"].astype(str).array,
            "ticker": p["ticker"].astype(str).array,
            "group": p["group"].astype(str).array,
            "calendar": p["calendar"].astype(str).array,
            "model": p["model"].astype(str).array,
            "day0": p["day0"].to_numpy(),
            "day0_rule": p["day0_rule"].astype(str).array,
            "n_est": n,
            # estimation returns removed by mask_estimation (0 without masking)
            "n_masked": (p["n_masked"].to_numpy(dtype=np.int64) if "n_masked" in p
                         else np.zeros(len(p), dtype=np.int64)),
            "alpha": self.alpha,
            "beta": self.beta,
            "sigma": np.sqrt(self.sigma2),
            "r2": self.r2,
            "zero_share": zero,
            "resid_ac1": ac1,
            "confounded_by": p["confounded_by"].astype(str).array,
            # what a positive return means (the universe's quote; "" without it)
            "quote": (p["quote"].fillna("").astype(str).array
                      if "quote" in p else np.full(len(p), "", dtype=object)),
        })
        vol = self.vol
        if vol is not None and len(vol) == len(p) and np.isfinite(vol).any():
            # GARCH family: omega, alpha, gamma, beta, nu, loglik, converged, fallback
            for j, col in enumerate(VOL_COLUMNS):
                diag[col] = vol[:, j]
        return diag

    @property
    def diagnostics(self) -> pd.DataFrame:
        """Per-pair estimation diagnostics (thin trading, fit, day 0)."""
        return self._diag()

    # ----------------------------------------------------------------- summaries
    def summary(self, test: str | None = None) -> Summary:
        """CAAR per event x group and CAR window with significance stars.

        Parameters
        ----------
        test
            Test whose p-values give the stars; default the first selected test.
        """
        return Summary.from_results(self, test or self.test_names[0])

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __str__(self) -> str:
        return self.summary().as_text()

    def caar_path(self, event: str | None = None, group: str | None = None,
                  window: tuple[int, int] | None = None) -> pd.DataFrame:
        """The CAAR path over ``window`` with its standard error: columns
        ``rel_day, caar, se, n``; see :func:`eventstudy.results.paths.caar_path`
        (the variance, value weights, errors)."""
        return caar_path(self, event, group, window)

    def pair_count(self, event: str | None = None, group: str | None = None) -> int:
        """Number of kept pairs of ``event`` and/or ``group`` (None = all).

        Raises
        ------
        InputError
            No kept pair matches.
        """
        return int(select_pairs(self, event, group).sum())

    def ar_table(self, event: str, first: int, last: int) -> pd.DataFrame:
        """One event's abnormal returns by security and day ``first..last``; see
        :func:`eventstudy.results.paths.ar_table`."""
        return ar_table(self, event, first, last)

    def cross_section(self, formula: str, window: tuple[int, int] | None = None,
                      data: pd.DataFrame | None = None, cov: str = "HC3",
                      hac_lags: int | None = None) -> pd.DataFrame:
        """Regress CARs on pair characteristics (OLS; HC0-HC3, clustered by event,
        by date or two-way, or HAC standard errors: ``cov`` = ``"HC3"``,
        ``"cluster_event"``, ``"cluster_date"``, ``"cluster_2way"``, ``"hac"``...
        as in :func:`cross_section_table`, with ``hac_lags``).

        Parameters
        ----------
        formula
            A patsy formula on the columns of ``car`` joined with ``diagnostics``
            (``car``, ``scar``, ``group``, ``beta``, ``sigma``, ...) and ``data``.
        window
            CAR window to use; default the first CAR window.
        data
            Extra per-pair columns, joined on ``event_id`` and ``ticker``.

        Returns
        -------
        pandas.DataFrame
            Tidy: ``term, estimate, std_error, t, p_value, ci_low, ci_high, n``.
        """
        w = window or self.windows.car[0]
        return cross_section_table(self.car, self.diagnostics, formula, w, data,
                                   cov=cov, hac_lags=hac_lags)

    # ----------------------------------------------------------------- measures
    def volatility(self) -> pd.DataFrame:
        """Abnormal volatility per scope, event day and CAR window with its tests
        (``vol_csect_t``, ``vol_savickas``, ``vol_ratio``): the table of
        ``volatility.csv``; see :func:`eventstudy.analysis.volatility.
        volatility_table` for the formulas and sources.

        Raises
        ------
        InputError
            The results carry no AR variances (built without them).
        """
        if self.day_var is None:
            raise InputError("these results carry no AR variances (day_var); "
                             "refit with EventStudy.fit to measure volatility")
        models = self.pairs_["model"].astype(str).tolist()
        fb = None
        if self.vol is not None and len(self.vol) == self.n_pairs:
            fb = np.asarray(self.vol)[:, VOL_COLUMNS.index("fallback_ols")]
        return volatility_table(np.asarray(self.ar), np.asarray(self.day_var),
                                self.pairs_, np.asarray(self.rel_days),
                                self.windows.car, standardised_by(models, fb),
                                scopes=self.scopes)

    def volume(self, volumes: pd.DataFrame, constant: float = VOLUME_CONSTANT,
               models: Sequence[str] = VOLUME_MODELS
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Abnormal log volume (Campbell & Wasley 1996) of the kept pairs, on the
        event days of the return study: the tables of ``volume.csv`` and
        ``volume_excluded.csv``; see :mod:`eventstudy.analysis.volume`.

        Parameters
        ----------
        volumes
            Share volumes, dates x tickers (a ticker without a column, or with
            no volume, is listed as excluded with the reason).
        constant
            c in ln(volume + c).
        models
            Among ``mean`` and ``market``.
        """
        logv = log_volume(volumes, constant)
        p = self.pairs_
        cal = {str(t): str(c) for t, c in zip(p["ticker"], p["calendar"],
                                               strict=True)}
        market = market_volume(logv, cal) if "market" in models else None
        panels = [abnormal_volume(logv, p, np.asarray(self.evt_dates),
                                  self.windows.estimation,
                                  self.windows.min_estimation_obs, m, market)
                  for m in models]
        return (volume_table(panels, p, np.asarray(self.rel_days), self.windows.car,
                             scopes=self.scopes),
                volume_excluded(panels, p))

    # ----------------------------------------------------------------- saving
    def save(self, out_dir: str | Path, run_info: dict[str, Any] | None = None,
             wait: float | None = None, fmt: str = "csv") -> list[Path]:
        """Write every output file into ``out_dir`` as one consistent set.

        The tables, ``summary.md`` and ``run.json`` (which lists every file with its
        SHA-256) are written into a staging folder beside ``out_dir`` and swapped in
        whole under the folder's lock (:mod:`eventstudy.io.outputset`): an interrupted
        or concurrent save never leaves a mixture, and files of an earlier run that
        this one does not write are gone.

        Parameters
        ----------
        out_dir
            The output folder (created; replaced whole when it holds an earlier run).
        run_info
            Extra entries for ``run.json``.
        wait
            Seconds to wait for another writer of ``out_dir``; None waits.
        fmt
            Format of the tables: a name of
            :data:`eventstudy.io.tables.TABLE_FORMATS` (``csv``, ``parquet``).

        Returns
        -------
        list of pathlib.Path
            The files written.

        Raises
        ------
        OutputError
            ``out_dir`` is a file, lies under one, holds other content, is locked, or
            the disk is full.
        """
        out = check_target(out_dir)
        with output_lock(out, wait):
            return write_set(out, lambda stage: self.write_files(stage, run_info,
                                                                 fmt=fmt))

    def write_files(self, folder: str | Path, run_info: dict[str, Any] | None = None,
                    report: str | None = None, fmt: str = "csv",
                    summary: Summary | Callable[[], Summary] | None = None,
                    extra: Mapping[str, Callable[[], pd.DataFrame]] | None = None,
                    ) -> list[Path]:
        """Write the tables, ``summary.md`` and ``run.json`` into an existing folder.

        This is the body of :meth:`save`, for callers that stage a larger set (plots,
        a report, the event catalog) themselves: ``run.json`` is written last and
        lists every file then in ``folder``.

        Parameters
        ----------
        folder
            A (staging) folder.
        run_info
            Extra entries for ``run.json``.
        report
            The report file the caller adds to the set after this call, if any.
        fmt
            Format of the tables (``csv``, ``parquet``), as in :meth:`save`.
        summary
            :meth:`summary` when the caller has it already (it is not recomputed),
            or a function returning it (called once, while the other tables are
            written; e.g. ``functools.cache(results.summary)``, which the caller
            can call again afterwards for the same object).
        extra
            More tables of the set (the event catalog, the measures' tables), by
            file name (the suffix becomes the format's): each built by its function
            and written with the results' tables.

        Returns
        -------
        list of pathlib.Path
        """
        tmp = Path(folder)
        # each table built by its job (largest first), the jobs on two threads: the
        # writers' compiled and pyarrow work releases the GIL, so the abnormal
        # returns are written while the other tables and the summary are built
        # (unless the format's writer spreads them over every core itself)
        tables: dict[str, Callable[[], pd.DataFrame | LongTable]] = {
            "abnormal_returns.csv": self._ar_spec,
            "car.csv": self._car_spec,
            "tests.csv": lambda: self.tests_,
            "excluded.csv": lambda: self.excluded_,
            "diagnostics.csv": self._diag,
            **(extra or {}),
        }
        form = table_format(fmt)  # csv or parquet (eventstudy.io.tables)
        names = [Path(n).stem + form.suffix for n in tables]

        # each table's bytes go to disk as soon as it is written, on a thread of
        # their own, while the others are built (the set's final sync then finds
        # them there: 0.13 s of a 272 MB CSV set otherwise spent at the end)
        syncer = ThreadPoolExecutor(max_workers=1)
        synced: list[Future[None]] = []

        def job(name: str, build: Callable[[], pd.DataFrame | LongTable]
                ) -> str | None:
            digest = form.write(build(), tmp / name)
            synced.append(syncer.submit(fsync_path, tmp / name, True))
            return digest

        builds = list(tables.values())

        def summary_md() -> None:
            text = (summary() if callable(summary) else
                    (summary or self.summary())).as_markdown()
            (tmp / "summary.md").write_text(text, encoding="utf-8")

        first: list[str | None] = []
        with syncer:
            if form.own_threads:  # the largest table alone: its writer uses all cores
                first.append(job(names[0], builds[0]))
            with ThreadPoolExecutor(max_workers=2) as pool:
                jobs = [pool.submit(job, name, build) for name, build in
                        zip(names[len(first):], builds[len(first):], strict=True)]
                summary_md()
                written = first + [j.result() for j in jobs]
            for done in synced:
                done.result()
        # hashed as written: run.json reads no table
        digests = {n: d for n, d in zip(names, written, strict=True) if d is not None}
        info = self.run_metadata()
        info.update(run_info or {})
        write_run_json(tmp, info, report=report, digests=digests)
        return [tmp / n for n in (*names, "summary.md", "run.json")]

    def run_metadata(self) -> dict[str, Any]:
        """Versions, parameters and counts (the content of ``run.json``)."""
        def ver(pkg: str) -> str:
            try:
                return metadata.version(pkg)
            except metadata.PackageNotFoundError:
                return "not installed"

        return {
            "versions": {p: ver(p) for p in (
                "eventstudy", "numpy", "pandas", "scipy", "statsmodels",
                "pandas-market-calendars")} | {"python": platform.python_version()},
            "parameters": {
                "windows": {"estimation": list(self.windows.estimation),
                            "event": list(self.windows.event),
                            "car": [list(c) for c in self.windows.car],
                            "min_estimation_obs": self.windows.min_estimation_obs,
                            "estimation_mode": self.windows.estimation_mode,
                            "estimation_gap": self.windows.estimation_gap,
                            "day0_rule": self.windows.day0_rule},
                "model": {"name": self.model.name, "returns": self.model.returns,
                          "dimson_lags": self.model.dimson_lags},
                "conventions": {
                    "sigma_dof": self.conventions.sigma_dof,
                    "forecast_error": self.conventions.forecast_error,
                    "market_moments": self.conventions.market_moments,
                    "aggregation": self.conventions.aggregation,
                    "weights": self.conventions.weights,
                    "profile": self.conventions.test_profile,
                    "forecast_error_by_test": dict(
                        self.conventions.forecast_error_by_test),
                    "patell_car": self.conventions.patell_car,
                    "corrado_divisor": self.conventions.corrado_divisor},
                "tests": list(self.test_names),
                "scopes": list(self.scopes),
            },
            "day0_rule": ("first observation of the series' own calendar whose "
                          "as-of instant (its close, or the universe's asof, e.g. "
                          "00:00 Europe/London for Yahoo's =X series) is at or after "
                          "the announcement; date-only events use that date's "
                          "session (else the next) for a series valued at its "
                          "close, and the first observation after the whole date "
                          "otherwise; each pair's rule is in day0_rule"),
            "counts": {"pairs": self.n_pairs, "excluded": len(self.excluded_),
                       "events": int(self.pairs_["event_id"].nunique())},
            "data_warnings": list(self.data_warnings),
            "sources": dict(self.sources),
        }
