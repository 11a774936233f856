"""Kenneth French's factors (eventstudy.inputs.sources.french, inputs.factors): the
library's file names, the parser on recorded files in the library's real zip/CSV
layout (tests/data/french, built by its build.py), the atomic offline-capable cache,
``[model] factors = "ff3" | "ff5" | "carhart"``, and the acceptance test: a fetched
factor study runs offline afterwards, equal to a run on the same factors from a file.

Nothing here touches the network: :class:`FakeFrench` serves the recorded zips.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from eventstudy.cli import cli
from eventstudy.config import load_study
from eventstudy.errors import (
    DataUnavailableError,
    NetworkError,
    PriceDataError,
    ProviderError,
    StudyFileError,
    UnknownNameError,
)
from eventstudy.inputs.factors import load_factors, resolve_factors
from eventstudy.inputs.sources import french
from eventstudy.inputs.sources.french import (
    BASE_URL,
    FILES,
    FrenchLibrary,
    dataset_names,
    parse_french_csv,
    parse_french_zip,
)
from eventstudy.workflows import run_study

DATA = Path(__file__).resolve().parents[2] / "data" / "french"


class FakeFrench:
    """Serves the recorded zips by URL; counts calls; can fail like the network."""

    def __init__(self, fail: Exception | None = None,
                 body: bytes | None = None) -> None:
        self.calls: list[str] = []
        self.fail = fail
        self.body = body

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        if self.fail is not None:
            raise self.fail
        if self.body is not None:
            return self.body
        assert url.startswith(BASE_URL), url
        path = DATA / url[len(BASE_URL):]
        if not path.is_file():
            raise ProviderError(f"the Kenneth French data library answered HTTP 404 "
                                f"for {url}")
        return path.read_bytes()


def _text(name: str) -> str:
    with zipfile.ZipFile(DATA / f"{name}_CSV.zip") as zf:
        return zf.read(zf.namelist()[0]).decode("ascii")


def _first_table(name: str) -> pd.DataFrame:
    """An independent read of a recorded file: pandas on the lines between the
    header (first cell empty) and the next blank line, in percent."""
    lines = _text(name).split("\r\n")
    start = next(i for i, ln in enumerate(lines) if ln.startswith(","))
    stop = lines.index("", start)
    df = pd.read_csv(io.StringIO("\n".join(["date" + lines[start]]
                                           + lines[start + 1:stop])),
                     dtype={"date": str}, skipinitialspace=True)
    df.columns = [c.strip() for c in df.columns]
    return df


# ---------------------------------------------------------------- file names
def test_every_set_region_and_frequency_has_its_library_file() -> None:
    assert len(FILES) == 18
    assert dataset_names("ff3", "daily") == ("F-F_Research_Data_Factors_daily",)
    assert dataset_names("ff5", "monthly") == ("F-F_Research_Data_5_Factors_2x3",)
    assert dataset_names("carhart", "monthly") == ("F-F_Research_Data_Factors",
                                                   "F-F_Momentum_Factor")
    assert dataset_names("carhart", "daily", "japan") == ("Japan_3_Factors_Daily",
                                                          "Japan_Mom_Factor_Daily")
    assert dataset_names("carhart", "monthly", "asia_pacific_ex_japan") == (
        "Asia_Pacific_ex_Japan_3_Factors", "Asia_Pacific_ex_Japan_MOM_Factor")
    assert dataset_names("ff5", "daily", "asia_pacific_ex_japan") == (
        "Asia_Pacific_ex_Japan_5_Factors_Daily",)
    with pytest.raises(UnknownNameError, match="factor set 'ff4': use one of ff3"):
        dataset_names("ff4", "daily")
    with pytest.raises(UnknownNameError, match="factor region 'europe'"):
        dataset_names("ff3", "daily", "europe")
    with pytest.raises(UnknownNameError, match="factor frequency 'weekly'"):
        dataset_names("ff3", "weekly")


# ---------------------------------------------------------------- parser
def test_daily_file_equals_an_independent_read() -> None:
    got = parse_french_zip((DATA / "F-F_Research_Data_Factors_daily_CSV.zip")
                           .read_bytes())
    ref = _first_table("F-F_Research_Data_Factors_daily")
    assert list(got.columns) == ["Mkt-RF", "SMB", "HML", "RF"]
    assert len(got) == len(ref) == 502
    assert list(got.index.strftime("%Y%m%d")) == list(ref["date"])
    np.testing.assert_array_equal(got.to_numpy(),
                                  ref[["Mkt-RF", "SMB", "HML", "RF"]].to_numpy())
    assert got.index[0] == pd.Timestamp("2023-01-03")
    assert got.index[-1] == pd.Timestamp("2024-12-31")


def test_monthly_file_stops_before_the_annual_table() -> None:
    got = parse_french_zip((DATA / "F-F_Research_Data_Factors_CSV.zip").read_bytes())
    ref = _first_table("F-F_Research_Data_Factors")
    assert len(got) == 72  # 2019-01..2024-12; the six annual rows are not read
    assert got.index[0] == pd.Timestamp("2019-01-31")
    assert got.index[-1] == pd.Timestamp("2024-12-31")
    assert got.index[13] == pd.Timestamp("2020-02-29")  # month ends
    np.testing.assert_array_equal(got.to_numpy(),
                                  ref[["Mkt-RF", "SMB", "HML", "RF"]].to_numpy())


def test_momentum_columns_are_named_mom_and_missing_codes_are_nan() -> None:
    us = parse_french_zip((DATA / "F-F_Momentum_Factor_CSV.zip").read_bytes())
    assert list(us.columns) == ["MOM"]  # the header is ",Mom   "
    apxj = parse_french_zip((DATA / "Asia_Pacific_ex_Japan_MOM_Factor_CSV.zip")
                            .read_bytes())
    assert list(apxj.columns) == ["MOM"]  # the header is ",WML"
    assert apxj.index[0] == pd.Timestamp("1990-11-30")
    assert np.isnan(apxj["MOM"].iloc[0])  # -99.99
    assert apxj["MOM"].notna().sum() == 24
    jp = parse_french_zip((DATA / "Japan_3_Factors_Daily_CSV.zip").read_bytes())
    assert list(jp.columns) == ["Mkt-RF", "SMB", "HML", "RF"]
    assert len(jp) == 58 and jp.index[0] == pd.Timestamp("2024-01-04")


def test_lone_cr_and_lf_line_ends_read_alike() -> None:
    crlf = _text("F-F_Research_Data_Factors")
    a = parse_french_csv(crlf)
    pd.testing.assert_frame_equal(a, parse_french_csv(crlf.replace("\r\n", "\n")))
    pd.testing.assert_frame_equal(a, parse_french_csv(crlf.replace("\r\n", "\r")))


@pytest.mark.parametrize(("text", "message"), [
    ("no table here\r\n\r\n", "f.csv: no table header"),
    ("x\r\n\r\n,A,B\r\n2024013,1,2\r\n", "f.csv, line 4: '2024013' is not a "
                                         "YYYYMMDD or YYYYMM date"),
    ("x\r\n\r\n,A,B\r\n20240102,1,zz\r\n", "f.csv, line 4: a value is not a number"),
    ("x\r\n\r\n,A,B\r\n20240102,1\r\n", "f.csv, line 4: 1 values for 2 columns"),
    ("x\r\n\r\n,A,B\r\n20240231,1,2\r\n", "f.csv, line 4: '20240231' is not a valid"),
    ("x\r\n\r\n,A,B\r\n20240103,1,2\r\n20240102,1,2\r\n", "not increasing"),
    ("x\r\n\r\n,A,B\r\n20240103,1,2\r\n202402,1,2\r\n", "mixes daily and monthly"),
    ("x\r\n\r\n,A,A\r\n20240103,1,2\r\n", "f.csv, line 3: bad header"),
    ("x\r\n\r\n,A,B\r\n\r\n", "has no rows"),
])
def test_bad_files_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(PriceDataError) as err:
        parse_french_csv(text, "f.csv")
    assert message in str(err.value)


def test_a_non_zip_is_refused_with_the_fix() -> None:
    with pytest.raises(PriceDataError, match=r"z\.zip: not a zip file .*--refresh"):
        parse_french_zip(b"<html>moved</html>", "z.zip")


# ---------------------------------------------------------------- cache
def test_fetch_once_then_offline_and_decimal_units(tmp_path: Path) -> None:
    fake = FakeFrench()
    lib = FrenchLibrary(tmp_path, fake)
    t = lib.load("carhart", "daily")
    assert fake.calls == [BASE_URL + "F-F_Research_Data_Factors_daily_CSV.zip",
                          BASE_URL + "F-F_Momentum_Factor_daily_CSV.zip"]
    assert list(t.columns) == ["Mkt-RF", "SMB", "HML", "RF", "MOM"]
    # the momentum file starts five sessions later: the inner join starts there
    assert len(t) == 497 and t.index[0] == pd.Timestamp("2023-01-10")
    ref = _first_table("F-F_Research_Data_Factors_daily").set_index("date")
    assert t.loc["2023-01-10", "Mkt-RF"] == ref.loc["20230110", "Mkt-RF"] / 100.0
    assert t.loc["2024-12-31", "RF"] == 0.021 / 100.0
    # the cached bytes are the library's zip, unchanged
    assert (lib.path("F-F_Momentum_Factor_daily").read_bytes()
            == (DATA / "F-F_Momentum_Factor_daily_CSV.zip").read_bytes())
    # a second load and an offline load download nothing
    pd.testing.assert_frame_equal(lib.load("carhart", "daily"), t)
    pd.testing.assert_frame_equal(FrenchLibrary(tmp_path).load(
        "carhart", "daily", offline=True), t)
    assert len(fake.calls) == 2
    assert sorted(p.name for p in lib.folder.iterdir()) == [
        "F-F_Momentum_Factor_daily_CSV.zip", "F-F_Research_Data_Factors_daily_CSV.zip"]


def test_offline_without_the_files_says_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError) as err:
        FrenchLibrary(tmp_path, FakeFrench()).load("ff5", "daily", offline=True)
    msg = str(err.value)
    assert "F-F_Research_Data_5_Factors_2x3_daily is not in the cache" in msg
    assert "eventstudy factors fetch STUDY" in msg


def test_a_bad_answer_never_replaces_a_good_file(tmp_path: Path) -> None:
    FrenchLibrary(tmp_path, FakeFrench()).load("ff3", "monthly")
    good = (DATA / "F-F_Research_Data_Factors_CSV.zip").read_bytes()
    target = tmp_path / "factors" / "F-F_Research_Data_Factors_CSV.zip"
    with pytest.raises(ProviderError, match="not a factor table"):
        FrenchLibrary(tmp_path, FakeFrench(body=b"<html>")).fetch(
            ["F-F_Research_Data_Factors"], refresh=True)
    assert target.read_bytes() == good
    with pytest.raises(NetworkError, match="cannot reach"):
        FrenchLibrary(tmp_path, FakeFrench(fail=NetworkError(
            "cannot reach the Kenneth French data library"))).fetch(
            ["F-F_Research_Data_Factors"], refresh=True)
    assert target.read_bytes() == good
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp


def test_http_get_maps_errors_to_typed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.error
    import urllib.request

    def refused(url: str, timeout: float) -> None:
        raise urllib.error.URLError("[Errno 111] Connection refused")

    monkeypatch.setattr(urllib.request, "urlopen", refused)
    with pytest.raises(NetworkError, match="cannot reach the Kenneth French data "
                                           "library .*Connection refused"):
        french.http_get(BASE_URL + "x_CSV.zip")

    def missing(url: str, timeout: float) -> None:
        raise urllib.error.HTTPError(url, 404, "Not Found", None, None)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib.request, "urlopen", missing)
    with pytest.raises(ProviderError, match="answered HTTP 404"):
        french.http_get(BASE_URL + "x_CSV.zip")


# ---------------------------------------------------------------- study file
def _factor_study(root: Path, lines: str) -> Path:
    (root / "e.csv").write_text("event_id,timestamp,ticker\nE1,2024-06-03,AAA\n",
                                encoding="utf-8")
    p = root / "s.toml"
    p.write_text(f'[study]\nevents = "e.csv"\n[model]\nname = "factor"\n{lines}',
                 encoding="utf-8")
    return p


def test_builtin_set_in_the_study_file(tmp_path: Path) -> None:
    m = load_study(_factor_study(tmp_path, 'factors = "carhart"\n'
                                           'factor_region = "japan"\n')).model
    assert (m.factors, m.factor_set, m.factor_region, m.factor_frequency) == (
        None, "carhart", "japan", "")
    assert m.rf_column == "RF" and m.market_factor is False
    m2 = load_study(_factor_study(tmp_path, 'factors = "ff3"\nrf_column = "rf"\n'
                                            "market_factor = true\n")).model
    assert (m2.rf_column, m2.market_factor) == ("rf", True)
    m3 = load_study(_factor_study(tmp_path, 'factors = "ff3.csv"\n')).model
    assert m3.factor_set == "" and m3.factors == tmp_path / "ff3.csv"
    with pytest.raises(UnknownNameError, match=r"s.toml: \[model\] factor_region "
                       r"= .eu. is not valid; choose one of us, japan, "
                       r"asia_pacific_ex_japan"):
        load_study(_factor_study(tmp_path, 'factors = "ff3"\nfactor_region = "eu"\n'))
    with pytest.raises(UnknownNameError,
                       match=r"\[model\] factor_frequency = .weekly."):
        load_study(_factor_study(tmp_path, 'factors = "ff3"\n'
                                           'factor_frequency = "weekly"\n'))


def test_monthly_factors_are_refused_for_a_daily_event_study(tmp_path: Path) -> None:
    st = load_study(_factor_study(tmp_path, 'factors = "ff3"\n'
                                            'factor_frequency = "monthly"\n'))
    with pytest.raises(StudyFileError, match="needs daily factors"):
        resolve_factors(st, cache_dir=tmp_path, fetch=FakeFrench())


def test_resolve_points_the_study_at_the_cache(tmp_path: Path) -> None:
    st = load_study(_factor_study(tmp_path, 'factors = "ff5"\n'))
    fake = FakeFrench()
    got, sha = resolve_factors(st, cache_dir=tmp_path / "c", fetch=fake)
    assert got.model.factors == tmp_path / "c" and got.model.factor_frequency == "daily"
    assert sha is not None and len(sha) == 64 and len(fake.calls) == 1
    t = load_factors(got.model.factors, got.model)
    assert list(t.columns) == ["Mkt-RF", "SMB", "HML", "RMW", "CMA", "RF"]
    same, sha2 = resolve_factors(st, cache_dir=tmp_path / "c", offline=True)
    assert sha2 == sha and same == got
    plain = load_study(_factor_study(tmp_path, 'factors = "f.csv"\n'))
    assert resolve_factors(plain) == (plain, None)


# ---------------------------------------------------------------- acceptance
def _write_file_factors(path: Path) -> None:
    """The recorded daily ff3 values as a plain factor file (percent), written from
    the independent read, not through the library's parser."""
    ref = _first_table("F-F_Research_Data_Factors_daily")
    out = ref.copy()
    out["date"] = pd.to_datetime(out["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False, lineterminator="\n")


def test_fetched_study_runs_offline_equal_to_the_file_run(
        mini_study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ms = mini_study
    base = ms.study.read_text(encoding="utf-8")
    ms.study.write_text(base.replace('name = "market"',
                                     'name = "factor"\nfactors = "ff3"'),
                        encoding="utf-8")
    file_study = ms.root / "file.toml"
    _write_file_factors(ms.root / "ff3_daily.csv")
    file_study.write_text(base.replace(
        'name = "market"',
        'name = "factor"\nfactors = "ff3_daily.csv"\nfactor_unit = "percent"\n'
        'rf_column = "RF"\nmarket_factor = false'), encoding="utf-8")
    cache = tmp_path / "cache"
    fake = FakeFrench()
    monkeypatch.setattr(french, "http_get", fake)
    runner = CliRunner()
    r = runner.invoke(cli, ["factors", "fetch", str(ms.study), "--cache-dir",
                            str(cache), "--frequency", "daily"])
    assert r.exit_code == 0, r.output
    assert "ff3 us daily: F-F_Research_Data_Factors_daily (1 downloaded); 502 rows " \
           "2023-01-03..2024-12-31" in r.output
    assert len(fake.calls) == 1
    monkeypatch.setattr(french, "http_get", FakeFrench(fail=NetworkError("offline!")))
    res, info = run_study(ms.study, prices=ms.prices, cache_dir=cache, offline=True)
    ref, _ = run_study(file_study, prices=ms.prices)
    for name in ("abnormal_returns", "car", "tests", "diagnostics"):
        pd.testing.assert_frame_equal(getattr(res, name), getattr(ref, name),
                                      check_exact=True)
    assert len(res.car) == 8 and res.car["car"].notna().all()
    assert "factors" in info["inputs_sha256"]
    # and the CLI's run --offline writes the same CARs (car.csv keeps 10 decimals)
    out = tmp_path / "out"
    r = runner.invoke(cli, ["run", str(ms.study), "--prices", str(ms.prices),
                            "--out", str(out), "--cache-dir", str(cache),
                            "--offline", "--quiet"])
    assert r.exit_code == 0, r.output
    car = pd.read_csv(out / "car.csv")
    np.testing.assert_allclose(car["car"].to_numpy(), ref.car["car"].to_numpy(),
                               rtol=0, atol=5e-11)


def test_run_offline_with_an_empty_cache_exits_2(mini_study, tmp_path: Path) -> None:
    ms = mini_study
    ms.study.write_text(ms.study.read_text(encoding="utf-8").replace(
        'name = "market"', 'name = "factor"\nfactors = "carhart"'), encoding="utf-8")
    r = CliRunner().invoke(cli, ["run", str(ms.study), "--prices", str(ms.prices),
                                 "--out", str(tmp_path / "o"), "--cache-dir",
                                 str(tmp_path / "c"), "--offline", "--quiet"])
    assert r.exit_code == 2
    assert "F-F_Research_Data_Factors_daily is not in the cache" in r.output
    assert "Traceback" not in r.output


def test_factors_fetch_needs_a_builtin_set(mini_study, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["factors", "fetch", str(mini_study.study),
                                 "--cache-dir", str(tmp_path)])
    assert r.exit_code == 2
    assert "[model] factors is not a built-in set" in r.output
