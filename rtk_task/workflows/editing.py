"""Editing a workflow file's text, one change at a time, as a person would in an editor.

Each edit is a pure function from the file's text to the new text (:func:`update_step`,
:func:`rename_step`, :func:`duplicate_step`, :func:`delete_step`, :func:`move_steps`,
:func:`set_input`, :func:`delete_input`, :func:`set_secret`, :func:`delete_secret`). The text
is read as round-trip YAML (bounded first by :func:`~.yamlfile.check_yaml_bounds`) with the
file's own indentation, quotes and line width, and only the nodes that change are replaced: a
value equal to the old one keeps its node, so its comments, quotes and flow style stay and
every line the edit does not touch comes back as it was.

:func:`edit_file` applies one of them to a file: under the lock ``rtk-task add`` takes
(:func:`~.authoring.workflow_lock`, which leaves no file behind), it refuses with
:class:`EditConflict` when the file is not the one the caller last saw (its
:func:`text_hash`), parses and checks the new text (:func:`~.model.parse_workflow`,
:func:`~.check.check_workflow`) and refuses any problem the edit brings (naming the field;
problems the file had before are the user's to fix, and do not block other edits), then
writes it whole (:func:`rtk_task.files.write_atomic`). A refused edit writes nothing.
Secrets are names of environment variables; no edit takes a secret's value.
"""

from __future__ import annotations

import copy
import hashlib
import io
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import Problem, WorkflowError
from ..files import write_atomic
from .authoring import workflow_lock
from .model import Step
from .yamlfile import check_yaml_bounds

__all__ = [
    "EDITABLE",
    "INPUT_TYPES",
    "EditConflict",
    "delete_input",
    "delete_secret",
    "delete_step",
    "dependants",
    "duplicate_step",
    "edit_file",
    "move_steps",
    "read_text",
    "rename_step",
    "set_input",
    "set_secret",
    "text_hash",
    "update_step",
]

#: The step keys :func:`update_step` may set (``id`` and ``task`` have their own edits).
EDITABLE = frozenset(f.alias or n for n, f in Step.model_fields.items()) - {"id", "task"}
#: The types a workflow input may declare.
INPUT_TYPES = ("string", "integer", "number", "boolean", "object", "array")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MARKERS = ("{{", "{%")
T = TypeVar("T")


class EditConflict(WorkflowError):
    """The file changed on disk since the caller read it: nothing was written."""


def text_hash(text: str) -> str:
    """The content hash an edit must name: SHA-256 of the text, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_text(path: Path) -> str:
    """The file's text (``""`` when it does not exist)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(Problem(str(path), f"cannot read: {exc}")) from None


# -- the file ----------------------------------------------------------------------------------


def edit_file(path: Path, seen: str, edit: Callable[[str], tuple[str, T]]) -> T:
    """Apply ``edit`` (text -> (new text, result)) to the file at ``path``; return its result.

    ``seen`` is the :func:`text_hash` of the text the caller based the edit on: if the file
    holds anything else now, :class:`EditConflict` and nothing is written. The new text must
    load and pass the check with no problem the old text did not have.
    """
    file = str(path)
    with workflow_lock(Path(path)):
        if not Path(path).exists():
            raise WorkflowError(
                Problem(file, "the workflow file does not exist yet", "add a step first")
            )
        before = read_text(path)
        if text_hash(before) != seen:
            raise EditConflict(
                Problem(
                    file,
                    "changed on disk since the page read it: reload",
                    "reload the workflow, then make the change again",
                )
            )
        after, result = edit(before)
        if after != before:
            _refuse_new_problems(before, after, file)
            write_atomic(Path(path), after)
        return result


def _problems(text: str, file: str) -> list[Problem]:
    from .check import check_workflow
    from .model import parse_workflow

    try:
        workflow = parse_workflow(text, file, references=False)
    except WorkflowError as exc:
        return list(exc.problems)
    return list(check_workflow(workflow).problems)


