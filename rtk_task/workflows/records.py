"""Run records under ``.rtk-task/runs/`` in the working directory.

Every ``run`` and live ``test`` writes one JSON file (whole or not at all each time; results
are already masked). ``test --step`` of a later step reads the outputs its step needs from the
newest records that have them; a malformed record is skipped with a warning
(:func:`take_warnings`), never a traceback.

A :class:`RunRecord` is written BEFORE the first request (``state: "running"``), again when a
step starts (its result says ``ambiguous``: "sent, outcome unknown") and when it finishes,
and at the end (``"finished"`` or ``"interrupted"``). So an interrupt, a kill, a crash or a
full disk after a send leaves a record saying which steps were sent and which outcomes are
unknown. A write before a step is sent failing (:meth:`RunRecord.started`, like the first)
means that step is not sent (:class:`~rtk_task.errors.FileError`); a write after a result is
kept in :attr:`RunRecord.error` and the run goes on to report its results.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..errors import FileError, Problem
from ..files import write_atomic
from ..result import SEALED, ErrorInfo, TaskResult
from ..secrets import Redactor

__all__ = [
    "OUTCOME_UNKNOWN",
    "RUNS_DIR",
    "RunRecord",
    "bounded_result",
    "latest_outputs",
    "take_warnings",
    "write_record",
]

RUNS_DIR = Path(".rtk-task") / "runs"
#: The most JSON a step's result takes in a record before its large values are summarised.
MAX_STEP_BYTES = 1024 * 1024
#: A value (the body, one output, one input) kept whole in a summarised result or record.
MAX_VALUE_BYTES = 64 * 1024
#: The most failed items a summarised ``for_each`` result keeps (the first, by index), within
#: :data:`MAX_VALUE_BYTES` of them.
MAX_FAILED_ITEMS = 100
#: The message of a step that was started and has no answer on record.
OUTCOME_UNKNOWN = "sent, outcome unknown: the run ended before its answer was recorded"


class RunRecord:
    """One run's record on disk, rewritten whole as the run goes."""

    __slots__ = ("_data", "_steps", "error", "path", "unknown")

    def __init__(
        self,
        workflow_file: str,
        name: str,
        *,
        inputs: dict[str, Any],
        redactor: Redactor,
        kind: str = "run",
        root: Path | None = None,
        step_id: str | None = None,
        target: str = "",
    ) -> None:
        folder = (root or Path.cwd()) / RUNS_DIR
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time_ns() % 10**9:09d}"
        step_part = f"-{step_id}" if step_id else ""
        self.path = folder / f"{stamp}-{_safe(name)}{step_part}.json"
        self._data: dict[str, Any] = {
            "kind": kind,
            "workflow": str(Path(workflow_file).resolve()),
            "name": name,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            #: Where the requests went ("": each task's own server): recorded outputs (ids)
            #: are reused only against the same target.
            "target": target,
            "state": "running",
            "ok": False,
            "inputs": bounded_inputs(redactor.value(inputs)),
        }
        self._steps: dict[str, dict[str, Any]] = {}
        #: Steps started and not finished: sent (or maybe sent), outcome unknown.
        self.unknown: dict[str, str] = {}
        #: The first failure to write after :meth:`begin` (the run went on without a record).
        self.error: FileError | None = None

    def begin(self) -> Path:
        """Write the record before anything is sent; a :class:`FileError` if it cannot be."""
        self._write()
        return self.path

    def started(self, step_id: str, task: str) -> None:
        """A step is about to be sent: on record as sent, outcome unknown, until finished.

        Raises :class:`FileError` when that cannot be written: the step must not be sent.
        """
        self._steps[step_id] = _unknown(task)
        try:
            self._write()
        except FileError as exc:
            del self._steps[step_id]
            self.error = self.error or exc
            raise
        self.unknown[step_id] = task

    def finished(self, step_id: str, result: TaskResult) -> None:
        """A step's result (masked already), its large values summarised
        (:func:`bounded_result`)."""
        self.unknown.pop(step_id, None)
        self._steps[step_id] = bounded_result(result.model_dump(mode="json"))
        self._flush()

    def end(self, *, ok: bool, state: str = "finished") -> None:
        """The run is over (``"finished"`` or ``"interrupted"``); steps in flight stay unknown."""
        self._data["state"] = state
        self._data["ok"] = ok and not self.unknown
        self._flush()

    def drop(self) -> None:
        """Remove the record of a call that sent nothing after all."""
        self.path.unlink(missing_ok=True)

    def _flush(self) -> None:
        try:
            self._write()
        except FileError as exc:
            self.error = self.error or exc

    def _write(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileError(
                Problem(
                    str(self.path.parent),
                    f"cannot make the run records folder: {exc.strerror or exc}",
                    "is .rtk-task a file? remove it, or run from another folder",
                )
            ) from None
        record = {**self._data, "steps": self._steps}
        write_atomic(self.path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def bounded_result(data: dict[str, Any]) -> dict[str, Any]:
    """A result as recorded: whole up to :data:`MAX_STEP_BYTES` of JSON; past that, its body,
    each output and each item result over :data:`MAX_VALUE_BYTES` become a summary (``{
    "summarised": true, "items": N, "bytes": N}``), so that a ``for_each`` of 100,000 items
    makes a record of kilobytes, not tens of megabytes. The status, error and request stay.

    A ``for_each`` step's result is bounded whatever its size (:func:`_for_each_body`): its
    counts, its first failed items (each with its index, item and error) and outputs of up to
    :data:`MAX_VALUE_BYTES` each, as a small one's are."""
    body = data.get("body")
    if isinstance(body, dict) and _is_for_each(data):
        out = {**data, "body": _for_each_body(body)}
    elif _size(data) <= MAX_STEP_BYTES:
        return data
    else:
        out = {**data, "body": None if body is None else _small_or_summary(body)}
    outputs = out.get("outputs")
    if isinstance(outputs, dict):
        out["outputs"] = {k: _small_or_summary(v) for k, v in outputs.items()}
    return out


def bounded_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """A run's inputs as recorded: each one over :data:`MAX_VALUE_BYTES` of JSON becomes a
    summary (the record is rewritten as every step starts and ends: a 10,000-name list is a
    line there, not 10,000 lines each time)."""
    return {k: _small_or_summary(v) for k, v in inputs.items()}


def _is_for_each(data: dict[str, Any]) -> bool:
    """Whether a result is a ``for_each`` step's (:mod:`.flow`): no status of its own, and its
    summary as the body."""
    body = data.get("body")
    return (
        data.get("status_code") is None
        and isinstance(body, dict)
        and isinstance(body.get("failed"), list)
        and {"items", "succeeded", "not_run"} <= body.keys()
    )


def _for_each_body(body: dict[str, Any]) -> dict[str, Any]:
    """A ``for_each`` summary within bounds: the counts; every ``ambiguous`` item (a create
    that may have reached the server: what a user must reconcile), within
    :data:`MAX_STEP_BYTES`; the first other failed items (at most :data:`MAX_FAILED_ITEMS`,
    within :data:`MAX_VALUE_BYTES`), a large item summarised; how many were left out; every
    item's full result (``details``) summarised. The kept items stay in index order."""
    out = {k: (_small_or_summary(v) if k == "results" else v) for k, v in body.items()}
    failed: list[Any] = body["failed"]
    chosen: list[tuple[int, Any]] = []
    rooms = {True: MAX_STEP_BYTES, False: MAX_VALUE_BYTES}
    others = 0
    for position, entry in enumerate(failed):
        ambiguous = _kind(entry) == "ambiguous"
        if not ambiguous and others >= MAX_FAILED_ITEMS:
            continue
        if isinstance(entry, dict) and "item" in entry:
            entry = {**entry, "item": _small_or_summary(entry["item"])}
        size = _size(entry)
        if size > rooms[ambiguous]:
            continue
        rooms[ambiguous] -= size
        others += not ambiguous
        chosen.append((position, entry))
    out["failed"] = [entry for _, entry in sorted(chosen, key=lambda c: c[0])]
    if len(chosen) < len(failed):
        out["failed_left_out"] = len(failed) - len(chosen)
    return out


def _kind(entry: Any) -> Any:
    error = entry.get("error") if isinstance(entry, dict) else None
    return error.get("kind") if isinstance(error, dict) else None


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False))


