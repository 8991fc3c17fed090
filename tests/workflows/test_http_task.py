"""The plain ``http`` task: a per-step synthetic manifest, run through the same core path.

Against a raw server on loopback (what was sent, byte for byte) and the emulator.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from rtk_task.errors import WorkflowError
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow
from tests.helpers import CANARY
from tests.rawserver import RawServer, answer, reset_after_request


def _workflow(url: str, extra: str = "", method: str = "POST") -> str:
    return f"""
name: t
inputs:
  team: {{type: string, default: "a b/c"}}
  n: {{type: integer, default: 3}}
secrets: {{tok: RTK_TEST_HTTP_TOKEN}}
steps:
  - id: make
    task: http
    with:
      method: {method}
      url: "{url}"
      headers: {{Authorization: "Bearer {{{{ secrets.tok }}}}", X-Team: "{{{{ inputs.team }}}}"}}
      query: {{search: "{{{{ inputs.team }}}} standup"}}
      body: {{count: "{{{{ inputs.n }}}}", title: hi}}
{extra}
"""


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTK_TEST_HTTP_TOKEN", "http-step-secret")


def test_http_step_sends_encoded_segments_query_and_typed_body() -> None:
    with RawServer(answer("201 Created", b'{"id": 7}')) as srv:
        wf = parse_workflow(
            _workflow(
                f"http://127.0.0.1:{srv.port}/teams/{{{{ inputs.team }}}}/items?x=1",
                '    outputs: {item: "{{ response.body.id }}"}',
            )
        )
        run = run_workflow(wf, {})
        assert run.ok, run.steps["make"].error
        assert run.steps["make"].outputs == {"item": 7}
        (raw,) = srv.requests
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /teams/a%20b%2Fc/items?x=1&search=a+b%2Fc+standup HTTP/1.1")
    assert b"Authorization: Bearer http-step-secret" in head
    assert b"X-Team: a b/c" in head
    assert body == b'{"count":3,"title":"hi"}'  # the integer input stays an integer
    shown = run.steps["make"].model_dump_json()
    assert "http-step-secret" not in shown  # the secret is masked in the result


def test_post_is_not_resent_after_an_ambiguous_failure() -> None:
    with RawServer(reset_after_request) as srv:
        wf = parse_workflow(_workflow(f"http://127.0.0.1:{srv.port}/items"))
        assert not wf.manifest(wf.steps[0]).idempotent
        run = run_workflow(wf, {})
        assert not run.ok
        assert len(srv.requests) == 1, "a POST was sent again after a reset"


def test_put_is_retried_after_a_reset() -> None:
    with RawServer(reset_after_request) as srv:
        wf = parse_workflow(_workflow(f"http://127.0.0.1:{srv.port}/items", method="PUT"))
        assert wf.manifest(wf.steps[0]).idempotent
        run_workflow(wf, {})
        assert len(srv.requests) > 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        # a templated scheme or host needs `hosts:` (tests/workflows/test_http_hosts.py)
        ("http://{{ inputs.team }}/x", "lists no `hosts:`"),
        ("http://h:{{ inputs.n }}/x", "lists no `hosts:`"),
        ("http://h/x?a={{ inputs.team }}", "only path segments"),
        ("http://h/{% if true %}x{% endif %}", "holds a template block"),
        ("ftp://h/x", "not an http(s) URL"),
    ],
)
def test_the_host_and_scheme_are_literals(url: str, message: str) -> None:
    with pytest.raises(WorkflowError) as info:
        parse_workflow(_workflow(url))
    assert message in info.value.render()
    assert ":12: steps.make.with.url:" in info.value.render()  # the line of `url:`


def test_authorization_must_be_a_declared_secret() -> None:
    text = _workflow("http://h/x").replace("{{ secrets.tok }}", "abc")
    with pytest.raises(WorkflowError, match="Authorization is given as a declared secret"):
        parse_workflow(text)


def test_a_body_field_and_a_query_parameter_cannot_share_a_name() -> None:
    text = _workflow("http://h/x").replace("search:", "count:")
    with pytest.raises(WorkflowError, match="'count' is a query parameter"):
        parse_workflow(text)


def test_http_step_against_the_emulator(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTK_TEST_HTTP_TOKEN", CANARY)
    url = f"{emulator.base_url}/accounts/acc1/realtime/kit/app1/meetings"
    one = url + "/{{ steps.make.outputs.meeting }}"
    text = f"""
name: t
secrets: {{tok: RTK_TEST_HTTP_TOKEN}}
steps:
  - id: make
    task: http
    with:
      method: POST
      url: "{url}"
      headers: {{Authorization: "Bearer {{{{ secrets.tok }}}}"}}
      body: {{title: From http}}
    outputs: {{meeting: "{{{{ response.body.data.id }}}}"}}
  - id: read
    task: http
    with:
      url: "{one}"
      headers: {{Authorization: "Bearer {{{{ secrets.tok }}}}"}}
    outputs: {{title: "{{{{ response.body.data.title }}}}"}}
"""
    run = run_workflow(parse_workflow(text), {})
    assert run.ok, {k: v.error for k, v in run.steps.items()}
    assert run.steps["read"].outputs["title"] == "From http"
    assert os.environ["RTK_TEST_HTTP_TOKEN"] not in run.steps["read"].model_dump_json()
