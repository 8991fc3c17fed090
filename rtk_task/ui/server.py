"""Serving the playground: the embedded emulator (unless live) and the app, on loopback.

:class:`UiServer` binds 127.0.0.1 first, so the app knows the exact ``Host`` to accept, then
serves from a thread; ``with UiServer(...) as ui: ui.url`` is how tests and the CLI use it.
Without ``base_url`` it starts an :class:`~rtk_task.emulator.EmulatorServer` and targets it;
both stop on exit.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from ..emulator import EmulatorServer
from ..errors import ConfigError, Problem
from .app import create_app
from .security import check_loopback, new_csrf_token
from .service import Playground

__all__ = ["UiServer"]


class UiServer:
    """The playground (and its emulator) served from background threads."""

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        base_url: str | None = None,
        workflow_file: Path | None = None,
        records_root: Path | None = None,
    ) -> None:
        check_loopback(host)
        self.host, self.port = host, port
        self.base_url = base_url
        self.workflow_file = workflow_file
        self.records_root = records_root
        self.emulator: EmulatorServer | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        return f"http://{self.host}:{self.port}/"

    def start(self) -> UiServer:
        """Start the emulator (unless live), bind, serve; return once connections are taken."""
        try:
            sock = socket.create_server((self.host, self.port))
        except OSError as exc:
            where, hint = f"{self.host}:{self.port}", "pick another --port, or --port 0"
            raise ConfigError(Problem(where, f"cannot listen: {exc.strerror}", hint)) from None
        self.port = sock.getsockname()[1]
        live = self.base_url is not None
        if self.base_url is None:
            self.emulator = EmulatorServer(port=0).start()
            target = self.emulator.base_url
        else:
            target = self.base_url
        playground = Playground(
            base_url=target,
            live=live,
            workflow_file=self.workflow_file,
            records_root=self.records_root,
            emulator=self._emulator_url,
        )
        app = create_app(playground, host=self.host, port=self.port, csrf_token=new_csrf_token())
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="rtk-ui", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(Problem(self.url, "the playground did not start"))
            time.sleep(0.005)
        return self

    def _emulator_url(self) -> str:
        """The embedded emulator's base URL, started on first need (a live session that
        switches to it)."""
        with self._lock:
            if self.emulator is None:
                self.emulator = EmulatorServer(port=0).start()
            return self.emulator.base_url

    def wait(self) -> None:
        """Block until the server thread ends (Ctrl-C stops it)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        """Stop the app and the emulator."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = self._thread = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None

    def __enter__(self) -> UiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
