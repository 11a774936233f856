"""Output writers (issue #20 part 2): the compiled CSV path gives pandas' bytes, the
Parquet tables hold the results' values typed, reruns are byte-identical, and every
reader of a run (report, cross-section, refresh) takes either format."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import MiniStudy

import eventstudy.io.csv as csvmod
from eventstudy.bench import make_panel
from eventstudy.cli import cli
from eventstudy.config import Windows, load_study
from eventstudy.errors import EventStudyError, InputError
from eventstudy.io.csv import LongTable, write_csv, write_csv_pandas
from eventstudy.io.tables import TABLE_FORMATS, find_table, read_table, table_format
from eventstudy.reporting.documents import load_run
from eventstudy.study import EventStudy

NASTY = ["plain", "a,b", 'say "hi"', "two\nlines", "", " lead", "ü€", "x;y"]
WINDOWS = Windows(estimation=(-120, -11), event=(-5, 5), car=((0, 0), (-1, 1)),
                  min_estimation_obs=60)


def _frame(n: int, seed: int) -> pd.DataFrame:
    """Every column kind, with floats from 1e-20 to 1e36, ties, zeros, infinities."""
    rng = np.random.default_rng(seed)
    f = rng.standard_cauchy(n) * 10.0 ** rng.integers(-20, 36, n)
    f[rng.random(n) < 0.05] = np.nan
    f[:10] = [0.0, -0.0, np.inf, -np.inf, 0.5, 9999999999.5, 1e-5, 1e16, 5e-324,
              1.7976931348623157e308]
    ties = (rng.integers(10**9, 10**10, n) + 0.5) * 10.0 ** rng.integers(-14, 3, n)
    stamps = rng.integers(-(10**18), 4 * 10**18, n)
    stamps[rng.random(n) < 0.1] = np.iinfo(np.int64).min
    return pd.DataFrame({
        "s": np.asarray(rng.choice(NASTY, n), dtype=object),
        "f": f,
        "tie": ties,
        "small": rng.normal(0, 0.02, n),
        "i": rng.integers(-(10**15), 10**15, n),
        "b": rng.random(n) < 0.5,
        "d": pd.to_datetime(stamps),
        "str": pd.array(rng.choice(["u", "v,w", None], n), dtype="str"),
    })


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every table through the compiled kernels, however small."""
    monkeypatch.setattr(csvmod, "COMPILED_ROWS", 1)


@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_csv_gives_the_bytes_of_pandas(tmp_path: Path, compiled: None,
                                                seed: int) -> None:
    df = _frame(5000, seed)
    assert csvmod._compiled_for(len(df))
    write_csv(df, tmp_path / "fast.csv")
    write_csv_pandas(df, tmp_path / "pandas.csv")
    fast = (tmp_path / "fast.csv").read_bytes()
    assert fast == (tmp_path / "pandas.csv").read_bytes()


def test_compiled_float_cells_equal_c_printf() -> None:
    """Each float against Python's ``"%.10g" %``, including every power of ten and
    its neighbours, the decimal-exponent edges and values the kernel leaves to
    Python (near-ties, tiny, huge)."""
    rng = np.random.default_rng(7)
    p = 10.0 ** np.arange(-30, 40)
    x = np.concatenate([p, np.nextafter(p, 0), np.nextafter(p, np.inf), -p,
                        rng.normal(0, 1, 20000) * 10.0 ** rng.integers(-25, 40, 20000),
                        [1e-4, 9.9999999995e-5, 999999999.95, 9999999999.4999,
                         0.00012345678905, 123.4567890500001, np.nan]])
    M, L = csvmod._render_floats_compiled(x)
    got = [bytes(M[i, :L[i]]).decode() for i in range(len(x))]
    assert got == ["" if v != v else "%.10g" % v for v in x]  # noqa: UP031


