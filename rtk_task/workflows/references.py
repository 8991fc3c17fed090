"""References between the parts of a workflow, checked without sending anything.

Every ``inputs.X``, ``secrets.X`` and ``steps.S.outputs.O`` a template reads must name a
declared input, a declared secret, and an output of a step that runs earlier (its manifest's
``outputs`` and its own ``outputs:``); ``response`` exists only in a step's own outputs;
``depends_on`` names steps and makes no cycle; a ``when:`` that is always false makes its step
and the steps after it that read it never run. ``item`` and ``index`` exist only in a
``for_each`` step (not in its ``when``); ``response`` also in an ``until`` condition; the
workflow's ``outputs`` may read every step. Used when a workflow is loaded and by
:func:`rtk_task.workflows.check.check_workflow`; findings carry their location in the file so
the caller can add line numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import RtkError, did_you_mean
from .render import leaves, references

if TYPE_CHECKING:
    from .model import Step, Workflow

__all__ = ["Finding", "never_runs", "reference_findings", "step_outputs"]


class Finding(NamedTuple):
    """A problem at a location in the workflow file (``("steps", 1, "with", "x")``)."""

    loc: tuple[Any, ...]
    message: str
    hint: str = ""


def reference_findings(workflow: Workflow, only: set[str] | None = None) -> list[Finding]:
    """Every reference that cannot work: to an unknown, this or a later step, to an output a
    step does not have, to an undeclared input or secret, ``response`` outside outputs; a
    ``depends_on`` naming no step; a cycle. ``only`` limits it to those step ids."""
    found: list[Finding] = []
    position = {s.id: i for i, s in reversed(list(enumerate(workflow.steps)))}
    for i, step in enumerate(workflow.steps):
        if only is not None and step.id not in only:
            continue
        if not step.references() and not step.depends_on:
            continue
        when = step.when if isinstance(step.when, str) else ""
        parts: list[tuple[tuple[Any, ...], Any]] = [
            (("with",), step.with_),
            (("outputs",), step.outputs),
            (("when",), when),
            (("for_each",), step.for_each),
        ]
        if step.until is not None:
            parts.append((("until", "condition"), step.until.condition))
        for part, value in parts:
            item_scope = step.for_each is not None and part[0] not in ("when", "for_each")
            for leaf, text in leaves(value, ("steps", i, *part)):
                found.extend(
                    Finding(leaf, message, hint)
                    for message, hint in _reference_problems(
                        workflow, i, position, text, part[0] in ("outputs", "until"), item_scope
                    )
                )
        for j, target in enumerate(step.depends_on):
            if target == step.id or target not in position:
                ids = [s.id for s in workflow.steps if s.id != step.id]
                found.append(
                    Finding(
                        ("steps", i, "depends_on", j),
                        "a step cannot depend on itself"
                        if target == step.id
                        else f"unknown step {target!r}",
                        did_you_mean(target, ids) or f"steps: {', '.join(ids)}",
                    )
                )
    if only is None:
        for leaf, text in leaves(workflow.outputs, ("outputs",)):
            found.extend(
                Finding(leaf, message, hint)
                for message, hint in _reference_problems(
                    workflow, len(workflow.steps), position, text, False, False
                )
            )
    found.extend(_cycles(workflow, position, only))
    return found


def step_outputs(workflow: Workflow, step: Step) -> list[str]:
    """The outputs a step can have: its manifest's, then its own ``outputs:``."""
    manifest = workflow._manifests.get(step.task)
    names = [o.name for o in manifest.outputs] if manifest is not None else []
    return [*names, *(k for k in step.outputs if k not in names)]


