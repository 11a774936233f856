"""Brown–Warner simulations: the size and power of every test on a real panel.

Design (Brown & Warner 1980, 1985): draw ``portfolios`` samples of ``size`` (stock,
date) pairs at random from a daily panel, each with complete estimation and event-window
data; add an abnormal return ``shift`` to each pair's day-0 return; run every test; and
count how often each rejects the null of no abnormal return. With ``shift = 0`` the
rejection rate is the test's empirical size, with ``shift > 0`` its power.

All portfolios are stacked as (event, security) pairs through the same batched engine as
``eventstudy run`` (:class:`eventstudy.study.EventStudy`, one group per
portfolio), so
1,000 portfolios of 50 pairs are one fit of 50,000 pairs per shift, not 1,000 fits.

Draws never exclude anything silently: a (stock, date) whose estimation or event window
has a missing return is redrawn, and the number of redraws is reported. With
``clustered=True`` all pairs of a portfolio share one event date, the setting in which
cross-sectional correlation inflates the size of Patell and BMP and the Kolari–Pynnönen
adjustments matter (Kolari & Pynnönen 2010).

Rejection rates come with a Clopper–Pearson 95% interval; ``sided = "two"`` uses the
two-sided p-value, ``sided = "one"`` (positive shifts only) rejects when the statistic
is positive and p/2 < alpha.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from eventstudy.config import Windows
from eventstudy.errors import InputError
from eventstudy.inference import TESTS
from eventstudy.inputs.calendar import get_sessions
from eventstudy.inputs.prices import prices_from_frame
from eventstudy.inputs.returns import on_sessions, to_returns
from eventstudy.io.atomic import replace_atomic, write_text_atomic
from eventstudy.results import write_csv
from eventstudy.study import EventStudy

ALPHAS = (0.01, 0.05, 0.10)
DEFAULT_SHIFTS = (0.0, 0.005, 0.01, 0.02)
CANDIDATE_CALENDARS = ("XNYS", "XTKS", "XKRX", "XLON", "XHKG", "XSHG", "XETR",
                       "XPAR", "XSWX", "XASX", "XTSE", "XBOM", "FX", "24/7")
"""Calendars :func:`infer_calendar` compares a panel's dates with, in order of
preference on a tie (``FX`` is eventstudy's 24/5 calendar, ``24/7`` every day)."""
CALENDAR_FIT = 0.98
"""Least agreement (Jaccard index of the panel's dates and the calendar's sessions)
for an inferred calendar to be used."""


@dataclass(frozen=True)
class CalendarFit:
    """How well a calendar's sessions match a panel's dates.

    Attributes
    ----------
    name
        The calendar.
    score
        Jaccard index J = |D n S| / |D u S| of the panel's dates D and the
        calendar's sessions S between the panel's first and last date (1 = the
        same days).
    missing
        Sessions of the calendar with no panel date (|S \\ D|).
    extra
        Panel dates that are not sessions of the calendar (|D \\ S|).
    """

    name: str
    score: float
    missing: int
    extra: int

    def describe(self) -> str:
        """``"XNYS (93.1%: 12 sessions without a row, 4 rows off the calendar)"``."""
        return (f"{self.name} ({100 * self.score:.1f}%: {self.missing} session(s) "
                f"without a row, {self.extra} row(s) off the calendar)")


def calendar_fits(dates: pd.Index[Any] | Sequence[Any],
                  candidates: Sequence[str] = CANDIDATE_CALENDARS
                  ) -> list[CalendarFit]:
    """Every candidate calendar's fit to ``dates``, best first.

    Parameters
    ----------
    dates
        The panel's dates (one per row with data; times and duplicates ignored).
    candidates
        Calendar names (:func:`eventstudy.inputs.calendar.get_sessions`); ties keep this
        order.

    Returns
    -------
    list of CalendarFit
        Sorted by decreasing :attr:`CalendarFit.score`.

    Notes
    -----
    The score is the Jaccard index J = |D n S| / |D u S| (Jaccard 1912) of the
    panel's dates D and the calendar's sessions S over [min D, max D]: a panel
    recorded on that exchange has J = 1 up to its own gaps, while another
    exchange's holidays (about 10 a year) or weekends cost a few percent.
    """

    d = pd.DatetimeIndex(pd.to_datetime(pd.Index(dates))).normalize().unique()
    if len(d) == 0:
        raise InputError("the panel has no dates with prices, so its calendar "
                         "cannot be inferred; pass calendar=... (--calendar)")
    d = d.sort_values()
    fits = []
    for name in candidates:
        sess = get_sessions(name, d[0], d[-1]).dates
        both = int(d.isin(sess).sum())
        union = len(d) + len(sess) - both
        fits.append(CalendarFit(name, both / union if union else 0.0,
                                len(sess) - both, len(d) - both))
    order = sorted(range(len(fits)), key=lambda i: (-fits[i].score, i))
    return [fits[i] for i in order]


def infer_calendar(dates: pd.Index[Any] | Sequence[Any],
                   candidates: Sequence[str] = CANDIDATE_CALENDARS,
                   source: str = "the panel") -> tuple[CalendarFit, CalendarFit | None]:
    """The calendar whose sessions best match ``dates``, and the runner-up.

    Raises
    ------
    InputError
        No candidate reaches :data:`CALENDAR_FIT`; the message names the best
        fits and how to pass the calendar.

    Examples
    --------
    >>> from eventstudy.inputs.calendar import get_sessions
    >>> best, nxt = infer_calendar(get_sessions("XTKS", "2024-01-01",
    ...                                         "2024-12-31").dates)
    >>> best.name, best.score
    ('XTKS', 1.0)
    """
    fits = calendar_fits(dates, candidates)
    best = fits[0]
    second = fits[1] if len(fits) > 1 else None
    if best.score < CALENDAR_FIT:
        nxt = f"; next {second.describe()}" if second is not None else ""
        raise InputError(
            f"{source}: its dates fit no calendar well (at least "
            f"{100 * CALENDAR_FIT:.0f}% agreement needed among "
            f"{', '.join(candidates)}): best {best.describe()}{nxt}. Pass the "
            f"panel's calendar with --calendar NAME (calendar= in the library), "
            f"e.g. --calendar {best.name}")
    return best, second


@dataclass(frozen=True)
class SimulationResult:
    """Rejection rates of a simulation.

    Attributes
    ----------
    rates
        Tidy table: ``test, window_start, window_end, shift, sided, alpha, rejections,
        n, rate, ci_low, ci_high``.
    redraws
        Number of (stock, date) draws replaced because their data were incomplete.
    parameters
        The simulation's parameters (for the record).
    """

    rates: pd.DataFrame
    redraws: int
    parameters: dict[str, Any] = field(default_factory=dict)

    def table(self, alpha: float = 0.05, sided: Literal["two", "one"] = "two"
              ) -> pd.DataFrame:
        """Wide table: one row per test and window, one column per shift (rates in
        percent with the 95% interval)."""
        r = self.rates[(self.rates["alpha"] == alpha) & (self.rates["sided"] == sided)]
        r = r.assign(cell=[f"{100 * v:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]"
                           for v, lo, hi in zip(r["rate"], r["ci_low"], r["ci_high"],
                                                strict=True)])
        wide = r.pivot_table(index=["test", "window_start", "window_end"],
                             columns="shift", values="cell", aggfunc="first",
                             sort=False)
        wide.columns = [f"shift {100 * s:g}%" for s in wide.columns]
        return wide.reset_index()

    def to_markdown(self) -> str:
        """Markdown: the two-sided 5% table and the one-sided 5% power table."""
        lines = ["# Size and power (rejection rates, %, with 95% Clopper-Pearson "
                 "intervals)", ""]
        p = self.parameters
        lines.append(f"Portfolios: {p.get('portfolios')} x {p.get('size')} pairs; "
                     f"model {p.get('model')}; clustered: {p.get('clustered')}; "
                     f"seed {p.get('seed')}; redraws: {self.redraws}.")
        for sided, title in (("two", "Two-sided tests at 5%"),
                             ("one", "One-sided tests at 5% (positive shifts)")):
            t = self.table(0.05, sided)  # type: ignore[arg-type]
            if t.empty:
                continue
            lines += ["", f"## {title}", ""]
            cols = list(t.columns)
            lines.append("| " + " | ".join(cols) + " |")
            lines.append("|" + "|".join("---" for _ in cols) + "|")
            for row in t.itertuples(index=False):
                lines.append("| " + " | ".join("" if (isinstance(v, float)
                                                       and np.isnan(v)) else str(v)
                                                for v in row) + " |")
        return "\n".join(lines) + "\n"

    def plot_power(self, window: tuple[int, int] | None = None) -> Any:
        """Power curves (two-sided 5%) per test; returns a matplotlib Figure."""
        from matplotlib.figure import (
            Figure,  # lazy: matplotlib loads only when a plot is drawn
        )

        r = self.rates[(self.rates["alpha"] == 0.05) & (self.rates["sided"] == "two")]
        if window is not None:
            r = r[(r["window_start"] == window[0]) & (r["window_end"] == window[1])]
        fig = Figure(figsize=(7, 4.5))
        ax = fig.add_subplot(1, 1, 1)
        for (test, a, b), g in r.groupby(["test", "window_start", "window_end"],
                                         sort=False):
            label = test if window is not None else f"{test} [{a},{b}]"
            ax.plot(100 * g["shift"], 100 * g["rate"], marker="o", ms=3, label=label)
        ax.axhline(5, color="grey", lw=0.8, ls="--")
        ax.set_xlabel("abnormal return added on day 0 (%)")
        ax.set_ylabel("rejection rate at 5%, two-sided (%)")
        ax.legend(fontsize=7, ncol=2)
        return fig


def _valid_starts(ok: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """valid[t, s]: rows t + lo .. t + hi of ``ok[:, s]`` are all True (in range)."""
    T = ok.shape[0]
    c = np.vstack([np.zeros((1, ok.shape[1]), dtype=np.int64),
                   np.cumsum(ok, axis=0, dtype=np.int64)])
    t = np.arange(T)
    a, b = t + lo, t + hi
    inside = (a >= 0) & (b < T)
    a_c, b_c = np.clip(a, 0, T), np.clip(b + 1, 0, T)
    count = c[b_c] - c[a_c]
    return np.asarray(inside[:, None] & (count == (hi - lo + 1)), dtype=bool)


def draw_pairs(valid: np.ndarray, portfolios: int, size: int,
               rng: np.random.Generator, clustered: bool = False
               ) -> tuple[np.ndarray, np.ndarray, int]:
    """Draw (date index, stock index) pairs with complete data.

    Each pair is drawn uniformly (a stock among those with any complete window, a date
    among the dates where any stock has one); a draw without complete data is drawn
    again, and every such redraw is counted. With ``clustered``, each portfolio draws
    one date and then ``size`` distinct stocks with complete data on it.

    Parameters
    ----------
    valid
        ``(T, S)`` True where a pair starting at that date has complete data.
    portfolios, size
        Number of portfolios and pairs per portfolio.
    rng
        Random generator.
    clustered
        One date per portfolio.

    Returns
    -------
    (dates, stocks, redraws)
        ``(portfolios, size)`` arrays and the number of redrawn pairs.
    """
    T, S = valid.shape
    rows = np.flatnonzero(valid.any(axis=1))
    cols = np.flatnonzero(valid.any(axis=0))
    if len(rows) == 0:
        raise InputError("no (stock, date) in the panel has complete estimation and "
                         "event-window data; use a longer panel or shorter windows")
    redraws = 0
    if clustered:
        counts = valid.sum(axis=1)
        ok_rows = np.flatnonzero(counts >= size)
        if len(ok_rows) == 0:
            raise InputError(f"no date has {size} stocks with complete data; lower "
                             "--size")
        dates = rng.choice(rows, size=portfolios)
        bad = counts[dates] < size
        while bad.any():
            redraws += int(bad.sum()) * size
            dates[bad] = rng.choice(rows, size=int(bad.sum()))
            bad = counts[dates] < size
        # size distinct stocks per portfolio among those valid on its date:
        # random keys, invalid stocks pushed last
        keys = rng.random((portfolios, S)) + ~valid[dates]
        stocks = np.argsort(keys, axis=1)[:, :size]
        return np.repeat(dates[:, None], size, axis=1), stocks, redraws
    dates = rng.choice(rows, size=(portfolios, size))
    stocks = rng.choice(cols, size=(portfolios, size))
    for _ in range(100_000):
        bad = ~valid[dates, stocks]
        if not bad.any():
            return dates, stocks, redraws
        nb = int(bad.sum())
        redraws += nb
        dates[bad] = rng.choice(rows, size=nb)
        stocks[bad] = rng.choice(cols, size=nb)
    raise InputError("could not draw enough pairs with complete data")


def simulate(
    prices: pd.DataFrame,
    market: str | None = None,
    *,
    universe: pd.DataFrame | None = None,
    model: str = "market",
    estimation: tuple[int, int] = (-250, -11),
    event: tuple[int, int] = (-10, 10),
    windows: Sequence[tuple[int, int]] = ((0, 0),),
    portfolios: int = 1000,
    size: int = 50,
    shifts: Sequence[float] = DEFAULT_SHIFTS,
    tests: Sequence[str] | None = None,
    clustered: bool = False,
    seed: int = 12345,
    calendar: str | None = None,
    kind: Literal["prices", "returns"] = "prices",
    workers: int | None = None,
    bootstrap_reps: int = 199,
) -> SimulationResult:
    """Size and power of every test on random (stock, date) pairs of a panel.

    Parameters
    ----------
    prices
        Wide (or long) prices or returns (see ``kind``), any layout ``run`` reads.
    market
        The market index column (the benchmark of every stock); or give ``universe``
        with a ``benchmark`` per ``ticker``.
    universe
        Optional universe (ticker, benchmark[, calendar]); securities not in it are
        not drawn.
    model
        Normal-return model name.
    estimation, event
        Windows in sessions relative to day 0.
    windows
        CAR windows to test (default: day 0 alone).
    portfolios, size
        Number of samples and pairs per sample.
    shifts
        Abnormal returns added to the day-0 return.
    tests
        Test names; default every registered test but the per-series ones.
    clustered
        Put all pairs of a portfolio on one date.
    seed
        Seed of the draws (and of the bootstrap).
    calendar
        Calendar of the panel's sessions. None (default): inferred from the
        panel's dates (:func:`infer_calendar`: the best of
        :data:`CANDIDATE_CALENDARS`, which must agree with at least
        :data:`CALENDAR_FIT` of them); ``parameters`` then record
        ``calendar_inferred`` and the fit.
    kind
        Whether ``prices`` holds prices or returns.
    workers
        Threads for the engine (results do not depend on it); ``None`` or ``0``:
        automatic (:func:`eventstudy.execution.resolve_workers`).
    bootstrap_reps
        Draws of the ``boot`` test.

    Returns
    -------
    SimulationResult

    Raises
    ------
    InputError
        Bad options, a market or benchmarks missing from the panel, no complete
        draw, or (``calendar=None``) no calendar that fits the panel's dates.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = pd.bdate_range("2022-01-03", periods=400)
    >>> m = rng.normal(0, 0.01, 400)
    >>> r = pd.DataFrame({f"S{i}": m + rng.normal(0, 0.02, 400) for i in range(30)},
    ...                  index=d).assign(MKT=m)
    >>> res = simulate(r, "MKT", kind="returns", calendar="FX", portfolios=20,
    ...                size=10, shifts=(0.0, 0.02), tests=("csect_t",))
    >>> sorted(res.rates["shift"].unique().tolist())
    [0.0, 0.02]
    """

    frame = prices_from_frame(prices)
    if universe is not None:
        bench_of = dict(zip(universe["ticker"].astype(str),
                            universe["benchmark"].astype(str), strict=True))
    elif market is not None:
        if market not in frame.columns:
            raise InputError(f"market {market!r} is not a column of the panel")
        bench_of = {c: market for c in frame.columns if c != market}
    else:
        raise InputError("give the market index (market=...) or a universe with a "
                         "benchmark per security")
    secs = [s for s in frame.columns if s in bench_of and bench_of[s] in frame.columns
            and s not in set(bench_of.values())]
    if not secs:
        raise InputError("no security of the panel has its benchmark in the panel")
    # default: every portfolio test (a per-series test has no value for a portfolio)
    names = tuple(tests) if tests is not None else tuple(
        n for n, spec in TESTS.items() if not spec.per_series)
    inferred: dict[str, Any] = {}
    if calendar is None:
        has = frame.index[frame.notna().any(axis=1).to_numpy()]
        best, second = infer_calendar(has)
        calendar = best.name
        inferred = {"calendar_inferred": True,
                    "calendar_fit": round(best.score, 6),
                    "calendar_runner_up": (second.name if second is not None
                                           else "")}
    win = Windows(estimation, event, tuple(tuple(w) for w in windows),  # type: ignore[misc]
                  estimation[1] - estimation[0] + 1)
    sess = get_sessions(calendar, frame.index.min(), frame.index.max()).dates
    vals, _ = on_sessions(frame, sess)
    rets = vals if kind == "returns" else to_returns(vals)
    col = {c: i for i, c in enumerate(frame.columns)}
    r_s = rets[:, [col[s] for s in secs]]
    r_b = rets[:, [col[bench_of[s]] for s in secs]]
    ok = np.isfinite(r_s) & np.isfinite(r_b)
    valid = _valid_starts(ok, estimation[0], event[1])
    rng = np.random.default_rng(seed)
    dates, stocks, redraws = draw_pairs(valid, portfolios, size, rng, clustered)
    P = portfolios * size
    port = np.repeat(np.arange(portfolios), size)
    group = "p" + pd.Series(port).astype(str).str.zfill(5)
    member = pd.Series(np.tile(np.arange(size), portfolios)).astype(str).str.zfill(3)
    events = pd.DataFrame({
        "event_id": (group + "_" + member).to_numpy(),
        "timestamp": sess[dates.reshape(-1)].strftime("%Y-%m-%d"),
        "ticker": np.array(secs, dtype=object)[stocks.reshape(-1)],
        "group": group.to_numpy(),
        "calendar": calendar,
    })
    events["benchmark"] = events["ticker"].map(bench_of)
    study = EventStudy(frame, events, kind=kind, model=model, windows=win,
                       calendar=calendar)
    rows = []
    for shift in shifts:
        res = study.fit(tests=names, scopes=("group",), seed=seed, workers=workers,
                        bootstrap_reps=bootstrap_reps, day0_shift=float(shift))
        t = res.tests_
        t = t[t["window_kind"] == "car"]
        rows.append(_rates(t, float(shift)))
        if len(res.excluded_):
            raise InputError(f"{len(res.excluded_)} drawn pairs were excluded by the "
                             "engine; this should not happen with complete data: "
                             f"{res.excluded_.head(3).to_dict('records')}")
    rates = pd.concat(rows, ignore_index=True)
    params = {"portfolios": portfolios, "size": size, "pairs": P, "model": model,
              "estimation": list(estimation), "event": list(event),
              "windows": [list(w) for w in windows], "shifts": list(shifts),
              "tests": list(names), "clustered": clustered, "seed": seed,
              "calendar": calendar, "securities": len(secs), **inferred}
    return SimulationResult(rates=rates, redraws=redraws, parameters=params)


def _rates(t: pd.DataFrame, shift: float) -> pd.DataFrame:
    """Rejection counts per test and window for one shift."""
    from scipy import stats  # lazy: scipy.stats costs ~0.3 s at start-up

    out = []
    for key, g in t.groupby(["test", "window_start", "window_end"], sort=False):
        k0, k1, k2 = key
        test, a, b = str(k0), int(str(k1)), int(str(k2))
        p = g["p_value"].to_numpy(dtype=np.float64)
        s = g["statistic"].to_numpy(dtype=np.float64)
        ok = np.isfinite(p)
        n = int(ok.sum())
        for sided in ("two", "one"):
            if sided == "one" and shift <= 0:
                continue
            for alpha in ALPHAS:
                if sided == "two":
                    rej = p[ok] < alpha
                else:
                    rej = (s[ok] > 0) & (p[ok] / 2 < alpha)
                k = int(rej.sum())
                if n:
                    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
                    lo, hi = float(ci.low), float(ci.high)
                else:
                    lo = hi = float("nan")
                out.append({"test": test, "window_start": int(a), "window_end": int(b),
                            "shift": shift, "sided": sided, "alpha": alpha,
                            "rejections": k, "n": n,
                            "rate": k / n if n else float("nan"),
                            "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(out)


def save_simulation(result: SimulationResult, out_dir: str | Path,
                    plots: bool = False) -> list[Path]:
    """Write ``simulation.csv``, ``simulation.md`` (and ``power.png``) atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    replace_atomic(out / "simulation.csv", lambda tmp: write_csv(result.rates, tmp))
    written.append(out / "simulation.csv")
    write_text_atomic(out / "simulation.md", result.to_markdown())
    written.append(out / "simulation.md")
    write_text_atomic(out / "simulation.json", json.dumps(
        {"parameters": result.parameters, "redraws": result.redraws}, indent=2,
        sort_keys=True) + "\n")
    written.append(out / "simulation.json")
    if plots:
        fig = result.plot_power()
        fig.savefig(out / "power.png", dpi=110, bbox_inches="tight")
        written.append(out / "power.png")
    return written
