"""The API token and workflow secrets never appear: results, errors, logs, records, exports."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from rtk_task import Client, RtkError
from rtk_task.secrets import Redactor
from rtk_task.workflows.export import export_workflow
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.records import write_record
from rtk_task.workflows.runner import run_workflow

from ..helpers import CANARY, OUTPUTS, run_cli

pytest_plugins = ["pytester"]
SECRET = "store-secret-canary-42"
WORKFLOW = """\
name: secretive
secrets:
  store: RTK_TEST_SECRET_STORE
steps:
  - id: create
    task: realtimekit.meetings.create
    with:
      account_id: acc
      title: "prefix {{ secrets.store }}"
      recording_config:
        storage_config: {type: aws, secret: "{{ secrets.store }}"}
  - id: fail
    task: realtimekit.meetings.get
    with: {account_id: acc, meeting_id: "{{ steps.create.outputs.meeting_id }}"}
"""


def echo(request: httpx.Request) -> httpx.Response:
    """A server that echoes everything it was sent, the Authorization header included."""
    body = {
        "success": True,
        "data": {
            "id": "m1",
            "created_at": "t",
            "updated_at": "t",
            "echo": request.content.decode(),
            "auth": request.headers.get("authorization"),
        },
    }
    status = 201 if request.method == "POST" else 500
    return httpx.Response(
        status, json=body, headers={"x-echo-auth": request.headers["authorization"]}
    )


def test_the_session_token_is_the_canary() -> None:
    import os

    assert os.environ["CLOUDFLARE_API_TOKEN"] == CANARY


def test_cli_outputs_are_recorded_for_the_canary_search() -> None:
    before = len(OUTPUTS)
    run_cli("list")
    assert len(OUTPUTS) == before + 1


def test_the_canary_check_fails_a_run_that_leaks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "from tests.helpers import CanaryGuard\n"
        "def pytest_configure(config):\n"
        "    config.pluginmanager.register(CanaryGuard())\n"
    )
    pytester.makepyfile(f"def test_leak():\n    print({CANARY!r})\n")
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*the API token (canary) appeared in*"])


def test_an_echoing_server_cannot_leak_secrets(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setenv("RTK_TEST_SECRET_STORE", SECRET)
    caplog.set_level(logging.DEBUG)
    wf = parse_workflow(WORKFLOW, "wf.yaml")
    run = run_workflow(
        wf, {}, base_url="http://127.0.0.1:1/v4", transport=httpx.MockTransport(echo)
    )
    assert run.steps["create"].ok
    assert not run.steps["fail"].ok
    text = json.dumps(run.to_json())
    path = write_record(
        "wf.yaml",
        wf.name,
        run.steps,
        ok=run.ok,
        inputs={},
        redactor=Redactor([CANARY, SECRET]),
        root=tmp_path,
    )
    exported = export_workflow(wf, "conductor")
    for where, value in (
        ("results", text),
        ("logs", caplog.text),
        ("record", path.read_text()),
        ("export", exported),
    ):
        assert CANARY not in value, f"token in {where}"
        assert SECRET not in value, f"secret in {where}"
    assert "***" in text


def test_errors_and_reprs_hide_the_token() -> None:
    client = Client(base_url="http://127.0.0.1:1/v4", transport=httpx.MockTransport(echo))
    result = client.call("realtimekit.meetings.get", {"account_id": "a", "meeting_id": "m"})
    assert not result.ok
    with pytest.raises(RtkError) as caught:
        result.raise_for_error()
    for text in (
        repr(client),
        str(caught.value),
        repr(caught.value),
        repr(result),
        result.model_dump_json(),
    ):
        assert CANARY not in text


def test_cli_dry_run_curl_and_json_hide_the_token(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(WORKFLOW)
    done = run_cli(
        "test",
        str(wf),
        "--step",
        "create",
        "--dry-run",
        "--curl",
        "--json",
        env={"RTK_TEST_SECRET_STORE": SECRET},
    )
    assert done.returncode == 0, done.stderr
    assert CANARY not in done.stdout + done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert "$CLOUDFLARE_API_TOKEN" in json.loads(done.stdout)["curl"]
