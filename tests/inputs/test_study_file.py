"""The study TOML: a three-line file with every default, every key overriding, paths
relative to the TOML file, and typed errors naming the file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from eventstudy.config import _KNOWN, Conventions, ModelSpec, Study, Windows, load_study
from eventstudy.errors import StudyFileError, UnknownNameError, WindowError
from eventstudy.workflows import prepare_study

MINIMAL = """\
[study]
events = "events.csv"
universe = "universe.csv"
"""

FULL = """\
[study]
name = "Full study"
events = "data/ev.csv"
universe = "data/uni.csv"

[windows]
estimation = [-200, -21]
event = [-20, 20]
car = [[-2, 2], [0, 10]]
min_estimation_obs = 100
estimation_gap = 0
day0_rule = "next"

[model]
name = "factor"
returns = "log"
day_part = "intraday"
dimson_lags = 2
factors = "data/ff.csv"
factor_columns = ["SMB", "HML"]
factor_unit = "percent"
rf_column = "RF"
market_factor = false
factor_frequency = "daily"
factor_region = "japan"
mean = "constant"
distribution = "t"
nonconvergence = "ols"

[tests]
names = ["bmp"]
bootstrap_reps = 99
seed = 7
p_adjust = ["holm", "fdr_by"]
p_adjust_family = "table"

[conventions]
profile = "estudy2"
sigma_dof = "model"
forecast_error = false
market_moments = "firm"
aggregation = "bhar"
weights = "mcap"
forecast_error_by_test = {bmp = false}
patell_car = "patell1976"
corrado_divisor = "T-1"

[confounding]
action = "exclude"
file = "confounders.csv"
window = [-3, 3]
mask_estimation = true
mask_window = [-2, 1]

[data]
source = "file"
prices = "data/px.parquet"
price_field = "close"
corporate_actions = "data/ca.csv"

[execution]
scheduler = "dask"
workers = 2

[measures]
names = ["volatility", "volume"]
volume_constant = 0.000255

