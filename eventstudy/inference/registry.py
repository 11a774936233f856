"""The registry of test statistics: one :class:`TestSpec` per test, in one place.

Adding a test is one new module with a function ``test(sample: Sample) ->
TestStat`` (docstring with the formula and the source paper) and one registration
line in :data:`TESTS`. Nothing else branches on a test's name: the runner, the
engine and the reports read the spec's attributes (``weighted``, ``needs_sar``,
``scope_seeded``, ``window_kinds``, ``extras``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eventstudy.inference.bootstrap import boot
from eventstudy.inference.crosscorr import bmp_kp, patell_kp
from eventstudy.inference.jackknife import jackknife, jackknife_cluster
from eventstudy.inference.pairwise import art, cart
from eventstudy.inference.parametric import (
    bmp,
    bw_1980,
    bw_t,
    csect_t,
    lamb,
    patell,
    skew_t,
)
from eventstudy.inference.rank import corrado, grank, mrank, wilcoxon
from eventstudy.inference.reduction import (
    Groups,
    PairData,
    Sample,
    Shared,
    TestStat,
    Window,
)
from eventstudy.inference.series import series_t
from eventstudy.inference.sign import csign, gsign, sign
from eventstudy.inference.skew_bhar import skew_bhar
from eventstudy.inference.wild_bootstrap import wild_boot, wild_cluster, wild_mammen

TestFunction = Callable[[Sample], TestStat]
"""The shared signature of every test function."""

WINDOW_KINDS = frozenset({"day", "car"})
"""Single event days (AAR tests) and CAR windows (CAAR tests)."""

PAIR_SCOPE = "pair"
"""The scope of the per-pair tests (:attr:`TestSpec.pair`): one group per event x
security pair, ``scope_value`` = ``event_id:ticker``."""


@dataclass(frozen=True)
class TestSpec:
    """A registered test statistic.

    Attributes
    ----------
    name
        The name used in study files, the CLI and ``tests.csv``.
    func
        The test function (shared signature :data:`TestFunction`).
    family
        ``parametric``, ``crosscorr``, ``rank``, ``sign``, ``bootstrap``,
        ``series``, ``pairwise``, ``wild_bootstrap``, ``jackknife`` or
        ``skew_bhar`` (the module the test lives in).
    weighted
        The test has a value-weighted form, used when :attr:`PairData.weight` is
        set; the others stay equal-weighted (``weighting`` column ``equal``).
    needs_sar
        The test reads standardised values (SAR/SCAR): the per-window moments of
        the standardised values are made only when a requested test needs them.
    scope_seeded
        The result depends on the scope's name and labels (its seed), not only on
        the partition's codes: a scope with the same partition as an earlier one
        does not reuse the earlier results.
    window_kinds
        The windows the test applies to (``day``, ``car``).
    extras
        Extra columns of ``tests.csv`` the test fills besides ``mean``.
    per_series
        The test is of a single series: it gives a statistic only for groups
        with exactly one pair with a value (NaN with ``n`` for larger ones). The
        summary stars its one-series rows from such a test.
    pair
        A per-pair test: it runs in the :data:`PAIR_SCOPE` scope only (added to
        the run when such a test is asked for), and no other test runs there.
    conventions
        The :class:`eventstudy.config.Conventions` the test reads for itself
        (``forecast_error``: its entry of ``forecast_error_by_test``;
        ``patell_car``; ``corrado_divisor``).
    """

    __test__ = False  # not a pytest test class

    name: str
    func: TestFunction
    family: str
    weighted: bool = False
    needs_sar: bool = False
    scope_seeded: bool = False
    window_kinds: frozenset[str] = WINDOW_KINDS
    extras: tuple[str, ...] = ()
    per_series: bool = False
    pair: bool = False
    conventions: tuple[str, ...] = ()

    def __call__(self, data: PairData, window: Window, groups: Groups,
                 shared: Shared | None = None) -> TestStat:
        """The test for every group of ``groups`` over ``window``.

        ``shared`` holds the run's window-independent intermediates (a new one,
        for this call only, when not given).
        """
        return self.func(Sample.build(data, window, groups, shared,
                                      std=self.needs_sar))

    @property
    def doc(self) -> str:
        """The test function's docstring (formula and source)."""
        return self.func.__doc__ or ""


