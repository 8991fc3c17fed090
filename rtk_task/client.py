"""The public clients: :class:`Client` and :class:`AsyncClient`, one behaviour, two drivers.

Each owns one pooled httpx client (or uses the one passed in). A call is validated and built
by :mod:`rtk_task.execute`, then run as a sans-I/O flow (:func:`rtk_task.retry.retry_flow`,
or :func:`rtk_task.paginate.page_flow` for ``paginate=True``) that both clients drive: the
sync one with blocking sends and ``time.sleep``, the async one with ``await``. Retries,
waits, deadlines and paging are therefore the same code on both paths.

``call`` returns a :class:`TaskResult` whatever happens after the task is found: bad inputs
and remote failures are results with ``ok: false``, never raised (use
:meth:`TaskResult.raise_for_error` to raise). ``prepare`` is the dry run: a result holding
the request that would be sent, nothing sent.

Rate limits (:mod:`rtk_task.ratelimit`): with ``rate_limit=True`` every call keeps to the
limits its provider documents, with a :class:`~rtk_task.ratelimit.RateLimit` to that limit
per account (and the provider's narrower ones), per token and account, on the process's
shared limiter; the default (``None``) sets none. A call's own ``rate_limit`` wins.

Credentials: a client given none reads the variables the called task's auth names (``auth.env``
and, for Basic and OAuth2, ``auth.username_env``), at call time, with trailing CR/LF stripped
(a value saved with Windows line ends); a value holding any other control character is a
``config`` error and nothing is sent. A ``token`` given to the client is the secret of every
task whose auth takes one (bearer, API key, header template), but never of a task with a
server of its own (a plain ``http`` step); ``credentials`` (variable -> value) stands in for
the environment. Each credential goes only to its auth's hosts, or to a base URL the caller
named (:meth:`rtk_task.auth.Credential.check_host`); redirects are never followed.

Traces (:mod:`rtk_task.tracing`): with an OpenTelemetry SDK configured, each attempt is a client
span and sends its ``traceparent``; with none, the plain attempt runs (no span, no header).

Pools: the httpx client an :class:`AsyncClient` makes pools by ``limits`` (httpx's default: 100
connections, 20 kept idle) with :class:`rtk_task.pool.FairPool`, so that many calls started at
once share the idle connections rather than all waiting on the first one.

Where the code is: :mod:`rtk_task.client_base` (what both share), :mod:`rtk_task.client_async`
(the :class:`AsyncClient`, the one source of a call's driving) and :mod:`rtk_task.client_sync`
(the :class:`Client`, generated from it by ``scripts/unasync.py``; never edited by hand).
"""

from __future__ import annotations

from .client_async import AsyncClient
from .client_base import Task
from .client_sync import Client

__all__ = ["AsyncClient", "Client", "Task"]
