"""OpenTelemetry traces of runs, steps, ``for_each`` items and HTTP attempts.

rtk-task depends on the OpenTelemetry *API* only: with no SDK configured every tracer is the
API's no-op one, and this module skips span work altogether (:func:`enabled` is a look-up in
``sys.modules`` until something imports OpenTelemetry, then a check that the global tracer
provider is not the API's default proxy). Nothing is exported unless configured:
:func:`configure_from_env` (called once per process by the run entry points and the clients)
installs the SDK's ``TracerProvider`` with a batching OTLP/HTTP exporter only when
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, the SDK is
installed (``pip install 'rtk-task[otel]'``), ``OTEL_SDK_DISABLED`` is not ``true`` and the
application has not set a provider of its own (that one is used as it is). Its trace and span
ids come from the OS (:func:`os_random_ids`): tracing never moves the ``random`` module's state.

Spans, from the tracer ``rtk_task``:

- ``rtk-task run NAME``: one per workflow run, where the run is started
  (:func:`~rtk_task.workflows.runner.run_workflow_async`, the Temporal and Prefect engines'
  ``run``); ``rtk.workflow.name``, ``rtk.engine``.
- ``step ID``: one per step (``rtk.step.id``, ``rtk.task.id``), made by the scheduler; a step
  run out of the scheduler's sight (a Temporal activity) makes its own in
  :class:`~rtk_task.workflows.step.StepRun`, with ``rtk.item.index`` for a ``for_each`` item.
- ``item N``: one per ``for_each`` item, under its step.
- ``METHOD TEMPLATE`` (kind client): one per HTTP attempt, with the HTTP client semantic
  conventions: ``http.request.method``, ``url.template`` (the manifest's path template),
  ``server.address``, ``server.port``, ``http.response.status_code``,
  ``http.request.resend_count`` on a retry, ``error.type`` on a failure (the status code, the
  exception's class, or the result's error kind), and ``rtk.task.id``. The attempt's trace
  context (W3C ``traceparent``, as the global propagator writes it) is sent with the request
  when the span is recording; it is never part of what a result, a dry run or cURL shows.
- ``oauth2 token`` (kind client): one per OAuth2 token fetch, under the attempt that needed
  it: ``http.request.method``, the token URL's ``server.address`` and ``server.port`` (never
  its path), ``http.response.status_code``, ``error.type`` on a failure.
- Waits are events on the current span (the step's or item's): ``rate_limit.wait`` (a
  client-side rate limit's, or after a 429) and ``retry.wait``, each with ``seconds``.

Spans never hold a URL with values, a header value, a body, an exception's message or a
secret: names and attributes are ids, templates, hosts, numbers and kinds, and every string is
masked by the call's (the step's, the run's) :class:`~rtk_task.secrets.Redactor` anyway. No span
is made in Temporal workflow code (replayed, so spans there would repeat): Temporal's own
``TracingInterceptor`` carries the trace from the client through the workflow to the
activities, where the step and attempt spans nest under the activity's span.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar, Token
from dataclasses import replace
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace.id_generator import IdGenerator
    from opentelemetry.trace import Span, Tracer

    from .manifests.model import Manifest
    from .result import TaskResult
    from .retry import Attempt, Send
    from .secrets import Redactor
    from .workflows.model import Workflow

__all__ = [
    "TRACER",
    "active",
    "configure_from_env",
    "enabled",
    "item_span",
    "os_random_ids",
    "run_redactor",
    "run_span",
    "settle",
    "step_span",
    "token_end",
    "token_span",
    "traced",
    "traced_async",
    "url_template",
    "waited",
]

#: The instrumentation scope of every span made here.
TRACER = "rtk_task"
#: The standard variables naming where OTLP traces go (signal-specific first).
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")

_T = TypeVar("_T")
_lock = threading.Lock()
_configured = False
#: A real provider was seen: it stays (OpenTelemetry never lets a provider be replaced).
_on = False
#: The step whose span is current in this context (a step's span is made once).
_STEP: ContextVar[str | None] = ContextVar("rtk_task_traced_step", default=None)


def configure_from_env() -> bool:
    """Install the SDK's tracer provider exporting OTLP/HTTP, once per process, when an
    endpoint variable is set (see the module's docstring); whether this call installed it."""
    global _configured  # noqa: PLW0603 - once per process, by design
    if _configured:
        return False
    with _lock:
        if _configured:
            return False
        _configured = True
        if not any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
            return False
        if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return False
        try:
            from opentelemetry import trace
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            import logging

            logging.getLogger(__name__).warning(
                "%s is set but the OpenTelemetry SDK is not installed: no traces are sent "
                "(pip install 'rtk-task[otel]')",
                next(name for name in ENDPOINT_VARIABLES if os.environ.get(name)),
            )
            return False
        if _real(trace.get_tracer_provider()):
            return False  # the application's own provider: used as it is
        named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
            "OTEL_RESOURCE_ATTRIBUTES", ""
        )
        resource = Resource.create({} if named else {"service.name": "rtk-task"})
        # flushed and shut down at exit
        provider = TracerProvider(resource=resource, id_generator=os_random_ids())
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        return True


