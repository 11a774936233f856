"""Benchmark the full pipeline on a seeded synthetic panel.

``python -m eventstudy.bench [--securities N --days N --events N ...]``

The panel has ``--securities`` market-model securities (random alpha, beta and sigma)
plus one market index ``MKT`` on ``--days`` XNYS sessions, and ``--events`` events,
each on one random security (``event_id, timestamp, ticker``; date-only timestamps on
random sessions with at least 260 sessions of history and 10 after). A known share of
the events (``--planted``) carry an abnormal return of ``--abnormal`` on day 0.

It runs the market model with estimation window [-250, -11], event window [-10, 10],
CAR windows (0,0), (0,1), (-1,1), (-5,5) and every registered test among the
parametric and rank/sign tests, and prints the wall time of each stage, pairs per
second and the peak resident memory. In the same run a plain per-pair
``statsmodels.OLS`` loop on ``--loop-pairs`` pairs checks that both paths agree to
1e-10 and gives the per-pair speed ratio.

``--model garch`` benchmarks the GARCH-family estimation instead: ``--events``
simulated GARCH(1,1) market-model pairs fitted by the batched maximum-likelihood
kernel against ``arch`` pair by pair on ``--arch-pairs`` of them
(:func:`run_garch_bench`; docs/benchmark.md).

``--scheduler dask --workers N`` runs the chunks of stages 2-4 on a local Dask
cluster of N worker processes (``--scheduler tcp://host:8786``: on an existing
cluster); the report then adds the cluster start-up and the workers' peak memory
(docs/cluster.md).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import eventstudy.inference as inference
from eventstudy.config import Windows
from eventstudy.errors import EventStudyError
from eventstudy.estimation.pipeline import FUSED_MIN_PAIRS
from eventstudy.inputs.calendar import get_sessions
from eventstudy.study import EventStudy

BENCH_TESTS = ("csect_t", "bw_t", "patell", "patell_kp", "bmp", "bmp_kp", "skew_t",
               "corrado", "gsign")
"""Tests the benchmark runs, where registered in :data:`eventstudy.inference.TESTS`."""

STAGES = ("align", "stack", "estimate", "ar_car", "tests", "write")
BENCHMARK_TICKER = "MKT"
CALENDAR = "XNYS"
HISTORY = 260
"""Sessions before day 0 an event needs (estimation window [-250, -11] plus one)."""
AFTER = 10


@dataclass(frozen=True)
class Panel:
    """A synthetic prices panel with its events and the true parameters."""

    prices: pd.DataFrame
    events: pd.DataFrame
    alpha: np.ndarray
    beta: np.ndarray
    sigma: np.ndarray
    planted: np.ndarray
    """Abnormal return planted on day 0 of each event (0 where none)."""


def make_panel(securities: int = 2000, days: int = 1500, events: int = 100_000, *,
               seed: int = 20240601, planted_share: float = 0.5,
               abnormal: float = 0.02, start: str = "2015-01-02") -> Panel:
    """Generate a seeded market-model panel and one-ticker events.

    Parameters
    ----------
    securities, days, events
        Panel size: number of securities, XNYS sessions and events.
    seed
        Seed of the ``numpy.random.Generator``.
    planted_share, abnormal
        Share of events with an abnormal return of ``abnormal`` added on day 0.
    start
        First session.

    Returns
    -------
    Panel
        Wide prices (``date`` index; ``S0000``... and ``MKT`` columns) and the events
        table (``event_id, timestamp, ticker``).

    Examples
    --------
    >>> p = make_panel(5, 300, 10)
    >>> p.prices.shape, list(p.events.columns)
    ((300, 6), ['event_id', 'timestamp', 'ticker'])
    """

    if days < HISTORY + AFTER + 1:
        raise ValueError(f"--days must be at least {HISTORY + AFTER + 1}")
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    sess = get_sessions(CALENDAR, t0, t0 + pd.Timedelta(days=int(days * 1.5) + 30))
    dates = sess.dates[:days]
    if len(dates) < days:
        raise ValueError("calendar too short for --days")
    m = rng.normal(0.0003, 0.01, days)
    alpha = rng.normal(0.0, 0.0005, securities)
    beta = rng.uniform(0.3, 1.7, securities)
    sigma = rng.uniform(0.01, 0.03, securities)
    r = alpha[None, :] + m[:, None] * beta[None, :] + (
        rng.standard_normal((days, securities)) * sigma[None, :])
    sec = rng.integers(0, securities, events)
    pos = rng.integers(HISTORY, days - AFTER, events)
    plant = np.where(rng.random(events) < planted_share, abnormal, 0.0)
    np.add.at(r, (pos, sec), plant)
    r[0] = 0.0
    m[0] = 0.0
    prices = 100.0 * np.cumprod(1.0 + r, axis=0)
    mkt = 1000.0 * np.cumprod(1.0 + m)
    names = [f"S{i:04d}" for i in range(securities)]
    frame = pd.DataFrame(prices, index=pd.DatetimeIndex(dates, name="date"),
                         columns=names)
    frame[BENCHMARK_TICKER] = mkt
    width = max(6, len(str(events)))
    ev = pd.DataFrame({
        "event_id": [f"E{i:0{width}d}" for i in range(events)],
        "timestamp": np.asarray(dates[pos].strftime("%Y-%m-%d"), dtype=object),
        "ticker": np.asarray(names, dtype=object)[sec],
    })
    return Panel(prices=frame, events=ev, alpha=alpha, beta=beta, sigma=sigma,
                 planted=plant)


def write_inputs(panel: Panel, folder: str | Path) -> list[Path]:
    """Write the panel as the inputs of ``eventstudy run``.

    Files: ``prices.parquet`` (wide: date index, one column per ticker),
    ``events.csv`` (``event_id, timestamp, ticker, benchmark, calendar``: the
    benchmark and calendar of one-ticker events come from these optional columns,
    as there is no universe) and ``study.toml`` (``universe = ""``, market model,
    the benchmark's windows, data source = the Parquet file).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    prices = out / "prices.parquet"
    panel.prices.to_parquet(prices)
    ev = panel.events.assign(benchmark=BENCHMARK_TICKER, calendar=CALENDAR)
    events = out / "events.csv"
    ev.to_csv(events, index=False, lineterminator="\n")
    study = out / "study.toml"
    study.write_text(
        "# Synthetic benchmark study written by python -m eventstudy.bench\n"
        "[study]\n"
        'name = "bench"\n'
        'events = "events.csv"\n'
        'universe = ""                     # one ticker per event, no universe\n'
        "\n[windows]\n"
        "estimation = [-250, -11]\n"
        "event = [-10, 10]\n"
        "car = [[0, 0], [0, 1], [-1, 1], [-5, 5]]\n"
        "min_estimation_obs = 120\n"
        "\n[model]\n"
        'name = "market"\n'
        "\n[tests]\n"
        'names = ["csect_t", "patell", "bmp"]\n'
        "\n[data]\n"
        'source = "file"\n'
        'prices = "prices.parquet"\n', encoding="utf-8")
    return [prices, events, study]


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2,
          "mb": 1000**2, "mib": 1024**2, "g": 1000**3, "gb": 1000**3,
          "gib": 1024**3, "t": 1000**4, "tb": 1000**4, "tib": 1024**4}


