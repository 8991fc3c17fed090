"""Conductor exports that keep meaning: when as SWITCH, filters as JSON_JQ_TRANSFORM,
for_each and until as DO_WHILE; what has no counterpart is refused with its field and line; and an
exported workflow imported back sends the same calls with the same bodies."""

from __future__ import annotations

import json
from typing import Any, cast

import httpx
import pytest

from rtk_task.emulator.server import EmulatorServer
from rtk_task.errors import WorkflowError
from rtk_task.workflows.export import export_workflow
from rtk_task.workflows.imports import to_yaml
from rtk_task.workflows.imports.conductor import import_conductor
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow

from ..helpers import CANARY, RecordingTransport

FLOW = """
name: standup-flow
inputs:
  account: {type: string, default: acc1}
  people: {type: array, default: ["Ada", "Grace"]}
  team: {type: string, default: "core & ops"}
  preset: {type: string, required: false}
steps:
  - id: create
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account }}"
      app_id: app1
      title: "Standup of {{ inputs.people | length }}: {{ inputs.people | join(', ') }}"
      record_on_start: false
  - id: add
    task: realtimekit.meetings.participants.add
    when: "{{ steps.create.outputs.status == 'ACTIVE' and inputs.people | length > 1 }}"
    for_each: "{{ inputs.people }}"
    with:
      account_id: "{{ inputs.account }}"
      app_id: app1
      meeting_id: "{{ steps.create.outputs.meeting_id }}"
      name: "{{ item }}"
      custom_participant_id: "p-{{ index }}"
      preset_name: "{{ inputs.preset | default('group_call_host') }}"
  - id: skipped
    task: realtimekit.meetings.get
    when: "{{ inputs.people | length > 5 }}"
    with:
      account_id: "{{ inputs.account }}"
      app_id: app1
      meeting_id: "{{ steps.create.outputs.meeting_id }}"
  - id: find
    task: realtimekit.meetings.list
    with:
      account_id: "{{ inputs.account }}"
      app_id: app1
      search: "{{ inputs.team }} standup"
    depends_on: [add]
"""


