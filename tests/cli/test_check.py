"""Issue 14 end to end: `check`, and `run` / `test --step` that check before sending."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..helpers import run_cli

WORKFLOW = """\
name: three-steps
inputs:
  account_id: {type: string, default: acc-check}
  size: {type: string, default: big}
steps:
  - id: create
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account_id }}"
      title: Checked
  - id: host
    task: realtimekit.meetings.participants.add
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.create.outputs.meeting_id }}"
      preset_name: host
      custom_participant_id: host
  - id: guest
    task: realtimekit.meetings.participants.add
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.create.outputs.meeting_id }}"
      preset_name: guest
      custom_participant_idd: guest
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wf.yaml"
    path.write_text(text)
    return path


def test_run_sends_nothing_when_the_third_step_has_a_typo(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    wf = write(tmp_path, WORKFLOW)
    done = run_cli("run", str(wf), "--base-url", fresh_emulator.base_url, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{wf}:24: steps.guest.with.custom_participant_idd: unknown field" in done.stderr
    assert f"{wf}:20: steps.guest.with.custom_participant_id: is required" in done.stderr
    assert "did you mean 'custom_participant_id'?" in done.stderr
    stats = fresh_emulator.stats()
    assert sum(stats["requests"].values()) == 0, stats


def test_check_reports_every_problem_with_file_and_line(tmp_path: Path) -> None:
    text = (
        WORKFLOW.replace("outputs.meeting_id", "outputs.meetingid", 1)
        .replace("title: Checked", 'title: "{{ steps.guest.outputs.name }}"')
        .replace(
            "      title",
            '      recording_config: {video_config: {width: "{{ inputs.size }}"}}\n      title',
        )
    )
    wf = write(tmp_path, text)
    done = run_cli("check", str(wf), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    err = done.stderr
    assert f"{wf}:10: steps.create.with.recording_config.video_config.width" in err, err
    assert "valid integer" in err
    assert f"{wf}:11: steps.create.with.title: steps.guest is this step or a later one" in err
    assert f"{wf}:16: steps.host.with.meeting_id: steps.create has no output 'meetingid'" in err
    assert f"{wf}:25: steps.guest.with.custom_participant_idd: unknown field" in err
    assert "5 problem(s)" in err


def test_check_json_lists_problems_and_fields_left_to_run_time(tmp_path: Path) -> None:
    clean = WORKFLOW.replace("custom_participant_idd", "custom_participant_id").replace(
        'meeting_id: "{{ steps.create.outputs.meeting_id }}"\n      preset_name: guest',
        'meeting_id: "{{ steps.create.outputs.meeting_id | trim }}"\n      preset_name: guest',
    )
    wf = write(tmp_path, clean)
    done = run_cli("check", str(wf), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert report["problems"] == []
    assert report["deferred"] == [
        {
            "field": "steps.guest.with.meeting_id",
            "why": "a computed value (a filter or an expression)",
        }
    ]
    bad = run_cli("check", str(write(tmp_path, WORKFLOW)), "--json", cwd=tmp_path)
    assert bad.returncode == 2
    problems = json.loads(bad.stdout)["problems"]
    assert [p["where"] for p in problems] == [f"{tmp_path / 'wf.yaml'}:{n}" for n in (20, 24)]


def test_check_takes_inputs_as_values(tmp_path: Path) -> None:
    text = WORKFLOW.replace("custom_participant_idd", "custom_participant_id").replace(
        "preset_name: host", 'preset_name: "{{ inputs.size }}"'
    )
    wf = write(tmp_path, text)
    assert run_cli("check", str(wf), cwd=tmp_path).returncode == 0
    unknown = run_cli("check", str(wf), "--input", "sise=1", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "did you mean 'size'?" in unknown.stderr


def test_test_step_checks_only_the_step_it_runs(tmp_path: Path) -> None:
    wf = write(tmp_path, WORKFLOW)
    ok = run_cli("test", str(wf), "--step", "create", "--dry-run", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run_cli(
        "test",
        str(wf),
        "--step",
        "guest",
        "--output",
        "create.meeting_id=m1",
        "--dry-run",
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert f"{wf}:24: steps.guest.with.custom_participant_idd: unknown field" in bad.stderr


PAGES = Path(__file__).resolve().parent.parent / "pages"


def test_a_manifest_built_under_any_file_name_is_found_by_its_id(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    built = run_cli(
        "manifest", "build", str(PAGES / "create_project.txt"), "-o", str(folder / "my.json")
    )
    assert built.returncode == 0, built.stderr
    (folder / "notes.json").write_text('{"hello": 1}')
    env = {"RTK_MANIFEST_PATH": str(folder)}
    listed = run_cli("list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[:1] == ["projects.create"] for line in listed.stdout.splitlines())
    assert listed.stderr.count("notes.json: not a manifest, skipped") == 1
    shown = run_cli("show", "projects.create", env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("projects.create: Create a project.")
    inputs = tmp_path / "in.json"
    inputs.write_text(
        json.dumps({"account_id": "acc", "name": "P", "tags": ["internal"], "items": []})
    )
    called = run_cli("call", "projects.create", "--with", str(inputs), "--dry-run", env=env)
    assert called.returncode == 0, called.stdout + called.stderr
    assert "POST https://api.example.com/v2/accounts/acc/projects" in called.stdout


def test_a_user_manifest_with_a_shipped_id_wins(tmp_path: Path, monkeypatch: Any) -> None:
    from rtk_task.manifests.registry import load_task, overridden_ids, shipped_dir

    shipped = json.loads((shipped_dir() / "realtimekit.meetings.get.json").read_text())
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "anything.json").write_text(json.dumps({**shipped, "summary": "Mine."}))
    monkeypatch.setenv("RTK_MANIFEST_PATH", str(folder))
    assert load_task("realtimekit.meetings.get").summary == "Mine."
    assert overridden_ids() == {"realtimekit.meetings.get"}
    monkeypatch.delenv("RTK_MANIFEST_PATH")
    assert load_task("realtimekit.meetings.get").summary != "Mine."
    assert overridden_ids() == frozenset()


def test_list_and_show_say_when_a_user_manifest_overrides_a_shipped_one(tmp_path: Path) -> None:
    from rtk_task.manifests.registry import shipped_dir

    shipped = json.loads((shipped_dir() / "realtimekit.meetings.get.json").read_text())
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "mine.json").write_text(json.dumps({**shipped, "summary": "Mine."}))
    env = {"RTK_MANIFEST_PATH": str(folder)}
    listed = run_cli("list", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines() if line.startswith("  ")}
    assert lines["realtimekit.meetings.get"].endswith("Mine.  (yours; overrides the shipped one)")
    assert "overrides" not in lines["realtimekit.meetings.list"]
    as_json = {t["id"]: t for t in json.loads(run_cli("list", "--json", env=env).stdout)}
    assert as_json["realtimekit.meetings.get"]["overrides_shipped"] is True
    assert as_json["realtimekit.meetings.list"]["overrides_shipped"] is False
    shown = run_cli("show", "realtimekit.meetings.get", env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(
        "realtimekit.meetings.get (yours; overrides the shipped one): "
    ), shown.stdout
    assert str(folder / "mine.json") in shown.stdout.splitlines()[0]
    shown_json = run_cli("show", "realtimekit.meetings.get", "--json", env=env)
    assert json.loads(shown_json.stdout)["summary"] == "Mine."
    assert "(yours; overrides the shipped one)" in shown_json.stderr
    plain = run_cli("show", "realtimekit.meetings.get")
    assert "overrides" not in plain.stdout + plain.stderr
