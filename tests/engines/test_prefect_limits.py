"""Prefect as a team runs it (issue 25): one rate limit per API host on the Prefect server, and
workflow definitions stored on the server, referenced by the flow runs.

- The bucket :mod:`rtk_task.engines.prefect_limits` picks never lets more than the limit into
  any window: by its formula, and against a model of Prefect's own counting (``floor`` of the
  decay since the last success) under a stream of requests far above the limit.
- Two ``rtk-task run --engine prefect`` processes on one Prefect server send creates to one
  account of an API limiting 20 / 2 s: no 429 at all, since the server's limit holds for both
  (each process alone keeps 20 / 2 s, which the two together would pass). With
  ``RTK_TEST_NO_PREFECT_LIMIT=1`` the runs take no server limit (``RTK_PREFECT_RATE_LIMITS=off``)
  and the test fails: the API answers 429s.
- A flow run's parameters hold the definition's reference, not its text; a reference to a
  definition missing or altered fails the run saying so, with no traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from rtk_task.emulator import EmulatorServer
from rtk_task.engines import get_engine
from rtk_task.engines.prefect_limits import (
    JITTER,
    ServerLimit,
    bucket,
    enabled,
    limit_name,
    step_limits,
)
from rtk_task.engines.worker import WorkerConfig
from rtk_task.errors import WorkflowError
from rtk_task.ratelimit import RateLimit
from rtk_task.workflows.model import parse_workflow

from ..helpers import CANARY, MEETING_FLOW, OUTPUTS

#: Set to run the two-process test without the server's limit, to see it fail.
NO_LIMIT = bool(os.environ.get("RTK_TEST_NO_PREFECT_LIMIT"))

RATES = [(250, 10.0), (1200, 300.0), (20, 2.0), (100, 1.0), (1, 1.0), (4, 1.0), (7, 0.5)]


@pytest.mark.parametrize(("requests", "per"), RATES)
def test_the_bucket_keeps_every_window_to_the_limit(requests: int, per: float) -> None:
    size, decay = bucket(RateLimit(requests=requests, per=per))
    assert 1 <= size <= requests
    assert decay > 0
    # the formula: the burst, and what decays over a window and the jitter, fit the limit
    assert size + math.floor(decay * (per + JITTER)) <= requests


@pytest.mark.parametrize(("requests", "per"), [(20, 2.0), (100, 1.0), (4, 1.0), (1, 1.0)])
def test_prefects_counting_lets_no_more_than_the_limit_into_any_window(
    requests: int, per: float
) -> None:
    """Prefect's rule as its server applies it, asked far more often than the limit allows."""
    size, decay = bucket(RateLimit(requests=requests, per=per))
    rng = random.Random(requests)
    active, updated, starts = 0, 0.0, []
    t = 0.0
    while t < 40 * per:
        t += rng.expovariate(20 * requests / per)  # twenty times the limit's rate
        seen = max(0, active - math.floor(decay * (t - updated)))
        if seen + 1 <= size:
            active, updated = seen + 1, t
            starts.append(t)
    window = per + JITTER  # the starts of the arrivals of any ``per`` seconds at the API
    most = max(sum(1 for s in starts[i:] if s <= start + window) for i, start in enumerate(starts))
    assert most <= requests
    assert len(starts) >= 0.6 * decay * 40 * per  # and the limit is used, not starved


def test_a_limit_is_named_after_the_host_and_scope() -> None:
    assert limit_name("http://127.0.0.1:8080/client/v4", "account") == (
        "rtk-task:127.0.0.1:8080:account"
    )
    assert limit_name("https://API.cloudflare.com:443/client/v4", "recordings") == (
        "rtk-task:api.cloudflare.com:recordings"
    )
    assert limit_name("http://[::1]:9/v1", "account") == "rtk-task:[::1]:9:account"


STEP = """name: limited
{limit}
steps:
  - id: {step}
    task: {task}
    with: {{account_id: acc, meeting_id: m1}}
"""