def os_random_ids() -> IdGenerator:
    """The SDK's random trace and span ids, drawn from the OS (``random.SystemRandom``): the
    SDK's default draws from the ``random`` module's global state, which a traced call must
    leave as its caller set it (as the retries' jitter does). Needs the SDK."""
    import random

    from opentelemetry.sdk.trace.id_generator import IdGenerator
    from opentelemetry.trace import INVALID_SPAN_ID, INVALID_TRACE_ID

    draw = random.SystemRandom().getrandbits

    class OsRandomIds(IdGenerator):
        def generate_span_id(self) -> int:
            span_id = draw(64)
            while span_id == INVALID_SPAN_ID:
                span_id = draw(64)
            return span_id

        def generate_trace_id(self) -> int:
            trace_id = draw(128)
            while trace_id == INVALID_TRACE_ID:
                trace_id = draw(128)
            return trace_id

        def is_trace_id_random(self) -> bool:
            return True

    return OsRandomIds()


def _real(provider: object) -> bool:
    """Whether ``provider`` records anything (not the API's default proxy nor its no-op)."""
    trace = sys.modules["opentelemetry.trace"]
    return not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)


def enabled() -> bool:
    """Whether a real tracer provider is set in this process: with none, no span is made."""
    global _on  # noqa: PLW0603 - a cache of a fact that never becomes false again
    if _on:
        return True
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:  # nothing imported OpenTelemetry: nothing can have set a provider
        return False
    _on = _real(trace.get_tracer_provider())
    return _on


def _in_workflow_code() -> bool:
    """Whether this is Temporal workflow code (replayed: no span is made there)."""
    workflow = sys.modules.get("temporalio.workflow")
    return workflow is not None and bool(workflow.in_workflow())


def active() -> bool:
    """Whether spans are made here: a real provider, and not in Temporal workflow code."""
    return enabled() and not _in_workflow_code()


class _Otel:
    """What every span needs from OpenTelemetry, looked up once (the provider is set once,
    so is the tracer): no import statement or attribute chain on the path of a call."""

    def __init__(self) -> None:
        from opentelemetry import baggage, context, propagate, trace

        from . import __version__

        self.tracer: Tracer = trace.get_tracer(TRACER, __version__)
        self.client = trace.SpanKind.CLIENT
        self.attach = context.attach
        self.detach = context.detach
        self.set_span_in_context = trace.set_span_in_context
        self.inject = propagate.inject
        self.textmap = propagate.get_global_textmap
        self.baggage = baggage.get_all
        #: The global propagator last seen, and whether it is one as the API makes by default
        #: (W3C trace context and baggage, no ``OTEL_PROPAGATORS``): its headers are written
        #: here. One tuple, so that a thread reads the pair another wrote whole.
        self.seen: tuple[object, bool] = (None, False)

    def headers(self, span: Span, context: Context) -> tuple[tuple[str, str], ...]:
        """The trace context headers of ``span`` (current in ``context``) as the global
        propagator writes them: formatted here (``traceparent``, and ``tracestate`` when there
        is one) when the propagator is the default one and there is no baggage, else by the
        propagator itself."""
        textmap = self.textmap()
        seen, plain = self.seen
        if textmap is not seen:
            plain = _is_plain(textmap)
            self.seen = (textmap, plain)
        if plain and not self.baggage(context):
            found = span.get_span_context()
            parent = f"00-{found.trace_id:032x}-{found.span_id:016x}-{found.trace_flags:02x}"
            if not found.trace_state:
                return (("traceparent", parent),)
            return ("traceparent", parent), ("tracestate", found.trace_state.to_header())
        carrier: dict[str, str] = {}
        self.inject(carrier, context)
        return tuple(carrier.items())


