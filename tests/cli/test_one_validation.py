"""One validation on every path (issue 23, item 8): ``validate``, ``check`` and a call refuse
the same framing headers; ``--curl`` reads every secret from its variable wherever the step
uses it (path, query, header, body), never ``***``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtk_task import Client
from rtk_task.workflows.check import check_workflow
from rtk_task.workflows.model import parse_workflow

from ..helpers import run_cli

FRAMING = ["Host", "Content-Length", "Transfer-Encoding"]
INPUTS = {"account_id": "acc", "title": "t"}


@pytest.mark.parametrize("header", FRAMING)
def test_validate_check_and_call_refuse_the_same_framing_header(header: str) -> None:
    inputs = {**INPUTS, "headers": {header: "1"}}
    done = run_cli(
        "validate", "realtimekit.meetings.create", "--with", "-", "--json", stdin=json.dumps(inputs)
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert json.loads(done.stdout)["problems"][0]["where"] == f"headers.{header}"
    workflow = parse_workflow(
        "name: w\nsteps:\n  - id: s\n    task: realtimekit.meetings.create\n"
        f"    with: {{account_id: acc, title: t, headers: {{{header}: '1'}}}}\n"
    )
    report = check_workflow(workflow, {})
    assert any(
        f"headers.{header}" in p.where or f"headers.{header}" in p.message for p in report.problems
    ), report.problems
    with Client(base_url="http://127.0.0.1:9") as client:
        result = client.prepare("realtimekit.meetings.create", inputs)
    assert result.error is not None
    assert result.error.field_path == f"headers.{header}"


def test_curl_reads_every_secret_from_its_variable_wherever_it_is_used(tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text(
        """name: c
secrets: {k: RTK_TEST_CURL_KEY}
steps:
  - id: s
    task: http
    with:
      method: POST
      url: "https://api.example.com/items/{{ secrets.k }}"
      query: {sig: "{{ secrets.k }}"}
      headers: {X-Key: "{{ secrets.k }}", X-Other: "pre-{{ secrets.k }}"}
      body: {a: "{{ secrets.k }}"}
"""
    )
    done = run_cli(
        "test",
        "wf.yaml",
        "--step",
        "s",
        "--dry-run",
        "--curl",
        cwd=tmp_path,
        env={"RTK_TEST_CURL_KEY": "curl-secret-value-1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    curl = done.stdout[done.stdout.index("curl ") :]
    assert "curl-secret-value-1" not in done.stdout + done.stderr
    assert "***" not in curl, curl
    for where in (
        '/items/"$RTK_TEST_CURL_KEY"',
        'sig=\'"$RTK_TEST_CURL_KEY"',
        'X-Key: \'"$RTK_TEST_CURL_KEY"',
        'X-Other: pre-\'"$RTK_TEST_CURL_KEY"',
    ):
        assert where in curl, (where, curl)
