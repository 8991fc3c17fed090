"""Flow control inside one step: ``for_each`` over items, ``until`` a condition holds.

:func:`run_flow_step` is what the scheduler calls for every step; a plain step goes straight
to the engine's ``run_one``. It runs in the scheduler's own code (the Temporal workflow, the
Prefect flow, the local loop), so:

- ``until`` waits with ``asyncio.sleep`` and measures with the loop's clock: on Temporal those
  are durable workflow timers between activities (no activity sleeps), elsewhere a plain
  loop; the semantics are the same. Each call is one ``run_one`` (its retries included); the
  condition is rendered over ``response`` after each success; past ``timeout`` the step fails
  with kind ``timeout`` and the last status seen.
- ``for_each`` renders its list once, then runs ``run_one`` per item (``item`` and ``index``
  in the templates) from at most ``concurrency`` workers pulling items in order: memory stays
  flat however long the list. Each item has its own result, retries and error. The step's
  outputs are lists in item order (``None`` for an item that failed). The first failed item
  stops new items from starting unless the step says ``continue_on_error``. The step's result
  is a summary in ``body`` (``items``, ``succeeded``, ``failed`` with each failed item's index
  and error, ``not_run``); every item's full result only with ``details``.

With traces on (:mod:`rtk_task.tracing`) a step runs inside its span ``step ID`` and each item
inside ``item N``; none is made in Temporal workflow code (its activities make the step's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..errors import Problem, TemplateError, WorkflowError
from ..execute import error_result
from ..result import ErrorInfo, TaskResult, visible
from ..secrets import Redactor
from ..tracing import item_span, settle, step_span
from .model import Step, Workflow

__all__ = ["ItemCall", "render_workflow_outputs", "run_flow_step"]

#: ``run_one(step, inputs, outputs)``, or with ``scope=`` (``item``/``index``) for an item.
ItemCall = Callable[..., Awaitable[TaskResult]]


def context_of(
    inputs: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """What a template outside a request reads (``when``, ``for_each``, ``until``, the
    workflow's outputs): inputs and outputs, no secrets (masked outputs stay masked)."""
    return {
        "inputs": inputs,
        "steps": {k: {"outputs": visible(v)} for k, v in outputs.items()},
        "secrets": {},
    }


async def run_flow_step(
    step: Step,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Mapping[str, Any]],
    run_one: ItemCall,
    *,
    details: bool = False,
    masks: Redactor | None = None,
) -> TaskResult:
    """Run ``step`` through ``run_one``: once, per item of its ``for_each``, and each call
    repeated ``until`` its condition holds; ``masks``: what its spans' strings mask."""
    with step_span(step.id, step.task, masks) as span:
        result = await _run(step, inputs, outputs, run_one, details, masks)
        settle(span, result)
        return result


async def _run(
    step: Step,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Mapping[str, Any]],
    run_one: ItemCall,
    details: bool,
    masks: Redactor | None,
) -> TaskResult:
    if step.for_each is None:
        return await _until(step, inputs, outputs, run_one, None)
    items = _items(step, inputs, outputs)
    if isinstance(items, TaskResult):
        return items
    return await _for_each(step, inputs, outputs, run_one, items, details, masks)


def _items(
    step: Step, inputs: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]
) -> list[Any] | TaskResult:
    where = f"steps.{step.id}.for_each"
    try:
        items = step.compiled_for_each().render(context_of(inputs, outputs), where)
    except TemplateError as exc:
        return error_result(step.task, exc, Redactor())
    if not isinstance(items, list):
        problem = Problem(
            where,
            f"for_each needs a list, got {type(items).__name__}",
            'give a list: for_each: "{{ inputs.people }}" (an array input) or [a, b]',
        )
        return error_result(step.task, WorkflowError(problem), Redactor())
    if len(items) > step.max_items:
        problem = Problem(
            where,
            f"for_each has {len(items):,} items, more than max_items ({step.max_items:,})",
            "split the list, or raise the step's max_items (at most 1,000,000)",
        )
        return error_result(step.task, WorkflowError(problem), Redactor())
    return items


async def _call(
    run_one: ItemCall,
    step: Step,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Mapping[str, Any]],
    scope: dict[str, Any] | None,
) -> TaskResult:
    if scope is None:
        return await run_one(step, inputs, outputs)
    return await run_one(step, inputs, outputs, scope=scope)


