"""What every engine worker shares: its trust settings, its one client, a step's options.

A worker (a Temporal worker, the process running Prefect tasks) trusts no payload:

- :class:`WorkerConfig` is the worker's own configuration: the base URL its requests go to,
  the environment variables a workflow may read as secrets, and the hosts ``http`` steps may
  call. :meth:`WorkerConfig.check` refuses, before anything is sent, a payload that names
  another base URL, declares a secret the worker does not allow (the API token is the
  client's own and always allowed) or has an ``http`` step to a host not on the list (none
  by default: no payload makes a worker a proxy). A payload's ``task:`` is a task id, never
  a file path (the worker's disk is not the payload's to read, nor its problems to tell).
  The in-process worker of ``rtk-task run`` trusts the file its user ran.
- :class:`SharedClient` is the one :class:`~rtk_task.client.AsyncClient` (one connection
  pool) of a worker: made on the first step, reused by every later step, closed when the
  worker stops. One per event loop, since an httpx pool cannot cross loops.
- Rate limits are booked on the process's one limiter
  (:func:`rtk_task.ratelimit.shared_limiter`): each worker process keeps to the limit on its
  own, so workers sharing a token and account should each be given a share of it
  (``rate_limit:`` in the workflow).
- :func:`step_options` maps a step's effective retry policy (its own ``retry:``, else the
  workflow's) onto the engine: attempts (always 1 for a step that is not idempotent: a create
  is never resent by an engine) and the time one attempt may take.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..client import AsyncClient
from ..errors import ConfigError, Problem, RtkError, WorkflowError
from ..execute import error_result
from ..manifests.http import HTTP_TASK
from ..providers.model import host_of
from ..result import ErrorInfo, TaskResult
from ..secrets import Redactor
from ..workflows.model import TASK_ID, Step, Workflow, parse_workflow
from ..workflows.runner import run_step_async

__all__ = [
    "HEARTBEAT",
    "MARGIN",
    "SharedClient",
    "StepOptions",
    "WorkerConfig",
    "lost",
    "names",
    "parsed_workflow",
    "step_options",
]

#: Seconds on top of a step's own time budget before an engine gives up on an attempt.
MARGIN = 5.0
#: Seconds an engine waits for a running step's heartbeat before it counts the step lost (a
#: worker killed mid-step is noticed in this time, not at the step's whole deadline).
HEARTBEAT = 10.0
#: Seconds one attempt may take when a step sets no timeouts: the client's 5 s connect + 10 s read.
_DEFAULT_ATTEMPT = 15.0


@dataclass(frozen=True)
class StepOptions:
    """How an engine runs one step: ``attempts`` (engine-level) and ``timeout`` in seconds."""

    attempts: int
    timeout: float


def step_options(workflow: Workflow, step: Step, idempotent: bool) -> StepOptions:
    """The engine's attempts and per-attempt timeout for ``step``, from its effective policy."""
    policy = step.retry or workflow.retry
    timeouts = step.timeouts
    per_attempt = (timeouts.connect + timeouts.read) if timeouts else _DEFAULT_ATTEMPT
    attempts = policy.max_attempts if policy else 3
    # every policy has a deadline now (default 120 s): the attempts' own time may be shorter
    deadline = (
        min(policy.deadline, per_attempt * attempts)
        if policy and policy.deadline
        else per_attempt * attempts
    )
    return StepOptions(attempts=attempts if idempotent else 1, timeout=deadline + MARGIN)


def lost(step: Step, idempotent: bool, why: BaseException) -> TaskResult:
    """The result of a step the engine lost (its worker died, its activity or task timed out
    or crashed): ``ambiguous`` for a step that creates something (it may have been sent; it
    is never sent again), ``engine`` for one safe to run again. The same shape as the local
    runner's results, so ``continue_on_error`` and ``for_each`` summaries work alike."""
    cause = why.__cause__ or why
    detail = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
    kind: Any = "engine" if idempotent else "ambiguous"
    hint = (
        "run it again: the step is idempotent"
        if idempotent
        else "the request may have reached the server: check before running it again"
    )
    return TaskResult(
        ok=False,
        task=step.task,
        error=ErrorInfo(kind=kind, message=f"the engine lost the step ({detail[:300]})", hint=hint),
    )


