"""Deterministic CSV writing (the io layer).

:func:`write_csv` writes a DataFrame with exactly the bytes of
``DataFrame.to_csv(index=False, float_format="%.10g", lineterminator="\\n")`` (dates
as ``YYYY-MM-DD``) through a vectorised writer; :class:`LongTable` holds a long table
as per-pair columns plus a row index, so that each distinct cell is rendered once.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

FLOAT_FORMAT = "%.10g"
"""The float format of every CSV output (C's ``%.10g``)."""

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
"""A rendered column: ``(n, w)`` uint8 bytes (left-aligned) and ``(n,)`` lengths; or
flat: the ``(bytes,)`` of every cell end to end and their ``(n + 1,)`` offsets (text
and integers, as pyarrow lays them out)."""


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
    import pyarrow as pa  # lazy: pyarrow is heavy, only CSV writing needs it

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
    import pyarrow as pa  # lazy: pyarrow is heavy, only CSV writing needs it

    return _render_arrow(pa.array(np.asarray(x).astype(np.int64)).cast(pa.string()))


def _render_arrow(arr: Any) -> Cells:
    """A pyarrow string array (no nulls) as flat cells (its bytes and offsets)."""
    import pyarrow as pa  # lazy: pyarrow is heavy, only CSV writing needs it

    arr = arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:
                                                             arr.offset + n + 1]
    data = arr.buffers()[2]
    buf = (np.frombuffer(data, dtype=np.uint8) if data is not None
           else np.zeros(0, dtype=np.uint8))
    return buf, offsets


def _matrix(M: np.ndarray, L: np.ndarray, index: np.ndarray | None = None
            ) -> Cells:
    """The cells of a block (through ``index``) as a byte matrix and lengths
    (flat cells are gathered into one)."""
    if M.ndim == 2:
        return (M, L) if index is None else (M[index], L[index])
    starts = L[:-1] if index is None else L[index]
    lens = np.diff(L) if index is None else L[index + 1] - L[index]
    n = len(starts)
    w = int(lens.max()) if n else 0
    out = np.zeros((n, max(w, 1)), dtype=np.uint8)
    if w and len(M):
        col = np.arange(w)[None, :]
        inside = col < lens[:, None]
        src = np.where(inside, starts[:, None] + col, 0)
        out[:, :w] = np.where(inside, M[src], 0)
    return out, lens.astype(np.int64)


def _render_strings(values: Any) -> Cells | None:
    """CSV cells of a string column (None/NaN as empty, minimal quoting).

    Returns None when a value is not a string or holds a carriage return (left to
    pandas, whose quoting of ``\\r`` depends on the Python version).
    """
    import pyarrow as pa  # lazy: pyarrow is heavy, only CSV writing needs it
    import pyarrow.compute as pc  # lazy: as pyarrow

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


