"""EGARCH(1,1) normal returns (Nelson 1991).

The mean equation, errors, estimation and event-window variances are those of
:mod:`eventstudy.estimation.models.garch`; the variance equation is in logs, with
z_t = e_t / sqrt(h_t)::

    ln h_t = omega + alpha (|z_{t-1}| - sqrt(2/pi)) + gamma z_{t-1}
             + beta ln h_{t-1},        |beta| < 1.

Multi-step forecasts (exact under normal errors)::

    E_T h_{T+s} = exp(omega sum_{i<s-1} beta^i + beta^(s-1) ln h_{T+1})
                  * prod_{i<s-1} M(beta^i alpha, beta^i gamma),
    M(a, g) = E exp(a (|z| - sqrt(2/pi)) + g z)
            = exp(-a sqrt(2/pi)) [exp((a+g)^2/2) Phi(a+g) + exp((a-g)^2/2) Phi(a-g)].

With Student-t errors that expectation does not exist (the t has no moment
generating function), so the normal M is used (``arch`` simulates instead).
"""

from __future__ import annotations

from eventstudy.estimation.models.garch import Garch


class Egarch(Garch):
    """EGARCH(1,1) with the asymmetry term, by batched maximum likelihood."""

    name = "egarch"
    description = "EGARCH(1,1) by maximum likelihood (Nelson 1991)"
    kind = 2
