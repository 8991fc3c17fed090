"""One behaviour for both clients: the sans-I/O flows, paging, prepare, and the token rule."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtk_task import AsyncClient, Client, ErrorInfo, RetryPolicy, TaskResult
from rtk_task.execute import prepare, preview
from rtk_task.manifests.registry import load_task
from rtk_task.retry import Attempt, Send, Sleep, retry_flow
from rtk_task.secrets import Redactor

from ..helpers import CANARY, run_cli

BASE = "http://127.0.0.1:8787/client/v4"
TOKEN = "tok-flow-3c9a1"
FAST = RetryPolicy(initial_interval=0.001, jitter=0, max_attempts=3)
MANIFESTS = Path(__file__).resolve().parents[2] / "task_manifests"


# -- the retry flow, driven by hand: no network, no clock waits ------------------------------


def _call(task: str, inputs: dict[str, Any]) -> Any:
    prepared = prepare(
        load_task(task), inputs, base_url=BASE, token=None, redactor=Redactor(), require_token=False
    )
    assert not isinstance(prepared, TaskResult)
    return prepared


def _answer(status: int, retry_after: float | None = None) -> Attempt:
    error = None if status < 300 else ErrorInfo(kind="http", message=f"HTTP {status}")
    result = TaskResult(ok=error is None, task="t", status_code=status, error=error)
    return Attempt(result, None, retry_after)


def _drive(flow: Any, answers: list[Attempt]) -> tuple[TaskResult, list[Any]]:
    """Run a flow, answering each Send from ``answers``; the actions it asked for."""
    actions: list[Any] = []
    try:
        action = next(flow)
        while True:
            actions.append(action)
            action = flow.send(answers.pop(0) if isinstance(action, Send) else None)
    except StopIteration as done:
        return done.value, actions


def test_the_retry_flow_asks_to_sleep_the_retry_after_then_sends_again() -> None:
    create = _call("realtimekit.meetings.create", {"account_id": "a"})
    result, actions = _drive(retry_flow(create, FAST), [_answer(429, 7.0), _answer(201)])
    assert [type(a) for a in actions] == [Send, Sleep, Send]
    assert actions[1].seconds == 7.0
    assert actions[0].call is create
    assert result.ok
    assert result.attempts == 2


def test_the_retry_flow_never_resends_a_create_after_a_5xx() -> None:
    create = _call("realtimekit.meetings.create", {"account_id": "a"})
    result, actions = _drive(retry_flow(create, FAST), [_answer(503), _answer(201)])
    assert [type(a) for a in actions] == [Send]
    assert result.attempts == 1


def test_the_retry_flow_backs_off_exponentially_up_to_max_interval() -> None:
    get = _call("realtimekit.meetings.get", {"account_id": "a", "meeting_id": "m"})
    policy = RetryPolicy(initial_interval=1, backoff=3, max_interval=5, jitter=0, max_attempts=4)
    result, actions = _drive(retry_flow(get, policy), [_answer(503)] * 4)
    assert [a.seconds for a in actions if isinstance(a, Sleep)] == [1, 3, 5]
    assert result.attempts == 4
    assert "gave up after 4 attempts" in (result.error.message if result.error else "")


# -- paging: the same on both clients --------------------------------------------------------


def _pages(total: int, seen: list[httpx.Request], fail_first: int = 0) -> Any:
    failures = [fail_first]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if failures[0]:
            failures[0] -= 1
            return httpx.Response(503, json={"success": False})
        page = int(request.url.params.get("page_no", 1))
        size = int(request.url.params["per_page"])
        start = (page - 1) * size
        data = [
            {"id": f"m{i}", "created_at": "t", "updated_at": "t"}
            for i in range(start, min(start + size, total))
        ]
        return httpx.Response(
            200, json={"success": True, "data": data, "paging": {"total_count": total}}
        )

    return handler


LIST = ("realtimekit.meetings.list", {"account_id": "a", "per_page": 2})


def _sync(handler: Any, **kw: Any) -> TaskResult:
    with Client(BASE, TOKEN, transport=httpx.MockTransport(handler), retry=FAST) as client:
        return client.call(*LIST, **kw)


def _async(handler: Any, **kw: Any) -> TaskResult:
    async def run() -> TaskResult:
        async with AsyncClient(
            BASE, TOKEN, transport=httpx.MockTransport(handler), retry=FAST
        ) as client:
            return await client.call(*LIST, **kw)

    return asyncio.run(run())


@pytest.mark.parametrize("drive", [_sync, _async], ids=["Client", "AsyncClient"])
def test_both_clients_gather_every_page(drive: Any) -> None:
    seen: list[httpx.Request] = []
    result = drive(_pages(5, seen, fail_first=1), paginate=True)
    assert result.ok, result.error
    assert [m["id"] for m in result.outputs["items"]] == [f"m{i}" for i in range(5)]
    assert result.outputs["pages"] == 3
    assert result.attempts == 4  # the first page took two attempts
    assert [r.url.params["page_no"] for r in seen] == ["1", "1", "2", "3"]
    assert TOKEN not in result.model_dump_json()


@pytest.mark.parametrize("drive", [_sync, _async], ids=["Client", "AsyncClient"])
def test_max_pages_stops_both_clients(drive: Any) -> None:
    seen: list[httpx.Request] = []
    result = drive(_pages(100, seen), paginate=True, max_pages=2)
    assert len(seen) == 2
    assert len(result.outputs["items"]) == 4
    assert result.outputs["pages"] == 2


@pytest.mark.parametrize("drive", [_sync, _async], ids=["Client", "AsyncClient"])
def test_without_paginate_one_page_is_fetched(drive: Any) -> None:
    seen: list[httpx.Request] = []
    result = drive(_pages(5, seen))
    assert len(seen) == 1
    assert len(result.outputs["items"]) == 2
    assert "pages" not in result.outputs


def test_paging_a_task_that_does_not_page_is_a_config_error_on_both_clients() -> None:
    seen: list[httpx.Request] = []
    get = ("realtimekit.meetings.get", {"account_id": "a", "meeting_id": "m"})
    with Client(BASE, TOKEN, transport=httpx.MockTransport(_pages(1, seen))) as client:
        sync = client.call(*get, paginate=True)

    async def run() -> TaskResult:
        async with AsyncClient(BASE, TOKEN, transport=httpx.MockTransport(_pages(1, seen))) as c:
            return await c.call(*get, paginate=True)

    both = [sync, asyncio.run(run())]
    assert seen == []
    for result in both:
        assert result.error is not None
        assert result.error.kind == "config"
        assert "does not page" in result.error.message
    assert both[0] == both[1]


# -- prepare: the dry run, the same on both clients ------------------------------------------


def test_prepare_is_the_same_dry_run_on_both_clients_and_sends_nothing() -> None:
    seen: list[httpx.Request] = []
    inputs = {"account_id": "acc", "title": "Dry"}
    with Client(BASE, TOKEN, transport=httpx.MockTransport(_pages(1, seen))) as client:
        sync = client.prepare("realtimekit.meetings.create", inputs)
        bad = client.prepare("realtimekit.meetings.create", {"titel": "x"})
    async_client = AsyncClient(BASE, TOKEN, transport=httpx.MockTransport(_pages(1, seen)))
    assert async_client.prepare("realtimekit.meetings.create", inputs) == sync
    assert seen == []
    assert sync.ok
    assert sync.attempts == 0
    assert sync.request is not None
    assert sync.request.method == "POST"
    assert sync.request.url == f"{BASE}/accounts/acc/realtimekit/meetings"
    assert sync.request.headers["Authorization"] == "Bearer ***"
    assert sync.request.body == {"title": "Dry"}
    assert not bad.ok
    assert bad.error is not None
    assert bad.error.kind == "validation"


# -- one token rule: the manifest's auth.env, on every path ----------------------------------


@pytest.fixture
def own_env_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped create manifest with ``auth.env: RTK_TEST_TOKEN``; only that variable set."""
    data = json.loads((MANIFESTS / "realtimekit.meetings.create.json").read_text())
    data["auth"] = {"env": "RTK_TEST_TOKEN"}
    path = tmp_path / "create.json"
    path.write_text(json.dumps(data))
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    monkeypatch.setenv("RTK_TEST_TOKEN", CANARY)
    return path


