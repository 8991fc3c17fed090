"""An ``http`` step whose URL's scheme and host are templated (issue 25, item 6): accepted only
when the workflow lists ``hosts:``; when run, a rendered host not in the list fails the step
(kind ``config``) before anything is sent, and a credential goes only to the rendered host.
Also the http step's other forms an import needs: a path segment mixing text and a template,
``body_file``, and ``paging`` with ``paginate: true``. Each runs against a recording server on
127.0.0.1 and is compared on method, path, query, headers and body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rtk_task.errors import ConfigError, WorkflowError
from rtk_task.manifests.http_origin import bind_origin, host_allowed, split_origin
from rtk_task.workflows.check import check_workflow
from rtk_task.workflows.model import Workflow, parse_workflow
from rtk_task.workflows.runner import run_workflow
from tests.recorder import Recorder, Seen, reply

TOKEN = "hosts-test-token-7c1e"


def _workflow(url: str, hosts: list[str] | None, **extra: Any) -> Workflow:
    with_: dict[str, Any] = {"url": url, **extra.pop("with_", {})}
    data: dict[str, Any] = {
        "name": "hosts",
        "inputs": {"base_url": {"type": "string"}, "id": {"type": "string", "default": "7"}},
        "secrets": {"tok": "HOSTS_TEST_TOKEN"},
        "steps": [{"id": "get", "task": "http", "with": with_, **extra}],
    }
    if hosts is not None:
        data["hosts"] = hosts
    return parse_workflow(json.dumps(data), "hosts.yaml")


def _port(rec: Recorder) -> str:
    return rec.url.rsplit(":", 1)[1]


def test_a_templated_host_in_hosts_is_called_with_its_credential(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOSTS_TEST_TOKEN", TOKEN)
    with Recorder() as rec:
        wf = _workflow(
            "{{ inputs.base_url }}/v1/items/{{ inputs.id }}.json?view=full",
            [f"127.0.0.1:{_port(rec)}"],
            with_={
                "method": "POST",
                "headers": {"Authorization": "Bearer {{ secrets.tok }}", "Accept": "text/csv"},
                "query": {"n": 2},
                "body": {"title": "hi"},
            },
        )
        assert check_workflow(wf, {"base_url": rec.url}).ok
        run = run_workflow(wf, {"base_url": f"{rec.url}/api", "id": "a b/c"})
        assert run.ok, run.steps["get"].error
        (seen,) = rec.seen
    assert (seen.method, seen.path) == ("POST", "/api/v1/items/a%20b%2Fc.json")
    assert seen.params == {"view": "full", "n": "2"}
    assert seen.header("Authorization") == [f"Bearer {TOKEN}"]
    assert seen.header("Accept") == ["text/csv"]
    assert seen.body == b'{"title":"hi"}'
    assert TOKEN not in run.steps["get"].model_dump_json()


def test_a_host_not_in_hosts_fails_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTS_TEST_TOKEN", TOKEN)
    with Recorder() as rec:
        wf = _workflow(
            "{{ inputs.base_url }}/v1",
            ["api.example.com"],
            with_={"headers": {"Authorization": "Bearer {{ secrets.tok }}"}},
        )
        run = run_workflow(wf, {"base_url": rec.url})
        seen = rec.seen
    assert seen == [], "nothing may be sent to a host that is not listed"
    error = run.steps["get"].error
    assert error is not None
    assert error.kind == "config"
    assert error.field_path == "steps.get.with.url"
    assert "'127.0.0.1' is not one of the workflow's hosts (api.example.com)" in error.message
    assert "nothing was sent" in error.message


@pytest.mark.parametrize(
    ("entry", "base", "allowed"),
    [
        ("127.0.0.1", "{url}", True),  # a host alone: any port
        ("127.0.0.1:{port}", "{url}", True),
        ("127.0.0.1:1", "{url}", False),  # host:port: that port only
        ("localhost:{port}", "{url}", False),
        ("127.0.0.1:{port}", "http://user:pw@127.0.0.1:{port}", False),  # no user:password
        ("127.0.0.1:{port}", "{url}?a=1", False),  # query values go in `query:`
        ("127.0.0.1:{port}", "ftp://127.0.0.1:{port}", False),
    ],
)
def test_only_a_listed_host_and_port_is_sent_to(entry: str, base: str, allowed: bool) -> None:
    with Recorder() as rec:
        port = _port(rec)
        wf = _workflow("{{ inputs.base_url }}/ping", [entry.format(port=port)])
        run = run_workflow(wf, {"base_url": base.format(url=rec.url, port=port)})
        seen = rec.seen
    assert run.ok is allowed, run.steps["get"].error
    assert len(seen) == int(allowed)
    if not allowed:
        error = run.steps["get"].error
        assert error is not None
        assert error.kind == "config"
        assert not seen


def test_check_accepts_a_templated_host_only_with_hosts() -> None:
    with pytest.raises(WorkflowError) as info:
        _workflow("https://{{ inputs.base_url }}.example.com/v1", None)
    text = info.value.render()
    assert "steps.get.with.url: the url's scheme and host are templated" in text
    assert "hosts:" in text
    # `hosts: []` is there: the file loads, and every host is refused when run
    wf = _workflow("{{ inputs.base_url }}/v1", [])
    run = run_workflow(wf, {"base_url": "http://127.0.0.1:9"})
    error = run.steps["get"].error
    assert error is not None
    assert "(none listed)" in error.message


@pytest.mark.parametrize("entry", ["https://api.example.com", "*.example.com", "a/b", "h:99999"])
def test_a_hosts_entry_is_a_host_and_optional_port(entry: str) -> None:
    with pytest.raises(WorkflowError, match="hosts"):
        _workflow("{{ inputs.base_url }}/v1", [entry])


def test_the_credential_goes_only_to_the_rendered_host() -> None:
    wf = _workflow(
        "{{ inputs.base_url }}/v1",
        ["a.example.com", "b.example.com:8443"],
        with_={"headers": {"Authorization": "Token {{ secrets.tok }}"}},
    )
    stored = wf.manifest(wf.steps[0])
    # a worker's --allow-host check sees every host the step may call
    assert stored.servers == ("https://a.example.com", "https://b.example.com:8443")
    bound = bind_origin(
        stored, "https://b.example.com:8443/x", bare=False, hosts=wf.hosts or (), step_id="get"
    )
    assert bound.servers == ("https://b.example.com:8443",)
    assert bound.auth.hosts == ("b.example.com",)
    assert bound.path == "/x/v1"
    with pytest.raises(ConfigError, match="not one of the workflow's hosts"):
        bind_origin(
            stored, "https://c.example.com", bare=False, hosts=wf.hosts or (), step_id="get"
        )


def test_each_item_of_a_for_each_is_held_to_hosts() -> None:
    with Recorder() as rec:
        wf = _workflow(
            "{{ item }}/each",
            [f"127.0.0.1:{_port(rec)}"],
            for_each=[rec.url, "http://localhost:1", f"{rec.url}/two"],
            continue_on_error=True,
        )
        run = run_workflow(wf, {"base_url": "x"})
        seen = rec.seen
    assert sorted(s.path for s in seen) == ["/each", "/two/each"]
    assert "localhost" in json.dumps(run.steps["get"].model_dump(mode="json"))


def test_split_origin_and_host_matching() -> None:
    assert split_origin("{{ inputs.b }}/x/{{ inputs.i }}") == (
        "{{ inputs.b }}",
        "/x/{{ inputs.i }}",
    )
    assert split_origin("https://{{ r }}.example.com/v1") == ("https://{{ r }}.example.com", "/v1")
    assert split_origin("{{ s }}://{{ h }}/x?q=1") == ("{{ s }}://{{ h }}", "/x?q=1")
    assert split_origin("https://api.example.com/{{ x }}") == (
        None,
        "https://api.example.com/{{ x }}",
    )
    assert host_allowed("api.example.com", None, ["api.example.com"])
    assert not host_allowed("api.example.com.evil.test", None, ["api.example.com"])
    assert host_allowed("::1", 8080, ["[::1]:8080"])


# -- path segments mixing text and templates -------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "value", "sent"),
    [
        ("{{ inputs.id }}.json", "42", "/items/42.json"),
        ("{{ inputs.id }}.json", "a/../b?c", "/items/a%2F..%2Fb%3Fc.json"),
        ("v-{{ inputs.id }}-%7Bx%7D", "1 2", "/items/v-1%202-%7Bx%7D"),
        ("a%20b{{ inputs.id }}", "é", "/items/a%20b%C3%A9"),
    ],
)
def test_a_segment_of_text_and_a_template_is_one_encoded_segment(
    segment: str, value: str, sent: str
) -> None:
    with Recorder() as rec:
        wf = _workflow(f"{rec.url}/items/{segment}", None)
        run = run_workflow(wf, {"base_url": "unused", "id": value})
        assert run.ok, run.steps["get"].error
        (seen,) = rec.seen
    assert seen.path == sent


# -- body_file and paging ------------------------------------------------------------------


def test_body_file_sends_the_files_bytes(tmp_path: Path) -> None:
    blob = tmp_path / "photo.png"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00binary")
    with Recorder() as rec:
        wf = _workflow(
            f"{rec.url}/upload",
            None,
            with_={
                "method": "PUT",
                "headers": {"Content-Type": "image/png"},
                "body_file": "{{ inputs.id }}",
            },
        )
        run = run_workflow(wf, {"base_url": "unused", "id": str(blob)})
        assert run.ok, run.steps["get"].error
        (seen,) = rec.seen
    assert (seen.method, seen.path, seen.body) == ("PUT", "/upload", blob.read_bytes())
    assert seen.header("Content-Type") == ["image/png"]
    with pytest.raises(WorkflowError, match="a body_file is sent as its bytes"):
        _workflow(
            "http://h/x",
            None,
            with_={"headers": {"Content-Type": "application/json"}, "body_file": "a"},
        )


def _pages(seen: Seen) -> tuple[int, dict[str, str], bytes]:
    page = int(seen.params.get("page", "0"))
    return reply({"data": [{"n": page * 10 + i} for i in range(2)] if page <= 2 else []})


def test_paging_gathers_every_page_of_an_http_step() -> None:
    with Recorder(_pages) as rec:
        wf = _workflow(
            f"{rec.url}/list",
            None,
            with_={
                "query": {"per_page": 2},
                "paging": {"style": "page", "param": "page", "items": "data"},
            },
            paginate=True,
            max_pages=5,
        )
        run = run_workflow(wf, {"base_url": "unused"})
        assert run.ok, run.steps["get"].error
        seen = rec.seen
    assert [s.params for s in seen] == [{"per_page": "2", "page": str(n)} for n in (1, 2, 3)]
    result = run.steps["get"]
    assert result.outputs["items"] == [{"n": 10}, {"n": 11}, {"n": 20}, {"n": 21}]
    assert result.outputs["pages"] == 3


def test_the_test_command_shows_and_calls_the_rendered_host(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    with Recorder(lambda seen: reply({"ok": True})) as rec:
        data = {
            "name": "hosts",
            "hosts": ["127.0.0.1"],
            "inputs": {"base_url": {"type": "string", "default": rec.url}},
            "steps": [{"id": "get", "task": "http", "with": {"url": "{{ inputs.base_url }}/v"}}],
        }
        (tmp_path / "wf.json").write_text(json.dumps(data))
        dry = run_cli("test", "wf.json", "--step", "get", "--dry-run", "--curl", cwd=tmp_path)
        assert dry.returncode == 0, dry.stderr
        assert f"{rec.url}/v" in dry.stdout  # the rendered host, not hosts:'s first entry
        live = run_cli("test", "wf.json", "--step", "get", "--json", cwd=tmp_path)
        assert live.returncode == 0, live.stdout + live.stderr
        assert [s.path for s in rec.seen] == ["/v"]
