"""One step of a workflow, rendered and called: :class:`StepRun`, :func:`run_step`.

The context a step renders against is ``inputs``, ``secrets`` and ``steps.<id>.outputs`` of
the steps before it (and ``item``/``index`` for an item of a ``for_each``); a step's own
``outputs`` templates also see ``response`` (``status_code``, ``headers``, ``body``). Every call
keeps to the workflow's ``rate_limit`` (default: the provider's documented limits). Secrets are
resolved from the environment (trailing CR/LF stripped) and masked in every result;
:func:`start_step` is the one place a step is rendered, so a rendering error is masked the same
(token and secrets) by ``test``, ``run`` and every engine. An output template that fails after
the request was sent keeps the response (status, body) and says ``template``: the result still
shows that the request went out.
A step's call runs inside its span ``step ID`` when traces are on and the scheduler made none
(:mod:`rtk_task.tracing`: on a Temporal worker, under the activity's span).
Rendering needs no HTTP client: a dry run never imports httpx.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import Problem, RtkError, TemplateError, WorkflowError
from ..execute import RAW_BODY, RAW_REDACTOR, error_result
from ..result import ErrorInfo, TaskResult, unsealed
from ..secrets import Redactor
from ..tracing import active
from . import step_async, step_sync
from .http_steps import bound_manifest
from .model import Step, Workflow

if TYPE_CHECKING:
    import httpx

    from ..client import AsyncClient, Client
    from ..manifests.model import Manifest

__all__ = ["StepRun", "run_step", "run_step_async", "start_step", "step_redactor"]


class StepRun:
    """Everything one step needs, rendered; built before anything is sent."""

    __slots__ = (
        "_context",
        "inputs",
        "manifest",
        "redactor",
        "retry",
        "save_to",
        "secrets",
        "step",
        "timeout",
        "workflow",
    )

    def __init__(
        self,
        workflow: Workflow,
        step: Step,
        inputs: Mapping[str, Any],
        outputs: Mapping[str, Mapping[str, Any]],
        scope: Mapping[str, Any] | None = None,
    ) -> None:
        self.workflow = workflow
        self.step = step
        self.secrets = _secrets(workflow, step)
        self.redactor = Redactor(self.secrets.values())
        context = {
            "inputs": inputs,
            "secrets": self.secrets,
            "steps": {
                sid: {"outputs": unsealed(out, self.secrets)} for sid, out in outputs.items()
            },
            **(scope or {}),
        }
        self.inputs: dict[str, Any] = step.compiled_with().render(context, f"steps.{step.id}.with")
        #: what the step is sent with: a templated URL host is held to `hosts:` here
        self.manifest: Manifest = bound_manifest(workflow, step, context)
        self.timeout = _timeout(step)
        self.save_to = _save_to(step, context)
        self._context = context
        self.retry = step.retry or workflow.retry

    def call(self, client: Client) -> TaskResult:
        """Send the rendered step and add its outputs; a ``paginate`` step gathers every page.

        Inside the step's span (:func:`rtk_task.tracing.step_span`) when traces are on and the
        scheduler made none (the step runs out of its sight: a Temporal activity).
        :func:`rtk_task.workflows.step_sync.call`, generated from :meth:`acall`'s."""
        return step_sync.call(self, client)

    async def acall(self, client: AsyncClient) -> TaskResult:
        """:meth:`call` with ``await``: the same call, driven asynchronously
        (:func:`rtk_task.workflows.step_async.call`, the source of :meth:`call`'s)."""
        return await step_async.call(self, client)

    def _masks(self, client: Client | AsyncClient) -> tuple[Redactor, ...]:
        """What the step's span masks (only read when traces are on)."""
        return (self.redactor, client.redactor) if active() else ()

    @property
    def _index(self) -> int | None:
        index = self._context.get("index")
        return index if isinstance(index, int) else None

    def _refuse_paging(self, manifest: Manifest) -> TaskResult | None:
        """A workflow error for ``paginate: true`` on a task that does not page, else ``None``."""
        if not self.step.paginate:
            return None
        from ..paginate import paging_of

        if paging_of(manifest) is not None:
            return None
        problem = Problem(
            f"steps.{self.step.id}.paginate",
            f"{manifest.id} does not page",
            "paginate needs a list task with page and page-size parameters",
        )
        return error_result(manifest.id, WorkflowError(problem), self.redactor)

    def check_answer(self, result: TaskResult, raw: Mapping[str, Any]) -> TaskResult:
        """The result with the step's ``expect:`` lines checked on the final answer (the body
        as it came; the values shown masked); one that fails fails the step, kind
        ``expectation``. A call that got no answer is left as it is."""
        expect = self.step.expect
        if expect is None or result.status_code is None:
            return result
        if result.error is not None and result.error.kind != "http":
            return result  # no usable answer to judge (unreadable, or an output failed)
        from .expect import evaluate

        body = raw[RAW_BODY] if raw and RAW_BODY in raw else result.body
        lines = evaluate(expect, result.status_code, result.headers, body, result.elapsed_ms)
        shown = self._shown(raw).value(lines)
        failed = [line for line in shown if not line["ok"]]
        update: dict[str, Any] = {"expectations": shown}
        if failed and result.error is None:
            first = failed[0]
            update["ok"] = False
            update["error"] = ErrorInfo(
                kind="expectation",
                message=f"{len(failed)} of {len(shown)} expectations failed; "
                f"{first['expect']}: {first.get('why') or 'got ' + repr(first['actual'])}",
                field_path=f"steps.{self.step.id}.expect",
                status_code=result.status_code,
                hint="the request was sent and answered: it is not sent again",
            )
        return result.model_copy(update=update)

    def _shown(self, raw: Mapping[str, Any] | None) -> Redactor:
        """What masks values made from the answer as it came: the call's credential and
        every secret (the step's own redactor knows only the workflow's secrets)."""
        call = raw.get(RAW_REDACTOR) if raw else None
        return call.extend(self.secrets.values()) if isinstance(call, Redactor) else self.redactor

    def _seal(self, result: TaskResult, raw: Mapping[str, Any]) -> TaskResult:
        """The result with the names of the secrets its masked outputs stand for: each output
        whose value before masking is a secret's (``raw``: those outputs, before masking)."""
        if not raw or not self.secrets:
            return result
        names = {value: name for name, value in self.secrets.items()}
        sealed = {
            out: names[value]
            for out, value in raw.items()
            if isinstance(value, str) and value in names and out != RAW_BODY
        }
        if not sealed:
            return result
        return result.model_copy(update={"secret_outputs": {**result.secret_outputs, **sealed}})

    def add_outputs(self, result: TaskResult, raw: Mapping[str, Any] | None = None) -> TaskResult:
        """The result with the step's own outputs rendered over the response (its body as it
        came, ``raw``'s, when masking changed it: the outputs are masked after)."""
        if not (result.ok and self.step.outputs):
            return result
        context = {
            **self._context,
            "response": {
                "status_code": result.status_code,
                "headers": result.headers,
                "body": raw[RAW_BODY] if raw and RAW_BODY in raw else result.body,
            },
        }
        where = f"steps.{self.step.id}.outputs"
        try:
            extra = self.step.compiled_outputs().render(context, where)
            # an output must be plain JSON: it goes into results, records and later steps
            json.dumps(extra, allow_nan=False)
        except TemplateError as exc:
            shown = self._shown(raw)
            message, hint = shown.text(exc.render()), exc.first.hint
            return self._output_failed(result, message, exc.first.where, hint)
        except (TypeError, ValueError, RecursionError) as exc:
            message = self._shown(raw).text(f"{where}: an output is not a JSON value ({exc})")
            return self._output_failed(result, message, where, "make it a string or number")
        names = {value: name for name, value in self.secrets.items()}
        sealed = {
            out: names[value]
            for out, value in extra.items()
            if isinstance(value, str) and value in names
        }
        kept = {k: v for k, v in result.secret_outputs.items() if k not in extra}
        return result.model_copy(
            update={
                "outputs": {**result.outputs, **self._shown(raw).value(extra)},
                "secret_outputs": {**kept, **sealed},
            }
        )

    def _output_failed(
        self, result: TaskResult, message: str, where: str, hint: str | None
    ) -> TaskResult:
        """The sent call's result (status, body kept) failed by its outputs template."""
        return result.model_copy(
            update={
                "ok": False,
                "error": ErrorInfo(
                    kind="template",
                    message=self.redactor.text(message),
                    field_path=where,
                    hint=self.redactor.text(hint) if hint else None,
                ),
            }
        )


