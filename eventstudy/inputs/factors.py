"""Factor files for the factor models (Fama-French and the like)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from eventstudy.config import ModelSpec
from eventstudy.inputs.prices import load_prices

__all__ = ["load_factors"]


def load_factors(path: str | Path, spec: ModelSpec) -> pd.DataFrame:
    """Read a factor file (CSV/Parquet: date + factor columns) as decimals.

    Parameters
    ----------
    path
        The factor file, long or wide as a prices file
        (:func:`eventstudy.inputs.prices.load_prices`).
    spec
        The model settings: ``factor_unit = "percent"`` files (as Ken French's
        library) are divided by 100.

    Returns
    -------
    pandas.DataFrame
        One float64 column per factor, indexed by date.

    Raises
    ------
    PriceDataError
        The file is missing or bad (naming the file, the row and the fix).
    """
    f = load_prices(path)
    if spec.factor_unit == "percent":
        f = f / 100.0
    return f
