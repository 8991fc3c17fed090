"""OpenTelemetry traces: runs, steps, items and HTTP attempts as spans, and what they hold.

One SDK tracer provider for the process (OpenTelemetry lets a provider be set once): it exports
to :data:`EXPORTER` and records only while a test asks for it (:func:`recording`), so the
other tests a pytest worker runs after these see non-recording spans (no ``traceparent`` is
sent for those). :mod:`tests.engines.test_tracing_engines` uses the same provider.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from opentelemetry import baggage, context, propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind, StatusCode

from rtk_task import AsyncClient, Client, tracing
from rtk_task.manifests.model import Auth, Manifest
from rtk_task.retry import RetryPolicy
from rtk_task.workflows.model import load_workflow, parse_workflow
from rtk_task.workflows.runner import RunResult, run_workflow

from ..helpers import CANARY, MEETING_FLOW, run_cli
from ..recorder import Recorder, Reply, Seen, reply
from .conftest import Serve


class Switch(Sampler):
    """Records every span while ``on``, none otherwise."""

    on = False

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        """Record and sample while on (the span's attributes and trace state kept); drop
        otherwise."""
        if not self.on:
            return SamplingResult(Decision.DROP)
        # the parent's trace state carries on, as with the SDK's own samplers
        parent = trace.get_current_span(parent_context).get_span_context()
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent.trace_state)

    def get_description(self) -> str:
        """The sampler's name."""
        return "Switch"


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    """The process's SDK provider (set here unless something set one before), exporting to
    a new in-memory exporter."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        # ids from the OS: the tests that check the global random state is left alone may
        # run in this process after these, and their calls make (non-recording) spans
        provider = TracerProvider(sampler=Switch(), id_generator=tracing.os_random_ids())
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


PROVIDER, EXPORTER = _provider()


@pytest.fixture
def recording() -> Iterator[InMemorySpanExporter]:
    """Spans are recorded (and exported to the returned exporter, cleared) while the test runs."""
    sampler = PROVIDER.sampler
    EXPORTER.clear()
    if isinstance(sampler, Switch):
        sampler.on = True
    try:
        yield EXPORTER
    finally:
        if isinstance(sampler, Switch):
            sampler.on = False
        PROVIDER.force_flush()
        EXPORTER.clear()


def by_name(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    """The one span called ``name``."""
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def attempts(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    """The HTTP attempts' spans (not an engine's own client spans, nor OAuth2 token
    fetches), in the order they started."""
    found = (
        s for s in spans if s.kind is SpanKind.CLIENT and "url.template" in (s.attributes or {})
    )
    return sorted(found, key=lambda s: s.start_time or 0)


def child_of(child: ReadableSpan, parent: ReadableSpan) -> bool:
    """Whether ``child``'s parent is ``parent``."""
    if child.parent is None or parent.context is None:
        return False
    return bool(child.parent.span_id == parent.context.span_id)


