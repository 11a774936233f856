"""Compiled (numba) passes of the tests stage: one pass over each row block.

The numpy path of the tests stage makes several passes, and several ``(P, T)``
temporaries, per window-independent intermediate (the within-pair ranks, the
Brown-Warner estimation series, the Kolari-Pynnonen sums, the generalized-sign
counts) and per window (the moments of the values). At 100,000 pairs those passes
are most of the stage. The functions here compute the same intermediates in one
compiled loop over each pair's row (``nogil``: the row blocks run on
:data:`~eventstudy.inference.reduction.PASS_THREADS` threads, or the columns are
split between them), with the additions in the numpy path's order, so the numbers
are the same bit for bit, except where noted:

* ranks (:func:`rank_block`): each row is sorted once, by numpy's vectorised sort,
  as float64 keys carrying the column index in their last mantissa bits (the order
  of values whose leading bits differ is kept); a row where two keys share their
  leading bits (ties, near-ties) or with an infinite value is ranked by the numpy
  path. Ranks are integers: equal, not close;
* grouped column sums (``col_sums``, ``rank_sums``): each group and column
  adds its cells one at a time in row order, as ``numpy.bincount`` and the numpy
  path's blocked column reductions do; rank and sign sums are exact integers;
* the Kolari-Pynnonen sums (``kp_rows``, ``kp_runs``): numpy's pairwise summation
  (8 partial sums below 128 values, halves above) reproduced, as ``ndarray.sum``
  and ``numpy.add.reduceat`` use it;
* Hall's third moment (``dev_sums``): cubes as ``d * d * d`` where numpy's
  ``d**3`` calls ``pow``: ``skew_t`` agrees with the numpy path to about 1e-16
  relative (not bit for bit).

The kernels are compiled on first use (``cache=True``: once per installation) and
used from :data:`COMPILED_MIN_PAIRS` pairs (``kernel="auto"``) or when asked for
(``kernel="numba"``, :class:`~eventstudy.inference.reduction.Shared`).
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import numpy as np

from eventstudy.errors import InputError, UnknownNameError
from eventstudy.estimation.kernels import available

__all__ = ["COMPILED_MIN_PAIRS", "KERNELS", "available", "compiled",
           "rank_block", "use_compiled", "warm"]

COMPILED_MIN_PAIRS = 20_000
"""``kernel="auto"`` uses the compiled passes from this many pairs (as the engine's
market-model kernel); below, importing numba would cost more than it saves."""

KERNELS = ("auto", "numpy", "numba")
"""Implementations of the tests stage's passes."""

NA16 = 65535
"""Twice-ranks code of a missing (NaN) value (``rank.NA16``)."""


def use_compiled(kernel: str, n_pairs: int) -> bool:
    """Whether the tests stage of ``n_pairs`` pairs runs the compiled passes.

    Raises
    ------
    UnknownNameError
        ``kernel`` is not one of :data:`KERNELS`.
    InputError
        ``kernel="numba"`` without numba installed.
    """
    if kernel not in KERNELS:
        raise UnknownNameError(f"unknown kernel {kernel!r}; choose from "
                               f"{', '.join(KERNELS)}")
    if kernel == "numpy":
        return False
    if kernel == "numba":
        if not available():
            raise InputError('kernel="numba" needs numba: pip install numba (or use '
                             'kernel="numpy")')
        return True
    return n_pairs >= COMPILED_MIN_PAIRS and available()


