"""Masking is for what is shown, never for what is sent (issue 23): a server answering with
data equal to a workflow secret (``ACTIVE``, or a long token) gets that data back unchanged
from a later step, on the local engine, Temporal and Prefect; every result, record and output
still shows it masked."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow

from ..helpers import run_cli
from ..rawserver import RawServer

FLOW = """name: echo
secrets: {state: RTK_TEST_STATE, key: RTK_TEST_KEY}
steps:
  - id: read
    task: http
    with:
      method: GET
      url: "URL/state"
      headers: {X-Key: "{{ secrets.key }}"}
    outputs:
      status: "{{ response.body.status }}"
      token: "{{ response.body.token }}"
  - id: write
    task: http
    with:
      method: POST
      url: "URL/state"
      body:
        status: "{{ steps.read.outputs.status }}"
        token: "{{ steps.read.outputs.token }}"
"""
STATE = "ACTIVE"
KEY = "key-0123456789-abcdef"


def _server() -> RawServer:
    answer = json.dumps({"status": STATE, "token": KEY}).encode()

    def behaviour(conn: socket.socket, _: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (len(answer), answer)
        )

    return RawServer(behaviour)


def _sent_body(server: RawServer) -> dict[str, Any]:
    posts = [raw for raw in server.requests if raw.startswith(b"POST")]
    assert len(posts) == 1, server.requests
    body: dict[str, Any] = json.loads(posts[0].partition(b"\r\n\r\n")[2])
    return body


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTK_TEST_STATE", STATE)
    monkeypatch.setenv("RTK_TEST_KEY", KEY)


def test_data_equal_to_a_secret_is_sent_on_unchanged_and_shown_masked() -> None:
    with _server() as server:
        workflow = parse_workflow(FLOW.replace("URL", f"http://127.0.0.1:{server.port}"))
        run = run_workflow(workflow, {})
        sent = _sent_body(server)
    assert run.ok, run.to_json()
    assert sent == {"status": STATE, "token": KEY}, "masking changed what was sent"
    shown = json.dumps(run.to_json())
    assert KEY not in shown
    assert f'"{STATE}"' not in shown
    assert run.steps["read"].outputs == {"status": "***", "token": "***"}
    assert run.steps["read"].secret_outputs == {"status": "state", "token": "key"}


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("engine", ["temporal", "prefect"])
def test_on_an_engine_too(engine: str, tmp_path: Path, prefect_api: str) -> None:
    with _server() as server:
        (tmp_path / "echo.yaml").write_text(FLOW.replace("URL", f"http://127.0.0.1:{server.port}"))
        done = run_cli(
            "run",
            "echo.yaml",
            "--engine",
            engine,
            "--json",
            cwd=tmp_path,
            env={"PREFECT_API_URL": prefect_api, "RTK_TEST_STATE": STATE, "RTK_TEST_KEY": KEY},
            timeout=300,
        )
        sent = _sent_body(server)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert sent == {"status": STATE, "token": KEY}
    assert KEY not in done.stdout + done.stderr
    records = list((tmp_path / ".rtk-task" / "runs").glob("*.json"))
    assert records
    assert all(KEY not in p.read_text() for p in records)


def test_run_warns_about_a_short_secret_without_its_value(tmp_path: Path) -> None:
    with _server() as server:
        (tmp_path / "echo.yaml").write_text(FLOW.replace("URL", f"http://127.0.0.1:{server.port}"))
        done = run_cli(
            "run", "echo.yaml", cwd=tmp_path, env={"RTK_TEST_STATE": STATE, "RTK_TEST_KEY": KEY}
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "secret 'state' ($RTK_TEST_STATE) is shorter than 8 characters" in done.stderr
    assert "secret 'key'" not in done.stderr
    assert f" {STATE}" not in done.stdout + done.stderr.replace("RTK_TEST_STATE", "")


def test_an_output_made_from_an_echoed_token_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "echoed-api-token-0123456789"
    monkeypatch.setenv("ECHO_API_TOKEN", token)
    body = json.dumps({"echo": token, "n": 1}).encode()

    def behaviour(conn: socket.socket, _: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (len(body), body)
        )

    with RawServer(behaviour) as server:
        manifest = {
            "manifest_version": 1,
            "id": "echo.items.get",
            "method": "GET",
            "path": "/items",
            "servers": [f"http://127.0.0.1:{server.port}"],
            "idempotent": True,
            "auth": {"type": "bearer", "env": "ECHO_API_TOKEN"},
        }
        (tmp_path / "echo.items.get.json").write_text(json.dumps(manifest))
        text = f"""name: echo
steps:
  - id: get
    task: {tmp_path / "echo.items.get.json"}
    outputs:
      echoed: "{{{{ response.body.echo }}}}"
    expect:
      body:
        echo: {{equals: nope}}
"""
        run = run_workflow(parse_workflow(text), {})
    shown = json.dumps(run.to_json())
    assert token not in shown, "the API token came back through an output or an expectation"
    assert run.steps["get"].outputs["echoed"] == "***"