def _tasks(tasks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for t in tasks:
        out[t["taskReferenceName"]] = t
        for case in (t.get("decisionCases") or {}).values():
            out.update(_tasks(case))
        out.update(_tasks(t.get("loopOver") or []))
    return out


def test_when_filters_and_for_each_become_conductor_system_tasks() -> None:
    data = json.loads(export_workflow(parse_workflow(FLOW), "conductor", base_url="http://h/v4"))
    top = [t["taskReferenceName"] for t in data["tasks"]]
    assert top == ["create_values", "create", "add_when", "skipped_when", "find_values", "find"]
    tasks = _tasks(data["tasks"])
    switch = tasks["add_when"]
    assert switch["type"] == "SWITCH"
    assert switch["evaluatorType"] == "javascript"
    assert switch["expression"] == (
        "((($.v0 == \"ACTIVE\") && (($.v1).length > 1))) ? 'true' : 'false'"
    )
    assert switch["inputParameters"] == {
        "v0": "${create.output.response.body.data.status}",
        "v1": "${workflow.input.people}",
    }
    (loop,) = switch["decisionCases"]["true"]
    assert loop["type"] == "DO_WHILE"
    assert [t["taskReferenceName"] for t in loop["loopOver"]] == ["add_item", "add_values", "add"]
    assert loop["inputParameters"] == {"items": "${workflow.input.people}"}
    body = tasks["add"]["inputParameters"]["http_request"]["body"]
    assert body["name"] == "${add_item.output.result.item}"
    assert body["custom_participant_id"] == "p-${add_item.output.result.index}"
    assert body["preset_name"] == "${add_values.output.result.k0}"
    jq = tasks["add_values"]["inputParameters"]["queryExpression"]
    assert '"k0": (.v0 // "group_call_host")' in jq
    title = tasks["create"]["inputParameters"]["http_request"]["body"]["title"]
    assert title == "${create_values.output.result.k0}"
    query = tasks["create_values"]["inputParameters"]["queryExpression"]
    assert "(.v0 | length)" in query
    assert '(.v0 | map(tostring) | join(", "))' in query


def test_an_exported_workflow_keeps_input_defaults_and_encodes_query_strings() -> None:
    """An exported Conductor workflow keeps its input defaults and encodes its query strings."""
    data = json.loads(export_workflow(parse_workflow(FLOW), "conductor", base_url="http://h/v4"))
    assert data["inputTemplate"] == {
        "account": "acc1",
        "people": ["Ada", "Grace"],
        "team": "core & ops",
    }
    schema = data["inputSchema"]["data"]
    assert schema["properties"]["people"] == {"type": "array", "default": ["Ada", "Grace"]}
    assert schema["properties"]["preset"] == {"type": "string"}
    assert schema["required"] == []
    tasks = _tasks(data["tasks"])
    uri = tasks["find"]["inputParameters"]["http_request"]["uri"]
    # the engine fills ${...} in as is: the value is encoded by a jq task first
    assert uri.endswith("/meetings?search=${find_values.output.result.k1}")
    values = tasks["find_values"]["inputParameters"]
    assert values["v1"] == "${workflow.input.team}"
    assert '"k1": (((.v1 | tostring) + " standup") | @uri)' in values["queryExpression"]
    # and imported back, the inputs are the same
    back = parse_workflow(to_yaml(import_conductor(json.dumps(data)).steps))
    assert back.inputs["team"].default == "core & ops"
    assert back.inputs["people"].default == ["Ada", "Grace"]
    assert back.inputs["people"].type == "array"
    assert not back.inputs["preset"].is_required


def _calls(text: str, base_url: str) -> list[tuple[str, str, Any]]:
    recorder = RecordingTransport()
    run = run_workflow(parse_workflow(text), {}, base_url=base_url, transport=recorder)
    assert run.ok, {k: v.error for k, v in run.steps.items()}
    assert run.steps["skipped"].skipped
    created = run.steps["create"].outputs["meeting_id"]
    assert isinstance(created, str)
    return [(m, u.replace(created, "<id>"), b) for m, u, b in recorder.calls]


def test_when_filter_and_for_each_round_trip_through_conductor(emulator: Any) -> None:
    exported = export_workflow(parse_workflow(FLOW), "conductor", base_url=emulator.base_url)
    back = import_conductor(exported)
    assert back.notes == []
    text = to_yaml(back.steps, name="standup-flow")
    before = _calls(FLOW, emulator.base_url)
    after = _calls(text, emulator.base_url)
    assert after == before
    assert [m for m, _, _ in before] == ["POST", "POST", "POST", "GET"]
    assert before[0][2] == {"title": "Standup of 2: Ada, Grace", "record_on_start": False}
    assert [b["name"] for _, _, b in before[1:3]] == ["Ada", "Grace"]
    assert before[2][2]["custom_participant_id"] == "p-1"
    assert before[2][2]["preset_name"] == "group_call_host"
    assert "search=core+%26+ops+standup" in before[3][1]


@pytest.mark.parametrize(
    ("edit", "field", "line_text"),
    [
        (
            ("    depends_on: [add]", "    depends_on: [add]\n    paginate: true"),
            "steps.find.paginate",
            "    paginate: true",
        ),
        (
            (
                '    for_each: "{{ inputs.people }}"',
                '    for_each: "{{ inputs.people }}"\n    until: {condition: "{{ response.ok }}"}',
            ),
            "steps.add.until",
            '    until: {condition: "{{ response.ok }}"}',
        ),
        (
            (
                '      search: "{{ inputs.team }} standup"',
                '      search: "{{ inputs.team | upper }}"',
            ),
            "steps.find.with.search",
            '      search: "{{ inputs.team | upper }}"',
        ),
        (
            (
                '      search: "{{ inputs.team }} standup"',
                '      search: "{{ steps.add.outputs.name }}"',
            ),
            "steps.find.with.search",
            '      search: "{{ steps.add.outputs.name }}"',
        ),
        (
            (
                '    when: "{{ inputs.people | length > 5 }}"',
                "    when: \"{{ inputs.people | sort | first == 'Ada' }}\"",
            ),
            "steps.skipped.when",
            "    when: \"{{ inputs.people | sort | first == 'Ada' }}\"",
        ),
    ],
)
def test_what_conductor_cannot_express_is_refused_with_field_and_line(
    edit: tuple[str, str], field: str, line_text: str
) -> None:
    text = FLOW.replace(*edit)
    assert text != FLOW
    with pytest.raises(WorkflowError) as caught:
        export_workflow(parse_workflow(text, "flow.yaml"), "conductor")
    problem = caught.value.first
    assert problem.where == field, caught.value
    line = text.splitlines().index(line_text) + 1
    assert f"(at flow.yaml:{line})" in problem.message, problem
    reason = {"paginate": "cannot append each page's items", "until": "does not nest DO_WHILE"}
    assert reason.get(field.rsplit(".", 1)[1], "") in problem.message, problem


UNTIL_FLOW = """
name: wait-for-upload
inputs:
  account: {type: string, default: acc-until}
  want: {type: string, default: UPLOADED}
steps:
  - id: meeting
    task: realtimekit.meetings.create
    with: {account_id: "{{ inputs.account }}", title: "Recorded"}
  - id: record
    task: realtimekit.recordings.start
    with:
      account_id: "{{ inputs.account }}"
      meeting_id: "{{ steps.meeting.outputs.meeting_id }}"
  - id: stop
    task: realtimekit.recordings.pause_resume_stop
    with:
      account_id: "{{ inputs.account }}"
      app_id: 0123456789abcdef0123456789abcdef
      recording_id: "{{ steps.record.outputs.recording_id }}"
      action: stop
  - id: uploaded
    task: realtimekit.recordings.get
    with:
      account_id: "{{ inputs.account }}"
      recording_id: "{{ steps.record.outputs.recording_id }}"
    depends_on: [stop]
    until:
      condition: "{{ response.body.data.status == inputs.want and response.status_code == 200 }}"
      interval: 0.01
      timeout: 5
  - id: titled
    task: realtimekit.meetings.update
    with:
      account_id: "{{ inputs.account }}"
      meeting_id: "{{ steps.meeting.outputs.meeting_id }}"
      title: "{{ steps.uploaded.outputs.status }}"
"""


def test_until_exports_as_a_bounded_do_while_of_the_call_and_a_wait() -> None:
    data = json.loads(export_workflow(parse_workflow(UNTIL_FLOW), "conductor", base_url="http://h"))
    top = [t["taskReferenceName"] for t in data["tasks"]]
    assert top[-5:] == [
        "uploaded_values",
        "uploaded_until",
        "uploaded_timeout",
        "titled_values",
        "titled",
    ]
    loop = data["tasks"][-4]
    assert loop["type"] == "DO_WHILE"
    assert [(t["taskReferenceName"], t["type"]) for t in loop["loopOver"]] == [
        ("uploaded", "HTTP"),
        ("uploaded_wait", "WAIT"),
    ]
    assert loop["loopOver"][1]["inputParameters"] == {"duration": "1 seconds"}
    assert loop["inputParameters"] == {
        "interval": 0.01,
        "timeout": 5.0,
        "v1": "${workflow.input.want}",
    }
    assert loop["loopCondition"] == (
        "(!((($.uploaded['response']['body']['data']['status'] == $.v1)"
        " && ($.uploaded['response']['statusCode'] == 200))))"
        " && ($.uploaded_until['iteration'] < 500)"
    )
    timeout = data["tasks"][-3]
    assert timeout["type"] == "SWITCH"
    assert timeout["inputParameters"] == {
        "v0": "${uploaded.output.response.body.data.status}",
        "v1": "${workflow.input.want}",
        "v2": "${uploaded.output.response.statusCode}",
    }
    (terminate,) = timeout["decisionCases"]["true"]
    assert terminate["inputParameters"]["terminationStatus"] == "FAILED"
    # a later task reads the last iteration's output
    body = data["tasks"][-1]["inputParameters"]["http_request"]["body"]
    assert body == {"title": "${uploaded.output.response.body.data.status}"}


def test_an_until_condition_conductor_cannot_read_is_refused_with_field_and_line() -> None:
    text = UNTIL_FLOW.replace("inputs.want and", "inputs.want | upper and")
    with pytest.raises(WorkflowError) as caught:
        export_workflow(parse_workflow(text, "until.yaml"), "conductor")
    problem = caught.value.first
    assert problem.where == "steps.uploaded.until.condition", caught.value
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "| upper" in t)
    assert f"(at until.yaml:{line})" in problem.message, problem
    assert "the upper filter" in problem.message


