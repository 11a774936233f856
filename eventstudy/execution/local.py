"""The local executor: stages 2-4 on a thread pool in this process.

Each chunk writes its own rows of the shared outputs, so the threads never touch the
same memory; numpy releases the GIL in the batched operations and the compiled
kernel runs ``nogil``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from eventstudy.estimation.pipeline import run_chunk

if TYPE_CHECKING:
    from eventstudy.alignment import Aligned
    from eventstudy.config import Conventions, Windows
    from eventstudy.estimation.containers import ChunkOut


class LocalExecutor:
    """Runs the chunks on ``workers`` threads (one thread: in order, no pool).

    Parameters
    ----------
    scheduler
        ``"local"`` (the registry's name; kept for symmetry with other executors).
    """

    remote = False
    """Whether the chunks' outputs travel from other processes (no)."""

    def __init__(self, scheduler: str = "local") -> None:
        self.scheduler = scheduler

    def run(self, a: Aligned, out: ChunkOut, w: Windows, conv: Conventions,
            spans: Sequence[tuple[int, int]], day0_shift: float, *, workers: int,
            progress: bool) -> tuple[list[tuple[float, float, float]],
                                     dict[str, float]]:
        """Fill ``out`` for every span; each span's (gather, estimate, AR/CAR)
        seconds and ``{"workers": workers}``."""

        def job(span: tuple[int, int]) -> tuple[float, float, float]:
            with np.errstate(divide="ignore", invalid="ignore"):
                return run_chunk(a, out, w, conv, span[0], span[1], day0_shift)

        if workers == 1 or len(spans) <= 1:
            parts = [job(s) for s in spans]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(job, spans))
        return parts, {"workers": float(workers)}