def parse_size(text: str) -> int:
    """Bytes from a size such as ``2GiB``, ``512MiB``, ``1.5GB`` or ``1000000``.

    Examples
    --------
    >>> parse_size("2GiB"), parse_size("512 MiB"), parse_size("1e6")
    (2147483648, 536870912, 1000000)
    """
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}; write e.g. 2GiB, 512MiB or a number of bytes")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (``ru_maxrss``), MiB."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


class ChildPeak:
    """Samples the resident memory of this process's child processes (a local Dask
    cluster's workers) every ``interval`` seconds in a thread; ``peak_mib`` is the
    largest single child seen.

    ``ru_maxrss`` of the children is no use here: on Linux a child started by
    fork + exec carries the parent's resident size at the fork into its
    ``ru_maxrss``.
    """

    def __init__(self, interval: float = 0.2) -> None:

        self.peak_mib = 0.0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil  # lazy: optional, for the benchmark's memory figures

        me = psutil.Process()
        while not self._stop.is_set():
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                self.peak_mib = max(self.peak_mib, rss)
            self._stop.wait(self._interval)

    def __enter__(self) -> ChildPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def statsmodels_loop(panel: Panel, pairs: pd.DataFrame, windows: Any,
                     n: int) -> tuple[float, dict[str, np.ndarray]]:
    """The plain way: one ``statsmodels.OLS`` per pair on sliced returns.

    Returns the seconds spent in the loop (per-pair slicing, OLS, AR) and, for the
    first ``n`` kept pairs, alpha, beta, sigma and the event-window ARs.
    """
    import statsmodels.api as sm  # lazy: statsmodels costs ~1 s at start-up

    prices = panel.prices
    rets = prices / prices.shift(1) - 1.0
    rets.iloc[0] = np.nan
    index = {d: i for i, d in enumerate(prices.index)}
    e0, e1 = windows.estimation
    w0, w1 = windows.event
    sub = pairs.iloc[:n]
    tickers = sub["ticker"].to_numpy()
    day0 = sub["day0"].to_numpy()
    out = {"alpha": np.full(len(sub), np.nan), "beta": np.full(len(sub), np.nan),
           "sigma": np.full(len(sub), np.nan),
           "ar": np.full((len(sub), w1 - w0 + 1), np.nan)}
    t0 = time.perf_counter()
    for i in range(len(sub)):  # the per-pair loop being benchmarked
        p0 = index[pd.Timestamp(day0[i])]
        y = rets[tickers[i]].to_numpy()
        x = rets[BENCHMARK_TICKER].to_numpy()
        ye, xe = y[p0 + e0:p0 + e1 + 1], x[p0 + e0:p0 + e1 + 1]
        ok = np.isfinite(ye) & np.isfinite(xe)
        fit = sm.OLS(ye[ok], sm.add_constant(xe[ok])).fit()
        a, b = fit.params
        out["alpha"][i], out["beta"][i] = a, b
        out["sigma"][i] = np.sqrt(fit.ssr / fit.df_resid)
        out["ar"][i] = y[p0 + w0:p0 + w1 + 1] - (a + b * x[p0 + w0:p0 + w1 + 1])
    return time.perf_counter() - t0, out


