"""Importers never write a credential, keep literal text literal, and read within bounds
(issue 23): the URL's user:password, credential headers, signed query parameters, n8n
header and query values, provider and cloud variables, ``{{`` in imported text, deep and
huge JSON files, and long node chains."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from rtk_task.errors import ConfigError, WorkflowError
from rtk_task.limits import MAX_DEPTH, MAX_TEXT_BYTES
from rtk_task.workflows.check import check_workflow
from rtk_task.workflows.imports import ImportedStep, request_step, to_yaml
from rtk_task.workflows.imports.conductor import import_conductor
from rtk_task.workflows.imports.curl import parse_curl
from rtk_task.workflows.imports.n8n import import_n8n
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow
from tests.helpers import run_cli
from tests.rawserver import RawServer, answer

#: A VirusTotal-style API key (64 hex characters), as a public n8n template had it.
VT_KEY = "4f9c2b7e1d3a8c6b5e0f9a2d7c4b1e8f3a6d9c2b5e8f1a4d7c0b3e6f9a2c5d8e"
SECRETS = {
    "pass": "s3cr3t-P4ss-word",
    "cookie": "sid=Qk9HVVMtU0VTU0lPTi0xMjM0NTY3ODkw",
    "api_key": "ak_live_9f8e7d6c5b4a39281706",
    "apikey": "AKapikey0123456789abcdefXYZ",
    "api_token": "tok_5Yd8Kq2Lm9Nx3Pw7Rz1",
    "private": "glpat-Zx8Yv7Wu6Ts5Rq4Po3Nm",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "session": "sess-3f1e2d4c5b6a7988",
    "entropy": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA",
    "sig": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "amz_sig": "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
    "amz_cred": "AKIAIOSFODNN7EXAMPLE",
    "amz_token": "IQoJb3JpZ2luX2VjEJr4wQ9Ym5Tg2Lm8Nk1",
    "client_secret": "cs-7Hn2Kd9Lw4Qx8Rz3",
    "access_token": "at-2Bc4De6Fg8Hj0Kl1",
    "key": "k-Ab12Cd34Ef56Gh78",
    "token": "t-Zy98Xw76Vu54Ts32",
    "password": "hunter2-but-longer",
    "sig_short": "0a1b2c3d4e",
}


def _text_of(steps: list[ImportedStep], notes: list[str] | None = None) -> str:
    """Everything an import shows: the workflow's YAML and every note."""
    all_notes = [*(notes or []), *(n for s in steps for n in s.notes)]
    return to_yaml(steps) + "\n".join(all_notes)


def _assert_no_secret(text: str, *values: str) -> None:
    for value in values or tuple(SECRETS.values()):
        assert value not in text, f"{value!r} written in clear"


def _checked(text: str) -> None:
    """The output loads and passes `rtk-task check`'s checks (nothing is sent)."""
    report = check_workflow(parse_workflow(text, "imported.yaml"), {})
    assert report.ok, [str(p) for p in report.problems]


# -- 1. the URL's user information ---------------------------------------------------------------


def test_url_user_and_password_become_secrets_and_leave_the_url() -> None:
    step = request_step(
        parse_curl(f"curl https://alice:{SECRETS['pass']}@api.example.com/v1/items")
    )
    text = _text_of([step])
    _assert_no_secret(text, SECRETS["pass"], "alice:", "@api.example.com")
    assert step.step["with"]["url"] == "https://api.example.com/v1/items"
    assert sorted(step.secrets.values()) == ["API_EXAMPLE_COM_PASSWORD", "API_EXAMPLE_COM_USERNAME"]
    _checked(to_yaml([step]))


def test_curl_user_flag_declares_secrets_without_the_password() -> None:
    step = request_step(parse_curl(f"curl -u bob:{SECRETS['pass']} https://api.example.com/x"))
    _assert_no_secret(_text_of([step]), SECRETS["pass"])
    assert "API_EXAMPLE_COM_PASSWORD" in step.secrets.values()


