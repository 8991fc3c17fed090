"""What tracing costs a call: off (no OpenTelemetry SDK) and on (the SDK with an exporter that
drops every span), each against a bare httpx call measured beside it.

    python benchmarks/bench_tracing.py [--quick]

A tracer provider can be set once per process, so each mode runs in a process of its own;
each process times rtk-task's create and a bare httpx post to the same server on 127.0.0.1
(a thread of the process answering 201), interleaved rounds, wall time. :func:`measure`
gives ``ratio_off`` and ``ratio_on`` (rtk-task / httpx in each mode, median of rounds) and
``ratio_on_vs_off`` (their quotient: what turning traces on costs a call over loopback;
target at most 1.10). Over an in-process MockTransport, where a call is ~0.3 ms of CPU, the
SDK's span start alone is ~60 us (``ratio_on_vs_off_mock``, reported for reference).
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BODY = {"title": "Weekly sync", "record_on_start": True}
CREATED = json.dumps({"success": True, "data": {"id": "m-1", "title": "Weekly sync"}}).encode()


def _serve() -> str:
    """A server on 127.0.0.1 (a daemon thread) answering every POST with a created meeting."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Created(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out as two writes: without this, Nagle waits for the
            # client's delayed ACK (40 ms a call), and every call measures the wait
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(201)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(CREATED)))
            self.end_headers()
            self.wfile.write(CREATED)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Created)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def _child(mode: str, calls: int, rounds: int, loopback: bool = True) -> dict[str, float]:
    """In the child: rtk-task / httpx per round, with traces ``mode``; over loopback (wall
    time) or an in-process MockTransport (CPU time)."""
    import httpx

    if mode == "on":
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
        from opentelemetry.sdk.trace.export import SpanExportResult as Result

        class Drop(SpanExporter):
            def export(self, spans: Any) -> Result:
                return Result.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Drop()))  # as configure_from_env
        trace.set_tracer_provider(provider)
    from rtk_task import Client

    def created(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, content=CREATED, headers={"content-type": "application/json"})

    root = _serve() if loopback else "http://127.0.0.1:1"
    mock = None if loopback else httpx.MockTransport(created)
    raw = httpx.Client(transport=mock)
    rtk = Client(base_url=f"{root}/client/v4", token="bench-token-0001", transport=mock)
    inputs = {"account_id": "acc", **BODY}
    clock = time.perf_counter if loopback else time.thread_time

    def bare() -> None:
        raw.post(
            f"{root}/client/v4/accounts/acc/realtimekit/meetings",
            json=BODY,
            headers={"Authorization": "Bearer bench-token-0001"},
        )

    def ours() -> None:
        assert rtk.call("realtimekit.meetings.create", inputs).ok

    for fn in (bare, ours):  # warm up
        for _ in range(50):
            fn()
    ratios = []
    times_per_round: list[float] = []
    for _ in range(rounds):
        times = []
        for fn in (bare, ours):
            start = clock()
            for _ in range(calls):
                fn()
            times.append(clock() - start)
        ratios.append(times[1] / times[0])
        times_per_round.append(times[0])
    per_call = min(times_per_round) / calls
    return {
        "ratio_min": min(ratios),
        "ratio_median": statistics.median(ratios),
        "bare_call_s": per_call,
    }


def _run(mode: str, quick: bool, loopback: bool = True) -> dict[str, float]:
    calls, rounds = (200, 8) if quick else (500, 16)
    here = str(Path(__file__).parent)
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import bench_tracing as b; "
        f"print(json.dumps(b._child({mode!r}, {calls}, {rounds}, {loopback!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(quick: bool) -> dict[str, float]:
    """The per-call ratios with traces off and on, and what turning them on costs."""
    off, on = _run("off", quick), _run("on", quick)
    mock_off, mock_on = _run("off", quick, False), _run("on", quick, False)
    return {
        "ratio_off": off["ratio_median"],
        "ratio_on": on["ratio_median"],
        "ratio_on_vs_off": on["ratio_median"] / off["ratio_median"],
        "ratio_on_vs_off_min": on["ratio_min"] / off["ratio_min"],
        "ratio_on_vs_off_mock": mock_on["ratio_median"] / mock_off["ratio_median"],
        "loopback_call_ms": off["bare_call_s"] * 1000,
    }


def main() -> int:
    """Print the figures."""
    for name, value in measure("--quick" in sys.argv).items():
        print(f"{name:24} {value:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
