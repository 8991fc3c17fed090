"""The docs page loader: every part of the page format, and every way a page can be wrong."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest

from rtk_task.errors import DocsError
from rtk_task.manifests.docs import DocsPage, load_docs, parse_docs
from rtk_task.manifests.model import Location, Param, ParamType

FILE = "page.txt"
HEADER = "Name | Type | Required | Description |\n---|---|---|---|\n"


def table(title: str, rows: str) -> str:
    """A section: its title, the table header and rule, then ``rows``."""
    return f"{title}\n{HEADER}{rows}"


def page(*sections: str, request: str = "POST /things", summary: str = "Create a thing.") -> str:
    return f"{request}\n{summary}\n" + "".join(sections)


def body_page(rows: str) -> str:
    return page(table("Request body fields", rows))


def parse(text: str) -> DocsPage:
    return parse_docs(text, FILE)


def node(params: tuple[Param, ...], dotted: str) -> Param:
    """The parameter at ``a.b[].c`` in a tree (``[]`` steps into an array's items)."""
    found: Param | None = None
    nodes = params
    for part in dotted.split("."):
        name, is_items = part.removesuffix("[]"), part.endswith("[]")
        found = next((p for p in nodes if p.name == name), None)
        assert found is not None, f"no {name!r} on the way to {dotted!r}; have {nodes!r}"
        if is_items:
            assert found.items is not None, f"{name!r} has no items on the way to {dotted!r}"
            found = found.items
        nodes = found.children
    assert found is not None
    return found


def problems(text: str) -> list[str]:
    """Every problem of a page that must not load, as ``where: message`` strings."""
    with pytest.raises(DocsError) as info:
        parse(text)
    assert info.value.problems, "a DocsError without problems"
    return [f"{p.where}: {p.message}" for p in info.value.problems]


# -- the request line, summary, servers, notes --------------------------------------------------


def test_request_line_summary_description_and_servers() -> None:
    text = (
        "GET /accounts/{account_id}/things\n"
        "List things.\n"
        "Every thing in the account,\n"
        "page by page.\n"
        "Servers\n"
        "- https://api.example.com/v1\n"
        "- https://eu.api.example.com/v1\n"
    )
    got = parse(text)
    assert (got.method, got.path) == ("GET", "/accounts/{account_id}/things")
    assert got.summary == "List things."
    assert got.description == "Every thing in the account,\npage by page.", got.description
    assert got.servers == ("https://api.example.com/v1", "https://eu.api.example.com/v1")
    assert got.parameters.body == ()
    assert got.notes == ()


def test_a_page_may_have_no_summary_and_no_servers() -> None:
    got = parse("DELETE /things/{id}\n" + table("Path parameters", "id |\nString | Yes |\n"))
    assert (got.summary, got.description, got.servers) == ("", "", ())
    assert [p.name for p in got.parameters.path] == ["id"]


def test_unknown_trailing_sections_are_kept_as_notes() -> None:
    text = body_page("a |\nString | No | A. |\n") + (
        "How to start integrating\n"
        "- Add HTTP Task to your workflow definition.\n"
        "- Click Test request.\n"
        "Limits\n"
        "- 250 requests per 10 seconds.\n"
    )
    got = parse(text)
    assert [(n.title, n.text) for n in got.notes] == [
        (
            "How to start integrating",
            "- Add HTTP Task to your workflow definition.\n- Click Test request.",
        ),
        ("Limits", "- 250 requests per 10 seconds."),
    ]
    assert node(got.parameters.body, "a").description == "A.", "the note leaked into the row"


def test_windows_line_endings_a_bom_and_indentation_read_the_same() -> None:
    plain = body_page("a |\nInteger | Yes |\nCount. Default value: 2 |\n")
    crlf = "\ufeff" + plain.replace("\n", "\r\n")
    indented = "\n".join("  " + line for line in plain.splitlines())
    expected = parse(plain).parameters
    assert parse(crlf).parameters == expected, "CRLF or a BOM changed the parameters"
    assert parse(indented).parameters == expected, "indentation changed the parameters"


def test_load_docs_hashes_the_file_bytes(tmp_path: Path) -> None:
    file = tmp_path / "p.txt"
    data = body_page("a |\nString | No | é |\n").encode("utf-8")
    file.write_bytes(data)
    got = load_docs(file)
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert got.file == str(file)


# -- sections ---------------------------------------------------------------------------------

SECTIONS = {
    Location.PATH: table("Path parameters", "id |\nString | Yes |\n"),
    Location.QUERY: table("Query parameters", "limit |\nInteger | No | At most. |\n"),
    Location.HEADER: table("Request headers", "X-Trace |\nString | No | |\n"),
    Location.BODY: table("Request body fields", "title |\nString | Yes |\nThe title. |\n"),
}


@pytest.mark.parametrize(
    "order",
    [
        order
        for size in range(1, 5)
        for order in itertools.permutations(SECTIONS, size)
        if size in (1, 4) or order[0] is Location.BODY
    ],
    ids=lambda order: "+".join(loc.value for loc in order),
)
def test_sections_in_any_subset_and_any_order(order: tuple[Location, ...]) -> None:
    got = parse(page(*(SECTIONS[loc] for loc in order)))
    for loc in Location:
        names = [p.name for p in got.parameters.at(loc)]
        expected = {
            Location.PATH: ["id"],
            Location.QUERY: ["limit"],
            Location.HEADER: ["X-Trace"],
            Location.BODY: ["title"],
        }[loc]
        assert names == (expected if loc in order else []), f"{loc.value} in {order}: {names}"


# -- rows -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "description"),
    [
        ("a |\nString | No | On the type line. |\n", "On the type line."),
        ("a |\nString | No |\nOn the next line. |\n", "On the next line."),
        (
            "a |\nString | No | Starts here,\nruns on,\nand ends. |\n",
            "Starts here, runs on, and ends.",
        ),
        ("a |\nString | No |\nFirst line,\nsecond line,\n|\n", "First line, second line,"),
        ("a |\nString | No | a | b in the middle |\n", "a | b in the middle"),
        ("a |\nString | No |\n", ""),
        ("a |\nObject | No | |\n", ""),
    ],
    ids=["same-line", "next-line", "many-lines", "bare-closer", "inner-pipe", "empty", "empty-bar"],
)
def test_a_row_split_over_lines(rows: str, description: str) -> None:
    got = node(parse(body_page(rows)).parameters.body, "a")
    assert got.description == description


