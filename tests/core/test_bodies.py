"""Request bodies and query styles, proved on the wire: a real server on 127.0.0.1 keeps the
bytes of every request, and each test parses them as the receiving API would.

Form bodies and queries follow OpenAPI ``style``/``explode``; multipart bodies carry text
fields and files read from paths; a whole body is JSON of any type, text, or a file's exact
bytes. A file that is missing or over the cap, or a content type the task does not take,
sends nothing; the cURL text of each body runs as printed.
"""

from __future__ import annotations

import email.policy
import json
import shlex
import shutil
import subprocess
from collections.abc import Callable
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest

from rtk_task import Client, TaskResult
from rtk_task.errors import InputError
from rtk_task.execute import preview
from rtk_task.manifests.model import Manifest, Param, Parameters, ParamType

from ..recorder import Recorder, Seen

# -- manifests and helpers ------------------------------------------------------------------

S, I, A, O = ParamType.STRING, ParamType.INTEGER, ParamType.ARRAY, ParamType.OBJECT
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
#: Every byte value, twice, with CR LF and a boundary-like line in the middle.
ALL_BYTES = bytes(range(256)) + b"\r\n--boundary\r\n" + bytes(range(255, -1, -1))


def task(
    server: str,
    *body: Param,
    content_types: tuple[str, ...] = (),
    whole: bool = False,
    query: tuple[Param, ...] = (),
    method: str = "POST",
) -> Manifest:
    return Manifest(
        id="test.uploads.create",
        method=method,
        path="/uploads",
        servers=(server,),
        idempotent=False,
        success_status=(200,),
        content_types=content_types,
        body_whole=whole,
        parameters=Parameters(body=body, query=query),
    )


def send(manifest: Manifest, inputs: dict[str, Any]) -> TaskResult:
    with Client() as client:
        return client.call(manifest, inputs)


def the_one(server: Recorder, result: TaskResult) -> Seen:
    assert result.ok, result.error
    assert len(server.seen) == 1, f"the server got {len(server.seen)} requests, not 1"
    return server.seen[0]


def media(value: str) -> str:
    return value.split(";", 1)[0]


def content_type(seen: Seen) -> str:
    [value] = seen.header("Content-Type")
    return value


def multipart_parts(seen: Seen) -> dict[str, list[tuple[str | None, str, bytes]]]:
    """The parts of a multipart body by field name: ``(filename, content type, bytes)``,
    parsed with the standard library's MIME parser."""
    head = f"Content-Type: {content_type(seen)}\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + seen.body)
    assert message.is_multipart(), f"not a multipart body: {seen.body[:200]!r}"
    parts: dict[str, list[tuple[str | None, str, bytes]]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str), f"a part without a name: {part}"
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.setdefault(name, []).append((part.get_filename(), part.get_content_type(), payload))
    return parts


# -- application/x-www-form-urlencoded ------------------------------------------------------

FORM_FIELDS = (
    Param(name="meta", type=O, style="deepObject"),
    Param(name="tags", type=A, items=Param(name="[]", type=S)),
    Param(name="ids", type=A, items=Param(name="[]", type=I), explode=False),
    Param(name="note", type=S),
)


def form(server: Recorder, **inputs: Any) -> Seen:
    seen = the_one(server, send(task(server.url, *FORM_FIELDS, content_types=(FORM,)), inputs))
    assert content_type(seen) == FORM, seen.headers
    return seen


def test_a_deep_object_form_field_is_sent_as_bracketed_keys(server: Recorder) -> None:
    seen = form(server, meta={"a": 1, "b": {"c": 2}})
    assert unquote(seen.body.decode("ascii")) == "meta[a]=1&meta[b][c]=2", seen.body
    assert parse_qsl(seen.body.decode("ascii")) == [("meta[a]", "1"), ("meta[b][c]", "2")]


def test_an_exploded_form_array_is_sent_as_repeated_keys(server: Recorder) -> None:
    seen = form(server, tags=["red", "green", "blue"])
    assert seen.body == b"tags=red&tags=green&tags=blue", seen.body


def test_a_form_array_with_explode_false_is_comma_joined(server: Recorder) -> None:
    seen = form(server, ids=[1, 2, 3])
    assert parse_qsl(seen.body.decode("ascii")) == [("ids", "1,2,3")], seen.body


def test_spaces_and_ampersands_in_a_form_value_are_encoded(server: Recorder) -> None:
    seen = form(server, note="a b&c=d")
    assert seen.body == b"note=a+b%26c%3Dd", seen.body
    assert parse_qsl(seen.body.decode("ascii")) == [("note", "a b&c=d")]


# -- multipart/form-data --------------------------------------------------------------------

UPLOAD_FIELDS = (
    Param(name="title", type=S),
    Param(name="count", type=I),
    Param(name="file", type=S, format="binary"),
    Param(name="extras", type=A, items=Param(name="[]", type=S, format="binary")),
)


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    path = tmp_path / "clip one.bin"
    path.write_bytes(ALL_BYTES)
    return path


