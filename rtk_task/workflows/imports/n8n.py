"""An n8n workflow's HTTP Request nodes as steps, in the order of its ``connections``.

Read: ``n8n-nodes-base.httpRequest`` nodes of typeVersion 1 to 4 (``method`` or
``requestMethod``, ``url``, query, headers and body in every content type, binary uploads,
pagination, ``authentication``, ``options.timeout`` and the node's ``onError`` and ``notes``),
``n8n-nodes-base.set`` nodes (their literal fields become workflow inputs with those
defaults), and the nodes that decide which nodes run: IF, Switch and Merge nodes become exact
``when:`` conditions, and a Wait and IF looping back to an HTTP Request node becomes its
``until:`` (:mod:`.n8n_flow`). Bodies, binary uploads and pagination: :mod:`.n8n_parts`.

References become workflow references where they can:

- ``{{ $node["Name"].json.P }}``, ``{{ $('Name').item.json.P }}`` (also ``.first()``,
  ``.last()``) and ``{{ $json.P }}`` (the node before, looking through IF, Switch, Wait, NoOp
  and Set nodes) become ``{{ steps.S.outputs.NAME }}`` (an ``outputs:`` entry is added to
  ``S`` when its task has none at ``P``), or ``{{ inputs.F }}`` for a field of a Set node;
  JavaScript string concatenation (``'https://h/items/' + $json.id``) keeps its literal text;
- anything else (code, a trigger's data, ``$now``) becomes an input the user gives, and is
  listed in the notes: never silently dropped, never left as text that would not load. Each
  distinct expression is its own input (``n8n_json_id``, ``n8n_json_id_2``...).

A URL whose scheme and host come from an expression is a step whose host is templated: the
workflow's ``hosts:`` lists the hosts written literally in that expression (or in the default
of the Set node field it reads), or is empty with a note asking for them; a host not in the
list is refused when the step runs.

Credentials are never written: a node's credential becomes a declared secret read from an
environment variable the notes name (a known task's own token variable when the URL is one
of its paths, as ``import curl`` does), and so does every header, query or body value that
names or looks like one (:mod:`.credentials`), an expression there included; a Set node's
field that looks like one becomes an input without its default. Text that is not an
expression (a parameter without ``=``, the text around ``{{ }}``) stays literal. Every step
follows the HTTP steps before it in the connections (a reference or ``depends_on``), so the
order of the calls is the order n8n ran.

Nothing is lost silently: every node becomes a step, an input, a condition, or a note naming
it and what happened; an option or node setting with no counterpart is a note too. A node
that cannot be translated costs its own step, never the whole file: a note names the node
and says why. The export is read within bounds (:func:`~.text.read_json`), and every step of
the import costs the same however many nodes came before: 20,000 nodes import in seconds
(``benchmarks/bench_imports.py``).
"""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any

from ...errors import Problem, RtkError, WorkflowError
from ...manifests.http import HTTP_TASK
from ...manifests.http_origin import split_origin
from . import (
    Imported,
    ImportedStep,
    Request,
    TaskIndex,
    request_step,
    token_env,
    unique_inputs,
    unique_secrets,
    untranslatable,
)
from .credentials import looks_secret, name_is_credential
from .n8n_flow import (
    ALWAYS,
    IF_NODE,
    MERGE_NODE,
    NEVER,
    SWITCH_NODE,
    WAIT_NODE,
    Cond,
    Loop,
    find_loops,
    if_condition,
    merge_rule,
    switch_outputs,
    wait_seconds,
)
from .n8n_parts import Body, Node, body_v1, body_v3, literal_hosts, node_settings, pagination
from .n8n_read import NOOP_NODE, SET_NODE, Reader, step_id
from .text import read_json

__all__ = ["import_n8n"]