def _is_plain(textmap: object) -> bool:
    """Whether ``textmap`` is a propagator as the API makes with no ``OTEL_PROPAGATORS``:
    W3C trace context, and baggage (or not)."""
    from opentelemetry.baggage.propagation import W3CBaggagePropagator
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    kinds = [type(p) for p in getattr(textmap, "_propagators", ())]
    plain = [TraceContextTextMapPropagator, W3CBaggagePropagator]
    return type(textmap) is CompositePropagator and kinds in (plain, plain[:1])


@lru_cache(maxsize=1)
def _otel() -> _Otel:
    """The one :class:`_Otel` of the process."""
    return _Otel()


def _masked(
    name: str, attributes: Mapping[str, str | int], redactor: Redactor | None, shown: str = ""
) -> tuple[str, Mapping[str, str | int]]:
    """A span's name and attributes with every secret masked. The strings are ids, names,
    templates and hosts, which should hold none: one search of them all joined (``shown``,
    or joined here) says whether one does, and only then is each masked."""
    if not redactor:
        return name, attributes
    if not shown:
        shown = " ".join((name, *(v for v in attributes.values() if isinstance(v, str))))
    if not redactor.contains(shown):
        return name, attributes
    text = redactor.text
    return text(name), {k: text(v) if isinstance(v, str) else v for k, v in attributes.items()}


@contextlib.contextmanager
def _span(
    name: str, attributes: Mapping[str, str | int], redactor: Redactor | None
) -> Iterator[Span | None]:
    """A current span (``None`` when none is made); an exception marks it failed by the
    exception's class, never its message."""
    if not active():
        yield None
        return
    otel = _otel()
    name, attributes = _masked(name, attributes, redactor)
    span = otel.tracer.start_span(
        name,
        attributes=attributes,
        record_exception=False,  # a message or a traceback may hold a URL or a secret
        set_status_on_exception=False,
    )
    token = otel.attach(otel.set_span_in_context(span))
    try:
        yield span
    except BaseException as exc:
        _fail(span, _error_type(exc))
        raise
    finally:
        _end(span, token)


def _fail(span: Span, error_type: str) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("error.type", error_type)
    span.set_status(Status(StatusCode.ERROR, error_type))


def _error_type(exc: BaseException) -> str:
    """An exception's class as ``error.type`` wants it (``httpx.ConnectError``)."""
    cls = type(exc)
    package = cls.__module__.split(".")[0]
    return cls.__qualname__ if package == "builtins" else f"{package}.{cls.__qualname__}"


def run_redactor(workflow: Workflow) -> Redactor:
    """What a run's spans mask: the credentials its tasks read from the environment and the
    secrets it reads from environment variables (no file, keyring or block is read)."""
    from .secrets import Redactor

    names: set[str] = set()
    for step in workflow.steps:
        with contextlib.suppress(Exception):  # a task that does not load names nothing
            names.update(workflow.manifest(step).auth.variables)
    names.update(source for source in workflow.secrets.values() if ":" not in source)
    return Redactor.from_env(sorted(names))


@contextlib.contextmanager
def run_span(workflow: Workflow, engine: str) -> Iterator[Span | None]:
    """``rtk-task run NAME``: the span of one workflow run (configures tracing first)."""
    configure_from_env()
    if not active():
        yield None
        return
    attributes = {"rtk.workflow.name": workflow.name, "rtk.engine": engine}
    with _span(f"rtk-task run {workflow.name}", attributes, run_redactor(workflow)) as span:
        yield span


