"""Cross-correlation adjusted tests: Kolari & Pynnonen (2010) Patell and BMP.

The average pairwise residual correlation r-bar of the pairs clustered in time
(:class:`KPCorr`, made once per run and kept as per-cluster sums) scales the
Patell Z and the BMP t. Both tests have the shared signature
``test(sample: Sample) -> TestStat``.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from eventstudy.inference import kernels
from eventstudy.inference import reduction as red
from eventstudy.inference.parametric import patell_core
from eventstudy.inference.reduction import (
    Groups,
    PairData,
    Sample,
    Shared,
    TestStat,
    blocks_in_threads,
    class_sum,
    gcount,
    gkey,
    gsum,
    t_p,
    z_p,
)
from eventstudy.inputs.calendar import WindowDates


def _corr_block(data: PairData, mem: np.ndarray) -> np.ndarray:
    """``(m, m)`` residual correlations of the pairs ``mem`` (one day-0 cluster).

    Correlations use the calendar days both pairs have (``est_dates``), Pearson on
    that overlap; fewer than 3 common days or a constant series gives NaN, counted
    as 0; the diagonal is 0. Pairs on one calendar use their day columns directly.
    """
    d = data.est_dates[mem]
    v = data.resid[mem]
    ok = (d >= 0) & np.isfinite(v)
    if (d == d[:1]).all():  # one calendar: the columns are the days
        X = np.where(ok, v, 0.0)
        M = ok.astype(np.float64)
    else:
        days = np.unique(d[ok])
        m = len(mem)
        X = np.zeros((m, len(days)))
        M = np.zeros((m, len(days)))
        ri, ci = np.nonzero(ok)
        pos = np.searchsorted(days, d[ri, ci])
        X[ri, pos] = v[ri, ci]
        M[ri, pos] = 1.0
    n = M @ M.T
    sx = X @ M.T  # sx[i, j]: sum of x_i over the days j also has
    sxx = (X * X) @ M.T
    sxy = X @ X.T
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        num = n * sxy - sx * sx.T
        den = np.sqrt((n * sxx - sx**2) * (n * sxx.T - sx.T**2))
        r = np.nan_to_num(np.where((n >= 3) & (den > 0), num / den, np.nan))
    np.fill_diagonal(r, 0.0)
    return r


class KPCorr:
    """Kolari-Pynnonen residual correlations of the pairs sharing day 0, kept as
    per-cluster sums (never a list of pairs: those grow with the square of the pairs
    per day).

    Clusters whose pairs have the same days with data (one calendar, no pair missing
    a day the others have) use the factorisation r_ij = u_i u_j (n x_i'x_j - s_i
    s_j) with u_i = 1/sqrt(n x_i'x_i - s_i^2): the sum over the pairs i != j of a
    set is n |sum u_i x_i|^2 - (sum u_i s_i)^2 - sum u_i^2 (n x_i'x_i - s_i^2), so
    a partition only needs sum u_i x_i per (cluster, group), one pass over the
    residuals. The other clusters build their correlation matrix
    (:func:`_corr_block`) and keep per-pair row sums.
    """

    def __init__(self, data: PairData, partitions: tuple[Groups, ...] = (),
                 compiled: bool = False) -> None:
        self.data = data
        P, Le = data.resid.shape
        cl = np.asarray(data.cluster, dtype=np.int64)
        idx = np.flatnonzero(cl >= 0)
        order = idx[np.argsort(cl[idx], kind="stable")]
        new = np.ones(len(order), dtype=bool)
        new[1:] = cl[order][1:] != cl[order][:-1]
        cid = np.cumsum(new) - 1
        keep = np.bincount(cid)[cid] >= 2
        order, cid = order[keep], cid[keep]
        cid = np.unique(cid, return_inverse=True)[1].reshape(-1)
        self.clus = np.full(P, -1, dtype=np.int64)
        self.clus[order] = cid
        nc = int(cid.max()) + 1 if cid.size else 0
        first = np.full(nc, P, dtype=np.int64)
        np.minimum.at(first, cid, order)
        fst = np.full(P, -1, dtype=np.int64)
        fst[order] = first[cid]
        self._parts: dict[str, tuple[Any, ...]] = {}
        self._rbar: dict[tuple[str, int, int], np.ndarray] = {}
        # the partitions run_tests will ask for get their sums u_i x_i in this pass
        todo = {gkey(h): h for h in partitions if h.codes.shape == (P,)}
        keys = {k: self._keys(h.codes) for k, h in todo.items()}
        W = {k: np.zeros((len(kk[1]), Le)) for k, kk in keys.items()}
        # per pair (row order): same days and days with data as the cluster's first
        # pair, no value on a day without a session; sums of x and x^2
        same = np.zeros(P, dtype=bool)
        sx = np.zeros(P)
        sxx = np.zeros(P)
        nd = np.zeros(P)
        step = max(1, red.BLOCK_CELLS // max(Le, 1))
        ed = data.est_dates
        # window dates without gaps: one compiled pass per row
        fused = compiled and isinstance(ed, WindowDates)
        ufull = np.zeros(P) if fused else np.zeros(0)

        def block(a: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
            # writes rows a:a+step of same, sx, sxx, nd; returns the block's u_i x_i
            # sums, added below in block order (the sequential sums, bit for bit)
            sl = slice(a, min(P, a + step))
            f = fst[sl]
            inc = f >= 0
            if not inc.any():
                return []
            fr = np.maximum(f, 0)
            if fused and isinstance(ed, WindowDates) and ed.complete(sl).all():
                days = ed.keys(sl) == ed.keys(fr)
                other = np.flatnonzero(inc & ~days)
                if other.size:
                    days[other] = (ed[a + other] == ed[fr[other]]).all(axis=1)
                kernels.compiled().kp_rows(data.resid, fst, days, a, sl.stop, same,
                                           sx, sxx, nd, ufull)
                return self._ux_parts_compiled(keys, a, sl.stop, ufull)
            fin = np.isfinite(data.resid[sl])
            if isinstance(ed, WindowDates) and ed.complete(sl).all():
                # every day of these windows is a session (d >= 0): ok is fin, and
                # equal window keys mean equal days (else compare the dates)
                ok = fin
                okf = np.isfinite(data.resid[fr])
                days = ed.keys(sl) == ed.keys(fr)
                other = np.flatnonzero(inc & ~days)
                if other.size:
                    days[other] = (ed[a + other] == ed[fr[other]]).all(axis=1)
                sm = inc & days & (ok == okf).all(axis=1)
            else:
                d = ed[sl]
                ok = (d >= 0) & fin
                okf = (ed[fr] >= 0) & np.isfinite(data.resid[fr])
                sm = (inc & (d == ed[fr]).all(axis=1)
                      & (ok == okf).all(axis=1) & ~(fin & (d < 0)).any(axis=1))
            X = np.where(ok, data.resid[sl], 0.0)
            bx, bxx, bn = X.sum(axis=1), (X * X).sum(axis=1), ok.sum(axis=1)
            same[sl], sx[sl], sxx[sl], nd[sl] = sm, bx, bxx, bn
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                q = bn * bxx - bx**2
                u = np.where(sm & (bn >= 3) & (q > 0) & np.isfinite(q),
                             1.0 / np.sqrt(q), 0.0)
            return self._ux_parts(keys, a, X, u)

        for parts in blocks_in_threads(P, step, block):
            for k, rows, sums in parts:  # clusters found slow are dropped below
                W[k][rows] += sums
        with np.errstate(invalid="ignore", over="ignore"):
            q = nd * sxx - sx**2
            good = same & (q > 0) & np.isfinite(q)
        fast_c = np.ones(nc, dtype=bool)
        np.logical_and.at(fast_c, cid, good[order])
        self.fast = np.zeros(P, dtype=bool)
        self.fast[order] = fast_c[cid]
        self.nd = np.where(self.fast & (nd >= 3), nd, 0.0)  # fewer days: r = 0
        use = self.nd > 0
        self.u = np.zeros(P)
        self.u[use] = 1.0 / np.sqrt(q[use])
        self.sx = np.where(use, sx, 0.0)
        self.diag = np.where(use, self.u * self.u * (nd * sxx - sx * sx), 0.0)
        bounds = np.flatnonzero(np.diff(cid)) + 1
        self.slow = [m for m in np.split(order, bounds)
                     if m.size and not self.fast[m[0]]]
        self._finish(todo, keys, W)

    def _x(self, rows: Any) -> np.ndarray:
        """Residuals of factorised pairs, 0 on days without data (no value there)."""
        v = self.data.resid[rows]
        return np.where(np.isfinite(v), v, 0.0)

    def _keys(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dense (cluster, group) key of every clustered pair (-1 otherwise), and
        the cluster and the group of each key."""
        f = np.flatnonzero(self.clus >= 0)
        mult = int(codes.max(initial=0)) + 1
        u, inv = np.unique(self.clus[f] * mult + codes[f], return_inverse=True)
        key = np.full(self.data.n_pairs, -1, dtype=np.int64)
        key[f] = inv.reshape(-1)
        return key, u // mult, u % mult

    @staticmethod
    def _ux_parts(keys: dict[str, Any], a: int, X: np.ndarray, u: np.ndarray
                  ) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Per partition: the keys of the rows a, a+1, ... and the sums of u_i x_i
        over each key's rows (to be added to the partition's sums)."""
        f = np.flatnonzero(u)
        if not f.size:
            return []
        ux = X[f] * u[f, None]
        out = []
        for k, (key, _, _) in keys.items():
            kb = key[a + f]
            o = np.argsort(kb, kind="stable")
            ks = kb[o]
            st = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
            out.append((k, ks[st], np.add.reduceat(ux[o], st, axis=0)))
        return out

    def _ux_parts_compiled(self, keys: dict[str, Any], a: int, b: int,
                           u: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """:meth:`_ux_parts` of the rows a:b by the compiled pass (the same sums in
        the same order)."""
        f = a + np.flatnonzero(u[a:b])
        if not f.size:
            return []
        Le = self.data.resid.shape[1]
        out = []
        for k, (key, _, _) in keys.items():
            kb = key[f]
            o = np.argsort(kb, kind="stable")
            ks = kb[o]
            st = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
            sums = np.empty((len(st), Le))
            kernels.compiled().kp_runs(self.data.resid, u, f[o],
                                       np.r_[st, len(f)].astype(np.int64), sums)
            out.append((k, ks[st], sums))
        return out

    @classmethod
    def _add_ux(cls, W: dict[str, np.ndarray], keys: dict[str, Any], a: int,
                X: np.ndarray, u: np.ndarray) -> None:
        """Add u_i x_i of the rows a, a+1, ... to the sums of their keys."""
        for k, rows, sums in cls._ux_parts(keys, a, X, u):
            W[k][rows] += sums

    def _finish(self, todo: dict[str, Groups], keys: dict[str, Any],
                W: dict[str, np.ndarray]) -> None:
        """Keep the factorised clusters' sums and add the other clusters' row sums."""
        P = self.data.n_pairs
        for k in todo:
            key, kc, kg = keys[k]
            if len(kc):  # sums of the clusters found slow are not used
                W[k][~self.fast[self._first_of(kc)]] = 0.0
            fk = self.nd > 0
            s = np.bincount(key[fk], weights=(self.u * self.sx)[fk], minlength=len(kc))
            self._parts[k] = (key, kg, W[k], s, np.zeros(P))
        for mem in self.slow:
            r = _corr_block(self.data, mem)
            for k, h in todo.items():
                c = h.codes[mem]
                rs = self._parts[k][4]
                if (c == c[0]).all():
                    rs[mem] = r.sum(axis=1)
                else:
                    rs[mem] = (r * (c[:, None] == c[None, :])).sum(axis=1)

    def _first_of(self, clusters: np.ndarray) -> np.ndarray:
        """A pair of each cluster."""
        f = np.flatnonzero(self.clus >= 0)
        first = np.zeros(int(self.clus.max(initial=-1)) + 1, dtype=np.int64)
        first[self.clus[f[::-1]]] = f[::-1]
        out: np.ndarray = first[clusters]
        return out

    def _partition(self, g: Groups) -> tuple[Any, ...]:
        """Per partition: keys, key groups, sum u_i x_i (K, Le), sum u_i s_i and the
        row sums of the other clusters (a pass over the residuals for a partition
        that was not registered)."""
        gk = gkey(g)
        if gk not in self._parts:
            todo = {gk: g}
            P, Le = self.data.resid.shape
            keys = {gk: self._keys(g.codes)}
            W = {gk: np.zeros((len(keys[gk][1]), Le))}
            step = max(1, red.BLOCK_CELLS // max(Le, 1))
            for a in range(0, P, step):
                sl = slice(a, min(P, a + step))
                self._add_ux(W, keys, a, self._x(sl), self.u[sl])
            self._finish(todo, keys, W)
        return self._parts[gk]

    def rbar(self, g: Groups, valid: np.ndarray) -> np.ndarray:
        """r-bar_g = sum of clustered-pair correlations in g / (n_g (n_g - 1) / 2)."""
        ck = (gkey(g), zlib.crc32(np.packbits(valid).tobytes()), int(valid.sum()))
        if ck in self._rbar:
            return self._rbar[ck]
        codes = g.codes
        key, kg, W, s, rs = self._partition(g)
        K = len(kg)
        # factorised clusters: the sums over the valid pairs of each key
        fv = (key >= 0) & valid
        bad = np.flatnonzero((key >= 0) & ~valid)
        Wv, sv = W, s
        if bad.size:
            Wv = W - class_sum(bad, lambda r: self._x(r) * self.u[r][:, None], key, K,
                                W.shape[1])
            sv = s - np.bincount(key[bad], weights=(self.u * self.sx)[bad], minlength=K)
        m = np.bincount(key[fv], minlength=K)
        dg = np.bincount(key[fv], weights=self.diag[fv], minlength=K)
        n_k = np.zeros(K)
        n_k[key[fv]] = self.nd[fv]
        tot = np.where(m > 1, n_k * (Wv * Wv).sum(axis=1) - sv * sv - dg, 0.0)
        tot2 = np.bincount(kg, weights=tot, minlength=g.n).astype(np.float64)
        # other clusters: sum_valid rowsum - sum_invalid rowsum + sum_{invalid i != j}
        sl = (self.clus >= 0) & ~self.fast
        tot2 += gsum(rs, g, valid & sl)
        bad = np.flatnonzero(~valid & sl)
        if bad.size:
            tot2 -= np.bincount(codes[bad], weights=rs[bad], minlength=g.n)
            k = self.clus[bad] * (int(codes.max(initial=0)) + 1) + codes[bad]
            o = np.argsort(k, kind="stable")
            for part in np.split(bad[o], np.flatnonzero(np.diff(k[o])) + 1):
                if len(part) > 1:
                    tot2[codes[part[0]]] += _corr_block(self.data, part).sum()
        n = gcount(g, valid)
        with np.errstate(invalid="ignore", divide="ignore"):
            rb = (tot2 / 2) / (n * (n - 1) / 2)
        out: np.ndarray = np.where(n > 1, rb, 0.0)
        self._rbar[ck] = out
        return out


def rbar(shared: Shared, groups: Groups, valid: np.ndarray) -> np.ndarray:
    """r-bar_g = sum of clustered-pair correlations in g / (n_g (n_g - 1) / 2), from
    the run's :class:`KPCorr` (made once in ``shared``, with the sums of every
    partition of the run in one pass)."""
    kp: KPCorr = shared.get("kp_corr",
                            lambda: KPCorr(shared.data, shared.partitions,
                                           shared.compiled))
    return kp.rbar(groups, valid)


def patell_kp(sample: Sample) -> TestStat:
    """Kolari & Pynnonen (2010) cross-correlation adjusted Patell Z.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N; extra ``rbar``.

    Notes
    -----
    Z_KP = Z_Patell sqrt(1 / (1 + (N - 1) r-bar)), N(0, 1). r-bar is the average
    pairwise correlation of estimation-window residuals over the calendar days two
    pairs share, counting only pairs clustered in time (same day-0 date); pairs not
    clustered contribute 0: r-bar_g = sum of clustered-pair r_ij in g / (N (N - 1)/2).
    Kolari, J. & Pynnonen, S. (2010), Review of Financial Studies 23(11):3996-4025.
    """
    groups = sample.groups
    z, n, valid = patell_core(sample)
    rb = rbar(sample.shared, groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = 1.0 + (n - 1) * rb
        zk = np.where(f > 0, z * np.sqrt(1.0 / f), np.nan)
    extra = sample.mean_extra()
    extra["rbar"] = rb
    return TestStat(zk, z_p(zk), n, extra)


def bmp_kp(sample: Sample) -> TestStat:
    """Kolari & Pynnonen (2010) cross-correlation adjusted BMP t.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        t, two-sided p from t(N - 1), N; extra ``rbar``.

    Notes
    -----
    t_KP = t_BMP sqrt((1 - r-bar) / (1 + (N - 1) r-bar)); t(N - 1). The (1 - r-bar)
    corrects the downward bias of the cross-sectional variance under a common
    correlation; r-bar as in :func:`patell_kp`. Kolari & Pynnonen (2010), RFS
    23(11):3996-4025.
    """
    groups = sample.groups
    _, valid = sample.x(std=True)
    n, mean, var = sample.moments(std=True)
    rb = rbar(sample.shared, groups, valid)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = mean / np.sqrt(var / n)
        f = (1.0 - rb) / (1.0 + (n - 1) * rb)
        tk = np.where(f > 0, t * np.sqrt(f), np.nan)
    extra = sample.mean_extra()
    extra["rbar"] = rb
    return TestStat(tk, t_p(tk, n - 1), n, extra)


