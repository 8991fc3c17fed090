"""Running a workflow: steps in dependency order, with bounded concurrency, on any engine.

One step is rendered and called by :mod:`rtk_task.workflows.step`; a step's ``for_each`` and
``until`` are run by :mod:`rtk_task.workflows.flow`; this module decides which steps run,
when, and what a run's result is (every step's result and the workflow's ``outputs``).
A local run (:func:`run_workflow_async`) is traced as one span, ``rtk-task run NAME``, when
traces are on (:mod:`rtk_task.tracing`); the engines make theirs where they start a run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from ..client import AsyncClient
from ..errors import FileError, TemplateError
from ..execute import error_result
from ..result import ErrorInfo, TaskResult, chained
from ..secrets import Redactor
from ..tracing import active, run_redactor, run_span, settle
from .flow import context_of, render_workflow_outputs, run_flow_step
from .model import Step, Workflow
from .step import StepRun, run_step, run_step_async

__all__ = [
    "RunResult",
    "StepRun",
    "pool_limits",
    "run_step",
    "run_step_async",
    "run_workflow",
    "run_workflow_async",
    "schedule",
]


class RunResult:
    """A workflow run: ``ok``, every step's result in file order, the workflow's ``outputs``
    (and ``output_error`` when they could not be rendered)."""

    __slots__ = ("ok", "output_error", "outputs", "steps")

    def __init__(
        self,
        ok: bool,
        steps: dict[str, TaskResult],
        outputs: dict[str, Any] | None = None,
        output_error: str | None = None,
    ) -> None:
        self.ok = ok
        self.steps = steps
        self.outputs = outputs or {}
        self.output_error = output_error

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        workflow: Workflow,
        on_step: Callable[[Step, TaskResult], None] | None = None,
    ) -> RunResult:
        """A run an engine returned as JSON; ``on_step`` is called for each step, in order."""
        steps = {k: TaskResult.model_validate(v) for k, v in data["steps"].items()}
        if on_step is not None:
            for step in workflow.steps:
                if step.id in steps:
                    on_step(step, steps[step.id])
        return cls(
            bool(data["ok"]), steps, dict(data.get("outputs") or {}), data.get("output_error")
        )

    def to_json(self) -> dict[str, Any]:
        """``{"ok": bool, "steps": {"<id>": TaskResult, ...}, "outputs": {...}}`` as plain
        JSON (with ``"output_error"`` when the outputs could not be rendered)."""
        data = {
            "ok": self.ok,
            "steps": {k: r.model_dump(mode="json") for k, r in self.steps.items()},
            "outputs": self.outputs,
        }
        if self.output_error is not None:
            data["output_error"] = self.output_error
        return data


def _not_run(step: Step, why: str) -> TaskResult:
    return TaskResult(
        ok=False,
        task=step.task,
        skipped=True,
        error=ErrorInfo(kind="workflow", message=f"not run: {why}"),
    )


#: ``run_one(step, inputs, outputs)``; for an item of a ``for_each`` it is called with
#: ``scope={"item": ..., "index": ...}`` as well.
StepCall = Callable[..., Awaitable[TaskResult]]


def _when(
    step: Step, inputs: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]
) -> TaskResult | None:
    """A result for a step that must not run (``when`` false or broken), else ``None``."""
    if step.when is None:
        return None
    context = context_of(inputs, outputs)
    try:
        go = step.compiled_when().render(context, f"steps.{step.id}.when")
    except TemplateError as exc:
        return error_result(step.task, exc, Redactor())
    return None if go else TaskResult(ok=True, task=step.task, skipped=True)


async def schedule(
    workflow: Workflow,
    inputs: Mapping[str, Any],
    run_one: StepCall,
    *,
    concurrency: int = 4,
    on_step: Callable[[Step, TaskResult], None] | None = None,
    on_start: Callable[[Step], None] | None = None,
    details: bool = False,
) -> RunResult:
    """Run steps in dependency order, independent ones concurrently (at most ``concurrency``).

    ``on_start(step)`` is called just before a step is started (its request may leave from
    then on), ``on_step(step, result)`` when it has finished: a run record written by the
    first says "sent, outcome unknown" until the second completes it. An ``on_start`` that
    raises :class:`~rtk_task.errors.FileError` (the record cannot be written: a full disk)
    stops the run before that step is sent; the step's result says why.

    ``run_one(step, inputs, outputs)`` runs one step: locally, as a Temporal activity, or as a
    Prefect task. The first failure stops the run (steps already running finish) unless the
    failed step says ``continue_on_error``. A step waits for the steps it reads and those in its
    ``depends_on``; one whose inputs come from a step that failed or was skipped, or that
    depends on a step that failed, does not run. A ``for_each`` step's result keeps every
    item's full result only with ``details``; the workflow's ``outputs`` are rendered last.
    """
    values = workflow.resolve_inputs(dict(inputs))
    masks = run_redactor(workflow) if active() else None  # for the steps' spans, if any
    by_id = {s.id: s for s in workflow.steps}
    pending = dict(by_id)
    results: dict[str, TaskResult] = {}
    outputs: dict[str, Mapping[str, Any]] = {}
    running: dict[asyncio.Task[TaskResult], str] = {}
    stopped_by: str | None = None

    def settle(step_id: str, result: TaskResult) -> None:
        results[step_id] = result
        # a for_each step's lists stand even when some items failed (None at their index)
        partial = by_id[step_id].for_each is not None and bool(result.outputs)
        if (result.ok or partial) and not result.skipped:
            outputs[step_id] = chained(result)  # with the names of secrets it holds, masked
        if on_step is not None:
            on_step(by_id[step_id], result)

    async def start(step: Step) -> TaskResult:
        return _when(step, values, outputs) or await run_flow_step(
            step, values, dict(outputs), run_one, details=details, masks=masks
        )

    while pending or running:
        if stopped_by is None:
            for step_id, step in list(pending.items()):
                if not step.after <= results.keys():  # its needs and its depends_on
                    continue
                if len(running) >= concurrency:
                    break
                del pending[step_id]
                missing = sorted(d for d in step.needs if d not in outputs)
                if missing:
                    settle(step_id, _not_run(step, f"needs the outputs of {', '.join(missing)}"))
                    continue
                failed = sorted(d for d in step.depends_on if not results[d].ok)
                if failed:
                    settle(step_id, _not_run(step, f"depends on {', '.join(failed)}, which failed"))
                    continue
                if on_start is not None:
                    try:
                        on_start(step)  # its record: a step is never sent off the record
                    except FileError as exc:
                        settle(step_id, error_result(step.task, exc, Redactor()))
                        stopped_by = step_id
                        break
                running[asyncio.ensure_future(start(step))] = step_id
        if not running:
            break
        try:
            finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the run was interrupted: stop the steps in flight
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise
        for task in sorted(finished, key=lambda t: list(by_id).index(running[t])):
            step_id = running.pop(task)
            result = task.result()
            settle(step_id, result)
            if not result.ok and not by_id[step_id].continue_on_error and stopped_by is None:
                stopped_by = step_id
    for step_id, step in pending.items():
        settle(step_id, _not_run(step, f"the run stopped after {stopped_by} failed"))
    ordered = {s.id: results[s.id] for s in workflow.steps if s.id in results}
    ok = all(r.ok or by_id[k].continue_on_error for k, r in ordered.items())
    rendered, output_error = render_workflow_outputs(workflow, values, outputs)
    ok = ok and stopped_by is None and output_error is None
    return RunResult(ok, ordered, rendered, output_error)


async def run_workflow_async(
    client: AsyncClient,
    workflow: Workflow,
    inputs: Mapping[str, Any],
    *,
    concurrency: int = 4,
    on_step: Callable[[Step, TaskResult], None] | None = None,
    on_start: Callable[[Step], None] | None = None,
    details: bool = False,
) -> RunResult:
    """:func:`schedule` with each step sent by ``client``, inside the run's span."""

    async def run_one(
        step: Step,
        values: Mapping[str, Any],
        outputs: Mapping[str, Mapping[str, Any]],
        scope: Mapping[str, Any] | None = None,
    ) -> TaskResult:
        return await run_step_async(client, workflow, step, values, outputs, scope=scope)

    with run_span(workflow, "local") as span:
        run = await schedule(
            workflow,
            inputs,
            run_one,
            concurrency=concurrency,
            on_step=on_step,
            on_start=on_start,
            details=details,
        )
        settle(span, ok=run.ok)
        return run


