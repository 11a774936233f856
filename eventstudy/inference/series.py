"""The per-series test: a t test for a scope with a single series.

A scope (an event x group, a group, ...) holding one series has no
cross-section: the cross-sectional tests give no p-value (t(N - 1) with N = 1)
and the others test a sample of one. :func:`series_t` is the test of that one
series' abnormal return against its own estimation-window variance, so a
single series is never left without a test. It has the shared signature
``test(sample: Sample) -> TestStat`` and is registered in
:mod:`eventstudy.inference.registry`.
"""

from __future__ import annotations

import numpy as np

from eventstudy.inference.reduction import Sample, TestStat, gcount, gsum, t_p


def series_t(sample: Sample) -> TestStat:
    """Per-series t test of one series' AR (a day) or CAR (a CAR window).

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        t, two-sided p from t(L - k), N. For a group with exactly one pair with a
        value (N = 1); NaN statistic and p-value for N > 1 (and N = 0), N
        reported.

    Notes
    -----
    For the group's one pair i with a value:

    t = AR_i / sqrt(Var(AR_i)) for a day (the SAR_i), with Var(AR_i) = sigma_i^2
    (1 + x_i'(X_i'X_i)^-1 x_i) including the prediction-error term when the
    conventions ask for it (``forecast_error``);

    t = CAR_i / sqrt(Var(CAR_i)) for a CAR window (the SCAR_i), Var(CAR_i) the
    model's CAR variance over the window's days with data (with the prediction
    error of the summed forecasts);

    p = 2 P(T > |t|), T ~ t(L_i - k), L_i - k the pair's residual degrees of
    freedom (:attr:`PairData.dof`). Under the null of no abnormal return and
    normal disturbances, SAR_i is t(L_i - k) distributed.
    Campbell, Lo & MacKinlay (1997), The Econometrics of Financial Markets, ch. 4
    (the standardised abnormal return and standardised CAR of one security, J_2's
    summands); the per-firm t of EventStudyTools' ``art`` and ``cart`` tests.

    The ``mean`` column is the group's equal-weighted AAR or CAAR, which for N = 1
    is AR_i or CAR_i (value weights change nothing for one pair).
    """
    data, groups = sample.data, sample.groups
    s, ok = sample.x(std=True)
    n = sample.plain.n.copy()  # pairs with a value, as every test's n
    # one pair with a value and a finite SAR/SCAR (a finite SAR implies a finite
    # AR, so it is that pair): the group's sums over it are its SAR/SCAR and dof
    one = (n == 1) & (gcount(groups, ok) == 1)
    t = np.where(one, gsum(s, groups, ok), np.nan)
    df = np.where(one, gsum(data.dof, groups, ok), np.nan)
    return TestStat(t, t_p(t, df), n, sample.mean_extra())