def _long_table(rng: np.random.Generator, pairs: int, width: int) -> LongTable:
    rep = np.repeat(np.arange(pairs), width)
    ids = np.asarray([f"E{i}" if i % 7 else f'e,"{i}"' for i in range(pairs)],
                     dtype=object)
    day0 = (np.arange(pairs) + 19000).astype("datetime64[D]").astype("datetime64[ns]")
    return LongTable(pairs * width, [
        ("event_id", ids, rep),
        ("rel_day", np.arange(width) - width // 2, np.tile(np.arange(width), pairs)),
        ("x", rng.normal(0, 0.02, pairs * width), None),
        ("y", np.where(rng.random(pairs * width) < 0.1, np.nan,
                       rng.standard_cauchy(pairs * width)), None),
        ("day0", day0, rep),
    ])


def test_compiled_long_table_equals_numpy_and_the_frame(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    table = _long_table(np.random.default_rng(3), 9000, 11)  # two blocks of rows
    monkeypatch.setattr(csvmod, "COMPILED_ROWS", 10**12)
    table.write(tmp_path / "numpy.csv")
    monkeypatch.setattr(csvmod, "COMPILED_ROWS", 1)
    table.write(tmp_path / "compiled.csv")
    write_csv_pandas(table.frame(), tmp_path / "pandas.csv")
    ref = (tmp_path / "pandas.csv").read_bytes()
    assert (tmp_path / "numpy.csv").read_bytes() == ref
    assert (tmp_path / "compiled.csv").read_bytes() == ref


# ------------------------------------------------------------------------ parquet


def test_parquet_columns_are_typed_and_hold_the_values(tmp_path: Path) -> None:
    table = _long_table(np.random.default_rng(4), 300, 5)
    TABLE_FORMATS["parquet"].write(table, tmp_path / "t.parquet")
    schema = pq.read_schema(tmp_path / "t.parquet")
    assert [(f.name, str(f.type)) for f in schema] == [
        ("event_id", "string"), ("rel_day", "int64"), ("x", "double"),
        ("y", "double"), ("day0", "date32[day]")]
    back = pq.read_table(tmp_path / "t.parquet").to_pandas(date_as_object=False)
    frame = table.frame()
    assert back["event_id"].tolist() == frame["event_id"].tolist()
    np.testing.assert_array_equal(back["x"].to_numpy(), frame["x"].to_numpy())
    np.testing.assert_array_equal(back["y"].to_numpy(), frame["y"].to_numpy())
    assert (back["day0"].to_numpy().astype("datetime64[D]")
            == frame["day0"].to_numpy().astype("datetime64[D]")).all()
    meta = pq.ParquetFile(tmp_path / "t.parquet").metadata
    assert meta.row_group(0).column(2).compression == "ZSTD"
    assert pq.read_schema(tmp_path / "t.parquet").metadata is None  # no pandas blob


def test_parquet_writer_returns_the_sha256_of_the_file(tmp_path: Path) -> None:
    """The digest run.json lists without reading the file back is the file's."""
    table = _long_table(np.random.default_rng(5), 200, 3)
    digest = TABLE_FORMATS["parquet"].write(table, tmp_path / "t.parquet")
    assert digest == hashlib.sha256((tmp_path / "t.parquet").read_bytes()).hexdigest()
    frame = table.frame()
    digest = TABLE_FORMATS["parquet"].write(frame, tmp_path / "f.parquet")
    assert digest == hashlib.sha256((tmp_path / "f.parquet").read_bytes()).hexdigest()


def test_parquet_frames_with_nulls_and_text_read_back_as_csv_does(tmp_path: Path
                                                                   ) -> None:
    df = pd.DataFrame({"a": ["x", None, "y,z"], "n": [1, 2, 3],
                       "f": [1.5, np.nan, -0.0],
                       "d": pd.to_datetime(["2024-01-05", None, "2024-02-29"]),
                       "ok": [True, False, True]})
    for name, form in TABLE_FORMATS.items():
        form.write(df, tmp_path / f"t{form.suffix}")
        back = read_table(tmp_path / f"t{form.suffix}", ("a", "d"))
        assert back["a"].tolist() == ["x", "", "y,z"], name
        assert back["d"].tolist() == ["2024-01-05", "", "2024-02-29"], name
        assert back["n"].tolist() == [1, 2, 3], name
        np.testing.assert_array_equal(back["f"].to_numpy(), [1.5, np.nan, -0.0])
        assert back["ok"].tolist() == [True, False, True], name
        text = read_table(tmp_path / f"t{form.suffix}", all_text=True)
        assert text["ok"].tolist() == ["True", "False", "True"], name


def test_unknown_formats_are_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown table format 'xlsx'; choose one "
                                         "of csv, parquet"):
        table_format("xlsx")
    with pytest.raises(InputError, match="not a table file"):
        read_table(tmp_path / "t.xlsx")
    assert find_table(tmp_path, "car") is None


@pytest.fixture(scope="module")
def results() -> object:
    p = make_panel(40, 400, 60, seed=11)
    return EventStudy(p.prices, p.events, calendar="XNYS", benchmark="MKT",
                      windows=WINDOWS).fit(tests=("csect_t", "patell"))


def test_saved_parquet_set_equals_the_frames_and_reruns_byte_identical(
        results: object, tmp_path: Path) -> None:
    res = results
    files = res.save(tmp_path / "a", fmt="parquet")  # type: ignore[attr-defined]
    res.save(tmp_path / "b", fmt="parquet")  # type: ignore[attr-defined]
    names = sorted(f.name for f in files)
    assert names == ["abnormal_returns.parquet", "car.parquet",
                     "diagnostics.parquet", "excluded.parquet", "run.json",
                     "summary.md", "tests.parquet"]
    for name in names:
        if name != "run.json":
            assert ((tmp_path / "a" / name).read_bytes()
                    == (tmp_path / "b" / name).read_bytes()), name
    info = json.loads((tmp_path / "a" / "run.json").read_text())
    assert sorted(info["files"]) == [n for n in names if n != "run.json"]
    for name, frame in (("abnormal_returns", res.abnormal_returns),  # type: ignore
                        ("car", res.car), ("tests", res.tests),  # type: ignore
                        ("diagnostics", res.diagnostics)):  # type: ignore
        back = pq.read_table(tmp_path / "a" / f"{name}.parquet").to_pandas(
            date_as_object=False)
        assert list(back.columns) == list(frame.columns), name
        for c in frame.columns:
            want, got = frame[c], back[c]
            if pd.api.types.is_datetime64_any_dtype(want):
                assert (got.dt.strftime("%F").fillna("").tolist()
                        == want.dt.strftime("%F").fillna("").tolist()), (name, c)
            elif pd.api.types.is_float_dtype(want):
                np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
            else:
                assert got.tolist() == want.tolist(), (name, c)


def test_csv_and_parquet_sets_give_the_same_report(results: object,
                                                   tmp_path: Path) -> None:
    from eventstudy.reporting.build import build_report

    res = results
    res.save(tmp_path / "c", fmt="csv")  # type: ignore[attr-defined]
    res.save(tmp_path / "p", fmt="parquet")  # type: ignore[attr-defined]
    doc_c, doc_p = load_run(tmp_path / "c"), load_run(tmp_path / "p")
    pd.testing.assert_frame_equal(doc_c.tests[["scope", "scope_value", "test"]],
                                  doc_p.tests[["scope", "scope_value", "test"]])
    assert doc_c.car["day0"].tolist() == doc_p.car["day0"].tolist()
    text = {}
    for k in ("c", "p"):
        build_report(tmp_path / k, "md")
        lines = (tmp_path / k / "report.md").read_text(encoding="utf-8").replace(
            str(tmp_path / k), "OUT").splitlines()
        # every line but the embedded run.json (its file list names the format)
        text[k] = [ln for ln in lines if '"files": {' not in ln
                   and not ln.startswith('- files: {')]
    assert len(text["c"]) > 20
    assert text["c"] == text["p"]


# ------------------------------------------------------------------------ CLI


def test_run_format_option_and_study_key(mini_study: MiniStudy) -> None:
    runner = CliRunner()
    out = mini_study.root / "out-pq"
    r = runner.invoke(cli, ["run", str(mini_study.study), "--prices",
                            str(mini_study.prices), "--out", str(out), "-q",
                            "--format", "parquet"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == [
        "abnormal_returns.parquet", "car.parquet", "diagnostics.parquet",
        "events.parquet", "excluded.parquet", "run.json", "summary.md",
        "tests.parquet"]
    r = runner.invoke(cli, ["report", str(out), "--format", "md"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["cross-section", str(out), "car ~ beta"])
    assert r.exit_code == 0, r.output
    text = mini_study.study.read_text(encoding="utf-8")
    mini_study.study.write_text(text + '\n[output]\nformat = "parquet"\n',
                                encoding="utf-8")
    assert load_study(mini_study.study).output_format == "parquet"
    out2 = mini_study.root / "out-key"
    r = runner.invoke(cli, ["run", str(mini_study.study), "--prices",
                            str(mini_study.prices), "--out", str(out2), "-q"])
    assert r.exit_code == 0, r.output
    assert (out2 / "car.parquet").is_file() and not (out2 / "car.csv").exists()
    mini_study.study.write_text(text + '\n[output]\nformat = "xlsx"\n',
                                encoding="utf-8")
    r = runner.invoke(cli, ["run", str(mini_study.study), "--prices",
                            str(mini_study.prices), "--out", str(out2), "-q"])
    assert r.exit_code == 2
    assert "[output] format = 'xlsx' is not valid; choose one of csv, parquet" in (
        r.output)
    assert "Traceback" not in r.output
    with pytest.raises(EventStudyError):
        load_study(mini_study.study)


def test_run_timings_file_names_every_stage(mini_study: MiniStudy) -> None:
    out = mini_study.root / "out"
    timings = mini_study.root / "t.json"
    r = CliRunner().invoke(cli, ["run", str(mini_study.study), "--prices",
                                 str(mini_study.prices), "--out", str(out), "-q",
                                 "--timings", str(timings)])
    assert r.exit_code == 0, r.output
    marks = json.loads(timings.read_text())["marks"]
    assert [m[0] for m in marks] == [
        "imports", "load", "quality", "align and stack", "estimate",
        "abnormal returns", "tests", "write", "summary", "end"]
    stamps = [m[1] for m in marks]
    assert stamps == sorted(stamps)
