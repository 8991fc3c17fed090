"""``extra_body``: body fields newer than a typed task's docs, sent as given, checked for JSON
types only; a documented field there, or a task without a JSON object body, is refused before
anything is sent (issue 25)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rtk_task import Client
from rtk_task.errors import InputError
from rtk_task.inputs import input_schema, takes_extra_body, validate_inputs
from rtk_task.manifests.registry import load_task
from rtk_task.request import build_request

from ..helpers import run_cli
from ..recorder import Recorder, reply

BASE = "http://127.0.0.1:8787/client/v4"
CREATE = load_task("realtimekit.meetings.create")
GET = load_task("realtimekit.meetings.get")


def _problems(manifest: Any, inputs: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        validate_inputs(manifest, inputs)
    return {p.where: f"{p.message} | {p.hint}" for p in caught.value.problems}


def test_newer_fields_are_sent_beside_the_documented_ones() -> None:
    inputs = {"account_id": "acc", "title": "t", "extra_body": {"lobby": {"v": 2}, "n": 1}}
    validate_inputs(CREATE, inputs)
    request = build_request(CREATE, inputs, base_url=BASE)
    assert isinstance(request.body, bytes)
    assert json.loads(request.body) == {"title": "t", "lobby": {"v": 2}, "n": 1}
    assert b"extra_body" not in request.body


def test_a_documented_field_under_extra_body_is_refused_with_where_it_belongs() -> None:
    found = _problems(CREATE, {"account_id": "acc", "extra_body": {"title": "t"}})
    assert found == {
        "extra_body.title": "is a documented field of this task "
        "| set title beside the other fields, where it is checked"
    }


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, object()])
def test_values_that_are_not_json_are_refused(value: Any) -> None:
    found = _problems(CREATE, {"account_id": "acc", "extra_body": {"x": value}})
    assert found, "a value that is not JSON passed"
    assert all(k.startswith("extra_body") for k in found), found


def test_a_task_without_a_json_body_has_no_extra_body() -> None:
    assert not takes_extra_body(GET)
    found = _problems(GET, {"account_id": "acc", "meeting_id": "m", "extra_body": {"x": 1}})
    assert found["extra_body"].startswith("unknown field")
    assert "extra_body" not in input_schema(GET)["properties"]
    assert "extra_body" in input_schema(CREATE)["properties"]


def test_an_unknown_field_names_extra_body_as_the_way_for_newer_fields() -> None:
    found = _problems(CREATE, {"account_id": "acc", "lobby_v2": True})
    assert "goes under extra_body" in found["lobby_v2"]
    found = _problems(CREATE, {"account_id": "acc", "titel": "t"})
    assert "did you mean 'title'?" in found["titel"]


def test_a_non_json_content_type_refuses_extra_body_before_sending() -> None:
    with Recorder(lambda seen: reply({"success": True, "data": {}})) as server:
        with Client(server.url, token="tok-extra-7f3a") as client:
            result = client.call(
                "realtimekit.meetings.create",
                {
                    "account_id": "acc",
                    "headers": {"Content-Type": "text/plain"},
                    "extra_body": {"x": 1},
                },
            )
        assert server.seen == []
    assert not result.ok
    assert result.error is not None
    assert result.error.kind in ("validation", "input"), result.error


WORKFLOW = """name: newer
steps:
  - id: make
    task: realtimekit.meetings.create
    with:
      account_id: acc
      title: "{{ inputs.title }}"
      extra_body: {lobby_v2: {enabled: true}, seats: "{{ inputs.seats }}"}
inputs:
  title: {type: string, default: planning}
  seats: {type: integer, default: 12}
"""


def test_a_workflow_step_sends_extra_body_with_its_types_kept(tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    answer = {"success": True, "data": {"id": "m1", "title": "planning", "status": "ACTIVE"}}
    with Recorder(lambda seen: reply(answer, 201)) as server:
        done = run_cli("run", "wf.yaml", "--base-url", server.url, "--json", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        (seen,) = server.seen
    assert seen.method == "POST"
    assert json.loads(seen.body) == {
        "title": "planning",
        "lobby_v2": {"enabled": True},
        "seats": 12,
    }
