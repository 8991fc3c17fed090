"""The playground's workflow editor: the README's three-step workflow built in the page alone.

In headless Chromium, against the embedded emulator, starting from no file: steps come from
the search, a step is loaded, edited and saved, one is duplicated, moved by drag and by
keyboard (a move before a step it reads is refused), given a dependant and deleted after its
dependants were listed; inputs and a secret are declared, renamed and deleted; references are
picked by typing ``{{`` (the fitting ones first, with their types and last values); an edit on
a file changed on disk is refused until the page reloads it. The workflow runs, and the saved
file parses equal to the README's first three steps. Every control is found by its label or
role (a ``<summary>`` has no ARIA role: its ``<details>`` group is clicked). The editor's JSON
API is checked over plain HTTP too: the CSRF token, the 409 on a stale hash, a refused edit
that writes nothing, and a cURL import that never sends the token back.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from rtk_task.ui import UiServer
from rtk_task.workflows.editing import text_hash
from rtk_task.workflows.yamlfile import load_yaml

from ..helpers import CANARY
from .conftest import Seen, emulator_stats

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Locator, Page

#: Slow: a real browser (CI runs every test).
pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
AXE = Path(
    os.environ.get("RTK_AXE")
    or Path.home() / ".cache" / "rtk-npm" / "node_modules" / "axe-core" / "axe.min.js"
)


def _readme_workflow() -> dict[str, Any]:
    """The README's example workflow (its first YAML block), as data."""
    block = README.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    data: dict[str, Any] = load_yaml(block, "README.md")
    assert [s["id"] for s in data["steps"][:3]] == ["create_preset", "create_meeting", "add_host"]
    return data


