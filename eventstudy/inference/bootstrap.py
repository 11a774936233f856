"""Bootstrap test: the mean over its bootstrap standard error (seeded, canonical
pair order, reproducible whatever the chunking or threading of the draws).

The test has the shared signature ``test(sample: Sample) -> TestStat``.
"""

from __future__ import annotations

import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from eventstudy.inference import reduction as red
from eventstudy.inference.reduction import (
    Sample,
    TestStat,
    finite,
    gcount,
    gsum,
    z_p,
)

BOOT_CHUNK = 1 << 21
"""Bootstrap draws are generated in chunks of about this many pair draws."""

BOOT_THREADS = 2
"""Threads sharing the bootstrap draws (contiguous parts of the one stream)."""

BOOT_MIN_N = 10
"""Below this many pairs in a scope the bootstrap warns (it still reports).

Resampling n values with replacement gives at most C(2n-1, n) distinct means
(462 for n = 6), and their spread understates the sampling error of a mean of
few, cross-correlated CARs: issue #17 shows a 6-stock bootstrap with p = 4e-30.
The rows are kept (tests.csv stays complete and comparable across runs) and
:func:`boot_small_n_warning` names them in ``run.json`` ``data_warnings``.
Lyon, Barber & Tsai (1999) bootstrap samples of hundreds of firms."""


def boot_small_n_warning(tests: pd.DataFrame, min_n: int = BOOT_MIN_N) -> str:
    """The warning on ``boot`` rows with 0 < n < ``min_n`` pairs; ``""`` if none.

    Parameters
    ----------
    tests
        The tests table (columns ``test`` and ``n``).
    min_n
        The minimum N (default :data:`BOOT_MIN_N`).

    Returns
    -------
    str
        One line for ``run.json`` ``data_warnings``.

    Examples
    --------
    >>> t = pd.DataFrame({"test": ["boot", "boot", "bmp"], "n": [6, 40, 3]})
    >>> boot_small_n_warning(t)[:60]
    'boot: 1 row(s) have fewer than 10 pairs (smallest n = 6): th'
    """
    if tests.empty or "test" not in tests.columns:
        return ""
    n = pd.to_numeric(tests["n"], errors="coerce")
    few = (tests["test"].astype(str) == "boot") & (n > 0) & (n < min_n)
    if not few.any():
        return ""
    return (f"boot: {int(few.sum())} row(s) have fewer than {min_n} pairs (smallest "
            f"n = {int(n[few].min())}): the bootstrap of so few CARs understates "
            "their sampling error and its p-values are unreliable (a 6-stock "
            "bootstrap gave p = 4e-30, issue #17); prefer bmp_kp or series_t there")