def test_a_client_given_no_token_reads_the_manifests_variable(
    own_env_manifest: Path, emulator: Any
) -> None:
    inputs = {"account_id": "acc-env", "title": "own env"}
    with Client(base_url=emulator.base_url) as client:
        result = client.call(own_env_manifest, inputs)
        shipped = client.call("realtimekit.meetings.create", inputs)
    assert result.ok, result.error
    assert result.outputs["title"] == "own env"
    # the shipped manifest names CLOUDFLARE_API_TOKEN, which is unset: nothing is sent
    assert shipped.error is not None
    assert shipped.error.kind == "config"
    assert "CLOUDFLARE_API_TOKEN" in shipped.error.message

    async def run() -> TaskResult:
        async with AsyncClient(base_url=emulator.base_url) as client:
            return await client.call(own_env_manifest, inputs)

    assert asyncio.run(run()).ok


def test_the_token_is_read_at_call_time(
    own_env_manifest: Path, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RTK_TEST_TOKEN")
    with Client(base_url=emulator.base_url) as client:
        before = client.call(own_env_manifest, {"account_id": "acc-env"})
        monkeypatch.setenv("RTK_TEST_TOKEN", CANARY)
        after = client.call(own_env_manifest, {"account_id": "acc-env"})
    assert before.error is not None
    assert before.error.kind == "config"
    assert "set RTK_TEST_TOKEN" in before.error.message
    assert after.ok, after.error


def test_the_dry_run_reads_and_masks_the_manifests_variable(own_env_manifest: Path) -> None:
    result, curl = preview(load_task(own_env_manifest), {"account_id": "a"}, base_url=BASE)
    assert result.request is not None
    assert result.request.headers["Authorization"] == "Bearer ***"
    assert "$RTK_TEST_TOKEN" in curl
    assert CANARY not in curl + result.model_dump_json()


def test_the_cli_call_uses_the_manifests_variable(own_env_manifest: Path, emulator: Any) -> None:
    done = run_cli(
        "call",
        str(own_env_manifest),
        "--with",
        "-",
        "--base-url",
        emulator.base_url,
        "--json",
        stdin=json.dumps({"account_id": "acc-env", "title": "cli"}),
        env={"CLOUDFLARE_API_TOKEN": "", "RTK_TEST_TOKEN": CANARY},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"]["title"] == "cli"
