"""Serving the emulator with uvicorn: in a thread (tests, demo) or in the foreground (CLI)."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

import uvicorn

from ..errors import EngineError, Problem
from .app import Emulator, InjectedFault, create_app
from .faults import FaultRule

__all__ = ["EmulatorServer", "run_emulator"]


class _HideInjected(logging.Filter):
    """Connections cut on purpose are faults, not errors worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InjectedFault))


logging.getLogger("uvicorn.error").addFilter(_HideInjected())


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EmulatorServer:
    """The emulator on a real socket, served from a background thread.

    ``rate_limit`` (``"250/10s"`` or ``(250, 10.0)``) answers 429 past it (see
    :mod:`rtk_task.emulator.ratelimit`); the other arguments are :class:`Emulator`'s.

    ``with EmulatorServer(port=0) as server: server.base_url`` picks a free port, waits until
    it accepts connections, and stops cleanly on exit.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        faults: Iterable[dict[str, Any] | FaultRule] = (),
        *,
        allow_remote: bool = False,
        seed: dict[str, Any] | None = None,
        recording_delays: tuple[float, float] = (1.0, 2.0),
        rate_limit: str | tuple[int, float] | None = None,
    ) -> None:
        if not (_is_loopback(host) or allow_remote):
            raise EngineError(
                Problem(
                    f"--host {host}", "the emulator serves loopback only", "use 127.0.0.1 or ::1"
                )
            )
        rules = [f if isinstance(f, FaultRule) else FaultRule.model_validate(f) for f in faults]
        self.emulator = Emulator(
            token, rules, seed=seed, recording_delays=recording_delays, rate_limit=rate_limit
        )
        self.host, self.port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/client/v4``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/client/v4"

    def start(self) -> EmulatorServer:
        """Bind, serve in a thread, return once connections are accepted."""
        try:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.create_server((self.host, self.port), family=family, backlog=512)
        except OSError as exc:
            raise EngineError(
                Problem(
                    f"{self.host}:{self.port}",
                    f"cannot listen: {exc.strerror}",
                    "pick another --port, or --port 0 for a free one",
                )
            ) from None
        # accepted sockets inherit this: without it small answers wait ~40 ms for delayed ACKs
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(self.emulator),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="rtk-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise EngineError(Problem(self.base_url, "the emulator did not start"))
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control, the same as over /__emulator ----------------------------------------------

    def add_faults(self, *rules: dict[str, Any] | FaultRule) -> None:
        """Add fault rules (see :mod:`rtk_task.emulator.faults`)."""
        self.emulator.faults.add(list(rules))  # type: ignore[arg-type]

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.emulator.faults.clear()

    def stats(self) -> dict[str, Any]:
        """Requests per operation, meetings created per account and in all, faults fired."""
        return self.emulator.stats()

    def reset(self) -> None:
        """Empty the store and the counters."""
        self.emulator.reset()


def run_emulator(
    host: str,
    port: int,
    token: str | None,
    faults: Iterable[dict[str, Any]] = (),
    seed: dict[str, Any] | None = None,
    on_ready: Callable[[str], None] = lambda base_url: None,
    rate_limit: str | tuple[int, float] | None = None,
) -> None:
    """Serve until interrupted; ``on_ready(base_url)`` is called once it accepts connections
    (the CLI prints it: only the CLI prints). ``rate_limit`` (``"250/10s"``) answers 429 past
    it."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    with EmulatorServer(host, port, token, faults, seed=seed, rate_limit=rate_limit) as server:
        on_ready(server.base_url)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread
                signal.signal(sig, on_signal)
        while not stop.is_set() and server._thread is not None and server._thread.is_alive():
            stop.wait(0.2)