def boot(sample: Sample) -> TestStat:
    """Bootstrap t: the mean over its bootstrap standard error, with a percentile CI.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        mean / SD_boot, two-sided p from N(0, 1), N; extras ``ci_low``, ``ci_high``
        (2.5% and 97.5% percentiles of the bootstrap means).

    Notes
    -----
    B = ``data.bootstrap_reps`` resamples of the group's N values x_i = CAR_i (AR
    for a day), drawn with replacement within the group; SD_boot is the SD (ddof 1)
    of the B resample means m_b: z = mean / SD_boot, SD_boot^2 = sum_b (m_b - mean_b
    m_b)^2 / (B - 1); p from N(0, 1). The generator is seeded from ``data.seed``,
    the scope and the window, and pairs are put in a canonical order (group label,
    value), so the result does not depend on the order of the events, on which
    windows or scopes are evaluated first, or on the chunking of the draws (chunks
    of about 2^21 draws are taken sequentially from one stream, the resamples split
    in contiguous parts over up to two threads whose generators are advanced to
    their part of the stream). Memory O(B G + chunk). Efron & Tibshirani (1993), An
    Introduction to the Bootstrap; Lyon, Barber & Tsai (1999, JF 54:165-201) for
    bootstrapped event-study tests. Below :data:`BOOT_MIN_N` pairs the row is still
    reported, and :func:`boot_small_n_warning` warns in ``run.json``.
    """
    data, window, groups = sample.data, sample.window, sample.groups
    x = window.value
    valid = finite(x)
    G = groups.n
    n = gcount(groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = gsum(x, groups, valid) / n
    B = int(data.bootstrap_reps)
    xv = x[valid]
    cv = groups.codes[valid]
    m = len(xv)
    if m == 0 or B < 2:
        nan = np.full(G, np.nan)
        return TestStat(nan, nan.copy(), n, {"mean": mean, "ci_low": nan.copy(),
                                             "ci_high": nan.copy()})
    label_rank = np.argsort(np.argsort(np.array(groups.labels, dtype=object),
                                       kind="stable"), kind="stable")
    order = np.lexsort((xv, label_rank[cv]))
    xs, gs = xv[order], cv[order]
    first = np.full(G, m, dtype=np.int64)
    np.minimum.at(first, gs, np.arange(m))
    start = first[gs]
    size = n[gs]
    tag = f"{groups.scope}|{window.start}|{window.end}".encode()
    rng = np.random.default_rng(np.random.SeedSequence(
        [int(data.seed) & 0xFFFFFFFF, zlib.crc32(tag)]))
    means = np.empty((B, G))
    chunk = max(1, min(B, BOOT_CHUNK // m))
    gfirst = first[np.flatnonzero(n > 0)]

    def draws(b0: int, b1: int, gen: np.random.Generator) -> None:
        """Means of draws b0..b1 (``gen`` at the stream position of draw b0)."""
        # the draws of a chunk go down the rows of buf (one column per draw, a zero
        # row in front of each group): a column reduction then adds each group's
        # values in order from 0.0, as a bincount over the draws would
        buf = np.zeros((m + 1, max(chunk, 2))) if G <= red.LOOP_GROUPS else None
        for c0 in range(b0, b1, chunk):  # chunks of draws, one sequential stream
            c = min(chunk, b1 - c0)
            u = gen.random((c, m))
            u *= size  # floor(u * size) of these non-negative products: the cast
            pick = u.astype(np.int64)
            pick += start
            if buf is None:
                idx = (np.arange(c)[:, None] * G + gs[None, :]).ravel()
                sums: np.ndarray = np.bincount(idx, weights=xs[pick].ravel(),
                                               minlength=c * G).reshape(c, G)
            else:
                np.take(xs, pick.T, out=buf[1:, :c], mode="clip")
                sums = np.zeros((c, G))
                for k0 in gfirst:
                    k = gs[k0]
                    keep = buf[k0, :c].copy()
                    buf[k0, :c] = 0.0
                    sums[:, k] = np.add.reduce(buf[k0:k0 + int(n[k]) + 1], axis=0)[:c]
                    buf[k0, :c] = keep
            with np.errstate(invalid="ignore", divide="ignore"):
                means[c0:c0 + c] = sums / n

    # the draws split in contiguous parts run on threads, each generator advanced
    # to its part's place in the one stream (a double is one step of PCG64)
    parts = max(1, min(BOOT_THREADS, (B * m) // BOOT_CHUNK))
    cuts = [B * i // parts for i in range(parts + 1)]
    gens = []
    for b0 in cuts[:-1]:
        bitgen = np.random.PCG64()
        bitgen.state = rng.bit_generator.state  # type: ignore[assignment]
        bitgen.advance(b0 * m)
        gens.append(np.random.Generator(bitgen))
    if parts == 1:
        draws(0, B, gens[0])
    else:
        with ThreadPoolExecutor(parts) as pool:
            list(pool.map(draws, cuts[:-1], cuts[1:], gens))
    sd = means.std(axis=0, ddof=1)
    lo, hi = np.quantile(means, [0.025, 0.975], axis=0)
    ok = (n > 1) & (sd > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(ok, mean / sd, np.nan)
    return TestStat(z, z_p(z), n, {"mean": mean,
                                   "ci_low": np.where(n > 0, lo, np.nan),
                                   "ci_high": np.where(n > 0, hi, np.nan)})