async def _until(
    step: Step,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Mapping[str, Any]],
    run_one: ItemCall,
    scope: dict[str, Any] | None,
) -> TaskResult:
    until = step.until
    if until is None:
        return await _call(run_one, step, inputs, outputs, scope)
    loop = asyncio.get_running_loop()
    started = loop.time()  # on Temporal: workflow time, replayed identically
    calls = 0
    where = f"steps.{step.id}.until.condition"
    while True:
        result = await _call(run_one, step, inputs, outputs, scope)
        calls += result.attempts
        if not result.ok:
            return result
        context = {
            **context_of(inputs, outputs),
            **(scope or {}),
            "response": {
                "status_code": result.status_code,
                "headers": result.headers,
                "body": result.body,
            },
        }
        try:
            done = step.compiled_until().render(context, where)
        except TemplateError as exc:
            failed = error_result(step.task, exc, Redactor())
            return result.model_copy(update={"ok": False, "error": failed.error})
        if done:
            return result.model_copy(update={"attempts": calls})
        waited = loop.time() - started
        if waited + until.interval > until.timeout:
            message = (
                f"until: {until.condition!r} was still false after {waited:.1f} s "
                f"(timeout {until.timeout:g} s, {calls} calls); last status seen: "
                f"{_last_status(result)}"
            )
            error = ErrorInfo(
                kind="timeout",
                message=message,
                status_code=result.status_code,
                field_path=where,
                hint="raise until.timeout, or check that the condition can become true",
            )
            return result.model_copy(update={"ok": False, "error": error, "attempts": calls})
        await asyncio.sleep(until.interval)


def _last_status(result: TaskResult) -> str:
    """The HTTP status and, when the body has one, the record's ``status`` field."""
    body = result.body
    record = body.get("data", body) if isinstance(body, dict) else None
    status = record.get("status") if isinstance(record, dict) else None
    return f"HTTP {result.status_code}" + (f", status {status!r}" if status is not None else "")


async def _for_each(
    step: Step,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Mapping[str, Any]],
    run_one: ItemCall,
    items: list[Any],
    details: bool,
    masks: Redactor | None = None,
) -> TaskResult:
    loop = asyncio.get_running_loop()
    started = loop.time()
    count = len(items)
    values: dict[str, list[Any]] = {}
    failed: list[dict[str, Any]] = []
    full: list[dict[str, Any] | None] = [None] * count if details else []
    attempts = 0
    succeeded = 0
    first_error: ErrorInfo | None = None
    feed = iter(enumerate(items))
    stop = False

    async def worker() -> None:
        nonlocal attempts, succeeded, first_error, stop
        for index, item in feed:
            if stop:
                return
            with item_span(step.id, index, masks) as span:
                scope = {"item": item, "index": index}
                result = await _until(step, inputs, outputs, run_one, scope)
                settle(span, result)
            attempts += result.attempts
            if details:
                full[index] = result.model_dump(mode="json")
            if result.ok:
                succeeded += 1
                for name, value in result.outputs.items():
                    column = values.get(name)
                    if column is None:
                        column = values[name] = [None] * count
                    column[index] = value
                continue
            error = result.error or ErrorInfo(kind="remote", message="failed")
            failed.append({"index": index, "item": item, "error": error.model_dump(mode="json")})
            if first_error is None:
                first_error = error
            if not step.continue_on_error:
                stop = True

    workers = [asyncio.ensure_future(worker()) for _ in range(min(step.concurrency, count))]
    if workers:
        await asyncio.gather(*workers)
    failed.sort(key=lambda f: f["index"])
    body: dict[str, Any] = {
        "items": count,
        "succeeded": succeeded,
        "failed": failed,
        "not_run": count - succeeded - len(failed),
    }
    if details:
        body["results"] = full
    error = None
    if failed:
        assert first_error is not None
        first = failed[0]
        error = first_error.model_copy(
            update={
                "message": f"{len(failed)} of {count} items failed; item {first['index']}: "
                f"{first['error']['message']}",
                "field_path": f"steps.{step.id}[{first['index']}]",
            }
        )
    return TaskResult(
        ok=not failed,
        task=step.task,
        outputs=values,
        body=body,
        error=error,
        attempts=attempts,
        elapsed_ms=round((loop.time() - started) * 1000, 3),
    )


def render_workflow_outputs(
    workflow: Workflow, inputs: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, Any], str | None]:
    """The workflow's ``outputs`` rendered over the steps' outputs, and an error, if any."""
    if not workflow.outputs:
        return {}, None
    try:
        rendered = workflow.compiled_outputs().render(context_of(inputs, outputs), "outputs")
    except TemplateError as exc:
        return {}, exc.render()
    return dict(rendered), None
