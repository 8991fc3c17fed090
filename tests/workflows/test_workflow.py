"""Workflow files: the model, FILE:LINE errors, reference checks, and running steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtk_task import Client, load_workflow
from rtk_task.errors import WorkflowError
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_step, run_workflow

GOOD = """\
name: onboard-call
inputs:
  account_id: {type: string}
  title: {type: string, default: Weekly sync}
  count: {type: integer, default: 5}
secrets:
  store: RTK_TEST_STORE_SECRET
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account_id }}"
      title: "{{ inputs.title }}"
      record_on_start: true
      session_keep_alive_time_in_secs: "{{ inputs.count * 20 }}"
  - id: add_host
    task: realtimekit.meetings.participants.add
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"
      preset_name: host
      custom_participant_id: "host@example.com"
    outputs:
      token: "{{ response.body.data.token }}"
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(text, "wf.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_good_file_loads_yaml_and_json_alike(tmp_path: Path) -> None:
    wf = parse_workflow(GOOD, "wf.yaml")
    assert [s.id for s in wf.steps] == ["create_meeting", "add_host"]
    as_json = tmp_path / "wf.json"
    as_json.write_text(json.dumps(wf.model_dump(by_alias=True, exclude_defaults=True)))
    again = load_workflow(as_json)
    assert again.steps[1].with_ == wf.steps[1].with_


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("task: realtimekit.meetings.create", "task: realtimekit.meetings.creat"),
            ["wf.yaml:10: unknown task 'realtimekit.meetings.creat'", "did you mean"],
        ),
        (
            ("id: add_host", "id: create_meeting"),
            ["wf.yaml:16: duplicate step id 'create_meeting'"],
        ),
        (
            ("steps.create_meeting.outputs", "steps.add_host.outputs"),
            ["wf.yaml:20:", "steps.add_host is this step or a later one"],
        ),
        (
            ("steps.create_meeting.outputs", "steps.create_meting.outputs"),
            ["unknown step 'create_meting'", "did you mean 'create_meeting'?"],
        ),
        (
            ("{{ inputs.title }}", "{{ inputs.titel }}"),
            ["wf.yaml:13:", "undeclared input 'titel'", "did you mean 'title'?"],
        ),
        (
            (
                '    with:\n      account_id: "{{ inputs.account_id }}"\n      title',
                '    wiht:\n      account_id: "{{ inputs.account_id }}"\n      title',
            ),
            ["wf.yaml:11:", "wiht", "did you mean 'with'?"],
        ),
        (("preset_name: host", "preset_name: [host"), ["wf.yaml:", "not valid YAML"]),
        (("{{ inputs.title }}", "{{ inputs.title "), ["wf.yaml:13:", "template syntax"]),
        # filters and tests are looked up when Jinja compiles: at load, with the line
        (
            ("{{ response.body.data.token }}", "{{ response.body.data.token | tokn }}"),
            ["wf.yaml:24:", "No filter named 'tokn'"],
        ),
        (
            ("{{ response.body.data.token }}", "{{ response.body.data.token is strng }}"),
            ["wf.yaml:24:", "No test named 'strng'"],
        ),
    ],
)
def test_problems_name_file_line_and_hint(edit: tuple[str, str], expected: list[str]) -> None:
    text = GOOD.replace(edit[0], edit[1], 1)
    assert text != GOOD, "the edit did not apply"
    problems = problems_of(text)
    assert len(problems) == 1, problems
    found = problems[0]
    for part in expected:
        assert part in found, f"{part!r} not in:\n{found}"


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace("realtimekit.meetings.create", "nope.task").replace(
        "id: add_host", "id: create_meeting"
    )
    assert len(problems_of(text)) >= 2


