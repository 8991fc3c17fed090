"""Imports: cURL and Conductor requests become typed steps or plain ``http`` steps, and a
workflow exported to Conductor and imported back sends the same calls."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from rtk_task.errors import ConfigError
from rtk_task.workflows.export import export_workflow
from rtk_task.workflows.imports import request_step, to_yaml
from rtk_task.workflows.imports.conductor import import_conductor
from rtk_task.workflows.imports.curl import parse_curl
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow
from tests.rawserver import RawServer, answer

DOCS_CURL = (
    "curl https://api.cloudflare.com/client/v4/accounts/$ACCOUNT_ID/realtime/kit/$APP_ID/meetings"
    " \\\n  -X POST -H 'Content-Type: application/json'"
    ' -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN"'
    ' -d \'{"title": "Standup", "record_on_start": false}\''
)


def test_the_docs_curl_becomes_a_typed_create_meeting_step() -> None:
    step = request_step(parse_curl(DOCS_CURL))
    assert step.step["task"] == "realtimekit.meetings.create"
    assert step.step["with"] == {
        "account_id": "{{ inputs.account_id }}",
        "app_id": "{{ inputs.app_id }}",
        "title": "{{ inputs.title }}",
        "record_on_start": "{{ inputs.record_on_start }}",
    }
    assert step.inputs["title"] == {"type": "string", "default": "Standup"}
    assert step.inputs["record_on_start"] == {"type": "boolean", "default": False}
    assert "default" not in step.inputs["account_id"]  # $ACCOUNT_ID: the user gives it
    assert step.secrets == {"api_token": "CLOUDFLARE_API_TOKEN"}
    text = to_yaml([step])
    assert "Bearer" not in text
    assert "$CLOUDFLARE_API_TOKEN" not in text
    parse_workflow(text)  # loads and is checked like any workflow


def test_the_legacy_path_matches_too() -> None:
    step = request_step(
        parse_curl(
            "curl -X GET https://api.cloudflare.com/client/v4/accounts/a1/realtimekit/meetings"
        )
    )
    assert step.step["task"] == "realtimekit.meetings.list"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("curl -X POST", "no URL"),
        ("curl 'https://h/x", "cannot split"),
        ("curl --proxy p https://h/x", "cannot be imported"),
        ("curl --json '{x' https://h/x", "not JSON"),
    ],
)
def test_a_bad_command_is_a_clear_error(command: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_curl(command)


def test_an_unknown_url_becomes_an_http_step_that_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    with RawServer(answer("200 OK", b'{"ok": true}')) as srv:
        command = (
            f"curl -sS 'http://127.0.0.1:{srv.port}/v1/items/$ITEM?api_key=k-123&q=a%20b'"
            " -H 'Authorization: Bearer tok-456' --json '{\"n\": 2}'"
        )
        step = request_step(parse_curl(command))
        text = to_yaml([step])
        assert step.step["task"] == "http"
        assert "tok-456" not in text
        assert "k-123" not in text
        envs = sorted(step.secrets.values())
        assert envs == ["HTTP_127_0_0_1_API_KEY", "HTTP_127_0_0_1_TOKEN"]
        monkeypatch.setenv("HTTP_127_0_0_1_TOKEN", "tok-456")
        monkeypatch.setenv("HTTP_127_0_0_1_API_KEY", "k-123")
        run = run_workflow(parse_workflow(text), {"item": "x/1"})
        assert run.ok, run.steps
        (raw,) = srv.requests
    assert raw.startswith(b"POST /v1/items/x%2F1?api_key=k-123&q=a+b HTTP/1.1")
    assert b"Authorization: Bearer tok-456" in raw
    assert raw.endswith(b'{"n":2}')


WORKFLOW = """
name: standup
inputs:
  account: {type: string, default: acc1}
  title: {type: string, default: "Daily standup"}
  team: {type: string, default: "core & ops"}
steps:
  - id: create
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account }}"
      app_id: app1
      title: "{{ inputs.title }}"
      record_on_start: false
  - id: get
    task: realtimekit.meetings.get
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
    depends_on: [get]
"""


class _Recorder(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, str(request.url), body))
        return await super().handle_async_request(request)


def _calls(wf_text: str, base_url: str) -> list[tuple[str, str, Any]]:
    recorder = _Recorder()
    run = run_workflow(parse_workflow(wf_text), {}, base_url=base_url, transport=recorder)
    assert run.ok, {k: v.error for k, v in run.steps.items()}
    created = run.steps["create"].outputs["meeting_id"]
    # each run creates its own meeting: compare with its id named
    return [(m, u.replace(created, "<id>"), b) for m, u, b in recorder.calls]


def test_export_to_conductor_and_back_sends_the_same_calls(emulator: Any) -> None:
    exported = export_workflow(parse_workflow(WORKFLOW), "conductor", base_url=emulator.base_url)
    assert '"inputTemplate"' in exported
    assert "Daily standup" in exported
    assert "%20standup" in exported  # the literal query text is encoded
    back = import_conductor(exported)
    assert [s.step["task"] for s in back.steps] == [
        "realtimekit.meetings.create",
        "realtimekit.meetings.get",
        "realtimekit.meetings.list",
    ]
    text = to_yaml(back.steps, name="standup")
    before = _calls(WORKFLOW, emulator.base_url)
    after = _calls(text, emulator.base_url)
    assert before == after
    assert before[0][2] == {"title": "Daily standup", "record_on_start": False}
    assert re.search(r"search=core\+%26\+ops\+standup", before[2][1])


def test_conductor_non_http_tasks_and_unknown_expressions_are_listed() -> None:
    doc = {
        "name": "w",
        "tasks": [
            {"name": "x", "taskReferenceName": "x", "type": "SWITCH"},
            {
                "name": "call",
                "taskReferenceName": "call",
                "type": "HTTP",
                "inputParameters": {
                    "http_request": {
                        "uri": "http://127.0.0.1:1/a/${x.output.result}",
                        "method": "GET",
                    }
                },
            },
        ],
    }
    back = import_conductor(json.dumps(doc))
    assert any("SWITCH task is not imported" in n for n in back.notes)
    assert any("${x.output.result} has no counterpart" in n for n in back.notes)
