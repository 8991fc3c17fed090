"""A record for everything sent: the run record is on disk before the first request, says
"sent, outcome unknown" for a step in flight when the run is interrupted (SIGINT, SIGTERM),
and a record that cannot be written is exit 2 before any send, exit 1 after one."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtk_task.workflows.records import OUTCOME_UNKNOWN

from ..helpers import CANARY, OUTPUTS, run_cli

#: Slow: real subprocesses and signals (CI runs every test).
pytestmark = pytest.mark.slow

WORKFLOW = """\
name: recorded
steps:
  - id: create
    task: realtimekit.meetings.create
    with: {account_id: acc, title: Recorded}
"""
BAD_OUTPUT = (
    WORKFLOW
    + """\
    outputs:
      broken: "{{ response.body.nope.deeper }}"
"""
)
_CLI = (sys.executable, "-c", "from rtk_task.cli import main; main()")


def _workflow(tmp_path: Path, text: str = WORKFLOW) -> Path:
    wf = tmp_path / "wf.yaml"
    wf.write_text(text)
    return wf


def _records(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(tmp_path.glob(".rtk-task/runs/*.json"))]


def _creates(server: Any) -> int:
    stats = httpx.get(server.base_url.removesuffix("/client/v4") + "/__emulator/stats").json()
    return int(stats["requests"].get("create_meeting", 0))


def _start_run(wf: Path, base_url: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": CANARY, "NO_COLOR": "1"}
    env.pop("RTK_BASE_URL", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from rtk_task.cli import main; main()",
            "run",
            str(wf),
            "--base-url",
            base_url,
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_create(proc: subprocess.Popen[str], server: Any) -> None:
    """Until the emulator has the create (the run is still going), polling its counters."""
    for _ in range(3000):
        if _creates(server) >= 1:
            return
        try:
            proc.wait(timeout=0.01)  # a wait on the process, so an early exit shows at once
        except subprocess.TimeoutExpired:
            continue
        out, err = proc.communicate()
        pytest.fail(f"the run ended before its create arrived:\n{out}\n{err}")
    proc.kill()
    pytest.fail("the create never arrived at the emulator")


def _finish(proc: subprocess.Popen[str], args: tuple[str, ...]) -> tuple[str, str]:
    out, err = proc.communicate(timeout=60)
    OUTPUTS.append((args, out + err))
    return out, err


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_records_the_create_as_sent_with_an_unknown_outcome(
    fresh_emulator: Any, tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    fresh_emulator.emulator.faults.add(
        [{"match": {"operation": "create_meeting"}, "action": "delay", "delay": 20}]
    )
    wf = _workflow(tmp_path)
    proc = _start_run(wf, fresh_emulator.base_url, tmp_path)
    _wait_for_create(proc, fresh_emulator)
    records = _records(tmp_path)
    assert len(records) == 1, "no record before the answer"
    assert records[0]["state"] == "running"
    assert records[0]["steps"]["create"]["error"]["message"] == OUTCOME_UNKNOWN
    proc.send_signal(signum)
    out, err = _finish(proc, ("run", signum.name))
    assert proc.returncode == code, out + err
    assert "Traceback" not in err, err
    assert "create" in err
    assert "unknown outcome" in err
    (record,) = _records(tmp_path)
    assert record["state"] == "interrupted"
    assert record["ok"] is False
    step = record["steps"]["create"]
    assert step["error"]["kind"] == "ambiguous"
    assert step["error"]["message"] == OUTCOME_UNKNOWN
    fresh_emulator.emulator.faults.clear()


def test_rtk_task_as_a_file_refuses_the_run_before_anything_is_sent(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    (tmp_path / ".rtk-task").write_text("not a folder")
    done = run_cli(
        "run", str(_workflow(tmp_path)), "--base-url", fresh_emulator.base_url, cwd=tmp_path
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert ".rtk-task" in done.stderr
    assert "file" in done.stderr
    assert _creates(fresh_emulator) == 0


def _full_disk() -> None:
    """In the child: any write to a file fails (EFBIG), as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def test_a_full_disk_refuses_the_run_before_anything_is_sent(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    wf = _workflow(tmp_path)
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": CANARY, "NO_COLOR": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from rtk_task.cli import main; main()",
            "run",
            str(wf),
            "--base-url",
            fresh_emulator.base_url,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=_full_disk,
        timeout=60,
        check=False,
    )
    OUTPUTS.append((("run", "full disk"), done.stdout + done.stderr))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot write" in done.stderr
    assert "Traceback" not in done.stderr
    assert _creates(fresh_emulator) == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_records_folder_refuses_the_run_before_anything_is_sent(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    runs = tmp_path / ".rtk-task" / "runs"
    runs.mkdir(parents=True)
    runs.chmod(0o555)
    try:
        done = run_cli(
            "run", str(_workflow(tmp_path)), "--base-url", fresh_emulator.base_url, cwd=tmp_path
        )
    finally:
        runs.chmod(0o755)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "cannot write" in done.stderr
    assert _creates(fresh_emulator) == 0


def test_records_folder_gone_after_the_send_is_exit_1_with_the_result_shown(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    fresh_emulator.emulator.faults.add(
        [{"match": {"operation": "create_meeting"}, "action": "delay", "delay": 2}]
    )
    wf = _workflow(tmp_path)
    proc = _start_run(wf, fresh_emulator.base_url, tmp_path)
    _wait_for_create(proc, fresh_emulator)
    shutil.rmtree(tmp_path / ".rtk-task")
    (tmp_path / ".rtk-task").write_text("now a file")
    out, err = _finish(proc, ("run", "records gone"))
    assert proc.returncode == 1, out + err
    assert "Traceback" not in err
    assert "create" in out, "the step's result is not shown"
    assert "201" in out
    assert "run record" in err
    assert ".rtk-task" in err


def test_an_output_template_failing_after_the_send_keeps_the_response_and_a_record(
    emulator: Any, tmp_path: Path
) -> None:
    wf = _workflow(tmp_path, BAD_OUTPUT)
    done = run_cli("run", str(wf), "--base-url", emulator.base_url, "--json", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr  # sent: not "bad input"
    step = json.loads(done.stdout)["steps"]["create"]
    assert step["status_code"] == 201
    assert step["body"]["success"] is True
    assert step["error"]["kind"] == "template"
    assert step["attempts"] == 1
    (record,) = _records(tmp_path)
    assert record["state"] == "finished"
    assert record["steps"]["create"]["status_code"] == 201
