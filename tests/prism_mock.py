"""Stoplight Prism on loopback: a third-party mock that validates every request against an
OpenAPI document (``prism mock DOC --errors``) and answers 422/400/401 to one that does not
fit, so a test learns whether rtk-task sent what the document asks for.

:func:`running_prism` starts it on a free port of 127.0.0.1 in its own process group, waits
(bounded) until the port answers, and stops the whole group after. Prism is found at
``$RTK_PRISM``, in the npm cache folder the README's set-up command installs it into, or on
``PATH``. Missing, it fails the test in CI (``CI`` set: CI installs it, so absence is a bug)
and skips it elsewhere, saying how to install it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["prism_executable", "running_prism"]

_INSTALL = "npm install --prefix ~/.cache/rtk-npm @stoplight/prism-cli@5"
#: How long Prism may take to start on a busy 2-core machine (it answers in a few seconds).
START_BUDGET_S = 120.0


def prism_executable() -> str:
    """The ``prism`` command, or a failure (CI) or skip (elsewhere) saying how to get it."""
    cache = Path(os.environ.get("RTK_NPM_CACHE", Path.home() / ".cache" / "rtk-npm"))
    for candidate in (
        os.environ.get("RTK_PRISM"),
        str(cache / "node_modules" / ".bin" / "prism"),
        shutil.which("prism"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = f"Stoplight Prism is not installed: {_INSTALL}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


@contextlib.contextmanager
def running_prism(document: Path) -> Iterator[str]:
    """Prism mocking ``document`` with request validation on; yields its base URL."""
    prism = prism_executable()
    port = _free_port()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [prism, "mock", str(document), "--errors", "-h", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            started = time.monotonic()
            while not _answers(port):
                if process.poll() is not None or time.monotonic() - started > START_BUDGET_S:
                    log.seek(0)
                    tail = log.read()[-3000:]
                    pytest.fail(f"Prism did not start on {document.name}:\n{tail}")
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