def run_bench(securities: int = 2000, days: int = 1500, events: int = 100_000, *,
              seed: int = 20240601, planted_share: float = 0.5,
              abnormal: float = 0.02, loop_pairs: int = 500,
              out_dir: str | Path | None = None, max_memory: int | None = None,
              chunk_size: int | None = None, workers: int | None = None,
              tests: Sequence[str] | None = None,
              scopes: Sequence[str] | None = None,
              scheduler: str = "local", kernel_choice: str = "auto",
              repeat: int = 1) -> dict[str, Any]:
    """Run the benchmark and return every figure (see :func:`main`).

    ``scheduler`` and ``workers`` are passed to
    :meth:`~eventstudy.study.EventStudy.fit`. With a Dask scheduler the
    stages
    include ``cluster`` (starting or connecting to the cluster, sending it the
    aligned data, closing it) and ``collect`` (moving the chunks' outputs into this
    process); ``stack``, ``estimate`` and ``ar_car`` are then the workers' compute
    time divided by the number of workers.

    Returns
    -------
    dict
        ``config``, ``stages`` (seconds per stage), ``pipeline_seconds``,
        ``pairs_per_second``, ``peak_rss_mib`` (after each stage and overall),
        ``loop`` (statsmodels comparison) and ``checks``.
    """

    rss: dict[str, float] = {"start": peak_rss_mib()}
    t = time.perf_counter()
    panel = make_panel(securities, days, events, seed=seed,
                       planted_share=planted_share, abnormal=abnormal)
    t_gen = time.perf_counter() - t
    rss["generate"] = peak_rss_mib()
    names = tuple(tests) if tests is not None else tuple(
        x for x in BENCH_TESTS if x in inference.TESTS)
    windows = Windows(estimation=(-250, -11), event=(-10, 10),
                      car=((0, 0), (0, 1), (-1, 1), (-5, 5)), min_estimation_obs=120)
    t = time.perf_counter()
    study = EventStudy(panel.prices, panel.events, kind="prices", model="market",
                       windows=windows, calendar=CALENDAR,
                       benchmark=BENCHMARK_TICKER)
    t_prep = time.perf_counter() - t
    rss["prepare"] = peak_rss_mib()
    # once per process: import numba and load the compiled market-model kernel
    # (compiled at the first run after installation, then read from numba's cache)
    t = time.perf_counter()
    kernel = "numpy"
    if kernel_choice == "numba" or (kernel_choice == "auto"
                                    and events >= FUSED_MIN_PAIRS):
        from eventstudy.estimation.kernels import (  # lazy: numba
            available,
            warm,
        )

        if available():
            warm()
            from eventstudy.inference.kernels import warm as warm_tests  # lazy: numba

            warm_tests()  # the tests stage's compiled passes
            kernel = "numba"
    t_kernel = time.perf_counter() - t
    children = ChildPeak()
    runs: list[tuple[float, float]] = []  # (fit stages, fit wall) per repeat
    res = None
    for _ in range(max(1, repeat)):
        res = None  # the previous run's arrays are freed before the next
        t = time.perf_counter()
        if scheduler == "dask":
            with children:
                res = study.fit(tests=names, scopes=scopes, chunk_size=chunk_size,
                                max_memory=max_memory, workers=workers,
                                scheduler=scheduler, kernel=kernel)
        else:
            res = study.fit(tests=names, scopes=scopes, chunk_size=chunk_size,
                            max_memory=max_memory, workers=workers,
                            scheduler=scheduler, kernel=kernel)
        t_fit = time.perf_counter() - t
        tmr = res.timings
        total = sum(float(tmr.get(k, 0.0)) for k in
                    ("align", "stack", "estimate", "ar_car", "tests", "results",
                     "cluster", "collect"))
        if not runs or total < min(r[0] for r in runs):
            best = (t_fit, dict(tmr))  # the results are the same every time
        runs.append((total, t_fit))
    first_pipeline = runs[0][0]
    t_fit, tm = best
    assert res is not None
    rss["fit"] = peak_rss_mib()
    stages = {s: float(tm.get(s, 0.0)) for s in STAGES if s != "write"}
    stages["tests"] += float(tm.get("results", 0.0))
    if scheduler != "local":
        stages["cluster"] = float(tm.get("cluster", 0.0))
        stages["collect"] = float(tm.get("collect", 0.0))
    if out_dir is not None:
        t = time.perf_counter()
        res.save(out_dir)
        stages["write"] = time.perf_counter() - t
        rss["write"] = peak_rss_mib()
    P = res.n_pairs
    n_loop = min(loop_pairs, P)
    t_loop, ref = statsmodels_loop(panel, res.pairs_, windows, n_loop)
    diffs = {
        "alpha": float(np.max(np.abs(ref["alpha"] - res.alpha[:n_loop]), initial=0)),
        "beta": float(np.max(np.abs(ref["beta"] - res.beta[:n_loop]), initial=0)),
        "sigma": float(np.max(np.abs(ref["sigma"] - np.sqrt(res.sigma2[:n_loop])),
                              initial=0)),
        "ar": float(np.max(np.abs(ref["ar"] - res.ar[:n_loop]), initial=0)),
    }
    est_s = sum(stages.get(s, 0.0) for s in ("stack", "estimate", "ar_car"))
    engine_s = sum(stages.get(s, 0.0) for s in
                   ("align", "cluster", "stack", "estimate", "ar_car", "collect"))
    pipeline_s = sum(stages.values())
    per_loop = t_loop / n_loop if n_loop else float("nan")
    d0 = int(-windows.event[0])
    kept = res.pairs_["event_id"].to_numpy()
    planted = pd.Series(panel.planted, index=panel.events["event_id"]).reindex(kept)
    ar0 = np.asarray(res.ar)[:, d0]
    has = planted.to_numpy() > 0
    return {
        "config": {"securities": securities, "days": days, "events": events,
                   "seed": seed, "planted_share": planted_share,
                   "abnormal": abnormal, "loop_pairs": n_loop,
                   "tests": list(names), "scopes": list(res.scopes),
                   "chunk_size": int(tm.get("chunk_size", 0)),
                   "chunks": int(tm.get("chunks", 0)),
                   "workers": int(tm.get("workers", 0)),
                   "scheduler": scheduler, "tasks": int(tm.get("tasks", 0)),
                   "kernel": kernel,
                   "max_memory": max_memory, "out_dir": str(out_dir or ""),
                   "numpy_hugepages": _hugepages()},
        "pairs": P,
        "excluded": len(res.excluded_),
        "stages": stages,
        "tests_stage": {k.split(":", 1)[1]: float(v) for k, v in tm.items()
                        if k.startswith("tests:")}
        | {"results": float(tm.get("results", 0.0))},
        "generate_seconds": t_gen,
        "prepare_seconds": t_prep,
        "repeat": max(1, repeat),
        "first_run_fit_stages_seconds": first_pipeline,
        "kernel_load_seconds": t_kernel,
        "fit_seconds": t_fit,
        "engine_seconds": engine_s,
        "pipeline_seconds": pipeline_s,
        "pairs_per_second": P / pipeline_s if pipeline_s > 0 else float("nan"),
        "engine_pairs_per_second": P / engine_s if engine_s > 0 else float("nan"),
        "peak_rss_mib": max(rss.values()),
        "worker_peak_rss_mib": children.peak_mib,
        "rss_mib_after": rss,
        "loop": {
            "pairs": n_loop, "seconds": t_loop, "seconds_per_pair": per_loop,
            "pipeline_seconds_per_pair": pipeline_s / P if P else float("nan"),
            "engine_seconds_per_pair": engine_s / P if P else float("nan"),
            "speedup_vs_pipeline": per_loop / (pipeline_s / P) if P else float("nan"),
            "speedup_vs_engine": per_loop / (engine_s / P) if P else float("nan"),
            # what the loop itself does (slice the windows, OLS, ARs), given day 0
            "estimation_seconds_per_pair": est_s / P if P else float("nan"),
            "speedup_vs_estimation": per_loop / (est_s / P) if P and est_s > 0
            else float("nan"),
            "max_abs_diff": diffs,
            "agree_1e-10": bool(all(v <= 1e-10 for v in diffs.values())),
        },
        "checks": {
            "mean_day0_ar_planted": float(np.nanmean(ar0[has])) if has.any()
            else float("nan"),
            "mean_day0_ar_other": float(np.nanmean(ar0[~has])) if (~has).any()
            else float("nan"),
            "tests_rows": len(res.tests_),
        },
    }


