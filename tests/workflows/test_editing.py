"""Editing a workflow file as the playground's editor does: each edit changes only the lines it
means to (compared with difflib), keeps the comments and flow mappings around them, leaves a
file that passes the check, and writes nothing when it is refused (a problem it would bring,
or a file changed on disk since it was read)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from rtk_task.errors import WorkflowError
from rtk_task.workflows import editing
from rtk_task.workflows.check import check_workflow
from rtk_task.workflows.model import parse_workflow

WORKFLOW = """\
# A chain, written by hand.
name: chain
inputs:
  account: {type: string, default: acc}  # where it all goes
  title: {type: string, default: Weekly sync}
secrets:
  hook: HOOK_TOKEN
steps:
  - id: create_meeting  # first
    task: realtimekit.meetings.create
    with: {account_id: "{{ inputs.account }}", title: "{{ inputs.title }}"}
  # the host joins it
  - id: add_participant
    task: realtimekit.meetings.participants.add
    with:
      account_id: acc  # a literal, on purpose
      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"
      preset_name: host
      custom_participant_id: host@example.com
  - id: get_meeting
    task: realtimekit.meetings.get
    depends_on: [add_participant]
    with:
      account_id: "{{ inputs.account }}"
      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"
outputs:
  meeting: "{{ steps.create_meeting.outputs.meeting_id }}"
"""
_ADD = WORKFLOW.split("  - id: add_participant\n")[1].split("  - id: get_meeting\n", 1)[0]
ADD_PARTICIPANT = ["  - id: add_participant", *_ADD.splitlines()]
GET_MEETING = WORKFLOW.split("  - id: get_meeting\n")[1].split("outputs:\n", 1)[0]


def _diff(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines removed and the lines added, in order."""
    lines = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    removed = [x[2:] for x in lines if x.startswith("- ")]
    return removed, [x[2:] for x in lines if x.startswith("+ ")]


def _passes(text: str) -> None:
    report = check_workflow(parse_workflow(text, "wf.yaml"))
    assert report.ok, report.problems


def test_the_sample_passes_the_check() -> None:
    _passes(WORKFLOW)


def test_update_replaces_with_and_outputs_changing_only_those_lines() -> None:
    new = editing.update_step(
        WORKFLOW,
        "add_participant",
        {
            "with": {
                "account_id": "acc",
                "meeting_id": "{{ steps.create_meeting.outputs.meeting_id }}",
                "preset_name": "guest",
                "custom_participant_id": "host@example.com",
            },
            "outputs": {"token": "{{ response.body.data.token }}"},
        },
    )
    assert _diff(WORKFLOW, new) == (
        ["      preset_name: host"],
        [
            "      preset_name: guest",
            "    outputs:",
            '      token: "{{ response.body.data.token }}"',
        ],
    )
    assert "account_id: acc  # a literal, on purpose" in new
    _passes(new)


def test_update_inside_a_flow_mapping_changes_that_line_alone() -> None:
    with_ = {"account_id": "{{ inputs.account }}", "title": "Retro"}
    new = editing.update_step(WORKFLOW, "create_meeting", {"with": with_})
    assert _diff(WORKFLOW, new) == (
        ['    with: {account_id: "{{ inputs.account }}", title: "{{ inputs.title }}"}'],
        ['    with: {account_id: "{{ inputs.account }}", title: "Retro"}'],  # quoted as it was
    )
    _passes(new)


def test_update_sets_and_removes_the_advanced_keys() -> None:
    new = editing.update_step(
        WORKFLOW,
        "get_meeting",
        {
            "depends_on": None,
            "when": "{{ inputs.title != '' }}",
            "retry": {"max_attempts": 3},
            "until": {"condition": "{{ response.status_code == 200 }}", "interval": 1},
        },
    )
    removed, added = _diff(WORKFLOW, new)
    assert removed == ["    depends_on: [add_participant]"]
    assert added == [
        "    when: \"{{ inputs.title != '' }}\"",
        "    retry: {max_attempts: 3}",
        "    until:",
        '      condition: "{{ response.status_code == 200 }}"',
        "      interval: 1",
    ]
    _passes(new)
    with pytest.raises(WorkflowError, match=r"steps\.get_meeting\.id: cannot be set here"):
        editing.update_step(WORKFLOW, "get_meeting", {"id": "x"})


def test_rename_rewrites_every_reference_and_depends_on() -> None:
    new = editing.rename_step(WORKFLOW, "create_meeting", "meeting")
    removed, added = _diff(WORKFLOW, new)
    assert removed == [
        "  - id: create_meeting  # first",
        '      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"',
        '      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"',
        '  meeting: "{{ steps.create_meeting.outputs.meeting_id }}"',
    ]
    assert added == [line.replace("create_meeting", "meeting") for line in removed]
    _passes(new)

    new = editing.rename_step(WORKFLOW, "add_participant", "add_host")
    assert _diff(WORKFLOW, new) == (
        ["  - id: add_participant", "    depends_on: [add_participant]"],
        ["  - id: add_host", "    depends_on: [add_host]"],
    )
    _passes(new)
    with pytest.raises(WorkflowError, match="exists already"):
        editing.rename_step(WORKFLOW, "add_participant", "get_meeting")
    with pytest.raises(WorkflowError, match="not a valid step id"):
        editing.rename_step(WORKFLOW, "add_participant", "add host")


