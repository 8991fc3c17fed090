"""When a call is sent again, and how long to wait first.

The rule that matters: a call that creates something is sent again only when the server
surely did not process it: the connection was refused (nothing was sent) or the answer was
429 (the server refused it). After an ambiguous failure (a read timeout, a connection lost
after sending, a 5xx) a non-idempotent call is reported ``ambiguous`` and never resent.
Idempotent calls are also retried on 502/503/504 and read timeouts.

Waits honour ``Retry-After`` (seconds or an HTTP date), capped by ``max_retry_after``: a
server asking for more fails the call at once with a clear error. An overall ``deadline``
bounds every attempt and every wait. The loop itself is tenacity's.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)
from tenacity.stop import stop_base

from .manifests.model import Manifest
from .policy import RetryPolicy
from .result import TaskResult

__all__ = [
    "DEFAULT_POLICY",
    "Attempt",
    "RetryPolicy",
    "classify",
    "retry_after_seconds",
    "with_retries",
]

#: The policy of a client given none.
DEFAULT_POLICY = RetryPolicy()


@dataclass(slots=True)
class Attempt:
    """One attempt's result and what the server said about trying again."""

    result: TaskResult
    #: The transport exception, if the attempt failed before an answer.
    error: Exception | None = None
    retry_after: float | None = None
    #: Set by :func:`classify`: whether sending again is safe and useful.
    retryable: bool = False
    #: Why the loop gave up early (a Retry-After past the cap, the deadline).
    gave_up: str | None = None


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


def classify(attempt: Attempt, manifest: Manifest, policy: RetryPolicy) -> Attempt:
    """Decide whether ``attempt`` may be sent again (sets ``retryable``)."""
    exc, status = attempt.error, attempt.result.status_code
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        attempt.retryable = True  # nothing reached the server
    elif status == 429 and 429 in policy.on_status:
        attempt.retryable = True  # the server refused it
    elif manifest.idempotent:
        attempt.retryable = isinstance(
            exc, httpx.TimeoutException | httpx.RemoteProtocolError | httpx.ReadError
        ) or (status is not None and status in policy.on_status)
    if (
        attempt.retryable
        and attempt.retry_after is not None
        and attempt.retry_after > policy.max_retry_after
    ):
        attempt.retryable = False
        attempt.gave_up = (
            f"the server asked to wait {attempt.retry_after:.0f} s (Retry-After), "
            f"more than max_retry_after ({policy.max_retry_after:.0f} s)"
        )
    return attempt


_JITTER = random.SystemRandom()


class _Wait:
    """Retry-After when the server sent one, else exponential backoff with jitter.

    The jitter comes from the OS (``SystemRandom``): a library must not move the caller's
    global ``random`` state, and forked workers must not share one seed. Each attempt's wait
    is drawn once, so the deadline check and the sleep see the same figure.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.backoff = wait_exponential(
            multiplier=policy.initial_interval, max=policy.max_interval, exp_base=policy.backoff
        )
        self.jitter = policy.jitter
        self.max = policy.max_interval
        self.drawn: tuple[int, float] | None = None

    def __call__(self, state: RetryCallState) -> float:
        attempt: Attempt = state.outcome.result()  # type: ignore[union-attr]
        if attempt.retry_after is not None:
            return attempt.retry_after
        if self.drawn is None or self.drawn[0] != state.attempt_number:
            wait = float(self.backoff(state)) + _JITTER.uniform(0, self.jitter)
            self.drawn = (state.attempt_number, min(wait, self.max))
        return self.drawn[1]


class _Deadline(stop_base):
    """Stop when the next wait would end past the deadline."""

    def __init__(self, policy: RetryPolicy, started: float, wait: _Wait) -> None:
        self.deadline = policy.deadline
        self.started = started
        self.wait = wait

    def __call__(self, state: RetryCallState) -> bool:
        if self.deadline is None:
            return False
        elapsed = time.monotonic() - self.started
        if elapsed + self.wait(state) > self.deadline:
            attempt: Attempt = state.outcome.result()  # type: ignore[union-attr]
            attempt.gave_up = f"the deadline ({self.deadline:g} s) would pass before a retry"
            return True
        return False


def _retrying(policy: RetryPolicy, started: float, cls: type[Any]) -> Any:
    wait = _Wait(policy)
    return cls(
        stop=stop_after_attempt(policy.max_attempts) | _Deadline(policy, started, wait),
        wait=wait,
        retry=retry_if_result(lambda a: a.retryable),
        retry_error_callback=lambda state: state.outcome.result(),
        reraise=True,
    )


def with_retries(
    first: Attempt,
    send: Callable[[], Attempt],
    manifest: Manifest,
    policy: RetryPolicy,
    started: float,
) -> Attempt:
    """Retry after a ``first`` attempt that :func:`classify` found retryable."""
    pending: Attempt | None = first
    last = first
    for step in _retrying(policy, started, Retrying):
        with step:
            last = pending if pending is not None else classify(send(), manifest, policy)
            pending = None
        if not step.retry_state.outcome.failed:
            step.retry_state.set_result(last)
        last.result = last.result.model_copy(update={"attempts": step.retry_state.attempt_number})
    return last


async def with_retries_async(
    first: Attempt,
    send: Callable[[], Awaitable[Attempt]],
    manifest: Manifest,
    policy: RetryPolicy,
    started: float,
) -> Attempt:
    """:func:`with_retries` with ``await``."""
    pending: Attempt | None = first
    last = first
    async for step in _retrying(policy, started, AsyncRetrying):
        with step:
            last = pending if pending is not None else classify(await send(), manifest, policy)
            pending = None
        if not step.retry_state.outcome.failed:
            step.retry_state.set_result(last)
        last.result = last.result.model_copy(update={"attempts": step.retry_state.attempt_number})
    return last
