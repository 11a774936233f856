"""Running the registered tests: partitions by scope, one tidy table, BH p-values.

:func:`run_tests` makes the run's :class:`~eventstudy.inference.reduction.Shared`
intermediates once, the :class:`~eventstudy.inference.reduction.WindowValues` once
per window and a :class:`~eventstudy.inference.reduction.Sample` once per window
and partition, and hands the sample to each requested test of the registry
(:data:`~eventstudy.inference.registry.TESTS`).
"""

from __future__ import annotations

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
              windows: Windows, scopes: tuple[str, ...] = SCOPES) -> pd.DataFrame:
    """Run every test for every scope and window; one tidy table.

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
                                if sc != PAIR_SCOPE))
    specs = [TESTS[name] for name in tests]
    std = any(spec.needs_sar for spec in specs)
    values = [WindowValues.build(w) for w in wins]  # once per window
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
                    if sample is None:  # once per window and partition
                        sample = Sample.build(data, w, g, shared, wv, std=std)
                    r = spec.func(sample)
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
