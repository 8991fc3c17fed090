"""Issue 14: a whole workflow checked before its first request, every problem with its line."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from rtk_task.errors import WorkflowError
from rtk_task.workflows.check import CheckReport, check_workflow
from rtk_task.workflows.export import export_workflow
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.render import environment
from rtk_task.workflows.runner import run_workflow

GOOD = """\
name: checked
inputs:
  account_id: {type: string}
  width: {type: integer, default: 640}
  title: {type: string, default: Standup}
steps:
  - id: create
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account_id }}"
      title: "{{ inputs.title }}"
      recording_config:
        video_config:
          width: "{{ inputs.width }}"
  - id: add
    task: realtimekit.meetings.participants.add
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.create.outputs.meeting_id }}"
      preset_name: host
      custom_participant_id: "host-{{ inputs.title }}"
    outputs:
      token: "{{ response.body.data.token }}"
  - id: get
    task: realtimekit.meetings.get
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.create.outputs.meeting_id }}"
"""


def check(text: str, inputs: dict[str, Any] | None = None) -> CheckReport:
    return check_workflow(parse_workflow(text, "wf.yaml", references=False), inputs)


def edited(old: str, new: str, text: str = GOOD) -> str:
    out = text.replace(old, new, 1)
    assert out != text, f"the edit {old!r} did not apply"
    return out


def one(report: CheckReport) -> str:
    assert len(report.problems) == 1, [str(p) for p in report.problems]
    return str(report.problems[0])


def test_a_good_workflow_is_clean() -> None:
    report = check(GOOD)
    assert report.ok, [str(p) for p in report.problems]
    assert report.steps == 3


def in_step_3(old: str, new: str) -> str:
    """``GOOD`` with an edit in its third step (``get``) only."""
    head, tail = GOOD.split("  - id: get\n")
    out = f"{head}  - id: get\n{tail.replace(old, new, 1)}"
    assert out != GOOD, f"the edit {old!r} did not apply"
    return out


def test_a_mistyped_field_in_the_third_step_names_file_line_and_the_right_name() -> None:
    report = check(in_step_3("meeting_id:", "meeting_idd:"))
    messages = [str(p) for p in report.problems]
    assert messages[0].startswith("wf.yaml:26: steps.get.with.meeting_id: is required"), messages
    assert messages[1].startswith("wf.yaml:28: steps.get.with.meeting_idd: unknown field")
    assert "did you mean 'meeting_id'?" in messages[1]
    assert len(messages) == 2


def test_a_mistyped_output_name_in_a_later_step_is_found_before_running() -> None:
    text = in_step_3("outputs.meeting_id", "outputs.meetingid")
    found = one(check(text))
    assert found.startswith("wf.yaml:28: steps.get.with.meeting_id:"), found
    assert "steps.create has no output 'meetingid'" in found
    assert "did you mean 'meeting_id'?" in found
    # the loader refuses it too (and so every command that loads the file)
    with pytest.raises(WorkflowError, match="has no output 'meetingid'"):
        parse_workflow(text, "wf.yaml")


def test_a_step_own_outputs_count_as_outputs() -> None:
    text = GOOD + '      name: "{{ steps.add.outputs.token }}"\n'
    assert check(text).ok
    found = one(check(text.replace('outputs.token }}"\n', 'outputs.tokn }}"\n')))
    assert "did you mean 'token'?" in found


def test_a_reference_to_a_later_step_is_reported_with_its_line() -> None:
    text = edited('title: "{{ inputs.title }}"', 'title: "{{ steps.get.outputs.title }}"')
    found = one(check(text))
    assert found.startswith("wf.yaml:11: steps.create.with.title:"), found
    assert "steps.get is this step or a later one" in found


def test_an_integer_field_fed_from_a_string_input_is_reported() -> None:
    text = edited("width: {type: integer, default: 640}", "width: {type: string, default: '640'}")
    found = one(check(text))
    assert found.startswith("wf.yaml:14: steps.create.with.recording_config.video_config.width:"), (
        found
    )
    assert "valid integer" in found
    assert "{{ inputs.width }}, a string" in found


def test_a_number_input_is_not_an_integer_but_an_integer_is_a_number() -> None:
    assert not check(edited("width: {type: integer", "width: {type: number")).ok
    text = edited(
        'title: "{{ inputs.title }}"',
        'title: x\n      session_keep_alive_time_in_secs: "{{ inputs.width }}"',
    )
    assert check(text).ok


def test_given_inputs_are_checked_as_values() -> None:
    report = check(GOOD, {"account_id": "a", "width": 5000, "title": "t"})
    found = one(report)
    assert "video_config.width" in found
    assert "less than or equal to 1920" in found
    assert check(GOOD, {"account_id": "a", "width": 1280, "title": "t"}).ok


def test_an_output_type_comes_from_the_response_schema() -> None:
    # record_on_start is a boolean in the create response: not a title
    text = edited(
        "preset_name: host",
        'preset_name: host\n      name: "{{ steps.create.outputs.record_on_start }}"',
    )
    found = one(check(text))
    assert "steps.add.with.name: Input should be a valid string" in found
    assert "a boolean" in found


def test_computed_values_are_left_to_run_time_and_listed() -> None:
    text = edited(
        'meeting_id: "{{ steps.create.outputs.meeting_id }}"',
        'meeting_id: "{{ steps.create.outputs.meeting_id | trim }}"',
    )
    report = check(text)
    assert report.ok
    assert [(d.field, d.why) for d in report.deferred] == [
        ("steps.add.with.meeting_id", "a computed value (a filter or an expression)")
    ]
    assert report.to_json()["deferred"][0]["field"] == "steps.add.with.meeting_id"


def test_enum_range_and_missing_literals_are_all_reported_at_once() -> None:
    text = (
        edited("preset_name: host", "preset_nam: host")
        .replace('title: "{{ inputs.title }}"', "title: 7", 1)
        .replace("          width: ", "          height: 0\n          width: ", 1)
        .replace(
            "      recording_config:",
            "      recording_config:\n        audio_config: {codec: OGG}",
            1,
        )
    )
    report = check(text)
    where = sorted(p.message.split(":")[0] for p in report.problems)
    assert where == [
        "steps.add.with.preset_nam",
        "steps.add.with.preset_name",
        "steps.create.with.recording_config.audio_config.codec",
        "steps.create.with.recording_config.video_config.height",
        "steps.create.with.title",
    ], [str(p) for p in report.problems]
    assert all(p.where.startswith("wf.yaml:") for p in report.problems)


def test_a_header_given_as_a_field_and_a_field_given_as_a_header() -> None:
    text = edited(
        'title: "{{ inputs.title }}"', "Content-Type: application/json\n      headers: {title: x}"
    )
    messages = [str(p) for p in check(text).problems]
    assert any("Content-Type is a header, not a field" in m for m in messages), messages
    assert any("title is a body parameter, not a header" in m for m in messages), messages


def test_when_always_false_and_the_steps_it_starves() -> None:
    text = edited("  - id: add\n", "  - id: add\n    when: false\n")
    text = text + '      name: "{{ steps.add.outputs.token }}"\n'
    messages = [str(p) for p in check(text).problems]
    assert any("wf.yaml:16: steps.add.when: always false" in m for m in messages), messages
    assert any("steps.get.id: unreachable" in m for m in messages), messages
    assert check(edited("  - id: add\n", '  - id: add\n    when: "{{ inputs.title }}"\n')).ok


def test_depends_on_is_checked_like_a_reference() -> None:
    text = edited("  - id: create\n", "  - id: create\n    depends_on: [gett]\n")
    found = one(check(text))
    assert found.startswith("wf.yaml:8: steps.create.depends_on[0]: unknown step 'gett'"), found
    assert "did you mean 'get'?" in found
    cycle = edited("  - id: create\n", "  - id: create\n    depends_on: [get]\n")
    with pytest.raises(WorkflowError, match=r"a cycle: .*create"):
        parse_workflow(cycle, "wf.yaml")


def test_depends_on_orders_steps_in_the_runner_and_in_export() -> None:
    text = """\
