"""Deterministic CSV writing (the io layer).

:func:`write_csv` writes a DataFrame with exactly the bytes of
``DataFrame.to_csv(index=False, float_format="%.10g", lineterminator="\\n")`` (dates
as ``YYYY-MM-DD``) through a vectorised writer; :class:`LongTable` holds a long table
as per-pair columns plus a row index, so that each distinct cell is rendered once.
"""

from __future__ import annotations

import csv
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

Renderer = Callable[[int, int], Block]


def _lazy(render: Callable[[np.ndarray], Cells], values: np.ndarray) -> Renderer:
    """Render rows lo:hi of ``values`` when the block is written (floats through
    the compiled formatter when the table is large enough, see :data:`COMPILED_ROWS`).
    """
    fast = render is _render_floats and _compiled_for(len(values))

    def block(lo: int, hi: int) -> Block:
        cells = _render_floats_compiled(values[lo:hi]) if fast else render(
            values[lo:hi])
        return cells[0], cells[1], None
    return block


def _indexed(cells: Cells, index: np.ndarray | None = None) -> Renderer:
    """Rows lo:hi of pre-rendered cells, through an optional row index."""
    M, L = cells
    if index is None and M.ndim == 2:
        return lambda lo, hi: (M[lo:hi], L[lo:hi], None)
    if index is None:  # flat: the offsets of rows lo..hi (into the whole bytes)
        return lambda lo, hi: (M, L[lo:hi + 1], None)
    return lambda lo, hi: (M, L, index[lo:hi])


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
               compiled: bool = False) -> bytes | memoryview:
    """The CSV bytes of rows lo:hi (every field, commas and newlines), assembled
    by numpy or (``compiled``) by the compiled row assembler."""
    cells = [render(lo, hi) for _, render in columns]
    if compiled:
        return _compiled_block(cells, hi - lo)
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
# The same bytes through two numba kernels (nogil, cached once per installation):
# one formats floats exactly as the vectorised path above does (digits from one
# correctly rounded scaling; the values it cannot decide are left to Python), one
# copies each row's cells into the block's buffer. Used for tables of at least
# COMPILED_ROWS rows, where it pays for importing numba (~0.4 s once per process).

COMPILED_ROWS = 100_000
"""Tables with at least this many rows are written through the compiled kernels
(when numba is installed); smaller ones through numpy. Both give the same bytes."""


def _compiled_for(nrows: int) -> bool:
    """Whether a table of ``nrows`` rows goes through the compiled kernels."""
    return nrows >= COMPILED_ROWS and _kernels() is not None


