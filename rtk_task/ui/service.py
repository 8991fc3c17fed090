"""What the playground does, without HTTP: find, read, preview, test, add, compare, run.

A :class:`Playground` holds one session's settings (the target base URL, live or emulator, the
workflow file opened) and answers the JSON API in plain dicts. It is a client of the same core
as the CLI: the whole-workflow check (:mod:`.checking`, over
:func:`rtk_task.workflows.check.check_workflow`) for every preview, Test request and Run;
:func:`rtk_task.execute.preview` for the request and the cURL text;
:class:`rtk_task.workflows.step.StepRun` and :class:`rtk_task.Client` for Test request
(recorded as ``test --step`` records it), or :func:`rtk_task.workflows.runner.run_workflow`
when the earlier steps are to run first; :func:`rtk_task.workflows.authoring.add_steps` for
Add to workflow; :class:`.stream.RunStream` for Run workflow; the editor's facts (the file's
content hash, dependants, output types and last values) from :func:`.editor.edit_facts`.
Nothing is sent while the check finds a problem in what would be sent. Every value it returns
has been through a :class:`Redactor` (the token and the workflow's secrets, read with
:func:`rtk_task.secrets.read_env`). It writes only the workflow file it was opened with (and
run records).
"""

from __future__ import annotations

import io
import json
import pprint
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError, Problem, RtkError, WorkflowError
from ..inputs import input_schema, validate_inputs
from ..manifests.model import INPUT_LOCATIONS, Location, Manifest
from ..manifests.registry import all_tasks, load_task
from ..providers import provider_for
from ..result import TaskResult
from ..secrets import Redactor, read_env
from ..workflows import records
from ..workflows.authoring import default_step_id
from ..workflows.editing import read_text
from ..workflows.model import Step, Workflow, load_workflow, parse_workflow
from .checking import checked, edited_workflow, page_problem, problems_of
from .editor import edit_facts
from .runs import compare_runs, runs_by_step
from .stream import RunStream

__all__ = ["ConfirmNeeded", "Playground"]