def _open_task(page: Page, query: str, task: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("searchbox", name="Search tasks").fill(query)
    page.get_by_role("button", name=task).first.click()
    expect(page.get_by_role("heading", name="Read")).to_be_visible()
    expect(page.get_by_text(task, exact=True).first).to_be_visible()


def _json_box(page: Page) -> Locator:
    """The Raw JSON box, unfolded (its <details> group clicked on its summary line)."""
    box = page.get_by_role("textbox", name="Inputs as JSON")
    if not box.is_visible():
        folded = page.get_by_role("textbox", name="Inputs as JSON", include_hidden=True)
        page.get_by_role("group").filter(has=folded).click(position={"x": 30, "y": 8})
    return box


def test_build_the_readme_workflow_in_the_page(
    ui: UiServer, browser_page: tuple[Page, Seen]
) -> None:
    from playwright.sync_api import expect

    page, seen = browser_page
    readme = _readme_workflow()
    steps = page.get_by_role("list", name="Workflow steps")
    status = page.get_by_role("status", name="Editor")
    declared = page.get_by_role("region", name="Declared inputs and secrets")
    step_button: Callable[[str], Locator] = lambda sid: steps.get_by_role(  # noqa: E731
        "button", name=sid, exact=True
    )

    # create_meeting, from the search: account_id left empty, so Add wires it to an input
    _open_task(page, "create meeting", "realtimekit.meetings.create")
    summarization = readme["steps"][1]["with"]["ai_config"]
    _json_box(page).fill(json.dumps({"ai_config": summarization}))
    page.get_by_role("button", name="Add to workflow").click()
    expect(page.get_by_text("Added step create_meeting")).to_be_visible()
    expect(step_button("create_meeting")).to_be_visible()
    assert ui.workflow_file is not None
    assert ui.workflow_file.exists()

    # the inputs: account_id's default; title and preset declared (one renamed from a typo);
    # a secret declared and deleted again
    declared.get_by_label("input account_id: default").fill("demo-account")
    declared.get_by_role("button", name="Save input account_id").click()
    expect(status).to_have_text("Saved input account_id.")
    for name, default in (("title", "Weekly sync"), ("presets", "host")):
        declared.get_by_label("New input name").fill(name)
        declared.get_by_label("New input default").fill(default)
        declared.get_by_role("button", name="Declare input").click()
        expect(status).to_have_text(f"Declared input {name}.")
    declared.get_by_label("input presets: name").fill("preset")
    declared.get_by_role("button", name="Save input presets").click()
    expect(status).to_have_text("Saved input preset.")
    declared.get_by_label("New secret name").fill("status_token")
    declared.get_by_label("New secret variable").fill("STATUS_TOKEN")
    declared.get_by_role("button", name="Declare secret").click()
    expect(declared.get_by_label("secret status_token: variable")).to_have_value("STATUS_TOKEN")
    declared.get_by_role("button", name="Delete secret status_token").click()
    expect(status).to_have_text("Deleted secret status_token.")

    # edit create_meeting: its title reads the input, picked by typing {{ in the field
    step_button("create_meeting").click()
    editor = page.get_by_role("region", name=re.compile(r"^Step create_meeting"))
    expect(editor).to_be_visible()
    page.get_by_label("title", exact=True).press_sequentially("{{")
    picker = page.get_by_role("listbox", name="References for title")
    expect(picker).to_be_focused()
    first = picker.get_by_role("option").first
    expect(first).to_have_text(re.compile(r"^\{\{ inputs\.title \}\} · string · default \"Weekly"))
    page.keyboard.press("Enter")
    expect(page.get_by_label("title", exact=True)).to_have_value("{{ inputs.title }}")
    editor.get_by_role("button", name="Save step").click()
    expect(status).to_have_text("Saved step create_meeting.")
    # a Test request records its outputs: the picker shows them as last values
    page.get_by_role("button", name="Test request").click()
    expect(page.get_by_role("region", name="Response")).to_contain_text("201")

    # create_preset, from the search; its values as JSON (a `logo: ""` the form keeps)
    _open_task(page, "create preset", "realtimekit.presets.create")
    # a new step's account_id is wired to the input of that name, as `rtk-task add` does
    expect(page.get_by_label("account_id", exact=True)).to_have_value("{{ inputs.account_id }}")
    _json_box(page).fill(json.dumps(readme["steps"][0]["with"]))
    page.get_by_role("button", name="Add to workflow").click()
    expect(page.get_by_text("Added step create_preset")).to_be_visible()

    # reorder by keyboard: create_preset first, the focus staying on it
    step_button("create_preset").focus()
    page.keyboard.press("Alt+ArrowUp")
    expect(status).to_have_text("Moved create_preset to position 1.")
    expect(steps.locator("[data-step-button]")).to_have_text(["create_preset", "create_meeting"])
    expect(step_button("create_preset")).to_be_focused()

    # the participant: meeting_id pre-filled from create_meeting; preset_name picked
    _open_task(page, "participant", "realtimekit.meetings.participants.add")
    meeting = "{{ steps.create_meeting.outputs.meeting_id }}"
    expect(page.get_by_label("meeting_id", exact=True)).to_have_value(meeting)
    page.get_by_label("preset_name", exact=True).press_sequentially("{{")
    picker = page.get_by_role("listbox", name="References for preset_name")
    expect(picker.get_by_role("option").first).to_contain_text(
        "{{ steps.create_preset.outputs.name }} · string"
    )
    last = picker.get_by_role("option", name=re.compile(r"create_meeting\.outputs\.meeting_id"))
    expect(last).to_have_text(re.compile(rf'· string · last "{UUID}"$'))
    picker.get_by_role("option", name=re.compile(r"create_preset\.outputs\.name")).click()
    page.get_by_label("custom_participant_id", exact=True).fill("host@example.com")
    page.get_by_label("name", exact=True).fill("Host")
    page.get_by_role("button", name="Add to workflow").click()
    expect(page.get_by_text("Added step add_participant")).to_be_visible()

    # rename it add_host and give it its output
    step_button("add_participant").click()
    editor = page.get_by_role("region", name=re.compile(r"^Step add_participant"))
    editor.get_by_label("New step id").fill("add_host")
    editor.get_by_role("button", name="Rename step").click()
    expect(status).to_have_text("Renamed add_participant to add_host.")
    editor = page.get_by_role("region", name=re.compile(r"^Step add_host"))
    editor.get_by_label(re.compile("^outputs")).fill("token: {{ response.body.data.token }}")
    editor.get_by_role("button", name="Save step").click()
    expect(status).to_have_text("Saved step add_host.")

    # a move before a step it reads is refused, and nothing moves
    step_button("add_host").focus()
    page.keyboard.press("Alt+ArrowUp")
    expect(status).to_contain_text("would come before create_meeting, whose outputs it reads")
    expect(steps.locator("[data-step-button]")).to_have_text(
        ["create_preset", "create_meeting", "add_host"]
    )

    # duplicate create_meeting, drag the copy to the top, make add_host wait for it
    step_button("create_meeting").click()
    page.get_by_role("region", name=re.compile(r"^Step create_meeting")).get_by_role(
        "button", name="Duplicate step"
    ).click()
    expect(status).to_have_text("Duplicated create_meeting as create_meeting_copy.")
    item: Callable[[str], Locator] = lambda sid: steps.get_by_role("listitem").filter(  # noqa: E731
        has=page.get_by_role("button", name=sid, exact=True)
    )
    steps.scroll_into_view_if_needed()  # both ends of the drag in view: no scroll midway
    item("create_meeting_copy").drag_to(item("create_preset"))
    expect(steps.locator("[data-step-button]")).to_have_text(
        ["create_meeting_copy", "create_preset", "create_meeting", "add_host"]
    )
    step_button("add_host").click()
    editor = page.get_by_role("region", name=re.compile(r"^Step add_host"))
    editor.get_by_role("button", name="Advanced").click()
    editor.get_by_label("depends_on").fill("create_meeting_copy")
    editor.get_by_role("button", name="Save step").click()
    expect(status).to_have_text("Saved step add_host.")
    assert "depends_on: [create_meeting_copy]" in ui.workflow_file.read_text(encoding="utf-8")

    # delete create_meeting: its dependants are listed; confirmed, the check refuses it
    step_button("create_meeting").click()
    page.get_by_role("region", name=re.compile(r"^Step create_meeting\b")).get_by_role(
        "button", name="Delete step"
    ).click()
    dialog = page.get_by_role("dialog", name="Delete step create_meeting?")
    expect(dialog.get_by_role("listitem")).to_have_text(["add_host"])
    before = ui.workflow_file.read_text(encoding="utf-8")
    dialog.get_by_role("button", name="Delete").click()
    expect(status).to_contain_text("steps.add_host.with.meeting_id")
    assert ui.workflow_file.read_text(encoding="utf-8") == before

    # delete the copy: add_host only waited for it, and stops waiting
    step_button("create_meeting_copy").click()
    page.get_by_role("region", name=re.compile(r"^Step create_meeting_copy")).get_by_role(
        "button", name="Delete step"
    ).click()
    dialog = page.get_by_role("dialog", name="Delete step create_meeting_copy?")
    expect(dialog.get_by_role("listitem")).to_have_text(["add_host"])
    dialog.get_by_role("button", name="Delete").click()
    expect(status).to_have_text("Deleted step create_meeting_copy.")
    expect(steps.locator("[data-step-button]")).to_have_text(
        ["create_preset", "create_meeting", "add_host"]
    )

    # someone edits the file meanwhile: the page's next edit is refused until it reloads
    ui.workflow_file.write_text(
        "# edited elsewhere\n" + ui.workflow_file.read_text(encoding="utf-8"), encoding="utf-8"
    )
    declared.get_by_label("input title: default").fill("Weekly sync")
    declared.get_by_role("button", name="Save input title").click()
    expect(status).to_contain_text("changed on disk since the page read it: reload")
    assert ui.workflow_file.read_text(encoding="utf-8").startswith("# edited elsewhere\n")
    status.get_by_role("button", name="Reload").click()
    expect(status).to_have_text("Reloaded.")

    # run it
    page.get_by_role("button", name="Run workflow").click()
    expect(page.get_by_text("run ok", exact=True)).to_be_visible()
    stats = emulator_stats(ui)
    assert stats["meetings_created"] == {"demo-account": 2}, stats

    saved = load_yaml(ui.workflow_file.read_text(encoding="utf-8"), "wf.yaml")
    assert saved == {"name": "wf", "inputs": readme["inputs"], "steps": readme["steps"][:3]}
    assert ui.workflow_file.read_text(encoding="utf-8").startswith("# edited elsewhere\n")
    assert CANARY not in seen.text() + page.content()


# -- the API ----------------------------------------------------------------------------------

_WORKFLOW = """\
name: chain
inputs:
  account: {type: string, default: acc}  # kept
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with: {account_id: "{{ inputs.account }}", title: Weekly sync}
  - id: add_participant
    task: realtimekit.meetings.participants.add
    with:
      account_id: acc
      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"
      preset_name: host
      custom_participant_id: host@example.com
"""


def _session(ui: UiServer) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=ui.url, timeout=30)
    csrf = client.get("/api/session").json()["csrf"]
    return client, {"x-csrf-token": csrf, "origin": ui.url.rstrip("/")}