Block = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""Rendered cells of a block of rows: ``(M, L)`` plus the row index into them
(None: row i is cell i)."""


@dataclass(frozen=True)
class _Source:
    """One column to write: values rendered block by block (``kind`` ``"f"`` floats,
    ``"i"`` integers, ``"M"`` datetime64) or pre-rendered cells (``"c"``) taken
    through an optional row index.

    Calling it renders rows lo:hi by numpy (the reference path); the compiled
    writer (:func:`_plan`) reads the same fields.
    """

    kind: str
    values: Any = None
    cells: Cells | None = None
    index: np.ndarray | None = None

    def __call__(self, lo: int, hi: int) -> Block:
        """The cells of rows lo:hi (numpy)."""
        if self.cells is not None:
            M, L = self.cells
            if self.index is not None:
                return M, L, self.index[lo:hi]
            if M.ndim == 2:
                return M[lo:hi], L[lo:hi], None
            return M, L[lo:hi + 1], None  # flat: offsets of rows lo..hi
        render = {"f": _render_floats, "i": _render_ints, "M": _render_dates}[
            self.kind]
        M, L = render(self.values[lo:hi])
        return M, L, None


Renderer = _Source


def _lazy(render: Callable[[np.ndarray], Cells], values: np.ndarray) -> Renderer:
    """Render rows lo:hi of ``values`` when their block is written."""
    kind = {_render_floats: "f", _render_ints: "i", _render_dates: "M"}[render]
    return _Source(kind, values=values)


def _indexed(cells: Cells, index: np.ndarray | None = None) -> Renderer:
    """Rows lo:hi of pre-rendered cells, through an optional row index."""
    return _Source("c", cells=cells, index=index)


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
    buf = StringIO()
    csv.writer(buf, lineterminator="\n").writerow(names)
    return buf.getvalue().encode("utf-8")


def _csv_block(columns: list[tuple[str, Renderer]], lo: int, hi: int,
               compiled: bool = False, plan: _Plan | None = None
               ) -> bytes | memoryview:
    """The CSV bytes of rows lo:hi (every field, commas and newlines), assembled
    by numpy or (``compiled``) by the fused compiled row writer (``plan``: the
    table's :func:`_plan`, made here when not given)."""
    if compiled:
        return _fused_block(plan or _plan([src for _, src in columns]), lo, hi)
    cells = [render(lo, hi) for _, render in columns]
    mats = [_matrix(M, L, index) for M, L, index in cells]
    total = sum(M.shape[1] for M, _ in mats) + len(mats)
    big = np.zeros((hi - lo, total), dtype=np.uint8)
    keep = np.zeros((hi - lo, total), dtype=bool)
    pos = 0
    for j, (M, L) in enumerate(mats):
        w = M.shape[1]
        big[:, pos:pos + w] = M
        keep[:, pos:pos + w] = np.arange(w)[None, :] < L[:, None]
        pos += w
        big[:, pos] = 44 if j < len(mats) - 1 else 10
        keep[:, pos] = True
        pos += 1
    return big[keep].tobytes()


# --------------------------------------------------------------------------- compiled
# The same bytes through one fused numba kernel (nogil, cached once per
# installation) that writes each row's fields straight into the block's buffer:
# floats by the digit logic of the numpy path (one correctly rounded scaling; a
# value it cannot decide -- near-ties, magnitudes outside 1e-13..1e32 -- is left
# out and recorded, then formatted by Python and spliced in at its position),
# integers, dates (YYYY-MM-DD; years outside 1000-9999 spliced in as the numpy
# path renders them) and pre-rendered text cells through their row index. Used for
# tables of at least COMPILED_ROWS rows, where it pays for importing numba (~0.4 s
# once per process).

COMPILED_ROWS = 100_000
"""Tables with at least this many rows are written through the compiled kernels
(when numba is installed); smaller ones through numpy. Both give the same bytes."""

_BLOCK_BYTES = 1 << 24
"""Upper bound of one compiled block's buffer (rows per block shrink for wide rows)."""

_KIND_CODE = {"f": 0, "i": 1, "M": 2, "c": 3}
_CELL_MAX = {"f": _FLOAT_W, "i": 20, "M": 10}
"""The longest cell the kernel writes per kind (floats: "-1.234567891e+31")."""


def _compiled_for(nrows: int) -> bool:
    """Whether a table of ``nrows`` rows goes through the compiled kernels."""
    return nrows >= COMPILED_ROWS and _kernels() is not None


@lru_cache(maxsize=1)
def _kernels() -> Callable[..., tuple[int, int]] | None:
    """The fused row writer, compiled (or loaded from numba's cache); None without
    numba. One function with no free variables, so that numba's cache holds it."""
    try:
        import numba  # lazy: optional here, slow to import, only for large tables
    except ImportError:  # pragma: no cover (numba is a dependency)
        return None

    @numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
    def fused(m: int, kind: Any, slot: Any, fv: Any, iv: Any, dv: Any, tdata: Any,
              toffs: Any, tbase: Any, tidx: Any, p10: Any, pairs: Any, buf: Any,
              exc: Any) -> tuple[int, int]:  # pragma: no cover (compiled)
        """Write m rows into buf; (bytes written, cells left to Python: their
        (row, column, byte position) in exc). Column c is kind[c] (0 float, 1
        integer, 2 day number, 3 text cell) at slot[c] of fv, iv, dv or tidx."""

        def put(D: Any, n: int, out: Any, end: int, pairs: Any) -> None:
            # exactly n digits of D >= 0 (leading zeros kept), ending before end;
            # unsigned: numba's signed floor division is several times slower
            d = np.uint64(D)
            p = end
            while n >= 2:
                q = d // np.uint64(100)
                r = d - q * np.uint64(100)
                out[p - 1] = pairs[np.uint64(2) * r + np.uint64(1)]
                out[p - 2] = pairs[np.uint64(2) * r]
                d = q
                p -= 2
                n -= 2
            if n == 1:
                out[p - 1] = np.uint64(48) + d % np.uint64(10)

        ncol = kind.shape[0]
        k = 0
        ne = 0
        for r in range(m):
            for c in range(ncol):
                t = kind[c]
                s = slot[c]
                start = k
                ok = True
                if t == 0:  # "%.10g" (NaN: empty)
                    v = fv[s, r]
                    if v == v:
                        buf[k] = 45  # kept when negative (or -0.0)
                        k += 1 if np.signbit(v) else 0
                        a = abs(v)
                        if a == 0:
                            buf[k] = 48
                            k += 1
                        elif a == np.inf:
                            buf[k], buf[k + 1], buf[k + 2] = 105, 110, 102
                            k += 3
                        else:
                            # decimal exponent from the binary one (may be one
                            # off; fixed below), then 10 digits from one correctly
                            # rounded scaling; too close to a tie: left to Python
                            e = int(np.floor((math.frexp(a)[1] - 1)
                                             * 0.30102999566398120))
                            sc = 0.0
                            if e < -14 or e > 32:
                                ok = False
                            else:
                                for _ in range(3):
                                    q = 9 - e
                                    if q > 22 or q < -22:
                                        break
                                    sc = a * p10[q] if q >= 0 else a / p10[-q]
                                    if sc < 1e9:
                                        e -= 1
                                    elif sc >= 1e10:
                                        e += 1
                                    else:
                                        break
                                frac = sc - float(np.int64(sc))
                                ok = (abs(frac - 0.5) > 1e-5 and 1e9 <= sc < 1e10
                                      and -13 <= e <= 31)
                            if ok:
                                D = np.int64(np.rint(sc))
                                if D >= 10_000_000_000:
                                    D = np.int64(1_000_000_000)
                                    e += 1
                                sig = 10  # significant digits: no trailing zeros
                                while D % 10 == 0:
                                    D //= 10
                                    sig -= 1
                                if -4 <= e < 10 and e < 0:  # 0.000ddd
                                    buf[k], buf[k + 1] = 48, 46
                                    k += 2
                                    for _ in range(-e - 1):
                                        buf[k] = 48
                                        k += 1
                                    put(D, sig, buf, k + sig, pairs)
                                    k += sig
                                elif -4 <= e < 10 and sig <= e + 1:  # ddd000
                                    put(D, sig, buf, k + sig, pairs)
                                    k += sig
                                    for _ in range(e + 1 - sig):
                                        buf[k] = 48
                                        k += 1
                                elif -4 <= e < 10:  # ddd.ddd
                                    nf = sig - e - 1
                                    pw = np.int64(p10[nf])
                                    ip = D // pw
                                    put(ip, e + 1, buf, k + e + 1, pairs)
                                    k += e + 1
                                    buf[k] = 46
                                    put(D - ip * pw, nf, buf, k + 1 + nf, pairs)
                                    k += 1 + nf
                                else:  # d.ddde+XX
                                    pw = np.int64(p10[sig - 1])
                                    d0 = D // pw
                                    buf[k] = 48 + d0
                                    k += 1
                                    if sig > 1:
                                        buf[k] = 46
                                        put(D - d0 * pw, sig - 1, buf, k + sig, pairs)
                                        k += sig
                                    buf[k] = 101
                                    buf[k + 1] = 45 if e < 0 else 43
                                    k += 2
                                    ae = abs(e)
                                    nd = 3 if ae >= 100 else 2
                                    put(ae, nd, buf, k + nd, pairs)
                                    k += nd
                elif t == 1:  # str(int64)
                    v = iv[s, r]
                    if v < 0:
                        buf[k] = 45
                        k += 1
                    if v == -9223372036854775807 - 1:  # -v overflows
                        put(922337203685477580, 18, buf, k + 18, pairs)
                        buf[k + 18] = 56
                        k += 19
                    else:
                        u = abs(v)
                        n = 1
                        tt = u
                        while tt >= 10:
                            tt //= 10
                            n += 1
                        put(u, n, buf, k + n, pairs)
                        k += n
                elif t == 2:  # YYYY-MM-DD (NaT: empty), as _render_dates
                    z0 = dv[s, r]
                    if z0 != -9223372036854775807 - 1:
                        z = z0 + 719468
                        era = z // 146097
                        doe = z - era * 146097
                        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
                        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
                        mp = (5 * doy + 2) // 153
                        d = doy - (153 * mp + 2) // 5 + 1
                        mo = mp + 3 if mp < 10 else mp - 9
                        y = yoe + era * 400 + (1 if mo <= 2 else 0)
                        if y < 1000 or y > 9999:
                            ok = False
                        else:
                            put(y, 4, buf, k + 4, pairs)
                            buf[k + 4] = 45
                            put(mo, 2, buf, k + 7, pairs)
                            buf[k + 7] = 45
                            put(d, 2, buf, k + 10, pairs)
                            k += 10
                else:  # a pre-rendered cell through the row index
                    cell = tbase[s] + tidx[s, r]
                    for j in range(toffs[cell], toffs[cell + 1]):
                        buf[k] = tdata[j]
                        k += 1
                if not ok:
                    exc[ne, 0] = r
                    exc[ne, 1] = c
                    exc[ne, 2] = start
                    ne += 1
                    k = start
                buf[k] = 44 if c < ncol - 1 else 10
                k += 1
        return k, ne

    return fused


_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode("ascii"),
                       dtype=np.uint8).copy()
