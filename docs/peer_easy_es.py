"""Time the peer package easy-es (PyPI ``easy-es``, MIT) on the benchmark inputs.

Run with the Python of an environment where easy-es and pyarrow are installed (not
eventstudy's: the peer's dependencies are its own), e.g.::

    python -m venv /tmp/peer && /tmp/peer/bin/pip install easy-es pyarrow
    /tmp/peer/bin/python docs/peer_easy_es.py /tmp/big --pairs 2000

``eventstudy bench --cli DIR --peer-python /tmp/peer/bin/python`` runs it after its
own runs and prints both per pair. The peer gets the same market model (its
``capm`` estimator: OLS of the return on the market return, RF = 0), the same
estimation window (offsets -250..-11: ``estimation_days=240, gap_days=0,
window_before=10``), event window -10..+10 and the first ``--pairs`` events of the
inputs, with the returns and the market's already in memory (its loading is not
timed; only ``EventStudy.run_study``, with its default parallelism, is). It prints
one JSON line: ``pairs``, ``seconds`` (each run), ``us_per_pair`` (median) and the
package version.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from importlib import metadata
from pathlib import Path

import pandas as pd
from easy_es import EventStudy


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("inputs", type=Path, help="folder of the benchmark inputs")
    p.add_argument("--pairs", type=int, default=2000)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    prices = pd.read_parquet(a.inputs / "prices.parquet")
    events = pd.read_csv(a.inputs / "events.csv").iloc[:a.pairs]
    rets = prices / prices.shift(1) - 1.0
    tickers = sorted(set(events["ticker"]))
    dates = pd.to_datetime(rets.index).date
    long = pd.concat([pd.DataFrame({"Date": dates, "ticker": t,
                                    "Ret": rets[t].to_numpy(), "Volume": 0.0})
                      for t in tickers], ignore_index=True).dropna()
    factors = pd.DataFrame({"Date": dates, "Mkt-RF": rets["MKT"].to_numpy(),
                            "RF": 0.0}).dropna()
    x = pd.DataFrame({"ticker": events["ticker"], "event_date": events["timestamp"]})
    seconds, n = [], 0
    for _ in range(a.runs):
        es = EventStudy(estimation_days=240, gap_days=0, window_before=10,
                        window_after=10, min_estimation_days=120,
                        estimator_type="capm")
        es.add_returns(ret_df=long.copy())
        es.add_factors(factors)
        t0 = time.perf_counter()
        out = es.run_study(x)
        seconds.append(time.perf_counter() - t0)
        n = int(out["event_id"].nunique())
    print(json.dumps({"peer": "easy-es", "version": metadata.version("easy-es"),
                      "pairs": n, "seconds": seconds,
                      "us_per_pair": 1e6 * statistics.median(seconds) / max(n, 1)}))


if __name__ == "__main__":
    main()
