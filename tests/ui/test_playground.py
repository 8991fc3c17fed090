"""The playground in headless Chromium: find, fill, preview, Test request, chain, run.

Drives the page as a person would, against the embedded emulator, and checks the emulator's
own counters (``/__emulator/stats``) for what was and was not sent. Every response the page
received is searched for the canary token.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rtk_task.ui import UiServer
from rtk_task.workflows.model import load_workflow

from ..helpers import CANARY
from .conftest import SCREENSHOTS, Seen, emulator_stats

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

#: Slow: a real browser (CI runs every test).
pytestmark = pytest.mark.slow

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _literal(page: Page, path: str) -> Locator:
    return page.locator(f'.field[data-path="{path}"] input[type=text]:not(.tpl)')


def _open(page: Page, query: str, task: str) -> None:
    from playwright.sync_api import expect

    page.fill("#search", query)
    item = page.locator(f'.task-item[data-task="{task}"]')
    expect(item).to_be_visible()
    item.click()
    expect(page.locator("#read strong")).to_have_text(task)


def test_find_fill_test_add_chain_and_run(ui: UiServer, browser_page: tuple[Page, Seen]) -> None:
    from playwright.sync_api import expect

    page, seen = browser_page
    expect(page.locator("#target")).to_have_text("target: the embedded emulator")
    expect(page.locator("#live-marker")).to_be_hidden()

    # Find: "meeting" matches both tasks we need, grouped by resource
    page.fill("#search", "meeting")
    # grouped by the provider's resource: participants are a meeting's
    group = page.locator(".group-name", has_text="meetings")
    expect(group).to_be_visible()
    _open(page, "meeting", "realtimekit.meetings.create")
    expect(page.locator("#task-path")).to_have_text("/accounts/{account_id}/realtimekit/meetings")

    # Fill, and see the preview follow
    _literal(page, "account_id").fill("acc")
    expect(page.locator("#preview-request")).to_contain_text("/accounts/acc/realtimekit/meetings")
    expect(page.locator("#preview-request")).not_to_contain_text("Weekly sync")
    _literal(page, "title").fill("Weekly sync")
    expect(page.locator("#preview-request")).to_contain_text('"title": "Weekly sync"')
    expect(page.locator("#preview-request")).to_contain_text("Authorization: Bearer ***")
    page.click("#copy-curl")
    expect(page.locator("#copy-text")).to_contain_text("$CLOUDFLARE_API_TOKEN")

    # Test request: 201 and a meeting id, once
    page.click("#test-btn")
    expect(page.locator("#result-status")).to_have_text("201")
    meeting_id = page.locator('[data-output="meeting_id"]').inner_text().strip('"')
    assert UUID.fullmatch(meeting_id), meeting_id
    assert emulator_stats(ui)["meetings_created"] == {"acc": 1}
    page.screenshot(path=str(SCREENSHOTS / "playground-test-request.png"))

    # Add it to the new workflow
    page.click("#add-btn")
    expect(page.locator("#add-note")).to_contain_text("Added step create_meeting")
    expect(page.locator('#steps li[data-step="create_meeting"]')).to_be_visible()

    # The participant step: meeting_id picked from the earlier step's outputs
    _open(page, "participant", "realtimekit.meetings.participants.add")
    _literal(page, "account_id").fill("acc")
    _literal(page, "custom_participant_id").fill("host@example.com")
    _literal(page, "preset_name").fill("host")
    page.locator('.field[data-path="meeting_id"] select.pick').select_option(
        "{{ steps.create_meeting.outputs.meeting_id }}"
    )
    # the recorded outputs of the earlier test are reused, and the page says so
    expect(page.locator("#used-note")).to_contain_text("Using the outputs of create_meeting")
    expect(page.locator("#preview-request")).to_contain_text(f"/meetings/{meeting_id}/participants")
    page.click("#add-btn")
    expect(page.locator("#add-note")).to_contain_text("Added step add_participant")
    wf = load_workflow(ui.workflow_file)  # type: ignore[arg-type]
    assert [s.id for s in wf.steps] == ["create_meeting", "add_participant"]
    assert wf.step("add_participant").with_["meeting_id"] == (
        "{{ steps.create_meeting.outputs.meeting_id }}"
    )

    # Run both
    page.click("#run-btn")
    expect(page.locator("#run-status")).to_have_text("run ok")
    expect(page.locator('.step-result[data-step="create_meeting"]')).to_contain_text("ok 201")
    expect(page.locator('.step-result[data-step="add_participant"]')).to_contain_text("ok 2")
    expect(page.locator('#steps li[data-step="add_participant"] .last')).to_contain_text("run")
    stats = emulator_stats(ui)
    assert stats["meetings_created"] == {"acc": 2}, stats
    page.screenshot(path=str(SCREENSHOTS / "playground-workflow-run.png"))

    assert CANARY not in seen.text() + page.content()
    assert any("/api/test" in url for url, _ in seen.bodies)


def test_invalid_enum_shows_beside_its_field_and_sends_nothing(
    ui: UiServer, browser_page: tuple[Page, Seen], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page, seen = browser_page
    _open(page, "create meeting", "realtimekit.meetings.create")
    page.click("#json-details summary")
    page.fill(
        "#json-view",
        '{"account_id": "acc", "ai_config": {"summarization": {"summary_type": "haiku"}}}',
    )
    field = page.locator('.field[data-path="ai_config.summarization.summary_type"]')
    expect(field.locator("select:not(.pick)")).to_contain_text('"haiku" (not allowed)')
    expect(field.locator(".field-error")).to_contain_text("Input should be")
    expect(field.locator(".field-error")).to_contain_text("general")
    before = emulator_stats(ui)
    page.click("#test-btn")
    expect(page.locator("#result-status")).to_have_text("not sent")
    assert emulator_stats(ui) == before
    page.screenshot(path=str(tmp_path / "playground-invalid-enum.png"))

    # the form writes back into the raw JSON: choosing a valid value fixes it
    field.locator("select:not(.pick)").select_option(label="team_meeting")
    expect(field.locator(".field-error")).to_have_text("")
    expect(page.locator("#json-view")).to_have_value(re.compile('"summary_type": "team_meeting"'))
    assert CANARY not in seen.text()
