"""``eventstudy placebo`` and ``eventstudy robustness``: one output set each, the
library's numbers, and exit code 2 without a traceback on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from synthetic_study import Synthetic, write_study

from eventstudy.cli import cli
from eventstudy.io.outputset import verify_set
from eventstudy.robustness.placebo import placebo
from eventstudy.workflows import prepare_study


@pytest.fixture(scope="module")
def syn(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    return write_study(tmp_path_factory.mktemp("cli"), planted={0: 0.03},
                       day0=[330, 380], per_event=4)


def _invoke(args: list[str]) -> tuple[int, str]:
    r = CliRunner().invoke(cli, args, prog_name="eventstudy")
    return r.exit_code, r.output


def test_placebo_writes_one_set(syn: Synthetic, tmp_path: Path) -> None:
    out = tmp_path / "placebo"
    code, text = _invoke(["placebo", str(syn.study), "--draws", "19", "--seed", "2",
                          "--out", str(out)])
    assert code == 0, text
    assert sorted(p.name for p in out.iterdir()) == [
        "placebo.csv", "placebo_dates.csv", "run.json"]
    assert verify_set(out) == []
    got = pd.read_csv(out / "placebo.csv")
    want = placebo(prepare_study(syn.study), draws=19, seed=2).table
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-9)
    assert len(pd.read_csv(out / "placebo_dates.csv")) == 2 * 19
    info = json.loads((out / "run.json").read_text())
    assert info["command"] == "placebo"
    assert info["parameters"]["draws"] == 19 and info["parameters"]["seed"] == 2
    assert info["parameters"]["p_value"].startswith("p = (1 + #{draws:")
    assert "R000" in text and "wrote 3 files" in text
    # --seed defaults to the study's [tests] seed (7)
    code, _ = _invoke(["placebo", str(syn.study), "--draws", "3", "--out",
                       str(out)])
    assert code == 0
    assert json.loads((out / "run.json").read_text())["parameters"]["seed"] == 7


def test_robustness_writes_one_set(syn: Synthetic, tmp_path: Path) -> None:
    out = tmp_path / "grid"
    code, text = _invoke(["robustness", str(syn.study), "--out", str(out),
                          "--models", "market,constant_mean", "--estimation", "120",
                          "--mask", "off"])
    assert code == 0, text
    assert sorted(p.name for p in out.iterdir()) == [
        "robustness.csv", "robustness.md", "run.json"]
    assert verify_set(out) == []
    t = pd.read_csv(out / "robustness.csv")
    assert t["spec"].drop_duplicates().tolist() == ["base", "market/120",
                                                    "constant_mean/120"]
    assert len(t) == 3 * 2 * 2  # specs x event x group cells x CAR windows
    assert "survives" in text and "cmean/120" in text
    md = (out / "robustness.md").read_text()
    assert "## CAR[-1,1]" in md


@pytest.mark.parametrize(("args", "msg"), [
    (["placebo", "{study}", "--draws", "0", "--out", "{out}"],
     "0 is not in the range x>=1"),
    (["placebo", "{study}", "--draws", "many", "--out", "{out}"],
     "Invalid value for '--draws'"),
    (["placebo", "{study}", "--draws", "5", "--seed", "-1", "--out", "{out}"],
     "Invalid value for '--seed'"),
    (["placebo", "{study}", "--out", "{out}"], "Missing option '--draws'"),
    (["placebo", "{missing}", "--draws", "5", "--out", "{out}"], "nope.toml"),
    (["robustness", "{study}", "--out", "{out}", "--models", "market,nope"],
     "unknown model(s) nope"),
    (["robustness", "{study}", "--out", "{out}", "--estimation", "120,abc"],
     "--estimation '120,abc': give whole numbers of sessions"),
    (["robustness", "{study}", "--out", "{out}", "--estimation", "1"],
     "estimation length 1"),
    (["robustness", "{study}", "--out", "{out}", "--mask", "sometimes"],
     "Invalid value for '--mask'"),
])
def test_bad_input_exits_2_without_traceback(syn: Synthetic, tmp_path: Path,
                                             args: list[str], msg: str) -> None:
    fill = {"study": str(syn.study), "out": str(tmp_path / "o"),
            "missing": str(tmp_path / "nope.toml")}
    code, text = _invoke([a.format(**fill) for a in args])
    assert code == 2, text
    assert msg in text
    assert "Traceback" not in text
    assert not (tmp_path / "o").exists()  # refused before any output
