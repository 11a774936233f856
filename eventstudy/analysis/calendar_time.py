"""Calendar-time portfolios for long-horizon abnormal returns (the analysis layer).

Each calendar period (month or trading day) holds the securities that are in their
post-event window: a security enters after its event's day 0 and stays for the
horizon. The portfolio's excess return is regressed on a factor model; the intercept
(alpha) is the mean abnormal return per period (Jaffe 1974; Mandelker 1974; Fama
1998; Mitchell & Stafford 2000). Because every period is one observation, the
cross-sectional dependence of overlapping events, which biases event-time BHAR tests
(Lyon, Barber & Tsai 1999), is absorbed in the portfolio's own variance.

* Membership (:func:`holdings`). Monthly: an event whose day 0 falls in month ``M``
  puts its security in the portfolio of months ``M+1 .. M+H`` (``H`` from
  ``--horizon Hm``; the event month, whose return holds the announcement, is left
  out). Daily: the sessions ``t`` with ``day0 < t <= day0 + H months`` (``Hm``) or the
  ``H`` sessions after day 0 (``Hd``). A security with several events in force is
  held once, with the weight of its latest event.
* Portfolio return (:func:`portfolio_returns`): equal weights,
  ``R_p,t = (1/N_t) sum_i R_i,t`` over the members with a return in ``t``; value
  weights, ``R_p,t = sum_i w_i R_i,t / sum_i w_i`` with ``w_i`` the pair's weight
  column (the events' column, else the universe's, as
  :func:`eventstudy.alignment.pair_weights`). Periods without a member are left out.
  Monthly security returns are ``P_m / P_{m-1} - 1`` on the last price of each month.
* Alpha regression (:func:`alpha_regression`): ``R_p,t - RF_t = a + b' F_t + e_t`` by
  OLS on the factor table's columns (``market``: ``Mkt-RF``; ``ff3``: ``+ SMB, HML``;
  ``ff5``: ``+ RMW, CMA``; ``carhart``: ``ff3 + MOM``). ``t(a) = a / se(a)`` with the
  OLS ``se`` (t distribution, ``T - K`` degrees of freedom) and with Newey & West's
  (1987) HAC ``se``: ``V = (X'X)^-1 S (X'X)^-1``,
  ``S = sum_t e_t^2 x_t x_t' + sum_{l=1}^{L} (1 - l/(L+1)) sum_{t>l} e_t e_{t-l}
  (x_t x_{t-l}' + x_{t-l} x_t')`` (Bartlett weights, no small-sample factor;
  statsmodels ``cov_type="HAC"``), normal p-values; ``L`` defaults to
  ``floor(4 (T/100)^(2/9))`` (Newey & West 1994).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from eventstudy.alignment import pair_asofs, pair_weights, pairs_from_events
from eventstudy.config import Study
from eventstudy.errors import InputError
from eventstudy.inputs.calendar import get_sessions, locate_day0_asof
from eventstudy.inputs.factors import study_factor_table
from eventstudy.inputs.sources import (
    SourceOptions,
    plan_study,
    read_catalog,
    source_for,
)
from eventstudy.inputs.sources.cache import default_cache_dir
from eventstudy.inputs.sources.french import Fetch, FrenchLibrary

__all__ = [
    "FACTOR_MODELS",
    "CalendarTimeResult",
    "alpha_regression",
    "calendar_time",
    "calendar_time_study",
    "holdings",
    "newey_west_lags",
    "pair_day0",
    "parse_horizon",
    "period_returns",
    "portfolio_returns",
]

FACTOR_MODELS: dict[str, tuple[str, ...]] = {
    "market": ("Mkt-RF",),
    "ff3": ("Mkt-RF", "SMB", "HML"),
    "ff5": ("Mkt-RF", "SMB", "HML", "RMW", "CMA"),
    "carhart": ("Mkt-RF", "SMB", "HML", "MOM"),
}
"""Factor model name -> the factor columns of the alpha regression."""

_SET_OF = {"market": "ff3", "ff3": "ff3", "ff5": "ff5", "carhart": "carhart"}
_HORIZON = re.compile(r"^\s*([1-9][0-9]{0,3})\s*([md])\s*$")


def parse_horizon(text: str) -> tuple[int, str]:
    """``"12m"`` -> ``(12, "m")`` (months), ``"250d"`` -> ``(250, "d")`` (sessions).

    Raises
    ------
    InputError
        Anything else (the message shows the form).
    """
    m = _HORIZON.match(str(text))
    if m is None:
        raise InputError(f"horizon {text!r}: write a number of months or sessions, "
                         "e.g. 12m, 36m or 250d")
    return int(m.group(1)), m.group(2)


def newey_west_lags(periods: int) -> int:
    """Newey & West's (1994) rule of thumb ``floor(4 (T/100)^(2/9))``.

    Examples
    --------
    >>> newey_west_lags(100), newey_west_lags(60), newey_west_lags(500)
    (4, 3, 5)
    """
    return int(math.floor(4.0 * (periods / 100.0) ** (2.0 / 9.0)))


def period_returns(prices: pd.DataFrame, frequency: str) -> pd.DataFrame:
    """Simple returns per period: daily ``P_t / P_{t-1} - 1`` on the price rows,
    monthly on the last price of each month (index: the month's last day)."""
    if frequency == "monthly":
        last = prices.resample("ME").last()
        rets = last / last.shift(1) - 1.0
    else:
        rets = prices / prices.shift(1) - 1.0
    return rets.iloc[1:].astype("float64")


def holdings(pairs: pd.DataFrame, index: pd.DatetimeIndex, horizon: tuple[int, str],
             frequency: str) -> pd.DataFrame:
    """Who is held when, and with which weight.

    Parameters
    ----------
    pairs
        ``ticker``, ``day0`` (a date) and ``weight`` (1.0 for equal weights).
    index
        The periods: session dates (daily) or month ends (monthly).
    horizon
        :func:`parse_horizon`'s ``(count, unit)``.
    frequency
        ``daily`` or ``monthly``.

    Returns
    -------
    pandas.DataFrame
        ``index`` x tickers: the weight where the security is held (the latest
        event's, when several are in force), NaN elsewhere.
    """
    n, unit = horizon
    if frequency == "monthly" and unit != "m":
        raise InputError(f"horizon {n}{unit}: monthly portfolios take a horizon in "
                         "months, e.g. 12m")
    tickers = list(pd.unique(pairs["ticker"].astype(str)))
    out = np.full((len(index), len(tickers)), np.nan)
    col = {t: j for j, t in enumerate(tickers)}
    idx = pd.DatetimeIndex(index)
    month = idx.to_period("M")
    order = np.argsort(pd.DatetimeIndex(pairs["day0"]).asi8, kind="stable")
    for k in order:  # later events overwrite earlier ones
        row = pairs.iloc[int(k)]
        d0 = pd.Timestamp(row["day0"])
        if frequency == "monthly":
            m0 = d0.to_period("M")
            held = (month > m0) & (month <= m0 + n)
        elif unit == "m":
            held = (idx > d0) & (idx <= d0 + pd.DateOffset(months=n))
        else:
            after = np.flatnonzero(idx > d0)[:n]
            held = np.zeros(len(idx), dtype=bool)
            held[after] = True
        out[np.asarray(held, dtype=bool), col[str(row["ticker"])]] = float(
            row["weight"])
    return pd.DataFrame(out, index=idx, columns=pd.Index(tickers))


def portfolio_returns(returns: pd.DataFrame, held: pd.DataFrame) -> pd.DataFrame:
    """The portfolio return and member count per period.

    ``R_p,t = sum_i w_i,t R_i,t / sum_i w_i,t`` over the held securities with a
    return and a positive weight (equal weights: ``w = 1``, the plain mean).

    Returns
    -------
    pandas.DataFrame
        ``ret`` and ``members``, for the periods with at least one member.
    """
    r = returns.reindex(index=held.index, columns=held.columns).to_numpy(np.float64)
    w = held.to_numpy(np.float64)
    use = np.isfinite(r) & np.isfinite(w) & (w > 0)
    wsum = np.where(use, w, 0.0).sum(axis=1)
    num = np.where(use, w * np.where(use, r, 0.0), 0.0).sum(axis=1)
    members = use.sum(axis=1)
    keep = members > 0
    return pd.DataFrame({"ret": num[keep] / wsum[keep],
                         "members": members[keep].astype(np.int64)},
                        index=held.index[keep])


def alpha_regression(excess: pd.Series, factors: pd.DataFrame,
                     lags: int | None = None) -> pd.DataFrame:
    """OLS of the portfolio's excess return on factors, with OLS and Newey-West
    standard errors (formulas in the module docstring).

    Parameters
    ----------
    excess
        ``R_p - RF`` per period.
    factors
        The factor columns on the same periods (no missing values).
    lags
        Newey-West lags; None: :func:`newey_west_lags`.

    Returns
    -------
    pandas.DataFrame
        One row per term (``alpha`` first, then each factor): ``term, estimate,
        std_error, t, p_value, nw_std_error, nw_t, nw_p_value, periods, nw_lags``.
    """
    import statsmodels.api as sm  # lazy: statsmodels is heavy

    T = len(excess)
    K = factors.shape[1] + 1
    if T <= K:
        raise InputError(f"the alpha regression has {T} period(s) for {K} "
                         "coefficients; use a longer sample or fewer factors")
    L = newey_west_lags(T) if lags is None else int(lags)
    if L < 0 or L >= T:
        raise InputError(f"Newey-West lags = {L}: use 0 to {T - 1}")
    X = np.column_stack([np.ones(T), factors.to_numpy(np.float64)])
    y = excess.to_numpy(np.float64)
    model = sm.OLS(y, X)
    ols = model.fit()
    nw = model.fit(cov_type="HAC", cov_kwds={"maxlags": L})
    return pd.DataFrame({
        "term": ["alpha", *[str(c) for c in factors.columns]],
        "estimate": ols.params, "std_error": ols.bse, "t": ols.tvalues,
        "p_value": ols.pvalues, "nw_std_error": nw.bse, "nw_t": nw.tvalues,
        "nw_p_value": nw.pvalues, "periods": T, "nw_lags": L})


@dataclass(frozen=True)
class CalendarTimeResult:
    """A calendar-time portfolio and its alpha regression.

    Attributes
    ----------
    series
        Per period: ``ret`` (portfolio), ``members``, ``rf``, ``excess`` and the
        factor columns (the regression's sample).
    table
        :func:`alpha_regression`'s table, with ``model``, ``weights``,
        ``frequency`` and ``horizon`` columns.
    """

    series: pd.DataFrame
    table: pd.DataFrame


def calendar_time(returns: pd.DataFrame, pairs: pd.DataFrame,
                  factors: pd.DataFrame, *, horizon: str = "12m",
                  frequency: str = "monthly", weights: str = "equal",
                  model: str = "ff3", columns: tuple[str, ...] | None = None,
                  rf_column: str = "RF", lags: int | None = None,
                  ) -> CalendarTimeResult:
    """Calendar-time portfolio of the pairs and its alpha.

    Parameters
    ----------
    returns
        Security returns per period (:func:`period_returns`), tickers as columns.
    pairs
        ``ticker``, ``day0`` and, for value weights, ``weight``.
    factors
        The factor table (decimals) at ``frequency``: dates as index (for monthly
        tables any date in the month), the factor columns and ``rf_column``.
    horizon, frequency, weights
        ``"12m"``/``"250d"``; ``daily``/``monthly``; ``equal``/``value``.
    model, columns
        The factor model (:data:`FACTOR_MODELS`), or explicit factor columns.
    rf_column
        The risk-free column of ``factors``.
    lags
        Newey-West lags (None: the rule of thumb).
    """
    if frequency not in ("daily", "monthly"):
        raise InputError(f"frequency {frequency!r}: use daily or monthly")
    if weights not in ("equal", "value"):
        raise InputError(f"weights {weights!r}: use equal or value")
    cols = tuple(columns) if columns else FACTOR_MODELS.get(model, ())
    if not cols:
        raise InputError(f"factor model {model!r}: use one of "
                         f"{', '.join(FACTOR_MODELS)}")
    missing = [c for c in (*cols, rf_column) if c not in factors.columns]
    if missing:
        raise InputError(f"the factor table lacks {', '.join(missing)} (it has "
                         f"{', '.join(map(str, factors.columns))})")
    h = parse_horizon(horizon)
    p = pairs.copy()
    if weights == "equal":
        p["weight"] = 1.0
    elif "weight" not in p.columns:
        raise InputError("value weights need a weight per pair")
    held = holdings(p, pd.DatetimeIndex(returns.index), h, frequency)
    port = portfolio_returns(returns, held)
    f = factors[[*cols, rf_column]].astype("float64")
    if frequency == "monthly":  # match months, whatever day a table uses
        f = f.set_axis(pd.DatetimeIndex(f.index).to_period("M"))
        port = port.set_axis(pd.DatetimeIndex(port.index).to_period("M"))
    data = port.join(f, how="inner").dropna()
    if data.empty:
        raise InputError("no period has both a portfolio return and the factors; "
                         "do the factor table's dates cover the holding periods?")
    data = data.rename(columns={rf_column: "rf"})
    data.insert(1, "excess", data["ret"] - data["rf"])
    if frequency == "monthly":
        data.index = pd.PeriodIndex(data.index).to_timestamp(how="end").normalize()
    data.index.name = "date"
    table = alpha_regression(data["excess"], data[list(cols)], lags)
    table.insert(0, "model", model)
    table.insert(1, "weights", weights)
    table.insert(2, "frequency", frequency)
    table.insert(3, "horizon", f"{h[0]}{h[1]}")
    table["mean_members"] = float(data["members"].mean())
    return CalendarTimeResult(data, table)


def pair_day0(events: pd.DataFrame, universe: pd.DataFrame | None,
              default_calendar: str = "XNYS") -> pd.DataFrame:
    """Each (event, security) pair's day 0 on its calendar, as the event study
    places it (:func:`eventstudy.inputs.calendar.locate_day0_asof`).

    Returns
    -------
    pandas.DataFrame
        The pairs (:func:`eventstudy.alignment.pairs_from_events`) with ``day0``;
        pairs whose event lies outside their calendar's range are left out.
    """
    pairs, _ = pairs_from_events(events, universe, default_calendar, "")
    pairs = pairs.reset_index(drop=True)
    inst = pairs["instant_ns"].to_numpy(dtype=np.int64)
    donly = pairs["date_only"].to_numpy(dtype=bool)
    asofs = pair_asofs(pairs)
    start = pd.Timestamp(int(inst.min())).normalize() - pd.Timedelta(days=10)
    end = pd.Timestamp(int(inst.max())).normalize() + pd.Timedelta(days=30)
    day0 = np.full(len(pairs), np.datetime64("NaT"), dtype="datetime64[ns]")
    for cal in pd.unique(pairs["calendar"].astype(str)):
        sess = get_sessions(str(cal), start, end)
        on = np.flatnonzero(pairs["calendar"].astype(str).to_numpy() == cal)
        for a in pd.unique(asofs[on]):
            sub = on[asofs[on] == a]
            pos, _rule = locate_day0_asof(sess, str(a), inst[sub], donly[sub])
            ok = pos >= 0
            day0[sub[ok]] = sess.dates.to_numpy()[pos[ok]]
    pairs["day0"] = day0
    return pairs[pairs["day0"].notna()].reset_index(drop=True)


def calendar_time_study(study: Study, *, horizon: str = "12m",
                        frequency: str | None = None, weights: str = "equal",
                        model: str | None = None, weight_column: str | None = None,
                        lags: int | None = None, prices: Path | None = None,
                        cache_dir: Path | None = None, offline: bool = False,
                        fetch: Fetch | None = None,
                        today: pd.Timestamp | None = None) -> CalendarTimeResult:
    """:func:`calendar_time` on a study's events, prices and factors.

    Parameters
    ----------
    study
        The parsed study (its events, universe, price source and ``[model]``
        factor settings).
    horizon, weights, lags
        As in :func:`calendar_time`.
    frequency
        None: the study's ``[model] factor_frequency``, else monthly.
    model
        A name of :data:`FACTOR_MODELS` (its built-in set is fetched for the
        study's ``factor_region``) or ``"file"`` (the study's factor file, its
        ``factor_columns`` or every column but ``rf_column``); None: the study's
        built-in set, else ``"file"`` when it has a factor file, else ``ff3``.
    weight_column
        The pair weight column for value weights (None: the study's
        ``[conventions] weights``, else ``market_cap``).
    prices, cache_dir, offline
        A prices file overriding the study's source; the price cache; no network.
    fetch
        Downloads for the French library (tests pass a fake).
    today
        The last date prices may have (default: today, UTC).
    """
    spec = study.model
    freq = frequency or spec.factor_frequency or "monthly"
    name = model or (spec.factor_set or ("file" if spec.factors is not None
                                         else "ff3"))
    if name == "file":
        table = study_factor_table(replace(study, model=replace(spec, factor_set="")),
                                   freq, cache_dir=cache_dir, offline=offline)
        if table is None:
            raise InputError("--model file needs [model] factors = '<factor file>' "
                             "in the study file")
        rf = spec.rf_column or "RF"
        cols = spec.factor_columns or tuple(str(c) for c in table.columns if c != rf)
    elif name in FACTOR_MODELS:
        root = cache_dir if cache_dir is not None else default_cache_dir()
        table = FrenchLibrary(root, fetch).load(
            _SET_OF[name], freq, spec.factor_region, offline=offline)
        rf, cols = "RF", FACTOR_MODELS[name]
    else:
        raise InputError(f"factor model {name!r}: use one of "
                         f"{', '.join(FACTOR_MODELS)} or file")
    events, universe = read_catalog(study)
    pairs = pair_day0(events, universe)
    if pairs.empty:
        raise InputError("no event falls on a session of its securities' calendars")
    if weights == "value":
        column = weight_column or study.conventions.weights or "market_cap"
        pairs["weight"] = pair_weights(pairs, universe, column)
    n, unit = parse_horizon(horizon)
    plan = plan_study(study, events, universe, today=today)
    last = pd.Timestamp(pairs["day0"].max())
    reach = (last + pd.DateOffset(months=n + 1) if unit == "m"
             else last + pd.Timedelta(days=int(n * 1.6) + 10))
    stop = (today or pd.Timestamp.now(tz="UTC").tz_localize(None)).normalize()
    plan = replace(plan, end=min(max(plan.end, reach), stop))
    source = source_for(study, SourceOptions(prices=prices, cache_dir=cache_dir))
    frame = source.load(plan, offline=offline).frame
    keep = [t for t in pd.unique(pairs["ticker"].astype(str)) if t in frame.columns]
    pairs = pairs[pairs["ticker"].astype(str).isin(keep)]
    if pairs.empty:
        raise InputError("no security of the study's events has prices")
    rets = period_returns(frame[keep], freq)
    return calendar_time(rets, pairs[["ticker", "day0", *(
        ["weight"] if "weight" in pairs.columns else [])]], table, horizon=horizon,
        frequency=freq, weights=weights, model=name,
        columns=tuple(cols) if name == "file" else None, rf_column=rf, lags=lags)
