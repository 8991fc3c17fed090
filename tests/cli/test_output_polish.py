"""Issue 24, item 7: credentials the API returns are shortened in `run` and `demo` lines (and
whole in --json and run records); an enum typo gets a did-you-mean in `validate` and `check`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from rtk_task.cli.present import (
    format_output_line,
    is_credential_name,
    shorten_credentials,
    show_value,
)

from ..helpers import run_cli

JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJob3N0QGV4YW1wbGUuY29tIiwibWVldGluZyI6Im0tMSJ9"
    ".c2lnbmF0dXJlLW9mLXRoZS1ob3N0LXRva2VuLXg5UTI"
)
#: A shortened credential: six characters, an ellipsis, four, and the length.
SHORT = re.compile(r"(\S{6})…(\S{4}) \((\d+) chars\)")

FLOW = """\
name: tokens
inputs:
  account_id: {type: string}
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with: {account_id: "{{ inputs.account_id }}", title: Tokens}
  - id: add_host
    task: realtimekit.meetings.participants.add
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"
      preset_name: host
      custom_participant_id: "host@example.com"
outputs:
  join_token: "{{ steps.add_host.outputs.token }}"
  meeting: "{{ steps.create_meeting.outputs.meeting_id }}"
"""


# -- the shortening itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "token",
        "auth_token",
        "join_token",
        "refresh_token",
        "secret",
        "client_secret",
        "password",
        "api_key",
        "apiKey",
        "authToken",
        "API-KEY",
    ],
)
def test_credential_names_are_recognised(name: str) -> None:
    assert is_credential_name(name)


@pytest.mark.parametrize(
    "name", ["token_type", "tokens", "title", "meeting_id", "status", "keyword", "secretary"]
)
def test_other_names_are_not_credentials(name: str) -> None:
    assert not is_credential_name(name)


def test_a_named_token_is_shortened_to_its_ends_and_length() -> None:
    token = "rtk." + "A1b2C3d4" * 5 + "x9Q2"
    assert show_value("token", token) == f"rtk.A1…x9Q2 ({len(token)} chars)"
    assert format_output_line("join_token", token) == (
        f"output join_token: rtk.A1…x9Q2 ({len(token)} chars)"
    )


def test_a_jwt_is_shortened_whatever_its_name() -> None:
    assert show_value("data", JWT) == f"eyJhbG…{JWT[-4:]} ({len(JWT)} chars)"
    assert SHORT.fullmatch(show_value("anything", JWT))
    assert show_value("x", "a.b.c") == '"a.b.c"', "short dotted text is no JWT"
    assert show_value("host", "api.cloudflare.com") == '"api.cloudflare.com"'


def test_a_short_credential_shows_no_characters() -> None:
    assert show_value("password", "hunter2") == "… (7 chars)"


def test_nested_credentials_are_shortened_and_the_rest_is_kept() -> None:
    value = {"data": {"token": "t" * 30, "id": "p-1", "peers": [{"auth_token": JWT}]}}
    short = shorten_credentials(value)
    assert short["data"]["id"] == "p-1"
    assert short["data"]["token"] == "tttttt…tttt (30 chars)"
    assert SHORT.fullmatch(short["data"]["peers"][0]["auth_token"])
    assert value["data"]["token"] == "t" * 30, "the value given was changed"


def test_non_strings_masks_and_plain_values_are_left() -> None:
    assert show_value("token", None) == "null"
    assert show_value("token", "***") == '"***"'
    assert show_value("title", "Weekly sync") == '"Weekly sync"'
    assert show_value("title", "Grüße") == '"Grüße"'


# -- run and demo ---------------------------------------------------------------------------


def _run(emulator: Any, tmp_path: Path, *extra: str) -> Any:
    wf = tmp_path / "wf.yaml"
    wf.write_text(FLOW)
    return run_cli(
        "run",
        str(wf),
        "--input",
        "account_id=acc-polish",
        "--base-url",
        emulator.base_url,
        *extra,
        cwd=tmp_path,
    )


def test_run_shortens_the_join_token_in_its_lines_and_records_it_whole(
    emulator: Any, tmp_path: Path
) -> None:
    done = _run(emulator, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    [record_path] = (tmp_path / ".rtk-task" / "runs").glob("*.json")
    record = json.loads(record_path.read_text())
    token = record["steps"]["add_host"]["outputs"]["token"]
    assert isinstance(token, str)
    assert len(token) >= 20
    assert "…" not in token
    assert token not in done.stdout, "the whole join token was printed"
    [step_line] = [line for line in done.stdout.splitlines() if " add_host " in line]
    assert f"token={token[:6]}…{token[-4:]} ({len(token)} chars)" in step_line, step_line
    assert f"output join_token: {token[:6]}…{token[-4:]} ({len(token)} chars)" in done.stdout
    assert re.search(r'output meeting: "[0-9a-f-]{36}"', done.stdout), "an id was shortened"


def test_run_json_has_the_token_whole(emulator: Any, tmp_path: Path) -> None:
    done = _run(emulator, tmp_path, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads(done.stdout)
    token = run["steps"]["add_host"]["outputs"]["token"]
    assert run["outputs"]["join_token"] == token
    assert "…" not in done.stdout
    assert len(token) >= 20


def test_demo_shortens_the_host_token_and_json_keeps_it_whole() -> None:
    human = run_cli("demo", timeout=120)
    assert human.returncode == 0, human.stderr
    assert "…" in human.stdout
    [host_line] = [line for line in human.stdout.splitlines() if " add_host " in line]
    assert SHORT.search(host_line.split("token=")[1]), host_line
    assert not re.search(r"rtk\.[A-Za-z0-9_-]{16,}", human.stdout), human.stdout
    as_json = run_cli("demo", "--json", timeout=120)
    assert as_json.returncode == 0, as_json.stderr
    token = json.loads(as_json.stdout)["steps"]["add_host"]["outputs"]["token"]
    assert len(token) >= 20
    assert "…" not in token


# -- enum typos -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "inputs", "hint"),
    [
        (
            "realtimekit.recordings.pause_resume_stop",
            {"account_id": "a", "recording_id": "r", "action": "pase"},
            "did you mean 'pause'?",
        ),
        ("realtimekit.meetings.list", {"account_id": "a", "status": "active"}, "'ACTIVE'"),
        (
            "realtimekit.meetings.create",
            {"account_id": "a", "ai_config": {"summarization": {"text_format": "markdwn"}}},
            "did you mean 'markdown'?",
        ),
    ],
)
def test_validate_suggests_the_enum_value_meant(
    task: str, inputs: dict[str, Any], hint: str
) -> None:
    done = run_cli("validate", task, "--with", "-", stdin=json.dumps(inputs))
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "Input should be" in out, out
    assert hint in out, out


def test_validate_json_carries_the_hint() -> None:
    inputs = {"account_id": "a", "status": "INACTIV"}
    done = run_cli(
        "validate", "realtimekit.meetings.list", "--with", "-", "--json", stdin=json.dumps(inputs)
    )
    [problem] = json.loads(done.stdout)["problems"]
    assert problem["where"] == "status"
    assert problem["hint"] == "did you mean 'INACTIVE'?"


def test_a_value_close_to_nothing_gets_no_hint() -> None:
    inputs = {"account_id": "a", "status": "zzz"}
    done = run_cli("validate", "realtimekit.meetings.list", "--with", "-", stdin=json.dumps(inputs))
    assert "did you mean" not in done.stdout + done.stderr


def test_check_suggests_the_enum_value_meant(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(
        "name: typo\nsteps:\n  - id: stop\n    task: realtimekit.recordings.pause_resume_stop\n"
        "    with: {account_id: a, recording_id: r, action: resme}\n"
    )
    done = run_cli("check", str(wf), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "wf.yaml:5: steps.stop.with.action" in out, out
    assert "did you mean 'resume'?" in out, out
