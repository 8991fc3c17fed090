"""Reading a workflow's YAML within bounds, and adding to its text without touching the rest.

A few hundred bytes of nested aliases (the "billion laughs") expand to billions of nodes
once anything walks the loaded data; a few thousand ``[`` recurse past Python's stack. Before
ruamel.yaml composes anything, :func:`load_yaml` has :func:`rtk_task.limits.check_yaml` walk
the document's events and refuse, as a :class:`WorkflowError` with ``FILE:LINE`` and a hint,
text larger than :data:`~rtk_task.limits.MAX_TEXT_BYTES`, nesting deeper than
:data:`~rtk_task.limits.MAX_DEPTH`, and a document that expands to more than
:data:`~rtk_task.limits.MAX_NODES` nodes once its aliases are followed. YAML syntax errors are
left to the caller, which already maps them with their lines.

:class:`TextAdditions` adds items to a top-level block sequence and entries to a top-level
block mapping (creating the mapping if it is missing) by inserting lines into the text: only
the new nodes are rendered (by ruamel.yaml, at the file's own indentation and line ends), so
every line already in the file stays byte for byte as it was. What it cannot add that way (a
non-empty flow collection, say) raises :class:`NotInPlace`; :func:`same_data` lets the caller
check that the edited text loads as the data it meant.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import WorkflowError
from ..limits import check_yaml

__all__ = [
    "NotInPlace",
    "TextAdditions",
    "check_yaml_bounds",
    "load_data",
    "load_yaml",
    "same_data",
]

_DOC_MARKER = re.compile(r"(---|\.\.\.)(\s|$)")


def load_yaml(text: str, file: str, typ: str = "safe") -> Any:
    """``YAML(typ=typ, pure=True).load(text)``, after :func:`check_yaml_bounds`."""
    from ruamel.yaml import YAML

    check_yaml_bounds(text, file)
    # pure: ruamel's C loader (if installed) would resolve scalars the YAML 1.1 way
    return YAML(typ=typ, pure=True).load(text)


def load_data(text: str, file: str, typ: str = "safe") -> Any:
    """A workflow file's data: JSON text read by the JSON parser (bounded; many times faster
    than YAML's on a large ``for_each`` list), anything else (or JSON with a problem, which
    YAML then locates) by :func:`load_yaml`. ``typ="rt"`` (positions wanted) is always YAML."""
    if typ == "safe" and text.lstrip().startswith("{"):
        from ..limits import loads_json

        try:
            return loads_json(text, file, WorkflowError)
        except WorkflowError:
            pass  # YAML in flow style, or broken JSON: YAML says where
    return load_yaml(text, file, typ)


def check_yaml_bounds(text: str, file: str) -> None:
    """Raise :class:`WorkflowError` if ``text`` is too large, too deep or expands too far."""
    check_yaml(text, file, WorkflowError)


class NotInPlace(Exception):
    """The text cannot take the addition as inserted lines alone."""


def same_data(text: str, data: Any) -> bool:
    """Whether ``text`` loads (round-trip) as ``data``, comments and styles aside."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        loaded = YAML(typ="rt", pure=True).load(text)
    except YAMLError:
        return False
    return bool(_plain(loaded) == _plain(data))