def test_n8n_and_conductor_urls_with_user_information() -> None:
    url = f"https://carol:{SECRETS['pass']}@hooks.example.com/in"
    n8n = import_n8n(json.dumps(_n8n([_http_node("Call", url)])), "w.json")
    conductor = import_conductor(json.dumps(_conductor({"uri": url, "method": "GET"})))
    for imported in (n8n, conductor):
        _assert_no_secret(_text_of(imported.steps, imported.notes), SECRETS["pass"], "carol:")
        assert imported.steps[0].step["with"]["url"] == "https://hooks.example.com/in"


# -- 2. credential headers -----------------------------------------------------------------------

HEADERS = {
    "Cookie": SECRETS["cookie"],
    "X-Api-Key": SECRETS["api_key"],
    "X-Apikey": SECRETS["apikey"],
    "X-Api-Token": SECRETS["api_token"],
    "Private-Token": SECRETS["private"],
    "X-Session-Id": SECRETS["session"],  # named like one: contains "session"
    "X-Forward": f"Bearer {SECRETS['bearer']}",  # valued like one: a scheme and a token
    "X-Opaque": SECRETS["entropy"],  # valued like one: long and random
}


def test_credential_headers_become_secrets() -> None:
    command = "curl https://api.example.com/v1/x -H 'X-Trace: abc-1'" + "".join(
        f" -H '{k}: {v}'" for k, v in HEADERS.items()
    )
    command += f" -H 'Authorization: Bearer {SECRETS['token']}'"
    step = request_step(parse_curl(command))
    text = _text_of([step])
    _assert_no_secret(text)
    headers = step.step["with"]["headers"]
    assert headers["X-Trace"] == "abc-1"  # not a credential: kept
    assert headers["Authorization"].startswith("Bearer {{ secrets.")
    assert headers["X-Forward"].startswith("Bearer {{ secrets.")
    for name in HEADERS:
        assert "{{ secrets." in headers[name], name
    assert step.secrets["api_example_com_x_api_key"] == "API_EXAMPLE_COM_X_API_KEY"
    assert len(set(step.secrets.values())) == len(step.secrets)  # one variable each
    _checked(to_yaml([step]))


def test_two_literal_credentials_of_one_host_get_two_variables() -> None:
    step = request_step(
        parse_curl(
            f"curl 'https://api.example.com/x?token={SECRETS['token']}'"
            f" -H 'Authorization: Bearer {SECRETS['bearer']}'"
        )
    )
    assert len(set(step.secrets.values())) == 2
    _assert_no_secret(_text_of([step]), SECRETS["token"], SECRETS["bearer"])


# -- 3. signed and credential query parameters ---------------------------------------------------

QUERY = {
    "signature": SECRETS["sig"],
    "sig": SECRETS["sig_short"],
    "X-Amz-Signature": SECRETS["amz_sig"],
    "X-Amz-Credential": SECRETS["amz_cred"],
    "X-Amz-Security-Token": SECRETS["amz_token"],
    "client_secret": SECRETS["client_secret"],
    "access_token": SECRETS["access_token"],
    "api_key": SECRETS["api_key"],
    "apikey": SECRETS["apikey"],
    "key": SECRETS["key"],
    "token": SECRETS["token"],
    "password": SECRETS["password"],
}


def test_signed_and_credential_query_parameters_become_secrets() -> None:
    query = "&".join(f"{k}={v}" for k, v in QUERY.items())
    step = request_step(parse_curl(f"curl 'https://bucket.example.com/o.txt?{query}&page=2'"))
    _assert_no_secret(_text_of([step]), *QUERY.values())
    got = step.step["with"]["query"]
    assert got["page"] == "2"
    assert all("{{ secrets." in got[k] for k in QUERY)
    _checked(to_yaml([step]))