@pytest.mark.parametrize(
    ("limit", "task", "expected"),
    [
        ("rate_limit: {requests: 20, per: 2}", "realtimekit.meetings.get", [("account", 20, 2)]),
        ("rate_limit: false", "realtimekit.meetings.get", []),
        ("", "realtimekit.meetings.get", [("account", 250, 10)]),
        ("", "realtimekit.recordings.get", [("account", 250, 10), ("recordings", 1000, 60)]),
    ],
)
def test_a_step_takes_the_limits_its_client_keeps(
    limit: str, task: str, expected: list[tuple[str, int, float]]
) -> None:
    wf = parse_workflow(STEP.format(limit=limit, step="call", task=task), "<test>")
    base = "http://127.0.0.1:9/client/v4"
    assert step_limits(wf, wf.step("call"), base) == tuple(
        ServerLimit.of(f"rtk-task:127.0.0.1:9:{scope}", RateLimit(requests=n, per=w))
        for scope, n, w in expected
    )


def test_the_limits_are_taken_on_a_configured_api_unless_switched() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert enabled({}) is True
        assert enabled({"RTK_PREFECT_RATE_LIMITS": "off"}) is False
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert enabled({}) is False  # a temporary API serves one process alone
        assert enabled({"RTK_PREFECT_RATE_LIMITS": "on"}) is True


# -- two processes on one Prefect server ------------------------------------------------------

SHARED = """name: {name}
inputs:
  n: {{type: integer, default: {n}}}
rate_limit: {{requests: 20, per: 2}}
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    for_each: "{{{{ range(inputs.n) | list }}}}"
    concurrency: 8
    continue_on_error: true
    with: {{account_id: acc-shared, title: "item {{{{ item }}}}"}}
"""


def _start_run(cwd: Path, prefect_api: str, base_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": CANARY, "NO_COLOR": "1"}
    env.pop("RTK_BASE_URL", None)
    env["PREFECT_API_URL"] = prefect_api
    env["RTK_PREFECT_RATE_LIMITS"] = "off" if NO_LIMIT else "on"
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from rtk_task.cli import main; main()",
            "run",
            "shared.yaml",
            "--engine",
            "prefect",
            "--base-url",
            base_url,
            "--json",
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(run: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = run.communicate(timeout=300)
    OUTPUTS.append((("run", "prefect shared limit"), out + err))
    assert CANARY not in out + err
    assert out.lstrip().startswith("{"), f"exit {run.returncode}: {err[-3000:]}"
    result: dict[str, Any] = json.loads(out)
    return result


async def _flow_runs(flow_name: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    async with get_client() as client:
        return list(
            await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name]))
            )
        )


async def _limit(name: str) -> Any:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return await client.read_global_concurrency_limit_by_name(name)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_two_processes_on_one_prefect_server_keep_one_limit_together(
    tmp_path: Path, prefect_api: str
) -> None:
    items = 50
    name = f"shared-{uuid.uuid4().hex[:8]}"
    (tmp_path / "shared.yaml").write_text(SHARED.format(name=name, n=items))
    with EmulatorServer(host="127.0.0.1", port=0, token=CANARY, rate_limit="20/2s") as emulator:
        runs = [_start_run(tmp_path, prefect_api, emulator.base_url) for _ in range(2)]
        results = [_finish(run) for run in runs]
        stats = emulator.stats()
        port = emulator.base_url.split(":")[2].split("/")[0]
    # the point: the two runs went at once, and together they kept to the API's limit
    flow_runs = asyncio.run(_flow_runs(f"rtk-task: {name}"))
    assert len(flow_runs) == 2
    assert all(r.start_time and r.end_time for r in flow_runs)
    together = min(r.end_time for r in flow_runs) - max(r.start_time for r in flow_runs)
    assert together.total_seconds() > 2, "the runs did not overlap: the test proves nothing"
    assert stats["rate_limited"] == 0, f"the API answered {stats['rate_limited']} 429s"
    for result in results:
        body = result["steps"]["create_meeting"]["body"]
        assert body["succeeded"] == items, [f["error"]["message"] for f in body["failed"]]
    assert stats["requests"] == {"create_meeting": 2 * items}
    limit = asyncio.run(_limit(f"rtk-task:127.0.0.1:{port}:account"))
    assert (limit.limit, limit.slot_decay_per_second) == bucket(RateLimit(requests=20, per=2))


