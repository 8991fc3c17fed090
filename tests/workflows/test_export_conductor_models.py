"""Conductor exports as Conductor reads them (issue 25): each export of the README's and the
tests' workflows deserialises into the official ``conductor-python`` models losing no field,
has what a default Conductor server requires (``ownerEmail``; each inline task definition
named), and keeps the step's retry, timeouts and rate limit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from rtk_task.errors import WorkflowError
from rtk_task.workflows.export import OWNER_EMAIL, export_workflow
from rtk_task.workflows.model import parse_workflow

ROOT = Path(__file__).resolve().parents[2]
#: Fields the Conductor server's WorkflowDef schema has (schemas/WorkflowDef.json of
#: conductor-oss/conductor, Apache-2.0) and conductor-python 2.0.0's models predate.
NEWER_THAN_THE_MODELS = {"maxRetryDelaySeconds", "backoffJitterMs"}
FILES = [
    ROOT / "tests" / "data" / "onboard-call.yaml",
    *sorted((ROOT / "rtk_task" / "examples").glob("*.yaml")),
]
#: The README's workflows (its ```yaml blocks that are workflows).
README = [
    block
    for block in re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    if "steps:" in block
]
FLOWS = [
    *((p.name, p.read_text()) for p in FILES),
    *((f"README block {i}", text) for i, text in enumerate(README, 1)),
]


def _lost(ours: Any, theirs: Any, path: str = "") -> list[str]:
    if isinstance(ours, dict):
        out = []
        for key, value in ours.items():
            if key not in theirs or (theirs[key] is None and value is not None):
                if key not in NEWER_THAN_THE_MODELS:
                    out.append(f"{path}.{key}")
                continue
            out += _lost(value, theirs[key], f"{path}.{key}")
        return out
    if isinstance(ours, list):
        return [
            x
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            for x in _lost(a, b, f"{path}[{i}]")
        ]
    return [] if ours == theirs else [f"{path}: {ours!r} became {theirs!r}"]


def _tasks(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for task in tasks:
        out.append(task)
        for case in task.get("decisionCases", {}).values():
            out += _tasks(case)
        out += _tasks(task.get("loopOver", []))
    return out


@pytest.mark.parametrize(("name", "text"), FLOWS, ids=[n for n, _ in FLOWS])
def test_an_export_deserialises_into_the_official_models_losing_nothing(
    name: str, text: str
) -> None:
    from conductor.client.http.api_client import ApiClient

    try:
        data = json.loads(export_workflow(parse_workflow(text, name), "conductor"))
    except WorkflowError as exc:  # refused, naming the field and why: not a silent loss
        refusal = exc.render()
        data = {}
    if not data:
        assert "conductor" in refusal.lower(), refusal
        return
    client = ApiClient.__new__(ApiClient)  # no configuration: no server is called
    model = client.deserialize_class(data, "WorkflowDef")
    assert _lost(data, client.sanitize_for_serialization(model)) == []
    assert data["ownerEmail"] == OWNER_EMAIL
    for task in _tasks(data["tasks"]):
        assert task["name"], task
        assert task["taskReferenceName"], task
        if "taskDefinition" in task:
            assert task["taskDefinition"]["name"], task


RETRIED = """
name: kept
rate_limit: {requests: 250, per: 10}
steps:
  - id: get_meeting
    task: realtimekit.meetings.get
    timeout: {connect: 2, read: 7.5}
    retry: {max_attempts: 7, initial_interval: 1.5, backoff: 2, max_interval: 20, deadline: 90}
    with: {account_id: a, meeting_id: m}
  - id: create_meeting
    task: realtimekit.meetings.create
    with: {account_id: a, title: t}
"""


def test_retry_timeouts_and_the_rate_limit_are_kept() -> None:
    data = json.loads(
        export_workflow(parse_workflow(RETRIED), "conductor", owner_email="ops@example.org")
    )
    assert data["ownerEmail"] == "ops@example.org"
    by_name = {t["name"]: t for t in data["tasks"]}
    get = by_name["get_meeting"]["taskDefinition"]
    assert get["retryCount"] == 6
    assert get["retryLogic"] == "EXPONENTIAL_BACKOFF"
    assert get["retryDelaySeconds"] == 2  # 1.5 s, never sooner
    assert get["maxRetryDelaySeconds"] == 20
    assert get["totalTimeoutSeconds"] == 90
    assert get["responseTimeoutSeconds"] == 8
    assert get["rateLimitPerFrequency"] == 250
    assert get["rateLimitFrequencyInSeconds"] == 10
    request = by_name["get_meeting"]["inputParameters"]["http_request"]
    assert (request["connectionTimeOut"], request["readTimeOut"]) == (2000, 7500)
    create = by_name["create_meeting"]["taskDefinition"]
    assert create["retryCount"] == 0  # a create is never resent by an engine


def test_a_retried_create_and_an_odd_backoff_are_refused_with_their_fields() -> None:
    from rtk_task.errors import WorkflowError

    text = RETRIED.replace("backoff: 2", "backoff: 3").replace(
        "with: {account_id: a, title: t}",
        "retry: {max_attempts: 5}\n    with: {account_id: a, title: t}",
    )
    with pytest.raises(WorkflowError) as err:
        export_workflow(parse_workflow(text), "conductor")
    rendered = err.value.render()
    assert "steps.get_meeting.retry.backoff" in rendered
    assert "steps.create_meeting.retry.max_attempts" in rendered


def test_an_http_steps_own_auth_scheme_is_exported_as_it_is_sent() -> None:
    text = """name: t
secrets: {tok: STATUS_TOKEN, user: STATUS_USER, pw: STATUS_PASSWORD}
steps:
  - id: s
    task: http
    with:
      url: https://status.example.com/api
      headers: {Authorization: "Token {{ secrets.tok }}"}
"""
    data = json.loads(export_workflow(parse_workflow(text), "conductor"))
    headers = data["tasks"][0]["inputParameters"]["http_request"]["headers"]
    assert headers["Authorization"] == "Token ${workflow.secrets.STATUS_TOKEN}"
    basic = text.replace(
        '      headers: {Authorization: "Token {{ secrets.tok }}"}',
        '      auth: {basic: {user: "{{ secrets.user }}", password: "{{ secrets.pw }}"}}',
    )
    from rtk_task.errors import WorkflowError

    with pytest.raises(WorkflowError) as err:
        export_workflow(parse_workflow(basic), "conductor")
    assert "Basic auth" in err.value.render()
