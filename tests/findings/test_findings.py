"""The findings table: joined from the headline and placebo tables, rendered into
the README's block, and the README's block is what the command writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from eventstudy.cli import cli
from eventstudy.errors import InputError
from eventstudy.findings import (
    END,
    MAIN_P,
    START,
    Findings,
    block_options,
    findings_table,
    replace_block,
    study_findings,
)
from eventstudy.results.summary import headline_p_values
from eventstudy.robustness.placebo import placebo
from eventstudy.workflows import prepare_study, run_study

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "events" / "japan_us_investment.toml"
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def readme_findings() -> Findings:
    opts = block_options(README.read_text(encoding="utf-8"))
    a, b = (int(x) for x in opts["window"].split(","))
    return study_findings(STUDY, draws=int(opts["draws"]), seed=int(opts["seed"]),
                          window=(a, b))


def test_readme_block_is_what_the_command_writes(readme_findings: Findings) -> None:
    """The README's "What the seed study finds" table is generated, not typed."""
    text = README.read_text(encoding="utf-8")
    assert replace_block(text, readme_findings.block()) == text, (
        "README findings block is stale: run 'eventstudy findings "
        "events/japan_us_investment.toml --readme README.md'")


def test_table_joins_headline_and_placebo_exactly(readme_findings: Findings) -> None:
    f = readme_findings
    st = prepare_study(STUDY)
    res, _ = run_study(STUDY, study=st)
    h = headline_p_values(res, st.tests[0])
    a, b = f.window
    h = h[(h["window_start"] == a) & (h["window_end"] == b)].reset_index(drop=True)
    t = f.table
    assert t["event_id"].tolist() == h["event_id"].tolist()
    assert t["group"].tolist() == h["group"].tolist()
    np.testing.assert_array_equal(t["p_robust"].to_numpy(), h["p_value"].to_numpy())
    np.testing.assert_array_equal(t["caar"].to_numpy(), h["caar"].to_numpy())
    # the main rows: either p below MAIN_P, nothing else
    m = f.main()
    want = t[(t["p_robust"] < MAIN_P) | (t["p_placebo"] < MAIN_P)]
    assert m["event_id"].tolist() == want["event_id"].tolist()
    assert len(m) < len(t)
    # caveats say what the row is
    one = t[t["n"] == 1]
    assert one["caveats"].str.startswith("one series").all()
    small = t[(t["n"] > 1) & (t["n"] < 5)]
    assert small["caveats"].str.contains(r"small N \(\d\)").all()
    conf = t[t["confounded_by"] != ""]
    assert len(conf)
    for ids, cav in zip(conf["confounded_by"], conf["caveats"], strict=True):
        assert "confounded: " + ids.replace(";", ", ") in cav


def test_placebo_column_is_the_placebo_tests(readme_findings: Findings) -> None:
    f = readme_findings
    st = prepare_study(STUDY)
    pl = placebo(st, draws=f.draws, seed=f.seed)
    a, b = f.window
    q = pl.table[(pl.table["window_start"] == a) & (pl.table["window_end"] == b)]
    merged = f.table.merge(q, on=["event_id", "group"], suffixes=("", "_pl"))
    assert len(merged) == len(f.table)
    np.testing.assert_array_equal(merged["p_placebo"].to_numpy(),
                                  merged["p_placebo_pl"].to_numpy())


def _toy(p_rob: list[float], p_pl: list[float]) -> pd.DataFrame:
    n = len(p_rob)
    return pd.DataFrame({
        "event_id": [f"E{i}" for i in range(n)], "group": "g", "day0": "2025-01-02",
        "n": 6, "caar": 0.01, "p_robust": p_rob, "robust_test": "bmp_kp",
        "p_placebo": p_pl, "draws_used": 99, "confounded_by": "", "caveats": ""})


def test_markdown_lists_only_main_rows() -> None:
    f = Findings(_toy([0.5, 0.05, 0.5, np.nan], [0.5, 0.5, 0.0004, 0.09]), (0, 1),
                 99, 1, "toy")
    md = f.as_markdown()
    assert "| E0 |" not in md
    assert "| E1 | g | 2025-01-02 | 6 | +1.00% | 0.050 (bmp_kp) | 0.500 | - |" in md
    assert "| E2 | g | 2025-01-02 | 6 | +1.00% | 0.500 (bmp_kp) | <0.001 | - |" in md
    assert "| E3 | g | 2025-01-02 | 6 | +1.00% | - (bmp_kp) | 0.090 | - |" in md
    assert "3 of 4 event x group reactions" in md


def test_block_markers_roundtrip() -> None:
    f = Findings(_toy([0.01], [0.02]), (0, 1), 49, 7, "toy")
    text = f"# T\n\nintro\n{START} -->\nold\n{END}\n\ntail\n"
    new = replace_block(text, f.block())
    assert new.startswith("# T\n\nintro\n") and new.endswith(f"{END}\n\ntail\n")
    assert block_options(new) == {"window": "0,1", "draws": "49", "seed": "7"}
    assert replace_block(new, f.block()) == new
    with pytest.raises(InputError, match="NOTES.md: no findings block"):
        replace_block("no block here", f.block(), where="NOTES.md")


def test_findings_table_rejects_an_unknown_window() -> None:
    st = prepare_study(STUDY)
    res, _ = run_study(STUDY, study=st)
    pl = pd.DataFrame(columns=["event_id", "group", "window_start", "window_end",
                               "p_placebo", "draws_used"])
    with pytest.raises(InputError, match=r"CAR window \[2,3\] is not one of"):
        findings_table(res, pl, st.tests[0], (2, 3))


def test_cli_check_and_write(tmp_path: Path) -> None:
    readme = tmp_path / "R.md"
    readme.write_text(f"x\n{START} window=0,0 draws=5 seed=3 -->\nstale\n{END}\n",
                      encoding="utf-8")
    r = CliRunner().invoke(cli, ["findings", str(STUDY), "--readme", str(readme),
                                 "--check"])
    assert r.exit_code == 1 and "out of date" in r.output
    r = CliRunner().invoke(cli, ["findings", str(STUDY), "--readme", str(readme)])
    assert r.exit_code == 0, r.output
    text = readme.read_text(encoding="utf-8")
    assert block_options(text) == {"window": "0,0", "draws": "5", "seed": "3"}
    assert "CAAR[0,0]" in text
    r = CliRunner().invoke(cli, ["findings", str(STUDY), "--readme", str(readme),
                                 "--check"])
    assert r.exit_code == 0 and "current" in r.output


@pytest.mark.parametrize("args, msg", [
    (["--window", "x"], "--window 'x': give two whole numbers"),
    (["--check"], "--check compares a README's findings block"),
    (["--readme", "/nonexistent/R.md"], "cannot read it"),
    (["--window", "7,9", "--draws", "2"], "CAR window [7,9] is not one of"),
])
def test_cli_bad_input_exits_2(args: list[str], msg: str) -> None:
    r = CliRunner().invoke(cli, ["findings", str(STUDY), *args])
    assert r.exit_code == 2, r.output
    assert msg in r.output and "Traceback" not in r.output
