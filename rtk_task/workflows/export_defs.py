"""What a step's own settings become in an exported engine's task: retries, timeouts, rate
limits. Each is kept, or refused with its field and the reason (never dropped in silence).

Conductor (an HTTP task's inline ``taskDefinition``, named after the step):

==========================  ===============================================================
rtk-task                    Conductor ``taskDefinition``
==========================  ===============================================================
``retry.max_attempts``      ``retryCount`` = attempts - 1; a step that is not idempotent
                            (a create) gets 0 like on every engine (Conductor would resend
                            it after any failure); ``retry:`` on such a step that asks for
                            more is refused
``retry.backoff``           1: ``FIXED``; 2: ``EXPONENTIAL_BACKOFF`` (Conductor doubles);
                            another factor is refused
``retry.initial_interval``  ``retryDelaySeconds`` (whole seconds, rounded up: never sooner)
``retry.max_interval``      ``maxRetryDelaySeconds`` (rounded up)
``retry.jitter``            ``backoffJitterMs`` (the jitter's share of the first delay)
``retry.deadline``          ``totalTimeoutSeconds`` (rounded up)
``timeout`` (connect/read)  ``timeoutSeconds`` = connect + read, ``responseTimeoutSeconds`` =
                            read (whole seconds, rounded up; at least 1)
``rate_limit``              ``rateLimitPerFrequency`` / ``rateLimitFrequencyInSeconds`` (the
                            workflow's, else the task's documented account limit); a window
                            under one second is refused (Conductor counts whole seconds)
==========================  ===============================================================

Conductor keeps a task definition's rate limit per definition; every exported HTTP task
carries the workflow's limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..manifests.model import Manifest
from ..policy import RetryPolicy
from ..providers.model import Auth, RateLimit
from .model import Step, Workflow

__all__ = ["auth_parts", "conductor_head", "conductor_task_def"]

#: Reports a refusal: (location in the file, message, hint).
Refuse = Callable[[tuple[Any, ...], str, str], None]

_LOGIC = {1.0: "FIXED", 2.0: "EXPONENTIAL_BACKOFF"}


def conductor_head(workflow: Workflow, owner_email: str) -> dict[str, Any]:
    """A Conductor ``WorkflowDef`` but its tasks: name, owner, inputs with types and defaults."""
    kinds = {"integer": "integer", "number": "number", "boolean": "boolean"}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            k: {
                "type": kinds.get(v.type, v.type),
                **({"default": v.default} if v.default is not None else {}),
                **({"description": v.description} if v.description else {}),
            }
            for k, v in workflow.inputs.items()
        },
        "required": [k for k, v in workflow.inputs.items() if v.is_required],
    }
    return {
        "name": workflow.name,
        "description": workflow.description,
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": owner_email,
        "inputParameters": list(workflow.inputs),
        # Conductor fills missing inputs from the template: the defaults go with them
        "inputTemplate": {
            k: v.default for k, v in workflow.inputs.items() if v.default is not None
        },
        "inputSchema": {"name": f"{workflow.name}-input", "type": "JSON", "data": schema},
    }


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


def conductor_task_def(
    workflow: Workflow, step: Step, manifest: Manifest, refuse: Refuse
) -> dict[str, Any]:
    """The ``taskDefinition`` of ``step``'s HTTP task."""
    index = workflow.steps.index(step)
    policy = step.retry or workflow.retry or RetryPolicy()
    attempts = policy.max_attempts
    if not manifest.idempotent:
        if step.retry is not None and step.retry.max_attempts > 1:
            refuse(
                ("steps", index, "retry", "max_attempts"),
                f"{manifest.id} creates something: Conductor would resend it after any "
                "failure, so it cannot be retried there",
                "drop retry from this step (rtk-task resends a create only when the server "
                "surely did not get it)",
            )
        attempts = 1
    where = ("steps", index, "retry") if step.retry is not None else ("retry",)
    logic = _LOGIC.get(policy.backoff)
    if logic is None and attempts > 1:
        refuse(
            (*where, "backoff"),
            f"backoff {policy.backoff:g} has no Conductor counterpart",
            "use backoff: 2 (Conductor's EXPONENTIAL_BACKOFF) or 1 (FIXED)",
        )
    timeouts = step.timeouts
    connect, read = (timeouts.connect, timeouts.read) if timeouts else (5.0, 10.0)
    definition: dict[str, Any] = {
        "name": step.id,
        "retryCount": attempts - 1,
        "retryLogic": logic or "FIXED",
        "retryDelaySeconds": _seconds(policy.initial_interval),
        "maxRetryDelaySeconds": math.ceil(policy.max_interval),
        "backoffJitterMs": round(policy.jitter * policy.initial_interval * 1000),
        "timeoutSeconds": _seconds(connect + read),
        "responseTimeoutSeconds": _seconds(read),
        "timeoutPolicy": "TIME_OUT_WF",
    }
    if policy.deadline is not None:
        definition["totalTimeoutSeconds"] = _seconds(policy.deadline)
    limit = _rate_limit(workflow, manifest)
    if limit is not None:
        if limit.per < 1:
            refuse(
                ("rate_limit",),
                f"a rate limit over {limit.per:g} s: Conductor counts whole seconds",
                "write it over one second or more (e.g. 25/1s for 250/10s)",
            )
        else:
            definition["rateLimitPerFrequency"] = limit.requests
            definition["rateLimitFrequencyInSeconds"] = math.ceil(limit.per)  # never looser
    return definition


def _rate_limit(workflow: Workflow, manifest: Manifest) -> RateLimit | None:
    """The limit a step's calls keep: the workflow's own, else the task's account limit."""
    setting = workflow.rate_limit
    if isinstance(setting, RateLimit):
        return setting
    if not setting:
        return None
    return next((r.limit for r in manifest.rate_limits if r.scope == "account"), None)


def auth_parts(auth: Auth, token: str) -> tuple[dict[str, str], dict[str, str], str | None]:
    """Where a task's credential goes in an exported HTTP task: ``(headers, query, None)``,
    or why it cannot be exported (``token`` is the engine's reference to the secret)."""
    if auth.type == "none" or not auth.env:
        return {}, {}, None
    if auth.type == "bearer":
        return {auth.header: f"Bearer {token}"}, {}, None
    if auth.type == "header":
        return {auth.header: auth.template.replace("{{ secret }}", token)}, {}, None
    if auth.type == "api_key":
        if auth.location == "query":
            return {}, {auth.name: token}, None
        if auth.location == "cookie":
            return {"Cookie": f"{auth.name}={token}"}, {}, None
        return {auth.name: token}, {}, None
    why = {
        "basic": "Basic auth needs base64 of user:password, which an HTTP task cannot compute",
        "oauth2": "an OAuth2 token must be fetched first, which an HTTP task cannot do",
    }
    return {}, {}, why.get(auth.type, f"{auth.type} auth has no counterpart")
