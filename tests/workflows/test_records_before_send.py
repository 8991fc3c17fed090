"""No step is sent off the record (issue 23): when its "sent, outcome unknown" entry cannot
be written (a full disk, a records folder gone), that step is not sent, the run stops, and the
step's result says why; the steps sent before keep their results."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rtk_task.errors import FileError
from rtk_task.secrets import Redactor
from rtk_task.workflows.model import Step, parse_workflow
from rtk_task.workflows.records import RunRecord
from rtk_task.workflows.runner import run_workflow

from ..rawserver import RawServer, answer

TWO = """
name: two
steps:
  - id: first
    task: http
    with: {{method: POST, url: "{url}/a"}}
  - id: second
    task: http
    depends_on: [first]
    with: {{method: POST, url: "{url}/b"}}
"""


def test_a_record_that_cannot_take_a_step_stops_the_run_before_that_step(tmp_path: Path) -> None:
    record = RunRecord("two.yaml", "two", inputs={}, redactor=Redactor(), root=tmp_path)
    record.begin()

    def started(step: Step) -> None:
        if step.id == "second":  # the disk fills after the first step
            shutil.rmtree(tmp_path / ".rtk-task")
            (tmp_path / ".rtk-task").write_text("full")
        record.started(step.id, step.task)

    with RawServer(answer("200 OK", b"{}")) as server:
        workflow = parse_workflow(TWO.format(url=f"http://127.0.0.1:{server.port}"))
        run = run_workflow(workflow, {}, on_start=started)
        sent = [raw.split(b" ", 2)[1] for raw in server.requests]
    assert sent == [b"/a"], "a step was sent with no record of it"
    assert run.ok is False
    assert run.steps["first"].ok is True
    second = run.steps["second"]
    assert second.error is not None
    assert second.error.kind == "file"
    assert not second.sent
    assert record.error is not None
    assert "second" not in record.unknown


def test_started_raises_when_the_record_cannot_be_written(tmp_path: Path) -> None:
    record = RunRecord("w.yaml", "w", inputs={}, redactor=Redactor(), root=tmp_path)
    record.begin()
    shutil.rmtree(tmp_path / ".rtk-task")
    (tmp_path / ".rtk-task").write_text("a file")
    with pytest.raises(FileError):
        record.started("s", "http")
    assert record.unknown == {}
