"""Bounds with clear errors before anything is sent (issue 23, item 7): ``for_each`` items
(``max_items``, default 100,000), ``rate_limit.per``, ``until.interval``/``timeout``; a rate
limit whose first place is past the step's deadline fails at once, not after it; a record
summarises a step result past its size bound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtk_task.errors import WorkflowError
from rtk_task.result import TaskResult
from rtk_task.secrets import Redactor
from rtk_task.workflows.check import check_workflow
from rtk_task.workflows.model import MAX_ITEMS, parse_workflow
from rtk_task.workflows.records import MAX_STEP_BYTES, RunRecord
from rtk_task.workflows.runner import run_workflow

from ..rawserver import RawServer, answer

EACH = """
name: many
inputs:
  people: {{type: array}}
steps:
  - id: add
    task: http
    for_each: "{{{{ inputs.people }}}}"
{extra}    with: {{method: POST, url: "{url}/p", body: {{name: "{{{{ item }}}}"}}}}
"""


def test_a_for_each_past_max_items_is_refused_by_check_and_run_sends_nothing() -> None:
    with RawServer(answer("200 OK", b"{}")) as server:
        text = EACH.format(url=f"http://127.0.0.1:{server.port}", extra="    max_items: 3\n")
        workflow = parse_workflow(text)
        people = ["a", "b", "c", "d"]
        report = check_workflow(workflow, {"people": people})
        messages = [p.message for p in report.problems]
        assert any("more than max_items (3)" in m for m in messages), messages
        run = run_workflow(workflow, {"people": people})
        sent = list(server.requests)
    assert sent == []
    error = run.steps["add"].error
    assert error is not None
    assert error.kind == "workflow"
    assert "4 items" in error.message


def test_the_default_item_bound_is_100000() -> None:
    workflow = parse_workflow(EACH.format(url="http://127.0.0.1:9", extra=""))
    assert workflow.steps[0].max_items == MAX_ITEMS == 100_000
    report = check_workflow(workflow, {"people": list(range(MAX_ITEMS + 1))})
    assert any("100,001 items" in p.message for p in report.problems)


@pytest.mark.parametrize(
    ("yaml", "field"),
    [
        ("rate_limit: {requests: 1, per: 1000000000000}\n", "rate_limit"),
        ("rate_limit: {requests: 1, per: .inf}\n", "rate_limit"),
    ],
)
def test_an_unbounded_rate_limit_window_is_refused(yaml: str, field: str) -> None:
    text = "name: w\n" + yaml + "steps:\n  - {id: s, task: http, with: {url: 'http://a.b/'}}\n"
    with pytest.raises(WorkflowError) as err:
        parse_workflow(text)
    assert field in err.value.render()


@pytest.mark.parametrize(
    "until",
    [
        "{condition: 'true', interval: 0.000000001}",
        "{condition: 'true', timeout: .inf}",
        "{condition: 'true', interval: .nan}",
    ],
)
def test_a_flooding_or_endless_until_is_refused(until: str) -> None:
    step = f"{{id: s, task: http, with: {{url: 'http://a.b/'}}, until: {until}}}"
    text = f"name: w\nsteps:\n  - {step}\n"
    with pytest.raises(WorkflowError) as err:
        parse_workflow(text)
    assert "until" in err.value.render()


def test_a_rate_limit_place_past_the_deadline_fails_at_once_without_sending() -> None:
    text = """
name: slow
rate_limit: {requests: 1, per: 86400}
retry: {deadline: 30}
steps:
  - id: first
    task: http
    with: {method: GET, url: "URL/a"}
  - id: second
    task: http
    depends_on: [first]
    with: {method: GET, url: "URL/b"}
"""
    with RawServer(answer("200 OK", b"{}")) as server:
        workflow = parse_workflow(text.replace("URL", f"http://127.0.0.1:{server.port}"))
        run = run_workflow(workflow, {})
        sent = list(server.requests)
    assert len(sent) == 1
    error = run.steps["second"].error
    assert error is not None
    assert error.kind == "config"
    assert "past its deadline" in error.message
    assert not run.steps["second"].sent


def test_a_record_summarises_a_huge_step_result(tmp_path: Path) -> None:
    record = RunRecord("w.yaml", "w", inputs={}, redactor=Redactor(), root=tmp_path)
    record.begin()
    ids = [f"participant-{i:06d}" for i in range(100_000)]
    result = TaskResult(ok=True, task="http", status_code=200, outputs={"ids": ids, "n": 1})
    record.finished("add", result)
    size = record.path.stat().st_size
    assert size < MAX_STEP_BYTES // 4, f"a {size:,}-byte record"
    step = json.loads(record.path.read_text())["steps"]["add"]
    assert step["outputs"]["ids"] == {
        "summarised": True,
        "items": 100_000,
        "bytes": step["outputs"]["ids"]["bytes"],
    }
    assert step["outputs"]["n"] == 1
    assert step["status_code"] == 200
