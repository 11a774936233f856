"""Cross-sectional regressions of CARs on pair characteristics (the analysis layer).

:func:`cross_section_table` fits OLS with heteroskedasticity-robust, clustered (by
event, by day-0 date, or both) or HAC standard errors on the tidy ``car`` and
``diagnostics`` tables (of a results object, or the ``car.csv`` and
``diagnostics.csv`` of a run); :func:`check_formula` whitelists the formula grammar.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from eventstudy.errors import InputError

COVS = ("HC3", "HC0", "HC1", "HC2", "cluster_event", "cluster_date", "cluster_2way",
        "hac")
"""Covariance estimators of :func:`cross_section_table` (``cov=``)."""

COV_ALIASES = {"cluster-event": "cluster_event", "cluster-date": "cluster_date",
               "cluster-2way": "cluster_2way", "HAC": "hac"}
"""Other spellings ``cov=`` accepts (the CLI's hyphenated names)."""

_CLUSTER_KEYS = {"cluster_event": ("event_id",), "cluster_date": ("day0",),
                 "cluster_2way": ("event_id", "day0")}


def cross_section_table(car: pd.DataFrame, diagnostics: pd.DataFrame, formula: str,
                        window: tuple[int, int],
                        data: pd.DataFrame | None = None,
                        cov: str = "HC3", hac_lags: int | None = None
                        ) -> pd.DataFrame:
    """OLS of CARs on pair characteristics with robust standard errors, as a table.

    Parameters
    ----------
    car, diagnostics
        The ``car`` and ``diagnostics`` tables (from a results object or from the
        ``car.csv`` and ``diagnostics.csv`` of a run).
    formula
        ``response ~ terms`` naming only columns, e.g. ``"car ~ group + beta"``.
        The grammar is whitelisted (:func:`check_formula`): column names of the
        joined ``car``/``diagnostics`` (and ``data``) tables, numbers, the
        operators ``+ - * : ~ ( )`` and ``C(column)``; anything else (a function
        call, an attribute, a string...) is refused before patsy sees it, so
        nothing in a formula can execute code.
    window
        The CAR window whose CARs are regressed.
    data
        Extra per-pair columns, joined on ``event_id`` and ``ticker``.
    cov
        ``"HC3"`` (default), ``"HC0"``, ``"HC1"``, ``"HC2"``; ``"cluster_event"``
        (clustered by ``event_id``), ``"cluster_date"`` (by the day-0 date,
        ``day0``), ``"cluster_2way"`` (by both); ``"hac"`` (Newey-West over the
        pairs ordered by day 0). The hyphenated spellings (``cluster-event``...)
        are accepted too (:data:`COV_ALIASES`).
    hac_lags
        Lags of ``hac``; None: ``floor(4 (N/100)^(2/9))`` (Newey & West 1994).

    Returns
    -------
    pandas.DataFrame
        ``term, estimate, std_error, t, p_value, ci_low, ci_high, n, cov,
        clusters`` (``clusters``: the number of clusters, the smaller of the two
        for ``cluster_2way``, the HAC lags for ``hac``, empty otherwise).

    Raises
    ------
    InputError
        A formula outside the grammar or naming an unknown column, an unknown
        ``cov``, no CARs for ``window``, no complete row, a singular design (the
        collinear terms are named), an HC2/HC3 fit with an observation of leverage
        1, fewer than 2 clusters, or a two-way variance that is not positive.

    Notes
    -----
    Rows with a missing value in any column the formula names are dropped first,
    so a categorical's levels are those of the rows used: a group whose every
    pair lacks the regressor (the yen has no beta under the constant-mean model)
    gets no all-zero dummy, and ``car ~ group + beta`` keeps a full-rank design
    (intercept plus one treatment dummy per other group).

    * ``HC3`` (MacKinnon & White 1985): V = (X'X)^-1 X' diag(e_i^2 / (1 - h_ii)^2)
      X (X'X)^-1, the usual choice for cross-sections of CARs whose variances
      differ by security; z statistics and normal p-values (statsmodels
      ``cov_type="HC3"``).
    * ``HC0``/``HC1``/``HC2`` (White 1980; MacKinnon & White 1985): the same
      sandwich with e_i^2, e_i^2 N/(N-K) and e_i^2/(1 - h_ii).
    * ``cluster_event`` / ``cluster_date``: the cluster-robust (Liang & Zeger 1986;
      Arellano 1987) V = c (X'X)^-1 (sum_g X_g'e_g e_g'X_g) (X'X)^-1 with
      c = G/(G-1) (N-1)/(N-K), by event (pairs of one announcement share its
      news) or by day-0 date (events on one date share the market's day);
      t statistics with G - 1 degrees of freedom, as Cameron & Miller (2015)
      recommend for few clusters (statsmodels ``cov_type="cluster"``,
      ``use_t=True``).
    * ``cluster_2way`` (Cameron, Gelbach & Miller 2011; Thompson 2011):
      V = V_event + V_date - V_event&date, each one-way V above with its own
      c (G_k clusters), the last clustered by the intersection (event, day 0);
      t statistics with min(G_event, G_date) - 1 degrees of freedom (statsmodels
      ``cov_type="cluster"`` with two group columns).
    * ``hac`` (Newey & West 1987): the pairs ordered by day 0 (then event and
      ticker), V = (X'X)^-1 S (X'X)^-1, S = sum_i e_i^2 x_i x_i' + sum_{l=1}^{L}
      (1 - l/(L+1)) sum_i e_i e_{i-l} (x_i x_{i-l}' + x_{i-l} x_i'), no
      small-sample factor, normal p-values (statsmodels ``cov_type="HAC"``); for
      CARs that overlap in calendar time (Kolari & Pynnonen 2010 discuss the
      dependence it addresses).
    """
    import patsy  # lazy: statsmodels' formula engine, heavy start-up
    import statsmodels.api as sm  # lazy: statsmodels is heavy

    kind = COV_ALIASES.get(cov, cov)
    if kind not in COVS:
        raise InputError(f"cov = {cov!r}: use one of {', '.join(COVS)}")
    c = car[(car["window_start"] == window[0]) & (car["window_end"] == window[1])]
    if c.empty:
        raise InputError(f"no CARs for the window {list(window)}; use one of the "
                         "study's CAR windows")
    d = diagnostics.drop(columns=[x for x in ("group", "day0", "day0_rule")
                                  if x in diagnostics.columns])
    df = c.merge(d, on=["event_id", "ticker"], how="left")
    if data is not None:
        df = df.merge(data, on=["event_id", "ticker"], how="left")
    clean, used = check_formula(formula, [str(x) for x in df.columns])
    keys = _CLUSTER_KEYS.get(kind, ("day0",) if kind == "hac" else ())
    for key in keys:
        if key not in df.columns:
            raise InputError(f"cov = {cov!r} needs the column {key!r} in the CAR "
                             "table")
    df = df.dropna(subset=used).reset_index(drop=True)
    if kind == "hac":  # calendar order: neighbours in day 0 are neighbours in i
        df = df.sort_values(["day0", "event_id", "ticker"],
                            kind="stable").reset_index(drop=True)
    if df.empty:
        raise InputError(f"formula {formula!r}: no pair has every column it names "
                         f"({', '.join(used)}) for the window {list(window)}")
    try:
        y, X = patsy.dmatrices(clean, df, return_type="dataframe",
                               NA_action="raise",
                               eval_env=patsy.EvalEnvironment([{}]))
    except Exception as exc:  # patsy reports bad formulas with many error types
        raise InputError(f"cannot fit {formula!r}: {exc}; the columns are "
                         f"{', '.join(map(str, df.columns))}") from exc
    if y.shape[1] != 1:
        raise InputError(f"formula {formula!r}: the left of '~' must be one numeric "
                         "column, e.g. car or scar")
    xv = X.to_numpy(dtype=np.float64)
    if np.linalg.matrix_rank(xv) < xv.shape[1]:
        kept: list[int] = []
        extra = []
        for j, name in enumerate(X.columns):
            if np.linalg.matrix_rank(xv[:, kept + [j]]) > len(kept):
                kept.append(j)
            else:
                extra.append(str(name))
        raise InputError(
            f"formula {formula!r}: the design is singular ({len(df)} pairs): "
            f"{', '.join(extra)} is a linear combination of the other terms (e.g. "
            "a dummy for every group next to the intercept, or a column that is "
            "constant); drop it, or add '- 1' to drop the intercept")
    model = sm.OLS(y.iloc[:, 0], X)
    clusters = float("nan")
    if kind in _CLUSTER_KEYS:
        codes = np.column_stack([pd.factorize(df[k].astype(str))[0] for k in keys])
        counts = [int(codes[:, j].max() + 1) for j in range(codes.shape[1])]
        clusters = float(min(counts))
        if clusters < 2:
            raise InputError(f"cov = {cov!r}: the {len(df)} pairs fall in "
                             f"{int(clusters)} cluster of "
                             f"{' / '.join(map(repr, keys))}; clustering needs at "
                             "least 2 (use HC3)")
        groups = codes[:, 0] if codes.shape[1] == 1 else codes
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        if not np.all(np.isfinite(fit.bse)) or np.any(np.diag(
                np.asarray(fit.cov_params())) <= 0):
            raise InputError(f"cov = {cov!r}: the two-way variance V_event + V_date "
                             "- V_both is not positive for some term (few "
                             "clusters); use cluster_event or cluster_date")
    elif kind == "hac":
        lags = (int(math.floor(4.0 * (len(df) / 100.0) ** (2.0 / 9.0)))
                if hac_lags is None else int(hac_lags))
        if not 0 <= lags < len(df):
            raise InputError(f"hac_lags = {lags}: use 0 to {len(df) - 1}")
        clusters = float(lags)
        fit = model.fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    else:
        if kind in ("HC2", "HC3"):
            h = np.einsum("ij,ji->i", xv, np.linalg.pinv(xv))
            if np.any(h > 1.0 - 1e-10):
                bad = df.loc[h > 1.0 - 1e-10, ["event_id", "ticker"]]
                raise InputError(
                    f"formula {formula!r}: {kind} is undefined with a pair of "
                    f"leverage 1 (its own term, e.g. a group with a single pair): "
                    f"{', '.join(bad['event_id'] + '/' + bad['ticker'])}; drop "
                    "that term or use cov='cluster_event'")
        fit = model.fit(cov_type=kind)
    ci = fit.conf_int()
    return pd.DataFrame({
        "term": [str(x) for x in fit.params.index],
        "estimate": fit.params.to_numpy(),
        "std_error": fit.bse.to_numpy(),
        "t": fit.tvalues.to_numpy(),
        "p_value": fit.pvalues.to_numpy(),
        "ci_low": ci[0].to_numpy(),
        "ci_high": ci[1].to_numpy(),
        "n": int(fit.nobs),
        "cov": cov,
        "clusters": clusters,
    })


_FORMULA_TOKENS = (r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                   r"|(?P<num>[0-9]+(?:\.[0-9]+)?)|(?P<op>[-+*:~()]))")


def check_formula(formula: str, columns: list[str]) -> tuple[str, list[str]]:
    """Check a cross-section formula against the whitelisted grammar.

    The formula may hold only: names of ``columns``, numbers, the operators
    ``+ - * : ~ ( )`` and ``C(column)``, with exactly one ``~`` between a
    non-empty left and right side and balanced parentheses. Nothing else reaches
    patsy (whose terms are Python expressions, evaluated), so nothing in a formula
    can execute code.

    Returns
    -------
    (formula, columns)
        The formula rebuilt from its tokens (what patsy evaluates) and the columns
        it names, in order of first use.

    Raises
    ------
    InputError
        A character, name or construct outside the grammar.

    Examples
    --------
    >>> check_formula("car ~ C(group) + beta", ["car", "group", "beta"])
    ('car ~ C ( group ) + beta', ['car', 'group', 'beta'])
    >>> check_formula("car ~ __import__('os')", ["car"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eventstudy.errors.InputError: formula "car ~ __import__('os')": ...
    """
    allowed = ("formulas name only columns of car.csv and diagnostics.csv ("
               + ", ".join(columns) + "), numbers, the operators + - * : ~ ( ) "
               "and C(column)")

    def bad(what: str) -> InputError:
        return InputError(f"formula {formula!r}: {what}; {allowed}")

    if not isinstance(formula, str):
        raise bad("not a string")
    if "**" in formula:
        raise bad("'**' is not allowed")
    pat = re.compile(_FORMULA_TOKENS)
    toks: list[tuple[str, str]] = []
    pos = 0
    text = formula.rstrip()
    while pos < len(text):
        m = pat.match(text, pos)
        if m is None:
            raise bad(f"{text[pos:].lstrip()[:1]!r} at character "
                      f"{len(text) - len(text[pos:].lstrip()) + 1} is not allowed")
        kind = str(m.lastgroup)
        toks.append((kind, m.group(kind)))
        pos = m.end()
    used: list[str] = []
    depth = 0
    tilde = 0
    i = 0
    while i < len(toks):
        kind, val = toks[i]
        if kind == "name":
            if val == "C" and "C" not in columns:
                nxt = [v for _, v in toks[i + 1:i + 4]]
                if (len(nxt) < 3 or nxt[0] != "(" or nxt[2] != ")"
                        or toks[i + 2][0] != "name" or toks[i + 2][1] not in columns):
                    raise bad("C(...) takes a single column name, e.g. C(group)")
                val = toks[i + 2][1]
                i += 3
            elif val not in columns:
                raise bad(f"{val!r} is not a column")
            if val not in used:
                used.append(val)
        elif val == "(":
            depth += 1
        elif val == ")":
            depth -= 1
            if depth < 0:
                raise bad("a ')' closes no '('")
        elif val == "~":
            tilde += 1
            if depth:
                raise bad("'~' inside parentheses")
        i += 1
    if depth:
        raise bad("a '(' is not closed")
    sides = " ".join(v for _, v in toks).split("~")
    if tilde != 1 or not sides[0].strip() or not sides[1].strip():
        raise bad("write one response, '~' and the terms, e.g. car ~ group + beta")
    return " ".join(v for _, v in toks), used
