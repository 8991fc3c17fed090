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
- a ``when:`` that is always false, and the steps that can never run because of it;
- a ``for_each`` that is not a list (a literal, or one reference of another type); ``item``
  and ``index`` only inside a ``for_each`` step; a ``for_each`` step's outputs are lists.

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

from ..errors import Problem, WorkflowError
from ..inputs import _node, _problem, input_model
from ..manifests.model import Location, Manifest
from .model import Step, Workflow
from .references import Finding, never_runs, reference_findings, step_outputs
from .render import attribute_chain, environment, leaves

__all__ = [
    "CheckReport",
    "Deferred",
    "check_workflow",
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
    findings.extend(never_runs(workflow, steps))
    deferred: list[Deferred] = []
    for i, step in enumerate(workflow.steps):
        if (steps is None or step.id in steps) and step.task in workflow._manifests:
            findings.extend(_value_findings(workflow, i, step, inputs, deferred))
        if (steps is None or step.id in steps) and step.for_each is not None:
            findings.extend(_for_each_findings(workflow, i, step, inputs))
    # in file order: by step, then as found
    findings.sort(key=lambda f: f.loc[1] if len(f.loc) > 1 and isinstance(f.loc[1], int) else -1)
    problems = tuple(
        Problem(workflow.locate(f.loc), f"{workflow.field_path(f.loc)}: {f.message}", f.hint)
        for f in findings
    )
    return CheckReport(workflow.file, len(workflow.steps), problems, tuple(deferred))


# -- references -------------------------------------------------------------------------------


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


def _for_each_findings(
    workflow: Workflow, index: int, step: Step, given: Mapping[str, Any] | None
) -> list[Finding]:
    """A ``for_each`` that is surely not a list."""
    value = step.for_each
    kind: str | None = "array" if isinstance(value, list) else None
    source = "a literal"
    if isinstance(value, str):
        chain = _one_reference(value)
        if chain is False:
            kind, source = "string", "text with a template"
        elif chain:
            source = "{{ " + ".".join(chain) + " }}"
            if given is not None and chain[:1] == ("inputs",) and len(chain) == 2:
                found = given.get(chain[1])
                kind = _PY_TYPES.get(type(found)) if chain[1] in given else None
            else:
                kind = _reference_type(workflow, index, chain).type
    if kind is None or kind == "array":
        return []
    return [
        Finding(
            ("steps", index, "for_each"),
            f"for_each needs a list, got {source} (a {kind})",
            "give an array input, a list output of an earlier step, or a literal list",
        )
    ]


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
            if target.for_each is not None:
                return _Stand("array", source)  # one value per item, in item order
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