_Prepared = tuple[StepRun | None, TaskResult | None]


def start_step(
    workflow: Workflow,
    step: Step,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Mapping[str, Any]],
    scope: Mapping[str, Any] | None = None,
) -> _Prepared:
    """The rendered step, or the result of a step that cannot be rendered (nothing sent).

    The result's error masks the API token and every workflow secret, whoever shows it.
    """
    try:
        return StepRun(workflow, step, inputs, outputs, scope), None
    except RtkError as exc:
        return None, error_result(step.task, exc, step_redactor(workflow, step))


def step_redactor(workflow: Workflow, step: Step) -> Redactor:
    """What a step's output masks: its task's credential and the workflow's secrets."""
    from ..errors import ManifestError

    try:
        variables: tuple[str, ...] = workflow.manifest(step).auth.variables
    except (ManifestError, KeyError):
        variables = ()
    from ..secret_sources import read_secret

    return Redactor.from_env(variables, *(read_secret(s) for s in workflow.secrets.values()))


#: Render ``step`` (with ``scope``: ``item`` and ``index``) and call its task:
#: :meth:`~rtk_task.workflows.step_sync.StepRunner.run_step` (generated) on :func:`start_step`.
#: The runners' modules import nothing of this one (it imports them): rendering is passed in.
run_step = step_sync.StepRunner(start_step).run_step
#: :func:`run_step` with ``await``; a render that may block runs in a worker thread:
#: :meth:`~rtk_task.workflows.step_async.AsyncStepRunner.run_step_async`, the source of both.
run_step_async = step_async.AsyncStepRunner(start_step).run_step_async


