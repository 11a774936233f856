"""Run a study file end to end: load inputs, fit, save outputs.

This is what ``eventstudy run`` and ``eventstudy refresh`` call; the library user can
call :func:`run_study` too, or build an :class:`~eventstudy.engine.EventStudy` from
in-memory frames.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd

from eventstudy.engine import EventStudy
from eventstudy.errors import UnknownNameError


def run_study(
    study_file: str | Path,
    *,
    prices: str | Path | pd.DataFrame | None = None,
    out_dir: str | Path | None = None,
    model: str | None = None,
    tests: Sequence[str] | None = None,
    offline: bool = False,
    cache_dir: str | Path | None = None,
    plots: bool = False,
    progress: Callable[[str], None] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Run a study file end to end: load, fit, and (with ``out_dir``) save.

    Parameters
    ----------
    study_file
        The study TOML.
    prices
        A prices file or frame; None uses the study's ``[data]`` source (a file, or
        the local Yahoo cache).
    out_dir
        Where to write the outputs; None writes nothing.
    model, tests
        Overrides of the study file's model and tests.
    offline
        Never touch the network (cache source only).
    cache_dir
        Price cache folder for the Yahoo source.
    plots
        Also write CAR plots into ``out_dir/plots``.
    progress
        Stage callback.

    Returns
    -------
    (EventStudyResults, dict)
        The results and run information (input hashes, warnings, files written).
    """
    from eventstudy.study import load_study

    study = load_study(study_file)
    if model is not None:
        from dataclasses import replace

        from eventstudy.study import MODEL_NAMES, ModelName

        if model not in MODEL_NAMES:
            raise UnknownNameError(f"unknown model {model!r}; choose one of "
                                   f"{', '.join(MODEL_NAMES)}")
        study = study.with_updates(model=replace(study.model,
                                                 name=cast(ModelName, model)))
    if tests is not None:
        from eventstudy.inference import TESTS

        bad = [t for t in tests if t not in TESTS]
        if bad:
            raise UnknownNameError(f"unknown test(s) {', '.join(bad)}; choose from "
                                   f"{', '.join(TESTS)}")
        study = study.with_updates(tests=tuple(tests))
    inputs: dict[str, str] = {}

    def sha(p: Path) -> str:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()

    for label, pth in (("study", study.path), ("events", study.events),
                       ("universe", study.universe)):
        if pth is not None and Path(pth).is_file():
            inputs[label] = sha(Path(pth))
    sources: dict[str, str] = {}
    if isinstance(prices, pd.DataFrame):
        frame = prices
        sources["prices"] = "<DataFrame>"
    else:
        path = Path(prices) if prices is not None else (
            study.prices if study.source == "file" else None)
        if path is not None:
            from eventstudy.prices import load_prices

            frame = load_prices(path)
            inputs["prices"] = sha(path)
            sources["prices"] = str(path)
        else:
            from eventstudy.prices import load_study_prices

            frame, src = load_study_prices(study, cache_dir=cache_dir,
                                           offline=offline)
            sources["prices"] = src
    es = EventStudy.from_study(study, frame, sources=sources)
    res = es.fit(tests=study.tests, conventions=study.conventions, seed=study.seed,
                 bootstrap_reps=study.bootstrap_reps, progress=progress)
    info: dict[str, Any] = {"inputs_sha256": inputs, "warnings":
                            list(res.data_warnings), "files": []}
    if out_dir is not None:
        info["files"] = [str(p) for p in res.save(out_dir, {"inputs_sha256": inputs,
                                                            "study": str(study.path)})]
        if plots:
            from eventstudy.report import write_plots

            info["files"] += [str(p) for p in write_plots(res, Path(out_dir) / "plots")]
    return res, info
