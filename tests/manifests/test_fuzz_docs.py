"""Property tests of the docs page loader.

* Generated well-formed pages (random names, types, defaults, valid values, line splits)
  parse into exactly the parameter trees they were generated from.
* Mutated pages (lines deleted, duplicated, swapped, random text) either parse or raise
  :class:`DocsError` with ``FILE:LINE`` problems; never another exception.
* The loader's work grows linearly with the page: counted (calls of the parser's line
  predicates), not timed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtk_task.errors import DocsError
from rtk_task.manifests.docs import _Parser, parse_docs
from rtk_task.manifests.model import Location, Note, Param, Parameters, ParamType

FILE = "fuzz.txt"
SECTION_TITLES = {
    Location.PATH: "Path parameters",
    Location.QUERY: "Query parameters",
    Location.HEADER: "Request headers",
    Location.BODY: "Request body fields",
}
HEADER = ["Name | Type | Required | Description |", "---|---|---|---|"]
SCALARS = (ParamType.STRING, ParamType.NUMBER, ParamType.INTEGER, ParamType.BOOLEAN)
NOTE = Note(
    title="How to start integrating",
    text="- Add HTTP Task to your workflow definition.\n- Click Test request.",
)
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,  # nothing written into the tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- generating pages ----------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
words = st.lists(st.from_regex(r"[A-Za-z][a-z0-9,.;()']{0,9}", fullmatch=True), max_size=12)
texts = st.text(alphabet='abcxyz XYZ019-_./"\\é', max_size=12)
integers = st.integers(min_value=-(10**12), max_value=10**12)
numbers = st.one_of(integers, st.floats(allow_nan=False, allow_infinity=False, width=64))


def scalar_values(ptype: ParamType) -> st.SearchStrategy[Any]:
    return {
        ParamType.STRING: texts,
        ParamType.INTEGER: integers,
        ParamType.NUMBER: numbers,
        ParamType.BOOLEAN: st.booleans(),
    }[ptype]


@dataclass
class Row:
    """One generated row: its page name, type word, flags, clauses and its children."""

    name: str
    ptype: ParamType
    required: bool
    words: list[str]
    enum: list[Any] | None = None
    enum_listed_empty: bool = False
    default: Any = None
    has_default: bool = False
    brackets: bool = False  # the name ends in `[]`
    children: list[Row] = field(default_factory=list)

    def expected(self) -> Param:
        """The :class:`Param` the loader must make of this row."""
        children = tuple(c.expected() for c in self.children)
        enum = tuple(self.enum) if self.enum else None
        default = self.default if self.has_default else None
        if not self.brackets:
            return Param(
                name=self.name,
                type=self.ptype,
                required=self.required,
                description=" ".join(self.words),
                default=default,
                enum=enum,
                children=children,
            )
        if self.ptype is ParamType.ARRAY:
            items = Param(name="[]", type=ParamType.OBJECT, children=children) if children else None
        else:
            items = Param(name="[]", type=self.ptype, enum=enum, children=children)
        return Param(
            name=self.name,
            type=ParamType.ARRAY,
            required=self.required,
            description=" ".join(self.words),
            default=default,
            items=items,
        )


@st.composite
def rows(draw: st.DrawFn, depth: int = 0) -> Row:
    kinds = ["scalar", "scalar", "object", "array", "list-of-scalars", "list-of-objects"]
    kind = draw(st.sampled_from(kinds if depth < 2 else [*kinds[:2], "array"]))
    row = Row(
        name=draw(names), ptype=ParamType.STRING, required=draw(st.booleans()), words=draw(words)
    )
    if kind in ("scalar", "list-of-scalars"):
        row.ptype = draw(st.sampled_from(SCALARS))
        row.brackets = kind == "list-of-scalars"
        values = scalar_values(row.ptype)
        if draw(st.integers(0, 2)) == 0:
            pool = [True, False] if row.ptype is ParamType.BOOLEAN else None
            enum = draw(
                st.lists(values, min_size=1, max_size=5, unique_by=json.dumps)
                if pool is None
                else st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True)
            )
            row.enum = enum
            values = st.sampled_from(enum)
        elif draw(st.integers(0, 4)) == 0:
            row.enum_listed_empty = True  # `Valid values:` with nothing after it
        if draw(st.booleans()):
            row.has_default = True
            row.default = draw(st.lists(values, max_size=3) if row.brackets else values)
    elif kind == "object":
        row.ptype = ParamType.OBJECT
        row.children = draw(sibling_rows(depth + 1, max_size=3))
        if draw(st.integers(0, 3)) == 0:
            row.has_default = True
            row.default = draw(st.dictionaries(names, integers, max_size=2))
    elif kind == "array":
        row.ptype = ParamType.ARRAY
        if draw(st.booleans()):
            row.has_default = True
            row.default = draw(st.lists(integers, max_size=3))
    else:  # list-of-objects: `x[]` of type Object or Array, with `x[].child` rows
        row.ptype = draw(st.sampled_from([ParamType.OBJECT, ParamType.ARRAY]))
        row.brackets = True
        row.children = draw(sibling_rows(depth + 1, max_size=3))
    return row


def sibling_rows(depth: int, max_size: int) -> st.SearchStrategy[list[Row]]:
    return st.lists(rows(depth), max_size=max_size, unique_by=lambda r: r.name)


@dataclass
class GeneratedPage:
    text: str
    method: str
    path: str
    summary: str
    description: str
    servers: tuple[str, ...]
    parameters: Parameters
    notes: tuple[Note, ...]


def literal(value: Any) -> str:
    return json.dumps(value)


def clause_tokens(row: Row) -> list[str]:
    """The description's words, then the Valid values and Default value clauses."""
    tokens = list(row.words)
    if row.enum is not None:
        if row.ptype is ParamType.STRING:
            quoted = [json.dumps(v) for v in row.enum]
        else:  # numbers and booleans are listed as quoted literals too
            quoted = [json.dumps(json.dumps(v)) for v in row.enum]
        tokens += ["Valid", "values:", *[q + "," for q in quoted[:-1]], quoted[-1]]
    elif row.enum_listed_empty:
        tokens += ["Valid", "values:"]
    if row.has_default:
        tokens += ["Default", "value:", literal(row.default)]
    return tokens


