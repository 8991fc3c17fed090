"""Temporal as a team runs it (issue 25): a dev server and workers started separately
(`rtk-task temporal worker`), runs handed to them with ``--task-queue``.

- A worker killed (SIGKILL) while its creates are in flight: the workflow still completes; the
  lost items come back as ``ambiguous`` results of the ``for_each`` (the step's
  ``continue_on_error`` lets the rest run), and no create reaches the API twice.
- Three workers sharing one queue rate (``--queue-rate``, kept by the Temporal server) send a
  burst of creates to an API limiting 100/10 s with no 429 at all; each worker alone keeps only
  the documented 250/10 s, which three of them together would pass. The server's rate is a
  token bucket (a burst of one second's worth, then the rate), so the rate that never passes
  N requests in any W seconds is N / (W + 1) (9/s here, 22.7/s for RealtimeKit's 250/10 s),
  less the jitter between a dispatch and its send on a busy machine: 8/s here (0.8).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rtk_task.emulator import EmulatorServer
from rtk_task.engines.temporal import temporal_binary

from ..helpers import CANARY, OUTPUTS

pytestmark = pytest.mark.slow

#: The queue rate of the rate test's workers (RTK_TEST_NO_QUEUE_RATE=1 runs it without, to see
#: it fail: the three workers then pass the API's limit).
RATE = () if os.environ.get("RTK_TEST_NO_QUEUE_RATE") else ("--queue-rate", "8")

FOR_EACH = """name: batch
inputs:
  n: {{type: integer, default: {n}}}
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    for_each: "{{{{ range(inputs.n) | list }}}}"
    concurrency: {concurrency}
    continue_on_error: true
    with: {{account_id: acc-team, title: "item {{{{ item }}}}"}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(condition: Callable[[], bool], what: str, limit: float = 90.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": CANARY, "NO_COLOR": "1", **extra}
    env.pop("RTK_BASE_URL", None)
    return env


@pytest.fixture(scope="module")
def temporal() -> Iterator[str]:
    """A Temporal dev server of this module's, on loopback: its address."""
    port = _free_port()
    server = subprocess.Popen(
        [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--http-port",
            str(_free_port()),
            "--metrics-port",
            str(_free_port()),
            "--headless",
            "--log-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: _listening(port), "the Temporal dev server")
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(30)


class Workers:
    """Worker processes started as a team starts them; all stopped at the end."""

    def __init__(self, address: str, queue: str, base_url: str) -> None:
        self.address, self.queue, self.base_url = address, queue, base_url
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, *extra: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from rtk_task.cli import main; main()",
                "temporal",
                "worker",
                "--address",
                self.address,
                "--task-queue",
                self.queue,
                "--base-url",
                self.base_url,
                *extra,
            ],
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        assert proc.stderr is not None
        banner = proc.stderr.readline()  # printed once the worker is configured
        assert banner.startswith("worker on"), banner
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            _, err = proc.communicate(timeout=30)
            assert CANARY not in (err or "")


def _start_run(tmp_path: Path, text: str, address: str, queue: str, base_url: str) -> Any:
    (tmp_path / "batch.yaml").write_text(text)
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from rtk_task.cli import main; main()",
            "run",
            "batch.yaml",
            "--engine",
            "temporal",
            "--task-queue",
            queue,
            "--base-url",
            base_url,
            "--json",
            "--details",
        ],
        cwd=tmp_path,
        env=_env(RTK_TEMPORAL_ADDRESS=address),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(run: Any) -> dict[str, Any]:
    out, err = run.communicate(timeout=240)
    OUTPUTS.append((("run", "temporal workers"), out + err))
    assert CANARY not in out + err
    assert out.lstrip().startswith("{"), f"exit {run.returncode}: {err[-3000:]}"
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.mark.timeout(400)
def test_a_killed_worker_leaves_a_completed_run_with_its_lost_creates_ambiguous(
    temporal: str, tmp_path: Path
) -> None:
    items = 6
    with EmulatorServer(host="127.0.0.1", port=0, token=CANARY) as emulator:
        emulator.add_faults(
            {"match": {"operation": "create_meeting"}, "action": "delay", "delay": 4}
        )
        workers = Workers(temporal, "q-kill", emulator.base_url)
        try:
            first = workers.start()
            run = _start_run(
                tmp_path,
                FOR_EACH.format(n=items, concurrency=3),
                temporal,
                "q-kill",
                emulator.base_url,
            )

            def creates() -> int:
                return int(emulator.stats()["requests"].get("create_meeting", 0))

            _wait_for(lambda: creates() >= 1, "the first worker's creates to arrive")
            workers.start()  # the second takes over
            first.send_signal(signal.SIGKILL)
            result = _finish(run)
        finally:
            workers.stop()
        sent = creates()
    assert result["ok"] is True, result  # continue_on_error: the run goes on and completes
    body = result["steps"]["create_meeting"]["body"]
    lost = [f for f in body["failed"] if f["error"]["kind"] == "ambiguous"]
    assert lost, body
    assert all("engine lost the step" in f["error"]["message"] for f in lost)
    assert body["succeeded"] + len(body["failed"]) == items, body
    assert sent <= items, f"{sent} creates for {items} items: one was sent twice"


@pytest.mark.timeout(400)
def test_three_workers_keep_one_queue_rate_and_get_no_429(temporal: str, tmp_path: Path) -> None:
    items = 150
    with EmulatorServer(host="127.0.0.1", port=0, token=CANARY, rate_limit="100/10s") as emulator:
        workers = Workers(temporal, "q-rate", emulator.base_url)
        try:
            for _ in range(3):
                workers.start(*RATE)
            run = _start_run(
                tmp_path,
                FOR_EACH.format(n=items, concurrency=16),
                temporal,
                "q-rate",
                emulator.base_url,
            )
            result = _finish(run)
        finally:
            workers.stop()
        stats = emulator.stats()
    assert result["ok"] is True, result["steps"]["create_meeting"]["error"]
    assert result["steps"]["create_meeting"]["body"]["succeeded"] == items
    assert stats["rate_limited"] == 0, "the workers together passed the API's limit"
    assert stats["requests"]["create_meeting"] == items
