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
    scope, scope_value, window_start, window_end, window_kind, test, statistic,
    p_value, n, mean,
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

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eventstudy.config import Conventions, ModelSpec, Windows
from eventstudy.io.outputset import check_target, output_lock, write_run_json, write_set

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from eventstudy.estimation.containers import AbnormalReturns, Estimates, Stacked
    from eventstudy.reporting.report import Summary

FLOAT_FORMAT = "%.10g"


def _resid_stats(r: np.ndarray, block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: the number of residuals and their first-order autocorrelation
    (adjacent estimation days both present), in row blocks."""
    P = r.shape[0]
    n = np.zeros(P, dtype=np.int64)
    ac1 = np.full(P, np.nan)
    for lo in range(0, P, block):
        x = r[lo:lo + block]
        ok = np.isfinite(x)
        cnt = ok.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(ok, x, 0.0).sum(axis=1, keepdims=True) / cnt[:, None]
            a = np.where(ok, x - mean, 0.0)
            both = ok[:, 1:] & ok[:, :-1]
            ac1[lo:lo + block] = ((a[:, 1:] * a[:, :-1] * both).sum(1)
                                  / (a**2).sum(1))
        n[lo:lo + block] = cnt
    return n, ac1


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

    def _ar_spec(self) -> _LongTable:
        """Columns of ``abnormal_returns`` as per-pair/per-day values + row index."""
        P, W = self.ar.shape
        p = self.pairs_
        rep = np.repeat(np.arange(P), W)
        dates = self.evt_dates.reshape(-1)
        return _LongTable(P * W, [
            ("event_id", p["event_id"].to_numpy(), rep),
            ("ticker", p["ticker"].to_numpy(), rep),
            ("group", p["group"].to_numpy(), rep),
            ("rel_day", np.asarray(self.rel_days), np.tile(np.arange(W), P)),
            ("date", np.where(dates >= 0, dates, np.iinfo(np.int64).min)
             .view("datetime64[ns]"), None),
            ("return", self.ret.reshape(-1), None),
            ("normal_return", self.normal.reshape(-1), None),
            ("abnormal_return", self.ar.reshape(-1), None),
            ("sar", self.sar.reshape(-1), None),
            ("day0", p["day0"].to_numpy(), rep),
            ("day0_rule", p["day0_rule"].to_numpy(), rep),
        ])

    @cached_property
    def _ar_frame(self) -> pd.DataFrame:
        return self._ar_spec().frame()

    @property
    def abnormal_returns(self) -> pd.DataFrame:
        """One row per pair and event-window day."""
        return self._ar_frame.copy()

    def _car_spec(self) -> _LongTable:
        """Columns of ``car`` as per-pair/per-window values + row index."""
        P, C = self.car_arr.shape
        p = self.pairs_
        rep = np.repeat(np.arange(P), C)
        win = np.array(self.windows.car, dtype=np.int64).reshape(C, 2)
        wix = np.tile(np.arange(C), P)
        with np.errstate(invalid="ignore"):
            se = np.sqrt(self.car_var)
            scar = self.car_arr / se
        return _LongTable(P * C, [
            ("event_id", p["event_id"].to_numpy(), rep),
            ("ticker", p["ticker"].to_numpy(), rep),
            ("group", p["group"].to_numpy(), rep),
            ("window_start", win[:, 0], wix),
            ("window_end", win[:, 1], wix),
            ("car", self.car_arr.reshape(-1), None),
            ("car_se", se.reshape(-1), None),
            ("scar", scar.reshape(-1), None),
            ("n_days", self.car_days.reshape(-1), None),
            ("day0", p["day0"].to_numpy(), rep),
            ("day0_rule", p["day0_rule"].to_numpy(), rep),
        ])

    @cached_property
    def _car_frame(self) -> pd.DataFrame:
        return self._car_spec().frame()

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
        n, ac1 = _resid_stats(np.asarray(self.resid))
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
        from eventstudy.reporting.report import Summary

        return Summary.from_results(self, test or self.test_names[0])

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __str__(self) -> str:
        return self.summary().as_text()

    def plot_car(self, event: str | None = None, group: str | None = None,
                 ax: Any = None) -> Figure:
        """CAAR path with a 95% band; see
        :func:`eventstudy.reporting.report.plot_car`."""
        from eventstudy.reporting.report import plot_car

        return plot_car(self, event=event, group=group, ax=ax)

    def cross_section(self, formula: str, window: tuple[int, int] | None = None,
                      data: pd.DataFrame | None = None, cov: str = "HC3"
                      ) -> pd.DataFrame:
        """Regress CARs on pair characteristics (OLS; HC3 or clustered standard
        errors, ``cov`` as in :func:`cross_section_table`).

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
                                   cov=cov)

    # ----------------------------------------------------------------- saving
    def save(self, out_dir: str | Path, run_info: dict[str, Any] | None = None,
             wait: float | None = None) -> list[Path]:
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
            return write_set(out, lambda stage: self.write_files(stage, run_info))

    def write_files(self, folder: str | Path, run_info: dict[str, Any] | None = None,
                    report: str | None = None) -> list[Path]:
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

        Returns
        -------
        list of pathlib.Path
        """
        tmp = Path(folder)
        tables: dict[str, pd.DataFrame | _LongTable] = {
            "abnormal_returns.csv": self._ar_spec(),
            "car.csv": self._car_spec(),
            "tests.csv": self.tests_,
            "excluded.csv": self.excluded_,
            "diagnostics.csv": self._diag,
        }
        for name, table in tables.items():
            if isinstance(table, _LongTable):
                table.write(tmp / name)
            else:
                write_csv(table, tmp / name)
        (tmp / "summary.md").write_text(self.summary().as_markdown(),
                                        encoding="utf-8")
        info = self.run_metadata()
        info.update(run_info or {})
        write_run_json(tmp, info, report=report)
        return [tmp / n for n in (*tables, "summary.md", "run.json")]

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


# --------------------------------------------------------------------------- CSV
# A vectorised CSV writer producing exactly the bytes of
# ``DataFrame.to_csv(index=False, float_format="%.10g", lineterminator="\n")``
# (dates as YYYY-MM-DD): every cell is rendered into a fixed-width byte matrix
# (one row per table row) plus a length, and each block of rows is compacted into
# the file with one boolean mask. Floats get C's "%.10g" through exact integer
# digits: 10 significant digits from a correctly rounded scaling (a value whose
# 11th digit is too close to a rounding tie for float64 arithmetic to decide is
# formatted by Python instead, as are zeros, non-finite values and values outside
# 1e-13..1e32).

_P10 = 10.0 ** np.arange(23)
_CSV_BLOCK = 1 << 16
_FLOAT_W = 17

Cells = tuple[np.ndarray, np.ndarray]
"""A rendered column: ``(n, w)`` uint8 bytes (left-aligned) and ``(n,)`` lengths."""


def _float_patterns() -> tuple[np.ndarray, np.ndarray, dict[tuple[int, ...], int]]:
    """Source-index patterns of every "%.10g" layout (see :func:`_render_floats`).

    Character table per value: 0-9 digits, 10 '.', 11 '0', 12 '-', 13 'e',
    14 exponent sign, 15-17 exponent digits (zero-padded to 3), 18 padding.
    """
    pats: list[list[int]] = []
    keys: dict[tuple[int, ...], int] = {}
    for neg in (0, 1):
        for sig in range(1, 11):
            for e in range(-4, 10):  # fixed notation
                p = [12] if neg else []
                if e >= 0:
                    p += list(range(e + 1))
                    if sig > e + 1:
                        p += [10] + list(range(e + 1, sig))
                else:
                    p += [11, 10] + [11] * (-e - 1) + list(range(sig))
                keys[(0, neg, sig, e)] = len(pats)
                pats.append(p)
            for three in (0, 1):  # exponent notation
                p = [12] if neg else []
                p += [0] + ([10] + list(range(1, sig)) if sig > 1 else [])
                p += [13, 14] + ([15, 16, 17] if three else [16, 17])
                keys[(1, neg, sig, three)] = len(pats)
                pats.append(p)
    table = np.full((len(pats), _FLOAT_W), 18, dtype=np.int32)
    lens = np.zeros(len(pats), dtype=np.int64)
    for i, p in enumerate(pats):
        table[i, :len(p)] = p
        lens[i] = len(p)
    return table, lens, keys


_PAT_TABLE, _PAT_LEN, _PAT_KEYS = _float_patterns()
_PAT_FIXED = np.zeros((2, 11, 14), dtype=np.intp)
_PAT_EXP = np.zeros((2, 11, 2), dtype=np.intp)
for (_kind, _neg, _sig, _x), _i in _PAT_KEYS.items():
    if _kind == 0:
        _PAT_FIXED[_neg, _sig, _x + 4] = _i
    else:
        _PAT_EXP[_neg, _sig, _x] = _i


def _render_floats(x: np.ndarray) -> Cells:
    """``"%.10g" % v`` of every value, NaN as empty, as a byte matrix."""
    import pyarrow as pa

    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    M = np.zeros((n, _FLOAT_W), dtype=np.uint8)
    L = np.zeros(n, dtype=np.int64)
    a = np.abs(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.floor(np.log10(a))
    # fast path: 10 ** (9 - e) is an exact double (|9 - e| <= 22), so the scaled
    # value carries a single rounding (relative error <= 2**-53)
    fast = np.isfinite(e) & (e >= -13) & (e <= 31)
    idx = np.flatnonzero(fast)
    if len(idx):
        av = a[idx]
        e = e[idx].astype(np.int64)
        for _ in range(3):  # log10 may be one off next to powers of ten
            k = 9 - e
            s = av * _P10[np.clip(k, 0, 22)] / _P10[np.clip(-k, 0, 22)]
            lo, hi = s < 1e9, s >= 1e10
            if not (lo.any() or hi.any()):
                break
            e = e - lo + hi
        # |error of s| <= 1e10 * 2**-53 ~ 1.1e-6: a fractional part this close to
        # one half cannot be rounded with certainty; Python does those
        frac = s - np.floor(s)
        ok = ((np.abs(frac - 0.5) > 1e-5) & (s >= 1e9) & (s < 1e10)
              & (e >= -13) & (e <= 31))
        D = np.rint(s)
        top = D >= 1e10
        D = np.clip(np.where(top, 1e9, D), 1e9, 9_999_999_999.0)  # 10 digits
        e = e + top
        m = len(idx)
        digits = pa.array(D.astype(np.int64)).cast(pa.string())  # 10 chars each
        chars = np.frombuffer(digits.buffers()[2], dtype=np.uint8,
                              count=10 * m).reshape(m, 10)
        sig = 10 - np.argmax(chars[:, ::-1] != 48, axis=1)
        neg = (x[idx] < 0).astype(np.intp)
        fixed = (e >= -4) & (e < 10)
        pid = np.where(
            fixed, _PAT_FIXED[neg, sig, np.clip(e + 4, 0, 13)],
            _PAT_EXP[neg, sig, (np.abs(e) >= 100).astype(np.intp)])
        T = np.empty((m, 19), dtype=np.uint8)
        T[:, :10] = chars
        T[:, 10:14] = (46, 48, 45, 101)
        T[:, 14] = np.where(e < 0, 45, 43)
        ae = np.abs(e)
        T[:, 15] = ae // 100 % 10 + 48
        T[:, 16] = ae // 10 % 10 + 48
        T[:, 17] = ae % 10 + 48
        T[:, 18] = 0
        flat = _PAT_TABLE[pid] + (np.arange(m, dtype=np.int32) * 19)[:, None]
        rows = np.take(T.reshape(-1), flat)
        if ok.all():
            M[idx] = rows
            L[idx] = _PAT_LEN[pid]
        else:
            M[idx[ok]] = rows[ok]
            L[idx[ok]] = _PAT_LEN[pid][ok]
            fast[idx[~ok]] = False
    # zeros and infinities (NaN stays empty), then tiny or huge values and near-ties
    zero, sign = x == 0, np.signbit(x)
    for text, sel in ((b"0", zero & ~sign), (b"-0", zero & sign),
                      (b"inf", x == np.inf), (b"-inf", x == -np.inf)):
        M[sel, :len(text)] = np.frombuffer(text, dtype=np.uint8)
        L[sel] = len(text)
        fast |= sel
    fast |= np.isnan(x)
    for i in np.flatnonzero(~fast):
        v = float(x[i])
        t = "" if v != v else FLOAT_FORMAT % v
        b = t.encode("ascii")
        M[i, :len(b)] = np.frombuffer(b, dtype=np.uint8)
        L[i] = len(b)
    return M, L


def _render_ints(x: np.ndarray) -> Cells:
    """``str(v)`` of every integer, as a byte matrix."""
    import pyarrow as pa

    return _render_arrow(pa.array(np.asarray(x).astype(np.int64)).cast(pa.string()))


def _render_arrow(arr: Any) -> Cells:
    """A pyarrow string array (no nulls) as a byte matrix."""
    import pyarrow as pa

    arr = arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:
                                                             arr.offset + n + 1]
    data = arr.buffers()[2]
    buf = (np.frombuffer(data, dtype=np.uint8) if data is not None
           else np.zeros(0, dtype=np.uint8))
    L = np.diff(offsets)
    w = int(L.max()) if n else 0
    M = np.zeros((n, max(w, 1)), dtype=np.uint8)
    if w and len(buf):
        col = np.arange(w)[None, :]
        inside = col < L[:, None]
        src = np.where(inside, offsets[:-1, None] + col, 0)
        M[:, :w] = np.where(inside, buf[src], 0)
    return M, L.astype(np.int64)


def _render_strings(values: Any) -> Cells | None:
    """CSV cells of a string column (None/NaN as empty, minimal quoting).

    Returns None when a value is not a string or holds a carriage return (left to
    pandas, whose quoting of ``\\r`` depends on the Python version).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = pc.fill_null(arr, "")
    if pc.any(pc.match_substring(arr, "\r")).as_py():
        return None
    need = pc.match_substring_regex(arr, '[,"\n]')
    if pc.any(need).as_py():
        q = pa.scalar('"', pa.large_string())
        quoted = pc.binary_join_element_wise(
            q, pc.replace_substring(arr, '"', '""'), q,
            pa.scalar("", pa.large_string()))
        arr = pc.if_else(need, quoted, arr)
    return _render_arrow(arr)