# -- definitions stored on the server ---------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _flow_run_log(monkeypatch: pytest.MonkeyPatch) -> list[logging.LogRecord]:
    """What Prefect logs of flow runs from now on (its logging set up first, so that a later
    setup, being incremental, keeps this handler)."""
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()
    handler = _Records()
    logger = logging.getLogger("prefect.flow_runs")
    monkeypatch.setattr(logger, "handlers", [*logger.handlers, handler])
    return handler.records


def _meeting_flow(name: str) -> str:
    text = MEETING_FLOW.read_text()
    assert "name: onboard-call\n" in text
    return text.replace("name: onboard-call\n", f"name: {name}\n")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_flow_run_holds_the_definitions_reference_not_its_text(
    emulator: Any, prefect_api: str
) -> None:
    from rtk_task.engines.prefect import WorkflowDefinition

    name = f"by-reference-{uuid.uuid4().hex[:8]}"
    text = _meeting_flow(name)
    wf = parse_workflow(text, "<test>")
    run = get_engine("prefect").run(wf, {}, base_url=emulator.base_url)
    assert run.ok, {k: r.error for k, r in run.steps.items()}
    (flow_run,) = asyncio.run(_flow_runs(f"rtk-task: {name}"))
    parameters = flow_run.parameters
    ref = parameters["definition"]
    assert set(ref) == {"block", "sha256"}
    assert ref["block"] == f"rtk-task-workflow-{ref['sha256']}"
    shown = json.dumps(parameters)
    assert "realtimekit.meetings.create" not in shown, shown
    assert "add_host" not in shown, shown

    async def stored() -> Any:
        return await WorkflowDefinition.aload(ref["block"])

    assert asyncio.run(stored()).text == wf.definition()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_missing_or_altered_definition_fails_the_run_saying_so_without_a_traceback(
    fresh_emulator: Any,
    prefect_api: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rtk_task.engines import prefect as engine
    from rtk_task.engines.prefect import (
        WorkflowDefinition,
        _configured,
        run_step_task,
        store_definition,
        workflow_flow,
    )

    base = fresh_emulator.base_url
    wf = parse_workflow(_meeting_flow(f"tampered-{uuid.uuid4().hex[:8]}"), "<test>")
    missing = {"block": f"rtk-task-workflow-{'0' * 64}", "sha256": "0" * 64}
    logged = _flow_run_log(monkeypatch)

    # missing, through the engine: the user's error is ours, and says what is wrong
    async def nowhere(text: str) -> dict[str, str]:
        return missing

    with monkeypatch.context() as patched:
        patched.setattr(engine, "store_definition", nowhere)
        with pytest.raises(WorkflowError, match="is not on the Prefect server"):
            get_engine("prefect").run(wf, {}, base_url=base)

    # altered: the block holds another text than its digest names
    ref = asyncio.run(store_definition(wf.definition()))
    other = wf.definition().replace("Weekly sync", "Altered")
    asyncio.run(WorkflowDefinition(text=other).asave(ref["block"], overwrite=True))
    monkeypatch.setattr(engine, "_TEXTS", {})  # this process has not read it yet

    async def run_flow() -> Any:
        return await workflow_flow(ref, wf.resolve_inputs({}), return_state=True)

    with _configured(WorkerConfig(base)):
        state = asyncio.run(run_flow())
        step = asyncio.run(run_step_task.fn(ref, "create_meeting", {}, {}, base))
    assert state.is_failed()
    assert "was altered" in (state.message or "")
    assert step["error"]["kind"] == "workflow"
    assert "was altered" in step["error"]["message"]
    assert fresh_emulator.stats()["requests"] == {}, "a step ran from an altered definition"
    # Prefect's log of both runs: their end, saying why, and no exception or traceback
    ends = [r.getMessage() for r in logged if r.levelno >= logging.ERROR]
    assert any("is not on the Prefect server" in m for m in ends), ends
    assert any("was altered" in m for m in ends), ends
    assert not [r for r in logged if r.exc_info], "a traceback was logged"
    assert not any("Encountered exception" in r.getMessage() for r in logged)
