"""Prefect 3: a task per step and a flow per workflow file.

    pip install 'rtk-task[prefect]'
    rtk-task run wf.yaml --engine prefect          # a local, ephemeral Prefect

From a flow of your own::

    from prefect import flow
    from rtk_task.engines.prefect import http_task

    @flow
    async def onboard(account_id: str) -> str:
        created = await http_task("realtimekit.meetings.create", {"account_id": account_id})
        return created["outputs"]["meeting_id"]

Tasks return the ``TaskResult`` as plain JSON (secrets masked). Every task of a process runs
:func:`~rtk_task.workflows.runner.run_step_async` (or ``AsyncClient.call``) on the process's
one shared client (one connection pool per event loop), closed when a workflow flow ends.
The API token and the workflow's secrets come from the environment of the process running
the task, never from task parameters, and that process trusts no parameter: a ``base_url``
other than its own (``RTK_BASE_URL``) or a secret outside ``RTK_ALLOW_SECRETS`` fails the task
(kind ``config``) before anything is sent. ``rtk-task run --engine prefect`` allows its own
run's base URL and secrets.

``for_each`` items are tasks of their own; ``until`` waits in the flow between tasks (the same
semantics as the local loop); rate limits are kept per process running the tasks.

Retries are mapped from the step's effective policy (its ``retry:``, else the workflow's): a
non-idempotent call (a create) gets no Prefect retry, since the client already retries what
is safe and Prefect must never send a create twice; ``timeout_seconds`` is the policy's
deadline (or attempts times the step's timeouts) plus a margin.

Traces (:mod:`rtk_task.tracing`, when on): the run's span ``rtk-task run NAME`` is made where
:meth:`PrefectEngine.run` is called; the flow runs in this process, in that span's context,
so Prefect's own flow and task spans, the steps' spans and their HTTP attempts' spans all
nest under it, in one trace.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

# Set before Prefect is imported: no analytics, quiet logs, a local ephemeral API.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
# Prefect waits 20 s for its ephemeral server; a first start in a new PREFECT_HOME (imports,
# then database migrations) took about 21 s on a 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect import flow, task

from .. import tracing
from ..result import TaskResult
from ..workflows.model import Step, Workflow
from ..workflows.runner import RunResult, schedule
from . import OnStart, OnStep, run_on_engine, starting
from .worker import SharedClient, WorkerConfig, lost, step_options

__all__ = ["PrefectEngine", "http_task", "run_step_task", "workflow_flow"]

_WHERE = "<prefect parameter>"


class _Worker:
    """This process's trust settings and its one shared client."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.clients = SharedClient(config.base_url)


_run_worker: _Worker | None = None  # while a run started here goes: its own settings
_env_worker: _Worker | None = None  # otherwise: the environment's (remade when it changes)


def _current_worker() -> _Worker:
    """This process's worker: a run's started here, else the environment's settings."""
    global _env_worker  # noqa: PLW0603 - one per process, by design
    if _run_worker is not None:
        return _run_worker
    config = WorkerConfig.from_env()
    if _env_worker is None or _env_worker.config != config:
        _env_worker = _Worker(config)
    return _env_worker


@contextlib.contextmanager
def _configured(config: WorkerConfig) -> Iterator[_Worker]:
    """This process trusts ``config`` while the block runs (a run started here)."""
    global _run_worker  # noqa: PLW0603 - one per process, by design
    saved, _run_worker = _run_worker, _Worker(config)
    try:
        yield _run_worker
    finally:
        _run_worker = saved


@task(name="rtk-task call", retries=0, persist_result=False)
async def http_task(
    task_id: str, inputs: dict[str, Any], base_url: str | None = None
) -> dict[str, Any]:
    """Call one task with plain-data inputs; the ``TaskResult`` as JSON."""
    worker = _current_worker()
    refused = worker.config.refused(task_id, None, base_url, _WHERE)
    result = refused or await worker.clients.get().call(task_id, inputs)
    return result.model_dump(mode="json")


@task(name="rtk-task step", persist_result=False)
async def run_step_task(
    definition: str,
    step_id: str,
    inputs: dict[str, Any],
    outputs: dict[str, dict[str, Any]],
    base_url: str | None = None,
    scope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one step of a workflow definition (JSON or YAML text); ``scope`` holds ``item``
    and ``index`` for one item of a ``for_each``."""
    worker = _current_worker()
    payload = {
        "definition": definition,
        "step": step_id,
        "inputs": inputs,
        "outputs": outputs,
        "base_url": base_url,
        "scope": scope,
    }
    result = await worker.config.run_payload(worker.clients, payload, _WHERE)
    return result.model_dump(mode="json")


def _task_options(wf: Workflow, step: Step) -> dict[str, Any]:
    options = step_options(wf, step, wf.manifest(step).idempotent)
    return {
        "name": f"step {step.id}",
        "retries": options.attempts - 1,
        "timeout_seconds": options.timeout,
    }


@flow(name="rtk-task workflow", persist_result=False)
async def workflow_flow(
    definition: str,
    inputs: dict[str, Any],
    base_url: str | None = None,
    concurrency: int = 4,
    details: bool = False,
) -> dict[str, Any]:
    """Run a workflow definition's steps in dependency order, each (each item of a
    ``for_each``) as a Prefect task; returns ``RunResult.to_json()``, ``outputs`` included."""
    wf = _current_worker().config.workflow(definition, _WHERE)

    async def run_one(
        step: Step,
        values: Mapping[str, Any],
        outputs: Mapping[str, Mapping[str, Any]],
        scope: Mapping[str, Any] | None = None,
    ) -> TaskResult:
        try:
            data = await run_step_task.with_options(**_task_options(wf, step))(
                definition,
                step.id,
                dict(values),
                {k: dict(v) for k, v in outputs.items()},
                base_url,
                dict(scope) if scope is not None else None,
            )
        except Exception as exc:  # the task crashed or timed out: a result, not the run's end
            return lost(step, wf.manifest(step).idempotent, exc)
        return TaskResult.model_validate(data)

    try:
        run = await schedule(wf, inputs, run_one, concurrency=concurrency, details=details)
        return run.to_json()
    finally:
        await _current_worker().clients.aclose()


class PrefectEngine:
    """Runs on a local, ephemeral Prefect (or the one ``PREFECT_API_URL`` names)."""

    name = "prefect"

    def __init__(self, *, concurrency: int = 4) -> None:
        self.concurrency = concurrency

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
        """Run ``workflow`` as a Prefect flow; ``on_step`` hears each step, in file order."""
        values = workflow.resolve_inputs(dict(inputs))
        starting(workflow, on_start)  # the steps start on the engine, out of our sight
        with (
            tracing.run_span(workflow, "prefect") as span,
            _configured(WorkerConfig.for_run(workflow, base_url)),
        ):
            run = run_on_engine(
                "prefect",
                "check PREFECT_API_URL, or unset it for a local run",
                workflow,
                lambda: workflow_flow.with_options(
                    name=f"rtk-task: {workflow.name}",  # each workflow a flow of its own name
                    flow_run_name=f"{workflow.name} ({len(workflow.steps)} steps)",
                )(workflow.definition(), values, base_url, self.concurrency, details),
                on_step,
            )
            tracing.settle(span, ok=run.ok)
            return run
