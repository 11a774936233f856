"""Plots of an event study: matplotlib figures drawn from the results' DataFrames.

The numbers come from the results layer (:meth:`EventStudyResults.caar_path`,
:meth:`EventStudyResults.ar_table`); the functions here only draw them
(:func:`draw_caar_paths`, :func:`draw_ar_heatmap`). Figures are built on
:class:`matplotlib.figure.Figure` directly: no ``pyplot``, no global figure state,
never ``plt.show()``. matplotlib is imported inside the functions only, so importing
this module stays light.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eventstudy.errors import InputError
from eventstudy.io.atomic import replace_atomic
from eventstudy.reporting.labels import day, win
from eventstudy.reporting.names import PlotKey, plot_file_stems
from eventstudy.results import MANY_EVENTS, EventStudyResults

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PLOT_DPI = 110
_SVG_SALT = "eventstudy"
_BAND_Z = 1.959963984540054  # two-sided 95% normal quantile


def plot_window(res: EventStudyResults) -> tuple[int, int]:
    """The window the CAAR plots cumulate over: the widest CAR window that holds
    day 0 (the first such in the study's order), else the widest CAR window, else
    the event window.

    The plotted CAAR at the window's end is then the CAAR of that window in
    ``car.csv``, ``tests.csv``, the summary and the report.
    """
    return path_window([(int(a), int(b)) for a, b in res.windows.car],
                       (int(res.windows.event[0]), int(res.windows.event[1])))


def path_window(cars: Sequence[tuple[int, int]], event: tuple[int, int]
                ) -> tuple[int, int]:
    """:func:`plot_window` from the CAR windows and the event window alone (a
    finished run's ``run.json`` gives them to the report)."""
    inside = [w for w in cars if event[0] <= w[0] <= w[1] <= event[1]]
    pool = [w for w in inside if w[0] <= 0 <= w[1]] or inside
    if not pool:
        return event
    return max(pool, key=lambda w: w[1] - w[0])  # the first of the widest


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure  # lazy: matplotlib is heavy

    return Figure(figsize=(width, height), layout="constrained")


def _root_figure(ax: Axes) -> Figure:
    fig = ax.get_figure(root=True)
    if fig is None:  # pragma: no cover - an Axes always belongs to a figure
        raise InputError("the Axes is not attached to a figure")
    return fig


def _style_event_axes(ax: Axes, rel_days: np.ndarray) -> None:
    from matplotlib.ticker import MaxNLocator  # lazy: matplotlib is heavy

    if len(rel_days) and rel_days.min() <= 0 <= rel_days.max():
        ax.axvline(0, color="grey", lw=0.8, ls="--", zorder=1)  # day 0
    ax.axhline(0, color="black", lw=0.5, zorder=1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set_xlabel("trading sessions relative to day 0")
    start = day(int(rel_days[0])) if len(rel_days) else "0"
    ax.set_ylabel(f"CAAR from day {start} (%)")
    ax.grid(True, lw=0.3, alpha=0.5)


def _window_of(res: EventStudyResults, window: tuple[int, int] | None
               ) -> tuple[int, int]:
    return plot_window(res) if window is None else (int(window[0]), int(window[1]))


def plot_car(res: EventStudyResults, event: str | None = None,
             group: str | None = None, ax: Axes | None = None,
             window: tuple[int, int] | None = None) -> Figure:
    """Plot the CAAR path over a CAR window with a 95% band.

    Parameters
    ----------
    res
        Fitted results.
    event, group
        Restrict to one event and/or one group; None pools all pairs.
    ax
        A matplotlib Axes to draw into; a new Figure otherwise.
    window
        The window plotted and cumulated from its first day; default
        :func:`plot_window` (the widest CAR window around day 0), so the last point
        is that window's CAAR in the tables.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the plot (``ax``'s root figure when given). Built on
        :class:`matplotlib.figure.Figure`; never calls ``plt.show()`` and never
        touches pyplot's global figure state.

    Raises
    ------
    InputError
        No kept pair matches ``event``/``group``.

    Notes
    -----
    The line is ``CAAR_t`` in percent cumulated from the window's first day (the
    title names the window, the y axis its first day); the band is
    ``CAAR_t +/- 1.96 sqrt(Var(CAAR_t))`` with the variance of :func:`caar_path`:
    per-pair CAR variances ``sigma_i^2 (d_it + estimation-error term)`` (Campbell,
    Lo & MacKinlay 1997, sec. 4.4; MacKinlay 1997), averaged under
    cross-sectional independence. Day 0 is marked by a dashed line; N, the number
    of pairs, is in the title.

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
    >>> fig = plot_car(res, event="e1")
    >>> type(fig).__name__
    'Figure'

    """
    a, b = _window_of(res, window)
    path = res.caar_path(event, group, (a, b))
    n_pairs = res.pair_count(event, group)
    title = " / ".join(s for s in (event, group) if s) or "all pairs"
    return draw_caar(path, f"{title}: CAAR{win(a, b)} (N = {n_pairs})",
                     n_pairs, ax)


def draw_caar(path: pd.DataFrame, title: str, n_pairs: int,
              ax: Axes | None = None) -> Figure:
    """Draw one CAAR path with its 95% band.

    Parameters
    ----------
    path
        A CAAR path: columns ``rel_day, caar, se`` (decimals), as
        :meth:`EventStudyResults.caar_path` returns.
    title
        The axes' title.
    n_pairs
        N in the legend.
    ax
        A matplotlib Axes to draw into; a new Figure otherwise.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the plot (``ax``'s root figure when given).
    """
    if ax is None:
        fig = _new_figure(6.0, 3.6)
        ax = fig.add_subplot(1, 1, 1)
    else:
        fig = _root_figure(ax)
    x = path["rel_day"].to_numpy()
    caar = 100 * path["caar"].to_numpy()
    half = 100 * _BAND_Z * path["se"].to_numpy()
    ax.fill_between(x, caar - half, caar + half, alpha=0.25, color="tab:blue",
                    lw=0, label="95% band")
    ax.plot(x, caar, color="tab:blue", marker="o", ms=3, lw=1.5,
            label=f"CAAR (N = {n_pairs})")
    _style_event_axes(ax, x)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_event_overview(res: EventStudyResults, event: str,
                        window: tuple[int, int] | None = None) -> Figure:
    """One event's CAAR paths, one line and 95% band per group.

    Parameters
    ----------
    res
        Fitted results.
    event
        Event id.
    window
        As in :func:`plot_car`.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure (never shown).

    Raises
    ------
    InputError
        The event has no kept pair.

    Notes
    -----
    Each group's path and band are those of :func:`plot_car` (see
    :func:`caar_path` for the variance); groups keep their order of appearance.
    """
    n_all = res.pair_count(event, None)
    p = res.pairs_
    groups = list(dict.fromkeys(
        p["group"].astype(str).to_numpy()[(p["event_id"].astype(str)
                                           == str(event)).to_numpy()]))
    a, b = _window_of(res, window)
    lines = [(grp, res.caar_path(event, grp, (a, b)), res.pair_count(event, grp))
             for grp in groups]
    return draw_caar_paths(lines, (a, b), f"{event}: CAAR{win(a, b)} by group "
                           f"with 95% bands (N = {n_all})")


def draw_caar_paths(lines: Sequence[tuple[str, pd.DataFrame, int]],
                    window: tuple[int, int], title: str) -> Figure:
    """Draw several CAAR paths, each with its 95% band, on a new figure.

    Parameters
    ----------
    lines
        ``(label, path, N)`` per line: ``path`` with columns ``rel_day, caar, se``
        (:meth:`EventStudyResults.caar_path`).
    window
        The window drawn (its days label the x axis).
    title
        The axes' title.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure (never shown).
    """
    fig = _new_figure(7.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    _draw_paths(ax, lines, alpha=0.12)
    _style_event_axes(ax, np.arange(window[0], window[1] + 1))
    ax.set_title(title, fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return fig


def _draw_paths(ax: Axes, lines: Sequence[tuple[str, pd.DataFrame, int]],
                alpha: float) -> None:
    """One line with its 95% band per ``(label, caar_path, N)``."""
    for i, (label, path, n) in enumerate(lines):
        col = f"C{i % 10}"
        x = path["rel_day"].to_numpy()
        caar = 100 * path["caar"].to_numpy()
        half = 100 * _BAND_Z * path["se"].to_numpy()
        ax.fill_between(x, caar - half, caar + half, alpha=alpha, color=col, lw=0)
        ax.plot(x, caar, color=col, marker="o", ms=2.5, lw=1.5,
                label=f"{label} (N = {n})")


POOLED_MAX_GROUPS = 8
"""Groups drawn (the ones with most pairs) in :func:`plot_pooled`."""


def plot_pooled(res: EventStudyResults, window: tuple[int, int] | None = None,
                max_groups: int = POOLED_MAX_GROUPS) -> Figure:
    """The pooled CAAR path: all pairs, and each of the largest groups.

    Parameters
    ----------
    res
        Fitted results.
    window
        As in :func:`plot_car`.
    max_groups
        Groups drawn besides all pairs: the ones with the most pairs, in their
        order of appearance.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure (never shown): one line and 95% band for all pairs, one per
        group (paths and bands of :func:`caar_path`, pooled over events).

    Raises
    ------
    InputError
        The study has no kept pair.
    """
    n_all = res.pair_count(None, None)
    grp = res.pairs_["group"].astype(str).to_numpy()
    codes, names = pd.factorize(grp)
    size = np.bincount(codes, minlength=len(names))
    shown = np.sort(np.argsort(-size, kind="stable")[:max(max_groups, 0)])
    a, b = _window_of(res, window)
    n_events = int(res.pairs_["event_id"].nunique())
    lines = [("all pairs", res.caar_path(None, None, (a, b)), n_all)]
    lines += [(f"group {names[g]}", res.caar_path(None, str(names[g]), (a, b)),
               int(size[g])) for g in shown]
    more = (f"; {len(shown)} largest of {len(names)} groups"
            if len(names) > len(shown) else "")
    return draw_caar_paths(lines, (a, b), f"Pooled CAAR{win(a, b)} with 95% bands "
                           f"({n_events} events, N = {n_all}{more})")


def plot_ar_heatmap(res: EventStudyResults, event: str, k: int = 5) -> Figure:
    """Heat table of each security's abnormal returns on days 0..+k of one event.

    Parameters
    ----------
    res
        Fitted results.
    event
        Event id.
    k
        Last day shown (clipped to the event window).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure: one row per security (grouped by group), one column per day,
        cells coloured by AR in percent on a symmetric diverging scale and labelled
        with the value; missing ARs are grey.

    Raises
    ------
    InputError
        The event has no kept pair, or ``k`` < 0.
    """
    if k < 0:
        raise InputError(f"k must be >= 0, not {k}")
    return draw_ar_heatmap(res.ar_table(event, 0, k), event)


def draw_ar_heatmap(table: pd.DataFrame, event: str) -> Figure:
    """Draw a heat table of abnormal returns by security and day.

    Parameters
    ----------
    table
        ``ticker``, ``group`` and one column of ARs (decimals) per day, named by
        the day (:meth:`EventStudyResults.ar_table`); rows are shown grouped by
        group, groups in order of appearance.
    event
        Event id (title).

    Returns
    -------
    matplotlib.figure.Figure
        A new figure (never shown).
    """
    from matplotlib import colormaps  # lazy: matplotlib is heavy
    from matplotlib.colors import TwoSlopeNorm  # lazy: matplotlib is heavy

    days = np.array([c for c in table.columns if c not in ("ticker", "group")],
                    dtype=np.int64)
    grp = table["group"].astype(str).to_numpy()
    gorder = {g: i for i, g in enumerate(dict.fromkeys(grp))}
    order = np.argsort(np.array([gorder[g] for g in grp]), kind="stable")
    vals = 100 * table[list(days)].to_numpy(dtype=np.float64)[order]
    labels = [f"{t} ({g})" for t, g in zip(
        table["ticker"].astype(str).to_numpy()[order], grp[order], strict=True)]
    nrow, ncol = vals.shape
    fig = _new_figure(1.6 + 0.7 * ncol + 0.06 * max(map(len, labels)),
                      1.3 + 0.28 * nrow)
    ax = fig.add_subplot(1, 1, 1)
    finite = vals[np.isfinite(vals)]
    vmax = float(np.max(np.abs(finite))) if finite.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    masked = np.ma.masked_invalid(vals)
    cmap = colormaps["RdBu"].with_extremes(bad="0.85")
    im = ax.imshow(masked, cmap=cmap, norm=TwoSlopeNorm(0.0, -vmax, vmax),
                   aspect="auto", interpolation="nearest")
    ax.set_xticks(np.arange(ncol), [f"{d:+d}" if d else "0" for d in days])
    ax.set_yticks(np.arange(nrow), labels, fontsize=7)
    ax.set_xlabel("trading sessions relative to day 0")
    ax.tick_params(length=0)
    if nrow * ncol <= 600:
        for i in range(nrow):
            for j in range(ncol):
                v = vals[i, j]
                txt = "n/a" if not np.isfinite(v) else f"{v:.1f}"
                txt = "0.0" if txt == "-0.0" else txt
                dark = np.isfinite(v) and abs(v) > 0.6 * vmax
                ax.text(j, i, txt, ha="center", va="center", fontsize=6.5,
                        color="white" if dark else "black")
    gs = grp[order]
    for edge in np.flatnonzero(gs[1:] != gs[:-1]):
        ax.axhline(float(edge) + 0.5, color="black", lw=0.8)
    fig.colorbar(im, ax=ax, label="AR (%)", shrink=0.9)
    ax.set_title(f"{event}: abnormal returns, days {day(int(days[0]))} to "
                 f"{day(int(days[-1]))} (N = {nrow})", fontsize=10)
    return fig


@contextmanager
def _file_rc() -> Iterator[None]:
    """matplotlib defaults plus a fixed SVG hash salt: byte-stable files."""
    import matplotlib  # lazy: matplotlib is heavy
    import matplotlib.style  # lazy: matplotlib is heavy

    with matplotlib.style.context("default"), matplotlib.rc_context(
            {"svg.hashsalt": _SVG_SALT, "svg.fonttype": "path"}):
        yield


def _save_figure(fig: Figure, path: Path, dpi: int = PLOT_DPI) -> None:
    """Save ``fig`` atomically with date-free metadata (PNG or SVG by suffix)."""
    fmt = path.suffix.lstrip(".").lower()
    meta: dict[str, Any] = ({"Date": None} if fmt == "svg" else {"Software": None})

    def write(tmp: Path) -> None:
        with open(tmp, "xb") as fh:
            fig.savefig(fh, format=fmt, dpi=dpi, metadata=meta)

    replace_atomic(path, write)


def study_plot_keys(res: EventStudyResults, k: int = 5,
                    max_events: int = MANY_EVENTS) -> list[PlotKey]:
    """The plots :func:`write_plots` draws, in order: per event (up to
    ``max_events`` events) ``car`` per group, ``overview`` and ``heatmap`` (when
    the event window has a day in ``0..k``); then ``pooled``."""
    p = res.pairs_
    ev = p["event_id"].astype(str).to_numpy()
    events = list(dict.fromkeys(ev))
    keys: list[PlotKey] = []
    if len(events) <= max_events:
        rel = np.asarray(res.rel_days)
        has_day0 = bool(((rel >= 0) & (rel <= k)).any())
        grp = p["group"].astype(str).to_numpy()
        for e in events:
            keys += [("car", e, g) for g in dict.fromkeys(grp[ev == e])]
            keys.append(("overview", e, None))
            if has_day0:
                keys.append(("heatmap", e, None))
    keys.append(("pooled", "", None))
    return keys


def write_plots(res: EventStudyResults, folder: str | Path, k: int = 5,
                max_events: int = MANY_EVENTS) -> list[Path]:
    """Write the plots of a study as PNG and SVG into ``folder``.

    Parameters
    ----------
    res
        Fitted results.
    folder
        Output folder (``OUT/plots`` for the CLI); created if missing.
    k
        Last day of the AR heat tables.
    max_events
        Up to this many events, the per-event plots are drawn; above, only the
        pooled plot (a study of thousands of events gets one figure, not
        thousands).

    Returns
    -------
    list of pathlib.Path
        The files written: per event (up to ``max_events`` events),
        ``car_<event>_<group>.{png,svg}`` for each of its groups, then
        ``overview_<event>.{png,svg}`` and ``heatmap_<event>.{png,svg}`` (no heat
        table when the event window has no day in ``0..k``); last
        ``pooled.{png,svg}`` (:func:`plot_pooled`). Stems come from
        :func:`plot_file_stems`: collision-free even on case-insensitive file
        systems.

    Notes
    -----
    CAAR plots cover :func:`plot_window` and cumulate from its first day. Figures
    are drawn with matplotlib's default style (whatever the user's matplotlibrc),
    a fixed ``svg.hashsalt``, no ``Date`` in SVG and no ``Software`` in PNG
    metadata, so the files are byte-identical across reruns with the same
    matplotlib. Each file is written to a temporary name and moved into place with
    ``os.replace``.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    keys = study_plot_keys(res, k, max_events)
    stems = plot_file_stems(keys)
    window = plot_window(res)
    with _file_rc():
        for key in keys:
            kind, ev, g = key
            make: Callable[[], Figure]
            if kind == "car":
                make = partial(plot_car, res, ev, g, None, window)
            elif kind == "overview":
                make = partial(plot_event_overview, res, ev, window)
            elif kind == "heatmap":
                make = partial(plot_ar_heatmap, res, ev, k)
            else:
                make = partial(plot_pooled, res, window)
            fig = make()
            for ext in ("png", "svg"):
                f = out / f"{stems[key]}.{ext}"
                _save_figure(fig, f)
                written.append(f)
                fig.set_layout_engine("none")  # keep the layout just computed
    return written


VOLATILITY_PLOT = "volatility"
"""The stem of the abnormal-variance plot (``plots/volatility.{png,svg}``)."""


def draw_volatility_path(table: pd.DataFrame, scope: str = "all",
                         value: str = "all") -> Figure:
    """The abnormal variance path: mean of AR^2 / h - 1 per event day (the
    ``vol_savickas`` rows of ``volatility.csv``) with its 95% band (estimate +-
    t(n - 1, 0.975) se).

    Parameters
    ----------
    table
        The volatility table (:meth:`EventStudyResults.volatility`).
    scope, value
        Which rows: the pooled path by default.

    Raises
    ------
    InputError
        The table has no ``vol_savickas`` day rows for that scope value.
    """
    from scipy import stats  # lazy: scipy only for the band

    t = table[(table["test"] == "vol_savickas") & (table["window_kind"] == "day")
              & (table["scope"] == scope)
              & (table["scope_value"].astype(str) == value)]
    if t.empty:
        raise InputError(f"no vol_savickas day rows for scope {scope!r} = {value!r} "
                         "in the volatility table")
    x = t["window_start"].to_numpy(dtype=np.int64)
    est = 100 * t["estimate"].to_numpy(dtype=np.float64)
    n = t["n"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        q = np.where(n >= 2, stats.t.ppf(0.975, np.maximum(n - 1, 1)), np.nan)
    half = 100 * q * t["se"].to_numpy(dtype=np.float64)
    fig = _new_figure(6.0, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    ax.fill_between(x, est - half, est + half, alpha=0.25, color="tab:red", lw=0,
                    label="95% band")
    ax.plot(x, est, color="tab:red", marker="o", ms=3, lw=1.5,
            label=f"mean AR\u00b2/h \u2212 1 (N = {int(n.max()) if len(n) else 0})")
    _style_event_axes(ax, x)
    ax.set_ylabel("abnormal variance (% of expected)")
    ax.set_title(f"Abnormal variance by event day ({value})", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return fig


def write_volatility_plot(table: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Write :func:`draw_volatility_path` of the pooled rows as
    ``volatility.png`` and ``volatility.svg`` into ``folder`` (byte-stable, as
    :func:`write_plots`)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with _file_rc():
        fig = draw_volatility_path(table)
        for ext in ("png", "svg"):
            f = out / f"{VOLATILITY_PLOT}.{ext}"
            _save_figure(fig, f)
            written.append(f)
            fig.set_layout_engine("none")
    return written