def _render_dates(values: np.ndarray) -> Cells:
    """YYYY-MM-DD of datetime64 values (any unit), NaT as empty.

    Civil dates from day numbers by integer arithmetic (H. Hinnant's
    ``civil_from_days``); years outside 1000-9999 go through numpy's formatter.
    """
    v = np.asarray(values)
    nat = np.isnat(v)
    z = np.where(nat, 0, v.astype("datetime64[D]").view(np.int64)) + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    M = np.empty((len(v), 10), dtype=np.uint8)
    for j, p10 in enumerate((1000, 100, 10, 1)):
        M[:, j] = y // p10 % 10 + 48
    M[:, 4] = M[:, 7] = 45
    M[:, 5], M[:, 6] = m // 10 + 48, m % 10 + 48
    M[:, 8], M[:, 9] = d // 10 + 48, d % 10 + 48
    odd = ~nat & ((y < 1000) | (y > 9999))
    for i in np.flatnonzero(odd):
        b = str(v[i].astype("datetime64[D]")).encode("ascii")[:10].ljust(10)
        M[i] = np.frombuffer(b, dtype=np.uint8)
    L = np.where(nat, 0, 10).astype(np.int64)
    return M, L


Renderer = Callable[[int, int], Cells]


def _lazy(render: Callable[[np.ndarray], Cells], values: np.ndarray) -> Renderer:
    """Render rows lo:hi of ``values`` when the block is written."""
    return lambda lo, hi: render(values[lo:hi])


