"""Editing workflow files: the "Add HTTP task" action.

The file is edited as round-trip YAML, so the user's comments, key order and formatting stay
as they were; the new step goes at the end. The result is checked as a workflow before it is
written, and written whole or not at all.

Concurrent edits do not lose each other: an edit holds an exclusive lock (``flock``) on a lock
file beside the workflow (``.NAME.lock``) from reading to writing, so ten ``add`` at once all
land. The file keeps its mode, and a symlink is followed: the file it points to is edited and
the link stays.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import Problem, WorkflowError
from ..files import real_path, write_atomic
from ..manifests.model import INPUT_LOCATIONS, Manifest, ParamType
from ..manifests.registry import load_task

__all__ = ["add_step", "add_steps", "default_step_id"]

_INPUT_TYPES = {
    ParamType.STRING: "string",
    ParamType.INTEGER: "integer",
    ParamType.NUMBER: "number",
    ParamType.BOOLEAN: "boolean",
    ParamType.OBJECT: "object",
    ParamType.ARRAY: "array",
}


def default_step_id(task_id: str) -> str:
    """``realtimekit.meetings.create`` -> ``create_meeting``; ``...list`` -> ``list_meetings``."""
    parts = task_id.split(".")
    verb, noun = parts[-1], parts[-2] if len(parts) > 1 else "task"
    return f"{verb}_{noun}" if verb == "list" else f"{verb}_{noun.removesuffix('s')}"


def add_step(workflow_file: Path, task_id: str, step_id: str | None = None) -> str:
    """Append a step for ``task_id`` with every required parameter as an input placeholder.

    Missing workflow inputs are declared; the file is created if it does not exist. Returns
    the step id. Holds the workflow's lock while it reads and writes (see the module).
    """
    with _locked(real_path(workflow_file)):
        return _add_step(workflow_file, task_id, step_id)


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """An exclusive lock on ``.NAME.lock`` beside ``target``, held until the block ends."""
    lock = target.parent / f".{target.name}.lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WorkflowError(
            Problem(str(lock), f"cannot lock the workflow: {exc.strerror or exc}")
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits for another edit of the same file to finish
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _add_step(workflow_file: Path, task_id: str, step_id: str | None) -> str:
    """:func:`add_step`, under the lock."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from .model import parse_workflow

    manifest = load_task(task_id)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    if workflow_file.exists():
        text = workflow_file.read_text(encoding="utf-8")
        parse_workflow(text, str(workflow_file))  # refuse to edit a broken file
        data = yaml.load(text)
    else:
        data = CommentedMap(name=workflow_file.stem, inputs=CommentedMap(), steps=CommentedSeq())
    steps = data.setdefault("steps", CommentedSeq())
    taken = {str(s.get("id")) for s in steps}
    if step_id is not None and step_id in taken:
        raise WorkflowError(
            Problem(str(workflow_file), f"a step {step_id!r} exists already", "pick another --id")
        )
    if step_id is None:
        base = step_id = default_step_id(manifest.id)
        n = 2
        while step_id in taken:
            step_id, n = f"{base}_{n}", n + 1
    inputs = data.get("inputs")
    if inputs is None:
        inputs = data["inputs"] = CommentedMap()
    step = CommentedMap(id=step_id, task=manifest.id)
    step["with"] = with_ = CommentedMap()
    produced = _outputs_of_steps(steps)
    for name, ptype in _required(manifest):
        if name in produced:  # chain: an earlier step makes this value
            with_[name] = f"{{{{ steps.{produced[name]}.outputs.{name} }}}}"
            continue
        with_[name] = f"{{{{ inputs.{name} }}}}"
        if name not in inputs:
            spec = CommentedMap(type=_INPUT_TYPES[ptype])
            spec.fa.set_flow_style()
            inputs[name] = spec
    steps.append(step)
    out = io.StringIO()
    yaml.dump(data, out)
    parse_workflow(out.getvalue(), str(workflow_file))  # never write a file that won't load
    write_atomic(workflow_file, out.getvalue())
    return step_id


def _outputs_of_steps(steps: list[dict[str, object]]) -> dict[str, str]:
    """Output name -> the id of the last step that declares it."""
    from ..errors import ManifestError

    produced: dict[str, str] = {}
    for step in steps:
        try:
            manifest = load_task(str(step.get("task")))
        except ManifestError:
            continue
        outputs = step.get("outputs")
        names = [o.name for o in manifest.outputs]
        names += [str(k) for k in outputs] if isinstance(outputs, dict) else []
        for name in names:
            produced[name] = str(step.get("id"))
    return produced


def _required(manifest: Manifest) -> list[tuple[str, ParamType]]:
    return [
        (p.name, p.type)
        for loc in INPUT_LOCATIONS
        for p in manifest.parameters.at(loc)
        if p.required
    ]


def add_steps(
    workflow_file: Path,
    steps: list[dict[str, Any]],
    inputs: dict[str, dict[str, Any]],
    secrets: dict[str, str],
) -> list[str]:
    """Append ready-made ``steps`` (an import's), declaring their ``inputs`` and ``secrets``.

    Like :func:`add_step`: comments and order kept, the file created if missing, checked as a
    workflow before it is written whole. A step id already in the file gets a ``_2`` suffix
    (references to it within ``steps`` follow); an input or secret already declared is kept
    as it is. Returns the ids of the steps added. Holds the workflow's lock, as ``add_step``.
    """
    with _locked(real_path(workflow_file)):
        return _add_steps(workflow_file, steps, inputs, secrets)


def _add_steps(
    workflow_file: Path,
    steps: list[dict[str, Any]],
    inputs: dict[str, dict[str, Any]],
    secrets: dict[str, str],
) -> list[str]:
    import json

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from .model import parse_workflow

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    if workflow_file.exists():
        text = workflow_file.read_text(encoding="utf-8")
        parse_workflow(text, str(workflow_file))  # refuse to edit a broken file
        data = yaml.load(text)
    else:
        data = CommentedMap(name=workflow_file.stem, steps=CommentedSeq())
    existing = data.setdefault("steps", CommentedSeq())
    taken = {str(s.get("id")) for s in existing}
    renamed: dict[str, str] = {}
    for step in steps:
        sid = base = str(step["id"])
        n = 2
        while sid in taken:
            sid, n = f"{base}_{n}", n + 1
        taken.add(sid)
        renamed[base] = sid
    if inputs:
        declared = data.get("inputs")
        if declared is None:
            declared = data["inputs"] = CommentedMap()
        for name, spec in inputs.items():
            declared.setdefault(name, CommentedMap(spec))
    if secrets:
        declared_secrets = data.get("secrets")
        if declared_secrets is None:
            declared_secrets = data["secrets"] = CommentedMap()
        for name, env in secrets.items():
            declared_secrets.setdefault(name, env)
    added = []
    for step in steps:
        text = json.dumps(step)
        for old, new in renamed.items():
            if old != new:
                text = text.replace(f"steps.{old}.", f"steps.{new}.")
        plain = json.loads(text)
        plain["id"] = renamed[str(step["id"])]
        existing.append(CommentedMap(plain))
        added.append(plain["id"])
    out = io.StringIO()
    yaml.dump(data, out)
    parse_workflow(out.getvalue(), str(workflow_file))  # never write a file that won't load
    write_atomic(workflow_file, out.getvalue())
    return added