def _small_or_summary(value: Any) -> Any:
    size = _size(value)
    return value if size <= MAX_VALUE_BYTES else _summary(value, size)


def _summary(value: Any, size: int | None = None) -> dict[str, Any]:
    size = _size(value) if size is None else size
    items = len(value) if isinstance(value, list | dict) else None
    return {"summarised": True, "items": items, "bytes": size}


def _unknown(task: str) -> dict[str, Any]:
    error = ErrorInfo(
        kind="ambiguous",
        message=OUTCOME_UNKNOWN,
        hint="the request may have reached the server: check before running it again",
    )
    return TaskResult(ok=False, task=task, error=error).model_dump(mode="json")


def write_record(
    workflow_file: str,
    name: str,
    steps: dict[str, TaskResult],
    *,
    ok: bool,
    inputs: dict[str, Any],
    redactor: Redactor,
    kind: str = "run",
    root: Path | None = None,
) -> Path:
    """Write a finished run's record in one go; its file name sorts by time."""
    step_id = next(iter(steps)) if kind == "test" and steps else None
    record = RunRecord(
        workflow_file, name, inputs=inputs, redactor=redactor, kind=kind, root=root, step_id=step_id
    )
    for sid, result in steps.items():
        record._steps[sid] = bounded_result(result.model_dump(mode="json"))
    record._data.update(state="finished", ok=ok)
    record.begin()
    return record.path