def _indexed(cells: Cells, index: np.ndarray | None = None) -> Renderer:
    """Rows lo:hi of pre-rendered cells, through an optional row index."""
    M, L = cells
    if index is None:
        return lambda lo, hi: (M[lo:hi], L[lo:hi])
    return lambda lo, hi: (M[index[lo:hi]], L[index[lo:hi]])


def _column_renderer(s: pd.Series) -> Renderer | None:
    """Render one pandas column, or None when the fast writer cannot."""
    dt = s.dtype
    if isinstance(dt, np.dtype):
        v = s.to_numpy()
        if dt.kind == "f":
            return _lazy(_render_floats, v)
        if dt.kind in "iu":
            return _lazy(_render_ints, v)
        if dt.kind == "M":
            return _lazy(_render_dates, v)
        if dt.kind == "b":
            cells = _render_strings(np.where(v, "True", "False"))
        elif dt.kind == "O":
            cells = _render_strings(v)
        else:
            return None
        return None if cells is None else _indexed(cells)
    if pd.api.types.is_string_dtype(dt):
        cells = _render_strings(s.array)
        return None if cells is None else _indexed(cells)
    return None


def _header(names: list[str]) -> bytes:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(names)
    return buf.getvalue().encode("utf-8")


def _csv_block(columns: list[tuple[str, Renderer]], lo: int, hi: int) -> bytes:
    """The CSV bytes of rows lo:hi (every field, commas and newlines)."""
    cells = [render(lo, hi) for _, render in columns]
    total = sum(M.shape[1] for M, _ in cells) + len(cells)
    big = np.zeros((hi - lo, total), dtype=np.uint8)
    keep = np.zeros((hi - lo, total), dtype=bool)
    pos = 0
    for j, (M, L) in enumerate(cells):
        w = M.shape[1]
        big[:, pos:pos + w] = M
        keep[:, pos:pos + w] = np.arange(w)[None, :] < L[:, None]
        pos += w
        big[:, pos] = 44 if j < len(cells) - 1 else 10
        keep[:, pos] = True
        pos += 1
    return big[keep].tobytes()


