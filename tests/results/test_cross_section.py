"""The cross-section of CARs (results.cross_section_table, ``eventstudy
cross-section``): whitelisted formulas, HC3 and clustered standard errors against
statsmodels' own fits, a well-posed README example (issue #14, parts 4 and 7)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from click.testing import CliRunner

from eventstudy import EventStudy, Windows
from eventstudy.analysis.cross_section import check_formula, cross_section_table
from eventstudy.cli import cli
from eventstudy.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def res():
    """24 pairs: 6 event dates x 4 securities, groups a/b/c, a planted effect in
    group c; S7 (group c) has a constant-mean model, so no beta."""
    d = pd.bdate_range("2022-01-03", periods=520)
    rng = np.random.default_rng(7)
    m = rng.normal(0, 0.01, 520)
    r = pd.DataFrame({f"S{i}": (0.5 + 0.1 * i) * m + rng.normal(0, 0.012, 520)
                      for i in range(8)}, index=d).assign(M=m)
    rows = []
    for k, pos in enumerate((300, 320, 340, 360, 380, 400)):
        for i in range(4):
            s = (k + i) % 8
            r.iloc[pos, s] += 0.02 if s >= 6 else 0.0
            rows.append({"event_id": f"E{k}_{i}", "timestamp": str(d[pos].date()),
                         "ticker": f"S{s}", "group": "abc"[min(s // 3, 2)],
                         "model": "constant_mean" if s == 7 else ""})
    ev = pd.DataFrame(rows)
    return EventStudy(r, ev, kind="returns", calendar="FX", benchmark="M",
                      windows=Windows(car=((0, 0), (-1, 1)))).fit(tests=("csect_t",))


def _frame(res, window=(0, 0)):
    c = res.car[(res.car["window_start"] == window[0])
                & (res.car["window_end"] == window[1])]
    d = res.diagnostics.drop(columns=["group", "day0", "day0_rule"])
    return c.merge(d, on=["event_id", "ticker"])


@pytest.mark.parametrize("cov", ["HC3", "cluster-event", "cluster-date"])
@pytest.mark.parametrize("formula", ["car ~ group + beta", "scar ~ beta * sigma",
                                     "car ~ C(group) - 1"])
def test_matches_statsmodels_own_fit(res, cov: str, formula: str) -> None:
    df = _frame(res).dropna(subset=[c for c in ("car", "scar", "group", "beta",
                                                 "sigma") if c in formula])
    df = df.reset_index(drop=True)
    if cov == "HC3":
        ref = smf.ols(formula, df).fit(cov_type="HC3")
        clusters = None
    else:
        key = "event_id" if cov == "cluster-event" else "day0"
        groups = pd.factorize(df[key].astype(str))[0]
        ref = smf.ols(formula, df).fit(cov_type="cluster",
                                       cov_kwds={"groups": groups}, use_t=True)
        clusters = groups.max() + 1
    t = res.cross_section(formula, window=(0, 0), cov=cov)
    assert list(t["term"]) == list(ref.params.index)
    for col, want in (("estimate", ref.params), ("std_error", ref.bse),
                      ("t", ref.tvalues), ("p_value", ref.pvalues),
                      ("ci_low", ref.conf_int()[0]), ("ci_high", ref.conf_int()[1])):
        np.testing.assert_allclose(t[col], want.to_numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=col)
    assert (t["n"] == int(ref.nobs)).all() and (t["cov"] == cov).all()
    if clusters is None:
        assert t["clusters"].isna().all()
    else:
        assert (t["clusters"] == clusters).all()


def test_cluster_counts(res) -> None:
    by_event = res.cross_section("car ~ beta", cov="cluster-event")
    by_date = res.cross_section("car ~ beta", cov="cluster-date")
    # S7's two pairs (no beta) are dropped: 22 pairs, each its own event; 6 dates
    assert by_event["n"].iloc[0] == 22 and by_event["clusters"].iloc[0] == 22
    assert by_date["clusters"].iloc[0] == 6


def test_a_group_without_the_regressor_gets_no_zero_dummy(res) -> None:
    """Group c's S7 has no beta; the other c pairs keep c in the design. A group
    whose every pair lacks beta must not leave an all-zero dummy (singular)."""
    t = res.cross_section("car ~ group + beta")
    assert list(t["term"]) == ["Intercept", "group[T.b]", "group[T.c]", "beta"]
    car = res.car.copy()
    diag = res.diagnostics.copy()
    diag.loc[diag["group"] == "c", "beta"] = np.nan
    t2 = cross_section_table(car, diag, "car ~ group + beta", (0, 0))
    assert list(t2["term"]) == ["Intercept", "group[T.b]", "beta"]
    assert np.isfinite(t2["std_error"]).all()


def test_singular_design_names_the_collinear_term(res) -> None:
    diag = res.diagnostics.assign(twice=2 * res.diagnostics["beta"])
    with pytest.raises(InputError, match=r"the design is singular \(22 pairs\): "
                                         r"twice is a linear combination"):
        cross_section_table(res.car, diag, "car ~ beta + twice", (0, 0))


@pytest.mark.parametrize("formula,why", [
    ("car ~ __import__('os').system('x')", "\"'\" at character 18 is not allowed"),
    ("car ~ __import__", "'__import__' is not a column"),
    ("car ~ beta.__class__", "'.' at character 11 is not allowed"),
    ("car ~ np.log(beta)", "'.' at character 9 is not allowed"),
    ("car ~ log(beta)", "'log' is not a column"),
    ("car ~ I(beta)", "'I' is not a column"),
    ("car ~ C(group, Sum)", "',' at character 14 is not allowed"),
    ("car ~ C(group + beta)", "C(...) takes a single column name"),
    ("car ~ C(__import__)", "C(...) takes a single column name"),
    ("car ~ beta; import os", "';' at character 11 is not allowed"),
    ("car ~ beta ** 2", "'**' is not allowed"),
    ("car ~ beta / sigma", "'/' at character 12 is not allowed"),
    ("car ~ (beta", "a '(' is not closed"),
    ("car ~ beta)", "a ')' closes no '('"),
    ("car beta", "write one response, '~' and the terms"),
    ("car ~ beta ~ sigma", "write one response, '~' and the terms"),
    ("~ beta", "write one response, '~' and the terms"),
    ("car ~ ", "write one response, '~' and the terms"),
    ("car ~ [beta]", "'[' at character 7 is not allowed"),
    ("car ~ lambda", "'lambda' is not a column"),
])
def test_formulas_outside_the_grammar_are_refused(res, formula: str,
                                                  why: str) -> None:
    with pytest.raises(InputError) as err:
        res.cross_section(formula)
    msg = str(err.value)
    assert msg.startswith(f"formula {formula!r}: ")
    assert why in msg
    if "not allowed" in why or "not a column" in why or "C(...)" in why:
        assert msg.endswith("numbers, the operators + - * : ~ ( ) and C(column)")


def test_nothing_in_a_formula_is_executed(res, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for f in (f"car ~ __import__('pathlib').Path({str(marker)!r}).touch()",
              f"car ~ C(open({str(marker)!r}, 'w'))",
              "car ~ beta + exec('x=1')"):
        with pytest.raises(InputError):
            res.cross_section(f)
    assert not marker.exists()


def test_check_formula_rebuilds_the_formula_from_its_tokens() -> None:
    cols = ["car", "group", "beta", "sigma"]
    assert check_formula("car~beta*sigma+C( group )-1", cols) == (
        "car ~ beta * sigma + C ( group ) - 1", ["car", "beta", "sigma", "group"])
    assert check_formula("car ~ beta:sigma + 0", cols)[1] == ["car", "beta", "sigma"]


def test_bad_cov_and_too_few_clusters(res) -> None:
    with pytest.raises(InputError, match=r"cov = 'HC4': use one of HC3, HC0, HC1, "
                                         r"HC2, cluster_event, cluster_date, "
                                         r"cluster_2way, hac"):
        res.cross_section("car ~ beta", cov="HC4")
    one_date = res.car.assign(day0="2023-01-02")
    with pytest.raises(InputError, match=r"fall in 1 cluster of 'day0'; clustering "
                                         r"needs at least 2"):
        cross_section_table(one_date, res.diagnostics, "car ~ beta", (0, 0),
                            cov="cluster-date")


def test_hc3_with_a_single_pair_group_is_refused(res) -> None:
    diag = res.diagnostics.copy()
    car = res.car.copy()
    car.loc[car["event_id"] == "E0_0", "group"] = "lonely"
    with pytest.raises(InputError, match=r"HC3 is undefined with a pair of leverage "
                                         r"1 .*: E0_0/S0; drop that term"):
        cross_section_table(car, diag, "car ~ group", (0, 0))


def test_cli_cov_option_and_injection(res, tmp_path: Path) -> None:
    res.save(tmp_path)
    out = CliRunner().invoke(cli, ["cross-section", str(tmp_path), "car ~ beta",
                                   "--cov", "cluster-date", "--window", "-1:1"])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0] == (
        "CAR[-1,1]: car ~ beta (OLS, standard errors clustered by day-0 date, "
        "6 clusters)")
    table = pd.read_csv(tmp_path / "cross_section.csv")
    want = res.cross_section("car ~ beta", window=(-1, 1), cov="cluster-date")
    np.testing.assert_allclose(table["std_error"], want["std_error"], rtol=1e-9)
    assert list(table["cov"]) == ["cluster-date"] * 2
    bad = CliRunner().invoke(cli, ["cross-section", str(tmp_path),
                                   "car ~ __import__('os').system('echo hi')"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert "is not allowed" in bad.output
    wrong = CliRunner().invoke(cli, ["cross-section", str(tmp_path), "car ~ beta",
                                     "--cov", "HC4"])
    assert wrong.exit_code == 2


def test_readme_example_is_well_posed_on_the_seed_study(tmp_path: Path) -> None:
    """``eventstudy cross-section OUT_DIR "car ~ group + beta"`` on the seed study:
    the yen (constant mean, no beta) leaves the design, no all-zero dummy, full
    rank, finite standard errors."""
    run = CliRunner().invoke(cli, ["run", str(ROOT / "events" /
                                              "japan_us_investment.toml"),
                                   "--out", str(tmp_path / "out"), "-q"])
    assert run.exit_code == 0, run.output
    out = CliRunner().invoke(cli, ["cross-section", str(tmp_path / "out"),
                                   "car ~ group + beta"])
    assert out.exit_code == 0, out.output
    t = pd.read_csv(tmp_path / "out" / "cross_section.csv")
    assert list(t["term"]) == ["Intercept", "group[T.jp_pharma]",
                               "group[T.jp_us_investors]", "group[T.kr_autos]",
                               "group[T.kr_batteries]", "group[T.steel]",
                               "group[T.us_adrs]", "beta"]
    assert np.isfinite(t["std_error"]).all() and (t["std_error"] > 0).all()
    car = pd.read_csv(tmp_path / "out" / "car.csv")
    c00 = car[(car["window_start"] == 0) & (car["window_end"] == 0)]
    assert t["n"].iloc[0] == int((c00["group"] != "yen").sum())
