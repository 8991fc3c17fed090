"""Export: valid JSON, references that point at the right earlier steps, no secret values."""

from __future__ import annotations

import json
import re

import pytest

from rtk_task.errors import WorkflowError
from rtk_task.workflows.export import export_workflow
from rtk_task.workflows.model import load_workflow, parse_workflow

from ..helpers import MEETING_FLOW as EXAMPLE

REF = re.compile(r"\$\{([^}]+)\}")


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_conductor_references_point_at_earlier_tasks() -> None:
    wf = load_workflow(EXAMPLE)
    data = json.loads(export_workflow(wf, "conductor"))
    names = [t["taskReferenceName"] for t in data["tasks"]]
    http = [t for t in data["tasks"] if t["type"] == "HTTP"]
    assert [t["taskReferenceName"] for t in http] == ["create_meeting", "add_host", "get_meeting"]
    for index, task in enumerate(data["tasks"]):
        # an input in a path is encoded by a jq task before the call that sends it
        assert task["type"] in ("HTTP", "JSON_JQ_TRANSFORM")
        for ref in REF.findall(json.dumps(task)):
            head = ref.split(".")[0]
            if head == "workflow":
                assert ref.split(".")[1] in ("input", "secrets"), ref
                continue
            assert head in names[:index], f"{task['name']} refers to {ref}"
    add_host = http[1]["inputParameters"]["http_request"]
    assert "${create_meeting.output.response.body.data.id}" in add_host["uri"]
    assert add_host["method"] == "POST"
    assert http[0]["taskDefinition"]["retryCount"] == 0  # a create is never resent


def test_simworkflow_shape_and_references() -> None:
    data = json.loads(export_workflow(load_workflow(EXAMPLE), "simworkflow"))
    ids = [s["id"] for s in data["steps"]]
    for index, step in enumerate(data["steps"]):
        assert step["type"] == "Http"
        assert set(step["httpRequest"]) >= {"url", "method", "headers"}
        assert step["connectionTimeoutSeconds"] == 5.0
        assert step["readTimeoutSeconds"] == 10.0
        for ref in REF.findall(json.dumps(step["httpRequest"])):
            parts = ref.split(".")
            if parts[0] == "steps":
                assert parts[1] in ids[:index], ref
            else:
                assert parts[0] in ("inputs", "secrets"), ref
    assert data["steps"][2]["retry"] == {"maxAttempts": 3}  # a GET may be retried


def test_secrets_are_references_never_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "tok-export-canary")
    monkeypatch.setenv("STORE_KEY", "store-key-canary")
    text = EXAMPLE.read_text().replace("inputs:\n", "secrets:\n  store: STORE_KEY\ninputs:\n", 1)
    text = text.replace(
        "record_on_start: true",
        "record_on_start: true\n      recording_config: {storage_config: "
        '{type: aws, secret: "{{ secrets.store }}"}}',
    )
    out = export_workflow(parse_workflow(text, "wf.yaml"), "conductor")
    assert "tok-export-canary" not in out
    assert "store-key-canary" not in out
    assert "${workflow.secrets.STORE_KEY}" in out
    assert "Bearer ${workflow.secrets.CLOUDFLARE_API_TOKEN}" in out


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (
            ('title: "{{ inputs.title }}"', 'title: "{{ inputs.title | upper }}"'),
            "steps.create_meeting.with.title",
        ),
        (
            (
                "task: realtimekit.meetings.participants.add",
                'task: realtimekit.meetings.participants.add\n    when: "{{ inputs.title }}"',
            ),
            "steps.add_host.when",
        ),
    ],
)
def test_what_cannot_translate_is_refused_with_its_field(edit: tuple[str, str], where: str) -> None:
    text = EXAMPLE.read_text().replace(*edit)
    with pytest.raises(WorkflowError) as caught:
        export_workflow(parse_workflow(text, "wf.yaml"), "simworkflow")
    assert caught.value.first.where == where
