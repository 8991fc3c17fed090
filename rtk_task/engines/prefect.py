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
semantics as the local loop). Rate limits: each process running tasks keeps the client's own;
on a configured Prefect API (``PREFECT_API_URL``), every task first takes a slot of the API
host's limit on the Prefect server, which holds for all the processes together
(:mod:`rtk_task.engines.prefect_limits`, ``RTK_PREFECT_RATE_LIMITS=on|off``).

The workflow's definition is stored on the Prefect server once, as a block named after its
SHA-256 (:class:`WorkflowDefinition`, ``rtk-task-workflow-<sha256>``), and the flow and its
tasks get only the reference ``{"block": NAME, "sha256": DIGEST}`` as a parameter: a flow run
shows the inputs, not the file. The flow and the tasks load the text once per process and
check its digest; a block missing or altered fails the flow run with that said, and no
traceback (a task answers a failed result of kind ``workflow``). The flow also takes a
definition's text, as before.

Retries are mapped from the step's effective policy (its ``retry:``, else the workflow's): a
non-idempotent call (a create) gets no Prefect retry, since the client already retries what
is safe and Prefect must never send a create twice; ``timeout_seconds`` is the policy's
deadline (or attempts times the step's timeouts) plus a margin.

Traces (:mod:`rtk_task.tracing`, when on): the run's span ``rtk-task run NAME`` is made where
:meth:`PrefectEngine.run` is called; the flow runs in this process, in that span's context,
so Prefect's own flow and task spans, the steps' spans and their HTTP attempts' spans all
nest under it, in one trace. A flow run started elsewhere (a deployment's run on a remote
worker) makes the run's span itself, around its steps, under Prefect's flow span.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

# Set before Prefect is imported: no analytics, quiet logs, a local ephemeral API.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
# Prefect waits 20 s for its ephemeral server; a first start in a new PREFECT_HOME (imports,
# then database migrations) took about 21 s on a 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect import flow, task
from prefect.blocks.core import Block
from prefect.states import Failed

from .. import tracing
from ..errors import EngineError, Problem, RtkError, WorkflowError
from ..execute import error_result
from ..result import TaskResult
from ..secrets import Redactor
from ..workflows.model import Step, Workflow
from ..workflows.runner import RunResult, schedule
from . import OnStart, OnStep, prefect_limits, run_on_engine, starting
from .worker import MARGIN, SharedClient, WorkerConfig, lost, step_options

__all__ = [
    "PrefectEngine",
    "WorkflowDefinition",
    "http_task",
    "load_definition",
    "run_step_task",
    "store_definition",
    "workflow_flow",
]

_WHERE = "<prefect parameter>"
#: Set while :meth:`PrefectEngine.run` runs a flow here, under the run's span; a flow run
#: started elsewhere (a deployment on a remote worker) makes the run's span itself.
_ENGINE_RUN: ContextVar[bool] = ContextVar("rtk_task_prefect_engine_run", default=False)
#: Block names of stored definitions: this prefix, then the text's SHA-256 (hex).
_BLOCK_PREFIX = "rtk-task-workflow-"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
#: The name of the flow's failed state when its definition cannot be had (no traceback).
_UNUSABLE = "DefinitionUnusable"
#: The name of the flow's failed state when the server's rate limits cannot be set.
_NO_LIMITS = "RateLimitsUnusable"
#: Definitions loaded or stored by this process, by digest (at most this many kept).
_TEXTS: dict[str, str] = {}
_KEEP = 64


class WorkflowDefinition(Block):
    """A workflow file's text, stored once under its SHA-256 (``rtk-task-workflow-<hex>``)."""

    _block_type_name = "rtk-task workflow definition"
    _block_type_slug = "rtk-task-workflow-definition"
    _description = "A workflow file's text, named by its SHA-256; rtk-task flows load it by name."

    text: str


def _reference(text: str) -> dict[str, str]:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return {"block": f"{_BLOCK_PREFIX}{digest}", "sha256": digest}


def _remember(digest: str, text: str) -> None:
    if len(_TEXTS) >= _KEEP:
        _TEXTS.pop(next(iter(_TEXTS)))
    _TEXTS[digest] = text


async def _stored(name: str) -> str | None:
    """The text of the stored definition ``name`` (``None``: there is none)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:
            document = await client.read_block_document_by_name(
                name, WorkflowDefinition.get_block_type_slug(), include_secrets=False
            )
        except ObjectNotFound:
            return None
    text = document.data.get("text")
    return text if isinstance(text, str) else ""


async def store_definition(text: str) -> dict[str, str]:
    """Store a workflow definition's text on the Prefect server (once: the block is named
    after its digest; one that was altered is written again); its reference."""
    from prefect.exceptions import ObjectAlreadyExists

    ref = _reference(text)
    for attempt in range(3):
        if await _stored(ref["block"]) == text:
            break
        try:
            await WorkflowDefinition(text=text).asave(ref["block"], overwrite=True)
            break
        except ObjectAlreadyExists:  # another run stored it (or its block type) meanwhile
            if attempt == 2:
                raise
    _remember(ref["sha256"], text)
    return ref


async def load_definition(ref: Any) -> str:
    """The text a reference names, loaded once per process, its digest checked; a
    :class:`WorkflowError` when the reference is malformed, the block is missing or its text is
    not the one the digest names, an :class:`EngineError` when the server cannot be asked."""
    where = f"{_WHERE}.definition"
    digest = ref.get("sha256") if isinstance(ref, Mapping) else None
    if not (isinstance(digest, str) and _DIGEST.match(digest)) or ref.get("block") != (
        f"{_BLOCK_PREFIX}{digest}"
    ):
        raise WorkflowError(
            Problem(where, "not a workflow reference", "run it with `rtk-task run --engine`")
        )
    text = _TEXTS.get(digest)
    if text is not None:
        return text
    try:
        stored = await _stored(ref["block"])
    except Exception as exc:
        raise EngineError(
            Problem(where, f"the Prefect server cannot be asked ({type(exc).__name__})")
        ) from None
    rerun = "run the workflow again with `rtk-task run --engine prefect`, which stores it"
    if stored is None:
        raise WorkflowError(
            Problem(
                where, f"the workflow definition {ref['block']} is not on the Prefect server", rerun
            )
        )
    if hashlib.sha256(stored.encode()).hexdigest() != digest:
        raise WorkflowError(
            Problem(
                where,
                f"the workflow definition {ref['block']} was altered: its text does not match "
                "its SHA-256",
                rerun,
            )
        )
    _remember(digest, stored)
    return stored


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
    definition: str | dict[str, str],
    step_id: str,
    inputs: dict[str, Any],
    outputs: dict[str, dict[str, Any]],
    base_url: str | None = None,
    scope: dict[str, Any] | None = None,
    limits: list[str] | None = None,
    limit_wait: float = 60.0,
) -> dict[str, Any]:
    """Run one step of a workflow definition (JSON or YAML text, or a reference to one stored
    on the server); ``scope`` holds ``item`` and ``index`` for one item of a ``for_each``. It
    first takes a slot of each of the server's rate ``limits``, waiting at most ``limit_wait``
    seconds."""
    worker = _current_worker()
    try:
        text = definition if isinstance(definition, str) else await load_definition(definition)
        if limits is not None and not (
            isinstance(limits, list) and all(isinstance(name, str) for name in limits)
        ):
            raise WorkflowError(Problem(f"{_WHERE}.limits", "the payload's limits are not names"))
        await prefect_limits.take(limits or [], float(limit_wait))
    except RtkError as exc:  # nothing sent
        return error_result("<payload>", exc, Redactor()).model_dump(mode="json")
    payload = {
        "definition": text,
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


def _slot_wait(options: Mapping[str, Any]) -> float:
    """How long a task may wait for a rate limit's slot: half its time, so that a step that
    gets none ends as not sent, before the engine's timeout could call it lost."""
    return max(1.0, (float(options["timeout_seconds"]) - MARGIN) / 2)


