"""The robustness grid (issue #17 part 6) on synthetic clustered data: a planted
effect survives every specification, the specifications are the ones asked for,
and the cells equal hand computations and the summary's headline p-values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_study import Synthetic, write_study

from eventstudy.errors import InputError, StudyFileError, UnknownNameError
from eventstudy.results.summary import headline_p_values
from eventstudy.robustness.grid import GridResult, grid_specs, robustness_grid
from eventstudy.workflows import prepare_study, run_study


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    """R000: +3% on day 0 for its 8 securities; R001: nothing; X01: a second
    event on R000's securities (so that masking changes their estimation)."""
    return write_study(tmp_path_factory.mktemp("grid"), planted={0: 0.03},
                       day0=[330, 380], market_sd=0.004,
                       extra={"X01": (300, "g000")})


@pytest.fixture(scope="module")
def grid(planted: Synthetic) -> GridResult:
    return robustness_grid(prepare_study(planted.study))


def test_specifications(planted: Synthetic) -> None:
    st = prepare_study(planted.study)
    specs, warns = grid_specs(st)
    assert warns == ()
    assert [s.name for s in specs] == ["base"] + [
        f"{m}/{L}{k}" for m in ("market", "market_adjusted", "constant_mean", "dimson")
        for L in (120, 250) for k in ("", "/masked")]
    assert specs[0].base and specs[0].estimation == (-100, -6)
    s = {x.name: x for x in specs}
    # windows end where the study's ends; minimum scaled as 80 of 95 sessions
    assert s["dimson/120/masked"].estimation == (-125, -6)
    assert s["dimson/120/masked"].min_estimation_obs == 102
    assert s["market/250"].min_estimation_obs == 211
    assert s["market/250"].label == "mkt/250" and s["market/120/masked"].label == (
        "mkt/120/m")
    # a combination equal to the base is not repeated
    same, _ = grid_specs(st, models=("market",), estimation=(95,), mask="off")
    assert [x.name for x in same] == ["base"]
    on, _ = grid_specs(st, models=("dimson",), estimation=(60,), mask="on")
    assert [(x.name, x.masked) for x in on] == [("base", False),
                                                ("dimson/60/masked", True)]


@pytest.mark.parametrize(("kw", "err", "msg"), [
    ({"models": ("market", "nope")}, UnknownNameError, "unknown model.s. nope"),
    ({"models": ()}, UnknownNameError, "no model given"),
    ({"models": ("factor",)}, StudyFileError, "model 'factor' needs"),
    ({"estimation": (1,)}, InputError, "estimation length 1"),
    ({"estimation": ()}, InputError, "no estimation length"),
    ({"mask": "sometimes"}, UnknownNameError, "mask 'sometimes'"),
])
def test_bad_options(planted: Synthetic, kw: dict[str, object],
                     err: type[Exception], msg: str) -> None:
    with pytest.raises(err, match=msg):
        grid_specs(prepare_study(planted.study), **kw)  # type: ignore[arg-type]


def test_planted_effect_survives_every_specification(grid: GridResult) -> None:
    t = grid.table
    assert len(grid.specs) == 17
    assert list(t["spec"].drop_duplicates()) == [s.name for s in grid.specs]
    r0 = t[t["event_id"] == "R000"]
    assert len(r0) == 17 * 2
    assert r0["survives"].all()
    assert (r0["p_test"] == "bmp_kp").all()  # 8 pairs sharing a day 0
    assert (r0["caar"] > 0.025).all()
    assert not t.loc[t["event_id"] == "R001", "survives"].any()
    # survives = the base CAAR's sign and p < 0.05, row by row
    key = ["event_id", "group", "window_start", "window_end"]
    base = t[t["base"]].set_index(key)["caar"]
    sign0 = np.sign(base.reindex(pd.MultiIndex.from_frame(t[key])).to_numpy())
    want = (np.sign(t["caar"].to_numpy()) == sign0) & (t["p_value"] < 0.05)
    assert (t["survives"] == want).all()


def test_cells_equal_hand_computations(planted: Synthetic, grid: GridResult) -> None:
    """market_adjusted: AR = r - m; constant_mean: AR = r - the mean return of the
    estimation window; masking removes the days around X01 from it."""
    r = planted.returns
    p = planted.day0["R000"]
    ticks = planted.members["R000"]
    t = grid.table.set_index(["spec", "event_id", "window_start"])
    adj = np.mean([r[k].iloc[p - 1:p + 2].sum() - r["MKT"].iloc[p - 1:p + 2].sum()
                   for k in ticks])
    assert t.loc[("market_adjusted/120", "R000", -1), "caar"] == pytest.approx(adj)
    q = planted.day0["X01"]
    for spec, drop in (("constant_mean/120", ()), ("constant_mean/120/masked",
                                                   (q - 1, q, q + 1))):
        est = [i for i in range(p - 125, p - 5) if i not in drop]
        cm = np.mean([r[k].iloc[p] - r[k].iloc[est].mean() for k in ticks])
        assert t.loc[(spec, "R000", 0), "caar"] == pytest.approx(cm, rel=1e-10)
    assert (t.loc[("constant_mean/120", "R000", 0), "caar"]
            != t.loc[("constant_mean/120/masked", "R000", 0), "caar"])


def test_base_is_the_study_run(planted: Synthetic, grid: GridResult) -> None:
    res, _ = run_study(planted.study, tests=("csect_t", "bmp", "bmp_kp",
                                             "series_t"))
    h = headline_p_values(res, "csect_t")
    b = grid.table[grid.table["base"]].reset_index(drop=True)
    np.testing.assert_allclose(b["caar"], h["caar"], rtol=1e-12)
    np.testing.assert_allclose(b["p_value"], h["p_value"], rtol=1e-12)
    assert b["p_test"].tolist() == h["p_test"].tolist()


def test_wide_and_markdown(grid: GridResult) -> None:
    w = grid.wide((0, 0))
    assert list(w.columns[:4]) == ["event_id", "group", "n", "base"]
    assert list(w.columns[-2:]) == ["dim/250/m", "survives"]
    row = w.set_index("event_id").loc["R000"]
    assert row["survives"] == "17/17" and row["base"].endswith("***")
    md = grid.to_markdown()
    assert md.startswith("# Robustness grid\n")
    assert "## CAR[0,0]" in md and "## CAR[-1,1]" in md
    assert ("- `mkt/120/m` (market/120/masked): model market, estimation "
            "[-125, -6]") in md
    with pytest.raises(InputError, match=r"CAR window \[2, 3\] is not in the grid"):
        grid.wide((2, 3))
