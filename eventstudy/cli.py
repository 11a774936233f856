"""The ``eventstudy`` command line: a thin layer over the library.

Only click is imported at module level, so ``eventstudy --help`` starts instantly;
pandas, numpy, yfinance and statsmodels are imported inside the commands. Every
:class:`~eventstudy.errors.EventStudyError` becomes a one-paragraph message on stderr
and exit code 2, with no traceback. Options can also be set through environment
variables with the ``EVENTSTUDY_`` prefix (e.g. ``EVENTSTUDY_CACHE_DIR``).
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from eventstudy.errors import EventStudyError
from eventstudy.io.tables import TABLE_FORMATS  # light: the table formats registry
from eventstudy.reporting.formats import FORMATS  # light: the format registry

MODEL_HELP = ("a name registered in eventstudy.estimation.models.MODELS: market, "
              "constant_mean, market_adjusted, scholes_williams, dimson, factor or a "
              "plug-in (an unknown name exits 2 listing them all)")
"""Help for --model: the registry is checked when the command runs, so that --help
stays instant (importing the models imports numpy)."""


class UserError(click.ClickException):
    """A clean error for the user: message, exit code 2."""

    exit_code = 2


class EventStudyGroup(click.Group):
    """A click group that maps eventstudy errors to exit code 2 without a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EventStudyError as exc:
            raise UserError(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted; outputs already in place were left untouched",
                       err=True)
            raise SystemExit(130) from None


def _progress(enabled: bool) -> tuple[Callable[[str], None], Callable[[], None]]:
    """A tqdm bar over the pipeline's stages (stderr; hidden when not a terminal)."""
    if not enabled:
        return (lambda _s: None), (lambda: None)
    from tqdm import tqdm  # lazy: start-up

    bar = tqdm(total=6, desc="eventstudy", unit="stage", file=sys.stderr,
               disable=None, leave=False)
    seen: list[str] = []

    def step(name: str) -> None:
        if seen:
            bar.update(1)
        seen.append(name)
        bar.set_description(name)

    def done() -> None:
        bar.update(bar.total - bar.n)
        bar.close()

    return step, done


@click.group(cls=EventStudyGroup,
             context_settings={"auto_envvar_prefix": "EVENTSTUDY",
                               "help_option_names": ["-h", "--help"]})
@click.version_option(package_name="eventstudy")
def cli() -> None:
    """Market-impact event studies from the command line.

    \b
    Typical use:
      eventstudy events validate events/japan_us_investment.csv
      eventstudy run events/japan_us_investment.toml --prices prices.csv --out out/
      eventstudy report out/

    Environment variables use the EVENTSTUDY_ prefix (EVENTSTUDY_CACHE_DIR, ...).
    """


