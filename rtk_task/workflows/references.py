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

Each template text is parsed once per process (:func:`analyse`, a bounded cache keyed by the
text) and each step keeps its templated leaves with what they read (:class:`StepFacts`,
cached on the step), so checking a workflow again parses nothing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from jinja2 import TemplateSyntaxError, nodes

from ..errors import RtkError, did_you_mean
from ..manifests.http import HTTP_TASK
from ..result import DOWNLOAD_OUTPUTS
from .render import attribute_chain, environment, leaves

if TYPE_CHECKING:
    from ..manifests.model import Manifest
    from .model import Step, Workflow

__all__ = [
    "Finding",
    "Leaf",
    "OneReference",
    "StepFacts",
    "analyse",
    "never_runs",
    "outputs_of",
    "private",
    "reference_findings",
    "step_facts",
    "step_outputs",
]

#: What a whole text stands for: the chain of exactly ``{{ a.b.c }}``; ``None`` for one
#: computed expression (a filter, arithmetic) or a syntax error; ``False`` for text around
#: templates (it renders to a string).
OneReference = tuple[str, ...] | Literal[False] | None


class Finding(NamedTuple):
    """A problem at a location in the workflow file (``("steps", 1, "with", "x")``)."""

    loc: tuple[Any, ...]
    message: str
    hint: str = ""


class Leaf(NamedTuple):
    """One templated string of a step: where it is, and what it reads."""

    part: Literal["with", "outputs", "when", "for_each", "until", "save_to"]
    at: tuple[Any, ...]  # the path inside ``part``
    text: str
    #: Every attribute chain the template reads (``("steps", "a", "outputs", "id")``).
    chains: frozenset[tuple[str, ...]]
    one: OneReference


@lru_cache(maxsize=8192)
def analyse(text: str) -> tuple[frozenset[tuple[str, ...]], OneReference]:
    """The chains a template text reads, and what the whole text stands for (parsed once)."""
    env = environment()
    try:
        ast = env.parse(text)
    except TemplateSyntaxError:
        return frozenset(), None  # reported when the value is compiled
    chains = frozenset(
        chain
        for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Name))
        if (chain := attribute_chain(node))
    )
    stripped = text.strip()
    if stripped != text:  # whitespace around one expression still renders it natively
        ast = env.parse(stripped)
    one: OneReference = False
    if len(ast.body) == 1 and isinstance(ast.body[0], nodes.Output):
        parts = ast.body[0].nodes
        if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
            one = attribute_chain(parts[0])
    return chains, one


def private(model: Workflow | Step) -> dict[str, Any]:
    """A model's private attributes (``_manifests``, ``_file``), read directly: pydantic's
    lookup of a private attribute costs more than a step's whole check."""
    return model.__pydantic_private__  # type: ignore[return-value]


def manifest_of(attrs: dict[str, Any], step: Step) -> Manifest | None:
    """The manifest of ``step`` from a workflow's private attributes (:func:`private`): its
    task's, or an ``http`` step's own; ``None`` for a task that was not found."""
    if step.task == HTTP_TASK:
        found: Manifest | None = attrs["_step_manifests"].get(step.id)
        return found
    return attrs["_manifests"].get(step.task)  # type: ignore[no-any-return]


class StepFacts:
    """What a step's templates read, worked out once per step (:meth:`Step.facts`)."""

    __slots__ = ("checked", "leaves", "needs", "reads", "references", "values")

    def __init__(self, leaves: tuple[Leaf, ...]) -> None:
        self.leaves = leaves
        #: The templated leaves of its ``with`` values.
        self.values = tuple(leaf for leaf in leaves if leaf.part == "with")
        #: Every attribute chain its templates read.
        self.references = frozenset(c for leaf in leaves for c in leaf.chains)
        #: Ids of the steps whose outputs it reads.
        self.needs = frozenset(c[1] for c in self.references if c[0] == "steps" and len(c) > 1)
        #: Per templated leaf with references: the chains to check, the longest of each
        #: ``(root, name)`` (``steps.a.outputs.x`` over ``steps.a``), in a stable order.
        self.reads = tuple((leaf, _longest(leaf.chains)) for leaf in leaves if leaf.chains)
        #: The last check of the step's values: (what it depended on, what it found).
        self.checked: tuple[Any, Any] | None = None