def ancestors(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    """The span's parent, its parent's parent, ... as far as they were recorded."""
    ids = {s.context.span_id: s for s in spans if s.context is not None}
    out = []
    parent = span.parent
    while parent is not None and parent.span_id in ids:
        found = ids[parent.span_id]
        out.append(found)
        parent = found.parent
    return out


def assert_clean(spans: Sequence[ReadableSpan], *values: str) -> None:
    """No span's name, attribute, event or status holds the canary, ``values`` or a URL."""
    text = "\n".join(s.to_json() for s in spans)
    assert CANARY not in text
    for value in values:
        assert value not in text, value
    assert "http://" not in text  # a URL with values: never (url.template is a path)


def assert_one_trace(spans: Sequence[ReadableSpan]) -> int:
    """Every span is of one trace; its id."""
    traces: set[int] = {s.context.trace_id for s in spans if s.context is not None}
    assert len(traces) == 1, traces
    return traces.pop()


def _is_step(span: ReadableSpan) -> bool:
    """A step's span of ours (not an engine's span of a step's task)."""
    step_id = (span.attributes or {}).get("rtk.step.id")
    return step_id is not None and span.name == f"step {step_id}"


def assert_nested(run: ReadableSpan, spans: Sequence[ReadableSpan], step_ids: list[str]) -> None:
    """Each step's span is under the run's, each attempt under a step's; every step called."""
    for step_id in step_ids:
        step = [s for s in spans if s.name == f"step {step_id}"]
        assert step, (step_id, [s.name for s in spans])
        assert run in ancestors(step[0], spans)
    called = set()
    for attempt in attempts(spans):
        above = ancestors(attempt, spans)
        steps = [s for s in above if _is_step(s)]
        assert steps, (attempt.name, [s.name for s in above])
        assert run in above, (attempt.name, [s.name for s in above])
        called.add(steps[0].name)
    assert called == {f"step {s}" for s in step_ids}


def test_a_local_run_is_one_trace_of_run_steps_and_attempts(
    emulator: Any, recording: InMemorySpanExporter
) -> None:
    wf = load_workflow(MEETING_FLOW)
    run = run_workflow(wf, {}, base_url=emulator.base_url)
    assert run.ok, {k: r.error for k, r in run.steps.items()}
    spans = recording.get_finished_spans()
    assert_one_trace(spans)
    top = by_name(spans, "rtk-task run onboard-call")
    assert top.parent is None
    assert top.attributes == {"rtk.workflow.name": "onboard-call", "rtk.engine": "local"}
    ids = [s.id for s in wf.steps]
    assert_nested(top, spans, ids)
    calls = attempts(spans)
    assert len(calls) == 3
    for step_id, call in zip(ids, calls, strict=True):
        step = by_name(spans, f"step {step_id}")
        assert child_of(call, step)  # directly under its step
        assert child_of(step, top)
        manifest = wf.manifest(wf.step(step_id))
        assert step.attributes == {"rtk.step.id": step_id, "rtk.task.id": manifest.id}
        attributes = dict(call.attributes or {})
        # the template the request was built from (RealtimeKit's live path or its legacy one)
        template = attributes["url.template"]
        assert template in (manifest.path, *manifest.alternate_paths)
        assert call.name == f"{manifest.method} {template}"
        assert attributes["http.request.method"] == manifest.method
        assert attributes["server.address"] == "127.0.0.1"
        assert attributes["server.port"] == emulator.port
        assert attributes["http.response.status_code"] == run.steps[step_id].status_code
        assert "http.request.resend_count" not in attributes
        assert "error.type" not in attributes
        assert call.status.status_code is StatusCode.UNSET
    assert_clean(spans)


FLAKY = """
name: traced
secrets: {tok: RTK_TEST_TRACE_SECRET}
rate_limit: {requests: 1, per: 0.3}
retry: {max_attempts: 3, initial_interval: 0, jitter: 0}
steps:
  - id: flaky
    task: http
    with:
      method: GET
      url: "URL/things/{{ secrets.tok }}"
      headers: {Authorization: "Bearer {{ secrets.tok }}", X-Note: "note-{{ secrets.tok }}"}
      query: {key: "{{ secrets.tok }}"}
  - id: each
    task: http
    depends_on: [flaky]
    for_each: [first-item, second-item]
    concurrency: 1
    with: {method: GET, url: "URL/items/{{ item }}"}
"""


def _flaky_server() -> Recorder:
    """503 (Retry-After: 0) for the first request to /things, 200 for everything else."""
    seen: list[str] = []

    def respond(request: Seen) -> Reply:
        seen.append(request.path)
        if request.path.startswith("/things") and seen.count(request.path) == 1:
            return reply({"error": "busy"}, 503, {"Retry-After": "0"})
        return reply({"ok": True})

    return Recorder(respond)


def _run_flaky(server: Recorder) -> RunResult:
    wf = parse_workflow(FLAKY.replace("URL", server.url))
    return run_workflow(wf, {})


#: The workflow secret of :data:`FLAKY` (in its URL path, query and headers).
SECRET = "trace-secret-7f3a9c21"


def test_retries_items_waits_and_the_traceparent_each_request_carried(
    recording: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RTK_TEST_TRACE_SECRET", SECRET)
    with _flaky_server() as server:
        run = _run_flaky(server)
        seen = server.seen
    assert run.ok, {k: r.error for k, r in run.steps.items()}
    spans = recording.get_finished_spans()
    trace_id = assert_one_trace(spans)
    top = by_name(spans, "rtk-task run traced")
    assert_nested(top, spans, ["flaky", "each"])
    calls = attempts(spans)
    assert len(calls) == len(seen) == 4  # flaky twice, then one per item
    # each request carried the trace context of its own attempt's span, in the run's trace
    for call, request in zip(calls, seen, strict=True):
        assert call.context is not None
        (sent,) = request.header("traceparent")
        version, sent_trace, sent_span, flags = sent.split("-")
        assert (version, sent_trace) == ("00", f"{trace_id:032x}")
        assert sent_span == f"{call.context.span_id:016x}"
        assert int(flags, 16) & 1  # sampled
    first, retried = calls[0], calls[1]
    assert first.attributes is not None
    assert retried.attributes is not None
    assert first.attributes["http.response.status_code"] == 503
    assert first.attributes["error.type"] == "503"
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in first.attributes
    assert retried.attributes["http.request.resend_count"] == 1
    assert retried.attributes["http.response.status_code"] == 200
    assert "error.type" not in retried.attributes
    # the path template, never the path with its values (here: the secret)
    assert first.attributes["url.template"] == retried.attributes["url.template"]
    assert str(first.attributes["url.template"]).startswith("/things/{")
    assert calls[2].attributes is not None
    assert str(calls[2].attributes["url.template"]).startswith("/items/{")
    flaky = by_name(spans, "step flaky")
    events = {e.name: dict(e.attributes or {}) for e in flaky.events}
    assert events["retry.wait"] == {"seconds": 0.0}
    # the items: each its own span under the step, its attempt under it
    each = by_name(spans, "step each")
    for index, call in enumerate(calls[2:]):
        item = by_name(spans, f"item {index}")
        assert item.attributes == {"rtk.step.id": "each", "rtk.item.index": index}
        assert child_of(item, each)
        assert child_of(call, item)
    # one request a 0.3 s window: someone waited for the rate limit, and it shows
    waits = [
        dict(e.attributes or {}) for s in spans for e in s.events if e.name == "rate_limit.wait"
    ]
    assert waits
    assert all(0 < float(str(e["seconds"])) <= 0.4 for e in waits), waits
    assert_clean(spans, SECRET, "first-item", "second-item", "note-", "Bearer")


def test_the_result_dry_runs_and_curl_never_show_the_traceparent(
    server: Recorder, recording: InMemorySpanExporter
) -> None:
    task = "realtimekit.meetings.get"
    inputs = {"account_id": "acc", "meeting_id": "m1"}
    with Client(base_url=server.url, token=CANARY) as client:
        with trace.get_tracer("test").start_as_current_span("caller"):
            result = client.call(task, inputs)
        dry = client.prepare(task, inputs)
    assert server.seen[0].header("traceparent")
    assert result.request is not None
    assert dry.request is not None
    for shown in (result.request.headers, dry.request.headers):
        assert not {k.lower() for k in shown} & {"traceparent", "tracestate"}
    # a call outside any run: its attempt is a child of the caller's span
    caller = by_name(recording.get_finished_spans(), "caller")
    (call,) = attempts(recording.get_finished_spans())
    assert child_of(call, caller)


def test_the_trace_context_sent_is_the_propagators_with_tracestate_and_baggage(
    server: Recorder, recording: InMemorySpanExporter
) -> None:
    parent_trace, parent_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    remote = propagate.extract(
        {"traceparent": f"00-{parent_trace}-{parent_span}-01", "tracestate": "vendor=t61rcWkgMzE"}
    )
    task = "realtimekit.meetings.get"
    inputs = {"account_id": "acc", "meeting_id": "m1"}
    with Client(base_url=server.url, token=CANARY) as client:
        for context_ in (remote, baggage.set_baggage("tenant", "t-1", remote)):
            token = context.attach(context_)
            try:
                assert client.call(task, inputs).ok
            finally:
                context.detach(token)
    calls = attempts(recording.get_finished_spans())
    assert len(calls) == len(server.seen) == 2
    for call, seen, sent_baggage in zip(calls, server.seen, ([], ["tenant=t-1"]), strict=True):
        assert call.context is not None
        assert call.parent is not None
        assert f"{call.parent.span_id:016x}" == parent_span  # under the caller's remote span
        (sent,) = seen.header("traceparent")
        assert sent == f"00-{parent_trace}-{call.context.span_id:016x}-01"
        # the same whether written here (no baggage) or by the propagator (baggage)
        assert seen.header("tracestate") == ["vendor=t61rcWkgMzE"]
        assert seen.header("baggage") == sent_baggage


#: The OAuth2 client's secret of the token fetch tests.
OAUTH_SECRET = "oauth-canary-secret-6c1d83f0"


def _oauth_task(token_url: str, api: str) -> Manifest:
    """``GET /things`` on ``api`` with OAuth2 client credentials from ``token_url``."""
    auth = Auth(type="oauth2", username_env="RTKTR_ID", env="RTKTR_SECRET", token_url=token_url)
    return Manifest(
        id="test.traced.oauth",
        method="GET",
        path="/things",
        servers=(api,),
        auth=auth,
        idempotent=True,
    )


def _credentials() -> tuple[str, dict[str, str]]:
    """A client id of its own (the token cache is the process's) and the credentials."""
    client_id = f"client-{uuid.uuid4().hex[:12]}"
    return client_id, {"RTKTR_ID": client_id, "RTKTR_SECRET": OAUTH_SECRET}


def _fetches(spans: Sequence[ReadableSpan], client_id: str, *tokens: str) -> list[ReadableSpan]:
    """The token fetches' spans, in order, each under the one attempt; no span holds the
    client's id or secret (raw, in a form, in a Basic header) or a token."""
    (call,) = attempts(spans)
    found = sorted((s for s in spans if s.name == "oauth2 token"), key=lambda s: s.start_time or 0)
    assert found
    assert all(child_of(fetch, call) and fetch.kind is SpanKind.CLIENT for fetch in found)
    pair = base64.b64encode(f"{client_id}:{OAUTH_SECRET}".encode()).decode("ascii")
    forms = [OAUTH_SECRET, quote(OAUTH_SECRET), quote_plus(OAUTH_SECRET), pair, client_id]
    assert_clean(spans, *forms, *tokens)
    return found


def test_each_oauth2_token_fetch_is_a_span_under_its_attempt_without_the_secret(
    serve: Serve, recording: InMemorySpanExporter
) -> None:
    issued: list[str] = []

    def token(_: Seen) -> Reply:
        issued.append(f"access-{uuid.uuid4().hex}")
        return reply({"access_token": issued[-1], "token_type": "Bearer", "expires_in": 3600})

    def refuse_the_first(seen: Seen) -> Reply:  # a 401: the token is fetched once more
        if seen.header("Authorization") == [f"Bearer {issued[0]}"]:
            return reply({"error": "invalid_token"}, 401)
        return reply({"ok": True})

    tokens, api = serve(token), serve(refuse_the_first)
    client_id, credentials = _credentials()
    with Client(credentials=credentials) as client:
        assert client.call(_oauth_task(f"{tokens.url}/oauth/token", api.url), {}).ok
    spans = recording.get_finished_spans()
    fetches = _fetches(spans, client_id, *issued)
    assert len(fetches) == len(tokens.seen) == len(issued) == 2
    for fetch in fetches:
        assert dict(fetch.attributes or {}) == {
            "http.request.method": "POST",
            "server.address": "127.0.0.1",
            "server.port": int(tokens.url.rsplit(":", 1)[1]),
            "http.response.status_code": 200,
        }
        assert fetch.status.status_code is StatusCode.UNSET
    assert dict(attempts(spans)[0].attributes or {})["http.response.status_code"] == 200


def test_a_refused_or_failed_token_fetch_marks_its_span_failed(
    serve: Serve, recording: InMemorySpanExporter
) -> None:
    refused, api = serve(lambda _: reply({"error": "invalid_client"}, 401)), serve()
    client_id, credentials = _credentials()

    async def call_async() -> None:
        async with AsyncClient(credentials=credentials) as client:
            task = _oauth_task(f"{refused.url}/oauth/token", api.url)
            assert not (await client.call(task, {})).ok

    asyncio.run(call_async())  # the async flow: a 401 from the token endpoint
    (fetch,) = _fetches(recording.get_finished_spans(), client_id)
    assert fetch.attributes is not None
    assert fetch.attributes["http.response.status_code"] == 401
    assert fetch.attributes["error.type"] == "401"
    assert fetch.status.status_code is StatusCode.ERROR
    assert not api.seen  # no token: the request itself was not sent
    # the sync flow: nothing listens at the token URL
    recording.clear()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with Client(credentials=credentials, retry=RetryPolicy(max_attempts=1)) as client:
        assert not client.call(_oauth_task(f"http://127.0.0.1:{port}/t", api.url), {}).ok
    spans = recording.get_finished_spans()
    (fetch,) = _fetches(spans, client_id)
    assert fetch.attributes is not None
    assert "http.response.status_code" not in fetch.attributes
    assert fetch.attributes["error.type"] == "httpx.ConnectError"
    assert dict(attempts(spans)[0].attributes or {})["error.type"] == "httpx.ConnectError"


def test_with_no_provider_nothing_is_traced_nor_imported() -> None:
    code = """
import sys, httpx
from rtk_task import AsyncClient, Client, tracing
from rtk_task.manifests.model import Auth, Manifest
from rtk_task.retry import RetryPolicy
seen = []
def answer(request):
    seen.append(request)
    return httpx.Response(200, json={"success": True, "data": {"id": "m1"}})
with Client(base_url="http://127.0.0.1:1/client/v4", token="t",
            transport=httpx.MockTransport(answer)) as client:
    assert client.call("realtimekit.meetings.get", {"account_id": "a", "meeting_id": "m1"}).ok
assert "traceparent" not in seen[0].headers
assert not tracing.enabled()
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # not even the API is imported: no cost at all


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP traces endpoint: keeps each export request's decoded spans."""

    got: list[Any]
    raw: list[bytes]

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            return
        self.raw.append(body)
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.got.extend(scope.spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[Any], list[bytes]]]:
    """An OTLP/HTTP receiver on loopback: its traces URL, the spans and raw bodies it got."""
    got: list[Any] = []
    raw: list[bytes] = []
    handler = type("Receiver", (_Receiver,), {"got": got, "raw": raw})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/v1/traces", got, raw
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_cli_run_exports_its_spans_to_the_otlp_endpoint(
    emulator: Any, receiver: tuple[str, list[Any], list[bytes]], tmp_path: Any
) -> None:
    url, got, raw = receiver
    done = run_cli(
        "run",
        str(MEETING_FLOW),
        "--base-url",
        emulator.base_url,
        "--json",
        cwd=tmp_path,
        env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url, "OTEL_SERVICE_NAME": "rtk-test"},
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["ok"] is True
    names = sorted(span.name for span in got)
    assert "rtk-task run onboard-call" in names
    assert {"step create_meeting", "step add_host", "step get_meeting"} <= set(names)
    clients = [span for span in got if span.kind == span.SPAN_KIND_CLIENT]
    assert len(clients) == 3
    assert len({span.trace_id for span in got}) == 1
    assert CANARY.encode() not in b"".join(raw)
    assert b"rtk-test" in b"".join(raw)  # OTEL_SERVICE_NAME, read by the SDK


def test_configuring_needs_an_endpoint_and_happens_once_per_process() -> None:
    code = """
import os
from rtk_task import tracing
assert tracing.configure_from_env() is False   # no endpoint: nothing
os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"
assert tracing.configure_from_env() is False   # once per process: already decided
assert not tracing.enabled()
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    # an endpoint but no SDK: a warning saying what to install, and nothing else happens
    without_sdk = """
import sys
sys.modules["opentelemetry.sdk"] = None  # as if rtk-task[otel] were not installed
from rtk_task import tracing
assert tracing.configure_from_env() is False
assert not tracing.enabled()
"""
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"
    done = subprocess.run(
        [sys.executable, "-c", without_sdk], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'rtk-task[otel]'" in done.stderr
