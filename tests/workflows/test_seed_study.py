"""The seed study (events/japan_us_investment.toml) on its bundled prices
(events/data/seed-prices.parquet), through the CLI and through the API.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import DAY0_TABLE, EVENTS_DIR, SNAPSHOT

import eventstudy.results as results_module
from eventstudy.cli import cli
from eventstudy.config import load_study
from eventstudy.inputs.prices import load_prices
from eventstudy.io.csv import FLOAT_FORMAT
from eventstudy.study import EventStudy
from eventstudy.workflows import study_prices

STUDY = EVENTS_DIR / "japan_us_investment.toml"
CSVS = ("abnormal_returns.csv", "car.csv", "tests.csv", "excluded.csv",
        "diagnostics.csv")
OUTPUTS = CSVS + ("summary.md", "run.json")
CALENDAR_OF = {".T": "XTKS", ".KS": "XKRX", "=X": "FX"}
NEW_YORK = {"X", "TM", "HMC", "TAK"}  # US Steel and the ADRs (no suffix)
# conftest's table and E10 (issue #17), from events-verified.md's summary table
DAY0 = {**DAY0_TABLE,
        "E10_KR_GYEONGJU": {"XTKS": "2025-10-30", "XKRX": "2025-10-30",
                            "XNYS": "2025-10-29", "FX": "2025-10-29"}}


def _calendar(ticker: str) -> str:
    if ticker in NEW_YORK:
        return "XNYS"
    for suffix, cal in CALENDAR_OF.items():
        if ticker.endswith(suffix):
            return cal
    raise AssertionError(f"no calendar for {ticker}")


def _run_cli(out: Path, prices: Path) -> None:
    r = CliRunner().invoke(cli, ["run", str(STUDY), "--prices", str(prices),
                                 "--out", str(out), "-q"], prog_name="eventstudy")
    assert r.exit_code == 0, r.output


@pytest.fixture(scope="module")
def seed_prices() -> Path:
    return SNAPSHOT


@pytest.fixture(scope="module")
def runs(tmp_path_factory, seed_prices) -> tuple[Path, Path]:
    out1 = tmp_path_factory.mktemp("seed") / "out1"
    out2 = tmp_path_factory.mktemp("seed") / "out2"
    _run_cli(out1, seed_prices)
    _run_cli(out2, seed_prices)
    return out1, out2


@pytest.fixture(scope="module")
def out(runs) -> Path:
    return runs[0]


def _read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / name, dtype={"event_id": str, "ticker": str},
                       keep_default_na=False, na_values=[""])


def documented_columns() -> dict[str, list[str]]:
    """Columns per output file, parsed from the results.py module docstring."""
    doc = results_module.__doc__ or ""
    cols: dict[str, list[str]] = {}
    for m in re.finditer(r"``(\w+\.csv)``\n\s+(.+?)\n(?=``|\Z|\S)", doc, re.S):
        text = re.sub(r"\(\+.*?\)", "", m.group(2))
        cols[m.group(1)] = [c.strip() for c in text.replace("\n", " ").split(",")
                            if c.strip()]
    return cols


# ---------------------------------------------------------------- files and columns
def test_all_outputs_exist(out: Path) -> None:
    for name in OUTPUTS:
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp")]


def test_documented_columns(out: Path) -> None:
    doc = documented_columns()
    assert set(doc) == set(CSVS)
    assert doc["abnormal_returns.csv"] == [
        "event_id", "ticker", "group", "rel_day", "date", "return", "normal_return",
        "abnormal_return", "sar", "day0", "day0_rule"]
    assert doc["excluded.csv"] == ["event_id", "ticker", "reason"]
    for name in CSVS:
        header = (out / name).read_text(encoding="utf-8").splitlines()[0].split(",")
        if name == "tests.csv":
            base = doc[name]
            assert header[:len(base)] == base
            assert set(header[len(base):]) <= {"rbar", "ci_low", "ci_high", "w_plus"}
        else:
            assert header == doc[name], name


def test_files_are_plain_utf8_with_newlines(out: Path) -> None:
    for name in CSVS + ("summary.md",):
        raw = (out / name).read_bytes()
        raw.decode("utf-8")
        assert b"\r\n" not in raw
        assert raw.endswith(b"\n")


def test_tests_scopes(out: Path) -> None:
    t = _read(out, "tests.csv")
    assert set(t["scope"]) == {"all", "group", "event", "event_group"}
    groups = set(t.loc[t["scope"] == "group", "scope_value"])
    assert groups == {"jp_autos", "jp_pharma", "kr_batteries", "kr_autos", "steel",
                      "jp_us_investors", "us_adrs", "yen"}
    events = set(t.loc[t["scope"] == "event", "scope_value"])
    assert events == set(DAY0)
    assert {"csect_t", "patell", "bmp"} <= set(t["test"])
    assert t["p_value"].dropna().between(0, 1).all()


def test_only_the_short_adrs_excluded_and_models(out: Path) -> None:
    """The ADRs' prices start 2024-08-22: too few estimation returns for E01/E02."""
    ex = _read(out, "excluded.csv")
    got = sorted(zip(ex["event_id"], ex["ticker"], ex["reason"], strict=True))
    assert got == sorted(
        [(e, t, f"only {n} estimation returns (minimum 120)")
         for e, n in (("E01_US_ELECTION", 42), ("E02_ISHIBA_SUMMIT_1T", 104))
         for t in ("TM", "HMC", "TAK")])
    d = _read(out, "diagnostics.csv")
    assert (d.loc[d["ticker"] == "JPY=X", "model"] == "constant_mean").all()
    assert (d.loc[d["ticker"] != "JPY=X", "model"] == "market").all()
    assert d["calendar"].map({"XTKS": 1, "XKRX": 1, "XNYS": 1, "FX": 1}).notna().all()
    assert (d["n_est"] >= 120).all()