def _write_columns(columns: list[tuple[str, Renderer]], nrows: int, path: Path,
                   workers: int | None = None) -> None:
    """Write rendered columns as CSV rows, block by block.

    Blocks are rendered on up to ``workers`` threads (default: up to 2 CPU cores;
    numpy and pyarrow release the GIL) and written in order, with at most two
    blocks per thread in memory.
    """
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    nw = workers if workers is not None else min(2, os.cpu_count() or 1)
    spans = [(lo, min(nrows, lo + _CSV_BLOCK)) for lo in range(0, nrows, _CSV_BLOCK)]
    with open(path, "wb") as f:
        f.write(_header([name for name, _ in columns]))
        if nw <= 1 or len(spans) <= 1:
            for lo, hi in spans:
                f.write(_csv_block(columns, lo, hi))
            return
        with ThreadPoolExecutor(max_workers=nw) as pool:
            pending: deque[Future[bytes]] = deque()
            for lo, hi in spans:
                pending.append(pool.submit(_csv_block, columns, lo, hi))
                if len(pending) >= 2 * nw:
                    f.write(pending.popleft().result())
            while pending:
                f.write(pending.popleft().result())


def _write_pandas(df: pd.DataFrame, path: Path) -> None:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d").fillna("")
    out.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a table as CSV with a fixed float format (deterministic bytes).

    The bytes are those of ``DataFrame.to_csv(index=False, float_format="%.10g",
    lineterminator="\\n")`` with dates as ``YYYY-MM-DD``; float, integer, boolean,
    date and string columns are rendered by a vectorised writer, anything else (and
    single-column tables) by pandas.
    """
    cols: list[tuple[str, Renderer]] = []
    if df.shape[1] > 1:
        for j, name in enumerate(df.columns):
            render = _column_renderer(df.iloc[:, j])
            if render is None:
                cols = []
                break
            cols.append((str(name), render))
    if not cols:
        _write_pandas(df, path)
        return
    _write_columns(cols, len(df), path)


@dataclass(frozen=True)
class _LongTable:
    """A long table as columns of values plus an optional row index into each.

    Per-pair columns (ids, day 0) are stored once per pair and repeated through
    the index, so that writing renders each distinct cell once.
    """

    nrows: int
    columns: list[tuple[str, np.ndarray, np.ndarray | None]]

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame (dates as ``datetime64``)."""
        data: dict[str, Any] = {}
        for name, values, index in self.columns:
            v = values if index is None else values[index]
            if isinstance(v, np.ndarray) and v.dtype.kind == "M":
                v = pd.to_datetime(v)
            data[name] = v
        return pd.DataFrame(data)

    def write(self, path: Path) -> None:
        """Write as :func:`write_csv` would write :meth:`frame` (same bytes)."""
        cols: list[tuple[str, Renderer]] = []
        for name, values, index in self.columns:
            render = _values_renderer(values, index)
            if render is None:
                write_csv(self.frame(), path)
                return
            cols.append((name, render))
        _write_columns(cols, self.nrows, path)


