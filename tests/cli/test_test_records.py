"""`rtk-task test --step` (the Test request button) keeps the same promises as `run`: its
record is on disk before the request leaves, an interrupt leaves it saying "sent, outcome
unknown"; and its `--curl` text reads each secret from the variable the workflow names."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rtk_task.workflows.records import OUTCOME_UNKNOWN

from ..helpers import CANARY, OUTPUTS, run_cli
from .test_records import _CLI, _creates, _records, _workflow

#: Slow: real subprocesses and signals (CI runs every test).
pytestmark = pytest.mark.slow

SECRET_WORKFLOW = """\
name: secretive
secrets: {store: STORE_KEY}
steps:
  - id: create
    task: realtimekit.meetings.create
    with: {account_id: acc, title: "room {{ secrets.store }}"}
"""


def test_an_interrupted_test_request_leaves_a_record_of_a_send_with_an_unknown_outcome(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    fresh_emulator.emulator.faults.add(
        [{"match": {"operation": "create_meeting"}, "action": "delay", "delay": 20}]
    )
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": CANARY, "NO_COLOR": "1"}
    env.pop("RTK_BASE_URL", None)
    args = ("test", str(_workflow(tmp_path)), "--step", "create")
    with subprocess.Popen(
        [*_CLI, *args, "--base-url", fresh_emulator.base_url],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        for _ in range(3000):  # until the create has reached the emulator
            if _creates(fresh_emulator) >= 1:
                break
            try:
                proc.wait(timeout=0.01)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"the test ended before its create arrived: {proc.communicate()}")
        (record,) = _records(tmp_path)
        assert record["kind"] == "test"
        assert record["steps"]["create"]["error"]["message"] == OUTCOME_UNKNOWN
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    OUTPUTS.append((args, out + err))
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    (record,) = _records(tmp_path)
    assert record["state"] == "interrupted"
    assert record["steps"]["create"]["error"]["message"] == OUTCOME_UNKNOWN
    fresh_emulator.emulator.faults.clear()


def test_curl_reads_each_secret_from_its_variable(tmp_path: Path) -> None:
    wf = _workflow(tmp_path, SECRET_WORKFLOW)
    done = run_cli(
        "test", str(wf), "--step", "create", "--dry-run", "--curl",
        env={"STORE_KEY": "store-value-77"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "store-value-77" not in done.stdout
    assert '"$STORE_KEY"' in done.stdout
    assert '"$CLOUDFLARE_API_TOKEN"' in done.stdout
