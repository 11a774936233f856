"""The Dask backend of the engine: stages 2-4 as tasks on a Dask cluster.

``EventStudy.fit(scheduler=...)`` picks where the chunks of stages 2-4 (gather,
estimate, abnormal returns) run:

``"local"``
    Threads in this process (the default; nothing here is used).
``"dask"``
    A ``dask.distributed.LocalCluster`` of ``workers`` single-threaded worker
    processes on 127.0.0.1, started for the call and closed after it
    (``workers = 0`` or None: automatic, as everywhere,
    :func:`eventstudy.execution.workers.resolve_workers`).
``"tcp://host:port"`` (or ``tls://...``)
    A ``Client`` connected to an existing cluster (``dask scheduler`` and
    ``dask worker`` processes, dask-jobqueue, Kubernetes...).

How a run goes (:func:`run_spans`):

1. The aligned inputs (:class:`eventstudy.alignment.Aligned`: the NaN-padded
   ``(series, sessions)`` returns matrix, the session dates, and each candidate
   pair's day-0 position, calendar, model and rows) are trimmed to what the chunks
   read (:func:`worker_inputs`) and sent to every worker once with
   ``client.scatter(..., broadcast=True)``. Tasks receive a reference to that data,
   never a pickled copy of it.
2. One task per group of consecutive chunks (:data:`CHUNKS_PER_TASK`): the task
   runs :func:`eventstudy.estimation.pipeline.run_chunks`, i.e. the same batched
   :func:`eventstudy.estimation.pipeline.run_chunk` on the same candidate spans as the
   local path,
   and returns the chunk's arrays. Tasks are pure (no side effects), so Dask may
   rerun them: ``retries=`` :data:`RETRIES` for a task that raises, and Dask's own
   rescheduling (up to ``distributed.scheduler.allowed-failures`` deaths) for a
   task whose worker died.
3. The client writes each returned chunk into the full preallocated output as it
   arrives. The exclusions, the labels, and every test (aggregates, ranks,
   Kolari-Pynnonen correlations, the seeded bootstrap) then run in this process on
   the gathered arrays, exactly as in the local path.

Every pair's numbers depend on its own row only and each chunk goes through the
same arithmetic with the same shapes, so ARs and CARs are bitwise identical to the
local run whatever the number of workers (on workers with the same numpy build and
CPU kind; see ``docs/cluster.md``).

A task that still fails after its retries (or whose workers keep dying) makes
:func:`run_spans` raise :class:`~eventstudy.errors.SchedulerError` naming the
candidate spans that failed. Nothing is returned, so nothing partial can be saved.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import Future as Future_
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from eventstudy.errors import EventStudyWarning, SchedulerError
from eventstudy.estimation.pipeline import run_chunks, window_dates
from eventstudy.execution.workers import resolve_workers
from eventstudy.version import __version__

if TYPE_CHECKING:
    from distributed import Client, Future

    from eventstudy.alignment import Aligned
    from eventstudy.config import Conventions, Windows
    from eventstudy.estimation.containers import ChunkOut

INSTALL_HINT = 'pip install "eventstudy[dask]"'
"""How to get the optional Dask dependencies."""
RETRIES = 2
"""Extra attempts Dask makes for a task that raised."""
CHUNKS_PER_TASK = 1
"""Chunks (of ``chunk_size`` pairs) run by one task."""
CONNECT_TIMEOUT = 30.0
"""Seconds to wait for a scheduler address to answer and to have a worker."""
IN_FLIGHT_PER_WORKER = 3
"""Tasks submitted ahead per worker: enough to keep every worker busy while the
client copies results in, few enough that finished results do not pile up in the
workers' memory."""
MAX_NAMED = 10
"""At most this many failed spans are listed in the error message."""
MALLOC_ENV = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
"""glibc settings that decide whether chunk temporaries are fresh mmaps (slow)."""


