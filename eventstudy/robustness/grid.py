"""A robustness grid: the study rerun under alternative normal-return models,
estimation-window lengths and estimation-window masks, so that a reader sees at a
glance which findings survive.

Specifications (:func:`grid_specs`): the study as it is (``base``), then every
combination of

- a model of :data:`~eventstudy.estimation.models.MODELS` (default
  :data:`DEFAULT_MODELS`: market, market_adjusted, constant_mean, dimson); a
  security with its own model in the universe keeps it (the yen's constant mean);
- an estimation window of ``L`` sessions ending where the study's ends (default
  120 and 250), with ``min_estimation_obs`` scaled in proportion
  (``ceil(L x min / length)`` of the study's window);
- the estimation window masked or not (``[confounding] mask_estimation``, with
  the study's ``mask_window``), when the study supports masking;

a combination identical to the base being left out.

Each specification is fitted through the same engine as ``eventstudy run``
(``EventStudy.from_study`` on the study's prices) with the study's tests plus
``bmp_kp`` and ``series_t``, so that every event x group cell has the p-value the
summary would star it with (:func:`eventstudy.results.summary.headline_p_values`:
``bmp_kp`` where the pairs share a day 0, ``series_t`` for a single series, the
study's first test otherwise). A cell ``survives`` a specification when its CAAR
has the sign of the base CAAR and that p-value is below :data:`ALPHA`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eventstudy.config import Study
from eventstudy.errors import InputError, NoPairsError, StudyFileError, UnknownNameError
from eventstudy.estimation.models import MODELS
from eventstudy.inference.registry import SERIES_TESTS
from eventstudy.inputs.sources import read_catalog
from eventstudy.io.csv import write_csv
from eventstudy.io.markup import md_table
from eventstudy.io.outputset import (
    check_target,
    output_lock,
    sha256_file,
    write_run_json,
    write_set,
)
from eventstudy.results.summary import ROBUST_TEST, headline_p_values, stars
from eventstudy.study import EventStudy
from eventstudy.workflows import (
    fingerprint,
    prepare_study,
    study_input_paths,
    study_loaded,
)

DEFAULT_MODELS = ("market", "market_adjusted", "constant_mean", "dimson")
DEFAULT_ESTIMATION = (120, 250)
MASKS = ("both", "on", "off")
SHORT_MODELS = {"market": "mkt", "market_adjusted": "madj", "constant_mean": "cmean",
                "dimson": "dim", "scholes_williams": "sw", "factor": "fac"}
"""Model abbreviations of the wide view's column labels."""
ALPHA = 0.05
"""A cell survives a specification with p below this (and the base CAAR's sign)."""
GRID_FILE = "robustness.csv"
GRID_MD = "robustness.md"
TABLE_COLUMNS = ("spec", "model", "estimation_start", "estimation_end", "masked",
                 "base", "event_id", "group", "window_start", "window_end", "n",
                 "caar", "p_value", "p_test", "survives")


@dataclass(frozen=True)
class GridSpec:
    """One specification of the grid.

    Attributes
    ----------
    name
        ``base`` or ``<model>/<L>`` (+ ``/masked``).
    model
        The study's model name in this specification.
    estimation
        The estimation window (sessions relative to day 0).
    min_estimation_obs
        The minimum of estimation returns.
    masked
        Whether the estimation windows are masked.
    base
        The study as it is.
    """

    name: str
    model: str
    estimation: tuple[int, int]
    min_estimation_obs: int
    masked: bool
    base: bool = False

    @property
    def label(self) -> str:
        """A short column label: ``mkt/120/m`` for ``market/120/masked``."""
        if self.base:
            return "base"
        short = SHORT_MODELS.get(self.model, self.model)
        return f"{short}/{self.estimation_length}" + ("/m" if self.masked else "")

    @property
    def estimation_length(self) -> int:
        """Sessions in the estimation window."""
        return self.estimation[1] - self.estimation[0] + 1


