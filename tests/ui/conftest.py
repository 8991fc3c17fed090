"""Fixtures for the playground: the app on a free loopback port, and a headless Chromium page.

The browser is Debian's ``/usr/bin/chromium`` (Playwright downloads none); without it the
browser tests are skipped, saying so. Every response the app sends to the page passes through
a route handler that keeps its text, so a test can search all of it for the canary token; the
streamed run (``/api/run``) is not routed, so that it reaches the page event by event: the page's
``fetch`` is wrapped to keep a copy of every event stream it reads.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from rtk_task.ui import UiServer

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

CHROMIUM = "/usr/bin/chromium"
#: Where the screenshots of the main states go: docs/screenshots/ (committed) when
#: RTK_SCREENSHOTS=1, else a temporary folder, so that a test run leaves the tree clean.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("RTK_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp(prefix="rtk-screenshots-"))
)


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[UiServer]:
    """The playground against its embedded emulator, with ``wf.yaml`` (not yet written) open."""
    with UiServer(port=0, workflow_file=tmp_path / "wf.yaml", records_root=tmp_path) as server:
        yield server


def emulator_stats(server: UiServer) -> dict[str, Any]:
    """The embedded emulator's counters, read over HTTP as ``/__emulator/stats``."""
    assert server.emulator is not None
    root = server.emulator.base_url.removesuffix("/client/v4")
    stats: dict[str, Any] = httpx.get(f"{root}/__emulator/stats", timeout=5).json()
    return stats


class Seen:
    """Every response body the page received, as text."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str]] = []
        self.page: Page | None = None

    def text(self) -> str:
        """All bodies joined, with the event streams the page has read to their end."""
        streams = self.page.evaluate("window.__rtkStreams.join('\\n')") if self.page else ""
        return "\n".join([*(body for _, body in self.bodies), streams])


#: Wraps the page's fetch: a copy of each event stream's text lands in window.__rtkStreams.
_KEEP_STREAMS = """
window.__rtkStreams = [];
const original = window.fetch;
window.fetch = async (...args) => {
  const response = await original(...args);
  if ((response.headers.get("content-type") || "").startsWith("text/event-stream")) {
    response.clone().text().then((text) => window.__rtkStreams.push(text));
  }
  return response;
};
"""


@pytest.fixture
def browser_page(ui: UiServer) -> Iterator[tuple[Page, Seen]]:
    """A headless Chromium page on the playground, and what it was sent."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is absent: apt-get install chromium to run the browser tests"
        if os.environ.get("CI"):  # CI must test the page: a missing browser fails the run
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    seen = Seen()

    def keep(route: Route) -> None:
        response = route.fetch()
        seen.bodies.append((route.request.url, response.text()))
        route.fulfill(response=response)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.set_default_timeout(15_000)
            page.route(lambda url: url.startswith(ui.url) and "/api/run" not in url, keep)
            page.add_init_script(_KEEP_STREAMS)
            seen.page = page
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(ui.url)
            yield page, seen
            assert not errors, f"errors in the page: {errors}"
        finally:
            browser.close()