"""The two digits of 0..99, end to end (the kernel writes digits in pairs)."""


def _render_floats_compiled(x: np.ndarray) -> Cells:
    """:func:`_render_floats` through the fused kernel (same bytes)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    plan = _plan([_Source("f", values=x)])
    data = np.frombuffer(_fused_block(plan, 0, len(x)), dtype=np.uint8)
    ends = np.flatnonzero(data == 10)  # one newline after each cell
    offs = np.zeros(len(x) + 1, dtype=np.int64)
    offs[1:] = ends - np.arange(len(x))
    return _matrix(data[data != 10], offs)


def _fallback_cell(kind: str, value: Any) -> bytes:
    """The bytes of a cell the kernels leave to Python, as the numpy path renders
    it: a float by ``"%.10g"``, a date of a year outside 1000-9999 by numpy's
    formatter (cut or padded to 10 characters)."""
    if kind == "f":
        return (FLOAT_FORMAT % float(value)).encode("ascii")
    return str(np.datetime64(value).astype("datetime64[D]")).encode(
        "ascii")[:10].ljust(10)


def _flat(cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """Cells as flat bytes and ``(n + 1,)`` offsets (a byte matrix compacted)."""
    M, L = cells
    if M.ndim == 1:
        return M, L.astype(np.int64, copy=False)
    keep = np.arange(M.shape[1])[None, :] < L[:, None]
    offs = np.zeros(len(L) + 1, dtype=np.int64)
    np.cumsum(L, out=offs[1:])
    return M[keep], offs


@dataclass(frozen=True)
class _Plan:
    """A table laid out for the fused kernel: columns by kind (``kind``/``slot``:
    code and position in its kind's list), the text cells of every ``"c"`` column
    end to end (``tdata``; ``toffs`` offsets into it, ``tbase`` where each column's
    offsets start) and the longest row the kernel may write (``width``)."""

    sources: list[_Source]
    kind: np.ndarray
    slot: np.ndarray
    tdata: np.ndarray
    toffs: np.ndarray
    tbase: np.ndarray
    width: int

    def of(self, kind: str) -> list[_Source]:
        """The columns of one kind, in slot order."""
        return [s for s in self.sources if s.kind == kind]


def _plan(sources: list[_Source]) -> _Plan:
    """Lay out a table's columns for :func:`_fused_block` (once per table)."""
    datas: list[np.ndarray] = []
    offsets: list[np.ndarray] = []
    bases: list[int] = []
    slots: list[int] = []
    count = dict.fromkeys(_KIND_CODE, 0)
    width = len(sources)
    base = nbytes = 0
    for src in sources:
        slots.append(count[src.kind])
        count[src.kind] += 1
        if src.cells is None:
            width += _CELL_MAX[src.kind]
            continue
        data, offs = _flat(src.cells)
        datas.append(data)
        offsets.append(offs + (nbytes - offs[0]))
        bases.append(base)
        base += len(offs)
        nbytes += len(data)
        width += int(np.diff(offs).max()) if len(offs) > 1 else 0
    return _Plan(
        sources=sources,
        kind=np.array([_KIND_CODE[s.kind] for s in sources], dtype=np.int64),
        slot=np.array(slots, dtype=np.int64),
        tdata=np.concatenate(datas) if datas else np.zeros(0, dtype=np.uint8),
        toffs=np.concatenate(offsets) if offsets else np.zeros(1, dtype=np.int64),
        tbase=np.array(bases, dtype=np.int64), width=width)


def _plan_rows(plan: _Plan) -> int:
    """Rows per compiled block: 64k, fewer when a row may be very wide."""
    return max(1, min(_CSV_BLOCK, _BLOCK_BYTES // plan.width))


def _fused_block(plan: _Plan, lo: int, hi: int) -> bytes | memoryview:
    """The CSV bytes of rows lo:hi through the fused kernel."""
    kernel = _kernels()
    assert kernel is not None
    m = hi - lo
    floats, ints, dates, texts = (plan.of(k) for k in "fiMc")
    fv = np.empty((len(floats), m), dtype=np.float64)
    for j, s in enumerate(floats):
        fv[j] = s.values[lo:hi]
    iv = np.empty((len(ints), m), dtype=np.int64)
    for j, s in enumerate(ints):
        iv[j] = s.values[lo:hi].astype(np.int64)  # as _render_ints
    dv = np.empty((len(dates), m), dtype=np.int64)
    for j, s in enumerate(dates):
        dv[j] = np.asarray(s.values[lo:hi]).astype("datetime64[D]").view(np.int64)
    ti = np.empty((len(texts), m), dtype=np.int64)
    for j, s in enumerate(texts):
        ti[j] = np.arange(lo, hi) if s.index is None else s.index[lo:hi]
    buf = np.empty(m * plan.width, dtype=np.uint8)
    exc = np.empty((m * (len(floats) + len(dates)), 3), dtype=np.int64)
    end, ne = kernel(m, plan.kind, plan.slot, fv, iv, dv, plan.tdata, plan.toffs,
                     plan.tbase, ti, _P10, _PAIRS, buf, exc)
    out = memoryview(buf.data)[:end]  # written as it is (no copy)
    if not ne:
        return out
    pieces: list[bytes | memoryview] = []
    prev = 0
    for r, c, pos in exc[:ne].tolist():
        src = plan.sources[c]
        pieces += [out[prev:pos], _fallback_cell(src.kind, src.values[lo + r])]
        prev = pos
    pieces.append(out[prev:])
    return b"".join(pieces)


def _write_columns(columns: list[tuple[str, Renderer]], nrows: int, path: Path,
                   workers: int | None = None) -> str:
    """Write rendered columns as CSV rows, block by block; their SHA-256 (hex).

    Blocks are rendered on up to ``workers`` threads (default: up to 2 CPU cores;
    numpy, pyarrow and the compiled kernel release the GIL) and written in order,
    with at most two blocks per thread in memory. The digest is computed from the
    bytes as they are written, on one more thread (hashlib releases the GIL).
    """
    nw = workers if workers is not None else min(2, os.cpu_count() or 1)
    compiled = _compiled_for(nrows)
    plan = _plan([src for _, src in columns]) if compiled else None
    step = _plan_rows(plan) if plan is not None else _CSV_BLOCK
    spans = [(lo, min(nrows, lo + step)) for lo in range(0, nrows, step)]
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        head = _header([name for name, _ in columns])
        f.write(head)
        digest.update(head)
        if nw <= 1 or len(spans) <= 1:
            for lo, hi in spans:
                block = _csv_block(columns, lo, hi, compiled, plan)
                f.write(block)
                digest.update(block)
            return digest.hexdigest()
        with ThreadPoolExecutor(max_workers=nw) as pool, \
                ThreadPoolExecutor(max_workers=1) as hasher:  # FIFO: in order
            pending: deque[Future[bytes | memoryview]] = deque()
            hashing: deque[Future[None]] = deque()

            def emit(block: bytes | memoryview) -> None:
                f.write(block)
                hashing.append(hasher.submit(digest.update, block))
                if len(hashing) > 2 * nw:
                    hashing.popleft().result()

            for lo, hi in spans:
                pending.append(pool.submit(_csv_block, columns, lo, hi, compiled,
                                           plan))
                if len(pending) >= 2 * nw:
                    emit(pending.popleft().result())
            while pending:
                emit(pending.popleft().result())
            for h in hashing:
                h.result()
    return digest.hexdigest()


def write_csv_pandas(df: pd.DataFrame, path: Path) -> None:
    """Write a table through pandas' own ``to_csv`` (the reference bytes of
    :func:`write_csv`, and its fallback for columns it does not render)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d").fillna("")
    out.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_csv(df: pd.DataFrame, path: Path) -> str | None:
    """Write a table as CSV with a fixed float format (deterministic bytes).

    The bytes are those of ``DataFrame.to_csv(index=False, float_format="%.10g",
    lineterminator="\\n")`` with dates as ``YYYY-MM-DD``; float, integer, boolean,
    date and string columns are rendered by a vectorised writer, anything else (and
    single-column tables) by pandas.

    Returns
    -------
    str or None
        The SHA-256 (hex) of the bytes written, computed as they were written;
        None when pandas wrote them (hash the file).
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
        write_csv_pandas(df, path)
        return None
    return _write_columns(cols, len(df), path)


@dataclass(frozen=True)
class LongTable:
    """A long table as columns of values plus an optional row index into each.

    Per-pair columns (ids, day 0) are stored once per pair and repeated through
    the index, so that writing renders each distinct cell once. Values are numpy
    arrays, or a pandas column's own array (text kept as Arrow strings, which the
    Parquet writer takes without a round trip through Python objects; here they
    are the numpy values ``Series.to_numpy`` gives).
    """

    nrows: int
    columns: list[tuple[str, np.ndarray | ExtensionArray, np.ndarray | None]]

    def numpy_columns(self) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
        """:attr:`columns` with every value array as numpy."""
        return [(name, v if isinstance(v, np.ndarray) else v.to_numpy(), index)
                for name, v, index in self.columns]

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame (dates as ``datetime64``)."""
        data: dict[str, Any] = {}
        for name, values, index in self.numpy_columns():
            v = values if index is None else values[index]
            if isinstance(v, np.ndarray) and v.dtype.kind == "M":
                v = pd.to_datetime(v)
            data[name] = v
        return pd.DataFrame(data)

    def write(self, path: Path) -> str | None:
        """Write as :func:`write_csv` would write :meth:`frame` (same bytes); the
        SHA-256 of the bytes, as :func:`write_csv` returns it."""
        cols: list[tuple[str, Renderer]] = []
        for name, values, index in self.numpy_columns():
            render = _values_renderer(values, index)
            if render is None:
                return write_csv(self.frame(), path)
            cols.append((name, render))
        return _write_columns(cols, self.nrows, path)


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


# --------------------------------------------------------------------------- format
# The ``csv`` entry of :data:`eventstudy.io.tables.TABLE_FORMATS`.


def write_table(table: pd.DataFrame | LongTable, path: Path) -> str | None:
    """Write an output table as CSV (:func:`write_csv`, :meth:`LongTable.write`);
    the SHA-256 (hex) of its bytes, computed as they were written (None: hash the
    file)."""
    if isinstance(table, LongTable):
        return table.write(path)
    return write_csv(table, path)


def read_table(path: Path, text_columns: tuple[str, ...] = (),
               all_text: bool = False) -> pd.DataFrame:
    """Read a CSV output table: ``text_columns`` (every column with ``all_text``)
    as text with ``""`` for empty cells, the others as pandas infers them.

    Raises
    ------
    OSError, ValueError
        The file is missing or not a readable CSV.
    """
    df = pd.read_csv(path, dtype=str if all_text else {c: str for c in text_columns},
                     keep_default_na=False, na_values=[""])
    for c in (df.columns if all_text else text_columns):
        if c in df.columns:
            df[c] = df[c].fillna("").astype(str)
    return df