def latest_outputs(
    workflow_file: str, step_ids: set[str], root: Path | None = None, target: str = ""
) -> dict[str, tuple[dict[str, Any], Path]]:
    """For each step id, the outputs of its newest successful record of this workflow made
    against ``target`` (ids from one API are never sent to another, nor to a fresh
    emulator)."""
    folder = (root or Path.cwd()) / RUNS_DIR
    wanted = set(step_ids)
    found: dict[str, tuple[dict[str, Any], Path]] = {}
    file = str(Path(workflow_file).resolve())
    for path in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else ():
        if not wanted:
            break
        record = _read_record(path)
        if record is None or record.get("workflow") != file:
            continue
        if record.get("target", "") != target:
            continue
        for step_id, result in record["steps"].items():
            if step_id in wanted and result.get("ok") and not result.get("skipped"):
                outputs = dict(result.get("outputs") or {})
                if isinstance(result.get("secret_outputs"), dict) and result["secret_outputs"]:
                    outputs[SEALED] = result["secret_outputs"]  # names of secrets, masked
                found[step_id] = (outputs, path)
                wanted.discard(step_id)
    return found


#: What :func:`latest_outputs` skipped, until :func:`take_warnings` hands it out (the CLI
#: prints it; this module never prints).
_warnings: list[str] = []


def take_warnings() -> list[str]:
    """Warnings about run records that were skipped, each given out once."""
    taken = list(dict.fromkeys(_warnings))
    _warnings.clear()
    return taken


def _read_record(path: Path) -> dict[str, Any] | None:
    """A record whose ``steps`` map ids to result objects, or ``None`` (and a warning).

    A record we cannot read is no evidence: it is skipped, whatever is wrong with it (not
    UTF-8, not JSON, too large or too deep, not the shape a record has).
    """
    from ..errors import FileError, RtkError
    from ..limits import MAX_TEXT_BYTES, loads_json

    try:
        if path.stat().st_size > MAX_TEXT_BYTES:
            raise FileError(Problem(str(path), "too large for a run record"))
        text = path.read_text(encoding="utf-8")
        record = loads_json(text, str(path), FileError)
    except (OSError, UnicodeDecodeError):
        _warnings.append(f"{path}: cannot be read as UTF-8 text, skipped")
        return None
    except RtkError as exc:
        _warnings.append(f"{exc.first.where}: {exc.first.message}; run record skipped")
        return None
    steps = record.get("steps") if isinstance(record, dict) else None
    if not isinstance(steps, dict) or not all(
        isinstance(r, dict) and isinstance(r.get("outputs", {}), dict | None)
        for r in steps.values()
    ):
        _warnings.append(f"{path}: not a run record (no `steps` of results), skipped")
        return None
    return record if isinstance(record, dict) else None


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60] or "workflow"