def test_multipart_sends_text_fields_and_the_files_exact_bytes_and_name(
    server: Recorder, upload: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"line one\r\nline two\n")
    manifest = task(server.url, *UPLOAD_FIELDS, content_types=(MULTIPART,))
    inputs = {
        "title": "Hello world & more",
        "count": 3,
        "file": str(upload),
        "extras": [str(notes), str(upload)],
    }
    seen = the_one(server, send(manifest, inputs))
    assert content_type(seen).startswith("multipart/form-data; boundary="), seen.headers
    parts = multipart_parts(seen)
    assert parts["title"] == [(None, "text/plain", b"Hello world & more")], parts["title"]
    assert parts["count"] == [(None, "text/plain", b"3")], parts["count"]
    [(filename, _, data)] = parts["file"]
    assert filename == "clip one.bin", f"the file arrived named {filename!r}"
    assert data == ALL_BYTES, "the file's bytes changed on the way"
    assert [(f, d) for f, _, d in parts["extras"]] == [
        ("notes.txt", b"line one\r\nline two\n"),
        ("clip one.bin", ALL_BYTES),
    ]


# -- whole bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "value"),
    [
        pytest.param(
            Param(name="body", type=A, items=Param(name="[]", type=ParamType.ANY)),
            [{"a": 1}, [2, "three"], None, True],
            id="array",
        ),
        pytest.param(Param(name="body", type=I), 42, id="integer"),
        pytest.param(Param(name="body", type=S), "just a string", id="string"),
    ],
)
def test_a_whole_json_body_of_any_type_is_sent_as_that_json(
    server: Recorder, param: Param, value: Any
) -> None:
    seen = the_one(server, send(task(server.url, param, whole=True), {"body": value}))
    assert content_type(seen) == "application/json", seen.headers
    assert json.loads(seen.body) == value, seen.body


def test_an_octet_stream_body_from_a_file_arrives_byte_exact(
    server: Recorder, upload: Path
) -> None:
    body = Param(name="body", type=S, format="binary")
    manifest = task(server.url, body, whole=True, content_types=("application/octet-stream",))
    seen = the_one(server, send(manifest, {"body": str(upload)}))
    assert content_type(seen) == "application/octet-stream", seen.headers
    assert seen.body == ALL_BYTES, "the file's bytes changed on the way"


def test_a_text_plain_body_is_sent_as_utf8_text(server: Recorder) -> None:
    text = 'héllo\nwörld & {"not": json} ☃'
    manifest = task(
        server.url, Param(name="body", type=S), whole=True, content_types=("text/plain",)
    )
    seen = the_one(server, send(manifest, {"body": text}))
    assert content_type(seen) == "text/plain", seen.headers
    assert seen.body == text.encode("utf-8"), seen.body


# -- choosing among the content types a task takes ------------------------------------------

CHOICE_FIELDS = (
    Param(name="name", type=S),
    Param(name="tags", type=A, items=Param(name="[]", type=S)),
)


@pytest.mark.parametrize(
    ("stated", "expected"),
    [
        (None, "application/json"),
        ("application/json", "application/json"),
        (FORM, FORM),
        (f"{FORM}; charset=utf-8", f"{FORM}; charset=utf-8"),
        (MULTIPART, MULTIPART),
    ],
)
def test_a_step_picks_one_of_the_tasks_content_types_with_its_header(
    server: Recorder, stated: str | None, expected: str
) -> None:
    manifest = task(server.url, *CHOICE_FIELDS, content_types=("application/json", FORM, MULTIPART))
    inputs: dict[str, Any] = {"name": "a b", "tags": ["x", "y"]}
    if stated is not None:
        inputs["headers"] = {"Content-Type": stated}
    seen = the_one(server, send(manifest, inputs))
    got = content_type(seen)
    assert media(got) == media(expected), f"sent as {got}, not {expected}"
    if expected == "application/json":
        assert json.loads(seen.body) == {"name": "a b", "tags": ["x", "y"]}
    elif expected.startswith(FORM):
        assert got == expected
        assert seen.body == b"name=a+b&tags=x&tags=y", seen.body
    else:
        parts = multipart_parts(seen)
        assert parts["name"] == [(None, "text/plain", b"a b")]
        assert [d for _, _, d in parts["tags"]] == [b"x", b"y"]


def test_a_content_type_the_task_does_not_take_is_refused_and_nothing_is_sent(
    server: Recorder,
) -> None:
    manifest = task(server.url, *CHOICE_FIELDS, content_types=("application/json", FORM))
    result = send(manifest, {"name": "n", "headers": {"Content-Type": "text/csv"}})
    assert result.error is not None
    assert result.error.kind == "validation", result.error
    assert result.error.field_path == "headers.Content-Type", result.error
    assert "text/csv" in result.error.message
    assert server.seen == [], "a body of a type the task does not take was sent"
    with pytest.raises(InputError):
        result.raise_for_error()


# -- files that cannot be sent --------------------------------------------------------------


