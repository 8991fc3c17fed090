"""The emulator in a process of its own: its own GIL and memory, as a real server has.

``with emulator_process(token="t") as base_url: ...`` starts ``rtk-task emulator`` on a free
loopback port, returns once it accepts connections, and stops it on exit.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import EngineError, Problem

__all__ = ["emulator_process"]


@contextmanager
def emulator_process(token: str | None = None, rate_limit: str | None = None) -> Iterator[str]:
    """Serve the emulator from a child process; yields its base URL. ``rate_limit``
    (``"100/1s"``) makes it answer 429 past that many requests per window."""
    args = [sys.executable, "-c", "from rtk_task.cli import main; main()", "emulator"]
    args += ["--port", "0", *(["--token", token] if token else [])]
    args += ["--rate-limit", rate_limit] if rate_limit else []
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()  # printed once it accepts connections
        if not base_url.startswith("http://"):
            raise EngineError(
                Problem(
                    "emulator",
                    f"the emulator process did not start (exit code {proc.poll()})",
                    "run `rtk-task emulator` to see why",
                )
            )
        yield base_url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