def _hugepages() -> str:
    """Whether numpy asks for transparent huge pages (``NUMPY_MADVISE_HUGEPAGE``)."""
    try:
        from numpy._core import (
            multiarray,  # lazy: numpy internals, only for the benchmark
        )
    except ImportError:
        return "unknown"
    get = getattr(multiarray, "_get_madvise_hugepage", None)
    return "unknown" if get is None else ("on" if get() else "off")


def format_report(r: dict[str, Any]) -> str:
    """The benchmark figures as a compact text block."""
    c = r["config"]
    sched = c.get("scheduler", "local")
    where = (f"{c['workers']} thread(s)" if sched == "local" else
             f"{c['workers']} Dask worker(s) ({sched}; {c['tasks']} tasks)")
    lines = [
        f"eventstudy bench: {c['securities']} securities x {c['days']} days, "
        f"{c['events']} events -> {r['pairs']} pairs ({r['excluded']} excluded)",
        f"tests: {', '.join(c['tests'])}; scopes: {', '.join(c['scopes'])}",
        f"chunks: {c['chunks']} x {c['chunk_size']} pairs on {where}; "
        f"numpy hugepages: {c['numpy_hugepages']}",
        f"generate panel    {r['generate_seconds']:8.3f} s  (not in the pipeline)",
        f"prepare (inputs)  {r['prepare_seconds']:8.3f} s  (EventStudy() validation)",
        f"kernel load       {r.get('kernel_load_seconds', 0.0):8.3f} s  "
        f"(stages 2-4 kernel: {c.get('kernel', 'numpy')}; once per process)",
    ]
    shown = ("cluster", "align", "stack", "estimate", "ar_car", "collect", "tests",
             "write")
    for s in shown:
        if s in r["stages"]:
            lines.append(f"{s:<17} {r['stages'][s]:8.3f} s")
        if s == "tests" and r.get("tests_stage"):
            lines.append(tests_stage_line(r["tests_stage"]))
    lines += [
        f"pipeline total    {r['pipeline_seconds']:8.3f} s  "
        f"({r['pairs_per_second']:,.0f} pairs/s; align..AR/CAR "
        f"{r['engine_seconds']:.3f} s = {r['engine_pairs_per_second']:,.0f} pairs/s)",
        f"peak memory       {r['peak_rss_mib']:8.0f} MiB (ru_maxrss; after prepare "
        f"{r['rss_mib_after']['prepare']:.0f} MiB)",
    ]
    if r.get("repeat", 1) > 1:
        lines.insert(len(lines) - 1, (
            f"repeat            {r['repeat']} fits in this process; stages above from "
            f"the fastest; first (cold) fit {r['first_run_fit_stages_seconds']:.3f} s"
            " without write"))
    if sched == "dask":
        lines.append(f"worker peak       {r['worker_peak_rss_mib']:8.0f} MiB "
                     "(largest Dask worker process, sampled every 0.2 s)")
    lp = r["loop"]
    d = lp["max_abs_diff"]
    lines += [
        f"statsmodels loop  {lp['seconds']:8.3f} s for {lp['pairs']} pairs = "
        f"{1e6 * lp['seconds_per_pair']:.0f} us/pair; pipeline "
        f"{1e6 * lp['pipeline_seconds_per_pair']:.2f} us/pair "
        f"(x{lp['speedup_vs_pipeline']:,.0f}), align..AR/CAR "
        f"{1e6 * lp['engine_seconds_per_pair']:.2f} us/pair "
        f"(x{lp['speedup_vs_engine']:,.0f}), stack..AR/CAR (the loop's own work) "
        f"{1e6 * lp['estimation_seconds_per_pair']:.2f} us/pair "
        f"(x{lp['speedup_vs_estimation']:,.0f})",
        f"agreement         max |diff| alpha {d['alpha']:.1e}, beta {d['beta']:.1e}, "
        f"sigma {d['sigma']:.1e}, AR {d['ar']:.1e} -> "
        f"{'OK' if lp['agree_1e-10'] else 'FAILED'} (tolerance 1e-10)",
        f"planted day-0 AR  {r['checks']['mean_day0_ar_planted']:+.4f} planted vs "
        f"{r['checks']['mean_day0_ar_other']:+.4f} other",
    ]
    return "\n".join(lines)