name: ordered
steps:
  - id: second
    task: realtimekit.meetings.list
    depends_on: [first]
    with: {account_id: acc}
  - id: first
    task: realtimekit.meetings.create
    with: {account_id: acc, title: t}
"""
    wf = parse_workflow(text, "wf.yaml")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        data: Any = [] if request.method == "GET" else {"id": "m", "title": "t"}
        return httpx.Response(
            200 if request.method == "GET" else 201,
            json={
                "success": True,
                "data": data,
                "paging": {"total_count": 0, "start_offset": 0, "end_offset": 0},
            },
        )

    result = run_workflow(
        wf,
        {},
        base_url="http://127.0.0.1:1/v4",
        token="tok-check-1",
        transport=httpx.MockTransport(handler),
        concurrency=4,
    )
    assert result.ok, {k: r.error for k, r in result.steps.items()}
    assert seen == ["POST", "GET"]
    tasks = json.loads(export_workflow(wf, "conductor"))["tasks"]
    assert [t["taskReferenceName"] for t in tasks] == ["first", "second"]


def test_a_step_that_depends_on_a_failed_step_does_not_run() -> None:
    text = """\
name: ordered
steps:
  - id: first
    task: realtimekit.meetings.create
    continue_on_error: true
    with: {account_id: acc, title: t}
  - id: second
    task: realtimekit.meetings.list
    depends_on: [first]
    with: {account_id: acc}
