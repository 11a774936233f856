"""Standard errors of the CAR cross-section (eventstudy.analysis.cross_section, issue
#19 part 6): HC0-HC2, clustered by event, by date and two-way (Cameron, Gelbach &
Miller 2011), and Newey-West HAC in day-0 order, each against statsmodels' own fit
and, for two-way and HAC, against the formula computed by hand (1e-10); size of the
two-way test on clustered null data within the binomial 99% interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from eventstudy.analysis.cross_section import COVS, cross_section_table
from eventstudy.errors import InputError


def _tables(seed: int = 3, n_events: int = 36, n_dates: int = 14,
            slope: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CARs of 1-4 securities per event, events spread over ``n_dates`` day-0
    dates; event and date shocks in both the regressor and the error."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2024-01-02", periods=n_dates)
    ev_date = rng.integers(0, n_dates, n_events)
    date_x = rng.normal(0, 1, n_dates)
    date_u = rng.normal(0, 0.02, n_dates)
    rows = []
    for e in range(n_events):
        ex, eu = rng.normal(0, 1), rng.normal(0, 0.02)
        for i in range(int(rng.integers(1, 5))):
            x = ex + date_x[ev_date[e]] + rng.normal(0, 1)
            size = rng.normal(0, 1)
            u = eu + date_u[ev_date[e]] + rng.normal(0, 0.02)
            rows.append({"event_id": f"E{e:02d}", "ticker": f"T{i}",
                         "day0": dates[ev_date[e]].strftime("%Y-%m-%d"),
                         "window_start": 0, "window_end": 1,
                         "car": 0.01 + slope * 0.01 * x + u, "x": x, "size": size})
    df = pd.DataFrame(rows)
    car = df[["event_id", "ticker", "day0", "window_start", "window_end", "car"]]
    diag = df[["event_id", "ticker", "x", "size"]]
    return car, diag


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _tables()


def _frame(car: pd.DataFrame, diag: pd.DataFrame) -> pd.DataFrame:
    return car.merge(diag, on=["event_id", "ticker"])


def _check(t: pd.DataFrame, ref, atol: float = 1e-10) -> None:  # noqa: ANN001
    assert list(t["term"]) == list(ref.params.index)
    for col, want in (("estimate", ref.params), ("std_error", ref.bse),
                      ("t", ref.tvalues), ("p_value", ref.pvalues),
                      ("ci_low", ref.conf_int()[0]), ("ci_high", ref.conf_int()[1])):
        np.testing.assert_allclose(t[col].to_numpy(), want.to_numpy(), rtol=0,
                                   atol=atol, err_msg=col)


def test_the_estimators_offered() -> None:
    assert COVS == ("HC3", "HC0", "HC1", "HC2", "cluster_event", "cluster_date",
                    "cluster_2way", "hac")


@pytest.mark.parametrize("cov", ["HC0", "HC1", "HC2"])
def test_hc_variants_equal_statsmodels(tables, cov: str) -> None:
    car, diag = tables
    t = cross_section_table(car, diag, "car ~ x + size", (0, 1), cov=cov)
    _check(t, smf.ols("car ~ x + size", _frame(car, diag)).fit(cov_type=cov))
    assert (t["cov"] == cov).all() and t["clusters"].isna().all()


@pytest.mark.parametrize(("cov", "key"), [("cluster_event", "event_id"),
                                          ("cluster_date", "day0"),
                                          ("cluster-event", "event_id"),
                                          ("cluster-date", "day0")])
def test_one_way_clusters_equal_statsmodels(tables, cov: str, key: str) -> None:
    car, diag = tables
    df = _frame(car, diag)
    g = pd.factorize(df[key])[0]
    ref = smf.ols("car ~ x + size", df).fit(cov_type="cluster",
                                            cov_kwds={"groups": g}, use_t=True)
    t = cross_section_table(car, diag, "car ~ x + size", (0, 1), cov=cov)
    _check(t, ref)
    assert (t["clusters"] == g.max() + 1).all()


def _cluster_meat(X: np.ndarray, e: np.ndarray, groups: np.ndarray) -> np.ndarray:
    K = X.shape[1]
    M = np.zeros((K, K))
    for g in np.unique(groups):
        s = X[groups == g].T @ e[groups == g]
        M += np.outer(s, s)
    return M


def test_two_way_equals_statsmodels_and_the_cgm_formula(tables) -> None:
    car, diag = tables
    df = _frame(car, diag)
    ge = pd.factorize(df["event_id"])[0]
    gd = pd.factorize(df["day0"])[0]
    ref = smf.ols("car ~ x + size", df).fit(
        cov_type="cluster", cov_kwds={"groups": np.column_stack([ge, gd])},
        use_t=True)
    t = cross_section_table(car, diag, "car ~ x + size", (0, 1), cov="cluster_2way")
    _check(t, ref)
    # by hand: V = V_event + V_date - V_(event, date), each
    # c_k B (sum_g X_g'e_g e_g'X_g) B with c_k = G_k/(G_k-1) (N-1)/(N-K)
    X = np.column_stack([np.ones(len(df)), df["x"], df["size"]])
    y = df["car"].to_numpy()
    B = np.linalg.inv(X.T @ X)
    beta = B @ X.T @ y
    e = y - X @ beta
    N, K = X.shape
    both = pd.factorize(df["event_id"] + "|" + df["day0"])[0]
    V = np.zeros((K, K))
    for groups, sign in ((ge, 1.0), (gd, 1.0), (both, -1.0)):
        G = len(np.unique(groups))
        c = G / (G - 1.0) * (N - 1.0) / (N - K)
        V += sign * c * B @ _cluster_meat(X, e, groups) @ B
    se = np.sqrt(np.diag(V))
    np.testing.assert_allclose(t["estimate"], beta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(t["std_error"], se, rtol=1e-10, atol=0)
    G_min = min(len(np.unique(ge)), len(np.unique(gd)))
    np.testing.assert_allclose(t["p_value"],
                               2 * stats.t.sf(np.abs(beta / se), G_min - 1),
                               rtol=1e-9, atol=1e-13)
    assert (t["clusters"] == G_min).all() and G_min == 14


def _newey_west(X: np.ndarray, e: np.ndarray, L: int) -> np.ndarray:
    T, K = X.shape
    S = sum(e[i] ** 2 * np.outer(X[i], X[i]) for i in range(T))
    for lag in range(1, L + 1):
        w = 1.0 - lag / (L + 1.0)
        for i in range(lag, T):
            G = e[i] * e[i - lag] * np.outer(X[i], X[i - lag])
            S = S + w * (G + G.T)
    B = np.linalg.inv(X.T @ X)
    return np.asarray(B @ S @ B)


@pytest.mark.parametrize("lags", [None, 0, 2])
def test_hac_equals_statsmodels_in_day0_order_and_the_formula(tables, lags) -> None:
    car, diag = tables
    df = _frame(car, diag).sort_values(["day0", "event_id", "ticker"],
                                       kind="stable").reset_index(drop=True)
    L = int(np.floor(4 * (len(df) / 100) ** (2 / 9))) if lags is None else lags
    ref = smf.ols("car ~ x + size", df).fit(cov_type="HAC", cov_kwds={"maxlags": L})
    # the input order does not matter: rows are put in day-0 order first
    shuffled = car.sample(frac=1.0, random_state=1)
    t = cross_section_table(shuffled, diag, "car ~ x + size", (0, 1), cov="hac",
                            hac_lags=lags)
    _check(t, ref)
    X = np.column_stack([np.ones(len(df)), df["x"], df["size"]])
    y = df["car"].to_numpy()
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    se = np.sqrt(np.diag(_newey_west(X, y - X @ beta, L)))
    np.testing.assert_allclose(t["std_error"], se, rtol=1e-10, atol=0)
    np.testing.assert_allclose(t["p_value"], 2 * stats.norm.sf(np.abs(beta / se)),
                               rtol=1e-9, atol=1e-13)
    assert (t["clusters"] == L).all() and (L == 3 if lags is None else True)


def test_hac_lags_out_of_range(tables) -> None:
    car, diag = tables
    n = len(car)
    with pytest.raises(InputError, match=f"hac_lags = {n}: use 0 to {n - 1}"):
        cross_section_table(car, diag, "car ~ x", (0, 1), cov="hac", hac_lags=n)


def test_two_way_needs_two_clusters_in_each_dimension(tables) -> None:
    car, diag = tables
    one = car.assign(day0="2024-01-02")
    with pytest.raises(InputError, match=r"cov = 'cluster_2way': the \d+ pairs fall "
                                         r"in 1 cluster of 'event_id' / 'day0'"):
        cross_section_table(one, diag, "car ~ x", (0, 1), cov="cluster_2way")


def test_results_method_passes_cov_and_lags(tables) -> None:
    """EventStudyResults.cross_section hands cov and hac_lags to the table
    function (checked on its signature: the results object wraps the same call)."""
    import inspect

    from eventstudy.results.core import EventStudyResults

    sig = inspect.signature(EventStudyResults.cross_section)
    assert sig.parameters["cov"].default == "HC3"
    assert sig.parameters["hac_lags"].default is None


def test_two_way_size_on_clustered_null_data() -> None:
    """No effect of x, event and date shocks in x and the error: the 5% two-way
    test of the slope rejects within the binomial 99% interval (200 draws), while
    HC3, blind to the clusters, rejects far more often (the data are clustered)."""
    reps = 200
    rej = hc3 = 0
    for s in range(reps):
        car, diag = _tables(seed=1000 + s, n_events=120, n_dates=40, slope=0.0)
        t = cross_section_table(car, diag, "car ~ x", (0, 1), cov="cluster_2way")
        rej += bool(t["p_value"].iloc[1] < 0.05)
        h = cross_section_table(car, diag, "car ~ x", (0, 1), cov="HC3")
        hc3 += bool(h["p_value"].iloc[1] < 0.05)
    lo, hi = stats.binom.ppf([0.005, 0.995], reps, 0.05)
    assert lo <= rej <= hi, rej
    assert hc3 > hi, hc3


def test_cli_two_way_and_hac(tables, tmp_path) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from eventstudy.cli import cli

    car, diag = tables
    car.to_csv(tmp_path / "car.csv", index=False)
    diag.to_csv(tmp_path / "diagnostics.csv", index=False)
    r = CliRunner().invoke(cli, ["cross-section", str(tmp_path), "car ~ x",
                                 "--cov", "cluster-2way"])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == (
        "CAR[0,1]: car ~ x (OLS, two-way clustered standard errors (event and day-0 "
        "date), at least 14 clusters)")
    want = cross_section_table(car, diag, "car ~ x", (0, 1), cov="cluster_2way")
    got = pd.read_csv(tmp_path / "cross_section.csv")
    np.testing.assert_allclose(got["std_error"], want["std_error"], rtol=1e-9)
    r = CliRunner().invoke(cli, ["cross-section", str(tmp_path), "car ~ x",
                                 "--cov", "hac", "--hac-lags", "2"])
    assert r.exit_code == 0, r.output
    assert "Newey-West standard errors in day-0 order, 2 lags" in r.output