# --------------------------------------------------------------------------- run
@cli.command()
@click.argument("study_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--prices", "prices_path",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Prices file (CSV or Parquet; long date,ticker,close or wide). "
                   "Without it, prices come from the local Yahoo cache.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("out"), show_default=True, help="Output folder.")
@click.option("--model", help=f"Override the study file's model: {MODEL_HELP}.")
@click.option("--tests", "tests_opt", help="Comma-separated tests, overriding the "
              "study file (e.g. csect_t,patell,bmp).")
@click.option("--offline", is_flag=True, help="Never touch the network; fail (exit 2) "
              "when cached data is missing.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="EVENTSTUDY_CACHE_DIR",
              help="Price cache folder (default: the user cache dir).")
@click.option("--plots", is_flag=True, help="Also write CAR plots to OUT/plots/.")
@click.option("--scheduler", help="Where the engine runs: local (default), dask (a "
              "LocalCluster on this machine) or tcp://host:port (an existing Dask "
              "cluster); needs pip install \"eventstudy[dask]\" for Dask.")
@click.option("--workers", type=click.IntRange(min=0),
              help="Threads (local) or Dask workers; 0 = automatic.")
@click.option("--source", metavar="NAME",  # checked by inputs.sources.SOURCES
              help="Where prices come from, overriding the study file's [data] "
                   "source: file (its prices file) or yahoo (the local Yahoo cache, "
                   "updated first unless --offline).")
@click.option("--wait", "wait_seconds", type=float, default=None,
              help="Seconds to wait for another run or refresh writing the same "
                   "--out (default: as long as it takes).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@click.option("--format", "table_fmt", type=click.Choice(list(TABLE_FORMATS)),
              help="Format of the tables, overriding the study file's [output] "
                   "format: csv (default; text) or parquet (typed, compressed, "
                   "faster; docs/benchmark.md says when to choose which).")
@click.option("--timings", "timings_path",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Also write when each stage started (Unix seconds) as JSON to "
                   "this file (what eventstudy bench --cli reads).")
def run(study_file: Path, prices_path: Path | None, out_dir: Path, model: str | None,
        tests_opt: str | None, offline: bool, cache_dir: Path | None, plots: bool,
        scheduler: str | None, workers: int | None, source: str | None,
        wait_seconds: float | None, quiet: bool, table_fmt: str | None,
        timings_path: Path | None) -> None:
    """Run the study in STUDY_FILE (TOML) and write its outputs to --out.

    Writes abnormal_returns.csv, car.csv, tests.csv, excluded.csv, diagnostics.csv,
    events.csv, summary.md and run.json (with --plots, plots/ too) as one set: it is
    staged beside --out and swapped in whole, so --out always holds one complete
    run. Then prints a compact summary.
    """
    import time  # lazy: start-up (light)

    marks: list[tuple[str, float]] = [("imports", time.time())]
    from eventstudy.workflows import (
        run_study,  # lazy: start-up
    )

    marks.append(("load", time.time()))
    step, done = _progress(not quiet)

    def stage(name: str) -> None:
        marks.append((name, time.time()))
        step(name)

    res, info = run_study(study_file, prices=prices_path, out_dir=out_dir,
                          model=model, tests=_split(tests_opt), offline=offline,
                          cache_dir=cache_dir, plots=plots,
                          progress=None if quiet and timings_path is None else stage,
                          scheduler=scheduler, workers=workers, source=source,
                          wait=wait_seconds, fmt=table_fmt)
    done()
    marks.append(("summary", time.time()))
    if not quiet:
        _print_summary(out_dir, info)
    if timings_path is not None:
        import json  # lazy: start-up (light)

        marks.append(("end", time.time()))
        timings_path.write_text(json.dumps({"marks": marks}) + "\n",
                                encoding="utf-8")


def _split(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _print_summary(out_dir: Path, info: dict[str, Any]) -> None:
    text = info["summary"].as_text().splitlines()  # run_study computed it
    limit = 40
    if len(text) > limit + 6:
        shown = text[: limit + 2] + [f"... {len(text) - limit - 6} more rows in "
                                     f"{out_dir / 'summary.md'}"] + text[-4:]
    else:
        shown = text
    click.echo("\n".join(shown))
    for w in info.get("warnings", [])[:10]:
        click.echo(f"warning: {w}", err=True)
    if len(info.get("warnings", [])) > 10:
        click.echo(f"warning: ... {len(info['warnings']) - 10} more in run.json",
                   err=True)
    click.echo(f"wrote {len(info.get('files', []))} files to {out_dir}")


# --------------------------------------------------------------------------- events
@cli.group()
def events() -> None:
    """Event catalogs: extract candidates, validate, show day 0."""


@events.command("extract")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Candidates CSV to write.")
@click.option("--keywords", type=click.Path(exists=True, dir_okay=False,
                                            path_type=Path),
              help="Entity keyword TOML (default: the built-in list, the same as "
                   "events/keywords.toml).")
def events_extract(paths: Sequence[Path], output: Path, keywords: Path | None) -> None:
    """Extract candidate amounts, dates and parties from documents in PATHS.

    Deterministic and offline: running it twice gives byte-identical output.
    """
    from eventstudy.inputs.extract import (  # lazy: start-up
        extract_candidates,
        load_keywords,
        write_candidates,
    )

    df = extract_candidates(list(paths), load_keywords(keywords))
    write_candidates(df, output)
    counts = df["kind"].value_counts().reindex(["amount", "date", "party"]).fillna(0)
    click.echo(f"wrote {len(df)} candidates to {output} "
               f"({int(counts['amount'])} amounts, {int(counts['date'])} dates, "
               f"{int(counts['party'])} parties)")


@events.command("validate")
@click.argument("catalog", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--universe", type=click.Path(dir_okay=False, path_type=Path),
              help="Universe CSV for the group check (default: universe.csv beside "
                   "the catalog, if present).")
@click.option("--seeds", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of source documents (default: seeds/ beside events/).")
@click.option("--confounders", type=click.Path(dir_okay=False, path_type=Path),
              help="Also check this confounders CSV (ids, timestamps, scopes against "
                   "the universe, kinds, sources).")
def events_validate(catalog: Path, universe: Path | None, seeds: Path | None,
                    confounders: Path | None = None) -> None:
    """Check CATALOG: quotes verbatim in their seed, timestamps, ids, groups.

    With --confounders, also the confounders file. Exits 2 and lists every
    problem with its file and line number.
    """
    from eventstudy.estimation.models import MODELS  # lazy: start-up
    from eventstudy.inputs.events import (  # lazy: start-up
        load_universe,
        validate_catalog,
    )

    if not catalog.is_file():
        raise UserError(f"{catalog}: catalog not found")
    uni = universe or catalog.parent / "universe.csv"
    groups = (set(load_universe(uni, models=tuple(MODELS))["group"])
              if uni.is_file() else None)
    problems = validate_catalog(catalog, seeds, groups)
    report = [f"{catalog}: {len(problems)} problem(s)"] if problems else []
    report += [f"  - {p}" for p in problems]
    if confounders is not None:
        from eventstudy.errors import CatalogError  # lazy: start-up
        from eventstudy.inputs.confounders import (  # lazy: start-up
            scope_names,
            validate_confounders,
        )
        from eventstudy.inputs.events import load_events  # lazy: start-up

        try:
            events = load_events(catalog)
        except CatalogError:  # its problems are listed above
            events = None
        table = load_universe(uni, models=tuple(MODELS)) if uni.is_file() else None
        bad = validate_confounders(confounders, scope_names(table, events), events)
        report += ([f"{confounders}: {len(bad)} problem(s)"] if bad else [])
        report += [f"  - {p}" for p in bad]
    if report:
        raise UserError("\n".join(report))
    click.echo(f"{catalog}: OK")
    if confounders is not None:
        click.echo(f"{confounders}: OK")


@events.command("days")
@click.argument("catalog", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--universe", type=click.Path(dir_okay=False, path_type=Path),
              help="Universe CSV; its calendars and XNYS are shown (default: XTKS, "
                   "XKRX, XNYS, FX).")
@click.option("--calendar", "calendars", multiple=True,
              help="Calendars to show (repeatable); overrides the universe's.")
def events_days(catalog: Path, universe: Path | None,
                calendars: tuple[str, ...]) -> None:
    """Print day 0 of every event on every calendar, with the rule that chose it."""
    from eventstudy.inputs.calendar import (
        align_events,  # lazy: start-up
    )
    from eventstudy.inputs.events import (  # lazy: start-up
        load_events,
        load_universe,
    )

    ev = load_events(catalog)
    cals = list(calendars)
    if not cals and universe is not None:
        # the universe's calendars, plus New York, where most announcements land
        cals = list(dict.fromkeys(list(load_universe(universe)["calendar"])
                                  + ["XNYS"]))
    if not cals:
        cals = ["XTKS", "XKRX", "XNYS", "FX"]
    table = align_events(ev, cals)
    click.echo(table.to_string(index=False))


@events.command("confounders")
@click.argument("study_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Confounders CSV to write, or to merge into when it exists: its "
                   "hand-written rows are kept, rows whose id starts with YF_ are "
                   "replaced (default: the study's [confounding] file, else "
                   "confounders.csv beside the study file).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="EVENTSTUDY_CACHE_DIR",
              help="Price cache folder, where the raw answers are kept (default: "
                   "the user cache dir).")
@click.option("--offline", is_flag=True, help="Use only the answers already in the "
              "cache; exit 2 naming the tickers that have none.")
@click.option("--since", metavar="DATE", help="Leave out dates before DATE "
              "(YYYY-MM-DD; default: the first day of the study's price range).")
def events_confounders(study_file: Path, out_path: Path | None,
                       cache_dir: Path | None, offline: bool,
                       since: str | None) -> None:
    """Earnings dates and corporate actions of STUDY_FILE's securities, from Yahoo.

    For every security of the study (indices and currency pairs are skipped, and
    listed), fetches its earnings dates and corporate actions (dividends, splits,
    capital gains) through yfinance, keeps the raw answers in the price cache and
    writes them as confounders in the format of [confounding] file: ids such as
    YF_EARN_7203.T_2026-02-06 (YF_DIV_, YF_SPLIT_, YF_CAPG_), scope the ticker.

    \b
    Exit codes: 0 ok, 1 some tickers failed (the others were written; their
    earlier YF_ rows are kept), 2 error (e.g. "cannot reach Yahoo", or --offline
    without cached answers).
    """
    import pandas as pd  # lazy: start-up
    from tqdm import tqdm  # lazy: start-up

    from eventstudy.inputs.sources import (  # lazy: start-up
        plan_study,
        read_catalog,
    )
    from eventstudy.inputs.sources.cache import (
        default_cache_dir,  # lazy: start-up
    )
    from eventstudy.inputs.sources.yahoo_events import (  # lazy: start-up
        fetch_confounders,
        merge_confounders,
        write_confounders,
    )
    from eventstudy.workflows import (
        prepare_study,  # lazy: start-up
    )

    st = prepare_study(study_file)
    events, uni = read_catalog(st)
    plan = plan_study(st, events, uni)
    first = plan.start
    if since is not None:
        try:
            first = pd.Timestamp(since)
            bad = (pd.isna(first) or first != first.normalize()
                   or first.tzinfo is not None)
        except (ValueError, TypeError):
            bad = True
        if bad:
            raise UserError(f"--since {since!r}: write a date as YYYY-MM-DD")
    root = cache_dir or default_cache_dir()
    base = st.path.parent if st.path is not None else Path.cwd()
    out = out_path or getattr(st, "confounders", None) or base / "confounders.csv"
    info: dict[str, dict[str, str]] = {"name": {}, "currency": {}}
    if uni is not None:
        for column in ("name", "currency"):
            if column in uni.columns:
                info[column] = dict(zip(uni["ticker"].astype(str),
                                        uni[column].astype(str), strict=True))
    with tqdm(total=len(plan.tickers), desc="confounders", unit="ticker",
              file=sys.stderr, disable=None, leave=False) as bar:
        got = fetch_confounders(plan.tickers, root, names=info["name"],
                                currencies=info["currency"],
                                calendars=plan.calendars, offline=offline,
                                since=first, progress=lambda _t: bar.update(1))
    if got.skipped:
        click.echo("skipped (no earnings or corporate actions): " + ", ".join(
            f"{t} ({why})" for t, why in got.skipped.items()))
    text, counts = merge_confounders(Path(out), got.rows, tuple(got.failed))
    write_confounders(Path(out), text)
    asked = len(got.downloaded) + len(got.cached)
    how = (f"downloaded, cache {root}" if not offline
           else f"from the cache {root}")
    click.echo(f"{asked} ticker(s) since {first:%Y-%m-%d}: "
               f"{got.counts.get('earnings', 0)} earnings date(s), "
               f"{got.counts.get('corporate_action', 0)} corporate action(s) ({how})")
    click.echo(f"wrote {out}: {counts['added']} YF_ row(s) ({counts['replaced']} "
               f"replaced), {counts['kept']} hand-written row(s) kept")
    if got.failed:
        for t, why in got.failed.items():
            click.echo(f"failed: {t}: {why} (its earlier YF_ rows are kept)",
                       err=True)
        raise SystemExit(1)


# --------------------------------------------------------------------------- prices
CACHE_DIR_OPTION = click.option(
    "--cache-dir", type=click.Path(file_okay=False, path_type=Path),
    envvar="EVENTSTUDY_CACHE_DIR",
    help="Price cache folder (default: the user cache dir).")


# ------------------------------------------------------------- placebo, robustness
@cli.command()
@click.argument("study_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--draws", type=click.IntRange(min=1), required=True,
              help="Pseudo dates per event (e.g. 999).")
@click.option("--seed", type=click.IntRange(min=0),
              help="Seed of the draws (default: the study's [tests] seed).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Output folder: placebo.csv, placebo_dates.csv, "
              "run.json (one set, swapped in whole).")
def placebo(study_file: Path, draws: int, seed: int | None, out_dir: Path) -> None:
    """Placebo dates: the study rerun on --draws random dates per event.

    Each draw gives every event one pseudo date for all its securities together
    (the cross-sectional clustering is kept), away from the catalog's events and
    with complete windows. For each event x group and CAR window, placebo.csv
    gives the observed CAAR, the placebo mean and sd, and the empirical two-sided
    p = (1 + #{|CAAR placebo| >= |CAAR observed|}) / (draws used + 1).
    """
    from tqdm import tqdm  # lazy: start-up

    from eventstudy.robustness.placebo import (
        run_placebo,  # lazy: start-up
    )

    with tqdm(total=draws, desc="placebo", unit="draw", file=sys.stderr,
              disable=None, leave=False) as bar:
        result, files = run_placebo(
            study_file, out_dir, draws=draws, seed=seed,
            progress=lambda done, _total: bar.update(done - bar.n))
    t = result.table
    first = t[(t["window_start"] == t["window_start"].iloc[0])
              & (t["window_end"] == t["window_end"].iloc[0])]
    a, b = int(first["window_start"].iloc[0]), int(first["window_end"].iloc[0])
    show = first.assign(**{f"CAAR[{a},{b}] %": (100 * first["caar"]).round(2),
                           "placebo sd %": (100 * first["placebo_sd"]).round(2),
                           "p placebo": first["p_placebo"].round(4)})
    click.echo(show[["event_id", "group", "n", f"CAAR[{a},{b}] %", "placebo sd %",
                     "p placebo", "draws_used"]].to_string(index=False))
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"wrote {len(files)} files to {out_dir}")


@cli.command()
@click.argument("study_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Output folder: robustness.csv, robustness.md, "
              "run.json (one set, swapped in whole).")
@click.option("--models", "models_opt", default="market,market_adjusted,"
              "constant_mean,dimson", show_default=True,
              help=f"Comma-separated models: {MODEL_HELP}.")
@click.option("--estimation", "estimation_opt", default="120,250",
              show_default=True, help="Comma-separated estimation-window lengths "
              "(sessions), each ending where the study's window ends.")
@click.option("--mask", type=click.Choice(["both", "on", "off"]), default="both",
              show_default=True, help="Estimation windows masked ([confounding] "
              "mask_estimation), unmasked, or both.")
def robustness(study_file: Path, out_dir: Path, models_opt: str,
               estimation_opt: str, mask: str) -> None:
    """Robustness grid: the study under several models, estimation windows and
    masks.

    robustness.csv has one row per specification x event x group x CAR window
    with the CAAR, the number of pairs, the p-value the summary stars with
    (bmp_kp where the pairs share a day 0) and 'survives' (the base CAAR's sign
    and p < 0.05); robustness.md shows it one CAR window at a time.
    """
    from tqdm import tqdm  # lazy: start-up

    from eventstudy.robustness.grid import (
        run_robustness,  # lazy: start-up
    )

    try:
        lengths = tuple(int(x) for x in estimation_opt.split(",") if x.strip())
    except ValueError:
        raise UserError(f"--estimation {estimation_opt!r}: give whole numbers of "
                        "sessions, e.g. 120,250") from None
    with tqdm(desc="robustness", unit="spec", file=sys.stderr, disable=None,
              leave=False) as bar:
        def tick(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result, files = run_robustness(study_file, out_dir,
                                       models=_split(models_opt) or (),
                                       estimation=lengths, mask=mask,
                                       progress=tick)
    a, b = (int(result.table["window_start"].iloc[0]),
            int(result.table["window_end"].iloc[0]))
    click.echo(f"CAR[{a},{b}]; all windows in {out_dir / 'robustness.md'}")
    click.echo(result.wide((a, b)).to_string(index=False))
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"wrote {len(files)} files to {out_dir}")


@cli.group()
def prices() -> None:
    """The local price cache: fetch from Yahoo, show, check data quality."""


@prices.command("fetch")
@click.argument("study_file", type=click.Path(dir_okay=False, path_type=Path))
@CACHE_DIR_OPTION
@click.option("--full", is_flag=True, help="Download every ticker's whole range again.")
def prices_fetch(study_file: Path, cache_dir: Path | None, full: bool) -> None:
    """Fetch every price STUDY_FILE needs into the cache (only what is missing).

    Answers are checked against each ticker's calendar: sessions Yahoo left out are
    listed as gaps and asked for again by the next fetch (at most 3 more times).
    Exit code 1 when some tickers failed (the others are cached), 2 on error
    (including "cannot reach Yahoo" when nothing at all could be fetched).
    """
    from tqdm import tqdm  # lazy: tqdm at start-up

    from eventstudy.inputs.sources import (  # lazy: start-up
        CACHE_SOURCE,
        SourceOptions,
        plan_study,
        read_catalog,
        source_for,
    )
    from eventstudy.inputs.sources.cache import (
        default_cache_dir,  # lazy: start-up
    )
    from eventstudy.workflows import (
        prepare_study,  # lazy: start-up
    )

    st = prepare_study(study_file, source=CACHE_SOURCE)
    root = cache_dir or default_cache_dir()
    plan = plan_study(st, *read_catalog(st))
    source = source_for(st, SourceOptions(cache_dir=root))
    tickers, start, end = plan.tickers, plan.start, plan.end
    with tqdm(total=len(tickers), desc="fetch", unit="ticker", file=sys.stderr,
              disable=None) as bar:
        rep = source.fetch(plan, full=full, progress=lambda _t: bar.update(1))
    click.echo(f"{len(tickers)} tickers, {start:%Y-%m-%d}..{end:%Y-%m-%d}: "
               f"{rep.rows_added} rows added, {rep.provider_calls} download(s), "
               f"cache {root}")
    for r in rep.results:
        if r.healed:
            click.echo(f"healed: {r.ticker}: {r.healed} gap(s) filled")
        for gap in r.gaps:
            if start <= gap.date <= end:
                click.echo(f"gap: {r.ticker}: {gap.describe()}")
    if rep.failed:
        for t, why in rep.failed.items():
            click.echo(f"failed: {t}: {why}", err=True)
        raise SystemExit(1)


@prices.command("show")
@click.argument("ticker")
@CACHE_DIR_OPTION
@click.option("--tail", type=int, default=10, show_default=True,
              help="Rows to show from the end.")
def prices_show(ticker: str, cache_dir: Path | None, tail: int) -> None:
    """Show what the cache holds for TICKER."""
    from eventstudy.inputs.sources.cache import (  # lazy: start-up
        PriceCache,
        default_cache_dir,
    )

    cache = PriceCache(cache_dir or default_cache_dir())
    info = cache.info(ticker)
    df = cache.read(ticker)
    if info is None or df is None:
        raise UserError(f"{ticker}: not in the cache {cache.root}; run "
                        "'eventstudy prices fetch STUDY.toml'")
    click.echo(f"{ticker}: {info.rows} rows, "
               f"{info.first:%Y-%m-%d}..{info.last:%Y-%m-%d}, "
               f"fetched {info.fetched_at}, file {info.path}")
    click.echo(f"vouched for {info.start:%Y-%m-%d}..{info.end:%Y-%m-%d}, calendar "
               f"{info.calendar or 'unknown (weekdays)'}; "
               f"{len(info.gaps) or 'no'} gap(s)")
    for gap in info.gaps:
        click.echo(f"gap: {gap.describe()}")
    click.echo(df.tail(tail).to_string(index=False))


@prices.command("check")
@click.argument("study_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--prices", "prices_path",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Check this prices file instead of the cache.")
@CACHE_DIR_OPTION
@click.option("--extreme", type=float, default=0.25, show_default=True,
              help="Flag |simple return| above this.")
def prices_check(study_file: Path, prices_path: Path | None, cache_dir: Path | None,
                 extreme: float) -> None:
    """Data-quality report per ticker of STUDY_FILE's universe.

    Missing sessions, stale runs, zero or negative prices, extreme one-day moves
    (described, to check for a corporate action or news) and Yahoo's start-of-day
    FX closes; from the cache, also its gaps (sessions Yahoo left out inside a
    fetched range).
    """
    from eventstudy.inputs.quality import (
        check_study_prices,  # lazy: start-up
    )
    from eventstudy.inputs.sources import (  # lazy: start-up
        SourceOptions,
        plan_study,
        read_catalog,
        source_for,
    )
    from eventstudy.workflows import (
        prepare_study,  # lazy: start-up
    )

    st = prepare_study(study_file)
    events, uni = read_catalog(st)
    plan = plan_study(st, events, uni)
    source = source_for(st, SourceOptions(prices=prices_path, cache_dir=cache_dir))
    frame = source.load(plan, offline=True).frame
    keep = [t for t in plan.tickers if t in frame.columns]
    findings = check_study_prices(frame[keep], uni, extreme=extreme)
    held = source.gaps(plan)
    gaps = [(t, gap) for t in keep for gap in held.get(t, ())]
    if findings.empty:
        click.echo("no findings")
    else:
        import pandas as pd  # lazy: start-up

        with pd.option_context("display.max_colwidth", 120, "display.width", 200):
            click.echo(findings.to_string(index=False))
        click.echo(f"{len(findings)} finding(s) in {findings['ticker'].nunique()} "
                   "ticker(s)")
    if gaps:
        click.echo(f"{len(gaps)} gap(s) in the cache (sessions Yahoo left out inside "
                   "a fetched range):")
        for t, gap in gaps:
            click.echo(f"  {t}: {gap.describe()}")


# --------------------------------------------------------------------------- factors
@cli.group()
def factors() -> None:
    """Fama-French and Carhart factors from Kenneth French's data library."""


@factors.command("fetch")
@click.argument("study_file", type=click.Path(dir_okay=False, path_type=Path))
@CACHE_DIR_OPTION
@click.option("--frequency", "frequencies", multiple=True,
              type=click.Choice(["daily", "monthly"]),
              help="Which files (repeatable; default: the study's factor_frequency, "
                   "else daily and monthly).")
@click.option("--refresh", is_flag=True, help="Download the files again even when "
                                              "cached (the library updates monthly).")
def factors_fetch(study_file: Path, cache_dir: Path | None,
                  frequencies: tuple[str, ...], refresh: bool) -> None:
    """Fetch the factor set of STUDY_FILE's [model] factors into the cache.

    [model] factors = "ff3" | "ff5" | "carhart" with factor_region = "us" | "japan"
    | "asia_pacific_ex_japan". Afterwards 'eventstudy run --offline' and
    'eventstudy calendar-time --offline' use the cached files.
    """
    from eventstudy.inputs.sources.cache import (
        default_cache_dir,  # lazy: start-up
    )
    from eventstudy.inputs.sources.french import (  # lazy: start-up
        FrenchLibrary,
        dataset_names,
    )
    from eventstudy.workflows import (
        prepare_study,  # lazy: start-up
    )

    st = prepare_study(study_file)
    spec = st.model
    if not spec.factor_set:
        raise UserError(f"{study_file}: [model] factors is not a built-in set; set "
                        "factors = \"ff3\", \"ff5\" or \"carhart\"")
    freqs = frequencies or ((spec.factor_frequency,) if spec.factor_frequency
                            else ("daily", "monthly"))
    library = FrenchLibrary(cache_dir or default_cache_dir())
    for freq in freqs:
        names = dataset_names(spec.factor_set, freq, spec.factor_region)
        done = library.fetch(names, refresh=refresh)
        table = library.load(spec.factor_set, freq, spec.factor_region,
                             offline=True)
        click.echo(f"{spec.factor_set} {spec.factor_region} {freq}: "
                   f"{', '.join(names)} ({len(done)} downloaded); {len(table)} "
                   f"rows {table.index[0]:%Y-%m-%d}..{table.index[-1]:%Y-%m-%d}; "
                   f"cache {library.folder}")


# --------------------------------------------------------------------- calendar-time
@cli.command("calendar-time")
@click.argument("study_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--horizon", default="12m", show_default=True,
              help="Holding period after day 0: months (12m) or sessions (250d).")
@click.option("--frequency", type=click.Choice(["monthly", "daily"]),
              help="Portfolio periods (default: [model] factor_frequency, else "
                   "monthly).")
@click.option("--weights", type=click.Choice(["equal", "value"]), default="equal",
              show_default=True, help="Equal or value weights.")
@click.option("--weight-column", help="Pair weight column for value weights "
                                      "(default: [conventions] weights, else "
                                      "market_cap).")
@click.option("--model", "factor_model",
              type=click.Choice(["market", "ff3", "ff5", "carhart", "file"]),
              help="Factor model of the alpha regression (default: the study's "
                   "built-in set, else its factor file, else ff3).")
@click.option("--lags", type=click.IntRange(min=0),
              help="Newey-West lags (default floor(4 (T/100)^(2/9))).")
@click.option("--prices", "prices_path",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Use this prices file instead of the study's source.")
@CACHE_DIR_OPTION
@click.option("--offline", is_flag=True, help="Never touch the network.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the alpha table to this CSV.")
@click.option("--series", "series_file",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Write the portfolio series to this CSV.")
def calendar_time(study_file: Path, horizon: str, frequency: str | None,
                  weights: str, weight_column: str | None, factor_model: str | None,
                  lags: int | None, prices_path: Path | None,
                  cache_dir: Path | None, offline: bool, out_file: Path | None,
                  series_file: Path | None) -> None:
    """Calendar-time portfolio alpha of STUDY_FILE's events (Fama 1998).

    Each period holds the securities in their post-event window (after day 0, for
    the horizon); the portfolio's excess return is regressed on the factors, and
    the alpha is reported with OLS and Newey-West t statistics.
    """
    import pandas as pd  # lazy: start-up

    from eventstudy.analysis.calendar_time import (
        calendar_time_study,  # lazy: start-up
    )
    from eventstudy.io.atomic import replace_atomic  # lazy: start-up
    from eventstudy.io.csv import write_csv  # lazy: start-up
    from eventstudy.workflows import (
        prepare_study,  # lazy: start-up
    )

    st = prepare_study(study_file)
    res = calendar_time_study(st, horizon=horizon, frequency=frequency,
                              weights=weights, model=factor_model,
                              weight_column=weight_column, lags=lags,
                              prices=prices_path, cache_dir=cache_dir,
                              offline=offline)
    t = res.table
    if out_file is not None:
        replace_atomic(out_file, lambda tmp: write_csv(t, tmp))
    if series_file is not None:
        s = res.series.reset_index()
        replace_atomic(series_file, lambda tmp: write_csv(s, tmp))
    a = t.iloc[0]
    click.echo(f"{a['model']} {a['weights']}-weighted {a['frequency']} portfolio, "
               f"horizon {a['horizon']}: {int(a['periods'])} periods, "
               f"{a['mean_members']:.1f} members on average")
    with pd.option_context("display.width", 200):
        click.echo(t[["term", "estimate", "std_error", "t", "nw_std_error",
                      "nw_t", "nw_p_value"]].to_string(index=False))
    click.echo(f"alpha {a['estimate']:.6f} per period, t {a['t']:.2f} (OLS), "
               f"{a['nw_t']:.2f} (Newey-West, {int(a['nw_lags'])} lags)")


# --------------------------------------------------------------------------- refresh
@cli.command()
@click.argument("study_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Output folder to keep up to date.")
@CACHE_DIR_OPTION
@click.option("--offline", is_flag=True, help="Do not download; rerun on the cache.")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Log file (default: OUT.refresh.log beside the output folder, "
                   "which each refresh replaces whole).")
@click.option("--wait", "wait_seconds", type=float, default=0.0, show_default=True,
              help="Seconds to wait for another run or refresh of the same OUT to "
                   "finish (0: exit 2 at once).")
@click.option("--source", metavar="NAME",  # checked by inputs.sources.SOURCES
              help="Where prices come from, overriding the study file's [data] "
                   "source (yahoo: fetch new days into the cache first).")
@click.option("--format", "table_fmt", type=click.Choice(list(TABLE_FORMATS)),
              help="Format of the tables, overriding the study file's [output] "
                   "format: csv or parquet (a change rewrites the set).")
def refresh(study_file: Path, out_dir: Path, cache_dir: Path | None, offline: bool,
            log_file: Path | None, wait_seconds: float, source: str | None,
            table_fmt: str | None) -> None:
    """For cron: fetch new days, rerun STUDY_FILE and replace the outputs atomically.

    The whole set (tables, plots, report.html) is rebuilt and swapped in as one; an
    interrupted refresh leaves the previous set, and the next refresh repairs it.
    Nothing is rewritten when the inputs and parameters are unchanged and the set is
    complete.

    \b
    Exit codes: 0 ok (updated, or unchanged and nothing rewritten), 1 partial (some
    tickers failed; the rest were refreshed and the failures listed), 2 error.
    """
    import logging  # lazy: start-up

    from eventstudy.workflows import (
        refresh_study,  # lazy: start-up
    )

    log_path = log_file or out_dir.parent / f"{out_dir.name}.refresh.log"
    log = logging.getLogger("eventstudy.refresh")
    log.setLevel(logging.INFO)
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{log_path}: cannot open the log file ({exc.strerror}); "
                        "pass --log-file PATH") from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    try:
        try:
            outcome = refresh_study(study_file, out_dir, cache_dir=cache_dir,
                                    offline=offline, logger=log, wait=wait_seconds,
                                    source=source, fmt=table_fmt)
        except EventStudyError as exc:
            log.error("%s", exc)
            raise
    finally:
        log.removeHandler(handler)
        handler.close()
    click.echo(outcome.message)
    for t, why in outcome.failed.items():
        click.echo(f"failed: {t}: {why}", err=True)
    if outcome.exit_code:
        raise SystemExit(outcome.exit_code)


# --------------------------------------------------------------------------- report
@cli.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)),
              default="html", show_default=True, help="Report format.")
@click.option("--force", is_flag=True, help="Build the report even when the files in "
              "OUT_DIR do not match the list in its run.json (each mismatch is "
              "printed as a warning).")
def report(out_dir: Path, fmt: str, force: bool) -> None:
    """Build a report from a finished run's outputs in OUT_DIR.

    The files are first checked against the list (with SHA-256) in OUT_DIR/run.json:
    a report is built only from one complete, unchanged run (or with --force).
    """
    from eventstudy.io.outputset import (  # lazy: start-up
        output_lock,
        recover,
        verify_set,
    )
    from eventstudy.reporting.build import (
        build_report,  # lazy: start-up
    )

    if not out_dir.parent.is_dir():
        raise UserError(f"{out_dir}: no such output folder; run 'eventstudy run' "
                        "first")
    with output_lock(out_dir, wait=None):
        recover(out_dir)  # a run killed between its two renames
        if not out_dir.is_dir():
            raise UserError(f"{out_dir}: no such output folder; run 'eventstudy run' "
                            "first")
        problems = verify_set(out_dir)
        if problems and not force:
            raise UserError(f"{out_dir}: the files do not belong to one complete run:\n"
                            + "\n".join(f"  - {p}" for p in problems)
                            + "\nRerun the study, or pass --force to report anyway.")
        for p in problems:
            click.echo(f"warning: {p}", err=True)
        path = build_report(out_dir, fmt)
    click.echo(f"wrote {path}")


# ------------------------------------------------------------------ cross-section
@cli.command("cross-section")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("formula")
@click.option("--window", "window_opt", help="CAR window START:END (default: the "
              "first in car.csv).")
@click.option("--cov", "cov", type=click.Choice(
    ["HC3", "HC0", "HC1", "HC2", "cluster-event", "cluster-date", "cluster-2way",
     "cluster_event", "cluster_date", "cluster_2way", "hac"]),
              default="HC3", show_default=True,
              help="Standard errors: HC0-HC3, clustered by event_id, by day-0 date "
                   "or both (two-way), or hac (Newey-West in day-0 order).")
@click.option("--hac-lags", type=click.IntRange(min=0),
              help="Lags of --cov hac (default floor(4 (N/100)^(2/9))).")
def cross_section(out_dir: Path, formula: str, window_opt: str | None,
                  cov: str, hac_lags: int | None = None) -> None:
    """Regress a finished run's CARs on pair characteristics (OLS).

    FORMULA names only columns of car.csv and diagnostics.csv, numbers, the
    operators + - * : ~ ( ) and C(column), e.g. "car ~ group + beta" (nothing in
    it is executed). Standard errors: HC3 (default) or clustered (--cov). Writes
    OUT_DIR/cross_section.csv and prints the table.
    """
    import pandas as pd  # lazy: start-up

    from eventstudy.analysis.cross_section import (
        cross_section_table,  # lazy: start-up
    )
    from eventstudy.io.atomic import replace_atomic  # lazy: start-up
    from eventstudy.io.csv import write_csv  # lazy: start-up
    from eventstudy.io.tables import find_table, read_table  # lazy: start-up

    found = {name: find_table(out_dir, name) for name in ("car", "diagnostics")}
    for name, path in found.items():
        if path is None:
            raise UserError(f"{out_dir}: {name}.csv missing; run 'eventstudy run' "
                            "first")
    car, diag = (pd.read_csv(p) if p.suffix == ".csv" else read_table(p)
                 for p in (found["car"], found["diagnostics"]) if p is not None)
    if window_opt:
        win = _window(window_opt, "--window")
    else:
        win = (int(car["window_start"].iloc[0]), int(car["window_end"].iloc[0]))
    table = cross_section_table(car, diag, formula, win, cov=cov,
                                hac_lags=hac_lags)
    replace_atomic(out_dir / "cross_section.csv", lambda tmp: write_csv(table, tmp))
    kind = cov.replace("-", "_")
    extra = table["clusters"].iloc[0]
    label = {"cluster_event": "standard errors clustered by event, ",
             "cluster_date": "standard errors clustered by day-0 date, ",
             "cluster_2way": "two-way clustered standard errors (event and day-0 "
                             "date), at least ",
             "hac": "Newey-West standard errors in day-0 order, "}.get(kind)
    label = (f"{cov} standard errors" if label is None else label + (
        f"{int(extra)} lags" if kind == "hac" else f"{int(extra)} clusters"))
    click.echo(f"CAR[{win[0]},{win[1]}]: {formula} (OLS, {label})")
    click.echo(table.to_string(index=False))


# --------------------------------------------------------------------------- simulate
def _window(value: str, name: str) -> tuple[int, int]:
    try:
        a, b = value.split(":")
        return int(a), int(b)
    except ValueError:
        raise UserError(f"{name} {value!r}: write START:END in sessions, e.g. "
                        "-250:-11") from None


@cli.command()
@click.option("--prices", "prices_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Panel of prices (CSV or Parquet, long or wide), as for run.")
@click.option("--market", help="Market index column (benchmark of every stock).")
@click.option("--universe", type=click.Path(dir_okay=False, path_type=Path),
              help="Universe CSV with a benchmark per ticker (instead of --market).")
@click.option("--calendar", help="Calendar of the panel (XTKS for Tokyo, XNYS for "
              "New York...); default: inferred from the panel's dates (the best "
              "fit among XNYS, XTKS, XKRX, XLON, ..., FX, 24/7, printed).")
@click.option("--model", default="market", show_default=True,
              help=f"Normal-return model: {MODEL_HELP}.")
@click.option("--estimation", default="-250:-11", show_default=True,
              help="Estimation window START:END (sessions).")
@click.option("--event", "event_window", default="-10:10", show_default=True,
              help="Event window START:END (sessions).")
@click.option("--window", "car_windows", multiple=True,
              help="CAR window(s) to test, START:END (repeatable; default 0:0).")
@click.option("--portfolios", type=int, default=1000, show_default=True,
              help="Number of random portfolios.")
@click.option("--size", type=int, default=50, show_default=True,
              help="Pairs per portfolio.")
@click.option("--shift", "shifts", default="0,0.005,0.01,0.02", show_default=True,
              help="Abnormal returns added on day 0, comma-separated.")
@click.option("--tests", "tests_opt", help="Comma-separated tests (default: all).")
@click.option("--clustered", is_flag=True,
              help="All pairs of a portfolio on one date (cross-correlation).")
@click.option("--seed", type=int, default=12345, show_default=True)
@click.option("--workers", type=click.IntRange(min=0), help="Engine threads; 0 = "
              "automatic (results do not depend on it).")
@click.option("--bootstrap-reps", type=click.IntRange(min=1), default=199,
              show_default=True, help="Draws of the boot test.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("out/simulation"), show_default=True,
              help="Writes simulation.csv, simulation.md, simulation.json.")
@click.option("--plots", is_flag=True, help="Also write power.png.")
def simulate(prices_path: Path, market: str | None, universe: Path | None,
             calendar: str | None, model: str, estimation: str, event_window: str,
             car_windows: tuple[str, ...], portfolios: int, size: int, shifts: str,
             tests_opt: str | None, clustered: bool, seed: int,
             workers: int | None, bootstrap_reps: int, out_dir: Path,
             plots: bool) -> None:
    """Brown-Warner simulation: size and power of every test on a real panel.

    Draws --portfolios samples of --size random (stock, date) pairs with complete
    data, adds each --shift to day 0, runs every test through the batched engine
    and reports rejection rates at 1%, 5% and 10% with 95% intervals. Without
    --calendar, the panel's calendar is inferred from its dates and printed.
    """
    from eventstudy.inputs.events import (
        load_universe,  # lazy: start-up
    )
    from eventstudy.inputs.prices import (
        load_prices,  # lazy: start-up
    )
    from eventstudy.simulation import (  # lazy: start-up
        infer_calendar,
        save_simulation,
    )
    from eventstudy.simulation import (
        simulate as run_simulation,  # lazy: start-up
    )

    try:
        shift_values = tuple(float(x) for x in shifts.split(",") if x.strip())
    except ValueError:
        raise UserError(f"--shift {shifts!r}: give numbers such as 0,0.01") from None
    frame = load_prices(prices_path)
    uni = load_universe(universe) if universe is not None else None
    if calendar is None:
        best, second = infer_calendar(frame.index[frame.notna().any(axis=1)
                                                  .to_numpy()],
                                      source=str(prices_path))
        calendar = best.name
        runner = (f"; next best {second.name} {100 * second.score:.1f}%"
                  if second is not None else "")
        click.echo(f"calendar: {best.name} (inferred from the panel's dates: "
                   f"{100 * best.score:.1f}% agree{runner}; set it with "
                   "--calendar)")
    step, done = _progress(True)
    step("simulate")
    res = run_simulation(
        frame, market, universe=uni, model=model,
        estimation=_window(estimation, "--estimation"),
        event=_window(event_window, "--event"),
        windows=tuple(_window(w, "--window") for w in car_windows) or ((0, 0),),
        portfolios=portfolios, size=size, shifts=shift_values,
        tests=_split(tests_opt), clustered=clustered, seed=seed, calendar=calendar,
        workers=workers, bootstrap_reps=bootstrap_reps)
    done()
    files = save_simulation(res, out_dir, plots=plots)
    click.echo(res.to_markdown())
    click.echo(f"wrote {len(files)} files to {out_dir}")


# --------------------------------------------------------------------------- bench
@cli.command(context_settings={"ignore_unknown_options": True,
                               "allow_extra_args": True})
@click.argument("bench_args", nargs=-1, type=click.UNPROCESSED)
def bench(bench_args: tuple[str, ...]) -> None:
    """Run the benchmark (same as python -m eventstudy.bench; see its --help).

    \b
    Example: eventstudy bench --securities 2000 --days 1500 --events 100000
    """
    from eventstudy.bench import (
        main as bench_main,  # lazy: start-up
    )

    code = bench_main(list(bench_args))
    if code:
        raise SystemExit(code)


# --------------------------------------------------------------------------- findings
@cli.command()
@click.argument("study_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--draws", type=click.IntRange(min=1), default=None,
              help="Placebo draws (default 199, or the README block's draws with "
                   "--readme).")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Placebo seed (default: the study's [tests] seed, or the README "
                   "block's seed with --readme).")
@click.option("--window", "window_opt", metavar="A,B",
              help="CAR window of the table (default 0,1, or the README block's).")
@click.option("--readme", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the table into this file's findings block (between "
                   "'<!-- findings:start' and '<!-- findings:end -->').")
@click.option("--check", is_flag=True,
              help="With --readme: change nothing; exit 1 if the block is not what "
                   "the command would write.")
@click.option("--offline", is_flag=True, help="Never touch the network.")
@CACHE_DIR_OPTION
def findings(study_file: Path, draws: int | None, seed: int | None,
             window_opt: str | None, readme: Path | None, check: bool,
             offline: bool, cache_dir: Path | None) -> None:
    """The study's main reactions with robust and placebo p-values.

    Runs STUDY_FILE and its placebo test, and prints (or, with --readme, writes
    into the README's findings block) a Markdown table of the event x group
    reactions whose robust p-value (bmp_kp on clustered rows, series_t on a single
    series) or placebo p-value is below 0.10, with their caveats: confounders,
    small N, the two p-values disagreeing.

    \b
      eventstudy findings events/japan_us_investment.toml
      eventstudy findings events/japan_us_investment.toml --readme README.md
      eventstudy findings events/japan_us_investment.toml --readme README.md --check
    """
    from eventstudy.findings import (  # lazy: pandas
        DEFAULT_DRAWS,
        block_options,
        replace_block,
        study_findings,
    )
    from eventstudy.io.atomic import write_text_atomic  # lazy: start-up

    if check and readme is None:
        raise UserError("--check compares a README's findings block: give "
                        "--readme FILE")
    opts: dict[str, str] = {}
    text = ""
    if readme is not None:
        try:
            text = readme.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"{readme}: cannot read it ({exc.strerror}); give an "
                            "existing Markdown file with a findings block") from None
        opts = block_options(text)
    win_text = window_opt or opts.get("window", "")
    window = None
    if win_text:
        try:
            a, b = (int(x) for x in win_text.split(","))
        except ValueError:
            raise UserError(f"--window {win_text!r}: give two whole numbers 'A,B', "
                            "e.g. 0,1") from None
        window = (a, b)
    n = draws if draws is not None else int(opts.get("draws", DEFAULT_DRAWS))
    sd = seed if seed is not None else (int(opts["seed"]) if "seed" in opts else None)
    res = study_findings(study_file, draws=n, seed=sd, window=window,
                         offline=offline, cache_dir=cache_dir)
    if readme is None:
        click.echo(res.as_markdown(), nl=False)
        return
    new = replace_block(text, res.block(), where=str(readme))
    if check:
        if new != text:
            click.echo(f"{readme}: the findings block is out of date; run "
                       f"'eventstudy findings {study_file} --readme {readme}'",
                       err=True)
            raise SystemExit(1)
        click.echo(f"{readme}: the findings block is current")
        return
    if new != text:
        write_text_atomic(readme, new)
    click.echo(f"{readme}: findings block written ({len(res.main())} rows)")


