"""Jackknife t of the AAR/CAAR: leave-one-pair-out or leave-one-day-0-cluster-out
pseudo-values (Quenouille 1956; Tukey 1958).

Every test has the shared signature ``test(sample: Sample) -> TestStat``.
"""

from __future__ import annotations

import numpy as np

from eventstudy.inference.reduction import Sample, TestStat, t_p


def jackknife_t(sample: Sample, by_cluster: bool) -> TestStat:
    """The jackknife t over the units (pairs, or day-0 clusters) of each group.

    Parameters
    ----------
    sample
        The test's sample.
    by_cluster
        Leave out one day-0 cluster (:attr:`PairData.cluster`) at a time instead
        of one pair.
    """
    data, groups = sample.data, sample.groups
    x, valid = sample.x()
    G = groups.n
    w_all = (np.ones(x.shape) if data.weight is None
             else np.asarray(data.weight, dtype=np.float64))
    idx = np.flatnonzero(valid)
    xv, wv, cv = x[idx], w_all[idx], groups.codes[idx]
    n = np.bincount(cv, minlength=G).astype(np.float64)
    if by_cluster:  # units: (group, cluster) pairs
        cl = np.asarray(data.cluster)[idx]
        _, unit = np.unique(np.stack([cv, cl]), axis=1, return_inverse=True)
        unit = unit.reshape(-1)
    else:
        unit = np.arange(len(idx))
    U = int(unit.max()) + 1 if len(idx) else 0
    ug = np.zeros(U, dtype=np.int64)
    ug[unit] = cv  # each unit's group
    uw = np.bincount(unit, weights=wv, minlength=U)
    uwx = np.bincount(unit, weights=wv * xv, minlength=U)
    W = np.bincount(ug, weights=uw, minlength=G)
    WX = np.bincount(ug, weights=uwx, minlength=G)
    C = np.bincount(ug, minlength=G).astype(np.float64)  # units per group
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = WX / W
        loo = (WX[ug] - uwx) / (W[ug] - uw)  # theta without the unit
        ps = C[ug] * theta[ug] - (C[ug] - 1) * loo  # pseudo-values
        psbar = np.bincount(ug, weights=ps, minlength=G) / C
        dev = ps - psbar[ug]
        v = np.bincount(ug, weights=dev * dev, minlength=G) / (C * (C - 1))
        t = psbar / np.sqrt(v)
    t = np.where(C > 1, t, np.nan)
    mean = sample.vw_extra() if data.weight is not None else sample.mean_extra()
    return TestStat(t, t_p(t, C - 1), n, mean)


def jackknife(sample: Sample) -> TestStat:
    """Jackknife t of the (value-weighted) AAR/CAAR, leaving out one pair at a time.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        t_J, two-sided p from t(N - 1), N.

    Notes
    -----
    theta = sum_i w_i x_i / sum_i w_i over the group's N pairs with a value x_i
    (AR, CAR or BHAR; w_i = 1 without value weights); theta_(-i) the same without
    pair i; pseudo-values ps_i = N theta - (N - 1) theta_(-i); t_J = mean(ps) /
    sqrt(sum_i (ps_i - mean(ps))^2 / (N (N - 1))), t(N - 1). Quenouille (1956,
    Biometrika 43:353-360); Tukey (1958, Ann. Math. Statist. 29:614); Miller (1974,
    Biometrika 61(1):1-15). With equal weights ps_i = x_i, so t_J is the
    cross-sectional t (``csect_t``) exactly (up to rounding, about 1e-15); with
    value weights it is the jackknife t of the weighted mean (a ratio estimator),
    which differs from ``csect_t``'s White variance. Independence across pairs is
    assumed: pairs sharing a day 0 make it over-reject (use
    :func:`jackknife_cluster`).
    """
    return jackknife_t(sample, by_cluster=False)


def jackknife_cluster(sample: Sample) -> TestStat:
    """Delete-a-group jackknife t of the AAR/CAAR, leaving out one day-0 cluster
    at a time.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        t_J, two-sided p from t(C - 1) with C the group's clusters, N (pairs).

    Notes
    -----
    As :func:`jackknife` with the C clusters c of the group (pairs sharing a day-0
    date, :attr:`PairData.cluster`) as the units: theta_(-c) = sum_{i not in c}
    w_i x_i / sum_{i not in c} w_i; ps_c = C theta - (C - 1) theta_(-c); t_J =
    mean(ps) / sqrt(sum_c (ps_c - mean(ps))^2 / (C (C - 1))), t(C - 1). The
    delete-a-group jackknife: Efron & Tibshirani (1993), An Introduction to the
    Bootstrap, ch. 11; the CV3 cluster-robust variance of MacKinnon, Nielsen &
    Webb (2023, J. Econometrics 232(2):272-299). Robust to any correlation inside a
    cluster, not across clusters; NaN with fewer than two clusters. With one pair
    per cluster it is :func:`jackknife`. On 20 clusters of 5 pairs with
    intra-cluster correlation 0.5 its size at 5% is within the binomial interval,
    while :func:`jackknife` (like ``csect_t``) rejects about a quarter of the time.
    """
    return jackknife_t(sample, by_cluster=True)
