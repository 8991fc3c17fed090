"""Run records under ``.rtk-task/runs/`` in the working directory.

Every ``run`` and live ``test`` writes one JSON file (whole or not at all; results are already
masked). ``test --step`` of a later step reads the outputs its step needs from the newest
records that have them; a malformed record is skipped with a warning (:func:`take_warnings`),
never a traceback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..files import write_atomic
from ..result import TaskResult
from ..secrets import Redactor

__all__ = ["RUNS_DIR", "latest_outputs", "take_warnings", "write_record"]

RUNS_DIR = Path(".rtk-task") / "runs"


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
    """Write a record; its file name sorts by time."""
    folder = (root or Path.cwd()) / RUNS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time_ns() % 10**9:09d}"
    step_part = f"-{next(iter(steps))}" if kind == "test" and steps else ""
    path = folder / f"{stamp}-{_safe(name)}{step_part}.json"
    record = {
        "kind": kind,
        "workflow": str(Path(workflow_file).resolve()),
        "name": name,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "ok": ok,
        "inputs": redactor.value(inputs),
        "steps": {k: r.model_dump(mode="json") for k, r in steps.items()},
    }
    write_atomic(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path


def latest_outputs(
    workflow_file: str, step_ids: set[str], root: Path | None = None
) -> dict[str, tuple[dict[str, Any], Path]]:
    """For each step id, the outputs of its newest successful record of this workflow."""
    folder = (root or Path.cwd()) / RUNS_DIR
    wanted = set(step_ids)
    found: dict[str, tuple[dict[str, Any], Path]] = {}
    target = str(Path(workflow_file).resolve())
    for path in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else ():
        if not wanted:
            break
        record = _read_record(path)
        if record is None or record.get("workflow") != target:
            continue
        for step_id, result in record["steps"].items():
            if step_id in wanted and result.get("ok") and not result.get("skipped"):
                found[step_id] = (result.get("outputs") or {}, path)
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
