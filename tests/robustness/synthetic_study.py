"""A synthetic study on disk with clustered returns, for the placebo and grid tests.

Each event has its own group of securities on the FX calendar (weekdays, so the
sessions are the price rows) against one market ``MKT``. Returns are

    r_it = 0.0002 + beta_i * m_t + f_gt + e_it,

with ``f_g`` a factor common to the group (the cross-correlation of a shared day 0)
and ``planted[event]`` added to the day-0 return of every security of the event.
Everything is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from eventstudy.inputs.calendar import get_sessions

STUDY_TOML = """\
[study]
name = "synthetic"
events = "events.csv"
universe = "universe.csv"

[windows]
estimation = [{e0}, -6]
event = [-5, 5]
car = [[0, 0], [-1, 1]]
min_estimation_obs = {min_obs}

[model]
name = "market"

[tests]
names = ["csect_t", "bmp", "bmp_kp"]
seed = 7

[data]
source = "file"
prices = "prices.csv"
"""


@dataclass(frozen=True)
class Synthetic:
    """Where the study is and what was planted.

    Attributes
    ----------
    study
        The study file.
    dates
        The sessions (price rows).
    day0
        ``event_id -> day-0 position`` in ``dates``.
    members
        ``event_id -> tickers``.
    returns
        The simple returns (``dates`` x tickers, ``MKT`` included).
    """

    study: Path
    dates: pd.DatetimeIndex
    day0: dict[str, int]
    members: dict[str, list[str]]
    returns: pd.DataFrame


def write_study(root: Path, *, events: int = 2, per_event: int = 8,
                planted: dict[int, float] | None = None, seed: int = 0,
                sessions: int = 420, market_sd: float = 0.006,
                factor_sd: float = 0.003, idio_sd: float = 0.01,
                estimation_start: int = -100, min_obs: int = 80,
                day0: list[int] | None = None,
                gaps: dict[str, tuple[int, int]] | None = None,
                extra: dict[str, tuple[int, str]] | None = None) -> Synthetic:
    """Write study.toml, events.csv, universe.csv and prices.csv into ``root``.

    Parameters
    ----------
    events, per_event
        Events, each with its own group of ``per_event`` securities.
    planted
        Event number -> abnormal return added on its day 0 (all its securities).
    day0
        Day-0 positions (default: random between 300 and ``sessions - 20``).
    gaps
        Ticker -> ``(first, last)`` positions whose prices are missing.
    extra
        More events without an effect: id -> ``(day-0 position, group)`` (on the
        securities of an existing group).
    """
    rng = np.random.default_rng(seed)
    dates = get_sessions("FX", "2022-01-03", "2024-12-31").dates[:sessions]
    T = len(dates)
    m = rng.normal(0.0, market_sd, T)
    data: dict[str, np.ndarray] = {"MKT": m}
    ev_rows, uni_rows = [], []
    pos_of: dict[str, int] = {}
    members: dict[str, list[str]] = {}
    pos = day0 if day0 is not None else list(rng.integers(300, T - 20, size=events))
    for e in range(events):
        eid, group = f"R{e:03d}", f"g{e:03d}"
        f = rng.normal(0.0, factor_sd, T)
        members[eid] = []
        for i in range(per_event):
            t = f"S{e:03d}_{i}"
            r = 0.0002 + rng.uniform(0.7, 1.3) * m + f + rng.normal(0, idio_sd, T)
            r[int(pos[e])] += (planted or {}).get(e, 0.0)
            data[t] = r
            members[eid].append(t)
            uni_rows.append({"ticker": t, "name": t, "group": group,
                             "calendar": "FX", "benchmark": "MKT",
                             "currency": "USD", "model": ""})
        pos_of[eid] = int(pos[e])
        ev_rows.append({"event_id": eid,
                        "timestamp": dates[int(pos[e])].strftime("%Y-%m-%d"),
                        "title": f"synthetic {eid}", "groups": group})
    for eid, (p0, group) in (extra or {}).items():
        ev_rows.append({"event_id": eid, "timestamp": dates[p0].strftime("%Y-%m-%d"),
                        "title": f"synthetic {eid}", "groups": group})
        pos_of[eid] = p0
        members[eid] = [r["ticker"] for r in uni_rows if r["group"] == group]
    rets = pd.DataFrame(data, index=dates)
    prices = 100.0 * (1.0 + rets).cumprod()
    for t, (a, b) in (gaps or {}).items():
        prices.iloc[a:b + 1, prices.columns.get_loc(t)] = np.nan
    root.mkdir(parents=True, exist_ok=True)
    (root / "study.toml").write_text(STUDY_TOML.format(e0=estimation_start,
                                                       min_obs=min_obs),
                                     encoding="utf-8")
    pd.DataFrame(ev_rows).to_csv(root / "events.csv", index=False)
    pd.DataFrame(uni_rows).to_csv(root / "universe.csv", index=False)
    out = prices.reset_index(names="date")
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    out.to_csv(root / "prices.csv", index=False, float_format="%.17g")
    back = prices / prices.shift(1) - 1.0
    return Synthetic(root / "study.toml", dates, pos_of, members, back)
