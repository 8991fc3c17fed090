"""n8n imports lose nothing silently (issue 25, item 6): URLs built by expressions (the host
held to ``hosts:``), path segments of text and a template, distinct inputs for distinct
expressions, whole-expression JSON bodies, pagination, binary uploads, IF/Switch/Merge
conditions and Wait->IF polling loops. Every export here is written for the test in n8n's own
format; each import passes ``check`` and runs against a recording server on 127.0.0.1, and
what it sends is compared on method, path, query, headers and body."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rtk_task.workflows.check import check_workflow
from rtk_task.workflows.imports import Imported, to_data
from rtk_task.workflows.imports.n8n import import_n8n
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import RunResult, run_workflow
from tests.recorder import Recorder, Reply, Seen, reply


def _http(name: str, url: str, version: float = 4.2, **params: Any) -> dict[str, Any]:
    return {
        "id": f"id-{name}",
        "name": name,
        "type": "n8n-nodes-base.httpRequest",
        "typeVersion": version,
        "position": [0, 0],
        "parameters": {"url": url, "options": {}, **params},
    }


def _node(name: str, kind: str, version: float, **params: Any) -> dict[str, Any]:
    return {
        "id": f"id-{name}",
        "name": name,
        "type": f"n8n-nodes-base.{kind}",
        "typeVersion": version,
        "position": [0, 0],
        "parameters": params,
    }


def _set(name: str, **fields: Any) -> dict[str, Any]:
    assignments = [
        {"id": f"a{i}", "name": k, "value": v, "type": "string"}
        for i, (k, v) in enumerate(fields.items())
    ]
    return _node(name, "set", 3.4, assignments={"assignments": assignments}, options={})


def _if(name: str, left: str, op: str, right: Any = None, kind: str = "string") -> dict[str, Any]:
    condition = {
        "id": "c1",
        "leftValue": left,
        "rightValue": right if right is not None else "",
        "operator": {"type": kind, "operation": op},
    }
    return _node(
        name,
        "if",
        2,
        conditions={
            "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict"},
            "conditions": [condition],
            "combinator": "and",
        },
        options={},
    )


def _links(*links: tuple[Any, ...]) -> dict[str, Any]:
    """``(source, target[, output[, input]])`` as n8n's ``connections``."""
    out: dict[str, Any] = {}
    for source, target, *rest in links:
        output, slot = ([*rest, 0, 0])[:2]
        main = out.setdefault(source, {"main": []})["main"]
        while len(main) <= output:
            main.append([])
        main[output].append({"node": target, "type": "main", "index": slot})
    return out


def _export(nodes: list[dict[str, Any]], connections: dict[str, Any] | None = None) -> str:
    trigger = _node("When clicking 'Test workflow'", "manualTrigger", 1)
    return json.dumps(
        {"name": "imported", "nodes": [trigger, *nodes], "connections": connections or {}}
    )


def _loaded(imported: Imported, hosts: list[str] | None = None) -> str:
    """The imported workflow as YAML (``hosts`` replacing its ``hosts:``), checked."""
    data = to_data(imported.steps, imported.name)
    if hosts is not None:
        data["hosts"] = hosts
    text = json.dumps(data)
    report = check_workflow(parse_workflow(text, "imported.yaml"), {})
    assert report.ok, [str(p) for p in report.problems]
    return text


def _run(text: str, inputs: dict[str, Any] | None = None) -> RunResult:
    return run_workflow(parse_workflow(text, "imported.yaml"), inputs or {})


def _routes(table: dict[str, Callable[[Seen], Reply] | Any]) -> Callable[[Seen], Reply]:
    def respond(seen: Seen) -> Reply:
        got = table.get(seen.path)
        if callable(got):
            return got(seen)
        return reply(got if got is not None else {"ok": True})

    return respond


def _notes(imported: Imported) -> str:
    return "\n".join(imported.notes)


# -- 1. URL expressions: the host literal, or an input held to `hosts:` ---------------------------


