"""A Conductor workflow definition's ``HTTP`` tasks as steps.

An ``HTTP`` task's request is its ``http_request``, or (the flat form) ``uri``, ``method``,
``headers`` and ``body`` directly in its ``inputParameters``; a ``contentType`` or ``accept``
other than JSON is sent as that header, and ``connectionTimeOut``/``readTimeOut``
(milliseconds) become the step's ``timeout: {connect, read}`` in seconds.
``${workflow.input.X}`` becomes ``{{ inputs.X }}`` (with the input's default from the
definition's ``inputTemplate``), ``${workflow.secrets.N}`` a declared secret, and
``${REF.output.response.body.P}`` a reference to that step's output (added to its
``outputs:`` when its task has none at ``P``). The system tasks the exporter writes come
back as what they stand for (:mod:`rtk_task.workflows.export`): a ``JSON_JQ_TRANSFORM``'s
``result.K`` as the template its jq computes (an object whose keys may be bare names:
``{approved: .x}``), a ``SWITCH`` with a ``"true"`` case as the ``when:`` of the steps in
it, a ``DO_WHILE`` whose first task gives ``item`` and ``index`` as a ``for_each``, a
``DO_WHILE`` of an HTTP task and a ``WAIT`` whose ``loopCondition`` is the exporter's as an
``until:`` (the ``SWITCH`` that fails it on timeout is part of that). A ``FORK_JOIN``'s
branches run side by side: each branch follows the step before the fork, no branch
another, and the step after the ``JOIN`` follows every branch (``depends_on``); otherwise
each step follows the one before it, as Conductor runs them.
Input types, defaults and whether each is required come from ``inputSchema``
(else ``inputTemplate``). Any other expression or task is listed in the notes, never
silently dropped, and stays literal text: only what is translated becomes a template (a
literal ``{{`` stays ``{{``). A task that cannot be imported costs only its own step, with
a note naming it and why: a jq that cannot be translated, a host from an input
(``${workflow.input.host}``: a step's host is a literal, so no input can change where a
request goes), a request the ``http`` task cannot send. Credentials are never written
(:mod:`.credentials`): an input's default that looks like one is left out, and a header,
query or body value becomes a declared secret. The definition is read within bounds
(:func:`~.text.read_json`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from ...errors import Problem, RtkError, WorkflowError
from ..export_tasks import LOOP_ITEM, UNTIL_CONDITION
from . import (
    Imported,
    ImportedStep,
    References,
    Request,
    TaskIndex,
    request_step,
    unique_secrets,
    untranslatable,
)
from .credentials import looks_secret, name_is_credential
from .exprs import Tree, Untranslatable, emit, parse, parse_object
from .text import join, literal_url, read_json, unescape

__all__ = ["import_conductor"]

_EXPR = re.compile(r"\$\{([^{}]+)\}")
_TEMPLATE = re.compile(r"(\{\{.*?\}\})")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INPUT_REF = re.compile(r"inputs\.([A-Za-z_][A-Za-z0-9_]*)")


def import_conductor(text: str, file: str = "<conductor>") -> Imported:
    """The HTTP tasks of the Conductor definition ``text``."""
    data = read_json(text, file, WorkflowError, "export it from Conductor")
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        raise WorkflowError(Problem(file, "a Conductor workflow has a `tasks` list"))
    importer = _Importer(data, file)
    importer.run(data["tasks"], None, None, [])
    return importer.imported


class _Importer:
    """Reads tasks in order; each step follows the ones before it (``after``), so branches
    of a ``FORK_JOIN`` follow the step before the fork and the step after its ``JOIN``
    follows them all."""

    def __init__(self, data: dict[str, Any], file: str) -> None:
        self.file = file
        self.imported = Imported(str(data.get("name") or "imported"))
        self.refs = References()
        self.inputs = _inputs(data, self.imported, file)
        self.ctx = _Context(self.refs, self.imported)
        self.tasks = TaskIndex()  # read once: matched against every task's URL
        self.taken: dict[str, str] = {}  # the secrets declared so far
        self.seen = 0

    def note(self, where: str, ref: str, text: str) -> None:
        self.imported.notes.append(f"{where} ({ref}): {text}")

    def run(self, tasks: list[Any], when: str | None, loop: Any, after: list[str]) -> list[str]:
        """Import ``tasks``, the first ones after the steps ``after``; the steps that end
        them (what a later task follows)."""
        for task, flow, (inner_when, inner_loop) in self.ctx.walk(tasks, when, loop):
            where = f"{self.file}: tasks[{self.seen}]"
            ref = str(task.get("taskReferenceName") or task.get("name") or f"task_{self.seen}")
            self.seen += 1
            kind = task.get("type")
            if kind == "FORK_JOIN":
                branches = [b for b in task.get("forkTasks") or [] if isinstance(b, list)]
                ends: list[str] = []
                for branch in branches:  # side by side: each follows what the fork did
                    got = self.run(branch, inner_when, inner_loop, after)
                    ends.extend(s for s in got if s not in ends)
                after = ends  # the JOIN: the next step follows every branch
                continue
            if kind == "JOIN":
                continue  # the steps after it follow every branch (above)
            try:
                step = self.task(task, flow, where, ref)
            except RtkError as exc:  # this task costs its own step, not the whole file
                self.note(where, ref, f"not imported: {exc.first.message}")
                continue
            if step is None:
                continue
            # Conductor runs its task list in order: keep that order
            text = json.dumps(step.step)
            follows = [s for s in after if f"steps.{s}." not in text]
            if follows:
                step.step["depends_on"] = follows
            after = [str(step.step["id"])]
        return after

    def task(
        self, task: dict[str, Any], flow: dict[str, Any], where: str, ref: str
    ) -> ImportedStep | None:
        """The step of one task, or ``None`` (a note says why)."""
        missing: list[str] = []
        ctx = self.ctx
        if task.get("type") == "JSON_JQ_TRANSFORM":
            why = ctx.jq(task, ref)
            if why is not None:
                self.note(where, ref, f"its jq cannot be translated ({why}); not imported")
            return None
        if task.get("type") != "HTTP":
            self.note(where, ref, f"a {task.get('type')} task is not imported")
            return None
        params = task.get("inputParameters")
        params = params if isinstance(params, dict) else {}
        http = params.get("http_request")
        if not isinstance(http, dict):  # the flat form: uri, method, body... directly
            http = params
        uri = str(http.get("uri") or "")
        host = _host_expression(uri)
        if host is not None:
            self.note(
                where,
                ref,
                f"not imported: its host comes from {host}, and a step's host is a literal"
                " (no input may change where a request goes); write the step with its host",
            )
            return None

        def tr(value: Any) -> Any:
            return _translate(value, ctx, missing)

        raw_headers = http.get("headers")
        raw_headers = raw_headers if isinstance(raw_headers, dict) else {}
        headers = {str(k): str(tr(v)) for k, v in raw_headers.items()}
        for key, header in (("contentType", "Content-Type"), ("accept", "Accept")):
            value = http.get(key)
            given = any(k.lower() == header.lower() for k in headers)
            if isinstance(value, str) and value and value != "application/json" and not given:
                headers[header] = str(tr(value))  # Conductor's default is JSON: sent anyway
        request = Request(
            method=str(http.get("method") or "GET"),
            # the text around references was encoded by the exporter; references were not:
            # request_step splits the query around them
            url=str(_translate(uri, ctx, missing, url=True)),
            headers=headers,
            body=tr(http.get("body")),
            source=ref,
        )
        step = request_step(request, re.sub(r"\W", "_", ref), self.tasks)
        problem = untranslatable(step)
        if problem is not None:
            self.note(where, ref, f"not imported: {problem}")
            return None
        unique_secrets(step, self.taken)
        step.step.update(flow)
        timeout = _timeout(http)
        if timeout:
            step.step["timeout"] = timeout
        used = {m.group(1) for m in _INPUT_REF.finditer(json.dumps(step.step))}
        step.inputs.update({k: v for k, v in self.inputs.items() if k in used})
        for expr in missing:
            self.note(where, ref, f"${{{expr}}} has no counterpart; left as text")
        self.refs.steps[str(step.step["id"])] = step
        self.imported.steps.append(step)
        return step


def _timeout(http: dict[str, Any]) -> dict[str, float]:
    """``connectionTimeOut`` and ``readTimeOut`` (milliseconds; 0: none) as a step's
    ``timeout: {connect, read}`` in seconds."""
    out: dict[str, float] = {}
    for key, name in (("connectionTimeOut", "connect"), ("readTimeOut", "read")):
        value = http.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            out[name] = value / 1000
    return out


def _host_expression(uri: str) -> str | None:
    """The ``${...}`` that gives the host of ``uri`` (``http://${workflow.input.host}/x``,
    ``${workflow.input.base}/x``), or ``None`` when its host is a literal."""
    head = re.match(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?://)?[^/?#]*", uri)
    found = _EXPR.search(head.group(0) if head else "") or (
        _EXPR.match(uri) if uri.startswith("${") else None
    )
    return found.group(0) if found else None


def _inputs(data: dict[str, Any], imported: Imported, file: str) -> dict[str, dict[str, Any]]:
    """Each input's type, default and whether it is required (a credential's default is
    left out, and the notes say so)."""
    template = data.get("inputTemplate") or {}
    schema = ((data.get("inputSchema") or {}).get("data") or {}) if isinstance(data, dict) else {}
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    kinds = {bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}
    out: dict[str, dict[str, Any]] = {}
    for name in data.get("inputParameters") or []:
        prop = props.get(name) or {}
        spec: dict[str, Any] = {"type": prop.get("type") or "string"}
        if isinstance(template, dict) and name in template:
            value = template[name]
            spec = {"type": prop.get("type") or kinds.get(type(value), "string")}
            secret = isinstance(value, str) and any(looks_secret(w) for w in value.split())
            if secret or name_is_credential(str(name), "body"):
                imported.notes.append(
                    f"{file}: inputTemplate.{name} looks like a credential: its value is not"
                    " written; give the input when running"
                )
            else:
                spec["default"] = value
        elif props and name not in required:
            spec["required"] = False
        out[str(name)] = spec
    return out


class _Context:
    """What the system tasks seen so far stand for."""

    def __init__(self, refs: References, imported: Imported) -> None:
        self.refs = refs
        self.imported = imported
        #: jq task ref -> result key -> jinja expression
        self.values: dict[str, dict[str, str]] = {}
        #: loop item task refs (``item``/``index`` inside a for_each)
        self.items: set[str] = set()

    def walk(
        self, tasks: list[Any], when: str | None = None, loop: Any = None
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any], tuple[str | None, Any]]]:
        """Tasks in order, each with the ``when``, ``for_each`` and ``until`` it runs under,
        and the condition and loop it is in (a ``FORK_JOIN``'s branches run under them)."""
        flow: dict[str, Any] = {}
        if when is not None:
            flow["when"] = "{{ " + when + " }}"
        if loop is not None:
            flow["for_each"] = loop
        skip = ""
        for task in tasks:
            if not isinstance(task, dict):
                continue
            if skip and task.get("taskReferenceName") == skip and _fails(task):
                continue  # the until's failure on timeout: part of the until
            skip = ""
            kind = task.get("type")
            cases = task.get("decisionCases") or {}
            if kind == "SWITCH" and set(cases) == {"true"} and not task.get("defaultCase"):
                condition = self.condition(task)
                if condition is not None:
                    inner = condition if when is None else f"({when}) and ({condition})"
                    yield from self.walk(cases["true"], inner, loop)
                    continue
            body = task.get("loopOver") or []
            first = body[0] if body and isinstance(body[0], dict) else {}
            params = first.get("inputParameters") or {}
            if kind == "DO_WHILE" and params.get("queryExpression") == LOOP_ITEM:
                self.items.add(str(first.get("taskReferenceName")))
                missing: list[str] = []
                items = _translate(params.get("items"), self, missing)
                yield from self.walk(body[1:], when, items)
                continue
            if kind == "DO_WHILE":
                until = self.until(task)
                if until is not None:
                    call = body[0]
                    yield call, {**flow, "until": until}, (when, loop)
                    skip = f"{call.get('taskReferenceName')}_timeout"
                    continue
            yield task, flow, (when, loop)

    def until(self, task: dict[str, Any]) -> dict[str, Any] | None:
        """The ``until:`` of a DO_WHILE the exporter wrote for one, else ``None``."""
        body = task.get("loopOver") or []
        kinds = [t.get("type") if isinstance(t, dict) else None for t in body]
        found = UNTIL_CONDITION.fullmatch(str(task.get("loopCondition") or "").strip())
        if kinds != ["HTTP", "WAIT"] or found is None:
            return None
        if found.group("loop") != task.get("taskReferenceName"):
            return None
        call = str(body[0].get("taskReferenceName"))
        params = task.get("inputParameters") or {}
        try:
            condition = self.expression(parse(found.group("cond")), params, call)
        except Untranslatable as exc:
            self.imported.notes.append(f"DO_WHILE {task.get('taskReferenceName')}: {exc}")
            return None
        wait = re.fullmatch(
            r"\s*(\d+)\s*s(?:ec(?:ond)?s?)?\s*",
            str((body[1].get("inputParameters") or {}).get("duration") or ""),
        )
        interval = params.get("interval")
        if not isinstance(interval, int | float) or isinstance(interval, bool) or interval <= 0:
            interval = int(wait.group(1)) if wait and int(wait.group(1)) > 0 else 2
        timeout = params.get("timeout")
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            timeout = int(found.group("n")) * interval
        return {"condition": "{{ " + condition + " }}", "interval": interval, "timeout": timeout}

    def expression(self, tree: Tree, params: dict[str, Any], call: str = "") -> str:
        """``tree`` as a jinja expression, its ``vN`` read from ``params``; in an until
        loop, ``call['response']...`` is the call's own ``response``."""

        def ref(name: str) -> str:
            own = _OWN.fullmatch(name)
            if call and own and own.group(1) == call:
                keys = re.findall(r"\['([^']*)'\]", own.group(2))
                if keys[:2] == ["response", "statusCode"] and len(keys) == 2:
                    return "response.status_code"
                if keys[:1] == ["response"] and len(keys) >= 2:
                    return ".".join(keys)
                raise Untranslatable(f"$.{name}")
            missing: list[str] = []
            got = _translate(params.get(name), self, missing)
            if missing or not isinstance(got, str):
                if isinstance(got, str | int | float | bool | list | dict) and not missing:
                    return json.dumps(got)
                raise Untranslatable(f"${{{', '.join(missing)}}}")
            plain = unescape(got)  # literal text: a constant
            if plain is not None:
                return json.dumps(plain)
            inner = _TEMPLATE.fullmatch(got)
            return inner.group(1)[2:-2].strip() if inner else json.dumps(got)

        return emit(tree, "jinja", ref)

    def condition(self, task: dict[str, Any]) -> str | None:
        text = str(task.get("expression") or "")
        found = re.fullmatch(r"\((.*)\) \? 'true' : 'false'", text.strip(), re.S)
        try:
            if task.get("evaluatorType") != "javascript" or found is None:
                raise Untranslatable("not a condition the exporter writes")
            return self.expression(parse(found.group(1)), task.get("inputParameters") or {})
        except Untranslatable as exc:
            ref = task.get("taskReferenceName")
            self.imported.notes.append(f"SWITCH {ref}: {exc}; its cases are imported without it")
            return None

    def jq(self, task: dict[str, Any], ref: str) -> str | None:
        """Read a jq task's values; why it cannot be, or ``None`` when it was."""
        params = task.get("inputParameters") or {}
        try:
            trees = parse_object(str(params.get("queryExpression") or ""))
            self.values[ref] = {k: self.expression(t, params) for k, t in trees.items()}
        except (Untranslatable, ValueError) as exc:
            return str(exc) or type(exc).__name__
        return None


_OWN = re.compile(r"(\w+)((?:\['[^']*'\])+)")


def _fails(task: dict[str, Any]) -> bool:
    """Whether ``task`` is a SWITCH whose one case only TERMINATEs (an until's timeout)."""
    cases = task.get("decisionCases") or {}
    inner = cases.get("true") or []
    return (
        task.get("type") == "SWITCH"
        and set(cases) == {"true"}
        and bool(inner)
        and all(isinstance(t, dict) and t.get("type") == "TERMINATE" for t in inner)
    )


def _translate(value: Any, ctx: _Context, missing: list[str], *, url: bool = False) -> Any:
    """``value`` with its ``${...}`` translated, the text around them literal (in a ``url``,
    literal braces percent-encoded); an untranslated ``${...}`` stays text and is listed in
    ``missing``; a secret is ``$NAME`` (the importer declares it)."""
    if isinstance(value, dict):
        return {k: _translate(v, ctx, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_translate(v, ctx, missing) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str | None:
        """The template ``${...}`` stands for, or ``None`` (text)."""
        expr = match.group(1).strip()
        parts = expr.split(".")
        if not all(_NAME.fullmatch(p) for p in parts[:3]):
            return None
        if parts[:2] == ["workflow", "input"] and len(parts) == 3:
            return f"{{{{ inputs.{parts[2]} }}}}"
        if parts[1:3] == ["output", "result"] and len(parts) >= 4:
            words = all(_NAME.fullmatch(p) or p.isdigit() for p in parts[4:])
            if parts[0] in ctx.items and parts[3] in ("item", "index") and words:
                return "{{ " + ".".join(parts[3:]) + " }}"
            computed = ctx.values.get(parts[0], {}).get(parts[3])
            if computed is not None and len(parts) == 4:
                return "{{ " + computed + " }}"
        if len(parts) >= 4 and parts[1:4] == ["output", "response", "body"]:
            return ctx.refs.output(parts[0], ".".join(parts[4:]))
        return None

    whole = _EXPR.fullmatch(value)
    if whole and whole.group(1).startswith("workflow.secrets."):
        return "$" + whole.group(1).split(".")[2]
    out: list[tuple[str, bool]] = []
    at = 0
    for match in _EXPR.finditer(value):
        out.append((value[at : match.start()], False))
        at = match.end()
        parts = match.group(1).strip().split(".")
        if parts[:2] == ["workflow", "secrets"] and len(parts) == 3 and _NAME.fullmatch(parts[2]):
            out.append((f"${parts[2]}", False))  # a credential: declared as a secret
            continue
        got = one(match)
        if got is None:
            missing.append(match.group(1).strip())
            out.append((match.group(0), False))
        else:
            out.append((got, True))
    out.append((value[at:], False))
    if url:
        return "".join(t if template else literal_url(t) for t, template in out)
    return join(out)