def require_distributed() -> None:
    """Raise :class:`SchedulerError` unless ``dask.distributed`` can be imported.

    Raises
    ------
    SchedulerError
        Saying how to install the ``dask`` extra.
    """
    try:
        import dask  # noqa: F401  # lazy: optional dependency (eventstudy[dask])
        import distributed  # noqa: F401  # lazy: optional dependency (eventstudy[dask])
    except ImportError as exc:
        raise SchedulerError(
            "the Dask scheduler needs the optional packages dask and distributed, "
            f"which cannot be imported ({exc}); install them with: "
            f"{INSTALL_HINT}") from exc


def worker_inputs(a: Aligned) -> Aligned:
    """The part of the aligned inputs that the chunk tasks read.

    The per-pair arrays are restricted to the candidate pairs (renumbered
    ``0..n-1``, so ``cand`` is ``arange(n)``); the pairs table, exclusion reasons,
    day-0 rules and confounding labels stay on the client.
    """
    c = a.cand
    none = np.empty(0, dtype=object)
    return replace(
        a, pairs=a.pairs.iloc[:0], excluded_events=a.excluded_events.iloc[:0],
        reason=none, cand=np.arange(len(c), dtype=np.int64), cal=a.cal[c],
        pos=a.pos[c], rules=none, model_code=a.model_code[c],
        rows={k: v[c] for k, v in a.rows.items()}, confounded_by=none, warnings=[])


def group_spans(spans: Sequence[tuple[int, int]], per_task: int = CHUNKS_PER_TASK
                ) -> list[list[tuple[int, int]]]:
    """Consecutive chunk spans grouped ``per_task`` at a time (one group per task).

    Examples
    --------
    >>> group_spans([(0, 4), (4, 8), (8, 10)], 2)
    [[(0, 4), (4, 8)], [(8, 10)]]
    """
    k = max(1, int(per_task))
    return [list(spans[i:i + k]) for i in range(0, len(spans), k)]


def _task(a: Aligned, w: Windows, conv: Conventions,
          spans: list[tuple[int, int]], day0_shift: float
          ) -> tuple[ChunkOut, list[tuple[float, float, float]]]:
    """Runs on a worker: stages 2-4 for ``spans`` (pure; safe to rerun). The
    session-date arrays are not sent back: the client fills them."""
    return run_chunks(a, w, conv, spans, day0_shift, dates=False)


def _worker_info() -> tuple[str, dict[str, str]]:
    """Runs on each worker: the eventstudy version it imports and its glibc
    allocator settings (:data:`MALLOC_ENV`). Importing this module (to run it)
    imports the pipeline too, so the first tasks do not pay for it."""
    return __version__, {k: os.environ[k] for k in MALLOC_ENV
                                    if k in os.environ}


def _slow_malloc(env: dict[str, str]) -> bool:
    """Whether a worker's allocator settings make chunk temporaries slow.

    Setting ``MALLOC_TRIM_THRESHOLD_`` (Dask's nanny sets 65536 by default) turns
    off glibc's dynamic mmap threshold, so every multi-megabyte temporary of a chunk
    is a fresh mmap whose pages fault in one by one: 4-6x slower chunks on the
    benchmark machine. A static ``MALLOC_MMAP_THRESHOLD_`` of a few MiB avoids it.
    """
    mmap = env.get("MALLOC_MMAP_THRESHOLD_")
    if "MALLOC_TRIM_THRESHOLD_" not in env and mmap is None:
        return False
    try:
        return mmap is None or int(mmap) < 4 * 2**20
    except ValueError:
        return True


