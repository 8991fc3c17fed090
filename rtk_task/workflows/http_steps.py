"""Plain ``http`` steps of a workflow: their manifests, built when the file is loaded, and the
manifest a step whose URL's host is templated sends with, once rendered.

:func:`http_step_problems` builds a step's synthetic manifest (:mod:`rtk_task.manifests.http`)
and compiles its values in the shape the core reads; every problem names ``FILE:LINE`` and the
field path. A URL whose scheme and host are templated is accepted only when the workflow lists
``hosts:``; its origin is compiled on its own, and :func:`bound_manifest` renders it when the
step runs and refuses a host not in the list before anything is sent
(:func:`~rtk_task.manifests.http_origin.bind_origin`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import Problem, TemplateError
from ..manifests.http import HTTP_TASK, http_manifest
from ..manifests.http_origin import bind_origin
from .positions import line_of, path_of
from .render import CompiledValue, compile_value

if TYPE_CHECKING:
    from ..manifests.model import Manifest
    from .model import Step, Workflow

__all__ = ["Origin", "bound_manifest", "http_step_problems"]

_INPUT_REFERENCE = re.compile(r"^\{\{\s*inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
#: Bound manifests kept per workflow (one per step and rendered origin).
_KEPT = 256


@dataclass(frozen=True, slots=True)
class Origin:
    """A step's templated URL origin, compiled; ``bare``: the URL has no path after it."""

    compiled: CompiledValue
    bare: bool


def http_step_problems(
    workflow: Workflow, data: Any, file: str, i: int, step: Step
) -> list[Problem]:
    """Build an ``http`` step's manifest; its values are compiled in the core's shape."""
    problems: list[Problem] = []
    try:
        step.compiled_with()  # template syntax, reported where the user wrote it
    except TemplateError as exc:
        for p in exc.problems:
            leaf = ("steps", i, "with", *path_of(p.where, f"steps.{step.id}.with"))
            problems.append(
                Problem(f"{file}:{line_of(data, leaf)}", f"{p.where}: {p.message}", p.hint)
            )
        return problems

    def type_of(text: str) -> str | None:
        found = _INPUT_REFERENCE.match(text.strip())
        spec = workflow.inputs.get(found.group(1)) if found else None
        return spec.type if spec is not None else None

    plan = http_manifest(step.id, step.with_, workflow.secrets, type_of, workflow.hosts)
    for loc, message, hint in plan.problems:
        at = ("steps", i, "with", *loc)
        problems.append(
            Problem(f"{file}:{line_of(data, at)}", f"{workflow.field_path(at)}: {message}", hint)
        )
    if plan.manifest is not None:
        private = step.__pydantic_private__ or {}
        workflow._step_manifests[step.id] = plan.manifest
        private["_compiled_with"] = compile_value(plan.values, f"steps.{step.id}.with")
        if plan.origin is not None:
            compiled = compile_value(plan.origin, f"steps.{step.id}.with.url")
            private["_origin"] = Origin(compiled, plan.bare)
    return problems


def bound_manifest(workflow: Workflow, step: Step, context: Mapping[str, Any]) -> Manifest:
    """The manifest ``step`` is sent with: its task's; for an ``http`` step whose URL's host
    is templated, the one of its rendered origin, refused (a
    :class:`~rtk_task.errors.ConfigError`, nothing sent) unless the host is one of the
    workflow's ``hosts:``."""
    manifest = workflow.manifest(step)
    origin: Origin | None = (step.__pydantic_private__ or {}).get("_origin")
    if step.task != HTTP_TASK or origin is None:
        return manifest
    rendered = origin.compiled.render(context, f"steps.{step.id}.with.url")
    kept: dict[tuple[str, str], Manifest] = (workflow.__pydantic_private__ or {})["_bound"]
    key = (step.id, str(rendered))
    found = kept.get(key) if isinstance(rendered, str) else None
    if found is not None:
        return found
    bound = bind_origin(
        manifest, rendered, bare=origin.bare, hosts=workflow.hosts or (), step_id=step.id
    )
    if len(kept) >= _KEPT:
        kept.clear()
    kept[key] = bound
    return bound
