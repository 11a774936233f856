"""Parquet output tables (the ``parquet`` entry of
:data:`eventstudy.io.tables.TABLE_FORMATS`).

Typed columns: floats as float64 (NaN kept as NaN, full precision), integers as
int64, booleans as bool, dates as date32, text as UTF-8 strings (missing as null);
zstd compression with dictionary encoding; no pandas metadata, so the bytes depend
on the values and the pyarrow version only (reruns are byte-identical). The values
are those of the CSV tables (which round floats to 10 significant digits).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eventstudy.io.csv import LongTable

COMPRESSION = "zstd"
"""Parquet compression codec of every table."""
WRITE_BATCH_ROWS = 65_536
"""Rows the Parquet writer encodes per batch (pyarrow's default is 1,024): 12% less
time on the 2.1M-row abnormal returns, the same values. Pages still end at the page
size, so most files are the bytes of the default too; a text column whose
dictionary outgrows its page limit (100,000 distinct event ids) falls back to plain
encoding at a batch boundary, so its pages differ from the default's."""
_I32 = np.iinfo(np.int32)
_NS = np.dtype("datetime64[ns]")
_NAT = np.iinfo(np.int64).min
_DAY_NS = 86_400 * 10**9


def _arrow(values: Any, index: np.ndarray | None = None) -> Any:
    """One column as a typed pyarrow array, taken through ``index`` if given (text
    as a dictionary array: the per-pair values once, the rows as indices)."""
    import pyarrow as pa  # lazy: pyarrow is heavy, only table I/O needs it

    if not isinstance(values, np.ndarray):
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            values = np.asarray(values, dtype="datetime64[ns]")
        elif not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
            arr = pa.array(values, from_pandas=True)
            return arr if index is None else arr.take(pa.array(index))
    kind = values.dtype.kind if isinstance(values, np.ndarray) else "O"
    if kind == "M":
        # days since the epoch and NaT per value, then taken through the index
        # (int32 gathers instead of datetime64 ones, the conversion done once per
        # distinct cell)
        if values.dtype == _NS:  # (nanoseconds: days always fit in int32)
            num = values.view(np.int64)
            nat = num == _NAT
            days = np.floor_divide(num, _DAY_NS).astype(np.int32)  # as [D]: floor
        else:
            day = values.astype("datetime64[D]")
            nat = np.isnat(day)
            num = day.view(np.int64)
            ok = num[~nat]
            if len(ok) and not (_I32.min <= ok.min() and ok.max() <= _I32.max):
                v = day if index is None else day[index]  # pyarrow reports it
                return pa.array(v, type=pa.date32(), mask=np.isnat(v))
            days = num.astype(np.int32)
        if index is not None:
            days, nat = days[index], nat[index]
        return pa.array(days, type=pa.date32(), mask=nat)
    if kind in "fiub":
        return pa.array(values if index is None else values[index])
    text = _text(values)
    if index is None:
        return text
    if isinstance(text, pa.ChunkedArray):  # a pandas column's Arrow strings
        text = text.combine_chunks()
    if text.null_count:  # parquet cannot write a null inside a dictionary
        return text.take(pa.array(np.asarray(index, dtype=np.int64)))
    # a dictionary of distinct values (parquet's writer is not deterministic with
    # repeated dictionary values), the rows as codes into it
    import pyarrow.compute as pc  # lazy: as pyarrow

    enc = pc.dictionary_encode(text)
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(codes[index]), enc.dictionary)


def _text(values: Any) -> Any:
    """A text column as UTF-8 strings (None/NaN as null; other objects as str)."""
    import pyarrow as pa  # lazy: pyarrow is heavy, only table I/O needs it

    if hasattr(values, "__arrow_array__"):  # pandas' str columns: no copy by value
        arr = pa.array(values)
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            return arr.cast(pa.string())
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None or (isinstance(v, float) and v != v)
                         else str(v) for v in values], type=pa.string())


def to_arrow(table: pd.DataFrame | LongTable) -> Any:
    """An output table as a ``pyarrow.Table`` with typed columns."""
    import pyarrow as pa  # lazy: pyarrow is heavy, only table I/O needs it

    if isinstance(table, LongTable):
        cols = {name: _arrow(values, index) for name, values, index in table.columns}
        return pa.table(cols) if cols else pa.table({})
    return pa.table({str(c): _arrow(table.iloc[:, j].to_numpy()
                                    if isinstance(table.iloc[:, j].dtype, np.dtype)
                                    else table.iloc[:, j].array)
                     for j, c in enumerate(table.columns)})


def write_table(table: pd.DataFrame | LongTable, path: Path) -> str:
    """Write an output table as Parquet (typed, zstd; see the module docstring);
    the SHA-256 (hex) of the file, read back at once by the thread that wrote it
    (from the page cache), so that ``run.json`` does not hash it at the end."""
    import pyarrow as pa  # lazy: pyarrow is heavy, only table I/O needs it
    import pyarrow.parquet as pq  # lazy: as pyarrow

    tbl = to_arrow(table)
    text = [f.name for f in tbl.schema
            if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)]
    pq.write_table(tbl, path, compression=COMPRESSION, use_dictionary=text,
                   write_statistics=True, store_schema=False,
                   write_batch_size=WRITE_BATCH_ROWS)
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_table(path: Path, text_columns: tuple[str, ...] = (),
               all_text: bool = False) -> pd.DataFrame:
    """Read a Parquet output table: ``text_columns`` (every column with
    ``all_text``) as text with ``""`` for missing and dates as ``YYYY-MM-DD``, the
    others typed (dates as ``datetime64``).

    Raises
    ------
    OSError, ValueError
        The file is missing or not a readable Parquet file.
    """
    import pyarrow as pa  # lazy: pyarrow is heavy, only table I/O needs it
    import pyarrow.parquet as pq  # lazy: as pyarrow

    try:
        tbl = pq.read_table(path)
    except pa.ArrowException as exc:
        raise ValueError(str(exc)) from None
    df: pd.DataFrame = tbl.to_pandas(date_as_object=False)
    for c in (df.columns if all_text else text_columns):
        if c not in df.columns:
            continue
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            df[c] = s.dt.strftime("%Y-%m-%d").fillna("").astype(str)
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_string_dtype(s) or (
                s.dtype == object):
            df[c] = s.fillna("").astype(str)
        else:
            df[c] = s.astype(str)
    return df