@contextmanager
def _local_cluster_env() -> Iterator[None]:
    """While a LocalCluster starts and runs: no ``MALLOC_TRIM_THRESHOLD_`` for its
    workers (see :func:`_slow_malloc`), and this process's environment restored
    afterwards (the nanny copies its pre-spawn variables, e.g.
    ``OMP_NUM_THREADS=1``, into ``os.environ`` before spawning a worker)."""
    import dask  # lazy: optional dependency (eventstudy[dask])

    key = "distributed.nanny.pre-spawn-environ"
    names = {*dask.config.get(key), "PYTHONHASHSEED"}
    saved = {k: os.environ.get(k) for k in names}
    try:
        with dask.config.set({f"{key}.MALLOC_TRIM_THRESHOLD_": None}):
            yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def open_client(scheduler: str, workers: int | None) -> Iterator[Client]:
    """A ``Client`` for ``scheduler`` (``"dask"`` or an address), closed on exit.

    ``"dask"`` starts a ``LocalCluster(n_workers=workers, threads_per_worker=1,
    processes=True)`` on 127.0.0.1 (no dashboard; workers without Dask's
    ``MALLOC_TRIM_THRESHOLD_``, see :func:`_slow_malloc`) and closes it on exit;
    its client fetches results directly from the workers (half the time of
    having the scheduler relay them). For an address, Dask's
    ``distributed.client.direct-to-workers`` setting decides (default: relayed,
    which works when the client cannot reach the workers). The client is never
    made the process-wide default. Workers whose allocator
    settings make chunks slow get an :class:`~eventstudy.errors.EventStudyWarning`.

    Raises
    ------
    SchedulerError
        Dask is missing, the cluster does not start, the address does not answer,
        the cluster has no worker, or its workers cannot import eventstudy (or
        another version of it).
    """
    require_distributed()
    workers = resolve_workers(workers)  # 0 or None: automatic
    from distributed import Client, LocalCluster  # lazy: optional dependency

    with ExitStack() as stack:
        if scheduler == "dask":
            stack.enter_context(_local_cluster_env())
            try:
                cluster = LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=None)
                stack.callback(cluster.close)
                # results straight from the workers, not relayed by the scheduler
                client = Client(cluster,  # type: ignore[no-untyped-call]
                                set_as_default=False, direct_to_workers=True)
                stack.callback(client.close)
            except Exception as exc:
                raise SchedulerError(
                    f"could not start a local Dask cluster of {workers} worker "
                    f"process(es): {exc}. Its workers are spawned processes, so a "
                    "script calling fit(scheduler='dask') needs the "
                    "`if __name__ == \"__main__\":` guard around its main code"
                ) from exc
        else:
            try:
                client = Client(scheduler,  # type: ignore[no-untyped-call]
                                timeout=CONNECT_TIMEOUT, set_as_default=False)
                stack.callback(client.close)
                client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise SchedulerError(
                    f"could not use the Dask scheduler at {scheduler}: {exc}. Check "
                    "the address and that the cluster has at least one worker"
                ) from exc
        try:
            info = client.run(_worker_info)
        except Exception as exc:
            raise SchedulerError(
                f"the Dask workers cannot run eventstudy ({type(exc).__name__}: "
                f"{exc}); install eventstudy {__version__} on every "
                "worker") from exc
        other = sorted({v for v, _ in info.values() if v != __version__})
        if other:
            raise SchedulerError(
                f"the Dask workers run eventstudy {', '.join(other)}, this process "
                f"{__version__}; install the same version everywhere")
        slow = sorted(w for w, (_, env) in info.items() if _slow_malloc(env))
        if slow:
            warnings.warn(
                f"{len(slow)} Dask worker(s) run with MALLOC_TRIM_THRESHOLD_ set and "
                "no MALLOC_MMAP_THRESHOLD_ (Dask's default), which makes each chunk "
                "several times slower; start the workers with "
                "MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=67108864 "
                "(see docs/cluster.md)", EventStudyWarning, stacklevel=6)
        yield client


def _lost(fut: Future[Any]) -> bool:
    """Whether a finished-but-failed future was lost with a worker (cancelled, or
    ``KilledWorker``) rather than raised by the task's code."""
    if fut.status != "error":
        return True
    try:
        exc = fut.exception()  # type: ignore[no-untyped-call]
    except Exception:  # noqa: BLE001  (cancelled while asking)
        return True
    return type(exc).__name__ == "KilledWorker"


