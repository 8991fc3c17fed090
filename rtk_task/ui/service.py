"""What the playground does, without HTTP: find, read, preview, test, add, run.

A :class:`Playground` holds one session's settings (the target base URL, live or emulator, the
workflow file opened) and answers the JSON API in plain dicts. It is a client of the same core
as the CLI: :func:`rtk_task.execute.preview` for the preview and the cURL text,
:class:`rtk_task.workflows.step.StepRun` and :class:`rtk_task.Client` for Test request (recorded
with :func:`rtk_task.workflows.records.write_record`, as ``test --step`` does),
:func:`rtk_task.workflows.authoring.add_step` for Add to workflow and
:func:`rtk_task.workflows.runner.run_workflow` for Run workflow. Every value it returns has
been through a :class:`Redactor`: the token and secret values never leave this module.
It writes only the workflow file it was opened with (and run records).
"""

from __future__ import annotations

import io
import json
import os
import pprint
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError, Problem, RtkError, WorkflowError
from ..inputs import input_schema, validate_inputs
from ..manifests.model import Location, Manifest
from ..manifests.registry import all_tasks, load_task
from ..result import TaskResult
from ..secrets import Redactor
from ..workflows.authoring import default_step_id
from ..workflows.model import Step, Workflow, load_workflow
from .runs import runs_by_step, step_with_values

__all__ = ["ConfirmNeeded", "Playground"]

#: The emulator takes any token; this one is sent when the environment has none.
_EMULATOR_TOKEN = "rtk-playground-emulator"


class ConfirmNeeded(Exception):
    """A live call that is not idempotent and was not confirmed: nothing was sent."""


