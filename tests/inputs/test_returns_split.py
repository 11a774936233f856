"""The split of the trading day: close-to-close, overnight (close-to-open) and
intraday (open-to-close) returns (issue #16 part 3)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from fake_yfinance import FakeYahoo

import eventstudy.inputs.sources.yahoo
from eventstudy.cli import cli
from eventstudy.config import ModelSpec, Windows, load_study
from eventstudy.errors import InputError, UnknownNameError
from eventstudy.inputs.calendar import get_sessions
from eventstudy.inputs.prices import load_price_table
from eventstudy.inputs.returns import day_part_returns, on_sessions
from eventstudy.study import EventStudy

# ------------------------------------------------------------ hand computations

SESS = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05",
                         "2024-01-08"])
# 2024-01-04 has no price at all (a missing session)
CLOSE = pd.DataFrame({"A": [100.0, 102.0, np.nan, 99.0, 101.0]}, index=SESS)
OPEN = pd.DataFrame({"A": [99.0, 101.0, np.nan, 100.0, 98.0]}, index=SESS)


def _parts(kind: str = "simple") -> dict[str, np.ndarray]:
    c, _ = on_sessions(CLOSE, SESS)
    o, _ = on_sessions(OPEN, SESS)
    return {p: day_part_returns(c, o, kind, p)[:, 0]  # type: ignore[arg-type]
            for p in ("close_to_close", "overnight", "intraday")}


def test_open_to_close_and_close_to_open_equal_hand_computations() -> None:
    r = _parts()
    nan = np.nan
    np.testing.assert_allclose(
        r["close_to_close"], [nan, 102 / 100 - 1, nan, nan, 101 / 99 - 1])
    # O_t / C_{t-1}: none after the missing session (its close is missing)
    np.testing.assert_allclose(
        r["overnight"], [nan, 101 / 100 - 1, nan, nan, 98 / 99 - 1])
    # C_t / O_t: needs only the session itself
    np.testing.assert_allclose(
        r["intraday"], [100 / 99 - 1, 102 / 101 - 1, nan, 99 / 100 - 1, 101 / 98 - 1])


def test_log_variants_and_the_two_parts_compound_to_the_day() -> None:
    lg = _parts("log")
    np.testing.assert_allclose(lg["overnight"][[1, 4]], np.log([101 / 100, 98 / 99]))
    np.testing.assert_allclose(lg["intraday"][3], np.log(99 / 100))
    s = _parts()
    both = (1 + s["overnight"]) * (1 + s["intraday"]) - 1
    np.testing.assert_allclose(both[[1, 4]], s["close_to_close"][[1, 4]], rtol=1e-14)


def test_no_opens_give_no_overnight_or_intraday_return() -> None:
    c, _ = on_sessions(CLOSE, SESS)
    assert np.isnan(day_part_returns(c, None, "simple", "intraday")).all()
    o = np.array([[99.0], [0.0], [np.nan], [-1.0], [np.inf]])
    got = day_part_returns(c, o, "simple", "intraday")[:, 0]
    assert np.isfinite(got).tolist() == [True, False, False, False, False]


# ------------------------------------------------------------ files and options


def test_long_file_open_column_travels_as_its_own_frame(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("date,ticker,close,open\n2024-01-03,A,10,9.5\n2024-01-02,A,9,\n"
                 "2024-01-02,B,20,19\n")
    closes, opens = load_price_table(f)
    assert opens is not None
    assert list(closes.columns) == list(opens.columns) == ["A", "B"]
    assert opens.index.equals(closes.index)
    assert closes["A"].tolist() == [9.0, 10.0]
    assert opens.fillna(-1.0).to_numpy().tolist() == [[-1.0, 19.0], [9.5, -1.0]]
    w = tmp_path / "w.csv"
    w.write_text("date,A\n2024-01-02,9\n")
    assert load_price_table(w)[1] is None
    nolong = tmp_path / "n.csv"
    nolong.write_text("date,ticker,close\n2024-01-02,A,9\n")
    assert load_price_table(nolong)[1] is None


def test_day_part_option_is_checked(tmp_path: Path) -> None:
    assert ModelSpec().day_part == "close_to_close"
    with pytest.raises(UnknownNameError, match="day_part"):
        ModelSpec(day_part="noon")  # type: ignore[arg-type]
    d = _study_dir(tmp_path, "file", 'day_part = "lunch"\n')
    with pytest.raises(UnknownNameError,
                       match=r"\[model\] day_part = 'lunch' is not valid; choose "
                             "one of close_to_close, overnight, intraday"):
        load_study(d / "s.toml")


# ------------------------------------------------------------ planted effect

EFFECT = 0.05


def _panel(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Closes, opens and one event for A (beta 0.8 on MKT), announced at 14:00
    New York on 2024-03-01 (during the session) with +5% from open to close."""
    dates = get_sessions("XNYS", pd.Timestamp("2023-01-03"),
                         pd.Timestamp("2024-06-28")).dates
    rng = np.random.default_rng(seed)
    n = len(dates)
    on_m, id_m = rng.normal(0, 0.004, n), rng.normal(0, 0.008, n)
    on_a = 0.8 * on_m + rng.normal(0, 0.002, n)
    id_a = 0.8 * id_m + rng.normal(0, 0.002, n)
    id_a[dates.get_loc(pd.Timestamp("2024-03-01"))] += EFFECT
    close, opens = {}, {}
    for t, on, intra, p0 in (("MKT", on_m, id_m, 4000.0), ("A", on_a, id_a, 50.0)):
        o = np.empty(n)
        c = np.empty(n)
        prev = p0
        for i in range(n):
            o[i] = prev * (1 + on[i])
            c[i] = o[i] * (1 + intra[i])
            prev = c[i]
        close[t], opens[t] = c, o
    ev = pd.DataFrame({"event_id": ["e1"], "timestamp": ["2024-03-01T14:00-05:00"],
                       "ticker": ["A"]})
    return (pd.DataFrame(close, index=dates), pd.DataFrame(opens, index=dates), ev)


