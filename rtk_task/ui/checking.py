"""The playground's checks: the opened workflow with one step as edited, checked as ``check``.

:func:`edited_workflow` puts the step the form describes into the workflow (in place of the
step with its id, else at the end) as YAML text and loads it, so problems carry the file's
line numbers; nothing is written. :func:`checked` runs
:func:`rtk_task.workflows.check.check_workflow` on it, the same check ``rtk-task check`` and
``run`` make, and sorts its problems: those of the edited step's ``with`` (by the field path
inside ``with``, so the page puts each beside its field) and the rest, each with its
``FILE:LINE`` and the step it belongs to.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..workflows.check import check_workflow
from ..workflows.model import Workflow, parse_workflow

__all__ = ["Checked", "checked", "edited_workflow", "page_problem", "problems_of"]


def edited_workflow(file: Path, exists: bool, step: dict[str, Any]) -> Workflow:
    """The workflow in ``file`` (a new one if not ``exists``) with ``step`` put in, loaded.

    Structure is checked as the file loads (a :class:`~rtk_task.errors.WorkflowError`);
    references are left to :func:`checked`, which reports them all at once.
    """
    from ruamel.yaml import YAML

    if not exists:
        text = json.dumps({"name": file.stem or "playground", "steps": [step]}, indent=1)
        return parse_workflow(text, str(file), references=False)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    data = yaml.load(file.read_text(encoding="utf-8"))
    steps = data.setdefault("steps", []) if isinstance(data, dict) else None
    if not isinstance(steps, list):
        return parse_workflow(file.read_text(encoding="utf-8"), str(file), references=False)
    at = next((i for i, s in enumerate(steps) if _id(s) == step["id"]), None)
    if at is None:
        steps.append(step)
    else:
        steps[at] = step
    out = io.StringIO()
    yaml.dump(data, out)
    return parse_workflow(out.getvalue(), str(file), references=False)


def _id(step: Any) -> Any:
    return step.get("id") if isinstance(step, dict) else None


@dataclass
class Checked:
    """The check's problems, sorted for the page."""

    #: Problems of the edited step's ``with``: ``where`` is the path inside ``with``.
    fields: list[dict[str, str]] = field(default_factory=list)
    #: Every other problem: ``where`` is the full field path, ``at`` is ``FILE:LINE``.
    others: list[dict[str, str]] = field(default_factory=list)
    #: The edited step's fields only the run can know.
    deferred: list[dict[str, str]] = field(default_factory=list)


def checked(workflow: Workflow, inputs: dict[str, Any], step_id: str) -> Checked:
    """Check the whole workflow and sort what was found around step ``step_id``."""
    report = check_workflow(workflow, inputs)
    out = Checked()
    own = f"steps.{step_id}.with."
    for problem in report.problems:
        path, _, message = problem.message.partition(": ")
        if not message:
            path, message = "", problem.message
        if path.startswith(own):
            out.fields.append(page_problem(path.removeprefix(own), message, problem.hint))
        else:
            out.others.append({**page_problem(path, message, problem.hint), "at": problem.where})
    out.deferred = [
        {"field": d.field, "why": d.why}
        for d in report.deferred
        if d.field.startswith(f"steps.{step_id}.")
    ]
    return out


def page_problem(where: str, message: str, hint: str = "") -> dict[str, str]:
    """A problem as the page shows it."""
    return {"where": where, "message": message, "hint": hint}


def problems_of(problems: tuple[Problem, ...] | list[Problem]) -> list[dict[str, str]]:
    """Our errors' problems for the page (``where`` as they give it)."""
    return [page_problem(p.where, p.message, p.hint) for p in problems]
