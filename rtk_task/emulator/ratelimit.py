"""The emulator's rate limit: N requests per window per token and account, as Cloudflare.

``rtk-task emulator --rate-limit 250/10s`` (or ``Emulator(rate_limit="250/10s")``,
``RTK_EMULATOR_RATE_LIMIT``, ``POST /__emulator/rate-limit {"limit": "100/1s"}``, ``null`` to
lift it) counts every API request on arrival, per Bearer token and account, over a sliding
window on the emulator's clock (so ``clock.advance`` empties it). Past the limit the answer
is 429 with ``Retry-After`` (whole seconds until a slot frees) and Cloudflare's rate-limit
headers, which every limited answer carries::

    Ratelimit: "default";r=<remaining>;t=<seconds to reset>
    Ratelimit-Policy: "default";q=<requests>;w=<window seconds>

Written apart from the client's limiter on purpose: the emulator shares no code with the
client it tests.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter", "parse_limit"]


def parse_limit(text: str) -> tuple[int, float]:
    """``"250/10s"`` (``100/1``, ``1000/1m``) as ``(requests, seconds)``; ``ValueError`` else."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)?\s*", text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"not a rate limit: {text!r} (write REQUESTS/SECONDS, e.g. 250/10s)")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[match.group(3) or "s"]
    seconds = float(match.group(2) or 1) * scale
    if seconds <= 0:
        raise ValueError(f"not a rate limit: {text!r} (the window must be longer than 0)")
    return int(match.group(1)), seconds


@dataclass(frozen=True)
class Verdict:
    """One request counted: allowed or not, and what the headers say."""

    allowed: bool
    remaining: int
    reset: float
    retry_after: int

    def headers(self, requests: int, per: float) -> dict[str, str]:
        """Cloudflare's rate-limit headers (and ``Retry-After`` when refused)."""
        out = {
            "Ratelimit": f'"default";r={self.remaining};t={math.ceil(self.reset)}',
            "Ratelimit-Policy": f'"default";q={requests};w={per:g}',
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter:
    """Arrivals per key over a sliding window; thread-safe."""

    def __init__(self, requests: int, per: float, clock: Callable[[], float]) -> None:
        self.requests = requests
        self.per = per
        self.clock = clock
        self.refused = 0
        #: the accepted requests: how many, the first's and the last's arrival (clock seconds)
        self.accepted = 0
        self.first: float | None = None
        self.last: float | None = None
        self._lock = threading.Lock()
        self._log: dict[str, deque[float]] = {}

    def count(self, key: str) -> Verdict:
        """Count one request of ``key`` now (a refused one is not counted)."""
        with self._lock:
            now = self.clock()
            log = self._log.setdefault(key, deque())
            while log and log[0] <= now - self.per:
                log.popleft()
            if len(log) >= self.requests:
                self.refused += 1
                wait = log[0] + self.per - now
                return Verdict(False, 0, wait, max(1, math.ceil(wait)))
            log.append(now)
            self.accepted += 1
            self.first = now if self.first is None else self.first
            self.last = now
            reset = log[0] + self.per - now
            return Verdict(True, self.requests - len(log), reset, 0)