def test_duplicate_adds_the_copy_after_its_step_and_nothing_else() -> None:
    new, made = editing.duplicate_step(WORKFLOW, "add_participant")
    assert made == "add_participant_copy"
    removed, added = _diff(WORKFLOW, new)
    assert removed == []
    assert added == [
        "  - id: add_participant_copy",
        *[line.split("  #")[0] for line in ADD_PARTICIPANT[1:]],
    ]
    assert new.index("id: add_participant_copy") < new.index("id: get_meeting")
    _passes(new)
    _, second = editing.duplicate_step(new, "add_participant")
    assert second == "add_participant_copy_2"


def test_dependants_and_delete() -> None:
    assert editing.dependants(WORKFLOW, "create_meeting") == ["add_participant", "get_meeting"]
    assert editing.dependants(WORKFLOW, "add_participant") == ["get_meeting"]
    assert editing.dependants(WORKFLOW, "get_meeting") == []

    new, found = editing.delete_step(WORKFLOW, "add_participant")
    assert found == ["get_meeting"]  # it only waited for it: its depends_on goes too
    removed, added = _diff(WORKFLOW, new)
    assert added == []
    # the comment above it goes with it
    assert removed == [
        "  # the host joins it",
        *ADD_PARTICIPANT,
        "    depends_on: [add_participant]",
    ]
    _passes(new)

    new, found = editing.delete_step(WORKFLOW, "get_meeting")
    assert found == []
    assert _diff(WORKFLOW, new) == (["  - id: get_meeting", *GET_MEETING.splitlines()], [])
    _passes(new)


def test_move_reorders_and_refuses_a_step_before_one_it_reads() -> None:
    new = editing.move_steps(WORKFLOW, ["create_meeting", "get_meeting", "add_participant"])
    head, rest = WORKFLOW.split("  # the host joins it\n")
    add, rest = rest.split("  - id: get_meeting\n")
    get, tail = rest.split("outputs:\n")
    # the steps' lines move, the comment above a step with it; no line is changed
    assert new == f"{head}  - id: get_meeting\n{get}  # the host joins it\n{add}outputs:\n{tail}"
    _passes(new)
    assert editing.move_steps(WORKFLOW, ["create_meeting", "add_participant", "get_meeting"]) == (
        WORKFLOW
    )
    with pytest.raises(WorkflowError) as caught:
        editing.move_steps(WORKFLOW, ["add_participant", "create_meeting", "get_meeting"])
    assert caught.value.first.where == "steps.add_participant"
    assert "before create_meeting, whose outputs it reads" in caught.value.first.message
    with pytest.raises(WorkflowError, match="every step once"):
        editing.move_steps(WORKFLOW, ["create_meeting"])


def test_inputs_declared_edited_renamed_and_deleted() -> None:
    new = editing.set_input(WORKFLOW, "count", "integer", 3)
    assert _diff(WORKFLOW, new) == ([], ["  count: {type: integer, default: 3}"])
    _passes(new)

    new = editing.set_input(WORKFLOW, "title", "string", "Retro", rename_from="title")
    assert _diff(WORKFLOW, new) == (
        ["  title: {type: string, default: Weekly sync}"],
        ["  title: {type: string, default: Retro}"],
    )
    new = editing.set_input(WORKFLOW, "account", "string", None, rename_from="account")
    assert _diff(WORKFLOW, new)[1] == ["  account: {type: string}  # where it all goes"]

    new = editing.set_input(WORKFLOW, "heading", "string", "Weekly sync", rename_from="title")
    assert _diff(WORKFLOW, new) == (  # the declaration and the one template reading it
        [
            "  title: {type: string, default: Weekly sync}",
            '    with: {account_id: "{{ inputs.account }}", title: "{{ inputs.title }}"}',
        ],
        [
            "  heading: {type: string, default: Weekly sync}",
            '    with: {account_id: "{{ inputs.account }}", title: "{{ inputs.heading }}"}',
        ],
    )
    _passes(new)

    with pytest.raises(WorkflowError, match="exists already"):
        editing.set_input(WORKFLOW, "title", "string")
    with pytest.raises(WorkflowError) as caught:
        editing.set_input(WORKFLOW, "n", "int")
    assert caught.value.first.where == "inputs.n.type"

    unused = editing.set_input(WORKFLOW, "spare", "boolean", False)
    assert editing.delete_input(unused, "spare") == WORKFLOW


