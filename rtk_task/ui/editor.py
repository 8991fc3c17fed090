"""The playground's workflow editor: its JSON routes and what the page needs to edit.

Every route is a ``POST`` under ``/api/edit/`` (so behind the same CSRF token and ``Origin``
check as the rest) taking the content hash of the file the page last showed (``hash``, from
the workflow view). Each asks :mod:`rtk_task.workflows.editing` for one change, which is
checked before it is written and refused when the file changed on disk since (``409`` with
``"conflict": true``: the page offers to reload) or when it brings a problem (``400`` naming
the field, nothing written). Each answers the new workflow view. ``/api/edit/import-curl``
makes a step of a pasted cURL command with the CLI's importer
(:func:`~rtk_task.workflows.imports.curl.parse_curl`,
:func:`~rtk_task.workflows.imports.request_step`); a credential in it becomes a declared
secret, its value never written nor sent back.

:func:`edit_facts` adds to the workflow view what the editor reads: the hash, the secrets'
variables, and per step its editable keys, its dependants, and the type and last recorded
value of each output (never a secret's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, Problem, RtkError, WorkflowError
from ..secrets import Redactor
from ..workflows import editing
from ..workflows.check import schema_at
from ..workflows.model import InputSpec, Workflow

if TYPE_CHECKING:
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from .service import Playground

__all__ = ["ADVANCED", "edit_facts", "editor_routes", "step_fields"]

#: The step keys the page's "advanced" section edits (with ``outputs``).
ADVANCED = ("when", "for_each", "until", "depends_on", "retry")
_BODY = re.compile(r"^\{\{\s*response\.body\.([A-Za-z0-9_.]+)\s*\}\}$")


def edit_facts(
    view: dict[str, Any],
    wf: Workflow,
    text: str,
    root: Path,
    redactor: Redactor,
    target: str = "",
) -> dict[str, Any]:
    """``view`` (the playground's workflow view) with the editor's facts added (the last
    values recorded against ``target``)."""
    from ..result import SEALED
    from ..workflows.records import latest_outputs

    recorded = latest_outputs(wf.file, {s.id for s in wf.steps}, root=root, target=target)
    view["hash"] = editing.text_hash(text)
    view["secret_env"] = dict(wf.secrets)
    by_id = {s["id"]: s for s in view["steps"]}
    for step in wf.steps:
        data = step.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        values, _ = recorded.get(step.id, ({}, None))
        sealed = values.get(SEALED)
        hidden = set(sealed) if isinstance(sealed, dict) else set()
        by_id[step.id].update(
            {
                "fields": {k: data[k] for k in ("outputs", *ADVANCED) if k in data},
                "dependants": [s.id for s in wf.steps if s.id != step.id and step.id in s.after],
                "output_types": {
                    name: _output_type(wf, step, name) for name in by_id[step.id]["outputs"]
                },
                "recorded": redactor.value(
                    {k: v for k, v in values.items() if k != SEALED and k not in hidden}
                ),
            }
        )
    return view


def _output_type(wf: Workflow, step: Any, name: str) -> str | None:
    """An output's type, when the manifest's response schema says it."""
    if step.for_each is not None:
        return "array"
    manifest = wf.manifest(step) if wf.has_manifest(step) else None
    if manifest is None:
        return None
    if name in step.outputs:
        own = step.outputs[name]
        if not isinstance(own, str):
            return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(own))
        if re.fullmatch(r"\{\{\s*response\.status_code\s*\}\}", own):
            return "integer"
        found = _BODY.match(own)
        return _schema_type(manifest.response_schema, found.group(1)) if found else None
    output = next((o for o in manifest.outputs if o.name == name), None)
    return _schema_type(manifest.response_schema, output.path) if output else None


def _schema_type(schema: Any, path: str) -> str | None:
    node = schema_at(schema, path.split("."))
    kind = node.get("type") if node is not None else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


# -- what the page sends ------------------------------------------------------------------------


def step_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The keys a Save sets: ``with`` (an object), ``outputs`` (``name: template`` lines) and
    the advanced keys as the page's text fields hold them; an empty field removes its key."""
    fields: dict[str, Any] = {}
    if "with" in body:
        if not isinstance(body["with"], dict):
            raise WorkflowError(Problem("with", "must be an object"))
        fields["with"] = body["with"]
    advanced = body.get("advanced")
    if advanced is None:
        return fields
    if not isinstance(advanced, dict):
        raise WorkflowError(Problem("advanced", "must be an object"))
    text = {k: str(v).strip() for k, v in advanced.items() if isinstance(v, str | int | float)}
    if "outputs" in text:
        fields["outputs"] = _outputs(text["outputs"]) or None
    if "when" in text:
        fields["when"] = text["when"] or None
    if "for_each" in text:
        value = text["for_each"]
        fields["for_each"] = _json(value, "for_each", list) if value.startswith("[") else value
        fields["for_each"] = fields["for_each"] or None
    if "depends_on" in text:
        fields["depends_on"] = [n for n in re.split(r"[\s,]+", text["depends_on"]) if n] or None
    if "retry" in text:
        fields["retry"] = _json(text["retry"], "retry", dict) if text["retry"] else None
    if "until" in text:
        fields["until"] = None
        if text["until"]:
            until: dict[str, Any] = {"condition": text["until"]}
            for key in ("interval", "timeout"):
                given = text.get(f"until_{key}", "")
                if given:
                    until[key] = _json(given, f"until.{key}", int | float)
            fields["until"] = until
    return fields


def _outputs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()):
            raise WorkflowError(
                Problem("outputs", f"line {n}: not `name: template`", "token: {{ response... }}")
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[name.strip()] = value
    return out


def _json(text: str, where: str, kind: Any) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        raise WorkflowError(Problem(where, f"not JSON: {text[:40]!r}")) from None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise WorkflowError(Problem(where, "has the wrong type", f"for example {_EXAMPLE[where]}"))
    return value


_EXAMPLE = {
    "for_each": '["a", "b"]',
    "retry": '{"max_attempts": 3}',
    "until.interval": "5",
    "until.timeout": "600",
}


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise WorkflowError(Problem(key, "is required" if not value else "must be text"))
    return value.strip()


def _default(type_: str, text: Any, name: str) -> Any:
    """An input's default as the page's text field holds it, in the input's type."""
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        return text
    try:
        return InputSpec(type=type_).parse(text)
    except ValueError as exc:
        raise WorkflowError(Problem(f"inputs.{name}.default", str(exc))) from None


# -- the routes -----------------------------------------------------------------------------------


class _Editor:
    """The edits, each ``body -> answer``, on the playground's workflow file."""

    def __init__(self, playground: Playground) -> None:
        self.playground = playground

    def _file(self) -> Path:
        if self.playground.workflow_file is None:
            raise ConfigError(
                Problem("workflow", "no workflow is open", "start: rtk-task ui --workflow FILE")
            )
        return self.playground.workflow_file

    def _edit(self, body: dict[str, Any], change: Callable[[str], tuple[str, Any]]) -> Any:
        seen = body.get("hash")
        if not isinstance(seen, str):
            raise WorkflowError(Problem("hash", "is required", "the workflow view gives it"))
        return editing.edit_file(self._file(), seen, change)

    def _answer(self, **extra: Any) -> dict[str, Any]:
        return {**extra, "workflow": self.playground.workflow()}

    def save_step(self, body: dict[str, Any]) -> dict[str, Any]:
        sid = _text(body, "step_id")
        fields = step_fields(body)
        self._edit(body, lambda t: (editing.update_step(t, sid, fields), None))
        return self._answer(step_id=sid)

    def rename_step(self, body: dict[str, Any]) -> dict[str, Any]:
        sid, new = _text(body, "step_id"), _text(body, "new_id")
        self._edit(body, lambda t: (editing.rename_step(t, sid, new), None))
        return self._answer(step_id=new)

    def duplicate_step(self, body: dict[str, Any]) -> dict[str, Any]:
        sid, new = _text(body, "step_id"), _text(body, "new_id", required=False)
        made = self._edit(body, lambda t: editing.duplicate_step(t, sid, new or None))
        return self._answer(step_id=made)

    def delete_step(self, body: dict[str, Any]) -> dict[str, Any]:
        """Without ``confirm``, a step others use is not deleted: its dependants come back."""
        sid = _text(body, "step_id")

        def change(text: str) -> tuple[str, list[str]]:
            found = editing.dependants(text, sid)
            if found and not body.get("confirm"):
                return text, found
            return editing.delete_step(text, sid)

        found = self._edit(body, change)
        deleted = not found or bool(body.get("confirm"))
        return self._answer(deleted=deleted, dependants=found)

    def move_steps(self, body: dict[str, Any]) -> dict[str, Any]:
        order = body.get("order")
        if not isinstance(order, list) or not all(isinstance(s, str) for s in order):
            raise WorkflowError(Problem("order", "must be a list of step ids"))
        self._edit(body, lambda t: (editing.move_steps(t, order), None))
        return self._answer()

    def save_input(self, body: dict[str, Any]) -> dict[str, Any]:
        name, type_ = _text(body, "name"), _text(body, "type", required=False) or "string"
        old = _text(body, "rename_from", required=False) or None
        default = _default(type_, body.get("default"), name)
        self._edit(
            body, lambda t: (editing.set_input(t, name, type_, default, rename_from=old), None)
        )
        return self._answer()

    def delete_input(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _text(body, "name")
        self._edit(body, lambda t: (editing.delete_input(t, name), None))
        return self._answer()

    def save_secret(self, body: dict[str, Any]) -> dict[str, Any]:
        name, env = _text(body, "name"), _text(body, "env")
        old = _text(body, "rename_from", required=False) or None
        self._edit(body, lambda t: (editing.set_secret(t, name, env, rename_from=old), None))
        return self._answer()

    def delete_secret(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _text(body, "name")
        self._edit(body, lambda t: (editing.delete_secret(t, name), None))
        return self._answer()

    def import_curl(self, body: dict[str, Any]) -> dict[str, Any]:
        """A pasted cURL command as a step at the end (``rtk-task import curl --workflow``)."""
        from ..workflows.authoring import add_steps
        from ..workflows.imports import request_step
        from ..workflows.imports.curl import parse_curl

        command = _text(body, "command")
        try:
            imported = request_step(
                parse_curl(command), _text(body, "step_id", required=False) or None
            )
        except RtkError as exc:  # its words may quote the command: never its credentials
            raise ConfigError(
                [Problem(p.where, _unquoted(p.message), p.hint) for p in exc.problems]
            ) from None
        (added,) = add_steps(
            self._file(), [imported.step], imported.inputs, imported.secrets, imported.hosts
        )
        return self._answer(step_id=added, notes=imported.notes)


def _unquoted(text: str) -> str:
    return re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)


def editor_routes(
    playground: Playground,
    answer: Callable[[Any, int], Response],
    error: Callable[[Exception, Redactor], Response],
) -> list[BaseRoute]:
    """The editor's ``POST /api/edit/...`` routes; ``answer`` and ``error`` make the app's
    JSON responses (an :class:`~rtk_task.workflows.editing.EditConflict` answers 409)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.routing import Route

    editor = _Editor(playground)

    def route(name: str, handler: Callable[[dict[str, Any]], dict[str, Any]]) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                wrong = {"kind": "config", "message": "a JSON object, please", "problems": []}
                return answer({"error": wrong}, 400)
            redactor = playground.redactor()
            try:
                return answer(redactor.value(await run_in_threadpool(handler, body)), 200)
            except editing.EditConflict as exc:
                message = redactor.text(exc.render())
                problem = {"where": "workflow", "message": message, "hint": exc.first.hint}
                data = {"kind": "conflict", "message": message, "problems": [problem]}
                return answer({"error": data, "conflict": True}, 409)
            except Exception as exc:
                return error(exc, redactor)

        return Route(f"/api/edit/{name}", endpoint, methods=["POST"])

    return [
        route("step", editor.save_step),
        route("rename", editor.rename_step),
        route("duplicate", editor.duplicate_step),
        route("delete", editor.delete_step),
        route("move", editor.move_steps),
        route("input", editor.save_input),
        route("delete-input", editor.delete_input),
        route("secret", editor.save_secret),
        route("delete-secret", editor.delete_secret),
        route("import-curl", editor.import_curl),
    ]
