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
    """The kernels of :mod:`eventstudy.inference.numba_passes` (imported now: numba
    compiles them on first use, or loads them from its cache); once per process."""
    from eventstudy.inference import numba_passes as nb  # lazy: imports numba

    return SimpleNamespace(
        pack_rows=nb.pack_rows, unpack_rows=nb.unpack_rows, rank_sums=nb.rank_sums,
        sign_sums=nb.sign_sums, col_sums=nb.col_sums, pos_counts=nb.pos_counts,
        kp_rows=nb.kp_rows, kp_runs=nb.kp_runs, pairwise_rows=nb.pairwise_rows,
        pairwise_1d=nb.pairwise_1d, resid_stats=nb.resid_stats,
        group_sums=nb.group_sums, dev_sums=nb.dev_sums,
        window_values=nb.window_values)


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
    k.resid_stats(x, 0, 1, one.copy(), z.copy())
    ok = np.ones(1, dtype=np.bool_)
    k.group_sums(z, ok, one, 1)
    k.dev_sums(z, ok, one, z, 1, 2)
    col = np.ones((2, 2))[:, 0]  # a column of the event-window arrays
    k.window_values(z, col[:1], ok, z.copy(), ok.copy())
    k.window_values(z, col, np.ones(2, dtype=np.bool_), np.zeros(2),
                    np.ones(2, dtype=np.bool_))


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