def test_the_edit_api(ui: UiServer) -> None:
    assert ui.workflow_file is not None
    ui.workflow_file.write_text(_WORKFLOW, encoding="utf-8")
    client, headers = _session(ui)
    view = client.get("/api/workflow").json()["workflow"]
    assert view["hash"] == text_hash(_WORKFLOW)
    by_id = {s["id"]: s for s in view["steps"]}
    assert by_id["create_meeting"]["dependants"] == ["add_participant"]
    assert by_id["create_meeting"]["output_types"]["meeting_id"] == "string"

    rename = {"step_id": "create_meeting", "new_id": "meeting", "hash": view["hash"]}
    assert client.post("/api/edit/rename", json=rename).status_code == 403  # no CSRF token
    answer = client.post("/api/edit/rename", json=rename, headers=headers)
    assert answer.status_code == 200, answer.text
    text = ui.workflow_file.read_text(encoding="utf-8")
    assert "steps.meeting.outputs.meeting_id" in text
    assert "account: {type: string, default: acc}  # kept" in text

    # the old hash: refused, nothing written
    again = client.post("/api/edit/rename", json={**rename, "new_id": "m2"}, headers=headers)
    assert again.status_code == 409
    assert again.json()["conflict"] is True
    assert "changed on disk" in again.json()["error"]["message"]
    assert ui.workflow_file.read_text(encoding="utf-8") == text

    # a problem the edit would bring: 400 naming the field, nothing written
    fresh = answer.json()["workflow"]["hash"]
    bad = {"step_id": "meeting", "hash": fresh, "with": {"account_id": "acc", "title": 5}}
    refused = client.post("/api/edit/step", json=bad, headers=headers)
    assert refused.status_code == 400
    assert "steps.meeting.with.title" in refused.json()["error"]["message"]
    assert ui.workflow_file.read_text(encoding="utf-8") == text

    # delete without confirm: the dependants come back, nothing deleted
    ask = client.post(
        "/api/edit/delete", json={"step_id": "meeting", "hash": fresh}, headers=headers
    )
    assert ask.json()["deleted"] is False
    assert ask.json()["dependants"] == ["add_participant"]
    assert ui.workflow_file.read_text(encoding="utf-8") == text

    # a secret is a variable's name: a value is refused
    secret = {"name": "hook", "env": "sk live 123", "hash": fresh}
    assert client.post("/api/edit/secret", json=secret, headers=headers).status_code == 400