#: The emulator takes any token; this one is sent when the environment has none.
_EMULATOR_TOKEN = "rtk-playground-emulator"
_FLOW = ("depends_on", "for_each", "until", "when")


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
        emulator: Callable[[], str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.live = live
        #: The live API's base URL (``None``: the playground runs on its emulator only).
        self.live_url = base_url if live else None
        #: Starts the embedded emulator (once) and gives its base URL: the other target.
        self._emulator = emulator
        self.workflow_file = workflow_file.resolve() if workflow_file else None
        self.records_root = records_root or Path.cwd()

    def targets(self) -> dict[str, Any]:
        """Where requests go now, and whether the page may switch to the other target."""
        return {
            "live": self.live,
            "base_url": self.base_url,
            "can_switch": self.live_url is not None and self._emulator is not None,
        }

    def switch(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send to ``body["target"]`` (``"emulator"`` or ``"live"``) from now on. Going live
        needs ``"confirm": true``; recorded outputs are keyed by target, so ids from one are
        never sent to the other."""
        target = body.get("target")
        if target not in ("emulator", "live") or not self.targets()["can_switch"]:
            raise ConfigError(
                Problem("target", f"cannot switch to {target!r}", "start ui with --base-url URL")
            )
        if target == "live":
            if not body.get("confirm"):
                raise ConfirmNeeded(f"switch to the LIVE API at {self.live_url}")
            assert self.live_url is not None
            self.base_url, self.live = self.live_url, True
        else:
            assert self._emulator is not None
            self.base_url, self.live = self._emulator(), False
        return self.targets()

    def redactor(self) -> Redactor:
        """What every answer masks: every task's credentials and the opened workflow's
        secrets."""
        envs: list[str | None] = [*sorted({v for m in all_tasks() for v in m.auth.variables})]
        try:
            wf = self._open_workflow()
        except RtkError:
            wf = None
        if wf is not None:
            from ..secret_sources import read_secret

            return Redactor.from_env(envs, *(read_secret(s) for s in wf.secrets.values()))
        return Redactor.from_env(envs)

    # -- reading ----------------------------------------------------------------------------

    def tasks(self) -> list[dict[str, Any]]:
        """Every task, with its resource (the provider's) and what the search box matches."""
        out = []
        for m in all_tasks():
            names = [n for loc in Location for n in _names(m, loc)]
            out.append(
                {
                    "id": m.id,
                    "summary": m.summary,
                    "method": m.method,
                    "path": m.path,
                    "resource": provider_for(m.path).resource(m.id),
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
        """The opened workflow: inputs, secret names, steps with outputs, flow, recorded runs."""
        if self.workflow_file is None:
            return None
        if not self.workflow_file.exists():
            return {"file": str(self.workflow_file), "exists": False, "steps": [], "inputs": {}}
        text = read_text(self.workflow_file)  # the check reports references
        wf = parse_workflow(text, str(self.workflow_file), references=False)
        runs = runs_by_step(self.records_root, wf.file)
        view: dict[str, Any] = {
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
                    "flow": _flow(s),
                    "outputs": sorted({o.name for o in wf.manifest(s).outputs} | set(s.outputs)),
                    "runs": runs.get(s.id, []),
                }
                for s in wf.steps
            ],
        }
        return edit_facts(view, wf, text, self.records_root, self.redactor(), self.base_url)

    def compare(self, step_id: str, first: str, second: str) -> dict[str, Any]:
        """Two recorded results of one step of the opened workflow, side by side."""
        if self.workflow_file is None:
            raise ConfigError(Problem("workflow", "no workflow is open"))
        return compare_runs(self.records_root, str(self.workflow_file), step_id, first, second)

    # -- one step -----------------------------------------------------------------------------

    def preview(self, body: dict[str, Any]) -> dict[str, Any]:
        """The request a step would send, its copy-as texts, and every problem the check found:
        the step's beside its fields, the rest of the workflow's listed."""
        from ..execute import preview

        staged = self._stage(body)
        if "problems" in staged:
            return staged
        run, manifest = staged["run"], staged["manifest"]
        result, curl = preview(
            manifest, run.inputs, base_url=self.base_url, secrets=run.secrets.values()
        )
        redactor = self.redactor().extend(run.secrets.values())
        out: dict[str, Any] = {
            "ok": result.ok,
            "request": _dump(result)["request"],
            "used": staged["used"],
            "workflow_problems": staged["workflow_problems"],
            "deferred": staged["deferred"],
            "curl": curl,
            "python": _python(manifest.id, redactor.value(run.inputs), self.base_url),
            "yaml": _yaml(staged["step"]),
        }
        if not result.ok:
            out["problems"] = [_problem_of(result)]
        return redactor.value(out)  # type: ignore[no-any-return]

    def test(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send one step (Test request) and record it as ``test --step`` does; with
        ``"earlier": true``, run the steps it needs first instead of reusing their records."""
        from ..client import Client
        from ..errors import FileError

        earlier = bool(body.get("earlier"))
        staged = self._stage(body, earlier=earlier)
        if "problems" in staged:
            return {**staged, "sent": False}
        if earlier:
            return self._test_after_earlier(staged, bool(body.get("confirm")))
        run, manifest = staged["run"], staged["manifest"]
        if self.live and not manifest.idempotent and not body.get("confirm"):
            raise ConfirmNeeded(f"{manifest.method} {manifest.id} is not idempotent")
        credentials = self._credentials()
        redactor = self.redactor().extend([*run.redactor.values, *(credentials or {}).values()])
        record = self._test_record(staged, redactor, run.step.id)
        try:
            record.begin()  # nothing is sent without a record on disk first
            record.started(run.step.id, run.step.task)
        except FileError as exc:
            return {"ok": False, "problems": problems_of(exc.problems), "sent": False}
        with Client(base_url=self.base_url, credentials=credentials) as client:
            result = run.call(client)
            redactor = redactor.extend(client.redactor.values)
        if result.sent:
            record.finished(run.step.id, result)
            record.end(ok=result.ok)
        else:
            record.drop()  # nothing went out: nothing to keep
        return {
            "result": redactor.value(_dump(result)),
            "sent": result.sent,
            "used": staged["used"],
            "ran_first": {},
            "record": str(record.path) if result.sent else None,
        }

    def _test_record(
        self, staged: dict[str, Any], redactor: Redactor, step_id: str
    ) -> records.RunRecord:
        """The record of a Test request of ``step_id`` (written before anything is sent),
        keyed by this playground's target: its ids are reused only against the same one."""
        wf = staged["workflow"]
        return records.RunRecord(
            wf.file,
            wf.name,
            inputs=staged["inputs"],
            redactor=redactor,
            kind="test",
            root=self.records_root,
            step_id=step_id,
            target=self.base_url,
        )

    def _test_after_earlier(self, staged: dict[str, Any], confirm: bool) -> dict[str, Any]:
        """Run the steps ``staged``'s step needs (in order), then it, as one recorded run."""
        from ..workflows.model import parse_workflow
        from ..workflows.runner import run_workflow

        wf, step, wanted = staged["workflow"], staged["step"], staged["steps"]
        data = wf.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        data["steps"] = [s for s in data["steps"] if s["id"] in wanted]
        data.pop("outputs", None)  # the workflow's outputs may name steps not run here
        sub = parse_workflow(json.dumps(data), wf.file, references=False)
        risky = [s.id for s in sub.steps if not sub.manifest(s).idempotent]
        if self.live and risky and not confirm:
            raise ConfirmNeeded(f"steps {', '.join(risky)} are not idempotent")
        redactor = self.redactor()
        record = self._test_record(staged, redactor, step.id)
        record.begin()  # nothing is sent without a record
        done = run_workflow(
            sub,
            staged["inputs"],
            base_url=self.base_url,
            credentials=self._credentials(),
            on_start=lambda s: record.started(s.id, s.task),
            on_step=lambda s, r: record.finished(s.id, r),
        )
        record.end(ok=done.ok)
        result = done.steps[step.id]
        ran = {
            sid: {"ok": r.ok, "skipped": r.skipped, "status_code": r.status_code}
            for sid, r in done.steps.items()
            if sid != step.id
        }
        return redactor.value(  # type: ignore[no-any-return]
            {
                "result": _dump(result),
                "sent": result.sent,
                "used": {},
                "ran_first": ran,
                "record": str(record.path),
            }
        )

    # -- the workflow file --------------------------------------------------------------------

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        """Append the step, with the form's values, to the opened workflow (``add_steps``).

        A required field left empty becomes an earlier step's output of that name (the last
        step making it), else a workflow input (declared if new), as ``rtk-task add`` does.
        """
        from ..workflows.authoring import add_steps

        if self.workflow_file is None:
            raise ConfigError(
                Problem("workflow", "no workflow is open", "start: rtk-task ui --workflow FILE")
            )
        manifest = load_task(str(body.get("task", "")))
        given = body.get("with") or {}
        if not isinstance(given, dict):
            raise InputError(Problem("with", "must be an object"))
        with_ = {k: v for k, v in given.items() if v not in (None, "", [], {})}
        before = self._open_workflow()
        steps = before.steps if before is not None else []
        step_id = str(body.get("step_id") or default_step_id(manifest.id))
        if any(s.id == step_id for s in steps):
            raise WorkflowError(
                Problem("step_id", f"a step {step_id!r} exists already", "pick another step id")
            )
        produced = {
            name: s.id
            for s in steps
            for name in [*(o.name for o in before.manifest(s).outputs), *s.outputs]  # type: ignore[union-attr]
        }
        declared = set(before.inputs) if before is not None else set()
        inputs: dict[str, dict[str, Any]] = {}
        for loc in INPUT_LOCATIONS:
            for p in manifest.parameters.at(loc):
                if not p.required or p.name in with_:
                    continue
                if p.name in produced:  # chain: an earlier step makes this value
                    with_[p.name] = f"{{{{ steps.{produced[p.name]}.outputs.{p.name} }}}}"
                    continue
                with_[p.name] = f"{{{{ inputs.{p.name} }}}}"
                if p.name not in declared:
                    inputs[p.name] = {"type": p.type.value}
        step = {"id": step_id, "task": manifest.id, "with": with_}
        (added,) = add_steps(self.workflow_file, [step], inputs, {})
        return {"step_id": added, "workflow": self.workflow()}

    def start_run(self, body: dict[str, Any]) -> RunStream:
        """Check the whole workflow and write its record; the run itself starts when the
        returned stream is read. A problem raises (nothing sent), as ``rtk-task run``."""
        from ..workflows.check import check_workflow
        from ..workflows.records import RunRecord

        wf = self._open_workflow()
        if wf is None:
            raise WorkflowError(Problem("workflow", "no workflow with steps is open"))
        inputs = wf.resolve_inputs(_typed_inputs(wf, body.get("inputs")))
        check_workflow(wf, inputs).raise_for_problems()  # the whole workflow, before any request
        risky = [s.id for s in wf.steps if not wf.manifest(s).idempotent]
        if self.live and risky and not body.get("confirm"):
            raise ConfirmNeeded(f"steps {', '.join(risky)} are not idempotent")
        redactor = self.redactor()
        record = RunRecord(
            wf.file,
            wf.name,
            inputs=inputs,
            redactor=redactor,
            root=self.records_root,
            target=self.base_url,
        )
        record.begin()  # nothing is sent without a record: a FileError here sends nothing
        return RunStream(
            wf,
            inputs,
            base_url=self.base_url,
            credentials=self._credentials(),
            redactor=redactor,
            record=record,
        )

    # -- helpers ------------------------------------------------------------------------------

    def _credentials(self) -> dict[str, str] | None:
        """``None`` (the environment) for a live target; for the emulator, the emulated
        API's variables (from the environment, else a stand-in the emulator accepts) and no
        other provider's credential."""
        if self.live:
            return None
        from ..emulator import EMULATED_PROVIDER
        from ..providers import provider_named

        auth = provider_named(EMULATED_PROVIDER).auth
        return {env: read_env(env) or _EMULATOR_TOKEN for env in auth.variables}

    def _open_workflow(self) -> Workflow | None:
        if self.workflow_file is None or not self.workflow_file.exists():
            return None
        return load_workflow(self.workflow_file, references=False)

    def _stage(self, body: dict[str, Any], *, earlier: bool = False) -> dict[str, Any]:
        """The step as edited, checked with its workflow and rendered.

        ``{"problems": [...], ...}`` when something would stop it: a problem the check found
        in this step (or, with ``earlier``, in a step it needs), an input, or an earlier
        step's outputs missing from the records.
        """
        from ..workflows.records import latest_outputs
        from ..workflows.step import StepRun

        manifest = load_task(str(body.get("task", "")))
        with_ = body.get("with")
        if not isinstance(with_, dict):
            return {"ok": False, "problems": [page_problem("", "the inputs must be a JSON object")]}
        step_id = str(body.get("step_id") or default_step_id(manifest.id))
        file = self.workflow_file or self.records_root / "playground.yaml"
        data: dict[str, Any] = {"id": step_id, "task": manifest.id}
        try:
            current = self._open_workflow()
            if current is not None and any(
                s.id == step_id and s.task == manifest.id for s in current.steps
            ):
                data = current.step(step_id).model_dump(
                    mode="json", by_alias=True, exclude_defaults=True
                )
            data["with"] = with_
            wf = edited_workflow(file, file.exists(), data)
        except RtkError as exc:
            return {"ok": False, "problems": problems_of(exc.problems), "workflow_problems": []}
        step = wf.step(step_id)
        # the steps that would be sent: this one, and with `earlier` the ones it waits for
        sent = _before(wf, step) | {step.id} if earlier else {step.id}
        problems: list[dict[str, str]] = []
        used_inputs = {
            c[1]
            for s in wf.steps
            if s.id in sent
            for c in s.references()
            if c[0] == "inputs" and len(c) > 1
        }
        try:
            inputs = wf.resolve_inputs(_typed_inputs(wf, body.get("inputs")), only=used_inputs)
        except RtkError as exc:
            problems += problems_of(exc.problems)
            inputs = {}
        found = checked(wf, inputs, step.id)
        problems += found.fields
        mine = [p for p in found.others if p["where"].split(".")[:2] in _paths(sent)]
        others = [p for p in found.others if p not in mine]
        problems += mine
        outcome: dict[str, Any] = {"workflow_problems": others, "deferred": found.deferred}
        outputs: dict[str, dict[str, Any]] = {}
        used: dict[str, str] = {}
        if not earlier:
            recorded = latest_outputs(
                wf.file, set(step.needs), root=self.records_root, target=self.base_url
            )
            outputs = {sid: values for sid, (values, _) in recorded.items()}
            used = {sid: str(path) for sid, (_, path) in recorded.items()}
            for sid in sorted(set(step.needs) - set(recorded)):
                problems.append(
                    page_problem(
                        f"steps.{sid}",
                        f"step {sid} has no recorded outputs",
                        f"test {sid} first, or tick 'run the earlier steps first'",
                    )
                )
        if problems:
            return {"ok": False, "problems": problems, "used": used, **outcome}
        base = {"manifest": manifest, "workflow": wf, "step": step, "inputs": inputs}
        if earlier:
            return {**base, "steps": sent, "used": used, **outcome}
        try:
            run = StepRun(wf, step, inputs, outputs)
            validate_inputs(manifest, run.inputs)
        except RtkError as exc:
            prefix = f"steps.{step.id}.with."
            found_problems = [
                page_problem(p.where.removeprefix(prefix), p.message, p.hint) for p in exc.problems
            ]
            return {"ok": False, "used": used, "problems": found_problems, **outcome}
        return {**base, "run": run, "used": used, **outcome}


def _before(wf: Workflow, step: Step) -> set[str]:
    """Every step ``step`` waits for, directly or not."""
    by_id = {s.id: s for s in wf.steps}
    found: set[str] = set()
    todo = list(step.after)
    while todo:
        sid = todo.pop()
        if sid in found or sid not in by_id:
            continue
        found.add(sid)
        todo.extend(by_id[sid].after)
    return found


def _paths(step_ids: set[str]) -> list[list[str]]:
    return [["steps", sid] for sid in step_ids]


def _flow(step: Step) -> dict[str, Any]:
    """The step's ``depends_on``, ``for_each``, ``until`` and ``when``, those it has."""
    data = step.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return {k: data[k] for k in _FLOW if k in data}


def _names(m: Manifest, loc: Location) -> list[str]:
    return [path for p in m.parameters.at(loc) for path, _ in p.walk()]


def _problem_of(result: TaskResult) -> dict[str, str]:
    error = result.error
    assert error is not None
    return page_problem(error.field_path or "", error.message, error.hint or "")


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
        f"with rtk_task.Client(base_url={base_url!r}) as client:  # credentials: environment\n"
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