def test_empty_descriptions_before_another_row_a_section_and_notes() -> None:
    text = page(
        table("Path parameters", "account_id |\nString | Yes |\nid |\nString | Yes |\n"),
        table("Request body fields", "a |\nObject | No | |\nb |\nString | Yes |\n"),
        "How to start integrating\n- Add it.\n",
    )
    got = parse(text)
    assert [(p.name, p.required, p.description) for p in got.parameters.path] == [
        ("account_id", True, ""),
        ("id", True, ""),
    ]
    assert [(p.name, p.type, p.description) for p in got.parameters.body] == [
        ("a", ParamType.OBJECT, ""),
        ("b", ParamType.STRING, ""),
    ]
    assert [n.title for n in got.notes] == ["How to start integrating"]


@pytest.mark.parametrize(
    ("word", "ptype"),
    [
        ("String", ParamType.STRING),
        ("Number", ParamType.NUMBER),
        ("Integer", ParamType.INTEGER),
        ("Boolean", ParamType.BOOLEAN),
        ("Object", ParamType.OBJECT),
        ("Array", ParamType.ARRAY),
    ],
)
def test_every_type_word(word: str, ptype: ParamType) -> None:
    got = node(parse(body_page(f"a |\n{word} | No | |\n")).parameters.body, "a")
    assert got.type is ptype


@pytest.mark.parametrize(("word", "required"), [("Yes", True), ("No", False)])
def test_required_flag(word: str, required: bool) -> None:
    assert node(parse(body_page(f"a |\nString | {word} | |\n")).parameters.body, "a").required is (
        required
    )


