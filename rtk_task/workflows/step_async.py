"""A workflow step called with the :class:`~rtk_task.client.AsyncClient`, and rendered first.

The source of :mod:`rtk_task.workflows.step_sync`, which ``scripts/unasync.py`` writes from this
file (see :mod:`rtk_task.client_async`): :meth:`StepRun.acall
<rtk_task.workflows.step.StepRun.acall>` is :func:`call` here and
:func:`~rtk_task.workflows.step.run_step_async` is :meth:`AsyncStepRunner.run_step_async`;
their sync twins are ``StepRun.call`` and ``run_step``, so a step's call is written once. Work
that may block the event loop (rendering templates) goes through
:func:`rtk_task.offload.off_loop`: in a worker thread unless it is light; the generated sync
code runs it in place (:func:`rtk_task.offload.in_place`).

This module imports nothing of :mod:`rtk_task.workflows.step` at run time (that one imports this
one): rendering a step, :func:`~rtk_task.workflows.step.start_step`, is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from ..offload import off_loop
from ..tracing import settle, step_span

if TYPE_CHECKING:
    from ..client import AsyncClient
    from ..result import TaskResult
    from .model import Step, Workflow
    from .step import StepRun

    #: :func:`~rtk_task.workflows.step.start_step`: the rendered step, or the result of a step
    #: that cannot be rendered.
    Start = Callable[
        [
            Workflow,
            Step,
            Mapping[str, Any],
            Mapping[str, Mapping[str, Any]],
            Mapping[str, Any] | None,
        ],
        tuple[StepRun | None, TaskResult | None],
    ]

__all__ = ["AsyncStepRunner", "call"]


async def call(run: StepRun, client: AsyncClient) -> TaskResult:
    """Send the rendered step and add its outputs; a ``paginate`` step gathers every page.

    Inside the step's span (:func:`rtk_task.tracing.step_span`) when traces are on and the
    scheduler made none (the step runs out of its sight: a Temporal activity)."""
    step = run.step
    with step_span(step.id, step.task, *run._masks(client), index=run._index) as span:
        result = await _send(run, client)
        settle(span, result)
        return result


async def _send(run: StepRun, client: AsyncClient) -> TaskResult:
    manifest = run.manifest
    refused = run._refuse_paging(manifest)
    if refused is not None:
        return refused
    raw: dict[str, Any] = {}
    result = await client.call(
        manifest,
        run.inputs,
        secrets=run.secrets.values(),
        timeout=run.timeout,
        retry=run.retry,
        paginate=run.step.paginate,
        max_pages=run.step.max_pages,
        rate_limit=run.workflow.rate_limit,
        save_to=run.save_to,
        raw_outputs=raw,
    )
    result = run._seal(result, raw)
    if result.ok and run.step.outputs:
        step = run.step  # its outputs are light (no thread hop) when they are look-ups alone
        result = await off_loop(lambda: step.compiled_outputs().light, run.add_outputs, result, raw)
    return run.check_answer(result, raw)


class AsyncStepRunner:
    """Renders a step with ``start`` and calls its task (``run_step_async``: in
    :mod:`rtk_task.workflows.step`, this class's method on ``start_step``)."""

    __slots__ = ("_start",)

    def __init__(self, start: Start) -> None:
        self._start = start

    async def run_step_async(
        self,
        client: AsyncClient,
        workflow: Workflow,
        step: Step,
        inputs: Mapping[str, Any],
        outputs: Mapping[str, Mapping[str, Any]],
        *,
        scope: Mapping[str, Any] | None = None,
    ) -> TaskResult:
        """Render ``step`` (with ``scope``: ``item`` and ``index``) and call its task.

        The render runs as :func:`rtk_task.offload.off_loop` says. It is light (never
        moved to a worker thread, whose hop costs a large ``for_each`` more than the render)
        when the step's templates are look-ups alone and its secrets are variables; any
        other render may run to its budget (2 s), or read a file or the keyring."""
        light = partial(_light, workflow, step)
        run, failed = await off_loop(light, self._start, workflow, step, inputs, outputs, scope)
        if run is None:
            assert failed is not None
            return failed
        return await call(run, client)


def _light(workflow: Workflow, step: Step) -> bool:
    """Whether starting ``step`` is cheap and cannot block: look-up templates, and secrets
    read from variables (a file, a Prefect block or the keyring is I/O)."""
    from ..secret_sources import is_variable

    sources = workflow.secrets.values()
    return (
        step.compiled_with().light
        and step.compiled_save_to().light
        and all(is_variable(source) for source in sources)
    )
