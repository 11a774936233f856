"""Corporate-action factors: the file's validation, the adjustment against a plain
loop, and the study wiring ([data] corporate_actions -> prices before returns ->
run.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import MiniStudy

from eventstudy.config import load_study
from eventstudy.errors import InputError, StudyFileError
from eventstudy.inputs.corporate_actions import (
    MAX_FACTOR,
    adjust_loaded,
    apply_corporate_actions,
    corporate_action_notes,
    load_corporate_actions,
)
from eventstudy.inputs.sources.base import LoadedPrices
from eventstudy.workflows import run_study, study_loaded

HEADER = "ticker,ex_date,factor,source\n"


def _file(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "ca.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


# --------------------------------------------------------------- the file


def test_valid_file_is_sorted_and_described(tmp_path: Path) -> None:
    path = _file(tmp_path, "B,2024-03-04,2,split notice\n"
                           "006400.KS,2025-04-10,0.979,\"KRX notice, rights issue\"\n"
                           "\n"
                           "B,2024-01-02,0.5,consolidation\n")
    actions = load_corporate_actions(path, "data/ca.csv")
    table = actions.table
    assert table["ticker"].tolist() == ["006400.KS", "B", "B"]
    assert table["ex_date"].dtype == "datetime64[ns]"
    assert table["row"].tolist() == [2, 4, 1]  # data rows, the blank line counted
    assert table["source"].tolist()[0] == "KRX notice, rights issue"
    assert actions.notes() == [
        "006400.KS: prices before 2025-04-10 multiplied by 0.979 (data/ca.csv row 2)",
        "B: prices before 2024-01-02 multiplied by 0.5 (data/ca.csv row 4)",
        "B: prices before 2024-03-04 multiplied by 2 (data/ca.csv row 1)",
    ]


def test_header_only_file_has_no_action(tmp_path: Path) -> None:
    assert load_corporate_actions(_file(tmp_path, "")).table.empty


@pytest.mark.parametrize(("header", "message"), [
    ("ticker,ex_date,factor,source,note\n",
     "unknown column(s) 'note'; the header must be exactly "
     "ticker,ex_date,factor,source"),
    ("ticker,date,factor,source\n",
     "missing column(s) ex_date; unknown column(s) 'date'; the header must be "
     "exactly ticker,ex_date,factor,source"),
])
def test_bad_header(tmp_path: Path, header: str, message: str) -> None:
    path = _file(tmp_path, "A,2024-01-02,0.5,x\n", header=header)
    with pytest.raises(InputError) as err:
        load_corporate_actions(path)
    assert str(err.value) == f"{path}: {message}"


@pytest.mark.parametrize(("row", "message"), [
    ("A,2024-13-01,0.5,x", "ex_date '2024-13-01' is not a date; write it as "
     "YYYY-MM-DD (the first day the price trades without the right)"),
    ("A,10/04/2025,0.5,x", "ex_date '10/04/2025' is not a date; write it as "
     "YYYY-MM-DD (the first day the price trades without the right)"),
    ("A,2024-01-02,0,x", "factor 0 is outside (0, 10]; prices before the ex-date "
     "are multiplied by it (a 2-for-1 split is 0.5)"),
    ("A,2024-01-02,-0.5,x", "factor -0.5 is outside (0, 10]; prices before the "
     "ex-date are multiplied by it (a 2-for-1 split is 0.5)"),
    ("A,2024-01-02,10.5,x", "factor 10.5 is outside (0, 10]; prices before the "
     "ex-date are multiplied by it (a 2-for-1 split is 0.5)"),
    ("A,2024-01-02,half,x", "factor 'half' is not a number; give the adjustment "
     "factor, e.g. 0.979"),
    ("A,2024-01-02,0.5,", "source is empty; say where the factor comes from (an "
     "exchange notice, a filing)"),
    (",2024-01-02,0.5,x", "ticker is empty; give the Yahoo ticker, e.g. 006400.KS"),
    ("A,2024-01-02,0.5", "3 field(s) where the header has 4; check the commas and "
     "quotes"),
])
def test_one_bad_row_names_the_file_row_and_fix(tmp_path: Path, row: str,
                                                message: str) -> None:
    path = _file(tmp_path, f"A,2023-06-01,0.9,ok\n{row}\n")
    with pytest.raises(InputError) as err:
        load_corporate_actions(path)
    assert str(err.value) == f"{path}, row 2: {message}"
    assert err.value.row == 2


def test_factor_limit_is_inclusive(tmp_path: Path) -> None:
    path = _file(tmp_path, f"A,2024-01-02,{MAX_FACTOR:g},x\n")
    assert load_corporate_actions(path).table["factor"].tolist() == [10.0]


def test_every_problem_is_listed(tmp_path: Path) -> None:
    path = _file(tmp_path, "A,2024-01-02,0.5,x\n"
                           "A,2024-01-02,0.8,y\n"
                           "B,2024-01-0x,0.5,x\n")
    with pytest.raises(InputError) as err:
        load_corporate_actions(path)
    assert str(err.value) == (
        f"{path}: 2 problem(s) in the corporate-actions file:\n"
        "  - row 2: A on 2024-01-02 repeats row 1; give one row per ticker and "
        "ex-date (multiply the factors into one)\n"
        "  - row 3: ex_date '2024-01-0x' is not a date; write it as YYYY-MM-DD (the "
        "first day the price trades without the right)")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="corporate-actions file not found; check "
                       r"\[data\] corporate_actions in the study file"):
        load_corporate_actions(tmp_path / "nope.csv")


def test_unknown_ticker_is_a_warning(tmp_path: Path) -> None:
    path = _file(tmp_path, "A,2024-01-02,0.5,x\nZZZ,2024-01-03,0.5,y\n")
    kept, warnings = load_corporate_actions(path, "ca.csv").for_tickers(["A", "B"])
    assert kept.table["ticker"].tolist() == ["A"]
    assert warnings == ["ca.csv row 2: ticker 'ZZZ' is not one of the study's "
                        "tickers; the row is ignored (fix the ticker or remove the "
                        "row)"]


# --------------------------------------------------------------- the adjustment


def _panel(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2024-01-01", periods=40, name="date")
    values = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (40, 3)), axis=0))
    frame = pd.DataFrame(values, index=dates, columns=["A", "B", "C"])
    frame.iloc[5, 1] = np.nan
    return frame


def _plain_loop(frame: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for ticker, ex, factor in zip(actions["ticker"], actions["ex_date"],
                                  actions["factor"], strict=True):
        if ticker not in out.columns:
            continue
        for day in out.index:
            if day < ex:
                out.loc[day, ticker] = out.loc[day, ticker] * factor
    return out


def test_factors_match_a_plain_loop_and_fix_the_ex_date_return() -> None:
    frame = _panel()
    dates = frame.index
    actions = pd.DataFrame({
        "ticker": ["A", "A", "B", "ZZZ"],
        "ex_date": [dates[10], dates[25], dates[10], dates[3]],
        "factor": [0.979, 0.5, 3.0, 7.0],
    })
    before = frame.copy()
    adjusted = apply_corporate_actions(frame, actions)
    pd.testing.assert_frame_equal(frame, before)  # the input is not changed
    expected = _plain_loop(frame, actions)
    np.testing.assert_allclose(adjusted.to_numpy(), expected.to_numpy(), rtol=1e-15)
    assert list(adjusted.columns) == ["A", "B", "C"]
    assert adjusted.index.equals(frame.index)
    assert np.isnan(adjusted.iloc[5, 1])
    pd.testing.assert_series_equal(adjusted["C"], frame["C"])
    returns = adjusted.pct_change()
    for pos, factor in ((10, 0.979), (25, 0.5)):  # on each ex-date of A
        raw = frame["A"].iloc[pos] / (frame["A"].iloc[pos - 1] * factor) - 1.0
        assert returns["A"].iloc[pos] == pytest.approx(raw, abs=1e-12)
    assert (frame["A"].iloc[5] * 0.979 * 0.5 == pytest.approx(adjusted["A"].iloc[5],
                                                             rel=1e-15))
    # returns away from the ex-dates are untouched
    np.testing.assert_allclose(returns["A"].iloc[11:25], frame["A"].pct_change()
                               .iloc[11:25], rtol=1e-12)


def test_an_ex_date_between_two_price_dates() -> None:
    frame = _panel()
    ex = frame.index[7] + pd.Timedelta(days=1)  # a Saturday-like gap in the dates
    actions = pd.DataFrame({"ticker": ["C"], "ex_date": [ex], "factor": [0.5]})
    adjusted = apply_corporate_actions(frame, actions)
    assert (adjusted["C"].iloc[:8] == frame["C"].iloc[:8] * 0.5).all()
    assert (adjusted["C"].iloc[8:] == frame["C"].iloc[8:]).all()


def test_adjust_loaded_scales_closes_and_opens(tmp_path: Path,
                                               mini_study: MiniStudy) -> None:
    ca = mini_study.root / "ca.csv"
    ca.write_text(HEADER + "AAA,2024-09-16,0.5,notice\nQQQ,2024-01-02,2,x\n",
                  encoding="utf-8")
    toml = mini_study.study.read_text(encoding="utf-8")
    mini_study.study.write_text(toml + '\n[data]\ncorporate_actions = "ca.csv"\n',
                                encoding="utf-8")
    st = load_study(mini_study.study)
    frame = _panel()
    frame.columns = pd.Index(["AAA", "BBB", "MKT"])
    frame.index = pd.bdate_range("2024-09-02", periods=40, name="date")
    opens = frame * 0.99
    loaded = LoadedPrices(frame, "x", "sha", opens)
    out = adjust_loaded(st, loaded, ["AAA", "BBB", "MKT"])
    before = frame.index < pd.Timestamp("2024-09-16")
    np.testing.assert_array_equal(out.frame["AAA"].to_numpy()[before],
                                  frame["AAA"].to_numpy()[before] * 0.5)
    assert out.opens is not None
    np.testing.assert_array_equal(out.opens["AAA"].to_numpy()[before],
                                  opens["AAA"].to_numpy()[before] * 0.5)
    assert out.sha256 == "sha" and out.description == "x"
    assert corporate_action_notes(st, ["AAA", "BBB", "MKT"]) == [
        "ca.csv row 2: ticker 'QQQ' is not one of the study's tickers; the row is "
        "ignored (fix the ticker or remove the row)",
        "AAA: prices before 2024-09-16 multiplied by 0.5 (ca.csv row 1)",
    ]


# --------------------------------------------------------------- the study


def _with_actions(mini: MiniStudy, body: str) -> None:
    (mini.root / "data").mkdir(exist_ok=True)
    (mini.root / "data" / "ca.csv").write_text(HEADER + body, encoding="utf-8")
    toml = mini.study.read_text(encoding="utf-8")
    mini.study.write_text(toml + '\n[data]\ncorporate_actions = "data/ca.csv"\n',
                          encoding="utf-8")


def test_study_key_is_a_path_relative_to_the_study(mini_study: MiniStudy) -> None:
    assert load_study(mini_study.study).corporate_actions is None
    _with_actions(mini_study, "AAA,2024-09-16,0.5,notice\n")
    st = load_study(mini_study.study)
    assert st.corporate_actions == mini_study.root / "data" / "ca.csv"


def test_study_key_of_the_wrong_type(mini_study: MiniStudy) -> None:
    toml = mini_study.study.read_text(encoding="utf-8")
    mini_study.study.write_text(toml + "\n[data]\ncorporate_actions = 3\n",
                                encoding="utf-8")
    with pytest.raises(StudyFileError, match=r"\[data\] corporate_actions must be "
                       "text in quotes like \"data/corporate-actions.csv\", got 3"):
        load_study(mini_study.study)


def test_run_applies_the_factors_before_returns(mini_study: MiniStudy,
                                                tmp_path: Path) -> None:
    st0 = load_study(mini_study.study)
    raw = study_loaded(st0, mini_study.prices).frame
    _with_actions(mini_study, "AAA,2024-09-16,0.5,notice\n")
    st = load_study(mini_study.study)
    adjusted = study_loaded(st, mini_study.prices).frame
    ex = raw.index.get_loc(pd.Timestamp("2024-09-16"))
    r = adjusted["AAA"].pct_change().iloc[ex]
    assert r == pytest.approx(raw["AAA"].iloc[ex] / (raw["AAA"].iloc[ex - 1] * 0.5)
                              - 1.0, abs=1e-12)
    pd.testing.assert_series_equal(adjusted["BBB"], raw["BBB"])

    out = tmp_path / "out"
    res, info = run_study(mini_study.study, prices=mini_study.prices, out_dir=out)
    note = "AAA: prices before 2024-09-16 multiplied by 0.5 (data/ca.csv row 1)"
    assert note in info["warnings"]
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["corporate_actions"] == [note]
    assert "corporate_actions" in run["inputs_sha256"]
    assert run["settings"]["corporate_actions"].endswith("ca.csv")
    # the abnormal return on the ex-date (day 0 of E1 on XNYS) carries the +100%
    ar = res.abnormal_returns
    day0 = ar.loc[(ar["event_id"] == "E1") & (ar["ticker"] == "AAA")
                  & (ar["rel_day"] == 0)]
    assert float(day0["return"].iloc[0]) == pytest.approx(r, abs=1e-12)
    assert float(day0["abnormal_return"].iloc[0]) > 0.9

    # editing the factors file changes the fingerprint (refresh notices it)
    _, again = run_study(mini_study.study, prices=mini_study.prices)
    (mini_study.root / "data" / "ca.csv").write_text(
        HEADER + "AAA,2024-09-16,0.6,notice\n", encoding="utf-8")
    _, edited = run_study(mini_study.study, prices=mini_study.prices)
    assert again["fingerprint"] == info["fingerprint"]
    assert edited["fingerprint"] != info["fingerprint"]


def test_run_with_a_bad_factors_file_is_a_typed_error(mini_study: MiniStudy) -> None:
    _with_actions(mini_study, "AAA,2024-09-16,11,notice\n")
    with pytest.raises(InputError) as err:
        run_study(mini_study.study, prices=mini_study.prices)
    path = mini_study.root / "data" / "ca.csv"
    assert str(err.value) == (f"{path}, row 1: factor 11 is outside (0, 10]; prices "
                              "before the ex-date are multiplied by it (a 2-for-1 "
                              "split is 0.5)")
