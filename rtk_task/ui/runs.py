"""The playground's reads and edits around the core: run records per step, step values.

:func:`runs_by_step` lists the newest run records (the files ``run`` and ``test --step``
write) of one workflow, step by step. :func:`step_with_values` writes the form's values into
a step that :func:`rtk_task.workflows.authoring.add_step` just added, as round-trip YAML:
comments and formatting stay, the file is checked as a workflow before it is written, and it
is written whole or not at all.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from ..errors import Problem, WorkflowError
from ..files import write_atomic
from ..workflows.records import RUNS_DIR

__all__ = ["runs_by_step", "step_with_values"]

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
        except (OSError, ValueError):
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


def step_with_values(
    workflow_file: Path, step_id: str, values: dict[str, Any], added_inputs: set[str]
) -> None:
    """Set the given (non-empty) values in step ``step_id``'s ``with``, keeping comments.

    Of ``added_inputs`` (the inputs ``add_step`` just declared), those no step uses once the
    values are in are removed again: a title typed in the form needs no workflow input.
    """
    from ruamel.yaml import YAML

    from ..workflows.model import parse_workflow

    given = {k: v for k, v in values.items() if v not in (None, "", [], {})}
    if not given:
        return
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    data = yaml.load(workflow_file.read_text(encoding="utf-8"))
    step = next((s for s in data.get("steps") or [] if s.get("id") == step_id), None)
    if step is None:
        raise WorkflowError(Problem(str(workflow_file), f"no step {step_id!r}"))
    with_ = step.setdefault("with", {})
    for key, value in given.items():
        with_[key] = value
    out = io.StringIO()
    yaml.dump(data, out)
    # never write a file that won't load
    workflow = parse_workflow(out.getvalue(), str(workflow_file))
    used = {c[1] for s in workflow.steps for c in s.references() if c[0] == "inputs" and len(c) > 1}
    unused = added_inputs - used
    if unused:
        for name in unused:
            del data["inputs"][name]
        out = io.StringIO()
        yaml.dump(data, out)
        parse_workflow(out.getvalue(), str(workflow_file))
    write_atomic(workflow_file, out.getvalue())
