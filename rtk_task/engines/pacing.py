"""Pacing in the workflow: one API limit kept for all of a run's requests, on every worker.

On Temporal a run's steps (and each item of a ``for_each``) are activities that any worker of
the queue may take, and each worker's in-process limiter (:mod:`rtk_task.ratelimit`) sees only
its own share: three workers on one account would each keep RealtimeKit's 250 requests / 10 s
and together send three times that. So the workflow books every step's request under the
limits it counts against before it schedules the activity, and waits on the engine's own
durable timers, which replay deterministically and survive the death of any worker.

The rule: **a request leaves no earlier than ``per`` seconds after the answer to the request
booked ``requests`` places before it**. The workflow sees an activity end only after the worker
has the answer, so that request's arrival at the server lies before that moment. Suppose
``requests + 1`` arrivals fell within one span of ``per`` seconds: two of them were booked a
multiple of ``requests`` places apart (there are only ``requests`` remainders), and along the
chain of places between them each left after the answer to the one before, plus ``per``; so
the later one arrived more than ``per`` seconds after the earlier one: a contradiction. No
span holds more than ``requests`` arrivals, whatever the latency, the order the engine
dispatches in, the number of workers, or their jitter (the in-process limiter waits on every
earlier answer, which costs more when one request stalls; here the chain is enough). No margin
is needed; what it costs is one round trip through the engine per window (the next window
opens when the answer that opened this one is in): about 0.65 s of each 10 s window measured
with three workers on a busy 2-core machine. A window that reopens is sent as the first one
was, as fast as the step's ``concurrency`` and the engine's dispatch allow (the in-process
limiter spreads the requests of a reopened window, which would otherwise leave all at once).
An activity the engine lost (a worker killed) ends when Temporal times it out, after its
request, if any, has long arrived: booking that moment as its answer is safe too.

The limits are the client's (:meth:`rtk_task.client_base.ClientBase._gate`): the step's
manifest's rules, the workflow's ``rate_limit`` replacing the ``account`` rule, none with
``rate_limit: false``.
They are keyed by the API's host and the rule's scope, not the account, which is only known on
the worker once the step is rendered: a run that calls two accounts of one API is paced as one
(never faster than allowed).

What stays with the worker's own limiter: the resends inside one activity (after a 429, or an
idempotent retry) and a paginated step's later pages. What stays with the queue's rate
(``rtk-task temporal worker --queue-rate``, Temporal's server-side limit for all the workers of
a queue): several runs at once on one account, which pace themselves each on their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ManifestError
from ..providers.model import RateLimit, host_of
from ..workflows.model import Step, Workflow

__all__ = ["Pacer", "Place", "limits_of", "limits_payload", "step_limits"]


@dataclass
class _Key:
    """One limit's bookings: each place's answer time (``None`` while it is out)."""

    limit: RateLimit
    answers: list[float | None] = field(default_factory=list)


@dataclass(frozen=True)
class Place:
    """A booked place under one limit."""

    key: _Key
    index: int


class Pacer:
    """Books requests under limits and says when each may leave (see the module docstring).

    ``now`` reads the clock (the workflow's, in seconds), ``sleep`` waits (a durable timer),
    ``until`` waits until a condition holds (the workflow re-checks it as events arrive). On
    Temporal these are ``workflow.now().timestamp()``, ``asyncio.sleep`` and
    ``workflow.wait_condition``; a test passes its own.
    """

    def __init__(
        self,
        now: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        until: Callable[[Callable[[], bool]], Awaitable[None]],
    ) -> None:
        self._now, self._sleep, self._until = now, sleep, until
        self._keys: dict[str, _Key] = {}

    async def book(self, limits: Iterable[tuple[str, RateLimit]]) -> tuple[Place, ...]:
        """Book one request under each of ``limits`` and return when it may leave."""
        places = tuple(self._place(key, limit) for key, limit in limits)
        for place in places:
            await self._wait(place)
        return places

    def answered(self, places: Sequence[Place]) -> None:
        """The request booked at ``places`` has its answer (or was lost): now."""
        now = self._now()
        for place in places:
            place.key.answers[place.index] = now

    def _place(self, name: str, limit: RateLimit) -> Place:
        key = self._keys.get(name)
        if key is None or key.limit != limit:  # a new limit starts a new count
            key = self._keys[name] = _Key(limit)
        key.answers.append(None)
        return Place(key, len(key.answers) - 1)

    async def _wait(self, place: Place) -> None:
        key, limit = place.key, place.key.limit
        prior = place.index - limit.requests
        if prior < 0:  # the first window's places leave at once
            return
        answers = key.answers
        if answers[prior] is None:
            await self._until(lambda: answers[prior] is not None)
        opened = answers[prior]
        assert opened is not None
        at = opened + limit.per
        now = self._now()
        if at > now:
            await self._sleep(at - now)


def step_limits(
    workflow: Workflow, step: Step, base_url: str | None
) -> tuple[tuple[str, RateLimit], ...]:
    """The limits a request of ``step`` counts against, keyed by host and scope; read where
    the workflow's manifests are loaded (the run's starter), and passed to the workflow."""
    setting = workflow.rate_limit
    if not setting:
        return ()
    try:
        manifest = workflow.manifest(step)
    except (ManifestError, KeyError):  # the worker reports it; nothing to pace
        return ()
    rules = [(rule.scope, rule.limit) for rule in manifest.rate_limits]
    if isinstance(setting, RateLimit):
        rules = [("account", setting), *(r for r in rules if r[0] != "account")]
    if not rules:
        return ()
    server = base_url or (manifest.servers[0] if manifest.servers else "")
    host = host_of(server) or manifest.provider
    return tuple((f"{host}|{scope}", limit) for scope, limit in rules)


def limits_payload(workflow: Workflow, base_url: str | None) -> dict[str, list[list[Any]]]:
    """Every step's limits as plain data for a workflow payload: ``[key, requests, per]``."""
    return {
        step.id: [
            [key, limit.requests, limit.per] for key, limit in step_limits(workflow, step, base_url)
        ]
        for step in workflow.steps
    }


def limits_of(payload: Mapping[str, Any], step: Step) -> tuple[tuple[str, RateLimit], ...]:
    """A step's limits from a payload made by :func:`limits_payload` (none if it has none)."""
    rows = payload.get("limits", {}).get(step.id, ())
    return tuple((str(k), RateLimit(requests=int(n), per=float(w))) for k, n, w in rows)