def _day0_ar(part: str, opens: pd.DataFrame | None = None) -> float:
    close, o, ev = _panel()
    res = EventStudy(close, ev, model=ModelSpec(day_part=part),  # type: ignore[arg-type]
                     calendar="XNYS", benchmark="MKT",
                     windows=Windows(car=((0, 0),)),
                     opens=o if opens is None else opens).fit(tests=("csect_t",))
    ar = res.abnormal_returns
    row = ar.loc[ar["rel_day"] == 0].iloc[0]
    assert row["date"] == pd.Timestamp("2024-03-01")
    return float(row["abnormal_return"])


def test_planted_intraday_effect_is_recovered_on_the_intraday_day0() -> None:
    intraday = _day0_ar("intraday")
    overnight = _day0_ar("overnight")
    assert abs(intraday - EFFECT) < 0.01  # residual sd 0.002 * (1 + 1/L)
    assert abs(overnight) < 0.01
    # close-to-close mixes both parts: the effect is there too, with more noise
    assert abs(_day0_ar("close_to_close") - EFFECT) < 0.02


def test_intraday_returns_are_the_hand_ratio() -> None:
    close, o, ev = _panel()
    res = EventStudy(close, ev, model=ModelSpec(day_part="intraday"),
                     calendar="XNYS", benchmark="MKT", opens=o,
                     windows=Windows(car=((0, 0),))).fit(tests=("csect_t",))
    ar = res.abnormal_returns.set_index("date")["return"]
    want = close["A"] / o["A"] - 1
    np.testing.assert_allclose(ar.to_numpy(), want.loc[ar.index].to_numpy(),
                               rtol=1e-12)


def test_a_series_without_opens_is_excluded_with_the_reason() -> None:
    close, o, ev = _panel()
    ev2 = pd.concat([ev, ev.assign(event_id="e2", ticker="B")], ignore_index=True)
    close = close.assign(B=close["A"] * 2)
    res = EventStudy(close, ev2, model=ModelSpec(day_part="overnight"),
                     calendar="XNYS", benchmark="MKT", opens=o,
                     windows=Windows(car=((0, 0),))).fit(tests=("csect_t",))
    ex = res.excluded
    assert ex.loc[ex["ticker"] == "B", "reason"].tolist() == [
        "no open prices for the overnight return"]
    assert set(res.abnormal_returns["ticker"]) == {"A"}
    # no opens at all: every pair, never a silent close-to-close
    with pytest.raises(InputError, match="no open prices for the intraday return"):
        EventStudy(close, ev2, model=ModelSpec(day_part="intraday"),
                   calendar="XNYS", benchmark="MKT",
                   windows=Windows(car=((0, 0),))).fit(tests=("csect_t",))


