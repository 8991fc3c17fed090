"""Issue 5's Test request, end to end: the real CLI against the real emulator on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..helpers import CANARY, run_cli

WORKFLOW = """\
name: onboard-call
inputs:
  account_id: {type: string}
  title: {type: string, default: Weekly sync}
  count: {type: integer, default: 5}
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account_id }}"
      title: "{{ inputs.title }}"
      record_on_start: true
  - id: counted
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account_id }}"
      title: "{{ inputs.title }}"
      session_keep_alive_time_in_secs: "{{ inputs.count * 20 }}"
  - id: bad_enum
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account_id }}"
      ai_config: {summarization: {summary_type: weekly}}
  - id: misspelt
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account_id }}"
      titel: "{{ inputs.title }}"
"""


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    path = tmp_path / "wf.yaml"
    path.write_text(WORKFLOW)
    return path


def _list(server: Any, account: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.base_url}/accounts/{account}/realtimekit/meetings",
        headers={"Authorization": f"Bearer {CANARY}"},
        params={"per_page": 100},
        timeout=5,
    )
    response.raise_for_status()
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _no_canary(*texts: str) -> None:
    for text in texts:
        assert CANARY not in text, "the API token leaked into output"


def test_test_request_creates_a_meeting_the_list_then_shows(emulator: Any, workflow: Path) -> None:
    done = run_cli(
        "test",
        str(workflow),
        "--step",
        "create_meeting",
        "--input",
        "account_id=acc-e2e",
        "--base-url",
        emulator.base_url,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True
    assert result["status_code"] == 201
    meeting_id = result["outputs"]["meeting_id"]
    assert meeting_id
    assert result["request"]["headers"]["Authorization"] == "Bearer ***"
    assert meeting_id in [m["id"] for m in _list(emulator, "acc-e2e")]
    _no_canary(done.stdout, done.stderr)


def test_human_output_shows_request_response_and_outputs(emulator: Any, workflow: Path) -> None:
    done = run_cli(
        "test",
        str(workflow),
        "--step",
        "create_meeting",
        "--input",
        "account_id=acc-human",
        "--base-url",
        emulator.base_url,
    )
    assert done.returncode == 0, done.stderr
    for part in (
        "POST",
        "/accounts/acc-human/realtimekit/meetings",
        "response 201",
        "meeting_id =",
        "Authorization: Bearer ***",
    ):
        assert part in done.stdout, f"{part!r} missing from:\n{done.stdout}"
    _no_canary(done.stdout, done.stderr)


@pytest.mark.parametrize(
    ("step", "expected"), [("bad_enum", "summary_type"), ("misspelt", "did you mean 'title'?")]
)
def test_bad_values_exit_2_and_the_emulator_receives_nothing(
    fresh_emulator: Any, workflow: Path, step: str, expected: str
) -> None:
    done = run_cli(
        "test",
        str(workflow),
        "--step",
        step,
        "--input",
        "account_id=a",
        "--base-url",
        fresh_emulator.base_url,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert expected in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    stats = fresh_emulator.stats()
    assert sum(stats["requests"].values()) == 0, f"the emulator received {stats}"
    _no_canary(done.stdout, done.stderr)


def test_dry_run_and_curl_send_nothing_and_hide_the_token(
    fresh_emulator: Any, workflow: Path
) -> None:
    done = run_cli(
        "test",
        str(workflow),
        "--step",
        "create_meeting",
        "--input",
        "account_id=a",
        "--base-url",
        fresh_emulator.base_url,
        "--dry-run",
        "--curl",
    )
    assert done.returncode == 0, done.stderr
    assert "$CLOUDFLARE_API_TOKEN" in done.stdout
    assert sum(fresh_emulator.stats()["requests"].values()) == 0
    _no_canary(done.stdout, done.stderr)


TRICKY = 'quote " backslash \\ newline\nbrace {{ 7*7 }} {% if %} unicode üñí ☃ 😀'


def test_tricky_input_reaches_the_server_byte_exact(emulator: Any, workflow: Path) -> None:
    done = run_cli(
        "test",
        str(workflow),
        "--step",
        "counted",
        "--input",
        "account_id=acc-bytes",
        "--input",
        f"title={TRICKY}",
        "--input",
        "count=5",
        "--base-url",
        emulator.base_url,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    meeting = json.loads(done.stdout)["body"]["data"]
    assert meeting["title"] == TRICKY
    assert meeting["session_keep_alive_time_in_secs"] == 100
    stored = {m["id"]: m for m in _list(emulator, "acc-bytes")}[meeting["id"]]
    assert stored["title"] == TRICKY


def test_a_wrong_token_is_a_remote_failure_with_exit_1(emulator: Any, workflow: Path) -> None:
    done = run_cli(
        "test",
        str(workflow),
        "--step",
        "create_meeting",
        "--input",
        "account_id=a",
        "--base-url",
        emulator.base_url,
        "--json",
        env={"CLOUDFLARE_API_TOKEN": "wrong-token-1234"},
    )
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["status_code"] == 401
    assert result["error"]["kind"] == "http"
    assert "wrong-token-1234" not in done.stdout


def test_call_runs_a_task_without_a_workflow(emulator: Any, tmp_path: Path) -> None:
    created = run_cli(
        "call",
        "realtimekit.meetings.create",
        "--with",
        "-",
        "--base-url",
        emulator.base_url,
        "--json",
        stdin=json.dumps({"account_id": "acc-call", "app_id": "app-1", "title": "Live path"}),
    )
    assert created.returncode == 0, created.stderr
    result = json.loads(created.stdout)
    assert "/realtime/kit/app-1/meetings" in result["request"]["url"]
    got = run_cli(
        "call",
        "realtimekit.meetings.get",
        "--with",
        "-",
        "--base-url",
        emulator.base_url,
        "--json",
        stdin=json.dumps({"account_id": "acc-call", "meeting_id": result["outputs"]["meeting_id"]}),
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["outputs"]["title"] == "Live path"
    _no_canary(created.stdout, got.stdout)
