"""Running the registered tests: partitions by scope, one tidy table, BH p-values.

:func:`run_tests` makes the run's :class:`~eventstudy.inference.reduction.Shared`
intermediates once, the :class:`~eventstudy.inference.reduction.WindowValues` once
per window and a :class:`~eventstudy.inference.reduction.Sample` once per window
and partition, and hands the sample to each requested test of the registry
(:data:`~eventstudy.inference.registry.TESTS`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from eventstudy.config import Windows
from eventstudy.errors import UnknownNameError
from eventstudy.inference.reduction import (
    SCOPES,
    Groups,
    PairData,
    Sample,
    Shared,
    TestStat,
    WindowValues,
)
from eventstudy.inference.registry import EXTRAS, PAIR_SCOPE, TESTS, WEIGHTED_TESTS


def make_groups(pairs: pd.DataFrame, scope: str) -> Groups:
    """Partition pairs by scope: ``all``, ``group``, ``event``, ``event_group`` or
    ``pair`` (one group per pair, labelled ``event_id:ticker``).

    Labels keep first-appearance order (catalog, then universe order).
    """
    P = len(pairs)
    if scope == "all":
        return Groups(scope, np.zeros(P, dtype=np.int64), ("all",))
    if scope == "group":
        key = pairs["group"].astype(str)
    elif scope == "event":
        key = pairs["event_id"].astype(str)
    elif scope == "event_group":
        key = pairs["event_id"].astype(str) + ":" + pairs["group"].astype(str)
    elif scope == PAIR_SCOPE:
        key = pairs["event_id"].astype(str) + ":" + pairs["ticker"].astype(str)
    else:
        raise UnknownNameError(f"unknown scope {scope!r}; choose from "
                               f"{', '.join(SCOPES)}")
    codes, labels = pd.factorize(key, sort=False)
    return Groups(scope, codes.astype(np.int64), tuple(str(x) for x in labels))


def run_tests(data: PairData, pairs: pd.DataFrame, tests: tuple[str, ...],
              windows: Windows, scopes: tuple[str, ...] = SCOPES,
              kernel: str = "auto", timings: dict[str, float] | None = None
              ) -> pd.DataFrame:
    """Run every test for every scope and window; one tidy table.

    ``kernel``: the passes over the pairs, ``"auto"`` (compiled from
    :data:`~eventstudy.inference.kernels.COMPILED_MIN_PAIRS` pairs when numba is
    installed), ``"numpy"`` or ``"numba"``; the numbers are the same (see
    :mod:`eventstudy.inference.kernels`). ``timings``: a dict that receives the
    wall seconds of the stage's parts: ``tests:<name>`` per test (with the shared
    intermediates it is the first to ask for), ``tests:samples`` (the windows'
    values and moments) and ``tests:table`` (the table and its adjusted p-values).

    Returns
    -------
    pandas.DataFrame
        Columns ``scope, scope_value, window_start, window_end, window_kind, test,
        statistic, p_value, n, mean, p_bh`` plus test-specific extras (``rbar``,
        ``ci_low``, ``ci_high``, ``w_plus``). Rows ordered by scope, group (first
        appearance), window (each day, then the CAR windows) and test (in the order
        requested).
        ``window_kind`` is ``day`` for a single event day (AAR tests) and ``car``
        for a CAR window (CAAR tests), so day 0 and the CAR window [0, 0] are told
        apart.
        ``p_bh`` is the Benjamini-Hochberg adjusted p-value over the whole table.
        With value weights (:attr:`PairData.weight`) a last column ``weighting``
        says ``value`` for the tests in :data:`WEIGHTED_TESTS` and ``equal`` for the
        others (their statistic and ``mean`` are equal-weighted).
    """
    clock: dict[str, float] = {} if timings is None else timings
    t_start = time.perf_counter()
    wins = data.windows()
    # per-pair tests run in the pair scope only, and only they run there
    if any(TESTS[name].pair for name in tests) and PAIR_SCOPE not in scopes:
        scopes = tuple(scopes) + (PAIR_SCOPE,)
    keys: dict[str, list[np.ndarray]] = {k: [] for k in ("_s", "_g", "_w", "_t")}
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("scope", "scope_value", "window_start", "window_end",
                        "window_kind", "test", "statistic", "p_value", "n") + EXTRAS}
    seen: set[str] = set()
    partitions = [make_groups(pairs, scope) for scope in scopes]
    # the run's window-independent intermediates, per-scope ones made at once for
    # every partition
    shared = Shared(data, tuple(g for g, sc in zip(partitions, scopes, strict=True)
                                if sc != PAIR_SCOPE), kernel=kernel)
    specs = [TESTS[name] for name in tests]
    std = any(spec.needs_sar for spec in specs)
    values = [WindowValues.build(w, shared.compiled) for w in wins]  # once per window
    t_sample = time.perf_counter() - t_start
    # a scope whose partition equals an earlier one's (e.g. "group" with a single
    # group) reuses its results: they depend on the codes only, except the seeded
    # bootstrap's draws
    same: dict[int, int] = {}
    for si, g in enumerate(partitions):
        for sj in range(si):
            h = partitions[sj]
            if (sj not in same and h.n == g.n and PAIR_SCOPE not in (
                    scopes[si], scopes[sj]) and np.array_equal(h.codes, g.codes)):
                same[si] = sj
                break
    kept: dict[tuple[int, int, str], TestStat] = {}
    for si, (scope, g) in enumerate(zip(scopes, partitions, strict=True)):
        labels = np.array(g.labels, dtype=object)
        gi = np.arange(g.n)
        nan = np.full(g.n, np.nan)
        for wi, (w, wv) in enumerate(zip(wins, values, strict=True)):
            sample: Sample | None = None
            for ti, (name, spec) in enumerate(zip(tests, specs, strict=True)):
                if (w.kind not in spec.window_kinds
                        or spec.pair != (scope == PAIR_SCOPE)):
                    continue
                if si in same and not spec.scope_seeded:
                    r = kept[(same[si], wi, name)]
                else:
                    t0 = time.perf_counter()
                    if sample is None:  # once per window and partition
                        sample = Sample.build(data, w, g, shared, wv, std=std)
                        t_sample += time.perf_counter() - t0
                        t0 = time.perf_counter()
                    r = spec.func(sample)
                    key = f"tests:{name}"
                    clock[key] = clock.get(key, 0.0) + time.perf_counter() - t0
                    if si in same.values():
                        kept[(si, wi, name)] = r
                for k, v in (("_s", si), ("_w", wi), ("_t", ti)):
                    keys[k].append(np.full(g.n, v))
                keys["_g"].append(gi)
                parts["scope"].append(np.full(g.n, scope, dtype=object))
                parts["scope_value"].append(labels)
                parts["window_start"].append(np.full(g.n, w.start))
                parts["window_end"].append(np.full(g.n, w.end))
                parts["window_kind"].append(np.full(g.n, w.kind, dtype=object))
                parts["test"].append(np.full(g.n, name, dtype=object))
                parts["statistic"].append(np.asarray(r.statistic, dtype=np.float64))
                parts["p_value"].append(np.asarray(r.p_value, dtype=np.float64))
                parts["n"].append(np.asarray(r.n).astype(np.int64))
                for k in EXTRAS:
                    if k in r.extra:
                        seen.add(k)
                    parts[k].append(np.asarray(r.extra.get(k, nan), dtype=np.float64))
    clock["tests:samples"] = clock.get("tests:samples", 0.0) + t_sample
    t0 = time.perf_counter()
    cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    kk = {k: np.concatenate(v) if v else np.zeros(0) for k, v in keys.items()}
    order = np.lexsort((kk["_t"], kk["_w"], kk["_g"], kk["_s"]))
    base = ["scope", "scope_value", "window_start", "window_end", "window_kind",
            "test", "statistic", "p_value", "n", "mean"]
    out = pd.DataFrame({k: cat[k][order] for k in base})
    out["p_bh"] = bh_adjust(out["p_value"].to_numpy(dtype=np.float64))
    for k in EXTRAS[1:]:
        if k in seen:
            out[k] = cat[k][order]
    if data.weight is not None:
        out["weighting"] = np.where(out["test"].isin(list(WEIGHTED_TESTS)), "value",
                                    "equal").astype(object)
    clock["tests:table"] = clock.get("tests:table", 0.0) + time.perf_counter() - t0
    return out


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg (1995) adjusted p-values; NaN stays NaN.

    Notes
    -----
    p_(i)^BH = min_{j >= i} min(1, m p_(j) / j) over the m non-missing p-values
    sorted ascending. Benjamini & Hochberg (1995), JRSS-B 57(1):289-300.

    Examples
    --------
    >>> bh_adjust(np.array([0.01, 0.04, np.nan, 0.03])).round(3)
    array([0.03, 0.04,  nan, 0.04])
    """
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


