"""The console in a real browser: Debian's Chromium (``/usr/bin/chromium``, installed by
``make chromium``), headless, driven by Playwright, against a sandbox (``make sandbox``).

Every page loads with no console error, no failed request and no text wider than its container;
a click-through goes overview -> a waiting request -> its job -> a run -> its logs link. A
screenshot of each page lands in ``build/console/``. Skipped only where Chromium is not installed
(``make test`` on a machine without ``make chromium``); CI installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.engine.sandbox import HELD_REQUEST_ID, STRAGGLER_JOB, STRAGGLER_RUN_ID
from tests.browser.sandbox import ROOT, RunningSandbox, running_sandbox

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "build" / "console"
# The flags that work in a root container without a display or a network (no first-run, sync,
# component or background fetches); Playwright adds --headless and a fresh --user-data-dir.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}

# `make test` installs it (make chromium); only a bare pytest outside CI may lack it. In CI a
# missing browser is a failure, never a skip.
pytestmark = pytest.mark.skipif(
    (not CHROMIUM.exists() or shutil.which("chromium") is None) and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (make chromium)",
)

# Every element whose content is wider than its own box (and that does not scroll on purpose),
# and the page itself wider than the window.
OVERFLOW_JS = """
() => {
  const found = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) found.push(`page ${doc.scrollWidth}px > ${window.innerWidth}px`);
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.chart')) continue;  // plotly lays out its own SVG
    const style = getComputedStyle(el);
    if (style.display === 'inline' || style.display === 'none') continue;
    if (['auto', 'scroll'].includes(style.overflowX)) continue;
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      found.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}: ${el.scrollWidth}px in ${el.clientWidth}px: ${el.textContent.trim().slice(0, 60)}`);
    }
  }
  return found;
}
"""


@dataclass
class Watch:
    """What went wrong on a page: console errors, failed or refused requests."""

    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url} {r.failure}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"),
        )


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with running_sandbox(tmp_path_factory.mktemp("console-browser")) as box:
        yield box


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


PAGES = {
    "overview": "",
    "requests": "requests?since=1d",
    "request": f"requests/{HELD_REQUEST_ID}",
    "jobs": "jobs",
    "job": f"jobs/{STRAGGLER_JOB}",
    "run": f"jobs/{STRAGGLER_JOB}/runs/{STRAGGLER_RUN_ID}",
    "flow": "flow",
    "flow-pair": "flow/input_job/output_job",
    "whatif": "whatif?run=1&preset=burst",
    "not-found": "requests/req-none",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_loads_clean_and_fits(sandbox: RunningSandbox, page: Any, name: str) -> None:
    watch = Watch()
    watch.attach(page)
    response = page.goto(sandbox.console_url + PAGES[name], wait_until="networkidle")
    expected = 404 if name == "not-found" else 200
    assert response.status == expected, page.content()[:2000]
    if name == "not-found":
        watch.errors = [e for e in watch.errors if "HTTP 404" not in e and "404 (NOT FOUND)" not in e]
        assert "does not exist" in page.inner_text("#error-message")
    charts = page.locator("div.chart[data-figure]").count()
    assert page.get_attribute("body", "data-charts-drawn") == str(charts)
    if charts:  # plotly drew each figure into its box
        assert page.locator("div.chart .main-svg").count() >= charts
    overflow = page.evaluate(OVERFLOW_JS)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert not watch.errors, watch.errors
    assert not overflow, overflow


def test_click_through_overview_request_job_run_logs(sandbox: RunningSandbox, page: Any) -> None:
    watch = Watch()
    watch.attach(page)
    page.goto(sandbox.console_url, wait_until="networkidle")
    waiting = page.locator("a.waiting-request", has_text=HELD_REQUEST_ID)
    assert waiting.count() == 1, page.inner_text("#queue")
    waiting.click()
    page.wait_for_load_state("networkidle")
    assert HELD_REQUEST_ID in page.inner_text("h1")
    assert "PENDING" in page.inner_text("h1")
    page.click("#request-job")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("h1") == "Job nightly_export"
    page.locator("a.run-link").first.click()
    page.wait_for_load_state("networkidle")
    assert "of nightly_export" in page.inner_text("h1")
    run_id = page.locator("h1 .id").inner_text()
    logs = page.locator("#output-logs")
    href = logs.get_attribute("href")
    assert href is not None
    assert href.startswith(
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:"
    )
    assert run_id in href.replace("$2F", "/")
    # The link leaves for the AWS console, which this machine cannot reach: follow it in a new page
    # only as far as the browser's request, then stop it there.
    requested: list[str] = []
    page.route("https://**/*", lambda route: (requested.append(route.request.url), route.abort()))
    with page.expect_request(lambda r: r.url.startswith("https://us-east-1.console.aws.amazon.com/")):
        logs.click()
    assert requested and requested[0].split("#")[0] == href.split("#")[0]
    watch.errors = [e for e in watch.errors if "console.aws.amazon.com" not in e]
    assert not watch.errors, watch.errors


def test_the_checks_see_overflow_console_errors_and_failed_requests(page: Any) -> None:
    """The checks above can fail: text wider than its box, a console error and a refused request
    are each reported."""
    watch = Watch()
    watch.attach(page)
    page.set_content(
        '<div style="width:120px" id="narrow">jr_e6afbfbcd5086e58d79c41ccd4cf1c985f197d217a7050fe0e0448</div>'
        '<script>console.error("broken chart")</script>'
        '<img src="http://127.0.0.1:9/missing.png">'
    )
    page.wait_for_timeout(500)

    overflow = page.evaluate(OVERFLOW_JS)

    assert any(line.startswith("div#narrow:") for line in overflow), overflow
    assert any("broken chart" in error for error in watch.errors), watch.errors
    assert any(error.startswith("failed: http://127.0.0.1:9/missing.png") for error in watch.errors), (
        watch.errors
    )
