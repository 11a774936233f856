"""The table formats registry: format name -> :class:`TableFormat`.

A run writes its tables (``abnormal_returns``, ``car``, ``tests``, ``excluded``,
``diagnostics``, ``events``...) in one format, chosen by ``eventstudy run --format``
or the study file's ``[output] format``:

- ``csv`` (default): text any tool reads; floats as C's ``%.10g``, dates as
  ``YYYY-MM-DD``; byte-identical reruns (:mod:`eventstudy.io.csv`).
- ``parquet``: typed columns (float64, int64, bool, date32, string), zstd-compressed,
  written by pyarrow (:mod:`eventstudy.io.parquet`); about a sixth of the CSV's size,
  faster to write and to read back, full float precision.

Adding a format is one new module in this package (``write_table(table, path)`` and
``read_table(path, text_columns, all_text)``) plus one line in :data:`TABLE_FORMATS`.
Importing this module is light (the format modules load when a table is written or
read), so that the CLI's ``--help`` lists the formats at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventstudy.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TABLE_FORMATS", "TableFormat", "find_table", "read_table",
           "table_format"]


@dataclass(frozen=True)
class TableFormat:
    """A file format of the output tables.

    Attributes
    ----------
    suffix
        The file suffix (``".csv"``).
    module
        The module that writes and reads it: ``write_table(table, path)`` (a
        ``pandas.DataFrame`` or a :class:`~eventstudy.io.csv.LongTable`; returns
        the SHA-256 of the bytes it wrote, or None) and
        ``read_table(path, text_columns, all_text) -> pandas.DataFrame``.
    own_threads
        Whether the writer spreads one large table over every core itself (the
        CSV writer's block threads): a run then writes its largest table alone,
        before the others, instead of beside them (Python work on other threads
        would keep its threads waiting for the GIL between blocks).
    """

    suffix: str
    module: str
    own_threads: bool = False

    def write(self, table: Any, path: str | Path) -> str | None:
        """Write ``table`` (a DataFrame or a ``LongTable``) to ``path``; the SHA-256
        (hex) of the file's bytes when the format computed it while writing (CSV,
        Parquet), else None (hash the file)."""
        digest: str | None = import_module(self.module).write_table(table,
                                                                    Path(path))
        return digest

    def read(self, path: str | Path, text_columns: tuple[str, ...] = (),
             all_text: bool = False) -> pd.DataFrame:
        """Read a table written by :meth:`write`; ``text_columns`` (or every
        column with ``all_text``) as text, missing as ``""``, dates as
        ``YYYY-MM-DD``, whatever the format."""
        frame: pd.DataFrame = import_module(self.module).read_table(
            Path(path), text_columns, all_text)
        return frame


TABLE_FORMATS: dict[str, TableFormat] = {
    "csv": TableFormat(".csv", "eventstudy.io.csv", own_threads=True),
    "parquet": TableFormat(".parquet", "eventstudy.io.parquet"),
}


def table_format(name: str) -> TableFormat:
    """The registered format ``name``.

    Raises
    ------
    InputError
        ``name`` is not registered (the message lists the formats).
    """
    try:
        return TABLE_FORMATS[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown table format {name!r}; choose one of "
                         f"{', '.join(TABLE_FORMATS)}") from None


def find_table(folder: str | Path, stem: str) -> Path | None:
    """The file of table ``stem`` (``"car"``) in ``folder``, in whichever registered
    format it was written (the first found in registry order), or None."""
    for form in TABLE_FORMATS.values():
        path = Path(folder) / f"{stem}{form.suffix}"
        if path.is_file():
            return path
    return None


def read_table(path: str | Path, text_columns: tuple[str, ...] = (),
               all_text: bool = False) -> pd.DataFrame:
    """Read an output table in the format its suffix names (see
    :meth:`TableFormat.read`).

    Raises
    ------
    InputError
        The suffix is not a registered format's.
    """
    p = Path(path)
    for form in TABLE_FORMATS.values():
        if p.suffix == form.suffix:
            return form.read(p, text_columns, all_text)
    raise InputError(f"not a table file (suffix {p.suffix!r}); the formats are "
                     f"{', '.join(TABLE_FORMATS)}", path=str(p))
