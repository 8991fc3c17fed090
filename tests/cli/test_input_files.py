"""Issue 26, item 1: bulk inputs from a file. ``--input FILE`` (a JSON object of inputs, read
by the bounded JSON reader) beside ``--input NAME=VALUE`` for ``check``, ``run`` and
``test``; a JSON workflow; a ``for_each`` step's line says how many items, never every one;
its record keeps the counts and the failed items."""

from __future__ import annotations

import json
from pathlib import Path

from rtk_task.result import TaskResult
from rtk_task.secrets import Redactor
from rtk_task.workflows.records import MAX_FAILED_ITEMS, RunRecord

from ..helpers import run_cli
from ..rawserver import RawServer, answer


def _workflow(url: str = "http://127.0.0.1:9") -> dict[str, object]:
    return {
        "name": "bulk",
        "inputs": {
            "people": {"type": "array"},
            "title": {"type": "string", "default": "Standup"},
        },
        "steps": [
            {
                "id": "add",
                "task": "http",
                "for_each": "{{ inputs.people }}",
                "concurrency": 4,
                "with": {
                    "method": "POST",
                    "url": f"{url}/people",
                    "body": {"name": "{{ item }}", "title": "{{ inputs.title }}"},
                },
                "outputs": {"name": "{{ response.body.name }}"},
            }
        ],
    }