def _longest(chains: frozenset[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    seen: set[tuple[str, ...]] = set()
    kept: list[tuple[str, ...]] = []
    for chain in sorted(chains, key=lambda c: (-len(c), c)):
        if len(chain) == 1 and chain[0] not in ("response", "item", "index"):
            continue  # a bare name (`inputs`, `steps`) says nothing wrong by itself
        if chain[:2] not in seen:
            seen.add(chain[:2])
            kept.append(chain)
    return tuple(kept)


def step_facts(step: Step) -> StepFacts:
    """The :class:`StepFacts` of ``step``, its templated strings analysed."""
    when = step.when if isinstance(step.when, str) else ""
    until = {"condition": step.until.condition} if step.until is not None else {}
    parts: tuple[
        tuple[Literal["with", "outputs", "when", "for_each", "until", "save_to"], Any], ...
    ] = (
        ("with", step.with_),
        ("outputs", step.outputs),
        ("when", when),
        ("for_each", step.for_each),
        ("until", until),
        ("save_to", step.save_to or ""),
    )
    return StepFacts(
        tuple(
            Leaf(part, at, text, *analyse(text))
            for part, value in parts
            for at, text in leaves(value, ())
        )
    )


def reference_findings(workflow: Workflow, only: set[str] | None = None) -> list[Finding]:
    """Every reference that cannot work: to an unknown, this or a later step, to an output a
    step does not have, to an undeclared input or secret, ``response`` outside outputs; a
    ``depends_on`` naming no step; a cycle. ``only`` limits it to those step ids."""
    found: list[Finding] = []
    position = {s.id: i for i, s in reversed(list(enumerate(workflow.steps)))}
    reader = _Reader(workflow, position)
    for i, step in enumerate(workflow.steps):
        if only is not None and step.id not in only:
            continue
        for leaf, chains in step.facts().reads:
            # `item` and `index` exist in a for_each step's with, outputs and until
            item_scope = step.for_each is not None and leaf.part not in ("when", "for_each")
            response = leaf.part in ("outputs", "until")
            for chain in chains:
                problem = reader.problem(i, chain, response, item_scope)
                if problem is not None:
                    found.append(Finding(("steps", i, leaf.part, *leaf.at), *problem))
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
    if only is None:  # the workflow's own outputs read any step, after the run
        for at, text in leaves(workflow.outputs, ("outputs",)):
            for chain in _longest(analyse(text)[0]):
                problem = reader.problem(len(workflow.steps), chain, False, False)
                if problem is not None:
                    found.append(Finding(at, *problem))
    found.extend(_cycles(workflow, position, only))
    return found


def step_outputs(workflow: Workflow, step: Step) -> list[str]:
    """The outputs a step can have: its manifest's, then its own ``outputs:``."""
    return outputs_of(manifest_of(private(workflow), step), step)


def outputs_of(manifest: Manifest | None, step: Step) -> list[str]:
    """The outputs ``step`` can have with ``manifest`` (``None``: an unknown task)."""
    names = [o.name for o in manifest.outputs] if manifest is not None else []
    if step.save_to is not None:  # a download's outputs say where it went, not what it said
        names = list(DOWNLOAD_OUTPUTS)
    return [*names, *(k for k in step.outputs if k not in names)]


class _Reader:
    """Whether a chain can be read from a step: each chain that works is worked out once."""

    __slots__ = ("_attrs", "_fine", "_outputs", "position", "workflow")

    def __init__(self, workflow: Workflow, position: dict[str, int]) -> None:
        self.workflow = workflow
        self.position = position
        self._attrs = private(workflow)
        self._outputs: dict[int, list[str]] = {}  # step index -> its outputs
        # (chain, read from a later step, read in outputs) of the chains that work
        self._fine: set[tuple[tuple[str, ...], bool, bool, bool]] = set()

    def problem(
        self, index: int, chain: tuple[str, ...], is_outputs: bool, item_scope: bool = False
    ) -> tuple[str, str] | None:
        """What is wrong with reading ``chain`` in step ``index`` (``len(steps)``: the
        workflow's outputs): (message, hint), or None."""
        at = self.position.get(chain[1]) if chain[0] == "steps" and len(chain) > 1 else None
        key = (chain, at is not None and at < index, is_outputs, item_scope)
        if key in self._fine:
            return None
        problem = self._problem(index, chain, at, is_outputs, item_scope)
        if problem is None:
            self._fine.add(key)
        return problem

    def _problem(
        self, index: int, chain: tuple[str, ...], at: int | None, is_outputs: bool, item_scope: bool
    ) -> tuple[str, str] | None:
        workflow = self.workflow
        head = chain[0]
        if head == "steps" and len(chain) > 1:
            target = chain[1]
            if at is not None and at < index:
                if len(chain) > 2 and chain[2] != "outputs":
                    return (
                        f"steps.{target}.{chain[2]}: steps expose only outputs",
                        f"steps.{target}.outputs.NAME",
                    )
                found = manifest_of(self._attrs, workflow.steps[at]) if len(chain) > 3 else None
                if found is not None:
                    names = self._outputs.get(at)
                    if names is None:
                        step = workflow.steps[at]
                        names = outputs_of(found, step)
                        self._outputs[at] = names
                    if chain[3] not in names:
                        return (
                            f"steps.{target} has no output {chain[3]!r}",
                            did_you_mean(chain[3], names)
                            or f"outputs: {', '.join(names) or 'none'}",
                        )
                return None
            earlier = [s.id for s in workflow.steps[:index]]
            return (
                f"steps.{target} is this step or a later one"
                if at is not None
                else f"unknown step {target!r}",
                did_you_mean(target, earlier)
                or "a step reads only the outputs of the steps before it",
            )
        if head == "inputs" and len(chain) > 1 and chain[1] not in workflow.inputs:
            return (
                f"undeclared input {chain[1]!r}",
                did_you_mean(chain[1], workflow.inputs) or "declare it under `inputs:`",
            )
        if head == "secrets" and len(chain) > 1 and chain[1] not in workflow.secrets:
            return (
                f"undeclared secret {chain[1]!r}",
                did_you_mean(chain[1], workflow.secrets)
                or "declare it under `secrets:` as NAME: ENV_VAR",
            )
        if head in ("item", "index") and not item_scope:
            return (
                f"`{head}` exists only in a for_each step's with, outputs and until",
                'add for_each: "{{ inputs.LIST }}" to the step'
                if index < len(workflow.steps)
                else "read a for_each step's outputs (lists) instead",
            )
        if head == "response" and not is_outputs and len(chain) == 1:
            return ("`response` exists only in a step's outputs", "use it under `outputs:`")
        return None


def _cycles(workflow: Workflow, position: dict[str, int], only: set[str] | None) -> list[Finding]:
    """One finding per cycle through ``depends_on`` (references point only back)."""
    if len(position) == len(workflow.steps) and not any(s.depends_on for s in workflow.steps):
        return []  # every edge points to an earlier step: there is no cycle
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
        blocked = sorted(d for d in step.needs if d in never) if never else None
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