def test_inputs_resolve_defaults_and_report_missing_or_unknown() -> None:
    wf = parse_workflow(GOOD, "wf.yaml")
    assert wf.resolve_inputs({"account_id": "a"}) == {
        "account_id": "a",
        "title": "Weekly sync",
        "count": 5,
    }
    with pytest.raises(WorkflowError) as caught:
        wf.resolve_inputs({"acount_id": "a"})
    text = caught.value.render()
    assert "inputs.account_id: is required" in text
    assert "did you mean 'account_id'?" in text


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("integer", "5", 5),
        ("boolean", "true", True),
        ("array", "[1,2]", [1, 2]),
        ("number", "2.5", 2.5),
        ("string", "5", "5"),
        ("object", '{"a":1}', {"a": 1}),
    ],
)
def test_cli_inputs_are_parsed_in_their_declared_type(kind: str, text: str, value: Any) -> None:
    from rtk_task.workflows.model import InputSpec

    assert InputSpec(type=kind).parse(text) == value


def _emulated(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content or b"{}")
    if request.url.path.endswith("/participants"):
        return httpx.Response(
            201,
            json={
                "success": True,
                "data": {
                    "id": "p-1",
                    "token": "join-token",
                    **body,
                    "created_at": "t",
                    "updated_at": "t",
                },
            },
        )
    return httpx.Response(
        201,
        json={
            "success": True,
            "data": {"id": "m-42", **body, "created_at": "t", "updated_at": "t"},
        },
    )


def test_steps_chain_outputs_and_keep_native_types() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _emulated(request)

    wf = parse_workflow(GOOD, "wf.yaml")
    results = run_workflow(
        wf,
        {"account_id": "acc"},
        base_url="http://127.0.0.1:1/v4",
        token="tok-x-1234",
        transport=httpx.MockTransport(handler),
    ).steps
    assert all(r.ok for r in results.values()), results
    assert json.loads(seen[0].content)["session_keep_alive_time_in_secs"] == 100
    assert seen[1].url.path.endswith("/meetings/m-42/participants")
    assert results["add_host"].outputs["token"] == "join-token"
    assert results["add_host"].outputs["participant_id"] == "p-1"


def test_an_undefined_variable_at_run_time_sends_nothing() -> None:
    wf = parse_workflow(
        GOOD.replace("preset_name: host", 'preset_name: "{{ steps.x }}"').replace(
            "{{ steps.x }}", "{{ inputs.title.nope }}"
        ),
        "wf.yaml",
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _emulated(request)

    client = Client(
        base_url="http://127.0.0.1:1/v4",
        token="tok-x-1234",
        transport=httpx.MockTransport(handler),
    )
    result = run_step(
        client,
        wf,
        wf.steps[1],
        {"account_id": "a", "title": "t", "count": 1},
        {"create_meeting": {"meeting_id": "m"}},
    )
    assert result.error is not None
    assert result.error.kind == "template"
    assert result.error.field_path == "steps.add_host.with.preset_name"
    assert seen == []


def test_secrets_are_rendered_into_the_request_but_masked_in_the_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "s3cret-storage-key-81"
    monkeypatch.setenv("RTK_TEST_STORE_SECRET", secret)
    text = GOOD.replace(
        "      record_on_start: true\n",
        "      record_on_start: true\n"
        "      recording_config:\n        storage_config:\n"
        '          type: aws\n          secret: "{{ secrets.store }}"\n',
    )
    wf = parse_workflow(text, "wf.yaml")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _emulated(request)

    client = Client(
        base_url="http://127.0.0.1:1/v4",
        token="tok-x-1234",
        transport=httpx.MockTransport(handler),
    )
    result = run_step(client, wf, wf.steps[0], wf.resolve_inputs({"account_id": "a"}), {})
    assert result.ok, result.error
    assert secret.encode() in seen[0].content
    assert secret not in result.model_dump_json()


def test_a_missing_secret_is_reported_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RTK_TEST_STORE_SECRET", raising=False)
    text = GOOD.replace('title: "{{ inputs.title }}"', 'title: "{{ secrets.store }}"')
    wf = parse_workflow(text, "wf.yaml")
    client = Client(
        base_url="http://127.0.0.1:1/v4",
        token="tok-x-1234",
        transport=httpx.MockTransport(_emulated),
    )
    result = run_step(client, wf, wf.steps[0], wf.resolve_inputs({"account_id": "a"}), {})
    assert result.error is not None
    assert "RTK_TEST_STORE_SECRET" in result.error.message
