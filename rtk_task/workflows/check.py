"""The whole workflow checked before its first request: every problem at once, with lines.

:func:`check_workflow` looks at every step without sending anything and reports, each with
``FILE:LINE``, the field path, what is wrong and a hint:

- every literal value against its task's manifest (unknown field with did-you-mean, type,
  enum, range, required fields, a header given as a field or a field given as a header),
  through the same pydantic validator a call uses (:func:`rtk_task.inputs.input_model`);
- every reference: declared inputs and secrets, earlier steps, outputs a step has (its
  manifest's ``outputs`` and its own ``outputs:``), ``response`` only in outputs,
  ``depends_on`` naming a step, no cycle;
- types through references: a value that is exactly one reference takes the type of what it
  names (a workflow input's declared type, an output's type from the manifest's
  ``response_schema``); mixed text is a string;
- a ``when:`` that is always false, and the steps that can never run because of it.

What only the run can know (a filter's result, an output without a schema) is left to run
time, and the report lists those fields (:attr:`CheckReport.deferred`). The check is linear
in the number of steps and parses the file again (for line numbers) only when it found a
problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from jinja2 import TemplateSyntaxError, nodes
from pydantic import ValidationError

from ..errors import Problem, RtkError, WorkflowError, did_you_mean
from ..inputs import _node, _problem, input_model
from ..manifests.model import Location, Manifest
from .model import Step, Workflow, leaves
from .render import attribute_chain, environment, references

__all__ = [
    "CheckReport",
    "Deferred",
    "Finding",
    "check_workflow",
    "reference_findings",
    "step_outputs",
]

#: Sample values standing for a value of a declared type (``None``: type unknown).
_SAMPLES: dict[str, Any] = {
    "string": "",
    "integer": 0,
    "number": 0.5,
    "boolean": False,
    "object": {},
    "array": [],
}
_PY_TYPES: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    dict: "object",
    list: "array",
}


class Finding(NamedTuple):
    """A problem at a location in the workflow file (``("steps", 1, "with", "x")``)."""

    loc: tuple[Any, ...]
    message: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Deferred:
    """A field whose value only the run knows, and why."""

    field: str
    why: str


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What :func:`check_workflow` found: ``problems`` (empty when clean) and ``deferred``."""

    file: str
    steps: int
    problems: tuple[Problem, ...]
    deferred: tuple[Deferred, ...]

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise one :class:`WorkflowError` holding every problem, if there is any."""
        WorkflowError.collect(self.problems)

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON."""
        return {
            "ok": self.ok,
            "file": self.file,
            "steps": self.steps,
            "problems": [
                {"where": p.where, "message": p.message, "hint": p.hint} for p in self.problems
            ],
            "deferred": [{"field": d.field, "why": d.why} for d in self.deferred],
        }


def check_workflow(
    workflow: Workflow,
    inputs: Mapping[str, Any] | None = None,
    *,
    steps: set[str] | None = None,
) -> CheckReport:
    """Check ``workflow`` (only the ``steps`` given, if any) without sending anything.

    With ``inputs`` (resolved, as :meth:`Workflow.resolve_inputs` gives them), a value that
    is exactly ``{{ inputs.X }}`` is checked as the value given; without, as its declared type.
    """
    findings = reference_findings(workflow, steps)
    findings.extend(_never_runs(workflow, steps))
    deferred: list[Deferred] = []
    for i, step in enumerate(workflow.steps):
        if (steps is None or step.id in steps) and step.task in workflow._manifests:
            findings.extend(_value_findings(workflow, i, step, inputs, deferred))
    # in file order: by step, then as found
    findings.sort(key=lambda f: f.loc[1] if len(f.loc) > 1 and isinstance(f.loc[1], int) else -1)
    problems = tuple(
        Problem(workflow.locate(f.loc), f"{workflow.field_path(f.loc)}: {f.message}", f.hint)
        for f in findings
    )
    return CheckReport(workflow.file, len(workflow.steps), problems, tuple(deferred))


