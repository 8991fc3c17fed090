"""The playground in headless Chromium: the check's problems, Run refused, the streamed run,
two runs compared, and a later step tested after running the earlier ones.

Each test writes its workflow, drives the page as a person would, and checks the emulator's
own counters (``/__emulator/stats``) for what was and was not sent. Every response the page
received (the event streams too) is searched for the canary token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from rtk_task.ui import UiServer

from ..helpers import CANARY
from .conftest import SCREENSHOTS, Seen, emulator_stats
from .test_api import _WORKFLOW, _write

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: Slow: a real browser (CI runs every test).
pytestmark = pytest.mark.slow


def _open_step(page: Page, step_id: str, task: str) -> None:
    from playwright.sync_api import expect

    page.locator(f'#steps li[data-step="{step_id}"]').click()
    expect(page.locator("#read strong")).to_have_text(task)
    expect(page.locator("#step-id")).to_have_value(step_id)


def test_check_problem_beside_its_field_and_run_refused(
    ui: UiServer, browser_page: tuple[Page, Seen]
) -> None:
    from playwright.sync_api import expect

    _write(ui, _WORKFLOW.replace("preset_name: host", "preset_name: 7"))
    page, seen = browser_page
    page.reload()
    _open_step(page, "create_meeting", "realtimekit.meetings.create")
    expect(page.locator("#flow-note")).to_be_hidden()
    # a reference only the whole-workflow check knows is wrong, beside its field
    page.locator('.field[data-path="account_id"] input.tpl').fill("{{ inputs.acount }}")
    error = page.locator('.field[data-path="account_id"] .field-error')
    expect(error).to_contain_text("acount")
    expect(error).to_contain_text("account")
    # the workflow's other problem, listed with its line
    other = page.locator("#wf-problems .problem")
    expect(other).to_have_count(1)
    expect(other).to_contain_text("wf.yaml:16")
    expect(other).to_contain_text("steps.add_participant.with.preset_name")
    # the other step shows its depends_on
    _open_step(page, "add_participant", "realtimekit.meetings.participants.add")
    expect(page.locator("#flow-note")).to_have_text('depends_on: ["create_meeting"]')
    expect(page.locator('#steps li[data-step="add_participant"] pre.flow')).to_contain_text(
        "depends_on"
    )

    page.click("#run-btn")
    expect(page.locator("#run-status")).to_have_text("not run: nothing was sent")
    expect(page.locator("#run-problems")).to_contain_text("preset_name")
    expect(page.locator("#run-problems")).to_contain_text("wf.yaml:16")
    assert emulator_stats(ui)["requests"] == {}
    assert CANARY not in seen.text() + page.content()


def test_streamed_run_shows_each_step_as_it_finishes(
    ui: UiServer, browser_page: tuple[Page, Seen]
) -> None:
    from playwright.sync_api import expect

    _write(ui)
    assert ui.emulator is not None
    # the second step answers late: long enough to see the first one's result alone
    ui.emulator.add_faults(
        {"match": {"method": "POST", "path": "/participants$"}, "action": "delay", "delay": 1.5}
    )
    page, seen = browser_page
    page.reload()
    expect(page.locator('#steps li[data-step="create_meeting"]')).to_be_visible()
    page.click("#run-btn")
    first = page.locator('.step-result[data-step="create_meeting"]')
    second = page.locator('.step-result[data-step="add_participant"]')
    expect(first).to_contain_text("ok 201")
    expect(second).to_have_attribute("data-state", "running")
    expect(page.locator("#run-status")).to_have_text("running…")
    expect(page.locator("#run-status")).to_have_text("run ok")
    expect(second).to_contain_text("ok 2")
    expect(page.locator('#steps li[data-step="add_participant"] .last')).to_contain_text("run")
    assert emulator_stats(ui)["meetings_created"] == {"acc": 1}
    page.wait_for_function("window.__rtkStreams.length === 1")
    assert "event: done" in seen.text()
    assert CANARY not in seen.text() + page.content()


def test_compare_two_recorded_runs(ui: UiServer, browser_page: tuple[Page, Seen]) -> None:
    from playwright.sync_api import expect

    _write(ui)
    page, seen = browser_page
    page.reload()
    _open_step(page, "create_meeting", "realtimekit.meetings.create")
    title = page.locator('.field[data-path="title"] input[type=text]:not(.tpl)')
    for text in ("Weekly sync", "Daily standup"):
        title.fill(text)
        expect(page.locator("#preview-request")).to_contain_text(text)
        page.click("#test-btn")
        expect(page.locator("#result-status")).to_have_text("201")
        expect(page.locator("#result-raw")).to_contain_text(text)
    runs = page.locator('#steps li[data-step="create_meeting"] details')
    expect(runs.locator("summary")).to_have_text("2 recorded runs")
    runs.locator("summary").click()
    runs.locator(".compare-btn").click()
    expect(page.locator("#compare h2")).to_have_text("Compare runs of create_meeting")
    changed = page.locator('#compare tr[data-field="request.body.title"]')
    expect(changed).to_have_class("diff")
    expect(changed).to_contain_text('"Weekly sync"')
    expect(changed).to_contain_text('"Daily standup"')
    expect(page.locator('#compare tr[data-field="status_code"]')).not_to_have_class("diff")
    expect(page.locator('#compare tr[data-field="outputs.meeting_id"]')).to_have_class("diff")
    expect(page.locator("#compare-summary")).to_contain_text("differ")
    page.locator("#compare").screenshot(path=str(SCREENSHOTS / "playground-compare.png"))
    # the same run on both sides: nothing differs
    page.locator("#compare-b").select_option(index=1)
    expect(page.locator("#compare-summary")).to_have_text("the same")
    expect(page.locator("#compare tr.diff")).to_have_count(0)
    assert CANARY not in seen.text() + page.content()


def test_test_request_runs_the_earlier_steps_first_when_asked(
    ui: UiServer, browser_page: tuple[Page, Seen]
) -> None:
    from playwright.sync_api import expect

    _write(ui)
    page, seen = browser_page
    page.reload()
    _open_step(page, "add_participant", "realtimekit.meetings.participants.add")
    # no records of create_meeting: refused, and the page says how to go on
    page.click("#test-btn")
    expect(page.locator("#result-status")).to_have_text("not sent")
    expect(page.locator("#preview-problems")).to_contain_text("run the earlier steps first")
    assert emulator_stats(ui)["requests"] == {}
    page.check("#run-earlier")
    page.click("#test-btn")
    expect(page.locator("#used-note")).to_have_text("Ran create_meeting first: ok 201")
    expect(page.locator("#result-status")).to_have_text("201")
    assert emulator_stats(ui)["meetings_created"] == {"acc": 1}
    # asked no more: the outputs just recorded are used, and the page says so
    page.uncheck("#run-earlier")
    page.click("#test-btn")
    expect(page.locator("#used-note")).to_contain_text("Using the outputs of create_meeting")
    expect(page.locator("#result-status")).to_have_text("201")
    assert emulator_stats(ui)["meetings_created"] == {"acc": 1}
    assert CANARY not in seen.text() + page.content()
