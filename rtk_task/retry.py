"""When a call is sent again, and how long to wait first: the retry loop, written once.

The rule that matters: a call that creates something is sent again only when the server
surely did not process it: the connection was refused (nothing was sent) or the answer was
429 (the server refused it). After an ambiguous failure (a read timeout, a connection lost
after sending, a 5xx) a non-idempotent call is reported ``ambiguous`` and never resent.
Idempotent calls are also retried on 502/503/504 and read timeouts.

Waits honour ``Retry-After`` (seconds or an HTTP date), capped by ``max_retry_after``: a
server asking for more fails the call at once with a clear error. Otherwise the wait is
exponential backoff plus jitter, drawn once per attempt from the OS (``SystemRandom``), so
the deadline check and the sleep see the same figure and the caller's ``random`` state is
never moved. An overall ``deadline`` bounds every attempt and every wait.

The loop is sans-I/O, the way httpx writes ``Auth.auth_flow``: :func:`retry_flow` is a
generator that yields :class:`Send` ("send this request, tell me the outcome") and
:class:`Sleep` ("wait this long") and returns the final :class:`TaskResult`. The clients
drive it, :class:`~rtk_task.Client` with ``time.sleep`` and blocking I/O,
:class:`~rtk_task.AsyncClient` with ``asyncio.sleep`` and ``await``: one behaviour, two
drivers. Paging (:mod:`rtk_task.paginate`) is a flow over this one.

Client-side rate limits are a flow around a flow: :func:`gated` books a slot on a
:class:`~rtk_task.ratelimit.Gate` before every ``Send`` of the flow it wraps, yields the wait
as a ``Sleep``, and tells the gate what the server answered (a 429's ``Retry-After``, the
rate-limit headers), so every caller of the same token and account slows down together.

Each wait is told to :mod:`rtk_task.tracing` first (an event on the current span, when traces
are on): ``rate_limit.wait`` for a rate limit's (the gate's, or after a 429), else
``retry.wait``. A :class:`Send` says which attempt it is (``number``) and may carry headers
sent but never shown (``headers``: the attempt's W3C trace context).
"""

from __future__ import annotations

import random
import time
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any

import httpx

from . import tracing
from .errors import ConfigError, Problem
from .execute import Call, error_result
from .policy import RetryPolicy
from .ratelimit import Gate, retry_after_seconds
from .result import TaskResult

__all__ = [
    "DEFAULT_POLICY",
    "Attempt",
    "Flow",
    "RetryPolicy",
    "Send",
    "Sleep",
    "classify",
    "gated",
    "retry_after_seconds",
    "retry_flow",
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


@dataclass(frozen=True, slots=True)
class Send:
    """An action of a flow: send ``call`` once; the driver answers with an :class:`Attempt`.

    ``started`` (``time.monotonic()``) is when the call's first attempt began; ``deadline``
    (seconds from then, or ``None``) bounds this attempt's timeouts and its reading.
    ``number`` counts the call's attempts from 1; ``headers`` are sent on top of the call's
    own and never shown (the attempt's ``traceparent``, set by :mod:`rtk_task.tracing`).
    """

    call: Call
    started: float
    deadline: float | None
    number: int = 1
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Sleep:
    """An action of a flow: wait ``seconds``; the driver answers with ``None``."""

    seconds: float


#: A sans-I/O flow: yields actions, receives their outcomes, returns the call's result.
Flow = Generator[Send | Sleep, Any, TaskResult]


def classify(attempt: Attempt, call: Call, policy: RetryPolicy) -> Attempt:
    """Decide whether ``attempt`` may be sent again (sets ``retryable``)."""
    exc, status = attempt.error, attempt.result.status_code
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        attempt.retryable = True  # nothing reached the server
    elif status == 429 and 429 in policy.on_status:
        attempt.retryable = True  # the server refused it
    elif call.manifest.idempotent:
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


def _wait(attempt: Attempt, number: int, policy: RetryPolicy) -> float:
    """The wait after attempt ``number``: Retry-After when sent, else backoff with jitter."""
    if attempt.retry_after is not None:
        return attempt.retry_after
    try:
        backoff = policy.initial_interval * policy.backoff ** (number - 1)
    except OverflowError:
        backoff = policy.max_interval
    wait = min(backoff, policy.max_interval)
    if policy.jitter:
        wait += _JITTER.uniform(0, policy.jitter)
    return min(wait, policy.max_interval)


def retry_flow(call: Call, policy: RetryPolicy) -> Flow:
    """Send ``call`` until it succeeds, may not be resent, or the policy says stop.

    Returns the last attempt's result with ``attempts`` counted, the total time, and (on a
    failure that was retried or cut short) why retrying stopped.
    """
    started = time.monotonic()
    send = Send(call, started, policy.deadline)
    attempt = classify((yield send), call, policy)
    number = 1
    while attempt.retryable and number < policy.max_attempts:
        wait = _wait(attempt, number, policy)
        if policy.deadline is not None and time.monotonic() - started + wait > policy.deadline:
            attempt.gave_up = f"the deadline ({policy.deadline:g} s) would pass before a retry"
            break
        limited = attempt.result.status_code == 429
        tracing.waited("rate_limit.wait" if limited else "retry.wait", wait)
        yield Sleep(wait)
        number += 1
        attempt = classify((yield replace(send, number=number)), call, policy)
    return final(attempt, number, started)


def gated(flow: Flow, gate: Gate) -> Flow:
    """``flow`` with every send booked on ``gate`` first: a ``Sleep`` until its place comes
    (and any pause the server ordered meanwhile ends), then the send; each answer is shown to
    the gate. A flow closed while it waits frees its place."""
    try:
        action = next(flow)
        first = True
        while True:
            if isinstance(action, Send):
                wait = gate.reserve()
                late = action.deadline is not None and wait > action.deadline
                if first and late:  # nothing sent yet, and its place comes after the deadline
                    gate.release()
                    flow.close()
                    return _too_late(action, wait)
                first = False
                try:
                    while wait > 0:
                        tracing.waited("rate_limit.wait", wait)
                        yield Sleep(wait)
                        wait = gate.ready()  # the same place: a pause costs no second booking
                    attempt: Attempt = yield action
                except BaseException:
                    gate.release()
                    raise
                gate.observe(attempt.result.status_code, attempt.result.headers)
                action = flow.send(attempt)
            else:
                action = flow.send((yield action))
    except StopIteration as done:
        result: TaskResult = done.value
        return result


def _too_late(send: Send, wait: float) -> TaskResult:
    """The result of a call whose first place under the rate limit is past its deadline."""
    problem = Problem(
        "rate_limit",
        f"the rate limit gives this call its first place in {wait:,.0f} s, past its "
        f"deadline of {send.deadline:g} s",
        "raise rate_limit.requests, shorten rate_limit.per, or give the step a longer deadline",
    )
    return error_result(send.call.manifest.id, ConfigError(problem), send.call.redactor)


def final(attempt: Attempt, attempts: int, started: float) -> TaskResult:
    """The last attempt's result, with ``attempts``, the total time and why retrying stopped."""
    result = attempt.result
    # a result is a fresh object of ours: setting fields in place is safe and cheap
    result.attempts = attempts
    result.elapsed_ms = round((time.monotonic() - started) * 1000, 3)
    error = result.error
    if error is not None and (attempt.gave_up or (attempt.retryable and attempts > 1)):
        why = attempt.gave_up or f"gave up after {attempts} attempts"
        result.error = error.model_copy(update={"message": f"{error.message} ({why})"})
    return result