def test_a_url_concatenated_in_javascript_keeps_its_literal_host() -> None:
    with Recorder() as rec:
        config = _set("Config", item="a b")
        node = _http("Get", f"={{{{ '{rec.url}/items/' + $('Config').item.json.item + '.json' }}}}")
        imported = import_n8n(_export([config, node], _links(("Config", "Get"))), "w.json")
        (step,) = imported.steps
        assert step.hosts is None  # a literal host: nothing to list
        assert step.step["with"]["url"] == f"{rec.url}/items/{{{{ inputs.item }}}}.json"
        run = _run(_loaded(imported))
        assert run.ok, run.steps
        (seen,) = rec.seen
    assert (seen.method, seen.path, seen.query) == ("GET", "/items/a%20b.json", "")


def test_a_host_from_a_set_field_is_listed_in_hosts_and_held_to_it() -> None:
    with Recorder() as rec:
        config = _set("Config", base_url=rec.url)
        node = _http(
            "List",
            "={{ $('Config').item.json.base_url }}/v1/items",
            sendQuery=True,
            queryParameters={"parameters": [{"name": "q", "value": "x y"}]},
            sendHeaders=True,
            headerParameters={"parameters": [{"name": "Accept", "value": "application/json"}]},
        )
        imported = import_n8n(_export([config, node], _links(("Config", "List"))), "w.json")
        host = rec.url.removeprefix("http://")
        assert to_data(imported.steps, "w")["hosts"] == [host]
        assert f"`hosts:` lists {host}" in _notes(imported)
        text = _loaded(imported)
        assert _run(text).ok
        refused = _run(text, {"base_url": "http://localhost:1"})
        seen = rec.seen
    (one,) = seen
    assert (one.method, one.path, one.params) == ("GET", "/v1/items", {"q": "x y"})
    assert one.header("Accept") == ["application/json"]
    error = refused.steps["list"].error
    assert error is not None
    assert error.kind == "config"
    assert "'localhost'" in error.message


def test_a_host_no_one_wrote_is_an_input_and_an_empty_hosts_list() -> None:
    node = _http("Fetch", "={{ $json.base }}/items/{{ $json.id }}")
    imported = import_n8n(_export([node], _links(("When clicking 'Test workflow'", "Fetch"))))
    assert to_data(imported.steps, "w")["hosts"] == []
    notes = _notes(imported)
    assert "node 'Fetch': its URL's host comes from an expression: list the hosts" in notes
    assert (
        "node 'Fetch': {{ $json.base }} cannot be translated; it is the input n8n_json_base"
        in notes
    )
    text = _loaded(imported)  # loads: `hosts: []` is there, and refuses every host
    with Recorder() as rec:
        refused = _run(text, {"n8n_json_base": rec.url, "n8n_json_id": "1"})
        error = refused.steps["fetch"].error
        assert error is not None
        assert "(none listed)" in error.message
        assert rec.seen == []
        listed = _loaded(imported, hosts=[rec.url.removeprefix("http://")])
        assert _run(listed, {"n8n_json_base": rec.url, "n8n_json_id": "1/2"}).ok
        (seen,) = rec.seen
    assert seen.path == "/items/1%2F2"


def test_every_host_written_in_a_url_expression_is_listed() -> None:
    node = _http(
        "Get",
        "={{ $json.staging ? 'https://staging.example.com' : 'https://api.example.com:8443' }}/v1",
    )
    imported = import_n8n(_export([node]))
    assert imported.steps[0].hosts == ["staging.example.com", "api.example.com:8443"]
    _loaded(imported)


# -- 2. and 3. segments of text and a template; one input per expression --------------------------


def test_five_different_expressions_are_five_inputs() -> None:
    # none reads an HTTP node: each is an input (the Code node is not imported)
    long = "$('Code').item.json.customer.profile.address.street_line_one_extended"
    expressions = [
        f"{long}_a",
        f"{long}_b",
        "$now.toISO()",
        "$now.toIso()",
        "$('Code').item.json['a-b']",
    ]
    with Recorder() as rec:
        nodes = [
            _http(
                f"Call {i}",
                f"{rec.url}/call/{i}",
                sendQuery=True,
                queryParameters={"parameters": [{"name": "q", "value": f"={{{{ {e} }}}}"}]},
            )
            for i, e in enumerate(expressions)
        ]
        links = _links(*((f"Call {i}", f"Call {i + 1}") for i in range(4)))
        imported = import_n8n(_export(nodes, links))
        keys = [s.step["with"]["query"]["q"] for s in imported.steps]
        assert len(set(keys)) == 5, keys
        names = [k.removeprefix("{{ inputs.").removesuffix(" }}") for k in keys]
        run = _run(_loaded(imported), {name: f"v{i}" for i, name in enumerate(names)})
        assert run.ok, run.steps
        seen = rec.seen
    assert [(s.path, s.params) for s in seen] == [(f"/call/{i}", {"q": f"v{i}"}) for i in range(5)]


