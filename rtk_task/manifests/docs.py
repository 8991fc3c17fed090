"""Docs page text -> :class:`DocsPage`, with line numbers.

The format (one endpoint per page)::

    POST /accounts/{account_id}/realtimekit/meetings
    Summary line(s).
    Servers
    - https://api.cloudflare.com/client/v4
    Path parameters | Query parameters | Request headers | Request body fields
    Name | Type | Required | Description |
    ---|---|---|---|
    name |
    Type | Yes/No | description that may run on
    over more lines and ends with |

Descriptions may be empty (``String | Yes |`` or ``Object | No | |``) and may carry
``Valid values: "a", "b"`` (possibly over several lines, or with no list at all) and
``Default value: <JSON literal>``; both are taken out of the text and stored as data. Dotted
names nest (``a.b.c``), ``x[]`` is an array; the valid values of an ``Array`` (or of ``x[]``)
are its items'. Sections the loader does not know, after the
tables, are kept as notes.

Every problem in the page is collected and reported at once as ``FILE:LINE: message`` with a
hint; the loader never stops at the first one. It runs in time linear in the page size.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from ..errors import DocsError, Problem, did_you_mean
from ..limits import is_finite, nesting_path
from .model import Location, Note, Param, Parameters, ParamType

__all__ = ["DocsPage", "load_docs", "parse_docs"]

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_SECTIONS = {
    "path parameters": Location.PATH,
    "query parameters": Location.QUERY,
    "request headers": Location.HEADER,
    "header parameters": Location.HEADER,
    "request body fields": Location.BODY,
    "request body": Location.BODY,
    "body parameters": Location.BODY,
}
_TYPES = {t.value: t for t in ParamType}
_TABLE_HEADER = re.compile(
    r"^\s*Name\s*\|\s*Type\s*\|\s*Required\s*\|\s*Description\s*\|?\s*$", re.I
)
_TABLE_RULE = re.compile(r"^\s*-{3,}\s*(\|\s*-{3,}\s*){3}\|?\s*$")
_ROW_START = re.compile(r"^([A-Za-z0-9_$@\-.\[\]]+) \|$")
_TYPE_LINE = re.compile(r"^([A-Za-z]+) \| ([A-Za-z]+) \|(.*)$")
_VALID = re.compile(r'Valid values:((?:\s*"(?:[^"\\]|\\.)*"\s*,?)*)')
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_DEFAULT = "Default value:"
_ROW_HINT = "a row is `name |` on one line, then `Type | Yes/No | description |`"
#: Deeper dotted names would overflow the recursion of later stages (as OpenAPI's limit).
_MAX_DEPTH = 32


@dataclass(frozen=True)
class DocsPage:
    """What one docs page says about one operation."""

    file: str
    sha256: str
    method: str
    path: str
    summary: str
    description: str
    servers: tuple[str, ...]
    parameters: Parameters
    notes: tuple[Note, ...]
    #: ``"location:dotted.path"`` -> line number, for reports that point back at the page.
    lines: dict[str, int] = field(default_factory=dict)


@dataclass
class _Node:
    name: str
    type: ParamType
    required: bool
    description: str
    default: JsonValue
    enum: tuple[JsonValue, ...] | None
    line: int
    items: _Node | None = None
    children: dict[str, _Node] = field(default_factory=dict)

    def freeze(self) -> Param:
        return Param(
            name=self.name,
            type=self.type,
            required=self.required,
            description=self.description,
            default=self.default,
            enum=self.enum,
            items=self.items.freeze() if self.items else None,
            children=tuple(c.freeze() for c in self.children.values()),
        )


class _Parser:
    def __init__(self, text: str, file: str) -> None:
        text = text.removeprefix("\ufeff")
        self.lines = [ln.strip() for ln in text.splitlines()]
        self.file = file
        self.problems: list[Problem] = []
        self.roots: dict[Location, dict[str, _Node]] = {loc: {} for loc in Location}
        self.line_of: dict[str, int] = {}
        self.seen_sections: dict[Location, int] = {}

    def problem(self, line: int, message: str, hint: str = "") -> None:
        self.problems.append(Problem(f"{self.file}:{line}", message, hint))

    # -- structure -----------------------------------------------------------------------

    def is_section_at(self, i: int) -> bool:
        return (
            self.lines[i].strip().lower() in _SECTIONS
            and i + 1 < len(self.lines)
            and bool(_TABLE_HEADER.match(self.lines[i + 1]))
        )

    def is_table_title_at(self, i: int) -> bool:
        """A title over a table, known or not (an unknown one is reported)."""
        return i + 1 < len(self.lines) and bool(_TABLE_HEADER.match(self.lines[i + 1]))

    def is_row_at(self, i: int) -> bool:
        return (
            i + 1 < len(self.lines)
            and bool(_ROW_START.match(self.lines[i]))
            and bool(_TYPE_LINE.match(self.lines[i + 1]))
        )

    def is_headless_section_at(self, i: int) -> bool:
        """A known section title followed by a row: a table that lost its header."""
        return (
            self.lines[i].lower() in _SECTIONS and i + 1 < len(self.lines) and self.is_row_at(i + 1)
        )

    def starts_block(self, i: int) -> bool:
        """Where summary or note text ends: a table, or rows that belong in one."""
        return self.is_table_title_at(i) or self.is_headless_section_at(i) or self.is_row_at(i)

    def parse(self) -> DocsPage:
        n = len(self.lines)
        i = self.skip_blank(0)
        if i >= n:
            self.problem(1, "the page is empty", "the first line is `METHOD /path`")
            raise DocsError(self.problems)
        method, path = self.parse_request_line(i)
        i += 1
        summary: list[str] = []
        while i < n and self.lines[i].lower() != "servers" and not self.starts_block(i):
            if self.lines[i].strip():
                summary.append(self.lines[i].strip())
            i += 1
        servers: list[str] = []
        if i < n and self.lines[i].strip().lower() == "servers":
            i += 1
            while i < n and self.lines[i].lstrip().startswith("- "):
                servers.append(self.lines[i].strip()[2:].strip())
                i += 1
        notes: list[Note] = []
        while i < n:
            if not self.lines[i].strip():
                i += 1
            elif self.is_table_title_at(i) or self.is_headless_section_at(i):
                i = self.parse_section(i)
            elif self.is_row_at(i):
                self.problem(
                    i + 1,
                    "a row outside any parameter table",
                    "put it under a section title (e.g. `Request body fields`) and the "
                    "`Name | Type | Required | Description |` header",
                )
                i = self.parse_row(i, None)
            else:
                i = self.parse_note(i, notes)
        if not summary:
            summary = [""]
        if self.problems:
            raise DocsError(self.problems)
        return DocsPage(
            file=self.file,
            sha256="",
            method=method,
            path=path,
            summary=summary[0],
            description="\n".join(summary[1:]),
            servers=tuple(servers),
            parameters=Parameters(
                **{
                    loc.value: tuple(node.freeze() for node in self.roots[loc].values())
                    for loc in Location
                }
            ),
            notes=tuple(notes),
            lines=self.line_of,
        )

    def skip_blank(self, i: int) -> int:
        while i < len(self.lines) and not self.lines[i].strip():
            i += 1
        return i

    def parse_request_line(self, i: int) -> tuple[str, str]:
        parts = self.lines[i].split()
        if len(parts) != 2 or parts[0] not in _METHODS or not parts[1].startswith("/"):
            self.problem(
                i + 1,
                f"the first line must be `METHOD /path`, not {self.lines[i].strip()!r}",
                f"METHOD is one of {', '.join(_METHODS)}",
            )
            return "GET", "/"
        return parts[0], parts[1]

    def parse_note(self, i: int, notes: list[Note]) -> int:
        title = self.lines[i].strip()
        body: list[str] = []
        i += 1
        while i < len(self.lines) and not self.starts_block(i):
            line = self.lines[i].strip()
            if line and not line.startswith("- ") and body:
                break
            if line:
                body.append(line)
            i += 1
        notes.append(Note(title=title, text="\n".join(body)))
        return i

    def parse_section(self, i: int) -> int:
        title = self.lines[i].strip()
        location = _SECTIONS.get(title.lower())
        if location is None:
            self.problem(
                i + 1,
                f"unknown parameter section {title!r}",
                did_you_mean(title.lower(), _SECTIONS)
                or f"sections are: {', '.join(s.capitalize() for s in _SECTIONS)}",
            )
        elif location in self.seen_sections:
            self.problem(
                i + 1,
                f"section {title!r} appears twice (first at line {self.seen_sections[location]})",
                "put all rows of one location in one table",
            )
        else:
            self.seen_sections[location] = i + 1
        i += 1
        if i < len(self.lines) and _TABLE_HEADER.match(self.lines[i]):
            i += 1
            if i < len(self.lines) and _TABLE_RULE.match(self.lines[i]):
                i += 1
            else:
                self.problem(i + 1, "the table header must be followed by `---|---|---|---|`")
        else:
            self.problem(
                i,
                f"section {title!r} has no table header",
                "the line after the title is `Name | Type | Required | Description |`, "
                "then `---|---|---|---|`",
            )
        while i < len(self.lines):
            if not self.lines[i].strip():
                i += 1
                continue
            if self.is_table_title_at(i) or self.is_headless_section_at(i):
                return i
            if _ROW_START.match(self.lines[i]) or _TYPE_LINE.match(self.lines[i]):
                i = self.parse_row(i, location)
            elif self.lines[i].endswith("|"):  # not `name |` (`my name |`); no regex: linear
                i = self.parse_bad_name(i, self.lines[i][:-1].rstrip())
            elif self.is_row_at(self.skip_blank(i + 1)):
                # a stray line with more rows after it: still the table, so say so
                self.problem(i + 1, f"not a table row: {self.lines[i][:60]!r}", _ROW_HINT)
                i += 1
            else:
                return i  # the table has ended; what follows is a trailing section
        return i

    def parse_bad_name(self, i: int, name: str) -> int:
        """A `something |` line whose something is not a name; skip its type line too."""
        self.problem(
            i + 1,
            f"{name!r} is not a parameter name",
            "a name is letters, digits and _ - $ @, dotted for nesting, `[]` for arrays, then ` |`",
        )
        i += 1
        typed = _TYPE_LINE.match(self.lines[i]) if i < len(self.lines) else None
        if typed is not None:
            _, i, _ = self.read_description(typed.group(3), i + 1)
        return i

    # -- rows ----------------------------------------------------------------------------

    def parse_row(self, i: int, location: Location | None) -> int:
        start = i + 1
        row = _ROW_START.match(self.lines[i])
        if row is None:  # a type line with no name line above it
            self.problem(start, "a type line without its `name |` line", _ROW_HINT)
            return i + 1
        name = row.group(1)
        i += 1
        typed = _TYPE_LINE.match(self.lines[i]) if i < len(self.lines) else None
        if typed is None:
            self.problem(start, f"row {name!r} has no type line", _ROW_HINT)
            if i < len(self.lines) and "|" in self.lines[i] and not _ROW_START.match(self.lines[i]):
                return i + 1  # a broken type line (e.g. `String|Yes|`): reported with its row
            return i
        type_word, required_word, rest = typed.groups()
        i += 1
        desc_lines, i, closed = self.read_description(rest, i)
        if not closed:
            self.problem(
                start,
                f"the description of {name!r} does not end with ` |`",
                "end the last line of a description with ` |`",
            )
        ptype = _TYPES.get(type_word.lower())
        if ptype is None:
            self.problem(
                start + 1,
                f"unknown type {type_word!r} for {name!r}",
                did_you_mean(type_word.capitalize(), [t.capitalize() for t in _TYPES])
                or f"types are: {', '.join(t.capitalize() for t in _TYPES)}",
            )
        if required_word.lower() not in ("yes", "no"):
            self.problem(start + 1, f"required must be Yes or No, not {required_word!r}")
        if ptype is None or location is None:
            return i
        # `x[]` of a scalar or Object type: valid values are the items', the default the array's
        as_list = name.endswith("[]") and ptype is not ParamType.ARRAY
        description, enum, default = self.clauses(
            " ".join(desc_lines), ptype, name, start, as_list=as_list
        )
        self.add(
            location,
            name,
            ptype,
            required_word.lower() == "yes",
            description,
            enum,
            default,
            start,
        )
        return i

    def read_description(self, rest: str, i: int) -> tuple[list[str], int, bool]:
        """The description's lines, the next line index, and whether it was closed."""
        rest = rest.strip()
        if rest == "|" or rest.endswith(" |"):
            return [rest[:-1].strip()], i, True
        lines = [rest] if rest else []
        if not rest:
            # `Type | Yes |` alone: the description follows, unless the row ends here.
            if i >= len(self.lines) or self.is_row_at(i) or self.is_table_title_at(i):
                return [], i, True
            if not self.has_closing_line(i):
                return [], i, True  # what follows is a trailing section, not a description
        while i < len(self.lines):
            line = self.lines[i].strip()
            if self.is_row_at(i) or self.is_table_title_at(i):
                return lines, i, False
            i += 1
            if line == "|" or line.endswith(" |"):
                lines.append(line[:-1].strip())
                return lines, i, True
            lines.append(line)
        return lines, i, False

    def has_closing_line(self, i: int) -> bool:
        while i < len(self.lines):
            line = self.lines[i].strip()
            if self.is_row_at(i) or self.is_table_title_at(i):
                return False
            if line == "|" or line.endswith(" |"):
                return True
            i += 1
        return False

    def clauses(
        self, text: str, ptype: ParamType, name: str, line: int, *, as_list: bool = False
    ) -> tuple[str, tuple[JsonValue, ...] | None, JsonValue]:
        """Take ``Valid values:`` and ``Default value:`` out of a description."""
        enum: tuple[JsonValue, ...] | None = None
        default: JsonValue = None
        valid = _VALID.search(text)
        if valid:
            literals = _QUOTED.findall(valid.group(1))
            if literals:
                values = [self.enum_value(lit, ptype, name, line) for lit in literals]
                enum = tuple(v for v in values if v is not None)
            text = text[: valid.start()] + " " + text[valid.end() :]
        at = text.find(_DEFAULT)
        if at >= 0:
            tail = text[at + len(_DEFAULT) :].lstrip()
            try:
                default, used = json.JSONDecoder(strict=False).raw_decode(tail)
            except (ValueError, RecursionError):  # RecursionError: nested past the stack
                msg = f"the default of {name!r} is not a JSON literal: {tail[:40]!r}"
                self.problem(line, msg, 'write it as JSON: Default value: "text", 5, true, null')
            else:
                # an Array with valid values: they are its items', the default a list of them
                listed = as_list or (ptype is ParamType.ARRAY and bool(enum))
                item_type = ParamType.STRING if listed and ptype is ParamType.ARRAY else ptype
                values = default if listed and isinstance(default, list) else [default]
                if isinstance(default, dict | list) and not (  # a bare NaN is not of the type
                    is_finite(default) and nesting_path(default) is None
                ):
                    msg = f"the default of {name!r} holds NaN or Infinity, or nests too deep"
                    self.problem(line, msg, "JSON has no NaN or Infinity; write a number or null")
                    default = None  # never written into a manifest
                elif (listed and not isinstance(default, list)) or not all(
                    _fits(v, item_type) for v in values
                ):
                    kind = f"an array of {item_type.value}" if listed else _a(ptype.value)
                    self.problem(
                        line,
                        f"the default of {name!r}, {json.dumps(default)}, is not {kind}",
                        "fix the default or the type",
                    )
                    default = None
                elif enum and not all(v in enum for v in values):
                    self.problem(
                        line,
                        f"the default of {name!r}, {json.dumps(default)}, is not a valid value",
                        f"valid values: {', '.join(json.dumps(v) for v in enum)}",
                    )
                text = text[:at] + " " + tail[used:]
        return " ".join(text.split()), enum, default

    def enum_value(self, literal: str, ptype: ParamType, name: str, line: int) -> JsonValue:
        try:
            value: Any = json.loads(literal, strict=False)  # a tab in the page is text
        except json.JSONDecodeError:
            self.problem(
                line,
                f"valid value {literal} of {name!r} is not a JSON string",
                'escape " and \\ inside it with a backslash',
            )
            return None
        if ptype in (ParamType.INTEGER, ParamType.NUMBER):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = None
            if not _fits(value, ptype):
                self.problem(line, f"valid value {literal} of {name!r} is not {_a(ptype.value)}")
                return None
        elif ptype is ParamType.BOOLEAN:
            if value not in ("true", "false"):
                self.problem(line, f"valid value {literal} of {name!r} is not a boolean")
                return None
            value = value == "true"
        return value  # type: ignore[no-any-return]

    def add(
        self,
        location: Location,
        name: str,
        ptype: ParamType,
        required: bool,
        description: str,
        enum: tuple[JsonValue, ...] | None,
        default: JsonValue,
        line: int,
    ) -> None:
        key = f"{location.value}:{name}"
        if key in self.line_of:
            self.problem(
                line,
                f"duplicate {location.value} parameter {name!r} "
                f"(first at line {self.line_of[key]})",
                "keep one row per name",
            )
            return
        parts = name.split(".")
        if len(parts) > _MAX_DEPTH:
            self.problem(
                line,
                f"{name[:40]!r}... nests {len(parts)} levels deep",
                f"at most {_MAX_DEPTH} levels are supported",
            )
            return
        self.line_of[key] = line
        siblings = self.roots[location]
        for depth, part in enumerate(parts[:-1]):
            parent = siblings.get(part.removesuffix("[]"))
            parent_name = ".".join(parts[: depth + 1])
            if parent is None:
                self.problem(
                    line,
                    f"{name!r} comes before its parent {parent_name!r}",
                    f"add a `{parent_name} |` row of type Object above it",
                )
                return
            if part.endswith("[]"):
                if parent.type is not ParamType.ARRAY:
                    self.problem(
                        line,
                        f"{name!r} is inside {parent_name!r}, but {part[:-2]!r} is "
                        f"{_a(parent.type.value)}, not an array",
                        f"make {part[:-2]!r} an Array (`{part} |`) or drop the `[]`",
                    )
                    return
                if parent.items is None:
                    parent.items = _Node("[]", ParamType.OBJECT, False, "", None, None, line)
                parent = parent.items
            if parent.type is not ParamType.OBJECT:
                self.problem(
                    line,
                    f"{name!r} is inside {parent_name!r}, which is a {parent.type.value}",
                    f"make {parent_name!r} an Object",
                )
                return
            siblings = parent.children
        leaf = parts[-1]
        node = _Node(leaf, ptype, required, description, default, enum, line)
        if leaf.endswith("[]"):
            # `x[]` is an array; a scalar or Object type there is the items' type.
            node.name = leaf[:-2]
            if ptype is not ParamType.ARRAY:
                node.items = _Node("[]", ptype, False, "", None, enum, line)
                node.type, node.enum = ParamType.ARRAY, None
        if node.type is ParamType.ARRAY and node.enum and node.items is None:
            # `Array` with valid values: each item is one of them (the values are strings)
            node.items = _Node("[]", ParamType.STRING, False, "", None, node.enum, line)
            node.enum = None
        if not _NAME.match(node.name):
            self.problem(line, f"{name!r} is not a parameter name", _ROW_HINT)
            return
        if node.name in siblings:  # `x` and `x[]` are one name
            self.problem(
                line,
                f"duplicate {location.value} parameter {name!r} "
                f"(first at line {siblings[node.name].line})",
                "keep one row per name",
            )
            return
        siblings[node.name] = node