def _why(fut: Future[Any]) -> str:
    """A one-line reason why a task did not finish."""
    if fut.status == "cancelled":
        return "cancelled (the scheduler or all workers holding its data went away)"
    try:
        exc = fut.exception()  # type: ignore[no-untyped-call]
    except Exception as err:  # noqa: BLE001  (cancelled while asking)
        return f"{type(err).__name__}: {err}"
    return f"{type(exc).__name__}: {exc}"


def _prefault(out: ChunkOut, pool: ThreadPoolExecutor) -> list[Future_[None]]:
    """Write zeros over ``out`` in blocks on ``pool`` (numpy releases the GIL).

    The first write to each page of the freshly allocated outputs costs a page
    fault; in the local path the compute threads pay it as they go, here the client
    would pay it serially while copying chunks in (about 5 GB at 1M pairs: most of
    the collect time on the benchmark VM). Done while the cluster starts, it
    overlaps with work the client would otherwise wait for. Every row is
    overwritten later, so the values do not matter.
    """
    block = 1 << 16
    jobs = []
    for name in out.__dataclass_fields__:
        arr = getattr(out, name)
        for lo in range(0, len(arr), block):
            jobs.append(pool.submit(arr[lo:lo + block].fill, 0))
    return jobs


def _describe(a: Aligned, lo: int, hi: int) -> str:
    """``candidates lo:hi (events first..last)`` for an error message."""
    ids = a.pairs["event_id"].to_numpy(dtype=object)
    return f"candidates {lo}:{hi} (events {ids[a.cand[lo]]}..{ids[a.cand[hi - 1]]})"


