"""Shared fixtures: synthetic panels with planted abnormal returns, a small study on
disk, and the location of the (optional) shared market data.

Nothing here touches the network. The synthetic data are generated with a seeded
``numpy.random.Generator`` so every run sees the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
EVENTS_DIR = REPO / "events"
SEEDS_DIR = REPO / "seeds"
MARKET_DATA = Path(__file__).resolve().parents[2] / "shared" / "market-data"
SEED_PRICES = MARKET_DATA / "seed-prices.csv"
# the seed study's prices, bundled with the repository (events/data/README.md)
SNAPSHOT = EVENTS_DIR / "data" / "seed-prices.parquet"


def require_market_data() -> Path:
    """Return ``../shared/market-data``, or skip the calling test with a reason.

    Only tests of the simulation panels need it: the seed study's prices are bundled
    (:data:`SNAPSHOT`)."""
    if not SEED_PRICES.is_file():
        pytest.skip(f"shared market data not available: {SEED_PRICES} does not exist "
                    "(these tests need the read-only ../shared/market-data folder)")
    return MARKET_DATA


@pytest.fixture
def market_data() -> Path:
    """The shared market-data folder; skips (with a reason) when it is absent."""
    return require_market_data()


# ---------------------------------------------------------------- panels
@dataclass(frozen=True)
class SyntheticPanel:
    """A returns panel with known abnormal returns.

    Attributes
    ----------
    returns
        Wide returns: index ``date`` (weekdays, i.e. the FX calendar's sessions),
        columns ``MKT`` (the market) and ``S00``, ``S01``, ... (securities).
    events
        One event per security: ``event_id, timestamp, ticker`` (date-only
        timestamps on a weekday, so day 0 is that date on the FX calendar).
    day0
        ``event_id -> day 0`` date.
    day0_pos
        ``event_id -> day 0`` position in ``returns.index``.
    planted
        The abnormal return added to each security's day-0 return.
    alpha, beta
        The true market-model parameters per ticker.
    """

    returns: pd.DataFrame
    events: pd.DataFrame
    day0: dict[str, pd.Timestamp]
    day0_pos: dict[str, int]
    planted: float
    alpha: dict[str, float]
    beta: dict[str, float]

    def prices(self, start: float = 100.0) -> pd.DataFrame:
        """Prices whose simple returns are ``returns`` (first row = ``start``)."""
        gross = (1.0 + self.returns.fillna(0.0)).cumprod()
        return start * gross / gross.iloc[0]


def make_panel(n_pairs: int = 30, planted: float = 0.05, seed: int = 0,
               n_days: int = 520, sigma: float = 0.015, first_event: int = 300,
               spacing: int = 5) -> SyntheticPanel:
    """Market-model returns with ``planted`` added on each security's day 0.

    Security ``i`` has its event at position ``first_event + spacing * i``, so with the
    default windows (estimation -250..-11, event -10..10) every window fits inside
    the panel and no two events share a security.
    """
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2022-01-03", periods=n_days, name="date")
    m = rng.normal(0.0003, 0.01, n_days)
    data: dict[str, np.ndarray] = {"MKT": m}
    rows = []
    day0: dict[str, pd.Timestamp] = {}
    day0_pos: dict[str, int] = {}
    alphas: dict[str, float] = {}
    betas: dict[str, float] = {}
    for i in range(n_pairs):
        t = f"S{i:02d}"
        a = float(rng.normal(0.0, 0.0005))
        b = float(rng.uniform(0.5, 1.5))
        r = a + b * m + rng.normal(0.0, sigma, n_days)
        pos = first_event + spacing * i
        if pos + 11 >= n_days:
            raise ValueError("panel too short for this many events")
        r[pos] += planted
        data[t] = r
        eid = f"ev{i:02d}"
        rows.append({"event_id": eid, "timestamp": dates[pos].strftime("%Y-%m-%d"),
                     "ticker": t})
        day0[eid] = dates[pos]
        day0_pos[eid] = pos
        alphas[t] = a
        betas[t] = b
    returns = pd.DataFrame(data, index=dates)
    return SyntheticPanel(returns, pd.DataFrame(rows), day0, day0_pos, planted,
                          alphas, betas)


@pytest.fixture
def panel_factory() -> Callable[..., SyntheticPanel]:
    """``make_panel`` as a fixture (call it with the options you need)."""
    return make_panel


@pytest.fixture(scope="session")
def planted_panel() -> SyntheticPanel:
    """30 securities, +5% planted on day 0 of each one's event."""
    return make_panel(n_pairs=30, planted=0.05, seed=1)


@pytest.fixture(scope="session")
def null_panel() -> SyntheticPanel:
    """30 securities, nothing planted."""
    return make_panel(n_pairs=30, planted=0.0, seed=2)


# ---------------------------------------------------------------- a study on disk
MINI_STUDY_TOML = """\
[study]
name = "mini"
events = "events.csv"
universe = "universe.csv"

[windows]
estimation = [-120, -11]
event = [-5, 5]
car = [[0, 0], [-1, 1]]
min_estimation_obs = 60

[model]
name = "market"

[tests]
names = ["csect_t", "patell", "bmp"]
"""

MINI_EVENTS_CSV = """\
event_id,timestamp,title,groups
E1,2024-09-16T10:00-04:00,timed intraday New York,g
E2,2024-10-15,date only,g
"""

MINI_UNIVERSE_CSV = """\
ticker,name,group,calendar,benchmark,currency,model
AAA,Alpha,g,XNYS,MKT,USD,
BBB,Beta,g,XNYS,MKT,USD,
"""


@dataclass(frozen=True)
class MiniStudy:
    """A small, valid study on disk (XNYS, 2 securities, 2 events)."""

    root: Path
    study: Path
    events: Path
    universe: Path
    prices: Path


def write_mini_study(root: Path, seed: int = 3) -> MiniStudy:
    """Write a valid study (TOML, events, universe, long prices CSV) into ``root``."""
    from eventstudy.inputs.calendar import get_sessions

    root.mkdir(parents=True, exist_ok=True)
    sessions = get_sessions("XNYS", "2024-01-02", "2024-12-31").dates
    rng = np.random.default_rng(seed)
    n = len(sessions)
    m = rng.normal(0.0003, 0.01, n)
    rets = {"MKT": m, "AAA": 0.9 * m + rng.normal(0, 0.012, n),
            "BBB": 1.2 * m + rng.normal(0, 0.015, n)}
    rows = []
    for t, r in rets.items():
        px = 50.0 * np.cumprod(1.0 + r)
        rows.append(pd.DataFrame({"date": sessions.strftime("%Y-%m-%d"),
                                  "ticker": t, "close": np.round(px, 6)}))
    prices = pd.concat(rows, ignore_index=True)
    (root / "study.toml").write_text(MINI_STUDY_TOML, encoding="utf-8")
    (root / "events.csv").write_text(MINI_EVENTS_CSV, encoding="utf-8")
    (root / "universe.csv").write_text(MINI_UNIVERSE_CSV, encoding="utf-8")
    prices.to_csv(root / "prices.csv", index=False, lineterminator="\n")
    return MiniStudy(root, root / "study.toml", root / "events.csv",
                     root / "universe.csv", root / "prices.csv")


@pytest.fixture
def mini_study(tmp_path: Path) -> MiniStudy:
    """A fresh copy of the small valid study in a temporary folder."""
    return write_mini_study(tmp_path / "study")


# ---------------------------------------------------------------- day 0 of the catalog
# Day 0 per exchange for events/japan_us_investment.csv, from the summary table of
# ../shared/research/events-verified.md (XTKS, XKRX, XNYS). FX is not in that table: it
# is what our FX calendar gives (sessions close 17:00 New York), written out by hand.
# Where the table is ambiguous, the catalog uses a plain date (the hour is unconfirmed)
# and the value here is what our date-only rule gives; see the comments.
DAY0_TABLE: dict[str, dict[str, str]] = {
    # plain date: the vote-count day; the AP call (19:34 JST) would give 11-07 in Asia
    "E01_US_ELECTION": {"XTKS": "2024-11-06", "XKRX": "2024-11-06",
                        "XNYS": "2024-11-06", "FX": "2024-11-06"},
    "E02_ISHIBA_SUMMIT_1T": {"XTKS": "2025-02-10", "XKRX": "2025-02-10",
                             "XNYS": "2025-02-07", "FX": "2025-02-07"},
    "E03_NIPPON_USS_MAY": {"XTKS": "2025-05-26", "XKRX": "2025-05-26",
                           "XNYS": "2025-05-23", "FX": "2025-05-23"},
    "E04_NIPPON_USS_EO": {"XTKS": "2025-06-16", "XKRX": "2025-06-16",
                          "XNYS": "2025-06-16", "FX": "2025-06-16"},
    "E05_JP_DEAL": {"XTKS": "2025-07-23", "XKRX": "2025-07-23",
                    "XNYS": "2025-07-23", "FX": "2025-07-23"},
    # plain date (Sunday, hour unconfirmed): rolls to Monday everywhere
    "E06_EU_DEAL": {"XTKS": "2025-07-28", "XKRX": "2025-07-28",
                    "XNYS": "2025-07-28", "FX": "2025-07-28"},
    "E07_KR_DEAL": {"XTKS": "2025-07-31", "XKRX": "2025-07-31",
                    "XNYS": "2025-07-31", "FX": "2025-07-31"},
    # 17:18 EDT is after the 17:00 FX close too, so FX day 0 is the next day
    "E08_JP_EO_MOU": {"XTKS": "2025-09-05", "XKRX": "2025-09-05",
                      "XNYS": "2025-09-05", "FX": "2025-09-05"},
    # 10:00 JST = 21:00 EDT 10-27: inside the FX session that closes 10-28 17:00
    "E09_TOKYO_SUMMIT": {"XTKS": "2025-10-28", "XKRX": "2025-10-28",
                         "XNYS": "2025-10-28", "FX": "2025-10-28"},
    "E09B_JP_FACTSHEET": {"XTKS": "2025-10-29", "XKRX": "2025-10-29",
                          "XNYS": "2025-10-28", "FX": "2025-10-28"},
    # (E10_KR_GYEONGJU is in the table but not in the catalog; E19 has no date)
    "E11_SCOTUS_ARG": {"XTKS": "2025-11-06", "XKRX": "2025-11-06",
                       "XNYS": "2025-11-05", "FX": "2025-11-05"},
    "E12_YEN_RATECHECK": {"XTKS": "2026-01-26", "XKRX": "2026-01-26",
                          "XNYS": "2026-01-23", "FX": "2026-01-23"},
    # plain date 2026-02-06 (hour unconfirmed): the table gives XNYS "02-05 or 02-06";
    # our date-only rule gives 02-06
    "E13_TRUMPRX": {"XTKS": "2026-02-06", "XKRX": "2026-02-06",
                    "XNYS": "2026-02-06", "FX": "2026-02-06"},
    # plain date (Sunday vote): Monday everywhere
    "E14_LDP_WIN": {"XTKS": "2026-02-09", "XKRX": "2026-02-09",
                    "XNYS": "2026-02-09", "FX": "2026-02-09"},
    # plain date: the table gives XTKS "02-10 (or 02-12 if after the close)" and XKRX
    # "02-10/11"; our date-only rule gives 02-10 on every calendar
    "E15_NIKKEI_FURIOUS": {"XTKS": "2026-02-10", "XKRX": "2026-02-10",
                           "XNYS": "2026-02-10", "FX": "2026-02-10"},
    # plain date 02-18 (time unconfirmed): XKRX rolls over Seollal (02-16..18) to
    # 02-19; XNYS 02-18 is the table's "conservative" choice
    "E16_FIRST_TRANCHE": {"XTKS": "2026-02-18", "XKRX": "2026-02-19",
                          "XNYS": "2026-02-18", "FX": "2026-02-18"},
    "E17_SCOTUS_RULING": {"XTKS": "2026-02-24", "XKRX": "2026-02-23",
                          "XNYS": "2026-02-20", "FX": "2026-02-20"},
    "E18_MAR_SUMMIT": {"XTKS": "2026-03-23", "XKRX": "2026-03-20",
                       "XNYS": "2026-03-19", "FX": "2026-03-19"},
}
