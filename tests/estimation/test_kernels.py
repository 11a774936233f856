"""The compiled market-model kernel (numba) against the numpy path and statsmodels.

Both paths implement the same formulas; only the order of additions differs, so
they agree to ~1e-15. The kernel's own results never depend on the chunking.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import make_panel

from eventstudy import EventStudy
from eventstudy.config import Conventions, Windows
from eventstudy.errors import InputError, UnknownNameError

pytest.importorskip("numba", reason="numba is not installed (the numpy path runs)")

FIELDS = ("alpha", "beta", "sigma2", "nobs", "r2", "normal", "ar", "sar", "car_arr",
          "car_var", "car_days", "resid")
WINDOWS = Windows(car=((0, 0), (-1, 1), (-10, 10), (3, 7)))


def _study(model_column: bool = False, hole_seed: int = 1) -> EventStudy:
    p = make_panel(40, n_days=560)
    r = p.returns.copy()
    rng = np.random.default_rng(hole_seed)
    holes = rng.random(r.shape) < 0.03
    r = r.mask(holes)
    r.iloc[300:303, 0] = np.nan  # market missing on a few days
    r.iloc[:, 5] = 0.0 * r.iloc[:, 5] + np.where(np.arange(len(r)) % 7 == 0, 0.0,
                                                   r.iloc[:, 5])  # zero returns
    ev = p.events.copy()
    uni = None
    if model_column:  # every other pair on the constant-mean model: mixed chunks
        ev["model"] = np.where(np.arange(len(ev)) % 2 == 0, "", "constant_mean")
    return EventStudy(r, ev, uni, kind="returns", calendar="FX", benchmark="MKT",
                      windows=WINDOWS)


def _arrays(res: object) -> dict[str, np.ndarray]:
    return {k: np.asarray(getattr(res, k), dtype=np.float64) for k in FIELDS}


@pytest.mark.parametrize("conv", [
    Conventions(),
    Conventions(sigma_dof="sample", forecast_error=False),
], ids=["textbook", "sample-dof-no-fe"])
@pytest.mark.parametrize("shift", [0.0, 0.013])
def test_numba_equals_numpy(conv: Conventions, shift: float) -> None:
    es = _study()
    a = es.fit(tests=("csect_t", "patell", "corrado"), conventions=conv,
               kernel="numpy", day0_shift=shift)
    b = es.fit(tests=("csect_t", "patell", "corrado"), conventions=conv,
               kernel="numba", day0_shift=shift)
    A, B = _arrays(a), _arrays(b)
    for k in FIELDS:
        assert np.array_equal(np.isnan(A[k]), np.isnan(B[k])), k
        np.testing.assert_allclose(B[k], A[k], rtol=1e-12, atol=1e-14, equal_nan=True,
                                   err_msg=k)
    np.testing.assert_allclose(b.tests_["statistic"], a.tests_["statistic"],
                               rtol=1e-10, atol=1e-12, equal_nan=True)
    pd.testing.assert_frame_equal(b.diagnostics.drop(columns=["resid_ac1"]),
                                  a.diagnostics.drop(columns=["resid_ac1"]),
                                  rtol=1e-10)


def test_numba_on_mixed_models_and_chunks_is_bitwise_stable() -> None:
    es = _study(model_column=True)
    ref = es.fit(tests=("csect_t",), kernel="numpy")
    runs = [es.fit(tests=("csect_t",), kernel="numba", chunk_size=c, workers=w)
            for c, w in ((7, 1), (16, 2), (1024, 2))]
    for r in runs[1:]:
        for k in FIELDS:
            np.testing.assert_array_equal(_arrays(r)[k], _arrays(runs[0])[k])
    for k in FIELDS:
        np.testing.assert_allclose(_arrays(runs[0])[k], _arrays(ref)[k], rtol=1e-12,
                                   atol=1e-14, equal_nan=True, err_msg=k)
    assert set(ref.pairs_["model"]) == {"market", "constant_mean"}


def test_numba_matches_a_statsmodels_loop() -> None:
    p = make_panel(12, n_days=560)
    es = EventStudy(p.returns, p.events, kind="returns", calendar="FX",
                    benchmark="MKT")
    res = es.fit(tests=("csect_t",), kernel="numba")
    r = p.returns
    for i, row in res.pairs_.iterrows():
        pos = p.day0_pos[row["event_id"]]
        y = r[row["ticker"]].to_numpy()[pos - 250:pos - 10]
        x = r["MKT"].to_numpy()[pos - 250:pos - 10]
        fit = sm.OLS(y, sm.add_constant(x)).fit()
        assert abs(res.alpha[i] - fit.params[0]) < 1e-10
        assert abs(res.beta[i] - fit.params[1]) < 1e-10
        assert abs(res.sigma2[i] - fit.ssr / fit.df_resid) < 1e-10
        ye = r[row["ticker"]].to_numpy()[pos - 10:pos + 11]
        xe = r["MKT"].to_numpy()[pos - 10:pos + 11]
        np.testing.assert_allclose(res.ar[i], ye - fit.predict(sm.add_constant(xe)),
                                   rtol=0, atol=1e-10)


def test_kernel_option_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    es = _study()
    with pytest.raises(UnknownNameError, match="unknown kernel"):
        es.fit(kernel="fortran")
    import eventstudy.estimation.kernels as kernels

    monkeypatch.setattr(kernels, "available", lambda: False)
    with pytest.raises(InputError, match="pip install numba"):
        es.fit(kernel="numba")
    assert es.fit(kernel="auto").n_pairs == 40  # falls back to numpy


def test_other_conventions_fall_back_to_numpy() -> None:
    """market_moments = "window" and BHAR are not in the kernel: same numbers as
    the numpy path, bit for bit."""
    es = _study()
    for conv in (replace(Conventions(), market_moments="window"),
                 replace(Conventions(), aggregation="bhar")):
        a = es.fit(tests=("csect_t",), conventions=conv, kernel="numpy")
        b = es.fit(tests=("csect_t",), conventions=conv, kernel="numba")
        for k in FIELDS:
            np.testing.assert_array_equal(_arrays(b)[k], _arrays(a)[k])