@lru_cache(maxsize=1)
def _kernels() -> tuple[Callable[..., None], Callable[..., None],
                        Callable[..., None]] | None:
    """The float formatter and the row assemblers (matrix and flat cells),
    compiled (or loaded from numba's cache); None without numba."""
    try:
        import numba  # lazy: optional here, slow to import, only for large tables
    except ImportError:  # pragma: no cover (numba is a dependency)
        return None

    @numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
    def fmt(x: Any, p10: Any, M: Any, L: Any, ok: Any
            ) -> None:  # pragma: no cover (compiled)
        digits = np.zeros(10, dtype=np.uint8)
        for i in range(x.shape[0]):
            v = x[i]
            ok[i] = True
            if v != v:
                L[i] = 0
                continue
            k = 0
            if v < 0 or (v == 0 and np.signbit(v)):
                M[i, 0] = 45
                k = 1
            a = abs(v)
            if a == 0:
                M[i, k] = 48
                L[i] = k + 1
                continue
            if a == np.inf:
                M[i, k], M[i, k + 1], M[i, k + 2] = 105, 110, 102
                L[i] = k + 3
                continue
            # decimal exponent from the binary one (may be one off; fixed below)
            e = int(np.floor((math.frexp(a)[1] - 1) * 0.30102999566398120))
            if e < -14 or e > 32:
                ok[i] = False
                continue
            s = 0.0
            for _ in range(3):
                q = 9 - e
                if q > 22 or q < -22:
                    break
                s = a * p10[q] if q >= 0 else a / p10[-q]
                if s < 1e9:
                    e -= 1
                elif s >= 1e10:
                    e += 1
                else:
                    break
            frac = s - float(np.int64(s))
            if (not abs(frac - 0.5) > 1e-5 or s < 1e9 or s >= 1e10 or e < -13
                    or e > 31):
                ok[i] = False
                continue
            D = np.rint(s)
            if D >= 1e10:
                D = 1e9
                e += 1
            n = np.uint64(D)  # two 5-digit halves: 32-bit unsigned arithmetic
            hi = np.uint32(n // np.uint64(100000))
            lo = np.uint32(n - np.uint64(hi) * np.uint64(100000))
            for j in range(4, -1, -1):
                digits[j] = 48 + hi % 10
                hi //= 10
                digits[j + 5] = 48 + lo % 10
                lo //= 10
            sig = 10
            while sig > 1 and digits[sig - 1] == 48:
                sig -= 1
            if -4 <= e < 10:
                if e >= 0:
                    for j in range(e + 1):
                        M[i, k] = digits[j]
                        k += 1
                    if sig > e + 1:
                        M[i, k] = 46
                        k += 1
                        for j in range(e + 1, sig):
                            M[i, k] = digits[j]
                            k += 1
                else:
                    M[i, k], M[i, k + 1] = 48, 46
                    k += 2
                    for _ in range(-e - 1):
                        M[i, k] = 48
                        k += 1
                    for j in range(sig):
                        M[i, k] = digits[j]
                        k += 1
            else:
                M[i, k] = digits[0]
                k += 1
                if sig > 1:
                    M[i, k] = 46
                    k += 1
                    for j in range(1, sig):
                        M[i, k] = digits[j]
                        k += 1
                M[i, k] = 101
                M[i, k + 1] = 45 if e < 0 else 43
                k += 2
                ae = abs(e)
                if ae >= 100:
                    M[i, k] = 48 + ae // 100
                    k += 1
                M[i, k], M[i, k + 1] = 48 + ae // 10 % 10, 48 + ae % 10
                k += 2
            L[i] = k

    @numba.njit(nogil=True, cache=True)
    def place(buf: Any, cursor: Any, M: Any, L: Any, index: Any, indexed: bool,
              sep: int) -> None:  # pragma: no cover (compiled)
        for r in range(cursor.shape[0]):
            c = cursor[r]
            m = index[r] if indexed else r
            n = L[m]
            for j in range(n):
                buf[c + j] = M[m, j]
            buf[c + n] = sep
            cursor[r] = c + n + 1

    @numba.njit(nogil=True, cache=True)
    def place_flat(buf: Any, cursor: Any, data: Any, offs: Any, index: Any,
                   indexed: bool, sep: int) -> None:  # pragma: no cover (compiled)
        for r in range(cursor.shape[0]):
            c = cursor[r]
            m = index[r] if indexed else r
            a = offs[m]
            n = offs[m + 1] - a
            for j in range(n):
                buf[c + j] = data[a + j]
            buf[c + n] = sep
            cursor[r] = c + n + 1

    return fmt, place, place_flat


def _render_floats_compiled(x: np.ndarray) -> Cells:
    """:func:`_render_floats` through the compiled formatter (same bytes)."""
    kernels = _kernels()
    assert kernels is not None
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = len(x)
    M = np.zeros((n, _FLOAT_W), dtype=np.uint8)
    L = np.zeros(n, dtype=np.int64)
    ok = np.ones(n, dtype=np.bool_)
    kernels[0](x, _P10, M, L, ok)
    for i in np.flatnonzero(~ok):  # near-ties, tiny and huge values
        b = (FLOAT_FORMAT % float(x[i])).encode("ascii")
        M[i] = 0
        M[i, :len(b)] = np.frombuffer(b, dtype=np.uint8)
        L[i] = len(b)
    return M, L


_NO_INDEX = np.zeros(0, dtype=np.int64)


def _compiled_block(cells: list[Block], n: int) -> memoryview:
    """The CSV bytes of one block through the compiled row assembler."""
    kernels = _kernels()
    assert kernels is not None
    lens = np.full(n, len(cells), dtype=np.int64)
    for M, L, index in cells:
        if M.ndim == 2:
            lens += L if index is None else L[index]
        else:
            lens += np.diff(L) if index is None else L[index + 1] - L[index]
    cursor = np.zeros(n, dtype=np.int64)
    np.cumsum(lens[:-1], out=cursor[1:])
    buf = np.empty(int(lens.sum()), dtype=np.uint8)
    last = len(cells) - 1
    for j, (M, L, index) in enumerate(cells):
        place = kernels[1] if M.ndim == 2 else kernels[2]
        place(buf, cursor, np.ascontiguousarray(M), np.ascontiguousarray(L),
              _NO_INDEX if index is None else index.astype(np.int64, copy=False),
              index is not None, 10 if j == last else 44)
    return memoryview(buf.data)  # written as it is (no copy)


def _write_columns(columns: list[tuple[str, Renderer]], nrows: int, path: Path,
                   workers: int | None = None) -> None:
    """Write rendered columns as CSV rows, block by block.

    Blocks are rendered on up to ``workers`` threads (default: up to 2 CPU cores;
    numpy and pyarrow release the GIL) and written in order, with at most two
    blocks per thread in memory.
    """
    nw = workers if workers is not None else min(2, os.cpu_count() or 1)
    spans = [(lo, min(nrows, lo + _CSV_BLOCK)) for lo in range(0, nrows, _CSV_BLOCK)]
    compiled = _compiled_for(nrows)
    with open(path, "wb") as f:
        f.write(_header([name for name, _ in columns]))
        if nw <= 1 or len(spans) <= 1:
            for lo, hi in spans:
                f.write(_csv_block(columns, lo, hi, compiled))
            return
        with ThreadPoolExecutor(max_workers=nw) as pool:
            pending: deque[Future[bytes | memoryview]] = deque()
            for lo, hi in spans:
                pending.append(pool.submit(_csv_block, columns, lo, hi, compiled))
                if len(pending) >= 2 * nw:
                    f.write(pending.popleft().result())
            while pending:
                f.write(pending.popleft().result())


def write_csv_pandas(df: pd.DataFrame, path: Path) -> None:
    """Write a table through pandas' own ``to_csv`` (the reference bytes of
    :func:`write_csv`, and its fallback for columns it does not render)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d").fillna("")
    out.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a table as CSV with a fixed float format (deterministic bytes).

    The bytes are those of ``DataFrame.to_csv(index=False, float_format="%.10g",
    lineterminator="\\n")`` with dates as ``YYYY-MM-DD``; float, integer, boolean,
    date and string columns are rendered by a vectorised writer, anything else (and
    single-column tables) by pandas.
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
        return
    _write_columns(cols, len(df), path)


@dataclass(frozen=True)
class LongTable:
    """A long table as columns of values plus an optional row index into each.

    Per-pair columns (ids, day 0) are stored once per pair and repeated through
    the index, so that writing renders each distinct cell once.
    """

    nrows: int
    columns: list[tuple[str, np.ndarray, np.ndarray | None]]

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame (dates as ``datetime64``)."""
        data: dict[str, Any] = {}
        for name, values, index in self.columns:
            v = values if index is None else values[index]
            if isinstance(v, np.ndarray) and v.dtype.kind == "M":
                v = pd.to_datetime(v)
            data[name] = v
        return pd.DataFrame(data)

    def write(self, path: Path) -> None:
        """Write as :func:`write_csv` would write :meth:`frame` (same bytes)."""
        cols: list[tuple[str, Renderer]] = []
        for name, values, index in self.columns:
            render = _values_renderer(values, index)
            if render is None:
                write_csv(self.frame(), path)
                return
            cols.append((name, render))
        _write_columns(cols, self.nrows, path)


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


def write_table(table: pd.DataFrame | LongTable, path: Path) -> None:
    """Write an output table as CSV (:func:`write_csv`, :meth:`LongTable.write`)."""
    if isinstance(table, LongTable):
        table.write(path)
    else:
        write_csv(table, path)


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