def test_dotted_names_nest_and_keep_their_own_required_flags() -> None:
    rows = (
        "a |\nObject | No | Outer. |\n"
        "a.b |\nObject | No | Middle. |\n"
        "a.b.c |\nInteger | Yes | Inner. Default value: 3 |\n"
        "a.d |\nString | No | |\n"
    )
    got = parse(body_page(rows)).parameters.body
    assert [p.name for p in got] == ["a"], "a nested row leaked to the top level"
    assert [c.name for c in node(got, "a").children] == ["b", "d"]
    inner = node(got, "a.b.c")
    assert (inner.type, inner.required, inner.default, inner.description) == (
        ParamType.INTEGER,
        True,
        3,
        "Inner.",
    )
    assert node(got, "a").required is False


def test_name_with_brackets_is_an_array_of_the_row_type() -> None:
    rows = (
        'tags[] |\nString | Yes | Labels. Valid values: "x", "y" Default value: ["x"] |\n'
        "any[] |\nArray | No | |\n"
    )
    got = parse(body_page(rows)).parameters.body
    tags = node(got, "tags")
    assert (tags.type, tags.required, tags.default, tags.enum) == (
        ParamType.ARRAY,
        True,
        ["x"],
        None,
    ), "the array itself should hold the default, its items the valid values"
    assert tags.items is not None
    assert (tags.items.type, tags.items.enum) == (ParamType.STRING, ("x", "y"))
    assert node(got, "any").type is ParamType.ARRAY
    assert node(got, "any").items is None


def test_children_of_array_items() -> None:
    rows = (
        "items[] |\nObject | Yes | Work items. |\n"
        "items[].name |\nString | Yes | |\n"
        "items[].labels[] |\nString | No | |\n"
        "pairs[] |\nArray | No | |\n"
        "pairs[].key |\nString | No | |\n"
    )
    got = parse(body_page(rows)).parameters.body
    items = node(got, "items")
    assert items.type is ParamType.ARRAY
    assert items.required
    assert node(got, "items[]").type is ParamType.OBJECT
    assert node(got, "items[].name").required is True
    labels = node(got, "items[].labels")
    assert labels.type is ParamType.ARRAY
    assert labels.items is not None
    assert labels.items.type is ParamType.STRING
    assert node(got, "pairs[]").type is ParamType.OBJECT, "items of an Array row with children"
    assert [c.name for c in node(got, "pairs[]").children] == ["key"]


# -- Valid values and Default value ----------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "description", "enum", "default"),
    [
        (
            "a |\nString | No | Pick one. Valid values:\n|\n",
            "Pick one.",
            None,
            None,
        ),
        (
            'a |\nString | No | Pick one. Valid values:\nDefault value: "en-US" |\n',
            "Pick one.",
            None,
            "en-US",
        ),
        (
            'a |\nString | No | Pick. Valid values: "x", "y" |\n',
            "Pick.",
            ("x", "y"),
            None,
        ),
        (
            'a |\nString | No |\nPick. Valid values: "one",\n"two", "three",\n"four"\n'
            'Default value: "two" |\n',
            "Pick.",
            ("one", "two", "three", "four"),
            "two",
        ),
        (
            'a |\nString | No | Valid values: "left top", "say \\"hi\\"" Then more. |\n',
            "Then more.",
            ("left top", 'say "hi"'),
            None,
        ),
        (
            'a |\nString | No | Valid values: "a\tb" Default value: "a\tb" |\n',
            "",
            ("a\tb",),
            "a\tb",
        ),
        ('a |\nInteger | No | Valid values: "1", "2" Default value: 2 |\n', "", (1, 2), 2),
        ('a |\nNumber | No | Valid values: "0.5", "1" |\n', "", (0.5, 1), None),
        ('a |\nBoolean | No | Valid values: "true", "false" |\n', "", (True, False), None),
        ("a |\nNumber | No | Rate. Default value: 0.25 of it. |\n", "Rate. of it.", None, 0.25),
        ("a |\nBoolean | No | On. Default value: true |\n", "On.", None, True),
        ("a |\nObject | No | Map. Default value: {} |\n", "Map.", None, {}),
        ('a |\nObject | No | Default value: {"k": [1]} |\n', "", None, {"k": [1]}),
        ("a |\nArray | No | Default value: [1, 2] |\n", "", None, [1, 2]),
    ],
    ids=[
        "valid-missing",
        "valid-missing-then-default",
        "valid-one-line",
        "valid-multi-line",
        "valid-escaped",
        "valid-with-a-tab",
        "valid-integers",
        "valid-numbers",
        "valid-booleans",
        "default-number",
        "default-boolean",
        "default-empty-object",
        "default-object",
        "default-array",
    ],
)
def test_valid_values_and_default_are_data_not_text(
    rows: str, description: str, enum: tuple[object, ...] | None, default: object
) -> None:
    got = node(parse(body_page(rows)).parameters.body, "a")
    assert got.description == description, "a clause stayed in the description"
    assert got.enum == enum
    assert got.default == default
    assert type(got.default) is type(default), f"default {got.default!r} has the wrong type"


