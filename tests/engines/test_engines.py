"""The same workflow file on the local engine, Temporal (real dev server) and Prefect.

Each CLI run may take up to :data:`RUN_TIMEOUT`; each test's own timeout is above the sum of
its runs', so a slow machine shows the run that was slow, not pytest's kill.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from ..helpers import CANARY, run_cli
from ..helpers import MEETING_FLOW as EXAMPLE

pytestmark = pytest.mark.slow

ENGINES = ("local", "temporal", "prefect")
#: Seconds one CLI run may take (a Temporal dev server start, a Prefect flow, three steps).
RUN_TIMEOUT = 150
#: Seconds on top of a test's runs for its fixtures (emulator, the session's Prefect API).
SLACK = 150


def _run(
    engine: str, base_url: str, tmp_path: Path, prefect_api: str, *inputs: str
) -> dict[str, Any]:
    args = [f"--input={pair}" for pair in inputs]
    done = run_cli(
        "run",
        str(EXAMPLE),
        "--engine",
        engine,
        "--base-url",
        base_url,
        "--json",
        *args,
        cwd=tmp_path,
        env={"PREFECT_API_URL": prefect_api},
        timeout=RUN_TIMEOUT,
    )
    assert CANARY not in done.stdout + done.stderr
    assert done.stdout.lstrip().startswith("{"), (
        f"{engine}: exit {done.returncode}, stdout {done.stdout[:300]!r}, "
        f"stderr {done.stderr[-2000:]!r}"
    )
    result: dict[str, Any] = json.loads(done.stdout)
    result["exit"] = done.returncode
    return result


def _shape(result: dict[str, Any]) -> dict[str, Any]:
    """What must match across engines: ids differ, shapes and titles do not."""
    steps = result["steps"]
    return {
        "ok": result["ok"],
        "exit": result["exit"],
        "steps": {k: (v["ok"], v["status_code"], sorted(v["outputs"])) for k, v in steps.items()},
        "titles": [
            steps["create_meeting"]["outputs"]["title"],
            steps["get_meeting"]["outputs"]["title"],
        ],
        "chained": steps["create_meeting"]["outputs"]["meeting_id"]
        == steps["get_meeting"]["outputs"]["meeting_id"],
    }


@pytest.mark.timeout(len(ENGINES) * RUN_TIMEOUT + SLACK)
def test_one_workflow_file_gives_the_same_outputs_on_every_engine(
    emulator: Any, tmp_path: Path, prefect_api: str
) -> None:
    shapes = {
        e: _shape(
            _run(
                e,
                emulator.base_url,
                tmp_path,
                prefect_api,
                "title=Engines agree",
                f"account_id=acc-{e}",
            )
        )
        for e in ENGINES
    }
    assert shapes["local"]["ok"] is True
    assert shapes["local"]["titles"] == ["Engines agree", "Engines agree"]
    assert shapes["local"]["chained"] is True
    assert shapes["temporal"] == shapes["local"]
    assert shapes["prefect"] == shapes["local"]


@pytest.mark.timeout(RUN_TIMEOUT + SLACK)
@pytest.mark.parametrize("engine", ENGINES)
def test_a_failing_create_is_sent_once_on_every_engine(
    fresh_emulator: Any, tmp_path: Path, prefect_api: str, engine: str
) -> None:
    fresh_emulator.add_faults(
        {"action": "status", "status": 503, "times": None, "match": {"operation": "create_meeting"}}
    )
    result = _run(engine, fresh_emulator.base_url, tmp_path, prefect_api)
    assert result["exit"] == 1
    assert result["steps"]["create_meeting"]["error"]["kind"] == "ambiguous"
    assert fresh_emulator.stats()["requests"] == {"create_meeting": 1}, "a create was resent"


@pytest.mark.timeout(RUN_TIMEOUT + SLACK)
def test_the_token_never_enters_temporal_history_and_one_client_serves_every_activity(
    emulator: Any,
) -> None:
    from rtk_task.engines import temporal
    from rtk_task.engines.worker import WorkerConfig
    from rtk_task.workflows.model import load_workflow

    wf = load_workflow(EXAMPLE)

    async def run() -> tuple[dict[str, Any], str, int, int]:
        env = await temporal.start_dev_server()
        config = WorkerConfig(emulator.base_url)
        async with env, temporal._worker(env.client, "canary-queue", config) as activities:
            handle = await env.client.start_workflow(
                temporal.RunWorkflow.run,
                temporal._payload(wf, wf.resolve_inputs({}), emulator.base_url),
                id="canary-check",
                task_queue="canary-queue",
            )
            result = await handle.result()
            history = await handle.fetch_history()
            live = len(list(activities.clients.clients()))
        return (
            result,
            history.to_json(),
            activities.clients.made,
            live - len(list(activities.clients.clients())),
        )

    result, history, made, closed = asyncio.run(run())
    decoded = history + "\n".join(_payloads(json.loads(history)))
    assert result["ok"] is True
    assert "meeting_id" in decoded, "the history's payloads were not decoded"
    assert CANARY not in decoded
    activities_run = history.count("ACTIVITY_TASK_COMPLETED")
    assert activities_run == len(wf.steps) == 3, f"{activities_run} activities completed"
    assert made == 1, f"{made} clients made for {activities_run} activities: one per worker"
    assert closed == 1, "the worker's client was not closed when the worker stopped"


def _payloads(node: Any) -> list[str]:
    """Every payload in a history, base64-decoded (Temporal stores them encoded)."""
    if isinstance(node, dict):
        found = [_decode(v) for k, v in node.items() if k == "data" and isinstance(v, str)]
        return found + [text for v in node.values() for text in _payloads(v)]
    if isinstance(node, list):
        return [text for v in node for text in _payloads(v)]
    return []


def _decode(data: str) -> str:
    import base64
    import binascii

    try:
        return base64.b64decode(data).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return data


@pytest.mark.timeout(RUN_TIMEOUT + SLACK)
def test_http_task_runs_inside_a_users_own_prefect_flow(
    emulator: Any, prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the process running the task trusts its own RTK_BASE_URL, not the task's parameter
    monkeypatch.setenv("RTK_BASE_URL", emulator.base_url)
    from prefect import flow

    from rtk_task.engines.prefect import http_task

    @flow
    async def onboard(account_id: str) -> str:
        created = await http_task(
            "realtimekit.meetings.create",
            {"account_id": account_id, "title": "From my flow"},
            base_url=emulator.base_url,
        )
        meeting_id: str = created["outputs"]["meeting_id"]
        return meeting_id

    meeting_id = asyncio.run(onboard("acc-prefect-user"))
    assert meeting_id
    listed = run_cli(
        "call",
        "realtimekit.meetings.get",
        "--with",
        "-",
        "--base-url",
        emulator.base_url,
        "--json",
        stdin=json.dumps({"account_id": "acc-prefect-user", "meeting_id": meeting_id}),
    )
    assert json.loads(listed.stdout)["outputs"]["title"] == "From my flow"


def test_the_temporal_worker_command_is_there() -> None:
    done = run_cli("temporal", "worker", "--help")
    assert done.returncode == 0
    for option in ("--task-queue", "--base-url", "--allow-secret"):
        assert option in done.stdout, f"{option} missing from the worker's help"


OTHER_API = {
    "manifest_version": 1,
    "id": "other.items.list",
    "method": "GET",
    "path": "/items",
    "servers": ["https://api.other.example"],
    "idempotent": True,
    "auth": {"type": "api_key", "env": "OTHER_API_KEY", "name": "X-Api-Key"},
}
OTHER_FLOW = """name: other
secrets: {hook: OTHER_HOOK_TOKEN}
steps:
  - id: items
    task: other.items.list
  - id: ping
    task: http
    with:
      url: "URL/ping"
      headers: {Authorization: "Token {{ secrets.hook }}"}