P_ADJUST_METHODS: dict[str, str] = {
    "bonferroni": "bonferroni",
    "sidak": "sidak",
    "holm": "holm",
    "holm_sidak": "holm-sidak",
    "hochberg": "simes-hochberg",
    "hommel": "hommel",
    "fdr_bh": "fdr_bh",
    "fdr_by": "fdr_by",
    "fdr_tsbh": "fdr_tsbh",
    "fdr_tsbky": "fdr_tsbky",
    "fdr_gbs": "fdr_gbs",
    "lfdr": "lfdr",
}
"""``[tests] p_adjust`` names -> ``statsmodels.stats.multitest.multipletests``
methods (every method statsmodels offers); each gives a ``p_<name>`` column."""

P_ADJUST_ALIASES = {"holm-sidak": "holm_sidak", "simes-hochberg": "hochberg"}
"""statsmodels' own spellings accepted for the names of :data:`P_ADJUST_METHODS`."""

P_ADJUST_FAMILIES = ("test_scope_window", "table")
"""Families of p-values adjusted together (see :func:`p_adjust`)."""

P_ADJUST_ALPHA = 0.05
"""The ``alpha`` handed to ``multipletests``: only the adaptive two-stage and
Gavrilov-Benjamini-Sarkar methods (``fdr_tsbh``, ``fdr_tsbky``, ``fdr_gbs``) read
it (their estimate of the number of true nulls depends on it)."""