def test_line_numbers_of_rows_are_kept() -> None:
    text = page(
        table("Path parameters", "id |\nString | Yes |\n"),
        table(
            "Request body fields", "a |\nObject | No |\nMany\nlines. |\na.b |\nString | No | |\n"
        ),
    )
    assert parse(text).lines == {"path:id": 6, "body:a": 11, "body:a.b": 15}


# -- malformed pages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (body_page("a |\nb |\nString | No | |\n"), f"{FILE}:6: row 'a' has no type line"),
        (body_page("a |\nStrng | No | |\n"), f"{FILE}:7: unknown type 'Strng' for 'a'"),
        (body_page("a |\nInt | No | |\n"), f"{FILE}:7: unknown type 'Int' for 'a'"),
        (body_page("a.b |\nString | No | |\n"), f"{FILE}:6: 'a.b' comes before its parent 'a'"),
        (
            body_page('a |\nInteger | No | Default value: "5" |\n'),
            f"{FILE}:6: the default of 'a', \"5\", is not an integer",
        ),
        (
            body_page("a |\nBoolean | No | Default value: 1 |\n"),
            f"{FILE}:6: the default of 'a', 1, is not a boolean",
        ),
        (
            body_page("a |\nString | No | Default value: en-US |\n"),
            f"{FILE}:6: the default of 'a' is not a JSON literal",
        ),
        (
            body_page('tags[] |\nString | No | Default value: "x" |\n'),
            f"{FILE}:6: the default of 'tags[]', \"x\", is not an array of string",
        ),
        (
            body_page('a |\nString | No | Valid values: "x", "y" Default value: "z" |\n'),
            f"{FILE}:6: the default of 'a', \"z\", is not a valid value",
        ),
        (
            body_page('a |\nInteger | No | Valid values: "1", "one" |\n'),
            f"{FILE}:6: valid value \"one\" of 'a' is not an integer",
        ),
        (
            body_page('a |\nBoolean | No | Valid values: "true", "maybe" |\n'),
            f"{FILE}:6: valid value \"maybe\" of 'a' is not a boolean",
        ),
        (
            body_page('a |\nString | No | Valid values: "ok", "\\q" |\n'),
            f"{FILE}:6: valid value \"\\q\" of 'a' is not a JSON string",
        ),
        (
            body_page('a |\nNumber | No | Valid values: "1", "NaN" |\n'),
            f"{FILE}:6: valid value \"NaN\" of 'a' is not a number",
        ),
        (
            body_page("a |\nNumber | No | Default value: Infinity |\n"),
            f"{FILE}:6: the default of 'a', Infinity, is not a number",
        ),
        (
            body_page("a |\nString | No | |\na |\nNumber | No | |\n"),
            f"{FILE}:8: duplicate body parameter 'a' (first at line 6)",
        ),
        (
            body_page("a[] |\nString | No | |\na |\nString | No | |\n"),
            f"{FILE}:8: duplicate body parameter 'a' (first at line 6)",
        ),
        (
            body_page("a |\nString | No | never closed\nb |\nString | No | |\n"),
            f"{FILE}:6: the description of 'a' does not end with ` |`",
        ),
        (body_page("a |\nString | Maybe | |\n"), f"{FILE}:7: required must be Yes or No"),
        (
            body_page("String | No | orphan |\n"),
            f"{FILE}:6: a type line without its `name |` line",
        ),
        (body_page("my name |\nString | No | |\n"), f"{FILE}:6: 'my name' is not a parameter name"),
        (
            body_page("a |\nObject | No | |\na[].b |\nString | No | |\n"),
            f"{FILE}:8: 'a[].b' is inside 'a[]', but 'a' is an object, not an array",
        ),
        (
            body_page("a |\nString | No | |\na.b |\nString | No | |\n"),
            f"{FILE}:8: 'a.b' is inside 'a', which is a string",
        ),
        (
            page("Query parameters\nlimit |\nInteger | No | |\n"),
            f"{FILE}:3: section 'Query parameters' has no table header",
        ),
        (
            page("Query parameters\nName | Type | Required | Description |\nlimit |\n"),
            f"{FILE}:5: the table header must be followed by `---|---|---|---|`",
        ),
        (
            page(table("Cookie parameters", "a |\nString | No | |\n")),
            f"{FILE}:3: unknown parameter section 'Cookie parameters'",
        ),
        (
            page(
                table("Query parameters", "a |\nString | No | |\n"),
                table("Query parameters", "b |\nString | No | |\n"),
            ),
            f"{FILE}:8: section 'Query parameters' appears twice (first at line 3)",
        ),
        (page(request="FETCH things"), f"{FILE}:1: the first line must be `METHOD /path`"),
        (page(request="POST things"), f"{FILE}:1: the first line must be `METHOD /path`"),
        ("\n  \n", f"{FILE}:1: the page is empty"),
        (
            page("Notes\n- first\na |\nString | No | |\n"),
            f"{FILE}:5: a row outside any parameter table",
        ),
        (
            body_page("".join(f"{'.'.join(['a'] * n)} |\nObject | No | |\n" for n in range(1, 34))),
            f"{FILE}:70: 'a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.'... nests 33 levels deep",
        ),
    ],
    ids=[
        "no-type-line",
        "unknown-type",
        "unknown-type-abbreviated",
        "child-without-parent",
        "default-string-for-integer",
        "default-number-for-boolean",
        "default-not-json",
        "default-scalar-for-array",
        "default-not-a-valid-value",
        "valid-value-not-integer",
        "valid-value-not-boolean",
        "valid-value-bad-escape",
        "valid-value-nan",
        "default-infinity",
        "duplicate-name",
        "duplicate-array-and-scalar",
        "description-not-closed",
        "required-not-yes-no",
        "type-line-without-name",
        "name-with-space",
        "items-of-an-object",
        "child-of-a-scalar",
        "section-without-header",
        "header-without-rule",
        "unknown-section",
        "section-twice",
        "unknown-method",
        "path-without-slash",
        "empty-page",
        "row-outside-a-table",
        "nested-too-deep",
    ],
)
def test_malformed_page_is_reported_at_its_line(text: str, expected: str) -> None:
    found = problems(text)
    assert any(p.startswith(expected) for p in found), f"expected {expected!r} in {found}"


