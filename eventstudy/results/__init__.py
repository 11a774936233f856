"""Frozen results of an event study (the results layer).

:class:`EventStudyResults` (``core``) holds the arrays and gives the tidy tables and
``save(dir)``; :mod:`.summary` formats the CAAR summary table; :mod:`.paths` computes
the CAAR paths and AR tables that plots and reports draw. The CSV writer lives in
:mod:`eventstudy.io.csv`, cross-section regressions in :mod:`eventstudy.analysis`.

Output files (``EventStudyResults.save``), all UTF-8 CSV with ``\\n`` line ends,
stable row order and no timestamps inside tables:

``abnormal_returns.csv``
    event_id, ticker, group, rel_day, date, return, normal_return, abnormal_return,
    sar, day0, day0_rule
``car.csv``
    event_id, ticker, group, window_start, window_end, car, car_se, scar, n_days,
    day0, day0_rule
``tests.csv``
    scope, scope_value, window_start, window_end, window_kind, test, statistic,
    p_value, n, mean,
    p_bh (+ rbar, ci_low, ci_high, w_plus where a test reports them)
``excluded.csv``
    event_id, ticker, reason
``diagnostics.csv``
    event_id, ticker, group, calendar, model, day0, day0_rule, n_est, n_masked,
    alpha, beta, sigma, r2, zero_share, resid_ac1, confounded_by, quote
``summary.md``
    CAAR per event x group and CAR window with significance stars
``run.json``
    versions, every setting of the study, input SHA-256, counts, warnings, and the
    SHA-256 of every other file of the set (:mod:`eventstudy.io.outputset`)
"""

from eventstudy.analysis.cross_section import COVS, check_formula, cross_section_table
from eventstudy.io.csv import FLOAT_FORMAT, write_csv
from eventstudy.results.core import EventStudyResults
from eventstudy.results.summary import MANY_EVENTS, Summary, stars

__all__ = [
    "COVS",
    "FLOAT_FORMAT",
    "MANY_EVENTS",
    "EventStudyResults",
    "Summary",
    "check_formula",
    "cross_section_table",
    "stars",
    "write_csv",
]
