"""Per-pair tests: the AR and CAR t tests of one event x security pair.

EventStudyTools' ``art`` (abnormal return t test) and ``cart`` (cumulative
abnormal return t test) test one pair's AR on each event day and its CAR over each
CAR window against the pair's own estimation-window residual variance. They run in
the ``pair`` scope of ``tests.csv`` only (one group per pair, ``scope_value`` =
``event_id:ticker``; :data:`eventstudy.inference.registry.PAIR_SCOPE`), and only
there. Both have the shared signature ``test(sample: Sample) -> TestStat`` and are
registered in :mod:`eventstudy.inference.registry`.
"""

from __future__ import annotations

import numpy as np

from eventstudy.inference.parametric import standardized
from eventstudy.inference.reduction import Sample, TestStat, gcount, gsum, t_p


def _one_pair(sample: Sample, test: str) -> TestStat:
    """The t of each group's single pair with a value under ``test``'s
    forecast-error convention; NaN for groups with another number of pairs."""
    data, groups = sample.data, sample.groups
    s, ok, _ = standardized(sample, test)
    n = sample.plain.n.copy()  # pairs with a value, as every test's n
    one = (n == 1) & (gcount(groups, ok) == 1)
    t = np.where(one, gsum(s, groups, ok), np.nan)
    df = np.where(one, gsum(data.dof, groups, ok), np.nan)
    return TestStat(t, t_p(t, df), n, sample.mean_extra())


def art(sample: Sample) -> TestStat:
    """Abnormal-return t test of one pair on one event day (EventStudyTools' ``art``).

    Parameters
    ----------
    sample
        The window (a single event day) and the ``pair`` partition
        (:class:`~eventstudy.inference.reduction.Sample`; the shared test
        signature).

    Returns
    -------
    TestStat
        t, two-sided p from t(L_i - k), N (1 for a pair with an AR that day).

    Notes
    -----
    t_it = AR_it / s_i(AR_t), s_i(AR_t)^2 = sigma_i^2 (1 + x_t'(X_i'X_i)^-1 x_t) with
    the forecast-error correction, sigma_i^2 without it (the test's convention:
    ``[conventions] forecast_error_by_test`` ``art``, else ``forecast_error``);
    sigma_i^2 = sum of the L_i estimation residuals squared / (L_i - k) (or L_i - 1
    under ``sigma_dof = "sample"``). p = 2 P(T > |t_it|), T ~ t(L_i - k). Under the
    null of no abnormal return and normal disturbances t_it is t(L_i - k)
    distributed (exactly with the correction).

    Sources: EventStudyTools, "Significance Tests" [1] (t_AR = AR_i,t / S_AR_i,
    S^2_AR_i = sum_t AR_i,t^2 / (M_i - 2) over the estimation window);
    EventStudyTools' R package EventStudy, ``ARTTest`` ("AR / sigma", df m - 2);
    Campbell, Lo & MacKinlay (1997) ch. 4 (the standardised abnormal return).
    """
    return _one_pair(sample, "art")


def cart(sample: Sample) -> TestStat:
    """Cumulative-abnormal-return t test of one pair over one CAR window
    (EventStudyTools' ``cart``).

    Parameters
    ----------
    sample
        The window (a CAR window) and the ``pair`` partition
        (:class:`~eventstudy.inference.reduction.Sample`; the shared test
        signature).

    Returns
    -------
    TestStat
        t, two-sided p from t(L_i - k), N (1 for a pair with a CAR).

    Notes
    -----
    t_i = CAR_i / sd(CAR_i): with the forecast-error correction sd(CAR_i)^2 =
    sigma_i^2 (L2_i + gamma'X*(X'X)^-1X*'gamma) (the exact CAR variance, Campbell,
    Lo & MacKinlay 1997, sec. 4.4); without it sd(CAR_i)^2 = L2_i sigma_i^2, L2_i
    the window's days with an AR (the test's convention: ``[conventions]
    forecast_error_by_test`` ``cart``, else ``forecast_error``). p = 2 P(T > |t_i|),
    T ~ t(L_i - k).

    Sources: EventStudyTools, "Significance Tests" [1] (t_CAR = CAR_i / S_CAR,
    S^2_CAR = L2 S^2_AR_i); EventStudyTools' R package EventStudy, ``CARTTest``
    ("CAR / (sqrt(L) * sigma)", df m - 2); MacKinlay (1997, JEL 35:13-39).
    """
    return _one_pair(sample, "cart")