@st.composite
def render_row(draw: st.DrawFn, row: Row, prefix: str) -> list[str]:
    """A row's lines, split at random places, then its children's."""
    name = f"{prefix}{row.name}{'[]' if row.brackets else ''}"
    type_line = f"{row.ptype.value.capitalize()} | {'Yes' if row.required else 'No'} |"
    tokens = clause_tokens(row)
    if not tokens:
        lines = [type_line] if draw(st.booleans()) else [type_line + " |"]
    else:
        cuts = sorted(draw(st.sets(st.integers(1, len(tokens)), max_size=4)))
        pieces = [tokens[a:b] for a, b in zip([0, *cuts], [*cuts, len(tokens)], strict=True)]
        chunks = [" ".join(c) for c in pieces]
        chunks[-1] = f"{chunks[-1]} |".lstrip()
        if draw(st.booleans()):  # the description starts on the type line
            lines = [f"{type_line} {chunks[0]}", *chunks[1:]]
        else:
            lines = [type_line, *chunks]
    out = [f"{name} |", *lines]
    child_prefix = f"{name}."
    for child in row.children:
        out += draw(render_row(child, child_prefix))
    return out


@st.composite
def pages(draw: st.DrawFn) -> GeneratedPage:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]))
    path = "/" + "/".join(draw(st.lists(names, min_size=1, max_size=4)))
    summary_lines = draw(st.lists(words.map(lambda w: " ".join(["Summary", *w])), max_size=3))
    servers = tuple(draw(st.lists(names.map(lambda n: f"https://{n}.example.com/v1"), max_size=2)))
    order = draw(st.permutations(list(Location)))
    present = draw(st.lists(st.sampled_from(order), unique=True))
    params: dict[str, tuple[Param, ...]] = {}
    lines = [f"{method} {path}", *summary_lines]
    if bool(servers) or draw(st.booleans()):
        lines += ["Servers", *[f"- {s}" for s in servers]]
    for loc in order:
        if loc not in present:
            continue
        top = draw(sibling_rows(0, max_size=5))
        params[loc.value] = tuple(r.expected() for r in top)
        lines += [SECTION_TITLES[loc], *HEADER]
        for row in top:
            lines += draw(render_row(row, ""))
    notes: tuple[Note, ...] = ()
    # with neither servers nor a table, a trailing section would read as summary lines
    if (present or "Servers" in lines) and draw(st.booleans()):
        notes = (NOTE,)
        lines += [NOTE.title, *NOTE.text.splitlines()]
    return GeneratedPage(
        text="\n".join(lines) + "\n",
        method=method,
        path=path,
        summary=summary_lines[0] if summary_lines else "",
        description="\n".join(summary_lines[1:]),
        servers=servers,
        parameters=Parameters(**params),
        notes=notes,
    )


# -- well-formed pages round-trip -----------------------------------------------------------------


