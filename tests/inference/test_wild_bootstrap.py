"""Wild bootstrap of the cross-sectional t (issue #19): Rademacher and Mammen weights
per pair, Rademacher per day-0 cluster. Checked against a plain loop over the same
draws, for reproducibility, for size on null data and on clustered null data."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from scipy import stats

from eventstudy.inference import TESTS, Groups, PairData
from eventstudy.inference import wild_bootstrap as wb


def pair_data(x: np.ndarray, cluster: np.ndarray | None = None, B: int = 199,
              seed: int = 7) -> PairData:
    """Pairs whose event-window AR (one day, also the CAR [0, 0]) is ``x``."""
    P = len(x)
    rng = np.random.default_rng(0)
    resid = rng.normal(0, 1, (P, 5))
    sigma2 = np.ones(P)
    ar = x[:, None].astype(np.float64)
    return PairData(
        sigma2=sigma2, dof=np.full(P, 3.0), nobs=np.full(P, 5.0), resid=resid,
        ar=ar, sar=ar, day_var=np.ones((P, 1)), car=ar.copy(), car_var=np.ones((P, 1)),
        car_days=np.ones((P, 1), dtype=np.int64),
        cluster=np.zeros(P, dtype=np.int64) if cluster is None else cluster,
        est_dates=np.zeros((P, 5), dtype=np.int64), rel_days=np.array([0]),
        car_windows=((0, 0),), seed=seed, bootstrap_reps=B)


def one_group(P: int) -> Groups:
    return Groups("all", np.zeros(P, dtype=np.int64), ("all",))


def loop_p(x: np.ndarray, codes: np.ndarray, labels: tuple[str, ...],
           cluster: np.ndarray, kind: str, by_cluster: bool, tag: str, scope: str,
           seed: int, B: int) -> tuple[list[float], list[float]]:
    """The t and wild p per group by a plain loop over the draws (the documented
    stream: units in canonical order, one row of uniforms per draw)."""
    rank = {lab: r for r, lab in enumerate(sorted(labels))}
    gr = np.array([rank[labels[c]] for c in codes])
    if by_cluster:
        order = np.lexsort((x, cluster, gr))
        keys = list(zip(gr[order], cluster[order], strict=True))
        unit, k = [], -1
        for i, key in enumerate(keys):
            if i == 0 or key != keys[i - 1]:
                k += 1
            unit.append(k)
    else:
        order = np.lexsort((x, gr))
        unit = list(range(len(x)))
    xs, cs = x[order], codes[order]
    rng = np.random.default_rng(np.random.SeedSequence(
        [seed, zlib.crc32(f"{tag}|{scope}|0|0".encode())]))
    u = rng.random((B, max(unit) + 1))
    a, b, pa = wb.MAMMEN if kind == "mammen" else wb.RADEMACHER
    ts, ps = [], []
    for g in range(len(labels)):
        rows = [i for i in range(len(xs)) if cs[i] == g]
        xg = xs[rows]
        t = xg.mean() / (xg.std(ddof=1) / np.sqrt(len(xg)))
        hits = 0
        for d in range(B):
            v = np.array([a if u[d, unit[i]] < pa else b for i in rows])
            xb = xg * v
            tb = xb.mean() / (xb.std(ddof=1) / np.sqrt(len(xb)))
            hits += abs(tb) >= abs(t) * (1 - 1e-10)  # equal weights tie
        ts.append(t)
        ps.append((1 + hits) / (B + 1))
    return ts, ps


@pytest.mark.parametrize(("name", "kind", "by_cluster"), [
    ("wild_boot", "rademacher", False), ("wild_mammen", "mammen", False),
    ("wild_cluster", "rademacher", True)])
def test_wild_equals_a_plain_loop_over_the_same_draws(name: str, kind: str,
                                                      by_cluster: bool) -> None:
    rng = np.random.default_rng(3)
    P = 24
    x = rng.normal(0.2, 1.0, P) * rng.uniform(0.5, 2, P)
    cluster = rng.integers(0, 9, P).astype(np.int64) * 1000
    codes = (np.arange(P) % 2).astype(np.int64)
    labels = ("b", "a")  # canonical order is by label, not by code
    d = pair_data(x, cluster, B=99, seed=11)
    g = Groups("group", codes, labels)
    r = TESTS[name](d, d.windows()[0], g)
    ts, ps = loop_p(x, codes, labels, cluster, kind, by_cluster, name, "group", 11, 99)
    np.testing.assert_allclose(r.statistic, ts, rtol=1e-12)
    np.testing.assert_allclose(r.p_value, ps, rtol=0, atol=1e-12)
    assert r.n.tolist() == [12, 12]
    # the statistic is csect_t's
    np.testing.assert_allclose(r.statistic, TESTS["csect_t"](d, d.windows()[0],
                                                             g).statistic, rtol=1e-12)


def test_mammen_weights_have_the_documented_moments() -> None:
    a, b, pa = wb.MAMMEN
    for k, want in ((1, 0.0), (2, 1.0), (3, 1.0)):
        assert pa * a**k + (1 - pa) * b**k == pytest.approx(want, abs=1e-15)
    assert wb.wild_weights(np.array([0.0, 0.7236, 0.7237]), "mammen").tolist() == [
        a, a, b]


def test_wild_is_reproducible_and_does_not_depend_on_chunking(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0.3, 1, 40)
    d = pair_data(x, B=299)
    g = one_group(40)
    a = TESTS["wild_boot"](d, d.windows()[0], g)
    monkeypatch.setattr(wb, "WILD_CHUNK", 7)  # about one draw per chunk
    b = TESTS["wild_boot"](d, d.windows()[0], g)
    assert a.p_value.tolist() == b.p_value.tolist()
    c = TESTS["wild_boot"](pair_data(x, B=299, seed=8), d.windows()[0], g)
    assert c.p_value[0] != a.p_value[0]  # another seed, other draws


def test_wild_small_samples_give_nan_or_exact_bounds() -> None:
    d = pair_data(np.array([1.0, 2.0, 3.0]), cluster=np.array([5, 5, 5]), B=49)
    r = TESTS["wild_cluster"](d, d.windows()[0], one_group(3))
    assert r.p_value[0] == 1.0  # one cluster: every draw is +-x, |t*| = |t|
    d1 = pair_data(np.array([1.0]), B=49)
    r1 = TESTS["wild_boot"](d1, d1.windows()[0], one_group(1))
    assert np.isnan(r1.statistic[0]) and np.isnan(r1.p_value[0]) and r1.n[0] == 1


# ------------------------------------------------------------------ size
R, N, B_SIZE = 800, 20, 199
LO, HI = stats.binom.interval(0.99, R, 0.05)


def rejections(name: str, x: np.ndarray, codes: np.ndarray, cluster: np.ndarray
               ) -> int:
    """Rejections at 5% over the R samples, run at once as R groups."""
    d = pair_data(x, cluster, B=B_SIZE, seed=2024)
    g = Groups("event", codes, tuple(f"s{k:04d}" for k in range(R)))
    r = TESTS[name](d, d.windows()[0], g)
    assert np.isfinite(r.p_value).all()
    return int((r.p_value <= 0.05).sum())


def null_sample(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(19)
    x = rng.normal(0, 1, R * n) * rng.uniform(0.2, 3.0, R * n)  # symmetric null
    return x, np.repeat(np.arange(R), n), np.arange(R * n, dtype=np.int64)


@pytest.mark.parametrize(("name", "n"), [("wild_boot", N), ("wild_boot", 50),
                                         ("wild_mammen", 50)])
def test_size_on_null_heteroskedastic_data(name: str, n: int) -> None:
    k = rejections(name, *null_sample(n))
    assert LO <= k <= HI, (name, k / R)


def test_mammen_is_conservative_with_20_pairs() -> None:
    """Documented behaviour (Davidson & Flachaire 2008): with N = 20 the symmetric
    Mammen p-value under-rejects (about 2% at 5%); Rademacher keeps the size."""
    k = rejections("wild_mammen", *null_sample(N))
    assert k < LO, k / R


def clustered_null(seed: int = 23, clusters: int = 20, per: int = 5,
                   rho: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R samples of ``clusters`` day-0 clusters of ``per`` pairs; the pairs of a
    cluster share a common shock (correlation ``rho``), mean 0."""
    rng = np.random.default_rng(seed)
    n = clusters * per
    common = rng.normal(0, np.sqrt(rho), (R, clusters))
    x = (np.repeat(common, per, axis=1)
         + rng.normal(0, np.sqrt(1 - rho), (R, n))).ravel()
    codes = np.repeat(np.arange(R), n)
    cluster = np.tile(np.repeat(np.arange(clusters), per), R).astype(np.int64)
    return x, codes, cluster


def test_size_on_clustered_null_data() -> None:
    """Documented behaviour: per-pair weights ignore the cross-correlation and
    over-reject (like csect_t); one weight per day-0 cluster (20 clusters of 5
    pairs, intra-cluster correlation 0.5) keeps the size."""
    x, codes, cluster = clustered_null()
    pair = rejections("wild_boot", x, codes, cluster)
    clus = rejections("wild_cluster", x, codes, cluster)
    assert pair > HI, pair / R  # over-rejects
    assert LO <= clus <= HI, clus / R
