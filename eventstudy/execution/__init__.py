"""Executors: where stages 2-4 of a study run, chunk by chunk.

An executor takes the aligned inputs, the preallocated outputs and the candidate
spans, runs :func:`eventstudy.estimation.pipeline.run_chunk` over every span and
fills the outputs; the tests then run on the gathered arrays, so every executor gives
the same numbers (bitwise for ARs and CARs).

Registry
--------
:data:`EXECUTORS` maps a scheduler name to its executor class. ``"local"`` runs the
chunks on a thread pool in this process (:mod:`eventstudy.execution.local`);
``"dask"`` on a Dask cluster (:mod:`eventstudy.execution.dask`), which also serves
scheduler addresses (``tcp://host:port``). Adding an executor is one file defining a
class with the :class:`Executor` interface plus one line in :data:`EXECUTORS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from eventstudy.errors import UnknownNameError
from eventstudy.execution.dask import DaskExecutor, require_distributed
from eventstudy.execution.local import LocalExecutor
from eventstudy.execution.workers import resolve_workers

if TYPE_CHECKING:
    from eventstudy.alignment import Aligned
    from eventstudy.config import Conventions, Windows
    from eventstudy.estimation.containers import ChunkOut


class Executor(Protocol):
    """Runs stages 2-4 over candidate spans into preallocated outputs."""

    remote: bool
    """Whether the outputs travel from other processes (their copying is reported
    as "collect" time)."""

    def run(self, a: Aligned, out: ChunkOut, w: Windows, conv: Conventions,
            spans: Sequence[tuple[int, int]], day0_shift: float, *, workers: int,
            progress: bool) -> tuple[list[tuple[float, float, float]],
                                     dict[str, float]]:
        """Fill ``out`` for every span; return each span's stage seconds (gather,
        estimate, AR/CAR) and extra timings (``workers`` used, ``cluster`` ...)."""
        ...


EXECUTORS: dict[str, type[LocalExecutor] | type[DaskExecutor]] = {
    "local": LocalExecutor,
    "dask": DaskExecutor,
}
"""Scheduler name -> executor class."""

SCHEDULERS = tuple(EXECUTORS)
"""Named execution backends of :meth:`EventStudy.fit`; a Dask scheduler address
(``tcp://host:port``, ``tls://...``) is accepted too."""


ADDRESS_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")


def check_scheduler(scheduler: str, *, require_dask: bool = True) -> None:
    """Raise unless ``scheduler`` is ``local``, ``dask`` or a scheduler address.

    With ``require_dask`` (as in :meth:`EventStudy.fit`), ``dask`` and addresses
    also raise :class:`~eventstudy.errors.SchedulerError` when dask is not
    installed (before any work is done); without it only the spelling is checked
    (e.g. when a study file is read).

    Examples
    --------
    >>> check_scheduler("local")
    >>> check_scheduler("threads")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eventstudy.errors.UnknownNameError: unknown scheduler 'threads'; use local, ...
    """
    if scheduler == "local":
        return
    if scheduler != "dask" and not (isinstance(scheduler, str)
                                    and scheduler.startswith(ADDRESS_SCHEMES)):
        raise UnknownNameError(f"unknown scheduler {scheduler!r}; use local, dask or "
                               "a Dask scheduler address such as tcp://host:8786")
    if not require_dask:
        return
    require_distributed()


def get_executor(scheduler: str) -> Executor:
    """The executor for ``scheduler``: a name in :data:`EXECUTORS`, or a Dask
    scheduler address (``tcp://host:port`` ...), which the Dask executor serves."""
    check_scheduler(scheduler, require_dask=False)
    if scheduler.startswith(ADDRESS_SCHEMES):
        return DaskExecutor(scheduler)
    cls = EXECUTORS[scheduler]
    return cls(scheduler)


__all__ = ["ADDRESS_SCHEMES", "EXECUTORS", "SCHEDULERS", "DaskExecutor", "Executor",
           "LocalExecutor", "check_scheduler", "get_executor", "resolve_workers"]