def _secrets(workflow: Workflow, step: Step) -> dict[str, str]:
    """The secrets this workflow declares, each read from its source (the environment, a
    file, a Prefect block, the keyring); one this step uses and that has no value fails."""
    from ..secret_sources import describe, how_to_set, read_secret

    values: dict[str, str] = {}
    missing = []
    for name, source in workflow.secrets.items():
        value = read_secret(source)
        if value is None:
            missing.append((name, source))
        else:
            values[name] = value
    used = {c[1] for c in step.references() if c[0] == "secrets" and len(c) > 1}
    problems = [
        Problem(f"secrets.{name}", f"{describe(source)} has no value", how_to_set(source))
        for name, source in missing
        if name in used
    ]
    WorkflowError.collect(problems)
    return values


def _save_to(step: Step, context: Mapping[str, Any]) -> str | None:
    """The rendered ``save_to`` path: a non-empty text, or ``None`` (the body is parsed)."""
    if step.save_to is None:
        return None
    where = f"steps.{step.id}.save_to"
    path = step.compiled_save_to().render(context, where)
    if not isinstance(path, str) or not path.strip():
        problem = Problem(where, f"renders to {path!r}, not a file path", "name a file to write")
        raise WorkflowError(problem)
    return path


def _timeout(step: Step) -> httpx.Timeout | None:
    t = step.timeouts
    if t is None:
        return None
    import httpx  # here, not at the top: rendering a step (a dry run) needs no HTTP client

    return httpx.Timeout(t.read, connect=t.connect)
