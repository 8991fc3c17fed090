"""A plain ``http`` step talks only to its own host, with only its own credential: the API
token of the client or the environment never goes there, a base URL never moves it, a step
with no auth needs no token, and the whole-workflow check covers it like any task."""

from __future__ import annotations

import pytest

from rtk_task import Client
from rtk_task.workflows.check import check_workflow
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow
from rtk_task.workflows.step import run_step
from tests.helpers import CANARY
from tests.rawserver import RawServer, answer


def _flow(url: str, extra: str = "") -> str:
    return f"""
name: t
steps:
  - id: ping
    task: http
    with: {{method: GET, url: "{url}"}}
    outputs: {{version: "{{{{ response.body.version }}}}"}}
{extra}"""


def test_a_step_without_auth_sends_no_token_and_needs_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    with RawServer(answer("200 OK", b'{"version": 3}')) as srv:
        run = run_workflow(parse_workflow(_flow(f"http://127.0.0.1:{srv.port}/v")), {})
        assert run.ok, run.steps["ping"].error
        assert run.steps["ping"].outputs == {"version": 3}
        (raw,) = srv.requests
    assert b"authorization" not in raw.lower()


def test_the_clients_own_token_and_the_env_token_never_go_to_an_http_host() -> None:
    with RawServer(answer("200 OK", b'{"version": 3}')) as srv:
        wf = parse_workflow(_flow(f"http://127.0.0.1:{srv.port}/v"))
        with Client(token="client-token-canary") as client:
            result = run_step(client, wf, wf.steps[0], {}, {})
        run_workflow(wf, {}, token="runner-token-canary")
        assert result.ok, result.error
        sent = b"".join(srv.requests)
    assert b"client-token-canary" not in sent
    assert b"runner-token-canary" not in sent
    assert CANARY.encode() not in sent


def test_a_base_url_never_moves_an_http_step(monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        RawServer(answer("200 OK", b'{"version": 3}')) as own,
        RawServer(answer("200 OK", b'{"version": 9}')) as other,
    ):
        monkeypatch.setenv("RTK_BASE_URL", f"http://127.0.0.1:{other.port}")
        wf = parse_workflow(_flow(f"http://127.0.0.1:{own.port}/v"))
        run = run_workflow(wf, {}, base_url=f"http://127.0.0.1:{other.port}")
        assert run.steps["ping"].outputs == {"version": 3}
        assert len(own.requests) == 1
        assert other.requests == []


def test_the_check_covers_http_steps_and_references_to_their_outputs() -> None:
    wf = parse_workflow(
        _flow(
            "http://127.0.0.1:9/v",
            "  - id: use\n    task: http\n"
            "    with:\n      method: GET\n"
            '      url: "http://127.0.0.1:9/x/{{ steps.ping.outputs.versoin }}"\n',
        ),
        references=False,
    )
    report = check_workflow(wf)
    assert not report.ok
    (problem,) = report.problems  # the typo, and nothing about the http steps' own fields
    assert "versoin" in problem.message
    assert "version" in problem.hint
