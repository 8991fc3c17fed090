"""A Conductor workflow definition's ``HTTP`` tasks as steps.

``${workflow.input.X}`` becomes ``{{ inputs.X }}`` (with the input's default from the
definition's ``inputTemplate``), ``${workflow.secrets.N}`` a declared secret, and
``${REF.output.response.body.P}`` a reference to that step's output (added to its
``outputs:`` when its task has none at ``P``). Any other expression, and every task that is
not ``HTTP``, is listed in the notes, never silently dropped.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_plus

from ...errors import Problem, WorkflowError
from . import Imported, References, Request, request_step

__all__ = ["import_conductor"]

_EXPR = re.compile(r"\$\{([^{}]+)\}")
_TEMPLATE = re.compile(r"(\{\{.*?\}\})")


def import_conductor(text: str, file: str = "<conductor>") -> Imported:
    """The HTTP tasks of the Conductor definition ``text``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise WorkflowError(Problem(file, f"not JSON: {exc}", "export it from Conductor")) from None
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        raise WorkflowError(Problem(file, "a Conductor workflow has a `tasks` list"))
    imported = Imported(str(data.get("name") or "imported"))
    refs = References()
    template = data.get("inputTemplate") or {}
    inputs: dict[str, dict[str, Any]] = {}
    for name in data.get("inputParameters") or []:
        spec: dict[str, Any] = {"type": "string"}
        if isinstance(template, dict) and name in template:
            value = template[name]
            kinds = {bool: "boolean", int: "integer", float: "number", dict: "object"}
            spec = {
                "type": kinds.get(type(value), "array" if isinstance(value, list) else "string")
            }
            spec["default"] = value
        inputs[str(name)] = spec
    for i, task in enumerate(_flat(data["tasks"])):
        where = f"{file}: tasks[{i}]"
        ref = str(task.get("taskReferenceName") or task.get("name") or f"task_{i}")
        if task.get("type") != "HTTP":
            imported.notes.append(f"{where} ({ref}): a {task.get('type')} task is not imported")
            continue
        http = (task.get("inputParameters") or {}).get("http_request") or {}
        missing: list[str] = []

        def tr(value: Any, missing: list[str] = missing) -> Any:
            return _translate(value, refs, imported, missing)

        headers = {str(k): str(tr(v)) for k, v in (http.get("headers") or {}).items()}
        request = Request(
            method=str(http.get("method") or "GET"),
            url=str(tr(str(http.get("uri") or ""))),
            headers=headers,
            body=tr(http.get("body")),
            source=ref,
        )
        request.url, _, query = request.url.partition("?")
        for pair in filter(None, query.split("&")):
            k, _, v = pair.partition("=")
            # the text around references was encoded by the exporter; references were not
            request.query[unquote_plus(k)] = "".join(
                part if _TEMPLATE.fullmatch(part) else unquote_plus(part)
                for part in _TEMPLATE.split(v)
            )
        step = request_step(request, re.sub(r"\W", "_", ref))
        if imported.steps:
            # Conductor runs its task list in order: keep that order
            previous = str(imported.steps[-1].step["id"])
            if f"steps.{previous}." not in json.dumps(step.step):
                step.step["depends_on"] = [previous]
        step.inputs.update({k: v for k, v in inputs.items() if k in json.dumps(step.step)})
        for expr in missing:
            imported.notes.append(f"{where} ({ref}): ${{{expr}}} has no counterpart; left as text")
        refs.steps[str(step.step["id"])] = step
        imported.steps.append(step)
    return imported


def _flat(tasks: list[Any]) -> list[dict[str, Any]]:
    """Tasks in order (a FORK_JOIN's branches one after another)."""
    out: list[dict[str, Any]] = []
    for task in tasks:
        if not isinstance(task, dict):
            continue
        out.append(task)
        for branch in task.get("forkTasks") or []:
            out.extend(_flat(branch))
    return out


def _translate(value: Any, refs: References, imported: Imported, missing: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _translate(v, refs, imported, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_translate(v, refs, imported, missing) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value

    def one(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        parts = expr.split(".")
        if parts[:2] == ["workflow", "input"] and len(parts) == 3:
            return f"{{{{ inputs.{parts[2]} }}}}"
        if parts[:2] == ["workflow", "secrets"] and len(parts) == 3:
            return f"$${parts[2]}"  # a credential: the importer declares it as a secret
        if len(parts) >= 4 and parts[1:4] == ["output", "response", "body"]:
            got = refs.output(parts[0], ".".join(parts[4:]))
            if got is not None:
                return got
        missing.append(expr)
        return match.group(0)

    whole = _EXPR.fullmatch(value)
    if whole and whole.group(1).startswith("workflow.secrets."):
        return "$" + whole.group(1).split(".")[2]
    return _EXPR.sub(one, value).replace("$$", "$")