_FAMILY_KEYS = ("test", "scope", "window_start", "window_end", "window_kind")


def p_adjust_names(methods: Sequence[str]) -> tuple[str, ...]:
    """The canonical names of ``methods`` (aliases resolved, duplicates dropped).

    Raises
    ------
    UnknownNameError
        A name that is not a method of :data:`P_ADJUST_METHODS` (or an alias).

    Examples
    --------
    >>> p_adjust_names(["holm", "simes-hochberg", "holm"])
    ('holm', 'hochberg')
    """
    out: list[str] = []
    for m in methods:
        name = P_ADJUST_ALIASES.get(m, m) if isinstance(m, str) else m
        if not isinstance(name, str) or name not in P_ADJUST_METHODS:
            raise UnknownNameError(
                f"[tests] p_adjust = {m!r} is not a multiple-testing method; choose "
                f"from {', '.join(P_ADJUST_METHODS)}")
        if name not in out:
            out.append(name)
    return tuple(out)


def p_adjust(tests: pd.DataFrame, methods: Sequence[str],
             family: str = "test_scope_window") -> pd.DataFrame:
    """The tests table with a ``p_<method>`` column per multiple-testing method.

    Parameters
    ----------
    tests
        The tests table of :func:`run_tests` (columns ``test, scope,
        window_start, window_end, window_kind, p_value``).
    methods
        Names of :data:`P_ADJUST_METHODS` (``holm``, ``hochberg``, ``hommel``,
        ``bonferroni``, ``sidak``, ``holm_sidak``, ``fdr_bh``, ``fdr_by``,
        ``fdr_tsbh``, ``fdr_tsbky``, ``fdr_gbs``, ``lfdr``).
    family
        Which p-values are adjusted together. ``"test_scope_window"`` (default):
        the rows of one test, one scope and one window (a day or a CAR window),
        i.e. the scope's groups (every event of the ``event`` scope, every group
        of the ``group`` scope): the question "which events moved the price in
        this window, by this test". A scope with a single group (``all``) is a
        family of one, left unadjusted. ``"table"``: every row of the table at
        once, as the ``p_bh`` column does.

    Returns
    -------
    pandas.DataFrame
        A copy with the new columns placed after ``p_bh`` (or at the end), in
        the order of ``methods``. NaN p-values stay NaN and are not counted in
        their family.

    Notes
    -----
    Each family's finite p-values go through
    ``statsmodels.stats.multitest.multipletests(p, alpha=0.05, method=...)``
    (:data:`P_ADJUST_ALPHA`), except Holm's, computed by :func:`holm_adjust`
    with the same arithmetic (statsmodels' Holm runs a full garbage collection on
    every call, 0.2 s each: minutes for a table of thousands of families).
    Bonferroni: min(1, m p); Sidak: 1 - (1 - p)^m; Holm (1979, Scand. J. Statist.
    6:65-70): p_(i) = max_{j <= i} min(1, (m - j + 1)
    p_(j)); Hochberg (1988, Biometrika 75:800-802): p_(i) = min_{j >= i} min(1, (m
    - j + 1) p_(j)); Hommel (1988, Biometrika 75:383-386); Benjamini & Hochberg
    (1995, JRSS-B 57:289-300): p_(i) = min_{j >= i} min(1, m p_(j) / j);
    Benjamini & Yekutieli (2001, Ann. Statist. 29:1165-1188): BH times sum_{k<=m}
    1/k; Benjamini, Krieger & Yekutieli (2006, Biometrika 93:491-507) two-stage.

    Raises
    ------
    UnknownNameError
        An unknown method or family.
    """
    names = p_adjust_names(methods)
    if family not in P_ADJUST_FAMILIES:
        raise UnknownNameError(f"[tests] p_adjust_family = {family!r} is not valid; "
                               f"choose one of {', '.join(P_ADJUST_FAMILIES)}")
    out = tests.copy()
    if not names:
        return out
    from statsmodels.stats.multitest import multipletests  # lazy: slow import, on use

    p = out["p_value"].to_numpy(dtype=np.float64)
    codes: np.ndarray = np.zeros(len(out), dtype=np.int64)
    if family != "table" and not out.empty:
        codes = out.groupby(list(_FAMILY_KEYS), sort=False, dropna=False
                            ).ngroup().to_numpy(dtype=np.int64)
    ok = np.isfinite(p)
    cols: dict[str, np.ndarray] = {m: np.full(len(out), np.nan) for m in names}
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(int(codes.max(initial=-1)) + 2))
    for k in range(len(bounds) - 1):
        span = order[bounds[k]:bounds[k + 1]]
        rows = span[ok[span]]
        if not len(rows):
            continue
        for m in names:
            cols[m][rows] = (holm_adjust(p[rows]) if m == "holm" else
                             multipletests(p[rows], alpha=P_ADJUST_ALPHA,
                                           method=P_ADJUST_METHODS[m])[1])
    at = (list(out.columns).index("p_bh") + 1 if "p_bh" in out.columns
          else len(out.columns))
    for i, m in enumerate(names):
        col = f"p_{m}"
        if col in out.columns:
            out = out.drop(columns=col)
        out.insert(min(at + i, len(out.columns)), col, cols[m])
    return out


def holm_adjust(p: np.ndarray) -> np.ndarray:
    """Holm (1979) adjusted p-values of finite ``p``.

    Notes
    -----
    p_(i)^Holm = max_{j <= i} min(1, (m - j + 1) p_(j)) over the m p-values sorted
    ascending: statsmodels' ``multipletests(method="holm")`` arithmetic (the
    running maximum of (m - j + 1) p_(j), then capped at 1). Holm, S. (1979),
    Scand. J. Statist. 6(2):65-70.

    Examples
    --------
    >>> holm_adjust(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    m = len(p)
    order = np.argsort(p)
    adj = np.maximum.accumulate(p[order] * np.arange(m, 0, -1))
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out
