"""Webhook delivery: HTTP POSTs to loopback URLs, from a worker thread, never blocking a request.

:meth:`Hooks.send` queues a call and returns at once; one daemon thread posts the queued calls
in order (JSON body, 5 s timeout, no retries) and counts what was sent and what failed. Only
loopback URLs are called (:func:`loopback_url`); the emulator refuses to register others, and
the worker checks again before sending, so nothing leaves the machine.
"""

from __future__ import annotations

import ipaddress
import queue
import threading
from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = ["Hooks", "loopback_url"]


def loopback_url(url: str) -> bool:
    """Whether ``url`` is http(s) to localhost or a loopback address."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme not in ("http", "https"):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Hooks:
    """The delivery queue and its worker thread (started on first use)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    def send(self, url: str, payload: dict[str, Any]) -> None:
        """Queue one POST of ``payload`` to ``url``; returns at once."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="rtk-webhooks", daemon=True)
                self._thread.start()
        self._queue.put((url, payload))

    def _work(self) -> None:
        with httpx.Client(timeout=5, trust_env=False) as client:
            while True:
                url, payload = self._queue.get()
                try:
                    if not loopback_url(url):
                        raise httpx.InvalidURL("not a loopback URL")
                    client.post(url, json=payload).raise_for_status()
                    self.sent += 1
                except httpx.HTTPError:
                    self.failed += 1
