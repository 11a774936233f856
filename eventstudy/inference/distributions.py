"""Distribution functions of the test statistics, without importing scipy.stats.

``scipy.stats`` costs about 0.4 s to import, more than a whole small study. Each
function here returns, value for value and bit for bit, what its ``scipy.stats``
counterpart returns on the same float64 inputs (``tests/inference/
test_distributions.py`` checks it on adversarial values), by calling the same
``scipy.special`` function that ``scipy.stats`` calls and applying its rules at the
edges of the support:

* ``t.sf(x, df)`` is ``special.stdtr(df, -x)`` (Student 1908);
* ``norm.sf(x)`` is ``special.ndtr(-x)``;
* ``chi2.cdf(x, df)`` and ``chi2.sf(x, df)`` are ``special.chdtr(df, x)`` and
  ``special.chdtrc(df, x)``, with x <= 0 giving 0 and 1 (the support is x > 0)
  and x = inf giving 1 and 0.

A shape parameter outside its domain (``df <= 0`` or NaN) gives NaN, as
``scipy.stats`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special


def _f64(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def t_sf(x: Any, df: Any) -> np.ndarray:
    """Student t survival function P(T > x), ``scipy.stats.t.sf(x, df)``.

    Parameters
    ----------
    x
        Values (array-like, float64).
    df
        Degrees of freedom (> 0; others give NaN).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> float(t_sf(2.0, 10.0).round(6))
    0.036694
    """
    x, df = _f64(x), _f64(df)
    with np.errstate(invalid="ignore"):
        out: np.ndarray = np.where(df > 0, special.stdtr(df, -x), np.nan)
    return out


def norm_sf(x: Any) -> np.ndarray:
    """Standard normal survival function P(Z > x), ``scipy.stats.norm.sf(x)``.

    Examples
    --------
    >>> float(norm_sf(1.959963984540054).round(6))
    0.025
    """
    out: np.ndarray = special.ndtr(-_f64(x))
    return out


def chi2_cdf(x: Any, df: Any) -> np.ndarray:
    """Chi-square distribution function P(X <= x), ``scipy.stats.chi2.cdf(x, df)``.

    Examples
    --------
    >>> float(chi2_cdf(10.0, 10.0).round(6))
    0.559507
    """
    return _chi2(x, df, special.chdtr, 0.0, 1.0)


def chi2_sf(x: Any, df: Any) -> np.ndarray:
    """Chi-square survival function P(X > x), ``scipy.stats.chi2.sf(x, df)``.

    Examples
    --------
    >>> float(chi2_sf(10.0, 10.0).round(6))
    0.440493
    """
    return _chi2(x, df, special.chdtrc, 1.0, 0.0)


def _chi2(x: Any, df: Any, fn: Any, at_zero: float, at_inf: float) -> np.ndarray:
    """``fn(df, x)`` inside the support (0 < x < inf), ``at_zero`` for x <= 0,
    ``at_inf`` for x = inf, NaN for a NaN x or df <= 0 (scipy.stats' rules)."""
    x, df = _f64(x), _f64(df)
    with np.errstate(invalid="ignore"):
        out: np.ndarray = np.where(df > 0, np.where(
            x > 0, np.where(x == np.inf, at_inf, fn(df, x)),
            np.where(np.isnan(x), np.nan, at_zero)), np.nan)
    return out