@contextlib.contextmanager
def step_span(
    step_id: str, task: str, *masks: Redactor | None, index: int | None = None
) -> Iterator[Span | None]:
    """``step ID``, unless this step's span is current already (the scheduler's, around the
    call a :class:`~rtk_task.workflows.step.StepRun` makes); ``masks``: what its strings mask;
    ``index``: a ``for_each`` item's."""
    if not active() or _STEP.get() == step_id:
        yield None
        return
    attributes: dict[str, str | int] = {"rtk.step.id": step_id, "rtk.task.id": task}
    if index is not None:
        attributes["rtk.item.index"] = index
    name = f"step {step_id}"
    given = [m for m in masks if m]
    shown = " ".join((name, step_id, task))
    # the masks joined only when one of them finds something to mask (joining compiles)
    found = [m for m in given if m.contains(shown)]
    redactor = given[0].extend(v for m in given[1:] for v in m.values) if found else None
    with _span(name, attributes, redactor) as span:
        token = _STEP.set(step_id)
        try:
            yield span
        finally:
            _STEP.reset(token)


@contextlib.contextmanager
def item_span(step_id: str, index: int, redactor: Redactor | None = None) -> Iterator[Span | None]:
    """``item N``: one item of a ``for_each`` step."""
    attributes: dict[str, str | int] = {"rtk.step.id": step_id, "rtk.item.index": index}
    with _span(f"item {index}", attributes, redactor) as span:
        yield span


def token_span(token_url: str, *secrets: str | None) -> Span | None:
    """Start the span of an OAuth2 token fetch, ``oauth2 token`` (kind client), a child of
    the current span (the attempt's). It is not made current: the fetch is a request the
    auth flow hands to httpx, and the flow's code runs between the yields. It holds the token
    URL's host and port (masked by ``secrets``: the client's id and secret), never its path,
    the form, the client's secret or the token; :func:`token_end` ends it. ``None`` when no
    span is made."""
    if not active():
        return None
    from .secrets import Redactor

    parts = urlsplit(token_url)
    attributes: dict[str, str | int] = {
        "http.request.method": "POST",
        "server.address": parts.hostname or "",
        "server.port": parts.port or (443 if parts.scheme == "https" else 80),
    }
    name, shown = _masked("oauth2 token", attributes, Redactor(secrets))
    otel = _otel()
    return otel.tracer.start_span(
        name,
        kind=otel.client,
        attributes=shown,
        record_exception=False,
        set_status_on_exception=False,
    )


def token_end(span: Span | None, status: int | None, failed: BaseException | None = None) -> None:
    """End a token fetch's span: the token endpoint's status (``error.type`` the status from
    400), or what ended the fetch (``failed``: the answer refused, or the request's exception
    when httpx gives it, else ``_OTHER``)."""
    if span is None:
        return
    if span.is_recording():
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        if status is not None and status >= 400:
            _fail(span, str(status))
        elif failed is not None:
            if isinstance(failed, GeneratorExit):  # httpx closed the flow: the send failed
                cause = failed.__context__
                _fail(span, _error_type(cause) if cause is not None else "_OTHER")
            else:
                _fail(span, _error_type(failed))
    span.end()


def settle(span: Span | None, result: TaskResult | None = None, ok: bool = True) -> None:
    """Mark a run's, step's or item's span failed when its result (or ``ok``) says so."""
    if span is None:
        return
    if result is not None:
        ok = result.ok
    if not ok:
        error = result.error if result is not None else None
        _fail(span, error.kind if error is not None else "failed")


def waited(name: str, seconds: float) -> None:
    """An event ``name`` with ``seconds`` on the current span: a flow is about to wait."""
    if not enabled():
        return
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(name, {"seconds": round(seconds, 3)})


