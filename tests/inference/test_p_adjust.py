"""Multiple-testing adjustments (issue #19): every statsmodels multipletests method
as a p_<method> column, per family (test x scope x window, or the whole table);
Holm, Hochberg and Benjamini-Yekutieli by plain loops; the study file key; the new
tests through a study run, tests.csv and the summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from eventstudy.config import load_study
from eventstudy.errors import StudyFileError, UnknownNameError
from eventstudy.inference import P_ADJUST_METHODS, p_adjust, p_adjust_names
from eventstudy.workflows import run_study

NEW_TESTS = ["wild_boot", "wild_mammen", "wild_cluster", "jackknife",
             "jackknife_cluster", "skew_bhar", "wilcoxon"]


def table(seed: int = 0) -> pd.DataFrame:
    """A tests table: 2 tests x 2 scopes x 3 windows, 1 or 5 groups, a NaN."""
    rng = np.random.default_rng(seed)
    rows = []
    for test in ("csect_t", "bmp"):
        for scope, G in (("all", 1), ("event", 5)):
            for a, b, kind in ((0, 0, "day"), (0, 0, "car"), (-1, 1, "car")):
                for k in range(G):
                    rows.append({"scope": scope, "scope_value": f"e{k}",
                                 "window_start": a, "window_end": b,
                                 "window_kind": kind, "test": test,
                                 "statistic": 0.0, "p_value": rng.uniform() ** 3,
                                 "n": 10, "mean": 0.0})
    t = pd.DataFrame(rows)
    t.loc[7, "p_value"] = np.nan
    t["p_bh"] = 0.5
    t["w_plus"] = 1.0
    return t


def holm(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out, run = [0.0] * m, 0.0
    for j, i in enumerate(order):
        run = max(run, min(1.0, (m - j) * p[i]))
        out[i] = run
    return out


def hochberg(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out, run = [0.0] * m, 1.0
    for j in reversed(range(m)):
        i = order[j]
        run = min(run, min(1.0, (m - j) * p[i]))
        out[i] = run
    return out


def by(p: list[float]) -> list[float]:
    m = len(p)
    c = sum(1.0 / k for k in range(1, m + 1))
    order = sorted(range(m), key=lambda i: p[i])
    out, run = [0.0] * m, 1.0
    for j in reversed(range(m)):
        i = order[j]
        run = min(run, min(1.0, m * c * p[i] / (j + 1)))
        out[i] = run
    return out


def families(t: pd.DataFrame) -> list[np.ndarray]:
    keys = ["test", "scope", "window_start", "window_end", "window_kind"]
    return [np.asarray(ix) for _, ix in t.groupby(keys, sort=False).groups.items()]


def test_each_family_equals_plain_loops_and_statsmodels() -> None:
    t = table()
    out = p_adjust(t, ["holm", "hochberg", "fdr_by"] + list(P_ADJUST_METHODS))
    # the new columns right after p_bh, in the order asked (duplicates once)
    cols = list(out.columns)
    assert cols[:cols.index("p_bh") + 4] == list(t.columns[:-1]) + [
        "p_holm", "p_hochberg", "p_fdr_by"]
    assert cols[-1] == "w_plus" and len(cols) == len(t.columns) + len(P_ADJUST_METHODS)
    fams = families(t)
    assert len(fams) == 12 and sorted(len(f) for f in fams) == [1] * 6 + [5] * 6
    for rows in fams:
        ok = rows[np.isfinite(t.loc[rows, "p_value"].to_numpy())]
        p = t.loc[ok, "p_value"].tolist()
        for name, ref in (("holm", holm), ("hochberg", hochberg), ("fdr_by", by)):
            np.testing.assert_allclose(out.loc[ok, f"p_{name}"], ref(p), rtol=1e-12)
        for name, method in P_ADJUST_METHODS.items():
            want = multipletests(np.array(p), alpha=0.05, method=method)[1]
            np.testing.assert_allclose(out.loc[ok, f"p_{name}"], want, rtol=1e-12)
    assert np.isnan(out.loc[7, "p_holm"])  # NaN stays NaN, not counted
    one = [f for f in fams if len(f) == 1]
    for rows in one:  # a family of one is left as it is (Bonferroni of m = 1)
        assert out.loc[rows, "p_bonferroni"].tolist() == t.loc[rows, "p_value"].tolist()


def test_table_family_adjusts_every_row_together() -> None:
    t = table(1)
    out = p_adjust(t, ["hommel", "fdr_bh"], family="table")
    ok = np.isfinite(t["p_value"].to_numpy())
    p = t.loc[ok, "p_value"].to_numpy()
    np.testing.assert_allclose(out.loc[ok, "p_hommel"],
                               multipletests(p, method="hommel")[1], rtol=1e-12)
    # the BH of the whole table is the existing p_bh computation
    from eventstudy.inference import bh_adjust
    np.testing.assert_allclose(out["p_fdr_bh"], bh_adjust(t["p_value"].to_numpy()),
                               rtol=1e-12)


def test_names_aliases_and_errors() -> None:
    assert p_adjust_names(["simes-hochberg", "holm-sidak", "holm"]) == (
        "hochberg", "holm_sidak", "holm")
    with pytest.raises(UnknownNameError, match="p_adjust = 'bh' is not a multiple-"
                                               "testing method; choose from bonf"):
        p_adjust_names(["bh"])
    with pytest.raises(UnknownNameError, match="p_adjust_family = 'all'"):
        p_adjust(table(), ["holm"], family="all")
    assert list(p_adjust(table(), []).columns) == list(table().columns)


def test_study_file_key(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('[tests]\np_adjust = ["holm", "fdr_by"]\n')
    s = load_study(f)
    assert s.p_adjust == ("holm", "fdr_by") and s.p_adjust_family == "test_scope_window"
    f.write_text('[tests]\np_adjust = [1]\n')
    with pytest.raises(StudyFileError, match=r"s.toml: \[tests\] p_adjust must be a "
                                             "list of multiple-testing methods"):
        load_study(f)
    f.write_text('[tests]\np_adjust_family = "row"\n')
    with pytest.raises(UnknownNameError, match=r"\[tests\] p_adjust_family = 'row'"):
        load_study(f)


def test_new_tests_flow_through_a_study_run(mini_study: object, tmp_path: Path
                                            ) -> None:
    study = Path(mini_study.study)  # type: ignore[attr-defined]
    prices = Path(mini_study.prices)  # type: ignore[attr-defined]
    text = study.read_text(encoding="utf-8").replace(
        'names = ["csect_t", "patell", "bmp"]',
        f"names = {NEW_TESTS!r}\nbootstrap_reps = 99\n".replace("'", '"')
        + 'p_adjust = ["holm", "hochberg", "fdr_by"]')
    study.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    res, _ = run_study(study, prices=prices, out_dir=out)
    t = pd.read_csv(out / "tests.csv")
    assert set(NEW_TESTS) <= set(t["test"])
    assert set(t.loc[t["test"] == "skew_bhar", "window_kind"]) == {"car"}
    for c in ("p_holm", "p_hochberg", "p_fdr_by"):
        assert c in t.columns
        ok = t["p_value"].notna()
        assert (t.loc[ok, c] >= t.loc[ok, "p_value"] - 1e-15).all()
    # per (test, scope, window): the event scope's two events form a family
    mem = res.tests  # type: ignore[attr-defined]  # (tests.csv rounds to 1e-10)
    assert list(mem.columns) == list(t.columns)
    ev = mem[(mem["test"] == "jackknife") & (mem["scope"] == "event")
           & (t["window_kind"] == "car") & (t["window_start"] == -1)]
    assert len(ev) == 2
    np.testing.assert_allclose(ev["p_holm"], holm(ev["p_value"].tolist()), rtol=1e-12)
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "wild_boot" in summary  # the first test stars the summary
    # the same run from a bad study file: the unknown method names the file
    study.write_text(text.replace('"hochberg"', '"hochberg2"'), encoding="utf-8")
    with pytest.raises(UnknownNameError, match=r"study.toml: \[tests\] p_adjust = "
                                               "'hochberg2'"):
        run_study(study, prices=prices)