TESTS: dict[str, TestSpec] = {spec.name: spec for spec in (
    TestSpec("csect_t", csect_t, "parametric", weighted=True),
    TestSpec("bw_t", bw_t, "parametric", weighted=True),
    TestSpec("bw_1980", bw_1980, "parametric", weighted=True),
    TestSpec("lamb", lamb, "parametric"),
    TestSpec("patell", patell, "parametric", weighted=True, needs_sar=True,
             conventions=("forecast_error", "patell_car")),
    TestSpec("patell_kp", patell_kp, "crosscorr", needs_sar=True, extras=("rbar",)),
    TestSpec("bmp", bmp, "parametric", weighted=True, needs_sar=True,
             conventions=("forecast_error",)),
    TestSpec("bmp_kp", bmp_kp, "crosscorr", needs_sar=True, extras=("rbar",)),
    TestSpec("skew_t", skew_t, "parametric"),
    TestSpec("corrado", corrado, "rank", conventions=("corrado_divisor",)),
    TestSpec("mrank", mrank, "rank"),
    TestSpec("grank", grank, "rank", needs_sar=True),
    TestSpec("sign", sign, "sign"),
    TestSpec("gsign", gsign, "sign"),
    TestSpec("csign", csign, "sign"),
    TestSpec("wilcoxon", wilcoxon, "rank", extras=("w_plus",)),
    TestSpec("boot", boot, "bootstrap", scope_seeded=True,
             extras=("ci_low", "ci_high")),
    TestSpec("series_t", series_t, "series", needs_sar=True, per_series=True),
    TestSpec("wild_boot", wild_boot, "wild_bootstrap", scope_seeded=True),
    TestSpec("wild_mammen", wild_mammen, "wild_bootstrap", scope_seeded=True),
    TestSpec("wild_cluster", wild_cluster, "wild_bootstrap", scope_seeded=True),
    TestSpec("jackknife", jackknife, "jackknife", weighted=True),
    TestSpec("jackknife_cluster", jackknife_cluster, "jackknife", weighted=True),
    TestSpec("skew_bhar", skew_bhar, "skew_bhar", scope_seeded=True,
             window_kinds=frozenset({"car"})),
    TestSpec("art", art, "pairwise", needs_sar=True, window_kinds=frozenset({"day"}),
             per_series=True, pair=True, conventions=("forecast_error",)),
    TestSpec("cart", cart, "pairwise", needs_sar=True, window_kinds=frozenset({"car"}),
             per_series=True, pair=True, conventions=("forecast_error",)),
)}
"""Registry of test statistics: name -> :class:`TestSpec` (callable with
``(data, window, groups)``), in the order of the documentation."""

WEIGHTED_TESTS = frozenset(name for name, spec in TESTS.items() if spec.weighted)
"""Tests with a value-weighted form (used when :attr:`PairData.weight` is set); the
other tests stay equal-weighted and say so in the ``weighting`` column."""

_FIXED_COLUMNS = ("mean", "rbar", "ci_low", "ci_high", "w_plus")

EXTRAS = _FIXED_COLUMNS + tuple(dict.fromkeys(
    c for spec in TESTS.values() for c in spec.extras if c not in _FIXED_COLUMNS))
"""Extra columns of the tests table (``mean`` is always present): those of the
existing tests in their historical order, then any new test's extras."""

SERIES_TESTS = tuple(name for name, spec in TESTS.items()
                     if spec.per_series and not spec.pair)
"""Tests of a single series (:attr:`TestSpec.per_series`) that run in the
cross-sectional scopes (not the per-pair tests of the ``pair`` scope), in registry
order: the summary stars its one-series rows from the first of them that ran."""
