"""Workflow files: the model, loading with line numbers, and checks before anything runs.

A workflow file (YAML or JSON, one model) declares inputs, secrets (names of environment
variables) and steps. Every problem names the file and line: bad YAML, an unknown field, an
unknown task, a duplicate step id, a reference to an unknown or later step or to an output
the step does not have, an undeclared input or secret, a ``depends_on`` naming no step or
closing a cycle. Each step's templates are compiled once, when the file is loaded. The
values themselves (against each task's manifest) are checked by :mod:`.check`.

Flow control (run by :mod:`.flow`): a step's ``for_each`` (a list; ``item`` and ``index`` in
its templates, at most ``concurrency`` items at once; its outputs become lists in item
order), ``until`` (repeat the call every ``interval`` s until ``condition`` holds, up to
``timeout``), the workflow's ``rate_limit`` (``{requests, per}``, ``false`` for none; default
the provider's documented limits) and its ``outputs`` (templates over steps' outputs).

A plain ``http`` step's manifest is built when the file loads (:mod:`.http_steps`); its URL's
scheme and host may be templated only when the workflow lists ``hosts:``, and the rendered
host is held to that list when the step runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from ..errors import ManifestError, Problem, TemplateError, WorkflowError, did_you_mean
from ..manifests.http import HTTP_TASK
from ..manifests.http_origin import check_host_entry
from ..manifests.model import Manifest
from ..manifests.registry import load_task
from ..policy import RetryPolicy
from ..ratelimit import RateLimit
from ..secret_sources import SecretSource
from .expect import Expect
from .http_steps import http_step_problems
from .positions import dotted
from .positions import line_of as _line
from .positions import path_of as _path_of
from .positions import plain as _plain
from .references import StepFacts, private, reference_findings, step_facts
from .render import CompiledValue, compile_value

__all__ = [
    "InputSpec",
    "Step",
    "Timeout",
    "Until",
    "Workflow",
    "dotted",
    "load_workflow",
    "parse_workflow",
]

_STEP_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


#: The most items a ``for_each`` may have unless its step says ``max_items``.
MAX_ITEMS = 100_000
#: A task id (``realtimekit.meetings.create``): what a worker accepts as ``task:``.
TASK_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


class _UserModel(BaseModel):
    # A user wrote it: a typo is an error, not a silent default.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class InputSpec(_UserModel):
    """A workflow input."""

    type: Literal["string", "integer", "number", "boolean", "object", "array"] = "string"
    default: Any = None
    description: str = ""
    required: bool | None = None

    @property
    def is_required(self) -> bool:
        """Required unless it has a default or says otherwise."""
        return self.required if self.required is not None else self.default is None

    def parse(self, text: str) -> Any:
        """A value given as text (``--input k=v``) in this input's type."""
        if self.type == "string":
            return text
        if self.type == "boolean" and text.lower() in ("true", "false", "1", "0", "yes", "no"):
            return text.lower() in ("true", "1", "yes")
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            raise ValueError(f"not a {self.type}: {text!r}") from None
        kinds = {
            "integer": int,
            "number": int | float,
            "object": dict,
            "array": list,
            "boolean": bool,
        }
        if (isinstance(value, bool) and self.type != "boolean") or not isinstance(
            value, kinds[self.type]
        ):
            raise ValueError(f"not a {self.type}: {text!r}")
        return value


class Timeout(_UserModel):
    """Per-step timeouts in seconds."""

    connect: float = Field(5.0, gt=0)
    read: float = Field(10.0, gt=0)


class Until(_UserModel):
    """Repeat a step's call until ``condition`` (a template over ``response``) is true."""

    condition: str
    #: Seconds between calls (at least 0.01: a poll, not a flood).
    interval: float = Field(2.0, ge=0.01, le=3600, allow_inf_nan=False)
    #: Seconds after the first call when waiting gives up (an error of kind ``timeout``; at
    #: most a day).
    timeout: float = Field(60.0, gt=0, le=86_400, allow_inf_nan=False)


