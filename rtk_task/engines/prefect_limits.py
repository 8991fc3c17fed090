"""One rate limit per API host, kept by the Prefect server for every process (issue 25).

Each process running a workflow's tasks keeps its own in-process limiter
(:mod:`rtk_task.ratelimit`), so several processes on one account would pass the API's limit
together. On Prefect, every step task (each ``for_each`` item, each ``until`` poll) therefore
first takes one slot of a Prefect *global concurrency limit used as a rate limit*, which the
Prefect server keeps for every process that talks to it (:func:`take`: the request
``prefect.concurrency.asyncio.rate_limit`` sends). The in-process limiter stays on too; the
local runner has only it.

A limit is named ``rtk-task:<host>[:<port>]:<scope>`` (``rtk-task:api.cloudflare.com:account``):
the host the step's requests go to (the run's base URL, else the task's server) and the
limit's scope (``account``, ``recordings``). The limits are those the client keeps: the
workflow's own ``rate_limit``, else those the task's provider documents. Before its first step
the flow creates each limit its steps need, or sets it to this run's values (the last run to
start sets a host's limit; an operator's ``active: false`` stays). The limits are taken when
the flow talks to a configured Prefect API (``PREFECT_API_URL``), which other processes may
share; :data:`SWITCH` (``RTK_PREFECT_RATE_LIMITS=on|off``) says otherwise.

How Prefect counts (Prefect 3.9.1: ``active_slots_after_decay`` and
``bulk_increment_active_slots`` in ``prefect/server/models/concurrency_limits_v2.py``,
``_acquire_concurrency_slots`` and the 423 answer in ``prefect/server/api/
concurrency_limits_v2.py``, the client's loop in ``prefect/concurrency/services.py``). A limit
row holds ``active_slots`` and ``updated``, the time of its last change. An acquisition at
server time *t* sees ``a = max(0, active_slots - floor(slot_decay_per_second * (t - updated)))``
and succeeds only if ``a + 1 <= limit``; then ``active_slots = a + 1`` and ``updated = t``: the
fraction of a slot decayed since the last success is dropped. A refused one changes nothing
(its update of ``denied_slots`` is rolled back with the 423) and is told to come back after
``Retry-After``, about one slot's decay time, jittered. A token bucket, then: ``limit`` tokens,
refilled at ``slot_decay_per_second`` in whole tokens counted from the last success.

The bound. For successes at t1 < ... < tk: a(i+1) >= a(i) + 1 - floor(r (t(i+1) - t(i))),
a(1) >= 1 and a(k) <= B (r the decay, B the limit), and a sum of floors is at most the floor of
the sum, so k <= B + floor(r (tk - t1)): **no span of T seconds holds more than
B + floor(r T) starts**. A request reaches the API after its slot was taken, and within
:data:`JITTER` of it (the answer's way back, the task rendering and sending), so the arrivals
of any ``per`` seconds took their slots within ``per + JITTER`` seconds. :func:`bucket` picks,
for ``requests`` N per ``per`` W:

    B = max(1, N // 10)                     a tenth of the limit at once
    r = (N - B + 1) / (W + JITTER) * (1 - MARGIN)

so r (W + JITTER) < N - B + 1 and B + floor(r (W + JITTER)) <= N: no ``per`` seconds at the
API hold more than N requests (``MARGIN``, 0.1 %, is :mod:`rtk_task.ratelimit`'s allowance for
two clocks). The ceiling of utilisation: over D seconds at most B + r D starts, a sustained
share of r W / N of the limit: 88 % of RealtimeKit's 250/10 s (B = 25, r = 22.03/s), 90 % of
1200/300 s (B = 120, r = 3.597/s), 84 % of 20/2 s (B = 2, r = 8.436/s), 73 % of 100/1 s.
Prefect's dropped fractions and the retry sleeps keep the rate under r.

The cost: a task's request waits for one write on the Prefect server (an unloaded SQLite server
answered in 10 to 20 ms; PostgreSQL, not measured here, is what Prefect advises for a shared
server). A SQLite server sharing a loaded 2-core machine, busy recording the task runs,
answered in 0.6 s on average, and some requests ``503`` (a write conflict; asked again at once
here, where Prefect's client would wait 2 s): 200 short items took 4 to 5 times as long (32 s
against 7 s). Hence the default: no slots on a temporary API, which serves one process alone.

Not covered: a slot is taken per task, one request in the usual case; a paged step's later
pages and the client's own resends (a 429 or 503 sent again) keep to the in-process limiter
only. Every account on a host shares the host's limit (the account is in the step's rendered
inputs, which the flow never sees): safe, and slower for runs over several accounts at once.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import EngineError, Problem, RtkError
from ..ratelimit import MARGIN, RateLimit
from ..request import base_url_of
from ..workflows.model import Step, Workflow

__all__ = [
    "BURST_SHARE",
    "CONFLICT_PAUSE",
    "JITTER",
    "SWITCH",
    "ServerLimit",
    "bucket",
    "enabled",
    "ensure",
    "limit_name",
    "run_limits",
    "step_limits",
    "take",
]

#: Seconds from a slot taken to its request's arrival at the API, at most (see the docstring).
JITTER = 0.25
#: The share of a limit a burst may take at once (the bucket's size).
BURST_SHARE = 0.1
#: Seconds (a range, drawn at random) before a slot is asked for again after a ``503`` (or
#: another server error, or a connection lost).
CONFLICT_PAUSE = (0.01, 0.05)
#: The environment variable that turns the server's limits ``on`` or ``off`` (see :func:`enabled`).
SWITCH = "RTK_PREFECT_RATE_LIMITS"
_PREFIX = "rtk-task"
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Tasks of this process refused a slot and waiting, per set of limit names (see :func:`take`).
_WAITING: dict[tuple[str, ...], int] = {}


def bucket(rate: RateLimit) -> tuple[int, float]:
    """``(limit, slot_decay_per_second)`` of the Prefect limit that keeps to ``rate``."""
    burst = max(1, math.floor(rate.requests * BURST_SHARE))
    decay = (rate.requests - burst + 1) / (rate.per + JITTER) * (1 - MARGIN)
    return burst, math.floor(decay * 1e6) / 1e6  # rounded down: never looser


@dataclass(frozen=True, slots=True)
class ServerLimit:
    """A Prefect global concurrency limit as a rate limit: its name, size and decay."""

    name: str
    limit: int
    decay: float

    @classmethod
    def of(cls, name: str, rate: RateLimit) -> ServerLimit:
        """The limit keeping ``rate`` under ``name``."""
        limit, decay = bucket(rate)
        return cls(name, limit, decay)

    def stricter(self, other: ServerLimit) -> ServerLimit:
        """The two merged, never looser than either (two steps of one host and scope)."""
        return ServerLimit(self.name, min(self.limit, other.limit), min(self.decay, other.decay))


def limit_name(url: str, scope: str) -> str:
    """``rtk-task:<host>[:<port>]:<scope>`` for requests to ``url`` (a port only when it is
    not the scheme's own; characters Prefect refuses in a name are replaced)."""
    parts = urlsplit(url)
    host = (parts.hostname or "-").lower()
    host = f"[{host}]" if ":" in host else host  # an IPv6 address, as a URL writes it
    port = parts.port
    where = host if port is None or port == _DEFAULT_PORTS.get(parts.scheme) else f"{host}:{port}"
    name = f"{_PREFIX}:{where}:{scope}"
    return "".join("-" if c in "/%&><" else c for c in name)


def step_limits(workflow: Workflow, step: Step, base_url: str | None) -> tuple[ServerLimit, ...]:
    """The server limits one task of ``step`` takes a slot of, as its client keeps them: the
    workflow's ``rate_limit`` for the account scope, else the provider's documented limits;
    none under ``rate_limit: false`` or for a step whose URL cannot be known."""
    setting = workflow.rate_limit
    if not setting:
        return ()
    try:
        manifest = workflow.manifest(step)
        url, _named = base_url_of(manifest, base_url)
    except (RtkError, KeyError):  # the step fails on its own, before sending
        return ()
    rules = [(rule.scope, rule.limit) for rule in manifest.rate_limits]
    if isinstance(setting, RateLimit):
        rules = [("account", setting), *(r for r in rules if r[0] != "account")]
    return tuple(ServerLimit.of(limit_name(url, scope), rate) for scope, rate in rules)


def run_limits(
    workflow: Workflow, base_url: str | None
) -> tuple[dict[str, list[str]], tuple[ServerLimit, ...]]:
    """Each step's limit names, and every limit of the run once (the strictest of a name)."""
    names: dict[str, list[str]] = {}
    merged: dict[str, ServerLimit] = {}
    for step in workflow.steps:
        limits = step_limits(workflow, step, base_url)
        names[step.id] = [limit.name for limit in limits]
        for limit in limits:
            known = merged.get(limit.name)
            merged[limit.name] = limit if known is None else known.stricter(limit)
    return names, tuple(merged.values())


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether a run takes the server's limits: :data:`SWITCH` ``on`` or ``off``; unset, when
    the flow talks to a configured Prefect API (``PREFECT_API_URL``), which other processes may
    share (a temporary API, started for one run, serves that process alone)."""
    env = os.environ if environ is None else environ
    value = env.get(SWITCH, "").strip().lower()
    if value in ("off", "0", "false", "no"):
        return False
    if value in ("on", "1", "true", "yes"):
        return True
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


async def ensure(limits: Iterable[ServerLimit]) -> None:
    """Create each limit on the Prefect server, or set it to these values (an operator's
    ``active: false`` stays)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectAlreadyExists

    wanted = list(limits)
    if not wanted:
        return
    async with get_client() as client:
        for limit in wanted:
            try:
                await client.upsert_global_concurrency_limit_by_name(
                    limit.name, limit.limit, limit.decay
                )
            except ObjectAlreadyExists:  # another run made it meanwhile: set it to ours
                await client.upsert_global_concurrency_limit_by_name(
                    limit.name, limit.limit, limit.decay
                )


async def take(names: Sequence[str], wait: float) -> None:
    """Take one slot of every limit in ``names``, waiting at most ``wait`` seconds; an
    :class:`EngineError` when none can be had (a limit missing, the server unreachable, no slot
    in time: nothing is sent then).

    The request ``prefect.concurrency.asyncio.rate_limit`` makes (``POST
    /v2/concurrency_limits/increment``, mode ``rate_limit``), with two differences. Prefect's
    own loop has one request out at a time per process and waits a ``423``'s ``Retry-After``
    (about one slot's decay time); here every task asks at once (a busy server's latency,
    hundreds of milliseconds on SQLite, is paid side by side, not in turn), and a refused task
    waits ``Retry-After`` times the number of the process's tasks refused and waiting, so the
    process asks about as often as Prefect's loop. And a ``503`` (a SQLite server's write
    conflict) is asked again within :data:`CONFLICT_PAUSE`, not after the client's 2 s back-off.
    """
    if not names:
        return
    import random

    import httpx
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    wanted = sorted(set(names))
    key = tuple(wanted)
    waiting = False
    try:
        async with get_client() as client:
            with temporary_settings({PREFECT_CLIENT_MAX_RETRIES: 0}):
                while True:
                    try:
                        response = await client.increment_concurrency_slots(
                            names=wanted, slots=1, mode="rate_limit"
                        )
                    except httpx.HTTPStatusError as exc:
                        status = exc.response.status_code
                        if status == 423:
                            if not waiting:
                                waiting = True
                                _WAITING[key] = _WAITING.get(key, 0) + 1
                            after = float(exc.response.headers.get("Retry-After") or 1.0)
                            pause = after * _WAITING[key]
                        elif status >= 500:  # 503: a SQLite write conflict
                            pause = random.uniform(*CONFLICT_PAUSE)
                        else:
                            raise
                    except httpx.TransportError:  # a connection the server closed: again
                        pause = random.uniform(*CONFLICT_PAUSE)
                    else:
                        got = {item.get("name") for item in response.json()}
                        if got >= set(wanted):
                            return
                        missing = ", ".join(n for n in wanted if n not in got)
                        raise LookupError(f"no limit {missing} on the server")
                    if loop.time() + pause > deadline:
                        raise TimeoutError
                    await asyncio.sleep(pause)
    except TimeoutError:
        raise EngineError(
            Problem(
                "prefect",
                f"no slot of the rate limit {', '.join(wanted)} within {wait:g} s: nothing sent",
                "other runs hold the host's limit; run the step again later",
            )
        ) from None
    except Exception as exc:
        raise EngineError(
            Problem(
                "prefect",
                f"the rate limit {', '.join(wanted)} cannot be taken "
                f"({type(exc).__name__}: {str(exc)[:200]}): nothing sent",
                f"check the Prefect server, or set {SWITCH}=off to keep only each "
                "process's own limit",
            )
        ) from None
    finally:
        if waiting:
            _WAITING[key] -= 1