def test_two_set_nodes_with_the_same_field_are_two_inputs() -> None:
    with Recorder() as rec:
        nodes = [
            _set("First", id="one"),
            _http("A", f"={rec.url}/a/{{{{ $json.id }}}}"),
            _set("Second", id="two"),
            _http("B", f"={rec.url}/b/{{{{ $json.id }}}}.txt"),
        ]
        links = _links(("First", "A"), ("A", "Second"), ("Second", "B"))
        run = _run(_loaded(import_n8n(_export(nodes, links))))
        assert run.ok, run.steps
        seen = rec.seen
    assert [s.path for s in seen] == ["/a/one", "/b/two.txt"]


# -- 4. bodies from expressions -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["={{ $('Make').item.json.payload }}", "={{ JSON.stringify($json.payload) }}"]
)
def test_a_whole_expression_json_body_is_a_template(body: str) -> None:
    payload = {"a": 1, "list": [1, "two"], "nested": {"ok": True}}
    with Recorder(_routes({"/make": {"payload": payload}})) as rec:
        make = _http("Make", f"{rec.url}/make")
        send = _http(
            "Send",
            f"{rec.url}/send",
            method="POST",
            sendBody=True,
            specifyBody="json",
            jsonBody=body,
        )
        imported = import_n8n(_export([make, send], _links(("Make", "Send"))))
        assert imported.steps[1].step["with"]["body"] == "{{ steps.make.outputs.payload }}"
        assert _run(_loaded(imported)).ok
        seen = rec.seen
    assert (seen[1].method, seen[1].path) == ("POST", "/send")
    assert json.loads(seen[1].body) == payload
    assert seen[1].header("Content-Type") == ["application/json"]


def test_an_untranslatable_or_broken_json_body_is_an_input() -> None:
    with Recorder() as rec:
        nodes = [
            _http("Code", f"{rec.url}/one", method="POST", sendBody=True, specifyBody="json",
                  jsonBody="={{ $('Code node').all().map(i => i.json) }}"),
            _http("Broken", f"{rec.url}/two", method="POST", sendBody=True, specifyBody="json",
                  jsonBody='={ "a": {{ $json.x }}, '),
        ]  # fmt: skip
        imported = import_n8n(_export(nodes, _links(("Code", "Broken"))))
        notes = _notes(imported)
        assert "node 'Broken': its JSON body is not JSON" in notes
        bodies = [s.step["with"]["body"] for s in imported.steps]
        assert all(b.startswith("{{ inputs.") for b in bodies), bodies
        keys = [b.removeprefix("{{ inputs.").removesuffix(" }}") for b in bodies]
        run = _run(_loaded(imported), {keys[0]: {"rows": [{"n": 1}]}, keys[1]: {"a": 2}})
        assert run.ok, run.steps
        seen = rec.seen
    assert [json.loads(s.body) for s in seen] == [{"rows": [{"n": 1}]}, {"a": 2}]


def test_form_raw_and_legacy_bodies_are_sent_as_n8n_sends_them() -> None:
    with Recorder() as rec:
        nodes = [
            _http("Form", f"{rec.url}/form", method="POST", sendBody=True,
                  contentType="form-urlencoded",
                  bodyParameters={"parameters": [
                      {"name": "a", "value": "1 2"}, {"name": "b", "value": "x&y"},
                  ]}),
            _http("Raw", f"{rec.url}/raw", method="PUT", sendBody=True, contentType="raw",
                  rawContentType="text/xml", body="<a>{{ not a template }}</a>"),
            _http("Old", f"{rec.url}/old", version=1, requestMethod="POST", jsonParameters=False,
                  bodyParametersUi={"parameter": [{"name": "who", "value": "ada"}]},
                  options={"bodyContentType": "form-urlencoded"}),
        ]  # fmt: skip
        imported = import_n8n(_export(nodes, _links(("Form", "Raw"), ("Raw", "Old"))))
        assert _run(_loaded(imported)).ok
        seen = rec.seen
    assert [(s.method, s.path) for s in seen] == [
        ("POST", "/form"),
        ("PUT", "/raw"),
        ("POST", "/old"),
    ]
    assert seen[0].body == b"a=1+2&b=x%26y"
    assert seen[0].header("Content-Type") == ["application/x-www-form-urlencoded"]
    assert seen[1].body == b"<a>{{ not a template }}</a>"
    assert seen[1].header("Content-Type") == ["text/xml"]
    assert seen[2].body == b"who=ada"


