"""What the summary and the CAAR path read from a results object.

:class:`ResultsView` is the read-only interface of
:class:`~eventstudy.results.core.EventStudyResults` that :mod:`.summary` and
:mod:`.paths` use, so that they need not import the class (no import cycle).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from eventstudy.config import Conventions, ModelSpec, Windows


class ResultsView(Protocol):
    """The frozen results' tables and arrays (see ``EventStudyResults``)."""

    @property
    def pairs_(self) -> pd.DataFrame: ...
    @property
    def rel_days(self) -> np.ndarray: ...
    @property
    def ar(self) -> np.ndarray: ...
    @property
    def sar(self) -> np.ndarray: ...
    @property
    def car_arr(self) -> np.ndarray: ...
    @property
    def sigma2(self) -> np.ndarray: ...
    @property
    def nobs(self) -> np.ndarray: ...
    @property
    def tests_(self) -> pd.DataFrame: ...
    @property
    def excluded_(self) -> pd.DataFrame: ...
    @property
    def windows(self) -> Windows: ...
    @property
    def model(self) -> ModelSpec: ...
    @property
    def conventions(self) -> Conventions: ...
    @property
    def n_pairs(self) -> int: ...
