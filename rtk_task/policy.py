"""How hard a call tries: :class:`RetryPolicy`, set per step, per workflow or per client.

The settings only; :mod:`rtk_task.retry` applies them. Kept apart so that reading a workflow
file (a dry run) needs no HTTP client.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_DEADLINE", "RetryPolicy"]

#: Seconds a call may take, attempts, waits and reading included, unless a policy says else:
#: a server dripping one byte a second cannot keep a call open for long.
DEFAULT_DEADLINE = 120.0


class RetryPolicy(BaseModel):
    """Retry settings, per step (``retry:``) or per client."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    max_attempts: int = Field(3, ge=1, le=50)
    initial_interval: float = Field(0.5, ge=0)
    backoff: float = Field(2.0, ge=1)
    max_interval: float = Field(30.0, ge=0)
    #: Up to this many seconds of random jitter are added to each backoff wait.
    jitter: float = Field(0.25, ge=0)
    #: Statuses retried for idempotent operations (429 is retried for every operation).
    on_status: tuple[int, ...] = (429, 502, 503, 504)
    #: The longest Retry-After the client will honour, in seconds.
    max_retry_after: float = Field(60.0, ge=0)
    #: Seconds for the whole call, attempts, waits and reading the answer included
    #: (:data:`DEFAULT_DEADLINE`, 120 s, unless set); ``None`` for no limit.
    deadline: float | None = Field(DEFAULT_DEADLINE, gt=0)