@dataclass(frozen=True)
class GridResult:
    """The robustness grid.

    Attributes
    ----------
    table
        One row per specification x event x group x CAR window, specifications
        in :func:`grid_specs` order, then cells in the base run's order
        (:data:`TABLE_COLUMNS`).
    specs
        The specifications.
    parameters
        What was run (for ``run.json``).
    warnings
        Masking unsupported, specifications without pairs.
    """

    table: pd.DataFrame
    specs: tuple[GridSpec, ...]
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def wide(self, window: tuple[int, int]) -> pd.DataFrame:
        """One CAR window: a row per event x group, a column per specification
        (labelled :attr:`GridSpec.label`; CAAR in percent with the stars of its
        p-value; ``!`` marks a sign opposite to the base) and ``survives``
        (``k/S``).

        Raises
        ------
        InputError
            ``window`` is not a CAR window of the grid.
        """
        t = self.table[(self.table["window_start"] == window[0])
                       & (self.table["window_end"] == window[1])]
        if t.empty:
            raise InputError(f"CAR window {list(window)} is not in the grid; use one "
                             "of the study's [windows] car")
        key = ["event_id", "group"]
        base = t[t["base"]].set_index(key)
        out = base.reset_index()[key].copy()
        out["n"] = base["n"].to_numpy()
        sign0 = np.sign(base["caar"].to_numpy(dtype=np.float64))
        for s in self.specs:
            r = t[t["spec"] == s.name].set_index(key).reindex(base.index)
            c = r["caar"].to_numpy(dtype=np.float64)
            p = r["p_value"].to_numpy(dtype=np.float64)
            flip = (np.isfinite(c) & np.isfinite(sign0) & (sign0 != 0)
                    & (np.sign(c) != sign0))
            out[s.label] = [("" if not np.isfinite(v) else
                            f"{100 * v:.2f}{stars(q)}{'!' if f else ''}")
                           for v, q, f in zip(c, p, flip, strict=True)]
        surv = t.groupby(key, sort=False)["survives"].agg(["sum", "size"])
        surv = surv.reindex(base.index)
        out["survives"] = [f"{int(a)}/{int(b)}" for a, b in
                           zip(surv["sum"], surv["size"], strict=True)]
        return out

    def to_markdown(self) -> str:
        """A table per CAR window (:meth:`wide`) with the specifications' key."""
        wins = list(dict.fromkeys(zip(self.table["window_start"],
                                      self.table["window_end"], strict=True)))
        lines = ["# Robustness grid", "",
                 f"CAAR in % per specification; stars from the p-value the summary "
                 f"stars with ('{ROBUST_TEST}' where the pairs share a day 0, "
                 "'series_t' for one series, the study's first test otherwise): "
                 "* < 0.10, ** < 0.05, *** < 0.01; '!' = sign opposite to the base. "
                 f"'survives' counts the specifications where the CAAR has the base's "
                 f"sign and p < {ALPHA:g}.", "", "Specifications:", ""]
        for s in self.specs:
            lines.append(f"- `{s.label}` ({s.name}): model {s.model}, estimation "
                         f"{list(s.estimation)} (min {s.min_estimation_obs}), "
                         f"{'masked' if s.masked else 'unmasked'}"
                         + (" (the study as it is)" if s.base else ""))
        for a, b in wins:
            w = self.wide((int(a), int(b)))
            lines += ["", f"## CAR[{a},{b}]", ""]
            cols = list(w.columns)
            lines += md_table(cols, [[str(v) for v in row]
                                     for row in w.itertuples(index=False)])
        if self.warnings:
            lines += ["", "Warnings:", ""] + [f"- {x}" for x in self.warnings]
        return "\n".join(lines) + "\n"


def _has_masking(study: Study) -> bool:
    return "mask_estimation" in {f.name for f in fields(study)}


def _parse_lengths(values: Sequence[int]) -> tuple[int, ...]:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2:
            raise InputError(f"estimation length {v!r}: give whole numbers of "
                             "sessions >= 2, e.g. 120,250")
        out.append(int(v))
    if not out:
        raise InputError("no estimation length given; e.g. 120,250")
    return tuple(dict.fromkeys(out))


