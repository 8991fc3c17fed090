"""Flow control at scale: a for_each of participant adds, under a rate limit and without.

    python benchmarks/bench_flow.py [--quick]

Against the emulator in a process of its own (:func:`rtk_task.emulator.emulator_process`):

- ``limited_429s`` and ``limited_elapsed_over_ideal``: 1,000 adds (300 with ``--quick``)
  through one ``for_each`` step at concurrency 64, the workflow's ``rate_limit`` 100 / 1 s,
  the emulator enforcing 100 / 1 s. Target: no 429 at all, and elapsed time at most 1.11 of
  the ideal, the least the limit allows: ``(requests - 100) / 100`` seconds (the first 100
  go at once).
- ``unlimited_throughput_ratio``: the same adds with no limit, ``for_each`` at concurrency 64
  vs a bare ``httpx.AsyncClient`` posting the same bodies, 64 at a time, to the same
  emulator; interleaved rounds, min of each. Bare time / our time; target >= 0.9.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtk_task.emulator import emulator_process
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow

TOKEN = "bench-token-flow"
LIMIT = (100, 1.0)
CONCURRENCY = 64

WORKFLOW = (
    """
name: bench-flow
inputs:
  account_id: {type: string}
  people: {type: array}
rate_limit: RATE
steps:
  - id: meeting
    task: realtimekit.meetings.create
    with: {account_id: "{{ inputs.account_id }}", title: bench}
  - id: add
    task: realtimekit.meetings.participants.add
    for_each: "{{ inputs.people }}"
    concurrency: CONCURRENCY
    retry: {max_attempts: 5}
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.meeting.outputs.meeting_id }}"
      custom_participant_id: "{{ item }}"
      name: "{{ item }}"
      preset_name: group_call_host
outputs:
  ids: "{{ steps.add.outputs.participant_id }}"
"""
).replace("CONCURRENCY", str(CONCURRENCY))


@contextlib.contextmanager
def _emulator(rate_limit: str | None) -> Iterator[str]:
    saved = os.environ.get("RTK_EMULATOR_RATE_LIMIT")
    if rate_limit:
        os.environ["RTK_EMULATOR_RATE_LIMIT"] = rate_limit  # the child process reads it
    try:
        with emulator_process(token=TOKEN) as base_url:
            yield base_url
    finally:
        os.environ.pop("RTK_EMULATOR_RATE_LIMIT", None)
        if saved is not None:
            os.environ["RTK_EMULATOR_RATE_LIMIT"] = saved


def _meeting(base_url: str, account: str) -> str:
    answer = httpx.post(
        f"{base_url}/accounts/{account}/realtimekit/meetings",
        json={"title": "bench"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    meeting_id: str = answer.json()["data"]["id"]
    return meeting_id


def _stats(base_url: str) -> dict[str, int]:
    root = base_url.removesuffix("/client/v4")
    data: dict[str, int] = httpx.get(f"{root}/__emulator/stats").json()
    return data


def _ours(base_url: str, account: str, people: list[str], rate: str) -> float:
    """One run of the workflow (its meeting made by its first step, under the same limit)."""
    wf = parse_workflow(WORKFLOW.replace("RATE", rate))
    inputs = {"account_id": account, "people": people}
    started = time.perf_counter()
    run = run_workflow(wf, inputs, base_url=base_url, token=TOKEN)
    elapsed = time.perf_counter() - started
    if not run.ok or len(run.outputs["ids"]) != len(people):
        raise SystemExit(f"the for_each run failed: {run.steps['add'].error}")
    return elapsed


def _bare(base_url: str, account: str, meeting: str, people: list[str]) -> float:
    url = f"{base_url}/accounts/{account}/realtimekit/meetings/{meeting}/participants"

    async def main() -> float:
        gate = asyncio.Semaphore(CONCURRENCY)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:

            async def add(name: str) -> None:
                async with gate:
                    body = {
                        "custom_participant_id": name,
                        "name": name,
                        "preset_name": "group_call_host",
                    }
                    (await http.post(url, json=body)).raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(add(p) for p in people))
            return time.perf_counter() - started

    return asyncio.run(main())


def measure(quick: bool) -> dict[str, float]:
    """The figures described in the module docstring."""
    count = 300 if quick else 1000
    rounds = 2 if quick else 3
    people = [f"p{i:04d}" for i in range(count)]
    requests, per = LIMIT
    with _emulator(f"{requests}/{per:g}s") as base_url:
        elapsed = _ours(base_url, "acc-limited", people, f"{{requests: {requests}, per: {per}}}")
        refused = _stats(base_url).get("rate_limited", -1)
    # one request (the meeting) came before the step: it shares the first window
    ideal = max(0, count + 1 - requests) / requests * per
    with _emulator(None) as base_url:
        ours, bare = [], []
        for r in range(rounds):
            ours.append(_ours(base_url, f"acc-{r}", people, "false"))
            meeting = _meeting(base_url, f"acc-bare-{r}")
            bare.append(_bare(base_url, f"acc-bare-{r}", meeting, people))
    return {
        "limited_429s": float(refused),
        "limited_elapsed_s": elapsed,
        "limited_elapsed_over_ideal": elapsed / ideal,
        "unlimited_ours_s": min(ours),
        "unlimited_bare_s": min(bare),
        "unlimited_throughput_ratio": min(bare) / min(ours),
    }


if __name__ == "__main__":
    print(json.dumps(measure("--quick" in sys.argv), indent=2))