def test_secrets_are_names_of_variables() -> None:
    new = editing.set_secret(WORKFLOW, "status", "STATUS_TOKEN")
    assert _diff(WORKFLOW, new) == ([], ["  status: STATUS_TOKEN"])
    _passes(new)
    renamed = editing.set_secret(new, "status_token", "STATUS_TOKEN", rename_from="status")
    assert _diff(new, renamed) == (["  status: STATUS_TOKEN"], ["  status_token: STATUS_TOKEN"])
    assert editing.delete_secret(new, "status") == WORKFLOW
    with pytest.raises(WorkflowError, match="name of an environment variable"):
        editing.set_secret(WORKFLOW, "status", "sk-live abc123")
    # a file without secrets gets them before its steps
    bare = WORKFLOW.replace("secrets:\n  hook: HOOK_TOKEN\n", "")
    new = editing.set_secret(bare, "hook", "HOOK_TOKEN")
    assert new == WORKFLOW


def _file(tmp_path: Path, text: str = WORKFLOW) -> Path:
    path = tmp_path / "wf.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_edit_file_writes_the_checked_text(tmp_path: Path) -> None:
    path = _file(tmp_path)
    seen = editing.text_hash(WORKFLOW)
    made = editing.edit_file(path, seen, lambda t: editing.duplicate_step(t, "get_meeting"))
    assert made == "get_meeting_copy"
    text = path.read_text(encoding="utf-8")
    assert "id: get_meeting_copy" in text
    _passes(text)
    assert not list(tmp_path.glob(".wf.yaml.*.tmp"))  # written through a rename


def test_a_file_changed_on_disk_is_never_overwritten(tmp_path: Path) -> None:
    path = _file(tmp_path)
    seen = editing.text_hash(WORKFLOW)
    theirs = WORKFLOW.replace("preset_name: host", "preset_name: guest")
    path.write_text(theirs, encoding="utf-8")  # someone else's edit, after the page read it
    with pytest.raises(editing.EditConflict) as caught:
        editing.edit_file(path, seen, lambda t: (editing.rename_step(t, "get_meeting", "g"), None))
    assert "changed on disk since the page read it: reload" in caught.value.first.message
    assert path.read_text(encoding="utf-8") == theirs


def test_an_edit_bringing_a_problem_writes_nothing(tmp_path: Path) -> None:
    path = _file(tmp_path)
    stat = os.stat(path)
    seen = editing.text_hash(WORKFLOW)
    bad = {
        "with": {
            "account_id": "acc",
            "meeting_id": "{{ steps.create_meeting.outputs.meeting_id }}",
            "preset_name": 7,
            "custom_participant_id": "host@example.com",
        }
    }
    with pytest.raises(WorkflowError) as caught:
        editing.edit_file(
            path, seen, lambda t: (editing.update_step(t, "add_participant", bad), None)
        )
    assert caught.value.first.message.startswith("steps.add_participant.with.preset_name:")
    assert caught.value.first.where.startswith(f"{path}:")

    # deleting a step others read, or an input a template reads: refused too
    with pytest.raises(WorkflowError, match=r"steps\.add_participant\.with\.meeting_id"):
        editing.edit_file(path, seen, lambda t: editing.delete_step(t, "create_meeting"))
    with pytest.raises(WorkflowError, match="undeclared input 'title'"):
        editing.edit_file(path, seen, lambda t: (editing.delete_input(t, "title"), None))
    assert path.read_text(encoding="utf-8") == WORKFLOW
    assert os.stat(path).st_mtime_ns == stat.st_mtime_ns


def test_a_problem_the_file_had_before_does_not_block_another_edit(tmp_path: Path) -> None:
    broken = WORKFLOW.replace("preset_name: host", "preset_name: 7")
    path = _file(tmp_path, broken)
    editing.edit_file(
        path, editing.text_hash(broken), lambda t: (editing.set_input(t, "n", "integer"), None)
    )
    assert "  n: {type: integer}" in path.read_text(encoding="utf-8")


def test_an_edit_that_changes_nothing_gives_the_file_back() -> None:
    example = Path(__file__).resolve().parents[2] / "rtk_task" / "examples" / "onboard-call.yaml"
    text = example.read_text(encoding="utf-8")
    same = parse_workflow(text).step("add_host")
    fields = {"with": same.with_, "outputs": same.outputs, "when": None, "retry": None}
    assert editing.update_step(text, "add_host", fields) == text


def test_the_files_own_indentation_is_kept() -> None:
    text = (
        "name: wide\n"
        "inputs:\n"
        "    n: {type: integer}\n"
        "steps:\n"
        "- id: one\n"
        "  task: realtimekit.meetings.create\n"
        "  with:\n"
        "      account_id: acc\n"
    )
    new = editing.update_step(text, "one", {"with": {"account_id": "acc", "title": "T"}})
    assert new == text + "      title: T\n"