def _plain(value: Any) -> Any:
    """Mappings and sequences as dicts and lists (ruamel's subclasses compare by content)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class TextAdditions:
    """Lines to insert into ``text``, whose round-trip load is ``data``; see :meth:`text`.

    Every position comes from ``data`` as loaded (ruamel's line and column marks), and
    insertions are applied together at the end, so the marks stay right however many are
    made. Raises :class:`NotInPlace` for a shape it does not edit.
    """

    def __init__(self, text: str, data: Any) -> None:
        self._lines = text.splitlines(keepends=True)
        first = self._lines[0] if self._lines else ""
        self._newline = "\r\n" if first.endswith("\r\n") else "\n"
        self._data = data
        #: line index -> (lines that extend a block there, lines of new keys there)
        self._inserts: dict[int, tuple[list[str], list[str]]] = {}
        self._replaced: dict[int, str] = {}
        if not self._is_block_mapping(data):
            raise NotInPlace("the document is not a block mapping")
        keys = list(data)
        self._top_col = data.lc.key(keys[0])[1] if keys else 0
        self._key_lines = sorted(data.lc.key(k)[0] for k in keys)
        self._indent = self._mapping_indent()

    # -- what can be added --------------------------------------------------------------------

    def append_items(self, key: str, items: Sequence[Any]) -> None:
        """Add ``items`` at the end of the sequence under the top-level ``key``."""
        seq = self._data.get(key)
        if not items:
            return
        if not isinstance(seq, list) or not hasattr(seq, "lc"):
            raise NotInPlace(f"{key!r} is not a sequence")
        if self._char_at(seq.lc.line, seq.lc.col) == "[":
            self._into_flow(seq.lc.line, seq.lc.col, self._render_flow(list(items)))
            return
        if not seq:
            raise NotInPlace(f"{key!r} is empty")
        dash = seq.lc.col
        last_line, last_col = seq.lc.item(len(seq) - 1)
        key_col = last_col if last_col > dash else dash + 2
        end = self._block_end(self._data.lc.key(key)[0], key_col, last_line)
        spaced = len(seq) > 1 and not self._lines[last_line - 1].strip()
        new: list[str] = []
        for item in items:
            rendered = self._render(item)
            if spaced:
                new.append("")
            new.append(" " * dash + "-" + " " * (key_col - dash - 1) + rendered[0])
            new += [" " * key_col + line if line else "" for line in rendered[1:]]
        self._insert(end, new)

    def add_entries(self, key: str, entries: Mapping[str, Any], before: str) -> None:
        """Add ``entries`` to the mapping under the top-level ``key``.

        A missing ``key`` is added, before the top-level key ``before`` (and the comment
        lines right above it), or at the end. A flow mapping (``{a: 1}``) gets them before
        its ``}``: the one line that changes.
        """
        if not entries:
            return
        if key not in self._data:
            self._add_key(key, entries, before)
            return
        mapping = self._data[key]
        if not isinstance(mapping, Mapping) or not hasattr(mapping, "lc"):
            raise NotInPlace(f"{key!r} is not a mapping")
        if self._char_at(mapping.lc.line, mapping.lc.col) == "{":
            self._into_flow(mapping.lc.line, mapping.lc.col, self._render_flow(dict(entries)))
            return
        if not mapping:
            raise NotInPlace(f"{key!r} is empty")
        names = list(mapping)
        key_col = mapping.lc.key(names[0])[1]
        last_line = mapping.lc.key(names[-1])[0]
        end = self._block_end(self._data.lc.key(key)[0], key_col, last_line)
        self._insert(end, self._entry_lines(entries, key_col))

    def text(self) -> str:
        """The text with every addition made."""
        lines = [self._replaced.get(i, line) for i, line in enumerate(self._lines)]
        if len(lines) in self._inserts and lines and not lines[-1].endswith("\n"):
            lines[-1] += self._newline  # the last line had no line end: it gets one
        out: list[str] = []
        for i in range(len(lines) + 1):
            extend, new_keys = self._inserts.get(i, ([], []))
            out += [line + self._newline for line in (*extend, *new_keys)]
            if i < len(lines):
                out.append(lines[i])
        return "".join(out)

    # -- where --------------------------------------------------------------------------------

    def _add_key(self, key: str, entries: Mapping[str, Any], before: str) -> None:
        if before in self._data:
            at = self._data.lc.key(before)[0]
            while at > 0 and self._lines[at - 1].lstrip().startswith("#"):
                at -= 1  # a comment right above a key is about that key
        else:
            at = self._doc_end(self._key_lines[-1])
        head = " " * self._top_col + self._render({key: None})[0].removesuffix(" null")
        lines = [head, *self._entry_lines(entries, self._top_col + self._indent)]
        self._insert(at, lines, new_key=True)

    def _block_end(self, key_line: int, content_col: int, last_line: int) -> int:
        """The line after a top-level key's block: before the next key and what leads to it.

        Blank lines and comments less indented than the block's content, at its end, are
        left after what is added (they lead to what follows, or end the file).
        """
        later = [line for line in self._key_lines if line > key_line]
        end = later[0] if later else self._doc_end(key_line)
        while end - 1 > last_line:
            line = self._lines[end - 1]
            stripped = line.strip()
            indent = len(line) - len(line.lstrip(" "))
            if stripped and not (stripped.startswith("#") and indent < content_col):
                break
            end -= 1
        return end

    def _doc_end(self, after: int) -> int:
        for i in range(after + 1, len(self._lines)):
            if _DOC_MARKER.match(self._lines[i]):
                return i
        return len(self._lines)

    def _into_flow(self, line: int, col: int, inner: str) -> None:
        """Put ``inner`` before the bracket that closes the one at ``line``, ``col``."""
        end_line, end_col = self._closing(line, col)
        if end_line in self._replaced:
            raise NotInPlace("two additions to one line")
        text = self._lines[end_line]
        at = end_col
        while at > 0 and text[at - 1] in " \t":
            at -= 1
        if not text[:at].strip():
            raise NotInPlace("a closing bracket on a line of its own")
        before = text[at - 1]
        joint = "" if before in "[{" else " " if before == "," else ", "
        self._replaced[end_line] = text[:at] + joint + inner + text[at:]

    def _closing(self, line: int, col: int) -> tuple[int, int]:
        """Where the bracket opened at ``line``, ``col`` closes (quotes and comments skipped)."""
        depth, quote, prev = 0, "", ""
        for i in range(line, len(self._lines)):
            text = self._lines[i]
            j = col if i == line else 0
            while j < len(text):
                c = text[j]
                if quote == "'":
                    if c == "'" and text[j + 1 : j + 2] == "'":
                        j += 1  # '' is a quote within single quotes
                    elif c == "'":
                        quote = ""
                elif quote == '"':
                    if c == "\\":
                        j += 1
                    elif c == '"':
                        quote = ""
                elif c in "'\"" and prev in "{[,:":  # a quote starts only a scalar
                    quote = c
                elif c == "#" and (j == 0 or text[j - 1] in " \t"):
                    break  # a comment, to the end of the line
                elif c in "[{":
                    depth += 1
                elif c in "]}":
                    depth -= 1
                    if depth == 0:
                        return i, j
                if not c.isspace():
                    prev = c
                j += 1
        raise NotInPlace("no closing bracket")

    def _insert(self, at: int, lines: list[str], *, new_key: bool = False) -> None:
        """Insert ``lines`` before line ``at``; a new key's after what extends a block there."""
        self._inserts.setdefault(at, ([], []))[new_key].extend(lines)

    # -- how ----------------------------------------------------------------------------------

    def _entry_lines(self, entries: Mapping[str, Any], col: int) -> list[str]:
        from ruamel.yaml.comments import CommentedMap

        rendered = self._render(CommentedMap(entries))
        return [" " * col + line if line else "" for line in rendered]

    def _render(self, value: Any) -> list[str]:
        """``value`` as block YAML at column 0, nested mappings at the file's indentation."""
        from ruamel.yaml import YAML

        yaml = YAML(typ="rt", pure=True)
        yaml.indent(mapping=self._indent, sequence=self._indent + 2, offset=self._indent)
        yaml.width = 1 << 30  # a long value stays on its line
        out = io.StringIO()
        yaml.dump(value, out)
        return out.getvalue().splitlines()

    def _render_flow(self, value: Any) -> str:
        """``value`` (a list or a mapping) in flow style on one line, its brackets left out."""
        from ruamel.yaml import YAML

        yaml = YAML(typ="rt", pure=True)
        yaml.default_flow_style = True
        yaml.width = 1 << 30
        out = io.StringIO()
        yaml.dump(value, out)
        text = out.getvalue().strip()
        if "\n" in text:
            raise NotInPlace("the addition does not fit on one line")
        return text[1:-1]

    def _mapping_indent(self) -> int:
        """How far the file indents a block mapping under its key (2 if nothing says)."""
        parents: list[Any] = [self._data]
        steps = self._data.get("steps")
        if isinstance(steps, list):
            parents += [s for s in steps if self._is_block_mapping(s)]
        for parent in parents:
            for name, value in parent.items():
                if self._is_block_mapping(value) and value:
                    key_line, key_col = parent.lc.key(name)
                    if value.lc.line > key_line and value.lc.col > key_col:
                        return int(value.lc.col - key_col)
        return 2

    def _is_block_mapping(self, value: Any) -> bool:
        if not isinstance(value, Mapping) or not hasattr(value, "lc"):
            return False
        if not value:
            return True
        return self._char_at(value.lc.line, value.lc.col) not in ("{", None)

    def _char_at(self, line: int | None, col: int | None) -> str | None:
        if line is None or col is None or line >= len(self._lines):
            return None
        text = self._lines[line]
        return text[col] if col < len(text) else None
