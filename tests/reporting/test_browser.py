"""Render the HTML report of a small synthetic study in headless Chromium.

Checks that the page renders (a screenshot that is not blank), that it is
self-contained (no external URL in the HTML, and no request to the network in
Chromium's NetLog while loading it), and that the DOM holds the expected headings and
numbers. Skipped, with the reason, when no ``chromium``/``chromium-browser`` is on
PATH (``apt-get install chromium``).

Chromium runs with ``--host-resolver-rules="MAP * ~NOTFOUND"`` so that neither the
page nor Chromium's own background services can reach the network, and with
``--log-net-log`` so that every request it attempts is recorded anyway. Chromium's own
requests carry the initiator ``"not an origin"``; requests made by the page carry the
page's origin (``"null"`` for ``file://``), which is how the two are told apart. A
canary page with an external stylesheet and image proves the detector works.
"""

from __future__ import annotations

import html.parser
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eventstudy.config import Windows
from eventstudy.reporting.build import build_report
from eventstudy.reporting.plots import write_plots
from eventstudy.results import EventStudyResults, stars
from eventstudy.study import EventStudy

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found on PATH (install it with "
           "'apt-get install chromium'); the browser rendering test needs it")
TIMEOUT = 90  # seconds per Chromium run
URL_ATTRS = {"src", "href", "srcset", "poster", "data", "action", "formaction",
             "xlink:href", "background", "cite", "manifest", "ping"}


def synthetic_results(seed: int = 11) -> EventStudyResults:
    """Two events, two groups, +3% planted on day 0 for group alpha; one exclusion."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-01-02", periods=400)
    m = rng.normal(0.0003, 0.01, len(dates))
    tickers = (("A1", "alpha"), ("A2", "alpha"), ("A3", "alpha"), ("B1", "beta"),
               ("B2", "beta"))
    cols: dict[str, np.ndarray] = {"MKT": m}
    for i, (tk, _) in enumerate(tickers):
        cols[tk] = 0.9 * m + 0.05 * i * m + rng.normal(0, 0.012, len(dates))
    r = pd.DataFrame(cols, index=dates)
    events = pd.DataFrame({"event_id": ["EV_ONE", "EV_TWO"],
                           "timestamp": ["2024-03-01", "2024-05-15"],
                           "groups": ["alpha;beta", "alpha"]})
    for ts in events["timestamp"]:
        r.iloc[dates.searchsorted(pd.Timestamp(ts)), 1:4] += 0.03
    universe = pd.DataFrame({"ticker": [t for t, _ in tickers] + ["C9"],
                             "group": [g for _, g in tickers] + ["beta"],
                             "calendar": "FX", "benchmark": "MKT"})
    es = EventStudy(r, events, universe, kind="returns",
                    windows=Windows(estimation=(-200, -11), event=(-5, 5),
                                    car=((0, 0), (-1, 1), (-5, 5)),
                                    min_estimation_obs=100))
    res: EventStudyResults = es.fit(tests=("csect_t", "patell", "bmp"))
    return res


@dataclass(frozen=True)
class Rendered:
    """One Chromium run: its output file, stdout and the page's network requests."""

    out: Path | None
    stdout: str
    page_requests: list[str]


def page_requests(netlog: Path) -> list[str]:
    """URLs of the non-local requests the page itself started (from a NetLog)."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    kinds = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    found = []
    for ev in log.get("events", []):
        if kinds.get(ev.get("type")) != "URL_REQUEST_START_JOB":
            continue
        p = ev.get("params", {})
        url = str(p.get("url", ""))
        if not url or p.get("initiator") == "not an origin":
            continue  # Chromium's own background services, not the page
        if not url.startswith(("file:", "data:")):
            found.append(url)
    return found


def run_chromium(url: str, work: Path, mode: str) -> Rendered:
    """Load ``url`` headless; ``mode`` is ``"screenshot"`` or ``"dump-dom"``."""
    assert CHROMIUM is not None
    work.mkdir(parents=True, exist_ok=True)
    netlog = work / f"netlog-{mode}.json"
    shot = work / "screenshot.png"
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions", "--hide-scrollbars",
            f"--user-data-dir={work / f'profile-{mode}'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--log-net-log={netlog}", "--window-size=1200,2000"]
    args.append(f"--screenshot={shot}" if mode == "screenshot" else "--dump-dom")
    proc = subprocess.run(args + [url], capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert netlog.is_file(), "Chromium wrote no NetLog"
    return Rendered(shot if mode == "screenshot" else None, proc.stdout,
                    page_requests(netlog))


class _UrlCollector(html.parser.HTMLParser):
    """Every URL-bearing attribute, tag name and inline style in a document."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_style = tag == "style"
        for k, v in attrs:
            if v is None:
                continue
            if k.lower() in URL_ATTRS:
                self.urls.append(v.strip())
            if k.lower() == "style":
                self.styles.append(v)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def external_references(text: str) -> list[str]:
    """External URLs referenced by an HTML document (empty when self-contained)."""
    p = _UrlCollector()
    p.feed(text)
    bad = [u for u in p.urls if not u.startswith(("data:", "#"))]
    for css in p.styles:
        bad += [u for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", css)
                if not u.startswith(("data:", "#"))]
        bad += re.findall(r"@import[^;]*", css)
    bad += [f"<{t}>" for t in ("script", "link", "iframe", "object", "embed", "base")
            if t in p.tags]
    bad += re.findall(r"(?:https?|ftp|wss?)://[^\s'\"<>]+", text)
    return bad


