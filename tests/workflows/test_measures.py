"""``[measures]`` end to end (issue #18 parts 2-4): the study-file keys and their
errors, a run writing ``volatility.csv``, ``volume.csv``, ``volume_excluded.csv``,
the abnormal-variance plot and the report's side-by-side reactions, and the seed
study measuring all three with its FX, index and ADR pairs listed as excluded from
the volume measure with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eventstudy.analysis.volatility import VOLATILITY_COLUMNS
from eventstudy.analysis.volume import NO_VOLUME, VOLUME_COLUMNS
from eventstudy.config import load_study
from eventstudy.errors import StudyFileError, UnknownNameError
from eventstudy.reporting.build import build_report
from eventstudy.workflows import run_study

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "events" / "japan_us_investment.toml"


def _study(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text('[study]\nevents = "e.csv"\nuniverse = "u.csv"\n' + body,
                 encoding="utf-8")
    return p


def test_measures_keys_defaults_and_errors(tmp_path: Path) -> None:
    st = load_study(_study(tmp_path, ""))
    assert st.measures == ("return",) and st.volume_constant == 1.0
    st = load_study(_study(tmp_path, '[measures]\nnames = ["volume", "volatility"]\n'
                           "volume_constant = 0.5\n"))
    assert st.measures == ("return", "volume", "volatility")
    assert st.volume_constant == 0.5
    # the short form: a top-level list before the first section
    top = tmp_path / "top.toml"
    top.write_text('measures = ["volatility"]\n[study]\nevents = "e.csv"\n',
                   encoding="utf-8")
    assert load_study(top).measures == ("return", "volatility")
    with pytest.raises(UnknownNameError, match=r"\[measures\] names = 'volumes' is "
                       "not valid; choose one of return, volatility, volume"):
        load_study(_study(tmp_path, '[measures]\nnames = ["volumes"]\n'))
    with pytest.raises(StudyFileError, match=r"\[measures\] names must be a list"):
        load_study(_study(tmp_path, '[measures]\nnames = "volume"\n'))
    with pytest.raises(StudyFileError, match=r"volume_constant = 0: use a positive"):
        load_study(_study(tmp_path, "[measures]\nvolume_constant = 0\n"))
    with pytest.raises(StudyFileError, match=r"unknown key\(s\) c in \[measures\]"):
        load_study(_study(tmp_path, "[measures]\nc = 1\n"))


def test_a_run_writes_the_measures_and_the_report_shows_them(
        mini_study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prices = pd.read_csv(mini_study.prices)
    rng = np.random.default_rng(0)
    prices["volume"] = np.where(prices["ticker"] == "AAA",
                                np.round(np.exp(rng.normal(12, 0.3, len(prices)))),
                                np.nan)
    prices.to_csv(mini_study.prices, index=False)
    with open(mini_study.study, "a", encoding="utf-8") as f:
        f.write('\n[measures]\nnames = ["return", "volatility", "volume"]\n')
    out = tmp_path / "out"
    res, info = run_study(mini_study.study, prices=mini_study.prices, out_dir=out,
                          plots=True)
    for name in ("volatility.csv", "volume.csv", "volume_excluded.csv",
                 "plots/volatility.png", "plots/volatility.svg"):
        assert (out / name).is_file(), name
    vol = pd.read_csv(out / "volatility.csv")
    assert list(vol.columns) == list(VOLATILITY_COLUMNS)
    assert set(vol["standardised_by"]) == {"ols"}
    assert vol["n"].max() == res.n_pairs
    vlm = pd.read_csv(out / "volume.csv")
    assert list(vlm.columns) == list(VOLUME_COLUMNS)
    ex = pd.read_csv(out / "volume_excluded.csv")
    bbb = ex[ex["ticker"] == "BBB"]
    assert len(bbb) and set(bbb["reason"]) == {NO_VOLUME.format(ticker="BBB")}
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["measures"]["names"] == ["return", "volatility", "volume"]
    assert run["measures"]["volatility_standardised_by"] == ["ols"]
    assert run["measures"]["volume_excluded_pairs"] == len(ex[ex["model"] == "mean"])
    assert "volume_excluded.csv" in json.dumps(run["files"])
    assert any(w.startswith("volatility: the squared abnormal returns")
               for w in info["warnings"])
    md = build_report(out, "md").read_text(encoding="utf-8")
    assert "## Reactions: return, volatility, volume" in md
    # no [0, 1] window in this study: the first CAR window
    assert "| event | group | n | CAAR[0,0] % | p (test) | AR^2/h [0,0] |" in md
    assert "![volatility](plots/volatility.png)" in md


def test_a_study_without_measures_writes_no_measure_files(
        mini_study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    run_study(mini_study.study, prices=mini_study.prices, out_dir=out)
    assert not (out / "volatility.csv").exists()
    assert not (out / "volume.csv").exists()
    md = build_report(out, "md").read_text(encoding="utf-8")
    assert "Reactions" not in md


def test_the_seed_study_measures_return_volatility_and_volume() -> None:
    st = load_study(SEED)
    assert st.measures == ("return", "volatility", "volume")
    res, info = run_study(SEED, study=st)
    tables = info["measures"]
    assert set(tables) == {"volatility.csv", "volume.csv", "volume_excluded.csv"}
    ex = tables["volume_excluded.csv"]
    mean = ex[ex["model"] == "mean"]
    # FX, indices and the US ADRs carry no volume in the snapshot: listed, not dropped
    assert set(mean["ticker"]) == {"JPY=X", "X", "TM", "HMC", "TAK"}
    assert (mean["reason"].str.startswith("no volume in the price data for ")).all()
    kept = res.pairs_
    vol_pairs = kept[~kept["ticker"].isin(mean["ticker"])]
    v = tables["volume.csv"]
    top = v[(v.scope == "all") & (v.model == "mean") & (v.test == "av_t")]
    assert set(top["n"]) == {len(vol_pairs)}
    # the Japan-US deal: Japanese automakers' turnover more than doubles over [0, 1]
    row = v[(v.scope == "event_group") & (v.scope_value == "E05_JP_DEAL:jp_autos")
            & (v.window_kind == "car") & (v.window_start == 0)
            & (v.window_end == 1) & (v.model == "mean") & (v.test == "av_t")]
    assert float(row["daily_pct"].iloc[0]) > 1.0 and float(row["p_value"].iloc[0]) \
        < 0.01
    vt = tables["volatility.csv"]
    assert set(vt["standardised_by"]) == {"ols"}  # the market model: OLS variances