def _refuse_new_problems(before: str, after: str, file: str) -> None:
    """Raise the problems ``after`` has that ``before`` had not (by field and message)."""
    old = {(p.message, p.hint) for p in _problems(before, file)}
    WorkflowError.collect(p for p in _problems(after, file) if (p.message, p.hint) not in old)


# -- YAML in and out -----------------------------------------------------------------------------


class _Doc:
    """The text as round-trip YAML, and the dumper that writes it back the way it was."""

    def __init__(self, text: str, file: str = "<workflow>") -> None:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        check_yaml_bounds(text, file)
        self.yaml = YAML(typ="rt", pure=True)
        self.yaml.preserve_quotes = True
        self.yaml.width = 4096  # never re-wrap a long line
        mapping, sequence, offset = _indents(text)
        self.yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        self.yaml.explicit_start = text.lstrip().startswith("---")
        try:
            self.data = self.yaml.load(text)
        except YAMLError as exc:
            raise WorkflowError(Problem(file, f"not valid YAML: {exc}")) from None
        if not isinstance(self.data, dict) or not isinstance(self.data.get("steps"), list):
            raise WorkflowError(Problem(file, "a workflow is a mapping with `steps:`"))
        self.steps: list[Any] = self.data["steps"]
        _keep_gaps(self.data, text.splitlines(), set())

    def text(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return out.getvalue()

    def ids(self) -> list[str]:
        return [str(s.get("id")) if isinstance(s, dict) else "" for s in self.steps]

    def index(self, step_id: str, where: str = "step_id") -> int:
        ids = self.ids()
        if step_id not in ids:
            raise WorkflowError(Problem(where, f"no step {step_id!r}", f"steps: {', '.join(ids)}"))
        return ids.index(step_id)

    def section(self, key: str) -> Any:
        """The top-level mapping ``key`` (``inputs``, ``secrets``), made before ``steps``."""
        from ruamel.yaml.comments import CommentedMap

        found = self.data.get(key)
        if isinstance(found, dict):
            return found
        made = CommentedMap()
        if key in self.data:
            self.data[key] = made
        else:
            self.data.insert(list(self.data).index("steps"), key, made)
        return made


def _keep_gaps(node: Any, lines: list[str], seen: set[int]) -> None:
    """Pin each end-of-line comment to the spaces before it, not to its column, so that a
    value that grows or shrinks keeps its comment as the user spaced it (an unchanged line
    comes out the same either way)."""
    from ruamel.yaml.tokens import CommentToken

    ca = getattr(node, "ca", None)
    if ca is not None:
        found = [*(ca.comment or []), *(t for item in ca.items.values() for t in item or [])]
        for token in found:
            if not isinstance(token, CommentToken) or id(token) in seen:
                continue
            seen.add(id(token))
            mark = token.start_mark
            line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
            before = line[: mark.column] if mark is not None else ""
            if not before.strip() or not token.value.startswith("#"):
                continue  # a comment on lines of its own
            gap = len(before) - len(before.rstrip())
            token.value = " " * (gap - 1) + token.value
            mark.column = 0  # the emitter then writes one space, and the gap's rest is ours
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        _keep_gaps(child, lines, seen)


def _indents(text: str) -> tuple[int, int, int]:
    """The file's mapping indent, and its block sequences' indent and dash offset."""
    mapping = 2
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for above, below in itertools.pairwise(lines):
        if re.match(r"^\s*[^\s#-][^:]*:\s*(#.*)?$", above) and not below.lstrip().startswith("-"):
            mapping = (len(below) - len(below.lstrip())) - (len(above) - len(above.lstrip()))
            mapping = mapping if mapping > 0 else 2
            break
    sequence, offset = mapping, 0
    for above, below in itertools.pairwise(lines):
        dash = re.match(r"^(\s*)-(\s+)\S", below)
        if dash and re.match(r"^\s*[^\s#-][^:]*:\s*(#.*)?$", above):
            offset = len(dash.group(1)) - (len(above) - len(above.lstrip()))
            sequence = offset + 1 + len(dash.group(2))
            break
    return mapping, max(sequence, offset + 2), max(offset, 0)


def _node(value: Any, *, flow: bool = False) -> Any:
    """Plain JSON data as round-trip nodes: templates double-quoted, as the README writes."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(value, Mapping):
        out = CommentedMap((str(k), _node(v)) for k, v in value.items())
        if flow:
            out.fa.set_flow_style()
        return out
    if isinstance(value, list | tuple):
        seq = CommentedSeq(_node(v) for v in value)
        if flow:
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and any(m in value for m in _MARKERS):
        return DoubleQuotedScalarString(value)
    return value


def _kind(value: Any) -> str:
    if isinstance(value, bool) or type(value).__name__ == "ScalarBoolean":
        return "bool"
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind.__name__
    return type(value).__name__


def _merge(old: Any, new: Any) -> Any:
    """``new``, reusing ``old``'s nodes (quotes, comments, flow style) wherever equal."""
    if isinstance(old, dict) and isinstance(new, Mapping):
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, value in new.items():
            if key in old:
                merged = _merge(old[key], value)
                if merged is not old[key]:
                    old[key] = merged
            else:
                old[key] = _node(value)
        return old
    if isinstance(old, list) and isinstance(new, list | tuple):
        if len(old) == len(new):
            for i, value in enumerate(new):
                merged = _merge(old[i], value)
                if merged is not old[i]:
                    old[i] = merged
            return old
        return _node(list(new), flow=_is_flow(old))
    if _kind(old) == _kind(new) and old == new:
        return old
    if isinstance(old, str) and isinstance(new, str) and type(old) is not str:
        return type(old)(new)  # the old quoting style
    return _node(new, flow=_is_flow(old))


def _is_flow(node: Any) -> bool:
    fa = getattr(node, "fa", None)
    return bool(fa is not None and fa.flow_style())


def _rewrite(node: Any, pattern: re.Pattern[str], repl: str, skip: tuple[str, ...] = ()) -> Any:
    """Every template string under ``node`` (but its keys ``skip``) with ``pattern``
    replaced, in place."""

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            if not any(m in value for m in _MARKERS):
                return value
            new = pattern.sub(repl, value)
            return value if new == value else (type(value)(new) if type(value) is not str else new)
        _rewrite(value, pattern, repl)
        return value

    if isinstance(node, dict):
        for key in [k for k in node if k not in skip]:
            fixed = fix(node[key])
            if fixed is not node[key]:
                node[key] = fixed
    elif isinstance(node, list):
        for i, value in enumerate(node):
            fixed = fix(value)
            if fixed is not value:
                node[i] = fixed
    return node


def _reference(head: str, name: str) -> re.Pattern[str]:
    """``head.NAME`` (and ``head['NAME']``) where a template reads it."""
    n = re.escape(name)
    return re.compile(rf"(?<![\w.]){head}(?:\.{n}(?!\w)|\[(['\"]){n}\1\])")


def _rename_references(doc: _Doc, head: str, old: str, new: str) -> None:
    pattern = _reference(head, old)
    repl = f"{head}.{new}"
    for step in doc.steps:
        if isinstance(step, dict):
            _rewrite(step, pattern, repl, skip=("id", "task"))
    _rewrite(doc.data, pattern, repl, skip=("name", "description", "inputs", "secrets", "steps"))


def _check_name(name: str, where: str, what: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise WorkflowError(
            Problem(where, f"{name!r} is not a valid {what}", "letters, digits and _")
        )


# -- steps -------------------------------------------------------------------------------------


def update_step(text: str, step_id: str, fields: Mapping[str, Any]) -> str:
    """Step ``step_id`` with each of ``fields`` set (``None``: removed): its ``with``,
    ``outputs`` and the keys of :data:`EDITABLE`, each replaced whole but written as a change
    of only the values that differ."""
    doc = _Doc(text)
    step = doc.steps[doc.index(step_id)]
    for key, value in fields.items():
        if key not in EDITABLE:
            raise WorkflowError(
                Problem(
                    f"steps.{step_id}.{key}",
                    "cannot be set here",
                    f"editable: {', '.join(sorted(EDITABLE))}",
                )
            )
        if value is None or (value == [] and key == "depends_on"):
            step.pop(key, None)
        elif key in step:
            merged = _merge(step[key], value)
            if merged is not step[key]:
                step[key] = merged
        else:
            step[key] = _node(value, flow=key in ("depends_on", "retry"))
    return doc.text()


def rename_step(text: str, old: str, new: str) -> str:
    """Step ``old`` as ``new``; every ``steps.old.`` a template reads and every
    ``depends_on`` naming it follow."""
    doc = _Doc(text)
    at = doc.index(old)
    _check_name(new, "new_id", "step id")
    if new != old and new in doc.ids():
        raise WorkflowError(Problem("new_id", f"a step {new!r} exists already", "pick another"))
    step = doc.steps[at]
    step["id"] = type(step["id"])(new) if type(step["id"]) is not str else new
    _rename_references(doc, "steps", old, new)
    for other in doc.steps:
        after = other.get("depends_on") if isinstance(other, dict) else None
        if isinstance(after, list):
            for i, name in enumerate(after):
                if name == old:
                    after[i] = new
        elif after == old:
            other["depends_on"] = new
    return doc.text()


def duplicate_step(text: str, step_id: str, new_id: str | None = None) -> tuple[str, str]:
    """A copy of step ``step_id`` right after it, as ``new_id`` (default ``ID_copy``,
    ``ID_copy_2``...); returns the text and the copy's id."""
    doc = _Doc(text)
    at = doc.index(step_id)
    taken = set(doc.ids())
    if new_id:
        _check_name(new_id, "new_id", "step id")
        if new_id in taken:
            raise WorkflowError(Problem("new_id", f"a step {new_id!r} exists already"))
    else:
        new_id = base = f"{step_id}_copy"
        n = 2
        while new_id in taken:
            new_id, n = f"{base}_{n}", n + 1
    copied = _bare(doc.steps[at])
    copied["id"] = new_id
    doc.steps.insert(at + 1, copied)
    return doc.text(), new_id


def _bare(node: Any) -> Any:
    """A deep copy of ``node`` with its flow styles and quotes but none of its comments."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, dict):
        out: Any = CommentedMap((k, _bare(v)) for k, v in node.items())
    elif isinstance(node, list):
        out = CommentedSeq(_bare(v) for v in node)
    else:
        return copy.copy(node)
    if _is_flow(node):
        out.fa.set_flow_style()
    return out


def dependants(text: str, step_id: str) -> list[str]:
    """The steps that read ``step_id``'s outputs or name it in ``depends_on``, in file order."""
    from .model import parse_workflow

    workflow = parse_workflow(text, references=False)
    return [s.id for s in workflow.steps if s.id != step_id and step_id in s.after]


def delete_step(text: str, step_id: str) -> tuple[str, list[str]]:
    """The text without step ``step_id`` (and without it in any ``depends_on``), and its
    :func:`dependants`. A step that still reads its outputs makes the check refuse it."""
    found = dependants(text, step_id)
    doc = _Doc(text)
    del doc.steps[doc.index(step_id)]
    for other in doc.steps:
        after = other.get("depends_on") if isinstance(other, dict) else None
        if isinstance(after, list) and step_id in after:
            after.remove(step_id)
            if not after:
                del other["depends_on"]
        elif after == step_id:
            del other["depends_on"]
    return doc.text(), found


def move_steps(text: str, order: Sequence[str]) -> str:
    """The steps in ``order`` (every id once); refused when a step would come before a step
    whose outputs it reads."""
    from .model import parse_workflow

    doc = _Doc(text)
    ids = doc.ids()
    if sorted(order) != sorted(ids):
        raise WorkflowError(
            Problem("order", "must name every step once", f"steps: {', '.join(ids)}")
        )
    position = {sid: i for i, sid in enumerate(order)}
    workflow = parse_workflow(text, references=False)
    problems = [
        Problem(
            f"steps.{s.id}",
            f"would come before {need}, whose outputs it reads",
            f"keep {s.id} after {need}",
        )
        for s in workflow.steps
        for need in sorted(s.needs)
        if need in position and position[need] > position[s.id]
    ]
    WorkflowError.collect(problems)
    if list(order) == ids:
        return text
    steps: Any = doc.steps
    items, comments = list(steps), dict(steps.ca.items)
    steps.ca.items.clear()
    for i, sid in enumerate(order):  # in place, so the sequence keeps its style
        steps[i] = items[ids.index(sid)]
        if ids.index(sid) in comments:  # the comment lines above a step move with it
            steps.ca.items[i] = comments[ids.index(sid)]
    return doc.text()


# -- inputs and secrets ------------------------------------------------------------------------


def _declared(doc: _Doc, section: str, name: str, rename_from: str | None) -> Any:
    """The ``inputs`` or ``secrets`` mapping, ready for ``name``: renamed from ``rename_from``
    in place (the templates reading it follow), else new (``None``: a new declaration)."""
    what = section.removesuffix("s")
    _check_name(name, "name", f"{what} name")
    found = doc.section(section)
    if rename_from is not None and rename_from not in found:
        raise WorkflowError(Problem(f"{section}.{rename_from}", f"no such {what}"))
    if name in found and rename_from != name:
        raise WorkflowError(Problem("name", f"an {what} {name!r} exists already", "edit it"))
    if rename_from is not None and rename_from != name:
        found.insert(list(found).index(rename_from), name, found.pop(rename_from))
        _rename_references(doc, section, rename_from, name)
    return found


def set_input(
    text: str,
    name: str,
    type_: str = "string",
    default: Any = None,
    *,
    rename_from: str | None = None,
) -> str:
    """Declare input ``name`` (or change it) with ``type_`` and ``default`` (``None``: none);
    ``rename_from`` renames an input, and every ``inputs.OLD`` a template reads follows."""
    if type_ not in INPUT_TYPES:
        hint = f"one of: {', '.join(INPUT_TYPES)}"
        raise WorkflowError(Problem(f"inputs.{name}.type", f"{type_!r} is not a type", hint))
    doc = _Doc(text)
    inputs = _declared(doc, "inputs", name, rename_from)
    spec = {"type": type_} if default is None else {"type": type_, "default": default}
    current = inputs.get(name)
    if isinstance(current, dict):
        kept = {k: v for k, v in current.items() if k not in ("type", "default")}
        merged = _merge(current, {**spec, **kept})
        if merged is not current:
            inputs[name] = merged
    else:
        inputs[name] = _node(spec, flow=True)
    return doc.text()


def set_secret(text: str, name: str, env: str, *, rename_from: str | None = None) -> str:
    """Declare secret ``name`` read from the environment variable ``env`` (its name, never a
    value); ``rename_from`` renames a secret, and the templates reading it follow."""
    if not isinstance(env, str) or not _NAME.match(env):
        raise WorkflowError(
            Problem(
                f"secrets.{name}",
                "is the name of an environment variable",
                "give the variable's NAME (like STATUS_TOKEN), never the secret itself",
            )
        )
    doc = _Doc(text)
    secrets = _declared(doc, "secrets", name, rename_from)
    if secrets.get(name) != env:
        secrets[name] = env
    return doc.text()


def delete_input(text: str, name: str) -> str:
    """The text without input ``name`` (refused by the check while a template reads it)."""
    return _undeclare(text, "inputs", name)


def delete_secret(text: str, name: str) -> str:
    """The text without secret ``name`` (refused by the check while a template reads it)."""
    return _undeclare(text, "secrets", name)


def _undeclare(text: str, section: str, name: str) -> str:
    doc = _Doc(text)
    found = doc.data.get(section)
    if not isinstance(found, dict) or name not in found:
        raise WorkflowError(Problem(f"{section}.{name}", f"no such {section.removesuffix('s')}"))
    del found[name]
    if not found:
        del doc.data[section]  # no `secrets: {}` left behind
    return doc.text()
