"""Time the peer package eventstudy 0.1a12 (J.-B. Lemaire, PyPI ``eventstudy``,
GPL-3) on the benchmark inputs.

Its PyPI name is this project's import name, so it goes in an environment of its
own, with pyarrow::

    python -m venv /tmp/peer && /tmp/peer/bin/pip install "eventstudy==0.1a12" pyarrow
    cd /tmp && /tmp/peer/bin/python /path/to/docs/peer_lemaire.py /tmp/big --pairs 2000

``eventstudy bench --cli DIR --peer-python /tmp/peer/bin/python --peer-script
docs/peer_lemaire.py`` runs it after its own runs. The peer gets the same market model
(``Single.market_model``: OLS on the market's return), estimation window
(offsets -250..-11: ``estimation_size=240, buffer_size=0``), event window -10..+10 and
the first ``--pairs`` events, with the simple returns already in memory (its class
parameter ``returns``; loading is not timed); ``Multiple.from_list`` (one
Python object per event) is timed. It prints one JSON line: ``pairs``, ``seconds``
(each run), ``us_per_pair`` (median) and the version.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

import eventstudy as peer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("inputs", type=Path, help="folder of the benchmark inputs")
    p.add_argument("--pairs", type=int, default=2000)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    prices = pd.read_parquet(a.inputs / "prices.parquet")
    events = pd.read_csv(a.inputs / "events.csv").iloc[:a.pairs]
    rets = (prices / prices.shift(1) - 1.0).iloc[1:]
    data = {"date": rets.index.to_numpy().astype("datetime64[D]")}
    data.update({str(c): rets[c].to_numpy() for c in rets.columns})
    peer.Single._save_parameter("returns", data)
    todo = [{"event_date": np.datetime64(d), "security_ticker": t,
             "market_ticker": "MKT"}
            for d, t in zip(events["timestamp"], events["ticker"], strict=True)]
    seconds, n = [], 0
    for _ in range(a.runs):
        t0 = time.perf_counter()
        batch = peer.Multiple.from_list(
            [dict(e) for e in todo], peer.Single.market_model,
            event_window=(-10, 10), estimation_size=240, buffer_size=0)
        seconds.append(time.perf_counter() - t0)
        n = len(batch.sample)
    print(json.dumps({"peer": "eventstudy (Lemaire)", "version": peer.__version__,
                      "pairs": n, "seconds": seconds,
                      "us_per_pair": 1e6 * statistics.median(seconds) / max(n, 1)}))


if __name__ == "__main__":
    main()
