"""The toy model of docs/plugins.md: one file plus one registration, through the CLI.

The code block of the docs is written into a temporary package, imported, registered
in ``MODELS`` (the one registration line), and ``eventstudy run --model
mean_adjusted_median`` runs the mini study with it. The normal returns it writes
are the estimation-window medians of each pair, recomputed here from the ARs.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import MiniStudy

from eventstudy import config
from eventstudy.cli import cli
from eventstudy.estimation.models import MODELS, NormalReturnModel

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
TOY = "mean_adjusted_median"


def _docs_block() -> str:
    """The first python code block after the docs' toy-model heading."""
    text = DOCS.read_text(encoding="utf-8")
    part = text.split("### Example: a toy model in one file", 1)[1]
    m = re.search(r"```python\n(.*?)```", part, flags=re.S)
    assert m, "docs/plugins.md lost its toy-model code block"
    return m.group(1)


@pytest.fixture
def toy_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    pkg = tmp_path / "toyplug"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / f"{TOY}.py").write_text(_docs_block(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return importlib.import_module(f"toyplug.{TOY}")


@pytest.fixture
def toy(toy_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> NormalReturnModel:
    model: NormalReturnModel = toy_module.MeanAdjustedMedian()
    monkeypatch.setitem(MODELS, TOY, model)  # the one registration line
    return model


def _run(ms: MiniStudy, out: str = "out"):
    args = ["run", str(ms.study), "--prices", str(ms.prices), "--out",
            str(ms.root / out), "-q"]
    return CliRunner().invoke(cli, args, prog_name="eventstudy")


def _use_model(ms: MiniStudy, name: str) -> None:
    text = ms.study.read_text(encoding="utf-8")
    assert 'name = "market"' in text
    ms.study.write_text(text.replace('name = "market"', f'name = "{name}"'),
                        encoding="utf-8")


def test_toy_follows_the_protocol(toy: NormalReturnModel) -> None:
    assert isinstance(toy, NormalReturnModel)
    assert toy.name == TOY and MODELS[TOY] is toy
    y = np.array([[0.01, np.nan, -0.02, 0.03, 0.5], [0.0, 0.0, 0.0, 0.0, 0.0]])
    mask = np.isfinite(y)
    d = toy.design()
    assert d.regressors == () and d.k == 1 and not toy.fixed
    X = np.zeros((2, 5, 0))
    fit = toy.fit(d, y, X, mask, config.Conventions())
    np.testing.assert_array_equal(fit.params[:, 0], [0.02, 0.0])
    normal = toy.predict(d, fit, np.zeros((2, 3, 0)))
    np.testing.assert_array_equal(normal, [[0.02] * 3, [0.0] * 3])
    dev = np.array([-0.01, -0.04, 0.01, 0.48])
    assert fit.sigma2[0] == pytest.approx(float(dev @ dev) / 3, rel=1e-14)


def test_unregistered_toy_is_refused_with_the_choices(mini_study: MiniStudy) -> None:
    _use_model(mini_study, TOY)
    r = _run(mini_study)
    assert r.exit_code == 2, r.output
    assert TOY in r.output and "market" in r.output
    assert "Traceback" not in r.output


def test_toy_runs_through_the_cli(toy: NormalReturnModel,
                                  mini_study: MiniStudy) -> None:
    r_m = _run(mini_study, "out_market")
    assert r_m.exit_code == 0, r_m.output
    _use_model(mini_study, TOY)
    r = _run(mini_study)
    assert r.exit_code == 0, r.output
    out = mini_study.root / "out"
    # the same through --model (the study file says market again)
    r_opt = CliRunner().invoke(cli, [
        "run", str(mini_study.study), "--prices", str(mini_study.prices), "--out",
        str(mini_study.root / "out_opt"), "-q", "--model", TOY],
        prog_name="eventstudy")
    assert r_opt.exit_code == 0, r_opt.output
    assert (out / "abnormal_returns.csv").read_bytes() == (
        mini_study.root / "out_opt" / "abnormal_returns.csv").read_bytes()
    ar = pd.read_csv(out / "abnormal_returns.csv")
    diag = pd.read_csv(out / "diagnostics.csv")
    assert len(ar) > 0 and set(diag["model"]) == {TOY}
    # the normal return is the pair's median: constant over the event window and
    # equal to the reported alpha; no beta
    assert diag["beta"].isna().all()
    per_pair = ar.groupby(["event_id", "ticker"])["normal_return"]
    assert (per_pair.nunique() == 1).all()
    alpha = diag.set_index(["event_id", "ticker"])["alpha"]
    np.testing.assert_allclose(per_pair.first().to_numpy(),
                               alpha.loc[per_pair.first().index].to_numpy(),
                               rtol=1e-9)
    np.testing.assert_allclose(ar["abnormal_return"],
                               ar["return"] - ar["normal_return"], atol=1e-9)
    # the market model gives other normal returns: the toy really ran
    ar_m = pd.read_csv(mini_study.root / "out_market" / "abnormal_returns.csv")
    assert not np.allclose(ar["normal_return"], ar_m["normal_return"])
