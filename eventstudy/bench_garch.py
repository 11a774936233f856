"""Benchmark the batched GARCH-family estimation against ``arch`` fitted pair by pair.

``python -m eventstudy.bench_garch [--pairs 100000 --days 240 --arch-pairs 200]``

Simulates ``--pairs`` seeded market-model series with GARCH(1,1) errors (each pair
its own omega, alpha, beta, alpha and beta; a common-scale market return), fits them
all with :func:`eventstudy.estimation.garch_kernels.fit_garch` (the estimation step
of the ``garch`` model: maximum likelihood of the mean and variance equations, the
forecasts and the GLS cross-products) in chunks of ``--chunk`` pairs, and, in the
same run, ``arch_model(y, x=x, mean="LS", vol="GARCH", p=1, q=1,
rescale=False).fit()`` on the first ``--arch-pairs`` pairs. It prints the seconds
per pair of both, the ratio, the peak resident memory, and how the two fits compare
on the arch sample (log-likelihood differences; share within 1e-6 or better).

``arch`` is a development dependency (pip install arch): without it the report has
the batched figures only.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from eventstudy.estimation.garch_kernels import GARCH, fit_garch


def simulate(pairs: int, days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
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


def peak_rss_mib() -> float:
    """Peak resident memory of this process (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(pairs: int = 100_000, days: int = 240, arch_pairs: int = 200,
        chunk: int = 10_000, seed: int = 20240601) -> dict[str, Any]:
    """Run the benchmark; returns the figures (see the module docstring)."""
    t0 = time.perf_counter()
    fit_garch(np.zeros((2, 30)) + np.arange(30) % 3, np.ones((2, 30, 1)) * (
        np.arange(30) % 5), np.ones((2, 30), dtype=bool), GARCH, False,
        np.ones(2, dtype=np.int64), 1)
    t_load = time.perf_counter() - t0
    y, x = simulate(pairs, days, seed)
    ll = np.empty(pairs)
    conv = np.empty(pairs)
    t0 = time.perf_counter()
    for lo in range(0, pairs, chunk):
        hi = min(pairs, lo + chunk)
        n = hi - lo
        _, vol, _, _, _ = fit_garch(y[lo:hi], x[lo:hi, :, None],
                                    np.ones((n, days), dtype=bool), GARCH, False,
                                    np.ones(n, dtype=np.int64), 21)
        ll[lo:hi] = vol[:, 5]
        conv[lo:hi] = vol[:, 6]
    t_batch = time.perf_counter() - t0
    out: dict[str, Any] = {
        "pairs": pairs, "days": days, "chunk": chunk, "kernel_load_seconds": t_load,
        "batch_seconds": t_batch, "batch_seconds_per_pair": t_batch / pairs,
        "converged_share": float(conv.mean()), "peak_rss_mib": peak_rss_mib()}
    try:
        from arch import arch_model  # lazy: dev dependency, the oracle
    except ImportError:
        return out
    m = min(arch_pairs, pairs)
    dll = np.empty(m)
    t0 = time.perf_counter()
    for i in range(m):
        am = arch_model(y[i], x=x[i], mean="LS", vol="GARCH", p=1, q=1,
                        rescale=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = am.fit(disp="off")
        dll[i] = ll[i] - res.loglikelihood
    t_arch = time.perf_counter() - t0
    out.update({
        "arch_pairs": m, "arch_seconds": t_arch, "arch_seconds_per_pair": t_arch / m,
        "speedup_per_pair": (t_arch / m) / (t_batch / pairs),
        "loglik_diff_min": float(dll.min()), "loglik_diff_median":
        float(np.median(dll)), "share_not_worse_1e6": float((dll >= -1e-6).mean()),
        "peak_rss_mib": peak_rss_mib()})
    return out


def format_report(r: dict[str, Any]) -> str:
    """The figures as text."""
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
            f"speed-up per pair  {r['speedup_per_pair']:9.1f} x",
            f"loglik ours - arch min {r['loglik_diff_min']:.2e}, median "
            f"{r['loglik_diff_median']:.2e}; not worse by 1e-6: "
            f"{r['share_not_worse_1e6']:.1%}",
        ]
    lines.append(f"peak memory        {r['peak_rss_mib']:9.1f} MiB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m eventstudy.bench_garch",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=100_000)
    p.add_argument("--days", type=int, default=240)
    p.add_argument("--arch-pairs", type=int, default=200)
    p.add_argument("--chunk", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--json", dest="json_path", type=Path)
    a = p.parse_args(argv)
    r = run(a.pairs, a.days, a.arch_pairs, a.chunk, a.seed)
    print(format_report(r))
    if a.json_path:
        a.json_path.write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
