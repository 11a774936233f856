"""One contract for every registered price source (eventstudy.inputs.sources.SOURCES).

:class:`SourceContract` holds the shared tests; each source gets a subclass whose
``made`` fixture builds it (on the same three tickers A, B and MKT, B without a price
on 2024-01-10) and, for a downloading source, fills it. The Yahoo source runs on the
offline fake (tests/fake_yfinance.py). A registered source without a subclass here
fails :func:`test_every_registered_source_runs_the_contract`.

Also here: the study plan (one function for tickers, calendars and dates) and the
choice of a source by name.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from fake_yfinance import FakeYahoo

import eventstudy.inputs.sources.yahoo
from eventstudy.cli import cli
from eventstudy.config import Study, load_study
from eventstudy.errors import DataUnavailableError, StudyFileError, UnknownNameError
from eventstudy.inputs.factors import load_factors
from eventstudy.inputs.sources import (
    SOURCES,
    LoadedPrices,
    PriceSource,
    SourceOptions,
    StudyPlan,
    plan_study,
    read_catalog,
    source_for,
)
from eventstudy.inputs.sources.cache import UpdateReport
from eventstudy.inputs.sources.file import FileSource
from eventstudy.inputs.sources.yahoo_cached import CachedSource

START, END = pd.Timestamp("2024-01-02"), pd.Timestamp("2024-03-29")
TICKERS = ("A", "B", "MKT")
HOLE = pd.Timestamp("2024-01-10")  # B has no price that day


def _study_dir(tmp: Path, source: str) -> Path:
    d = tmp / "study"
    d.mkdir(exist_ok=True)
    (d / "universe.csv").write_text(
        "ticker,name,group,calendar,benchmark\nA,Alpha,g,XNYS,MKT\n"
        "B,Beta,g,XNYS,MKT\n", encoding="utf-8")
    (d / "events.csv").write_text("event_id,timestamp,title,groups\n"
                                  "E1,2024-03-01,first,g\n", encoding="utf-8")
    (d / "s.toml").write_text(
        '[study]\nevents = "events.csv"\nuniverse = "universe.csv"\n'
        f'[data]\nsource = "{source}"\nprices = "prices.csv"\n', encoding="utf-8")
    return d / "s.toml"


def _prices_csv(path: Path) -> None:
    days = pd.bdate_range(START, END)
    rng = np.random.default_rng(7)
    rows = []
    for t in TICKERS:
        close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days)))), 4)
        rows += [(f"{d:%Y-%m-%d}", t, c) for d, c in zip(days, close, strict=True)
                 if not (t == "B" and d == HOLE)]
    pd.DataFrame(rows, columns=["date", "ticker", "close"]).to_csv(path, index=False)


def _plan(study: Study, tickers: tuple[str, ...] = TICKERS) -> StudyPlan:
    return StudyPlan(study, tickers, {t: "XNYS" for t in tickers}, START, END)


@dataclass
class Made:
    """A source under test, the plan it can serve, and how to see downloads."""

    source: PriceSource
    plan: StudyPlan
    downloads: Any  # () -> int: provider calls so far (0 for a file)


class SourceContract:
    """The tests every price source passes."""

    def test_canonical_frame_layout(self, made: Made) -> None:
        frame = made.source.load(made.plan, offline=True).frame
        idx = frame.index
        assert isinstance(idx, pd.DatetimeIndex) and idx.name == "date"
        assert idx.tz is None and idx.dtype == "datetime64[ns]"
        assert idx.is_monotonic_increasing and idx.is_unique
        assert (idx == idx.normalize()).all()
        assert list(frame.columns) == list(TICKERS)
        assert all(type(c) is str for c in frame.columns)
        assert (frame.dtypes == np.float64).all()
        assert idx[0] == START and idx[-1] == END
        assert len(idx) == len(pd.bdate_range(START, END))

    def test_missing_price_is_nan(self, made: Made) -> None:
        frame = made.source.load(made.plan, offline=True).frame
        assert np.isnan(frame.loc[HOLE, "B"])
        assert frame.loc[HOLE, ["A", "MKT"]].notna().all()
        assert int(frame.isna().sum().sum()) == 1  # never 0, never forward-filled
        assert (frame.to_numpy() != 0).all()

    def test_description_and_sha256_stable_across_loads(self, made: Made) -> None:
        one = made.source.load(made.plan, offline=True)
        two = made.source.load(made.plan, offline=True)
        assert isinstance(one, LoadedPrices)
        assert re.fullmatch(r"[0-9a-f]{64}", one.sha256)
        assert (one.description, one.sha256) == (two.description, two.sha256)
        pd.testing.assert_frame_equal(one.frame, two.frame)

    def test_offline_never_downloads(self, made: Made,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
        before = made.downloads()
        ref = made.source.load(made.plan, offline=True).frame

        def no_network(*_a: object, **_k: object) -> None:
            raise AssertionError("the network was used")

        monkeypatch.setattr("yfinance.download", no_network)
        again = made.source.load(made.plan, offline=True)
        pd.testing.assert_frame_equal(again.frame, ref)
        assert made.downloads() == before

    def test_a_second_fetch_asks_only_for_the_open_gap(self, made: Made) -> None:
        rep = made.source.fetch(made.plan)
        assert isinstance(rep, UpdateReport)
        assert rep.failed == {} and rep.rows_added == 0
        # only B's missing session may be asked for again
        assert [r.ticker for r in rep.results if r.downloaded] in ([], ["B"])

    def test_missing_ticker_is_a_typed_error(self, made: Made) -> None:
        with pytest.raises(DataUnavailableError) as err:
            made.source.load(_plan(made.plan.study, ("NOPE",)), offline=True)
        assert err.value.tickers == ["NOPE"]
        assert "NOPE" in str(err.value)

    def test_partial_load_keeps_what_is_there(self, made: Made) -> None:
        frame = made.source.load(_plan(made.plan.study, ("A", "NOPE")), offline=True,
                                 partial=True).frame
        assert "A" in frame.columns and "NOPE" not in frame.columns
        assert frame["A"].notna().all()

    def test_no_gaps_where_nothing_is_missing(self, made: Made) -> None:
        assert set(made.source.gaps(made.plan)) <= {"B"}


class TestFileSourceCsv(SourceContract):
    name = "file"

    @pytest.fixture
    def made(self, tmp_path: Path) -> Made:
        st = load_study(_study_dir(tmp_path, "file"))
        _prices_csv(tmp_path / "study" / "prices.csv")
        src = source_for(st)
        assert isinstance(src, FileSource)
        return Made(src, _plan(st), lambda: 0)

    def test_description_is_the_path_and_sha_the_file(self, made: Made) -> None:
        import hashlib

        got = made.source.load(made.plan)
        path = made.plan.study.prices
        assert path is not None and got.description == str(path)
        assert got.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


class TestFileSourceParquet(SourceContract):
    name = "file"

    @pytest.fixture
    def made(self, tmp_path: Path) -> Made:
        st = load_study(_study_dir(tmp_path, "file"))
        csv = tmp_path / "p.csv"
        _prices_csv(csv)
        pq = tmp_path / "p.parquet"
        pd.read_csv(csv).to_parquet(pq)
        return Made(source_for(st, SourceOptions(prices=pq)), _plan(st), lambda: 0)


class TestYahooSource(SourceContract):
    name = "yahoo"

    @pytest.fixture
    def made(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Made:
        fake = FakeYahoo(seed=5)
        for t in TICKERS:
            fake.add_ticker(t, "2023-06-01", "2024-06-28", price=100.0,
                            holidays=(f"{HOLE:%Y-%m-%d}",) if t == "B" else ())
        monkeypatch.setattr("yfinance.download", fake.download)
        monkeypatch.setattr(
            eventstudy.inputs.sources.yahoo, "YahooProvider",
            functools.partial(eventstudy.inputs.sources.yahoo.YahooProvider,
                              sleep=lambda _s: None))
        st = load_study(_study_dir(tmp_path, "yahoo"))
        src = source_for(st, SourceOptions(cache_dir=tmp_path / "cache"))
        assert isinstance(src, CachedSource)
        plan = _plan(st)
        rep = src.fetch(plan)
        assert rep.failed == {} and rep.provider_calls == 1
        return Made(src, plan, lambda: len(fake.calls))

    def test_description_names_the_cache_and_field(self, made: Made,
                                                   tmp_path: Path) -> None:
        got = made.source.load(made.plan, offline=True)
        assert got.description == f"cache:{tmp_path / 'cache'} (adj_close)"

    def test_a_ticker_not_cached_fails_strict_load(self, made: Made) -> None:
        with pytest.raises(DataUnavailableError) as err:
            made.source.load(_plan(made.plan.study, ("A", "NOPE")), offline=True)
        assert err.value.tickers == ["NOPE"]
        assert "prices fetch" in str(err.value)

    def test_the_session_missing_from_the_answer_is_a_gap(self, made: Made) -> None:
        gaps = made.source.gaps(made.plan)
        assert list(gaps) == ["B"] and [g.date for g in gaps["B"]] == [HOLE]


def test_every_registered_source_runs_the_contract() -> None:
    tested = {c.name for c in SourceContract.__subclasses__()}  # type: ignore[attr-defined]
    assert tested == set(SOURCES)


def test_study_file_names_come_from_the_registry(tmp_path: Path) -> None:
    """The study file's [data] source is checked against SOURCES (by the workflow,
    above the config layer): a registered plug-in name is accepted, another is not."""
    from eventstudy.errors import UnknownNameError as Unknown
    from eventstudy.workflows import prepare_study

    path = _study_dir(tmp_path, "file")
    assert prepare_study(path).source == "file"
    text = path.read_text(encoding="utf-8").replace('source = "file"',
                                                    'source = "crsp"')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Unknown, match=r"\[data\] source = 'crsp' is not valid"):
        prepare_study(path)


# ------------------------------------------------------------------ choosing one
def test_unknown_source_name_lists_the_registry(tmp_path: Path) -> None:
    st = load_study(_study_dir(tmp_path, "file"))
    with pytest.raises(UnknownNameError, match=r"^price source 'crsp': use file or "
                                               r"yahoo$"):
        source_for(st.with_updates(source="crsp"))  # type: ignore[arg-type]


def test_file_source_without_a_prices_file_names_the_key(tmp_path: Path) -> None:
    st = load_study(_study_dir(tmp_path, "file")).with_updates(prices=None)
    with pytest.raises(StudyFileError) as err:
        source_for(st)
    assert str(err.value) == (
        f"{st.path}: the price source 'file' needs a prices file: set [data] prices "
        '= "prices.csv" in the study file, or pass --prices FILE')


def test_a_prices_file_given_with_the_call_wins_over_the_study_source(
        tmp_path: Path) -> None:
    st = load_study(_study_dir(tmp_path, "yahoo"))
    src = source_for(st, SourceOptions(prices=tmp_path / "x.csv"))
    assert isinstance(src, FileSource) and src.path == tmp_path / "x.csv"


def test_cli_refuses_an_unknown_source(tmp_path: Path) -> None:
    study = _study_dir(tmp_path, "file")
    r = CliRunner().invoke(cli, ["run", str(study), "--source", "ftp", "--out",
                                 str(tmp_path / "o"), "-q"])
    assert r.exit_code == 2
    assert "price source 'ftp': use file or yahoo" in r.output
    assert "Traceback" not in r.output


# ------------------------------------------------------------------ the plan
def test_plan_tickers_calendars_and_dates(tmp_path: Path) -> None:
    st = load_study(_study_dir(tmp_path, "file"))
    plan = plan_study(st, *read_catalog(st), today=pd.Timestamp("2030-01-01"))
    assert plan.tickers == ("A", "B", "MKT")
    assert dict(plan.calendars) == {"A": "XNYS", "B": "XNYS", "MKT": "XNYS"}
    # estimation starts at -250 sessions: 400 + 30 days before; event ends at +10:
    # 16 + 10 days after
    assert (plan.start, plan.end) == (pd.Timestamp("2022-12-27"),
                                      pd.Timestamp("2024-03-27"))
    assert plan.field == "adj_close"


def test_plan_end_is_capped_at_today(tmp_path: Path) -> None:
    st = load_study(_study_dir(tmp_path, "file"))
    plan = plan_study(st, *read_catalog(st), today=pd.Timestamp("2024-03-05"))
    assert plan.end == pd.Timestamp("2024-03-05")


def test_plan_event_layout_tickers_follow_the_universe(tmp_path: Path) -> None:
    st = load_study(_study_dir(tmp_path, "file"))
    events, universe = read_catalog(st)
    events = events.assign(ticker=["C"], benchmark=["IDX"])
    assert plan_study(st, events, universe).tickers == ("A", "B", "MKT", "C", "IDX")
    assert plan_study(st, events, None).tickers == ("C", "IDX")


# ------------------------------------------------------------------ factors
def test_load_factors_divides_percent_files(tmp_path: Path) -> None:
    from dataclasses import replace

    f = tmp_path / "ff.csv"
    f.write_text("date,MKT_RF,RF\n2024-01-02,1.5,0.02\n2024-01-03,-0.5,0.02\n",
                 encoding="utf-8")
    st = load_study(_study_dir(tmp_path, "file"))
    pct = load_factors(f, replace(st.model, factor_unit="percent"))
    assert pct["MKT_RF"].tolist() == [0.015, -0.005]
    dec = load_factors(f, replace(st.model, factor_unit="decimal"))
    assert dec["RF"].tolist() == [0.02, 0.02]