@lru_cache(maxsize=1)
def compiled() -> SimpleNamespace:
    """Compile (or load from numba's cache) the kernels; once per process."""
    import numba  # lazy: numba is optional and slow to import

    jit = numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")

    @jit
    def pack_rows(resid: Any, ar: Any, ubits_r: Any, ubits_a: Any, a: int,
                  b: int, nb: int, keys: Any, count: Any, flag: Any
                  ) -> None:  # pragma: no cover (compiled)
        # row i's non-NaN values as float64 keys (bits as uint64 in ``keys``): the
        # value's bits with the last nb mantissa bits replaced by the column; +inf
        # after them; -0.0 as 0.0; a row with an infinite value is flagged
        Le = resid.shape[1]
        W = ar.shape[1]
        T = Le + W
        low = np.uint64((1 << nb) - 1)
        high = ~low
        inf_bits = np.uint64(0x7FF0000000000000)
        for i in range(a, b):
            r = i - a
            c = 0
            bad = False
            for t in range(T):
                if t < Le:
                    v = resid[i, t]
                    u = ubits_r[i, t]
                else:
                    v = ar[i, t - Le]
                    u = ubits_a[i, t - Le]
                if np.isnan(v):
                    continue
                if np.isinf(v):
                    bad = True
                if v == 0.0:
                    u = np.uint64(0)
                keys[r, c] = (u & high) | np.uint64(t)
                c += 1
            for t in range(c, T):
                keys[r, t] = inf_bits
            count[r] = c
            flag[r] = bad

    @jit
    def unpack_rows(keys: Any, count: Any, flag: Any, resid: Any, ar: Any,
                    a: int, nb: int, r2: Any, n_ok: Any, n_fin: Any, med: Any
                    ) -> None:  # pragma: no cover (compiled)
        # twice-ranks 2, 4, ... of the sorted keys' columns; a row where two keys
        # share their leading bits is flagged (ties or near-ties: ranked by numpy)
        Le = resid.shape[1]
        W = ar.shape[1]
        T = Le + W
        low = np.uint64((1 << nb) - 1)
        for r in range(keys.shape[0]):
            if flag[r]:
                continue
            i = a + r
            c = count[r]
            prev = np.uint64(0)
            for k in range(c):
                u = keys[r, k]
                hi = u >> np.uint64(nb)
                if k > 0 and hi == prev:
                    flag[r] = True
                    break
                prev = hi
                r2[i, np.intp(u & low)] = 2 * k + 2
            if flag[r]:
                continue
            for t in range(T):
                v = resid[i, t] if t < Le else ar[i, t - Le]
                if np.isnan(v):
                    r2[i, t] = NA16
            n_ok[i] = c
            n_fin[i] = c
            if c == 0:
                med[i] = 0.0
                continue
            h = c // 2
            lo = h if c % 2 == 1 else h - 1
            tl = np.intp(keys[r, lo] & low)
            th = np.intp(keys[r, h] & low)
            vl = resid[i, tl] if tl < Le else ar[i, tl - Le]
            vh = resid[i, th] if th < Le else ar[i, th - Le]
            med[i] = (vl + vh) / 2.0

    @jit
    def rank_sums(r2: Any, n_fin: Any, codes: Any, c0: int, c1: int, s1: Any,
                  s2: Any, cnt: Any) -> None:  # pragma: no cover (compiled)
        # per group and column over the ranked cells: sum of twice-ranks, of M_i + 1
        # and the count (integers)
        for i in range(r2.shape[0]):
            g = codes[i]
            m1 = np.int64(n_fin[i]) + 1
            for t in range(c0, c1):
                v = r2[i, t]
                if v != NA16:
                    s1[g, t] += v
                    s2[g, t] += m1
                    cnt[g, t] += 1

    @jit
    def sign_sums(resid: Any, ar: Any, med: Any, codes: Any, c0: int, c1: int,
                  s1: Any, cnt: Any) -> None:  # pragma: no cover (compiled)
        # per group and column: #{AR > median} - #{AR < median} and the finite cells
        Le = resid.shape[1]
        for i in range(resid.shape[0]):
            m = med[i]
            if np.isnan(m):
                continue
            g = codes[i]
            for t in range(c0, c1):
                v = resid[i, t] if t < Le else ar[i, t - Le]
                if np.isfinite(v):
                    cnt[g, t] += 1
                    if v > m:
                        s1[g, t] += 1
                    elif v < m:
                        s1[g, t] -= 1

    @jit
    def col_sums(X: Any, codes: Any, w: Any, weighted: bool, c0: int, c1: int,
                 s: Any, c: Any) -> None:  # pragma: no cover (compiled)
        # per group and column over the finite cells, in row order: sum of x (x w_i)
        # and the number of cells (sum of w_i). A cell that is not finite adds 0.0:
        # a sum that starts at 0.0 is never -0.0, so adding 0.0 leaves it as it is
        for i in range(X.shape[0]):
            g = codes[i]
            wi = w[i] if weighted else 1.0
            sg = s[g]
            cg = c[g]
            for t in range(c0, c1):
                x = X[i, t]
                fin = np.isfinite(x)
                sg[t] += (x * wi if weighted else x) if fin else 0.0
                cg[t] += wi if fin else 0.0

    @jit
    def pos_counts(X: Any, a: int, b: int, pos: Any, n: Any
                   ) -> None:  # pragma: no cover (compiled)
        # per row: positive and finite values
        for i in range(a, b):
            p = 0
            k = 0
            for t in range(X.shape[1]):
                x = X[i, t]
                if np.isfinite(x):
                    k += 1
                    if x > 0:
                        p += 1
            pos[i] = p
            n[i] = k

    @jit
    def pairwise(v: Any, lo: int, n: int, t: int) -> Any:  # pragma: no cover
        # numpy's pairwise summation of v[lo:lo + n, t] (the order of its add
        # reductions along an axis: partial sums of 8 below 128 values, halves
        # above; -0.0 for none)
        if n < 8:
            s = -0.0
            for k in range(lo, lo + n):
                s += v[k, t]
            return s
        if n <= 128:
            r0 = v[lo, t]
            r1 = v[lo + 1, t]
            r2_ = v[lo + 2, t]
            r3 = v[lo + 3, t]
            r4 = v[lo + 4, t]
            r5 = v[lo + 5, t]
            r6 = v[lo + 6, t]
            r7 = v[lo + 7, t]
            k = 8
            while k < n - (n % 8):
                j = lo + k
                r0 += v[j, t]
                r1 += v[j + 1, t]
                r2_ += v[j + 2, t]
                r3 += v[j + 3, t]
                r4 += v[j + 4, t]
                r5 += v[j + 5, t]
                r6 += v[j + 6, t]
                r7 += v[j + 7, t]
                k += 8
            res = ((r0 + r1) + (r2_ + r3)) + ((r4 + r5) + (r6 + r7))
            while k < n:
                res += v[lo + k, t]
                k += 1
            return res
        n2 = n // 2
        n2 -= n2 % 8
        return pairwise(v, lo, n2, t) + pairwise(v, lo + n2, n - n2, t)

    @jit
    def kp_rows(resid: Any, fst: Any, days: Any, a: int, b: int, same: Any,
                sx: Any, sxx: Any, nd: Any, u: Any) -> None:  # pragma: no cover
        # per row of a one-calendar block: the same days with data as the cluster's
        # first pair, sums of x and x^2 (pairwise, as numpy) and u = 1/sqrt(n x'x -
        # s^2) where the pair is factorised
        Le = resid.shape[1]
        xb = np.empty((Le, 1))
        qb = np.empty((Le, 1))
        for i in range(a, b):
            f = fst[i]
            fr = f if f >= 0 else 0
            sm = f >= 0 and days[i - a]
            k = 0
            for t in range(Le):
                v = resid[i, t]
                ok = np.isfinite(v)
                if sm and ok != np.isfinite(resid[fr, t]):
                    sm = False
                if ok:
                    xb[t, 0] = v
                    qb[t, 0] = v * v
                    k += 1
                else:
                    xb[t, 0] = 0.0
                    qb[t, 0] = 0.0
            # ndarray.sum(axis=1): the identity 0.0 plus the pairwise sum
            bx = 0.0 + pairwise(xb, 0, Le, 0)
            bxx = 0.0 + pairwise(qb, 0, Le, 0)
            same[i] = sm
            sx[i] = bx
            sxx[i] = bxx
            nd[i] = k
            q = k * bxx - bx * bx
            u[i] = (1.0 / np.sqrt(q) if sm and k >= 3 and q > 0 and np.isfinite(q)
                    else 0.0)

    @jit
    def pairwise_rows(v: Any, lo: int, n: int, out: Any
                      ) -> None:  # pragma: no cover (compiled)
        # numpy's pairwise summation of the rows v[lo:lo + n] of each column
        # (the order of its add reductions along an axis: partial sums of 8 below
        # 128 values, halves above; -0.0 for none), every column at once
        T = v.shape[1]
        if n < 8:
            for t in range(T):
                out[t] = -0.0
            for k in range(lo, lo + n):
                for t in range(T):
                    out[t] += v[k, t]
            return
        if n <= 128:
            r = v[lo:lo + 8].copy()
            k = 8
            while k < n - (n % 8):
                for q in range(8):
                    for t in range(T):
                        r[q, t] += v[lo + k + q, t]
                k += 8
            for t in range(T):
                out[t] = (((r[0, t] + r[1, t]) + (r[2, t] + r[3, t]))
                          + ((r[4, t] + r[5, t]) + (r[6, t] + r[7, t])))
            while k < n:
                for t in range(T):
                    out[t] += v[lo + k, t]
                k += 1
            return
        n2 = n // 2
        n2 -= n2 % 8
        left = np.empty(T)
        pairwise_rows(v, lo, n2, left)
        pairwise_rows(v, lo + n2, n - n2, out)
        for t in range(T):
            out[t] = left[t] + out[t]

    @jit
    def kp_runs(resid: Any, u: Any, rows: Any, starts: Any, out: Any
                ) -> None:  # pragma: no cover (compiled)
        # per run of rows (one key): the sum of u_i x_i as numpy.add.reduceat adds
        # it (the first row plus the pairwise sum of the others)
        Le = resid.shape[1]
        L = 1
        for k in range(starts.shape[0] - 1):
            L = max(L, starts[k + 1] - starts[k])
        buf = np.empty((L, Le))
        rest = np.empty(Le)
        for k in range(starts.shape[0] - 1):
            s0 = starts[k]
            m = starts[k + 1] - s0
            for j in range(m):
                i = rows[s0 + j]
                ui = u[i]
                for t in range(Le):
                    v = resid[i, t]
                    buf[j, t] = (v if np.isfinite(v) else 0.0) * ui
            pairwise_rows(buf, 1, m - 1, rest)
            for t in range(Le):
                out[k, t] = buf[0, t] + rest[t]

    @jit
    def group_sums(x: Any, ok: Any, codes: Any, G: int
                   ) -> tuple[Any, Any]:  # pragma: no cover (compiled)
        # per group: number and sum of the values in ok, in row order
        n = np.zeros(G)
        s = np.zeros(G)
        for i in range(x.shape[0]):
            if ok[i]:
                g = codes[i]
                n[g] += 1.0
                s[g] += x[i]
        return n, s

    @jit
    def dev_sums(x: Any, ok: Any, codes: Any, mean: Any, G: int, power: int
                 ) -> Any:  # pragma: no cover (compiled)
        # per group: sum of (x - mean)^2 (power 2) or d * d * d (power 3) over ok
        s = np.zeros(G)
        for i in range(x.shape[0]):
            if ok[i]:
                g = codes[i]
                d = x[i] - mean[g]
                s[g] += d * d if power == 2 else d * d * d
        return s

    @jit
    def window_values(x: Any, var: Any, ok: Any, s: Any, sok: Any
                      ) -> None:  # pragma: no cover (compiled)
        # the value's finite mask, value / sqrt(var) and its finite mask
        for i in range(x.shape[0]):
            v = x[i]
            ok[i] = np.isfinite(v)
            z = v / np.sqrt(var[i])
            s[i] = z
            sok[i] = np.isfinite(z)

    return SimpleNamespace(
        pack_rows=pack_rows, unpack_rows=unpack_rows, rank_sums=rank_sums,
        sign_sums=sign_sums, col_sums=col_sums, pos_counts=pos_counts,
        kp_rows=kp_rows, kp_runs=kp_runs, group_sums=group_sums,
        dev_sums=dev_sums, window_values=window_values)