@lru_cache(maxsize=256)
def _patterns(templates: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each path template with a pattern matching the end of a path built from it, the most
    specific first."""
    out = []
    for template in templates:
        parts = re.split(r"\{[^{}/]*\}", template)
        out.append((template, re.compile("[^/]+".join(re.escape(p) for p in parts) + "$")))
    return tuple(sorted(out, key=lambda t: (-len(t[0]), t[0])))


def url_template(manifest: Manifest, url: str) -> str:
    """The manifest's path template ``url`` was built from (``path`` or an alternate)."""
    return _template(manifest.path, manifest.alternate_paths, url)


@lru_cache(maxsize=1024)
def _template(path: str, alternates: tuple[str, ...], url: str) -> str:
    if not alternates:
        return path
    built = urlsplit(url).path
    for template, pattern in _patterns((path, *alternates)):
        if pattern.search(built):
            return template
    return path


def _attempt_facts(
    manifest: Manifest, method: str, url: str
) -> tuple[str, Mapping[str, str | int], str]:
    """An attempt span's name, its fixed attributes (read-only: shared by every attempt of
    the task to that server) and their text joined (what a redactor searches), worked out
    once per task, template and server: the path's values do not matter."""
    path, alternates = manifest.path, manifest.alternate_paths
    template = _template(path, alternates, url) if alternates else path
    cut = url.find("/", url.find("//") + 2)
    return _facts(manifest.id, method, template, url if cut < 0 else url[:cut])


@lru_cache(maxsize=1024)
def _facts(
    task: str, method: str, template: str, origin: str
) -> tuple[str, Mapping[str, str | int], str]:
    parts = urlsplit(origin)
    name = f"{method} {template}"
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.template": template,
        "server.address": parts.hostname or "",
        "server.port": parts.port or (443 if parts.scheme == "https" else 80),
        "rtk.task.id": task,
    }
    shown = " ".join((name, *map(str, attributes.values())))
    return name, MappingProxyType(attributes), shown


def _start_attempt(send: Send) -> tuple[Span, Token[Context], Send]:
    """Start one HTTP attempt's span and make it current; the span, the token that restores
    the context before it, and the send carrying its ``traceparent`` (when it records)."""
    call = send.call
    request = call.request
    name, fixed, shown = _attempt_facts(call.manifest, request.method, request.url)
    attributes: Mapping[str, str | int] = fixed
    if send.number > 1:
        attributes = {**fixed, "http.request.resend_count": send.number - 1}
    name, attributes = _masked(name, attributes, call.redactor, shown)
    otel = _otel()
    span = otel.tracer.start_span(
        name,
        kind=otel.client,
        attributes=attributes,
        record_exception=False,  # a message or a traceback may hold a URL or a secret
        set_status_on_exception=False,
    )
    context = otel.set_span_in_context(span)
    token = otel.attach(context)
    if span.is_recording():
        headers = otel.headers(span, context)
        if headers:
            send = replace(send, headers=headers)
    return span, token, send


def _end(span: Span, token: Token[Context]) -> None:
    """Restore the context the span replaced, and end it."""
    _otel().detach(token)
    span.end()


def _record(span: Span, done: Attempt) -> Attempt:
    """The attempt's outcome on its span: the status code, and ``error.type`` on a failure."""
    if not span.is_recording():
        return done
    result = done.result
    status = result.status_code
    if status is not None:
        span.set_attribute("http.response.status_code", status)
    error_type = None
    if done.error is not None:
        error_type = _error_type(done.error)
    elif status is not None and status >= 400:
        error_type = str(status)
    elif status is None and result.error is not None:  # nothing sent (no OAuth2 token)
        error_type = result.error.kind
    if error_type is not None:
        _fail(span, error_type)
    return done


def traced(send_once: Callable[[Send, _T], Attempt]) -> Callable[[Send, _T], Attempt]:
    """A client's one attempt, ``send_once(send, arg)``, run inside the attempt's span."""

    def attempt(send: Send, arg: _T) -> Attempt:
        if not active():
            return send_once(send, arg)
        span, token, sent = _start_attempt(send)
        try:
            return _record(span, send_once(sent, arg))
        except BaseException as exc:
            _fail(span, _error_type(exc))
            raise
        finally:
            _end(span, token)

    return attempt


def traced_async(
    send_once: Callable[[Send, _T], Awaitable[Attempt]],
) -> Callable[[Send, _T], Awaitable[Attempt]]:
    """:func:`traced` for an attempt made with ``await``."""

    async def attempt(send: Send, arg: _T) -> Attempt:
        if not active():
            return await send_once(send, arg)
        span, token, sent = _start_attempt(send)
        try:
            return _record(span, await send_once(sent, arg))
        except BaseException as exc:
            _fail(span, _error_type(exc))
            raise
        finally:
            _end(span, token)

    return attempt
