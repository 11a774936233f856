"""Run a study file end to end: load inputs, fit, save outputs; and refresh it.

This is what ``eventstudy run`` and ``eventstudy refresh`` call; the library user can
call :func:`run_study` too, or build an
:class:`~eventstudy.study.EventStudy` from
in-memory frames.

Fingerprint
-----------
Every run records in ``run.json`` a ``fingerprint``: the SHA-256 of the study file,
events, universe and price data (the price frame's content, whatever its source), the
effective parameters and the eventstudy version. :func:`refresh_study` compares it with
the previous run's and rewrites nothing when they are equal.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from eventstudy.config import Study, load_study
from eventstudy.errors import StudyFileError, UnknownNameError
from eventstudy.estimation.models import MODELS
from eventstudy.execution import check_scheduler
from eventstudy.inference import TESTS, p_adjust_names
from eventstudy.inputs.corporate_actions import adjust_loaded, corporate_action_notes
from eventstudy.inputs.events import (
    check_groups_in_universe,
    load_events,
    load_universe,
)
from eventstudy.inputs.factors import resolve_factors
from eventstudy.inputs.prices import prices_from_frame
from eventstudy.inputs.quality import check_study_prices
from eventstudy.inputs.sources import (
    SOURCES,
    LoadedPrices,
    SourceOptions,
    StudyPlan,
    check_source_name,
    frame_sha256,
    plan_study,
    read_catalog,
    source_for,
    study_tickers,
)
from eventstudy.inputs.volumes import study_volumes
from eventstudy.io.outputset import (
    RUN_FILE,
    check_target,
    output_lock,
    recover,
    sha256_file,
    verify_set,
    write_set,
)
from eventstudy.io.tables import table_format
from eventstudy.study import EventStudy
from eventstudy.version import __version__

OUTPUT_FILES = ("abnormal_returns.csv", "car.csv", "tests.csv", "excluded.csv",
                "diagnostics.csv", "events.csv", "summary.md", "run.json")
_sha_file = sha256_file


def _study_file_hashes(st: Study) -> dict[str, str]:
    """SHA-256 of the study file, the events and the universe that exist."""
    return {label: _sha_file(Path(pth))
            for label, pth in (("study", st.path), ("events", st.events),
                               ("universe", st.universe),
                               ("confounders", st.confounders),
                               ("corporate_actions", st.corporate_actions))
            if pth is not None and Path(pth).is_file()}


def prepare_study(study_file: str | Path, model: str | None = None,
                  tests: Sequence[str] | None = None, scheduler: str | None = None,
                  workers: int | None = None, source: str | None = None) -> Study:
    """Load a study file and apply CLI-style overrides of model, tests, the price
    source (``file`` or ``yahoo``) and the execution backend."""
    study = load_study(study_file)
    if source is not None:
        study = study.with_updates(source=check_source_name(source))
        source_for(study)  # the study has what the source needs (else a typed error)
    elif study.source not in SOURCES:  # the study file's own name
        raise UnknownNameError(f"[data] source = {study.source!r} is not valid; "
                               f"choose one of {', '.join(SOURCES)}",
                               path=str(study.path))
    if scheduler is not None:
        check_scheduler(scheduler, require_dask=False)
        study = study.with_updates(scheduler=scheduler)
    if workers is not None:
        study = study.with_updates(workers=workers)
    if model is not None:
        if model not in MODELS:
            raise UnknownNameError(f"unknown model {model!r}; choose one of "
                                   f"{', '.join(MODELS)}")
        study = study.with_updates(model=replace(study.model, name=model))
    elif study.model.name not in MODELS:  # the study file's own name
        raise UnknownNameError(f"[model] name = {study.model.name!r} is not valid; "
                               f"choose one of {', '.join(MODELS)}",
                               path=str(study.path))
    if (MODELS[study.model.name].needs_factors and study.model.factors is None
            and not study.model.factor_set):
        raise StudyFileError(f"[model] name = {study.model.name!r} needs [model] "
                             "factors = '<factor file>'", path=str(study.path))
    if tests is not None:
        bad = [t for t in tests if t not in TESTS]
        if bad:
            raise UnknownNameError(f"unknown test(s) {', '.join(bad)}; choose from "
                                   f"{', '.join(TESTS)}")
        study = study.with_updates(tests=tuple(tests))
    else:  # the study file's own names, checked against the registry here
        bad = [t for t in study.tests if t not in TESTS]
        if bad:
            raise UnknownNameError(
                f"[tests] names = {bad[0]!r} is not valid; choose one of "
                f"{', '.join(TESTS)}", path=str(study.path))
    try:  # [tests] p_adjust: multiple-testing methods of the inference layer
        p_adjust_names(study.p_adjust)
    except UnknownNameError as exc:
        raise UnknownNameError(str(exc), path=str(study.path)) from exc
    return study


def study_input_paths(st: Study, prices: str | Path | None = None) -> list[Path]:
    """The files a study reads: the study file, events, universe, confounders,
    factors and the prices file (``prices``, else the study's own for ``source =
    "file"``)."""
    paths = [st.path, st.events, st.universe, st.confounders,
             st.corporate_actions, st.model.factors,
             Path(prices) if prices is not None
             else (st.prices if st.source == "file" else None)]
    return [Path(p) for p in paths if p is not None]


def study_prices(st: Study, prices: str | Path | pd.DataFrame | None = None, *,
                 cache_dir: str | Path | None = None, offline: bool = False,
                 provider: Any = None, plan: StudyPlan | None = None,
                 ) -> tuple[pd.DataFrame, str, str]:
    """The price frame a study runs on, with its description and SHA-256
    (:func:`study_loaded` also gives the opens).

    Parameters
    ----------
    st
        The study.
    prices
        A prices file or frame overriding the study's ``[data]`` source.
    cache_dir, offline, provider
        For a cached source (``yahoo``): the cache folder, no network, the provider.
    plan
        The study's plan (:func:`eventstudy.inputs.sources.plan_study`); None
        reads the catalog to make it.

    Returns
    -------
    (pandas.DataFrame, str, str)
        The canonical wide frame, where it came from (for ``run.json``) and the
        SHA-256 of the file (or of the frame's content).
    """
    loaded = study_loaded(st, prices, cache_dir=cache_dir, offline=offline,
                          provider=provider, plan=plan)
    return loaded.frame, loaded.description, loaded.sha256


def study_loaded(st: Study, prices: str | Path | pd.DataFrame | None = None, *,
                 cache_dir: str | Path | None = None, offline: bool = False,
                 provider: Any = None, plan: StudyPlan | None = None,
                 ) -> LoadedPrices:
    """What a study runs on: the price frame, its description, its SHA-256 and the
    open prices (None when the source has none); parameters as
    :func:`study_prices`. A frame given as ``prices`` carries no opens."""
    if isinstance(prices, pd.DataFrame):  # [data] corporate_actions applied
        frame = prices_from_frame(prices)
        return adjust_loaded(st, LoadedPrices(frame, "<DataFrame>",
                                              frame_sha256(frame)), frame.columns)
    source = source_for(st, SourceOptions(
        prices=None if prices is None else Path(prices),
        cache_dir=None if cache_dir is None else Path(cache_dir), provider=provider))
    if plan is None:
        plan = plan_study(st, *read_catalog(st))
    return adjust_loaded(st, source.load(plan, offline=offline), plan.tickers)


def fingerprint(study: Study, inputs: dict[str, str]) -> str:
    """SHA-256 over the inputs' hashes, the effective parameters and the version."""
    params = asdict(study)
    # where and how the work runs never changes the results
    for key in ("path", "scheduler", "workers"):
        params.pop(key, None)
    blob = json.dumps({"inputs": inputs, "params": params, "version": __version__},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _load_catalog(study: Study) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The study's event catalog and universe, read and validated once per run
    (the universe first, as before)."""

    universe = (load_universe(study.universe, models=tuple(MODELS))
                if study.universe else None)
    events = load_events(study.events)
    if universe is not None:  # no event matching the universe: say so (issue 14)
        check_groups_in_universe(events, universe, str(study.events),
                                 str(study.universe))
    return events, universe


def _study_frame(tickers: list[str], frame: pd.DataFrame) -> pd.DataFrame:
    """The price columns of the study's tickers (the whole frame when none is
    there)."""
    keep = [t for t in tickers if t in frame.columns]
    return frame[keep] if keep else frame


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
    study: Study | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    source: str | None = None,
    wait: float | None = None,
    fmt: str | None = None,
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
        Where to write the outputs, as one consistent set (see
        :mod:`eventstudy.io.outputset`); None writes nothing.
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
    study
        An already parsed study (skips reading ``study_file``).
    scheduler, workers
        Execution backend (``local``, ``dask`` or ``tcp://host:port``) and its
        number of threads/workers (0 or None: automatic); they never change the
        results.
    source
        Override of the study's price source: ``file`` or ``yahoo``.
    wait
        Seconds to wait for another run or refresh writing ``out_dir``; None waits.
    fmt
        Format of the tables (``csv``, ``parquet``: a name of
        :data:`eventstudy.io.tables.TABLE_FORMATS`), overriding the study file's
        ``[output] format``.

    Returns
    -------
    (EventStudyResults, dict)
        The results and run information: ``inputs_sha256``, ``fingerprint``,
        ``warnings`` (data-quality findings and alignment warnings) and ``files``;
        with ``out_dir``, also ``summary`` (the results' :meth:`summary`, as
        written to ``summary.md``).

    Raises
    ------
    OutputError
        ``out_dir`` cannot receive the outputs (checked before any work).
    """
    st = study or prepare_study(study_file, model, tests, scheduler, workers, source)
    if fmt is not None:
        table_format(fmt)  # an unknown name: a typed error listing the formats
        st = st.with_updates(output_format=fmt)
    path_prices = None if isinstance(prices, pd.DataFrame) else prices
    if out_dir is not None:
        check_target(out_dir, study_input_paths(st, path_prices))
    inputs = _study_file_hashes(st)
    st, factors_sha = resolve_factors(st, cache_dir=cache_dir, offline=offline)
    if factors_sha is not None:  # a built-in factor set, fetched into the cache
        inputs["factors"] = factors_sha
    catalog = _load_catalog(st)
    loaded = study_loaded(st, prices, cache_dir=cache_dir, offline=offline,
                          plan=plan_study(st, *catalog))
    frame, src = loaded.frame, loaded.description
    inputs["prices"] = loaded.sha256
    volumes = (study_volumes(st, frame, prices, cache_dir)
               if "volume" in st.measures else None)
    if out_dir is None:
        return _fit(st, frame, inputs, {"prices": src}, progress, catalog,
                    opens=loaded.opens, volumes=volumes)
    with output_lock(out_dir, wait):
        return _fit_and_save(st, frame, inputs, {"prices": src}, Path(out_dir),
                             plots=plots, report=None, progress=progress,
                             catalog=catalog, opens=loaded.opens, volumes=volumes)


def _fit(st: Study, frame: pd.DataFrame, inputs: dict[str, str],
         sources: dict[str, str], progress: Callable[[str], None] | None,
         catalog: tuple[pd.DataFrame, pd.DataFrame | None] | None = None,
         opens: pd.DataFrame | None = None,
         volumes: pd.DataFrame | None = None,
         ) -> tuple[Any, dict[str, Any]]:
    """Fit a study on its price frame (and its opens, for ``[model] day_part``);
    the run information for ``run.json``, with the tables of the study's other
    measures (``measures``: file name -> table; :func:`measure_tables`)."""

    events, universe = catalog if catalog is not None else _load_catalog(st)
    if progress is not None:
        progress("quality")
    findings = check_study_prices(
        _study_frame(list(study_tickers(events, universe)), frame), universe)
    quality = [f"{r.ticker}: {r.check} {r.first_date:%Y-%m-%d}..{r.last_date:%Y-%m-%d}"
               f" ({r.count}) {r.detail}".rstrip()
               for r in findings.itertuples(index=False)]
    actions = corporate_action_notes(st, study_tickers(events, universe))
    es = EventStudy.from_study(st, frame, sources, catalog=(events, universe),
                               opens=opens)
    res = es.fit(tests=st.tests, conventions=st.conventions, seed=st.seed,
                 bootstrap_reps=st.bootstrap_reps, p_adjust=st.p_adjust,
                 p_adjust_family=st.p_adjust_family, progress=progress,
                 scheduler=st.scheduler, workers=st.workers)
    fp = fingerprint(st, inputs)
    tables, notes = measure_tables(st, res, volumes)
    info: dict[str, Any] = {
        "inputs_sha256": inputs, "fingerprint": fp,
        "warnings": quality + actions + list(res.data_warnings) + notes["warnings"],
        "files": [],
        "run_json": {"inputs_sha256": inputs, "fingerprint": fp,
                     "study": str(st.path), "data_quality": quality,
                     "corporate_actions": actions,
                     "measures": notes["run_json"],
                     "settings": {**_settings(st), "masking": _masking(st, res)}},
        "events": events, "measures": tables}
    return res, info


MEASURE_FILES = {"volatility": ("volatility.csv",),
                 "volume": ("volume.csv", "volume_excluded.csv")}
"""The files each measure beyond the returns adds to the output set."""


def measure_tables(st: Study, res: Any, volumes: pd.DataFrame | None
                   ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The tables of the study's ``[measures]`` beyond the returns, by file name
    (``volatility.csv``; ``volume.csv`` and ``volume_excluded.csv``), and the
    notes: ``run_json`` (what ``run.json`` records under ``measures``) and
    ``warnings`` (pairs left out of the volume measure, a volatility measure
    standardised by OLS variances)."""
    tables: dict[str, pd.DataFrame] = {}
    run: dict[str, Any] = {"names": list(st.measures)}
    warn: list[str] = []
    if "volatility" in st.measures:
        vt = res.volatility()
        tables["volatility.csv"] = vt
        by = sorted(set(vt["standardised_by"].astype(str)) - {"", "mixed"})
        run["volatility_standardised_by"] = by
        if "ols" in by:
            warn.append("volatility: the squared abnormal returns of pairs whose "
                        "model is not of the GARCH family (or fell back to OLS) are "
                        "standardised by the OLS prediction-error variance, not a "
                        "conditional variance (volatility.csv standardised_by)")
    if "volume" in st.measures:
        vols = volumes if volumes is not None else pd.DataFrame(
            index=pd.DatetimeIndex([]))
        table, excl = res.volume(vols, st.volume_constant)
        tables["volume.csv"] = table
        tables["volume_excluded.csv"] = excl
        run["volume_constant"] = st.volume_constant
        mean_ex = excl[excl["model"] == "mean"]
        run["volume_excluded_pairs"] = int(len(mean_ex))
        if len(mean_ex):
            warn.append(f"volume: {len(mean_ex)} pair(s) have no volume measure "
                        f"(tickers {', '.join(dict.fromkeys(mean_ex['ticker']))}); "
                        "reasons in volume_excluded.csv")
    return tables, {"run_json": run, "warnings": warn}


def _masking(st: Study, res: Any) -> dict[str, Any]:
    """Estimation masking as run (``run.json`` ``settings.masking``): on or off,
    the window, and the estimation returns removed over the kept pairs."""
    d = res.pairs_
    n = d["n_masked"].to_numpy(dtype=np.int64) if "n_masked" in d else np.zeros(0)
    return {"on": bool(st.mask_estimation), "window": list(st.mask_window),
            "total_masked": int(n.sum()), "pairs_masked": int((n > 0).sum())}


def _settings(st: Study) -> dict[str, Any]:
    """Every parameter of the study (paths relative to the study file where they
    can be), for ``run.json``."""
    params = asdict(st)
    for key in ("path", "scheduler", "workers"):
        params.pop(key, None)
    return cast(dict[str, Any], json.loads(json.dumps(params, default=str)))


EVENT_FILE_COLUMNS = ("event_id", "timestamp", "title", "groups", "source", "evidence",
                      "timestamp_source", "confidence", "notes")


def _event_table(events: pd.DataFrame) -> pd.DataFrame:
    """The catalog as the run used it (``events.csv``): its own columns, in catalog
    order, plus the announcement instant in UTC."""
    import pyarrow as pa  # lazy: only the written set needs them
    import pyarrow.compute as pc  # lazy: as pyarrow

    cols = [c for c in EVENT_FILE_COLUMNS if c in events.columns]
    out = events[cols].astype(str).copy()
    # the instants are UTC nanoseconds: their ISO seconds plus "Z", in C
    utc = np.asarray(events["instant_ns"].to_numpy(), dtype=np.int64).view(
        "datetime64[ns]")
    stamps = pa.array(np.datetime_as_string(utc, unit="s"))
    out["instant_utc"] = pd.array(pc.binary_join_element_wise(stamps, "Z", ""),
                                  dtype="str")
    out["date_only"] = np.asarray(events["date_only"], dtype=bool)
    return out.reset_index(drop=True)


def _fit_and_save(st: Study, frame: pd.DataFrame, inputs: dict[str, str],
                  sources: dict[str, str], out: Path, *, plots: bool,
                  report: str | None, progress: Callable[[str], None] | None,
                  catalog: tuple[pd.DataFrame, pd.DataFrame | None] | None = None,
                  opens: pd.DataFrame | None = None,
                  volumes: pd.DataFrame | None = None,
                  ) -> tuple[Any, dict[str, Any]]:
    """Fit, then write the whole output set into ``out`` (the caller holds its
    lock): tables, ``events.csv``, the measures' tables, plots, ``run.json`` and
    the report, staged and swapped in whole."""

    res, info = _fit(st, frame, inputs, sources, progress, catalog, opens=opens,
                     volumes=volumes)
    events = info.pop("events")
    run_json = info.pop("run_json")
    tables = info.pop("measures")
    if progress is not None:
        progress("write")
    # the summary (written to summary.md and shown by the CLI) is computed once,
    # by write_files while it writes the tables
    summary = functools.cache(res.summary)

    def write(stage: Path) -> None:
        if plots or report:
            from eventstudy.reporting.plots import (  # lazy: only with plots
                write_plots,
                write_volatility_plot,
            )

            write_plots(res, stage / "plots")
            if "volatility.csv" in tables:
                write_volatility_plot(tables["volatility.csv"], stage / "plots")
        # the catalog and the measures' tables are written with the results' own
        extra: dict[str, Callable[[], pd.DataFrame]] = {
            "events.csv": lambda: _event_table(events)}
        extra.update({name: (lambda t=table: t) for name, table in tables.items()})
        res.write_files(stage, run_json,
                        report=REPORT_FILE if report else None,
                        fmt=st.output_format, summary=summary, extra=extra)
        if report:
            from eventstudy.reporting.build import (
                build_report,  # lazy: only with a report
            )

            build_report(stage, "html")

    written = write_set(out, write)
    info["summary"] = summary()
    info["files"] = [str(p) for p in written]
    return res, info


REPORT_FILE = "report.html"


@dataclass(frozen=True)
class RefreshOutcome:
    """What :func:`refresh_study` did.

    Attributes
    ----------
    status
        ``"updated"``, ``"unchanged"`` (nothing rewritten) or ``"partial"`` (some
        tickers failed to download; the rest were refreshed).
    exit_code
        0 ok (updated or unchanged), 1 partial, 2 error.
    failed
        Ticker -> reason for tickers that failed to download.
    message
        One line for the log and the terminal.
    """

    status: str
    exit_code: int
    failed: dict[str, str]
    message: str


def refresh_study(
    study_file: str | Path,
    out_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    provider: Any = None,
    offline: bool = False,
    report: bool = True,
    logger: logging.Logger | None = None,
    wait: float | None = 0.0,
    source: str | None = None,
    fmt: str | None = None,
) -> RefreshOutcome:
    """Fetch new days, rerun the study and replace its outputs, idempotently.

    When neither the inputs nor the parameters changed since the run in ``out_dir``
    (same fingerprint in its ``run.json``) and the set there is complete (every file
    ``run.json`` lists, unchanged, plus the report when asked), nothing is
    rewritten. Otherwise the whole set (tables, plots and ``report.html`` with
    ``report``) is rebuilt and swapped in as one (:mod:`eventstudy.io.outputset`), so an
    interrupted refresh leaves the old set, and the next refresh repairs it.

    Parameters
    ----------
    study_file
        The study TOML.
    out_dir
        The output folder.
    cache_dir
        Price cache folder.
    provider
        Price provider for the update (default Yahoo).
    offline
        Do not download; use the cache as it is.
    report
        Rebuild ``report.html`` after a rerun.
    logger
        Where to log progress.
    wait
        Seconds to wait for another run or refresh of ``out_dir`` (0: fail at once
        with :class:`~eventstudy.errors.OutputError`; None: wait).
    source
        Override of the study's price source (``file`` or ``yahoo``).
    fmt
        Format of the tables (``csv``, ``parquet``), overriding the study file's
        ``[output] format``; a change of format rewrites the set.

    Returns
    -------
    RefreshOutcome
    """

    log = logger or logging.getLogger("eventstudy.refresh")
    st = prepare_study(study_file, source=source)
    if fmt is not None:
        table_format(fmt)  # an unknown name: a typed error listing the formats
        st = st.with_updates(output_format=fmt)
    out = check_target(out_dir, study_input_paths(st))
    with output_lock(out, wait):
        recover(out)
        return _refresh(st, out, cache_dir=cache_dir, provider=provider,
                        offline=offline, report=report, log=log)


def _refresh(st: Study, out: Path, *, cache_dir: str | Path | None, provider: Any,
             offline: bool, report: bool, log: logging.Logger) -> RefreshOutcome:
    """The body of :func:`refresh_study`, under the lock of ``out``."""
    failed: dict[str, str] = {}
    inputs = _study_file_hashes(st)
    st, factors_sha = resolve_factors(st, cache_dir=cache_dir, offline=offline)
    if factors_sha is not None:  # a built-in factor set, fetched into the cache
        inputs["factors"] = factors_sha
    catalog = _load_catalog(st)
    plan = plan_study(st, *catalog)
    source = source_for(st, SourceOptions(
        cache_dir=None if cache_dir is None else Path(cache_dir), provider=provider))
    if not offline:
        rep = source.fetch(plan)
        failed = dict(rep.failed)
        if rep.results:  # a source with nothing to download reports no ticker
            log.info("price update: %d rows added, %d failed", rep.rows_added,
                     len(failed))
        for t, why in failed.items():
            log.warning("download failed: %s: %s", t, why)
    loaded = adjust_loaded(st, source.load(plan, offline=True, partial=True),
                           plan.tickers)
    frame = loaded.frame
    volumes = (study_volumes(st, frame, cache_dir=cache_dir)
               if "volume" in st.measures else None)
    inputs["prices"] = loaded.sha256
    sources = {"prices": loaded.description}
    fp = fingerprint(st, inputs)
    if _up_to_date(out, fp, REPORT_FILE if report else None):
        msg = f"{out}: up to date (fingerprint {fp[:12]}); nothing rewritten"
        log.info(msg)
        status, code = ("partial", 1) if failed else ("unchanged", 0)
        return RefreshOutcome(status, code, failed, msg)
    _fit_and_save(st, frame, inputs, sources, out, plots=report,
                  report=REPORT_FILE if report else None, progress=None,
                  catalog=catalog, opens=loaded.opens, volumes=volumes)
    msg = f"{out}: outputs rewritten (fingerprint {fp[:12]})"
    if failed:
        msg += f"; {len(failed)} ticker(s) failed: {', '.join(sorted(failed))}"
    log.info(msg)
    return RefreshOutcome("partial" if failed else "updated", 1 if failed else 0,
                          failed, msg)


def _up_to_date(out: Path, fp: str, report: str | None) -> bool:
    """The set in ``out`` is complete, consistent, has the parts asked for, and was
    made from the same inputs and parameters (fingerprint)."""
    if verify_set(out):
        return False
    try:
        info = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    outputs = info.get("outputs") or {}
    if report is not None and outputs.get("report") != report:
        return False
    return bool(info.get("fingerprint") == fp)