def run_spans(a: Aligned, out: ChunkOut, w: Windows, conv: Conventions,
              spans: Sequence[tuple[int, int]], day0_shift: float, *,
              scheduler: str, workers: int, progress: bool = False
              ) -> tuple[list[tuple[float, float, float]], dict[str, float]]:
    """Run stages 2-4 of every span on a Dask cluster and fill ``out``.

    Parameters
    ----------
    a
        The aligned inputs (the client's full copy).
    out
        The preallocated outputs of every candidate; filled in place.
    w, conv, day0_shift
        As in :meth:`eventstudy.study.EventStudy.fit`.
    spans
        The ``(lo, hi)`` candidate spans of the chunks
        (:func:`eventstudy.estimation.pipeline.chunk_spans`).
    scheduler
        ``"dask"`` or a scheduler address.
    workers
        Worker processes of the local cluster (``"dask"`` only); 0 or None:
        automatic (:func:`eventstudy.execution.workers.resolve_workers`).
    progress
        Show a tqdm bar over the tasks on stderr (when it is a terminal).

    Returns
    -------
    (list, dict)
        Each chunk's stage seconds (gather, estimate, AR/CAR; in span order) and
        ``cluster`` (seconds to start or connect, send the data and close),
        ``workers`` (the cluster's worker count) and ``tasks``.

    Raises
    ------
    SchedulerError
        Dask is missing or the cluster unusable (:func:`open_client`), or tasks
        failed on every attempt: the message names their candidate spans.
    """
    from distributed import as_completed  # lazy: optional dependency

    t0 = time.perf_counter()
    tasks = group_spans(spans)
    times: list[list[tuple[float, float, float]]] = [[] for _ in tasks]
    failed: list[tuple[int, str]] = []
    pool = ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1))
    touching = _prefault(out, pool)
    pool.shutdown(wait=False)
    try:
        with open_client(scheduler, workers) as client:
            n_workers = len(client.scheduler_info()["workers"])
            data = client.scatter(  # type: ignore[no-untyped-call]
                worker_inputs(a), broadcast=True, hash=False)
            t_sent = time.perf_counter()
            for job in touching:  # (any wait here is part of "collect")
                job.result()
            token = uuid.uuid4().hex[:12]
            index: dict[str, int] = {}
            todo = iter(range(len(tasks)))
            done = as_completed(loop=client.loop)  # type: ignore[no-untyped-call]

            again = [0] * len(tasks)  # resubmissions of a task whose future was lost

            def submit_next(i: int | None = None) -> None:
                if i is None:
                    i = next(todo, None)
                if i is None:
                    return
                group = tasks[i]
                key = f"eventstudy-chunk-{group[0][0]}-{group[-1][1]}-{token}"
                if again[i]:
                    key += f"-again{again[i]}"
                index[key] = i
                done.add(client.submit(  # type: ignore[no-untyped-call]
                    _task, data, w, conv, group, day0_shift, key=key, retries=RETRIES,
                    pure=False))

            for _ in range(IN_FLIGHT_PER_WORKER * max(1, n_workers)):
                submit_next()
            bar = None
            if progress:
                from tqdm import tqdm  # lazy: progress bars only on long work

                bar = tqdm(total=len(tasks), desc="dask tasks", unit="task",
                           file=sys.stderr, disable=None, leave=False)
            try:
                for fut in done:
                    submit_next()
                    i = index[fut.key]
                    if fut.status == "finished":
                        part, times[i] = fut.result()
                        lo, hi = tasks[i][0][0], tasks[i][-1][1]
                        out.put(lo, part)
                        del part
                        window_dates(a, out, w, lo, hi)
                    elif _lost(fut) and again[i] < RETRIES:
                        # lost with a worker that died (not an error of the task's
                        # own code): compute it again
                        again[i] += 1
                        submit_next(i)
                        continue
                    else:
                        failed.append((i, _why(fut)))
                    del fut  # released: the worker may drop the result
                    if bar is not None:
                        bar.update(1)
            except (OSError, TimeoutError) as exc:
                raise SchedulerError(f"lost the Dask scheduler at {scheduler} during "
                                     f"the run: {exc}") from exc
            finally:
                if bar is not None:
                    bar.close()
            t_run = time.perf_counter()
    finally:
        for job in touching:  # if the cluster failed: stop touching memory
            job.cancel()
    t_end = time.perf_counter()
    if failed:
        failed.sort()
        named = [f"{_describe(a, tasks[i][0][0], tasks[i][-1][1])}: {why}"
                 for i, why in failed[:MAX_NAMED]]
        more = (f"\n  ... and {len(failed) - MAX_NAMED} more"
                if len(failed) > MAX_NAMED else "")
        raise SchedulerError(
            f"the Dask run could not finish: {len(failed)} of {len(tasks)} task(s) "
            f"failed after {RETRIES + 1} attempts (or their workers kept dying); "
            "no results were returned:\n" + "\n".join(f"  - {t}" for t in named)
            + more)
    extra = {"cluster": (t_sent - t0) + (t_end - t_run), "workers": float(n_workers),
             "tasks": float(len(tasks))}
    return [t for group in times for t in group], extra


class DaskExecutor:
    """Runs the chunks as Dask tasks (:func:`run_spans`).

    Parameters
    ----------
    scheduler
        ``"dask"`` (a local cluster of ``workers`` processes, started and closed per
        run) or a scheduler address (an existing cluster).
    """

    remote = True
    """The chunks' outputs travel from worker processes ("collect" time)."""

    def __init__(self, scheduler: str = "dask") -> None:
        self.scheduler = scheduler

    def run(self, a: Aligned, out: ChunkOut, w: Windows, conv: Conventions,
            spans: Sequence[tuple[int, int]], day0_shift: float, *, workers: int,
            progress: bool) -> tuple[list[tuple[float, float, float]],
                                     dict[str, float]]:
        """Fill ``out`` for every span (see :func:`run_spans`)."""
        return run_spans(a, out, w, conv, spans, day0_shift,
                         scheduler=self.scheduler, workers=workers,
                         progress=progress)