@FUZZ
@pytest.mark.slow
@given(pages())
def test_generated_pages_parse_into_the_trees_they_were_made_from(page: GeneratedPage) -> None:
    try:
        got = parse_docs(page.text, FILE)
    except DocsError as exc:  # pragma: no cover - only when the loader is wrong
        pytest.fail(f"a well-formed page was refused:\n{exc.render()}\n--- page ---\n{page.text}")
    assert (got.method, got.path) == (page.method, page.path)
    assert (got.summary, got.description) == (page.summary, page.description)
    assert got.servers == page.servers
    assert got.notes == page.notes
    for loc in Location:
        assert got.parameters.at(loc) == page.parameters.at(loc), (
            f"{loc.value} parameters differ for the page:\n{page.text}"
        )


# -- mutated pages fail cleanly --------------------------------------------------------------------

PROBLEM_WHERE = re.compile(rf"^{re.escape(FILE)}:(\d+)$")


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = draw(pages()).text.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "insert", "splice"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "replace":
            lines[i] = draw(st.text(max_size=30))
        elif op == "insert":
            lines.insert(i, draw(st.text(alphabet="|.[]- aZ\"':\\\t", max_size=20)))
        else:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.text(max_size=8)) + lines[i][at:]
    return "\n".join(lines)


@FUZZ
@pytest.mark.slow
@given(mutated())
def test_mutated_pages_parse_or_raise_docs_error_only(text: str) -> None:
    try:
        parse_docs(text, FILE)
    except DocsError as exc:
        line_count = max(1, len(text.splitlines()))
        for problem in exc.problems:
            where = PROBLEM_WHERE.match(problem.where)
            assert where is not None, f"problem without FILE:LINE: {problem}"
            assert 1 <= int(where.group(1)) <= line_count + 1, f"line out of range: {problem}"
            assert problem.message, "a problem without a message"


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_parse_or_raise_docs_error_only(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    problems: tuple[object, ...]
    try:
        parse_docs("POST /x\n" + text, FILE)
    except DocsError as exc:
        problems = exc.problems
    else:
        problems = ("parsed",)
    assert problems, "a DocsError without problems"


# -- linear work -----------------------------------------------------------------------------------


class CountingParser(_Parser):
    """The real parser, counting how often it looks at a line to decide what it is."""

    calls = 0

    def is_row_at(self, i: int) -> bool:
        CountingParser.calls += 1
        return super().is_row_at(i)

    def is_table_title_at(self, i: int) -> bool:
        CountingParser.calls += 1
        return super().is_table_title_at(i)

    def has_closing_line(self, i: int) -> bool:
        CountingParser.calls += 1
        return super().has_closing_line(i)


def big_page(fields: int) -> str:
    """A page of ``fields`` body fields in every row shape, nested and flat."""
    out = ["POST /things", "Create a thing.", "Servers", "- https://api.example.com"]
    out += ["Request body fields", *HEADER]
    for n in range(fields):
        shape = n % 5
        if shape == 0:
            out += [f"f{n} |", "Object | No |"]
        elif shape == 1:
            out += [
                f"f{n - 1}.s{n} |",
                "String | Yes |",
                "Some words.",
                'Valid values: "a",',
                '"b" |',
            ]
        elif shape == 2:
            out += [f"f{n} |", "Integer | No | A count. Default value: 5 |"]
        elif shape == 3:
            out += [f"f{n}[] |", "String | No |", "Tags,", "over", "lines. |"]
        else:
            out += [f"f{n} |", "Boolean | No | |"]
    out += ["How to start integrating", "- Add it."]
    return "\n".join(out) + "\n"


def work(fields: int) -> int:
    CountingParser.calls = 0
    page = CountingParser(big_page(fields), FILE).parse()
    top = len(page.parameters.body)
    nested = sum(len(p.children) for p in page.parameters.body)
    assert top + nested == fields, f"{top} + {nested} fields parsed of {fields}"
    return CountingParser.calls


@pytest.mark.parametrize("fields", [1_000, 10_000])
def test_large_pages_parse(fields: int) -> None:
    page = parse_docs(big_page(fields), FILE)
    assert len(page.parameters.body) == fields - fields // 5
    assert page.notes[0].title == "How to start integrating"


def test_the_work_grows_linearly_with_the_page() -> None:
    small, large = work(1_000), work(10_000)
    assert small > 1_000, f"only {small} line checks for 1,000 fields: the counter sees nothing"
    assert large <= 10.1 * small, f"{small} line checks for 1,000 fields but {large} for 10,000"


def test_a_long_description_is_read_in_linear_work() -> None:
    def one_row(lines: int) -> int:
        text = "POST /x\nS.\nRequest body fields\n" + "\n".join(HEADER) + "\na |\nString | No |\n"
        CountingParser.calls = 0
        CountingParser(text + "word\n" * lines + "end |\n", FILE).parse()
        return CountingParser.calls

    small, large = one_row(1_000), one_row(10_000)
    assert large <= 10.1 * small, f"{small} line checks for 1,000 lines but {large} for 10,000"
