"""Imports lose nothing silently (issue 25, item 6): an imported step, run against a recording
server on loopback, sends what the original sends: method, path, query, headers and body
bytes. When curl is installed, the original cURL command itself is sent to the same server
and the two requests are compared byte for byte (a multipart boundary aside). Every output
passes ``rtk-task check``; what cannot be imported costs its own step, with a note."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from rtk_task.errors import ConfigError
from rtk_task.workflows.check import check_workflow
from rtk_task.workflows.imports import ImportedStep, request_step, to_yaml
from rtk_task.workflows.imports.conductor import import_conductor
from rtk_task.workflows.imports.curl import parse_curl
from rtk_task.workflows.imports.n8n import import_n8n
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow
from tests.recorder import Recorder, Reply, Seen, ok, reply

CURL = shutil.which("curl")


def _curl_version() -> tuple[int, ...]:
    if CURL is None:
        return ()
    out = subprocess.run(
        [CURL, "--version"], check=False, capture_output=True, text=True, timeout=30
    )
    found = re.match(r"curl (\d+)\.(\d+)", out.stdout)
    return (int(found.group(1)), int(found.group(2))) if found else ()


#: curl 7.77 and later send a space of --data-urlencode as `+` (before: `%20`).
PLUS_SPACES = _curl_version() >= (7, 77)


def _checked(text: str) -> None:
    """The output loads and passes `rtk-task check`'s checks (nothing is sent)."""
    report = check_workflow(parse_workflow(text, "imported.yaml"), {})
    assert report.ok, [str(p) for p in report.problems]


def _boundary(seen: Seen) -> bytes | None:
    (kind,) = seen.header("Content-Type") or [""]
    found = re.search(r"boundary=(\S+)", kind)
    return found.group(1).encode() if found else None


def _body(seen: Seen) -> bytes:
    """The body, a multipart boundary written ``BOUNDARY``."""
    boundary = _boundary(seen)
    return seen.body.replace(boundary, b"BOUNDARY") if boundary else seen.body


def _content_type(seen: Seen) -> str:
    (kind,) = seen.header("Content-Type") or [""]
    boundary = _boundary(seen)
    return kind.replace(boundary.decode(), "BOUNDARY") if boundary else kind


def _same(ours: Seen, theirs: Seen, headers: tuple[str, ...]) -> None:
    """The two requests say the same: method, path, query, the headers named, the body."""
    assert ours.method == theirs.method
    assert ours.path == theirs.path
    assert parse_qsl(ours.query, keep_blank_values=True) == parse_qsl(
        theirs.query, keep_blank_values=True
    )
    assert _content_type(ours) == _content_type(theirs)
    for name in headers:
        assert ours.header(name) == theirs.header(name), name
    assert _body(ours) == _body(theirs)


def _import_and_run(
    args: list[str],
    path: str,
    monkeypatch: pytest.MonkeyPatch,
    env: Callable[[ImportedStep], dict[str, str]] = lambda step: {},
    respond: Callable[[Seen], Reply] = ok,
    base: str = "",
) -> tuple[ImportedStep, str, Seen, Seen | None]:
    """Import `curl ARGS URL`, check it, run it against a recorder, then (with curl) send
    the command itself there too: the step, its YAML, what each sent."""
    with Recorder(respond) as rec:
        url = rec.url + path
        step = request_step(parse_curl(shlex.join(["curl", *args, url])))
        text = to_yaml([step])
        _checked(text)
        for name, value in env(step).items():
            monkeypatch.setenv(name, value)
        run = run_workflow(parse_workflow(text), {}, base_url=rec.url + base if base else None)
        assert run.ok, {k: v.error for k, v in run.steps.items()}
        if CURL is not None:
            subprocess.run([CURL, "-sS", "-o", os.devnull, *args, url], check=True, timeout=60)
        seen = rec.seen
    return step, text, seen[0], seen[1] if CURL is not None else None


# -- 1. -u user:password is HTTP Basic, actually sent -------------------------------------------


