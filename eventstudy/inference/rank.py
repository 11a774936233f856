"""Rank tests: Corrado, Corrado-Zivney modified rank, Kolari-Pynnonen GRANK and
Wilcoxon signed rank.

The within-pair ranks over the estimation and event days (:func:`pair_ranks`) and
GRANK's sorted estimation values (:func:`grank_core`) are window-independent: they
are made once per run in the :class:`~eventstudy.inference.reduction.Shared`
intermediates, and the per-day sums once per partition. Every test has the shared
signature ``test(sample: Sample) -> TestStat``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from eventstudy.inference import kernels
from eventstudy.inference import reduction as red
from eventstudy.inference.reduction import (
    Groups,
    PairData,
    Sample,
    Shared,
    TestStat,
    blocks_in_threads,
    by_code,
    class_sum,
    daily_combine,
    gcount,
    gmean_all,
    gsum,
    gsums_multi,
    row_factor,
    t_p,
    window_cols,
    z_p,
)

NA16 = np.uint16(65535)
"""Twice-ranks code of a missing (NaN) value."""


def _sorted_ranks(S: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties averaged) of the positions of row-sorted values.

    ``S`` is sorted along rows with NaN last (NaN positions get meaningless ranks).
    Ties are looked for only in the rows that have them; the ranks are exact
    half-integers, equal to ``scipy.stats.rankdata(method="average")``.
    """
    b, T = S.shape
    rk = np.broadcast_to(np.arange(1.0, T + 1.0), (b, T)).copy()
    if T < 2:
        return rk
    tie = S[:, 1:] == S[:, :-1]
    rows = np.flatnonzero(tie.any(axis=1))
    if rows.size:
        t = tie[rows]
        pos = np.arange(T)
        first = np.ones((len(rows), T), dtype=bool)
        first[:, 1:] = ~t
        last = np.ones((len(rows), T), dtype=bool)
        last[:, :-1] = ~t
        start = np.maximum.accumulate(np.where(first, pos, 0), axis=1)
        end = np.minimum.accumulate(np.where(last, pos, T - 1)[:, ::-1],
                                    axis=1)[:, ::-1]
        rk[rows] = (start + end) / 2 + 1
    return rk


