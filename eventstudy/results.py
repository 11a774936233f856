"""Frozen results of an event study, with tidy pandas views and ``save(dir)``.

Output files (``save``), all UTF-8 CSV with ``\\n`` line ends, stable row order and
no timestamps inside tables:

``abnormal_returns.csv``
    event_id, ticker, group, rel_day, date, return, normal_return, abnormal_return,
    sar, day0, day0_rule
``car.csv``
    event_id, ticker, group, window_start, window_end, car, car_se, scar, n_days,
    day0, day0_rule
``tests.csv``
    scope, scope_value, window_start, window_end, test, statistic, p_value, n, mean,
    p_bh (+ rbar, ci_low, ci_high, w_plus where a test reports them)
``excluded.csv``
    event_id, ticker, reason
``diagnostics.csv``
    event_id, ticker, group, calendar, model, day0, day0_rule, n_est, alpha, beta,
    sigma, r2, zero_share, resid_ac1, confounded_by
``summary.md``
    CAAR per event x group and CAR window with significance stars
``run.json``
    versions, parameters, input SHA-256, counts
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eventstudy.study import Conventions, ModelSpec, Windows

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from eventstudy.engine import AbnormalReturns, Estimates, Stacked
    from eventstudy.report import Summary

FLOAT_FORMAT = "%.10g"


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
        )

    # ----------------------------------------------------------------- tables
    @property
    def n_pairs(self) -> int:
        """Number of (event, security) pairs kept."""
        return len(self.pairs_)

    @cached_property
    def _ar_frame(self) -> pd.DataFrame:
        P, W = self.ar.shape
        p = self.pairs_
        rep = np.repeat(np.arange(P), W)
        dates = self.evt_dates.reshape(-1)
        return pd.DataFrame({
            "event_id": p["event_id"].to_numpy()[rep],
            "ticker": p["ticker"].to_numpy()[rep],
            "group": p["group"].to_numpy()[rep],
            "rel_day": np.tile(self.rel_days, P),
            "date": pd.to_datetime(np.where(dates >= 0, dates,
                                            np.iinfo(np.int64).min)),
            "return": self.ret.reshape(-1),
            "normal_return": self.normal.reshape(-1),
            "abnormal_return": self.ar.reshape(-1),
            "sar": self.sar.reshape(-1),
            "day0": p["day0"].to_numpy()[rep],
            "day0_rule": p["day0_rule"].to_numpy()[rep],
        })

    @property
    def abnormal_returns(self) -> pd.DataFrame:
        """One row per pair and event-window day."""
        return self._ar_frame.copy()

    @cached_property
    def _car_frame(self) -> pd.DataFrame:
        P, C = self.car_arr.shape
        p = self.pairs_
        rep = np.repeat(np.arange(P), C)
        win = np.array(self.windows.car, dtype=np.int64).reshape(C, 2)
        with np.errstate(invalid="ignore"):
            se = np.sqrt(self.car_var)
            scar = self.car_arr / se
        return pd.DataFrame({
            "event_id": p["event_id"].to_numpy()[rep],
            "ticker": p["ticker"].to_numpy()[rep],
            "group": p["group"].to_numpy()[rep],
            "window_start": np.tile(win[:, 0], P),
            "window_end": np.tile(win[:, 1], P),
            "car": self.car_arr.reshape(-1),
            "car_se": se.reshape(-1),
            "scar": scar.reshape(-1),
            "n_days": self.car_days.reshape(-1),
            "day0": p["day0"].to_numpy()[rep],
            "day0_rule": p["day0_rule"].to_numpy()[rep],
        })

    @property
    def car(self) -> pd.DataFrame:
        """One row per pair and CAR window (``car_se`` includes estimation error
        when ``conventions.forecast_error``)."""
        return self._car_frame.copy()

    @property
    def tests(self) -> pd.DataFrame:
        """Test statistics per scope, group, window and test."""
        return self.tests_.copy()

    @property
    def excluded(self) -> pd.DataFrame:
        """Every excluded (event, security) pair with its reason."""
        return self.excluded_.copy()

    @cached_property
    def _diag(self) -> pd.DataFrame:
        p = self.pairs_
        r = self.resid
        ok = np.isfinite(r)
        n = ok.sum(axis=1)
        # zero-return share: share of estimation days whose return was exactly 0 is
        # not observable after estimation; use |resid + fitted| via stored returns is
        # not kept, so count zero residual-free returns from the event+estimation ARs
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.where(ok, r - np.nanmean(np.where(ok, r, np.nan), axis=1,
                                            keepdims=True), 0.0)
            both = ok[:, 1:] & ok[:, :-1]
            ac1 = ((a[:, 1:] * a[:, :-1] * both).sum(1)
                   / (a**2).sum(1))
        zero = p["zero_share"].to_numpy() if "zero_share" in p else np.full(len(p),
                                                                          np.nan)
        return pd.DataFrame({
            "event_id": p["event_id"].to_numpy(),
            "ticker": p["ticker"].to_numpy(),
            "group": p["group"].to_numpy(),
            "calendar": p["calendar"].to_numpy(),
            "model": p["model"].to_numpy(),
            "day0": p["day0"].to_numpy(),
            "day0_rule": p["day0_rule"].to_numpy(),
            "n_est": n,
            "alpha": self.alpha,
            "beta": self.beta,
            "sigma": np.sqrt(self.sigma2),
            "r2": self.r2,
            "zero_share": zero,
            "resid_ac1": ac1,
            "confounded_by": p["confounded_by"].to_numpy(),
        })

    @property
    def diagnostics(self) -> pd.DataFrame:
        """Per-pair estimation diagnostics (thin trading, fit, day 0)."""
        return self._diag.copy()

    # ----------------------------------------------------------------- summaries
    def summary(self, test: str | None = None) -> Summary:
        """CAAR per event x group and CAR window with significance stars.

        Parameters
        ----------
        test
            Test whose p-values give the stars; default the first selected test.
        """
        from eventstudy.report import Summary

        return Summary.from_results(self, test or self.test_names[0])

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __str__(self) -> str:
        return self.summary().as_text()

    def plot_car(self, event: str | None = None, group: str | None = None,
                 ax: Any = None) -> Figure:
        """CAAR path with a 95% band; see :func:`eventstudy.report.plot_car`."""
        from eventstudy.report import plot_car

        return plot_car(self, event=event, group=group, ax=ax)

    def cross_section(self, formula: str, window: tuple[int, int] | None = None,
                      data: pd.DataFrame | None = None) -> pd.DataFrame:
        """Regress CARs on pair characteristics (OLS with HC3 standard errors).

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
        import statsmodels.formula.api as smf

        w = window or self.windows.car[0]
        c = self.car
        c = c[(c["window_start"] == w[0]) & (c["window_end"] == w[1])]
        d = self.diagnostics.drop(columns=["group", "day0", "day0_rule"])
        df = c.merge(d, on=["event_id", "ticker"], how="left")
        if data is not None:
            df = df.merge(data, on=["event_id", "ticker"], how="left")
        fit = smf.ols(formula, data=df).fit(cov_type="HC3")
        ci = fit.conf_int()
        return pd.DataFrame({
            "term": list(fit.params.index),
            "estimate": fit.params.to_numpy(),
            "std_error": fit.bse.to_numpy(),
            "t": fit.tvalues.to_numpy(),
            "p_value": fit.pvalues.to_numpy(),
            "ci_low": ci[0].to_numpy(),
            "ci_high": ci[1].to_numpy(),
            "n": int(fit.nobs),
        })

    # ----------------------------------------------------------------- saving
    def save(self, out_dir: str | Path, run_info: dict[str, Any] | None = None
             ) -> list[Path]:
        """Write every output file into ``out_dir`` atomically.

        All files are first written into a temporary folder inside ``out_dir`` and
        then moved into place with ``os.replace``, so an interrupted run never leaves
        a half-written file.

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out))
        written = []
        try:
            tables = {
                "abnormal_returns.csv": self._ar_frame,
                "car.csv": self._car_frame,
                "tests.csv": self.tests_,
                "excluded.csv": self.excluded_,
                "diagnostics.csv": self._diag,
            }
            for name, df in tables.items():
                write_csv(df, tmp / name)
            (tmp / "summary.md").write_text(self.summary().as_markdown(),
                                            encoding="utf-8")
            info = self.run_metadata()
            info.update(run_info or {})
            (tmp / "run.json").write_text(json.dumps(info, indent=2, sort_keys=True,
                                                     default=str) + "\n",
                                          encoding="utf-8")
            names = list(tables) + ["summary.md", "run.json"]
            for name in names:
                os.replace(tmp / name, out / name)
                written.append(out / name)
        finally:
            for f in tmp.glob("*"):
                f.unlink()
            tmp.rmdir()
        return written

    def run_metadata(self) -> dict[str, Any]:
        """Versions, parameters and counts (the content of ``run.json``)."""
        import platform
        from importlib import metadata

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
                            "min_estimation_obs": self.windows.min_estimation_obs},
                "model": {"name": self.model.name, "returns": self.model.returns,
                          "dimson_lags": self.model.dimson_lags},
                "conventions": {
                    "sigma_dof": self.conventions.sigma_dof,
                    "forecast_error": self.conventions.forecast_error,
                    "market_moments": self.conventions.market_moments,
                    "aggregation": self.conventions.aggregation,
                    "weights": self.conventions.weights},
                "tests": list(self.test_names),
                "scopes": list(self.scopes),
            },
            "day0_rule": ("first session of the security's own calendar whose close "
                          "is at or after the announcement; date-only events use "
                          "that date if it is a session, else the next session"),
            "counts": {"pairs": self.n_pairs, "excluded": len(self.excluded_),
                       "events": int(self.pairs_["event_id"].nunique())},
            "data_warnings": list(self.data_warnings),
            "sources": dict(self.sources),
        }


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a table as CSV with a fixed float format (deterministic bytes)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d").fillna("")
    out.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