# -- 5. pagination --------------------------------------------------------------------------------


def _pages(seen: Seen) -> Reply:
    page = int(seen.params.get("page", "0"))
    return reply([{"n": page * 10 + i} for i in range(2)] if page <= 2 else [])


def _rows(seen: Seen) -> Reply:
    page = int(seen.params["p"])
    return reply({"data": [{"n": n} for n in range(5)][page * 2 : page * 2 + 2]})


def _paginated(name: str, url: str, pagination: dict[str, Any], **params: Any) -> dict[str, Any]:
    return _http(name, url, options={"pagination": {"pagination": pagination}}, **params)


def _page_parameter(name: str, value: str) -> dict[str, Any]:
    return {"parameters": [{"type": "qs", "name": name, "value": value}]}


def test_pagination_by_page_number_is_paginate() -> None:
    with Recorder(_routes({"/pages": _pages, "/rows": _rows})) as rec:
        until_empty = _paginated(
            "Pages",
            f"{rec.url}/pages",
            {
                "parameters": _page_parameter("page", "={{ $pageCount + 1 }}"),
                "limitPagesFetched": True,
                "maxRequests": 10,
            },
        )
        until_no_rows = _paginated(
            "Rows",
            f"{rec.url}/rows",
            {
                "paginationMode": "updateAParameterInEachRequest",
                "parameters": _page_parameter("p", "={{ $pageCount }}"),
                "paginationCompleteWhen": "other",
                "completeExpression": "={{ $response.body.data.length === 0 }}",
            },
            sendQuery=True,
            queryParameters={"parameters": [{"name": "limit", "value": "2"}]},
        )
        imported = import_n8n(_export([until_empty, until_no_rows], _links(("Pages", "Rows"))))
        first = imported.steps[0].step
        assert first["paginate"] is True
        assert first["max_pages"] == 10
        run = _run(_loaded(imported))
        assert run.ok, run.steps
        seen = rec.seen
    assert [s.query for s in seen] == [
        "page=1", "page=2", "page=3", "limit=2&p=0", "limit=2&p=1", "limit=2&p=2", "limit=2&p=3",
    ]  # fmt: skip
    assert run.steps["pages"].outputs["items"] == [{"n": 10}, {"n": 11}, {"n": 20}, {"n": 21}]
    assert run.steps["rows"].outputs["items"] == [{"n": n} for n in range(5)]


def test_pagination_that_does_not_map_is_a_note_naming_it() -> None:
    node = _http(
        "Next",
        "https://api.example.com/list",
        options={
            "pagination": {
                "pagination": {
                    "paginationMode": "responseContainsNextURL",
                    "nextURL": "={{ $response.body.next }}",
                }
            },
            "redirect": {"redirect": {"followRedirects": False}},
        },
    )
    node["retryOnFail"] = True
    offset = _paginated(
        "Offset",
        "https://api.example.com/rows",
        {"parameters": _page_parameter("skip", "={{ $pageCount * 50 }}")},
    )
    imported = import_n8n(_export([node, offset], _links(("Next", "Offset"))))
    notes = _notes(imported)
    assert "node 'Next': its pagination is not imported (responseContainsNextURL" in notes
    assert "node 'Next': its option 'redirect' is not imported" in notes
    assert "node 'Next': its setting 'retryOnFail' is not imported" in notes
    assert "node 'Offset': its pagination is not imported (skip = '={{ $pageCount * 50 }}'" in notes
    assert all("paginate" not in s.step for s in imported.steps)