def test_a_form_body_with_a_client_secret_keeps_it_out() -> None:
    step = request_step(
        parse_curl(
            "curl https://auth.example.com/oauth/token"
            f" -d 'grant_type=client_credentials&client_secret={SECRETS['client_secret']}'"
        )
    )
    _assert_no_secret(_text_of([step]), SECRETS["client_secret"])
    assert step.step["with"]["body"]["grant_type"] == "client_credentials"


# -- 4. n8n header and query parameter values ----------------------------------------------------


def _http_node(name: str, url: str, **params: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "n8n-nodes-base.httpRequest",
        "typeVersion": 4.2,
        "parameters": {"method": "GET", "url": url, **params},
    }


def _n8n(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    names = [n["name"] for n in nodes]
    connections = {
        a: {"main": [[{"node": b, "type": "main", "index": 0}]]}
        for a, b in itertools.pairwise(names)
    }
    return {"name": "w", "nodes": nodes, "connections": connections}


def _pairs(**values: str) -> dict[str, Any]:
    return {"parameters": [{"name": k, "value": v} for k, v in values.items()]}


def test_n8n_header_and_query_values_become_secrets() -> None:
    """A public template sent VirusTotal's key as a header value (``x-apikey``)."""
    node = _http_node(
        "VirusTotal",
        "https://www.virustotal.com/api/v3/files/{{ not an expression }}",
        sendHeaders=True,
        headerParameters=_pairs(**{"x-apikey": VT_KEY, "Accept-Language": "en"}),
        sendQuery=True,
        queryParameters=_pairs(key=SECRETS["key"], opaque=SECRETS["entropy"], limit="10"),
    )
    imported = import_n8n(json.dumps(_n8n([node])), "vt.json")
    text = _text_of(imported.steps, imported.notes)
    _assert_no_secret(text, VT_KEY, SECRETS["key"], SECRETS["entropy"])
    with_ = imported.steps[0].step["with"]
    assert with_["headers"] == {
        "x-apikey": "{{ secrets.www_virustotal_com_x_apikey }}",
        "Accept-Language": "en",
    }
    assert with_["query"]["limit"] == "10"
    assert imported.steps[0].secrets["www_virustotal_com_x_apikey"] == (
        "WWW_VIRUSTOTAL_COM_X_APIKEY"
    )
    _checked(to_yaml(imported.steps))


def test_an_n8n_expression_in_a_credential_header_is_not_shown() -> None:
    node = _http_node(
        "Call",
        "https://api.example.com/x",
        sendHeaders=True,
        headerParameters=_pairs(**{"X-Api-Key": "={{ 'k' + '" + SECRETS["api_key"] + "' }}"}),
        sendBody=True,
        bodyParameters=_pairs(note="={{ '" + SECRETS["entropy"] + "'.trim() }}"),
    )
    imported = import_n8n(json.dumps(_n8n([node])), "w.json")
    _assert_no_secret(_text_of(imported.steps, imported.notes), SECRETS["api_key"])
    _assert_no_secret(_text_of(imported.steps, imported.notes), SECRETS["entropy"])


def test_n8n_set_fields_and_conductor_defaults_that_are_credentials_are_not_written() -> None:
    set_node = {
        "name": "Settings",
        "type": "n8n-nodes-base.set",
        "typeVersion": 3.4,
        "parameters": {
            "assignments": {"assignments": [{"name": "api_key", "value": SECRETS["api_key"]}]}
        },
    }
    call = _http_node("Call", "=https://api.example.com/keys/{{ $json.api_key }}")
    imported = import_n8n(json.dumps(_n8n([set_node, call])), "w.json")
    _assert_no_secret(_text_of(imported.steps, imported.notes), SECRETS["api_key"])
    doc = _conductor({"uri": "https://api.example.com/k/${workflow.input.api_key}"})
    doc |= {"inputParameters": ["api_key"], "inputTemplate": {"api_key": SECRETS["api_key"]}}
    back = import_conductor(json.dumps(doc))
    _assert_no_secret(_text_of(back.steps, back.notes), SECRETS["api_key"])


# -- 5. provider and cloud variables -------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "env"),
    [
        ("Authorization: Bearer $CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_TOKEN"),
        ("X-Api-Key: $CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_TOKEN"),
        ("X-Secret: $AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
    ],
)
def test_an_imported_step_never_reads_a_provider_or_cloud_credential(header: str, env: str) -> None:
    step = request_step(parse_curl(f"curl https://status.example.com/api -H '{header}'"))
    assert env not in step.secrets.values()
    assert f"IMPORTED_{env}" in step.secrets.values()
    assert any(f"${env}" in n and f"IMPORTED_{env}" in n for n in step.notes)
    _checked(to_yaml([step]))  # the model refuses nothing the importer wrote


def test_a_conductor_secret_naming_a_provider_credential_is_renamed(tmp_path: Path) -> None:
    doc = _conductor(
        {
            "uri": "https://hooks.example.com/in",
            "method": "POST",
            "headers": {"Authorization": "Bearer ${workflow.secrets.CLOUDFLARE_API_TOKEN}"},
        }
    )
    source = tmp_path / "c.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    done = run_cli("import", "conductor", str(source))
    assert done.returncode == 0, done.stderr
    assert "IMPORTED_CLOUDFLARE_API_TOKEN" in done.stdout
    assert ": CLOUDFLARE_API_TOKEN" not in done.stdout
    wf = tmp_path / "w.yaml"
    wf.write_text(done.stdout, encoding="utf-8")
    checked = run_cli("check", str(wf))
    assert checked.returncode == 0, checked.stderr


# -- 6. literal braces stay literal --------------------------------------------------------------


def _conductor(http_request: dict[str, Any]) -> dict[str, Any]:
    task = {
        "name": "call",
        "taskReferenceName": "call",
        "type": "HTTP",
        "inputParameters": {"http_request": {"method": "GET", **http_request}},
    }
    return {"name": "c", "tasks": [task]}


def _run_one(imported_yaml: str, inputs: dict[str, Any] | None = None) -> None:
    wf = parse_workflow(imported_yaml, "imported.yaml")
    run = run_workflow(wf, inputs or {})
    assert run.ok, {k: v.error for k, v in run.steps.items()}


def test_literal_braces_in_curl_n8n_and_conductor_are_sent_as_written() -> None:
    with RawServer(answer("200 OK", b'{"ok": true}')) as srv:
        base = f"http://127.0.0.1:{srv.port}"
        curl = request_step(
            parse_curl(
                f"curl {base}/c -H 'X-Note: {{{{x}}}} {{% raw %}}'"
                """ --json '{"a": "{{x}}", "b": ["{#c#}", "{{ y }}"]}'"""
            )
        )
        node = _http_node(
            "Call",
            f"={base}/n/{{{{ $json.id }}}}",  # an expression: translated
            sendHeaders=True,
            headerParameters=_pairs(**{"X-Note": "{{ not an expression }}"}),
            sendBody=True,
            specifyBody="json",
            jsonBody='{"text": "{{x}}", "n": 1}',  # no "=": all literal
        )
        n8n = import_n8n(json.dumps(_n8n([node])), "w.json")
        expression_node = _http_node(
            "Call", f"={base}/e", sendQuery=True, queryParameters=_pairs(q="=a {% {{ $json.q }} #}")
        )
        n8n_e = import_n8n(json.dumps(_n8n([expression_node])), "w.json")
        conductor = import_conductor(
            json.dumps(
                _conductor(
                    {
                        "uri": f"{base}/k?q=%7B%7Bq%7D%7D",
                        "method": "POST",
                        "headers": {"X-Note": "{{ literal }}"},
                        "body": {"t": "{% if %}{{z}}", "u": "{${workflow.input.u}}"},
                    }
                )
                | {"inputParameters": ["u"], "inputTemplate": {"u": "v"}}
            )
        )
        assert n8n_e.steps[0].step["with"]["query"]["q"] == (
            "a {{ '{%' }} {{ inputs.n8n_json_q }} #}"
        )
        _run_one(to_yaml([curl]))
        _run_one(to_yaml(n8n.steps), {"n8n_json_id": "7"})
        _run_one(to_yaml(conductor.steps))
        first, second, third = srv.requests
    assert b"X-Note: {{x}} {% raw %}" in first
    assert json.loads(first.split(b"\r\n\r\n", 1)[1]) == {"a": "{{x}}", "b": ["{#c#}", "{{ y }}"]}
    assert second.startswith(b"GET /n/7 ")
    assert b"X-Note: {{ not an expression }}" in second
    assert json.loads(second.split(b"\r\n\r\n", 1)[1]) == {"text": "{{x}}", "n": 1}
    assert b"/k?q=%7B%7Bq%7D%7D " in third
    assert b"X-Note: {{ literal }}" in third
    assert json.loads(third.split(b"\r\n\r\n", 1)[1]) == {"t": "{% if %}{{z}}", "u": "{v}"}


def test_literal_braces_for_a_known_task_are_input_defaults() -> None:
    """An input's default is data (never rendered): the literal goes there as written."""
    step = request_step(
        parse_curl(
            "curl -X POST https://api.cloudflare.com/client/v4/accounts/%7B%7Bacc%7D%7D"
            """/realtime/kit/app1/meetings --json '{"title": "{{t}}"}'"""
        )
    )
    assert step.step["task"] == "realtimekit.meetings.create"
    assert step.step["with"]["title"] == "{{ inputs.title }}"
    assert step.inputs["title"]["default"] == "{{t}}"
    assert step.inputs["account_id"]["default"] == "{{acc}}"
    _checked(to_yaml([step]))


def test_a_reference_path_that_is_not_names_is_not_a_template() -> None:
    first = _http_node("First", "https://api.example.com/a")
    second = _http_node(
        "Second",
        "https://api.example.com/b",
        sendBody=True,
        bodyParameters=_pairs(who='={{ $json["first name"] }}', what='={{ $json["a or 1"] }}'),
    )
    imported = import_n8n(json.dumps(_n8n([first, second])), "w.json")
    assert "outputs" not in imported.steps[0].step  # no `response.body.first name`
    body = imported.steps[1].step["with"]["body"]
    assert body["who"].startswith("{{ inputs.n8n_json")
    _checked(to_yaml(imported.steps))


# -- 7. bounded JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize("importer", [import_n8n, import_conductor])
def test_a_deeply_nested_file_is_refused_with_its_line(importer: Any) -> None:
    text = '{"name": "w",\n "nodes": [], "tasks": [],\n "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(WorkflowError) as err:
        importer(text, "deep.json")
    assert err.value.first.where.startswith("deep.json:3:")
    assert f"nested deeper than {MAX_DEPTH} levels" in err.value.first.message
    assert err.value.first.hint


def test_depth_inside_strings_does_not_count_and_a_bad_file_names_its_line() -> None:
    node = _http_node("Call", "https://api.example.com/x?q=" + "[" * 5_000)
    assert import_n8n(json.dumps(_n8n([node])), "w.json").steps
    with pytest.raises(WorkflowError) as err:
        import_n8n('{\n  "nodes": [,]\n}', "bad.json")
    assert err.value.first.where == "bad.json:2:13"


@pytest.mark.parametrize("importer", [import_n8n, import_conductor])
def test_a_huge_file_is_refused_before_parsing(importer: Any) -> None:
    text = '{"nodes": [], "tasks": [], "pad": "' + "x" * MAX_TEXT_BYTES + '"}'
    with pytest.raises(WorkflowError, match="too large"):
        importer(text, "huge.json")


def test_deep_json_inside_a_cli_import_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000, encoding="utf-8")
    done = run_cli("import", "n8n", str(deep))
    assert done.returncode == 2
    assert "deep.json:1:" in done.stderr
    assert "nested deeper" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(ConfigError, match="nested deeper"):
        parse_curl("curl https://h.example/x --json '" + "[" * 100_000 + "'")


