"""Bulk end to end: ``rtk-task run`` of a JSON workflow, from process start to exit.

    python benchmarks/bench_cli_bulk.py [--quick] [--rounds N]

The real command line (the ``rtk-task`` console script, a process of its own) runs a JSON
workflow whose one step is a ``for_each`` of RealtimeKit's "add participant" at concurrency
32 under the workflow's ``rate_limit``, its people read from an ``--input`` file, against a
plain threaded HTTP server in this process (stdlib ``ThreadingHTTPServer`` on 127.0.0.1).
The server keeps the limit itself, over a sliding window of arrivals, the strictest reading
(a fixed-window server is a special case): a request past it is answered 429, and counted.

- ``bulk1k_elapsed_over_ideal``: 1,000 adds at 100 / 1 s. The ideal is the least time the
  limit allows between the first request and the last: 10 windows, the last opening 9.0 s
  after the first. Measured from the moment the process is started to its exit (imports,
  reading, checking, the run, its record, the summary printed): target at most 1.11.
- ``bulk10k_elapsed_over_ideal``: 10,000 adds at 1,000 / 1 s (ideal 9.0 s again), and
  ``bulk10k_rss_mb`` the process's peak RSS (its ``VmHWM`` at exit): under 150 MB.
- ``bulk*_429s``: what the server refused; must be 0.
- ``check10k_s``: ``rtk-task check`` of the same workflow with the 10,000-item input file,
  process start to exit: under 1 s.

The server sends each answer with ``TCP_NODELAY``, as production servers do: the stdlib
server writes an answer's headers and body apart, and with Nagle's algorithm on, the body
waited for the client's delayed ACK, 40 ms, every answer (a 43 ms round trip on loopback,
0.4 s over ten windows: a server's artefact, not the client's). Its listen backlog is 256
(the stdlib's 5 dropped the connects of 32 workers starting at once).

Each round runs the 1,000, then the 10,000, then the check three times; the figures are the
min and the median over the rounds (3 by default; ``--quick``: 1, at the same sizes, so that
a quick run's figure means what a full one's does: at a tenth of the size start-up would be
most of it), every round's own value kept too (``..._r1``...). Besides the figures, each
run's CPU time (``cpu_s``: the client is CPU-bound at 1,000 requests a second) and its
timeline as the server saw it: the first request after process start, the span from first to
last request, and the tail from the last request to exit. A warm-up ``check`` runs first,
untimed (compiled modules, the disk cache). Every subprocess has a timeout; the server
answers at most ``3 n + 100`` requests per run (past that: 503) and only on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOKEN = "bench-token-cli-bulk"
MEETING = "6f1c7f9e-0000-4000-8000-00000000b01c"
CONCURRENCY = 32
#: name -> (adds, requests, per seconds)
CASES: dict[str, tuple[int, int, float]] = {
    "bulk1k": (1_000, 100, 1.0),
    "bulk10k": (10_000, 1_000, 1.0),
}
CHECK_ITEMS = 10_000
#: ``check`` runs per round (a third of a second each): judged on their median.
CHECKS = 3


def ideal_seconds(adds: int, requests: int, per: float) -> float:
    """The least time from the first request to the last the limit allows: the last group of
    ``requests`` goes no sooner than one window after the group before it."""
    return (-(-adds // requests) - 1) * per


# -- the server ----------------------------------------------------------------------------------


@dataclass
class Counts:
    """What the server saw in one run (reset between runs)."""

    requests: int
    per: float
    cap: int
    accepted: int = 0
    refused: int = 0
    over_cap: int = 0
    first: float | None = None
    last: float | None = None
    window: deque[float] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self) -> int:
        """201, 429 (past the limit, sliding window of arrivals) or 503 (past the cap)."""
        now = time.perf_counter()
        with self.lock:
            if self.accepted + self.refused >= self.cap:
                self.over_cap += 1
                return 503
            while self.window and now - self.window[0] >= self.per:
                self.window.popleft()
            if len(self.window) >= self.requests:
                self.refused += 1
                return 429
            self.window.append(now)
            self.accepted += 1
            self.first = now if self.first is None else self.first
            self.last = now
            return 201


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # the stdlib's backlog of 5 drops the connects of 32 workers starting at once (a ReadError
    # on the client, a second later); a server in production listens with a deeper one
    request_queue_size = 256
    counts: Counts


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as an API server
    # TCP_NODELAY, as production servers set it (nginx's tcp_nodelay, uvicorn): the stdlib
    # writes the headers and the body apart, and Nagle's algorithm held the body back until
    # the client's delayed ACK, 40 ms later, every answer (a 43 ms round trip on loopback)
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        size = min(int(self.headers.get("content-length") or 0), 1 << 16)
        body = json.loads(self.rfile.read(size) or b"{}")
        server: _Server = self.server  # type: ignore[assignment]
        status = server.counts.admit()
        if status == 201:
            name = str(body.get("custom_participant_id", ""))
            data = {
                "id": f"00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}",
                "custom_participant_id": name,
                "name": body.get("name"),
                "preset_name": body.get("preset_name"),
                "created_at": "2026-12-01T00:00:00Z",
                "updated_at": "2026-12-01T00:00:00Z",
                "token": "participant-token",
            }
            payload = json.dumps({"success": True, "data": data}).encode()
        else:
            payload = json.dumps({"success": False, "errors": [{"code": status}]}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        if status == 429:
            self.send_header("retry-after", "1")
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def server() -> Iterator[_Server]:
    """A threaded HTTP server on 127.0.0.1, on a free port, stopped on the way out."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.counts = Counts(requests=1, per=1.0, cap=0)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