# -- 6. binary uploads ----------------------------------------------------------------------------


def test_binary_bodies_and_multipart_files_are_files_given_by_path(tmp_path: Path) -> None:
    photo = tmp_path / "photo.bin"
    photo.write_bytes(b"\x00\x01binary\xff")
    with Recorder() as rec:
        nodes = [
            _http("Raw upload", f"{rec.url}/raw", method="PUT", sendBody=True,
                  contentType="binaryData", inputDataFieldName="data"),
            _http("Form upload", f"{rec.url}/form", method="POST", sendBody=True,
                  contentType="multipart-form-data",
                  bodyParameters={"parameters": [
                      {"parameterType": "formBinaryData", "name": "file",
                       "inputDataFieldName": "data"},
                      {"parameterType": "formData", "name": "title", "value": "Photo"},
                  ]}),
            _http("Old upload", f"{rec.url}/old", version=1, requestMethod="POST",
                  jsonParameters=True, sendBinaryData=True, binaryPropertyName="upload:data",
                  options={"bodyContentType": "multipart-form-data"}),
        ]  # fmt: skip
        imported = import_n8n(
            _export(nodes, _links(("Raw upload", "Form upload"), ("Form upload", "Old upload")))
        )
        notes = _notes(imported)
        keys = sorted(k for s in imported.steps for k in s.inputs)
        assert keys == ["form_upload_data_file", "old_upload_data_file", "raw_upload_data_file"]
        assert "node 'Raw upload': the binary field 'data' is a file read from the input" in notes
        run = _run(_loaded(imported), dict.fromkeys(keys, str(photo)))
        assert run.ok, run.steps
        seen = rec.seen
    raw, form, old = seen
    assert (raw.method, raw.path, raw.body) == ("PUT", "/raw", photo.read_bytes())
    assert raw.header("Content-Type") == ["application/octet-stream"]
    for part, name in ((form, "file"), (old, "upload")):
        assert part.header("Content-Type")[0].startswith("multipart/form-data; boundary=")
        assert f'name="{name}"; filename="photo.bin"'.encode() in part.body
        assert photo.read_bytes() in part.body
    assert b'name="title"\r\n\r\nPhoto\r\n' in form.body


# -- 7. IF, Switch and Merge ----------------------------------------------------------------------


