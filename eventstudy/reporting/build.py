"""``eventstudy report OUT_DIR``: a report from a finished run's output files."""

from __future__ import annotations

from pathlib import Path

from eventstudy.errors import InputError
from eventstudy.io.atomic import write_text_atomic
from eventstudy.reporting.documents import load_run
from eventstudy.reporting.formats import FORMATS

REPORT_FILES: dict[str, str] = {name: f.filename for name, f in FORMATS.items()}
"""Format name -> the report's file name (from the registry)."""


def build_report(out_dir: str | Path, fmt: str = "html") -> Path:
    """Build a report from a finished run's output files in ``out_dir``.

    Parameters
    ----------
    out_dir
        The ``--out`` folder of ``eventstudy run``. Only its files are read:
        ``run.json``, ``tests.csv``, ``car.csv``, ``excluded.csv``,
        ``diagnostics.csv`` and, when present, ``plots/``.
    fmt
        A name of :data:`~eventstudy.reporting.formats.FORMATS`. ``"html"``: one
        self-contained ``report.html`` (inline CSS, plots embedded
        as base64 ``data:`` URIs, no external URL, no script). ``"md"``:
        ``report.md`` (links to ``plots/*.png``). ``"latex"``: ``report.tex``, an
        article with booktabs tables.

    Returns
    -------
    pathlib.Path
        The report written, inside ``out_dir``.

    Raises
    ------
    InputError
        ``out_dir`` is not a finished run (a file is missing or unreadable), or
        ``fmt`` is unknown.

    Notes
    -----
    Sections: study parameters; data sources (paths and SHA-256); a summary table
    (event x group, CAAR per CAR window with the first test's stars); pooled
    results (all pairs, each group); per event (``id="event-<event_id>"``), a table
    of its groups x CAR windows with N, CAAR and every selected test (statistic,
    stars, p-value), its plots and its pairs' diagnostics; excluded pairs with
    reasons; data-quality warnings; run metadata. The output has no timestamp and
    is byte-identical for identical run files. It is written to a temporary file
    and moved into place with ``os.replace``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from eventstudy import EventStudy
    >>> rng = np.random.default_rng(0)
    >>> d = pd.bdate_range("2022-01-03", periods=300)
    >>> m = rng.normal(0, 0.01, 300)
    >>> r = pd.DataFrame({"A": m + rng.normal(0, 0.01, 300), "M": m}, index=d)
    >>> ev = pd.DataFrame({"event_id": ["e1"], "timestamp": ["2023-01-05"],
    ...                    "ticker": ["A"]})
    >>> res = EventStudy(r, ev, kind="returns", calendar="FX", benchmark="M").fit()
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> _ = res.save(out)
    >>> build_report(out, "md").name
    'report.md'
    """
    form = FORMATS.get(fmt)
    if form is None:
        raise InputError(f"unknown report format {fmt!r}; choose from "
                         f"{', '.join(FORMATS)}")
    run = load_run(out_dir)
    target = run.folder / form.filename
    write_text_atomic(target, form.render(run))
    return target