def tests_stage_line(parts: dict[str, float]) -> str:
    """The tests stage per test (each with the shared intermediates it is the first
    to ask for), then the windows' samples, the table and the results object, in
    milliseconds."""
    other = ("samples", "table", "results")
    tests = [(k, v) for k, v in parts.items() if k not in other]
    rest = [(k, parts[k]) for k in other if k in parts]
    return "  per test (ms)   " + ", ".join(
        f"{k} {1e3 * v:.0f}" for k, v in tests + rest)


def build_parser() -> argparse.ArgumentParser:
    """The command-line options of ``python -m eventstudy.bench``."""
    p = argparse.ArgumentParser(
        prog="eventstudy bench",
        description="Benchmark the full pipeline on a seeded synthetic panel.")
    p.add_argument("--model", default="market", choices=("market", "garch"),
                   help="market: the full pipeline (default); garch: the batched "
                   "GARCH(1,1) estimation of --events simulated pairs vs arch "
                   "pair by pair (docs/benchmark.md)")
    p.add_argument("--arch-pairs", type=int, default=200,
                   help="--model garch: pairs fitted by arch one at a time")
    p.add_argument("--garch-days", type=int, default=240,
                   help="--model garch: estimation days per pair")
    p.add_argument("--garch-chunk", type=int, default=10_000,
                   help="--model garch: pairs per kernel call")
    p.add_argument("--securities", type=int, default=2000)
    p.add_argument("--days", type=int, default=1500)
    p.add_argument("--events", type=int, default=100_000,
                   help="(event, security) pairs, one ticker per event")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--planted", type=float, default=0.5,
                   help="share of events with a planted day-0 abnormal return")
    p.add_argument("--abnormal", type=float, default=0.02,
                   help="size of the planted abnormal return")
    p.add_argument("--loop-pairs", type=int, default=500,
                   help="pairs for the statsmodels.OLS comparison loop")
    p.add_argument("--json", dest="json_path", type=Path,
                   help="write every figure as JSON to this file")
    p.add_argument("--out", dest="out_dir", type=Path,
                   help="also write the outputs here (the write stage)")
    p.add_argument("--max-memory", type=parse_size,
                   help="memory budget of the chunked stages, e.g. 2GiB")
    p.add_argument("--chunk-size", type=int,
                   help="pairs per chunk (default: from --max-memory)")
    p.add_argument("--scheduler", default="local",
                   help="where the chunks run: local (threads), dask (a local Dask "
                   "cluster of --workers processes) or a Dask scheduler address "
                   "such as tcp://host:8786 (default: local)")
    p.add_argument("--repeat", type=int, default=1,
                   help="fit N times in this process and report the fastest run's "
                   "stages (the first, cold run's total is printed too) (default: 1)")
    p.add_argument("--kernel", default="auto", choices=("auto", "numpy", "numba"),
                   help="stages 2-4 for the market model: numba (compiled, one pass "
                   "per pair), numpy, or auto (numba from 20,000 pairs when "
                   "installed) (default: auto)")
    p.add_argument("--workers", type=int, help="threads (local) or Dask worker "
                   "processes (dask) (default: up to 2)")
    p.add_argument("--tests", help="comma-separated tests (default: every "
                   f"registered one of {', '.join(BENCH_TESTS)})")
    p.add_argument("--scopes", help="comma-separated scopes (default: all and "
                   "group above 1,000 events)")
    p.add_argument("--cli", type=Path, metavar="DIR",
                   help="time the whole 'eventstudy run' command (start-up, each "
                   "stage, writing, exit) on the inputs in DIR (written first, as "
                   "--write-inputs does, when DIR has no study.toml): --runs runs "
                   "per format after a warm-up, min/median/max")
    p.add_argument("--runs", type=int, default=5,
                   help="--cli: counted runs per format (default: 5)")
    p.add_argument("--formats", default="csv,parquet",
                   help="--cli: table formats to time (default: csv,parquet)")
    p.add_argument("--peer-python", metavar="PYTHON",
                   help="--cli: also time a peer package in the same run, with this "
                   "Python (of an environment where the peer is installed)")
    p.add_argument("--peer-script", default=str(PEER_SCRIPT), metavar="FILE",
                   help="--cli --peer-python: the peer's harness (default: "
                   "docs/peer_lemaire.py, eventstudy 0.1a12)")
    p.add_argument("--peer-pairs", type=int, default=2000,
                   help="--cli --peer-python: events given to the peer "
                   "(default: 2000)")
    p.add_argument("--write-inputs", type=Path, metavar="DIR",
                   help="only write the panel as prices.parquet, events.csv and "
                   "study.toml for 'eventstudy run', then exit")
    return p