class Step(_UserModel):
    """One step: a task called with templated inputs."""

    id: str
    task: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    outputs: dict[str, Any] = Field(default_factory=dict)
    timeout: float | Timeout | None = None
    description: str = ""
    #: A template; the step runs only when it renders truthy.
    when: str | bool | None = None
    #: Keep running the workflow when this step fails.
    continue_on_error: bool = False
    #: For list tasks: gather every page into one output list.
    paginate: bool = False
    max_pages: int | None = Field(None, ge=1)
    #: How failed attempts are retried (default: the workflow's ``retry``, then the client's).
    retry: RetryPolicy | None = None
    #: Steps that must finish first although no template reads their outputs.
    depends_on: tuple[str, ...] = ()
    #: Run the call once per element of this list (a template or a literal list).
    for_each: str | list[Any] | None = None
    #: How many items of a ``for_each`` run at once.
    concurrency: int = Field(4, ge=1, le=256)
    #: The most items a ``for_each`` may have (more is an error before any is sent).
    max_items: int = Field(MAX_ITEMS, ge=1, le=1_000_000)
    #: Repeat the call until a condition over the response holds.
    until: Until | None = None
    #: A download: a successful answer's body is written to this file (a template), not
    #: parsed; the outputs are ``file``, ``bytes`` and ``content_type``.
    save_to: str | None = None
    #: What a good answer is (status, body fields, headers, time): checked after the call.
    expect: Expect | None = None

    _compiled_with: CompiledValue | None = PrivateAttr(None)
    _compiled_outputs: CompiledValue | None = PrivateAttr(None)
    _compiled_when: CompiledValue | None = PrivateAttr(None)
    _facts: StepFacts | None = PrivateAttr(None)
    _compiled_for_each: CompiledValue | None = PrivateAttr(None)
    _compiled_until: CompiledValue | None = PrivateAttr(None)
    _compiled_save_to: CompiledValue | None = PrivateAttr(None)
    #: An ``http`` step's templated URL origin (:mod:`.http_steps`), else ``None``.
    _origin: Any = PrivateAttr(None)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _STEP_ID.match(value):
            raise ValueError("a step id is letters, digits and _ (templates read steps.<id>)")
        return value

    @property
    def needs(self) -> frozenset[str]:
        """Ids of the steps whose outputs this step reads."""
        return self.facts().needs

    @property
    def after(self) -> frozenset[str]:
        """Ids of the steps that must finish before this one: its ``needs`` and ``depends_on``."""
        return self.needs | frozenset(self.depends_on)

    @property
    def timeouts(self) -> Timeout | None:
        """The step's timeouts, a bare number meaning both."""
        if isinstance(self.timeout, int | float):
            return Timeout(connect=self.timeout, read=self.timeout)
        return self.timeout

    def compiled_with(self) -> CompiledValue:
        """The ``with`` values, compiled once."""
        if self._compiled_with is None:
            self._compiled_with = compile_value(self.with_, f"steps.{self.id}.with")
        return self._compiled_with

    def references(self) -> frozenset[tuple[str, ...]]:
        """Attribute chains its templates read (``("steps", "a", "outputs", "id")``)."""
        return self.facts().references

    def facts(self) -> StepFacts:
        """Its templated strings with what each reads, each parsed once (cached)."""
        attrs = private(self)  # not `self._facts`: pydantic's lookup costs more than a check
        facts = attrs["_facts"]
        if facts is None:
            facts = attrs["_facts"] = step_facts(self)
        return facts  # type: ignore[no-any-return]

    def compiled_when(self) -> CompiledValue:
        """The ``when`` condition, compiled once."""
        if self._compiled_when is None:
            self._compiled_when = compile_value(self.when, f"steps.{self.id}.when")
        return self._compiled_when

    def compiled_outputs(self) -> CompiledValue:
        """The step's own ``outputs`` templates, compiled once."""
        if self._compiled_outputs is None:
            self._compiled_outputs = compile_value(self.outputs, f"steps.{self.id}.outputs")
        return self._compiled_outputs

    def compiled_for_each(self) -> CompiledValue:
        """The ``for_each`` list, compiled once."""
        if self._compiled_for_each is None:
            self._compiled_for_each = compile_value(self.for_each, f"steps.{self.id}.for_each")
        return self._compiled_for_each

    def compiled_until(self) -> CompiledValue:
        """The ``until.condition``, compiled once."""
        if self._compiled_until is None:
            condition = self.until.condition if self.until else True
            self._compiled_until = compile_value(condition, f"steps.{self.id}.until.condition")
        return self._compiled_until

    def compiled_save_to(self) -> CompiledValue:
        """The ``save_to`` path, compiled once."""
        if self._compiled_save_to is None:
            self._compiled_save_to = compile_value(self.save_to, f"steps.{self.id}.save_to")
        return self._compiled_save_to


