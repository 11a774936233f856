"""The Dask backend (``fit(scheduler=...)``, eventstudy/distributed.py).

Every run here is compared with the local (threaded) run of the same study: ARs,
CARs and the other per-pair arrays bitwise, the tests table to 1e-12. Worker
processes are spawned, so the fault injections are installed in them with
``client.run`` (nested functions, which cloudpickle ships by value): they wrap
``eventstudy.estimation.pipeline.run_chunk``, which the tasks look up at call time.
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed", reason="dask.distributed is not installed "
                    '(pip install "eventstudy[dask]")')

import eventstudy.execution.dask as backend  # noqa: E402
from eventstudy.bench import main as bench_main  # noqa: E402
from eventstudy.bench import make_panel  # noqa: E402
from eventstudy.config import Windows  # noqa: E402
from eventstudy.errors import (  # noqa: E402
    EventStudyWarning,
    SchedulerError,
    UnknownNameError,
)
from eventstudy.execution import check_scheduler  # noqa: E402
from eventstudy.study import EventStudy  # noqa: E402

WINDOWS = Windows(estimation=(-250, -11), event=(-10, 10),
                  car=((0, 0), (0, 1), (-1, 1), (-5, 5)), min_estimation_obs=120)
TESTS = ("csect_t", "patell", "bmp", "corrado", "boot")
BITWISE = ("alpha", "beta", "sigma2", "nobs", "r2", "ret", "normal", "ar", "sar",
           "car_arr", "car_var", "car_days", "resid", "evt_dates")
CHUNK = 16


@pytest.fixture(scope="module")
def study() -> EventStudy:
    """A small panel with gaps, a late starter and an unknown ticker (exclusions)."""
    p = make_panel(30, 420, 150, seed=11)
    prices = p.prices.copy()
    holes = np.random.default_rng(2).random(prices.shape) < 0.02
    holes[:, -1] = False  # the market stays complete
    prices = prices.mask(holes)
    prices.iloc[:300, 3] = np.nan  # S0003: too few estimation returns
    extra = pd.DataFrame({"event_id": ["X_UNKNOWN", "X_S3"],
                          "timestamp": [p.events["timestamp"].iloc[0],
                                        str(prices.index[330].date())],
                          "ticker": ["NOPE", "S0003"]})
    events = pd.concat([p.events, extra], ignore_index=True)
    return EventStudy(prices, events, windows=WINDOWS, calendar="XNYS",
                      benchmark="MKT")


@pytest.fixture(scope="module")
def local(study: EventStudy) -> Any:
    res = study.fit(tests=TESTS, chunk_size=CHUNK, workers=1, bootstrap_reps=199)
    assert len(res.excluded_) >= 2 and res.n_pairs > 100
    return res


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, Any]]:
    """A 2-worker LocalCluster (processes) shared by the address tests, started
    with the allocator settings docs/cluster.md recommends for real clusters."""
    import dask
    from distributed import Client, LocalCluster

    env = "distributed.nanny.pre-spawn-environ"
    with dask.config.set({f"{env}.MALLOC_TRIM_THRESHOLD_": 67108864,
                          f"{env}.MALLOC_MMAP_THRESHOLD_": 33554432}):
        lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None)
    client = Client(lc, set_as_default=False)
    try:
        yield lc.scheduler_address, client
    finally:
        client.close()
        lc.close()


def _same(res: Any, ref: Any) -> None:
    for name in BITWISE:
        got = np.ascontiguousarray(np.asarray(getattr(res, name))).tobytes()
        want = np.ascontiguousarray(np.asarray(getattr(ref, name))).tobytes()
        assert got == want, name
    pd.testing.assert_frame_equal(res.tests_, ref.tests_, check_exact=False,
                                  rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(res.pairs_, ref.pairs_)
    pd.testing.assert_frame_equal(res.excluded_, ref.excluded_)


def _injector(kind: str, path: str, start: int) -> Callable[[], None]:
    """A function that, run on a worker, wraps ``run_chunk`` so that the chunk whose
    first candidate is ``start`` kills its worker once (``kill``; the marker file
    ``path`` makes it a one-off) or raises on every attempt (``fail``; each attempt
    appends a line to ``path``)."""

    def install() -> None:
        import os

        import eventstudy.estimation.pipeline as eng

        orig = getattr(eng, "_run_chunk_unpatched", eng.run_chunk)

        def patched(a: Any, out: Any, w: Any, conv: Any, lo: int, hi: int,
                    day0_shift: float = 0.0) -> Any:
            if lo < hi and int(a.cand[lo]) == start:
                if kind == "kill":
                    try:
                        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                    except FileExistsError:
                        pass
                    else:
                        os.close(fd)
                        os._exit(1)  # the worker process dies mid-run
                else:
                    with open(path, "a", encoding="utf-8") as f:
                        f.write("attempt\n")
                    raise RuntimeError("planted failure")
            return orig(a, out, w, conv, lo, hi, day0_shift)

        eng._run_chunk_unpatched = orig  # type: ignore[attr-defined]
        eng.run_chunk = patched

    return install


def _uninstall() -> None:
    import eventstudy.estimation.pipeline as eng

    orig = getattr(eng, "_run_chunk_unpatched", None)
    if orig is not None:
        eng.run_chunk = orig
        del eng._run_chunk_unpatched


# ---------------------------------------------------------------- equality
def test_local_dask_cluster_equals_the_local_run(
        study: EventStudy, local: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EventStudyWarning)  # workers are not slow
        res = study.fit(tests=TESTS, chunk_size=CHUNK, bootstrap_reps=199,
                        scheduler="dask", workers=2)
    _same(res, local)
    # the nanny's pre-spawn variables did not leak into this process
    assert os.environ["OMP_NUM_THREADS"] == "7"
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
    assert res.timings["workers"] == 2
    assert res.timings["tasks"] == res.timings["chunks"] > 5
    assert res.timings["cluster"] > 0


def test_scheduler_address_with_other_chunks_and_a_progress_bar(
        study: EventStudy, local: Any, cluster: tuple[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    stages: list[str] = []
    res = study.fit(tests=TESTS, chunk_size=7, bootstrap_reps=199,
                    scheduler=cluster[0], progress=stages.append)
    _same(res, local)
    assert res.timings["chunks"] > 15
    assert "dask tasks" in err.getvalue()
    assert stages[0] == "align and stack" and "tests" in stages


# ---------------------------------------------------------------- failures
def test_a_worker_killed_mid_run_is_retried(study: EventStudy, local: Any,
                                            cluster: tuple[str, Any],
                                            tmp_path: Path) -> None:
    address, client = cluster
    marker = tmp_path / "killed"
    client.run(_injector("kill", str(marker), 4 * CHUNK))
    try:
        res = study.fit(tests=TESTS, chunk_size=CHUNK, bootstrap_reps=199,
                        scheduler=address)
    finally:
        client.run(_uninstall)
    assert marker.exists()  # a worker did die on chunk 64:80
    _same(res, local)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it


def test_a_chunk_failing_on_every_attempt_raises_naming_its_span(
        study: EventStudy, cluster: tuple[str, Any], tmp_path: Path) -> None:
    address, client = cluster
    attempts = tmp_path / "attempts"
    client.run(_injector("fail", str(attempts), 2 * CHUNK))
    try:
        with pytest.raises(SchedulerError) as info:
            study.fit(tests=("csect_t",), chunk_size=CHUNK, scheduler=address)
    finally:
        client.run(_uninstall)
    msg = str(info.value)
    assert f"candidates {2 * CHUNK}:{3 * CHUNK}" in msg
    assert "RuntimeError: planted failure" in msg and "1 of " in msg
    lines = attempts.read_text(encoding="utf-8").splitlines()
    assert len(lines) == backend.RETRIES + 1


def test_without_dask_the_error_says_how_to_install(
        study: EventStudy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    for scheduler in ("dask", "tcp://127.0.0.1:8786"):
        with pytest.raises(SchedulerError, match=r'pip install "eventstudy\[dask\]"'):
            study.fit(tests=("csect_t",), scheduler=scheduler)
    assert study.fit(tests=("csect_t",), scheduler="local").n_pairs > 0
    check_scheduler("tcp://10.0.0.5:8786", require_dask=False)  # spelling only


def test_unknown_scheduler_and_unreachable_address(
        study: EventStudy, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UnknownNameError, match="unknown scheduler 'threads'"):
        study.fit(tests=("csect_t",), scheduler="threads")
    monkeypatch.setattr(backend, "CONNECT_TIMEOUT", 1.0)
    with pytest.raises(SchedulerError, match="could not use the Dask scheduler"):
        study.fit(tests=("csect_t",), scheduler="tcp://127.0.0.1:9")


def test_slow_allocator_settings_are_recognised() -> None:
    assert not backend._slow_malloc({})
    assert backend._slow_malloc({"MALLOC_TRIM_THRESHOLD_": "65536"})  # Dask's
    assert not backend._slow_malloc({"MALLOC_TRIM_THRESHOLD_": "67108864",
                                     "MALLOC_MMAP_THRESHOLD_": "33554432"})
    assert backend._slow_malloc({"MALLOC_MMAP_THRESHOLD_": "131072"})


def test_bench_runs_on_a_dask_scheduler(cluster: tuple[str, Any],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = bench_main(["--securities", "20", "--days", "300", "--events", "80",
                       "--loop-pairs", "10", "--chunk-size", "16",
                       "--scheduler", cluster[0]])
    text = capsys.readouterr().out
    assert code == 0
    assert "Dask worker(s)" in text and "cluster" in text and "OK" in text