def garch_simulate(pairs: int, days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(y, x)``: ``(pairs, days)`` returns y = a + b x + e, e GARCH(1,1), and the
    market returns x (each pair its own path)."""
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(0.03, 0.12, pairs)
    beta = rng.uniform(0.80, 0.95, pairs) * (1 - alpha)
    unc = rng.uniform(1e-4, 9e-4, pairs)
    omega = unc * (1 - alpha - beta)
    a = rng.normal(0.0, 5e-4, pairs)
    b = rng.uniform(0.3, 1.7, pairs)
    x = rng.normal(3e-4, 0.01, (pairs, days))
    y = np.empty((pairs, days))
    h = unc.copy()
    for t in range(days):
        e = np.sqrt(h) * rng.standard_normal(pairs)
        y[:, t] = a + b * x[:, t] + e
        h = omega + alpha * e * e + beta * h
    return y, x


def run_garch_bench(pairs: int = 100_000, days: int = 240, arch_pairs: int = 200,
                    chunk: int = 10_000, seed: int = 20240601) -> dict[str, Any]:
    """``--model garch``: the batched GARCH(1,1) estimation of ``pairs`` simulated
    market-model series against ``arch`` fitted pair by pair on ``arch_pairs`` of
    them, in the same run (docs/benchmark.md, GARCH section); returns the figures.

    The estimation step of ``[model] name = "garch"``
    (:func:`eventstudy.estimation.garch_kernels.fit_garch`: joint ML of the mean and
    variance equations, forecasts, GLS cross-products) runs in chunks of ``chunk``
    pairs; ``arch_model(y, x=x, mean="LS", vol="GARCH", p=1, q=1,
    rescale=False).fit()`` is the oracle (a development dependency: without it the
    figures are the batched ones only).
    """
    from eventstudy.estimation.garch_kernels import (  # lazy: numba
        GARCH,
        fit_garch,
    )

    t0 = time.perf_counter()
    fit_garch(np.zeros((2, 30)) + np.arange(30) % 3, np.ones((2, 30, 1)) * (
        np.arange(30) % 5), np.ones((2, 30), dtype=bool), GARCH, False,
        np.ones(2, dtype=np.int64), 1)
    t_load = time.perf_counter() - t0
    y, x = garch_simulate(pairs, days, seed)
    ll = np.empty(pairs)
    conv = np.empty(pairs)
    t0 = time.perf_counter()
    c0 = time.process_time()
    for lo in range(0, pairs, chunk):
        hi = min(pairs, lo + chunk)
        n = hi - lo
        _, vol, _, _, _ = fit_garch(y[lo:hi], x[lo:hi, :, None],
                                    np.ones((n, days), dtype=bool), GARCH, False,
                                    np.ones(n, dtype=np.int64), 21)
        ll[lo:hi] = vol[:, 5]
        conv[lo:hi] = vol[:, 6]
    t_batch = time.perf_counter() - t0
    c_batch = time.process_time() - c0
    out: dict[str, Any] = {
        "pairs": pairs, "days": days, "chunk": chunk, "kernel_load_seconds": t_load,
        "batch_seconds": t_batch, "batch_seconds_per_pair": t_batch / pairs,
        "batch_cpu_seconds": c_batch,
        "converged_share": float(conv.mean()), "peak_rss_mib": peak_rss_mib()}
    try:
        from arch import arch_model  # lazy: dev dependency, the oracle
    except ImportError:
        return out
    m = min(arch_pairs, pairs)
    dll = np.empty(m)
    t0 = time.perf_counter()
    c0 = time.process_time()
    for i in range(m):
        am = arch_model(y[i], x=x[i], mean="LS", vol="GARCH", p=1, q=1,
                        rescale=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = am.fit(disp="off")
        dll[i] = ll[i] - res.loglikelihood
    t_arch = time.perf_counter() - t0
    c_arch = time.process_time() - c0
    out.update({
        "arch_pairs": m, "arch_seconds": t_arch, "arch_seconds_per_pair": t_arch / m,
        "speedup_per_pair": (t_arch / m) / (t_batch / pairs),
        "arch_cpu_seconds": c_arch,
        "cpu_speedup_per_pair": (c_arch / m) / (c_batch / pairs),
        "loglik_diff_min": float(dll.min()), "loglik_diff_median":
        float(np.median(dll)), "share_not_worse_1e6": float((dll >= -1e-6).mean()),
        "peak_rss_mib": peak_rss_mib()})
    return out


def format_garch_report(r: dict[str, Any]) -> str:
    """The ``--model garch`` figures as text."""
    lines = [
        f"GARCH(1,1) market model, {r['pairs']:,} pairs x {r['days']} days "
        f"(chunks of {r['chunk']:,})",
        f"kernel load        {r['kernel_load_seconds']:9.3f} s (once per process)",
        f"batched ML         {r['batch_seconds']:9.3f} s  "
        f"{r['batch_seconds_per_pair'] * 1e3:8.4f} ms/pair  "
        f"converged {r['converged_share']:.2%}",
    ]
    if "arch_pairs" in r:
        lines += [
            f"arch, pair by pair {r['arch_seconds']:9.3f} s  "
            f"{r['arch_seconds_per_pair'] * 1e3:8.4f} ms/pair  "
            f"({r['arch_pairs']} pairs)",
            f"speed-up per pair  {r['speedup_per_pair']:9.1f} x wall, "
            f"{r['cpu_speedup_per_pair']:.1f} x CPU time (batched: "
            f"{r['batch_cpu_seconds']:.1f} s on all cores; arch "
            f"{r['arch_cpu_seconds']:.2f} s)",
            f"loglik ours - arch min {r['loglik_diff_min']:.2e}, median "
            f"{r['loglik_diff_median']:.2e}; not worse by 1e-6: "
            f"{r['share_not_worse_1e6']:.1%}",
        ]
    lines.append(f"peak memory        {r['peak_rss_mib']:9.1f} MiB")
    return "\n".join(lines)


CLI_STAGES = ("startup", "imports", "load", "quality", "align and stack", "estimate",
              "abnormal returns", "tests", "write", "summary", "exit")
"""Stages of ``eventstudy run`` that ``--cli`` reports, in order: ``startup`` (the
interpreter, click and the CLI module, until the command starts), ``imports``
(the library), ``load`` (study file, catalog, prices), ``quality`` (the
data-quality checks and the study's preparation), the engine's stages, ``write``
(the output set, staged, synced and swapped in), ``summary`` and ``exit`` (the
interpreter's teardown, until the parent sees the process end)."""


def _command() -> list[str]:
    """The ``eventstudy`` command as installed (its console script), else the same
    entry point through this interpreter."""
    import shutil  # lazy: only the CLI benchmark needs it

    exe = shutil.which("eventstudy")
    if exe is not None:
        return [exe]
    return [sys.executable, "-c", "from eventstudy.cli import main; main()"]


CLI_ENV_DROPPED = ("PYTHONDONTWRITEBYTECODE",)
"""Variables ``--cli`` removes from the timed processes' environment (the command's
and the peer's): ``PYTHONDONTWRITEBYTECODE`` turns Python's bytecode cache off, so
that every run would compile the package's modules from source again (about 0.07 s
for eventstudy; a pip-installed peer has its bytecode from the install). A user's
shell does not set it; the warm-up run writes the cache, as a user's first run
does."""


def user_env() -> dict[str, str]:
    """This process's environment without :data:`CLI_ENV_DROPPED`."""
    import os  # lazy: only the CLI benchmark needs it

    return {k: v for k, v in os.environ.items() if k not in CLI_ENV_DROPPED}


def time_cli_run(study: Path, out: Path, fmt: str, timings: Path
                 ) -> dict[str, float]:
    """One ``eventstudy run STUDY --out OUT -q --format FMT`` in a fresh process
    (environment: :func:`user_env`):
    seconds per stage (:data:`CLI_STAGES`), ``wall``, ``cpu`` (user + system) and
    ``peak_rss_mib`` of the process.

    Raises
    ------
    RuntimeError
        The command failed (its stderr is in the message).
    """
    import os  # lazy: only the CLI benchmark needs it
    import subprocess  # lazy: as os

    timings.unlink(missing_ok=True)
    cmd = [*_command(), "run", str(study), "--out", str(out), "-q", "--format", fmt,
           "--timings", str(timings)]
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=user_env())
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    t1 = time.time()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: "
                           f"{err.decode(errors='replace').strip()}")
    marks = json.loads(timings.read_text(encoding="utf-8"))["marks"]
    out_t: dict[str, float] = {}
    prev_name, prev_t = "startup", t0
    for name, t in marks:
        out_t[prev_name] = out_t.get(prev_name, 0.0) + float(t) - prev_t
        prev_name, prev_t = str(name), float(t)
    out_t["exit"] = t1 - prev_t
    out_t.pop("end", None)
    out_t["wall"] = t1 - t0
    out_t["cpu"] = usage.ru_utime + usage.ru_stime
    out_t["peak_rss_mib"] = usage.ru_maxrss / 1024.0
    return out_t


def run_cli_bench(inputs: str | Path, runs: int = 5,
                  formats: Sequence[str] = ("csv", "parquet"), warmup: int = 1,
                  ) -> dict[str, Any]:
    """``--cli``: time the whole ``eventstudy run`` on the inputs of
    :func:`write_inputs` in ``inputs``, ``runs`` times per format after ``warmup``
    uncounted runs; min, median and max of every stage (:func:`time_cli_run`).

    Returns
    -------
    dict
        ``pairs`` (rows of the events file), ``runs``, and per format: ``stages``
        (stage -> [min, median, max] seconds), ``wall``, ``cpu``,
        ``peak_rss_mib`` (each [min, median, max]), ``output_mib`` (the set's
        size) and ``us_per_pair`` (median wall / pairs).
    """
    folder = Path(inputs)
    study = folder / "study.toml"
    with open(folder / "events.csv", encoding="utf-8") as f:
        pairs = sum(1 for _ in f) - 1
    result: dict[str, Any] = {"pairs": pairs, "runs": runs, "inputs": str(folder),
                              "command": " ".join(_command())}
    for fmt in formats:
        out = folder / f"out-{fmt}"
        samples = [time_cli_run(study, out, fmt, folder / f"timings-{fmt}.json")
                   for _ in range(warmup + runs)][warmup:]

        def spread(key: str, got: list[dict[str, float]] = samples) -> list[float]:
            v = sorted(x.get(key, 0.0) for x in got)
            return [v[0], float(np.median(v)), v[-1]]

        size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
        result[fmt] = {
            "stages": {s: spread(s) for s in CLI_STAGES},
            "wall": spread("wall"), "cpu": spread("cpu"),
            "peak_rss_mib": spread("peak_rss_mib"),
            "output_mib": size / 2**20,
            "us_per_pair": 1e6 * spread("wall")[1] / max(pairs, 1),
        }
    return result


PEER_SCRIPT = Path(__file__).resolve().parents[1] / "docs" / "peer_lemaire.py"
"""The default peer harness of ``--cli --peer-python`` (in a source checkout): the
fastest Python peer measured, eventstudy 0.1a12 (docs/benchmark.md)."""


def run_peer(python: str | Path, script: str | Path, inputs: str | Path,
             pairs: int = 2000, runs: int = 3) -> dict[str, Any]:
    """Run a peer harness (``docs/peer_*.py``) with the Python of the peer's own
    environment (:func:`user_env`) on the same inputs; its JSON line (``peer``,
    ``version``, ``pairs``, ``seconds``, ``us_per_pair``).

    Raises
    ------
    RuntimeError
        The harness failed or printed no JSON line.
    """
    import subprocess  # lazy: only the CLI benchmark needs it
    import tempfile  # lazy: as subprocess

    with tempfile.TemporaryDirectory() as cwd:  # not this checkout: the peer's
        done = subprocess.run(  # PyPI name may be this package's import name
            [str(python), str(Path(script).resolve()), str(Path(inputs).resolve()),
             "--pairs", str(pairs), "--runs", str(runs)],
            capture_output=True, text=True, cwd=cwd, check=False, env=user_env())
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"peer harness {script} failed ({done.returncode}): "
                           f"{done.stderr.strip()[-500:]}")
    out: dict[str, Any] = json.loads(lines[-1])
    return out