def _write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_check_reads_a_json_workflow_and_a_10000_item_input_file(tmp_path: Path) -> None:
    wf = _write(tmp_path, "bulk.json", _workflow())
    people = _write(tmp_path, "people.json", {"people": [f"p{i:05d}" for i in range(10_000)]})
    done = run_cli("check", str(wf), "--input", str(people), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: bulk (1 steps checked)" in done.stdout


def test_an_input_file_is_checked_by_type_and_name(tmp_path: Path) -> None:
    wf = _write(tmp_path, "bulk.json", _workflow())
    wrong = _write(tmp_path, "wrong.json", {"people": "p1", "titel": "x"})
    done = run_cli("check", str(wf), "--input", str(wrong), cwd=tmp_path)
    assert done.returncode == 2
    assert f"{wrong}: people: not a array: string" in done.stderr, done.stderr
    assert f"{wrong}: titel: unknown input" in done.stderr
    assert "did you mean 'title'?" in done.stderr
    listed = _write(tmp_path, "list.json", ["p1"])
    done = run_cli("check", str(wf), "--input", str(listed), cwd=tmp_path)
    assert done.returncode == 2
    assert "an inputs file holds a JSON object" in done.stderr


def test_a_broken_input_file_names_its_line_and_a_missing_one_says_what_was_meant(
    tmp_path: Path,
) -> None:
    wf = _write(tmp_path, "bulk.json", _workflow())
    broken = tmp_path / "broken.json"
    broken.write_text('{"people": [\n  "p1",\n]}\n', encoding="utf-8")
    done = run_cli("run", str(wf), "--input", str(broken), cwd=tmp_path)
    assert done.returncode == 2
    assert f"{broken}:3:1: not JSON" in done.stderr, done.stderr
    done = run_cli("run", str(wf), "--input", "people", cwd=tmp_path)
    assert done.returncode == 2
    assert "'people' is neither NAME=VALUE nor a JSON file of inputs" in done.stderr
    assert not (tmp_path / ".rtk-task").exists(), "a run with bad inputs made a record"


def test_run_takes_a_file_and_later_pairs_win(tmp_path: Path) -> None:
    with RawServer(answer("200 OK", b'{"name": "x"}')) as server:
        wf = _write(tmp_path, "bulk.json", _workflow(f"http://127.0.0.1:{server.port}"))
        people = _write(tmp_path, "people.json", {"people": ["ann", "bob", "cy"]})
        done = run_cli(
            "run", str(wf), "--input", str(people), "--input", "title=Retro", cwd=tmp_path
        )
        sent = [r.split(b"\r\n\r\n", 1)[1] for r in server.requests]
    assert done.returncode == 0, done.stdout + done.stderr
    bodies = sorted(json.loads(body)["name"] for body in sent)
    assert bodies == ["ann", "bob", "cy"]
    assert {json.loads(body)["title"] for body in sent} == {"Retro"}
    # the step's line counts the items and shows the first few values, not all
    (line,) = [x for x in done.stdout.splitlines() if " add " in x]
    assert "3 items" in line, line


def test_a_for_each_line_shows_the_first_values_and_how_many_more(tmp_path: Path) -> None:
    from rtk_task.cli.present import format_step_line

    names = [f"p{i:05d}" for i in range(10_000)]
    body = {"items": 10_000, "succeeded": 10_000, "failed": [], "not_run": 0}
    result = TaskResult(ok=True, task="http", outputs={"name": names}, body=body)
    line = format_step_line("add", result)
    assert '10,000 items: name=["p00000", "p00001", "p00002", … 9,997 more]' in line
    assert len(line) < 200


def test_the_record_of_a_large_for_each_keeps_its_counts_and_first_failed_items(
    tmp_path: Path,
) -> None:
    count = 10_000
    failed = [
        {
            "index": i,
            "item": f"person-{i:05d}@example.com",
            "error": {"kind": "remote", "message": f"HTTP 400: item {i} refused", "hint": "x"},
        }
        for i in range(0, count, 2)
    ]
    body = {"items": count, "succeeded": count // 2, "failed": failed, "not_run": 0}
    ids = [None if i % 2 == 0 else f"participant-{i:06d}" for i in range(count)]
    result = TaskResult(ok=False, task="http", outputs={"id": ids}, body=body)
    record = RunRecord(
        "w.json",
        "w",
        inputs={"people": [f"person-{i:05d}@example.com" for i in range(count)]},
        redactor=Redactor(),
        root=tmp_path,
    )
    record.begin()
    record.finished("add", result)
    record.end(ok=False)
    size = record.path.stat().st_size
    assert size < 256 * 1024, f"a {size:,}-byte record"
    data = json.loads(record.path.read_text(encoding="utf-8"))
    kept = data["steps"]["add"]["body"]
    assert {k: kept[k] for k in ("items", "succeeded", "not_run")} == {
        "items": count,
        "succeeded": count // 2,
        "not_run": 0,
    }
    assert kept["failed"] == failed[: len(kept["failed"])], "the first failed items, whole"
    assert 0 < len(kept["failed"]) <= MAX_FAILED_ITEMS
    assert kept["failed_left_out"] == len(failed) - len(kept["failed"])
    assert data["steps"]["add"]["outputs"]["id"]["summarised"] is True
    assert data["inputs"]["people"] == {
        "summarised": True,
        "items": count,
        "bytes": data["inputs"]["people"]["bytes"],
    }


def test_the_record_of_a_large_for_each_keeps_every_ambiguous_create(tmp_path: Path) -> None:
    """An ``ambiguous`` item may have created something: the record lists each of them (the
    user reconciles those), beyond the first other failures it keeps."""
    count = 6_000
    failed = [
        {
            "index": i,
            "item": f"person-{i:05d}",
            "error": {
                "kind": "ambiguous" if i % 3 == 0 else "remote",
                "message": "the engine lost the step" if i % 3 == 0 else "HTTP 400",
                "hint": "x",
            },
        }
        for i in range(count)
    ]
    body = {"items": count, "succeeded": 0, "failed": failed, "not_run": 0}
    record = RunRecord("w.json", "w", inputs={}, redactor=Redactor(), root=tmp_path)
    record.begin()
    record.finished("add", TaskResult(ok=False, task="http", body=body))
    record.end(ok=False)
    kept = json.loads(record.path.read_text(encoding="utf-8"))["steps"]["add"]["body"]
    ambiguous = [f for f in kept["failed"] if f["error"]["kind"] == "ambiguous"]
    assert [f["index"] for f in ambiguous] == list(range(0, count, 3))  # every one of them
    others = [f for f in kept["failed"] if f["error"]["kind"] != "ambiguous"]
    assert 0 < len(others) <= MAX_FAILED_ITEMS
    assert [f["index"] for f in kept["failed"]] == sorted(f["index"] for f in kept["failed"])
    assert kept["failed_left_out"] == count - len(kept["failed"])
    assert record.path.stat().st_size < 2 * 1024 * 1024
