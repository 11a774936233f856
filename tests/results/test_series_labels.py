"""Sign labels and single-series stars (issue #16 part 4): the universe's ``quote``
reaches diagnostics.csv and the summary's notes; rows of one series (n = 1) take
their stars from the per-series test ``series_t`` whatever the main test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EVENTS_DIR

from eventstudy.cli import cli
from eventstudy.results.summary import quote_notes, stars

QUOTE = "USD/JPY: a positive return means the dollar rose and the yen weakened"
SERIES_NOTE = ("- Rows with n = 1 (a single series): stars from the per-series "
               "'series_t' test, t = CAR / sd(CAR) with the prediction-error term, "
               "p from t(L - k), whatever the main test.")


def _seed_copy(tmp: Path, quote: bool = True, tests: str | None = None) -> Path:
    """The seed study's folder, with the yen's quote set (or removed) and, when
    given, another [tests] names line."""
    folder = tmp / "events"
    shutil.copytree(EVENTS_DIR, folder)
    u = pd.read_csv(folder / "universe.csv", dtype=str, keep_default_na=False)
    if quote:
        u["quote"] = u["ticker"].map({"JPY=X": QUOTE}).fillna("")
    else:
        u = u.drop(columns=["quote"], errors="ignore")
    u.to_csv(folder / "universe.csv", index=False)
    study = folder / "japan_us_investment.toml"
    if tests is not None:
        lines = study.read_text().splitlines()
        lines = [f"names = {tests}" if ln.startswith("names = ") else ln
                 for ln in lines]
        study.write_text("\n".join(lines) + "\n")
    return study


def _run(study: Path, out: Path) -> None:
    r = CliRunner().invoke(cli, ["run", str(study), "--out", str(out), "-q"],
                           prog_name="eventstudy")
    assert r.exit_code == 0, r.output


@pytest.fixture(scope="module")
def seed_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("h11")
    out = tmp / "out"
    _run(_seed_copy(tmp), out)
    return out


def _summary_rows(out: Path) -> pd.DataFrame:
    lines = [ln for ln in (out / "summary.md").read_text().splitlines()
             if ln.startswith("| ") and not ln.startswith("|---")]
    cells = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]
    return pd.DataFrame(cells[1:], columns=cells[0])


def test_seed_study_runs_series_t() -> None:
    text = (EVENTS_DIR / "japan_us_investment.toml").read_text()
    assert 'names = ["csect_t", "patell", "bmp", "bmp_kp", "series_t"]' in text


def test_seed_yen_rows_carry_series_t_stars(seed_out: Path) -> None:
    rows = _summary_rows(seed_out)
    t = pd.read_csv(seed_out / "tests.csv", keep_default_na=False,
                    na_values=[""])
    s = t[(t["test"] == "series_t") & (t["scope"] == "event_group")
          & (t["window_kind"] == "car")].set_index(
        ["scope_value", "window_start", "window_end"])
    yen = rows[rows["group"] == "yen"]
    assert len(yen) == 14 and (yen["n"] == "1").all()  # E09B left the yen (#17)
    starred = 0
    for r in yen.itertuples(index=False):
        for (a, b), cell in zip(((0, 0), (0, 1), (-1, 1), (-5, 5)), r[4:],
                                strict=True):
            p = float(s.loc[(f"{r[0]}:yen", a, b), "p_value"])
            mean = float(s.loc[(f"{r[0]}:yen", a, b), "mean"])
            assert cell == f"{100 * mean:.2f}{stars(p)}", (r[0], a, b)
            starred += stars(p) != ""
    assert starred > 0  # some yen cells are significant by the per-series t
    # the csect_t test has no p-value for one series: its stars would be none
    c = t[(t["test"] == "csect_t") & (t["scope"] == "event_group")
          & t["scope_value"].str.endswith(":yen")]
    assert c["p_value"].isna().all()
    # rows of several pairs sharing a day 0 take bmp_kp's stars (issue #17)
    m = t[(t["test"] == "bmp_kp") & (t["scope"] == "event_group")
          & (t["window_kind"] == "car") & (t["window_start"] == 0)
          & (t["window_end"] == 0)].set_index("scope_value")
    autos = rows[(rows["event"] == "E05_JP_DEAL") & (rows["group"] == "jp_autos")]
    p = float(m.loc["E05_JP_DEAL:jp_autos", "p_value"])
    assert autos["CAAR[0,0] %"].item().endswith(stars(p)) and stars(p) == "*"


def test_seed_summary_notes_series_test_and_quote(seed_out: Path) -> None:
    text = (seed_out / "summary.md").read_text()
    assert SERIES_NOTE in text.splitlines()
    assert f"- yen: JPY=X — {QUOTE}" in text.splitlines()


def test_diagnostics_quote_column(seed_out: Path) -> None:
    d = pd.read_csv(seed_out / "diagnostics.csv", dtype=str, keep_default_na=False)
    assert list(d.columns)[-2:] == ["confounded_by", "quote"]
    assert (d.loc[d["ticker"] == "JPY=X", "quote"] == QUOTE).all()
    assert (d.loc[d["ticker"] != "JPY=X", "quote"] == "").all()
    assert (d["ticker"] == "JPY=X").sum() == 14  # 14 yen events (E09B left, #17)


def test_without_quote_or_series_t(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(_seed_copy(tmp_path, quote=False, tests='["csect_t"]'), out)
    d = pd.read_csv(out / "diagnostics.csv", dtype=str, keep_default_na=False)
    assert list(d.columns)[-1] == "quote" and (d["quote"] == "").all()
    text = (out / "summary.md").read_text()
    assert "JPY=X —" not in text
    # not asked for, the per-series test still runs for the n = 1 scopes only
    assert SERIES_NOTE in text.splitlines()
    t = pd.read_csv(out / "tests.csv")
    series = t[t["test"] == "series_t"]
    assert len(series) > 0 and (series["n"] == 1).all()
    assert set(t["test"]) == {"csect_t", "series_t"}
    # so the yen's rows carry stars (E01: +1.89*** on day 0)
    yen = _summary_rows(out).query("group == 'yen'")
    assert yen.iloc[:, 4:].apply(lambda c: c.str.contains(r"\*")).any().any()


def test_quote_notes_groups_and_order() -> None:
    p = pd.DataFrame({"group": ["fx", "autos", "fx", "fx"],
                      "ticker": ["JPY=X", "7203.T", "KRW=X", "JPY=X"],
                      "quote": ["USD/JPY up: weaker yen", None, " USD/KRW up ", "x"]})
    assert quote_notes(p) == ["fx: JPY=X — USD/JPY up: weaker yen; KRW=X — USD/KRW up"]
    assert quote_notes(p.drop(columns="quote")) == []


def test_report_summary_stars_one_series_rows_from_series_t(seed_out: Path) -> None:
    r = CliRunner().invoke(cli, ["report", str(seed_out), "--format", "md"],
                           prog_name="eventstudy")
    assert r.exit_code == 0, r.output
    rows = _summary_rows(seed_out)
    got = rows[(rows["event"] == "E12_YEN_RATECHECK") & (rows["group"] == "yen")]
    line = "| " + " | ".join(got.iloc[0].tolist()) + " |"
    assert "***" in line  # from series_t: csect_t has no p for one series
    assert line in (seed_out / "report.md").read_text().splitlines()


def test_reports_say_what_a_positive_return_means(seed_out: Path) -> None:
    for fmt, name in (("md", "report.md"), ("html", "report.html")):
        r = CliRunner().invoke(cli, ["report", str(seed_out), "--format", fmt],
                               prog_name="eventstudy")
        assert r.exit_code == 0, r.output
        text = (seed_out / name).read_text(encoding="utf-8")
        assert "What a positive return means: yen: JPY=X" in text, fmt
        assert "the dollar rose and the yen weakened" in text, fmt


def test_quote_reaches_pairs_of_ticker_layout_events() -> None:
    """Events that name their ticker take the universe's quote too."""
    import numpy as np

    from eventstudy.study import EventStudy

    rng = np.random.default_rng(1)
    dates = pd.bdate_range("2023-01-02", periods=300)
    m = rng.normal(0, 0.01, len(dates))
    data = pd.DataFrame({"MKT": m, "FXA": 0.2 * m + rng.normal(0, 0.005, len(dates))},
                        index=dates)
    ev = pd.DataFrame({"event_id": ["e1"], "timestamp": ["2024-02-01"],
                       "ticker": ["FXA"]})
    uni = pd.DataFrame({"ticker": ["FXA"], "group": ["fx"], "calendar": ["FX"],
                        "benchmark": ["MKT"], "quote": ["A/B: up = A stronger"]})
    res = EventStudy(data, ev, uni, kind="returns").fit(tests=("series_t",))
    assert res.diagnostics["quote"].tolist() == ["A/B: up = A stronger"]