# ---------------------------------------------------------------- run.json
def test_run_json(out: Path, seed_prices: Path) -> None:
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    for pkg in ("eventstudy", "numpy", "pandas", "python"):
        assert info["versions"][pkg], pkg
    p = info["parameters"]
    assert p["windows"] == {"estimation": [-250, -11], "event": [-10, 10],
                            "car": [[0, 0], [0, 1], [-1, 1], [-5, 5]],
                            "min_estimation_obs": 120, "estimation_mode": "window",
                            "estimation_gap": None, "day0_rule": "next"}
    assert p["model"]["name"] == "market" and p["model"]["returns"] == "simple"
    assert p["tests"] == ["csect_t", "patell", "bmp", "bmp_kp", "series_t"]
    assert p["conventions"]["sigma_dof"] == "model"

    def sha(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert info["inputs_sha256"] == {
        "study": sha(STUDY),
        "events": sha(EVENTS_DIR / "japan_us_investment.csv"),
        "universe": sha(EVENTS_DIR / "universe.csv"),
        "prices": sha(seed_prices),
        "confounders": sha(EVENTS_DIR / "confounders.csv"),
        "corporate_actions": sha(EVENTS_DIR / "data" / "corporate-actions.csv"),
    }


# ---------------------------------------------------------------- determinism
def test_two_runs_are_byte_identical(runs) -> None:
    a, b = runs
    for name in CSVS + ("summary.md",):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


# ---------------------------------------------------------------- day 0
YEN_DAY0: dict[str, tuple[str, str]] = {
    # JPY=X's value labelled D is Yahoo's snapshot at 00:00 London of D (the
    # universe leaves asof empty: the =X default); day 0 is the first weekday whose
    # 00:00 London is at or after the announcement; a plain date counts from its end
    # (00:00 London of the next day).
    "E01_US_ELECTION": ("2024-11-07", "date_only_asof 00:00 Europe/London"),
    "E02_ISHIBA_SUMMIT_1T": ("2025-02-10", "after_asof 00:00 Europe/London"),
    "E03_NIPPON_USS_MAY": ("2025-05-26", "after_asof 00:00 Europe/London"),
    "E04_NIPPON_USS_EO": ("2025-06-16", "after_asof 00:00 Europe/London"),
    "E05_JP_DEAL": ("2025-07-24", "after_asof 00:00 Europe/London"),
    "E08_JP_EO_MOU": ("2025-09-05", "after_asof 00:00 Europe/London"),
    "E09_TOKYO_SUMMIT": ("2025-10-29", "after_asof 00:00 Europe/London"),
    # (E09B_JP_FACTSHEET left the yen: its yen day 0 was E09's, counted twice)
    "E11_SCOTUS_ARG": ("2025-11-06", "after_asof 00:00 Europe/London"),
    "E12_YEN_RATECHECK": ("2026-01-26", "after_asof 00:00 Europe/London"),
    "E14_LDP_WIN": ("2026-02-09", "date_only_asof 00:00 Europe/London"),
    "E15_NIKKEI_FURIOUS": ("2026-02-11", "date_only_asof 00:00 Europe/London"),
    "E16_FIRST_TRANCHE": ("2026-02-19", "date_only_asof 00:00 Europe/London"),
    "E17_SCOTUS_RULING": ("2026-02-23", "after_asof 00:00 Europe/London"),
    "E18_MAR_SUMMIT": ("2026-03-20", "after_asof 00:00 Europe/London"),
}


def _first_snapshot_after(timestamp: str) -> str:
    """Independent of the library: the first weekday D whose 00:00 London is at
    or after the announcement (a plain date: after its end, so the first weekday
    after it)."""
    if len(timestamp) == 10:
        d = pd.Timestamp(timestamp) + pd.Timedelta(days=1)
        while d.day_of_week >= 5:
            d += pd.Timedelta(days=1)
        return d.strftime("%Y-%m-%d")
    t = pd.Timestamp(timestamp)
    d = t.tz_convert("Europe/London").tz_localize(None).normalize()
    while (d.day_of_week >= 5
           or pd.Timestamp(d).tz_localize("Europe/London") < t):
        d += pd.Timedelta(days=1)
    return d.strftime("%Y-%m-%d")


def test_yen_day0_is_the_first_snapshot_after_each_yen_event(out: Path) -> None:
    """Every yen event of the catalog: the yen's day 0 is the first observation
    whose as-of instant (00:00 London) is at or after the announcement."""
    ev = pd.read_csv(EVENTS_DIR / "japan_us_investment.csv", dtype=str,
                     keep_default_na=False)
    yen_events = ev[ev["groups"].str.split(";").map(lambda g: "yen" in g)]
    assert set(yen_events["event_id"]) == set(YEN_DAY0)
    for eid, ts in zip(yen_events["event_id"], yen_events["timestamp"],
                       strict=True):
        assert YEN_DAY0[eid][0] == _first_snapshot_after(ts), eid
    ar = _read(out, "abnormal_returns.csv")
    d0 = ar[(ar["rel_day"] == 0) & (ar["ticker"] == "JPY=X")]
    got = {e: (d, r) for e, d, r in zip(d0["event_id"], d0["date"], d0["day0_rule"],
                                        strict=True)}
    assert got == YEN_DAY0


def test_yen_rate_check_day0_is_the_monday_move(out: Path) -> None:
    """The 2026-01-23 (Friday noon New York) rate check: day 0 is Monday's
    snapshot, which holds the yen's rise (USD/JPY -2.1%), not Friday's +0.01%."""
    ar = _read(out, "abnormal_returns.csv")
    row = ar[(ar["event_id"] == "E12_YEN_RATECHECK") & (ar["ticker"] == "JPY=X")
             & (ar["rel_day"] == 0)]
    assert row["date"].tolist() == ["2026-01-26"]
    assert row["abnormal_return"].round(6).tolist() == [-0.021244]


def test_day0_matches_events_verified(out: Path) -> None:
    ar = _read(out, "abnormal_returns.csv")
    d0 = ar[ar["rel_day"] == 0]
    assert len(d0) == ar[["event_id", "ticker"]].drop_duplicates().shape[0]
    seen = set()
    for eid, ticker, date, day0 in zip(d0["event_id"], d0["ticker"], d0["date"],
                                       d0["day0"], strict=True):
        cal = _calendar(ticker)
        want = (YEN_DAY0[eid][0] if ticker == "JPY=X" else DAY0[eid][cal])
        assert date == want, (eid, ticker, cal, date)
        assert day0 == date
        seen.add((eid, cal))
    # every event reached at least one calendar, and each of its calendars
    assert {e for e, _ in seen} == set(DAY0)
    # the rel_day grid: 21 consecutive rows per pair
    sizes = ar.groupby(["event_id", "ticker"]).size()
    assert (sizes == 21).all()
    for _, g in ar.groupby(["event_id", "ticker"]):
        assert list(g["rel_day"]) == list(range(-10, 11))
        assert g["date"].is_monotonic_increasing and g["date"].is_unique


# ---------------------------------------------------------------- API == CLI
def _fmt(values: pd.Series) -> np.ndarray:
    """The values as written by results.write_csv (FLOAT_FORMAT), read back."""
    return np.array([float(FLOAT_FORMAT % v) if pd.notna(v) else np.nan
                     for v in values], dtype=np.float64)


def test_api_equals_cli(out: Path, seed_prices: Path, tmp_path: Path) -> None:
    study = load_study(STUDY)
    # the library's loader applies the study's [data] corporate_actions, as run does
    frame = study_prices(study, seed_prices)[0]
    assert not frame.equals(load_prices(seed_prices))  # Samsung SDI's rights issue
    res = EventStudy.from_study(study, frame).fit(
        tests=study.tests, conventions=study.conventions, seed=study.seed,
        bootstrap_reps=study.bootstrap_reps)
    frames = {"abnormal_returns.csv": res.abnormal_returns, "car.csv": res.car,
              "tests.csv": res.tests, "excluded.csv": res.excluded,
              "diagnostics.csv": res.diagnostics}
    for name, api in frames.items():
        cli_df = _read(out, name)
        assert list(cli_df.columns) == list(api.columns), name
        assert len(cli_df) == len(api), name
        for col in api.columns:
            a = api[col]
            c = cli_df[col]
            if pd.api.types.is_float_dtype(a):
                diff = np.abs(_fmt(a) - c.to_numpy(dtype=np.float64))
                both_nan = np.isnan(_fmt(a)) & c.isna().to_numpy()
                assert (both_nan | (diff <= 1e-12)).all(), (name, col)
            elif pd.api.types.is_datetime64_any_dtype(a):
                assert (a.dt.strftime("%Y-%m-%d").fillna("")
                        == c.fillna("").astype(str)).all(), (name, col)
            elif pd.api.types.is_integer_dtype(a) or pd.api.types.is_bool_dtype(a):
                assert (a.to_numpy() == c.to_numpy()).all(), (name, col)
            else:
                assert (a.fillna("").astype(str).to_numpy()
                        == c.fillna("").astype(str).to_numpy()).all(), (name, col)
    # and saving the API results writes the very same bytes
    written = res.save(tmp_path / "api")
    assert {p.name for p in written} == set(OUTPUTS)
    for name in CSVS + ("summary.md",):
        assert (tmp_path / "api" / name).read_bytes() == (out / name).read_bytes(), name


def test_skip_helper_gives_a_reason(monkeypatch, tmp_path: Path) -> None:
    import conftest

    monkeypatch.setattr(conftest, "SEED_PRICES", tmp_path / "absent.csv")
    with pytest.raises(pytest.skip.Exception, match="market data not available"):
        conftest.require_market_data()
