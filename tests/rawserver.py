"""A deliberately broken HTTP server on a loopback socket, for the fault matrix.

Each connection reads one request and then runs a *behaviour*: a function given the socket
and the request bytes, free to answer badly (slowly, truncated, malformed, never).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

Behaviour = Callable[[socket.socket, bytes], None]


class RawServer:
    """Serves one behaviour to every connection until closed; counts requests."""

    def __init__(self, behaviour: Behaviour, host: str = "127.0.0.1") -> None:
        self.behaviour = behaviour
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.2)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        """The server's base URL."""
        return f"http://{self.host}:{self.port}/client/v4"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                while len(rest) < length:
                    rest += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + rest)
                self.behaviour(conn, head)


def answer(
    status: str, body: bytes, content_type: str = "application/json", extra: str = ""
) -> Behaviour:
    """A complete, well-formed answer."""

    def run(conn: socket.socket, _: bytes) -> None:
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n".encode()
            + body
        )

    return run


def truncated(conn: socket.socket, _: bytes) -> None:
    """Promise 1000 bytes, send 20, close."""
    conn.sendall(
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n" + b'{"success": true, "d'
    )


def silent(conn: socket.socket, _: bytes) -> None:
    """Read the request, never answer (until the client gives up)."""
    with contextlib.suppress(OSError):
        conn.recv(1)


def drip(conn: socket.socket, _: bytes) -> None:
    """Headers at once, then one byte every 50 ms for a long time."""
    with contextlib.suppress(OSError):
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _i in range(400):
            conn.sendall(b"1\r\n \r\n")
            time.sleep(0.05)


def reset_after_request(conn: socket.socket, _: bytes) -> None:
    """Drop the connection with a reset once the request is read."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def huge(conn: socket.socket, _: bytes) -> None:
    """A 100 MB JSON-typed body, streamed."""
    size = 100 * 1024 * 1024
    with contextlib.suppress(OSError):
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {size}\r\n\r\n".encode()
        )
        block = b" " * 65536
        for _i in range(size // len(block)):
            conn.sendall(block)


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield port