def test_deep_json_text_in_a_node_and_a_deep_conductor_expression_are_notes() -> None:
    node = _http_node(
        "Call",
        "https://api.example.com/x",
        sendBody=True,
        specifyBody="json",
        jsonBody="=" + "[" * 100_000,
    )
    imported = import_n8n(json.dumps(_n8n([node])), "w.json")
    assert any("nested deeper" in n for n in imported.notes)
    switch = {
        "name": "s",
        "taskReferenceName": "s",
        "type": "SWITCH",
        "evaluatorType": "javascript",
        "expression": "(" + "(" * 50_000 + "$.v0" + ")" * 50_000 + ") ? 'true' : 'false'",
        "decisionCases": {"true": [_conductor({"uri": "https://a.example/x"})["tasks"][0]]},
    }
    back = import_conductor(json.dumps({"name": "c", "tasks": [switch]}))
    assert any("nested deeper" in n for n in back.notes)


# -- 8. long chains (the speed itself is measured by benchmarks/bench_imports.py) --------------


def test_a_long_chain_through_set_nodes_imports_in_order() -> None:
    """3,000 Set nodes between two HTTP nodes: no recursion, the order kept."""
    sets = [
        {"name": f"S{i}", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {}}
        for i in range(3_000)
    ]
    first = _http_node("First", "https://api.example.com/a")
    last = _http_node("Last", "=https://api.example.com/b/{{ $json.id }}")
    after = _http_node("After", "https://api.example.com/c")
    middle = {"name": "Middle", "type": "n8n-nodes-base.noOp", "parameters": {}}
    imported = import_n8n(json.dumps(_n8n([first, *sets, last, middle, after])), "w.json")
    assert [s.step["id"] for s in imported.steps] == ["first", "last", "after"]
    # $json read through 3,000 Set nodes: the first HTTP node's output
    assert imported.steps[1].step["with"]["url"].endswith("/{{ steps.first.outputs.id }}")
    assert imported.steps[2].step["depends_on"] == ["last"]


