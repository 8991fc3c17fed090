"""Declared outputs: one walk over the body finds exactly what a look-up per path finds."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from rtk_task.compiled import _tree
from rtk_task.result import extract_parts, extract_tree

_PARTS = st.sampled_from(["data", "id", "items", "0", "1", "-1", "2", "meta", "", "x"])
_LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=4)
_BODIES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["data", "id", "items", "0", "meta", ""]), inner, max_size=4
        )
    ),
    max_leaves=20,
)


def _path_into(data: st.DataObject, body: Any) -> tuple[str, ...]:
    """A path that mostly follows the body (keys, indexes from either end), sometimes not."""
    parts: list[str] = []
    node = body
    while data.draw(st.booleans()):
        if isinstance(node, dict) and node:
            choices = list(node)
        elif isinstance(node, list) and node:
            choices = [str(i) for i in range(-len(node), len(node))]
        else:
            choices = []
        part = data.draw(st.sampled_from(choices) if choices else _PARTS)
        if data.draw(st.integers(0, 9)) == 0:
            part = data.draw(_PARTS)  # off the body
        parts.append(part)
        found, node = extract_parts(node, (part,))
        if not found:
            break
    return tuple(parts)


@given(body=_BODIES, data=st.data())
def test_the_output_tree_agrees_with_one_lookup_per_path(body: Any, data: st.DataObject) -> None:
    paths = [_path_into(data, body) for _ in range(data.draw(st.integers(1, 6)))]
    outputs = tuple((f"out{i}", parts) for i, parts in enumerate(paths))
    found: dict[str, Any] = {}
    extract_tree(body, _tree(outputs), found)
    expected = {}
    for name, parts in outputs:
        ok, value = extract_parts(body, parts)
        if ok:
            expected[name] = value
    assert found == expected


def test_a_shared_prefix_is_walked_once_and_indexes_reach_into_lists() -> None:
    body = {"data": {"id": "m1", "items": [{"id": "p1"}, {"id": "p2"}]}}
    outputs = (
        ("meeting_id", ("data", "id")),
        ("first", ("data", "items", "0", "id")),
        ("last", ("data", "items", "-1", "id")),
        ("missing", ("data", "items", "5", "id")),
        ("whole", ()),
    )
    found: dict[str, Any] = {}
    extract_tree(body, _tree(outputs), found)
    assert found == {"meeting_id": "m1", "first": "p1", "last": "p2", "whole": body}