def test_until_without_a_failure_when_the_step_continues_on_error() -> None:
    text = UNTIL_FLOW.replace(
        "    depends_on: [stop]", "    depends_on: [stop]\n    continue_on_error: true"
    )
    data = json.loads(export_workflow(parse_workflow(text), "conductor", base_url="http://h"))
    assert "uploaded_timeout" not in [t["taskReferenceName"] for t in data["tasks"]]


def test_until_round_trips_and_sends_the_same_calls() -> None:
    """Exported and imported back, the until step polls the emulator with the same calls."""
    exported = export_workflow(parse_workflow(UNTIL_FLOW), "conductor", base_url="http://h")
    back = import_conductor(exported)
    assert back.notes == []
    wf = parse_workflow(to_yaml(back.steps, name="wait-for-upload"))
    until = wf.steps[3].until
    assert until is not None
    assert (until.interval, until.timeout) == (0.01, 5.0)
    assert until.condition == (
        "{{ ((response.body.data.status == inputs.want) and (response.status_code == 200)) }}"
    )
    assert wf.steps[4].with_["title"] == "{{ steps.uploaded.outputs.status }}"

    def calls(text: str) -> list[tuple[str, str, Any]]:
        # each request moves the emulator's clock 1 s: the recording is UPLOADED on the third
        # poll however fast the machine is (no sleeping, no wall-clock race)
        with EmulatorServer(token=CANARY, recording_delays=(0.5, 2.5)) as server:
            recorder = _ClockRecorder(server)
            run = run_workflow(
                parse_workflow(text), {}, base_url=server.base_url, transport=recorder
            )
            assert run.ok, {k: v.error for k, v in run.steps.items()}
            assert cast(Any, run.steps["titled"].body)["data"]["title"] == "UPLOADED"
            ids = [
                cast(str, run.steps["meeting"].outputs["meeting_id"]),
                cast(str, run.steps["record"].outputs["recording_id"]),
            ]
        text = json.dumps(recorder.calls).replace(server.base_url, "")
        for n, i in enumerate(ids):
            text = text.replace(i, f"<id{n}>")
        return [tuple(c) for c in json.loads(text)]

    before = calls(UNTIL_FLOW)
    after = calls(to_yaml(back.steps, name="wait-for-upload"))
    assert after == before
    polls = [u for m, u, _ in before if m == "GET"]
    assert len(polls) == 3, before
    assert [m for m, _, _ in before] == ["POST", "POST", "PUT", "GET", "GET", "GET", "PATCH"]


class _ClockRecorder(RecordingTransport):
    def __init__(self, server: EmulatorServer) -> None:
        super().__init__()
        self.server = server

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self.server.emulator.clock.advance(1.0)
        return response