# -- the command line, timed -------------------------------------------------------------------


#: ``rtk-task``'s entry point, writing the process's own peak RSS (``VmHWM``: the high-water
#: mark of its memory since ``exec``) to the file ``RTK_BENCH_HWM`` names when it exits.
#: ``wait4``'s ``ru_maxrss`` cannot be used: Linux carries the parent's high-water mark over
#: ``fork`` and ``exec``, so a child of a large ``run.py`` (after the 20,000-node import)
#: reports that size, whatever it used itself.
_ENTRY = """import atexit, os

def _hwm():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["RTK_BENCH_HWM"], "w") as out:
        out.write(kb)

atexit.register(_hwm)
from rtk_task.cli import main
main()
"""


def _command() -> list[str]:
    """``rtk-task`` with its peak RSS written at exit (see :data:`_ENTRY`)."""
    return [sys.executable, "-c", _ENTRY]


@dataclass
class Exited:
    """A finished subprocess: wall seconds from start to exit, peak RSS, exit code."""

    started: float
    seconds: float
    rss_mb: float
    code: int
    output: str
    #: CPU seconds it used (user and system)
    cpu_s: float = 0.0


def run_cli(args: list[str], cwd: Path, timeout: float) -> Exited:
    """Run ``rtk-task ARGS`` in ``cwd``: wall time from process start to exit, its own peak
    RSS and its CPU seconds (``wait4``); killed past ``timeout`` seconds."""
    env = {
        **os.environ,
        "CLOUDFLARE_API_TOKEN": TOKEN,
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }
    env.pop("RTK_BASE_URL", None)
    log = cwd / "output.txt"
    hwm = cwd / "peak-rss-kb.txt"
    hwm.unlink(missing_ok=True)
    env["RTK_BENCH_HWM"] = str(hwm)
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*_command(), *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(encoding="utf-8", errors="replace")
    if proc.returncode < 0:
        raise SystemExit(f"rtk-task {args[0]} was killed after {timeout:g} s:\n{text[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    if not hwm.is_file():
        raise SystemExit(
            f"rtk-task {args[0]} left no peak RSS (it did not exit normally):\n{text[-2000:]}"
        )
    rss_mb = int(hwm.read_text()) / 1024
    return Exited(started, seconds, rss_mb, proc.returncode, text, cpu)


def _workflow(url: str, requests: int, per: float) -> dict[str, Any]:
    return {
        "name": "bench-cli-bulk",
        "inputs": {
            "account_id": {"type": "string"},
            "meeting_id": {"type": "string"},
            "people": {"type": "array"},
        },
        "rate_limit": {"requests": requests, "per": per},
        "steps": [
            {
                "id": "add",
                "task": "realtimekit.meetings.participants.add",
                "for_each": "{{ inputs.people }}",
                "concurrency": CONCURRENCY,
                "with": {
                    "account_id": "{{ inputs.account_id }}",
                    "meeting_id": "{{ inputs.meeting_id }}",
                    "custom_participant_id": "{{ item }}",
                    "name": "{{ item }}",
                    "preset_name": "group_call_host",
                },
            }
        ],
        "outputs": {"added": "{{ steps.add.outputs.participant_id | length }}"},
    }


def _files(folder: Path, url: str, adds: int, requests: int, per: float) -> tuple[Path, Path]:
    wf = folder / "bulk.json"
    wf.write_text(json.dumps(_workflow(url, requests, per), indent=2), encoding="utf-8")
    inputs = folder / "people.json"
    people = [f"p{i:05d}" for i in range(adds)]
    data = {"account_id": "acc-bench", "meeting_id": MEETING, "people": people}
    inputs.write_text(json.dumps(data), encoding="utf-8")
    return wf, inputs


def run_case(httpd: _Server, name: str, folder: Path) -> dict[str, float]:
    """One run of case ``name``: its figures and its timeline."""
    adds, requests, per = CASES[name]
    url = f"http://127.0.0.1:{httpd.server_address[1]}/client/v4"
    work = folder / name
    work.mkdir()
    wf, inputs = _files(work, url, adds, requests, per)
    counts = httpd.counts = Counts(requests=requests, per=per, cap=3 * adds + 100)
    ideal = ideal_seconds(adds, requests, per)
    done = run_cli(
        ["run", str(wf), "--input", str(inputs), "--base-url", url], work, timeout=4 * ideal + 60
    )
    if done.code != 0 or counts.accepted != adds:
        raise SystemExit(
            f"{name}: exit {done.code}, {counts.accepted} of {adds} adds accepted "
            f"({counts.refused} refused, {counts.over_cap} past the cap):\n{done.output[-3000:]}"
        )
    assert counts.first is not None
    assert counts.last is not None
    return {
        "elapsed_s": round(done.seconds, 3),
        "elapsed_over_ideal": round(done.seconds / ideal, 4),
        "429s": float(counts.refused),
        "rss_mb": round(done.rss_mb, 1),
        "cpu_s": round(done.cpu_s, 3),
        "start_to_first_s": round(counts.first - done.started, 3),
        "first_to_last_s": round(counts.last - counts.first, 3),
        "last_to_exit_s": round(done.started + done.seconds - counts.last, 3),
    }


def run_check(folder: Path, name: str = "check") -> dict[str, float]:
    """``rtk-task check`` of the workflow with a 10,000-item input file."""
    work = folder / name
    work.mkdir()
    wf, inputs = _files(work, "http://127.0.0.1:9/client/v4", CHECK_ITEMS, 1000, 1.0)
    done = run_cli(["check", str(wf), "--input", str(inputs)], work, timeout=60)
    if done.code != 0:
        raise SystemExit(f"check: exit {done.code}:\n{done.output[-3000:]}")
    return {"s": round(done.seconds, 3), "rss_mb": round(done.rss_mb, 1)}


def measure(quick: bool, rounds: int | None = None) -> dict[str, float]:
    """The figures described in the module docstring (min and median over the rounds), and
    every round's own, keyed ``..._r1``, ``..._r2``..."""
    rounds = rounds or (1 if quick else 3)
    runs: dict[str, list[float]] = {}
    with server() as httpd:
        with tempfile.TemporaryDirectory(prefix="rtk-bench-bulk-") as tmp:
            run_check(Path(tmp))  # a warm-up: compiled modules and the disk cache, untimed
        for _ in range(rounds):
            with tempfile.TemporaryDirectory(prefix="rtk-bench-bulk-") as tmp:
                for name in CASES:
                    for key, value in run_case(httpd, name, Path(tmp)).items():
                        runs.setdefault(f"{name}_{key}", []).append(value)
                for n in range(CHECKS):
                    for key, value in run_check(Path(tmp), f"check{n}").items():
                        runs.setdefault(f"check10k_{key}", []).append(value)
    figures: dict[str, float] = {}
    for key, values in runs.items():
        figures[key] = min(values)
        figures[f"{key}_median"] = round(statistics.median(values), 4)
        figures |= {f"{key}_r{i + 1}": v for i, v in enumerate(values)}
    # what is judged: the worst 429 count and RSS of the rounds, not the best
    for name in CASES:
        figures[f"{name}_429s"] = max(runs[f"{name}_429s"])
        figures[f"{name}_rss_mb_max"] = max(runs[f"{name}_rss_mb"])
    return figures


if __name__ == "__main__":
    count = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else None
    print(json.dumps(measure("--quick" in sys.argv, count), indent=2))
