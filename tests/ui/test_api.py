"""The playground's JSON API over plain HTTP: the check in previews and runs, the streamed
run, two runs compared, earlier steps run first; the token in none of the answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from rtk_task.ui import UiServer

from ..helpers import CANARY
from .conftest import emulator_stats

_WORKFLOW = """\
name: chain
inputs:
  account: {type: string, default: acc}
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account }}"
      title: Weekly sync
  - id: add_participant
    task: realtimekit.meetings.participants.add
    depends_on: [create_meeting]
    with:
      account_id: acc
      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"
      preset_name: host
      custom_participant_id: host@example.com
"""
_ADD = {
    "task": "realtimekit.meetings.participants.add",
    "step_id": "add_participant",
    "with": {
        "account_id": "acc",
        "meeting_id": "{{ steps.create_meeting.outputs.meeting_id }}",
        "preset_name": "host",
        "custom_participant_id": "host@example.com",
    },
}


def _session(ui: UiServer) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=ui.url, timeout=30)
    csrf = client.get("/api/session").json()["csrf"]
    return client, {"x-csrf-token": csrf, "origin": ui.url.rstrip("/")}


def _write(ui: UiServer, text: str = _WORKFLOW) -> Path:
    assert ui.workflow_file is not None
    ui.workflow_file.write_text(text, encoding="utf-8")
    return ui.workflow_file


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_preview_puts_check_problems_beside_fields_and_lists_the_rest(ui: UiServer) -> None:
    _write(ui, _WORKFLOW.replace("preset_name: host", "preset_name: 7"))
    client, headers = _session(ui)
    edited = {
        "task": "realtimekit.meetings.create",
        "step_id": "create_meeting",
        "with": {"account_id": "acc", "title": 5},
    }
    answer = client.post("/api/preview", json=edited, headers=headers)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert [p["where"] for p in data["problems"]] == ["title"], data
    assert "valid string" in data["problems"][0]["message"]
    # the other step's problem, with its line in the file
    (other,) = data["workflow_problems"]
    assert other["where"] == "steps.add_participant.with.preset_name", other
    assert other["at"].endswith("wf.yaml:16"), other
    assert CANARY not in answer.text


def test_run_is_refused_with_the_problems_and_nothing_is_sent(ui: UiServer) -> None:
    _write(ui, _WORKFLOW.replace("outputs.meeting_id", "outputs.meeting"))
    client, headers = _session(ui)
    before = emulator_stats(ui)["requests"]
    answer = client.post("/api/run", json={"inputs": {}}, headers=headers)
    assert answer.status_code == 400, answer.text
    problems = answer.json()["error"]["problems"]
    assert any("has no output 'meeting'" in p["message"] for p in problems), problems
    assert any(p["where"].endswith("wf.yaml:15") for p in problems), problems
    assert emulator_stats(ui)["requests"] == before
    assert CANARY not in answer.text


def test_run_streams_each_step_as_it_finishes(ui: UiServer) -> None:
    _write(ui)
    client, headers = _session(ui)
    seen: list[tuple[str, dict[str, Any]]] = []
    with client.stream("POST", "/api/run", json={"inputs": {}}, headers=headers) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        text = ""
        for chunk in answer.iter_text():
            text += chunk
            while "\n\n" in text:
                block, text = text.split("\n\n", 1)
                seen += _events(block)
                if seen[-1][0] == "step" and seen[-1][1]["step"] == "create_meeting":
                    # the first step's result is here before the run has ended
                    assert all(kind != "done" for kind, _ in seen)
    kinds = [(kind, data.get("step")) for kind, data in seen]
    assert kinds == [
        ("begin", None),
        ("start", "create_meeting"),
        ("step", "create_meeting"),
        ("start", "add_participant"),
        ("step", "add_participant"),
        ("done", None),
    ], kinds
    assert seen[2][1]["result"]["status_code"] == 201
    assert seen[-1][1]["ok"] is True
    record = json.loads(Path(seen[-1][1]["record"]).read_text())
    assert record["state"] == "finished"
    assert record["ok"] is True
    assert emulator_stats(ui)["meetings_created"] == {"acc": 1}
    assert CANARY not in json.dumps(seen)


def test_test_runs_the_earlier_steps_first_when_asked(ui: UiServer) -> None:
    _write(ui)
    client, headers = _session(ui)
    # without records and without asking: refused, nothing sent
    refused = client.post("/api/test", json=_ADD, headers=headers).json()
    assert refused["sent"] is False
    assert any("no recorded outputs" in p["message"] for p in refused["problems"]), refused
    assert emulator_stats(ui)["requests"] == {}
    tested = client.post("/api/test", json={**_ADD, "earlier": True}, headers=headers)
    data = tested.json()
    assert data["ran_first"] == {
        "create_meeting": {"ok": True, "skipped": False, "status_code": 201}
    }, data
    assert data["result"]["ok"] is True, data["result"]
    assert emulator_stats(ui)["meetings_created"] == {"acc": 1}
    # now the records hold create_meeting's outputs: a plain test reuses them
    again = client.post("/api/test", json=_ADD, headers=headers).json()
    assert again["ran_first"] == {}, again
    assert set(again["used"]) == {"create_meeting"}, again
    assert emulator_stats(ui)["meetings_created"] == {"acc": 1}
    assert CANARY not in tested.text


def test_two_recorded_runs_compared_field_by_field(ui: UiServer) -> None:
    _write(ui)
    client, headers = _session(ui)
    step = {"task": "realtimekit.meetings.create", "step_id": "create_meeting"}
    for title in ("First", "Second"):
        with_ = {"account_id": "acc", "title": title}
        sent = client.post("/api/test", json={**step, "with": with_}, headers=headers)
        assert sent.json()["sent"] is True, sent.text
    runs = client.get("/api/workflow").json()["workflow"]["steps"][0]["runs"]
    assert len(runs) == 2
    answer = client.get(
        "/api/compare",
        params={"step": "create_meeting", "a": runs[1]["file"], "b": runs[0]["file"]},
    )
    assert answer.status_code == 200, answer.text
    rows = {r["field"]: r for r in answer.json()["rows"]}
    assert rows["request.body.title"]["a"] == '"First"'
    assert rows["request.body.title"]["b"] == '"Second"'
    assert not rows["request.body.title"]["same"]
    assert rows["status_code"]["same"]
    assert rows["status_code"]["a"] == "201"
    assert not rows["outputs.meeting_id"]["same"]
    assert rows["request.headers.authorization"]["a"] == '"Bearer ***"'
    assert CANARY not in answer.text
    # only records of this workflow, by name
    for bad in ("../../etc/passwd", "nope.json"):
        refused = client.get("/api/compare", params={"step": "x", "a": bad, "b": bad})
        assert refused.status_code == 400, refused.text


def test_add_writes_the_form_values_and_declares_only_missing_inputs(ui: UiServer) -> None:
    from rtk_task.workflows.model import load_workflow

    client, headers = _session(ui)
    first = {"task": "realtimekit.meetings.create", "with": {"title": "T"}}
    assert client.post("/api/add", json=first, headers=headers).json()["step_id"] == (
        "create_meeting"
    )
    second = {"task": "realtimekit.meetings.participants.add", "with": {"preset_name": "host"}}
    assert client.post("/api/add", json=second, headers=headers).status_code == 200
    wf = load_workflow(ui.workflow_file)  # type: ignore[arg-type]
    assert wf.step("create_meeting").with_ == {
        "title": "T",
        "account_id": "{{ inputs.account_id }}",
    }
    added = wf.step("add_participant").with_
    assert added["meeting_id"] == "{{ steps.create_meeting.outputs.meeting_id }}"
    assert added["preset_name"] == "host"
    assert set(wf.inputs) == {"account_id", "custom_participant_id"}
    taken = client.post("/api/add", json={**first, "step_id": "create_meeting"}, headers=headers)
    assert taken.status_code == 400
    assert "exists already" in taken.text


def test_live_run_asks_before_steps_that_are_not_idempotent(
    fresh_emulator: object, tmp_path: Path
) -> None:
    server = fresh_emulator
    workflow = tmp_path / "wf.yaml"
    workflow.write_text(_WORKFLOW, encoding="utf-8")
    url = server.base_url  # type: ignore[attr-defined]
    with UiServer(port=0, base_url=url, workflow_file=workflow, records_root=tmp_path) as live:
        client, headers = _session(live)
        refused = client.post("/api/run", json={"inputs": {}}, headers=headers)
        assert refused.status_code == 409
        assert "create_meeting, add_participant" in refused.json()["confirm"]
        assert server.stats()["requests"] == {}  # type: ignore[attr-defined]
        sent = client.post("/api/run", json={"inputs": {}, "confirm": True}, headers=headers)
        events = _events(sent.text)
        assert [kind for kind, _ in events][-1] == "done"
        assert events[-1][1]["ok"] is True
        assert CANARY not in refused.text + sent.text
