"""Switching targets in the page (issue 24): a playground started on a live API can send to
its embedded emulator and back; going live asks first; outputs recorded against one target
are never reused against the other."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from rtk_task.ui import UiServer

from .conftest import Seen

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_the_page_switches_to_the_emulator_and_back_asking_before_going_live(
    browser_page: tuple[Page, Seen], fresh_emulator: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page, _ = browser_page
    with UiServer(port=0, base_url=fresh_emulator.base_url, records_root=tmp_path) as live:
        page.goto(live.url)
        expect(page.locator("#live-marker")).to_be_visible()
        target = page.get_by_label("Send to")
        expect(target).to_have_value("live")
        target.select_option("emulator")
        expect(page.locator("#live-marker")).to_be_hidden()
        expect(page.locator("#target")).to_have_text("target: the embedded emulator")
        assert live.emulator is not None, "the emulator was not started for the switch"
        # Test request now goes to the embedded emulator, not the live API
        page.fill("#search", "create meeting")
        page.locator('.task-item[data-task="realtimekit.meetings.create"]').click()
        page.locator('.field[data-path="account_id"] input[type=text]:not(.tpl)').fill("acc")
        page.locator('.field[data-path="title"] input[type=text]:not(.tpl)').fill("Local")
        page.click("#test-btn")
        expect(page.locator("#result-status")).to_have_text("201")
        assert fresh_emulator.stats()["requests"] == {}, "the live API got the emulator's call"
        # going back live asks first; cancelling keeps the emulator
        page.once("dialog", lambda dialog: dialog.dismiss())
        target.select_option("live")
        expect(target).to_have_value("emulator")
        expect(page.locator("#live-marker")).to_be_hidden()
        page.once("dialog", lambda dialog: dialog.accept())
        target.select_option("live")
        expect(page.locator("#live-marker")).to_be_visible()
        expect(page.locator("#target")).to_have_text(f"target: {fresh_emulator.base_url}")


def test_an_emulator_session_offers_no_switch(ui: UiServer) -> None:
    data = httpx.get(ui.url + "api/session", timeout=10).json()
    assert data["can_switch"] is False
    assert data["live"] is False