def row_ranks(V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise average ranks of the non-NaN values of ``V`` (NaN elsewhere), as
    ``scipy.stats.rankdata(V, axis=1, nan_policy="omit")``.

    Returns the ranks, the sorted values (NaN last) and the sorting permutation.
    """
    order, flat = _row_argsort(V)
    S = V.ravel()[flat]
    rk = _sorted_ranks(S)
    rk[np.isnan(S)] = np.nan
    K = np.empty(V.shape)
    K.ravel()[flat] = rk
    return K, S, order


def _row_argsort(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise argsort (NaN last) and the same permutation as flat indices."""
    order = np.argsort(V, axis=1)
    flat = order + (np.arange(V.shape[0]) * V.shape[1])[:, None]
    return order, flat


def _twice_ranks(S: np.ndarray, nan: np.ndarray) -> np.ndarray:
    """Twice the average ranks (uint16, so rows of fewer than 32,767 values) of the
    positions of row-sorted values (NaN last; :data:`NA16` there): 2, 4, 6...
    except in the rows with ties."""
    b, T = S.shape
    out = np.broadcast_to(np.arange(2, 2 * T + 2, 2, dtype=np.uint16), (b, T)).copy()
    out[nan] = NA16
    tied = np.flatnonzero((S[:, 1:] == S[:, :-1]).any(axis=1))
    if tied.size:
        rk = _sorted_ranks(S[tied])
        out[tied] = np.where(nan[tied], NA16, (2 * rk).astype(np.uint16))
    return out


@dataclass(frozen=True)
class PairRanks:
    """Window-independent ranks of each pair's estimation + event-window ARs.

    ``r2`` is ``(P, Le + W)`` twice the average rank of every non-NaN value (exact
    in uint16; :data:`NA16` for NaN); ``n_ok`` the non-NaN and ``n_fin`` the finite
    values per pair; ``med`` the median as ``numpy.nanmedian`` computes it (0 without
    any finite value).
    """

    r2: np.ndarray
    n_ok: np.ndarray
    n_fin: np.ndarray
    med: np.ndarray


def _union_block(data: PairData, rows: Any, cols: np.ndarray | None = None
                 ) -> np.ndarray:
    """``(m, Le + d)`` estimation residuals followed by the event ARs of ``cols``."""
    ev = data.ar[rows] if cols is None else data.ar[rows][:, cols]
    return np.concatenate([data.resid[rows], ev], axis=1)


def pair_ranks(shared: Shared) -> PairRanks:
    """Ranks over estimation + event days, made once per run in ``shared`` (row
    blocks: argsort with NaN last, tie averaging only where ties exist)."""
    data = shared.data

    def make() -> PairRanks:
        P = data.n_pairs
        T = data.resid.shape[1] + data.ar.shape[1]
        r2 = np.empty((P, T), dtype=np.uint16)
        n_ok = np.empty(P)
        n_fin = np.empty(P)
        med = np.empty(P)
        step = max(1, red.BLOCK_CELLS // max(T, 1))

        def rows_numpy(rows: Any) -> None:  # writes those rows only
            V = _union_block(data, rows)
            _, flat = _row_argsort(V)
            S = V.ravel()[flat]
            nan = np.isnan(S)
            if isinstance(rows, slice):
                r2[rows].ravel()[flat] = _twice_ranks(S, nan)
            else:
                part = np.empty(V.shape, dtype=np.uint16)
                part.ravel()[flat] = _twice_ranks(S, nan)
                r2[rows] = part
            c = T - nan.sum(axis=1)
            fin = np.isfinite(V).sum(axis=1)
            # numpy.nanmedian (masked median): (low + high) / 2 of the middle values
            h = c // 2
            lo = np.where(c % 2 == 1, h, h - 1).clip(0)
            base = np.arange(len(c)) * T
            mid = S.ravel()[base + lo] + S.ravel()[base + h.clip(0, T - 1)]
            med[rows] = np.where(fin > 0, mid / 2.0, 0.0)
            n_ok[rows] = c
            n_fin[rows] = fin

        def block(a: int) -> None:  # writes rows a:a+step only
            b = min(P, a + step)
            if not shared.compiled:
                rows_numpy(slice(a, b))
                return
            # one compiled pass per row; the rows with ties (or infinite values)
            # are ranked by the numpy path
            left = kernels.rank_block(data.resid, data.ar, a, b, r2, n_ok, n_fin,
                                      med)
            if left.size:
                rows_numpy(left)

        blocks_in_threads(P, step, block)
        return PairRanks(r2, n_ok, n_fin, med)

    out: PairRanks = shared.get("ranks", make)
    return out


def _score_block(shared: Shared, kind: str, rows: Any
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Scores of ``rows`` over estimation + event days and where they are finite.

    ``rank``: K - (M_i + 1)/2; ``urank``: K/(M_i + 1) - 1/2; ``sign``: sign(AR -
    median_i). K ranks AR within the pair over its non-missing days, M_i counts its
    finite days.
    """
    data = shared.data
    rk = pair_ranks(shared)
    M = rk.n_fin[rows][:, None]
    if kind == "sign":
        V = _union_block(data, rows)
        with np.errstate(invalid="ignore"):
            sc = np.where(np.isfinite(V), np.sign(V - rk.med[rows][:, None]), np.nan)
    else:
        r2 = rk.r2[rows]
        K = np.where(r2 == NA16, np.nan, 0.5 * r2)
        sc = K - (M + 1) / 2 if kind == "rank" else K / (M + 1) - 0.5
    return sc, np.isfinite(sc)


def _day_stats(shared: Shared, groups: Groups, kind: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """Daily standardised sums D_t (G, T) and their S (G,) for a score kind.

    D_t = sum_i s_it / N_t (``rank``) or / sqrt(N_t) (``urank``, ``sign``); under
    ``estudy2`` multiplied by N_g / N_t. S^2 = (1/T) sum_t D_t^2 over the days with
    data, T = their number (textbook) or the group's mean M_i (estudy2).
    Made once per partition in ``shared``; the scores are made in row blocks from
    :func:`pair_ranks`.
    """
    data = shared.data

    def compute(parts: list[Groups]) -> list[tuple[np.ndarray, np.ndarray]]:
        P = data.n_pairs
        T = data.resid.shape[1] + data.ar.shape[1]
        rk = pair_ranks(shared)
        out = []
        if kind == "urank":
            sums = gsums_multi(lambda r: _score_block(shared, kind, r), P, T, parts)
        else:
            sums = _exact_day_sums(shared, kind, parts)
        for g, (s, c) in zip(parts, sums, strict=True):
            has = c > 0
            with np.errstate(invalid="ignore", divide="ignore"):
                f = 1.0 / c if kind == "rank" else 1.0 / np.sqrt(c)
                D = np.where(has, s * f * row_factor(data, g, c), np.nan)
                if data.profile == "estudy2":
                    if kind == "sign":
                        n_row = np.where(np.isnan(rk.med), 0.0, rk.n_fin)
                    else:
                        n_row = rk.n_ok
                    T_g = gmean_all(n_row, g)
                else:
                    T_g = has.sum(axis=1).astype(np.float64)
                S = np.sqrt(np.where(has, D**2, 0.0).sum(axis=1) / T_g)
            out.append((D, S))
        return out

    res: tuple[np.ndarray, np.ndarray] = shared.scoped(f"days:{kind}", groups,
                                                        compute)
    return res


def _exact_day_sums(shared: Shared, kind: str, parts: list[Groups]
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per group and day: the sum and number of the ``rank`` or ``sign`` scores.

    Those scores are half-integers, so their sums are exact in any order: they are
    made from integer counts, sum_i K_it - sum_i (M_i + 1)/2 (``rank``) and
    #{AR > median} - #{AR < median} (``sign``), the same numbers as the sums of the
    scores cell by cell.
    """
    data = shared.data
    rk = pair_ranks(shared)
    P, T = rk.r2.shape
    if shared.compiled:
        return [_exact_day_sums_compiled(shared, rk, kind, g) for g in parts]

    def cells(rows: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Integer part (twice-ranks or +-1), the (M_i + 1)/2 to take off, ok."""
        if kind == "rank":
            r2 = rk.r2[rows]
            ok = r2 != NA16
            return np.where(ok, r2, np.uint16(0)), (rk.n_fin[rows] + 1) / 2, ok
        V = _union_block(data, rows)
        med = rk.med[rows][:, None]
        ok = np.isfinite(V) & ~np.isnan(med)
        v = (ok & (V > med)).view(np.int8) - (ok & (V < med)).view(np.int8)
        return v, np.zeros(v.shape[0]), ok

    def score(rows: np.ndarray) -> np.ndarray:
        v, w, ok = cells(rows)
        half = 0.5 if kind == "rank" else 1.0
        out: np.ndarray = np.where(ok, half * v - w[:, None], 0.0)
        return out

    def count(rows: np.ndarray) -> np.ndarray:
        out: np.ndarray = cells(rows)[2].astype(np.float64)
        return out

    out: list[tuple[np.ndarray, np.ndarray]] = []
    loop = [g for g in parts if g.n <= red.LOOP_GROUPS]
    acc = [(np.zeros((g.n, T)), np.zeros((g.n, T))) for g in loop]
    step = max(1, red.BLOCK_CELLS // max(T, 1))
    for a in range(0, P if loop else 0, step):
        sl = slice(a, min(P, a + step))
        v, w, ok = cells(sl)
        for g, (s, c) in zip(loop, acc, strict=True):
            cb = g.codes[sl]
            for k in ([0] if g.n == 1
                      else np.flatnonzero(np.bincount(cb, minlength=g.n))):
                r = slice(None) if g.n == 1 else np.flatnonzero(cb == k)
                okr = ok[r]
                c[k] += okr.sum(axis=0)
                vs = v[r].sum(axis=0, dtype=np.int64)
                s[k] += (0.5 * vs - w[r] @ okr.astype(np.float64) if kind == "rank"
                         else vs)
    every = np.arange(P)
    looped = iter(acc)
    for g in parts:
        if g.n <= red.LOOP_GROUPS:
            out.append(next(looped))
        else:  # many groups: sums over runs of the pairs sorted by group
            out.append((class_sum(every, score, g.codes, g.n, T),
                        class_sum(every, count, g.codes, g.n, T)))
    return out


def _exact_day_sums_compiled(shared: Shared, rk: PairRanks, kind: str, g: Groups
                             ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_exact_day_sums` of one partition by the compiled pass (integer sums,
    the columns split between the threads): the same numbers."""
    data = shared.data
    k = kernels.compiled()
    P, T = rk.r2.shape
    s1 = np.zeros((g.n, T), dtype=np.int64)
    s2 = np.zeros((g.n, T), dtype=np.int64)
    cnt = np.zeros((g.n, T), dtype=np.int64)
    codes = np.ascontiguousarray(g.codes, dtype=np.int64)

    def cols(c0: int) -> None:
        c1 = min(T, c0 + half)
        if kind == "rank":
            k.rank_sums(rk.r2, rk.n_fin, codes, c0, c1, s1, s2, cnt)
        else:
            k.sign_sums(data.resid, data.ar, rk.med, codes, c0, c1, s1, cnt)

    half = -(-T // red.PASS_THREADS)
    blocks_in_threads(T, half, cols)
    s = 0.5 * (s1 - s2) if kind == "rank" else s1.astype(np.float64)
    return s, cnt.astype(np.float64)


def rank_family(sample: Sample, kind: str) -> TestStat:
    """The day statistics D_tau / S of a score ``kind`` (``rank``, ``urank``,
    ``sign``; :func:`_day_stats`) combined over the window's days: Z = sum_tau
    Z_tau / sqrt(days with data); N(0, 1)."""
    data, window, groups = sample.data, sample.window, sample.groups
    D, S = _day_stats(sample.shared, groups, kind)
    Le = data.resid.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        daily = D[:, Le + window_cols(data, window)] / S[:, None]
    z = daily_combine(daily)
    n, _ = sample.wmean()
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, z_p(z), n, sample.mean_extra())


def _car_rank_estudy2(sample: Sample) -> TestStat:
    data, window, groups = sample.data, sample.window, sample.groups
    cols = window_cols(data, window)
    Le = data.resid.shape[1]
    P = data.n_pairs
    T = Le + len(cols)

    def block(rows: Any) -> tuple[np.ndarray, np.ndarray]:
        K = row_ranks(_union_block(data, rows, cols))[0]
        return K, np.isfinite(K)

    def compute(parts: list[Groups]) -> list[tuple[np.ndarray, np.ndarray]]:
        return gsums_multi(block, P, T, parts)

    def n_ok() -> np.ndarray:
        out: np.ndarray = ((~np.isnan(data.resid)).sum(axis=1)
                           + (~np.isnan(data.ar[:, cols])).sum(axis=1)
                           ).astype(np.float64)
        return out

    tag = f"carrank:{cols[0]}:{cols[-1]}"
    s, c = sample.shared.scoped(tag, groups, compute)
    M = sample.shared.get(tag, n_ok)
    has = c > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        kbar = s / c
        mean_rank = gmean_all((M + 1) / 2, groups)
        mean_m = gmean_all(M, groups)
        ev_mean = s[:, Le:].sum(axis=1) / c[:, Le:].sum(axis=1)
        days = has[:, Le:].sum(axis=1)
        den = np.sqrt(np.where(has, (kbar - mean_rank[:, None]) ** 2, 0.0).sum(axis=1)
                      / mean_m)
        z = np.sqrt(days) * (ev_mean - mean_rank) / den
    n, _ = sample.wmean()
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, z_p(z), n, sample.mean_extra())


def corrado(sample: Sample) -> TestStat:
    """Corrado (1989) rank test; Campbell-Wasley window-mean rank for CARs.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N.

    Notes
    -----
    K_it ranks AR_it within pair i over its M_i non-missing estimation and event days.
    K-bar_t = (1/N_t) sum_i (K_it - (M_i + 1)/2); S_K^2 = (1/T) sum_t K-bar_t^2 over
    the T days with data (estimation and event window). Day tau: Z = K-bar_tau / S_K.
    CAR window (Campbell & Wasley 1993; Cowan 1992): Z = sqrt(L2) mean_{tau in W}
    K-bar_tau / S_K = sum_tau Z_tau / sqrt(L2). N(0, 1). Corrado, C. (1989), JFE
    23(2):385-395.

    ``estudy2`` (``rank_test``): K-bar_t = (mean_i deviation x N_g) / N_t and T = mean
    M_i (B.1 (e)). CAR window (``car_rank_test``, B.1 (i)): ranks over the estimation
    and CAR days only; Z = sqrt(L2) (mean event K - mean_i (M_i+1)/2) / sqrt(sum_t
    (mean_i K_it - mean_i (M_i+1)/2)^2 / mean M_i).

    ``corrado_divisor = "T-1"`` (:class:`eventstudy.config.Conventions`): S_K^2 =
    (1/(T - 1)) sum_t K-bar_t^2 with the same T (under ``estudy2`` T - 1 = mean M_i
    - 1), so Z is multiplied by sqrt((T - 1)/T). EventStudyTools' R package
    (``RankTest``) takes S as R's ``sd()`` of the daily mean centred ranks: divisor
    T - 1, and the same S when the daily means sum to zero (every pair with every
    day).
    """
    data, window = sample.data, sample.window
    if window.car_index >= 0 and data.profile == "estudy2":
        res = _car_rank_estudy2(sample)
    else:
        res = rank_family(sample, "rank")
    if data.conventions.corrado_divisor == "T":
        return res
    T = _corrado_days(sample)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(T > 1, res.statistic * np.sqrt((T - 1) / T), np.nan)
    return TestStat(z, z_p(z), res.n, res.extra)


def _corrado_days(sample: Sample) -> np.ndarray:
    """Per group, the T of Corrado's S_K^2 = (1/T) sum_t K-bar_t^2: the days with
    data (textbook), the mean M_i (``estudy2``), or the mean number of estimation
    and CAR days with data (``estudy2``'s ``car_rank_test``)."""
    data, window, groups = sample.data, sample.window, sample.groups
    if data.profile == "estudy2":
        if window.car_index >= 0:
            cols = window_cols(data, window)
            M = ((~np.isnan(data.resid)).sum(axis=1)
                 + (~np.isnan(data.ar[:, cols])).sum(axis=1)).astype(np.float64)
        else:
            M = pair_ranks(sample.shared).n_ok.astype(np.float64)
        out: np.ndarray = gmean_all(M, groups)
        return out
    D, _ = _day_stats(sample.shared, groups, "rank")
    days: np.ndarray = np.isfinite(D).sum(axis=1).astype(np.float64)
    return days


def mrank(sample: Sample) -> TestStat:
    """Corrado & Zivney (1992) standardised (modified) rank test.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N.

    Notes
    -----
    U_it = K_it / (M_i + 1) with K as in :func:`corrado` (ranks of AR_it / sigma_i
    are the ranks of AR_it). D_t = (1/sqrt(N_t)) sum_i (U_it - 1/2); S_U^2 = (1/T)
    sum_t D_t^2; Z = D_tau / S_U. CAR window: sum_tau Z_tau / sqrt(L2). N(0, 1).
    Handles missing days and unequal M_i. Corrado & Zivney (1992), JFQA
    27(3):465-478; estudy2 ``modified_rank_test`` (with the B.1 (f) row quirk and T =
    mean M_i under ``estudy2``).
    """
    return rank_family(sample, "urank")


_FINE = 16
"""Width of the fine blocks (16 float32, 64 bytes) of the row search of
:func:`grank_counts`."""


@dataclass(frozen=True)
class GRankCore:
    """GSAR estimation values of every pair, made once per run.

    ``keys`` ``(P, _FINE + Lp)`` float32: AR_it / sigma_i sorted along the row and
    rounded to float32 (monotone, so a strict float32 comparison decides the
    float64 one), NaN last, as padding to a multiple of :data:`_FINE` columns and in
    the :data:`_FINE` leading columns; ``coarse`` ``(Lp / _FINE, P)`` the last key of
    each fine block; ``r2`` ``(P, Le)`` twice the average rank of each day's value
    (uint16, :data:`NA16` where missing): a value is below x exactly when its r2 is
    at most twice the number of values below x; ``n_fin`` the finite values per pair.
    """

    keys: np.ndarray
    coarse: np.ndarray
    r2: np.ndarray
    n_fin: np.ndarray

    def blocks(self) -> np.ndarray:
        """``(P, Lp / _FINE)`` items of ``_FINE + 1`` keys: the key before each fine
        block and the block (one gather per pair fetches both)."""
        P, W = self.keys.shape
        return np.ndarray((P, W // _FINE - 1), dtype=np.dtype((np.void, 4 * _FINE + 4)),
                          buffer=self.keys, offset=4 * (_FINE - 1),
                          strides=(4 * W, 4 * _FINE))


def _gsar(data: PairData, rows: Any) -> np.ndarray:
    """AR_it / sigma_i on the estimation days of ``rows`` (NaN where not finite)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        e = data.resid[rows] / np.sqrt(data.sigma2[rows])[:, None]
    out: np.ndarray = np.where(np.isfinite(e), e, np.nan)
    return out


def grank_core(shared: Shared) -> GRankCore:
    """The GSAR estimation values of every pair (:class:`GRankCore`), made once per
    run in ``shared``."""
    data = shared.data

    def make() -> GRankCore:
        P, Le = data.resid.shape
        Lp = -(-Le // _FINE) * _FINE
        keys = np.full((P, Lp + _FINE), np.nan, dtype=np.float32)
        r2 = np.empty((P, Le), dtype=np.uint16)
        n_fin = np.empty(P, dtype=np.int64)
        step = max(1, red.BLOCK_CELLS // max(Le, 1))
        for a in range(0, P, step):
            sl = slice(a, min(P, a + step))
            e = _gsar(data, sl)
            _, flat = _row_argsort(e)
            S = e.ravel()[flat]
            keys[sl, _FINE:_FINE + Le] = S
            nan = np.isnan(S)
            r2[sl].ravel()[flat] = _twice_ranks(S, nan)
            n_fin[sl] = Le - nan.sum(axis=1)
        coarse = keys[:, 2 * _FINE - 1::_FINE].T.copy()
        return GRankCore(keys, coarse, r2, n_fin)

    out: GRankCore = shared.get("grank_est", make)
    return out


def _grank_ranks0(core: GRankCore, rows: Any, count: bool = False) -> np.ndarray:
    """Average ranks of the estimation GSARs of ``rows`` in day order, 0 where
    missing (``count``: 1 where present, else 0)."""
    r2 = core.r2[rows]
    out: np.ndarray = (np.where(r2 == NA16, 0.0, 1.0) if count
                       else np.where(r2 == NA16, 0.0, 0.5 * r2))
    return out


@dataclass(frozen=True)
class _GRankScope:
    """Per-partition GRANK sums over every pair with data (made once per scope).

    Pairs are split in classes (group, number of estimation values): ``cls`` per
    pair, ``cls_code`` and ``cls_den`` (T_i + 1 = L_i + 2) per class; ``rsum`` and
    ``cnt`` ``(K, Le)`` the sum of the estimation ranks and the number of values per
    class and day (exact: sums of half-integers); ``order``/``bounds`` the pairs
    sorted by class and ``r2`` the core's twice-ranks in that order (None for one
    class or many).
    """

    cls: np.ndarray
    cls_code: np.ndarray
    cls_den: np.ndarray
    rsum: np.ndarray
    cnt: np.ndarray
    order: np.ndarray | None
    bounds: np.ndarray
    r2: np.ndarray | None


def _grank_scope(shared: Shared, groups: Groups) -> _GRankScope:
    core = grank_core(shared)
    P, Le = core.r2.shape

    def ranks(r: np.ndarray) -> np.ndarray:
        return _grank_ranks0(core, r)

    def count(r: np.ndarray) -> np.ndarray:
        return _grank_ranks0(core, r, count=True)

    def compute(parts: list[Groups]) -> list[_GRankScope]:
        out = []
        nvals, nidx = np.unique(core.n_fin, return_inverse=True)
        for g in parts:
            key, cls = np.unique(g.codes * len(nvals) + nidx, return_inverse=True)
            cls = cls.reshape(-1)
            K = len(key)
            have = np.flatnonzero(core.n_fin > 0)
            rsum = class_sum(have, ranks, cls, K, Le)
            cnt = class_sum(have, count, cls, K, Le)
            if K == 1:
                order, bounds, pos = None, np.array([0, P]), None
            else:
                order = np.argsort(cls, kind="stable")
                bounds = np.searchsorted(cls[order], np.arange(K + 1))
                pos = core.r2[order] if K <= red.LOOP_GROUPS else None
            out.append(_GRankScope(cls, key // len(nvals),
                                   nvals[key % len(nvals)] + 2.0, rsum, cnt, order,
                                   bounds, pos))
        return out

    res: _GRankScope = shared.scoped("grank", groups, compute)
    return res


_BYTES = np.uint64(0x0101010101010101)


def grank_counts(data: PairData, core: GRankCore, x: np.ndarray,
                  valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair, the number of its estimation GSARs below and at most ``x`` (0 where
    not valid).

    The float32 keys are searched (the fine block from the coarse keys, then one
    64-byte gather per pair); where a key equals float32(x) the float32 comparison
    does not decide, and those pairs are counted exactly on their GSARs.
    """
    P = core.r2.shape[0]
    nb = core.coarse.shape[0]
    xv = np.where(valid, x, -np.inf)
    xk = xv.astype(np.float32)
    # whole blocks at most x (the last one is counted inside its block)
    j = np.add.reduce(np.less_equal(core.coarse, xk[None, :]).view(np.uint8), axis=0,
                      dtype=np.uint16 if nb > 255 else np.uint8).astype(np.intp)
    np.minimum(j, nb - 1, out=j)
    item = core.blocks()[np.arange(P), j].view(np.float32).reshape(P, _FINE + 1)
    h = np.less_equal(item[:, 1:], xk[:, None]).view(np.uint64).reshape(P, _FINE // 8)
    h = (h * _BYTES) >> np.uint64(56)  # the byte sums: keys of the block at most x
    within = h[:, 0].astype(np.intp)
    for c in range(1, _FINE // 8):
        within += h[:, c].astype(np.intp)
    hi = j * _FINE + within
    lo = hi.copy()
    # the last key at most x (or the one before the block) equal to float32(x):
    # the float32 comparison does not decide, count on the float64 values
    last = np.take_along_axis(item, within[:, None], axis=1)[:, 0]
    amb = np.flatnonzero(valid & (last == xk))
    step = max(1, red.BLOCK_CELLS // max(core.r2.shape[1], 1))
    for a in range(0, len(amb), step):
        r = amb[a:a + step]
        e = _gsar(data, r)
        lo[r] = (e < xv[r, None]).sum(axis=1)
        hi[r] = (e <= xv[r, None]).sum(axis=1)
    lo[~valid] = 0
    hi[~valid] = 0
    return lo, hi


def _count_below(r2: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Per column, the number of rows whose value is below the row's k-th smallest
    (twice-rank ``r2`` at most 2 k)."""
    T = r2.shape[1]
    out = np.zeros(T, dtype=np.int64)
    kk = (2 * k).astype(r2.dtype)
    step = max(1, min(4080, red.BLOCK_CELLS // max(T, 1)))  # uint16 partial sums
    for a in range(0, r2.shape[0], step):
        m = np.less_equal(r2[a:a + step], kk[a:a + step, None]).view(np.uint8)
        out += np.add.reduce(m, axis=0, dtype=np.uint16)
    return out


def _grank_below(core: GRankCore, sc: _GRankScope, k: np.ndarray,
                 rows: np.ndarray) -> np.ndarray:
    """``(K, Le)``: per class and day, the pairs whose day value sits below their k
    (k is 0 outside ``rows``, the pairs in use)."""
    K = len(sc.cls_den)
    Le = core.r2.shape[1]
    if K == 1:
        return _count_below(core.r2, k)[None, :].astype(np.float64)
    if sc.r2 is None:  # many classes: sums over the pairs in use (exact counts)
        return class_sum(rows,
                          lambda r: (core.r2[r] <= 2 * k[r, None]).astype(np.float64),
                          sc.cls, K, Le)
    assert sc.order is not None
    ks = k[sc.order]
    b = sc.bounds
    return np.stack([_count_below(sc.r2[b[c]:b[c + 1]], ks[b[c]:b[c + 1]])
                     for c in range(K)]).astype(np.float64)


def grank(sample: Sample) -> TestStat:
    """Kolari & Pynnonen (2011) generalized rank test (t version).

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        t_GRANK, two-sided p from t(T - 2), N.

    Notes
    -----
    SCAR*_i = SCAR_i / s(SCAR) (cross-sectional SD within the group; SAR for a day).
    GSAR_it = AR_it / sigma_i on the estimation days and GSAR_i0 = SCAR*_i for the
    window, counted as one day. U_it = rank(GSAR_it) / (T_i + 1) - 1/2 over the T_i =
    L_i + 1 values. U-bar_t = (1/N_t) sum_i U_it; S^2 = (1/T) sum_t (N_t/N) U-bar_t^2,
    T = days with data (estimation days + 1). Z = U-bar_0 / S; t = Z sqrt((T - 2) /
    (T - 1 - Z^2)); t(T - 2). Robust to event-induced volatility and serial
    correlation. Kolari, J. & Pynnonen, S. (2011), J. Empirical Finance
    18(5):953-971.
    """
    data, groups = sample.data, sample.groups
    x0, valid = sample.x(std=True)
    _, _, var = sample.moments(std=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = x0 / np.sqrt(var)[groups.codes]
    valid = valid & np.isfinite(x)
    n = gcount(groups, valid)
    core = grank_core(sample.shared)
    sc = _grank_scope(sample.shared, groups)
    lo, hi = grank_counts(data, core, x, valid)
    L = np.where(valid, core.n_fin, 0).astype(np.float64)
    Ti = L + 1
    r0 = 1.0 + (lo + 0.5 * (hi - lo))
    u0 = r0 / (Ti + 1) - 0.5
    # sum_i U_it = sum over classes of (sum of ranks + sum of "above" terms) / (T+1)
    # minus half the count; the class sums are exact (sums of half-integers). Only
    # groups of two or more pairs have a statistic: the others are left out.
    use = valid & (n > 1)[groups.codes]
    lo = np.where(use, lo, 0)
    hi = np.where(use, hi, 0)
    rows = np.flatnonzero(use)
    bad = np.flatnonzero(~use & (core.n_fin > 0))
    K, Le = sc.rsum.shape

    def ranks(r: np.ndarray) -> np.ndarray:
        return _grank_ranks0(core, r)

    def count(r: np.ndarray) -> np.ndarray:
        return _grank_ranks0(core, r, count=True)

    if bad.size <= rows.size:  # the memoised sums less the pairs not in use
        rsum, cnt = sc.rsum, sc.cnt
        if bad.size:
            rsum = rsum - class_sum(bad, ranks, sc.cls, K, Le)
            cnt = cnt - class_sum(bad, count, sc.cls, K, Le)
    else:
        rsum = class_sum(rows, ranks, sc.cls, K, Le)
        cnt = class_sum(rows, count, sc.cls, K, Le)
    below = _grank_below(core, sc, lo, rows)
    tie = np.flatnonzero(hi != lo)
    below_hi = below
    if tie.size:
        def mid(r: np.ndarray) -> np.ndarray:
            out: np.ndarray = ((core.r2[r] > 2 * lo[r, None])
                               & (core.r2[r] <= 2 * hi[r, None])).astype(np.float64)
            return out

        below_hi = below + class_sum(tie, mid, sc.cls, K, Le)
    above = cnt - 0.5 * (below + below_hi)
    G = groups.n
    act = np.flatnonzero(n[sc.cls_code] > 1)  # classes of groups with a statistic
    s_e = by_code((rsum[act] + above[act]) / sc.cls_den[act, None],
                   sc.cls_code[act], G)
    c_e = by_code(cnt[act], sc.cls_code[act], G)
    s_e -= 0.5 * c_e
    has = c_e > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        ubar_e = np.where(has, s_e / np.where(has, c_e, 1.0), 0.0)
        ubar0 = gsum(u0, groups, valid) / n
        T = has.sum(axis=1) + 1.0
        S2 = ((c_e / n[:, None] * ubar_e**2).sum(axis=1) + ubar0**2) / T
        Z = ubar0 / np.sqrt(S2)
        t = Z * np.sqrt((T - 2) / (T - 1 - Z**2))
    t = np.where((n > 1) & np.isfinite(t), t, np.nan)
    return TestStat(t, t_p(t, T - 2), n, sample.mean_extra())


def _group_rank(v: np.ndarray, codes: np.ndarray, G: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based, ties averaged) of ``v`` within each group.

    Returns the ranks and, per group, the tie term sum(t^3 - t) over tie blocks.
    """
    m = v.shape[0]
    if m == 0:
        return np.zeros(0), np.zeros(G)
    # sorted by group, then value (equal values adjacent: the ranks, exact
    # half-integers, do not depend on the order of ties)
    order = np.argsort(v)
    if G > 1:
        order = order[np.argsort(codes[order], kind="stable")]
    cs, vs = codes[order], v[order]
    pos = np.arange(m)
    new_group = np.ones(m, dtype=bool)
    new_group[1:] = cs[1:] != cs[:-1]
    new_block = new_group.copy()
    new_block[1:] |= vs[1:] != vs[:-1]
    gstart = np.maximum.accumulate(np.where(new_group, pos, 0))
    rank1 = (pos - gstart + 1).astype(np.float64)
    block = np.cumsum(new_block) - 1
    bsum = np.bincount(block, weights=rank1)
    bcnt = np.bincount(block).astype(np.float64)
    ranks = np.empty(m)
    ranks[order] = (bsum / bcnt)[block]
    tie = np.bincount(cs[new_block], weights=bcnt**3 - bcnt, minlength=G)
    return ranks, tie


WILCOXON_EXACT_MAX_N = 50
"""Up to this many non-zero values without ties, the Wilcoxon p-value is exact."""


def signrank_counts(n_max: int) -> np.ndarray:
    """``(n_max + 1, n_max (n_max + 1)/2 + 1)`` counts: row n, column w is the
    number of the 2^n sign patterns of the ranks 1..n whose positive ranks add up
    to w (the null distribution of W+ times 2^n).

    Notes
    -----
    c_0 = [1]; c_n(w) = c_{n-1}(w) + c_{n-1}(w - n) (rank n positive or not).
    Exact in float64 up to n = 52 (counts below 2^53).

    Examples
    --------
    >>> signrank_counts(3)[3, :7].tolist()
    [1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0]
    """
    top = n_max * (n_max + 1) // 2
    c = np.zeros((n_max + 1, top + 1))
    c[0, 0] = 1.0
    for n in range(1, n_max + 1):
        c[n] = c[n - 1]
        c[n, n:] += c[n - 1, :top + 1 - n]
    return c


def signrank_exact_p(w_plus: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Exact two-sided p-values of W+ with n non-zero, untied values.

    p = min(1, 2 min(P(W+ <= w), P(W+ >= w))) under the null distribution of
    :func:`signrank_counts` (as ``scipy.stats.wilcoxon(method="exact")``); NaN
    where n is 0 or above :data:`WILCOXON_EXACT_MAX_N` or w is not a whole number.

    Examples
    --------
    >>> float(signrank_exact_p(np.array([0.0]), np.array([5.0]))[0])
    0.0625
    """
    out = np.full(np.shape(w_plus), np.nan)
    ok = ((n > 0) & (n <= WILCOXON_EXACT_MAX_N) & np.isfinite(w_plus)
          & (w_plus == np.round(w_plus)))
    if not ok.any():
        return out
    nn = n[ok].astype(np.int64)
    ww = w_plus[ok].astype(np.int64)
    cum = np.cumsum(signrank_counts(int(nn.max())), axis=1)
    total = 2.0 ** nn
    lower = cum[nn, ww] / total
    upper = (total - np.where(ww > 0, cum[nn, np.maximum(ww - 1, 0)], 0.0)) / total
    out[ok] = np.minimum(1.0, 2.0 * np.minimum(lower, upper))
    return out


def wilcoxon(sample: Sample) -> TestStat:
    """Wilcoxon (1945) signed-rank test: exact p for n <= 50 without ties, else the
    normal approximation with tie correction.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        z, two-sided p (exact, or from N(0, 1)), n (non-zero values); extra
        ``w_plus`` (W+).

    Notes
    -----
    Zeros are dropped (n non-zero values). W+ = sum of the ranks of |x_i| (ties
    averaged) over x_i > 0; E = n(n+1)/4; Var = n(n+1)(2n+1)/24 - sum(t^3 - t)/48 over
    tie blocks; z = (W+ - E)/sqrt(Var), no continuity correction. Assumes symmetry
    about 0 and independence. Wilcoxon, F. (1945), Biometrics Bulletin 1(6):80-83.

    p-value: with n <= 50 (:data:`WILCOXON_EXACT_MAX_N`) and no ties among the
    |x_i| the exact null distribution of W+ (each of the 2^n sign patterns of the
    ranks equally likely; :func:`signrank_counts`) gives p = min(1, 2 min(P(W+ <=
    w), P(W+ >= w))), as ``scipy.stats.wilcoxon(x[x != 0], method="exact")``
    (Wilcoxon 1945); with ties (the exact distribution of
    the tied midranks is another one) or n > 50, p from N(0, 1) on z. The
    ``statistic`` column is z in both cases. estudy2 ``wilcoxon_test`` reports W+
    (scaled by N_g/n under ``estudy2``) with exact ``qsignrank`` critical values.
    """
    data, groups = sample.data, sample.groups
    x, valid = sample.x()
    nz = valid & (x != 0)
    idx = np.flatnonzero(nz)
    ranks, tie = _group_rank(np.abs(x[idx]), groups.codes[idx], groups.n)
    posv = x[idx] > 0
    wplus = np.bincount(groups.codes[idx][posv], weights=ranks[posv],
                        minlength=groups.n)
    n = gcount(groups, nz)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = n * (n + 1) / 4
        v = n * (n + 1) * (2 * n + 1) / 24 - tie / 48
        z = np.where((n > 0) & (v > 0), (wplus - e) / np.sqrt(v), np.nan)
        wp = wplus * row_factor(data, groups, n)
    extra = sample.mean_extra()
    extra["w_plus"] = np.where(n > 0, wp, np.nan)
    p = z_p(z)
    exact = (n > 0) & (n <= WILCOXON_EXACT_MAX_N) & (tie == 0)
    if exact.any():
        p = np.where(exact, signrank_exact_p(np.where(exact, wplus, np.nan), n), p)
    return TestStat(z, p, n, extra)