"""


@pytest.mark.timeout(2 * RUN_TIMEOUT + SLACK)
@pytest.mark.parametrize("engine", ["temporal", "prefect"])
def test_another_apis_workflow_never_sends_the_cloudflare_canary_on_an_engine(
    engine: str, tmp_path: Path, prefect_api: str
) -> None:
    from ..rawserver import RawServer, answer

    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "other.items.list.json").write_text(json.dumps(OTHER_API))
    with RawServer(answer("200 OK", b"[]")) as server:
        url = f"http://127.0.0.1:{server.port}"
        (tmp_path / "other.yaml").write_text(OTHER_FLOW.replace("URL", url))
        done = run_cli(
            "run",
            "other.yaml",
            "--engine",
            engine,
            "--base-url",
            url,
            "--json",
            cwd=tmp_path,
            env={
                "PREFECT_API_URL": prefect_api,
                "RTK_MANIFEST_PATH": str(manifests),
                "OTHER_API_KEY": "other-key-0001",
                "OTHER_HOOK_TOKEN": "hook-token-0001",
            },
            timeout=RUN_TIMEOUT,
        )
        sent = list(server.requests)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert json.loads(done.stdout)["ok"] is True
    assert len(sent) == 2, sent
    assert all(CANARY.encode() not in raw for raw in sent), "the Cloudflare token was sent"
    items, ping = sorted(sent, key=lambda raw: b"/ping" in raw)
    assert b"x-api-key: other-key-0001" in items.lower()
    assert b"authorization: token hook-token-0001" in ping.lower()
    assert b"other-key-0001" not in done.stdout.encode() + done.stderr.encode()
