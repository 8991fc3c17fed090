"""Screenshots of each view of the playground, for docs/screenshots/ (issue 24).

Starts ``rtk-task ui`` in-process (its embedded emulator, a free loopback port) on a copy of
the README's example workflow (``rtk_task/examples/onboard-call.yaml``) in a temporary
folder, drives headless Debian Chromium (``/usr/bin/chromium``) through each view at
1280x860, and writes one PNG a view:

- ``find.png``: "create meeting" typed in the search, the matching tasks listed;
- ``fill.png``: the create-meeting task open, a title typed, the request previewed;
- ``result.png``: after Test request, the response panel;
- ``workflow.png``: the workflow panel, its steps listed, one selected in the editor;
- ``picker.png``: the ``{{`` picker open on a field of a later step (skipped, saying so,
  when it does not open);
- ``problems.png``: a field holding a value it does not allow, its problem beside it.

Every step waits on a condition (Playwright's ``expect``), never on a fixed sleep. Run from
the repository's root, in its virtual environment::

    python scripts/screenshots.py            # writes docs/screenshots/*.png
    python scripts/screenshots.py --out DIR  # elsewhere
    python scripts/screenshots.py --only fill --only result
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from rtk_task.ui import UiServer
from rtk_task.workflows.model import load_workflow

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
EXAMPLE = ROOT / "rtk_task" / "examples" / "onboard-call.yaml"
CHROMIUM = "/usr/bin/chromium"
VIEWPORT: ViewportSize = {"width": 1280, "height": 860}
TIMEOUT_MS = 15_000
CREATE_MEETING = "realtimekit.meetings.create"


class Skipped(Exception):
    """A view that could not be reached: its screenshot is skipped, saying why."""


def _open_task(page: Page, query: str, task: str) -> None:
    """Types `query` in the search and opens `task` from the results."""
    page.get_by_role("searchbox", name="Search tasks").fill(query)
    item = page.locator(f'.task-item[data-task="{task}"]')
    expect(item).to_be_visible()
    item.click()
    expect(page.locator("#read strong")).to_have_text(task)
    # the open workflow declares account_id: a new step's field is wired to that input
    expect(page.get_by_label("account_id", exact=True)).to_have_value("{{ inputs.account_id }}")
    expect(page.locator("#preview-request")).to_contain_text("/accounts/demo-account/")


def _fill_create_meeting(page: Page) -> None:
    _open_task(page, "create meeting", CREATE_MEETING)
    page.get_by_label("title", exact=True).fill("Weekly sync")
    expect(page.locator("#preview-request")).to_contain_text('"title": "Weekly sync"')


def shoot_find(page: Page, out: Path) -> None:
    """find.png: "create meeting" typed in the search box, the matching tasks listed."""
    search = page.get_by_role("searchbox", name="Search tasks")
    search.click()
    search.press_sequentially("create meeting")
    expect(page.locator(".task-item").first).to_have_attribute("data-task", CREATE_MEETING)
    page.screenshot(path=out / "find.png")


def shoot_fill(page: Page, out: Path) -> None:
    """fill.png: the create-meeting task open, a title typed, the preview following it."""
    _fill_create_meeting(page)
    expect(page.locator("#preview")).to_be_visible()
    page.screenshot(path=out / "fill.png")


def shoot_result(page: Page, out: Path) -> None:
    """result.png: Test request sent to the emulator, the response panel in view."""
    _fill_create_meeting(page)
    page.get_by_role("button", name="Test request").click()
    result = page.get_by_role("region", name="Response")
    expect(result.locator("#result-status")).to_have_text("201")
    expect(result.locator('[data-output="meeting_id"]')).to_be_visible()
    result.scroll_into_view_if_needed()
    page.screenshot(path=out / "result.png")


def _select_step(page: Page, step_id: str) -> Locator:
    """Clicks `step_id` in the workflow panel; its editor region once shown."""
    steps = page.get_by_role("list", name="Workflow steps")
    steps.get_by_role("button", name=step_id, exact=True).click()
    editor = page.get_by_role("region", name=re.compile(rf"^Step {step_id}\b"))
    expect(editor).to_be_visible()
    expect(page.locator("#read strong")).to_have_text(re.compile(r"^realtimekit\."))
    return editor


def shoot_workflow(page: Page, out: Path) -> None:
    """workflow.png: the workflow panel, its steps listed, add_host selected."""
    editor = _select_step(page, "add_host")
    # the panel's top at the window's: its steps, then the selected step's editor below them
    page.locator("#workflow").evaluate("panel => panel.scrollIntoView({block: 'start'})")
    expect(page.get_by_role("list", name="Workflow steps")).to_be_in_viewport()
    expect(editor.get_by_role("button", name="Save step")).to_be_in_viewport()
    page.screenshot(path=out / "workflow.png")


def shoot_picker(page: Page, out: Path) -> None:
    """picker.png: add_host selected, ``{{`` typed in preset_name, the references listed."""
    _select_step(page, "add_host")
    field = page.get_by_label("preset_name", exact=True)
    field.fill("{{")
    picker = page.get_by_role("listbox", name="References for preset_name")
    try:
        expect(picker).to_be_visible()
        expect(picker.get_by_role("option").first).to_contain_text("steps.create_preset")
    except AssertionError as exc:
        raise Skipped(f"the {{{{ picker did not open on add_host's preset_name: {exc}") from None
    picker.scroll_into_view_if_needed()
    page.screenshot(path=out / "picker.png")


def shoot_problems(page: Page, out: Path) -> None:
    """problems.png: summary_type set to "haiku" (not one it allows), its problem beside it."""
    _open_task(page, "create meeting", CREATE_MEETING)
    page.locator("#json-details summary").click()
    page.get_by_role("textbox", name="Inputs as JSON").fill(
        '{"account_id": "{{ inputs.account_id }}", "title": "Weekly sync",'
        ' "ai_config": {"summarization": {"summary_type": "haiku"}}}'
    )
    field = page.locator('.field[data-path="ai_config.summarization.summary_type"]')
    expect(field.locator("select:not(.pick)")).to_contain_text('"haiku" (not allowed)')
    expect(field.locator(".field-error")).to_contain_text("Input should be")
    page.locator("#json-details summary").click()  # folded again: the form in view
    expect(page.get_by_role("textbox", name="Inputs as JSON")).to_be_hidden()
    field.scroll_into_view_if_needed()
    page.screenshot(path=out / "problems.png")


VIEWS: dict[str, Callable[[Page, Path], None]] = {
    "find": shoot_find,
    "fill": shoot_fill,
    "result": shoot_result,
    "workflow": shoot_workflow,
    "picker": shoot_picker,
    "problems": shoot_problems,
}


def _shoot(browser: Browser, url: str, step_ids: list[str], name: str, out: Path) -> bool:
    """Takes the view `name` on a fresh page; False when it failed (said on stderr)."""
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(url)
        expect(page.locator("#target")).to_have_text("target: the embedded emulator")
        # the workflow drawn, so the page knows it before a task is opened
        steps = page.get_by_role("list", name="Workflow steps")
        expect(steps.locator("[data-step-button]")).to_have_text(step_ids)
        VIEWS[name](page, out)
    except Skipped as exc:
        print(f"skipped {name}.png: {exc}", file=sys.stderr)
        return True
    except (AssertionError, PlaywrightError) as exc:
        print(f"failed {name}.png: {exc}", file=sys.stderr)
        return False
    finally:
        page.close()
    if errors:
        print(f"failed {name}.png: errors in the page: {errors}", file=sys.stderr)
        return False
    print(f"wrote {out / name}.png")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs")
    parser.add_argument("--only", action="append", choices=list(VIEWS), help="these views")
    args = parser.parse_args(argv)
    out: Path = args.out
    names: list[str] = args.only or list(VIEWS)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is absent: apt-get install chromium", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=TIMEOUT_MS)
    with tempfile.TemporaryDirectory(prefix="rtk-screenshots-") as tmp:
        workflow = Path(tmp) / EXAMPLE.name
        shutil.copyfile(EXAMPLE, workflow)
        step_ids = [step.id for step in load_workflow(workflow).steps]
        with (
            UiServer(port=0, workflow_file=workflow, records_root=Path(tmp)) as ui,
            sync_playwright() as pw,
        ):
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
            try:
                done = [_shoot(browser, ui.url, step_ids, name, out) for name in names]
            finally:
                browser.close()
    return 0 if all(done) else 1


if __name__ == "__main__":
    sys.exit(main())
