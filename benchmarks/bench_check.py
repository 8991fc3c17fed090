"""How much checking a workflow costs: linear in its steps, and next to one call.

    python benchmarks/bench_check.py [--quick]

:func:`measure` times, interleaved in one run (min over rounds), :func:`check_workflow` on
generated workflows of 100 and 1,000 steps (the ratio should stay near 10: linear) and of 10
steps next to one ``Client.call`` over ``httpx.MockTransport`` (no network at all).

Checking the same workflow again reuses what each step worked out (its templates' analysis,
its last value check): that is the ``check_10`` figure, as an editor checking on every
keystroke sees it for the steps that did not change. ``check_10_cold`` checks a freshly
parsed copy each time (only the per-process cache of analysed template texts helps).
"""

from __future__ import annotations

import functools
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtk_task.client import Client
from rtk_task.manifests.registry import load_task
from rtk_task.workflows.check import check_workflow
from rtk_task.workflows.model import Workflow, parse_workflow

TOKEN = "bench-token-check"


def workflow(steps: int) -> Workflow:
    """A workflow of ``steps`` steps: one create, then participants that read its id."""
    lines = [
        "name: bench",
        "inputs:",
        "  account_id: {type: string, default: acc}",
        "  width: {type: integer, default: 640}",
        "steps:",
        "  - id: s0",
        "    task: realtimekit.meetings.create",
        "    with:",
        '      account_id: "{{ inputs.account_id }}"',
        "      title: Bench",
        '      recording_config: {video_config: {width: "{{ inputs.width }}"}}',
    ]
    for i in range(1, steps):
        lines += [
            f"  - id: s{i}",
            "    task: realtimekit.meetings.participants.add",
            "    with:",
            '      account_id: "{{ inputs.account_id }}"',
            '      meeting_id: "{{ steps.s0.outputs.meeting_id }}"',
            "      preset_name: guest",
            f'      custom_participant_id: "guest-{i}-{{{{ inputs.account_id }}}}"',
        ]
    return parse_workflow("\n".join(lines) + "\n", f"bench-{steps}.yaml")


def _best(run: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs, the garbage collector paused as timeit pauses it (a
    collection that a larger workflow's allocations happen to trigger is not its cost)."""
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
    finally:
        gc.enable()
    return best


def measure(quick: bool) -> dict[str, float]:
    """Seconds (min over interleaved rounds) and the two ratios."""
    rounds, repeat = (3, 2) if quick else (7, 3)
    flows = {n: workflow(n) for n in (10, 100, 1000)}
    for wf in flows.values():
        assert check_workflow(wf).ok, check_workflow(wf).problems
    manifest = load_task("realtimekit.meetings.create")
    body = json.dumps({"success": True, "data": {"id": "m1", "title": "Bench"}}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, content=body, headers={"content-type": "application/json"})

    client = Client(
        base_url="http://127.0.0.1:1/v4", token=TOKEN, transport=httpx.MockTransport(handler)
    )
    inputs = {"account_id": "acc", "title": "Bench"}
    assert client.call(manifest, inputs).ok
    best: dict[str, float] = {
        "check_10": 1e9,
        "check_10_cold": 1e9,
        "check_100": 1e9,
        "check_1000": 1e9,
        "call": 1e9,
    }
    fresh = iter([workflow(10) for _ in range(rounds * repeat)])  # each checked once
    try:
        for _ in range(rounds):
            best["check_10_cold"] = min(
                best["check_10_cold"], _best(lambda: check_workflow(next(fresh)), repeat)
            )
            for n in (10, 100, 1000):
                wf = flows[n]
                best[f"check_{n}"] = min(
                    best[f"check_{n}"], _best(functools.partial(check_workflow, wf), repeat)
                )
            best["call"] = min(best["call"], _best(lambda: client.call(manifest, inputs), repeat))
    finally:
        client.close()
    return {
        **{f"{k}_s": v for k, v in best.items()},
        "ratio_1000_vs_100": best["check_1000"] / best["check_100"],
        "ratio_check_10_vs_call": best["check_10"] / best["call"],
        "ratio_check_10_cold_vs_call": best["check_10_cold"] / best["call"],
    }


if __name__ == "__main__":
    for name, value in measure("--quick" in sys.argv).items():
        print(f"{name:28} {value:.6f}")