_NAME = re.compile(r"^[A-Za-z0-9_$@\-]+$")


def _a(word: str) -> str:
    """``word`` with its indefinite article."""
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _fits(value: Any, ptype: ParamType) -> bool:
    """Whether a JSON value is of a parameter type."""
    if ptype is ParamType.STRING:
        return isinstance(value, str)
    if ptype is ParamType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if ptype is ParamType.NUMBER:  # NaN and infinities are not JSON numbers
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
    if ptype is ParamType.BOOLEAN:
        return isinstance(value, bool)
    if ptype is ParamType.OBJECT:
        return isinstance(value, dict)
    return isinstance(value, list)


def parse_docs(text: str, file: str = "<docs>") -> DocsPage:
    """Parse the text of a docs page; ``file`` names it in problems."""
    page = _Parser(text, file).parse()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return DocsPage(**{**page.__dict__, "sha256": digest})


def load_docs(path: str | Path) -> DocsPage:
    """Read and parse a docs page file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocsError(Problem(str(path), f"cannot read: {exc.strerror}")) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DocsError(Problem(f"{path}:{line}", "not UTF-8 text")) from None
    page = _Parser(text, str(path)).parse()
    return DocsPage(**{**page.__dict__, "sha256": hashlib.sha256(data).hexdigest()})
