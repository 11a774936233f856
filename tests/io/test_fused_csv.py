"""The fused compiled CSV row writer (issue #20): byte for byte the numpy reference
path on adversarial cells, and the tables' SHA-256 computed while writing equal
hashlib over the written files (the digests run.json lists)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eventstudy.io.csv as csvmod
from eventstudy.io.csv import LongTable, write_csv, write_csv_pandas
from eventstudy.io.outputset import manifest, write_run_json

NAT = np.iinfo(np.int64).min

ADVERSARIAL = np.array([
    np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300,
    5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
    1.0, -1.0, 2.0, 100.0, 1e9, 1e10, 12345678901.0, -42.0, 1e16, 2.0**53,
    0.5, 0.25, 9999999999.5, 999999999.95, 1.00000000005, 0.123456789049999,
    0.12345678905, 1.2345678905e-5, 1e-4, 9.9999999995e-5, 9.99999999949e-5,
    1e-13, 9.99999999999e-14, 1e31, 9.9999999995e31, 1e32, 123.4567890500001,
    0.1 + 0.2, 1 / 3, -2 / 3, np.pi * 1e20, np.e * 1e-10])
"""NaN, infinities, signed zeros, subnormals, extremes, integers as floats, ties
and near-ties in the 10th/11th digit, the compiled range's edges."""

TEXT = ["plain", "", "a,b", 'say "hi"', "two\nlines", ' "q", ', "ü€", ","]


def _numpy_and_fused(table: LongTable, tmp: Path,
                     monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes]:
    monkeypatch.setattr(csvmod, "COMPILED_ROWS", 10**12)
    table.write(tmp / "numpy.csv")
    monkeypatch.setattr(csvmod, "COMPILED_ROWS", 1)
    assert csvmod._compiled_for(table.nrows)
    table.write(tmp / "fused.csv")
    return (tmp / "numpy.csv").read_bytes(), (tmp / "fused.csv").read_bytes()


def test_fused_float_cells_are_printf_exact() -> None:
    """Every adversarial float and its neighbours, one per row, against C's
    ``"%.10g"`` (the Python fallback included)."""
    with np.errstate(over="ignore"):
        x = np.concatenate([ADVERSARIAL, np.nextafter(ADVERSARIAL, np.inf),
                            np.nextafter(ADVERSARIAL, -np.inf)])
    plan = csvmod._plan([csvmod._Source("f", values=x)])
    got = bytes(csvmod._fused_block(plan, 0, len(x))).decode().split("\n")
    assert got[:-1] == ["" if v != v else "%.10g" % v for v in x]  # noqa: UP031
    assert got[-1] == ""


def test_fused_dates_ints_and_odd_years_equal_the_numpy_path() -> None:
    days = np.array([0, -1, 19000, NAT, -354285, 2932896, -354286, 2932897,
                     -800000, 3000000, 11016, 60], dtype=np.int64)
    dates = days.view("datetime64[D]")
    ints = np.array([0, -1, 7, 10, -10, 99, 100, 2**63 - 1, NAT, 1234567890123],
                    dtype=np.int64)
    for src, values in ((csvmod._Source("M", values=dates), dates),
                        (csvmod._Source("i", values=ints), ints)):
        plan = csvmod._plan([src])
        fused = bytes(csvmod._fused_block(plan, 0, len(values)))
        ref = csvmod._csv_block([("x", src)], 0, len(values))
        assert fused == ref
    assert fused.split(b"\n")[7:9] == [b"9223372036854775807",
                                       b"-9223372036854775808"]


def test_fused_long_table_with_every_kind_equals_numpy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    pairs, width = 700, 9
    n = pairs * width
    rep = np.repeat(np.arange(pairs), width)
    with np.errstate(over="ignore"):
        f = rng.choice(ADVERSARIAL, n) * rng.choice([1.0, 1.0 + 1e-12, 3.0], n)
    stamps = rng.integers(-(10**18), 4 * 10**18, n)
    stamps[rng.random(n) < 0.1] = NAT
    table = LongTable(n, [
        ("id", np.asarray(rng.choice(TEXT, pairs), dtype=object), rep),
        ("rel_day", np.arange(width) - 4, np.tile(np.arange(width), pairs)),
        ("f", f, None),
        ("g", rng.normal(0, 0.02, n), None),
        ("date", stamps.view("datetime64[ns]"), None),
        ("n", rng.integers(-(10**12), 10**12, n), None),
        ("day0", np.where(rng.random(pairs) < 0.2, NAT, 19000 + np.arange(pairs))
         .view("datetime64[D]"), rep),
        ("text", np.asarray(rng.choice(TEXT, n), dtype=object), None),
    ])
    numpy_bytes, fused = _numpy_and_fused(table, tmp_path, monkeypatch)
    assert fused == numpy_bytes
    write_csv_pandas(table.frame(), tmp_path / "pandas.csv")
    assert fused == (tmp_path / "pandas.csv").read_bytes()