async def _server_limits(wf: Workflow, base_url: str | None) -> dict[str, list[str]]:
    """Each step's rate-limit names, the limits made or set on the server first (none unless
    :func:`~rtk_task.engines.prefect_limits.enabled`)."""
    if not prefect_limits.enabled():
        return {}
    names, limits = prefect_limits.run_limits(wf, base_url)
    try:
        await prefect_limits.ensure(limits)
    except Exception as exc:
        raise EngineError(
            Problem(
                "prefect",
                f"the rate limits cannot be set on the Prefect server ({type(exc).__name__}: "
                f"{str(exc)[:200]})",
                f"check the server, or set {prefect_limits.SWITCH}=off to keep only each "
                "process's own limit",
            )
        ) from None
    return names


@flow(name="rtk-task workflow", persist_result=False)
async def workflow_flow(
    definition: str | dict[str, str],
    inputs: dict[str, Any],
    base_url: str | None = None,
    concurrency: int = 4,
    details: bool = False,
) -> Any:
    """Run a workflow definition's steps in dependency order, each (each item of a
    ``for_each``) as a Prefect task; returns ``RunResult.to_json()``, ``outputs`` included.

    ``definition`` is the reference :func:`store_definition` returns (the tasks get it too),
    or the text itself. A reference that cannot be loaded, or rate limits the server refuses,
    end the run in a failed state saying so, before any step."""
    worker = _current_worker()
    try:
        text = definition if isinstance(definition, str) else await load_definition(definition)
    except RtkError as exc:
        return Failed(name=_UNUSABLE, message=exc.render())
    wf = worker.config.workflow(text, _WHERE)
    try:
        limits = await _server_limits(wf, base_url or worker.config.base_url)
    except RtkError as exc:
        return Failed(name=_NO_LIMITS, message=exc.render())

    async def run_one(
        step: Step,
        values: Mapping[str, Any],
        outputs: Mapping[str, Mapping[str, Any]],
        scope: Mapping[str, Any] | None = None,
    ) -> TaskResult:
        options = _task_options(wf, step)
        try:
            data = await run_step_task.with_options(**options)(
                definition,
                step.id,
                dict(values),
                {k: dict(v) for k, v in outputs.items()},
                base_url,
                dict(scope) if scope is not None else None,
                limits.get(step.id) or None,
                _slot_wait(options),
            )
        except Exception as exc:  # the task crashed or timed out: a result, not the run's end
            return lost(step, wf.manifest(step).idempotent, exc)
        return TaskResult.model_validate(data)

    spanned = contextlib.nullcontext() if _ENGINE_RUN.get() else tracing.run_span(wf, "prefect")
    try:
        with spanned as span:
            run = await schedule(wf, inputs, run_one, concurrency=concurrency, details=details)
            tracing.settle(span, ok=run.ok)
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
        engine_run = _ENGINE_RUN.set(True)  # the flow runs here, under the run's span
        try:
            with (
                tracing.run_span(workflow, "prefect") as span,
                _configured(WorkerConfig.for_run(workflow, base_url)),
            ):
                run = run_on_engine(
                    "prefect",
                    "check PREFECT_API_URL, or unset it for a local run",
                    workflow,
                    lambda: self._start(workflow, values, base_url, details),
                    on_step,
                )
                tracing.settle(span, ok=run.ok)
                return run
        finally:
            _ENGINE_RUN.reset(engine_run)

    async def _start(
        self, workflow: Workflow, values: dict[str, Any], base_url: str | None, details: bool
    ) -> dict[str, Any]:
        """Store the definition, run the flow on its reference; its result, or its failure as
        one of our errors."""
        ref = await store_definition(workflow.definition())
        state = await workflow_flow.with_options(
            name=f"rtk-task: {workflow.name}",  # each workflow a flow of its own name
            flow_run_name=f"{workflow.name} ({len(workflow.steps)} steps)",
        )(ref, values, base_url, self.concurrency, details, return_state=True)
        if state.is_failed() and state.name in (_UNUSABLE, _NO_LIMITS):
            error = WorkflowError if state.name == _UNUSABLE else EngineError
            raise error(state.message or state.name)
        result: dict[str, Any] = await state.aresult()
        return result