def multipart_task(server: str) -> Manifest:
    return task(server, *UPLOAD_FIELDS, content_types=(MULTIPART,))


def octet_task(server: str) -> Manifest:
    body = Param(name="body", type=S, format="binary")
    return task(server, body, whole=True, content_types=("application/octet-stream",))


@pytest.mark.parametrize(
    ("make", "field"),
    [(multipart_task, "file"), (octet_task, "body")],
    ids=["multipart-field", "whole-body"],
)
@pytest.mark.parametrize("problem", ["missing", "over-the-cap"])
def test_a_missing_or_oversized_file_is_a_validation_error_naming_the_field(
    monkeypatch: pytest.MonkeyPatch,
    server: Recorder,
    tmp_path: Path,
    make: Callable[[str], Manifest],
    field: str,
    problem: str,
) -> None:
    path = tmp_path / "data.bin"
    if problem == "over-the-cap":
        monkeypatch.setattr("rtk_task.bodies.MAX_FILE_BYTES", 64)
        path.write_bytes(b"x" * 65)
    result = send(
        make(server.url), {field: str(path), **({"title": "t"} if field != "body" else {})}
    )
    assert result.error is not None, "an unreadable file was accepted"
    assert result.error.kind == "validation", result.error
    assert result.error.field_path == field, result.error
    assert str(path) in result.error.message, result.error.message
    assert server.seen == [], "a request went out without its file"


# -- the cURL text of each body -------------------------------------------------------------


def test_the_curl_text_of_a_multipart_body_sends_files_by_path_and_text_as_strings(
    upload: Path,
) -> None:
    manifest = task("http://127.0.0.1:9", *UPLOAD_FIELDS, content_types=(MULTIPART,))
    result, curl = preview(manifest, {"title": "@not-a-file; x", "file": str(upload)})
    assert result.ok, result.error
    assert "-F " + shlex.quote(f"file=@{upload}") in curl, curl
    assert "--form-string " + shlex.quote("title=@not-a-file; x") in curl, curl
    assert "--data" not in curl, curl


def test_the_curl_text_of_an_octet_stream_body_reads_the_file(upload: Path) -> None:
    result, curl = preview(octet_task("http://127.0.0.1:9"), {"body": str(upload)})
    assert result.ok, result.error
    assert "--data-binary " + shlex.quote(f"@{upload}") in curl, curl
    assert "--data-raw" not in curl, curl


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")
@pytest.mark.parametrize("kind", ["multipart", "octet-stream"])
def test_the_printed_curl_sends_the_same_body_as_the_client(
    server: Recorder, upload: Path, kind: str
) -> None:
    if kind == "multipart":
        manifest = multipart_task(server.url)
        inputs: dict[str, Any] = {"title": "@not-a-file; x", "count": 2, "file": str(upload)}
    else:
        manifest, inputs = octet_task(server.url), {"body": str(upload)}
    _, curl = preview(manifest, inputs)
    by_client = the_one(server, send(manifest, inputs))
    done = subprocess.run(
        ["bash", "-c", curl],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    by_curl = server.seen[1]
    if kind == "multipart":
        sent_type = content_type(by_curl)
        assert sent_type.count("boundary=") == 1, f"cURL sent Content-Type: {sent_type}"
        got = {k: [(f, d) for f, _, d in v] for k, v in multipart_parts(by_curl).items()}
        want = {k: [(f, d) for f, _, d in v] for k, v in multipart_parts(by_client).items()}
        assert got == want, "cURL sent other parts than the client"
    else:
        assert by_curl.body == by_client.body == ALL_BYTES


# -- query styles ---------------------------------------------------------------------------

QUERY = (
    Param(name="filter", type=O, style="deepObject"),
    Param(name="ids", type=A, items=Param(name="[]", type=I), style="pipeDelimited"),
    Param(name="words", type=A, items=Param(name="[]", type=S), style="spaceDelimited"),
    Param(name="tags", type=A, items=Param(name="[]", type=S)),
)


def search(server: Recorder, inputs: dict[str, Any]) -> Seen:
    manifest = task(server.url, query=QUERY, method="GET")
    return the_one(server, send(manifest, inputs))


def test_a_deep_object_query_parameter_is_sent_as_bracketed_keys(server: Recorder) -> None:
    seen = search(server, {"filter": {"status": "active", "owner": {"id": 7}}})
    assert parse_qsl(seen.query) == [("filter[status]", "active"), ("filter[owner][id]", "7")]
    assert unquote(seen.query) == "filter[status]=active&filter[owner][id]=7", seen.query


def test_a_pipe_delimited_query_array_is_one_pipe_joined_value(server: Recorder) -> None:
    seen = search(server, {"ids": [1, 2, 3]})
    assert seen.query == "ids=1%7C2%7C3", seen.query


def test_space_delimited_and_default_query_arrays(server: Recorder) -> None:
    seen = search(server, {"words": ["a", "b&c"], "tags": ["x", "y"]})
    assert parse_qsl(seen.query) == [("words", "a b&c"), ("tags", "x"), ("tags", "y")]