def test_fused_blocks_shrink_for_wide_rows_and_give_the_same_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvmod, "_BLOCK_BYTES", 4096)  # ~ 10 rows per block
    wide = np.asarray(["x" * 300, 'y,"' * 50, ""], dtype=object)
    n = 1000
    table = LongTable(n, [("w", wide, np.arange(n) % 3),
                          ("v", np.linspace(-1, 1, n), None)])
    plan = csvmod._plan([csvmod._values_renderer(v, i)  # type: ignore[misc]
                         for _, v, i in table.columns])
    assert csvmod._plan_rows(plan) < 20
    numpy_bytes, fused = _numpy_and_fused(table, tmp_path, monkeypatch)
    assert fused == numpy_bytes


floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=st.lists(floats, min_size=1, max_size=40),
       text=st.lists(st.text(st.characters(blacklist_characters="\r",
                                           blacklist_categories=("Cs",)),
                             max_size=6), min_size=1, max_size=5),
       days=st.lists(st.integers(-1_000_000, 3_500_000) | st.just(NAT),
                     min_size=1, max_size=40))
def test_fused_random_tables_equal_numpy(x: list[float], text: list[str],
                                         days: list[int], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    n = len(x)
    idx = np.arange(n) % len(text)
    d = np.resize(np.asarray(days, dtype=np.int64), n).view("datetime64[D]")
    table = LongTable(n, [("x", np.asarray(x, dtype=np.float64), None),
                          ("t", np.asarray(text, dtype=object), idx),
                          ("d", d, None),
                          ("i", np.asarray(days, dtype=np.int64)[idx % len(days)],
                           None)])
    numpy_bytes, fused = _numpy_and_fused(table, tmp_path, monkeypatch)
    assert fused == numpy_bytes


# ------------------------------------------------------------------------ digests


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("workers", [1, 2])
def test_digest_returned_by_the_writer_is_the_files_sha256(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled: bool,
        workers: int) -> None:
    monkeypatch.setattr(csvmod, "COMPILED_ROWS", 1 if compiled else 10**12)
    monkeypatch.setattr(csvmod, "_CSV_BLOCK", 256)  # many blocks, hashed in order
    rng = np.random.default_rng(5)
    n = 3000
    cols = [(name, csvmod._values_renderer(v, None)) for name, v in (
        ("a", rng.normal(size=n)), ("b", rng.integers(0, 9, n)))]
    path = tmp_path / "t.csv"
    digest = csvmod._write_columns(cols, n, path,  # type: ignore[arg-type]
                                   workers=workers)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.read_bytes().count(b"\n") == n + 1


def test_write_csv_digest_and_pandas_fallback(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1.5, np.nan], "b": ["x", "y,z"]})
    got = write_csv(df, tmp_path / "a.csv")
    assert got == hashlib.sha256(b'a,b\n1.5,x\n,"y,z"\n').hexdigest()
    assert write_csv(df[["a"]], tmp_path / "one.csv") is None  # pandas wrote it


def test_manifest_uses_known_digests_and_hashes_the_rest(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes(b"x\n1\n")
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "p.svg").write_bytes(b"<svg/>")
    fake = "0" * 64
    got = manifest(tmp_path, {"t.csv": fake, "gone.csv": "1" * 64})
    assert got == {"plots/p.svg": hashlib.sha256(b"<svg/>").hexdigest(),
                   "t.csv": fake}  # a known digest is not re-read; absent ones skipped
    assert manifest(tmp_path)["t.csv"] == hashlib.sha256(b"x\n1\n").hexdigest()


def test_run_json_lists_the_written_digests(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": np.arange(5.0), "b": list("abcde")})
    digest = write_csv(df, tmp_path / "t.csv")
    assert digest is not None
    (tmp_path / "summary.md").write_text("# s\n", encoding="utf-8")
    write_run_json(tmp_path, {"k": 1}, digests={"t.csv": digest})
    files = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["files"]
    assert files == {
        "summary.md": hashlib.sha256(b"# s\n").hexdigest(),
        "t.csv": hashlib.sha256((tmp_path / "t.csv").read_bytes()).hexdigest()}