def warm() -> None:
    """Compile the kernels (or load them from numba's cache) now, on dummy data, so
    that a later timed run does not include it."""
    k = compiled()
    x = np.zeros((1, 2))
    u = x.view(np.uint64)
    one = np.zeros(1, dtype=np.int64)
    f = np.zeros(1, dtype=np.bool_)
    r2 = np.zeros((1, 4), dtype=np.uint16)
    z = np.zeros(1)
    keys = np.zeros((1, 4), dtype=np.uint64)
    count = np.zeros(1, dtype=np.int64)
    k.pack_rows(x, x, u, u, 0, 1, 2, keys, count, f)
    k.unpack_rows(keys, count, f, x, x, 0, 2, r2, z, z.copy(), z.copy())
    s = np.zeros((1, 4), dtype=np.int64)
    k.rank_sums(r2, z, one, 0, 4, s, s.copy(), s.copy())
    k.sign_sums(x, x, z, one, 0, 4, s, s.copy())
    k.col_sums(x, one, z, False, 0, 2, np.zeros((1, 2)), np.zeros((1, 2)))
    k.pos_counts(x, 0, 1, z, z.copy())
    k.kp_rows(x, one, f, 0, 1, f.copy(), z, z.copy(), z.copy(), z.copy())
    k.kp_runs(x, z, one, np.array([0, 1]), np.zeros((1, 2)))
    ok = np.ones(1, dtype=np.bool_)
    k.group_sums(z, ok, one, 1)
    k.dev_sums(z, ok, one, z, 1, 2)
    k.window_values(z, z + 1.0, ok, z.copy(), ok.copy())


def rank_block(resid: np.ndarray, ar: np.ndarray, a: int, b: int, r2: np.ndarray,
               n_ok: np.ndarray, n_fin: np.ndarray, med: np.ndarray) -> np.ndarray:
    """Ranks of rows ``a:b`` over estimation + event days, written into ``r2``,
    ``n_ok``, ``n_fin`` and ``med`` (as :func:`eventstudy.inference.rank.pair_ranks`).

    Returns the rows left for the numpy path (ties or near-ties, infinite values):
    their outputs are not written.
    """
    k = compiled()
    T = resid.shape[1] + ar.shape[1]
    nb = max(1, (T - 1).bit_length())
    m = b - a
    keys = np.empty((m, T), dtype=np.uint64)
    count = np.empty(m, dtype=np.int64)
    flag = np.empty(m, dtype=np.bool_)
    k.pack_rows(resid, ar, resid.view(np.uint64), ar.view(np.uint64), a, b, nb,
                keys, count, flag)
    keys.view(np.float64).sort(axis=1)
    k.unpack_rows(keys, count, flag, resid, ar, a, nb, r2, n_ok, n_fin, med)
    out: np.ndarray = a + np.flatnonzero(flag)
    return out