@pytest.fixture(scope="module")
def study() -> EventStudyResults:
    return synthetic_results()


@pytest.fixture(scope="module")
def report(study: EventStudyResults, tmp_path_factory: pytest.TempPathFactory
           ) -> Path:
    from eventstudy.io.outputset import write_set

    out = tmp_path_factory.mktemp("browser_run") / "out"

    def write(stage: Path) -> None:
        write_plots(study, stage / "plots")
        study.write_files(stage, {"study": "synthetic.toml"})

    write_set(out, write)
    return build_report(out, "html")


@pytest.fixture(scope="module")
def screenshot(report: Path, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return run_chromium(report.as_uri(), tmp_path_factory.mktemp("chromium"),
                        "screenshot")


@pytest.fixture(scope="module")
def dom(report: Path, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return run_chromium(report.as_uri(), tmp_path_factory.mktemp("chromium"),
                        "dump-dom")


@needs_chromium
def test_screenshot_is_not_blank(screenshot: Rendered) -> None:
    from PIL import Image

    assert screenshot.out is not None and screenshot.out.is_file()
    with Image.open(screenshot.out) as im:
        rgb = np.asarray(im.convert("RGB"))
    assert rgb.shape[:2] == (2000, 1200)
    flat = rgb.reshape(-1, 3)
    distinct = len(np.unique(flat, axis=0))
    not_white = float(np.mean((flat < 245).any(axis=1)))
    assert distinct > 50, f"only {distinct} distinct colours: blank page?"
    assert not_white > 0.02, f"{not_white:.1%} non-white pixels: blank page?"
    # the heading colour (#1f4e79) and table header shading are present
    assert (np.abs(flat.astype(int) - (31, 78, 121)).sum(axis=1) < 30).any()


def test_html_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert external_references(text) == []
    # every plot inline: 3 CAR plots, 2 overviews, 2 heat tables, the pooled plot
    assert text.count("src='data:image/svg+xml;base64,") == 8


@needs_chromium
def test_no_network_request_while_loading(screenshot: Rendered, dom: Rendered
                                          ) -> None:
    assert screenshot.page_requests == []
    assert dom.page_requests == []


@needs_chromium
def test_detectors_catch_external_resources(tmp_path: Path) -> None:
    """The static and NetLog checks above are not vacuous."""
    page = tmp_path / "canary.html"
    page.write_text(
        "<!DOCTYPE html><html><head><link rel='stylesheet' "
        "href='https://cdn.example.invalid/x.css'></head><body><h1>x</h1>"
        "<img src='http://127.0.0.1:9/a.png'></body></html>", encoding="utf-8")
    assert len(external_references(page.read_text(encoding="utf-8"))) >= 2
    got = run_chromium(page.as_uri(), tmp_path / "chromium", "dump-dom")
    assert "https://cdn.example.invalid/x.css" in got.page_requests
    assert "http://127.0.0.1:9/a.png" in got.page_requests


@needs_chromium
def test_dom_has_headings_and_numbers(dom: Rendered, report: Path) -> None:
    text = dom.stdout
    assert "<h1 id=\"top\">Event study report</h1>" in text
    for hid, title in (("parameters", "Study parameters"),
                       ("data-sources", "Data sources"), ("summary", "Summary"),
                       ("event-EV_ONE", "EV_ONE"), ("event-EV_TWO", "EV_TWO"),
                       ("excluded", "Excluded pairs"),
                       ("data-warnings", "Data-quality warnings"),
                       ("run-metadata", "Run metadata")):
        assert f"<h2 id=\"{hid}\">{title}</h2>" in text, hid
    t = pd.read_csv(report.parent / "tests.csv", keep_default_na=False,
                    na_values=[""])
    row = t[(t["scope"] == "event_group") & (t["scope_value"] == "EV_ONE:alpha")
            & (t["window_start"] == 0) & (t["window_end"] == 0)
            & (t["test"] == "csect_t") & (t["window_kind"] == "car")].iloc[0]
    caar = f"{100 * row['mean']:.2f}"
    assert f"<td class=\"num\">{caar}</td>" in text  # EV_ONE's event table
    assert f"<td class=\"num\">{caar}{stars(row['p_value'])}</td>" in text  # summary
    assert "ticker has no prices" in text  # excluded pair C9
    assert text.count("<img src=\"data:image/svg+xml;base64,") == 8
