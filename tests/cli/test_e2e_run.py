"""Issue 6 end to end: `rtk-task run`, `add` then `test`, pagination on the real emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from ..helpers import CANARY, run_cli

CHAIN = """\
name: onboard-call
inputs:
  account_id: {type: string}
  title: {type: string, default: Weekly sync}
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account_id }}"
      title: "{{ inputs.title }}"
      record_on_start: true
  - id: add_host
    task: realtimekit.meetings.participants.add
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"
      preset_name: host
      custom_participant_id: "host@example.com"
    outputs:
      token: "{{ response.body.data.token }}"
  - id: get_meeting
    task: realtimekit.meetings.get
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"
"""


def test_run_chains_create_add_participant_get(emulator: Any, tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(CHAIN)
    done = run_cli(
        "run",
        str(wf),
        "--input",
        "account_id=acc-run",
        "--input",
        "title=Board review",
        "--base-url",
        emulator.base_url,
        "--json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    steps = result["steps"]
    assert result["ok"] is True
    meeting_id = steps["create_meeting"]["outputs"]["meeting_id"]
    assert f"/meetings/{meeting_id}/participants" in steps["add_host"]["request"]["url"]
    assert steps["add_host"]["outputs"]["token"]
    assert steps["get_meeting"]["outputs"]["title"] == "Board review"
    records = list((tmp_path / ".rtk-task" / "runs").glob("*.json"))
    assert len(records) == 1
    assert CANARY not in records[0].read_text()


def test_test_step_reuses_the_outputs_recorded_by_the_last_run(
    emulator: Any, tmp_path: Path
) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(CHAIN)
    first = run_cli(
        "test",
        str(wf),
        "--step",
        "create_meeting",
        "--input",
        "account_id=acc-rec",
        "--base-url",
        emulator.base_url,
        "--json",
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    meeting_id = json.loads(first.stdout)["outputs"]["meeting_id"]
    later = run_cli(
        "test",
        str(wf),
        "--step",
        "add_host",
        "--input",
        "account_id=acc-rec",
        "--base-url",
        emulator.base_url,
        "--json",
        cwd=tmp_path,
    )
    assert later.returncode == 0, later.stderr
    assert "using the outputs of create_meeting recorded in" in later.stderr
    assert f"/meetings/{meeting_id}/participants" in json.loads(later.stdout)["request"]["url"]


def test_test_step_says_which_step_to_test_first(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(CHAIN)
    done = run_cli(
        "test", str(wf), "--step", "add_host", "--input", "account_id=a", "--dry-run", cwd=tmp_path
    )
    assert done.returncode == 2
    assert "test create_meeting first" in done.stderr


def test_add_then_test_dry_run_works(tmp_path: Path) -> None:
    added = run_cli("add", "realtimekit.meetings.create", "--workflow", "new.yaml", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    done = run_cli(
        "test",
        "new.yaml",
        "--step",
        "create_meeting",
        "--dry-run",
        "--input",
        "account_id=a",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "POST https://api.cloudflare.com/client/v4/accounts/a/realtimekit/meetings" in (
        done.stdout
    )


def test_add_keeps_every_comment_and_refuses_a_duplicate_id(tmp_path: Path) -> None:
    text = (
        "# onboarding\nname: onboard  # the name\ninputs:\n  # who\n"
        "  account_id: {type: string}  # keep me\nsteps:\n  # first\n"
        "  - id: create_meeting\n    task: realtimekit.meetings.create\n"
        '    with:\n      account_id: "{{ inputs.account_id }}"  # templated\n'
    )
    wf = tmp_path / "wf.yaml"
    wf.write_text(text)
    done = run_cli(
        "add",
        "realtimekit.meetings.participants.add",
        "--workflow",
        "wf.yaml",
        "--id",
        "add_host",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    new = wf.read_text()
    for comment in ("# onboarding", "# the name", "# who", "# keep me", "# first", "# templated"):
        assert comment in new, f"{comment!r} was lost"
    assert "{{ steps.create_meeting.outputs.meeting_id }}" in new
    again = run_cli(
        "add", "realtimekit.meetings.get", "--workflow", "wf.yaml", "--id", "add_host", cwd=tmp_path
    )
    assert again.returncode == 2
    assert wf.read_text() == new, "a refused add changed the file"


def test_paginate_gathers_45_meetings_in_3_requests(fresh_emulator: Any, tmp_path: Path) -> None:
    with httpx.Client(
        base_url=fresh_emulator.base_url, headers={"Authorization": f"Bearer {CANARY}"}
    ) as http:
        for i in range(45):
            http.post("/accounts/acc-pages/realtimekit/meetings", json={"title": f"m{i}"})
    before = fresh_emulator.stats()["requests"].get("get_all_meetings", 0)
    wf = tmp_path / "wf.yaml"
    wf.write_text(
        "name: pages\nsteps:\n  - id: all\n    task: realtimekit.meetings.list\n"
        "    paginate: true\n    with: {account_id: acc-pages, per_page: 20}\n"
    )
    done = run_cli("run", str(wf), "--base-url", fresh_emulator.base_url, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    outputs = json.loads(done.stdout)["steps"]["all"]["outputs"]
    assert len(outputs["items"]) == 45
    assert outputs["pages"] == 3
    assert fresh_emulator.stats()["requests"]["get_all_meetings"] - before == 3