@lru_cache(maxsize=64)
def parsed_workflow(definition: str, where: str, task_files: bool = True) -> Workflow:
    """A definition, parsed and checked once per worker (manifests loaded, templates built);
    ``task_files``: whether a ``task:`` may be a manifest file."""
    return parse_workflow(definition, where, task_files=task_files)


def names(text: str) -> frozenset[str]:
    """Names given in one text, separated by commas or spaces."""
    return frozenset(text.replace(",", " ").split())


@dataclass(frozen=True)
class WorkerConfig:
    """A worker's own settings: where requests go, which environment variables are secrets."""

    base_url: str | None = None
    allowed_secrets: frozenset[str] = field(default_factory=frozenset)
    #: Hosts ``http`` steps may call (``None``: any, for the run's own in-process worker).
    allowed_hosts: frozenset[str] | None = field(default_factory=frozenset)
    #: Steps a second the engine hands out to ALL workers of the queue together (Temporal's
    #: task-queue activity rate, kept by the server); ``None``: no such limit.
    queue_rate: float | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkerConfig:
        """``RTK_BASE_URL``, ``RTK_ALLOW_SECRETS`` and ``RTK_ALLOW_HOSTS`` (names separated
        by commas or spaces)."""
        env = os.environ if environ is None else environ
        return cls(
            env.get("RTK_BASE_URL") or None,
            names(env.get("RTK_ALLOW_SECRETS", "")),
            names(env.get("RTK_ALLOW_HOSTS", "").lower()),
        )

    @classmethod
    def for_run(cls, workflow: Workflow, base_url: str | None) -> WorkerConfig:
        """The in-process worker of a run started here: this run's base URL and secrets, and
        the file's own ``http`` hosts and task files."""
        return cls(
            base_url or os.environ.get("RTK_BASE_URL") or None,
            frozenset(workflow.secrets.values()),
            None,
        )

    @property
    def task_files(self) -> bool:
        """Whether a payload's ``task:`` may be a file: only in the run's own worker."""
        return self.allowed_hosts is None

    def workflow(self, definition: str, where: str) -> Workflow:
        """A payload's definition, parsed once, with this worker's rule for ``task:``."""
        return parsed_workflow(definition, where, self.task_files)

    def check(self, workflow: Workflow | None, base_url: str | None, where: str) -> None:
        """Refuse a payload that names a base URL or a secret this worker does not allow."""
        problems = []
        if base_url and base_url.rstrip("/") != (self.base_url or "").rstrip("/"):
            problems.append(
                Problem(
                    f"{where}.base_url",
                    f"the payload asks for base URL {base_url!r}; this worker sends to "
                    f"{self.base_url or 'each task server'!r}",
                    "start the worker with --base-url (or RTK_BASE_URL) set to that URL",
                )
            )
        if workflow is not None and self.allowed_hosts is not None:
            problems.extend(self._hosts(workflow, where))
        secrets = workflow.secrets if workflow is not None else {}
        for name, env in sorted(secrets.items()):
            if env not in self.allowed_secrets:
                problems.append(
                    Problem(
                        f"{where}.secrets.{name}",
                        f"the payload reads environment variable {env}, "
                        "which this worker does not allow",
                        f"start the worker with --allow-secret {env}",
                    )
                )
        ConfigError.collect(problems)

    def _hosts(self, workflow: Workflow, where: str) -> Iterator[Problem]:
        """An ``http`` step to a host this worker does not allow."""
        allowed = self.allowed_hosts or frozenset()
        for step in workflow.steps:
            if step.task != HTTP_TASK:
                continue
            for server in workflow.manifest(step).servers:
                host = host_of(server)
                if host not in allowed:
                    yield Problem(
                        f"{where}.steps.{step.id}.with.url",
                        f"the payload's http step calls {host!r}, which this worker does not allow",
                        f"start the worker with --allow-host {host}",
                    )

    def refused(
        self, task: str, workflow: Workflow | None, base_url: str | None, where: str
    ) -> TaskResult | None:
        """A failed result of kind ``config`` for a payload :meth:`check` refuses, else
        ``None``: nothing is sent, and nothing is left for an engine to retry."""
        try:
            if workflow is None and not self.task_files and not TASK_ID.match(task):
                raise ConfigError(
                    Problem(
                        f"{where}.task",
                        "a worker runs tasks by id, not from files",
                        "name a task id (`rtk-task list`) found in the worker's RTK_MANIFEST_PATH",
                    )
                )
            self.check(workflow, base_url, where)
        except ConfigError as exc:
            return error_result(task if TASK_ID.match(task) else "<task>", exc, Redactor())
        return None

    async def run_step(
        self,
        clients: SharedClient,
        payload_base_url: str | None,
        workflow: Workflow,
        step: Step,
        inputs: Mapping[str, Any],
        outputs: Mapping[str, Mapping[str, Any]],
        where: str,
        scope: Mapping[str, Any] | None = None,
    ) -> TaskResult:
        """Check the payload, then run ``step`` (one item of it, with ``scope``) on this
        worker's shared client."""
        refused = self.refused(step.task, workflow, payload_base_url, where)
        if refused is not None:
            return refused
        return await run_step_async(clients.get(), workflow, step, inputs, outputs, scope=scope)

    async def run_payload(
        self,
        clients: SharedClient,
        payload: Any,
        where: str,
    ) -> TaskResult:
        """Run the step a payload names, trusting nothing in it: a payload that is not the
        shape an engine sends (keys, types, a definition that does not parse, a step it does
        not have) is a failed result of kind ``workflow``, never an exception out of the
        worker, and nothing is sent."""
        try:
            workflow, step, args = _from_payload(payload, where, self)
        except RtkError as exc:
            return error_result("<payload>", exc, Redactor())
        return await self.run_step(clients, args["base_url"], workflow, step, **args["call"])


