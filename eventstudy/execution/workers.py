"""How many threads or Dask workers a run uses."""

from __future__ import annotations

import os

import numpy as np

from eventstudy.errors import InputError


def resolve_workers(workers: int | None) -> int:
    """The number of threads or Dask workers for ``workers``.

    ``None`` and ``0`` mean automatic: ``min(2, os.cpu_count())``, the same in
    :meth:`eventstudy.study.EventStudy.fit`, the Dask backend and
    :func:`eventstudy.simulate`.

    Raises
    ------
    InputError
        ``workers`` is negative or not a whole number.

    Examples
    --------
    >>> resolve_workers(3), resolve_workers(0) == resolve_workers(None) >= 1
    (3, True)
    """
    if workers is None or (isinstance(workers, (int, np.integer))
                           and not isinstance(workers, bool) and workers == 0):
        return max(1, min(2, os.cpu_count() or 1))
    if (isinstance(workers, bool) or not isinstance(workers, (int, np.integer))
            or workers < 0):
        raise InputError(f"workers = {workers!r}: give a whole number of threads or "
                         "Dask workers, or 0 (or None) for automatic")
    return int(workers)