class Playground:
    """One playground session: the target, the workflow file, and where records go."""

    def __init__(
        self,
        *,
        base_url: str,
        live: bool,
        workflow_file: Path | None = None,
        records_root: Path | None = None,
    ) -> None:
        self.base_url = base_url
        self.live = live
        self.workflow_file = workflow_file.resolve() if workflow_file else None
        self.records_root = records_root or Path.cwd()

    # -- reading ----------------------------------------------------------------------------

    def tasks(self) -> list[dict[str, Any]]:
        """Every task, with what the search box matches on."""
        out = []
        for m in all_tasks():
            names = [n for loc in Location for n in _names(m, loc)]
            out.append(
                {
                    "id": m.id,
                    "summary": m.summary,
                    "method": m.method,
                    "path": m.path,
                    "resource": ".".join(m.id.split(".")[:-1]),
                    "params": names,
                }
            )
        return out

    def task(self, task_id: str) -> dict[str, Any]:
        """A task as the Read panel shows it, its input schema and its default step id."""
        m = load_task(task_id)
        params = []
        for loc in Location:
            for p in m.parameters.at(loc):
                for path, node in p.walk():
                    params.append(
                        {
                            "path": path,
                            "in": loc.value,
                            "type": node.type.value,
                            "required": node.required,
                            "description": node.description,
                            "default": node.default,
                            "enum": list(node.enum) if node.enum is not None else None,
                            "minimum": node.minimum,
                            "maximum": node.maximum,
                            "format": node.format,
                        }
                    )
        return {
            "id": m.id,
            "summary": m.summary,
            "description": m.description,
            "method": m.method,
            "path": m.path,
            "idempotent": m.idempotent,
            "params": params,
            "outputs": [{"name": o.name, "path": o.path} for o in m.outputs],
            "schema": input_schema(m),
            "step_id": default_step_id(m.id),
        }

    def workflow(self) -> dict[str, Any] | None:
        """The opened workflow: inputs, secret names, steps with outputs and recorded runs."""
        if self.workflow_file is None:
            return None
        if not self.workflow_file.exists():
            return {"file": str(self.workflow_file), "exists": False, "steps": [], "inputs": {}}
        wf = load_workflow(self.workflow_file)
        runs = runs_by_step(self.records_root, wf.file)
        return {
            "file": str(self.workflow_file),
            "exists": True,
            "name": wf.name,
            "inputs": {
                k: {"type": v.type, "default": v.default, "required": v.is_required}
                for k, v in wf.inputs.items()
            },
            "secrets": sorted(wf.secrets),
            "steps": [
                {
                    "id": s.id,
                    "task": s.task,
                    "with": s.with_,
                    "needs": sorted(s.needs),
                    "outputs": sorted({o.name for o in wf.manifest(s).outputs} | set(s.outputs)),
                    "runs": runs.get(s.id, []),
                }
                for s in wf.steps
            ],
        }

    # -- one step -----------------------------------------------------------------------------

    def preview(self, body: dict[str, Any]) -> dict[str, Any]:
        """The request a step would send, its copy-as texts, and every problem by field."""
        from ..execute import preview

        staged = self._stage(body)
        if "problems" in staged:
            return staged
        run, manifest = staged["run"], staged["manifest"]
        result, curl = preview(
            manifest, run.inputs, base_url=self.base_url, secrets=run.secrets.values()
        )
        redactor = _redactor(manifest, run.secrets.values())
        out: dict[str, Any] = {
            "ok": result.ok,
            "request": _dump(result)["request"],
            "used": staged["used"],
            "curl": curl,
            "python": _python(manifest.id, redactor.value(run.inputs), self.base_url),
            "yaml": _yaml(staged["step"]),
        }
        if not result.ok:
            out["problems"] = [_problem_of(result)]
        return out

    def test(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send one step (Test request) and record it as ``test --step`` does."""
        from ..client import Client
        from ..workflows.records import write_record

        staged = self._stage(body)
        if "problems" in staged:
            return {**staged, "sent": False}
        run, manifest, wf = staged["run"], staged["manifest"], staged["workflow"]
        if self.live and not manifest.idempotent and not body.get("confirm"):
            raise ConfirmNeeded(f"{manifest.method} {manifest.id} is not idempotent")
        with Client(base_url=self.base_url, token=self._token()) as client:
            result = run.call(client)
            redactor = run.redactor.extend(client.redactor.values)
        record = None
        if result.sent:
            record = write_record(
                wf.file,
                wf.name,
                {run.step.id: result},
                ok=result.ok,
                inputs=staged["inputs"],
                redactor=redactor,
                kind="test",
                root=self.records_root,
            )
        return {
            "result": _dump(result),
            "sent": result.sent,
            "used": staged["used"],
            "record": str(record) if record else None,
        }

    # -- the workflow file --------------------------------------------------------------------

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        """Append the step to the opened workflow with ``rtk-task add``'s code, then its values."""
        from ..workflows.authoring import add_step

        if self.workflow_file is None:
            raise ConfigError(
                Problem("workflow", "no workflow is open", "start: rtk-task ui --workflow FILE")
            )
        task = str(body.get("task", ""))
        with_ = body.get("with") or {}
        if not isinstance(with_, dict):
            raise InputError(Problem("with", "must be an object"))
        wanted = body.get("step_id") or None
        before = self._open_workflow()
        declared = set(before.inputs) if before is not None else set()
        step_id = add_step(self.workflow_file, task, wanted)
        after = load_workflow(self.workflow_file)
        step_with_values(self.workflow_file, step_id, with_, set(after.inputs) - declared)
        return {"step_id": step_id, "workflow": self.workflow()}

    def run(self, body: dict[str, Any]) -> dict[str, Any]:
        """Run every step of the opened workflow, record the run, return each step's result."""
        from ..workflows.records import write_record
        from ..workflows.runner import run_workflow

        wf = self._open_workflow()
        if wf is None or not wf.steps:
            raise WorkflowError(Problem("workflow", "no workflow with steps is open"))
        risky = [s.id for s in wf.steps if not wf.manifest(s).idempotent]
        if self.live and risky and not body.get("confirm"):
            raise ConfirmNeeded(f"steps {', '.join(risky)} are not idempotent")
        inputs = wf.resolve_inputs(_typed_inputs(wf, body.get("inputs")))
        token = self._token()
        done = run_workflow(wf, inputs, base_url=self.base_url, token=token)
        redactor = Redactor([token, *(os.environ.get(e) for e in wf.secrets.values())])
        path = write_record(
            wf.file,
            wf.name,
            done.steps,
            ok=done.ok,
            inputs=inputs,
            redactor=redactor,
            root=self.records_root,
        )
        return {"ok": done.ok, "steps": done.to_json()["steps"], "record": str(path)}

    # -- helpers ------------------------------------------------------------------------------

    def _token(self) -> str | None:
        token = os.environ.get("CLOUDFLARE_API_TOKEN")
        return token if self.live else (token or _EMULATOR_TOKEN)

    def _open_workflow(self) -> Workflow | None:
        if self.workflow_file is None or not self.workflow_file.exists():
            return None
        return load_workflow(self.workflow_file)

    def _stage(self, body: dict[str, Any]) -> dict[str, Any]:
        """Render the step from the form; ``{"problems": [...]}`` if anything is wrong."""
        from ..workflows.records import latest_outputs
        from ..workflows.step import StepRun

        manifest = load_task(str(body.get("task", "")))
        with_ = body.get("with")
        if not isinstance(with_, dict):
            return {"ok": False, "problems": [_p("", "the inputs must be a JSON object")]}
        wf = self._open_workflow()
        step_id = str(body.get("step_id") or default_step_id(manifest.id))
        data: dict[str, Any] = {"id": step_id, "task": manifest.id}
        if wf is not None and any(s.id == step_id and s.task == manifest.id for s in wf.steps):
            data = wf.step(step_id).model_dump(by_alias=True, exclude_defaults=True)
        data["with"] = with_
        try:
            step = Step.model_validate(data)
        except ValueError as exc:
            return {"ok": False, "problems": [_p("", str(exc).splitlines()[0])]}
        if wf is None:
            # tests of steps not yet added count for the workflow they will join
            file = str(self.workflow_file or self.records_root / "playground")
            wf = Workflow.model_validate({"name": "playground", "steps": [data]})
            wf._file = file
        wf._manifests.setdefault(manifest.id, manifest)
        problems: list[dict[str, str]] = []
        used_inputs = {c[1] for c in step.references() if c[0] == "inputs" and len(c) > 1}
        try:
            inputs = wf.resolve_inputs(_typed_inputs(wf, body.get("inputs")), only=used_inputs)
        except RtkError as exc:
            problems += [_p(p.where, p.message, p.hint) for p in exc.problems]
            inputs = {}
        found = latest_outputs(wf.file, set(step.needs), root=self.records_root)
        outputs = {sid: values for sid, (values, _) in found.items()}
        used = {sid: str(path) for sid, (_, path) in found.items()}
        for sid in sorted(set(step.needs) - set(found)):
            problems.append(
                _p(f"steps.{sid}", f"step {sid} has no recorded outputs", f"test {sid} first")
            )
        if problems:
            return {"ok": False, "problems": problems, "used": used}
        try:
            run = StepRun(wf, step, inputs, outputs)
            validate_inputs(manifest, run.inputs)
        except RtkError as exc:
            prefix = f"steps.{step.id}.with."
            found_problems = [
                _p(p.where.removeprefix(prefix), p.message, p.hint) for p in exc.problems
            ]
            return {"ok": False, "used": used, "problems": found_problems}
        return {
            "run": run,
            "manifest": manifest,
            "workflow": wf,
            "step": step,
            "inputs": inputs,
            "used": used,
        }


def _names(m: Manifest, loc: Location) -> list[str]:
    return [path for p in m.parameters.at(loc) for path, _ in p.walk()]


def _p(where: str, message: str, hint: str = "") -> dict[str, str]:
    return {"where": where, "message": message, "hint": hint}


def _problem_of(result: TaskResult) -> dict[str, str]:
    error = result.error
    assert error is not None
    return _p(error.field_path or "", error.message, error.hint or "")


def _redactor(manifest: Manifest, secrets: Any) -> Redactor:
    return Redactor([os.environ.get(manifest.auth.env), *secrets])


def _dump(result: TaskResult) -> dict[str, Any]:
    data: dict[str, Any] = result.model_dump(mode="json")
    return data


def _typed_inputs(wf: Workflow, given: Any) -> dict[str, Any]:
    """Workflow input values from the page's text fields, in their declared types."""
    if not isinstance(given, dict):
        return {}
    out: dict[str, Any] = {}
    problems = []
    for name, value in given.items():
        spec = wf.inputs.get(name)
        if spec is None or value in (None, ""):
            continue
        try:
            out[name] = spec.parse(value) if isinstance(value, str) else value
        except ValueError as exc:
            problems.append(Problem(f"inputs.{name}", str(exc)))
    WorkflowError.collect(problems)
    return out


def _python(task: str, inputs: Any, base_url: str) -> str:
    """The call as Python with :class:`rtk_task.Client` (token read from the environment)."""
    args = pprint.pformat(inputs, indent=4, width=88, sort_dicts=False)
    return (
        "import rtk_task\n\n"
        f"with rtk_task.Client(base_url={base_url!r}) as client:  # token: $CLOUDFLARE_API_TOKEN\n"
        f"    result = client.call(\n        {task!r},\n        "
        + args.replace("\n", "\n        ")
        + ",\n    )\n    print(result.ok, result.outputs)\n"
    )


def _yaml(step: Step) -> str:
    """The step as workflow YAML (templates kept as written)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    data = json.loads(json.dumps(step.model_dump(by_alias=True, exclude_defaults=True)))
    out = io.StringIO()
    yaml.dump([data], out)
    return out.getvalue()
