"""Issue 24, item 7: `add` (and an import's `add_steps`) only adds lines: every line already in
the workflow stays byte for byte (flow mappings, quotes, comments, long lines, odd indentation,
CRLF line ends), and no lock file is left beside it, whether the edit lands or is refused."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from rtk_task.errors import WorkflowError
from rtk_task.workflows.authoring import add_step, add_steps
from rtk_task.workflows.model import load_workflow

from ..helpers import run_cli

#: Everything `add` used to reflow: comments, flow mappings, both quotes, a line past 80
#: columns, 3-space nesting under 4-space items, blank lines between steps, a key after steps.
ODD = """\
# a hand-written workflow
name: odd   # spaced comment
description: "A description long enough to be folded by a writer that wraps at 80 columns"
inputs:
   account_id:   {type: string,   default: 'acc'}  # single quotes
   title: {type: string, default: "Weekly sync"}
steps:
    -   id: create_meeting   # the first
        task: realtimekit.meetings.create
        with: {account_id: "{{inputs.account_id}}", title: '{{inputs.title}}', persist_chat: false}

    -   id: get_it
        task: realtimekit.meetings.get
        with:
           account_id: "{{ inputs.account_id }}"
           meeting_id:    "{{ steps.create_meeting.outputs.meeting_id }}"
        # a note about get_it

# the outputs
outputs:
  meeting: "{{ steps.create_meeting.outputs.meeting_id }}"
"""


def _only_added(before: str, after: str) -> list[str]:
    """The lines added; fails if any line of ``before`` was changed or removed."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    diff = "".join(difflib.unified_diff(old, new))
    added: list[str] = []
    for op, _, _, j1, j2 in matcher.get_opcodes():
        assert op in ("equal", "insert"), f"a line was changed or removed:\n{diff}"
        if op == "insert":
            added += new[j1:j2]
    assert added, "nothing was added"
    return added