def pool_limits(workflow: Workflow, concurrency: int) -> httpx.Limits:
    """Connection limits for a run: room for the most calls it can have in flight at once
    (the ``concurrency`` widest steps side by side; a ``for_each`` is as wide as its own
    ``concurrency``), kept alive between steps; never below httpx's defaults."""
    widths = sorted(s.concurrency if s.for_each is not None else 1 for s in workflow.steps)
    most = sum(widths[-max(1, concurrency) :])
    return httpx.Limits(max_connections=max(100, most), max_keepalive_connections=max(20, most))


def run_workflow(
    workflow: Workflow,
    inputs: Mapping[str, Any],
    *,
    base_url: str | None = None,
    token: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    concurrency: int = 4,
    on_step: Callable[[Step, TaskResult], None] | None = None,
    on_start: Callable[[Step], None] | None = None,
    details: bool = False,
    credentials: Mapping[str, str] | None = None,
) -> RunResult:
    """:func:`run_workflow_async` with a client of its own, for callers without a loop.

    ``token`` is the secret of every step whose task takes one; ``credentials`` (variable ->
    value) stands in for the environment the tasks' auths read."""

    async def main() -> RunResult:
        limits = pool_limits(workflow, concurrency)
        async with AsyncClient(
            base_url=base_url,
            token=token,
            transport=transport,
            limits=limits,
            credentials=credentials,
        ) as client:
            return await run_workflow_async(
                client,
                workflow,
                inputs,
                concurrency=concurrency,
                on_step=on_step,
                on_start=on_start,
                details=details,
            )

    return asyncio.run(main())
