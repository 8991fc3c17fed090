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