def _values_renderer(values: np.ndarray, index: np.ndarray | None
                     ) -> Renderer | None:
    kind = values.dtype.kind
    if index is None and kind in "fiuM":
        return _column_renderer(pd.Series(values, copy=False))
    cells: Cells | None
    if kind in "fiu":
        cells = _render_floats(values) if kind == "f" else _render_ints(values)
    elif kind == "M":
        cells = _render_dates(values)
    else:
        cells = _render_strings(values)
    return None if cells is None else _indexed(cells, index)


COVS = ("HC3", "cluster-event", "cluster-date")
"""Covariance estimators of :func:`cross_section_table` (``cov=``)."""


def cross_section_table(car: pd.DataFrame, diagnostics: pd.DataFrame, formula: str,
                        window: tuple[int, int],
                        data: pd.DataFrame | None = None,
                        cov: str = "HC3") -> pd.DataFrame:
    """OLS of CARs on pair characteristics with robust standard errors, as a table.

    Parameters
    ----------
    car, diagnostics
        The ``car`` and ``diagnostics`` tables (from a results object or from the
        ``car.csv`` and ``diagnostics.csv`` of a run).
    formula
        ``response ~ terms`` naming only columns, e.g. ``"car ~ group + beta"``.
        The grammar is whitelisted (:func:`check_formula`): column names of the
        joined ``car``/``diagnostics`` (and ``data``) tables, numbers, the
        operators ``+ - * : ~ ( )`` and ``C(column)``; anything else (a function
        call, an attribute, a string...) is refused before patsy sees it, so
        nothing in a formula can execute code.
    window
        The CAR window whose CARs are regressed.
    data
        Extra per-pair columns, joined on ``event_id`` and ``ticker``.
    cov
        ``"HC3"`` (default), ``"cluster-event"`` (clustered by ``event_id``) or
        ``"cluster-date"`` (clustered by the day-0 date, ``day0``).

    Returns
    -------
    pandas.DataFrame
        ``term, estimate, std_error, t, p_value, ci_low, ci_high, n, cov,
        clusters`` (``clusters`` is the number of clusters, empty for HC3).

    Raises
    ------
    InputError
        A formula outside the grammar or naming an unknown column, an unknown
        ``cov``, no CARs for ``window``, no complete row, a singular design (the
        collinear terms are named), an HC3 fit with an observation of leverage 1,
        or fewer than 2 clusters.

    Notes
    -----
    Rows with a missing value in any column the formula names are dropped first,
    so a categorical's levels are those of the rows used: a group whose every
    pair lacks the regressor (the yen has no beta under the constant-mean model)
    gets no all-zero dummy, and ``car ~ group + beta`` keeps a full-rank design
    (intercept plus one treatment dummy per other group).

    * ``HC3`` (MacKinnon & White 1985): V = (X'X)^-1 X' diag(e_i^2 / (1 - h_ii)^2)
      X (X'X)^-1, the usual choice for cross-sections of CARs whose variances
      differ by security; z statistics and normal p-values (statsmodels
      ``cov_type="HC3"``).
    * ``cluster-event`` / ``cluster-date``: the cluster-robust (Liang & Zeger 1986;
      Arellano 1987) V = c (X'X)^-1 (sum_g X_g'e_g e_g'X_g) (X'X)^-1 with
      c = G/(G-1) (N-1)/(N-K), by event (pairs of one announcement share its
      news) or by day-0 date (events on one date share the market's day);
      t statistics with G - 1 degrees of freedom, as Cameron & Miller (2015)
      recommend for few clusters (statsmodels ``cov_type="cluster"``,
      ``use_t=True``).
    """
    import patsy
    import statsmodels.api as sm

    from eventstudy.errors import InputError

    if cov not in COVS:
        raise InputError(f"cov = {cov!r}: use one of {', '.join(COVS)}")
    c = car[(car["window_start"] == window[0]) & (car["window_end"] == window[1])]
    if c.empty:
        raise InputError(f"no CARs for the window {list(window)}; use one of the "
                         "study's CAR windows")
    d = diagnostics.drop(columns=[x for x in ("group", "day0", "day0_rule")
                                  if x in diagnostics.columns])
    df = c.merge(d, on=["event_id", "ticker"], how="left")
    if data is not None:
        df = df.merge(data, on=["event_id", "ticker"], how="left")
    clean, used = check_formula(formula, [str(x) for x in df.columns])
    key = {"cluster-event": "event_id", "cluster-date": "day0"}.get(cov)
    if key is not None and key not in df.columns:
        raise InputError(f"cov = {cov!r} needs the column {key!r} in the CAR table")
    df = df.dropna(subset=used).reset_index(drop=True)
    if df.empty:
        raise InputError(f"formula {formula!r}: no pair has every column it names "
                         f"({', '.join(used)}) for the window {list(window)}")
    try:
        y, X = patsy.dmatrices(clean, df, return_type="dataframe",
                               NA_action="raise",
                               eval_env=patsy.EvalEnvironment([{}]))
    except Exception as exc:  # patsy reports bad formulas with many error types
        raise InputError(f"cannot fit {formula!r}: {exc}; the columns are "
                         f"{', '.join(map(str, df.columns))}") from exc
    if y.shape[1] != 1:
        raise InputError(f"formula {formula!r}: the left of '~' must be one numeric "
                         "column, e.g. car or scar")
    xv = X.to_numpy(dtype=np.float64)
    if np.linalg.matrix_rank(xv) < xv.shape[1]:
        kept: list[int] = []
        extra = []
        for j, name in enumerate(X.columns):
            if np.linalg.matrix_rank(xv[:, kept + [j]]) > len(kept):
                kept.append(j)
            else:
                extra.append(str(name))
        raise InputError(
            f"formula {formula!r}: the design is singular ({len(df)} pairs): "
            f"{', '.join(extra)} is a linear combination of the other terms (e.g. "
            "a dummy for every group next to the intercept, or a column that is "
            "constant); drop it, or add '- 1' to drop the intercept")
    model = sm.OLS(y.iloc[:, 0], X)
    clusters = float("nan")
    if key is None:
        h = np.einsum("ij,ji->i", xv, np.linalg.pinv(xv))
        if np.any(h > 1.0 - 1e-10):
            bad = df.loc[h > 1.0 - 1e-10, ["event_id", "ticker"]]
            raise InputError(
                f"formula {formula!r}: HC3 is undefined with a pair of leverage 1 "
                f"(its own term, e.g. a group with a single pair): "
                f"{', '.join(bad['event_id'] + '/' + bad['ticker'])}; drop that "
                "term or use cov='cluster-event'")
        fit = model.fit(cov_type="HC3")
    else:
        codes = pd.factorize(df[key].astype(str))[0]
        clusters = float(codes.max() + 1)
        if clusters < 2:
            raise InputError(f"cov = {cov!r}: the {len(df)} pairs fall in "
                             f"{int(clusters)} cluster of {key!r}; clustering needs "
                             "at least 2 (use HC3)")
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    ci = fit.conf_int()
    return pd.DataFrame({
        "term": [str(x) for x in fit.params.index],
        "estimate": fit.params.to_numpy(),
        "std_error": fit.bse.to_numpy(),
        "t": fit.tvalues.to_numpy(),
        "p_value": fit.pvalues.to_numpy(),
        "ci_low": ci[0].to_numpy(),
        "ci_high": ci[1].to_numpy(),
        "n": int(fit.nobs),
        "cov": cov,
        "clusters": clusters,
    })