def format_cli_report(r: dict[str, Any]) -> str:
    """The ``--cli`` figures as text: a row per stage, a column per format."""
    fmts = [f for f in ("csv", "parquet") if f in r]
    head = f"{'stage':<17}" + "".join(f"{f + ' min / median / max (s)':>34}"
                                     for f in fmts)
    lines = [f"eventstudy run, whole command: {r['pairs']:,} pairs, {r['runs']} runs "
             f"per format after a warm-up ({r['command']})", head]

    def row(label: str, vals: list[list[float]], unit: str = "") -> str:
        return f"{label:<17}" + "".join(
            f"{f'{a:8.3f} / {b:8.3f} / {c:8.3f}{unit}':>34}" for a, b, c in vals)

    for s in CLI_STAGES:
        lines.append(row(s, [r[f]["stages"][s] for f in fmts]))
    lines.append(row("wall", [r[f]["wall"] for f in fmts]))
    lines.append(row("cpu (user+sys)", [r[f]["cpu"] for f in fmts]))
    for label, key, fmt_, unit in (("peak memory", "peak_rss_mib", "8.0f", " MiB"),
                                   ("outputs", "output_mib", "8.1f", " MiB"),
                                   ("per pair", "us_per_pair", "8.2f",
                                    " us (median wall)")):
        cells = []
        for f in fmts:
            v = r[f][key]
            v = v[1] if isinstance(v, list) else v
            cells.append(f"{format(v, fmt_) + unit:>34}")
        lines.append(f"{label:<17}" + "".join(cells))
    peer = r.get("peer")
    if peer:
        lines.append(f"peer             {peer['peer']} {peer['version']}: "
                     f"{peer['pairs']:,} pairs in {min(peer['seconds']):.3f} / "
                     f"{statistics.median(peer['seconds']):.3f} / "
                     f"{max(peer['seconds']):.3f} s = {peer['us_per_pair']:.0f} "
                     "us/pair (median; its fit only, data in memory)")
        ratios = [peer["us_per_pair"] / r[f]["us_per_pair"] for f in fmts]
        lines.append(f"{'per pair vs peer':<17}" + "".join(
            f"{f'x{x:.1f} (whole command)':>34}" for x in ratios))
    return "\n".join(lines)