def test_a_curl_import_keeps_the_token_out(ui: UiServer) -> None:
    assert ui.workflow_file is not None
    ui.workflow_file.write_text(_WORKFLOW, encoding="utf-8")
    client, headers = _session(ui)
    command = (
        "curl http://127.0.0.1:8787/client/v4/accounts/acc/realtimekit/meetings -X POST "
        f"-H 'Authorization: Bearer {CANARY}' -d '{{\"title\": \"Standup\"}}'"
    )
    answer = client.post("/api/edit/import-curl", json={"command": command}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert CANARY not in answer.text
    text = ui.workflow_file.read_text(encoding="utf-8")
    assert CANARY not in text
    assert answer.json()["step_id"] == "create_meeting_2"
    assert "create_meeting_2" in [s["id"] for s in answer.json()["workflow"]["steps"]]
    broken = client.post(
        "/api/edit/import-curl", json={"command": f"curl 'http://a/{CANARY}"}, headers=headers
    )
    assert broken.status_code == 400
    assert CANARY not in broken.text


_SERIOUS = """
async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
  .filter((v) => v.impact === "serious" || v.impact === "critical")
  .map((v) => `${v.id}: ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)
"""


def test_the_editor_views_pass_axe(ui: UiServer, browser_page: tuple[Page, Seen]) -> None:
    """axe-core finds nothing serious with a step selected, the picker open, the delete
    dialog open (skipped, saying so, without axe-core; failed in CI)."""
    from playwright.sync_api import expect

    if not AXE.is_file():
        message = f"{AXE} is absent: npm install --prefix ~/.cache/rtk-npm axe-core@4"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    assert ui.workflow_file is not None
    ui.workflow_file.write_text(_WORKFLOW, encoding="utf-8")
    page, _ = browser_page
    page.reload()
    page.evaluate(AXE.read_text(encoding="utf-8"))
    steps = page.get_by_role("list", name="Workflow steps")
    steps.get_by_role("button", name="add_participant").click()
    editor = page.get_by_role("region", name=re.compile("^Step add_participant"))
    editor.get_by_role("button", name="Advanced").click()
    expect(editor.get_by_label("retry (JSON)")).to_be_visible()
    assert page.evaluate(_SERIOUS) == []

    page.get_by_label("preset_name", exact=True).fill("{{")
    expect(page.get_by_role("listbox", name="References for preset_name")).to_be_focused()
    assert page.evaluate(_SERIOUS) == []
    page.keyboard.press("Escape")
    expect(page.get_by_label("preset_name", exact=True)).to_be_focused()

    editor.get_by_role("button", name="Delete step").click()
    dialog = page.get_by_role("dialog", name="Delete step add_participant?")
    expect(dialog).to_be_visible()
    assert page.evaluate(_SERIOUS) == []
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert "id: add_participant" in ui.workflow_file.read_text(encoding="utf-8")
