"""The benchmarks gate: a quick run exits 1 when a robust figure misses its target.

``benchmarks/run.py`` judges every figure against ``benchmarks/targets.py``. Here rtk-task's
call path is made 2 ms slower on purpose (``RTK_BENCH_INJECT_DELAY``: each call attempt burns
2 ms of CPU first, against 0.1-0.3 ms for a whole call over ``MockTransport``), so the
overhead figure, robust, misses by several times its limit: the run must say so and fail.
Only the overhead figure is measured (``--only overhead``): a few seconds, not the minutes
of the whole quick run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"


def _run(tmp_path: Path, *args: str, delay: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RTK_BENCH_INJECT_DELAY": delay}
    return subprocess.run(
        [sys.executable, str(RUN), "--quick", "--results-dir", str(tmp_path), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.fixture(scope="module")
def slowed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One quick run of the overhead figure with 2 ms injected per call, and its record."""
    folder = tmp_path_factory.mktemp("results")
    done = _run(folder, "--only", "overhead", delay="0.002")
    (path,) = folder.glob("*.json")
    return done, path


def test_a_slower_call_fails_the_quick_run_and_is_named(
    slowed: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, path = slowed
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    missed = [line for line in done.stdout.splitlines() if line.startswith("MISSED (robust)")]
    assert len(missed) == 1, out
    assert "overhead per call (rtk-task / raw httpx)" in missed[0]
    assert "[overhead]" in missed[0]
    assert "past the limit" in missed[0]
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["exit_code"] == 1
    assert record["missed_robust"] == ["overhead"]
    assert record["injected_delay_s"] == 0.002
    (row,) = record["rows"]
    assert row["met"] == "no"
    assert row["measured"] > 3 * row["limit"], row  # a clear miss, not noise


def test_the_markdown_of_a_record_says_what_missed(
    slowed: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, path = slowed
    md = subprocess.run(
        [sys.executable, str(RUN), "--markdown", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "| overhead per call (rtk-task / raw httpx) |" in md
    assert "| no | robust |" in md
    assert "injected" in md
    assert "Robust figures missed" in md


def test_an_unknown_figure_key_is_refused(tmp_path: Path) -> None:
    done = _run(tmp_path, "--only", "no_such_figure")
    assert done.returncode != 0
    assert "no_such_figure" in done.stderr
    assert "overhead" in done.stderr  # the keys there are
    assert not list(tmp_path.glob("*.json"))


def test_the_bulk_benchmark_server_refuses_past_its_limit_and_counts_it() -> None:
    """bench_cli_bulk's "0 429s" means something: its server does refuse past the limit
    (a sliding window of arrivals), and counts each refusal."""
    import http.client
    import importlib

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        bench = importlib.import_module("bench_cli_bulk")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))

    assert bench.ideal_seconds(1_000, 100, 1.0) == 9.0
    assert bench.ideal_seconds(10_000, 1_000, 1.0) == 9.0
    assert bench.ideal_seconds(1_001, 100, 1.0) == 10.0
    with bench.server() as httpd:
        httpd.counts = bench.Counts(requests=3, per=60.0, cap=5)
        conn = http.client.HTTPConnection("127.0.0.1", httpd.server_address[1], timeout=10)
        statuses = []
        for i in range(6):
            conn.request("POST", "/p", body=json.dumps({"custom_participant_id": f"p{i}"}))
            answer = conn.getresponse()
            body = json.loads(answer.read())
            statuses.append(answer.status)
        conn.close()
    assert statuses == [201, 201, 201, 429, 429, 503]
    assert body == {"success": False, "errors": [{"code": 503}]}
    assert (httpd.counts.accepted, httpd.counts.refused, httpd.counts.over_cap) == (3, 2, 1)
