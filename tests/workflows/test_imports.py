"""Imports: cURL and Conductor requests become typed steps or plain ``http`` steps, and a
workflow exported to Conductor and imported back sends the same calls."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from rtk_task.errors import ConfigError, WorkflowError
from rtk_task.workflows.export import export_workflow
from rtk_task.workflows.imports import request_step, to_yaml
from rtk_task.workflows.imports.conductor import import_conductor
from rtk_task.workflows.imports.curl import parse_curl
from rtk_task.workflows.imports.n8n import import_n8n
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow
from tests.helpers import RecordingTransport
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


def _calls(wf_text: str, base_url: str) -> list[tuple[str, str, Any]]:
    recorder = RecordingTransport()
    run = run_workflow(parse_workflow(wf_text), {}, base_url=base_url, transport=recorder)
    assert run.ok, {k: v.error for k, v in run.steps.items()}
    created = run.steps["create"].outputs["meeting_id"]
    assert isinstance(created, str)
    # each run creates its own meeting: compare with its id named
    return [(m, u.replace(created, "<id>"), b) for m, u, b in recorder.calls]


def test_export_to_conductor_and_back_sends_the_same_calls(emulator: Any) -> None:
    exported = export_workflow(parse_workflow(WORKFLOW), "conductor", base_url=emulator.base_url)
    assert '"inputTemplate"' in exported
    assert "Daily standup" in exported
    # the query value (input and literal text) is encoded by the engine, in a jq task
    assert "search=${find_values.output.result.k" in exported
    assert '((.v1 | tostring) + \\" standup\\") | @uri)' in exported
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


DATA = Path(__file__).parent / "data"


def test_n8n_nodes_become_steps_in_connection_order_with_references() -> None:
    back = import_n8n((DATA / "n8n-standup.json").read_text(), "n8n-standup.json")
    steps = {s.step["id"]: s.step for s in back.steps}
    assert list(steps) == ["create_meeting", "add_host", "list_meetings", "notify_chat"]
    assert steps["create_meeting"]["task"] == "realtimekit.meetings.create"
    # $json after the Set node: its fields are inputs with the Set node's values
    assert steps["create_meeting"]["with"]["account_id"] == "{{ inputs.account_id }}"
    # $('Create meeting').item.json.data.id: the task's own output at data.id
    add = steps["add_host"]
    assert add["with"]["meeting_id"] == "{{ steps.create_meeting.outputs.meeting_id }}"
    assert add["with"]["name"] == "{{ inputs.host_name }}"
    # the IF node: its true branch runs when the condition holds, the false one when not
    assert add["when"] == '{{ steps.create_meeting.outputs.status == "ACTIVE" }}'
    assert steps["list_meetings"]["when"].startswith("{{ not (")
    assert steps["notify_chat"]["when"] == add["when"]
    # $node["Create meeting"].json["data"]["id"] and $json from Add host
    body = steps["notify_chat"]["with"]["body"]
    assert body["meeting"] == "{{ steps.create_meeting.outputs.meeting_id }}"
    assert body["participant"] == "{{ steps.add_host.outputs.participant_id }}"
    # what cannot be translated is an input to give, and listed
    assert body["sent_at"] == "{{ inputs.n8n_now_toiso }}"
    assert any("$now.toISO()" in n and "n8n_now_toiso" in n for n in back.notes)
    assert any("set CLOUDFLARE_API_TOKEN" in n for n in back.notes)
    text = to_yaml(back.steps, name=back.name)
    assert "hook-key-4b1f" not in text  # a credential is never written
    wf = parse_workflow(text)
    assert wf.inputs["title"].default == "Daily standup"
    # a credential's secret is named after its host
    assert wf.secrets["hooks_example_com_x_api_key"] == "HOOKS_EXAMPLE_COM_X_API_KEY"


def test_n8n_legacy_nodes_json_parameters_and_credentials() -> None:
    back = import_n8n((DATA / "n8n-legacy.json").read_text(), "n8n-legacy.json")
    fetch, reorder = (s.step for s in back.steps)
    assert fetch["with"]["query"] == {"limit": "{{ inputs.limit }}", "state": "low stock"}
    assert "{{ inputs.warehouse }}" in fetch["with"]["url"]
    # read later: the source step gets outputs at those paths
    assert fetch["outputs"] == {
        "count": "{{ response.body.count }}",
        "sku": "{{ response.body.items.0.sku }}",
    }
    assert reorder["when"] == "{{ steps.fetch_stock.outputs.count > 0 }}"
    assert reorder["with"]["headers"] == {
        "X-Source": "n8n",
        "Authorization": "Bearer {{ secrets.orders_example_com_token }}",
    }
    assert back.steps[1].secrets == {"orders_example_com_token": "N8N_ORDERS_API_TOKEN"}
    assert any("basicAuth credential 'Inventory login' is not imported" in n for n in back.notes)
    assert any("$json.count * 2" in n for n in back.notes)
    wf = parse_workflow(to_yaml(back.steps, name=back.name))
    assert wf.inputs["limit"].default == 50
    assert wf.inputs["warehouse"].default == "north/2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope", "not JSON"),
        ('{"nodes": 3}', "a `nodes` list"),
        ('{"nodes": [{"name": "T", "type": "n8n-nodes-base.manualTrigger"}]}', "no HTTP Request"),
    ],
)
def test_a_bad_n8n_file_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(WorkflowError, match=message):
        import_n8n(text, "w.json")


def test_an_imported_n8n_workflow_runs_against_the_emulator(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RawServer(answer("200 OK", b'{"ok": true}')) as hook:
        text = (DATA / "n8n-standup.json").read_text()
        text = text.replace("https://hooks.example.com", f"http://127.0.0.1:{hook.port}")
        back = import_n8n(text, "n8n-standup.json")
        wf = parse_workflow(to_yaml(back.steps, name=back.name))
        (env,) = set(wf.secrets.values()) - {"CLOUDFLARE_API_TOKEN"}
        monkeypatch.setenv(env, "hook-key-4b1f")
        recorder = RecordingTransport()
        run = run_workflow(
            wf,
            {"n8n_now_toiso": "2024-05-01T09:00:00Z"},
            base_url=emulator.base_url,
            transport=recorder,
        )
        assert run.ok, {k: v.error for k, v in run.steps.items()}
        (raw,) = hook.requests
    meeting = run.steps["create_meeting"].outputs["meeting_id"]
    participant = run.steps["add_host"].outputs["participant_id"]
    calls = [(m, u.split("/client/v4")[-1], b) for m, u, b in recorder.calls]
    assert calls[:2] == [
        (
            "POST",
            "/accounts/acc-standup/realtime/kit/app1/meetings",
            {"title": "Daily standup", "record_on_start": False},
        ),
        (
            "POST",
            f"/accounts/acc-standup/realtime/kit/app1/meetings/{meeting}/participants",
            {
                "name": "Ada Lovelace",
                "preset_name": "group_call_host",
                "custom_participant_id": "host-1",
            },
        ),
    ]
    assert len(calls) == 3  # the false branch (list meetings) did not run
    assert run.steps["list_meetings"].skipped
    assert b"X-Api-Key: hook-key-4b1f" in raw
    assert json.loads(raw.split(b"\r\n\r\n", 1)[1]) == {
        "meeting": meeting,
        "participant": participant,
        "sent_at": "2024-05-01T09:00:00Z",
    }


def _conductor_http(ref: str, uri: str, secret: str) -> dict[str, Any]:
    request = {"uri": uri, "method": "GET", "headers": {"Authorization": f"Bearer {secret}"}}
    return {
        "name": ref,
        "taskReferenceName": ref,
        "type": "HTTP",
        "inputParameters": {"http_request": request},
    }


def test_imported_credentials_are_named_after_their_host_and_never_collide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two credentials of one host stay two secrets; each is read from a token variable."""
    with RawServer(answer("200 OK", b'{"ok": true}')) as srv:
        tasks = [
            _conductor_http("a", f"{srv.base_url}/a", "${workflow.secrets.STATUS_TOKEN}"),
            _conductor_http("b", f"{srv.base_url}/b", "${workflow.secrets.HOOKS}"),
            _conductor_http("c", "https://status.example.com/c", "${workflow.secrets.OTHER}"),
        ]
        back = import_conductor(json.dumps({"name": "two", "tasks": tasks}))
        heads = [s.step["with"]["headers"]["Authorization"] for s in back.steps]
        assert heads == [
            "Bearer {{ secrets.http_127_0_0_1_token }}",
            "Bearer {{ secrets.http_127_0_0_1_token_2 }}",
            "Bearer {{ secrets.status_example_com_token }}",
        ]
        wf = parse_workflow(to_yaml(back.steps[:2], name="two"))
        assert wf.secrets == {
            "http_127_0_0_1_token": "STATUS_TOKEN",
            "http_127_0_0_1_token_2": "HOOKS_TOKEN",
        }
        monkeypatch.setenv("STATUS_TOKEN", "tok-status")
        monkeypatch.setenv("HOOKS_TOKEN", "tok-hooks")
        run = run_workflow(wf, {})
        assert run.ok, {k: v.error for k, v in run.steps.items()}
        first, second = srv.requests
    assert first.startswith(b"GET /client/v4/a ")
    assert b"Authorization: Bearer tok-status" in first
    assert second.startswith(b"GET /client/v4/b ")
    assert b"Authorization: Bearer tok-hooks" in second


def test_a_body_field_newer_than_the_docs_is_imported_under_extra_body() -> None:
    newer = DOCS_CURL.replace('"record_on_start": false', '"record_on_start": false, "lobby_v2": 1')
    step = request_step(parse_curl(newer))
    assert step.step["task"] == "realtimekit.meetings.create"
    assert step.step["with"]["extra_body"] == {"lobby_v2": "{{ inputs.lobby_v2 }}"}
    assert "record_on_start" in step.step["with"]  # documented fields stay where they are
    assert any("lobby_v2" in note and "extra_body" in note for note in step.notes)
    parse_workflow(to_yaml([step]))  # checked like any workflow: extra_body is accepted