HTTP_NODE = "n8n-nodes-base.httpRequest"
_CREDENTIAL_VAR = "N8N_{}"
_INPUT_REF = re.compile(r"inputs\.([A-Za-z_][A-Za-z0-9_]*)")
#: The most seconds an ``until:`` waits between calls, and waits in all.
_MOST_INTERVAL, _MOST_WAIT = 3600.0, 86_400.0


def import_n8n(text: str, file: str = "<n8n>") -> Imported:
    """The HTTP Request nodes of the n8n workflow export ``text`` as steps."""
    data = read_json(text, file, WorkflowError, "export it from n8n (Download)")
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise WorkflowError(Problem(file, "an n8n workflow has a `nodes` list"))
    return _Importer(data, file).run()


class _Importer(Reader):
    def __init__(self, data: dict[str, Any], file: str) -> None:
        super().__init__(str(data.get("name") or "imported"), file)
        self.order: list[str] = []
        self.tasks = TaskIndex()  # read once: matched against every node's URL
        #: secrets the steps so far declared (name -> variable), and their step ids
        self.taken: dict[str, str] = {}
        self.ids: set[str] = set()
        for raw in data["nodes"]:
            if not isinstance(raw, dict) or not raw.get("name"):
                continue
            if raw.get("disabled"):
                self.note(str(raw["name"]), "disabled in n8n; not imported")
                continue
            params, credentials = raw.get("parameters"), raw.get("credentials")
            node = Node(
                name=str(raw["name"]),
                type=str(raw.get("type") or ""),
                version=_version(raw.get("typeVersion")),
                params=dict(params) if isinstance(params, dict) else {},
                credentials=credentials if isinstance(credentials, dict) else {},
                settings={k: v for k, v in raw.items() if k not in ("parameters",)},
            )
            self.nodes[node.name] = node
            self.order.append(node.name)
        connections = data.get("connections") or {}
        self.children: dict[str, list[tuple[str, int]]] = {n: [] for n in self.nodes}
        for source, kinds in connections.items() if isinstance(connections, dict) else []:
            main = kinds.get("main") if isinstance(kinds, dict) else None
            for index, targets in enumerate(main if isinstance(main, list) else []):
                for target in targets if isinstance(targets, list) else []:
                    name = str(target.get("node") if isinstance(target, dict) else None)
                    slot = target.get("index", 0) if isinstance(target, dict) else 0
                    if source in self.nodes and name in self.nodes:
                        slot = slot if isinstance(slot, int) else 0
                        self.nodes[name].parents.append((source, index, slot))
                        self.children[source].append((name, index))
        self.loops: dict[str, Loop] = {}
        self.in_loop: dict[str, Loop] = {}
        self.find_loops()

    def find_loops(self) -> None:
        """Wait and IF loops back to an HTTP Request node: the connection closing each is
        left out, and the HTTP node repeats until the IF's exit holds."""
        types = {n: node.type for n, node in self.nodes.items()}
        parents = {n: [p for p, _, _ in node.parents] for n, node in self.nodes.items()}
        for loop in find_loops(types, self.children, parents):
            wait = self.nodes[loop.wait]
            if wait_seconds(wait.params) is None:
                self.note(
                    loop.wait, "it waits for a webhook, form or date: its loop is not imported"
                )
                continue
            source, out, target = loop.edge
            self.nodes[target].parents.remove(
                next(p for p in self.nodes[target].parents if p[:2] == (source, out))
            )
            self.children[source].remove((target, out))
            self.loops[loop.http] = loop
            self.in_loop[loop.if_] = self.in_loop[loop.wait] = loop

    def run(self) -> Imported:
        for name in self.in_order():
            node = self.nodes[name]
            self.http_before(node)
            node.cond = self.cond_of(node)
            try:
                self.read_node(node)
            except RtkError as exc:  # this node costs its own step, not the whole file
                self.note(name, f"not imported: {exc.first.message}")
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                self.note(name, f"not imported: its parameters are not as n8n writes them ({exc})")
                if node.type == IF_NODE:  # its branches still depend on it
                    condition = self.condition_input(node, "its condition")
                    node.outputs = [Cond.of(condition), Cond.of(condition).not_()]
                elif node.type == SWITCH_NODE:
                    node.outputs = self.switch_input(node)
        if not self.imported.steps:
            raise WorkflowError(
                Problem(self.file, "no HTTP Request nodes to import", f"node types: {HTTP_NODE}")
            )
        order = {k: i for i, k in enumerate(self.inputs)}
        for step in self.imported.steps:
            found = {m.group(1) for m in _INPUT_REF.finditer(json.dumps(step.step))}
            known = sorted((k for k in found if k in order), key=order.__getitem__)
            step.inputs.update((k, self.inputs[k]) for k in known)
        return self.imported

    def read_node(self, node: Node) -> None:
        """One node as a step, an input, a condition, or a note."""
        name = node.name
        if node.type == HTTP_NODE:
            self.http(node)
        elif node.type == SET_NODE:
            self.set_node(node)
        elif node.type == IF_NODE:
            self.if_node(node)
        elif node.type == SWITCH_NODE:
            self.switch_node(node)
        elif node.type == WAIT_NODE and name in self.in_loop:
            http = self.in_loop[name].http
            self.note(name, f"its interval is the `until:` interval of {http!r}")
        elif node.type == WAIT_NODE:
            self.note(name, "a pause between nodes is not imported: the steps after it run at once")
        elif node.type in (MERGE_NODE, NOOP_NODE):
            return  # its condition is the steps' after it
        elif node.parents:
            self.note(name, f"a {node.type} node is not imported")
        else:
            self.note(name, f"a {node.type} node starts the workflow in n8n; not imported")

    def in_order(self) -> list[str]:
        """Nodes parents first; among the ready ones, the order n8n would reach them."""
        waiting = {n: {p for p, _, _ in node.parents} for n, node in self.nodes.items()}
        done: list[str] = []
        seen: set[str] = set()  # done or ready
        ready = deque(n for n in self.order if not waiting[n])
        seen.update(ready)
        while ready:
            name = ready.popleft()
            done.append(name)
            for child, _ in sorted(self.children[name], key=lambda c: c[1]):
                waiting[child].discard(name)
                if not waiting[child] and child not in seen:
                    seen.add(child)
                    ready.append(child)
        for name in self.order:
            if name not in seen:
                self.note(name, "part of a loop in the connections; not imported")
        return done

    # -- when nodes run ---------------------------------------------------------------

    def edge(self, parent: str, output: int) -> Cond:
        """When ``parent`` sends items on its output ``output``."""
        source = self.nodes[parent]
        cond: Cond = source.cond if source.cond is not None else ALWAYS
        if source.outputs is None:
            return cond
        branch = source.outputs[output] if output < len(source.outputs) else NEVER
        return cond.and_(branch)

    def cond_of(self, node: Node) -> Cond:
        """When ``node`` runs: when the nodes before it send it items, as n8n decides."""
        if not node.parents:
            return ALWAYS
        try:
            if node.type == MERGE_NODE:
                return self.merge_cond(node)
            edges = [self.edge(p, out) for p, out, _ in node.parents]
            cond = NEVER
            for e in edges:
                cond = cond.or_(e)
            overlap = any(not a.excludes(b) for i, a in enumerate(edges) for b in edges[i + 1 :])
            if overlap and node.type == HTTP_NODE:
                self.note(
                    node.name,
                    "n8n runs it once for each node before it that sends it items; its step"
                    " runs once, after all of them",
                )
            return cond
        except ValueError as exc:
            key = self.new_input(
                f"n8n_runs_{step_id(node.name)}",
                {"type": "boolean", "description": f"whether node {node.name!r} runs"},
            )
            self.note(node.name, f"when it runs is too involved ({exc}): it is the input {key}")
            return Cond.of(f"inputs.{key}")

    def merge_cond(self, node: Node) -> Cond:
        by_input: dict[int, Cond] = {}
        for parent, out, slot in node.parents:
            by_input[slot] = by_input.get(slot, NEVER).or_(self.edge(parent, out))
        rule = merge_rule(node.params, node.version)
        if rule is None:
            self.note(
                node.name,
                f"its {node.params.get('mode')} output depends on the data: the steps after it"
                " run when any input has items",
            )
            rule = ("any", 0)
        kind, which = rule
        if kind == "input":
            return by_input.get(which - 1, NEVER)
        count = node.params.get("numberInputs", 2)
        slots = range(count if isinstance(count, int) and count >= 2 else 2)
        runs = NEVER if kind == "any" else ALWAYS
        for slot in slots:
            got = by_input.get(slot, NEVER)
            runs = runs.or_(got) if kind == "any" else runs.and_(got)
        return runs

    def condition_input(self, node: Node, what: str) -> str:
        key = self.new_input(
            f"n8n_if_{step_id(node.name)}",
            {"type": "boolean", "description": f"the condition of node {node.name!r}"},
        )
        self.note(node.name, f"{what} cannot be translated: it is the boolean input {key}")
        return f"inputs.{key}"

    def if_node(self, node: Node) -> None:
        loop = self.in_loop.get(node.name)
        if loop is not None:  # its exit branch runs once the until holds; the loop is gone
            node.outputs = [NEVER, ALWAYS] if loop.output == 0 else [ALWAYS, NEVER]
            return
        condition = if_condition(node.params, lambda v: self.expression(node, v, inner=True))
        if condition is None:
            condition = self.condition_input(node, "its condition")
        node.outputs = [Cond.of(condition), Cond.of(condition).not_()]

    def switch_node(self, node: Node) -> None:
        try:
            outputs = switch_outputs(
                node.params, node.version, lambda v: self.expression(node, v, inner=True)
            )
        except ValueError:
            outputs = None
        node.outputs = outputs if outputs is not None else self.switch_input(node)

    def switch_input(self, node: Node) -> list[Cond]:
        """A Switch node whose rules cannot be translated: an input picks its output."""
        key = self.new_input(
            f"n8n_switch_{step_id(node.name)}",
            {"type": "integer", "description": f"the output node {node.name!r} takes"},
        )
        self.note(node.name, f"its rules cannot be translated: the input {key} picks its output")
        count = max([out for _, out in self.children[node.name]] + [0]) + 1
        return [Cond.of(f"inputs.{key} == {i}") for i in range(count)]

    # -- nodes ------------------------------------------------------------------------

    def set_node(self, node: Node) -> None:
        p = node.params
        found: list[tuple[str, Any]] = []
        assignments = _dict(p.get("assignments")).get("assignments")
        if isinstance(assignments, list):  # typeVersion 3.3 and later
            found = [(str(a.get("name")), a.get("value")) for a in assignments if a.get("name")]
        elif isinstance(_dict(p.get("fields")).get("values"), list):  # 3.0 to 3.2
            for f in p["fields"]["values"]:
                value = next((f[k] for k in f if k.endswith("Value")), f.get("value"))
                found.append((str(f.get("name")), value))
        elif isinstance(p.get("values"), dict):  # 1 and 2: {string: [...], number: [...]}
            for items in p["values"].values():
                found.extend((str(f.get("name")), f.get("value")) for f in items or [])
        for name, value in found:
            base = step_id(name)
            described = {"type": "string", "description": f"{node.name}.{name}"}
            if isinstance(value, str) and value.startswith("="):
                key = self.new_input(base, described)
                self.note(node.name, f"field {name!r} is an expression; made the input {key}")
            elif name_is_credential(name, "body") or _secret_looking(value):
                key = self.new_input(base, described)
                self.note(
                    node.name,
                    f"field {name!r} looks like a credential: its value is not written;"
                    f" give it as the input {key}",
                )
            else:
                kinds = {bool: "boolean", int: "integer", float: "number", dict: "object"}
                kind = kinds.get(type(value), "array" if isinstance(value, list) else "string")
                key = self.new_input(base, {"type": kind, "default": value})
            node.fields[name] = key

    def http(self, node: Node) -> None:
        p = node.params
        v4 = node.version >= 3
        method = str(p.get("method" if v4 else "requestMethod") or "GET").upper()
        raw_url = p.get("url") or ""
        url = str(self.expression(node, raw_url, url=True))
        query: dict[str, Any] = {}
        headers: dict[str, Any] = {}
        body: Body
        if v4:
            if p.get("sendQuery"):
                query.update(self.pairs(node, p, "Query", "queryParameters"))
            if p.get("sendHeaders"):
                headers.update(self.pairs(node, p, "Headers", "headerParameters"))
            body = body_v3(self, node)
        else:
            json_params = bool(p.get("jsonParameters"))
            for key, out in (("query", query), ("header", headers)):
                got = (
                    self.json_text(node, p.get(f"{key}ParametersJson"))
                    if json_params
                    else self.named(node, _dict(p.get(f"{key}ParametersUi")).get("parameter"))
                )
                if isinstance(got, dict):
                    out.update(got)
            body = body_v1(self, node, self.json_text)
        for name, value in body.headers.items():
            if not any(k.lower() == name.lower() for k in headers):
                headers[name] = value
        headers.update(self.credential(node))
        paging = pagination(self, node, query)
        request = Request(method, url, {k: str(v) for k, v in headers.items()}, query, body.value)
        request.source = node.name
        request.files = body.files
        request.body_file = body.body_file
        sid = base = step_id(node.name)
        n = 2
        while sid in self.ids:
            sid, n = f"{base}_{n}", n + 1
        self.ids.add(sid)
        step = request_step(request, sid, self.tasks)
        step.hosts = self.hosts_of(node, str(raw_url), url)
        problem = untranslatable(step)
        if problem is not None:
            self.note(node.name, f"not imported: {problem}")
            return
        unique_secrets(step, self.taken)
        unique_inputs(step, self.inputs)
        for note in step.notes:
            self.note(node.name, note)
        step.notes = []
        if paging is not None:
            self.paginate(node, step, paging)
        if node.name in self.loops and not self.until(node, step):
            return
        node_settings(self, node, step.step)
        when = node.cond.jinja() if node.cond is not None else None
        if when is not None:
            step.step["when"] = "{{ " + when + " }}"
            if when == "false":
                self.note(node.name, "no branch before it ever sends it items: it never runs")
        before = self.http_before(node)
        text = json.dumps(step.step)
        after = [s for s in before if f"steps.{s}." not in text]
        if after:
            step.step["depends_on"] = after
        node.step = step
        node.before = [str(step.step["id"])]
        self.refs.steps[str(step.step["id"])] = step
        self.imported.steps.append(step)

    def hosts_of(self, node: Node, raw_url: str, url: str) -> list[str] | None:
        """The ``hosts:`` a step whose URL's host is templated may call (``None``: its host
        is a literal): those written in the n8n expression, or in the defaults of the
        inputs it reads; none (a note asks for them) when no host is known."""
        origin, _ = split_origin(url)
        if origin is None:
            return None
        raw = raw_url[1:] if raw_url.startswith("=") else raw_url
        written = split_origin(raw)[0] or raw  # the n8n text of the scheme and host
        hosts = literal_hosts(written)
        for key in _INPUT_REF.findall(origin):
            default = self.inputs.get(key, {}).get("default")
            hosts.extend(h for h in literal_hosts(str(default or "")) if h not in hosts)
        if hosts:
            self.note(
                node.name,
                f"its URL's host comes from an expression: `hosts:` lists {', '.join(hosts)};"
                " add any other host it may call",
            )
        else:
            self.note(
                node.name,
                "its URL's host comes from an expression: list the hosts it may call under"
                " `hosts:` (none is listed: every call is refused until then)",
            )
        return hosts

    def paginate(self, node: Node, step: ImportedStep, paging: dict[str, Any]) -> None:
        """``paginate: true`` on the step: its ``paging:`` for an http step, the task's own
        paging for a known task that pages by the same parameter."""
        with_ = step.step["with"]
        if step.step["task"] == HTTP_TASK:
            with_["paging"] = paging["paging"]
            with_.get("query", {}).pop(paging["paging"]["param"], None)
            if with_.get("query") == {}:
                del with_["query"]
        else:
            from ...manifests.registry import load_task
            from ...paginate import paging_of

            own = paging_of(load_task(str(step.step["task"])))
            if own is None or own.param != paging["paging"]["param"]:
                self.note(
                    node.name,
                    f"its pagination is not imported: {step.step['task']} does not page by it",
                )
                return
            with_.pop(own.param, None)
        step.step["paginate"] = True
        if "max_pages" in paging:
            step.step["max_pages"] = paging["max_pages"]

    def until(self, node: Node, step: ImportedStep) -> bool:
        """``until:`` on the step of an HTTP node a Wait and IF loop back to; ``False`` (the
        node costs its step, a note says why) when its condition cannot be translated."""
        loop = self.loops[node.name]
        gate = self.nodes[loop.if_]
        self.until_of = node.name
        try:
            condition = if_condition(gate.params, lambda v: self.expression(gate, v, inner=True))
        finally:
            self.until_of = None
        if condition is None:
            self.note(
                node.name,
                f"not imported: the condition of {loop.if_!r}, which ends its loop, cannot"
                " be translated",
            )
            return False
        holds = condition if loop.output == 1 else f"not ({condition})"
        interval = wait_seconds(self.nodes[loop.wait].params) or 1.0
        if interval > _MOST_INTERVAL:
            self.note(
                loop.wait, f"its {interval:g} s are more than until waits ({_MOST_INTERVAL:g} s)"
            )
            interval = _MOST_INTERVAL
        step.step["until"] = {
            "condition": "{{ " + holds + " }}",
            "interval": interval,
            "timeout": _MOST_WAIT,
        }
        self.note(
            node.name,
            f"it repeats every {interval:g} s until {loop.if_!r} lets it through; n8n polls"
            f" without end, the step gives up after {_MOST_WAIT:g} s",
        )
        return True

    def http_before(self, node: Node) -> list[str]:
        """The nearest HTTP steps above ``node`` (looking through other nodes); each node's
        are known once its parents were read (:meth:`run` reads parents first)."""
        out: list[str] = []
        for parent, _, _ in node.parents:
            out.extend(s for s in self.nodes[parent].before if s not in out)
        if node.step is None:
            node.before = out
        return out

    def credential(self, node: Node) -> dict[str, str]:
        """The header a node's credential makes: ``$VAR``, turned into a secret later."""
        auth = str(node.params.get("authentication") or "none")
        if auth == "none":
            return {}
        kind = str(
            node.params.get("genericAuthType") or node.params.get("nodeCredentialType") or auth
        )
        cred: Any = node.credentials.get(kind) or next(iter(node.credentials.values()), {})
        label = str(_dict(cred).get("name") or kind)
        env = token_env(
            _CREDENTIAL_VAR.format(re.sub(r"[^A-Z0-9]+", "_", label.upper()).strip("_"))
        )
        if kind in ("httpHeaderAuth", "headerAuth", "httpBearerAuth") or "Api" in kind:
            return {"Authorization": f"Bearer ${env}"}
        self.note(
            node.name,
            f"its {kind} credential {label!r} is not imported: only a bearer token is; add"
            ' `Authorization: "Bearer {{ secrets.NAME }}"` by hand',
        )
        return {}


def _version(value: Any) -> float:
    try:
        return float(value or 1)
    except (TypeError, ValueError):
        return 1.0


def _secret_looking(value: Any) -> bool:
    return isinstance(value, str) and any(looks_secret(w) for w in value.split())


def _dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping (an n8n parameter), else an empty one."""
    return value if isinstance(value, dict) else {}
