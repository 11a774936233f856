"""Inference that fits the design (issue #17 part 4): clustered scopes of the seed
study are starred by bmp_kp, small scopes carry a warning, and the bootstrap warns
below its minimum N."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import EVENTS_DIR

from eventstudy.cli import cli
from eventstudy.inference.bootstrap import BOOT_MIN_N, boot_small_n_warning
from eventstudy.results.summary import clustered_scopes, small_n_warning, stars


def _run(tmp: Path, names: str | None = None) -> Path:
    folder = tmp / "events"
    shutil.copytree(EVENTS_DIR, folder)
    study = folder / "japan_us_investment.toml"
    if names is not None:
        lines = [f"names = {names}" if ln.startswith("names = ") else ln
                 for ln in study.read_text().splitlines()]
        study.write_text("\n".join(lines) + "\n")
    out = tmp / "out"
    r = CliRunner().invoke(cli, ["run", str(study), "--out", str(out), "-q"],
                           prog_name="eventstudy")
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def seed_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(tmp_path_factory.mktemp("h12"))


def _rows(out: Path) -> pd.DataFrame:
    lines = [ln for ln in (out / "summary.md").read_text().splitlines()
             if ln.startswith("| ") and not ln.startswith("|---")]
    cells = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]
    return pd.DataFrame(cells[1:], columns=cells[0])


def test_clustered_rows_take_bmp_kp_stars(seed_out: Path) -> None:
    rows = _rows(seed_out)
    t = pd.read_csv(seed_out / "tests.csv", keep_default_na=False, na_values=[""])
    t = t[(t["scope"] == "event_group") & (t["window_kind"] == "car")]
    kp = t[t["test"] == "bmp_kp"].set_index(["scope_value", "window_start",
                                             "window_end"])
    cs = t[t["test"] == "csect_t"].set_index(["scope_value", "window_start",
                                              "window_end"])
    car = pd.read_csv(seed_out / "car.csv", dtype=str, keep_default_na=False)
    clus = clustered_scopes(car.drop_duplicates(["event_id", "group", "ticker"]))
    multi = rows[rows["n"].astype(int) > 1]
    assert len(multi) > 0
    checked = differ = 0
    # one day 0 per event x group, but for the steel group of E02 and E03, whose
    # Tokyo and New York pairs have different day-0 dates: main test (csect_t)
    apart = {f"{e}:{g}" for e, g in zip(multi["event"], multi["group"], strict=True)
             if not clus[("event_group", f"{e}:{g}")]}
    assert apart == {"E02_ISHIBA_SUMMIT_1T:steel", "E03_NIPPON_USS_MAY:steel"}
    for _, r in multi.iterrows():
        key = f"{r['event']}:{r['group']}"
        for col in [c for c in rows.columns if c.startswith("CAAR[")]:
            a, b = (int(x) for x in col[5:col.index("]")].split(","))
            if key in apart:
                assert r[col].endswith(stars(float(cs.loc[(key, a, b),
                                                           "p_value"])))
                checked += 1
                continue
            want = stars(float(kp.loc[(key, a, b), "p_value"]))
            assert r[col].endswith(want) and not r[col][:len(r[col]) - len(want)
                                                        ].endswith("*")
            checked += 1
            differ += want != stars(float(cs.loc[(key, a, b), "p_value"]))
    assert checked == len(multi) * len([c for c in rows.columns
                                        if c.startswith("CAAR[")])
    assert differ > 0  # the robust test changes some stars of the seed study
    md = (seed_out / "summary.md").read_text()
    assert ("stars from 'bmp_kp' (Kolari-Pynnonen adjusted BMP), robust to the "
            "cross-correlation") in md


def test_small_n_warning_in_summary_and_run_json(seed_out: Path) -> None:
    t = pd.read_csv(seed_out / "tests.csv", keep_default_na=False, na_values=[""])
    w = small_n_warning(t)
    assert w.startswith("small N: ") and "p-values unreliable" in w
    info = json.loads((seed_out / "run.json").read_text())
    assert w in info["data_warnings"]
    assert f"- {w}." in (seed_out / "summary.md").read_text()


def test_without_bmp_kp_the_footnote_says_how_to_add_it(
        tmp_path: Path) -> None:
    out = _run(tmp_path, '["csect_t", "series_t"]')
    md = (out / "summary.md").read_text()
    assert ("stars from 'csect_t', which assumes independent pairs and overstates "
            "significance there; add 'bmp_kp' to the study's [tests] names (or "
            "--tests) for stars robust to cross-correlation.") in md


def test_small_n_warning_exact() -> None:
    t = pd.DataFrame({"scope": ["event_group"] * 4, "n": [4, 1, 9, 2],
                      "scope_value": ["E1:a", "E1:yen", "E2:a", "E3:b"]})
    assert small_n_warning(t) == (
        "small N: 2 scope(s) have fewer than 5 pairs (E1:a n = 4, E3:b n = 2): "
        "cross-sectional p-values unreliable")
    assert small_n_warning(t[t["n"] != 4].iloc[:2]) == ""


def test_boot_warns_below_min_n() -> None:
    assert BOOT_MIN_N == 10
    t = pd.DataFrame({"test": ["boot", "boot", "boot", "bmp"],
                      "n": [6, 9, 10, 3]})
    assert boot_small_n_warning(t) == (
        "boot: 2 row(s) have fewer than 10 pairs (smallest n = 6): the bootstrap "
        "of so few CARs understates their sampling error and its p-values are "
        "unreliable (a 6-stock bootstrap gave p = 4e-30, issue #17); prefer "
        "bmp_kp or series_t there")
    assert boot_small_n_warning(t[t["n"] >= 10]) == ""


def test_boot_on_seed_warns_in_run_json(tmp_path: Path) -> None:
    out = _run(tmp_path, '["boot", "series_t"]')
    info = json.loads((out / "run.json").read_text())
    t = pd.read_csv(out / "tests.csv", keep_default_na=False, na_values=[""])
    assert boot_small_n_warning(t) in info["data_warnings"]
    assert any(w.startswith("boot: ") for w in info["data_warnings"])
