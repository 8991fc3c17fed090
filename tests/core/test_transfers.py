"""Large bodies both ways, proved on a real server on 127.0.0.1.

Uploads stream from disk: a file many times larger than the memory a call takes arrives whole
(its SHA-256 checked by the server, which keeps nothing), and a retry sends it again in full.
Downloads (``save_to``, a client argument and a workflow step key) write the answer's exact
bytes to the named file, whole or not at all; a folder that does not exist sends nothing.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from rtk_task import Client
from rtk_task.manifests.model import Manifest, Param, Parameters, ParamType
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow

from ..recorder import Recorder, Reply, Seen, reply

#: An upload this big would show in the call's memory if it were read whole.
BIG = 16 * 1024 * 1024
#: Every byte value in a pattern that does not repeat at a power of two.
PATTERN = bytes(range(256)) * 3 + b"\r\n--x\r\n"


def big_file(path: Path, size: int) -> bytes:
    """Write ``size`` bytes of :data:`PATTERN` to ``path``; their SHA-256 digest."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            chunk = (PATTERN * (65536 // len(PATTERN) + 1))[: min(65536, left)]
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.digest()


class HashingServer:
    """Reads each request's body in chunks, keeps only its length and SHA-256, answers 200."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.bodies: list[tuple[int, bytes, bytes]] = []  # length, digest, head
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> HashingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        self._thread.join(5)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(30)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, rest = data.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                digest, got = hashlib.sha256(rest), len(rest)
                while got < length:
                    chunk = conn.recv(min(65536, length - got))
                    if not chunk:
                        break
                    digest.update(chunk)
                    got += len(chunk)
                self.bodies.append((got, digest.digest(), head))
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b'Content-Length: 11\r\nConnection: close\r\n\r\n{"ok":true}'
                )


def upload_task(server: str, *, idempotent: bool = False) -> Manifest:
    return Manifest(
        id="test.files.upload",
        method="PUT" if idempotent else "POST",
        path="/files",
        servers=(server,),
        idempotent=idempotent,
        success_status=(200,),
        content_types=("application/octet-stream",),
        body_whole=True,
        parameters=Parameters(body=(Param(name="body", type=ParamType.STRING, format="binary"),)),
    )


def multipart_task(server: str) -> Manifest:
    fields = (
        Param(name="note", type=ParamType.STRING),
        Param(name="file", type=ParamType.STRING, format="binary"),
    )
    return Manifest(
        id="test.files.form",
        method="POST",
        path="/files",
        servers=(server,),
        idempotent=False,
        success_status=(200,),
        content_types=("multipart/form-data",),
        parameters=Parameters(body=fields),
    )


def download_task(server: str) -> Manifest:
    return Manifest(
        id="test.files.download",
        method="GET",
        path="/files/{name}",
        servers=(server,),
        idempotent=True,
        success_status=(200,),
        parameters=Parameters(path=(Param(name="name", type=ParamType.STRING, required=True),)),
    )


@pytest.fixture
def big(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "big.bin"
    return path, big_file(path, BIG)


# -- uploads ------------------------------------------------------------------------------


def test_a_large_upload_streams_from_disk_and_arrives_whole(big: tuple[Path, bytes]) -> None:
    path, digest = big
    with HashingServer() as server, Client(token=None) as client:
        tracemalloc.start()
        try:
            result = client.call(upload_task(server.url), {"body": str(path)})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.ok, result.error
    ((length, got, head),) = server.bodies
    assert (length, got) == (BIG, digest), "the file's bytes changed on the way"
    assert b"Content-Length: %d" % BIG in head, head
    assert peak < BIG // 4, f"the call held {peak:,} bytes for a {BIG:,}-byte file"


def test_a_multipart_upload_streams_its_file_between_the_form_parts(
    big: tuple[Path, bytes],
) -> None:
    path, _ = big
    with HashingServer() as server, Client(token=None) as client:
        tracemalloc.start()
        try:
            result = client.call(multipart_task(server.url), {"note": "hi", "file": str(path)})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.ok, result.error
    ((length, _, head),) = server.bodies
    assert BIG < length < BIG + 1024, length  # the file and the framing of two parts
    assert peak < BIG // 4, f"the call held {peak:,} bytes for a {BIG:,}-byte file"
    assert b"multipart/form-data; boundary=" in head


def test_a_retried_upload_sends_the_whole_file_again(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    data = PATTERN * 500
    path.write_bytes(data)
    answers = iter([reply({"error": "busy"}, 503), reply({"ok": True})])

    def respond(_: Seen) -> Reply:
        return next(answers)

    with Recorder(respond) as server, Client(token=None) as client:
        result = client.call(upload_task(server.url, idempotent=True), {"body": str(path)})
        seen = server.seen
    assert result.ok, result.error
    assert result.attempts == 2
    assert [s.body for s in seen] == [data, data]


def test_a_file_that_shrinks_while_sent_is_a_network_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(PATTERN * 100)
    from rtk_task import bodies

    real = bodies.Segments.chunks

    def shrink(self: bodies.Segments) -> Iterator[bytes]:
        path.write_bytes(b"short")  # the file changes after the body was built
        yield from real(self)

    monkeypatch.setattr(bodies.Segments, "chunks", shrink)
    with HashingServer() as server, Client(token=None) as client:
        result = client.call(upload_task(server.url), {"body": str(path)})
    assert not result.ok
    assert result.error is not None
    assert result.error.kind in ("network", "ambiguous"), result
    assert "shrank" in result.error.message, result.error


# -- downloads ----------------------------------------------------------------------------


def serve_file(data: bytes, status: int = 200) -> Recorder:
    def respond(_: Seen) -> Reply:
        return status, {"Content-Type": "application/pdf"}, data

    return Recorder(respond)


def test_save_to_writes_the_answers_exact_bytes_and_says_where(tmp_path: Path) -> None:
    data = PATTERN * 1000
    target = tmp_path / "report.pdf"
    with serve_file(data) as server, Client(token=None) as client:
        result = client.call(download_task(server.url), {"name": "r"}, save_to=target)
    assert result.ok, result.error
    assert target.read_bytes() == data
    assert result.outputs == {
        "file": str(target),
        "bytes": len(data),
        "content_type": "application/pdf",
    }
    assert result.body is None
    assert os.listdir(tmp_path) == ["report.pdf"], "a temporary file was left"


def test_a_failed_or_oversized_download_leaves_the_old_file_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    target.write_bytes(b"old")
    with serve_file(b"x" * 5000) as server, Client(token=None) as client:
        client.max_download_bytes = 1000
        result = client.call(download_task(server.url), {"name": "r"}, save_to=target)
    assert not result.ok
    assert result.error is not None
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["report.pdf"], "a temporary file was left"
    with serve_file(b'{"error": "gone"}', 404) as server, Client(token=None) as client:
        result = client.call(download_task(server.url), {"name": "r"}, save_to=target)
    assert result.status_code == 404
    assert not result.ok
    assert target.read_bytes() == b"old", "an error answer is not a download"


def test_a_download_into_a_missing_folder_sends_nothing(tmp_path: Path) -> None:
    with serve_file(b"data") as server, Client(token=None) as client:
        result = client.call(
            download_task(server.url), {"name": "r"}, save_to=tmp_path / "no" / "f.pdf"
        )
        seen = server.seen
    assert not result.ok
    assert result.error is not None
    assert result.error.kind == "validation"
    assert result.error.field_path == "save_to"
    assert "does not exist" in result.error.message
    assert seen == [], "a request was sent"


def test_a_workflow_step_saves_its_download_to_a_templated_path(tmp_path: Path) -> None:
    data = bytes(range(256)) * 64
    with serve_file(data) as server:
        workflow = parse_workflow(
            f"""
name: fetch
inputs:
  folder: {{type: string}}
steps:
  - id: get
    task: http
    with: {{method: GET, url: "{server.url}/files/a.pdf"}}
    save_to: "{{{{ inputs.folder }}}}/a.pdf"
outputs:
  saved: "{{{{ steps.get.outputs.file }}}}"
  size: "{{{{ steps.get.outputs.bytes }}}}"
"""
        )
        run = run_workflow(workflow, {"folder": str(tmp_path)})
    assert run.ok, run.steps["get"].error
    assert (tmp_path / "a.pdf").read_bytes() == data
    assert run.outputs == {"saved": str(tmp_path / "a.pdf"), "size": len(data)}