def test_problems_carry_a_hint() -> None:
    with pytest.raises(DocsError) as info:
        parse(body_page("a |\nStrng | No | |\nb.c |\nString | No | |\n"))
    hints = [p.hint for p in info.value.problems]
    assert hints == [
        "did you mean 'String'?",
        "add a `b |` row of type Object above it",
    ], hints
    assert "  hint: did you mean 'String'?" in info.value.render()


def test_every_problem_of_a_page_is_reported_at_once() -> None:
    rows = (
        "a |\nStrng | No | |\n"  # 6-7: unknown type
        "b.c |\nString | No | |\n"  # 8-9: no parent
        'd |\nInteger | No | Default value: "x" |\n'  # 10-11: default of the wrong type
        "e |\nString | No | |\n"  # 12-13: fine
        "e |\nString | No | |\n"  # 14-15: duplicate
        "f |\nString Yes\n"  # 16-17: no type line, then a stray line
        "g |\nString | Perhaps | |\n"  # 18-19: required word
        "my field |\nString | No | |\n"  # 20-21: not a name
    )
    found = problems(body_page(rows))
    lines = [p.split(":")[1] for p in found]
    assert lines == ["7", "8", "10", "14", "16", "17", "19", "20"], found


def test_a_broken_row_does_not_hide_the_rows_after_it() -> None:
    found = problems(body_page("a |\nString|No|\nb |\nStrng | No | |\n"))
    assert [p.split(":")[1] for p in found] == ["6", "9"], found


