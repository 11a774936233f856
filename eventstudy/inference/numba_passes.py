"""The numba kernels of :mod:`eventstudy.inference.kernels` (compiled on first use,
cached by numba; imported only when the compiled passes run).

Module-level functions, so that numba caches the kernels that call one another
(the Kolari-Pynnonen passes call the pairwise sums). See
:mod:`eventstudy.inference.kernels` for what each computes and in which order.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

NA16 = 65535
"""Twice-ranks code of a missing (NaN) value (``rank.NA16``)."""

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
    # and the count (integers; each run of rows of one group in local sums)
    n = c1 - c0
    a1 = np.empty(n, dtype=np.int64)
    a2 = np.empty(n, dtype=np.int64)
    ac = np.empty(n, dtype=np.int64)
    P = r2.shape[0]
    i = 0
    while i < P:
        g = codes[i]
        for t in range(n):
            a1[t] = s1[g, c0 + t]
            a2[t] = s2[g, c0 + t]
            ac[t] = cnt[g, c0 + t]
        while i < P and codes[i] == g:
            m1 = np.int64(n_fin[i]) + 1
            for t in range(n):
                v = np.int64(r2[i, c0 + t])
                ok = v != NA16
                a1[t] += v if ok else 0
                a2[t] += m1 if ok else 0
                ac[t] += 1 if ok else 0
            i += 1
        for t in range(n):
            s1[g, c0 + t] = a1[t]
            s2[g, c0 + t] = a2[t]
            cnt[g, c0 + t] = ac[t]


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
    # and the number of cells (sum of w_i); each run of rows of one group adds in
    # local sums started from the group's. A cell that is not finite adds 0.0: a
    # sum that starts at 0.0 is never -0.0, so adding 0.0 leaves it as it is
    n = c1 - c0
    acc = np.empty(n)
    cnt = np.empty(n)
    P = X.shape[0]
    i = 0
    while i < P:
        g = codes[i]
        for t in range(n):
            acc[t] = s[g, c0 + t]
            cnt[t] = c[g, c0 + t]
        while i < P and codes[i] == g:
            wi = w[i] if weighted else 1.0
            for t in range(n):
                x = X[i, c0 + t]
                fin = np.isfinite(x)
                acc[t] += (x * wi if weighted else x) if fin else 0.0
                cnt[t] += wi if fin else 0.0
            i += 1
        for t in range(n):
            s[g, c0 + t] = acc[t]
            c[g, c0 + t] = cnt[t]


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
def pairwise_leaf(v: Any, lo: int, n: int, out: Any
                  ) -> None:  # pragma: no cover (compiled)
    # numpy's pairwise sum of the rows v[lo:lo + n], n <= 128, of each column:
    # sequential from -0.0 below 8 values, else 8 partial sums
    T = v.shape[1]
    if n < 8:
        for t in range(T):
            out[t] = -0.0
        for k in range(lo, lo + n):
            for t in range(T):
                out[t] += v[k, t]
        return
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

@jit
def pairwise_rows(v: Any, lo: int, n: int, out: Any
                  ) -> None:  # pragma: no cover (compiled)
    # numpy's pairwise summation of the rows v[lo:lo + n] of each column (the
    # order of its add reductions along an axis: halves above 128 values, cut
    # at a multiple of 8), every column at once; the recursion unrolled on a
    # stack of frames (numba caches no recursive function)
    T = v.shape[1]
    if n <= 128:
        pairwise_leaf(v, lo, n, out)
        return
    pairwise_ws(v, lo, n, out, np.empty(64, dtype=np.int64),
                np.empty(64, dtype=np.int64), np.zeros(64, dtype=np.int64),
                np.empty((64, T)), np.empty((64, T)), np.empty(T))


@jit
def pairwise_ws(v: Any, lo: int, n: int, out: Any, los: Any, ns: Any, stage: Any,
                left: Any, right: Any, res: Any) -> None:  # pragma: no cover
    # pairwise_rows with its stack of frames given (64 levels, T columns)
    T = v.shape[1]
    if n <= 128:
        pairwise_leaf(v, lo, n, out)
        return
    los[0] = lo
    ns[0] = n
    stage[0] = 0
    depth = 1
    while depth > 0:
        f = depth - 1
        m = ns[f]
        done = False
        if m <= 128:
            pairwise_leaf(v, los[f], m, res)
            done = True
        elif stage[f] < 2:
            h = m // 2
            h -= h % 8
            if stage[f] == 0:
                los[depth], ns[depth] = los[f], h
            else:
                los[depth], ns[depth] = los[f] + h, m - h
            stage[f] += 1
            stage[depth] = 0
            depth += 1
        else:
            for t in range(T):
                res[t] = left[f, t] + right[f, t]
            done = True
        if done:
            depth -= 1
            if depth == 0:
                for t in range(T):
                    out[t] = res[t]
            elif stage[depth - 1] == 1:
                for t in range(T):
                    left[depth - 1, t] = res[t]
            else:
                for t in range(T):
                    right[depth - 1, t] = res[t]

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
def leaf_1d(v: Any, lo: int, n: int) -> Any:  # pragma: no cover (compiled)
    # numpy's pairwise sum of v[lo:lo + n], n <= 128 (pairwise_leaf of one column)
    if n < 8:
        s = -0.0
        for k in range(lo, lo + n):
            s += v[k]
        return s
    r0 = v[lo]
    r1 = v[lo + 1]
    r2 = v[lo + 2]
    r3 = v[lo + 3]
    r4 = v[lo + 4]
    r5 = v[lo + 5]
    r6 = v[lo + 6]
    r7 = v[lo + 7]
    k = 8
    while k < n - (n % 8):
        j = lo + k
        r0 += v[j]
        r1 += v[j + 1]
        r2 += v[j + 2]
        r3 += v[j + 3]
        r4 += v[j + 4]
        r5 += v[j + 5]
        r6 += v[j + 6]
        r7 += v[j + 7]
        k += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while k < n:
        res += v[lo + k]
        k += 1
    return res


@jit
def pairwise_1d(v: Any, n: int, los: Any, ns: Any, stage: Any, left: Any,
                right: Any) -> Any:  # pragma: no cover (compiled)
    # numpy's pairwise sum of v[:n] (pairwise_ws of one column, without copies)
    if n <= 128:
        return leaf_1d(v, 0, n)
    los[0] = 0
    ns[0] = n
    stage[0] = 0
    depth = 1
    res = 0.0
    while depth > 0:
        f = depth - 1
        m = ns[f]
        done = False
        if m <= 128:
            res = leaf_1d(v, los[f], m)
            done = True
        elif stage[f] < 2:
            h = m // 2
            h -= h % 8
            if stage[f] == 0:
                los[depth], ns[depth] = los[f], h
            else:
                los[depth], ns[depth] = los[f] + h, m - h
            stage[f] += 1
            stage[depth] = 0
            depth += 1
        else:
            res = left[f] + right[f]
            done = True
        if done:
            depth -= 1
            if depth > 0:
                if stage[depth - 1] == 1:
                    left[depth - 1] = res
                else:
                    right[depth - 1] = res
    return res


@jit
def kp_rows(resid: Any, fst: Any, days: Any, a: int, b: int, same: Any,
            sx: Any, sxx: Any, nd: Any, u: Any) -> None:  # pragma: no cover
    # per row of a one-calendar block: the same days with data as the cluster's
    # first pair, sums of x and x^2 (pairwise, as numpy) and u = 1/sqrt(n x'x -
    # s^2) where the pair is factorised
    Le = resid.shape[1]
    xb = np.empty(Le)
    qb = np.empty(Le)
    los = np.empty(64, dtype=np.int64)
    ns = np.empty(64, dtype=np.int64)
    stage = np.zeros(64, dtype=np.int64)
    left = np.empty(64)
    right = np.empty(64)
    for i in range(a, b):
        f = fst[i]
        fr = f if f >= 0 else 0
        k = 0
        differ = 0
        for t in range(Le):
            v = resid[i, t]
            ok = np.isfinite(v)
            x = v if ok else 0.0
            xb[t] = x
            qb[t] = x * x
            k += ok
            differ += ok != np.isfinite(resid[fr, t])
        sm = f >= 0 and days[i - a] and differ == 0
        # ndarray.sum(axis=1): the identity 0.0 plus the pairwise sum
        bx = 0.0 + pairwise_1d(xb, Le, los, ns, stage, left, right)
        bxx = 0.0 + pairwise_1d(qb, Le, los, ns, stage, left, right)
        same[i] = sm
        sx[i] = bx
        sxx[i] = bxx
        nd[i] = k
        q = k * bxx - bx * bx
        u[i] = (1.0 / np.sqrt(q) if sm and k >= 3 and q > 0 and np.isfinite(q)
                else 0.0)

@jit
def resid_stats(r: Any, a: int, b: int, n: Any, ac1: Any
                ) -> None:  # pragma: no cover (compiled)
    # rows a:b: the number of finite residuals and their first-order
    # autocorrelation, every sum as ndarray.sum(axis=1) adds it (the identity 0.0
    # plus numpy's pairwise sum of the row), so bit for bit the numpy expression
    # of eventstudy.results.core._resid_stats
    T = r.shape[1]
    xz = np.empty(T)
    dv = np.empty(T)
    sq = np.empty(T)
    pr = np.empty(max(T - 1, 0))
    los = np.empty(64, dtype=np.int64)
    ns = np.empty(64, dtype=np.int64)
    stage = np.zeros(64, dtype=np.int64)
    left = np.empty(64)
    right = np.empty(64)
    for i in range(a, b):
        c = 0
        for t in range(T):
            v = r[i, t]
            if np.isfinite(v):
                xz[t] = v
                c += 1
            else:
                xz[t] = 0.0
        n[i] = c
        mean = (0.0 + pairwise_1d(xz, T, los, ns, stage, left, right)) / np.float64(c)
        for t in range(T):
            v = r[i, t]
            dv[t] = v - mean if np.isfinite(v) else 0.0
            sq[t] = dv[t] * dv[t]
        for t in range(T - 1):
            pr[t] = dv[t + 1] * dv[t]
        num = 0.0 + pairwise_1d(pr, T - 1, los, ns, stage, left, right)
        den = 0.0 + pairwise_1d(sq, T, los, ns, stage, left, right)
        ac1[i] = num / den

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