class Workflow(_UserModel):
    """A workflow file."""

    name: str
    description: str = ""
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    #: Secret name -> its source: an environment variable's name, or ``{file: PATH}``,
    #: ``{prefect_block: NAME}``, ``{keyring: SERVICE/NAME}`` (kept as one text each; see
    #: :mod:`rtk_task.secret_sources`).
    secrets: dict[str, SecretSource] = Field(default_factory=dict)
    #: The retry policy of every step that sets none.
    retry: RetryPolicy | None = None
    steps: list[Step] = Field(min_length=1)
    #: Client-side rate limit of every request of a run (``false``: none; default: the
    #: limits each task's provider documents).
    rate_limit: RateLimit | bool = True
    #: What a run returns: templates over ``inputs`` and ``steps.<id>.outputs``.
    outputs: dict[str, Any] = Field(default_factory=dict)
    #: The hosts an ``http`` step whose URL's scheme and host are templated may call
    #: (``host`` or ``host:port``; ``None``: such a URL is refused).
    hosts: tuple[str, ...] | None = None

    _file: str = PrivateAttr("<workflow>")
    _text: str | None = PrivateAttr(None)
    _positions: Any = PrivateAttr(None)
    _manifests: dict[str, Manifest] = PrivateAttr(default_factory=dict)
    #: Step id -> the synthetic manifest of an ``http`` step (each is its own).
    _step_manifests: dict[str, Manifest] = PrivateAttr(default_factory=dict)
    _compiled_outputs: CompiledValue | None = PrivateAttr(None)
    #: (step id, rendered URL origin) -> the manifest it is sent with (:mod:`.http_steps`).
    _bound: dict[tuple[str, str], Manifest] = PrivateAttr(default_factory=dict)

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for entry in value or ():
            why = check_host_entry(entry)
            if why is not None:
                raise ValueError(why)
        return tuple(entry.lower() for entry in value) if value is not None else None

    def compiled_outputs(self) -> CompiledValue:
        """The workflow's ``outputs`` templates, compiled once."""
        if self._compiled_outputs is None:
            self._compiled_outputs = compile_value(self.outputs, "outputs")
        return self._compiled_outputs

    @property
    def file(self) -> str:
        """Where it was loaded from."""
        return self._file

    def locate(self, loc: tuple[Any, ...]) -> str:
        """``FILE:LINE`` of the node at ``loc`` (``("steps", 2, "with", "x")``) in the file.

        The file is parsed again with positions the first time (only a file with a problem
        needs them); a workflow built in Python has no lines and gives just its name.
        """
        if self._text is None:
            return self.file
        if self._positions is None:
            from ruamel.yaml import YAML

            self._positions = YAML(typ="rt", pure=True).load(self._text)
        return f"{self.file}:{_line(self._positions, loc)}"

    def field_path(self, loc: tuple[Any, ...]) -> str:
        """``("steps", 2, "with", "x")`` as ``steps.<id of step 2>.with.x``."""
        if (
            len(loc) >= 2
            and loc[0] == "steps"
            and isinstance(loc[1], int)
            and loc[1] < len(self.steps)
        ):
            loc = ("steps", self.steps[loc[1]].id, *loc[2:])
        return dotted(loc)

    def definition(self) -> str:
        """The workflow as JSON text, as engines pass it around (secrets only as env names)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        return json.dumps(data, sort_keys=True)

    def step(self, step_id: str) -> Step:
        """A step by id, or a :class:`WorkflowError` with a did-you-mean."""
        for s in self.steps:
            if s.id == step_id:
                return s
        ids = [s.id for s in self.steps]
        raise WorkflowError(
            Problem(
                f"{self.file}",
                f"no step {step_id!r}",
                did_you_mean(step_id, ids) or f"steps: {', '.join(ids)}",
            )
        )

    def manifest(self, step: Step) -> Manifest:
        """The manifest of a step's task (loaded when the file was checked); an ``http``
        step's own synthetic one (:mod:`rtk_task.manifests.http`)."""
        if step.task == HTTP_TASK:
            return self._step_manifests[step.id]
        return self._manifests[step.task]

    def has_manifest(self, step: Step) -> bool:
        """Whether the step's task was found when the file was loaded."""
        if step.task == HTTP_TASK:
            return step.id in self._step_manifests
        return step.task in self._manifests

    def resolve_inputs(
        self, given: dict[str, Any], *, only: set[str] | None = None
    ) -> dict[str, Any]:
        """Given inputs with defaults filled; every missing or unknown one reported.

        With ``only``, just those inputs must be there (a single step's test).
        """
        problems = [
            Problem(
                f"inputs.{name}",
                "unknown input",
                did_you_mean(name, self.inputs) or f"inputs: {', '.join(self.inputs)}",
            )
            for name in given
            if name not in self.inputs
        ]
        values: dict[str, Any] = {}
        for name, spec in self.inputs.items():
            if name in given:
                values[name] = given[name]
            elif spec.default is not None:
                values[name] = spec.default
            elif spec.is_required and (only is None or name in only):
                problems.append(
                    Problem(f"inputs.{name}", "is required", f"pass --input {name}=VALUE")
                )
        WorkflowError.collect(problems)
        return values


