"""What a CLI start loads: a dry run needs no HTTP client and no retry loop.

Cold start is measured in benchmarks/; this checks the property that keeps it low, so that a
stray top-level import cannot undo it unnoticed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from rtk_task.cli.demo import EXAMPLE

from ..helpers import CANARY, OUTPUTS

#: Runs the CLI, then reports which heavy modules the process imported.
_PROBE = """
import atexit, json, sys
HEAVY = ("httpx", "httpcore", "tenacity", "anyio", "asyncio")
atexit.register(lambda: print(json.dumps(sorted(m for m in HEAVY if m in sys.modules)),
                              file=sys.stderr))
from rtk_task.cli import main
main()
"""


def _loaded(*args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": CANARY, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    OUTPUTS.append((args, done.stdout + done.stderr))
    return done, json.loads(done.stderr.strip().splitlines()[-1])


def test_a_dry_run_imports_no_http_client() -> None:
    done, loaded = _loaded("test", str(EXAMPLE), "--step", "create_meeting", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "dry run: nothing sent" in done.stdout
    assert loaded == []


def test_a_dry_run_with_curl_and_json_imports_no_http_client() -> None:
    args = ("test", str(EXAMPLE), "--step", "create_meeting", "--dry-run", "--curl", "--json")
    done, loaded = _loaded(*args)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["dry_run"] is True
    assert "$CLOUDFLARE_API_TOKEN" in shown["curl"]
    assert loaded == []


def test_a_bad_value_is_refused_without_loading_an_http_client() -> None:
    args = ("test", str(EXAMPLE), "--step", "create_meeting", "--input", "account_id=")
    done, loaded = _loaded(*args)  # not a dry run: it would send, but the value is refused
    assert done.returncode == 2, done.stdout + done.stderr
    assert "account_id" in done.stdout + done.stderr
    assert loaded == []