def test_day_part_needs_prices_not_returns() -> None:
    close, _, ev = _panel()
    with pytest.raises(InputError, match="needs kind='prices'"):
        EventStudy(close.pct_change(), ev, kind="returns",
                   model=ModelSpec(day_part="intraday"), benchmark="MKT")


# ------------------------------------------------------------ Yahoo through the cache


def _study_dir(tmp: Path, source: str, model_extra: str = "") -> Path:
    d = tmp / f"study_{source}"
    d.mkdir(exist_ok=True)
    (d / "universe.csv").write_text("ticker,group,calendar,benchmark\n"
                                    "AAA,g,XNYS,MKT\nBBB,g,XNYS,MKT\n")
    (d / "events.csv").write_text("event_id,timestamp,title,groups\n"
                                  "e1,2024-03-01T14:00-05:00,t,g\n")
    (d / "s.toml").write_text(
        '[study]\nevents = "events.csv"\nuniverse = "universe.csv"\n'
        '[windows]\nestimation = [-120, -11]\nevent = [-5, 5]\n'
        'car = [[0, 0], [0, 1]]\nmin_estimation_obs = 60\n'
        f'[model]\nname = "market"\n{model_extra}'
        f'[tests]\nnames = ["csect_t"]\n[data]\nsource = "{source}"\n'
        'prices = "prices.csv"\nprice_field = "close"\n')
    return d


def test_yahoo_offline_run_equals_the_file_with_the_same_opens(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeYahoo(seed=11)
    # different first days: the fake's open/close ratio (a function of the
    # session's position) then differs between the series
    for t, first in (("AAA", "2023-06-01"), ("BBB", "2023-06-06"),
                     ("MKT", "2023-05-25")):
        fake.add_ticker(t, first, "2024-05-31", price=100.0)
    monkeypatch.setattr("yfinance.download", fake.download)
    monkeypatch.setattr(
        eventstudy.inputs.sources.yahoo, "YahooProvider",
        functools.partial(eventstudy.inputs.sources.yahoo.YahooProvider,
                          sleep=lambda _s: None))
    cache = tmp_path / "cache"
    ydir = _study_dir(tmp_path, "yahoo", 'day_part = "intraday"\n')
    run = CliRunner()
    r = run.invoke(cli, ["prices", "fetch", str(ydir / "s.toml"),
                         "--cache-dir", str(cache)])
    assert r.exit_code == 0, r.output
    calls = len(fake.calls)
    r = run.invoke(cli, ["run", str(ydir / "s.toml"), "--source", "yahoo",
                         "--offline", "--cache-dir", str(cache),
                         "--out", str(tmp_path / "out_y")])
    assert r.exit_code == 0, r.output
    assert len(fake.calls) == calls  # offline: nothing downloaded
    # the same closes and opens as a long file
    long = pd.concat([fake.expected(t, "2023-05-01", "2024-05-31")
                      for t in ("AAA", "BBB", "MKT")])
    fdir = _study_dir(tmp_path, "file", 'day_part = "intraday"\n')
    long[["date", "ticker", "close", "open"]].to_csv(fdir / "prices.csv",
                                                     index=False)
    r = run.invoke(cli, ["run", str(fdir / "s.toml"), "--out",
                         str(tmp_path / "out_f")])
    assert r.exit_code == 0, r.output
    ar_y = pd.read_csv(tmp_path / "out_y" / "abnormal_returns.csv")
    ar_f = pd.read_csv(tmp_path / "out_f" / "abnormal_returns.csv")
    assert len(ar_y) == 2 * 11
    pd.testing.assert_frame_equal(ar_y, ar_f)
    # and they are the intraday returns: C_t / O_t - 1 of the fake's Open
    day0 = ar_y.loc[(ar_y["rel_day"] == 0) & (ar_y["ticker"] == "AAA")].iloc[0]
    e = fake.expected("AAA", "2024-03-01", "2024-03-01").iloc[0]
    assert day0["return"] == pytest.approx(e["close"] / e["open"] - 1, rel=1e-9)
    for name in ("car.csv", "tests.csv"):
        assert (tmp_path / "out_y" / name).read_bytes() == (
            tmp_path / "out_f" / name).read_bytes()
