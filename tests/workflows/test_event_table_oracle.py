"""``events.csv`` of the output set: the instants' ISO text built in C equals the
former per-string Python join (NaT, times before the epoch, sub-seconds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eventstudy.inputs.events import events_from_frame
from eventstudy.workflows import EVENT_FILE_COLUMNS, _event_table


def _old_event_table(events: pd.DataFrame) -> pd.DataFrame:
    # verbatim from 8cb86b0:eventstudy/workflows.py (_event_table)
    cols = [c for c in EVENT_FILE_COLUMNS if c in events.columns]
    out = events[cols].astype(str).copy()
    inst = pd.to_datetime(events["instant_ns"].to_numpy(), utc=True)
    out["instant_utc"] = [s + "Z" for s in np.datetime_as_string(
        inst.tz_localize(None).to_numpy(), unit="s").tolist()]
    out["date_only"] = np.asarray(events["date_only"], dtype=bool)
    return out.reset_index(drop=True)


def _catalog() -> pd.DataFrame:
    return events_from_frame(pd.DataFrame({
        "event_id": ["E1", "E2", "E3", "E4"],
        "timestamp": ["2025-02-07T08:30:00+09:00", "2025-02-07",
                      "1969-12-31T23:59:59.5+00:00", "2024-11-29T13:00:01-05:00"],
        "ticker": ["7203.T", "JPY=X", "A", "B"], "title": ["a", "b", "", "c"]}))


@pytest.mark.parametrize("edit", ["none", "nat", "before the epoch", "one row"])
def test_event_table_is_the_former_one(edit: str) -> None:
    ev = _catalog()
    if edit == "nat":
        ev.loc[1, "instant_ns"] = np.iinfo(np.int64).min
    elif edit == "before the epoch":
        ev.loc[0, "instant_ns"] = -1_500_000_001
    elif edit == "one row":
        ev = ev.iloc[[3]]
    new, old = _event_table(ev), _old_event_table(ev)
    pd.testing.assert_frame_equal(new, old)
    assert new["instant_utc"].str.endswith("Z").all()
