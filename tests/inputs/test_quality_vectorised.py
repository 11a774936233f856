"""The vectorised data-quality checks equal the per-ticker implementation they
replaced (kept below verbatim as a plain oracle), finding for finding and byte for
byte in every detail, on the seed prices and on synthetic panels with gaps, zeros,
negative and infinite prices, extreme moves, stale runs, several calendars, FX and
unadjusted tickers."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import eventstudy.inputs.quality as quality
from eventstudy.errors import InputError, PriceDataError
from eventstudy.inputs.calendar import get_sessions
from eventstudy.inputs.events import load_universe
from eventstudy.inputs.quality import FINDING_COLUMNS, check_prices, check_study_prices

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "events" / "data" / "seed-prices.parquet"

_Finding = tuple[str, str, pd.Timestamp, pd.Timestamp, int, str]


# ------------------------------------------------------------------ the oracle
# eventstudy.inputs.quality before vectorisation (a pandas call per ticker).

def oracle_check_prices(
    panel: pd.DataFrame,
    sessions: Mapping[str, pd.DatetimeIndex] | None = None,
    fx_tickers: Collection[str] = (),
    unadjusted: Collection[str] = (),
    extreme: float = 0.25,
    stale_run: int = 5,
) -> pd.DataFrame:
    """The check before vectorisation (kept verbatim: the oracle)."""
    if not isinstance(panel, pd.DataFrame):
        raise PriceDataError(f"the price panel must be a pandas DataFrame, got "
                             f"{type(panel).__name__}")
    if not isinstance(panel.index, pd.DatetimeIndex):
        raise PriceDataError("the price panel must have a DatetimeIndex named date")
    if not extreme > 0:
        raise InputError(f"extreme must be > 0, not {extreme}")
    if stale_run < 2:
        raise InputError(f"stale_run must be >= 2, not {stale_run}")
    fx, raw = set(fx_tickers), set(unadjusted)
    findings: list[_Finding] = []
    for column in panel.columns:
        ticker = str(column)
        try:
            series = panel[column].astype("float64")
        except (TypeError, ValueError) as exc:
            raise PriceDataError(f"column {ticker!r} is not numeric") from exc
        observed = series.dropna().sort_index()
        infinite = np.isinf(observed.to_numpy())
        if infinite.any():
            findings += _non_finite(ticker, observed, infinite)
            observed = observed[~infinite]
        if observed.empty:
            continue
        if sessions is not None and ticker in sessions:
            findings += _missing_sessions(ticker, observed, sessions[ticker])
        findings += _stale_runs(ticker, observed, stale_run)
        findings += _non_positive(ticker, observed)
        findings += _extreme_returns(ticker, observed, extreme, ticker in raw)
        if ticker in fx:
            findings.append(_fx_snapshot(ticker, observed))
    frame = pd.DataFrame(findings, columns=list(FINDING_COLUMNS))
    frame["first_date"] = pd.to_datetime(frame["first_date"]).astype("datetime64[ns]")
    frame["last_date"] = pd.to_datetime(frame["last_date"]).astype("datetime64[ns]")
    frame["count"] = frame["count"].astype("int64")
    frame = frame.sort_values(["ticker", "check", "first_date"], kind="stable")
    return frame.reset_index(drop=True)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Return ``(first, last)`` positions of each run of True in ``mask``."""
    padded = np.concatenate(([False], mask.astype(bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _day(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%d")


def _missing_sessions(
    ticker: str, observed: pd.Series, calendar: pd.DatetimeIndex
) -> list[_Finding]:
    days = pd.DatetimeIndex(observed.index).normalize()
    cal = pd.DatetimeIndex(calendar)
    if cal.tz is not None:
        cal = cal.tz_localize(None)
    cal = cal.normalize().unique().sort_values()
    cal = cal[(cal >= days[0]) & (cal <= days[-1])]
    out: list[_Finding] = []
    for a, b in _runs(~cal.isin(days)):
        n = b - a + 1
        out.append(
            (
                ticker,
                "missing_sessions",
                cal[a],
                cal[b],
                n,
                f"{n} session(s) of the ticker's calendar have no price "
                f"({_day(cal[a])}..{_day(cal[b])}): a data gap, or a holiday the "
                "calendar does not know",
            )
        )
    return out


def _stale_runs(ticker: str, observed: pd.Series, min_run: int) -> list[_Finding]:
    values = observed.to_numpy()
    same = np.concatenate(([False], values[1:] == values[:-1]))
    out: list[_Finding] = []
    for a, b in _runs(same):
        start = a - 1  # the run includes the first of the repeated prices
        n = b - start + 1
        if n >= min_run:
            out.append(
                (
                    ticker,
                    "stale_run",
                    observed.index[start],
                    observed.index[b],
                    n,
                    f"price {values[start]:g} repeated {n} times in a row: a stale "
                    "or filled price, or a suspended security",
                )
            )
    return out


def _non_finite(ticker: str, observed: pd.Series, infinite: np.ndarray
                ) -> list[_Finding]:
    values = observed.to_numpy()
    out: list[_Finding] = []
    for a, b in _runs(infinite):
        n = b - a + 1
        signs = sorted({"inf" if v > 0 else "-inf" for v in values[a : b + 1]})
        out.append(
            (
                ticker,
                "non_finite",
                observed.index[a],
                observed.index[b],
                n,
                f"{n} price(s) are {' and '.join(signs)} "
                f"({_day(observed.index[a])}..{_day(observed.index[b])}): treated "
                "as missing; fix the source or leave the cells empty",
            )
        )
    return out


def _non_positive(ticker: str, observed: pd.Series) -> list[_Finding]:
    values = observed.to_numpy()
    out: list[_Finding] = []
    for a, b in _runs(values <= 0):
        n = b - a + 1
        out.append(
            (
                ticker,
                "non_positive",
                observed.index[a],
                observed.index[b],
                n,
                f"{n} price(s) <= 0 (lowest {values[a : b + 1].min():g}): prices must "
                "be positive; a 0 usually stands for a missing price and must be NaN",
            )
        )
    return out


def _extreme_returns(
    ticker: str, observed: pd.Series, extreme: float, unadjusted: bool
) -> list[_Finding]:
    values = observed.to_numpy()
    out: list[_Finding] = []
    if len(values) < 2:
        return out
    prev, curr = values[:-1], values[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where(prev > 0, curr / prev - 1.0, np.nan)
    for i in map(int, np.flatnonzero(np.abs(returns) > extreme)):
        day, before = observed.index[i + 1], observed.index[i]
        note = (
            "; the prices are not adjusted for corporate actions: if it is one, "
            "give its factor in the study's [data] corporate_actions file"
            if unadjusted
            else ""
        )
        out.append(
            (
                ticker,
                "extreme_return",
                day,
                day,
                1,
                f"a {returns[i]:+.1%} one-day move on {_day(day)} (from {prev[i]:g} "
                f"on {_day(before)} to {curr[i]:g}); check for a corporate action "
                f"or news{note}",
            )
        )
    return out


def _fx_snapshot(ticker: str, observed: pd.Series) -> _Finding:
    return (
        ticker,
        "fx_snapshot_close",
        observed.index[0],
        observed.index[-1],
        len(observed),
        "Yahoo's daily FX 'close' is a snapshot taken at the start of the day (it "
        "equals the day's open), so the value labelled day D is the rate at the "
        "start of D (about 00:00 London), before D's news. Valued at the calendar "
        "close, the day-0 return ends before the event and the event-day move "
        "shows up on day +1: leave the universe's asof empty (Yahoo's =X default, "
        "'00:00 Europe/London') or set asof = '00:00 Europe/London' for this "
        "ticker.",
    )


# ------------------------------------------------------------------ comparisons


def same(panel: pd.DataFrame, **kw: Any) -> pd.DataFrame:
    """Both implementations on ``panel``; assert identical frames; the result."""
    got = check_prices(panel, **kw)
    want = oracle_check_prices(panel, **kw)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got["detail"].tolist() == want["detail"].tolist()  # byte-identical
    return got


def synthetic(seed: int, tickers: int = 40, days: int = 300) -> pd.DataFrame:
    """Random walks with every kind of defect planted."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-01-02", periods=days, name="date")
    x = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (days, tickers)), axis=0))
    x = np.round(x, 2)
    for j in range(tickers):
        kind = j % 8
        a = int(rng.integers(5, days - 40))
        if kind == 0:  # gaps (missing sessions), one at the start and at the end
            x[a:a + int(rng.integers(1, 6)), j] = np.nan
            x[:3, j] = np.nan
            x[-2:, j] = np.nan
        elif kind == 1:  # zeros and negatives
            x[a:a + 3, j] = 0.0
            x[a + 10, j] = -1.5
            x[a + 11, j] = -0.0
        elif kind == 2:  # extreme moves, up and down, next to a gap
            x[a, j] *= 1.6
            x[a + 5, j] *= 0.5
            x[a + 6, j] = np.nan
            x[a + 7, j] = x[a + 4, j] * 1.3
        elif kind == 3:  # stale runs, long and too short
            x[a:a + 7, j] = x[a, j]
            x[a + 20:a + 23, j] = x[a + 20, j]
        elif kind == 4:  # infinities, both signs, in one run and alone
            x[a:a + 2, j] = np.inf
            x[a + 2, j] = -np.inf
            x[a + 9, j] = -np.inf
        elif kind == 5:  # all missing
            x[:, j] = np.nan
        elif kind == 6:  # a stale run across a gap (consecutive observations)
            x[a:a + 6, j] = 7.0
            x[a + 2, j] = np.nan
        # kind 7 stays clean
    cols = [f"T{j:02d}" + (".KS" if j % 5 == 0 else "") for j in range(tickers)]
    return pd.DataFrame(x, index=dates, columns=cols)


def sessions_for(panel: pd.DataFrame) -> dict[str, pd.DatetimeIndex]:
    """Two calendars, one with a holiday the data has a price on, one tz-aware."""
    start, end = panel.index.min(), panel.index.max()
    xnys = get_sessions("XNYS", start, end).dates
    xtks = pd.DatetimeIndex(get_sessions("JPX", start, end).dates).tz_localize("UTC")
    out: dict[str, pd.DatetimeIndex] = {}
    for j, t in enumerate(panel.columns):
        if j % 3 == 0:
            out[str(t)] = xnys
        elif j % 3 == 1:
            out[str(t)] = xtks
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_defects_equal_the_oracle(seed: int) -> None:
    panel = synthetic(seed)
    fx = [str(panel.columns[7]), str(panel.columns[5])]
    raw = [str(c) for c in panel.columns if str(c).endswith(".KS")]
    got = same(panel, sessions=sessions_for(panel), fx_tickers=fx, unadjusted=raw)
    # every check fires, so the comparison covers every detail text
    assert set(got["check"]) == set(quality.CHECKS)
    for kw in ({}, {"extreme": 0.1, "stale_run": 2}, {"extreme": 5.0}):
        same(panel, sessions=sessions_for(panel), **kw)


def test_exact_findings_of_a_small_panel() -> None:
    """The vectorised pass, checked by hand as well as against the oracle."""
    dates = pd.bdate_range("2024-01-01", periods=8, name="date")
    panel = pd.DataFrame({
        "A": [1.0, 1.0, 1.0, np.nan, 1.0, 2.0, np.inf, 0.0],
        "B": [np.nan, 3.0, 3.0, 3.0, 3.0, -np.inf, 3.0, 9.0],
    }, index=dates)
    got = same(panel, sessions={"A": dates}, stale_run=3)
    rows = [(r.ticker, r.check, f"{r.first_date:%F}", f"{r.last_date:%F}", r.count)
            for r in got.itertuples()]
    assert rows == [
        ("A", "extreme_return", "2024-01-08", "2024-01-08", 1),
        ("A", "extreme_return", "2024-01-10", "2024-01-10", 1),
        ("A", "missing_sessions", "2024-01-04", "2024-01-04", 1),
        ("A", "missing_sessions", "2024-01-09", "2024-01-09", 1),  # the inf
        ("A", "non_finite", "2024-01-09", "2024-01-09", 1),
        ("A", "non_positive", "2024-01-10", "2024-01-10", 1),
        ("A", "stale_run", "2024-01-01", "2024-01-05", 4),
        ("B", "extreme_return", "2024-01-10", "2024-01-10", 1),
        ("B", "non_finite", "2024-01-08", "2024-01-08", 1),
        ("B", "stale_run", "2024-01-02", "2024-01-09", 5),
    ]
    assert got["detail"].iloc[0] == ("a +100.0% one-day move on 2024-01-08 (from 1 on "
                                     "2024-01-05 to 2); check for a corporate action "
                                     "or news")


def test_unsorted_index_weekend_prices_and_duplicate_sessions() -> None:
    """Rows out of order, a Saturday price, intraday stamps on a session."""
    panel = synthetic(4, tickers=12, days=60)
    panel.index = panel.index + pd.Timedelta(hours=16)
    sat = pd.DataFrame([[99.0] * 12], columns=panel.columns,
                       index=pd.DatetimeIndex([pd.Timestamp("2023-01-14 10:00")],
                                              name="date"))
    shuffled = pd.concat([panel, sat]).sample(frac=1.0, random_state=7)
    same(shuffled, sessions=sessions_for(panel))


def test_mixed_dtypes_and_empty_panels() -> None:
    panel = synthetic(5, tickers=6, days=60)
    panel["I"] = np.arange(60, dtype=np.int64) % 3 + 1
    panel["F"] = pd.array([1.5] * 59 + [None], dtype="Float64")
    same(panel, sessions=sessions_for(panel), fx_tickers=["I"])
    same(panel.iloc[:0], sessions=sessions_for(panel))
    same(panel.iloc[:, :0])
    same(panel.iloc[:1], sessions=sessions_for(panel))


def test_errors_are_the_same() -> None:
    panel = synthetic(6, tickers=3, days=60)
    panel["S"] = "x"
    for impl in (check_prices, oracle_check_prices):
        with pytest.raises(PriceDataError, match="column 'S' is not numeric"):
            impl(panel)
        with pytest.raises(InputError, match="stale_run must be >= 2, not 1"):
            impl(panel.iloc[:, :2], stale_run=1)
        with pytest.raises(PriceDataError, match="DatetimeIndex"):
            impl(panel.reset_index(drop=True))


def _seed_closes() -> pd.DataFrame:
    long = pd.read_parquet(SNAPSHOT)
    long["date"] = pd.to_datetime(long["date"])
    return long.pivot(index="date", columns="ticker", values="close")


def test_seed_study_prices_equal_the_oracle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed study's own call (its universe's calendars, FX and KRX tickers)."""
    closes = _seed_closes()
    universe = load_universe(ROOT / "events" / "universe.csv")
    calls: list[dict[str, Any]] = []
    real = quality.check_prices

    def spy(panel: pd.DataFrame, **kw: Any) -> pd.DataFrame:
        calls.append(kw)
        return real(panel, **kw)

    monkeypatch.setattr(quality, "check_prices", spy)
    got = check_study_prices(closes, universe)
    want = oracle_check_prices(closes, **calls[0])
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert len(calls[0]["sessions"]) > 10 and len(got) > 10
    # the FX snapshot case of the seed tickers
    same(closes, sessions=calls[0]["sessions"], fx_tickers=["JPY=X"],
         unadjusted=calls[0]["unadjusted"])
    assert list(got.columns) == list(FINDING_COLUMNS)
