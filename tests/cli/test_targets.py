"""Recorded outputs are keyed by target (issue 24): ids recorded against one API (or one
emulator) are never reused against another; ``ui`` follows ``RTK_BASE_URL`` like the CLI and
says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..helpers import CANARY, run_cli

FLOW = """name: two
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with: {account_id: acc-t, title: Targets}
  - id: get_meeting
    task: realtimekit.meetings.get
    with:
      account_id: acc-t
      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"
"""


def test_a_step_reuses_outputs_only_from_its_own_target(
    emulator: Any, fresh_emulator: Any, tmp_path: Path
) -> None:
    (tmp_path / "two.yaml").write_text(FLOW)
    made = run_cli(
        "test",
        "two.yaml",
        "--step",
        "create_meeting",
        "--base-url",
        emulator.base_url,
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    same = run_cli(
        "test",
        "two.yaml",
        "--step",
        "get_meeting",
        "--base-url",
        emulator.base_url,
        "--json",
        cwd=tmp_path,
    )
    assert same.returncode == 0, same.stdout + same.stderr
    assert json.loads(same.stdout)["ok"] is True
    other = run_cli(
        "test",
        "two.yaml",
        "--step",
        "get_meeting",
        "--base-url",
        fresh_emulator.base_url,
        cwd=tmp_path,
    )
    assert other.returncode == 2, other.stdout + other.stderr
    assert "have not run against" in other.stderr
    assert fresh_emulator.base_url in other.stderr
    assert fresh_emulator.stats()["requests"] == {}, "an id from another target was sent"


def test_ui_follows_rtk_base_url_and_says_so(emulator: Any) -> None:
    env = {**os.environ, "RTK_BASE_URL": emulator.base_url, "CLOUDFLARE_API_TOKEN": CANARY}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from rtk_task.cli import main; main()", "ui", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the banner, printed once the server listens
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert f"target: {emulator.base_url} (from RTK_BASE_URL), LIVE" in line, line
