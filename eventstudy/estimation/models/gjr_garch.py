"""GJR-GARCH(1,1) normal returns (Glosten, Jagannathan & Runkle 1993).

The mean equation, errors, estimation and event-window variances are those of
:mod:`eventstudy.estimation.models.garch`; the variance equation adds the
leverage term::

    h_t = omega + (alpha + gamma I[e_{t-1} < 0]) e_{t-1}^2 + beta h_{t-1},
    omega > 0, alpha >= 0, alpha + gamma >= 0, beta >= 0,
    alpha + gamma / 2 + beta < 1.

Multi-step forecasts use E I[e < 0] = 1/2 (symmetric errors):
E_T h_{T+s} = omega + (alpha + gamma / 2 + beta) E_T h_{T+s-1}.
"""

from __future__ import annotations

from eventstudy.estimation.models.garch import Garch


class GjrGarch(Garch):
    """GJR-GARCH(1,1) by batched maximum likelihood."""

    name = "gjr_garch"
    description = ("GJR-GARCH(1,1) by maximum likelihood (Glosten, Jagannathan & "
                   "Runkle 1993)")
    kind = 1
