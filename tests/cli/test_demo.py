"""The demo: the shipped example creates everything it uses (a preset, a meeting, its host, a
recording) against the embedded emulator, with every output chained into the next step."""

from __future__ import annotations

import json

from ..helpers import CANARY, run_cli


def test_the_demo_creates_a_preset_a_meeting_a_host_and_a_recording_chained() -> None:
    done = run_cli("demo", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    assert CANARY not in done.stdout + done.stderr
    run = json.loads(done.stdout)
    steps = run["steps"]
    assert run["ok"], {k: v["error"] for k, v in steps.items() if not v["ok"]}
    preset, meeting = steps["create_preset"], steps["create_meeting"]
    host, recording = steps["add_host"], steps["start_recording"]
    assert preset["status_code"] == 201
    # the host joins with the preset the run created, in the meeting it created
    assert host["request"]["body"]["preset_name"] == preset["outputs"]["name"]
    assert meeting["outputs"]["meeting_id"] in host["request"]["url"]
    assert recording["request"]["body"]["meeting_id"] == meeting["outputs"]["meeting_id"]
    # and the recording read back is the one started
    assert steps["get_recording"]["outputs"]["recording_id"] == recording["outputs"]["recording_id"]
    assert steps["get_meeting"]["outputs"]["meeting_id"] == meeting["outputs"]["meeting_id"]