def _from_payload(
    payload: Any, where: str, config: WorkerConfig
) -> tuple[Workflow, Step, dict[str, Any]]:
    """The workflow, step and call arguments of an engine payload, or a :class:`WorkflowError`
    naming what is wrong."""

    def wrong(what: str) -> WorkflowError:
        return WorkflowError(Problem(where, what, "run it with `rtk-task run --engine`"))

    if not isinstance(payload, Mapping):
        raise wrong("the payload is not an object")
    definition, step_id = payload.get("definition"), payload.get("step")
    if not isinstance(definition, str):
        raise wrong("the payload's definition is not workflow text")
    if not isinstance(step_id, str):
        raise wrong("the payload names no step")
    inputs, outputs = payload.get("inputs", {}), payload.get("outputs", {})
    scope, base_url = payload.get("scope"), payload.get("base_url")
    if not isinstance(inputs, Mapping):
        raise wrong("the payload's inputs are not an object")
    if not isinstance(outputs, Mapping) or not all(
        isinstance(v, Mapping) for v in outputs.values()
    ):
        raise wrong("the payload's outputs are not an object of objects")
    if scope is not None and not isinstance(scope, Mapping):
        raise wrong("the payload's scope is not an object")
    if base_url is not None and not isinstance(base_url, str):
        raise wrong("the payload's base URL is not text")
    workflow = config.workflow(definition, where)
    step = workflow.step(step_id)
    call = {"inputs": inputs, "outputs": outputs, "where": where, "scope": scope}
    return workflow, step, {"base_url": base_url, "call": call}


class SharedClient:
    """A worker's one :class:`AsyncClient` per event loop, made lazily and reused."""

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = base_url
        #: How many clients this holder has made (one per worker loop, if all is well).
        self.made = 0
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> AsyncClient:
        """The running loop's client, made on first use."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = AsyncClient(base_url=self.base_url)
            self.made += 1
        return client

    async def aclose(self) -> None:
        """Close the running loop's client (the others went with their loops)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def clients(self) -> Iterable[AsyncClient]:
        """The clients alive now, for tests and diagnostics."""
        return list(self._clients.values())