[output]
format = "parquet"
"""


def test_minimal_study_has_every_default(tmp_path: Path) -> None:
    f = tmp_path / "mini.toml"
    f.write_text(MINIMAL)
    assert len(MINIMAL.splitlines()) == 3
    s = load_study(f)
    # the defaults, spelled out
    assert s == Study(
        path=f.resolve(),
        name="mini",                                   # the file's stem
        events=tmp_path.resolve() / "events.csv",
        universe=tmp_path.resolve() / "universe.csv",
        windows=Windows(
            estimation=(-250, -11),                    # sessions relative to day 0
            event=(-10, 10),
            car=((0, 0), (0, 1), (-1, 1), (-5, 5)),
            min_estimation_obs=120,
        ),
        model=ModelSpec(
            name="market", returns="simple", dimson_lags=1, factors=None,
            factor_columns=(), factor_unit="decimal", rf_column="",
            market_factor=True,
        ),
        tests=("csect_t", "patell", "bmp"),
        bootstrap_reps=999,
        seed=12345,
        conventions=Conventions(
            sigma_dof="model",            # L - k
            forecast_error=True,          # prediction-error term in SAR/CAR variance
            market_moments="firm",        # the firm's own estimation days
            aggregation="car",
            weights="",                   # equal weights
        ),
        confounding="flag",
        source="yahoo",
        prices=None,
        price_field="adjusted",
    )
    assert s.conventions == Conventions.profile("textbook") == Conventions()


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    f = tmp_path / "empty.toml"
    f.write_text("")
    s = load_study(f)
    assert s.events == tmp_path.resolve() / "events.csv"
    assert s.universe == tmp_path.resolve() / "universe.csv"
    assert s.windows == Windows() and s.model == ModelSpec()


def test_full_file_covers_every_known_key() -> None:
    raw = tomllib.loads(FULL)
    assert {s: set(body) for s, body in raw.items()} == _KNOWN


def test_every_key_overrides(tmp_path: Path) -> None:
    f = tmp_path / "full.toml"
    f.write_text(FULL)
    s = load_study(f)
    base = tmp_path.resolve()
    assert s.name == "Full study"
    assert s.events == base / "data" / "ev.csv"
    assert s.universe == base / "data" / "uni.csv"
    assert s.windows == Windows((-200, -21), (-20, 20), ((-2, 2), (0, 10)), 100)
    assert s.model == ModelSpec(
        name="factor", returns="log", day_part="intraday", dimson_lags=2,
        factors=base / "data" / "ff.csv",
        factor_columns=("SMB", "HML"), factor_unit="percent", rf_column="RF",
        market_factor=False, factor_frequency="daily", factor_region="japan",
        mean="constant", distribution="t", nonconvergence="ols")
    assert s.tests == ("bmp",)
    assert s.bootstrap_reps == 99 and s.seed == 7
    assert s.p_adjust == ("holm", "fdr_by") and s.p_adjust_family == "table"
    # the profile (estudy2) sets the conventions; explicit keys beat its settings
    assert s.conventions == Conventions(sigma_dof="model", forecast_error=False,
                                        market_moments="firm", aggregation="bhar",
                                        weights="mcap", test_profile="estudy2",
                                        forecast_error_by_test=(("bmp", False),),
                                        patell_car="patell1976", corrado_divisor="T-1")
    assert s.confounding == "exclude"
    assert s.source == "file"
    assert s.prices == base / "data" / "px.parquet"
    assert s.price_field == "close"
    assert s.corporate_actions == base / "data" / "ca.csv"
    assert s.measures == ("return", "volatility", "volume")
    assert s.volume_constant == 0.000255
    assert s.output_format == "parquet"


def test_profile_estudy2_sets_its_conventions(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text(MINIMAL + '[conventions]\nprofile = "estudy2"\n')
    s = load_study(f)
    assert s.conventions == Conventions.profile("estudy2")
    c = s.conventions
    assert (c.sigma_dof, c.forecast_error, c.market_moments, c.test_profile) == (
        "sample", True, "window", "estudy2")


def test_paths_are_relative_to_the_toml(tmp_path: Path, monkeypatch) -> None:
    sub = tmp_path / "project" / "studies"
    sub.mkdir(parents=True)
    (sub / "full.toml").write_text(FULL)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    s = load_study(Path("..") / "project" / "studies" / "full.toml")
    base = sub.resolve()
    assert s.path == base / "full.toml"
    for p in (s.events, s.universe, s.model.factors, s.prices):
        assert p is not None and p.is_absolute()
        assert p.parent == base / "data"
    assert s.events == base / "data" / "ev.csv"


def test_empty_universe_means_none(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text('[study]\nevents = "e.csv"\nuniverse = ""\n')
    assert load_study(f).universe is None


def test_single_test_name_as_string(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text(MINIMAL + '[tests]\nnames = "patell"\n')
    assert load_study(f).tests == ("patell",)


@pytest.mark.parametrize("extra,error,text", [
    ("[study\n", StudyFileError, "TOML"),
    ("[colours]\nred = 1\n", StudyFileError, "[colours]"),
    ("[windows]\nlength = 3\n", StudyFileError, "length"),
    ('[model]\nname = "capm"\n', UnknownNameError, "capm"),
    ('[model]\nreturns = "pct"\n', UnknownNameError, "pct"),
    ('[model]\nname = "factor"\n', StudyFileError, "factors"),
    ("[model]\ndimson_lags = 0\n", StudyFileError, "dimson_lags"),
    ('[tests]\nnames = ["magic"]\n', UnknownNameError, "magic"),
    ('[conventions]\nprofile = "mine"\n', UnknownNameError, "mine"),
    ('[conventions]\nsigma_dof = "n"\n', UnknownNameError, "sigma_dof"),
    ('[confounding]\naction = "ignore"\n', UnknownNameError, "ignore"),
    ('[data]\nsource = "ftp"\n', UnknownNameError, "ftp"),
    ("[windows]\nestimation = [-11, -250]\n", WindowError, "reversed"),
    ("[windows]\nevent = [5, -5]\n", WindowError, "reversed"),
    ("[windows]\nestimation = [-250, 0]\n", WindowError, "overlaps"),
    ("[windows]\ncar = [[-11, 0]]\n", WindowError, "[-11, 0]"),
    ("[windows]\ncar = []\n", WindowError, "car"),
    ("[windows]\nestimation = -250\n", WindowError, "two integers"),
    ("[windows]\nmin_estimation_obs = 241\n", WindowError, "exceeds"),
    ("[windows]\nmin_estimation_obs = 2\n", WindowError, "at least 3"),
    ('[windows]\nmin_estimation_obs = "many"\n', StudyFileError,
     "min_estimation_obs"),
    ("[tests]\nseed = 1.5\n", StudyFileError, "seed"),
    ('[model]\nmarket_factor = "false"\n', StudyFileError, "market_factor"),
    ('[model]\nfactor_columns = "SMB"\n', StudyFileError, "factor_columns"),
    ("[conventions]\nforecast_error = 0\n", StudyFileError, "forecast_error"),
    ("study = 3\n", StudyFileError, "table"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None)
def test_errors_name_the_file(tmp_path: Path, extra: str, error: type,
                              text: str) -> None:
    f = tmp_path / "bad_study.toml"
    f.write_text(extra if extra.startswith(("[study\n", "study =")) else
                 MINIMAL + extra)
    with pytest.raises(error) as info:  # plug-in names: checked against the registries
        prepare_study(f)
    msg = str(info.value)
    assert "bad_study.toml" in msg, msg
    assert text in msg, msg


def test_missing_study_file(tmp_path: Path) -> None:
    with pytest.raises(StudyFileError, match="not found") as info:
        load_study(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)


def test_shipped_study_loads() -> None:
    from conftest import EVENTS_DIR

    s = load_study(EVENTS_DIR / "japan_us_investment.toml")
    assert s.events == EVENTS_DIR.resolve() / "japan_us_investment.csv"
    assert s.universe == EVENTS_DIR.resolve() / "universe.csv"
    assert s.windows == Windows()
    assert s.model.name == "market"
