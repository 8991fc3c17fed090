"""Helpers for tests: the canary token and the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: A token that must never appear in any output (checked by tests that capture output).
CANARY = "cf-canary-token-5b2d9e71"


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
    return subprocess.run(
        [sys.executable, "-c", "from rtk_task.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        input=stdin,
        timeout=timeout,
        check=False,
    )