"""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(500, json={"success": False, "error": {"code": 500, "message": "x"}})

    result = run_workflow(
        parse_workflow(text, "wf.yaml"),
        {},
        base_url="http://127.0.0.1:1/v4",
        token="tok-check-2",
        transport=httpx.MockTransport(handler),
    )
    assert seen == ["POST"]
    assert result.steps["second"].skipped
    assert "depends on first, which failed" in str(result.steps["second"].error)


def test_checking_again_parses_nothing_and_finds_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    wf = parse_workflow(in_step_3("meeting_id:", "meeting_idd:"), "wf.yaml", references=False)
    first = check_workflow(wf)
    assert not first.ok

    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a template was parsed again")

    monkeypatch.setattr(environment(), "parse", no_parsing)
    again = check_workflow(wf)
    assert [str(p) for p in again.problems] == [str(p) for p in first.problems]
    assert again.deferred == first.deferred


def test_a_check_again_with_other_inputs_sees_the_new_values() -> None:
    # the per-step memo must key on the values given, and tell 1 from True and 1.0
    wf = parse_workflow(GOOD, "wf.yaml", references=False)
    values: dict[str, Any] = {"account_id": "a", "title": "t"}
    assert check_workflow(wf, {**values, "width": 640}).ok
    assert "less than or equal to 1920" in one(check_workflow(wf, {**values, "width": 5000}))
    assert check_workflow(wf, {**values, "width": 1}).ok
    assert "video_config.width" in one(check_workflow(wf, {**values, "width": True}))
    assert check_workflow(wf, {**values, "width": 1}).ok
    assert "video_config.width" in one(check_workflow(wf, {**values, "width": 1.0}))
    assert check_workflow(wf, {**values, "width": 640}).ok
    assert "video_config.width" in one(check_workflow(wf, {**values, "width": "640px"}))
    # and without inputs, each input as its declared type again
    assert check_workflow(wf).ok


def test_an_upstream_output_type_change_reaches_a_checked_step() -> None:
    # the same `add` step object is checked against what `create` gives it each time
    text = edited(
        "preset_name: host",
        'preset_name: host\n      name: "{{ steps.create.outputs.meeting_id }}"',
    )
    wf = parse_workflow(text, "wf.yaml", references=False)
    assert check_workflow(wf).ok
    swapped = wf.model_copy(
        update={
            "steps": [
                wf.steps[0].model_copy(
                    update={"outputs": {"meeting_id": "{{ response.status_code }}"}}
                ),
                *wf.steps[1:],
            ]
        }
    )
    swapped._manifests = wf._manifests
    assert "(got {{ steps.create.outputs.meeting_id }}, a integer)" in str(
        check_workflow(swapped).problems
    )
