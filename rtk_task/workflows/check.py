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
  and ``index`` only inside a ``for_each`` step; a ``for_each`` step's outputs are lists;
- a secret only whole, in a step's ``with:`` (:mod:`.secret_flow`).

What only the run can know (a filter's result, an output without a schema) is left to run
time, and the report lists those fields (:attr:`CheckReport.deferred`). The check is linear
in the number of steps and parses the file again (for line numbers) only when it found a
problem. Checking the same workflow again parses no template and reuses each step's last
value check when nothing it depends on (manifest, position, the values or types its
templates stand for) changed: cheap enough to run on every keystroke.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import ValidationError

from ..errors import InputError, Problem, WorkflowError
from ..inputs import _node, _problem, check_headers, input_model
from ..manifests.http import HTTP_TASK
from ..manifests.model import Location, Manifest
from .expect import schema_problems
from .model import Step, Workflow
from .references import (
    Finding,
    OneReference,
    analyse,
    manifest_of,
    never_runs,
    outputs_of,
    private,
    reference_findings,
)
from .render import MARKERS
from .secret_flow import secret_findings

__all__ = [
    "CheckReport",
    "Deferred",
    "check_workflow",
    "schema_at",
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
    findings.extend(secret_findings(workflow, steps))  # secrets only whole, in the request
    deferred: list[Deferred] = []
    scope = _Scope(workflow)
    for i, step in enumerate(workflow.steps):
        # an http step's values make its manifest (checked when the file loads): no more to do
        wanted = steps is None or step.id in steps
        if wanted and step.task != HTTP_TASK and scope.manifest(step) is not None:
            found, later = _value_findings(scope, i, step, inputs)
            findings.extend(found)
            deferred.extend(later)
        if wanted and step.for_each is not None:
            findings.extend(_for_each_findings(scope, i, step, inputs))
        if wanted and step.expect is not None and (manifest := scope.manifest(step)):
            findings.extend(
                Finding(("steps", i, "expect", "body", path), message, hint)
                for path, message, hint in schema_problems(step.expect, manifest.response_schema)
            )
    # in file order: by step, then as found
    findings.sort(key=lambda f: f.loc[1] if len(f.loc) > 1 and isinstance(f.loc[1], int) else -1)
    problems = tuple(
        Problem(workflow.locate(f.loc), f"{workflow.field_path(f.loc)}: {f.message}", f.hint)
        for f in findings
    )
    file: str = private(workflow)["_file"]
    return CheckReport(file, len(workflow.steps), problems, tuple(deferred))


# -- references -------------------------------------------------------------------------------


class _Stand(NamedTuple):
    """What a templated leaf stands for: a sample of a type, or an unknown."""

    type: str | None  # None: unknown until run time
    source: str  # what it is read from, for messages
    why: str = ""


_TEXT = _Stand("string", "text with a template")


class _Given(NamedTuple):
    """A leaf that is exactly ``{{ inputs.X }}`` with X given: checked as the value itself."""

    value: Any
    key: Any  # the value frozen (hashable, types kept), to compare checks


class _Scope:
    """What one check works out once for the whole workflow: positions, outputs, their types."""

    __slots__ = ("_attrs", "_names", "_stands", "_types", "position", "workflow")

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self._attrs = private(workflow)
        #: Each step id at its first position (a duplicate id is reported at load).
        self.position = {s.id: i for i, s in reversed(list(enumerate(workflow.steps)))}
        self._names: dict[int, frozenset[str]] = {}
        self._types: dict[tuple[int, str], str | None] = {}
        self._stands: dict[tuple[tuple[str, ...], bool], _Stand] = {}

    def manifest(self, step: Step) -> Manifest | None:
        """The manifest of ``step``, ``None`` when its task was not found."""
        return manifest_of(self._attrs, step)

    def stand(self, index: int, chain: tuple[str, ...]) -> _Stand:
        """What a reference from step ``index`` stands for, worked out once per chain."""
        target = self.position.get(chain[1]) if chain[0] == "steps" and len(chain) > 1 else None
        key = (chain, target is not None and target < index)
        stand = self._stands.get(key)
        if stand is None:
            stand = self._stands[key] = _reference_type(self, index, chain)
        return stand

    def outputs(self, index: int) -> frozenset[str]:
        """The outputs step ``index`` has."""
        names = self._names.get(index)
        if names is None:
            step = self.workflow.steps[index]
            names = frozenset(outputs_of(self.manifest(step), step))
            self._names[index] = names
        return names

    def output_type(self, index: int, name: str) -> str | None:
        """The type of output ``name`` of step ``index``, worked out once."""
        key = (index, name)
        if key not in self._types:
            self._types[key] = _output_type(self, index, name)
        return self._types[key]


def _value_findings(
    scope: _Scope, index: int, step: Step, given: Mapping[str, Any] | None
) -> tuple[list[Finding], list[Deferred]]:
    """The problems of a step's values, and the fields only the run knows.

    What it finds depends only on the manifest, the step's position and what each templated
    leaf stands for: the same as last time, the step's last answer is reused.
    """
    workflow = scope.workflow
    manifest = scope.manifest(step)
    assert manifest is not None  # only steps whose task was found are checked
    facts = step.facts()
    plan = [_stand_for(scope, index, leaf.one, leaf.text, given) for leaf in facts.values]
    key = (manifest, index, tuple(s.key if isinstance(s, _Given) else s for s in plan))
    last = facts.checked
    if last is not None and last[0] == key:
        found, later = last[1]
        return list(found), list(later)
    replaced: dict[tuple[Any, ...], Any] = {}
    stands: dict[tuple[Any, ...], _Stand] = {}
    for at, stand in zip((leaf.at for leaf in facts.values), plan, strict=True):
        if isinstance(stand, _Given):
            replaced[at] = stand.value
        else:
            stands[at] = stand
            replaced[at] = None if stand.type is None else _SAMPLES[stand.type]
    probe = _probe(step.with_, (), replaced) if replaced else step.with_
    root = ("steps", index, "with")
    later = [
        Deferred(workflow.field_path((*root, *at)), stand.why)
        for at, stand in stands.items()
        if stand.type is None and stand.why
    ]
    found = _wrong_location(manifest, probe, root)
    found.extend(_validation_findings(manifest, probe, root, stands))
    facts.checked = (key, (tuple(found), tuple(later)))
    return found, later


def _validation_findings(
    manifest: Manifest,
    probe: Any,
    root: tuple[Any, ...],
    stands: dict[tuple[Any, ...], _Stand],
) -> list[Finding]:
    """The manifest's validator run on ``probe``; errors at stand-ins only when they are real."""
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
    found: list[Finding] = []
    if isinstance(headers, dict) and headers:
        # the request builder's header rules (framing, names, auth's place): values a
        # template makes are checked when sent, names here
        named = {
            str(k): v if isinstance(v, str) and ("headers", k) not in stands else "x"
            for k, v in headers.items()
        }
        try:
            check_headers(named, manifest)
        except InputError as exc:
            found += [
                Finding((*root, *p.where.split(".", 1)), p.message, p.hint) for p in exc.problems
            ]
    try:
        input_model(manifest).validate_python(data)
    except ValidationError as exc:
        errors = exc.errors()
    else:
        return found
    for err in errors:
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
    scope: _Scope, index: int, step: Step, given: Mapping[str, Any] | None
) -> list[Finding]:
    """A ``for_each`` that is surely not a list, or has more items than ``max_items``."""
    value = step.for_each
    items = value if isinstance(value, list) else None
    if isinstance(value, str) and given is not None:
        chain = analyse(value)[1]
        if chain and chain[:1] == ("inputs",) and len(chain) == 2:
            found = given.get(chain[1])
            items = found if isinstance(found, list) else None
    if items is not None and len(items) > step.max_items:
        return [
            Finding(
                ("steps", index, "for_each"),
                f"for_each has {len(items):,} items, more than max_items ({step.max_items:,})",
                "split the list, or raise the step's max_items (at most 1,000,000)",
            )
        ]
    kind: str | None = "array" if isinstance(value, list) else None
    source = "a literal"
    if isinstance(value, str):
        chain = analyse(value)[1]
        if chain is False:
            kind, source = "string", "text with a template"
        elif chain:
            source = "{{ " + ".".join(chain) + " }}"
            if given is not None and chain[:1] == ("inputs",) and len(chain) == 2:
                found = given.get(chain[1])
                kind = _PY_TYPES.get(type(found)) if chain[1] in given else None
            else:
                kind = scope.stand(index, chain).type
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


def _probe(value: Any, at: tuple[Any, ...], replaced: dict[tuple[Any, ...], Any]) -> Any:
    """``value`` with the leaf at each path of ``replaced`` replaced by what it stands for."""
    if at in replaced:
        return replaced[at]
    if isinstance(value, dict):
        return {k: _probe(v, (*at, k), replaced) for k, v in value.items()}
    if isinstance(value, list):
        return [_probe(v, (*at, i), replaced) for i, v in enumerate(value)]
    return value


def _stand_for(
    scope: _Scope,
    index: int,
    one: OneReference,
    text: str,
    given: Mapping[str, Any] | None,
) -> _Stand | _Given:
    """What a templated leaf of step ``index`` stands for while checking."""
    if one is False:
        return _TEXT
    if one is None:
        return _Stand(None, text, "a computed value (a filter or an expression)")
    if given is not None and len(one) == 2 and one[0] == "inputs" and one[1] in given:
        value = given[one[1]]
        return _Given(value, _freeze(value))
    return scope.stand(index, one)


def _freeze(value: Any) -> Any:
    """``value`` as a hashable key that tells ``1``, ``1.0`` and ``True`` apart."""
    if isinstance(value, dict):
        return ("{", tuple((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("[", tuple(_freeze(v) for v in value))
    return (type(value), value) if value.__hash__ is not None else (type(value), repr(value))


def _reference_type(scope: _Scope, index: int, chain: tuple[str, ...]) -> _Stand:
    workflow = scope.workflow
    source = "{{ " + ".".join(chain) + " }}"
    head = chain[0]
    if head == "inputs" and len(chain) == 2 and chain[1] in workflow.inputs:
        return _Stand(workflow.inputs[chain[1]].type, source)
    if head == "secrets" and len(chain) == 2:
        return _Stand("string", source)
    if head == "steps" and len(chain) == 4 and chain[2] == "outputs":
        target = scope.position.get(chain[1])
        if target is not None and target < index:
            if chain[3] not in scope.outputs(target):
                return _Stand(None, source)  # reported as a reference
            if scope.workflow.steps[target].for_each is not None:
                return _Stand("array", source)  # one value per item, in item order
            kind = scope.output_type(target, chain[3])
            why = "" if kind else f"{'.'.join(chain)} has no type in the manifest"
            return _Stand(kind, source, why)
    return _Stand(None, source, f"{'.'.join(chain)} is known only at run time")


def _output_type(scope: _Scope, index: int, name: str) -> str | None:
    """The type of one of a step's outputs, when its manifest's schema says it."""
    step = scope.workflow.steps[index]
    manifest = scope.manifest(step)
    if manifest is None:
        return None
    if name in step.outputs:
        own = step.outputs[name]
        if not isinstance(own, str) or not any(m in own for m in MARKERS):
            return _PY_TYPES.get(type(own))
        chain = analyse(own)[1]
        if chain is False:
            return "string"
        if chain is None:
            return None
        if chain == ("response", "status_code"):
            return "integer"
        if chain[:2] == ("response", "body"):
            return _schema_type(manifest.response_schema, chain[2:])
        return _reference_type(scope, index, chain).type
    output = next((o for o in manifest.outputs if o.name == name), None)
    if output is None:
        return None
    return _schema_type(manifest.response_schema, tuple(output.path.split(".")))


def schema_at(schema: Any, path: Iterable[str]) -> dict[str, Any] | None:
    """The JSON Schema node a response path (``data.items.0.id``) leads to, if it has one:
    a name is a property, a number an array's item."""
    node = schema
    for part in path:
        if not isinstance(node, dict):
            return None
        if part.isdigit() and isinstance(node.get("items"), dict):
            node = node["items"]
        else:
            node = (node.get("properties") or {}).get(part)
    return node if isinstance(node, dict) else None


def _schema_type(schema: Any, path: tuple[str, ...]) -> str | None:
    node = schema_at(schema, path)
    if node is None:
        return None
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "properties" in node:
        kind = "object"
    return kind if kind in _SAMPLES else None
