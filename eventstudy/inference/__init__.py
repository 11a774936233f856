"""Test statistics: one function per statistic, one shared signature, one registry.

Every test is a function ``test(sample: Sample) -> TestStat`` registered as a
:class:`~eventstudy.inference.registry.TestSpec` in
:data:`~eventstudy.inference.registry.TESTS`; a spec is called as ``spec(data,
window, groups)`` and returns, for every group of the scope at once, the statistic,
its two-sided p-value and the number of pairs used. A "window" is either one event
day (AAR tests) or a CAR window (CAAR tests); for a single day the CAR is the AR.

Modules, by family: :mod:`~eventstudy.inference.parametric` (csect_t, bw_t,
bw_1980, lamb, patell, bmp, skew_t), :mod:`~eventstudy.inference.crosscorr`
(patell_kp, bmp_kp), :mod:`~eventstudy.inference.rank` (corrado, mrank, grank,
wilcoxon), :mod:`~eventstudy.inference.sign` (sign, gsign, csign),
:mod:`~eventstudy.inference.bootstrap` (boot), :mod:`~eventstudy.inference.series`
(series_t, the test of a scope with a single series); the grouped reductions and
the test inputs in :mod:`~eventstudy.inference.reduction`; the registry in
:mod:`~eventstudy.inference.registry`; :func:`run_tests` in
:mod:`~eventstudy.inference.runner`.

Notation (see ``methodology.md``): AR_i abnormal return, sigma_i residual standard
deviation with its degrees-of-freedom convention, L_i usable estimation returns, k
coefficients, SAR_i = AR_i / (sigma_i sqrt(C_i)) with the prediction-error factor C_i,
SCAR_i = CAR_i / sd(CAR_i) with sd(CAR_i)^2 = sigma_i^2 (d + gamma'X*(X'X)^-1X*'gamma).
"Days" of the estimation and event windows are event-time columns (relative days);
for events sharing day 0 they are the same calendar days.

All reductions over pairs are grouped sums, so a scope with 100,000 groups costs
the same as one with a single group. Window-independent intermediates (ranks,
GRANK's sorted estimation values, the Brown-Warner estimation series, the
Kolari-Pynnonen correlations reduced to per-cluster sums) are made once per run in
an explicit :class:`~eventstudy.inference.reduction.Shared` and per-scope sums once
per partition (at once for every scope :func:`run_tests` runs). The numbers are
those of the plain formulas, bit for bit except GRANK's and the Kolari-Pynnonen
sums, which are added in another order (exactly, or more accurately) and agree to
about 1e-15.

Conventions
-----------
:attr:`PairData.profile` selects the test conventions (filled from
:attr:`eventstudy.config.Conventions.test_profile`):

``"textbook"`` (default)
    The formulas of the cited papers, as in each test's Notes.
``"estudy2"``
    Reproduces the R package estudy2 0.10.0 (``methodology.md`` B.1): pooled
    generalized-sign p-hat (d); the rank, modified-rank and Corrado-sign day sums
    computed as "row mean x N" and then divided by N_t, with S over the mean M_i (e,
    f, g; the same N/N_t scaling for the sign, generalized-sign and Wilcoxon W+ event
    sums); the CAR rank test ``car_rank_test`` (i); the Brown-Warner and Lamb CAR
    statistics as sums of daily statistics / sqrt(days) (b); Lamb's 1/mean(L) term.
    The residual-variance df (a) and the window market moments are model
    conventions (:class:`eventstudy.config.Conventions`), not test options.
"""

from eventstudy.inference.reduction import (
    SCOPES,
    Groups,
    PairData,
    Sample,
    Shared,
    TestStat,
    Window,
    WindowValues,
)
from eventstudy.inference.registry import (
    EXTRAS,
    SERIES_TESTS,
    TESTS,
    WEIGHTED_TESTS,
    TestFunction,
    TestSpec,
)
from eventstudy.inference.runner import (
    P_ADJUST_METHODS,
    bh_adjust,
    make_groups,
    p_adjust,
    p_adjust_names,
    run_tests,
)

__all__ = [
    "EXTRAS",
    "P_ADJUST_METHODS",
    "SCOPES",
    "SERIES_TESTS",
    "TESTS",
    "WEIGHTED_TESTS",
    "Groups",
    "PairData",
    "Sample",
    "Shared",
    "TestFunction",
    "TestSpec",
    "TestStat",
    "Window",
    "WindowValues",
    "bh_adjust",
    "make_groups",
    "p_adjust",
    "p_adjust_names",
    "run_tests",
]