def _no_litter(folder: Path) -> None:
    left = sorted(p.name for p in folder.iterdir() if p.name.endswith((".lock", ".tmp")))
    assert not left, f"left beside the workflow: {left}"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_add_changes_no_line_of_an_odd_file(tmp_path: Path, newline: str) -> None:
    wf = tmp_path / "wf.yaml"
    before = ODD.replace("\n", newline)
    wf.write_bytes(before.encode())
    done = run_cli(
        "add", "realtimekit.meetings.participants.add", "--workflow", "wf.yaml", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    after = wf.read_bytes().decode()
    added = _only_added(before, after)
    assert all(line.endswith(newline) for line in after.splitlines(keepends=True))
    if newline == "\n":
        assert "\r" not in after
    text = "".join(added)
    # the new step is an item of `steps` at the file's indentation, and its new inputs declared
    assert "    -   id: add_participant" + newline in added, text
    assert "           meeting_id: '{{ steps.get_it.outputs.meeting_id }}'" + newline in added
    assert "   preset_name: {type: string}" + newline in added, text
    workflow = load_workflow(wf)
    assert [s.id for s in workflow.steps] == ["create_meeting", "get_it", "add_participant"]
    assert {"preset_name", "custom_participant_id"} <= set(workflow.inputs)
    assert list(workflow.outputs) == ["meeting"]
    _no_litter(tmp_path)


def test_adds_in_a_row_each_only_add(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(ODD)
    for task in ("realtimekit.meetings.get", "realtimekit.meetings.get", "realtimekit.apps.list"):
        before = wf.read_text()
        add_step(wf, task)
        _only_added(before, wf.read_text())
    ids = [s.id for s in load_workflow(wf).steps]
    assert ids == ["create_meeting", "get_it", "get_meeting", "get_meeting_2", "list_apps"]
    _no_litter(tmp_path)


def test_a_flow_inputs_mapping_changes_only_on_its_own_line(tmp_path: Path) -> None:
    before = (
        "name: flow\n"
        "inputs: {account_id: {type: string}}  # all of them\n"
        "steps:\n"
        "- {id: one, task: realtimekit.apps.list, with: {account_id: '{{ inputs.account_id }}'}}\n"
    )
    wf = tmp_path / "wf.yaml"
    wf.write_text(before)
    add_step(wf, "realtimekit.meetings.get", "two")
    after = wf.read_text()
    old, new = before.splitlines(), after.splitlines()
    changed = [line for line in difflib.ndiff(old, new) if line.startswith("- ")]
    assert changed == ["- inputs: {account_id: {type: string}}  # all of them"]
    assert (
        new[1] == "inputs: {account_id: {type: string}, meeting_id: {type: string}}  # all of them"
    )
    assert new[3] == old[3]
    assert new[4:] == [
        "- id: two",
        "  task: realtimekit.meetings.get",
        "  with:",
        "    account_id: '{{ inputs.account_id }}'",
        "    meeting_id: '{{ inputs.meeting_id }}'",
    ]
    assert [s.id for s in load_workflow(wf).steps] == ["one", "two"]


def test_missing_inputs_and_secrets_are_added_above_steps_and_its_comment(tmp_path: Path) -> None:
    before = (
        "name: imported\n"
        "# what runs\n"
        "steps:\n"
        "  - id: ping\n"
        "    task: http\n"
        "    with: {url: 'https://status.example.com/'}\n"
        "...\n"
    )
    wf = tmp_path / "wf.yaml"
    wf.write_text(before)
    step = {
        "id": "ping",
        "task": "http",
        "with": {
            "url": "https://status.example.com/{{ inputs.page }}",
            "headers": {"Authorization": "Bearer {{ secrets.status_token }}"},
        },
    }
    added = add_steps(wf, [step], {"page": {"type": "string"}}, {"status_token": "STATUS_TOKEN"})
    assert added == ["ping_2"]
    after = wf.read_text()
    _only_added(before, after)
    assert after.startswith(
        "name: imported\ninputs:\n  page: {type: string}\nsecrets:\n  status_token: STATUS_TOKEN\n"
        "# what runs\nsteps:\n"
    ), after
    assert after.endswith("Bearer {{ secrets.status_token }}\n...\n"), after
    assert [s.id for s in load_workflow(wf).steps] == ["ping", "ping_2"]


def test_a_file_without_a_final_line_end_gets_one(tmp_path: Path) -> None:
    before = "name: n\nsteps:\n  - id: a\n    task: realtimekit.apps.list\n    with: {}"
    wf = tmp_path / "wf.yaml"
    wf.write_text(before)
    add_step(wf, "realtimekit.apps.list", "b")
    after = wf.read_text()
    _only_added(before + "\n", after)
    assert "    with: {}\n  - id: b\n" in after, after


def test_a_shape_taking_no_insertion_is_written_anew_and_loads_the_same(tmp_path: Path) -> None:
    # a kept block scalar ends the steps: a line added after it would join its value
    before = (
        "name: keep  # kept\n"
        "steps:\n"
        "  - id: a\n"
        "    task: http\n"
        "    with:\n"
        "      url: 'https://example.com/'\n"
        "      method: POST\n"
        "      body: |+\n"
        "        line\n"
        "\n"
    )
    wf = tmp_path / "wf.yaml"
    wf.write_text(before)
    add_step(wf, "realtimekit.apps.list", "b")
    workflow = load_workflow(wf)
    assert [s.id for s in workflow.steps] == ["a", "b"]
    assert workflow.steps[0].with_["body"] == "line\n\n"
    assert "# kept" in wf.read_text()
    assert "url: 'https://example.com/'" in wf.read_text(), "quotes were changed"


def test_no_lock_file_is_left_when_an_add_is_refused(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(ODD)
    with pytest.raises(WorkflowError):
        add_step(wf, "realtimekit.meetings.get", "get_it")  # the id is taken
    (tmp_path / "broken.yaml").write_text("name: [\n")
    with pytest.raises(WorkflowError):
        add_step(tmp_path / "broken.yaml", "realtimekit.meetings.get")
    assert wf.read_text() == ODD
    _no_litter(tmp_path)


def test_no_lock_file_is_left_by_the_cli_add_or_import(tmp_path: Path) -> None:
    done = run_cli("add", "realtimekit.apps.list", "--workflow", "new.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    again = run_cli("add", "realtimekit.apps.list", "--workflow", "new.yaml", "--id", "list_apps",
                    cwd=tmp_path)  # fmt: skip
    assert again.returncode == 2
    imported = run_cli(
        "import", "curl", "curl https://status.example.com/v1", "--workflow", "new.yaml",
        cwd=tmp_path,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".rtk-task") == ["new.yaml"]


def test_a_new_input_block_goes_after_new_secrets_of_an_existing_block(tmp_path: Path) -> None:
    before = (
        "---\n"
        "name: s\n"
        "secrets:\n"
        "  old: OLD_TOKEN\n"
        "steps:\n"
        "  - id: s\n"
        "    task: http\n"
        "    with: {url: 'https://a.example/'}\n"
    )
    wf = tmp_path / "wf.yaml"
    wf.write_text(before)
    step = {
        "id": "t",
        "task": "http",
        "with": {
            "url": "https://a.example/{{ inputs.page }}",
            "headers": {"Authorization": "Bearer {{ secrets.new }}"},
        },
    }
    add_steps(wf, [step], {"page": {"type": "string"}}, {"new": "NEW_TOKEN"})
    after = wf.read_text()
    _only_added(before, after)
    assert "  old: OLD_TOKEN\n  new: NEW_TOKEN\ninputs:\n  page: {type: string}\nsteps:\n" in after
    workflow = load_workflow(wf)
    assert workflow.secrets == {"old": "OLD_TOKEN", "new": "NEW_TOKEN"}
    assert list(workflow.inputs) == ["page"]