def grid_specs(study: Study, models: Sequence[str] = DEFAULT_MODELS,
               estimation: Sequence[int] = DEFAULT_ESTIMATION,
               mask: str = "both") -> tuple[tuple[GridSpec, ...], tuple[str, ...]]:
    """The specifications of the grid (module docstring) and any warning.

    Parameters
    ----------
    study
        The prepared study.
    models
        Model names (:data:`~eventstudy.estimation.models.MODELS`).
    estimation
        Estimation-window lengths in sessions, each ending at the study's
        estimation end.
    mask
        ``both`` (masked and unmasked), ``on`` or ``off``.

    Returns
    -------
    (tuple of GridSpec, tuple of str)
        The base first; then models x lengths x masks in the order given.

    Raises
    ------
    UnknownNameError
        An unknown model or mask choice.
    StudyFileError
        A model that needs factors the study does not give.
    InputError
        A bad length (or one that does not fit before the event window), or
        ``mask = "on"`` for a study without masking support.
    """
    models = tuple(dict.fromkeys(models))
    if not models:
        raise UnknownNameError(f"no model given; choose from {', '.join(MODELS)}")
    bad = [m for m in models if m not in MODELS]
    if bad:
        raise UnknownNameError(f"unknown model(s) {', '.join(bad)}; choose from "
                               f"{', '.join(MODELS)}")
    for m in models:
        if MODELS[m].needs_factors and study.model.factors is None:
            raise StudyFileError(f"model {m!r} needs [model] factors = '<factor "
                                 "file>' in the study file; leave it out of --models",
                                 path=None if study.path is None else str(study.path))
    lengths = _parse_lengths(estimation)
    if mask not in MASKS:
        raise UnknownNameError(f"mask {mask!r}: choose one of {', '.join(MASKS)}")
    warnings: list[str] = []
    can_mask = _has_masking(study)
    if mask == "on" and not can_mask:
        raise InputError("mask = 'on': this eventstudy has no estimation masking "
                         "([confounding] mask_estimation); use --mask off")
    if mask == "both" and not can_mask:
        warnings.append("estimation masking is not available: the grid is "
                        "unmasked only")
    masks = {"both": (False, True), "on": (True,), "off": (False,)}[mask]
    masks = masks if can_mask else (False,)
    w = study.windows
    end = w.estimation[1]
    base_mask = bool(getattr(study, "mask_estimation", False))
    base = GridSpec("base", study.model.name, w.estimation, w.min_estimation_obs,
                    base_mask, True)
    specs = [base]
    for m in models:
        for L in lengths:
            mobs = min(L, math.ceil(L * w.min_estimation_obs / w.estimation_length))
            for mk in masks:
                s = GridSpec(f"{m}/{L}" + ("/masked" if mk else ""), m,
                             (end - L + 1, end), mobs, mk)
                if (s.model, s.estimation, s.min_estimation_obs, s.masked) == (
                        base.model, base.estimation, base.min_estimation_obs,
                        base.masked):
                    continue
                specs.append(s)
    return tuple(specs), tuple(warnings)


def _spec_study(study: Study, spec: GridSpec) -> Study:
    """The study under ``spec``, with the robust and per-series tests added."""
    tests = tuple(dict.fromkeys((*study.tests, ROBUST_TEST, SERIES_TESTS[0])))
    # the base keeps the study's windows as they are (incl. estimation = "all");
    # every other spec is a fixed window of its length
    windows = study.windows if spec.base else replace(
        study.windows, estimation=spec.estimation, estimation_mode="window",
        min_estimation_obs=spec.min_estimation_obs)
    changes: dict[str, Any] = {
        "model": replace(study.model, name=spec.model),
        "windows": windows,
        "tests": tests}
    if _has_masking(study):
        changes["mask_estimation"] = spec.masked
    return study.with_updates(**changes)


def robustness_grid(study: Study, prices: str | Path | pd.DataFrame | None = None, *,
                    models: Sequence[str] = DEFAULT_MODELS,
                    estimation: Sequence[int] = DEFAULT_ESTIMATION,
                    mask: str = "both", cache_dir: str | Path | None = None,
                    offline: bool = False,
                    progress: Callable[[int, int], None] | None = None
                    ) -> GridResult:
    """Run the grid (module docstring).

    Parameters
    ----------
    study
        The prepared study (:func:`eventstudy.workflows.prepare_study`).
    prices
        A prices file or frame overriding the study's source.
    models, estimation, mask
        As :func:`grid_specs`.
    cache_dir, offline
        For a cached price source.
    progress
        Called with ``(specifications done, specifications)``.

    Returns
    -------
    GridResult
    """
    specs, warns = grid_specs(study, models, estimation, mask)
    warnings = list(warns)
    events, universe = read_catalog(study)
    loaded = study_loaded(study, prices, cache_dir=cache_dir, offline=offline)
    main = study.tests[0]
    parts: list[pd.DataFrame] = []
    for i, spec in enumerate(specs):
        st = _spec_study(study, spec)
        try:
            res = EventStudy.from_study(
                st, loaded.frame, {"prices": loaded.description},
                catalog=(events, universe), opens=loaded.opens).fit(
                tests=st.tests, conventions=st.conventions, seed=st.seed,
                bootstrap_reps=st.bootstrap_reps, workers=st.workers)
        except NoPairsError as exc:
            if spec.base:
                raise
            warnings.append(f"{spec.name}: no pair kept ({exc})")
            h = pd.DataFrame(columns=["event_id", "group", "window_start",
                                      "window_end", "n", "caar", "p_value",
                                      "p_test"])
        else:
            h = headline_p_values(res, main)
        h.insert(0, "spec", spec.name)
        parts.append(h)
        if progress is not None:
            progress(i + 1, len(specs))
    table = _assemble(specs, parts)
    params = {"models": list(dict.fromkeys(models)),
              "estimation_lengths": list(_parse_lengths(estimation)), "mask": mask,
              "alpha": ALPHA, "main_test": main, "robust_test": ROBUST_TEST,
              "prices": loaded.description, "prices_sha256": loaded.sha256,
              "specs": [{"name": s.name, "model": s.model,
                         "estimation": list(s.estimation),
                         "min_estimation_obs": s.min_estimation_obs,
                         "masked": s.masked, "base": s.base} for s in specs]}
    return GridResult(table, specs, params, tuple(warnings))


