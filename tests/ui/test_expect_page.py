"""A step's ``expect:`` lines in the page (issue 27): Test request of a step whose answer
fails one shows each line, pass or fail, in the result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtk_task.ui import UiServer

from .conftest import Seen

if TYPE_CHECKING:
    from playwright.sync_api import Page

FLOW = """name: wf
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with: {account_id: acc, title: Weekly sync}
    expect:
      status: 201
      body:
        data.title: {equals: Monthly}
"""


def test_a_failing_expectation_is_shown_in_the_result(
    ui: UiServer, browser_page: tuple[Page, Seen]
) -> None:
    from playwright.sync_api import expect

    assert ui.workflow_file is not None
    ui.workflow_file.write_text(FLOW)
    page, _ = browser_page
    page.reload()
    page.fill("#search", "create meeting")
    item = page.locator('.task-item[data-task="realtimekit.meetings.create"]')
    expect(item).to_be_visible()
    item.click()
    page.locator('.field[data-path="account_id"] input[type=text]:not(.tpl)').fill("acc")
    page.locator('.field[data-path="title"] input[type=text]:not(.tpl)').fill("Weekly sync")
    page.fill("#step-id", "create_meeting")  # the step of the file, with its expect:
    page.click("#test-btn")
    expect(page.locator("#result-status")).to_have_text("201")
    lines = page.locator("#result-expect li")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_have_text("pass status in [201]")
    expect(lines.nth(1)).to_contain_text("FAIL body data.title: equals 'Monthly'")
