"""Random files in ``.rtk-task/runs``: reading the newest outputs never fails; a record that
cannot be used is skipped with a warning naming it, and good records are still found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtk_task.workflows.records import RUNS_DIR, latest_outputs, take_warnings

from ..helpers import run_cli
from .strategies import BOUNDED, JSON

WORKFLOW = "wf.yaml"
GOOD_STEP = {"ok": True, "outputs": {"meeting_id": "m1"}}


def _good_record(root: Path) -> dict[str, Any]:
    return {"workflow": str((root / WORKFLOW).resolve()), "steps": {"create": GOOD_STEP}}


def _write(folder: Path, name: str, raw: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(raw)
    return path


record_like = st.fixed_dictionaries(
    {},
    optional={
        "workflow": st.text(max_size=8) | JSON,
        "steps": JSON | st.dictionaries(st.sampled_from(["create", "x"]), JSON, max_size=3),
    },
)


@BOUNDED
@given(
    st.lists(
        st.one_of(
            JSON.map(lambda v: json.dumps(v).encode()),
            record_like.map(lambda v: json.dumps(v).encode()),
            st.binary(max_size=64),
            st.just(b"[" * 5000 + b"]" * 5000),
            st.just(b'{"steps": {"create": {"ok": true, "outputs": NaN}}}'),
        ),
        max_size=5,
    )
)
def test_random_records_never_break_reading(
    tmp_path_factory: pytest.TempPathFactory, raws: list[bytes]
) -> None:
    root = tmp_path_factory.mktemp("runs")
    folder = root / RUNS_DIR
    _write(folder, "00000000-good.json", json.dumps(_good_record(root)).encode())
    for i, raw in enumerate(raws):  # newer than the good record: read first
        _write(folder, f"9{i:07d}-random.json", raw)
    take_warnings()
    found = latest_outputs(str(root / WORKFLOW), {"create"}, root=root)
    # a random file that happens to be a valid record of this workflow may win; else the good
    values, _path = found["create"]
    assert isinstance(values, dict)
    for warning in take_warnings():
        assert "random.json" in warning


def test_a_malformed_record_is_skipped_with_a_warning_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / RUNS_DIR
    _write(folder, "00000000-good.json", json.dumps(_good_record(tmp_path)).encode())
    bad = {
        "9-utf8.json": b"\xff\xfe",
        "9-json.json": b"{",
        "9-deep.json": b"[" * 5000 + b"]" * 5000,
        "9-shape.json": b'{"steps": [1, 2]}',
        "9-step.json": b'{"steps": {"create": 5}}',
    }
    for name, raw in bad.items():
        _write(folder, name, raw)
    take_warnings()
    found = latest_outputs(str(tmp_path / WORKFLOW), {"create"}, root=tmp_path)
    assert found["create"][0] == {"meeting_id": "m1"}
    warnings = take_warnings()
    for name in bad:
        assert any(name in w for w in warnings), (name, warnings)
    assert take_warnings() == []  # each warning is given out once


def test_the_cli_prints_record_warnings_and_no_traceback(tmp_path: Path) -> None:
    workflow = tmp_path / WORKFLOW
    workflow.write_text(
        "name: two\n"
        "steps:\n"
        "  - id: create\n"
        "    task: realtimekit.meetings.create\n"
        "    with: {account_id: acc, title: t}\n"
        "  - id: get\n"
        "    task: realtimekit.meetings.get\n"
        '    with: {account_id: acc, meeting_id: "{{ steps.create.outputs.meeting_id }}"}\n',
        encoding="utf-8",
    )
    _write(tmp_path / RUNS_DIR, "9-json.json", b"{" * 5000)
    done = run_cli("test", str(workflow), "--step", "get", "--dry-run", cwd=tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    assert "9-json.json" in done.stderr, done.stderr