def _reference_problems(
    workflow: Workflow,
    index: int,
    position: dict[str, int],
    value: str,
    is_outputs: bool,
    item_scope: bool = False,
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []

    def earlier() -> list[str]:
        return [s.id for s in workflow.steps[:index]]

    # keep the longest chain of each (root, name): `steps.a.outputs.x` over `steps.a`
    seen: set[tuple[str, ...]] = set()
    for chain in sorted(references(value), key=len, reverse=True):
        if chain[:2] in seen:
            continue
        seen.add(chain[:2])
        head = chain[0]
        if head == "steps" and len(chain) > 1:
            target = chain[1]
            at = position.get(target)
            if at is not None and at < index:
                if len(chain) > 2 and chain[2] != "outputs":
                    problems.append(
                        (
                            f"steps.{target}.{chain[2]}: steps expose only outputs",
                            f"steps.{target}.outputs.NAME",
                        )
                    )
                elif len(chain) > 3 and workflow.steps[at].task in workflow._manifests:
                    names = step_outputs(workflow, workflow.steps[at])
                    if chain[3] not in names:
                        problems.append(
                            (
                                f"steps.{target} has no output {chain[3]!r}",
                                did_you_mean(chain[3], names)
                                or f"outputs: {', '.join(names) or 'none'}",
                            )
                        )
                continue
            problems.append(
                (
                    f"steps.{target} is this step or a later one"
                    if at is not None
                    else f"unknown step {target!r}",
                    did_you_mean(target, earlier())
                    or "a step reads only the outputs of the steps before it",
                )
            )
        elif head == "inputs" and len(chain) > 1 and chain[1] not in workflow.inputs:
            problems.append(
                (
                    f"undeclared input {chain[1]!r}",
                    did_you_mean(chain[1], workflow.inputs) or "declare it under `inputs:`",
                )
            )
        elif head == "secrets" and len(chain) > 1 and chain[1] not in workflow.secrets:
            problems.append(
                (
                    f"undeclared secret {chain[1]!r}",
                    did_you_mean(chain[1], workflow.secrets)
                    or "declare it under `secrets:` as NAME: ENV_VAR",
                )
            )
        elif head in ("item", "index") and not item_scope:
            problems.append(
                (
                    f"`{head}` exists only in a for_each step's with, outputs and until",
                    'add for_each: "{{ inputs.LIST }}" to the step'
                    if index < len(workflow.steps)
                    else "read a for_each step's outputs (lists) instead",
                )
            )
        elif head == "response" and not is_outputs and len(chain) == 1:
            problems.append(
                ("`response` exists only in a step's outputs", "use it under `outputs:`")
            )
    return problems


def _cycles(workflow: Workflow, position: dict[str, int], only: set[str] | None) -> list[Finding]:
    """One finding per cycle through ``depends_on`` (references point only back)."""
    edges = {
        s.id: [
            d
            for d in (*s.depends_on, *sorted(s.needs))
            if d in position and d != s.id and (d in s.depends_on or position[d] < i)
        ]
        for i, s in enumerate(workflow.steps)
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found: list[Finding] = []
    for start, first in edges.items():
        if start in state:
            continue
        # iterative depth-first search: a long chain must not hit the recursion limit
        path: list[str] = [start]
        todo: list[list[str]] = [list(first)]
        state[start] = 1
        while path:
            if not todo[-1]:
                state[path.pop()] = 2
                todo.pop()
                continue
            nxt = todo[-1].pop(0)
            if state.get(nxt) == 1:
                loop = [*path[path.index(nxt) :], nxt]
                last = workflow.steps[position[loop[-2]]]
                if only is None or set(loop) & only:
                    at = position[last.id]
                    found.append(
                        Finding(
                            ("steps", at, "depends_on", last.depends_on.index(nxt))
                            if nxt in last.depends_on
                            else ("steps", at, "id"),
                            f"a cycle: {' -> '.join(reversed(loop))}",
                            "no step of a cycle can ever start: drop one depends_on",
                        )
                    )
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                todo.append(list(edges[nxt]))
    return found


def never_runs(workflow: Workflow, only: set[str] | None) -> list[Finding]:
    """Steps whose ``when`` is always false, and the steps that read their outputs."""
    found: list[Finding] = []
    never: dict[str, str] = {}  # step id -> why
    for i, step in enumerate(workflow.steps):
        reported = only is None or step.id in only
        if _always_false(step):
            never[step.id] = "its `when` is always false"
            if reported:
                found.append(
                    Finding(
                        ("steps", i, "when"),
                        f"always false: step {step.id} never runs",
                        "remove the step, or make `when` depend on an input",
                    )
                )
            continue
        blocked = sorted(d for d in step.needs if d in never)
        if blocked:
            never[step.id] = f"it reads the outputs of {blocked[0]}, which never runs"
            if reported:
                found.append(
                    Finding(
                        ("steps", i, "id"),
                        f"unreachable: {never[step.id]}",
                        f"step {blocked[0]}: {never[blocked[0]]}",
                    )
                )
    return found


def _always_false(step: Step) -> bool:
    if step.when is False:
        return True
    if not isinstance(step.when, str) or step.references():
        return False
    try:
        return not step.compiled_when().render({}, f"steps.{step.id}.when")
    except RtkError:
        return False


# -- values -----------------------------------------------------------------------------------