def load_workflow(path: str | Path, *, references: bool = True) -> Workflow:
    """Read, parse and check a workflow file.

    With ``references=False`` only the structure is checked at load (the caller runs
    :func:`~rtk_task.workflows.check.check_workflow`, which reports references too).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(Problem(str(path), f"cannot read: {exc}")) from None
    return parse_workflow(text, str(path), references=references)


def parse_workflow(
    text: str, file: str = "<workflow>", *, references: bool = True, task_files: bool = True
) -> Workflow:
    """Parse and check workflow text; ``file`` names it in problems.

    With ``task_files=False`` (a worker reading a payload) a ``task:`` must be a task id: a
    file path is refused before anything is read, and the problem says nothing of the disk.
    """
    try:
        # the quick loader first: no comments, no positions (a valid file needs neither)
        return _parse(text, file, "safe", references, task_files)
    except WorkflowError:
        # again with positions, so that every problem names its line
        return _parse(text, file, "rt", references, task_files)


def _parse(
    text: str, file: str, loader: str, check_references: bool, task_files: bool = True
) -> Workflow:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    from .yamlfile import load_data

    try:
        data = load_data(text, file, loader)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise WorkflowError(
            Problem(
                f"{file}:{line}",
                f"not valid YAML: {exc.problem or exc.context}",
                'check indentation and quoting; templates need quotes: "{{ x }}"',
            )
        ) from None
    except YAMLError as exc:
        raise WorkflowError(Problem(file, f"not valid YAML: {exc}")) from None
    if not isinstance(data, dict):
        raise WorkflowError(
            Problem(f"{file}:1", "a workflow is a mapping", "start with `name:` and `steps:`")
        )
    try:
        workflow = Workflow.model_validate(_plain(data))
    except ValidationError as exc:
        raise WorkflowError(
            [
                Problem(
                    f"{file}:{_line(data, err['loc'])}",
                    f"{dotted(err['loc'])}: {err['msg']}",
                    _hint(err),
                )
                for err in exc.errors()
            ]
        ) from None
    workflow._file = file
    workflow._text = text
    if loader == "rt":
        workflow._positions = data
    _check(workflow, data, file, check_references, task_files)
    return workflow


def _check(
    workflow: Workflow, data: Any, file: str, check_references: bool, task_files: bool
) -> None:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, step in enumerate(workflow.steps):
        at = f"{file}:{_line(data, ('steps', i, 'id'))}"
        if step.id in seen:
            problems.append(
                Problem(
                    at, f"duplicate step id {step.id!r}", f"step {seen[step.id] + 1} has it already"
                )
            )
        seen.setdefault(step.id, i)
        if step.task == HTTP_TASK:
            problems.extend(http_step_problems(workflow, data, file, i, step))
        elif not task_files and not TASK_ID.match(step.task):
            problems.append(
                Problem(
                    f"{file}:{_line(data, ('steps', i, 'task'))}",
                    f"steps.{step.id}.task: a worker runs tasks by id, not from files",
                    "name a task id (`rtk-task list`) found in the worker's RTK_MANIFEST_PATH",
                )
            )
        else:
            try:
                workflow._manifests[step.task] = load_task(step.task)
            except ManifestError as exc:
                problems.append(
                    Problem(
                        f"{file}:{_line(data, ('steps', i, 'task'))}",
                        f"unknown task {step.task!r}",
                        exc.first.hint,
                    )
                )
        for part in ("with", "outputs", "when", "for_each", "until", "save_to"):
            if part == "with" and step.task == HTTP_TASK:
                continue  # compiled with its manifest
            try:
                getattr(step, f"compiled_{part}")()  # compiled_with, compiled_until...
            except TemplateError as exc:
                for p in exc.problems:
                    leaf = ("steps", i, part, *_path_of(p.where, f"steps.{step.id}.{part}"))
                    problems.append(
                        Problem(f"{file}:{_line(data, leaf)}", f"{p.where}: {p.message}", p.hint)
                    )
    try:
        workflow.compiled_outputs()
    except TemplateError as exc:
        for p in exc.problems:
            leaf = ("outputs", *_path_of(p.where, "outputs"))
            problems.append(Problem(f"{file}:{_line(data, leaf)}", p.where, p.hint))
    if check_references:
        problems.extend(
            Problem(
                f"{file}:{_line(data, f.loc)}", f"{workflow.field_path(f.loc)}: {f.message}", f.hint
            )
            for f in reference_findings(workflow)
        )
    WorkflowError.collect(problems)


def _hint(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        field = str(err["loc"][-1])
        loc = err["loc"]
        model: type[BaseModel] = Workflow
        if len(loc) >= 4 and loc[0] == "steps" and loc[2] == "retry":
            model = RetryPolicy
        elif len(loc) >= 4 and loc[0] == "steps" and loc[2] == "until":
            model = Until
        elif loc[0] == "steps" and len(loc) == 3:
            model = Step
        elif loc[0] == "inputs" and len(loc) == 3:
            model = InputSpec
        pool = [f.alias or name for name, f in model.model_fields.items()]
        return did_you_mean(field, pool) or f"allowed: {', '.join(pool)}"
    if err["type"] == "missing":
        return "add it"
    return ""