def _write_json(path: Path, figures: dict[str, Any]) -> None:
    """Write a benchmark's figures (``--json``) as sorted, indented JSON, making
    the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m eventstudy.bench``; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.model == "garch":
        g = run_garch_bench(args.events, args.garch_days, args.arch_pairs,
                            args.garch_chunk, args.seed)
        print(format_garch_report(g))
        if args.json_path is not None:
            _write_json(args.json_path, g)
        return 0

    def split(v: str | None) -> tuple[str, ...] | None:
        return tuple(x.strip() for x in v.split(",") if x.strip()) if v else None


    if args.write_inputs is not None:
        panel = make_panel(args.securities, args.days, args.events, seed=args.seed,
                           planted_share=args.planted, abnormal=args.abnormal)
        for f in write_inputs(panel, args.write_inputs):
            print(f"wrote {f}")
        return 0
    if args.cli is not None:
        if not (args.cli / "study.toml").is_file():  # write the inputs first
            panel = make_panel(args.securities, args.days, args.events,
                               seed=args.seed, planted_share=args.planted,
                               abnormal=args.abnormal)
            write_inputs(panel, args.cli)
        try:
            c = run_cli_bench(args.cli, args.runs, split(args.formats) or
                              ("csv", "parquet"))
            if args.peer_python is not None:
                c["peer"] = run_peer(args.peer_python, args.peer_script, args.cli,
                                     args.peer_pairs)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(format_cli_report(c))
        if args.json_path is not None:
            _write_json(args.json_path, c)
        return 0
    try:
        r = run_bench(args.securities, args.days, args.events, seed=args.seed,
                      planted_share=args.planted, abnormal=args.abnormal,
                      loop_pairs=args.loop_pairs, out_dir=args.out_dir,
                      max_memory=args.max_memory, chunk_size=args.chunk_size,
                      workers=args.workers, tests=split(args.tests),
                      scopes=split(args.scopes), scheduler=args.scheduler,
                      kernel_choice=args.kernel, repeat=args.repeat)
    except (EventStudyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(r))
    if args.json_path is not None:
        _write_json(args.json_path, r)
    return 0 if r["loop"]["agree_1e-10"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
