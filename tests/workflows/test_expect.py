"""``expect:`` on a step (issue 27): lines checked on the final answer and listed in the
result; a failing line fails the step (kind ``expectation``) without sending anything again;
``continue_on_error`` goes past it; ``check`` holds body paths against the response schema."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from rtk_task.errors import WorkflowError
from rtk_task.workflows.check import check_workflow
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow

from ..rawserver import RawServer

ANSWER = {
    "success": True,
    "data": {
        "id": "6f1c7f9e-0000-4000-8000-000000000001",
        "title": "Weekly sync",
        "status": "INACTIVE",
        "tags": ["a", "b"],
    },
}
FLOW = """name: expect
secrets: {{key: RTK_TEST_EXPECT_KEY}}
steps:
  - id: create
    task: http
    continue_on_error: {go_on}
    with:
      method: POST
      url: "URL/meetings"
      headers: {{Authorization: "Bearer {{{{ secrets.key }}}}"}}
      body: {{title: Weekly sync}}
    expect:
{expect}
  - id: after
    task: http
    depends_on: {after}
    with: {{method: GET, url: "URL/after"}}
"""
GOOD = """      status: [200, 201]
      body:
        data.title: {equals: Weekly sync}
        data.id: {matches: "^[0-9a-f-]{36}$"}
        data.status: {in: [ACTIVE, INACTIVE]}
        data.tags: {type: array, length: {min: 1, max: 5}}
        data.nothing: {exists: false}
      headers:
        content-type: {matches: json}
      time_ms: 60000"""


def _server(answer: dict[str, Any]) -> RawServer:
    data = json.dumps(answer).encode()

    def behaviour(conn: socket.socket, _: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (len(data), data)
        )

    return RawServer(behaviour)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTK_TEST_EXPECT_KEY", "expect-key-0123456789")


def _run(expect: str, answer: dict[str, Any] = ANSWER, go_on: bool = False) -> tuple[Any, int]:
    with _server(answer) as server:
        after = "[]" if go_on else "[create]"
        text = FLOW.format(expect=expect, go_on=str(go_on).lower(), after=after)
        run = run_workflow(
            parse_workflow(text.replace("URL", f"http://127.0.0.1:{server.port}")), {}
        )
        creates = sum(1 for raw in server.requests if raw.startswith(b"POST"))
    return run, creates


def test_every_line_that_holds_is_listed_and_the_step_is_ok() -> None:
    run, creates = _run(GOOD)
    result = run.steps["create"]
    assert result.ok, result.error
    assert creates == 1
    assert [line["ok"] for line in result.expectations] == [True] * 8, result.expectations
    assert result.expectations[0]["expect"] == "status in [200, 201]"


def test_a_failing_line_fails_the_step_without_sending_again() -> None:
    run, creates = _run("      body:\n        data.status: {equals: ACTIVE}")
    result = run.steps["create"]
    assert result.ok is False
    assert result.error is not None
    assert result.error.kind == "expectation"
    assert "data.status" in result.error.message
    assert "is not 'ACTIVE'" in result.error.message
    assert result.expectations == [
        {
            "expect": "body data.status: equals 'ACTIVE'",
            "ok": False,
            "actual": "INACTIVE",
            "why": "is not 'ACTIVE'",
        }
    ]
    assert creates == 1, "a failed expectation made the create be sent again"
    assert run.steps["after"].skipped, "the run went on past a failed step"


def test_continue_on_error_goes_past_a_failed_expectation() -> None:
    run, _ = _run("      status: 200", go_on=True)
    assert run.steps["create"].error is not None
    assert run.steps["create"].error.kind == "expectation"
    assert run.ok is True, "continue_on_error: a failed expectation does not fail the run"


def test_an_actual_value_holding_a_secret_is_masked() -> None:
    answer = {"data": {"echo": "expect-key-0123456789"}}
    run, _ = _run("      body:\n        data.echo: {equals: nope}", answer)
    shown = json.dumps(run.to_json())
    assert "expect-key-0123456789" not in shown
    assert run.steps["create"].expectations[0]["actual"] == "***"


def test_check_holds_body_paths_against_the_response_schema() -> None:
    text = """name: c
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with: {account_id: a, title: t}
    expect:
      body:
        data.titel: {exists: true}
        data.title: {equals: t}
"""
    report = check_workflow(parse_workflow(text), {})
    assert len(report.problems) == 1, report.problems
    problem = report.problems[0]
    assert "data.titel" in problem.message
    assert "did you mean 'title'" in problem.hint


@pytest.mark.parametrize(
    "bad",
    ["body: {a: {}}", "body: {a: {matches: '('}}", "body: {a: {sorta: 1}}", "status: x"],
)
def test_a_malformed_expect_is_refused_when_the_file_loads(bad: str) -> None:
    step = f"{{id: s, task: http, with: {{url: 'http://a.b/'}}, expect: {{{bad}}}}}"
    text = f"name: c\nsteps:\n  - {step}\n"
    with pytest.raises(WorkflowError) as err:
        parse_workflow(text)
    assert "expect" in err.value.render()


def test_the_readme_example_runs_as_pasted_against_the_emulator(emulator: Any) -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "expect:" in b]
    run = run_workflow(parse_workflow(block, "README"), {}, base_url=emulator.base_url)
    result = run.steps["create_meeting"]
    assert result.ok, result.error
    assert result.expectations
    assert all(line["ok"] for line in result.expectations), result.expectations


def test_run_and_test_show_each_expectation(emulator: Any, tmp_path: Any) -> None:
    from ..helpers import run_cli

    (tmp_path / "e.yaml").write_text(
        """name: e
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with: {account_id: acc, title: Weekly sync}
    expect:
      status: 201
      body:
        data.title: {equals: Monthly}
"""
    )
    done = run_cli("run", "e.yaml", "--base-url", emulator.base_url, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL body data.title: equals 'Monthly': is not 'Monthly'" in done.stdout
    shown = run_cli(
        "test",
        "e.yaml",
        "--step",
        "create_meeting",
        "--base-url",
        emulator.base_url,
        cwd=tmp_path,
    )
    assert "pass status in [201]" in shown.stdout
    assert "FAIL body data.title" in shown.stdout