# ------------------------------------------------------------------- environment
GLOBAL_ENVVARS = {"cache_dir": "EVENTSTUDY_CACHE_DIR"}
"""Options whose variable is the same for every command (by parameter name)."""


def envvar_name(path: Sequence[str], option: str) -> str:
    """The environment variable of an option: ``EVENTSTUDY_<COMMAND>_<OPTION>``.

    Parameters
    ----------
    path
        The command's path below ``eventstudy`` (e.g. ``["prices", "fetch"]``).
    option
        The option's long name without dashes (e.g. ``"cache-dir"``).

    Examples
    --------
    >>> envvar_name(["cross-section"], "window")
    'EVENTSTUDY_CROSS_SECTION_WINDOW'
    """
    parts = ["EVENTSTUDY", *path, option]
    return "_".join(p.upper().replace("-", "_") for p in parts)


def iter_options(group: click.Group = cli, path: tuple[str, ...] = ()
                 ) -> list[tuple[tuple[str, ...], click.Option]]:
    """Every option of every command below ``group``, in command order."""
    found: list[tuple[tuple[str, ...], click.Option]] = []
    for name, cmd in group.commands.items():
        sub = (*path, name)
        found += [(sub, p) for p in cmd.params
                  if isinstance(p, click.Option) and not p.hidden
                  and p.name not in ("help", "version")]
        if isinstance(cmd, click.Group):
            found += iter_options(cmd, sub)
    return found


