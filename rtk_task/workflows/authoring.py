"""Editing workflow files: the "Add HTTP task" action (``add``, ``import``, the playground).

Only lines are added: the new steps are rendered alone and inserted at the end of ``steps:``
(new inputs and secrets at the end of their mappings), at the file's own indentation and
line ends (CRLF stays CRLF), so every line already there stays byte for byte as it was (see
:class:`~rtk_task.workflows.yamlfile.TextAdditions`). The one exception is a flow mapping or
sequence that must grow (``inputs: {a: {type: string}}``): that line gets the new entries
before its ``}``. A file whose shape takes no insertion (a block scalar that keeps its
trailing blank lines, say) is written anew as round-trip YAML, comments and key order kept.
The result is checked as a workflow before it is written, and written whole or not at all.

Concurrent edits do not lose each other: an edit holds an exclusive lock (``flock``) on the
folder of the workflow from reading to writing, so ten ``add`` at once all land; no lock file
is made, so none is left behind. The file keeps its mode, and a symlink is followed: the file
it points to is edited and the link stays.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import Problem, WorkflowError
from ..files import real_path, write_atomic
from ..manifests.model import INPUT_LOCATIONS, Manifest, ParamType
from ..manifests.registry import load_task

__all__ = ["add_step", "add_steps", "default_step_id", "workflow_lock"]

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
    with workflow_lock(workflow_file):
        return _add_step(workflow_file, task_id, step_id)


@contextlib.contextmanager
def workflow_lock(workflow_file: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the folder of ``workflow_file``, held until the block ends.

    Every edit of a workflow file takes it from reading to writing. The folder, not a lock
    file: nothing is left behind, whatever happens, and the folder stays the same inode while
    the file itself is replaced by each write (a symlinked file's own folder is locked).
    """
    target = real_path(Path(workflow_file))
    folder = target.parent
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise WorkflowError(
            Problem(str(target), f"cannot lock the workflow: {exc.strerror or exc}")
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits for another edit in the same folder to finish
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _load(workflow_file: Path, new: dict[str, Any]) -> tuple[str | None, Any]:
    """The file's text (line ends kept) and round-trip data; ``None`` and ``new`` if missing."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    from .model import parse_workflow

    if not workflow_file.exists():
        return None, CommentedMap(new)
    text = workflow_file.read_bytes().decode("utf-8")
    parse_workflow(text, str(workflow_file))  # refuse to edit a broken file (bounds checked)
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True  # should the whole file be written anew
    # loaded with plain line ends (comments would keep a "\r"); lines and columns are the same
    return text, yaml.load(text.replace("\r\n", "\n"))


def _add_step(workflow_file: Path, task_id: str, step_id: str | None) -> str:
    """:func:`add_step`, under the lock."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    manifest = load_task(task_id)
    blank = {"name": workflow_file.stem, "inputs": CommentedMap(), "steps": CommentedSeq()}
    text, data = _load(workflow_file, blank)
    steps = data.get("steps") or []
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
    declared = data.get("inputs") or {}
    step = CommentedMap(id=step_id, task=manifest.id)
    step["with"] = with_ = CommentedMap()
    new_inputs: dict[str, Any] = {}
    produced = _outputs_of_steps(steps)
    for name, ptype in _required(manifest):
        if name in produced:  # chain: an earlier step makes this value
            with_[name] = f"{{{{ steps.{produced[name]}.outputs.{name} }}}}"
            continue
        with_[name] = f"{{{{ inputs.{name} }}}}"
        if name not in declared:
            new_inputs[name] = {"type": _INPUT_TYPES[ptype]}
    _save(workflow_file, text, data, [step], new_inputs, {})
    return step_id


def _save(
    workflow_file: Path,
    text: str | None,
    data: Any,
    steps: list[Any],
    inputs: dict[str, Any],
    secrets: dict[str, str],
    hosts: Sequence[str] | None = None,
) -> None:
    """Add ``steps``, ``inputs``, ``secrets`` and ``hosts`` to the file (read as ``text``,
    ``data``).

    The new lines are inserted into the text, every other line kept as it was; only what
    cannot be added so (a flow-style ``steps: [...]``, say) has the whole file written anew.
    The result is checked as a workflow before it is written.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from .model import parse_workflow
    from .yamlfile import NotInPlace, TextAdditions, same_data

    specs = {name: _flow(spec) for name, spec in inputs.items()}
    listed = data.get("hosts")
    new_hosts = [h for h in hosts or () if h not in (listed or ())]
    edited: str | None = None
    if text is not None:
        try:
            additions = TextAdditions(text, data)
            if hosts is not None and (listed is None or (new_hosts and not listed)):
                raise NotInPlace("a new hosts: list")  # written with the whole document
            additions.append_items("hosts", new_hosts)
            additions.append_items("steps", steps)
            additions.add_entries("inputs", specs, before="steps")
            additions.add_entries("secrets", secrets, before="steps")
            edited = additions.text()
        except NotInPlace:
            edited = None
    for key, new in (("inputs", specs), ("secrets", secrets)):
        if new:
            if data.get(key) is None:
                data[key] = CommentedMap()
            data[key].update(new)
    if hosts is not None:
        if data.get("hosts") is None:
            data["hosts"] = CommentedSeq()
        data["hosts"].extend(new_hosts)
    if data.get("steps") is None:
        data["steps"] = CommentedSeq()
    data["steps"].extend(steps)
    if edited is None or not same_data(edited, data):
        edited = _dumped(data, "\r\n" if text and text.split("\n", 1)[0].endswith("\r") else "\n")
    parse_workflow(edited, str(workflow_file))  # never write a file that won't load
    write_atomic(workflow_file, edited)


def _flow(spec: dict[str, Any]) -> Any:
    """An input's spec, written on its line: ``{type: string}``."""
    from ruamel.yaml.comments import CommentedMap

    out = CommentedMap(spec)
    out.fa.set_flow_style()
    return out


def _dumped(data: Any, newline: str) -> str:
    """The whole document written anew (comments kept), with ``newline`` line ends."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue().replace("\n", newline)


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
    hosts: Sequence[str] | None = None,
) -> list[str]:
    """Append ready-made ``steps`` (an import's), declaring their ``inputs`` and ``secrets``,
    and the ``hosts`` their templated URLs may call (``hosts:`` made if missing, even empty:
    a step whose host is templated loads only with it).

    Like :func:`add_step`: comments and order kept, the file created if missing, checked as a
    workflow before it is written whole. A step id already in the file gets a ``_2`` suffix
    (references to it within ``steps`` follow); an input or secret already declared is kept
    as it is. Returns the ids of the steps added. Holds the workflow's lock, as ``add_step``.
    """
    with workflow_lock(workflow_file):
        return _add_steps(workflow_file, steps, inputs, secrets, hosts)


def _add_steps(
    workflow_file: Path,
    steps: list[dict[str, Any]],
    inputs: dict[str, dict[str, Any]],
    secrets: dict[str, str],
    hosts: Sequence[str] | None,
) -> list[str]:
    import json

    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    text, data = _load(workflow_file, {"name": workflow_file.stem, "steps": CommentedSeq()})
    taken = {str(s.get("id")) for s in data.get("steps") or []}
    renamed: dict[str, str] = {}
    for step in steps:
        sid = base = str(step["id"])
        n = 2
        while sid in taken:
            sid, n = f"{base}_{n}", n + 1
        taken.add(sid)
        renamed[base] = sid
    declared_inputs = data.get("inputs") or {}
    declared_secrets = data.get("secrets") or {}
    new_inputs = {k: v for k, v in inputs.items() if k not in declared_inputs}
    new_secrets = {k: v for k, v in secrets.items() if k not in declared_secrets}
    added = []
    new_steps = []
    for step in steps:
        dumped = json.dumps(step)
        for old, new in renamed.items():
            if old != new:
                dumped = dumped.replace(f"steps.{old}.", f"steps.{new}.")
        plain = json.loads(dumped)
        plain["id"] = renamed[str(step["id"])]
        new_steps.append(CommentedMap(plain))
        added.append(plain["id"])
    _save(workflow_file, text, data, new_steps, new_inputs, new_secrets, hosts)
    return added
