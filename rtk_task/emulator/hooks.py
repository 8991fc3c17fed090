"""Webhook delivery: HTTP POSTs to loopback URLs only, from a worker thread, never blocking a
request.

A webhook may name any http(s) URL, as on the real API; :meth:`Hooks.send` decides where a
call goes. A call to a loopback URL (``localhost``, ``127.0.0.0/8``, ``::1``;
:func:`loopback_url`) is queued and :meth:`send` returns at once; one daemon thread posts the
queued calls in order (JSON body, 5 s timeout, no retries) and counts what was delivered (a
2xx answer) and what failed. A call to any other URL is never attempted (no DNS lookup, no
socket: the URL is only parsed) and is recorded as undelivered, so nothing leaves the machine.
:meth:`Hooks.stats` reports the counts and the last :data:`KEEP_UNDELIVERED` undelivered calls
(``url``, ``event``, ``reason``); :meth:`Hooks.settled` waits until the queue is empty.
"""

from __future__ import annotations

import collections
import ipaddress
import queue
import threading
from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = ["KEEP_UNDELIVERED", "NOT_LOOPBACK", "Hooks", "http_url", "loopback_url"]

#: How many undelivered calls the stats keep (the latest).
KEEP_UNDELIVERED = 100

#: Why a call to a URL off this machine was not made.
NOT_LOOPBACK = "not attempted: the emulator calls loopback URLs only"


def http_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL with a host (what a webhook may name)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host)


def loopback_url(url: str) -> bool:
    """Whether ``url`` is http(s) to localhost or a loopback address (no name is looked up)."""
    if not http_url(url):
        return False
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Hooks:
    """The delivery queue, its worker thread (started on first use) and what became of calls."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0
        self.undelivered: collections.deque[dict[str, str]] = collections.deque(
            maxlen=KEEP_UNDELIVERED
        )

    def send(self, url: str, payload: dict[str, Any]) -> None:
        """Queue one POST of ``payload`` to a loopback ``url``; record any other as undelivered.

        Returns at once either way.
        """
        if not loopback_url(url):
            self._undelivered(url, payload, NOT_LOOPBACK)
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="rtk-webhooks", daemon=True)
                self._thread.start()
            self._pending += 1
        self._queue.put((url, payload))

    def settled(self, timeout: float) -> bool:
        """Wait until every queued call has been made (or failed); ``False`` on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stats(self) -> dict[str, Any]:
        """Calls delivered, calls that failed, and the latest undelivered ones."""
        with self._lock:
            return {
                "delivered": self.sent,
                "failed": self.failed,
                "undelivered": list(self.undelivered),
            }

    def clear(self) -> None:
        """Forget the counts and the undelivered calls (calls already queued still go)."""
        with self._lock:
            self.sent = self.failed = 0
            self.undelivered.clear()

    def _undelivered(self, url: str, payload: dict[str, Any], reason: str) -> None:
        with self._lock:
            self.undelivered.append(
                {"url": url, "event": str(payload.get("event", "")), "reason": reason}
            )

    def _work(self) -> None:
        with httpx.Client(timeout=5, trust_env=False) as client:
            while True:
                url, payload = self._queue.get()
                try:
                    self._post(client, url, payload)
                finally:
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()

    def _post(self, client: httpx.Client, url: str, payload: dict[str, Any]) -> None:
        if not loopback_url(url):  # never queued: checked again all the same
            self._undelivered(url, payload, NOT_LOOPBACK)
            return
        try:
            answer = client.post(url, json=payload)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            reason = f"failed: {type(exc).__name__}: {exc}"
        else:
            if answer.is_success:
                with self._lock:
                    self.sent += 1
                return
            reason = f"failed: HTTP {answer.status_code}"
        with self._lock:
            self.failed += 1
        self._undelivered(url, payload, reason)