@pytest.mark.parametrize(
    ("user", "password"), [("alice", "s3cret-Pw-9f8e"), ("key-4b1f9a7c2d", None)]
)
def test_curl_user_is_sent_as_basic_auth(
    user: str, password: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = f"{user}:{password or ''}"

    def env(step: ImportedStep) -> dict[str, str]:
        names = step.secrets.values()
        (user_env,) = (n for n in names if n.endswith("_USERNAME"))
        out = {user_env: user}
        if password:
            (password_env,) = (n for n in names if n.endswith("_PASSWORD"))
            out[password_env] = password
        return out

    step, text, ours, theirs = _import_and_run(
        ["-u", given], "/v1/whoami?verbose=1", monkeypatch, env
    )
    auth = step.step["with"]["auth"]["basic"]
    assert set(auth) == ({"user", "password"} if password else {"user"})
    assert user not in text
    assert password is None or password not in text
    expected = "Basic " + base64.b64encode(given.encode()).decode()
    assert ours.header("Authorization") == [expected]
    assert (ours.method, ours.path, ours.query) == ("GET", "/v1/whoami", "verbose=1")
    assert not any("only a bearer token" in n for n in step.notes)
    if theirs is not None:
        _same(ours, theirs, ("Authorization",))


# -- 2. form, multipart, --data-urlencode, data files --------------------------------------------


def _file(tmp: Path, text: str) -> str:
    path = tmp / "data.txt"
    path.write_bytes(text.encode())
    return str(path)


@pytest.mark.parametrize(
    ("args", "body", "content_type", "kept"),
    [
        (["-d", "a=1&b=2"], b"a=1&b=2", "application/x-www-form-urlencoded", {"a": "1", "b": "2"}),
        (
            ["-d", "tag=x&tag=y", "-d", "n=3"],
            b"tag=x&tag=y&n=3",
            "application/x-www-form-urlencoded",
            {"tag": ["x", "y"], "n": "3"},
        ),
        (
            ["-d", "match[]=up&match[]=down"],  # curl sends it as written: kept as text
            b"match[]=up&match[]=down",
            "application/x-www-form-urlencoded",
            "match[]=up&match[]=down",
        ),
        (
            ["--data-urlencode", "q=Tom & Jerry", "--data-urlencode", "note=50%/50%"],
            b"q=Tom+%26+Jerry&note=50%25%2F50%25",
            "application/x-www-form-urlencoded",
            {"q": "Tom & Jerry", "note": "50%/50%"},
        ),
        (
            ["-d", "@FILE"],  # -d @file: carriage returns and newlines left out
            b"first=1&second=2",
            "application/x-www-form-urlencoded",
            {"first": "1", "second": "2"},
        ),
        (
            ["--data-binary", "@FILE", "-H", "Content-Type: text/plain"],
            b"first=1\r\n&second=2\n",
            "text/plain",
            "first=1\r\n&second=2\n",
        ),
        (
            ["-H", "Content-Type: application/json", "-d", '{"title":"Standup","n":[1,true]}'],
            b'{"title":"Standup","n":[1,true]}',
            "application/json",
            {"title": "Standup", "n": [1, True]},
        ),
    ],
)
def test_curl_bodies_are_sent_as_curl_sends_them(
    args: list[str],
    body: bytes,
    content_type: str,
    kept: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _file(tmp_path, "first=1\r\n&second=2\n")
    args = ["@" + data if a == "@FILE" else a for a in args]
    step, _, ours, theirs = _import_and_run(args, "/v1/forms", monkeypatch)
    assert step.step["with"]["body"] == kept
    assert ours.method == "POST"
    assert ours.body == body
    assert ours.header("Content-Type") == [content_type]
    if theirs is not None and (PLUS_SPACES or "--data-urlencode" not in args):
        _same(ours, theirs, ())


def test_a_form_kept_as_text_still_keeps_its_credential_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "cs-7Hn2Kd9Lw4Qx8Rz3"

    def env(step: ImportedStep) -> dict[str, str]:
        (name,) = step.secrets.values()
        return {name: secret}

    data = f"scope[]=read&scope[]=write&client_secret={secret}"
    step, text, ours, theirs = _import_and_run(["-d", data], "/oauth/token", monkeypatch, env)
    assert secret not in text
    assert step.step["with"]["body"].startswith("scope[]=read&scope[]=write&client_secret={{")
    assert ours.body == data.encode()
    if theirs is not None:
        _same(ours, theirs, ())


def test_curl_form_fields_and_files_are_a_multipart_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = tmp_path / "notes.txt"
    upload.write_bytes(b"line one\nline two\n")
    args = ["-F", "title=Stand up", "-F", "tag=a", "-F", "tag=b", "-F", f"file=@{upload}"]
    step, _, ours, theirs = _import_and_run(args, "/v1/upload", monkeypatch)
    assert step.step["with"]["files"] == {"file": str(upload)}
    assert step.step["with"]["body"] == {"title": "Stand up", "tag": ["a", "b"]}
    assert _content_type(ours) == "multipart/form-data; boundary=BOUNDARY"
    assert _body(ours) == (
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="title"\r\n\r\nStand up\r\n'
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="tag"\r\n\r\na\r\n'
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="tag"\r\n\r\nb\r\n'
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nline one\nline two\n\r\n--BOUNDARY--\r\n"
    )
    if theirs is not None:
        _same(ours, theirs, ())


def test_a_data_file_that_is_missing_or_too_large_is_an_error_naming_the_option(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as missing:
        parse_curl(f"curl -d @{tmp_path / 'nope.json'} https://api.example.com/x")
    assert missing.value.first.where.startswith("curl -d @")
    assert "cannot read the file" in missing.value.first.message
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    with pytest.raises(ConfigError) as large:
        parse_curl(f"curl --data-binary @{big} https://api.example.com/x")
    assert large.value.first.where.startswith("curl --data-binary @")
    assert "too large" in large.value.first.message
    with pytest.raises(ConfigError, match="standard input"):
        parse_curl("curl -d @- https://api.example.com/x")


# -- 3. any Authorization scheme, Accept as given, a loopback host kept --------------------------


def test_any_authorization_scheme_and_accept_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "tok-7Hn2Kd9Lw4Qx8Rz3"

    def env(step: ImportedStep) -> dict[str, str]:
        (name,) = step.secrets.values()
        return {name: token}

    args = ["-H", f"Authorization: Token {token}", "-H", "Accept: text/csv"]
    step, text, ours, theirs = _import_and_run(args, "/v1/report", monkeypatch, env)
    headers = step.step["with"]["headers"]
    assert re.fullmatch(r"Token \{\{ secrets\.\w+ \}\}", headers["Authorization"])
    assert headers["Accept"] == "text/csv"
    assert token not in text
    assert step.step["with"]["url"].startswith("http://127.0.0.1:")  # the host is kept
    assert ours.header("Authorization") == [f"Token {token}"]
    assert ours.header("Accept") == ["text/csv"]
    if theirs is not None:
        _same(ours, theirs, ("Authorization", "Accept"))


def test_a_known_tasks_path_on_loopback_keeps_its_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typed step calls the task's server unless told: the note gives the base URL."""
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "tok-typed-3f1e2d4c")

    def answer(_: Seen) -> Reply:
        return reply({"success": True, "data": {"id": "m-1", "status": "ACTIVE"}}, 201)

    args = [
        "-X", "POST",
        "-H", "Content-Type: application/json",
        "-H", "Authorization: Bearer tok-typed-3f1e2d4c",
        "-d", '{"title":"Standup","record_on_start":false}',
    ]  # fmt: skip
    path = "/client/v4/accounts/acc1/realtime/kit/app1/meetings"
    with Recorder(answer) as rec:
        step = request_step(parse_curl(shlex.join(["curl", *args, rec.url + path])))
        assert step.step["task"] == "realtimekit.meetings.create"
        base = f"{rec.url}/client/v4"
        assert any(f"--base-url {base}" in n for n in step.notes), step.notes
    step, text, ours, theirs = _import_and_run(
        args, path, monkeypatch, respond=answer, base="/client/v4"
    )
    assert "tok-typed-3f1e2d4c" not in text
    assert (ours.method, ours.path) == ("POST", path)
    assert ours.header("Authorization") == ["Bearer tok-typed-3f1e2d4c"]
    assert json.loads(ours.body) == {"title": "Standup", "record_on_start": False}
    if theirs is not None:
        _same(ours, theirs, ("Authorization",))


# -- 4. Conductor: jq with bare keys, the flat HTTP form, FORK_JOIN, timeouts, input hosts -----


def _http(ref: str, uri: str, **request: Any) -> dict[str, Any]:
    return {
        "name": ref,
        "taskReferenceName": ref,
        "type": "HTTP",
        "inputParameters": {"http_request": {"uri": uri, "method": "POST", **request}},
    }


def _definition(base: str) -> dict[str, Any]:
    return {
        "name": "approvals",
        "inputParameters": ["x", "host"],
        "inputTemplate": {"x": True, "host": "api.example.com"},
        "tasks": [
            {
                "name": "decide",
                "taskReferenceName": "decide",
                "type": "JSON_JQ_TRANSFORM",
                "inputParameters": {
                    "x": "${workflow.input.x}",
                    "queryExpression": "{approved: .x}",
                },
            },
            {
                "name": "shout",
                "taskReferenceName": "shout",
                "type": "JSON_JQ_TRANSFORM",
                "inputParameters": {"queryExpression": "{name: .x | ascii_upcase}"},
            },
            {
                "name": "start",
                "taskReferenceName": "start",
                "type": "HTTP",
                "inputParameters": {  # the flat form: no http_request
                    "uri": f"{base}/start?k=v",
                    "method": "POST",
                    "headers": {"X-Flow": "approvals"},
                    "body": {"approved": "${decide.output.result.approved}"},
                    "connectionTimeOut": 1500,
                    "readTimeOut": 2500,
                },
            },
            {
                "name": "fork",
                "taskReferenceName": "fork",
                "type": "FORK_JOIN",
                "forkTasks": [
                    [_http("left", f"{base}/left", body={"side": "left"})],
                    [_http("right", f"{base}/right", body={"side": "right"})],
                ],
            },
            {
                "name": "join",
                "taskReferenceName": "join",
                "type": "JOIN",
                "joinOn": ["left", "right"],
            },
            _http("done", f"{base}/done", body={"ok": True}),
            _http("remote", "https://${workflow.input.host}/hook", body={}),
        ],
    }


def test_conductor_jq_flat_form_fork_join_timeouts_and_input_hosts() -> None:
    arrived = {"/left": threading.Event(), "/right": threading.Event()}
    met: dict[str, bool] = {}

    def answer(seen: Seen) -> Reply:
        if seen.path in arrived:  # each branch waits for the other: they run side by side
            arrived[seen.path].set()
            other = "/right" if seen.path == "/left" else "/left"
            met[seen.path] = arrived[other].wait(20)
        return reply({"ok": True})

    with Recorder(answer) as rec:
        back = import_conductor(json.dumps(_definition(rec.url)), "approvals.json")
        notes = "\n".join(back.notes)
        assert "(shout): its jq cannot be translated" in notes
        assert "(remote): not imported" in notes
        assert "${workflow.input.host}" in notes
        steps = {s.step["id"]: s.step for s in back.steps}
        assert list(steps) == ["start", "left", "right", "done"]
        assert steps["start"]["timeout"] == {"connect": 1.5, "read": 2.5}
        assert steps["start"]["with"]["body"] == {"approved": "{{ inputs.x }}"}
        assert "depends_on" not in steps["start"]
        assert steps["left"]["depends_on"] == ["start"]
        assert steps["right"]["depends_on"] == ["start"]
        assert steps["done"]["depends_on"] == ["left", "right"]
        text = to_yaml(back.steps, name=back.name)
        _checked(text)
        run = run_workflow(parse_workflow(text), {})
        assert run.ok, {k: v.error for k, v in run.steps.items()}
        seen = rec.seen
    assert met == {"/left": True, "/right": True}
    assert (seen[0].path, seen[-1].path) == ("/start", "/done")
    assert sorted(s.path for s in seen[1:3]) == ["/left", "/right"]
    start = seen[0]
    assert (start.method, start.query) == ("POST", "k=v")
    assert start.header("X-Flow") == ["approvals"]
    assert start.body == b'{"approved":true}'
    assert {s.path: s.body for s in seen[1:]} == {
        "/left": b'{"side":"left"}',
        "/right": b'{"side":"right"}',
        "/done": b'{"ok":true}',
    }


# -- 5. one untranslatable node costs its own step -----------------------------------------------


def _node(name: str, url: str, **params: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "n8n-nodes-base.httpRequest",
        "typeVersion": 4.2,
        "parameters": {"method": "GET", "url": url, **params},
    }


def test_an_untranslatable_node_or_task_costs_only_its_step() -> None:
    with Recorder() as rec:
        nodes = [
            _node("Fetch", f"{rec.url}/items", method="FETCH"),  # not an HTTP method
            _node("Notify", f"{rec.url}/notify", method="POST"),
        ]
        connections = {"Fetch": {"main": [[{"node": "Notify", "type": "main", "index": 0}]]}}
        n8n = import_n8n(json.dumps({"name": "w", "nodes": nodes, "connections": connections}))
        assert [s.step["id"] for s in n8n.steps] == ["notify"]
        assert any("node 'Fetch': not imported" in n for n in n8n.notes), n8n.notes
        doc = {
            "name": "c",
            "tasks": [
                _http("odd", f"{rec.url}/odd", method="FETCH"),
                _http("fine", f"{rec.url}/fine", body={"n": 1}),
            ],
        }
        conductor = import_conductor(json.dumps(doc), "c.json")
        assert [s.step["id"] for s in conductor.steps] == ["fine"]
        assert any("(odd): not imported: not an HTTP method" in n for n in conductor.notes)
        for imported in (n8n, conductor):
            text = to_yaml(imported.steps, name=imported.name)
            _checked(text)
            run = run_workflow(parse_workflow(text), {})
            assert run.ok, {k: v.error for k, v in run.steps.items()}
        seen = rec.seen
    assert [(s.method, s.path, s.body) for s in seen] == [
        ("POST", "/notify", b""),
        ("POST", "/fine", b'{"n":1}'),
    ]