def _assemble(specs: tuple[GridSpec, ...], parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Every specification on the same cells (the base's first, then any other),
    with ``survives``."""
    key = ["event_id", "group", "window_start", "window_end"]
    allp = pd.concat(parts, ignore_index=True)
    cells = allp[key].drop_duplicates().reset_index(drop=True)
    by = {s.name: s for s in specs}
    rows = []
    for s, h in zip(specs, parts, strict=True):
        r = cells.merge(h.drop(columns=["spec"]), on=key, how="left")
        r.insert(0, "base", s.base)
        r.insert(0, "masked", s.masked)
        r.insert(0, "estimation_end", s.estimation[1])
        r.insert(0, "estimation_start", s.estimation[0])
        r.insert(0, "model", s.model)
        r.insert(0, "spec", s.name)
        rows.append(r)
    t = pd.concat(rows, ignore_index=True)
    t["n"] = pd.to_numeric(t["n"], errors="coerce").fillna(0).astype(np.int64)
    t["caar"] = pd.to_numeric(t["caar"], errors="coerce").astype(np.float64)
    t["p_value"] = pd.to_numeric(t["p_value"], errors="coerce").astype(np.float64)
    t["p_test"] = t["p_test"].fillna("").astype(str)
    base = t[t["spec"] == next(n for n, s in by.items() if s.base)].set_index(key)
    sign0 = np.sign(base["caar"].reindex(pd.MultiIndex.from_frame(t[key]))
                    .to_numpy(dtype=np.float64))
    c = t["caar"].to_numpy(dtype=np.float64)
    p = t["p_value"].to_numpy(dtype=np.float64)
    t["survives"] = (np.isfinite(c) & np.isfinite(p) & (sign0 != 0)
                     & (np.sign(c) == sign0) & (p < ALPHA))
    return t[list(TABLE_COLUMNS)].reset_index(drop=True)


def run_robustness(study_file: str | Path, out_dir: str | Path, *,
                   models: Sequence[str] = DEFAULT_MODELS,
                   estimation: Sequence[int] = DEFAULT_ESTIMATION,
                   mask: str = "both", prices: str | Path | None = None,
                   cache_dir: str | Path | None = None, offline: bool = False,
                   progress: Callable[[int, int], None] | None = None,
                   wait: float | None = None) -> tuple[GridResult, list[Path]]:
    """The ``eventstudy robustness`` command: :func:`robustness_grid` on a study
    file, written into ``out_dir`` as one output set (``robustness.csv``,
    ``robustness.md``, ``run.json``).

    Returns
    -------
    (GridResult, list of pathlib.Path)
    """
    st = prepare_study(study_file)
    grid_specs(st, models, estimation, mask)  # bad options fail before any work
    out = check_target(out_dir, study_input_paths(st, prices))
    with output_lock(out, wait):
        result = robustness_grid(st, prices, models=models, estimation=estimation,
                                 mask=mask, cache_dir=cache_dir, offline=offline,
                                 progress=progress)
        inputs = {p.name: sha256_file(p) for p in study_input_paths(st, prices)
                  if p.is_file()}
        inputs["prices"] = str(result.parameters["prices_sha256"])
        info = {"command": "robustness", "study": str(st.path),
                "inputs_sha256": inputs, "fingerprint": fingerprint(st, inputs),
                "parameters": result.parameters, "warnings": list(result.warnings)}

        def write(stage: Path) -> None:
            write_csv(result.table, stage / GRID_FILE)
            (stage / GRID_MD).write_text(result.to_markdown(), encoding="utf-8")
            write_run_json(stage, json.loads(json.dumps(info, default=str)))

        files = write_set(out, write)
    return result, files