# -- references -------------------------------------------------------------------------------


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
        for part, value in (("with", step.with_), ("outputs", step.outputs), ("when", when)):
            for leaf, text in leaves(value, ("steps", i, part)):
                found.extend(
                    Finding(leaf, message, hint)
                    for message, hint in _reference_problems(
                        workflow, i, position, text, part == "outputs"
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
    found.extend(_cycles(workflow, position, only))
    return found


def step_outputs(workflow: Workflow, step: Step) -> list[str]:
    """The outputs a step can have: its manifest's, then its own ``outputs:``."""
    manifest = workflow._manifests.get(step.task)
    names = [o.name for o in manifest.outputs] if manifest is not None else []
    return [*names, *(k for k in step.outputs if k not in names)]


def _reference_problems(
    workflow: Workflow, index: int, position: dict[str, int], value: str, is_outputs: bool
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


def _never_runs(workflow: Workflow, only: set[str] | None) -> list[Finding]:
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


class _Stand(NamedTuple):
    """What a templated leaf stands for: a sample of a type, or an unknown."""

    type: str | None  # None: unknown until run time
    source: str  # what it is read from, for messages
    why: str = ""


def _value_findings(
    workflow: Workflow,
    index: int,
    step: Step,
    given: Mapping[str, Any] | None,
    deferred: list[Deferred],
) -> list[Finding]:
    manifest = workflow.manifest(step)
    stands: dict[tuple[Any, ...], _Stand] = {}
    probe = _probe(workflow, index, step.with_, (), given, stands)
    root = ("steps", index, "with")
    for loc, stand in stands.items():
        if stand.type is None and stand.why:
            deferred.append(Deferred(workflow.field_path((*root, *loc)), stand.why))
    found = _wrong_location(manifest, probe, root)
    data = probe if isinstance(probe, dict) else {}
    headers = data.get("headers")
    if "headers" not in data:
        data = {**data, "headers": {}}
    elif isinstance(headers, dict) and manifest.parameters.header:
        known = {p.name.lower(): p.name for p in manifest.parameters.header}
        data = {
            **data,
            "headers": {known.get(str(k).lower(), k): v for k, v in headers.items()},
        }
    try:
        input_model(manifest).validate_python(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            stand_at = next((loc[:n] for n in range(len(loc), 0, -1) if loc[:n] in stands), None)
            if stand_at is not None and not _keep(manifest, err, stand_at, stands[stand_at]):
                continue
            problem = _problem(manifest, err)
            message = problem.message
            if stand_at is not None:
                stand = stands[stand_at]
                message += f" (got {stand.source}, a {stand.type})"
            found.append(Finding((*root, *loc), message, problem.hint))
    return found


def _keep(manifest: Manifest, err: Any, at: tuple[Any, ...], stand: _Stand) -> bool:
    """Whether an error at a stand-in is real: its name or its type, at the stand-in itself."""
    if err["type"] == "extra_forbidden":
        return True  # an unknown field is unknown whatever its value
    if stand.type is None or tuple(err["loc"]) != at:
        return False
    kind = str(err["type"])
    if kind == "literal_error":
        param = _node(manifest, at)
        sample = _SAMPLES[stand.type]
        return param is not None and not any(
            _same_type(value, sample) for value in param.enum or ()
        )
    return kind.endswith("_type") or kind in ("int_from_float", "none_required")


def _same_type(a: Any, b: Any) -> bool:
    kinds = (_PY_TYPES.get(type(a)), _PY_TYPES.get(type(b)))
    return kinds[0] == kinds[1] or set(kinds) == {"integer", "number"}


def _wrong_location(manifest: Manifest, probe: Any, root: tuple[Any, ...]) -> list[Finding]:
    """A header given among the fields, or a path/query/body field given as a header."""
    if not isinstance(probe, dict):
        return []
    found: list[Finding] = []
    header_names = {p.name.lower(): p.name for p in manifest.parameters.header}
    others = {
        p.name: loc.value
        for loc in (Location.PATH, Location.QUERY, Location.BODY)
        for p in manifest.parameters.at(loc)
    }
    for key in probe:
        name = header_names.get(str(key).lower())
        if name is not None and key not in others:
            found.append(
                Finding(
                    (*root, key),
                    f"{name} is a header, not a field",
                    f"give it under `headers:` ({name}: ...)",
                )
            )
    headers = probe.get("headers")
    if isinstance(headers, dict):
        for key in headers:
            if key in others and str(key).lower() not in header_names:
                found.append(
                    Finding(
                        (*root, "headers", key),
                        f"{key} is a {others[key]} parameter, not a header",
                        "give it beside the other fields, not under `headers:`",
                    )
                )
    return found


def _probe(
    workflow: Workflow,
    index: int,
    value: Any,
    at: tuple[Any, ...],
    given: Mapping[str, Any] | None,
    stands: dict[tuple[Any, ...], _Stand],
) -> Any:
    """``value`` with each template replaced by what it stands for (recorded in ``stands``)."""
    if isinstance(value, dict):
        return {k: _probe(workflow, index, v, (*at, k), given, stands) for k, v in value.items()}
    if isinstance(value, list):
        return [_probe(workflow, index, v, (*at, i), given, stands) for i, v in enumerate(value)]
    if not (isinstance(value, str) and leaves(value, ())):
        return value
    chain = _one_reference(value)
    if chain is False:
        stands[at] = _Stand("string", "text with a template")
        return _SAMPLES["string"]
    if chain is None:
        stands[at] = _Stand(None, value, "a computed value (a filter or an expression)")
        return None
    if given is not None and len(chain) == 2 and chain[0] == "inputs" and chain[1] in given:
        return given[chain[1]]  # the value itself: checked as a literal
    stand = _reference_type(workflow, index, chain)
    stands[at] = stand
    return None if stand.type is None else _SAMPLES[stand.type]


def _one_reference(text: str) -> tuple[str, ...] | Literal[False] | None:
    """The chain of a text that is exactly ``{{ a.b.c }}``; ``None`` for one computed
    expression; ``False`` for text around templates (it renders to a string)."""
    try:
        ast = environment().parse(text.strip())
    except TemplateSyntaxError:
        return None
    if len(ast.body) == 1 and isinstance(ast.body[0], nodes.Output):
        parts = ast.body[0].nodes
        if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
            return attribute_chain(parts[0])
    return False


def _reference_type(workflow: Workflow, index: int, chain: tuple[str, ...]) -> _Stand:
    source = "{{ " + ".".join(chain) + " }}"
    head = chain[0]
    if head == "inputs" and len(chain) == 2 and chain[1] in workflow.inputs:
        return _Stand(workflow.inputs[chain[1]].type, source)
    if head == "secrets" and len(chain) == 2:
        return _Stand("string", source)
    if head == "steps" and len(chain) == 4 and chain[2] == "outputs":
        target = next((s for s in workflow.steps[:index] if s.id == chain[1]), None)
        if target is not None:
            if chain[3] not in step_outputs(workflow, target):
                return _Stand(None, source)  # reported as a reference
            kind = _output_type(workflow, target, chain[3])
            why = "" if kind else f"{'.'.join(chain)} has no type in the manifest"
            return _Stand(kind, source, why)
    return _Stand(None, source, f"{'.'.join(chain)} is known only at run time")


def _output_type(workflow: Workflow, step: Step, name: str) -> str | None:
    """The type of one of a step's outputs, when its manifest's schema says it."""
    manifest = workflow._manifests.get(step.task)
    if manifest is None:
        return None
    if name in step.outputs:
        own = step.outputs[name]
        if not isinstance(own, str) or not leaves(own, ()):
            return _PY_TYPES.get(type(own))
        chain = _one_reference(own)
        if chain is False:
            return "string"
        if chain is None:
            return None
        if chain == ("response", "status_code"):
            return "integer"
        if chain[:2] == ("response", "body"):
            return _schema_type(manifest.response_schema, chain[2:])
        here = workflow.steps.index(step)
        return _reference_type(workflow, here, chain).type
    output = next((o for o in manifest.outputs if o.name == name), None)
    if output is None:
        return None
    return _schema_type(manifest.response_schema, tuple(output.path.split(".")))


def _schema_type(schema: Any, path: tuple[str, ...]) -> str | None:
    node = schema
    for part in path:
        if not isinstance(node, dict):
            return None
        if part.isdigit() and isinstance(node.get("items"), dict):
            node = node["items"]
        else:
            node = (node.get("properties") or {}).get(part)
    if not isinstance(node, dict):
        return None
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "properties" in node:
        kind = "object"
    return kind if kind in _SAMPLES else None
