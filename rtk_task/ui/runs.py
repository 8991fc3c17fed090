"""The playground's view of run records: the newest runs per step, and two runs compared.

:func:`runs_by_step` lists the newest run records (the files ``run``, ``test --step`` and the
page write) of one workflow, step by step. :func:`compare_runs` puts two recorded results of
one step side by side, field by field (request, status, outputs), and marks the fields that
differ. Only records of the opened workflow, named exactly as listed (no path), are read;
their results were masked when they were written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import FileError, Problem, WorkflowError
from ..workflows.records import RUNS_DIR

__all__ = ["compare_runs", "runs_by_step"]

_MAX_RECORDS = 200
_PER_STEP = 5


def runs_by_step(root: Path, workflow_file: str) -> dict[str, list[dict[str, Any]]]:
    """Step id -> its newest recorded results (at most five), newest first."""
    folder = root / RUNS_DIR
    target = str(Path(workflow_file).resolve())
    out: dict[str, list[dict[str, Any]]] = {}
    files = sorted(folder.glob("*.json"), reverse=True)[:_MAX_RECORDS] if folder.is_dir() else []
    for path in files:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue  # unreadable: not shown, as `test --step` ignores it too
        if record.get("workflow") != target:
            continue
        for step_id, result in (record.get("steps") or {}).items():
            runs = out.setdefault(step_id, [])
            if len(runs) < _PER_STEP:
                runs.append(
                    {
                        "at": record.get("at"),
                        "kind": record.get("kind"),
                        "ok": bool(result.get("ok")),
                        "skipped": bool(result.get("skipped")),
                        "status_code": result.get("status_code"),
                        "outputs": result.get("outputs") or {},
                        "file": path.name,
                    }
                )
    return out


def compare_runs(
    root: Path, workflow_file: str, step_id: str, first: str, second: str
) -> dict[str, Any]:
    """Step ``step_id``'s results in records ``first`` and ``second``, field by field.

    ``rows`` holds one ``{"field", "a", "b", "same"}`` per field either side has: the request
    (method, URL, each header, each body field), the status, ``ok`` and each output, in that
    order. Values are shown as JSON text.
    """
    sides = [_recorded(root, workflow_file, step_id, name) for name in (first, second)]
    flat = [_fields(result) for _, result in sides]
    names = list(flat[0])
    names += [n for n in flat[1] if n not in flat[0]]
    names.sort(key=lambda n: _ORDER.index(n.split(".", 1)[0]) if "." in n else _ORDER.index(n))
    rows = []
    for name in names:
        a, b = flat[0].get(name, _ABSENT), flat[1].get(name, _ABSENT)
        rows.append({"field": name, "a": a, "b": b, "same": a == b})
    return {
        "step": step_id,
        "a": {"file": first, "at": sides[0][0].get("at"), "kind": sides[0][0].get("kind")},
        "b": {"file": second, "at": sides[1][0].get("at"), "kind": sides[1][0].get("kind")},
        "rows": rows,
        "differences": sum(not r["same"] for r in rows),
    }


_ABSENT = "(absent)"
_ORDER = ["request", "status_code", "ok", "error", "outputs"]


def _recorded(
    root: Path, workflow_file: str, step_id: str, name: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A record of this workflow (by file name only) and its result for ``step_id``."""
    folder = root / RUNS_DIR
    if not name or Path(name).name != name or not name.endswith(".json"):
        raise FileError(Problem(name or "run", "not a run record's name", "pick one listed"))
    try:
        record = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise FileError(Problem(name, f"cannot read the run record: {exc}")) from None
    if not isinstance(record, dict) or record.get("workflow") != str(Path(workflow_file).resolve()):
        raise FileError(Problem(name, "not a record of the opened workflow", "pick one listed"))
    result = (record.get("steps") or {}).get(step_id)
    if not isinstance(result, dict):
        raise WorkflowError(Problem(name, f"step {step_id!r} is not in this record"))
    return record, result


def _fields(result: dict[str, Any]) -> dict[str, str]:
    """A recorded result as ``field -> JSON text`` for the fields compared."""
    out: dict[str, str] = {}
    request = result.get("request") or {}
    for key in ("method", "url"):
        if key in request:
            out[f"request.{key}"] = _text(request[key])
    for key, value in sorted((request.get("headers") or {}).items()):
        out[f"request.headers.{key.lower()}"] = _text(value)
    _flatten(request.get("body"), "request.body", out)
    out["status_code"] = _text(result.get("status_code"))
    out["ok"] = _text(result.get("ok"))
    error = result.get("error")
    if error:
        out["error.kind"] = _text(error.get("kind"))
    for key, value in sorted((result.get("outputs") or {}).items()):
        out[f"outputs.{key}"] = _text(value)
    return out


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}", out)
    elif value is not None:
        out[prefix] = _text(value)


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
