"""Writers: concurrent ``add`` all land (a lock), a workflow keeps its mode and its symlink,
and files written anew get the usual mode (0666 minus the umask), not 0600."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from rtk_task.files import write_atomic
from rtk_task.workflows.authoring import add_step
from rtk_task.workflows.model import load_workflow

from ..helpers import CANARY, OUTPUTS

TASK = "realtimekit.meetings.create"
START = """\
# my workflow
name: shared
steps:
  - id: first
    task: realtimekit.meetings.create
    with: {account_id: acc, title: First}
"""


_CLI = (sys.executable, "-c", "from rtk_task.cli import main; main()")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ten_concurrent_adds_in_subprocesses_all_land(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(START)
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": CANARY, "NO_COLOR": "1"}
    procs = [
        subprocess.Popen(
            [*_CLI, "add", TASK, "--workflow", str(wf), "--id", f"step_{i}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(10)
    ]
    for i, proc in enumerate(procs):
        out, err = proc.communicate(timeout=120)
        OUTPUTS.append((("add", str(i)), out + err))
        assert proc.returncode == 0, f"add {i} failed: {err}"
    ids = [s.id for s in load_workflow(wf).steps]
    assert sorted(ids) == sorted(["first", *(f"step_{i}" for i in range(10))]), f"lost adds: {ids}"
    assert wf.read_text().startswith("# my workflow")


def test_add_keeps_the_file_mode(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(START)
    wf.chmod(0o640)
    add_step(wf, TASK)
    assert _mode(wf) == 0o640
    assert [s.task for s in load_workflow(wf).steps] == [TASK, TASK]


def test_add_through_a_symlink_edits_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real" / "wf.yaml"
    real.parent.mkdir()
    real.write_text(START)
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    add_step(link, TASK, "made")
    assert link.is_symlink(), "the link was replaced by a file"
    assert link.resolve() == real.resolve()
    assert [s.id for s in load_workflow(real).steps] == ["first", "made"]


def test_a_new_file_gets_the_usual_mode_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "out.json", "{}\n")
        os.umask(0o027)
        write_atomic(tmp_path / "strict.json", "{}\n")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "out.json") == 0o644
    assert _mode(tmp_path / "strict.json") == 0o640
    assert not list(tmp_path.glob(".*.tmp")), "a temporary file was left behind"
