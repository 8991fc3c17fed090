"""``rtk-task import curl``: into a workflow file (comments kept) or printed as YAML."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_cli
from tests.workflows.test_imports import DOCS_CURL


def test_import_curl_adds_a_typed_step_and_keeps_comments(tmp_path: Path) -> None:
    wf = tmp_path / "w.yaml"
    wf.write_text(
        "name: w  # my workflow\n"
        "steps:\n"
        "  # the first call\n"
        "  - id: first\n"
        "    task: realtimekit.meetings.list\n"
        "    with: {account_id: a1, app_id: p1}\n",
        encoding="utf-8",
    )
    done = run_cli("import", "curl", DOCS_CURL, "--workflow", str(wf), "--step", "make")
    assert done.returncode == 0, done.stderr
    assert "added step 'make' (realtimekit.meetings.create)" in done.stdout
    assert "set CLOUDFLARE_API_TOKEN" in done.stderr
    text = wf.read_text(encoding="utf-8")
    assert "# my workflow" in text
    assert "# the first call" in text
    assert "task: realtimekit.meetings.create" in text
    assert "api_token: CLOUDFLARE_API_TOKEN" in text
    assert "Bearer" not in text


def test_import_curl_from_stdin_prints_yaml() -> None:
    done = run_cli("import", "curl", stdin="curl -X DELETE 'https://example.test/v1/things/42'")
    assert done.returncode == 0, done.stderr
    assert "task: http" in done.stdout
    assert "url: https://example.test/v1/things/42" in done.stdout


def test_a_bad_command_exits_2_without_a_traceback() -> None:
    done = run_cli("import", "curl", "curl --proxy x https://h/")
    assert done.returncode == 2
    assert "cannot be imported" in done.stderr
    assert "Traceback" not in done.stderr


def test_import_n8n_prints_a_workflow_and_says_which_variables_to_set() -> None:
    data = Path(__file__).parents[1] / "workflows" / "data" / "n8n-standup.json"
    done = run_cli("import", "n8n", str(data))
    assert done.returncode == 0, done.stderr
    assert "task: realtimekit.meetings.create" in done.stdout
    assert "when: '{{ steps.create_meeting.outputs.status == \"ACTIVE\" }}'" in done.stdout
    assert "set CLOUDFLARE_API_TOKEN" in done.stderr
    assert "set HOOKS_EXAMPLE_COM_X_API_KEY" in done.stderr
    assert "$now.toISO()" in done.stderr  # what could not be translated is listed
    assert "hook-key-4b1f" not in done.stdout + done.stderr


def test_import_n8n_of_a_bad_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "w.json"
    bad.write_text('{"nodes": []}', encoding="utf-8")
    done = run_cli("import", "n8n", str(bad))
    assert done.returncode == 2
    assert "no HTTP Request nodes" in done.stderr
    assert "Traceback" not in done.stderr
