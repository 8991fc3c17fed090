"""Helpers for tests: the canary token and the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

#: The three-step meeting workflow (create, add host, get) the engine and export tests run.
MEETING_FLOW = Path(__file__).parent / "data" / "onboard-call.yaml"
#: A token that must never appear in any output (checked by tests that capture output).
CANARY = "cf-canary-token-5b2d9e71"
#: Every CLI run's arguments and output, for the session-end canary search.
OUTPUTS: list[tuple[tuple[str, ...], str]] = []


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess, with CANARY as the API token."""
    full_env = {**os.environ, "CLOUDFLARE_API_TOKEN": CANARY, "NO_COLOR": "1", **(env or {})}
    full_env.pop("RTK_BASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", "from rtk_task.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        input=stdin,
        timeout=timeout,
        check=False,
    )
    OUTPUTS.append((args, done.stdout + done.stderr))
    # also here, so that a leak fails its own test (with pytest-xdist the session's guard
    # sees only what the tests printed, not what each worker's CLI runs printed)
    assert CANARY not in done.stdout + done.stderr, f"the API token appeared in CLI output {args}"
    return done


class CanaryGuard:
    """A pytest plugin: fail the session if the canary appears in any captured output."""

    def __init__(self) -> None:
        self.leaks: list[str] = []
        self.outputs_seen = len(OUTPUTS)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Search what each test printed or logged, and its failure report."""
        for name, text in report.sections:
            if CANARY in text:
                self.leaks.append(f"{report.nodeid} ({name})")
        if CANARY in str(report.longrepr or ""):
            self.leaks.append(f"{report.nodeid} (failure report)")

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Fail the run if the canary leaked into captured or CLI output."""
        self.leaks += [
            f"CLI output of {args}" for args, text in OUTPUTS[self.outputs_seen :] if CANARY in text
        ]
        if self.leaks:
            print("\nthe API token (canary) appeared in:\n  " + "\n  ".join(self.leaks))
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


class RecordingTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport that keeps ``(method, url, JSON body)`` of every request sent."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Record the request, then send it."""
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, str(request.url), body))
        return await super().handle_async_request(request)