def test_same_named_nodes_get_distinct_step_ids() -> None:
    nodes = [
        _http_node("Call 1", "https://a.example/x"),
        _http_node("Call_1", "https://a.example/y"),
    ]
    imported = import_n8n(json.dumps(_n8n(nodes)), "w.json")
    assert [s.step["id"] for s in imported.steps] == ["call_1", "call_1_2"]
    _checked(to_yaml(imported.steps))


# -- the YAML written (one linear pass, not ruamel's emitter) ----------------------------------

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return float(value) if isinstance(value, float) else value


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.text(max_size=10), _VALUES, min_size=1, max_size=5))
def test_the_yaml_written_reads_back_as_the_same_data(doc: dict[str, Any]) -> None:
    from rtk_task.workflows.imports.yamlout import dump

    assert _plain(YAML(typ="rt").load(dump(doc))) == doc


def test_the_yaml_keeps_the_usual_layout_and_leaves_odd_keys_to_ruamel() -> None:
    from rtk_task.workflows.imports.yamlout import dump

    doc = {"name": "w", "steps": [{"id": "a", "when": "{{ x == 'y' }}", "with": {"count": "2"}}]}
    assert dump(doc) == (
        "name: w\nsteps:\n  - id: a\n    when: '{{ x == ''y'' }}'\n    with:\n      count: '2'\n"
    )
    long_key = {"k" * 2_000: 1}
    assert _plain(YAML(typ="rt").load(dump(long_key))) == long_key
