"""Sign tests: the simple sign test, Cowan's generalized sign test and the
Corrado-Zivney sign test centred at each pair's median.

Every test has the shared signature ``test(sample: Sample) -> TestStat``.
"""

from __future__ import annotations

import numpy as np

from eventstudy.inference import kernels
from eventstudy.inference import reduction as red
from eventstudy.inference.rank import rank_family
from eventstudy.inference.reduction import (
    Sample,
    TestStat,
    gcount,
    gsum,
    row_factor,
    z_p,
)


def sign(sample: Sample) -> TestStat:
    """Simple sign test of a median of zero.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N.

    Notes
    -----
    w = #{i : CAR_i > 0} (AR for a day), Z = (w - N/2) / sqrt(N/4); N(0, 1), the
    normal approximation to Binomial(N, 1/2). Boehmer, Musumeci & Poulsen (1991);
    estudy2 ``sign_test`` (w scaled by N_g/N under ``estudy2``).
    """
    data, groups = sample.data, sample.groups
    x, valid = sample.x()
    n, _ = sample.wmean()
    w = gsum((x > 0).astype(np.float64), groups, valid) * row_factor(data, groups, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (w - n / 2) / np.sqrt(n / 4)
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, z_p(z), n, sample.mean_extra())


def gsign(sample: Sample) -> TestStat:
    """Cowan (1992) generalized sign test.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N.

    Notes
    -----
    p-hat = (1/N) sum_i (1/L_i) sum_{t in E_i} 1[AR_it > 0] (average of the pairs'
    fractions of positive estimation residuals); w = #{i : CAR_i > 0} (AR for a day);
    Z = (w - N p-hat) / sqrt(N p-hat (1 - p-hat)); N(0, 1). CAR windows use the same
    daily p-hat (as Eventus does). Allows an asymmetric AR distribution. Cowan, A.
    (1992), Rev. Quant. Finance & Accounting 2(4):343-358.

    ``estudy2`` (``generalized_sign_test``, B.1 (d)): p-hat pooled over all the
    group's pair-days, sum_i #positive_i / sum_i L_i, and w scaled by N_g/N.
    """
    data, groups = sample.data, sample.groups
    x, valid = sample.x()
    n, _ = sample.wmean()

    def make() -> tuple[np.ndarray, np.ndarray]:
        P, Le = data.resid.shape
        pos = np.empty(P)
        L = np.empty(P)
        step = max(1, red.BLOCK_CELLS // max(Le, 1))
        if sample.shared.compiled:  # one compiled pass per row (exact counts)
            k = kernels.compiled()
            red.blocks_in_threads(P, step, lambda a: k.pos_counts(
                data.resid, a, min(P, a + step), pos, L))
            return pos, L
        for a in range(0, P, step):
            r = data.resid[a:a + step]
            ok = np.isfinite(r)
            up = (r > 0) & ok
            pos[a:a + step] = np.add.reduce(up.view(np.uint8), axis=1, dtype=np.intp)
            L[a:a + step] = np.add.reduce(ok.view(np.uint8), axis=1, dtype=np.intp)
        return pos, L

    pos, L = sample.shared.get("gsign", make)
    with np.errstate(invalid="ignore", divide="ignore"):
        if data.profile == "estudy2":
            p = (np.bincount(groups.codes, weights=pos, minlength=groups.n)
                 / np.bincount(groups.codes, weights=L, minlength=groups.n))
        else:
            ok = valid & (L > 0)
            p = gsum(pos / np.where(L > 0, L, 1.0), groups, ok) / gcount(groups, ok)
        w = (gsum((x > 0).astype(np.float64), groups, valid)
             * row_factor(data, groups, n))
        z = (w - n * p) / np.sqrt(n * p * (1 - p))
    z = np.where(n > 0, z, np.nan)
    return TestStat(z, z_p(z), n, sample.mean_extra())


def csign(sample: Sample) -> TestStat:
    """Corrado & Zivney (1992) sign test centred at each pair's median.

    Parameters
    ----------
    sample
        The window's values and moments for the partition, the pairs and the
        run's shared intermediates (:class:`~eventstudy.inference.reduction.Sample`;
        the shared test signature).

    Returns
    -------
    TestStat
        Z, two-sided p from N(0, 1), N.

    Notes
    -----
    G_it = sign(AR_it - median_i), median over the pair's estimation and event days.
    D_t = (1/sqrt(N_t)) sum_i G_it; S_G^2 = (1/T) sum_t D_t^2; Z = D_tau / S_G. CAR
    window: sum_tau Z_tau / sqrt(L2). N(0, 1). Corrado & Zivney (1992), JFQA
    27(3):465-478; estudy2 ``corrado_sign_test`` (B.1 (g); row quirk and T = mean M_i
    under ``estudy2``).
    """
    return rank_family(sample, "sign")
