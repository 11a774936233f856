"""`headline_p_values` gives exactly the p-values behind the summary's stars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eventstudy.results.summary import (
    ROBUST_TEST,
    clustered_scopes,
    headline_p_values,
    stars,
)
from eventstudy.workflows import run_study

STUDY = Path(__file__).resolve().parents[2] / "events" / "japan_us_investment.toml"


@pytest.fixture(scope="module")
def seed() -> object:
    res, _ = run_study(STUDY)
    return res


def test_headline_matches_summary_stars(seed: object) -> None:
    res = seed
    h = headline_p_values(res, "csect_t")  # type: ignore[arg-type]
    table = res.summary().table  # type: ignore[attr-defined]
    assert len(h) == len(table) * len(res.windows.car)  # type: ignore[attr-defined]
    for (a, b) in res.windows.car:  # type: ignore[attr-defined]
        col = f"CAAR[{a},{b}] %"
        sub = h[(h["window_start"] == a) & (h["window_end"] == b)]
        got = [f"{100 * m:.2f}{stars(p)}" for m, p in zip(sub["caar"], sub["p_value"],
                                                          strict=True)]
        assert got == table[col].astype(str).str.strip().tolist()


def test_clustered_rows_use_the_robust_test(seed: object) -> None:
    h = headline_p_values(seed, "csect_t")  # type: ignore[arg-type]
    flags = clustered_scopes(seed.pairs_)  # type: ignore[attr-defined]
    is_clus = [flags.get(("event_group", f"{e}:{g}"), False)
               for e, g in zip(h["event_id"], h["group"], strict=True)]
    clus = h[np.asarray(is_clus) & (h["n"] > 1).to_numpy()]
    assert len(clus) and (clus["p_test"] == ROBUST_TEST).all()
    one = h[h["n"] == 1]
    assert len(one) and (one["p_test"] == "series_t").all()
    t = seed.tests  # type: ignore[attr-defined]
    row = h[(h["event_id"] == "E05_JP_DEAL") & (h["group"] == "jp_autos")
            & (h["window_start"] == 0) & (h["window_end"] == 0)].iloc[0]
    ref = t[(t["test"] == ROBUST_TEST) & (t["scope"] == "event_group")
            & (t["scope_value"] == "E05_JP_DEAL:jp_autos") & (t["window_start"] == 0)
            & (t["window_end"] == 0)]
    assert np.isclose(row["p_value"], float(ref["p_value"].iloc[0]), rtol=0, atol=0)