def _branches(mode: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Check -> IF ok -> (Yes | No) -> Merge(mode) -> After."""

    def call(name: str) -> dict[str, Any]:
        return _http(name, f"=http://127.0.0.1:{{{{ $('Port').item.json.port }}}}/{name.lower()}")

    nodes = [
        _set("Port", port="0"),
        call("Check"),
        _if("Ok?", "={{ $json.ok }}", "true", kind="boolean"),
        call("Yes"),
        call("No"),
        _node("Merge", "merge", 3, **mode),
        call("After"),
    ]
    links = _links(
        ("Port", "Check"), ("Check", "Ok?"), ("Ok?", "Yes", 0), ("Ok?", "No", 1),
        ("Yes", "Merge", 0, 0), ("No", "Merge", 0, 1), ("Merge", "After"),
    )  # fmt: skip
    return nodes, links


@pytest.mark.parametrize(
    ("mode", "after_when_ok", "after_when_not"),
    [
        ({}, True, True),  # append (the default): either input
        (
            {"mode": "combine", "combineBy": "combineByFields", "joinMode": "enrichInput1"},
            True,
            False,
        ),
        (
            {"mode": "combine", "combineBy": "combineByFields", "joinMode": "enrichInput2"},
            False,
            True,
        ),
        ({"mode": "chooseBranch", "useDataOfInput": 1}, False, False),  # waits for both
    ],
)
def test_a_merge_of_both_if_branches_runs_as_n8n_decides(
    mode: dict[str, Any], after_when_ok: bool, after_when_not: bool
) -> None:
    nodes, links = _branches(mode)
    imported = import_n8n(_export(nodes, links))
    text = _loaded(imported)
    for ok_value, expected in ((True, after_when_ok), (False, after_when_not)):
        with Recorder(_routes({"/check": {"ok": ok_value}})) as rec:
            port = rec.url.rsplit(":", 1)[1]
            run = _run(text, {"port": port})
            assert run.ok, run.steps
            paths = [s.path for s in rec.seen]
        branch = "/yes" if ok_value else "/no"
        assert paths == ["/check", branch, *(["/after"] if expected else [])], (mode, paths)
    after = next(s for s in imported.steps if s.step["id"] == "after")
    if mode == {}:
        assert "when" not in after.step  # `c or not c`: no condition left


def test_a_switch_routes_each_value_to_its_own_output() -> None:
    def rule(value: str) -> dict[str, Any]:
        return {
            "conditions": {
                "options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict"},
                "conditions": [
                    {"leftValue": "={{ $json.kind }}", "rightValue": value,
                     "operator": {"type": "string", "operation": "equals"}}
                ],
                "combinator": "and",
            }
        }  # fmt: skip

    switch = _node(
        "Route",
        "switch",
        3.2,
        rules={"values": [rule("a"), rule("b")]},
        options={"fallbackOutput": "extra"},
    )
    with Recorder() as rec:
        base = rec.url
        nodes = [
            _http("Kind", f"{base}/kind"),
            switch,
            _http("On a", f"{base}/a"),
            _http("On b", f"{base}/b"),
            _http("Other", f"{base}/other"),
        ]
        links = _links(
            ("Kind", "Route"), ("Route", "On a", 0), ("Route", "On b", 1), ("Route", "Other", 2)
        )
        text = _loaded(import_n8n(_export(nodes, links)))
    for kind, path in (("a", "/a"), ("b", "/b"), ("zzz", "/other")):
        with Recorder(_routes({"/kind": {"kind": kind}})) as rec:
            port_text = text.replace(base, rec.url)
            run = _run(port_text)
            assert run.ok, run.steps
            assert [s.path for s in rec.seen] == ["/kind", path]


def test_an_if_condition_that_cannot_be_translated_is_a_boolean_input() -> None:
    with Recorder() as rec:
        nodes = [
            _http("Check", f"{rec.url}/check"),
            _if("Looks right?", "={{ $json.name }}", "regex", "^a.*"),
            _http("Yes", f"{rec.url}/yes"),
            _http("No", f"{rec.url}/no"),
        ]
        links = _links(
            ("Check", "Looks right?"), ("Looks right?", "Yes", 0), ("Looks right?", "No", 1)
        )
        imported = import_n8n(_export(nodes, links))
        assert (
            "node 'Looks right?': its condition cannot be translated: it is the boolean input"
            in _notes(imported)
        )
        run = _run(_loaded(imported), {"n8n_if_looks_right": False})
        assert run.ok, run.steps
        assert [s.path for s in rec.seen] == ["/check", "/no"]


# -- 8. Wait -> IF loops are until ----------------------------------------------------------------


def test_a_wait_and_if_loop_back_to_an_http_node_is_until() -> None:
    answers = iter(["queued", "running", "done"])

    def status(_: Seen) -> Reply:
        return reply({"status": next(answers, "done")})

    with Recorder(_routes({"/job": status})) as rec:
        nodes = [
            _http("Poll", f"{rec.url}/job"),
            _if("Done?", "={{ $json.status }}", "equals", "done"),
            _node("Wait", "wait", 1.1, amount=0.02, unit="seconds"),
            _http("Fetch result", f"{rec.url}/result"),
        ]
        links = _links(
            ("Poll", "Done?"), ("Done?", "Fetch result", 0), ("Done?", "Wait", 1), ("Wait", "Poll")
        )
        imported = import_n8n(_export(nodes, links))
        poll = imported.steps[0].step
        assert poll["until"]["condition"] == '{{ response.body.status == "done" }}'
        assert poll["until"]["interval"] == 0.02
        assert "node 'Wait': its interval is the `until:` interval of 'Poll'" in _notes(imported)
        run = _run(_loaded(imported))
        assert run.ok, run.steps
        paths = [s.path for s in rec.seen]
    assert paths == ["/job", "/job", "/job", "/result"]


def test_a_loop_through_wait_first_and_settings_are_kept() -> None:
    poll = _http("Poll", "https://api.example.com/job", options={"timeout": 2500})
    poll["onError"] = "continueRegularOutput"
    poll["notes"] = "Polls the export job"
    nodes = [
        poll,
        _node("Wait", "wait", 1, amount=2, unit="minutes"),
        _if("Ready?", "={{ $json.ready }}", "true", kind="boolean"),
    ]
    imported = import_n8n(
        _export(nodes, _links(("Poll", "Wait"), ("Wait", "Ready?"), ("Ready?", "Poll", 1)))
    )
    step = imported.steps[0].step
    assert step["until"]["condition"] == "{{ response.body.ready == true }}"
    assert step["until"]["interval"] == 120
    assert step["timeout"] == {"read": 2.5}
    assert step["continue_on_error"] is True
    assert step["description"] == "Polls the export job"
    _loaded(imported)


def test_every_node_is_a_step_an_input_a_condition_or_a_note() -> None:
    nodes = [
        _http("Call", "https://api.example.com/x"),
        _node("Code", "code", 2, jsCode="return items"),
        _node("Pause", "wait", 1.1, amount=1, unit="seconds"),
    ]
    imported = import_n8n(_export(nodes, _links(("Call", "Code"), ("Code", "Pause"))), "w.json")
    notes = _notes(imported)
    assert "n8n-nodes-base.manualTrigger node starts the workflow in n8n; not imported" in notes
    assert "w.json: node 'Code': a n8n-nodes-base.code node is not imported" in notes
    assert "w.json: node 'Pause': a pause between nodes is not imported" in notes


def test_the_cli_writes_hosts(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    source = tmp_path / "w.json"
    source.write_text(_export([_http("Fetch", "={{ $json.base }}/items")]), encoding="utf-8")
    done = run_cli("import", "n8n", str(source))
    assert done.returncode == 0, done.stderr
    assert "hosts: []" in done.stdout
    assert "its URL's host comes from an expression" in done.stderr


def test_a_loop_whose_condition_cannot_be_read_costs_only_its_step() -> None:
    nodes = [
        _http("Poll", "https://api.example.com/job"),
        _if("Done?", "={{ $json.status }}", "regex", "^done"),
        _node("Wait", "wait", 1.1, amount=1, unit="seconds"),
        _http("Other", "https://api.example.com/other"),
    ]
    links = _links(("Poll", "Done?"), ("Done?", "Wait", 1), ("Wait", "Poll"), ("Poll", "Other"))
    imported = import_n8n(_export(nodes, links), "poll.json")
    assert [s.step["id"] for s in imported.steps] == ["other"]
    assert (
        "poll.json: node 'Poll': not imported: the condition of 'Done?', which ends its loop,"
        " cannot be translated" in _notes(imported)
    )
    _loaded(imported)


# -- the conditions, one by one ------------------------------------------------------------------


def test_conditions_simplify_as_n8n_routes_items() -> None:
    from rtk_task.workflows.imports.n8n_flow import ALWAYS, NEVER, Cond

    c, d = Cond.of("steps.a.outputs.ok"), Cond.of("x > 1")
    assert c.or_(c.not_()) == ALWAYS
    assert c.and_(c.not_()) == NEVER
    assert d.and_(c).or_(d.and_(c.not_())) == d
    assert c.or_(c.and_(d)) == c
    assert c.excludes(c.not_())
    assert not c.excludes(d)
    assert d.and_(c.not_()).jinja() == "(x > 1) and not steps.a.outputs.ok"
    assert NEVER.not_() == ALWAYS
    assert ALWAYS.jinja() is None


def test_switch_v1_v2_and_expression_outputs() -> None:
    from rtk_task.workflows.imports.n8n_flow import switch_outputs

    def translate(value: Any) -> str:
        return "v" if value == "={{ $json.n }}" else json.dumps(value)

    rules = {
        "rules": [
            {"operation": "equal", "value2": 1, "output": 2},
            {"operation": "larger", "value2": 5, "output": 0},
        ]
    }
    old = switch_outputs(
        {"dataType": "number", "value1": "={{ $json.n }}", "rules": rules, "fallbackOutput": 1},
        1,
        translate,
    )
    assert old is not None
    assert [o.jinja() for o in old] == [
        "(v > 5) and not (v == 1)",
        "not (v == 1) and not (v > 5)",
        "v == 1",
    ]
    by_index = switch_outputs(
        {"dataType": "number", "value1": "={{ $json.n }}", "rules": rules}, 2, translate
    )
    assert by_index is not None
    assert [o.jinja() for o in by_index] == ["v == 1", "(v > 5) and not (v == 1)"]
    picked = switch_outputs(
        {"mode": "expression", "output": "={{ $json.n }}", "numberOutputs": 2}, 3, translate
    )
    assert picked is not None
    assert [o.jinja() for o in picked] == ["v == 0", "v == 1"]


@pytest.mark.parametrize(
    ("params", "version", "rule"),
    [
        ({}, 3, ("any", 0)),
        ({"mode": "append"}, 2.1, ("any", 0)),
        ({"mode": "chooseBranch"}, 2, ("all", 0)),
        ({"mode": "combine", "combinationMode": "mergeByPosition"}, 2, ("any", 0)),
        ({"mode": "combine", "combinationMode": "multiplex"}, 2, ("all", 0)),
        ({"mode": "combine", "combineBy": "combineByFields"}, 3, ("all", 0)),  # keepMatches
        ({"mode": "combine", "joinMode": "keepEverything"}, 3, ("any", 0)),
        (
            {"mode": "combine", "joinMode": "keepNonMatches", "outputDataFrom": "input2"},
            3,
            ("input", 2),
        ),
        ({"mode": "passThrough", "output": "input2"}, 1, ("input", 2)),
        ({"mode": "wait"}, 1, ("all", 0)),
        ({"mode": "combineBySql"}, 3, None),
    ],
)
def test_merge_modes(params: dict[str, Any], version: float, rule: tuple[str, int] | None) -> None:
    from rtk_task.workflows.imports.n8n_flow import merge_rule

    assert merge_rule(params, version) == rule


def test_a_merge_whose_output_depends_on_the_data_is_a_note() -> None:
    nodes, links = _branches({"mode": "combineBySql", "query": "SELECT * FROM input1"})
    imported = import_n8n(_export(nodes, links))
    assert "node 'Merge': its combineBySql output depends on the data" in _notes(imported)


def test_parameters_n8n_never_writes_cost_only_their_node() -> None:
    nodes = [
        _http("Odd", "https://api.example.com/x", method="POST", sendBody=True, contentType="json",
              specifyBody="keypair", bodyParameters=["not", "a", "mapping"]),
        _node("Odd if", "if", 2, conditions={"conditions": "all of them", "combinator": 7}),
        _http("Then", "https://api.example.com/then"),
    ]  # fmt: skip
    links = _links(("Odd", "Odd if"), ("Odd if", "Then", 0))
    imported = import_n8n(_export(nodes, links), "odd.json")
    notes = _notes(imported)
    assert "node 'Odd if': its condition cannot be translated: it is the boolean input" in notes
    then = next(s for s in imported.steps if s.step["id"] == "then")
    assert then.step["when"] == "{{ inputs.n8n_if_odd_if }}"
    _loaded(imported)


@pytest.mark.parametrize("existing", ["", "hosts: [status.example.com]\n", "hosts: []\n"])
def test_a_templated_host_added_to_a_workflow_file_brings_its_hosts(
    tmp_path: Path, existing: str
) -> None:
    from tests.helpers import run_cli

    node = _http(
        "Get",
        "={{ $json.staging ? 'https://staging.example.com' : 'https://api.example.com:8443' }}/v1",
    )
    (tmp_path / "export.json").write_text(_export([node]))
    kept = "# our team's checks\nname: mine\n" + existing + "steps:\n  - id: ping  # keep me\n"
    kept += "    task: http\n    with: {url: 'https://status.example.com/ping'}\n"
    (tmp_path / "wf.yaml").write_text(kept)
    done = run_cli("import", "n8n", "export.json", "--workflow", "wf.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (tmp_path / "wf.yaml").read_text()
    assert "# our team's checks" in text
    assert "# keep me" in text
    data = parse_workflow(text, "wf.yaml")  # loads: the step's hosts are listed
    assert data.hosts is not None
    before = ["status.example.com"] if "status" in existing else []
    assert list(data.hosts) == [*before, "staging.example.com", "api.example.com:8443"]
    assert run_cli("check", "wf.yaml", cwd=tmp_path).returncode == 0
