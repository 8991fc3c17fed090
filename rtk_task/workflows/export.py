"""A workflow file as another engine's HTTP tasks: SimWorkflow or Conductor JSON.

References translate to both: plain text around ``{{ inputs.X }}``,
``{{ steps.S.outputs.O }}`` or ``{{ secrets.N }}``. Conductor keeps the rest of the meaning
with its own system tasks (the expressions go through :mod:`.imports.exprs`):

- a computed value (``| length``, ``| first``, ``| join(...)``, ``| default(...)``,
  arithmetic, comparisons) is a ``JSON_JQ_TRANSFORM`` task ``S_values`` before the step,
  whose ``result`` the step reads;
- ``when:`` is a ``SWITCH`` (a JavaScript condition over its ``inputParameters``) whose
  ``"true"`` case holds the step;
- ``for_each`` is a ``DO_WHILE`` over the list: a ``JSON_JQ_TRANSFORM`` ``S_item`` gives
  ``item`` and ``index`` of each iteration (the items run one after another);
- ``until:`` is a ``DO_WHILE`` of the call and a ``WAIT``, its ``loopCondition`` the
  condition over the call's output, bounded by ``ceil(timeout / interval)`` calls, and a
  ``SWITCH`` that fails the workflow when the condition never held (:mod:`.export_tasks`
  writes these shapes);
- the inputs carry their types and defaults: ``inputTemplate`` and an ``inputSchema``.

Refused, each with its field and ``FILE:LINE``: ``paginate``, a filter or test with no
counterpart, ``until`` together with ``for_each`` (Conductor does not nest ``DO_WHILE``), and
reading the outputs of a ``for_each`` step (a ``DO_WHILE`` keeps only the last iteration's).
``paginate`` stays refused: no Conductor task can append a page's items to the pages before
(inside a ``DO_WHILE`` a task reads only its iteration; servers trim the loop's output with
``keepLastN``), the stop rule of :mod:`rtk_task.paginate` needs that running count, and
gathering afterwards would drop ``max_items``/``max_bytes``. A url whose host is templated
(with ``hosts:``) is refused: no engine task keeps the host check. SimWorkflow has no
system tasks: anything computed is refused there. Secrets and the API token become the
engine's secret references, never values.

References in the output, SimWorkflow / Conductor: an input ``${inputs.X}`` /
``${workflow.input.X}``, a step output ``${steps.S.output.body.P}`` /
``${S.output.response.body.P}`` (``P`` the output's response path: ``data.id`` for
``meeting_id``), a secret ``${secrets.N}`` / ``${workflow.secrets.N}``.

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
from ..manifests.model import PLACEHOLDER, Location, Manifest
from .export_defs import auth_parts, conductor_head, conductor_task_def
from .export_tasks import for_each_tasks, response_chain, response_js, switch_task, until_tasks
from .imports.exprs import Tree, Untranslatable, emit, from_jinja
from .keys import REFUSED_ON_EXPORT, WORKFLOW_KEYS
from .model import Step, Workflow
from .render import MARKERS, attribute_chain, environment

__all__ = ["OWNER_EMAIL", "export_workflow"]

Target = Literal["simworkflow", "conductor"]
_REFERENCE = re.compile(r"(\$\{[^{}]+\})")
_RESPONSE_PREFIX = ("response", "body")
#: Why Conductor refuses ``until`` on a ``for_each`` step (the registry has the other keys).
_NESTED_UNTIL = "together with for_each, Conductor does not nest DO_WHILE loops"
_HOST_HINT = "write the host in the url, or run with rtk-task run"


#: The ``ownerEmail`` of an exported Conductor workflow unless one is given (a default
#: Conductor server refuses a definition without one).
OWNER_EMAIL = "rtk-task@example.com"


def export_workflow(
    workflow: Workflow,
    target: Target,
    *,
    base_url: str | None = None,
    owner_email: str = OWNER_EMAIL,
) -> str:
    """The workflow as ``target`` JSON (pretty, deterministic)."""
    exporter = _Exporter(workflow, target, base_url)
    exporter.owner_email = owner_email
    data = exporter.document()
    WorkflowError.collect(_located(workflow, exporter.problems))
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


class _Exporter:
    def __init__(self, workflow: Workflow, target: Target, base_url: str | None) -> None:
        self.workflow = workflow
        self.target = target
        self.base_url = base_url
        self.problems: list[Problem] = []
        #: step id -> output name -> response path (``data.id``)
        self.output_paths: dict[str, dict[str, str]] = {}
        #: computed values of the step being exported: (jq tree, references by name)
        self.computed: dict[str, Tree] = {}
        self.computed_refs: dict[str, str] = {}
        self.current = ""
        self.loop = False
        self.for_each_steps = {s.id for s in workflow.steps if s.for_each is not None}
        self.owner_email = OWNER_EMAIL

    def problem(self, loc: tuple[Any, ...], message: str, hint: str = "") -> None:
        """A problem at ``loc`` (``("steps", 2, "when")``): its field path and FILE:LINE."""
        self.problems.append(Problem(self.workflow.field_path(loc), message, hint))

    # -- references -----------------------------------------------------------------------

    def ref(self, chain: tuple[str, ...], where: str) -> str | None:
        head, rest = chain[0], chain[1:]
        conductor = self.target == "conductor"
        if head == "inputs" and len(rest) == 1:
            return f"${{workflow.input.{rest[0]}}}" if conductor else f"${{inputs.{rest[0]}}}"
        if head == "secrets" and len(rest) == 1:
            name = self.workflow.secrets.get(rest[0], rest[0])
            return f"${{workflow.secrets.{name}}}" if conductor else f"${{secrets.{name}}}"
        if head in ("item", "index") and conductor and self.loop:
            return "${" + ".".join((f"{self.current}_item.output.result", *chain)) + "}"
        if head == "steps" and len(rest) >= 3 and rest[1] == "outputs":
            step_id, name, extra = rest[0], rest[2], rest[3:]
            if conductor and step_id in self.for_each_steps:
                self.problems.append(
                    Problem(
                        where,
                        f"steps.{step_id} runs for_each: its outputs are lists, and Conductor's"
                        " DO_WHILE keeps only the last iteration's output",
                        "read the list in a step of rtk-task run, or drop the reference",
                    )
                )
                return None
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
        if isinstance(value, str) and any(m in value for m in MARKERS):
            return self.template(value, where)
        return value

    def template(self, text: str, where: str) -> str | None:
        try:
            ast = environment().parse(text)
        except Exception:  # reported when the workflow was loaded; keep the text
            return text
        computed = self.target == "conductor" and any(
            isinstance(node, nodes.Output)
            and any(
                not isinstance(p, nodes.TemplateData) and attribute_chain(p) is None
                for p in node.nodes
            )
            for node in ast.body
        )
        if computed:
            return self.computed_value(ast, text, where)
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

    def tree(self, node: nodes.Node, where: str) -> Tree:
        """The jq/JavaScript tree of a jinja expression; references become ``vN`` names."""

        def ref(chain: tuple[str, ...]) -> Tree:
            got = self.ref(chain, where)
            if got is None:
                raise Untranslatable(f"{'.'.join(chain)}")
            for name, value in self.computed_refs.items():
                if value == got:
                    return ("ref", name)
            name = f"v{len(self.computed_refs)}"
            self.computed_refs[name] = got
            return ("ref", name)

        return from_jinja(node, ref)

    def computed_value(self, ast: nodes.Template, text: str, where: str) -> str | None:
        """A computed template as ``${S_values.output.result.kN}`` (a jq task's output)."""
        parts: list[nodes.Node] = []
        for node in ast.body:
            if not isinstance(node, nodes.Output):
                self.problems.append(
                    Problem(
                        where,
                        f"{text!r} uses a statement",
                        "only {{ expressions }} can be exported",
                    )
                )
                return None
            parts.extend(node.nodes)
        try:
            trees = [
                ("const", p.data) if isinstance(p, nodes.TemplateData) else self.tree(p, where)
                for p in parts
            ]
        except Untranslatable as exc:
            self.problems.append(
                Problem(
                    where,
                    f"{text!r}: {exc} has no counterpart in Conductor",
                    "use length, first, last, join, default, comparisons or arithmetic",
                )
            )
            return None
        tree = trees[0]
        if len(trees) > 1:  # text around values: one string, as the template renders it
            tree = ("filter", "string", tree, None) if tree[0] != "const" else tree
            for t in trees[1:]:
                t = ("filter", "string", t, None) if t[0] != "const" else t
                tree = ("op", "+", tree, t)
        key = f"k{len(self.computed)}"
        self.computed[key] = tree
        return f"${{{self.current}_values.output.result.{key}}}"

    def encoded(self, text: str) -> str:
        """``text`` (literal parts and ``${...}`` references) percent-encoded by a jq task."""
        tree: Tree | None = None
        for part in _REFERENCE.split(text):
            if not part:
                continue
            if _REFERENCE.fullmatch(part):
                name = next((n for n, r in self.computed_refs.items() if r == part), None)
                if name is None:
                    name = f"v{len(self.computed_refs)}"
                    self.computed_refs[name] = part
                leaf: Tree = ("filter", "string", ("ref", name), None)
            else:
                leaf = ("const", part)
            tree = leaf if tree is None else ("op", "+", tree, leaf)
        key = f"k{len(self.computed)}"
        self.computed[key] = ("filter", "uri", tree, None)
        return f"${{{self.current}_values.output.result.{key}}}"

    # -- documents ------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        if self.target == "conductor":
            tasks = [t for step in _in_order(self.workflow.steps) for t in self.conductor(step)]
            head = conductor_head(self.workflow, self.owner_email)
            return {**head, "tasks": tasks, "outputParameters": self.workflow_outputs()}
        tasks = [self.step(step) for step in _in_order(self.workflow.steps)]
        return {
            "name": self.workflow.name,
            "description": self.workflow.description,
            "inputs": {
                k: v.model_dump(exclude_defaults=True) for k, v in self.workflow.inputs.items()
            },
            "steps": tasks,
            "outputs": self.workflow_outputs(),
        }

    def workflow_outputs(self) -> Any:
        """The workflow's ``outputs`` as references; a computed one is refused (no task is
        left to compute it after the last step)."""
        self.current, self.computed, self.computed_refs = "outputs", {}, {}
        out = self.value(self.workflow.outputs, "outputs")
        if self.computed:
            self.problem(
                ("outputs",),
                "a workflow output computed with a filter or arithmetic cannot be exported",
                "make each output one reference: {{ steps.S.outputs.O }}",
            )
        return out

    def conductor(self, step: Step) -> list[dict[str, Any]]:
        """The step's tasks: its computed values, the call, in a loop and a switch."""
        index = self.workflow.steps.index(step)
        self.current, self.computed, self.computed_refs = step.id, {}, {}
        self.loop = step.for_each is not None
        tasks = [self.step(step)]
        call = tasks[0]
        if self.computed:
            query = (
                "{"
                + ", ".join(
                    f"{json.dumps(k)}: {emit(t, 'jq', lambda n: '.' + n)}"
                    for k, t in self.computed.items()
                )
                + "}"
            )
            tasks.insert(
                0,
                {
                    "name": f"{step.id}_values",
                    "taskReferenceName": f"{step.id}_values",
                    "type": "JSON_JQ_TRANSFORM",
                    "description": f"the computed values of {step.id}",
                    "inputParameters": {**self.computed_refs, "queryExpression": query},
                },
            )
        if step.for_each is not None:
            self.loop = False
            items = self.value(step.for_each, f"steps.{step.id}.for_each")
            tasks = for_each_tasks(step.id, items, tasks)
        if step.until is not None and step.for_each is None:
            tasks = [*tasks[:-1], *self.until(step, index, call)]
        if step.when is not None and step.when is not True:
            self.computed_refs = {}
            condition = self.condition(step.when, ("steps", index, "when"))
            if condition is not None:
                tasks = [switch_task(step.id, condition, dict(self.computed_refs), tasks)]
        return tasks

    def until(self, step: Step, index: int, call: dict[str, Any]) -> list[dict[str, Any]]:
        """The until loop of ``step`` (:mod:`.export_loops`), or a problem and the call."""
        until = step.until
        assert until is not None
        loc = ("steps", index, "until", "condition")
        where = self.workflow.field_path(loc)
        refs: dict[str, str] = {}
        responses: dict[str, list[str]] = {}

        def ref(chain: tuple[str, ...]) -> Tree:
            if chain[0] == "response":
                keys = response_chain(chain)
                if keys is None:
                    raise Untranslatable(".".join(chain))
                got: str | None = "${" + ".".join([step.id, "output", *keys]) + "}"
            else:
                got = self.ref(chain, where)
            if got is None:
                raise Untranslatable(".".join(chain))
            name = next((n for n, r in refs.items() if r == got), f"v{len(refs)}")
            refs[name] = got
            if chain[0] == "response":
                responses[name] = keys or []
            return ("ref", name)

        try:
            tree = from_jinja(_expression(until.condition), ref)
            loop_js = emit(
                tree,
                "js",
                lambda n: response_js(step.id, responses[n]) if n in responses else "$." + n,
            )
            switch_js = emit(tree, "js", lambda n: "$." + n)
        except Untranslatable as exc:
            self.problem(
                loc,
                f"the condition {until.condition!r} cannot be a Conductor loopCondition: {exc}",
                "compare response.body fields, response.status_code, inputs or step outputs",
            )
            return [call]
        except Exception:  # a syntax error was reported when the file was loaded
            self.problem(loc, f"the condition {until.condition!r} cannot be read")
            return [call]
        return until_tasks(
            step.id,
            call,
            loop_js=loop_js,
            switch_js=switch_js,
            refs={k: v for k, v in refs.items() if k not in responses},
            switch_refs=refs,
            interval=until.interval,
            timeout=until.timeout,
            condition=until.condition,
            fail=not step.continue_on_error,
        )

    def condition(self, when: str | bool, loc: tuple[Any, ...]) -> str | None:
        """A ``when:`` as JavaScript over ``$.vN``, or a problem at ``loc``."""
        where = self.workflow.field_path(loc)
        if isinstance(when, bool):
            return json.dumps(when)
        try:
            return emit(self.tree(_expression(when), where), "js", lambda n: "$." + n)
        except Untranslatable as exc:
            self.problem(
                loc,
                f"the condition {when!r} cannot be a Conductor SWITCH: {exc}",
                "compare values, combine with and/or/not, or use | length",
            )
        except Exception:  # a syntax error was reported when the file was loaded
            self.problem(loc, f"the condition {when!r} cannot be read")
        return None

    def step(self, step: Step) -> dict[str, Any]:
        manifest = self.workflow.manifest(step)
        where = f"steps.{step.id}"
        refused = dict(REFUSED_ON_EXPORT[self.target])
        if self.target == "conductor" and step.for_each is not None and step.until is not None:
            refused["until"] = _NESTED_UNTIL
        for key, why in refused.items():
            field = "with_" if key == "with" else key
            if field in step.model_fields_set and getattr(step, field) not in (None, False):
                self.problem(
                    ("steps", self.workflow.steps.index(step), key),
                    f"{key} cannot be exported to {self.target}: {why}",
                    "remove it, or run with rtk-task run",
                )
        if (step.__pydantic_private__ or {}).get("_origin") is not None:  # keys.py: hosts
            why = getattr(WORKFLOW_KEYS["hosts"], self.target).removeprefix("refused: ")
            at = ("steps", self.workflow.steps.index(step), "with", "url")
            self.problem(
                at, f"a url host templated under hosts: cannot be exported: {why}", _HOST_HINT
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
                "description": step.description or manifest.summary,
                "inputParameters": {"http_request": request},
                "taskDefinition": conductor_task_def(self.workflow, step, manifest, self.problem),
            }
        http: dict[str, Any] = {"url": url, "method": manifest.method, "headers": headers}
        if body is not None:
            http["body"] = body
        return {
            "id": step.id,
            "type": "Http",
            "description": step.description or manifest.summary,
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
        templates = [(t, set(PLACEHOLDER.findall(t))) for t in manifest.path_templates]
        usable = [t for t in templates if t[1] <= given]
        template = max(usable, key=lambda t: len(t[1]))[0] if usable else manifest.path

        def segment(v: Any, query: bool = False) -> str:
            if not isinstance(v, str):
                return quote(_text(v), safe="")
            conductor = self.target == "conductor"
            if conductor and (query or "${workflow.input." in v) and _REFERENCE.search(v):
                # a value filled in by the engine is sent as is: encode it in a jq task
                return self.encoded(v)
            # the literal text around ${...} references, encoded; the engine fills the rest
            return "".join(
                part if _REFERENCE.fullmatch(part) else quote(part, safe="")
                for part in _REFERENCE.split(v)
                if part
            )

        path = PLACEHOLDER.sub(lambda m: segment(values.get(m.group(1), "")), template)
        query = "&".join(
            f"{k}={segment(v, True)}"
            for k, v in values.items()
            if locations.get(k) is Location.QUERY
        )
        base = self.base_url or (manifest.servers[0] if manifest.servers else "")
        url = base.rstrip("/") + path + (f"?{query}" if query else "")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        token = self.ref(("secrets", manifest.auth.env), "auth") or "" if manifest.auth.env else ""
        auth_headers, auth_query, refused = auth_parts(manifest.auth, token)
        if refused:
            self.problems.append(Problem(f"{manifest.id}.auth", f"cannot be exported: {refused}"))
        if any(p.is_file for p in manifest.parameters.body):
            self.problems.append(
                Problem(f"{manifest.id}.files", "a file upload cannot be exported", "")
            )
        headers.update(auth_headers)
        if auth_query:
            url += ("&" if "?" in url else "?") + "&".join(
                f"{k}={v}" for k, v in auth_query.items()
            )
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


def _located(workflow: Workflow, problems: list[Problem]) -> list[Problem]:
    """Each problem at a field path with the ``FILE:LINE`` of that field added."""
    ids = {s.id: i for i, s in enumerate(workflow.steps)}
    out: list[Problem] = []
    for p in problems:
        parts: list[Any] = [
            int(x) if x.isdigit() else x for x in re.split(r"\.|\[|\]", p.where) if x
        ]
        if len(parts) >= 2 and parts[0] == "steps" and parts[1] in ids:
            parts[1] = ids[parts[1]]
            p = Problem(p.where, f"{p.message} (at {workflow.locate(tuple(parts))})", p.hint)
        out.append(p)
    return out


def _expression(text: str) -> nodes.Node:
    """The one ``{{ expression }}`` of a condition (a syntax error was reported on load)."""
    body = environment().parse(text).body
    if (
        len(body) != 1
        or not isinstance(body[0], nodes.Output)
        or len(body[0].nodes) != 1
        or isinstance(body[0].nodes[0], nodes.TemplateData)
    ):
        raise Untranslatable("a condition is one {{ expression }}")
    return body[0].nodes[0]


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