_FORMULA_TOKENS = (r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                   r"|(?P<num>[0-9]+(?:\.[0-9]+)?)|(?P<op>[-+*:~()]))")


def check_formula(formula: str, columns: list[str]) -> tuple[str, list[str]]:
    """Check a cross-section formula against the whitelisted grammar.

    The formula may hold only: names of ``columns``, numbers, the operators
    ``+ - * : ~ ( )`` and ``C(column)``, with exactly one ``~`` between a
    non-empty left and right side and balanced parentheses. Nothing else reaches
    patsy (whose terms are Python expressions, evaluated), so nothing in a formula
    can execute code.

    Returns
    -------
    (formula, columns)
        The formula rebuilt from its tokens (what patsy evaluates) and the columns
        it names, in order of first use.

    Raises
    ------
    InputError
        A character, name or construct outside the grammar.

    Examples
    --------
    >>> check_formula("car ~ C(group) + beta", ["car", "group", "beta"])
    ('car ~ C ( group ) + beta', ['car', 'group', 'beta'])
    >>> check_formula("car ~ __import__('os')", ["car"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eventstudy.errors.InputError: formula "car ~ __import__('os')": ...
    """
    import re

    from eventstudy.errors import InputError

    allowed = ("formulas name only columns of car.csv and diagnostics.csv ("
               + ", ".join(columns) + "), numbers, the operators + - * : ~ ( ) "
               "and C(column)")

    def bad(what: str) -> InputError:
        return InputError(f"formula {formula!r}: {what}; {allowed}")

    if not isinstance(formula, str):
        raise bad("not a string")
    if "**" in formula:
        raise bad("'**' is not allowed")
    pat = re.compile(_FORMULA_TOKENS)
    toks: list[tuple[str, str]] = []
    pos = 0
    text = formula.rstrip()
    while pos < len(text):
        m = pat.match(text, pos)
        if m is None:
            raise bad(f"{text[pos:].lstrip()[:1]!r} at character "
                      f"{len(text) - len(text[pos:].lstrip()) + 1} is not allowed")
        kind = str(m.lastgroup)
        toks.append((kind, m.group(kind)))
        pos = m.end()
    used: list[str] = []
    depth = 0
    tilde = 0
    i = 0
    while i < len(toks):
        kind, val = toks[i]
        if kind == "name":
            if val == "C" and "C" not in columns:
                nxt = [v for _, v in toks[i + 1:i + 4]]
                if (len(nxt) < 3 or nxt[0] != "(" or nxt[2] != ")"
                        or toks[i + 2][0] != "name" or toks[i + 2][1] not in columns):
                    raise bad("C(...) takes a single column name, e.g. C(group)")
                val = toks[i + 2][1]
                i += 3
            elif val not in columns:
                raise bad(f"{val!r} is not a column")
            if val not in used:
                used.append(val)
        elif val == "(":
            depth += 1
        elif val == ")":
            depth -= 1
            if depth < 0:
                raise bad("a ')' closes no '('")
        elif val == "~":
            tilde += 1
            if depth:
                raise bad("'~' inside parentheses")
        i += 1
    if depth:
        raise bad("a '(' is not closed")
    sides = " ".join(v for _, v in toks).split("~")
    if tilde != 1 or not sides[0].strip() or not sides[1].strip():
        raise bad("write one response, '~' and the terms, e.g. car ~ group + beta")
    return " ".join(v for _, v in toks), used