def _assign_envvars() -> None:
    """Give every option its documented variable (shown in ``--help``)."""
    for path, opt in iter_options():
        long = max(opt.opts, key=len).lstrip("-")
        opt.envvar = GLOBAL_ENVVARS.get(str(opt.name)) or envvar_name(path, long)
        opt.show_envvar = True


_assign_envvars()


def main() -> None:
    """Console-script entry point.

    When the command is done, the process ends without the interpreter's teardown:
    the exit handlers run (log handlers are flushed and closed, worker threads
    joined, temporary folders removed), the output streams are flushed, then
    ``os._exit`` ends the process with the command's exit code. The teardown would
    only free, one by one, what the process is about to give back whole (after a
    100,000-pair run about 0.3 s: module dictionaries, the run's arrays, the
    compiled kernels' LLVM modules); every output set is written, synced and
    swapped in, and every lock released, before the command returns.

    The command also sets ``NUMPY_MADVISE_HUGEPAGE=0`` unless it is set already
    (before numpy is imported): numpy otherwise asks the kernel for transparent
    huge pages for every large array, and where the kernel compacts memory to find
    them (``defrag = madvise``) a fresh process stalls on it: 0.2-0.3 s of a
    100,000-pair run here, and all of the spread between runs
    (docs/benchmark.md). The library leaves the setting to its caller.
    """
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    try:
        cli(prog_name="eventstudy")
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):  # sys.exit("message")
        raise SystemExit(code)
    atexit._run_exitfuncs()  # what the teardown would run first (CPython)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing left to say
            pass
    os._exit(code or 0)