def test_load_docs_reports_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(DocsError, match="cannot read"):
        load_docs(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"POST /x\nS.\n\xff\xfe\n")
    with pytest.raises(DocsError) as info:
        load_docs(bad)
    assert info.value.first.where == f"{bad}:3"
    assert info.value.first.message == "not UTF-8 text"


# -- arrays with valid values (issue 14) -----------------------------------------------------

ROLES_PAGE = Path(__file__).resolve().parent.parent / "pages" / "assign_roles.txt"


def test_an_array_valid_values_constrain_its_items() -> None:
    body = load_docs(ROLES_PAGE).parameters.body
    roles = node(body, "roles")
    assert (roles.type, roles.enum, roles.default) == (ParamType.ARRAY, None, ["guest"])
    assert roles.items is not None
    assert (roles.items.type, roles.items.enum) == (ParamType.STRING, ("host", "guest", "viewer"))
    channels = node(body, "channels")
    assert channels.items is not None
    assert channels.items.enum == ("email", "chat")
    extra = node(body, "members[].extra_roles")
    assert extra.enum is None
    assert extra.items is not None
    assert extra.items.enum == ("moderator", "recorder")
    tags = node(body, "members[].tags")
    assert tags.items is not None
    assert tags.items.enum == ("new", "vip")


def test_an_array_default_must_be_a_list_of_its_valid_values() -> None:
    rows = 'roles |\nArray | No | Valid values: "a", "b" Default value: "a" |\n'
    with pytest.raises(DocsError, match="is not an array of string"):
        parse(body_page(rows))
    rows = 'roles |\nArray | No | Valid values: "a", "b" Default value: ["c"] |\n'
    with pytest.raises(DocsError, match="is not a valid value"):
        parse(body_page(rows))


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ({"roles": ["host", "viewer"]}, None),
        ({"roles": "host"}, "roles: Input should be a valid list"),
        ({"roles": ["host", "owner"]}, "roles[1]: Input should be 'host', 'guest' or 'viewer'"),
        ({"roles": [], "channels": ["chat", "fax"]}, "channels[1]: Input should be"),
        (
            {"roles": [], "members": [{"id": "m", "extra_roles": ["moderator"], "tags": ["vip"]}]},
            None,
        ),
        ({"roles": [], "members": [{"id": "m", "extra_roles": "moderator"}]}, "extra_roles"),
        ({"roles": [], "members": [{"id": "m", "tags": ["old"]}]}, "members[0].tags[0]"),
    ],
)
def test_array_values_are_checked_before_sending(
    inputs: dict[str, object], problem: str | None
) -> None:
    import httpx

    from rtk_task.client import Client
    from rtk_task.manifests.build import build_manifest

    manifest = build_manifest(ROLES_PAGE).manifest
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"success": True, "result": {}})

    with Client(token="tok-docs-1", transport=httpx.MockTransport(handler)) as client:
        result = client.call(manifest, {"account_id": "a", "team_id": "t", **inputs})
    if problem is None:
        assert len(sent) == 1, result.error
        return
    assert sent == [], "nothing may be sent"
    assert result.error is not None
    assert result.error.kind == "validation"
    assert problem in result.error.message, result.error
