"""Client-side rate limits: :class:`RateLimit` (the setting) and :class:`Limiter` (the state).

A limit is ``requests`` per ``per`` seconds for one *key*: an API token (only a digest of
it is kept) and an account, and for a narrower limit its scope (RealtimeKit's recordings).
The limits an API documents are provider data (:meth:`rtk_task.providers.base.Provider.
rate_limits`); a workflow or a client may set its own account-wide one.

The limiter is sans-I/O and reserves, never sleeps: :meth:`Gate.reserve` books the next free
slot under every limit the call falls under and says how long to wait for it; the flow
(:func:`rtk_task.retry.retry_flow`) yields that wait as a ``Sleep`` and its driver sleeps,
so the sync and async clients behave the same. Slots are booked in order, so concurrent
callers (asyncio tasks, threads: the state is locked) get distinct slots and a burst never
exceeds the limit. Each slot keeps a small margin (:data:`MARGIN` of the window) because the
server counts arrivals, not departures.

What the server says wins: a ``Retry-After`` on a 429 or 503, a ``ratelimit``/
``x-ratelimit-*``/``ratelimit-*`` header saying nothing remains, pause every caller of the key
until the reset; a policy header (``ratelimit-policy: "default";q=100;w=60``) lower than the
configured limit replaces it.

One :class:`Limiter` per process (:func:`shared_limiter`) is shared by every client, step
and item of every run in it; on Temporal and Prefect that is one per worker process, so
several workers on one token each keep to the limit on their own (set a lower
``rate_limit`` per worker if they share an account).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MARGIN",
    "Gate",
    "Limiter",
    "RateLimit",
    "parse_rate",
    "retry_after_seconds",
    "server_policy",
    "server_wait",
    "shared_limiter",
    "token_key",
]

#: Each slot is this share of its window later than the bare limit allows.
MARGIN = 0.05


class RateLimit(BaseModel):
    """At most ``requests`` requests every ``per`` seconds (``rate_limit: {requests, per}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    requests: int = Field(ge=1)
    per: float = Field(gt=0)

    def __str__(self) -> str:
        return f"{self.requests}/{self.per:g}s"


def parse_rate(text: str) -> RateLimit:
    """``"250/10s"`` (or ``250/10``, ``1000/1m``) as a :class:`RateLimit`; ``ValueError`` else."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)?\s*", text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"not a rate: {text!r} (write REQUESTS/SECONDS, e.g. 250/10s)")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[match.group(3) or "s"]
    per = float(match.group(2) or 1) * scale
    if per <= 0:
        raise ValueError(f"not a rate: {text!r} (the window must be longer than 0)")
    return RateLimit(requests=int(match.group(1)), per=per)


def token_key(token: str | None) -> str:
    """A short digest naming a token in limiter keys (the token itself is never kept)."""
    if not token:
        return "-"
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class _Window:
    """The booked slots of one key: a log of the last ``requests`` slot times."""

    __slots__ = ("adapted", "limit", "paused_until", "slots")

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        #: The server declared a stricter limit: it wins over the configured one.
        self.adapted = False
        self.slots: deque[float] = deque(maxlen=limit.requests)
        self.paused_until = 0.0

    def set_limit(self, limit: RateLimit) -> None:
        self.limit = limit
        self.slots = deque(self.slots, maxlen=limit.requests)

    def next_slot(self, now: float) -> float:
        at = max(now, self.paused_until)
        if len(self.slots) == self.limit.requests:
            at = max(at, self.slots[0] + self.limit.per * (1 + MARGIN))
        if self.slots:
            at = max(at, self.slots[-1])
        return at


class Limiter:
    """Booked slots per key, shared by every caller; thread-safe, never sleeps."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        #: Requests booked, and seconds of waiting handed out (for tests and benchmarks).
        self.booked = 0
        self.waited = 0.0

    def _window(self, key: str, limit: RateLimit) -> _Window:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(limit)
        elif window.limit != limit and not window.adapted:
            window.set_limit(limit)
        return window

    def reserve(self, limits: Iterable[tuple[str, RateLimit]]) -> float:
        """Book one request under every ``(key, limit)``; seconds to wait before sending."""
        with self._lock:
            now = self.clock()
            windows = [self._window(key, limit) for key, limit in limits]
            at = max((w.next_slot(now) for w in windows), default=now)
            for w in windows:
                w.slots.append(at)
            self.booked += 1
            self.waited += at - now
            return at - now

    def sent(self, limits: Iterable[tuple[str, RateLimit]], booked: float) -> None:
        """A request booked at ``booked`` leaves now: its slot moves to now if later (a late
        wake-up must not let the next window start early)."""
        with self._lock:
            now = self.clock()
            if now <= booked:
                return
            for key, _ in limits:
                slots = self._windows[key].slots if key in self._windows else None
                if slots is None:
                    continue
                for i in range(len(slots) - 1, -1, -1):
                    if slots[i] == booked:
                        slots[i] = now
                        break

    def paused(self, keys: Iterable[str]) -> float:
        """Seconds until every one of ``keys`` may send again (a server-ordered pause)."""
        with self._lock:
            now = self.clock()
            known = [self._windows[k] for k in keys if k in self._windows]
            until = max((w.paused_until for w in known), default=0.0)
            return max(0.0, until - now)

    def pause(self, keys: Iterable[str], seconds: float) -> None:
        """No request of ``keys`` is sent for ``seconds`` (the server said so)."""
        with self._lock:
            until = self.clock() + seconds
            for key in keys:
                window = self._windows.get(key)
                if window is not None:
                    window.paused_until = max(window.paused_until, until)

    def adapt(self, key: str, limit: RateLimit) -> None:
        """Use ``limit`` for ``key`` from now on when it is stricter than the configured one."""
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                return
            mine = window.limit
            if limit.requests / limit.per < mine.requests / mine.per:
                window.set_limit(limit)
                window.adapted = True


_SHARED = Limiter()


def shared_limiter() -> Limiter:
    """This process's one limiter, shared by every client and run in it."""
    return _SHARED


@dataclass(slots=True)
class Gate:
    """The limits one call falls under, on a limiter: what the flow asks before each send."""

    limiter: Limiter
    limits: tuple[tuple[str, RateLimit], ...]
    _booked: float = 0.0

    def reserve(self) -> float:
        """Book a slot under every limit; seconds to wait before sending."""
        wait = self.limiter.reserve(self.limits)
        self._booked = self.limiter.clock() + wait
        return wait

    def sent(self) -> None:
        """The booked request leaves now (its slot moves here if it woke up late)."""
        self.limiter.sent(self.limits, self._booked)

    def paused(self) -> float:
        """Seconds of a server-ordered pause still to wait."""
        return self.limiter.paused(k for k, _ in self.limits)

    def observe(self, status: int | None, headers: Mapping[str, str]) -> None:
        """Adapt to what the server said: a pause, or a stricter policy."""
        if status is None:
            return
        keys = [k for k, _ in self.limits]
        wait = server_wait(status, headers)
        if wait:
            self.limiter.pause(keys, wait)
        policy = server_policy(headers)
        if policy is not None and self.limits:
            self.limiter.adapt(self.limits[0][0], policy)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now (a number or an HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


_PARAM = re.compile(r";\s*([a-z]+)\s*=\s*(\d+(?:\.\d+)?)")


def _params(value: str | None) -> dict[str, float]:
    """``"default";r=0;t=7`` -> ``{"r": 0.0, "t": 7.0}`` (the first item of a list)."""
    if not value:
        return {}
    return {k: float(v) for k, v in _PARAM.findall(value.split(",")[0])}


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def server_wait(status: int, headers: Mapping[str, str]) -> float:
    """Seconds the server asks every caller of the key to wait (0: none)."""
    if status in (429, 503):
        after = retry_after_seconds(headers.get("retry-after"))
        if after is not None:
            return after
    params = _params(headers.get("ratelimit"))
    if params.get("r") == 0 and "t" in params:
        return params["t"]
    for prefix in ("x-ratelimit-", "ratelimit-"):
        remaining = _number(headers.get(prefix + "remaining"))
        reset = _number(headers.get(prefix + "reset"))
        if remaining == 0 and reset is not None:
            # a reset past a billion is a Unix time, else seconds from now
            return max(0.0, reset - time.time()) if reset > 1e9 else reset
    if status == 429:
        return 1.0  # refused with no word on when: a short pause for everyone
    return 0.0


def server_policy(headers: Mapping[str, str]) -> RateLimit | None:
    """The limit the server declares (``ratelimit-policy: "x";q=100;w=60``), if any."""
    params = _params(headers.get("ratelimit-policy"))
    if params.get("q", 0) >= 1 and params.get("w", 0) > 0:
        return RateLimit(requests=int(params["q"]), per=params["w"])
    return None
