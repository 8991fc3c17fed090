"""A hostile template on a real Temporal worker (issue 23): the loop bomb ends as a
``template`` error within its budget, nothing is sent for it, and meanwhile the same worker
runs an unrelated workflow to its end (its event loop never waits on the render)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from rtk_task.engines.temporal import RunWorkflow, _payload, _worker, start_dev_server
from rtk_task.engines.worker import WorkerConfig
from rtk_task.workflows.model import parse_workflow

from ..rawserver import RawServer, answer

pytestmark = pytest.mark.slow

BOMB = """name: bomb
steps:
  - id: s
    task: http
    with:
      method: POST
      url: "URL/bomb"
      body:
        x: "{% for a in ['x']*100000 %}{% for b in ['y']*100000 %}{% endfor %}{% endfor %}"
"""
QUICK = """name: quick
steps:
  - id: s
    task: http
    with: {method: GET, url: "URL/quick"}
"""


@pytest.mark.timeout(300)
def test_a_loop_bomb_never_holds_the_worker(tmp_path: Any) -> None:
    with RawServer(answer("200 OK", b"{}")) as server:
        url = f"http://127.0.0.1:{server.port}"
        bomb = parse_workflow(BOMB.replace("URL", url))
        quick = parse_workflow(QUICK.replace("URL", url))
        gaps, results = asyncio.run(_race(bomb, quick))
        sent = [raw.split(b" ", 2)[1] for raw in server.requests]
    bombed, quick_ok, quick_seconds = results
    error = bombed["steps"]["s"]["error"]
    assert error["kind"] == "template", error
    assert "more than" in error["message"], error  # the budget it hit, named
    assert sent == [b"/quick"], "the bomb's request was sent, or the quick one was not"
    assert quick_ok, "the unrelated workflow failed"
    # the worker's loop kept turning while the bomb rendered (a stall would show here)
    assert max(gaps) < 1.0, f"the event loop stalled {max(gaps):.2f} s ({quick_seconds:.2f} s)"


async def _race(bomb: Any, quick: Any) -> tuple[list[float], tuple[dict[str, Any], bool, float]]:
    """Start the bomb, then the quick workflow, on one worker; ticks of its loop meanwhile."""
    env = await start_dev_server()
    gaps: list[float] = []
    async with env, _worker(env.client, "bomb-q", WorkerConfig.for_run(bomb, None)):
        stop = asyncio.Event()

        async def tick() -> None:
            last = time.monotonic()
            while not stop.is_set():
                await asyncio.sleep(0.02)
                now = time.monotonic()
                gaps.append(now - last - 0.02)
                last = now

        ticker = asyncio.ensure_future(tick())
        handle = await env.client.start_workflow(
            RunWorkflow.run, _payload(bomb, {}, None), id="bomb", task_queue="bomb-q"
        )
        started = time.monotonic()
        done = await env.client.execute_workflow(
            RunWorkflow.run, _payload(quick, {}, None), id="quick", task_queue="bomb-q"
        )
        quick_seconds = time.monotonic() - started
        bombed = await handle.result()
        stop.set()
        await ticker
    return gaps, (bombed, bool(done["ok"]), quick_seconds)
