"""A workflow file as another engine's HTTP tasks: SimWorkflow or Conductor JSON.

Only references translate: a template must be plain text around ``{{ inputs.X }}``,
``{{ steps.S.outputs.O }}`` or ``{{ secrets.N }}``; anything computed (``{{ x * 2 }}``,
filters, ``when``, ``paginate``) is refused with the field that holds it, never dropped.
Secrets and the API token become the engine's secret references, never values.

References in the output:

=============  ==============================  =============================================
               SimWorkflow                     Conductor
=============  ==============================  =============================================
input          ``${inputs.X}``                 ``${workflow.input.X}``
step output    ``${steps.S.output.body.P}``    ``${S.output.response.body.P}``
secret         ``${secrets.N}``                ``${workflow.secrets.N}``
=============  ==============================  =============================================

where ``P`` is the response path of the output (``data.id`` for ``meeting_id``).

Tasks are listed in an order that runs every step after the steps it reads and the steps in
its ``depends_on`` (Conductor runs its task list in order), file order otherwise.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from urllib.parse import quote

from jinja2 import nodes

from ..errors import Problem, WorkflowError
from ..manifests.http import _AS_TEXT, HTTP_TASK
from ..manifests.model import Location, Manifest
from .model import Step, Workflow
from .render import attribute_chain, environment

__all__ = ["export_workflow"]

Target = Literal["simworkflow", "conductor"]
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_REFERENCE = re.compile(r"(\$\{[^{}]+\})")
_RESPONSE_PREFIX = ("response", "body")


def export_workflow(workflow: Workflow, target: Target, *, base_url: str | None = None) -> str:
    """The workflow as ``target`` JSON (pretty, deterministic)."""
    exporter = _Exporter(workflow, target, base_url)
    data = exporter.document()
    WorkflowError.collect(exporter.problems)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


class _Exporter:
    def __init__(self, workflow: Workflow, target: Target, base_url: str | None) -> None:
        self.workflow = workflow
        self.target = target
        self.base_url = base_url
        self.problems: list[Problem] = []
        #: step id -> output name -> response path (``data.id``)
        self.output_paths: dict[str, dict[str, str]] = {}

    # -- references -----------------------------------------------------------------------

    def ref(self, chain: tuple[str, ...], where: str) -> str | None:
        head, rest = chain[0], chain[1:]
        conductor = self.target == "conductor"
        if head == "inputs" and len(rest) == 1:
            return f"${{workflow.input.{rest[0]}}}" if conductor else f"${{inputs.{rest[0]}}}"
        if head == "secrets" and len(rest) == 1:
            name = self.workflow.secrets.get(rest[0], rest[0])
            return f"${{workflow.secrets.{name}}}" if conductor else f"${{secrets.{name}}}"
        if head == "steps" and len(rest) >= 3 and rest[1] == "outputs":
            step_id, name, extra = rest[0], rest[2], rest[3:]
            path = self.output_paths.get(step_id, {}).get(name)
            if path is None:
                self.problems.append(Problem(where, f"steps.{step_id} has no output {name!r}"))
                return None
            dotted = ".".join([path, *extra]) if path else ".".join(extra)
            body = f"body.{dotted}" if dotted else "body"
            return (
                f"${{{step_id}.output.response.{body}}}"
                if conductor
                else f"${{steps.{step_id}.output.{body}}}"
            )
        if head == "response" and rest[:1] == ("body",):
            return ".".join(rest[1:])  # a step's own output path, not a reference
        self.problems.append(
            Problem(
                where,
                f"{'.'.join(chain)} cannot be exported",
                "only inputs.X, secrets.X and steps.S.outputs.X translate",
            )
        )
        return None

    def value(self, value: Any, where: str) -> Any:
        if isinstance(value, dict):
            return {k: self.value(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, str) and any(m in value for m in ("{{", "{%", "{#")):
            return self.template(value, where)
        return value

    def template(self, text: str, where: str) -> str | None:
        try:
            ast = environment().parse(text)
        except Exception:  # reported when the workflow was loaded; keep the text
            return text
        out: list[str] = []
        for node in ast.body:
            if not isinstance(node, nodes.Output):
                self.problems.append(
                    Problem(
                        where, f"{text!r} uses a statement", "only {{ references }} can be exported"
                    )
                )
                return None
            for part in node.nodes:
                if isinstance(part, nodes.TemplateData):
                    out.append(part.data)
                    continue
                chain = attribute_chain(part)
                if chain is None:
                    self.problems.append(
                        Problem(
                            where,
                            f"{text!r} computes a value",
                            "only plain references such as {{ inputs.x }} can be exported",
                        )
                    )
                    return None
                ref = self.ref(chain, where)
                if ref is None:
                    return None
                out.append(ref)
        return "".join(out)

    # -- documents ------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        tasks = [self.step(step) for step in _in_order(self.workflow.steps)]
        if self.target == "conductor":
            return {
                "name": self.workflow.name,
                "description": self.workflow.description,
                "version": 1,
                "schemaVersion": 2,
                "inputParameters": list(self.workflow.inputs),
                # Conductor fills missing inputs from the template: the defaults go with them
                "inputTemplate": {
                    k: v.default for k, v in self.workflow.inputs.items() if v.default is not None
                },
                "tasks": tasks,
            }
        return {
            "name": self.workflow.name,
            "description": self.workflow.description,
            "inputs": {
                k: v.model_dump(exclude_defaults=True) for k, v in self.workflow.inputs.items()
            },
            "steps": tasks,
        }

    def step(self, step: Step) -> dict[str, Any]:
        manifest = self.workflow.manifest(step)
        where = f"steps.{step.id}"
        for flag in ("when", "paginate"):
            if getattr(step, flag):
                self.problems.append(
                    Problem(
                        f"{where}.{flag}",
                        f"{flag} cannot be exported",
                        "remove it, or run with rtk-task run",
                    )
                )
        self.output_paths[step.id] = {o.name: o.path for o in manifest.outputs}
        raw: Any = step.with_
        if step.task == HTTP_TASK:  # the values in the shape of its synthetic manifest
            raw = json.loads(json.dumps(step.compiled_with().source).replace(_AS_TEXT, ""))
        with_ = self.value(raw, f"{where}.with")
        own = self.value(step.outputs, f"{where}.outputs")
        self.output_paths[step.id].update(
            {k: v for k, v in own.items() if isinstance(v, str)} if isinstance(own, dict) else {}
        )
        url, headers, body = self.request(manifest, with_ if isinstance(with_, dict) else {})
        timeouts = step.timeouts
        connect, read = (timeouts.connect, timeouts.read) if timeouts else (5.0, 10.0)
        attempts = 3 if manifest.idempotent else 1
        if self.target == "conductor":
            request: dict[str, Any] = {
                "uri": url,
                "method": manifest.method,
                "headers": headers,
                "accept": "application/json",
                "contentType": "application/json",
                "connectionTimeOut": int(connect * 1000),
                "readTimeOut": int(read * 1000),
            }
            if body is not None:
                request["body"] = body
            return {
                "name": step.id,
                "taskReferenceName": step.id,
                "type": "HTTP",
                "description": manifest.summary,
                "inputParameters": {"http_request": request},
                "taskDefinition": {
                    "retryCount": attempts - 1,
                    "retryLogic": "FIXED",
                    "retryDelaySeconds": 1,
                },
            }
        http: dict[str, Any] = {"url": url, "method": manifest.method, "headers": headers}
        if body is not None:
            http["body"] = body
        return {
            "id": step.id,
            "type": "Http",
            "description": manifest.summary,
            "httpRequest": http,
            "retry": {"maxAttempts": attempts},
            "connectionTimeoutSeconds": connect,
            "readTimeoutSeconds": read,
            "outputs": {name: f"body.{path}" for name, path in self.output_paths[step.id].items()},
        }

    def request(
        self, manifest: Manifest, values: dict[str, Any]
    ) -> tuple[str, dict[str, str], Any]:
        locations = {p.name: loc for loc in Location for p in manifest.parameters.at(loc)}
        given = {k for k, loc in locations.items() if loc is Location.PATH and k in values}
        templates = [(t, set(_PLACEHOLDER.findall(t))) for t in manifest.path_templates]
        usable = [t for t in templates if t[1] <= given]
        template = max(usable, key=lambda t: len(t[1]))[0] if usable else manifest.path

        def segment(v: Any) -> str:
            if not isinstance(v, str):
                return quote(_text(v), safe="")
            # the literal text around ${...} references, encoded; the engine fills the rest
            return "".join(
                part if _REFERENCE.fullmatch(part) else quote(part, safe="")
                for part in _REFERENCE.split(v)
                if part
            )

        path = _PLACEHOLDER.sub(lambda m: segment(values.get(m.group(1), "")), template)
        query = "&".join(
            f"{k}={segment(v)}" for k, v in values.items() if locations.get(k) is Location.QUERY
        )
        base = self.base_url or (manifest.servers[0] if manifest.servers else "")
        url = base.rstrip("/") + path + (f"?{query}" if query else "")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if manifest.auth.env:
            token = self.ref(("secrets", manifest.auth.env), "auth") or ""
            headers[manifest.auth.header] = f"Bearer {token}"
        extra = values.get("headers")
        if isinstance(extra, dict):
            headers.update({str(k): v for k, v in extra.items() if v is not None})
        elif extra is not None:
            self.problems.append(
                Problem(
                    f"{manifest.id}.headers",
                    "headers must be a mapping of names to values to be exported",
                    "headers: {Name: value}",
                )
            )
        body = {k: v for k, v in values.items() if locations.get(k) is Location.BODY}
        return url, headers, (body or None)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _in_order(steps: list[Step]) -> list[Step]:
    """``steps`` with each after those it reads or depends on; file order among equals."""
    done: set[str] = set()
    left = list(steps)
    ordered: list[Step] = []
    while left:
        # the first step whose dependencies are done (a cycle is refused when the file loads)
        ready = next((s for s in left if s.after <= done), left[0])
        left.remove(ready)
        ordered.append(ready)
        done.add(ready.id)
    return ordered
